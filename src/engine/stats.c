/* stats.c - Ollama's --verbose statistics block and Go-style durations (ollama-compat.md §1.4). */
#include "engine_internal.h"

#include <stdio.h>
#include <string.h>

/* Go's time.Duration.String(): seconds and up as [h][m]s with trailing zeros trimmed,
 * below one second in ms, µs or ns. */
static void fmt_frac(char *buf, size_t cap, uint64_t whole, uint64_t frac, int digits, const char *unit) {
    char f[32];
    snprintf(f, sizeof f, "%0*llu", digits, (unsigned long long)frac);
    int n = digits;
    while (n > 0 && f[n - 1] == '0') n--;
    f[n] = 0;
    if (n) snprintf(buf, cap, "%llu.%s%s", (unsigned long long)whole, f, unit);
    else snprintf(buf, cap, "%llu%s", (unsigned long long)whole, unit);
}

void engine_format_duration(uint64_t ns, char *buf, size_t cap) {
    if (ns == 0) { snprintf(buf, cap, "0s"); return; }
    if (ns < 1000ull) { snprintf(buf, cap, "%lluns", (unsigned long long)ns); return; }
    if (ns < 1000000ull) { fmt_frac(buf, cap, ns / 1000, ns % 1000, 3, "\xC2\xB5s"); return; }
    if (ns < 1000000000ull) { fmt_frac(buf, cap, ns / 1000000, ns % 1000000, 6, "ms"); return; }
    uint64_t s = ns / 1000000000ull, frac = ns % 1000000000ull;
    uint64_t h = s / 3600, m = (s / 60) % 60;
    char sec[48];
    fmt_frac(sec, sizeof sec, s % 60, frac, 9, "s");
    if (h) snprintf(buf, cap, "%lluh%llum%s", (unsigned long long)h, (unsigned long long)m, sec);
    else if (m) snprintf(buf, cap, "%llum%s", (unsigned long long)m, sec);
    else snprintf(buf, cap, "%s", sec);
}

void engine_format_stats(const engine_stats *st, char *buf, size_t cap) {
    size_t n = 0;
    char d[64];
#define LINE(...)                                                                        \
    do {                                                                                 \
        if (n < cap) n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__);              \
    } while (0)
    buf[0] = 0;
    if (st->total_duration) { engine_format_duration(st->total_duration, d, sizeof d); LINE("total duration:       %s\n", d); }
    if (st->load_duration) { engine_format_duration(st->load_duration, d, sizeof d); LINE("load duration:        %s\n", d); }
    if (st->prompt_eval_count) LINE("prompt eval count:    %u token(s)\n", st->prompt_eval_count);
    if (st->prompt_eval_duration) {
        engine_format_duration(st->prompt_eval_duration, d, sizeof d);
        LINE("prompt eval duration: %s\n", d);
        LINE("prompt eval rate:     %.2f tokens/s\n", st->prompt_eval_count / (st->prompt_eval_duration * 1e-9));
    }
    if (st->eval_count) LINE("eval count:           %u token(s)\n", st->eval_count);
    if (st->eval_duration) {
        engine_format_duration(st->eval_duration, d, sizeof d);
        LINE("eval duration:        %s\n", d);
        LINE("eval rate:            %.2f tokens/s\n", st->eval_count / (st->eval_duration * 1e-9));
    }
#undef LINE
}
