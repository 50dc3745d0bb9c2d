/* gemma3_load.c - reads gemma3 hyper-parameters and weights from a GGUF, with llama.cpp's
 * defaults and the Ollama-format quirks (ref: shared/spec/gemma3.md §2-4, §9).
 * Invariant after a successful load: every matmul weight has the expected shape, a kernel for
 * its type, rows that are whole activation blocks; every norm is an owned f32 array. */
#include "model_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define KEY(buf, name) (snprintf(buf, sizeof buf, "gemma3.%s", name), buf)

/* Optional u32: absent -> def; wrong type -> error. */
static pp_status opt_u32(const gguf_file *f, const char *key, uint32_t def, uint32_t *out, pp_err *err) {
    if (!gguf_find_kv(f, key)) { *out = def; return PP_OK; }
    return gguf_get_u32(f, key, out, err);
}
static pp_status opt_f32(const gguf_file *f, const char *key, float def, float *out, pp_err *err) {
    if (!gguf_find_kv(f, key)) { *out = def; return PP_OK; }
    return gguf_get_f32(f, key, out, err);
}

/* Per-layer keys may be a scalar or an array of n_layer integers; Gemma 3 needs them equal. */
static pp_status layer_u32(const gguf_file *f, const char *key, uint32_t n_layer, bool required,
                           uint32_t def, uint32_t *out, pp_err *err) {
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) {
        if (required) return pp_err_set(err, PP_ERR_FORMAT, "%s: key '%s' is missing", gguf_name(f), key);
        *out = def;
        return PP_OK;
    }
    if (kv->type != GGUF_VTYPE_ARRAY) return gguf_get_u32(f, key, out, err);
    if (kv->arr_count != n_layer || kv->arr_type == GGUF_VTYPE_STRING || kv->arr_type == GGUF_VTYPE_FLOAT32 ||
        kv->arr_type == GGUF_VTYPE_FLOAT64 || kv->arr_type == GGUF_VTYPE_BOOL)
        return pp_err_set(err, PP_ERR_FORMAT, "%s: key '%s': expected an integer or %u integers, got %s[%llu]",
                          gguf_name(f), key, n_layer, gguf_vtype_name(kv->arr_type),
                          (unsigned long long)kv->arr_count);
    int64_t v0 = gguf_arr_i64(kv, 0);
    for (uint64_t i = 1; i < kv->arr_count; i++)
        if (gguf_arr_i64(kv, i) != v0)
            return pp_err_set(err, PP_ERR_UNSUPPORTED, "%s: key '%s': layers with different values are not supported",
                              gguf_name(f), key);
    if (v0 < 0 || v0 > UINT32_MAX)
        return pp_err_set(err, PP_ERR_FORMAT, "%s: key '%s': value %lld out of range", gguf_name(f), key, (long long)v0);
    *out = (uint32_t)v0;
    return PP_OK;
}

