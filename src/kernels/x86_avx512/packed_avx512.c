/* packed_avx512.c - Q4_0, Q5_0 and Q8_0 weights repacked at load time for AVX-512 VNNI, and their gemm.
 *
 * Layout: rows in groups of 8 (KERN_PACK_ROWS); per 32-element block of the group,
 *   [8 x fp16 scale, rows 0..7] [n_chunks x 64 bytes]
 * where chunk k holds, for row j at bytes 8j..8j+7, that row's quant bytes 8k..8k+7.
 *   Q4_0: 2 chunks (144 bytes, the original 8 x 18): low nibbles are elements 8k..8k+7,
 *         high nibbles elements 16+8k..16+8k+7.
 *   Q5_0: as Q4_0, then 32 bytes of high bits (176 bytes, the original 8 x 22): for chunk k,
 *         8 bytes for the low nibbles then 8 for the high ones, byte j holding row j's bits
 *         of elements 8k..8k+7 (resp. 16+8k..16+8k+7), bit i for element +i. So each
 *         8-byte run is the byte mask (bit 8j+i for byte 8j+i) of the chunk's nibbles
 *         that get 0x10 added.
 *   Q8_0: 4 chunks (272 bytes, the original 8 x 34), each byte stored as q ^ 0x80, i.e. the
 *         signed quant plus 128 as an unsigned byte (0..255).
 * (The AVX2 layout interleaves 4 bytes at a time; with 8 bytes, the 8 activation bytes a
 * chunk meets are one 64-bit broadcast, and row j owns 32-bit lanes 2j and 2j+1.)
 *
 * Kernel: vpdpbusd multiplies unsigned weight bytes by signed activation bytes and adds
 * each group of 4 products into a 32-bit lane, exactly (no saturation). With the chunk's
 * 8 activation bytes broadcast to every 64-bit lane, lanes 2j and 2j+1 collect row j's
 * partial dot, exactly in integers. The weights' offset (8 for Q4_0 nibbles, 16 for Q5_0, 128
 * for the shifted Q8_0 bytes) is taken out in integers too: the even lanes start from
 * -offset * sum(a), sum(a) computed once per activation block and call. Then, in float, each
 * lane accumulates acc += (d_w * d_a) * lane_sum over the blocks (d_w in both lanes of its
 * row), and after the last block row j's output is lane 2j + lane 2j+1. Each output is the
 * same two accumulator chains over the blocks in order with the same instructions in every
 * tile, so results do not depend on the tile, batch or thread count. (Adding the two lanes
 * in integers per block instead costs two more instructions per block and token.)
 *
 * Bounds: a lane adds at most 32 products of |255 * 128| plus the offset term, far below
 * 2^24, so the int32 sums are exact and their float conversion too. */
#include "avx512.h"

#include <stddef.h>

#define P5_ROWS 8
#define P5_Q4_BLOCK_BYTES 144 /* per group and block */
#define P5_Q5_BLOCK_BYTES 176
#define P5_Q8_BLOCK_BYTES 272
#define P5_TOK 8              /* tokens per tile */
#define P5_MAX_BLOCKS 4096    /* n <= KERN_PACK_MAX_N elements per row */
_Static_assert(P5_ROWS == KERN_PACK_ROWS, "group size");
_Static_assert(P5_MAX_BLOCKS * 32 >= KERN_PACK_MAX_N, "P5_MAX_BLOCKS");

/* Per group and block: row j's fp16 scale at 2j and its quant bytes 8k..8k+7 at
 * 16 + 64k + 8j for n_chunks chunks, each byte xor-ed with flip. */
