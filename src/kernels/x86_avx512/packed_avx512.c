/* packed_avx512.c - Q4_0, Q5_0 and Q8_0 weights repacked at load time for AVX-512 VNNI, and their gemm.
 *
 * Layout (defined in ../kern_pack.h, KERN_PACK_Q*_X16; the reference pack is in generic/):
 * rows in groups of 16 (P5_ROWS, the traits' pack_rows); 32-bit lane r of a 64-byte
 * vector belongs to row r. Per group and 32-element block:
 *   [16 x fp16 scale, row r at 2r] (32 bytes)
 *   [n_vec x 64 bytes]: vector v holds row r's quant bytes 4v..4v+3 at 4r..4r+3.
 *   Q4_0: 4 vectors (288 bytes, the original 16 x 18): low nibbles are elements 4v..4v+3,
 *         high nibbles 16+4v..16+4v+3.
 *   Q5_0: as Q4_0, then 64 bytes of high bits (352 bytes, the original 16 x 22): for vector v,
 *         8 bytes for the low nibbles then 8 for the high ones, each the 64-bit mask (bit i
 *         for byte i of the vector) of the nibbles that get 0x10 added.
 *   Q8_0: 8 vectors (544 bytes, the original 16 x 34), each byte stored as q ^ 0x80, i.e. the
 *         signed quant plus 128 as an unsigned byte (0..255).
 *
 * Kernel: vpdpbusd multiplies unsigned weight bytes by signed activation bytes and adds each
 * group of 4 products into a 32-bit lane, exactly (no saturation). Every lane of a step meets
 * the same 4 activation bytes, so they come straight from the token's Q8_0 row as the
 * instruction's embedded broadcast ({1to16}: no separate broadcast, which would cost a vector
 * op per step). The Q4_0/Q5_0 low nibbles of vector v meet activation bytes 4v..4v+3, the high
 * ones 16+4v..; Q8_0 vector v meets bytes 4v... The weights' offset (8 for Q4_0 nibbles, 16
 * for Q5_0, 128 for the shifted Q8_0 bytes) is taken out in integers too: every lane starts
 * from -offset * sum(a), computed once per activation block and call. After a block's 8 steps,
 * lane r holds row r's exact integer dot; then in float acc += (d_w * d_a) * lane_sum. Each
 * output is that one chain over the blocks in order, with the same instructions in every
 * tile, so results do not depend on the tile, batch or thread count.
 *
 * Bounds: a lane adds 32 products of at most |255 * 128| plus the offset term, far below
 * 2^24, so the int32 sums are exact and their float conversion too. */
#include "avx512.h"

#include <stddef.h>

#define P5_ROWS 16
#define P5_SCALE_BYTES 32 /* per group and block: 16 fp16 scales */
#define P5_Q4_BLOCK_BYTES (P5_SCALE_BYTES + 4 * 64)
#define P5_Q5_BLOCK_BYTES (P5_Q4_BLOCK_BYTES + 64)
#define P5_Q8_BLOCK_BYTES (P5_SCALE_BYTES + 8 * 64)
#define P5_TOK 8           /* tokens per tile */
#define P5_MAX_BLOCKS 4096 /* n <= KERN_PACK_MAX_N elements per row */
_Static_assert(P5_MAX_BLOCKS * 32 >= KERN_PACK_MAX_N, "P5_MAX_BLOCKS");
_Static_assert(P5_Q4_BLOCK_BYTES == KERN_PQ_BLOCK_BYTES(P5_ROWS, GGUF_TTYPE_Q4_0) &&
                   P5_Q5_BLOCK_BYTES == KERN_PQ_BLOCK_BYTES(P5_ROWS, GGUF_TTYPE_Q5_0) &&
                   P5_Q4_BLOCK_BYTES == KERN_PQ_QH(P5_ROWS, GGUF_TTYPE_Q5_0) &&
                   P5_Q8_BLOCK_BYTES == KERN_PQ_BLOCK_BYTES(P5_ROWS, GGUF_TTYPE_Q8_0),
               "kern_pack.h: the x16 layouts");

