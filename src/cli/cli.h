/* cli.h - subcommands of the pippa binary. Each cmd_* takes argv after the subcommand name
 * (argv[0] is the subcommand) and returns the process exit status (0 ok, 1 error, 2 usage).
 * Thread safety: called from main only. */
#ifndef PIPPA_CLI_H
#define PIPPA_CLI_H

int cli_cmd_inspect(int argc, char **argv);
int cli_cmd_tokenize(int argc, char **argv);

/* Prints "pippa: <msg>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