static pp_status read_hparams(const gguf_file *f, model_hparams *hp, pp_err *err) {
    char k[128];
    pp_status st;
    memset(hp, 0, sizeof *hp);
    pp_view arch;
    if ((st = gguf_get_str(f, "general.architecture", &arch, err)) != PP_OK) return st;
    if (!pp_view_eq(arch, "gemma3"))
        return pp_err_set(err, PP_ERR_UNSUPPORTED, "%s: architecture '%.*s' is not supported (pippa runs gemma3)",
                          gguf_name(f), (int)(arch.len > 64 ? 64 : arch.len), arch.ptr);
    if ((st = gguf_get_u32(f, KEY(k, "block_count"), &hp->n_layer, err))) return st;
    if (hp->n_layer == 0 || hp->n_layer > MODEL_MAX_LAYERS)
        return pp_err_set(err, PP_ERR_FORMAT, "%s: key 'gemma3.block_count': %u is outside [1, %d]",
                          gguf_name(f), hp->n_layer, MODEL_MAX_LAYERS);
    if ((st = gguf_get_u32(f, KEY(k, "embedding_length"), &hp->n_embd, err))) return st;
    if ((st = gguf_get_u32(f, KEY(k, "context_length"), &hp->n_ctx_train, err))) return st;
    if ((st = layer_u32(f, KEY(k, "feed_forward_length"), hp->n_layer, true, 0, &hp->n_ff, err))) return st;
    if ((st = layer_u32(f, KEY(k, "attention.head_count"), hp->n_layer, true, 0, &hp->n_head, err))) return st;
    if ((st = layer_u32(f, KEY(k, "attention.head_count_kv"), hp->n_layer, false, hp->n_head, &hp->n_head_kv, err))) return st;
    if (hp->n_embd == 0 || hp->n_head == 0 || hp->n_head_kv == 0 || hp->n_ff == 0 ||
        hp->n_head % hp->n_head_kv != 0)
        return pp_err_set(err, PP_ERR_FORMAT,
                          "%s: bad shape: n_embd %u, n_ff %u, head_count %u, head_count_kv %u (need non-zero, "
                          "head_count a multiple of head_count_kv)",
                          gguf_name(f), hp->n_embd, hp->n_ff, hp->n_head, hp->n_head_kv);
    uint32_t kl, vl;
    if ((st = opt_u32(f, KEY(k, "attention.key_length"), hp->n_embd / hp->n_head, &kl, err))) return st;
    if ((st = opt_u32(f, KEY(k, "attention.value_length"), kl, &vl, err))) return st;
    if (kl != vl || kl == 0 || kl % 2 != 0 || kl > 1024)
        return pp_err_set(err, PP_ERR_UNSUPPORTED, "%s: key_length %u / value_length %u not supported (need equal, even, <= 1024)",
                          gguf_name(f), kl, vl);
    hp->head_dim = kl;
    uint32_t rope_dims;
    if ((st = opt_u32(f, KEY(k, "rope.dimension_count"), kl, &rope_dims, err))) return st;
    if (rope_dims != kl)
        return pp_err_set(err, PP_ERR_UNSUPPORTED, "%s: partial rotary embedding (%u of %u dims) is not supported",
                          gguf_name(f), rope_dims, kl);

    /* Ollama-format files (gemma3.md §9): detection and fix-ups. */
    bool ollama = gguf_find_kv(f, KEY(k, "mm.tokens_per_image")) || gguf_find_kv(f, KEY(k, "rope.global.freq_base")) ||
                  gguf_find_kv(f, KEY(k, "rope.local.freq_base")) ||
                  !gguf_find_kv(f, KEY(k, "attention.layer_norm_rms_epsilon"));
    if ((st = opt_f32(f, KEY(k, "attention.layer_norm_rms_epsilon"), 1e-6f, &hp->eps, err))) return st;
    float gbase_default = gguf_find_kv(f, KEY(k, "rope.global.freq_base")) || ollama ? 1e6f : 10000.0f;
    if (gguf_find_kv(f, KEY(k, "rope.global.freq_base")) && !gguf_find_kv(f, KEY(k, "rope.freq_base"))) {
        if ((st = gguf_get_f32(f, KEY(k, "rope.global.freq_base"), &hp->rope_base_global, err))) return st;
    } else if ((st = opt_f32(f, KEY(k, "rope.freq_base"), gbase_default, &hp->rope_base_global, err))) return st;
    if (gguf_find_kv(f, KEY(k, "rope.local.freq_base")) && !gguf_find_kv(f, KEY(k, "rope.freq_base_swa"))) {
        if ((st = gguf_get_f32(f, KEY(k, "rope.local.freq_base"), &hp->rope_base_local, err))) return st;
    } else if ((st = opt_f32(f, KEY(k, "rope.freq_base_swa"), 10000.0f, &hp->rope_base_local, err))) return st;

    float factor = 0;
    if (gguf_find_kv(f, KEY(k, "rope.scaling.factor"))) {
        if ((st = gguf_get_f32(f, k, &factor, err))) return st;
    } else if (gguf_find_kv(f, KEY(k, "rope.scale_linear"))) {
        if ((st = gguf_get_f32(f, k, &factor, err))) return st;
    } else if (ollama && hp->n_ctx_train >= 131072) {
        factor = 8.0f;
    }
    const gguf_kv *stype = gguf_find_kv(f, KEY(k, "rope.scaling.type"));
    if (stype) {
        pp_view v;
        if ((st = gguf_get_str(f, k, &v, err))) return st;
        if (!pp_view_eq(v, "linear") && !pp_view_eq(v, "none"))
            return pp_err_set(err, PP_ERR_UNSUPPORTED, "%s: key 'gemma3.rope.scaling.type': '%.*s' is not supported (linear or none)",
                              gguf_name(f), (int)(v.len > 32 ? 32 : v.len), v.ptr);
        if (pp_view_eq(v, "none")) factor = 0;
    }
    if (!(factor >= 0) || !isfinite(factor))
        return pp_err_set(err, PP_ERR_FORMAT, "%s: key 'gemma3.rope.scaling.factor': bad value %g", gguf_name(f), factor);
    hp->rope_scale_global = factor > 0 ? 1.0f / factor : 1.0f;
    if (!(hp->rope_base_global > 0) || !(hp->rope_base_local > 0) || !(hp->eps > 0) || !isfinite(hp->eps))
        return pp_err_set(err, PP_ERR_FORMAT, "%s: bad rope base (%g, %g) or rms epsilon %g", gguf_name(f),
                          hp->rope_base_global, hp->rope_base_local, hp->eps);

    if ((st = opt_u32(f, KEY(k, "attention.sliding_window"), 0, &hp->sliding_window, err))) return st;
    hp->swa_period = 6;
    const gguf_kv *pat = gguf_find_kv(f, KEY(k, "attention.sliding_window_pattern"));
    if (pat && pat->type == GGUF_VTYPE_ARRAY) {
        /* Ollama: one bool per layer, true = sliding. */
        if (pat->arr_type != GGUF_VTYPE_BOOL || pat->arr_count != hp->n_layer)
            return pp_err_set(err, PP_ERR_FORMAT, "%s: key '%s': expected BOOL[%u], got %s[%llu]", gguf_name(f), k,
                              hp->n_layer, gguf_vtype_name(pat->arr_type), (unsigned long long)pat->arr_count);
        for (uint32_t il = 0; il < hp->n_layer; il++)
            hp->is_swa[il] = hp->sliding_window > 0 && pat->arr_data[il] != 0;
        hp->swa_period = 0;
    } else {
        if (pat && (st = gguf_get_u32(f, k, &hp->swa_period, err))) return st;
        if (hp->swa_period == 0)
            return pp_err_set(err, PP_ERR_FORMAT, "%s: key '%s': period 0", gguf_name(f), k);
        for (uint32_t il = 0; il < hp->n_layer; il++)
            hp->is_swa[il] = hp->sliding_window > 0 && (il % hp->swa_period) < hp->swa_period - 1;
    }
    if ((st = opt_f32(f, KEY(k, "final_logit_softcapping"), 0.0f, &hp->final_softcap, err))) return st;
    if (!(hp->final_softcap >= 0) || !isfinite(hp->final_softcap))
        return pp_err_set(err, PP_ERR_FORMAT, "%s: key 'gemma3.final_logit_softcapping': bad value %g", gguf_name(f),
                          hp->final_softcap);
    /* Ollama's early 1B conversions stored 30.0 wrongly (gemma3.md §6.5). */
    if (ollama && hp->n_layer == 26 && hp->sliding_window < hp->n_ctx_train) hp->final_softcap = 0;

    /* ref: llama.cpp picks the 27B attention scale from the layer count (gemma3.md §2). */
    if (hp->n_layer == 62)
        hp->attn_scale = 1.0f / sqrtf((float)(hp->n_embd / hp->n_head));
    else
        hp->attn_scale = 1.0f / sqrtf((float)hp->head_dim);
    hp->embd_scale = sqrtf((float)hp->n_embd);
    return PP_OK;
}

