/* vec_avx512.c - AVX-512 vector helpers (kern_vec_ops) for attention: f16/f32 dot products
 * and axpy, and the f32 -> f16 conversion. The ops not defined here (geglu, exp_sum) stay
 * the AVX2 ones (kern.c copies the AVX2 ops first).
 *
 * Dot products keep 2 accumulators of 16 lanes over the row in order; the tail is a masked
 * load (zeros elsewhere) into the first one, then one fixed horizontal sum, so a result
 * depends only on the inputs. axpy is one fma per element, like the AVX2 version.
 * f32_to_f16 rounds to nearest even (vcvtps2ph), byte-identical to generic. */
#include "avx512.h"

KA5_INLINE __mmask16 tail_mask(int64_t left) { return (__mmask16)((1u << left) - 1u); }

static float dot_f16(int64_t n, const float *x, const uint16_t *k) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 k0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(k + i)));
        __m512 k1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(k + i + 16)));
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), k0, a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), k1, a1);
    }
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
        __m512 kv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, k + i));
        a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), kv, a0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

static float dot_f32(int64_t n, const float *x, const float *k) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(k + i), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(k + i + 16), a1);
    }
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
        a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, k + i), a0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

static void axpy_f16(int64_t n, float a, const uint16_t *v, float *y) {
    const __m512 va = _mm512_set1_ps(a);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
        __m512 vv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, v + i));
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, vv, _mm512_maskz_loadu_ps(m, y + i)));
    }
}

static void axpy_f32(int64_t n, float a, const float *v, float *y) {
    const __m512 va = _mm512_set1_ps(a);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m,
                              _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, v + i), _mm512_maskz_loadu_ps(m, y + i)));
    }
}

static void f32_to_f16(const float *x, uint16_t *y, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
        __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm256_mask_storeu_epi16(y + i, m, h);
    }
}

void kern_vec_fill_avx512(kern_vec_ops *o) {
    o->dot_f16 = dot_f16;
    o->dot_f32 = dot_f32;
    o->axpy_f16 = axpy_f16;
    o->axpy_f32 = axpy_f32;
    o->f32_to_f16 = f32_to_f16;
}
