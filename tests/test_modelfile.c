/* test_modelfile.c - Modelfile text written by the store (store_mf_print.c) read back by its
 * parser: each quoting form, the parameter value that used to inject a SYSTEM line, random
 * Modelfiles (values drawn from an alphabet of newlines, quotes, backslashes, triple quotes,
 * blanks and instruction-like text; parameters from the options table) through
 * print -> parse (= the same Modelfile) and parse -> print -> parse, and stored models
 * through show's text and create again (= the same manifest, byte for byte). */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/catalog/catalog.h"
#include "../src/store/store.h"

static pp_status parse(const char *text, store_modelfile *mf, pp_err *err) {
    return store_modelfile_parse(text, strlen(text), "Modelfile", catalog_param_lookup, mf, err);
}

static bool str_eq(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

/* Same instructions and values (warnings and line numbers aside); why names the difference. */
static bool mf_eq(const store_modelfile *a, const store_modelfile *b, const char **why) {
    *why = "FROM";
    if (!str_eq(a->from, b->from)) return false;
    *why = "TEMPLATE";
    if (!str_eq(a->tmpl, b->tmpl)) return false;
    *why = "SYSTEM";
    if (!str_eq(a->system, b->system)) return false;
    *why = "REQUIRES";
    if (!str_eq(a->requires, b->requires)) return false;
    *why = "PARAMETER";
    if (a->n_params != b->n_params) return false;
    for (size_t i = 0; i < a->n_params; i++)
        if (strcmp(a->params[i].key, b->params[i].key) || strcmp(a->params[i].value, b->params[i].value)) return false;
    *why = "MESSAGE";
    if (a->n_messages != b->n_messages) return false;
    for (size_t i = 0; i < a->n_messages; i++)
        if (strcmp(a->messages[i].key, b->messages[i].key) || strcmp(a->messages[i].value, b->messages[i].value))
            return false;
    *why = "LICENSE";
    if (a->n_licenses != b->n_licenses) return false;
    for (size_t i = 0; i < a->n_licenses; i++)
        if (strcmp(a->licenses[i], b->licenses[i])) return false;
    return true;
}

static char *quoted(const char *v) {
    store_buf b = {0};
    store_modelfile_quote(&b, v);
    store_buf_add(&b, "", 1);
    return b.p;
}

/* Each form, and each value read back from `SYSTEM <quoted>`. */
static void test_quote_forms(void) {
    static const struct { const char *v, *q; } C[] = {
        {"plain text", "plain text"},
        {"", "\"\""},
        {" lead", "\" lead\""},
        {"trail ", "\"trail \""},
        {"\ttab", "\"\ttab\""},
        {"a\nb", "\"a\nb\""},
        {"a\rb", "\"a\rb\""},
        {"\"start", "\"\"\"\"start\"\"\""},
        {"say \"hi\"\nbye", "\"\"\"say \"hi\"\nbye\"\"\""},
        {"back\\slash\n", "\"\"\"back\\slash\n\"\"\""},
        {"in \"\"\" side\n", "\"in \\\"\\\"\\\" side\n\""},
        {"ends in a quote\"\n", "\"\"\"ends in a quote\"\n\"\"\""},
        {" ends in a quote\"", "\" ends in a quote\\\"\""},
        {"\"", "\"\\\"\""},
        {"\\", "\\"},
        {"mid \"\"\" bare", "mid \"\"\" bare"},
        {"# not a comment", "# not a comment"},
        {"\"\"\"", "\"\\\"\\\"\\\"\""},
        {"\n", "\"\n\""},
    };
    for (size_t i = 0; i < sizeof C / sizeof *C; i++) {
        char *q = quoted(C[i].v);
        T_CHECK_MSG(q && !strcmp(q, C[i].q), "case %zu: quoted as [%s]", i, q ? q : "(null)");
        char text[256];
        snprintf(text, sizeof text, "FROM x\nSYSTEM %s\nPARAMETER stop %s\n", q ? q : "", q ? q : "");
        store_modelfile mf;
        pp_err err = {0};
        T_CHECK_MSG(parse(text, &mf, &err) == PP_OK, "case %zu: %s", i, err.msg);
        if (!err.status) {
            T_CHECK_MSG(str_eq(mf.system, C[i].v) && mf.n_params == 1 && !strcmp(mf.params[0].value, C[i].v),
                        "case %zu: read back as [%s]", i, mf.system ? mf.system : "(null)");
            store_modelfile_free(&mf);
        }
        free(q);
    }
}

/* The issue's report: a stop value with a newline became two lines, the second a SYSTEM. */
static void test_param_injection(void) {
    const char *t = "FROM x\nPARAMETER stop \"a\nSYSTEM injected by a parameter value\"\nPARAMETER stop \"a\nPARAM\"\n";
    store_modelfile a, b;
    pp_err err = {0};
    T_CHECK(parse(t, &a, &err) == PP_OK);
    if (err.status) return;
    char *text = NULL;
    T_CHECK(store_modelfile_print(&a, &text, NULL, &err) == PP_OK);
    T_CHECK_MSG(text && parse(text, &b, &err) == PP_OK, "%s\n%s", err.msg, text ? text : "");
    if (!err.status) {
        const char *why;
        T_CHECK_MSG(!b.system && mf_eq(&a, &b, &why), "%s differs:\n%s", why, text);
        store_modelfile_free(&b);
    }
    free(text);
    store_modelfile_free(&a);
}

/* ---- random Modelfiles ---- */

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(uint32_t n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)((rng >> 16) % n);
}

