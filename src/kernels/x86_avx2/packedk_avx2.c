/* packedk_avx2.c - Q4_K and Q6_K weights repacked at load time for AVX2, and their gemm against
 * Q8_K.
 *
 * Q4_K layout: rows in groups of 8; for each 256-element super-block b of the group, 1184 bytes
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
 * count.
 *
 * Q6_K layout (1680 bytes per group and super-block, the original 8 x 210): the 6-bit quants
 * u = q + 32 (0..63) are split into a nibble plane shaped like Q4_K's and a plane of the top
 * two bits, so the weights stay 6.5 bits each:
 *   [  0] 8 x fp16 d
 *   [ 16] 8 sub-blocks j x 16 bytes: int8 scale of 16-group 2j of row r at 16 + 16j + r, of
 *         group 2j+1 at 16 + 16j + 8 + r
 *   [144] 8 sub-blocks j x 192 bytes: 4 nibble steps as for Q4_K (low nibble: element
 *         32j + 4s + i, high nibble: 32j + 16 + 4s + i), then 2 registers of high bits: byte
 *         4r + i of register h holds the top bits of the four elements that byte i of steps 2h
 *         (bits 0-3) and 2h+1 (bits 4-7) hold, low-nibble element first.
 * A shift and a mask put each pair of top bits at bit 4 of its byte. Here the low nibbles of
 * a sub-block are exactly group 2j and the high nibbles group 2j+1, so each takes its own
 * scale. With u <= 63 two maddubs at most make 2 x 2 x 63 x 128 = 32256 (no saturation), so
 * each pair is widened by its own madd with (sc, sc). The offset 32 is taken off as an
 * integer: 32 * sum_g sc_g * bsum_g, from madd of (32 sc_2j, 32 sc_2j+1) with the broadcast
 * bsum pair (|32 sc| <= 4096 fits int16; every int32 sum stays below 2^29). Then
 *     y += (d * da) * (sum_g sc_g * sum_{e in g} u * qa  -  32 * sum_g sc_g * bsum_g).
 * ref: shared/spec/quant-formats.md §3.3, §3.5, §5; generic/dot_generic.c. */
#include "avx2.h"

#include <stddef.h>

#define PK_ROWS 8
#define PK_TOK KA2_PK_TOK               /* tokens per tile */
#define PK_MAX_SB (KERN_PACK_MAX_N / 256) /* super-blocks per row at most */
#define PK_CHUNK_BYTES (256 * 1024)     /* packed weight bytes per row chunk (L2) */

/* The walk shared by both formats' pack: row r of group g's super-block b, an in_block-byte
 * block, goes to out_block bytes at (g * nb + b) * out_block by pack_block. */
typedef void (*pk_block_fn)(const void *blk, int r, uint8_t *ob);
static void pack_groups(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst,
                        size_t in_block, size_t out_block, pk_block_fn pack_block) {
    const int64_t nb = n / QK_K;
    for (int64_t g = g0; g < g1; g++)
        for (int64_t b = 0; b < nb; b++)
            for (int r = 0; r < PK_ROWS; r++)
                pack_block((const uint8_t *)w + (size_t)(g * PK_ROWS + r) * w_row_bytes + (size_t)b * in_block, r,
                           (uint8_t *)dst + (size_t)(g * nb + b) * out_block);
}

/* Its inverse for one row: unpack_block writes row r's block of each super-block. */
typedef void (*pk_unblock_fn)(const uint8_t *ob, int r, void *blk);
static void unpack_row(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst, size_t in_block,
                       size_t out_block, pk_unblock_fn unpack_block) {
    const uint8_t *grp = (const uint8_t *)packed + (size_t)(row / PK_ROWS) * group_bytes;
    for (int64_t b = 0; b < n / QK_K; b++)
        unpack_block(grp + (size_t)b * out_block, (int)(row % PK_ROWS), (uint8_t *)dst + (size_t)b * in_block);
}

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

