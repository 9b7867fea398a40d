/* The experiment commands: sweep, plan, report, compare. Each returns the process exit
 * status and fills err on failure; main.c prints the error. */
#include "cmd_sweep.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sweep/runstore.h"
#include "sweep/sweep.h"
#include "sweep/sweep_exec.h"

static const char sweep_help[] =
    "usage: mdmlab sweep FILE.yaml [key=value ...] [options]\n\n"
    "Expands the sweep file's grid (see experiments/quickstart.yaml and README) and trains\n"
    "every run, each in its own process; key=value overrides apply to every run.\n"
    "Re-running skips runs whose status is done, resumes interrupted ones from their\n"
    "checkpoint and lists failed ones (see --retry-failed).\n\n"
    "  --out DIR          sweep directory (default runs/<file name>)\n"
    "  -j, --jobs N       runs at a time (default: sweep.jobs, else 1)\n"
    "  --threads N        threads per run when the config says 0 (default cores / jobs)\n"
    "  --timeout SEC      fail a run that takes longer (default: sweep.timeout, else none)\n"
    "  --retry-failed     run failed runs again (resuming from their checkpoint)\n"
    "  --fail-fast        stop the sweep at the first failure\n"
    "  --shard I/N        run only runs whose plan index % N == I (0 <= I < N)\n"
    "  --only INDEX       run only this plan index\n"
    "  --emit-slurm FILE  write a Slurm array script for this sweep and exit\n"
    "  --force            use DIR even if it holds a different sweep (old runs are kept)\n"
    "  --no-report        do not write the report when every run is done\n\n"
    "exit status: 0 all selected runs done, 1 some failed, 2 usage or input error,\n"
    "130 interrupted (Ctrl-C: every run checkpoints; run the same command to go on)\n";

static const char plan_help[] =
    "usage: mdmlab plan FILE.yaml [key=value ...] [--out DIR]\n\n"
    "Prints the runs a sweep file expands to (plan index, run id, seed, method) and their\n"
    "count, with each run's state when the sweep directory exists.\n";

typedef struct SweepArgs {
    const char *file;
    char **overrides;
    int n_overrides;
    char out[CFG_PATH];
    int jobs, threads, retry_failed, fail_fast, force, no_report;
    double timeout_s;
    int shard_index, shard_count, only;
    const char *slurm;
} SweepArgs;

static int is_help(const char *a) {
    return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

static int parse_int_arg(const char *flag, const char *v, int min, int *out, Err *err) {
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || end == v || *end || x < min || x > 1000000)
        return err_set(err, "%s: expected an integer >= %d, got '%s'", flag, min, v ? v : "");
    *out = (int)x;
    return 0;
}

