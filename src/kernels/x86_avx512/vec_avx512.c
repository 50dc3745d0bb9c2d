/* vec_avx512.c - AVX-512 vector helpers (kern_vec_ops): the f32 -> f16 conversion of the KV
 * cache, rounding to nearest even (vcvtps2ph), byte-identical to generic. The ops not defined
 * here (attention, geglu, exp_sum) stay the AVX2 ones (kern.c copies the AVX2 ops first).
 * Attention has no 16-lane version of attn_qk/attn_pv yet: they were written on a machine
 * without AVX-512, where one could not have been tested. */
#include "avx512.h"

KA5_INLINE __mmask16 tail_mask(int64_t left) { return (__mmask16)((1u << left) - 1u); }

static void f32_to_f16(const float *x, uint16_t *y, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
        __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm256_mask_storeu_epi16(y + i, m, h);
    }
}

void kern_vec_fill_avx512(kern_vec_ops *o) {
    o->f32_to_f16 = f32_to_f16;
}
