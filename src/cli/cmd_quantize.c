/* cmd_quantize.c - `pippa quantize IN.gguf OUT.gguf TYPE [options]`: llama-quantize's
 * presets (recipe and byte layout) on pippa's reference quantizers.
 *
 * The work is done by the quant module (quant_plan_init / quant_plan_write); this file parses
 * arguments, prints one line per tensor (on a terminal a live percentage for big tensors)
 * and a summary, and turns Ctrl-C into a clean cancel: the output is written to a
 * temporary file and renamed only on success, so OUT is never left half written.
 * ref: shared/spec/quant-formats.md §7-9, llama.cpp tools/quantize.
 */
#include "cli.h"
#include "cli_flags.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../quant/quant.h"

static const char USAGE[] =
    "usage: pippa quantize IN.gguf OUT.gguf TYPE [--token-embedding-type T]\n"
    "                      [--output-tensor-type T] [--pure] [-t THREADS] [--allow-requantize]";

static void print_help(void) {
    printf("%s\n\n"
           "Converts a GGUF model the way llama.cpp's llama-quantize does (same per-tensor types,\n"
           "tensor order and metadata; byte-identical output without an importance matrix).\n\n"
           "TYPE (case-insensitive): %s\n\n"
           "  --token-embedding-type T  type of token_embd.weight (e.g. q6_k, q8_0, f16)\n"
           "  --output-tensor-type T    type of output.weight (and of a tied token_embd)\n"
           "  --pure                    no per-tensor rules: every quantized tensor gets TYPE's\n"
           "                            default type (the shape fallback still applies)\n"
           "  -t, --threads N           worker threads (default: all CPUs)\n"
           "  --allow-requantize        convert tensors that are already quantized (lossy)\n\n"
           "Tensors already of their target type are copied bit-exactly, so a QAT file's F16\n"
           "embeddings can be shrunk without requantizing the rest:\n"
           "  pippa quantize qat.gguf out.gguf Q4_0 --pure --token-embedding-type q6_k\n\n"
           "Shape fallback (row length not a multiple of the block): Q4_K->Q5_0, Q5_K->Q5_1,\n"
           "Q6_K->Q8_0, Q2_K/Q3_K->Q4_0, else F16. Q2_K/Q3_K->Q4_0 is upstream llama.cpp's newer\n"
           "rule; older llama.cpp (v0.5.0) used IQ4_NL, which pippa cannot write.\n",
           USAGE, quant_ftype_list());
}

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

typedef struct progress_state {
    bool tty;
    int idx_width;  /* digits of the tensor count */
    int name_width; /* longest tensor name */
    bool partial;   /* a \r line is on screen */
} progress_state;

static void fmt_shape(const quant_progress *p, char *buf, size_t cap) {
    size_t off = 0;
    for (uint32_t i = 0; i < p->n_dims && off < cap; i++) {
        int k = snprintf(buf + off, cap - off, "%s%" PRId64, i ? "x" : "", p->ne[i]);
        if (k < 0) break;
        off += (size_t)k;
    }
}

static bool on_progress(void *vctx, const quant_progress *p) {
    progress_state *s = vctx;
    if (g_stop) return false;
    bool done = p->rows_done == p->rows;
    if (!done && !s->tty) return true;
    char shape[96] = "", types[48];
    fmt_shape(p, shape, sizeof shape);
    if (p->converted)
        snprintf(types, sizeof types, "%s -> %s", quant_type_name(p->src_type),
                 quant_type_name(p->dst_type));
    else
        snprintf(types, sizeof types, "%s", quant_type_name(p->src_type));
    if (!done) {
        printf("\r[%*" PRIu64 "/%*" PRIu64 "] %-*s  %-12s  %s  %3d%%", s->idx_width, p->index + 1,
               s->idx_width, p->count, s->name_width, p->name, types, shape,
               (int)(100.0 * (double)p->rows_done / (double)p->rows));
        s->partial = true;
        fflush(stdout);
        return true;
    }
    char sizes[64];
    if (p->converted)
        snprintf(sizes, sizeof sizes, "%.2f MB -> %.2f MB", (double)p->src_bytes / 1e6,
                 (double)p->dst_bytes / 1e6);
    else
        snprintf(sizes, sizeof sizes, "%.2f MB (copied)", (double)p->src_bytes / 1e6);
    printf("%s[%*" PRIu64 "/%*" PRIu64 "] %-*s  %-12s  %-12s  %s%s\n", s->partial ? "\r" : "",
           s->idx_width, p->index + 1, s->idx_width, p->count, s->name_width, p->name, types,
           shape, sizes, s->partial ? "\033[K" : "");
    s->partial = false;
    if (s->tty) fflush(stdout);
    return true;
}

