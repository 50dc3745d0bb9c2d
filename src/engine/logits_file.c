/* logits_file.c - the saved base-model log-probabilities for KL divergence (format in
 * engine.h, "Saved base logits"). Our own format, not llama.cpp's .kld file: rows hold the
 * full log-softmax as F16 (or F32) without clamping, plus the exact argmax and the exact
 * log p(target) so the base PPL and same-top share are not affected by the rounding.
 *
 * Invariants: a reader trusts nothing: the header's dimensions are range-checked, the file
 * size must equal what they imply (checked math), token ids must be < n_vocab, and every row
 * value must be finite. Rows are read and written sequentially (chunk order).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "engine.h"

#define LOGITS_VERSION 1u
#define LOGITS_MAX_VOCAB (1u << 24)

struct engine_logits_file {
    FILE *fp;
    char *path;
    bool writing, failed;
    uint32_t n_vocab, n_ctx, n_chunks;
    engine_logits_dtype dt;
    uint64_t n_text_tokens;
    int32_t *tokens;
    uint64_t rows_total, rows_done;
    void *buf;       /* one row of stored values */
    float *tmp;      /* n_vocab floats (writer) */
};

static size_t dt_size(engine_logits_dtype dt) { return dt == ENGINE_LOGITS_F16 ? 2 : 4; }

bool engine_logits_file_bytes(uint32_t n_vocab, uint32_t n_ctx, uint32_t n_chunks, engine_logits_dtype dt,
                              uint64_t *out) {
    uint64_t tok, rows, row_bytes, data, total;
    if (!pp_mul_u64((uint64_t)n_chunks, n_ctx, &tok) || !pp_mul_u64(tok, 4, &tok)) return false;
    if (!pp_mul_u64((uint64_t)n_chunks, engine_ppl_n_scored(n_ctx), &rows)) return false;
    if (!pp_mul_u64(n_vocab, dt_size(dt), &row_bytes) || !pp_add_u64(row_bytes, 8, &row_bytes)) return false;
    if (!pp_mul_u64(rows, row_bytes, &data)) return false;
    if (!pp_add_u64(ENGINE_LOGITS_HEADER_BYTES, tok, &total) || !pp_add_u64(total, data, &total)) return false;
    *out = total;
    return true;
}

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const uint8_t *p) { return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }

static void lf_free(engine_logits_file *f) {
    if (!f) return;
    if (f->fp) fclose(f->fp);
    free(f->path);
    free(f->tokens);
    free(f->buf);
    free(f->tmp);
    free(f);
}

static engine_logits_file *lf_alloc(const char *path) {
    engine_logits_file *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->path = strdup(path);
    if (!f->path) {
        free(f);
        return NULL;
    }
    return f;
}

/* Host is little-endian on every target we build (x86-64, aarch64); the format is LE. */
static bool write_i32s(FILE *fp, const int32_t *v, size_t n) {
    uint8_t b[4];
    for (size_t i = 0; i < n; i++) {
        put_u32(b, (uint32_t)v[i]);
        if (fwrite(b, 1, 4, fp) != 4) return false;
    }
    return true;
}

