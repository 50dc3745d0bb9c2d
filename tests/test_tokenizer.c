/* test_tokenizer.c - tokenizer: llama.cpp fixtures (tokenize-ref.json, prompt ids of
 * llamacpp-ref.json, ppl.txt token count) on the fx vocabulary, hand-made vocabularies for
 * merge order / byte fallback / special tokens, decoding and the UTF-8 stream, threads,
 * and every bad-input path of vocab loading. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "gguf/gguf.h"
#include "test.h"
#include "tokenizer/tok.h"

/* ---------- helpers ---------- */

static tok_vocab *fx_vocab(void) {
    const char *dir = t_fixtures_dir();
    if (!dir) return NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/fx.f32.gguf", dir);
    gguf_file *f = NULL;
    pp_err err = {0};
    if (gguf_open(path, &f, &err) != PP_OK) {
        T_CHECK_MSG(0, "%s", err.msg);
        return NULL;
    }
    tok_vocab *v = NULL;
    if (tok_vocab_init_from_gguf(f, &v, &err) != PP_OK) T_CHECK_MSG(0, "%s", err.msg);
    gguf_close(f);
    return v;
}

static json_t *load_json(const char *name) {
    const char *dir = t_fixtures_dir();
    if (!dir) return NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_error_t je;
    json_t *j = json_load_file(path, JSON_ALLOW_NUL, &je);
    T_CHECK_MSG(j != NULL, "%s: %s", path, je.text);
    return j;
}

static bool ids_equal_json(const int32_t *ids, size_t n, json_t *arr) {
    if (!json_is_array(arr) || json_array_size(arr) != n) return false;
    for (size_t i = 0; i < n; i++)
        if (json_integer_value(json_array_get(arr, i)) != ids[i]) return false;
    return true;
}

