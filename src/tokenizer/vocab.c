/* vocab.c - builds an immutable tok_vocab from plain arrays: validation, llama.cpp's
 * load-time fix-ups, the text->id hash table, the special-token order and trie.
 *
 * Invariants after tok_vocab_init: texts are unique and non-empty; every special id is
 * -1 or < n_vocab; type[] holds only values 0..6; special[] lists every CONTROL,
 * USER_DEFINED and UNKNOWN token sorted by (text length desc, id asc).
 * ref: shared/spec/tokenizer.md §1-2 (llama.cpp src/llama-vocab.cpp load()). */
#include "tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tok_vocab_params tok_vocab_default_params(void) {
    tok_vocab_params p;
    memset(&p, 0, sizeof p);
    p.bos_id = 1; /* llama.cpp SPM defaults (wrong for Gemma, whose GGUF sets them) */
    p.eos_id = 2;
    p.unk_id = 0;
    p.pad_id = -1;
    p.eot_id = -1;
    p.eom_id = -1;
    p.add_bos = true;
    p.add_eos = false;
    p.add_space_prefix = true;
    return p;
}

/* Texts llama.cpp auto-detects as EOT / EOM / end of generation (each forced to CONTROL). */
static const char *const EOT_TEXTS[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>",
    "_<EOT>", "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
    "<end_of_utterance>",
};
static const char *const EOM_TEXTS[] = {"<|eom_id|>"};
static const char *const EOG_TEXTS[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>",
    "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>",
    "</s>",
};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Writes a printable, truncated rendering of s for messages. */
static void render_text(const char *s, size_t n, char *buf, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c < 0x20 || c == 0x7f || c == '\'') o += (size_t)snprintf(buf + o, cap - o, "\\x%02X", c);
        else buf[o++] = (char)c;
    }
    if (o + 5 >= cap && cap >= 4) {
        o = cap - 4;
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o < cap ? o : cap - 1] = 0;
}

void tok_vocab_free(tok_vocab *v) {
    if (!v) return;
    free(v->name);
    free(v->blob);
    free(v->off);
    free(v->len);
    free(v->scores);
    free(v->type);
    free(v->is_eog);
    free(v->eog);
    free(v->slots);
    free(v->special);
    free(v->node_rank);
    free(v->edge_key);
    free(v->edge_child);
    free(v);
}

static const char *vname(const tok_vocab *v) { return v->name ? v->name : "vocab"; }

int32_t tok_find(const tok_vocab *v, const char *text, size_t len) {
    if (!v || !text || len == 0) return -1; /* no token text is empty (fix-up) */
    uint64_t h = tok_hash_bytes(text, len);
    for (uint64_t i = h & v->slot_mask;; i = (i + 1) & v->slot_mask) {
        uint32_t s = v->slots[i];
        if (s == 0) return -1;
        uint32_t id = s - 1;
        if (v->len[id] == len && memcmp(v->blob + v->off[id], text, len) == 0) return (int32_t)id;
    }
}

static int32_t find_cstr(const tok_vocab *v, const char *s) { return tok_find(v, s, strlen(s)); }

/* Inserts id; returns the id already holding the same text, or -1. */
static int32_t hash_insert(tok_vocab *v, uint32_t id) {
    const char *t = v->blob + v->off[id];
    uint32_t n = v->len[id];
    for (uint64_t i = tok_hash_bytes(t, n) & v->slot_mask;; i = (i + 1) & v->slot_mask) {
        uint32_t s = v->slots[i];
        if (s == 0) {
            v->slots[i] = id + 1;
            return -1;
        }
        uint32_t o = s - 1;
        if (v->len[o] == n && memcmp(v->blob + v->off[o], t, n) == 0) return (int32_t)o;
    }
}

static int32_t check_special_id(tok_vocab *v, const char *what, int32_t id, int32_t dflt) {
    if (id < 0 || (uint32_t)id < v->n_vocab) return id;
    int32_t keep = (dflt >= 0 && (uint32_t)dflt < v->n_vocab) ? dflt : -1;
    pp_log(PP_LOG_WARN, "%s: bad special token: %s = %d >= n_vocab %u, using %d", vname(v), what,
           id, v->n_vocab, keep);
    return keep;
}

