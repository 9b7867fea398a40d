/* `mdmlab step-importance`, `mdmlab schedule-search` and `mdmlab pareto` (the inference
 * studies). */
#include "cmd_inference.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd_sweep.h"

#include "backends/backend.h"
#include "base/config.h"
#include "forward/config_schema.h"
#include "model/checkpoint.h"
#include "report/csv.h"
#include "report/gnuplot.h"
#include "report/pareto.h"
#include "run/elbo.h"
#include "run/eval.h"
#include "tasks/lib/jsonl.h"
#include "tasks/task.h"

/* ---- shared: the output directory and its figure ---------------------------------------- */

/* Writes DIR/NAME.tsv and DIR/NAME.gp and runs gnuplot when there is one (a missing gnuplot
 * leaves the data and the script, and says so). */
static int write_figure(const char *dir, const char *name, const StrBuf *tsv, const StrBuf *gp,
                        Err *err) {
    char path[CFG_PATH + 64];
    if (make_dirs(dir, err)) return -1;
    snprintf(path, sizeof path, "%s/%s.tsv", dir, name);
    if (write_file_atomic(path, tsv->data, tsv->len, err)) return -1;
    snprintf(path, sizeof path, "%s/%s.gp", dir, name);
    if (write_file_atomic(path, gp->data, gp->len, err)) return -1;
    char gnuplot[CFG_PATH];
    snprintf(path, sizeof path, "%s.gp", name);
    if (!gnuplot_find(gnuplot, sizeof gnuplot)) {
        fprintf(stderr, "mdmlab: note: no gnuplot on PATH; %s/%s.gp is written, not drawn\n", dir,
                name);
        return 0;
    }
    if (gnuplot_run(gnuplot, dir, path, err)) return -1;
    printf("wrote %s/%s.tsv and %s/%s.png, .svg\n", dir, name, dir, name);
    return 0;
}

/* ---- step-importance -------------------------------------------------------------------- */

static void step_importance_usage(FILE *f) {
    fprintf(f,
            "usage: mdmlab step-importance HEAVY_RUN_DIR|CHECKPOINT --light CHECKPOINT\n"
            "                              [-o DIR] [--points J] [key=value ...]\n\n"
            "At J time points t = (j + 0.5) / J (default 16) the eval windows are masked as the\n"
            "validation ELBO masks them (each non-prompt position with probability t, fixed by\n"
            "task.data_seed), and over the masked positions it reports the heavy and the light\n"
            "model's mean loss (-log p of the clean token) and KL(heavy || light) of their\n"
            "predictive distributions. Writes DIR/step_importance.tsv and .gp/.png/.svg (DIR:\n"
            "HEAVY_RUN_DIR/step_importance, or ./step_importance for a checkpoint). key=value\n"
            "overrides: eval.count, eval.batch, backend, threads.\n");
}

/* The arguments of the heavy-vs-light commands (step-importance, schedule-search). */
typedef struct HeavyLightArgs {
    const char *heavy, *light, *out;
    const char *scorer;     /* schedule-search --gen-ppl: the AR checkpoint of text quality */
    const char *policy;     /* schedule-search --policy: the policy decoder instead of ancestral */
    UnmaskPolicy policy_id; /* its policy (margin without --policy) */
    char heavy_ckpt[CFG_PATH], out_dir[CFG_PATH];
    int points;                   /* step-importance: time points */
    int segments, light_segments; /* schedule-search */
    char *const *overrides;
    int n_overrides;
} HeavyLightArgs;

/* An integer option's value in [lo, hi]. */
static int int_option(const char *opt, const char *val, int lo, int hi, int *out, Err *err) {
    char *end;
    long v = strtol(val, &end, 10);
    if (*end || end == val || v < lo || v > hi)
        return err_set(err, "%s: expected an integer from %d to %d, got '%s'", opt, lo, hi, val);
    *out = (int)v;
    return 0;
}

