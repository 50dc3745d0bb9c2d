/* api_store.c - the write side of model management over the model store (src/store):
 * POST /api/copy, DELETE /api/delete, POST /api/pull (streamed progress), POST /api/create
 * (ollama-compat.md §3.7). Pull and create run on task threads (api_task.c) that turn the
 * store's status/progress callbacks into Ollama's NDJSON lines.
 *
 * Invariant: no client string becomes a file path. Names go to the store, which validates
 * them; create's "from" is resolved by api_model_resolve and only the resolved GGUF's
 * absolute path (a blob, a registered file or one in PIPPA_GGUF_DIR) reaches the Modelfile
 * FROM line; "files" digests are looked up in the store's blobs. */
#include "api_handlers.h"
#include "api_json.h"
#include "api_respond.h"
#include "api_task.h"

#include <stdlib.h>
#include <string.h>

#include "../catalog/catalog.h"
#include "../store/store.h"

#define API_PROGRESS_NS 60000000ULL /* progress lines at most every 60 ms per blob (as Ollama) */

static enum MHD_Result store_error(http_req *r, pp_status st, const pp_err *err) {
    return http_send_error(r, http_status_of(st), "%s", err->msg);
}

enum MHD_Result api_handle_copy(http_req *r, json_t *req) {
    const char *src = NULL, *dst = NULL;
    pp_err err = {0};
    if (api_field_string(req, "source", &src, &err) || api_field_string(req, "destination", &dst, &err))
        return http_send_error(r, 400, "%s", err.msg);
    if (!src || !*src) return http_send_error(r, 400, "source is required");
    if (!dst || !*dst) return http_send_error(r, 400, "destination is required");
    store *s = NULL;
    pp_status st = api_store_open(api_srv(r), &s, &err);
    if (!st) st = store_copy(s, src, dst, &err);
    store_close(s);
    if (st) return store_error(r, st, &err);
    return http_send_text(r, 200, "application/json; charset=utf-8", "");
}

enum MHD_Result api_handle_delete(http_req *r, json_t *req) {
    const char *name = NULL;
    pp_err err = {0};
    if (api_model_field(req, &name, &err)) return http_send_error(r, 400, "%s", err.msg);
    store *s = NULL;
    pp_status st = api_store_open(api_srv(r), &s, &err);
    store_model sm;
    memset(&sm, 0, sizeof sm);
    if (!st) st = store_model_load(s, name, &sm, &err);
    if (!st) {
        api_sched_unload(api_srv(r), sm.display); /* a deleted model does not stay loaded */
        st = store_remove(s, name, &err);
    }
    store_model_free(&sm);
    store_close(s);
    if (st) return store_error(r, st, &err);
    return http_send_text(r, 200, "application/json; charset=utf-8", "");
}

/* ---- pull ---- */

typedef struct pull_ctx {
    api_server *srv;
    api_job *job;
    char name[API_NAME_MAX];
    bool insecure;
    char last_digest[80];
    uint64_t last_ns;
} pull_ctx;

static void pull_status(const char *line, void *ud) {
    pull_ctx *p = ud;
    /* per-blob "pulling <hex>" lines come from the progress callback, with their counts */
    if (!strncmp(line, "pulling ", 8) && strcmp(line, "pulling manifest") != 0) return;
    api_task_status(p->srv, p->job, line);
}

static void pull_progress(const store_progress *pr, void *ud) {
    pull_ctx *p = ud;
    uint64_t now = pp_time_ns();
    bool same = !strcmp(p->last_digest, pr->digest);
    if (same && !pr->done && now - p->last_ns < API_PROGRESS_NS) return;
    snprintf(p->last_digest, sizeof p->last_digest, "%s", pr->digest);
    p->last_ns = now;
    const char *hex = !strncmp(pr->digest, "sha256:", 7) ? pr->digest + 7 : pr->digest;
    char status[64];
    snprintf(status, sizeof status, "pulling %.12s", hex);
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "digest", json_string(pr->digest));
    json_object_set_new(o, "total", json_integer((json_int_t)pr->total));
    json_object_set_new(o, "completed", json_integer((json_int_t)pr->completed));
    api_task_emit(p->srv, p->job, o);
}

