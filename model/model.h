/* The transformer: pre-norm blocks of [RMSNorm -> MHA (fused qkv with bias, RoPE, o-proj
 * with bias) -> residual -> RMSNorm -> SwiGLU w3(silu(w1 x) * w2 x) -> residual], final
 * RMSNorm, linear head (tied to the embedding or not). No time embedding.
 *
 * Like llm.c: every parameter lives in one contiguous buffer (grads, AdamW moments and EMA
 * weights mirror its layout), every activation in one activation buffer sized for a batch.
 * All buffers are backend memory; the host sees only tokens in and logits/losses out. */
#ifndef MDMLAB_MODEL_H
#define MDMLAB_MODEL_H

#include "backends/backend.h"
#include "tasks/lib/subtoken.h"

typedef struct ModelConfig {
    int vocab, seq_len;
    int d, layers, heads, ffn;
    int tied_head, causal;
    /* Shifted outputs (AR, AR initialisation): logits row j >= 1 of a sequence is the head
     * applied to the final hidden state at j-1, so position j is predicted from position j-1's
     * output; row 0 is all zeros: position 0 is never predicted and its loss weight must be 0
     * (it gets no gradient either way). Everything downstream (loss, sampler) sees ordinary
     * per-position logits. */
    int shift_logits;
    int rope; /* ROPE_STANDARD | ROPE_REFERENCE */
    float rope_theta, norm_eps;
    /* MDM-Prime (sub_tokens = ell > 1, else 0): the input of a position is its state under the
     * sub-tokenizer of (vocab, sub_mask_id, ell, sub_permute) (tasks/lib/subtoken.h), embedded
     * as the sum of one row per digit slot from a table of ell * (sub_base + 1) rows (slot j's
     * rows j * (b + 1) .. j * (b + 1) + b, the last its sub-mask); the head still gives logits
     * over the vocab, filtered (subtoken_filter) to the tokens consistent with the known
     * digits. The head cannot be tied to that table. */
    int sub_tokens, sub_base, sub_mask_id;
    uint64_t sub_permute;
} ModelConfig;

/* RoPE variants. STANDARD rotates the half-split pairs (i, i + hd/2) by t * theta^(-i/(hd/2)).
 * REFERENCE is PUMA's reference code (model/utils.py: rotate_half over the adjacent pairs
 * (2i, 2i+1), cos/sin of cat(freqs, freqs) indexed by dim j): out_2i = x_2i cos(t f_{2i mod
 * hd/2}) - x_2i+1 sin(t f_{2i mod hd/2}), out_2i+1 = x_2i+1 cos(t f_{(2i+1) mod hd/2}) + x_2i
 * sin(t f_{(2i+1) mod hd/2}): the two members of a pair use different frequencies, so it is
 * not a rotation. Its tables are computed in float32 as the reference computes them. */
enum { ROPE_STANDARD = 0, ROPE_REFERENCE = 1 };

/* Weight initialisations. SMALL: N(0, std) weights (residual-branch output projections o and
 * w3 scaled by 1/sqrt(2L)), zero biases. TORCH: PyTorch's defaults as PUMA's reference model
 * gets them: embedding N(0, 1); every Linear weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))
 * (q, k, v, o with bias; w1, w2, w3 and the untied head without); a tied head is the
 * embedding. Both: RMSNorm weights 1. */
typedef enum { MODEL_INIT_SMALL = 0, MODEL_INIT_TORCH = 1 } ModelInit;

/* A one-shot attention override for the next forward (attention annealing, see
 * model_set_attention_mix). */
typedef struct AttentionMix {
    int active;
    float future_keep;
    uint64_t mask_seed;
} AttentionMix;

enum { P_WTE, P_LN1, P_QKVW, P_QKVB, P_OW, P_OB, P_LN2, P_W1, P_W2, P_W3, P_LNF, P_HEAD, P_COUNT };

typedef struct ParamTensors {
    float *t[P_COUNT]; /* pointers into one buffer; per-layer tensors stacked over layers */
} ParamTensors;

