/* AR initialisation end to end: the 'ar' process learns next-token prediction, train.init_from
 * starts an MDM from the AR weights (with shifted outputs, which the numbers show matter),
 * attention annealing is deterministic and really is causal at future_keep 0 and full at 1,
 * and the errors name what is wrong. Tiny 4x4 Sudoku models on the ref backend, 2 threads. */
#include <stdlib.h>
#include <string.h>

#include "config_set.h"
#include "model/model_io.h"
#include "base/config.h"
#include "forward/forward.h"
#include "run/train.h"
#include "run/session.h"
#include "check.h"
#include "tiny_run.h"

enum { MAX_LOGGED = 512 };

/* Prompt layout (position 0 is a clue, so a shifted model predicts every answer position)
 * and two training puzzles, so the answer is a deterministic function of the prompt. */
static void tiny_config(Config *c, const char *dir, long steps) {
    tiny_run_config(c, dir, steps);
    config_set(c, "task.layout", "prompt");
    c->task.train_count = 2;
    c->task.eval_count = 2;
    c->train.batch = 16;
    c->train.warmup_steps = 10;
    c->train.ckpt_every = 0;
    c->eval.batch = 2;
    c->eval.count = 2;
}

static void ar_config(Config *c, const char *dir, long steps) {
    tiny_config(c, dir, steps);
    snprintf(c->process, sizeof(c->process), "ar");
    c->model.causal = 1;
    c->model.shift_logits = 1;
}

/* A bidirectional shifted MDM, optionally initialised from init_from. */
static void mdm_config(Config *c, const char *dir, long steps, const char *init_from) {
    tiny_config(c, dir, steps);
    snprintf(c->process, sizeof(c->process), "random");
    c->model.shift_logits = 1;
    snprintf(c->train.init_from, sizeof(c->train.init_from), "%s", init_from);
}

/* Trains c and returns its loss curve in losses (n logged steps, -1 on failure). */
static int train_curve(const Config *c, double *losses) {
    Err err = {{0}};
    int rc = train_run(c, 1, &err);
    CHECK_MSG(rc == 0, "train_run(%s) failed: %s", c->out_dir, err.msg);
    return rc == 0 ? tiny_run_losses(c->out_dir, NULL, losses, MAX_LOGGED) : -1;
}

static double first_loss(const Config *c) {
    double losses[MAX_LOGGED];
    return train_curve(c, losses) > 0 ? losses[0] : NAN;
}

static int file_contains(const char *path, const char *needle) {
    char *text = NULL;
    size_t len = 0;
    Err err;
    if (read_file_all(path, &text, &len, &err) != 0) return 0;
    int found = strstr(text, needle) != NULL;
    free(text);
    return found;
}

static void check_train_fails(const Config *c, const char *needle, const char *what) {
    Err err = {{0}};
    int rc = train_run(c, 1, &err);
    CHECK_MSG(rc != 0 && strstr(err.msg, needle), "%s: want an error naming '%s', got rc %d: %s",
              what, needle, rc, err.msg);
}

/* ---- the 'ar' process ---------------------------------------------------------------- */

/* Trains the AR model the other tests start from; returns its first and last losses. */
static void test_ar_learns(const char *ar_dir, double *first, double *last) {
    Config c;
    ar_config(&c, ar_dir, 150);
    double losses[MAX_LOGGED];
    int n = train_curve(&c, losses);
    CHECK(n == 150);
    *first = n > 0 ? losses[0] : NAN;
    *last = n > 0 ? losses[n - 1] : NAN;
    printf("ar: next-token loss %.4f at step 1, %.5f at step %d\n", *first, *last, n);
    CHECK_MSG(*last < 0.05, "AR loss on two memorisable puzzles only fell to %g", *last);
}

static void expect_create_error(int causal, int shift) {
    Config c;
    ar_config(&c, "unused", 1);
    c.model.causal = causal;
    c.model.shift_logits = shift;
    Task task;
    ForwardProcess fp;
    Err err = {{0}};
    if (task_create(&task, &c, &err) != 0) {
        CHECK_MSG(0, "task_create: %s", err.msg);
        return;
    }
    int rc = forward_create(&fp, &c, &task, &err);
    CHECK_MSG(rc != 0 && strstr(err.msg, "process 'ar' needs model.causal=true and "
                                         "model.shift_logits=true"),
              "causal=%d shift=%d: got rc %d: %s", causal, shift, rc, err.msg);
    if (rc == 0) forward_destroy(&fp);
    task_destroy(&task);
}

