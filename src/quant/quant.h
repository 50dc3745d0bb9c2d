/* quant.h - block layouts and reference (scalar) quantize/dequantize for every tensor type.
 *
 * Usage:
 *     float row[256]; uint8_t blocks[144];
 *     quant_quantize_row(GGUF_TTYPE_Q4_K, row, blocks, 256, &err);
 *     quant_dequantize_row(GGUF_TTYPE_Q4_K, blocks, row, 256, &err);
 *
 * Layouts and rounding rules: shared/spec/quant-formats.md. Dequantization is bit-identical
 * to ggml's to_float (float32, no FMA). Every quantizer (Q4_0..Q8_1, Q2_K..Q6_K, Q8_K, F16,
 * BF16) is bit-identical to llama.cpp's *_ref routine, i.e. to llama-quantize without an
 * imatrix (tests/test_quant_fx.c re-quantizes every fixture tensor and compares the bytes).
 * Inputs of the per-format routines may be anything (no undefined behaviour on NaN/inf or
 * extreme values); the dispatchers reject non-finite input. Every block struct has a
 * _Static_assert on its size. Thread safety: pure functions, reentrant.
 */
#ifndef PIPPA_QUANT_H
#define PIPPA_QUANT_H

#include "../gguf/gguf.h"

#define QK4_0 32
#define QK8_0 32
#define QK_K 256

typedef struct { uint16_t d; uint8_t qs[16]; } block_q4_0;
typedef struct { uint16_t d, m; uint8_t qs[16]; } block_q4_1;
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } block_q5_0;
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } block_q5_1;
typedef struct { uint16_t d; int8_t qs[32]; } block_q8_0;
typedef struct { uint16_t d, s; int8_t qs[32]; } block_q8_1;
typedef struct { uint8_t scales[16]; uint8_t qs[64]; uint16_t d, dmin; } block_q2_K;
typedef struct { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d; } block_q3_K;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } block_q4_K;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } block_q5_K;
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } block_q6_K;
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } block_q8_K;

_Static_assert(sizeof(block_q4_0) == 18, "block_q4_0");
_Static_assert(sizeof(block_q4_1) == 20, "block_q4_1");
_Static_assert(sizeof(block_q5_0) == 22, "block_q5_0");
_Static_assert(sizeof(block_q5_1) == 24, "block_q5_1");
_Static_assert(sizeof(block_q8_0) == 34, "block_q8_0");
_Static_assert(sizeof(block_q8_1) == 36, "block_q8_1");
_Static_assert(sizeof(block_q2_K) == 84, "block_q2_K");
_Static_assert(sizeof(block_q3_K) == 110, "block_q3_K");
_Static_assert(sizeof(block_q4_K) == 144, "block_q4_K");
_Static_assert(sizeof(block_q5_K) == 176, "block_q5_K");
_Static_assert(sizeof(block_q6_K) == 210, "block_q6_K");
_Static_assert(sizeof(block_q8_K) == 292, "block_q8_K");

/* Type table (ggml ids, gguf_ttype): name ("Q4_K"; "?" for unknown or removed ids),
 * elements per block and bytes per block (0 for unknown ids). Known but unsupported types
 * (IQ*, TQ*, MXFP4, I8..I64, F64) are listed too, so sizes can be computed for them. */
const char *quant_type_name(uint32_t type);
uint32_t quant_block_size(uint32_t type);
uint32_t quant_block_bytes(uint32_t type);

/* True if pippa can dequantize (and so compute with) this type:
 * F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 Q2_K..Q6_K Q8_K. */
bool quant_type_supported(uint32_t type);
/* True if quant_quantize_row can produce this type (all supported ones). */
bool quant_type_quantizable(uint32_t type);

/* Row size in bytes for n elements (n must be a multiple of the block size; returns 0
 * otherwise, on overflow, or for unknown types; known unsupported types get their size). */
uint64_t quant_row_bytes(uint32_t type, uint64_t n);

