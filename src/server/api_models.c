/* api_models.c - model names -> files, and the read side of model management: /api/tags,
 * /api/show, /v1/models (ollama-compat.md §3.7-3.8). The write side (copy, delete, pull,
 * create) is api_store.c.
 *
 * Sources, in lookup order: (1) models registered by the operator (`pippa serve --model
 * NAME=PATH`), (2) the model store (src/store: $PIPPA_MODELS, then the read-only Ollama
 * store), (3) a directory of GGUF files served in place (PIPPA_GGUF_DIR): "NAME.gguf" is
 * "NAME:latest", "NAME:TAG.gguf" is "NAME:TAG", an optional sidecar "NAME[:TAG].json"
 * {"system", "template", "parameters"} holds what a Modelfile would.
 * Invariant: a client's name is validated by the store (store_name_parse) or compared with
 * names we listed (registered, readdir); it is never turned into a path, so nothing
 * outside the store and the directory is reachable. api_model_resolve is the single entry
 * point every endpoint uses. */
#include "api_handlers.h"
#include "api_json.h"
#include "api_respond.h"

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
#include "../store/store.h"

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
    free(m->license);
    json_decref(m->params);
    json_decref(m->details);
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

/* Fills m from a store model (takes nothing from sm; the caller frees it). */
static pp_status model_from_store(const store_model *sm, api_model *m, pp_err *err) {
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", sm->display);
    if (snprintf(m->path, sizeof m->path, "%s", sm->model_path) >= (int)sizeof m->path)
        return pp_err_set(err, PP_ERR_ARG, "%s: path too long", sm->display);
    snprintf(m->digest, sizeof m->digest, "%s", sm->manifest.id);
    m->size = sm->manifest.config.size;
    for (size_t i = 0; i < sm->manifest.n_layers; i++) m->size += sm->manifest.layers[i].size;
    m->modified = sm->manifest.mtime;
    m->from_store = true;
    m->readonly = sm->manifest.readonly;
    if (sm->system) m->system = strdup(sm->system);
    if (sm->tmpl) m->template_text = strdup(sm->tmpl);
    if (sm->params_json) m->params = json_loads(sm->params_json, 0, NULL);
    size_t lic = 0;
    for (size_t i = 0; i < sm->n_licenses; i++) lic += strlen(sm->licenses[i]) + 1;
    if (lic && (m->license = malloc(lic))) {
        m->license[0] = 0;
        for (size_t i = 0; i < sm->n_licenses; i++) {
            if (i) strcat(m->license, "\n");
            strcat(m->license, sm->licenses[i]);
        }
    }
    json_t *cfg = sm->config_json ? json_loads(sm->config_json, 0, NULL) : NULL;
    if (cfg) { /* the config blob carries Ollama's details */
        json_t *d = json_object();
        const char *fam = json_string_value(json_object_get(cfg, "model_family"));
        json_object_set_new(d, "parent_model", json_string(""));
        json_object_set_new(d, "format", json_string("gguf"));
        json_object_set_new(d, "family", json_string(fam ? fam : ""));
        json_t *fams = json_object_get(cfg, "model_families");
        json_object_set_new(d, "families", json_is_array(fams) ? json_incref(fams) : json_array());
        const char *ty = json_string_value(json_object_get(cfg, "model_type"));
        const char *ft = json_string_value(json_object_get(cfg, "file_type"));
        json_object_set_new(d, "parameter_size", json_string(ty ? ty : ""));
        json_object_set_new(d, "quantization_level", json_string(ft ? ft : ""));
        if (fam && *fam) m->details = d;
        else json_decref(d); /* no family recorded: read the GGUF instead */
        json_decref(cfg);
    }
    return PP_OK;
}

pp_status api_store_open(store **out, pp_err *err) { return store_open(NULL, NULL, out, err); }