static void test_ar_needs_causal_shifted_model(void) {
    expect_create_error(0, 1);
    expect_create_error(1, 0);
    expect_create_error(0, 0);
}

/* ---- init_from ----------------------------------------------------------------------- */

static double mean_of(const double *x, int from, int to) {
    double s = 0.0;
    for (int i = from; i < to; i++) s += x[i];
    return s / (to - from);
}

/* Through train.init_from: an AR run continued from the AR checkpoint starts at the loss the
 * checkpoint reached (the weights arrive exactly), and an MDM started from it learns faster
 * than one from scratch. Its very first MDM loss is NOT lower: the AR model never saw MASK
 * inputs, and random masking hides half the answer on average. */
static void test_init_from_runs(const char *tmp, const char *ar_ckpt, double ar_first,
                                double ar_last) {
    enum { MDM_STEPS = 40 };
    char cont[512], scratch[512], init[512];
    snprintf(cont, sizeof cont, "%s/ar_continued", tmp);
    snprintf(scratch, sizeof scratch, "%s/mdm_scratch", tmp);
    snprintf(init, sizeof init, "%s/mdm_init", tmp);
    Config c;
    ar_config(&c, cont, 1);
    snprintf(c.train.init_from, sizeof(c.train.init_from), "%s", ar_ckpt);
    double l_cont = first_loss(&c);
    printf("init_from: AR loss %.4f at step 1 from scratch, %.5f at step 1 from the step-150 "
           "checkpoint (which ended at %.5f)\n",
           ar_first, l_cont, ar_last);
    CHECK_MSG(fabs(l_cont - ar_last) < 0.5 * ar_last + 0.01 && l_cont < 0.05 * ar_first,
              "continued AR run starts at loss %g (checkpoint's last %g, scratch %g)", l_cont,
              ar_last, ar_first);
    char log[600], want[600];
    snprintf(log, sizeof log, "%s/log.txt", cont);
    snprintf(want, sizeof want, "initialised from %s (step 150)", ar_ckpt);
    CHECK_MSG(file_contains(log, want), "%s lacks '%s'", log, want);

    double ls[MAX_LOGGED], li[MAX_LOGGED];
    mdm_config(&c, scratch, MDM_STEPS, "");
    int ns = train_curve(&c, ls);
    mdm_config(&c, init, MDM_STEPS, ar_ckpt);
    int ni = train_curve(&c, li);
    if (ns != MDM_STEPS || ni != MDM_STEPS) {
        CHECK_MSG(0, "MDM runs logged %d and %d steps", ns, ni);
        return;
    }
    double ms = mean_of(ls, MDM_STEPS / 2, MDM_STEPS), mi = mean_of(li, MDM_STEPS / 2, MDM_STEPS);
    printf("init_from: MDM loss at step 1 %.4f from scratch, %.4f from AR; mean over steps "
           "%d-%d %.4f from scratch, %.4f from AR\n",
           ls[0], li[0], MDM_STEPS / 2 + 1, MDM_STEPS, ms, mi);
    CHECK_MSG(mi < 0.9 * ms, "AR-initialised MDM mean loss %g vs scratch %g", mi, ms);
}

typedef struct Loaded {
    Backend be;
    Model m;
} Loaded;

static int load_model(Loaded *l, const Config *c, const Checkpoint *ck, const char *path,
                      int max_batch) {
    Err err = {{0}};
    Task task;
    memset(l, 0, sizeof(*l));
    int rc = backend_create(&l->be, "ref", 2, &err);
    if (rc == 0) rc = task_create(&task, c, &err);
    if (rc == 0) {
        ModelConfig mc = session_model_config(c, &task);
        task_destroy(&task);
        rc = model_create(&l->m, &mc, &l->be, max_batch, 0, &err);
    }
    if (rc == 0) rc = model_io_restore(&l->m, ck, path, 0, &err);
    CHECK_MSG(rc == 0, "loading %s: %s", path, err.msg);
    return rc;
}

