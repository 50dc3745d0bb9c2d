/* test_quant_fx.c - quant module against llama.cpp's fixture files (shared/fixtures).
 *
 * (a) Dequantization of every tensor of every fx.*.gguf matches dequant-ref.json (sum,
 *     sumsq, max_abs, 16 sampled values) within the tolerances of fixtures/README.md §7.
 * (b) Re-quantizing each tensor of fx.f32.gguf to the fixture tensor's type with our
 *     reference quantizer reproduces llama-quantize's bytes; the per-type match counts are
 *     printed ("QUANT-FX ..."). Non-K types must match exactly; a K-quant tensor that differs
 *     must at least reach llama.cpp's error (rel RMSE <= ref * 1.0001).
 *
 * Until the gguf module lands this file carries its own minimal, bounds-checked GGUF header
 * walker, sufficient for these well-formed files (v3, little-endian host). */
#include "test.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant/quant.h"

#define FX_MAX_TENSORS 256

typedef struct fx_tensor {
    char name[GGUF_MAX_NAME];
    uint32_t type;
    int64_t ne[GGUF_MAX_DIMS];
    uint64_t n;
    const uint8_t *data;
    uint64_t nbytes;
} fx_tensor;

typedef struct fx_file {
    char *buf;
    size_t len;
    int n_tensors;
    fx_tensor t[FX_MAX_TENSORS];
} fx_file;

typedef struct rd {
    const uint8_t *p, *end;
    bool bad;
} rd;

static uint64_t rd_u(rd *r, int size) {
    if (r->bad || (size_t)(r->end - r->p) < (size_t)size) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < size; i++) v |= (uint64_t)r->p[i] << (8 * i);
    r->p += size;
    return v;
}

static void rd_skip(rd *r, uint64_t size) {
    if (r->bad || (uint64_t)(r->end - r->p) < size) {
        r->bad = true;
        return;
    }
    r->p += size;
}

static int vtype_size(uint32_t t) {
    static const int sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < 13 ? sz[t] : -1;
}

static void rd_skip_value(rd *r, uint32_t vt, uint32_t *alignment, bool is_align) {
    if (vt == GGUF_VTYPE_STRING) {
        rd_skip(r, rd_u(r, 8));
    } else if (vt == GGUF_VTYPE_ARRAY) {
        uint32_t et = (uint32_t)rd_u(r, 4);
        uint64_t cnt = rd_u(r, 8);
        if (et == GGUF_VTYPE_STRING) {
            for (uint64_t i = 0; i < cnt && !r->bad; i++) rd_skip(r, rd_u(r, 8));
        } else if (vtype_size(et) > 0 && cnt < (1ull << 40)) {
            rd_skip(r, cnt * (uint64_t)vtype_size(et));
        } else {
            r->bad = true;
        }
    } else if (vtype_size(vt) > 0) {
        uint64_t v = rd_u(r, vtype_size(vt));
        if (is_align) *alignment = (uint32_t)v;
    } else {
        r->bad = true;
    }
}

static bool fx_load(const char *path, fx_file *f) {
    pp_err err;
    memset(f, 0, sizeof *f);
    if (pp_read_file(path, &f->buf, &f->len, (size_t)1 << 30, &err) != PP_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return false;
    }
    rd r = {(const uint8_t *)f->buf, (const uint8_t *)f->buf + f->len, false};
    if (rd_u(&r, 4) != 0x46554747u || rd_u(&r, 4) != 3) return false;
    uint64_t n_tensors = rd_u(&r, 8), n_kv = rd_u(&r, 8);
    if (n_tensors > FX_MAX_TENSORS) return false;
    uint32_t alignment = 32;
    for (uint64_t i = 0; i < n_kv && !r.bad; i++) {
        uint64_t klen = rd_u(&r, 8);
        const uint8_t *key = r.p;
        rd_skip(&r, klen);
        uint32_t vt = (uint32_t)rd_u(&r, 4);
        bool is_align = !r.bad && klen == 17 && memcmp(key, "general.alignment", 17) == 0;
        rd_skip_value(&r, vt, &alignment, is_align);
    }
    uint64_t offs[FX_MAX_TENSORS];
    for (uint64_t i = 0; i < n_tensors && !r.bad; i++) {
        fx_tensor *t = &f->t[i];
        uint64_t nlen = rd_u(&r, 8);
        if (nlen >= GGUF_MAX_NAME) return false;
        if (!r.bad && (uint64_t)(r.end - r.p) >= nlen) memcpy(t->name, r.p, nlen);
        rd_skip(&r, nlen);
        uint32_t nd = (uint32_t)rd_u(&r, 4);
        if (nd > GGUF_MAX_DIMS) return false;
        t->n = 1;
        for (int d = 0; d < GGUF_MAX_DIMS; d++) {
            t->ne[d] = d < (int)nd ? (int64_t)rd_u(&r, 8) : 1;
            if (t->ne[d] <= 0 || t->ne[d] > (1 << 30)) return false;
            t->n *= (uint64_t)t->ne[d];
        }
        t->type = (uint32_t)rd_u(&r, 4);
        offs[i] = rd_u(&r, 8);
    }
    if (r.bad || alignment == 0) return false;
    uint64_t pos = (uint64_t)(r.p - (const uint8_t *)f->buf);
    uint64_t data = (pos + alignment - 1) / alignment * alignment;
    for (uint64_t i = 0; i < n_tensors; i++) {
        fx_tensor *t = &f->t[i];
        t->nbytes = quant_row_bytes(t->type, t->n);
        if (t->nbytes == 0 || offs[i] > f->len || data + offs[i] + t->nbytes > f->len) return false;
        t->data = (const uint8_t *)f->buf + data + offs[i];
    }
    f->n_tensors = (int)n_tensors;
    return true;
}