static void print_ids(const char *what, const int32_t *ids, size_t n) {
    fprintf(stderr, "  %s:", what);
    for (size_t i = 0; i < n && i < 64; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

/* Encodes and compares with an expected list; prints both on mismatch. */
static void check_enc(const tok_vocab *v, const char *text, size_t len, bool add_special,
                      bool parse_special, const int32_t *want, size_t n_want, int line) {
    int32_t *ids = NULL;
    size_t n = 0;
    pp_err err = {0};
    pp_status st = tok_encode_alloc(v, text, len, add_special, parse_special, &ids, &n, &err);
    bool ok = st == PP_OK && n == n_want && (n == 0 || memcmp(ids, want, n * sizeof *ids) == 0);
    if (!ok) {
        fprintf(stderr, "line %d: text '%.*s' special=%d parse=%d: %s\n", line, (int)len, text,
                add_special, parse_special, st == PP_OK ? "" : err.msg);
        print_ids("got ", ids, n);
        print_ids("want", want, n_want);
    }
    T_CHECK_MSG(ok, "encode mismatch (line %d)", line);
    free(ids);
}
#define CHECK_ENC(v, text, add, parse, ...)                                                  \
    do {                                                                                     \
        const int32_t want_[] = {__VA_ARGS__};                                               \
        check_enc(v, text, strlen(text), add, parse, want_, sizeof want_ / sizeof want_[0],  \
                  __LINE__);                                                                 \
    } while (0)

/* A small vocabulary: entries with explicit texts/scores/types, plus optional byte tokens
 * <0x00>..<0xFF> appended as ids base..base+255. */
typedef struct tv_entry {
    const char *text;
    float score;
    int32_t type;
} tv_entry;

static tok_vocab *make_vocab(const tv_entry *e, uint32_t n, bool bytes, tok_vocab_params *pp,
                             pp_err *err) {
    uint32_t total = n + (bytes ? 256 : 0);
    const char **texts = calloc(total, sizeof *texts);
    char (*hex)[8] = calloc(256, sizeof *hex);
    float *scores = calloc(total, sizeof *scores);
    int32_t *types = calloc(total, sizeof *types);
    for (uint32_t i = 0; i < n; i++) {
        texts[i] = e[i].text;
        scores[i] = e[i].score;
        types[i] = e[i].type;
    }
    for (uint32_t b = 0; bytes && b < 256; b++) {
        snprintf(hex[b], 8, "<0x%02X>", b);
        texts[n + b] = hex[b];
        types[n + b] = TOK_TYPE_BYTE;
    }
    tok_vocab_params p = pp ? *pp : tok_vocab_default_params();
    p.n_vocab = total;
    p.texts = texts;
    p.scores = scores;
    p.types = types;
    if (!pp) {
        p.bos_id = 2;
        p.eos_id = 1;
        p.unk_id = 3;
        p.pad_id = 0;
        p.add_space_prefix = false;
    }
    tok_vocab *v = NULL;
    pp_err local = {0};
    if (tok_vocab_init(&p, &v, err ? err : &local) != PP_OK) v = NULL;
    if (!err && !v) T_CHECK_MSG(0, "%s", local.msg);
    free(texts);
    free(hex);
    free(scores);
    free(types);
    return v;
}

enum { N_ = TOK_TYPE_NORMAL, C_ = TOK_TYPE_CONTROL, U_ = TOK_TYPE_USER_DEFINED };

/* Base vocabulary used by several unit tests; byte tokens start at id 20 (byte b = 20 + b). */
static const tv_entry BASE[] = {
    {"<pad>", -1000, C_},         /* 0 */
    {"<eos>", -1000, C_},         /* 1 */
    {"<bos>", -1000, C_},         /* 2 */
    {"<unk>", -1000, C_},         /* 3 */
    {"<end_of_turn>", -1000, N_}, /* 4: NORMAL here, must be forced CONTROL */
    {"\n", -1000, U_},            /* 5 */
    {"\n\n", -1000, U_},          /* 6 */
    {"<b>", -1000, U_},           /* 7 */
    {"a", 0, N_},                 /* 8 */
    {"b", -1, N_},                /* 9 */
    {"c", -2, N_},                /* 10 */
    {"ab", -5, N_},               /* 11 */
    {"bc", -6, N_},               /* 12 */
    {"\xe2\x96\x81", -3, N_},     /* 13 ▁ */
    {"\xe2\x96\x81" "a", -4, N_}, /* 14 ▁a */
    {"<", -7, N_},                /* 15 */
    {">", -8, N_},                /* 16 */
    {"x", -9, N_},                /* 17 */
    {"aa", -10, N_},              /* 18 */
    {"\xc3\xa9", -11, N_},        /* 19 é (precomposed) */
};
#define NB (sizeof BASE / sizeof BASE[0])
#define BYTE(b) (int32_t)(NB + (b))

/* ---------- fixture tests (fx vocabulary) ---------- */

static void test_fx_vocab_meta(void) {
    tok_vocab *v = fx_vocab();
    if (!v) {
        if (!t_case_failed) t_skip("fixtures not found (../shared/fixtures)");
        return;
    }
    T_CHECK(tok_n_vocab(v) == 4096);
    T_CHECK(tok_bos(v) == 2 && tok_eos(v) == 1 && tok_unk(v) == 3 && tok_pad(v) == 0);
    T_CHECK_MSG(tok_eot(v) == 106, "eot %d", tok_eot(v));
    T_CHECK(tok_add_bos(v) && !tok_add_eos(v) && !tok_add_space_prefix(v));
    T_CHECK_MSG(tok_n_eog(v) == 3, "n_eog %u", tok_n_eog(v));
    T_CHECK(tok_eog_at(v, 0) == 1 && tok_eog_at(v, 1) == 106 && tok_eog_at(v, 2) == 212);
    T_CHECK(tok_is_eog(v, 212) && tok_is_eog(v, 1) && tok_is_eog(v, 106) && !tok_is_eog(v, 2));
    T_CHECK(!tok_is_eog(v, -1) && !tok_is_eog(v, 4096));
    T_CHECK(tok_get_type(v, 212) == TOK_TYPE_CONTROL); /* forced (USER_DEFINED in the file) */
    T_CHECK(tok_get_type(v, 203) == TOK_TYPE_USER_DEFINED); /* <s> stays */
    T_CHECK(tok_get_type(v, 105) == TOK_TYPE_CONTROL);
    T_CHECK(tok_get_type(v, 107) == TOK_TYPE_USER_DEFINED);
    T_CHECK(tok_get_type(v, 238) == TOK_TYPE_BYTE);
    T_CHECK(tok_find(v, "<end_of_turn>", 13) == 106);
    T_CHECK(tok_find(v, "\xe2\x96\x81", 3) == 494);
    T_CHECK(tok_find(v, "<0x0A>", 6) == 238 + 10);
    T_CHECK(tok_find(v, "no such token", 13) == -1);
    T_CHECK(pp_view_eq(tok_text(v, 2), "<bos>"));
    T_CHECK(tok_text(v, 5000).len == 0);
    T_CHECK(tok_score(v, 495) == -1.0f);
    tok_vocab_free(v);
}

static void test_fx_tokenize_ref(void) {
    json_t *j = load_json("tokenize-ref.json");
    tok_vocab *v = j ? fx_vocab() : NULL;
    if (!v) {
        if (!t_case_failed) t_skip("fixtures not found (../shared/fixtures)");
        json_decref(j);
        return;
    }
    json_t *strings = json_object_get(j, "strings");
    size_t n_str = json_array_size(strings), n_ok = 0;
    T_CHECK(n_str == 46);
    for (size_t i = 0; i < n_str; i++) {
        json_t *s = json_array_get(strings, i);
        const char *name = json_string_value(json_object_get(s, "name"));
        json_t *jt = json_object_get(s, "text");
        const char *text = json_string_value(jt);
        size_t len = json_string_length(jt);
        bool all = true;
        for (int parse = 1; parse >= 0; parse--) {
            json_t *want = json_object_get(s, parse ? "ids" : "ids_nospecial");
            json_t *pieces = json_object_get(s, parse ? "pieces" : "pieces_nospecial");
            int32_t *ids = NULL;
            size_t n = 0;
            pp_err err = {0};
            pp_status st = tok_encode_alloc(v, text, len, true, parse, &ids, &n, &err);
            bool ok = st == PP_OK && ids_equal_json(ids, n, want);
            T_CHECK_MSG(ok, "string '%s' parse_special=%d: %s", name, parse,
                        st == PP_OK ? "ids differ" : err.msg);
            if (!ok) print_ids("got", ids, n);
            all = all && ok;
            /* pieces = stored texts of the ids */
            for (size_t k = 0; ok && k < n; k++) {
                json_t *pj = json_array_get(pieces, k);
                pp_view t = tok_text(v, ids[k]);
                T_CHECK_MSG(t.len == json_string_length(pj) &&
                                memcmp(t.ptr, json_string_value(pj), t.len) == 0,
                            "string '%s': piece %zu", name, k);
            }
            /* Round trip: the pieces (with specials rendered) give back the text. */
            char *back = NULL;
            size_t blen = 0;
            bool lossy = strstr(text, "\xe2\x96\x81") != NULL; /* a literal ▁ decodes as ' ' */
            if (ok && !lossy && tok_detokenize(v, ids, n, true, true, &back, &blen, &err) == PP_OK) {
                T_CHECK_MSG(blen == len && memcmp(back, text, len) == 0,
                            "string '%s' parse=%d: detokenize gives '%s'", name, parse, back);
            }
            free(back);
            free(ids);
        }
        n_ok += all;
    }
    T_CHECK_MSG(n_ok == 46, "%zu of %zu strings match", n_ok, n_str);
    printf("     tokenize-ref: %zu/%zu strings match with and without special parsing\n", n_ok,
           n_str);
    /* The cap variant: exact fit works, one short fails with the count. */
    json_t *fox = json_array_get(strings, 5);
    const char *ft = json_string_value(json_object_get(fox, "text"));
    int32_t buf[11];
    size_t n = 0;
    pp_err err = {0};
    T_CHECK(tok_encode(v, ft, strlen(ft), true, true, buf, 11, &n, &err) == PP_OK && n == 11);
    T_CHECK(ids_equal_json(buf, n, json_object_get(fox, "ids")));
    T_CHECK(tok_encode(v, ft, strlen(ft), true, true, buf, 10, &n, &err) == PP_ERR_ARG && n == 11);
    T_CHECK_MSG(strstr(err.msg, "output buffer too small: 11 ids, room for 10"), "%s", err.msg);
    tok_vocab_free(v);
    json_decref(j);
}

static void test_fx_prompt_ids(void) {
    json_t *j = load_json("llamacpp-ref.json");
    tok_vocab *v = j ? fx_vocab() : NULL;
    if (!v) {
        if (!t_case_failed) t_skip("fixtures not found (../shared/fixtures)");
        json_decref(j);
        return;
    }
    const char *keys[] = {"a", "b", "c"};
    for (int k = 0; k < 3; k++) {
        json_t *pr = json_object_get(json_object_get(j, "prompts"), keys[k]);
        json_t *want = json_object_get(json_object_get(j, "prompt_ids"), keys[k]);
        json_t *jt = json_object_get(pr, "text");
        bool add = json_is_true(json_object_get(pr, "add_special"));
        bool parse = json_is_true(json_object_get(pr, "parse_special"));
        int32_t *ids = NULL;
        size_t n = 0;
        pp_err err = {0};
        T_CHECK(jt && want);
        if (!jt || !want) continue;
        pp_status st = tok_encode_alloc(v, json_string_value(jt), json_string_length(jt), add,
                                        parse, &ids, &n, &err);
        T_CHECK_MSG(st == PP_OK && ids_equal_json(ids, n, want), "prompt %s (%zu ids, want %zu)",
                    keys[k], n, json_array_size(want));
        free(ids);
    }
    tok_vocab_free(v);
    json_decref(j);
}

/* README §4.4: the fx vocabulary turns ppl.txt into 14,281 tokens (llama-perplexity, BOS). */
static void test_fx_ppl_count(void) {
    const char *dir = t_fixtures_dir();
    tok_vocab *v = dir ? fx_vocab() : NULL;
    if (!v) {
        if (!t_case_failed) t_skip("fixtures not found (../shared/fixtures)");
        return;
    }
    char path[1024], *text = NULL;
    size_t len = 0;
    pp_err err = {0};
    snprintf(path, sizeof path, "%s/ppl.txt", dir);
    T_CHECK_MSG(pp_read_file(path, &text, &len, 1 << 24, &err) == PP_OK, "%s", err.msg);
    int32_t *ids = NULL;
    size_t n = 0;
    double t0 = pp_time_s();
    T_CHECK(tok_encode_alloc(v, text, len, true, true, &ids, &n, &err) == PP_OK);
    double dt = pp_time_s() - t0;
    T_CHECK_MSG(n == 14281, "ppl.txt: %zu tokens", n);
    printf("     ppl.txt: %zu bytes -> %zu tokens in %.1f ms\n", len, n, dt * 1e3);
    free(ids);
    free(text);
    tok_vocab_free(v);
}

/* ---------- hand-made vocabularies ---------- */

static void test_merge_by_score(void) {
    tok_vocab *v = make_vocab(BASE, NB, true, NULL, NULL);
    if (!v) return;
    /* ab (-5) beats bc (-6): a b c -> ab c */
    CHECK_ENC(v, "abc", false, false, 11, 10);
    CHECK_ENC(v, "bc", false, false, 12);
    CHECK_ENC(v, " a", false, false, 14);
    CHECK_ENC(v, "  a", false, false, 13, 14);
    tok_vocab_free(v);
    /* Same vocab with bc scored higher: a bc */
    tv_entry e[NB];
    memcpy(e, BASE, sizeof e);
    e[12].score = -4.5f;
    v = make_vocab(e, NB, true, NULL, NULL);
    if (!v) return;
    CHECK_ENC(v, "abc", false, false, 8, 12);
    tok_vocab_free(v);
}

static void test_merge_ties_leftmost(void) {
    tv_entry e[NB];
    memcpy(e, BASE, sizeof e);
    e[12].score = e[11].score; /* ab and bc tie: leftmost pair (ab) wins */
    tok_vocab *v = make_vocab(e, NB, true, NULL, NULL);
    if (!v) return;
    CHECK_ENC(v, "abc", false, false, 11, 10);
    CHECK_ENC(v, "aaa", false, false, 18, 8);
    CHECK_ENC(v, "aaaa", false, false, 18, 18);
    CHECK_ENC(v, "aaaaa", false, false, 18, 18, 8);
    tok_vocab_free(v);
}

static void test_byte_fallback(void) {
    tok_vocab *v = make_vocab(BASE, NB, true, NULL, NULL);
    if (!v) return;
    CHECK_ENC(v, "\xc3\xa9", false, false, 19);                    /* é is a piece */
    CHECK_ENC(v, "e\xcc\x81", false, false, BYTE('e'), BYTE(0xCC), BYTE(0x81)); /* e + U+0301 */
    CHECK_ENC(v, "\xc3\xa8", false, false, BYTE(0xC3), BYTE(0xA8));             /* è: bytes */
    CHECK_ENC(v, "a\xf0\x9f\x98\x80", false, false, 8, BYTE(0xF0), BYTE(0x9F), BYTE(0x98),
              BYTE(0x80)); /* 😀 */
    CHECK_ENC(v, "a\xff", false, false, 8, BYTE(0xFF));               /* invalid byte */
    /* 0xFF has lead nibble F: a 4-byte symbol clamped to what is left */
    CHECK_ENC(v, "\xff" "a", false, false, BYTE(0xFF), BYTE('a'));
    CHECK_ENC(v, "a\xc3", false, false, 8, BYTE(0xC3));               /* truncated at end */
    CHECK_ENC(v, "\xe2\x96", false, false, BYTE(0xE2), BYTE(0x96));   /* clamped symbol */
    CHECK_ENC(v, "\x80\x80", false, false, BYTE(0x80), BYTE(0x80));   /* lone continuations */
    /* A lead byte swallows the next bytes as one symbol even when they are not
     * continuation bytes: "\xc3" "a" is one 2-byte symbol -> two byte tokens. */
    CHECK_ENC(v, "\xc3" "a", false, false, BYTE(0xC3), BYTE('a'));
    /* Embedded NUL */
    {
        const int32_t want[] = {8, BYTE(0), 8};
        check_enc(v, "a\0a", 3, false, false, want, 3, __LINE__);
    }
    tok_vocab_free(v);
    /* Without byte tokens the single-byte text is used; without either: a clear error. */
    v = make_vocab(BASE, NB, false, NULL, NULL);
    if (!v) return;
    CHECK_ENC(v, "xa", false, false, 17, 8);
    int32_t *ids = NULL;
    size_t n = 0;
    pp_err err = {0};
    T_CHECK(tok_encode_alloc(v, "z", 1, false, false, &ids, &n, &err) == PP_ERR_FORMAT);
    T_CHECK_MSG(strstr(err.msg, "no token for byte 0x7A"), "%s", err.msg);
    free(ids);
    tok_vocab_free(v);
}

static void test_special_tokens(void) {
    tok_vocab *v = make_vocab(BASE, NB, true, NULL, NULL);
    if (!v) return;
    /* <end_of_turn> was NORMAL: auto-detected as EOT, forced CONTROL, end of generation. */
    T_CHECK(tok_eot(v) == 4 && tok_get_type(v, 4) == TOK_TYPE_CONTROL && tok_is_eog(v, 4));
    T_CHECK(tok_is_eog(v, 1) && tok_n_eog(v) == 2);
    /* USER_DEFINED always split, CONTROL only with parse_special. */
    CHECK_ENC(v, "x<b>a", false, false, 17, 7, 8);
    CHECK_ENC(v, "x<b>a", false, true, 17, 7, 8);
    CHECK_ENC(v, "<bos>", false, true, 2);
    CHECK_ENC(v, "<bos>", false, false, 15, 9, BYTE('o'), BYTE('s'), 16);
    /* <end_of_turn> in user text stays text without parse_special */
    CHECK_ENC(v, "a<end_of_turn>", false, false, 8, 15, BYTE('e'), BYTE('n'), BYTE('d'),
              BYTE('_'), BYTE('o'), BYTE('f'), BYTE('_'), BYTE('t'), BYTE('u'), BYTE('r'),
              BYTE('n'), 16);
    CHECK_ENC(v, "a<end_of_turn>", false, true, 8, 4);
    /* Double BOS when the text starts with <bos> */
    CHECK_ENC(v, "<bos>a", true, true, 2, 2, 8);
    CHECK_ENC(v, "<bos>a", true, false, 2, 15, 9, BYTE('o'), BYTE('s'), 16, 8);
    /* add_special adds BOS only (add_eos false); empty text */
    CHECK_ENC(v, "", true, true, 2);
    {
        int32_t *ids = (int32_t *)1;
        size_t n = 9;
        pp_err err = {0};
        T_CHECK(tok_encode_alloc(v, "", 0, false, true, &ids, &n, &err) == PP_OK && n == 0);
        free(ids);
    }
    /* Longest first: \n\n before \n; 3 newlines -> [\n\n][\n], 5 -> 6 6 5 */
    CHECK_ENC(v, "\n\n\n", false, false, 6, 5);
    CHECK_ENC(v, "\n\n\n\n\n", false, false, 6, 6, 5);
    CHECK_ENC(v, "a\nb\n\nc", false, false, 8, 5, 9, 6, 10);
    /* Adjacent specials and specials at both ends */
    CHECK_ENC(v, "<eos><eos>", false, true, 1, 1);
    CHECK_ENC(v, "<b><b>x<b>", false, false, 7, 7, 17, 7);
    tok_vocab_free(v);
}

/* Priority is by length over the whole text, not a greedy left-to-right scan:
 * with "abc" (3) and "xa" (2) both user-defined, "xabc" -> x [abc], not [xa] b c. */
static void test_special_priority(void) {
    const tv_entry e[] = {
        {"<pad>", 0, C_}, {"<eos>", 0, C_}, {"<bos>", 0, C_}, {"<unk>", 0, C_},
        {"abc", 0, U_},   {"xa", 0, U_},    {"x", 0, N_},     {"b", 0, N_},
        {"c", 0, N_},     {"bcd", 0, C_},   {"d", 0, N_},     {"a", 0, N_},
    };
    tok_vocab *v = make_vocab(e, sizeof e / sizeof e[0], false, NULL, NULL);
    if (!v) return;
    CHECK_ENC(v, "xabc", false, false, 6, 4);
    CHECK_ENC(v, "xab", false, false, 5, 7);
    /* Equal length: ascending id first. "abcd" -> [abc] d (bcd is a later rank); without
     * parse_special bcd is not considered at all. */
    CHECK_ENC(v, "abcd", false, true, 4, 10);
    CHECK_ENC(v, "xbcd", false, true, 6, 9);
    CHECK_ENC(v, "xbcd", false, false, 6, 7, 8, 10);
    tok_vocab_free(v);
}

static void test_space_prefix(void) {
    tok_vocab_params p = tok_vocab_default_params();
    p.bos_id = 2;
    p.eos_id = 1;
    p.unk_id = 3;
    p.add_space_prefix = true;
    tok_vocab *v = make_vocab(BASE, NB, true, &p, NULL);
    if (!v) return;
    /* A space is put in front of the text and after every special token. */
    CHECK_ENC(v, "a", true, true, 2, 14);
    CHECK_ENC(v, "a<b>a", false, true, 14, 7, 14);
    CHECK_ENC(v, "<b>", false, true, 7);
    tok_vocab_free(v);
}

static void test_vocab_fixups_and_errors(void) {
    pp_err err = {0};
    /* Empty text -> [EMPTY_<id>]; out-of-range special ids keep the default. */
    tv_entry e[] = {{"<unk>", 0, C_}, {"<s>", 0, C_}, {"</s>", 0, U_}, {"", 0, N_}, {"a", 0, N_}};
    tok_vocab_params p = tok_vocab_default_params();
    p.bos_id = 4000;
    p.eos_id = -1;
    tok_vocab *v = make_vocab(e, 5, false, &p, NULL);
    if (v) {
        T_CHECK(pp_view_eq(tok_text(v, 3), "[EMPTY_3]"));
        T_CHECK(tok_find(v, "[EMPTY_3]", 9) == 3);
        T_CHECK(tok_bos(v) == 1 && tok_eos(v) == -1 && tok_unk(v) == 0);
        T_CHECK(tok_get_type(v, 2) == TOK_TYPE_CONTROL && tok_is_eog(v, 2)); /* </s> */
        T_CHECK(tok_eot(v) == -1);
        tok_vocab_free(v);
    }
    /* Duplicate texts. */
    tv_entry d[] = {{"a", 0, N_}, {"b", 0, N_}, {"a", 0, N_}};
    v = make_vocab(d, 3, false, NULL, &err);
    T_CHECK(v == NULL && err.status == PP_ERR_FORMAT);
    T_CHECK_MSG(strstr(err.msg, "tokens 0 and 2 have the same text 'a'"), "%s", err.msg);
    /* Empty text colliding with a literal "[EMPTY_1]" is a duplicate too. */
    tv_entry d2[] = {{"[EMPTY_1]", 0, N_}, {"", 0, N_}};
    v = make_vocab(d2, 2, false, NULL, &err);
    T_CHECK(v == NULL && strstr(err.msg, "same text '[EMPTY_1]'"));
    /* Size limits */
    p = tok_vocab_default_params();
    p.name = "t.gguf";
    T_CHECK(tok_vocab_init(&p, &v, &err) == PP_ERR_FORMAT);
    T_CHECK_MSG(strstr(err.msg, "t.gguf: vocabulary size 0 out of range"), "%s", err.msg);
    p.n_vocab = TOK_MAX_VOCAB + 1;
    p.texts = (const char *const[]){"a"}; /* not read: the size is checked first */
    T_CHECK(tok_vocab_init(&p, &v, &err) == PP_ERR_FORMAT);
    T_CHECK_MSG(strstr(err.msg, "t.gguf: vocabulary size 16777217 out of range [1, 16777216]"),
                "%s", err.msg);
    /* NULL text, over-long text */
    const char *nul_texts[] = {"a", NULL};
    p.n_vocab = 2;
    p.texts = nul_texts;
    T_CHECK(tok_vocab_init(&p, &v, &err) == PP_ERR_ARG);
    T_CHECK_MSG(strstr(err.msg, "t.gguf: token 1: text is NULL"), "%s", err.msg);
    char *longt = malloc(TOK_MAX_TOKEN_LEN + 2);
    memset(longt, 'x', TOK_MAX_TOKEN_LEN + 1);
    longt[TOK_MAX_TOKEN_LEN + 1] = 0;
    const char *long_texts[] = {"a", longt};
    p.texts = long_texts;
    T_CHECK(tok_vocab_init(&p, &v, &err) == PP_ERR_FORMAT);
    T_CHECK_MSG(strstr(err.msg, "t.gguf: token 1: text is 65537 bytes long (limit 65536)"), "%s",
                err.msg);
    free(longt);
    /* Types outside 0..6 read as UNDEFINED; decoding them gives nothing. */
    tv_entry u[] = {{"a", 0, 17}, {"b", 0, -3}, {"c", 0, TOK_TYPE_UNUSED}};
    v = make_vocab(u, 3, false, NULL, NULL);
    if (v) {
        T_CHECK(tok_get_type(v, 0) == TOK_TYPE_UNDEFINED && tok_get_type(v, 1) == 0);
        char buf[8];
        T_CHECK(tok_piece(v, 0, true, buf, sizeof buf) == 0);
        T_CHECK(tok_piece(v, 2, true, buf, sizeof buf) == 0);
        /* Undefined-type tokens are still ordinary merge targets. */
        CHECK_ENC(v, "a", false, false, 0);
        T_CHECK(tok_find(v, "", 0) == -1 && tok_find(v, NULL, 0) == -1);
        /* Text length limit and NULL text are checked before anything is read. */
        int32_t *ids = NULL;
        size_t n = 0;
        T_CHECK(tok_encode_alloc(v, "a", TOK_MAX_TEXT_LEN + 1, false, false, &ids, &n, &err) ==
                PP_ERR_ARG);
        T_CHECK_MSG(strstr(err.msg, "tokenize: text is 1073741825 bytes (limit 1073741824)"),
                    "%s", err.msg);
        T_CHECK(tok_encode_alloc(v, NULL, 3, false, false, &ids, &n, &err) == PP_ERR_ARG);
        T_CHECK_MSG(strstr(err.msg, "tokenize: NULL argument"), "%s", err.msg);
        tok_vocab_free(v);
    }
}

/* ---------- GGUF loading errors ---------- */

static tok_vocab *vocab_from_writer(gguf_writer *w, pp_err *err, pp_status *st) {
    uint8_t *buf = NULL;
    size_t len = 0;
    tok_vocab *v = NULL;
    gguf_file *f = NULL;
    *st = gguf_writer_to_mem(w, &buf, &len, err);
    if (*st == PP_OK) *st = gguf_open_mem(buf, len, "t.gguf", gguf_default_open_params(), &f, err);
    if (*st == PP_OK) *st = tok_vocab_init_from_gguf(f, &v, err);
    gguf_close(f);
    free(buf);
    return v;
}

static gguf_writer *tiny_writer(void) {
    gguf_writer *w = NULL;
    pp_err err = {0};
    if (gguf_writer_init(&w, &err) != PP_OK) return NULL;
    static const char *const toks[] = {"<pad>", "<eos>", "<bos>", "a", "b", "ab",
                                       "\xe2\x96\x81"};
    const float scores[] = {-1000, -1000, -1000, 0, -1, -2, -3};
    const int32_t types[] = {3, 3, 3, 1, 1, 1, 1};
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, 7);
    gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_VTYPE_FLOAT32, scores, 7);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_VTYPE_INT32, types, 7);
    gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 2);
    gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 1);
    return w;
}