static void free_loaded(Loaded *l) {
    model_free(&l->m);
    if (l->be.ops) backend_destroy(&l->be);
}

/* Logits of the last forward, on the host (caller frees). */
static float *logits_of(Model *m, const int *tokens, int B) {
    size_t n = (size_t)B * m->cfg.seq_len * m->cfg.vocab;
    float *out = malloc(n * sizeof(float));
    model_forward(m, tokens, B);
    model_logits_to_host(m, out);
    return out;
}

/* The shift itself: with the same weights, shifted row j equals unshifted row j-1 and
 * shifted row 0 is zero, in every sequence of a batch. */
static void test_shift_moves_rows(const char *ar_ckpt) {
    Checkpoint ck;
    Err err = {{0}};
    if (checkpoint_read(ar_ckpt, &ck, &err) != 0) {
        CHECK_MSG(0, "%s", err.msg);
        return;
    }
    Config c;
    ar_config(&c, "unused", 1);
    Loaded shifted, plain;
    c.model.shift_logits = 1;
    int rc = load_model(&shifted, &c, &ck, ar_ckpt, 2);
    c.model.shift_logits = 0;
    rc |= load_model(&plain, &c, &ck, ar_ckpt, 2);
    if (rc == 0) {
        int T = shifted.m.cfg.seq_len, V = shifted.m.cfg.vocab, B = 2;
        int *tokens = malloc((size_t)B * T * sizeof(int));
        for (int i = 0; i < B * T; i++) tokens[i] = (i * 7 + 3) % (V - 1);
        float *s = logits_of(&shifted.m, tokens, B), *p = logits_of(&plain.m, tokens, B);
        double max_diff = 0.0;
        int row0_zero = 1;
        for (int b = 0; b < B; b++) {
            const float *sb = s + (size_t)b * T * V, *pb = p + (size_t)b * T * V;
            for (int v = 0; v < V; v++) row0_zero &= sb[v] == 0.0f;
            for (int j = 1; j < T; j++)
                for (int v = 0; v < V; v++)
                    max_diff = fmax(max_diff, fabs(sb[j * V + v] - pb[(j - 1) * V + v]));
        }
        CHECK_MSG(row0_zero, "shifted logits row 0 is zero");
        CHECK_MSG(max_diff < 1e-5, "shifted row j vs unshifted row j-1 differ by %g", max_diff);
        free(tokens), free(s), free(p);
    }
    free_loaded(&shifted);
    free_loaded(&plain);
    checkpoint_free(&ck);
}

/* The AR weights in the MDM's architecture (bidirectional, shifted), under causal attention
 * (the first annealing step), reproduce the AR model's next-token loss on clean sequences;
 * without the shift the same weights predict the wrong positions. */
static void test_shift_transfers(const char *ar_ckpt) {
    enum { B = 16 };
    Checkpoint ck;
    Err err = {{0}};
    if (checkpoint_read(ar_ckpt, &ck, &err) != 0) {
        CHECK_MSG(0, "%s", err.msg);
        return;
    }
    Config c;
    ar_config(&c, "unused", 1);
    c.train.batch = B;
    Task task = {0};
    ForwardProcess fp = {0};
    ForwardBatch batch = {0};
    int rc = task_create(&task, &c, &err);
    if (rc == 0) rc = forward_create(&fp, &c, &task, &err);
    if (rc == 0) rc = forward_batch_alloc(&batch, B, task.seq_len, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc == 0) {
        fp.ops->make_batch(&fp, 1000, &batch); /* clean sequences, next-token weights */
        double loss[2];
        c.model.causal = 0;
        for (int shift = 1; shift >= 0; shift--) {
            Loaded l;
            c.model.shift_logits = shift;
            loss[shift] = NAN;
            if (load_model(&l, &c, &ck, ar_ckpt, B) == 0) {
                model_set_attention_mix(&l.m, 0.0f, 1);
                model_forward(&l.m, batch.tokens, B);
                loss[shift] = model_loss(&l.m, batch.targets, batch.weights, 0);
            }
            free_loaded(&l);
        }
        printf("AR weights in the bidirectional MDM, causal mask, clean input: next-token loss "
               "%.5f with the shift, %.4f without\n",
               loss[1], loss[0]);
        CHECK_MSG(loss[1] < 0.05, "shifted loss %g", loss[1]);
        CHECK_MSG(loss[0] > 20.0 * loss[1] && loss[0] > 1.0, "unshifted loss %g vs shifted %g",
                  loss[0], loss[1]);
    }
    forward_batch_free(&batch);
    if (fp.ops) forward_destroy(&fp);
    if (task.ops) task_destroy(&task);
    checkpoint_free(&ck);
}

