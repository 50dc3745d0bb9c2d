/* engine.c - model+vocab loading, sessions, and the generation loop shared by the CLI and
 * the server. Invariants: s->cached holds exactly the ids whose K/V are in the context
 * (model_ctx_n_past == n_cached); the token loop allocates nothing (logits and reply ids are
 * sized at session init; test_engine checks it). */
#include "engine_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct engine_model {
    model *m;
    tok_vocab *v;
    uint64_t load_ns;
    engine_model_params p;
};

engine_model_params engine_model_default_params(void) {
    engine_model_params p = {false, false};
    return p;
}

pp_status engine_model_load(const char *path, engine_model_params p, engine_model **out, pp_err *err) {
    uint64_t t0 = pp_time_ns();
    engine_model *em = calloc(1, sizeof *em);
    if (!em) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    em->p = p;
    model_load_params lp = model_load_default_params();
    lp.no_repack = p.no_repack;
    pp_status st = model_load(path, lp, &em->m, err);
    if (st) goto fail;
    if ((st = tok_vocab_init_from_gguf(model_get_gguf(em->m), &em->v, err))) goto fail;
    if (tok_n_vocab(em->v) < model_get_hparams(em->m)->n_vocab) {
        st = pp_err_set(err, PP_ERR_FORMAT, "%s: the vocabulary has %u tokens but token_embd.weight has %u rows",
                        gguf_name(model_get_gguf(em->m)), tok_n_vocab(em->v), model_get_hparams(em->m)->n_vocab);
        goto fail;
    }
    em->load_ns = pp_time_ns() - t0;
    *out = em;
    return PP_OK;
fail:
    engine_model_free(em);
    return st;
}

void engine_model_free(engine_model *em) {
    if (!em) return;
    tok_vocab_free(em->v);
    model_free(em->m);
    free(em);
}

const model *engine_model_get(const engine_model *em) { return em->m; }
const tok_vocab *engine_model_vocab(const engine_model *em) { return em->v; }
uint64_t engine_model_load_ns(const engine_model *em) { return em->load_ns; }
engine_model_params engine_model_get_params(const engine_model *em) { return em->p; }

static uint32_t n_ctx_of(const struct engine_session *s);

struct engine_session {
    const engine_model *em;
    engine_options opt;
    model_ctx *ctx;
    samp *sampler;
    int32_t *cached;       /* ids in the KV cache, num_ctx capacity */
    uint32_t n_cached;
    float *logits;         /* n_vocab */
    int32_t *reply;        /* generated ids, num_ctx capacity */
    atomic_bool cancel;
    uint64_t pending_load_ns; /* reported once, by the first request after a (re)load */
};

static uint32_t n_ctx_of(const engine_session *s) { return model_ctx_get_params(s->ctx).n_ctx; }

static pp_status session_build(engine_session *s, pp_err *err) {
    const model_hparams *hp = model_get_hparams(s->em->m);
    model_ctx_params cp = model_ctx_default_params();
    cp.n_ctx = s->opt.num_ctx ? s->opt.num_ctx : (hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096);
    if (cp.n_ctx > hp->n_ctx_train && hp->n_ctx_train > 0) cp.n_ctx = hp->n_ctx_train; /* as Ollama caps it */
    cp.n_batch = s->opt.num_batch;
    cp.n_threads = s->opt.num_thread;
    cp.kv_type = s->opt.kv_type;
    cp.no_fuse = s->em->p.no_fuse;
    uint64_t t0 = pp_time_ns();
    model_ctx *ctx = NULL;
    pp_status st = model_ctx_init(s->em->m, cp, &ctx, err);
    if (st) return st;
    uint32_t n_ctx = model_ctx_get_params(ctx).n_ctx;
    int32_t *cached = malloc((size_t)n_ctx * sizeof *cached), *reply = malloc((size_t)n_ctx * sizeof *reply);
    if (!cached || !reply) {
        free(cached);
        free(reply);
        model_ctx_free(ctx);
        return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    }
    model_ctx_free(s->ctx);
    free(s->cached);
    free(s->reply);
    s->ctx = ctx;
    s->cached = cached;
    s->reply = reply;
    s->n_cached = 0;
    s->pending_load_ns += pp_time_ns() - t0;
    return PP_OK;
}

