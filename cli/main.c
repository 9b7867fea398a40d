/* mdmlab: the command-line front end. The only place that prints errors and exits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forward/config_schema.h"
#include "backends/backend.h"
#include "tasks/task.h"
#include "bench.h"
#include "model/model_io.h"
#include "cmd_sweep.h"
#include "cmd_inference.h"
#include "base/config.h"
#include "run/elbo.h"
#include "run/eval.h"
#include "forward/forward.h"
#include "run/train.h"
#include "run/session.h"

#define MDMLAB_VERSION "0.1.0"

static void tasks_with_command(StrBuf *sb, int score);

static void usage(FILE *f) {
    StrBuf gen = {0}, score = {0};
    tasks_with_command(&gen, 0);
    tasks_with_command(&score, 1);
    fprintf(
        f,
        "mdmlab %s: train and evaluate masked diffusion models\n\n"
        "usage: mdmlab COMMAND [options]\n\n"
        "commands:\n"
        "  train [CONFIG.yaml] [key=value ...]   train one run (run dir: runs/<name>-s<seed>)\n"
        "  eval RUN_DIR|CHECKPOINT [options]     solve accuracy under unmasking policies\n"
        "  bench [options]                       training-step throughput per backend\n"
        "  sweep FILE.yaml [key=value ...]       run a grid of trainings (see sweep --help)\n"
        "  plan FILE.yaml                        list the runs a sweep file expands to\n"
        "  report SWEEP_DIR                      curves, speedup figures and summary of a sweep\n"
        "  export DIR ... [-o FILE] [--wide]     every run's metrics as one table (CSV, JSONL)\n"
        "  compare BASELINE CURRENT              regression gate over two metrics files\n"
        "  step-importance RUN --light CKPT      per-time loss and KL of a heavy vs a light model\n"
        "  schedule-search RUN --light CKPT      every placement of light segments, evaluated\n"
        "  pareto ROWS.jsonl|SWEEP_DIR ...       cost vs quality front of decoding choices\n"
        "  gen TASK [options]                    generate a task's data (tasks: %s)\n"
        "  score TASK FILE [options]             check answers against references (tasks: %s)\n"
        "  keys                                  list every config key with its default\n"
        "  help COMMAND                          help on one command\n\n"
        "backends built: %s\n"
        "tasks: %s   forward processes: %s\n",
        MDMLAB_VERSION, gen.data, score.data, backend_names(), task_names(), forward_names());
    sb_free(&gen);
    sb_free(&score);
}

static void train_usage(FILE *f) {
    fprintf(
        f,
        "usage: mdmlab train [CONFIG.yaml] [key=value ...] [--overwrite]\n\n"
        "Trains one model. The config file (YAML) is applied over the defaults, then each\n"
        "key=value override in order; `mdmlab keys` lists every key. The run directory\n"
        "(out_dir, default runs/<name>-s<seed>) receives config.yaml, metrics.jsonl,\n"
        "train.csv, eval.csv, log.txt and checkpoint.bin (written atomically every\n"
        "train.ckpt_every steps); text tasks log elbo.csv (validation ELBO per token,\n"
        "perplexity bound, bits per byte) and samples.txt instead of accuracy in eval.csv.\n"
        "train.resume=auto continues from the run directory's checkpoint, to the same\n"
        "loss curve bit for bit; Ctrl-C saves a checkpoint first. A run directory that\n"
        "already holds a run is never replaced unless --overwrite (train.overwrite=true).\n\n"
        "examples:\n"
        "  mdmlab train experiments/sudoku_quick.yaml\n"
        "  mdmlab train experiments/sudoku_quick.yaml seed=2 backend=openblas train.steps=500\n");
}

static void eval_usage(FILE *f) {
    fprintf(f, "usage: mdmlab eval RUN_DIR|CHECKPOINT [--policy LIST] [--k LIST] [--no-ema]\n"
               "                   [--json] [--gen-ppl AR_CHECKPOINT] [key=value ...]\n\n"
               "Decodes the eval split with every (policy, k) pair and prints solve accuracy.\n"
               "Text tasks: prints the validation ELBO per token (or an AR model's exact NLL),\n"
               "its perplexity bound and bits per byte; with --gen-ppl, for every (policy, k),\n"
               "the perplexity of eval.samples generated sequences under the AR model of\n"
               "AR_CHECKPOINT (process ar, trained on the same tokenizer).\n"
               "  --policy LIST  topk,margin,entropy,random,l2r or all (default all)\n"
               "  --k LIST       tokens unmasked per step, comma-separated (default 1,2)\n"
               "  --no-ema       use the raw weights even if the checkpoint has EMA weights\n"
               "  --json         print one JSON object per result instead of a table\n"
               "key=value overrides apply to eval.* , task.eval_file, task.eval_count, backend,\n"
               "threads (e.g. eval.count=1000 backend=onednn). Results are also written to\n"
               "RUN_DIR/eval_results.json. eval.sampler=ancestral eval.steps=T decodes with\n"
               "MDLM's T-step ancestral sampler instead (one row, k = T); every row reports nfe\n"
               "(model passes per sequence) and idle (the share of steps that reveal nothing).\n");
}

static int has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* A config that failed on a sweep file's own section (grid, seeds, ...) is a sweep file: the
 * error says to run it with `mdmlab sweep`. Returns 1 (the exit status) either way. */