static void pack_rows8(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst,
                       size_t in_block, size_t qs_off, int n_chunks, size_t out_block, uint8_t flip, bool q5_high) {
    const int64_t nb = n / 32;
    for (int64_t g = g0; g < g1; g++) {
        uint8_t *out = (uint8_t *)dst + (size_t)g * (size_t)nb * out_block;
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *ob = out + (size_t)b * out_block;
            for (int j = 0; j < P5_ROWS; j++) {
                const uint8_t *blk = (const uint8_t *)w + (size_t)(g * P5_ROWS + j) * w_row_bytes + (size_t)b * in_block;
                memcpy(ob + 2 * j, blk, 2); /* d is the first field of all three blocks */
                for (int k = 0; k < n_chunks; k++)
                    for (int i = 0; i < 8; i++) ob[16 + 64 * k + 8 * j + i] = blk[qs_off + 8 * k + i] ^ flip;
                if (q5_high) { /* element e's high bit is bit e of qh */
                    uint32_t qh;
                    memcpy(&qh, ((const block_q5_0 *)blk)->qh, 4);
                    for (int k = 0; k < 2; k++) {
                        ob[144 + 16 * k + j] = (uint8_t)(qh >> (8 * k));
                        ob[144 + 16 * k + 8 + j] = (uint8_t)(qh >> (16 + 8 * k));
                    }
                }
            }
        }
    }
}

/* The inverse of pack_rows8 for one row (the layout keeps every bit of the blocks): the tied
 * output's embedding lookups read rows back from the packed copy. */
static void unpack_row8(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst, size_t in_block,
                        size_t qs_off, int n_chunks, size_t out_block, uint8_t flip, bool q5_high) {
    const int64_t nb = n / 32;
    const uint8_t *grp = (const uint8_t *)packed + (size_t)(row / P5_ROWS) * group_bytes;
    const int j = (int)(row % P5_ROWS);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *ob = grp + (size_t)b * out_block;
        uint8_t *blk = (uint8_t *)dst + (size_t)b * in_block;
        memcpy(blk, ob + 2 * j, 2);
        for (int k = 0; k < n_chunks; k++)
            for (int i = 0; i < 8; i++) blk[qs_off + 8 * k + i] = ob[16 + 64 * k + 8 * j + i] ^ flip;
        if (q5_high) {
            uint32_t qh = 0;
            for (int k = 0; k < 2; k++)
                qh |= (uint32_t)ob[144 + 16 * k + j] << (8 * k) | (uint32_t)ob[144 + 16 * k + 8 + j] << (16 + 8 * k);
            memcpy(((block_q5_0 *)blk)->qh, &qh, 4);
        }
    }
}

void kern_unpack_row_q4_0_avx512(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst) {
    unpack_row8(n, packed, group_bytes, row, dst, sizeof(block_q4_0), offsetof(block_q4_0, qs), 2, P5_Q4_BLOCK_BYTES,
                0, false);
}

void kern_unpack_row_q8_0_avx512(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst) {
    unpack_row8(n, packed, group_bytes, row, dst, sizeof(block_q8_0), offsetof(block_q8_0, qs), 4, P5_Q8_BLOCK_BYTES,
                0x80, false);
}

void kern_unpack_row_q5_0_avx512(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst) {
    unpack_row8(n, packed, group_bytes, row, dst, sizeof(block_q5_0), offsetof(block_q5_0, qs), 2, P5_Q5_BLOCK_BYTES,
                0, true);
}

size_t kern_pack_bytes_q4_0_avx512(int64_t n) { return (size_t)(n / 32) * P5_Q4_BLOCK_BYTES; }

void kern_pack_q4_0_avx512(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst) {
    pack_rows8(n, w, w_row_bytes, g0, g1, dst, sizeof(block_q4_0), offsetof(block_q4_0, qs), 2, P5_Q4_BLOCK_BYTES, 0,
               false);
}

size_t kern_pack_bytes_q8_0_avx512(int64_t n) { return (size_t)(n / 32) * P5_Q8_BLOCK_BYTES; }

void kern_pack_q8_0_avx512(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst) {
    pack_rows8(n, w, w_row_bytes, g0, g1, dst, sizeof(block_q8_0), offsetof(block_q8_0, qs), 4, P5_Q8_BLOCK_BYTES,
               0x80, false);
}

size_t kern_pack_bytes_q5_0_avx512(int64_t n) { return (size_t)(n / 32) * P5_Q5_BLOCK_BYTES; }

