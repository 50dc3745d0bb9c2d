/* vec_avx2.c - AVX2+FMA+F16C vector helpers (kern_vec_ops). Attention dot products keep 2
 * accumulators of 8 lanes per head over the row in order, then one fixed horizontal sum, so a
 * result depends only on the inputs (not on how many heads share the call). */
#include "avx2.h"

#include <math.h>

/* 8 elements of a row, f32 or f16 */
KA2_INLINE __m256 row8(const void *row, bool f16, int64_t i) {
    return f16 ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + i)))
               : _mm256_loadu_ps((const float *)row + i);
}
KA2_INLINE float elem(const void *row, bool f16, int64_t i) {
    return f16 ? ka2_h2f(((const uint16_t *)row)[i]) : ((const float *)row)[i];
}

#define HB 4 /* heads per register tile */

/* Per head: two accumulators over 16-element steps, one horizontal sum, then the tail. */
KA2_INLINE void qk_tile(int H, int64_t n, const float *q, int64_t qs, const void *k, bool f16, float *s, int64_t ss) {
    __m256 a0[HB], a1[HB];
#pragma GCC unroll 4
    for (int h = 0; h < H; h++) a0[h] = a1[h] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 k0 = row8(k, f16, i), k1 = row8(k, f16, i + 8);
#pragma GCC unroll 4
        for (int h = 0; h < H; h++) {
            a0[h] = _mm256_fmadd_ps(_mm256_loadu_ps(q + h * qs + i), k0, a0[h]);
            a1[h] = _mm256_fmadd_ps(_mm256_loadu_ps(q + h * qs + i + 8), k1, a1[h]);
        }
    }
    for (int h = 0; h < H; h++) {
        float r = ka2_hsum(_mm256_add_ps(a0[h], a1[h]));
        for (int64_t t = i; t < n; t++) r += q[h * qs + t] * elem(k, f16, t);
        s[h * ss] = r;
    }
}

/* One fma per term in j order, for 16 (then 8) output columns of H heads at a time; the
 * scalar tail is a multiply and an add per term, as the axpy it replaced did. */
KA2_INLINE void pv_tile(int H, int64_t n, int64_t m, const float *p, int64_t ps, const void *const *rows, bool f16,
                        float *out, int64_t os) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 c0[HB], c1[HB];
#pragma GCC unroll 4
        for (int h = 0; h < H; h++) {
            c0[h] = _mm256_loadu_ps(out + h * os + i);
            c1[h] = _mm256_loadu_ps(out + h * os + i + 8);
        }
        for (int64_t j = 0; j < m; j++) {
            const __m256 v0 = row8(rows[j], f16, i), v1 = row8(rows[j], f16, i + 8);
#pragma GCC unroll 4
            for (int h = 0; h < H; h++) {
                const __m256 pa = _mm256_broadcast_ss(p + h * ps + j);
                c0[h] = _mm256_fmadd_ps(pa, v0, c0[h]);
                c1[h] = _mm256_fmadd_ps(pa, v1, c1[h]);
            }
        }
#pragma GCC unroll 4
        for (int h = 0; h < H; h++) {
            _mm256_storeu_ps(out + h * os + i, c0[h]);
            _mm256_storeu_ps(out + h * os + i + 8, c1[h]);
        }
    }
    for (; i + 8 <= n; i += 8) {
        __m256 c0[HB];
#pragma GCC unroll 4
        for (int h = 0; h < H; h++) c0[h] = _mm256_loadu_ps(out + h * os + i);
        for (int64_t j = 0; j < m; j++) {
            const __m256 v0 = row8(rows[j], f16, i);
#pragma GCC unroll 4
            for (int h = 0; h < H; h++) c0[h] = _mm256_fmadd_ps(_mm256_broadcast_ss(p + h * ps + j), v0, c0[h]);
        }
#pragma GCC unroll 4
        for (int h = 0; h < H; h++) _mm256_storeu_ps(out + h * os + i, c0[h]);
    }
    for (; i < n; i++)
        for (int h = 0; h < H; h++)
            for (int64_t j = 0; j < m; j++) out[h * os + i] += p[h * ps + j] * elem(rows[j], f16, i);
}

#include "../x86/heads.inc"

