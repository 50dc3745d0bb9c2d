/* gguf_summary.c - what `show`, `create`'s config blob and the server report about a GGUF
 * file without loading it: architecture, parameter count and file type. The one table of
 * general.file_type names lives here.
 * ref: llama.cpp include/llama.h enum llama_ftype (names as llama_model_ftype_name). */
#include "gguf.h"

#include <stdio.h>
#include <string.h>

const char *gguf_file_type_name(uint32_t ftype) {
    static const char *const NAMES[] = {
        [0] = "F32", [1] = "F16", [2] = "Q4_0", [3] = "Q4_1", [7] = "Q8_0", [8] = "Q5_0", [9] = "Q5_1",
        [10] = "Q2_K", [11] = "Q3_K_S", [12] = "Q3_K_M", [13] = "Q3_K_L", [14] = "Q4_K_S", [15] = "Q4_K_M",
        [16] = "Q5_K_S", [17] = "Q5_K_M", [18] = "Q6_K", [19] = "IQ2_XXS", [20] = "IQ2_XS", [21] = "Q2_K_S",
        [22] = "IQ3_XS", [23] = "IQ3_XXS", [24] = "IQ1_S", [25] = "IQ4_NL", [26] = "IQ3_S", [27] = "IQ3_M",
        [28] = "IQ2_S", [29] = "IQ2_M", [30] = "IQ4_XS", [31] = "IQ1_M", [32] = "BF16", [36] = "TQ1_0",
        [37] = "TQ2_0", [38] = "MXFP4",
    };
    if (ftype < sizeof NAMES / sizeof *NAMES) return NAMES[ftype];
    return NULL;
}

pp_status gguf_summary_read(const char *path, gguf_summary *out, pp_err *err) {
    gguf_file *f;
    if (gguf_open(path, &f, err) != PP_OK) return err->status;
    gguf_summary s;
    memset(&s, 0, sizeof s);
    pp_view arch;
    pp_err e2 = {0};
    if (gguf_get_str(f, "general.architecture", &arch, &e2) == PP_OK)
        snprintf(s.arch, sizeof s.arch, "%.*s", (int)arch.len, arch.ptr);
    uint64_t by_type[GGUF_TTYPE_COUNT] = {0}, best_bytes = 0;
    uint32_t count[GGUF_TTYPE_COUNT] = {0};
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        s.n_params += t->n_elements;
        if (t->type < GGUF_TTYPE_COUNT && t->n_dims >= 2) {
            by_type[t->type] += t->nbytes;
            count[t->type]++;
        }
    }
    for (uint32_t t = 0; t < GGUF_TTYPE_COUNT; t++) { /* ties: the lower id */
        if (by_type[t] > best_bytes) {
            best_bytes = by_type[t];
            s.main_type = t;
        }
        if (count[t] > count[s.common_type]) s.common_type = t;
    }
    uint32_t ft;
    const char *name = NULL;
    if (gguf_get_u32(f, "general.file_type", &ft, &e2) == PP_OK) name = gguf_file_type_name(ft);
    if (!name) name = gguf_ttype_info_get(s.main_type).name;
    snprintf(s.file_type, sizeof s.file_type, "%s", name);
    gguf_close(f);
    *out = s;
    return PP_OK;
}
