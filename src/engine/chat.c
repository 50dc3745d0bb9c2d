/* chat.c - the Gemma 3 chat format rendered straight to token ids (gemma3.md §7.2):
 *   <bos><start_of_turn>user\n{system}\n\n{user}<end_of_turn>\n<start_of_turn>model\n...
 * Template tokens are inserted as ids (looked up by text in the vocab, never hard-coded);
 * message text is tokenized WITHOUT special-token parsing, so a user who types
 * "<end_of_turn>" gets text, not a turn boundary. Contents are trimmed like Google's
 * template; "assistant" is written "model"; consecutive same-role messages are allowed.
 *
 * Each piece (a message's content, the constant "user\n", "\n\n", ...) is tokenized once,
 * into chat_parts; a prompt is then assembled from the pieces. Because pieces are tokenized
 * separately, a prompt's length is a sum of piece lengths, which is what lets
 * engine_chat_fit find how many old turns to drop in one linear pass instead of rendering
 * the conversation again after each dropped exchange. */
#include "engine_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct idbuf {
    int32_t *v;
    size_t n, cap;
} idbuf;

static pp_status push(idbuf *b, const int32_t *ids, size_t n, pp_err *err) {
    if (n == 0) return PP_OK;
    if (b->n + n > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->n + n) nc *= 2;
        int32_t *nv = realloc(b->v, nc * sizeof *nv);
        if (!nv) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
        b->v = nv;
        b->cap = nc;
    }
    memcpy(b->v + b->n, ids, n * sizeof *ids);
    b->n += n;
    return PP_OK;
}

static void trim(const char **s, size_t *len) {
    const char *p = *s;
    size_t n = *len;
    while (n && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')) p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\n' || p[n - 1] == '\t' || p[n - 1] == '\r')) n--;
    *s = p;
    *len = n;
}

pp_status engine_special_ids(const tok_vocab *v, int32_t *sot, int32_t *eot, pp_err *err) {
    *sot = tok_find(v, "<start_of_turn>", 15);
    *eot = tok_find(v, "<end_of_turn>", 13);
    if (*sot < 0 || *eot < 0)
        return pp_err_set(err, PP_ERR_UNSUPPORTED, "the vocabulary has no <start_of_turn>/<end_of_turn> tokens: not a chat model");
    return PP_OK;
}

/* ---- the conversation, tokenized piece by piece ---- */

typedef enum part_kind { PART_SYSTEM, PART_USER, PART_MODEL } part_kind;
typedef struct span {
    size_t off, n;   /* ids pool[off .. off+n) */
} span;

typedef struct chat_parts {
    const engine_msg *msgs;
    size_t n;
    idbuf pool;
    int32_t sot, eot, bos;
    bool has_bos;
    span user_nl, model_nl, nl, nlnl;   /* "user\n", "model\n", "\n", "\n\n" */
    span *content;                      /* per message: trimmed text, or the given ids */
    uint8_t *kind;                      /* per message: part_kind */
    uint64_t n_encode;                  /* tokenizer calls */
} chat_parts;

static pp_status add_text(chat_parts *p, const tok_vocab *v, const char *s, size_t len, span *out, pp_err *err) {
    out->off = p->pool.n;
    out->n = 0;
    if (len == 0) return PP_OK;
    int32_t *ids = NULL;
    size_t n = 0;
    p->n_encode++;
    pp_status st = tok_encode_alloc(v, s, len, false, false, &ids, &n, err);
    if (st == PP_OK) st = push(&p->pool, ids, n, err);
    free(ids);
    if (st == PP_OK) out->n = n;
    return st;
}

static void parts_free(chat_parts *p) {
    free(p->pool.v);
    free(p->content);
    free(p->kind);
}

/* Tokenizes every piece of msgs once. Roles are checked in order, so the error names the
 * first bad message as rendering it would. */
