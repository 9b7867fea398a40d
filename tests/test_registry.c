/* The three registries (tasks, forward processes, backends) share one style: a table from
 * which every name list is derived. Each entry's name must be its ops' name, findable, unique,
 * and listed, in table order, in the comma-separated list that help texts and errors print. */
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "base/config.h"
#include "forward/config_schema.h"
#include "forward/forward.h"
#include "tasks/task.h"
#include "check.h"

typedef struct Kind {
    const char *what;
    int (*count)(void);
    const char *(*name_at)(int i);
    int (*found_at)(const char *name, int i); /* find(name) is entry i */
    const char *(*names)(void);
    const ConfigSection *(*section_at)(int i); /* the entry's own keys, or NULL */
} Kind;

static const ConfigSection *task_section_at(int i) {
    return task_at(i)->config;
}
static const ConfigSection *process_section_at(int i) {
    return forward_at(i)->config;
}
static const ConfigSection *backend_section_at(int i) {
    return backend_at(i)->config;
}

/* A section belongs to its entry and its keys are in the config schema: a default config
 * holds them, so they load, print in `mdmlab keys` and count in run ids. */
static void check_section(const char *what, const char *name, const ConfigSection *sec) {
    if (!sec) return;
    CHECK_MSG(sec->owner && strcmp(sec->owner, name) == 0, "%s '%s': section owned by '%s'", what,
              name, sec->owner ? sec->owner : "(null)");
    CHECK_MSG(sec->key_count > 0 && sec->params_size > 0, "%s '%s': empty section", what, name);
    Config cfg;
    config_defaults(&cfg);
    for (int i = 0; i < sec->key_count; i++) {
        int found = 0;
        for (int k = 0; k < config_key_count(&cfg); k++)
            found += config_key_at(&cfg, k) == &sec->keys[i];
        CHECK_MSG(found == 1, "%s '%s': key '%s' is in the schema %d times", what, name,
                  sec->keys[i].name, found);
    }
    (void)config_params_of(&cfg, sec); /* aborts when the schema lacks the section */
}

static const char *task_name_at(int i) {
    return task_at(i)->name;
}
static int task_found_at(const char *name, int i) {
    return task_find(name) == task_at(i);
}
static const char *process_name_at(int i) {
    return forward_at(i)->name;
}
static int process_found_at(const char *name, int i) {
    return forward_find(name) == forward_at(i);
}
static const char *backend_name_at(int i) {
    return backend_at(i)->name;
}
static int backend_found_at(const char *name, int i) {
    return backend_find(name) == backend_at(i);
}

static void check_kind(const Kind *k) {
    int n = k->count();
    CHECK_MSG(n >= 1, "%s: empty registry", k->what);
    StrBuf joined = {0};
    for (int i = 0; i < n; i++) {
        const char *name = k->name_at(i);
        CHECK_MSG(name && name[0], "%s %d: no name", k->what, i);
        CHECK_MSG(k->found_at(name, i), "%s '%s': find does not return entry %d", k->what, name, i);
        for (int j = 0; j < i; j++)
            CHECK_MSG(strcmp(k->name_at(j), name) != 0, "%s '%s' registered twice", k->what, name);
        sb_printf(&joined, "%s%s", i ? ", " : "", name);
        check_section(k->what, name, k->section_at(i));
    }
    /* the compile-time list printed by help and errors is the entries' names in table order */
    CHECK_MSG(joined.data && strcmp(k->names(), joined.data) == 0, "%s: listed '%s', entries '%s'",
              k->what, k->names(), joined.data ? joined.data : "");
    printf("%s: %s\n", k->what, k->names());
    sb_free(&joined);
}

int main(void) {
    const Kind kinds[] = {
        {"tasks", task_count, task_name_at, task_found_at, task_names, task_section_at},
        {"forward processes", forward_count, process_name_at, process_found_at, forward_names,
         process_section_at},
        {"backends", backend_count, backend_name_at, backend_found_at, backend_names,
         backend_section_at},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) check_kind(&kinds[i]);
    CHECK(task_find("no such task") == NULL && forward_find("no such process") == NULL &&
          backend_find("no such backend") == NULL);
    /* the baseline that bench compares against is the first process: random masking */
    CHECK(forward_at(0)->make_batch != NULL && forward_at(forward_count()) == NULL);
    return check_summary("registry");
}
