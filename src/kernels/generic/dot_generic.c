/* dot_generic.c - reference dot products of one weight row with one activation row.
 * This file is the specification the SIMD kernels are tested against: plain loops, integer
 * block sums (exact), and double accumulation across blocks.
 * ref: shared/spec/quant-formats.md §2, §3, §5 (llama.cpp ggml-cpu quants.c *_generic). */
#include "generic.h"

/* ---- float weights (activations stay f32) ---- */

float kern_dot_f32_f32_generic(int64_t n, const void *w, const void *a) {
    const float *x = w, *y = a;
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * (double)y[i];
    return (float)s;
}

/* f16 and bf16 differ only in how an element widens to f32 */
static double dot_u16_f32(int64_t n, const uint16_t *x, const float *y, float (*to_f32)(uint16_t)) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)to_f32(x[i]) * (double)y[i];
    return s;
}

float kern_dot_f16_f32_generic(int64_t n, const void *w, const void *a) {
    return (float)dot_u16_f32(n, w, a, pp_f16_to_f32);
}

float kern_dot_bf16_f32_generic(int64_t n, const void *w, const void *a) {
    return (float)dot_u16_f32(n, w, a, pp_bf16_to_f32);
}

/* ---- 32-blocks against Q8_0 / Q8_1 ---- */

float kern_dot_q4_0_q8_0_generic(int64_t n, const void *w, const void *a) {
    const block_q4_0 *x = w;
    const block_q8_0 *y = a;
    double s = 0;
    for (int64_t b = 0; b < n / QK4_0; b++) {
        int32_t sum = 0;
        for (int j = 0; j < 16; j++) {
            sum += ((x[b].qs[j] & 0xF) - 8) * y[b].qs[j];
            sum += ((x[b].qs[j] >> 4) - 8) * y[b].qs[j + 16];
        }
        s += (double)(pp_f16_to_f32(x[b].d) * pp_f16_to_f32(y[b].d)) * sum;
    }
    return (float)s;
}

float kern_dot_q5_0_q8_0_generic(int64_t n, const void *w, const void *a) {
    const block_q5_0 *x = w;
    const block_q8_0 *y = a;
    double s = 0;
    for (int64_t b = 0; b < n / 32; b++) {
        uint32_t qh = (uint32_t)x[b].qh[0] | (uint32_t)x[b].qh[1] << 8 |
                      (uint32_t)x[b].qh[2] << 16 | (uint32_t)x[b].qh[3] << 24;
        int32_t sum = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = (x[b].qs[j] & 0xF) | (int)((qh >> j) & 1) << 4;
            int q1 = (x[b].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            sum += (q0 - 16) * y[b].qs[j] + (q1 - 16) * y[b].qs[j + 16];
        }
        s += (double)(pp_f16_to_f32(x[b].d) * pp_f16_to_f32(y[b].d)) * sum;
    }
    return (float)s;
}

float kern_dot_q8_0_q8_0_generic(int64_t n, const void *w, const void *a) {
    const block_q8_0 *x = w;
    const block_q8_0 *y = a;
    double s = 0;
    for (int64_t b = 0; b < n / 32; b++) {
        int32_t sum = 0;
        for (int j = 0; j < 32; j++) sum += x[b].qs[j] * y[b].qs[j];
        s += (double)(pp_f16_to_f32(x[b].d) * pp_f16_to_f32(y[b].d)) * sum;
    }
    return (float)s;
}

float kern_dot_q4_1_q8_1_generic(int64_t n, const void *w, const void *a) {
    const block_q4_1 *x = w;
    const block_q8_1 *y = a;
    double s = 0;
    for (int64_t b = 0; b < n / 32; b++) {
        int32_t sum = 0;
        for (int j = 0; j < 16; j++)
            sum += (x[b].qs[j] & 0xF) * y[b].qs[j] + (x[b].qs[j] >> 4) * y[b].qs[j + 16];
        s += (double)(pp_f16_to_f32(x[b].d) * pp_f16_to_f32(y[b].d)) * sum +
             (double)(pp_f16_to_f32(x[b].m) * pp_f16_to_f32(y[b].s));
    }
    return (float)s;
}

