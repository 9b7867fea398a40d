/* PUMA's chain invariants on the real Sudoku task with a fake confidence source, the exact
 * confidence order of reveals, K-schedule rebuilds, confidence collapse, a training step
 * whose backend failed (reported, and the chain does not advance on it), bit-exact resume
 * of a PUMA run (its pool is checkpointed), and learning. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config_set.h"
#include "forward/config_schema.h"
#include "forward/forward.h"
#include "run/session.h"
#include "run/train.h"
#include "check.h"
#include "tiny_run.h"

typedef struct Pool {
    uint32_t K, B, T, built, S;
    long example[64];
    int phase[64], block[64];
    unsigned char masked[64][81];
} Pool;

/* Reads the pool through the checkpoint state, the process's only window on it. */
static void read_pool(const ForwardProcess *fp, Pool *pool) {
    size_t n = fp->ops->state_bytes(fp);
    unsigned char *buf = malloc(n), *p = buf;
    fp->ops->state_save(fp, buf);
    uint32_t h[6];
    memcpy(h, p, sizeof(h));
    p += sizeof(h);
    pool->K = h[1];
    pool->B = h[2];
    pool->T = h[3];
    pool->built = h[4];
    pool->S = h[5];
    for (uint32_t b = 0; b < pool->B; b++) {
        int64_t ex;
        int32_t ph, blk;
        memcpy(&ex, p, 8);
        memcpy(&ph, p + 8, 4);
        memcpy(&blk, p + 12, 4);
        pool->example[b] = (long)ex;
        pool->phase[b] = ph;
        pool->block[b] = blk;
        memcpy(pool->masked[b], p + 16, pool->T);
        p += 16 + pool->T;
    }
    free(buf);
}

typedef struct Setup {
    Config cfg;
    Task task;
    ForwardProcess fp;
    ForwardBatch batch;
    float *confidence; /* (32, T): what observe gets */
} Setup;

static void setup_process(Setup *s, const char *process, int K, const char *mode,
                          const char *schedule, int block_size);

static void setup(Setup *s, int K, const char *mode, const char *schedule) {
    setup_process(s, "puma", K, mode, schedule, 0);
}

static void setup_process(Setup *s, const char *process, int K, const char *mode,
                          const char *schedule, int block_size) {
    Err err = {{0}};
    memset(s, 0, sizeof(*s));
    config_defaults(&s->cfg);
    config_set(&s->cfg, "task.box", "%d", 3);
    config_set(&s->cfg, "task.layout", "inplace");
    s->cfg.task.train_count = 200;
    s->cfg.task.eval_count = 4;
    s->cfg.train.batch = 32;
    snprintf(s->cfg.process, sizeof(s->cfg.process), "%s", process);
    config_set(&s->cfg, "block.inner", "puma");
    config_set(&s->cfg, "block.size", "%d", block_size);
    config_set(&s->cfg, "puma.K", "%d", K);
    config_set(&s->cfg, "puma.mode", "%s", mode);
    if (schedule) {
        char o[128];
        snprintf(o, sizeof(o), "puma.K_schedule=%s", schedule);
        CHECK_MSG(config_apply_override(&s->cfg, o, &err) == 0, "%s", err.msg);
    }
    CHECK_MSG(task_create(&s->task, &s->cfg, &err) == 0, "%s", err.msg);
    CHECK_MSG(forward_create(&s->fp, &s->cfg, &s->task, &err) == 0, "%s", err.msg);
    forward_batch_alloc(&s->batch, 32, s->task.seq_len, &err);
    s->confidence = calloc((size_t)32 * s->task.seq_len, sizeof(float));
}

static void teardown(Setup *s) {
    free(s->confidence);
    forward_batch_free(&s->batch);
    forward_destroy(&s->fp);
    task_destroy(&s->task);
}

/* Fake model: position (b, t) at `step` has confidence (a max log-prob, in (-10, 0])
 * conf(b, t, step). */
static float fake_confidence(int b, int t, long step) {
    uint64_t h = (uint64_t)(b * 1000003 + t * 7919 + step * 104729) * 0x9e3779b97f4a7c15ULL;
    return -(float)((h >> 40) % 1000) / 100.0f;
}

