/* test.h - tiny test harness shared by every tests/test_*.c binary (STYLE.md §9).
 *
 *     static void test_parse(void) { T_CHECK(x == 1); T_CHECK_MSG(ok, "got %d", v); }
 *     int main(void) { T_RUN(test_parse); return t_finish("gguf"); }
 *
 * A test case passes when none of its checks failed. Failures print file:line: expr.
 * t_finish prints "RESULT <name> <passed> <failed> <skipped>", read by tests/run.sh. */
#ifndef PIPPA_TEST_H
#define PIPPA_TEST_H

#include <stdbool.h>
#include <stdio.h>

extern int t_case_failed, t_case_skipped;
extern const char *t_case_name;

void t_fail(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void t_run(const char *name, void (*fn)(void));
/* Marks the current case skipped, with the reason printed as "SKIP name: reason". */
void t_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int t_finish(const char *suite);
/* Path of ../shared/fixtures (or $PIPPA_FIXTURES) if it exists, else NULL. */
const char *t_fixtures_dir(void);
/* Path of the build directory (for running build/pippa), from $BUILD or "build". */
const char *t_build_dir(void);
/* kern_init as pippa's main does it, from PIPPA_KERNELS (unset: auto); a bad name prints the
 * error and exits 2. Every test binary that runs kernels calls this first. */
void t_kern_init(void);
/* A fresh temporary directory for this test binary (removed by the runner). */
const char *t_tmp_dir(void);

#define T_CHECK(x)                                                                       \
    do {                                                                                 \
        if (!(x)) t_fail(__FILE__, __LINE__, #x, NULL);                                  \
    } while (0)
#define T_CHECK_MSG(x, ...)                                                              \
    do {                                                                                 \
        if (!(x)) t_fail(__FILE__, __LINE__, #x, __VA_ARGS__);                           \
    } while (0)
#define T_RUN(fn) t_run(#fn, fn)

#endif
