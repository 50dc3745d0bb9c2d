/* packed_avx2.c - Q4_0, Q5_0 and Q8_0 weights repacked at load time for AVX2, and their gemm.
 *
 * Layout (defined in ../kern_pack.h, KERN_PACK_Q*_X8; the reference pack is in generic/):
 * rows in groups of 8; for each 32-element block b of the group, 144 bytes:
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
 * whatever the tile or thread, so results do not depend on the thread count.
 *
 * Q5_0 adds, per block, 32 bytes of high bits after the nibbles (176 bytes, again the
 * original size), laid out like a step: byte 4j+k holds row j's high bits of element 4s+k in
 * bit s and of element 16+4s+k in bit 4+s, for the four steps s. So one register has them in
 * the byte of the nibble they extend, and step s needs only a shift by 4-s (or s) and a mask
 * to put them at 0x10: two ops per half-step, once per block for all tokens of the tile. With
 * 5-bit quants the int16 sums are split in two halves (4 maddubs each: at most
 * 4 x 2 x 31 x 128 = 31744). Offset 16.
 *
 * Q8_0 (272 bytes per group and block, again the original 8 x 34): [8 x fp16 scale]
 * [8 steps x 32 bytes], step s holding row j's qs[4s .. 4s+3] at bytes 4j..4j+3. The weights
 * are signed, so each step uses maddubs(|w|, sign(a, w)): |w| as unsigned (128 for -128) and
 * a negated where w < 0 (zeroed where w == 0, whose product is 0 anyway). Activations are
 * within [-127, 127] (Q8_0 scales by amax / 127), so the negation never wraps. One maddubs
 * can reach 2 x 128 x 127 = 32512, so every step is widened to int32 by its own madd before
 * the adds. No offset. */
#include "avx2.h"

#include <stddef.h>

#define PQ_ROWS 8
#define PQ_BLOCK_BYTES 144 /* per group and block */
#define PQ_TOK 4           /* tokens per tile */
#define PQ_MAX_BLOCKS 4096 /* n <= 131072 elements per row */
_Static_assert(PQ_BLOCK_BYTES == KERN_PQ_BLOCK_BYTES(PQ_ROWS, GGUF_TTYPE_Q4_0), "kern_pack.h: Q4_0 x8");
_Static_assert(176 == KERN_PQ_BLOCK_BYTES(PQ_ROWS, GGUF_TTYPE_Q5_0) && 144 == KERN_PQ_QH(PQ_ROWS, GGUF_TTYPE_Q5_0),
               "kern_pack.h: Q5_0 x8");
_Static_assert(272 == KERN_PQ_BLOCK_BYTES(PQ_ROWS, GGUF_TTYPE_Q8_0) && 16 + 32 == KERN_PQ_QS(PQ_ROWS, 1, 0),
               "kern_pack.h: Q8_0 x8");

/* The three layouts share one shape: per group and block, row j's fp16 scale at 2j and its
 * qs[4s..4s+3] at 16 + 32s + 4j for n_steps steps; Q5_0 adds after them, per step, one byte
 * per row with the high bits of those elements (bits 0-3: 4s+k, bits 4-7: 16+4s+k). */
static void pack_interleaved(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst,
                             size_t in_block, size_t qs_off, int n_steps, size_t out_block, bool q5_high) {
    const int64_t nb = n / 32;
    for (int64_t g = g0; g < g1; g++) {
        uint8_t *out = (uint8_t *)dst + (size_t)g * (size_t)nb * out_block;
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *ob = out + (size_t)b * out_block;
            for (int j = 0; j < PQ_ROWS; j++) {
                const uint8_t *blk = (const uint8_t *)w + (size_t)(g * PQ_ROWS + j) * w_row_bytes + (size_t)b * in_block;
                memcpy(ob + 2 * j, blk, 2); /* d is the first field of every block */
                for (int s = 0; s < n_steps; s++) memcpy(ob + 16 + 32 * s + 4 * j, blk + qs_off + 4 * s, 4);
                if (q5_high) {
                    uint32_t qh;
                    memcpy(&qh, ((const block_q5_0 *)blk)->qh, 4);
                    for (int k = 0; k < 4; k++) {
                        uint32_t v = 0;
                        for (int s = 0; s < 4; s++)
                            v |= ((qh >> (4 * s + k)) & 1) << s | ((qh >> (16 + 4 * s + k)) & 1) << (4 + s);
                        ob[144 + 4 * j + k] = (uint8_t)v;
                    }
                }
            }
        }
    }
}

