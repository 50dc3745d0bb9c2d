/* cli_env.h - configuration main reads from the environment once, before any command runs,
 * for the commands to pass down as params (nothing below src/cli reads these variables):
 *   PIPPA_NO_REPACK=1  weights stay in the file's layout (engine_model_params.no_repack)
 *   PIPPA_NO_FUSE=1    the FFN's gate, up and GELU as separate steps (.no_fuse)
 * Thread safety: written by main before any command (and so any thread) starts; read-only
 * afterwards. */
#ifndef PIPPA_CLI_ENV_H
#define PIPPA_CLI_ENV_H

#include "../engine/engine.h"

/* Reads the variables above; main calls it once, first. */
void cli_env_load(void);
/* engine_model_default_params() with main's environment applied. */
engine_model_params cli_model_params(void);

#endif
