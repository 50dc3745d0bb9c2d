/* packed_avx2.c - Q4_0 weights repacked at load time for AVX2, and their gemm.
 *
 * Layout: rows in groups of 8; for each 32-element block b of the group, 144 bytes:
 *   [8 x fp16 scale, rows 0..7] [4 steps x 32 bytes]
 * where step s holds, for row j at bytes 4j..4j+3, that row's qs[4s .. 4s+3]: low nibbles
 * are elements 4s..4s+3, high nibbles elements 16+4s..16+4s+3. The same size as the
 * original 8 x 18 bytes.
 *
 * Kernel: with the 4 activation bytes of a step broadcast to every 32-bit lane, one
 * maddubs over a step register gives, in lane j, row j's partial dot; 8 maddubs (4 steps x
 * low/high) are summed in int16 (at most 8 x 2 x 15 x 128 = 30720, no saturation) and one
 * madd turns them into eight exact int32 row sums. So a block costs about 6 vector ops per
 * row instead of ~14, the 8 outputs of a group come out in 8 lanes with no horizontal sum,
 * and the unpacked nibbles are shared by every token of the tile. Q4_0's offset of 8 is
 * applied in float: sum (q-8)*a = sum q*a - 8*sum a, with sum a per activation block
 * computed once per call. Each output is one accumulator chain over the blocks in order,
 * whatever the tile or thread, so results do not depend on the thread count. */
#include "avx2.h"

#define PQ_ROWS 8
#define PQ_BLOCK_BYTES 144 /* per group and block */
#define PQ_TOK 4           /* tokens per tile */
#define PQ_MAX_BLOCKS 4096 /* n <= 131072 elements per row */

size_t kern_pack_bytes_q4_0_avx2(int64_t n) { return (size_t)(n / 32) * PQ_BLOCK_BYTES; }

void kern_pack_q4_0_avx2(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst) {
    const int64_t nb = n / 32;
    const size_t gbytes = (size_t)nb * PQ_BLOCK_BYTES;
    for (int64_t g = g0; g < g1; g++) {
        uint8_t *out = (uint8_t *)dst + (size_t)g * gbytes;
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *ob = out + (size_t)b * PQ_BLOCK_BYTES;
            for (int j = 0; j < PQ_ROWS; j++) {
                const block_q4_0 *blk =
                    (const block_q4_0 *)((const uint8_t *)w + (size_t)(g * PQ_ROWS + j) * w_row_bytes) + b;
                memcpy(ob + 2 * j, &blk->d, 2);
                for (int s = 0; s < 4; s++) memcpy(ob + 16 + 32 * s + 4 * j, blk->qs + 4 * s, 4);
            }
        }
    }
}

KA2_INLINE __m256i bcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* Tile: one group of 8 rows x T tokens. corr[t * nb + b] = 8 * d_a * sum(a) of block b. */
KA2_INLINE void tile_q4_0(int T, int64_t nb, const uint8_t *g, const block_q8_0 *const *a, const float *corr,
                          float *y, int64_t ys) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    __m256 acc[PQ_TOK];
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *pb = g + (size_t)b * PQ_BLOCK_BYTES;
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)pb));
        __m256i lo[4], hi[4];
#pragma GCC unroll 4
        for (int s = 0; s < 4; s++) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(pb + 16 + 32 * s));
            lo[s] = _mm256_and_si256(x, m4);
            hi[s] = _mm256_and_si256(_mm256_srli_epi16(x, 4), m4);
        }
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) {
            const block_q8_0 *ab = a[t] + b;
            __m256i p = _mm256_maddubs_epi16(lo[0], bcast4(ab->qs));
            p = _mm256_add_epi16(p, _mm256_maddubs_epi16(hi[0], bcast4(ab->qs + 16)));
#pragma GCC unroll 3
            for (int s = 1; s < 4; s++) {
                p = _mm256_add_epi16(p, _mm256_maddubs_epi16(lo[s], bcast4(ab->qs + 4 * s)));
                p = _mm256_add_epi16(p, _mm256_maddubs_epi16(hi[s], bcast4(ab->qs + 16 + 4 * s)));
            }
            __m256 sum = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
            /* d_w * (d_a * sum(q*a) - 8 * d_a * sum(a)) */
            __m256 v = _mm256_fmsub_ps(_mm256_set1_ps(ka2_h2f(ab->d)), sum, _mm256_set1_ps(corr[t * nb + b]));
            acc[t] = _mm256_fmadd_ps(dw, v, acc[t]);
        }
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) _mm256_storeu_ps(y + (int64_t)t * ys, acc[t]);
}

void kern_gemm_packed_q4_0_avx2(int64_t n, const void *w, size_t group_bytes, const void *act, size_t act_row_bytes,
                                int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1) {
    const int64_t nb = n / 32;
    PP_ASSERT(nb <= PQ_MAX_BLOCKS); /* the model packs only rows up to this size */
    float corr[PQ_TOK * PQ_MAX_BLOCKS]; /* 64 KiB of stack */
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    for (int t0 = 0; t0 < n_tok; t0 += PQ_TOK) {
        const int T = n_tok - t0 < PQ_TOK ? n_tok - t0 : PQ_TOK;
        const block_q8_0 *a[PQ_TOK];
        for (int t = 0; t < T; t++) {
            a[t] = (const block_q8_0 *)((const uint8_t *)act + (size_t)(t0 + t) * act_row_bytes);
            for (int64_t b = 0; b < nb; b++) {
                __m256i q = _mm256_loadu_si256((const __m256i *)a[t][b].qs);
                __m256i s16 = _mm256_maddubs_epi16(ones8, q); /* pairs of a, exact */
                __m256i s32 = _mm256_madd_epi16(s16, ones16);
                __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
                h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
                h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
                corr[t * nb + b] = 8.0f * ka2_h2f(a[t][b].d) * (float)_mm_cvtsi128_si32(h);
            }
        }
        for (int64_t r = r0; r < r1; r += PQ_ROWS) {
            const uint8_t *g = (const uint8_t *)w + (size_t)(r / PQ_ROWS) * group_bytes;
            float *yt = y + (int64_t)t0 * y_stride + r;
            switch (T) {
            case 1: tile_q4_0(1, nb, g, a, corr, yt, y_stride); break;
            case 2: tile_q4_0(2, nb, g, a, corr, yt, y_stride); break;
            case 3: tile_q4_0(3, nb, g, a, corr, yt, y_stride); break;
            default: tile_q4_0(4, nb, g, a, corr, yt, y_stride); break;
            }
        }
    }
}