static pp_status pull_task(api_server *srv, api_job *j, void *ud, pp_err *err) {
    pull_ctx *p = ud;
    store *s = NULL;
    pp_status st = api_store_open(srv, &s, err);
    if (st) return st;
    store_pull_params pp = store_pull_default_params();
    pp.insecure = p->insecure;
    pp.status = pull_status;
    pp.progress = pull_progress;
    pp.ud = p;
    p->job = j;
    st = store_pull(s, p->name, pp, err);
    store_close(s);
    if (st == PP_OK) api_task_status(srv, j, "success");
    return st;
}

enum MHD_Result api_handle_pull(http_req *r, json_t *req) {
    const char *name = NULL;
    bool stream = true, insecure = false;
    pp_err err = {0};
    if (api_model_field(req, &name, &err) || api_field_bool(req, "stream", &stream, &err) ||
        api_field_bool(req, "insecure", &insecure, &err))
        return http_send_error(r, 400, "%s", err.msg);
    store_name sn;
    if (store_name_parse(name, &sn, &err)) return http_send_error(r, 400, "%s", err.msg);
    pull_ctx *p = calloc(1, sizeof *p);
    api_job *j = api_job_new(API_JOB_TASK);
    if (!p || !j) {
        free(p);
        api_job_unref(api_srv(r), j);
        return MHD_NO;
    }
    p->srv = api_srv(r);
    p->insecure = insecure;
    snprintf(p->name, sizeof p->name, "%s", name);
    pp_status st = api_task_start(api_srv(r), j, pull_task, p, free, &err);
    if (st) {
        api_job_unref(api_srv(r), j);
        return http_send_error(r, http_status_of(st), "%s", err.msg);
    }
    return api_task_respond(r, j, stream);
}

/* ---- create ---- */

typedef struct create_ctx {
    api_server *srv;
    api_job *job;
    char name[API_NAME_MAX];
    store_modelfile mf;
} create_ctx;

static void create_ctx_free(void *ud) {
    create_ctx *c = ud;
    store_modelfile_free(&c->mf);
    free(c);
}

static void create_status(const char *line, void *ud) {
    create_ctx *c = ud;
    api_task_status(c->srv, c->job, line);
}

static pp_status create_task(api_server *srv, api_job *j, void *ud, pp_err *err) {
    create_ctx *c = ud;
    c->job = j;
    store *s = NULL;
    pp_status st = api_store_open(srv, &s, err);
    if (st) return st;
    store_create_params p = store_create_default_params();
    p.modelfile_dir = "/";
    p.gguf_info = catalog_gguf_info;
    p.param = catalog_param_lookup;
    p.status = create_status;
    p.ud = c;
    st = store_create(s, c->name, &c->mf, p, err);
    store_close(s);
    if (st == PP_OK) api_task_status(srv, j, "success");
    return st;
}

static bool kv_push(store_kv **v, size_t *n, const char *key, const char *value) {
    store_kv *nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) return false;
    *v = nv;
    nv[*n].key = strdup(key);
    nv[*n].value = strdup(value);
    nv[*n].line = 0;
    if (!nv[*n].key || !nv[*n].value) {
        free(nv[*n].key);
        free(nv[*n].value);
        return false;
    }
    (*n)++;
    return true;
}

/* The merged parameters (base model's, then the request's) as PARAMETER lines. */
static pp_status params_to_kv(const json_t *params, store_modelfile *mf, pp_err *err) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)params, k, v) {
        size_t cnt = json_is_array(v) ? json_array_size(v) : 1;
        for (size_t i = 0; i < cnt; i++) {
            json_t *it = json_is_array(v) ? json_array_get(v, i) : v;
            char text[512];
            if (json_is_string(it)) snprintf(text, sizeof text, "%s", json_string_value(it));
            else if (json_is_integer(it)) snprintf(text, sizeof text, "%lld", (long long)json_integer_value(it));
            else if (json_is_real(it)) snprintf(text, sizeof text, "%.9g", json_real_value(it));
            else if (json_is_boolean(it)) snprintf(text, sizeof text, "%s", json_is_true(it) ? "true" : "false");
            else return pp_err_set(err, PP_ERR_ARG, "field 'parameters.%s': unsupported value", k);
            if (!kv_push(&mf->params, &mf->n_params, k, text)) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
        }
    }
    return PP_OK;
}

