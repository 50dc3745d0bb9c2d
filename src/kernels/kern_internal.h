/* kern_internal.h - internal to src/kernels: hooks through which each ISA directory
 * overrides the entries of the ops table it implements. */
#ifndef PIPPA_KERN_INTERNAL_H
#define PIPPA_KERN_INTERNAL_H

#include "kern.h"

void kern_vec_fill_generic(kern_vec_ops *ops);

#if defined(__x86_64__)
#define KERN_HAVE_X86 1
void kern_fill_avx2(kern_type_traits *table);
void kern_vec_fill_avx2(kern_vec_ops *ops);
void kern_fill_avx512(kern_type_traits *table);
void kern_vec_fill_avx512(kern_vec_ops *ops);
#else
#define KERN_HAVE_X86 0
#endif

#endif
