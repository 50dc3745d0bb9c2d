/* kern_exec.c - the batched matmul executor (kern_exec.h): activation conversion per format,
 * matmuls of up to three weights in one pool pass with the packed/unpacked choice and the
 * row split, and the feed-forward block with its fusion conditions. */
#include "kern_exec.h"

#include <string.h>

kern_act kern_act_of(const kern_type_traits *tt) {
    switch (tt->act_type) {
    case GGUF_TTYPE_Q8_0: return KERN_ACT_Q8_0;
    case GGUF_TTYPE_Q8_1: return KERN_ACT_Q8_1;
    case GGUF_TTYPE_Q8_K: return KERN_ACT_Q8_K;
    default: return KERN_ACT_F32;
    }
}

kern_exec_params kern_exec_default_params(void) {
    kern_exec_params p = {0, 0, false};
    return p;
}

/* Bytes of one converted row of max_in elements per format (Q8_K: one block of slack). */
static void act_row_bytes(int64_t max_in, size_t out[KERN_ACT_COUNT]) {
    const size_t n = (size_t)max_in;
    out[KERN_ACT_F32] = n * 4;
    out[KERN_ACT_Q8_0] = (n / 32) * sizeof(block_q8_0);
    out[KERN_ACT_Q8_1] = (n / 32) * sizeof(block_q8_1);
    out[KERN_ACT_Q8_K] = (n / 256 + 1) * sizeof(block_q8_K);
}

size_t kern_exec_arena_bytes(kern_exec_params p) {
    size_t rb[KERN_ACT_COUNT], total = 0;
    act_row_bytes(p.max_in, rb);
    for (int a = 0; a < KERN_ACT_COUNT; a++) total += (size_t)p.max_rows * rb[a] + 64;
    return total;
}

pp_status kern_exec_init(kern_exec *x, kern_exec_params p, pp_pool *pool, pp_arena *arena, pp_err *err) {
    memset(x, 0, sizeof *x);
    x->p = p;
    x->pool = pool;
    x->vec = kern_vec();
    act_row_bytes(p.max_in, x->act_stride);
    for (int a = 0; a < KERN_ACT_COUNT; a++) {
        x->act[a] = pp_arena_alloc(arena, (size_t)p.max_rows * x->act_stride[a], 64);
        if (!x->act[a]) return pp_err_set(err, PP_ERR_NOMEM, "matmul executor: the arena is too small");
    }
    return PP_OK;
}

/* ------------------------------------------------------------------------------------------
 * One pool pass. Each op splits its work into contiguous shares (STYLE.md §6). */

typedef enum exec_kind { EXEC_QUANT, EXEC_MATMUL, EXEC_GEGLU } exec_kind;

typedef struct exec_op {
    exec_kind kind;
    const kern_exec *x;
    int n_tok;
    /* EXEC_QUANT: convert src rows (n_in wide, stride src_stride) into the act buffers in mask */
    const float *src;
    int64_t n_in, src_stride;
    unsigned mask;
    /* EXEC_MATMUL: up to 3 weights sharing the input; outputs with their strides */
    const kern_weight *w[KERN_EXEC_MAX_W];
    float *y[KERN_EXEC_MAX_W];
    int64_t y_stride[KERN_EXEC_MAX_W];
    int n_w;
    bool geglu; /* w[0] gate, w[1] up, packed alike: y[0] = geglu(gate) * up (gemm_packed_geglu) */
    void *yq;   /* with geglu: the result only as Q8_0 rows here (stride yq_stride), not in y[0] */
    size_t yq_stride;
    const void *act_in; /* not NULL: the input already converted (Q8_0 rows, stride act_in_stride) */
    size_t act_in_stride;
    /* EXEC_GEGLU: g[t] = geglu(g[t]) * u[t], rows of n_in, stride src_stride */
    float *g;
    const float *u;
} exec_op;

