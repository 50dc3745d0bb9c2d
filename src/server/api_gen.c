/* api_gen.c - POST /api/generate, POST /api/chat, GET /api/ps, and the streamed chunk
 * formats of all four generation endpoints (ollama-compat.md §3.3-3.5, §3.8, §3.10).
 * Request validation happens here, in the connection thread; the worker only sees jobs
 * that are well-formed. Unsupported features are refused with Ollama's messages
 * (think, tools, images, suffix); `format` is accepted and ignored with a warning (no
 * constrained sampling yet); a custom `template` is ignored with a warning, as the store
 * does: Gemma 3 is always rendered natively. */
#include "server_internal.h"

#include <stdlib.h>
#include <string.h>

bool api_job_start(http_req *r, const api_model *m, api_job *j, enum MHD_Result *ret) {
    pp_err err = {0};
    pp_status st = api_job_submit(r->srv, m, j, &err);
    if (st) {
        *ret = http_send_error(r, http_status_of(st), "%s", err.msg);
        return false;
    }
    while (!api_job_wait_started(r->srv, j, HTTP_POLL_MS)) {
        if (http_conn_gone(r->conn)) {
            pp_log(PP_LOG_INFO, "%s %s: client went away while queued", r->method, r->url);
            api_job_cancel(r->srv, j);
            *ret = MHD_NO;
            return false;
        }
    }
    /* done before starting = failed (load error, bad prompt, shutdown) */
    pthread_mutex_lock(&r->srv->mu);
    bool failed = j->state == API_JOB_DONE && j->status != PP_OK;
    pp_err jerr = j->err;
    pp_status jst = j->status;
    pthread_mutex_unlock(&r->srv->mu);
    if (failed) {
        *ret = http_send_error(r, http_status_of(jst), "%s", jerr.msg);
        return false;
    }
    return true;
}

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

/* The final object of a native response (stream or not). */
static json_t *native_final(const char *model_name, api_job *j, const char *text, size_t n, bool chat) {
    json_t *o = base_obj(model_name);
    if (chat) json_object_set_new(o, "message", chat_message(text, n));
    else json_object_set_new(o, "response", json_stringn_nocheck(text ? text : "", text ? n : 0));
    json_object_set_new(o, "done", json_true());
    api_json_add_stats(o, j);
    if (!chat && j->ctx_out) json_object_set_new(o, "context", ids_array(j->ctx_out, j->n_ctx_out));
    return o;
}

static bool out_append(http_stream *s, const char *p, size_t n) {
    if (s->n_out + n > s->cap_out) {
        size_t nc = s->cap_out ? s->cap_out * 2 : 1024;
        while (nc < s->n_out + n) nc *= 2;
        char *no = realloc(s->out, nc);
        if (!no) return false;
        s->out = no;
        s->cap_out = nc;
    }
    memcpy(s->out + s->n_out, p, n);
    s->n_out += n;
    return true;
}

/* Appends obj as one NDJSON line or one SSE event (steals obj). */
static bool out_json(http_stream *s, json_t *obj, bool sse) {
    char *t = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!t) return false;
    bool ok = (!sse || out_append(s, "data: ", 6)) && out_append(s, t, strlen(t)) &&
              out_append(s, sse ? "\n\n" : "\n", sse ? 2 : 1);
    free(t);
    return ok;
}

bool api_stream_format(http_stream *s, const char *text, size_t n, bool final) {
    api_job *j = s->job;
    bool sse = s->kind == API_STREAM_OAI_CHAT || s->kind == API_STREAM_OAI_COMPLETION;
    if (s->kind == API_STREAM_RAW) { /* task status lines, already NDJSON */
        if (!final) return out_append(s, text, n);
        if (j->status == PP_OK) return true;
        json_t *o = json_object();
        json_object_set_new(o, "error", json_string(j->err.msg));
        return out_json(s, o, false);
    }
    if (!final) {
        if (s->kind == API_STREAM_GENERATE || s->kind == API_STREAM_CHAT) {
            json_t *o = base_obj(s->model);
            if (s->kind == API_STREAM_CHAT) json_object_set_new(o, "message", chat_message(text, n));
            else json_object_set_new(o, "response", json_stringn_nocheck(text, n));
            json_object_set_new(o, "done", json_false());
            return out_json(s, o, false);
        }
        return out_json(s, api_oai_chunk(s, text, n, NULL, s->kind == API_STREAM_OAI_CHAT), true);
    }
    /* the end: j is done, its fields are stable */
    if (j->status != PP_OK) {
        if (sse) {
            bool ok = out_json(s, api_oai_error(j->err.msg, http_status_of(j->status)), true);
            return ok && out_append(s, "data: [DONE]\n\n", 14);
        }
        json_t *o = json_object();
        json_object_set_new(o, "error", json_string(j->err.msg));
        return out_json(s, o, false);
    }
    if (!sse) return out_json(s, native_final(s->model, j, "", 0, s->kind == API_STREAM_CHAT), false);
    bool ok = out_json(s, api_oai_chunk(s, "", 0, api_done_reason(j), s->kind == API_STREAM_OAI_CHAT), true);
    if (ok && s->include_usage) {
        json_t *u = api_oai_chunk(s, NULL, 0, NULL, s->kind == API_STREAM_OAI_CHAT);
        json_object_set_new(u, "choices", json_array());
        json_object_set_new(u, "usage", api_oai_usage(j));
        ok = out_json(s, u, true);
    }
    return ok && out_append(s, "data: [DONE]\n\n", 14);
}