/* Pack groups g0..g1-1: in_block bytes per source block, quant bytes at qs_off, n_vec vectors
 * per block (4 for Q4_0/Q5_0, 8 for Q8_0), each byte xor-ed with flip; q5_high adds the masks. */
static void pack_rows16(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst,
                        size_t in_block, size_t qs_off, int n_vec, size_t out_block, uint8_t flip, bool q5_high) {
    const int64_t nb = n / 32;
    for (int64_t g = g0; g < g1; g++) {
        uint8_t *out = (uint8_t *)dst + (size_t)g * (size_t)nb * out_block;
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *ob = out + (size_t)b * out_block;
            for (int r = 0; r < P5_ROWS; r++) {
                const uint8_t *blk = (const uint8_t *)w + (size_t)(g * P5_ROWS + r) * w_row_bytes + (size_t)b * in_block;
                memcpy(ob + 2 * r, blk, 2); /* d is the first field of all three blocks */
                const uint32_t flip4 = flip * 0x01010101u;
                for (int v = 0; v < n_vec; v++) { /* 4 bytes at a time (loading is bound by this loop) */
                    uint32_t q;
                    memcpy(&q, blk + qs_off + 4 * v, 4);
                    q ^= flip4;
                    memcpy(ob + P5_SCALE_BYTES + 64 * v + 4 * r, &q, 4);
                }
                if (q5_high) { /* element e's high bit is bit e of qh */
                    uint32_t qh;
                    memcpy(&qh, ((const block_q5_0 *)blk)->qh, 4);
                    for (int v = 0; v < 4; v++) { /* mask bit 4r + i is byte 4r + i of vector v */
                        ob[P5_Q4_BLOCK_BYTES + 16 * v + r / 2] &= (uint8_t)~(0x0F << (4 * (r % 2)));
                        ob[P5_Q4_BLOCK_BYTES + 16 * v + r / 2] |= (uint8_t)(((qh >> (4 * v)) & 0x0F) << (4 * (r % 2)));
                        ob[P5_Q4_BLOCK_BYTES + 16 * v + 8 + r / 2] &= (uint8_t)~(0x0F << (4 * (r % 2)));
                        ob[P5_Q4_BLOCK_BYTES + 16 * v + 8 + r / 2] |=
                            (uint8_t)(((qh >> (16 + 4 * v)) & 0x0F) << (4 * (r % 2)));
                    }
                }
            }
        }
    }
}

/* The inverse of pack_rows16 for one row (the layout keeps every bit of the blocks): the tied
 * output's embedding lookups read rows back from the packed copy. */
static void unpack_row16(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst, size_t in_block,
                         size_t qs_off, int n_vec, size_t out_block, uint8_t flip, bool q5_high) {
    const int64_t nb = n / 32;
    const uint8_t *grp = (const uint8_t *)packed + (size_t)(row / P5_ROWS) * group_bytes;
    const int r = (int)(row % P5_ROWS);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *ob = grp + (size_t)b * out_block;
        uint8_t *blk = (uint8_t *)dst + (size_t)b * in_block;
        memcpy(blk, ob + 2 * r, 2);
        for (int v = 0; v < n_vec; v++)
            for (int i = 0; i < 4; i++) blk[qs_off + 4 * v + i] = ob[P5_SCALE_BYTES + 64 * v + 4 * r + i] ^ flip;
        if (q5_high) {
            uint32_t qh = 0;
            for (int v = 0; v < 4; v++) {
                qh |= (uint32_t)((ob[P5_Q4_BLOCK_BYTES + 16 * v + r / 2] >> (4 * (r % 2))) & 0x0F) << (4 * v);
                qh |= (uint32_t)((ob[P5_Q4_BLOCK_BYTES + 16 * v + 8 + r / 2] >> (4 * (r % 2))) & 0x0F) << (16 + 4 * v);
            }
            memcpy(((block_q5_0 *)blk)->qh, &qh, 4);
        }
    }
}

