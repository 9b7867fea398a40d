/* Forward-process registry and the batch helpers every process shares. */
#include "forward.h"

#include <stdlib.h>
#include <string.h>

/* The registry. Adding a process = its file, one row here and its Meson line. The first row
 * is the baseline the others are compared with (random masking: bench's reference). Every name
 * list (help, errors, keys, bench) is derived from this table; the tests check that each row's
 * name is its ops' name. */
#define PROCESS_TABLE(X)                                                                           \
    X(forward_random_ops, "random")                                                                \
    X(forward_puma_ops, "puma")                                                                    \
    X(forward_block_ops, "block") X(forward_ar_ops, "ar") X(forward_prime_ops, "prime")

#define PROCESS_AS_DECLARATION(ops, name) extern const ForwardOps ops;
#define PROCESS_AS_ENTRY(ops, name)       &ops,
#define PROCESS_AS_LISTED_NAME(ops, name) ", " name

PROCESS_TABLE(PROCESS_AS_DECLARATION)
static const ForwardOps *const processes[] = {PROCESS_TABLE(PROCESS_AS_ENTRY)};
/* ", a, b" built at compile time; forward_names() skips the leading separator. */
static const char process_name_list[] = PROCESS_TABLE(PROCESS_AS_LISTED_NAME);

int forward_count(void) {
    return (int)(sizeof processes / sizeof processes[0]);
}

const ForwardOps *forward_at(int i) {
    return i >= 0 && i < forward_count() ? processes[i] : NULL;
}

const ForwardOps *forward_find(const char *name) {
    for (int i = 0; i < forward_count(); i++)
        if (strcmp(processes[i]->name, name) == 0) return processes[i];
    return NULL;
}

const char *forward_names(void) {
    return process_name_list + 2;
}

int forward_create(ForwardProcess *fp, const Config *cfg, const Task *task, Err *err) {
    memset(fp, 0, sizeof(*fp));
    const ForwardOps *ops = forward_find(cfg->process);
    if (!ops)
        return err_set(err, "key 'process': unknown forward process '%s' (available: %s)",
                       cfg->process, forward_names());
    if (task->n_train <= 0)
        return err_set(err,
                       "process '%s': the task has no training examples (key 'task.train_count' "
                       "is 0 and no task.train_file)",
                       ops->name);
    fp->ops = ops;
    fp->task = task;
    fp->seed = (uint64_t)cfg->seed;
    fp->batch = cfg->train.batch;
    fp->positions = malloc((size_t)task->seq_len * sizeof(int));
    fp->is_prompt = malloc((size_t)task->seq_len);
    if (!fp->positions || !fp->is_prompt) {
        forward_destroy(fp);
        return err_set(err, "process '%s': out of memory", ops->name);
    }
    return ops->create ? ops->create(fp, cfg, task, err) : 0;
}

void forward_destroy(ForwardProcess *fp) {
    /* impl NULL: create failed (or the process keeps no state): nothing of its to release */
    if (fp->ops && fp->ops->destroy && fp->impl) fp->ops->destroy(fp);
    free(fp->positions);
    free(fp->is_prompt);
    memset(fp, 0, sizeof(*fp));
}

Rng forward_step_rng(const ForwardProcess *fp, const char *tag, long step) {
    uint64_t stream = 0;
    for (int i = 0; i < 8 && tag[i]; i++) stream |= (uint64_t)(unsigned char)tag[i] << (56 - 8 * i);
    Rng rng;
    rng_seed(&rng, fp->seed, stream + (uint64_t)step);
    return rng;
}

int forward_batch_alloc(ForwardBatch *b, int B, int T, Err *err) {
    size_t n = (size_t)B * T;
    b->B = B;
    b->T = T;
    b->tokens = malloc(n * sizeof(int));
    b->targets = malloc(n * sizeof(int));
    b->weights = malloc(n * sizeof(float));
    if (!b->tokens || !b->targets || !b->weights) {
        forward_batch_free(b);
        return err_set(err, "out of memory for a batch of %d x %d", B, T);
    }
    return 0;
}

void forward_batch_free(ForwardBatch *b) {
    free(b->tokens);
    free(b->targets);
    free(b->weights);
    memset(b, 0, sizeof(*b));
}

void forward_batch_set_weights(ForwardBatch *batch, int b, int mask_id) {
    int T = batch->T, masked = 0;
    const int *tok = batch->tokens + (size_t)b * T;
    float *w = batch->weights + (size_t)b * T;
    for (int t = 0; t < T; t++) masked += tok[t] == mask_id;
    float wm = masked ? 1.0f / ((float)masked * (float)batch->B) : 0.0f;
    for (int t = 0; t < T; t++) w[t] = tok[t] == mask_id ? wm : 0.0f;
}
