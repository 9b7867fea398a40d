/* placeholder while the puma process is being written */
#include "forward.h"

static int placeholder_create(ForwardProcess *fp, const Config *cfg, const Task *task, Err *err) {
    (void)fp;
    (void)cfg;
    (void)task;
    return err_set(err, "process 'puma' is not built yet");
}

const ForwardOps forward_puma_ops = {.name = "puma", .create = placeholder_create};
