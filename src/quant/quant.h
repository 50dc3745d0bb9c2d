/* quant.h - block layouts and reference (scalar) quantize/dequantize for every tensor type.
 *
 * Usage:
 *     float row[256]; uint8_t blocks[144];
 *     quant_quantize_row(GGUF_TTYPE_Q4_K, row, blocks, 256, &err);
 *     quant_dequantize_row(GGUF_TTYPE_Q4_K, blocks, row, 256, &err);
 *
 * Layouts and rounding rules: shared/spec/quant-formats.md. Dequantization is bit-identical
 * to ggml's to_float (float32, no FMA). Every quantizer (Q4_0..Q8_1, Q2_K..Q6_K, Q8_K, F16,
 * BF16) is bit-identical to llama.cpp's *_ref routine, i.e. to llama-quantize without an
 * imatrix (tests/test_quant_fx.c re-quantizes every fixture tensor and compares the bytes).
 * Inputs of the per-format routines may be anything (no undefined behaviour on NaN/inf or
 * extreme values); the dispatchers reject non-finite input. Every block struct has a
 * _Static_assert on its size. Thread safety: pure functions, reentrant.
 */
#ifndef PIPPA_QUANT_H
#define PIPPA_QUANT_H

#include "../gguf/gguf.h"

#define QK4_0 32
#define QK8_0 32
#define QK_K 256

typedef struct { uint16_t d; uint8_t qs[16]; } block_q4_0;
typedef struct { uint16_t d, m; uint8_t qs[16]; } block_q4_1;
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } block_q5_0;
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } block_q5_1;
typedef struct { uint16_t d; int8_t qs[32]; } block_q8_0;
typedef struct { uint16_t d, s; int8_t qs[32]; } block_q8_1;
typedef struct { uint8_t scales[16]; uint8_t qs[64]; uint16_t d, dmin; } block_q2_K;
typedef struct { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d; } block_q3_K;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } block_q4_K;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } block_q5_K;
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } block_q6_K;
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } block_q8_K;

_Static_assert(sizeof(block_q4_0) == 18, "block_q4_0");
_Static_assert(sizeof(block_q4_1) == 20, "block_q4_1");
_Static_assert(sizeof(block_q5_0) == 22, "block_q5_0");
_Static_assert(sizeof(block_q5_1) == 24, "block_q5_1");
_Static_assert(sizeof(block_q8_0) == 34, "block_q8_0");
_Static_assert(sizeof(block_q8_1) == 36, "block_q8_1");
_Static_assert(sizeof(block_q2_K) == 84, "block_q2_K");
_Static_assert(sizeof(block_q3_K) == 110, "block_q3_K");
_Static_assert(sizeof(block_q4_K) == 144, "block_q4_K");
_Static_assert(sizeof(block_q5_K) == 176, "block_q5_K");
_Static_assert(sizeof(block_q6_K) == 210, "block_q6_K");
_Static_assert(sizeof(block_q8_K) == 292, "block_q8_K");

/* Type table (ggml ids, gguf_ttype): name ("Q4_K"; "?" for unknown or removed ids),
 * elements per block and bytes per block (0 for unknown ids). Known but unsupported types
 * (IQ*, TQ*, MXFP4, I8..I64, F64) are listed too, so sizes can be computed for them. */
const char *quant_type_name(uint32_t type);
uint32_t quant_block_size(uint32_t type);
uint32_t quant_block_bytes(uint32_t type);

/* True if pippa can dequantize (and so compute with) this type:
 * F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 Q2_K..Q6_K Q8_K. */
bool quant_type_supported(uint32_t type);
/* True if quant_quantize_row can produce this type (all supported ones). */
bool quant_type_quantizable(uint32_t type);

/* Row size in bytes for n elements (n must be a multiple of the block size; returns 0
 * otherwise, on overflow, or for unknown types; known unsupported types get their size). */
uint64_t quant_row_bytes(uint32_t type, uint64_t n);

/* Dequantize n elements (a multiple of the block size). Unsupported type ->
 * PP_ERR_UNSUPPORTED "type IQ2_XS is not supported yet" (unknown id: "type 45 is unknown");
 * n not a multiple of the block size -> PP_ERR_ARG; callers prefix the tensor name.
 * src may have any alignment; dst must not overlap src. */
pp_status quant_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n, pp_err *err);
/* Quantize n elements with the reference rounding. NaN/Inf input -> PP_ERR_ARG
 * ("non-finite value at element 17"). */
pp_status quant_quantize_row(uint32_t type, const float *src, void *dst, int64_t n, pp_err *err);

/* Per-format reference routines (k = element count, a multiple of the block size). */
void quant_dequantize_row_q4_0(const block_q4_0 *x, float *y, int64_t k);
void quant_dequantize_row_q4_1(const block_q4_1 *x, float *y, int64_t k);
void quant_dequantize_row_q5_0(const block_q5_0 *x, float *y, int64_t k);
void quant_dequantize_row_q5_1(const block_q5_1 *x, float *y, int64_t k);
void quant_dequantize_row_q8_0(const block_q8_0 *x, float *y, int64_t k);
void quant_dequantize_row_q8_1(const block_q8_1 *x, float *y, int64_t k);
void quant_dequantize_row_q2_K(const block_q2_K *x, float *y, int64_t k);
void quant_dequantize_row_q3_K(const block_q3_K *x, float *y, int64_t k);
void quant_dequantize_row_q4_K(const block_q4_K *x, float *y, int64_t k);
void quant_dequantize_row_q5_K(const block_q5_K *x, float *y, int64_t k);
void quant_dequantize_row_q6_K(const block_q6_K *x, float *y, int64_t k);
void quant_dequantize_row_q8_K(const block_q8_K *x, float *y, int64_t k);

void quant_quantize_row_q4_0_ref(const float *x, block_q4_0 *y, int64_t k);
void quant_quantize_row_q4_1_ref(const float *x, block_q4_1 *y, int64_t k);
void quant_quantize_row_q5_0_ref(const float *x, block_q5_0 *y, int64_t k);
void quant_quantize_row_q5_1_ref(const float *x, block_q5_1 *y, int64_t k);
void quant_quantize_row_q8_0_ref(const float *x, block_q8_0 *y, int64_t k);
void quant_quantize_row_q8_1_ref(const float *x, block_q8_1 *y, int64_t k);
void quant_quantize_row_q2_K_ref(const float *x, block_q2_K *y, int64_t k);
void quant_quantize_row_q3_K_ref(const float *x, block_q3_K *y, int64_t k);
void quant_quantize_row_q4_K_ref(const float *x, block_q4_K *y, int64_t k);
void quant_quantize_row_q5_K_ref(const float *x, block_q5_K *y, int64_t k);
void quant_quantize_row_q6_K_ref(const float *x, block_q6_K *y, int64_t k);
void quant_quantize_row_q8_K_ref(const float *x, block_q8_K *y, int64_t k);

/* Activation quantizer for Q8_0 with llama.cpp's x86 rule (s = 127/amax, round half to
 * even), used by the kernels so our dot products see the same inputs as llama.cpp on x86. */
void quant_quantize_row_q8_0_x86(const float *x, block_q8_0 *y, int64_t k);

#endif
