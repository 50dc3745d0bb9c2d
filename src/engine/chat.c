/* chat.c - the Gemma 3 chat format rendered straight to token ids (gemma3.md §7.2):
 *   <bos><start_of_turn>user\n{system}\n\n{user}<end_of_turn>\n<start_of_turn>model\n...
 * Template tokens are inserted as ids (looked up by text in the vocab, never hard-coded);
 * message text is tokenized WITHOUT special-token parsing, so a user who types
 * "<end_of_turn>" gets text, not a turn boundary. Contents are trimmed like Google's
 * template; "assistant" is written "model"; consecutive same-role messages are allowed. */
#include "engine_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct idbuf {
    int32_t *v;
    size_t n, cap;
} idbuf;

static pp_status push(idbuf *b, const int32_t *ids, size_t n, pp_err *err) {
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

static pp_status push_text(idbuf *b, const tok_vocab *v, const char *s, size_t len, pp_err *err) {
    if (len == 0) return PP_OK;
    int32_t *ids = NULL;
    size_t n = 0;
    pp_status st = tok_encode_alloc(v, s, len, false, false, &ids, &n, err);
    if (st == PP_OK) st = push(b, ids, n, err);
    free(ids);
    return st;
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

pp_status engine_render_chat(const tok_vocab *v, const engine_msg *msgs, size_t n, bool add_generation_prompt,
                             int32_t **out, size_t *n_out, pp_err *err) {
    int32_t sot, eot;
    pp_status st = engine_special_ids(v, &sot, &eot, err);
    if (st) return st;
    idbuf b = {0};
    int32_t bos = tok_bos(v);
    if (tok_add_bos(v) && bos >= 0 && (st = push(&b, &bos, 1, err))) goto fail;
    /* system messages are collected and folded into the next user turn */
    const char *sys = NULL;
    size_t sys_len = 0;
    bool last_open = false;
    for (size_t i = 0; i < n; i++) {
        const char *role = msgs[i].role ? msgs[i].role : "user";
        const char *c = msgs[i].content ? msgs[i].content : "";
        size_t len = strlen(c);
        if (!strcmp(role, "system")) {
            trim(&c, &len);
            sys = c;
            sys_len = len;
            continue;
        }
        bool model_turn = !strcmp(role, "assistant") || !strcmp(role, "model");
        if (!model_turn && strcmp(role, "user") != 0) {
            st = pp_err_set(err, PP_ERR_ARG, "message %zu: role '%s' is not one of system, user, assistant", i, role);
            goto fail;
        }
        if ((st = push(&b, &sot, 1, err))) goto fail;
        if ((st = push_text(&b, v, model_turn ? "model\n" : "user\n", model_turn ? 6 : 5, err))) goto fail;
        if (sys && !model_turn) {
            if ((st = push_text(&b, v, sys, sys_len, err))) goto fail;
            if ((st = push_text(&b, v, "\n\n", 2, err))) goto fail;
            sys = NULL;
        }
        if (msgs[i].ids && msgs[i].n_ids) {
            if ((st = push(&b, msgs[i].ids, msgs[i].n_ids, err))) goto fail;
        } else {
            trim(&c, &len);
            if ((st = push_text(&b, v, c, len, err))) goto fail;
        }
        if (model_turn && i == n - 1) { /* the reply continues: leave the turn open */
            last_open = true;
            break;
        }
        if ((st = push(&b, &eot, 1, err))) goto fail;
        if ((st = push_text(&b, v, "\n", 1, err))) goto fail;
    }
    if (sys) { /* a system prompt with no user turn after it */
        if ((st = push(&b, &sot, 1, err))) goto fail;
        if ((st = push_text(&b, v, "user\n", 5, err))) goto fail;
        if ((st = push_text(&b, v, sys, sys_len, err))) goto fail;
        if ((st = push(&b, &eot, 1, err))) goto fail;
        if ((st = push_text(&b, v, "\n", 1, err))) goto fail;
    }
    if (add_generation_prompt && !last_open) {
        if ((st = push(&b, &sot, 1, err))) goto fail;
        if ((st = push_text(&b, v, "model\n", 6, err))) goto fail;
    }
    *out = b.v;
    *n_out = b.n;
    return PP_OK;
fail:
    free(b.v);
    return st;
}
