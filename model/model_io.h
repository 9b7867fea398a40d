/* The model <-> checkpoint mapping: which parameter-shaped buffers a checkpoint holds
 * ("params", "adam_m", "adam_v", "ema") and how they are loaded back. Training, evaluation
 * and the ELBO all load models through it. */
#ifndef MDMLAB_MODEL_IO_H
#define MDMLAB_MODEL_IO_H

#include "model/checkpoint.h"
#include "model/model.h"

enum { MODEL_IO_STATE_SECTIONS = 4 };

/* Uploads section `name` of ck into the parameter-shaped buffer dst. Returns 0 when loaded,
 * 1 when the section is absent (the caller decides whether that is an error), -1 with err
 * set when its size is not this model's. */
int model_io_restore_section(Model *m, float *dst, const Checkpoint *ck, const char *name,
                             const char *path, Err *err);

/* Load a checkpoint's weights (and optimizer state when with_optimizer, and EMA when the
 * model keeps one: from the checkpoint, else a copy of the weights) into a model whose shape
 * must match; errors name the checkpoint path. */
int model_io_restore(Model *m, const Checkpoint *ck, const char *path, int with_optimizer,
                     Err *err);

/* Downloads the model's state buffers into sec[0..n) (n <= MODEL_IO_STATE_SECTIONS, the EMA
 * only when kept) as malloc'ed checkpoint sections; returns n. A section whose allocation
 * failed has data NULL: the caller checks, writes and frees them. */
int model_io_state_sections(Model *m, CkptSection *sec);

#endif