static int sweep_file_hint(const char *path, Err *err) {
    const char *key = strstr(err->msg, "unknown key '");
    char name[32] = "";
    if (key) sscanf(key + 13, "%31[^']", name);
    if (name[0] && sweep_is_section(name))
        err_set(err,
                "%s is a sweep file (it has '%s:'): run it with mdmlab sweep %s (mdmlab plan "
                "%s lists its runs)",
                path, name, path, path);
    return 1;
}

/* `eval SWEEP_DIR`: a sweep directory holds runs, not a checkpoint; list them by label. */
static int sweep_dir_hint(const char *dir, Err *err) {
    char path[CFG_PATH + 32];
    snprintf(path, sizeof path, "%s/plan.tsv", dir);
    if (!file_exists(path)) return 0;
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    if (file_exists(path)) return 0;
    ReportRun *runs = NULL;
    int n = 0;
    Err ignored;
    if (sweep_plan_runs(dir, &runs, &n, &ignored) == 0 && n > 0) {
        fprintf(stderr, "%s is a sweep directory; its runs:\n", dir);
        for (int i = 0; i < n; i++)
            fprintf(stderr, "  mdmlab eval %s   # %s seed=%ld (%s)\n", runs[i].dir, runs[i].method,
                    runs[i].seed, runs[i].state);
    }
    free(runs);
    return err_set(err,
                   "%s is a sweep directory, not a run: evaluate one of its runs (listed "
                   "above; also %s/by-label/)",
                   dir, dir);
}

static int cmd_train(int argc, char **argv, Err *err) {
    Config cfg;
    config_defaults(&cfg);
    int first = 1;
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        train_usage(stdout);
        return 0;
    }
    if (argc > 1 && !strchr(argv[1], '=')) {
        if (!has_suffix(argv[1], ".yaml") && !has_suffix(argv[1], ".yml")) {
            err_set(err, "train: '%s' is neither a .yaml config nor key=value", argv[1]);
            return 2;
        }
        if (config_load_yaml(&cfg, argv[1], err) != 0) return sweep_file_hint(argv[1], err);
        if (!cfg.name[0]) { /* name the run after its config file */
            const char *base = strrchr(argv[1], '/');
            base = base ? base + 1 : argv[1];
            snprintf(cfg.name, sizeof(cfg.name), "%.*s", (int)(strcspn(base, ".")), base);
        }
        first = 2;
    }
    for (int i = first; i < argc; i++)
        if (strcmp(argv[i], "--overwrite") == 0)
            cfg.train.overwrite = 1;
        else if (config_apply_override(&cfg, argv[i], err) != 0)
            return 1;
    Parallel par;
    if (parallel_init(&par, NULL, NULL, err) != 0) return 1;
    int rc = train_run_parallel(&cfg, 0, &par, err);
    int rank = par.rank, world = par.world;
    if (rc != 0 && rc != TRAIN_INTERRUPTED && world > 1) {
        /* a failed rank ends the job: the others would wait in the next collective */
        fprintf(stderr, "mdmlab: error: rank %d of %d: %s\n", rank, world, err->msg);
        fflush(stderr);
        parallel_abort(&par, 1);
    }
    parallel_finalize(&par);
    if (rc == TRAIN_INTERRUPTED) {
        if (rank == 0)
            fprintf(stderr,
                    "\nmdmlab: interrupted; checkpoint saved, resume with train.resume=auto\n");
        return 130;
    }
    if (rc != 0) return 1;
    char dir[CFG_PATH];
    train_run_dir(&cfg, dir, sizeof(dir));
    if (rank == 0) printf("run finished: %s\n", dir);
    return 0;
}

