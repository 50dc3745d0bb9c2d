/* test_kernels.c - every kernel table the CPU supports against kern_traits_generic.
 *
 * For each ISA (generic, avx2, avx512; an ISA the CPU lacks prints SKIP and why) and each
 * weight type, on odd sizes (1, 3 and 17 blocks; rows not a multiple of the tile; n_tok 1, 3,
 * 5, 8, 13) and edge data (all-zero blocks, max-magnitude f16 scales, raw random quant bits
 * incl. -128, extreme activations, negative zero):
 *   - activation quantizers: byte-identical to generic (also on ties, inf and FLT_MAX);
 *   - vec_dot: |got - generic| <= tol(type) * S, S = sum |w_i * a_i| over the dequantized
 *     operands (for formats with a min, the scale and min terms are counted separately:
 *     S = sum |d*sc*q*a| + sum |m*a|, since that is what the float arithmetic rounds);
 *   - gemm: every element equals the ISA's own vec_dot exactly (the kernels compute each
 *     element with the same instruction sequence in every tile, which is what makes logits
 *     independent of the thread count), and rows outside [r0, r1) are left untouched.
 * Tolerance table (relative to S): integer-sum formats 1e-5 (exact block sums; only the f32
 * accumulation order differs from generic's double), float weights 1e-5 plus n * 2^-24
 * (f32 fma chains over n/8 steps). Also: kern_init(KERN_ISA_GENERIC) selects generic, and
 * kern_isa_parse (PIPPA_KERNELS, --kernels) accepts the ISA names and nothing else. */
#include "test.h"

#include <float.h>
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "kernels/kern.h"
#include "kernels/kern_pack.h"

static const uint32_t TYPES[] = {GGUF_TTYPE_F32,  GGUF_TTYPE_F16,  GGUF_TTYPE_BF16, GGUF_TTYPE_Q4_0,
                                 GGUF_TTYPE_Q4_1, GGUF_TTYPE_Q5_0, GGUF_TTYPE_Q5_1, GGUF_TTYPE_Q8_0,
                                 GGUF_TTYPE_Q2_K, GGUF_TTYPE_Q3_K, GGUF_TTYPE_Q4_K, GGUF_TTYPE_Q5_K,
                                 GGUF_TTYPE_Q6_K};
#define N_TYPES_T (sizeof TYPES / sizeof TYPES[0])
#define ROWS 7
#define MAX_TOK 13

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}
static float frnd(void) { return (float)((rnd() & 0xFFFFFF) / 8388608.0 - 1.0); } /* [-1, 1) */

static bool is_float_type(uint32_t t) {
    return t == GGUF_TTYPE_F32 || t == GGUF_TTYPE_F16 || t == GGUF_TTYPE_BF16;
}

static double tol_rel(uint32_t t, int64_t n) {
    return is_float_type(t) ? 1e-5 + (double)n / 16777216.0 : 1e-5;
}

/* byte offsets of the f16 scale (d) and min-scale (m/dmin; -1 if none) fields */
static void scale_fields(uint32_t t, int *d_off, int *m_off) {
    *m_off = -1;
    switch (t) {
    case GGUF_TTYPE_Q4_1: case GGUF_TTYPE_Q5_1: *d_off = 0; *m_off = 2; break;
    case GGUF_TTYPE_Q2_K: *d_off = 80; *m_off = 82; break;
    case GGUF_TTYPE_Q3_K: *d_off = 108; break;
    case GGUF_TTYPE_Q4_K: case GGUF_TTYPE_Q5_K: *d_off = 0; *m_off = 2; break;
    case GGUF_TTYPE_Q6_K: *d_off = 208; break;
    default: *d_off = 0; break;
    }
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/* Random weight rows: raw random bits for the quants, random finite scales; row 1 starts
 * with an all-zero block, row 2's second block (or first) has max-magnitude scales. */
static void fill_weights_n(uint32_t t, uint8_t *w, size_t row_bytes, int64_t n, int rows) {
    for (size_t i = 0; i < row_bytes * (size_t)rows; i++) w[i] = (uint8_t)rnd();
    if (t == GGUF_TTYPE_F32) {
        for (int64_t i = 0; i < n * rows; i++) {
            float v = frnd() * 2.0f;
            if (i % 11 == 3) v = -0.0f;
            memcpy(w + 4 * i, &v, 4);
        }
        return;
    }
    if (t == GGUF_TTYPE_F16 || t == GGUF_TTYPE_BF16) {
        for (int64_t i = 0; i < n * rows; i++) {
            float v = frnd() * 2.0f;
            uint16_t h = t == GGUF_TTYPE_F16 ? pp_f32_to_f16(v) : pp_f32_to_bf16(v);
            if (i % 11 == 3) h = 0x8000; /* -0 */
            if (i % 97 == 5) h = t == GGUF_TTYPE_F16 ? 0x7BFF : 0x4F00; /* f16 max finite; bf16 2^31 */
            put16(w + 2 * i, h);
        }
        return;
    }
    const uint32_t bs = quant_block_size(t), bb = quant_block_bytes(t);
    const int64_t nb = n / bs;
    int d_off, m_off;
    scale_fields(t, &d_off, &m_off);
    for (int r = 0; r < rows; r++) {
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *blk = w + (size_t)r * row_bytes + (size_t)b * bb;
            put16(blk + d_off, pp_f32_to_f16(frnd() * 0.01f));
            if (m_off >= 0) put16(blk + m_off, pp_f32_to_f16(frnd() * 0.01f));
        }
    }
    memset(w + row_bytes, 0, bb); /* row 1: zero block */
    uint8_t *mx = w + 2 * row_bytes + (nb > 1 ? bb : 0);
    put16(mx + d_off, 0x7BFF);
    if (m_off >= 0) put16(mx + m_off, 0xFBFF);
}
static void fill_weights(uint32_t t, uint8_t *w, size_t row_bytes, int64_t n) { fill_weights_n(t, w, row_bytes, n, ROWS); }

