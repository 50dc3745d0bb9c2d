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

#include "cli_eval.h"

static const char USAGE[] =
    "usage: pippa bench MODEL.gguf [-p N] [-n N] [-t THREADS] [-r REPS] [-b BATCH] [--json] [--kernels generic]";

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

static int parse_num(const char *opt, const char *s, long lo, long hi, long *out) {
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) {
        cli_error("bench: %s: expected an integer in [%ld, %ld], got '%s'", opt, lo, hi, s);
        return 2;
    }
    *out = v;
    return 0;
}

static void mean_sd(const double *x, int n, double *mean, double *sd) {
    double s = 0, q = 0;
    for (int i = 0; i < n; i++) s += x[i];
    *mean = s / n;
    for (int i = 0; i < n; i++) q += (x[i] - *mean) * (x[i] - *mean);
    *sd = n > 1 ? sqrt(q / (n - 1)) : 0;
}

int cli_cmd_bench(int argc, char **argv) {
    const char *path = NULL;
    long n_prompt = 512, n_gen = 128, threads = 0, reps = 5, batch = 512;
    bool as_json = false;
    int rc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "-p") && has) { if ((rc = parse_num("-p", argv[++i], 0, 65536, &n_prompt))) return rc; }
        else if (!strcmp(a, "-n") && has) { if ((rc = parse_num("-n", argv[++i], 0, 65536, &n_gen))) return rc; }
        else if (!strcmp(a, "-t") && has) { if ((rc = parse_num("-t", argv[++i], 1, 1024, &threads))) return rc; }
        else if (!strcmp(a, "-r") && has) { if ((rc = parse_num("-r", argv[++i], 1, 1000, &reps))) return rc; }
        else if (!strcmp(a, "-b") && has) { if ((rc = parse_num("-b", argv[++i], 1, 4096, &batch))) return rc; }
        else if (!strcmp(a, "--json")) as_json = true;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { puts(USAGE); return 0; }
        else if (a[0] == '-') { cli_error("bench: unknown or incomplete option '%s'\n%s", a, USAGE); return 2; }
        else if (!path) path = a;
        else { cli_error("bench: unexpected argument '%s'\n%s", a, USAGE); return 2; }
    }
    if (!path) { cli_error("bench: missing MODEL\n%s", USAGE); return 2; }
    if (n_prompt == 0 && n_gen == 0) { cli_error("bench: nothing to run (-p 0 -n 0)"); return 2; }
    pp_err err = {0};
    engine_model *em = NULL;
    model_ctx *c = NULL;
    pp_pool *pool = NULL;
    int32_t *toks = NULL;
    float *logits = NULL;
    double *samples = NULL;
    rc = 1;
    if (engine_model_load(path, &em, &err) != PP_OK) { cli_error("%s", err.msg); goto done; }
    const model *m = engine_model_get(em);
    const model_hparams *hp = model_get_hparams(m);
    model_ctx_params cp = model_ctx_default_params();
    cp.n_ctx = (uint32_t)(n_prompt > n_gen ? n_prompt : n_gen) + 1;
    cp.n_batch = (uint32_t)batch;
    cp.n_threads = (int)threads;
    if (model_ctx_init(m, cp, &c, &err) != PP_OK) { cli_error("%s", err.msg); goto done; }
    int nt = model_ctx_get_params(c).n_threads;
    const long n_toks = (n_prompt > n_gen ? n_prompt : n_gen) + 1; /* pp uses n_prompt, tg n_gen */
    toks = malloc((size_t)n_toks * sizeof *toks);
    logits = malloc((size_t)hp->n_vocab * sizeof *logits);
    samples = malloc((size_t)reps * sizeof *samples);
    if (!toks || !logits || !samples) { cli_error("bench: out of memory"); goto done; }
    cli_bench_tokens(toks, n_toks, hp->n_vocab);
    char name[64], size_s[32], params_s[32];
    const char *base = strrchr(path, '/');
    snprintf(name, sizeof name, "%s", base ? base + 1 : path);
    cli_fmt_size(gguf_file_size(model_get_gguf(m)), size_s, sizeof size_s);
    cli_fmt_params(hp->n_params, params_s, sizeof params_s);
    /* weights streamed per decoded token: every matmul weight once (tied output included) */
    uint64_t bytes_tok = model_weight_bytes(m);
    double bw = 0;
    if (n_gen) {
        if (pp_pool_init(nt, &pool, &err) != PP_OK) { cli_error("%s", err.msg); goto done; }
        bw = measure_bandwidth(pool);
        pp_pool_free(pool);
        pool = NULL;
    }
    if (!as_json) {
        printf("| %-28s | %10s | %8s | %-7s | %7s | %6s | %16s |", "model", "size", "params", "kernels", "threads", "test",
               "t/s");
        if (n_gen) printf(" %9s | %9s |", "GB/token", "bw used");
        printf("\n|%s|%s|%s|%s|%s|%s|%s|", "------------------------------", "------------", "----------", "---------",
               "---------", "--------", "------------------");
        if (n_gen) printf("-----------|-----------|");
        printf("\n");
    }
    for (int test = 0; test < 2; test++) {
        long n = test == 0 ? n_prompt : n_gen;
        if (n == 0) continue;
        for (long r = -1; r < reps; r++) { /* r = -1: warm-up */
            double tps;
            if (cli_bench_once(c, toks, n, test == 1, logits, &tps, &err) != PP_OK) { cli_error("%s", err.msg); goto done; }
            if (r >= 0) samples[r] = tps;
        }
        double mean, sd;
        mean_sd(samples, (int)reps, &mean, &sd);
        char test_s[16];
        snprintf(test_s, sizeof test_s, "%s%ld", test == 0 ? "pp" : "tg", n);
        if (as_json) {
            printf("{\"model\": \"%s\", \"size\": %" PRIu64 ", \"params\": %" PRIu64 ", \"kernels\": \"%s\", \"threads\": %d, "
                   "\"test\": \"%s\", \"tok_s\": %.3f, \"sd\": %.3f",
                   name, gguf_file_size(model_get_gguf(m)), hp->n_params, kern_isa_name(kern_active_isa()), nt, test_s,
                   mean, sd);
            if (test == 1)
                printf(", \"bytes_per_token\": %" PRIu64 ", \"read_bandwidth\": %.0f, \"bandwidth_share\": %.3f", bytes_tok,
                       bw, bw > 0 ? mean * bytes_tok / bw : 0);
            printf("}\n");
        } else {
            char ts[32];
            snprintf(ts, sizeof ts, "%.2f ± %.2f", mean, sd);
            printf("| %-28s | %10s | %8s | %-7s | %7d | %6s | %17s |", name, size_s, params_s,
                   kern_isa_name(kern_active_isa()), nt, test_s, ts);
            if (test == 1) printf(" %9.3f | %8.1f%% |", bytes_tok / 1e9, bw > 0 ? 100.0 * mean * bytes_tok / bw : 0);
            else if (n_gen) printf(" %9s | %9s |", "", "");
            printf("\n");
        }
        fflush(stdout);
    }
    if (!as_json && n_gen) printf("\nread bandwidth measured with %d threads: %.1f GB/s\n", nt, bw / 1e9);
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