/* default_dir: the output folder's name inside the run directory (or the current one). */
static int heavy_light_args(HeavyLightArgs *a, const char *command, const char *default_dir,
                            int argc, char **argv, Err *err) {
    memset(a, 0, sizeof *a);
    a->points = 16;
    a->segments = 8;
    a->light_segments = 2;
    a->policy_id = POLICY_MARGIN;
    a->overrides = argv + argc;
    a->heavy = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(opt, "--light") == 0 && val)
            a->light = argv[++i];
        else if (strcmp(opt, "-o") == 0 && val)
            a->out = argv[++i];
        else if (strcmp(opt, "--gen-ppl") == 0 && val)
            a->scorer = argv[++i];
        else if (strcmp(opt, "--policy") == 0 && val) {
            a->policy = argv[++i];
            if (policy_from_name(a->policy, &a->policy_id) != 0)
                return err_set(err, "--policy '%s': expected topk, margin, entropy, random or l2r",
                               a->policy);
        } else if (strcmp(opt, "--points") == 0 && val) {
            if (int_option(opt, argv[++i], 2, 4096, &a->points, err)) return -1;
        } else if (strcmp(opt, "--segments") == 0 && val) {
            if (int_option(opt, argv[++i], 1, 20, &a->segments, err)) return -1;
        } else if (strcmp(opt, "--light-segments") == 0 && val) {
            if (int_option(opt, argv[++i], 0, 20, &a->light_segments, err)) return -1;
        } else if (strchr(opt, '=')) {
            if (a->n_overrides == 0) a->overrides = argv + i;
            if (a->overrides + a->n_overrides != argv + i)
                return err_set(err, "key=value overrides go last, after the options");
            a->n_overrides++;
        } else {
            return err_set(err, "%s: unknown option '%s' (see --help)", command, opt);
        }
    }
    if (!a->light) return err_set(err, "%s: --light CHECKPOINT is required", command);
    if (a->light_segments > a->segments)
        return err_set(err, "%s: --light-segments %d is more than --segments %d", command,
                       a->light_segments, a->segments);
    int dir;
    if (eval_checkpoint_path(a->heavy, a->heavy_ckpt, sizeof a->heavy_ckpt, &dir, err)) return -1;
    if (a->out)
        snprintf(a->out_dir, sizeof a->out_dir, "%s", a->out);
    else
        snprintf(a->out_dir, sizeof a->out_dir, "%s%s%s", dir ? a->heavy : "", dir ? "/" : "",
                 default_dir);
    return 0;
}

/* The heavy run's stored config with the overrides. */
static int heavy_config(Config *cfg, const HeavyLightArgs *a, Err *err) {
    Checkpoint ck;
    if (checkpoint_read(a->heavy_ckpt, &ck, err) != 0) return -1;
    config_defaults(cfg);
    int rc = config_load_yaml_string(cfg, ck.config_yaml, ck.config_len, a->heavy_ckpt, err);
    checkpoint_free(&ck);
    for (int i = 0; i < a->n_overrides && rc == 0; i++)
        rc = config_apply_override(cfg, a->overrides[i], err);
    return rc;
}

/* A heavy and a light model of one task on one backend. */
typedef struct HeavyLight {
    Config cfg; /* the heavy run's, with the overrides */
    Backend be;
    Task task;
    Model heavy, light, scorer; /* scorer: schedule-search --gen-ppl's AR model */
} HeavyLight;

static void heavy_light_close(HeavyLight *h) {
    model_free(&h->scorer);
    model_free(&h->light);
    model_free(&h->heavy);
    if (h->task.ops) task_destroy(&h->task);
    if (h->be.ops) backend_destroy(&h->be);
}

/* Parses the arguments and loads both models; `command` names the errors. need_score: the
 * task must be scored, by accuracy or (text) by the AR model of --gen-ppl. */