float kern_dot_q5_1_q8_1_generic(int64_t n, const void *w, const void *a) {
    const block_q5_1 *x = w;
    const block_q8_1 *y = a;
    double s = 0;
    for (int64_t b = 0; b < n / 32; b++) {
        uint32_t qh = (uint32_t)x[b].qh[0] | (uint32_t)x[b].qh[1] << 8 |
                      (uint32_t)x[b].qh[2] << 16 | (uint32_t)x[b].qh[3] << 24;
        int32_t sum = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = (x[b].qs[j] & 0xF) | (int)((qh >> j) & 1) << 4;
            int q1 = (x[b].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            sum += q0 * y[b].qs[j] + q1 * y[b].qs[j + 16];
        }
        s += (double)(pp_f16_to_f32(x[b].d) * pp_f16_to_f32(y[b].d)) * sum +
             (double)(pp_f16_to_f32(x[b].m) * pp_f16_to_f32(y[b].s));
    }
    return (float)s;
}

/* ---- K-quants against Q8_K ----
 * Each weight super-block is unpacked into integer quants q[256], per-group integer scales
 * and mins (groups of 16 or 32 elements) and the float super-scales, so that
 * x[e] = d*sc[g]*q[e] - dmin*mn[g]; the dot with Q8_K is then
 * da * (d * sum_g sc[g]*sum_{e in g} q*qa - dmin * sum_g mn[g]*sum_{e in g} qa). */
typedef struct kblock {
    float d, dmin;
    int group;       /* elements per scale: 16 or 32 */
    int8_t q[256];
    int16_t sc[16], mn[16];
} kblock;

static void unpack_q2_K(const block_q2_K *x, kblock *k) {
    k->d = pp_f16_to_f32(x->d);
    k->dmin = pp_f16_to_f32(x->dmin);
    k->group = 16;
    for (int e = 0; e < 256; e++) {
        int h = e / 128, r = e % 128, kk = r / 32, l = e % 32;
        k->q[e] = (int8_t)((x->qs[32 * h + l] >> (2 * kk)) & 3);
    }
    for (int s = 0; s < 16; s++) {
        k->sc[s] = x->scales[s] & 0xF;
        k->mn[s] = x->scales[s] >> 4;
    }
}

static void unpack_q3_K(const block_q3_K *x, kblock *k) {
    k->d = pp_f16_to_f32(x->d);
    k->dmin = 0;
    k->group = 16;
    const uint8_t *b = x->scales;
    for (int s = 0; s < 16; s++) {
        int low4 = s < 8 ? b[s] & 0xF : b[s - 8] >> 4;
        int high2 = (b[8 + (s % 4)] >> (2 * (s / 4))) & 3;
        k->sc[s] = (int16_t)((low4 | high2 << 4) - 32);
        k->mn[s] = 0;
    }
    for (int e = 0; e < 256; e++) {
        int h = e / 128, r = e % 128, kk = r / 32, l = e % 32;
        int q2 = (x->qs[32 * h + l] >> (2 * kk)) & 3;
        int hb = (x->hmask[l] >> (4 * h + kk)) & 1;
        k->q[e] = (int8_t)(q2 - (hb ? 0 : 4));
    }
}

static void scale_min_k4(int j, const uint8_t *b, int16_t *sc, int16_t *m) {
    if (j < 4) {
        *sc = b[j] & 63;
        *m = b[j + 4] & 63;
    } else {
        *sc = (int16_t)((b[j + 4] & 0xF) | ((b[j - 4] >> 6) << 4));
        *m = (int16_t)((b[j + 4] >> 4) | ((b[j] >> 6) << 4));
    }
}

