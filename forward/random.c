/* Random masking, the MDM baseline: per sequence draw m uniform in {1..L_eff} and mask a
 * uniformly random subset of m non-prompt positions. */
#include "forward.h"

#include <stdlib.h>

typedef struct RandomMasking {
    int *answer_pos; /* scratch: non-prompt positions of one sequence */
    unsigned char *is_prompt;
} RandomMasking;

static int random_create(ForwardProcess *fp, const Config *cfg, const Task *task, Err *err) {
    (void)cfg;
    RandomMasking *rm = calloc(1, sizeof(*rm));
    if (rm) {
        rm->answer_pos = malloc((size_t)task->seq_len * sizeof(int));
        rm->is_prompt = malloc((size_t)task->seq_len);
    }
    if (!rm || !rm->answer_pos || !rm->is_prompt) {
        if (rm) free(rm->answer_pos);
        free(rm);
        return err_set(err, "process 'random': out of memory");
    }
    fp->impl = rm;
    return 0;
}

static void random_destroy(ForwardProcess *fp) {
    RandomMasking *rm = fp->impl;
    free(rm->answer_pos);
    free(rm->is_prompt);
    free(rm);
}

static void random_make_batch(ForwardProcess *fp, long step, ForwardBatch *batch) {
    RandomMasking *rm = fp->impl;
    forward_random_masking_batch(fp, step, batch, rm->is_prompt, rm->answer_pos);
}

const ForwardOps forward_random_ops = {
    .name = "random",
    .description = "MDM baseline: mask m ~ U{1..L_eff} random answer positions per sequence",
    .create = random_create,
    .destroy = random_destroy,
    .make_batch = random_make_batch,
};