/* Activations: random, an all-zero block, negative zeros, extremes of the format's range. */
static void fill_acts(uint32_t t, float *x, int64_t n, int n_tok) {
    const float big = t == GGUF_TTYPE_F32 || t == GGUF_TTYPE_F16 || t == GGUF_TTYPE_BF16 ? 1e20f
                      : quant_block_size(t) == 256                                       ? 1e20f
                                                                                          : 1e3f;
    for (int tk = 0; tk < n_tok; tk++) {
        float *v = x + (int64_t)tk * n;
        for (int64_t i = 0; i < n; i++) v[i] = frnd() * 3.0f;
        const int64_t blk = n >= 64 ? 32 : n / 2;
        if (tk % 3 == 1) memset(v, 0, (size_t)blk * sizeof *v); /* zero block */
        if (tk % 3 == 2)
            for (int64_t i = 0; i < blk; i++) v[i] = -0.0f;
        if (tk == 4 || tk == 8) {
            for (int64_t i = 0; i < n; i += 7) v[i] = (i & 8) ? big : -big;
            v[n - 1] = 1e-40f; /* subnormal */
        }
    }
}

/* S = sum |w*a| with the scale and min parts of the weight counted separately. */
static double abs_scale(uint32_t t, const uint8_t *wrow, const void *act, int64_t n) {
    float *wd = malloc((size_t)n * sizeof *wd), *wm = malloc((size_t)n * sizeof *wm),
          *a = malloc((size_t)n * sizeof *a);
    const kern_type_traits *g = kern_traits_generic(t);
    pp_err err = {0};
    if (g->act_type == GGUF_TTYPE_F32) memcpy(a, act, (size_t)n * sizeof *a);
    else PP_ASSERT(quant_dequantize_row(g->act_type, act, a, n, &err) == PP_OK);
    int d_off = 0, m_off = -1;
    size_t rb = quant_row_bytes(t, (uint64_t)n);
    uint8_t *c = malloc(rb);
    memcpy(c, wrow, rb);
    memset(wm, 0, (size_t)n * sizeof *wm);
    if (!is_float_type(t)) {
        scale_fields(t, &d_off, &m_off);
        const uint32_t bb = quant_block_bytes(t);
        if (m_off >= 0) {
            for (size_t b = 0; b < rb / bb; b++) put16(c + b * bb + m_off, 0);
            uint8_t *c2 = malloc(rb);
            memcpy(c2, wrow, rb);
            for (size_t b = 0; b < rb / bb; b++) put16(c2 + b * bb + d_off, 0);
            PP_ASSERT(quant_dequantize_row(t, c2, wm, n, &err) == PP_OK);
            free(c2);
        }
    }
    PP_ASSERT(quant_dequantize_row(t, c, wd, n, &err) == PP_OK);
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += fabs((double)wd[i] * a[i]) + fabs((double)wm[i] * a[i]);
    /* Q4_1/Q5_1: the min term is m * s with s = d_a * sum(q_a) stored as f16 */
    free(wd), free(wm), free(a), free(c);
    return s;
}

static int isa_skip(kern_isa isa) {
    if (kern_isa_available(isa)) return 0;
    t_skip("%s: CPU lacks the ISA (or not an x86-64 build)", kern_isa_name(isa));
    return 1;
}

/* ---- quantizers ---- */

static void check_quantizers(kern_isa isa) {
    static const uint32_t reps[] = {GGUF_TTYPE_Q8_0, GGUF_TTYPE_Q4_1, GGUF_TTYPE_Q4_K};
    const int64_t n = 17 * 256;
    float *x = malloc((size_t)n * sizeof *x);
    uint8_t *a = malloc(n * 2), *b = malloc(n * 2);
    for (int rep = 0; rep < 3; rep++) {
        const kern_type_traits *tt = kern_traits_isa(isa, reps[rep]), *g = kern_traits_generic(reps[rep]);
        for (int pass = 0; pass < 6; pass++) {
            for (int64_t i = 0; i < n; i++) x[i] = frnd() * (pass == 0 ? 1.0f : pass == 1 ? 1e-3f : 50.0f);
            if (pass == 2) { /* exact ties: amax 127 (Q8_0/Q8_1) and max -127 (Q8_K) */
                for (int64_t i = 0; i < n; i++) x[i] = (float)((int)(rnd() % 255) - 127) * 0.5f;
                for (int64_t i = 0; i < n; i += 32) x[i] = (i / 32) % 2 ? 127.0f : -127.0f;
            }
            if (pass == 3) { /* zero blocks, negative zeros, subnormals */
                memset(x, 0, 256 * sizeof *x);
                for (int64_t i = 256; i < 512; i++) x[i] = -0.0f;
                for (int64_t i = 512; i < 768; i++) x[i] = (i & 1) ? 1e-40f : -3e-42f;
            }
            if (pass == 4) /* extremes */
                for (int64_t i = 0; i < n; i += 5) x[i] = (i & 16) ? FLT_MAX : -FLT_MAX;
            if (pass == 5) /* infinities and first-wins max ties */
                for (int64_t i = 0; i < n; i += 37) x[i] = (i & 64) ? INFINITY : (i & 32) ? -5.0f : 5.0f;
            for (int64_t len = g->act_blck; len <= n; len = len == g->act_blck ? 3 * len : n) {
                const size_t nb = kern_act_row_bytes(g, len);
                memset(a, 0xA5, nb);
                memset(b, 0x5A, nb);
                g->quantize_act(x, a, len);
                tt->quantize_act(x, b, len);
                size_t first = nb;
                for (size_t i = 0; i < nb; i++)
                    if (a[i] != b[i]) { first = i; break; }
                T_CHECK_MSG(first == nb, "%s act for %s pass %d n %lld: byte %zu differs (%02x vs %02x)",
                            kern_isa_name(isa), quant_type_name(reps[rep]), pass, (long long)len, first,
                            first < nb ? a[first] : 0, first < nb ? b[first] : 0);
                if (len == n) break;
            }
        }
    }
    free(x), free(a), free(b);
}

/* ---- vec_dot and gemm ---- */

