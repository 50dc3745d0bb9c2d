/* kern_exec.h - the batched matmul executor: converts a batch of activation rows once per
 * activation format the weights need, then runs up to KERN_EXEC_MAX_W weights' matmuls over
 * a thread pool in one pass, and runs a GeGLU feed-forward block with the fused gate/up
 * kernel when the weights' traits have one. Here, not in the model, live the choices of
 * packed vs unpacked kernel, the row split and the fusion conditions.
 *
 * Usage:
 *     kern_exec_params xp = kern_exec_default_params();
 *     xp.max_in = 6912; xp.max_rows = 256;                  // widest input row, batch rows
 *     pp_arena_init(&arena, kern_exec_arena_bytes(xp) + ..., &err);
 *     kern_exec x;
 *     kern_exec_init(&x, xp, pool, &arena, &err);
 *     const kern_weight *w[3] = {&wq, &wk, &wv};
 *     float *y[3] = {q, k, v};
 *     int64_t ys[3] = {q_dim, kv_dim, kv_dim};
 *     kern_exec_matmul(&x, n_tok, xn, n_embd, 3, w, y, ys);   // y_i = W_i xn, every row
 *     kern_exec_ffn(&x, n_tok, xn, n_embd, &gate, &up, &down, g, u, o, n_embd);
 *
 * Threads (STYLE.md §6): each matmul's output rows are split into contiguous shares, one per
 * pool thread (whole groups of pack_rows rows for a packed weight, whole Q8_0 blocks of 32
 * when the fused kernel writes Q8_0), activation conversion and the GELU into shares of
 * rows; each output element has one writer and a fixed reduction order, so the results do
 * not depend on the thread count. A single row (decode) is converted inline, without a
 * barrier.
 *
 * Thread safety: a kern_exec is driven by one thread at a time (the owner of its pool).
 * Ownership: the pool and every weight are borrowed; the activation buffers come from the
 * arena given to kern_exec_init (freed with it). */
#ifndef PIPPA_KERN_EXEC_H
#define PIPPA_KERN_EXEC_H

#include "kern.h"

#define KERN_EXEC_MAX_W 3

/* A 2-D weight as the kernels run it: n_out rows of n_in elements. */
typedef struct kern_weight {
    const kern_type_traits *tt;
    const void *data;      /* rows in the file's layout (row_bytes apart) */
    size_t row_bytes;
    int64_t n_in, n_out;   /* ne[0], ne[1] */
    void *packed;          /* copy in the ISA's layout (tt->gemm_packed), or NULL; owned by the loader */
    size_t group_bytes;    /* bytes of one packed group of tt->pack_rows rows */
} kern_weight;

/* Activation formats, one converted-rows buffer each. */
typedef enum kern_act {
    KERN_ACT_F32,
    KERN_ACT_Q8_0,
    KERN_ACT_Q8_1,
    KERN_ACT_Q8_K,
    KERN_ACT_COUNT
} kern_act;
/* The buffer a weight's activation format uses. */
kern_act kern_act_of(const kern_type_traits *tt);

typedef struct kern_exec_params {
    int64_t max_in;  /* widest input row (elements) of any call */
    int max_rows;    /* most rows (tokens) of any call */
    bool no_fuse;    /* never the fused gate/up/GELU kernel (A/B timing and tests) */
} kern_exec_params;
kern_exec_params kern_exec_default_params(void); /* all 0 / false: set max_in and max_rows */

typedef struct kern_exec {
    kern_exec_params p;
    pp_pool *pool;                      /* borrowed */
    void *act[KERN_ACT_COUNT];          /* [max_rows] converted rows, act_stride bytes apart */
    size_t act_stride[KERN_ACT_COUNT];
    const kern_vec_ops *vec;
} kern_exec;

/* Arena bytes kern_exec_init takes. */
size_t kern_exec_arena_bytes(kern_exec_params p);
/* Carves the activation buffers from arena (not touched here). */
pp_status kern_exec_init(kern_exec *x, kern_exec_params p, pp_pool *pool, pp_arena *arena, pp_err *err);

/* y[i] rows t (y_stride[i] floats apart) = W_i src row t, for the n_w (<= KERN_EXEC_MAX_W)
 * weights that share the input: n_tok rows of w[0]->n_in floats, src_stride floats apart.
 * n_tok <= max_rows, n_in <= max_in. */
void kern_exec_matmul(const kern_exec *x, int n_tok, const float *src, int64_t src_stride, int n_w,
                      const kern_weight *const *w, float *const *y, const int64_t *y_stride);

/* True if kern_exec_ffn runs gate and up through the fused kernel: both packed alike by a
 * type that has gemm_packed_geglu, and not no_fuse. */
bool kern_exec_ffn_fused(const kern_exec *x, const kern_weight *gate, const kern_weight *up);

/* The GeGLU feed-forward: y = down (geglu(gate src) * up src), for n_tok rows of src (n_embd
 * wide, src_stride apart) into y (y_stride apart). g and u are scratch of n_tok rows of n_ff
 * floats each (u may be left holding down's input as Q8_0 rows). The same bits whether fused
 * or not. */
void kern_exec_ffn(const kern_exec *x, int n_tok, const float *src, int64_t src_stride, const kern_weight *gate,
                   const kern_weight *up, const kern_weight *down, float *g, float *u, float *y, int64_t y_stride);

#endif
