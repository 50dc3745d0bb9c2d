/* test_gguf.c - GGUF reader/writer: one malformed-file case per validation point of
 * spec/gguf.md §6 (1-14) with the exact error text, truncation at every byte, writer
 * round trip of every value type, getters and their errors, byte-exact writer layout,
 * fuzz regression inputs (tests/data/gguf-crash-*), and the fixture files
 * (../shared/fixtures, skipped when absent).
 */
#include "test.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sys/stat.h>

#include "core/core.h"
#include "gguf/gguf.h"

/* ---- byte builder for hand-crafted files ---- */

typedef struct bb {
    uint8_t *p;
    size_t len, cap;
} bb;

static void put(bb *b, const void *src, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    if (n) memcpy(b->p + b->len, src, n);
    b->len += n;
}
static void u32(bb *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}
static void u64(bb *b, uint64_t v) {
    u32(b, (uint32_t)v);
    u32(b, (uint32_t)(v >> 32));
}
static void str(bb *b, const char *s) {
    u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void zeros(bb *b, size_t n) {
    static const uint8_t Z[256];
    while (n) {
        size_t k = n < sizeof Z ? n : sizeof Z;
        put(b, Z, k);
        n -= k;
    }
}
static void pad32(bb *b) { zeros(b, (32 - b->len % 32) % 32); }
static bb hdr(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    bb b = {0};
    put(&b, "GGUF", 4);
    u32(&b, version);
    u64(&b, n_tensors);
    u64(&b, n_kv);
    return b;
}
/* tensor info record */
static void tinfo(bb *b, const char *name, uint32_t n_dims, const int64_t *ne, uint32_t type,
                  uint64_t offset) {
    str(b, name);
    u32(b, n_dims);
    for (uint32_t j = 0; j < n_dims; j++) u64(b, (uint64_t)ne[j]);
    u32(b, type);
    u64(b, offset);
}

/* Opens a copy of exactly len bytes (so ASan sees over-reads) and expects failure with the
 * exact message. */
static void expect_err_at(int line, const uint8_t *buf, size_t len, bool strict, pp_status want_st,
                          const char *want) {
    uint8_t *copy = malloc(len ? len : 1);
    if (len) memcpy(copy, buf, len);
    gguf_open_params p = gguf_default_open_params();
    p.strict_offsets = strict;
    gguf_file *f = NULL;
    pp_err err = {0};
    pp_status st = gguf_open_mem(copy, len, "fx.gguf", p, &f, &err);
    T_CHECK_MSG(st != PP_OK, "line %d: opened, expected '%s'", line, want);
    if (st == PP_OK) gguf_close(f);
    else {
        T_CHECK_MSG(strcmp(err.msg, want) == 0, "line %d:\n   got '%s'\n  want '%s'", line,
                    err.msg, want);
        T_CHECK_MSG(st == want_st, "line %d: status %s, want %s", line, pp_status_name(st),
                    pp_status_name(want_st));
    }
    free(copy);
}
#define EXPECT_ERR(b, msg) expect_err_at(__LINE__, (b).p, (b).len, false, PP_ERR_FORMAT, msg)
#define EXPECT_ERR_ST(b, st, msg) expect_err_at(__LINE__, (b).p, (b).len, false, st, msg)

static gguf_file *open_ok(const uint8_t *buf, size_t len, bool strict) {
    gguf_open_params p = gguf_default_open_params();
    p.strict_offsets = strict;
    gguf_file *f = NULL;
    pp_err err = {0};
    if (gguf_open_mem(buf, len, "fx.gguf", p, &f, &err) != PP_OK) {
        T_CHECK_MSG(0, "open failed: %s", err.msg);
        return NULL;
    }
    return f;
}

/* ---- validation points (spec §6) ---- */

static void test_v01_not_gguf(void) {
    bb b = {0};
    put(&b, "GGU", 3);
    EXPECT_ERR(b, "fx.gguf: not a GGUF file (3 bytes)");
    b.len = 0;
    EXPECT_ERR(b, "fx.gguf: not a GGUF file (0 bytes)");
    free(b.p);
    b = hdr(3, 0, 0);
    memcpy(b.p, "GGML", 4);
    EXPECT_ERR(b, "fx.gguf: not a GGUF file (magic 0x4c4d4747)");
    memcpy(b.p, "GGUF", 4);
    b.len = 14;
    EXPECT_ERR(b, "fx.gguf: not a GGUF file (14 bytes, the header needs 24)");
    free(b.p);
    /* the mmap path: an empty file and a missing file */
    char path[512];
    snprintf(path, sizeof path, "%s/empty.gguf", t_tmp_dir());
    FILE *fp = fopen(path, "wb");
    T_CHECK(fp != NULL);
    if (fp) fclose(fp);
    gguf_file *f;
    pp_err err = {0};
    T_CHECK(gguf_open(path, &f, &err) == PP_ERR_FORMAT);
    T_CHECK_MSG(!strcmp(err.msg, "empty.gguf: not a GGUF file (0 bytes)"), "%s", err.msg);
    snprintf(path, sizeof path, "%s/missing.gguf", t_tmp_dir());
    T_CHECK(gguf_open(path, &f, &err) == PP_ERR_IO);
    T_CHECK_MSG(strstr(err.msg, "missing.gguf: cannot open: No such file") != NULL, "%s", err.msg);
    T_CHECK(gguf_open(t_tmp_dir(), &f, &err) == PP_ERR_IO);
    T_CHECK_MSG(strstr(err.msg, "not a regular file") != NULL, "%s", err.msg);
}

static void test_v02_version(void) {
    bb b = hdr(1, 0, 0);
    EXPECT_ERR_ST(b, PP_ERR_UNSUPPORTED, "fx.gguf: unsupported GGUF version 1");
    b.p[4] = 0;
    EXPECT_ERR_ST(b, PP_ERR_UNSUPPORTED, "fx.gguf: unsupported GGUF version 0");
    b.p[4] = 4;
    EXPECT_ERR_ST(b, PP_ERR_UNSUPPORTED, "fx.gguf: unsupported GGUF version 4");
    b.p[4] = 0;
    b.p[7] = 3; /* 3 stored big-endian */
    EXPECT_ERR(b, "fx.gguf: GGUF version 0x03000000 has the wrong endianness (big-endian file?)");
    free(b.p);
    /* v2 and v3 are accepted */
    for (uint32_t v = 2; v <= 3; v++) {
        b = hdr(v, 0, 1);
        str(&b, "general.architecture");
        u32(&b, GGUF_VTYPE_STRING);
        str(&b, "gemma3");
        gguf_file *f = open_ok(b.p, b.len, true);
        if (f) {
            T_CHECK(gguf_version(f) == v);
            T_CHECK(gguf_n_kv(f) == 1 && gguf_n_tensors(f) == 0);
            T_CHECK(gguf_alignment(f) == 32);
            gguf_close(f);
        }
        free(b.p);
    }
}

static void test_v03_counts(void) {
    bb b = hdr(3, 1000000000000000000ull, 0);
    zeros(&b, 8);
    EXPECT_ERR(b, "fx.gguf: tensor count 1000000000000000000 does not fit in the 8 bytes after "
                  "the header");
    free(b.p);
    b = hdr(3, 0, 5);
    zeros(&b, 40);
    EXPECT_ERR(b, "fx.gguf: key count 5 does not fit in the 40 bytes after the header");
    free(b.p);
    b = hdr(3, 0, UINT64_MAX);
    zeros(&b, 100);
    EXPECT_ERR(b, "fx.gguf: key count 18446744073709551615 does not fit in the 100 bytes after "
                  "the header");
    free(b.p);
    /* the tensor count is checked again against what is left after the KVs */
    b = hdr(3, 2, 1);
    str(&b, "pad");
    u32(&b, GGUF_VTYPE_STRING);
    u64(&b, 30);
    zeros(&b, 30);
    zeros(&b, 30);
    EXPECT_ERR(b, "fx.gguf: tensor count 2 does not fit in the 30 bytes left after the metadata");
    free(b.p);
}

static void test_v04_lengths(void) {
    bb b = hdr(3, 0, 1);
    str(&b, "x");
    u32(&b, GGUF_VTYPE_STRING);
    u64(&b, 1000000000000000000ull);
    EXPECT_ERR(b, "fx.gguf: key 'x': string length 1000000000000000000 runs past the end of the "
                  "file (0 bytes left)");
    free(b.p);
    b = hdr(3, 0, 1);
    u64(&b, 1000000000000000000ull);
    zeros(&b, 8);
    EXPECT_ERR(b, "fx.gguf: kv 0: key length 1000000000000000000 runs past the end of the file "
                  "(8 bytes left)");
    free(b.p);
    b = hdr(3, 0, 1);
    str(&b, "a");
    u32(&b, GGUF_VTYPE_ARRAY);
    u32(&b, GGUF_VTYPE_UINT32);
    u64(&b, 100000000000000000ull);
    u32(&b, 7);
    EXPECT_ERR(b, "fx.gguf: key 'a': array of 100000000000000000 UINT32 runs past the end of the "
                  "file (4 bytes left)");
    free(b.p);
    /* count * 8 would wrap around 2^64: must still be caught */
    b = hdr(3, 0, 1);
    str(&b, "a");
    u32(&b, GGUF_VTYPE_ARRAY);
    u32(&b, GGUF_VTYPE_UINT64);
    u64(&b, 1ull << 61);
    EXPECT_ERR(b, "fx.gguf: key 'a': array of 2305843009213693952 UINT64 runs past the end of the "
                  "file (0 bytes left)");
    free(b.p);
    b = hdr(3, 0, 1);
    str(&b, "t");
    u32(&b, GGUF_VTYPE_ARRAY);
    u32(&b, GGUF_VTYPE_STRING);
    u64(&b, 2);
    str(&b, "ok");
    u64(&b, 1000000000000000000ull);
    EXPECT_ERR(b, "fx.gguf: key 't': element 1: string length 1000000000000000000 runs past the "
                  "end of the file (0 bytes left)");
    free(b.p);
    b = hdr(3, 0, 1);
    str(&b, "k");
    u32(&b, GGUF_VTYPE_UINT64);
    u32(&b, 0);
    EXPECT_ERR(b, "fx.gguf: key 'k': UINT64 value runs past the end of the file (41 bytes)");
    free(b.p);
    b = hdr(3, 1, 0);
    u64(&b, 1ull << 40);
    zeros(&b, 16);
    EXPECT_ERR(b, "fx.gguf: tensor 0: name length 1099511627776 runs past the end of the file "
                  "(16 bytes left)");
    free(b.p);
}

static void test_v05_value_types(void) {
    bb b = hdr(3, 0, 1);
    str(&b, "k");
    u32(&b, 13);
    zeros(&b, 8);
    EXPECT_ERR(b, "fx.gguf: key 'k': unknown value type 13");
    free(b.p);
    b = hdr(3, 0, 1);
    str(&b, "k");
    u32(&b, GGUF_VTYPE_ARRAY);
    u32(&b, GGUF_VTYPE_ARRAY);
    u64(&b, 1);
    u32(&b, GGUF_VTYPE_UINT8);
    u64(&b, 1);
    zeros(&b, 1);
    EXPECT_ERR(b, "fx.gguf: key 'k': nested arrays are not supported");
    free(b.p);
    b = hdr(3, 0, 1);
    str(&b, "k");
    u32(&b, GGUF_VTYPE_ARRAY);
    u32(&b, 99);
    u64(&b, 0);
    EXPECT_ERR(b, "fx.gguf: key 'k': array of unknown element type 99");
    free(b.p);
    /* a key with control bytes is shown escaped, on one line */
    b = hdr(3, 0, 1);
    str(&b, "a\nb'");
    u32(&b, 0xFFFFFFFFu);
    zeros(&b, 8);
    EXPECT_ERR(b, "fx.gguf: key 'a\\x0ab\\x27': unknown value type 4294967295");
    free(b.p);
}

static void test_v06_duplicate_key(void) {
    bb b = hdr(3, 0, 3);
    str(&b, "a");
    u32(&b, GGUF_VTYPE_UINT8);
    zeros(&b, 1);
    str(&b, "b");
    u32(&b, GGUF_VTYPE_UINT8);
    zeros(&b, 1);
    str(&b, "a");
    u32(&b, GGUF_VTYPE_STRING);
    str(&b, "again");
    EXPECT_ERR(b, "fx.gguf: duplicate key 'a' (kv 0 and 2)");
    free(b.p);
}

static bb align_file(uint32_t type, uint32_t value) {
    bb b = hdr(3, 0, 1);
    str(&b, "general.alignment");
    u32(&b, type);
    if (type == GGUF_VTYPE_STRING) str(&b, "64");
    else if (type == GGUF_VTYPE_UINT64) u64(&b, value);
    else u32(&b, value);
    return b;
}

static void test_v07_alignment(void) {
    bb b = align_file(GGUF_VTYPE_STRING, 0);
    EXPECT_ERR(b, "fx.gguf: key 'general.alignment': expected UINT32, got STRING");
    free(b.p);
    b = align_file(GGUF_VTYPE_UINT64, 64);
    EXPECT_ERR(b, "fx.gguf: key 'general.alignment': expected UINT32, got UINT64");
    free(b.p);
    b = align_file(GGUF_VTYPE_UINT32, 0);
    EXPECT_ERR(b, "fx.gguf: key 'general.alignment': alignment 0 is not a power of two");
    free(b.p);
    b = align_file(GGUF_VTYPE_UINT32, 48);
    EXPECT_ERR(b, "fx.gguf: key 'general.alignment': alignment 48 is not a power of two");
    free(b.p);
    b = align_file(GGUF_VTYPE_UINT32, 1u << 30);
    EXPECT_ERR_ST(b, PP_ERR_UNSUPPORTED,
                  "fx.gguf: key 'general.alignment': alignment 1073741824 is larger than 1048576");
    free(b.p);
    b = align_file(GGUF_VTYPE_UINT32, 64);
    gguf_file *f = open_ok(b.p, b.len, true);
    if (f) {
        T_CHECK(gguf_alignment(f) == 64);
        T_CHECK(gguf_data_offset(f) == 64); /* 24 + 25 + 4 + 4 = 57, rounded up to 64 */
        gguf_close(f);
    }
    free(b.p);
}

/* One tensor "w" with the given fields (no data). */
static bb one_tensor(const char *name, uint32_t n_dims, const int64_t *ne, uint32_t type,
                     uint64_t offset) {
    bb b = hdr(3, 1, 0);
    tinfo(&b, name, n_dims, ne, type, offset);
    pad32(&b);
    return b;
}

static void test_v08_names(void) {
    char name[80];
    memset(name, 'a', 64);
    name[64] = 0;
    int64_t ne[1] = {8};
    bb b = one_tensor(name, 1, ne, GGUF_TTYPE_F32, 0);
    EXPECT_ERR(b, "fx.gguf: tensor 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa':"
                  " name is 64 bytes, the limit is 63");
    free(b.p);
    name[63] = 0; /* 63 bytes is fine */
    b = one_tensor(name, 1, ne, GGUF_TTYPE_F32, 0);
    zeros(&b, 32);
    gguf_file *f = open_ok(b.p, b.len, true);
    if (f) {
        T_CHECK(gguf_find_tensor(f, name) == gguf_tensor_at(f, 0));
        gguf_close(f);
    }
    free(b.p);
    b = hdr(3, 3, 0);
    tinfo(&b, "w", 1, ne, GGUF_TTYPE_F32, 0);
    tinfo(&b, "v", 1, ne, GGUF_TTYPE_F32, 32);
    tinfo(&b, "w", 1, ne, GGUF_TTYPE_F32, 64);
    pad32(&b);
    zeros(&b, 96);
    EXPECT_ERR(b, "fx.gguf: tensor 'w': duplicate tensor name (also tensor 0)");
    free(b.p);
}

static void test_v09_dims(void) {
    int64_t ne5[5] = {1, 1, 1, 1, 1};
    bb b = one_tensor("w", 5, ne5, GGUF_TTYPE_F32, 0);
    EXPECT_ERR(b, "fx.gguf: tensor 'w': 5 dimensions, the limit is 4");
    free(b.p);
    int64_t neg[2] = {8, -5};
    b = one_tensor("w", 2, neg, GGUF_TTYPE_F32, 0);
    EXPECT_ERR(b, "fx.gguf: tensor 'w': ne[1] = -5 is negative");
    free(b.p);
    int64_t zero[2] = {0, 4};
    b = one_tensor("w", 2, zero, GGUF_TTYPE_F32, 0);
    EXPECT_ERR(b, "fx.gguf: tensor 'w': ne[0] is 0 (empty tensors are not supported)");
    free(b.p);
    /* fewer dims than 4: missing ones read as 1 */
    int64_t ne2[2] = {8, 2};
    b = one_tensor("w", 2, ne2, GGUF_TTYPE_F32, 0);
    zeros(&b, 64);
    gguf_file *f = open_ok(b.p, b.len, true);
    if (f) {
        const gguf_tensor *t = gguf_tensor_at(f, 0);
        T_CHECK(t->n_dims == 2 && t->ne[0] == 8 && t->ne[1] == 2 && t->ne[2] == 1 && t->ne[3] == 1);
        T_CHECK(t->n_elements == 16 && t->nbytes == 64);
        gguf_close(f);
    }
    free(b.p);
}

static void test_v10_overflow(void) {
    int64_t big[2] = {1ll << 32, 1ll << 32};
    bb b = one_tensor("w", 2, big, GGUF_TTYPE_F32, 0);
    EXPECT_ERR(b, "fx.gguf: tensor 'w': element count of [4294967296, 4294967296, 1, 1] overflows");
    free(b.p);
    int64_t four[4] = {1ll << 16, 1ll << 16, 1ll << 16, 1ll << 16};
    b = one_tensor("w", 4, four, GGUF_TTYPE_F32, 0);
    EXPECT_ERR(b, "fx.gguf: tensor 'w': element count of [65536, 65536, 65536, 65536] overflows");
    free(b.p);
    int64_t bytes[2] = {1ll << 31, 1ll << 31};
    b = one_tensor("w", 2, bytes, GGUF_TTYPE_F64, 0);
    EXPECT_ERR(b, "fx.gguf: tensor 'w': byte size of [2147483648, 2147483648, 1, 1] F64 overflows");
    free(b.p);
}

static void test_v11_types(void) {
    int64_t ne[1] = {32};
    bb b = one_tensor("w", 1, ne, 45, 0);
    EXPECT_ERR_ST(b, PP_ERR_UNSUPPORTED, "fx.gguf: tensor 'w': type 45 is unknown");
    free(b.p);
    b = one_tensor("w", 1, ne, 4, 0);
    EXPECT_ERR_ST(b, PP_ERR_UNSUPPORTED, "fx.gguf: tensor 'w': type 4 is unknown");
    free(b.p);
    b = one_tensor("w", 1, ne, 37, 0);
    EXPECT_ERR_ST(b, PP_ERR_UNSUPPORTED, "fx.gguf: tensor 'w': type 37 is unknown");
    free(b.p);
    /* IQ and other valid ggml ids load (only using them fails later) */
    static const uint32_t ok_types[] = {GGUF_TTYPE_IQ2_XS, GGUF_TTYPE_IQ1_M, GGUF_TTYPE_TQ1_0,
                                        GGUF_TTYPE_MXFP4, GGUF_TTYPE_Q8_K, GGUF_TTYPE_I64};
    for (size_t i = 0; i < sizeof ok_types / sizeof ok_types[0]; i++) {
        gguf_ttype_info ti = gguf_ttype_info_get(ok_types[i]);
        int64_t n[1] = {ti.blck};
        b = one_tensor("w", 1, n, ok_types[i], 0);
        zeros(&b, ti.bytes);
        gguf_file *f = open_ok(b.p, b.len, true);
        if (f) {
            T_CHECK_MSG(gguf_tensor_at(f, 0)->nbytes == ti.bytes, "%s", ti.name);
            gguf_close(f);
        }
        free(b.p);
    }
}

static void test_v12_blocks(void) {
    int64_t ne[2] = {48, 2};
    bb b = one_tensor("w", 2, ne, GGUF_TTYPE_Q4_0, 0);
    EXPECT_ERR(b, "fx.gguf: tensor 'w': ne[0]=48 not a multiple of 32 (Q4_0)");
    free(b.p);
    int64_t k[2] = {128, 2};
    b = one_tensor("blk.7.ffn_down.weight", 2, k, GGUF_TTYPE_Q4_K, 0);
    EXPECT_ERR(b, "fx.gguf: tensor 'blk.7.ffn_down.weight': ne[0]=128 not a multiple of 256 (Q4_K)");
    free(b.p);
}

static void test_v13_offsets(void) {
    int64_t ne[1] = {16}; /* F32: 64 bytes */
    bb b = one_tensor("w", 1, ne, GGUF_TTYPE_F32, 16);
    zeros(&b, 128);
    EXPECT_ERR(b, "fx.gguf: tensor 'w': offset 16 is not a multiple of the alignment 32");
    free(b.p);
    /* with general.alignment 64, 32 is misaligned */
    b = hdr(3, 1, 1);
    str(&b, "general.alignment");
    u32(&b, GGUF_VTYPE_UINT32);
    u32(&b, 64);
    tinfo(&b, "w", 1, ne, GGUF_TTYPE_F32, 32);
    zeros(&b, 256);
    EXPECT_ERR(b, "fx.gguf: tensor 'w': offset 32 is not a multiple of the alignment 64");
    free(b.p);
    /* overlap: a [0, 64), b [32, 96) */
    b = hdr(3, 2, 0);
    tinfo(&b, "a", 1, ne, GGUF_TTYPE_F32, 0);
    tinfo(&b, "b", 1, ne, GGUF_TTYPE_F32, 32);
    pad32(&b);
    uint64_t d = b.len;
    zeros(&b, 128);
    char want[256];
    snprintf(want, sizeof want,
             "fx.gguf: tensor 'b': data [%" PRIu64 ", %" PRIu64 ") overlaps tensor 'a' [%" PRIu64
             ", %" PRIu64 ")", d + 32, d + 96, d, d + 64);
    EXPECT_ERR(b, want);
    free(b.p);
    /* overlap found regardless of file order: b listed first, a later */
    b = hdr(3, 3, 0);
    tinfo(&b, "c", 1, ne, GGUF_TTYPE_F32, 192);
    tinfo(&b, "b", 1, ne, GGUF_TTYPE_F32, 64);
    tinfo(&b, "a", 1, ne, GGUF_TTYPE_F32, 96);
    pad32(&b);
    d = b.len;
    zeros(&b, 256);
    snprintf(want, sizeof want,
             "fx.gguf: tensor 'a': data [%" PRIu64 ", %" PRIu64 ") overlaps tensor 'b' [%" PRIu64
             ", %" PRIu64 ")", d + 96, d + 160, d + 64, d + 128);
    EXPECT_ERR(b, want);
    free(b.p);
    /* gap: lenient accepts, strict (ggml's rule) rejects */
    b = hdr(3, 2, 0);
    tinfo(&b, "a", 1, ne, GGUF_TTYPE_F32, 0);
    tinfo(&b, "b", 1, ne, GGUF_TTYPE_F32, 128);
    pad32(&b);
    zeros(&b, 192);
    gguf_file *f = open_ok(b.p, b.len, false);
    if (f) gguf_close(f);
    expect_err_at(__LINE__, b.p, b.len, true, PP_ERR_FORMAT,
                  "fx.gguf: tensor 'b': offset 128, expected 64 (tensors must be packed in file "
                  "order)");
    free(b.p);
    /* strict also wants file order: a at 64, b at 0 */
    b = hdr(3, 2, 0);
    tinfo(&b, "a", 1, ne, GGUF_TTYPE_F32, 64);
    tinfo(&b, "b", 1, ne, GGUF_TTYPE_F32, 0);
    pad32(&b);
    zeros(&b, 128);
    f = open_ok(b.p, b.len, false);
    if (f) gguf_close(f);
    expect_err_at(__LINE__, b.p, b.len, true, PP_ERR_FORMAT,
                  "fx.gguf: tensor 'a': offset 64, expected 0 (tensors must be packed in file "
                  "order)");
    free(b.p);
}

static void test_v14_bounds(void) {
    int64_t ne[1] = {16};
    bb b = one_tensor("blk.3.attn_q.weight", 1, ne, GGUF_TTYPE_F32, 0);
    uint64_t d = b.len;
    zeros(&b, 32);
    char want[256];
    snprintf(want, sizeof want,
             "fx.gguf: tensor 'blk.3.attn_q.weight': data [%" PRIu64 ", %" PRIu64
             ") lies past the end of the file (%" PRIu64 " bytes)", d, d + 64, d + 32);
    EXPECT_ERR(b, want);
    free(b.p);
    b = one_tensor("w", 1, ne, GGUF_TTYPE_F32, UINT64_MAX - 31);
    zeros(&b, 64);
    EXPECT_ERR(b, "fx.gguf: tensor 'w': data offset 18446744073709551584 + 64 bytes overflows");
    free(b.p);
    /* the padding after the last tensor may be missing; data must not be */
    int64_t ne2[1] = {2};
    b = one_tensor("w", 1, ne2, GGUF_TTYPE_F32, 0);
    zeros(&b, 8);
    gguf_file *f = open_ok(b.p, b.len, true);
    if (f) gguf_close(f);
    free(b.p);
}

/* ---- writer round trip ---- */

static const char *const TOKS[] = {"<pad>", "<eos>", "", "\xe2\x96\x81the", "a\nb\"c"};
#define N_TOKS 5

/* A file with every value type, string arrays and several tensors; last tensor's size is a
 * multiple of 32 so no padding follows it. */
static gguf_writer *make_rich(uint8_t *tdata) {
    gguf_writer *w;
    pp_err err;
    if (gguf_writer_init(&w, &err)) return NULL;
    uint8_t u8 = 250; int8_t i8 = -100; uint16_t u16 = 65535; int16_t i16 = -32768;
    int64_t i64 = INT64_MIN; double f64 = -2.5e-300; bool bf = false;
    gguf_writer_set_str(w, "general.architecture", "gemma3");
    gguf_writer_set_val(w, "t.u8", GGUF_VTYPE_UINT8, &u8);
    gguf_writer_set_val(w, "t.i8", GGUF_VTYPE_INT8, &i8);
    gguf_writer_set_val(w, "t.u16", GGUF_VTYPE_UINT16, &u16);
    gguf_writer_set_val(w, "t.i16", GGUF_VTYPE_INT16, &i16);
    gguf_writer_set_u32(w, "t.u32", 4000000000u);
    gguf_writer_set_i32(w, "t.i32", -7);
    gguf_writer_set_f32(w, "t.f32", 1e-6f);
    gguf_writer_set_bool(w, "t.bool", true);
    gguf_writer_set_val(w, "t.bool2", GGUF_VTYPE_BOOL, &bf);
    gguf_writer_set_str(w, "t.str", "hello");
    gguf_writer_set_str_n(w, "t.str_n", "ab\0cd", 5);
    gguf_writer_set_u64(w, "t.u64", UINT64_MAX);
    gguf_writer_set_val(w, "t.i64", GGUF_VTYPE_INT64, &i64);
    gguf_writer_set_val(w, "t.f64", GGUF_VTYPE_FLOAT64, &f64);
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", TOKS, N_TOKS);
    float sc[3] = {-1000.0f, 0.5f, -INFINITY};
    int32_t ty[3] = {3, -1, 6};
    uint8_t au8[2] = {0, 255};
    int8_t ai8[2] = {-128, 127};
    uint16_t au16[2] = {1, 65535};
    int16_t ai16[2] = {-32768, 5};
    uint32_t au32[2] = {0, 4294967295u};
    uint64_t au64[2] = {1, 1ull << 63};
    int64_t ai64[2] = {INT64_MIN, INT64_MAX};
    double af64[2] = {0.1, -3.0};
    bool ab[3] = {true, false, true};
    gguf_writer_set_arr(w, "a.f32", GGUF_VTYPE_FLOAT32, sc, 3);
    gguf_writer_set_arr(w, "a.i32", GGUF_VTYPE_INT32, ty, 3);
    gguf_writer_set_arr(w, "a.u8", GGUF_VTYPE_UINT8, au8, 2);
    gguf_writer_set_arr(w, "a.i8", GGUF_VTYPE_INT8, ai8, 2);
    gguf_writer_set_arr(w, "a.u16", GGUF_VTYPE_UINT16, au16, 2);
    gguf_writer_set_arr(w, "a.i16", GGUF_VTYPE_INT16, ai16, 2);
    gguf_writer_set_arr(w, "a.u32", GGUF_VTYPE_UINT32, au32, 2);
    gguf_writer_set_arr(w, "a.u64", GGUF_VTYPE_UINT64, au64, 2);
    gguf_writer_set_arr(w, "a.i64", GGUF_VTYPE_INT64, ai64, 2);
    gguf_writer_set_arr(w, "a.f64", GGUF_VTYPE_FLOAT64, af64, 2);
    gguf_writer_set_arr(w, "a.bool", GGUF_VTYPE_BOOL, ab, 3);
    gguf_writer_set_arr(w, "a.empty", GGUF_VTYPE_INT32, NULL, 0);
    gguf_writer_set_arr_str(w, "a.empty_str", NULL, 0);
    gguf_writer_set_u32(w, "t.replaced", 1);
    gguf_writer_set_u32(w, "t.removed", 9);
    gguf_writer_set_str(w, "t.replaced", "now a string"); /* replaces in place */
    gguf_writer_remove(w, "t.removed");
    for (int i = 0; i < 4096; i++) tdata[i] = (uint8_t)(i * 7 + 3);
    int64_t e[2] = {64, 4}, q[2] = {32, 3}, n1[1] = {5}, k[1] = {256};
    gguf_writer_add_tensor(w, "token_embd.weight", 2, e, GGUF_TTYPE_F16, tdata, 64 * 4 * 2);
    gguf_writer_add_tensor(w, "blk.0.attn_q.weight", 2, q, GGUF_TTYPE_Q4_0, tdata + 1, 3 * 18);
    gguf_writer_add_tensor_copy(w, "blk.0.attn_norm.weight", 1, n1, GGUF_TTYPE_F32, tdata + 2, 20);
    gguf_writer_add_tensor(w, "blk.0.ffn_up.weight", 1, k, GGUF_TTYPE_Q4_K, tdata + 3, 144);
    int64_t e2[2] = {32, 2};
    gguf_writer_add_tensor(w, "last", 2, e2, GGUF_TTYPE_F32, tdata + 5, 256);
    return w;
}

#define STR_EQ(v, s) ((v).len == strlen(s) && memcmp((v).ptr, (s), (v).len) == 0)

static void check_err(pp_status st, pp_status want_st, const pp_err *err, const char *want) {
    T_CHECK_MSG(st == want_st, "status %s, want %s (%s)", pp_status_name(st),
                pp_status_name(want_st), err->msg);
    T_CHECK_MSG(strcmp(err->msg, want) == 0, "\n   got '%s'\n  want '%s'", err->msg, want);
}

static void test_writer_round_trip(void) {
    static uint8_t tdata[4096];
    gguf_writer *w = make_rich(tdata);
    T_CHECK(w != NULL && gguf_writer_error(w) == NULL);
    uint8_t *buf;
    size_t len;
    pp_err err = {0};
    T_CHECK(gguf_writer_to_mem(w, &buf, &len, &err) == PP_OK);
    gguf_file *f = open_ok(buf, len, true);
    if (!f) { gguf_writer_free(w); free(buf); return; }
    T_CHECK(gguf_version(f) == 3);
    T_CHECK(gguf_n_kv(f) == 30);
    /* insertion order, with the replaced key at its original position */
    T_CHECK(pp_view_eq(gguf_kv_at(f, 0)->key, "general.architecture"));
    T_CHECK(pp_view_eq(gguf_kv_at(f, 1)->key, "t.u8"));
    T_CHECK(pp_view_eq(gguf_kv_at(f, 29)->key, "t.replaced"));
    T_CHECK(gguf_find_kv(f, "t.removed") == NULL);

    uint32_t v32; uint64_t v64; int64_t i64; float fl; bool b; pp_view s;
    T_CHECK(gguf_get_u32(f, "t.u8", &v32, &err) == PP_OK && v32 == 250);
    T_CHECK(gguf_get_i64(f, "t.i8", &i64, &err) == PP_OK && i64 == -100);
    T_CHECK(gguf_get_u32(f, "t.u16", &v32, &err) == PP_OK && v32 == 65535);
    T_CHECK(gguf_get_i64(f, "t.i16", &i64, &err) == PP_OK && i64 == -32768);
    T_CHECK(gguf_get_u32(f, "t.u32", &v32, &err) == PP_OK && v32 == 4000000000u);
    T_CHECK(gguf_get_i64(f, "t.i32", &i64, &err) == PP_OK && i64 == -7);
    T_CHECK(gguf_get_f32(f, "t.f32", &fl, &err) == PP_OK && fl == 1e-6f);
    T_CHECK(gguf_get_bool(f, "t.bool", &b, &err) == PP_OK && b);
    T_CHECK(gguf_get_bool(f, "t.bool2", &b, &err) == PP_OK && !b);
    T_CHECK(gguf_get_str(f, "t.str", &s, &err) == PP_OK && STR_EQ(s, "hello"));
    T_CHECK(gguf_get_str(f, "t.str_n", &s, &err) == PP_OK && s.len == 5 && !memcmp(s.ptr, "ab\0cd", 5));
    T_CHECK(gguf_get_u64(f, "t.u64", &v64, &err) == PP_OK && v64 == UINT64_MAX);
    T_CHECK(gguf_get_i64(f, "t.i64", &i64, &err) == PP_OK && i64 == INT64_MIN);
    T_CHECK(gguf_get_f32(f, "t.f64", &fl, &err) == PP_OK && fl == (float)-2.5e-300);
    T_CHECK(gguf_find_kv(f, "t.f64")->v.f64 == -2.5e-300);
    T_CHECK(gguf_get_str(f, "t.replaced", &s, &err) == PP_OK && STR_EQ(s, "now a string"));
    /* integer getters take any integer type whose value fits */
    T_CHECK(gguf_get_u64(f, "t.u8", &v64, &err) == PP_OK && v64 == 250);
    T_CHECK(gguf_get_i64(f, "t.u32", &i64, &err) == PP_OK && i64 == 4000000000ll);
    T_CHECK(gguf_get_u32(f, "t.i16", &v32, &err) == PP_ERR_FORMAT);

    /* arrays */
    const gguf_kv *kv;
    T_CHECK(gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_VTYPE_STRING, &kv, &err) == PP_OK);
    T_CHECK(kv->arr_count == N_TOKS);
    for (int i = 0; i < N_TOKS; i++) T_CHECK_MSG(STR_EQ(gguf_arr_str(kv, (uint64_t)i), TOKS[i]), "%d", i);
    T_CHECK(gguf_get_arr(f, "a.f32", GGUF_VTYPE_FLOAT32, &kv, &err) == PP_OK);
    T_CHECK(kv->arr_count == 3 && gguf_arr_f64(kv, 0) == -1000.0 && gguf_arr_f64(kv, 1) == 0.5 &&
            isinf(gguf_arr_f64(kv, 2)) && gguf_arr_i64(kv, 2) == INT64_MIN);
    T_CHECK(gguf_get_arr(f, "a.i32", GGUF_VTYPE_INT32, &kv, &err) == PP_OK);
    T_CHECK(gguf_arr_i64(kv, 0) == 3 && gguf_arr_i64(kv, 1) == -1 && gguf_arr_f64(kv, 2) == 6.0);
    T_CHECK(gguf_get_arr(f, "a.u8", GGUF_VTYPE_UINT8, &kv, &err) == PP_OK && gguf_arr_i64(kv, 1) == 255);
    T_CHECK(gguf_get_arr(f, "a.i8", GGUF_VTYPE_INT8, &kv, &err) == PP_OK && gguf_arr_i64(kv, 0) == -128);
    T_CHECK(gguf_get_arr(f, "a.u16", GGUF_VTYPE_UINT16, &kv, &err) == PP_OK && gguf_arr_i64(kv, 1) == 65535);
    T_CHECK(gguf_get_arr(f, "a.i16", GGUF_VTYPE_INT16, &kv, &err) == PP_OK && gguf_arr_i64(kv, 0) == -32768);
    T_CHECK(gguf_get_arr(f, "a.u32", GGUF_VTYPE_UINT32, &kv, &err) == PP_OK && gguf_arr_i64(kv, 1) == 4294967295ll);
    T_CHECK(gguf_get_arr(f, "a.u64", GGUF_VTYPE_UINT64, &kv, &err) == PP_OK);
    T_CHECK(gguf_arr_i64(kv, 0) == 1 && gguf_arr_i64(kv, 1) == INT64_MAX &&
            gguf_arr_f64(kv, 1) == 9223372036854775808.0);
    T_CHECK(gguf_get_arr(f, "a.i64", GGUF_VTYPE_INT64, &kv, &err) == PP_OK);
    T_CHECK(gguf_arr_i64(kv, 0) == INT64_MIN && gguf_arr_i64(kv, 1) == INT64_MAX);
    T_CHECK(gguf_get_arr(f, "a.f64", GGUF_VTYPE_FLOAT64, &kv, &err) == PP_OK);
    T_CHECK(gguf_arr_f64(kv, 0) == 0.1 && gguf_arr_i64(kv, 1) == -3);
    T_CHECK(gguf_get_arr(f, "a.bool", GGUF_VTYPE_BOOL, &kv, &err) == PP_OK);
    T_CHECK(gguf_arr_i64(kv, 0) == 1 && gguf_arr_i64(kv, 1) == 0 && gguf_arr_i64(kv, 2) == 1);
    T_CHECK(gguf_get_arr(f, "a.empty", GGUF_VTYPE_COUNT, &kv, &err) == PP_OK && kv->arr_count == 0);
    T_CHECK(gguf_get_arr(f, "a.empty_str", GGUF_VTYPE_STRING, &kv, &err) == PP_OK && kv->arr_count == 0);

    /* wrong types, missing keys, values that do not fit */
    check_err(gguf_get_u32(f, "t.str", &v32, &err), PP_ERR_FORMAT, &err,
              "fx.gguf: key 't.str': expected UINT32, got STRING");
    check_err(gguf_get_u32(f, "nope", &v32, &err), PP_ERR_NOT_FOUND, &err,
              "fx.gguf: key 'nope' is missing");
    check_err(gguf_get_u32(f, "t.i32", &v32, &err), PP_ERR_FORMAT, &err,
              "fx.gguf: key 't.i32': value -7 does not fit in UINT32");
    check_err(gguf_get_u32(f, "t.u64", &v32, &err), PP_ERR_FORMAT, &err,
              "fx.gguf: key 't.u64': value 18446744073709551615 does not fit in UINT32");
    check_err(gguf_get_i64(f, "t.u64", &i64, &err), PP_ERR_FORMAT, &err,
              "fx.gguf: key 't.u64': value 18446744073709551615 does not fit in INT64");
    check_err(gguf_get_u64(f, "t.i8", &v64, &err), PP_ERR_FORMAT, &err,
              "fx.gguf: key 't.i8': value -100 does not fit in UINT64");
    check_err(gguf_get_u64(f, "t.f32", &v64, &err), PP_ERR_FORMAT, &err,
              "fx.gguf: key 't.f32': expected UINT64, got FLOAT32");
    check_err(gguf_get_i64(f, "t.bool", &i64, &err), PP_ERR_FORMAT, &err,
              "fx.gguf: key 't.bool': expected INT64, got BOOL");
    check_err(gguf_get_f32(f, "t.u32", &fl, &err), PP_ERR_FORMAT, &err,
              "fx.gguf: key 't.u32': expected FLOAT32, got UINT32");
    check_err(gguf_get_bool(f, "t.u8", &b, &err), PP_ERR_FORMAT, &err,
              "fx.gguf: key 't.u8': expected BOOL, got UINT8");
    check_err(gguf_get_str(f, "tokenizer.ggml.tokens", &s, &err), PP_ERR_FORMAT, &err,
              "fx.gguf: key 'tokenizer.ggml.tokens': expected STRING, got ARRAY of STRING");
    check_err(gguf_get_arr(f, "a.i32", GGUF_VTYPE_FLOAT32, &kv, &err), PP_ERR_FORMAT, &err,
              "fx.gguf: key 'a.i32': expected ARRAY of FLOAT32, got ARRAY of INT32");
    check_err(gguf_get_arr(f, "t.u32", GGUF_VTYPE_COUNT, &kv, &err), PP_ERR_FORMAT, &err,
              "fx.gguf: key 't.u32': expected ARRAY, got UINT32");
    check_err(gguf_get_arr(f, "nope", GGUF_VTYPE_COUNT, &kv, &err), PP_ERR_NOT_FOUND, &err,
              "fx.gguf: key 'nope' is missing");

    /* tensors: order, shapes, padded offsets, data bytes */
    T_CHECK(gguf_n_tensors(f) == 5);
    static const char *const names[5] = {"token_embd.weight", "blk.0.attn_q.weight",
                                         "blk.0.attn_norm.weight", "blk.0.ffn_up.weight", "last"};
    static const uint64_t offs[5] = {0, 512, 576, 608, 768};
    static const uint64_t sizes[5] = {512, 54, 20, 144, 256};
    static const size_t src_off[5] = {0, 1, 2, 3, 5};
    for (uint64_t i = 0; i < 5; i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        T_CHECK_MSG(pp_view_eq(t->name, names[i]), "%" PRIu64, i);
        T_CHECK_MSG(t->offset == offs[i] && t->nbytes == sizes[i], "%" PRIu64 ": off %" PRIu64
                    " bytes %" PRIu64, i, t->offset, t->nbytes);
        T_CHECK(gguf_find_tensor(f, names[i]) == t);
        T_CHECK(memcmp(t->data, tdata + src_off[i], sizes[i]) == 0);
        T_CHECK((uint64_t)((const uint8_t *)t->data - buf) % 32 == 0);
    }
    T_CHECK(gguf_tensor_at(f, 1)->ne[0] == 32 && gguf_tensor_at(f, 1)->ne[1] == 3 &&
            gguf_tensor_at(f, 1)->type == GGUF_TTYPE_Q4_0 && gguf_tensor_at(f, 1)->n_elements == 96);
    T_CHECK(gguf_find_tensor(f, "nope") == NULL);
    T_CHECK(gguf_data_offset(f) % 32 == 0);
    T_CHECK(len == gguf_data_offset(f) + 768 + 256);
    /* the copy-added tensor no longer depends on the caller's buffer */
    gguf_close(f);
    gguf_writer_free(w);
    free(buf);
}