static void force_control(tok_vocab *v, int32_t id) {
    if (v->type[id] == TOK_TYPE_CONTROL) return;
    char buf[80];
    render_text(v->blob + v->off[id], v->len[id], buf, sizeof buf);
    pp_log(PP_LOG_INFO, "%s: control-looking token %d '%s' was not control-type; overriding it",
           vname(v), id, buf);
    v->type[id] = TOK_TYPE_CONTROL;
}

static int cmp_special(const void *a, const void *b, void *ctx) {
    const tok_vocab *v = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (v->len[x] != v->len[y]) return v->len[x] > v->len[y] ? -1 : 1;
    return (x > y) - (x < y);
}

static uint64_t pow2_at_least(uint64_t n) {
    uint64_t p = 16;
    while (p < n) p <<= 1;
    return p;
}

static pp_status build_specials(tok_vocab *v, pp_err *err) {
    uint32_t n = 0;
    uint64_t total = 0;
    for (uint32_t i = 0; i < v->n_vocab; i++) {
        uint8_t t = v->type[i];
        if (t == TOK_TYPE_CONTROL || t == TOK_TYPE_USER_DEFINED || t == TOK_TYPE_UNKNOWN) {
            n++;
            total += v->len[i];
        }
    }
    v->n_special = n;
    v->n_nodes = 1;
    if (n == 0) return PP_OK;
    v->special = malloc((size_t)n * sizeof *v->special);
    uint64_t max_nodes = total + 1;
    v->node_rank = malloc(max_nodes * sizeof *v->node_rank);
    uint64_t cap = pow2_at_least(2 * total + 2);
    v->edge_key = calloc(cap, sizeof *v->edge_key);
    v->edge_child = malloc(cap * sizeof *v->edge_child);
    if (!v->special || !v->node_rank || !v->edge_key || !v->edge_child)
        return pp_err_set(err, PP_ERR_NOMEM, "%s: out of memory for %u special tokens", vname(v), n);
    v->edge_mask = cap - 1;
    n = 0;
    for (uint32_t i = 0; i < v->n_vocab; i++) {
        uint8_t t = v->type[i];
        if (t == TOK_TYPE_CONTROL || t == TOK_TYPE_USER_DEFINED || t == TOK_TYPE_UNKNOWN)
            v->special[n++] = (int32_t)i;
    }
    qsort_r(v->special, n, sizeof *v->special, cmp_special, v);
    v->node_rank[0] = -1;
    for (uint32_t r = 0; r < n; r++) {
        int32_t id = v->special[r];
        const uint8_t *s = (const uint8_t *)v->blob + v->off[id];
        uint32_t node = 0;
        for (uint32_t k = 0; k < v->len[id]; k++) {
            uint32_t child = tok_trie_child(v, node, s[k]);
            if (child == 0) {
                child = v->n_nodes++;
                v->node_rank[child] = -1;
                uint64_t key = (((uint64_t)node << 8) | s[k]) + 1;
                uint64_t j = tok_hash_u64(key) & v->edge_mask;
                while (v->edge_key[j]) j = (j + 1) & v->edge_mask;
                v->edge_key[j] = key;
                v->edge_child[j] = child;
            }
            node = child;
        }
        v->node_rank[node] = (int32_t)r; /* texts are unique, so each node ends at most one */
    }
    return PP_OK;
}

