/* catalog_resolve.c - model names and paths -> a GGUF file and its Modelfile defaults, the
 * one resolver of the CLI and the server, and the list of every model (see catalog.h for
 * the sources and their order).
 *
 * Templates: pippa renders Gemma 3 chat natively (src/engine/chat.c). A model whose
 * TEMPLATE is absent or one of the known gemma3 templates (compared by digest or by text
 * with whitespace removed) is rendered exactly; the front ends warn about any other.
 * Invariant: a client's name is validated by the store (store_name_parse) or compared with
 * names we listed (registered, readdir); it is never turned into a path. */
#include "catalog.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/sha.h>

#define CATALOG_PATH_MAX 4096

/* Ollama library gemma3 template, blob sha256:e0a42594d802... (358 bytes; ollama-compat.md
 * §2.4, reconstructed and checked against the digest). */
static const char GEMMA3_LIBRARY_TEMPLATE[] =
    "{{- range $i, $_ := .Messages }}\n"
    "{{- $last := eq (len (slice $.Messages $i)) 1 }}\n"
    "{{- if or (eq .Role \"user\") (eq .Role \"system\") }}<start_of_turn>user\n"
    "{{ .Content }}<end_of_turn>\n"
    "{{ if $last }}<start_of_turn>model\n"
    "{{ end }}\n"
    "{{- else if eq .Role \"assistant\" }}<start_of_turn>model\n"
    "{{ .Content }}{{ if not $last }}<end_of_turn>\n"
    "{{ end }}\n"
    "{{- end }}\n"
    "{{- end }}";

const char *catalog_gemma3_template(void) { return GEMMA3_LIBRARY_TEMPLATE; }

/* Template blobs known to be Gemma 3's chat format (library gemma3/gemma2; gemma3:270m). */
static const char *const GEMMA3_TEMPLATE_DIGESTS[] = {
    "sha256:e0a42594d802e5d31cdc786deb4823edb8adff66094d49de8fffe976d753e348",
    "sha256:4b19ac7dd2fb", /* prefix: only the first 12 hex digits are published */
};

static bool same_normalized(const char *a, const char *b) {
    for (;;) {
        while (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r') a++;
        while (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r') b++;
        if (*a != *b) return false;
        if (!*a) return true;
        a++;
        b++;
    }
}

bool catalog_template_is_gemma3(const char *tmpl, const char *digest) {
    if (!tmpl) return true;
    for (size_t i = 0; i < sizeof GEMMA3_TEMPLATE_DIGESTS / sizeof *GEMMA3_TEMPLATE_DIGESTS; i++)
        if (digest && !strncmp(digest, GEMMA3_TEMPLATE_DIGESTS[i], strlen(GEMMA3_TEMPLATE_DIGESTS[i]))) return true;
    return same_normalized(tmpl, GEMMA3_LIBRARY_TEMPLATE);
}

pp_status catalog_name_normalize(const char *in, char *out, size_t cap, pp_err *err) {
    size_t n = strlen(in);
    if (n == 0) return pp_err_set(err, PP_ERR_ARG, "model is required");
    if (n >= CATALOG_NAME_MAX - 8) return pp_err_set(err, PP_ERR_ARG, "invalid model name: too long");
    char buf[CATALOG_NAME_MAX];
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

catalog_params catalog_default_params(void) {
    catalog_params p;
    memset(&p, 0, sizeof p);
    return p;
}

void catalog_model_free(catalog_model *m) {
    if (!m) return;
    free(m->path);
    for (size_t i = 0; i < m->n_msgs; i++) {
        free(m->msg_role[i]);
        free(m->msg_content[i]);
    }
    free(m->msg_role);
    free(m->msg_content);
    store_model_free(&m->m);
    memset(m, 0, sizeof *m);
}

void catalog_model_list_free(catalog_model *v, size_t n) {
    for (size_t i = 0; i < n; i++) catalog_model_free(&v[i]);
    free(v);
}

/* ---- a file: a path, a registered name, a directory entry ---------------------------- */

static bool is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static void take_string(json_t *j, const char *key, char **slot) {
    const char *s = json_string_value(json_object_get(j, key));
    if (s) *slot = strdup(s);
}

/* Fills name, path, size, mtime, digest (sha256 of "path size mtime": identifies the file
 * version without reading gigabytes) and the sidecar's fields. */
static pp_status model_file(catalog_model *m, const char *name, const char *path, const char *sidecar, pp_err *err) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return pp_err_set(err, PP_ERR_NOT_FOUND, "model '%s' not found", name);
    catalog_model_free(m);
    snprintf(m->name, sizeof m->name, "%s", name);
    if (strlen(path) >= CATALOG_PATH_MAX) return pp_err_set(err, PP_ERR_ARG, "%s: path too long", name);
    if (!(m->path = strdup(path))) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    m->size = (uint64_t)st.st_size;
    m->modified = (int64_t)st.st_mtime;
    char id[CATALOG_PATH_MAX + 64];
    int n = snprintf(id, sizeof id, "%s %llu %lld", path, (unsigned long long)st.st_size, (long long)st.st_mtime);
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)id, (size_t)n, h);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) snprintf(m->digest + 2 * i, 3, "%02x", h[i]);
    json_error_t je;
    json_t *j = sidecar ? json_load_file(sidecar, 0, &je) : NULL;
    if (j) {
        take_string(j, "system", &m->m.system);
        take_string(j, "template", &m->m.tmpl);
        json_t *v = json_object_get(j, "parameters");
        if (json_is_object(v)) m->m.params_json = json_dumps(v, JSON_COMPACT);
        json_decref(j);
    }
    m->template_ok = catalog_template_is_gemma3(m->m.tmpl, NULL);
    return PP_OK;
}

