#include "forward/config_schema.h"
#include "train.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elbo.h"
#include "eval.h"
#include "forward/forward.h"
#include "model/model_io.h"
#include "model/optim.h"
#include "runlog.h"
#include "session.h"

/* The one piece of process-wide state: a signal handler can only talk through a global. */
static volatile sig_atomic_t stop_requested;

static void request_stop(int sig) {
    (void)sig;
    stop_requested = 1;
}

void train_run_dir(const Config *cfg, char *out, size_t n) {
    if (cfg->out_dir[0])
        snprintf(out, n, "%s", cfg->out_dir);
    else
        snprintf(out, n, "runs/%s-s%ld", cfg->name[0] ? cfg->name : cfg->task_name, cfg->seed);
}

/* The parameter shape of init_from's model must be this run's; attention (model.causal)
 * and model.shift_logits may differ, which is the point of AR initialisation. The vocabulary
 * shows in the size of the parameter sections (checked when they are loaded); the sequence
 * length is not part of the parameters (RoPE is relative). */
static int check_init_shape(const Config *cfg, const Checkpoint *ck, const char *path, Err *err) {
    Config saved;
    config_defaults(&saved);
    if (config_load_yaml_string(&saved, ck->config_yaml, ck->config_len, path, err)) return -1;
    if (saved.model.d != cfg->model.d || saved.model.layers != cfg->model.layers ||
        saved.model.heads != cfg->model.heads || saved.model.ffn != cfg->model.ffn ||
        saved.model.tied_head != cfg->model.tied_head)
        return err_set(err,
                       "%s: train.init_from: model shape differs: the checkpoint has d=%d "
                       "layers=%d heads=%d ffn=%d tied_head=%d, this run d=%d layers=%d "
                       "heads=%d ffn=%d tied_head=%d",
                       path, saved.model.d, saved.model.layers, saved.model.heads, saved.model.ffn,
                       saved.model.tied_head, cfg->model.d, cfg->model.layers, cfg->model.heads,
                       cfg->model.ffn, cfg->model.tied_head);
    return 0;
}

/* Writes the training state to each of paths[0..n_paths): sections are downloaded and the
 * config serialised once. */
static int save_checkpoint(const char *const *paths, int n_paths, const Config *cfg, Model *m,
                           const ForwardProcess *fp, long step, double train_s, Err *err) {
    CkptSection sec[MODEL_IO_MAX_SECTIONS + 2];
    int n = model_io_state_sections(m, sec);
    if (fp->ops->state_bytes) {
        memset(&sec[n], 0, sizeof(sec[n]));
        snprintf(sec[n].name, CKPT_NAME_LEN, "process");
        sec[n].bytes = fp->ops->state_bytes(fp);
        sec[n].data = malloc(sec[n].bytes ? sec[n].bytes : 1);
        if (sec[n].data) fp->ops->state_save(fp, sec[n].data);
        n++;
    }
    memset(&sec[n], 0, sizeof(sec[n]));
    snprintf(sec[n].name, CKPT_NAME_LEN, "clock");
    sec[n].bytes = sizeof(train_s);
    sec[n].data = malloc(sizeof(train_s));
    if (sec[n].data) memcpy(sec[n].data, &train_s, sizeof(train_s));
    n++;
    int rc = 0;
    for (int i = 0; i < n; i++)
        if (!sec[i].data) rc = err_set(err, "%s: out of memory writing checkpoint", paths[0]);
    StrBuf yaml = {0};
    if (rc == 0) config_write_yaml(cfg, &yaml);
    for (int p = 0; p < n_paths && rc == 0; p++)
        rc = checkpoint_write(paths[p], yaml.data, step, sec, n, err);
    sb_free(&yaml);
    for (int i = 0; i < n; i++) free(sec[i].data);
    return rc;
}

/* Everything one run owns, released by run_free in reverse order of acquisition. */
typedef struct Run {
    Config cfg;
    char dir[CFG_PATH], ckpt_path[CFG_PATH + 32];
    Session s;
    RunLog log;
    Checkpoint resume;
    char resume_path[CFG_PATH + 32];
    int have_resume;
    long start_step;
    double train_s; /* seconds spent in training steps, carried across resumes ("clock") */
    Parallel *par;  /* NULL: one process */
    int writer;     /* writes the run directory and evaluates: rank 0 */
} Run;

static void run_free(Run *r) {
    runlog_close(&r->log);
    session_close(&r->s);
    if (r->have_resume) checkpoint_free(&r->resume);
}

