/* packedk_avx2.c - Q4_K weights repacked at load time for AVX2, and their gemm against Q8_K.
 *
 * Layout: rows in groups of 8; for each 256-element super-block b of the group, 1184 bytes
 * (the original 8 x 144 plus 32):
 *   [  0] 8 x fp16 d, rows 0..7          [ 16] 8 x fp16 dmin, rows 0..7
 *   [ 32] 8 sub-blocks j x 8 rows: the 6-bit scale sc_j of row r at 32 + 8j + r
 *   [ 96] 4 sub-block pairs k x 8 rows x 2: mins m_2k, m_2k+1 of row r at 96 + 16k + 2r (+1)
 *   [160] 8 sub-blocks j x 4 steps s x 32 bytes: row r's 4 bytes at 160 + 128j + 32s + 4r,
 *         byte i holding element 32j + 4s + i (low nibble) and 32j + 16 + 4s + i (high nibble)
 * So every 32-element sub-block is a Q4_0-shaped block of 8 rows (packed_avx2.c) and is
 * multiplied the same way: with 4 activation bytes broadcast to every 32-bit lane, one
 * maddubs gives row r's partial dot in lane r; the 8 maddubs of a sub-block are summed in
 * int16 (at most 8 x 2 x 15 x 128 = 30720: no saturation), and one madd with (sc_j, sc_j) per
 * lane applies the row's scale and widens to int32 (exact). The min term uses the Q8_K bsums:
 * with bs_j = bsum_2j + bsum_2j+1 (|bs_j| <= 32 x 128, an int16), madd of the (m_2k, m_2k+1)
 * pairs with a broadcast (bs_2k, bs_2k+1) gives sum_j m_j * bs_j per row in 4 madds. Per
 * super-block and token:
 *     y += (d * da) * sum_j sc_j * (sum_{e in j} q * qa)  -  (dmin * da) * sum_j m_j * bs_j
 * in f32, which is the reference's formula (quant-formats.md §5) with the float products
 * rounded instead of computed in double. The nibbles are unpacked once per super-block and
 * shared by every token of the tile; each output is one accumulator chain over the
 * super-blocks in order, whatever the tile or thread, so results do not depend on the thread
 * count. ref: shared/spec/quant-formats.md §3.3, §5; generic/dot_generic.c. */
#include "avx2.h"

#include <stddef.h>

#define PK_ROWS 8
#define PK_TOK 4                        /* tokens per tile */
#define PK_MAX_SB (KERN_PACK_MAX_N / 256) /* super-blocks per row at most */
#define PK_CHUNK_BYTES (256 * 1024)     /* packed weight bytes per row chunk (L2) */

#define P4K_D 0
#define P4K_DMIN 16
#define P4K_SC 32
#define P4K_MN 96
#define P4K_QS 160
#define P4K_BYTES 1184

size_t kern_pack_bytes_q4_K_avx2(int64_t n) { return (size_t)(n / QK_K) * P4K_BYTES; }

/* the 6-bit scales and mins of a Q4_K block (quant-formats.md §3.3) */
static void q4k_scale_min(const uint8_t *b, uint8_t *sc, uint8_t *mn) {
    for (int j = 0; j < 4; j++) {
        sc[j] = b[j] & 63;
        mn[j] = b[j + 4] & 63;
        sc[j + 4] = (uint8_t)((b[j + 8] & 0xF) | ((b[j] >> 6) << 4));
        mn[j + 4] = (uint8_t)((b[j + 8] >> 4) | ((b[j + 4] >> 6) << 4));
    }
}

void kern_pack_q4_K_avx2(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst) {
    const int64_t nb = n / QK_K;
    for (int64_t g = g0; g < g1; g++) {
        uint8_t *out = (uint8_t *)dst + (size_t)g * (size_t)nb * P4K_BYTES;
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *ob = out + (size_t)b * P4K_BYTES;
            for (int r = 0; r < PK_ROWS; r++) {
                const block_q4_K *x =
                    (const block_q4_K *)((const uint8_t *)w + (size_t)(g * PK_ROWS + r) * w_row_bytes) + b;
                uint8_t sc[8], mn[8];
                memcpy(ob + P4K_D + 2 * r, &x->d, 2);
                memcpy(ob + P4K_DMIN + 2 * r, &x->dmin, 2);
                q4k_scale_min(x->scales, sc, mn);
                for (int j = 0; j < 8; j++) {
                    ob[P4K_SC + 8 * j + r] = sc[j];
                    ob[P4K_MN + 16 * (j / 2) + 2 * r + j % 2] = mn[j];
                }
                /* sub-block j is nibble j % 2 of qs[32 * (j / 2) .. + 31]; four bytes at a time */
                for (int j = 0; j < 8; j++) {
                    const uint8_t *q = x->qs + 32 * (j / 2);
                    for (int s = 0; s < 4; s++) {
                        uint32_t lo, hi, v;
                        memcpy(&lo, q + 4 * s, 4);      /* elements 4s..4s+3 of the sub-block */
                        memcpy(&hi, q + 16 + 4 * s, 4); /* elements 16+4s..16+4s+3 */
                        if (j % 2) v = ((lo >> 4) & 0x0F0F0F0Fu) | (hi & 0xF0F0F0F0u);
                        else v = (lo & 0x0F0F0F0Fu) | ((hi << 4) & 0xF0F0F0F0u);
                        memcpy(ob + P4K_QS + 128 * j + 32 * s + 4 * r, &v, 4);
                    }
                }
            }
        }
    }
}

