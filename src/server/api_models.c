/* api_models.c - model names -> files, and the management endpoints (/api/tags, /api/show,
 * /api/copy, /api/delete, /api/pull, /api/create, /v1/models) (ollama-compat.md §3.7-3.8).
 *
 * Interim model source until src/store lands: (1) models registered by the operator
 * (`pippa serve --model NAME=PATH`), (2) a directory of GGUF files (PIPPA_GGUF_DIR):
 * "NAME.gguf" is model "NAME:latest", "NAME:TAG.gguf" is "NAME:TAG"; an optional sidecar
 * "NAME[:TAG].json" {"system", "template", "parameters"} holds what a Modelfile would.
 * Invariant: a client's name is only ever compared with names we listed (readdir), never
 * turned into a path, so nothing outside the directory is reachable. api_model_resolve is
 * the single entry point every endpoint uses. */
#include "server_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "../gguf/gguf.h"

pp_status api_name_normalize(const char *in, char *out, size_t cap, pp_err *err) {
    size_t n = strlen(in);
    if (n == 0) return pp_err_set(err, PP_ERR_ARG, "model is required");
    if (n >= API_NAME_MAX - 8) return pp_err_set(err, PP_ERR_ARG, "invalid model name: too long");
    char buf[API_NAME_MAX];
    int colons = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == ':') colons++;
        else if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return pp_err_set(err, PP_ERR_ARG, "invalid model name '%.*s'", (int)(n > 80 ? 80 : n), in);
        buf[i] = (char)tolower(c);
    }
    buf[n] = 0;
    char *colon = strchr(buf, ':');
    if (colons > 1 || buf[0] == '.' || buf[0] == '-' || buf[0] == ':' || (colon && !colon[1]))
        return pp_err_set(err, PP_ERR_ARG, "invalid model name '%s'", in);
    if (snprintf(out, cap, colon ? "%s" : "%s:latest", buf) >= (int)cap)
        return pp_err_set(err, PP_ERR_ARG, "invalid model name: too long");
    return PP_OK;
}

void api_model_clear(api_model *m) {
    free(m->system);
    free(m->template_text);
    json_decref(m->params);
    memset(m, 0, sizeof *m);
}

void api_model_list_free(api_model *v, size_t n) {
    for (size_t i = 0; i < n; i++) api_model_clear(&v[i]);
    free(v);
}

/* Fills size, mtime, digest (sha256 of "path size mtime": identifies the file version
 * without reading gigabytes) and the sidecar fields. */
static pp_status model_fill(api_model *m, const char *name, const char *path, const char *sidecar, pp_err *err) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return pp_err_set(err, PP_ERR_NOT_FOUND, "model '%s' not found", name);
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    if (snprintf(m->path, sizeof m->path, "%s", path) >= (int)sizeof m->path)
        return pp_err_set(err, PP_ERR_ARG, "%s: path too long", name);
    m->size = (uint64_t)st.st_size;
    m->modified = (int64_t)st.st_mtime;
    char id[API_PATH_MAX + 64];
    int n = snprintf(id, sizeof id, "%s %llu %lld", path, (unsigned long long)st.st_size, (long long)st.st_mtime);
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)id, (size_t)n, h);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) snprintf(m->digest + 2 * i, 3, "%02x", h[i]);
    if (sidecar) {
        json_error_t je;
        json_t *j = json_load_file(sidecar, 0, &je);
        if (j) {
            const char *s = NULL;
            json_t *v;
            if ((v = json_object_get(j, "system")) && (s = json_string_value(v))) m->system = strdup(s);
            if ((v = json_object_get(j, "template")) && (s = json_string_value(v))) m->template_text = strdup(s);
            if ((v = json_object_get(j, "parameters")) && json_is_object(v)) m->params = json_incref(v);
            json_decref(j);
        }
    }
    return PP_OK;
}

/* Calls fn for each model; stops when fn returns true. */
typedef bool (*model_visit)(api_server *srv, const char *name, const char *path, const char *sidecar, void *ud);

