/* Task registry. Adding a task = one X(...) line in TASK_TABLE. */
#include "task.h"
#include "base/config.h"

#include <string.h>

#define TASK_TABLE(X)                                                                              \
    X(task_sudoku_ops, "sudoku") X(task_tinygsm_ops, "tinygsm") X(task_text_ops, "text")

#define TASK_AS_OPS(ops, name)         &ops,
#define TASK_AS_LISTED_NAME(ops, name) ", " name

static const TaskOps *const task_table[] = {TASK_TABLE(TASK_AS_OPS)};
/* ", a, b" built at compile time; task_names() skips the leading separator. */
static const char task_name_list[] = TASK_TABLE(TASK_AS_LISTED_NAME);

const TaskOps *task_find(const char *name) {
    for (size_t i = 0; i < sizeof task_table / sizeof *task_table; i++)
        if (strcmp(task_table[i]->name, name) == 0) return task_table[i];
    return NULL;
}

const char *task_names(void) {
    return task_name_list + 2;
}

int task_create(Task *task, const Config *cfg, Err *err) {
    memset(task, 0, sizeof *task);
    const TaskOps *ops = task_find(cfg->task_name);
    if (!ops)
        return err_set(err, "unknown task '%s' (available: %s)", cfg->task_name, task_names());
    task->ops = ops;
    if (ops->create(task, cfg, err) != 0) {
        task_destroy(task);
        return -1;
    }
    return 0;
}

void task_destroy(Task *task) {
    if (task->ops && task->ops->destroy) task->ops->destroy(task);
    memset(task, 0, sizeof *task);
}
