/* `mdmlab report` (a sweep directory → figures and statistics) and `mdmlab compare` (the
 * regression gate). */
#include <stdlib.h>
#include <string.h>

#include "report/collect.h"
#include "report/compare.h"
#include "report/export.h"
#include "forward/config_schema.h"
#include "report/report.h"
#include "cmd_sweep.h"
#include "sweep/runstore.h"

static const char report_help[] =
    "usage: mdmlab report SWEEP_DIR [--out DIR] [--metric POLICY:K] [--baseline METHOD]\n"
    "                     [--target X] [--smoothing A] [--no-gnuplot]\n\n"
    "Writes SWEEP_DIR/report/: curves, loss and speedup figures (PNG and SVG through\n"
    "gnuplot), the tab-separated data and gnuplot scripts behind them (`gnuplot curves.gp`\n"
    "in that directory redraws a figure), summary.md and summary.json. Options default to\n"
    "the sweep file's report section:\n"
    "  --metric POLICY:K   eval rows that make the curves (default margin:1)\n"
    "  --baseline METHOD   method label of the baseline, e.g. process=random (default: first)\n"
    "  --target X          accuracy target for steps-to-target (default: lower peak)\n"
    "  --smoothing A       EMA weight of the previous value, 0 = none (default 0.5)\n"
    "  --no-gnuplot        write data and scripts only\n";

int sweep_plan_runs(const char *sweep_dir, ReportRun **runs, int *n, Err *err) {
    char path[CFG_PATH + 64];
    snprintf(path, sizeof(path), "%s/plan.tsv", sweep_dir);
    char *text;
    size_t len;
    if (read_file_all(path, &text, &len, err)) return -1;
    int cap = 1;
    for (size_t i = 0; i < len; i++) cap += text[i] == '\n';
    *runs = calloc((size_t)cap, sizeof(ReportRun));
    *n = 0;
    if (!*runs) {
        free(text);
        return err_set(err, "out of memory");
    }
    int line_no = 1, rc = 0;
    for (char *line = strtok(text, "\n"); line && rc == 0; line = strtok(NULL, "\n"), line_no++) {
        if (line_no == 1) continue; /* header */
        char id[SWEEP_ID_LEN + 8], method[SWEEP_LABEL_LEN];
        int index;
        long seed;
        if (sscanf(line, "%d\t%20[^\t]\t%ld\t%511[^\n]", &index, id, &seed, method) != 4) {
            rc = err_set(err, "%s:%d: expected index, id, seed, method", path, line_no);
            break;
        }
        ReportRun *r = &(*runs)[(*n)++];
        runstore_run_dir(sweep_dir, id, r->dir, sizeof(r->dir));
        snprintf(r->method, sizeof(r->method), "%s", method);
        r->seed = seed;
        RunStatus st;
        rc = runstore_read_status(r->dir, &st, err);
        snprintf(r->state, sizeof(r->state), "%s", run_state_name(st.state));
    }
    free(text);
    return rc;
}

/* metrics.tsv beside the report: the per-run numbers `mdmlab compare` gates on. */
static int write_gate_metrics(const ReportSpec *spec, Err *err) {
    MetricsFile mf;
    memset(&mf, 0, sizeof(mf));
    machine_fingerprint(mf.machine, sizeof(mf.machine));
    char path[CFG_PATH + 64];
    snprintf(path, sizeof(path), "%s/metrics.tsv", spec->out_dir);
    int rc = report_collect_metrics(spec, &mf, err);
    if (rc == 0) rc = metrics_file_write(&mf, path, err);
    metrics_file_free(&mf);
    return rc;
}

/* The figures' title: the sweep's name and its setting (task, model, steps, batch, seeds,
 * decoding), from its first run's run.yaml; the name alone when there is none yet. */
static void report_title(const char *sweep_dir, const char *name, char *out, size_t n) {
    snprintf(out, n, "%s", name);
    ReportRun *runs = NULL;
    int n_runs = 0;
    Err ignored;
    if (sweep_plan_runs(sweep_dir, &runs, &n_runs, &ignored) != 0 || n_runs == 0) {
        free(runs);
        return;
    }
    char path[sizeof runs[0].dir + 16];
    snprintf(path, sizeof path, "%s/run.yaml", runs[0].dir);
    Config c;
    config_defaults(&c);
    int seeds = 0;
    for (int i = 0; i < n_runs; i++) seeds += strcmp(runs[i].method, runs[0].method) == 0;
    free(runs);
    if (config_load_yaml(&c, path, &ignored) != 0) return;
    char decoding[CFG_STR + 32];
    if (strcmp(c.eval.sampler, "ancestral") == 0)
        snprintf(decoding, sizeof decoding, "ancestral T=%d", c.eval.steps);
    else
        snprintf(decoding, sizeof decoding, "%s k=%d", c.eval.policy, c.eval.tokens_per_step);
    snprintf(out, n, "%s: %s, d=%d x %d layers, %ld steps of %d, %d seed%s, %s", name, c.task_name,
             c.model.d, c.model.layers, c.train.steps, c.train.batch, seeds, seeds == 1 ? "" : "s",
             decoding);
}

