/* gguf_read.c - opens a GGUF v2/v3 file (read-only mmap or caller buffer) and validates it.
 *
 * Invariants after a successful open: every key, string, array and tensor data range lies
 * inside the buffer; keys and tensor names are unique; each tensor's type is a known ggml id
 * with ne[0] a whole number of blocks, its byte size fits in 64 bits, its data is aligned,
 * in bounds and overlaps no other tensor. STRING arrays have an offset table (O(1) access).
 * Every count read from the file is checked against the bytes that remain before anything
 * proportional to it is allocated (spec §6 point 3-4).
 * ref: shared/spec/gguf.md §1-2 and §6 (validation points 1-14), ggml src/gguf.cpp.
 */
#include "gguf_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_MAGIC 0x46554747u      /* "GGUF" read as u32 LE */
#define GGUF_HEADER_SIZE 24
#define GGUF_MIN_KV_RECORD 12       /* u64 key length + u32 value type */
#define GGUF_MIN_TENSOR_RECORD 24   /* u64 name length + u32 n_dims + u32 type + u64 offset */
#define GGUF_NAME_SHOWN_MAX 96      /* longest name quoted in a message */

gguf_open_params gguf_default_open_params(void) {
    gguf_open_params p = {.strict_offsets = false};
    return p;
}

void gguf_fmt_name(char *out, size_t cap, const char *p, size_t len) {
    static const char HEX[] = "0123456789abcdef";
    size_t o = 0;
    if (!cap) return;
    for (size_t i = 0; i < len; i++) {
        if (o + 8 >= cap || i >= GGUF_NAME_SHOWN_MAX) {
            if (o + 4 <= cap) { memcpy(out + o, "...", 3); o += 3; }
            break;
        }
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\'; out[o++] = 'x';
            out[o++] = HEX[c >> 4]; out[o++] = HEX[c & 15];
        }
    }
    out[o] = 0;
}

/* ---- parse state ---- */

typedef struct rd {
    gguf_file *f;
    uint64_t pos;
    pp_err *err;
    char ctx[160]; /* "key 'x'" / "tensor 'y'" / "kv 3": where we are, for messages */
} rd;

static uint64_t rd_left(const rd *r) { return r->f->size - r->pos; }

