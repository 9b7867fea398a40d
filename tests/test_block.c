/* Block diffusion on real Sudoku data: the block structure of every training sequence
 * (clean prefix, one noised block, hidden unweighted tail, prompt untouched), its loss
 * weights, uniform block choice, the block-size curriculum, determinism, S = 0 as plain
 * MDM, block.inner errors, the block size evaluation decodes with, and a tiny model that
 * learns under a curriculum. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_set.h"
#include "forward/config_schema.h"
#include "model/model_io.h"
#include "base/config.h"
#include "run/eval.h"
#include "forward/forward.h"
#include "run/train.h"
#include "run/session.h"
#include "check.h"
#include "tiny_run.h"

#define MAX_B      32
#define MAX_T      162
#define MAX_BLOCKS 81

/* A task that forwards to a real one and records each example it hands out, so a test
 * knows the prompt mask and clean tokens behind every sequence of a batch. */
typedef struct Recorder {
    const Task *real;
    int count; /* examples drawn since the last reset */
    unsigned char is_prompt[MAX_B][MAX_T];
    int clean[MAX_B][MAX_T];
} Recorder;

static void recording_example(const Task *task, int split, long index, int *tokens,
                              unsigned char *is_prompt) {
    Recorder *rec = task->impl;
    rec->real->ops->example(rec->real, split, index, tokens, is_prompt);
    if (rec->count < MAX_B) {
        memcpy(rec->is_prompt[rec->count], is_prompt, (size_t)task->seq_len);
        memcpy(rec->clean[rec->count], tokens, (size_t)task->seq_len * sizeof(int));
    }
    rec->count++;
}

static const TaskOps recording_ops = {.name = "recording", .example = recording_example};

/* A block process over a recorded Sudoku task. Must stay in place once opened. */
typedef struct Fixture {
    Config cfg;
    Task real, task;
    Recorder rec;
    ForwardProcess fp;
    ForwardBatch batch;
} Fixture;

static void sudoku_config(Config *c, int box, const char *layout) {
    config_defaults(c);
    snprintf(c->process, sizeof(c->process), "block");
    config_set(c, "task.layout", "%s", layout);
    config_set(c, "task.box", "%d", box);
    c->task.train_count = box == 2 ? 300 : 40;
    c->task.eval_count = 4;
    if (box == 2) {
        config_set(c, "task.min_clues", "%d", 6);
        config_set(c, "task.max_clues", "%d", 8);
    }
    c->train.batch = MAX_B;
}

static int fixture_open(Fixture *f, const Config *cfg) {
    memset(f, 0, sizeof(*f));
    f->cfg = *cfg;
    Err err = {{0}};
    int rc = task_create(&f->real, &f->cfg, &err);
    CHECK_MSG(rc == 0, "task: %s", err.msg);
    if (rc) return -1;
    f->rec.real = &f->real;
    f->task = f->real;
    f->task.ops = &recording_ops;
    f->task.impl = &f->rec;
    rc = forward_create(&f->fp, &f->cfg, &f->task, &err);
    CHECK_MSG(rc == 0, "process: %s", err.msg);
    if (rc == 0) rc = forward_batch_alloc(&f->batch, f->cfg.train.batch, f->task.seq_len, &err);
    if (rc) {
        forward_destroy(&f->fp);
        task_destroy(&f->real);
    }
    return rc;
}

static void fixture_close(Fixture *f) {
    forward_batch_free(&f->batch);
    forward_destroy(&f->fp);
    task_destroy(&f->real);
}

static void fixture_batch(Fixture *f, long step) {
    f->rec.count = 0;
    f->fp.ops->make_batch(&f->fp, step, &f->batch);
}

/* The shape one sequence showed, in answer-position indices. */
typedef struct SeqShape {
    int n;              /* answer positions (L_eff) */
    int block, blocks;  /* the noised block's index and how many blocks there are */
    int len, masked;    /* its length and how many of it are masked */
    int first, last;    /* first and last masked answer index inside it */
    int masked_indices; /* bit i: answer index i masked (first 31) */
} SeqShape;

/* NULL if sequence b of the batch has the block-diffusion shape for block size S, else what
 * is wrong. Expects the blocks of the answer to be [k*S, (k+1)*S) (one block if S is 0 or
 * covers the answer). */