static void test_gguf_errors(void) {
    pp_err err = {0};
    pp_status st;
    gguf_writer *w = tiny_writer();
    T_CHECK(w != NULL);
    if (!w) return;
    /* The good case, with llama.cpp defaults for absent keys. */
    tok_vocab *v = vocab_from_writer(w, &err, &st);
    T_CHECK_MSG(v != NULL, "%s", err.msg);
    if (v) {
        T_CHECK(tok_bos(v) == 2 && tok_eos(v) == 1 && tok_unk(v) == 0 && tok_pad(v) == -1);
        T_CHECK(tok_add_bos(v) && tok_add_space_prefix(v)); /* defaults when absent */
        CHECK_ENC(v, "ab", true, true, 2, 6, 5); /* add_space_prefix defaults to true */
        tok_vocab_free(v);
    }
    /* Special id out of range: warning, default kept. */
    gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 7);
    gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", false);
    v = vocab_from_writer(w, &err, &st);
    T_CHECK(v && tok_bos(v) == 1 && !tok_add_space_prefix(v));
    tok_vocab_free(v);
    gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 2);

    /* scores with the wrong length */
    const float sc5[] = {0, 0, 0, 0, 0};
    gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_VTYPE_FLOAT32, sc5, 5);
    v = vocab_from_writer(w, &err, &st);
    T_CHECK(!v && st == PP_ERR_FORMAT);
    T_CHECK_MSG(strstr(err.msg, "t.gguf: key 'tokenizer.ggml.scores': 5 entries, expected 7"),
                "%s", err.msg);
    /* scores of the wrong type */
    const double sc7[] = {0, 0, 0, 0, 0, 0, 0};
    gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_VTYPE_FLOAT64, sc7, 7);
    v = vocab_from_writer(w, &err, &st);
    T_CHECK(!v && st != PP_OK);
    T_CHECK_MSG(strstr(err.msg, "tokenizer.ggml.scores") && strstr(err.msg, "FLOAT32"), "%s",
                err.msg);
    gguf_writer_remove(w, "tokenizer.ggml.scores");
    /* token_type with the wrong length / type */
    const int32_t ty4[] = {1, 1, 1, 1};
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_VTYPE_INT32, ty4, 4);
    v = vocab_from_writer(w, &err, &st);
    T_CHECK(!v && st == PP_ERR_FORMAT);
    T_CHECK_MSG(strstr(err.msg, "key 'tokenizer.ggml.token_type': 4 entries, expected 7"), "%s",
                err.msg);
    const uint32_t ty7[] = {1, 1, 1, 1, 1, 1, 1};
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_VTYPE_UINT32, ty7, 7);
    v = vocab_from_writer(w, &err, &st);
    T_CHECK(!v && st != PP_OK);
    T_CHECK_MSG(strstr(err.msg, "tokenizer.ggml.token_type") && strstr(err.msg, "INT32"), "%s",
                err.msg);
    gguf_writer_remove(w, "tokenizer.ggml.token_type");
    /* no scores/types at all: scores 0, all NORMAL -> still loads */
    v = vocab_from_writer(w, &err, &st);
    T_CHECK_MSG(v != NULL, "%s", err.msg);
    if (v) T_CHECK(tok_get_type(v, 0) == TOK_TYPE_NORMAL && tok_score(v, 5) == 0.0f);
    tok_vocab_free(v);
    /* duplicate token texts */
    static const char *const dup[] = {"<pad>", "<eos>", "<bos>", "a", "b", "a", "c"};
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", dup, 7);
    v = vocab_from_writer(w, &err, &st);
    T_CHECK(!v && st == PP_ERR_FORMAT);
    T_CHECK_MSG(strstr(err.msg, "t.gguf: tokens 3 and 5 have the same text 'a'"), "%s", err.msg);
    /* unsupported tokenizer model */
    gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
    v = vocab_from_writer(w, &err, &st);
    T_CHECK(!v && st == PP_ERR_UNSUPPORTED);
    T_CHECK_MSG(strstr(err.msg, "t.gguf: key 'tokenizer.ggml.model': tokenizer 'gpt2' is not "
                                "supported"),
                "%s", err.msg);
    /* empty token list */
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", dup, 0);
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    v = vocab_from_writer(w, &err, &st);
    T_CHECK(!v && st == PP_ERR_FORMAT);
    T_CHECK_MSG(strstr(err.msg, "t.gguf: key 'tokenizer.ggml.tokens': 0 tokens, expected 1..16777216"),
                "%s", err.msg);
    /* tokens missing */
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    gguf_writer_remove(w, "tokenizer.ggml.tokens");
    v = vocab_from_writer(w, &err, &st);
    T_CHECK(!v && st == PP_ERR_NOT_FOUND);
    T_CHECK_MSG(strstr(err.msg, "tokenizer.ggml.tokens"), "%s", err.msg);
    /* model key missing */
    gguf_writer_remove(w, "tokenizer.ggml.model");
    v = vocab_from_writer(w, &err, &st);
    T_CHECK(!v && st == PP_ERR_NOT_FOUND);
    T_CHECK_MSG(strstr(err.msg, "tokenizer.ggml.model"), "%s", err.msg);
    gguf_writer_free(w);
}