void kern_pack_q5_0_avx512(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst) {
    pack_rows8(n, w, w_row_bytes, g0, g1, dst, sizeof(block_q5_0), offsetof(block_q5_0, qs), 2, P5_Q5_BLOCK_BYTES, 0,
               true);
}

/* Per token and activation block: the integer start of the even lanes (-offset * sum(a))
 * and the activation scale as float. */
typedef struct p5_act {
    int32_t neg_off;
    float d;
} p5_act;

KA5_INLINE __m512i bcast8(const int8_t *p) {
    int64_t v;
    memcpy(&v, p, 8);
    return _mm512_set1_epi64(v);
}

/* The 8 row scales of a group block as floats in both lanes of their row (2j and 2j+1). */
KA5_INLINE __m512 scales_pairs(const uint8_t *pb) {
    const __m256i x = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)pb));
    return _mm512_cvtph_ps(_mm256_or_si256(x, _mm256_slli_epi32(x, 16)));
}
/* Row j's two lanes added, to 8 consecutive floats. */
KA5_INLINE void store_rows(float *y, __m512 acc) {
    acc = _mm512_add_ps(acc, _mm512_castsi512_ps(_mm512_srli_epi64(_mm512_castps_si512(acc), 32)));
    _mm256_storeu_si256((__m256i *)y, _mm512_cvtepi64_epi32(_mm512_castps_si512(acc)));
}

/* One weight block of a group against one token's activation block: the four 64-byte chunks
 * c0..c3 meet activation bytes 0-7, 8-15, 16-23 and 24-31, in one chain (the 8 tokens of a
 * tile are 8 independent chains, enough to hide its latency). Returns
 * acc + d_w * d_a * (exact integer lane sums). */
KA5_INLINE __m512 block_fma(__m512 acc, __m512 dw, __m512i c0, __m512i c1, __m512i c2, __m512i c3, const int8_t *q,
                            const p5_act *p) {
    __m512i s0 = _mm512_dpbusd_epi32(_mm512_maskz_set1_epi32(0x5555, p->neg_off), c0, bcast8(q));
    s0 = _mm512_dpbusd_epi32(s0, c1, bcast8(q + 8));
    s0 = _mm512_dpbusd_epi32(s0, c2, bcast8(q + 16));
    s0 = _mm512_dpbusd_epi32(s0, c3, bcast8(q + 24));
    return _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(p->d)), _mm512_cvtepi32_ps(s0), acc);
}

/* Tile: one group of 8 rows x T tokens, Q4_0, or Q5_0 (q5: the Q4_0 block followed by the
 * high-bit masks, 0x10 added to the nibbles whose bit is set). */
KA5_INLINE void tile_q4_q5(bool q5, int T, int64_t nb, const uint8_t *g, const block_q8_0 *const *a,
                           const p5_act *pa, float *y, int64_t ys) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), h10 = _mm512_set1_epi8(0x10);
    const size_t block_bytes = q5 ? P5_Q5_BLOCK_BYTES : P5_Q4_BLOCK_BYTES;
    __m512 acc[P5_TOK];
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *pb = g + (size_t)b * block_bytes;
        const __m512 dw = scales_pairs(pb);
        const __m512i x0 = _mm512_loadu_si512(pb + 16), x1 = _mm512_loadu_si512(pb + 80);
        __m512i l0 = _mm512_and_si512(x0, m4), h0 = _mm512_and_si512(_mm512_srli_epi16(x0, 4), m4);
        __m512i l1 = _mm512_and_si512(x1, m4), h1 = _mm512_and_si512(_mm512_srli_epi16(x1, 4), m4);
        if (q5) {
            uint64_t hb[4];
            memcpy(hb, pb + 144, sizeof hb);
            l0 = _mm512_mask_add_epi8(l0, _cvtu64_mask64(hb[0]), l0, h10);
            h0 = _mm512_mask_add_epi8(h0, _cvtu64_mask64(hb[1]), h0, h10);
            l1 = _mm512_mask_add_epi8(l1, _cvtu64_mask64(hb[2]), l1, h10);
            h1 = _mm512_mask_add_epi8(h1, _cvtu64_mask64(hb[3]), h1, h10);
        }