/* Per-layer saved activations (stacked over layers) and per-step scratch. */
typedef struct Activations {
    float *resid;         /* (L+1, B, T, d) residual stream entering each block, and the output */
    float *resid_mid;     /* (L, B, T, d) residual after attention */
    float *rstd1, *rstd2; /* (L, B, T) */
    float *q, *k, *v;     /* (L, B, H, T, hd) after RoPE */
    float *att;           /* (L, B, H, T, T) softmax probabilities */
    float *merged;        /* (L, B, T, d) attention output before o-proj */
    float *h1, *h2;       /* (L, B, T, ffn) w1 x and w2 x */
    float *lnf;           /* (B, T, d) final norm output */
    float *rstdf;         /* (B, T) */
    float *logits;        /* (B, T, V); holds dlogits after model_loss with grad */
    float *loss_rows;     /* (B, T) */
    /* scratch shared by all layers */
    float *ln;                /* (B, T, d) normed input of the current layer */
    float *qkv;               /* (B, T, 3d) */
    float *y;                 /* (B, H, T, hd) */
    float *ffn_act;           /* (B, T, ffn) silu(h1)*h2 */
    float *dresid;            /* (B, T, d) gradient flowing along the residual stream */
    float *dln;               /* (B, T, d) */
    float *dqkv;              /* (B, T, 3d) */
    float *dq, *dk, *dv, *dy; /* (B, H, T, hd) */
    float *datt;              /* (B, H, T, T) */
    float *dmerged;           /* (B, T, d) */
    float *dh1, *dh2;         /* (B, T, ffn) */
} Activations;

typedef struct Model {
    ModelConfig cfg;
    Backend *be;
    long n_params;        /* parameters of the model */
    long n_params_padded; /* floats in each parameter-shaped buffer (tensors 64-byte aligned) */
    long param_offset[P_COUNT];
    long param_size[P_COUNT];
    float *params, *grads, *adam_m, *adam_v, *ema; /* ema NULL unless enabled */
    ParamTensors p, g;
    int max_batch;
    float *act_buffer;
    size_t act_floats;
    Activations a;
    int *tokens;                /* (B, T) device */
    int *targets;               /* (B, T) device */
    float *weights;             /* (B, T) device */
    float *rope_cos, *rope_sin; /* (T, hd) device; see qkv_split_rope_forward */
    int batch;                  /* batch of the last forward */
    float *loss_rows_host;      /* (max_batch, T) host copy of the per-position losses */
    AttentionMix mix;           /* applies to the next forward only */
    /* sub-token models only (cfg.sub_tokens > 1) */
    SubTokenizer sub;
    int *sub_codes;    /* (vocab, ell) device: sub.codes */
    int *sub_ids;      /* (ell, B*T) device: each position's embedding row per digit slot */
    int *sub_ids_host; /* (ell, max_batch*T) */
} Model;

int model_create(Model *m, const ModelConfig *cfg, Backend *be, int max_batch, int with_ema,
                 Err *err);
void model_free(Model *m);
/* Fresh weights drawn as `init` says (std: SMALL's normal std, unused by TORCH);
 * deterministic in seed. Resets the training state (model_reset_training_state). */
void model_init_params(Model *m, uint64_t seed, ModelInit init, float std);
/* Fresh optimizer state for the current weights: AdamW moments and gradients zero, EMA =
 * params (used after loading weights to start a new run from them). */
void model_reset_training_state(Model *m);
/* Partially causal attention for the NEXT model_forward only: causal attention in which
 * each future key is attended with probability future_keep (0 = causal, 1 = full) under a
 * mask fixed by mask_seed (softmax_forward's contract: it varies over sequence, head, query
 * and key, and is the same in every layer). Later forwards use the configured attention
 * again, so evaluation and sampling never run under a training-time mask. The training loop
 * sets it before the forward of each annealing step. */
void model_set_attention_mix(Model *m, float future_keep, uint64_t mask_seed);
/* Forward tokens_host[B*T]; logits stay in m->a.logits (device). */
void model_forward(Model *m, const int *tokens_host, int B);
/* Weighted CE of the last forward (see xent_forward_backward); returns sum of row losses.
 * With want_grad the logits buffer is overwritten by dlogits, ready for model_backward. */
double model_loss(Model *m, const int *targets_host, const float *weights_host, int want_grad);
/* Accumulate parameter gradients of the last model_loss(want_grad=1) into m->grads. */
void model_backward(Model *m);
void model_zero_grad(Model *m);
/* Copy logits (B*T*V floats) of the last forward to host. */
void model_logits_to_host(Model *m, float *out);
/* Swap the live parameters with the EMA copy (call twice to swap back). */
void model_swap_ema(Model *m);
/* 6*N*tokens + attention FLOPs of one training step (forward+backward), for reports. */
double model_step_flops(const ModelConfig *cfg, int B);
long model_param_count(const ModelConfig *cfg);
/* Rows of the input embedding: the vocab, or ell * (sub_base + 1) for a sub-token model. */
long model_embedding_rows(const ModelConfig *cfg);
/* The model's sub-tokenizer, or NULL for a plain token model. */
const SubTokenizer *model_sub_tokenizer(const Model *m);
/* Where each tensor starts in a parameter-shaped buffer (each 64-byte aligned) and its size;
 * returns the buffer's floats. A shape only: nothing is built (the checkpoint reader checks a
 * stored model with it). */
long model_param_layout(const ModelConfig *cfg, long offset[P_COUNT], long size[P_COUNT]);

#endif
