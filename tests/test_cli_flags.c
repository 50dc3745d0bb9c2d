/* test_cli_flags.c - the subcommands' argv parser (src/cli/cli_flags.c): values, booleans,
 * repeated flags, positional arguments and "--", and the one-line messages for unknown
 * flags, missing values and numbers that are not numbers or out of range. */
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_flags.h"

/* stderr of one parse, captured in a temporary file */
static char err_text[4096];
static int saved_fd = -1;
static FILE *cap;

static void capture_begin(void) {
    fflush(stderr);
    cap = tmpfile();
    saved_fd = dup(STDERR_FILENO);
    dup2(fileno(cap), STDERR_FILENO);
}

static void capture_end(void) {
    fflush(stderr);
    dup2(saved_fd, STDERR_FILENO);
    close(saved_fd);
    rewind(cap);
    size_t n = fread(err_text, 1, sizeof err_text - 1, cap);
    err_text[n] = 0;
    fclose(cap);
}

typedef struct params {
    long n, reps;
    bool json;
    const char *out;
    cli_list stops;
    const char *pos[2];
    size_t n_pos;
    int n_fn;
    const char *fn_value;
} params;

static int on_x(void *dest, const char *cmd, const char *flag, const char *value) {
    params *p = dest;
    (void)cmd;
    (void)flag;
    p->n_fn++;
    p->fn_value = value;
    return value && !strcmp(value, "bad") ? 3 : 0;
}

static int parse(params *p, int argc, const char **argv) {
    memset(p, 0, sizeof *p);
    p->n = 512;
    const cli_flag flags[] = {
        {"-n", "--num", CLI_FLAG_LONG, &p->n, 0, 65536, NULL, "count"},
        {"-r", NULL, CLI_FLAG_LONG, &p->reps, 1, 1000, NULL, "repetitions"},
        {"--json", NULL, CLI_FLAG_BOOL, &p->json, 0, 0, NULL, "JSON"},
        {"--out", NULL, CLI_FLAG_STR, &p->out, 0, 0, NULL, "file"},
        {"--stop", NULL, CLI_FLAG_LIST, &p->stops, 0, 0, NULL, "stop"},
        {"-x", NULL, CLI_FLAG_FN, p, 0, 0, on_x, "callback"},
        {"--sw", NULL, CLI_FLAG_SWITCH, p, 0, 0, on_x, "switch"},
    };
    cli_args a = {.cmd = "bench", .usage = "usage: bench", .flags = flags, .n_flags = 7, .pos = p->pos, .max_pos = 2,
                  .n_pos = &p->n_pos};
    capture_begin();
    int rc = cli_flags_parse(&a, argc, (char **)argv);
    capture_end();
    return rc;
}

#define ARGS(...) (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), (const char *[]){__VA_ARGS__}

static void test_values_and_positional(void) {
    params p;
    T_CHECK(parse(&p, ARGS("bench", "m.gguf", "-n", "7", "--json", "--out", "f", "second")) == 0);
    T_CHECK(p.n == 7 && p.json && p.out && !strcmp(p.out, "f"));
    T_CHECK(p.n_pos == 2 && !strcmp(p.pos[0], "m.gguf") && !strcmp(p.pos[1], "second"));
    T_CHECK(parse(&p, ARGS("bench", "--num", "65536")) == 0 && p.n == 65536 && p.n_pos == 0);
    T_CHECK(parse(&p, ARGS("bench")) == 0 && p.n == 512 && !p.json && !p.out);
    T_CHECK_MSG(!err_text[0], "stderr: %s", err_text);
}

static void test_repeated(void) {
    params p;
    T_CHECK(parse(&p, ARGS("bench", "--stop", "a", "--stop", "b b", "-n", "1", "--stop", "c")) == 0);
    T_CHECK(p.stops.n == 3 && !strcmp(p.stops.v[0], "a") && !strcmp(p.stops.v[1], "b b") && !strcmp(p.stops.v[2], "c"));
    /* a repeated value flag: the last one wins */
    T_CHECK(parse(&p, ARGS("bench", "-n", "1", "-n", "2")) == 0 && p.n == 2);
}