static void models_foreach(api_server *srv, model_visit fn, void *ud) {
    pp_err e;
    char name[API_NAME_MAX];
    for (int i = 0; i < srv->p.n_registered; i++) {
        if (api_name_normalize(srv->p.reg_name[i], name, sizeof name, &e)) continue;
        if (fn(srv, name, srv->p.reg_path[i], NULL, ud)) return;
    }
    if (!srv->p.gguf_dir[0]) return;
    DIR *d = opendir(srv->p.gguf_dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n <= 5 || strcmp(de->d_name + n - 5, ".gguf") != 0 || de->d_name[0] == '.') continue;
        char stem[API_NAME_MAX];
        if (n - 5 >= sizeof stem) continue;
        memcpy(stem, de->d_name, n - 5);
        stem[n - 5] = 0;
        if (api_name_normalize(stem, name, sizeof name, &e)) continue;
        char path[API_PATH_MAX], side[API_PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", srv->p.gguf_dir, de->d_name) >= (int)sizeof path) continue;
        if (snprintf(side, sizeof side, "%s/%s.json", srv->p.gguf_dir, stem) >= (int)sizeof side) continue;
        if (fn(srv, name, path, access(side, R_OK) == 0 ? side : NULL, ud)) break;
    }
    closedir(d);
}

typedef struct find_ctx {
    const char *want;
    api_model *out;
    pp_status st;
    pp_err *err;
    bool found;
} find_ctx;

static bool find_visit(api_server *srv, const char *name, const char *path, const char *sidecar, void *ud) {
    (void)srv;
    find_ctx *f = ud;
    if (strcmp(name, f->want) != 0) return false;
    f->found = true;
    f->st = model_fill(f->out, name, path, sidecar, f->err);
    return true;
}

pp_status api_model_resolve(api_server *srv, const char *name, api_model *out, pp_err *err) {
    char norm[API_NAME_MAX];
    pp_status st = api_name_normalize(name, norm, sizeof norm, err);
    if (st) return st;
    find_ctx f = {norm, out, PP_OK, err, false};
    models_foreach(srv, find_visit, &f);
    if (!f.found) return pp_err_set(err, PP_ERR_NOT_FOUND, "model '%s' not found", name);
    return f.st;
}

typedef struct list_ctx {
    api_model *v;
    size_t n, cap;
    bool oom;
} list_ctx;

static bool list_visit(api_server *srv, const char *name, const char *path, const char *sidecar, void *ud) {
    (void)srv;
    list_ctx *l = ud;
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].name, name)) return false; /* first registration wins */
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        api_model *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) {
            l->oom = true;
            return true;
        }
        l->v = nv;
        l->cap = nc;
    }
    pp_err e;
    if (model_fill(&l->v[l->n], name, path, sidecar, &e) == PP_OK) l->n++;
    return false;
}

pp_status api_model_list(api_server *srv, api_model **out, size_t *n, pp_err *err) {
    list_ctx l = {0};
    models_foreach(srv, list_visit, &l);
    if (l.oom) {
        api_model_list_free(l.v, l.n);
        return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    }
    *out = l.v;
    *n = l.n;
    return PP_OK;
}

/* ---- details from the GGUF header ---- */

static void fmt_params(uint64_t n, char *buf, size_t cap) {
    if (n >= 1000000000ULL) snprintf(buf, cap, "%.2fB", (double)n / 1e9);
    else if (n >= 1000000ULL) snprintf(buf, cap, "%.2fM", (double)n / 1e6);
    else snprintf(buf, cap, "%.2fK", (double)n / 1e3);
}