static const char *const ATOMS[] = {
    "a", "Z", "0", " ", "  ", "\t", "\n", "\r", "\r\n", "\"", "\\", "\"\"\"", "\"\"", "\\\"", "\\\\", "#", "é",
    "\v", "\f", "{{ .Prompt }}", "\nSYSTEM injected", "\nPARAMETER stop x", "\n\"\"\"\nMESSAGE user hi",
    "<end_of_turn>", "'", "`", "\x7f", "\xff"}; /* the last: invalid UTF-8 */
#define N_ATOMS (sizeof ATOMS / sizeof *ATOMS)

/* Whether rand_text may use the invalid UTF-8 atom: the JSON layers (params, messages) store
 * U+FFFD for it, as Go's encoding/json does, so a store round trip compares UTF-8 only. */
static bool g_invalid_utf8 = true;

static char *rand_text(size_t max_atoms) {
    store_buf b = {0};
    size_t n = rnd((uint32_t)max_atoms + 1);
    for (size_t i = 0; i < n; i++) store_buf_adds(&b, ATOMS[rnd((uint32_t)(g_invalid_utf8 ? N_ATOMS : N_ATOMS - 1))]);
    store_buf_add(&b, "", 1);
    return b.p;
}

static char *sdup(const char *s) { return strdup(s); }

/* A value of the option's type (as text the parser accepts). */
static char *rand_value(engine_opt_type t) {
    static const char *const I[] = {"0", "1", "-1", "+7", "007", "123456", "-2147483648", "9223372036854775807"};
    static const char *const F[] = {"0.7", "1", "-0.5", "1e-3", "2.5E2", ".5", "5.", "0.1000000001", "3"};
    static const char *const B[] = {"true", "false", "1", "0", "T", "F", "TRUE", "False"};
    switch (t) {
    case ENGINE_OPT_TYPE_INT: return sdup(I[rnd(8)]);
    case ENGINE_OPT_TYPE_FLOAT: return sdup(F[rnd(9)]);
    case ENGINE_OPT_TYPE_BOOL: return sdup(B[rnd(8)]);
    case ENGINE_OPT_TYPE_STRINGS: break;
    }
    return rand_text(8);
}

static void push_kv(store_kv **v, size_t *n, char *k, char *val) {
    *v = realloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = (store_kv){k, val, 0};
}

/* A Modelfile whose every value is random; options are the table's (REFUSED ones are dropped
 * by the parser, so they are left out here). */
static void rand_modelfile(store_modelfile *mf, const char *from) {
    static const char *const ROLES[] = {"system", "user", "assistant"};
    memset(mf, 0, sizeof mf[0]);
    mf->from = from ? sdup(from) : rand_text(4);
    if (rnd(2)) mf->tmpl = rand_text(12);
    if (rnd(2)) mf->system = rand_text(12);
    if (rnd(4) == 0) mf->requires = rand_text(3);
    size_t np = rnd(6);
    for (size_t i = 0; i < np; i++) {
        engine_opt o = engine_opt_at(rnd((uint32_t)engine_opt_count()));
        if (o.dest == ENGINE_OPT_DEST_REFUSED) continue;
        push_kv(&mf->params, &mf->n_params, sdup(o.name), rand_value(o.type));
    }
    size_t nm = rnd(4);
    for (size_t i = 0; i < nm; i++) push_kv(&mf->messages, &mf->n_messages, sdup(ROLES[rnd(3)]), rand_text(10));
    size_t nl = rnd(3);
    for (size_t i = 0; i < nl; i++) {
        mf->licenses = realloc(mf->licenses, (mf->n_licenses + 1) * sizeof *mf->licenses);
        mf->licenses[mf->n_licenses++] = rand_text(10);
    }
}

