/* store_create.c - `create NAME -f Modelfile`: layers, config blob and manifest written the
 * way Ollama writes them (ollama-compat.md §3.7, §4.2), so equal inputs give equal digests.
 *
 * FROM a .gguf path (relative to the Modelfile's directory): the file is hashed and copied
 * into blobs. FROM a model name: its layers are reused; TEMPLATE/SYSTEM/MESSAGE/LICENSE
 * given here replace the base's, PARAMETERs are merged over the base's params.
 * Layer order: model (and other binary layers), template, system, license, params,
 * messages. The manifest is written last, so a failed create lists nothing. */
#include "store.h"
#include "store_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#define MT_PREFIX "application/vnd.ollama.image."

store_create_params store_create_default_params(void) {
    store_create_params p;
    memset(&p, 0, sizeof p);
    p.modelfile_dir = ".";
    return p;
}

void store_human_number(uint64_t n, char *buf, size_t cap) {
    const double B = 1e9, M = 1e6, K = 1e3;
    double x = (double)n;
    if (x >= B) {
        double v = x / B;
        if (v == (double)(uint64_t)v) snprintf(buf, cap, "%.0fB", v);
        else snprintf(buf, cap, "%.1fB", v);
    } else if (x >= M) {
        double v = x / M;
        if (v == (double)(uint64_t)v) snprintf(buf, cap, "%.0fM", v);
        else snprintf(buf, cap, "%.2fM", v);
    } else if (x >= K) {
        snprintf(buf, cap, "%.0fK", x / K);
    } else {
        snprintf(buf, cap, "%llu", (unsigned long long)n);
    }
}

typedef struct layer_list {
    store_layer *v;
    size_t n, cap;
} layer_list;

static pp_status push_layer(layer_list *l, const char *mt, const char *digest, uint64_t size, pp_err *err) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 8;
        store_layer *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) return pp_err_set(err, PP_ERR_NOMEM, "create: out of memory");
        l->v = nv;
        l->cap = nc;
    }
    store_layer *x = &l->v[l->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->media_type, sizeof x->media_type, "%s", mt);
    snprintf(x->digest, sizeof x->digest, "%s", digest);
    x->size = size;
    return PP_OK;
}

static void say(const store_create_params *p, const char *fmt, const char *a) {
    if (!p->status) return;
    char line[256];
    snprintf(line, sizeof line, fmt, a);
    p->status(line, p->ud);
}

static pp_status text_layer(store *s, layer_list *l, const char *kind, const char *text, size_t len,
                            const store_create_params *p, pp_err *err) {
    char digest[72], mt[96];
    bool had = false;
    {
        char hex[65], path[PATH_MAX];
        if (store_sha256_mem(text, len, hex, err) != PP_OK) return err->status;
        snprintf(digest, sizeof digest, "sha256:%s", hex);
        had = store_blob_find(s, digest, path, sizeof path, err) == PP_OK;
        memset(err, 0, sizeof *err);
    }
    if (store_blob_put(s, text, len, digest, err) != PP_OK) return err->status;
    say(p, had ? "using existing layer %s" : "creating new layer %s", digest);
    snprintf(mt, sizeof mt, MT_PREFIX "%s", kind);
    return push_layer(l, mt, digest, len, err);
}

static bool is_kind(const store_layer *l, const char *kind) {
    return !strncmp(l->media_type, MT_PREFIX, sizeof MT_PREFIX - 1) && !strcmp(l->media_type + sizeof MT_PREFIX - 1, kind);
}

static const char *go_arch(void) {
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#else
    return "unknown";
#endif
}

/* ConfigV2 in Ollama's field order + "\n" (§4.2). */
static void config_json(store_buf *b, const store_gguf_info *gi, const char *requires, const layer_list *l) {
    store_buf_adds(b, "{\"model_format\":\"gguf\",\"model_family\":");
    store_buf_add_json_str(b, gi->family, strlen(gi->family));
    store_buf_adds(b, ",\"model_families\":");
    if (gi->family[0]) {
        store_buf_add(b, "[", 1);
        store_buf_add_json_str(b, gi->family, strlen(gi->family));
        store_buf_add(b, "]", 1);
    } else {
        store_buf_adds(b, "null");
    }
    store_buf_adds(b, ",\"model_type\":");
    store_buf_add_json_str(b, gi->model_type, strlen(gi->model_type));
    store_buf_adds(b, ",\"file_type\":");
    store_buf_add_json_str(b, gi->file_type, strlen(gi->file_type));
    if (requires && *requires) {
        store_buf_adds(b, ",\"requires\":");
        store_buf_add_json_str(b, requires, strlen(requires));
    }
    store_buf_adds(b, ",\"architecture\":\"");
    store_buf_adds(b, go_arch());
    store_buf_adds(b, "\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[");
    for (size_t i = 0; i < l->n; i++) {
        if (i) store_buf_add(b, ",", 1);
        store_buf_add_json_str(b, l->v[i].digest, strlen(l->v[i].digest));
    }
    store_buf_adds(b, "]}}\n");
}

