/* avx2.h - internal to src/kernels/x86_avx2: the AVX2+FMA+F16C kernels and the small
 * inline helpers they share. Only included by files compiled with -mavx2 -mfma -mf16c.
 *
 * Summation order (all kernels here): every output element y[t][o] is one accumulator
 * chain over the blocks of the row, in block order, then a fixed horizontal sum. The gemm
 * tiles compute each element with exactly the same instructions as vec_dot, so a result
 * does not depend on which tile (or thread) produced it. */
#ifndef PIPPA_KERN_AVX2_H
#define PIPPA_KERN_AVX2_H

#include <immintrin.h>
#include <string.h>

#include "../kern_internal.h"
#include "../kern_pack.h"

#define KA2_INLINE static inline __attribute__((always_inline))

KA2_INLINE float ka2_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

KA2_INLINE float ka2_h2f(uint16_t h) { return _cvtsh_ss(h); }
/* f32 -> f16 rounded to nearest even: the same bits as pp_f32_to_f16 for every non-NaN input
 * (F16C ignores MXCSR's flush-to-zero; pippa never sets denormals-are-zero). */
KA2_INLINE uint16_t ka2_f2h(float f) { return (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT); }

/* Activation quantizers (byte-identical to the generic ones). */
void kern_act_q8_0_avx2(const float *x, void *y, int64_t n);
void kern_act_q8_1_avx2(const float *x, void *y, int64_t n);
void kern_act_q8_K_avx2(const float *x, void *y, int64_t n);

#define KA2_DECL(name)                                                                   \
    float kern_dot_##name##_avx2(int64_t n, const void *w, const void *a);              \
    void kern_gemm_##name##_avx2(int64_t n, const void *w, size_t w_row_bytes,           \
                                 const void *act, size_t act_row_bytes, int n_tok,       \
                                 float *y, int64_t y_stride, int64_t r0, int64_t r1);
KA2_DECL(f32_f32)
KA2_DECL(f16_f32)
KA2_DECL(bf16_f32)
KA2_DECL(q4_0_q8_0)
KA2_DECL(q5_0_q8_0)
KA2_DECL(q8_0_q8_0)
KA2_DECL(q4_1_q8_1)
KA2_DECL(q5_1_q8_1)
KA2_DECL(q2_K_q8_K)
KA2_DECL(q3_K_q8_K)
KA2_DECL(q4_K_q8_K)
KA2_DECL(q5_K_q8_K)
KA2_DECL(q6_K_q8_K)
#undef KA2_DECL

/* F16 repacked with lanes along the rows: 8-row groups, element pairs interleaved
 * (packedf16_avx2.c; the AVX-512 gemm uses the same layout). */
KERN_PACKED_DECL(f16, avx2)

/* What the AVX2 and AVX-512 gemm drivers over that layout share. */
#define KA2_PF16_ROWS 8                /* rows per group */
#define KA2_PF16_DEC_T 2               /* tokens up to which a call is decode */
#define KA2_PF16_KPAIRS 1152           /* pairs per prefill chunk: its weights stay in L2 over the token tiles */
#define KA2_PF16_ACT_BYTES (384 * 1024) /* activations of one token block, kept in L2 while the rows pass */
#define KA2_PF16_MAX_BLOCK 96          /* tokens per block at most */

/* The activation pair (a[2p], a[2p+1]) as one 64-bit value to broadcast; `last` when 2p+1 == n
 * (its second element does not exist and reads as zero, meeting the zero weight the packing put
 * there). */
KA2_INLINE double ka2_pf16_pair(const float *a, int64_t p, bool last) {
    double d;
    if (last) {
        const float two[2] = {a[2 * p], 0.0f};
        memcpy(&d, two, 8);
    } else {
        memcpy(&d, a + 2 * p, 8);
    }
    return d;
}

/* Tokens per prefill block: whole tiles of tile_tok whose activations (n floats each) fit in
 * KA2_PF16_ACT_BYTES, at least one tile, at most KA2_PF16_MAX_BLOCK tokens. */
KA2_INLINE int ka2_pf16_token_block(int64_t n, int tile_tok) {
    const int tb = (int)(KA2_PF16_ACT_BYTES / ((size_t)n * 4)) / tile_tok * tile_tok;
    const int max = KA2_PF16_MAX_BLOCK / tile_tok * tile_tok;
    return tb < tile_tok ? tile_tok : tb > max ? max : tb;
}

/* gemm_packed over the pair layout: up to KA2_PF16_DEC_T tokens go to decode with their
 * activation rows, more to prefill; both take the range as groups [g0, g1). */
typedef void (*ka2_pf16_decode_fn)(int64_t n, const uint8_t *w, size_t gb, const float *const *a, int T, float *y,
                                   int64_t ys, int64_t g0, int64_t g1);
typedef void (*ka2_pf16_prefill_fn)(int64_t n, const uint8_t *w, size_t gb, const uint8_t *act, size_t arb,
                                    int n_tok, float *y, int64_t ys, int64_t g0, int64_t g1);
