/* model.h - Gemma 3 text model: load from GGUF (weights stay memory-mapped) and run the
 * forward pass with a KV cache.
 *
 * Usage:
 *     model *m; model_ctx *c; pp_err err;
 *     if (model_load("m.gguf", model_load_default_params(), &m, &err) != PP_OK) die(err.msg);
 *     model_ctx_params cp = model_ctx_default_params();
 *     cp.n_ctx = 4096;
 *     if (model_ctx_init(m, cp, &c, &err) != PP_OK) die(err.msg);
 *     float *logits = malloc(model_get_hparams(m)->n_vocab * sizeof(float));
 *     model_ctx_eval(c, ids, n_ids, NULL, logits, &err);   // logits of the last position
 *     ... model_ctx_eval(c, &next, 1, NULL, logits, &err) ...
 *     model_ctx_free(c); model_free(m);
 *
 * Rules (ref: shared/spec/gemma3.md, llama.cpp src/models/gemma3.cpp): RMSNorm everywhere with
 * stored weights that already include +1; QK-norm; NEOX RoPE, base rope.freq_base with linear
 * scaling on global layers and rope.freq_base_swa (10000) unscaled on sliding layers; layer il
 * is sliding iff il % period < period - 1 (period 6 unless the file says otherwise); a sliding
 * layer's query at p sees keys p-window+1..p; attention scale 1/sqrt(head_dim), except
 * 1/sqrt(n_embd/n_head) for 62-layer models (the 27B rule); GeGLU(tanh); embeddings scaled by
 * sqrtf(n_embd); tied output unless output.weight exists; optional final soft-capping.
 *
 * KV cache (kv_cache.h): sliding layers keep a ring of window + n_batch - 1 positions, global
 * layers n_ctx.
 *
 * Thread safety: a loaded model is immutable and may be shared by any number of contexts in
 * any threads; a model_ctx is used by one thread at a time (it drives its own thread pool).
 * Ownership: model_load's model owns the mapping; contexts borrow the model and must be freed
 * first.
 */
#ifndef PIPPA_MODEL_H
#define PIPPA_MODEL_H

#include "../gguf/gguf.h"
#include "../kernels/kern.h"

#define MODEL_MAX_LAYERS 512

typedef struct model_hparams {
    uint32_t n_layer, n_embd, n_head, n_head_kv, head_dim, n_ff, n_vocab;
    uint32_t n_ctx_train;
    uint32_t sliding_window;  /* 0: no sliding layers */
    uint32_t swa_period;      /* layer il is sliding iff is_swa[il] */
    bool is_swa[MODEL_MAX_LAYERS];
    float rope_base_global, rope_base_local;
    float rope_scale_global;  /* freq_scale = 1/factor on global layers */
    float eps;
    float attn_scale;
    float final_softcap;      /* 0: off */
    float embd_scale;         /* sqrtf(n_embd) */
    uint64_t n_params;
    bool tied_output;
} model_hparams;

typedef struct model model;

typedef struct model_load_params {
    bool no_repack;  /* keep every weight in the file's layout, never the ISA's packed one
                        (A/B timing; the CLI sets it from PIPPA_NO_REPACK=1) */
} model_load_params;
model_load_params model_load_default_params(void);

/* Loads and validates a gemma3 GGUF. Errors name the file and the key or tensor:
 * "m.gguf: tensor 'blk.3.attn_q.weight': type 23 (IQ4_XS) is not supported yet". */
pp_status model_load(const char *path, model_load_params p, model **out, pp_err *err);
/* Same, from an open file (the model takes ownership of f on success and on failure). */
pp_status model_load_gguf(gguf_file *f, model_load_params p, model **out, pp_err *err);
void model_free(model *m);
const model_hparams *model_get_hparams(const model *m);
const gguf_file *model_get_gguf(const model *m);
/* Weight type of the majority of 2-D weights, e.g. for display. */
uint32_t model_main_weight_type(const model *m);
/* Bytes of memory-mapped weights. */
uint64_t model_weight_bytes(const model *m);
/* Bytes of weights copied to the heap at load in a kernel's layout (repacked); their mapped
 * originals were dropped from memory. 0 when nothing was repacked. */
uint64_t model_packed_bytes(const model *m);

typedef struct model_ctx_params {
    uint32_t n_ctx;      /* context length (positions); 0 = min(n_ctx_train, 4096) */
    uint32_t n_batch;    /* tokens per forward chunk (prompt processing), default 256 */
    int n_threads;       /* 0 = all online CPUs */
    uint32_t kv_type;    /* GGUF_TTYPE_F16 (default) or GGUF_TTYPE_F32 */
    bool no_fuse;        /* the FFN's gate, up and GELU as separate steps, never the fused kernel
                            (same logits; A/B timing; the CLI sets it from PIPPA_NO_FUSE=1) */
} model_ctx_params;
model_ctx_params model_ctx_default_params(void);

/* KV-cache bytes a context with these parameters needs (for display before loading). */
uint64_t model_kv_bytes(const model_hparams *hp, uint32_t n_ctx, uint32_t n_batch, uint32_t kv_type);

typedef struct model_ctx model_ctx;
pp_status model_ctx_init(const model *m, model_ctx_params p, model_ctx **out, pp_err *err);
void model_ctx_free(model_ctx *c);
const model *model_ctx_model(const model_ctx *c);
model_ctx_params model_ctx_get_params(const model_ctx *c);
uint64_t model_ctx_kv_bytes(const model_ctx *c);
/* Positions already in the cache. */
uint32_t model_ctx_n_past(const model_ctx *c);
/* Forgets everything (the next eval starts at position 0). */
void model_ctx_reset(model_ctx *c);
/* True if the cache can be rolled back to n_past positions without recomputation (sliding
 * layers' rings must still hold the window before n_past). */
bool model_ctx_can_truncate(const model_ctx *c, uint32_t n_past);
pp_status model_ctx_truncate(model_ctx *c, uint32_t n_past, pp_err *err);

/* Runs n tokens at positions n_past .. n_past+n-1. want[i] selects the positions whose
 * logits are written (NULL: only the last); logits receives n_vocab floats per selected
 * position, in order. Fails with PP_ERR_ARG when the context would overflow or a token id is
 * out of range. The token loop performs no allocation. */
pp_status model_ctx_eval(model_ctx *c, const int32_t *tokens, uint32_t n, const bool *want,
                         float *logits, pp_err *err);

#endif
