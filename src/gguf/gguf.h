/* gguf.h - GGUF v2/v3 reader (mmap, zero-copy, fully validated) and writer.
 *
 * Format (ref: shared/spec/gguf.md, ggml include/gguf.h), all little-endian:
 *   "GGUF" u32 version(2|3) u64 n_tensors u64 n_kv
 *   n_kv x { string key; u32 value_type; value }      string = u64 len + bytes (no NUL)
 *            value of ARRAY = u32 elem_type, u64 count, count elements (no nested arrays)
 *   n_tensors x { string name; u32 n_dims; u64 ne[n_dims]; u32 ggml_type; u64 offset }
 *   zero padding to ALIGNMENT (general.alignment, default 32), then tensor data;
 *   tensor i lives at data_start + offset_i. ne[0] is the contiguous dimension.
 *
 * Usage:
 *     gguf_file *f; pp_err err;
 *     if (gguf_open("m.gguf", &f, &err) != PP_OK) die(err.msg);
 *     uint32_t n_layer;
 *     if (gguf_get_u32(f, "gemma3.block_count", &n_layer, &err) != PP_OK) die(err.msg);
 *     const gguf_tensor *t = gguf_find_tensor(f, "token_embd.weight");
 *     ... t->data points into the read-only mapping ...
 *     gguf_close(f);
 *
 * Every validation point of spec/gguf.md §6 (1-14) is checked at open; after a successful
 * open every view and tensor data range is inside the file. Error messages start with the
 * file's base name: "fx.gguf: tensor 'blk.3.attn_q.weight': data [1200, 9000) lies past the
 * end of the file (8000 bytes)". Status: PP_ERR_FORMAT for malformed files,
 * PP_ERR_UNSUPPORTED for unknown tensor type ids, GGUF versions other than 2/3 and
 * general.alignment above GGUF_MAX_ALIGNMENT, PP_ERR_IO when the file cannot be read.
 * Valid ggml types we cannot compute with (IQ*, TQ*, MXFP4) load fine.
 *
 * Thread safety: an open gguf_file is immutable; any number of threads may read it.
 * Ownership: views (keys, strings, array data, tensor names and data) are borrowed from the
 * gguf_file and valid until gguf_close.
 */
#ifndef PIPPA_GGUF_H
#define PIPPA_GGUF_H

#include "../core/core.h"

/* Limits on hostile input (named constants, STYLE.md §4). */
#define GGUF_MAX_NAME 64          /* tensor name length must be < this (llama.cpp) */
#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_ALIGNMENT (1u << 20) /* our limit on general.alignment (ggml has none; real
                                         files use 32); keeps padding allocations small */

/* Metadata value types. */
typedef enum gguf_vtype {
    GGUF_VTYPE_UINT8 = 0,
    GGUF_VTYPE_INT8 = 1,
    GGUF_VTYPE_UINT16 = 2,
    GGUF_VTYPE_INT16 = 3,
    GGUF_VTYPE_UINT32 = 4,
    GGUF_VTYPE_INT32 = 5,
    GGUF_VTYPE_FLOAT32 = 6,
    GGUF_VTYPE_BOOL = 7,
    GGUF_VTYPE_STRING = 8,
    GGUF_VTYPE_ARRAY = 9,
    GGUF_VTYPE_UINT64 = 10,
    GGUF_VTYPE_INT64 = 11,
    GGUF_VTYPE_FLOAT64 = 12,
    GGUF_VTYPE_COUNT
} gguf_vtype;
const char *gguf_vtype_name(gguf_vtype t); /* "UINT32", ..., "?" for unknown */
/* Bytes of one value of a fixed-size type; 0 for STRING, ARRAY and unknown types. */
size_t gguf_vtype_size(gguf_vtype t);

