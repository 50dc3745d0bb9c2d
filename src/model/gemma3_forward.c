/* gemma3_forward.c - the Gemma 3 forward pass over a batch of tokens, with the KV cache.
 * ref: shared/spec/gemma3.md §5-6 (llama.cpp src/models/gemma3.cpp). layer_forward is the
 * math, step by step; the matmuls and the FFN block run through the kernels' executor
 * (kern_exec.h), the KV rules live in kv_cache.h.
 *
 * Layout of the per-context scratch (all from one arena, sized at init for n_batch tokens):
 *   x      [n_batch][n_embd]     residual stream
 *   xn     [n_batch][max(n_embd, q_dim)]  normed input of the next matmul / attention output
 *   q      [n_batch][q_dim], k/v [n_batch][kv_dim]
 *   g, u   [n_batch][n_ff]       FFN gate and up
 *   o      [n_batch][n_embd]     matmul output before post-norm
 *   exec   the matmul executor's converted activations (kern_exec.h), n_batch rows
 *   rope   [n_batch][hd/2] cos/sin for local and global layers
 *   scores [n_threads][64 heads][ATTN_CHUNK keys]  one KV group's scores of a key chunk
 * then the KV cache (kv_cache.h: its layout, slots and visibility rules). The token loop
 * allocates nothing. */
#include "kv_cache.h"
#include "model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct model_ctx {
    const model *m;
    model_ctx_params p;
    pp_pool *pool;
    pp_arena arena;
    model_kv_cache kv; /* holds n_past, the positions done */
    uint64_t kv_bytes;
    kern_exec exec; /* the matmuls, over pool */
    float *x, *xn, *q, *k, *v, *g, *u, *o;
    float *rope_cos[2], *rope_sin[2]; /* [0] local, [1] global */
    float *scores;
    size_t scores_per_thread; /* floats: 64 heads x ATTN_CHUNK keys */
    const kern_vec_ops *vec;
};

model_ctx_params model_ctx_default_params(void) {
    model_ctx_params p = {0, 256, 0, GGUF_TTYPE_F16, false};
    return p;
}