/* Dequantize n elements (a multiple of the block size). Unsupported type ->
 * PP_ERR_UNSUPPORTED "type IQ2_XS is not supported yet" (unknown id: "type 45 is unknown");
 * n not a multiple of the block size -> PP_ERR_ARG; callers prefix the tensor name.
 * src may have any alignment; dst must not overlap src. */
pp_status quant_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n, pp_err *err);
/* Quantize n elements with the reference rounding. NaN/Inf input -> PP_ERR_ARG
 * ("non-finite value at element 17"). */
pp_status quant_quantize_row(uint32_t type, const float *src, void *dst, int64_t n, pp_err *err);

/* Per-format reference routines (k = element count, a multiple of the block size). */
void quant_dequantize_row_q4_0(const block_q4_0 *x, float *y, int64_t k);
void quant_dequantize_row_q4_1(const block_q4_1 *x, float *y, int64_t k);
void quant_dequantize_row_q5_0(const block_q5_0 *x, float *y, int64_t k);
void quant_dequantize_row_q5_1(const block_q5_1 *x, float *y, int64_t k);
void quant_dequantize_row_q8_0(const block_q8_0 *x, float *y, int64_t k);
void quant_dequantize_row_q8_1(const block_q8_1 *x, float *y, int64_t k);
void quant_dequantize_row_q2_K(const block_q2_K *x, float *y, int64_t k);
void quant_dequantize_row_q3_K(const block_q3_K *x, float *y, int64_t k);
void quant_dequantize_row_q4_K(const block_q4_K *x, float *y, int64_t k);
void quant_dequantize_row_q5_K(const block_q5_K *x, float *y, int64_t k);
void quant_dequantize_row_q6_K(const block_q6_K *x, float *y, int64_t k);
void quant_dequantize_row_q8_K(const block_q8_K *x, float *y, int64_t k);

void quant_quantize_row_q4_0_ref(const float *x, block_q4_0 *y, int64_t k);
void quant_quantize_row_q4_1_ref(const float *x, block_q4_1 *y, int64_t k);
void quant_quantize_row_q5_0_ref(const float *x, block_q5_0 *y, int64_t k);
void quant_quantize_row_q5_1_ref(const float *x, block_q5_1 *y, int64_t k);
void quant_quantize_row_q8_0_ref(const float *x, block_q8_0 *y, int64_t k);
void quant_quantize_row_q8_1_ref(const float *x, block_q8_1 *y, int64_t k);
void quant_quantize_row_q2_K_ref(const float *x, block_q2_K *y, int64_t k);
void quant_quantize_row_q3_K_ref(const float *x, block_q3_K *y, int64_t k);
void quant_quantize_row_q4_K_ref(const float *x, block_q4_K *y, int64_t k);
void quant_quantize_row_q5_K_ref(const float *x, block_q5_K *y, int64_t k);
void quant_quantize_row_q6_K_ref(const float *x, block_q6_K *y, int64_t k);
void quant_quantize_row_q8_K_ref(const float *x, block_q8_K *y, int64_t k);

/* Activation quantizer for Q8_0 with llama.cpp's x86 rule (s = 127/amax, round half to
 * even), used by the kernels so our dot products see the same inputs as llama.cpp on x86. */
void quant_quantize_row_q8_0_x86(const float *x, block_q8_0 *y, int64_t k);

/* ---- llama.cpp file types and llama-quantize's per-tensor recipe (recipe.c) ----
 *
 *     quant_recipe r;
 *     quant_recipe_init(&r, params, n_layer, n_head / n_head_kv);
 *     for each tensor name: quant_recipe_observe(&r, name);          // counts, tying
 *     for each tensor in quant_tensor_order_cmp order:
 *         type = quant_recipe_tensor_type(&r, name, src_type, n_dims, ne);
 *
 * ref: shared/spec/quant-formats.md §7-9, llama.cpp src/llama-quant.cpp (non-MoE,
 * non-Falcon rules; no importance matrix). One deliberate difference from llama.cpp v0.5.0:
 * the shape fallback of Q2_K/Q3_K is Q4_0 (upstream's newer rule), not IQ4_NL, which pippa
 * cannot write; and the fallback is also applied to user-chosen types and with --pure. */