static void test_init_from_errors(const char *tmp, const char *ar_ckpt) {
    char dir[512], missing[512];
    snprintf(dir, sizeof dir, "%s/mdm_bad", tmp);
    snprintf(missing, sizeof missing, "%s/no-such-checkpoint.bin", tmp);
    Config c;
    mdm_config(&c, dir, 1, ar_ckpt);
    c.model.d = 64;
    check_train_fails(&c, ar_ckpt, "init_from with another d");
    mdm_config(&c, dir, 1, ar_ckpt);
    c.model.layers = 3;
    check_train_fails(&c, "model shape differs", "init_from with other layers");
    mdm_config(&c, dir, 1, missing);
    check_train_fails(&c, missing, "init_from a missing file");
}

/* ---- attention annealing ------------------------------------------------------------- */

static int curves_equal(const double *a, int na, const double *b, int nb) {
    if (na != nb || na <= 0) return 0;
    for (int i = 0; i < na; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

/* Two annealed runs give one loss curve, a run resumed inside the annealing continues it bit
 * for bit, and annealing changes the run (the comparison is not vacuous). */
static void test_anneal_runs(const char *tmp, const char *ar_ckpt) {
    enum { STEPS = 12, ANNEAL = 8, RESUME_AT = 4 };
    char a[512], b[512], resumed[512], full[512], ckpt[512];
    snprintf(a, sizeof a, "%s/anneal_a", tmp);
    snprintf(b, sizeof b, "%s/anneal_b", tmp);
    snprintf(resumed, sizeof resumed, "%s/anneal_resumed", tmp);
    snprintf(full, sizeof full, "%s/anneal_off", tmp);
    snprintf(ckpt, sizeof ckpt, "%s/anneal_a/step-%d.bin", tmp, RESUME_AT);
    double la[MAX_LOGGED], lb[MAX_LOGGED], lr[MAX_LOGGED], lf[MAX_LOGGED];
    Config c;
    mdm_config(&c, a, STEPS, ar_ckpt);
    c.train.attention_anneal_steps = ANNEAL;
    c.train.ckpt_every = RESUME_AT;
    c.train.keep_checkpoints = 1;
    int na = train_curve(&c, la);
    mdm_config(&c, b, STEPS, ar_ckpt);
    c.train.attention_anneal_steps = ANNEAL;
    int nb = train_curve(&c, lb);
    mdm_config(&c, resumed, STEPS, ar_ckpt);
    c.train.attention_anneal_steps = ANNEAL;
    snprintf(c.train.resume, sizeof(c.train.resume), "%s", ckpt);
    int nr = train_curve(&c, lr);
    mdm_config(&c, full, STEPS, ar_ckpt);
    int nf = train_curve(&c, lf);
    CHECK_MSG(na == STEPS && curves_equal(la, na, lb, nb), "annealed runs differ");
    CHECK_MSG(na == STEPS && curves_equal(la + RESUME_AT, na - RESUME_AT, lr, nr),
              "resumed annealed run differs from the uninterrupted one");
    CHECK_MSG(nf == STEPS && !curves_equal(la, na, lf, nf), "annealing did not change the run");
    if (na == STEPS && nf == STEPS)
        printf("anneal: losses at steps 1 and %d %.4f %.4f annealed, %.4f %.4f full attention\n",
               STEPS, la[0], la[STEPS - 1], lf[0], lf[STEPS - 1]);
    mdm_config(&c, a, 1, "");
    c.model.causal = 1;
    c.train.attention_anneal_steps = ANNEAL;
    check_train_fails(&c, "needs model.causal=false", "annealing a causal model");
}

/* Row j of the shifted logits sees tokens < j. Changing token k must leave rows <= k
 * unchanged under causal attention (future_keep 0) and change some under full attention
 * (future_keep 1, and the next plain forward: the mix is one-shot). A partial mask is a
 * function of its seed. */
static void test_anneal_mask_semantics(void) {
    Config c;
    mdm_config(&c, "unused", 1, "");
    Backend be;
    Task task;
    Model m;
    Err err = {{0}};
    if (backend_create(&be, "ref", 2, &err) || task_create(&task, &c, &err)) {
        CHECK_MSG(0, "%s", err.msg);
        return;
    }
    ModelConfig mc = session_model_config(&c, &task);
    if (model_create(&m, &mc, &be, 1, 0, &err) != 0) {
        CHECK_MSG(0, "%s", err.msg);
        return;
    }
    model_init_params(&m, 3, MODEL_INIT_SMALL, 0.3f);
    int T = mc.seq_len, V = mc.vocab, k = T / 2;
    int *x = malloc((size_t)T * sizeof(int)), *y = malloc((size_t)T * sizeof(int));
    for (int t = 0; t < T; t++) x[t] = y[t] = t % (V - 1);
    y[k] = (x[k] + 1) % (V - 1);
    size_t upto_k = (size_t)(k + 1) * V; /* rows 0..k */

    model_set_attention_mix(&m, 0.0f, 11);
    float *cx = logits_of(&m, x, 1);
    model_set_attention_mix(&m, 0.0f, 11);
    float *cy = logits_of(&m, y, 1);
    CHECK_MSG(memcmp(cx, cy, upto_k * sizeof(float)) == 0,
              "future_keep 0: a later token changed an earlier row");
    CHECK_MSG(memcmp(cx, cy, (size_t)T * V * sizeof(float)) != 0,
              "future_keep 0: the changed token changed nothing");
    float *plain = logits_of(&m, x, 1); /* no mix set: the model's own full attention */
    model_set_attention_mix(&m, 1.0f, 11);
    float *fx = logits_of(&m, x, 1);
    model_set_attention_mix(&m, 1.0f, 11);
    float *fy = logits_of(&m, y, 1);
    CHECK_MSG(memcmp(fx, fy, upto_k * sizeof(float)) != 0,
              "future_keep 1: earlier rows ignore a later token");
    CHECK_MSG(memcmp(plain, fx, (size_t)T * V * sizeof(float)) == 0,
              "after a mixed forward the model's own full attention is back");
    model_set_attention_mix(&m, 0.5f, 11);
    float *h1 = logits_of(&m, x, 1);
    model_set_attention_mix(&m, 0.5f, 11);
    float *h2 = logits_of(&m, x, 1);
    model_set_attention_mix(&m, 0.5f, 12);
    float *h3 = logits_of(&m, x, 1);
    CHECK_MSG(memcmp(h1, h2, (size_t)T * V * sizeof(float)) == 0, "same mask seed, same logits");
    CHECK_MSG(memcmp(h1, h3, (size_t)T * V * sizeof(float)) != 0, "mask seed changes the mask");
    free(x), free(y), free(cx), free(cy), free(fx), free(fy), free(plain);
    free(h1), free(h2), free(h3);
    model_free(&m);
    task_destroy(&task);
    backend_destroy(&be);
}

int main(void) {
    char tmp[] = "/tmp/mdmlab_ar_XXXXXX";
    if (!mkdtemp(tmp)) return 1;
    char ar_dir[256], ar_ckpt[300];
    snprintf(ar_dir, sizeof ar_dir, "%s/ar", tmp);
    snprintf(ar_ckpt, sizeof ar_ckpt, "%s/checkpoint.bin", ar_dir);
    test_ar_needs_causal_shifted_model();
    double ar_first, ar_last;
    test_ar_learns(ar_dir, &ar_first, &ar_last);
    test_shift_moves_rows(ar_ckpt);
    test_shift_transfers(ar_ckpt);
    test_init_from_runs(tmp, ar_ckpt, ar_first, ar_last);
    test_init_from_errors(tmp, ar_ckpt);
    test_anneal_runs(tmp, ar_ckpt);
    test_anneal_mask_semantics();
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
    if (check_failures == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return check_summary("ar");
}
