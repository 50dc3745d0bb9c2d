/* quantize_file.c - convert a whole GGUF file to an ftype (what `pippa quantize` runs).
 *
 * quant_plan_init decides every tensor's type (recipe.c) in llama.cpp's tensor order;
 * quant_plan_write writes the file through gguf_writer, streaming each converted tensor in
 * chunks of rows: a chunk is dequantized/converted to f32 one row at a time per thread,
 * checked for NaN/Inf, quantized with the reference quantizers into a chunk buffer and
 * handed to the writer. Copied tensors go from the input mapping to the file directly.
 *
 * Invariants: the bytes do not depend on the thread count or chunk size (every row is
 * quantized independently, exactly as llama.cpp's ggml_quantize_chunk does without an
 * importance matrix); when several rows are bad the lowest one is reported; memory is
 * O(chunk + threads * row), independent of the model size; file I/O only via gguf_writer.
 * ref: shared/spec/quant-formats.md §4, §7-9; shared/fixtures/README.md §2.4;
 * llama.cpp src/llama-quant.cpp (llama_model_quantize_impl).
 */
#include "quant.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUANT_COPY_CHUNK (64u << 20) /* progress granularity of copied tensors */

struct quant_plan {
    const gguf_file *in;
    quant_file_params params;
    quant_recipe recipe;
    quant_plan_entry *e;
    uint64_t n;
    uint64_t n_requant;
};

quant_file_params quant_file_default_params(void) {
    return (quant_file_params){.recipe = quant_recipe_default_params()};
}

uint64_t quant_plan_count(const quant_plan *plan) { return plan->n; }
const quant_plan_entry *quant_plan_at(const quant_plan *plan, uint64_t i) {
    PP_ASSERT(i < plan->n);
    return &plan->e[i];
}
void quant_plan_set_progress(quant_plan *plan, quant_progress_fn fn, void *ctx) {
    plan->params.progress = fn;
    plan->params.progress_ctx = ctx;
}
uint64_t quant_plan_n_requant(const quant_plan *plan) { return plan->n_requant; }
int quant_plan_n_fallback(const quant_plan *plan) { return plan->recipe.n_fallback; }

void quant_plan_free(quant_plan *plan) {
    if (!plan) return;
    free(plan->e);
    free(plan);
}

/* An integer KV (scalar, or the first element of a per-layer array); false if absent. */
static bool kv_int(const gguf_file *f, const char *arch, const char *suffix, int64_t *out) {
    char key[256];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) return false;
    switch (kv->type) {
    case GGUF_VTYPE_UINT8: case GGUF_VTYPE_UINT16: case GGUF_VTYPE_UINT32:
    case GGUF_VTYPE_UINT64:
        *out = kv->v.u64 > INT32_MAX ? INT32_MAX : (int64_t)kv->v.u64;
        return true;
    case GGUF_VTYPE_INT8: case GGUF_VTYPE_INT16: case GGUF_VTYPE_INT32: case GGUF_VTYPE_INT64:
        *out = kv->v.i64;
        return true;
    case GGUF_VTYPE_ARRAY:
        if (kv->arr_count == 0 || gguf_vtype_size(kv->arr_type) == 0 ||
            kv->arr_type == GGUF_VTYPE_FLOAT32 || kv->arr_type == GGUF_VTYPE_FLOAT64 ||
            kv->arr_type == GGUF_VTYPE_BOOL)
            return false;
        *out = gguf_arr_i64(kv, 0);
        return true;
    default:
        return false;
    }
}

/* n_layer and n_gqa as llama.cpp's hparams give them (block_count, head_count /
 * head_count_kv, where a missing head_count_kv means n_head). */
