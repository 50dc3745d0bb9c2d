/* fill_avx2.c - registers the AVX2+FMA+F16C kernels in the ops table. Compiled with
 * -mavx2 -mfma -mf16c; only called after kern_isa_available(KERN_ISA_AVX2). */
#include "avx2.h"

static void put(kern_type_traits *t, uint32_t type, kern_quantize_fn q, kern_vec_dot_fn dot, kern_gemm_fn gemm) {
    if (q) t[type].quantize_act = q;
    t[type].vec_dot = dot;
    t[type].gemm = gemm;
}

void kern_fill_avx2(kern_type_traits *t) {
    put(t, GGUF_TTYPE_F32, NULL, kern_dot_f32_f32_avx2, kern_gemm_f32_f32_avx2);
    put(t, GGUF_TTYPE_F16, NULL, kern_dot_f16_f32_avx2, kern_gemm_f16_f32_avx2);
    put(t, GGUF_TTYPE_BF16, NULL, kern_dot_bf16_f32_avx2, kern_gemm_bf16_f32_avx2);
    put(t, GGUF_TTYPE_Q4_0, kern_act_q8_0_avx2, kern_dot_q4_0_q8_0_avx2, kern_gemm_q4_0_q8_0_avx2);
    put(t, GGUF_TTYPE_Q5_0, kern_act_q8_0_avx2, kern_dot_q5_0_q8_0_avx2, kern_gemm_q5_0_q8_0_avx2);
    put(t, GGUF_TTYPE_Q8_0, kern_act_q8_0_avx2, kern_dot_q8_0_q8_0_avx2, kern_gemm_q8_0_q8_0_avx2);
    put(t, GGUF_TTYPE_Q4_1, kern_act_q8_1_avx2, kern_dot_q4_1_q8_1_avx2, kern_gemm_q4_1_q8_1_avx2);
    put(t, GGUF_TTYPE_Q5_1, kern_act_q8_1_avx2, kern_dot_q5_1_q8_1_avx2, kern_gemm_q5_1_q8_1_avx2);
    put(t, GGUF_TTYPE_Q2_K, kern_act_q8_K_avx2, kern_dot_q2_K_q8_K_avx2, kern_gemm_q2_K_q8_K_avx2);
    put(t, GGUF_TTYPE_Q3_K, kern_act_q8_K_avx2, kern_dot_q3_K_q8_K_avx2, kern_gemm_q3_K_q8_K_avx2);
    put(t, GGUF_TTYPE_Q4_K, kern_act_q8_K_avx2, kern_dot_q4_K_q8_K_avx2, kern_gemm_q4_K_q8_K_avx2);
    put(t, GGUF_TTYPE_Q5_K, kern_act_q8_K_avx2, kern_dot_q5_K_q8_K_avx2, kern_gemm_q5_K_q8_K_avx2);
    put(t, GGUF_TTYPE_Q6_K, kern_act_q8_K_avx2, kern_dot_q6_K_q8_K_avx2, kern_gemm_q6_K_q8_K_avx2);
    kern_traits_set_pack(&t[GGUF_TTYPE_F16], KERN_PACK_ROWS, kern_pack_bytes_f16_avx2, kern_pack_f16_avx2,
                         kern_gemm_packed_f16_avx2, kern_unpack_row_f16_avx2);
    kern_traits_set_pack(&t[GGUF_TTYPE_Q4_0], KERN_PACK_ROWS, kern_pack_bytes_q4_0_avx2, kern_pack_q4_0_avx2,
                         kern_gemm_packed_q4_0_avx2, kern_unpack_row_q4_0_avx2);
    kern_traits_set_pack(&t[GGUF_TTYPE_Q5_0], KERN_PACK_ROWS, kern_pack_bytes_q5_0_avx2, kern_pack_q5_0_avx2,
                         kern_gemm_packed_q5_0_avx2, kern_unpack_row_q5_0_avx2);
    kern_traits_set_pack(&t[GGUF_TTYPE_Q8_0], KERN_PACK_ROWS, kern_pack_bytes_q8_0_avx2, kern_pack_q8_0_avx2,
                         kern_gemm_packed_q8_0_avx2, kern_unpack_row_q8_0_avx2);
    kern_traits_set_pack(&t[GGUF_TTYPE_Q4_K], KERN_PACK_ROWS, kern_pack_bytes_q4_K_avx2, kern_pack_q4_K_avx2,
                         kern_gemm_packed_q4_K_avx2, kern_unpack_row_q4_K_avx2);
    kern_traits_set_pack(&t[GGUF_TTYPE_Q6_K], KERN_PACK_ROWS, kern_pack_bytes_q6_K_avx2, kern_pack_q6_K_avx2,
                         kern_gemm_packed_q6_K_avx2, kern_unpack_row_q6_K_avx2);
}