static void check_type(kern_isa isa, uint32_t t, int64_t n) {
    const kern_type_traits *tt = kern_traits_isa(isa, t), *g = kern_traits_generic(t);
    T_CHECK_MSG(tt != NULL, "%s has no kernel for %s", kern_isa_name(isa), quant_type_name(t));
    if (!tt) return;
    const size_t rb = quant_row_bytes(t, (uint64_t)n), ab = kern_act_row_bytes(g, n);
    uint8_t *w = malloc(rb * ROWS), *act = malloc(ab * MAX_TOK);
    float *x = malloc((size_t)n * MAX_TOK * sizeof *x), *y = malloc(sizeof(float) * ROWS * (MAX_TOK + 1) * 2);
    fill_weights(t, w, rb, n);
    fill_acts(t, x, n, MAX_TOK);
    for (int tk = 0; tk < MAX_TOK; tk++) g->quantize_act(x + (int64_t)tk * n, act + (size_t)tk * ab, n);
    double worst = 0;
    for (int r = 0; r < ROWS; r++)
        for (int tk = 0; tk < MAX_TOK; tk++) {
            const uint8_t *wr = w + (size_t)r * rb, *ar = act + (size_t)tk * ab;
            float ref = g->vec_dot(n, wr, ar), got = tt->vec_dot(n, wr, ar);
            double s = abs_scale(t, wr, ar, n), err = fabs((double)got - ref);
            double lim = tol_rel(t, n) * s + 1e-37;
            if (s > 0 && err / s > worst) worst = err / s;
            T_CHECK_MSG(err <= lim, "%s %s n %lld row %d tok %d: got %.9g want %.9g (err %.3g, S %.3g)",
                        kern_isa_name(isa), quant_type_name(t), (long long)n, r, tk, got, ref, err, s);
        }
    static const int toks[] = {1, 3, 5, 8, 13};
    for (int k = 0; k < 5; k++) {
        const int nt = toks[k];
        const int64_t ys = ROWS + 1 + k; /* a stride that is not the row count */
        for (int range = 0; range < 3; range++) {
            const int64_t r0 = range == 1 ? 1 : range == 2 ? 2 : 0, r1 = range == 2 ? 3 : ROWS;
            for (int64_t i = 0; i < ys * nt; i++) y[i] = -12345.0f;
            kern_matmul(tt, n, w, rb, act, ab, nt, y, ys, r0, r1);
            int bad = 0;
            for (int tk = 0; tk < nt; tk++)
                for (int64_t o = 0; o < ys; o++) {
                    float want = o >= r0 && o < r1 ? tt->vec_dot(n, w + (size_t)o * rb, act + (size_t)tk * ab) : -12345.0f;
                    float got = y[tk * ys + o];
                    if (memcmp(&want, &got, sizeof got) != 0 && bad++ < 3)
                        T_CHECK_MSG(0, "%s %s gemm n %lld n_tok %d rows [%lld,%lld) y[%d][%lld] = %.9g, vec_dot %.9g",
                                    kern_isa_name(isa), quant_type_name(t), (long long)n, nt, (long long)r0,
                                    (long long)r1, tk, (long long)o, got, want);
                }
        }
    }
    if (getenv("PIPPA_TEST_VERBOSE"))
        printf("%s %-5s n %5lld: worst |err|/S %.3g\n", kern_isa_name(isa), quant_type_name(t), (long long)n, worst);
    free(w), free(act), free(x), free(y);
}

static void check_isa(kern_isa isa) {
    for (size_t i = 0; i < N_TYPES_T; i++) {
        const uint32_t t = TYPES[i];
        const int64_t bs = is_float_type(t) ? 32 : kern_traits_generic(t)->act_blck;
        const int64_t sizes[] = {bs, 3 * bs, 17 * bs, 37, 5};
        for (int s = 0; s < (is_float_type(t) ? 5 : 3); s++) check_type(isa, t, sizes[s]);
    }
}

/* Float weights: decode (1-2 tokens) runs tiles of up to 8 rows (AVX-512), several tokens go
 * through a converted-panel path that splits rows into 1024-element panels and tokens into
 * groups of 96: a row of 2 panels and a ragged tail, 1, 2 and 101 tokens, and a row range of
 * 18 rows that starts and ends inside a tile. Every output must equal vec_dot's bit for bit,
 * and vec_dot the reference within tolerance. */
static void check_float_long(kern_isa isa) {
    enum { MAXT = 101, NR = 21 };
    const int64_t n = 2 * 1024 + 13, r0 = 1, r1 = 19;
    const uint32_t types[] = {GGUF_TTYPE_F32, GGUF_TTYPE_F16, GGUF_TTYPE_BF16};
    const int ntoks[] = {1, 2, MAXT};
    for (int k = 0; k < 3; k++) {
        const uint32_t t = types[k];
        const kern_type_traits *tt = kern_traits_isa(isa, t), *g = kern_traits_generic(t);
        const size_t rb = quant_row_bytes(t, (uint64_t)n), ab = (size_t)n * sizeof(float);
        uint8_t *w = malloc(rb * NR);
        float *x = malloc(ab * MAXT), *y = malloc(sizeof(float) * NR * MAXT);
        fill_weights_n(t, w, rb, n, NR);
        fill_acts(t, x, n, MAXT);
        for (int q = 0; q < 3; q++) {
            const int NT = ntoks[q];
            for (int64_t i = 0; i < NR * NT; i++) y[i] = -12345.0f;
            kern_matmul(tt, n, w, rb, x, ab, NT, y, NR, r0, r1);
            int bad = 0;
            for (int tk = 0; tk < NT; tk++)
                for (int64_t o = 0; o < NR; o++) {
                    const float *a = x + (int64_t)tk * n;
                    const float want = o >= r0 && o < r1 ? tt->vec_dot(n, w + (size_t)o * rb, a) : -12345.0f;
                    const float got = y[tk * NR + o];
                    if (memcmp(&want, &got, sizeof got) != 0 && bad++ < 3)
                        T_CHECK_MSG(0, "%s %s gemm n %lld n_tok %d y[%d][%lld] = %.9g, vec_dot %.9g",
                                    kern_isa_name(isa), quant_type_name(t), (long long)n, NT, tk, (long long)o, got,
                                    want);
                    if (o < r0 || o >= r1) continue;
                    const double ref = g->vec_dot(n, w + (size_t)o * rb, a),
                                 s = abs_scale(t, w + (size_t)o * rb, a, n);
                    T_CHECK_MSG(fabs((double)got - ref) <= tol_rel(t, n) * s + 1e-37,
                                "%s %s n %lld tok %d row %lld: got %.9g want %.9g", kern_isa_name(isa),
                                quant_type_name(t), (long long)n, tk, (long long)o, got, ref);
                }
        }
        free(w), free(x), free(y);
    }
}

