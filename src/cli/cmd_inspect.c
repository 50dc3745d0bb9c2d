/* cmd_inspect.c - `pippa inspect FILE.gguf [--json]` (placeholder until the GGUF reader lands). */
#include "cli.h"

int cli_cmd_inspect(int argc, char **argv) {
    (void)argc; (void)argv;
    cli_error("inspect: not built yet");
    return 1;
}