/* Same file: same path, or same device and inode. */
static bool same_file(const char *a, const char *b) {
    if (!strcmp(a, b)) return true;
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static int parse_type(const char *opt, const char *v, int32_t *out) {
    int t = gguf_ttype_from_name(v);
    if (t < 0 || !quant_type_is_target((uint32_t)t)) {
        cli_error("%s: unknown or unsupported type '%s' (valid: F32, F16, BF16, Q8_0, Q6_K, "
                  "Q5_K, Q5_1, Q5_0, Q4_K, Q4_1, Q4_0, Q3_K, Q2_K)", opt, v);
        return 2;
    }
    *out = t;
    return 0;
}

static int flag_help(void *dest, const char *cmd, const char *flag, const char *value) {
    (void)dest;
    (void)cmd;
    (void)flag;
    (void)value;
    print_help();
    return CLI_FLAGS_HELP;
}

/* --token-embedding-type / --output-tensor-type TYPE (dest: the recipe's int32_t) */
static int flag_tensor_type(void *dest, const char *cmd, const char *flag, const char *value) {
    (void)cmd;
    if (!value) {
        cli_error("%s needs a type\n%s", flag, USAGE);
        return 2;
    }
    return parse_type(flag, value, dest) ? 2 : 0;
}

static int flag_threads(void *dest, const char *cmd, const char *flag, const char *value) {
    (void)cmd;
    char *end = NULL;
    long v = value ? strtol(value, &end, 10) : 0;
    if (!value || !end || *end || end == value || v < 1 || v > 1024) {
        cli_error("%s needs a thread count between 1 and 1024", flag);
        return 2;
    }
    *(int *)dest = (int)v;
    return 0;
}

typedef struct quantize_params {
    const char *in_path, *out_path;
    quant_file_params file;   /* the recipe (type, overrides, --pure), requantizing, threads */
} quantize_params;

static int quantize_parse(int argc, char **argv, quantize_params *p) {
    const char *pos[3];
    size_t n_pos = 0;
    p->file = quant_file_default_params();
    const cli_flag flags[] = {
        {"-h", "--help", CLI_FLAG_SWITCH, NULL, 0, 0, flag_help, "this help"},
        {"--token-embedding-type", NULL, CLI_FLAG_FN, &p->file.recipe.token_embd_type, 0, 0, flag_tensor_type, NULL},
        {"--output-tensor-type", NULL, CLI_FLAG_FN, &p->file.recipe.output_type, 0, 0, flag_tensor_type, NULL},
        {"--pure", NULL, CLI_FLAG_BOOL, &p->file.recipe.pure, 0, 0, NULL, NULL},
        {"--allow-requantize", NULL, CLI_FLAG_BOOL, &p->file.allow_requantize, 0, 0, NULL, NULL},
        {"-t", "--threads", CLI_FLAG_FN, &p->file.n_threads, 0, 0, flag_threads, NULL},
    };
    /* quantize's messages carry no command prefix, as llama-quantize's */
    cli_args args = {.cmd = NULL, .usage = USAGE, .flags = flags, .n_flags = sizeof flags / sizeof flags[0], .pos = pos,
                     .max_pos = 3, .n_pos = &n_pos, .unknown = "unknown option '%s'\n%s",
                     .too_many = "%.0stoo many arguments\n%s", .dash = CLI_DASH_NOT_LONE};
    int rc = cli_flags_parse(&args, argc, argv);
    if (rc) return rc;
    if (n_pos != 3) {
        cli_error("expected IN.gguf OUT.gguf TYPE\n%s", USAGE);
        return 2;
    }
    p->in_path = pos[0];
    p->out_path = pos[1];
    pp_err err = {0};
    if (quant_ftype_from_name(pos[2], &p->file.recipe.ftype, &err)) {
        cli_error("%s", err.msg);
        return 2;
    }
    if (same_file(p->in_path, p->out_path)) {
        cli_error("%s: the output would overwrite the input; choose another output path", p->out_path);
        return 1;
    }
    return 0;
}

/* Writes the plan to out_path with Ctrl-C / SIGTERM stopping it cleanly. */
static pp_status write_interruptible(quant_plan *plan, const char *out_path, quant_file_stats *st, double *dt,
                                     pp_err *err) {
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    g_stop = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    double t0 = pp_time_s();
    pp_status s = quant_plan_write(plan, out_path, st, err);
    *dt = pp_time_s() - t0;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return s;
}

static int quantize_run(const quantize_params *p) {
    const char *in_path = p->in_path, *out_path = p->out_path;
    const quant_file_params params = p->file;
    pp_err err = {0};
    gguf_file *in = NULL;
    quant_plan *plan = NULL;
    int rc = 1;
    if (gguf_open(in_path, &in, &err)) {
        cli_error("%s", err.msg);
        return 1;
    }
    if (quant_plan_init(in, params, &plan, &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    if (quant_plan_n_requant(plan))
        fprintf(stderr, "pippa: warning: requantizing %" PRIu64 " already quantized tensor%s "
                "(quality is lower than quantizing the original F32/F16/BF16 model)\n",
                quant_plan_n_requant(plan), quant_plan_n_requant(plan) == 1 ? "" : "s");

    progress_state ps = {.tty = isatty(STDOUT_FILENO) == 1};
    uint64_t n = quant_plan_count(plan);
    for (uint64_t c = n; c; c /= 10) ps.idx_width++;
    for (uint64_t i = 0; i < n; i++) {
        int len = (int)strlen(quant_plan_at(plan, i)->name);
        if (len > ps.name_width) ps.name_width = len;
    }
    quant_plan_set_progress(plan, on_progress, &ps);

    quant_file_stats st;
    double dt = 0;
    pp_status s = write_interruptible(plan, out_path, &st, &dt, &err);
    if (ps.partial) printf("\n");
    fflush(stdout);
    if (s == PP_ERR_CANCELLED) {
        cli_error("interrupted; %s was not written", out_path);
        rc = 130;
        goto done;
    }
    if (s) {
        cli_error("%s", err.msg);
        goto done;
    }
    struct stat so;
    uint64_t out_size = stat(out_path, &so) == 0 ? (uint64_t)so.st_size : 0;
    char a[32], b[32];
    cli_fmt_size(gguf_file_size(in), a, sizeof a);
    cli_fmt_size(out_size, b, sizeof b);
    int fb = quant_plan_n_fallback(plan);
    printf("input:  %s  %s\n", in_path, a);
    char fbs[64] = "";
    if (fb) snprintf(fbs, sizeof fbs, ", %d by shape fallback", fb);
    printf("output: %s  %s  (%s, %" PRIu64 " of %" PRIu64 " tensors converted%s)\n", out_path,
           b, quant_ftype_name(params.recipe.ftype), st.n_converted, st.n_tensors, fbs);
    int nth = params.n_threads > 0 ? params.n_threads : pp_cpu_count();
    printf("time:   %.2f s, %d thread%s\n", dt, nth, nth == 1 ? "" : "s");
    rc = 0;
done:
    quant_plan_free(plan);
    gguf_close(in);
    return rc;
}

int cli_cmd_quantize(int argc, char **argv) {
    quantize_params p;
    int rc = quantize_parse(argc, argv, &p);
    if (rc) return rc == CLI_FLAGS_HELP ? 0 : rc;
    return quantize_run(&p);
}