/* attn_qk and attn_pv of an ISA against generic, with f16 and f32 rows: 1 to 6 heads (a
 * partial 4-head tile), 1, 5 and 64 value rows. Every head's result must also be bit-identical
 * to a call with that head alone (the model relies on it: how heads are grouped into jobs
 * depends on the thread count), and attn_pv with m rows to m calls with one row each. */
static void check_attn(kern_isa isa, int64_t n, const float *x, const uint16_t *h, const float *yf) {
    const kern_vec_ops *g = kern_vec_generic(), *v = kern_vec_isa(isa);
    enum { NH = 6, M = 64 };
    float *q = malloc(sizeof(float) * NH * (size_t)n), *rf = malloc(sizeof(float) * M * (size_t)n);
    uint16_t *rh = malloc(sizeof(uint16_t) * M * (size_t)n);
    float *o1 = malloc(sizeof(float) * NH * (size_t)n), *o2 = malloc(sizeof(float) * NH * (size_t)n),
          *o3 = malloc(sizeof(float) * NH * (size_t)n);
    float p[NH * M];
    for (int64_t i = 0; i < NH * n; i++) q[i] = x[i % n] * (1.0f + 0.1f * (float)(i / n));
    for (int64_t i = 0; i < M * n; i++) {
        rh[i] = h[(i * 7) % n];
        rf[i] = yf[(i * 5) % n] * (i % 3 ? 1.0f : -0.5f);
    }
    for (int i = 0; i < NH * M; i++) p[i] = (float)((i * 37) % 101) / 101.0f;
    const void *rows[2][M];
    for (int j = 0; j < M; j++) rows[0][j] = rf + (size_t)j * n, rows[1][j] = rh + (size_t)j * n;
    for (int f16 = 0; f16 < 2; f16++)
        for (int nh = 1; nh <= NH; nh++) {
            float s1[NH], s2[NH], s3;
            g->attn_qk(n, nh, q, n, rows[f16][3], f16, s1, 1);
            v->attn_qk(n, nh, q, n, rows[f16][3], f16, s2, 1);
            for (int hh = 0; hh < nh; hh++) {
                double sabs = 0;
                for (int64_t i = 0; i < n; i++)
                    sabs += fabs(q[hh * n + i] * (f16 ? pp_f16_to_f32(rh[3 * n + i]) : rf[3 * n + i]));
                T_CHECK_MSG(fabs((double)s1[hh] - s2[hh]) <= 1e-6 * sabs + 1e-30, "%s attn_qk n=%lld nh=%d f16=%d: %g vs %g",
                            kern_isa_name(isa), (long long)n, nh, f16, s1[hh], s2[hh]);
                v->attn_qk(n, 1, q + hh * n, n, rows[f16][3], f16, &s3, 1);
                T_CHECK_MSG(!memcmp(&s3, &s2[hh], sizeof s3), "%s attn_qk n=%lld nh=%d head %d alone differs",
                            kern_isa_name(isa), (long long)n, nh, hh);
            }
            static const int MS[] = {1, 5, M};
            for (int mi = 0; mi < 3; mi++) {
                const int m = MS[mi];
                for (int64_t i = 0; i < nh * n; i++) o1[i] = o2[i] = o3[i] = x[i % n];
                g->attn_pv(n, m, nh, p, M, rows[f16], f16, o1, n);
                v->attn_pv(n, m, nh, p, M, rows[f16], f16, o2, n);
                for (int hh = 0; hh < nh; hh++)
                    for (int j = 0; j < m; j++) v->attn_pv(n, 1, 1, p + hh * M + j, M, &rows[f16][j], f16, o3 + hh * n, n);
                double dmax = 0, scale = 1;
                for (int64_t i = 0; i < nh * n; i++) dmax = fmax(dmax, fabs(o1[i] - o2[i])), scale = fmax(scale, fabs(o1[i]));
                T_CHECK_MSG(dmax <= 1e-5 * scale, "%s attn_pv n=%lld m=%d nh=%d f16=%d: %g", kern_isa_name(isa),
                            (long long)n, m, nh, f16, dmax);
                T_CHECK_MSG(!memcmp(o2, o3, sizeof(float) * (size_t)(nh * n)),
                            "%s attn_pv n=%lld m=%d nh=%d f16=%d differs from one row and head at a time",
                            kern_isa_name(isa), (long long)n, m, nh, f16);
            }
        }
    free(q), free(rf), free(rh), free(o1), free(o2), free(o3);
}

/* kern_vec_ops of an ISA against generic: f32->f16 byte-identical; attention/exp_sum/geglu
 * within float rounding on odd lengths, zero and extreme data. */