static void pack_block_q4_K(const void *blk, int r, uint8_t *ob) {
    const block_q4_K *x = blk;
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

void kern_pack_q4_K_avx2(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst) {
    pack_groups(n, w, w_row_bytes, g0, g1, dst, sizeof(block_q4_K), P4K_BYTES, pack_block_q4_K);
}

/* The inverse of pack_block_q4_K: every bit of the block is kept (the 12 scale bytes hold
 * exactly the 16 six-bit values). */
static void unpack_block_q4_K(const uint8_t *ob, int r, void *blk) {
    block_q4_K *x = blk;
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

void kern_unpack_row_q4_K_avx2(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst) {
    unpack_row(n, packed, group_bytes, row, dst, sizeof(block_q4_K), P4K_BYTES, unpack_block_q4_K);
}

size_t kern_pack_bytes_q6_K_avx2(int64_t n) { return (size_t)(n / QK_K) * P6K_BYTES; }

/* u[e] = q[e] + 32 (0..63) of a Q6_K block (quant-formats.md §3.5) */
static void q6k_unpack(const block_q6_K *x, uint8_t *u) {
    for (int h = 0; h < 2; h++)
        for (int l = 0; l < 32; l++) {
            const uint8_t l0 = x->ql[64 * h + l], l1 = x->ql[64 * h + 32 + l], qh = x->qh[32 * h + l];
            uint8_t *o = u + 128 * h + l;
            o[0] = (uint8_t)((l0 & 0xF) | (qh & 3) << 4);
            o[32] = (uint8_t)((l1 & 0xF) | ((qh >> 2) & 3) << 4);
            o[64] = (uint8_t)((l0 >> 4) | ((qh >> 4) & 3) << 4);
            o[96] = (uint8_t)((l1 >> 4) | ((qh >> 6) & 3) << 4);
        }
}

static void pack_block_q6_K(const void *blk, int r, uint8_t *ob) {
    const block_q6_K *x = blk;
    uint8_t u[QK_K];
    memcpy(ob + P6K_D + 2 * r, &x->d, 2);
    q6k_unpack(x, u);
    for (int j = 0; j < 8; j++) {
        ob[P6K_SC + 16 * j + r] = (uint8_t)x->scales[2 * j];
        ob[P6K_SC + 16 * j + 8 + r] = (uint8_t)x->scales[2 * j + 1];
        const uint8_t *us = u + 32 * j;
        uint8_t *os = ob + P6K_QS + P6K_SUB * j;
        for (int s = 0; s < 4; s++)
            for (int i = 0; i < 4; i++) {
                const uint8_t lo = us[4 * s + i], hi = us[16 + 4 * s + i];
                os[32 * s + 4 * r + i] = (uint8_t)((lo & 0xF) | (hi & 0xF) << 4);
                uint8_t *hb = os + 128 + 32 * (s / 2) + 4 * r + i;
                *hb = (uint8_t)((s % 2 ? *hb : 0) | ((lo >> 4) | (hi >> 4) << 2) << (4 * (s % 2)));
            }
    }
}

void kern_pack_q6_K_avx2(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst) {
    pack_groups(n, w, w_row_bytes, g0, g1, dst, sizeof(block_q6_K), P6K_BYTES, pack_block_q6_K);
}

/* The inverse of pack_block_q6_K. */
static void unpack_block_q6_K(const uint8_t *ob, int r, void *blk) {
    block_q6_K *x = blk;
    uint8_t u[QK_K];
    memcpy(&x->d, ob + P6K_D + 2 * r, 2);
    for (int j = 0; j < 8; j++) {
        x->scales[2 * j] = (int8_t)ob[P6K_SC + 16 * j + r];
        x->scales[2 * j + 1] = (int8_t)ob[P6K_SC + 16 * j + 8 + r];
        const uint8_t *os = ob + P6K_QS + P6K_SUB * j;
        for (int s = 0; s < 4; s++)
            for (int i = 0; i < 4; i++) {
                const uint8_t q = os[32 * s + 4 * r + i];
                const uint8_t hb = (uint8_t)(os[128 + 32 * (s / 2) + 4 * r + i] >> (4 * (s % 2)));
                u[32 * j + 4 * s + i] = (uint8_t)((q & 0xF) | (hb & 3) << 4);
                u[32 * j + 16 + 4 * s + i] = (uint8_t)((q >> 4) | ((hb >> 2) & 3) << 4);
            }
    }
    for (int h = 0; h < 2; h++)
        for (int l = 0; l < 32; l++) {
            const uint8_t *e = u + 128 * h + l;
            x->ql[64 * h + l] = (uint8_t)((e[0] & 0xF) | (e[64] & 0xF) << 4);
            x->ql[64 * h + 32 + l] = (uint8_t)((e[32] & 0xF) | (e[96] & 0xF) << 4);
            x->qh[32 * h + l] = (uint8_t)((e[0] >> 4) | (e[32] >> 4) << 2 | (e[64] >> 4) << 4 | (e[96] >> 4) << 6);
        }
}

void kern_unpack_row_q6_K_avx2(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst) {
    unpack_row(n, packed, group_bytes, row, dst, sizeof(block_q6_K), P6K_BYTES, unpack_block_q6_K);
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

/* The tiles (../x86/ktiles.inc): one group of 8 rows x T tokens. Sub-block j of a Q4_K
 * super-block: the nibbles unpacked once for all tokens, 8 maddubs per token summed in int16,
 * one madd with (sc_j, sc_j) per lane. */
KA2_INLINE void q4k_sub(int T, const uint8_t *pb, int j, const block_q8_K *const *a, int64_t b, __m256i *isum) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
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

/* Sub-block j of a Q6_K super-block: the offset term is taken off isum directly (msum stays
 * zero). */
KA2_INLINE void q6k_sub(int T, const uint8_t *pb, int j, const block_q8_K *const *a, int64_t b, __m256i *isum,
                        __m256i *msum) {
    (void)msum;
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    const uint8_t *pq = pb + P6K_QS + P6K_SUB * j;
    const __m128i s8 = _mm_loadu_si128((const __m128i *)(pb + P6K_SC + 16 * j));
    const __m256i scl = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(s8, s8)); /* (sc, sc), group 2j */
    const __m256i sch = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(s8, s8)); /* group 2j+1 */
    /* (32 sc_2j, 32 sc_2j+1) per row, for the offset term */
    const __m256i mp = ka2_q6k_offset_scales(s8);
    __m256i lo[4], hi[4];
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        const __m256i hb = _mm256_loadu_si256((const __m256i *)(pq + 128 + 32 * h));
        const __m256i x0 = _mm256_loadu_si256((const __m256i *)(pq + 64 * h));
        const __m256i x1 = _mm256_loadu_si256((const __m256i *)(pq + 64 * h + 32));
        lo[2 * h] = _mm256_or_si256(_mm256_and_si256(x0, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), m30));
        hi[2 * h] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(x0, 4), m4),
                                    _mm256_and_si256(_mm256_slli_epi16(hb, 2), m30));
        lo[2 * h + 1] = _mm256_or_si256(_mm256_and_si256(x1, m4), _mm256_and_si256(hb, m30));
        hi[2 * h + 1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(x1, 4), m4),
                                        _mm256_and_si256(_mm256_srli_epi16(hb, 2), m30));
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) {
        const int8_t *aq = a[t][b].qs + 32 * j;
        __m256i pl0 = _mm256_add_epi16(_mm256_maddubs_epi16(lo[0], bcast4(aq)), _mm256_maddubs_epi16(lo[1], bcast4(aq + 4)));
        __m256i pl1 =
            _mm256_add_epi16(_mm256_maddubs_epi16(lo[2], bcast4(aq + 8)), _mm256_maddubs_epi16(lo[3], bcast4(aq + 12)));
        __m256i ph0 =
            _mm256_add_epi16(_mm256_maddubs_epi16(hi[0], bcast4(aq + 16)), _mm256_maddubs_epi16(hi[1], bcast4(aq + 20)));
        __m256i ph1 =
            _mm256_add_epi16(_mm256_maddubs_epi16(hi[2], bcast4(aq + 24)), _mm256_maddubs_epi16(hi[3], bcast4(aq + 28)));
        __m256i s = _mm256_add_epi32(_mm256_add_epi32(_mm256_madd_epi16(pl0, scl), _mm256_madd_epi16(pl1, scl)),
                                     _mm256_add_epi32(_mm256_madd_epi16(ph0, sch), _mm256_madd_epi16(ph1, sch)));
        __m256i m = _mm256_madd_epi16(mp, bcast4((const int8_t *)(a[t][b].bsums + 2 * j)));
        isum[t] = _mm256_add_epi32(isum[t], _mm256_sub_epi32(s, m));
    }
}

