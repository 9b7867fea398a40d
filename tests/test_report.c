/* report: report_write on synthetic run directories with known curves (files, summaries,
 * scripts, figures, censoring, runs not done, malformed input, missing gnuplot,
 * reproducibility) and report_collect_metrics (the regression-gate rows). */
#include "report/collect.h"
#include "report/gnuplot.h"
#include "report/report.h"
#include "check.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

static char *read_text(const char *path) {
    char *data = NULL;
    size_t len;
    Err err;
    if (read_file_all(path, &data, &len, &err)) return NULL;
    return data;
}

typedef struct Synth {
    double slope; /* accuracy = min(cap, slope * step / 1000) */
    double cap;
    double sec_per_step;
    double loss_rate; /* loss = 0.3 + 2.2 exp(-loss_rate * step / 400) + offset */
    double loss_offset;
    int reorder; /* eval.csv with its columns in another order */
    int train_s; /* write train_s columns */
} Synth;

/* A finished run: eval every 100 steps to 1600 under three policy/k pairs (the report's is
 * margin k=1; the others must be ignored), train.csv every 50 steps after a first row. */
static void make_run(const char *dir, const Synth *s) {
    mkdir(dir, 0755);
    char path[512];
    FILE *f;
    snprintf(path, sizeof path, "%s/eval.csv", dir);
    if (!(f = fopen(path, "w"))) abort();
    if (s->reorder)
        fprintf(f, "policy,accuracy,step,tokens_per_step,correct,total,wall_s%s\n",
                s->train_s ? ",train_s" : "");
    else
        fprintf(f, "step,policy,tokens_per_step,accuracy,correct,total,wall_s%s\n",
                s->train_s ? ",train_s" : "");
    for (int step = 0; step <= 1600; step += 100) {
        double acc = s->slope * step / 1000.0;
        if (acc > s->cap) acc = s->cap;
        const char *pol[3] = {"confidence", "margin", "margin"};
        int k[3] = {2, 1, 2};
        double a[3] = {acc / 2, acc, acc / 3};
        for (int p = 0; p < 3; p++) {
            if (s->reorder)
                fprintf(f, "%s,%.6f,%d,%d,%d,256,%.3f", pol[p], a[p], step, k[p], (int)(a[p] * 256),
                        5.0 + step * 0.2);
            else
                fprintf(f, "%d,%s,%d,%.6f,%d,256,%.3f", step, pol[p], k[p], a[p], (int)(a[p] * 256),
                        5.0 + step * 0.2);
            if (s->train_s) fprintf(f, ",%.3f", s->sec_per_step * step);
            fprintf(f, "\n");
        }
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/train.csv", dir);
    if (!(f = fopen(path, "w"))) abort();
    fprintf(f, "step,loss,lr,grad_norm,tokens_per_s,wall_s%s\n", s->train_s ? ",train_s" : "");
    for (int i = 0, step = 1; step <= 1600; i++, step = 50 * i) {
        double loss = 0.3 + 2.2 * exp(-s->loss_rate * step / 400.0) + s->loss_offset;
        double tps = i == 0 ? 10.0 : 1000.0 + i % 5;
        fprintf(f, "%d,%.6f,0.001,1.5,%.1f,%.3f", step, loss, tps, step * 0.21);
        if (s->train_s) fprintf(f, ",%.3f", s->sec_per_step * step);
        fprintf(f, "\n");
    }
    fclose(f);
}

static ReportRun run_entry(const char *name, const char *method, long seed, const char *state) {
    ReportRun r;
    memset(&r, 0, sizeof r);
    snprintf(r.dir, sizeof r.dir, "%s/%s", tmpdir, name);
    snprintf(r.method, sizeof r.method, "%s", method);
    r.seed = seed;
    snprintf(r.state, sizeof r.state, "%s", state);
    return r;
}

static ReportSpec base_spec(const char *out, const ReportRun *runs, int n) {
    ReportSpec spec;
    memset(&spec, 0, sizeof spec);
    spec.title = "synthetic sweep";
    spec.out_dir = out;
    spec.runs = runs;
    spec.n_runs = n;
    snprintf(spec.policy, sizeof spec.policy, "margin");
    spec.tokens_per_step = 1;
    spec.bootstrap = 200;
    spec.seed = 1;
    return spec;
}

/* The number after "key": inside the JSON object of the given method; NAN for null. */
static double json_field(const char *json, const char *method, const char *key) {
    char pat[256];
    snprintf(pat, sizeof pat, "{\"method\": \"%s\"", method);
    const char *obj = strstr(json, pat);
    if (!obj) return -12345;
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *at = strstr(obj, pat);
    const char *end = strchr(obj, '}');
    if (!at || at > end) return -12345;
    at += strlen(pat);
    if (strncmp(at, "null", 4) == 0) return NAN;
    if (*at == '[') at++;
    return strtod(at, NULL);
}

static char *out_file(const char *out, const char *name) {
    static char path[768];
    snprintf(path, sizeof path, "%s/%s", out, name);
    return path;
}

static int file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (int)st.st_size : -1;
}

