/* fill_avx512.c - registers the AVX-512 (F/BW/VL/DQ, VNNI, BF16) kernels in the ops table.
 * Compiled with the AVX-512 flags; only called after kern_isa_available(KERN_ISA_AVX512). */
#include "../kern_internal.h"

void kern_fill_avx512(kern_type_traits *table) { (void)table; }
