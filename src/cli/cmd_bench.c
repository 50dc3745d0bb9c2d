/* cmd_bench.c - `pippa bench MODEL [-p N] [-n N] [-t THREADS] [-r REPS] [--json]`:
 * prompt processing (pp: N tokens in one batch from an empty cache, logits for the last only)
 * and text generation (tg: N tokens decoded one at a time) in tokens/s, mean ± sd over REPS
 * runs after one warm-up, like llama-bench. For decode it also prints the bytes of weights
 * streamed per token and the share of the machine's read bandwidth that rate implies; the
 * bandwidth is measured here, with the same thread count (a read-only pass over 1 GiB). */
#include "cli.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_env.h"
#include "cli_eval.h"
#include "cli_flags.h"

static const char USAGE[] =
    "usage: pippa bench MODEL.gguf [-p N] [-n N] [-t THREADS] [-r REPS] [-b BATCH] [--json] [--kernels NAME]";

#define BW_BYTES (1ull << 30)

typedef struct bw_task {
    const uint64_t *buf;
    size_t n;
    uint64_t sums[64];
} bw_task;

static void bw_read(void *ctx, int ith, int nth) {
    bw_task *t = ctx;
    int64_t lo, hi;
    pp_split((int64_t)t->n / 64, ith, nth, &lo, &hi);
    const uint64_t *p = t->buf;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (int64_t i = lo * 64; i < hi * 64; i += 8) {
        a += p[i] ^ p[i + 4];
        b += p[i + 1] ^ p[i + 5];
        c += p[i + 2] ^ p[i + 6];
        d += p[i + 3] ^ p[i + 7];
    }
    t->sums[ith % 64] = a + b + c + d;
}

/* Read bandwidth in bytes/s (best of 5 passes). */
static double measure_bandwidth(pp_pool *pool) {
    uint64_t *buf = NULL;
    if (posix_memalign((void **)&buf, 64, BW_BYTES) != 0) return 0;
    size_t n = BW_BYTES / 8;
    bw_task t = {buf, n, {0}};
    /* first touch from the workers, so pages are spread like the model's */
    for (size_t i = 0; i < n; i += 512) buf[i] = i;
    for (size_t i = 0; i < n; i++) buf[i] = i * 0x9E3779B97F4A7C15ull;
    double best = 0;
    for (int r = 0; r < 5; r++) {
        uint64_t t0 = pp_time_ns();
        pp_pool_run(pool, bw_read, &t);
        double s = (pp_time_ns() - t0) * 1e-9;
        if (s > 0 && BW_BYTES / s > best) best = BW_BYTES / s;
    }
    volatile uint64_t sink = t.sums[0];
    (void)sink;
    free(buf);
    return best;
}

static void mean_sd(const double *x, int n, double *mean, double *sd) {
    double s = 0, q = 0;
    for (int i = 0; i < n; i++) s += x[i];
    *mean = s / n;
    for (int i = 0; i < n; i++) q += (x[i] - *mean) * (x[i] - *mean);
    *sd = n > 1 ? sqrt(q / (n - 1)) : 0;
}

typedef struct bench_params {
    const char *path;
    long n_prompt, n_gen, threads, reps, batch;
    bool as_json;
} bench_params;

static bench_params bench_default_params(void) {
    return (bench_params){.n_prompt = 512, .n_gen = 128, .threads = 0, .reps = 5, .batch = 512};
}

static int bench_parse(int argc, char **argv, bench_params *p) {
    const cli_flag flags[] = {
        {"-p", NULL, CLI_FLAG_LONG, &p->n_prompt, 0, 65536, NULL, "prompt tokens (pp)"},
        {"-n", NULL, CLI_FLAG_LONG, &p->n_gen, 0, 65536, NULL, "generated tokens (tg)"},
        {"-t", NULL, CLI_FLAG_LONG, &p->threads, 1, 1024, NULL, "threads"},
        {"-r", NULL, CLI_FLAG_LONG, &p->reps, 1, 1000, NULL, "repetitions"},
        {"-b", NULL, CLI_FLAG_LONG, &p->batch, 1, 4096, NULL, "prompt batch"},
        {"--json", NULL, CLI_FLAG_BOOL, &p->as_json, 0, 0, NULL, "JSON lines"},
    };
    cli_args a = {.cmd = "bench", .usage = USAGE, .flags = flags, .n_flags = sizeof flags / sizeof flags[0],
                  .pos = &p->path, .max_pos = 1};
    int rc = cli_flags_parse(&a, argc, argv);
    if (rc) return rc;
    if (!p->path) { cli_error("bench: missing MODEL\n%s", USAGE); return 2; }
    if (p->n_prompt == 0 && p->n_gen == 0) { cli_error("bench: nothing to run (-p 0 -n 0)"); return 2; }
    return 0;
}

/* What every result line repeats: the model, its size, the kernels, the threads. */
typedef struct bench_info {
    char name[64], size_s[32], params_s[32];
    uint64_t file_bytes, n_params;
    uint64_t bytes_tok;   /* weights streamed per decoded token: every matmul weight once */
    double bw;            /* read bandwidth, bytes/s (0 without a tg test) */
    int nt;
} bench_info;

static void print_header(bool with_tg) {
    printf("| %-28s | %10s | %8s | %-7s | %7s | %6s | %16s |", "model", "size", "params", "kernels", "threads", "test",
           "t/s");
    if (with_tg) printf(" %9s | %9s |", "GB/token", "bw used");
    printf("\n|%s|%s|%s|%s|%s|%s|%s|", "------------------------------", "------------", "----------", "---------",
           "---------", "--------", "------------------");
    if (with_tg) printf("-----------|-----------|");
    printf("\n");
}