json_t *api_model_details(const api_model *m) {
    json_t *d = json_object();
    json_object_set_new(d, "parent_model", json_string(""));
    json_object_set_new(d, "format", json_string("gguf"));
    char arch[64] = "gemma3", psize[32] = "", quant[16] = "";
    gguf_file *f = NULL;
    pp_err e;
    if (gguf_open(m->path, &f, &e) == PP_OK) {
        pp_view v;
        if (gguf_get_str(f, "general.architecture", &v, &e) == PP_OK && v.len < sizeof arch) {
            memcpy(arch, v.ptr, v.len);
            arch[v.len] = 0;
        }
        uint64_t n_params = 0;
        uint32_t counts[GGUF_TTYPE_COUNT] = {0};
        for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
            const gguf_tensor *t = gguf_tensor_at(f, i);
            n_params += t->n_elements;
            if (t->n_dims >= 2 && t->type < GGUF_TTYPE_COUNT) counts[t->type]++;
        }
        uint32_t best = 0;
        for (uint32_t t = 1; t < GGUF_TTYPE_COUNT; t++)
            if (counts[t] > counts[best]) best = t;
        fmt_params(n_params, psize, sizeof psize);
        snprintf(quant, sizeof quant, "%s", gguf_ttype_info_get(best).name);
        gguf_close(f);
    }
    json_object_set_new(d, "family", json_string(arch));
    json_t *fam = json_array();
    json_array_append_new(fam, json_string(arch));
    json_object_set_new(d, "families", fam);
    json_object_set_new(d, "parameter_size", json_string(psize));
    json_object_set_new(d, "quantization_level", json_string(quant));
    return d;
}

/* ---- endpoints ---- */

enum MHD_Result api_handle_tags(http_req *r) {
    api_model *v = NULL;
    size_t n = 0;
    pp_err err = {0};
    if (api_model_list(r->srv, &v, &n, &err)) return http_send_error(r, 500, "%s", err.msg);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        char ts[64];
        api_time_rfc3339(v[i].modified * 1000000000LL, ts, sizeof ts);
        json_object_set_new(o, "name", json_string(v[i].name));
        json_object_set_new(o, "model", json_string(v[i].name));
        json_object_set_new(o, "modified_at", json_string(ts));
        json_object_set_new(o, "size", json_integer((json_int_t)v[i].size));
        json_object_set_new(o, "digest", json_string(v[i].digest));
        json_object_set_new(o, "details", api_model_details(&v[i]));
        json_array_append_new(arr, o);
    }
    api_model_list_free(v, n);
    json_t *o = json_object();
    json_object_set_new(o, "models", arr);
    return http_send_json(r, 200, o);
}

/* model field, or the deprecated name field */
static pp_status model_field(const json_t *req, const char **out, pp_err *err) {
    const char *m = NULL, *n = NULL;
    pp_status st;
    if ((st = api_field_string(req, "model", &m, err))) return st;
    if ((st = api_field_string(req, "name", &n, err))) return st;
    *out = m && *m ? m : n;
    if (!*out || !**out) return pp_err_set(err, PP_ERR_ARG, "model is required");
    return PP_OK;
}

static json_t *kv_to_json(const gguf_kv *kv) {
    switch (kv->type) {
    case GGUF_VTYPE_UINT8:
    case GGUF_VTYPE_UINT16:
    case GGUF_VTYPE_UINT32:
    case GGUF_VTYPE_UINT64: return json_integer((json_int_t)kv->v.u64);
    case GGUF_VTYPE_INT8:
    case GGUF_VTYPE_INT16:
    case GGUF_VTYPE_INT32:
    case GGUF_VTYPE_INT64: return json_integer((json_int_t)kv->v.i64);
    case GGUF_VTYPE_FLOAT32:
    case GGUF_VTYPE_FLOAT64: return json_real(kv->v.f64);
    case GGUF_VTYPE_BOOL: return json_boolean(kv->v.u64 != 0);
    case GGUF_VTYPE_STRING: return json_stringn_nocheck(kv->v.str.ptr, kv->v.str.len);
    default: return NULL;
    }
}