/* Parses "a,b,c" into policies; "all" means every policy. */
static int parse_policies(const char *s, UnmaskPolicy *out, int *n) {
    *n = 0;
    if (strcmp(s, "all") == 0) {
        for (int p = 0; p < POLICY_COUNT; p++) out[(*n)++] = (UnmaskPolicy)p;
        return 0;
    }
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (*n == POLICY_COUNT || policy_from_name(tok, &out[*n]) != 0) return -1;
        (*n)++;
    }
    return *n ? 0 : -1;
}

static int parse_ks(const char *s, int *out, int *n, int max) {
    *n = 0;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        char *end;
        long k = strtol(tok, &end, 10);
        if (*end || k < 1 || k > 4096 || *n == max) return -1;
        out[(*n)++] = (int)k;
    }
    return *n ? 0 : -1;
}

typedef struct EvalCommand {
    const char *target;
    char ckpt_path[CFG_PATH + 32];
    int is_dir, use_ema, json;
    UnmaskPolicy policies[POLICY_COUNT];
    int n_policies;
    int ks[16], n_ks;
    const char *gen_ppl; /* --gen-ppl: AR checkpoint that scores samples (text tasks) */
    char *overrides[64]; /* the key=value arguments, in order (argv entries) */
    int n_overrides;
} EvalCommand;

static int eval_parse_args(EvalCommand *ec, Config *overrides_into, int argc, char **argv,
                           Err *err) {
    ec->use_ema = 1;
    parse_policies("all", ec->policies, &ec->n_policies);
    parse_ks("1,2", ec->ks, &ec->n_ks, 16);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--policy") == 0 && i + 1 < argc) {
            if (parse_policies(argv[++i], ec->policies, &ec->n_policies) != 0)
                return err_set(err,
                               "--policy '%s': expected all or a list of "
                               "topk,margin,entropy,random,l2r",
                               argv[i]);
        } else if (strcmp(a, "--k") == 0 && i + 1 < argc) {
            if (parse_ks(argv[++i], ec->ks, &ec->n_ks, 16) != 0)
                return err_set(err, "--k '%s': expected a list of positive integers", argv[i]);
        } else if (strcmp(a, "--no-ema") == 0) {
            ec->use_ema = 0;
        } else if (strcmp(a, "--json") == 0) {
            ec->json = 1;
        } else if (strcmp(a, "--gen-ppl") == 0 && i + 1 < argc) {
            ec->gen_ppl = argv[++i];
        } else if (strchr(a, '=')) {
            if (strncmp(a, "model.", 6) == 0 || strncmp(a, "train.", 6) == 0)
                return err_set(err, "override '%s': eval cannot change model or training keys", a);
            if (ec->n_overrides == 64) return err_set(err, "eval: more than 64 overrides");
            if (config_apply_override(overrides_into, a, err) != 0) return -1;
            ec->overrides[ec->n_overrides++] = argv[i];
        } else if (a[0] != '-' && !ec->target) {
            ec->target = a;
        } else {
            return err_set(err, "eval: unexpected argument '%s' (see mdmlab eval --help)", a);
        }
    }
    if (!ec->target) return err_set(err, "eval: give a run directory or a checkpoint file");
    if (eval_checkpoint_path(ec->target, ec->ckpt_path, sizeof ec->ckpt_path, &ec->is_dir, err))
        return -1;
    return ec->is_dir ? sweep_dir_hint(ec->target, err) : 0;
}

