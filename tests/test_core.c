/* test_core.c - fp16/bf16 conversion, checked math, arena, thread pool, errors. */
#include "test.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "core/core.h"

static void test_f16_roundtrip_all(void) {
    /* every finite f16 pattern converts to f32 and back exactly */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        uint16_t x = (uint16_t)h;
        if ((x & 0x7C00) == 0x7C00 && (x & 0x3FF)) continue; /* NaN */
        if (pp_f32_to_f16(pp_f16_to_f32(x)) != x) bad++;
    }
    T_CHECK_MSG(bad == 0, "%d patterns did not round-trip", bad);
}

static void test_f16_known(void) {
    T_CHECK(pp_f32_to_f16(1.0f) == 0x3C00);
    T_CHECK(pp_f32_to_f16(-2.0f) == 0xC000);
    T_CHECK(pp_f32_to_f16(65504.0f) == 0x7BFF);
    T_CHECK(pp_f32_to_f16(65520.0f) == 0x7C00);   /* rounds to inf */
    T_CHECK(pp_f32_to_f16(65519.0f) == 0x7BFF);
    T_CHECK(pp_f32_to_f16(NAN) == 0x7E00);
    T_CHECK(pp_f32_to_f16(5.9604644775390625e-08f) == 0x0001); /* smallest subnormal */
    T_CHECK(pp_f32_to_f16(2.98023223876953125e-08f) == 0x0000); /* tie -> even (0) */
    T_CHECK(pp_f32_to_f16(8.94069671630859375e-08f) == 0x0002); /* 1.5 ulp tie -> 2 */
    T_CHECK(pp_f32_to_f16(1.0f + 1.0f / 2048) == 0x3C00);         /* tie -> even */
    T_CHECK(pp_f32_to_f16(1.0f + 3.0f / 2048) == 0x3C02);
    T_CHECK(pp_f16_to_f32(0x3555) == 0.333251953125f);
    T_CHECK(isinf(pp_f16_to_f32(0xFC00)) && pp_f16_to_f32(0xFC00) < 0);
}

static void test_bf16(void) {
    T_CHECK(pp_f32_to_bf16(1.0f) == 0x3F80);
    T_CHECK(pp_bf16_to_f32(0x3F80) == 1.0f);
    T_CHECK(pp_f32_to_bf16(1.00390625f) == 0x3F80);  /* tie -> even */
    T_CHECK(pp_f32_to_bf16(1.01171875f) == 0x3F82);  /* tie -> even (up) */
    T_CHECK((pp_f32_to_bf16(NAN) & 0x7FC0) == 0x7FC0);
}

static void test_checked_math(void) {
    uint64_t r = 0;
    T_CHECK(pp_mul_u64(1ull << 32, 1ull << 31, &r) && r == 1ull << 63);
    T_CHECK(!pp_mul_u64(1ull << 32, 1ull << 32, &r));
    T_CHECK(!pp_add_u64(UINT64_MAX, 1, &r));
    int64_t lo, hi, total = 0;
    for (int i = 0; i < 3; i++) { pp_split(10, i, 3, &lo, &hi); total += hi - lo; }
    T_CHECK(total == 10);
}

static void test_arena(void) {
    pp_arena a;
    pp_err err = {0};
    T_CHECK(pp_arena_init(&a, 1000, &err) == PP_OK);
    void *p = pp_arena_alloc(&a, 10, 64);
    void *q = pp_arena_alloc(&a, 10, 64);
    T_CHECK(p && q && ((uintptr_t)q & 63) == 0 && (char *)q - (char *)p == 64);
    T_CHECK(pp_arena_alloc(&a, 2000, 1) == NULL);
    pp_arena_free(&a);
}

typedef struct { atomic_int hits[8]; } pool_ctx;
static void pool_task(void *ctx, int ith, int nth) {
    pool_ctx *c = ctx;
    (void)nth;
    atomic_fetch_add(&c->hits[ith], 1);
}

static void test_pool(void) {
    pp_pool *pool = NULL;
    pp_err err = {0};
    T_CHECK(pp_pool_init(4, &pool, &err) == PP_OK);
    pool_ctx c;
    memset(&c, 0, sizeof c);
    for (int r = 0; r < 1000; r++) pp_pool_run(pool, pool_task, &c);
    for (int i = 0; i < 4; i++) T_CHECK_MSG(atomic_load(&c.hits[i]) == 1000, "thread %d ran %d", i, atomic_load(&c.hits[i]));
    pp_pool_free(pool);
    T_CHECK(pp_pool_init(0, &pool, &err) == PP_ERR_ARG);
    T_CHECK(strstr(err.msg, "thread count 0") != NULL);
}

static void test_err(void) {
    pp_err err = {0};
    T_CHECK(pp_err_set(&err, PP_ERR_FORMAT, "tensor '%s': bad", "x") == PP_ERR_FORMAT);
    pp_err_prefix(&err, "%s: ", "m.gguf");
    T_CHECK(strcmp(err.msg, "m.gguf: tensor 'x': bad") == 0);
    T_CHECK(pp_err_set(NULL, PP_ERR_IO, "x") == PP_ERR_IO);
}

int main(void) {
    T_RUN(test_f16_roundtrip_all);
    T_RUN(test_f16_known);
    T_RUN(test_bf16);
    T_RUN(test_checked_math);
    T_RUN(test_arena);
    T_RUN(test_pool);
    T_RUN(test_err);
    return t_finish("core");
}
