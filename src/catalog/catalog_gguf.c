/* catalog_gguf.c - GGUF facts for the store's config blob (store_gguf_info_fn), from the one
 * GGUF summary (src/gguf/gguf_summary.c). */
#include "catalog.h"

#include <stdio.h>
#include <string.h>

#include "../gguf/gguf.h"

pp_status catalog_gguf_info(const char *path, store_gguf_info *info, pp_err *err) {
    memset(info, 0, sizeof *info);
    gguf_summary s;
    pp_status st = gguf_summary_read(path, &s, err);
    if (st != PP_OK) return st;
    snprintf(info->family, sizeof info->family, "%s", s.arch);
    store_human_number(s.n_params, info->model_type, sizeof info->model_type);
    snprintf(info->file_type, sizeof info->file_type, "%s", s.file_type);
    return PP_OK;
}
