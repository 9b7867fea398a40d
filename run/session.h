/* A training session: the backend, task, model, forward process and batch that one config
 * asks for, and the training step over them. No run directory, logs or checkpoints: the
 * training loop (train.c) and the benchmark (bench.c) both build on it. */
#ifndef MDMLAB_SESSION_H
#define MDMLAB_SESSION_H

#include "tasks/task.h"
#include "base/config.h"
#include "forward/forward.h"
#include "model/model.h"
#include "model/optim.h"

typedef struct Session {
    Config cfg;
    Backend be;
    Task task;
    Model model;
    ForwardProcess fp;
    ForwardBatch batch;
    float *logits_host; /* only for processes that observe the forward's logits */
} Session;

/* Validates cfg and creates everything, with freshly initialised weights (seeded by cfg->seed). */
int session_open(Session *s, const Config *cfg, Err *err);
void session_close(Session *s);
/* One optimizer step at 0-based `step`: batch from the process, forward, loss, backward,
 * clip + AdamW + EMA, then the process observes the logits. Returns the batch loss. */
double session_step(Session *s, long step, OptimStats *st);

/* The model shape a config asks for on a task (vocab and length come from the task). */
ModelConfig session_model_config(const Config *cfg, const Task *task);
/* The weight initialisation model.init names. */
ModelInit session_model_init(const Config *cfg);

#endif