/* Everything a checkpoint must agree with to be resumed: every key but the execution,
 * compute and observation ones (base/config.h's roles), through the canonical writer, so
 * stale bytes behind a string's terminator never count. */
static void training_identity(const Config *c, StrBuf *out) {
    Config x = *c;
    config_reset_roles(&x, CFG_ROLE_EXECUTION | CFG_ROLE_COMPUTE | CFG_ROLE_OBSERVATION);
    config_write_yaml(&x, out);
}

/* A process that keeps state between steps (PUMA's pool) draws different batches without it. */
static int check_resumable_process(const Run *r, Err *err) {
    const ForwardOps *process = forward_find(r->cfg.process);
    if (!process || !process->state_bytes || checkpoint_section(&r->resume, "process")) return 0;
    return err_set(err,
                   "%s: cannot resume: no 'process' section (the state of process '%s'), so "
                   "training would not continue bit-exactly; start a fresh run from its weights "
                   "with train.init_from=%s in another out_dir",
                   r->resume_path, r->cfg.process, r->resume_path);
}

/* Picks the checkpoint to resume from and checks that it belongs to this run and holds all
 * of its training state: before any data or model is built, so a bad one is refused at once. */
static int open_resume(Run *r, Err *err) {
    const char *want = r->cfg.train.resume;
    if (strcmp(want, "auto") == 0) {
        if (!file_exists(r->ckpt_path)) return 0;
        want = r->ckpt_path;
    }
    if (!want[0]) return 0;
    snprintf(r->resume_path, sizeof(r->resume_path), "%s", want);
    if (checkpoint_read(r->resume_path, &r->resume, err) != 0) return -1;
    r->have_resume = 1;
    Config saved;
    config_defaults(&saved);
    if (config_load_yaml_string(&saved, r->resume.config_yaml, r->resume.config_len, r->resume_path,
                                err))
        return -1;
    StrBuf a = {0}, b = {0};
    training_identity(&saved, &a);
    training_identity(&r->cfg, &b);
    int same = a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
    sb_free(&a);
    sb_free(&b);
    if (!same)
        return err_set(err,
                       "%s: checkpoint was written for a different training config (task, "
                       "model, seed, process or optimizer; compare its config with config.yaml)",
                       r->resume_path);
    if (model_io_check_resumable(&r->resume, r->resume_path, r->cfg.train.ema, err) != 0 ||
        check_resumable_process(r, err) != 0)
        return -1;
    r->start_step = r->resume.step;
    return 0;
}

/* Loads the forward process's state ("process") and the training clock ("clock"). */
static int restore_run_state(Run *r, Err *err) {
    const CkptSection *ps = checkpoint_section(&r->resume, "process");
    if (ps && r->s.fp.ops->state_load &&
        r->s.fp.ops->state_load(&r->s.fp, ps->data, ps->bytes, err) != 0) {
        Err inner = *err;
        return err_set(err, "%s: section 'process': %s", r->resume_path, inner.msg);
    }
    const CkptSection *clock = checkpoint_section(&r->resume, "clock");
    if (clock && clock->bytes == sizeof(r->train_s))
        memcpy(&r->train_s, clock->data, sizeof(r->train_s));
    return 0;
}

/* AR initialisation: start this run from the weights of train.init_from's checkpoint with
 * fresh optimizer state (AdamW moments zero, EMA = the loaded weights). Loads "params", not
 * "ema": the starting point is the model the AR run trained, and the EMA of this run starts
 * from it either way. Sets *init_step to the checkpoint's step. */
static int init_from_checkpoint(Run *r, long *init_step, Err *err) {
    const char *path = r->cfg.train.init_from;
    Checkpoint ck;
    if (checkpoint_read(path, &ck, err) != 0) return -1;
    int rc = check_init_shape(&r->cfg, &ck, path, err);
    if (rc == 0)
        rc = model_io_restore_section(&r->s.model, r->s.model.params, &ck, "params", path, err);
    if (rc == 1) rc = err_set(err, "%s: checkpoint has no 'params' section", path);
    if (rc == 0) {
        model_reset_training_state(&r->s.model);
        *init_step = (long)ck.step;
    }
    checkpoint_free(&ck);
    return rc;
}

/* A fresh run never replaces another run's results by accident: a run directory that holds a
 * checkpoint or metrics is refused unless the run resumes from it or train.overwrite says so. */
