/* api_blobs.c - HEAD /api/blobs/sha256:<hex> (200 when the store has it, else 404) and
 * POST /api/blobs/sha256:<hex> (the raw body becomes a blob: 201, or 400 when its sha256
 * differs), the upload step before /api/create {"files": ...} (ollama-compat.md §3.2,
 * §3.7). The body streams into a temporary file in the store's blobs directory (no
 * HTTP_MAX_BODY limit; bounded by API_MAX_BLOB), then store_blob_put_file hashes it and
 * moves it into place; the temporary file is removed on every path, including a client
 * that disconnects mid-upload. */
#include "server_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../store/store.h"

#define API_MAX_BLOB (1ULL << 40) /* 1 TiB */

static void blob_fail(http_req *r, unsigned status, const char *msg) {
    if (r->blob_status) return;
    r->blob_status = status;
    snprintf(r->blob_err, sizeof r->blob_err, "%s", msg);
    if (r->blob_fd >= 0) {
        close(r->blob_fd);
        r->blob_fd = -1;
        unlink(r->blob_tmp);
    }
}

/* mkdir -p */
static bool make_dirs(const char *path) {
    char tmp[API_PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) return false;
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return false;
            *p = '/';
        }
    return mkdir(tmp, 0755) == 0 || errno == EEXIST;
}

static uint64_t blob_written(const http_req *r) {
    struct stat st;
    return r->blob_fd >= 0 && fstat(r->blob_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

void api_blob_begin(http_req *r, const char *digest) {
    r->blob = true;
    if (!store_digest_valid(digest)) {
        char msg[200];
        snprintf(msg, sizeof msg, "invalid digest '%.80s' (expected sha256:<64 hex>)", digest);
        return blob_fail(r, 400, msg);
    }
    store *s = NULL;
    pp_err err = {0};
    if (api_store_open(&s, &err)) return blob_fail(r, 500, err.msg);
    char dir[API_PATH_MAX];
    int n = snprintf(dir, sizeof dir, "%s/blobs", store_root(s));
    store_close(s);
    if (n >= (int)sizeof dir || !make_dirs(dir)) return blob_fail(r, 500, "cannot create the store's blobs directory");
    if (snprintf(r->blob_tmp, sizeof r->blob_tmp, "%s/upload-XXXXXX", dir) >= (int)sizeof r->blob_tmp)
        return blob_fail(r, 500, "store path too long");
    r->blob_fd = mkstemp(r->blob_tmp);
    if (r->blob_fd < 0) blob_fail(r, 500, "cannot create a temporary file in the store");
}

void api_blob_write(http_req *r, const char *data, size_t n) {
    if (r->blob_status || r->blob_fd < 0) return; /* drain */
    if (blob_written(r) + n > API_MAX_BLOB) return blob_fail(r, 413, "blob too large");
    while (n) {
        ssize_t k = write(r->blob_fd, data, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return blob_fail(r, 500, "writing the upload failed (disk full?)");
        data += k;
        n -= (size_t)k;
    }
}

enum MHD_Result api_blob_finish(http_req *r, const char *digest) {
    if (r->blob_status) return http_send_error(r, r->blob_status, "%s", r->blob_err);
    close(r->blob_fd);
    r->blob_fd = -1;
    store *s = NULL;
    pp_err err = {0};
    char got[72] = "";
    uint64_t size = 0;
    pp_status st = api_store_open(&s, &err);
    /* hash first: a mismatching upload never becomes a blob */
    char hex[65];
    if (!st) st = store_sha256_file(r->blob_tmp, hex, &err);
    if (!st) {
        snprintf(got, sizeof got, "sha256:%s", hex);
        if (strcmp(got, digest) != 0) {
            unlink(r->blob_tmp);
            store_close(s);
            return http_send_error(r, 400, "digest mismatch, expected \"%s\", got \"%s\"", digest, got);
        }
        st = store_blob_put_file(s, r->blob_tmp, got, &size, &err);
    }
    unlink(r->blob_tmp);
    store_close(s);
    if (st) return http_send_error(r, 500, "%s", err.msg);
    return http_send_text(r, 201, "application/json; charset=utf-8", "");
}

enum MHD_Result api_blob_head(http_req *r, const char *digest) {
    if (!store_digest_valid(digest)) return http_send_error(r, 400, "invalid digest '%.80s'", digest);
    store *s = NULL;
    pp_err err = {0};
    char path[API_PATH_MAX];
    pp_status st = api_store_open(&s, &err);
    if (!st) st = store_blob_find(s, digest, path, sizeof path, &err);
    store_close(s);
    if (st == PP_ERR_NOT_FOUND) return http_send_text(r, 404, "application/json; charset=utf-8", "");
    if (st) return http_send_error(r, 500, "%s", err.msg);
    return http_send_text(r, 200, "application/json; charset=utf-8", "");
}

void api_blob_abort(http_req *r) {
    if (r->blob_fd >= 0) {
        close(r->blob_fd);
        r->blob_fd = -1;
        unlink(r->blob_tmp);
    }
}