/* The writer's exact bytes for a tiny file, against a hand-built expectation (layout per
 * spec §2: magic, version, n_tensors BEFORE n_kv, KVs, tensor infos, pad, data, pad). */
static void test_writer_exact_bytes(void) {
    gguf_writer *w;
    pp_err err;
    T_CHECK(gguf_writer_init(&w, &err) == PP_OK);
    gguf_writer_set_u32(w, "k", 7);
    float data[3] = {1.0f, 2.0f, 3.0f};
    int64_t ne[1] = {3};
    gguf_writer_add_tensor(w, "t", 1, ne, GGUF_TTYPE_F32, data, 12);
    uint8_t *buf;
    size_t len;
    T_CHECK(gguf_writer_to_mem(w, &buf, &len, &err) == PP_OK);
    bb want = hdr(3, 1, 1);
    str(&want, "k");
    u32(&want, GGUF_VTYPE_UINT32);
    u32(&want, 7);
    tinfo(&want, "t", 1, ne, GGUF_TTYPE_F32, 0);
    pad32(&want);
    u32(&want, 0x3f800000u);
    u32(&want, 0x40000000u);
    u32(&want, 0x40400000u);
    pad32(&want);
    T_CHECK_MSG(len == want.len && memcmp(buf, want.p, len) == 0, "len %zu want %zu", len, want.len);
    free(buf);
    free(want.p);
    gguf_writer_free(w);
}