static const char *block_violation(const Fixture *f, int b, int S, SeqShape *sh) {
    int T = f->batch.T, mask = f->task.mask_id, B = f->batch.B;
    const int *tok = f->batch.tokens + (size_t)b * T, *tgt = f->batch.targets + (size_t)b * T;
    const float *w = f->batch.weights + (size_t)b * T;
    const unsigned char *is_prompt = f->rec.is_prompt[b];
    int ans[MAX_T];
    if (memcmp(tgt, f->rec.clean[b], (size_t)T * sizeof(int)) != 0)
        return "targets differ from the drawn example";
    for (int t = 0; t < T; t++)
        if (is_prompt[t] && (tok[t] != tgt[t] || w[t] != 0.0f)) return "prompt position touched";
    int n = forward_answer_positions(is_prompt, T, ans);
    int first = 0;
    while (first < n && tok[ans[first]] != mask) first++;
    if (first == n) return "nothing masked";
    int size = S <= 0 || S >= n ? n : S;
    memset(sh, 0, sizeof(*sh));
    sh->n = n;
    sh->block = first / size;
    sh->blocks = (n + size - 1) / size;
    int lo = sh->block * size, hi = lo + size < n ? lo + size : n;
    sh->len = hi - lo;
    sh->first = first;
    for (int i = lo; i < hi; i++)
        if (tok[ans[i]] == mask) {
            sh->masked++;
            sh->last = i;
            if (i < 31) sh->masked_indices |= 1 << i;
        }
    float want = 1.0f / ((float)sh->masked * (float)B);
    for (int i = 0; i < n; i++) {
        int t = ans[i], hidden = tok[t] == mask;
        if (i < lo && (hidden || w[t] != 0.0f)) return "prefix block not clean";
        if (!hidden && tok[t] != tgt[t]) return "unmasked position differs from the target";
        if (i >= lo && i < hi && hidden && fabsf(w[t] - want) > 1e-6f * want)
            return "masked position of the current block without weight 1/(m*B)";
        if (i >= lo && i < hi && !hidden && w[t] != 0.0f) return "clean position weighted";
        if (i >= hi && (!hidden || w[t] != 0.0f)) return "later block not hidden with weight 0";
    }
    return NULL;
}

/* Checks every sequence of a fresh batch for block size S; returns the batch's shapes. */
static void check_batch(Fixture *f, long step, int S, SeqShape *shapes) {
    fixture_batch(f, step);
    CHECK(f->rec.count == f->batch.B);
    double total = 0;
    for (int i = 0; i < f->batch.B * f->batch.T; i++) total += f->batch.weights[i];
    CHECK_MSG(fabs(total - 1.0) < 1e-5, "step %ld: weights sum to %.7f", step, total);
    for (int b = 0; b < f->batch.B; b++) {
        const char *why = block_violation(f, b, S, &shapes[b]);
        CHECK_MSG(why == NULL, "step %ld S=%d sequence %d: %s", step, S, b, why);
    }
}

static int widest_span(const SeqShape *shapes, int B) {
    int span = 0;
    for (int b = 0; b < B; b++)
        if (shapes[b].last - shapes[b].first + 1 > span)
            span = shapes[b].last - shapes[b].first + 1;
    return span;
}

/* 4x4 in place (prompt cells scattered through the sequence) and 9x9 with a prompt half. */
static void test_block_shape(int box, const char *layout, int S) {
    Config c;
    sudoku_config(&c, box, layout);
    config_set(&c, "block.size", "%d", S);
    Fixture f;
    if (fixture_open(&f, &c) != 0) return;
    SeqShape shapes[MAX_B];
    int max_blocks = 0;
    for (long step = 0; step < 20; step++) {
        check_batch(&f, step, S, shapes);
        for (int b = 0; b < MAX_B; b++) {
            if (shapes[b].blocks > max_blocks) max_blocks = shapes[b].blocks;
            CHECK(shapes[b].last - shapes[b].first < S);
        }
    }
    CHECK_MSG(max_blocks > 1, "box %d S=%d: never more than one block", box, S);
    fixture_close(&f);
}

