/* store_pull.c - `pull NAME` over the registry protocol (ollama-compat.md §4.4) with libcurl.
 *
 * 1. GET /v2/<ns>/<model>/manifests/<tag> (Accept: the docker v2 manifest type), validated
 *    by store_manifest_parse (every digest is checked before it becomes a path).
 * 2. Each config/layer blob missing from our store is fetched from /v2/<ns>/<model>/blobs/
 *    <digest>: redirects on the registry host are followed, a redirect to another host (the
 *    CDN) gives the URL that the ranged GETs use. The blob is split in parts (total/16,
 *    clamped to [100 MB, 1000 MB]) fetched in parallel with curl's multi interface and
 *    written at their offsets into "sha256-<hex>-partial"; each part's progress is saved in
 *    "-partial-<N>" as {"N","Offset","Size","Completed"} so a later pull resumes. Stalled or
 *    dropped parts are retried with exponential backoff.
 * 3. The finished file is hashed; only a matching SHA-256 is renamed to "sha256-<hex>", a
 *    mismatch is deleted. The manifest is written last, so a failed pull lists nothing.
 *
 * A blob found in the read-only Ollama store is hard-linked into ours (same file system:
 * no copy, no download); if linking fails it is used where it is (store_blob_find looks
 * there too) and nothing is downloaded.
 *
 * The registry HTTP client (curl options, small GETs, tokens, resolving a blob's URL) is in
 * store_registry.c; this file is the pull driver: manifest, parts, resume, verification. */
#include "store.h"
#include "store_internal.h"

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

#include <curl/curl.h>
#include <jansson.h>

#define MANIFEST_ACCEPT "application/vnd.docker.distribution.manifest.v2+json"
#define PART_MIN (100ull * 1000 * 1000)
#define PART_MAX (1000ull * 1000 * 1000)
#define MAX_PARTS 16
#define STALL_SECONDS 30
#define STATE_EVERY (4u << 20) /* save a part's progress every 4 MiB */

store_pull_params store_pull_default_params(void) {
    store_pull_params p;
    memset(&p, 0, sizeof p);
    p.max_parts = MAX_PARTS;
    p.retries = 6;
    return p;
}

static void status(pull_ctx *c, const char *line) {
    if (c->p.status) c->p.status(line, c->p.ud);
}

typedef struct part {
    int idx;
    uint64_t offset, size, completed, saved;
    int tries;
    double retry_at;
    CURL *h;
    struct curl_slist *hdrs;
    bool done, bad_range;
    struct blob_dl *dl;
} part;

typedef struct blob_dl {
    pull_ctx *c;
    const char *digest;
    char partial[PATH_MAX + 16];
    int fd;
    part *parts;
    int n_parts;
    uint64_t total;
    bool io_error;
    int io_errno;
} blob_dl;

static void state_path(const blob_dl *d, int i, char *buf, size_t cap) {
    snprintf(buf, cap, "%s-%d", d->partial, i);
}

static void save_state(blob_dl *d, part *pt) {
    char path[PATH_MAX + 48], json[256];
    state_path(d, pt->idx, path, sizeof path);
    int n = snprintf(json, sizeof json, "{\"N\":%d,\"Offset\":%llu,\"Size\":%llu,\"Completed\":%llu}", pt->idx,
                     (unsigned long long)pt->offset, (unsigned long long)pt->size, (unsigned long long)pt->completed);
    pp_err e = {0};
    if (store_write_atomic(path, json, (size_t)n, &e) == PP_OK) pt->saved = pt->completed;
}