pp_status model_ctx_init(const model *m, model_ctx_params p, model_ctx **out, pp_err *err) {
    const model_hparams *hp = &m->hp;
    if (p.n_ctx == 0) p.n_ctx = hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096;
    if (p.n_ctx == 0 || p.n_ctx > (1u << 24))
        return pp_err_set(err, PP_ERR_ARG, "num_ctx %u is out of range [1, %u]", p.n_ctx, 1u << 24);
    if (p.n_batch == 0) p.n_batch = 256;
    if (p.n_batch > p.n_ctx) p.n_batch = p.n_ctx;
    if (p.n_batch > 4096) p.n_batch = 4096;
    if (p.n_threads <= 0) p.n_threads = pp_cpu_count();
    if (model_kv_type_bytes(p.kv_type) == 0)
        return pp_err_set(err, PP_ERR_ARG, "KV cache type %s is not supported (F16 or F32)",
                          gguf_ttype_info_get(p.kv_type).name);
    model_ctx *c = calloc(1, sizeof *c);
    if (!c) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    c->m = m;
    c->p = p;
    c->vec = kern_vec();
    pp_status st = pp_pool_init(p.n_threads, &c->pool, err);
    if (st) { free(c); return st; }

    const size_t B = p.n_batch, E = hp->n_embd, HD = hp->head_dim;
    const size_t QD = (size_t)hp->n_head * HD, KVD = (size_t)hp->n_head_kv * HD, FF = hp->n_ff;
    size_t max_in = FF > QD ? FF : QD;
    if (E > max_in) max_in = E;
    size_t xn_w = E > QD ? E : QD;
    kern_exec_params xp = kern_exec_default_params();
    xp.max_in = (int64_t)max_in;
    xp.max_rows = (int)B;
    xp.no_fuse = p.no_fuse;
    c->kv_bytes = model_kv_bytes(hp, p.n_ctx, p.n_batch, p.kv_type);
    c->scores_per_thread = 64 * 64; /* heads of one KV group (<= 64) x ATTN_CHUNK keys */
    size_t need = sizeof(float) * B * (E + xn_w + QD + 2 * KVD + 2 * FF + E) +
                  sizeof(float) * 4 * B * (HD / 2) + sizeof(float) * (size_t)p.n_threads * c->scores_per_thread +
                  64 * 64 + kern_exec_arena_bytes(xp) + model_kv_arena_bytes(hp, p.n_ctx, p.n_batch, p.kv_type);
    if ((st = pp_arena_init(&c->arena, need, err))) goto fail;
#define ALLOC(ptr, bytes)                                                                 \
    do {                                                                                  \
        ptr = pp_arena_alloc(&c->arena, (bytes), 64);                                     \
        PP_ASSERT(ptr != NULL);                                                           \
    } while (0)
    ALLOC(c->x, sizeof(float) * B * E);
    ALLOC(c->xn, sizeof(float) * B * xn_w);
    ALLOC(c->q, sizeof(float) * B * QD);
    ALLOC(c->k, sizeof(float) * B * KVD);
    ALLOC(c->v, sizeof(float) * B * KVD);
    ALLOC(c->g, sizeof(float) * B * FF);
    ALLOC(c->u, sizeof(float) * B * FF);
    ALLOC(c->o, sizeof(float) * B * E);
    for (int i = 0; i < 2; i++) {
        ALLOC(c->rope_cos[i], sizeof(float) * B * (HD / 2));
        ALLOC(c->rope_sin[i], sizeof(float) * B * (HD / 2));
    }
    ALLOC(c->scores, sizeof(float) * (size_t)p.n_threads * c->scores_per_thread);
#undef ALLOC
    if ((st = kern_exec_init(&c->exec, xp, c->pool, &c->arena, err))) goto fail;
    if ((st = model_kv_init(&c->kv, hp, p.n_ctx, p.n_batch, p.kv_type, &c->arena, err))) goto fail;
    /* Not touched here: the KV cache and scratch become resident as positions and batch rows
     * are used, so a short chat does not pay for num_ctx up front. */
    *out = c;
    return PP_OK;
fail:
    model_ctx_free(c);
    return st;
}

void model_ctx_free(model_ctx *c) {
    if (!c) return;
    pp_pool_free(c->pool);
    pp_arena_free(&c->arena);
    free(c);
}

const model *model_ctx_model(const model_ctx *c) { return c->m; }
model_ctx_params model_ctx_get_params(const model_ctx *c) { return c->p; }
uint64_t model_ctx_kv_bytes(const model_ctx *c) { return c->kv_bytes; }
uint32_t model_ctx_n_past(const model_ctx *c) { return c->kv.n_past; }
void model_ctx_reset(model_ctx *c) { model_kv_clear(&c->kv); }
bool model_ctx_can_truncate(const model_ctx *c, uint32_t n_past) { return model_kv_can_truncate(&c->kv, n_past); }
pp_status model_ctx_truncate(model_ctx *c, uint32_t n_past, pp_err *err) {
    return model_kv_truncate(&c->kv, n_past, err);
}

/* ------------------------------------------------------------------------------------------
 * Parallel ops between the matmuls (kern_exec runs those): attention, and the per-token
 * steps, each token's rows written by one thread (STYLE.md §6). */

typedef enum op_kind { OP_ATTN, OP_TOKENS } op_kind;

typedef struct op {
    op_kind kind;
    model_ctx *c;
    int n_tok;
    uint32_t il;
    void (*tok_fn)(model_ctx *c, uint32_t il, int t); /* OP_TOKENS */
} op;

/* Attention for query token t and query heads [h0, h0 + nh), all of one KV head g, as a
 * streaming softmax over chunks of ATTN_CHUNK keys: scores of a chunk, the running max and
 * sum rescaled once per chunk, then the chunk's values accumulated, so every cached K/V row
 * is read once for the nh heads while it is still in cache. */
