/* api_openai.c - OpenAI-compatible POST /v1/chat/completions and /v1/completions
 * (ollama-compat.md §3.8): request mapping (max_tokens -> num_predict, temperature/top_p
 * default 1.0 as Ollama sends them, stop string or array, penalties, seed), responses,
 * SSE chunks with the usage chunk for stream_options.include_usage, and OpenAI-style
 * errors: the request mapping and the OpenAI wire format. Chunk ids are "chatcmpl-N"/
 * "cmpl-N" from a server counter. */
#include "api_handlers.h"
#include "api_json.h"
#include "api_respond.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *oai_usage(const api_job *j) {
    json_t *u = json_object();
    json_object_set_new(u, "prompt_tokens", json_integer(j->prompt_tokens));
    json_object_set_new(u, "completion_tokens", json_integer(j->res.stats.eval_count));
    json_object_set_new(u, "total_tokens", json_integer((json_int_t)j->prompt_tokens + j->res.stats.eval_count));
    return u;
}

json_t *api_oai_error(const char *msg, unsigned status) {
    json_t *e = json_object();
    json_object_set_new(e, "message", json_string(msg));
    json_object_set_new(e, "type", json_string(status == 404 ? "not_found_error"
                                               : status < 500 ? "invalid_request_error" : "api_error"));
    json_object_set_new(e, "param", json_null());
    json_object_set_new(e, "code", json_null());
    json_t *o = json_object();
    json_object_set_new(o, "error", e);
    return o;
}

static json_t *envelope(const char *id, const char *object, int64_t created, const char *model_name) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "object", json_string(object));
    json_object_set_new(o, "created", json_integer(created));
    json_object_set_new(o, "model", json_string(model_name));
    json_object_set_new(o, "system_fingerprint", json_string("fp_ollama"));
    return o;
}

/* A streamed chunk; text NULL: an envelope without choices (the caller adds them). */
static json_t *oai_chunk(const api_reply *s, const char *text, size_t n, const char *finish, bool chat) {
    json_t *o = envelope(s->id, chat ? "chat.completion.chunk" : "text_completion", s->created, s->model);
    if (!text) return o;
    json_t *c = json_object();
    json_object_set_new(c, "index", json_integer(0));
    if (chat) {
        json_t *d = json_object();
        json_object_set_new(d, "role", json_string("assistant"));
        json_object_set_new(d, "content", json_stringn_nocheck(text, n));
        json_object_set_new(c, "delta", d);
    } else {
        json_object_set_new(c, "text", json_stringn_nocheck(text, n));
    }
    json_object_set_new(c, "finish_reason", finish ? json_string(finish) : json_null());
    json_t *arr = json_array();
    json_array_append_new(arr, c);
    json_object_set_new(o, "choices", arr);
    return o;
}

/* The non-streamed reply: its id is taken when the reply is complete. */
static json_t *oai_whole(const api_reply *s, const char *text, size_t n) {
    bool chat = s->fmt->chat;
    const api_job *j = s->job;
    char id[48];
    snprintf(id, sizeof id, "%s-%llu", chat ? "chatcmpl" : "cmpl",
             (unsigned long long)atomic_fetch_add(&s->srv->next_id, 1));
    json_t *o = envelope(id, chat ? "chat.completion" : "text_completion", api_now_unix_ns() / 1000000000LL, s->model);
    json_t *c = json_object();
    json_object_set_new(c, "index", json_integer(0));
    if (chat) {
        json_t *m = json_object();
        json_object_set_new(m, "role", json_string("assistant"));
        json_object_set_new(m, "content", json_stringn_nocheck(text ? text : "", text ? n : 0));
        json_object_set_new(c, "message", m);
    } else {
        json_object_set_new(c, "text", json_stringn_nocheck(text ? text : "", text ? n : 0));
        json_object_set_new(c, "logprobs", json_null());
    }
    json_object_set_new(c, "finish_reason", json_string(api_done_reason(j)));
    json_t *arr = json_array();
    json_array_append_new(arr, c);
    json_object_set_new(o, "choices", arr);
    json_object_set_new(o, "usage", oai_usage(j));
    return o;
}

/* ---- the OpenAI wire format: server-sent events ending in "data: [DONE]" ---- */

