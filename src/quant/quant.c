/* quant.c - type table and the quant_dequantize_row / quant_quantize_row dispatchers.
 *
 * The table mirrors ggml's type traits (quant-formats.md, gguf.md §4): name, elements per
 * block, bytes per block, and whether pippa implements the format. The dispatchers validate
 * what the per-format routines assume (known and supported type, n a non-negative multiple
 * of the block size, finite input for quantization) and accept byte buffers at any address:
 * blocks at a misaligned address are staged through an aligned local buffer.
 */
#include "quant.h"
#include "quant_internal.h"

#include <stdio.h>

typedef void (*dequant_fn)(const void *src, float *dst, int64_t n);
typedef void (*quant_fn)(const float *src, void *dst, int64_t n);

typedef struct quant_type {
    const char *name;
    uint32_t blck, bytes, align;
    dequant_fn dequant; /* NULL: not supported */
    quant_fn quant;
} quant_type;

static void deq_f32(const void *s, float *d, int64_t n) { memcpy(d, s, (size_t)n * 4); }
static void deq_f16(const void *s, float *d, int64_t n) {
    const uint16_t *h = s;
    for (int64_t i = 0; i < n; i++) d[i] = pp_f16_to_f32(h[i]);
}
static void deq_bf16(const void *s, float *d, int64_t n) {
    const uint16_t *h = s;
    for (int64_t i = 0; i < n; i++) d[i] = pp_bf16_to_f32(h[i]);
}
static void q_f32(const float *s, void *d, int64_t n) { memcpy(d, s, (size_t)n * 4); }
static void q_f16(const float *s, void *d, int64_t n) {
    uint16_t *h = d;
    for (int64_t i = 0; i < n; i++) h[i] = pp_f32_to_f16(s[i]);
}
static void q_bf16(const float *s, void *d, int64_t n) {
    uint16_t *h = d;
    for (int64_t i = 0; i < n; i++) h[i] = pp_f32_to_bf16(s[i]);
}

/* Adapters from the typed per-format routines to the table's void* signature. */
#define QUANT_ADAPT(t, blk)                                                              \
    static void deq_##t(const void *s, float *d, int64_t n) {                            \
        quant_dequantize_row_##t((const blk *)s, d, n);                                  \
    }                                                                                    \
    static void q_##t(const float *s, void *d, int64_t n) {                              \
        quant_quantize_row_##t##_ref(s, (blk *)d, n);                                    \
    }
QUANT_ADAPT(q4_0, block_q4_0)
QUANT_ADAPT(q4_1, block_q4_1)
QUANT_ADAPT(q5_0, block_q5_0)
QUANT_ADAPT(q5_1, block_q5_1)
QUANT_ADAPT(q8_0, block_q8_0)
QUANT_ADAPT(q8_1, block_q8_1)
QUANT_ADAPT(q2_K, block_q2_K)
QUANT_ADAPT(q3_K, block_q3_K)
QUANT_ADAPT(q4_K, block_q4_K)
QUANT_ADAPT(q5_K, block_q5_K)
QUANT_ADAPT(q6_K, block_q6_K)
QUANT_ADAPT(q8_K, block_q8_K)

#define SUP(n, b, by, al, t) {n, b, by, al, deq_##t, q_##t}
#define UNS(n, b, by) {n, b, by, 1, NULL, NULL}

static const quant_type QUANT_TYPES[GGUF_TTYPE_COUNT] = {
    [GGUF_TTYPE_F32] = SUP("F32", 1, 4, 4, f32),
    [GGUF_TTYPE_F16] = SUP("F16", 1, 2, 2, f16),
    [GGUF_TTYPE_Q4_0] = SUP("Q4_0", 32, 18, 2, q4_0),
    [GGUF_TTYPE_Q4_1] = SUP("Q4_1", 32, 20, 2, q4_1),
    [GGUF_TTYPE_Q5_0] = SUP("Q5_0", 32, 22, 2, q5_0),
    [GGUF_TTYPE_Q5_1] = SUP("Q5_1", 32, 24, 2, q5_1),
    [GGUF_TTYPE_Q8_0] = SUP("Q8_0", 32, 34, 2, q8_0),
    [GGUF_TTYPE_Q8_1] = SUP("Q8_1", 32, 36, 2, q8_1),
    [GGUF_TTYPE_Q2_K] = SUP("Q2_K", 256, 84, 2, q2_K),
    [GGUF_TTYPE_Q3_K] = SUP("Q3_K", 256, 110, 2, q3_K),
    [GGUF_TTYPE_Q4_K] = SUP("Q4_K", 256, 144, 2, q4_K),
    [GGUF_TTYPE_Q5_K] = SUP("Q5_K", 256, 176, 2, q5_K),
    [GGUF_TTYPE_Q6_K] = SUP("Q6_K", 256, 210, 2, q6_K),
    [GGUF_TTYPE_Q8_K] = SUP("Q8_K", 256, 292, 4, q8_K),
    [GGUF_TTYPE_IQ2_XXS] = UNS("IQ2_XXS", 256, 66),
    [GGUF_TTYPE_IQ2_XS] = UNS("IQ2_XS", 256, 74),
    [GGUF_TTYPE_IQ3_XXS] = UNS("IQ3_XXS", 256, 98),
    [GGUF_TTYPE_IQ1_S] = UNS("IQ1_S", 256, 50),
    [GGUF_TTYPE_IQ4_NL] = UNS("IQ4_NL", 32, 18),
    [GGUF_TTYPE_IQ3_S] = UNS("IQ3_S", 256, 110),
    [GGUF_TTYPE_IQ2_S] = UNS("IQ2_S", 256, 82),
    [GGUF_TTYPE_IQ4_XS] = UNS("IQ4_XS", 256, 136),
    [GGUF_TTYPE_I8] = UNS("I8", 1, 1),
    [GGUF_TTYPE_I16] = UNS("I16", 1, 2),
    [GGUF_TTYPE_I32] = UNS("I32", 1, 4),
    [GGUF_TTYPE_I64] = UNS("I64", 1, 8),
    [GGUF_TTYPE_F64] = UNS("F64", 1, 8),
    [GGUF_TTYPE_IQ1_M] = UNS("IQ1_M", 256, 56),
    [GGUF_TTYPE_BF16] = SUP("BF16", 1, 2, 2, bf16),
    [GGUF_TTYPE_TQ1_0] = UNS("TQ1_0", 256, 54),
    [GGUF_TTYPE_TQ2_0] = UNS("TQ2_0", 256, 66),
    [GGUF_TTYPE_MXFP4] = UNS("MXFP4", 32, 17),
};