static int is_png(const char *path) {
    static const unsigned char magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t got = fread(head, 1, 8, f);
    fclose(f);
    return got == 8 && memcmp(head, magic, 8) == 0 && file_size(path) > 1000;
}

static const char *const data_files[] = {"curves.tsv",  "curves.gp",  "loss.tsv",   "loss.gp",
                                         "speedup.tsv", "speedup.gp", "summary.md", "summary.json"};
static const char *const figures[] = {"curves", "loss", "speedup"};

enum { N_MAIN = 7 };

static void main_runs(ReportRun *runs) {
    const double slope[3] = {0.45, 0.5, 0.55};
    for (int s = 0; s < 3; s++) {
        char name[64];
        Synth base = {slope[s], 1.0, 0.1, 1.0, 0.01 * s, 0, 1};
        snprintf(name, sizeof name, "random-s%d", s + 1);
        make_run(runs[s].dir, &base);
        Synth puma = {2 * slope[s], 0.9, 0.15, 2.0, 0.01 * s, 1, 1};
        snprintf(name, sizeof name, "puma-s%d", s + 1);
        make_run(runs[3 + s].dir, &puma);
    }
}

/* The main fixture: 3 random and 3 PUMA seeds done, one random run failed. */
static void main_run_list(ReportRun *runs) {
    const char *names[N_MAIN] = {"random-s1", "random-s2", "random-s3", "puma-s1",
                                 "puma-s2",   "puma-s3",   "random-s4"};
    for (int i = 0; i < N_MAIN; i++)
        runs[i] = run_entry(names[i], i < 3 || i == 6 ? "process=random" : "process=puma",
                            i == 6 ? 4 : i % 3 + 1, i == 6 ? "failed" : "done");
    main_runs(runs);
}