#pragma GCC unroll 8
        for (int t = 0; t < T; t++) acc[t] = block_fma(acc[t], dw, l0, l1, h0, h1, a[t][b].qs, pa + t * nb + b);
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) store_rows(y + (int64_t)t * ys, acc[t]);
}

KA5_INLINE void tile_q4_0(int T, int64_t nb, const uint8_t *g, const block_q8_0 *const *a, const p5_act *pa,
                          float *y, int64_t ys) {
    tile_q4_q5(false, T, nb, g, a, pa, y, ys);
}

KA5_INLINE void tile_q5_0(int T, int64_t nb, const uint8_t *g, const block_q8_0 *const *a, const p5_act *pa,
                          float *y, int64_t ys) {
    tile_q4_q5(true, T, nb, g, a, pa, y, ys);
}

/* Tile: one group of 8 rows x T tokens, Q8_0 (bytes stored plus 128). */
KA5_INLINE void tile_q8_0(int T, int64_t nb, const uint8_t *g, const block_q8_0 *const *a, const p5_act *pa,
                          float *y, int64_t ys) {
    __m512 acc[P5_TOK];
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *pb = g + (size_t)b * P5_Q8_BLOCK_BYTES;
        const __m512 dw = scales_pairs(pb);
        const __m512i w0 = _mm512_loadu_si512(pb + 16), w1 = _mm512_loadu_si512(pb + 80);
        const __m512i w2 = _mm512_loadu_si512(pb + 144), w3 = _mm512_loadu_si512(pb + 208);
#pragma GCC unroll 8
        for (int t = 0; t < T; t++) acc[t] = block_fma(acc[t], dw, w0, w1, w2, w3, a[t][b].qs, pa + t * nb + b);
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; t++) store_rows(y + (int64_t)t * ys, acc[t]);
}

/* pa[t * nb + b] for the T tokens' activation blocks: -offset * sum(a) and d_a. */
static void act_sums(int T, int64_t nb, const block_q8_0 *const *a, int32_t offset, p5_act *pa) {
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    for (int t = 0; t < T; t++)
        for (int64_t b = 0; b < nb; b++) {
            /* sum of (a + 128) as unsigned bytes in four 64-bit lanes, then minus 32 * 128 */
            __m256i q = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)a[t][b].qs), flip);
            __m256i s = _mm256_sad_epu8(q, _mm256_setzero_si256());
            __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            h = _mm_add_epi64(h, _mm_unpackhi_epi64(h, h));
            const int32_t sum = (int32_t)_mm_cvtsi128_si64(h) - 32 * 128;
            pa[t * nb + b] = (p5_act){.neg_off = -offset * sum, .d = ka2_h2f(a[t][b].d)};
        }
}

typedef void (*p5_tile_fn)(int T, int64_t nb, const uint8_t *g, const block_q8_0 *const *a, const p5_act *pa,
                           float *y, int64_t ys);

/* Driver: rows are walked in chunks of about P5_CHUNK_BYTES of packed weights, and every
 * token tile passes over a chunk while it is in L2. The activation sums are computed once per
 * call for as many tokens as pa holds (all of them for n = 1152 up to 904 tokens; 144 for
 * n = 6912), so a longer batch passes over the weights once per such token group. */
#define P5_CHUNK_BYTES (256 * 1024)
#define P5_PA_ENTRIES (P5_TOK * P5_MAX_BLOCKS) /* 256 KiB of stack */

/* The activation rows of the token tile starting at t0 (at most P5_TOK, not past t_end) into
 * a; returns their count. */
KA5_INLINE int tile_rows(const void *act, size_t act_row_bytes, int t0, int t_end, const block_q8_0 **a) {
    const int T = t_end - t0 < P5_TOK ? t_end - t0 : P5_TOK;
    for (int t = 0; t < T; t++) a[t] = (const block_q8_0 *)((const uint8_t *)act + (size_t)(t0 + t) * act_row_bytes);
    return T;
}