pp_status engine_session_init(const engine_model *em, const engine_options *o, engine_session **out, pp_err *err) {
    engine_session *s = calloc(1, sizeof *s);
    if (!s) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    s->em = em;
    s->opt = o ? *o : engine_default_options();
    s->pending_load_ns = em->load_ns;
    uint32_t V = model_get_hparams(em->m)->n_vocab;
    pp_status st;
    s->logits = malloc((size_t)V * sizeof *s->logits);
    if (!s->logits) { st = pp_err_set(err, PP_ERR_NOMEM, "out of memory"); goto fail; }
    if ((st = session_build(s, err))) goto fail;
    samp_params sp = s->opt.samp;
    samp_params_resolve_ctx(&sp, (int32_t)n_ctx_of(s));
    if ((st = samp_init(sp, (int32_t)V, &s->sampler, err))) goto fail;
    *out = s;
    return PP_OK;
fail:
    engine_session_free(s);
    return st;
}

void engine_session_free(engine_session *s) {
    if (!s) return;
    model_ctx_free(s->ctx);
    samp_free(s->sampler);
    free(s->cached);
    free(s->reply);
    free(s->logits);
    free(s);
}

pp_status engine_session_set_options(engine_session *s, const engine_options *o, pp_err *err) {
    engine_options old = s->opt;
    samp *ns = NULL;
    s->opt = *o;
    pp_status st;
    if (engine_options_need_reload(&old, o) && (st = session_build(s, err))) {
        s->opt = old;
        return st;
    }
    samp_params sp = o->samp;
    samp_params_resolve_ctx(&sp, (int32_t)n_ctx_of(s));
    if ((st = samp_init(sp, (int32_t)model_get_hparams(s->em->m)->n_vocab, &ns, err))) {
        s->opt = old; /* the context (if rebuilt) is still valid for the old options' sampler */
        return st;
    }
    samp_free(s->sampler);
    s->sampler = ns;
    return PP_OK;
}

const engine_options *engine_session_options(const engine_session *s) { return &s->opt; }
uint64_t engine_session_seed(const engine_session *s) { return samp_seed(s->sampler); }
uint64_t engine_session_kv_bytes(const engine_session *s) { return model_ctx_kv_bytes(s->ctx); }
uint32_t engine_session_n_ctx(const engine_session *s) { return n_ctx_of(s); }
void engine_session_cancel(engine_session *s) { atomic_store(&s->cancel, true); }

void engine_session_clear(engine_session *s) {
    model_ctx_reset(s->ctx);
    s->n_cached = 0;
}

pp_status engine_session_check_fit(const engine_session *s, size_t n_ids, pp_err *err) {
    uint32_t n_ctx = n_ctx_of(s);
    if (n_ids >= n_ctx)
        return pp_err_set(err, PP_ERR_ARG, "the prompt is %zu tokens, which does not fit num_ctx %u (raise num_ctx)",
                          n_ids, n_ctx);
    return PP_OK;
}


/* Makes the cache hold ids[0..n): keeps the longest common prefix (rolling back or starting
 * over as the ring allows) and evaluates the rest; logits of the last id end in s->logits.
 * At least the last id is always evaluated, so there are fresh logits. */
