/* gguf_internal.h - shared internals of the gguf module (not for other modules).
 *
 * The gguf_file layout, little-endian load helpers and the name hash used by both the
 * parser (duplicate detection) and the lookups. */
#ifndef PIPPA_GGUF_INTERNAL_H
#define PIPPA_GGUF_INTERNAL_H

#include "gguf.h"

#include <string.h>

struct gguf_file {
    char name[128];           /* base name of the path, for messages */
    const uint8_t *buf;       /* whole file (mapping or caller buffer) */
    uint64_t size;
    void *map;                /* mmap base when we own a mapping, else NULL */
    size_t map_len;
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset;
    uint64_t n_kv;
    gguf_kv *kvs;
    uint64_t n_tensors;
    gguf_tensor *tensors;
    /* open-addressing hash tables of index+1 (0 = empty); size mask+1 is a power of 2 */
    uint64_t *kv_hash, kv_hash_mask;
    uint64_t *t_hash, t_hash_mask;
};

static inline uint16_t gguf_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t gguf_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t gguf_le64(const uint8_t *p) {
    return (uint64_t)gguf_le32(p) | (uint64_t)gguf_le32(p + 4) << 32;
}

static inline uint64_t gguf_hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

/* Index into table of the slot holding name, or of the empty slot where it would go.
 * names(i) gives the view of entry i. The table is never full (load <= 1/2). */
static inline uint64_t gguf_hash_slot(const uint64_t *table, uint64_t mask, const char *s,
                                      size_t n, const pp_view *(*name_of)(const void *, uint64_t),
                                      const void *ctx) {
    uint64_t i = gguf_hash(s, n) & mask;
    for (;;) {
        if (!table[i]) return i;
        const pp_view *v = name_of(ctx, table[i] - 1);
        if (v->len == n && (n == 0 || memcmp(v->ptr, s, n) == 0)) return i;
        i = (i + 1) & mask;
    }
}

/* Writes a printable, single-line, length-limited copy of a name from the file. */
void gguf_fmt_name(char *out, size_t cap, const char *p, size_t len);

/* ---- the writer (gguf_write.c builds it, gguf_write_out.c writes it) ---------------- */

typedef struct wkv {
    char *key;
    size_t key_len;
    uint8_t *val; /* u32 value type + value, as on disk */
    size_t val_len;
} wkv;

typedef struct wtensor {
    char *name;
    size_t name_len;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    uint32_t type;
    const void *data;
    void *owned; /* copy made by add_tensor_copy, else NULL */
    uint64_t nbytes;
    gguf_tensor_write_fn fn; /* streamed tensor: produces the bytes at write time */
    void *fn_ctx;
} wtensor;

/* Destination of a streamed tensor's bytes: the output file, or a memory buffer. */
struct gguf_sink {
    int fd;           /* >= 0: file */
    uint8_t *mem;     /* else: buffer */
    const char *path; /* for messages */
    const char *name; /* tensor name, for messages */
    uint64_t left;    /* bytes the tensor still expects */
};

struct gguf_writer {
    wkv *kvs;
    size_t n_kv, cap_kv;
    wtensor *ts;
    size_t n_t, cap_t;
    pp_err err; /* first failure of a set/add call */
    bool failed;
};

typedef struct bbuf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} bbuf;

/* Appends n bytes (little-endian helpers below); sets b->oom instead of failing. */
void gguf_bb_put(bbuf *b, const void *src, size_t n);
void gguf_bb_u32(bbuf *b, uint32_t v);
void gguf_bb_u64(bbuf *b, uint64_t v);
/* The writer's KV with this key, or NULL. */
wkv *gguf_find_wkv(gguf_writer *w, const char *key, size_t n);

#endif
