/* recipe.c - llama-quantize's choice of a type for each tensor (the "ftype recipe").
 *
 * An ftype (Q4_K_M, ...) names a default tensor type plus per-tensor rules: the output
 * matrix (or token_embd when the output is tied to it) gets Q6_K, attn_v / ffn_down get more
 * bits on some layers (use_more_bits), and a shape fallback replaces a type whose block does
 * not divide the row length. Norms, 1-D tensors and a few small tensors are never converted.
 *
 * Invariants: the rules and their order are those of llama.cpp's llama_tensor_get_type for
 * non-MoE, non-Falcon models without an importance matrix; counters advance only where
 * llama.cpp advances them, so the result depends on the tensor order, which must be
 * quant_tensor_order_cmp's. Differences from llama.cpp v0.5.0 (documented in quant.h):
 * Q2_K/Q3_K fall back to Q4_0 (upstream's newer rule) instead of IQ4_NL, and the shape
 * fallback also covers user-chosen types.
 * ref: shared/spec/quant-formats.md §7-9; llama.cpp src/llama-quant.cpp.
 */
#include "quant.h"

#include <ctype.h>
#include <string.h>

typedef struct ftype_info {
    quant_ftype ftype;
    const char *name;
    uint32_t type; /* default tensor type */
} ftype_info;

/* Listed in the order of quant_ftype_list. */
static const ftype_info FTYPES[] = {
    {QUANT_FTYPE_ALL_F32, "F32", GGUF_TTYPE_F32},   {QUANT_FTYPE_F16, "F16", GGUF_TTYPE_F16},
    {QUANT_FTYPE_BF16, "BF16", GGUF_TTYPE_BF16},    {QUANT_FTYPE_Q8_0, "Q8_0", GGUF_TTYPE_Q8_0},
    {QUANT_FTYPE_Q6_K, "Q6_K", GGUF_TTYPE_Q6_K},    {QUANT_FTYPE_Q5_K_M, "Q5_K_M", GGUF_TTYPE_Q5_K},
    {QUANT_FTYPE_Q5_K_S, "Q5_K_S", GGUF_TTYPE_Q5_K}, {QUANT_FTYPE_Q5_1, "Q5_1", GGUF_TTYPE_Q5_1},
    {QUANT_FTYPE_Q5_0, "Q5_0", GGUF_TTYPE_Q5_0},    {QUANT_FTYPE_Q4_K_M, "Q4_K_M", GGUF_TTYPE_Q4_K},
    {QUANT_FTYPE_Q4_K_S, "Q4_K_S", GGUF_TTYPE_Q4_K}, {QUANT_FTYPE_Q4_1, "Q4_1", GGUF_TTYPE_Q4_1},
    {QUANT_FTYPE_Q4_0, "Q4_0", GGUF_TTYPE_Q4_0},    {QUANT_FTYPE_Q3_K_L, "Q3_K_L", GGUF_TTYPE_Q3_K},
    {QUANT_FTYPE_Q3_K_M, "Q3_K_M", GGUF_TTYPE_Q3_K}, {QUANT_FTYPE_Q3_K_S, "Q3_K_S", GGUF_TTYPE_Q3_K},
    {QUANT_FTYPE_Q2_K, "Q2_K", GGUF_TTYPE_Q2_K},
};
#define N_FTYPES (sizeof FTYPES / sizeof FTYPES[0])

static const ftype_info *ftype_get(quant_ftype ft) {
    for (size_t i = 0; i < N_FTYPES; i++)
        if (FTYPES[i].ftype == ft) return &FTYPES[i];
    return NULL;
}

const char *quant_ftype_list(void) {
    return "F32, F16, BF16, Q8_0, Q6_K, Q5_K_M, Q5_K_S, Q5_1, Q5_0, Q4_K_M, Q4_K_S, Q4_1, "
           "Q4_0, Q3_K_L, Q3_K_M, Q3_K_S, Q2_K";
}

pp_status quant_ftype_from_name(const char *name, quant_ftype *out, pp_err *err) {
    if (name) {
        for (size_t i = 0; i < N_FTYPES; i++) {
            const char *a = FTYPES[i].name, *b = name;
            while (*a && *b && toupper((unsigned char)*b) == *a) a++, b++;
            if (!*a && !*b) {
                *out = FTYPES[i].ftype;
                return PP_OK;
            }
        }
    }
    return pp_err_set(err, PP_ERR_ARG, "unknown type '%s' (valid: %s)", name ? name : "",
                      quant_ftype_list());
}

const char *quant_ftype_name(quant_ftype ft) {
    const ftype_info *f = ftype_get(ft);
    return f ? f->name : "?";
}

uint32_t quant_ftype_default_type(quant_ftype ft) {
    const ftype_info *f = ftype_get(ft);
    return f ? f->type : GGUF_TTYPE_F32;
}