static void test_writer_file_and_errors(void) {
    static uint8_t tdata[4096];
    gguf_writer *w = make_rich(tdata);
    pp_err err = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/wdir", t_tmp_dir());
    T_CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/wdir/out.gguf", t_tmp_dir());
    T_CHECK(gguf_writer_write(w, path, &err) == PP_OK);
    uint8_t *mem;
    size_t len;
    T_CHECK(gguf_writer_to_mem(w, &mem, &len, &err) == PP_OK);
    gguf_file *f;
    T_CHECK(gguf_open(path, &f, &err) == PP_OK);
    if (f) {
        T_CHECK(gguf_file_size(f) == len);
        T_CHECK(!strcmp(gguf_name(f), "out.gguf"));
        T_CHECK(gguf_n_tensors(f) == 5);
        T_CHECK(memcmp(gguf_tensor_at(f, 0)->data, mem + gguf_data_offset(f), 512) == 0);
        gguf_close(f);
    }
    free(mem);
    /* no temporary file left behind */
    snprintf(path, sizeof path, "%s/wdir", t_tmp_dir());
    DIR *dir = opendir(path);
    int n = 0;
    struct dirent *de;
    while (dir && (de = readdir(dir)))
        if (de->d_name[0] != '.') {
            n++;
            T_CHECK_MSG(!strcmp(de->d_name, "out.gguf"), "left over: %s", de->d_name);
        }
    if (dir) closedir(dir);
    T_CHECK(n == 1);
    /* unwritable location */
    T_CHECK(gguf_writer_write(w, "/nonexistent-dir/x.gguf", &err) == PP_ERR_IO);
    T_CHECK_MSG(strstr(err.msg, "/nonexistent-dir/x.gguf.tmp.") && strstr(err.msg, "cannot create"),
                "%s", err.msg);
    gguf_writer_free(w);

    /* argument errors are remembered and returned by to_mem */
    static const struct { uint32_t n_dims; int64_t ne0; uint32_t type; uint64_t nbytes;
                          const char *name; const char *want; } bad[] = {
        {1, 32, GGUF_TTYPE_F32, 100, "x", "gguf writer: tensor 'x': 100 bytes given, the shape needs 128"},
        {1, 48, GGUF_TTYPE_Q4_0, 18, "x", "gguf writer: tensor 'x': ne[0]=48 not a multiple of 32 (Q4_0)"},
        {1, 32, 4, 18, "x", "gguf writer: tensor 'x': type 4 is unknown"},
        {5, 32, GGUF_TTYPE_F32, 128, "x", "gguf writer: tensor 'x': 5 dimensions"},
        {1, 0, GGUF_TTYPE_F32, 0, "x", "gguf writer: tensor 'x': ne[0] = 0"},
        {1, 32, GGUF_TTYPE_F32, 128,
         "a_name_that_is_much_too_long_for_ggml_because_it_has_64_bytes___",
         "gguf writer: tensor 'a_name_that_is_much_too_long_for_ggml_because_it_has_64_bytes___': "
         "name is 64 bytes, the limit is 63"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        T_CHECK(gguf_writer_init(&w, &err) == PP_OK);
        int64_t ne[5] = {bad[i].ne0, 1, 1, 1, 1};
        T_CHECK(gguf_writer_add_tensor(w, bad[i].name, bad[i].n_dims, ne, bad[i].type, tdata,
                                       bad[i].nbytes) == PP_ERR_ARG);
        const char *e = gguf_writer_error(w);
        T_CHECK_MSG(e && !strcmp(e, bad[i].want), "%zu: got '%s'", i, e ? e : "(null)");
        T_CHECK(gguf_writer_to_mem(w, &mem, &len, &err) == PP_ERR_ARG);
        T_CHECK(!strcmp(err.msg, bad[i].want));
        gguf_writer_free(w);
    }
    T_CHECK(gguf_writer_init(&w, &err) == PP_OK);
    int64_t ne[1] = {8};
    T_CHECK(gguf_writer_add_tensor(w, "d", 1, ne, GGUF_TTYPE_F32, tdata, 32) == PP_OK);
    T_CHECK(gguf_writer_add_tensor(w, "d", 1, ne, GGUF_TTYPE_F32, tdata, 32) == PP_ERR_ARG);
    T_CHECK(!strcmp(gguf_writer_error(w), "gguf writer: duplicate tensor name 'd'"));
    gguf_writer_free(w);
    T_CHECK(gguf_writer_init(&w, &err) == PP_OK);
    gguf_writer_set_u32(w, "general.alignment", 24);
    T_CHECK(gguf_writer_to_mem(w, &mem, &len, &err) == PP_ERR_ARG);
    T_CHECK_MSG(strstr(err.msg, "general.alignment") != NULL, "%s", err.msg);
    T_CHECK(gguf_writer_remove(w, "nope") == PP_ERR_NOT_FOUND);
    gguf_writer_free(w);
    /* alignment 64 is honoured */
    T_CHECK(gguf_writer_init(&w, &err) == PP_OK);
    gguf_writer_set_u32(w, "general.alignment", 64);
    gguf_writer_add_tensor(w, "a", 1, ne, GGUF_TTYPE_F32, tdata, 32);
    gguf_writer_add_tensor(w, "b", 1, ne, GGUF_TTYPE_F32, tdata, 32);
    T_CHECK(gguf_writer_to_mem(w, &mem, &len, &err) == PP_OK);
    f = open_ok(mem, len, true);
    if (f) {
        T_CHECK(gguf_alignment(f) == 64 && gguf_tensor_at(f, 1)->offset == 64);
        T_CHECK(gguf_data_offset(f) % 64 == 0 && len == gguf_data_offset(f) + 128);
        gguf_close(f);
    }
    free(mem);
    gguf_writer_free(w);
}

static void test_writer_copy_kvs(void) {
    static uint8_t tdata[4096];
    gguf_writer *w = make_rich(tdata);
    uint8_t *buf, *buf2;
    size_t len, len2;
    pp_err err;
    T_CHECK(gguf_writer_to_mem(w, &buf, &len, &err) == PP_OK);
    gguf_writer_free(w);
    gguf_file *src = open_ok(buf, len, true);
    if (!src) { free(buf); return; }
    T_CHECK(gguf_writer_init(&w, &err) == PP_OK);
    gguf_writer_set_str(w, "general.architecture", "other"); /* already set: kept */
    T_CHECK(gguf_writer_copy_kvs(w, src) == PP_OK);
    T_CHECK(gguf_writer_to_mem(w, &buf2, &len2, &err) == PP_OK);
    gguf_file *g = open_ok(buf2, len2, true);
    if (g) {
        T_CHECK(gguf_n_kv(g) == gguf_n_kv(src));
        pp_view s;
        T_CHECK(gguf_get_str(g, "general.architecture", &s, &err) == PP_OK && STR_EQ(s, "other"));
        for (uint64_t i = 1; i < gguf_n_kv(src); i++) {
            const gguf_kv *a = gguf_kv_at(src, i), *b = gguf_kv_at(g, i);
            T_CHECK_MSG(a->key.len == b->key.len && !memcmp(a->key.ptr, b->key.ptr, a->key.len) &&
                        a->type == b->type, "kv %" PRIu64, i);
            if (a->type == GGUF_VTYPE_STRING)
                T_CHECK(a->v.str.len == b->v.str.len && !memcmp(a->v.str.ptr, b->v.str.ptr, a->v.str.len));
            else if (a->type == GGUF_VTYPE_ARRAY) {
                T_CHECK(a->arr_type == b->arr_type && a->arr_count == b->arr_count);
                for (uint64_t j = 0; j < a->arr_count; j++) {
                    if (a->arr_type == GGUF_VTYPE_STRING) {
                        pp_view x = gguf_arr_str(a, j), y = gguf_arr_str(b, j);
                        T_CHECK(x.len == y.len && !memcmp(x.ptr, y.ptr, x.len));
                    } else {
                        T_CHECK(gguf_arr_i64(a, j) == gguf_arr_i64(b, j));
                    }
                }
            } else {
                T_CHECK_MSG(a->v.u64 == b->v.u64, "kv %" PRIu64, i); /* same bits */
            }
        }
        gguf_close(g);
    }
    free(buf2);
    gguf_writer_free(w);
    gguf_close(src);
    free(buf);
}

/* Every strict prefix of a valid file must fail cleanly with a one-line message; flipping
 * any single metadata byte must not crash. */
static void test_truncation_every_byte(void) {
    static uint8_t tdata[4096];
    gguf_writer *w = make_rich(tdata);
    uint8_t *buf;
    size_t len;
    pp_err err;
    T_CHECK(gguf_writer_to_mem(w, &buf, &len, &err) == PP_OK);
    gguf_writer_free(w);
    int opened = 0, bad_msg = 0;
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, buf, n);
        for (int strict = 0; strict < 2; strict++) {
            gguf_open_params p = gguf_default_open_params();
            p.strict_offsets = strict;
            gguf_file *f;
            if (gguf_open_mem(copy, n, "fx.gguf", p, &f, &err) == PP_OK) {
                opened++;
                gguf_close(f);
            } else if (strncmp(err.msg, "fx.gguf: ", 9) != 0 || strchr(err.msg, '\n')) {
                if (!bad_msg++) T_CHECK_MSG(0, "len %zu: '%s'", n, err.msg);
            }
        }
        free(copy);
    }
    T_CHECK_MSG(opened == 0, "%d truncated files opened", opened);
    T_CHECK(bad_msg == 0);
    gguf_file *f = open_ok(buf, len, true);
    uint64_t meta = f ? gguf_data_offset(f) : 0;
    if (f) gguf_close(f);
    /* single-byte corruption of the metadata: any outcome but a crash */
    uint8_t *copy = malloc(len);
    for (uint64_t i = 0; i < meta; i++) {
        static const uint8_t vals[] = {0x00, 0xff, 0x80, 0x01};
        for (size_t k = 0; k < sizeof vals; k++) {
            memcpy(copy, buf, len);
            copy[i] = vals[k];
            gguf_open_params p = gguf_default_open_params();
            if (gguf_open_mem(copy, len, "fx.gguf", p, &f, &err) == PP_OK) gguf_close(f);
            else T_CHECK(strchr(err.msg, '\n') == NULL);
        }
    }
    free(copy);
    free(buf);
}