pp_status tok_vocab_init(const tok_vocab_params *p, tok_vocab **out, pp_err *err) {
    const char *name = p && p->name ? p->name : "vocab";
    if (!p || !out) return pp_err_set(err, PP_ERR_ARG, "%s: tok_vocab_init: NULL argument", name);
    if (p->n_vocab == 0 || p->n_vocab > TOK_MAX_VOCAB)
        return pp_err_set(err, PP_ERR_FORMAT, "%s: vocabulary size %u out of range [1, %u]", name,
                          p->n_vocab, TOK_MAX_VOCAB);
    if (!p->texts) return pp_err_set(err, PP_ERR_ARG, "%s: no token texts", name);
    uint32_t n = p->n_vocab;
    tok_vocab *v = calloc(1, sizeof *v);
    if (!v) return pp_err_set(err, PP_ERR_NOMEM, "%s: out of memory", name);
    pp_status st = PP_OK;
    v->name = strdup(name);
    v->n_vocab = n;
    v->off = malloc((size_t)n * sizeof *v->off);
    v->len = malloc((size_t)n * sizeof *v->len);
    v->scores = malloc((size_t)n * sizeof *v->scores);
    v->type = malloc(n);
    v->is_eog = calloc(n, 1);
    if (!v->name || !v->off || !v->len || !v->scores || !v->type || !v->is_eog) goto nomem;

    /* Texts: lengths (empty -> "[EMPTY_<id>]") and one blob. */
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!p->texts[i]) {
            st = pp_err_set(err, PP_ERR_ARG, "%s: token %u: text is NULL", name, i);
            goto fail;
        }
        size_t l = p->text_lens ? p->text_lens[i] : strlen(p->texts[i]);
        if (l > TOK_MAX_TOKEN_LEN) {
            st = pp_err_set(err, PP_ERR_FORMAT, "%s: token %u: text is %zu bytes long (limit %u)",
                            name, i, l, TOK_MAX_TOKEN_LEN);
            goto fail;
        }
        if (l == 0) l = (size_t)snprintf(NULL, 0, "[EMPTY_%u]", i);
        v->len[i] = (uint32_t)l;
        v->off[i] = total;
        total += l + 1;
    }
    v->blob = malloc(total);
    if (!v->blob) goto nomem;
    for (uint32_t i = 0; i < n; i++) {
        char *d = v->blob + v->off[i];
        size_t l = p->text_lens ? p->text_lens[i] : strlen(p->texts[i]);
        if (l == 0) {
            snprintf(d, v->len[i] + 1, "[EMPTY_%u]", i);
        } else {
            memcpy(d, p->texts[i], l);
            d[l] = 0;
        }
        v->scores[i] = p->scores ? p->scores[i] : 0.0f;
        int32_t t = p->types ? p->types[i] : TOK_TYPE_NORMAL;
        v->type[i] = (uint8_t)((t >= 0 && t < TOK_TYPE_COUNT) ? t : TOK_TYPE_UNDEFINED);
    }

    /* text -> id, rejecting duplicates (llama.cpp asserts on them). */
    uint64_t cap = pow2_at_least((uint64_t)n * 2);
    v->slots = calloc(cap, sizeof *v->slots);
    if (!v->slots) goto nomem;
    v->slot_mask = cap - 1;
    for (uint32_t i = 0; i < n; i++) {
        int32_t dup = hash_insert(v, i);
        if (dup >= 0) {
            char buf[96];
            render_text(v->blob + v->off[i], v->len[i], buf, sizeof buf);
            st = pp_err_set(err, PP_ERR_FORMAT,
                            "%s: tokens %d and %u have the same text '%s' (texts must be unique)",
                            name, dup, i, buf);
            goto fail;
        }
    }

    tok_vocab_params d = tok_vocab_default_params();
    v->bos = check_special_id(v, "bos_token_id", p->bos_id, d.bos_id);
    v->eos = check_special_id(v, "eos_token_id", p->eos_id, d.eos_id);
    v->unk = check_special_id(v, "unknown_token_id", p->unk_id, d.unk_id);
    v->pad = check_special_id(v, "padding_token_id", p->pad_id, d.pad_id);
    v->eot = check_special_id(v, "eot_token_id", p->eot_id, d.eot_id);
    v->eom = check_special_id(v, "eom_token_id", p->eom_id, d.eom_id);
    v->add_bos = p->add_bos;
    v->add_eos = p->add_eos;
    v->add_space_prefix = p->add_space_prefix;

    /* Fix-ups (tokenizer.md §2). Texts are unique, so a lookup per known text replaces
     * llama.cpp's scan over the whole map; ties between several EOT texts go to the lowest id. */
    if (v->eot < 0) {
        for (size_t k = 0; k < N_OF(EOT_TEXTS); k++) {
            int32_t id = find_cstr(v, EOT_TEXTS[k]);
            if (id >= 0 && (v->eot < 0 || id < v->eot)) v->eot = id;
        }
        if (v->eot >= 0) force_control(v, v->eot);
    }
    if (v->eom < 0) {
        int32_t id = find_cstr(v, EOM_TEXTS[0]);
        if (id >= 0) {
            v->eom = id;
            force_control(v, id);
        }
    }
    for (size_t k = 0; k < N_OF(EOG_TEXTS); k++) {
        int32_t id = find_cstr(v, EOG_TEXTS[k]);
        if (id >= 0) {
            v->is_eog[id] = 1;
            force_control(v, id);
        }
    }
    if (v->eos >= 0) v->is_eog[v->eos] = 1;
    if (v->eot >= 0) v->is_eog[v->eot] = 1;
    if (v->eom >= 0) v->is_eog[v->eom] = 1;
    for (uint32_t i = 0; i < n; i++) v->n_eog += v->is_eog[i];
    v->eog = malloc((v->n_eog ? v->n_eog : 1) * sizeof *v->eog);
    if (!v->eog) goto nomem;
    for (uint32_t i = 0, k = 0; i < n; i++)
        if (v->is_eog[i]) v->eog[k++] = (int32_t)i;

    /* Byte fallback: "<0xHH>", else the one-byte string (llama.cpp byte_to_token). */
    for (int b = 0; b < 256; b++) {
        char hex[8];
        snprintf(hex, sizeof hex, "<0x%02X>", b);
        int32_t id = find_cstr(v, hex);
        if (id < 0) {
            char c = (char)b;
            id = tok_find(v, &c, 1);
        }
        v->byte_id[b] = id;
    }

    st = build_specials(v, err);
    if (st != PP_OK) goto fail;
    *out = v;
    return PP_OK;
