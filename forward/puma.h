/* PUMA's entry for the block process: the same chain run on one block of the answer at a
 * time (process block with block.inner = puma). */
#ifndef MDMLAB_FORWARD_PUMA_H
#define MDMLAB_FORWARD_PUMA_H

#include "forward.h"

/* Sets fp up as PUMA (fp->ops must be forward_puma_ops) whose chain runs inside blocks whose
 * size follows `sizes`, falling back to `size` before its first entry (0 = the whole answer). */
int puma_create_in_blocks(ForwardProcess *fp, const Config *cfg, const Task *task,
                          const Schedule *sizes, long size, Err *err);

#endif