static pp_status feed_prompt(engine_session *s, const int32_t *ids, uint32_t n, uint32_t *n_evaluated, pp_err *err) {
    uint32_t keep = 0;
    while (keep < n && keep < s->n_cached && s->cached[keep] == ids[keep]) keep++;
    if (keep == n) keep = n - 1; /* re-evaluate the last token for its logits */
    if (keep < s->n_cached) {
        if (model_ctx_can_truncate(s->ctx, keep)) {
            pp_status st = model_ctx_truncate(s->ctx, keep, err);
            if (st) return st;
        } else {
            model_ctx_reset(s->ctx);
            keep = 0;
        }
    }
    s->n_cached = keep;
    pp_status st = model_ctx_eval(s->ctx, ids + keep, n - keep, NULL, s->logits, err);
    if (st) {
        model_ctx_reset(s->ctx);
        s->n_cached = 0;
        return st;
    }
    memcpy(s->cached + keep, ids + keep, (size_t)(n - keep) * sizeof *ids);
    s->n_cached = n;
    *n_evaluated = n - keep;
    return PP_OK;
}

/* Stop-sequence filter: text is held back while it could still become a stop sequence. */
typedef struct stopper {
    const engine_options *o;
    char buf[ENGINE_MAX_STOP_LEN * 2 + 64];
    size_t n;
} stopper;

/* Appends text; emits what is safe. Returns true when a stop sequence matched (the text
 * before it was emitted, the rest dropped). *keep_going false if fn asked to stop. */
static bool stopper_feed(stopper *sp, const char *t, size_t len, engine_text_fn fn, void *ud, bool *keep_going) {
    while (len) {
        size_t room = sizeof sp->buf - sp->n;
        size_t take = len < room ? len : room;
        memcpy(sp->buf + sp->n, t, take);
        sp->n += take;
        t += take;
        len -= take;
        /* full match? */
        for (int i = 0; i < sp->o->n_stop; i++) {
            const char *stop = sp->o->stop[i];
            size_t sl = strlen(stop);
            for (size_t p = 0; p + sl <= sp->n; p++)
                if (!memcmp(sp->buf + p, stop, sl)) {
                    if (p && fn && !fn(sp->buf, p, ud)) *keep_going = false;
                    sp->n = 0;
                    return true;
                }
        }
        /* keep the longest suffix that is a prefix of some stop sequence */
        size_t hold = 0;
        for (int i = 0; i < sp->o->n_stop; i++) {
            const char *stop = sp->o->stop[i];
            size_t sl = strlen(stop);
            for (size_t k = sl - 1 < sp->n ? sl - 1 : sp->n; k > hold; k--)
                if (!memcmp(sp->buf + sp->n - k, stop, k)) {
                    hold = k;
                    break;
                }
        }
        size_t emit = sp->n - hold;
        if (emit && fn && !fn(sp->buf, emit, ud)) *keep_going = false;
        memmove(sp->buf, sp->buf + emit, hold);
        sp->n = hold;
    }
    return false;
}

static void stopper_flush(stopper *sp, engine_text_fn fn, void *ud) {
    if (sp->n && fn) fn(sp->buf, sp->n, ud);
    sp->n = 0;
}

