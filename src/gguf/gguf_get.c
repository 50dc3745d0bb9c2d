/* gguf_get.c - lookups and typed getters on an open (already validated) gguf_file.
 *
 * Invariant relied on: gguf_read.c validated every view, array and offset table, so these
 * functions only check types and value ranges. Integer getters accept any integer value
 * type whose value fits the requested type (spec/gguf.md §2.1 recommendation).
 * ref: shared/spec/gguf.md §2.1.
 */
#include "gguf_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

const char *gguf_name(const gguf_file *f) { return f->name; }
uint32_t gguf_version(const gguf_file *f) { return f->version; }
uint64_t gguf_file_size(const gguf_file *f) { return f->size; }
uint32_t gguf_alignment(const gguf_file *f) { return f->alignment; }
uint64_t gguf_data_offset(const gguf_file *f) { return f->data_offset; }
uint64_t gguf_n_kv(const gguf_file *f) { return f->n_kv; }
uint64_t gguf_n_tensors(const gguf_file *f) { return f->n_tensors; }

const gguf_kv *gguf_kv_at(const gguf_file *f, uint64_t i) {
    PP_ASSERT(i < f->n_kv);
    return &f->kvs[i];
}

const gguf_tensor *gguf_tensor_at(const gguf_file *f, uint64_t i) {
    PP_ASSERT(i < f->n_tensors);
    return &f->tensors[i];
}

static const pp_view *kv_name_of(const void *ctx, uint64_t i) {
    return &((const gguf_file *)ctx)->kvs[i].key;
}
static const pp_view *tensor_name_of(const void *ctx, uint64_t i) {
    return &((const gguf_file *)ctx)->tensors[i].name;
}

const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key) {
    if (!f->kv_hash) return NULL;
    size_t n = strlen(key);
    uint64_t slot = gguf_hash_slot(f->kv_hash, f->kv_hash_mask, key, n, kv_name_of, f);
    return f->kv_hash[slot] ? &f->kvs[f->kv_hash[slot] - 1] : NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name) {
    if (!f->t_hash) return NULL;
    size_t n = strlen(name);
    uint64_t slot = gguf_hash_slot(f->t_hash, f->t_hash_mask, name, n, tensor_name_of, f);
    return f->t_hash[slot] ? &f->tensors[f->t_hash[slot] - 1] : NULL;
}

/* ---- typed getters ---- */

static pp_status find_or_fail(const gguf_file *f, const char *key, const gguf_kv **kv,
                              pp_err *err) {
    *kv = gguf_find_kv(f, key);
    if (*kv) return PP_OK;
    return pp_err_set(err, PP_ERR_NOT_FOUND, "%s: key '%s' is missing", f->name, key);
}

static void type_desc(const gguf_kv *kv, char *buf, size_t cap) {
    if (kv->type == GGUF_VTYPE_ARRAY)
        snprintf(buf, cap, "ARRAY of %s", gguf_vtype_name(kv->arr_type));
    else
        snprintf(buf, cap, "%s", gguf_vtype_name(kv->type));
}

static pp_status wrong_type(const gguf_file *f, const char *key, const char *expected,
                            const gguf_kv *kv, pp_err *err) {
    char got[48];
    type_desc(kv, got, sizeof got);
    return pp_err_set(err, PP_ERR_FORMAT, "%s: key '%s': expected %s, got %s", f->name, key,
                      expected, got);
}

static bool is_signed_int(gguf_vtype t) {
    return t == GGUF_VTYPE_INT8 || t == GGUF_VTYPE_INT16 || t == GGUF_VTYPE_INT32 ||
           t == GGUF_VTYPE_INT64;
}
static bool is_unsigned_int(gguf_vtype t) {
    return t == GGUF_VTYPE_UINT8 || t == GGUF_VTYPE_UINT16 || t == GGUF_VTYPE_UINT32 ||
           t == GGUF_VTYPE_UINT64;
}