/* Restores a part's progress if its state file matches the current plan. */
static void load_state(blob_dl *d, part *pt) {
    char path[PATH_MAX + 48], *buf = NULL;
    size_t len;
    pp_err e = {0};
    state_path(d, pt->idx, path, sizeof path);
    if (pp_read_file(path, &buf, &len, 4096, &e) != PP_OK) return;
    json_error_t je;
    json_t *o = json_loadb(buf, len, 0, &je);
    free(buf);
    json_t *off = json_object_get(o, "Offset"), *sz = json_object_get(o, "Size"), *cm = json_object_get(o, "Completed");
    if (json_is_integer(off) && json_is_integer(sz) && json_is_integer(cm) &&
        (uint64_t)json_integer_value(off) == pt->offset && (uint64_t)json_integer_value(sz) == pt->size &&
        json_integer_value(cm) >= 0 && (uint64_t)json_integer_value(cm) <= pt->size)
        pt->completed = pt->saved = (uint64_t)json_integer_value(cm);
    json_decref(o);
}

static void remove_states(blob_dl *d, int upto) {
    for (int i = 0; i < upto; i++) {
        char path[PATH_MAX + 48];
        state_path(d, i, path, sizeof path);
        unlink(path);
    }
}

static size_t part_write(char *ptr, size_t sz, size_t nm, void *ud) {
    part *pt = ud;
    blob_dl *d = pt->dl;
    size_t n = sz * nm;
    long code = 0;
    curl_easy_getinfo(pt->h, CURLINFO_RESPONSE_CODE, &code);
    if (code != 206 && !(code == 200 && pt->offset + pt->completed == 0 && pt->size == d->total)) {
        if (code == 200) pt->bad_range = true; /* the server ignored Range: would write at the wrong offset */
        return 0;
    }
    if (n > pt->size - pt->completed) return 0; /* more than asked for */
    const char *p = ptr;
    size_t left = n;
    off_t at = (off_t)(pt->offset + pt->completed);
    while (left) {
        ssize_t w = pwrite(d->fd, p, left, at);
        if (w < 0) {
            if (errno == EINTR) continue;
            d->io_error = true;
            d->io_errno = errno;
            return 0;
        }
        p += w;
        at += w;
        left -= (size_t)w;
    }
    pt->completed += n;
    if (pt->completed - pt->saved >= STATE_EVERY) save_state(d, pt);
    return n;
}

static pp_status part_start(blob_dl *d, part *pt, const char *url, pp_err *err) {
    pt->h = curl_easy_init();
    if (!pt->h) return pp_err_set(err, PP_ERR_NOMEM, "curl: out of memory");
    store_set_protocols(d->c, pt->h);
    char range[64];
    snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)(pt->offset + pt->completed),
             (unsigned long long)(pt->offset + pt->size - 1));
    pt->hdrs = NULL;
    /* the bearer token belongs to the registry; a CDN URL is pre-signed */
    if (d->c->auth[0] && !strncmp(url, d->c->base, strlen(d->c->base))) pt->hdrs = curl_slist_append(NULL, d->c->auth);
    curl_easy_setopt(pt->h, CURLOPT_URL, url);
    curl_easy_setopt(pt->h, CURLOPT_HTTPHEADER, pt->hdrs);
    curl_easy_setopt(pt->h, CURLOPT_RANGE, range);
    curl_easy_setopt(pt->h, CURLOPT_WRITEFUNCTION, part_write);
    curl_easy_setopt(pt->h, CURLOPT_WRITEDATA, pt);
    curl_easy_setopt(pt->h, CURLOPT_PRIVATE, pt);
    curl_easy_setopt(pt->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(pt->h, CURLOPT_LOW_SPEED_TIME, (long)STALL_SECONDS);
    return PP_OK;
}

static void part_stop(part *pt) {
    curl_easy_cleanup(pt->h);
    curl_slist_free_all(pt->hdrs);
    pt->h = NULL;
    pt->hdrs = NULL;
}

static void report(blob_dl *d, double t0, uint64_t done0, bool done) {
    if (!d->c->p.progress) return;
    uint64_t got = 0;
    for (int i = 0; i < d->n_parts; i++) got += d->parts[i].completed;
    double dt = pp_time_s() - t0;
    store_progress pr = {d->digest, d->total, got, dt > 0 ? (double)(got - done0) / dt : 0, done};
    d->c->p.progress(&pr, d->c->p.ud);
}

