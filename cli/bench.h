/* `mdmlab bench`: training-step throughput and memory per backend. */
#ifndef MDMLAB_BENCH_H
#define MDMLAB_BENCH_H

#include "base/config.h"

/* argv[0] is "bench". Returns the exit status (0, 1 when a run failed, 2 for a usage error)
 * and fills err on a usage error. */
int cmd_bench(int argc, char **argv, Err *err);

#endif
