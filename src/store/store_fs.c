/* store_fs.c - the on-disk store (ollama-compat.md §4.1-4.2): opening the roots, manifests
 * (parse, case-insensitive lookup, atomic write), blobs, models by name, list, rm, cp and
 * pruning. Paths are only ever built from a validated store_name or digest.
 *
 * Ours: $PIPPA_MODELS (default ~/.pippa/models), read-write. Ollama's: $OLLAMA_MODELS
 * (default ~/.ollama/models), only read: nothing here opens a file there for writing,
 * creates, renames or deletes anything under it. */
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

struct store {
    char *root;
    char *ro_root; /* NULL: none */
    bool no_prune; /* store_set_prune(s, false) */
};

static char *join_home(const char *rel) {
    const char *home = getenv("HOME");
    if (!home || !*home) return NULL;
    size_t n = strlen(home) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", home, rel);
    return p;
}

pp_status store_open(const char *root, const char *ro_root, store **out, pp_err *err) {
    store *s = calloc(1, sizeof *s);
    if (!s) return pp_err_set(err, PP_ERR_NOMEM, "store: out of memory");
    if (!root) root = getenv("PIPPA_MODELS");
    s->root = root && *root ? strdup(root) : join_home(".pippa/models");
    if (!ro_root) ro_root = getenv("OLLAMA_MODELS");
    if (ro_root) s->ro_root = *ro_root ? strdup(ro_root) : NULL;
    else s->ro_root = join_home(".ollama/models");
    if (!s->root) {
        store_close(s);
        return pp_err_set(err, PP_ERR_ARG, "store: set PIPPA_MODELS or HOME");
    }
    /* the same directory twice: it is ours (the user chose to share it) */
    if (s->ro_root) {
        char a[PATH_MAX], b[PATH_MAX];
        if (realpath(s->root, a) && realpath(s->ro_root, b) && !strcmp(a, b)) {
            free(s->ro_root);
            s->ro_root = NULL;
        }
    }
    *out = s;
    return PP_OK;
}

void store_set_prune(store *s, bool prune) { s->no_prune = !prune; }

void store_close(store *s) {
    if (!s) return;
    free(s->root);
    free(s->ro_root);
    free(s);
}

const char *store_root(const store *s) { return s->root; }
const char *store_ro_root(const store *s) { return s->ro_root; }

/* ---- paths -------------------------------------------------------------------------- */