/* 9x9 prompt layout: L_eff = 81, S = 10 gives 8 full blocks and a last block of one. */
static void test_blocks_uniform(void) {
    enum { S = 10, BLOCKS = 9, BATCHES = 50 };
    Config c;
    sudoku_config(&c, 3, "prompt");
    config_set(&c, "block.size", "%d", S);
    Fixture f;
    if (fixture_open(&f, &c) != 0) return;
    long hits[BLOCKS] = {0}, masked_counts[S + 1] = {0};
    SeqShape shapes[MAX_B];
    for (long step = 0; step < BATCHES; step++) {
        check_batch(&f, step, S, shapes);
        for (int b = 0; b < MAX_B; b++) {
            CHECK(shapes[b].n == 81 && shapes[b].blocks == BLOCKS);
            hits[shapes[b].block]++;
            if (shapes[b].block < BLOCKS - 1) masked_counts[shapes[b].masked]++;
            if (shapes[b].block == BLOCKS - 1) CHECK(shapes[b].len == 1 && shapes[b].masked == 1);
        }
    }
    double expect = (double)BATCHES * MAX_B / BLOCKS;
    for (int k = 0; k < BLOCKS; k++)
        CHECK_MSG(hits[k] > 0.7 * expect && hits[k] < 1.3 * expect,
                  "block %d drawn %ld times, expected about %.0f", k, hits[k], expect);
    for (int m = 1; m <= S; m++)
        CHECK_MSG(masked_counts[m] > 0, "a full block never had %d masked positions", m);
    CHECK(masked_counts[0] == 0);
    fixture_close(&f);
}

static int apply(Config *c, const char *assignment) {
    Err err = {{0}};
    int rc = config_apply_override(c, assignment, &err);
    CHECK_MSG(rc == 0, "%s: %s", assignment, err.msg);
    return rc;
}

static void test_curriculum(void) {
    Config c;
    sudoku_config(&c, 3, "prompt");
    if (apply(&c, "block.size_schedule=[[3, 0], [9, 10]]") != 0) return;
    Fixture f;
    if (fixture_open(&f, &c) != 0) return;
    SeqShape shapes[MAX_B];
    check_batch(&f, 0, 3, shapes);
    check_batch(&f, 9, 3, shapes);
    CHECK(widest_span(shapes, MAX_B) <= 3);
    int wide = 0;
    for (long step = 10; step < 13; step++) {
        check_batch(&f, step, 9, shapes);
        if (widest_span(shapes, MAX_B) > 3) wide = 1;
    }
    CHECK_MSG(wide, "after the switch to S=9 no noised region spans more than 3 positions");
    fixture_close(&f);

    /* before the schedule's first entry, block.size (here 0: one block) is in force */
    sudoku_config(&c, 3, "prompt");
    if (apply(&c, "block.size_schedule=[[3, 5]]") != 0) return;
    if (fixture_open(&f, &c) != 0) return;
    check_batch(&f, 4, 0, shapes);
    CHECK(widest_span(shapes, MAX_B) > 3);
    check_batch(&f, 5, 3, shapes);
    fixture_close(&f);
}

static int same_batch(const ForwardBatch *a, const ForwardBatch *b) {
    size_t n = (size_t)a->B * a->T;
    return memcmp(a->tokens, b->tokens, n * sizeof(int)) == 0 &&
           memcmp(a->targets, b->targets, n * sizeof(int)) == 0 &&
           memcmp(a->weights, b->weights, n * sizeof(float)) == 0;
}

static void test_determinism(void) {
    Config c;
    sudoku_config(&c, 2, "inplace");
    config_set(&c, "block.size", "%d", 3);
    Fixture f, g;
    if (fixture_open(&f, &c) != 0) return;
    if (fixture_open(&g, &c) != 0) {
        fixture_close(&f);
        return;
    }
    fixture_batch(&f, 7);
    fixture_batch(&g, 3);
    fixture_batch(&g, 7); /* a batch depends on the step only, not on what came before */
    CHECK(same_batch(&f.batch, &g.batch));
    fixture_batch(&g, 8);
    CHECK(!same_batch(&f.batch, &g.batch));
    fixture_close(&g);
    c.seed = 2;
    if (fixture_open(&g, &c) != 0) {
        fixture_close(&f);
        return;
    }
    fixture_batch(&g, 7);
    CHECK(!same_batch(&f.batch, &g.batch));
    fixture_close(&g);
    fixture_close(&f);
}

/* S = 0 and S >= L_eff are plain MDM: any answer position may be masked, every mask is
 * weighted, nothing is hidden without weight. */