#define KT_INLINE KA2_INLINE
typedef __m256i kt_isum;
#define kt_isum_zero() _mm256_setzero_si256()
#define kt_lanes(v) (v)
#include "../x86/ktiles.inc"

/* Driver: rows are walked in chunks of about PK_CHUNK_BYTES of packed weights, and every
 * token tile passes over a chunk while it is in L2 (bsum pairs recomputed per chunk: cheap). */
KA2_INLINE void gemm_packed_k(kern_pk_tile_fn tile, bool need_pairs, int64_t n, const void *w, size_t group_bytes,
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

KA2_PK_TILES(tile_q4_K)
KA2_PK_TILES(tile_q6_K)

/* The driver with another ISA's tile over this layout (packedk_avx512.c). */
void kern_gemm_packed_k_with_avx2(kern_pk_tile_fn tile, bool need_pairs, int64_t n, const void *w, size_t group_bytes,
                                  const void *act, size_t act_row_bytes, int n_tok, float *y, int64_t y_stride,
                                  int64_t r0, int64_t r1) {
    gemm_packed_k(tile, need_pairs, n, w, group_bytes, act, act_row_bytes, n_tok, y, y_stride, r0, r1);
}

void kern_gemm_packed_q4_K_avx2(int64_t n, const void *w, size_t group_bytes, const void *act, size_t act_row_bytes,
                                int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1) {
    gemm_packed_k(tile_q4_K_any, true, n, w, group_bytes, act, act_row_bytes, n_tok, y, y_stride, r0, r1);
}

void kern_gemm_packed_q6_K_avx2(int64_t n, const void *w, size_t group_bytes, const void *act, size_t act_row_bytes,
                                int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1) {
    gemm_packed_k(tile_q6_K_any, false, n, w, group_bytes, act, act_row_bytes, n_tok, y, y_stride, r0, r1);
}
