/* The host-memory implementation of every backend op except matmul, shared by the CPU
 * backends (ref, openblas, onednn).
 *
 * Parallelism: OpenMP with a num_threads(be->threads) clause on every parallel region; no
 * omp_set_num_threads, no global state. Determinism: every output element is computed by
 * one thread in an order fixed by the shapes alone, so results are bit-identical run to
 * run AND across thread counts (a reduction over rows either runs column-parallel in row
 * order or adds the partial sums of fixed row chunks in chunk order). Hot loops are compiled per
 * ISA level (CPU_KERNEL) and picked at load time, so results may differ between machines of
 * different ISA levels but never between runs on one machine. */
#ifndef MDMLAB_CPU_OPS_H
#define MDMLAB_CPU_OPS_H

#include "backend.h"

/* GCC builds each hot kernel three times, for x86-64-v4 (AVX-512 instructions, 256-bit
 * vectors under generic tuning, masked loop tails), x86-64-v3 (AVX2+FMA) and the baseline,
 * and picks one at load time. Kernels may contract a*b+c into FMA (-std=c11 disables it
 * elsewhere); GCC still inlines the plain helpers into them, which it would not do across
 * other differing optimize options. Only for leaf functions without OpenMP regions: an
 * outlined region body would not follow the clone's ISA. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CPU_KERNEL                                                                                 \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"),                   \
                   optimize("fp-contract=fast")))
#else
#define CPU_KERNEL
#endif

/* malloc for an op's host scratch; NULL after recording an out-of-memory failure of `op`
 * in be (backend_fail), so the op returns at once. */
void *cpu_scratch(Backend *be, const char *op, size_t bytes);

void *cpu_alloc(Backend *be, size_t bytes);
void cpu_free(Backend *be, void *p);
void cpu_upload(Backend *be, void *dst, const void *src, size_t bytes);
void cpu_download(Backend *be, void *dst, const void *src, size_t bytes);
void cpu_copy(Backend *be, void *dst, const void *src, size_t bytes);
void cpu_zero(Backend *be, void *p, size_t bytes);
int cpu_sync(Backend *be);

void cpu_embedding_forward(Backend *be, float *out, const int *tokens, const float *wte, int n,
                           int d);
void cpu_embedding_backward(Backend *be, float *dwte, const int *tokens, const float *dout, int n,
                            int d, int vocab);
void cpu_rmsnorm_forward(Backend *be, float *out, float *rstd, const float *x, const float *w,
                         int n, int d, float eps);
void cpu_rmsnorm_backward(Backend *be, float *dx, float *dw, const float *dout, const float *x,
                          const float *w, const float *rstd, int n, int d);
void cpu_bias_forward(Backend *be, float *x, const float *bias, int n, int d);
void cpu_bias_backward(Backend *be, float *dbias, const float *dout, int n, int d);
void cpu_qkv_split_rope_forward(Backend *be, float *q, float *k, float *v, const float *qkv,
                                const float *rope_cos, const float *rope_sin, int pair_stride,
                                int B, int T, int H, int hd);
void cpu_qkv_split_rope_backward(Backend *be, float *dqkv, const float *dq, const float *dk,
                                 const float *dv, const float *rope_cos, const float *rope_sin,
                                 int pair_stride, int B, int T, int H, int hd);
void cpu_heads_merge_forward(Backend *be, float *out, const float *y, int B, int T, int H, int hd);
void cpu_heads_merge_backward(Backend *be, float *dy, const float *dout, int B, int T, int H,
                              int hd);
void cpu_softmax_forward(Backend *be, float *att, long rows, int T, int causal, float future_keep,
                         uint64_t mask_seed);
void cpu_softmax_backward(Backend *be, float *datt, const float *att, long rows, int T);
void cpu_swiglu_forward(Backend *be, float *out, const float *a, const float *b, long n);
void cpu_swiglu_backward(Backend *be, float *da, float *db, const float *dout, const float *a,
                         const float *b, long n);
void cpu_add(Backend *be, float *out, const float *x, const float *y, long n);
void cpu_xent_forward_backward(Backend *be, float *loss_rows, float *dlogits, const float *logits,
                               const int *targets, const float *weights, int n, int V);
void cpu_max_log_prob(Backend *be, float *out, const float *logits, int n, int V, int exclude_id);
void cpu_subtoken_filter(Backend *be, float *logits, const int *ids, const int *codes, int n, int V,
                         int ell, int base);
double cpu_sumsq(Backend *be, const float *x, long n);
void cpu_scale(Backend *be, float *x, float s, long n);
void cpu_adamw(Backend *be, float *params, const float *grads, float *m, float *v, long n, float lr,
               float beta1, float beta2, float eps, float weight_decay, float grad_scale, int t);
void cpu_ema_update(Backend *be, float *ema, const float *params, long n, float decay);

/* The designated initializers of every shared op, for a CPU backend's BackendOps table:
 *   const BackendOps backend_x_ops = {.name = "x", ..., .matmul = x_matmul, CPU_OPS_COMMON};
 */
#define CPU_OPS_COMMON                                                                             \
    .alloc = cpu_alloc, .free = cpu_free, .upload = cpu_upload, .download = cpu_download,          \
    .copy = cpu_copy, .zero = cpu_zero, .sync = cpu_sync,                                          \
    .embedding_forward = cpu_embedding_forward, .embedding_backward = cpu_embedding_backward,      \
    .rmsnorm_forward = cpu_rmsnorm_forward, .rmsnorm_backward = cpu_rmsnorm_backward,              \
    .bias_forward = cpu_bias_forward, .bias_backward = cpu_bias_backward,                          \
    .qkv_split_rope_forward = cpu_qkv_split_rope_forward,                                          \
    .qkv_split_rope_backward = cpu_qkv_split_rope_backward,                                        \
    .heads_merge_forward = cpu_heads_merge_forward,                                                \
    .heads_merge_backward = cpu_heads_merge_backward, .softmax_forward = cpu_softmax_forward,      \
    .softmax_backward = cpu_softmax_backward, .swiglu_forward = cpu_swiglu_forward,                \
    .swiglu_backward = cpu_swiglu_backward, .add = cpu_add,                                        \
    .xent_forward_backward = cpu_xent_forward_backward, .max_log_prob = cpu_max_log_prob,          \
    .subtoken_filter = cpu_subtoken_filter, .sumsq = cpu_sumsq, .scale = cpu_scale,                \
    .adamw = cpu_adamw, .ema_update = cpu_ema_update

#endif
