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
#include "parallel.h"

typedef struct Session {
    Config cfg;
    Backend be;
    Task task;
    Model model;
    ForwardProcess fp;
    ForwardBatch batch;
    /* Only for processes that observe: the step's confidence (B, T), computed by the backend
     * into confidence (backend memory) and downloaded into confidence_host. */
    float *confidence, *confidence_host;
    long failed_step; /* 1-based step whose sync reported a backend failure, or 0 */
    /* Data parallel (parallel.h): this process trains its slice of each batch; NULL or a
     * world of 1: the whole batch. */
    Parallel *par;
    Err comm_err; /* a failed collective (msg empty when none) */
} Session;

/* Validates cfg and creates everything, with freshly initialised weights (seeded by cfg->seed).
 * par: the MPI job this process is a rank of, or NULL (one process). */
int session_open(Session *s, const Config *cfg, Parallel *par, Err *err);
void session_close(Session *s);
/* One optimizer step at 0-based `step`: batch from the process, forward (and the model's
 * confidence when the process observes), loss, backward, clip + AdamW + EMA, one backend
 * sync, then the process observes the confidence. Under data parallelism the forward and
 * backward run on this rank's slice, and the gradients, the loss and the confidences are
 * combined over ranks before the optimizer and the process see them. Returns the batch loss;
 * NaN when the backend or a collective reported a failure, which session_check then
 * describes (the process does not observe a failed step). */
double session_step(Session *s, long step, OptimStats *st);
/* 0 while the backend has reported no failure; else -1 with err naming the step, the
 * backend and the failed op. */
int session_check(const Session *s, Err *err);

/* The model shape a config asks for on a task (vocab and length come from the task). */
ModelConfig session_model_config(const Config *cfg, const Task *task);
/* The weight initialisation model.init names. */
ModelInit session_model_init(const Config *cfg);

#endif