static void fill_fake_confidence(Setup *s, long step) {
    int T = s->task.seq_len;
    for (int b = 0; b < 32; b++)
        for (int t = 0; t < T; t++) s->confidence[(size_t)b * T + t] = fake_confidence(b, t, step);
}

static int masked_count(const Pool *p, int b);

/* PUMA inside blocks: the chain only ever masks the slot's block; earlier answer positions
 * are clean, later ones are MASK with zero weight; reveals stay inside the block. */
static void test_chain_in_blocks(void) {
    Setup s;
    setup_process(&s, "block", 4, "standard", NULL, 9);
    int T = s.task.seq_len;
    Pool p;
    long outside = 0, prefix_dirty = 0, later_visible = 0, weighted_hidden = 0;
    int blocks_seen[16] = {0};
    for (long step = 0; step < 40; step++) {
        s.fp.ops->make_batch(&s.fp, step, &s.batch);
        read_pool(&s.fp, &p);
        CHECK(p.S == 9);
        for (int b = 0; b < 32; b++) {
            int clean[81], pos[81], n = 0;
            unsigned char prompt[81];
            s.task.ops->example(&s.task, SPLIT_TRAIN, p.example[b], clean, prompt);
            for (int t = 0; t < T; t++)
                if (!prompt[t]) pos[n++] = t;
            int start = p.block[b] * 9, end = start + 9 < n ? start + 9 : n;
            blocks_seen[p.block[b] < 16 ? p.block[b] : 15]++;
            for (int i = 0; i < n; i++) {
                int t = pos[i], tok = s.batch.tokens[b * T + t];
                float w = s.batch.weights[b * T + t];
                if (i < start) prefix_dirty += tok != clean[t];
                if (i >= end) {
                    later_visible += tok != s.task.mask_id;
                    weighted_hidden += w != 0.0f;
                }
                if (i < start || i >= end) outside += p.masked[b][t];
            }
        }
        fill_fake_confidence(&s, step);
        s.fp.ops->observe(&s.fp, step, s.confidence);
    }
    CHECK_MSG(outside == 0, "%ld masks outside the slot's block", outside);
    CHECK_MSG(prefix_dirty == 0, "%ld prefix positions not clean", prefix_dirty);
    CHECK_MSG(later_visible == 0, "%ld later-block positions visible", later_visible);
    CHECK_MSG(weighted_hidden == 0, "%ld hidden positions carry loss weight", weighted_hidden);
    CHECK_MSG(blocks_seen[0] > 0 && blocks_seen[1] > 0 && blocks_seen[2] > 0,
              "blocks 0..2 drawn %d %d %d times", blocks_seen[0], blocks_seen[1], blocks_seen[2]);
    teardown(&s);
}

static int masked_count(const Pool *p, int b) {
    int n = 0;
    for (uint32_t t = 0; t < p->T; t++) n += p->masked[b][t];
    return n;
}

