/* act_avx512f.c - AVX-512 activation quantizer f32 -> Q8_0 (32 floats = two zmm per block).
 *
 * Invariant: the bytes written equal the generic converter's (quant_quantize_row_q8_0_x86)
 * for every finite or infinite input; tests/test_kernels.c checks this. Each step is the
 * same IEEE operation as the scalar code: max |x| (exact, in any order), d = amax / 127,
 * id = 127 / amax, the multiply, cvtps (nearest-even under the default MXCSR, like
 * nearbyintf), and vpmovsdb, a signed-saturating narrowing like the scalar clamp (an
 * out-of-range or NaN product converts to INT32_MIN and saturates to -128, as in the AVX2
 * version). Inputs with NaN are out of scope (the max search order differs).
 * ref: shared/spec/quant-formats.md §5.1. */
#include "avx512f.h"

void kern_act_q8_0_avx512f(const float *x, void *vy, int64_t n) {
    block_q8_0 *y = vy;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[i].d = ka2_f2h(d);
        const __m512 s = _mm512_set1_ps(id);
        _mm_storeu_si128((__m128i *)y[i].qs, _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v0, s))));
        _mm_storeu_si128((__m128i *)(y[i].qs + 16), _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v1, s))));
    }
}
