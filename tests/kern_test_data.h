/* kern_test_data.h - test data shared by test_kernels.c and test_kern_pack.c: the weight
 * types, a fixed-seed generator, weight and activation rows with edge data (zero blocks,
 * max-magnitude scales, extremes), the per-type tolerance and the scale S it multiplies, and
 * the SKIP of an ISA the CPU lacks. Static: each test binary has its own copy. */
#ifndef PIPPA_KERN_TEST_DATA_H
#define PIPPA_KERN_TEST_DATA_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#include "core/core.h"
#include "kernels/kern.h"

static const uint32_t TYPES[] = {GGUF_TTYPE_F32,  GGUF_TTYPE_F16,  GGUF_TTYPE_BF16, GGUF_TTYPE_Q4_0,
                                 GGUF_TTYPE_Q4_1, GGUF_TTYPE_Q5_0, GGUF_TTYPE_Q5_1, GGUF_TTYPE_Q8_0,
                                 GGUF_TTYPE_Q2_K, GGUF_TTYPE_Q3_K, GGUF_TTYPE_Q4_K, GGUF_TTYPE_Q5_K,
                                 GGUF_TTYPE_Q6_K};
#define N_TYPES_T (sizeof TYPES / sizeof TYPES[0])
#define ROWS 7
#define MAX_TOK 13

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static inline uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}
static inline float frnd(void) { return (float)((rnd() & 0xFFFFFF) / 8388608.0 - 1.0); } /* [-1, 1) */

static inline bool is_float_type(uint32_t t) {
    return t == GGUF_TTYPE_F32 || t == GGUF_TTYPE_F16 || t == GGUF_TTYPE_BF16;
}

static inline double tol_rel(uint32_t t, int64_t n) {
    return is_float_type(t) ? 1e-5 + (double)n / 16777216.0 : 1e-5;
}

/* byte offsets of the f16 scale (d) and min-scale (m/dmin; -1 if none) fields */
static inline void scale_fields(uint32_t t, int *d_off, int *m_off) {
    *m_off = -1;
    switch (t) {
    case GGUF_TTYPE_Q4_1: case GGUF_TTYPE_Q5_1: *d_off = 0; *m_off = 2; break;
    case GGUF_TTYPE_Q2_K: *d_off = 80; *m_off = 82; break;
    case GGUF_TTYPE_Q3_K: *d_off = 108; break;
    case GGUF_TTYPE_Q4_K: case GGUF_TTYPE_Q5_K: *d_off = 0; *m_off = 2; break;
    case GGUF_TTYPE_Q6_K: *d_off = 208; break;
    default: *d_off = 0; break;
    }
}

static inline void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/* Random weight rows: raw random bits for the quants, random finite scales; row 1 starts
 * with an all-zero block, row 2's second block (or first) has max-magnitude scales. */
static inline void fill_weights_n(uint32_t t, uint8_t *w, size_t row_bytes, int64_t n, int rows) {
    for (size_t i = 0; i < row_bytes * (size_t)rows; i++) w[i] = (uint8_t)rnd();
    if (t == GGUF_TTYPE_F32) {
        for (int64_t i = 0; i < n * rows; i++) {
            float v = frnd() * 2.0f;
            if (i % 11 == 3) v = -0.0f;
            memcpy(w + 4 * i, &v, 4);
        }
        return;
    }
    if (t == GGUF_TTYPE_F16 || t == GGUF_TTYPE_BF16) {
        for (int64_t i = 0; i < n * rows; i++) {
            float v = frnd() * 2.0f;
            uint16_t h = t == GGUF_TTYPE_F16 ? pp_f32_to_f16(v) : pp_f32_to_bf16(v);
            if (i % 11 == 3) h = 0x8000; /* -0 */
            if (i % 97 == 5) h = t == GGUF_TTYPE_F16 ? 0x7BFF : 0x4F00; /* f16 max finite; bf16 2^31 */
            put16(w + 2 * i, h);
        }
        return;
    }
    const uint32_t bs = quant_block_size(t), bb = quant_block_bytes(t);
    const int64_t nb = n / bs;
    int d_off, m_off;
    scale_fields(t, &d_off, &m_off);
    for (int r = 0; r < rows; r++) {
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *blk = w + (size_t)r * row_bytes + (size_t)b * bb;
            put16(blk + d_off, pp_f32_to_f16(frnd() * 0.01f));
            if (m_off >= 0) put16(blk + m_off, pp_f32_to_f16(frnd() * 0.01f));
        }
    }
    memset(w + row_bytes, 0, bb); /* row 1: zero block */
    uint8_t *mx = w + 2 * row_bytes + (nb > 1 ? bb : 0);
    put16(mx + d_off, 0x7BFF);
    if (m_off >= 0) put16(mx + m_off, 0xFBFF);
}
static inline void fill_weights(uint32_t t, uint8_t *w, size_t row_bytes, int64_t n) { fill_weights_n(t, w, row_bytes, n, ROWS); }