pp_status engine_logits_create(const char *path, uint32_t n_vocab, uint32_t n_ctx, uint32_t n_chunks,
                               uint64_t n_text_tokens, const int32_t *tokens, engine_logits_dtype dt,
                               engine_logits_file **out, pp_err *err) {
    uint64_t total;
    if (n_vocab == 0 || n_vocab > LOGITS_MAX_VOCAB || n_ctx < ENGINE_PPL_MIN_CTX || n_ctx > ENGINE_PPL_MAX_CTX ||
        n_chunks == 0 || !engine_logits_file_bytes(n_vocab, n_ctx, n_chunks, dt, &total) ||
        total > ENGINE_LOGITS_MAX_BYTES)
        return pp_err_set(err, PP_ERR_ARG, "%s: %u chunks of %u positions x %u vocab is too large for a logits file",
                          path, n_chunks, n_ctx, n_vocab);
    /* fail before hours of work when the disk cannot hold the file */
    char *dir = strdup(path);
    if (!dir) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    if (slash) slash[slash == dir ? 1 : 0] = 0;
    struct statvfs vfs;
    bool ok = statvfs(slash ? dir : ".", &vfs) != 0 || (uint64_t)vfs.f_bavail * vfs.f_frsize >= total;
    uint64_t avail = ok ? 0 : (uint64_t)vfs.f_bavail * vfs.f_frsize;
    free(dir);
    if (!ok)
        return pp_err_set(err, PP_ERR_IO, "%s: needs %.1f MB, only %.1f MB free", path, total / 1e6, avail / 1e6);
    engine_logits_file *f = lf_alloc(path);
    if (!f) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    f->writing = true;
    f->n_vocab = n_vocab;
    f->n_ctx = n_ctx;
    f->n_chunks = n_chunks;
    f->dt = dt;
    f->rows_total = (uint64_t)n_chunks * engine_ppl_n_scored(n_ctx);
    f->buf = malloc((size_t)n_vocab * dt_size(dt));
    f->tmp = malloc((size_t)n_vocab * sizeof(float));
    if (!f->buf || !f->tmp) {
        lf_free(f);
        return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) { /* never truncate or remove a device */
        lf_free(f);
        return pp_err_set(err, PP_ERR_ARG, "%s: exists and is not a regular file", path);
    }
    f->fp = fopen(path, "wb");
    if (!f->fp) {
        int e = errno;
        lf_free(f);
        return pp_err_set(err, PP_ERR_IO, "%s: cannot create: %s", path, strerror(e));
    }
    uint8_t h[ENGINE_LOGITS_HEADER_BYTES] = {0};
    memcpy(h, ENGINE_LOGITS_MAGIC, 8);
    put_u32(h + 8, LOGITS_VERSION);
    put_u32(h + 12, n_vocab);
    put_u32(h + 16, n_ctx);
    put_u32(h + 20, n_chunks);
    put_u32(h + 24, (uint32_t)dt);
    put_u64(h + 32, n_text_tokens);
    if (fwrite(h, 1, sizeof h, f->fp) != sizeof h || !write_i32s(f->fp, tokens, (size_t)n_chunks * n_ctx)) {
        int e = errno;
        fclose(f->fp);
        f->fp = NULL;
        remove(path);
        lf_free(f);
        return pp_err_set(err, PP_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    *out = f;
    return PP_OK;
}

pp_status engine_logits_write_row(engine_logits_file *f, const float *logits, int32_t target, pp_err *err) {
    if (!f->writing || f->rows_done >= f->rows_total)
        return pp_err_set(err, PP_ERR_ARG, "%s: more rows than the header announced", f->path);
    int32_t top = engine_log_softmax(logits, f->n_vocab, f->tmp);
    float tl = f->tmp[target];
    uint8_t rec[8];
    put_u32(rec, (uint32_t)top);
    uint32_t bits;
    memcpy(&bits, &tl, 4);
    put_u32(rec + 4, bits);
    if (f->dt == ENGINE_LOGITS_F16) {
        uint8_t *b = f->buf;
        for (uint32_t i = 0; i < f->n_vocab; i++) {
            uint16_t h = pp_f32_to_f16(f->tmp[i] < -65504.0f ? -65504.0f : f->tmp[i]);
            b[2 * i] = (uint8_t)h;
            b[2 * i + 1] = (uint8_t)(h >> 8);
        }
    } else {
        uint8_t *b = f->buf;
        for (uint32_t i = 0; i < f->n_vocab; i++) {
            memcpy(&bits, &f->tmp[i], 4);
            put_u32(b + 4 * i, bits);
        }
    }
    if (fwrite(rec, 1, 8, f->fp) != 8 || fwrite(f->buf, dt_size(f->dt), f->n_vocab, f->fp) != f->n_vocab) {
        f->failed = true;
        return pp_err_set(err, PP_ERR_IO, "%s: write failed: %s", f->path, strerror(errno));
    }
    f->rows_done++;
    return PP_OK;
}

pp_status engine_logits_open(const char *path, engine_logits_file **out, pp_err *err) {
    engine_logits_file *f = lf_alloc(path);
    if (!f) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    pp_status st = PP_OK;
    f->fp = fopen(path, "rb");
    if (!f->fp) {
        int e = errno;
        st = pp_err_set(err, e == ENOENT ? PP_ERR_NOT_FOUND : PP_ERR_IO, "%s: cannot open: %s", path, strerror(e));
        goto fail;
    }
    struct stat sb;
    if (fstat(fileno(f->fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = pp_err_set(err, PP_ERR_IO, "%s: not a regular file", path);
        goto fail;
    }
    uint8_t h[ENGINE_LOGITS_HEADER_BYTES];
    if (fread(h, 1, sizeof h, f->fp) != sizeof h) {
        st = pp_err_set(err, PP_ERR_FORMAT, "%s: file too short for a logits header (%lld bytes)", path,
                        (long long)sb.st_size);
        goto fail;
    }
    if (memcmp(h, ENGINE_LOGITS_MAGIC, 8) != 0) {
        st = pp_err_set(err, PP_ERR_FORMAT, "%s: not a pippa logits file (bad magic)", path);
        goto fail;
    }
    uint32_t ver = get_u32(h + 8), dt = get_u32(h + 24);
    if (ver != LOGITS_VERSION) {
        st = pp_err_set(err, PP_ERR_UNSUPPORTED, "%s: version %u is not supported (expected %u)", path, ver,
                        LOGITS_VERSION);
        goto fail;
    }
    f->n_vocab = get_u32(h + 12);
    f->n_ctx = get_u32(h + 16);
    f->n_chunks = get_u32(h + 20);
    f->n_text_tokens = get_u64(h + 32);
    if (dt != ENGINE_LOGITS_F16 && dt != ENGINE_LOGITS_F32) {
        st = pp_err_set(err, PP_ERR_FORMAT, "%s: header: dtype %u is not 0 (F32) or 1 (F16)", path, dt);
        goto fail;
    }
    f->dt = (engine_logits_dtype)dt;
    if (f->n_vocab == 0 || f->n_vocab > LOGITS_MAX_VOCAB || f->n_ctx < ENGINE_PPL_MIN_CTX ||
        f->n_ctx > ENGINE_PPL_MAX_CTX || f->n_chunks == 0 ||
        f->n_text_tokens < (uint64_t)f->n_chunks * f->n_ctx) {
        st = pp_err_set(err, PP_ERR_FORMAT, "%s: header: n_vocab %u, n_ctx %u, n_chunks %u, n_text_tokens %llu out of range",
                        path, f->n_vocab, f->n_ctx, f->n_chunks, (unsigned long long)f->n_text_tokens);
        goto fail;
    }
    uint64_t total;
    if (!engine_logits_file_bytes(f->n_vocab, f->n_ctx, f->n_chunks, f->dt, &total) ||
        total > ENGINE_LOGITS_MAX_BYTES) {
        st = pp_err_set(err, PP_ERR_FORMAT, "%s: header: dimensions imply more than %llu bytes", path,
                        (unsigned long long)ENGINE_LOGITS_MAX_BYTES);
        goto fail;
    }
    if ((uint64_t)sb.st_size != total) {
        st = pp_err_set(err, PP_ERR_FORMAT, "%s: size %lld bytes, header implies %llu (truncated or corrupt)", path,
                        (long long)sb.st_size, (unsigned long long)total);
        goto fail;
    }
    size_t n_tok = (size_t)f->n_chunks * f->n_ctx;
    f->tokens = malloc(n_tok * sizeof *f->tokens);
    f->buf = malloc((size_t)f->n_vocab * dt_size(f->dt));
    if (!f->tokens || !f->buf) {
        st = pp_err_set(err, PP_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (size_t i = 0; i < n_tok; i++) {
        uint8_t b[4];
        if (fread(b, 1, 4, f->fp) != 4) {
            st = pp_err_set(err, PP_ERR_IO, "%s: read failed", path);
            goto fail;
        }
        int32_t t = (int32_t)get_u32(b);
        if (t < 0 || (uint32_t)t >= f->n_vocab) {
            st = pp_err_set(err, PP_ERR_FORMAT, "%s: token %zu: id %d out of range [0, %u)", path, i, t, f->n_vocab);
            goto fail;
        }
        f->tokens[i] = t;
    }
    f->rows_total = (uint64_t)f->n_chunks * engine_ppl_n_scored(f->n_ctx);
    *out = f;
    return PP_OK;
fail:
    lf_free(f);
    return st;
}

uint32_t engine_logits_n_vocab(const engine_logits_file *f) { return f->n_vocab; }
uint32_t engine_logits_n_ctx(const engine_logits_file *f) { return f->n_ctx; }
uint32_t engine_logits_n_chunks(const engine_logits_file *f) { return f->n_chunks; }
const int32_t *engine_logits_tokens(const engine_logits_file *f) { return f->tokens; }

pp_status engine_logits_read_row(engine_logits_file *f, float *logp, int32_t *top, double *target_logp,
                                 pp_err *err) {
    uint64_t r = f->rows_done;
    uint32_t ns = engine_ppl_n_scored(f->n_ctx);
    if (f->writing || r >= f->rows_total)
        return pp_err_set(err, PP_ERR_ARG, "%s: no more rows (%llu)", f->path, (unsigned long long)f->rows_total);
    uint8_t rec[8];
    if (fread(rec, 1, 8, f->fp) != 8 || fread(f->buf, dt_size(f->dt), f->n_vocab, f->fp) != f->n_vocab)
        return pp_err_set(err, PP_ERR_IO, "%s: chunk %llu row %llu: read failed", f->path,
                          (unsigned long long)(r / ns), (unsigned long long)(r % ns));
    int32_t t = (int32_t)get_u32(rec);
    uint32_t bits = get_u32(rec + 4);
    float tl;
    memcpy(&tl, &bits, 4);
    if (t < 0 || (uint32_t)t >= f->n_vocab || !isfinite(tl) || tl > 0)
        return pp_err_set(err, PP_ERR_FORMAT, "%s: chunk %llu row %llu: bad argmax %d or log p %g", f->path,
                          (unsigned long long)(r / ns), (unsigned long long)(r % ns), t, (double)tl);
    const uint8_t *b = f->buf;
    for (uint32_t i = 0; i < f->n_vocab; i++) {
        float v;
        if (f->dt == ENGINE_LOGITS_F16) {
            v = pp_f16_to_f32((uint16_t)(b[2 * i] | b[2 * i + 1] << 8));
        } else {
            uint32_t u = get_u32(b + 4 * i);
            memcpy(&v, &u, 4);
        }
        if (!isfinite(v))
            return pp_err_set(err, PP_ERR_FORMAT, "%s: chunk %llu row %llu: value %u is not finite", f->path,
                              (unsigned long long)(r / ns), (unsigned long long)(r % ns), i);
        logp[i] = v;
    }
    /* renormalize: the stored values were rounded */
    engine_log_softmax(logp, f->n_vocab, logp);
    *top = t;
    *target_logp = tl;
    f->rows_done++;
    return PP_OK;
}

pp_status engine_logits_close(engine_logits_file *f, pp_err *err) {
    if (!f) return PP_OK;
    pp_status st = PP_OK;
    if (f->writing) {
        bool incomplete = f->rows_done != f->rows_total;
        int rc = fclose(f->fp);
        f->fp = NULL;
        if (f->failed || rc != 0 || incomplete) {
            if (incomplete && !f->failed && rc == 0)
                st = pp_err_set(err, PP_ERR_ARG, "%s: incomplete (%llu of %llu rows), removed", f->path,
                                (unsigned long long)f->rows_done, (unsigned long long)f->rows_total);
            else
                st = pp_err_set(err, PP_ERR_IO, "%s: write failed, removed", f->path);
            remove(f->path);
        }
    }
    lf_free(f);
    return st;
}
