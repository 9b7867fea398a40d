#include "model_io.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"

static const char *const state_sections[MODEL_IO_STATE_SECTIONS] = {"params", "adam_m", "adam_v",
                                                                    "ema"};
static const char *const state_contents[MODEL_IO_STATE_SECTIONS] = {
    "the weights", "the AdamW first moments", "the AdamW second moments", "the EMA weights"};
enum { SECTION_ADAM_V = 2, SECTION_EMA = 3 };

static const char *const tensor_names[P_COUNT] = {"wte", "ln1", "qkv_w", "qkv_b", "o_w", "o_b",
                                                  "ln2", "w1",  "w2",    "w3",    "lnf", "head"};

static float *state_buffer(const Model *m, int i) {
    float *bufs[MODEL_IO_STATE_SECTIONS] = {m->params, m->adam_m, m->adam_v, m->ema};
    return bufs[i];
}

static long pad16(long n) {
    return (n + 15) & ~15L;
}

long model_io_padded_params(const ModelConfig *cfg) {
    long offset[P_COUNT], size[P_COUNT];
    return model_param_layout(cfg, offset, size);
}

/* The shape of the model ck's stored config describes (vocab 0: the task knows it); *kept_ema,
 * when asked, whether its run kept EMA weights. */
static int stored_model_shape(const Checkpoint *ck, const char *path, ModelConfig *mc,
                              int *kept_ema, Err *err) {
    if (strspn(ck->config_yaml, " \t\r\n") == ck->config_len)
        return err_set(err, "%s: stored config is empty", path);
    Config saved; /* the model keys are core keys: the modules' sections are not needed */
    config_init(&saved, NULL);
    if (config_load_known_keys(&saved, ck->config_yaml, ck->config_len, path, err))
        return err_one_line(err); /* a stored key may hold a newline */
    int d = saved.model.d, heads = saved.model.heads;
    if (d % heads || (d / heads) % 2)
        return err_set(err,
                       "%s: stored config: model.d=%d does not split into model.heads=%d heads "
                       "of even size",
                       path, d, heads);
    memset(mc, 0, sizeof *mc);
    mc->d = d;
    mc->layers = saved.model.layers;
    mc->heads = heads;
    mc->ffn = saved.model.ffn;
    mc->tied_head = saved.model.tied_head;
    if (kept_ema) *kept_ema = saved.train.ema;
    return 0;
}

enum { SUB_HEADER = 4 }; /* "sub_tokens": ell, base, mask_id, vocab, then the codes */

static int32_t sub_field(const CkptSection *s, size_t i) {
    int32_t v;
    memcpy(&v, (const unsigned char *)s->data + i * sizeof v, sizeof v);
    return v;
}

/* A "sub_tokens" section, when present, makes mc a sub-token model: its ell and base, checked
 * for sense (the codes are checked against the model's own when it loads). */
static int stored_sub_tokens(const Checkpoint *ck, const char *path, ModelConfig *mc, Err *err) {
    const CkptSection *s = checkpoint_section(ck, "sub_tokens");
    if (!s) return 0;
    if (s->bytes < SUB_HEADER * sizeof(int32_t) || s->bytes % sizeof(int32_t))
        return err_set(err, "%s: section 'sub_tokens' holds %llu bytes: the file is damaged", path,
                       (unsigned long long)s->bytes);
    int32_t ell = sub_field(s, 0), base = sub_field(s, 1), mask = sub_field(s, 2);
    int32_t vocab = sub_field(s, 3);
    if (ell < 2 || ell > SUBTOKEN_MAX_ELL || base < 2 || vocab < 2 || mask < 0 || mask >= vocab ||
        s->bytes != (SUB_HEADER + (uint64_t)vocab * ell) * sizeof(int32_t) || mc->tied_head)
        return err_set(err,
                       "%s: section 'sub_tokens' (ell %d, base %d, vocab %d, %llu bytes) does not "
                       "describe a sub-token model of an untied head: the file is damaged",
                       path, ell, base, vocab, (unsigned long long)s->bytes);
    mc->sub_tokens = ell;
    mc->sub_base = base;
    mc->sub_mask_id = mask;
    return 0;
}

/* The vocabulary for which mc's parameter layout is `floats` floats, or 0 when none is. Only
 * the embedding and the head depend on it (for a sub-token model only the head), each padded
 * on its own. */