void kern_unpack_row_q4_0_avx512(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst) {
    unpack_row16(n, packed, group_bytes, row, dst, sizeof(block_q4_0), offsetof(block_q4_0, qs), 4, P5_Q4_BLOCK_BYTES,
                 0, false);
}

void kern_unpack_row_q8_0_avx512(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst) {
    unpack_row16(n, packed, group_bytes, row, dst, sizeof(block_q8_0), offsetof(block_q8_0, qs), 8, P5_Q8_BLOCK_BYTES,
                 0x80, false);
}

void kern_unpack_row_q5_0_avx512(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst) {
    unpack_row16(n, packed, group_bytes, row, dst, sizeof(block_q5_0), offsetof(block_q5_0, qs), 4, P5_Q5_BLOCK_BYTES,
                 0, true);
}

size_t kern_pack_bytes_q4_0_avx512(int64_t n) { return (size_t)(n / 32) * P5_Q4_BLOCK_BYTES; }

void kern_pack_q4_0_avx512(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst) {
    pack_rows16(n, w, w_row_bytes, g0, g1, dst, sizeof(block_q4_0), offsetof(block_q4_0, qs), 4, P5_Q4_BLOCK_BYTES, 0,
                false);
}

size_t kern_pack_bytes_q8_0_avx512(int64_t n) { return (size_t)(n / 32) * P5_Q8_BLOCK_BYTES; }

void kern_pack_q8_0_avx512(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst) {
    pack_rows16(n, w, w_row_bytes, g0, g1, dst, sizeof(block_q8_0), offsetof(block_q8_0, qs), 8, P5_Q8_BLOCK_BYTES,
                0x80, false);
}

size_t kern_pack_bytes_q5_0_avx512(int64_t n) { return (size_t)(n / 32) * P5_Q5_BLOCK_BYTES; }

void kern_pack_q5_0_avx512(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst) {
    pack_rows16(n, w, w_row_bytes, g0, g1, dst, sizeof(block_q5_0), offsetof(block_q5_0, qs), 4, P5_Q5_BLOCK_BYTES, 0,
                true);
}

/* Per token and activation block: the integer start of every lane (-offset * sum(a)) and the
 * activation scale as float. */
typedef struct p5_act {
    int32_t neg_off;
    float d;
} p5_act;

KA5_INLINE __m512i bcast4(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

/* Tile: one group of 16 rows x T tokens. Q4_0, Q5_0 (q5: the Q4_0 block followed by the
 * high-bit masks, 0x10 added to the nibbles whose bit is set) or Q8_0 (q8). With gate (the
 * same rows' gate outputs, 16 floats per token), the outputs are geglu(gate) * outputs. */
KA5_INLINE void tile_any(bool q5, bool q8, int T, int64_t nb, const uint8_t *g, const block_q8_0 *const *a,
                         const p5_act *pa, float *y, int64_t ys, const float *gate) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), h10 = _mm512_set1_epi8(0x10);
    const size_t block_bytes = q8 ? P5_Q8_BLOCK_BYTES : q5 ? P5_Q5_BLOCK_BYTES : P5_Q4_BLOCK_BYTES;
    __m512 acc[P5_TOK];
#pragma GCC unroll 16
    for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *pb = g + (size_t)b * block_bytes;
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)pb));
        __m512i w[8];
        if (q8) {
#pragma GCC unroll 8
            for (int k = 0; k < 8; k++) w[k] = _mm512_loadu_si512(pb + P5_SCALE_BYTES + 64 * k);
        } else {
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) {
                const __m512i x = _mm512_loadu_si512(pb + P5_SCALE_BYTES + 64 * k);
                w[k] = _mm512_and_si512(x, m4);
                w[4 + k] = _mm512_and_si512(_mm512_srli_epi16(x, 4), m4);
            }
            if (q5) {
                uint64_t hb[8];
                memcpy(hb, pb + P5_Q4_BLOCK_BYTES, sizeof hb);
#pragma GCC unroll 4
                for (int k = 0; k < 4; k++) {
                    w[k] = _mm512_mask_add_epi8(w[k], _cvtu64_mask64(hb[2 * k]), w[k], h10);
                    w[4 + k] = _mm512_mask_add_epi8(w[4 + k], _cvtu64_mask64(hb[2 * k + 1]), w[4 + k], h10);
                }
            }
        }
        /* k-th step of every token, then the next: each token's 8 steps are one dependent chain */
        __m512i s[P5_TOK];