static void model_shape(const gguf_file *f, const quant_plan_entry *e, uint64_t n,
                        int *n_layer, int *n_gqa) {
    char arch[64] = "";
    const gguf_kv *kv = gguf_find_kv(f, "general.architecture");
    if (kv && kv->type == GGUF_VTYPE_STRING && kv->v.str.len < sizeof arch) {
        memcpy(arch, kv->v.str.ptr, kv->v.str.len);
        arch[kv->v.str.len] = 0;
    }
    int64_t v;
    if (arch[0] && kv_int(f, arch, "block_count", &v) && v >= 0 && v <= INT32_MAX) {
        *n_layer = (int)v;
    } else { /* no hparams: count the ffn_down tensors */
        int c = 0;
        for (uint64_t i = 0; i < n; i++) c += strstr(e[i].name, "ffn_down") != NULL;
        *n_layer = c;
    }
    int64_t head = 0, head_kv;
    *n_gqa = 0;
    if (arch[0] && kv_int(f, arch, "attention.head_count", &head) && head > 0) {
        if (!kv_int(f, arch, "attention.head_count_kv", &head_kv)) head_kv = head;
        if (head_kv > 0) *n_gqa = (int)(head / head_kv > INT32_MAX ? INT32_MAX : head / head_kv);
    }
}

static int entry_cmp(const void *a, const void *b) {
    return quant_tensor_order_cmp(((const quant_plan_entry *)a)->name,
                                  ((const quant_plan_entry *)b)->name);
}

static bool is_float_type(uint32_t t) {
    return t == GGUF_TTYPE_F32 || t == GGUF_TTYPE_F16 || t == GGUF_TTYPE_BF16;
}

static pp_status check_user_type(int32_t t, const char *what, pp_err *err) {
    if (t < 0 || quant_type_is_target((uint32_t)t)) return PP_OK;
    return pp_err_set(err, PP_ERR_ARG, "%s: type %s cannot be written (valid: F32, F16, BF16, "
                      "Q8_0, Q6_K, Q5_K, Q5_1, Q5_0, Q4_K, Q4_1, Q4_0, Q3_K, Q2_K)", what,
                      quant_type_name((uint32_t)t));
}

pp_status quant_plan_init(const gguf_file *in, quant_file_params params, quant_plan **out,
                          pp_err *err) {
    const char *fname = gguf_name(in);
    if (!strcmp(quant_ftype_name(params.recipe.ftype), "?"))
        return pp_err_set(err, PP_ERR_ARG, "file type %d is not supported (valid: %s)",
                          (int)params.recipe.ftype, quant_ftype_list());
    pp_status st = check_user_type(params.recipe.token_embd_type, "token embedding", err);
    if (!st) st = check_user_type(params.recipe.output_type, "output tensor", err);
    if (st) return st;

    quant_plan *p = calloc(1, sizeof *p);
    uint64_t n = gguf_n_tensors(in);
    if (!p || (n && !(p->e = calloc((size_t)n, sizeof *p->e)))) {
        quant_plan_free(p);
        return pp_err_set(err, PP_ERR_NOMEM, "%s: out of memory for %" PRIu64 " tensors", fname, n);
    }
    p->in = in;
    p->params = params;
    p->n = n;
    for (uint64_t i = 0; i < n; i++) {
        const gguf_tensor *t = gguf_tensor_at(in, i);
        quant_plan_entry *e = &p->e[i];
        e->src = t;
        if (t->name.len >= sizeof e->name || memchr(t->name.ptr, 0, t->name.len)) {
            quant_plan_free(p);
            return pp_err_set(err, PP_ERR_FORMAT, "%s: tensor %" PRIu64 ": name contains a NUL "
                              "byte", fname, i);
        }
        memcpy(e->name, t->name.ptr, t->name.len);
        e->name[t->name.len] = 0;
        e->n_dims = 1;
        for (uint32_t j = 1; j < t->n_dims; j++)
            if (t->ne[j] > 1) e->n_dims = j + 1;
    }
    qsort(p->e, (size_t)n, sizeof *p->e, entry_cmp);

    int n_layer, n_gqa;
    model_shape(in, p->e, n, &n_layer, &n_gqa);
    quant_recipe_init(&p->recipe, params.recipe, n_layer, n_gqa);
    for (uint64_t i = 0; i < n; i++) quant_recipe_observe(&p->recipe, p->e[i].name);

    for (uint64_t i = 0; i < n; i++) {
        quant_plan_entry *e = &p->e[i];
        const gguf_tensor *t = e->src;
        e->dst_type = quant_recipe_tensor_type(&p->recipe, e->name, t->type, t->n_dims, t->ne);
        if (t->n_elements == 0) e->dst_type = t->type; /* empty: nothing to convert */
        e->convert = e->dst_type != t->type;
        e->dst_bytes = t->nbytes;
        if (!e->convert) continue;
        if (!quant_type_supported(t->type)) {
            st = pp_err_set(err, PP_ERR_UNSUPPORTED, "%s: tensor '%s': cannot convert %s to %s: "
                            "%s is not supported", fname, e->name, quant_type_name(t->type),
                            quant_type_name(e->dst_type), quant_type_name(t->type));
            break;
        }
        if (!is_float_type(t->type)) {
            if (!params.allow_requantize) {
                st = pp_err_set(err, PP_ERR_ARG, "%s: tensor '%s' is already %s; converting it "
                                "to %s would requantize it (lossy): use --allow-requantize",
                                fname, e->name, quant_type_name(t->type),
                                quant_type_name(e->dst_type));
                break;
            }
            p->n_requant++;
        }
        uint64_t row = quant_row_bytes(e->dst_type, (uint64_t)t->ne[0]);
        if (row == 0 || !pp_mul_u64(row, t->n_elements / (uint64_t)t->ne[0], &e->dst_bytes)) {
            st = pp_err_set(err, PP_ERR_INTERNAL, "%s: tensor '%s': no row size for %s", fname,
                            e->name, quant_type_name(e->dst_type));
            break;
        }
    }
    if (st) {
        quant_plan_free(p);
        return st;
    }
    *out = p;
    return PP_OK;
}

