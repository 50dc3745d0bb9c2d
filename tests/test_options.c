/* test_options.c - the options table (src/engine/options.c) walked row by row: every row is
 * settable from text (-p, /set parameter, PARAMETER) and from JSON options with its default
 * and its range ends, a value past an end is refused with the row's message, and the store's
 * lookup callback (src/catalog) agrees with the table. */
#include "test.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

#include "catalog/catalog.h"

static bool is_int(const engine_opt *r) { return r->type == ENGINE_OPT_TYPE_INT; }

/* Every row's values equal (field by field: struct copies need not keep padding). */
static bool same_options(const engine_options *a, const engine_options *b) {
    for (size_t i = 0; i < engine_opt_count(); i++) {
        const char *name = engine_opt_at(i).name;
        char va[ENGINE_MAX_STOP_LEN], vb[ENGINE_MAX_STOP_LEN];
        size_t n = engine_options_text(a, name, 0, va, sizeof va);
        if (n != engine_options_text(b, name, 0, vb, sizeof vb)) return false;
        for (size_t k = 0; k < n; k++) {
            engine_options_text(a, name, k, va, sizeof va);
            engine_options_text(b, name, k, vb, sizeof vb);
            if (strcmp(va, vb)) return false;
        }
    }
    return a->kv_type == b->kv_type;
}

static void num_text(const engine_opt *r, double v, char *buf, size_t cap) {
    if (is_int(r)) snprintf(buf, cap, "%lld", (long long)v);
    else snprintf(buf, cap, "%.9g", v);
}

static json_t *num_json(const engine_opt *r, double v) {
    return is_int(r) ? json_integer((json_int_t)v) : json_real(v);
}

/* Sets name=v from text and from JSON; both must succeed and read back as v. */
static void expect_accepts(const engine_opt *r, double v) {
    char text[64], got[64];
    num_text(r, v, text, sizeof text);
    engine_options o = engine_default_options();
    pp_err err = {0};
    pp_status st = engine_options_set(&o, r->name, text, &err);
    T_CHECK_MSG(st == PP_OK, "%s=%s: %s", r->name, text, err.msg);
    T_CHECK(engine_options_text(&o, r->name, 0, got, sizeof got) == 1);
    double back = strtod(got, NULL);
    double want = (!strcmp(r->name, "num_predict") && v == -2) ? -1 : v; /* -2 is stored as -1 */
    T_CHECK_MSG(is_int(r) ? back == want : fabsf((float)back - (float)want) <= 1e-6f * fmaxf(1, fabsf((float)want)),
                "%s=%s read back %s", r->name, text, got);
    engine_options j = engine_default_options();
    json_t *obj = json_object();
    json_object_set_new(obj, r->name, num_json(r, v));
    st = catalog_options_json(&j, obj, &err);
    T_CHECK_MSG(st == PP_OK, "JSON %s=%s: %s", r->name, text, err.msg);
    T_CHECK_MSG(same_options(&o, &j), "%s=%s: text and JSON differ", r->name, text);
    json_decref(obj);
}

/* Sets name=v from text and JSON; both must be refused with the row's range message and
 * leave the options unchanged. */
static void expect_refuses(const engine_opt *r, double v) {
    char text[64], head[128];
    num_text(r, v, text, sizeof text);
    snprintf(head, sizeof head, "option '%s': %s ", r->name, text);
    engine_options before = engine_default_options(), o = before;
    pp_err err = {0};
    T_CHECK_MSG(engine_options_set(&o, r->name, text, &err) == PP_ERR_ARG, "%s=%s accepted", r->name, text);
    T_CHECK_MSG(!strncmp(err.msg, head, strlen(head)) && (strstr(err.msg, "outside [") || strstr(err.msg, "must be ")),
                "%s=%s: '%s'", r->name, text, err.msg);
    T_CHECK(same_options(&o, &before));
    char text_msg[PP_ERR_MSG_MAX];
    snprintf(text_msg, sizeof text_msg, "%s", err.msg);
    json_t *obj = json_object();
    json_object_set_new(obj, r->name, num_json(r, v));
    T_CHECK(catalog_options_json(&o, obj, &err) == PP_ERR_ARG);
    T_CHECK_MSG(!strcmp(err.msg, text_msg), "JSON %s=%s: '%s' vs text '%s'", r->name, text, err.msg, text_msg);
    T_CHECK(same_options(&o, &before));
    json_decref(obj);
}

static void test_numeric_rows(void) {
    int n_numeric = 0;
    for (size_t i = 0; i < engine_opt_count(); i++) {
        engine_opt r = engine_opt_at(i);
        if (r.dest != ENGINE_OPT_DEST_ENGINE && r.dest != ENGINE_OPT_DEST_SAMPLER) continue;
        if (r.type == ENGINE_OPT_TYPE_STRINGS) continue;
        n_numeric++;
        if (!strcmp(r.name, "num_ctx")) { /* the default 0 means "min(4096, trained)": not settable */
            T_CHECK(r.def == 0);
        } else {
            T_CHECK_MSG(r.def >= r.lo && r.def <= r.hi, "%s: default %g outside its range", r.name, r.def);
            expect_accepts(&r, r.def);
        }
        double step = is_int(&r) ? 1 : 0.5;
        if (r.lo > -HUGE_VAL) {
            if (!r.lo_open) expect_accepts(&r, r.lo);
            else expect_accepts(&r, r.lo + step);
            expect_refuses(&r, r.lo_open ? r.lo : r.lo - step);
        }
        if (r.hi < HUGE_VAL) {
            expect_accepts(&r, r.hi);
            expect_refuses(&r, r.hi + step);
        }
    }
    T_CHECK_MSG(n_numeric == 14, "%d numeric rows", n_numeric);
}

