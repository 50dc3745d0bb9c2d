/* decode.c - token ids -> bytes (llama.cpp token_to_piece / detokenize for SPM) and the
 * streaming UTF-8 assembler.
 * ref: shared/spec/tokenizer.md §4; Unicode 15 §3.9 (Table 3-7 well-formed byte sequences,
 * "U+FFFD substitution of maximal subparts"). */
#include "tok_internal.h"

#include <stdlib.h>
#include <string.h>

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static size_t put(char *buf, size_t cap, size_t o, const char *s, size_t n) {
    if (o < cap) memcpy(buf + o, s, (cap - o) < n ? (cap - o) : n);
    return o + n;
}

size_t tok_piece(const tok_vocab *v, int32_t id, bool special, char *buf, size_t cap) {
    if (!v || id < 0 || (uint32_t)id >= v->n_vocab) return 0;
    const char *t = v->blob + v->off[id];
    size_t n = v->len[id];
    switch ((tok_type)v->type[id]) {
    case TOK_TYPE_CONTROL:
    case TOK_TYPE_UNKNOWN:
        if (!special) return 0;
        return put(buf, cap, 0, t, n);
    case TOK_TYPE_USER_DEFINED:
        return put(buf, cap, 0, t, n);
    case TOK_TYPE_NORMAL: {
        size_t o = 0;
        for (size_t i = 0; i < n;) {
            if (i + 3 <= n && memcmp(t + i, "\xe2\x96\x81", 3) == 0) {
                o = put(buf, cap, o, " ", 1);
                i += 3;
            } else {
                o = put(buf, cap, o, t + i, 1);
                i++;
            }
        }
        return o;
    }
    case TOK_TYPE_BYTE: {
        /* "<0xHH>"; llama.cpp parses the hex digits after "<0x". A malformed byte token
         * (hostile vocab) yields nothing. */
        if (n != 6 || memcmp(t, "<0x", 3) != 0 || t[5] != '>') return 0;
        int hi = hexval(t[3]), lo = hexval(t[4]);
        if (hi < 0 || lo < 0) return 0;
        char b = (char)(hi * 16 + lo);
        return put(buf, cap, 0, &b, 1);
    }
    default:
        return 0;
    }
}

pp_status tok_detokenize(const tok_vocab *v, const int32_t *ids, size_t n, bool remove_special,
                         bool unparse_special, char **out, size_t *len, pp_err *err) {
    if (!v || (!ids && n) || !out) return pp_err_set(err, PP_ERR_ARG, "detokenize: NULL argument");
    size_t lo = 0, hi = n;
    if (remove_special && v->add_bos && hi > lo && ids[lo] == v->bos) lo++;
    if (remove_special && v->add_eos && hi > lo && ids[hi - 1] == v->eos) hi--;
    size_t total = 0;
    for (size_t i = lo; i < hi; i++) total += tok_piece(v, ids[i], unparse_special, NULL, 0);
    char *s = malloc(total + 1);
    if (!s) return pp_err_set(err, PP_ERR_NOMEM, "detokenize: out of memory (%zu bytes)", total);
    size_t o = 0;
    for (size_t i = lo; i < hi; i++) o += tok_piece(v, ids[i], unparse_special, s + o, total - o);
    s[o] = 0;
    *out = s;
    if (len) *len = o;
    return PP_OK;
}

/* ---- streaming UTF-8 ---- */

void tok_stream_init(tok_stream *s) { memset(s, 0, sizeof *s); }

/* Expected length of a sequence starting with lead byte c (0 = invalid lead). */
static uint32_t seq_len(uint8_t c) {
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return 2;
    if (c >= 0xE0 && c <= 0xEF) return 3;
    if (c >= 0xF0 && c <= 0xF4) return 4;
    return 0;
}

/* Is b valid as byte number k (1-based) of a sequence starting with lead? (Table 3-7) */
static bool cont_ok(uint8_t lead, uint32_t k, uint8_t b) {
    if (k == 1) {
        switch (lead) {
        case 0xE0: return b >= 0xA0 && b <= 0xBF;
        case 0xED: return b >= 0x80 && b <= 0x9F;
        case 0xF0: return b >= 0x90 && b <= 0xBF;
        case 0xF4: return b >= 0x80 && b <= 0x8F;
        default: break;
        }
    }
    return b >= 0x80 && b <= 0xBF;
}

static size_t emit_fffd(char *out, size_t o) {
    memcpy(out + o, "\xef\xbf\xbd", 3);
    return o + 3;
}

size_t tok_stream_feed(tok_stream *s, const char *in, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint8_t b = (uint8_t)in[i];
        if (s->n_pend == 0) {
            uint32_t l = seq_len(b);
            if (l == 1) {
                out[o++] = (char)b;
            } else if (l == 0) {
                o = emit_fffd(out, o);
            } else {
                s->pend[0] = b;
                s->n_pend = 1;
            }
            i++;
            continue;
        }
        uint32_t need = seq_len(s->pend[0]);
        if (!cont_ok(s->pend[0], s->n_pend, b)) {
            /* The pending prefix is a maximal ill-formed subpart; b starts over. */
            o = emit_fffd(out, o);
            s->n_pend = 0;
            continue;
        }
        s->pend[s->n_pend++] = b;
        i++;
        if (s->n_pend == need) {
            memcpy(out + o, s->pend, need);
            o += need;
            s->n_pend = 0;
        }
    }
    return o;
}

size_t tok_stream_flush(tok_stream *s, char *out) {
    size_t o = 0;
    if (s->n_pend) o = emit_fffd(out, 0);
    s->n_pend = 0;
    return o;
}