/* ---------- decoding ---------- */

static void test_piece(void) {
    tok_vocab *v = make_vocab(BASE, NB, true, NULL, NULL);
    if (!v) return;
    char buf[32];
    T_CHECK(tok_piece(v, 14, false, buf, sizeof buf) == 2 && memcmp(buf, " a", 2) == 0);
    T_CHECK(tok_piece(v, 2, false, buf, sizeof buf) == 0);
    T_CHECK(tok_piece(v, 2, true, buf, sizeof buf) == 5 && memcmp(buf, "<bos>", 5) == 0);
    T_CHECK(tok_piece(v, 4, false, buf, sizeof buf) == 0); /* forced CONTROL */
    T_CHECK(tok_piece(v, 7, false, buf, sizeof buf) == 3 && memcmp(buf, "<b>", 3) == 0);
    T_CHECK(tok_piece(v, 5, false, buf, sizeof buf) == 1 && buf[0] == '\n');
    T_CHECK(tok_piece(v, BYTE(0xC3), false, buf, sizeof buf) == 1 && (uint8_t)buf[0] == 0xC3);
    T_CHECK(tok_piece(v, BYTE(0), false, buf, sizeof buf) == 1 && buf[0] == 0);
    T_CHECK(tok_piece(v, -1, true, buf, sizeof buf) == 0);
    T_CHECK(tok_piece(v, 100000, true, buf, sizeof buf) == 0);
    /* truncation: returns the full size, writes only cap bytes */
    memset(buf, 'Z', sizeof buf);
    T_CHECK(tok_piece(v, 2, true, buf, 2) == 5 && buf[0] == '<' && buf[1] == 'b' && buf[2] == 'Z');
    /* detokenize: BOS dropped with remove_special, control pieces dropped unless unparse */
    const int32_t ids[] = {2, 14, 7, 4, 13, BYTE(0xC3), BYTE(0xA9), 1};
    char *s = NULL;
    size_t n = 0;
    pp_err err = {0};
    T_CHECK(tok_detokenize(v, ids, 8, true, false, &s, &n, &err) == PP_OK);
    T_CHECK_MSG(n == 8 && !strcmp(s, " a<b> \xc3\xa9"), "'%s'", s);
    free(s);
    T_CHECK(tok_detokenize(v, ids, 8, false, true, &s, &n, &err) == PP_OK);
    T_CHECK_MSG(!strcmp(s, "<bos> a<b><end_of_turn> \xc3\xa9<eos>"), "'%s'", s);
    free(s);
    tok_vocab_free(v);
}