/* Calls fn for each registered and directory model; stops when fn returns true. */
typedef bool (*model_visit)(const char *name, const char *path, const char *sidecar, void *ud);

static void registered_foreach(const catalog_params *p, model_visit fn, void *ud) {
    pp_err e;
    char name[CATALOG_NAME_MAX];
    for (int i = 0; i < p->n_registered; i++) {
        if (catalog_name_normalize(p->reg_name[i], name, sizeof name, &e)) continue;
        if (fn(name, p->reg_path[i], NULL, ud)) return;
    }
}

static void dir_foreach(const catalog_params *p, model_visit fn, void *ud) {
    if (!p->gguf_dir || !p->gguf_dir[0]) return;
    DIR *d = opendir(p->gguf_dir);
    if (!d) return;
    struct dirent *de;
    pp_err e;
    char name[CATALOG_NAME_MAX];
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n <= 5 || strcmp(de->d_name + n - 5, ".gguf") != 0 || de->d_name[0] == '.') continue;
        char stem[CATALOG_NAME_MAX];
        if (n - 5 >= sizeof stem) continue;
        memcpy(stem, de->d_name, n - 5);
        stem[n - 5] = 0;
        if (catalog_name_normalize(stem, name, sizeof name, &e)) continue;
        char path[CATALOG_PATH_MAX], side[CATALOG_PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", p->gguf_dir, de->d_name) >= (int)sizeof path) continue;
        if (snprintf(side, sizeof side, "%s/%s.json", p->gguf_dir, stem) >= (int)sizeof side) continue;
        if (fn(name, path, access(side, R_OK) == 0 ? side : NULL, ud)) break;
    }
    closedir(d);
}

typedef struct find_ctx {
    const char *want;
    catalog_model *out;
    pp_status st;
    pp_err *err;
    bool found;
} find_ctx;

static bool find_visit(const char *name, const char *path, const char *sidecar, void *ud) {
    find_ctx *f = ud;
    if (strcmp(name, f->want) != 0) return false;
    f->found = true;
    f->st = model_file(f->out, name, path, sidecar, f->err);
    return true;
}

/* ---- a store model ------------------------------------------------------------------- */

/* The messages layer ([{"role","content"},...]) into msg_role/msg_content. */
static pp_status load_messages(catalog_model *cm, pp_err *err) {
    json_error_t je;
    json_t *a = json_loads(cm->m.messages_json, 0, &je);
    if (!json_is_array(a)) {
        json_decref(a);
        return pp_err_set(err, PP_ERR_FORMAT, "model '%s': messages layer is not a JSON array", cm->m.display);
    }
    size_t n = json_array_size(a);
    cm->msg_role = calloc(n + 1, sizeof *cm->msg_role);
    cm->msg_content = calloc(n + 1, sizeof *cm->msg_content);
    pp_status st = cm->msg_role && cm->msg_content ? PP_OK : pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && !st; i++) {
        json_t *m = json_array_get(a, i);
        const char *r = json_string_value(json_object_get(m, "role"));
        const char *c = json_string_value(json_object_get(m, "content"));
        if (!r || !c || (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant"))) {
            st = pp_err_set(err, PP_ERR_FORMAT,
                            "model '%s': messages layer: message %zu needs a role (system, user, assistant) and content",
                            cm->m.display, i);
            break;
        }
        cm->msg_role[i] = strdup(r);
        cm->msg_content[i] = strdup(c);
        cm->n_msgs = i + 1;
        if (!cm->msg_role[i] || !cm->msg_content[i]) st = pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    }
    json_decref(a);
    return st;
}

/* Fills cm from a loaded store model (taking it over). */
static pp_status model_store(const catalog_params *p, store_model *sm, catalog_model *cm, pp_err *err) {
    cm->m = *sm;
    memset(sm, 0, sizeof *sm);
    cm->from_store = true;
    snprintf(cm->name, sizeof cm->name, "%s", cm->m.display);
    if (!(cm->path = strdup(cm->m.model_path))) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    snprintf(cm->digest, sizeof cm->digest, "%s", cm->m.manifest.id);
    cm->size = cm->m.manifest.config.size;
    for (size_t i = 0; i < cm->m.manifest.n_layers; i++) cm->size += cm->m.manifest.layers[i].size;
    cm->modified = cm->m.manifest.mtime;
    cm->readonly = cm->m.manifest.readonly;
    cm->template_ok = catalog_template_is_gemma3(cm->m.tmpl, cm->m.tmpl_digest);
    if (p->messages && cm->m.messages_json) return load_messages(cm, err);
    return PP_OK;
}