static pp_status download_blob(pull_ctx *c, const char *digest, uint64_t size, pp_err *err) {
    char final[PATH_MAX], url[8192];
    if (store_blob_path(c->s, digest, final, sizeof final, err) != PP_OK) return err->status;
    blob_dl d;
    memset(&d, 0, sizeof d);
    d.c = c;
    d.digest = digest;
    d.total = size;
    d.fd = -1;
    snprintf(d.partial, sizeof d.partial, "%s-partial", final);
    char blobs[PATH_MAX];
    snprintf(blobs, sizeof blobs, "%s/blobs", store_root(c->s));
    if (store_mkdirs(blobs, err) != PP_OK) return err->status;
    pp_status st = PP_OK;
    CURLM *multi = NULL;

    uint64_t psize = c->p.part_size;
    if (!psize) {
        psize = size / MAX_PARTS;
        if (psize < PART_MIN) psize = PART_MIN;
        if (psize > PART_MAX) psize = PART_MAX;
    }
    d.n_parts = size ? (int)((size + psize - 1) / psize) : 0;
    if (d.n_parts > 100000) return pp_err_set(err, PP_ERR_FORMAT, "%s: blob %s too large", c->n.host, digest);
    d.parts = calloc((size_t)(d.n_parts ? d.n_parts : 1), sizeof *d.parts);
    if (!d.parts) return pp_err_set(err, PP_ERR_NOMEM, "pull: out of memory");
    struct stat sb;
    bool have_partial = stat(d.partial, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == size;
    for (int i = 0; i < d.n_parts; i++) {
        part *pt = &d.parts[i];
        pt->idx = i;
        pt->dl = &d;
        pt->offset = (uint64_t)i * psize;
        pt->size = pt->offset + psize > size ? size - pt->offset : psize;
        if (have_partial) load_state(&d, pt);
        pt->done = pt->completed == pt->size;
    }
    uint64_t resumed = 0;
    for (int i = 0; i < d.n_parts; i++) resumed += d.parts[i].completed;
    if (!have_partial) remove_states(&d, d.n_parts + 64);
    d.fd = open(d.partial, O_RDWR | O_CREAT, 0644);
    if (d.fd < 0 || ftruncate(d.fd, (off_t)size) != 0) {
        st = pp_err_set(err, PP_ERR_IO, "%s: %s", d.partial, strerror(errno));
        goto out;
    }
    if (resumed < size && (st = store_resolve_blob_url(c, digest, url, sizeof url, err)) != PP_OK) goto out;

    multi = curl_multi_init();
    if (!multi) { st = pp_err_set(err, PP_ERR_NOMEM, "curl: out of memory"); goto out; }
    int max_active = c->p.max_parts > 0 ? c->p.max_parts : MAX_PARTS;
    double t0 = pp_time_s(), last_report = 0;
    for (;;) {
        int active = 0, pending = 0;
        double now = pp_time_s();
        for (int i = 0; i < d.n_parts; i++) {
            part *pt = &d.parts[i];
            if (pt->done) continue;
            if (pt->h) { active++; continue; }
            pending++;
        }
        if (!active && !pending) break;
        for (int i = 0; i < d.n_parts && active < max_active; i++) {
            part *pt = &d.parts[i];
            if (pt->done || pt->h || pt->retry_at > now) continue;
            if ((st = part_start(&d, pt, url, err)) != PP_OK) goto out;
            curl_multi_add_handle(multi, pt->h);
            active++;
        }
        int running = 0;
        curl_multi_perform(multi, &running);
        curl_multi_poll(multi, NULL, 0, 100, NULL);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            part *pt = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&pt);
            CURLcode rc = msg->data.result;
            long code = 0;
            curl_easy_getinfo(pt->h, CURLINFO_RESPONSE_CODE, &code);
            curl_multi_remove_handle(multi, pt->h);
            part_stop(pt);
            save_state(&d, pt);
            if (d.io_error) {
                st = pp_err_set(err, PP_ERR_IO, "%s: write failed: %s", d.partial, strerror(d.io_errno));
                goto out;
            }
            if (pt->completed == pt->size) { pt->done = true; continue; }
            if (pt->bad_range) {
                st = pp_err_set(err, PP_ERR_FORMAT, "%s: the server ignored the Range header for %s", c->n.host, digest);
                goto out;
            }
            if (++pt->tries > c->p.retries) {
                if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR)
                    st = pp_err_set(err, PP_ERR_IO, "%s: download of %s failed: %s (%llu of %llu bytes; run pull again to resume)",
                                    c->n.host, digest, curl_easy_strerror(rc), (unsigned long long)(pt->offset + pt->completed),
                                    (unsigned long long)size);
                else
                    st = pp_err_set(err, PP_ERR_IO, "%s: download of %s failed: HTTP %ld (run pull again to resume)", c->n.host,
                                    digest, code);
                goto out;
            }
            pt->retry_at = pp_time_s() + (double)(1u << (pt->tries - 1 < 5 ? pt->tries - 1 : 5));
        }
        if (pp_time_s() - last_report > 0.1) {
            report(&d, t0, resumed, false);
            last_report = pp_time_s();
        }
    }
    report(&d, t0, resumed, true);
    if (fsync(d.fd) != 0 || close(d.fd) != 0) {
        d.fd = -1;
        st = pp_err_set(err, PP_ERR_IO, "%s: %s", d.partial, strerror(errno));
        goto out;
    }
    d.fd = -1;
    /* verify BEFORE the blob gets its final name */
    char hex[65];
    if ((st = store_sha256_file(d.partial, hex, err)) != PP_OK) goto out;
    if (strcmp(hex, digest + 7) != 0) {
        unlink(d.partial);
        remove_states(&d, d.n_parts);
        st = pp_err_set(err, PP_ERR_FORMAT, "%s: blob %s: digest mismatch (got sha256:%s); the download was deleted",
                        c->n.host, digest, hex);
        goto out;
    }
    if (rename(d.partial, final) != 0) {
        st = pp_err_set(err, PP_ERR_IO, "%s: rename failed: %s", final, strerror(errno));
        goto out;
    }
    remove_states(&d, d.n_parts);
