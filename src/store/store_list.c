/* store_list.c - whole-store operations (ollama-compat.md §4.2): walking every manifest
 * under a root, `list` (ours shadow Ollama's of the same name, newest first), `rm` (our
 * manifest only, then empty parents, then a prune unless disabled), `cp` and `prune`, which
 * deletes only complete blobs of ours that no readable manifest references. The read-only
 * Ollama root is walked for listing and never modified. */
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
    if (store_manifest_load_file(path, &m, &e) != PP_OK) return;
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
    if (store_manifest_load_file(path, &m, &e) != PP_OK) {
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
    if (!store_manifest_path(s->root, &n, path, sizeof path)) {
        char ro[PATH_MAX];
        if (s->ro_root && store_manifest_path(s->ro_root, &n, ro, sizeof ro))
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