/* Runs j and answers: a stream, or one object built by build(text) when !stream. */
enum MHD_Result api_respond(http_req *r, const api_model *m, api_job *j, bool stream, int kind,
                            json_t *(*build)(http_req *, const char *, api_job *, const char *, size_t),
                            bool include_usage) {
    enum MHD_Result ret;
    if (!api_job_start(r, m, j, &ret)) {
        api_job_unref(r->srv, j);
        return ret;
    }
    if (stream) {
        http_stream *s = calloc(1, sizeof *s);
        if (!s) {
            api_job_cancel(r->srv, j);
            api_job_unref(r->srv, j);
            return MHD_NO;
        }
        s->srv = r->srv;
        s->conn = r->conn;
        s->job = j;
        s->kind = kind;
        s->include_usage = include_usage;
        s->created = api_now_unix_ns() / 1000000000LL;
        snprintf(s->model, sizeof s->model, "%s", m->name);
        snprintf(s->id, sizeof s->id, "%s-%llu", kind == API_STREAM_OAI_CHAT ? "chatcmpl" : "cmpl",
                 (unsigned long long)atomic_fetch_add(&r->srv->next_id, 1));
        return http_send_stream(r, s);
    }
    char *text = NULL;
    size_t n = 0;
    if (!http_wait_job(r, j, &text, &n)) {
        api_job_unref(r->srv, j);
        return MHD_NO;
    }
    if (j->status != PP_OK) ret = http_send_error(r, http_status_of(j->status), "%s", j->err.msg);
    else ret = http_send_json(r, 200, build(r, m->name, j, text, n));
    free(text);
    api_job_unref(r->srv, j);
    return ret;
}

static json_t *build_generate(http_req *r, const char *model_name, api_job *j, const char *text, size_t n) {
    (void)r;
    return native_final(model_name, j, text, n, false);
}

static json_t *build_chat(http_req *r, const char *model_name, api_job *j, const char *text, size_t n) {
    (void)r;
    return native_final(model_name, j, text, n, true);
}

/* Fields shared by generate and chat: model, options, keep_alive, think, format. Resolves
 * the model. On failure an error response was sent (*ret). */
