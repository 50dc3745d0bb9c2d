/* cmd_inspect.c - `pippa inspect FILE.gguf [--json] [--num-ctx N]`: metadata, tensor table, per-type
 * totals, parameter count, file size and a one-line summary of a GGUF file.
 *
 * The file is opened with the validating reader (src/gguf), so everything printed comes from
 * checked views. Text output is for people (long strings and arrays are abbreviated); --json
 * prints one JSON object (jansson) with keys file, version, alignment, file_size, n_params,
 * summary, metadata, tensors, types. Errors: one line on stderr, exit 1; usage: exit 2.
 * The summary names the majority type of the 2-D tensors other than token_embd, plus the
 * token_embd type when it differs ("(QAT layout)" for Q4_0 + F16, Google's QAT files,
 * spec/gguf.md §5).
 */
#include "cli.h"
#include "cli_flags.h"

#include "../model/model.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../gguf/gguf.h"
#include "cli_env.h"

#define INSPECT_STR_SHOWN 72   /* bytes of a string value shown in text mode */
#define INSPECT_ARR_HEAD_TEXT 3
#define INSPECT_ARR_HEAD_JSON 8

typedef struct type_total {
    uint64_t count, bytes;
} type_total;

/* ---- formatting helpers ---- */

/* Prints a string value quoted, control bytes escaped, at most max bytes (then "..."). */
static void print_quoted(FILE *out, pp_view s, size_t max) {
    size_t n = s.len;
    bool cut = false;
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s.ptr[n] & 0xC0) == 0x80) n--; /* whole UTF-8 chars */
        cut = true;
    }
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c == '\n') fputs("\\n", out);
        else if (c == '\t') fputs("\\t", out);
        else if (c == '\r') fputs("\\r", out);
        else if (c < 0x20 || c == 0x7f) fprintf(out, "\\x%02x", c);
        else fputc(c, out);
    }
    fputc('"', out);
    if (cut) fputs("...", out);
}

