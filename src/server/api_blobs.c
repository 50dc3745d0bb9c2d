/* api_blobs.c - HEAD /api/blobs/sha256:<hex> (200 when the store has it, else 404) and
 * POST /api/blobs/sha256:<hex> (the raw body becomes a blob: 201, or 400 when its sha256
 * differs), the upload step before /api/create {"files": ...} (ollama-compat.md §3.2,
 * §3.7). The body streams into a temporary file in the store's blobs directory (no
 * HTTP_MAX_BODY limit; bounded by API_MAX_BLOB), then store_blob_put_file hashes it and
 * moves it into place; the temporary file is removed on every path, including a client
 * that disconnects mid-upload. */
#include "api_handlers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../store/store.h"
#include "api_models.h"
#include "api_respond.h"

#define API_MAX_BLOB (1ULL << 40) /* 1 TiB */

/* One upload in progress (the route's upload state, from api_blob_ops.begin to .end). */
typedef struct api_upload {
    int fd;                      /* -1 when closed */
    char tmp[API_PATH_MAX];
    unsigned status;             /* != 0: an error found while receiving */
    char err[PP_ERR_MSG_MAX];
} api_upload;

static void blob_fail(api_upload *r, unsigned status, const char *msg) {
    if (r->status) return;
    r->status = status;
    snprintf(r->err, sizeof r->err, "%s", msg);
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
        unlink(r->tmp);
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

static uint64_t blob_written(const api_upload *r) {
    struct stat st;
    return r->fd >= 0 && fstat(r->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void *blob_begin(http_req *req, const char *digest) {
    api_upload *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->fd = -1;
    if (!store_digest_valid(digest)) {
        char msg[200];
        snprintf(msg, sizeof msg, "invalid digest '%.80s' (expected sha256:<64 hex>)", digest);
        blob_fail(r, 400, msg);
        return r;
    }
    store *s = NULL;
    pp_err err = {0};
    if (api_store_open(api_srv(req), &s, &err)) {
        blob_fail(r, 500, err.msg);
        return r;
    }
    char dir[API_PATH_MAX];
    int n = snprintf(dir, sizeof dir, "%s/blobs", store_root(s));
    store_close(s);
    if (n >= (int)sizeof dir || !make_dirs(dir)) blob_fail(r, 500, "cannot create the store's blobs directory");
    else if (snprintf(r->tmp, sizeof r->tmp, "%s/upload-XXXXXX", dir) >= (int)sizeof r->tmp)
        blob_fail(r, 500, "store path too long");
    else if ((r->fd = mkstemp(r->tmp)) < 0)
        blob_fail(r, 500, "cannot create a temporary file in the store");
    return r;
}

static void blob_write(void *upload, const char *data, size_t n) {
    api_upload *r = upload;
    if (r->status || r->fd < 0) return; /* drain */
    if (blob_written(r) + n > API_MAX_BLOB) return blob_fail(r, 413, "blob too large");
    while (n) {
        ssize_t k = write(r->fd, data, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return blob_fail(r, 500, "writing the upload failed (disk full?)");
        data += k;
        n -= (size_t)k;
    }
}

enum MHD_Result api_handle_blob_upload(http_req *req, json_t *body) {
    (void)body;
    api_upload *r = req->upload;
    const char *digest = req->rest;
    if (r->status) return http_send_error(req, r->status, "%s", r->err);
    close(r->fd);
    r->fd = -1;
    store *s = NULL;
    pp_err err = {0};
    char got[72] = "";
    uint64_t size = 0;
    pp_status st = api_store_open(api_srv(req), &s, &err);
    /* hash first: a mismatching upload never becomes a blob */
    char hex[65];
    if (!st) st = store_sha256_file(r->tmp, hex, &err);
    if (!st) {
        snprintf(got, sizeof got, "sha256:%s", hex);
        if (strcmp(got, digest) != 0) {
            unlink(r->tmp);
            store_close(s);
            return http_send_error(req, 400, "digest mismatch, expected \"%s\", got \"%s\"", digest, got);
        }
        st = store_blob_put_file(s, r->tmp, got, &size, &err);
    }
    unlink(r->tmp);
    store_close(s);
    if (st) return http_send_error(req, 500, "%s", err.msg);
    return http_send_text(req, 201, "application/json; charset=utf-8", "");
}

enum MHD_Result api_handle_blob_head(http_req *r, json_t *body) {
    (void)body;
    const char *digest = r->rest;
    if (!store_digest_valid(digest)) return http_send_error(r, 400, "invalid digest '%.80s'", digest);
    store *s = NULL;
    pp_err err = {0};
    char path[API_PATH_MAX];
    pp_status st = api_store_open(api_srv(r), &s, &err);
    if (!st) st = store_blob_find(s, digest, path, sizeof path, &err);
    store_close(s);
    if (st == PP_ERR_NOT_FOUND) return http_send_text(r, 404, "application/json; charset=utf-8", "");
    if (st) return http_send_error(r, 500, "%s", err.msg);
    return http_send_text(r, 200, "application/json; charset=utf-8", "");
}

/* After the request, whatever happened: a temporary file still open is an upload that
 * did not finish (error or a dropped connection). */
static void blob_end(void *upload) {
    api_upload *r = upload;
    if (r->fd >= 0) {
        close(r->fd);
        unlink(r->tmp);
    }
    free(r);
}

const http_blob_ops api_blob_ops = {blob_begin, blob_write, blob_end};