/* The inverse of kern_pack_q4_K_avx2 for one row: every bit of the blocks is kept (the 12
 * scale bytes hold exactly the 16 six-bit values). */
void kern_unpack_row_q4_K_avx2(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst) {
    const int64_t nb = n / QK_K;
    const uint8_t *grp = (const uint8_t *)packed + (size_t)(row / PK_ROWS) * group_bytes;
    const int r = (int)(row % PK_ROWS);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *ob = grp + (size_t)b * P4K_BYTES;
        block_q4_K *x = (block_q4_K *)dst + b;
        uint8_t sc[8], mn[8];
        memcpy(&x->d, ob + P4K_D + 2 * r, 2);
        memcpy(&x->dmin, ob + P4K_DMIN + 2 * r, 2);
        for (int j = 0; j < 8; j++) {
            sc[j] = ob[P4K_SC + 8 * j + r];
            mn[j] = ob[P4K_MN + 16 * (j / 2) + 2 * r + j % 2];
        }
        for (int j = 0; j < 4; j++) {
            x->scales[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
            x->scales[j + 4] = (uint8_t)(mn[j] | (mn[j + 4] >> 4) << 6);
            x->scales[j + 8] = (uint8_t)((sc[j + 4] & 0xF) | (mn[j + 4] & 0xF) << 4);
        }
        for (int c = 0; c < 4; c++)
            for (int s = 0; s < 4; s++) {
                uint32_t v0, v1, lo, hi; /* sub-blocks 2c (low nibbles of qs) and 2c+1 (high) */
                memcpy(&v0, ob + P4K_QS + 128 * (2 * c) + 32 * s + 4 * r, 4);
                memcpy(&v1, ob + P4K_QS + 128 * (2 * c + 1) + 32 * s + 4 * r, 4);
                lo = (v0 & 0x0F0F0F0Fu) | ((v1 & 0x0F0F0F0Fu) << 4);
                hi = ((v0 >> 4) & 0x0F0F0F0Fu) | (v1 & 0xF0F0F0F0u);
                memcpy(x->qs + 32 * c + 4 * s, &lo, 4);
                memcpy(x->qs + 32 * c + 16 + 4 * s, &hi, 4);
            }
    }
}


KA2_INLINE __m256i bcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* pairs[(t * nb + b) * 4 + k] = the int16 pair (bs_2k, bs_2k+1) of token t's super-block b */
static void q4k_bsum_pairs(int T, int64_t nb, const block_q8_K *const *a, int32_t *pairs) {
    for (int t = 0; t < T; t++)
        for (int64_t b = 0; b < nb; b++) {
            const int16_t *bs = a[t][b].bsums;
            for (int k = 0; k < 4; k++) {
                const uint16_t lo = (uint16_t)(bs[4 * k] + bs[4 * k + 1]), hi = (uint16_t)(bs[4 * k + 2] + bs[4 * k + 3]);
                pairs[((int64_t)t * nb + b) * 4 + k] = (int32_t)((uint32_t)lo | (uint32_t)hi << 16);
            }
        }
}

/* Tile: one group of 8 rows x T tokens. */
KA2_INLINE void tile_q4_K(int T, int64_t nb, const uint8_t *g, const block_q8_K *const *a, const int32_t *pairs,
                          float *y, int64_t ys) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc[PK_TOK];
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *pb = g + (size_t)b * P4K_BYTES;
        __m256i isum[PK_TOK];
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) isum[t] = _mm256_setzero_si256();
        for (int j = 0; j < 8; j++) {
            const uint8_t *pq = pb + P4K_QS + 128 * j;
            const __m128i s8 = _mm_loadl_epi64((const __m128i *)(pb + P4K_SC + 8 * j));
            const __m256i sc = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(s8, s8)); /* (sc, sc) per row */
            __m256i lo[4], hi[4];
#pragma GCC unroll 4
            for (int s = 0; s < 4; s++) {
                __m256i x = _mm256_loadu_si256((const __m256i *)(pq + 32 * s));
                lo[s] = _mm256_and_si256(x, m4);
                hi[s] = _mm256_and_si256(_mm256_srli_epi16(x, 4), m4);
            }
