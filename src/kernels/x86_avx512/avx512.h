/* avx512.h - internal to src/kernels/x86_avx512: the AVX-512 (F/BW/VL/DQ + VNNI) kernels.
 * Only included by files compiled with the AVX-512 flags (Makefile AVX512_FLAGS), which
 * include the AVX2 ones, so the AVX2 helpers in ../x86_avx2/avx2.h are usable here too. */
#ifndef PIPPA_KERN_AVX512_H
#define PIPPA_KERN_AVX512_H

#include "../x86_avx2/avx2.h"

#define KA5_INLINE static inline __attribute__((always_inline))

/* Activation quantizer, byte-identical to the generic one (act_avx512.c). */
void kern_act_q8_0_avx512(const float *x, void *y, int64_t n);

/* Float weights against f32 activations, 16 lanes (dot_avx512.c). */
#define KA5_DECL(name)                                                                              \
    float kern_dot_##name##_avx512(int64_t n, const void *w, const void *a);                        \
    void kern_gemm_##name##_avx512(int64_t n, const void *w, size_t w_row_bytes, const void *act,   \
                                   size_t act_row_bytes, int n_tok, float *y, int64_t y_stride,     \
                                   int64_t r0, int64_t r1);
KA5_DECL(f32_f32)
KA5_DECL(f16_f32)
KA5_DECL(bf16_f32)
/* F16 gemm over the AVX2 pair-interleaved layout (packedf16_avx512.c) */
void kern_gemm_packed_f16_avx512(int64_t n, const void *w, size_t group_bytes, const void *act, size_t act_row_bytes,
                                 int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1);

/* Q4_K and Q6_K in the AVX2 packed layouts, with VNNI tiles (packedk_avx512.c). */
void kern_gemm_packed_q4_K_avx512(int64_t n, const void *w, size_t group_bytes, const void *act, size_t act_row_bytes,
                                  int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1);
void kern_gemm_packed_q6_K_avx512(int64_t n, const void *w, size_t group_bytes, const void *act, size_t act_row_bytes,
                                  int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1);

/* Q4_0, Q5_0 and Q8_0 repacked for AVX-512 VNNI: groups of 16 rows, one row per 32-bit lane
 * (packed_avx512.c; a different layout from the AVX2 one, so each ISA packs its own, and its
 * traits say pack_rows 16). */
size_t kern_pack_bytes_q4_0_avx512(int64_t n);
void kern_unpack_row_q4_0_avx512(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst);
void kern_unpack_row_q5_0_avx512(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst);
void kern_unpack_row_q8_0_avx512(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst);
void kern_pack_q4_0_avx512(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst);
void kern_gemm_packed_q4_0_avx512(int64_t n, const void *w, size_t group_bytes, const void *act,
                                  size_t act_row_bytes, int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1);
size_t kern_pack_bytes_q5_0_avx512(int64_t n);
void kern_pack_q5_0_avx512(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst);
void kern_gemm_packed_q5_0_avx512(int64_t n, const void *w, size_t group_bytes, const void *act,
                                  size_t act_row_bytes, int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1);
size_t kern_pack_bytes_q8_0_avx512(int64_t n);
void kern_pack_q8_0_avx512(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst);
void kern_gemm_packed_q8_0_avx512(int64_t n, const void *w, size_t group_bytes, const void *act,
                                  size_t act_row_bytes, int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1);

#endif
