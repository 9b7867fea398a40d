/* AdamW with warmup + cosine learning rate, global-norm gradient clipping and EMA weights. */
#ifndef MDMLAB_OPTIM_H
#define MDMLAB_OPTIM_H

#include "base/config.h"
#include "model.h"

/* Learning rate for 0-based step: linear warmup to train.lr over warmup_steps, then cosine
 * decay to lr * min_lr_frac at train.steps. */
double optim_lr_at(const Config *cfg, long step);
/* EMA decay after n updates: min(0.9999, (1 + n) / (10 + n)). */
double optim_ema_decay(long n);

typedef struct OptimStats {
    double lr, grad_norm; /* norm before clipping */
} OptimStats;

/* Clip, AdamW-update and (if enabled) EMA-update the model for 0-based `step`. */
OptimStats optim_step(Model *m, const Config *cfg, long step);

#endif