/* Feeds bytes through a stream in chunks split at the given cut points, checking that every
 * emitted chunk is complete UTF-8; returns the concatenated output. */
static size_t stream_all(const char *in, size_t n, size_t cut, char *out) {
    tok_stream st;
    tok_stream_init(&st);
    size_t o = 0;
    o += tok_stream_feed(&st, in, cut, out + o);
    o += tok_stream_feed(&st, in + cut, n - cut, out + o);
    o += tok_stream_flush(&st, out + o);
    return o;
}

static bool valid_utf8(const char *s, size_t n) {
    tok_stream st;
    tok_stream_init(&st);
    char tmp[TOK_STREAM_OUT_MAX(64)];
    if (n > 64) return false;
    size_t o = tok_stream_feed(&st, s, n, tmp);
    return st.n_pend == 0 && o == n && memcmp(tmp, s, n) == 0;
}

static void test_stream_bytes(void) {
    tok_vocab *v = make_vocab(BASE, NB, true, NULL, NULL);
    if (!v) return;
    /* Text made only of byte tokens (no pieces for these characters). */
    const char *text = "\xf0\x9f\x98\x80 \xe6\x97\xa5\xd0\xaf\xc3\xa8!\xf4\x8f\xbf\xbf";
    size_t len = strlen(text);
    int32_t *ids = NULL;
    size_t n = 0;
    pp_err err = {0};
    T_CHECK(tok_encode_alloc(v, text, len, false, false, &ids, &n, &err) == PP_OK);
    /* Stream token by token: each emitted chunk is valid UTF-8 and ends on a boundary. */
    tok_stream st;
    tok_stream_init(&st);
    char out[256];
    size_t o = 0;
    int n_chunks = 0;
    for (size_t i = 0; i < n; i++) {
        char piece[16], chunk[TOK_STREAM_OUT_MAX(16)];
        size_t pl = tok_piece(v, ids[i], false, piece, sizeof piece);
        size_t cl = tok_stream_feed(&st, piece, pl, chunk);
        T_CHECK_MSG(cl == 0 || valid_utf8(chunk, cl), "token %zu: invalid chunk", i);
        n_chunks += cl > 0;
        memcpy(out + o, chunk, cl);
        o += cl;
    }
    o += tok_stream_flush(&st, out + o);
    T_CHECK_MSG(o == len && memcmp(out, text, len) == 0, "stream output %zu bytes", o);
    T_CHECK_MSG(n_chunks == 7, "%d chunks (one per character)", n_chunks);
    free(ids);
    /* Split the byte stream at every position: same output, never half a character. */
    for (size_t cut = 0; cut <= len; cut++) {
        char buf[TOK_STREAM_OUT_MAX(64)];
        size_t m = stream_all(text, len, cut, buf);
        T_CHECK_MSG(m == len && memcmp(buf, text, len) == 0, "cut at %zu", cut);
    }
    tok_vocab_free(v);
}

