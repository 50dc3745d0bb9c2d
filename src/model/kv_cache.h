/* kv_cache.h - internal to src/model: the KV cache, one object that owns every layer's K and
 * V rows and names its rules once: which slot holds a position, which positions a query sees,
 * how big a layer's buffer is, and when the cache can be rolled back.
 * ref: shared/spec/gemma3.md §6 (llama.cpp src/llama-kv-cache.cpp, llama-kv-cache-iswa.cpp,
 * whose llama_hparams::is_masked_swa is our model_kv_first_visible).
 *
 * Usage (model_ctx does this; tests/test_kv.c exercises each rule alone):
 *     model_kv_cache kv;
 *     pp_arena_init(&arena, model_kv_arena_bytes(hp, n_ctx, n_batch, GGUF_TTYPE_F16) + ..., &err);
 *     model_kv_init(&kv, hp, n_ctx, n_batch, GGUF_TTYPE_F16, &arena, &err);
 *     model_kv_store(&kv, il, pos, k_row, v_row);              // after RoPE, for each token
 *     for (uint64_t p = model_kv_first_visible(&kv.layer[il], pos); p <= pos; p++)
 *         model_kv_rows(&kv, &kv.layer[il], p, head, &k, &v);  // attention reads
 *     kv.n_past += n_tok;                                       // after the chunk
 *
 * Layout: layer il keeps K and V as [n_slot][n_head_kv][head_dim] elements of kv->type (the
 * element type is the cache's, the same for every layer). A global layer has n_slot = n_ctx
 * and position p in slot p. A sliding layer (window w) has a ring of
 * n_slot = min(n_ctx, w + n_batch - 1) slots, position p in slot p % n_slot: a chunk of
 * n_batch new tokens overwrites only positions that none of its queries still sees.
 * One sequence today (n_seq 1); several sequences, and quantized element types, are meant
 * to enter here, behind these same operations.
 *
 * Thread safety: the owner (one model_ctx) changes n_past and the layer views between
 * parallel ops; inside an op, threads write disjoint slots and read freely. */
#ifndef PIPPA_MODEL_KV_CACHE_H
#define PIPPA_MODEL_KV_CACHE_H

#include "model.h"

/* One layer's view of the cache. */
typedef struct model_kv_layer {
    uint8_t *k, *v;   /* [n_slot][row_elems] of the cache's type each */
    uint32_t n_slot;  /* positions held */
    uint32_t window;  /* 0: global (every earlier position visible); else sliding, a ring */
} model_kv_layer;

typedef struct model_kv_cache {
    uint32_t type;          /* element type: GGUF_TTYPE_F16 or GGUF_TTYPE_F32 */
    size_t type_bytes;      /* bytes per element */
    int64_t head_dim;       /* elements per KV head */
    int64_t row_elems;      /* n_head_kv * head_dim: one position's K (or V) */
    uint32_t n_ctx;         /* positions a sequence may hold */
    uint32_t n_seq;         /* sequences (1) */
    uint32_t n_past;        /* positions held by the sequence; the next token goes at n_past */
    uint32_t n_layer;
    model_kv_layer *layer;  /* n_layer views, from the arena */
    const kern_vec_ops *vec;
} model_kv_cache;

/* Bytes per element of a cache type, 0 if the cache cannot store that type. */
size_t model_kv_type_bytes(uint32_t type);
/* Slots of layer il's K (and V) buffer for a context of n_ctx positions run in chunks of
 * n_batch tokens (see the layout above). */
uint32_t model_kv_layer_slots(const model_hparams *hp, uint32_t il, uint32_t n_ctx, uint32_t n_batch);
/* Arena bytes model_kv_init takes: model_kv_bytes plus the views and alignment. */
size_t model_kv_arena_bytes(const model_hparams *hp, uint32_t n_ctx, uint32_t n_batch, uint32_t type);

/* Carves the layers' buffers and views from arena (sized with model_kv_arena_bytes; the
 * pages are not touched, so they become resident as positions are used). type must have
 * model_kv_type_bytes != 0. The cache starts empty; the arena owns the memory. */
pp_status model_kv_init(model_kv_cache *kv, const model_hparams *hp, uint32_t n_ctx, uint32_t n_batch,
                        uint32_t type, pp_arena *arena, pp_err *err);

/* Slot of position pos in a layer. */
static inline uint32_t model_kv_slot(const model_kv_layer *L, uint64_t pos) {
    return (uint32_t)(L->window ? pos % L->n_slot : pos);
}

/* First key position a query at pos sees (it sees first .. pos): pos - window + 1 on a
 * sliding layer, 0 on a global one. */
static inline uint64_t model_kv_first_visible(const model_kv_layer *L, uint64_t pos) {
    return L->window && pos + 1 > L->window ? pos + 1 - L->window : 0;
}

/* K and V rows of KV head `head` at position pos (head_dim elements of kv->type each). */
static inline void model_kv_rows(const model_kv_cache *kv, const model_kv_layer *L, uint64_t pos, int64_t head,
                                 const void **k, const void **v) {
    size_t off = ((size_t)model_kv_slot(L, pos) * (size_t)kv->row_elems + (size_t)head * (size_t)kv->head_dim) *
                 kv->type_bytes;
    *k = L->k + off;
    *v = L->v + off;
}

/* Writes one position's K and V (row_elems f32 each) into layer il, converted to the type. */
void model_kv_store(const model_kv_cache *kv, uint32_t il, uint64_t pos, const float *k, const float *v);

/* Forgets every position. */
void model_kv_clear(model_kv_cache *kv);
/* True if the cache can go back to holding n_past positions without recomputation: every
 * sliding layer's ring must still hold the window the next query (at n_past) sees. */
bool model_kv_can_truncate(const model_kv_cache *kv, uint32_t n_past);
/* Goes back to n_past positions; PP_ERR_ARG when model_kv_can_truncate says no. */
pp_status model_kv_truncate(model_kv_cache *kv, uint32_t n_past, pp_err *err);

#endif
