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
 * point every endpoint uses; it and the list are src/catalog's, which the CLI shares. */
#include "api_handlers.h"
#include "api_json.h"
#include "api_respond.h"

#include <stdlib.h>
#include <string.h>

#include "../catalog/catalog.h"
#include "../gguf/gguf.h"
#include "../store/store.h"

pp_status api_name_normalize(const char *in, char *out, size_t cap, pp_err *err) {
    return catalog_name_normalize(in, out, cap, err);
}

void api_model_clear(api_model *m) {
    free(m->system);
    free(m->template_text);
    free(m->license);
    free(m->modelfile);
    json_decref(m->params);
    json_decref(m->details);
    memset(m, 0, sizeof *m);
}

void api_model_list_free(api_model *v, size_t n) {
    for (size_t i = 0; i < n; i++) api_model_clear(&v[i]);
    free(v);
}

/* Ollama's details from a store model's config blob, or NULL (no family recorded: the
 * GGUF is read instead, api_model_details). */
static json_t *config_details(const char *config_json) {
    json_t *cfg = config_json ? json_loads(config_json, 0, NULL) : NULL;
    if (!cfg) return NULL;
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
    bool known = fam && *fam; /* fam points into cfg */
    json_decref(cfg);
    if (known) return d;
    json_decref(d);
    return NULL;
}

/* Fills m from a resolved model (takes nothing from cm; the caller frees it). */
static pp_status model_from_catalog(const catalog_model *cm, api_model *m, pp_err *err) {
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", cm->name);
    if (snprintf(m->path, sizeof m->path, "%s", cm->path) >= (int)sizeof m->path)
        return pp_err_set(err, PP_ERR_ARG, "%s: path too long", cm->name);
    snprintf(m->digest, sizeof m->digest, "%s", cm->digest);
    m->size = cm->size;
    m->modified = cm->modified;
    m->from_store = cm->from_store;
    m->readonly = cm->readonly;
    const store_model *sm = &cm->m;
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
    m->details = config_details(sm->config_json);
    return PP_OK;
}

pp_status api_store_open(const api_server *srv, store **out, pp_err *err) {
    pp_status st = store_open(NULL, NULL, out, err);
    if (st == PP_OK) store_set_prune(*out, !srv->p.no_prune);
    return st;
}

/* The server's sources: registered names, the store, PIPPA_GGUF_DIR; no paths. */
static catalog_params catalog_of(const api_server *srv) {
    catalog_params p = catalog_default_params();
    p.reg_name = srv->p.reg_name;
    p.reg_path = srv->p.reg_path;
    p.n_registered = srv->p.n_registered;
    p.gguf_dir = srv->p.gguf_dir;
    return p;
}

/* api_model_resolve, and for /api/show the Modelfile text too ("ollama show" in its header,
 * as Ollama writes it; every value quoted by store_model_modelfile). */
static pp_status resolve(api_server *srv, const char *name, bool modelfile, api_model *out, pp_err *err) {
    catalog_params p = catalog_of(srv);
    catalog_model cm;
    pp_status st = catalog_resolve(&p, name, &cm, err);
    if (st == PP_OK) { /* model_from_catalog initializes out first */
        if ((st = model_from_catalog(&cm, out, err)) == PP_OK && modelfile)
            st = store_model_modelfile(&cm.m, "\"ollama show\"", cm.name, cm.path, &out->modelfile, NULL, err);
        if (st) api_model_clear(out);
    }
    catalog_model_free(&cm);
    return st;
}

pp_status api_model_resolve(api_server *srv, const char *name, api_model *out, pp_err *err) {
    return resolve(srv, name, false, out, err);
}

pp_status api_model_list(api_server *srv, api_model **out, size_t *n, pp_err *err) {
    catalog_params p = catalog_of(srv);
    catalog_model *cv = NULL;
    size_t cn = 0;
    pp_status st = catalog_list(&p, &cv, &cn, err);
    if (st) return st;
    api_model *v = calloc(cn + 1, sizeof *v);
    size_t k = 0;
    pp_err e;
    for (size_t i = 0; v && i < cn; i++)
        if (model_from_catalog(&cv[i], &v[k], &e) == PP_OK) k++;
        else api_model_clear(&v[k]);
    catalog_model_list_free(cv, cn);
    if (!v) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    *out = v;
    *n = k;
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
    const char *arch = "gemma3";
    char psize[32] = "", quant[16] = "";
    gguf_summary sum;
    pp_err e;
    if (gguf_summary_read(m->path, &sum, &e) == PP_OK) {
        if (sum.arch[0]) arch = sum.arch;
        fmt_params(sum.n_params, psize, sizeof psize);
        snprintf(quant, sizeof quant, "%s", gguf_ttype_info_get(sum.common_type).name);
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
    pp_status st = resolve(api_srv(r), name, true, &m, &err);
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
    char params[4096] = "";
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
    char ts[64];
    api_time_rfc3339(m.modified * 1000000000LL, ts, sizeof ts);
    json_object_set_new(o, "license", json_string(m.license ? m.license : ""));
    json_object_set_new(o, "modelfile", json_string(m.modelfile ? m.modelfile : ""));
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