static const fx_tensor *fx_find(const fx_file *f, const char *name) {
    for (int i = 0; i < f->n_tensors; i++)
        if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    return NULL;
}

/* Our quantization of a fx.f32 tensor, cached by (name, type): many files share them. */
typedef struct qcache {
    char name[GGUF_MAX_NAME];
    uint32_t type;
    uint8_t *bytes;
    double rel_rmse;
} qcache;
static qcache g_cache[1024];
static int g_ncache;

static double rel_rmse(const float *q, const float *f, uint64_t n) {
    double num = 0, den = 0;
    for (uint64_t i = 0; i < n; i++) {
        double d = (double)q[i] - (double)f[i];
        num += d * d;
        den += (double)f[i] * (double)f[i];
    }
    return den > 0 ? sqrt(num / den) : 0;
}

static const qcache *quantize_cached(const fx_tensor *src, uint32_t type) {
    for (int i = 0; i < g_ncache; i++)
        if (g_cache[i].type == type && strcmp(g_cache[i].name, src->name) == 0) return &g_cache[i];
    if (g_ncache == (int)(sizeof g_cache / sizeof g_cache[0])) return NULL;
    qcache *c = &g_cache[g_ncache];
    uint64_t bytes = quant_row_bytes(type, src->n);
    c->bytes = malloc(bytes);
    float *deq = malloc(src->n * sizeof(float));
    if (!c->bytes || !deq) {
        free(c->bytes);
        free(deq);
        return NULL;
    }
    pp_err err;
    /* the data of an F32 tensor is 32-aligned in the file, so it is a valid float array */
    const float *x = (const float *)(const void *)src->data;
    pp_status st = quant_quantize_row(type, x, c->bytes, (int64_t)src->n, &err);
    if (st == PP_OK) st = quant_dequantize_row(type, c->bytes, deq, (int64_t)src->n, &err);
    if (st != PP_OK) {
        fprintf(stderr, "%s: %s\n", src->name, err.msg);
        free(c->bytes);
        free(deq);
        return NULL;
    }
    c->rel_rmse = rel_rmse(deq, x, src->n);
    free(deq);
    snprintf(c->name, sizeof c->name, "%s", src->name);
    c->type = type;
    g_ncache++;
    return c;
}

