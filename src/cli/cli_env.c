/* cli_env.c - the configuration main reads from the environment once (cli_env.h). It lives
 * outside main.c so that the CLI unit tests, which link every CLI object but main's, see it. */
#include "cli_env.h"

#include <stdlib.h>
#include <string.h>

/* Written once by cli_env_load, before any command (and so any thread) runs. */
static engine_model_params model_params;

/* A switch variable: set, non-empty and not "0". */
static bool env_flag(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

void cli_env_load(void) {
    model_params = engine_model_default_params();
    model_params.no_repack = env_flag("PIPPA_NO_REPACK");
    model_params.no_fuse = env_flag("PIPPA_NO_FUSE");
}

engine_model_params cli_model_params(void) { return model_params; }
