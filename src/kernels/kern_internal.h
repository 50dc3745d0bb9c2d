/* kern_internal.h - internal to src/kernels: the ISA rows of kern.c's table and the hooks
 * through which each ISA directory overrides the entries of the ops table it implements. */
#ifndef PIPPA_KERN_INTERNAL_H
#define PIPPA_KERN_INTERNAL_H

#include "kern.h"

/* One ISA: its name (PIPPA_KERNELS, --kernels, bench output), the ISA whose tables it starts
 * from, whether a CPU has the features its directory is compiled with, and the fills that
 * override its entries (fill NULL: not built for this architecture; vec_fill NULL: the base's
 * vector ops). */
typedef struct kern_isa_row {
    const char *name;
    kern_isa base;
    bool (*has)(const pp_cpu *cpu);
    void (*fill)(kern_type_traits *table); /* GGUF_TTYPE_COUNT entries */
    void (*vec_fill)(kern_vec_ops *ops);
} kern_isa_row;

void kern_vec_fill_generic(kern_vec_ops *ops);

/* For the fills: entry t's load-time repacking (groups of rows rows; see kern_type_traits). */
static inline void kern_traits_set_pack(kern_type_traits *t, uint32_t rows, size_t (*group_bytes)(int64_t n),
                                        kern_pack_fn pack, kern_gemm_fn gemm_packed, kern_unpack_row_fn unpack_row) {
    t->pack_rows = rows;
    t->pack_group_bytes = group_bytes;
    t->pack = pack;
    t->gemm_packed = gemm_packed;
    t->unpack_row = unpack_row;
}

/* Declares a packed format's entry points in an ISA directory's header (kern_type_traits:
 * pack_group_bytes, pack, unpack_row, gemm_packed): kern_pack_bytes_<ty>_<isa> and so on. */
#define KERN_PACKED_DECL(ty, isa)                                                                                  \
    size_t kern_pack_bytes_##ty##_##isa(int64_t n);                                                                \
    void kern_pack_##ty##_##isa(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst);  \
    void kern_unpack_row_##ty##_##isa(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst);  \
    void kern_gemm_packed_##ty##_##isa(int64_t n, const void *w, size_t group_bytes, const void *act,              \
                                       size_t act_row_bytes, int n_tok, float *y, int64_t y_stride, int64_t r0,    \
                                       int64_t r1);

/* The x86 directories (declared on every architecture; defined and referenced on x86-64). */
void kern_fill_avx2(kern_type_traits *table);
void kern_vec_fill_avx2(kern_vec_ops *ops);
void kern_fill_avx512f(kern_type_traits *table);
void kern_vec_fill_avx512f(kern_vec_ops *ops);
void kern_fill_avx512(kern_type_traits *table);

#if defined(__x86_64__)
#define KERN_HAVE_X86 1
#else
#define KERN_HAVE_X86 0
#endif

#endif
