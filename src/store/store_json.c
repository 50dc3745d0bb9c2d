/* store_json.c - JSON text exactly as Go's encoding/json writes it, so the layers we create
 * have Ollama's digests (ollama-compat.md §4.2): compact, '<' '>' '&' as \u003c \u003e
 * \u0026, U+2028/U+2029 escaped, invalid UTF-8 as \ufffd, float32 values in the shortest
 * form that reads back as the same float32 ('f' notation unless < 1e-6 or >= 1e21).
 * Also SHA-256 helpers (libcrypto). */
#include "store.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

void store_buf_add(store_buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n + 1) nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void store_buf_adds(store_buf *b, const char *s) { store_buf_add(b, s, strlen(s)); }

void store_buf_free(store_buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* Length of a valid UTF-8 sequence at p (1..4), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    size_t l;
    uint32_t cp;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) { l = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { l = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { l = 4; cp = c & 0x07; }
    else return 0;
    if (l > n) return 0;
    for (size_t i = 1; i < l; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((l == 2 && cp < 0x80) || (l == 3 && cp < 0x800) || (l == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    return l;
}

void store_buf_add_json_str(store_buf *b, const char *s, size_t n) {
    static const char HEX[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    store_buf_add(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) {
            char esc[8];
            if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; store_buf_add(b, esc, 2); }
            else if (c == '\n') store_buf_add(b, "\\n", 2);
            else if (c == '\r') store_buf_add(b, "\\r", 2);
            else if (c == '\t') store_buf_add(b, "\\t", 2);
            else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                memcpy(esc, "\\u00", 4);
                esc[4] = HEX[c >> 4];
                esc[5] = HEX[c & 15];
                store_buf_add(b, esc, 6);
            } else {
                esc[0] = (char)c;
                store_buf_add(b, esc, 1);
            }
            i++;
            continue;
        }
        size_t l = utf8_len(p + i, n - i);
        if (l == 0) {
            store_buf_adds(b, "\\ufffd");
            i++;
            continue;
        }
        if (l == 3 && p[i] == 0xE2 && p[i + 1] == 0x80 && (p[i + 2] == 0xA8 || p[i + 2] == 0xA9)) {
            store_buf_adds(b, p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
        } else {
            store_buf_add(b, s + i, l);
        }
        i += l;
    }
    store_buf_add(b, "\"", 1);
}

/* Appends a number Go's way from its shortest "%e" text e ("[-]d.ddde[+-]xx"): 'e' form
 * ("e-07" -> "e-7") when eform, else plain digits. float32 and float64 differ only in how
 * many digits round-trip and where the 'e' form starts, which their callers decide. */
static void add_go_digits(store_buf *b, const char *e, bool eform) {
    char digits[24];
    int nd = 0;
    const char *q = e;
    bool neg = *q == '-';
    if (neg) q++;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9') digits[nd++] = *q;
    int exp10 = atoi(q + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    char out[64];
    size_t o = 0;
    if (neg) out[o++] = '-';
    if (eform) {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            for (int i = 1; i < nd; i++) out[o++] = digits[i];
        }
        o += (size_t)snprintf(out + o, sizeof out - o, "e%c%d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    } else if (exp10 < 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -exp10 - 1; i++) out[o++] = '0';
        for (int i = 0; i < nd; i++) out[o++] = digits[i];
    } else {
        for (int i = 0; i <= exp10 || i < nd; i++) {
            if (i == exp10 + 1) out[o++] = '.';
            out[o++] = i < nd ? digits[i] : '0';
        }
    }
    out[o] = 0;
    store_buf_adds(b, out);
}

void store_buf_add_go_float32(store_buf *b, float v) {
    if (!isfinite(v)) { /* Go refuses; we never produce these (the parser rejects them) */
        store_buf_adds(b, "null");
        return;
    }
    char e[48]; /* shortest digits that read back as the same float32 */
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, (double)v);
        if (strtof(e, NULL) == v) break;
    }
    float a = fabsf(v);
    add_go_digits(b, e, a != 0 && (a < 1e-6f || a >= 1e21f));
}

/* float64 as Go prints it: shortest round-trip digits, 'e' form below 1e-6 or from 1e21. */
static void add_go_float64(store_buf *b, double v) {
    if (!isfinite(v)) {
        store_buf_adds(b, "null");
        return;
    }
    char e[48];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v) break;
    }
    double a = fabs(v);
    add_go_digits(b, e, a != 0 && (a < 1e-6 || a >= 1e21));
}

static int cmp_key(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

void store_buf_add_go_json(store_buf *b, const void *jv) {
    const json_t *v = jv;
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), k = 0;
        const char **keys = calloc(n + 1, sizeof *keys);
        if (!keys) { b->oom = true; return; }
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val) keys[k++] = key;
        qsort(keys, n, sizeof *keys, cmp_key);
        store_buf_add(b, "{", 1);
        for (k = 0; k < n; k++) {
            if (k) store_buf_add(b, ",", 1);
            store_buf_add_json_str(b, keys[k], strlen(keys[k]));
            store_buf_add(b, ":", 1);
            store_buf_add_go_json(b, json_object_get(v, keys[k]));
        }
        store_buf_add(b, "}", 1);
        free(keys);
        break;
    }
    case JSON_ARRAY:
        store_buf_add(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) store_buf_add(b, ",", 1);
            store_buf_add_go_json(b, json_array_get(v, i));
        }
        store_buf_add(b, "]", 1);
        break;
    case JSON_STRING:
        store_buf_add_json_str(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER: /* Go decoded it as float64 */
        add_go_float64(b, (double)json_integer_value(v));
        break;
    case JSON_REAL:
        add_go_float64(b, json_real_value(v));
        break;
    case JSON_TRUE: store_buf_adds(b, "true"); break;
    case JSON_FALSE: store_buf_adds(b, "false"); break;
    default: store_buf_adds(b, "null"); break;
    }
    (void)num;
}

pp_status store_sha256_mem(const void *p, size_t n, char hex[65], pp_err *err) {
    unsigned char md[32];
    unsigned int mdl = 0;
    if (!EVP_Digest(p, n, md, &mdl, EVP_sha256(), NULL) || mdl != 32)
        return pp_err_set(err, PP_ERR_INTERNAL, "sha256: libcrypto failed");
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return PP_OK;
}

pp_status store_sha256_file(const char *path, char hex[65], pp_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return pp_err_set(err, PP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    pp_status st = PP_OK;
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = malloc(CHUNK);
    if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        st = pp_err_set(err, PP_ERR_NOMEM, "sha256: out of memory");
        goto out;
    }
    size_t got;
    while ((got = fread(buf, 1, CHUNK, f)) > 0) EVP_DigestUpdate(ctx, buf, got);
    if (ferror(f)) {
        st = pp_err_set(err, PP_ERR_IO, "%s: read error", path);
        goto out;
    }
    unsigned char md[32];
    unsigned int mdl = 0;
    EVP_DigestFinal_ex(ctx, md, &mdl);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
    free(buf);
    EVP_MD_CTX_free(ctx);
    fclose(f);
    return st;
}