static void test_other_rows(void) {
    static const char *const JSON_TYPE[] = {
        [ENGINE_OPT_TYPE_INT] = "integer", [ENGINE_OPT_TYPE_FLOAT] = "float32",
        [ENGINE_OPT_TYPE_BOOL] = "boolean", [ENGINE_OPT_TYPE_STRINGS] = "array",
    };
    int n_refused = 0, n_no_effect = 0, n_help = 0;
    for (size_t i = 0; i < engine_opt_count(); i++) {
        engine_opt r = engine_opt_at(i);
        engine_opt f;
        T_CHECK(engine_opt_find(r.name, &f) && !strcmp(f.name, r.name) && f.dest == r.dest && f.type == r.type);
        store_param_type t;
        bool dep = true;
        T_CHECK_MSG(catalog_param_lookup(r.name, &t, &dep) && (int)t == (int)r.type &&
                        dep == (r.dest == ENGINE_OPT_DEST_REFUSED), "%s: store lookup", r.name);
        n_help += r.help != NULL;
        engine_options before = engine_default_options(), o = before;
        pp_err err = {0};
        json_t *obj = json_object(), *bad = json_object();
        json_object_set_new(obj, r.name, r.type == ENGINE_OPT_TYPE_BOOL ? json_true() : r.type == ENGINE_OPT_TYPE_STRINGS
                                              ? json_pack("[s]", "x") : json_integer(1));
        json_object_set_new(bad, r.name, json_string("x"));
        if (r.dest == ENGINE_OPT_DEST_REFUSED) { /* unknown to text, ignored in JSON */
            n_refused++;
            T_CHECK(engine_options_set(&o, r.name, "1", &err) == PP_ERR_NOT_FOUND);
            char want[128];
            snprintf(want, sizeof want, "unknown parameter '%s'", r.name);
            T_CHECK_MSG(!strcmp(err.msg, want), "%s", err.msg);
            T_CHECK(catalog_options_json(&o, bad, &err) == PP_OK && same_options(&o, &before));
        } else if (r.dest == ENGINE_OPT_DEST_NO_EFFECT) { /* accepted, type-checked in JSON, no effect */
            n_no_effect++;
            T_CHECK(engine_options_set(&o, r.name, "1", &err) == PP_OK && same_options(&o, &before));
            T_CHECK(catalog_options_json(&o, obj, &err) == PP_OK && same_options(&o, &before));
            T_CHECK(engine_options_text(&o, r.name, 0, NULL, 0) == 0);
        }
        if (r.dest != ENGINE_OPT_DEST_REFUSED) {
            char want[128];
            snprintf(want, sizeof want, "option \"%s\" must be of type %s", r.name, JSON_TYPE[r.type]);
            T_CHECK(catalog_options_json(&o, bad, &err) == PP_ERR_ARG);
            T_CHECK_MSG(!strcmp(err.msg, want), "%s: '%s'", r.name, err.msg);
        }
        json_decref(obj);
        json_decref(bad);
    }
    T_CHECK(n_refused == 11 && n_no_effect == 5 && n_help == 11);
    T_CHECK(!engine_opt_find("colour", NULL) && !catalog_param_lookup("colour", NULL, NULL));
    /* stop: appended from text, replaced by a JSON array */
    engine_options o = engine_default_options();
    pp_err err = {0};
    char v[64];
    T_CHECK(engine_options_set(&o, "stop", "a", &err) == PP_OK && engine_options_set(&o, "stop", "b", &err) == PP_OK);
    T_CHECK(engine_options_text(&o, "stop", 1, v, sizeof v) == 2 && !strcmp(v, "b"));
    json_t *obj = json_pack("{s:[s]}", "stop", "c");
    T_CHECK(catalog_options_json(&o, obj, &err) == PP_OK && o.n_stop == 1 && !strcmp(o.stop[0], "c"));
    json_decref(obj);
    T_CHECK(engine_options_set(&o, "stop", "", &err) == PP_ERR_ARG && !strcmp(err.msg, "option 'stop': empty stop sequence"));
}

/* A few messages spelled out, as the front ends print them. */
static void test_messages(void) {
    engine_options o = engine_default_options();
    pp_err err = {0};
    struct { const char *name, *value, *msg; } C[] = {
        {"num_ctx", "0", "option 'num_ctx': 0 is outside [1, 16777216]"},
        {"num_batch", "4097", "option 'num_batch': 4097 is outside [1, 4096]"},
        {"num_thread", "-1", "option 'num_thread': -1 is outside [0, 1024]"},
        {"num_predict", "-3", "option 'num_predict': -3 is outside [-2, 2147483647]"},
        {"top_p", "1.5", "option 'top_p': 1.5 is outside [0, 1]"},
        {"top_k", "-3", "option 'top_k': -3 must be >= 0"},
        {"repeat_penalty", "0", "option 'repeat_penalty': 0 must be > 0"},
        {"repeat_last_n", "-2", "option 'repeat_last_n': -2 must be >= -1 (-1 = num_ctx)"},
        {"num_ctx", "big", "option 'num_ctx': expected integer, got 'big'"},
        {"mirostat", "1", "unknown parameter 'mirostat'"},
    };
    for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
        T_CHECK(engine_options_set(&o, C[i].name, C[i].value, &err) != PP_OK);
        T_CHECK_MSG(!strcmp(err.msg, C[i].msg), "%s=%s: '%s'", C[i].name, C[i].value, err.msg);
    }
    T_CHECK(engine_options_set(&o, "num_predict", "-2", &err) == PP_OK && o.num_predict == -1);
}

int main(void) {
    T_RUN(test_numeric_rows);
    T_RUN(test_other_rows);
    T_RUN(test_messages);
    return t_finish("options");
}