/* The inverse of pack_interleaved for one row (the layouts keep every bit of the blocks). */
static void unpack_interleaved(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst,
                               size_t in_block, size_t qs_off, int n_steps, size_t out_block, bool q5_high) {
    const int64_t nb = n / 32;
    const uint8_t *grp = (const uint8_t *)packed + (size_t)(row / PQ_ROWS) * group_bytes;
    const int j = (int)(row % PQ_ROWS);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *ob = grp + (size_t)b * out_block;
        uint8_t *blk = (uint8_t *)dst + (size_t)b * in_block;
        memcpy(blk, ob + 2 * j, 2);
        for (int s = 0; s < n_steps; s++) memcpy(blk + qs_off + 4 * s, ob + 16 + 32 * s + 4 * j, 4);
        if (q5_high) {
            uint32_t qh = 0;
            for (int k = 0; k < 4; k++) {
                const uint32_t v = ob[144 + 4 * j + k];
                for (int s = 0; s < 4; s++)
                    qh |= ((v >> s) & 1) << (4 * s + k) | ((v >> (4 + s)) & 1) << (16 + 4 * s + k);
            }
            memcpy(((block_q5_0 *)blk)->qh, &qh, 4);
        }
    }
}

/* One format's entry points: pack bytes, pack and unpack_row of BLOCK with n_steps steps of
 * qs and out_block bytes per group and block. */
#define PQ_FORMAT(ty, BLOCK, n_steps, out_block, q5_high)                                                       \
    size_t kern_pack_bytes_##ty##_avx2(int64_t n) { return (size_t)(n / 32) * (out_block); }                    \
    void kern_pack_##ty##_avx2(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst) { \
        pack_interleaved(n, w, w_row_bytes, g0, g1, dst, sizeof(BLOCK), offsetof(BLOCK, qs), n_steps,          \
                         out_block, q5_high);                                                                   \
    }                                                                                                           \
    void kern_unpack_row_##ty##_avx2(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst) { \
        unpack_interleaved(n, packed, group_bytes, row, dst, sizeof(BLOCK), offsetof(BLOCK, qs), n_steps,      \
                           out_block, q5_high);                                                                 \
    }

#define P5_BLOCK_BYTES 176
#define P8_BLOCK_BYTES 272
PQ_FORMAT(q4_0, block_q4_0, 4, PQ_BLOCK_BYTES, false)
PQ_FORMAT(q5_0, block_q5_0, 4, P5_BLOCK_BYTES, true)
PQ_FORMAT(q8_0, block_q8_0, 8, P8_BLOCK_BYTES, false)

KA2_INLINE __m256i bcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* Where block_sums puts token t's activation scale of block b as f32 in corr: converted once
 * per token tile and row chunk instead of once per 8-row group. */
KA2_INLINE int64_t scale_at(int64_t nb, int t, int64_t b) { return (PQ_TOK + t) * nb + b; }

/* Block b's exact int32 row sums sum q * a for each of the T tokens (Q4_0/Q5_0: the unsigned
 * quants, their offset is corr's), the weights unpacked once for all of them. */
KA2_INLINE void isums_q4_0(int T, const uint8_t *pb, const block_q8_0 *const *a, int64_t b, __m256i *si) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
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
        __m256i q[4];
#pragma GCC unroll 4
        for (int s = 0; s < 4; s++) /* a tree of adds keeps the dependency chains short */
            q[s] = _mm256_add_epi16(_mm256_maddubs_epi16(lo[s], bcast4(ab->qs + 4 * s)),
                                    _mm256_maddubs_epi16(hi[s], bcast4(ab->qs + 16 + 4 * s)));
        __m256i p = _mm256_add_epi16(_mm256_add_epi16(q[0], q[1]), _mm256_add_epi16(q[2], q[3]));
        si[t] = _mm256_madd_epi16(p, ones);
    }
}

/* Q5_0: as Q4_0 with the high bits or-ed in. */
KA2_INLINE void isums_q5_0(int T, const uint8_t *pb, const block_q8_0 *const *a, int64_t b, __m256i *si) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1), h10 = _mm256_set1_epi8(0x10);
    const __m256i hv = _mm256_loadu_si256((const __m256i *)(pb + 144));
    __m256i lo[4], hi[4];