static pp_status get_weight(const model *m, const char *name, int64_t n_in, int64_t n_out, bool required,
                            model_weight *w, pp_err *err) {
    const gguf_tensor *t = gguf_find_tensor(m->f, name);
    memset(w, 0, sizeof *w);
    if (!t) {
        if (!required) return PP_OK;
        return pp_err_set(err, PP_ERR_FORMAT, "%s: tensor '%s' is missing", gguf_name(m->f), name);
    }
    if (t->n_dims != 2 || t->ne[0] != n_in || t->ne[1] != n_out)
        return pp_err_set(err, PP_ERR_FORMAT, "%s: tensor '%s': expected shape [%lld, %lld], got [%lld, %lld, %lld, %lld] (%u dims)",
                          gguf_name(m->f), name, (long long)n_in, (long long)n_out, (long long)t->ne[0],
                          (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3], t->n_dims);
    const kern_type_traits *tt = kern_traits(t->type);
    if (!tt)
        return pp_err_set(err, PP_ERR_UNSUPPORTED, "%s: tensor '%s': type %u (%s) is not supported yet", gguf_name(m->f),
                          name, t->type, gguf_ttype_info_get(t->type).name);
    if (n_in % tt->act_blck != 0)
        return pp_err_set(err, PP_ERR_FORMAT, "%s: tensor '%s': row length %lld is not a multiple of %u (%s)",
                          gguf_name(m->f), name, (long long)n_in, tt->act_blck, gguf_ttype_info_get(t->type).name);
    w->t = t;
    w->k.tt = tt;
    w->k.data = t->data;
    w->k.row_bytes = (size_t)quant_row_bytes(t->type, (uint64_t)n_in);
    w->k.n_in = n_in;
    w->k.n_out = n_out;
    return PP_OK;
}

