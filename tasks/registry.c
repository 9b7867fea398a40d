/* Task registry. */
#include "task.h"
#include "base/config.h"

#include <string.h>

/* The registry. Adding a task = its folder, one row here and its Meson line. Every name list
 * (help, errors, keys) is derived from this table; the tests check that each row's name is its
 * ops' name. */
#define TASK_TABLE(X)                                                                              \
    X(task_sudoku_ops, "sudoku") X(task_tinygsm_ops, "tinygsm") X(task_text_ops, "text")

#define TASK_AS_DECLARATION(ops, name) extern const TaskOps ops;
#define TASK_AS_ENTRY(ops, name)       &ops,
#define TASK_AS_LISTED_NAME(ops, name) ", " name

TASK_TABLE(TASK_AS_DECLARATION)
static const TaskOps *const tasks[] = {TASK_TABLE(TASK_AS_ENTRY)};
/* ", a, b" built at compile time; task_names() skips the leading separator. */
static const char task_name_list[] = TASK_TABLE(TASK_AS_LISTED_NAME);

int task_count(void) {
    return (int)(sizeof tasks / sizeof tasks[0]);
}

const TaskOps *task_at(int i) {
    return i >= 0 && i < task_count() ? tasks[i] : NULL;
}

const TaskOps *task_find(const char *name) {
    for (int i = 0; i < task_count(); i++)
        if (strcmp(tasks[i]->name, name) == 0) return tasks[i];
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