static int heavy_light_open(HeavyLight *h, HeavyLightArgs *a, const char *command,
                            const char *default_dir, int need_score, int argc, char **argv,
                            Err *err) {
    memset(h, 0, sizeof *h);
    if (heavy_light_args(a, command, default_dir, argc, argv, err) || heavy_config(&h->cfg, a, err))
        return -1;
    const Config *c = &h->cfg;
    int rc = backend_create(&h->be, c->backend, c->threads, err);
    if (rc == 0) rc = task_create(&h->task, c, err);
    if (rc == 0 && need_score && !h->task.ops->score && !a->scorer)
        rc = err_set(err,
                     "%s: task '%s' has no accuracy to compare by; give --gen-ppl AR_CHECKPOINT "
                     "(generative perplexity of the samples)",
                     command, h->task.ops->name);
    if (rc == 0 && a->scorer && h->task.ops->score)
        rc = err_set(err, "%s: --gen-ppl: task '%s' is scored by accuracy, not likelihood", command,
                     h->task.ops->name);
    if (rc == 0)
        rc = eval_load_model(&h->heavy, &h->be, a->heavy_ckpt, &h->task, c->eval.batch, err);
    if (rc == 0) rc = eval_load_model(&h->light, &h->be, a->light, &h->task, c->eval.batch, err);
    if (rc == 0 && a->scorer)
        rc = elbo_load_ar_model(&h->scorer, &h->be, a->scorer, &h->task, c->eval.batch, err);
    if (rc) heavy_light_close(h);
    return rc;
}

/* The end of a path that fits in n bytes, "..." in front when cut (figure titles). */
static void path_tail(const char *path, char *out, size_t n) {
    size_t len = strlen(path);
    if (len < n)
        snprintf(out, n, "%s", path);
    else
        snprintf(out, n, "...%s", path + len - (n - 4));
}

static void step_importance_table(const StepImportanceRow *rows, int J, StrBuf *tsv) {
    sb_printf(tsv, "# t\tloss_heavy\tloss_light\tkl\tmasked\n");
    printf("%6s %11s %11s %9s %8s\n", "t", "loss_heavy", "loss_light", "kl", "masked");
    for (int j = 0; j < J; j++) {
        const StepImportanceRow *r = &rows[j];
        sb_printf(tsv, "%.6f\t%.6f\t%.6f\t%.6f\t%ld\n", r->t, r->loss_heavy, r->loss_light, r->kl,
                  r->masked);
        printf("%6.3f %11.4f %11.4f %9.4f %8ld\n", r->t, r->loss_heavy, r->loss_light, r->kl,
               r->masked);
    }
}

int cmd_step_importance(int argc, char **argv, Err *err) {
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        step_importance_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    HeavyLightArgs a;
    HeavyLight h;
    if (heavy_light_open(&h, &a, "step-importance", "step_importance", 0, argc, argv, err))
        return 1;
    StepImportanceRow *rows = calloc((size_t)a.points, sizeof *rows);
    int rc = rows ? 0 : err_set(err, "step-importance: out of memory");
    ElboOptions eo = {.points = a.points,
                      .count = h.cfg.eval.count,
                      .batch = h.cfg.eval.batch,
                      .seed = (uint64_t)h.cfg.task.data_seed};
    if (rc == 0) rc = eval_step_importance(&h.heavy, &h.light, &h.task, &eo, rows, err);
    if (rc == 0) {
        StrBuf tsv = {0}, gp = {0};
        step_importance_table(rows, a.points, &tsv);
        char title[256], heavy[40], light[40];
        path_tail(a.heavy, heavy, sizeof heavy);
        path_tail(a.light, light, sizeof light);
        snprintf(title, sizeof title, "step importance: heavy %s, light %s", heavy, light);
        gp_step_importance_script(&gp, title);
        rc = write_figure(a.out_dir, "step_importance", &tsv, &gp, err);
        sb_free(&tsv);
        sb_free(&gp);
    }
    free(rows);
    heavy_light_close(&h);
    return rc == 0 ? 0 : 1;
}

/* ---- schedule-search -------------------------------------------------------------------- */