/* ggml tensor type ids (spec/gguf.md §4). */
typedef enum gguf_ttype {
    GGUF_TTYPE_F32 = 0, GGUF_TTYPE_F16 = 1, GGUF_TTYPE_Q4_0 = 2, GGUF_TTYPE_Q4_1 = 3,
    GGUF_TTYPE_Q5_0 = 6, GGUF_TTYPE_Q5_1 = 7, GGUF_TTYPE_Q8_0 = 8, GGUF_TTYPE_Q8_1 = 9,
    GGUF_TTYPE_Q2_K = 10, GGUF_TTYPE_Q3_K = 11, GGUF_TTYPE_Q4_K = 12, GGUF_TTYPE_Q5_K = 13,
    GGUF_TTYPE_Q6_K = 14, GGUF_TTYPE_Q8_K = 15, GGUF_TTYPE_IQ2_XXS = 16, GGUF_TTYPE_IQ2_XS = 17,
    GGUF_TTYPE_IQ3_XXS = 18, GGUF_TTYPE_IQ1_S = 19, GGUF_TTYPE_IQ4_NL = 20, GGUF_TTYPE_IQ3_S = 21,
    GGUF_TTYPE_IQ2_S = 22, GGUF_TTYPE_IQ4_XS = 23, GGUF_TTYPE_I8 = 24, GGUF_TTYPE_I16 = 25,
    GGUF_TTYPE_I32 = 26, GGUF_TTYPE_I64 = 27, GGUF_TTYPE_F64 = 28, GGUF_TTYPE_IQ1_M = 29,
    GGUF_TTYPE_BF16 = 30, GGUF_TTYPE_TQ1_0 = 34, GGUF_TTYPE_TQ2_0 = 35, GGUF_TTYPE_MXFP4 = 39,
    GGUF_TTYPE_COUNT = 40 /* ids >= this are unknown */
} gguf_ttype;

/* Block layout of a tensor type. blck == 0 means removed/unknown id. */
typedef struct gguf_ttype_info {
    const char *name; /* "Q4_0"; "?" for unknown ids */
    uint32_t blck;    /* elements per block */
    uint32_t bytes;   /* bytes per block */
} gguf_ttype_info;
/* Never NULL: unknown ids give {"?", 0, 0}. */
gguf_ttype_info gguf_ttype_info_get(uint32_t type);
/* Case-insensitive name -> id ("q4_k" -> 12); -1 if unknown. */
int gguf_ttype_from_name(const char *name);

/* One metadata value. For arrays: arr_type/arr_count and arr_data pointing at the raw
 * elements (fixed-size types) or at the first string record (strings: use
 * gguf_arr_str). */
typedef struct gguf_kv {
    pp_view key;
    gguf_vtype type;
    union {
        uint64_t u64;  /* UINT8/16/32/64, BOOL (0/1) */
        int64_t i64;   /* INT8/16/32/64 */
        double f64;    /* FLOAT32 (widened), FLOAT64 */
        pp_view str;   /* STRING */
    } v;
    gguf_vtype arr_type;
    uint64_t arr_count;
    const uint8_t *arr_data;
    const uint64_t *arr_str_offsets; /* STRING arrays: offset of each element's u64 len,
                                        relative to arr_data (built at open) */
} gguf_kv;

typedef struct gguf_tensor {
    pp_view name;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS]; /* missing dims are 1 */
    uint32_t type;             /* gguf_ttype id */
    uint64_t offset;           /* relative to the data section */
    uint64_t n_elements;
    uint64_t nbytes;
    const void *data;          /* inside the mapping */
} gguf_tensor;

typedef struct gguf_file gguf_file;

typedef struct gguf_open_params {
    bool strict_offsets; /* require ggml's contiguous-offset rule (default false: any aligned,
                            in-bounds, non-overlapping offsets) */
} gguf_open_params;
gguf_open_params gguf_default_open_params(void);

