/* cmd_create.c - `pippa create NAME [-f Modelfile] [--quantize TYPE]` (ollama-compat.md
 * §1.2, §2): parses the Modelfile here and builds the model with store_create. */
#include "cli.h"
#include "cli_flags.h"
#include "cli_model.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gguf/gguf.h"
#include "../quant/quant.h"

#define USAGE_TEXT "usage: pippa create MODEL [-f Modelfile] [-q|--quantize TYPE]"
static const char USAGE[] = USAGE_TEXT;

/* store_convert_fn: the whole file through the quant module (what `pippa quantize` runs);
 * already quantized tensors are refused, as Ollama only quantizes F32/F16/BF16 models. */
static pp_status quantize_model(const char *in_path, const char *out_path, void *ud, pp_err *err) {
    quant_ftype ft = *(const quant_ftype *)ud;
    gguf_file *in = NULL;
    quant_plan *plan = NULL;
    if (gguf_open(in_path, &in, err) != PP_OK) return err->status;
    quant_file_params qp = quant_file_default_params();
    qp.recipe.ftype = ft;
    pp_status st = quant_plan_init(in, qp, &plan, err);
    if (st != PP_OK && strstr(err->msg, "requantize"))
        st = pp_err_set(err, st, "--quantize needs an F32, F16 or BF16 model; %s is already quantized", in_path);
    if (st == PP_OK) {
        printf("quantizing model to %s\n", quant_ftype_name(ft));
        fflush(stdout);
        quant_file_stats stats;
        st = quant_plan_write(plan, out_path, &stats, err);
    }
    quant_plan_free(plan);
    gguf_close(in);
    return st;
}

static void print_status(const char *line, void *ud) {
    (void)ud;
    printf("%s\n", line);
    fflush(stdout);
}

static int flag_file(void *dest, const char *cmd, const char *flag, const char *value) {
    if (!value) { cli_error("%s: %s needs a file\n%s", cmd, flag, USAGE); return 2; }
    *(const char **)dest = value;
    return 0;
}

static int flag_type(void *dest, const char *cmd, const char *flag, const char *value) {
    if (!value) { cli_error("%s: %s needs a type\n%s", cmd, flag, USAGE); return 2; }
    *(const char **)dest = value;
    return 0;
}

int cli_cmd_create(int argc, char **argv) {
    const char *name = NULL, *file = "Modelfile", *quant = NULL;
    const cli_flag flags[] = {
        {"-f", "--file", CLI_FLAG_FN, &file, 0, 0, flag_file, "the Modelfile"},
        {"-q", "--quantize", CLI_FLAG_FN, &quant, 0, 0, flag_type, "quantize an F32/F16/BF16 model"},
    };
    cli_args a = {.cmd = "create", .usage = USAGE, .flags = flags, .n_flags = sizeof flags / sizeof flags[0],
                  .pos = &name, .max_pos = 1, .unknown = "unknown option '%s'\n%s",
                  .too_many = "create: one MODEL only\n" USAGE_TEXT};
    int prc = cli_flags_parse(&a, argc, argv);
    if (prc) return prc == CLI_FLAGS_HELP ? 0 : prc;
    if (!name) { cli_error("create: missing MODEL\n%s", USAGE); return 2; }
    pp_err err = {0};
    store_name n;
    if (store_name_parse(name, &n, &err) != PP_OK) { cli_error("%s", err.msg); return 1; }
    quant_ftype ftype = QUANT_FTYPE_ALL_F32;
    if (quant && quant_ftype_from_name(quant, &ftype, &err) != PP_OK) {
        cli_error("create: --quantize: %s", err.msg);
        return 2;
    }
    char *text = NULL;
    size_t len = 0;
    if (pp_read_file(file, &text, &len, 64u << 20, &err) != PP_OK) { cli_error("%s", err.msg); return 1; }
    store_modelfile mf;
    pp_status st = store_modelfile_parse(text, len, file, catalog_param_lookup, &mf, &err);
    free(text);
    if (st != PP_OK) { cli_error("%s", err.msg); return 1; }
    if (mf.warnings[0]) fputs(mf.warnings, stderr);
    char *dirbuf = strdup(file);
    store *s = NULL;
    int rc = 0;
    if (!dirbuf || cli_store_open(&s)) { rc = 1; goto out; }
    store_create_params p = store_create_default_params();
    p.modelfile_dir = dirname(dirbuf);
    p.gguf_info = catalog_gguf_info;
    p.param = catalog_param_lookup;
    p.status = print_status;
    if (quant) {
        p.convert = quantize_model;
        p.ud = &ftype;
    }
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
