/* fuzz_tokenizer.c - libFuzzer target for the tokenizer on arbitrary bytes: encode (with and
 * without specials), decode of the ids and of arbitrary ids, and the UTF-8 stream.
 *
 * The vocabulary is built once: a small generated SPM vocabulary (all 256 byte tokens, the
 * Gemma control tokens, user-defined pieces, merges of common English pieces, an empty
 * text) with add_space_prefix off, so that decode(encode(x)) == x whenever x is valid UTF-8
 * without U+2581 (which the escaping maps to ' '); with PIPPA_FUZZ_VOCAB=<gguf> the tokenizer of
 * that GGUF is used instead (for example a fixture of /work/shared/fixtures), where the
 * round trip is only checked when that vocabulary has every byte token and no space prefix.
 * Invariants: every id in range; decoding the ids fed to a tok_stream in two parts gives the
 * bytes of one feed; tok_piece's size agrees with tok_detokenize.
 * Run: make fuzz (seeds in fuzz/corpus/fuzz_tokenizer/).
 */
#include <stdio.h>

#include "fuzz_util.h"
#include "tokenizer/tok.h"

static tok_vocab *vocab;
static bool round_trip; /* decode(encode(x)) == x holds for this vocabulary */

static const char *const PIECES[] = {
    "<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>", "<mask>", "[@BOS@]",
    "\xe2\x96\x81", "\xe2\x96\x81\xe2\x96\x81", "\xe2\x96\x81the", ("\xe2\x96\x81" "a"), "\xe2\x96\x81of", "the",
    "th", "he", "in", "er", "an", "re", "on", "at", "\xe2\x96\x81t", "\xe2\x96\x81i", "ing", "ion", "\n", "\n\n",
    "<user>", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "", "e", "t", "a", "o", "i", "n", "s", "h", "r",
    "user", "model", "\xe2\x96\x81user", "\xe2\x96\x81model", "</s>", "<|eot_id|>",
};

static void build_generated(void) {
    size_t n_pieces = sizeof PIECES / sizeof PIECES[0];
    uint32_t n = (uint32_t)(n_pieces + 256);
    static char bytes[256][8];
    const char *texts[sizeof PIECES / sizeof PIECES[0] + 256];
    float scores[sizeof PIECES / sizeof PIECES[0] + 256];
    int32_t types[sizeof PIECES / sizeof PIECES[0] + 256];
    for (size_t i = 0; i < n_pieces; i++) {
        texts[i] = PIECES[i];
        scores[i] = -(float)i;
        types[i] = i < 8 ? TOK_TYPE_CONTROL : TOK_TYPE_NORMAL;
    }
    types[3] = TOK_TYPE_UNKNOWN;
    types[28] = TOK_TYPE_USER_DEFINED; /* "<user>" */
    types[7] = TOK_TYPE_UNUSED;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        texts[n_pieces + (size_t)b] = bytes[b];
        scores[n_pieces + (size_t)b] = -1000;
        types[n_pieces + (size_t)b] = TOK_TYPE_BYTE;
    }
    tok_vocab_params p = tok_vocab_default_params();
    p.name = "fuzz-vocab";
    p.n_vocab = n;
    p.texts = texts;
    p.scores = scores;
    p.types = types;
    p.bos_id = 2, p.eos_id = 1, p.unk_id = 3, p.pad_id = 0;
    p.add_space_prefix = false;
    pp_err err = {0};
    if (tok_vocab_init(&p, &vocab, &err) != PP_OK) {
        fprintf(stderr, "fuzz_tokenizer: %s\n", err.msg);
        abort();
    }
    round_trip = true;
}

