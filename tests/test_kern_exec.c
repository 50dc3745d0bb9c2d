/* test_kern_exec.c - the batched matmul executor (src/kernels/kern_exec.h) against the
 * kernels it drives, called directly on one thread: matmuls of up to three weights with
 * different activation formats, packed and unpacked, at 1, 2 and 3 pool threads, bit for
 * bit; the feed-forward block fused and unfused (same bits), the fusion condition, and the
 * Q8_0 hand-off to the down projection. */
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kern_exec.h"

#define N_TOK_MAX 7

typedef struct test_w {
    kern_weight k;
    uint8_t *rows;
} test_w;

static uint64_t rng = 88172645463325252ull;
static float frand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0) * 2.0f - 1.0f;
}

/* A random n_out x n_in weight of type t, repacked when the active ISA has a layout. */
static void make_weight(test_w *w, uint32_t t, int64_t n_in, int64_t n_out, bool pack) {
    pp_err err = {0};
    memset(w, 0, sizeof *w);
    w->k.tt = kern_traits(t);
    w->k.row_bytes = (size_t)quant_row_bytes(t, (uint64_t)n_in);
    w->k.n_in = n_in;
    w->k.n_out = n_out;
    w->rows = malloc(w->k.row_bytes * (size_t)n_out);
    float *row = malloc(sizeof(float) * (size_t)n_in);
    for (int64_t o = 0; o < n_out; o++) {
        for (int64_t i = 0; i < n_in; i++) row[i] = 0.1f * frand();
        PP_ASSERT(quant_quantize_row(t, row, w->rows + (size_t)o * w->k.row_bytes, n_in, &err) == PP_OK);
    }
    free(row);
    w->k.data = w->rows;
    const kern_type_traits *tt = w->k.tt;
    if (pack && tt->pack && n_out % tt->pack_rows == 0) {
        w->k.group_bytes = tt->pack_group_bytes(n_in);
        w->k.packed = malloc(w->k.group_bytes * (size_t)(n_out / tt->pack_rows));
        tt->pack(n_in, w->rows, w->k.row_bytes, 0, n_out / tt->pack_rows, w->k.packed);
    }
}

static void free_weight(test_w *w) {
    free(w->rows);
    free(w->k.packed);
}

/* y = W x on one thread with the weight's own kernels (the executor's reference). */
static void ref_matmul(const kern_weight *w, const float *x, int64_t x_stride, int n_tok, float *y, int64_t y_stride) {
    const kern_type_traits *tt = w->tt;
    const size_t ab = kern_act_row_bytes(tt, w->n_in);
    uint8_t *act = malloc(ab * (size_t)n_tok);
    for (int t = 0; t < n_tok; t++) tt->quantize_act(x + t * x_stride, act + (size_t)t * ab, w->n_in);
    if (w->packed)
        tt->gemm_packed(w->n_in, w->packed, w->group_bytes, act, ab, n_tok, y, y_stride, 0, w->n_out);
    else
        kern_matmul(tt, w->n_in, w->data, w->row_bytes, act, ab, n_tok, y, y_stride, 0, w->n_out);
    free(act);
}

typedef struct exec_fixture {
    pp_pool *pool;
    pp_arena arena;
    kern_exec x;
} exec_fixture;

static bool fixture_init(exec_fixture *f, int n_threads, int64_t max_in, bool no_fuse) {
    pp_err err = {0};
    memset(f, 0, sizeof *f);
    kern_exec_params p = kern_exec_default_params();
    p.max_in = max_in;
    p.max_rows = N_TOK_MAX;
    p.no_fuse = no_fuse;
    if (pp_pool_init(n_threads, &f->pool, &err) || pp_arena_init(&f->arena, kern_exec_arena_bytes(p), &err) ||
        kern_exec_init(&f->x, p, f->pool, &f->arena, &err)) {
        T_CHECK_MSG(0, "%s", err.msg);
        return false;
    }
    return true;
}

static void fixture_free(exec_fixture *f) {
    pp_pool_free(f->pool);
    pp_arena_free(&f->arena);
}

/* Three weights of three activation formats (Q8_0, Q8_K, F32) sharing one input. */
static void test_matmul_mixed(void) {
    const int64_t n_in = 512, n_out[3] = {48, 32, 40};
    const uint32_t types[3] = {GGUF_TTYPE_Q4_0, GGUF_TTYPE_Q4_K, GGUF_TTYPE_F16};
    for (int pack = 0; pack < 2; pack++) {
        test_w w[3];
        for (int i = 0; i < 3; i++) make_weight(&w[i], types[i], n_in, n_out[i], pack);
        const int64_t x_stride = n_in + 5;
        float *x = malloc(sizeof(float) * (size_t)(x_stride * N_TOK_MAX));
        for (int64_t i = 0; i < x_stride * N_TOK_MAX; i++) x[i] = frand();
        for (int n_tok = 1; n_tok <= N_TOK_MAX; n_tok += 3) {
            float *want[3], *got[3];
            int64_t ys[3];
            for (int i = 0; i < 3; i++) {
                ys[i] = n_out[i] + 1;
                want[i] = calloc((size_t)(ys[i] * n_tok), sizeof(float));
                got[i] = calloc((size_t)(ys[i] * n_tok), sizeof(float));
                ref_matmul(&w[i].k, x, x_stride, n_tok, want[i], ys[i]);
            }
            const kern_weight *kw[3] = {&w[0].k, &w[1].k, &w[2].k};
            for (int nt = 1; nt <= 3; nt++) {
                exec_fixture f;
                if (!fixture_init(&f, nt, n_in, false)) return;
                for (int i = 0; i < 3; i++) memset(got[i], 0, sizeof(float) * (size_t)(ys[i] * n_tok));
                kern_exec_matmul(&f.x, n_tok, x, x_stride, 3, kw, got, ys);
                for (int i = 0; i < 3; i++)
                    T_CHECK_MSG(!memcmp(want[i], got[i], sizeof(float) * (size_t)(ys[i] * n_tok)),
                                "%s%s, %d tokens, %d threads: differs from the kernel run alone",
                                quant_type_name(types[i]), w[i].k.packed ? " packed" : "", n_tok, nt);
                fixture_free(&f);
            }
            for (int i = 0; i < 3; i++) free(want[i]), free(got[i]);
        }
        free(x);
        for (int i = 0; i < 3; i++) free_weight(&w[i]);
    }
}