/* Activations: random, an all-zero block, negative zeros, extremes of the format's range. */
static inline void fill_acts(uint32_t t, float *x, int64_t n, int n_tok) {
    const float big = t == GGUF_TTYPE_F32 || t == GGUF_TTYPE_F16 || t == GGUF_TTYPE_BF16 ? 1e20f
                      : quant_block_size(t) == 256                                       ? 1e20f
                                                                                          : 1e3f;
    for (int tk = 0; tk < n_tok; tk++) {
        float *v = x + (int64_t)tk * n;
        for (int64_t i = 0; i < n; i++) v[i] = frnd() * 3.0f;
        const int64_t blk = n >= 64 ? 32 : n / 2;
        if (tk % 3 == 1) memset(v, 0, (size_t)blk * sizeof *v); /* zero block */
        if (tk % 3 == 2)
            for (int64_t i = 0; i < blk; i++) v[i] = -0.0f;
        if (tk == 4 || tk == 8) {
            for (int64_t i = 0; i < n; i += 7) v[i] = (i & 8) ? big : -big;
            v[n - 1] = 1e-40f; /* subnormal */
        }
    }
}

/* S = sum |w*a| with the scale and min parts of the weight counted separately. */
static inline double abs_scale(uint32_t t, const uint8_t *wrow, const void *act, int64_t n) {
    float *wd = malloc((size_t)n * sizeof *wd), *wm = malloc((size_t)n * sizeof *wm),
          *a = malloc((size_t)n * sizeof *a);
    const kern_type_traits *g = kern_traits_generic(t);
    pp_err err = {0};
    if (g->act_type == GGUF_TTYPE_F32) memcpy(a, act, (size_t)n * sizeof *a);
    else PP_ASSERT(quant_dequantize_row(g->act_type, act, a, n, &err) == PP_OK);
    int d_off = 0, m_off = -1;
    size_t rb = quant_row_bytes(t, (uint64_t)n);
    uint8_t *c = malloc(rb);
    memcpy(c, wrow, rb);
    memset(wm, 0, (size_t)n * sizeof *wm);
    if (!is_float_type(t)) {
        scale_fields(t, &d_off, &m_off);
        const uint32_t bb = quant_block_bytes(t);
        if (m_off >= 0) {
            for (size_t b = 0; b < rb / bb; b++) put16(c + b * bb + m_off, 0);
            uint8_t *c2 = malloc(rb);
            memcpy(c2, wrow, rb);
            for (size_t b = 0; b < rb / bb; b++) put16(c2 + b * bb + d_off, 0);
            PP_ASSERT(quant_dequantize_row(t, c2, wm, n, &err) == PP_OK);
            free(c2);
        }
    }
    PP_ASSERT(quant_dequantize_row(t, c, wd, n, &err) == PP_OK);
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += fabs((double)wd[i] * a[i]) + fabs((double)wm[i] * a[i]);
    /* Q4_1/Q5_1: the min term is m * s with s = d_a * sum(q_a) stored as f16 */
    free(wd), free(wm), free(a), free(c);
    return s;
}

static inline int isa_skip(kern_isa isa) {
    if (kern_isa_available(isa)) return 0;
    t_skip("%s: CPU lacks the ISA (or not an x86-64 build)", kern_isa_name(isa));
    return 1;
}

#endif
