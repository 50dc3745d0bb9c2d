/* pack_generic.c - the reference pack, unpack and gemm over the repacked layouts of
 * kern_pack.h: plain loops that follow the header's definitions byte by byte, so a test that
 * compares an ISA's packed bytes and results with these checks the ISA against the written
 * layout, not against itself. */
#include "../kern_pack.h"

#include <stddef.h>
#include <string.h>

/* Q4_0 / Q5_0 / Q8_0: the block's type and its rows per group */
static bool q32_of(kern_pack_layout l, uint32_t *type, int *rows) {
    static const uint32_t T[] = {GGUF_TTYPE_Q4_0, GGUF_TTYPE_Q5_0, GGUF_TTYPE_Q8_0};
    if (l >= KERN_PACK_Q4_0_X8 && l <= KERN_PACK_Q8_0_X8) {
        *type = T[l - KERN_PACK_Q4_0_X8];
        *rows = 8;
        return true;
    }
    if (l >= KERN_PACK_Q4_0_X16 && l <= KERN_PACK_Q8_0_X16) {
        *type = T[l - KERN_PACK_Q4_0_X16];
        *rows = 16;
        return true;
    }
    return false;
}

uint32_t kern_pack_rows_ref(kern_pack_layout l) {
    uint32_t t;
    int rows;
    if (q32_of(l, &t, &rows)) return (uint32_t)rows;
    return l > KERN_PACK_NONE && l < KERN_PACK_COUNT ? 8 : 0;
}

static uint32_t type_of(kern_pack_layout l) {
    uint32_t t;
    int rows;
    if (q32_of(l, &t, &rows)) return t;
    return l == KERN_PACK_Q4_K_X8 ? GGUF_TTYPE_Q4_K : l == KERN_PACK_Q6_K_X8 ? GGUF_TTYPE_Q6_K : GGUF_TTYPE_F16;
}

kern_pack_layout kern_pack_layout_of(uint32_t type, uint32_t pack_rows) {
    for (int l = KERN_PACK_NONE + 1; l < KERN_PACK_COUNT; l++)
        if (type_of((kern_pack_layout)l) == type && kern_pack_rows_ref((kern_pack_layout)l) == pack_rows)
            return (kern_pack_layout)l;
    return KERN_PACK_NONE;
}

size_t kern_pack_group_bytes_ref(kern_pack_layout l, int64_t n) {
    uint32_t t;
    int R;
    if (q32_of(l, &t, &R)) return (size_t)(n / 32) * KERN_PQ_BLOCK_BYTES((size_t)R, t);
    switch (l) {
    case KERN_PACK_Q4_K_X8: return (size_t)(n / 256) * KERN_P4K_BYTES;
    case KERN_PACK_Q6_K_X8: return (size_t)(n / 256) * KERN_P6K_BYTES;
    case KERN_PACK_F16_X8: return (size_t)((n + 1) / 2) * KERN_PF16_PAIR_BYTES;
    default: return 0;
    }
}

/* The Q5_0 high bit of element e of a block (bit e of qh). */
static int q5_bit(const block_q5_0 *b, int e) { return (b->qh[e / 8] >> (e % 8)) & 1; }

/* One block of row r into the packed block pb (R rows per group). */
static void q32_pack_block(uint32_t t, int R, int r, const uint8_t *blk, uint8_t *pb) {
    memcpy(pb + 2 * r, blk, 2); /* d: the first field of all three blocks */
    const uint8_t *qs = t == GGUF_TTYPE_Q4_0   ? ((const block_q4_0 *)blk)->qs
                        : t == GGUF_TTYPE_Q5_0 ? ((const block_q5_0 *)blk)->qs
                                               : (const uint8_t *)((const block_q8_0 *)blk)->qs;
    const uint8_t flip = t == GGUF_TTYPE_Q8_0 && R == 16 ? 0x80 : 0;
    for (int s = 0; s < KERN_PQ_STEPS(t); s++)
        for (int i = 0; i < 4; i++) pb[KERN_PQ_QS(R, s, r) + i] = qs[4 * s + i] ^ flip;
    if (t != GGUF_TTYPE_Q5_0) return;
    const block_q5_0 *b5 = (const block_q5_0 *)blk;
    uint8_t *qh = pb + KERN_PQ_QH(R, t);
    for (int k = 0; k < 4; k++)
        for (int s = 0; s < 4; s++) {
            const int lo = q5_bit(b5, 4 * s + k), hi = q5_bit(b5, 16 + 4 * s + k);
            if (R == 8) {
                uint8_t *byte = &qh[4 * r + k];
                *byte = (uint8_t)((*byte & ~(1u << s) & ~(1u << (4 + s))) | lo << s | hi << (4 + s));
            } else { /* bit 4r + k of the masks of step s */
                const int bit = 4 * r + k;
                uint8_t *m0 = &qh[16 * s + bit / 8], *m1 = &qh[16 * s + 8 + bit / 8];
                *m0 = (uint8_t)((*m0 & ~(1u << (bit % 8))) | lo << (bit % 8));
                *m1 = (uint8_t)((*m1 & ~(1u << (bit % 8))) | hi << (bit % 8));
            }
        }
}