static void test_stream_invalid(void) {
    /* Expected outputs are Python's bytes.decode("utf-8", "replace") (maximal subparts). */
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"a\xff" "b", "a\xef\xbf\xbd" "b"},
        {"\xf0\x9f\x98" "A", "\xef\xbf\xbd" "A"},
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                          /* overlong */
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},          /* surrogate */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* >10FFFF */
        {"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},          /* overlong 3 */
        {"\xe2\x82", "\xef\xbf\xbd"},                                      /* pending at end */
        {"\xe2\x82\xac\x80", "\xe2\x82\xac\xef\xbf\xbd"},                  /* € + stray */
        {"\xc3\xc3\xa9", "\xef\xbf\xbd\xc3\xa9"},
        {"\xf0\x9f\xe2\x82\xac", "\xef\xbf\xbd\xe2\x82\xac"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *in = cases[c].in;
        size_t n = strlen(in), wl = strlen(cases[c].want);
        for (size_t cut = 0; cut <= n; cut++) {
            char buf[TOK_STREAM_OUT_MAX(16)];
            size_t m = stream_all(in, n, cut, buf);
            T_CHECK_MSG(m == wl && memcmp(buf, cases[c].want, wl) == 0, "case %zu cut %zu", c,
                        cut);
        }
        /* Byte by byte. */
        tok_stream st;
        tok_stream_init(&st);
        char buf[TOK_STREAM_OUT_MAX(16)];
        size_t o = 0;
        for (size_t i = 0; i < n; i++) o += tok_stream_feed(&st, in + i, 1, buf + o);
        o += tok_stream_flush(&st, buf + o);
        T_CHECK_MSG(o == wl && memcmp(buf, cases[c].want, wl) == 0, "case %zu bytewise", c);
    }
}