/* ---- writing ---- */

typedef struct row_err {
    int64_t row; /* INT64_MAX: none */
    int64_t col;
    float value;
    pp_err err;
} row_err;

typedef struct write_ctx {
    quant_plan *plan;
    pp_pool *pool;
    uint8_t *chunk;     /* output rows of the current chunk */
    size_t chunk_cap;
    float **scratch;    /* per thread: one f32 row */
    size_t scratch_len; /* floats per scratch row */
    row_err *errs;      /* per thread */
    /* current job */
    const quant_plan_entry *e;
    int64_t row0, nrows;
    bool cancelled;
} write_ctx;

static void convert_rows(void *vctx, int ith, int nth) {
    write_ctx *c = vctx;
    const quant_plan_entry *e = c->e;
    const gguf_tensor *t = e->src;
    const int64_t ne0 = t->ne[0];
    const uint64_t src_row = quant_row_bytes(t->type, (uint64_t)ne0);
    const uint64_t dst_row = quant_row_bytes(e->dst_type, (uint64_t)ne0);
    row_err *re = &c->errs[ith];
    int64_t lo, hi;
    pp_split(c->nrows, ith, nth, &lo, &hi);
    float *x = c->scratch[ith];
    for (int64_t r = lo; r < hi; r++) {
        const int64_t row = c->row0 + r;
        const uint8_t *src = (const uint8_t *)t->data + (uint64_t)row * src_row;
        if (quant_dequantize_row(t->type, src, x, ne0, &re->err)) {
            re->row = row;
            re->col = -1;
            return;
        }
        for (int64_t j = 0; j < ne0; j++) {
            if (!isfinite(x[j])) {
                re->row = row;
                re->col = j;
                re->value = x[j];
                return;
            }
        }
        if (quant_quantize_row(e->dst_type, x, c->chunk + (uint64_t)r * dst_row, ne0, &re->err)) {
            re->row = row;
            re->col = -1;
            return;
        }
    }
}