/* One result: a JSON line, or a table row (tg rows with the bandwidth columns). */
static void print_result(const bench_params *p, const bench_info *bi, bool tg, long n, double mean, double sd) {
    char test_s[16];
    snprintf(test_s, sizeof test_s, "%s%ld", tg ? "tg" : "pp", n);
    const char *isa = kern_isa_name(kern_active_isa());
    if (p->as_json) {
        printf("{\"model\": \"%s\", \"size\": %" PRIu64 ", \"params\": %" PRIu64 ", \"kernels\": \"%s\", \"threads\": %d, "
               "\"test\": \"%s\", \"tok_s\": %.3f, \"sd\": %.3f",
               bi->name, bi->file_bytes, bi->n_params, isa, bi->nt, test_s, mean, sd);
        if (tg)
            printf(", \"bytes_per_token\": %" PRIu64 ", \"read_bandwidth\": %.0f, \"bandwidth_share\": %.3f", bi->bytes_tok,
                   bi->bw, bi->bw > 0 ? mean * bi->bytes_tok / bi->bw : 0);
        printf("}\n");
    } else {
        char ts[32];
        snprintf(ts, sizeof ts, "%.2f ± %.2f", mean, sd);
        printf("| %-28s | %10s | %8s | %-7s | %7d | %6s | %17s |", bi->name, bi->size_s, bi->params_s, isa, bi->nt,
               test_s, ts);
        if (tg) printf(" %9.3f | %8.1f%% |", bi->bytes_tok / 1e9, bi->bw > 0 ? 100.0 * mean * bi->bytes_tok / bi->bw : 0);
        else if (p->n_gen) printf(" %9s | %9s |", "", "");
        printf("\n");
    }
    fflush(stdout);
}

static void bench_info_init(const bench_params *p, const model *m, int nt, bench_info *bi) {
    const model_hparams *hp = model_get_hparams(m);
    const char *base = strrchr(p->path, '/');
    snprintf(bi->name, sizeof bi->name, "%s", base ? base + 1 : p->path);
    bi->file_bytes = gguf_file_size(model_get_gguf(m));
    bi->n_params = hp->n_params;
    cli_fmt_size(bi->file_bytes, bi->size_s, sizeof bi->size_s);
    cli_fmt_params(hp->n_params, bi->params_s, sizeof bi->params_s);
    bi->bytes_tok = model_weight_bytes(m); /* tied output included */
    bi->nt = nt;
}

static int bench_run(const bench_params *p) {
    pp_err err = {0};
    engine_model *em = NULL;
    model_ctx *c = NULL;
    pp_pool *pool = NULL;
    int32_t *toks = NULL;
    float *logits = NULL;
    double *samples = NULL;
    int rc = 1;
    if (engine_model_load(p->path, cli_model_params(), &em, &err) != PP_OK) { cli_error("%s", err.msg); goto done; }
    const model *m = engine_model_get(em);
    const uint32_t n_vocab = model_get_hparams(m)->n_vocab;
    const long n_toks = (p->n_prompt > p->n_gen ? p->n_prompt : p->n_gen) + 1; /* pp uses n_prompt, tg n_gen */
    model_ctx_params cp = model_ctx_default_params();
    cp.no_fuse = engine_model_get_params(em).no_fuse;
    cp.n_ctx = (uint32_t)n_toks;
    cp.n_batch = (uint32_t)p->batch;
    cp.n_threads = (int)p->threads;
    if (model_ctx_init(m, cp, &c, &err) != PP_OK) { cli_error("%s", err.msg); goto done; }
    toks = malloc((size_t)n_toks * sizeof *toks);
    logits = malloc((size_t)n_vocab * sizeof *logits);
    samples = malloc((size_t)p->reps * sizeof *samples);
    if (!toks || !logits || !samples) { cli_error("bench: out of memory"); goto done; }
    cli_bench_tokens(toks, n_toks, n_vocab);
    bench_info bi = {0};
    bench_info_init(p, m, model_ctx_get_params(c).n_threads, &bi);
    if (p->n_gen) {
        if (pp_pool_init(bi.nt, &pool, &err) != PP_OK) { cli_error("%s", err.msg); goto done; }
        bi.bw = measure_bandwidth(pool);
        pp_pool_free(pool);
        pool = NULL;
    }
    if (!p->as_json) print_header(p->n_gen != 0);
    for (int test = 0; test < 2; test++) {
        long n = test == 0 ? p->n_prompt : p->n_gen;
        if (n == 0) continue;
        for (long r = -1; r < p->reps; r++) { /* r = -1: warm-up */
            double tps;
            if (cli_bench_once(c, toks, n, test == 1, logits, &tps, &err) != PP_OK) { cli_error("%s", err.msg); goto done; }
            if (r >= 0) samples[r] = tps;
        }
        double mean, sd;
        mean_sd(samples, (int)p->reps, &mean, &sd);
        print_result(p, &bi, test == 1, n, mean, sd);
    }
    if (!p->as_json && p->n_gen) printf("\nread bandwidth measured with %d threads: %.1f GB/s\n", bi.nt, bi.bw / 1e9);
    rc = 0;
done:
    free(toks);
    free(logits);
    free(samples);
    pp_pool_free(pool);
    model_ctx_free(c);
    engine_model_free(em);
    return rc;
}

int cli_cmd_bench(int argc, char **argv) {
    bench_params p = bench_default_params();
    int rc = bench_parse(argc, argv, &p);
    if (rc) return rc == CLI_FLAGS_HELP ? 0 : rc;
    return bench_run(&p);
}