/* Looks name up in the store. *opened: the store could be opened. */
static pp_status from_store(const catalog_params *p, const char *name, catalog_model *out, bool *opened,
                            pp_err *err) {
    store *s = NULL;
    *opened = false;
    pp_status st = store_open(NULL, NULL, &s, err);
    if (st != PP_OK) return st;
    *opened = true;
    store_model sm;
    memset(&sm, 0, sizeof sm);
    st = store_model_load_or_demo(s, name, catalog_gguf_info, catalog_param_lookup, &sm, err);
    store_close(s);
    if (st != PP_OK) return st;
    return model_store(p, &sm, out, err);
}

pp_status catalog_resolve(const catalog_params *p, const char *name, catalog_model *out, pp_err *err) {
    memset(out, 0, sizeof *out);
    size_t n = strlen(name);
    if (p->paths && ((n >= 5 && !strcmp(name + n - 5, ".gguf")) || (strchr(name, '/') && is_file(name)))) {
        snprintf(out->name, sizeof out->name, "%s", name);
        out->template_ok = true;
        if (!(out->path = strdup(name))) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
        return PP_OK;
    }
    if (p->paths) { /* the CLI: the store is the only other source, and its error the answer */
        store_name sn;
        bool opened;
        if (store_name_parse(name, &sn, err) != PP_OK) return err->status;
        return from_store(p, name, out, &opened, err);
    }
    char norm[CATALOG_NAME_MAX];
    pp_err nerr = {0};
    bool plain = catalog_name_normalize(name, norm, sizeof norm, &nerr) == PP_OK;
    find_ctx f = {norm, out, PP_OK, err, false};
    if (plain) { /* registered names win */
        registered_foreach(p, find_visit, &f);
        if (f.found) return f.st;
    }
    pp_err serr = {0};
    bool opened;
    pp_status st = from_store(p, name, out, &opened, &serr);
    if (st == PP_OK) return PP_OK;
    catalog_model_free(out);
    if (opened && st != PP_ERR_NOT_FOUND && plain) /* a broken store entry is an error, not "absent" */
        return pp_err_set(err, st, "%s", serr.msg);
    if (!plain) { /* a namespaced name ("me/m", "hf.co/u/r:Q4_K_M") that is absent, or an invalid one */
        if (st == PP_ERR_NOT_FOUND) return pp_err_set(err, st, "model '%s' not found", name);
        return pp_err_set(err, PP_ERR_ARG, "%s", nerr.msg);
    }
    dir_foreach(p, find_visit, &f);
    if (f.found) return f.st;
    return pp_err_set(err, PP_ERR_NOT_FOUND, "model '%s' not found", name);
}

/* ---- the list ------------------------------------------------------------------------ */

typedef struct list_ctx {
    catalog_model *v;
    size_t n, cap;
    bool oom;
} list_ctx;

static bool list_has(const list_ctx *l, const char *name) {
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].name, name)) return true;
    return false;
}

static catalog_model *list_slot(list_ctx *l) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        catalog_model *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) {
            l->oom = true;
            return NULL;
        }
        l->v = nv;
        l->cap = nc;
    }
    memset(&l->v[l->n], 0, sizeof l->v[l->n]);
    return &l->v[l->n];
}

static bool list_visit(const char *name, const char *path, const char *sidecar, void *ud) {
    list_ctx *l = ud;
    if (list_has(l, name)) return false; /* first registration wins */
    catalog_model *m = list_slot(l);
    if (!m) return true;
    pp_err e;
    if (model_file(m, name, path, sidecar, &e) == PP_OK) l->n++;
    else catalog_model_free(m);
    return false;
}

static void list_add_store(const catalog_params *p, list_ctx *l) {
    store *s = NULL;
    pp_err e = {0};
    if (store_open(NULL, NULL, &s, &e)) return;
    store_entry *ents = NULL;
    size_t n = 0;
    if (store_list(s, &ents, &n, &e) == PP_OK) {
        for (size_t i = 0; i < n && !l->oom; i++) {
            if (list_has(l, ents[i].display)) continue;
            store_model sm;
            memset(&sm, 0, sizeof sm);
            if (store_model_load(s, ents[i].display, &sm, &e) != PP_OK) continue;
            catalog_model *m = list_slot(l);
            if (!m) {
                store_model_free(&sm);
                break;
            }
            catalog_params q = *p;
            q.messages = false;
            if (model_store(&q, &sm, m, &e) == PP_OK) l->n++;
            else catalog_model_free(m);
        }
        free(ents);
    }
    store_close(s);
}

pp_status catalog_list(const catalog_params *p, catalog_model **out, size_t *n, pp_err *err) {
    list_ctx l = {0};
    registered_foreach(p, list_visit, &l);
    list_add_store(p, &l);
    dir_foreach(p, list_visit, &l);
    if (l.oom) {
        catalog_model_list_free(l.v, l.n);
        return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    }
    *out = l.v;
    *n = l.n;
    return PP_OK;
}