pp_status gguf_open(const char *path, gguf_file **out, pp_err *err);
pp_status gguf_open_ex(const char *path, gguf_open_params params, gguf_file **out, pp_err *err);
/* Parses a caller-owned buffer (fuzzing, tests); buf must outlive the gguf_file.
 * name is used in error messages. */
pp_status gguf_open_mem(const void *buf, size_t size, const char *name, gguf_open_params params,
                        gguf_file **out, pp_err *err);
void gguf_close(gguf_file *f);

const char *gguf_name(const gguf_file *f);   /* base name used in messages */
uint32_t gguf_version(const gguf_file *f);
uint64_t gguf_file_size(const gguf_file *f);
uint32_t gguf_alignment(const gguf_file *f);
uint64_t gguf_data_offset(const gguf_file *f); /* start of the data section */

uint64_t gguf_n_kv(const gguf_file *f);
const gguf_kv *gguf_kv_at(const gguf_file *f, uint64_t i);
const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key); /* NULL if absent */

/* Typed getters. Missing key -> PP_ERR_NOT_FOUND "fx.gguf: key 'x' is missing";
 * wrong type -> PP_ERR_FORMAT "fx.gguf: key 'x': expected UINT32, got STRING".
 * The integer getters accept any integer type whose value fits (spec §2.1). */
pp_status gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out, pp_err *err);
pp_status gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out, pp_err *err);
pp_status gguf_get_i64(const gguf_file *f, const char *key, int64_t *out, pp_err *err);
pp_status gguf_get_f32(const gguf_file *f, const char *key, float *out, pp_err *err);
pp_status gguf_get_bool(const gguf_file *f, const char *key, bool *out, pp_err *err);
pp_status gguf_get_str(const gguf_file *f, const char *key, pp_view *out, pp_err *err);
/* Array getter: checks the element type (GGUF_VTYPE_COUNT = any) and returns the kv. */
pp_status gguf_get_arr(const gguf_file *f, const char *key, gguf_vtype elem_type,
                       const gguf_kv **out, pp_err *err);
/* Element i of a STRING array kv (i < arr_count, checked by PP_ASSERT). */
pp_view gguf_arr_str(const gguf_kv *kv, uint64_t i);
/* Element i of an integer/float array as i64 / f64 (any numeric elem type). */
int64_t gguf_arr_i64(const gguf_kv *kv, uint64_t i);
double gguf_arr_f64(const gguf_kv *kv, uint64_t i);

uint64_t gguf_n_tensors(const gguf_file *f);
const gguf_tensor *gguf_tensor_at(const gguf_file *f, uint64_t i);
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name); /* NULL if absent */

/* ---- Summary (gguf_summary.c) ----
 * What `show`, `create` and the server report without loading the model. */
typedef struct gguf_summary {
    char arch[64];       /* general.architecture, "" when absent */
    uint64_t n_params;   /* elements of every tensor */
    uint32_t main_type;  /* the type of the most bytes of 2-D tensors (ties: lower id) */
    uint32_t common_type; /* the type of the most 2-D tensors (ties: lower id; F32 if none):
                             the server's quantization_level for files without a config */
    char file_type[32];  /* general.file_type's name ("Q4_K_M"), else main_type's ("Q4_0") */
} gguf_summary;
pp_status gguf_summary_read(const char *path, gguf_summary *out, pp_err *err);
/* llama.cpp's name of a general.file_type value ("Q4_K_M"); NULL if unknown. */
const char *gguf_file_type_name(uint32_t ftype);