static bool report(write_ctx *c, uint64_t index, int64_t rows_done, int64_t rows) {
    const quant_file_params *pp = &c->plan->params;
    if (!pp->progress) return true;
    const quant_plan_entry *e = c->e;
    quant_progress pr = {
        .index = index, .count = c->plan->n, .name = e->name, .src_type = e->src->type,
        .dst_type = e->dst_type, .n_dims = e->n_dims, .ne = e->src->ne,
        .src_bytes = e->src->nbytes, .dst_bytes = e->dst_bytes, .rows_done = (uint64_t)rows_done,
        .rows = (uint64_t)rows, .converted = e->convert,
    };
    if (pp->progress(pp->progress_ctx, &pr)) return true;
    c->cancelled = true;
    return false;
}

static pp_status cancelled(pp_err *err) {
    return pp_err_set(err, PP_ERR_CANCELLED, "quantization cancelled");
}

static pp_status write_tensor(void *vctx, uint64_t index, gguf_sink *sink, pp_err *err) {
    write_ctx *c = vctx;
    const quant_plan_entry *e = &c->plan->e[index];
    const gguf_tensor *t = e->src;
    const char *fname = gguf_name(c->plan->in);
    c->e = e;
    const int64_t rows = t->ne[0] ? (int64_t)(t->n_elements / (uint64_t)t->ne[0]) : 0;
    if (!e->convert) {
        const uint8_t *p = t->data;
        for (uint64_t off = 0; off < t->nbytes;) {
            uint64_t k = t->nbytes - off < QUANT_COPY_CHUNK ? t->nbytes - off : QUANT_COPY_CHUNK;
            pp_status st = gguf_sink_write(sink, p + off, k, err);
            if (st) return st;
            off += k;
            int64_t done = off == t->nbytes ? rows : (int64_t)(off * (uint64_t)rows / t->nbytes);
            if (!report(c, index, done, rows)) return cancelled(err);
        }
        if (t->nbytes == 0 && !report(c, index, rows, rows)) return cancelled(err);
        return PP_OK;
    }
    const uint64_t dst_row = e->dst_bytes / (uint64_t)rows;
    int64_t per = (int64_t)(c->chunk_cap / dst_row);
    if (per < 1) per = 1;
    for (int64_t r0 = 0; r0 < rows; r0 += per) {
        c->row0 = r0;
        c->nrows = rows - r0 < per ? rows - r0 : per;
        const int nth = pp_pool_size(c->pool);
        for (int i = 0; i < nth; i++) c->errs[i].row = INT64_MAX;
        pp_pool_run(c->pool, convert_rows, c);
        const row_err *bad = NULL;
        for (int i = 0; i < nth; i++)
            if (c->errs[i].row != INT64_MAX && (!bad || c->errs[i].row < bad->row)) bad = &c->errs[i];
        if (bad && bad->col >= 0) {
            uint64_t el = (uint64_t)bad->row * (uint64_t)t->ne[0] + (uint64_t)bad->col;
            return pp_err_set(err, PP_ERR_FORMAT, "%s: tensor '%s': non-finite value (%s) at "
                              "element %" PRIu64 " (row %" PRId64 ", column %" PRId64 ")", fname,
                              e->name, isnan(bad->value) ? "nan" : bad->value > 0 ? "inf" : "-inf",
                              el, bad->row, bad->col);
        }
        if (bad)
            return pp_err_set(err, bad->err.status, "%s: tensor '%s': row %" PRId64 ": %s", fname,
                              e->name, bad->row, bad->err.msg);
        pp_status st = gguf_sink_write(sink, c->chunk, (uint64_t)c->nrows * dst_row, err);
        if (st) return st;
        if (!report(c, index, r0 + c->nrows, rows)) return cancelled(err);
    }
    return PP_OK;
}