/* Inputs found by the fuzzer: must be handled (error or success) without crashing. */
static void test_fuzz_regressions(void) {
    DIR *dir = opendir("tests/data");
    if (!dir) { t_skip("tests/data not found (run from the repo root)"); return; }
    struct dirent *de;
    int n = 0;
    while ((de = readdir(dir))) {
        if (strncmp(de->d_name, "gguf-crash-", 11) != 0) continue;
        char path[512];
        snprintf(path, sizeof path, "tests/data/%s", de->d_name);
        char *data;
        size_t len;
        pp_err err;
        if (pp_read_file(path, &data, &len, 1 << 20, &err) != PP_OK) {
            T_CHECK_MSG(0, "%s", err.msg);
            continue;
        }
        gguf_file *f;
        pp_status st = gguf_open_mem(data, len, de->d_name, gguf_default_open_params(), &f, &err);
        if (st == PP_OK) {
            for (uint64_t i = 0; i < gguf_n_kv(f); i++) (void)gguf_kv_at(f, i);
            gguf_close(f);
        } else {
            T_CHECK_MSG(strncmp(err.msg, de->d_name, strlen(de->d_name)) == 0, "%s", err.msg);
        }
        if (!strcmp(de->d_name, "gguf-crash-oom-alignment"))
            T_CHECK_MSG(st == PP_ERR_UNSUPPORTED && strstr(err.msg, "alignment 1073741824 is larger"),
                        "%s", err.msg);
        free(data);
        n++;
    }
    closedir(dir);
    T_CHECK_MSG(n >= 1, "no regression inputs found");
}