static void check_vec(kern_isa isa) {
    const kern_vec_ops *g = kern_vec_generic(), *v = kern_vec_isa(isa);
    static const int64_t NS[] = {1, 7, 8, 16, 33, 64, 256, 1000};
    for (size_t ni = 0; ni < sizeof NS / sizeof NS[0]; ni++) {
        int64_t n = NS[ni];
        float x[1000], y[1000], a[1000], b[1000];
        uint16_t h[1000], h2[1000];
        for (int64_t i = 0; i < n; i++) {
            x[i] = frnd() * (i % 17 == 0 ? 60000.0f : 4.0f);
            y[i] = frnd() * 3.0f;
        }
        if (n > 3) x[1] = -0.0f, x[2] = 1e-9f, x[3] = 65519.0f;
        g->f32_to_f16(x, h, n);
        v->f32_to_f16(x, h2, n);
        T_CHECK_MSG(!memcmp(h, h2, (size_t)n * 2), "%s f32_to_f16 n=%lld", kern_isa_name(isa), (long long)n);
        for (int64_t i = 0; i < n; i++) x[i] = frnd() * 4.0f;
        g->f32_to_f16(y, h, n);
        check_attn(isa, n, x, h, y);
        for (int64_t i = 0; i < n; i++) a[i] = b[i] = -fabsf(x[i]) * 20.0f; /* softmax inputs <= 0 ... */
        if (n > 2) a[1] = b[1] = -200.0f;                                  /* ... incl. underflow */
        double s1 = g->exp_sum(a, n, 0.0f), s2 = v->exp_sum(b, n, 0.0f);
        double dmax = 0;
        for (int64_t i = 0; i < n; i++) dmax = fmax(dmax, fabs(a[i] - b[i]) / fmax(a[i], 1e-30));
        T_CHECK_MSG(fabs(s1 - s2) <= 1e-6 * s1 && dmax <= 1e-6, "%s exp_sum n=%lld: %g %g", kern_isa_name(isa),
                    (long long)n, fabs(s1 - s2), dmax);
        for (int64_t i = 0; i < n; i++) a[i] = b[i] = x[i] * (i % 5 == 0 ? 5.0f : 1.0f);
        if (n > 3) a[0] = b[0] = -30.0f, a[2] = b[2] = 30.0f, a[3] = b[3] = 0.0f;
        float xin[1000];
        memcpy(xin, a, sizeof xin);
        g->geglu(a, y, n);
        v->geglu(b, y, n);
        dmax = 0; /* error relative to |x*u|: gelu(x) is within [-0.17, 1] x */
        for (int64_t i = 0; i < n; i++) dmax = fmax(dmax, fabs(a[i] - b[i]) / (fabs(xin[i] * y[i]) + 1e-20));
        T_CHECK_MSG(dmax <= 1e-5, "%s geglu n=%lld: rel %g", kern_isa_name(isa), (long long)n, dmax);
        /* sumsq: the same bits as generic (fixed order), and within double rounding of a
         * plain sum of the f32 squares */
        for (int64_t i = 0; i < n; i++) a[i] = x[i] * (i % 7 == 0 ? 1e3f : 1.0f);
        if (n > 2) a[1] = 1.8e19f, a[2] = -1e-30f; /* a square near FLT_MAX, one that underflows */
        const double q1 = g->sumsq(a, n), q2 = v->sumsq(a, n);
        double qr = 0;
        for (int64_t i = 0; i < n; i++) qr += (double)(a[i] * a[i]);
        T_CHECK_MSG(!memcmp(&q1, &q2, sizeof q1) && fabs(q1 - qr) <= 1e-12 * qr, "%s sumsq n=%lld: %.17g %.17g %.17g",
                    kern_isa_name(isa), (long long)n, q1, q2, qr);
        { /* scale_mul: the same bits as generic, with and without w, in place too */
            float r1[1000], r2[1000];
            g->scale_mul(r1, x, 0.3f, y, n);
            v->scale_mul(r2, x, 0.3f, y, n);
            T_CHECK_MSG(!memcmp(r1, r2, sizeof(float) * (size_t)n), "%s scale_mul n=%lld", kern_isa_name(isa), (long long)n);
            g->scale_mul(r1, x, 1.7f, NULL, n);
            memcpy(r2, x, sizeof(float) * (size_t)n);
            v->scale_mul(r2, r2, 1.7f, NULL, n);
            T_CHECK_MSG(!memcmp(r1, r2, sizeof(float) * (size_t)n), "%s scale_mul in place n=%lld", kern_isa_name(isa),
                        (long long)n);
        }
        /* lane 0 large, so whether an element joins it or another lane changes the rounding */
        for (int64_t i = 0; i < n; i++) a[i] = i % 16 == 0 ? 1.1e8f : 1.0f + 0.1f * frnd();
        const double r1 = g->sumsq(a, n), r2 = v->sumsq(a, n);
        T_CHECK_MSG(!memcmp(&r1, &r2, sizeof r1), "%s sumsq order n=%lld: %.17g %.17g", kern_isa_name(isa), (long long)n,
                    r1, r2);
    }
}

/* Repacked weights: pack + gemm_packed against the generic vec_dot (1, 3, 5 and 17 groups of
 * the type's pack_rows, 8 or 16: odd group counts; 1, 3 and 17 blocks, and rows of 4096
 * elements with 17 groups so the drivers' L2-sized row chunks (256 KiB of packed weights) end
 * inside the range; 1..64 tokens; row
 * ranges of whole groups, untouched rows outside; unpack_row gives back every original row
 * byte for byte). Edge data beyond fill_weights/fill_acts (zero blocks, max-magnitude scales,
 * negative mins): the last row's first block has every quant bit set (Q6_K: scales -128),
 * and two tokens are all +-127 after quantization, so the integer sums reach their bounds.
 * Every token's outputs in a batch of 64 equal, bit for bit, its outputs alone (decode). */
