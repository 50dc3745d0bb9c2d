/* fuzz_util.h - shared bits of the libFuzzer targets: the entry point's prototype, a sink
 * that keeps reads alive, and a NUL-terminated copy of the input. */
#ifndef PIPPA_FUZZ_UTIL_H
#define PIPPA_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t fuzz_sink;

/* Touches every byte of s (so ASan sees an out-of-bounds string). */
static inline void fuzz_touch(const char *s) {
    if (!s) return;
    uint64_t h = 0;
    for (; *s; s++) h += (uint8_t)*s;
    fuzz_sink += h;
}

/* The input as a C string (may hold NULs before its end); NULL on OOM. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return NULL;
    if (size) memcpy(s, data, size);
    s[size] = 0;
    return s;
}

#endif