enum MHD_Result api_handle_show(http_req *r, json_t *req) {
    const char *name = NULL;
    bool verbose = false;
    pp_err err = {0};
    if (model_field(req, &name, &err) || api_field_bool(req, "verbose", &verbose, &err))
        return http_send_error(r, 400, "%s", err.msg);
    api_model m;
    pp_status st = api_model_resolve(r->srv, name, &m, &err);
    if (st) return http_send_error(r, http_status_of(st), "%s", err.msg);
    json_t *o = json_object();
    json_t *info = json_object();
    gguf_file *f = NULL;
    if (gguf_open(m.path, &f, &err) == PP_OK) {
        for (uint64_t i = 0; i < gguf_n_kv(f); i++) {
            const gguf_kv *kv = gguf_kv_at(f, i);
            char key[256];
            if (kv->key.len >= sizeof key) continue;
            memcpy(key, kv->key.ptr, kv->key.len);
            key[kv->key.len] = 0;
            json_t *val = NULL;
            if (kv->type == GGUF_VTYPE_ARRAY) val = verbose ? json_array() : json_null(); /* arrays elided */
            else val = kv_to_json(kv);
            if (val) json_object_set_new(info, key, val);
        }
        uint64_t n_params = 0;
        for (uint64_t i = 0; i < gguf_n_tensors(f); i++) n_params += gguf_tensor_at(f, i)->n_elements;
        json_object_set_new(info, "general.parameter_count", json_integer((json_int_t)n_params));
        gguf_close(f);
    } else {
        json_decref(o);
        json_decref(info);
        api_model_clear(&m);
        return http_send_error(r, 500, "%s", err.msg);
    }
    char mf[API_PATH_MAX + 512], params[4096] = "";
    size_t pn = 0;
    if (m.params) { /* Ollama's "%-30s %#v" lines; one line per stop sequence */
        const char *k;
        json_t *v;
        json_object_foreach(m.params, k, v) {
            size_t cnt = json_is_array(v) ? json_array_size(v) : 1;
            for (size_t i = 0; i < cnt && pn < sizeof params; i++) {
                json_t *it = json_is_array(v) ? json_array_get(v, i) : v;
                char val[512];
                if (json_is_real(it)) snprintf(val, sizeof val, "%.7g", json_real_value(it)); /* float32 */
                else {
                    char *d = json_dumps(it, JSON_ENCODE_ANY | JSON_COMPACT);
                    snprintf(val, sizeof val, "%s", d ? d : "");
                    free(d);
                }
                pn += (size_t)snprintf(params + pn, sizeof params - pn, "%s%-30s %s", pn ? "\n" : "", k, val);
            }
        }
    }
    snprintf(mf, sizeof mf, "# Modelfile generated by \"ollama show\"\nFROM %s\n", m.path);
    char ts[64];
    api_time_rfc3339(m.modified * 1000000000LL, ts, sizeof ts);
    json_object_set_new(o, "license", json_string(""));
    json_object_set_new(o, "modelfile", json_string(mf));
    json_object_set_new(o, "parameters", json_string(params));
    json_object_set_new(o, "template", json_string(m.template_text ? m.template_text : ""));
    json_object_set_new(o, "system", json_string(m.system ? m.system : ""));
    json_object_set_new(o, "details", api_model_details(&m));
    json_object_set_new(o, "model_info", info);
    json_t *caps = json_array();
    json_array_append_new(caps, json_string("completion"));
    json_object_set_new(o, "capabilities", caps);
    json_object_set_new(o, "modified_at", json_string(ts));
    api_model_clear(&m);
    return http_send_json(r, 200, o);
}

