/* api_gen.c - the native Ollama family: POST /api/generate, POST /api/chat, GET /api/ps,
 * and their wire format, NDJSON chunks and the final object with the timing fields
 * (ollama-compat.md §3.3-3.5, §3.10).
 * Request validation happens here, in the connection thread; the worker only sees jobs
 * that are well-formed. Unsupported features are refused with Ollama's messages
 * (think, tools, images, suffix); `format` is accepted and ignored with a warning (no
 * constrained sampling yet); a custom `template` is ignored with a warning, as the store
 * does: Gemma 3 is always rendered natively. */
#include "api_handlers.h"
#include "api_json.h"
#include "api_respond.h"

#include <stdlib.h>
#include <string.h>

static json_t *base_obj(const char *model_name) {
    json_t *o = json_object();
    char ts[64];
    api_time_rfc3339(api_now_unix_ns(), ts, sizeof ts);
    json_object_set_new(o, "model", json_string(model_name));
    json_object_set_new(o, "created_at", json_string(ts));
    return o;
}

static json_t *ids_array(const int32_t *ids, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, json_integer(ids[i]));
    return a;
}

static json_t *chat_message(const char *text, size_t n) {
    json_t *m = json_object();
    json_object_set_new(m, "role", json_string("assistant"));
    json_object_set_new(m, "content", json_stringn_nocheck(text ? text : "", text ? n : 0));
    return m;
}

/* Ollama omits zero timing fields (§3.10). */
static void add_nonzero(json_t *obj, const char *key, uint64_t v) {
    if (v) json_object_set_new(obj, key, json_integer((json_int_t)v));
}

/* Final-chunk fields: done_reason and the timing. */
static void add_stats(json_t *obj, const api_job *j) {
    json_object_set_new(obj, "done_reason", json_string(api_done_reason(j)));
    const engine_stats *st = &j->res.stats;
    add_nonzero(obj, "total_duration", st->total_duration);
    add_nonzero(obj, "load_duration", st->load_duration);
    add_nonzero(obj, "prompt_eval_count", j->prompt_tokens);
    add_nonzero(obj, "prompt_eval_duration", st->prompt_eval_duration);
    add_nonzero(obj, "eval_count", st->eval_count);
    add_nonzero(obj, "eval_duration", st->eval_duration);
}

/* The final object of a native response (stream or not). */
static json_t *native_final(const char *model_name, api_job *j, const char *text, size_t n, bool chat) {
    json_t *o = base_obj(model_name);
    if (chat) json_object_set_new(o, "message", chat_message(text, n));
    else json_object_set_new(o, "response", json_stringn_nocheck(text ? text : "", text ? n : 0));
    json_object_set_new(o, "done", json_true());
    add_stats(o, j);
    if (!chat && j->ctx_out) json_object_set_new(o, "context", ids_array(j->ctx_out, j->n_ctx_out));
    return o;
}

/* ---- the native wire format: NDJSON lines ---- */

static bool native_chunk(const api_reply *s, http_buf *out, const char *text, size_t n) {
    json_t *o = base_obj(s->model);
    if (s->fmt->chat) json_object_set_new(o, "message", chat_message(text, n));
    else json_object_set_new(o, "response", json_stringn_nocheck(text, n));
    json_object_set_new(o, "done", json_false());
    return api_out_json(out, o, false);
}

static bool native_end(const api_reply *s, http_buf *out) {
    const api_job *j = s->job;
    if (j->status != PP_OK) {
        json_t *o = json_object();
        json_object_set_new(o, "error", json_string(j->err.msg));
        return api_out_json(out, o, false);
    }
    return api_out_json(out, native_final(s->model, s->job, "", 0, s->fmt->chat), false);
}

static json_t *native_whole(const api_reply *s, const char *text, size_t n) {
    return native_final(s->model, s->job, text, n, s->fmt->chat);
}

/* Native streams take a "cmpl-N" id they never show: the counter the OpenAI ids come from
 * advances per stream, as it always has. */
static const api_format GENERATE_FORMAT = {.ctype = "application/x-ndjson", .id_prefix = "cmpl",
                                           .chunk = native_chunk, .end = native_end, .whole = native_whole};
static const api_format CHAT_FORMAT = {.ctype = "application/x-ndjson", .chat = true, .id_prefix = "cmpl",
                                       .chunk = native_chunk, .end = native_end, .whole = native_whole};