#define ATTN_CHUNK 64
static void attn_heads(model_ctx *c, const model_kv_layer *L, int64_t t, int64_t h0, int64_t nh, float *scores) {
    const model_hparams *hp = &c->m->hp;
    const kern_vec_ops *vo = c->vec;
    const int64_t HD = hp->head_dim, QD = (int64_t)hp->n_head * HD;
    const int64_t g = h0 / (hp->n_head / hp->n_head_kv);
    const uint64_t pos = (uint64_t)c->kv.n_past + (uint64_t)t, first = model_kv_first_visible(L, pos);
    const int64_t n = (int64_t)(pos - first + 1);
    const float *q = c->q + t * QD + h0 * HD;
    const bool f16 = c->kv.type == GGUF_TTYPE_F16;
    float *out0 = c->xn + t * QD + h0 * HD; /* the nh output rows, HD apart */
    float mx[64], sum[64];
    for (int64_t hh = 0; hh < nh; hh++) {
        mx[hh] = -INFINITY;
        sum[hh] = 0.0f;
        memset(out0 + hh * HD, 0, (size_t)HD * sizeof(float));
    }
    for (int64_t j0 = 0; j0 < n; j0 += ATTN_CHUNK) {
        const int64_t m = n - j0 < ATTN_CHUNK ? n - j0 : ATTN_CHUNK;
        const void *vrow[ATTN_CHUNK];
        for (int64_t j = 0; j < m; j++) {
            const void *krow;
            model_kv_rows(&c->kv, L, first + (uint64_t)(j0 + j), g, &krow, &vrow[j]);
            vo->attn_qk(HD, nh, q, HD, krow, f16, scores + j, ATTN_CHUNK);
        }
        for (int64_t hh = 0; hh < nh; hh++) {
            float *sc = scores + hh * ATTN_CHUNK, cm = mx[hh];
            for (int64_t j = 0; j < m; j++) cm = sc[j] > cm ? sc[j] : cm;
            float *out = out0 + hh * HD;
            if (cm > mx[hh] && sum[hh] > 0.0f) { /* rescale what was accumulated */
                float r = expf(mx[hh] - cm);
                sum[hh] *= r;
                for (int64_t d = 0; d < HD; d++) out[d] *= r;
            }
            mx[hh] = cm;
            sum[hh] += vo->exp_sum(sc, m, cm);
        }
        vo->attn_pv(HD, m, nh, scores, ATTN_CHUNK, vrow, f16, out0, HD);
    }
    for (int64_t hh = 0; hh < nh; hh++) {
        float *out = out0 + hh * HD, inv = 1.0f / sum[hh];
        for (int64_t d = 0; d < HD; d++) out[d] *= inv;
    }
}

/* Jobs are (token, KV head) pairs when there are enough of them to keep every thread busy,
 * else (token, query head) pairs (decode). A causal prompt's later tokens attend to more keys,
 * so threads take every nth job rather than a contiguous share (which left the first thread
 * idle for about half of a long prompt's attention). */
static void op_attn(const op *o, int ith, int nth) {
    model_ctx *c = o->c;
    const model_hparams *hp = &c->m->hp;
    const model_kv_layer *L = &c->kv.layer[o->il];
    const int64_t group = hp->n_head / hp->n_head_kv;
    const bool by_group = (int64_t)o->n_tok * hp->n_head_kv >= 4 * (int64_t)nth && group <= 64;
    const int64_t per_tok = by_group ? hp->n_head_kv : hp->n_head, width = by_group ? group : 1;
    float *scores = c->scores + (size_t)ith * c->scores_per_thread;
    const int64_t n_jobs = (int64_t)o->n_tok * per_tok;
    for (int64_t job = ith; job < n_jobs; job += nth)
        attn_heads(c, L, job / per_tok, (job % per_tok) * width, width, scores);
}

