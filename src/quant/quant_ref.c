/* quant_ref.c - reference quantizers for the 32-element formats (Q4_0, Q4_1, Q5_0, Q5_1,
 * Q8_0, Q8_1), the activation formats (Q8_K, and Q8_0 with the x86 rounding rule).
 *
 * Bit-identical to llama.cpp's quantize_row_*_ref (ggml-quants.c) as described in
 * quant-formats.md §4 and §5.1: same comparisons (first maximum wins), same float32 operation
 * order, truncating float->int8 conversions with x86 semantics for out-of-range values
 * (quant_trunc_i8), so no input can trigger undefined behaviour.
 * Invariant: k is a multiple of the block size (checked by the dispatcher in quant.c).
 */
#include "quant.h"
#include "quant_internal.h"

#include <float.h>

/* Signed value of largest magnitude in x[0..n) (first one wins on ties) - Q4_0/Q5_0 rule. */
static float signed_absmax(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    return max;
}

void quant_quantize_row_q4_0_ref(const float *x, block_q4_0 *y, int64_t k) {
    for (int64_t i = 0; i < k / QK4_0; i++, x += 32) {
        const float max = signed_absmax(x, 32);
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = pp_f32_to_f16(d);
        for (int j = 0; j < 16; j++) {
            const int q0 = quant_min_i(15, quant_trunc_i8(x[j] * id + 8.5f));
            const int q1 = quant_min_i(15, quant_trunc_i8(x[j + 16] * id + 8.5f));
            y[i].qs[j] = (uint8_t)((unsigned)q0 | (unsigned)q1 << 4);
        }
    }
}

/* min and max of x[0..n) starting from +-FLT_MAX (the Q4_1/Q5_1 rule). */
static void min_max(const float *x, int n, float *mn, float *mx) {
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < lo) lo = x[j];
        if (x[j] > hi) hi = x[j];
    }
    *mn = lo;
    *mx = hi;
}

void quant_quantize_row_q4_1_ref(const float *x, block_q4_1 *y, int64_t k) {
    for (int64_t i = 0; i < k / 32; i++, x += 32) {
        float min, max;
        min_max(x, 32, &min, &max);
        const float d = (max - min) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = pp_f32_to_f16(d);
        y[i].m = pp_f32_to_f16(min);
        for (int j = 0; j < 16; j++) {
            const int q0 = quant_min_i(15, quant_trunc_i8((x[j] - min) * id + 0.5f));
            const int q1 = quant_min_i(15, quant_trunc_i8((x[j + 16] - min) * id + 0.5f));
            /* llama.cpp stores MIN(15, int8) into a uint8_t: keep the low byte */
            y[i].qs[j] = (uint8_t)(((unsigned)q0 & 0xFF) | ((unsigned)q1 & 0xFF) << 4);
        }
    }
}

static void store_u32le(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void quant_quantize_row_q5_0_ref(const float *x, block_q5_0 *y, int64_t k) {
    for (int64_t i = 0; i < k / 32; i++, x += 32) {
        const float max = signed_absmax(x, 32);
        const float d = max / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = pp_f32_to_f16(d);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            const unsigned q0 = (uint8_t)quant_min_i(31, quant_trunc_i8(x[j] * id + 16.5f));
            const unsigned q1 = (uint8_t)quant_min_i(31, quant_trunc_i8(x[j + 16] * id + 16.5f));
            y[i].qs[j] = (uint8_t)((q0 & 0xF) | (q1 & 0xF) << 4);
            qh |= ((q0 & 0x10u) >> 4) << j;
            qh |= ((q1 & 0x10u) >> 4) << (j + 16);
        }
        store_u32le(y[i].qh, qh);
    }
}

void quant_quantize_row_q5_1_ref(const float *x, block_q5_1 *y, int64_t k) {
    for (int64_t i = 0; i < k / 32; i++, x += 32) {
        float min, max;
        min_max(x, 32, &min, &max);
        const float d = (max - min) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = pp_f32_to_f16(d);
        y[i].m = pp_f32_to_f16(min);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            /* (uint8_t)(float): same cvttss2si + low byte as the int8 case */
            const unsigned q0 = (uint8_t)quant_trunc_i32((x[j] - min) * id + 0.5f);
            const unsigned q1 = (uint8_t)quant_trunc_i32((x[j + 16] - min) * id + 0.5f);
            y[i].qs[j] = (uint8_t)((q0 & 0xF) | (q1 & 0xF) << 4);
            qh |= ((q0 & 0x10u) >> 4) << j;
            qh |= ((q1 & 0x10u) >> 4) << (j + 16);
        }
        store_u32le(y[i].qh, qh);
    }
}

static float absmax(const float *x, int n) {
    float amax = 0.0f;
    for (int j = 0; j < n; j++) amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
    return amax;
}

/* roundf (half away from zero) then the int8 store of llama.cpp (low byte of cvttss2si). */
static int8_t round_away_i8(float v) {
    return (int8_t)quant_trunc_i8(roundf(v));
}

void quant_quantize_row_q8_0_ref(const float *x, block_q8_0 *y, int64_t k) {
    for (int64_t i = 0; i < k / QK8_0; i++, x += 32) {
        const float d = absmax(x, 32) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = pp_f32_to_f16(d);
        for (int j = 0; j < 32; j++) y[i].qs[j] = round_away_i8(x[j] * id);
    }
}

void quant_quantize_row_q8_1_ref(const float *x, block_q8_1 *y, int64_t k) {
    for (int64_t i = 0; i < k / 32; i++, x += 32) {
        const float d = absmax(x, 32) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = pp_f32_to_f16(d);
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            y[i].qs[j] = round_away_i8(x[j] * id);
            sum += y[i].qs[j];
        }
        y[i].s = pp_f32_to_f16((float)sum * d);
    }
}

/* x86 (AVX/AVX2) activation rule: s = 127/amax, round half to even, saturating pack. */
void quant_quantize_row_q8_0_x86(const float *x, block_q8_0 *y, int64_t k) {
    for (int64_t i = 0; i < k / QK8_0; i++, x += 32) {
        const float amax = absmax(x, 32);
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[i].d = pp_f32_to_f16(d);
        for (int j = 0; j < 32; j++) {
            const float r = nearbyintf(x[j] * id); /* default mode: nearest, ties to even */
            int32_t v = (r >= -2147483648.0f && r < 2147483648.0f) ? (int32_t)r : INT32_MIN;
            y[i].qs[j] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
        }
    }
}

void quant_quantize_row_q8_K_ref(const float *x, block_q8_K *y, int64_t k) {
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        float max = 0.0f, amax = 0.0f;
        for (int j = 0; j < QK_K; j++) {
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        if (amax == 0.0f) {
            y[i].d = 0.0f;
            memset(y[i].qs, 0, sizeof y[i].qs);
            memset(y[i].bsums, 0, sizeof y[i].bsums);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) {
            const int v = quant_min_i(127, quant_nearest_int(iscale * x[j]));
            y[i].qs[j] = (int8_t)(uint8_t)((unsigned)v & 0xFF);
        }
        for (int g = 0; g < QK_K / 16; g++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += y[i].qs[16 * g + l];
            y[i].bsums[g] = (int16_t)sum;
        }
        y[i].d = 1.0f / iscale;
    }
}