/* The FFN against gate, up, GELU and down run one by one; fused and unfused alike. */
static void test_ffn(void) {
    const int64_t E = 256;
    const uint32_t types[3] = {GGUF_TTYPE_Q4_0, GGUF_TTYPE_Q8_0, GGUF_TTYPE_Q4_K};
    for (int ti = 0; ti < 3; ti++) {
        /* 544 rows: thread shares of whole pack groups are not all whole Q8_0 blocks */
        const int64_t FF = types[ti] == GGUF_TTYPE_Q4_K ? 512 : 544;
        test_w gate, up, down;
        make_weight(&gate, types[ti], E, FF, true);
        make_weight(&up, types[ti], E, FF, true);
        make_weight(&down, types[ti] == GGUF_TTYPE_Q4_K ? GGUF_TTYPE_Q4_K : GGUF_TTYPE_Q4_0, FF, E, true);
        float *x = malloc(sizeof(float) * (size_t)(E * N_TOK_MAX));
        for (int64_t i = 0; i < E * N_TOK_MAX; i++) x[i] = frand();
        for (int n_tok = 1; n_tok <= N_TOK_MAX; n_tok += 5) {
            float *g = malloc(sizeof(float) * (size_t)(FF * n_tok)), *u = malloc(sizeof(float) * (size_t)(FF * n_tok));
            float *want = malloc(sizeof(float) * (size_t)(E * n_tok)), *got = malloc(sizeof(float) * (size_t)(E * n_tok));
            ref_matmul(&gate.k, x, E, n_tok, g, FF);
            ref_matmul(&up.k, x, E, n_tok, u, FF);
            for (int t = 0; t < n_tok; t++) kern_vec()->geglu(g + t * FF, u + t * FF, FF);
            ref_matmul(&down.k, g, FF, n_tok, want, E);
            for (int nf = 0; nf < 2; nf++)
                for (int nt = 1; nt <= 3; nt++) {
                    exec_fixture f;
                    if (!fixture_init(&f, nt, FF > E ? FF : E, nf)) return;
                    const bool fused = kern_exec_ffn_fused(&f.x, &gate.k, &up.k);
                    T_CHECK(fused == (!nf && gate.k.packed && gate.k.tt->gemm_packed_geglu != NULL));
                    memset(got, 0, sizeof(float) * (size_t)(E * n_tok));
                    kern_exec_ffn(&f.x, n_tok, x, E, &gate.k, &up.k, &down.k, g, u, got, E);
                    T_CHECK_MSG(!memcmp(want, got, sizeof(float) * (size_t)(E * n_tok)),
                                "%s FFN (%s), %d tokens, %d threads: differs from its steps run alone",
                                quant_type_name(types[ti]), fused ? "fused" : "unfused", n_tok, nt);
                    fixture_free(&f);
                }
            free(g), free(u), free(want), free(got);
        }
        free(x);
        free_weight(&gate), free_weight(&up), free_weight(&down);
    }
}

/* The fusion condition: both packed alike by a type with the fused kernel, and allowed. */
static void test_fused_condition(void) {
    test_w a, b, c, d;
    make_weight(&a, GGUF_TTYPE_Q4_0, 256, 64, true);
    make_weight(&b, GGUF_TTYPE_Q4_0, 256, 64, true);
    make_weight(&c, GGUF_TTYPE_Q4_0, 256, 64, false);
    make_weight(&d, GGUF_TTYPE_Q8_0, 256, 64, true);
    exec_fixture f;
    if (!fixture_init(&f, 1, 256, false)) return;
    const bool have = a.k.packed && a.k.tt->gemm_packed_geglu;
    if (!have) t_skip("%s has no fused Q4_0 gate/up kernel", kern_isa_name(kern_active_isa()));
    T_CHECK(kern_exec_ffn_fused(&f.x, &a.k, &b.k) == have);
    T_CHECK(!kern_exec_ffn_fused(&f.x, &a.k, &c.k)); /* up not packed */
    T_CHECK(!kern_exec_ffn_fused(&f.x, &a.k, &d.k)); /* other type */
    f.x.p.no_fuse = true;
    T_CHECK(!kern_exec_ffn_fused(&f.x, &a.k, &b.k));
    fixture_free(&f);
    free_weight(&a), free_weight(&b), free_weight(&c), free_weight(&d);
}

int main(void) {
    t_kern_init();
    T_RUN(test_matmul_mixed);
    T_RUN(test_ffn);
    T_RUN(test_fused_condition);
    return t_finish("kern_exec");
}