/* Per-token work between matmuls, split over tokens. */
static void op_tokens(const op *o, int ith, int nth) {
    int64_t lo, hi;
    pp_split(o->n_tok, ith, nth, &lo, &hi);
    for (int64_t t = lo; t < hi; t++) o->tok_fn(o->c, o->il, (int)t);
}

static void op_run(void *ctx, int ith, int nth) {
    const op *o = ctx;
    switch (o->kind) {
    case OP_ATTN: op_attn(o, ith, nth); break;
    case OP_TOKENS: op_tokens(o, ith, nth); break;
    }
}

/* RoPE tables for the chunk's positions: NEOX pairs (i, i + hd/2), theta_i = fs * pos * ts^i
 * with ts = base^(-2/hd) accumulated iteratively in f32 as ggml does (gemma3.md §6.3). */
static void rope_tables(model_ctx *c, int n_tok) {
    const model_hparams *hp = &c->m->hp;
    const int half = (int)hp->head_dim / 2;
    for (int which = 0; which < 2; which++) {
        float base = which ? hp->rope_base_global : hp->rope_base_local;
        float fs = which ? hp->rope_scale_global : 1.0f;
        float ts = powf(base, -2.0f / (float)hp->head_dim);
        for (int t = 0; t < n_tok; t++) {
            float th = (float)(c->kv.n_past + (uint32_t)t);
            for (int i = 0; i < half; i++) {
                float theta = fs * th;
                c->rope_cos[which][t * half + i] = cosf(theta);
                c->rope_sin[which][t * half + i] = sinf(theta);
                th *= ts;
            }
        }
    }
}

static void rope_apply(float *v, const float *cs, const float *sn, int half) {
    for (int i = 0; i < half; i++) {
        float a = v[i], b = v[i + half];
        v[i] = a * cs[i] - b * sn[i];
        v[i + half] = a * sn[i] + b * cs[i];
    }
}

/* ---- per-token steps between the matmuls (each writes only token t's rows) ---- */

static void tok_attn_norm(model_ctx *c, uint32_t il, int t) {
    const model_hparams *hp = &c->m->hp;
    const int64_t E = hp->n_embd;
    kern_rmsnorm(c->xn + t * E, c->x + t * E, c->m->layers[il].attn_norm, E, hp->eps);
}

/* QK-norm, RoPE, query scaling, and the token's K/V into the cache. */
static void tok_qk(model_ctx *c, uint32_t il, int t) {
    const model_hparams *hp = &c->m->hp;
    const model_layer *L = &c->m->layers[il];
    const int64_t HD = hp->head_dim, QD = (int64_t)hp->n_head * HD, KVD = (int64_t)hp->n_head_kv * HD;
    const int half = (int)HD / 2, which = hp->is_swa[il] ? 0 : 1;
    const float *cs = c->rope_cos[which] + t * half, *sn = c->rope_sin[which] + t * half;
    for (uint32_t h = 0; h < hp->n_head; h++) {
        float *qh = c->q + t * QD + (int64_t)h * HD;
        kern_rmsnorm(qh, qh, L->q_norm, HD, hp->eps);
        rope_apply(qh, cs, sn, half);
        for (int64_t d = 0; d < HD; d++) qh[d] *= hp->attn_scale;
    }
    float *kt = c->k + t * KVD, *vt = c->v + t * KVD;
    for (uint32_t h = 0; h < hp->n_head_kv; h++) {
        float *kh = kt + (int64_t)h * HD;
        kern_rmsnorm(kh, kh, L->k_norm, HD, hp->eps);
        rope_apply(kh, cs, sn, half);
    }
    model_kv_store(&c->kv, il, (uint64_t)c->kv.n_past + (uint64_t)t, kt, vt);
}

