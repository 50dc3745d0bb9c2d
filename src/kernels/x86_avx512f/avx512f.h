/* avx512f.h - internal to src/kernels: the AVX-512 F/BW/VL/DQ kernels (x86_avx512f/, the
 * `avx512f` ISA row: Skylake-X and later, no VNNI needed) and the zmm helpers that the VNNI
 * kernels of x86_avx512/ share. Only included by files compiled with at least these flags
 * (Makefile KERN_ISA_x86_avx512f), which include the AVX2 ones, so the AVX2 helpers in
 * ../x86_avx2/avx2.h are usable here too. */
#ifndef PIPPA_KERN_AVX512F_H
#define PIPPA_KERN_AVX512F_H

#include "../x86_avx2/avx2.h"

#define KA5_INLINE static inline __attribute__((always_inline))

/* exp(x) for x in [-18, 18] (GELU's range after the clamp): x = n*ln2 + r, |r| <= ln2/2,
 * e^r by the degree-7 polynomial of the AVX2 exp_neg, 2^n by vscalefps. */
KA5_INLINE __m512 ka5_exp16(__m512 x) {
    const __m512 nf = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(nf, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(nf, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, nf);
}

/* tanh-GELU(x) * u as x * u / (1 + exp(-2z)) (= 0.5 x (1 + tanh z)), z = sqrt(2/pi) (x +
 * 0.044715 x^3) clamped to [-9, 9] as in the AVX2 version; the division as a 14-bit
 * reciprocal and one Newton step (~1 ulp). The geglu of vec_avx512f.c and the fused gate/up
 * gemm of packed_avx512.c both use this, so their results are the same bits. */
KA5_INLINE __m512 ka5_geglu16(__m512 x, __m512 u) {
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 z2 = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(-2.0f * 0.7978845608028654f), x),
                              _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(0.044715f), x), x, one)); /* -2z */
    z2 = _mm512_min_ps(_mm512_max_ps(z2, _mm512_set1_ps(-18.0f)), _mm512_set1_ps(18.0f));
    const __m512 den = _mm512_add_ps(one, ka5_exp16(z2));
    __m512 rc = _mm512_rcp14_ps(den);
    rc = _mm512_fmadd_ps(_mm512_fnmadd_ps(den, rc, one), rc, rc);
    return _mm512_mul_ps(_mm512_mul_ps(x, rc), u);
}

/* Activation quantizer, byte-identical to the generic one (act_avx512f.c). */
void kern_act_q8_0_avx512f(const float *x, void *y, int64_t n);

/* Float weights against f32 activations, 16 lanes (dot_avx512f.c). */
#define KA5_DECL(name)                                                                              \
    float kern_dot_##name##_avx512f(int64_t n, const void *w, const void *a);                        \
    void kern_gemm_##name##_avx512f(int64_t n, const void *w, size_t w_row_bytes, const void *act,   \
                                   size_t act_row_bytes, int n_tok, float *y, int64_t y_stride,     \
                                   int64_t r0, int64_t r1);
KA5_DECL(f32_f32)
KA5_DECL(f16_f32)
KA5_DECL(bf16_f32)
/* F16 gemm over the AVX2 pair-interleaved layout (packedf16_avx512f.c) */
void kern_gemm_packed_f16_avx512f(int64_t n, const void *w, size_t group_bytes, const void *act, size_t act_row_bytes,
                                 int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1);

#endif