static pp_status get_norm(const model *m, const char *name, int64_t n, float **out, pp_err *err) {
    const gguf_tensor *t = gguf_find_tensor(m->f, name);
    if (!t) return pp_err_set(err, PP_ERR_FORMAT, "%s: tensor '%s' is missing", gguf_name(m->f), name);
    if (t->n_elements != (uint64_t)n || t->ne[0] != n)
        return pp_err_set(err, PP_ERR_FORMAT, "%s: tensor '%s': expected shape [%lld], got [%lld, %lld]", gguf_name(m->f),
                          name, (long long)n, (long long)t->ne[0], (long long)t->ne[1]);
    float *v = malloc((size_t)n * sizeof *v);
    if (!v) return pp_err_set(err, PP_ERR_NOMEM, "%s: out of memory", gguf_name(m->f));
    pp_status st = quant_dequantize_row(t->type, t->data, v, n, err);
    if (st != PP_OK) {
        free(v);
        return pp_err_prefix(err, "%s: tensor '%s': ", gguf_name(m->f), name);
    }
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i])) {
            free(v);
            return pp_err_set(err, PP_ERR_FORMAT, "%s: tensor '%s': element %lld is not finite", gguf_name(m->f), name,
                              (long long)i);
        }
    *out = v;
    return PP_OK;
}

/* Repacks a weight into the active ISA's layout when it has one, then drops the mapped
 * original pages, so the weight stays resident once (model_load_params.no_repack disables). The mapping
 * stays valid: it is private, read-only and never written, so a later read faults just
 * those pages back in from the file (the embedding lookup of a tied output does not: it reads
 * the packed copy through unpack_row). */
static pp_status pack_weight(const model *m, model_weight *w, pp_err *err) {
    kern_weight *k = &w->k;
    if (!w->t || !k->tt->pack || k->n_out % k->tt->pack_rows != 0 ||
        k->n_in > KERN_PACK_MAX_N)
        return PP_OK;
    size_t gb = k->tt->pack_group_bytes(k->n_in), total = gb * (size_t)(k->n_out / k->tt->pack_rows);
    /* 2 MiB-aligned and advised for transparent huge pages: fewer page faults while packing
     * and fewer TLB misses when every token streams the weights */
    const size_t huge = (size_t)2 << 20;
    void *p = NULL;
    if (posix_memalign(&p, total >= huge ? huge : 64, total) != 0 || !p)
        return pp_err_set(err, PP_ERR_NOMEM, "%s: cannot allocate %zu bytes to repack '%.*s'", gguf_name(m->f), total,
                          (int)w->t->name.len, w->t->name.ptr);
    if (total >= huge) madvise(p, total & ~(huge - 1), MADV_HUGEPAGE); /* best effort */
    /* in slices of ~8 MiB of the source, each dropped right after, so loading never holds a
     * weight twice (peak resident stays near the file size) */
    const int64_t n_groups = k->n_out / k->tt->pack_rows;
    const size_t src_group = k->row_bytes * k->tt->pack_rows;
    int64_t step = (int64_t)(((size_t)8 << 20) / src_group);
    if (step < 1) step = 1;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t base = (uintptr_t)w->t->data, end = base + w->t->nbytes;
    for (int64_t g0 = 0; g0 < n_groups; g0 += step) {
        const int64_t g1 = g0 + step < n_groups ? g0 + step : n_groups;
        k->tt->pack(k->n_in, w->t->data, k->row_bytes, g0, g1, p);
        /* whole pages of rows [g0, g1) only; a page shared with the next slice goes with it */
        uintptr_t lo = (base + (uintptr_t)g0 * src_group + page - 1) & ~(page - 1);
        uintptr_t hi = g1 == n_groups ? (end & ~(page - 1)) : ((base + (uintptr_t)g1 * src_group) & ~(page - 1));
        if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED); /* best effort */
    }
    k->packed = p;
    k->group_bytes = gb;
    return PP_OK;
}

