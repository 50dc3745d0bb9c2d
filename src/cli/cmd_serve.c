/* cmd_serve.c - `pippa serve [--model NAME=PATH]...`: runs the Ollama/OpenAI HTTP API
 * (src/server) until SIGTERM or SIGINT, then shuts down cleanly (every model unloaded,
 * every thread joined). Configuration comes from the environment (server.h,
 * api_server_params_from_env); signals are blocked in all threads and taken with sigwait
 * in main, so no handler runs inside the server. */
#include "cli.h"
#include "cli_env.h"
#include "cli_flags.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../server/server.h"

static const char USAGE[] = "usage: pippa serve [--model NAME=PATH.gguf]...";

/* --model NAME=PATH: a model served under NAME without the store. */
static int flag_model(void *dest, const char *cmd, const char *flag, const char *value) {
    (void)cmd;
    (void)flag;
    api_server_params *p = dest;
    if (!value) return CLI_FLAGS_MISSING;
    char *eq = strchr(value, '=');
    if (!eq || eq == value || !eq[1]) {
        cli_error("serve: --model expects NAME=PATH, got '%s'", value);
        return 2;
    }
    if (p->n_registered >= API_MAX_REGISTERED) {
        cli_error("serve: at most %d --model options", API_MAX_REGISTERED);
        return 2;
    }
    *eq = 0; /* argv's own bytes: NAME ends here */
    p->reg_name[p->n_registered] = value;
    p->reg_path[p->n_registered++] = eq + 1;
    return 0;
}

int cli_cmd_serve(int argc, char **argv) {
    pp_err err = {0};
    api_server_params p = api_server_default_params();
    p.no_repack = cli_model_params().no_repack;
    p.no_fuse = cli_model_params().no_fuse;
    if (api_server_params_from_env(&p, &err)) {
        cli_error("serve: %s", err.msg);
        return 2;
    }
    const cli_flag flags[] = {
        {"--model", NULL, CLI_FLAG_FN, &p, 0, 0, flag_model, "register NAME=PATH.gguf (repeatable)"},
    };
    cli_args a = {.cmd = "serve", .usage = USAGE, .flags = flags, .n_flags = 1,
                  .unknown = "unknown argument '%s'\n%s", .too_many = "serve: unknown argument '%s'\n%s"};
    int rc = cli_flags_parse(&a, argc, argv);
    if (rc) return rc == CLI_FLAGS_HELP ? 0 : rc;
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
