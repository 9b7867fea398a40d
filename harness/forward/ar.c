/* placeholder while the ar process is being written */
#include "forward.h"

static int placeholder_create(ForwardProcess *fp, const Config *cfg, const Task *task, Err *err) {
    (void)fp;
    (void)cfg;
    (void)task;
    return err_set(err, "process 'ar' is not built yet");
}

const ForwardOps forward_ar_ops = {.name = "ar", .create = placeholder_create};
