/* api_respond.c - the request and response steps both API families and the management
 * tasks share (api_respond.h): submit a job and wait for it to start, collect or stream
 * its output, parse messages[]. Every wait is bounded by HTTP_POLL_MS and followed by a
 * hang-up check (http_req_gone), so a client that goes away cancels its job promptly
 * (engine_session_cancel: generation stops within one token) or drops it from the queue
 * if it has not started. A streamed reply is a stream source for the transport whose
 * bytes come from the reply's api_format. */
#include "api_respond.h"

#include <stdlib.h>
#include <string.h>

#include "api_json.h"

bool api_out_json(http_buf *out, json_t *obj, bool sse) {
    char *t = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!t) return false;
    bool ok = (!sse || http_buf_append(out, "data: ", 6)) && http_buf_append(out, t, strlen(t)) &&
              http_buf_append(out, sse ? "\n\n" : "\n", sse ? 2 : 1);
    free(t);
    return ok;
}

const char *api_done_reason(const api_job *j) {
    return j->res.done == ENGINE_DONE_LENGTH ? "length" : "stop";
}

bool api_job_start(http_req *r, const api_model *m, api_job *j, enum MHD_Result *ret) {
    api_server *srv = api_srv(r);
    pp_err err = {0};
    pp_status st = api_job_submit(srv, m, j, &err);
    if (st) {
        *ret = http_send_error(r, http_status_of(st), "%s", err.msg);
        return false;
    }
    while (!api_job_wait_started(srv, j, HTTP_POLL_MS)) {
        if (http_req_gone(r)) {
            pp_log(PP_LOG_INFO, "%s %s: client went away while queued", r->method, r->url);
            api_job_cancel(srv, j);
            *ret = MHD_NO;
            return false;
        }
    }
    /* done before starting = failed (load error, bad prompt, shutdown) */
    pthread_mutex_lock(&srv->mu);
    bool failed = j->state == API_JOB_DONE && j->status != PP_OK;
    pp_err jerr = j->err;
    pp_status jst = j->status;
    pthread_mutex_unlock(&srv->mu);
    if (failed) {
        *ret = http_send_error(r, http_status_of(jst), "%s", jerr.msg);
        return false;
    }
    return true;
}

bool api_job_collect(http_req *r, api_job *j, char **text, size_t *n_text) {
    api_server *srv = api_srv(r);
    http_buf all = {0};
    for (;;) {
        char *t;
        size_t nt;
        bool done = api_job_wait(srv, j, HTTP_POLL_MS, &t, &nt);
        bool ok = !nt || http_buf_append(&all, t, nt);
        free(t);
        if (!ok) {
            free(all.p);
            api_job_cancel(srv, j);
            return false;
        }
        if (done) break;
        if (http_req_gone(r)) {
            pp_log(PP_LOG_INFO, "%s %s: client went away, cancelling", r->method, r->url);
            api_job_cancel(srv, j);
            free(all.p);
            return false;
        }
    }
    *text = all.p;
    *n_text = all.n;
    return true;
}

/* ---- streams: the transport pulls, the reply's format writes ---- */

static http_pull reply_pull(void *src, http_buf *out, int timeout_ms) {
    api_reply *s = src;
    char *t;
    size_t nt;
    bool done = api_job_wait(s->srv, s->job, timeout_ms, &t, &nt);
    bool ok = true;
    if (nt) ok = s->fmt->chunk(s, out, t, nt);
    free(t);
    if (done && ok) ok = s->fmt->end(s, out); /* j is done: its fields are stable */
    if (!ok) {
        api_job_cancel(s->srv, s->job);
        return HTTP_PULL_FAIL;
    }
    return done ? HTTP_PULL_END : HTTP_PULL_MORE;
}

static void reply_cancel(void *src) {
    api_reply *s = src;
    api_job_cancel(s->srv, s->job);
}