pp_status api_model_resolve(api_server *srv, const char *name, api_model *out, pp_err *err) {
    char norm[API_NAME_MAX];
    pp_err nerr = {0};
    bool plain = api_name_normalize(name, norm, sizeof norm, &nerr) == PP_OK;
    find_ctx f = {norm, out, PP_OK, err, false};
    if (plain) { /* registered names win */
        pp_err e;
        for (int i = 0; i < srv->p.n_registered && !f.found; i++) {
            char rn[API_NAME_MAX];
            if (api_name_normalize(srv->p.reg_name[i], rn, sizeof rn, &e) == PP_OK && !strcmp(rn, norm)) {
                f.found = true;
                f.st = model_fill(out, rn, srv->p.reg_path[i], NULL, err);
            }
        }
        if (f.found) return f.st;
    }
    store *s = NULL;
    pp_err serr = {0};
    pp_status st = api_store_open(&s, &serr);
    if (st == PP_OK) {
        store_model sm;
        memset(&sm, 0, sizeof sm);
        st = store_model_load_or_demo(s, name, api_gguf_info, &sm, &serr);
        store_close(s);
        if (st == PP_OK) {
            st = model_from_store(&sm, out, err);
            store_model_free(&sm);
            if (st) api_model_clear(out);
            return st;
        }
        if (st != PP_ERR_NOT_FOUND && plain) /* a broken store entry is an error, not "absent" */
            return pp_err_set(err, st, "%s", serr.msg);
    }
    if (!plain) { /* a namespaced name ("me/m", "hf.co/u/r:Q4_K_M") that is absent, or an invalid one */
        if (st == PP_ERR_NOT_FOUND) return pp_err_set(err, st, "model '%s' not found", name);
        return pp_err_set(err, PP_ERR_ARG, "%s", nerr.msg);
    }
    if (srv->p.gguf_dir[0]) {
        models_foreach(srv, find_visit, &f);
        if (f.found) return f.st;
    }
    return pp_err_set(err, PP_ERR_NOT_FOUND, "model '%s' not found", name);
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

static void list_add_store(list_ctx *l) {
    store *s = NULL;
    pp_err e = {0};
    if (api_store_open(&s, &e)) return;
    store_entry *ents = NULL;
    size_t n = 0;
    if (store_list(s, &ents, &n, &e) == PP_OK) {
        for (size_t i = 0; i < n && !l->oom; i++) {
            bool dup = false;
            for (size_t k = 0; k < l->n; k++)
                if (!strcmp(l->v[k].name, ents[i].display)) dup = true;
            if (dup) continue;
            store_model sm;
            memset(&sm, 0, sizeof sm);
            if (store_model_load(s, ents[i].display, &sm, &e) != PP_OK) continue;
            if (l->n == l->cap) {
                size_t nc = l->cap ? l->cap * 2 : 16;
                api_model *nv = realloc(l->v, nc * sizeof *nv);
                if (!nv) {
                    l->oom = true;
                    store_model_free(&sm);
                    break;
                }
                l->v = nv;
                l->cap = nc;
            }
            if (model_from_store(&sm, &l->v[l->n], &e) == PP_OK) l->n++;
            store_model_free(&sm);
        }
        free(ents);
    }
    store_close(s);
}

pp_status api_model_list(api_server *srv, api_model **out, size_t *n, pp_err *err) {
    list_ctx l = {0};
    pp_err e;
    char name[API_NAME_MAX];
    for (int i = 0; i < srv->p.n_registered; i++)
        if (api_name_normalize(srv->p.reg_name[i], name, sizeof name, &e) == PP_OK)
            list_visit(srv, name, srv->p.reg_path[i], NULL, &l);
    list_add_store(&l);
    if (srv->p.gguf_dir[0]) models_foreach(srv, list_visit, &l);
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
    if (m->details) return json_deep_copy(m->details);
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

enum MHD_Result api_handle_tags(http_req *r, json_t *req) {
    (void)req;
    api_model *v = NULL;
    size_t n = 0;
    pp_err err = {0};
    if (api_model_list(api_srv(r), &v, &n, &err)) return http_send_error(r, 500, "%s", err.msg);
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
pp_status api_model_field(const json_t *req, const char **out, pp_err *err) {
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
    if (api_model_field(req, &name, &err) || api_field_bool(req, "verbose", &verbose, &err))
        return http_send_error(r, 400, "%s", err.msg);
    api_model m;
    pp_status st = api_model_resolve(api_srv(r), name, &m, &err);
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
    char mf[API_PATH_MAX + API_NAME_MAX + 256], params[4096] = "";
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
    snprintf(mf, sizeof mf,
             "# Modelfile generated by \"ollama show\"\n# To build a new Modelfile based on this, replace FROM with:\n"
             "# FROM %s\n\nFROM %s\n",
             m.name, m.path);
    char ts[64];
    api_time_rfc3339(m.modified * 1000000000LL, ts, sizeof ts);
    json_object_set_new(o, "license", json_string(m.license ? m.license : ""));
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

static json_t *oai_model(const api_model *m) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(m->name));
    json_object_set_new(o, "object", json_string("model"));
    json_object_set_new(o, "created", json_integer(m->modified));
    json_object_set_new(o, "owned_by", json_string("library"));
    return o;
}

static enum MHD_Result oai_models(http_req *r, const char *one) {
    pp_err err = {0};
    if (one) {
        api_model m;
        pp_status st = api_model_resolve(api_srv(r), one, &m, &err);
        if (st) return http_send_error(r, http_status_of(st), "%s", err.msg);
        json_t *o = oai_model(&m);
        api_model_clear(&m);
        return http_send_json(r, 200, o);
    }
    api_model *v = NULL;
    size_t n = 0;
    if (api_model_list(api_srv(r), &v, &n, &err)) return http_send_error(r, 500, "%s", err.msg);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, oai_model(&v[i]));
    api_model_list_free(v, n);
    json_t *o = json_object();
    json_object_set_new(o, "object", json_string("list"));
    json_object_set_new(o, "data", arr);
    return http_send_json(r, 200, o);
}

enum MHD_Result api_handle_oai_models(http_req *r, json_t *req) {
    (void)req;
    return oai_models(r, NULL);
}

enum MHD_Result api_handle_oai_model(http_req *r, json_t *req) {
    (void)req;
    return oai_models(r, r->rest);
}