static void schedule_search_usage(FILE *f) {
    fprintf(f,
            "usage: mdmlab schedule-search HEAVY_RUN_DIR|CHECKPOINT --light CHECKPOINT\n"
            "                              [--segments N] [--light-segments M] [-o DIR]\n"
            "                              [--policy NAME] [--gen-ppl AR_CHECKPOINT]\n"
            "                              [key=value ...]\n\n"
            "Splits eval.steps (default 128; set it with eval.steps=T) into N equal segments\n"
            "(default 8) and evaluates every placement of M light ones (default 2) with model\n"
            "scheduling, after the all-heavy and the all-light schedule: one row per schedule\n"
            "with its forward FLOPs per example, flops_saved, its quality and that quality's 95%%\n"
            "interval, and nfe. Decoding: MDLM's ancestral sampler with T = eval.steps, or with\n"
            "--policy NAME (margin, topk, ...; eval.tokens_per_step per step) the policy\n"
            "decoder, whose sequence that has revealed r of its M masked positions is at\n"
            "schedule step floor(r * T / M). Quality: accuracy (Wilson interval over the eval\n"
            "examples), or for a text task with --gen-ppl the generative perplexity of\n"
            "eval.samples samples under that AR model (lower is better; interval over samples)\n"
            "and their mean token entropy. Writes DIR/schedule_search.tsv, DIR/rows.jsonl (for\n"
            "mdmlab pareto) and the figures schedule_search and pareto (.gp/.png/.svg; DIR:\n"
            "HEAVY_RUN_DIR/schedule_search, or ./schedule_search). key=value overrides:\n"
            "eval.steps, eval.count, eval.samples, eval.batch, eval.temperature,\n"
            "eval.tokens_per_step, backend, threads.\n");
}

/* The schedule of light-segment mask `light` over n segments of `steps` (the first steps % n
 * segments one step longer), adjacent segments of one model merged: "H32,L16,H80". */
static void schedule_of(unsigned light, int n, int steps, char *out, size_t size) {
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < n;) {
        int kind = (light >> i) & 1, count = 0;
        for (; i < n && (int)((light >> i) & 1) == kind; i++) count += steps / n + (i < steps % n);
        len += (size_t)snprintf(out + len, size - len, "%s%c%d", len ? "," : "", kind ? 'L' : 'H',
                                count);
    }
}

/* The 95% Wilson score interval of k successes in n. */
static void wilson_interval(long k, long n, double *lo, double *hi) {
    const double z = 1.959964;
    double p = n ? (double)k / n : 0.0, z2n = n ? z * z / n : 0.0;
    double centre = (p + z2n / 2) / (1 + z2n);
    double half = n ? z * sqrt(p * (1 - p) / n + z2n / (4.0 * n)) / (1 + z2n) : 0.0;
    *lo = centre - half;
    *hi = centre + half;
}

/* One schedule's evaluation: its quality with a 95% interval, and its cost. */
typedef struct ScheduleRow {
    double quality, lo, hi, entropy; /* entropy: text only */
    DecodeCost cost;
} ScheduleRow;

static int evaluate_schedule(const HeavyLightArgs *a, const Config *cfg, HeavyLight *h,
                             const char *schedule, ScheduleRow *row, Err *err) {
    SampleOptions opt = eval_sample_options(cfg, a->policy_id, cfg->eval.tokens_per_step, 0);
    opt.ancestral_steps = a->policy ? 0 : cfg->eval.steps;
    opt.schedule = schedule;
    opt.schedule_steps = cfg->eval.steps;
    if (a->scorer) {
        GenPplResult g;
        if (eval_gen_perplexity(&h->heavy, &h->light, &h->scorer, &h->task, &opt, cfg->eval.samples,
                                (uint64_t)cfg->seed, &g, err))
            return -1;
        *row = (ScheduleRow){g.gen_ppl, g.gen_ppl_lo, g.gen_ppl_hi, g.entropy, g.cost};
        return 0;
    }
    EvalResult r;
    if (eval_accuracy(&h->heavy, &h->light, &h->task, &opt, cfg->eval.count, (uint64_t)cfg->seed,
                      &r, err))
        return -1;
    memset(row, 0, sizeof *row);
    row->quality = r.accuracy;
    wilson_interval(r.correct, r.total, &row->lo, &row->hi);
    row->entropy = NAN;
    row->cost = r.cost;
    return 0;
}