static pp_status parts_init(chat_parts *p, const tok_vocab *v, const engine_msg *msgs, size_t n, pp_err *err) {
    memset(p, 0, sizeof *p);
    p->msgs = msgs;
    p->n = n;
    pp_status st = engine_special_ids(v, &p->sot, &p->eot, err);
    if (st) return st;
    p->bos = tok_bos(v);
    p->has_bos = tok_add_bos(v) && p->bos >= 0;
    p->content = malloc((n ? n : 1) * sizeof *p->content);
    p->kind = malloc(n ? n : 1);
    if (!p->content || !p->kind) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    if ((st = add_text(p, v, "user\n", 5, &p->user_nl, err)) || (st = add_text(p, v, "model\n", 6, &p->model_nl, err)) ||
        (st = add_text(p, v, "\n", 1, &p->nl, err)) || (st = add_text(p, v, "\n\n", 2, &p->nlnl, err)))
        return st;
    for (size_t i = 0; i < n; i++) {
        const char *role = msgs[i].role ? msgs[i].role : "user";
        const char *c = msgs[i].content ? msgs[i].content : "";
        size_t len = strlen(c);
        if (!strcmp(role, "system")) p->kind[i] = PART_SYSTEM;
        else if (!strcmp(role, "assistant") || !strcmp(role, "model")) p->kind[i] = PART_MODEL;
        else if (!strcmp(role, "user")) p->kind[i] = PART_USER;
        else return pp_err_set(err, PP_ERR_ARG, "message %zu: role '%s' is not one of system, user, assistant", i, role);
        if (p->kind[i] != PART_SYSTEM && msgs[i].ids && msgs[i].n_ids) {
            p->content[i].off = p->pool.n;
            p->content[i].n = msgs[i].n_ids;
            if ((st = push(&p->pool, msgs[i].ids, msgs[i].n_ids, err))) return st;
        } else {
            trim(&c, &len);
            if ((st = add_text(p, v, c, len, &p->content[i], err))) return st;
        }
    }
    return PP_OK;
}

static pp_status put(idbuf *b, const chat_parts *p, span s, pp_err *err) { return push(b, p->pool.v + s.off, s.n, err); }
static pp_status put_id(idbuf *b, int32_t id, pp_err *err) { return push(b, &id, 1, err); }

/* Assembles the prompt of the system messages before first plus msgs[first..n). A system
 * message is folded into the next user turn; a later system message replaces a pending one;
 * one with no user turn after it gets a user turn of its own at the end. A last assistant
 * message is left open (the reply continues). */
static pp_status parts_emit(const chat_parts *p, size_t first, bool add_gen, idbuf *b, pp_err *err) {
    pp_status st = PP_OK;
    if (p->has_bos && (st = put_id(b, p->bos, err))) return st;
    size_t pending = SIZE_MAX;
    for (size_t i = 0; i < first; i++)
        if (p->kind[i] == PART_SYSTEM) pending = i;
    bool last_open = false;
    for (size_t i = first; i < p->n; i++) {
        part_kind k = (part_kind)p->kind[i];
        if (k == PART_SYSTEM) {
            pending = i;
            continue;
        }
        if ((st = put_id(b, p->sot, err)) || (st = put(b, p, k == PART_MODEL ? p->model_nl : p->user_nl, err))) return st;
        if (pending != SIZE_MAX && k == PART_USER) {
            if ((st = put(b, p, p->content[pending], err)) || (st = put(b, p, p->nlnl, err))) return st;
            pending = SIZE_MAX;
        }
        if ((st = put(b, p, p->content[i], err))) return st;
        if (k == PART_MODEL && i == p->n - 1) {
            last_open = true;
            break;
        }
        if ((st = put_id(b, p->eot, err)) || (st = put(b, p, p->nl, err))) return st;
    }
    if (pending != SIZE_MAX) {
        if ((st = put_id(b, p->sot, err)) || (st = put(b, p, p->user_nl, err)) ||
            (st = put(b, p, p->content[pending], err)) || (st = put_id(b, p->eot, err)) || (st = put(b, p, p->nl, err)))
            return st;
    }
    if (add_gen && !last_open) {
        if ((st = put_id(b, p->sot, err)) || (st = put(b, p, p->model_nl, err))) return st;
    }
    return PP_OK;
}

pp_status engine_render_chat(const tok_vocab *v, const engine_msg *msgs, size_t n, bool add_generation_prompt,
                             int32_t **out, size_t *n_out, pp_err *err) {
    chat_parts p;
    idbuf b = {0};
    pp_status st = parts_init(&p, v, msgs, n, err);
    if (st == PP_OK) st = parts_emit(&p, 0, add_generation_prompt, &b, err);
    parts_free(&p);
    if (st) {
        free(b.v);
        return st;
    }
    *out = b.v;
    *n_out = b.n;
    return PP_OK;
}

/* ---- fitting num_ctx ---- */