bool quant_type_is_target(uint32_t type) {
    switch (type) {
    case GGUF_TTYPE_F32: case GGUF_TTYPE_F16: case GGUF_TTYPE_BF16:
    case GGUF_TTYPE_Q4_0: case GGUF_TTYPE_Q4_1: case GGUF_TTYPE_Q5_0: case GGUF_TTYPE_Q5_1:
    case GGUF_TTYPE_Q8_0: case GGUF_TTYPE_Q2_K: case GGUF_TTYPE_Q3_K: case GGUF_TTYPE_Q4_K:
    case GGUF_TTYPE_Q5_K: case GGUF_TTYPE_Q6_K:
        return true;
    default:
        return false;
    }
}

quant_recipe_params quant_recipe_default_params(void) {
    return (quant_recipe_params){.ftype = QUANT_FTYPE_Q8_0, .token_embd_type = -1,
                                 .output_type = -1, .pure = false};
}

/* ---- tensor categories (llama.cpp tensor_get_category) ---- */

typedef enum cat {
    CAT_TOKEN_EMBD, CAT_ATTN_Q, CAT_ATTN_V, CAT_ATTN_K, CAT_ATTN_OUTPUT, CAT_FFN_UP,
    CAT_FFN_GATE, CAT_FFN_DOWN, CAT_OUTPUT, CAT_OTHER
} cat;

static bool has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static cat category(const char *name) {
    if (!strcmp(name, "output.weight")) return CAT_OUTPUT;
    if (!strcmp(name, "token_embd.weight") || !strcmp(name, "per_layer_token_embd.weight"))
        return CAT_TOKEN_EMBD;
    /* fused qkv and MLA kv_b count as attn_v (llama.cpp category_is_attn_v) */
    if (has(name, "attn_qkv.weight") || has(name, "attn_kv_b.weight") ||
        has(name, "attn_v.weight"))
        return CAT_ATTN_V;
    if (has(name, "attn_k.weight")) return CAT_ATTN_K;
    if (has(name, "attn_q.weight")) return CAT_ATTN_Q;
    if (has(name, "attn_output.weight")) return CAT_ATTN_OUTPUT;
    if (has(name, "ffn_up")) return CAT_FFN_UP;
    if (has(name, "ffn_gate")) return CAT_FFN_GATE;
    if (has(name, "ffn_down")) return CAT_FFN_DOWN;
    return CAT_OTHER;
}

/* ---- public ---- */

void quant_recipe_init(quant_recipe *r, quant_recipe_params p, int n_layer, int n_gqa) {
    *r = (quant_recipe){.p = p, .n_ffn_down = n_layer, .n_gqa = n_gqa, .tied = true};
}

void quant_recipe_observe(quant_recipe *r, const char *name) {
    cat c = category(name);
    if (c == CAT_ATTN_V) r->n_attn_v++;
    if (c == CAT_OUTPUT) r->tied = false;
}

/* ggml_n_dims: dimensions up to the last one larger than 1. */
static uint32_t eff_dims(uint32_t n_dims, const int64_t *ne) {
    uint32_t n = 1;
    for (uint32_t i = 1; i < n_dims && i < GGUF_MAX_DIMS; i++)
        if (ne[i] > 1) n = i + 1;
    return n;
}

bool quant_recipe_quantizable(const char *name, uint32_t n_dims, const int64_t *ne) {
    static const char *const EXCLUDE[] = {
        "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
        "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight",
        "indexer.q_proj.weight", "time_mix_first.weight", "time_mix_w0.weight",
        "time_mix_w1.weight", "time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight",
        "time_mix_v2.weight", "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight",
        "time_mix_g1.weight", "time_mix_g2.weight", "time_mix_decay_w1.weight",
        "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight",
        ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd",
        ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
    };
    if (eff_dims(n_dims, ne) < 2) return false;
    if (!ends_with(name, "weight")) return false;
    for (size_t i = 0; i < sizeof EXCLUDE / sizeof EXCLUDE[0]; i++)
        if (has(name, EXCLUDE[i])) return false;
    /* positional embeddings and BERT token types */
    if (!strcmp(name, "position_embd.weight") || !strcmp(name, "token_types.weight"))
        return false;
    return true;
}

uint32_t quant_recipe_fallback(uint32_t type, int64_t ne0) {
    uint32_t blck = quant_block_size(type);
    if (blck && ne0 % blck == 0) return type;
    uint32_t t;
    switch (type) {
    case GGUF_TTYPE_Q2_K: case GGUF_TTYPE_Q3_K: t = GGUF_TTYPE_Q4_0; break;
    case GGUF_TTYPE_Q4_K: t = GGUF_TTYPE_Q5_0; break;
    case GGUF_TTYPE_Q5_K: t = GGUF_TTYPE_Q5_1; break;
    case GGUF_TTYPE_Q6_K: t = GGUF_TTYPE_Q8_0; break;
    default: t = GGUF_TTYPE_F16; break;
    }
    blck = quant_block_size(t);
    return ne0 % blck == 0 ? t : GGUF_TTYPE_F16;
}