/* ---------- threads ---------- */

typedef struct thr_ctx {
    const tok_vocab *v;
    const char *const *texts;
    const size_t *lens;
    size_t n_texts;
    int32_t **ref;
    size_t *ref_n;
    int mismatches;
} thr_ctx;

static void *thr_main(void *arg) {
    thr_ctx *c = arg;
    for (int rep = 0; rep < 3; rep++)
        for (size_t i = 0; i < c->n_texts; i++) {
            int32_t *ids = NULL;
            size_t n = 0;
            pp_err err = {0};
            bool parse = (i + (size_t)rep) % 2;
            if (tok_encode_alloc(c->v, c->texts[i], c->lens[i], true, parse, &ids, &n, &err) !=
                    PP_OK ||
                !parse) {
                free(ids);
                if (parse) c->mismatches++;
                continue;
            }
            if (n != c->ref_n[i] || memcmp(ids, c->ref[i], n * sizeof *ids) != 0) c->mismatches++;
            free(ids);
        }
    return NULL;
}

static void test_threads(void) {
    json_t *j = load_json("tokenize-ref.json");
    tok_vocab *v = j ? fx_vocab() : NULL;
    if (!v) {
        if (!t_case_failed) t_skip("fixtures not found (../shared/fixtures)");
        json_decref(j);
        return;
    }
    json_t *strings = json_object_get(j, "strings");
    size_t n = json_array_size(strings);
    const char **texts = calloc(n, sizeof *texts);
    size_t *lens = calloc(n, sizeof *lens), *ref_n = calloc(n, sizeof *ref_n);
    int32_t **ref = calloc(n, sizeof *ref);
    for (size_t i = 0; i < n; i++) {
        json_t *jt = json_object_get(json_array_get(strings, i), "text");
        texts[i] = json_string_value(jt);
        lens[i] = json_string_length(jt);
        pp_err err = {0};
        T_CHECK(tok_encode_alloc(v, texts[i], lens[i], true, true, &ref[i], &ref_n[i], &err) ==
                PP_OK);
        T_CHECK(ids_equal_json(ref[i], ref_n[i], json_object_get(json_array_get(strings, i), "ids")));
    }
    pthread_t th[4];
    thr_ctx ctx[4];
    for (int t = 0; t < 4; t++) {
        ctx[t] = (thr_ctx){v, texts, lens, n, ref, ref_n, 0};
        T_CHECK(pthread_create(&th[t], NULL, thr_main, &ctx[t]) == 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        T_CHECK_MSG(ctx[t].mismatches == 0, "thread %d: %d mismatches", t, ctx[t].mismatches);
    }
    for (size_t i = 0; i < n; i++) free(ref[i]);
    free(ref);
    free(ref_n);
    free(lens);
    free(texts);
    tok_vocab_free(v);
    json_decref(j);
}

/* ---------- scale: many specials, long hostile texts ---------- */

static void test_scale(void) {
    /* 6000 <unusedN> CONTROL tokens + space runs, like the real vocab; texts full of '<'
     * and spaces must stay fast (no per-special scan of the text). */
    uint32_t n_unused = 6000, n = n_unused + 64 + 256;
    char **texts = calloc(n, sizeof *texts);
    int32_t *types = calloc(n, sizeof *types);
    float *scores = calloc(n, sizeof *scores);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n_unused; i++, k++) {
        texts[k] = malloc(24);
        snprintf(texts[k], 24, "<unused%u>", i);
        types[k] = C_;
    }
    for (uint32_t i = 2; i < 32; i++, k++) {
        texts[k] = calloc(1, i + 1);
        memset(texts[k], ' ', i);
        types[k] = U_;
    }
    const char *normal[] = {"<", "u", "n", "s", "e", "d", "\xe2\x96\x81", "un", "use",
                            "used", "<u", "1", "0"};
    for (size_t i = 0; i < sizeof normal / sizeof normal[0]; i++, k++) {
        texts[k] = strdup(normal[i]);
        types[k] = N_;
        scores[k] = -(float)i;
    }
    for (uint32_t b = 0; b < 256; b++, k++) {
        texts[k] = malloc(8);
        snprintf(texts[k], 8, "<0x%02X>", b);
        types[k] = TOK_TYPE_BYTE;
    }
    tok_vocab_params p = tok_vocab_default_params();
    p.n_vocab = k;
    p.texts = (const char *const *)texts;
    p.types = types;
    p.scores = scores;
    tok_vocab *v = NULL;
    pp_err err = {0};
    T_CHECK_MSG(tok_vocab_init(&p, &v, &err) == PP_OK, "%s", err.msg);
    size_t len = 1 << 20;
    char *text = malloc(len);
    for (size_t i = 0; i < len; i++) text[i] = "<unused12<unused5>  <u   "[i % 25];
    int32_t *ids = NULL;
    size_t n_ids = 0;
    double t0 = pp_time_s();
    T_CHECK(v && tok_encode_alloc(v, text, len, false, true, &ids, &n_ids, &err) == PP_OK);
    double dt = pp_time_s() - t0;
    /* every 25 bytes: <unused12 | <unused5> | "  " | <u | "   " */
    T_CHECK_MSG(n_ids > 0 && ids[0] != 12 && ids[n_ids - 1] >= 0, "n %zu", n_ids);
    size_t n5 = 0;
    for (size_t i = 0; i < n_ids; i++) n5 += ids[i] == 5;
    T_CHECK_MSG(n5 == len / 25 + (len % 25 > 18), "%zu <unused5>", n5);
    printf("     1 MiB hostile text with 6000 specials: %zu ids in %.0f ms\n", n_ids, dt * 1e3);
    T_CHECK_MSG(dt < 20.0, "too slow: %.1f s", dt);
    free(ids);
    free(text);
    tok_vocab_free(v);
    for (uint32_t i = 0; i < k; i++) free(texts[i]);
    free(texts);
    free(types);
    free(scores);
}