static void test_chain_invariants(void) {
    Setup s;
    setup(&s, 8, "standard", NULL);
    int T = s.task.seq_len, B = 32;
    Pool before, after;
    long out_of_order = 0, reveals = 0, bad_tokens = 0, shrinking = 0, unbalanced = 0;
    long full = 0, fresh = 0;
    for (long step = 0; step < 60; step++) {
        s.fp.ops->make_batch(&s.fp, step, &s.batch);
        read_pool(&s.fp, &before);
        for (int i = 0; i < B * T; i++) {
            int masked = s.batch.tokens[i] == s.task.mask_id;
            bad_tokens += !masked && s.batch.tokens[i] != s.batch.targets[i];
            bad_tokens += masked != before.masked[i / T][i % T];
        }
        int per_phase[8] = {0};
        for (int b = 0; b < B; b++) {
            per_phase[before.phase[b]]++;
            full += masked_count(&before, b) < 1; /* never more than L_eff - 1 unmasked */
        }
        for (int k = 0; k < 8; k++) unbalanced += per_phase[k] != B / 8;
        fill_fake_confidence(&s, step);
        s.fp.ops->observe(&s.fp, step, s.confidence);
        read_pool(&s.fp, &after);
        for (int b = 0; b < B; b++) {
            if (after.phase[b] == 0) { /* wrapped: a fresh sequence */
                fresh++;
                continue;
            }
            shrinking += masked_count(&after, b) > masked_count(&before, b);
            float min_revealed = 1e30f, max_kept = -1e30f;
            for (int t = 0; t < T; t++) {
                if (!before.masked[b][t]) continue;
                float c = fake_confidence(b, t, step);
                if (!after.masked[b][t]) {
                    reveals++;
                    min_revealed = c < min_revealed ? c : min_revealed;
                } else {
                    max_kept = c > max_kept ? c : max_kept;
                }
            }
            out_of_order += min_revealed < max_kept;
        }
    }
    CHECK_MSG(bad_tokens == 0, "%ld batch tokens disagree with the pool or ground truth",
              bad_tokens);
    CHECK_MSG(full == 0, "%ld sequences had nothing left masked", full);
    CHECK_MSG(unbalanced == 0, "phases unbalanced %ld times", unbalanced);
    CHECK_MSG(shrinking == 0, "unmasked count decreased %ld times", shrinking);
    CHECK_MSG(out_of_order == 0, "%ld reveals not in confidence order", out_of_order);
    CHECK_MSG(reveals > 1000, "only %ld reveals", reveals);
    /* B/K sequences wrap per step in standard mode */
    CHECK_MSG(fresh == 60 * B / 8, "%ld fresh sequences in 60 steps, expected %d", fresh,
              60 * B / 8);
    teardown(&s);
}

static void test_stage_targets(void) {
    Setup s;
    setup(&s, 4, "standard", NULL);
    int T = s.task.seq_len;
    Pool p;
    long outside = 0;
    for (long step = 0; step < 20; step++) {
        s.fp.ops->make_batch(&s.fp, step, &s.batch);
        read_pool(&s.fp, &p);
        for (int b = 0; b < 32; b++) {
            int L = 0, clean[81];
            unsigned char prompt[81];
            s.task.ops->example(&s.task, SPLIT_TRAIN, p.example[b], clean, prompt);
            for (int t = 0; t < T; t++) L += !prompt[t];
            int unmasked = L - masked_count(&p, b);
            double lo = (double)p.phase[b] / 4 * L - 0.5,
                   hi = (double)(p.phase[b] + 1) / 4 * L + 0.5;
            /* confidence reveals only ever reach the stage's target range */
            outside += unmasked < lo - 1e-9 || unmasked > hi + 1e-9 || unmasked > L - 1;
        }
        fill_fake_confidence(&s, step);
        s.fp.ops->observe(&s.fp, step, s.confidence);
    }
    CHECK_MSG(outside == 0, "%ld sequences outside their stage's unmasked range", outside);
    teardown(&s);
}

static void test_k_schedule_rebuilds(void) {
    Setup s;
    setup(&s, 4, "standard", "[[4, 0], [8, 10]]");
    Pool p;
    for (long step = 0; step < 12; step++) {
        s.fp.ops->make_batch(&s.fp, step, &s.batch);
        read_pool(&s.fp, &p);
        CHECK_MSG(p.K == (step < 10 ? 4u : 8u), "step %ld: K = %u", step, p.K);
        if (step == 10) { /* freshly rebuilt: balanced over 8 phases */
            int per_phase[8] = {0};
            for (int b = 0; b < 32; b++) per_phase[p.phase[b]]++;
            for (int k = 0; k < 8; k++) CHECK(per_phase[k] == 4);
        }
        fill_fake_confidence(&s, step);
        s.fp.ops->observe(&s.fp, step, s.confidence);
    }
    teardown(&s);
}

static void test_confidence_collapse(void) {
    Setup s;
    setup(&s, 8, "confidence_collapse", NULL);
    s.fp.ops->make_batch(&s.fp, 0, &s.batch);
    Pool before, after;
    read_pool(&s.fp, &before);
    /* a model certain of everything (log-prob 0): every masked position passes tau */
    for (int i = 0; i < 32 * s.task.seq_len; i++) s.confidence[i] = 0.0f;
    s.fp.ops->observe(&s.fp, 0, s.confidence);
    read_pool(&s.fp, &after);
    for (int b = 0; b < 32; b++) /* all revealed -> replaced by fresh phase-0 sequences */
        CHECK_MSG(after.phase[b] == 0, "slot %d phase %d after collapse", b, after.phase[b]);
    teardown(&s);
}