static void test_double_dash(void) {
    params p;
    T_CHECK(parse(&p, ARGS("bench", "--", "-n", "--json")) == 0);
    T_CHECK(p.n_pos == 2 && !strcmp(p.pos[0], "-n") && !strcmp(p.pos[1], "--json") && !p.json && p.n == 512);
}

static void test_errors(void) {
    params p;
    T_CHECK(parse(&p, ARGS("bench", "--frob")) == 2);
    T_CHECK_MSG(!strcmp(err_text, "pippa: bench: unknown or incomplete option '--frob'\nusage: bench\n"), "%s", err_text);
    T_CHECK(parse(&p, ARGS("bench", "m", "-r")) == 2); /* a value flag with nothing after it */
    T_CHECK_MSG(!strcmp(err_text, "pippa: bench: unknown or incomplete option '-r'\nusage: bench\n"), "%s", err_text);
    T_CHECK(parse(&p, ARGS("bench", "-r", "0")) == 2);
    T_CHECK_MSG(!strcmp(err_text, "pippa: bench: -r: expected an integer in [1, 1000], got '0'\n"), "%s", err_text);
    T_CHECK(parse(&p, ARGS("bench", "--num", "x")) == 2);
    T_CHECK_MSG(!strcmp(err_text, "pippa: bench: -n: expected an integer in [0, 65536], got 'x'\n"), "%s", err_text);
    T_CHECK(parse(&p, ARGS("bench", "-n", "65537")) == 2);
    T_CHECK(parse(&p, ARGS("bench", "-n", "-1")) == 2);
    T_CHECK(parse(&p, ARGS("bench", "-n", "")) == 2);
    T_CHECK(parse(&p, ARGS("bench", "-n", "12abc")) == 2);
    T_CHECK(parse(&p, ARGS("bench", "-n", "99999999999999999999")) == 2);
    T_CHECK(parse(&p, ARGS("bench", "a", "b", "c")) == 2);
    T_CHECK_MSG(!strcmp(err_text, "pippa: bench: unexpected argument 'c'\nusage: bench\n"), "%s", err_text);
    /* a lone "-" is a flag by default */
    T_CHECK(parse(&p, ARGS("bench", "-")) == 2);
}

static void test_fn_and_help(void) {
    params p;
    T_CHECK(parse(&p, ARGS("bench", "-x", "v")) == 0 && p.n_fn == 1 && !strcmp(p.fn_value, "v"));
    T_CHECK(parse(&p, ARGS("bench", "-x")) == 0 && p.n_fn == 1 && p.fn_value == NULL); /* the callback decides */
    T_CHECK(parse(&p, ARGS("bench", "-x", "bad", "--frob")) == 3); /* its status, before later flags */
    T_CHECK(parse(&p, ARGS("bench", "--json", "--help", "--frob")) == CLI_FLAGS_HELP);
    /* a switch takes no value: the next word stays positional */
    T_CHECK(parse(&p, ARGS("bench", "--sw", "m.gguf")) == 0 && p.n_fn == 1 && !p.fn_value && p.n_pos == 1);
}

static void test_list_limit(void) {
    enum { N = 2 * CLI_LIST_MAX + 2 };
    const char *argv[N + 1];
    argv[0] = "bench";
    for (int i = 0; i < N / 2; i++) argv[1 + 2 * i] = "--stop", argv[2 + 2 * i] = "s";
    params p;
    T_CHECK(parse(&p, N - 1, argv) == 0 && p.stops.n == CLI_LIST_MAX);
    T_CHECK(parse(&p, N + 1, argv) == 2);
    T_CHECK_MSG(strstr(err_text, "--stop: at most 256 values") != NULL, "%s", err_text);
}

int main(void) {
    T_RUN(test_values_and_positional);
    T_RUN(test_repeated);
    T_RUN(test_double_dash);
    T_RUN(test_errors);
    T_RUN(test_fn_and_help);
    T_RUN(test_list_limit);
    return t_finish("cli_flags");
}
