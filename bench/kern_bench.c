/* kern_bench.c - micro-benchmark of the matmul kernels on Gemma-3-1B-shaped matrices.
 * Decode: kern_matmul with n_tok 1 over all rows, reported in GB/s of weight bytes read.
 * Prefill: n_tok 256 (fewer for generic, which is slow), in GFLOP/s (2 flops per MAC).
 * Rows are split over a thread pool like the model does; numbers are best of a few
 * repetitions. Never gates anything (STYLE.md §9).
 * Usage: build/pippa-kern-bench [seconds-per-case [threads [type]]]  (type: e.g. Q4_K, only that one) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/core.h"
#include "kernels/kern.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rs = 88172645463325252ULL;
static uint32_t rnd(void) {
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    return (uint32_t)(rs >> 16);
}

/* random quant bits, with every block's f16 fields set to small sane values */
static void fill(uint32_t t, uint8_t *w, size_t bytes) {
    for (size_t i = 0; i < bytes; i++) w[i] = (uint8_t)rnd();
    if (t == GGUF_TTYPE_F16) {
        for (size_t i = 0; i + 1 < bytes; i += 2) {
            uint16_t h = pp_f32_to_f16((float)(rnd() % 2000) / 1000.0f - 1.0f);
            memcpy(w + i, &h, 2);
        }
        return;
    }
    uint32_t bb = quant_block_bytes(t);
    int offs[2] = {0, -1};
    if (t == GGUF_TTYPE_Q6_K) offs[0] = 208;
    if (t == GGUF_TTYPE_Q4_K) offs[1] = 2;
    uint16_t h = pp_f32_to_f16(0.01f);
    for (size_t b = 0; b + bb <= bytes; b += bb)
        for (int k = 0; k < 2; k++)
            if (offs[k] >= 0) memcpy(w + b + offs[k], &h, 2);
}

typedef struct job {
    const kern_type_traits *tt;
    int64_t n_in, n_out;
    const uint8_t *w, *act;
    size_t rb, ab;
    int n_tok;
    float *y;
    const uint8_t *packed; /* repacked weights (gemm_packed), or NULL */
    size_t gb;
} job;

static void job_run(void *ctx, int ith, int nth) {
    const job *j = ctx;
    int64_t lo, hi;
    if (j->packed) {
        const int64_t pr = j->tt->pack_rows;
        pp_split(j->n_out / pr, ith, nth, &lo, &hi);
        j->tt->gemm_packed(j->n_in, j->packed, j->gb, j->act, j->ab, j->n_tok, j->y, j->n_out, lo * pr, hi * pr);
        return;
    }
    pp_split(j->n_out, ith, nth, &lo, &hi);
    kern_matmul(j->tt, j->n_in, j->w, j->rb, j->act, j->ab, j->n_tok, j->y, j->n_out, lo, hi);
}

static pp_pool *pool;

static double best_time(const kern_type_traits *tt, int64_t n_in, int64_t n_out, const uint8_t *w, size_t rb,
                        const uint8_t *act, size_t ab, int n_tok, float *y, double budget, const uint8_t *packed,
                        size_t gb) {
    double best = 1e30, t_end = now() + budget;
    int reps = 0;
    job j = {tt, n_in, n_out, w, act, rb, ab, n_tok, y, packed, gb};
    do {
        double t0 = now();
        pp_pool_run(pool, job_run, &j);
        double dt = now() - t0;
        if (dt < best) best = dt;
        reps++;
    } while (now() < t_end || reps < 2);
    return best;
}

int main(int argc, char **argv) {
    double budget = argc > 1 ? atof(argv[1]) : 0.5;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    const char *only = argc > 3 ? argv[3] : NULL;
    pp_err err = {0};
    kern_init(KERN_ISA_AUTO); /* before the pool's threads exist */
    if (pp_pool_init(threads, &pool, &err) != PP_OK) {
        fprintf(stderr, "kern_bench: %s\n", err.msg);
        return 1;
    }
    printf("threads %d\n", pp_pool_size(pool));
    static const uint32_t types[] = {GGUF_TTYPE_Q4_0, GGUF_TTYPE_Q8_0, GGUF_TTYPE_Q5_0,
                                     GGUF_TTYPE_Q4_K, GGUF_TTYPE_Q6_K, GGUF_TTYPE_F16};
    static const int64_t shapes[][2] = {{1152, 6912}, {6912, 1152}}; /* n_in, n_out */
    printf("%-6s %-11s %-11s %12s %14s\n", "type", "n_in x out", "isa", "decode GB/s", "gemm GFLOP/s");
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const uint32_t t = types[ti];
        if (only && strcasecmp(only, quant_type_name(t)) != 0) continue;
        for (int s = 0; s < 2; s++) {
            const int64_t n_in = shapes[s][0], n_out = shapes[s][1];
            if (quant_block_size(t) == 256 && n_in % 256) continue;
            const size_t rb = quant_row_bytes(t, (uint64_t)n_in);
            uint8_t *w = malloc(rb * (size_t)n_out);
            fill(t, w, rb * (size_t)n_out);
            for (int isa = KERN_ISA_GENERIC; isa < KERN_ISA_COUNT; isa++) {
                if (!kern_isa_available((kern_isa)isa)) {
                    printf("%-6s %5lldx%-5lld %-8s %12s %14s\n", quant_type_name(t), (long long)n_in,
                           (long long)n_out, kern_isa_name((kern_isa)isa), "SKIP", "(CPU lacks ISA)");
                    continue;
                }
                const kern_type_traits *tt = kern_traits_isa((kern_isa)isa, t);
                const int n_tok = isa == KERN_ISA_GENERIC ? 16 : 256;
                const size_t ab = kern_act_row_bytes(tt, n_in);
                float *x = malloc(sizeof(float) * (size_t)n_in * (size_t)n_tok);
                uint8_t *act = malloc(ab * (size_t)n_tok);
                float *y = malloc(sizeof(float) * (size_t)n_out * (size_t)n_tok);
                for (int64_t i = 0; i < n_in * n_tok; i++) x[i] = (float)(rnd() % 2001) / 1000.0f - 1.0f;
                for (int k = 0; k < n_tok; k++) tt->quantize_act(x + (int64_t)k * n_in, act + (size_t)k * ab, n_in);
                for (int pk = 0; pk < 2; pk++) {
                    uint8_t *packed = NULL;
                    size_t gb = 0;
                    if (pk) {
                        if (!tt->pack || n_out % tt->pack_rows) break;
                        gb = tt->pack_group_bytes(n_in);
                        packed = malloc(gb * (size_t)(n_out / tt->pack_rows));
                        tt->pack(n_in, w, rb, 0, n_out / tt->pack_rows, packed);
                    }
                    double td = best_time(tt, n_in, n_out, w, rb, act, ab, 1, y, budget, packed, gb);
                    double tg = best_time(tt, n_in, n_out, w, rb, act, ab, n_tok, y, budget, packed, gb);
                    char name[32];
                    snprintf(name, sizeof name, "%s%s", kern_isa_name((kern_isa)isa), pk ? "+pack" : "");
                    printf("%-6s %5lldx%-5lld %-11s %12.1f %14.1f\n", quant_type_name(t), (long long)n_in,
                           (long long)n_out, name, (double)(rb * (size_t)n_out) / td / 1e9,
                           2.0 * (double)n_in * (double)n_out * n_tok / tg / 1e9);
                    free(packed);
                }
                free(x), free(act), free(y);
            }
            free(w);
        }
    }
    pp_pool_free(pool);
    return 0;
}