int sweep_report_dir(const char *sweep_dir, const ReportOverrides *o, Err *err) {
    char path[CFG_PATH + 64], out_dir[CFG_PATH + 64];
    snprintf(path, sizeof(path), "%s/sweep.yaml", sweep_dir);
    char *text;
    size_t len;
    SweepReportOptions opt;
    if (read_file_all(path, &text, &len, err)) return -1;
    int rc = sweep_report_options(text, len, path, &opt, err);
    free(text);
    if (rc) return -1;
    ReportSpec spec;
    memset(&spec, 0, sizeof(spec));
    if (o && o->metric) {
        const char *colon = strchr(o->metric, ':');
        int k = colon ? atoi(colon + 1) : 0;
        if (!colon || k < 1 || colon == o->metric ||
            (size_t)(colon - o->metric) >= sizeof(opt.policy))
            return err_set(err, "--metric: expected POLICY:K, e.g. margin:1, got '%s'", o->metric);
        snprintf(opt.policy, sizeof(opt.policy), "%.*s", (int)(colon - o->metric), o->metric);
        opt.tokens_per_step = k;
    }
    if (o && o->baseline) snprintf(opt.baseline, sizeof(opt.baseline), "%s", o->baseline);
    if (o && o->target >= 0) opt.target = o->target;
    if (o && o->smoothing >= 0) opt.smoothing = o->smoothing;
    snprintf(out_dir, sizeof(out_dir), "%s/report", sweep_dir);
    const char *base = strrchr(sweep_dir, '/');
    char title[CFG_PATH + 512];
    report_title(sweep_dir, base && base[1] ? base + 1 : sweep_dir, title, sizeof title);
    spec.title = title;
    spec.out_dir = o && o->out_dir ? o->out_dir : out_dir;
    snprintf(spec.policy, sizeof(spec.policy), "%s", opt.policy);
    spec.tokens_per_step = opt.tokens_per_step;
    snprintf(spec.baseline, sizeof(spec.baseline), "%s", opt.baseline);
    spec.target = opt.target;
    spec.smoothing = opt.smoothing;
    spec.bootstrap = opt.bootstrap;
    spec.seed = 1;
    spec.no_gnuplot = o && o->no_gnuplot;
    ReportRun *runs = NULL;
    int n = 0;
    rc = sweep_plan_runs(sweep_dir, &runs, &n, err);
    spec.runs = runs;
    spec.n_runs = n;
    int gnuplot_missing = 0;
    StrBuf warnings = {0};
    spec.warnings = &warnings;
    const char *label_method[SWEEP_REPORT_LABELS], *label_text[SWEEP_REPORT_LABELS];
    for (int i = 0; i < opt.n_labels; i++) {
        label_method[i] = opt.label_method[i];
        label_text[i] = opt.label_text[i];
    }
    spec.label_method = label_method;
    spec.label_text = label_text;
    spec.n_labels = opt.n_labels;
    if (rc == 0) rc = report_write(&spec, &gnuplot_missing, err);
    for (const char *line = warnings.data; rc == 0 && line && *line;) {
        const char *nl = strchr(line, '\n');
        int len = (int)(nl ? nl - line : (long)strlen(line));
        fprintf(stderr, "report: warning: %.*s\n", len, line);
        line += len + (nl != NULL);
    }
    sb_free(&warnings);
    if (rc == 0) rc = write_gate_metrics(&spec, err);
    free(runs);
    if (rc) return -1;
    fprintf(stderr, "report: %s/summary.md%s\n", spec.out_dir,
            gnuplot_missing   ? " (gnuplot not found: data and .gp scripts written, no images; "
                                "install gnuplot and run `gnuplot FILE.gp` there)"
            : spec.no_gnuplot ? " (no images: --no-gnuplot)"
                              : ", figures (.png and .svg) listed there");
    return 0;
}

static int parse_double_arg(const char *flag, const char *v, double lo, double hi, double *out,
                            Err *err) {
    char *end;
    double x = v ? strtod(v, &end) : 0;
    if (!v || end == v || *end || x < lo || x > hi)
        return err_set(err, "%s: expected a number in [%g, %g], got '%s'", flag, lo, hi,
                       v ? v : "");
    *out = x;
    return 0;
}