static void add_layer_json(store_buf *b, const store_layer *l) {
    char num[32];
    store_buf_adds(b, "{\"mediaType\":");
    store_buf_add_json_str(b, l->media_type, strlen(l->media_type));
    store_buf_adds(b, ",\"digest\":");
    store_buf_add_json_str(b, l->digest, strlen(l->digest));
    snprintf(num, sizeof num, ",\"size\":%llu}", (unsigned long long)l->size);
    store_buf_adds(b, num);
}

/* Family/type/file type of the base model's config blob. */
static void info_from_config(const char *cfg, store_gguf_info *gi) {
    if (!cfg) return;
    json_error_t je;
    json_t *o = json_loads(cfg, 0, &je);
    if (!json_is_object(o)) { json_decref(o); return; }
    const char *f = json_string_value(json_object_get(o, "model_family"));
    const char *t = json_string_value(json_object_get(o, "model_type"));
    const char *q = json_string_value(json_object_get(o, "file_type"));
    if (f) snprintf(gi->family, sizeof gi->family, "%s", f);
    if (t) snprintf(gi->model_type, sizeof gi->model_type, "%s", t);
    if (q) snprintf(gi->file_type, sizeof gi->file_type, "%s", q);
    json_decref(o);
}

/* create --quantize: the caller converts src into a temporary file in our blobs directory,
 * which is then hashed and renamed to its digest (no second copy of a big file). */
static pp_status convert_layer(store *s, const store_create_params *p, const char *src, store_gguf_info *gi,
                               char digest[72], uint64_t *size, pp_err *err) {
    char tmp[PATH_MAX];
    if (store_blob_tmp_path(s, "convert", tmp, sizeof tmp, err) != PP_OK) return err->status;
    pp_status st = p->convert(src, tmp, p->ud, err);
    if (st == PP_OK && p->gguf_info) st = p->gguf_info(tmp, gi, err); /* the new file type */
    if (st == PP_OK) st = store_blob_adopt(s, tmp, digest, size, err);
    if (st != PP_OK) remove(tmp);
    else say(p, "creating new layer %s", digest);
    return st;
}

