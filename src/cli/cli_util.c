/* cli_util.c - number formatting and the error line shared by the subcommands. */
#include "cli.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

void cli_fmt_params(uint64_t n, char *buf, size_t cap) {
    if (n < 1000) snprintf(buf, cap, "%" PRIu64, n);
    else if (n < 1000000) snprintf(buf, cap, "%.2fK", (double)n / 1e3);
    else if (n < 1000000000) snprintf(buf, cap, "%.2fM", (double)n / 1e6);
    else snprintf(buf, cap, "%.2fB", (double)n / 1e9);
}

void cli_fmt_size(uint64_t n, char *buf, size_t cap) {
    if (n < 1000) snprintf(buf, cap, "%" PRIu64 " bytes", n);
    else if (n < 1000000) snprintf(buf, cap, "%.2f KB", (double)n / 1e3);
    else if (n < 1000000000) snprintf(buf, cap, "%.2f MB", (double)n / 1e6);
    else snprintf(buf, cap, "%.2f GB", (double)n / 1e9);
}

void cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "pippa: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}