static void count_weight(model *m, const model_weight *w, uint64_t *type_bytes) {
    if (!w->t) return;
    m->weight_bytes += w->t->nbytes;
    if (w->t->type < GGUF_TTYPE_COUNT && w != &m->tok_embd) type_bytes[w->t->type] += w->t->nbytes;
}

model_load_params model_load_default_params(void) {
    model_load_params p = {false};
    return p;
}

pp_status model_load_gguf(gguf_file *f, model_load_params p, model **out, pp_err *err) {
    model *m = calloc(1, sizeof *m);
    if (!m) {
        gguf_close(f);
        return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    }
    m->f = f;
    pp_status st = read_hparams(f, &m->hp, err);
    if (st) goto fail;
    model_hparams *hp = &m->hp;
    const gguf_tensor *te = gguf_find_tensor(f, "token_embd.weight");
    if (!te) {
        st = pp_err_set(err, PP_ERR_FORMAT, "%s: tensor 'token_embd.weight' is missing", gguf_name(f));
        goto fail;
    }
    hp->n_vocab = (uint32_t)(te->ne[1] > 0 && te->ne[1] <= UINT32_MAX ? te->ne[1] : 0);
    if ((st = get_weight(m, "token_embd.weight", hp->n_embd, hp->n_vocab, true, &m->tok_embd, err))) {
        /* the embedding lookup only needs dequantization; the matmul check covers the output */
        goto fail;
    }
    if ((st = get_weight(m, "output.weight", hp->n_embd, hp->n_vocab, false, &m->output, err))) goto fail;
    hp->tied_output = m->output.t == NULL;
    if (hp->tied_output) m->output = m->tok_embd;
    if ((st = get_norm(m, "output_norm.weight", hp->n_embd, &m->output_norm, err))) goto fail;
    m->layers = calloc(hp->n_layer, sizeof *m->layers);
    if (!m->layers) {
        st = pp_err_set(err, PP_ERR_NOMEM, "out of memory");
        goto fail;
    }
    int64_t qd = (int64_t)hp->n_head * hp->head_dim, kvd = (int64_t)hp->n_head_kv * hp->head_dim;
    char name[GGUF_MAX_NAME + 32];
#define NAME(s) (snprintf(name, sizeof name, "blk.%u.%s", il, s), name)
    for (uint32_t il = 0; il < hp->n_layer; il++) {
        model_layer *L = &m->layers[il];
        if ((st = get_norm(m, NAME("attn_norm.weight"), hp->n_embd, &L->attn_norm, err))) goto fail;
        if ((st = get_norm(m, NAME("attn_q_norm.weight"), hp->head_dim, &L->q_norm, err))) goto fail;
        if ((st = get_norm(m, NAME("attn_k_norm.weight"), hp->head_dim, &L->k_norm, err))) goto fail;
        if ((st = get_norm(m, NAME("post_attention_norm.weight"), hp->n_embd, &L->post_attn_norm, err))) goto fail;
        if ((st = get_norm(m, NAME("ffn_norm.weight"), hp->n_embd, &L->ffn_norm, err))) goto fail;
        if ((st = get_norm(m, NAME("post_ffw_norm.weight"), hp->n_embd, &L->post_ffw_norm, err))) goto fail;
        if ((st = get_weight(m, NAME("attn_q.weight"), hp->n_embd, qd, true, &L->wq, err))) goto fail;
        if ((st = get_weight(m, NAME("attn_k.weight"), hp->n_embd, kvd, true, &L->wk, err))) goto fail;
        if ((st = get_weight(m, NAME("attn_v.weight"), hp->n_embd, kvd, true, &L->wv, err))) goto fail;
        if ((st = get_weight(m, NAME("attn_output.weight"), qd, hp->n_embd, true, &L->wo, err))) goto fail;
        if ((st = get_weight(m, NAME("ffn_gate.weight"), hp->n_embd, hp->n_ff, true, &L->wgate, err))) goto fail;
        if ((st = get_weight(m, NAME("ffn_up.weight"), hp->n_embd, hp->n_ff, true, &L->wup, err))) goto fail;
        if ((st = get_weight(m, NAME("ffn_down.weight"), hp->n_ff, hp->n_embd, true, &L->wdown, err))) goto fail;
    }
#undef NAME
    for (uint32_t il = 0; il < hp->n_layer && !p.no_repack; il++) {
        model_layer *L = &m->layers[il];
        model_weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wgate, &L->wup, &L->wdown};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
            if ((st = pack_weight(m, ws[i], err))) goto fail;
    }
    /* tied: m->output is a copy of tok_embd's descriptor, so only the output gets the packed
     * buffer; the lookup then reads its rows from there (unpack_row), never the mapping */
    if (!p.no_repack && (st = pack_weight(m, &m->output, err))) goto fail;
    uint64_t type_bytes[GGUF_TTYPE_COUNT] = {0};
    count_weight(m, &m->tok_embd, type_bytes);
    if (!hp->tied_output) count_weight(m, &m->output, type_bytes);
    for (uint32_t il = 0; il < hp->n_layer; il++) {
        model_layer *L = &m->layers[il];
        const model_weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wgate, &L->wup, &L->wdown};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) count_weight(m, ws[i], type_bytes);
    }
    m->main_type = m->tok_embd.t->type;
    uint64_t best = 0;
    for (uint32_t t = 0; t < GGUF_TTYPE_COUNT; t++)
        if (type_bytes[t] > best) best = type_bytes[t], m->main_type = t;
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        if (t->name.len >= 2 && (!memcmp(t->name.ptr, "v.", 2) || (t->name.len >= 3 && !memcmp(t->name.ptr, "mm.", 3))))
            continue; /* embedded vision tower (Ollama files) */
        hp->n_params += t->n_elements;
    }
    *out = m;
    return PP_OK;