/* ---------- the CLI: pippa tokenize ---------- */

/* Runs a shell command, returns its stdout (malloc'd) and exit status. */
static char *run_cmd(const char *cmd, int *status) {
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 4096, n = 0;
    char *out = malloc(cap);
    size_t k;
    while ((k = fread(out + n, 1, cap - n - 1, p)) > 0) {
        n += k;
        if (n + 1 == cap) out = realloc(out, cap *= 2);
    }
    out[n] = 0;
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

static void test_cli_tokenize(void) {
    const char *dir = t_fixtures_dir();
    if (!dir) {
        t_skip("fixtures not found (../shared/fixtures)");
        return;
    }
    char cmd[2048];
    int st = 0;
    const char *pippa_fmt = "%s/pippa tokenize %s/fx.f32.gguf %s 2>&1";
    snprintf(cmd, sizeof cmd, pippa_fmt, t_build_dir(), dir, "'Hello world' --json");
    char *out = run_cmd(cmd, &st);
    T_CHECK_MSG(st == 0 && out &&
                    !strcmp(out, "{\"ids\":[2,1818,1167,2185],\"pieces\":[\"<bos>\",\"Hel\",\"lo\","
                                 "\"\xe2\x96\x81world\"]}\n"),
                "status %d: %s", st, out);
    free(out);
    snprintf(cmd, sizeof cmd, pippa_fmt, t_build_dir(), dir, "'x<end_of_turn>' --no-bos");
    out = run_cmd(cmd, &st);
    T_CHECK_MSG(st == 0 && out && !strncmp(out, "519\tx\n585\t<\n2011\tend\n", 21), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, pippa_fmt, t_build_dir(), dir,
             "'x<end_of_turn>' --no-bos --parse-special");
    out = run_cmd(cmd, &st);
    T_CHECK_MSG(st == 0 && out && !strcmp(out, "519\tx\n106\t<end_of_turn>\n"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, pippa_fmt, t_build_dir(), dir, "x --bogus");
    out = run_cmd(cmd, &st);
    T_CHECK_MSG(st == 2 && out && strstr(out, "tokenize: unknown option '--bogus'"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s/pippa tokenize /nonexistent.gguf x 2>&1", t_build_dir());
    out = run_cmd(cmd, &st);
    T_CHECK_MSG(st == 1 && out && strstr(out, "nonexistent.gguf"), "%s", out);
    free(out);
}

int main(void) {
    T_RUN(test_fx_vocab_meta);
    T_RUN(test_fx_tokenize_ref);
    T_RUN(test_fx_prompt_ids);
    T_RUN(test_fx_ppl_count);
    T_RUN(test_merge_by_score);
    T_RUN(test_merge_ties_leftmost);
    T_RUN(test_byte_fallback);
    T_RUN(test_special_tokens);
    T_RUN(test_special_priority);
    T_RUN(test_space_prefix);
    T_RUN(test_vocab_fixups_and_errors);
    T_RUN(test_gguf_errors);
    T_RUN(test_piece);
    T_RUN(test_stream_bytes);
    T_RUN(test_stream_invalid);
    T_RUN(test_threads);
    T_RUN(test_scale);
    T_RUN(test_cli_tokenize);
    return t_finish("tokenizer");
}