#pragma GCC unroll 4
            for (int t = 0; t < T; t++) {
                const int8_t *aq = a[t][b].qs + 32 * j;
                __m256i q[4];
#pragma GCC unroll 4
                for (int s = 0; s < 4; s++)
                    q[s] = _mm256_add_epi16(_mm256_maddubs_epi16(lo[s], bcast4(aq + 4 * s)),
                                            _mm256_maddubs_epi16(hi[s], bcast4(aq + 16 + 4 * s)));
                __m256i p = _mm256_add_epi16(_mm256_add_epi16(q[0], q[1]), _mm256_add_epi16(q[2], q[3]));
                isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(p, sc));
            }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(pb + P4K_D)));
        const __m256 dm = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(pb + P4K_DMIN)));
        __m256i mn[4];
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) mn[k] = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(pb + P4K_MN + 16 * k)));
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) {
            const int32_t *pr = pairs + ((int64_t)t * nb + b) * 4;
            __m256i ms = _mm256_add_epi32(
                _mm256_add_epi32(_mm256_madd_epi16(mn[0], _mm256_set1_epi32(pr[0])),
                                 _mm256_madd_epi16(mn[1], _mm256_set1_epi32(pr[1]))),
                _mm256_add_epi32(_mm256_madd_epi16(mn[2], _mm256_set1_epi32(pr[2])),
                                 _mm256_madd_epi16(mn[3], _mm256_set1_epi32(pr[3]))));
            const __m256 da = _mm256_set1_ps(a[t][b].d);
            acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(isum[t]), acc[t]);
            acc[t] = _mm256_fnmadd_ps(_mm256_mul_ps(dm, da), _mm256_cvtepi32_ps(ms), acc[t]);
        }
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) _mm256_storeu_ps(y + (int64_t)t * ys, acc[t]);
}

typedef void (*pk_tile_fn)(int T, int64_t nb, const uint8_t *g, const block_q8_K *const *a, const int32_t *pairs,
                           float *y, int64_t ys);

/* Driver: rows are walked in chunks of about PK_CHUNK_BYTES of packed weights, and every
 * token tile passes over a chunk while it is in L2 (bsum pairs recomputed per chunk: cheap). */
KA2_INLINE void gemm_packed_k(pk_tile_fn tile, bool need_pairs, int64_t n, const void *w, size_t group_bytes,
                              const void *act, size_t act_row_bytes, int n_tok, float *y, int64_t y_stride, int64_t r0,
                              int64_t r1) {
    const int64_t nb = n / QK_K;
    PP_ASSERT(nb <= PK_MAX_SB); /* the model packs only rows up to this size */
    int32_t pairs[PK_TOK * PK_MAX_SB * 4]; /* 32 KiB of stack */
    int64_t chunk = (int64_t)(PK_CHUNK_BYTES / group_bytes) * PK_ROWS;
    if (chunk < PK_ROWS) chunk = PK_ROWS;
    for (int64_t c0 = r0; c0 < r1; c0 += chunk) {
        const int64_t c1 = c0 + chunk < r1 ? c0 + chunk : r1;
        for (int t0 = 0; t0 < n_tok; t0 += PK_TOK) {
            const int T = n_tok - t0 < PK_TOK ? n_tok - t0 : PK_TOK;
            const block_q8_K *a[PK_TOK];
            for (int t = 0; t < T; t++)
                a[t] = (const block_q8_K *)((const uint8_t *)act + (size_t)(t0 + t) * act_row_bytes);
            if (need_pairs) q4k_bsum_pairs(T, nb, a, pairs);
            for (int64_t r = c0; r < c1; r += PK_ROWS)
                tile(T, nb, (const uint8_t *)w + (size_t)(r / PK_ROWS) * group_bytes, a, pairs,
                     y + (int64_t)t0 * y_stride + r, y_stride);
        }
    }
}

/* One instance per tile size, so T is a constant inside the tile's loops. */
#define PK_TILES(name)                                                                        \
    static void name##_any(int T, int64_t nb, const uint8_t *g, const block_q8_K *const *a,     \
                           const int32_t *pairs, float *y, int64_t ys) {                      \
        switch (T) {                                                                          \
        case 1: name(1, nb, g, a, pairs, y, ys); break;                                       \
        case 2: name(2, nb, g, a, pairs, y, ys); break;                                       \
        case 3: name(3, nb, g, a, pairs, y, ys); break;                                       \
        default: name(4, nb, g, a, pairs, y, ys); break;                                      \
        }                                                                                     \
    }
PK_TILES(tile_q4_K)

void kern_gemm_packed_q4_K_avx2(int64_t n, const void *w, size_t group_bytes, const void *act, size_t act_row_bytes,
                                int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1) {
    gemm_packed_k(tile_q4_K_any, true, n, w, group_bytes, act, act_row_bytes, n_tok, y, y_stride, r0, r1);
}
