/* samp.c - the sampler object: penalty history and the sampling chain (see samp.h for the
 * order and the exact formulas).
 *
 * Invariants:
 *   - all memory is allocated in samp_init; samp_sample/samp_accept never allocate.
 *   - counts[t] == number of occurrences of t in the history ring (never negative between
 *     calls; apply_penalties negates entries temporarily to mark "done").
 *   - ordering ties are always broken by the lower token id, so the result depends only on
 *     (params, seed, history, logits), never on sort internals.
 * Reference: llama.cpp src/llama-sampler.cpp (penalties, top_k, typical, top_p, min_p, temp,
 * dist) and common/common.h (default chain order); facts only, own code.
 */
#include "samp_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct samp_cand {
    float logit; /* penalized logit */
    float key;   /* scratch: exp(logit - max), or the typical_p score */
    int32_t id;
} samp_cand;

struct samp {
    samp_params p;
    int32_t n_vocab;
    int64_t seed;     /* the seed in use */
    samp_rng rng;
    float *work;      /* [n_vocab] sanitized + penalized logits, indexed by id */
    samp_cand *cand;  /* [n_vocab] candidate list */
    samp_cand *tmp;   /* [n_vocab] scratch for top_p's boundary bucket */
    int32_t *counts;  /* [n_vocab] occurrences in the history window */
    int32_t *hist;    /* [hist_cap] ring of accepted tokens */
    int32_t hist_cap; /* window length (0: penalties off) */
    int32_t hist_len; /* tokens in the ring, <= hist_cap */
    int32_t hist_pos; /* next write position */
};

/* a ranks before b: higher logit, then lower id. */
static inline bool cand_better(const samp_cand *a, const samp_cand *b) {
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int cmp_cand_desc(const void *x, const void *y) {
    const samp_cand *a = x, *b = y;
    if (cand_better(a, b)) return -1;
    if (cand_better(b, a)) return 1;
    return 0;
}

/* typical_p order: lower score first, then higher logit, then lower id. */
static int cmp_cand_key_asc(const void *x, const void *y) {
    const samp_cand *a = x, *b = y;
    if (a->key < b->key) return -1;
    if (a->key > b->key) return 1;
    return cmp_cand_desc(x, y);
}

static void seed_from(samp *s, int64_t seed) {
    s->seed = seed;
    samp_rng_seed(&s->rng, (uint64_t)seed);
}

pp_status samp_init(samp_params p, int32_t n_vocab, samp **out, pp_err *err) {
    pp_status st = samp_params_validate(&p, err);
    if (st != PP_OK) return st;
    if (n_vocab < 1 || n_vocab > SAMP_VOCAB_MAX)
        return pp_err_set(err, PP_ERR_ARG, "sampler: n_vocab %d is outside [1, %d]",
                          (int)n_vocab, SAMP_VOCAB_MAX);
    int64_t seed = p.seed;
    if (seed < 0) {
        uint64_t r = 0;
        st = samp_os_random(&r, err);
        if (st != PP_OK) return st;
        seed = (int64_t)(r >> 33); /* [0, 2^31): easy to type back as seed=N anywhere */
    }
    int32_t cap = p.repeat_last_n;
    if (cap < 0 || cap > SAMP_HISTORY_MAX) cap = SAMP_HISTORY_MAX;

    samp *s = calloc(1, sizeof *s);
    if (!s) goto oom;
    s->p = p;
    s->n_vocab = n_vocab;
    s->hist_cap = cap;
    s->work = malloc((size_t)n_vocab * sizeof *s->work);
    s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
    s->tmp = malloc((size_t)n_vocab * sizeof *s->tmp);
    s->counts = calloc((size_t)n_vocab, sizeof *s->counts);
    s->hist = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *s->hist);
    if (!s->work || !s->cand || !s->tmp || !s->counts || !s->hist) goto oom;
    seed_from(s, seed);
    *out = s;
    return PP_OK;
oom:
    samp_free(s);
    return pp_err_set(err, PP_ERR_NOMEM, "sampler: out of memory for n_vocab %d",
                      (int)n_vocab);
}