static void op_quant(const exec_op *o, int ith, int nth) {
    const kern_exec *x = o->x;
    int64_t lo, hi;
    pp_split(o->n_tok, ith, nth, &lo, &hi);
    for (int a = 0; a < KERN_ACT_COUNT; a++) {
        if (!(o->mask & (1u << a))) continue;
        /* any traits entry with this act format converts the same way */
        static const uint32_t rep[KERN_ACT_COUNT] = {GGUF_TTYPE_F32, GGUF_TTYPE_Q8_0, GGUF_TTYPE_Q4_1, GGUF_TTYPE_Q4_K};
        const kern_type_traits *tt = kern_traits(rep[a]);
        for (int64_t t = lo; t < hi; t++)
            tt->quantize_act(o->src + t * o->src_stride, (uint8_t *)x->act[a] + (size_t)t * x->act_stride[a], o->n_in);
    }
}

static void op_matmul(const exec_op *o, int ith, int nth) {
    const kern_exec *x = o->x;
    if (o->geglu) {
        const kern_weight *g = o->w[0], *u = o->w[1];
        const int64_t pr = o->yq ? 32 : g->tt->pack_rows; /* Q8_0 output: whole blocks per thread */
        const kern_act a = kern_act_of(g->tt);
        int64_t lo, hi;
        pp_split(g->n_out / pr, ith, nth, &lo, &hi);
        if (hi > lo)
            g->tt->gemm_packed_geglu(g->n_in, g->packed, u->packed, g->group_bytes, x->act[a], x->act_stride[a],
                                     o->n_tok, o->y[0], o->y_stride[0], lo * pr, hi * pr, o->yq, o->yq_stride);
        return;
    }
    for (int i = 0; i < o->n_w; i++) {
        const kern_weight *w = o->w[i];
        int64_t lo, hi;
        const kern_act a = kern_act_of(w->tt);
        const void *act = o->act_in ? o->act_in : x->act[a];
        const size_t act_stride = o->act_in ? o->act_in_stride : x->act_stride[a];
        if (w->packed) { /* whole groups of rows per thread */
            const int64_t pr = w->tt->pack_rows;
            pp_split(w->n_out / pr, ith, nth, &lo, &hi);
            if (hi > lo)
                w->tt->gemm_packed(w->n_in, w->packed, w->group_bytes, act, act_stride, o->n_tok, o->y[i],
                                   o->y_stride[i], lo * pr, hi * pr);
            continue;
        }
        pp_split(w->n_out, ith, nth, &lo, &hi);
        kern_matmul(w->tt, w->n_in, w->data, w->row_bytes, act, act_stride, o->n_tok, o->y[i], o->y_stride[i], lo,
                    hi);
    }
}

static void op_geglu(const exec_op *o, int ith, int nth) {
    int64_t lo, hi;
    pp_split(o->n_tok, ith, nth, &lo, &hi);
    for (int64_t t = lo; t < hi; t++) o->x->vec->geglu(o->g + t * o->src_stride, o->u + t * o->src_stride, o->n_in);
}

static void op_run(void *ctx, int ith, int nth) {
    const exec_op *o = ctx;
    switch (o->kind) {
    case EXEC_QUANT: op_quant(o, ith, nth); break;
    case EXEC_MATMUL: op_matmul(o, ith, nth); break;
    case EXEC_GEGLU: op_geglu(o, ith, nth); break;
    }
}

/* Converts rows of src for the given weights, then runs the weights' matmuls in one pass;
 * with geglu, w are the FFN gate and up, fused into y[0] = geglu(gate) * up, or with yq into
 * Q8_0 rows at yq instead. src NULL: the input is already Q8_0 rows at q8_in. */
