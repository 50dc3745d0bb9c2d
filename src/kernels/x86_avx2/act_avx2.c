/* act_avx2.c - AVX2 activation quantizers (f32 -> Q8_0 / Q8_1 / Q8_K).
 *
 * Invariant: the bytes written equal the generic converters' (quant_quantize_row_q8_0_x86,
 * quant_quantize_row_q8_1_ref, quant_quantize_row_q8_K_ref) for every finite or infinite
 * input; tests/test_kernels.c checks this. Each step is the same IEEE operation as the scalar
 * code: the multiply, the rounding (cvtps = nearest-even like nearbyintf; trunc + 0.5 test
 * like roundf; the 1.5*2^23 trick of nearest_int), and the same int8 store (saturating for
 * Q8_0, low byte of cvttss2si for Q8_1 and Q8_K). Inputs with NaN are out of scope (the max
 * search order differs).
 * The multiply and the add of the rounding trick must stay two roundings: gcc in ISO mode
 * does not contract them; clang is told so by the pragma below.
 * ref: shared/spec/quant-formats.md §5.1. */
#include "avx2.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* max |x| of 32 floats; max_ps(|x|, m) keeps m when |x| is NaN, like the scalar loops */
static inline __m256 absmax32(const float *x, __m256 *v) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        m = _mm256_max_ps(_mm256_andnot_ps(sign, v[k]), m);
    }
    return m;
}

static inline float hmax(__m256 m) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* four vectors of int32 -> 32 int8 in order, signed saturation */
static inline __m256i pack_sat(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    __m256i r = _mm256_packs_epi16(ab, cd);
    return _mm256_permutevar8x32_epi32(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

void kern_act_q8_0_avx2(const float *x, void *vy, int64_t n) {
    block_q8_0 *y = vy;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        __m256 v[4];
        const float amax = hmax(absmax32(x, v));
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[i].d = ka2_f2h(d);
        const __m256 s = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) q[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], s));
        _mm256_storeu_si256((__m256i *)y[i].qs, pack_sat(q[0], q[1], q[2], q[3]));
    }
}

/* 0..255 lanes -> bytes: packs_epi16 would saturate 128..255, so pack unsigned here */
static inline __m256i pack_u8(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i ff = _mm256_set1_epi32(0xFF);
    __m256i ab = _mm256_packus_epi32(_mm256_and_si256(a, ff), _mm256_and_si256(b, ff));
    __m256i cd = _mm256_packus_epi32(_mm256_and_si256(c, ff), _mm256_and_si256(d, ff));
    __m256i r = _mm256_packus_epi16(ab, cd);
    return _mm256_permutevar8x32_epi32(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* sum of 32 int8 */
static inline int sum_i8(__m256i q) {
    __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

void kern_act_q8_1_avx2(const float *x, void *vy, int64_t n) {
    block_q8_1 *y = vy;
    const __m256 sign = _mm256_set1_ps(-0.0f), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        __m256 v[4];
        const float d = hmax(absmax32(x, v)) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = ka2_f2h(d);
        const __m256 s = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            /* roundf: truncate, then step away from zero when the dropped part is >= 0.5 */
            __m256 r = _mm256_mul_ps(v[k], s);
            __m256 t = _mm256_round_ps(r, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(r, t));
            __m256 step = _mm256_and_ps(_mm256_cmp_ps(frac, half, _CMP_GE_OQ),
                                        _mm256_or_ps(one, _mm256_and_ps(sign, r)));
            q[k] = _mm256_cvttps_epi32(_mm256_add_ps(t, step));
        }
        __m256i b = pack_u8(q[0], q[1], q[2], q[3]);
        _mm256_storeu_si256((__m256i *)y[i].qs, b);
        y[i].s = pp_f32_to_f16((float)sum_i8(b) * d);
    }
}

void kern_act_q8_K_avx2(const float *x, void *vy, int64_t n) {
    block_q8_K *y = vy;
    const __m256 sign = _mm256_set1_ps(-0.0f), magic = _mm256_set1_ps(12582912.0f);
    const __m256i mant = _mm256_set1_epi32(0x007fffff), bias = _mm256_set1_epi32(0x00400000),
                  top = _mm256_set1_epi32(127);
    for (int64_t i = 0; i < n / 256; i++, x += 256) {
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < 32; k++) m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)), m);
        const float amax = hmax(m);
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        /* the signed value of the first element with |x| == amax (the scalar strict '>') */
        const __m256 am = _mm256_set1_ps(amax);
        float max = 0.0f;
        for (int k = 0; k < 32; k++) {
            int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)), am, _CMP_EQ_OQ));
            if (mask) {
                max = x[8 * k + __builtin_ctz((unsigned)mask)];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const __m256 s = _mm256_set1_ps(iscale);
        for (int c = 0; c < 8; c++) {
            __m256i q[4];
            for (int k = 0; k < 4; k++) {
                __m256 r = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * c + 8 * k), s), magic);
                __m256i v = _mm256_sub_epi32(_mm256_and_si256(_mm256_castps_si256(r), mant), bias);
                q[k] = _mm256_min_epi32(v, top);
            }
            __m256i b = pack_u8(q[0], q[1], q[2], q[3]);
            _mm256_storeu_si256((__m256i *)(y[i].qs + 32 * c), b);
            /* bsums of the two 16-groups: byte pairs -> int16, then int16 quads -> int32 */
            __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), b), _mm256_set1_epi16(1));
            p = _mm256_hadd_epi32(p, p);
            p = _mm256_hadd_epi32(p, p);
            y[i].bsums[2 * c] = (int16_t)_mm256_extract_epi32(p, 0);
            y[i].bsums[2 * c + 1] = (int16_t)_mm256_extract_epi32(p, 4);
        }
        y[i].d = 1.0f / iscale;
    }
}