static void test_type_table(void) {
    T_CHECK(gguf_ttype_info_get(GGUF_TTYPE_Q4_0).blck == 32 && gguf_ttype_info_get(GGUF_TTYPE_Q4_0).bytes == 18);
    T_CHECK(gguf_ttype_info_get(GGUF_TTYPE_Q6_K).bytes == 210);
    T_CHECK(gguf_ttype_info_get(GGUF_TTYPE_Q8_K).bytes == 292);
    T_CHECK(gguf_ttype_info_get(GGUF_TTYPE_IQ4_XS).bytes == 136);
    T_CHECK(gguf_ttype_info_get(GGUF_TTYPE_TQ2_0).bytes == 66);
    T_CHECK(gguf_ttype_info_get(GGUF_TTYPE_MXFP4).bytes == 17);
    T_CHECK(gguf_ttype_info_get(GGUF_TTYPE_BF16).bytes == 2);
    static const uint32_t removed[] = {4, 5, 31, 32, 33, 36, 37, 38, 40, 45, 1000000};
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++)
        T_CHECK_MSG(gguf_ttype_info_get(removed[i]).blck == 0 &&
                    !strcmp(gguf_ttype_info_get(removed[i]).name, "?"), "%u", removed[i]);
    int known = 0;
    for (uint32_t t = 0; t < GGUF_TTYPE_COUNT; t++) {
        gguf_ttype_info ti = gguf_ttype_info_get(t);
        if (!ti.blck) continue;
        known++;
        T_CHECK_MSG(gguf_ttype_from_name(ti.name) == (int)t, "%s", ti.name);
    }
    T_CHECK(known == 32);
    T_CHECK(gguf_ttype_from_name("q4_k") == GGUF_TTYPE_Q4_K);
    T_CHECK(gguf_ttype_from_name("iq2_xxs") == GGUF_TTYPE_IQ2_XXS);
    T_CHECK(gguf_ttype_from_name("?") == -1 && gguf_ttype_from_name("Q4_2") == -1);
    T_CHECK(!strcmp(gguf_vtype_name(GGUF_VTYPE_FLOAT64), "FLOAT64"));
    T_CHECK(!strcmp(gguf_vtype_name((gguf_vtype)13), "?"));
    T_CHECK(gguf_vtype_size(GGUF_VTYPE_INT16) == 2 && gguf_vtype_size(GGUF_VTYPE_STRING) == 0);
}

