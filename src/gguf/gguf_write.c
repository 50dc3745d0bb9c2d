/* gguf_write.c - GGUF v3 writer, the builder: KV pairs and tensors in insertion order.
 *
 * Layout written (the same as llama.cpp's gguf_write): header, KV records, tensor-info
 * records, zero padding to ALIGNMENT, then each tensor's data followed by zero padding to
 * ALIGNMENT. Tensor offsets are therefore the running padded sum (ggml's strict rule).
 * ALIGNMENT is general.alignment when set (UINT32, power of two), else 32.
 * Invariants: each stored KV value is already serialized (u32 type + value bytes), so a
 * write is a plain concatenation; the first failing set/add call is remembered and returned
 * by write/to_mem (the setters have no pp_err of their own).
 *
 * This file holds the writer object, the little-endian byte building, the KV setters
 * (and copying the KVs of a parsed file) and the tensor registration; gguf_write_out.c lays
 * the metadata out and writes the file or memory image.
 * ref: shared/spec/gguf.md §2, §7 (llama.cpp writes one metadata blob, pads, then tensors).
 */
#include "gguf_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pp_status wfail(gguf_writer *w, pp_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static pp_status wfail(gguf_writer *w, pp_status st, const char *fmt, ...) {
    if (!w->failed) {
        va_list ap;
        va_start(ap, fmt);
        w->err.status = st;
        vsnprintf(w->err.msg, sizeof w->err.msg, fmt, ap);
        va_end(ap);
        w->failed = true;
    }
    return st;
}

pp_status gguf_writer_init(gguf_writer **out, pp_err *err) {
    gguf_writer *w = calloc(1, sizeof *w);
    if (!w) return pp_err_set(err, PP_ERR_NOMEM, "gguf writer: out of memory");
    *out = w;
    return PP_OK;
}

void gguf_writer_free(gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kvs[i].key);
        free(w->kvs[i].val);
    }
    for (size_t i = 0; i < w->n_t; i++) {
        free(w->ts[i].name);
        free(w->ts[i].owned);
    }
    free(w->kvs);
    free(w->ts);
    free(w);
}

const char *gguf_writer_error(const gguf_writer *w) { return w->failed ? w->err.msg : NULL; }

/* ---- byte building ---- */

void gguf_bb_put(bbuf *b, const void *src, size_t n) {
    if (b->oom) return;
    if (n > SIZE_MAX - b->len) { b->oom = true; return; }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n) cap = cap > SIZE_MAX / 2 ? b->len + n : cap * 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) { b->oom = true; return; }
        b->p = q;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, src, n);
    b->len += n;
}
void gguf_bb_u32(bbuf *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    gguf_bb_put(b, x, 4);
}
void gguf_bb_u64(bbuf *b, uint64_t v) {
    gguf_bb_u32(b, (uint32_t)v);
    gguf_bb_u32(b, (uint32_t)(v >> 32));
}

/* Little-endian encoding of one scalar (v points at a host value of the type). */
static void bb_scalar(bbuf *b, gguf_vtype t, const void *v) {
    switch (gguf_vtype_size(t)) {
    case 1: gguf_bb_put(b, v, 1); break;
    case 2: { uint16_t x; memcpy(&x, v, 2); uint8_t y[2] = {(uint8_t)x, (uint8_t)(x >> 8)};
              gguf_bb_put(b, y, 2); break; }
    case 4: { uint32_t x; memcpy(&x, v, 4); gguf_bb_u32(b, x); break; }
    case 8: { uint64_t x; memcpy(&x, v, 8); gguf_bb_u64(b, x); break; }
    default: PP_ASSERT(0);
    }
}

/* ---- KV pairs ---- */

wkv *gguf_find_wkv(gguf_writer *w, const char *key, size_t n) {
    for (size_t i = 0; i < w->n_kv; i++)
        if (w->kvs[i].key_len == n && memcmp(w->kvs[i].key, key, n) == 0) return &w->kvs[i];
    return NULL;
}

