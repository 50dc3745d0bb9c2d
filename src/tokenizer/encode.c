/* encode.c - text -> token ids: special-token partition, then the score-driven SentencePiece
 * merge (llama.cpp's SPM session) with byte fallback.
 *
 * Partition (tokenizer.md §3.1): llama.cpp tries every special token, longest text first,
 * splitting each raw fragment at the leftmost non-overlapping occurrences. We get the same
 * result without scanning the text once per special token: one pass over the trie of special
 * texts finds which specials occur at all (and their first/last positions); then only those
 * are processed in priority order, each searching its window with memmem and claiming
 * occurrences that lie entirely in still-raw bytes (which is exactly "found inside a raw
 * fragment"). Memory O(text + n_special), time O(text * depth + present * window).
 *
 * Merge (§3.3): symbols are UTF-8 characters in a linked list; candidates (adjacent pairs
 * whose concatenation is a vocab text) sit in a binary max-heap ordered by score, ties to
 * the smaller left index; stale candidates are skipped when popped.
 * Thread safety: all scratch memory is per call. */
#include "tok_internal.h"

#include <stdlib.h>
#include <string.h>

/* Growable id list. */
typedef struct idvec {
    int32_t *a;
    size_t n, cap;
    bool oom;
} idvec;

static void idvec_push(idvec *v, int32_t id) {
    if (v->oom) return;
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 64;
        int32_t *na = realloc(v->a, nc * sizeof *na);
        if (!na) {
            v->oom = true;
            return;
        }
        v->a = na;
        v->cap = nc;
    }
    v->a[v->n++] = id;
}

/* ---- SPM merge ---- */

typedef struct sym {
    int32_t prev, next;
    size_t start; /* offset into the escaped text */
    size_t n;     /* bytes; 0 = merged away */
} sym;

typedef struct cand {
    float score;
    int32_t left, right;
    size_t size;
} cand;

typedef struct heap {
    cand *a;
    size_t n, cap;
    bool oom;
} heap;

/* a before b: higher score first, then smaller left index (llama.cpp's comparator). */
static bool cand_before(const cand *a, const cand *b) {
    if (a->score != b->score) return a->score > b->score;
    return a->left < b->left;
}

static void heap_push(heap *h, cand c) {
    if (h->oom) return;
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 64;
        cand *na = realloc(h->a, nc * sizeof *na);
        if (!na) {
            h->oom = true;
            return;
        }
        h->a = na;
        h->cap = nc;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_before(&c, &h->a[p])) break;
        h->a[i] = h->a[p];
        i = p;
    }
    h->a[i] = c;
}

static cand heap_pop(heap *h) {
    cand top = h->a[0];
    cand last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const cand *best = &last;
        if (l < h->n && cand_before(&h->a[l], best)) {
            m = l;
            best = &h->a[l];
        }
        if (r < h->n && cand_before(&h->a[r], best)) m = r;
        if (m == i) break;
        h->a[i] = h->a[m];
        i = m;
    }
    if (h->n) h->a[i] = last;
    return top;
}

static void try_add(const tok_vocab *v, const char *s, const sym *sy, heap *h, int32_t l,
                    int32_t r) {
    if (l < 0 || r < 0) return;
    size_t size = sy[l].n + sy[r].n;
    int32_t id = tok_find(v, s + sy[l].start, size);
    if (id < 0) return;
    cand c = {v->scores[id], l, r, size};
    heap_push(h, c);
}