void samp_free(samp *s) {
    if (!s) return;
    free(s->work);
    free(s->cand);
    free(s->tmp);
    free(s->counts);
    free(s->hist);
    free(s);
}

void samp_reset(samp *s) {
    for (int32_t i = 0; i < s->hist_len; i++) s->counts[s->hist[i]] = 0;
    s->hist_len = 0;
    s->hist_pos = 0;
    if (s->p.seed >= 0) seed_from(s, s->p.seed);
    else seed_from(s, (int64_t)(samp_rng_next(&s->rng) >> 33));
}

pp_status samp_accept(samp *s, int32_t token) {
    if (token < 0 || token >= s->n_vocab) return PP_ERR_ARG;
    if (s->hist_cap == 0) return PP_OK;
    if (s->hist_len == s->hist_cap) {
        s->counts[s->hist[s->hist_pos]]--; /* the oldest token leaves the window */
    } else {
        s->hist_len++;
    }
    s->hist[s->hist_pos] = token;
    s->counts[token]++;
    s->hist_pos = s->hist_pos + 1 == s->hist_cap ? 0 : s->hist_pos + 1;
    return PP_OK;
}

int64_t samp_seed(const samp *s) { return s->seed; }
samp_params samp_get_params(const samp *s) { return s->p; }

/* work[i] = logits[i], with NaN -> -inf and +inf -> FLT_MAX so that max-subtraction stays
 * finite. */
static void copy_logits(samp *s, const float *logits) {
    float *w = s->work;
    for (int32_t i = 0; i < s->n_vocab; i++) {
        float x = logits[i];
        if (x != x) x = -INFINITY;
        else if (x > FLT_MAX) x = FLT_MAX;
        w[i] = x;
    }
}

static void apply_penalties(samp *s) {
    const samp_params *p = &s->p;
    if (s->hist_len == 0) return;
    if (p->repeat_penalty == 1.0f && p->frequency_penalty == 0.0f && p->presence_penalty == 0.0f)
        return;
    float *w = s->work;
    for (int32_t i = 0; i < s->hist_len; i++) {
        int32_t t = s->hist[i];
        int32_t c = s->counts[t];
        if (c <= 0) continue; /* already penalized (marked negative below) */
        float l = w[t];
        l = l <= 0 ? l * p->repeat_penalty : l / p->repeat_penalty;
        l -= (float)c * p->frequency_penalty + p->presence_penalty;
        if (l != l) l = -INFINITY;          /* -inf - -inf */
        else if (l > FLT_MAX) l = FLT_MAX;  /* FLT_MAX / 0.5 */
        w[t] = l;
        s->counts[t] = -c;
    }
    for (int32_t i = 0; i < s->hist_len; i++) {
        int32_t t = s->hist[i];
        if (s->counts[t] < 0) s->counts[t] = -s->counts[t];
    }
}

/* Min-heap on "worse ranks first": h[0] is the worst of the kept candidates. */
static void heap_sift_down(samp_cand *h, int32_t n, int32_t i) {
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && cand_better(&h[m], &h[l])) m = l;
        if (r < n && cand_better(&h[m], &h[r])) m = r;
        if (m == i) return;
        samp_cand t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void heap_sift_up(samp_cand *h, int32_t i) {
    while (i > 0) {
        int32_t parent = (i - 1) / 2;
        if (!cand_better(&h[parent], &h[i])) return;
        samp_cand t = h[i];
        h[i] = h[parent];
        h[parent] = t;
        i = parent;
    }
}

/* The k best of work[] into cand[0..k), sorted best first. O(n + k log k) typically. */
static void select_top_k(samp *s, int32_t k) {
    samp_cand *h = s->cand;
    const float *w = s->work;
    int32_t m = 0;
    for (int32_t i = 0; i < s->n_vocab; i++) {
        samp_cand c = {w[i], 0.0f, i};
        if (m < k) {
            h[m] = c;
            heap_sift_up(h, m);
            m++;
        } else if (cand_better(&c, &h[0])) {
            h[0] = c;
            heap_sift_down(h, k, 0);
        }
    }
    /* heap sort: moving the worst to the end each time leaves the array best first */
    for (int32_t end = k - 1; end > 0; end--) {
        samp_cand t = h[0];
        h[0] = h[end];
        h[end] = t;
        heap_sift_down(h, end, 0);
    }
}

