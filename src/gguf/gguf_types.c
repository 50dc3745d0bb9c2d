/* gguf_types.c - GGUF value-type names and the ggml tensor-type table (names, block sizes,
 * bytes per block).
 *
 * Invariant: every id < GGUF_TTYPE_COUNT has an entry; removed ids (4, 5, 31-33, 36-38) and
 * ids >= GGUF_TTYPE_COUNT report blck 0, which the reader treats as "unknown type".
 * ref: shared/spec/gguf.md §4 (ggml include/ggml.h enum ggml_type, ggml.c type_traits).
 */
#include "gguf.h"

#include <strings.h>

static const char *const VTYPE_NAMES[GGUF_VTYPE_COUNT] = {
    "UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
    "BOOL",  "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64",
};

const char *gguf_vtype_name(gguf_vtype t) {
    if ((unsigned)t >= GGUF_VTYPE_COUNT) return "?";
    return VTYPE_NAMES[t];
}

static const gguf_ttype_info TTYPES[GGUF_TTYPE_COUNT] = {
    [GGUF_TTYPE_F32] = {"F32", 1, 4},
    [GGUF_TTYPE_F16] = {"F16", 1, 2},
    [GGUF_TTYPE_Q4_0] = {"Q4_0", 32, 18},
    [GGUF_TTYPE_Q4_1] = {"Q4_1", 32, 20},
    [4] = {"?", 0, 0}, /* Q4_2, removed */
    [5] = {"?", 0, 0}, /* Q4_3, removed */
    [GGUF_TTYPE_Q5_0] = {"Q5_0", 32, 22},
    [GGUF_TTYPE_Q5_1] = {"Q5_1", 32, 24},
    [GGUF_TTYPE_Q8_0] = {"Q8_0", 32, 34},
    [GGUF_TTYPE_Q8_1] = {"Q8_1", 32, 36},
    [GGUF_TTYPE_Q2_K] = {"Q2_K", 256, 84},
    [GGUF_TTYPE_Q3_K] = {"Q3_K", 256, 110},
    [GGUF_TTYPE_Q4_K] = {"Q4_K", 256, 144},
    [GGUF_TTYPE_Q5_K] = {"Q5_K", 256, 176},
    [GGUF_TTYPE_Q6_K] = {"Q6_K", 256, 210},
    [GGUF_TTYPE_Q8_K] = {"Q8_K", 256, 292},
    [GGUF_TTYPE_IQ2_XXS] = {"IQ2_XXS", 256, 66},
    [GGUF_TTYPE_IQ2_XS] = {"IQ2_XS", 256, 74},
    [GGUF_TTYPE_IQ3_XXS] = {"IQ3_XXS", 256, 98},
    [GGUF_TTYPE_IQ1_S] = {"IQ1_S", 256, 50},
    [GGUF_TTYPE_IQ4_NL] = {"IQ4_NL", 32, 18},
    [GGUF_TTYPE_IQ3_S] = {"IQ3_S", 256, 110},
    [GGUF_TTYPE_IQ2_S] = {"IQ2_S", 256, 82},
    [GGUF_TTYPE_IQ4_XS] = {"IQ4_XS", 256, 136},
    [GGUF_TTYPE_I8] = {"I8", 1, 1},
    [GGUF_TTYPE_I16] = {"I16", 1, 2},
    [GGUF_TTYPE_I32] = {"I32", 1, 4},
    [GGUF_TTYPE_I64] = {"I64", 1, 8},
    [GGUF_TTYPE_F64] = {"F64", 1, 8},
    [GGUF_TTYPE_IQ1_M] = {"IQ1_M", 256, 56},
    [GGUF_TTYPE_BF16] = {"BF16", 1, 2},
    [31] = {"?", 0, 0}, /* Q4_0_4_4, removed */
    [32] = {"?", 0, 0}, /* Q4_0_4_8, removed */
    [33] = {"?", 0, 0}, /* Q4_0_8_8, removed */
    [GGUF_TTYPE_TQ1_0] = {"TQ1_0", 256, 54},
    [GGUF_TTYPE_TQ2_0] = {"TQ2_0", 256, 66},
    [36] = {"?", 0, 0}, /* IQ4_NL_4_4, removed */
    [37] = {"?", 0, 0}, /* IQ4_NL_4_8, removed */
    [38] = {"?", 0, 0}, /* IQ4_NL_8_8, removed */
    [GGUF_TTYPE_MXFP4] = {"MXFP4", 32, 17},
};

gguf_ttype_info gguf_ttype_info_get(uint32_t type) {
    if (type >= GGUF_TTYPE_COUNT) return (gguf_ttype_info){"?", 0, 0};
    return TTYPES[type];
}

int gguf_ttype_from_name(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < GGUF_TTYPE_COUNT; i++)
        if (TTYPES[i].blck && !strcasecmp(TTYPES[i].name, name)) return i;
    return -1;
}

size_t gguf_vtype_size(gguf_vtype t) {
    switch (t) {
    case GGUF_VTYPE_UINT8: case GGUF_VTYPE_INT8: case GGUF_VTYPE_BOOL: return 1;
    case GGUF_VTYPE_UINT16: case GGUF_VTYPE_INT16: return 2;
    case GGUF_VTYPE_UINT32: case GGUF_VTYPE_INT32: case GGUF_VTYPE_FLOAT32: return 4;
    case GGUF_VTYPE_UINT64: case GGUF_VTYPE_INT64: case GGUF_VTYPE_FLOAT64: return 8;
    default: return 0;
    }
}
