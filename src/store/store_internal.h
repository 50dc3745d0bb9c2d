/* store_internal.h - helpers shared by the store's files (not part of the public API). */
#ifndef PIPPA_STORE_INTERNAL_H
#define PIPPA_STORE_INTERNAL_H

#include "store.h"

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

#endif
