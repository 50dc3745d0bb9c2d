/* test_kern_isa.c - the ISA table of src/kernels: kern_isa_parse (PIPPA_KERNELS, --kernels)
 * accepts the ISA names and nothing else, kern_init selects what it is asked for (or the best
 * the CPU has), and the tables a simulated CPU gets (AVX-512 without VNNI, without BW, without
 * BF16/VBMI; no features). The kernels themselves are compared with generic in test_kernels. */
#include <stdlib.h>
#include <string.h>

#include "test.h"

#include "core/core.h"
#include "kernels/kern.h"

static int isa_skip(kern_isa isa) {
    if (kern_isa_available(isa)) return 0;
    t_skip("%s: CPU lacks the ISA (or not an x86-64 build)", kern_isa_name(isa));
    return 1;
}

static void test_select_generic(void) {
    T_CHECK(kern_init(KERN_ISA_GENERIC) == KERN_ISA_GENERIC);
    T_CHECK(kern_active_isa() == KERN_ISA_GENERIC);
    T_CHECK(kern_traits(GGUF_TTYPE_Q4_0) == kern_traits_generic(GGUF_TTYPE_Q4_0));
    T_CHECK(kern_traits(GGUF_TTYPE_Q6_K)->vec_dot == kern_traits_generic(GGUF_TTYPE_Q6_K)->vec_dot);
    kern_isa best = kern_init(KERN_ISA_AUTO);
    if (kern_isa_available(KERN_ISA_AVX2)) T_CHECK(best != KERN_ISA_GENERIC);
    T_CHECK(kern_isa_available(best));
}

/* PIPPA_KERNELS and --kernels go through kern_isa_parse: every ISA's name round-trips, and
 * anything else is an error naming the value and the accepted names. */
static void test_isa_parse(void) {
    pp_err err = {0};
    for (int i = 0; i < KERN_ISA_COUNT; i++) {
        kern_isa got = KERN_ISA_COUNT;
        T_CHECK(kern_isa_parse(kern_isa_name((kern_isa)i), &got, &err) == PP_OK);
        T_CHECK_MSG(got == (kern_isa)i, "%s parsed as %d", kern_isa_name((kern_isa)i), (int)got);
    }
    kern_isa got = KERN_ISA_GENERIC;
    T_CHECK(kern_isa_parse("generic", &got, &err) == PP_OK && got == KERN_ISA_GENERIC);
    const char *bad[] = {"", "AVX2", "avx", "generic ", "sse4"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        got = KERN_ISA_AVX2;
        T_CHECK(kern_isa_parse(bad[i], &got, &err) == PP_ERR_ARG);
        T_CHECK_MSG(got == KERN_ISA_AVX2, "'%s' wrote the out-param", bad[i]);
        char want[64];
        snprintf(want, sizeof want, "'%s'", bad[i]);
        T_CHECK_MSG(strstr(err.msg, want) && strstr(err.msg, "generic") && strstr(err.msg, "avx512"), "%s", err.msg);
    }
}

static bool traits_equal(const kern_type_traits *a, const kern_type_traits *b) {
    return a->type == b->type && a->act_type == b->act_type && a->act_blck == b->act_blck &&
           a->quantize_act == b->quantize_act && a->vec_dot == b->vec_dot && a->gemm == b->gemm &&
           a->pack_rows == b->pack_rows && a->pack_group_bytes == b->pack_group_bytes && a->pack == b->pack &&
           a->gemm_packed == b->gemm_packed && a->unpack_row == b->unpack_row &&
           a->gemm_packed_geglu == b->gemm_packed_geglu;
}

/* kern_fill_isa(isa, cpu) equals the table of ISA want, entry for entry (want's table as
 * kern_init filled it for this CPU), and returns want. */
