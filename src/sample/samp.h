/* samp.h - token sampler: repetition penalties, top_k, typical_p, top_p, min_p, temperature
 * and a seeded random draw, with Ollama's option names and defaults.
 *
 * Usage:
 *     samp_params p = samp_default_params();
 *     if (samp_params_set(&p, "top_k", "64", &err) != PP_OK) die(err.msg); // /set parameter
 *     samp_params_resolve_ctx(&p, n_ctx);        // repeat_last_n -1 -> num_ctx
 *     samp *s;
 *     if (samp_init(p, n_vocab, &s, &err) != PP_OK) die(err.msg);
 *     for (i = 0; i < n_prompt; i++) samp_accept(s, prompt[i]);  // penalties see the prompt
 *     for (;;) {
 *         ... logits = forward(...) ...
 *         if (samp_sample(s, logits, &tok, &err) != PP_OK) die(err.msg);
 *         samp_accept(s, tok);
 *     }
 *     fprintf(stderr, "seed %lld\n", (long long)samp_seed(s));   // replay with seed=N
 *     samp_free(s);
 *
 * Thread safety: a samp object is used by one thread at a time (it holds the PRNG state,
 * the history and the scratch); different samp objects are independent. The params
 * functions are reentrant.
 *
 * The chain (mirrors llama.cpp's default sampler order "penalties, top_k, typical_p, top_p,
 * min_p, temperature, dist", with DRY/XTC/top-n-sigma absent because Ollama has no such
 * options; ref: llama.cpp common/common.h common_params_sampling::samplers,
 * src/llama-sampler.cpp):
 *   1. penalties, over the DISTINCT tokens among the last repeat_last_n accepted tokens,
 *      each with count c >= 1 in that window:
 *          logit = logit <= 0 ? logit * repeat_penalty : logit / repeat_penalty
 *          logit -= c * frequency_penalty + presence_penalty
 *      (skipped when repeat_last_n == 0 or all three are neutral: 1, 0, 0).
 *   2. temperature <= 0: greedy. Returns the argmax of the penalized logits, ties -> lowest id.
 *      Nothing below runs and the PRNG is not advanced.
 *   3. top_k (k <= 0 or k >= n_vocab: off): the k highest logits (ties -> lowest id), found
 *      with a size-k heap in one pass, then sorted descending. O(n_vocab + k log k).
 *   4. typical_p (>= 1: off): locally typical sampling over softmax(logits) of the survivors:
 *      order by |-log p_i - H| ascending, keep the shortest prefix with cumulative p > typical_p
 *      (sorts all survivors: O(n log n) when top_k is off).
 *   5. top_p (>= 1: off): p_i = softmax(logits) of the survivors at temperature 1; keep the
 *      shortest prefix of the descending order whose cumulative probability is >= top_p (at
 *      least one token). After top_k this walks the sorted list; without top_k a histogram of
 *      the mass by logit finds the boundary and only the boundary bucket is sorted, O(n).
 *   6. min_p (<= 0: off): keep p_i >= min_p * p_max, i.e. logit >= max_logit + log(min_p).
 *   7. temperature: the draw uses softmax((logit - max_logit) / temperature) over the
 *      survivors, renormalized.
 *   8. draw: u uniform in [0,1) (53 bits of xoshiro256**); the first survivor whose
 *      cumulative weight exceeds u * sum is chosen, walking the survivors in this order:
 *      descending logit (ties: lower id) when top_k is on; else typical_p's order when
 *      typical_p is on; else ascending id. The filters never reorder otherwise.
 *   Consistency note: as in llama.cpp, top_p, typical_p and min_p see probabilities at
 *   temperature 1 (the raw, penalized logits); temperature only reshapes the distribution
 *   among the tokens that survived them. So with temperature 2 the kept set is the same as
 *   with temperature 0.5; only the draw weights differ.
 *
 * History: samp_accept pushes one token into a ring of the last repeat_last_n tokens. Like
 * llama.cpp's server ("push the prompt into the sampling context"), the engine accepts the
 * prompt tokens too, so penalties apply to tokens that appear in the prompt.
 *
 * Non-finite logits: NaN is treated as -inf, +inf as FLT_MAX; if no finite value remains,
 * samp_sample fails with PP_ERR_ARG.
 *
 * Memory: samp_init allocates everything once (2 x n_vocab candidates, an n_vocab work copy
 * of the logits, n_vocab counts, the history ring: about 36 bytes x n_vocab); samp_sample and samp_accept never allocate.
 */
#ifndef PIPPA_SAMP_H
#define PIPPA_SAMP_H

#include "../core/core.h"

/* Ollama's server defaults (shared/spec/ollama-compat.md §2.3, snapshot v0.33.0-rc2).
 * repeat_penalty is 1.0 since Ollama v0.32.10 (it was 1.1 before). */
