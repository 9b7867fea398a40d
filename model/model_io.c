#include "model_io.h"

#include <stdlib.h>
#include <string.h>

static const char *const state_sections[MODEL_IO_STATE_SECTIONS] = {"params", "adam_m", "adam_v",
                                                                    "ema"};

static float *state_buffer(const Model *m, int i) {
    float *bufs[MODEL_IO_STATE_SECTIONS] = {m->params, m->adam_m, m->adam_v, m->ema};
    return bufs[i];
}

int model_io_restore_section(Model *m, float *dst, const Checkpoint *ck, const char *name,
                             const char *path, Err *err) {
    size_t bytes = (size_t)m->n_params_padded * sizeof(float);
    const CkptSection *s = checkpoint_section(ck, name);
    if (!s) return 1;
    if (s->bytes != bytes)
        return err_set(err,
                       "%s: section '%s' holds %llu bytes but this model needs %zu "
                       "(model shape differs from the checkpoint's)",
                       path, name, (unsigned long long)s->bytes, bytes);
    m->be->ops->upload(m->be, dst, s->data, bytes);
    return 0;
}

int model_io_restore(Model *m, const Checkpoint *ck, const char *path, int with_optimizer,
                     Err *err) {
    for (int i = 0; i < MODEL_IO_STATE_SECTIONS; i++) {
        float *dst = state_buffer(m, i);
        if (!dst || (!with_optimizer && (i == 1 || i == 2))) continue;
        int rc = model_io_restore_section(m, dst, ck, state_sections[i], path, err);
        if (rc < 0) return -1;
        if (rc == 1 && i == 3) { /* no EMA saved: start it from the weights */
            m->be->ops->copy(m->be, dst, m->params, (size_t)m->n_params_padded * sizeof(float));
        } else if (rc == 1) {
            return err_set(err, "%s: checkpoint has no '%s' section", path, state_sections[i]);
        }
    }
    return 0;
}

int model_io_state_sections(Model *m, CkptSection *sec) {
    size_t bytes = (size_t)m->n_params_padded * sizeof(float);
    int n = 0;
    for (int i = 0; i < MODEL_IO_STATE_SECTIONS; i++) {
        float *src = state_buffer(m, i);
        if (!src) continue;
        memset(&sec[n], 0, sizeof(sec[n]));
        snprintf(sec[n].name, CKPT_NAME_LEN, "%s", state_sections[i]);
        sec[n].data = malloc(bytes);
        sec[n].bytes = bytes;
        if (sec[n].data) m->be->ops->download(m->be, sec[n].data, src, bytes);
        n++;
    }
    return n;
}
