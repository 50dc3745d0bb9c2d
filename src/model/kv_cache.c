/* kv_cache.c - the KV cache's sizing, storage and roll-back rules (kv_cache.h). */
#include "kv_cache.h"

#include <string.h>

#define KV_ALIGN 64

size_t model_kv_type_bytes(uint32_t type) {
    switch (type) {
    case GGUF_TTYPE_F32: return 4;
    case GGUF_TTYPE_F16: return 2;
    default: return 0;
    }
}

uint32_t model_kv_layer_slots(const model_hparams *hp, uint32_t il, uint32_t n_ctx, uint32_t n_batch) {
    if (!hp->is_swa[il]) return n_ctx;
    /* the oldest key a chunk's first query sees is window - 1 back, and the chunk writes
     * n_batch - 1 positions past that query before its last query has read */
    uint64_t r = (uint64_t)hp->sliding_window + n_batch - 1;
    return r < n_ctx ? (uint32_t)r : n_ctx;
}

uint64_t model_kv_bytes(const model_hparams *hp, uint32_t n_ctx, uint32_t n_batch, uint32_t kv_type) {
    uint64_t per_pos = 2ull * hp->n_head_kv * hp->head_dim * model_kv_type_bytes(kv_type), total = 0;
    for (uint32_t il = 0; il < hp->n_layer; il++) total += per_pos * model_kv_layer_slots(hp, il, n_ctx, n_batch);
    return total;
}

size_t model_kv_arena_bytes(const model_hparams *hp, uint32_t n_ctx, uint32_t n_batch, uint32_t type) {
    return (size_t)model_kv_bytes(hp, n_ctx, n_batch, type) + hp->n_layer * (2 * KV_ALIGN + sizeof(model_kv_layer)) +
           KV_ALIGN;
}

pp_status model_kv_init(model_kv_cache *kv, const model_hparams *hp, uint32_t n_ctx, uint32_t n_batch,
                        uint32_t type, pp_arena *arena, pp_err *err) {
    PP_ASSERT(model_kv_type_bytes(type) != 0);
    memset(kv, 0, sizeof *kv);
    kv->type = type;
    kv->type_bytes = model_kv_type_bytes(type);
    kv->head_dim = hp->head_dim;
    kv->row_elems = (int64_t)hp->n_head_kv * hp->head_dim;
    kv->n_ctx = n_ctx;
    kv->n_seq = 1;
    kv->n_layer = hp->n_layer;
    kv->vec = kern_vec();
    kv->layer = pp_arena_alloc(arena, hp->n_layer * sizeof *kv->layer, KV_ALIGN);
    if (!kv->layer) return pp_err_set(err, PP_ERR_NOMEM, "KV cache: the arena is too small");
    for (uint32_t il = 0; il < hp->n_layer; il++) {
        model_kv_layer *L = &kv->layer[il];
        /* a ring (is_swa) must have a window, or model_kv_slot would index past it */
        PP_ASSERT(!hp->is_swa[il] || hp->sliding_window > 0);
        L->window = hp->is_swa[il] ? hp->sliding_window : 0;
        L->n_slot = model_kv_layer_slots(hp, il, n_ctx, n_batch);
        size_t bytes = (size_t)L->n_slot * (size_t)kv->row_elems * kv->type_bytes;
        L->k = pp_arena_alloc(arena, bytes, KV_ALIGN);
        L->v = pp_arena_alloc(arena, bytes, KV_ALIGN);
        if (!L->k || !L->v) return pp_err_set(err, PP_ERR_NOMEM, "KV cache: the arena is too small");
    }
    return PP_OK;
}

void model_kv_store(const model_kv_cache *kv, uint32_t il, uint64_t pos, const float *k, const float *v) {
    const model_kv_layer *L = &kv->layer[il];
    const size_t n = (size_t)kv->row_elems, slot = model_kv_slot(L, pos);
    if (kv->type == GGUF_TTYPE_F32) {
        memcpy((float *)L->k + slot * n, k, n * 4);
        memcpy((float *)L->v + slot * n, v, n * 4);
    } else {
        kv->vec->f32_to_f16(k, (uint16_t *)L->k + slot * n, (int64_t)n);
        kv->vec->f32_to_f16(v, (uint16_t *)L->v + slot * n, (int64_t)n);
    }
}

void model_kv_clear(model_kv_cache *kv) { kv->n_past = 0; }

bool model_kv_can_truncate(const model_kv_cache *kv, uint32_t n_past) {
    if (n_past > kv->n_past) return false;
    if (n_past == kv->n_past || n_past == 0) return true;
    for (uint32_t il = 0; il < kv->n_layer; il++) {
        const model_kv_layer *L = &kv->layer[il];
        if (!L->window) continue;
        /* positions n_past .. kv->n_past-1 overwrote the slots of the n_slot positions before
         * them: the oldest position still intact is kv->n_past - n_slot */
        uint64_t oldest = kv->n_past >= L->n_slot ? kv->n_past - L->n_slot : 0;
        if (model_kv_first_visible(L, n_past) < oldest) return false;
    }
    return true;
}

pp_status model_kv_truncate(model_kv_cache *kv, uint32_t n_past, pp_err *err) {
    if (!model_kv_can_truncate(kv, n_past))
        return pp_err_set(err, PP_ERR_ARG, "cannot roll the cache back from %u to %u positions", kv->n_past, n_past);
    kv->n_past = n_past;
    return PP_OK;
}
