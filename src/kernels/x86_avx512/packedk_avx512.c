/* packedk_avx512.c - the Q4_K and Q6_K tiles for AVX-512 VNNI over the AVX2 packed layouts
 * (packedk_avx2.c: same load-time packing, pack/unpack_row and driver).
 *
 * A sub-block's 4 steps of 32 bytes are loaded two at a time: steps s and s+1 fill the low and
 * high halves of a 512-bit register, so row r's partial sums land in 32-bit lanes r and 8 + r.
 * The activation bytes each half meets (4 per step, low nibbles; 4 more 16 bytes on for the high
 * nibbles) are put in place by one dword permute of the sub-block's 32 activation bytes. Four
 * vpdpbusd give each lane the exact sum of 16 products, one vpmulld applies the row's 6-bit
 * scale, and after the 8 sub-blocks the two halves are added: the same integers as the AVX2
 * tile's, followed by the AVX2 tile's float steps, so the results are bit-identical to it.
 * Bounds: a lane's 16 products are at most 16 x 15 x 128 = 30720, times a scale <= 63, summed
 * over 8 sub-blocks: far below 2^31.
 *
 * Q6_K the same way: the top-bit register of steps 2h and 2h+1 goes into both halves, the upper
 * one shifted right by 4, so one shift-and-mask per nibble plane gives each half its step's
 * top bits. Low nibbles (16-group 2j) and high nibbles (group 2j+1) are summed apart (two
 * vpdpbusd each: 8 products of u <= 63) and scaled by their own int8 scales; the offset term
 * 32 * sum_g sc_g * bsum_g is the AVX2 tile's, kept in a separate integer sum. */
#include "avx512.h"

/* The activation dwords the two halves of a step pair meet: dwords (2k, 2k+1) of the
 * sub-block's 32 bytes go to the low and high half, k = 0, 1 for the low nibbles' steps 0-1
 * and 2-3, k = 2, 3 for the high nibbles'. */
KA5_INLINE __m512i act_pair(__m512i aq, int k) {
    const __m512i idx = _mm512_set_epi32(2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1,
                                         2 * k + 1, 2 * k, 2 * k, 2 * k, 2 * k, 2 * k, 2 * k, 2 * k, 2 * k);
    return _mm512_permutexvar_epi32(idx, aq);
}

/* The two halves' lanes added: row r's sum in lane r. */
KA5_INLINE __m256i halves(__m512i v) { return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1)); }

/* The tiles (../x86/ktiles.inc). Sub-block j of a Q4_K super-block: four vpdpbusd per token,
 * one vpmulld with the rows' scales. */
KA5_INLINE void q4k_sub(int T, const uint8_t *pb, int j, const block_q8_K *const *a, int64_t b, __m512i *isum) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const uint8_t *pq = pb + P4K_QS + 128 * j;
    const __m512i sc = _mm512_broadcast_i64x4(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(pb + P4K_SC + 8 * j))));
    const __m512i x01 = _mm512_loadu_si512(pq), x23 = _mm512_loadu_si512(pq + 64);
    const __m512i lo01 = _mm512_and_si512(x01, m4), hi01 = _mm512_and_si512(_mm512_srli_epi16(x01, 4), m4);
    const __m512i lo23 = _mm512_and_si512(x23, m4), hi23 = _mm512_and_si512(_mm512_srli_epi16(x23, 4), m4);
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) {
        const __m512i aq = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(a[t][b].qs + 32 * j)));
        __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo01, act_pair(aq, 0));
        p = _mm512_dpbusd_epi32(p, lo23, act_pair(aq, 1));
        p = _mm512_dpbusd_epi32(p, hi01, act_pair(aq, 2));
        p = _mm512_dpbusd_epi32(p, hi23, act_pair(aq, 3));
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(p, sc));
    }
}

/* Sub-block j of a Q6_K super-block: low and high nibbles (groups 2j, 2j+1) summed apart and
 * scaled by their own scales; the offset term in msum. */
KA5_INLINE void q6k_sub(int T, const uint8_t *pb, int j, const block_q8_K *const *a, int64_t b, __m512i *isum,
                        __m256i *msum) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    const uint8_t *pq = pb + P6K_QS + P6K_SUB * j;
    const __m128i s8 = _mm_loadu_si128((const __m128i *)(pb + P6K_SC + 16 * j));
    const __m512i scl = _mm512_broadcast_i64x4(_mm256_cvtepi8_epi32(s8));                   /* group 2j */
    const __m512i sch = _mm512_broadcast_i64x4(_mm256_cvtepi8_epi32(_mm_srli_si128(s8, 8))); /* 2j+1 */
    const __m256i mp = ka2_q6k_offset_scales(s8);
    __m512i lo[2], hi[2];
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        const __m256i hb = _mm256_loadu_si256((const __m256i *)(pq + 128 + 32 * h));
        const __m512i hh = _mm512_inserti64x4(_mm512_castsi256_si512(hb), _mm256_srli_epi16(hb, 4), 1);
        const __m512i x = _mm512_loadu_si512(pq + 64 * h);
        lo[h] = _mm512_or_si512(_mm512_and_si512(x, m4), _mm512_and_si512(_mm512_slli_epi16(hh, 4), m30));
        hi[h] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(x, 4), m4),
                                _mm512_and_si512(_mm512_slli_epi16(hh, 2), m30));
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) {
        const __m512i aq = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(a[t][b].qs + 32 * j)));
        __m512i pl = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo[0], act_pair(aq, 0));
        pl = _mm512_dpbusd_epi32(pl, lo[1], act_pair(aq, 1));
        __m512i ph = _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi[0], act_pair(aq, 2));
        ph = _mm512_dpbusd_epi32(ph, hi[1], act_pair(aq, 3));
        isum[t] = _mm512_add_epi32(isum[t], _mm512_add_epi32(_mm512_mullo_epi32(pl, scl), _mm512_mullo_epi32(ph, sch)));
        int32_t bp;
        memcpy(&bp, a[t][b].bsums + 2 * j, 4);
        msum[t] = _mm256_add_epi32(msum[t], _mm256_madd_epi16(mp, _mm256_set1_epi32(bp)));
    }
}

#define KT_INLINE KA5_INLINE
typedef __m512i kt_isum;
#define kt_isum_zero() _mm512_setzero_si512()
#define kt_lanes(v) halves(v)
#include "../x86/ktiles.inc"

KA2_PK_TILES(tile_q4_K)

void kern_gemm_packed_q4_K_avx512(int64_t n, const void *w, size_t group_bytes, const void *act, size_t act_row_bytes,
                                  int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1) {
    kern_gemm_packed_k_with_avx2(tile_q4_K_any, true, n, w, group_bytes, act, act_row_bytes, n_tok, y, y_stride, r0,
                                 r1);
}

KA2_PK_TILES(tile_q6_K)

void kern_gemm_packed_q6_K_avx512(int64_t n, const void *w, size_t group_bytes, const void *act, size_t act_row_bytes,
                                  int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1) {
    kern_gemm_packed_k_with_avx2(tile_q6_K_any, false, n, w, group_bytes, act, act_row_bytes, n_tok, y, y_stride, r0,
                                 r1);
}