static void tiny_puma_run(Config *c, const char *dir, long steps) {
    tiny_run_config(c, dir, steps);
    snprintf(c->backend, sizeof(c->backend), "auto");
    snprintf(c->process, sizeof(c->process), "puma");
    config_set(c, "task.layout", "inplace");
    c->task.train_count = 20000;
    c->task.eval_count = 256;
    c->model.d = 64;
    c->model.layers = 4;
    c->model.ffn = 128;
    config_set(c, "puma.K", "%d", 4);
    c->eval.count = 256;
}

/* A backend failure during a step: session_step returns NaN, session_check names the step,
 * the backend and the op, and the process does not observe the failed step. */
static void test_failed_step(void) {
    Config c;
    tiny_puma_run(&c, "/nonexistent", 10);
    c.task.train_count = 200;
    Session s;
    Err err = {{0}};
    OptimStats st;
    Pool before, after;
    memset(&before, 0, sizeof before);
    memset(&after, 0, sizeof after);
    if (session_open(&s, &c, NULL, &err) != 0) {
        CHECK_MSG(0, "%s", err.msg);
        session_close(&s);
        return;
    }
    CHECK(isfinite(session_step(&s, 0, &st)) && session_check(&s, &err) == 0);
    read_pool(&s.fp, &before);
    backend_fail(&s.be, "matmul: a simulated launch failure");
    CHECK(isnan(session_step(&s, 1, &st)));
    read_pool(&s.fp, &after);
    CHECK_MSG(memcmp(before.phase, after.phase, sizeof before.phase) == 0 &&
                  memcmp(before.masked, after.masked, sizeof before.masked) == 0,
              "the chain advanced on a failed step");
    CHECK(session_check(&s, &err) != 0);
    char want[128];
    snprintf(want, sizeof want, "step 2: backend '%s': matmul: a simulated launch failure",
             s.be.ops->name);
    CHECK_MSG(strcmp(err.msg, want) == 0, "session_check: %s", err.msg);
    session_close(&s);
}

static void test_resume_and_learning(const char *tmp) {
    char a[256], b[256], l[256];
    snprintf(a, sizeof(a), "%s/a", tmp);
    snprintf(b, sizeof(b), "%s/b", tmp);
    snprintf(l, sizeof(l), "%s/learn", tmp);
    Config ca, cb;
    Err err = {{0}};
    tiny_puma_run(&ca, a, 40);
    ca.train.keep_checkpoints = 1;
    CHECK_MSG(train_run(&ca, 1, &err) == 0, "%s", err.msg);
    tiny_puma_run(&cb, b, 40);
    snprintf(cb.train.resume, sizeof(cb.train.resume), "%s/step-20.bin", a);
    CHECK_MSG(train_run(&cb, 1, &err) == 0, "%s", err.msg);
    double la[64], lb[64];
    int na = tiny_run_losses(a, NULL, la, 64), nb = tiny_run_losses(b, NULL, lb, 64);
    int same = na == 40 && nb == 20;
    for (int i = 0; same && i < 20; i++) same = la[20 + i] == lb[i];
    CHECK_MSG(same, "PUMA run resumed at step 20 diverged from the uninterrupted run");

    Config cl;
    tiny_puma_run(&cl, l, 1500);
    cl.train.log_every = 100;
    cl.train.ckpt_every = 0;
    CHECK_MSG(train_run(&cl, 1, &err) == 0, "%s", err.msg);
    double acc = tiny_run_final_accuracy(l);
    printf("PUMA 4x4 Sudoku solve accuracy after 1500 steps: %.4f\n", acc);
    CHECK_MSG(acc >= 0.5, "PUMA-trained tiny model solved only %.3f", acc);
}

int main(void) {
    test_chain_invariants();
    test_stage_targets();
    test_k_schedule_rebuilds();
    test_confidence_collapse();
    test_chain_in_blocks();
    test_failed_step();
    char tmp[] = "/tmp/mdmlab_puma_XXXXXX";
    if (!mkdtemp(tmp)) return 1;
    test_resume_and_learning(tmp);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
    if (check_failures == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return check_summary("puma");
}