static void test_two_methods(int have_gnuplot) {
    /* Baseline seeds: slopes .45, .5, .55 per 1000 steps, mean peak 0.8 at 1600 (0.1 s per
     * step). Method: twice the slope capped at 0.9, mean 0.8 at step 800 (0.15 s per step).
     * Target = 0.8; step speedup 1600 / 800 = 2; wall-clock 160 s / 120 s = 1.33333. */
    ReportRun runs[N_MAIN];
    main_run_list(runs);
    char out[512];
    snprintf(out, sizeof out, "%s/report", tmpdir);
    ReportSpec spec = base_spec(out, runs, N_MAIN);
    int missing = -1;
    Err err;
    CHECK_MSG(report_write(&spec, &missing, &err) == 0, "%s", err.msg);
    CHECK(missing == 0);
    for (size_t i = 0; i < sizeof data_files / sizeof *data_files; i++)
        CHECK_MSG(file_size(out_file(out, data_files[i])) > 0, "%s", data_files[i]);

    char *json = read_text(out_file(out, "summary.json"));
    CHECK(json != NULL);
    if (json) {
        CHECK(strstr(json, "\"step_speedup\": 2,") != NULL);
        CHECK(strstr(json, "\"wallclock_speedup\": 1.33333,") != NULL);
        CHECK_CLOSE(json_field(json, "process=puma", "target"), 0.8, 1e-6, 0);
        CHECK_CLOSE(json_field(json, "process=puma", "steps_to_target"), 800, 1e-9, 0);
        CHECK_CLOSE(json_field(json, "process=puma", "baseline_steps_to_target"), 1600, 1e-9, 0);
        CHECK_CLOSE(json_field(json, "process=puma", "seconds_to_target"), 120, 1e-9, 0);
        CHECK_CLOSE(json_field(json, "process=puma", "baseline_seconds_to_target"), 160, 1e-9, 0);
        CHECK(json_field(json, "process=puma", "seeds_reached") == 3);
        CHECK(json_field(json, "process=puma", "seeds_censored") == 0);
        CHECK(json_field(json, "process=puma", "resamples") == 200);
        double lo = json_field(json, "process=puma", "step_speedup_interval");
        CHECK_MSG(lo > 1.0 && lo <= 2.0, "interval low end %g", lo);
        CHECK(json_field(json, "process=random", "seeds_done") == 3);
        CHECK(json_field(json, "process=random", "runs") == 4);
        CHECK(isnan(json_field(json, "process=random", "step_speedup")));
        CHECK(strstr(json, "\"baseline\": \"process=random\"") != NULL);
        CHECK_CLOSE(json_field(json, "process=puma", "final_accuracy_mean"), 0.9, 1e-9, 0);
        CHECK(strstr(json, "\"state\": \"failed\"") != NULL);
    }
    free(json);

    char *md = read_text(out_file(out, "summary.md"));
    CHECK(md != NULL);
    if (md) {
        CHECK(strstr(md, "| process=puma | 3 of 3 | 0.8 | 3/0 (baseline 2/1) | 800 (baseline "
                         "1600) | 2 [") != NULL);
        CHECK(strstr(md, "| 120 (baseline 160) | 1.33333 [") != NULL);
        CHECK(strstr(md, "| process=random (baseline) | 3 of 4 |") != NULL);
        CHECK(strstr(md, "`process=random` seed 4: failed") != NULL);
        CHECK(strstr(md, "random-s4") != NULL);
    }
    free(md);

    /* curves.tsv: step 800, then per method mean, min, max, smoothed mean. */
    char *tsv = read_text(out_file(out, "curves.tsv"));
    CHECK(tsv && strstr(tsv, "\n800\t0.4\t0.36\t0.44\t0.4\t0.8\t0.72\t0.88\t0.8\n") != NULL);
    free(tsv);
    tsv = read_text(out_file(out, "speedup.tsv"));
    CHECK(tsv && strstr(tsv, "\n0\t1\tprocess=puma\t2\t") != NULL);
    free(tsv);

    /* Scripts: relative paths only, the palette, the axis labels. */
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s.gp", figures[i]);
        char *gp = read_text(out_file(out, name));
        CHECK(gp != NULL);
        if (!gp) continue;
        CHECK_MSG(strstr(gp, tmpdir) == NULL && strstr(gp, "'/") == NULL &&
                      strstr(gp, "\"/") == NULL,
                  "%s has an absolute path", name);
        CHECK(strstr(gp, "set title 'synthetic sweep") != NULL);
        CHECK(strstr(gp, "pngcairo size 900,600") != NULL && strstr(gp, "set terminal svg"));
        if (i == 0) {
            CHECK(strstr(gp, "set xlabel 'training step'") != NULL);
            CHECK(strstr(gp, "set ylabel 'solve accuracy (policy margin, k=1)'") != NULL);
            CHECK(strstr(gp, "#0072B2") && strstr(gp, "#E69F00"));
            CHECK(strstr(gp, "0.8 with lines dt 2") != NULL); /* the dashed target */
        }
        if (i == 0) { /* every band is drawn before every mean line */
            const char *last_band = strstr(gp, "filledcurves"),
                       *first_line = strstr(gp, "linespoints");
            for (const char *p = last_band; p;
                 p = strstr(p + 1, "filledcurves fs transparent solid 0.18"))
                last_band = p;
            CHECK(last_band && first_line && last_band < first_line);
        }
        if (i == 1)
            CHECK(strstr(gp, "training loss under each method''s own masking distribution") !=
                  NULL);
        if (i == 2) /* points with intervals on a log axis; target and censoring under each */
            CHECK(strstr(gp, "set logscale y 2") && strstr(gp, "with yerrorbars") &&
                  strstr(gp, "of resamples censored"));
        free(gp);
    }

    if (have_gnuplot) {
        for (int i = 0; i < 3; i++) {
            char name[64];
            snprintf(name, sizeof name, "%s.png", figures[i]);
            CHECK_MSG(is_png(out_file(out, name)), "%s is not a PNG", name);
            snprintf(name, sizeof name, "%s.svg", figures[i]);
            char *svg = read_text(out_file(out, name));
            CHECK_MSG(svg && strstr(svg, "<svg") && strstr(svg, "</svg>"), "%s", name);
            free(svg);
        }
    }

    /* Byte for byte reproducible: a second report elsewhere has identical files. */
    char out2[512];
    snprintf(out2, sizeof out2, "%s/report2", tmpdir);
    spec.out_dir = out2;
    CHECK_MSG(report_write(&spec, &missing, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < sizeof data_files / sizeof *data_files + (have_gnuplot ? 6 : 0); i++) {
        char name[64];
        if (i < sizeof data_files / sizeof *data_files)
            snprintf(name, sizeof name, "%s", data_files[i]);
        else
            snprintf(name, sizeof name, "%s.%s", figures[(i - 8) / 2], (i - 8) % 2 ? "svg" : "png");
        char *a = NULL, *b = NULL;
        size_t la = 0, lb = 0;
        Err e;
        char pa[768];
        snprintf(pa, sizeof pa, "%s", out_file(out, name));
        int ok = read_file_all(pa, &a, &la, &e) == 0 &&
                 read_file_all(out_file(out2, name), &b, &lb, &e) == 0 && la == lb &&
                 memcmp(a, b, la) == 0;
        CHECK_MSG(ok, "%s differs between two identical reports", name);
        free(a);
        free(b);
    }
}