out:
    if (d.fd >= 0) close(d.fd);
    for (int i = 0; i < d.n_parts; i++)
        if (d.parts[i].h) {
            save_state(&d, &d.parts[i]);
            curl_multi_remove_handle(multi, d.parts[i].h);
            part_stop(&d.parts[i]);
        }
    curl_multi_cleanup(multi);
    free(d.parts);
    return st;
}

/* A blob the Ollama store has: hard link it into ours. */
static bool reuse_ro(pull_ctx *c, const char *digest) {
    const char *ro = store_ro_root(c->s);
    if (!ro) return false;
    char src[PATH_MAX], dst[PATH_MAX], blobs[PATH_MAX];
    pp_err e = {0};
    if (store_blob_path(c->s, digest, dst, sizeof dst, &e) != PP_OK) return false;
    if ((size_t)snprintf(src, sizeof src, "%s/blobs/sha256-%s", ro, digest + 7) >= sizeof src) return false;
    struct stat sb;
    if (stat(src, &sb) != 0 || !S_ISREG(sb.st_mode)) return false;
    snprintf(blobs, sizeof blobs, "%s/blobs", store_root(c->s));
    if (store_mkdirs(blobs, &e) == PP_OK && link(src, dst) == 0) return true;
    return true; /* not linkable (other file system): used in place via store_blob_find */
}