static void reply_close(void *src) {
    api_reply *s = src;
    api_job_cancel(s->srv, s->job); /* no-op when done */
    api_job_unref(s->srv, s->job);
    free(s);
}

static const http_stream_ops REPLY_STREAM = {reply_pull, reply_cancel, reply_close};

enum MHD_Result api_stream_start(http_req *r, const char *model_name, api_job *j, const api_format *fmt,
                                 bool include_usage) {
    api_server *srv = api_srv(r);
    api_reply *s = calloc(1, sizeof *s);
    if (!s) {
        api_job_cancel(srv, j);
        api_job_unref(srv, j);
        return MHD_NO;
    }
    s->srv = srv;
    s->job = j;
    s->fmt = fmt;
    s->include_usage = include_usage;
    s->created = api_now_unix_ns() / 1000000000LL;
    snprintf(s->model, sizeof s->model, "%s", model_name ? model_name : "");
    if (fmt->id_prefix) /* generation streams take an id (native ones too, unused there) */
        snprintf(s->id, sizeof s->id, "%s-%llu", fmt->id_prefix,
                 (unsigned long long)atomic_fetch_add(&srv->next_id, 1));
    return http_send_stream(r, fmt->ctype, fmt->sse, &REPLY_STREAM, s);
}

enum MHD_Result api_respond(http_req *r, const api_model *m, api_job *j, bool stream, const api_format *fmt,
                            bool include_usage) {
    api_server *srv = api_srv(r);
    enum MHD_Result ret;
    if (!api_job_start(r, m, j, &ret)) {
        api_job_unref(srv, j);
        return ret;
    }
    if (stream) return api_stream_start(r, m->name, j, fmt, include_usage);
    char *text = NULL;
    size_t n = 0;
    if (!api_job_collect(r, j, &text, &n)) {
        api_job_unref(srv, j);
        return MHD_NO;
    }
    if (j->status != PP_OK) {
        ret = http_send_error(r, http_status_of(j->status), "%s", j->err.msg);
    } else {
        api_reply one = {.srv = srv, .job = j, .fmt = fmt, .include_usage = include_usage};
        snprintf(one.model, sizeof one.model, "%s", m->name);
        ret = http_send_json(r, 200, fmt->whole(&one, text, n));
    }
    free(text);
    api_job_unref(srv, j);
    return ret;
}

/* ---- messages[] ---- */

static bool nonempty_array(json_t *v) { return v && json_is_array(v) && json_array_size(v) > 0; }

/* Copies messages[] into j. OpenAI content parts (array of {type:"text"}) are joined. */
pp_status api_parse_messages(const json_t *msgs, api_job *j, pp_err *err) {
    if (!msgs || json_is_null(msgs)) return PP_OK;
    if (!json_is_array(msgs)) return pp_err_set(err, PP_ERR_ARG, "field 'messages': expected array, got %s", http_json_type(msgs));
    size_t n = json_array_size(msgs);
    if (n > API_MAX_MESSAGES) return pp_err_set(err, PP_ERR_ARG, "field 'messages': more than %u messages", API_MAX_MESSAGES);
    j->msgs = calloc(n ? n : 1, sizeof *j->msgs);
    if (!j->msgs) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(msgs, i);
        if (!json_is_object(m))
            return pp_err_set(err, PP_ERR_ARG, "field 'messages[%zu]': expected object, got %s", i, http_json_type(m));
        json_t *role = json_object_get(m, "role"), *content = json_object_get(m, "content");
        if (!json_is_string(role))
            return pp_err_set(err, PP_ERR_ARG, "field 'messages[%zu].role': expected string, got %s", i,
                              role ? http_json_type(role) : "nothing");
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
                              http_json_type(content));
        j->msgs[i].role = strdup(rl);
        j->msgs[i].content = text;
        j->n_msgs = i + 1;
        if (!text || !j->msgs[i].role) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    }
    return PP_OK;
}