static void test_censored_method(void) {
    /* A fixed target of 0.7 and a third method that tops out at 0.3: all its seeds are
     * censored and so is its speedup; the others still compare (1400 / 700 = 2). */
    ReportRun runs[9];
    runs[0] = run_entry("random-s1", "process=random", 1, "done");
    runs[1] = run_entry("random-s2", "process=random", 2, "done");
    runs[2] = run_entry("random-s3", "process=random", 3, "done");
    runs[3] = run_entry("puma-s1", "process=puma", 1, "done");
    runs[4] = run_entry("puma-s2", "process=puma", 2, "done");
    runs[5] = run_entry("puma-s3", "process=puma", 3, "done");
    for (int s = 0; s < 3; s++) {
        char name[64];
        snprintf(name, sizeof name, "flat-s%d", s + 1);
        runs[6 + s] = run_entry(name, "process=flat", s + 1, "done");
        Synth flat = {0.1 + 0.05 * s, 0.3, 0.1, 0.5, 0.0, 0, 0};
        make_run(runs[6 + s].dir, &flat);
    }
    char out[512];
    snprintf(out, sizeof out, "%s/censored", tmpdir);
    ReportSpec spec = base_spec(out, runs, 9);
    spec.target = 0.7;
    spec.smoothing = 0.3;
    spec.no_gnuplot = 1;
    int missing = -1;
    Err err;
    CHECK_MSG(report_write(&spec, &missing, &err) == 0, "%s", err.msg);
    CHECK(missing == 0);
    CHECK(file_size(out_file(out, "curves.png")) < 0); /* no_gnuplot: nothing rendered */
    char *json = read_text(out_file(out, "summary.json"));
    CHECK(json != NULL);
    if (json) {
        CHECK(json_field(json, "process=flat", "seeds_reached") == 0);
        CHECK(json_field(json, "process=flat", "seeds_censored") == 3);
        CHECK(isnan(json_field(json, "process=flat", "step_speedup")));
        CHECK(isnan(json_field(json, "process=flat", "steps_to_target")));
        CHECK(isnan(json_field(json, "process=flat", "wallclock_speedup")));
        CHECK(strstr(json, "\"status\": \"censored\"") != NULL);
        CHECK_CLOSE(json_field(json, "process=flat", "target"), 0.7, 0, 0);
        CHECK(json_field(json, "process=flat", "censored_resamples") == 200);
        CHECK_MSG(strstr(json, "\"process=flat: 200 of 200 bootstrap resamples (100%) are "
                               "censored\""),
                  "%s", json);
        CHECK(strstr(json, "seeds: an interval") == NULL); /* 3 seeds each: no seed warning */
        CHECK(json_field(json, "process=puma", "seeds_reached") == 3);
        CHECK(json_field(json, "process=puma", "step_speedup") > 1.0);
        CHECK(strstr(json, "\"fixed_target\": 0.7,") != NULL);
    }
    free(json);
    char *md = read_text(out_file(out, "summary.md"));
    CHECK(md && strstr(md, "| process=flat | 3 of 3 | 0.7 | 0/3 (baseline 3/0) | censored "
                           "(baseline ") != NULL);
    /* The flat runs have no train_s column: their seconds are n/a, their speedup censored. */
    CHECK(md && strstr(md, "| censored | n/a (baseline ") != NULL);
    free(md);
}