static int check_fresh_run_dir(const Run *r, Err *err) {
    static const char *const results[] = {"checkpoint.bin", "train.csv", "metrics.jsonl"};
    if (r->have_resume || r->cfg.train.overwrite) return 0;
    for (size_t i = 0; i < sizeof results / sizeof results[0]; i++) {
        char path[CFG_PATH + 32];
        snprintf(path, sizeof(path), "%s/%s", r->dir, results[i]);
        if (file_exists(path))
            return err_set(err,
                           "%s already holds a run (%s): continue it with train.resume=auto, "
                           "train into another out_dir, or replace it with --overwrite",
                           r->dir, results[i]);
    }
    return 0;
}

/* The weights and process state a run starts from: a checkpoint to resume, or
 * train.init_from's weights (its step into *init_step when not NULL). Every rank loads them. */
static int run_setup_restore(Run *r, long *init_step, Err *err) {
    long step = -1;
    if (r->have_resume) {
        if (model_io_restore(&r->s.model, &r->resume, r->resume_path, 1, err) != 0 ||
            restore_run_state(r, err) != 0)
            return -1;
    } else if (r->cfg.train.init_from[0] && init_from_checkpoint(r, &step, err) != 0) {
        return -1;
    }
    if (init_step) *init_step = step;
    return 0;
}

static int run_setup(Run *r, const Config *cfg, Parallel *par, Err *err) {
    memset(r, 0, sizeof(*r));
    r->cfg = *cfg;
    r->par = par;
    r->writer = !par || par->rank == 0;
    if (config_validate(&r->cfg, err) != 0) return -1;
    train_run_dir(&r->cfg, r->dir, sizeof(r->dir));
    snprintf(r->ckpt_path, sizeof(r->ckpt_path), "%s/checkpoint.bin", r->dir);
    if (open_resume(r, err) != 0) return -1;
    if (session_open(&r->s, &r->cfg, par, err) != 0) return -1;
    if (check_fresh_run_dir(r, err) != 0) return -1;
    /* every rank has looked at the directory before rank 0 writes into it */
    if (par && parallel_barrier(par, err) != 0) return -1;
    if (!r->writer) return run_setup_restore(r, NULL, err) || runlog_open_discard(&r->log, err);
    if (make_dirs(r->dir, err) != 0) return -1; /* only once the run is known to start */
    long init_step = -1; /* step of train.init_from's checkpoint once loaded */
    if (run_setup_restore(r, &init_step, err) != 0) return -1;
    StrBuf yaml = {0};
    config_write_yaml(&r->cfg, &yaml);
    char path[CFG_PATH + 32];
    snprintf(path, sizeof(path), "%s/config.yaml", r->dir);
    int rc = write_file_atomic(path, yaml.data, yaml.len, err);
    sb_free(&yaml);
    if (rc != 0) return -1;
    int language_model = !r->s.task.ops->score;
    int tables = (language_model || r->cfg.eval.elbo_points > 0 ? RUNLOG_ELBO : 0) |
                 (language_model ? RUNLOG_SAMPLES : 0);
    if (runlog_open(&r->log, r->dir, r->have_resume ? r->start_step : -1, tables, err) != 0)
        return -1;
    if (init_step >= 0)
        runlog_line(&r->log, "initialised from %s (step %ld)", r->cfg.train.init_from, init_step);
    if (r->cfg.threads == 0)
        runlog_line(&r->log, "threads=0 resolved to %d (the cores not busy with other processes)",
                    r->s.be.threads);
    if (par && par->world > 1)
        runlog_line(&r->log, "data parallel: %d MPI ranks, %d sequences of each batch per rank",
                    par->world, r->cfg.train.batch / par->world);
    return 0;
}

/* One decoding's evaluation of the current (EMA) weights, logged as an eval row. */
static int eval_pair(Run *r, long step, double wall0, const SampleOptions *opt, double *accuracy,
                     Err *err) {
    EvalResult res;
    int rc = eval_accuracy(&r->s.model, NULL, &r->s.task, opt, r->cfg.eval.count,
                           (uint64_t)r->cfg.seed ^ (uint64_t)step, &res, err);
    if (rc != 0) return rc;
    EvalRow row = {.step = step,
                   .policy = eval_sampler_label(opt),
                   .tokens_per_step = eval_sampler_k(opt),
                   .nfe = res.cost.nfe,
                   .idle_step_ratio = res.cost.idle_step_ratio,
                   .correct = res.correct,
                   .total = res.total,
                   .accuracy = res.accuracy,
                   .wall_s = now_seconds() - wall0,
                   .train_s = r->train_s};
    runlog_eval(&r->log, &row);
    *accuracy = res.accuracy;
    return 0;
}