/* Parses the shared command line of sweep and plan; `full` accepts the execution flags. */
static int parse_sweep_args(int argc, char **argv, int full, SweepArgs *a, Err *err) {
    memset(a, 0, sizeof(*a));
    a->only = -1;
    a->jobs = -1;
    a->timeout_s = -1;
    a->overrides = calloc((size_t)argc, sizeof(char *));
    if (!a->overrides) return err_set(err, "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int used = 1; /* this flag takes the next argument */
        if (strcmp(s, "--out") == 0 && v) {
            snprintf(a->out, sizeof(a->out), "%s", v);
        } else if (!full && s[0] == '-') {
            return err_set(err, "plan: unknown option '%s' (see mdmlab plan --help)", s);
        } else if (strcmp(s, "-j") == 0 || strcmp(s, "--jobs") == 0) {
            if (parse_int_arg(s, v, 1, &a->jobs, err)) return -1;
        } else if (strcmp(s, "--threads") == 0) {
            if (parse_int_arg(s, v, 1, &a->threads, err)) return -1;
        } else if (strcmp(s, "--timeout") == 0) {
            char *end;
            a->timeout_s = v ? strtod(v, &end) : -1;
            if (!v || end == v || *end || a->timeout_s <= 0)
                return err_set(err, "--timeout: expected seconds > 0, got '%s'", v ? v : "");
        } else if (strcmp(s, "--only") == 0) {
            if (parse_int_arg(s, v, 0, &a->only, err)) return -1;
        } else if (strcmp(s, "--shard") == 0) {
            if (!v || sscanf(v, "%d/%d", &a->shard_index, &a->shard_count) != 2 ||
                a->shard_count < 1 || a->shard_index < 0 || a->shard_index >= a->shard_count)
                return err_set(err, "--shard: expected I/N with 0 <= I < N, got '%s'", v ? v : "");
        } else if (strcmp(s, "--emit-slurm") == 0 && v) {
            a->slurm = v;
        } else {
            used = 0;
            if (strcmp(s, "--retry-failed") == 0)
                a->retry_failed = 1;
            else if (strcmp(s, "--fail-fast") == 0)
                a->fail_fast = 1;
            else if (strcmp(s, "--force") == 0)
                a->force = 1;
            else if (strcmp(s, "--no-report") == 0)
                a->no_report = 1;
            else if (s[0] == '-')
                return err_set(err, "sweep: unknown option '%s' (see mdmlab sweep --help)", s);
            else if (strchr(s, '='))
                a->overrides[a->n_overrides++] = argv[i];
            else if (!a->file)
                a->file = s;
            else
                return err_set(err, "unexpected argument '%s' (one sweep file only)", s);
        }
        i += used;
    }
    if (!a->file) return err_set(err, "expected a sweep file (see mdmlab %s --help)", argv[0]);
    if (!a->out[0]) {
        const char *base = strrchr(a->file, '/');
        base = base ? base + 1 : a->file;
        snprintf(a->out, sizeof(a->out), "runs/%.*s", (int)strcspn(base, "."), base);
    }
    return 0;
}

static void print_plan(const Sweep *sw, const char *sweep_dir) {
    int have_dir = file_exists(sweep_dir);
    printf("%-5s  %-16s  %-6s  %-12s  %s\n", "index", "id", "seed", have_dir ? "state" : "",
           "method");
    for (int i = 0; i < sw->n_runs; i++) {
        const SweepRun *r = &sw->runs[i];
        const char *state = "";
        if (have_dir) {
            char dir[CFG_PATH];
            RunStatus st;
            Err ignored;
            runstore_run_dir(sweep_dir, r->id, dir, sizeof(dir));
            state =
                runstore_read_status(dir, &st, &ignored) ? "unreadable" : run_state_name(st.state);
        }
        printf("%-5d  %-16s  %-6ld  %-12s  %s\n", r->index, r->id, r->seed, state, r->method);
    }
    printf("%d runs", sw->n_runs);
    if (sw->n_excluded) printf(" (%d excluded)", sw->n_excluded);
    printf(" from %d axes", sw->n_axes);
    for (int a = 0; a < sw->n_axes; a++) {
        printf("%s", a ? " x " : ": ");
        for (int j = 0; j < sw->axes[a].n_keys; j++)
            printf("%s%s", j ? "+" : "", sw->axes[a].keys[j]);
        printf("[%d]", sw->axes[a].n_values);
    }
    printf("\n");
}

/* The shared start of sweep and plan: prints help (1), or parses the arguments and loads the
 * sweep file (0), or fails (-1). sw and a->overrides are to be freed in every case. */
static int open_sweep(int argc, char **argv, int full, const char *help, SweepArgs *a, Sweep *sw,
                      Err *err) {
    memset(sw, 0, sizeof(*sw));
    memset(a, 0, sizeof(*a));
    if (argc > 1 && is_help(argv[1])) {
        fputs(help, stdout);
        return 1;
    }
    if (parse_sweep_args(argc, argv, full, a, err)) return -1;
    return sweep_load(sw, a->file, a->overrides, a->n_overrides, err);
}

int cmd_plan(int argc, char **argv, Err *err) {
    SweepArgs a;
    Sweep sw;
    int rc = open_sweep(argc, argv, 0, plan_help, &a, &sw, err);
    if (rc == 0) print_plan(&sw, a.out);
    sweep_free(&sw);
    free(a.overrides);
    return rc < 0 ? 2 : 0;
}

/* Undoes a sweep directory this command created when the sweep could not start, so that an
 * error leaves no empty sweep directory behind (rmdir keeps one that holds anything else). */
