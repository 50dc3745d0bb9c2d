/* fill_avx512.c - registers the AVX-512 VNNI kernels in the ops table (the `avx512` row of
 * kern.c's ISA table). Compiled with the VNNI flags (Makefile KERN_ISA_x86_avx512); only
 * called on a CPU that has them.
 *
 * The table starts as the avx512f table (the row's base: the 16-lane float kernels, the
 * quantizer and vector ops), so this adds only what needs vpdpbusd: Q4_0, Q5_0 and Q8_0 in
 * 16-row groups with their fused gate/up gemm, and VNNI tiles over the AVX2 Q4_K and Q6_K
 * layouts. Tested against generic/ by tests/test_kernels.c on CPUs that have the ISA (e.g.
 * AMD Zen 4/5), skipped elsewhere. */
#include "avx512.h"

void kern_fill_avx512(kern_type_traits *t) {
    kern_traits_set_pack(&t[GGUF_TTYPE_Q4_0], 16, kern_pack_bytes_q4_0_avx512, kern_pack_q4_0_avx512,
                         kern_gemm_packed_q4_0_avx512, kern_unpack_row_q4_0_avx512);
    t[GGUF_TTYPE_Q4_0].gemm_packed_geglu = kern_gemm_packed_geglu_q4_0_avx512;
    kern_traits_set_pack(&t[GGUF_TTYPE_Q5_0], 16, kern_pack_bytes_q5_0_avx512, kern_pack_q5_0_avx512,
                         kern_gemm_packed_q5_0_avx512, kern_unpack_row_q5_0_avx512);
    t[GGUF_TTYPE_Q5_0].gemm_packed_geglu = kern_gemm_packed_geglu_q5_0_avx512;
    kern_traits_set_pack(&t[GGUF_TTYPE_Q8_0], 16, kern_pack_bytes_q8_0_avx512, kern_pack_q8_0_avx512,
                         kern_gemm_packed_q8_0_avx512, kern_unpack_row_q8_0_avx512);
    t[GGUF_TTYPE_Q8_0].gemm_packed_geglu = kern_gemm_packed_geglu_q8_0_avx512;
    t[GGUF_TTYPE_Q4_K].gemm_packed = kern_gemm_packed_q4_K_avx512; /* the AVX2 layouts and packing */
    t[GGUF_TTYPE_Q6_K].gemm_packed = kern_gemm_packed_q6_K_avx512;
}
