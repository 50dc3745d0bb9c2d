/* fill_avx512.c - registers the AVX-512 (F/BW/VL/DQ, VNNI, BF16) kernels in the ops table.
 * Compiled with the AVX-512 flags; only called after kern_isa_available(KERN_ISA_AVX512).
 *
 * The AVX-512 table starts as a copy of the AVX2 table (kern.c build_tables), so every type
 * without an AVX-512 variant runs the AVX2 kernels. The variants registered here are tested
 * against generic/ by tests/test_kernels.c on CPUs that have the ISA (e.g. AMD Zen 4/5), and
 * skipped there on CPUs without it. */
#include "avx512.h"

void kern_fill_avx512(kern_type_traits *t) {
    t[GGUF_TTYPE_F32].vec_dot = kern_dot_f32_f32_avx512;
    t[GGUF_TTYPE_F32].gemm = kern_gemm_f32_f32_avx512;
    t[GGUF_TTYPE_F16].vec_dot = kern_dot_f16_f32_avx512;
    t[GGUF_TTYPE_F16].gemm = kern_gemm_f16_f32_avx512;
    t[GGUF_TTYPE_F16].gemm_packed = kern_gemm_packed_f16_avx512; /* the AVX2 layout and packing */
    t[GGUF_TTYPE_BF16].vec_dot = kern_dot_bf16_f32_avx512;
    t[GGUF_TTYPE_BF16].gemm = kern_gemm_bf16_f32_avx512;
    t[GGUF_TTYPE_Q4_0].quantize_act = kern_act_q8_0_avx512;
    t[GGUF_TTYPE_Q5_0].quantize_act = kern_act_q8_0_avx512;
    t[GGUF_TTYPE_Q8_0].quantize_act = kern_act_q8_0_avx512;
    t[GGUF_TTYPE_Q4_0].pack_rows = 16;
    t[GGUF_TTYPE_Q4_0].pack_group_bytes = kern_pack_bytes_q4_0_avx512;
    t[GGUF_TTYPE_Q4_0].pack = kern_pack_q4_0_avx512;
    t[GGUF_TTYPE_Q4_0].gemm_packed = kern_gemm_packed_q4_0_avx512;
    t[GGUF_TTYPE_Q4_0].unpack_row = kern_unpack_row_q4_0_avx512;
    t[GGUF_TTYPE_Q4_0].gemm_packed_geglu = kern_gemm_packed_geglu_q4_0_avx512;
    t[GGUF_TTYPE_Q5_0].pack_rows = 16;
    t[GGUF_TTYPE_Q5_0].pack_group_bytes = kern_pack_bytes_q5_0_avx512;
    t[GGUF_TTYPE_Q5_0].pack = kern_pack_q5_0_avx512;
    t[GGUF_TTYPE_Q5_0].gemm_packed = kern_gemm_packed_q5_0_avx512;
    t[GGUF_TTYPE_Q5_0].unpack_row = kern_unpack_row_q5_0_avx512;
    t[GGUF_TTYPE_Q5_0].gemm_packed_geglu = kern_gemm_packed_geglu_q5_0_avx512;
    t[GGUF_TTYPE_Q8_0].pack_rows = 16;
    t[GGUF_TTYPE_Q8_0].pack_group_bytes = kern_pack_bytes_q8_0_avx512;
    t[GGUF_TTYPE_Q8_0].pack = kern_pack_q8_0_avx512;
    t[GGUF_TTYPE_Q8_0].gemm_packed = kern_gemm_packed_q8_0_avx512;
    t[GGUF_TTYPE_Q8_0].unpack_row = kern_unpack_row_q8_0_avx512;
    t[GGUF_TTYPE_Q8_0].gemm_packed_geglu = kern_gemm_packed_geglu_q8_0_avx512;
    t[GGUF_TTYPE_Q4_K].gemm_packed = kern_gemm_packed_q4_K_avx512; /* the AVX2 layouts and packing */
    t[GGUF_TTYPE_Q6_K].gemm_packed = kern_gemm_packed_q6_K_avx512;
}