/* Replays the command line's overrides over the checkpoint's own config. */
static int eval_config(Config *cfg, const Checkpoint *ck, const EvalCommand *ec, Err *err) {
    config_defaults(cfg);
    if (config_load_yaml_string(cfg, ck->config_yaml, ck->config_len, ec->ckpt_path, err) != 0)
        return -1;
    for (int i = 0; i < ec->n_overrides; i++)
        if (config_apply_override(cfg, ec->overrides[i], err) != 0) return -1;
    /* evaluation reads the eval split only: building the training data (20,000 generated
     * puzzles by default) would cost seconds for nothing */
    cfg->task.train_count = 0;
    cfg->task.train_file[0] = '\0';
    return config_validate(cfg, err);
}

/* Starts eval_results.json's object with the fields every task has; eval_json_finish ends it. */
static void eval_json_begin(StrBuf *json, const EvalCommand *ec, const Model *m, long step) {
    sb_printf(json, "{\"checkpoint\":");
    sb_json_string(json, ec->ckpt_path);
    sb_printf(json, ",\"step\":%ld,\"ema\":%s", step, ec->use_ema && m->ema ? "true" : "false");
}

/* Closes the object and, when evaluating a run directory, writes it to its eval_results.json. */
static int eval_json_finish(StrBuf *json, const EvalCommand *ec, Err *err) {
    sb_printf(json, "}\n");
    if (!ec->is_dir) return 0;
    char path[CFG_PATH + 32];
    snprintf(path, sizeof(path), "%s/eval_results.json", ec->target);
    return write_file_atomic(path, json->data, json->len, err);
}

/* Progress of one evaluation on stderr: a live line on a terminal, else a line every 10 s. */
typedef struct EvalProgress {
    const char *what; /* "margin k=1" */
    double t0, last;
    int tty;
} EvalProgress;

static void eval_progress(void *ctx, long done, long total) {
    EvalProgress *p = ctx;
    double now = now_seconds();
    if (p->tty) {
        fprintf(stderr, "\r\033[Keval %s: %ld/%ld examples, %.1f s%s", p->what, done, total,
                now - p->t0, done == total ? "\r\033[K" : "");
    } else if (now - p->last >= 10.0 && done < total) {
        fprintf(stderr, "eval %s: %ld/%ld examples, %.1f s\n", p->what, done, total, now - p->t0);
        p->last = now;
    }
    fflush(stderr);
}

/* The schedule of a scheduled row, as a JSON field (nothing without a light model). */
static void schedule_field(StrBuf *row, const Config *cfg, const Model *light) {
    if (!light || !cfg->eval.schedule[0]) return;
    sb_printf(row, ",\"schedule\":");
    sb_json_string(row, cfg->eval.schedule);
}

/* How many policies and ks an evaluation crosses: the ancestral sampler has no policy or k,
 * so one row (its k is its T). */
static void decodings(const EvalCommand *ec, const Config *cfg, int *n_policies, int *n_ks) {
    int ancestral = strcmp(cfg->eval.sampler, "ancestral") == 0;
    *n_policies = ancestral ? 1 : ec->n_policies;
    *n_ks = ancestral ? 1 : ec->n_ks;
}