static void discard_new_sweep_dir(const char *dir) {
    char path[CFG_PATH + 64];
    snprintf(path, sizeof(path), "%s/sweep.yaml", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/plan.tsv", dir);
    unlink(path);
    rmdir(dir);
}

/* Copies the sweep file and the plan into the sweep directory, refusing a directory that
 * holds a different sweep unless forced. */
static int prepare_sweep_dir(const Sweep *sw, const SweepArgs *a, Err *err) {
    char why[256];
    if (!a->force && runstore_plan_differs(a->out, sw, why, sizeof(why)))
        return err_set(err,
                       "%s holds a different sweep: %s; use another --out, or --force to add "
                       "this sweep's runs (finished runs with the same id are reused)",
                       a->out, why);
    int existed = file_exists(a->out);
    if (make_dirs(a->out, err)) return -1;
    char *text = NULL;
    size_t len;
    char path[CFG_PATH + 64];
    snprintf(path, sizeof(path), "%s/sweep.yaml", a->out);
    int rc = read_file_all(a->file, &text, &len, err);
    if (rc == 0) rc = write_file_atomic(path, text, len, err);
    free(text);
    if (rc == 0) rc = runstore_write_plan(a->out, sw, err);
    if (rc && !existed) discard_new_sweep_dir(a->out);
    return rc ? -1 : 0;
}

static int write_slurm(const Sweep *sw, const SweepArgs *a, const char *exe, Err *err) {
    int existed = file_exists(a->out);
    int rc = make_dirs(a->out, err);
    if (rc == 0)
        rc = sweep_write_slurm(sw, a->file, a->overrides, a->n_overrides, a->out, exe, a->slurm,
                               err);
    if (rc && !existed) rmdir(a->out);
    if (rc == 0) printf("wrote %s: a Slurm array of %d tasks\n", a->slurm, sw->n_runs);
    return rc;
}

static void self_exe(char *out, size_t n) {
    ssize_t k = readlink("/proc/self/exe", out, n - 1);
    out[k > 0 ? k : 0] = '\0';
}

int cmd_sweep(int argc, char **argv, Err *err) {
    SweepArgs a;
    Sweep sw;
    int rc = open_sweep(argc, argv, 1, sweep_help, &a, &sw, err);
    int status = rc == 1 ? 0 : 2;
    char exe[CFG_PATH];
    self_exe(exe, sizeof(exe));
    if (rc == 0 && a.slurm) {
        rc = write_slurm(&sw, &a, exe, err);
        status = rc ? 2 : 0;
    } else if (rc == 0 && (rc = prepare_sweep_dir(&sw, &a, err)) == 0) {
        int jobs = a.jobs > 0 ? a.jobs : sw.jobs > 0 ? sw.jobs : 1;
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        int threads = a.threads > 0 ? a.threads : (int)(cores / jobs > 0 ? cores / jobs : 1);
        StrBuf cmd = {0};
        for (int i = 0; i < argc; i++) sb_printf(&cmd, "%s%s", i ? " " : "mdmlab ", argv[i]);
        SweepExecOptions o = {.sweep_dir = a.out,
                              .exe = exe,
                              .jobs = jobs,
                              .threads = threads,
                              .timeout_s = a.timeout_s > 0 ? a.timeout_s : sw.timeout_s,
                              .retry_failed = a.retry_failed,
                              .fail_fast = a.fail_fast,
                              .shard_index = a.shard_index,
                              .shard_count = a.shard_count,
                              .only = a.only,
                              .command_line = cmd.data};
        fprintf(stderr, "[sweep %s] %d runs into %s, %d at a time, %d thread%s each\n", sw.name,
                sw.n_runs, a.out, jobs, threads, threads == 1 ? "" : "s");
        SweepOutcome out;
        status = sweep_execute(&sw, &o, &out, err);
        sb_free(&cmd);
        if (status < 0) {
            rc = -1;
            status = 2;
        } else if (status == 0 && !a.no_report && a.only < 0 && a.shard_count <= 1) {
            rc = sweep_report_dir(a.out, NULL, err);
            if (rc) status = 2;
        }
    }
    sweep_free(&sw);
    free(a.overrides);
    return rc < 0 && status == 0 ? 2 : status;
}