static bool oai_text(const api_reply *s, http_buf *out, const char *text, size_t n) {
    return api_out_json(out, oai_chunk(s, text, n, NULL, s->fmt->chat), true);
}

static bool oai_end(const api_reply *s, http_buf *out) {
    const api_job *j = s->job;
    bool chat = s->fmt->chat;
    if (j->status != PP_OK) {
        bool ok = api_out_json(out, api_oai_error(j->err.msg, http_status_of(j->status)), true);
        return ok && http_buf_append(out, "data: [DONE]\n\n", 14);
    }
    bool ok = api_out_json(out, oai_chunk(s, "", 0, api_done_reason(j), chat), true);
    if (ok && s->include_usage) {
        json_t *u = oai_chunk(s, NULL, 0, NULL, chat);
        json_object_set_new(u, "choices", json_array());
        json_object_set_new(u, "usage", oai_usage(j));
        ok = api_out_json(out, u, true);
    }
    return ok && http_buf_append(out, "data: [DONE]\n\n", 14);
}

static const api_format OAI_CHAT_FORMAT = {.ctype = "text/event-stream", .sse = true, .chat = true,
                                           .id_prefix = "chatcmpl", .chunk = oai_text, .end = oai_end,
                                           .whole = oai_whole};
static const api_format OAI_COMPLETION_FORMAT = {.ctype = "text/event-stream", .sse = true, .id_prefix = "cmpl",
                                                 .chunk = oai_text, .end = oai_end, .whole = oai_whole};

/* Maps the OpenAI sampling fields onto an Ollama options object. */
static pp_status oai_options(const json_t *req, json_t *opts, pp_err *err) {
    static const char *const NUM[] = {"temperature", "top_p", "frequency_penalty", "presence_penalty"};
    for (size_t i = 0; i < sizeof NUM / sizeof NUM[0]; i++) {
        json_t *v = json_object_get(req, NUM[i]);
        if (v && !json_is_null(v) && !json_is_number(v))
            return pp_err_set(err, PP_ERR_ARG, "field '%s': expected number, got %s", NUM[i], http_json_type(v));
    }
    json_t *t = json_object_get(req, "temperature"), *p = json_object_get(req, "top_p");
    /* Ollama's quirk: absent temperature/top_p are sent as 1.0 */
    json_object_set_new(opts, "temperature", json_real(t && json_is_number(t) ? json_number_value(t) : 1.0));
    json_object_set_new(opts, "top_p", json_real(p && json_is_number(p) ? json_number_value(p) : 1.0));
    for (size_t i = 2; i < sizeof NUM / sizeof NUM[0]; i++) {
        json_t *v = json_object_get(req, NUM[i]);
        if (v && json_is_number(v)) json_object_set(opts, NUM[i], v);
    }
    json_t *mt = json_object_get(req, "max_completion_tokens");
    if (!mt || json_is_null(mt)) mt = json_object_get(req, "max_tokens");
    if (mt && !json_is_null(mt)) {
        if (!json_is_integer(mt))
            return pp_err_set(err, PP_ERR_ARG, "field 'max_tokens': expected integer, got %s", http_json_type(mt));
        json_object_set(opts, "num_predict", mt);
    }
    json_t *seed = json_object_get(req, "seed");
    if (seed && !json_is_null(seed)) {
        if (!json_is_integer(seed))
            return pp_err_set(err, PP_ERR_ARG, "field 'seed': expected integer, got %s", http_json_type(seed));
        json_object_set(opts, "seed", seed);
    }
    json_t *stop = json_object_get(req, "stop");
    if (stop && !json_is_null(stop)) {
        json_t *arr = json_array();
        if (json_is_string(stop)) json_array_append(arr, stop);
        else if (json_is_array(stop)) {
            size_t i;
            json_t *v;
            json_array_foreach(stop, i, v) {
                if (!json_is_string(v)) {
                    json_decref(arr);
                    return pp_err_set(err, PP_ERR_ARG, "field 'stop[%zu]': expected string, got %s", i, http_json_type(v));
                }
                json_array_append(arr, v);
            }
        } else {
            json_decref(arr);
            return pp_err_set(err, PP_ERR_ARG, "field 'stop': expected string or array, got %s", http_json_type(stop));
        }
        json_object_set_new(opts, "stop", arr);
    }
    json_t *n = json_object_get(req, "n");
    if (n && !json_is_null(n) && !(json_is_integer(n) && json_integer_value(n) == 1))
        return pp_err_set(err, PP_ERR_ARG, "field 'n': only 1 choice is supported");
    return PP_OK;
}

