/* fill_avx512f.c - registers the AVX-512 F/BW/VL/DQ kernels in the ops table (the `avx512f`
 * row of kern.c's ISA table). Compiled with those flags (Makefile KERN_ISA_x86_avx512f); only
 * called on a CPU that has them.
 *
 * The table starts as the AVX2 table (the row's base), so every type without a variant here
 * runs the AVX2 kernels, including the AVX2 packed layouts of Q4_0, Q5_0, Q8_0, Q4_K and Q6_K
 * (their AVX-512 tiles need VNNI: x86_avx512/). The variants registered here are tested
 * against generic/ by tests/test_kernels.c on CPUs that have the ISA, skipped elsewhere. */
#include "avx512f.h"

void kern_fill_avx512f(kern_type_traits *t) {
    t[GGUF_TTYPE_F32].vec_dot = kern_dot_f32_f32_avx512f;
    t[GGUF_TTYPE_F32].gemm = kern_gemm_f32_f32_avx512f;
    t[GGUF_TTYPE_F16].vec_dot = kern_dot_f16_f32_avx512f;
    t[GGUF_TTYPE_F16].gemm = kern_gemm_f16_f32_avx512f;
    t[GGUF_TTYPE_F16].gemm_packed = kern_gemm_packed_f16_avx512f; /* the AVX2 layout and packing */
    t[GGUF_TTYPE_BF16].vec_dot = kern_dot_bf16_f32_avx512f;
    t[GGUF_TTYPE_BF16].gemm = kern_gemm_bf16_f32_avx512f;
    t[GGUF_TTYPE_Q4_0].quantize_act = kern_act_q8_0_avx512f;
    t[GGUF_TTYPE_Q5_0].quantize_act = kern_act_q8_0_avx512f;
    t[GGUF_TTYPE_Q8_0].quantize_act = kern_act_q8_0_avx512f;
}
