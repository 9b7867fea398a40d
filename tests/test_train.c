/* Training end to end, in process: determinism of the loss curve, bit-exact resume from a
 * checkpoint, and learning (a tiny model solves 4x4 Sudoku). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_set.h"
#include "base/config.h"
#include "run/train.h"
#include "check.h"
#include "tiny_run.h"

static void train_ok(const Config *c) {
    Err err = {{0}};
    int rc = train_run(c, 1, &err);
    CHECK_MSG(rc == 0, "train_run failed: %s", err.msg);
}

static void test_determinism_and_resume(const char *tmp) {
    char a[256], b[256], c_dir[256];
    snprintf(a, sizeof(a), "%s/a", tmp);
    snprintf(b, sizeof(b), "%s/b", tmp);
    snprintf(c_dir, sizeof(c_dir), "%s/c", tmp);
    Config ca, cb, cc;
    tiny_run_config(&ca, a, 40);
    ca.train.keep_checkpoints = 1;
    tiny_run_config(&cb, b, 40);
    train_ok(&ca);
    train_ok(&cb);
    long sa[64], sb[64], sc[64];
    double la[64], lb[64], lc[64];
    int na = tiny_run_losses(a, sa, la, 64), nb = tiny_run_losses(b, sb, lb, 64);
    CHECK(na == 40 && nb == 40);
    int same = na == nb;
    for (int i = 0; same && i < na; i++) same = sa[i] == sb[i] && la[i] == lb[i];
    CHECK_MSG(same, "two runs with one seed gave different loss curves");
    CHECK_MSG(na > 0 && la[na - 1] < la[0], "loss did not fall: %g -> %g", la[0], la[na - 1]);

    /* resume run c from a's step-20 checkpoint: steps 21..40 must match a bit for bit */
    tiny_run_config(&cc, c_dir, 40);
    snprintf(cc.train.resume, sizeof(cc.train.resume), "%s/step-20.bin", a);
    train_ok(&cc);
    int nc = tiny_run_losses(c_dir, sc, lc, 64);
    CHECK_MSG(nc == 20, "resumed run logged %d steps, expected 20", nc);
    int match = nc == 20;
    for (int i = 0; match && i < nc; i++) match = sc[i] == sa[20 + i] && lc[i] == la[20 + i];
    CHECK_MSG(match, "resumed loss curve differs from the uninterrupted run");

    /* a different seed gives a different curve (the check above is not vacuous) */
    Config cd;
    char d[256];
    snprintf(d, sizeof(d), "%s/d", tmp);
    tiny_run_config(&cd, d, 5);
    cd.seed = 2;
    train_ok(&cd);
    long sd[8];
    double ld[8];
    CHECK(tiny_run_losses(d, sd, ld, 8) == 5 && ld[4] != la[4]);
}

static void test_learns_4x4_sudoku(const char *tmp) {
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/learn", tmp);
    Config c;
    tiny_run_config(&c, dir, 2500);
    snprintf(c.backend, sizeof(c.backend), "auto");
    config_set(&c, "task.layout", "inplace");
    c.task.train_count = 20000;
    c.model.d = 64;
    c.model.layers = 4;
    c.model.ffn = 128;
    c.train.log_every = 100;
    c.train.ckpt_every = 0;
    c.eval.count = 256;
    c.task.eval_count = 256;
    train_ok(&c);
    double acc = tiny_run_final_accuracy(dir);
    printf("4x4 Sudoku solve accuracy after %ld steps (margin, k=1): %.4f\n", c.train.steps, acc);
    CHECK_MSG(acc >= 0.9, "tiny model solved only %.3f of 4x4 puzzles", acc);
}

int main(void) {
    char tmp[] = "/tmp/mdmlab_train_XXXXXX";
    if (!mkdtemp(tmp)) return 1;
    test_determinism_and_resume(tmp);
    test_learns_4x4_sudoku(tmp);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
    if (check_failures == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return check_summary("train");
}
