/* act_generic.c - activation-row converters (f32 -> the weight type's dot format).
 * Q8_0 uses llama.cpp's x86 rule so our dot products see the inputs llama.cpp sees on x86
 * (quant-formats.md §5.1). */
#include "generic.h"

#include <string.h>

void kern_act_f32_generic(const float *x, void *y, int64_t n) { memcpy(y, x, (size_t)n * sizeof(float)); }
void kern_act_q8_0_generic(const float *x, void *y, int64_t n) { quant_quantize_row_q8_0_x86(x, y, n); }
void kern_act_q8_1_generic(const float *x, void *y, int64_t n) { quant_quantize_row_q8_1_ref(x, y, n); }
void kern_act_q8_K_generic(const float *x, void *y, int64_t n) { quant_quantize_row_q8_K_ref(x, y, n); }