/* ---- fixtures ---- */

typedef struct fx_expect {
    const char *file;
    uint64_t bytes;
    uint32_t emb;
    uint32_t ftype;
    struct { uint32_t type; int n; } w[3];
} fx_expect;

static const fx_expect FX[] = {
    {"fx.f32.gguf", 27124640, GGUF_TTYPE_F32, 0, {{GGUF_TTYPE_F32, 42}}},
    {"fx.F16.gguf", 13624256, GGUF_TTYPE_F16, 1, {{GGUF_TTYPE_F16, 42}}},
    {"fx.BF16.gguf", 13624256, GGUF_TTYPE_BF16, 32, {{GGUF_TTYPE_BF16, 42}}},
    {"fx.Q8_0.gguf", 7295936, GGUF_TTYPE_Q8_0, 7, {{GGUF_TTYPE_Q8_0, 42}}},
    {"fx.Q6_K.gguf", 5661120, GGUF_TTYPE_Q6_K, 18, {{GGUF_TTYPE_Q6_K, 42}}},
    {"fx.Q5_K_M.gguf", 4977856, GGUF_TTYPE_Q6_K, 17, {{GGUF_TTYPE_Q5_K, 38}, {GGUF_TTYPE_Q6_K, 4}}},
    {"fx.Q5_1.gguf", 5260224, GGUF_TTYPE_Q6_K, 9, {{GGUF_TTYPE_Q5_1, 42}}},
    {"fx.Q5_0.gguf", 4903872, GGUF_TTYPE_Q6_K, 8, {{GGUF_TTYPE_Q5_0, 42}}},
    {"fx.Q4_K_M.gguf", 4334784, GGUF_TTYPE_Q6_K, 15, {{GGUF_TTYPE_Q4_K, 38}, {GGUF_TTYPE_Q6_K, 4}}},
    {"fx.Q4_K_S.gguf", 4199360, GGUF_TTYPE_Q6_K, 14, {{GGUF_TTYPE_Q4_K, 38}, {GGUF_TTYPE_Q5_K, 4}}},
    {"fx.Q4_1.gguf", 4547520, GGUF_TTYPE_Q6_K, 3, {{GGUF_TTYPE_Q4_1, 42}}},
    {"fx.Q4_0.gguf", 4191168, GGUF_TTYPE_Q6_K, 2, {{GGUF_TTYPE_Q4_0, 42}}},
    {"fx.qat-q4_0.gguf", 5428160, GGUF_TTYPE_F16, 2, {{GGUF_TTYPE_Q4_0, 42}}},
    {"fx.Q3_K_M.gguf", 3712192, GGUF_TTYPE_Q6_K, 12,
     {{GGUF_TTYPE_Q3_K, 24}, {GGUF_TTYPE_Q4_K, 16}, {GGUF_TTYPE_Q5_K, 2}}},
    {"fx.Q2_K.gguf", 3077568, GGUF_TTYPE_Q6_K, 10,
     {{GGUF_TTYPE_Q2_K, 24}, {GGUF_TTYPE_Q3_K, 12}, {GGUF_TTYPE_Q4_K, 6}}},
};
#define N_FX (sizeof FX / sizeof FX[0])