typedef enum quant_ftype {
    QUANT_FTYPE_ALL_F32 = 0, QUANT_FTYPE_F16 = 1, QUANT_FTYPE_Q4_0 = 2, QUANT_FTYPE_Q4_1 = 3,
    QUANT_FTYPE_Q8_0 = 7, QUANT_FTYPE_Q5_0 = 8, QUANT_FTYPE_Q5_1 = 9, QUANT_FTYPE_Q2_K = 10,
    QUANT_FTYPE_Q3_K_S = 11, QUANT_FTYPE_Q3_K_M = 12, QUANT_FTYPE_Q3_K_L = 13,
    QUANT_FTYPE_Q4_K_S = 14, QUANT_FTYPE_Q4_K_M = 15, QUANT_FTYPE_Q5_K_S = 16,
    QUANT_FTYPE_Q5_K_M = 17, QUANT_FTYPE_Q6_K = 18, QUANT_FTYPE_BF16 = 32
} quant_ftype;

/* Case-insensitive "q4_k_m" -> QUANT_FTYPE_Q4_K_M (also "F32"). Unknown -> PP_ERR_ARG
 * "unknown type 'x' (valid: F32, F16, ...)". */
pp_status quant_ftype_from_name(const char *name, quant_ftype *out, pp_err *err);
const char *quant_ftype_name(quant_ftype ft); /* "Q4_K_M"; "?" for ids we do not write */
/* "F32, F16, BF16, Q8_0, ..." (static string, for help texts and messages). */
const char *quant_ftype_list(void);
/* The ftype's default tensor type (Q4_K for Q4_K_M, F16 for F16, ...). */
uint32_t quant_ftype_default_type(quant_ftype ft);

/* A tensor type a user may ask for (--token-embedding-type, --output-tensor-type):
 * F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K. */
bool quant_type_is_target(uint32_t type);

typedef struct quant_recipe_params {
    quant_ftype ftype;
    int32_t token_embd_type; /* gguf_ttype for token_embd.weight, or -1: the recipe's */
    int32_t output_type;     /* gguf_ttype for output.weight, or -1 */
    bool pure;               /* no per-tensor rules: every quantized tensor gets the default */
} quant_recipe_params;
quant_recipe_params quant_recipe_default_params(void); /* Q8_0, -1, -1, false */

typedef struct quant_recipe {
    quant_recipe_params p;
    int n_attn_v, i_attn_v;     /* attn_v (and attn_qkv) tensors: total, seen so far */
    int n_ffn_down, i_ffn_down; /* n_ffn_down = n_layer */
    int n_gqa;                  /* n_head / n_head_kv of layer 0 */
    bool tied;                  /* no output.weight: token_embd takes the output rule */
    int n_fallback;             /* tensors whose type changed because of their shape */
} quant_recipe;

void quant_recipe_init(quant_recipe *r, quant_recipe_params p, int n_layer, int n_gqa);
/* Call once per tensor of the file, before the first quant_recipe_tensor_type. */
void quant_recipe_observe(quant_recipe *r, const char *name);
/* Whether llama-quantize converts this tensor at all: name ends in "weight", not a norm,
 * at least 2 dims after dropping trailing 1s, not one of llama.cpp's small exclusions. */
bool quant_recipe_quantizable(const char *name, uint32_t n_dims, const int64_t *ne);
/* The type this tensor gets. Tensors must be passed in quant_tensor_order_cmp order (the
 * attn_v / ffn_down counters advance). Not quantizable -> src_type. */
uint32_t quant_recipe_tensor_type(quant_recipe *r, const char *name, uint32_t src_type,
                                  uint32_t n_dims, const int64_t *ne);
/* Type actually usable for a row of ne0 elements (Q4_K->Q5_0, Q5_K->Q5_1, Q6_K->Q8_0,
 * Q2_K/Q3_K->Q4_0, else F16 when even that does not divide ne0). */
uint32_t quant_recipe_fallback(uint32_t type, int64_t ne0);
/* llama.cpp's tensor order: non-block tensors first, then by block number ("blk.N."),
 * then by name (strcmp). */
int quant_tensor_order_cmp(const char *a, const char *b);