static void check_fill(const char *what, kern_isa isa, const pp_cpu *cpu, kern_isa want) {
    static kern_type_traits t[GGUF_TTYPE_COUNT];
    kern_vec_ops v;
    const kern_isa got = kern_fill_isa(isa, cpu, t, GGUF_TTYPE_COUNT, &v);
    T_CHECK_MSG(got == want, "%s: %s filled as %s, want %s", what, kern_isa_name(isa), kern_isa_name(got),
                kern_isa_name(want));
    T_CHECK_MSG(!memcmp(&v, kern_vec_isa(want), sizeof v), "%s: vec ops differ from %s's", what, kern_isa_name(want));
    for (uint32_t ty = 0; ty < GGUF_TTYPE_COUNT; ty++) {
        const kern_type_traits *w = kern_traits_isa(want, ty);
        T_CHECK_MSG(w ? traits_equal(&t[ty], w) : !t[ty].vec_dot, "%s: %s traits differ from %s's", what,
                    quant_type_name(ty), kern_isa_name(want));
    }
}

/* AVX-512 is not all-or-nothing: on a simulated CPU (this one with features cleared, never
 * added: the fills run code compiled for them) without VNNI, the avx512 request fills the
 * avx512f table, which has the 16-lane float kernels but the AVX2 packed layouts and no
 * vpdpbusd kernel; BF16 and VBMI are needed by no kernel; without BW nothing of AVX-512. */
static void test_simulated_cpu(void) {
    const pp_cpu real = pp_cpu_detect();
    const pp_cpu none = {0};
    check_fill("no features", KERN_ISA_AVX512, &none, KERN_ISA_GENERIC);
    if (isa_skip(KERN_ISA_AVX512F)) return;
    pp_cpu c = real;
    c.avx512vnni = false;
    T_CHECK(!kern_isa_supported(KERN_ISA_AVX512, &c) && kern_isa_supported(KERN_ISA_AVX512F, &c));
    check_fill("no VNNI", KERN_ISA_AVX512, &c, KERN_ISA_AVX512F);
    const kern_type_traits *f5 = kern_traits_isa(KERN_ISA_AVX512F, GGUF_TTYPE_Q4_0),
                           *f2 = kern_traits_isa(KERN_ISA_AVX2, GGUF_TTYPE_Q4_0);
    T_CHECK(f5->pack_rows == KERN_PACK_ROWS && f5->gemm_packed == f2->gemm_packed && !f5->gemm_packed_geglu);
    T_CHECK(f5->quantize_act != f2->quantize_act);
    T_CHECK(kern_traits_isa(KERN_ISA_AVX512F, GGUF_TTYPE_Q4_K)->gemm_packed ==
            kern_traits_isa(KERN_ISA_AVX2, GGUF_TTYPE_Q4_K)->gemm_packed);
    T_CHECK(kern_traits_isa(KERN_ISA_AVX512F, GGUF_TTYPE_F32)->vec_dot !=
            kern_traits_isa(KERN_ISA_AVX2, GGUF_TTYPE_F32)->vec_dot);
    T_CHECK(kern_vec_isa(KERN_ISA_AVX512F)->geglu != kern_vec_isa(KERN_ISA_AVX2)->geglu);
    c = real;
    c.avx512bw = false;
    check_fill("no AVX512BW", KERN_ISA_AVX512, &c, KERN_ISA_AVX2);
    if (isa_skip(KERN_ISA_AVX512)) return;
    c = real;
    c.avx512bf16 = c.avx512vbmi = false;
    check_fill("no BF16, VBMI", KERN_ISA_AVX512, &c, KERN_ISA_AVX512);
    const kern_type_traits *v5 = kern_traits_isa(KERN_ISA_AVX512, GGUF_TTYPE_Q4_0);
    T_CHECK(v5->pack_rows == 16 && v5->gemm_packed != f2->gemm_packed && v5->gemm_packed_geglu);
    T_CHECK(v5->quantize_act == f5->quantize_act);
}

int main(void) {
    t_kern_init();
    T_RUN(test_isa_parse);
    T_RUN(test_select_generic);
    T_RUN(test_simulated_cpu);
    return t_finish("kern_isa");
}