/* ---- Writer ----
 *     gguf_writer *w; gguf_writer_init(&w, &err);
 *     gguf_writer_set_str(w, "general.architecture", "gemma3");
 *     gguf_writer_add_tensor(w, "token_embd.weight", 2, ne, GGUF_TTYPE_F16, data, nbytes);
 *     gguf_writer_write(w, "out.gguf", &err);   // tmp file + fsync + rename
 *     gguf_writer_free(w);
 * KV pairs are written in insertion order (setting an existing key replaces its value in
 * place); tensors in insertion order, each padded to the alignment, as llama.cpp does, so
 * the output satisfies the strict-offset rule. Tensor data is borrowed until write returns,
 * unless added with gguf_writer_add_tensor_copy. Not thread-safe.
 * Set/add calls check their arguments (name < 64 bytes, 1-4 dims > 0, known type, ne[0] a
 * whole number of blocks, nbytes matching the shape, unique tensor names); the first
 * failure is remembered, returned by write/to_mem, and readable via gguf_writer_error. */
typedef struct gguf_writer gguf_writer;
pp_status gguf_writer_init(gguf_writer **out, pp_err *err);
void gguf_writer_free(gguf_writer *w);
/* Message of the first failed set/add call, or NULL. Borrowed from w. */
const char *gguf_writer_error(const gguf_writer *w);
pp_status gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v);
pp_status gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v);
pp_status gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v);
pp_status gguf_writer_set_f32(gguf_writer *w, const char *key, float v);
pp_status gguf_writer_set_bool(gguf_writer *w, const char *key, bool v);
pp_status gguf_writer_set_str(gguf_writer *w, const char *key, const char *v);
/* Any fixed-size scalar type; v points at a host value of that type (bool for BOOL,
 * float for FLOAT32, int16_t for INT16, ...). */
pp_status gguf_writer_set_val(gguf_writer *w, const char *key, gguf_vtype type, const void *v);
pp_status gguf_writer_set_str_n(gguf_writer *w, const char *key, const char *v, size_t len);
/* Fixed-size elements: data holds count host values of elem_type (bool for BOOL). */
pp_status gguf_writer_set_arr(gguf_writer *w, const char *key, gguf_vtype elem_type,
                              const void *data, uint64_t count);
pp_status gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *strs,
                                  uint64_t count);
/* Copies every KV of an open file (except those already set), e.g. for the quantizer. */
pp_status gguf_writer_copy_kvs(gguf_writer *w, const gguf_file *src);
pp_status gguf_writer_remove(gguf_writer *w, const char *key);
pp_status gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t n_dims,
                                 const int64_t *ne, uint32_t type, const void *data,
                                 uint64_t nbytes);
pp_status gguf_writer_add_tensor_copy(gguf_writer *w, const char *name, uint32_t n_dims,
                                      const int64_t *ne, uint32_t type, const void *data,
                                      uint64_t nbytes);
/* Streamed tensors (large outputs such as a quantizer's): nothing is held in memory; at
 * write/to_mem time, when the file position reaches the tensor, fn(ctx, index, sink, err)
 * is called (index = the tensor's position in insertion order) and must pass exactly nbytes
 * bytes to gguf_sink_write, in pieces of any size. A non-OK status from fn aborts the write
 * (the temporary file is removed, path is untouched) and is returned as is, with fn's err.
 * ctx is borrowed until write returns. Each streamed tensor is produced once per write. */
typedef struct gguf_sink gguf_sink;
typedef pp_status (*gguf_tensor_write_fn)(void *ctx, uint64_t index, gguf_sink *sink,
                                          pp_err *err);
pp_status gguf_sink_write(gguf_sink *sink, const void *data, uint64_t len, pp_err *err);
pp_status gguf_writer_add_tensor_stream(gguf_writer *w, const char *name, uint32_t n_dims,
                                        const int64_t *ne, uint32_t type, uint64_t nbytes,
                                        gguf_tensor_write_fn fn, void *ctx);
/* Writes path atomically: path.tmp.<pid>, fsync, rename. */
pp_status gguf_writer_write(gguf_writer *w, const char *path, pp_err *err);
/* Serializes to a malloc'd buffer (tests, fuzz corpus). */
pp_status gguf_writer_to_mem(gguf_writer *w, uint8_t **out, size_t *len, pp_err *err);

#endif