/* Takes ownership of val->p in every case. */
static pp_status set_raw(gguf_writer *w, const char *key, bbuf *val) {
    if (val->oom) {
        free(val->p);
        return wfail(w, PP_ERR_NOMEM, "gguf writer: key '%s': out of memory", key ? key : "");
    }
    if (!key) {
        free(val->p);
        return wfail(w, PP_ERR_ARG, "gguf writer: NULL key");
    }
    size_t n = strlen(key);
    wkv *kv = gguf_find_wkv(w, key, n);
    if (kv) { /* replace in place: keeps the original insertion position */
        free(kv->val);
        kv->val = val->p;
        kv->val_len = val->len;
        return PP_OK;
    }
    if (w->n_kv == w->cap_kv) {
        size_t cap = w->cap_kv ? 2 * w->cap_kv : 16;
        wkv *q = realloc(w->kvs, cap * sizeof *q);
        if (!q) { free(val->p); return wfail(w, PP_ERR_NOMEM, "gguf writer: out of memory"); }
        w->kvs = q;
        w->cap_kv = cap;
    }
    char *k = malloc(n + 1);
    if (!k) { free(val->p); return wfail(w, PP_ERR_NOMEM, "gguf writer: out of memory"); }
    memcpy(k, key, n + 1);
    w->kvs[w->n_kv++] = (wkv){k, n, val->p, val->len};
    return PP_OK;
}

pp_status gguf_writer_set_val(gguf_writer *w, const char *key, gguf_vtype type, const void *v) {
    if (gguf_vtype_size(type) == 0)
        return wfail(w, PP_ERR_ARG, "gguf writer: key '%s': %s is not a scalar type",
                     key ? key : "", gguf_vtype_name(type));
    bbuf b = {0};
    gguf_bb_u32(&b, type);
    if (type == GGUF_VTYPE_BOOL) {
        uint8_t x = *(const bool *)v ? 1 : 0;
        gguf_bb_put(&b, &x, 1);
    } else {
        bb_scalar(&b, type, v);
    }
    return set_raw(w, key, &b);
}

pp_status gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v) {
    return gguf_writer_set_val(w, key, GGUF_VTYPE_UINT32, &v);
}
pp_status gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v) {
    return gguf_writer_set_val(w, key, GGUF_VTYPE_INT32, &v);
}
pp_status gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v) {
    return gguf_writer_set_val(w, key, GGUF_VTYPE_UINT64, &v);
}
pp_status gguf_writer_set_f32(gguf_writer *w, const char *key, float v) {
    return gguf_writer_set_val(w, key, GGUF_VTYPE_FLOAT32, &v);
}
pp_status gguf_writer_set_bool(gguf_writer *w, const char *key, bool v) {
    return gguf_writer_set_val(w, key, GGUF_VTYPE_BOOL, &v);
}

pp_status gguf_writer_set_str_n(gguf_writer *w, const char *key, const char *v, size_t len) {
    if (!v && len) return wfail(w, PP_ERR_ARG, "gguf writer: key '%s': NULL string", key ? key : "");
    bbuf b = {0};
    gguf_bb_u32(&b, GGUF_VTYPE_STRING);
    gguf_bb_u64(&b, len);
    gguf_bb_put(&b, v, len);
    return set_raw(w, key, &b);
}

pp_status gguf_writer_set_str(gguf_writer *w, const char *key, const char *v) {
    if (!v) return wfail(w, PP_ERR_ARG, "gguf writer: key '%s': NULL string", key ? key : "");
    return gguf_writer_set_str_n(w, key, v, strlen(v));
}

pp_status gguf_writer_set_arr(gguf_writer *w, const char *key, gguf_vtype elem_type,
                              const void *data, uint64_t count) {
    size_t esz = gguf_vtype_size(elem_type);
    if (esz == 0)
        return wfail(w, PP_ERR_ARG, "gguf writer: key '%s': arrays of %s need their own setter",
                     key ? key : "", gguf_vtype_name(elem_type));
    if (count && !data)
        return wfail(w, PP_ERR_ARG, "gguf writer: key '%s': NULL array data", key ? key : "");
    if (count > SIZE_MAX / 8)
        return wfail(w, PP_ERR_ARG, "gguf writer: key '%s': %" PRIu64 " elements is too many",
                     key ? key : "", count);
    bbuf b = {0};
    gguf_bb_u32(&b, GGUF_VTYPE_ARRAY);
    gguf_bb_u32(&b, elem_type);
    gguf_bb_u64(&b, count);
    const uint8_t *p = data;
    for (uint64_t i = 0; i < count && !b.oom; i++) {
        if (elem_type == GGUF_VTYPE_BOOL) {
            uint8_t x = ((const bool *)data)[i] ? 1 : 0;
            gguf_bb_put(&b, &x, 1);
        } else {
            bb_scalar(&b, elem_type, p + i * esz);
        }
    }
    return set_raw(w, key, &b);
}

