/* Tests set a module's keys the way a user does: by name, through the key's own parser. */
#ifndef MDMLAB_TEST_CONFIG_SET_H
#define MDMLAB_TEST_CONFIG_SET_H

#include "base/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Sets key to the printf-formatted value; a refused value is a bug in the test: abort. */
static inline void config_set(Config *cfg, const char *key, const char *fmt, ...) {
    char assignment[CFG_PATH + 64];
    int n = snprintf(assignment, sizeof assignment, "%s=", key);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(assignment + n, sizeof assignment - (size_t)n, fmt, ap);
    va_end(ap);
    Err err;
    if (config_apply_override(cfg, assignment, &err) != 0) {
        fprintf(stderr, "config_set: %s\n", err.msg);
        abort();
    }
}

#endif