static pp_status rd_fail(rd *r, pp_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static pp_status rd_fail(rd *r, pp_status st, const char *fmt, ...) {
    char msg[PP_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->ctx[0])
        return pp_err_set(r->err, st, "%s: %s: %s", r->f->name, r->ctx, msg);
    return pp_err_set(r->err, st, "%s: %s", r->f->name, msg);
}

/* Fails unless n bytes remain; what names the field being read. */
static pp_status rd_need(rd *r, uint64_t n, const char *what) {
    if (n <= rd_left(r)) return PP_OK;
    return rd_fail(r, PP_ERR_FORMAT, "%s runs past the end of the file (%" PRIu64 " bytes)",
                   what, r->f->size);
}

static pp_status rd_u32(rd *r, uint32_t *out, const char *what) {
    pp_status st = rd_need(r, 4, what);
    if (st) return st;
    *out = gguf_le32(r->f->buf + r->pos);
    r->pos += 4;
    return PP_OK;
}

static pp_status rd_u64(rd *r, uint64_t *out, const char *what) {
    pp_status st = rd_need(r, 8, what);
    if (st) return st;
    *out = gguf_le64(r->f->buf + r->pos);
    r->pos += 8;
    return PP_OK;
}

/* Reads a string (u64 length + bytes) as a view into the buffer. */
static pp_status rd_str(rd *r, pp_view *out, const char *what) {
    uint64_t len;
    char w[64];
    snprintf(w, sizeof w, "%s length", what);
    pp_status st = rd_u64(r, &len, w);
    if (st) return st;
    if (len > rd_left(r))
        return rd_fail(r, PP_ERR_FORMAT,
                       "%s length %" PRIu64 " runs past the end of the file (%" PRIu64
                       " bytes left)", what, len, rd_left(r));
    out->ptr = (const char *)r->f->buf + r->pos;
    out->len = (size_t)len;
    r->pos += len;
    return PP_OK;
}

/* ---- hash tables ---- */

static const pp_view *kv_name_of(const void *ctx, uint64_t i) {
    return &((const gguf_file *)ctx)->kvs[i].key;
}
static const pp_view *tensor_name_of(const void *ctx, uint64_t i) {
    return &((const gguf_file *)ctx)->tensors[i].name;
}

static pp_status hash_alloc(uint64_t n, uint64_t **table, uint64_t *mask) {
    uint64_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    *table = calloc(cap, sizeof **table);
    if (!*table) return PP_ERR_NOMEM;
    *mask = cap - 1;
    return PP_OK;
}

/* ---- KV section ---- */

static void decode_scalar(gguf_kv *kv, const uint8_t *p) {
    switch (kv->type) {
    case GGUF_VTYPE_UINT8: kv->v.u64 = p[0]; break;
    case GGUF_VTYPE_INT8: kv->v.i64 = (int8_t)p[0]; break;
    case GGUF_VTYPE_UINT16: kv->v.u64 = gguf_le16(p); break;
    case GGUF_VTYPE_INT16: kv->v.i64 = (int16_t)gguf_le16(p); break;
    case GGUF_VTYPE_UINT32: kv->v.u64 = gguf_le32(p); break;
    case GGUF_VTYPE_INT32: kv->v.i64 = (int32_t)gguf_le32(p); break;
    case GGUF_VTYPE_UINT64: kv->v.u64 = gguf_le64(p); break;
    case GGUF_VTYPE_INT64: kv->v.i64 = (int64_t)gguf_le64(p); break;
    case GGUF_VTYPE_BOOL: kv->v.u64 = p[0] != 0; break;
    case GGUF_VTYPE_FLOAT32: {
        uint32_t u = gguf_le32(p);
        float x;
        memcpy(&x, &u, 4);
        kv->v.f64 = x;
        break;
    }
    case GGUF_VTYPE_FLOAT64: {
        uint64_t u = gguf_le64(p);
        memcpy(&kv->v.f64, &u, 8);
        break;
    }
    default: PP_ASSERT(0);
    }
}

static pp_status parse_array(rd *r, gguf_kv *kv) {
    uint32_t et;
    uint64_t count;
    pp_status st = rd_u32(r, &et, "array element type");
    if (st) return st;
    if (et == GGUF_VTYPE_ARRAY)
        return rd_fail(r, PP_ERR_FORMAT, "nested arrays are not supported");
    if (et >= GGUF_VTYPE_COUNT)
        return rd_fail(r, PP_ERR_FORMAT, "array of unknown element type %" PRIu32, et);
    if ((st = rd_u64(r, &count, "array count"))) return st;
    kv->arr_type = (gguf_vtype)et;
    kv->arr_count = count;
    kv->arr_data = r->f->buf + r->pos;
    size_t esz = gguf_vtype_size(kv->arr_type);
    uint64_t min_elem = esz ? esz : 8; /* a string needs at least its u64 length */
    if (count > rd_left(r) / min_elem)
        return rd_fail(r, PP_ERR_FORMAT,
                       "array of %" PRIu64 " %s runs past the end of the file (%" PRIu64
                       " bytes left)", count, gguf_vtype_name(kv->arr_type), rd_left(r));
    if (esz) {
        r->pos += count * esz;
        return PP_OK;
    }
    /* STRING array: validate every element and record where it starts */
    uint64_t *offs = malloc(count ? count * sizeof *offs : 1);
    if (!offs) return rd_fail(r, PP_ERR_NOMEM, "out of memory for %" PRIu64 " strings", count);
    kv->arr_str_offsets = offs;
    uint64_t start = r->pos;
    for (uint64_t i = 0; i < count; i++) {
        offs[i] = r->pos - start;
        if (rd_left(r) < 8)
            return rd_fail(r, PP_ERR_FORMAT,
                           "element %" PRIu64 " of %" PRIu64 ": string length runs past the "
                           "end of the file (%" PRIu64 " bytes)", i, count, r->f->size);
        uint64_t len = gguf_le64(r->f->buf + r->pos);
        r->pos += 8;
        if (len > rd_left(r))
            return rd_fail(r, PP_ERR_FORMAT,
                           "element %" PRIu64 ": string length %" PRIu64
                           " runs past the end of the file (%" PRIu64 " bytes left)",
                           i, len, rd_left(r));
        r->pos += len;
    }
    return PP_OK;
}

static pp_status parse_kv(rd *r, uint64_t idx, gguf_kv *kv) {
    snprintf(r->ctx, sizeof r->ctx, "kv %" PRIu64, idx);
    pp_status st = rd_str(r, &kv->key, "key");
    if (st) return st;
    char shown[GGUF_NAME_SHOWN_MAX + 16];
    gguf_fmt_name(shown, sizeof shown, kv->key.ptr, kv->key.len);
    snprintf(r->ctx, sizeof r->ctx, "key '%s'", shown);
    uint32_t type;
    if ((st = rd_u32(r, &type, "value type"))) return st;
    if (type >= GGUF_VTYPE_COUNT)
        return rd_fail(r, PP_ERR_FORMAT, "unknown value type %" PRIu32, type);
    kv->type = (gguf_vtype)type;
    if (kv->type == GGUF_VTYPE_ARRAY) return parse_array(r, kv);
    if (kv->type == GGUF_VTYPE_STRING) return rd_str(r, &kv->v.str, "string");
    size_t esz = gguf_vtype_size(kv->type);
    char what[32];
    snprintf(what, sizeof what, "%s value", gguf_vtype_name(kv->type));
    if ((st = rd_need(r, esz, what))) return st;
    decode_scalar(kv, r->f->buf + r->pos);
    r->pos += esz;
    return PP_OK;
}

static pp_status parse_kvs(rd *r) {
    gguf_file *f = r->f;
    f->kvs = calloc(f->n_kv ? f->n_kv : 1, sizeof *f->kvs);
    if (!f->kvs) return rd_fail(r, PP_ERR_NOMEM, "out of memory for %" PRIu64 " keys", f->n_kv);
    if (hash_alloc(f->n_kv, &f->kv_hash, &f->kv_hash_mask))
        return rd_fail(r, PP_ERR_NOMEM, "out of memory for %" PRIu64 " keys", f->n_kv);
    for (uint64_t i = 0; i < f->n_kv; i++) {
        pp_status st = parse_kv(r, i, &f->kvs[i]);
        if (st) return st;
        const pp_view *k = &f->kvs[i].key;
        uint64_t slot = gguf_hash_slot(f->kv_hash, f->kv_hash_mask, k->ptr, k->len, kv_name_of, f);
        if (f->kv_hash[slot]) {
            r->ctx[0] = 0;
            char shown[GGUF_NAME_SHOWN_MAX + 16];
            gguf_fmt_name(shown, sizeof shown, k->ptr, k->len);
            return rd_fail(r, PP_ERR_FORMAT, "duplicate key '%s' (kv %" PRIu64 " and %" PRIu64 ")",
                           shown, f->kv_hash[slot] - 1, i);
        }
        f->kv_hash[slot] = i + 1;
    }
    r->ctx[0] = 0;
    return PP_OK;
}

static pp_status check_alignment(rd *r) {
    gguf_file *f = r->f;
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    const gguf_kv *kv = gguf_find_kv(f, "general.alignment");
    if (!kv) return PP_OK;
    snprintf(r->ctx, sizeof r->ctx, "key 'general.alignment'");
    if (kv->type != GGUF_VTYPE_UINT32)
        return rd_fail(r, PP_ERR_FORMAT, "expected UINT32, got %s", gguf_vtype_name(kv->type));
    uint64_t a = kv->v.u64;
    if (a == 0 || (a & (a - 1)) != 0)
        return rd_fail(r, PP_ERR_FORMAT, "alignment %" PRIu64 " is not a power of two", a);
    f->alignment = (uint32_t)a;
    r->ctx[0] = 0;
    return PP_OK;
}

/* ---- tensor infos ---- */

static pp_status parse_tensor(rd *r, uint64_t idx, gguf_tensor *t) {
    snprintf(r->ctx, sizeof r->ctx, "tensor %" PRIu64, idx);
    pp_status st = rd_str(r, &t->name, "name");
    if (st) return st;
    char shown[GGUF_NAME_SHOWN_MAX + 16];
    gguf_fmt_name(shown, sizeof shown, t->name.ptr, t->name.len);
    snprintf(r->ctx, sizeof r->ctx, "tensor '%s'", shown);
    if (t->name.len >= GGUF_MAX_NAME)
        return rd_fail(r, PP_ERR_FORMAT, "name is %zu bytes, the limit is %d", t->name.len,
                       GGUF_MAX_NAME - 1);
    if ((st = rd_u32(r, &t->n_dims, "n_dims"))) return st;
    if (t->n_dims > GGUF_MAX_DIMS)
        return rd_fail(r, PP_ERR_FORMAT, "%" PRIu32 " dimensions, the limit is %d", t->n_dims,
                       GGUF_MAX_DIMS);
    for (uint32_t j = 0; j < GGUF_MAX_DIMS; j++) t->ne[j] = 1;
    for (uint32_t j = 0; j < t->n_dims; j++) {
        char what[16];
        snprintf(what, sizeof what, "ne[%" PRIu32 "]", j);
        uint64_t ne;
        if ((st = rd_u64(r, &ne, what))) return st;
        if (ne > (uint64_t)INT64_MAX)
            return rd_fail(r, PP_ERR_FORMAT, "ne[%" PRIu32 "] = %" PRId64 " is negative", j,
                           (int64_t)ne);
        if (ne == 0)
            return rd_fail(r, PP_ERR_FORMAT,
                           "ne[%" PRIu32 "] is 0 (empty tensors are not supported)", j);
        t->ne[j] = (int64_t)ne;
    }
    if ((st = rd_u32(r, &t->type, "type"))) return st;
    if ((st = rd_u64(r, &t->offset, "offset"))) return st;

    gguf_ttype_info ti = gguf_ttype_info_get(t->type);
    if (ti.blck == 0)
        return rd_fail(r, PP_ERR_UNSUPPORTED, "type %" PRIu32 " is unknown", t->type);
    /* element count: division-based overflow test before each multiply (spec §6.10) */
    uint64_t n = 1;
    for (int j = 0; j < GGUF_MAX_DIMS; j++) {
        if ((uint64_t)t->ne[j] > (uint64_t)INT64_MAX / n)
            return rd_fail(r, PP_ERR_FORMAT,
                           "element count of [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
                           "] overflows", t->ne[0], t->ne[1], t->ne[2], t->ne[3]);
        n *= (uint64_t)t->ne[j];
    }
    t->n_elements = n;
    if ((uint64_t)t->ne[0] % ti.blck != 0)
        return rd_fail(r, PP_ERR_FORMAT, "ne[0]=%" PRId64 " not a multiple of %" PRIu32 " (%s)",
                       t->ne[0], ti.blck, ti.name);
    uint64_t nbytes = (uint64_t)t->ne[0] / ti.blck * ti.bytes;
    for (int j = 1; j < GGUF_MAX_DIMS; j++) {
        if (!pp_mul_u64(nbytes, (uint64_t)t->ne[j], &nbytes) || nbytes > (uint64_t)SIZE_MAX)
            return rd_fail(r, PP_ERR_FORMAT,
                           "byte size of [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
                           "] %s overflows", t->ne[0], t->ne[1], t->ne[2], t->ne[3], ti.name);
    }
    t->nbytes = nbytes;
    if (t->offset % r->f->alignment != 0)
        return rd_fail(r, PP_ERR_FORMAT,
                       "offset %" PRIu64 " is not a multiple of the alignment %" PRIu32,
                       t->offset, r->f->alignment);
    return PP_OK;
}

static int cmp_by_offset(const void *a, const void *b, void *ctx) {
    const gguf_tensor *ts = ctx;
    uint64_t x = ts[*(const uint64_t *)a].offset, y = ts[*(const uint64_t *)b].offset;
    return x < y ? -1 : x > y;
}

static pp_status parse_tensors(rd *r, gguf_open_params params) {
    gguf_file *f = r->f;
    if (f->n_tensors > rd_left(r) / GGUF_MIN_TENSOR_RECORD)
        return rd_fail(r, PP_ERR_FORMAT,
                       "tensor count %" PRIu64 " does not fit in the %" PRIu64
                       " bytes left after the metadata", f->n_tensors, rd_left(r));
    f->tensors = calloc(f->n_tensors ? f->n_tensors : 1, sizeof *f->tensors);
    if (!f->tensors || hash_alloc(f->n_tensors, &f->t_hash, &f->t_hash_mask))
        return rd_fail(r, PP_ERR_NOMEM, "out of memory for %" PRIu64 " tensors", f->n_tensors);
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        pp_status st = parse_tensor(r, i, t);
        if (st) return st;
        uint64_t slot =
            gguf_hash_slot(f->t_hash, f->t_hash_mask, t->name.ptr, t->name.len, tensor_name_of, f);
        if (f->t_hash[slot])
            return rd_fail(r, PP_ERR_FORMAT, "duplicate tensor name (also tensor %" PRIu64
                           ")", f->t_hash[slot] - 1);
        f->t_hash[slot] = i + 1;
    }
    r->ctx[0] = 0;
    /* data section: next multiple of the alignment (padding may be missing if no tensors) */
    f->data_offset = (r->pos + f->alignment - 1) / f->alignment * f->alignment;

    uint64_t expect = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        char shown[GGUF_NAME_SHOWN_MAX + 16];
        gguf_fmt_name(shown, sizeof shown, t->name.ptr, t->name.len);
        snprintf(r->ctx, sizeof r->ctx, "tensor '%s'", shown);
        uint64_t start, end;
        if (!pp_add_u64(f->data_offset, t->offset, &start) || !pp_add_u64(start, t->nbytes, &end))
            return rd_fail(r, PP_ERR_FORMAT,
                           "data offset %" PRIu64 " + %" PRIu64 " bytes overflows", t->offset,
                           t->nbytes);
        if (end > f->size)
            return rd_fail(r, PP_ERR_FORMAT,
                           "data [%" PRIu64 ", %" PRIu64 ") lies past the end of the file (%"
                           PRIu64 " bytes)", start, end, f->size);
        if (params.strict_offsets && t->offset != expect)
            return rd_fail(r, PP_ERR_FORMAT,
                           "offset %" PRIu64 ", expected %" PRIu64
                           " (tensors must be packed in file order)", t->offset, expect);
        /* cannot overflow: end <= size and the alignment is < 2^32 */
        expect = (t->offset + t->nbytes + f->alignment - 1) / f->alignment * f->alignment;
        t->data = f->buf + start;
    }
    r->ctx[0] = 0;
    if (f->n_tensors > 1) {
        uint64_t *order = malloc(f->n_tensors * sizeof *order);
        if (!order) return rd_fail(r, PP_ERR_NOMEM, "out of memory");
        for (uint64_t i = 0; i < f->n_tensors; i++) order[i] = i;
        qsort_r(order, f->n_tensors, sizeof *order, cmp_by_offset, f->tensors);
        pp_status st = PP_OK;
        for (uint64_t i = 0; i + 1 < f->n_tensors && !st; i++) {
            const gguf_tensor *a = &f->tensors[order[i]], *b = &f->tensors[order[i + 1]];
            if (a->offset + a->nbytes > b->offset) {
                char na[GGUF_NAME_SHOWN_MAX + 16], nb[GGUF_NAME_SHOWN_MAX + 16];
                gguf_fmt_name(na, sizeof na, a->name.ptr, a->name.len);
                gguf_fmt_name(nb, sizeof nb, b->name.ptr, b->name.len);
                uint64_t d = f->data_offset;
                st = rd_fail(r, PP_ERR_FORMAT,
                             "tensor '%s': data [%" PRIu64 ", %" PRIu64
                             ") overlaps tensor '%s' [%" PRIu64 ", %" PRIu64 ")",
                             nb, d + b->offset, d + b->offset + b->nbytes, na, d + a->offset,
                             d + a->offset + a->nbytes);
            }
        }
        free(order);
        if (st) return st;
    }
    return PP_OK;
}

