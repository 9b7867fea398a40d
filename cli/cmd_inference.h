/* Inference studies: step importance of a heavy vs a light model, and cost-quality Pareto
 * fronts of decoding choices. Each returns the exit status and fills err when it fails. */
#ifndef MDMLAB_CMD_INFERENCE_H
#define MDMLAB_CMD_INFERENCE_H

#include "base/util.h"

int cmd_step_importance(int argc, char **argv, Err *err);
int cmd_schedule_search(int argc, char **argv, Err *err);
int cmd_pareto(int argc, char **argv, Err *err);

#endif
