/* gguf_write_out.c - GGUF v3 writer, the output: validating general.alignment, laying out
 * the metadata blob (header, KV records, tensor infos with their running padded offsets,
 * zero padding to ALIGNMENT), and writing it plus each tensor's data and padding either to
 * a file (through a bounded buffer, tensors streamed by their write functions through a
 * gguf_sink) or to one memory image. The KVs and tensors come from gguf_write.c.
 * ref: shared/spec/gguf.md §2, §7 (llama.cpp writes one metadata blob, pads, then tensors).
 */
#include "gguf_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GGUF_WRITE_VERSION 3
#define GGUF_WRITE_BUF (1u << 20)

static pp_status writer_alignment(gguf_writer *w, uint32_t *align, pp_err *err) {
    *align = GGUF_DEFAULT_ALIGNMENT;
    wkv *kv = gguf_find_wkv(w, "general.alignment", strlen("general.alignment"));
    if (!kv) return PP_OK;
    uint32_t type = gguf_le32(kv->val);
    uint32_t a = kv->val_len >= 8 ? gguf_le32(kv->val + 4) : 0;
    if (type != GGUF_VTYPE_UINT32 || a == 0 || (a & (a - 1)) != 0 || a > GGUF_MAX_ALIGNMENT)
        return pp_err_set(err, PP_ERR_ARG,
                          "gguf writer: key 'general.alignment' must be a UINT32 power of two "
                          "<= %u", GGUF_MAX_ALIGNMENT);
    *align = a;
    return PP_OK;
}

static uint64_t pad_to(uint64_t x, uint32_t a) { return (x + a - 1) / a * a; }

/* Builds the metadata blob (header, KVs, tensor infos, padding) and the data size. */
static pp_status build_meta(gguf_writer *w, bbuf *meta, uint64_t *data_size, uint32_t *align,
                            pp_err *err) {
    if (w->failed) return pp_err_set(err, w->err.status, "%s", w->err.msg);
    pp_status st = writer_alignment(w, align, err);
    if (st) return st;
    gguf_bb_put(meta, "GGUF", 4);
    gguf_bb_u32(meta, GGUF_WRITE_VERSION);
    gguf_bb_u64(meta, w->n_t);
    gguf_bb_u64(meta, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        gguf_bb_u64(meta, w->kvs[i].key_len);
        gguf_bb_put(meta, w->kvs[i].key, w->kvs[i].key_len);
        gguf_bb_put(meta, w->kvs[i].val, w->kvs[i].val_len);
    }
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->ts[i];
        gguf_bb_u64(meta, t->name_len);
        gguf_bb_put(meta, t->name, t->name_len);
        gguf_bb_u32(meta, t->n_dims);
        for (uint32_t j = 0; j < t->n_dims; j++) gguf_bb_u64(meta, (uint64_t)t->ne[j]);
        gguf_bb_u32(meta, t->type);
        gguf_bb_u64(meta, off);
        if (!pp_add_u64(off, pad_to(t->nbytes, *align), &off))
            return pp_err_set(err, PP_ERR_ARG, "gguf writer: total tensor size overflows");
    }
    static const uint8_t ZERO[64];
    while (!meta->oom && meta->len % *align) {
        size_t n = *align - meta->len % *align;
        gguf_bb_put(meta, ZERO, n < sizeof ZERO ? n : sizeof ZERO);
    }
    if (meta->oom) return pp_err_set(err, PP_ERR_NOMEM, "gguf writer: out of memory");
    *data_size = off;
    return PP_OK;
}

static pp_status write_all(int fd, const void *p, uint64_t n, const char *path, pp_err *err);

pp_status gguf_sink_write(gguf_sink *s, const void *data, uint64_t len, pp_err *err) {
    if (len > s->left)
        return pp_err_set(err, PP_ERR_INTERNAL,
                          "gguf writer: tensor '%s': the write function produced %" PRIu64
                          " bytes more than its size", s->name, len - s->left);
    if (!len) return PP_OK;
    pp_status st = PP_OK;
    if (s->fd >= 0) {
        st = write_all(s->fd, data, len, s->path, err);
    } else {
        memcpy(s->mem, data, (size_t)len);
        s->mem += len;
    }
    if (!st) s->left -= len;
    return st;
}