pp_status api_create_parse(const json_t *req, api_create_req *c, pp_err *err) {
    c->name = c->from = c->system = c->tmpl = NULL;
    if (api_model_field(req, &c->name, err) || api_field_string(req, "from", &c->from, err) ||
        api_field_string(req, "system", &c->system, err) || api_field_string(req, "template", &c->tmpl, err) ||
        api_field_bool(req, "stream", &c->stream, err))
        return PP_ERR_ARG;
    if (store_name_parse(c->name, &c->sn, err)) return PP_ERR_ARG;
    const json_t *params = json_object_get(req, "parameters"), *files = json_object_get(req, "files");
    const json_t *msgs = json_object_get(req, "messages"), *lic = json_object_get(req, "license");
    c->params = params, c->files = files, c->msgs = msgs, c->lic = lic;
    if (params && !json_is_object(params) && !json_is_null(params))
        return pp_err_set(err, PP_ERR_ARG, "field 'parameters': expected object, got %s", http_json_type(params));
    if (files && !json_is_object(files) && !json_is_null(files))
        return pp_err_set(err, PP_ERR_ARG, "field 'files': expected object, got %s", http_json_type(files));
    if (msgs && !json_is_array(msgs) && !json_is_null(msgs))
        return pp_err_set(err, PP_ERR_ARG, "field 'messages': expected array, got %s", http_json_type(msgs));
    if (lic && !json_is_string(lic) && !json_is_array(lic) && !json_is_null(lic))
        return pp_err_set(err, PP_ERR_ARG, "field 'license': expected string or array, got %s", http_json_type(lic));
    json_t *q = json_object_get(req, "quantize");
    if (q && !json_is_null(q) && !(json_is_string(q) && !*json_string_value(q)))
        return pp_err_set(err, PP_ERR_ARG, "quantize is not supported by the server yet (use 'pippa create --quantize')");
    engine_options probe = engine_default_options();
    if (params && api_options_apply(&probe, params, err)) return PP_ERR_ARG;
    return PP_OK;
}

enum MHD_Result api_handle_create(http_req *r, json_t *req) {
    pp_err err = {0};
    api_create_req cr = {.stream = true};
    if (api_create_parse(req, &cr, &err)) return http_send_error(r, 400, "%s", err.msg);
    const char *name = cr.name, *from = cr.from, *system = cr.system, *tmpl = cr.tmpl;
    bool stream = cr.stream;
    json_t *params = (json_t *)cr.params, *files = (json_t *)cr.files;
    json_t *msgs = (json_t *)cr.msgs, *lic = (json_t *)cr.lic;