static void test_errors(void) {
    char dir[512], out[512];
    snprintf(dir, sizeof dir, "%s/bad", tmpdir);
    snprintf(out, sizeof out, "%s/bad-report", tmpdir);
    Synth ok = {1.0, 1.0, 0.1, 1.0, 0.0, 0, 1};
    make_run(dir, &ok);
    ReportRun runs[1] = {run_entry("bad", "m", 1, "done")};
    ReportSpec spec = base_spec(out, runs, 1);
    spec.no_gnuplot = 1;
    Err err;
    char path[600], want[700];
    snprintf(path, sizeof path, "%s/eval.csv", dir);

    write_text(path, "step,policy,tokens_per_step,accuracy\n0,margin,1,0.1\n100,margin,1,0.x\n");
    CHECK(report_write(&spec, NULL, &err) == -1);
    snprintf(want, sizeof want, "%s:3: column 'accuracy': expected a number, got '0.x'", path);
    CHECK_MSG(strstr(err.msg, want) != NULL, "%s", err.msg);

    write_text(path, "step,policy,tokens_per_step,accuracy\n0,margin,1,0.1\n\n100,margin,1\n");
    CHECK(report_write(&spec, NULL, &err) == -1);
    snprintf(want, sizeof want, "%s:4: expected 4 fields, got 3", path);
    CHECK_MSG(strstr(err.msg, want) != NULL, "%s", err.msg);

    write_text(path, "step,policy,accuracy\n0,margin,0.1\n");
    CHECK(report_write(&spec, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "eval.csv:1: missing column 'tokens_per_step'"), "%s", err.msg);

    write_text(path, "step,policy,tokens_per_step,accuracy\n200,margin,1,0.1\n100,margin,1,0.2\n");
    CHECK(report_write(&spec, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "eval.csv:3: step 100 does not follow step 200"), "%s", err.msg);

    write_text(path, "step,policy,tokens_per_step,accuracy\n200,confidence,1,0.1\n");
    CHECK(report_write(&spec, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "no rows with policy 'margin' and tokens_per_step 1"), "%s", err.msg);

    unlink(path);
    CHECK(report_write(&spec, NULL, &err) == -1 && strstr(err.msg, path));

    ReportRun two[2] = {run_entry("random-s1", "a", 1, "done"),
                        run_entry("puma-s1", "b", 1, "done")};
    spec.runs = two;
    spec.n_runs = 2;
    snprintf(spec.baseline, sizeof spec.baseline, "nope");
    CHECK(report_write(&spec, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "baseline 'nope'"), "%s", err.msg);
    spec.baseline[0] = '\0';
    spec.smoothing = 1.0;
    CHECK(report_write(&spec, NULL, &err) == -1 && strstr(err.msg, "smoothing"));
}