fail:
    model_free(m);
    return st;
}

pp_status model_load(const char *path, model_load_params p, model **out, pp_err *err) {
    gguf_file *f = NULL;
    pp_status st = gguf_open(path, &f, err);
    if (st != PP_OK) return st;
    return model_load_gguf(f, p, out, err);
}

void model_free(model *m) {
    if (!m) return;
    if (m->layers) {
        for (uint32_t il = 0; il < m->hp.n_layer; il++) {
            model_layer *L = &m->layers[il];
            free(L->attn_norm); free(L->q_norm); free(L->k_norm);
            free(L->post_attn_norm); free(L->ffn_norm); free(L->post_ffw_norm);
            free(L->wq.k.packed); free(L->wk.k.packed); free(L->wv.k.packed); free(L->wo.k.packed);
            free(L->wgate.k.packed); free(L->wup.k.packed); free(L->wdown.k.packed);
        }
        free(m->layers);
    }
    free(m->output_norm);
    free(m->output.k.packed); /* its own buffer also when tied: tok_embd is never packed */
    gguf_close(m->f);
    free(m);
}

const model_hparams *model_get_hparams(const model *m) { return &m->hp; }
const gguf_file *model_get_gguf(const model *m) { return m->f; }
uint32_t model_main_weight_type(const model *m) { return m->main_type; }
uint64_t model_weight_bytes(const model *m) { return m->weight_bytes; }

static uint64_t packed_bytes(const model_weight *w) {
    const kern_weight *k = &w->k;
    return k->packed ? (uint64_t)k->group_bytes * (uint64_t)(k->n_out / k->tt->pack_rows) : 0;
}

uint64_t model_packed_bytes(const model *m) {
    uint64_t n = packed_bytes(&m->tok_embd);
    if (m->output.k.packed != m->tok_embd.k.packed) n += packed_bytes(&m->output);
    for (uint32_t il = 0; il < m->hp.n_layer; il++) {
        const model_layer *L = &m->layers[il];
        const model_weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wgate, &L->wup, &L->wdown};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) n += packed_bytes(ws[i]);
    }
    return n;
}