#pragma GCC unroll 16
        for (int t = 0; t < T; t++) s[t] = _mm512_set1_epi32(pa[t * nb + b].neg_off);
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++)
#pragma GCC unroll 16
            for (int t = 0; t < T; t++) s[t] = _mm512_dpbusd_epi32(s[t], w[k], bcast4(a[t][b].qs + 4 * k));
#pragma GCC unroll 16
        for (int t = 0; t < T; t++)
            acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(pa[t * nb + b].d)), _mm512_cvtepi32_ps(s[t]),
                                     acc[t]);
    }
    if (gate)
#pragma GCC unroll 16
        for (int t = 0; t < T; t++) _mm512_storeu_ps(y + (int64_t)t * ys, ka5_geglu16(_mm512_loadu_ps(gate + 16 * t), acc[t]));
    else
#pragma GCC unroll 16
        for (int t = 0; t < T; t++) _mm512_storeu_ps(y + (int64_t)t * ys, acc[t]);
}

KA5_INLINE void tile_q4_0(int T, int64_t nb, const uint8_t *g, const block_q8_0 *const *a, const p5_act *pa, float *y,
                          int64_t ys, const float *gate) {
    tile_any(false, false, T, nb, g, a, pa, y, ys, gate);
}
KA5_INLINE void tile_q5_0(int T, int64_t nb, const uint8_t *g, const block_q8_0 *const *a, const p5_act *pa, float *y,
                          int64_t ys, const float *gate) {
    tile_any(true, false, T, nb, g, a, pa, y, ys, gate);
}
KA5_INLINE void tile_q8_0(int T, int64_t nb, const uint8_t *g, const block_q8_0 *const *a, const p5_act *pa, float *y,
                          int64_t ys, const float *gate) {
    tile_any(false, true, T, nb, g, a, pa, y, ys, gate);
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
                           float *y, int64_t ys, const float *gate);

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

/* With w_up, w holds the gate rows and y gets geglu(gate) * up (the fused FFN input): each
 * tile's gate outputs wait in a 16 x P5_TOK buffer for the up tile of the same rows. With yq
 * too, two groups' results (32 rows x T tokens) wait in a buffer and leave as one Q8_0 block
 * per token, quantized like kern_act_q8_0_avx512f quantizes a whole row (blocks are
 * independent). */