/* Integer value as sign + magnitude; false if kv is not an integer. */
static bool kv_int(const gguf_kv *kv, bool *neg, uint64_t *mag) {
    if (is_unsigned_int(kv->type)) {
        *neg = false;
        *mag = kv->v.u64;
        return true;
    }
    if (is_signed_int(kv->type)) {
        *neg = kv->v.i64 < 0;
        *mag = *neg ? (uint64_t)0 - (uint64_t)kv->v.i64 : (uint64_t)kv->v.i64;
        return true;
    }
    return false;
}

/* Integer getter core: value must lie in [-neg_max, pos_max]. */
static pp_status get_int(const gguf_file *f, const char *key, const char *tname, uint64_t neg_max,
                         uint64_t pos_max, bool *neg, uint64_t *mag, pp_err *err) {
    const gguf_kv *kv;
    pp_status st = find_or_fail(f, key, &kv, err);
    if (st) return st;
    if (!kv_int(kv, neg, mag)) return wrong_type(f, key, tname, kv, err);
    if ((*neg && *mag > neg_max) || (!*neg && *mag > pos_max)) {
        if (*neg)
            return pp_err_set(err, PP_ERR_FORMAT, "%s: key '%s': value -%" PRIu64
                              " does not fit in %s", f->name, key, *mag, tname);
        return pp_err_set(err, PP_ERR_FORMAT, "%s: key '%s': value %" PRIu64
                          " does not fit in %s", f->name, key, *mag, tname);
    }
    return PP_OK;
}

pp_status gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out, pp_err *err) {
    bool neg;
    uint64_t mag;
    pp_status st = get_int(f, key, "UINT32", 0, UINT32_MAX, &neg, &mag, err);
    if (!st) *out = (uint32_t)mag;
    return st;
}

pp_status gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out, pp_err *err) {
    bool neg;
    uint64_t mag;
    pp_status st = get_int(f, key, "UINT64", 0, UINT64_MAX, &neg, &mag, err);
    if (!st) *out = mag;
    return st;
}

pp_status gguf_get_i64(const gguf_file *f, const char *key, int64_t *out, pp_err *err) {
    bool neg;
    uint64_t mag;
    pp_status st = get_int(f, key, "INT64", (uint64_t)INT64_MAX + 1, INT64_MAX, &neg, &mag, err);
    if (!st) *out = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag)
                        : (int64_t)mag;
    return st;
}

pp_status gguf_get_f32(const gguf_file *f, const char *key, float *out, pp_err *err) {
    const gguf_kv *kv;
    pp_status st = find_or_fail(f, key, &kv, err);
    if (st) return st;
    if (kv->type != GGUF_VTYPE_FLOAT32 && kv->type != GGUF_VTYPE_FLOAT64)
        return wrong_type(f, key, "FLOAT32", kv, err);
    *out = (float)kv->v.f64;
    return PP_OK;
}

pp_status gguf_get_bool(const gguf_file *f, const char *key, bool *out, pp_err *err) {
    const gguf_kv *kv;
    pp_status st = find_or_fail(f, key, &kv, err);
    if (st) return st;
    if (kv->type != GGUF_VTYPE_BOOL) return wrong_type(f, key, "BOOL", kv, err);
    *out = kv->v.u64 != 0;
    return PP_OK;
}

pp_status gguf_get_str(const gguf_file *f, const char *key, pp_view *out, pp_err *err) {
    const gguf_kv *kv;
    pp_status st = find_or_fail(f, key, &kv, err);
    if (st) return st;
    if (kv->type != GGUF_VTYPE_STRING) return wrong_type(f, key, "STRING", kv, err);
    *out = kv->v.str;
    return PP_OK;
}