static double jnum(json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

/* per type: tensors compared, byte-identical tensors, identical rows / rows */
static int st_tensors[GGUF_TTYPE_COUNT], st_same[GGUF_TTYPE_COUNT];
static long st_rows[GGUF_TTYPE_COUNT], st_rows_same[GGUF_TTYPE_COUNT];

static void check_tensor(const char *file, const fx_tensor *t, json_t *ref, const fx_file *f32) {
    const char *tn = quant_type_name(t->type);
    T_CHECK_MSG(strcmp(tn, json_string_value(json_object_get(ref, "type"))) == 0,
                "%s %s: type %s", file, t->name, tn);
    T_CHECK_MSG((uint64_t)json_integer_value(json_object_get(ref, "n")) == t->n, "%s %s: n",
                file, t->name);
    float *y = malloc(t->n * sizeof(float));
    if (!y) { T_CHECK(y != NULL); return; }
    pp_err err;
    pp_status st = quant_dequantize_row(t->type, t->data, y, (int64_t)t->n, &err);
    T_CHECK_MSG(st == PP_OK, "%s %s: %s", file, t->name, err.msg);
    if (st != PP_OK) { free(y); return; }
    double sum = 0, sumsq = 0;
    float max_abs = 0;
    for (uint64_t i = 0; i < t->n; i++) {
        sum += y[i];
        sumsq += (double)y[i] * y[i];
        if (fabsf(y[i]) > max_abs) max_abs = fabsf(y[i]);
    }
    double rsum = jnum(ref, "sum"), rsq = jnum(ref, "sumsq");
    T_CHECK_MSG(fabs(sum - rsum) <= 1e-9 * sqrt((double)t->n * rsq) + 1e-300, "%s %s: sum %.17g vs %.17g",
                file, t->name, sum, rsum);
    T_CHECK_MSG(fabs(sumsq - rsq) <= 1e-9 * rsq, "%s %s: sumsq %.17g vs %.17g", file, t->name,
                sumsq, rsq);
    T_CHECK_MSG(max_abs == (float)jnum(ref, "max_abs"), "%s %s: max_abs %.9g vs %.9g", file,
                t->name, max_abs, jnum(ref, "max_abs"));
    json_t *idx = json_object_get(ref, "idx"), *val = json_object_get(ref, "val");
    T_CHECK(json_array_size(idx) == 16 && json_array_size(val) == 16);
    for (size_t k = 0; k < json_array_size(idx); k++) {
        uint64_t i = (uint64_t)json_integer_value(json_array_get(idx, k));
        float want = (float)json_number_value(json_array_get(val, k));
        T_CHECK_MSG(i < t->n && y[i] == want, "%s %s: val[%llu] %.9g vs %.9g", file, t->name,
                    (unsigned long long)i, i < t->n ? y[i] : 0.0f, want);
    }
    free(y);

    /* (b) re-quantization from fx.f32 */
    const fx_tensor *src = fx_find(f32, t->name);
    T_CHECK_MSG(src && src->type == GGUF_TTYPE_F32 && src->n == t->n, "%s %s: no F32 source",
                file, t->name);
    if (!src || src->n != t->n || t->type == GGUF_TTYPE_F32) return;
    const qcache *c = quantize_cached(src, t->type);
    T_CHECK_MSG(c != NULL, "%s %s: quantization failed", file, t->name);
    if (!c) return;
    const uint64_t row_bytes = quant_row_bytes(t->type, (uint64_t)t->ne[0]);
    const uint64_t rows = t->n / (uint64_t)t->ne[0];
    long same_rows = 0;
    for (uint64_t r = 0; r < rows; r++)
        same_rows += memcmp(c->bytes + r * row_bytes, t->data + r * row_bytes, row_bytes) == 0;
    const bool same = same_rows == (long)rows;
    st_tensors[t->type]++;
    st_same[t->type] += same;
    st_rows[t->type] += (long)rows;
    st_rows_same[t->type] += same_rows;
    const bool kquant = t->type >= GGUF_TTYPE_Q2_K && t->type <= GGUF_TTYPE_Q6_K;
    if (kquant) {
        double ref_rmse = jnum(ref, "rel_rmse_vs_f32");
        T_CHECK_MSG(same || c->rel_rmse <= ref_rmse * 1.0001, "%s %s (%s): rel rmse %.9g > llama.cpp %.9g",
                    file, t->name, tn, c->rel_rmse, ref_rmse);
    } else {
        T_CHECK_MSG(same, "%s %s (%s): %ld of %llu rows differ from llama.cpp", file, t->name, tn,
                    (long)rows - same_rows, (unsigned long long)rows);
    }
}

static void test_fixtures(void) {
    const char *dir = t_fixtures_dir();
    if (!dir) {
        t_skip("fixtures directory ../shared/fixtures not found");
        return;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/dequant-ref.json", dir);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    T_CHECK_MSG(root != NULL, "%s: %s", path, jerr.text);
    if (!root) return;
    static fx_file f32, f;
    snprintf(path, sizeof path, "%s/fx.f32.gguf", dir);
    bool ok = fx_load(path, &f32);
    T_CHECK_MSG(ok, "cannot parse %s", path);
    json_t *files = json_object_get(root, "files");
    const char *fname;
    json_t *tensors;
    int n_files = 0, n_tensors = 0;
    json_object_foreach(files, fname, tensors) {
        if (!ok) break;
        snprintf(path, sizeof path, "%s/%s", dir, fname);
        if (!fx_load(path, &f)) {
            T_CHECK_MSG(false, "cannot parse %s", path);
            free(f.buf);
            continue;
        }
        n_files++;
        T_CHECK_MSG((size_t)f.n_tensors == json_object_size(tensors), "%s: %d tensors", fname,
                    f.n_tensors);
        const char *tname;
        json_t *ref;
        json_object_foreach(tensors, tname, ref) {
            const fx_tensor *t = fx_find(&f, tname);
            T_CHECK_MSG(t != NULL, "%s: tensor %s missing", fname, tname);
            if (t) check_tensor(fname, t, ref, &f32);
            n_tensors++;
        }
        free(f.buf);
    }
    printf("QUANT-FX %d files, %d tensors checked against dequant-ref.json\n", n_files, n_tensors);
    for (int ty = 0; ty < GGUF_TTYPE_COUNT; ty++)
        if (st_tensors[ty])
            printf("QUANT-FX requantize %-5s %3d/%3d tensors byte-identical, rows %ld/%ld\n",
                   quant_type_name((uint32_t)ty), st_same[ty], st_tensors[ty], st_rows_same[ty],
                   st_rows[ty]);
    for (int i = 0; i < g_ncache; i++) free(g_cache[i].bytes);
    g_ncache = 0;
    free(f32.buf);
    json_decref(root);
}

int main(void) {
    T_RUN(test_fixtures);
    return t_finish("quant_fx");
}
