#include "optim.h"

#include <math.h>

double optim_lr_at(const Config *cfg, long step) {
    double lr = cfg->train.lr;
    long warm = cfg->train.warmup_steps, total = cfg->train.steps;
    if (step < warm) return lr * (double)(step + 1) / (double)warm;
    if (total <= warm) return lr;
    double progress = (double)(step - warm) / (double)(total - warm);
    if (progress > 1.0) progress = 1.0;
    double floor = lr * cfg->train.min_lr_frac;
    return floor + (lr - floor) * 0.5 * (1.0 + cos(M_PI * progress));
}

double optim_ema_decay(long n) {
    double d = (1.0 + (double)n) / (10.0 + (double)n);
    return d < 0.9999 ? d : 0.9999;
}

OptimStats optim_step(Model *m, const Config *cfg, long step) {
    const BackendOps *ops = m->be->ops;
    OptimStats st;
    st.lr = optim_lr_at(cfg, step);
    st.grad_norm = sqrt(ops->sumsq(m->be, m->grads, m->n_params_padded));
    double clip = cfg->train.grad_clip, scale = 1.0;
    if (clip > 0 && st.grad_norm > clip) scale = clip / (st.grad_norm + 1e-6);
    ops->adamw(m->be, m->params, m->grads, m->adam_m, m->adam_v, m->n_params_padded, (float)st.lr,
               (float)cfg->train.beta1, (float)cfg->train.beta2, (float)cfg->train.adam_eps,
               (float)cfg->train.weight_decay, (float)scale, (int)(step + 1));
    if (m->ema)
        ops->ema_update(m->be, m->ema, m->params, m->n_params_padded, (float)optim_ema_decay(step));
    return st;
}