/* Post-attention norm, residual, pre-FFN norm. */
static void tok_post_attn(model_ctx *c, uint32_t il, int t) {
    const model_hparams *hp = &c->m->hp;
    const model_layer *L = &c->m->layers[il];
    const int64_t E = hp->n_embd;
    float *ot = c->o + t * E, *xt = c->x + t * E;
    kern_rmsnorm(ot, ot, L->post_attn_norm, E, hp->eps);
    for (int64_t i = 0; i < E; i++) xt[i] += ot[i];
    kern_rmsnorm(c->xn + t * E, xt, L->ffn_norm, E, hp->eps);
}

static void tok_post_ffn(model_ctx *c, uint32_t il, int t) {
    const model_hparams *hp = &c->m->hp;
    const int64_t E = hp->n_embd;
    float *ot = c->o + t * E, *xt = c->x + t * E;
    kern_rmsnorm(ot, ot, c->m->layers[il].post_ffw_norm, E, hp->eps);
    for (int64_t i = 0; i < E; i++) xt[i] += ot[i];
}

/* Runs a per-token step on every token: inline for one token (decode: no barrier). */
static void for_tokens(model_ctx *c, uint32_t il, int n_tok, void (*fn)(model_ctx *, uint32_t, int)) {
    if (n_tok == 1) {
        fn(c, il, 0);
        return;
    }
    op o;
    memset(&o, 0, sizeof o);
    o.kind = OP_TOKENS;
    o.c = c;
    o.n_tok = n_tok;
    o.il = il;
    o.tok_fn = fn;
    pp_pool_run(c->pool, op_run, &o);
}

/* y = W src for one weight, every row (n_tok). */
static void matmul(model_ctx *c, int n_tok, const float *src, int64_t src_stride, const model_weight *w, float *y,
                   int64_t y_stride) {
    const kern_weight *kw[1] = {&w->k};
    float *ky[1] = {y};
    const int64_t ks[1] = {y_stride};
    kern_exec_matmul(&c->exec, n_tok, src, src_stride, 1, kw, ky, ks);
}

/* xn = softmax(q K^T) V per head, for every token's query (the jobs of op_attn). */
static void attention(model_ctx *c, uint32_t il, int n_tok) {
    op o;
    memset(&o, 0, sizeof o);
    o.kind = OP_ATTN;
    o.c = c;
    o.n_tok = n_tok;
    o.il = il;
    pp_pool_run(c->pool, op_run, &o);
}

/* One layer, in the steps of gemma3.md §6.3 (x is the residual stream). */
static void layer_forward(model_ctx *c, uint32_t il, int n_tok) {
    const model_hparams *hp = &c->m->hp;
    const model_layer *L = &c->m->layers[il];
    const int64_t E = hp->n_embd, QD = (int64_t)hp->n_head * hp->head_dim;
    const int64_t KVD = (int64_t)hp->n_head_kv * hp->head_dim;

    for_tokens(c, il, n_tok, tok_attn_norm);           /* 1. xn = norm(x, attn_norm) */
    const kern_weight *qkv[3] = {&L->wq.k, &L->wk.k, &L->wv.k};
    float *qkv_y[3] = {c->q, c->k, c->v};
    const int64_t qkv_stride[3] = {QD, KVD, KVD};
    kern_exec_matmul(&c->exec, n_tok, c->xn, E, 3, qkv, qkv_y, qkv_stride); /* 2. q, k, v = Wq, Wk, Wv xn */
    for_tokens(c, il, n_tok, tok_qk);                  /* 3-6. QK-norm, RoPE, q scale; k, v cached */
    attention(c, il, n_tok);                           /* 7. xn = softmax(q K^T) V */
    matmul(c, n_tok, c->xn, QD, &L->wo, c->o, E);      /* 8. o = Wo xn */
    for_tokens(c, il, n_tok, tok_post_attn);           /* 9-10. x += norm(o); xn = norm(x, ffn_norm) */
    kern_exec_ffn(&c->exec, n_tok, c->xn, E, &L->wgate.k, &L->wup.k, &L->wdown.k, c->g, c->u, c->o,
                  E);                                  /* 10. o = Wdown (gelu(Wgate xn) * Wup xn) */
    for_tokens(c, il, n_tok, tok_post_ffn);            /* 11. x += norm(o, post_ffw_norm) */
}

