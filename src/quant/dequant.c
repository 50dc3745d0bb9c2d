/* dequant.c - reference dequantization of every supported block format.
 *
 * Formulas: quant-formats.md §2-3. Each value is computed in float32 exactly as ggml's
 * to_float does (scale*q, and scale*q - min as two separately rounded operations, no FMA),
 * so results are bit-identical to llama.cpp (checked against dequant-ref.json).
 * Invariant: k is a multiple of the block size (checked by the dispatcher in quant.c).
 */
#include "quant.h"
#include "quant_internal.h"

void quant_dequantize_row_q4_0(const block_q4_0 *x, float *y, int64_t k) {
    for (int64_t i = 0; i < k / QK4_0; i++, y += 32) {
        const float d = pp_f16_to_f32(x[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((x[i].qs[j] & 0xF) - 8) * d;
            y[j + 16] = (float)((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void quant_dequantize_row_q4_1(const block_q4_1 *x, float *y, int64_t k) {
    for (int64_t i = 0; i < k / 32; i++, y += 32) {
        const float d = pp_f16_to_f32(x[i].d), m = pp_f16_to_f32(x[i].m);
        for (int j = 0; j < 16; j++) {
            float p0 = (float)(x[i].qs[j] & 0xF) * d, p1 = (float)(x[i].qs[j] >> 4) * d;
            y[j] = p0 + m;
            y[j + 16] = p1 + m;
        }
    }
}

static uint32_t load_u32le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void quant_dequantize_row_q5_0(const block_q5_0 *x, float *y, int64_t k) {
    for (int64_t i = 0; i < k / 32; i++, y += 32) {
        const float d = pp_f16_to_f32(x[i].d);
        const uint32_t qh = load_u32le(x[i].qh);
        for (int j = 0; j < 16; j++) {
            int q0 = (x[i].qs[j] & 0xF) | (int)((qh >> j) & 1) << 4;
            int q1 = (x[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = (float)(q0 - 16) * d;
            y[j + 16] = (float)(q1 - 16) * d;
        }
    }
}

void quant_dequantize_row_q5_1(const block_q5_1 *x, float *y, int64_t k) {
    for (int64_t i = 0; i < k / 32; i++, y += 32) {
        const float d = pp_f16_to_f32(x[i].d), m = pp_f16_to_f32(x[i].m);
        const uint32_t qh = load_u32le(x[i].qh);
        for (int j = 0; j < 16; j++) {
            int q0 = (x[i].qs[j] & 0xF) | (int)((qh >> j) & 1) << 4;
            int q1 = (x[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            float p0 = (float)q0 * d, p1 = (float)q1 * d;
            y[j] = p0 + m;
            y[j + 16] = p1 + m;
        }
    }
}

void quant_dequantize_row_q8_0(const block_q8_0 *x, float *y, int64_t k) {
    for (int64_t i = 0; i < k / QK8_0; i++, y += 32) {
        const float d = pp_f16_to_f32(x[i].d);
        for (int j = 0; j < 32; j++) y[j] = (float)x[i].qs[j] * d;
    }
}

void quant_dequantize_row_q8_1(const block_q8_1 *x, float *y, int64_t k) {
    for (int64_t i = 0; i < k / 32; i++, y += 32) {
        const float d = pp_f16_to_f32(x[i].d);
        for (int j = 0; j < 32; j++) y[j] = (float)x[i].qs[j] * d;
    }
}

/* Element e of a 256-block: h = e/128, k = (e%128)/32, l = e%32 (quant-formats.md §3). */
void quant_dequantize_row_q2_K(const block_q2_K *x, float *y, int64_t k) {
    for (int64_t i = 0; i < k / QK_K; i++) {
        const float d = pp_f16_to_f32(x[i].d), dmin = pp_f16_to_f32(x[i].dmin);
        for (int e = 0; e < QK_K; e++) {
            const int h = e / 128, kk = (e % 128) / 32, l = e % 32;
            const uint8_t sc = x[i].scales[e / 16];
            const float dl = d * (float)(sc & 0xF), ml = dmin * (float)(sc >> 4);
            const int q = (x[i].qs[32 * h + l] >> (2 * kk)) & 3;
            const float p = dl * (float)q;
            y[i * QK_K + e] = p - ml;
        }
    }
}

/* 6-bit signed scale s (0..15) of a Q3_K block, already minus 32. */
static int q3k_scale(const uint8_t *b, int s) {
    int low4 = s < 8 ? (b[s] & 0xF) : (b[s - 8] >> 4);
    int high2 = (b[8 + (s % 4)] >> (2 * (s / 4))) & 3;
    return (low4 | high2 << 4) - 32;
}

void quant_dequantize_row_q3_K(const block_q3_K *x, float *y, int64_t k) {
    for (int64_t i = 0; i < k / QK_K; i++) {
        const float d = pp_f16_to_f32(x[i].d);
        for (int e = 0; e < QK_K; e++) {
            const int h = e / 128, kk = (e % 128) / 32, l = e % 32;
            const float dl = d * (float)q3k_scale(x[i].scales, e / 16);
            const int q2 = (x[i].qs[32 * h + l] >> (2 * kk)) & 3;
            const int hb = (x[i].hmask[l] >> (e / 32)) & 1;
            y[i * QK_K + e] = dl * (float)(q2 - (hb ? 0 : 4));
        }
    }
}

/* 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block. */
static void k4_scale_min(const uint8_t *b, int j, int *sc, int *m) {
    if (j < 4) {
        *sc = b[j] & 63;
        *m = b[j + 4] & 63;
    } else {
        *sc = (b[j + 4] & 0xF) | ((b[j - 4] >> 6) << 4);
        *m = (b[j + 4] >> 4) | ((b[j] >> 6) << 4);
    }
}

void quant_dequantize_row_q4_K(const block_q4_K *x, float *y, int64_t k) {
    for (int64_t i = 0; i < k / QK_K; i++) {
        const float d = pp_f16_to_f32(x[i].d), dmin = pp_f16_to_f32(x[i].dmin);
        for (int j = 0; j < 8; j++) {
            int sc, m;
            k4_scale_min(x[i].scales, j, &sc, &m);
            const float dl = d * (float)sc, ml = dmin * (float)m;
            const uint8_t *q = x[i].qs + 32 * (j / 2);
            const int shift = 4 * (j % 2);
            for (int l = 0; l < 32; l++) {
                const float p = dl * (float)((q[l] >> shift) & 0xF);
                y[i * QK_K + 32 * j + l] = p - ml;
            }
        }
    }
}

void quant_dequantize_row_q5_K(const block_q5_K *x, float *y, int64_t k) {
    for (int64_t i = 0; i < k / QK_K; i++) {
        const float d = pp_f16_to_f32(x[i].d), dmin = pp_f16_to_f32(x[i].dmin);
        for (int j = 0; j < 8; j++) {
            int sc, m;
            k4_scale_min(x[i].scales, j, &sc, &m);
            const float dl = d * (float)sc, ml = dmin * (float)m;
            const uint8_t *q = x[i].qs + 32 * (j / 2);
            const int shift = 4 * (j % 2);
            for (int l = 0; l < 32; l++) {
                const int v = ((q[l] >> shift) & 0xF) | ((x[i].qh[l] >> j) & 1) << 4;
                const float p = dl * (float)v;
                y[i * QK_K + 32 * j + l] = p - ml;
            }
        }
    }
}

void quant_dequantize_row_q6_K(const block_q6_K *x, float *y, int64_t k) {
    for (int64_t i = 0; i < k / QK_K; i++) {
        const float d = pp_f16_to_f32(x[i].d);
        for (int e = 0; e < QK_K; e++) {
            const int h = e / 128, kk = (e % 128) / 32, l = e % 32;
            const uint8_t lb = x[i].ql[64 * h + 32 * (kk & 1) + l];
            const int low4 = kk < 2 ? (lb & 0xF) : (lb >> 4);
            const int high2 = (x[i].qh[32 * h + l] >> (2 * kk)) & 3;
            const int q = (low4 | high2 << 4) - 32;
            const float ds = d * (float)x[i].scales[e / 16];
            y[i * QK_K + e] = ds * (float)q;
        }
    }
}

void quant_dequantize_row_q8_K(const block_q8_K *x, float *y, int64_t k) {
    for (int64_t i = 0; i < k / QK_K; i++)
        for (int e = 0; e < QK_K; e++) y[i * QK_K + e] = x[i].d * (float)x[i].qs[e];
}
