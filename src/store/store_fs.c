/* store_fs.c - the on-disk store (ollama-compat.md §4.1-4.2): opening the roots, creating
 * directories, blob paths (ours, then Ollama's), atomic writes and putting blobs into our
 * store by content. Manifests and models by name are in store_manifest.c; list, rm, cp and
 * pruning in store_list.c. Paths are only ever built from a validated store_name or digest.
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