#define PACK_MAX_TOK 64
static void check_packed(kern_isa isa) {
    int n_checked = 0;
    for (size_t i = 0; i < N_TYPES_T; i++) {
        const uint32_t t = TYPES[i];
        const kern_type_traits *tt = kern_traits_isa(isa, t), *g = kern_traits_generic(t);
        if (!tt || !tt->pack) continue;
        static const int64_t NBLK[] = {1, 3, 17, 0}, NGROUPS[] = {3, 1, 5, 17};
        for (size_t ni = 0; ni < 4; ni++) {
            /* float weights (act_blck 1): 4097, an odd row over several of the F16 kernel's chunks */
            const int64_t n = NBLK[ni] ? NBLK[ni] * g->act_blck : 4096 + (g->act_blck == 1),
                          rows = NGROUPS[ni] * tt->pack_rows;
            const size_t rb = quant_row_bytes(t, (uint64_t)n), ab = kern_act_row_bytes(g, n);
            const size_t gb = tt->pack_group_bytes(n);
            uint8_t *w = malloc(rb * (size_t)(rows + ROWS)), *pk = malloc(gb * (size_t)(rows / tt->pack_rows));
            uint8_t *act = malloc(ab * PACK_MAX_TOK);
            float *x = malloc((size_t)n * PACK_MAX_TOK * sizeof *x);
            float *y = malloc(sizeof(float) * (size_t)(rows + 3) * PACK_MAX_TOK);
            double *want = malloc(sizeof(double) * (size_t)rows * PACK_MAX_TOK * 2), *lim = want + rows * PACK_MAX_TOK;
            for (int64_t r = 0; r < rows; r += ROWS) fill_weights(t, w + (size_t)r * rb, rb, n); /* ROWS rows each */
            {
                uint8_t *blk = w + (size_t)(rows - 1) * rb;
                int d_off, m_off;
                scale_fields(t, &d_off, &m_off);
                memset(blk, 0xFF, quant_block_bytes(t));
                if (t == GGUF_TTYPE_Q6_K) memset(blk + offsetof(block_q6_K, scales), 0x80, 16);
                put16(blk + d_off, pp_f32_to_f16(0.5f));
                if (m_off >= 0) put16(blk + m_off, pp_f32_to_f16(-0.25f));
            }
            fill_acts(t, x, n, PACK_MAX_TOK);
            for (int64_t e = 0; e < n; e++) {
                x[6 * n + e] = -2.5f;                /* all -127 */
                x[7 * n + e] = e % 2 ? -2.5f : 2.5f; /* +-127 */
            }
            for (int tk = 0; tk < PACK_MAX_TOK; tk++)
                g->quantize_act(x + (int64_t)tk * n, act + (size_t)tk * ab, n);
            for (int64_t o = 0; o < rows; o++)
                for (int tk = 0; tk < PACK_MAX_TOK; tk++) {
                    const uint8_t *wr = w + (size_t)o * rb, *ar = act + (size_t)tk * ab;
                    want[o * PACK_MAX_TOK + tk] = g->vec_dot(n, wr, ar);
                    lim[o * PACK_MAX_TOK + tk] = tol_rel(t, n) * abs_scale(t, wr, ar, n) + 1e-37;
                }
            T_CHECK(tt->pack_rows == 8 || tt->pack_rows == 16);
            tt->pack(n, w, rb, 0, rows / tt->pack_rows, pk);
            T_CHECK_MSG(tt->unpack_row != NULL, "%s packed %s has no unpack_row", kern_isa_name(isa), quant_type_name(t));
            for (int64_t o = 0; o < rows && tt->unpack_row; o++) { /* the exact inverse of pack */
                uint8_t *un = malloc(rb);
                memset(un, 0xA5, rb);
                tt->unpack_row(n, pk, gb, o, un);
                T_CHECK_MSG(!memcmp(un, w + (size_t)o * rb, rb), "%s unpack_row %s n %lld row %lld differs from the original",
                            kern_isa_name(isa), quant_type_name(t), (long long)n, (long long)o);
                free(un);
            }
            static const int toks[] = {1, 2, 3, 4, 5, 13, 17, 64};
            for (size_t k = 0; k < sizeof toks / sizeof toks[0]; k++) {
                const int nt = toks[k];
                const int64_t ys = rows + 3, r0 = rows > 2 * (int64_t)tt->pack_rows ? tt->pack_rows : 0, r1 = rows;
                for (int64_t e = 0; e < ys * nt; e++) y[e] = -12345.0f;
                tt->gemm_packed(n, pk, gb, act, ab, nt, y, ys, r0, r1);
                int bad = 0;
                for (int tk = 0; tk < nt; tk++)
                    for (int64_t o = 0; o < ys; o++) {
                        float got = y[tk * ys + o];
                        if (o < r0 || o >= r1) {
                            T_CHECK_MSG(got == -12345.0f, "%s packed %s wrote row %lld outside [%lld, %lld)",
                                        kern_isa_name(isa), quant_type_name(t), (long long)o, (long long)r0, (long long)r1);
                            continue;
                        }
                        const double wv = want[o * PACK_MAX_TOK + tk];
                        const bool ok = fabs(got - wv) <= lim[o * PACK_MAX_TOK + tk];
                        if (!ok && bad++ < 3)
                            T_CHECK_MSG(ok, "%s packed %s n %lld tok %d/%d row %lld: got %.9g want %.9g",
                                        kern_isa_name(isa), quant_type_name(t), (long long)n, tk, nt, (long long)o,
                                        got, wv);
                    }
            }
            { /* a token's outputs do not depend on the batch: 64 tokens at once equal each alone */
                const int nt = PACK_MAX_TOK;
                const int64_t ys = rows;
                float *one = malloc(sizeof(float) * (size_t)rows);
                tt->gemm_packed(n, pk, gb, act, ab, nt, y, ys, 0, rows);
                int bad = 0;
                for (int tk = 0; tk < nt; tk++) {
                    tt->gemm_packed(n, pk, gb, act + (size_t)tk * ab, ab, 1, one, ys, 0, rows);
                    for (int64_t o = 0; o < rows; o++)
                        if (memcmp(&one[o], &y[tk * ys + o], sizeof(float)) && bad++ < 3)
                            T_CHECK_MSG(0, "%s packed %s n %lld tok %d row %lld: %.9g in a batch of %d, %.9g alone",
                                        kern_isa_name(isa), quant_type_name(t), (long long)n, tk, (long long)o,
                                        y[tk * ys + o], nt, one[o]);
                }
                free(one);
            }
            if (tt->gemm_packed_geglu) { /* fused gate/up: gemm_packed of both then the ISA's geglu, bit for bit */
                const kern_vec_ops *vo = kern_vec_isa(isa);
                uint8_t *pk2 = malloc(gb * (size_t)(rows / tt->pack_rows));
                tt->pack(n, w + rb, rb, 0, rows / tt->pack_rows, pk2); /* the up weight: rows shifted by one */
                const int64_t ys = rows + 3, r0 = rows > 2 * (int64_t)tt->pack_rows ? tt->pack_rows : 0, r1 = rows;
                float *yu = malloc(sizeof(float) * (size_t)ys * PACK_MAX_TOK);
                static const int ftoks[] = {1, 3, 8, 13, 64};
                for (size_t k = 0; k < sizeof ftoks / sizeof ftoks[0]; k++) {
                    const int nt = ftoks[k];
                    tt->gemm_packed(n, pk, gb, act, ab, nt, y, ys, r0, r1);
                    tt->gemm_packed(n, pk2, gb, act, ab, nt, yu, ys, r0, r1);
                    for (int tk = 0; tk < nt; tk++) vo->geglu(y + tk * ys + r0, yu + tk * ys + r0, r1 - r0);
                    for (int64_t e = 0; e < ys * nt; e++) yu[e] = -12345.0f;
                    tt->gemm_packed_geglu(n, pk, pk2, gb, act, ab, nt, yu, ys, r0, r1, NULL, 0);
                    int bad = 0;
                    for (int tk = 0; tk < nt; tk++)
                        for (int64_t o = 0; o < ys; o++) {
                            const bool in = o >= r0 && o < r1;
                            const float got = yu[tk * ys + o];
                            if ((in ? memcmp(&got, &y[tk * ys + o], sizeof got) != 0 : got != -12345.0f) && bad++ < 3)
                                T_CHECK_MSG(0, "%s packed geglu %s n %lld tok %d/%d row %lld: %.9g, unfused %.9g",
                                            kern_isa_name(isa), quant_type_name(t), (long long)n, tk, nt, (long long)o,
                                            got, in ? y[tk * ys + o] : -12345.0f);
                        }
                }
                /* Q8_0 output (row ranges of whole blocks): the active quantizer's bytes of the
                 * unfused result, nothing written outside the range's blocks */
                const kern_type_traits *q8 = kern_traits_isa(isa, GGUF_TTYPE_Q8_0);
                const int64_t q0 = rows >= 64 ? 32 : 0, q1 = rows / 32 * 32;
                if (q1 > q0) {
                    const size_t qs = kern_act_row_bytes(q8, rows / 32 * 32);
                    uint8_t *yq = malloc(qs * PACK_MAX_TOK), *want_q = malloc(qs);
                    const int nt = 13;
                    tt->gemm_packed(n, pk, gb, act, ab, nt, y, ys, 0, rows);
                    tt->gemm_packed(n, pk2, gb, act, ab, nt, yu, ys, 0, rows);
                    memset(yq, 0xA5, qs * PACK_MAX_TOK);
                    tt->gemm_packed_geglu(n, pk, pk2, gb, act, ab, nt, NULL, 0, q0, q1, yq, qs);
                    for (int tk = 0; tk < nt; tk++) {
                        vo->geglu(y + tk * ys, yu + tk * ys, rows);
                        q8->quantize_act(y + tk * ys, want_q, q1);
                        const size_t b0 = (size_t)q0 / 32 * sizeof(block_q8_0), b1 = (size_t)q1 / 32 * sizeof(block_q8_0);
                        bool ok = !memcmp(yq + tk * qs + b0, want_q + b0, b1 - b0);
                        for (size_t e = 0; e < qs; e++)
                            if ((e < b0 || e >= b1) && yq[tk * qs + e] != 0xA5) ok = false;
                        T_CHECK_MSG(ok, "%s packed geglu %s Q8_0 output n %lld tok %d rows [%lld, %lld)", kern_isa_name(isa),
                                    quant_type_name(t), (long long)n, tk, (long long)q0, (long long)q1);
                    }
                    free(yq), free(want_q);
                }
                free(pk2), free(yu);
            }
            n_checked++;
            free(w), free(pk), free(act), free(x), free(y), free(want);
        }
    }
    if (getenv("PIPPA_TEST_VERBOSE")) printf("%s: %d packed cases\n", kern_isa_name(isa), n_checked);
}

