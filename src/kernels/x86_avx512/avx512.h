/* avx512.h - internal to src/kernels/x86_avx512: the AVX-512 VNNI kernels (the `avx512` ISA
 * row, which extends `avx512f`: vpdpbusd integer tiles for the packed Q4_0, Q5_0, Q8_0, Q4_K
 * and Q6_K gemms). Only included by files compiled with the VNNI flags (Makefile
 * KERN_ISA_x86_avx512), a superset of avx512f's, so ../x86_avx512f/avx512f.h is usable here. */
#ifndef PIPPA_KERN_AVX512_H
#define PIPPA_KERN_AVX512_H

#include "../x86_avx512f/avx512f.h"

/* Q4_K and Q6_K in the AVX2 packed layouts, with VNNI tiles (packedk_avx512.c). */
void kern_gemm_packed_q4_K_avx512(int64_t n, const void *w, size_t group_bytes, const void *act, size_t act_row_bytes,
                                  int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1);
void kern_gemm_packed_q6_K_avx512(int64_t n, const void *w, size_t group_bytes, const void *act, size_t act_row_bytes,
                                  int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1);

/* Q4_0, Q5_0 and Q8_0 repacked for AVX-512 VNNI: groups of 16 rows, one row per 32-bit lane
 * (packed_avx512.c; a different layout from the AVX2 one, so each ISA packs its own, and its
 * traits say pack_rows 16). */
KERN_PACKED_DECL(q4_0, avx512)
KERN_PACKED_DECL(q5_0, avx512)
KERN_PACKED_DECL(q8_0, avx512)
#define KA5_GEGLU_DECL(ty)                                                                                        \
    void kern_gemm_packed_geglu_##ty##_avx512(int64_t n, const void *w_gate, const void *w_up, size_t group_bytes, \
                                              const void *act, size_t act_row_bytes, int n_tok, float *y,         \
                                              int64_t y_stride, int64_t r0, int64_t r1, void *yq, size_t yq_stride);
KA5_GEGLU_DECL(q4_0)
KA5_GEGLU_DECL(q5_0)
KA5_GEGLU_DECL(q8_0)

#endif