static long vocab_for(const ModelConfig *mc, uint64_t floats) {
    ModelConfig no_vocab = *mc;
    no_vocab.vocab = 0;
    uint64_t fixed = (uint64_t)model_io_padded_params(&no_vocab);
    uint64_t per_tensor = mc->tied_head || mc->sub_tokens > 1 ? 1 : 2;
    if (floats <= fixed || (floats - fixed) % per_tensor) return 0;
    uint64_t tensor = (floats - fixed) / per_tensor;
    uint64_t vocab = tensor / (uint64_t)mc->d; /* the largest whose padded embedding fits */
    if (vocab < 2 || vocab > INT_MAX || (uint64_t)pad16((long)vocab * mc->d) != tensor) return 0;
    return (long)vocab;
}

/* Sets mc->vocab from the size of "params", refusing a size no vocabulary gives. */
static int check_params_size(ModelConfig *mc, const CkptSection *params, const char *path,
                             Err *err) {
    long vocab = params->bytes % sizeof(float) ? 0 : vocab_for(mc, params->bytes / sizeof(float));
    if (vocab == 0) {
        ModelConfig no_vocab = *mc;
        no_vocab.vocab = 0;
        return err_set(err,
                       "%s: stored config does not describe the stored weights: its model (d=%d "
                       "layers=%d heads=%d ffn=%d tied_head=%d) needs %ld bytes plus %zu per "
                       "vocabulary entry, but section 'params' holds %llu bytes",
                       path, mc->d, mc->layers, mc->heads, mc->ffn, mc->tied_head,
                       model_io_padded_params(&no_vocab) * (long)sizeof(float),
                       (size_t)mc->d * (mc->tied_head ? 1 : 2) * sizeof(float),
                       (unsigned long long)params->bytes);
    }
    mc->vocab = (int)vocab;
    return 0;
}

/* Where float `index` of a parameter-shaped buffer of shape mc lies, in words. */
static void describe_float(const ModelConfig *mc, long index, char *out, size_t n) {
    long offset[P_COUNT], size[P_COUNT];
    model_param_layout(mc, offset, size);
    for (int t = 0; t < P_COUNT; t++) {
        long e = index - offset[t];
        if (e < 0 || e >= pad16(size[t])) continue;
        if (e >= size[t])
            snprintf(out, n, "padding after tensor '%s'", tensor_names[t]);
        else if (t >= P_LN1 && t <= P_W3) /* stacked over layers */
            snprintf(out, n, "tensor '%s', layer %ld, element %ld", tensor_names[t],
                     e / (size[t] / mc->layers), e % (size[t] / mc->layers));
        else
            snprintf(out, n, "tensor '%s', element %ld", tensor_names[t], e);
        return;
    }
    snprintf(out, n, "past the last tensor");
}

/* Index of the first float of s that is not finite, or negative when nonnegative; -1 if none. */
static long first_bad_float(const CkptSection *s, int nonnegative, float *value) {
    const unsigned char *p = s->data; /* possibly unaligned */
    size_t n = (size_t)s->bytes / sizeof(float);
    for (size_t i = 0; i < n; i++) {
        float x;
        memcpy(&x, p + i * sizeof x, sizeof x);
        if (!isfinite(x) || (nonnegative && x < 0.0f)) {
            *value = x;
            return (long)i;
        }
    }
    return -1;
}

static int check_floats(const ModelConfig *mc, const CkptSection *s, int nonnegative,
                        const char *path, Err *err) {
    float value;
    long bad = first_bad_float(s, nonnegative, &value);
    if (bad < 0) return 0;
    char where[128];
    describe_float(mc, bad, where, sizeof where);
    return err_set(err, "%s: section '%s' holds %g at float %ld (%s): %s", path, s->name,
                   (double)value, bad, where,
                   isfinite(value) ? "second moments are never negative" : "the file is damaged");
}

int model_io_check(const Checkpoint *ck, const char *path, Err *err) {
    ModelConfig mc;
    if (stored_model_shape(ck, path, &mc, NULL, err)) return -1;
    const CkptSection *params = checkpoint_section(ck, "params");
    if (!params) return err_set(err, "%s: no 'params' section (the weights)", path);
    if (stored_sub_tokens(ck, path, &mc, err) || check_params_size(&mc, params, path, err))
        return -1;
    const CkptSection *sub = checkpoint_section(ck, "sub_tokens");
    if (sub && sub_field(sub, 3) != mc.vocab)
        return err_set(err, "%s: section 'sub_tokens' is for a vocabulary of %d, the weights of %d",
                       path, sub_field(sub, 3), mc.vocab);
    for (int i = 0; i < MODEL_IO_STATE_SECTIONS; i++) {
        const CkptSection *s = checkpoint_section(ck, state_sections[i]);
        if (!s) continue;
        if (s->bytes != params->bytes)
            return err_set(err, "%s: section '%s' holds %llu bytes, 'params' %llu", path, s->name,
                           (unsigned long long)s->bytes, (unsigned long long)params->bytes);
        if (check_floats(&mc, s, i == SECTION_ADAM_V, path, err)) return -1;
    }
    return 0;
}

