/* kern_pack.h - the load-time repacked weight layouts of the ISA kernels, defined once and
 * independently of any ISA (ggml's repack.h / block_q4_0x8 idea), with a plain-C reference
 * (generic/pack_generic.c) that tests check every ISA's pack, unpack_row and gemm_packed
 * against.
 *
 * Usage (tests):
 *     kern_pack_layout l = kern_pack_layout_of(tt->type, tt->pack_rows);
 *     kern_pack_ref(l, n, w, row_bytes, 0, rows / tt->pack_rows, want);  // the bytes tt->pack must write
 *     kern_gemm_packed_ref(l, n, want, kern_pack_group_bytes_ref(l, n), act, act_bytes, n_tok, y, n_out,
 *                          0, rows, row_buf);                 // generic's results, read through the layout
 *
 * A layout stores rows in groups of R (a type's traits say R as pack_rows); group g starts at
 * g * group_bytes(n) and keeps every bit of its rows' blocks (unpack_row is the exact inverse).
 *
 * Q4_0, Q5_0, Q8_0 (KERN_PACK_Q*_X8: AVX2, x86_avx2/packed_avx2.c; _X16: AVX-512 VNNI,
 * x86_avx512/packed_avx512.c). Block b (32 elements) of a group takes KERN_PQ_BLOCK_BYTES(R,
 * type) bytes at b times that, holding:
 *   [0]             R x fp16 d: row r's at 2r
 *   [2R]            S steps of 4R bytes (S = KERN_PQ_STEPS: 4, Q8_0 8): row r's qs[4s..4s+3]
 *                   at KERN_PQ_QS(R, s, r); R = 16, Q8_0: each byte xor 0x80 (q + 128 unsigned)
 *   [KERN_PQ_QH]    Q5_0 only, 4R bytes of high bits:
 *                   R = 8:  byte 4r + k: bit s = element 4s+k's, bit 4+s = element 16+4s+k's
 *                   R = 16: for step v, two 64-bit little-endian masks at 16v and 16v + 8: bit
 *                           4r + k = element 4v+k's (first mask) and element 16+4v+k's (second)
 * The quant bytes keep their block meaning: Q4_0/Q5_0 low nibbles are elements 4s..4s+3, high
 * nibbles 16+4s..16+4s+3; Q8_0 byte i is element 4s + i.
 *
 * Q4_K, Q6_K (KERN_PACK_Q4_K_X8, _Q6_K_X8: AVX2 and AVX-512 VNNI; x86_avx2/packedk_avx2.c
 * describes them): per 256-element super-block the byte offsets KERN_P4K_* and KERN_P6K_*.
 * Element e of row r: sub-block j = e / 32, k = e % 32, step s = (k % 16) / 4, byte i = k % 4;
 * its (low 4 bits of the) quant is the low nibble (k < 16) or the high nibble (k >= 16) of
 * byte QS + SUB j + 32 s + 4 r + i (Q4_K: SUB 128; Q6_K: SUB 192, and the top two bits of u =
 * q + 32 at bit 4 (s % 2) + 2 (k >= 16) of byte QS + SUB j + 128 + 32 (s / 2) + 4 r + i).
 *
 * F16 (KERN_PACK_F16_X8: AVX2 and AVX-512 F, x86_avx2/packedf16_avx2.c): pair p (elements
 * 2p and 2p+1) of row j at 32p + 4j, two fp16; when n is odd, element n is a zero.
 *
 * Thread safety: pure functions on caller memory. */
#ifndef PIPPA_KERN_PACK_H
#define PIPPA_KERN_PACK_H

#include "kern.h"

typedef enum kern_pack_layout {
    KERN_PACK_NONE = 0,
    KERN_PACK_Q4_0_X8,
    KERN_PACK_Q5_0_X8,
    KERN_PACK_Q8_0_X8,
    KERN_PACK_Q4_0_X16,
    KERN_PACK_Q5_0_X16,
    KERN_PACK_Q8_0_X16,
    KERN_PACK_Q4_K_X8,
    KERN_PACK_Q6_K_X8,
    KERN_PACK_F16_X8,
    KERN_PACK_COUNT
} kern_pack_layout;

#define KERN_PQ_STEPS(type) ((type) == GGUF_TTYPE_Q8_0 ? 8 : 4)
#define KERN_PQ_QS(R, s, r) (2 * (R) + 4 * (R) * (s) + 4 * (r))
#define KERN_PQ_QH(R, type) (2 * (R) + 4 * (R) * KERN_PQ_STEPS(type))
#define KERN_PQ_BLOCK_BYTES(R, type) (KERN_PQ_QH(R, type) + ((type) == GGUF_TTYPE_Q5_0 ? 4 * (R) : 0))

#define KERN_P4K_D 0    /* 8 x fp16 d */
#define KERN_P4K_DMIN 16 /* 8 x fp16 dmin */
#define KERN_P4K_SC 32  /* sub-block j's 6-bit scale of row r at 32 + 8j + r */
#define KERN_P4K_MN 96  /* mins m_2k, m_2k+1 of row r at 96 + 16k + 2r (+1) */
#define KERN_P4K_QS 160 /* sub-block j, step s: row r's 4 bytes at 160 + 128j + 32s + 4r */
#define KERN_P4K_BYTES 1184
#define KERN_P6K_D 0
#define KERN_P6K_SC 16  /* int8 scales: 16-group 2j of row r at 16 + 16j + r, 2j+1 at + 8 */
#define KERN_P6K_QS 144 /* sub-block j at 144 + 192j: 4 nibble steps, then 2 high-bit registers */
#define KERN_P6K_SUB 192
#define KERN_P6K_BYTES 1680

#define KERN_PF16_PAIR_BYTES 32

/* The layout of a weight type packed in groups of pack_rows rows, KERN_PACK_NONE if none. */
kern_pack_layout kern_pack_layout_of(uint32_t type, uint32_t pack_rows);
/* Rows per group and bytes per group of n elements. */
uint32_t kern_pack_rows_ref(kern_pack_layout l);
size_t kern_pack_group_bytes_ref(kern_pack_layout l, int64_t n);
/* The reference pack of row groups [g0, g1) into dst + g0 * group bytes, and its inverse for
 * one row, written from the definitions above (false: not a layout). */
bool kern_pack_ref(kern_pack_layout l, int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1,
                   void *dst);
bool kern_unpack_row_ref(kern_pack_layout l, int64_t n, const void *packed, size_t group_bytes, int64_t row,
                         void *dst);
/* The reference gemm over a packed weight: each row read back by kern_unpack_row_ref into
 * row_buf (one row's bytes in the original format) and multiplied by generic vec_dot, so its
 * results equal generic's on the original weights bit for bit. Layouts as kern_pack_ref. */
bool kern_gemm_packed_ref(kern_pack_layout l, int64_t n, const void *packed, size_t group_bytes, const void *act,
                          size_t act_row_bytes, int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1,
                          void *row_buf);

#endif