/* Directory-mode copy: a hard link (or a byte copy) of the GGUF and its sidecar. */
static pp_status copy_file(const char *src, const char *dst, pp_err *err) {
    if (link(src, dst) == 0) return PP_OK;
    int in = open(src, O_RDONLY), out = -1;
    if (in < 0) return pp_err_set(err, PP_ERR_IO, "copy: cannot open source: %s", strerror(errno));
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (out < 0) {
        close(in);
        return pp_err_set(err, PP_ERR_IO, "copy: cannot create destination: %s", strerror(errno));
    }
    char buf[65536];
    ssize_t k;
    pp_status st = PP_OK;
    while ((k = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)k) != k) {
            st = pp_err_set(err, PP_ERR_IO, "copy: write failed: %s", strerror(errno));
            break;
        }
    close(in);
    close(out);
    if (st) unlink(dst);
    return st;
}

/* Path for a new model in the directory; only normalized names (no '/') get here. */
static pp_status dir_path(api_server *srv, const char *norm, const char *ext, char *buf, size_t cap, pp_err *err) {
    if (!srv->p.gguf_dir[0])
        return pp_err_set(err, PP_ERR_UNSUPPORTED, "no writable model directory (set PIPPA_GGUF_DIR)");
    char stem[API_NAME_MAX];
    snprintf(stem, sizeof stem, "%s", norm);
    size_t n = strlen(stem);
    if (n > 7 && !strcmp(stem + n - 7, ":latest")) stem[n - 7] = 0;
    if (snprintf(buf, cap, "%s/%s%s", srv->p.gguf_dir, stem, ext) >= (int)cap)
        return pp_err_set(err, PP_ERR_ARG, "path too long");
    return PP_OK;
}

static bool in_dir(api_server *srv, const char *path) {
    size_t n = strlen(srv->p.gguf_dir);
    return n && !strncmp(path, srv->p.gguf_dir, n) && path[n] == '/';
}

enum MHD_Result api_handle_copy(http_req *r, json_t *req) {
    const char *src = NULL, *dst = NULL;
    pp_err err = {0};
    if (api_field_string(req, "source", &src, &err) || api_field_string(req, "destination", &dst, &err))
        return http_send_error(r, 400, "%s", err.msg);
    if (!src || !*src) return http_send_error(r, 400, "source is required");
    if (!dst || !*dst) return http_send_error(r, 400, "destination is required");
    api_model m;
    pp_status st = api_model_resolve(r->srv, src, &m, &err);
    if (st) return http_send_error(r, http_status_of(st), "%s", err.msg);
    char norm[API_NAME_MAX], path[API_PATH_MAX], side[API_PATH_MAX], srcside[API_PATH_MAX];
    if ((st = api_name_normalize(dst, norm, sizeof norm, &err)) ||
        (st = dir_path(r->srv, norm, ".gguf", path, sizeof path, &err)) ||
        (st = dir_path(r->srv, norm, ".json", side, sizeof side, &err))) {
        api_model_clear(&m);
        return http_send_error(r, 400, "%s", err.msg);
    }
    unlink(path);
    unlink(side);
    st = copy_file(m.path, path, &err);
    snprintf(srcside, sizeof srcside, "%.*s.json", (int)(strlen(m.path) - 5), m.path);
    if (!st && in_dir(r->srv, m.path) && access(srcside, R_OK) == 0) st = copy_file(srcside, side, &err);
    api_model_clear(&m);
    if (st) return http_send_error(r, 500, "%s", err.msg);
    return http_send_text(r, 200, "application/json; charset=utf-8", "");
}

enum MHD_Result api_handle_delete(http_req *r, json_t *req) {
    const char *name = NULL;
    pp_err err = {0};
    if (model_field(req, &name, &err)) return http_send_error(r, 400, "%s", err.msg);
    api_model m;
    pp_status st = api_model_resolve(r->srv, name, &m, &err);
    if (st) return http_send_error(r, http_status_of(st), "%s", err.msg);
    if (!in_dir(r->srv, m.path)) {
        api_model_clear(&m);
        return http_send_error(r, 400, "model '%s' was registered on the command line and cannot be deleted", name);
    }
    api_sched_unload(r->srv, m.name);
    char side[API_PATH_MAX];
    snprintf(side, sizeof side, "%.*s.json", (int)(strlen(m.path) - 5), m.path);
    int rc = unlink(m.path);
    unlink(side);
    api_model_clear(&m);
    if (rc != 0) return http_send_error(r, 500, "delete: %s", strerror(errno));
    return http_send_text(r, 200, "application/json; charset=utf-8", "");
}