pp_status gguf_get_arr(const gguf_file *f, const char *key, gguf_vtype elem_type,
                       const gguf_kv **out, pp_err *err) {
    const gguf_kv *kv;
    pp_status st = find_or_fail(f, key, &kv, err);
    if (st) return st;
    if (kv->type != GGUF_VTYPE_ARRAY ||
        (elem_type != GGUF_VTYPE_COUNT && kv->arr_type != elem_type)) {
        char want[48];
        if (elem_type == GGUF_VTYPE_COUNT)
            snprintf(want, sizeof want, "ARRAY");
        else
            snprintf(want, sizeof want, "ARRAY of %s", gguf_vtype_name(elem_type));
        return wrong_type(f, key, want, kv, err);
    }
    *out = kv;
    return PP_OK;
}

pp_view gguf_arr_str(const gguf_kv *kv, uint64_t i) {
    PP_ASSERT(kv->type == GGUF_VTYPE_ARRAY && kv->arr_type == GGUF_VTYPE_STRING);
    PP_ASSERT(i < kv->arr_count);
    const uint8_t *p = kv->arr_data + kv->arr_str_offsets[i];
    pp_view v = {(const char *)p + 8, (size_t)gguf_le64(p)};
    return v;
}

/* Element i of a numeric array, as an integer or as a double (exactly one is used). */
static void arr_elem(const gguf_kv *kv, uint64_t i, bool *is_float, int64_t *iv, uint64_t *uv,
                     double *fv) {
    PP_ASSERT(kv->type == GGUF_VTYPE_ARRAY && i < kv->arr_count);
    size_t esz = gguf_vtype_size(kv->arr_type);
    PP_ASSERT(esz != 0);
    const uint8_t *p = kv->arr_data + i * esz;
    *is_float = false;
    *iv = 0;
    *uv = 0;
    *fv = 0;
    switch (kv->arr_type) {
    case GGUF_VTYPE_UINT8: case GGUF_VTYPE_BOOL: *uv = p[0]; break;
    case GGUF_VTYPE_INT8: *iv = (int8_t)p[0]; break;
    case GGUF_VTYPE_UINT16: *uv = gguf_le16(p); break;
    case GGUF_VTYPE_INT16: *iv = (int16_t)gguf_le16(p); break;
    case GGUF_VTYPE_UINT32: *uv = gguf_le32(p); break;
    case GGUF_VTYPE_INT32: *iv = (int32_t)gguf_le32(p); break;
    case GGUF_VTYPE_UINT64: *uv = gguf_le64(p); break;
    case GGUF_VTYPE_INT64: *iv = (int64_t)gguf_le64(p); break;
    case GGUF_VTYPE_FLOAT32: {
        uint32_t u = gguf_le32(p);
        float x;
        memcpy(&x, &u, 4);
        *fv = x;
        *is_float = true;
        break;
    }
    case GGUF_VTYPE_FLOAT64: {
        uint64_t u = gguf_le64(p);
        memcpy(fv, &u, 8);
        *is_float = true;
        break;
    }
    default: PP_ASSERT(0);
    }
    if (is_signed_int(kv->arr_type)) *uv = 0;
}

int64_t gguf_arr_i64(const gguf_kv *kv, uint64_t i) {
    bool is_float;
    int64_t iv;
    uint64_t uv;
    double fv;
    arr_elem(kv, i, &is_float, &iv, &uv, &fv);
    if (is_float) {
        if (isnan(fv)) return 0;
        if (fv >= 9223372036854775807.0) return INT64_MAX;
        if (fv <= -9223372036854775808.0) return INT64_MIN;
        return (int64_t)fv;
    }
    if (is_signed_int(kv->arr_type)) return iv;
    return uv > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)uv;
}

double gguf_arr_f64(const gguf_kv *kv, uint64_t i) {
    bool is_float;
    int64_t iv;
    uint64_t uv;
    double fv;
    arr_elem(kv, i, &is_float, &iv, &uv, &fv);
    if (is_float) return fv;
    if (is_signed_int(kv->arr_type)) return (double)iv;
    return (double)uv;
}
