/* arena.c - bump allocator: one block reserved up front, freed as a whole.
 * Activations, KV cache and scratch come from here so the token loop never allocates. */
#include "core.h"

#include <stdlib.h>

pp_status pp_arena_init(pp_arena *a, size_t size, pp_err *err) {
    a->base = NULL;
    a->size = a->used = 0;
    if (size == 0) return PP_OK;
    void *p = NULL;
    if (posix_memalign(&p, 64, size) != 0 || !p)
        return pp_err_set(err, PP_ERR_NOMEM, "cannot allocate %zu bytes of working memory", size);
    a->base = p;
    a->size = size;
    return PP_OK;
}

void *pp_arena_alloc(pp_arena *a, size_t size, size_t align) {
    if (align < 1) align = 1;
    size_t start = (a->used + align - 1) & ~(align - 1);
    if (start < a->used || start > a->size || size > a->size - start) return NULL;
    a->used = start + size;
    return a->base + start;
}

void pp_arena_free(pp_arena *a) {
    if (!a) return;
    free(a->base);
    a->base = NULL;
    a->size = a->used = 0;
}
