/* Random masking, the MDM baseline: per sequence draw m uniform in {1..L_eff} and mask a
 * uniformly random subset of m non-prompt positions. Stateless: the framework's scratch is
 * all it needs. */
#include "forward.h"

const ForwardOps forward_random_ops = {
    .name = "random",
    .description = "MDM baseline: mask m ~ U{1..L_eff} random answer positions per sequence",
    .make_batch = forward_random_masking_batch,
};
