/* cmd_serve.c - `pippa serve [--model NAME=PATH]...`: runs the Ollama/OpenAI HTTP API
 * (src/server) until SIGTERM or SIGINT, then shuts down cleanly (every model unloaded,
 * every thread joined). Configuration comes from the environment (server.h,
 * api_server_params_from_env); signals are blocked in all threads and taken with sigwait
 * in main, so no handler runs inside the server. */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../server/server.h"
#include "cli_env.h"

static const char USAGE[] = "usage: pippa serve [--model NAME=PATH.gguf]...";

int cli_cmd_serve(int argc, char **argv) {
    pp_err err = {0};
    api_server_params p = api_server_default_params();
    if (api_server_params_from_env(&p, &err)) {
        cli_error("serve: %s", err.msg);
        return 2;
    }
    p.no_repack = cli_model_params().no_repack;
    p.no_fuse = cli_model_params().no_fuse;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            char *eq = strchr(argv[++i], '=');
            if (!eq || eq == argv[i] || !eq[1]) {
                cli_error("serve: --model expects NAME=PATH, got '%s'", argv[i]);
                return 2;
            }
            if (p.n_registered >= API_MAX_REGISTERED) {
                cli_error("serve: at most %d --model options", API_MAX_REGISTERED);
                return 2;
            }
            *eq = 0;
            p.reg_name[p.n_registered] = argv[i];
            p.reg_path[p.n_registered++] = eq + 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s\n", USAGE);
            return 0;
        } else {
            cli_error("serve: unknown argument '%s'\n%s", argv[i], USAGE);
            return 2;
        }
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by every server thread */
    signal(SIGPIPE, SIG_IGN);
    api_server *srv = NULL;
    if (api_server_start(&p, &srv, &err)) {
        cli_error("serve: %s", err.msg);
        return 1;
    }
    fprintf(stderr, "pippa %s listening on %s:%u\n", PIPPA_VERSION, p.host, api_server_port(srv));
    fflush(stderr);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "pippa: %s, shutting down\n", sig == SIGINT ? "interrupt" : "terminated");
    api_server_stop(srv);
    fprintf(stderr, "pippa: stopped\n");
    return 0;
}