static void check_one_block(int S) {
    Config c;
    sudoku_config(&c, 3, "prompt");
    config_set(&c, "block.size", "%d", S);
    Fixture f;
    if (fixture_open(&f, &c) != 0) return;
    SeqShape shapes[MAX_B];
    int seen = 0, gaps = 0;
    for (long step = 0; step < 10; step++) {
        check_batch(&f, step, 0, shapes);
        for (int b = 0; b < MAX_B; b++) {
            CHECK(shapes[b].blocks == 1);
            seen |= shapes[b].masked_indices;
            gaps += shapes[b].first > 0;
        }
    }
    CHECK_MSG(seen == 0x7fffffff, "S=%d: answer indices 0..30 masked: %#x", S, (unsigned)seen);
    CHECK(gaps > 0); /* masks do not always start at the first answer position */
    fixture_close(&f);
}

static void test_one_block(void) {
    check_one_block(0);
    check_one_block(81);
    check_one_block(1000);
}

static void test_inner_errors(void) {
    Config c;
    sudoku_config(&c, 2, "inplace");
    Task task;
    Err err = {{0}};
    if (task_create(&task, &c, &err) != 0) {
        CHECK_MSG(0, "task: %s", err.msg);
        return;
    }
    ForwardProcess fp;
    config_set(&c, "block.inner", "puma"); /* PUMA's chain per block */
    CHECK_MSG(forward_create(&fp, &c, &task, &err) == 0, "%s", err.msg);
    CHECK(fp.ops == forward_find("puma"));
    forward_destroy(&fp);
    /* an unknown noise is refused where it is set, naming the key and the choices */
    CHECK(config_apply_override(&c, "block.inner=gauss", &err) == -1);
    CHECK_MSG(strstr(err.msg, "block.inner") && strstr(err.msg, "gauss") &&
                  strstr(err.msg, "random, puma"),
              "%s", err.msg);
    task_destroy(&task);
}

/* Evaluation decodes with the block size training is using at that step, unless eval names
 * one. */
static void test_eval_block_size(void) {
    Config c;
    config_defaults(&c);
    config_set(&c, "block.size", "%d", 5);
    CHECK(eval_block_size(&c, 100) == 0); /* process random: no blocks */
    snprintf(c.process, sizeof(c.process), "block");
    CHECK(eval_block_size(&c, 0) == 5);
    if (apply(&c, "block.size_schedule=[[3, 10], [9, 20]]") != 0) return;
    CHECK(eval_block_size(&c, 9) == 5);
    CHECK(eval_block_size(&c, 10) == 3 && eval_block_size(&c, 19) == 3);
    CHECK(eval_block_size(&c, 20) == 9 && eval_block_size(&c, 5000) == 9);
    c.eval.block_size = 2;
    CHECK(eval_block_size(&c, 20) == 2);
}

/* ---- learning ----------------------------------------------------------------------- */

/* tests/test_train.c's learning config (4x4 in place) at d=32, 2 layers. */
static void learning_config(Config *c, const char *dir, long steps) {
    tiny_run_config(c, dir, steps);
    snprintf(c->backend, sizeof(c->backend), "auto");
    snprintf(c->process, sizeof(c->process), "block");
    config_set(c, "task.layout", "inplace");
    c->threads = 1;
    c->task.train_count = 20000;
    c->task.eval_count = 256;
    c->train.log_every = 10;
    c->train.ckpt_every = 0;
    c->eval.count = 256;
}

/* A model on a task, for evaluating checkpoints outside the training loop. */
typedef struct Evaluator {
    Backend be;
    Task task;
    Model model;
} Evaluator;

static int evaluator_open(Evaluator *e, const Config *c, Err *err) {
    memset(e, 0, sizeof(*e));
    if (backend_create(&e->be, c->backend, c->threads, err) != 0) return -1;
    if (task_create(&e->task, c, err) == 0) {
        ModelConfig mc = session_model_config(c, &e->task);
        if (model_create(&e->model, &mc, &e->be, c->eval.batch, 0, err) == 0) {
            model_init_params(&e->model, (uint64_t)c->seed, session_model_init(c),
                              (float)c->model.init_std);
            return 0;
        }
        task_destroy(&e->task);
    }
    backend_destroy(&e->be);
    return -1;
}