int cmd_report(int argc, char **argv, Err *err) {
    ReportOverrides o = {.target = -1, .smoothing = -1};
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            fputs(report_help, stdout);
            return 0;
        }
        if (strcmp(s, "--no-gnuplot") == 0) {
            o.no_gnuplot = 1;
            continue;
        }
        int rc = 0;
        if (strcmp(s, "--out") == 0 && v)
            o.out_dir = v;
        else if (strcmp(s, "--metric") == 0 && v)
            o.metric = v;
        else if (strcmp(s, "--baseline") == 0 && v)
            o.baseline = v;
        else if (strcmp(s, "--target") == 0)
            rc = parse_double_arg(s, v, 0.0, 1e300, &o.target, err);
        else if (strcmp(s, "--smoothing") == 0)
            rc = parse_double_arg(s, v, 0.0, 0.999999, &o.smoothing, err);
        else if (s[0] == '-')
            return err_set(err, "report: unknown option '%s' (see mdmlab report --help)", s), 2;
        else if (!dir) {
            dir = s;
            continue;
        } else
            return err_set(err, "report: one sweep directory only, got '%s' too", s), 2;
        if (rc) return 2;
        i++;
    }
    if (!dir) return err_set(err, "report: expected a sweep directory (see --help)"), 2;
    return sweep_report_dir(dir, &o, err) ? 2 : 0;
}

int cmd_compare(int argc, char **argv, Err *err) {
    CompareOptions opt;
    const char *base = NULL, *cur = NULL;
    int parsed = compare_parse_args(argc - 1, argv + 1, &opt, &base, &cur, err);
    if (parsed == 1) {
        fputs(compare_usage, stdout);
        return 0;
    }
    if (parsed < 0) return COMPARE_FAILURE;
    return compare_files(base, cur, &opt, stdout, err);
}

static const char export_help[] =
    "usage: mdmlab export DIR ... [-o FILE.csv | FILE.jsonl] [--wide]\n\n"
    "One table of every run of the sweep directories (mdmlab sweep --out) and run directories\n"
    "given, for pandas or any CSV reader. Long form (default), one row per run, step and\n"
    "metric:\n"
    "  run_id, method, seed, <one column per grid axis, e.g. train.lr>, step, metric, value,\n"
    "  train_s\n"
    "metrics from train.csv (loss, lr, grad_norm, tokens_per_s), eval.csv (accuracy, nfe,\n"
    "idle_step_ratio per decoding, e.g. accuracy/margin:1) and elbo.csv (nelbo, ppl_bound,\n"
    "bits_per_byte). --wide: one row per run and step, one column per metric. -o FILE: CSV,\n"
    "or JSON lines when FILE ends in .jsonl (default: CSV on standard output).\n";

/* A run directory given on its own: its seed from config.yaml, no method. */
static int single_run(const char *dir, ReportRun *r, Err *err) {
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    char path[CFG_PATH + 32];
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    Config cfg;
    config_defaults(&cfg);
    if (config_load_yaml(&cfg, path, err)) return -1;
    r->seed = cfg.seed;
    snprintf(r->state, sizeof r->state, "done");
    return 0;
}

int cmd_export(int argc, char **argv, Err *err) {
    const char *out = NULL;
    int wide = 0, n = 0, cap = 0, rc = 0;
    ReportRun *runs = NULL;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *s = argv[i];
        if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            fputs(export_help, stdout);
            free(runs);
            return 0;
        }
        if (strcmp(s, "--wide") == 0) {
            wide = 1;
        } else if (strcmp(s, "-o") == 0 && i + 1 < argc) {
            out = strcmp(argv[++i], "-") == 0 ? NULL : argv[i];
        } else if (s[0] == '-') {
            rc = err_set(err, "export: unknown option '%s' (see mdmlab export --help)", s);
        } else {
            char plan[CFG_PATH + 32], train[CFG_PATH + 32];
            snprintf(plan, sizeof plan, "%s/plan.tsv", s);
            snprintf(train, sizeof train, "%s/config.yaml", s);
            ReportRun *got = NULL;
            int n_got = 0;
            if (file_exists(plan)) {
                rc = sweep_plan_runs(s, &got, &n_got, err);
            } else if (file_exists(train)) {
                got = calloc(1, sizeof *got);
                n_got = got ? 1 : 0;
                rc = got ? single_run(s, got, err) : err_set(err, "out of memory");
            } else {
                rc = err_set(err,
                             "export: %s is neither a sweep directory (plan.tsv) nor a run "
                             "directory (config.yaml)",
                             s);
            }
            if (rc == 0 && n + n_got > cap) {
                cap = n + n_got + 16;
                runs = realloc_or_die(runs, (size_t)cap * sizeof *runs, "export runs");
            }
            for (int k = 0; k < n_got && rc == 0; k++) runs[n++] = got[k];
            free(got);
        }
    }
    if (rc == 0 && n == 0)
        rc = err_set(err, "export: expected a sweep or run directory (see --help)");
    long rows = 0;
    if (rc == 0) rc = export_runs(runs, n, out, wide, &rows, err);
    if (rc == 0 && out)
        fprintf(stderr, "export: %ld %s rows of %d runs into %s\n", rows, wide ? "wide" : "long", n,
                out);
    free(runs);
    return rc == 0 ? 0 : 1;
}