pp_status api_common_parse(const json_t *req, api_common_req *c, api_job *j, pp_err *err) {
    const char *n2 = NULL;
    c->name = NULL;
    c->think = false;
    if (api_field_string(req, "model", &c->name, err) || api_field_string(req, "name", &n2, err) ||
        api_field_bool(req, "stream", &c->stream, err))
        return PP_ERR_ARG;
    if (!c->name || !*c->name) c->name = n2;
    if (!c->name || !*c->name) return pp_err_set(err, PP_ERR_ARG, "model is required");
    json_t *think = json_object_get(req, "think");
    if (think && (json_is_true(think) || json_is_string(think))) {
        c->think = true;
        return pp_err_set(err, PP_ERR_ARG, "\"%s\" does not support thinking", c->name);
    }
    json_t *tl = json_object_get(req, "top_logprobs");
    if (tl && !json_is_null(tl) && (!json_is_integer(tl) || json_integer_value(tl) < 0 || json_integer_value(tl) > 20))
        return pp_err_set(err, PP_ERR_ARG, "top_logprobs must be between 0 and 20");
    json_t *ka = json_object_get(req, "keep_alive");
    if (ka && !json_is_null(ka)) {
        if (api_keep_alive_parse(ka, &j->keep_alive_ns, err)) return PP_ERR_ARG;
        j->keep_alive_set = true;
    }
    return PP_OK;
}

/* Fields shared by generate and chat: model, options, keep_alive, think, format. Resolves
 * the model. On failure an error response was sent (*ret). */
static bool common_fields(http_req *r, json_t *req, api_model *m, api_job *j, bool *stream, enum MHD_Result *ret) {
    pp_err err = {0};
    api_common_req c = {.stream = *stream};
    if (api_common_parse(req, &c, j, &err)) {
        /* the name is formatted here: the reply's buffer is larger than err.msg */
        if (c.think) *ret = http_send_error(r, 400, "\"%s\" does not support thinking", c.name);
        else *ret = http_send_error(r, 400, "%s", err.msg);
        return false;
    }
    *stream = c.stream;
    const char *name = c.name;
    pp_status st = api_model_resolve(api_srv(r), name, m, &err);
    if (st) {
        *ret = http_send_error(r, http_status_of(st), "%s", err.msg);
        return false;
    }
    if (api_job_options(api_srv(r), m, json_object_get(req, "options"), &j->opt, &err)) {
        api_model_clear(m);
        *ret = http_send_error(r, 400, "%s", err.msg);
        return false;
    }
    json_t *fmt = json_object_get(req, "format");
    if (fmt && !json_is_null(fmt) && !(json_is_string(fmt) && !*json_string_value(fmt)))
        pp_log(PP_LOG_WARN, "%s: 'format' (structured output) is not supported yet and was ignored", m->name);
    return true;
}

/* Empty prompt / no messages: load (or unload with keep_alive 0). */
static enum MHD_Result load_or_unload(http_req *r, api_model *m, api_job *j, bool chat) {
    enum MHD_Result ret;
    if (j->keep_alive_set && j->keep_alive_ns == 0) {
        api_sched_unload(api_srv(r), m->name);
        json_t *o = base_obj(m->name);
        if (chat) json_object_set_new(o, "message", chat_message("", 0));
        else json_object_set_new(o, "response", json_string(""));
        json_object_set_new(o, "done", json_true());
        json_object_set_new(o, "done_reason", json_string("unload"));
        api_job_unref(api_srv(r), j);
        return http_send_json(r, 200, o);
    }
    j->kind = API_JOB_LOAD;
    if (!api_job_start(r, m, j, &ret)) {
        api_job_unref(api_srv(r), j);
        return ret;
    }
    char *text = NULL;
    size_t n = 0;
    if (!api_job_collect(r, j, &text, &n)) {
        api_job_unref(api_srv(r), j);
        return MHD_NO;
    }
    free(text);
    if (j->status) ret = http_send_error(r, http_status_of(j->status), "%s", j->err.msg);
    else {
        json_t *o = base_obj(m->name);
        if (chat) json_object_set_new(o, "message", chat_message("", 0));
        else json_object_set_new(o, "response", json_string(""));
        json_object_set_new(o, "done", json_true());
        json_object_set_new(o, "done_reason", json_string("load"));
        ret = http_send_json(r, 200, o);
    }
    api_job_unref(api_srv(r), j);
    return ret;
}

static bool nonempty_array(const json_t *v) { return v && json_is_array(v) && json_array_size(v) > 0; }