pp_status gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *strs,
                                  uint64_t count) {
    if (count && !strs)
        return wfail(w, PP_ERR_ARG, "gguf writer: key '%s': NULL string array", key ? key : "");
    bbuf b = {0};
    gguf_bb_u32(&b, GGUF_VTYPE_ARRAY);
    gguf_bb_u32(&b, GGUF_VTYPE_STRING);
    gguf_bb_u64(&b, count);
    for (uint64_t i = 0; i < count && !b.oom; i++) {
        if (!strs[i]) {
            free(b.p);
            return wfail(w, PP_ERR_ARG, "gguf writer: key '%s': element %" PRIu64 " is NULL",
                         key ? key : "", i);
        }
        size_t n = strlen(strs[i]);
        gguf_bb_u64(&b, n);
        gguf_bb_put(&b, strs[i], n);
    }
    return set_raw(w, key, &b);
}

/* Serializes a kv of an open file back into value bytes. */
static void bb_from_kv(bbuf *b, const gguf_kv *kv) {
    gguf_bb_u32(b, kv->type);
    switch (kv->type) {
    case GGUF_VTYPE_STRING:
        gguf_bb_u64(b, kv->v.str.len);
        gguf_bb_put(b, kv->v.str.ptr, kv->v.str.len);
        break;
    case GGUF_VTYPE_ARRAY: {
        gguf_bb_u32(b, kv->arr_type);
        gguf_bb_u64(b, kv->arr_count);
        size_t esz = gguf_vtype_size(kv->arr_type);
        uint64_t n = 0;
        if (esz) {
            n = kv->arr_count * esz; /* fits: validated against the file size */
        } else if (kv->arr_count) {
            uint64_t last = kv->arr_str_offsets[kv->arr_count - 1];
            n = last + 8 + gguf_le64(kv->arr_data + last);
        }
        gguf_bb_put(b, kv->arr_data, (size_t)n);
        break;
    }
    case GGUF_VTYPE_FLOAT32: {
        float x = (float)kv->v.f64;
        bb_scalar(b, kv->type, &x);
        break;
    }
    case GGUF_VTYPE_FLOAT64: bb_scalar(b, kv->type, &kv->v.f64); break;
    case GGUF_VTYPE_BOOL: {
        uint8_t x = kv->v.u64 != 0;
        gguf_bb_put(b, &x, 1);
        break;
    }
    default: {
        /* integers: the low bytes of the two's-complement value are the encoding */
        uint64_t u = kv->v.u64;
        uint8_t x[8];
        for (int i = 0; i < 8; i++) x[i] = (uint8_t)(u >> (8 * i));
        gguf_bb_put(b, x, gguf_vtype_size(kv->type));
        break;
    }
    }
}

pp_status gguf_writer_copy_kvs(gguf_writer *w, const gguf_file *src) {
    for (uint64_t i = 0; i < gguf_n_kv(src); i++) {
        const gguf_kv *kv = gguf_kv_at(src, i);
        if (gguf_find_wkv(w, kv->key.ptr, kv->key.len)) continue;
        if (memchr(kv->key.ptr, 0, kv->key.len))
            return wfail(w, PP_ERR_ARG, "gguf writer: %s: kv %" PRIu64 ": key contains a NUL byte",
                         gguf_name(src), i);
        char *key = pp_view_dup(kv->key);
        if (!key) return wfail(w, PP_ERR_NOMEM, "gguf writer: out of memory");
        bbuf b = {0};
        bb_from_kv(&b, kv);
        pp_status st = set_raw(w, key, &b);
        free(key);
        if (st) return st;
    }
    return PP_OK;
}

pp_status gguf_writer_remove(gguf_writer *w, const char *key) {
    wkv *kv = key ? gguf_find_wkv(w, key, strlen(key)) : NULL;
    if (!kv) return PP_ERR_NOT_FOUND;
    free(kv->key);
    free(kv->val);
    size_t i = (size_t)(kv - w->kvs);
    memmove(kv, kv + 1, (w->n_kv - i - 1) * sizeof *kv);
    w->n_kv--;
    return PP_OK;
}

/* ---- tensors ---- */