/* The all-heavy and the all-light schedule, then every placement of the light segments. */
static int search_schedules(const HeavyLightArgs *a, const Config *cfg, HeavyLight *h,
                            const char *quality, StrBuf *tsv, StrBuf *rows, Err *err) {
    const int n = a->segments, steps = cfg->eval.steps;
    if (steps < n) return err_set(err, "--segments %d: more than eval.steps = %d", n, steps);
    sb_printf(tsv, "# schedule\tflops\tflops_saved\t%s\tlo95\thi95\tnfe\tentropy\n", quality);
    printf("%-28s %10s %8s %9s %17s%s\n", "schedule", "flops", "saved", quality, "95% interval",
           a->scorer ? "  entropy" : "");
    const char *label = a->policy ? a->policy : "ancestral";
    int k = a->policy ? cfg->eval.tokens_per_step : steps;
    int rc = 0;
    for (long i = -2; i < (1L << n) && rc == 0; i++) {
        unsigned mask = i == -2 ? 0u : i == -1 ? (1u << n) - 1 : (unsigned)i;
        if (i >= 0 && __builtin_popcount(mask) != a->light_segments) continue;
        char schedule[CFG_STR];
        schedule_of(mask, n, steps, schedule, sizeof schedule);
        ScheduleRow r = {0};
        if ((rc = evaluate_schedule(a, cfg, h, schedule, &r, err))) break;
        sb_printf(tsv, "%s\t%.6g\t%.6f\t%.6f\t%.6f\t%.6f\t%.3f\t%.4f\n", schedule, r.cost.flops,
                  r.cost.flops_saved, r.quality, r.lo, r.hi, r.cost.nfe, r.entropy);
        sb_printf(rows,
                  "{\"policy\":\"%s\",\"k\":%d,\"schedule\":\"%s\",\"%s\":%.6f,"
                  "\"flops\":%.6g,\"flops_saved\":%.6f,\"nfe\":%.3f",
                  label, k, schedule, quality, r.quality, r.cost.flops, r.cost.flops_saved,
                  r.cost.nfe);
        if (a->scorer) sb_printf(rows, ",\"entropy\":%.6f", r.entropy);
        sb_printf(rows, "}\n");
        printf("%-28s %10.3g %8.3f %9.4f   [%.4f, %.4f]", schedule, r.cost.flops,
               r.cost.flops_saved, r.quality, r.lo, r.hi);
        if (a->scorer) printf(" %8.4f", r.entropy);
        printf("\n");
        fflush(stdout);
        /* with all segments light (or none), the references are the whole search */
        if (i == -1 && (a->light_segments == 0 || a->light_segments == n)) break;
    }
    return rc;
}

static int pareto_from_rows(const char *dir, const char *cost, const char *quality,
                            const char *title, Err *err);

int cmd_schedule_search(int argc, char **argv, Err *err) {
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        schedule_search_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    HeavyLightArgs a;
    HeavyLight h;
    if (heavy_light_open(&h, &a, "schedule-search", "schedule_search", 1, argc, argv, err))
        return 1;
    const char *quality = a.scorer ? "gen_ppl" : "accuracy";
    StrBuf tsv = {0}, rows = {0};
    int rc = search_schedules(&a, &h.cfg, &h, quality, &tsv, &rows, err);
    char path[CFG_PATH + 32], title[CFG_PATH + 96];
    snprintf(title, sizeof title, "schedule search: %s per schedule, %s decoding, T = %d", quality,
             a.policy ? a.policy : "ancestral", h.cfg.eval.steps);
    StrBuf gp = {0};
    gp_schedule_search_script(&gp, title, quality,
                              a.scorer ? "normal interval over the samples"
                                       : "Wilson interval over the eval examples");
    if (rc == 0) rc = write_figure(a.out_dir, "schedule_search", &tsv, &gp, err);
    sb_free(&gp);
    snprintf(path, sizeof path, "%s/rows.jsonl", a.out_dir);
    if (rc == 0) rc = write_file_atomic(path, rows.data, rows.len, err);
    snprintf(title, sizeof title, "Pareto front of the schedules: FLOPs vs %s, %s decoding, T = %d",
             quality, a.policy ? a.policy : "ancestral", h.cfg.eval.steps);
    if (rc == 0) rc = pareto_from_rows(a.out_dir, "flops", quality, title, err);
    sb_free(&tsv);
    sb_free(&rows);
    heavy_light_close(&h);
    return rc == 0 ? 0 : 1;
}