/* 1234567 -> "1,234,567" */
static void fmt_commas(uint64_t n, char *buf, size_t cap) {
    char tmp[32];
    int len = snprintf(tmp, sizeof tmp, "%" PRIu64, n);
    size_t o = 0;
    for (int i = 0; i < len && o + 2 < cap; i++) {
        if (i && (len - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
}

static void fmt_shape(const gguf_tensor *t, char *buf, size_t cap) {
    size_t o = 0;
    buf[0] = 0;
    uint32_t nd = t->n_dims ? t->n_dims : 1;
    for (uint32_t j = 0; j < nd && o < cap; j++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%" PRId64, j ? "x" : "", t->ne[j]);
}

/* ---- summary ---- */

static void make_summary(const gguf_file *f, uint64_t n_params, char *buf, size_t cap) {
    const gguf_kv *arch = gguf_find_kv(f, "general.architecture");
    char archs[64] = "?";
    if (arch && arch->type == GGUF_VTYPE_STRING) {
        size_t n = arch->v.str.len < sizeof archs - 1 ? arch->v.str.len : sizeof archs - 1;
        memcpy(archs, arch->v.str.ptr, n);
        archs[n] = 0;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)archs[i] < 0x20) archs[i] = '?';
    }
    uint64_t counts[GGUF_TTYPE_COUNT] = {0}, n2d = 0;
    int major = -1;
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        if (t->n_dims != 2 || pp_view_eq(t->name, "token_embd.weight")) continue;
        counts[t->type]++; /* type < GGUF_TTYPE_COUNT: checked at open */
        n2d++;
        if (major < 0 || counts[t->type] > counts[major]) major = (int)t->type;
    }
    const gguf_tensor *emb = gguf_find_tensor(f, "token_embd.weight");
    char ps[32], ss[32], ws[96] = "no 2-D weights", es[64] = "";
    cli_fmt_params(n_params, ps, sizeof ps);
    cli_fmt_size(gguf_file_size(f), ss, sizeof ss);
    if (major >= 0) {
        const char *mn = gguf_ttype_info_get((uint32_t)major).name;
        if (counts[major] == n2d)
            snprintf(ws, sizeof ws, "%s weights", mn);
        else
            snprintf(ws, sizeof ws, "%s weights (%" PRIu64 " of %" PRIu64 ")", mn, counts[major],
                     n2d);
    }
    if (emb && (major < 0 || emb->type != (uint32_t)major)) {
        bool qat = major == GGUF_TTYPE_Q4_0 && emb->type == GGUF_TTYPE_F16;
        snprintf(es, sizeof es, " + %s token embeddings%s", gguf_ttype_info_get(emb->type).name,
                 qat ? " (QAT layout)" : "");
    }
    snprintf(buf, cap, "%s %s \xc2\xb7 %s%s \xc2\xb7 %s", archs, ps, ws, es, ss);
}

/* ---- text output ---- */

static void print_scalar_text(FILE *out, const gguf_kv *kv) {
    switch (kv->type) {
    case GGUF_VTYPE_UINT8: case GGUF_VTYPE_UINT16: case GGUF_VTYPE_UINT32: case GGUF_VTYPE_UINT64:
        fprintf(out, "%" PRIu64, kv->v.u64);
        break;
    case GGUF_VTYPE_INT8: case GGUF_VTYPE_INT16: case GGUF_VTYPE_INT32: case GGUF_VTYPE_INT64:
        fprintf(out, "%" PRId64, kv->v.i64);
        break;
    case GGUF_VTYPE_FLOAT32: fprintf(out, "%.9g", kv->v.f64); break;
    case GGUF_VTYPE_FLOAT64: fprintf(out, "%.17g", kv->v.f64); break;
    case GGUF_VTYPE_BOOL: fputs(kv->v.u64 ? "true" : "false", out); break;
    case GGUF_VTYPE_STRING: print_quoted(out, kv->v.str, INSPECT_STR_SHOWN); break;
    default: fputs("?", out); break;
    }
}

static void print_arr_elem_text(FILE *out, const gguf_kv *kv, uint64_t i) {
    switch (kv->arr_type) {
    case GGUF_VTYPE_STRING: print_quoted(out, gguf_arr_str(kv, i), 32); break;
    case GGUF_VTYPE_FLOAT32: case GGUF_VTYPE_FLOAT64:
        fprintf(out, "%.9g", gguf_arr_f64(kv, i));
        break;
    case GGUF_VTYPE_BOOL: fputs(gguf_arr_i64(kv, i) ? "true" : "false", out); break;
    case GGUF_VTYPE_UINT64: {
        double d = gguf_arr_f64(kv, i); /* exact below 2^53, which covers real files */
        if (d > 9007199254740992.0) fprintf(out, "%.17g", d);
        else fprintf(out, "%" PRId64, gguf_arr_i64(kv, i));
        break;
    }
    default: fprintf(out, "%" PRId64, gguf_arr_i64(kv, i)); break;
    }
}

static void print_text(const gguf_file *f, uint64_t n_params, const type_total *tt,
                       const char *summary, const char *run_line) {
    FILE *out = stdout;
    char a[32], b[32];
    fmt_commas(gguf_file_size(f), a, sizeof a);
    printf("%s: GGUF v%" PRIu32 ", alignment %" PRIu32 ", %s bytes, data at offset %" PRIu64 "\n",
           gguf_name(f), gguf_version(f), gguf_alignment(f), a, gguf_data_offset(f));

    printf("\nmetadata (%" PRIu64 " keys):\n", gguf_n_kv(f));
    for (uint64_t i = 0; i < gguf_n_kv(f); i++) {
        const gguf_kv *kv = gguf_kv_at(f, i);
        fputs("  ", out);
        bool plain = kv->key.len > 0 && kv->key.len < 64;
        for (size_t k = 0; k < kv->key.len && plain; k++)
            plain = kv->key.ptr[k] > 0x20 && kv->key.ptr[k] < 0x7f;
        if (plain) fprintf(out, "%-40.*s", (int)kv->key.len, kv->key.ptr);
        else print_quoted(out, kv->key, 64); /* odd keys are quoted and escaped */
        fputs(" ", out);
        if (kv->type == GGUF_VTYPE_ARRAY) {
            fprintf(out, "[%s x %" PRIu64 "]", gguf_vtype_name(kv->arr_type), kv->arr_count);
            uint64_t n = kv->arr_count < INSPECT_ARR_HEAD_TEXT ? kv->arr_count
                                                               : INSPECT_ARR_HEAD_TEXT;
            for (uint64_t j = 0; j < n; j++) {
                fputs(j ? ", " : " ", out);
                print_arr_elem_text(out, kv, j);
            }
            if (kv->arr_count > n) fputs(", ...", out);
        } else {
            fprintf(out, "%s ", gguf_vtype_name(kv->type));
            print_scalar_text(out, kv);
        }
        fputc('\n', out);
    }

    printf("\ntensors (%" PRIu64 "):\n", gguf_n_tensors(f));
    printf("  %-5s %-40s %-8s %-16s %12s %12s\n", "#", "name", "type", "shape", "bytes",
           "offset");
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        char shape[96], name[GGUF_MAX_NAME * 4 + 8];
        fmt_shape(t, shape, sizeof shape);
        size_t o = 0;
        for (size_t k = 0; k < t->name.len; k++) {
            unsigned char c = (unsigned char)t->name.ptr[k];
            o += (size_t)snprintf(name + o, sizeof name - o, c < 0x20 || c == 0x7f ? "\\x%02x" : "%c", c);
        }
        name[o] = 0;
        printf("  %-5" PRIu64 " %-40s %-8s %-16s %12" PRIu64 " %12" PRIu64 "\n", i, name,
               gguf_ttype_info_get(t->type).name, shape, t->nbytes, t->offset);
    }

    printf("\ntypes:\n");
    for (int ty = 0; ty < GGUF_TTYPE_COUNT; ty++) {
        if (!tt[ty].count) continue;
        fmt_commas(tt[ty].bytes, a, sizeof a);
        printf("  %-8s %5" PRIu64 " tensors %16s bytes\n", gguf_ttype_info_get((uint32_t)ty).name,
               tt[ty].count, a);
    }
    fmt_commas(n_params, a, sizeof a);
    cli_fmt_params(n_params, b, sizeof b);
    printf("\nparameters: %s (%s)\n", a, b);
    fmt_commas(gguf_file_size(f), a, sizeof a);
    cli_fmt_size(gguf_file_size(f), b, sizeof b);
    printf("file size:  %s bytes (%s)\n", a, b);
    if (run_line[0]) printf("%s\n", run_line);
    printf("%s\n", summary);
}