#pragma GCC unroll 4
    for (int s = 0; s < 4; s++) {
        /* bit s -> 0x10 (low half), bit 4+s -> 0x10 (high half); 16-bit shifts only move
         * bits across bytes below bit 4 of the receiving byte, which the mask drops */
        __m256i x = _mm256_loadu_si256((const __m256i *)(pb + 16 + 32 * s));
        __m256i hl = _mm256_and_si256(_mm256_slli_epi16(hv, 4 - s), h10);
        __m256i hh = _mm256_and_si256(s ? _mm256_srli_epi16(hv, s) : hv, h10);
        lo[s] = _mm256_or_si256(_mm256_and_si256(x, m4), hl);
        hi[s] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(x, 4), m4), hh);
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) {
        const block_q8_0 *ab = a[t] + b;
        __m256i p0 = _mm256_add_epi16(_mm256_maddubs_epi16(lo[0], bcast4(ab->qs)),
                                      _mm256_maddubs_epi16(hi[0], bcast4(ab->qs + 16)));
        p0 = _mm256_add_epi16(p0, _mm256_maddubs_epi16(lo[1], bcast4(ab->qs + 4)));
        p0 = _mm256_add_epi16(p0, _mm256_maddubs_epi16(hi[1], bcast4(ab->qs + 20)));
        __m256i p1 = _mm256_add_epi16(_mm256_maddubs_epi16(lo[2], bcast4(ab->qs + 8)),
                                      _mm256_maddubs_epi16(hi[2], bcast4(ab->qs + 24)));
        p1 = _mm256_add_epi16(p1, _mm256_maddubs_epi16(lo[3], bcast4(ab->qs + 12)));
        p1 = _mm256_add_epi16(p1, _mm256_maddubs_epi16(hi[3], bcast4(ab->qs + 28)));
        si[t] = _mm256_add_epi32(_mm256_madd_epi16(p0, ones), _mm256_madd_epi16(p1, ones));
    }
}

/* Q8_0: signed weights through the sign trick. */
KA2_INLINE void isums_q8_0(int T, const uint8_t *pb, const block_q8_0 *const *a, int64_t b, __m256i *si) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i wq[8], aw[8];
#pragma GCC unroll 8
    for (int s = 0; s < 8; s++) {
        wq[s] = _mm256_loadu_si256((const __m256i *)(pb + 16 + 32 * s));
        aw[s] = _mm256_sign_epi8(wq[s], wq[s]);
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) {
        const block_q8_0 *ab = a[t] + b;
        __m256i q[8];
#pragma GCC unroll 8
        for (int s = 0; s < 8; s++)
            q[s] = _mm256_madd_epi16(_mm256_maddubs_epi16(aw[s], _mm256_sign_epi8(bcast4(ab->qs + 4 * s), wq[s])), ones);
        si[t] = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])),
                                 _mm256_add_epi32(_mm256_add_epi32(q[4], q[5]), _mm256_add_epi32(q[6], q[7])));
    }
}

/* Tile: one group of 8 rows x T tokens of format kind (a constant). Per block and token:
 * y += d_w * (d_a * sum(q*a) - offset * d_a * sum(a)) with corr[t * nb + b] the second term
 * (Q4_0, Q5_0), or y += (d_w * d_a) * sum(q*a) (Q8_0, no offset). */
enum { PQ_Q4_0, PQ_Q5_0, PQ_Q8_0 };
KA2_INLINE void tile_q(int kind, int T, int64_t nb, const uint8_t *g, const block_q8_0 *const *a, const float *corr,
                       float *y, int64_t ys) {
    const size_t block_bytes = kind == PQ_Q4_0 ? PQ_BLOCK_BYTES : kind == PQ_Q5_0 ? P5_BLOCK_BYTES : P8_BLOCK_BYTES;
    __m256 acc[PQ_TOK];
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *pb = g + (size_t)b * block_bytes;
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)pb));
        __m256i si[PQ_TOK];
        switch (kind) {
        case PQ_Q4_0: isums_q4_0(T, pb, a, b, si); break;
        case PQ_Q5_0: isums_q5_0(T, pb, a, b, si); break;
        default: isums_q8_0(T, pb, a, b, si); break;
        }
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) {
            const __m256 da = _mm256_broadcast_ss(&corr[scale_at(nb, t, b)]), sum = _mm256_cvtepi32_ps(si[t]);
            if (kind == PQ_Q8_0) acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, da), sum, acc[t]);
            else acc[t] = _mm256_fmadd_ps(dw, _mm256_fmsub_ps(da, sum, _mm256_set1_ps(corr[t * nb + b])), acc[t]);
        }
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) _mm256_storeu_ps(y + (int64_t)t * ys, acc[t]);
}

#define PQ_TILE(ty, KIND)                                                                                          \
    KA2_INLINE void tile_##ty(int T, int64_t nb, const uint8_t *g, const block_q8_0 *const *a, const float *corr, \
                              float *y, int64_t ys) {                                                             \
        tile_q(KIND, T, nb, g, a, corr, y, ys);                                                                   \
    }
PQ_TILE(q4_0, PQ_Q4_0)
PQ_TILE(q5_0, PQ_Q5_0)
PQ_TILE(q8_0, PQ_Q8_0)

/* corr[t * nb + b] = offset * d_a * sum(a) for the T tokens' activation blocks (when offset
 * is not 0) and corr[scale_at(nb, t, b)] = d_a. */
