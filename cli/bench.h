/* `mdmlab bench`: training-step throughput and memory per backend. */
#ifndef MDMLAB_BENCH_H
#define MDMLAB_BENCH_H

#include "base/config.h"

/* argv[0] is "bench". Returns the process exit code. */
int bench_main(int argc, char **argv);

#endif