/* ---- JSON output ---- */

/* JSON string of arbitrary bytes: UTF-8 as is; if invalid, non-ASCII bytes become "\xNN". */
static json_t *jstr(pp_view s) {
    json_t *j = json_stringn(s.ptr ? s.ptr : "", s.len);
    if (j) return j;
    size_t cap = s.len * 4 + 1;
    char *buf = malloc(cap);
    if (!buf) return json_null();
    size_t o = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c >= 0x80 || c == 0) o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
        else buf[o++] = (char)c;
    }
    j = json_stringn(buf, o);
    free(buf);
    return j ? j : json_null();
}

static json_t *jreal(double d) { return isfinite(d) ? json_real(d) : json_null(); }

static json_t *jscalar(const gguf_kv *kv) {
    switch (kv->type) {
    case GGUF_VTYPE_UINT8: case GGUF_VTYPE_UINT16: case GGUF_VTYPE_UINT32: case GGUF_VTYPE_UINT64:
        return kv->v.u64 > (uint64_t)INT64_MAX ? json_real((double)kv->v.u64)
                                               : json_integer((json_int_t)kv->v.u64);
    case GGUF_VTYPE_INT8: case GGUF_VTYPE_INT16: case GGUF_VTYPE_INT32: case GGUF_VTYPE_INT64:
        return json_integer((json_int_t)kv->v.i64);
    case GGUF_VTYPE_FLOAT32: case GGUF_VTYPE_FLOAT64: return jreal(kv->v.f64);
    case GGUF_VTYPE_BOOL: return json_boolean(kv->v.u64 != 0);
    case GGUF_VTYPE_STRING: return jstr(kv->v.str);
    default: return json_null();
    }
}

