/* cli_run.h - internal to `pippa run` (cmd_run.c, run_repl.c, run_input.c): the conversation
 * it keeps and the terminal input it reads.
 * Thread safety: main's thread only. */
#ifndef PIPPA_CLI_RUN_H
#define PIPPA_CLI_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "../engine/engine.h"

#define RUN_MAX_INPUT (64u << 20) /* bytes read from stdin or one REPL message */

/* The conversation: messages whose contents (and reply ids) the list owns. */
typedef struct cli_msgs {
    engine_msg *v;
    char **owned;      /* content strings we own, parallel to v */
    int32_t **ids;     /* owned reply ids, parallel to v */
    size_t n, cap;
} cli_msgs;

/* Appends a copy of content (and of ids); false on out of memory. */
bool cli_msgs_push(cli_msgs *l, const char *role, const char *content, const int32_t *ids, size_t n_ids);
void cli_msgs_pop(cli_msgs *l);
/* Drops every message, or every one but the system messages. */
void cli_msgs_clear(cli_msgs *l, bool keep_system);
void cli_msgs_free(cli_msgs *l);
/* Replaces the last system message's content, else appends one. */
void cli_msgs_set_system(cli_msgs *l, const char *content);
/* The last system message's content, or NULL. */
const char *cli_msgs_system(const cli_msgs *l);

/* Reads a message: one line, or a """ block (lines until one ending in """); libedit on a
 * terminal, plain stdin otherwise. NULL with *eof at the end of input; NULL without it for
 * a message that could not be read. Caller frees. */
char *cli_read_message(bool tty, bool *eof);
/* The REPL: reads messages until the end of input (a terminal gets a greeting and line
 * editing); a line starting with '/' goes to command (false: leave), any other non-blank one
 * to message. */
void cli_repl_loop(bool (*command)(void *ud, char *line), void (*message)(void *ud, const char *text), void *ud);
/* All of stdin, at most RUN_MAX_INPUT bytes (NULL after printing why). Caller frees. */
char *cli_read_stdin(void);

#endif