/* Every packed type of an ISA against the ISA-neutral layout of kernels/kern_pack.h: its
 * group bytes are the layout's, it writes the bytes the reference pack writes (so the layout
 * as documented is the one the kernels read), the reference unpack gives the original rows
 * back, and gemm_packed agrees with the reference gemm over the layout (which equals generic
 * on the original rows bit for bit) within the type's tolerance. */
static void check_pack_ref(kern_isa isa) {
    for (size_t i = 0; i < N_TYPES_T; i++) {
        const uint32_t t = TYPES[i];
        const kern_type_traits *tt = kern_traits_isa(isa, t), *g = kern_traits_generic(t);
        if (!tt || !tt->pack) continue;
        const kern_pack_layout l = kern_pack_layout_of(t, tt->pack_rows);
        T_CHECK_MSG(l != KERN_PACK_NONE, "%s %s: pack_rows %u is no layout of kern_pack.h", kern_isa_name(isa),
                    quant_type_name(t), tt->pack_rows);
        if (l == KERN_PACK_NONE) continue;
        const int64_t sizes[2] = {g->act_blck == 1 ? 33 : 1 * (int64_t)quant_block_size(t),
                                  g->act_blck == 1 ? 96 : 5 * (int64_t)quant_block_size(t)};
        for (int si = 0; si < 2; si++) {
            const int64_t n = sizes[si], rows = 3 * tt->pack_rows;
            const size_t rb = quant_row_bytes(t, (uint64_t)n), gb = tt->pack_group_bytes(n),
                         ab = kern_act_row_bytes(g, n);
            T_CHECK_MSG(gb == kern_pack_group_bytes_ref(l, n), "%s %s n %lld: group bytes %zu, layout %zu",
                        kern_isa_name(isa), quant_type_name(t), (long long)n, gb, kern_pack_group_bytes_ref(l, n));
            uint8_t *w = malloc(rb * (size_t)rows), *pk = malloc(gb * 3), *want = malloc(gb * 3), *row = malloc(rb),
                    *act = malloc(ab * 3);
            float *x = malloc(sizeof(float) * (size_t)n * 3), *y = malloc(sizeof(float) * (size_t)rows * 3),
                  *yr = malloc(sizeof(float) * (size_t)rows * 3);
            fill_weights_n(t, w, rb, n, (int)rows);
            tt->pack(n, w, rb, 0, 3, pk);
            T_CHECK(kern_pack_ref(l, n, w, rb, 0, 3, want));
            {
                T_CHECK_MSG(!memcmp(pk, want, gb * 3), "%s %s n %lld: packed bytes differ from kern_pack.h's layout",
                            kern_isa_name(isa), quant_type_name(t), (long long)n);
                fill_acts(t, x, n, 3);
                for (int tk = 0; tk < 3; tk++) g->quantize_act(x + (int64_t)tk * n, act + (size_t)tk * ab, n);
                for (int64_t o = 0; o < rows; o++) {
                    T_CHECK(kern_unpack_row_ref(l, n, pk, gb, o, row));
                    T_CHECK_MSG(!memcmp(row, w + (size_t)o * rb, rb), "%s %s row %lld: reference unpack",
                                kern_isa_name(isa), quant_type_name(t), (long long)o);
                }
                T_CHECK(kern_gemm_packed_ref(l, n, pk, gb, act, ab, 3, yr, rows, 0, rows, row));
                tt->gemm_packed(n, pk, gb, act, ab, 3, y, rows, 0, rows);
                for (int tk = 0; tk < 3; tk++)
                    for (int64_t o = 0; o < rows; o++) {
                        const uint8_t *wo = w + (size_t)o * rb, *at = act + (size_t)tk * ab;
                        const float ref = yr[tk * rows + o], got = y[tk * rows + o];
                        T_CHECK_MSG(ref == g->vec_dot(n, wo, at), "reference gemm %s row %lld", quant_type_name(t),
                                    (long long)o);
                        T_CHECK_MSG(fabs((double)got - ref) <= tol_rel(t, n) * abs_scale(t, wo, at, n) + 1e-37,
                                    "%s %s n %lld tok %d row %lld: packed gemm %.9g, layout reference %.9g",
                                    kern_isa_name(isa), quant_type_name(t), (long long)n, tk, (long long)o, got, ref);
                    }
            }
            free(w), free(pk), free(want), free(row), free(act), free(x), free(y), free(yr);
        }
    }
}