static int eval_all(const EvalCommand *ec, const Config *cfg, Model *m, Model *light,
                    const Task *task, long step, Err *err) {
    StrBuf json = {0};
    eval_json_begin(&json, ec, m, step);
    sb_printf(&json, ",\"results\":[");
    if (!ec->json)
        printf("%-9s %4s %9s %9s %8s %8s %6s %8s%s\n", "policy", "k", "accuracy", "solved", "calls",
               "nfe", "idle", "seconds", light ? "     flops  saved" : "");
    int n_policies, n_ks;
    decodings(ec, cfg, &n_policies, &n_ks);
    int rc = 0;
    for (int p = 0; p < n_policies && rc == 0; p++) {
        for (int k = 0; k < n_ks && rc == 0; k++) {
            SampleOptions opt = eval_sample_options(cfg, ec->policies[p], ec->ks[k], step);
            char what[64];
            snprintf(what, sizeof what, "%s k=%d", eval_sampler_label(&opt), eval_sampler_k(&opt));
            EvalProgress progress = {what, now_seconds(), now_seconds(), isatty(STDERR_FILENO)};
            opt.on_batch = eval_progress;
            opt.on_batch_ctx = &progress;
            EvalResult r;
            rc = eval_accuracy(m, light, task, &opt, cfg->eval.count, (uint64_t)cfg->seed, &r, err);
            if (rc) break;
            const char *label = eval_sampler_label(&opt);
            StrBuf row = {0};
            sb_printf(&row,
                      "{\"policy\":\"%s\",\"k\":%d,\"accuracy\":%.6f,\"correct\":%ld,"
                      "\"total\":%ld,\"model_calls\":%.1f,\"nfe\":%.3f,\"idle_step_ratio\":%.6f,"
                      "\"flops\":%.6g,\"flops_saved\":%.6f,\"seconds\":%.3f",
                      label, eval_sampler_k(&opt), r.accuracy, r.correct, r.total,
                      r.cost.model_calls, r.cost.nfe, r.cost.idle_step_ratio, r.cost.flops,
                      r.cost.flops_saved, r.seconds);
            schedule_field(&row, cfg, light);
            sb_printf(&row, "}");
            sb_printf(&json, "%s%s", p + k ? "," : "", row.data);
            if (ec->json)
                printf("%s\n", row.data);
            else {
                printf("%-9s %4d %9.4f %4ld/%-4ld %8.1f %8.2f %6.3f %8.2f", label,
                       eval_sampler_k(&opt), r.accuracy, r.correct, r.total, r.cost.model_calls,
                       r.cost.nfe, r.cost.idle_step_ratio, r.seconds);
                if (light) printf(" %9.3g %6.3f", r.cost.flops, r.cost.flops_saved);
                printf("\n");
            }
            sb_free(&row);
            fflush(stdout);
        }
    }
    sb_printf(&json, "]");
    if (rc == 0) rc = eval_json_finish(&json, ec, err);
    sb_free(&json);
    return rc;
}

/* Generative perplexity of each (policy, k) under ar, the AR model of ec->gen_ppl. */
static int eval_gen_ppl(const EvalCommand *ec, const Config *cfg, Model *m, Model *light, Model *ar,
                        const Task *task, long step, StrBuf *json, Err *err) {
    sb_printf(json, ",\"gen_ppl_model\":");
    sb_json_string(json, ec->gen_ppl);
    sb_printf(json, ",\"gen_ppl\":[");
    if (!ec->json)
        printf("%-9s %4s %10s %17s %8s %8s %8s %8s %9s %6s %8s\n", "policy", "k", "gen_ppl",
               "95% interval", "entropy", "samples", "nfe", "idle", "flops", "saved", "seconds");
    int n_policies, n_ks;
    decodings(ec, cfg, &n_policies, &n_ks);
    int rc = 0;
    for (int p = 0; p < n_policies && rc == 0; p++) {
        for (int k = 0; k < n_ks && rc == 0; k++) {
            SampleOptions opt = eval_sample_options(cfg, ec->policies[p], ec->ks[k], step);
            GenPplResult g;
            rc = eval_gen_perplexity(m, light, ar, task, &opt, cfg->eval.samples,
                                     (uint64_t)cfg->seed, &g, err);
            if (rc) break;
            StrBuf row = {0};
            sb_printf(&row,
                      "{\"policy\":\"%s\",\"k\":%d,\"gen_ppl\":%.6g,\"gen_ppl_lo95\":%.6g,"
                      "\"gen_ppl_hi95\":%.6g,\"nll\":%.6f,\"entropy\":%.6f,\"samples\":%ld,"
                      "\"tokens\":%ld,\"model_calls\":%.1f,\"nfe\":%.3f,\"idle_step_ratio\":%.6f,"
                      "\"flops\":%.6g,\"flops_saved\":%.6f,\"seconds\":%.3f",
                      eval_sampler_label(&opt), eval_sampler_k(&opt), g.gen_ppl, g.gen_ppl_lo,
                      g.gen_ppl_hi, g.nll, g.entropy, g.samples, g.tokens, g.cost.model_calls,
                      g.cost.nfe, g.cost.idle_step_ratio, g.cost.flops, g.cost.flops_saved,
                      g.seconds);
            schedule_field(&row, cfg, light);
            sb_printf(&row, "}");
            sb_printf(json, "%s%s", p + k ? "," : "", row.data);
            if (ec->json)
                printf("%s\n", row.data);
            else
                printf(
                    "%-9s %4d %10.3f   [%6.3f, %6.3f] %8.4f %8ld %8.2f %8.3f %9.3g %6.3f %8.2f\n",
                    eval_sampler_label(&opt), eval_sampler_k(&opt), g.gen_ppl, g.gen_ppl_lo,
                    g.gen_ppl_hi, g.entropy, g.samples, g.cost.nfe, g.cost.idle_step_ratio,
                    g.cost.flops, g.cost.flops_saved, g.seconds);
            sb_free(&row);
            fflush(stdout);
        }
    }
    sb_printf(json, "]");
    return rc;
}