/* ---- pareto ----------------------------------------------------------------------------- */

static void pareto_usage(FILE *f) {
    fprintf(f,
            "usage: mdmlab pareto INPUT ... [-o DIR] [--cost FIELD] [--quality FIELD]\n\n"
            "Draws cost vs quality of decoding choices with the non-dominated points (no other\n"
            "point is cheaper and at least as good) joined and labelled. Each INPUT is\n"
            "  - a file of evaluation rows (the lines `mdmlab eval --json` prints, one JSON\n"
            "    object per decoding choice; labels: policy, k and schedule), or\n"
            "  - a FILE.tsv whose '# NAME\\tNAME...' header names its columns, such as\n"
            "    schedule-search's schedule_search.tsv (labels: the first column), or\n"
            "  - a sweep directory (mdmlab sweep --out): per method and per policy:k of its\n"
            "    runs' eval.csv rows at their last eval step, the seeds' mean nfe and accuracy\n"
            "    (labels: the method and policy:k; cost nfe only).\n"
            "Writes DIR/pareto.tsv (label, cost, quality, on the front) and pareto.gp/.png/.svg\n"
            "(DIR default: pareto). A sweep whose methods differ in eval.* keys only gets this\n"
            "figure in its report (report/pareto.png).\n"
            "  --cost FIELD     nfe (default), flops, model_calls or seconds\n"
            "  --quality FIELD  accuracy (default; higher is better), or gen_ppl or nll (lower\n"
            "                   is better: schedule-search --gen-ppl rows)\n");
}

static int number_field(const JsonlReader *r, const char *key, double *out, Err *err) {
    const JsonField *f = json_row_find(&r->row, key);
    if (!f || f->type != JSON_NUMBER)
        return err_set(err, "%s:%ld: field '%s' missing or not a number", r->path, r->line, key);
    *out = f->number;
    return 0;
}

static int read_points(const char *path, const char *cost, const char *quality, ParetoSet *s,
                       Err *err) {
    JsonlReader r;
    if (jsonl_open(&r, path, err)) return -1;
    int rc = 0, got;
    while ((got = jsonl_next(&r, err)) == 1) {
        double k = 0, c = 0, q = 0;
        const JsonField *policy = json_row_find(&r.row, "policy");
        const JsonField *schedule = json_row_find(&r.row, "schedule");
        if ((rc = number_field(&r, cost, &c, err)) || (rc = number_field(&r, quality, &q, err)) ||
            (rc = number_field(&r, "k", &k, err)))
            break;
        char label[160];
        snprintf(label, sizeof label, "%s:%.0f%s%s", policy && policy->str ? policy->str : "?", k,
                 schedule && schedule->str ? " " : "",
                 schedule && schedule->str ? schedule->str : "");
        pareto_add(s, label, c, q);
    }
    jsonl_close(&r);
    return rc || got < 0 ? -1 : 0;
}

/* A TSV whose "# NAME\tNAME..." header names its columns (schedule_search.tsv): one point per
 * row, labelled by its first column. */
static int read_tsv_points(const char *path, const char *cost, const char *quality, ParetoSet *s,
                           Err *err) {
    Csv c;
    if (csv_open_file(&c, path, '\t', err)) return -1;
    int c_cost = csv_col(&c, cost, 1, err);
    int c_quality = c_cost < 0 ? -1 : csv_col(&c, quality, 1, err);
    int rc = c_quality < 0 ? -1 : 0, got = 0;
    while (rc == 0 && (got = csv_next(&c, err)) == 1) {
        double x, y;
        if ((rc = csv_num(&c, c_cost, &x, err)) || (rc = csv_num(&c, c_quality, &y, err))) break;
        pareto_add(s, c.field[0], x, y);
    }
    csv_close(&c);
    return rc || got < 0 ? -1 : 0;
}

