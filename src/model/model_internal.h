/* model_internal.h - internal to src/model: the loaded weights shared by the loader and the
 * forward pass. */
#ifndef PIPPA_MODEL_INTERNAL_H
#define PIPPA_MODEL_INTERNAL_H

#include "../kernels/kern_exec.h"
#include "model.h"

/* A 2-D weight used in a matmul: the tensor in the mapping plus what the kernels run. */
typedef struct model_weight {
    const gguf_tensor *t;  /* NULL: absent (an optional weight) */
    kern_weight k;         /* traits, rows, and the repacked copy the model owns (k.packed) */
} model_weight;

typedef struct model_layer {
    float *attn_norm, *q_norm, *k_norm, *post_attn_norm, *ffn_norm, *post_ffw_norm; /* owned f32 */
    model_weight wq, wk, wv, wo, wgate, wup, wdown;
} model_layer;

struct model {
    gguf_file *f;
    model_hparams hp;
    model_weight tok_embd;   /* embedding lookup (row dequantized) */
    model_weight output;     /* logits: output.weight or tok_embd */
    float *output_norm;      /* owned */
    model_layer *layers;     /* n_layer */
    uint32_t main_type;
    uint64_t weight_bytes;
};

#endif