pp_status store_mkdirs(const char *path, pp_err *err) {
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof tmp) return pp_err_set(err, PP_ERR_ARG, "%s: path too long", path);
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == 0) {
            char c = tmp[i];
            tmp[i] = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return pp_err_set(err, PP_ERR_IO, "%s: cannot create directory: %s", tmp, strerror(errno));
            tmp[i] = c;
        }
    }
    return PP_OK;
}

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
static bool manifest_path(const char *root, const store_name *n, char *out, size_t cap) {
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

static pp_status blob_path_in(const char *root, const char *digest, char *buf, size_t cap, pp_err *err) {
    if (!store_digest_valid(digest)) return pp_err_set(err, PP_ERR_FORMAT, "invalid blob digest '%.80s'", digest);
    if ((size_t)snprintf(buf, cap, "%s/blobs/sha256-%s", root, digest + 7) >= cap)
        return pp_err_set(err, PP_ERR_ARG, "%s: path too long", root);
    return PP_OK;
}

pp_status store_blob_path(const store *s, const char *digest, char *buf, size_t cap, pp_err *err) {
    return blob_path_in(s->root, digest, buf, cap, err);
}

pp_status store_blob_find(const store *s, const char *digest, char *buf, size_t cap, pp_err *err) {
    struct stat st;
    if (blob_path_in(s->root, digest, buf, cap, err) != PP_OK) return err->status;
    if (stat(buf, &st) == 0 && S_ISREG(st.st_mode)) return PP_OK;
    if (s->ro_root && blob_path_in(s->ro_root, digest, buf, cap, err) == PP_OK && stat(buf, &st) == 0 &&
        S_ISREG(st.st_mode))
        return PP_OK;
    return pp_err_set(err, PP_ERR_NOT_FOUND, "blob %s is missing", digest);
}

bool store_blob_have(const store *s, const char *digest) {
    char p[PATH_MAX];
    struct stat st;
    pp_err e = {0};
    return blob_path_in(s->root, digest, p, sizeof p, &e) == PP_OK && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- atomic writes ------------------------------------------------------------------ */

pp_status store_write_atomic(const char *path, const void *p, size_t n, pp_err *err) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        if (store_mkdirs(dir, err) != PP_OK) return err->status;
    }
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= sizeof tmp)
        return pp_err_set(err, PP_ERR_ARG, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return pp_err_set(err, PP_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    const char *c = p;
    size_t left = n;
    while (left) {
        ssize_t w = write(fd, c, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            return pp_err_set(err, PP_ERR_IO, "%s: write failed: %s", tmp, strerror(e));
        }
        c += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return pp_err_set(err, PP_ERR_IO, "%s: write failed: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return pp_err_set(err, PP_ERR_IO, "%s: rename failed: %s", path, strerror(e));
    }
    return PP_OK;
}

pp_status store_blob_put(store *s, const void *p, size_t n, char digest_out[72], pp_err *err) {
    char hex[65], path[PATH_MAX];
    if (store_sha256_mem(p, n, hex, err) != PP_OK) return err->status;
    snprintf(digest_out, 72, "sha256:%s", hex);
    if (store_blob_path(s, digest_out, path, sizeof path, err) != PP_OK) return err->status;
    struct stat st;
    if (stat(path, &st) == 0 && (uint64_t)st.st_size == n) return PP_OK;
    return store_write_atomic(path, p, n, err);
}

pp_status store_blob_put_file(store *s, const char *src, char digest_out[72], uint64_t *size_out, pp_err *err) {
    char hex[65];
    /* hash first: an existing blob is not copied again (a 17 GB file is read once more
     * only when it is new) */
    if (store_sha256_file(src, hex, err) != PP_OK) return err->status;
    snprintf(digest_out, 72, "sha256:%s", hex);
    char path[PATH_MAX], tmp[PATH_MAX + 32];
    if (store_blob_path(s, digest_out, path, sizeof path, err) != PP_OK) return err->status;
    struct stat st;
    if (stat(src, &st) != 0) return pp_err_set(err, PP_ERR_IO, "%s: %s", src, strerror(errno));
    *size_out = (uint64_t)st.st_size;
    struct stat dst;
    if (stat(path, &dst) == 0 && dst.st_size == st.st_size) return PP_OK;
    char blobs[PATH_MAX];
    snprintf(blobs, sizeof blobs, "%s/blobs", s->root);
    if (store_mkdirs(blobs, err) != PP_OK) return err->status;
    snprintf(tmp, sizeof tmp, "%s-tmp-%ld", path, (long)getpid());
    FILE *in = fopen(src, "rb");
    if (!in) return pp_err_set(err, PP_ERR_IO, "%s: cannot open: %s", src, strerror(errno));
    FILE *out = fopen(tmp, "wb");
    if (!out) {
        fclose(in);
        return pp_err_set(err, PP_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    enum { CHUNK = 1 << 20 };
    char *buf = malloc(CHUNK);
    pp_status rc = PP_OK;
    size_t got;
    while (buf && (got = fread(buf, 1, CHUNK, in)) > 0)
        if (fwrite(buf, 1, got, out) != got) break;
    if (!buf) rc = pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    else if (ferror(in) || ferror(out) || fflush(out) != 0 || fsync(fileno(out)) != 0)
        rc = pp_err_set(err, PP_ERR_IO, "%s: copy failed: %s", tmp, strerror(errno));
    free(buf);
    fclose(in);
    if (fclose(out) != 0 && rc == PP_OK) rc = pp_err_set(err, PP_ERR_IO, "%s: copy failed", tmp);
    /* the file may have changed while we copied: hash the copy */
    if (rc == PP_OK) {
        char hex2[65];
        if (store_sha256_file(tmp, hex2, err) != PP_OK) rc = err->status;
        else if (strcmp(hex, hex2) != 0) rc = pp_err_set(err, PP_ERR_IO, "%s: changed while it was being copied", src);
    }
    if (rc == PP_OK && rename(tmp, path) != 0) rc = pp_err_set(err, PP_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
    if (rc != PP_OK) unlink(tmp);
    return rc;
}

pp_status store_blob_tmp_path(store *s, const char *tag, char *buf, size_t cap, pp_err *err) {
    char blobs[PATH_MAX];
    snprintf(blobs, sizeof blobs, "%s/blobs", s->root);
    if (store_mkdirs(blobs, err) != PP_OK) return err->status;
    if ((size_t)snprintf(buf, cap, "%s/.%s-%ld.tmp", blobs, tag, (long)getpid()) >= cap)
        return pp_err_set(err, PP_ERR_ARG, "%s: path too long", blobs);
    return PP_OK;
}

pp_status store_blob_adopt(store *s, const char *tmp_path, char digest_out[72], uint64_t *size_out, pp_err *err) {
    char hex[65], path[PATH_MAX];
    struct stat st;
    if (stat(tmp_path, &st) != 0) return pp_err_set(err, PP_ERR_IO, "%s: %s", tmp_path, strerror(errno));
    if (store_sha256_file(tmp_path, hex, err) != PP_OK) return err->status;
    snprintf(digest_out, 72, "sha256:%s", hex);
    if (store_blob_path(s, digest_out, path, sizeof path, err) != PP_OK) return err->status;
    if (rename(tmp_path, path) != 0) return pp_err_set(err, PP_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
    *size_out = (uint64_t)st.st_size;
    return PP_OK;
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

static pp_status load_manifest_file(const char *path, store_manifest *out, pp_err *err) {
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
    if (manifest_path(s->root, n, path, sizeof path)) return load_manifest_file(path, out, err);
    if (s->ro_root && manifest_path(s->ro_root, n, path, sizeof path)) {
        if (load_manifest_file(path, out, err) != PP_OK) return err->status;
        out->readonly = true;
        return PP_OK;
    }
    char disp[512];
    store_name_display(n, disp, sizeof disp);
    return pp_err_set(err, PP_ERR_NOT_FOUND, "model '%s' not found", disp);
}

pp_status store_manifest_write(store *s, const store_name *n, const char *raw, size_t len, pp_err *err) {
    char path[PATH_MAX];
    manifest_path(s->root, n, path, sizeof path);
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

/* ---- walking the manifests ---------------------------------------------------------- */

typedef void (*walk_fn)(const char *path, const store_name *n, void *ud);

/* Calls fn for every manifests/<host>/<ns>/<model>/<tag> whose parts form a valid name. */
static void walk(const char *root, walk_fn fn, void *ud) {
    char base[PATH_MAX];
    snprintf(base, sizeof base, "%s/manifests", root);
    DIR *d0 = opendir(base);
    if (!d0) return;
    struct dirent *e0, *e1, *e2, *e3;
    while ((e0 = readdir(d0))) {
        if (e0->d_name[0] == '.') continue;
        char p1[PATH_MAX];
        if ((size_t)snprintf(p1, sizeof p1, "%s/%s", base, e0->d_name) >= sizeof p1) continue;
        DIR *d1 = opendir(p1);
        if (!d1) continue;
        while ((e1 = readdir(d1))) {
            if (e1->d_name[0] == '.') continue;
            char p2[PATH_MAX];
            if ((size_t)snprintf(p2, sizeof p2, "%s/%s", p1, e1->d_name) >= sizeof p2) continue;
            DIR *d2 = opendir(p2);
            if (!d2) continue;
            while ((e2 = readdir(d2))) {
                if (e2->d_name[0] == '.') continue;
                char p3[PATH_MAX];
                if ((size_t)snprintf(p3, sizeof p3, "%s/%s", p2, e2->d_name) >= sizeof p3) continue;
                DIR *d3 = opendir(p3);
                if (!d3) continue;
                while ((e3 = readdir(d3))) {
                    if (e3->d_name[0] == '.' || strstr(e3->d_name, ".tmp-")) continue;
                    char p4[PATH_MAX], text[1024];
                    if ((size_t)snprintf(p4, sizeof p4, "%s/%s", p3, e3->d_name) >= sizeof p4) continue;
                    snprintf(text, sizeof text, "%s/%s/%s:%s", e0->d_name, e1->d_name, e2->d_name, e3->d_name);
                    store_name n;
                    pp_err e = {0};
                    struct stat st;
                    if (stat(p4, &st) != 0 || !S_ISREG(st.st_mode)) continue;
                    if (store_name_parse(text, &n, &e) != PP_OK) continue;
                    fn(p4, &n, ud);
                }
                closedir(d3);
            }
            closedir(d2);
        }
        closedir(d1);
    }
    closedir(d0);
}

typedef struct list_ctx {
    store_entry *v;
    size_t n, cap;
    bool readonly, oom;
} list_ctx;

static void list_one(const char *path, const store_name *n, void *ud) {
    list_ctx *c = ud;
    if (c->oom) return;
    for (size_t i = 0; i < c->n; i++)
        if (store_name_eq(&c->v[i].name, n)) return; /* ours shadows Ollama's */
    store_manifest m;
    pp_err e = {0};
    if (load_manifest_file(path, &m, &e) != PP_OK) return;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 16;
        store_entry *nv = realloc(c->v, nc * sizeof *nv);
        if (!nv) { c->oom = true; store_manifest_free(&m); return; }
        c->v = nv;
        c->cap = nc;
    }
    store_entry *en = &c->v[c->n++];
    memset(en, 0, sizeof *en);
    en->name = *n;
    store_name_display(n, en->display, sizeof en->display);
    memcpy(en->id, m.id, sizeof en->id);
    en->size = m.config.size;
    for (size_t i = 0; i < m.n_layers; i++) en->size += m.layers[i].size;
    en->mtime = m.mtime;
    en->readonly = c->readonly;
    store_manifest_free(&m);
}

static int cmp_entry(const void *a, const void *b) {
    const store_entry *x = a, *y = b;
    if (x->mtime != y->mtime) return x->mtime > y->mtime ? -1 : 1;
    return strcmp(x->display, y->display);
}

pp_status store_list(const store *s, store_entry **out, size_t *n, pp_err *err) {
    list_ctx c = {0};
    walk(s->root, list_one, &c);
    if (s->ro_root) {
        c.readonly = true;
        walk(s->ro_root, list_one, &c);
    }
    if (c.oom) {
        free(c.v);
        return pp_err_set(err, PP_ERR_NOMEM, "list: out of memory");
    }
    if (c.n) qsort(c.v, c.n, sizeof *c.v, cmp_entry);
    *out = c.v;
    *n = c.n;
    return PP_OK;
}

/* ---- rm, cp, prune ------------------------------------------------------------------ */

typedef struct ref_ctx {
    char (*d)[72];
    size_t n, cap;
    bool oom, bad;
} ref_ctx;

static void ref_add(ref_ctx *c, const char *digest) {
    if (c->oom) return;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        char (*nd)[72] = realloc(c->d, nc * sizeof *nd);
        if (!nd) { c->oom = true; return; }
        c->d = nd;
        c->cap = nc;
    }
    snprintf(c->d[c->n++], 72, "%s", digest);
}

static void ref_one(const char *path, const store_name *n, void *ud) {
    (void)n;
    ref_ctx *c = ud;
    store_manifest m;
    pp_err e = {0};
    if (load_manifest_file(path, &m, &e) != PP_OK) {
        c->bad = true; /* an unreadable manifest: do not prune what it might reference */
        return;
    }
    ref_add(c, m.config.digest);
    for (size_t i = 0; i < m.n_layers; i++) ref_add(c, m.layers[i].digest);
    store_manifest_free(&m);
}

pp_status store_prune(store *s, uint64_t *n_removed, pp_err *err) {
    ref_ctx c = {0};
    uint64_t removed = 0;
    walk(s->root, ref_one, &c);
    if (c.oom) {
        free(c.d);
        return pp_err_set(err, PP_ERR_NOMEM, "prune: out of memory");
    }
    if (c.bad) {
        free(c.d);
        if (n_removed) *n_removed = 0;
        return PP_OK;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/blobs", s->root);
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            /* only complete blobs: "sha256-<64 hex>"; partial downloads are left alone */
            if (strlen(e->d_name) != 71 || strncmp(e->d_name, "sha256-", 7) != 0) continue;
            char digest[72];
            snprintf(digest, sizeof digest, "sha256:%s", e->d_name + 7);
            if (!store_digest_valid(digest)) continue;
            bool used = false;
            for (size_t i = 0; i < c.n && !used; i++) used = !strcmp(c.d[i], digest);
            if (used) continue;
            char p[PATH_MAX];
            if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= sizeof p) continue;
            if (unlink(p) == 0) removed++;
        }
        closedir(d);
    }
    free(c.d);
    if (n_removed) *n_removed = removed;
    return PP_OK;
}

pp_status store_remove(store *s, const char *name, pp_err *err) {
    store_name n;
    if (store_name_parse(name, &n, err) != PP_OK) return err->status;
    char disp[512], path[PATH_MAX];
    store_name_display(&n, disp, sizeof disp);
    if (!manifest_path(s->root, &n, path, sizeof path)) {
        char ro[PATH_MAX];
        if (s->ro_root && manifest_path(s->ro_root, &n, ro, sizeof ro))
            return pp_err_set(err, PP_ERR_ARG, "model '%s' is in the Ollama store (%s), which pippa never modifies; use 'ollama rm'",
                              disp, s->ro_root);
        return pp_err_set(err, PP_ERR_NOT_FOUND, "model '%s' not found", disp);
    }
    if (unlink(path) != 0) return pp_err_set(err, PP_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
    /* remove empty parents up to manifests/ */
    for (int i = 0; i < 3; i++) {
        char *sl = strrchr(path, '/');
        if (!sl) break;
        *sl = 0;
        if (rmdir(path) != 0) break;
    }
    if (s->no_prune) return PP_OK;
    return store_prune(s, NULL, err);
}

pp_status store_copy(store *s, const char *src, const char *dst, pp_err *err) {
    store_name a, b;
    if (store_name_parse(src, &a, err) != PP_OK) return err->status;
    if (store_name_parse(dst, &b, err) != PP_OK) return err->status;
    store_manifest m;
    if (store_manifest_load(s, &a, &m, err) != PP_OK) return err->status;
    pp_status st = store_manifest_write(s, &b, m.raw, m.raw_len, err);
    store_manifest_free(&m);
    return st;
}