KA2_INLINE void ka2_pf16_gemm(ka2_pf16_decode_fn decode, ka2_pf16_prefill_fn prefill, int64_t n, const void *w,
                              size_t group_bytes, const void *act, size_t act_row_bytes, int n_tok, float *y,
                              int64_t y_stride, int64_t r0, int64_t r1) {
    PP_ASSERT(n >= 1 && r0 % KA2_PF16_ROWS == 0 && r1 % KA2_PF16_ROWS == 0);
    if (n_tok <= 0) return;
    if (n_tok <= KA2_PF16_DEC_T) {
        const float *a[KA2_PF16_DEC_T];
        for (int t = 0; t < n_tok; t++) a[t] = (const float *)((const uint8_t *)act + (size_t)t * act_row_bytes);
        decode(n, w, group_bytes, a, n_tok, y, y_stride, r0 / KA2_PF16_ROWS, r1 / KA2_PF16_ROWS);
    } else {
        prefill(n, w, group_bytes, act, act_row_bytes, n_tok, y, y_stride, r0 / KA2_PF16_ROWS, r1 / KA2_PF16_ROWS);
    }
}

/* Q4_0, Q5_0 and Q8_0 repacked for AVX2: 8 rows interleaved at 4-byte granularity (packed_avx2.c). */
KERN_PACKED_DECL(q4_0, avx2)
KERN_PACKED_DECL(q5_0, avx2)
KERN_PACKED_DECL(q8_0, avx2)

/* Byte offsets in a packed Q4_K / Q6_K group super-block (the layouts: ../kern_pack.h, and
 * packedk_avx2.c for how the kernels use them). */
#define P6K_D KERN_P6K_D
#define P6K_SC KERN_P6K_SC
#define P6K_QS KERN_P6K_QS
#define P6K_SUB KERN_P6K_SUB /* bytes per sub-block: 4 nibble steps + 2 high-bit registers */
#define P6K_BYTES KERN_P6K_BYTES
#define P4K_D KERN_P4K_D
#define P4K_DMIN KERN_P4K_DMIN
#define P4K_SC KERN_P4K_SC
#define P4K_MN KERN_P4K_MN
#define P4K_QS KERN_P4K_QS
#define P4K_BYTES KERN_P4K_BYTES
/* The end of a packed Q4_K super-block for one token, shared by the AVX2 and AVX-512 tiles so
 * both take the same float steps: acc + (d * da) * isum - (dmin * da) * sum_j m_j * bs_j,
 * with pr the token's 4 bsum pairs of this super-block and mn its mins (4 x 16 bytes). */
KA2_INLINE __m256 ka2_q4k_finish(__m256 acc, __m256 dw, __m256 dm, const __m256i *mn, const int32_t *pr, float da_f,
                                 __m256i isum) {
    const __m256i ms = _mm256_add_epi32(_mm256_add_epi32(_mm256_madd_epi16(mn[0], _mm256_set1_epi32(pr[0])),
                                                         _mm256_madd_epi16(mn[1], _mm256_set1_epi32(pr[1]))),
                                        _mm256_add_epi32(_mm256_madd_epi16(mn[2], _mm256_set1_epi32(pr[2])),
                                                         _mm256_madd_epi16(mn[3], _mm256_set1_epi32(pr[3]))));
    const __m256 da = _mm256_set1_ps(da_f);
    acc = _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(isum), acc);
    return _mm256_fnmadd_ps(_mm256_mul_ps(dm, da), _mm256_cvtepi32_ps(ms), acc);
}

/* (32 sc_2j, 32 sc_2j+1) per row of a packed Q6_K sub-block, from its 16 scale bytes s8: madd
 * with a token's bsum pair (bsum_2j, bsum_2j+1) gives the offset term of both 16-groups. */
KA2_INLINE __m256i ka2_q6k_offset_scales(__m128i s8) {
    return _mm256_slli_epi16(_mm256_cvtepi8_epi16(_mm_unpacklo_epi8(s8, _mm_srli_si128(s8, 8))), 5);
}

/* A tile of the packed K-quant layouts: one group of 8 rows x T (<= KA2_PK_TOK) tokens; pairs
 * holds the Q4_K bsum pairs (packedk_avx2.c). Another ISA may run its own tile through the
 * same driver. KA2_PK_TILES(tile) defines tile_any, one instance per T so that T is a
 * constant inside the tile's loops. */
#define KA2_PK_TOK 4
typedef void (*kern_pk_tile_fn)(int T, int64_t nb, const uint8_t *g, const block_q8_K *const *a, const int32_t *pairs,
                                float *y, int64_t ys);
#define KA2_PK_TILES(name)                                                                    \
    static void name##_any(int T, int64_t nb, const uint8_t *g, const block_q8_K *const *a,     \
                           const int32_t *pairs, float *y, int64_t ys) {                      \
        switch (T) {                                                                          \
        case 1: name(1, nb, g, a, pairs, y, ys); break;                                       \
        case 2: name(2, nb, g, a, pairs, y, ys); break;                                       \
        case 3: name(3, nb, g, a, pairs, y, ys); break;                                       \
        default: name(KA2_PK_TOK, nb, g, a, pairs, y, ys); break;                             \
        }                                                                                     \
    }
void kern_gemm_packed_k_with_avx2(kern_pk_tile_fn tile, bool need_pairs, int64_t n, const void *w, size_t group_bytes,
                                  const void *act, size_t act_row_bytes, int n_tok, float *y, int64_t y_stride,
                                  int64_t r0, int64_t r1);
/* Q4_K and Q6_K repacked for AVX2: 8 rows interleaved at 4-byte granularity per 32-element
 * sub-block, scales (and mins) unpacked to bytes (packedk_avx2.c). */
KERN_PACKED_DECL(q4_K, avx2)
KERN_PACKED_DECL(q6_K, avx2)

/* Row blocking shared by the gemm drivers: rows are walked in chunks of about this many
 * weight bytes so a chunk stays in L2 while every token tile passes over it. */
#define KA2_CHUNK_BYTES (192 * 1024)

#endif