/* print -> parse gives the Modelfile back; printing that gives the same text. */
static void test_fuzz_print_parse(void) {
    int bad = 0;
    for (int it = 0; it < 5000 && bad < 5; it++) {
        store_modelfile a, b;
        rand_modelfile(&a, NULL);
        char *t1 = NULL, *t2 = NULL;
        pp_err err = {0};
        T_CHECK(store_modelfile_print(&a, &t1, NULL, &err) == PP_OK);
        if (parse(t1, &b, &err) != PP_OK) {
            T_CHECK_MSG(0, "case %d: %s\n%s", it, err.msg, t1);
            bad++;
        } else {
            const char *why;
            if (!mf_eq(&a, &b, &why)) {
                T_CHECK_MSG(0, "case %d: %s differs:\n%s", it, why, t1);
                bad++;
            }
            T_CHECK(store_modelfile_print(&b, &t2, NULL, &err) == PP_OK);
            if (t2 && strcmp(t1, t2)) {
                T_CHECK_MSG(0, "case %d: printed differently the second time:\n%s\n---\n%s", it, t1, t2);
                bad++;
            }
            store_modelfile_free(&b);
        }
        free(t1);
        free(t2);
        store_modelfile_free(&a);
    }
}

/* An argument written in a random form (which may not parse: such files are skipped). */
static void rand_arg(store_buf *b) {
    char *v = rand_text(6);
    switch (rnd(4)) {
    case 0: /* bare */
        for (char *c = v; *c; c++)
            if (*c == '\n') *c = 'n';
        store_buf_adds(b, v);
        break;
    case 1: /* "..." with escapes */
        store_buf_add(b, "\"", 1);
        for (char *c = v; *c; c++) {
            if ((*c == '"' || *c == '\\') && rnd(4)) store_buf_add(b, "\\", 1);
            store_buf_add(b, c, 1);
        }
        store_buf_add(b, "\"", 1);
        break;
    case 2: /* """...""" */
        store_buf_add(b, "\"\"\"", 3);
        store_buf_adds(b, v);
        store_buf_add(b, "\"\"\"", 3);
        break;
    default: /* a typed parameter's own text */
        store_buf_adds(b, (const char *[]){"1", "0.5", "true", "x y"}[rnd(4)]);
        break;
    }
    free(v);
}

/* Random Modelfile text -> parse -> print -> parse: the same Modelfile. */
static void test_fuzz_parse_print_parse(void) {
    static const char *const INSTR[] = {"FROM", "from", "TEMPLATE", "SYSTEM", "System", "LICENSE", "REQUIRES",
                                        "PARAMETER", "MESSAGE", "# comment", "", "ADAPTER"};
    int parsed = 0, bad = 0;
    for (int it = 0; it < 6000 && bad < 5; it++) {
        store_buf b = {0};
        store_buf_adds(&b, "FROM m\n");
        size_t n = 1 + rnd(8);
        for (size_t i = 0; i < n; i++) {
            const char *in = INSTR[rnd(sizeof INSTR / sizeof *INSTR)];
            store_buf_adds(&b, rnd(3) ? "" : "  ");
            store_buf_adds(&b, in);
            if (!*in || *in == '#') { store_buf_add(&b, "\n", 1); continue; }
            store_buf_adds(&b, (const char *[]){" ", "\t", "   "}[rnd(3)]);
            if (!strcmp(in, "PARAMETER")) {
                engine_opt o = engine_opt_at(rnd((uint32_t)engine_opt_count()));
                store_buf_adds(&b, o.name);
                store_buf_add(&b, " ", 1);
            } else if (!strcmp(in, "MESSAGE")) {
                store_buf_adds(&b, (const char *[]){"user ", "Assistant ", "SYSTEM ", "robot "}[rnd(4)]);
            }
            rand_arg(&b);
            store_buf_adds(&b, (const char *[]){"\n", " \n", "\r\n", "\t\n"}[rnd(4)]);
        }
        store_buf_add(&b, "", 1);
        store_modelfile a, c;
        pp_err err = {0};
        if (parse(b.p, &a, &err) == PP_OK) {
            parsed++;
            char *t = NULL;
            T_CHECK(store_modelfile_print(&a, &t, NULL, &err) == PP_OK);
            if (!t || parse(t, &c, &err) != PP_OK) {
                T_CHECK_MSG(0, "case %d: %s\n%s\n--- printed from ---\n%s", it, err.msg, t ? t : "", b.p);
                bad++;
            } else {
                const char *why;
                if (!mf_eq(&a, &c, &why)) {
                    T_CHECK_MSG(0, "case %d: %s differs:\n%s\n--- printed from ---\n%s", it, why, t, b.p);
                    bad++;
                }
                store_modelfile_free(&c);
            }
            free(t);
            store_modelfile_free(&a);
        }
        store_buf_free(&b);
    }
    T_CHECK_MSG(parsed > 1000, "only %d of 6000 random files parsed", parsed);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* A stored model -> show's Modelfile text -> create: the same manifest (so the same layers
 * and the same id), for random Modelfiles. */