/* A text task's decoding row in eval.csv: what generating eval.samples sequences cost (nfe,
 * idle steps); accuracy NaN, since text has no answers. */
static void log_decode_cost(Run *r, long step, double wall0, const SampleOptions *opt,
                            const DecodeCost *cost) {
    EvalRow row = {.step = step,
                   .policy = eval_sampler_label(opt),
                   .tokens_per_step = eval_sampler_k(opt),
                   .nfe = cost->nfe,
                   .idle_step_ratio = cost->idle_step_ratio,
                   .total = r->cfg.eval.samples,
                   .accuracy = NAN,
                   .wall_s = now_seconds() - wall0,
                   .train_s = r->train_s};
    runlog_eval(&r->log, &row);
}

/* The validation ELBO of the eval examples into elbo.csv (masks fixed by task.data_seed: the
 * same for every step, run and training process, so it compares methods that train under
 * different masking distributions). */
static int log_validation_bound(Run *r, long step, ElboResult *res, Err *err) {
    const Config *c = &r->cfg;
    ElboOptions eo = {.points = c->eval.elbo_points,
                      .count = c->eval.count,
                      .batch = c->eval.batch,
                      .seed = (uint64_t)c->task.data_seed};
    if (eval_elbo(&r->s.model, &r->s.task, &eo, res, err) != 0) return -1;
    ElboRow row = {.step = step,
                   .nelbo = res->nelbo,
                   .ppl_bound = res->ppl_bound,
                   .bits_per_byte = res->bits_per_byte,
                   .tokens = res->tokens,
                   .train_s = r->train_s};
    runlog_elbo(&r->log, &row);
    return 0;
}

/* Tasks without answers (text): the validation ELBO (elbo.csv) and eval.samples sequences
 * generated from all-MASK with eval.policy (samples.txt); samples depend on seed and step. */
static int text_eval(Run *r, long step, double wall0, UnmaskPolicy policy, char *summary, size_t n,
                     Err *err) {
    const Config *c = &r->cfg;
    ElboResult res;
    if (log_validation_bound(r, step, &res, err) != 0) return -1;
    snprintf(summary, n, "%s %.4f nats/token  ppl%s %.2f  %.4f bits/byte",
             res.autoregressive ? "nll" : "nelbo", res.nelbo,
             res.autoregressive ? "" : "<=", res.ppl_bound, res.bits_per_byte);
    if (c->eval.samples <= 0) return 0;
    SampleOptions opt = eval_sample_options(c, policy, c->eval.tokens_per_step, step);
    const Task *task = &r->s.task;
    int *tokens = malloc((size_t)c->eval.samples * task->seq_len * sizeof(int));
    size_t text_cap = (size_t)task->seq_len * 64 + 1; /* room for escaped multi-byte tokens */
    char *text = malloc(text_cap);
    int rc = tokens && text ? 0 : err_set(err, "samples: out of memory");
    DecodeCost cost;
    if (rc == 0)
        rc = eval_generate(&r->s.model, NULL, task, &opt, c->eval.samples,
                           (uint64_t)c->seed ^ (uint64_t)step, tokens, &cost, err);
    for (int i = 0; i < c->eval.samples && rc == 0; i++) {
        task->ops->render(task, tokens + (size_t)i * task->seq_len, text, text_cap);
        runlog_sample(&r->log, step, i, text);
    }
    if (rc == 0 && opt.ancestral_steps) log_decode_cost(r, step, wall0, &opt, &cost);
    /* eval.extra's decodings: their cost on as many samples (text has no accuracy) */
    SampleOptions extra[EVAL_EXTRA_MAX];
    int n_extra = eval_extra_options(c, step, extra, EVAL_EXTRA_MAX);
    for (int e = 0; e < n_extra && rc == 0; e++) {
        rc = eval_generate(&r->s.model, NULL, task, &extra[e], c->eval.samples,
                           (uint64_t)c->seed ^ (uint64_t)step, tokens, &cost, err);
        if (rc == 0) log_decode_cost(r, step, wall0, &extra[e], &cost);
    }
    free(tokens);
    free(text);
    return rc;
}

/* Evaluates eval.policy with eval.tokens_per_step (or the ancestral sampler), then every
 * decoding eval.extra lists; a one-line summary of the first goes to summary. Tasks without answers
 * get text_eval instead. */