static bool use_more_bits(int i, int n) {
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* llama_tensor_get_type_impl for the ftypes we write (no IQ, no MoE, not Falcon). */
static uint32_t recipe_rules(quant_recipe *r, uint32_t t, cat c, int64_t ne0) {
    const quant_ftype ft = r->p.ftype;
    if (c == CAT_OUTPUT || (r->tied && c == CAT_TOKEN_EMBD)) {
        if (r->p.output_type >= 0) t = (uint32_t)r->p.output_type;
        else if (ne0 % quant_block_size(t) != 0) t = GGUF_TTYPE_Q8_0;
        else if (t != GGUF_TTYPE_Q8_0) t = GGUF_TTYPE_Q6_K;
    } else if (c == CAT_TOKEN_EMBD) {
        /* untied embeddings keep the default for every ftype we write */
    } else if (c == CAT_ATTN_V) {
        const int i = r->i_attn_v, n = r->n_attn_v;
        if (ft == QUANT_FTYPE_Q2_K) t = r->n_gqa >= 4 ? GGUF_TTYPE_Q4_K : GGUF_TTYPE_Q3_K;
        else if (ft == QUANT_FTYPE_Q3_K_M) t = i < 2 ? GGUF_TTYPE_Q5_K : GGUF_TTYPE_Q4_K;
        else if (ft == QUANT_FTYPE_Q3_K_L) t = GGUF_TTYPE_Q5_K;
        else if ((ft == QUANT_FTYPE_Q4_K_M || ft == QUANT_FTYPE_Q5_K_M) && use_more_bits(i, n))
            t = GGUF_TTYPE_Q6_K;
        else if (ft == QUANT_FTYPE_Q4_K_S && i < 4) t = GGUF_TTYPE_Q5_K;
        r->i_attn_v++;
    } else if (c == CAT_FFN_DOWN) {
        const int i = r->i_ffn_down, n = r->n_ffn_down;
        if (ft == QUANT_FTYPE_Q2_K) t = GGUF_TTYPE_Q3_K;
        else if (ft == QUANT_FTYPE_Q3_K_M) t = i < n / 16 ? GGUF_TTYPE_Q5_K : GGUF_TTYPE_Q4_K;
        else if (ft == QUANT_FTYPE_Q3_K_L) t = GGUF_TTYPE_Q5_K;
        else if (ft == QUANT_FTYPE_Q4_K_M) { if (use_more_bits(i, n)) t = GGUF_TTYPE_Q6_K; }
        else if (ft == QUANT_FTYPE_Q5_K_M && use_more_bits(i, n)) t = GGUF_TTYPE_Q6_K;
        else if (ft == QUANT_FTYPE_Q4_K_S && i < n / 8) t = GGUF_TTYPE_Q5_K;
        r->i_ffn_down++;
    } else if (c == CAT_ATTN_OUTPUT) {
        if (ft == QUANT_FTYPE_Q2_K) t = GGUF_TTYPE_Q3_K;
        else if (ft == QUANT_FTYPE_Q3_K_M) t = GGUF_TTYPE_Q4_K;
        else if (ft == QUANT_FTYPE_Q3_K_L) t = GGUF_TTYPE_Q5_K;
    }
    return t;
}

uint32_t quant_recipe_tensor_type(quant_recipe *r, const char *name, uint32_t src_type,
                                  uint32_t n_dims, const int64_t *ne) {
    if (!quant_recipe_quantizable(name, n_dims, ne)) return src_type;
    const cat c = category(name);
    uint32_t t;
    if (r->p.token_embd_type >= 0 && c == CAT_TOKEN_EMBD) {
        t = (uint32_t)r->p.token_embd_type;
    } else if (r->p.output_type >= 0 && c == CAT_OUTPUT) {
        t = (uint32_t)r->p.output_type;
    } else {
        t = quant_ftype_default_type(r->p.ftype);
        if (quant_block_size(t) <= 1) return t; /* F32/F16/BF16: no rules, no fallback */
        if (!r->p.pure) t = recipe_rules(r, t, c, ne[0]);
    }
    uint32_t f = quant_recipe_fallback(t, ne[0]);
    if (f != t) r->n_fallback++;
    return f;
}

/* sscanf("blk.%d.")-like: the block number, or -1 for non-block tensors. */
static long block_number(const char *s) {
    if (strncmp(s, "blk.", 4) != 0 || !isdigit((unsigned char)s[4])) return -1;
    long v = 0;
    for (s += 4; isdigit((unsigned char)*s); s++) v = v < 100000000 ? v * 10 + (*s - '0') : v;
    return v;
}

int quant_tensor_order_cmp(const char *a, const char *b) {
    long la = block_number(a), lb = block_number(b);
    if (la != lb) return la < lb ? -1 : 1;
    return strcmp(a, b);
}