static void test_fuzz_store_round_trip(void) {
    char root[512], gg[600];
    snprintf(root, sizeof root, "%s/st", t_tmp_dir());
    snprintf(gg, sizeof gg, "%s/m.gguf", t_tmp_dir());
    write_file(gg, "not a GGUF: create reads it only through a gguf_info callback");
    store *s;
    pp_err err = {0};
    T_CHECK(store_open(root, "", &s, &err) == PP_OK);
    if (err.status) return;
    store_create_params cp = store_create_default_params();
    cp.param = catalog_param_lookup;
    int bad = 0;
    g_invalid_utf8 = false;
    for (int it = 0; it < 150 && bad < 3; it++) {
        store_modelfile a, b;
        rand_modelfile(&a, gg);
        store_model m1, m2;
        char *text = NULL;
        if (store_create(s, "a", &a, cp, &err) != PP_OK) { T_CHECK_MSG(0, "case %d: %s", it, err.msg); bad++; goto next; }
        T_CHECK(store_model_load(s, "a", &m1, &err) == PP_OK);
        T_CHECK(store_model_modelfile(&m1, "\"test\"", m1.display, m1.model_path, &text, NULL, &err) == PP_OK);
        if (parse(text, &b, &err) != PP_OK) {
            T_CHECK_MSG(0, "case %d: %s\n%s", it, err.msg, text);
            bad++;
        } else {
            T_CHECK_MSG(store_create(s, "b", &b, cp, &err) == PP_OK, "case %d: %s", it, err.msg);
            store_modelfile_free(&b);
            if (store_model_load(s, "b", &m2, &err) == PP_OK) {
                bool same = m1.manifest.raw_len == m2.manifest.raw_len &&
                            !memcmp(m1.manifest.raw, m2.manifest.raw, m1.manifest.raw_len);
                if (!same) {
                    T_CHECK_MSG(0, "case %d: manifests differ\n%s\nparams %s / %s\nmessages %s / %s", it, text,
                                m1.params_json, m2.params_json, m1.messages_json, m2.messages_json);
                    bad++;
                }
                store_model_free(&m2);
            }
        }
        free(text);
        store_model_free(&m1);
    next:
        store_modelfile_free(&a);
    }
    g_invalid_utf8 = true;
    store_close(s);
}

/* Layers no Modelfile can hold (a foreign store's): left out, and nothing they contain can
 * start a line of its own; the header's name cannot end its comment. */
static void test_foreign_layers(void) {
    store_model m;
    memset(&m, 0, sizeof m);
    m.params_json = "{\"bad name\":1,\"top_k\":5,\"x\\nSYSTEM y\":\"z\",\"stop\":[\"a\\nSYSTEM s\",null,{}],\"o\":{}}";
    m.messages_json = "[{\"role\":\"tool\",\"content\":\"t\"},{\"role\":\"User\",\"content\":\"hi\\nSYSTEM u\"},{}]";
    m.config_json = "{\"requires\":\"0.14.0\\nSYSTEM r\"}";
    char *text = NULL;
    pp_err err = {0};
    T_CHECK(store_model_modelfile(&m, "\"t\"", "n\nSYSTEM h", "/p", &text, NULL, &err) == PP_OK);
    store_modelfile mf;
    T_CHECK_MSG(text && parse(text, &mf, &err) == PP_OK, "%s\n%s", err.msg, text ? text : "");
    if (!err.status) {
        T_CHECK_MSG(!mf.system, "%s", text);
        T_CHECK(mf.n_params == 2 && !strcmp(mf.params[0].key, "top_k") && !strcmp(mf.params[1].value, "a\nSYSTEM s"));
        T_CHECK(mf.n_messages == 1 && !strcmp(mf.messages[0].key, "user") && !strcmp(mf.messages[0].value, "hi\nSYSTEM u"));
        T_CHECK(str_eq(mf.requires, "0.14.0\nSYSTEM r"));
        store_modelfile_free(&mf);
    }
    T_CHECK_MSG(text && strstr(text, "# FROM n?SYSTEM h\n"), "%s", text ? text : "");
    free(text);
}

int main(void) {
    T_RUN(test_quote_forms);
    T_RUN(test_param_injection);
    T_RUN(test_fuzz_print_parse);
    T_RUN(test_fuzz_parse_print_parse);
    T_RUN(test_fuzz_store_round_trip);
    T_RUN(test_foreign_layers);
    return t_finish("modelfile");
}