static void block_sums(int T, int64_t nb, const block_q8_0 *const *a, float offset, float *corr) {
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    for (int t = 0; t < T; t++)
        for (int64_t b = 0; b < nb; b++) {
            const float d = ka2_h2f(a[t][b].d);
            corr[scale_at(nb, t, b)] = d;
            if (offset == 0.0f) continue;
            __m256i q = _mm256_loadu_si256((const __m256i *)a[t][b].qs);
            __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, q), ones16); /* exact */
            __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
            h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
            h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
            corr[t * nb + b] = offset * d * (float)_mm_cvtsi128_si32(h);
        }
}

/* Drivers: rows are walked in chunks of about PQ_CHUNK_BYTES of packed weights, and every
 * token tile passes over a chunk while it is in L2 (block sums recomputed per chunk: cheap). */
#define PQ_CHUNK_BYTES (256 * 1024)

typedef void (*pq_tile_fn)(int T, int64_t nb, const uint8_t *g, const block_q8_0 *const *a, const float *corr,
                           float *y, int64_t ys);

KA2_INLINE void gemm_packed(pq_tile_fn tile, float offset, int64_t n, const void *w, size_t group_bytes,
                            const void *act, size_t act_row_bytes, int n_tok, float *y, int64_t y_stride, int64_t r0,
                            int64_t r1) {
    const int64_t nb = n / 32;
    PP_ASSERT(nb <= PQ_MAX_BLOCKS); /* the model packs only rows up to this size */
    float corr[2 * PQ_TOK * PQ_MAX_BLOCKS]; /* 128 KiB of stack */
    int64_t chunk = (int64_t)(PQ_CHUNK_BYTES / group_bytes) * PQ_ROWS;
    if (chunk < PQ_ROWS) chunk = PQ_ROWS;
    for (int64_t c0 = r0; c0 < r1; c0 += chunk) {
        const int64_t c1 = c0 + chunk < r1 ? c0 + chunk : r1;
        for (int t0 = 0; t0 < n_tok; t0 += PQ_TOK) {
            const int T = n_tok - t0 < PQ_TOK ? n_tok - t0 : PQ_TOK;
            const block_q8_0 *a[PQ_TOK];
            for (int t = 0; t < T; t++)
                a[t] = (const block_q8_0 *)((const uint8_t *)act + (size_t)(t0 + t) * act_row_bytes);
            block_sums(T, nb, a, offset, corr);
            for (int64_t r = c0; r < c1; r += PQ_ROWS)
                tile(T, nb, (const uint8_t *)w + (size_t)(r / PQ_ROWS) * group_bytes, a, corr,
                     y + (int64_t)t0 * y_stride + r, y_stride);
        }
    }
}

/* One instance per tile size, so T is a constant inside the tile's loops. */
#define PQ_TILES(name)                                                                   \
    static void name##_1(int T, int64_t nb, const uint8_t *g, const block_q8_0 *const *a,  \
                         const float *corr, float *y, int64_t ys) {                       \
        (void)T;                                                                         \
        name(1, nb, g, a, corr, y, ys);                                                  \
    }                                                                                    \
    static void name##_n(int T, int64_t nb, const uint8_t *g, const block_q8_0 *const *a,  \
                         const float *corr, float *y, int64_t ys) {                       \
        switch (T) {                                                                     \
        case 2: name(2, nb, g, a, corr, y, ys); break;                                   \
        case 3: name(3, nb, g, a, corr, y, ys); break;                                   \
        default: name(4, nb, g, a, corr, y, ys); break;                                  \
        }                                                                                \
    }                                                                                    \
    static void name##_any(int T, int64_t nb, const uint8_t *g, const block_q8_0 *const *a, \
                           const float *corr, float *y, int64_t ys) {                     \
        if (T == 1) name##_1(T, nb, g, a, corr, y, ys);                                  \
        else name##_n(T, nb, g, a, corr, y, ys);                                         \
    }
PQ_TILES(tile_q4_0)
PQ_TILES(tile_q5_0)
PQ_TILES(tile_q8_0)

void kern_gemm_packed_q4_0_avx2(int64_t n, const void *w, size_t group_bytes, const void *act, size_t act_row_bytes,
                                int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1) {
    gemm_packed(tile_q4_0_any, 8.0f, n, w, group_bytes, act, act_row_bytes, n_tok, y, y_stride, r0, r1);
}

void kern_gemm_packed_q5_0_avx2(int64_t n, const void *w, size_t group_bytes, const void *act, size_t act_row_bytes,
                                int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1) {
    gemm_packed(tile_q5_0_any, 16.0f, n, w, group_bytes, act, act_row_bytes, n_tok, y, y_stride, r0, r1);
}

void kern_gemm_packed_q8_0_avx2(int64_t n, const void *w, size_t group_bytes, const void *act, size_t act_row_bytes,
                                int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1) {
    gemm_packed(tile_q8_0_any, 0.0f, n, w, group_bytes, act, act_row_bytes, n_tok, y, y_stride, r0, r1);
}