static int run_eval(Run *r, long step, double wall0, char *summary, size_t n, Err *err) {
    UnmaskPolicy policy;
    if (policy_from_name(r->cfg.eval.policy, &policy) != 0)
        return err_set(err, "key 'eval.policy': unknown policy '%s'", r->cfg.eval.policy);
    int use_ema = r->cfg.eval.use_ema && r->s.model.ema;
    if (use_ema) model_swap_ema(&r->s.model);
    if (!r->s.task.ops->score) {
        int rc = text_eval(r, step, wall0, policy, summary, n, err);
        if (use_ema) model_swap_ema(&r->s.model);
        return rc;
    }
    double accuracy = 0.0;
    SampleOptions opt = eval_sample_options(&r->cfg, policy, r->cfg.eval.tokens_per_step, step);
    int rc = eval_pair(r, step, wall0, &opt, &accuracy, err);
    if (strcmp(r->cfg.eval.sampler, "ancestral") == 0)
        snprintf(summary, n, "ancestral T=%d accuracy %.4f", r->cfg.eval.steps, accuracy);
    else
        snprintf(summary, n, "%s k=%d accuracy %.4f", r->cfg.eval.policy,
                 r->cfg.eval.tokens_per_step, accuracy);
    SampleOptions extra[EVAL_EXTRA_MAX];
    int n_extra = eval_extra_options(&r->cfg, step, extra, EVAL_EXTRA_MAX);
    for (int e = 0; e < n_extra && rc == 0; e++) {
        double ignored;
        rc = eval_pair(r, step, wall0, &extra[e], &ignored, err);
    }
    ElboResult bound;
    if (rc == 0 && r->cfg.eval.elbo_points > 0) {
        rc = log_validation_bound(r, step, &bound, err);
        size_t len = strlen(summary);
        if (rc == 0 && len < n) snprintf(summary + len, n - len, "  val nelbo %.4f", bound.nelbo);
    }
    if (use_ema) model_swap_ema(&r->s.model);
    return rc;
}

static void format_eta(double seconds, char *out, size_t n) {
    long s = (long)seconds;
    if (s >= 3600)
        snprintf(out, n, "%ldh%02ldm", s / 3600, (s / 60) % 60);
    else
        snprintf(out, n, "%ldm%02lds", s / 60, s % 60);
}

static void report_progress(Run *r, const TrainRow *row, int to_terminal, int final) {
    long left = r->cfg.train.steps - row->step;
    double per_step = (double)r->cfg.train.batch * r->s.task.seq_len / row->tokens_per_s;
    char eta[32];
    format_eta(left * per_step, eta, sizeof(eta));
    char line[256];
    snprintf(line, sizeof(line), "step %ld/%ld  loss %.4f  lr %.2e  %.0f tok/s  ETA %s", row->step,
             r->cfg.train.steps, row->loss, row->lr, row->tokens_per_s, eta);
    runlog_line(&r->log, "%s", line);
    if (to_terminal) fprintf(stderr, "\r%s\033[K%s", line, final ? "\n" : "");
}

/* How much of this session's training time the collectives took (rank 0's view). */
static void log_communication(Run *r, int quiet) {
    if (!r->par || r->par->world <= 1) return;
    double share = r->train_s > 0 ? r->par->comm_s / r->train_s : 0.0;
    runlog_line(&r->log,
                "data parallel: %.2f s of %.2f s in training steps were collectives "
                "(allreduce, allgather): %.1f%%",
                r->par->comm_s, r->train_s, 100.0 * share);
    if (!quiet)
        fprintf(stderr, "data parallel over %d ranks: %.1f%% of the training time in collectives\n",
                r->par->world, 100.0 * share);
}

/* Whether any rank was asked to stop (a signal reaches one rank, or all at different steps):
 * every rank must checkpoint-and-stop at the same step. */
static int stop_agreed(Run *r, Err *err) {
    double stop = stop_requested;
    if (r->par && parallel_sum_doubles(r->par, &stop, 1, err) != 0) return -1;
    return stop > 0;
}

/* Off a terminal (a log file, a sweep's output.log), a progress line to stderr at most every
 * PROGRESS_EVERY_S seconds, so a long run is never silent until its first evaluation. */
enum { PROGRESS_EVERY_S = 10 };

typedef struct Progress {
    double t0;  /* when the last line was printed (or training started) */
    long step0; /* the step it reported */
} Progress;