static void test_gnuplot_missing(void) {
    /* PATH without gnuplot: data and scripts are written, *gnuplot_missing says so. */
    char empty[512], out[512];
    snprintf(empty, sizeof empty, "%s/empty-bin", tmpdir);
    snprintf(out, sizeof out, "%s/no-gnuplot", tmpdir);
    mkdir(empty, 0755);
    ReportRun runs[2] = {run_entry("random-s1", "a", 1, "done"),
                         run_entry("puma-s1", "b", 1, "done")};
    ReportSpec spec = base_spec(out, runs, 2);
    const char *old = getenv("PATH");
    char *saved = old ? strdup(old) : NULL;
    setenv("PATH", empty, 1);
    int missing = 0;
    Err err;
    int rc = report_write(&spec, &missing, &err);
    if (saved) setenv("PATH", saved, 1);
    free(saved);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK(missing == 1);
    CHECK(file_size(out_file(out, "curves.gp")) > 0 && file_size(out_file(out, "summary.md")) > 0);
    CHECK(file_size(out_file(out, "curves.png")) < 0);
}

static void test_gnuplot_failure(int have_gnuplot) {
    if (!have_gnuplot) return;
    char gp[4096], dir[512], path[600];
    gnuplot_find(gp, sizeof gp);
    snprintf(dir, sizeof dir, "%s/gp-fail", tmpdir);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/broken.gp", dir);
    write_text(path, "plot 'no-such-file.tsv' using 1:2\n");
    Err err;
    CHECK(gnuplot_run(gp, dir, "broken.gp", &err) == -1);
    CHECK_MSG(strstr(err.msg, "broken.gp") && strstr(err.msg, "exit status"), "%s", err.msg);
    write_text(path, "set print '-'\nprint 'ok'\n");
    CHECK_MSG(gnuplot_run(gp, dir, "broken.gp", &err) == 0, "%s", err.msg);
}

static const MetricRow *find_row(const MetricsFile *mf, const char *name) {
    for (int i = 0; i < mf->n; i++)
        if (strcmp(mf->rows[i].name, name) == 0) return &mf->rows[i];
    return NULL;
}

static void test_collect(void) {
    ReportRun runs[N_MAIN];
    main_run_list(runs);
    ReportSpec spec = base_spec("unused", runs, N_MAIN);
    MetricsFile mf;
    memset(&mf, 0, sizeof mf);
    Err err;
    CHECK_MSG(report_collect_metrics(&spec, &mf, &err) == 0, "%s", err.msg);
    /* Per done run: loss, three policy:k accuracies, tokens_per_s. */
    CHECK_MSG(mf.n == 6 * 5, "%d rows", mf.n);
    const MetricRow *r = find_row(&mf, "loss@1600/process=random/seed=2");
    CHECK(r && !r->higher_is_better && r->exact && r->gated && r->rel_tol == 0.02 &&
          r->abs_tol == 0.01);
    if (r) CHECK_CLOSE(r->value, 0.3 + 2.2 * exp(-4.0) + 0.01, 1e-6, 1e-6);
    r = find_row(&mf, "accuracy@1600/margin:1/process=puma/seed=2");
    CHECK(r && r->higher_is_better && r->exact && r->gated && r->rel_tol == 0 &&
          r->abs_tol == 0.05);
    if (r) CHECK_CLOSE(r->value, 0.9, 0, 1e-9);
    r = find_row(&mf, "accuracy@1600/confidence:2/process=random/seed=3");
    if (r) CHECK_CLOSE(r->value, 0.44, 0, 1e-9);
    CHECK(r != NULL);
    CHECK(find_row(&mf, "accuracy@1600/margin:2/process=random/seed=1") != NULL);
    CHECK(find_row(&mf, "loss@1600/process=random/seed=4") == NULL); /* failed: no rows */
    /* tokens_per_s: the median of rows 2..33 (1000 + i % 5) is 1002; the first (10) is out. */
    int n_tps = 0;
    for (int i = 0; i < mf.n; i++) {
        if (strcmp(mf.rows[i].name, "tokens_per_s/process=puma") != 0) continue;
        n_tps++;
        CHECK(mf.rows[i].value == 1002.0);
        CHECK(mf.rows[i].higher_is_better && !mf.rows[i].exact && !mf.rows[i].gated &&
              mf.rows[i].rel_tol == 0.10 && mf.rows[i].abs_tol == 0);
    }
    CHECK(n_tps == 3);
    metrics_file_free(&mf);
}

