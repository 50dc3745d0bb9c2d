/* fill_avx512.c - registers the AVX-512 (F/BW/VL/DQ, VNNI, BF16) kernels in the ops table.
 * Compiled with the AVX-512 flags; only called after kern_isa_available(KERN_ISA_AVX512).
 *
 * The AVX-512 table starts as a copy of the AVX2 table (kern.c build_tables), so on an
 * AVX-512 CPU every type already runs the AVX2 kernels. No AVX-512 variant is registered yet:
 * the development VM does not expose AVX-512 (no avx512* in /proc/cpuinfo), so such kernels
 * could not be run against generic/ by tests/test_kernels.c. Add them here together with a
 * test run on a CPU that has the ISA. */
#include "../kern_internal.h"

void kern_fill_avx512(kern_type_traits *table) { (void)table; }
