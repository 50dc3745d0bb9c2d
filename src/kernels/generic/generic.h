/* generic.h - internal: the reference kernels of generic/ (see kern.h). */
#ifndef PIPPA_KERN_GENERIC_H
#define PIPPA_KERN_GENERIC_H

#include "../kern.h"

float kern_dot_f32_f32_generic(int64_t n, const void *w, const void *a);
float kern_dot_f16_f32_generic(int64_t n, const void *w, const void *a);
float kern_dot_bf16_f32_generic(int64_t n, const void *w, const void *a);
float kern_dot_q4_0_q8_0_generic(int64_t n, const void *w, const void *a);
float kern_dot_q5_0_q8_0_generic(int64_t n, const void *w, const void *a);
float kern_dot_q8_0_q8_0_generic(int64_t n, const void *w, const void *a);
float kern_dot_q4_1_q8_1_generic(int64_t n, const void *w, const void *a);
float kern_dot_q5_1_q8_1_generic(int64_t n, const void *w, const void *a);
float kern_dot_q2_K_q8_K_generic(int64_t n, const void *w, const void *a);
float kern_dot_q3_K_q8_K_generic(int64_t n, const void *w, const void *a);
float kern_dot_q4_K_q8_K_generic(int64_t n, const void *w, const void *a);
float kern_dot_q5_K_q8_K_generic(int64_t n, const void *w, const void *a);
float kern_dot_q6_K_q8_K_generic(int64_t n, const void *w, const void *a);

void kern_act_f32_generic(const float *x, void *y, int64_t n);
void kern_act_q8_0_generic(const float *x, void *y, int64_t n);
void kern_act_q8_1_generic(const float *x, void *y, int64_t n);
void kern_act_q8_K_generic(const float *x, void *y, int64_t n);

#endif