static pp_status build_writer(quant_plan *plan, write_ctx *c, gguf_writer *w, pp_err *err) {
    const quant_file_params *pp = &plan->params;
    gguf_writer_copy_kvs(w, plan->in);
    gguf_writer_remove(w, "split.no");
    gguf_writer_remove(w, "split.count");
    gguf_writer_remove(w, "split.tensors.count");
    /* llama.cpp's gguf_set_val_* removes the key and appends it */
    gguf_writer_remove(w, "general.quantization_version");
    gguf_writer_set_u32(w, "general.quantization_version", 2);
    gguf_writer_remove(w, "general.file_type");
    gguf_writer_set_u32(w, "general.file_type", (uint32_t)pp->recipe.ftype);
    for (uint64_t i = 0; i < plan->n; i++) {
        const quant_plan_entry *e = &plan->e[i];
        gguf_writer_add_tensor_stream(w, e->name, e->n_dims, e->src->ne, e->dst_type,
                                      e->dst_bytes, write_tensor, c);
    }
    const char *msg = gguf_writer_error(w);
    if (msg) return pp_err_set(err, PP_ERR_INTERNAL, "%s", msg);
    return PP_OK;
}

pp_status quant_plan_write(quant_plan *plan, const char *out_path, quant_file_stats *stats,
                           pp_err *err) {
    const quant_file_params *pp = &plan->params;
    int nth = pp->n_threads > 0 ? pp->n_threads : pp_cpu_count();
    if (nth < 1) nth = 1;
    write_ctx c = {.plan = plan, .chunk_cap = QUANT_CHUNK_BYTES};
    gguf_writer *w = NULL;
    pp_status st = pp_pool_init(nth, &c.pool, err);
    if (st) return st;
    nth = pp_pool_size(c.pool);
    /* buffers: the largest converted row decides the scratch and the minimum chunk */
    uint64_t max_ne0 = 0, max_dst_row = 0;
    for (uint64_t i = 0; i < plan->n; i++) {
        const quant_plan_entry *e = &plan->e[i];
        if (!e->convert) continue;
        uint64_t ne0 = (uint64_t)e->src->ne[0];
        uint64_t rows = e->src->n_elements / ne0;
        if (ne0 > max_ne0) max_ne0 = ne0;
        if (e->dst_bytes / rows > max_dst_row) max_dst_row = e->dst_bytes / rows;
    }
    if (max_dst_row > c.chunk_cap) c.chunk_cap = (size_t)max_dst_row;
    c.scratch_len = (size_t)max_ne0;
    c.errs = calloc((size_t)nth, sizeof *c.errs);
    c.scratch = calloc((size_t)nth, sizeof *c.scratch);
    c.chunk = max_ne0 ? malloc(c.chunk_cap) : NULL;
    bool oom = !c.errs || !c.scratch || (max_ne0 && !c.chunk) ||
               max_ne0 > SIZE_MAX / sizeof(float);
    for (int i = 0; i < nth && !oom; i++) {
        c.scratch[i] = malloc(c.scratch_len ? c.scratch_len * sizeof(float) : 1);
        oom = !c.scratch[i];
    }
    if (oom) {
        st = pp_err_set(err, PP_ERR_NOMEM, "quantize: out of memory for the row buffers");
        goto done;
    }
    st = gguf_writer_init(&w, err);
    if (!st) st = build_writer(plan, &c, w, err);
    if (!st) st = gguf_writer_write(w, out_path, err);
    if (!st && stats) {
        *stats = (quant_file_stats){.n_tensors = plan->n};
        for (uint64_t i = 0; i < plan->n; i++) {
            stats->n_converted += plan->e[i].convert;
            stats->src_bytes += plan->e[i].src->nbytes;
            stats->dst_bytes += plan->e[i].dst_bytes;
        }
    }
done:
    gguf_writer_free(w);
    if (c.scratch)
        for (int i = 0; i < nth; i++) free(c.scratch[i]);
    free(c.scratch);
    free(c.errs);
    free(c.chunk);
    pp_pool_free(c.pool);
    return st;
}
