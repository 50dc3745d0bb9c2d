/* testlib.c - implementation of the harness in test.h. */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernels/kern.h"

int t_case_failed, t_case_skipped;
const char *t_case_name = "?";
static int n_pass, n_fail, n_skip;

void t_fail(const char *file, int line, const char *expr, const char *fmt, ...) {
    t_case_failed++;
    fprintf(stderr, "FAIL %s: %s:%d: %s", t_case_name, file, line, expr);
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, ": ");
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fprintf(stderr, "\n");
}

void t_skip(const char *fmt, ...) {
    t_case_skipped = 1;
    va_list ap;
    va_start(ap, fmt);
    printf("SKIP %s: ", t_case_name);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

void t_run(const char *name, void (*fn)(void)) {
    t_case_name = name;
    t_case_failed = 0;
    t_case_skipped = 0;
    fn();
    if (t_case_failed) {
        n_fail++;
        printf("FAIL %s (%d checks failed)\n", name, t_case_failed);
    } else if (t_case_skipped) {
        n_skip++;
    } else {
        n_pass++;
        printf("ok   %s\n", name);
    }
    fflush(stdout);
}

int t_finish(const char *suite) {
    printf("RESULT %s %d %d %d\n", suite, n_pass, n_fail, n_skip);
    return n_fail ? 1 : 0;
}

const char *t_fixtures_dir(void) {
    const char *d = getenv("PIPPA_FIXTURES");
    if (!d || !*d) d = "../shared/fixtures";
    struct stat st;
    if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
    return d;
}

const char *t_build_dir(void) {
    const char *b = getenv("BUILD");
    return b && *b ? b : "build";
}

const char *t_tmp_dir(void) {
    static char path[256];
    if (path[0]) return path;
    const char *base = getenv("PIPPA_TEST_TMP");
    snprintf(path, sizeof path, "%s/t%ld", base && *base ? base : "/tmp", (long)getpid());
    mkdir(path, 0700);
    return path;
}

void t_kern_init(void) {
    const char *name = getenv("PIPPA_KERNELS");
    kern_isa isa = KERN_ISA_AUTO;
    pp_err err = {0};
    if (name && name[0] && kern_isa_parse(name, &isa, &err) != PP_OK) {
        fprintf(stderr, "PIPPA_KERNELS: %s\n", err.msg);
        exit(2);
    }
    kern_init(isa);
}
