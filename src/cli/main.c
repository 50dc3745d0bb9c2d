/* main.c - pippa's entry point: reads the kernel configuration, then dispatches subcommands. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "cli_env.h"
#include "../kernels/kern.h"
#include "../store/store.h"

typedef struct cli_command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *usage;
    const char *help;
} cli_command;

static const cli_command COMMANDS[] = {
    {"inspect", cli_cmd_inspect, "inspect FILE.gguf [--json]",
     "Show a GGUF file's metadata, tensors and a one-line summary"},
    {"run", cli_cmd_run, "run MODEL|FILE.gguf [PROMPT] [-p NAME=VALUE]... [--verbose]",
     "Chat with a model (one-shot with a PROMPT or piped stdin, else a REPL)"},
    {"logits", cli_cmd_logits, "logits MODEL --prompt TEXT [--top K] [--positions ...] [--json]",
     "Print the model's logits for a raw prompt (debugging, tests)"},
    {"bench", cli_cmd_bench, "bench MODEL.gguf [-p N] [-n N] [-t THREADS] [-r REPS] [--json]",
     "Measure prompt and generation speed (tokens/s) and read bandwidth"},
    {"quantize", cli_cmd_quantize, "quantize IN.gguf OUT.gguf TYPE [--pure] [-t N] ...",
     "Convert a model to Q4_K_M, Q8_0, ... like llama-quantize (see quantize --help)"},
    {"perplexity", cli_cmd_perplexity, "perplexity MODEL -f TEXT [-c CTX] [--kl-base BASE] [--json]",
     "Perplexity over a text (as llama-perplexity), KL divergence against a base model"},
    {"compare", cli_cmd_compare, "compare A B [C...] -f TEXT [--prompt P] [--html FILE]",
     "Compare models (e.g. quantizations): size, memory, speed, PPL, KLD, answers"},
    {"tokenize", cli_cmd_tokenize, "tokenize MODEL TEXT [--parse-special] [--no-bos] [--json]",
     "Show the token ids of TEXT"},
    {"pull", cli_cmd_pull, "pull MODEL [--insecure]", "Download a model from a registry (Ollama's protocol)"},
    {"create", cli_cmd_create, "create MODEL [-f Modelfile] [--quantize TYPE]", "Create a model from a Modelfile"},
    {"list", cli_cmd_list, "list [PREFIX]", "List models (ours and Ollama's, read-only)"},
    {"ls", cli_cmd_list, "ls [PREFIX]", "Same as list"},
    {"show", cli_cmd_show, "show MODEL [--modelfile|--parameters|--template|--system|--license]",
     "Show a model's information"},
    {"cp", cli_cmd_cp, "cp SOURCE DESTINATION", "Copy a model"},
    {"rm", cli_cmd_rm, "rm MODEL [MODEL...]", "Remove models"},
    {"serve", cli_cmd_serve, "serve [--model NAME=PATH.gguf]...", "Start the Ollama/OpenAI-compatible API server"},
    {"ps", cli_cmd_ps, "ps", "List the models the running server has loaded"},
    {"stop", cli_cmd_stop, "stop MODEL", "Unload a model from the running server"},
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void print_help(FILE *out) {
    fprintf(out, "pippa %s - run Gemma 3 models from GGUF files\n\nUsage:\n", PIPPA_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strlen(COMMANDS[i].usage) <= 44) fprintf(out, "  pippa %-44s %s\n", COMMANDS[i].usage, COMMANDS[i].help);
        else fprintf(out, "  pippa %s\n  %-50s %s\n", COMMANDS[i].usage, "", COMMANDS[i].help);
    }
    fprintf(out, "  pippa %-44s %s\n", "help", "Show this help");
    fprintf(out, "  pippa %-44s %s\n", "--version", "Show the version");
    fprintf(out, "  pippa %-44s %s\n", "COMMAND ... --kernels NAME",
            "Any command with kernel set NAME: auto, generic, avx2, ... (or PIPPA_KERNELS)");
}

/* The kernel set enters here, once, before any command runs and before any thread exists:
 * PIPPA_KERNELS, overridden by a global `--kernels NAME` anywhere in argv before a `--`
 * (taken out of argv, so each command parses only its own options; a prompt word that is
 * literally "--kernels" goes after `--`). Returns 0, or 2 after a one-line error. */
typedef struct kernels_choice {
    const char *name, *from;   /* NULL/empty name: auto */
} kernels_choice;

static int take_kernels_flag(int *argc, char **argv, kernels_choice *kc) {
    kc->name = getenv("PIPPA_KERNELS");
    kc->from = "PIPPA_KERNELS";
    int j = 0, i = 0;
    for (; i < *argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--kernels") != 0) {
            argv[j++] = argv[i];
            continue;
        }
        if (i + 1 >= *argc) {
            cli_error("--kernels needs a NAME (auto, generic, avx2, ...)");
            return 2;
        }
        kc->name = argv[++i];
        kc->from = "--kernels";
    }
    while (i < *argc) argv[j++] = argv[i++];
    *argc = j;
    argv[j] = NULL;
    return 0;
}

static int init_kernels(const kernels_choice *kc) {
    kern_isa isa = KERN_ISA_AUTO;
    pp_err err = {0};
    if (kc->name && kc->name[0] && kern_isa_parse(kc->name, &isa, &err) != PP_OK) {
        cli_error("%s: %s", kc->from, err.msg);
        return 2;
    }
    kern_init(isa);
    return 0;
}

int main(int argc, char **argv) {
    cli_env_load();
    pp_err net_err = {0};
    if (store_global_init(&net_err) != PP_OK) {
        cli_error("%s", net_err.msg);
        return 1;
    }
    kernels_choice kc;
    int rc = take_kernels_flag(&argc, argv, &kc);
    if (rc) return rc;
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    /* help and the version need no kernels (so a bad PIPPA_KERNELS cannot hide them) */
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        print_help(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-v") || !strcmp(cmd, "version")) {
        printf("pippa version %s\n", PIPPA_VERSION);
        return 0;
    }
    if ((rc = init_kernels(&kc))) return rc;
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(cmd, COMMANDS[i].name)) return COMMANDS[i].fn(argc - 1, argv + 1);
    cli_error("unknown command '%s' (see 'pippa help')", cmd);
    return 2;
}
