/* store_manifest.c - manifests and models by name (ollama-compat.md §4.1-4.2): the
 * case-insensitive manifest lookup under a root, parsing and validating a manifest (every
 * digest is checked before it becomes a path), loading one from our store or else Ollama's,
 * writing one atomically into ours, and resolving a name to its model blob and text layers.
 * Nothing here writes under the read-only Ollama root. */
#include "store.h"
#include "store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define STORE_TEXT_LAYER_MAX (16u << 20) /* template/system/params/messages/license/config */

/* Finds entry `name` in dir case-insensitively (exact match first). Writes the real entry
 * name into out. */
static bool find_ci(const char *dir, const char *name, char *out, size_t cap) {
    char p[PATH_MAX];
    struct stat stt;
    if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, name) < sizeof p && stat(p, &stt) == 0) {
        snprintf(out, cap, "%s", name);
        return true;
    }
    DIR *d = opendir(dir);
    if (!d) return false;
    struct dirent *e;
    bool found = false;
    while ((e = readdir(d))) {
        if (!strcasecmp(e->d_name, name)) {
            snprintf(out, cap, "%s", e->d_name);
            found = true;
            break;
        }
    }
    closedir(d);
    return found;
}

/* Manifest path of n under root: the existing entry (any case) if there is one, else the
 * name as given. Returns true if the file exists. */
bool store_manifest_path(const char *root, const store_name *n, char *out, size_t cap) {
    const char *parts[4] = {n->host, n->ns, n->model, n->tag};
    char cur[PATH_MAX];
    snprintf(cur, sizeof cur, "%s/manifests", root);
    bool exists = true;
    for (int i = 0; i < 4; i++) {
        char real[STORE_HOST_MAX + 1];
        if (exists && find_ci(cur, parts[i], real, sizeof real)) {
            size_t l = strlen(cur);
            snprintf(cur + l, sizeof cur - l, "/%s", real);
        } else {
            exists = false;
            size_t l = strlen(cur);
            snprintf(cur + l, sizeof cur - l, "/%s", parts[i]);
        }
    }
    snprintf(out, cap, "%s", cur);
    if (!exists) return false;
    struct stat st;
    return stat(cur, &st) == 0 && S_ISREG(st.st_mode);
}
/* ---- manifests ---------------------------------------------------------------------- */

static pp_status parse_layer(json_t *o, const char *where, const char *field, store_layer *l, pp_err *err) {
    if (!json_is_object(o)) return pp_err_set(err, PP_ERR_FORMAT, "%s: %s: expected an object", where, field);
    json_t *mt = json_object_get(o, "mediaType"), *dg = json_object_get(o, "digest"), *sz = json_object_get(o, "size");
    if (!json_is_string(dg)) return pp_err_set(err, PP_ERR_FORMAT, "%s: %s.digest: expected a string", where, field);
    if (!store_digest_valid(json_string_value(dg))) {
        char shown[96];
        size_t k = 0;
        for (const char *c = json_string_value(dg); *c && k < 80; c++) shown[k++] = (*c >= 0x20 && *c < 0x7f) ? *c : '?';
        shown[k] = 0;
        return pp_err_set(err, PP_ERR_FORMAT, "%s: %s.digest: invalid digest '%s' (want sha256:<64 lowercase hex>)",
                          where, field, shown);
    }
    if (!json_is_string(mt) || json_string_length(mt) >= sizeof l->media_type)
        return pp_err_set(err, PP_ERR_FORMAT, "%s: %s.mediaType: expected a string", where, field);
    if (!json_is_integer(sz) || json_integer_value(sz) < 0)
        return pp_err_set(err, PP_ERR_FORMAT, "%s: %s.size: expected a non-negative integer", where, field);
    snprintf(l->media_type, sizeof l->media_type, "%s", json_string_value(mt));
    snprintf(l->digest, sizeof l->digest, "%s", json_string_value(dg));
    l->size = (uint64_t)json_integer_value(sz);
    return PP_OK;
}

pp_status store_manifest_parse(const char *bytes, size_t len, const char *where, store_manifest *out, pp_err *err) {
    store_manifest m;
    memset(&m, 0, sizeof m);
    if (len > STORE_MANIFEST_MAX) return pp_err_set(err, PP_ERR_FORMAT, "%s: manifest larger than %u bytes", where, STORE_MANIFEST_MAX);
    json_error_t je;
    json_t *root = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) return pp_err_set(err, PP_ERR_FORMAT, "%s: bad manifest JSON: %s (line %d)", where, je.text, je.line);
    pp_status st = PP_OK;
    json_t *sv = json_object_get(root, "schemaVersion");
    if (!json_is_object(root) || !json_is_integer(sv) || json_integer_value(sv) != 2) {
        st = pp_err_set(err, PP_ERR_FORMAT, "%s: manifest: schemaVersion must be 2", where);
        goto out;
    }
    if ((st = parse_layer(json_object_get(root, "config"), where, "config", &m.config, err)) != PP_OK) goto out;
    json_t *layers = json_object_get(root, "layers");
    if (!json_is_array(layers) || json_array_size(layers) == 0 || json_array_size(layers) > STORE_LAYERS_MAX) {
        st = pp_err_set(err, PP_ERR_FORMAT, "%s: manifest: layers must be an array of 1..%d layers", where, STORE_LAYERS_MAX);
        goto out;
    }
    m.n_layers = json_array_size(layers);
    m.layers = calloc(m.n_layers, sizeof *m.layers);
    m.raw = malloc(len + 1);
    if (!m.layers || !m.raw) {
        st = pp_err_set(err, PP_ERR_NOMEM, "%s: out of memory", where);
        goto out;
    }
    for (size_t i = 0; i < m.n_layers; i++) {
        char field[32];
        snprintf(field, sizeof field, "layers[%zu]", i);
        if ((st = parse_layer(json_array_get(layers, i), where, field, &m.layers[i], err)) != PP_OK) goto out;
    }
    memcpy(m.raw, bytes, len);
    m.raw[len] = 0;
    m.raw_len = len;
    if ((st = store_sha256_mem(bytes, len, m.id, err)) != PP_OK) goto out;