    create_ctx *c = calloc(1, sizeof *c);
    api_job *j = api_job_new(API_JOB_TASK);
    if (!c || !j) {
        free(c);
        api_job_unref(api_srv(r), j);
        return MHD_NO;
    }
    c->srv = api_srv(r);
    snprintf(c->name, sizeof c->name, "%s", name);
    store_modelfile *mf = &c->mf;
    api_model base;
    memset(&base, 0, sizeof base);
    json_t *merged = json_object();
    enum MHD_Result ret;
    pp_status st;
    char from_path[API_PATH_MAX] = "";
    if (files && json_object_size(files)) {
        if (from && *from) {
            ret = http_send_error(r, 400, "give either 'from' or 'files', not both");
            goto fail;
        }
        const char *fname;
        json_t *dg;
        size_t n_gguf = 0;
        json_object_foreach(files, fname, dg) {
            if (!json_is_string(dg)) {
                ret = http_send_error(r, 400, "field 'files.%s': expected a digest string", fname);
                goto fail;
            }
            const char *d = json_string_value(dg);
            if (!store_digest_valid(d)) {
                ret = http_send_error(r, 400, "field 'files.%s': invalid digest '%s'", fname, d);
                goto fail;
            }
            store *s = NULL;
            if ((st = api_store_open(api_srv(r), &s, &err)) == PP_OK) st = store_blob_find(s, d, from_path, sizeof from_path, &err);
            store_close(s);
            if (st) {
                ret = http_send_error(r, st == PP_ERR_NOT_FOUND ? 400 : 500, "file '%s': blob %s not found (upload it first)",
                                      fname, d);
                goto fail;
            }
            n_gguf++;
        }
        if (n_gguf != 1) {
            ret = http_send_error(r, 400, "create: exactly one GGUF file is supported (got %zu)", n_gguf);
            goto fail;
        }
    } else if (from && *from) {
        if ((st = api_model_resolve(api_srv(r), from, &base, &err))) {
            ret = http_send_error(r, http_status_of(st), "%s", err.msg);
            goto fail;
        }
        snprintf(from_path, sizeof from_path, "%s", base.path);
        if (base.params) json_object_update(merged, base.params);
    } else {
        ret = http_send_error(r, 400, "neither 'from' or 'files' was specified");
        goto fail;
    }
    if (params && json_is_object(params)) json_object_update(merged, params);
    mf->from = strdup(from_path); /* absolute: resolved by us, never the client's text */
    const char *sys = system ? system : base.system, *tp = tmpl ? tmpl : base.template_text;
    if (sys) mf->system = strdup(sys);
    if (tp) mf->tmpl = strdup(tp);
    if (!mf->from || (sys && !mf->system) || (tp && !mf->tmpl)) {
        ret = MHD_NO;
        goto fail;
    }
    if ((st = params_to_kv(merged, mf, &err))) {
        ret = http_send_error(r, http_status_of(st), "%s", err.msg);
        goto fail;
    }
    if (msgs && json_is_array(msgs)) {
        size_t i;
        json_t *m;
        json_array_foreach(msgs, i, m) {
            const char *role = json_string_value(json_object_get(m, "role"));
            const char *content = json_string_value(json_object_get(m, "content"));
            if (!role || !content) {
                ret = http_send_error(r, 400, "field 'messages[%zu]': expected {role, content} strings", i);
                goto fail;
            }
            if (!kv_push(&mf->messages, &mf->n_messages, role, content)) {
                ret = MHD_NO;
                goto fail;
            }
        }
    }
    if (lic && !json_is_null(lic)) {
        size_t n = json_is_array(lic) ? json_array_size(lic) : 1;
        mf->licenses = calloc(n ? n : 1, sizeof *mf->licenses);
        for (size_t i = 0; mf->licenses && i < n; i++) {
            json_t *it = json_is_array(lic) ? json_array_get(lic, i) : lic;
            if (!json_is_string(it)) {
                ret = http_send_error(r, 400, "field 'license[%zu]': expected string", i);
                goto fail;
            }
            mf->licenses[mf->n_licenses++] = strdup(json_string_value(it));
        }
    } else if (base.license) {
        mf->licenses = calloc(1, sizeof *mf->licenses);
        if (mf->licenses) mf->licenses[mf->n_licenses++] = strdup(base.license);
    }
    if (tmpl && *tmpl) pp_log(PP_LOG_WARN, "create %s: custom template stored; chat is rendered natively (Gemma 3)", name);
    json_decref(merged);
    api_model_clear(&base);
    if ((st = api_task_start(api_srv(r), j, create_task, c, create_ctx_free, &err))) {
        api_job_unref(api_srv(r), j);
        return http_send_error(r, http_status_of(st), "%s", err.msg);
    }
    return api_task_respond(r, j, stream);
fail:
    json_decref(merged);
    api_model_clear(&base);
    create_ctx_free(c);
    api_job_unref(api_srv(r), j);
    return ret;
}