static void evaluator_close(Evaluator *e) {
    model_free(&e->model);
    task_destroy(&e->task);
    backend_destroy(&e->be);
}

static int evaluator_load(Evaluator *e, const char *path, Err *err) {
    Checkpoint ck;
    if (checkpoint_read(path, &ck, err) != 0) return -1;
    int rc = model_io_restore(&e->model, &ck, path, 0, err);
    checkpoint_free(&ck);
    return rc;
}

static double solve_rate(Evaluator *e, const Config *c, int block_size) {
    SampleOptions opt = {.policy = POLICY_MARGIN, .tokens_per_step = 1, .block_size = block_size};
    EvalResult r;
    Err err = {{0}};
    int rc = eval_accuracy(&e->model, NULL, &e->task, &opt, c->eval.count, 1, &r, &err);
    CHECK_MSG(rc == 0, "eval: %s", err.msg);
    return rc ? -1.0 : r.accuracy;
}

/* Mean of train.csv's loss column over logged rows [from, to). */
static double mean_loss(const char *dir, int from, int to) {
    char path[600], line[512];
    snprintf(path, sizeof(path), "%s/train.csv", dir);
    FILE *f = fopen(path, "r");
    double sum = 0;
    int row = -1, n = 0; /* row -1: the header */
    while (f && fgets(line, sizeof(line), f)) {
        if (row >= from && row < to) {
            char *comma = strchr(line, ',');
            sum += comma ? strtod(comma + 1, NULL) : NAN;
            n++;
        }
        row++;
    }
    if (f) fclose(f);
    return n ? sum / n : NAN;
}

static void test_learns_with_curriculum(const char *tmp) {
    enum { STEPS = 2000 };
    const char *schedule = "block.size_schedule=[[4, 0], [16, 1000]]";
    char dir[512], ckpt[600];
    snprintf(dir, sizeof(dir), "%s/learn", tmp);
    snprintf(ckpt, sizeof(ckpt), "%s/checkpoint.bin", dir);
    Config c;
    learning_config(&c, dir, STEPS);
    if (apply(&c, schedule) != 0) return;
    Evaluator e;
    Err err = {{0}};
    if (evaluator_open(&e, &c, &err) != 0) {
        CHECK_MSG(0, "evaluator: %s", err.msg);
        return;
    }
    double t0 = now_seconds();
    double untrained = solve_rate(&e, &c, 0);
    int rc = train_run(&c, 1, &err);
    CHECK_MSG(rc == 0, "train_run: %s", err.msg);
    rc = rc ? rc : evaluator_load(&e, ckpt, &err);
    CHECK_MSG(rc == 0, "load: %s", err.msg);
    double trained = rc ? -1 : solve_rate(&e, &c, 0);
    double trained_blocks = rc ? -1 : solve_rate(&e, &c, 4);
    /* rows: step 1, 10, 20, ...: the first ten logged steps vs the last ten */
    double early = mean_loss(dir, 0, 10), late = mean_loss(dir, STEPS / 10 - 9, STEPS / 10 + 1);
    printf("%s, %d steps, %.1f s: loss %.3f -> %.3f; solve rate "
           "untrained %.3f, trained %.3f (all at once) %.3f (blocks of 4)\n",
           schedule, STEPS, now_seconds() - t0, early, late, untrained, trained, trained_blocks);
    CHECK_MSG(late < 0.6 * early, "loss fell only from %.3f to %.3f", early, late);
    CHECK_MSG(trained >= untrained + 0.08, "solve rate %.3f vs untrained %.3f", trained, untrained);
    CHECK_MSG(trained_blocks >= untrained + 0.08, "block decoding: %.3f vs untrained %.3f",
              trained_blocks, untrained);
    evaluator_close(&e);
}

int main(void) {
    test_block_shape(2, "inplace", 3);
    test_block_shape(3, "inplace", 7);
    test_block_shape(3, "prompt", 20);
    test_blocks_uniform();
    test_curriculum();
    test_determinism();
    test_one_block();
    test_inner_errors();
    test_eval_block_size();
    char tmp[] = "/tmp/mdmlab_block_XXXXXX";
    if (!mkdtemp(tmp)) return 1;
    test_learns_with_curriculum(tmp);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
    if (check_failures == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return check_summary("block");
}