out:
    json_decref(root);
    if (st != PP_OK) {
        store_manifest_free(&m);
        return st;
    }
    *out = m;
    return PP_OK;
}

void store_manifest_free(store_manifest *m) {
    if (!m) return;
    free(m->layers);
    free(m->raw);
    memset(m, 0, sizeof *m);
}

pp_status store_manifest_load_file(const char *path, store_manifest *out, pp_err *err) {
    char *buf;
    size_t len;
    if (pp_read_file(path, &buf, &len, STORE_MANIFEST_MAX, err) != PP_OK) return err->status;
    pp_status st = store_manifest_parse(buf, len, path, out, err);
    free(buf);
    if (st != PP_OK) return st;
    struct stat sb;
    if (stat(path, &sb) == 0) out->mtime = (int64_t)sb.st_mtime;
    return PP_OK;
}

pp_status store_manifest_load(const store *s, const store_name *n, store_manifest *out, pp_err *err) {
    char path[PATH_MAX];
    if (store_manifest_path(s->root, n, path, sizeof path)) return store_manifest_load_file(path, out, err);
    if (s->ro_root && store_manifest_path(s->ro_root, n, path, sizeof path)) {
        if (store_manifest_load_file(path, out, err) != PP_OK) return err->status;
        out->readonly = true;
        return PP_OK;
    }
    char disp[512];
    store_name_display(n, disp, sizeof disp);
    return pp_err_set(err, PP_ERR_NOT_FOUND, "model '%s' not found", disp);
}

pp_status store_manifest_write(store *s, const store_name *n, const char *raw, size_t len, pp_err *err) {
    char path[PATH_MAX];
    store_manifest_path(s->root, n, path, sizeof path);
    return store_write_atomic(path, raw, len, err);
}

/* ---- models by name ----------------------------------------------------------------- */

static pp_status read_text_blob(const store *s, const store_layer *l, char **out, pp_err *err) {
    char path[PATH_MAX];
    if (store_blob_find(s, l->digest, path, sizeof path, err) != PP_OK) return err->status;
    size_t len;
    return pp_read_file(path, out, &len, STORE_TEXT_LAYER_MAX, err);
}

static bool is_type(const store_layer *l, const char *suffix) {
    static const char P[] = "application/vnd.ollama.image.";
    return !strncmp(l->media_type, P, sizeof P - 1) && !strcmp(l->media_type + sizeof P - 1, suffix);
}

pp_status store_model_load(const store *s, const char *name, store_model *out, pp_err *err) {
    store_model m;
    memset(&m, 0, sizeof m);
    if (store_name_parse(name, &m.name, err) != PP_OK) return err->status;
    store_name_display(&m.name, m.display, sizeof m.display);
    if (store_manifest_load(s, &m.name, &m.manifest, err) != PP_OK) return err->status;
    pp_status st = PP_OK;
    char path[PATH_MAX];
    for (size_t i = 0; i < m.manifest.n_layers; i++) {
        const store_layer *l = &m.manifest.layers[i];
        char **slot = NULL;
        if (is_type(l, "model")) {
            if (m.model_path) continue;
            if ((st = store_blob_find(s, l->digest, path, sizeof path, err)) != PP_OK) goto fail;
            if (!(m.model_path = strdup(path))) goto oom;
            continue;
        }
        if (is_type(l, "adapter")) { m.has_adapter = true; continue; }
        if (is_type(l, "projector")) { m.has_projector = true; continue; }
        if (is_type(l, "template")) { slot = &m.tmpl; snprintf(m.tmpl_digest, sizeof m.tmpl_digest, "%s", l->digest); }
        else if (is_type(l, "system")) slot = &m.system;
        else if (is_type(l, "params")) slot = &m.params_json;
        else if (is_type(l, "messages")) slot = &m.messages_json;
        else if (is_type(l, "license")) {
            char *t;
            if ((st = read_text_blob(s, l, &t, err)) != PP_OK) goto fail;
            char **nl = realloc(m.licenses, (m.n_licenses + 1) * sizeof *nl);
            if (!nl) { free(t); goto oom; }
            m.licenses = nl;
            m.licenses[m.n_licenses++] = t;
            continue;
        } else continue; /* unknown/old layer types are ignored */
        free(*slot);
        *slot = NULL;
        if ((st = read_text_blob(s, l, slot, err)) != PP_OK) goto fail;
    }
    if (!m.model_path) {
        st = pp_err_set(err, PP_ERR_FORMAT, "model '%s' has no model layer (application/vnd.ollama.image.model)", m.display);
        goto fail;
    }
    if (read_text_blob(s, &m.manifest.config, &m.config_json, err) != PP_OK) m.config_json = NULL; /* optional */
    memset(err, 0, sizeof *err);
    *out = m;
    return PP_OK;
oom:
    st = pp_err_set(err, PP_ERR_NOMEM, "out of memory");
fail:
    pp_err_prefix(err, "model '%s': ", m.display);
    store_model_free(&m);
    return st;
}

void store_model_free(store_model *m) {
    if (!m) return;
    store_manifest_free(&m->manifest);
    free(m->model_path);
    free(m->tmpl);
    free(m->system);
    free(m->params_json);
    free(m->messages_json);
    for (size_t i = 0; i < m->n_licenses; i++) free(m->licenses[i]);
    free(m->licenses);
    free(m->config_json);
    memset(m, 0, sizeof *m);
}
