/* err.c - status names, error formatting, asserts, logging. */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const STATUS_NAMES[PP_STATUS_COUNT] = {
    "ok", "bad argument", "i/o error", "format error", "unsupported", "out of memory",
    "not found", "cancelled", "internal error",
};

const char *pp_status_name(pp_status status) {
    if ((unsigned)status >= PP_STATUS_COUNT) return "unknown status";
    return STATUS_NAMES[status];
}

pp_status pp_err_set(pp_err *err, pp_status status, const char *fmt, ...) {
    if (!err) return status;
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return status;
}

pp_status pp_err_prefix(pp_err *err, const char *fmt, ...) {
    if (!err) return PP_ERR_INTERNAL;
    char buf[2 * PP_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, PP_ERR_MSG_MAX, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if (n >= PP_ERR_MSG_MAX) n = PP_ERR_MSG_MAX - 1;
    size_t old = strnlen(err->msg, PP_ERR_MSG_MAX - 1);
    memcpy(buf + n, err->msg, old);
    size_t total = (size_t)n + old;
    if (total >= PP_ERR_MSG_MAX) total = PP_ERR_MSG_MAX - 1;
    memcpy(err->msg, buf, total);
    err->msg[total] = 0;
    return err->status;
}

void pp_assert_fail(const char *file, int line, const char *expr) {
    fprintf(stderr, "%s:%d: internal error: assertion failed: %s\n", file, line, expr);
    fflush(stderr);
    abort();
}

bool pp_view_eq(pp_view v, const char *s) {
    size_t n = strlen(s);
    return v.len == n && (n == 0 || memcmp(v.ptr, s, n) == 0);
}

char *pp_view_dup(pp_view v) {
    char *s = malloc(v.len + 1);
    if (!s) return NULL;
    if (v.len) memcpy(s, v.ptr, v.len);
    s[v.len] = 0;
    return s;
}

static pp_log_level log_threshold(void) {
    const char *e = getenv("PIPPA_LOG");
    if (!e) return PP_LOG_WARN;
    if (!strcmp(e, "error")) return PP_LOG_ERROR;
    if (!strcmp(e, "info")) return PP_LOG_INFO;
    if (!strcmp(e, "debug")) return PP_LOG_DEBUG;
    return PP_LOG_WARN;
}

void pp_log(pp_log_level level, const char *fmt, ...) {
    if (level > log_threshold()) return;
    static const char *const names[] = {"error", "warning", "info", "debug"};
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "pippa: %s: %s\n", names[level], line);
}