static void progress_line(Run *r, Progress *p, long done, double loss) {
    double now = now_seconds();
    if (now - p->t0 < PROGRESS_EVERY_S || done <= p->step0) return;
    double per_step = (now - p->t0) / (double)(done - p->step0);
    char eta[32];
    format_eta(per_step * (double)(r->cfg.train.steps - done), eta, sizeof(eta));
    fprintf(stderr, "step %ld/%ld  loss %.4f  %.0f tok/s  ETA %s\n", done, r->cfg.train.steps, loss,
            (double)r->cfg.train.batch * r->s.task.seq_len / per_step, eta);
    fflush(stderr);
    p->t0 = now;
    p->step0 = done;
}

static int train_loop(Run *r, int quiet, Err *err) {
    const Config *c = &r->cfg;
    quiet |= !r->writer;
    int to_terminal = !quiet && isatty(STDERR_FILENO);
    Progress progress = {now_seconds(), r->start_step};
    double wall0 = now_seconds(), window_t0 = wall0;
    long window_steps = 0, eval_window_steps = 0;
    double eval_window_loss = 0.0, tokens_per_s = 0.0;
    if (r->have_resume)
        runlog_line(&r->log, "resumed from %s at step %ld", r->resume_path, r->start_step);
    for (long step = r->start_step; step < c->train.steps; step++) {
        OptimStats st;
        double step_t0 = now_seconds();
        double loss = session_step(&r->s, step, &st);
        r->train_s += now_seconds() - step_t0;
        if (session_check(&r->s, err) != 0) return -1;
        if (!isfinite(loss) || !isfinite(st.grad_norm))
            return err_set(err, "step %ld: loss is %g (grad norm %g): training diverged", step + 1,
                           loss, st.grad_norm);
        eval_window_loss += loss;
        eval_window_steps++;
        window_steps++;
        long done = step + 1;
        if (!quiet && !to_terminal) progress_line(r, &progress, done, loss);
        int last = done == c->train.steps;
        if (done % c->train.log_every == 0 || last || done == 1) {
            double now = now_seconds();
            TrainRow row = {.step = done,
                            .loss = loss,
                            .lr = st.lr,
                            .grad_norm = st.grad_norm,
                            .tokens_per_s = (double)window_steps * c->train.batch *
                                            r->s.task.seq_len / (now - window_t0 + 1e-9),
                            .wall_s = now - wall0,
                            .train_s = r->train_s};
            runlog_train(&r->log, &row);
            report_progress(r, &row, to_terminal, last);
            tokens_per_s = row.tokens_per_s;
            window_t0 = now;
            window_steps = 0;
        }
        if (((c->train.eval_every > 0 && done % c->train.eval_every == 0) || last) && r->writer) {
            char summary[256];
            if (run_eval(r, done, wall0, summary, sizeof summary, err) != 0) return -1;
            runlog_line(&r->log, "eval step %ld: %s", done, summary);
            if (!quiet)
                fprintf(stderr, "%sstep %ld/%ld  mean loss %.4f  %s  %.0f tok/s\n",
                        to_terminal ? "\r\033[K" : "", done, c->train.steps,
                        eval_window_loss / (double)eval_window_steps, summary, tokens_per_s);
            eval_window_loss = 0.0;
            eval_window_steps = 0;
        }
        int stop = stop_agreed(r, err);
        if (stop < 0) return -1;
        if (((c->train.ckpt_every > 0 && done % c->train.ckpt_every == 0) || last || stop) &&
            r->writer) {
            char kept[CFG_PATH + 32];
            snprintf(kept, sizeof(kept), "%s/step-%ld.bin", r->dir, done);
            const char *paths[] = {r->ckpt_path, kept};
            if (save_checkpoint(paths, c->train.keep_checkpoints ? 2 : 1, c, &r->s.model, &r->s.fp,
                                done, r->train_s, err) != 0)
                return -1;
        }
        if (stop && !last) {
            runlog_line(&r->log, "interrupted at step %ld; checkpoint saved", done);
            return TRAIN_INTERRUPTED;
        }
    }
    log_communication(r, quiet);
    return 0;
}

int train_run(const Config *cfg, int quiet, Err *err) {
    return train_run_parallel(cfg, quiet, NULL, err);
}

int train_run_parallel(const Config *cfg, int quiet, Parallel *par, Err *err) {
    Run *r = calloc(1, sizeof(*r));
    if (!r) return err_set(err, "out of memory");
    stop_requested = 0;
    StopSignals saved;
    stop_signals_catch(&saved, request_stop);
    int rc = run_setup(r, cfg, par, err);
    if (rc == 0) rc = train_loop(r, quiet, err);
    stop_signals_restore(&saved);
    run_free(r);
    free(r);
    return rc;
}
