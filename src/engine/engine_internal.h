/* engine_internal.h - internal to src/engine. */
#ifndef PIPPA_ENGINE_INTERNAL_H
#define PIPPA_ENGINE_INTERNAL_H

#include "engine.h"

/* Ids of <start_of_turn> and <end_of_turn> from the vocab. */
pp_status engine_special_ids(const tok_vocab *v, int32_t *sot, int32_t *eot, pp_err *err);

#endif