static void test_packedk_vnni_matches_avx2(void) {
    if (isa_skip(KERN_ISA_AVX512)) return;
    /* Q4_K and Q6_K keep the AVX2 layouts with VNNI tiles that compute the same integers and
     * float steps, F16 the AVX2 pair layout with the same two FMA chains per output:
     * bit-identical to the AVX2 packed gemm, 1 to 9 tokens, 3 super-blocks (F16: 769
     * elements), 24 rows */
    const uint32_t kt[3] = {GGUF_TTYPE_Q4_K, GGUF_TTYPE_Q6_K, GGUF_TTYPE_F16};
    for (int k = 0; k < 3; k++) {
        const kern_type_traits *t5 = kern_traits_isa(KERN_ISA_AVX512, kt[k]), *t2 = kern_traits_isa(KERN_ISA_AVX2, kt[k]),
                               *g = kern_traits_generic(kt[k]);
        T_CHECK(t5->pack == t2->pack && t5->gemm_packed != t2->gemm_packed);
        enum { NR = 24, NT = 9 };
        const int64_t n = 3 * 256 + (kt[k] == GGUF_TTYPE_F16);
        const size_t rb = quant_row_bytes(kt[k], (uint64_t)n), ab = kern_act_row_bytes(g, n), gb = t2->pack_group_bytes(n);
        uint8_t *w = malloc(rb * NR), *pk = malloc(gb * (NR / KERN_PACK_ROWS)), *act = malloc(ab * NT);
        float *x = malloc(sizeof(float) * (size_t)n * NT), *y2 = malloc(sizeof(float) * NR * NT),
              *y5 = malloc(sizeof(float) * NR * NT);
        fill_weights_n(kt[k], w, rb, n, NR);
        fill_acts(kt[k], x, n, NT);
        for (int tk = 0; tk < NT; tk++) g->quantize_act(x + (int64_t)tk * n, act + (size_t)tk * ab, n);
        t2->pack(n, w, rb, 0, NR / KERN_PACK_ROWS, pk);
        for (int nt = 1; nt <= NT; nt++) {
            t2->gemm_packed(n, pk, gb, act, ab, nt, y2, NR, 0, NR);
            t5->gemm_packed(n, pk, gb, act, ab, nt, y5, NR, 0, NR);
            T_CHECK_MSG(!memcmp(y2, y5, sizeof(float) * (size_t)(NR * nt)),
                        "avx512 %s packed gemm differs from avx2's, %d tokens", quant_type_name(kt[k]), nt);
        }
        free(w), free(pk), free(act), free(x), free(y2), free(y5);
    }
}

/* Every ISA row against generic: the quantizers, vec_dot/gemm per type, the long float rows,
 * the vector ops and the packed kernels (all the row's table, also what it inherits). */
static kern_isa row_isa;
static void test_isa_row(void) {
    if (isa_skip(row_isa)) return;
    if (row_isa == KERN_ISA_GENERIC) {
        check_isa(row_isa);
        return;
    }
    check_vec(row_isa);
    check_packed(row_isa);
    check_pack_ref(row_isa);
    check_quantizers(row_isa);
    check_isa(row_isa);
    check_float_long(row_isa);
}

int main(void) {
    t_kern_init();
    T_RUN(test_packedk_vnni_matches_avx2);
    static char names[KERN_ISA_COUNT][48];
    for (int i = KERN_ISA_GENERIC; i < KERN_ISA_COUNT; i++) {
        row_isa = (kern_isa)i;
        snprintf(names[i], sizeof names[i], "test_isa_%s", kern_isa_name(row_isa));
        t_run(names[i], test_isa_row);
    }
    return t_finish("kernels");
}
