/* vec_generic.c - reference vector helpers for attention and the FFN (see kern.h
 * kern_vec_ops): plain loops, double accumulation for dot products. */
#include "generic.h"

#include <math.h>

#include "../kern_internal.h"

static float dot_f16(int64_t n, const float *x, const uint16_t *k) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * (double)pp_f16_to_f32(k[i]);
    return (float)s;
}

static float dot_f32(int64_t n, const float *x, const float *k) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * (double)k[i];
    return (float)s;
}

static void axpy_f16(int64_t n, float a, const uint16_t *v, float *y) {
    for (int64_t i = 0; i < n; i++) y[i] += a * pp_f16_to_f32(v[i]);
}

static void axpy_f32(int64_t n, float a, const float *v, float *y) {
    for (int64_t i = 0; i < n; i++) y[i] += a * v[i];
}

static void geglu(float *g, const float *u, int64_t n) {
    const float c = 0.7978845608028654f, a = 0.044715f;
    for (int64_t i = 0; i < n; i++) {
        float x = g[i];
        g[i] = 0.5f * x * (1.0f + tanhf(c * (x + a * x * x * x))) * u[i];
    }
}

static void f32_to_f16(const float *x, uint16_t *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = pp_f32_to_f16(x[i]);
}

static float exp_sum(float *x, int64_t n, float max) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    return (float)sum;
}

void kern_vec_fill_generic(kern_vec_ops *o) {
    o->exp_sum = exp_sum;
    o->dot_f16 = dot_f16;
    o->dot_f32 = dot_f32;
    o->axpy_f16 = axpy_f16;
    o->axpy_f32 = axpy_f32;
    o->geglu = geglu;
    o->f32_to_f16 = f32_to_f16;
}