/* Runs a streamed tensor's write function and checks that it produced exactly nbytes. */
static pp_status stream_tensor(const wtensor *t, size_t i, gguf_sink *sink, pp_err *err) {
    pp_status st = t->fn(t->fn_ctx, (uint64_t)i, sink, err);
    if (st) return st;
    if (sink->left)
        return pp_err_set(err, PP_ERR_INTERNAL,
                          "gguf writer: tensor '%s': the write function stopped %" PRIu64
                          " bytes short", t->name, sink->left);
    return PP_OK;
}

pp_status gguf_writer_to_mem(gguf_writer *w, uint8_t **out, size_t *len, pp_err *err) {
    bbuf meta = {0};
    uint64_t data_size;
    uint32_t align;
    pp_status st = build_meta(w, &meta, &data_size, &align, err);
    if (st) {
        free(meta.p);
        return st;
    }
    uint64_t total;
    if (!pp_add_u64(meta.len, data_size, &total) || total > SIZE_MAX) {
        free(meta.p);
        return pp_err_set(err, PP_ERR_NOMEM, "gguf writer: %" PRIu64 " bytes do not fit in memory",
                          data_size);
    }
    uint8_t *buf = calloc(1, total ? (size_t)total : 1);
    if (!buf) {
        free(meta.p);
        return pp_err_set(err, PP_ERR_NOMEM, "gguf writer: out of memory for %" PRIu64 " bytes",
                          total);
    }
    memcpy(buf, meta.p, meta.len);
    size_t pos = meta.len;
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->ts[i];
        if (t->fn) {
            gguf_sink sink = {.fd = -1, .mem = buf + pos, .path = "memory", .name = t->name,
                              .left = t->nbytes};
            st = stream_tensor(t, i, &sink, err);
            if (st) {
                free(buf);
                free(meta.p);
                return st;
            }
        } else if (t->nbytes) {
            memcpy(buf + pos, t->data, (size_t)t->nbytes);
        }
        pos += (size_t)pad_to(t->nbytes, align); /* padding already zero (calloc) */
    }
    free(meta.p);
    *out = buf;
    *len = (size_t)total;
    return PP_OK;
}

static pp_status write_all(int fd, const void *p, uint64_t n, const char *path, pp_err *err) {
    const uint8_t *b = p;
    while (n) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : (size_t)n;
        ssize_t k = write(fd, b, chunk);
        if (k < 0) {
            if (errno == EINTR) continue;
            return pp_err_set(err, PP_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        }
        b += k;
        n -= (uint64_t)k;
    }
    return PP_OK;
}

pp_status gguf_writer_write(gguf_writer *w, const char *path, pp_err *err) {
    bbuf meta = {0};
    uint64_t data_size;
    uint32_t align;
    pp_status st = build_meta(w, &meta, &data_size, &align, err);
    if (st) {
        free(meta.p);
        return st;
    }
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) {
        free(meta.p);
        return pp_err_set(err, PP_ERR_ARG, "%s: path too long", path);
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(meta.p);
        return pp_err_set(err, PP_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    st = write_all(fd, meta.p, meta.len, tmp, err);
    free(meta.p);
    static const uint8_t ZERO[256];
    for (size_t i = 0; i < w->n_t && !st; i++) {
        const wtensor *t = &w->ts[i];
        if (t->fn) {
            gguf_sink sink = {.fd = fd, .path = tmp, .name = t->name, .left = t->nbytes};
            st = stream_tensor(t, i, &sink, err);
        } else {
            st = write_all(fd, t->data, t->nbytes, tmp, err);
        }
        uint64_t pad = pad_to(t->nbytes, align) - t->nbytes;
        while (!st && pad) {
            uint64_t k = pad < sizeof ZERO ? pad : sizeof ZERO;
            st = write_all(fd, ZERO, k, tmp, err);
            pad -= k;
        }
    }
    if (!st && fsync(fd) != 0)
        st = pp_err_set(err, PP_ERR_IO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && !st)
        st = pp_err_set(err, PP_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
    if (!st && rename(tmp, path) != 0)
        st = pp_err_set(err, PP_ERR_IO, "%s: rename to %s failed: %s", tmp, path, strerror(errno));
    if (st) {
        unlink(tmp);
        return st;
    }
    /* make the rename durable: fsync the directory (best effort) */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *(slash == dir ? slash + 1 : slash) = 0;
    else snprintf(dir, sizeof dir, ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return PP_OK;
}
