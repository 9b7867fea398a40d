/* libFuzzer target: bytes as a sweep file through the config loader, the sweep sections, the
 * per-run checks and the expansion (via a temporary file: the loaders read paths), and through
 * the report options reader. A load either fails with a one-line message, or gives 1 to
 * SWEEP_MAX_RUNS runs numbered in order, with distinct ids, whose configs rebuild to their ids.
 * Built with a low SWEEP_MAX_RUNS (tests/fuzz/meson.build) so that one input stays fast. */
#include "sweep/sweep.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char input_path[64];

static void remove_input(void) {
    unlink(input_path);
}

static const char *write_input(const uint8_t *data, size_t size) {
    if (!input_path[0]) {
        snprintf(input_path, sizeof(input_path), "/tmp/fuzz_sweep_%ld.yaml", (long)getpid());
        atexit(remove_input);
    }
    FILE *f = fopen(input_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
    return input_path;
}

static void check_error(int rc, const Err *err) {
    if (rc != -1 || !err->msg[0] || strchr(err->msg, '\n')) abort();
}

/* The first and last runs rebuild to their ids (every id is checked by tests/test_sweep.c; here
 * a few keep the fuzzer fast). */
static void check_runs(const Sweep *sw) {
    if (sw->n_runs < 1 || sw->n_runs > SWEEP_MAX_RUNS) abort();
    for (int i = 0; i < sw->n_runs; i++) {
        if (sw->runs[i].index != i) abort();
        for (int j = 0; j < i; j++)
            if (strcmp(sw->runs[i].id, sw->runs[j].id) == 0) abort();
    }
    for (int i = 0; i < sw->n_runs; i += i < 4 ? 1 : sw->n_runs) {
        Config cfg;
        Err err;
        char id[SWEEP_ID_LEN];
        if (sweep_run_config(sw, &sw->runs[i], &cfg, &err) != 0) abort();
        sweep_run_id(&cfg, id);
        if (strcmp(id, sw->runs[i].id) != 0 || cfg.seed != sw->runs[i].seed) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Sweep sw;
    Err err;
    err.msg[0] = '\0';
    int rc = sweep_load(&sw, write_input(data, size), NULL, 0, &err);
    if (rc == 0)
        check_runs(&sw);
    else
        check_error(rc, &err);
    sweep_free(&sw);
    SweepReportOptions o;
    err.msg[0] = '\0';
    rc = sweep_report_options((const char *)data, size, "fuzz.yaml", &o, &err);
    if (rc == 0 && (o.bootstrap < 0 || o.tokens_per_step < 1 || !(o.smoothing < 1.0))) abort();
    if (rc != 0) check_error(rc, &err);
    return 0;
}