static void f32_to_f16(const float *x, uint16_t *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

/* exp(x) for x <= 18 (softmax inputs and GELU's tanh): x = n*ln2 + r, |r| <= ln2/2, e^r by a degree-7
 * polynomial (Cephes' expf coefficients) (relative error ~2e-7), 2^n by exponent bits; x < -87 gives 0. */
KA2_INLINE __m256 exp_neg(__m256 x) {
    const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
    const __m256 ln2_hi = _mm256_set1_ps(0.693359375f), ln2_lo = _mm256_set1_ps(-2.12194440e-4f);
    __m256 too_small = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_LT_OQ);
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    __m256 nf = _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(nf, ln2_hi, x);
    r = _mm256_fnmadd_ps(nf, ln2_lo, r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(nf), _mm256_set1_epi32(127)), 23);
    __m256 res = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    return _mm256_andnot_ps(too_small, res);
}

/* tanh-GELU(x) * u with tanh(z) = 1 - 2/(exp(2z) + 1), z clamped to [-9, 9]
 * (|tanh(9) - 1| < 3e-8). */
static void geglu(float *g, const float *u, int64_t n) {
    const __m256 c = _mm256_set1_ps(0.7978845608028654f), a = _mm256_set1_ps(0.044715f);
    const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f), half = _mm256_set1_ps(0.5f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(g + i);
        __m256 z = _mm256_mul_ps(c, _mm256_fmadd_ps(_mm256_mul_ps(a, x), _mm256_mul_ps(x, x), x));
        z = _mm256_min_ps(_mm256_max_ps(z, _mm256_set1_ps(-9.0f)), _mm256_set1_ps(9.0f));
        __m256 e = exp_neg(_mm256_add_ps(z, z));
        __m256 th = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(e, one)));
        __m256 gel = _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(one, th));
        _mm256_storeu_ps(g + i, _mm256_mul_ps(gel, _mm256_loadu_ps(u + i)));
    }
    const float cs = 0.7978845608028654f, as = 0.044715f;
    for (; i < n; i++) {
        float x = g[i];
        g[i] = 0.5f * x * (1.0f + tanhf(cs * (x + as * x * x * x))) * u[i];
    }
}

static float exp_sum(float *x, int64_t n, float max) {
    __m256 vm = _mm256_set1_ps(max), acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = exp_neg(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        _mm256_storeu_ps(x + i, v);
        acc = _mm256_add_ps(acc, v);
    }
    float s = ka2_hsum(acc);
    for (; i < n; i++) {
        x[i] = expf(x[i] - max);
        s += x[i];
    }
    return s;
}

/* kern_vec_ops.sumsq's order: lanes 0-3, 4-7, 8-11, 12-15 in a[0..3]; the tail's element i
 * goes to lane i % 16 like the full chunks'. */
static double sumsq(const float *x, int64_t n) {
    __m256d a[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
        const __m256 q0 = _mm256_mul_ps(v0, v0), q1 = _mm256_mul_ps(v1, v1);
        a[0] = _mm256_add_pd(a[0], _mm256_cvtps_pd(_mm256_castps256_ps128(q0)));
        a[1] = _mm256_add_pd(a[1], _mm256_cvtps_pd(_mm256_extractf128_ps(q0, 1)));
        a[2] = _mm256_add_pd(a[2], _mm256_cvtps_pd(_mm256_castps256_ps128(q1)));
        a[3] = _mm256_add_pd(a[3], _mm256_cvtps_pd(_mm256_extractf128_ps(q1, 1)));
    }
    double l[16];
    for (int k = 0; k < 4; k++) _mm256_storeu_pd(l + 4 * k, a[k]);
    for (int j = 0; i < n; i++, j++) l[j] += (double)(x[i] * x[i]);
    for (int w = 8; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) l[j] += l[j + w];
    return l[0];
}

/* the generic's two roundings per element, 8 lanes */
static void scale_mul(float *y, const float *x, float s, const float *w, int64_t n) {
    const __m256 vs = _mm256_set1_ps(s);
    int64_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + k), vs);
        if (w) v = _mm256_mul_ps(v, _mm256_loadu_ps(w + k));
        _mm256_storeu_ps(y + k, v);
    }
    for (; k < n; k++) y[k] = w ? (x[k] * s) * w[k] : x[k] * s;
}

void kern_vec_fill_avx2(kern_vec_ops *o) {
    o->scale_mul = scale_mul;
    o->sumsq = sumsq;
    o->exp_sum = exp_sum;
    o->attn_qk = attn_qk;
    o->attn_pv = attn_pv;
    o->geglu = geglu;
    o->f32_to_f16 = f32_to_f16;
}
