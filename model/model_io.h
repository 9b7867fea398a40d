/* The model <-> checkpoint mapping: which parameter-shaped buffers a checkpoint holds
 * ("params", "adam_m", "adam_v", "ema"), what makes them sound, and how they are loaded back.
 * Training, evaluation and the ELBO all load models through it. */
#ifndef MDMLAB_MODEL_IO_H
#define MDMLAB_MODEL_IO_H

#include "model/checkpoint.h"
#include "model/model.h"

enum { MODEL_IO_STATE_SECTIONS = 4 };
/* What model_io_state_sections may return: the state sections and, for a sub-token model
 * (MDM-Prime), "sub_tokens": int32 [ell, base, mask_id, vocab] then the (vocab, ell) codes,
 * so a checkpoint says how its input embedding reads tokens. */
enum { MODEL_IO_MAX_SECTIONS = MODEL_IO_STATE_SECTIONS + 1 };

/* The content checks every checkpoint_read applies, without building anything: the stored
 * config parses and describes a model whose parameter layout is the size of "params" for some
 * vocabulary; "adam_m", "adam_v" and "ema", when present, are that size too; every float of
 * them is finite (and "adam_v" never negative). Errors name path and the section, and for a
 * bad float its tensor, layer and element. */
int model_io_check(const Checkpoint *ck, const char *path, Err *err);

/* Resuming needs every piece of training state ("params", the AdamW moments, and "ema" when
 * with_ema): without them the run would not continue bit-exactly. Errors name the missing
 * section and point to train.init_from, which starts a fresh run from the weights. */
int model_io_check_resumable(const Checkpoint *ck, const char *path, int with_ema, Err *err);

/* Whether evaluation uses the checkpoint's EMA weights: 1 when `want` asks for them and the
 * checkpoint has an "ema" section. When it asks and there is none, evaluation falls back to the
 * trained weights: 0, and `note` (else empty) says so and why, for the caller to print. */
int model_io_eval_uses_ema(const Checkpoint *ck, const char *path, int want, Err *note);

/* Floats of the parameter-shaped buffers of a model of shape cfg (what model_create sets as
 * n_params_padded), without building it. */
long model_io_padded_params(const ModelConfig *cfg);

/* Uploads section `name` of ck into the parameter-shaped buffer dst. Returns 0 when loaded,
 * 1 when the section is absent (the caller decides whether that is an error), -1 with err
 * set when its size is not this model's. */
int model_io_restore_section(Model *m, float *dst, const Checkpoint *ck, const char *name,
                             const char *path, Err *err);

/* Load a checkpoint's weights (and optimizer state when with_optimizer, and EMA when the
 * model keeps one: from the checkpoint, else a copy of the weights) into a model whose shape
 * must match; errors name the checkpoint path. With with_optimizer (resuming) every piece of
 * state must be there (model_io_check_resumable). */
int model_io_restore(Model *m, const Checkpoint *ck, const char *path, int with_optimizer,
                     Err *err);

/* Downloads the model's state buffers into sec[0..n) (n <= MODEL_IO_MAX_SECTIONS, the EMA
 * only when kept, "sub_tokens" only for a sub-token model) as malloc'ed checkpoint sections;
 * returns n. A section whose allocation
 * failed has data NULL: the caller checks, writes and frees them. */
int model_io_state_sections(Model *m, CkptSection *sec);

#endif
