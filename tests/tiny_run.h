/* Shared fixtures of the training tests: a 4x4 Sudoku run small enough to train in seconds
 * on 2 cores, and readers of a run directory's train.csv and eval.csv. */
#ifndef MDMLAB_TINY_RUN_H
#define MDMLAB_TINY_RUN_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_set.h"
#include "forward/config_schema.h"
#include "base/config.h"

/* 4x4 Sudoku (prompt layout, 6-8 clues), d=32, 2 layers, batch 32, every step logged. */
static inline void tiny_run_config(Config *c, const char *dir, long steps) {
    config_defaults(c);
    snprintf(c->out_dir, sizeof(c->out_dir), "%s", dir);
    snprintf(c->backend, sizeof(c->backend), "ref");
    c->threads = 2;
    config_set(c, "task.box", "%d", 2);
    c->task.train_count = 2000;
    c->task.eval_count = 64;
    config_set(c, "task.min_clues", "%d", 6);
    config_set(c, "task.max_clues", "%d", 8);
    c->model.d = 32;
    c->model.layers = 2;
    c->model.heads = 2;
    c->model.ffn = 64;
    c->train.steps = steps;
    c->train.batch = 32;
    c->train.lr = 3e-3;
    c->train.warmup_steps = 20;
    c->train.log_every = 1;
    c->train.eval_every = 0;
    c->train.ckpt_every = 20;
    c->eval.batch = 64;
}

/* step and loss columns of dir/train.csv (steps may be NULL); returns rows read, -1 if the
 * file is missing. */
static inline int tiny_run_losses(const char *dir, long *steps, double *losses, int max) {
    char path[600], line[512];
    snprintf(path, sizeof(path), "%s/train.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int n = 0;
    if (!fgets(line, sizeof(line), f)) n = -1; /* header */
    while (n >= 0 && n < max && fgets(line, sizeof(line), f)) {
        char *end;
        long step = strtol(line, &end, 10);
        if (steps) steps[n] = step;
        losses[n++] = *end == ',' ? strtod(end + 1, NULL) : NAN;
    }
    fclose(f);
    return n;
}

/* Accuracy column of the last row of dir/eval.csv (step,policy,k,accuracy,...), -1 if none. */
static inline double tiny_run_final_accuracy(const char *dir) {
    char path[600], line[512];
    snprintf(path, sizeof(path), "%s/eval.csv", dir);
    FILE *f = fopen(path, "r");
    double acc = -1.0;
    while (f && fgets(line, sizeof(line), f)) {
        char *p = line;
        for (int field = 0; field < 3 && p; field++) p = strchr(p, ',') ? strchr(p, ',') + 1 : 0;
        if (p && line[0] != 's') acc = strtod(p, NULL);
    }
    if (f) fclose(f);
    return acc;
}

#endif