/* Without --gen-ppl, the ancestral sampler's cost on eval.samples generated sequences (what
 * MDM-Prime's idle steps are about); nothing for the policy decoder, whose steps all reveal. */
static int eval_decode_cost(const EvalCommand *ec, const Config *cfg, Model *m, Model *light,
                            const Task *task, long step, StrBuf *json, Err *err) {
    SampleOptions opt = eval_sample_options(cfg, POLICY_TOPK, 1, step);
    if (!opt.ancestral_steps || cfg->eval.samples <= 0) return 0;
    int *tokens = malloc((size_t)cfg->eval.samples * task->seq_len * sizeof(int));
    if (!tokens) return err_set(err, "eval: out of memory for %d samples", cfg->eval.samples);
    DecodeCost cost;
    double t0 = now_seconds();
    int rc = eval_generate(m, light, task, &opt, cfg->eval.samples, (uint64_t)cfg->seed, tokens,
                           &cost, err);
    free(tokens);
    if (rc) return rc;
    StrBuf row = {0};
    sb_printf(&row,
              "{\"sampler\":\"ancestral\",\"steps\":%d,\"samples\":%d,\"model_calls\":%.1f,"
              "\"nfe\":%.3f,\"idle_step_ratio\":%.6f,\"flops\":%.6g,\"flops_saved\":%.6f,"
              "\"seconds\":%.3f",
              opt.ancestral_steps, cfg->eval.samples, cost.model_calls, cost.nfe,
              cost.idle_step_ratio, cost.flops, cost.flops_saved, now_seconds() - t0);
    schedule_field(&row, cfg, light);
    sb_printf(&row, "}");
    sb_printf(json, ",\"decode\":%s", row.data);
    if (ec->json)
        printf("%s\n", row.data);
    else
        printf("ancestral T=%d: %d samples, nfe %.2f, idle_step_ratio %.4f (%.2f s)\n",
               opt.ancestral_steps, cfg->eval.samples, cost.nfe, cost.idle_step_ratio,
               now_seconds() - t0);
    sb_free(&row);
    fflush(stdout);
    return 0;
}

/* Tasks without answers (text): the validation ELBO, then --gen-ppl's table or the ancestral
 * sampler's cost. */
