/* The experiment sub-commands (sweep, plan, report, compare): (argc, argv) from the command
 * name on; each returns the exit status and fills err when it fails. */
#ifndef MDMLAB_CMD_SWEEP_H
#define MDMLAB_CMD_SWEEP_H

#include "report/report.h"
#include "sweep/sweep.h"

int cmd_sweep(int argc, char **argv, Err *err);
int cmd_plan(int argc, char **argv, Err *err);
int cmd_report(int argc, char **argv, Err *err);
int cmd_compare(int argc, char **argv, Err *err);
int cmd_export(int argc, char **argv, Err *err);

/* Report options given on the command line; NULL or unset fields keep the sweep file's. */
typedef struct ReportOverrides {
    const char *out_dir;
    const char *metric; /* "policy:k" */
    const char *baseline;
    double target, smoothing; /* < 0 = unset */
    int no_gnuplot;
} ReportOverrides;

/* A sweep directory's plan.tsv rows as report runs, each with its current state (status.json);
 * *runs malloc'ed. */
int sweep_plan_runs(const char *sweep_dir, ReportRun **runs, int *n, Err *err);

/* Writes the report of a sweep directory (its sweep.yaml's report section, its plan.tsv and
 * each run's status.json) into SWEEP_DIR/report or o->out_dir. */
int sweep_report_dir(const char *sweep_dir, const ReportOverrides *o, Err *err);

#endif