static json_t *jarr_elem(const gguf_kv *kv, uint64_t i) {
    switch (kv->arr_type) {
    case GGUF_VTYPE_STRING: return jstr(gguf_arr_str(kv, i));
    case GGUF_VTYPE_FLOAT32: case GGUF_VTYPE_FLOAT64: return jreal(gguf_arr_f64(kv, i));
    case GGUF_VTYPE_BOOL: return json_boolean(gguf_arr_i64(kv, i) != 0);
    case GGUF_VTYPE_UINT64: {
        double d = gguf_arr_f64(kv, i);
        if (d > 9223372036854775807.0) return json_real(d);
        return json_integer((json_int_t)gguf_arr_i64(kv, i));
    }
    default: return json_integer((json_int_t)gguf_arr_i64(kv, i));
    }
}

static int print_json(const gguf_file *f, uint64_t n_params, const type_total *tt,
                      const char *summary, json_t *run) {
    json_t *root = json_object();
    json_object_set_new(root, "file", jstr(pp_view_cstr(gguf_name(f))));
    json_object_set_new(root, "version", json_integer(gguf_version(f)));
    json_object_set_new(root, "alignment", json_integer(gguf_alignment(f)));
    json_object_set_new(root, "file_size", json_integer((json_int_t)gguf_file_size(f)));
    json_object_set_new(root, "n_params", json_integer((json_int_t)n_params));
    json_object_set_new(root, "summary", json_string(summary));
    if (run) json_object_set(root, "run", run);

    json_t *md = json_object();
    for (uint64_t i = 0; i < gguf_n_kv(f); i++) {
        const gguf_kv *kv = gguf_kv_at(f, i);
        json_t *v;
        if (kv->type == GGUF_VTYPE_ARRAY) {
            v = json_object();
            json_object_set_new(v, "type", json_string(gguf_vtype_name(kv->arr_type)));
            json_object_set_new(v, "count", json_integer((json_int_t)kv->arr_count));
            json_t *head = json_array();
            for (uint64_t j = 0; j < kv->arr_count && j < INSPECT_ARR_HEAD_JSON; j++)
                json_array_append_new(head, jarr_elem(kv, j));
            json_object_set_new(v, "head", head);
        } else {
            v = jscalar(kv);
        }
        /* keys with NUL or invalid UTF-8 are escaped by jstr */
        json_t *k = jstr(kv->key);
        const char *ks = json_is_string(k) ? json_string_value(k) : "?";
        json_object_set_new(md, ks, v);
        json_decref(k);
    }
    json_object_set_new(root, "metadata", md);

    json_t *ts = json_array();
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        json_t *o = json_object();
        json_object_set_new(o, "name", jstr(t->name));
        json_object_set_new(o, "type", json_string(gguf_ttype_info_get(t->type).name));
        json_t *ne = json_array();
        for (uint32_t j = 0; j < (t->n_dims ? t->n_dims : 1); j++)
            json_array_append_new(ne, json_integer(t->ne[j]));
        json_object_set_new(o, "ne", ne);
        json_object_set_new(o, "bytes", json_integer((json_int_t)t->nbytes));
        json_object_set_new(o, "offset", json_integer((json_int_t)t->offset));
        json_array_append_new(ts, o);
    }
    json_object_set_new(root, "tensors", ts);

    json_t *types = json_object();
    for (int ty = 0; ty < GGUF_TTYPE_COUNT; ty++) {
        if (!tt[ty].count) continue;
        json_t *o = json_object();
        json_object_set_new(o, "count", json_integer((json_int_t)tt[ty].count));
        json_object_set_new(o, "bytes", json_integer((json_int_t)tt[ty].bytes));
        json_object_set_new(types, gguf_ttype_info_get((uint32_t)ty).name, o);
    }
    json_object_set_new(root, "types", types);

    int rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(root);
    if (rc != 0) {
        cli_error("inspect: cannot write JSON output");
        return 1;
    }
    return 0;
}

/* For gemma3 files: whether pippa can run it and the KV cache it needs at num_ctx (0: the
 * default, min(4096, trained length)), as a text line and a JSON object (NULL otherwise). */