nomem:
    st = pp_err_set(err, PP_ERR_NOMEM, "%s: out of memory for a vocabulary of %u tokens", name, n);
fail:
    tok_vocab_free(v);
    return st;
}

uint32_t tok_n_vocab(const tok_vocab *v) { return v->n_vocab; }
int32_t tok_bos(const tok_vocab *v) { return v->bos; }
int32_t tok_eos(const tok_vocab *v) { return v->eos; }
int32_t tok_eot(const tok_vocab *v) { return v->eot; }
int32_t tok_eom(const tok_vocab *v) { return v->eom; }
int32_t tok_pad(const tok_vocab *v) { return v->pad; }
int32_t tok_unk(const tok_vocab *v) { return v->unk; }
bool tok_add_bos(const tok_vocab *v) { return v->add_bos; }
bool tok_add_eos(const tok_vocab *v) { return v->add_eos; }
bool tok_add_space_prefix(const tok_vocab *v) { return v->add_space_prefix; }
uint32_t tok_n_eog(const tok_vocab *v) { return v->n_eog; }
int32_t tok_eog_at(const tok_vocab *v, uint32_t i) { return i < v->n_eog ? v->eog[i] : -1; }

bool tok_is_eog(const tok_vocab *v, int32_t id) {
    return id >= 0 && (uint32_t)id < v->n_vocab && v->is_eog[id];
}

pp_view tok_text(const tok_vocab *v, int32_t id) {
    pp_view r = {"", 0};
    if (id < 0 || (uint32_t)id >= v->n_vocab) return r;
    r.ptr = v->blob + v->off[id];
    r.len = v->len[id];
    return r;
}

tok_type tok_get_type(const tok_vocab *v, int32_t id) {
    if (id < 0 || (uint32_t)id >= v->n_vocab) return TOK_TYPE_UNDEFINED;
    return (tok_type)v->type[id];
}

float tok_score(const tok_vocab *v, int32_t id) {
    if (id < 0 || (uint32_t)id >= v->n_vocab) return 0.0f;
    return v->scores[id];
}
