/* cli.h - subcommands of the pippa binary. Each cmd_* takes argv after the subcommand name
 * (argv[0] is the subcommand) and returns the process exit status (0 ok, 1 error, 2 usage).
 * Thread safety: called from main only. */
#ifndef PIPPA_CLI_H
#define PIPPA_CLI_H

#include <stddef.h>
#include <stdint.h>

int cli_cmd_inspect(int argc, char **argv);
int cli_cmd_tokenize(int argc, char **argv);

int cli_cmd_run(int argc, char **argv);
int cli_cmd_logits(int argc, char **argv);
int cli_cmd_bench(int argc, char **argv);
int cli_cmd_quantize(int argc, char **argv);
int cli_cmd_perplexity(int argc, char **argv);
int cli_cmd_compare(int argc, char **argv);

/* the model store (cmd_store.c, cmd_create.c, cmd_pull.c) */
int cli_cmd_list(int argc, char **argv);
int cli_cmd_show(int argc, char **argv);
int cli_cmd_rm(int argc, char **argv);
int cli_cmd_cp(int argc, char **argv);
int cli_cmd_create(int argc, char **argv);
int cli_cmd_pull(int argc, char **argv);
int cli_cmd_serve(int argc, char **argv);
int cli_cmd_ps(int argc, char **argv);
int cli_cmd_stop(int argc, char **argv);

/* 6751232 -> "6.75M" (K/M/B, two decimals). */
void cli_fmt_params(uint64_t n, char *buf, size_t cap);
/* 5428160 -> "5.43 MB" (decimal units). */
void cli_fmt_size(uint64_t n, char *buf, size_t cap);

/* Prints "pippa: <msg>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
