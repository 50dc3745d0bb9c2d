/* engine_internal.h - internal to src/engine (and its tests). */
#ifndef PIPPA_ENGINE_INTERNAL_H
#define PIPPA_ENGINE_INTERNAL_H

#include <stdatomic.h>

#include "engine.h"

/* Ids of <start_of_turn> and <end_of_turn> from the vocab. */
pp_status engine_special_ids(const tok_vocab *v, int32_t *sot, int32_t *eot, pp_err *err);

/* The prompt engine_chat evaluates: msgs rendered with the generation prompt, with the
 * oldest exchanges dropped (system messages kept, the last message never dropped) until it
 * leaves room to answer (a quarter of n_ctx, at most 1024 tokens) or only the last message
 * is left. Each piece is tokenized once and the prompt assembled once (chat.c). */
typedef struct engine_fit {
    int32_t *ids;         /* caller frees */
    size_t n_ids;
    size_t first;         /* msgs[first..n) are kept, and the system messages before it */
    uint32_t dropped;     /* messages before first (system ones included, as counted before) */
    uint64_t n_encode;    /* tokenizer calls made (tests check it is linear in n) */
} engine_fit;
/* cancel (optional) is polled between steps: PP_ERR_CANCELLED when set. The result may
 * still not fit n_ctx: the caller checks (engine_session_check_fit). */
pp_status engine_chat_fit(const tok_vocab *v, const engine_msg *msgs, size_t n, uint32_t n_ctx,
                          const atomic_bool *cancel, engine_fit *out, pp_err *err);

#endif
