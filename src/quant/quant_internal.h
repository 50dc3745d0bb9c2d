/* quant_internal.h - rounding helpers shared by the src/quant C files (not a public API).
 *
 * Invariants: every helper is total (defined for NaN, inf and out-of-range input, so no C
 * undefined behaviour), and reproduces what llama.cpp's reference code computes on x86-64
 * for in-range input. ref: quant-formats.md §0, ggml ggml-quants.c nearest_int.
 *
 * Floating point: the quant files must be compiled without contraction of a*b+c into a
 * fused multiply-add, because llama.cpp's reference routines (and dequant-ref.json) use two
 * separately rounded float32 operations. gcc in ISO mode (-std=c11, our Makefile) defaults to
 * -ffp-contract=off; clang honours the STDC pragma below.
 */
#ifndef PIPPA_QUANT_INTERNAL_H
#define PIPPA_QUANT_INTERNAL_H

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Round half to even via the 1.5*2^23 trick (valid for |x| <= 4194303; outside that range
 * the result is the same garbage llama.cpp gets, but always defined). */
static inline int quant_nearest_int(float x) {
    float v = x + 12582912.0f;
    int32_t i;
    memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* C's float -> int conversion as x86 cvttss2si does it: truncation toward zero, and
 * INT32_MIN for NaN or anything outside the int32 range (where C would be undefined). */
static inline int32_t quant_trunc_i32(float x) {
    if (!(x > -2147483648.0f && x < 2147483648.0f)) return INT32_MIN;
    return (int32_t)x;
}

/* (int8_t)(float) as compiled by gcc on x86-64: cvttss2si, then keep the low byte. */
static inline int quant_trunc_i8(float x) {
    return (int8_t)(uint8_t)((uint32_t)quant_trunc_i32(x) & 0xFF);
}

static inline int quant_min_i(int a, int b) { return a < b ? a : b; }
static inline int quant_max_i(int a, int b) { return a > b ? a : b; }

#endif
