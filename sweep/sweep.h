/* Sweep files: a training config plus sections that turn it into a grid of runs.
 *
 *   task: {box: 2}            # any config keys: the base config of every run
 *   train: {steps: 2000}
 *   seeds: [1, 2, 3]          # the seed axis (slowest, so a partial sweep is balanced)
 *   grid:                     # axes, crossed in file order (the first varies slowest)
 *     process: [random, puma]
 *     train.lr: logspace(-4, -3, 3)      # also range(a, b[, step]) and linspace(a, b, n)
 *     model: {d: [64, 128]}              # nesting is the same as dotted names
 *   zip:                      # groups of axes that vary together (equal lengths)
 *     - {model.d: [64, 128], model.heads: [2, 4]}
 *   exclude:                  # drop runs matching every key of one entry (a list = any of)
 *     - {process: random, puma.K: [4, 8]}
 *   report: {metric: "margin:1", baseline: "process=random", target: 0, smoothing: 0.5,
 *            bootstrap: 2000}
 *   sweep: {jobs: 2, timeout: 3600}      # execution defaults (command-line flags win);
 *                                         # launcher: "mpirun -np 2", ntasks: 2 (MPI runs)
 *
 * Expansion is deterministic: the same file and overrides give the same runs in the same
 * order with the same ids, whatever the key order inside the file. Everything a run would
 * refuse cheaply (key types and bounds, config_validate, unknown process, task or backend
 * names, a process's required keys) is checked for every run (an excluded grid point is none)
 * before sweep_load returns. */
#ifndef MDMLAB_SWEEP_H
#define MDMLAB_SWEEP_H

#include "base/config.h"

#define SWEEP_MAX_AXES  32
#define SWEEP_MAX_ZIP   8
#define SWEEP_KEY_LEN   128
#define SWEEP_LABEL_LEN 512
#define SWEEP_ID_LEN    17 /* 16 hex digits + NUL */
/* The most runs a grid may have, and so the most values of one axis. Fuzzing builds lower it
 * (-DSWEEP_MAX_RUNS=...) so that one input stays fast under the sanitizers. */
#ifndef SWEEP_MAX_RUNS
#define SWEEP_MAX_RUNS 100000
#endif

typedef struct SweepAxis {
    char keys[SWEEP_MAX_ZIP][SWEEP_KEY_LEN]; /* one key, or a zip group's keys */
    int n_keys;
    char **values; /* n_values rows of n_keys value texts: values[i * n_keys + j] */
    int n_values;
    size_t line; /* where the axis is declared, for errors */
} SweepAxis;

typedef struct SweepExclude {
    char keys[SWEEP_MAX_ZIP][SWEEP_KEY_LEN];
    char **values[SWEEP_MAX_ZIP]; /* per key: the values that match */
    int n_values[SWEEP_MAX_ZIP];
    int n_keys;
} SweepExclude;

typedef struct SweepRun {
    int index;  /* position in the expansion after exclusion: what --only and Slurm use */
    long combo; /* position in the grid before exclusion (mixed radix over the axes) */
    char id[SWEEP_ID_LEN];
    long seed;
    char method[SWEEP_LABEL_LEN]; /* the non-seed assignments, "process=puma,puma.K=8" */
} SweepRun;

enum { SWEEP_REPORT_LABELS = 16 };

typedef struct SweepReportOptions {
    char policy[32]; /* eval rows that make the curves */
    int tokens_per_step;
    char baseline[SWEEP_LABEL_LEN]; /* a method label; "" = the first method */
    double target;                  /* > 0 fixed; else the lower of the two peaks */
    double smoothing;               /* EMA weight of the previous smoothed value */
    int bootstrap;
    /* report.labels: {METHOD: "legend text"}, the figures' names of methods */
    char label_method[SWEEP_REPORT_LABELS][SWEEP_LABEL_LEN];
    char label_text[SWEEP_REPORT_LABELS][64];
    int n_labels;
} SweepReportOptions;

typedef struct Sweep {
    char path[CFG_PATH];
    char name[CFG_STR]; /* the file's stem */
    Config base;        /* defaults + the file's config keys + command-line overrides */
    SweepAxis axes[SWEEP_MAX_AXES];
    int n_axes;
    SweepExclude excludes[SWEEP_MAX_AXES];
    int n_excludes;
    SweepRun *runs;
    int n_runs, n_excluded;
    SweepReportOptions report;
    int jobs;         /* sweep.jobs (0 = not set) */
    double timeout_s; /* sweep.timeout: per run, 0 = none */
    /* sweep.launcher: the command each training runs under, split at spaces, e.g.
     * "mpirun -np 2" (data parallel, run/parallel.h); "" = none. sweep.ntasks: the MPI ranks
     * per run it starts (0 = not stated): the Slurm script asks for that many tasks, and each
     * rank gets that share of a run's threads. */
    char launcher[CFG_STR];
    int ntasks;
} Sweep;

/* Loads and expands a sweep file; overrides ("key=value") apply to the base config. */
int sweep_load(Sweep *sw, const char *path, char *const *overrides, int n_overrides, Err *err);
/* Whether name is one of a sweep file's own top-level sections (grid, seeds, ...). */
int sweep_is_section(const char *name);
void sweep_free(Sweep *sw);

/* A run's fully resolved config, rebuilt from the axes (a run holds no Config of its own, so a
 * large grid stays small in memory). */
int sweep_run_config(const Sweep *sw, const SweepRun *run, Config *cfg, Err *err);

/* A run's id: FNV-1a 64 of its canonical resolved config, with the keys that only say where
 * and how it executes (name, out_dir, threads, train.resume) at their defaults. */
void sweep_run_id(const Config *cfg, char id[SWEEP_ID_LEN]);

/* Reads only the report section (defaults when absent) from a sweep file's text. */
int sweep_report_options(const char *text, size_t len, const char *origin, SweepReportOptions *o,
                         Err *err);

#endif