static bool common_fields(http_req *r, json_t *req, api_model *m, api_job *j, bool *stream, enum MHD_Result *ret) {
    pp_err err = {0};
    const char *name = NULL, *n2 = NULL;
    if (api_field_string(req, "model", &name, &err) || api_field_string(req, "name", &n2, &err) ||
        api_field_bool(req, "stream", stream, &err)) {
        *ret = http_send_error(r, 400, "%s", err.msg);
        return false;
    }
    if (!name || !*name) name = n2;
    if (!name || !*name) {
        *ret = http_send_error(r, 400, "model is required");
        return false;
    }
    json_t *think = json_object_get(req, "think");
    if (think && (json_is_true(think) || json_is_string(think))) {
        *ret = http_send_error(r, 400, "\"%s\" does not support thinking", name);
        return false;
    }
    json_t *tl = json_object_get(req, "top_logprobs");
    if (tl && !json_is_null(tl) && (!json_is_integer(tl) || json_integer_value(tl) < 0 || json_integer_value(tl) > 20)) {
        *ret = http_send_error(r, 400, "top_logprobs must be between 0 and 20");
        return false;
    }
    json_t *ka = json_object_get(req, "keep_alive");
    if (ka && !json_is_null(ka)) {
        if (api_keep_alive_parse(ka, &j->keep_alive_ns, &err)) {
            *ret = http_send_error(r, 400, "%s", err.msg);
            return false;
        }
        j->keep_alive_set = true;
    }
    pp_status st = api_model_resolve(r->srv, name, m, &err);
    if (st) {
        *ret = http_send_error(r, http_status_of(st), "%s", err.msg);
        return false;
    }
    if (api_job_options(r->srv, m, json_object_get(req, "options"), &j->opt, &err)) {
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
        api_sched_unload(r->srv, m->name);
        json_t *o = base_obj(m->name);
        if (chat) json_object_set_new(o, "message", chat_message("", 0));
        else json_object_set_new(o, "response", json_string(""));
        json_object_set_new(o, "done", json_true());
        json_object_set_new(o, "done_reason", json_string("unload"));
        api_job_unref(r->srv, j);
        return http_send_json(r, 200, o);
    }
    j->kind = API_JOB_LOAD;
    if (!api_job_start(r, m, j, &ret)) {
        api_job_unref(r->srv, j);
        return ret;
    }
    char *text = NULL;
    size_t n = 0;
    if (!http_wait_job(r, j, &text, &n)) {
        api_job_unref(r->srv, j);
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
    api_job_unref(r->srv, j);
    return ret;
}

static bool nonempty_array(json_t *v) { return v && json_is_array(v) && json_array_size(v) > 0; }

enum MHD_Result api_handle_generate(http_req *r, json_t *req) {
    pp_err err = {0};
    const char *prompt = NULL, *system = NULL, *tmpl = NULL, *suffix = NULL;
    bool raw = false, stream = true;
    if (api_field_string(req, "prompt", &prompt, &err) || api_field_string(req, "system", &system, &err) ||
        api_field_string(req, "template", &tmpl, &err) || api_field_string(req, "suffix", &suffix, &err) ||
        api_field_bool(req, "raw", &raw, &err))
        return http_send_error(r, 400, "%s", err.msg);
    json_t *ctx = json_object_get(req, "context");
    if (ctx && !json_is_null(ctx) && !json_is_array(ctx))
        return http_send_error(r, 400, "field 'context': expected array, got %s", api_json_type(ctx));
    bool has_ctx = nonempty_array(ctx);
    if (raw && ((tmpl && *tmpl) || (system && *system) || has_ctx))
        return http_send_error(r, 400, "raw mode does not support template, system, or context");
    if (nonempty_array(json_object_get(req, "images")))
        return http_send_error(r, 400, "this model does not support images (vision is not implemented yet)");
    api_job *j = api_job_new(API_JOB_GENERATE);
    if (!j) return MHD_NO;
    api_model m;
    enum MHD_Result ret;
    if (!common_fields(r, req, &m, j, &stream, &ret)) {
        api_job_unref(r->srv, j);
        return ret;
    }
    if (suffix && *suffix) {
        ret = http_send_error(r, 400, "registry.ollama.ai/library/%s does not support insert", m.name);
        goto out;
    }
    if (tmpl && *tmpl) pp_log(PP_LOG_WARN, "%s: custom template ignored; Gemma 3 prompts are rendered natively", m.name);
    if (has_ctx) {
        size_t n = json_array_size(ctx);
        if (n > API_MAX_CONTEXT_IDS) {
            ret = http_send_error(r, 400, "field 'context': more than %u ids", API_MAX_CONTEXT_IDS);
            goto out;
        }
        j->ctx_in = malloc(n * sizeof *j->ctx_in);
        if (!j->ctx_in) {
            ret = MHD_NO;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_array_get(ctx, i);
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX) {
                ret = http_send_error(r, 400, "field 'context[%zu]': expected token id, got %s", i, api_json_type(v));
                goto out;
            }
            j->ctx_in[i] = (int32_t)json_integer_value(v);
        }
        j->n_ctx_in = n;
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
    ret = api_respond(r, &m, j, stream, API_STREAM_GENERATE, build_generate, false);
    api_model_clear(&m);
    return ret;
out:
    api_job_unref(r->srv, j);
    api_model_clear(&m);
    return ret;
}

/* Copies messages[] into j. OpenAI content parts (array of {type:"text"}) are joined. */
pp_status api_parse_messages(const json_t *msgs, api_job *j, pp_err *err) {
    if (!msgs || json_is_null(msgs)) return PP_OK;
    if (!json_is_array(msgs)) return pp_err_set(err, PP_ERR_ARG, "field 'messages': expected array, got %s", api_json_type(msgs));
    size_t n = json_array_size(msgs);
    if (n > API_MAX_MESSAGES) return pp_err_set(err, PP_ERR_ARG, "field 'messages': more than %u messages", API_MAX_MESSAGES);
    j->msgs = calloc(n ? n : 1, sizeof *j->msgs);
    if (!j->msgs) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(msgs, i);
        if (!json_is_object(m))
            return pp_err_set(err, PP_ERR_ARG, "field 'messages[%zu]': expected object, got %s", i, api_json_type(m));
        json_t *role = json_object_get(m, "role"), *content = json_object_get(m, "content");
        if (!json_is_string(role))
            return pp_err_set(err, PP_ERR_ARG, "field 'messages[%zu].role': expected string, got %s", i,
                              role ? api_json_type(role) : "nothing");
        char rl[32];
        snprintf(rl, sizeof rl, "%s", json_string_value(role));
        for (char *p = rl; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        if (!strcmp(rl, "developer")) snprintf(rl, sizeof rl, "system");
        if (strcmp(rl, "system") && strcmp(rl, "user") && strcmp(rl, "assistant"))
            return pp_err_set(err, PP_ERR_ARG, "field 'messages[%zu].role': '%s' is not supported (system, user, assistant)",
                              i, json_string_value(role));
        if (nonempty_array(json_object_get(m, "images")))
            return pp_err_set(err, PP_ERR_ARG, "field 'messages[%zu].images': this model does not support images", i);
        char *text = NULL;
        if (!content || json_is_null(content)) text = strdup("");
        else if (json_is_string(content)) text = strdup(json_string_value(content));
        else if (json_is_array(content)) {
            size_t total = 0, k;
            json_t *part;
            json_array_foreach(content, k, part) {
                json_t *ty = json_object_get(part, "type"), *tx = json_object_get(part, "text");
                if (!json_is_object(part) || !json_is_string(ty))
                    return pp_err_set(err, PP_ERR_ARG, "field 'messages[%zu].content[%zu]': expected a content part", i, k);
                if (strcmp(json_string_value(ty), "text") != 0)
                    return pp_err_set(err, PP_ERR_ARG, "field 'messages[%zu].content[%zu]': type '%s' is not supported", i,
                                      k, json_string_value(ty));
                if (!json_is_string(tx))
                    return pp_err_set(err, PP_ERR_ARG, "field 'messages[%zu].content[%zu].text': expected string", i, k);
                total += json_string_length(tx);
            }
            text = malloc(total + 1);
            if (text) {
                size_t off = 0;
                json_array_foreach(content, k, part) {
                    json_t *tx = json_object_get(part, "text");
                    memcpy(text + off, json_string_value(tx), json_string_length(tx));
                    off += json_string_length(tx);
                }
                text[off] = 0;
            }
        } else
            return pp_err_set(err, PP_ERR_ARG, "field 'messages[%zu].content': expected string, got %s", i,
                              api_json_type(content));
        j->msgs[i].role = strdup(rl);
        j->msgs[i].content = text;
        j->n_msgs = i + 1;
        if (!text || !j->msgs[i].role) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    }
    return PP_OK;
}

enum MHD_Result api_handle_chat(http_req *r, json_t *req) {
    pp_err err = {0};
    bool stream = true;
    api_job *j = api_job_new(API_JOB_CHAT);
    if (!j) return MHD_NO;
    if (api_parse_messages(json_object_get(req, "messages"), j, &err)) {
        api_job_unref(r->srv, j);
        return http_send_error(r, 400, "%s", err.msg);
    }
    api_model m;
    enum MHD_Result ret;
    if (!common_fields(r, req, &m, j, &stream, &ret)) {
        api_job_unref(r->srv, j);
        return ret;
    }
    if (nonempty_array(json_object_get(req, "tools"))) {
        ret = http_send_error(r, 400, "registry.ollama.ai/library/%s does not support tools", m.name);
        api_job_unref(r->srv, j);
    } else if (j->n_msgs == 0) {
        ret = load_or_unload(r, &m, j, true);
    } else {
        ret = api_respond(r, &m, j, stream, API_STREAM_CHAT, build_chat, false);
    }
    api_model_clear(&m);
    return ret;
}

enum MHD_Result api_handle_ps(http_req *r) {
    json_t *o = json_object();
    json_object_set_new(o, "models", api_sched_ps(r->srv));
    return http_send_json(r, 200, o);
}