pp_status api_generate_parse(const json_t *req, api_generate_req *g, pp_err *err) {
    memset(g, 0, sizeof *g);
    if (api_field_string(req, "prompt", &g->prompt, err) || api_field_string(req, "system", &g->system, err) ||
        api_field_string(req, "template", &g->tmpl, err) || api_field_string(req, "suffix", &g->suffix, err) ||
        api_field_bool(req, "raw", &g->raw, err))
        return PP_ERR_ARG;
    json_t *ctx = json_object_get(req, "context");
    g->ctx = ctx;
    if (ctx && !json_is_null(ctx) && !json_is_array(ctx))
        return pp_err_set(err, PP_ERR_ARG, "field 'context': expected array, got %s", http_json_type(ctx));
    g->has_ctx = nonempty_array(ctx);
    if (g->raw && ((g->tmpl && *g->tmpl) || (g->system && *g->system) || g->has_ctx))
        return pp_err_set(err, PP_ERR_ARG, "raw mode does not support template, system, or context");
    if (nonempty_array(json_object_get(req, "images")))
        return pp_err_set(err, PP_ERR_ARG, "this model does not support images (vision is not implemented yet)");
    return PP_OK;
}

pp_status api_context_parse(const json_t *ctx, api_job *j, pp_err *err) {
    size_t n = json_array_size(ctx);
    if (n > API_MAX_CONTEXT_IDS) return pp_err_set(err, PP_ERR_ARG, "field 'context': more than %u ids", API_MAX_CONTEXT_IDS);
    j->ctx_in = malloc(n * sizeof *j->ctx_in);
    if (!j->ctx_in) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(ctx, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
            return pp_err_set(err, PP_ERR_ARG, "field 'context[%zu]': expected token id, got %s", i, http_json_type(v));
        j->ctx_in[i] = (int32_t)json_integer_value(v);
    }
    j->n_ctx_in = n;
    return PP_OK;
}

enum MHD_Result api_handle_generate(http_req *r, json_t *req) {
    pp_err err = {0};
    api_generate_req g;
    bool stream = true;
    if (api_generate_parse(req, &g, &err)) return http_send_error(r, 400, "%s", err.msg);
    const char *prompt = g.prompt, *system = g.system, *tmpl = g.tmpl, *suffix = g.suffix;
    bool raw = g.raw, has_ctx = g.has_ctx;
    api_job *j = api_job_new(API_JOB_GENERATE);
    if (!j) return MHD_NO;
    api_model m;
    enum MHD_Result ret;
    if (!common_fields(r, req, &m, j, &stream, &ret)) {
        api_job_unref(api_srv(r), j);
        return ret;
    }
    if (suffix && *suffix) {
        ret = http_send_error(r, 400, "registry.ollama.ai/library/%s does not support insert", m.name);
        goto out;
    }
    if (tmpl && *tmpl) pp_log(PP_LOG_WARN, "%s: custom template ignored; Gemma 3 prompts are rendered natively", m.name);
    if (has_ctx) {
        pp_status st = api_context_parse(g.ctx, j, &err);
        if (st) {
            ret = st == PP_ERR_NOMEM ? MHD_NO : http_send_error(r, 400, "%s", err.msg);
            goto out;
        }
    }
    if ((!prompt || !*prompt) && !has_ctx) {
        ret = load_or_unload(r, &m, j, false);
        api_model_clear(&m);
        return ret;
    }
    j->raw = raw;
    j->prompt = strdup(prompt ? prompt : "");
    j->system = system ? strdup(system) : NULL;
    if (!j->prompt || (system && !j->system)) {
        ret = MHD_NO;
        goto out;
    }
    ret = api_respond(r, &m, j, stream, &GENERATE_FORMAT, false);
    api_model_clear(&m);
    return ret;
out:
    api_job_unref(api_srv(r), j);
    api_model_clear(&m);
    return ret;
}

enum MHD_Result api_handle_chat(http_req *r, json_t *req) {
    pp_err err = {0};
    bool stream = true;
    api_job *j = api_job_new(API_JOB_CHAT);
    if (!j) return MHD_NO;
    if (api_parse_messages(json_object_get(req, "messages"), j, &err)) {
        api_job_unref(api_srv(r), j);
        return http_send_error(r, 400, "%s", err.msg);
    }
    api_model m;
    enum MHD_Result ret;
    if (!common_fields(r, req, &m, j, &stream, &ret)) {
        api_job_unref(api_srv(r), j);
        return ret;
    }
    if (nonempty_array(json_object_get(req, "tools"))) {
        ret = http_send_error(r, 400, "registry.ollama.ai/library/%s does not support tools", m.name);
        api_job_unref(api_srv(r), j);
    } else if (j->n_msgs == 0) {
        ret = load_or_unload(r, &m, j, true);
    } else {
        ret = api_respond(r, &m, j, stream, &CHAT_FORMAT, false);
    }
    api_model_clear(&m);
    return ret;
}

enum MHD_Result api_handle_ps(http_req *r, json_t *req) {
    (void)req;
    json_t *o = json_object();
    json_object_set_new(o, "models", api_sched_ps(api_srv(r)));
    return http_send_json(r, 200, o);
}