static void check_shape(const gguf_file *f, const char *name, int64_t ne0, int64_t ne1) {
    const gguf_tensor *t = gguf_find_tensor(f, name);
    T_CHECK_MSG(t != NULL, "%s: %s missing", gguf_name(f), name);
    if (!t) return;
    uint32_t nd = ne1 ? 2 : 1;
    T_CHECK_MSG(t->n_dims == nd && t->ne[0] == ne0 && t->ne[1] == (ne1 ? ne1 : 1),
                "%s: %s: n_dims %u ne [%" PRId64 ", %" PRId64 "]", gguf_name(f), name, t->n_dims,
                t->ne[0], t->ne[1]);
}

static void check_fixture(const char *dir, const fx_expect *e, json_t *dq) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, e->file);
    gguf_file *f;
    pp_err err;
    gguf_open_params p = gguf_default_open_params();
    p.strict_offsets = true; /* llama.cpp's rule; llama-quantize output obeys it */
    if (gguf_open_ex(path, p, &f, &err) != PP_OK) {
        T_CHECK_MSG(0, "%s", err.msg);
        return;
    }
    T_CHECK(gguf_version(f) == 3 && gguf_alignment(f) == 32);
    T_CHECK_MSG(gguf_file_size(f) == e->bytes, "%s: %" PRIu64, e->file, gguf_file_size(f));
    T_CHECK_MSG(gguf_n_tensors(f) == 80, "%s: %" PRIu64 " tensors", e->file, gguf_n_tensors(f));
    /* types: token_embd, other 2-D weights, 1-D norms */
    int count2d[GGUF_TTYPE_COUNT] = {0}, n1d = 0, n1d_f32 = 0;
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        if (t->n_dims == 1) {
            n1d++;
            n1d_f32 += t->type == GGUF_TTYPE_F32;
        } else if (!pp_view_eq(t->name, "token_embd.weight")) {
            count2d[t->type]++;
        }
    }
    T_CHECK_MSG(n1d == 37 && n1d_f32 == 37, "%s: %d 1-D, %d F32", e->file, n1d, n1d_f32);
    const gguf_tensor *emb = gguf_find_tensor(f, "token_embd.weight");
    T_CHECK_MSG(emb && emb->type == e->emb, "%s: token_embd type %u", e->file, emb ? emb->type : 99);
    int total = 0;
    for (int k = 0; k < 3 && e->w[k].n; k++) {
        T_CHECK_MSG(count2d[e->w[k].type] == e->w[k].n, "%s: %s x%d, want %d", e->file,
                    gguf_ttype_info_get(e->w[k].type).name, count2d[e->w[k].type], e->w[k].n);
        total += e->w[k].n;
    }
    T_CHECK(total == 42);
    /* shapes (ne[0] first) */
    check_shape(f, "token_embd.weight", 256, 4096);
    check_shape(f, "output_norm.weight", 256, 0);
    for (int l = 0; l < 6; l++) {
        char n[64];
#define SHAPE(suffix, a, b) snprintf(n, sizeof n, "blk.%d." suffix ".weight", l); check_shape(f, n, a, b)
        SHAPE("attn_norm", 256, 0); SHAPE("attn_q", 256, 256); SHAPE("attn_k", 256, 64);
        SHAPE("attn_v", 256, 64); SHAPE("attn_q_norm", 64, 0); SHAPE("attn_k_norm", 64, 0);
        SHAPE("attn_output", 256, 256); SHAPE("post_attention_norm", 256, 0);
        SHAPE("ffn_norm", 256, 0); SHAPE("ffn_gate", 256, 1024); SHAPE("ffn_up", 256, 1024);
        SHAPE("ffn_down", 1024, 256); SHAPE("post_ffw_norm", 256, 0);
#undef SHAPE
    }
    /* per-tensor type and ne against dequant-ref.json */
    json_t *jf = dq ? json_object_get(json_object_get(dq, "files"), e->file) : NULL;
    if (jf) {
        T_CHECK(json_object_size(jf) == 80);
        const char *tname;
        json_t *jt;
        json_object_foreach(jf, tname, jt) {
            const gguf_tensor *t = gguf_find_tensor(f, tname);
            T_CHECK_MSG(t != NULL, "%s: %s", e->file, tname);
            if (!t) continue;
            const char *ty = json_string_value(json_object_get(jt, "type"));
            T_CHECK_MSG(ty && !strcmp(ty, gguf_ttype_info_get(t->type).name), "%s: %s: %s", e->file,
                        tname, ty ? ty : "?");
            json_t *ne = json_object_get(jt, "ne");
            T_CHECK(json_array_size(ne) == t->n_dims);
            for (size_t j = 0; j < json_array_size(ne); j++)
                T_CHECK(json_integer_value(json_array_get(ne, j)) == t->ne[j]);
            T_CHECK((json_int_t)t->n_elements == json_integer_value(json_object_get(jt, "n")));
            /* raw float files: stored values at the reference indices match exactly */
            if (t->type == GGUF_TTYPE_F32 || t->type == GGUF_TTYPE_F16 || t->type == GGUF_TTYPE_BF16) {
                json_t *idx = json_object_get(jt, "idx"), *val = json_object_get(jt, "val");
                for (size_t j = 0; j < json_array_size(idx); j++) {
                    uint64_t i = (uint64_t)json_integer_value(json_array_get(idx, j));
                    float x;
                    const uint8_t *d = t->data;
                    if (t->type == GGUF_TTYPE_F32) memcpy(&x, d + 4 * i, 4);
                    else {
                        uint16_t h = (uint16_t)(d[2 * i] | d[2 * i + 1] << 8);
                        x = t->type == GGUF_TTYPE_F16 ? pp_f16_to_f32(h) : pp_bf16_to_f32(h);
                    }
                    T_CHECK_MSG(x == (float)json_real_value(json_array_get(val, j)),
                                "%s: %s[%" PRIu64 "] = %g", e->file, tname, i, (double)x);
                }
            }
        }
    }
    /* metadata (README §2.1) */
    uint32_t u;
    float fl;
    bool b;
    pp_view s;
    const gguf_kv *kv;