pp_status store_create(store *s, const char *name, const store_modelfile *mf, store_create_params p, pp_err *err) {
    store_name n;
    if (store_name_parse(name, &n, err) != PP_OK) return err->status;
    layer_list l = {0};
    store_model base;
    memset(&base, 0, sizeof base);
    bool have_base = false, converted = false;
    store_gguf_info gi;
    memset(&gi, 0, sizeof gi);
    store_buf cfg = {0}, man = {0};
    char *params = NULL, *msgs = NULL;
    size_t plen = 0, mlen = 0;
    pp_status st = PP_OK;

    /* FROM: an existing file (relative to the Modelfile), else a model name */
    char path[PATH_MAX];
    if (mf->from[0] == '/') snprintf(path, sizeof path, "%s", mf->from);
    else snprintf(path, sizeof path, "%s/%s", p.modelfile_dir ? p.modelfile_dir : ".", mf->from);
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            st = pp_err_set(err, PP_ERR_UNSUPPORTED, "FROM %s: a directory (safetensors import) is not supported yet; give a .gguf file", mf->from);
            goto out;
        }
        say(&p, "parsing GGUF%s", "");
        if (p.gguf_info && (st = p.gguf_info(path, &gi, err)) != PP_OK) goto out;
        char digest[72];
        uint64_t size = 0;
        if (p.convert) {
            if ((st = convert_layer(s, &p, path, &gi, digest, &size, err)) != PP_OK) goto out;
        } else if ((st = store_blob_put_file(s, path, digest, &size, err)) != PP_OK) {
            goto out;
        }
        say(&p, "using layer %s", digest);
        if ((st = push_layer(&l, MT_PREFIX "model", digest, size, err)) != PP_OK) goto out;
    } else {
        if (store_model_load(s, mf->from, &base, err) != PP_OK) {
            st = err->status;
            pp_err_prefix(err, "FROM %s: ", mf->from);
            goto out;
        }
        have_base = true;
        info_from_config(base.config_json, &gi);
        for (size_t i = 0; i < base.manifest.n_layers; i++) {
            const store_layer *bl = &base.manifest.layers[i];
            if (is_kind(bl, "template") || is_kind(bl, "system") || is_kind(bl, "license") || is_kind(bl, "params") ||
                is_kind(bl, "messages"))
                continue; /* re-added below in our order */
            if (p.convert && is_kind(bl, "model") && !converted) {
                char bpath[PATH_MAX], digest[72];
                uint64_t size = 0;
                converted = true;
                if ((st = store_blob_find(s, bl->digest, bpath, sizeof bpath, err)) != PP_OK) goto out;
                if ((st = convert_layer(s, &p, bpath, &gi, digest, &size, err)) != PP_OK) goto out;
                if ((st = push_layer(&l, bl->media_type, digest, size, err)) != PP_OK) goto out;
                continue;
            }
            say(&p, "using existing layer %s", bl->digest);
            if ((st = push_layer(&l, bl->media_type, bl->digest, bl->size, err)) != PP_OK) goto out;
        }
    }
    /* template, system: ours, else the base's */
    const char *tmpl = mf->tmpl ? mf->tmpl : (have_base ? base.tmpl : NULL);
    if (tmpl && (st = text_layer(s, &l, "template", tmpl, strlen(tmpl), &p, err)) != PP_OK) goto out;
    const char *sys = mf->system ? mf->system : (have_base ? base.system : NULL);
    if (sys && (st = text_layer(s, &l, "system", sys, strlen(sys), &p, err)) != PP_OK) goto out;
    if (mf->n_licenses) {
        for (size_t i = 0; i < mf->n_licenses; i++)
            if ((st = text_layer(s, &l, "license", mf->licenses[i], strlen(mf->licenses[i]), &p, err)) != PP_OK) goto out;
    } else if (have_base) {
        for (size_t i = 0; i < base.n_licenses; i++)
            if ((st = text_layer(s, &l, "license", base.licenses[i], strlen(base.licenses[i]), &p, err)) != PP_OK) goto out;
    }
    if (mf->n_params) {
        if ((st = store_params_json_merge(p.param, have_base ? base.params_json : NULL, mf->params, mf->n_params, &params, &plen,
                                          err)) != PP_OK)
            goto out;
        if ((st = text_layer(s, &l, "params", params, plen, &p, err)) != PP_OK) goto out;
    } else if (have_base && base.params_json) {
        if ((st = text_layer(s, &l, "params", base.params_json, strlen(base.params_json), &p, err)) != PP_OK) goto out;
    }
    if (mf->n_messages) {
        if ((st = store_messages_json(mf->messages, mf->n_messages, &msgs, &mlen, err)) != PP_OK) goto out;
        if ((st = text_layer(s, &l, "messages", msgs, mlen, &p, err)) != PP_OK) goto out;
    } else if (have_base && base.messages_json) {
        if ((st = text_layer(s, &l, "messages", base.messages_json, strlen(base.messages_json), &p, err)) != PP_OK) goto out;
    }

    /* config blob, then the manifest (last) */
    config_json(&cfg, &gi, mf->requires, &l);
    if (cfg.oom) { st = pp_err_set(err, PP_ERR_NOMEM, "create: out of memory"); goto out; }
    char cdigest[72];
    if ((st = store_blob_put(s, cfg.p, cfg.len, cdigest, err)) != PP_OK) goto out;
    store_layer config = {{0}, {0}, cfg.len};
    snprintf(config.media_type, sizeof config.media_type, "application/vnd.docker.container.image.v1+json");
    snprintf(config.digest, sizeof config.digest, "%s", cdigest);
    store_buf_adds(&man, "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
                         "\"config\":");
    add_layer_json(&man, &config);
    store_buf_adds(&man, ",\"layers\":[");
    for (size_t i = 0; i < l.n; i++) {
        if (i) store_buf_add(&man, ",", 1);
        add_layer_json(&man, &l.v[i]);
    }
    store_buf_adds(&man, "]}");
    if (man.oom) { st = pp_err_set(err, PP_ERR_NOMEM, "create: out of memory"); goto out; }
    say(&p, "writing manifest%s", "");
    if ((st = store_manifest_write(s, &n, man.p, man.len, err)) != PP_OK) goto out;
    say(&p, "success%s", "");
out:
    store_model_free(&base);
    free(l.v);
    free(params);
    free(msgs);
    store_buf_free(&cfg);
    store_buf_free(&man);
    return st;
}