KA5_INLINE void gemm_packed(p5_tile_fn tile, int32_t offset, int64_t n, const void *w, const void *w_up,
                            size_t group_bytes, const void *act, size_t act_row_bytes, int n_tok, float *y,
                            int64_t y_stride, int64_t r0, int64_t r1, void *yq, size_t yq_stride) {
    const int64_t nb = n / 32;
    PP_ASSERT(nb >= 1 && nb <= P5_MAX_BLOCKS); /* the model packs only rows up to KERN_PACK_MAX_N */
    PP_ASSERT(r0 % P5_ROWS == 0 && r1 % P5_ROWS == 0);
    p5_act pa[P5_PA_ENTRIES];
    const int group_tok = (int)(P5_PA_ENTRIES / nb / P5_TOK * P5_TOK); /* >= P5_TOK */
    const int64_t step = yq ? 2 * P5_ROWS : P5_ROWS; /* rows per inner step */
    PP_ASSERT(!yq || (w_up && r0 % step == 0 && r1 % step == 0));
    int64_t chunk = (int64_t)(P5_CHUNK_BYTES / (group_bytes * (w_up ? 2 : 1))) * P5_ROWS / step * step;
    if (chunk < step) chunk = step;
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
                for (int64_t r = c0; r < c1; r += step) {
                    const size_t off = (size_t)(r / P5_ROWS) * group_bytes;
                    const p5_act *pt = pa + (size_t)(t0 - s0) * (size_t)nb;
                    if (yq) {
                        float gate[P5_TOK * P5_ROWS], out[P5_TOK * 2 * P5_ROWS];
                        for (int h = 0; h < 2; h++) {
                            tile(T, nb, (const uint8_t *)w + off + (size_t)h * group_bytes, a, pt, gate, P5_ROWS, NULL);
                            tile(T, nb, (const uint8_t *)w_up + off + (size_t)h * group_bytes, a, pt,
                                 out + h * P5_ROWS, 2 * P5_ROWS, gate);
                        }
                        for (int t = 0; t < T; t++)
                            kern_act_q8_0_avx512f(out + t * 2 * P5_ROWS,
                                                 (uint8_t *)yq + (size_t)(t0 + t) * yq_stride +
                                                     (size_t)(r / 32) * sizeof(block_q8_0),
                                                 32);
                        continue;
                    }
                    float *yt = y + (int64_t)t0 * y_stride + r;
                    if (w_up) {
                        float gate[P5_TOK * P5_ROWS];
                        tile(T, nb, (const uint8_t *)w + off, a, pt, gate, P5_ROWS, NULL);
                        tile(T, nb, (const uint8_t *)w_up + off, a, pt, yt, y_stride, gate);
                    } else {
                        tile(T, nb, (const uint8_t *)w + off, a, pt, yt, y_stride, NULL);
                    }
                }
            }
        }
    }
}

/* One instance per tile size, so T is a constant inside the tile's loops. */
#define P5_TILES(name)                                                                            \
    static void name##_any(int T, int64_t nb, const uint8_t *g, const block_q8_0 *const *a,        \
                           const p5_act *pa, float *y, int64_t ys, const float *gate) {            \
        switch (T) {                                                                              \
        case 1: name(1, nb, g, a, pa, y, ys, gate); break;                                              \
        case 2: name(2, nb, g, a, pa, y, ys, gate); break;                                              \
        case 3: name(3, nb, g, a, pa, y, ys, gate); break;                                              \
        case 4: name(4, nb, g, a, pa, y, ys, gate); break;                                              \
        case 5: name(5, nb, g, a, pa, y, ys, gate); break;                                              \
        case 6: name(6, nb, g, a, pa, y, ys, gate); break;                                              \
        case 7: name(7, nb, g, a, pa, y, ys, gate); break;                                              \
        default: name(P5_TOK, nb, g, a, pa, y, ys, gate); break;                                        \
        }                                                                                         \
    }
P5_TILES(tile_q4_0)
P5_TILES(tile_q5_0)
P5_TILES(tile_q8_0)

/* The exported gemm and fused gate/up gemm of one type: its tile and weight offset. */
#define P5_GEMMS(type, offset)                                                                     \
    void kern_gemm_packed_##type##_avx512(int64_t n, const void *w, size_t group_bytes, const void *act, \
                                          size_t act_row_bytes, int n_tok, float *y, int64_t y_stride,  \
                                          int64_t r0, int64_t r1) {                                     \
        gemm_packed(tile_##type##_any, offset, n, w, NULL, group_bytes, act, act_row_bytes, n_tok, y,  \
                    y_stride, r0, r1, NULL, 0);                                                         \
    }                                                                                                   \
    void kern_gemm_packed_geglu_##type##_avx512(int64_t n, const void *w_gate, const void *w_up,        \
                                                size_t group_bytes, const void *act, size_t act_row_bytes, \
                                                int n_tok, float *y, int64_t y_stride, int64_t r0,      \
                                                int64_t r1, void *yq, size_t yq_stride) {               \
        gemm_packed(tile_##type##_any, offset, n, w_gate, w_up, group_bytes, act, act_row_bytes, n_tok, \
                    y, y_stride, r0, r1, yq, yq_stride);                                                \
    }
P5_GEMMS(q4_0, 8)
P5_GEMMS(q5_0, 16)
P5_GEMMS(q8_0, 128)