KA5_INLINE void gemm_packed(p5_tile_fn tile, int32_t offset, int64_t n, const void *w, size_t group_bytes,
                            const void *act, size_t act_row_bytes, int n_tok, float *y, int64_t y_stride, int64_t r0,
                            int64_t r1) {
    const int64_t nb = n / 32;
    PP_ASSERT(nb >= 1 && nb <= P5_MAX_BLOCKS); /* the model packs only rows up to KERN_PACK_MAX_N */
    PP_ASSERT(r0 % P5_ROWS == 0 && r1 % P5_ROWS == 0);
    p5_act pa[P5_PA_ENTRIES];
    const int group_tok = (int)(P5_PA_ENTRIES / nb / P5_TOK * P5_TOK); /* >= P5_TOK */
    int64_t chunk = (int64_t)(P5_CHUNK_BYTES / group_bytes) * P5_ROWS;
    if (chunk < P5_ROWS) chunk = P5_ROWS;
    for (int s0 = 0; s0 < n_tok; s0 += group_tok) {
        const int s1 = n_tok - s0 < group_tok ? n_tok : s0 + group_tok;
        for (int t0 = s0; t0 < s1; t0 += P5_TOK) {
            const block_q8_0 *a[P5_TOK];
            const int T = tile_rows(act, act_row_bytes, t0, s1, a);
            act_sums(T, nb, a, offset, pa + (size_t)(t0 - s0) * (size_t)nb);
        }
        for (int64_t c0 = r0; c0 < r1; c0 += chunk) {
            const int64_t c1 = c0 + chunk < r1 ? c0 + chunk : r1;
            for (int t0 = s0; t0 < s1; t0 += P5_TOK) {
                const block_q8_0 *a[P5_TOK];
                const int T = tile_rows(act, act_row_bytes, t0, s1, a);
                for (int64_t r = c0; r < c1; r += P5_ROWS)
                    tile(T, nb, (const uint8_t *)w + (size_t)(r / P5_ROWS) * group_bytes, a,
                         pa + (size_t)(t0 - s0) * (size_t)nb, y + (int64_t)t0 * y_stride + r, y_stride);
            }
        }
    }
}

/* One instance per tile size, so T is a constant inside the tile's loops. */
#define P5_TILES(name)                                                                            \
    static void name##_any(int T, int64_t nb, const uint8_t *g, const block_q8_0 *const *a,        \
                           const p5_act *pa, float *y, int64_t ys) {                               \
        switch (T) {                                                                              \
        case 1: name(1, nb, g, a, pa, y, ys); break;                                              \
        case 2: name(2, nb, g, a, pa, y, ys); break;                                              \
        case 3: name(3, nb, g, a, pa, y, ys); break;                                              \
        case 4: name(4, nb, g, a, pa, y, ys); break;                                              \
        case 5: name(5, nb, g, a, pa, y, ys); break;                                              \
        case 6: name(6, nb, g, a, pa, y, ys); break;                                              \
        case 7: name(7, nb, g, a, pa, y, ys); break;                                              \
        default: name(8, nb, g, a, pa, y, ys); break;                                             \
        }                                                                                         \
    }
P5_TILES(tile_q4_0)
P5_TILES(tile_q5_0)
P5_TILES(tile_q8_0)

void kern_gemm_packed_q4_0_avx512(int64_t n, const void *w, size_t group_bytes, const void *act,
                                  size_t act_row_bytes, int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1) {
    gemm_packed(tile_q4_0_any, 8, n, w, group_bytes, act, act_row_bytes, n_tok, y, y_stride, r0, r1);
}

void kern_gemm_packed_q5_0_avx512(int64_t n, const void *w, size_t group_bytes, const void *act,
                                  size_t act_row_bytes, int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1) {
    gemm_packed(tile_q5_0_any, 16, n, w, group_bytes, act, act_row_bytes, n_tok, y, y_stride, r0, r1);
}

void kern_gemm_packed_q8_0_avx512(int64_t n, const void *w, size_t group_bytes, const void *act,
                                  size_t act_row_bytes, int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1) {
    gemm_packed(tile_q8_0_any, 128, n, w, group_bytes, act, act_row_bytes, n_tok, y, y_stride, r0, r1);
}
