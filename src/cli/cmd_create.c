/* cmd_create.c - `pippa create NAME [-f Modelfile] [--quantize TYPE]` (ollama-compat.md
 * §1.2, §2): parses the Modelfile here and builds the model with store_create. */
#include "cli.h"
#include "cli_model.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] = "usage: pippa create MODEL [-f Modelfile] [--quantize TYPE]";

static void print_status(const char *line, void *ud) {
    (void)ud;
    printf("%s\n", line);
    fflush(stdout);
}

int cli_cmd_create(int argc, char **argv) {
    const char *name = NULL, *file = "Modelfile", *quant = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
            if (++i >= argc) { cli_error("create: %s needs a file\n%s", a, USAGE); return 2; }
            file = argv[i];
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quantize")) {
            if (++i >= argc) { cli_error("create: %s needs a type\n%s", a, USAGE); return 2; }
            quant = argv[i];
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            puts(USAGE);
            return 0;
        } else if (a[0] == '-') {
            cli_error("create: unknown option '%s'\n%s", a, USAGE);
            return 2;
        } else if (!name) {
            name = a;
        } else {
            cli_error("create: one MODEL only\n%s", USAGE);
            return 2;
        }
    }
    if (!name) { cli_error("create: missing MODEL\n%s", USAGE); return 2; }
    pp_err err = {0};
    store_name n;
    if (store_name_parse(name, &n, &err) != PP_OK) { cli_error("%s", err.msg); return 1; }
    if (quant) {
        /* TODO: use the quant module's file quantizer once `pippa quantize` (branch qz) lands */
        cli_error("create: --quantize is not supported yet; quantize the GGUF first and name it in FROM");
        return 1;
    }
    char *text = NULL;
    size_t len = 0;
    if (pp_read_file(file, &text, &len, 64u << 20, &err) != PP_OK) { cli_error("%s", err.msg); return 1; }
    store_modelfile mf;
    pp_status st = store_modelfile_parse(text, len, file, &mf, &err);
    free(text);
    if (st != PP_OK) { cli_error("%s", err.msg); return 1; }
    if (mf.warnings[0]) fputs(mf.warnings, stderr);
    char *dirbuf = strdup(file);
    store *s = NULL;
    int rc = 0;
    if (!dirbuf || cli_store_open(&s)) { rc = 1; goto out; }
    store_create_params p = store_create_default_params();
    p.modelfile_dir = dirname(dirbuf);
    p.gguf_info = cli_gguf_info;
    p.status = print_status;
    printf("gathering model components\n");
    if (store_create(s, name, &mf, p, &err) != PP_OK) {
        cli_error("create '%s': %s", name, err.msg);
        rc = 1;
    }
out:
    store_close(s);
    free(dirbuf);
    store_modelfile_free(&mf);
    return rc;
}
