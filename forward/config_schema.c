/* The schema is derived from the registries: a module with keys needs no line here. */
#include "config_schema.h"

#include "backends/backend.h"
#include "forward.h"
#include "tasks/task.h"

static int section_count(void) {
    return task_count() + forward_count() + backend_count();
}

/* Tasks, then processes, then backends, each in registry order; NULL for a module without
 * keys of its own. */
static const ConfigSection *section_at(int i) {
    if (i < task_count()) return task_at(i)->config;
    i -= task_count();
    if (i < forward_count()) return forward_at(i)->config;
    return backend_at(i - forward_count())->config;
}

static const char *task_name_at(int i) {
    return task_at(i)->name;
}

static const char *process_name_at(int i) {
    return forward_at(i)->name;
}

static const ConfigNamedKey named_keys[] = {
    {"task.name", task_count, task_name_at},
    {"process", forward_count, process_name_at},
};

static const ConfigSchema schema = {
    .section_count = section_count,
    .section_at = section_at,
    .named_keys = named_keys,
    .named_key_count = sizeof named_keys / sizeof named_keys[0],
};

const ConfigSchema *mdmlab_config_schema(void) {
    return &schema;
}

void config_defaults(Config *cfg) {
    config_init(cfg, &schema);
}
