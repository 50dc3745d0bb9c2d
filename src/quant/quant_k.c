/* quant_k.c - reference quantizers for the K-quant formats Q2_K, Q3_K, Q4_K, Q5_K, Q6_K.
 *
 * These follow llama.cpp's quantize_row_*_ref (ggml-quants.c), the routines llama-quantize
 * uses without an importance matrix, so that re-quantizing an F32 tensor gives the bytes of
 * llama.cpp's file (checked in tests/test_quant_fx.c). quant-formats.md §4 describes the idea:
 * per sub-block a small search for scale (and min) that minimizes a weighted squared error,
 * 6-bit (Q6_K: 8-bit) quantization of the sub-block scales relative to the block maximum, and
 * a final re-quantization of every weight against the quantized scales.
 *
 * Exactness invariant: every float32 expression keeps llama.cpp's operation order and
 * rounding (no FMA, see quant_internal.h); the integer conversions wrap as gcc does on x86-64
 * but are written without undefined behaviour (shifts on unsigned values).
 */
#include "quant.h"
#include "quant_internal.h"

#define QUANT_GROUP_MAX_EPS 1e-15f /* below this a group is treated as all zero */

/* Asymmetric search (scale and min) used by Q2_K, Q4_K, Q5_K: L[i] in [0, nmax] so that
 * x ~= scale*L + min with min <= 0. First the plain rounding with scale = (max-min)/nmax,
 * then nstep+1 candidate inverse scales (rmin + rdelta*is + nmax)/(max-min), each refit by
 * weighted least squares; the candidate with the smallest weighted error (squared, or
 * absolute when use_mad) wins. Returns the scale; *neg_min = -min. */
static float search_scale_min(int n, int nmax, const float *x, const float *w, uint8_t *L,
                              float *neg_min, uint8_t *Laux, float rmin, float rdelta,
                              int nstep, bool use_mad) {
    float min = x[0], max = x[0];
    float sum_w = w[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *neg_min = -min;
        return 0.0f;
    }
    float iscale = (float)nmax / (max - min);
    float scale = 1.0f / iscale;
    float best_error = 0.0f;
    for (int i = 0; i < n; i++) {
        int l = quant_nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)quant_max_i(0, quant_min_i(nmax, l));
        float diff = scale * (float)L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_error += w[i] * diff;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = quant_nearest_int(iscale * (x[i] - min));
            l = quant_max_i(0, quant_min_i(nmax, l));
            Laux[i] = (uint8_t)l;
            const float fl = (float)l;
            sum_l += w[i] * fl;
            sum_l2 += w[i] * fl * fl;
            sum_xl += w[i] * fl * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * (float)Laux[i] + this_min - x[i];
                diff = use_mad ? fabsf(diff) : diff * diff;
                cur_error += w[i] * diff;
            }
            if (cur_error < best_error) {
                memcpy(L, Laux, (size_t)n);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *neg_min = -min;
    return scale;
}

/* Symmetric search with weights x^2 (Q6_K): L[i] in [0, 2*nmax), value = scale*(L - nmax).
 * Tries iscale = -(nmax + 0.1*is)/max for is = -9..9 and keeps the least-squares scale with
 * the best weighted fit. Returns the scale (0 for an all-zero group). */