static float max_logit(const samp_cand *c, int32_t n) {
    float m = -INFINITY;
    for (int32_t i = 0; i < n; i++)
        if (c[i].logit > m) m = c[i].logit;
    return m;
}

/* key[i] = exp(logit[i] - max); returns the sum. */
static double fill_weights(samp_cand *c, int32_t n, float max) {
    double z = 0;
    for (int32_t i = 0; i < n; i++) {
        c[i].key = expf(c[i].logit - max);
        z += c[i].key;
    }
    return z;
}

/* Locally typical sampling (llama.cpp llama_sampler_typical): order by |-log p - H|
 * ascending and keep the shortest prefix whose cumulative probability exceeds p. */
static int32_t filter_typical(samp_cand *c, int32_t n, float typical_p) {
    float max = max_logit(c, n);
    double z = fill_weights(c, n, max);
    double h = 0; /* entropy in nats */
    for (int32_t i = 0; i < n; i++) {
        double pi = c[i].key / z;
        if (pi > 0) h -= pi * log(pi);
    }
    for (int32_t i = 0; i < n; i++) {
        double pi = c[i].key / z;
        c[i].key = pi > 0 ? (float)fabs(-log(pi) - h) : INFINITY;
    }
    qsort(c, (size_t)n, sizeof *c, cmp_cand_key_asc);
    double cum = 0;
    for (int32_t i = 0; i < n; i++) {
        cum += expf(c[i].logit - max) / z;
        if (cum > typical_p) return i + 1;
    }
    return n;
}

/* Bucket of a candidate for the unsorted top_p: by d = max - logit in steps of 1/4 nat;
 * monotone in the logit (higher logit -> same or lower bucket). */
#define SAMP_TOP_P_BUCKETS 128
static inline int top_p_bucket(float logit, float max) {
    float d = (max - logit) * 4.0f;
    return d < (float)(SAMP_TOP_P_BUCKETS - 1) ? (int)d : SAMP_TOP_P_BUCKETS - 1;
}

/* top_p on candidates c[0..n) (llama.cpp llama_sampler_top_p): keep the shortest prefix of
 * the descending order with cumulative probability >= p, at least one.
 * Sorted input: walk the prefix. Unsorted input (no top_k): a histogram of probability
 * mass by logit bucket finds the bucket where the cumulative mass reaches p; only that
 * bucket's tokens are copied to tmp and sorted to find the exact last kept token c*; then
 * one stable pass keeps every token ranking at or before c*, in the input order (so the
 * draw walks them in id order). Cost O(n) plus sorting one bucket. */
static int32_t filter_top_p(samp_cand *c, int32_t n, bool sorted, float top_p,
                            samp_cand *tmp) {
    float max = sorted ? c[0].logit : max_logit(c, n);
    double z = fill_weights(c, n, max);
    const double need = (double)top_p * z;
    double cum = 0;
    if (sorted) {
        for (int32_t i = 0; i < n; i++) {
            cum += c[i].key;
            if (cum >= need) return i + 1;
        }
        return n;
    }
    double mass[SAMP_TOP_P_BUCKETS] = {0};
    for (int32_t i = 0; i < n; i++) mass[top_p_bucket(c[i].logit, max)] += c[i].key;
    int cut_b = SAMP_TOP_P_BUCKETS - 1;
    for (int b = 0; b < SAMP_TOP_P_BUCKETS; b++) {
        if (cum + mass[b] >= need) {
            cut_b = b;
            break;
        }
        cum += mass[b];
    }
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++)
        if (top_p_bucket(c[i].logit, max) == cut_b) tmp[m++] = c[i];
    PP_ASSERT(m > 0 || cut_b == SAMP_TOP_P_BUCKETS - 1);
    if (m == 0) return n; /* rounding left the mass short: keep everything */
    qsort(tmp, (size_t)m, sizeof *tmp, cmp_cand_desc);
    samp_cand last = tmp[m - 1];
    for (int32_t i = 0; i < m; i++) {
        cum += tmp[i].key;
        if (cum >= need) {
            last = tmp[i];
            break;
        }
    }
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        int b = top_p_bucket(c[i].logit, max);
        if (b < cut_b || (b == cut_b && !cand_better(&last, &c[i]))) c[k++] = c[i];
    }
    return k;
}