static int eval_text(const EvalCommand *ec, const Config *cfg, Model *m, Model *light,
                     const Task *task, long step, Err *err) {
    ElboOptions eo = {.points = cfg->eval.elbo_points,
                      .count = cfg->eval.count,
                      .batch = cfg->eval.batch,
                      .seed = (uint64_t)cfg->task.data_seed};
    ElboResult e;
    Model ar = {0};
    if (ec->gen_ppl && elbo_load_ar_model(&ar, m->be, ec->gen_ppl, task, cfg->eval.batch, err))
        return -1;
    if (eval_elbo(m, task, &eo, &e, err) != 0) {
        model_free(&ar);
        return -1;
    }
    char bpb[32] = "null";
    if (isfinite(e.bits_per_byte)) snprintf(bpb, sizeof bpb, "%.9g", e.bits_per_byte);
    StrBuf json = {0};
    eval_json_begin(&json, ec, m, step);
    sb_printf(&json,
              ",\"elbo\":{\"nelbo\":%.9g,\"ppl_bound\":%.9g,\"bits_per_byte\":%s,\"tokens\":%ld,"
              "\"bytes\":%ld,\"windows\":%ld,\"points\":%d,\"autoregressive\":%s,\"seconds\":%.3f}",
              e.nelbo, e.ppl_bound, bpb, e.tokens, e.bytes, e.windows,
              e.autoregressive ? 0 : eo.points, e.autoregressive ? "true" : "false", e.seconds);
    if (ec->json)
        printf("%s}\n", json.data);
    else
        printf("%s %.4f nats/token  perplexity%s %.3f  %.4f bits/byte  (%ld tokens, %ld "
               "windows, %.2f s)\n",
               e.autoregressive ? "NLL" : "NELBO", e.nelbo,
               e.autoregressive ? "" : " <=", e.ppl_bound, e.bits_per_byte, e.tokens, e.windows,
               e.seconds);
    fflush(stdout);
    int rc = ec->gen_ppl ? eval_gen_ppl(ec, cfg, m, light, &ar, task, step, &json, err)
                         : eval_decode_cost(ec, cfg, m, light, task, step, &json, err);
    model_free(&ar);
    if (rc == 0) rc = eval_json_finish(&json, ec, err);
    sb_free(&json);
    return rc;
}

static int cmd_eval(int argc, char **argv, Err *err) {
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        eval_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    EvalCommand ec = {0};
    Config scratch, cfg;
    Checkpoint ck;
    Backend be = {0};
    Task task = {0};
    Model m = {0}, light = {0};
    config_defaults(&scratch); /* validates the overrides' syntax before any work */
    if (eval_parse_args(&ec, &scratch, argc, argv, err) != 0) return 1;
    if (checkpoint_read(ec.ckpt_path, &ck, err) != 0) return 1;
    int rc = eval_config(&cfg, &ck, &ec, err);
    if (rc == 0) rc = backend_create(&be, cfg.backend, cfg.threads, err);
    if (rc == 0) rc = task_create(&task, &cfg, err);
    if (rc == 0) {
        ModelConfig mc = session_model_config(&cfg, &task);
        Err note;
        int want_ema = model_io_eval_uses_ema(&ck, ec.ckpt_path, ec.use_ema, &note);
        if (note.msg[0]) fprintf(stderr, "mdmlab: note: %s\n", note.msg);
        rc = model_create(&m, &mc, &be, cfg.eval.batch, want_ema, err);
        if (rc == 0) rc = model_io_restore(&m, &ck, ec.ckpt_path, 0, err);
        if (rc == 0 && want_ema) model_swap_ema(&m);
        if (rc == 0 && ec.gen_ppl && task.ops->score)
            rc = err_set(err, "--gen-ppl: task '%s' is scored by accuracy, not likelihood",
                         task.ops->name);
        int scheduled = cfg.eval.light_checkpoint[0] != '\0';
        if (rc == 0 && scheduled)
            rc =
                eval_load_model(&light, &be, cfg.eval.light_checkpoint, &task, cfg.eval.batch, err);
        Model *lightp = scheduled ? &light : NULL;
        if (rc == 0 && !task.ops->score)
            rc = eval_text(&ec, &cfg, &m, lightp, &task, (long)ck.step, err);
        else if (rc == 0)
            rc = eval_all(&ec, &cfg, &m, lightp, &task, (long)ck.step, err);
    }
    model_free(&light);
    model_free(&m);
    if (task.ops) task_destroy(&task);
    if (be.ops) backend_destroy(&be);
    checkpoint_free(&ck);
    return rc == 0 ? 0 : 1;
}

