/* vec_avx2.c - AVX2+FMA+F16C vector helpers (kern_vec_ops). Dot products keep 4 (f16: 2)
 * accumulators of 8 lanes over the row in order, then one fixed horizontal sum, so a
 * result depends only on the inputs. */
#include "avx2.h"

#include <math.h>

static float dot_f16(int64_t n, const float *x, const uint16_t *k) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 k0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k + i)));
        __m256 k1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k + i + 8)));
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), k0, a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), k1, a1);
    }
    float s = ka2_hsum(_mm256_add_ps(a0, a1));
    for (; i < n; i++) s += x[i] * ka2_h2f(k[i]);
    return s;
}

static float dot_f32(int64_t n, const float *x, const float *k) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(k + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(k + i + 8), a1);
    }
    float s = ka2_hsum(_mm256_add_ps(a0, a1));
    for (; i < n; i++) s += x[i] * k[i];
    return s;
}

static void axpy_f16(int64_t n, float a, const uint16_t *v, float *y) {
    __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 vv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + i)));
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, vv, _mm256_loadu_ps(y + i)));
    }
    for (; i < n; i++) y[i] += a * ka2_h2f(v[i]);
}

static void axpy_f32(int64_t n, float a, const float *v, float *y) {
    __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(v + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * v[i];
}

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

void kern_vec_fill_avx2(kern_vec_ops *o) {
    o->exp_sum = exp_sum;
    o->dot_f16 = dot_f16;
    o->dot_f32 = dot_f32;
    o->axpy_f16 = axpy_f16;
    o->axpy_f32 = axpy_f32;
    o->geglu = geglu;
    o->f32_to_f16 = f32_to_f16;
}