/* Lengths parts_emit would produce, in O(1) per candidate first: the prompt of
 * (systems before first) + msgs[first..n) is bos + tail[first] + head(first) + gen, where
 * tail[i] sums each later message's own turn and each later system message's fold (which
 * depends only on what follows it), and head is the fold of the last system message before
 * first (the one still pending when msgs[first] comes). */
typedef struct fit_lengths {
    size_t *tail;       /* n + 1 */
    size_t *next_su;    /* n + 1: first index >= i that is a system or user message, else n */
    size_t fixed;       /* bos + generation prompt */
} fit_lengths;

static size_t fold_len(const chat_parts *p, size_t sys, size_t next) {
    if (next == p->n) return 2 + p->user_nl.n + p->content[sys].n + p->nl.n; /* a turn of its own */
    return p->kind[next] == PART_USER ? p->content[sys].n + p->nlnl.n : 0;  /* folded, or replaced */
}

static pp_status lengths_init(fit_lengths *L, const chat_parts *p, pp_err *err) {
    size_t n = p->n;
    L->tail = malloc((n + 1) * sizeof *L->tail);
    L->next_su = malloc((n + 1) * sizeof *L->next_su);
    if (!L->tail || !L->next_su) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    L->tail[n] = 0;
    L->next_su[n] = n;
    for (size_t i = n; i-- > 0;) {
        part_kind k = (part_kind)p->kind[i];
        size_t own;
        if (k == PART_SYSTEM) own = fold_len(p, i, L->next_su[i + 1]);
        else {
            bool open = k == PART_MODEL && i == n - 1;
            own = 1 + (k == PART_MODEL ? p->model_nl.n : p->user_nl.n) + p->content[i].n + (open ? 0 : 1 + p->nl.n);
        }
        L->tail[i] = L->tail[i + 1] + own;
        L->next_su[i] = k == PART_MODEL ? L->next_su[i + 1] : i;
    }
    bool last_open = n && p->kind[n - 1] == PART_MODEL;
    L->fixed = (p->has_bos ? 1 : 0) + (last_open ? 0 : 1 + p->model_nl.n);
    return PP_OK;
}

static size_t lengths_at(const fit_lengths *L, const chat_parts *p, size_t first, size_t last_sys) {
    size_t head = last_sys == SIZE_MAX ? 0 : fold_len(p, last_sys, L->next_su[first]);
    return L->fixed + L->tail[first] + head;
}

pp_status engine_chat_fit(const tok_vocab *v, const engine_msg *msgs, size_t n, uint32_t n_ctx,
                          const atomic_bool *cancel, engine_fit *out, pp_err *err) {
    memset(out, 0, sizeof *out);
    /* reserve room to answer: a quarter of the context, at most 1024 tokens */
    uint32_t reserve = n_ctx / 4 < 1024 ? n_ctx / 4 : 1024;
    chat_parts p;
    fit_lengths L = {0};
    idbuf b = {0};
    pp_status st = parts_init(&p, v, msgs, n, err);
    if (st == PP_OK) st = lengths_init(&L, &p, err);
    /* system messages are kept; the oldest user/assistant messages are dropped until the
     * prompt fits (the last message is never dropped) */
    size_t first = 0, last_sys = SIZE_MAX, total = 0;
    while (st == PP_OK) {
        if (cancel && atomic_load(cancel)) {
            st = pp_err_set(err, PP_ERR_CANCELLED, "cancelled");
            break;
        }
        total = lengths_at(&L, &p, first, last_sys);
        if (total + reserve <= n_ctx || first + 1 >= n) break;
        /* drop one whole exchange: the next user message and the replies up to the next one */
        size_t next = first + 1;
        while (next < n - 1 && p.kind[next] != PART_USER) next++;
        for (size_t i = first; i < next; i++)
            if (p.kind[i] == PART_SYSTEM) last_sys = i;
        out->dropped += (uint32_t)(next - first);
        first = next;
    }
    if (st == PP_OK) st = parts_emit(&p, first, true, &b, err);
    PP_ASSERT(st != PP_OK || b.n == total);
    out->n_encode = p.n_encode;
    free(L.tail);
    free(L.next_su);
    parts_free(&p);
    if (st) {
        free(b.v);
        out->dropped = 0;
        return st;
    }
    out->ids = b.v;
    out->n_ids = b.n;
    out->first = first;
    return PP_OK;
}