pp_status api_oai_parse(const json_t *req, bool chat, api_oai_req *o, api_job *j, json_t *opts, pp_err *err) {
    memset(o, 0, sizeof *o);
    if (api_field_string(req, "model", &o->name, err) || api_field_bool(req, "stream", &o->stream, err))
        return PP_ERR_ARG;
    json_t *so = json_object_get(req, "stream_options");
    if (so && !json_is_null(so)) {
        if (!json_is_object(so))
            return pp_err_set(err, PP_ERR_ARG, "field 'stream_options': expected object, got %s", http_json_type(so));
        json_t *iu = json_object_get(so, "include_usage");
        if (iu && !json_is_boolean(iu) && !json_is_null(iu))
            return pp_err_set(err, PP_ERR_ARG, "field 'stream_options.include_usage': expected boolean, got %s",
                              http_json_type(iu));
        o->include_usage = json_is_true(iu);
    }
    if (!o->name || !*o->name) return pp_err_set(err, PP_ERR_ARG, "model is required");
    if (chat && json_object_get(req, "tools") && json_array_size(json_object_get(req, "tools")) > 0) {
        o->refused = "tools";
        return PP_ERR_UNSUPPORTED;
    }
    if (chat) {
        json_t *msgs = json_object_get(req, "messages");
        if (!msgs || !json_is_array(msgs) || json_array_size(msgs) == 0)
            return pp_err_set(err, PP_ERR_ARG, "field 'messages': expected a non-empty array");
        if (api_parse_messages(msgs, j, err)) return PP_ERR_ARG;
    } else {
        const char *prompt = NULL;
        if (api_field_string(req, "prompt", &prompt, err)) return PP_ERR_ARG;
        j->prompt = strdup(prompt ? prompt : "");
        if (!j->prompt) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
        const char *suffix = NULL;
        if (api_field_string(req, "suffix", &suffix, err) == PP_OK && suffix && *suffix) {
            o->refused = "insert";
            return PP_ERR_UNSUPPORTED;
        }
    }
    if (oai_options(req, opts, err)) return PP_ERR_ARG;
    return PP_OK;
}

static enum MHD_Result handle(http_req *r, json_t *req, bool chat) {
    pp_err err = {0};
    api_job *j = api_job_new(chat ? API_JOB_CHAT : API_JOB_GENERATE);
    if (!j) return MHD_NO;
    json_t *opts = json_object();
    api_model m;
    memset(&m, 0, sizeof m);
    enum MHD_Result ret;
    api_oai_req o;
    pp_status st = api_oai_parse(req, chat, &o, j, opts, &err);
    if (st == PP_ERR_NOMEM) {
        ret = MHD_NO;
        goto fail;
    }
    if (st == PP_ERR_UNSUPPORTED) {
        ret = http_send_error(r, 400, "registry.ollama.ai/library/%s does not support %s", o.name, o.refused);
        goto fail;
    }
    if (st) {
        ret = http_send_error(r, 400, "%s", err.msg);
        goto fail;
    }
    const char *name = o.name;
    bool stream = o.stream, include_usage = o.include_usage;
    if ((st = api_model_resolve(api_srv(r), name, &m, &err))) {
        ret = http_send_error(r, http_status_of(st), "%s", err.msg);
        goto fail;
    }
    if (api_job_options(api_srv(r), &m, opts, &j->opt, &err)) {
        ret = http_send_error(r, 400, "%s", err.msg);
        goto fail;
    }
    json_decref(opts);
    ret = api_respond(r, &m, j, stream, chat ? &OAI_CHAT_FORMAT : &OAI_COMPLETION_FORMAT, include_usage);
    api_model_clear(&m);
    return ret;
fail:
    json_decref(opts);
    api_job_unref(api_srv(r), j);
    api_model_clear(&m);
    return ret;
}

enum MHD_Result api_handle_oai_chat(http_req *r, json_t *req) { return handle(r, req, true); }
enum MHD_Result api_handle_oai_completion(http_req *r, json_t *req) { return handle(r, req, false); }