pp_status store_pull(store *s, const char *name, store_pull_params p, pp_err *err) {
    PP_ASSERT(store_global_ready()); /* store_global_init ran (main, before any thread) */
    pull_ctx c;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.p = p;
    if (store_name_parse(name, &c.n, err) != PP_OK) return err->status;
    store_name_display(&c.n, c.display, sizeof c.display);
    if (!strcmp(c.n.scheme, "http") && !p.insecure)
        return pp_err_set(err, PP_ERR_ARG, "pull '%s': http:// registries are insecure; use --insecure to allow %s",
                          c.display, c.n.host);
    snprintf(c.base, sizeof c.base, "%s://%s", c.n.scheme, c.n.host);

    status(&c, "pulling manifest");
    char url[2048];
    snprintf(url, sizeof url, "%s/v2/%s/%s/manifests/%s", c.base, c.n.ns, c.n.model, c.n.tag);
    membuf m = {.max = STORE_MANIFEST_MAX};
    long code = 0;
    pp_status st = store_http_get(&c, url, MANIFEST_ACCEPT, &m, &code, err);
    if (st == PP_OK && code == 401) {
        char www[1024];
        snprintf(www, sizeof www, "%s", m.www_auth);
        while (www[0] == ' ') memmove(www, www + 1, strlen(www));
        store_buf_free(&m.b);
        memset(&m, 0, sizeof m);
        m.max = STORE_MANIFEST_MAX;
        if ((st = store_fetch_token(&c, www, err)) == PP_OK) st = store_http_get(&c, url, MANIFEST_ACCEPT, &m, &code, err);
    }
    if (st != PP_OK) {
        pp_err_prefix(err, "pull model manifest for '%s': ", c.display);
        goto out;
    }
    if (code == 404) {
        st = pp_err_set(err, PP_ERR_NOT_FOUND, "pull model manifest for '%s': file does not exist (%s: HTTP 404)",
                        c.display, c.n.host);
        goto out;
    }
    if (code != 200) {
        st = pp_err_set(err, PP_ERR_IO, "pull model manifest for '%s': %s: HTTP %ld", c.display, c.n.host, code);
        goto out;
    }
    store_manifest man;
    char where[1024];
    snprintf(where, sizeof where, "%s manifest for '%s'", c.n.host, c.display);
    if ((st = store_manifest_parse(m.b.p ? m.b.p : "", m.b.len, where, &man, err)) != PP_OK) goto out;

    /* blobs: config first, then layers; each digest once */
    size_t nb = man.n_layers + 1;
    for (size_t i = 0; i < nb && st == PP_OK; i++) {
        const store_layer *l = i == 0 ? &man.config : &man.layers[i - 1];
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = !strcmp((k == 0 ? &man.config : &man.layers[k - 1])->digest, l->digest);
        if (seen) continue;
        char line[128];
        snprintf(line, sizeof line, "pulling %.12s", l->digest + 7);
        status(&c, line);
        if (store_blob_have(s, l->digest) || reuse_ro(&c, l->digest)) {
            if (p.progress) {
                store_progress pr = {l->digest, l->size, l->size, 0, true};
                p.progress(&pr, p.ud);
            }
            continue;
        }
        st = download_blob(&c, l->digest, l->size, err);
    }
    if (st == PP_OK) {
        status(&c, "verifying sha256 digest");
        /* downloads were verified before their rename; check sizes of what we reuse */
        for (size_t i = 0; i < nb && st == PP_OK; i++) {
            const store_layer *l = i == 0 ? &man.config : &man.layers[i - 1];
            char path[PATH_MAX];
            struct stat sb;
            if (store_blob_find(s, l->digest, path, sizeof path, err) != PP_OK) st = err->status;
            else if (stat(path, &sb) != 0 || (uint64_t)sb.st_size != l->size)
                st = pp_err_set(err, PP_ERR_FORMAT, "blob %s: size %lld, manifest says %llu", l->digest,
                                (long long)sb.st_size, (unsigned long long)l->size);
        }
    }
    if (st == PP_OK) {
        store_manifest old;
        pp_err e2 = {0};
        bool replaced = store_manifest_load(s, &c.n, &old, &e2) == PP_OK && !old.readonly && strcmp(old.id, man.id) != 0;
        if (e2.status == PP_OK) store_manifest_free(&old);
        status(&c, "writing manifest");
        st = store_manifest_write(s, &c.n, man.raw, man.raw_len, err);
        if (st == PP_OK && replaced) {
            status(&c, "removing unused layers");
            store_prune(s, NULL, &e2);
        }
        if (st == PP_OK) status(&c, "success");
    }
    store_manifest_free(&man);
out:
    store_buf_free(&m.b);
    return st;
}