/* A language model's run: elbo.csv every 100 steps (nelbo = base - step / 1000), train.csv,
 * and eval.csv with the ancestral sampler's rows (no accuracy) at T = 16 and 64 whose idle
 * ratio is idle16 and 2 * idle16. */
static void make_text_run(const char *dir, double base, double idle16) {
    mkdir(dir, 0755);
    char path[512];
    snprintf(path, sizeof path, "%s/elbo.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) abort();
    fprintf(f, "step,nelbo,ppl_bound,bits_per_byte,tokens,train_s\n");
    for (int step = 100; step <= 500; step += 100) {
        double nelbo = base - step / 1000.0;
        fprintf(f, "%d,%.9g,%.9g,%.9g,4096,%.3f\n", step, nelbo, exp(nelbo), nelbo / log(2.0),
                step * 0.1);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/eval.csv", dir);
    if (!(f = fopen(path, "w"))) abort();
    fprintf(f, "step,policy,tokens_per_step,accuracy,correct,total,wall_s,train_s,nfe,"
               "idle_step_ratio\n");
    for (int step = 100; step <= 500; step += 400) /* the step-100 rows must be ignored */
        for (int T = 16; T <= 64; T *= 4)
            fprintf(f, "%d,ancestral,%d,nan,0,8,1.0,1.0,%d,%.6f\n", step, T, T / 2,
                    (step == 500 ? 1.0 : 0.5) * idle16 * (T == 16 ? 1 : 2));
    fclose(f);
    snprintf(path, sizeof path, "%s/train.csv", dir);
    if (!(f = fopen(path, "w"))) abort();
    fprintf(f, "step,loss,lr,grad_norm,tokens_per_s,wall_s,train_s\n");
    for (int step = 50; step <= 500; step += 50)
        fprintf(f, "%d,%.6f,0.001,1.0,1000.0,%.3f,%.3f\n", step, 3.0 - step / 1000.0, step * 0.1,
                step * 0.1);
    fclose(f);
}

/* A sweep of language models: NELBO curves, the likelihood and decoding tables, decode.tsv,
 * no speedup; the gate gets nelbo rows and no accuracy rows. */
static void test_likelihood_sweep(int have_gnuplot) {
    ReportRun runs[4] = {
        run_entry("lm-a1", "prime.ell=1", 1, "done"), run_entry("lm-a2", "prime.ell=1", 2, "done"),
        run_entry("lm-b1", "prime.ell=2", 1, "done"), run_entry("lm-b2", "prime.ell=2", 2, "done")};
    make_text_run(runs[0].dir, 3.0, 0.2);
    make_text_run(runs[1].dir, 3.2, 0.3);
    make_text_run(runs[2].dir, 2.8, 0.1);
    make_text_run(runs[3].dir, 2.9, 0.1);
    char out[512];
    snprintf(out, sizeof out, "%s/lm_report", tmpdir);
    ReportSpec spec = base_spec(out, runs, 4);
    spec.no_gnuplot = !have_gnuplot;
    Err err;
    CHECK_MSG(report_write(&spec, NULL, &err) == 0, "%s", err.msg);
    char *md = read_text(out_file(out, "summary.md"));
    char *json = read_text(out_file(out, "summary.json"));
    char *decode = read_text(out_file(out, "decode.tsv"));
    char *curves = read_text(out_file(out, "curves.tsv"));
    CHECK(md && json && decode && curves);
    if (md && json && decode && curves) {
        /* final NELBO 2.5 and 2.7 (ell=1), 2.3 and 2.4 (ell=2) */
        CHECK_MSG(strstr(md, "| prime.ell=1 | 2 | 2.6 [2.5, 2.7] |"), "%s", md);
        CHECK_MSG(strstr(md, "| prime.ell=2 | 2 | 2.35 [2.3, 2.4] |"), "%s", md);
        CHECK_MSG(strstr(md, "| prime.ell=1 | 64 | 0.5 [0.4, 0.6] | 32 [32, 32] | — |"), "%s", md);
        CHECK_MSG(strstr(md, "| prime.ell=2 | 16 | 0.1 [0.1, 0.1] | 8 [8, 8] | — |"), "%s", md);
        CHECK(strstr(md, "step speedup") == NULL);
        CHECK(strstr(json, "\"curve\": \"nelbo\""));
        /* two seeds a method: warned in summary.json, summary.md and the figure's script */
        CHECK(strstr(json, "\"warnings\": [\n    \"prime.ell=1: 2 seeds: an interval over seeds "
                           "needs at least 3\""));
        CHECK(strstr(md, "## Warnings\n\n- prime.ell=1: 2 seeds"));
        char *gp = read_text(out_file(out, "curves.gp"));
        CHECK(gp && strstr(gp, "warning: prime.ell=2: 2 seeds"));
        free(gp);
        CHECK(strstr(decode, "\n16\t0.25\t0.2\t0.3\t0.1\t0.1\t0.1\n"));
        CHECK(strstr(decode, "\n64\t0.5\t0.4\t0.6\t0.2\t0.2\t0.2\n"));
        CHECK(strstr(curves, "\n500\t2.6\t2.5\t2.7\t"));
    }
    CHECK(file_size(out_file(out, "speedup.gp")) < 0);
    CHECK(file_size(out_file(out, "decode.gp")) > 0);
    if (have_gnuplot)
        CHECK(is_png(out_file(out, "decode.png")) && is_png(out_file(out, "curves.png")));
    free(md);
    free(json);
    free(decode);
    free(curves);
    MetricsFile mf;
    memset(&mf, 0, sizeof mf);
    CHECK_MSG(report_collect_metrics(&spec, &mf, &err) == 0, "%s", err.msg);
    const MetricRow *r = find_row(&mf, "nelbo@500/prime.ell=2/seed=2");
    CHECK(r && !r->higher_is_better && r->exact && r->gated);
    if (r) CHECK_CLOSE(r->value, 2.4, 1e-9, 0);
    for (int i = 0; i < mf.n; i++) CHECK(strncmp(mf.rows[i].name, "accuracy@", 9) != 0);
    metrics_file_free(&mf);
}

static void remove_tree(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char child[1024];
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        remove_tree(child);
    }
    closedir(d);
    rmdir(path);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mdm_test_report_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    char gp[4096];
    int have_gnuplot = gnuplot_find(gp, sizeof gp);
    if (!have_gnuplot) printf("gnuplot is not on PATH: the figure checks are skipped\n");
    test_two_methods(have_gnuplot);
    test_censored_method();
    test_errors();
    test_gnuplot_missing();
    test_gnuplot_failure(have_gnuplot);
    test_collect();
    test_likelihood_sweep(have_gnuplot);
    if (!getenv("MDM_KEEP_TMP"))
        remove_tree(tmpdir);
    else
        printf("kept %s\n", tmpdir);
    return check_summary("report");
}
