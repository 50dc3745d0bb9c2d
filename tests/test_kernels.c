/* test_kernels.c - every kernel table the CPU supports against kern_traits_generic.
 *
 * For each ISA row (generic, avx2, avx512f, avx512; an ISA the CPU lacks prints SKIP and why) and each
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
 * (f32 fma chains over n/8 steps). The repacked kernels are checked by test_kern_pack.c, the
 * ISA table (names, selection, simulated CPUs) by test_kern_isa.c. */
#include "test.h"

#include <float.h>
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "kernels/kern.h"
#include "kern_test_data.h"

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

/* Every ISA row against generic: the quantizers, vec_dot/gemm per type, the long float rows
 * and the vector ops (all the row's table, also what it inherits; packed: test_kern_pack). */
static kern_isa row_isa;
static void test_isa_row(void) {
    if (isa_skip(row_isa)) return;
    if (row_isa == KERN_ISA_GENERIC) {
        check_isa(row_isa);
        return;
    }
    check_vec(row_isa);
    check_quantizers(row_isa);
    check_isa(row_isa);
    check_float_long(row_isa);
}

int main(void) {
    t_kern_init();
    static char names[KERN_ISA_COUNT][48];
    for (int i = KERN_ISA_GENERIC; i < KERN_ISA_COUNT; i++) {
        row_isa = (kern_isa)i;
        snprintf(names[i], sizeof names[i], "test_isa_%s", kern_isa_name(row_isa));
        t_run(names[i], test_isa_row);
    }
    return t_finish("kernels");
}
