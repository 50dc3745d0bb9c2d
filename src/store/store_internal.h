/* store_internal.h - helpers shared by the store's files (not part of the public API). */
#ifndef PIPPA_STORE_INTERNAL_H
#define PIPPA_STORE_INTERNAL_H

#include "store.h"

#include <curl/curl.h>

struct store {
    char *root;
    char *ro_root; /* NULL: none */
    bool no_prune; /* store_set_prune(s, false) */
};

/* mkdir -p */
pp_status store_mkdirs(const char *path, pp_err *err);
/* Writes a file through "<path>.tmp-<pid>" + fsync + rename; creates the directory. */
pp_status store_write_atomic(const char *path, const void *p, size_t n, pp_err *err);
/* True if our store (not Ollama's) has the blob. */
bool store_blob_have(const store *s, const char *digest);

/* Hashes a file already inside our store's blobs directory and renames it to its digest. */
pp_status store_blob_adopt(store *s, const char *tmp_path, char digest_out[72], uint64_t *size_out, pp_err *err);
/* A temporary path in our blobs directory (same file system as the blobs). */
pp_status store_blob_tmp_path(store *s, const char *tag, char *buf, size_t cap, pp_err *err);

/* Manifest path of n under root: the existing entry (any case) if there is one, else the
 * name as given. Returns true if the file exists. */
bool store_manifest_path(const char *root, const store_name *n, char *out, size_t cap);
/* Reads and parses the manifest file at path (its mtime included). */
pp_status store_manifest_load_file(const char *path, store_manifest *out, pp_err *err);

/* ---- the registry client (store_registry.c), driven by store_pull.c ---------------- */

typedef struct pull_ctx {
    store *s;
    store_pull_params p;
    store_name n;
    char display[512];
    char base[STORE_HOST_MAX + 16]; /* "https://host" */
    char auth[4096];                /* "Authorization: Bearer ..." or "" */
} pull_ctx;

typedef struct membuf {
    store_buf b;
    size_t max;
    bool too_big;
    char www_auth[1024];
} membuf;

/* True once store_global_init has succeeded. */
bool store_global_ready(void);
/* Options every registry handle gets: allowed protocols, user agent, no signals, timeout. */
void store_set_protocols(pull_ctx *c, CURL *h);
/* GET url into m; *code = HTTP status. Follows redirects. */
pp_status store_http_get(pull_ctx *c, const char *url, const char *accept, membuf *m, long *code, pp_err *err);
/* Anonymous token from the realm named by a 401 (public repositories). */
pp_status store_fetch_token(pull_ctx *c, const char *www, pp_err *err);
/* Resolves the blob URL: same-host redirects followed, a cross-host redirect is the answer. */
pp_status store_resolve_blob_url(pull_ctx *c, const char *digest, char *url, size_t cap, pp_err *err);

#endif