static pp_status add_tensor(gguf_writer *w, const char *name, uint32_t n_dims, const int64_t *ne,
                            uint32_t type, const void *data, uint64_t nbytes, bool copy,
                            gguf_tensor_write_fn fn, void *fn_ctx) {
    if (!name) return wfail(w, PP_ERR_ARG, "gguf writer: NULL tensor name");
    size_t n = strlen(name);
    if (n >= GGUF_MAX_NAME)
        return wfail(w, PP_ERR_ARG, "gguf writer: tensor '%s': name is %zu bytes, the limit is %d",
                     name, n, GGUF_MAX_NAME - 1);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS || !ne)
        return wfail(w, PP_ERR_ARG, "gguf writer: tensor '%s': %" PRIu32 " dimensions", name,
                     n_dims);
    gguf_ttype_info ti = gguf_ttype_info_get(type);
    if (ti.blck == 0)
        return wfail(w, PP_ERR_ARG, "gguf writer: tensor '%s': type %" PRIu32 " is unknown",
                     name, type);
    wtensor t = {.n_dims = n_dims, .type = type, .nbytes = nbytes};
    for (uint32_t j = 0; j < GGUF_MAX_DIMS; j++) t.ne[j] = j < n_dims ? ne[j] : 1;
    for (uint32_t j = 0; j < n_dims; j++)
        if (t.ne[j] <= 0)
            return wfail(w, PP_ERR_ARG, "gguf writer: tensor '%s': ne[%" PRIu32 "] = %" PRId64,
                         name, j, t.ne[j]);
    if (t.ne[0] % ti.blck != 0)
        return wfail(w, PP_ERR_ARG,
                     "gguf writer: tensor '%s': ne[0]=%" PRId64 " not a multiple of %" PRIu32
                     " (%s)", name, t.ne[0], ti.blck, ti.name);
    uint64_t want = (uint64_t)t.ne[0] / ti.blck * ti.bytes;
    for (int j = 1; j < GGUF_MAX_DIMS; j++)
        if (!pp_mul_u64(want, (uint64_t)t.ne[j], &want) || want > (uint64_t)INT64_MAX)
            return wfail(w, PP_ERR_ARG, "gguf writer: tensor '%s': size overflows", name);
    if (want != nbytes)
        return wfail(w, PP_ERR_ARG,
                     "gguf writer: tensor '%s': %" PRIu64 " bytes given, the shape needs %" PRIu64,
                     name, nbytes, want);
    if (!data && nbytes && !fn)
        return wfail(w, PP_ERR_ARG, "gguf writer: tensor '%s': NULL data", name);
    for (size_t i = 0; i < w->n_t; i++)
        if (w->ts[i].name_len == n && memcmp(w->ts[i].name, name, n) == 0)
            return wfail(w, PP_ERR_ARG, "gguf writer: duplicate tensor name '%s'", name);
    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? 2 * w->cap_t : 64;
        wtensor *q = realloc(w->ts, cap * sizeof *q);
        if (!q) return wfail(w, PP_ERR_NOMEM, "gguf writer: out of memory");
        w->ts = q;
        w->cap_t = cap;
    }
    t.name = malloc(n + 1);
    if (!t.name) return wfail(w, PP_ERR_NOMEM, "gguf writer: out of memory");
    memcpy(t.name, name, n + 1);
    t.name_len = n;
    t.data = data;
    t.fn = fn;
    t.fn_ctx = fn_ctx;
    if (copy) {
        t.owned = malloc(nbytes ? (size_t)nbytes : 1);
        if (!t.owned) {
            free(t.name);
            return wfail(w, PP_ERR_NOMEM, "gguf writer: tensor '%s': out of memory for %" PRIu64
                         " bytes", name, nbytes);
        }
        if (nbytes) memcpy(t.owned, data, (size_t)nbytes);
        t.data = t.owned;
    }
    w->ts[w->n_t++] = t;
    return PP_OK;
}

pp_status gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t n_dims,
                                 const int64_t *ne, uint32_t type, const void *data,
                                 uint64_t nbytes) {
    return add_tensor(w, name, n_dims, ne, type, data, nbytes, false, NULL, NULL);
}

pp_status gguf_writer_add_tensor_copy(gguf_writer *w, const char *name, uint32_t n_dims,
                                      const int64_t *ne, uint32_t type, const void *data,
                                      uint64_t nbytes) {
    return add_tensor(w, name, n_dims, ne, type, data, nbytes, true, NULL, NULL);
}

pp_status gguf_writer_add_tensor_stream(gguf_writer *w, const char *name, uint32_t n_dims,
                                        const int64_t *ne, uint32_t type, uint64_t nbytes,
                                        gguf_tensor_write_fn fn, void *ctx) {
    if (!fn)
        return wfail(w, PP_ERR_ARG, "gguf writer: tensor '%s': NULL write function",
                     name ? name : "");
    return add_tensor(w, name, n_dims, ne, type, NULL, nbytes, false, fn, ctx);
}