/* The inverse of q32_pack_block. */
static void q32_unpack_block(uint32_t t, int R, int r, const uint8_t *pb, uint8_t *blk) {
    memcpy(blk, pb + 2 * r, 2);
    uint8_t *qs = t == GGUF_TTYPE_Q4_0   ? ((block_q4_0 *)blk)->qs
                  : t == GGUF_TTYPE_Q5_0 ? ((block_q5_0 *)blk)->qs
                                         : (uint8_t *)((block_q8_0 *)blk)->qs;
    const uint8_t flip = t == GGUF_TTYPE_Q8_0 && R == 16 ? 0x80 : 0;
    for (int s = 0; s < KERN_PQ_STEPS(t); s++)
        for (int i = 0; i < 4; i++) qs[4 * s + i] = pb[KERN_PQ_QS(R, s, r) + i] ^ flip;
    if (t != GGUF_TTYPE_Q5_0) return;
    block_q5_0 *b5 = (block_q5_0 *)blk;
    const uint8_t *qh = pb + KERN_PQ_QH(R, t);
    memset(b5->qh, 0, sizeof b5->qh);
    for (int k = 0; k < 4; k++)
        for (int s = 0; s < 4; s++) {
            int lo, hi;
            if (R == 8) {
                lo = (qh[4 * r + k] >> s) & 1;
                hi = (qh[4 * r + k] >> (4 + s)) & 1;
            } else {
                const int bit = 4 * r + k;
                lo = (qh[16 * s + bit / 8] >> (bit % 8)) & 1;
                hi = (qh[16 * s + 8 + bit / 8] >> (bit % 8)) & 1;
            }
            const int e0 = 4 * s + k, e1 = 16 + 4 * s + k;
            b5->qh[e0 / 8] |= (uint8_t)(lo << (e0 % 8));
            b5->qh[e1 / 8] |= (uint8_t)(hi << (e1 % 8));
        }
}

/* ---- Q4_K, Q6_K: 8 rows per group, offsets KERN_P4K_* / KERN_P6K_* per super-block ---- */