/* NULL for ids outside the table and for removed ids (4, 5, 31-33, 36-38). */
static const quant_type *type_get(uint32_t type) {
    if (type >= GGUF_TTYPE_COUNT || QUANT_TYPES[type].blck == 0) return NULL;
    return &QUANT_TYPES[type];
}

const char *quant_type_name(uint32_t type) {
    const quant_type *t = type_get(type);
    return t ? t->name : "?";
}

uint32_t quant_block_size(uint32_t type) {
    const quant_type *t = type_get(type);
    return t ? t->blck : 0;
}

uint32_t quant_block_bytes(uint32_t type) {
    const quant_type *t = type_get(type);
    return t ? t->bytes : 0;
}

bool quant_type_supported(uint32_t type) {
    const quant_type *t = type_get(type);
    return t && t->dequant;
}

bool quant_type_quantizable(uint32_t type) {
    const quant_type *t = type_get(type);
    return t && t->quant;
}

uint64_t quant_row_bytes(uint32_t type, uint64_t n) {
    const quant_type *t = type_get(type);
    uint64_t bytes;
    if (!t || n % t->blck != 0 || !pp_mul_u64(n / t->blck, t->bytes, &bytes)) return 0;
    return bytes;
}

/* Common validation of the dispatchers. */
static pp_status check_args(uint32_t type, int64_t n, const quant_type **out, pp_err *err) {
    const quant_type *t = type_get(type);
    if (!t) return pp_err_set(err, PP_ERR_UNSUPPORTED, "type %u is unknown", type);
    if (!t->dequant)
        return pp_err_set(err, PP_ERR_UNSUPPORTED, "type %s is not supported yet", t->name);
    if (n < 0) return pp_err_set(err, PP_ERR_ARG, "element count %lld is negative", (long long)n);
    if (n % t->blck != 0)
        return pp_err_set(err, PP_ERR_ARG,
                          "element count %lld is not a multiple of the %s block size %u",
                          (long long)n, t->name, t->blck);
    *out = t;
    return PP_OK;
}

#define STAGE_BLOCKS 16
#define STAGE_BYTES (STAGE_BLOCKS * 292) /* 16 of the largest block (Q8_K) */

pp_status quant_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n, pp_err *err) {
    const quant_type *t;
    pp_status st = check_args(type, n, &t, err);
    if (st != PP_OK) return st;
    if (n == 0) return PP_OK;
    if ((uintptr_t)src % t->align == 0) {
        t->dequant(src, dst, n);
        return PP_OK;
    }
    _Alignas(16) uint8_t stage[STAGE_BYTES];
    const uint8_t *s = src;
    const int64_t nb = n / t->blck;
    for (int64_t b = 0; b < nb; b += STAGE_BLOCKS) {
        const int64_t cnt = nb - b < STAGE_BLOCKS ? nb - b : STAGE_BLOCKS;
        memcpy(stage, s + b * t->bytes, (size_t)(cnt * t->bytes));
        t->dequant(stage, dst + b * t->blck, cnt * t->blck);
    }
    return PP_OK;
}

pp_status quant_quantize_row(uint32_t type, const float *src, void *dst, int64_t n, pp_err *err) {
    const quant_type *t;
    pp_status st = check_args(type, n, &t, err);
    if (st != PP_OK) return st;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(src[i]))
            return pp_err_set(err, PP_ERR_ARG, "non-finite value at element %lld", (long long)i);
    if (n == 0) return PP_OK;
    if ((uintptr_t)dst % t->align == 0) {
        t->quant(src, dst, n);
        return PP_OK;
    }
    _Alignas(16) uint8_t stage[STAGE_BYTES];
    uint8_t *d = dst;
    const int64_t nb = n / t->blck;
    for (int64_t b = 0; b < nb; b += STAGE_BLOCKS) {
        const int64_t cnt = nb - b < STAGE_BLOCKS ? nb - b : STAGE_BLOCKS;
        t->quant(src + b * t->blck, stage, cnt * t->blck);
        memcpy(d + b * t->bytes, stage, (size_t)(cnt * t->bytes));
    }
    return PP_OK;
}