/* The super-scales and the eight 6-bit scales and mins of Q4_K and Q5_K, packed alike. */
static void unpack_k4_scales(uint16_t d, uint16_t dmin, const uint8_t *scales, kblock *k) {
    k->d = pp_f16_to_f32(d);
    k->dmin = pp_f16_to_f32(dmin);
    k->group = 32;
    for (int j = 0; j < 8; j++) scale_min_k4(j, scales, &k->sc[j], &k->mn[j]);
}

static void unpack_q4_K(const block_q4_K *x, kblock *k) {
    unpack_k4_scales(x->d, x->dmin, x->scales, k);
    for (int e = 0; e < 256; e++) {
        int c = e / 64, l = e % 32, hi = (e / 32) % 2;
        k->q[e] = (int8_t)((x->qs[32 * c + l] >> (4 * hi)) & 0xF);
    }
}

static void unpack_q5_K(const block_q5_K *x, kblock *k) {
    unpack_k4_scales(x->d, x->dmin, x->scales, k);
    for (int e = 0; e < 256; e++) {
        int c = e / 64, l = e % 32, j = e / 32, hi = j % 2;
        int low = (x->qs[32 * c + l] >> (4 * hi)) & 0xF;
        int hb = (x->qh[l] >> j) & 1;
        k->q[e] = (int8_t)(low | hb << 4);
    }
}

static void unpack_q6_K(const block_q6_K *x, kblock *k) {
    k->d = pp_f16_to_f32(x->d);
    k->dmin = 0;
    k->group = 16;
    for (int s = 0; s < 16; s++) {
        k->sc[s] = x->scales[s];
        k->mn[s] = 0;
    }
    for (int e = 0; e < 256; e++) {
        int h = e / 128, r = e % 128, kk = r / 32, l = e % 32;
        int low4, shift = 2 * kk;
        switch (kk) {
        case 0: low4 = x->ql[64 * h + l] & 0xF; break;
        case 1: low4 = x->ql[64 * h + 32 + l] & 0xF; break;
        case 2: low4 = x->ql[64 * h + l] >> 4; break;
        default: low4 = x->ql[64 * h + 32 + l] >> 4; break;
        }
        int high2 = (x->qh[32 * h + l] >> shift) & 3;
        k->q[e] = (int8_t)((low4 | high2 << 4) - 32);
    }
}

static double dot_kblock_q8_K(const kblock *k, const block_q8_K *y) {
    int64_t sum_q = 0, sum_m = 0;
    int ng = 256 / k->group;
    for (int g = 0; g < ng; g++) {
        int32_t sq = 0, sa = 0;
        for (int e = g * k->group; e < (g + 1) * k->group; e++) {
            sq += k->q[e] * y->qs[e];
            sa += y->qs[e];
        }
        sum_q += (int64_t)k->sc[g] * sq;
        sum_m += (int64_t)k->mn[g] * sa;
    }
    return (double)y->d * ((double)k->d * (double)sum_q - (double)k->dmin * (double)sum_m);
}

#define DEFINE_K_DOT(NAME, BLOCK, UNPACK)                                                \
    float NAME(int64_t n, const void *w, const void *a) {                                \
        const BLOCK *x = w;                                                              \
        const block_q8_K *y = a;                                                         \
        double s = 0;                                                                    \
        kblock k;                                                                        \
        for (int64_t b = 0; b < n / QK_K; b++) {                                         \
            UNPACK(&x[b], &k);                                                           \
            s += dot_kblock_q8_K(&k, &y[b]);                                             \
        }                                                                                \
        return (float)s;                                                                 \
    }

DEFINE_K_DOT(kern_dot_q2_K_q8_K_generic, block_q2_K, unpack_q2_K)
DEFINE_K_DOT(kern_dot_q3_K_q8_K_generic, block_q3_K, unpack_q3_K)
DEFINE_K_DOT(kern_dot_q4_K_q8_K_generic, block_q4_K, unpack_q4_K)
DEFINE_K_DOT(kern_dot_q5_K_q8_K_generic, block_q5_K, unpack_q5_K)
DEFINE_K_DOT(kern_dot_q6_K_q8_K_generic, block_q6_K, unpack_q6_K)