static json_t *describe_run(const char *path, const gguf_file *f, uint32_t num_ctx, char *line, size_t cap) {
    const gguf_kv *arch = gguf_find_kv(f, "general.architecture");
    if (!arch || arch->type != GGUF_VTYPE_STRING || !pp_view_eq(arch->v.str, "gemma3")) return NULL;
    model *m = NULL;
    pp_err err = {0};
    json_t *o = json_object();
    model_load_params lp = model_load_default_params();
    lp.no_repack = cli_model_params().no_repack;
    if (model_load(path, lp, &m, &err) != PP_OK) {
        snprintf(line, cap, "run: pippa cannot run this file: %s", err.msg);
        json_object_set_new(o, "ok", json_false());
        json_object_set_new(o, "error", json_string(err.msg));
        return o;
    }
    const model_hparams *hp = model_get_hparams(m);
    uint32_t n_ctx = num_ctx ? num_ctx : (hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096);
    uint32_t n_batch = model_ctx_default_params().n_batch;
    uint64_t kv = model_kv_bytes(hp, n_ctx, n_batch, GGUF_TTYPE_F16);
    uint64_t naive = 2ull * hp->n_layer * n_ctx * hp->n_head_kv * hp->head_dim * 2;
    char kvs[32], ns[32];
    cli_fmt_size(kv, kvs, sizeof kvs);
    cli_fmt_size(naive, ns, sizeof ns);
    snprintf(line, cap, "run: KV cache %s (F16) at num_ctx %u, %s without sliding-window rings; trained context %u",
             kvs, n_ctx, ns, hp->n_ctx_train);
    json_object_set_new(o, "ok", json_true());
    json_object_set_new(o, "num_ctx", json_integer(n_ctx));
    json_object_set_new(o, "kv_cache_bytes", json_integer((json_int_t)kv));
    json_object_set_new(o, "kv_cache_bytes_without_rings", json_integer((json_int_t)naive));
    json_object_set_new(o, "context_length", json_integer(hp->n_ctx_train));
    model_free(m);
    return o;
}

#define INSPECT_USAGE "usage: pippa inspect FILE.gguf [--json] [--num-ctx N]"

typedef struct inspect_params {
    const char *path;
    bool as_json;
    long num_ctx;      /* 0: the trained context (capped as run caps it) */
} inspect_params;

static int inspect_parse(int argc, char **argv, inspect_params *p) {
    const cli_flag flags[] = {
        {"--json", NULL, CLI_FLAG_BOOL, &p->as_json, 0, 0, NULL, "JSON"},
        {"--num-ctx", NULL, CLI_FLAG_LONG, &p->num_ctx, 1, 1L << 24, NULL, "KV cache size at this context"},
    };
    cli_args a = {.cmd = "inspect", .usage = INSPECT_USAGE, .flags = flags, .n_flags = sizeof flags / sizeof flags[0],
                  .pos = &p->path, .max_pos = 1, .unknown = "unknown option '%s' (%s)",
                  .too_many = "inspect: more than one file given (" INSPECT_USAGE ")", .dash = CLI_DASH_NOT_LONE,
                  .no_help = true};
    int rc = cli_flags_parse(&a, argc, argv);
    if (rc) return rc;
    if (!p->path) {
        cli_error(INSPECT_USAGE);
        return 2;
    }
    return 0;
}

int cli_cmd_inspect(int argc, char **argv) {
    inspect_params p = {0};
    int prc = inspect_parse(argc, argv, &p);
    if (prc) return prc;
    const char *path = p.path;
    const bool as_json = p.as_json;
    const uint32_t num_ctx = (uint32_t)p.num_ctx;
    gguf_file *f;
    pp_err err = {0};
    if (gguf_open(path, &f, &err) != PP_OK) {
        cli_error("%s", err.msg);
        return 1;
    }
    type_total tt[GGUF_TTYPE_COUNT];
    memset(tt, 0, sizeof tt);
    uint64_t n_params = 0;
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        tt[t->type].count++;
        tt[t->type].bytes += t->nbytes; /* sum <= file size: tensors do not overlap */
        n_params += t->n_elements;      /* each <= INT64_MAX; sum bounded by byte sizes */
    }
    char summary[384];
    make_summary(f, n_params, summary, sizeof summary);
    int rc = 0;
    char run_line[PP_ERR_MSG_MAX + 64] = "";
    json_t *run = describe_run(path, f, num_ctx, run_line, sizeof run_line);
    if (as_json) rc = print_json(f, n_params, tt, summary, run);
    else print_text(f, n_params, tt, summary, run_line);
    json_decref(run);
    fflush(stdout);
    gguf_close(f);
    return rc;
}