static void matmuls_q(const kern_exec *x, int n_tok, const float *src, int64_t src_stride, int n_w,
                      const kern_weight *const *w, float *const *y, const int64_t *y_stride, bool geglu, void *yq,
                      const void *q8_in) {
    PP_ASSERT(n_w >= 1 && n_w <= KERN_EXEC_MAX_W && n_tok <= x->p.max_rows);
    exec_op o;
    memset(&o, 0, sizeof o);
    o.x = x;
    o.n_tok = n_tok;
    if (src) {
        PP_ASSERT(w[0]->n_in <= x->p.max_in);
        o.kind = EXEC_QUANT;
        o.src = src;
        o.src_stride = src_stride;
        o.n_in = w[0]->n_in;
        for (int i = 0; i < n_w; i++) o.mask |= 1u << kern_act_of(w[i]->tt);
        if (n_tok == 1) op_quant(&o, 0, 1); /* decode: one row, no barrier */
        else pp_pool_run(x->pool, op_run, &o);
    } else {
        for (int i = 0; i < n_w; i++) PP_ASSERT(kern_act_of(w[i]->tt) == KERN_ACT_Q8_0);
        o.act_in = q8_in;
        o.act_in_stride = x->act_stride[KERN_ACT_Q8_0];
    }
    o.kind = EXEC_MATMUL;
    o.n_w = n_w;
    o.geglu = geglu;
    o.yq = yq;
    o.yq_stride = x->act_stride[KERN_ACT_Q8_0];
    for (int i = 0; i < n_w; i++) {
        o.w[i] = w[i];
        o.y[i] = y[i];
        o.y_stride[i] = y_stride[i];
    }
    pp_pool_run(x->pool, op_run, &o);
}

void kern_exec_matmul(const kern_exec *x, int n_tok, const float *src, int64_t src_stride, int n_w,
                      const kern_weight *const *w, float *const *y, const int64_t *y_stride) {
    matmuls_q(x, n_tok, src, src_stride, n_w, w, y, y_stride, false, NULL, NULL);
}

bool kern_exec_ffn_fused(const kern_exec *x, const kern_weight *gate, const kern_weight *up) {
    return gate->packed && up->packed && gate->tt == up->tt && gate->tt->gemm_packed_geglu &&
           gate->group_bytes == up->group_bytes && gate->n_out == up->n_out && !x->p.no_fuse;
}

void kern_exec_ffn(const kern_exec *x, int n_tok, const float *src, int64_t src_stride, const kern_weight *gate,
                   const kern_weight *up, const kern_weight *down, float *g, float *u, float *y, int64_t y_stride) {
    const int64_t FF = gate->n_out;
    const kern_weight *gu[2] = {gate, up};
    float *gu_y[2] = {g, u};
    const int64_t gu_stride[2] = {FF, FF};
    /* gate and up packed alike with a fused kernel: the GELU product in the same pass, and
     * when the down projection takes Q8_0 rows, written as those (into the unused u) */
    const bool fused = kern_exec_ffn_fused(x, gate, up);
    const bool q8_down = fused && FF % 32 == 0 && kern_act_of(down->tt) == KERN_ACT_Q8_0 &&
                         x->act_stride[KERN_ACT_Q8_0] <= (size_t)FF * sizeof(float); /* fits u's rows */
    matmuls_q(x, n_tok, src, src_stride, 2, gu, gu_y, gu_stride, fused, q8_down ? (void *)u : NULL, NULL);
    if (!fused) {
        exec_op o;
        memset(&o, 0, sizeof o);
        o.kind = EXEC_GEGLU;
        o.x = x;
        o.n_tok = n_tok;
        o.g = g;
        o.u = u;
        o.n_in = FF;
        o.src_stride = FF;
        if (n_tok == 1) op_geglu(&o, 0, 1); /* decode: no barrier */
        else pp_pool_run(x->pool, op_run, &o);
    }
    const kern_weight *dw[1] = {down};
    float *dy[1] = {y};
    const int64_t ds[1] = {y_stride};
    if (q8_down) matmuls_q(x, n_tok, NULL, 0, 1, dw, dy, ds, false, NULL, u);
    else matmuls_q(x, n_tok, g, FF, 1, dw, dy, ds, false, NULL, NULL);
}