static float search_scale_sym(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < QUANT_GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float iscale = (float)(-nmax) / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = quant_nearest_int(iscale * x[i]);
        l = quant_max_i(-nmax, quant_min_i(nmax - 1, l));
        L[i] = (int8_t)(l + nmax);
        const float w = x[i] * x[i], fl = (float)l;
        sumlx += w * x[i] * fl;
        suml2 += w * fl * fl;
    }
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = quant_nearest_int(iscale * x[i]);
            l = quant_max_i(-nmax, quant_min_i(nmax - 1, l));
            const float w = x[i] * x[i], fl = (float)l;
            sumlx += w * x[i] * fl;
            suml2 += w * fl * fl;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) {
                int l = quant_nearest_int(iscale * x[i]);
                L[i] = (int8_t)(nmax + quant_max_i(-nmax, quant_min_i(nmax - 1, l)));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* Q3_K group search: start from iscale = -nmax/max, then up to 5 passes of coordinate
 * descent that move one L at a time when it improves the weighted (x^2) fit. L in
 * [0, 2*nmax). Returns the least-squares scale. */
static float search_scale_q3(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < QUANT_GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    const float iscale = (float)(-nmax) / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = quant_nearest_int(iscale * x[i]);
        l = quant_max_i(-nmax, quant_min_i(nmax - 1, l));
        L[i] = (int8_t)l;
        const float w = x[i] * x[i], fl = (float)l;
        sumlx += w * x[i] * fl;
        suml2 += w * fl * fl;
    }
    for (int itry = 0; itry < 5; itry++) {
        int n_changed = 0;
        for (int i = 0; i < n; i++) {
            const float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * (float)L[i];
            if (slx > 0) {
                float sl2 = suml2 - w * (float)L[i] * (float)L[i];
                int new_l = quant_nearest_int(x[i] * sl2 / slx);
                new_l = quant_max_i(-nmax, quant_min_i(nmax - 1, new_l));
                if (new_l != L[i]) {
                    const float fl = (float)new_l;
                    slx += w * x[i] * fl;
                    sl2 += w * fl * fl;
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (int8_t)new_l;
                        sumlx = slx;
                        suml2 = sl2;
                        n_changed++;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    for (int i = 0; i < n; i++) L[i] = (int8_t)(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* Packs 2-bit values of 256 weights: byte 32h+l holds elements 128h + 32k + l at bits 2k. */
static void pack_2bit(const uint8_t *L, uint8_t *qs) {
    for (int j = 0; j < QK_K; j += 128)
        for (int l = 0; l < 32; l++)
            qs[j / 4 + l] = (uint8_t)(L[j + l] | L[j + l + 32] << 2 | L[j + l + 64] << 4 |
                                      L[j + l + 96] << 6);
}

void quant_quantize_row_q2_K_ref(const float *x, block_q2_K *y, int64_t k) {
    uint8_t L[QK_K], Laux[16];
    float w[16], mins[QK_K / 16], scales[QK_K / 16];
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < QK_K / 16; j++) {
            for (int l = 0; l < 16; l++) w[l] = fabsf(x[16 * j + l]);
            scales[j] = search_scale_min(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], Laux,
                                         -0.5f, 0.1f, 15, true);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        if (max_scale > 0) {
            const float iscale = 15.0f / max_scale;
            for (int j = 0; j < QK_K / 16; j++)
                y[i].scales[j] = (uint8_t)((unsigned)quant_nearest_int(iscale * scales[j]) & 0xFF);
            y[i].d = pp_f32_to_f16(max_scale / 15.0f);
        } else {
            memset(y[i].scales, 0, sizeof y[i].scales);
            y[i].d = pp_f32_to_f16(0.0f);
        }
        if (max_min > 0) {
            const float iscale = 15.0f / max_min;
            for (int j = 0; j < QK_K / 16; j++)
                y[i].scales[j] |= (uint8_t)((unsigned)quant_nearest_int(iscale * mins[j]) << 4);
            y[i].dmin = pp_f32_to_f16(max_min / 15.0f);
        } else {
            y[i].dmin = pp_f32_to_f16(0.0f);
        }
        for (int j = 0; j < QK_K / 16; j++) {
            const float d = pp_f16_to_f32(y[i].d) * (float)(y[i].scales[j] & 0xF);
            if (d == 0.0f) continue;
            const float dm = pp_f16_to_f32(y[i].dmin) * (float)(y[i].scales[j] >> 4);
            for (int l = 0; l < 16; l++) {
                int q = quant_nearest_int((x[16 * j + l] + dm) / d);
                L[16 * j + l] = (uint8_t)quant_max_i(0, quant_min_i(3, q));
            }
        }
        pack_2bit(L, y[i].qs);
    }
}

void quant_quantize_row_q3_K_ref(const float *x, block_q3_K *y, int64_t k) {
    int8_t L[QK_K];
    float scales[QK_K / 16];
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        float max_scale = 0, amax = 0;
        for (int j = 0; j < QK_K / 16; j++) {
            scales[j] = search_scale_q3(16, 4, x + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > amax) {
                amax = fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
        memset(y[i].scales, 0, sizeof y[i].scales);
        if (max_scale != 0.0f) {
            const float iscale = -32.0f / max_scale;
            for (int j = 0; j < QK_K / 16; j++) {
                int l = (int8_t)(uint8_t)((unsigned)quant_nearest_int(iscale * scales[j]) & 0xFF);
                l = quant_max_i(-32, quant_min_i(31, l)) + 32; /* 0..63 */
                if (j < 8) y[i].scales[j] = (uint8_t)(l & 0xF);
                else y[i].scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
                y[i].scales[j % 4 + 8] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
            }
            y[i].d = pp_f32_to_f16(1.0f / iscale);
        } else {
            y[i].d = pp_f32_to_f16(0.0f);
        }
        for (int j = 0; j < QK_K / 16; j++) {
            const uint8_t *b = y[i].scales;
            int sc = j < 8 ? (b[j] & 0xF) : (b[j - 8] >> 4);
            sc = (sc | ((b[8 + j % 4] >> (2 * (j / 4))) & 3) << 4) - 32;
            const float d = pp_f16_to_f32(y[i].d) * (float)sc;
            if (d == 0.0f) continue;
            for (int l = 0; l < 16; l++) {
                int q = quant_nearest_int(x[16 * j + l] / d);
                L[16 * j + l] = (int8_t)(quant_max_i(-4, quant_min_i(3, q)) + 4);
            }
        }
        /* high bit of element e goes to bit e/32 of hmask[e%32] */
        memset(y[i].hmask, 0, sizeof y[i].hmask);
        uint8_t L2[QK_K];
        for (int e = 0; e < QK_K; e++) {
            int v = L[e];
            if (v > 3) {
                y[i].hmask[e % 32] |= (uint8_t)(1u << (e / 32));
                v -= 4;
            }
            L2[e] = (uint8_t)v;
        }
        pack_2bit(L2, y[i].qs);
    }
}

/* Stores 6-bit scale ls and min lm of sub-block j into the 12-byte Q4_K/Q5_K scale array
 * (layout quant-formats.md §3.3). */
static void k4_pack_scale_min(uint8_t *b, int j, unsigned ls, unsigned lm) {
    if (j < 4) {
        b[j] = (uint8_t)ls;
        b[j + 4] = (uint8_t)lm;
    } else {
        b[j + 4] = (uint8_t)((ls & 0xF) | (lm & 0xF) << 4);
        b[j - 4] |= (uint8_t)((ls >> 4) << 6);
        b[j] |= (uint8_t)((lm >> 4) << 6);
    }
}

static void k4_scale_min(const uint8_t *b, int j, int *sc, int *m) {
    if (j < 4) {
        *sc = b[j] & 63;
        *m = b[j + 4] & 63;
    } else {
        *sc = (b[j + 4] & 0xF) | ((b[j - 4] >> 6) << 4);
        *m = (b[j + 4] >> 4) | ((b[j] >> 6) << 4);
    }
}

/* Shared by Q4_K (nmax 15) and Q5_K (nmax 31): fills scales, d, dmin and L[256]. */
static void k4_quantize_block(const float *x, uint8_t *scales_out, uint16_t *d_out,
                              uint16_t *dmin_out, uint8_t *L, int nmax, float rmin,
                              float rdelta, int nstep) {
    uint8_t Laux[32];
    float w[32], mins[QK_K / 32], scales[QK_K / 32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 32; j++) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
        const float av_x = sqrtf(sum_x2 / 32.0f);
        for (int l = 0; l < 32; l++) w[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = search_scale_min(32, nmax, x + 32 * j, w, L + 32 * j, &mins[j], Laux, rmin,
                                     rdelta, nstep, false);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    for (int j = 0; j < QK_K / 32; j++) {
        unsigned ls = (unsigned)quant_nearest_int(inv_scale * scales[j]) & 0xFF;
        unsigned lm = (unsigned)quant_nearest_int(inv_min * mins[j]) & 0xFF;
        k4_pack_scale_min(scales_out, j, ls < 63 ? ls : 63, lm < 63 ? lm : 63);
    }
    *d_out = pp_f32_to_f16(max_scale / 63.0f);
    *dmin_out = pp_f32_to_f16(max_min / 63.0f);
    for (int j = 0; j < QK_K / 32; j++) {
        int sc, m;
        k4_scale_min(scales_out, j, &sc, &m);
        const float d = pp_f16_to_f32(*d_out) * (float)sc;
        if (d == 0.0f) continue;
        const float dm = pp_f16_to_f32(*dmin_out) * (float)m;
        for (int l = 0; l < 32; l++) {
            int q = quant_nearest_int((x[32 * j + l] + dm) / d);
            L[32 * j + l] = (uint8_t)quant_max_i(0, quant_min_i(nmax, q));
        }
    }
}

void quant_quantize_row_q4_K_ref(const float *x, block_q4_K *y, int64_t k) {
    uint8_t L[QK_K];
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        memset(y[i].scales, 0, sizeof y[i].scales);
        k4_quantize_block(x, y[i].scales, &y[i].d, &y[i].dmin, L, 15, -1.0f, 0.1f, 20);
        /* 32-byte chunk c: low nibbles sub-block 2c, high nibbles sub-block 2c+1 */
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                y[i].qs[32 * c + l] = (uint8_t)(L[64 * c + l] | L[64 * c + 32 + l] << 4);
    }
}

void quant_quantize_row_q5_K_ref(const float *x, block_q5_K *y, int64_t k) {
    uint8_t L[QK_K];
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        memset(y[i].scales, 0, sizeof y[i].scales);
        k4_quantize_block(x, y[i].scales, &y[i].d, &y[i].dmin, L, 31, -0.5f, 0.1f, 15);
        memset(y[i].qh, 0, sizeof y[i].qh);
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                unsigned l1 = L[64 * c + l], l2 = L[64 * c + 32 + l];
                if (l1 > 15) {
                    l1 -= 16;
                    y[i].qh[l] |= (uint8_t)(1u << (2 * c));
                }
                if (l2 > 15) {
                    l2 -= 16;
                    y[i].qh[l] |= (uint8_t)(2u << (2 * c));
                }
                y[i].qs[32 * c + l] = (uint8_t)(l1 | l2 << 4);
            }
        }
    }
}

void quant_quantize_row_q6_K_ref(const float *x, block_q6_K *y, int64_t k) {
    int8_t L[QK_K];
    float scales[QK_K / 16];
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < QK_K / 16; ib++) {
            scales[ib] = search_scale_sym(16, 32, x + 16 * ib, L + 16 * ib);
            if (fabsf(scales[ib]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[ib]);
                max_scale = scales[ib];
            }
        }
        if (max_abs_scale < QUANT_GROUP_MAX_EPS) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -128.0f / max_scale;
        y[i].d = pp_f32_to_f16(1.0f / iscale);
        for (int ib = 0; ib < QK_K / 16; ib++) {
            int v = quant_min_i(127, quant_nearest_int(iscale * scales[ib]));
            y[i].scales[ib] = (int8_t)(uint8_t)((unsigned)v & 0xFF);
        }
        for (int j = 0; j < QK_K / 16; j++) {
            const float d = pp_f16_to_f32(y[i].d) * (float)y[i].scales[j];
            if (d == 0.0f) continue;
            for (int l = 0; l < 16; l++) {
                int q = quant_nearest_int(x[16 * j + l] / d);
                L[16 * j + l] = (int8_t)(quant_max_i(-32, quant_min_i(31, q)) + 32);
            }
        }
        for (int h = 0; h < 2; h++) {
            const int8_t *Lh = L + 128 * h;
            uint8_t *ql = y[i].ql + 64 * h, *qh = y[i].qh + 32 * h;
            for (int l = 0; l < 32; l++) {
                const unsigned a = (uint8_t)Lh[l], b = (uint8_t)Lh[l + 32];
                const unsigned c = (uint8_t)Lh[l + 64], e = (uint8_t)Lh[l + 96];
                ql[l] = (uint8_t)((a & 0xF) | (c & 0xF) << 4);
                ql[l + 32] = (uint8_t)((b & 0xF) | (e & 0xF) << 4);
                qh[l] = (uint8_t)((a >> 4) | (b >> 4) << 2 | (c >> 4) << 4 | (e >> 4) << 6);
            }
        }
    }
}