#define U32(key, want) T_CHECK_MSG(gguf_get_u32(f, key, &u, &err) == PP_OK && u == (want), "%s: %s", e->file, key)
    U32("gemma3.block_count", 6); U32("gemma3.embedding_length", 256);
    U32("gemma3.attention.head_count", 4); U32("gemma3.attention.head_count_kv", 1);
    U32("gemma3.attention.key_length", 64); U32("gemma3.attention.value_length", 64);
    U32("gemma3.feed_forward_length", 1024); U32("gemma3.context_length", 2048);
    U32("gemma3.attention.sliding_window", 64);
    U32("tokenizer.ggml.bos_token_id", 2); U32("tokenizer.ggml.eos_token_id", 1);
    U32("tokenizer.ggml.unknown_token_id", 3); U32("tokenizer.ggml.padding_token_id", 0);
    U32("general.file_type", e->ftype);
    if (e->ftype != 0) U32("general.quantization_version", 2);
#undef U32
    T_CHECK(gguf_find_kv(f, "gemma3.attention.sliding_window_pattern") == NULL);
    T_CHECK(gguf_get_f32(f, "gemma3.rope.freq_base", &fl, &err) == PP_OK && fl == 1e6f);
    T_CHECK(gguf_get_f32(f, "gemma3.rope.freq_base_swa", &fl, &err) == PP_OK && fl == 1e4f);
    T_CHECK(gguf_get_f32(f, "gemma3.attention.layer_norm_rms_epsilon", &fl, &err) == PP_OK && fl == 1e-6f);
    T_CHECK(gguf_get_str(f, "general.architecture", &s, &err) == PP_OK && STR_EQ(s, "gemma3"));
    T_CHECK(gguf_get_str(f, "general.name", &s, &err) == PP_OK && STR_EQ(s, "fx"));
    T_CHECK(gguf_get_str(f, "tokenizer.ggml.model", &s, &err) == PP_OK && STR_EQ(s, "llama"));
    T_CHECK(gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &b, &err) == PP_OK && b);
    T_CHECK(gguf_get_bool(f, "tokenizer.ggml.add_eos_token", &b, &err) == PP_OK && !b);
    T_CHECK(gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_VTYPE_STRING, &kv, &err) == PP_OK);
    if (kv && kv->arr_count == 4096) {
        T_CHECK(STR_EQ(gguf_arr_str(kv, 0), "<pad>") && STR_EQ(gguf_arr_str(kv, 2), "<bos>"));
        T_CHECK(STR_EQ(gguf_arr_str(kv, 105), "<start_of_turn>"));
        T_CHECK(STR_EQ(gguf_arr_str(kv, 212), "</s>") && STR_EQ(gguf_arr_str(kv, 238), "<0x00>"));
        T_CHECK(STR_EQ(gguf_arr_str(kv, 494), "\xe2\x96\x81"));
        T_CHECK(STR_EQ(gguf_arr_str(kv, 4095), "\xe2\x96\x81geaba"));
    } else {
        T_CHECK_MSG(0, "%s: tokens count", e->file);
    }
    T_CHECK(gguf_get_arr(f, "tokenizer.ggml.scores", GGUF_VTYPE_FLOAT32, &kv, &err) == PP_OK &&
            kv->arr_count == 4096 && gguf_arr_f64(kv, 0) == -1000.0 && gguf_arr_f64(kv, 494) == 0.0 &&
            gguf_arr_f64(kv, 4095) == -3601.0);
    T_CHECK(gguf_get_arr(f, "tokenizer.ggml.token_type", GGUF_VTYPE_INT32, &kv, &err) == PP_OK &&
            kv->arr_count == 4096 && gguf_arr_i64(kv, 0) == 3 && gguf_arr_i64(kv, 5) == 4 &&
            gguf_arr_i64(kv, 238) == 6 && gguf_arr_i64(kv, 494) == 1);
    T_CHECK(gguf_get_str(f, "tokenizer.chat_template", &s, &err) == PP_OK && s.len > 100);
    gguf_close(f);
}

static void test_fixtures(void) {
    const char *dir = t_fixtures_dir();
    if (!dir) { t_skip("fixtures not found (../shared/fixtures)"); return; }
    char path[1024];
    snprintf(path, sizeof path, "%s/dequant-ref.json", dir);
    json_error_t je;
    json_t *dq = json_load_file(path, 0, &je);
    T_CHECK_MSG(dq != NULL, "%s: %s", path, je.text);
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 5, ".gguf") != 0) continue;
        const fx_expect *e = NULL;
        for (size_t i = 0; i < N_FX; i++)
            if (!strcmp(FX[i].file, de->d_name)) e = &FX[i];
        T_CHECK_MSG(e != NULL, "%s is not in the expectation table", de->d_name);
        if (e) check_fixture(dir, e, dq);
        n++;
    }
    if (d) closedir(d);
    T_CHECK_MSG(n == (int)N_FX, "%d fixture files", n);
    json_decref(dq);
}

/* gguf_summary_read: main_type weighs bytes, common_type counts 2-D tensors; 1-D ones
 * count for neither, every tensor counts toward n_params. */
static void test_summary(void) {
    static uint16_t f16[3][4 * 2];
    static float f32[64 * 8], norm[4];
    gguf_writer *w;
    pp_err err = {0};
    T_CHECK(gguf_writer_init(&w, &err) == PP_OK);
    if (!w) return;
    gguf_writer_set_str(w, "general.architecture", "gemma3");
    const int64_t small[2] = {4, 2}, big[2] = {64, 8}, one[1] = {4};
    const char *names[3] = {"a.weight", "b.weight", "c.weight"};
    for (int i = 0; i < 3; i++) gguf_writer_add_tensor(w, names[i], 2, small, GGUF_TTYPE_F16, f16[i], sizeof f16[i]);
    gguf_writer_add_tensor(w, "big.weight", 2, big, GGUF_TTYPE_F32, f32, sizeof f32);
    for (int i = 0; i < 2; i++) /* 1-D: ignored by both votes */
        gguf_writer_add_tensor(w, i ? "n1.weight" : "n0.weight", 1, one, GGUF_TTYPE_F32, norm, sizeof norm);
    char path[512];
    snprintf(path, sizeof path, "%s/summary.gguf", t_tmp_dir());
    T_CHECK(gguf_writer_write(w, path, &err) == PP_OK);
    gguf_writer_free(w);
    gguf_summary s;
    T_CHECK_MSG(gguf_summary_read(path, &s, &err) == PP_OK, "%s", err.msg);
    T_CHECK(!strcmp(s.arch, "gemma3"));
    T_CHECK(s.n_params == 3 * 8 + 64 * 8 + 2 * 4);
    T_CHECK_MSG(s.main_type == GGUF_TTYPE_F32, "main_type %u", s.main_type);
    T_CHECK_MSG(s.common_type == GGUF_TTYPE_F16, "common_type %u", s.common_type);
    T_CHECK(!strcmp(s.file_type, "F32"));
}

int main(void) {
    T_RUN(test_v01_not_gguf);
    T_RUN(test_v02_version);
    T_RUN(test_v03_counts);
    T_RUN(test_v04_lengths);
    T_RUN(test_v05_value_types);
    T_RUN(test_v06_duplicate_key);
    T_RUN(test_v07_alignment);
    T_RUN(test_v08_names);
    T_RUN(test_v09_dims);
    T_RUN(test_v10_overflow);
    T_RUN(test_v11_types);
    T_RUN(test_v12_blocks);
    T_RUN(test_v13_offsets);
    T_RUN(test_v14_bounds);
    T_RUN(test_type_table);
    T_RUN(test_writer_round_trip);
    T_RUN(test_writer_exact_bytes);
    T_RUN(test_writer_file_and_errors);
    T_RUN(test_writer_copy_kvs);
    T_RUN(test_summary);
    T_RUN(test_truncation_every_byte);
    T_RUN(test_fuzz_regressions);
    T_RUN(test_fixtures);
    return t_finish("gguf");
}