/* Without the store there is no registry client: a model that is already here is
 * "up to date" (the status lines Ollama sends for it), anything else is an error. */
typedef struct pull_ctx {
    char digest[65];
    uint64_t size;
} pull_ctx;

static pp_status pull_task(api_server *srv, api_job *j, void *ud, pp_err *err) {
    (void)err;
    pull_ctx *p = ud;
    api_task_status(srv, j, "pulling manifest");
    char status[64], digest[80];
    snprintf(status, sizeof status, "pulling %.12s", p->digest);
    snprintf(digest, sizeof digest, "sha256:%s", p->digest);
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "digest", json_string(digest));
    json_object_set_new(o, "total", json_integer((json_int_t)p->size));
    json_object_set_new(o, "completed", json_integer((json_int_t)p->size));
    api_task_emit(srv, j, o);
    api_task_status(srv, j, "verifying sha256 digest");
    api_task_status(srv, j, "writing manifest");
    api_task_status(srv, j, "success");
    return PP_OK;
}

enum MHD_Result api_handle_pull(http_req *r, json_t *req) {
    const char *name = NULL;
    bool stream = true;
    pp_err err = {0};
    if (model_field(req, &name, &err) || api_field_bool(req, "stream", &stream, &err))
        return http_send_error(r, 400, "%s", err.msg);
    api_model m;
    pp_status st = api_model_resolve(r->srv, name, &m, &err);
    if (st == PP_ERR_NOT_FOUND)
        return http_send_error(r, 500, "pull model manifest: pulling from a registry is not available in this build");
    if (st) return http_send_error(r, http_status_of(st), "%s", err.msg);
    pull_ctx *p = calloc(1, sizeof *p);
    api_job *j = api_job_new(API_JOB_TASK);
    if (!p || !j) {
        free(p);
        api_job_unref(r->srv, j);
        api_model_clear(&m);
        return MHD_NO;
    }
    snprintf(p->digest, sizeof p->digest, "%s", m.digest);
    p->size = m.size;
    api_model_clear(&m);
    if ((st = api_task_start(r->srv, j, pull_task, p, free, &err))) {
        api_job_unref(r->srv, j);
        return http_send_error(r, http_status_of(st), "%s", err.msg);
    }
    return api_task_respond(r, j, stream);
}

/* Directory-mode create: {"model", "from", "system", "template", "parameters"} writes a
 * link (or copy) of the base GGUF and a sidecar, on a task thread (a copy can be slow). */
typedef struct create_ctx {
    char base_path[API_PATH_MAX], path[API_PATH_MAX], side[API_PATH_MAX];
    json_t *sidecar;
} create_ctx;

static void create_ctx_free(void *ud) {
    create_ctx *c = ud;
    json_decref(c->sidecar);
    free(c);
}

static pp_status create_task(api_server *srv, api_job *j, void *ud, pp_err *err) {
    create_ctx *c = ud;
    pp_status st = PP_OK;
    if (strcmp(c->base_path, c->path) != 0) {
        api_task_status(srv, j, "copying model file");
        unlink(c->path);
        if ((st = copy_file(c->base_path, c->path, err))) return st;
    } else {
        api_task_status(srv, j, "using existing layer");
    }
    api_task_status(srv, j, "writing manifest");
    if (json_dump_file(c->sidecar, c->side, JSON_INDENT(1)) != 0)
        return pp_err_set(err, PP_ERR_IO, "create: cannot write %s", c->side);
    api_task_status(srv, j, "success");
    return PP_OK;
}