static void load_gguf(const char *path) {
    gguf_file *f;
    pp_err err = {0};
    if (gguf_open(path, &f, &err) != PP_OK ||
        tok_vocab_init_from_gguf(f, &vocab, &err) != PP_OK) {
        fprintf(stderr, "fuzz_tokenizer: %s: %s\n", path, err.msg);
        abort();
    }
    gguf_close(f);
    round_trip = !tok_add_space_prefix(vocab);
    for (int b = 0; b < 256 && round_trip; b++) {
        char t[8];
        snprintf(t, sizeof t, "<0x%02X>", b);
        int32_t id = tok_find(vocab, t, 6);
        round_trip = id >= 0 && tok_get_type(vocab, id) == TOK_TYPE_BYTE;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    setenv("PIPPA_LOG", "error", 0);
    const char *path = getenv("PIPPA_FUZZ_VOCAB");
    if (path && *path) load_gguf(path);
    else build_generated();
    return 0;
}

/* The bytes of ids through a tok_stream fed whole, and fed in two parts at cut. */
static void check_stream(const char *s, size_t n, size_t cut) {
    char *a = malloc(TOK_STREAM_OUT_MAX(n) + 3), *b = malloc(TOK_STREAM_OUT_MAX(n) + 6);
    if (!a || !b) goto out;
    tok_stream st;
    tok_stream_init(&st);
    size_t na = tok_stream_feed(&st, s, n, a);
    na += tok_stream_flush(&st, a + na);
    if (cut > n) cut = n;
    size_t nb = tok_stream_feed(&st, s, cut, b);
    nb += tok_stream_feed(&st, s + cut, n - cut, b + nb);
    nb += tok_stream_flush(&st, b + nb);
    if (na != nb || memcmp(a, b, na)) abort();
out:
    free(a);
    free(b);
}

static void check_decode(const int32_t *ids, size_t n, bool special) {
    char *text;
    size_t len;
    pp_err err = {0};
    if (tok_detokenize(vocab, ids, n, false, special, &text, &len, &err) != PP_OK) return;
    size_t sum = 0;
    char piece[64];
    for (size_t i = 0; i < n; i++) sum += tok_piece(vocab, ids[i], special, piece, sizeof piece);
    if (sum != len || text[len]) abort();
    check_stream(text, len, n ? (size_t)(ids[0] & 0xff) : 0);
    free(text);
}

/* The round trip holds for valid UTF-8 without U+2581. On ill-formed input it does not, as
 * in llama.cpp: a lead byte claims the bytes after it as one symbol (utf8_len), so the
 * U+2581 an escaped space became can be swallowed by a broken sequence before it and come
 * back as its three raw bytes instead of ' '. */
static bool round_trip_input(const uint8_t *d, size_t n) {
    for (size_t i = 0; i + 2 < n; i++)
        if (d[i] == 0xe2 && d[i + 1] == 0x96 && d[i + 2] == 0x81) return false;
    char *out = malloc(TOK_STREAM_OUT_MAX(n) + 3);
    if (!out) return false;
    tok_stream st;
    tok_stream_init(&st);
    size_t m = tok_stream_feed(&st, (const char *)d, n, out);
    m += tok_stream_flush(&st, out + m);
    bool valid = m == n && !memcmp(out, d, n);
    free(out);
    return valid;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint32_t nv = tok_n_vocab(vocab);
    for (int mode = 0; mode < 3; mode++) {
        bool add_special = mode == 1, parse_special = mode >= 1;
        int32_t *ids;
        size_t n;
        pp_err err = {0};
        if (tok_encode_alloc(vocab, (const char *)data, size, add_special, parse_special, &ids, &n, &err) != PP_OK)
            abort(); /* any bytes encode */
        for (size_t i = 0; i < n; i++)
            if (ids[i] < 0 || (uint32_t)ids[i] >= nv) abort();
        if (mode == 0 && round_trip && round_trip_input(data, size)) {
            char *text;
            size_t len;
            if (tok_detokenize(vocab, ids, n, false, false, &text, &len, &err) != PP_OK) abort();
            if (len != size || memcmp(text, data, size)) abort();
            free(text);
        }
        if (mode == 2) check_decode(ids, n, true);
        free(ids);
    }
    /* the input read as ids (out of range ones included) */
    size_t n = size / 4;
    int32_t *raw = malloc((n ? n : 1) * sizeof *raw);
    if (!raw) return 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(&raw[i], data + 4 * i, 4);
        if (i % 2) raw[i] = (int32_t)((uint32_t)raw[i] % (nv + 2)) - 1;
    }
    check_decode(raw, n, false);
    check_decode(raw, n, true);
    free(raw);
    return 0;
}