/* One chunk of at most n_batch tokens. */
static pp_status eval_chunk(model_ctx *c, const int32_t *tokens, int n_tok, const bool *want, float *logits,
                            int *n_out, pp_err *err) {
    const model *m = c->m;
    const model_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd;
    const gguf_tensor *te = m->tok_embd.t;
    /* A tied output repacked at load is resident only packed (the mapped pages were dropped):
     * the lookup takes its rows from there, through c->o (free until the first layer; E floats
     * hold any packed type's row). */
    const kern_weight *ow = &m->output.k;
    const bool from_packed = hp->tied_output && ow->packed && ow->tt->unpack_row;
    for (int t = 0; t < n_tok; t++) {
        float *xt = c->x + t * E;
        const uint8_t *row = (const uint8_t *)te->data + (size_t)tokens[t] * m->tok_embd.k.row_bytes;
        if (from_packed) {
            PP_ASSERT(m->tok_embd.k.row_bytes <= sizeof(float) * (size_t)E);
            ow->tt->unpack_row(E, ow->packed, ow->group_bytes, tokens[t], c->o);
            row = (const uint8_t *)c->o;
        }
        pp_status st = quant_dequantize_row(te->type, row, xt, E, err);
        if (st) return pp_err_prefix(err, "tensor 'token_embd.weight': ");
        for (int64_t i = 0; i < E; i++) xt[i] *= hp->embd_scale;
    }
    rope_tables(c, n_tok);
    for (uint32_t il = 0; il < hp->n_layer; il++) layer_forward(c, il, n_tok);

    int n_sel = 0;
    for (int t = 0; t < n_tok; t++)
        if (want[t]) {
            kern_rmsnorm(c->xn + n_sel * E, c->x + t * E, m->output_norm, E, hp->eps);
            n_sel++;
        }
    if (n_sel) {
        matmul(c, n_sel, c->xn, E, &m->output, logits, hp->n_vocab);
        if (hp->final_softcap > 0) {
            float cap = hp->final_softcap;
            for (size_t i = 0; i < (size_t)n_sel * hp->n_vocab; i++) logits[i] = cap * tanhf(logits[i] / cap);
        }
    }
    c->kv.n_past += (uint32_t)n_tok;
    *n_out = n_sel;
    return PP_OK;
}

pp_status model_ctx_eval(model_ctx *c, const int32_t *tokens, uint32_t n, const bool *want, float *logits,
                         pp_err *err) {
    const model_hparams *hp = &c->m->hp;
    if (n == 0) return PP_OK;
    if ((uint64_t)c->kv.n_past + n > c->p.n_ctx)
        return pp_err_set(err, PP_ERR_ARG, "context full: %u positions used + %u new tokens exceed num_ctx %u",
                          c->kv.n_past, n, c->p.n_ctx);
    for (uint32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= hp->n_vocab)
            return pp_err_set(err, PP_ERR_ARG, "token id %d at index %u is outside the vocabulary [0, %u)", tokens[i],
                              i, hp->n_vocab);
    uint32_t done = 0;
    while (done < n) {
        int chunk = (int)(n - done < c->p.n_batch ? n - done : c->p.n_batch);
        bool sel[4096];
        for (int t = 0; t < chunk; t++) sel[t] = want ? want[done + (uint32_t)t] : (done + (uint32_t)t == n - 1);
        int n_out = 0;
        pp_status st = eval_chunk(c, tokens + done, chunk, sel, logits, &n_out, err);
        if (st) return st;
        if (logits) logits += (size_t)n_out * hp->n_vocab;
        done += (uint32_t)chunk;
    }
    return PP_OK;
}
