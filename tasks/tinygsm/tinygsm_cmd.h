/* TinyGSM sub-commands: `gen tinygsm` (write generated word problems as JSONL) and `score`
 * (check candidate solutions against reference answers). (argc, argv) from the command or task
 * name on; each returns the exit status (0, 1 for a failure, 2 for a usage error) and fills err
 * when it fails. Normal output goes to stdout. */
#ifndef MDMLAB_CMD_TINYGSM_H
#define MDMLAB_CMD_TINYGSM_H

#include "base/util.h"

/* mdmlab gen tinygsm --count N --seed S [--steps MIN-MAX] [--max-number N] [-o FILE]
 * argv[0] is "tinygsm" (the task's gen_command). */
int tinygsm_gen_command(int argc, char **argv, Err *err);

/* mdmlab score tinygsm FILE.jsonl [--verbose]; argv[0] is "tinygsm" (the task's
 * score_command). */
int tinygsm_score_command(int argc, char **argv, Err *err);

#endif