/* ---- whole-file quantization (quantize_file.c), what `pippa quantize` runs ----
 *
 *     quant_plan *plan;
 *     if (quant_plan_init(in, params, &plan, &err)) die(err.msg);   // decides every type
 *     if (quant_plan_n_requant(plan)) warn(...);
 *     quant_plan_write(plan, "out.gguf", &stats, &err);             // atomic, streamed
 *     quant_plan_free(plan);
 *
 * The output is what llama-quantize writes: tensors in quant_tensor_order_cmp order, every
 * KV of the input (minus split.*), then general.quantization_version = 2 and
 * general.file_type = ftype appended at the end. A tensor whose type does not change is
 * copied bit-exactly; others are converted row by row (source -> f32 -> target with the
 * reference quantizers), rows split across n_threads. Memory: the output is streamed
 * through gguf_writer_add_tensor_stream in chunks of about QUANT_CHUNK_BYTES per tensor, so
 * RAM use is a few chunks regardless of model size; the input is the caller's mapping.
 * Thread safety: a plan is used by one thread at a time; in must stay open until free. */
#define QUANT_CHUNK_BYTES (8u << 20)

typedef struct quant_progress {
    uint64_t index, count; /* position of the tensor in the output (0-based), tensor count */
    const char *name;
    uint32_t src_type, dst_type;
    uint32_t n_dims;
    const int64_t *ne;
    uint64_t src_bytes, dst_bytes;
    uint64_t rows_done, rows; /* rows_done == rows: the tensor is complete */
    bool converted;           /* false: copied as is */
} quant_progress;
/* Called after each chunk and when a tensor is complete; return false to cancel
 * (quant_plan_write then fails with PP_ERR_CANCELLED and leaves no output file). */
typedef bool (*quant_progress_fn)(void *ctx, const quant_progress *p);

typedef struct quant_file_params {
    quant_recipe_params recipe;
    bool allow_requantize;   /* convert tensors that are already quantized (lossy) */
    int n_threads;           /* <= 0: all CPUs */
    quant_progress_fn progress; /* may be NULL */
    void *progress_ctx;
} quant_file_params;
quant_file_params quant_file_default_params(void);

typedef struct quant_plan_entry {
    const gguf_tensor *src; /* borrowed from the input file */
    char name[GGUF_MAX_NAME];
    uint32_t n_dims;        /* as written: trailing 1s dropped (ggml_n_dims), like ggml */
    uint32_t dst_type;
    uint64_t dst_bytes;
    bool convert;           /* dst_type != src type */
} quant_plan_entry;

typedef struct quant_file_stats {
    uint64_t n_tensors, n_converted;
    uint64_t src_bytes, dst_bytes; /* tensor data only */
} quant_file_stats;

typedef struct quant_plan quant_plan;
/* Errors (messages start with the input's name): a tensor type that cannot be converted
 * ("fx.gguf: tensor 'x': cannot convert IQ2_XS to Q4_0: IQ2_XS is not supported"), an
 * already quantized tensor that would be converted without allow_requantize, bad params. */
pp_status quant_plan_init(const gguf_file *in, quant_file_params params, quant_plan **out,
                          pp_err *err);
void quant_plan_free(quant_plan *plan);
uint64_t quant_plan_count(const quant_plan *plan);
const quant_plan_entry *quant_plan_at(const quant_plan *plan, uint64_t i);
/* Replaces params.progress / progress_ctx. */
void quant_plan_set_progress(quant_plan *plan, quant_progress_fn fn, void *ctx);
/* Tensors that will be converted from a quantized type (requantized). */
uint64_t quant_plan_n_requant(const quant_plan *plan);
/* Tensors that got another type because of their shape. */
int quant_plan_n_fallback(const quant_plan *plan);
/* Writes out_path atomically (tmp + rename). Non-finite input -> PP_ERR_FORMAT
 * "fx.gguf: tensor 'x': non-finite value (nan) at element 1234 (row 4, column 210)".
 * stats may be NULL. */
pp_status quant_plan_write(quant_plan *plan, const char *out_path, quant_file_stats *stats,
                           pp_err *err);

#endif