int model_io_check_resumable(const Checkpoint *ck, const char *path, int with_ema, Err *err) {
    for (int i = 0; i < MODEL_IO_STATE_SECTIONS; i++) {
        if (i == SECTION_EMA && !with_ema) continue;
        if (!checkpoint_section(ck, state_sections[i]))
            return err_set(err,
                           "%s: cannot resume: no '%s' section (%s), so training would not "
                           "continue bit-exactly; start a fresh run from its weights with "
                           "train.init_from=%s in another out_dir",
                           path, state_sections[i], state_contents[i], path);
    }
    return 0;
}

int model_io_eval_uses_ema(const Checkpoint *ck, const char *path, int want, Err *note) {
    note->msg[0] = '\0';
    if (!want) return 0;
    if (checkpoint_section(ck, "ema")) return 1;
    ModelConfig mc;
    int kept_ema = 0;
    Err ignored; /* checkpoint_read parsed this config already */
    stored_model_shape(ck, path, &mc, &kept_ema, &ignored);
    if (kept_ema)
        err_set(note,
                "%s has no 'ema' section although its run kept EMA weights (train.ema): "
                "evaluating its trained weights ('params') instead (--no-ema asks for them)",
                path);
    else
        err_set(note,
                "%s holds no EMA weights (its run had train.ema=false): evaluating its trained "
                "weights ('params') (--no-ema asks for them)",
                path);
    return 0;
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

/* A sub-token model reads tokens through its codes: the checkpoint's must be the same. */
static int check_sub_tokens_match(const Model *m, const Checkpoint *ck, const char *path,
                                  Err *err) {
    const SubTokenizer *st = model_sub_tokenizer(m);
    const CkptSection *s = checkpoint_section(ck, "sub_tokens");
    if (!st && !s) return 0;
    if (!st || !s)
        return err_set(err,
                       "%s: the checkpoint's model %s sub-tokens (MDM-Prime), this one %s: "
                       "evaluate it with the process and prime.ell it was trained with",
                       path, s ? "reads" : "does not read", st ? "does" : "does not");
    int same = sub_field(s, 0) == st->ell && sub_field(s, 1) == st->base &&
               sub_field(s, 2) == st->mask_id && sub_field(s, 3) == st->vocab;
    for (long i = 0; same && i < (long)st->vocab * st->ell; i++)
        same = sub_field(s, SUB_HEADER + (size_t)i) == st->codes[i];
    if (!same)
        return err_set(err,
                       "%s: the checkpoint's sub-token codes (ell %d, base %d) differ from this "
                       "model's (ell %d, base %d, prime.permute %llu)",
                       path, sub_field(s, 0), sub_field(s, 1), st->ell, st->base,
                       (unsigned long long)st->permute);
    return 0;
}

int model_io_restore(Model *m, const Checkpoint *ck, const char *path, int with_optimizer,
                     Err *err) {
    if (with_optimizer && model_io_check_resumable(ck, path, m->ema != NULL, err)) return -1;
    if (check_sub_tokens_match(m, ck, path, err)) return -1;
    for (int i = 0; i < MODEL_IO_STATE_SECTIONS; i++) {
        float *dst = state_buffer(m, i);
        if (!dst || (!with_optimizer && i != 0 && i != SECTION_EMA)) continue;
        int rc = model_io_restore_section(m, dst, ck, state_sections[i], path, err);
        if (rc < 0) return -1;
        if (rc == 1 && i == SECTION_EMA) { /* evaluation without saved EMA: the weights */
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
    const SubTokenizer *st = model_sub_tokenizer(m);
    if (st) {
        size_t count = SUB_HEADER + (size_t)st->vocab * st->ell;
        int32_t *v = malloc(count * sizeof *v);
        memset(&sec[n], 0, sizeof(sec[n]));
        snprintf(sec[n].name, CKPT_NAME_LEN, "sub_tokens");
        sec[n].data = v;
        sec[n].bytes = count * sizeof *v;
        if (v) {
            v[0] = st->ell, v[1] = st->base, v[2] = st->mask_id, v[3] = st->vocab;
            for (size_t i = SUB_HEADER; i < count; i++) v[i] = st->codes[i - SUB_HEADER];
        }
        n++;
    }
    return n;
}