enum MHD_Result api_handle_create(http_req *r, json_t *req) {
    const char *name = NULL, *from = NULL, *system = NULL, *tmpl = NULL;
    bool stream = true;
    pp_err err = {0};
    if (model_field(req, &name, &err) || api_field_string(req, "from", &from, &err) ||
        api_field_string(req, "system", &system, &err) || api_field_string(req, "template", &tmpl, &err) ||
        api_field_bool(req, "stream", &stream, &err))
        return http_send_error(r, 400, "%s", err.msg);
    json_t *params = json_object_get(req, "parameters");
    if (params && !json_is_object(params) && !json_is_null(params))
        return http_send_error(r, 400, "field 'parameters': expected object, got %s", api_json_type(params));
    if (json_object_get(req, "files") || json_object_get(req, "quantize"))
        return http_send_error(r, 400, "create: 'files' and 'quantize' need the model store (not in this build)");
    if (!from || !*from) return http_send_error(r, 400, "neither 'from' or 'files' was specified");
    engine_options probe = engine_default_options();
    if (params && api_options_apply(&probe, params, &err)) return http_send_error(r, 400, "%s", err.msg);
    api_model base;
    pp_status st = api_model_resolve(r->srv, from, &base, &err);
    if (st) return http_send_error(r, http_status_of(st), "%s", err.msg);
    create_ctx *c = calloc(1, sizeof *c);
    api_job *j = api_job_new(API_JOB_TASK);
    if (!c || !j) {
        free(c);
        api_job_unref(r->srv, j);
        api_model_clear(&base);
        return MHD_NO;
    }
    char norm[API_NAME_MAX];
    if ((st = api_name_normalize(name, norm, sizeof norm, &err)) ||
        (st = dir_path(r->srv, norm, ".gguf", c->path, sizeof c->path, &err)) ||
        (st = dir_path(r->srv, norm, ".json", c->side, sizeof c->side, &err))) {
        free(c);
        api_job_unref(r->srv, j);
        api_model_clear(&base);
        return http_send_error(r, 400, "%s", err.msg);
    }
    snprintf(c->base_path, sizeof c->base_path, "%s", base.path);
    c->sidecar = json_object();
    const char *sys = system ? system : base.system;
    if (sys) json_object_set_new(c->sidecar, "system", json_string(sys));
    const char *tp = tmpl ? tmpl : base.template_text;
    if (tp) json_object_set_new(c->sidecar, "template", json_string(tp));
    json_t *merged = base.params ? json_deep_copy(base.params) : json_object();
    if (params && json_is_object(params)) json_object_update(merged, params);
    json_object_set_new(c->sidecar, "parameters", merged);
    api_model_clear(&base);
    if ((st = api_task_start(r->srv, j, create_task, c, create_ctx_free, &err))) {
        api_job_unref(r->srv, j);
        return http_send_error(r, http_status_of(st), "%s", err.msg);
    }
    return api_task_respond(r, j, stream);
}

static json_t *oai_model(const api_model *m) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(m->name));
    json_object_set_new(o, "object", json_string("model"));
    json_object_set_new(o, "created", json_integer(m->modified));
    json_object_set_new(o, "owned_by", json_string("library"));
    return o;
}

enum MHD_Result api_handle_oai_models(http_req *r, const char *one) {
    pp_err err = {0};
    if (one) {
        api_model m;
        pp_status st = api_model_resolve(r->srv, one, &m, &err);
        if (st) return http_send_error(r, http_status_of(st), "%s", err.msg);
        json_t *o = oai_model(&m);
        api_model_clear(&m);
        return http_send_json(r, 200, o);
    }
    api_model *v = NULL;
    size_t n = 0;
    if (api_model_list(r->srv, &v, &n, &err)) return http_send_error(r, 500, "%s", err.msg);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, oai_model(&v[i]));
    api_model_list_free(v, n);
    json_t *o = json_object();
    json_object_set_new(o, "object", json_string("list"));
    json_object_set_new(o, "data", arr);
    return http_send_json(r, 200, o);
}