/* The generation loop (engine_generate_ids without clearing the cancel flag). */
static pp_status generate(engine_session *s, const int32_t *ids, size_t n, engine_text_fn fn, void *ud,
                          engine_result *res, pp_err *err) {
    memset(res, 0, sizeof *res);
    uint64_t t_start = pp_time_ns();
    const tok_vocab *v = s->em->v;
    uint32_t n_ctx = n_ctx_of(s);
    if (n == 0) return pp_err_set(err, PP_ERR_ARG, "empty prompt");
    pp_status st = engine_session_check_fit(s, n, err);
    if (st) return st;
    res->prompt_tokens = (uint32_t)n;
    res->stats.load_duration = s->pending_load_ns;
    s->pending_load_ns = 0;
    uint32_t n_eval = 0;
    st = feed_prompt(s, ids, (uint32_t)n, &n_eval, err);
    if (st) return st;
    uint64_t t_prompt = pp_time_ns();
    res->stats.prompt_eval_count = n_eval;
    res->stats.prompt_eval_duration = t_prompt - t_start;
    samp_reset(s->sampler);
    for (size_t i = 0; i < n; i++) samp_accept(s->sampler, ids[i]);

    tok_stream ts;
    tok_stream_init(&ts);
    stopper sp;
    sp.o = &s->opt;
    sp.n = 0;
    char piece[512], text[TOK_STREAM_OUT_MAX(512)];
    bool keep_going = true;
    res->done = ENGINE_DONE_LENGTH;
    size_t n_reply = 0;
    for (;;) {
        if (atomic_load(&s->cancel) || !keep_going) {
            res->done = ENGINE_DONE_CANCELLED;
            break;
        }
        if (s->opt.num_predict >= 0 && n_reply >= (size_t)s->opt.num_predict) {
            res->done = ENGINE_DONE_LENGTH;
            break;
        }
        int32_t tok;
        if ((st = samp_sample(s->sampler, s->logits, &tok, err))) return st;
        if (tok_is_eog(v, tok)) {
            res->done = ENGINE_DONE_STOP;
            break;
        }
        samp_accept(s->sampler, tok);
        s->reply[n_reply++] = tok;
        size_t plen = tok_piece(v, tok, false, piece, sizeof piece);
        if (plen > sizeof piece) plen = sizeof piece;
        size_t tl = tok_stream_feed(&ts, piece, plen, text);
        if (tl && stopper_feed(&sp, text, tl, fn, ud, &keep_going)) {
            res->done = ENGINE_DONE_STOP;
            break;
        }
        if (s->n_cached >= n_ctx) {
            res->done = ENGINE_DONE_LENGTH;
            res->context_full = true;
            break;
        }
        if ((st = model_ctx_eval(s->ctx, &tok, 1, NULL, s->logits, err))) return st;
        s->cached[s->n_cached++] = tok;
    }
    if (res->done != ENGINE_DONE_STOP || sp.n) {
        size_t tl = tok_stream_flush(&ts, text);
        if (tl) stopper_feed(&sp, text, tl, fn, ud, &keep_going);
        if (res->done != ENGINE_DONE_STOP) stopper_flush(&sp, fn, ud);
    }
    uint64_t t_end = pp_time_ns();
    res->stats.eval_count = (uint32_t)n_reply;
    res->stats.eval_duration = t_end - t_prompt;
    res->stats.total_duration = t_end - t_start + res->stats.load_duration;
    res->reply_ids = s->reply;
    res->n_reply_ids = n_reply;
    return PP_OK;
}

pp_status engine_generate_ids(engine_session *s, const int32_t *ids, size_t n, engine_text_fn fn, void *ud,
                              engine_result *res, pp_err *err) {
    atomic_store(&s->cancel, false);
    return generate(s, ids, n, fn, ud, res, err);
}

pp_status engine_chat(engine_session *s, const engine_msg *msgs, size_t n, engine_text_fn fn, void *ud,
                      engine_result *res, pp_err *err) {
    memset(res, 0, sizeof *res);
    atomic_store(&s->cancel, false);
    /* The prompt is the rendering of msgs alone: a reply sent back as text is tokenized like
     * any text, never replaced by the ids this session generated for it, so the same request
     * gives the same prompt (and with a seed the same answer) whatever the cache holds. */
    engine_fit f;
    pp_status st = engine_chat_fit(s->em->v, msgs, n, n_ctx_of(s), &s->cancel, &f, err);
    if (st == PP_ERR_CANCELLED) { /* Ctrl-C while fitting: an empty, cancelled answer */
        res->done = ENGINE_DONE_CANCELLED;
        res->reply_ids = s->reply;
        return PP_OK;
    }
    if (st) return st;
    st = generate(s, f.ids, f.n_ids, fn, ud, res, err);
    free(f.ids);
    if (st) return st;
    res->dropped_turns = f.dropped;
    return PP_OK;
}