/* ---- open / close ---- */

static pp_status parse(gguf_file *f, gguf_open_params params, pp_err *err) {
    rd r = {.f = f, .pos = 0, .err = err};
    r.ctx[0] = 0;
    if (f->size < 4)
        return rd_fail(&r, PP_ERR_FORMAT, "not a GGUF file (%" PRIu64 " bytes)", f->size);
    uint32_t magic = gguf_le32(f->buf);
    if (magic != GGUF_MAGIC)
        return rd_fail(&r, PP_ERR_FORMAT, "not a GGUF file (magic 0x%08" PRIx32 ")", magic);
    if (f->size < GGUF_HEADER_SIZE)
        return rd_fail(&r, PP_ERR_FORMAT,
                       "not a GGUF file (%" PRIu64 " bytes, the header needs %d)", f->size,
                       GGUF_HEADER_SIZE);
    f->version = gguf_le32(f->buf + 4);
    if (f->version != 0 && (f->version & 0xFFFF) == 0)
        return rd_fail(&r, PP_ERR_FORMAT,
                       "GGUF version 0x%08" PRIx32 " has the wrong endianness (big-endian file?)",
                       f->version);
    if (f->version != 2 && f->version != 3)
        return rd_fail(&r, PP_ERR_UNSUPPORTED, "unsupported GGUF version %" PRIu32, f->version);
    f->n_tensors = gguf_le64(f->buf + 8);
    f->n_kv = gguf_le64(f->buf + 16);
    r.pos = GGUF_HEADER_SIZE;
    uint64_t left = rd_left(&r);
    if (f->n_tensors > left / GGUF_MIN_TENSOR_RECORD)
        return rd_fail(&r, PP_ERR_FORMAT,
                       "tensor count %" PRIu64 " does not fit in the %" PRIu64
                       " bytes after the header", f->n_tensors, left);
    if (f->n_kv > (left - f->n_tensors * GGUF_MIN_TENSOR_RECORD) / GGUF_MIN_KV_RECORD)
        return rd_fail(&r, PP_ERR_FORMAT,
                       "key count %" PRIu64 " does not fit in the %" PRIu64
                       " bytes after the header", f->n_kv, left);
    pp_status st = parse_kvs(&r);
    if (!st) st = check_alignment(&r);
    if (!st) st = parse_tensors(&r, params);
    return st;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static gguf_file *file_new(const char *name) {
    gguf_file *f = calloc(1, sizeof *f);
    if (f) snprintf(f->name, sizeof f->name, "%s", name && *name ? name : "<memory>");
    return f;
}

pp_status gguf_open_mem(const void *buf, size_t size, const char *name, gguf_open_params params,
                        gguf_file **out, pp_err *err) {
    gguf_file *f = file_new(name);
    if (!f) return pp_err_set(err, PP_ERR_NOMEM, "%s: out of memory", name ? name : "<memory>");
    f->buf = buf;
    f->size = size;
    pp_status st = parse(f, params, err);
    if (st) {
        gguf_close(f);
        return st;
    }
    *out = f;
    return PP_OK;
}

pp_status gguf_open_ex(const char *path, gguf_open_params params, gguf_file **out, pp_err *err) {
    const char *name = base_name(path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return pp_err_set(err, PP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st_;
    if (fstat(fd, &st_) != 0) {
        int e = errno;
        close(fd);
        return pp_err_set(err, PP_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st_.st_mode)) {
        close(fd);
        return pp_err_set(err, PP_ERR_IO, "%s: not a regular file", path);
    }
    gguf_file *f = file_new(name);
    if (!f) {
        close(fd);
        return pp_err_set(err, PP_ERR_NOMEM, "%s: out of memory", name);
    }
    static const uint8_t EMPTY[1];
    f->size = (uint64_t)st_.st_size;
    f->buf = EMPTY;
    if (st_.st_size > 0) {
        void *m = mmap(NULL, (size_t)st_.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            close(fd);
            gguf_close(f);
            return pp_err_set(err, PP_ERR_IO, "%s: mmap failed: %s", path, strerror(e));
        }
        f->map = m;
        f->map_len = (size_t)st_.st_size;
        f->buf = m;
    }
    close(fd);
    pp_status st = parse(f, params, err);
    if (st) {
        gguf_close(f);
        return st;
    }
    *out = f;
    return PP_OK;
}

pp_status gguf_open(const char *path, gguf_file **out, pp_err *err) {
    return gguf_open_ex(path, gguf_default_open_params(), out, err);
}

void gguf_close(gguf_file *f) {
    if (!f) return;
    if (f->kvs)
        for (uint64_t i = 0; i < f->n_kv; i++) free((void *)f->kvs[i].arr_str_offsets);
    free(f->kvs);
    free(f->tensors);
    free(f->kv_hash);
    free(f->t_hash);
    if (f->map) munmap(f->map, f->map_len);
    free(f);
}
