/* vec_generic.c - reference vector helpers for attention and the FFN (see kern.h
 * kern_vec_ops): plain loops, double accumulation for dot products. */
#include "generic.h"

#include <math.h>

#include "../kern_internal.h"

static float elem(const void *row, bool f16, int64_t i) {
    return f16 ? pp_f16_to_f32(((const uint16_t *)row)[i]) : ((const float *)row)[i];
}

static void attn_qk(int64_t n, int64_t nh, const float *q, int64_t q_stride, const void *k, bool k_f16, float *s,
                    int64_t s_stride) {
    for (int64_t h = 0; h < nh; h++) {
        double sum = 0;
        for (int64_t i = 0; i < n; i++) sum += (double)q[h * q_stride + i] * (double)elem(k, k_f16, i);
        s[h * s_stride] = (float)sum;
    }
}

static void attn_pv(int64_t n, int64_t m, int64_t nh, const float *p, int64_t p_stride, const void *const *rows,
                    bool v_f16, float *out, int64_t o_stride) {
    for (int64_t h = 0; h < nh; h++)
        for (int64_t j = 0; j < m; j++)
            for (int64_t i = 0; i < n; i++) out[h * o_stride + i] += p[h * p_stride + j] * elem(rows[j], v_f16, i);
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

static double sumsq(const float *x, int64_t n) {
    double l[16] = {0};
    for (int64_t i = 0; i < n; i++) l[i % 16] += (double)(x[i] * x[i]);
    for (int w = 8; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) l[j] += l[j + w];
    return l[0];
}

static void scale_mul(float *y, const float *x, float s, const float *w, int64_t n) {
    if (w)
        for (int64_t k = 0; k < n; k++) y[k] = (x[k] * s) * w[k];
    else
        for (int64_t k = 0; k < n; k++) y[k] = x[k] * s;
}

void kern_vec_fill_generic(kern_vec_ops *o) {
    o->scale_mul = scale_mul;
    o->sumsq = sumsq;
    o->exp_sum = exp_sum;
    o->attn_qk = attn_qk;
    o->attn_pv = attn_pv;
    o->geglu = geglu;
    o->f32_to_f16 = f32_to_f16;
}