/* A sweep directory's points (pareto_sweep_points). */
static int read_sweep_points(const char *dir, const char *cost, const char *quality, ParetoSet *s,
                             Err *err) {
    if (strcmp(cost, "nfe") != 0 || strcmp(quality, "accuracy") != 0)
        return err_set(err,
                       "pareto: %s is a sweep directory: its runs' eval.csv rows give cost nfe "
                       "and quality accuracy only",
                       dir);
    ReportSpec spec;
    memset(&spec, 0, sizeof spec);
    ReportRun *runs = NULL;
    int rc = sweep_plan_runs(dir, &runs, &spec.n_runs, err);
    spec.runs = runs;
    if (rc == 0) rc = pareto_sweep_points(&spec, s, err);
    free(runs);
    return rc;
}

static int is_directory(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int write_pareto(const char *out, const char *cost, const char *quality, const char *title,
                        ParetoSet *s, Err *err);

int cmd_pareto(int argc, char **argv, Err *err) {
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        pareto_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *out = "pareto", *cost = "nfe", *quality = "accuracy";
    ParetoSet pts = {0};
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "-o") == 0 && val)
            out = argv[++i];
        else if (strcmp(argv[i], "--cost") == 0 && val)
            cost = argv[++i];
        else if (strcmp(argv[i], "--quality") == 0 && val)
            quality = argv[++i];
        else if (argv[i][0] == '-')
            rc = err_set(err, "pareto: unknown option '%s' (see --help)", argv[i]);
    }
    for (int i = 1; i < argc && rc == 0; i++) {
        if (argv[i][0] == '-') {
            i++; /* an option's value */
            continue;
        }
        size_t len = strlen(argv[i]);
        int tsv = len > 4 && strcmp(argv[i] + len - 4, ".tsv") == 0;
        rc = is_directory(argv[i]) ? read_sweep_points(argv[i], cost, quality, &pts, err)
             : tsv                 ? read_tsv_points(argv[i], cost, quality, &pts, err)
                                   : read_points(argv[i], cost, quality, &pts, err);
    }
    char title[160];
    snprintf(title, sizeof title, "Pareto front: %s vs %s", cost, quality);
    if (rc == 0) rc = write_pareto(out, cost, quality, title, &pts, err);
    pareto_free(&pts);
    return rc == 0 ? 0 : 1;
}

static int write_pareto(const char *out, const char *cost, const char *quality, const char *title,
                        ParetoSet *s, Err *err) {
    int rc = s->n ? 0 : err_set(err, "pareto: the inputs hold no rows");
    if (rc == 0) {
        s->lower_is_better = pareto_lower_is_better(quality);
        pareto_mark_front(s);
        StrBuf tsv = {0}, gp = {0};
        pareto_tsv(&tsv, s, cost, quality);
        for (int i = 0; i < s->n; i++)
            if (s->p[i].front)
                printf("front: %-28s %s %.6g  %s %.6g\n", s->p[i].label, cost, s->p[i].cost,
                       quality, s->p[i].quality);
        gp_pareto_script(&gp, title, cost, quality);
        rc = write_figure(out, "pareto", &tsv, &gp, err);
        sb_free(&tsv);
        sb_free(&gp);
    }
    return rc;
}

static int pareto_from_rows(const char *dir, const char *cost, const char *quality,
                            const char *title, Err *err) {
    char path[CFG_PATH + 32];
    snprintf(path, sizeof path, "%s/rows.jsonl", dir);
    ParetoSet pts = {0};
    int rc = read_points(path, cost, quality, &pts, err);
    if (rc == 0) rc = write_pareto(dir, cost, quality, title, &pts, err);
    pareto_free(&pts);
    return rc;
}