/* min_p: keep logit >= max + log(min_p) (== p >= min_p * p_max), preserving order. */
static int32_t filter_min_p(samp_cand *c, int32_t n, float min_p) {
    float max = max_logit(c, n);
    float cut = max + logf(min_p);
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++)
        if (c[i].logit >= cut) c[m++] = c[i];
    return m > 0 ? m : 1;
}

/* Draws with weights exp((logit - max) / T) and the uniform u in [0, 1). */
static int32_t draw(samp_cand *c, int32_t n, float temperature, double u) {
    float max = max_logit(c, n);
    double z = 0;
    for (int32_t i = 0; i < n; i++) {
        c[i].key = expf((c[i].logit - max) / temperature);
        z += c[i].key;
    }
    double target = u * z, cum = 0;
    int32_t last = 0;
    for (int32_t i = 0; i < n; i++) {
        if (c[i].key <= 0) continue;
        cum += c[i].key;
        last = i;
        if (target < cum) return c[i].id;
    }
    return c[last].id; /* u * z rounded up to the total */
}

static pp_status sample_chain(samp *s, const float *logits, const double *u_given,
                              int32_t *out_token, pp_err *err) {
    const samp_params *p = &s->p;
    const int32_t n = s->n_vocab;
    copy_logits(s, logits);
    apply_penalties(s);

    if (p->temperature <= 0) {
        const float *w = s->work;
        int32_t best = 0;
        for (int32_t i = 1; i < n; i++)
            if (w[i] > w[best]) best = i;
        if (w[best] == -INFINITY)
            return pp_err_set(err, PP_ERR_ARG, "sampler: logits have no finite value");
        *out_token = best;
        return PP_OK;
    }

    samp_cand *c = s->cand;
    int32_t nc;
    bool sorted = false;
    if (p->top_k > 0 && p->top_k < n) {
        nc = p->top_k;
        select_top_k(s, nc);
        sorted = true;
    } else {
        nc = n;
        for (int32_t i = 0; i < n; i++) c[i] = (samp_cand){s->work[i], 0.0f, i};
    }
    float max = sorted ? c[0].logit : max_logit(c, nc);
    if (max == -INFINITY)
        return pp_err_set(err, PP_ERR_ARG, "sampler: logits have no finite value");

    if (p->typical_p < 1.0f) {
        nc = filter_typical(c, nc, p->typical_p);
        sorted = false;
    }
    if (p->top_p < 1.0f) {
        nc = filter_top_p(c, nc, sorted, p->top_p, s->tmp); /* keeps the order */
    }
    if (p->min_p > 0.0f) nc = filter_min_p(c, nc, p->min_p);

    double u = u_given ? *u_given : samp_rng_uniform(&s->rng);
    *out_token = draw(c, nc, p->temperature, u);
    return PP_OK;
}

pp_status samp_sample(samp *s, const float *logits, int32_t *out_token, pp_err *err) {
    return sample_chain(s, logits, NULL, out_token, err);
}

pp_status samp_sample_u(samp *s, const float *logits, double u, int32_t *out_token,
                        pp_err *err) {
    if (!(u >= 0.0 && u < 1.0))
        return pp_err_set(err, PP_ERR_ARG, "sampler: draw %g is outside [0, 1)", u);
    return sample_chain(s, logits, &u, out_token, err);
}
