/* placeholder while the block process is being written */
#include "forward.h"

static int placeholder_create(ForwardProcess *fp, const Config *cfg, const Task *task, Err *err) {
    (void)fp;
    (void)cfg;
    (void)task;
    return err_set(err, "process 'block' is not built yet");
}

const ForwardOps forward_block_ops = {.name = "block", .create = placeholder_create};