/* Names of the tasks that have a gen (score) command, comma-separated, into sb. */
static void tasks_with_command(StrBuf *sb, int score) {
    for (int i = 0; i < task_count(); i++) {
        const TaskOps *t = task_at(i);
        if (score ? !t->score_command : !t->gen_command) continue;
        sb_printf(sb, "%s%s", sb->len ? ", " : "", t->name);
    }
}

/* `gen TASK ...` and `score TASK ...`: the task's own command, argv[0] its name. */
static int run_task_command(int argc, char **argv, int score, Err *err) {
    const char *verb = score ? "score" : "gen";
    StrBuf names = {0};
    tasks_with_command(&names, score);
    const TaskOps *t = argc >= 2 ? task_find(argv[1]) : NULL;
    int status = 2;
    if (t && (score ? t->score_command : t->gen_command))
        status = (score ? t->score_command : t->gen_command)(argc - 1, argv + 1, err);
    else if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("usage: mdmlab %s TASK [options]   (tasks with one: %s)\n"
               "       mdmlab %s TASK --help\n",
               verb, names.data, verb);
        status = 0;
    } else if (argc >= 2)
        err_set(err, "%s: task '%s' has no %s command (tasks with one: %s)", verb, argv[1], verb,
                names.data);
    else
        err_set(err, "%s: expected a task (tasks with one: %s)", verb, names.data);
    sb_free(&names);
    return status;
}

static int cmd_gen(int argc, char **argv, Err *err) {
    return run_task_command(argc, argv, 0, err);
}

static int cmd_score(int argc, char **argv, Err *err) {
    return run_task_command(argc, argv, 1, err);
}

static int cmd_keys(int argc, char **argv, Err *err) {
    (void)argc, (void)argv, (void)err;
    Config cfg;
    config_defaults(&cfg);
    config_print_keys(&cfg, stdout);
    printf("\nvalues of the registered kinds: task.name: %s; process: %s; backend: auto, %s\n",
           task_names(), forward_names(), backend_names());
    return 0;
}

static int cmd_help(int argc, char **argv, Err *err) {
    (void)argc, (void)argv, (void)err;
    usage(stdout);
    return 0;
}

static int cmd_version(int argc, char **argv, Err *err) {
    (void)argc, (void)argv, (void)err;
    printf("mdmlab %s (backends: %s; data parallel: %s)\n", MDMLAB_VERSION, backend_names(),
           parallel_build());
    return 0;
}

/* Every command: one signature, errors returned in err and printed once by main. */
static const struct {
    const char *name;
    int (*run)(int argc, char **argv, Err *err);
} commands[] = {{"train", cmd_train},
                {"eval", cmd_eval},
                {"bench", cmd_bench},
                {"sweep", cmd_sweep},
                {"plan", cmd_plan},
                {"report", cmd_report},
                {"compare", cmd_compare},
                {"export", cmd_export},
                {"gen", cmd_gen},
                {"score", cmd_score},
                {"keys", cmd_keys},
                {"help", cmd_help},
                {"-h", cmd_help},
                {"--help", cmd_help},
                {"--version", cmd_version},
                {"step-importance", cmd_step_importance},
                {"schedule-search", cmd_schedule_search},
                {"pareto", cmd_pareto}};

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    char *help_argv[] = {argv[0], argc >= 3 ? argv[2] : NULL, "--help", NULL};
    if (strcmp(cmd, "help") == 0 && argc >= 3) { /* "mdmlab help X" is "mdmlab X --help" */
        argv = help_argv;
        argc = 3;
        cmd = argv[1];
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(cmd, commands[i].name) == 0) {
            Err err = {{0}};
            int status = commands[i].run(argc - 1, argv + 1, &err);
            if (err.msg[0]) fprintf(stderr, "mdmlab: error: %s\n", err.msg);
            return status;
        }
    fprintf(stderr, "mdmlab: unknown command '%s' (see mdmlab --help)\n", cmd);
    return 2;
}