/* The 6-bit scales and mins of a Q4_K block (quant-formats.md §3.3), and their encoding. */
static void q4k_scales_get(const uint8_t *b, uint8_t *sc, uint8_t *mn) {
    for (int j = 0; j < 4; j++) {
        sc[j] = b[j] & 63;
        mn[j] = b[j + 4] & 63;
        sc[j + 4] = (uint8_t)((b[j + 8] & 0xF) | (b[j] >> 6) << 4);
        mn[j + 4] = (uint8_t)((b[j + 8] >> 4) | (b[j + 4] >> 6) << 4);
    }
}
static void q4k_scales_put(const uint8_t *sc, const uint8_t *mn, uint8_t *b) {
    for (int j = 0; j < 4; j++) {
        b[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
        b[j + 4] = (uint8_t)(mn[j] | (mn[j + 4] >> 4) << 6);
        b[j + 8] = (uint8_t)((sc[j + 4] & 0xF) | (mn[j + 4] & 0xF) << 4);
    }
}

/* Element e's quant in a block: Q4_K nibble (e / 32) % 2 of qs[32 (e / 64) + e % 32]; Q6_K
 * u = q + 32 from ql (nibble) and qh (two bits), quarter k / 32 of each 128-element half. */
static int q4k_get(const block_q4_K *x, int e) { return (x->qs[32 * (e / 64) + e % 32] >> (4 * ((e / 32) % 2))) & 0xF; }
static void q4k_put(block_q4_K *x, int e, int q) {
    x->qs[32 * (e / 64) + e % 32] |= (uint8_t)(q << (4 * ((e / 32) % 2)));
}
static int q6k_get(const block_q6_K *x, int e) {
    const int h = e / 128, qt = (e % 128) / 32, l = e % 32;
    const int lo = (x->ql[64 * h + 32 * (qt % 2) + l] >> (4 * (qt / 2))) & 0xF;
    return lo | ((x->qh[32 * h + l] >> (2 * qt)) & 3) << 4;
}
static void q6k_put(block_q6_K *x, int e, int u) {
    const int h = e / 128, qt = (e % 128) / 32, l = e % 32;
    x->ql[64 * h + 32 * (qt % 2) + l] |= (uint8_t)((u & 0xF) << (4 * (qt / 2)));
    x->qh[32 * h + l] |= (uint8_t)((u >> 4) << (2 * qt));
}

/* Element e of row r in a packed super-block (kern_pack.h): the byte holding its nibble, in
 * sub-blocks of sub_bytes from qs, and the nibble's shift (high for elements 16..31 of a
 * sub-block); Q6_K's two top bits in their byte after the 4 nibble steps, and their shift. */
static size_t kquant_nibble(size_t qs, size_t sub_bytes, int r, int e) {
    const int k = e % 32;
    return qs + sub_bytes * (size_t)(e / 32) + 32 * (size_t)((k % 16) / 4) + 4 * (size_t)r + (size_t)(k % 4);
}
static size_t q6k_top(int r, int e) {
    const int k = e % 32;
    return KERN_P6K_QS + KERN_P6K_SUB * (size_t)(e / 32) + 128 + 32 * (size_t)((k % 16) / 8) + 4 * (size_t)r +
           (size_t)(k % 4);
}
static int q6k_top_shift(int e) { return 4 * (((e % 32) % 16) / 4 % 2) + 2 * ((e % 32) >= 16); }
static int nibble_shift(int e) { return 4 * ((e % 32) >= 16); }

static void kquant_pack_block(kern_pack_layout l, int r, const uint8_t *blk, uint8_t *ob) {
    if (l == KERN_PACK_Q4_K_X8) {
        const block_q4_K *x = (const block_q4_K *)blk;
        uint8_t sc[8], mn[8];
        memcpy(ob + KERN_P4K_D + 2 * r, &x->d, 2);
        memcpy(ob + KERN_P4K_DMIN + 2 * r, &x->dmin, 2);
        q4k_scales_get(x->scales, sc, mn);
        for (int j = 0; j < 8; j++) {
            ob[KERN_P4K_SC + 8 * j + r] = sc[j];
            ob[KERN_P4K_MN + 16 * (j / 2) + 2 * r + j % 2] = mn[j];
        }
        for (int e = 0; e < 256; e++)
            ob[kquant_nibble(KERN_P4K_QS, 128, r, e)] |= (uint8_t)(q4k_get(x, e) << nibble_shift(e));
        return;
    }
    const block_q6_K *x = (const block_q6_K *)blk;
    memcpy(ob + KERN_P6K_D + 2 * r, &x->d, 2);
    for (int j = 0; j < 8; j++) {
        ob[KERN_P6K_SC + 16 * j + r] = (uint8_t)x->scales[2 * j];
        ob[KERN_P6K_SC + 16 * j + 8 + r] = (uint8_t)x->scales[2 * j + 1];
    }
    for (int e = 0; e < 256; e++) {
        const int u = q6k_get(x, e);
        ob[kquant_nibble(KERN_P6K_QS, KERN_P6K_SUB, r, e)] |= (uint8_t)((u & 0xF) << nibble_shift(e));
        ob[q6k_top(r, e)] |= (uint8_t)((u >> 4) << q6k_top_shift(e));
    }
}

static void kquant_unpack_block(kern_pack_layout l, int r, const uint8_t *ob, uint8_t *blk) {
    memset(blk, 0, l == KERN_PACK_Q4_K_X8 ? sizeof(block_q4_K) : sizeof(block_q6_K));
    if (l == KERN_PACK_Q4_K_X8) {
        block_q4_K *x = (block_q4_K *)blk;
        uint8_t sc[8], mn[8];
        memcpy(&x->d, ob + KERN_P4K_D + 2 * r, 2);
        memcpy(&x->dmin, ob + KERN_P4K_DMIN + 2 * r, 2);
        for (int j = 0; j < 8; j++) {
            sc[j] = ob[KERN_P4K_SC + 8 * j + r];
            mn[j] = ob[KERN_P4K_MN + 16 * (j / 2) + 2 * r + j % 2];
        }
        q4k_scales_put(sc, mn, x->scales);
        for (int e = 0; e < 256; e++)
            q4k_put(x, e, (ob[kquant_nibble(KERN_P4K_QS, 128, r, e)] >> nibble_shift(e)) & 0xF);
        return;
    }
    block_q6_K *x = (block_q6_K *)blk;
    memcpy(&x->d, ob + KERN_P6K_D + 2 * r, 2);
    for (int j = 0; j < 8; j++) {
        x->scales[2 * j] = (int8_t)ob[KERN_P6K_SC + 16 * j + r];
        x->scales[2 * j + 1] = (int8_t)ob[KERN_P6K_SC + 16 * j + 8 + r];
    }
    for (int e = 0; e < 256; e++) {
        const int lo = (ob[kquant_nibble(KERN_P6K_QS, KERN_P6K_SUB, r, e)] >> nibble_shift(e)) & 0xF;
        q6k_put(x, e, lo | ((ob[q6k_top(r, e)] >> q6k_top_shift(e)) & 3) << 4);
    }
}

bool kern_pack_ref(kern_pack_layout l, int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1,
                   void *dst) {
    const size_t gb = kern_pack_group_bytes_ref(l, n);
    uint32_t t;
    int R;
    if (q32_of(l, &t, &R)) {
        const size_t in_block = quant_row_bytes(t, 32), out_block = KERN_PQ_BLOCK_BYTES((size_t)R, t);
        for (int64_t g = g0; g < g1; g++) {
            uint8_t *grp = (uint8_t *)dst + (size_t)g * gb;
            memset(grp, 0, gb);
            for (int r = 0; r < R; r++) {
                const uint8_t *row = (const uint8_t *)w + (size_t)(g * R + r) * w_row_bytes;
                for (int64_t b = 0; b < n / 32; b++)
                    q32_pack_block(t, R, r, row + (size_t)b * in_block, grp + (size_t)b * out_block);
            }
        }
        return true;
    }
    if (l == KERN_PACK_Q4_K_X8 || l == KERN_PACK_Q6_K_X8) {
        const size_t in_block = quant_row_bytes(type_of(l), 256), out_block = gb / (size_t)(n / 256);
        for (int64_t g = g0; g < g1; g++) {
            uint8_t *grp = (uint8_t *)dst + (size_t)g * gb;
            memset(grp, 0, gb);
            for (int r = 0; r < 8; r++) {
                const uint8_t *row = (const uint8_t *)w + (size_t)(g * 8 + r) * w_row_bytes;
                for (int64_t b = 0; b < n / 256; b++)
                    kquant_pack_block(l, r, row + (size_t)b * in_block, grp + (size_t)b * out_block);
            }
        }
        return true;
    }
    if (l != KERN_PACK_F16_X8) return false;
    for (int64_t g = g0; g < g1; g++) {
        uint8_t *grp = (uint8_t *)dst + (size_t)g * gb;
        memset(grp, 0, gb);
        for (int j = 0; j < 8; j++) {
            const uint8_t *row = (const uint8_t *)w + (size_t)(g * 8 + j) * w_row_bytes;
            for (int64_t e = 0; e < n; e++)
                memcpy(grp + (size_t)(e / 2) * KERN_PF16_PAIR_BYTES + 4 * j + 2 * (e % 2), row + 2 * e, 2);
        }
    }
    return true;
}

bool kern_unpack_row_ref(kern_pack_layout l, int64_t n, const void *packed, size_t group_bytes, int64_t row,
                         void *dst) {
    const uint32_t R = kern_pack_rows_ref(l);
    uint32_t t;
    int rows;
    if (!R) return false;
    const uint8_t *grp = (const uint8_t *)packed + (size_t)(row / R) * group_bytes;
    const int r = (int)(row % R);
    if (q32_of(l, &t, &rows)) {
        const size_t in_block = quant_row_bytes(t, 32), out_block = KERN_PQ_BLOCK_BYTES((size_t)R, t);
        for (int64_t b = 0; b < n / 32; b++)
            q32_unpack_block(t, (int)R, r, grp + (size_t)b * out_block, (uint8_t *)dst + (size_t)b * in_block);
        return true;
    }
    if (l == KERN_PACK_Q4_K_X8 || l == KERN_PACK_Q6_K_X8) {
        const size_t in_block = quant_row_bytes(type_of(l), 256), out_block = group_bytes / (size_t)(n / 256);
        for (int64_t b = 0; b < n / 256; b++)
            kquant_unpack_block(l, r, grp + (size_t)b * out_block, (uint8_t *)dst + (size_t)b * in_block);
        return true;
    }
    if (l != KERN_PACK_F16_X8) return false;
    for (int64_t e = 0; e < n; e++)
        memcpy((uint8_t *)dst + 2 * e, grp + (size_t)(e / 2) * KERN_PF16_PAIR_BYTES + 4 * r + 2 * (e % 2), 2);
    return true;
}

bool kern_gemm_packed_ref(kern_pack_layout l, int64_t n, const void *packed, size_t group_bytes, const void *act,
                          size_t act_row_bytes, int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1,
                          void *row_buf) {
    const kern_type_traits *g = kern_traits_generic(type_of(l));
    for (int64_t o = r0; o < r1; o++) {
        if (!kern_unpack_row_ref(l, n, packed, group_bytes, o, row_buf)) return false;
        for (int t = 0; t < n_tok; t++)
            y[(int64_t)t * y_stride + o] = g->vec_dot(n, row_buf, (const uint8_t *)act + (size_t)t * act_row_bytes);
    }
    return true;
}
