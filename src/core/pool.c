/* pool.c - persistent thread pool with a generation-counter barrier.
 * The caller is thread 0; workers spin briefly on the generation counter, then sleep on a
 * condition variable, so a token loop with hundreds of ops per token stays cheap while an
 * idle server does not burn CPU. Each op gets (ith, nth) and takes a contiguous share. */
#include "core.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define POOL_SPIN_ITERS 50000

struct pp_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint gen;     /* bumped by the owner for each task */
    atomic_int pending;  /* workers still running the current task */
    atomic_bool quit;
    pp_task_fn fn;
    void *ctx;
};

typedef struct {
    pp_pool *pool;
    int ith;
} worker_arg;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *p) {
    worker_arg *wa = p;
    pp_pool *pool = wa->pool;
    int ith = wa->ith;
    free(wa);
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&pool->gen, memory_order_acquire)) == seen &&
               !atomic_load(&pool->quit)) {
            if (++spins < POOL_SPIN_ITERS) {
                if (spins % 1024 == 0) sched_yield(); /* oversubscribed: let others run */
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&pool->mu);
            while (atomic_load(&pool->gen) == seen && !atomic_load(&pool->quit))
                pthread_cond_wait(&pool->cv, &pool->mu);
            pthread_mutex_unlock(&pool->mu);
        }
        if (atomic_load(&pool->quit)) break;
        seen = g;
        pool->fn(pool->ctx, ith, pool->n);
        atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel);
    }
    return NULL;
}

int pp_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int c = CPU_COUNT(&set);
        if (c > 0 && (n <= 0 || c < n)) n = c;
    }
    return n > 0 ? (int)n : 1;
}

pp_status pp_pool_init(int n_threads, pp_pool **out, pp_err *err) {
    if (n_threads < 1 || n_threads > 1024)
        return pp_err_set(err, PP_ERR_ARG, "thread count %d out of range [1, 1024]", n_threads);
    pp_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return pp_err_set(err, PP_ERR_NOMEM, "cannot allocate thread pool");
    pool->n = n_threads;
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->cv, NULL);
    atomic_init(&pool->gen, 0);
    atomic_init(&pool->pending, 0);
    atomic_init(&pool->quit, false);
    pool->threads = calloc((size_t)n_threads, sizeof *pool->threads);
    if (!pool->threads) {
        free(pool);
        return pp_err_set(err, PP_ERR_NOMEM, "cannot allocate thread pool");
    }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa || pthread_create(&pool->threads[i], NULL, worker_main,
                                  (wa->pool = pool, wa->ith = i, wa)) != 0) {
            free(wa);
            pool->n = i; /* only join what started */
            pp_pool_free(pool);
            return pp_err_set(err, PP_ERR_NOMEM, "cannot start worker thread %d", i);
        }
    }
    *out = pool;
    return PP_OK;
}

int pp_pool_size(const pp_pool *pool) { return pool ? pool->n : 1; }

void pp_pool_run(pp_pool *pool, pp_task_fn fn, void *ctx) {
    if (!pool || pool->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    pool->fn = fn;
    pool->ctx = ctx;
    atomic_store_explicit(&pool->pending, pool->n - 1, memory_order_release);
    pthread_mutex_lock(&pool->mu);
    atomic_fetch_add_explicit(&pool->gen, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    fn(ctx, 0, pool->n);
    for (unsigned spins = 1; atomic_load_explicit(&pool->pending, memory_order_acquire) > 0; spins++) {
        if (spins % 1024 == 0) sched_yield();
        cpu_relax();
    }
}

void pp_pool_free(pp_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->mu);
    atomic_store(&pool->quit, true);
    pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 1; i < pool->n; i++) pthread_join(pool->threads[i], NULL);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->cv);
    free(pool->threads);
    free(pool);
}