#define SAMP_DEFAULT_TEMPERATURE 0.8f
#define SAMP_DEFAULT_TOP_K 40
#define SAMP_DEFAULT_TOP_P 0.9f
#define SAMP_DEFAULT_MIN_P 0.0f
#define SAMP_DEFAULT_TYPICAL_P 1.0f
#define SAMP_DEFAULT_REPEAT_PENALTY 1.0f
#define SAMP_DEFAULT_REPEAT_LAST_N 64
/* The history ring never holds more than this many tokens (a window larger than any
 * context; a bigger repeat_last_n is accepted and behaves as this). */
#define SAMP_HISTORY_MAX (1 << 22)
/* Largest accepted vocabulary (Gemma 3 has 262144). */
#define SAMP_VOCAB_MAX (1 << 24)

typedef struct samp_params {
    float temperature;       /* 0.8; <= 0: greedy; must be >= 0 */
    int32_t top_k;           /* 40; 0: off; must be >= 0 */
    float top_p;             /* 0.9; in [0, 1]; 1: off */
    float min_p;             /* 0.0; in [0, 1]; 0: off */
    float typical_p;         /* 1.0; in [0, 1]; 1: off */
    float repeat_penalty;    /* 1.0; > 0; 1: off */
    int32_t repeat_last_n;   /* 64 tokens; 0: off; -1: num_ctx (see samp_params_resolve_ctx) */
    float presence_penalty;  /* 0.0; any finite value */
    float frequency_penalty; /* 0.0; any finite value */
    int64_t seed;            /* -1; < 0: a random seed from the OS, see samp_seed */
} samp_params;

typedef struct samp samp;

samp_params samp_default_params(void);

/* The sampler's rows of the options table (engine.h, engine_opt_*): each option's name,
 * type, range and field in samp_params; defaults are samp_default_params()'s. */
typedef enum samp_opt_id {
    SAMP_OPT_TEMPERATURE, SAMP_OPT_TOP_K, SAMP_OPT_TOP_P, SAMP_OPT_MIN_P, SAMP_OPT_TYPICAL_P,
    SAMP_OPT_REPEAT_PENALTY, SAMP_OPT_REPEAT_LAST_N, SAMP_OPT_PRESENCE_PENALTY,
    SAMP_OPT_FREQUENCY_PENALTY, SAMP_OPT_SEED, SAMP_OPT_COUNT
} samp_opt_id;
/* The row of id (static; id < SAMP_OPT_COUNT). */
const pp_opt *samp_opt_get(samp_opt_id id);

/* Checks every field. Errors name the option:
 * "option 'top_p': 1.5 is outside [0, 1]", "option 'temperature': -1 must be >= 0". */
pp_status samp_params_validate(const samp_params *p, pp_err *err);

/* Sets one option from text (Modelfile PARAMETER, `/set parameter NAME VALUE`,
 * `-p NAME=VALUE`). Names: temperature, top_k, top_p, min_p, typical_p, repeat_penalty,
 * repeat_last_n, presence_penalty, frequency_penalty, seed. The value must be a whole
 * integer or number ("option 'top_k': expected integer, got '4x'") and in range (same
 * messages as samp_params_validate). Any other name (including num_ctx, num_predict, stop,
 * num_keep, ... which the engine handles itself before calling this) gives PP_ERR_NOT_FOUND
 * "unknown parameter 'foo'". On error *p is unchanged. */
pp_status samp_params_set(samp_params *p, const char *name, const char *value, pp_err *err);

/* Replaces repeat_last_n == -1 ("the whole context") with n_ctx. samp_init treats a
 * remaining -1 as SAMP_HISTORY_MAX. */
void samp_params_resolve_ctx(samp_params *p, int32_t n_ctx);

/* Validates p and allocates a sampler for a vocabulary of n_vocab tokens (1..SAMP_VOCAB_MAX).
 * When p.seed < 0 the seed is drawn from the OS (getrandom, else /dev/urandom), in
 * [0, 2^31). The caller frees *out with samp_free. */
pp_status samp_init(samp_params p, int32_t n_vocab, samp **out, pp_err *err);
void samp_free(samp *s);

/* Starts a new request: clears the history and restarts the PRNG, from p.seed when it was
 * given (so a fixed seed replays each request), else from a fresh seed derived from the
 * current PRNG state (reported by samp_seed). Like llama.cpp's server, which builds a new
 * sampler for each request. */
void samp_reset(samp *s);

/* Pushes token into the penalty history (the oldest falls out after repeat_last_n).
 * PP_ERR_ARG (and nothing recorded) when token is outside [0, n_vocab). Never allocates. */
pp_status samp_accept(samp *s, int32_t token);

/* Picks the next token from logits[n_vocab] (borrowed, not modified) with the chain above.
 * Advances the PRNG by one draw unless greedy. Never allocates. */
pp_status samp_sample(samp *s, const float *logits, int32_t *out_token, pp_err *err);

/* Same chain with the uniform draw u in [0, 1) given by the caller (tests, replay); the
 * PRNG is not touched. */
pp_status samp_sample_u(samp *s, const float *logits, double u, int32_t *out_token,
                        pp_err *err);

/* The seed actually in use (the OS-drawn one when p.seed < 0). */
int64_t samp_seed(const samp *s);
/* The validated params the sampler was built with (repeat_last_n as given). */
samp_params samp_get_params(const samp *s);

#endif