static size_t utf8_len(uint8_t c) {
    static const uint8_t LEN[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return LEN[c >> 4];
}

/* Encodes one raw fragment (spaces already escaped to U+2581). */
static pp_status spm_encode(const tok_vocab *v, const char *s, size_t n, idvec *out,
                            pp_err *err) {
    if (n == 0) return PP_OK;
    sym *sy = malloc(n * sizeof *sy);
    heap h = {0};
    pp_status st = PP_OK;
    if (!sy) return pp_err_set(err, PP_ERR_NOMEM, "tokenize: out of memory (%zu bytes)", n);
    int32_t ns = 0;
    for (size_t off = 0; off < n;) {
        size_t l = utf8_len((uint8_t)s[off]);
        if (l > n - off) l = n - off;
        sy[ns].start = off;
        sy[ns].n = l;
        sy[ns].prev = ns - 1;
        sy[ns].next = off + l < n ? ns + 1 : -1;
        ns++;
        off += l;
    }
    for (int32_t i = 1; i < ns; i++) try_add(v, s, sy, &h, i - 1, i);
    while (h.n > 0 && !h.oom) {
        cand c = heap_pop(&h);
        sym *L = &sy[c.left], *R = &sy[c.right];
        if (L->n == 0 || R->n == 0 || L->n + R->n != c.size) continue;
        L->n += R->n;
        R->n = 0;
        L->next = R->next;
        if (R->next >= 0) sy[R->next].prev = c.left;
        try_add(v, s, sy, &h, L->prev, c.left);
        try_add(v, s, sy, &h, c.left, L->next);
    }
    if (h.oom) {
        st = pp_err_set(err, PP_ERR_NOMEM, "tokenize: out of memory (merge queue)");
        goto done;
    }
    /* Every merged symbol is a vocab text, so llama.cpp's rev_merge recursion never fires. */
    for (int32_t i = 0; i >= 0 && i < ns; i = sy[i].next) {
        int32_t id = tok_find(v, s + sy[i].start, sy[i].n);
        if (id >= 0) {
            idvec_push(out, id);
            continue;
        }
        for (size_t k = 0; k < sy[i].n; k++) {
            uint8_t b = (uint8_t)s[sy[i].start + k];
            if (v->byte_id[b] < 0) {
                st = pp_err_set(err, PP_ERR_FORMAT,
                                "%s: no token for byte 0x%02X (neither '<0x%02X>' nor the byte "
                                "itself is in the vocabulary)",
                                v->name, b, b);
                goto done;
            }
            idvec_push(out, v->byte_id[b]);
        }
    }
done:
    free(h.a);
    free(sy);
    return st;
}

/* Escapes spaces to U+2581 (optionally with a leading space) and runs the merge. */
static pp_status encode_raw(const tok_vocab *v, const char *t, size_t n, bool prefix_space,
                            idvec *out, pp_err *err) {
    size_t spaces = prefix_space ? 1 : 0;
    for (size_t i = 0; i < n; i++) spaces += t[i] == ' ';
    size_t m = n + (prefix_space ? 1 : 0) + 2 * spaces;
    char *s = malloc(m ? m : 1);
    if (!s) return pp_err_set(err, PP_ERR_NOMEM, "tokenize: out of memory (%zu bytes)", m);
    size_t o = 0;
    if (prefix_space) {
        memcpy(s, "\xe2\x96\x81", 3);
        o = 3;
    }
    for (size_t i = 0; i < n; i++) {
        if (t[i] == ' ') {
            memcpy(s + o, "\xe2\x96\x81", 3);
            o += 3;
        } else {
            s[o++] = t[i];
        }
    }
    pp_status st = spm_encode(v, s, o, out, err);
    free(s);
    return st;
}

/* ---- special-token partition ---- */

static bool enabled(const tok_vocab *v, int32_t id, bool parse_special) {
    return parse_special || v->type[id] == TOK_TYPE_USER_DEFINED;
}

/* claim[i]: -1 raw byte, -2 inside a claimed token, >= 0 id of the token starting here. */
static pp_status partition(const tok_vocab *v, const char *t, size_t n, bool parse_special,
                           int32_t *claim, pp_err *err) {
    for (size_t i = 0; i < n; i++) claim[i] = -1;
    if (v->n_special == 0 || n == 0) return PP_OK;
    size_t *first = malloc(v->n_special * sizeof *first);
    size_t *last = malloc(v->n_special * sizeof *last);
    uint32_t *present = malloc(v->n_special * sizeof *present);
    uint8_t *seen = calloc(v->n_special, 1);
    pp_status st = PP_OK;
    if (!first || !last || !present || !seen) {
        st = pp_err_set(err, PP_ERR_NOMEM, "tokenize: out of memory");
        goto done;
    }
    uint32_t n_present = 0;
    for (size_t p = 0; p < n; p++) {
        uint32_t node = 0;
        for (size_t q = p; q < n; q++) {
            node = tok_trie_child(v, node, (uint8_t)t[q]);
            if (node == 0) break;
            int32_t r = v->node_rank[node];
            if (r < 0 || !enabled(v, v->special[r], parse_special)) continue;
            if (!seen[r]) {
                seen[r] = 1;
                first[r] = p;
                present[n_present++] = (uint32_t)r;
            }
            last[r] = p;
        }
    }
    /* Priority order = rank order. */
    for (uint32_t i = 1; i < n_present; i++) { /* insertion sort: n_present is small */
        uint32_t x = present[i];
        uint32_t j = i;
        for (; j > 0 && present[j - 1] > x; j--) present[j] = present[j - 1];
        present[j] = x;
    }
    for (uint32_t i = 0; i < n_present; i++) {
        uint32_t r = present[i];
        int32_t id = v->special[r];
        const char *tt = v->blob + v->off[id];
        size_t tl = v->len[id];
        size_t end = last[r] + tl;
        size_t pos = first[r];
        while (pos + tl <= end) {
            const char *hit = memmem(t + pos, end - pos, tt, tl);
            if (!hit) break;
            size_t q = (size_t)(hit - t);
            bool raw = true;
            for (size_t k = 0; k < tl; k++)
                if (claim[q + k] != -1) {
                    raw = false;
                    break;
                }
            if (!raw) {
                pos = q + 1;
                continue;
            }
            claim[q] = id;
            for (size_t k = 1; k < tl; k++) claim[q + k] = -2;
            pos = q + tl;
        }
    }
done:
    free(first);
    free(last);
    free(present);
    free(seen);
    return st;
}

static pp_status encode_vec(const tok_vocab *v, const char *text, size_t len, bool add_special,
                            bool parse_special, idvec *out, pp_err *err) {
    if (!v || (!text && len))
        return pp_err_set(err, PP_ERR_ARG, "tokenize: NULL argument");
    if (len > TOK_MAX_TEXT_LEN)
        return pp_err_set(err, PP_ERR_ARG, "tokenize: text is %zu bytes (limit %zu)", len,
                          TOK_MAX_TEXT_LEN);
    int32_t *claim = malloc((len ? len : 1) * sizeof *claim);
    if (!claim) return pp_err_set(err, PP_ERR_NOMEM, "tokenize: out of memory (%zu bytes)", len);
    pp_status st = partition(v, text, len, parse_special, claim, err);
    if (st != PP_OK) goto done;
    bool prev_special = true;
    if (add_special && v->add_bos && v->bos >= 0) idvec_push(out, v->bos);
    for (size_t i = 0; i < len;) {
        if (claim[i] >= 0) {
            idvec_push(out, claim[i]);
            i += v->len[claim[i]];
            prev_special = true;
            continue;
        }
        size_t j = i;
        while (j < len && claim[j] == -1) j++;
        st = encode_raw(v, text + i, j - i, v->add_space_prefix && prev_special, out, err);
        if (st != PP_OK) goto done;
        prev_special = false;
        i = j;
    }
    if (add_special && v->add_eos && v->eos >= 0) idvec_push(out, v->eos);
    if (out->oom) st = pp_err_set(err, PP_ERR_NOMEM, "tokenize: out of memory (ids)");
done:
    free(claim);
    return st;
}

pp_status tok_encode(const tok_vocab *v, const char *text, size_t len, bool add_special,
                     bool parse_special, int32_t *out, size_t cap, size_t *n_out, pp_err *err) {
    idvec ids = {0};
    pp_status st = encode_vec(v, text, len, add_special, parse_special, &ids, err);
    if (st == PP_OK) {
        size_t k = ids.n < cap ? ids.n : cap;
        if (k) memcpy(out, ids.a, k * sizeof *out);
        if (n_out) *n_out = ids.n;
        if (ids.n > cap)
            st = pp_err_set(err, PP_ERR_ARG, "tokenize: output buffer too small: %zu ids, room for %zu",
                            ids.n, cap);
    }
    free(ids.a);
    return st;
}

pp_status tok_encode_alloc(const tok_vocab *v, const char *text, size_t len, bool add_special,
                           bool parse_special, int32_t **out, size_t *n_out, pp_err *err) {
    idvec ids = {0};
    pp_status st = encode_vec(v, text, len, add_special, parse_special, &ids, err);
    if (st != PP_OK) {
        free(ids.a);
        return st;
    }
    *out = ids.a;
    *n_out = ids.n;
    return PP_OK;
}
