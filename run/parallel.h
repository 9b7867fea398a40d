/* Data parallel training over MPI: one run across processes (ranks) and machines.
 *
 * Every rank builds the same model from the same seed and draws the same global batch (the
 * forward process's (seed, step) streams); rank r trains on its slice, sequences
 * [r B/W, (r+1) B/W), and the gradients are summed over ranks with one MPI_Allreduce on the
 * flat gradient buffer per step, so clipping, AdamW and EMA see the global gradient and run
 * identically everywhere. The loss weights already normalise by the global batch, so the sum
 * over ranks is the one-process loss and gradient (up to the order of the float sums). A
 * process that observes (PUMA) gets every rank's confidences (MPI_Allgather of B*T floats)
 * and advances its whole pool on every rank: the pool is replicated, not sharded, which
 * keeps it identical to one process's and lets rank 0 checkpoint it whole. Rank 0 alone
 * writes the run directory and evaluates.
 *
 * Built with MPI when Meson finds it (option mpi); a process is a rank of an MPI job only when
 * a launcher started it (mpirun/mpiexec or srun: their environment variables), so `mdmlab
 * train` without a launcher never initialises MPI. Without MPI (or outside a job) every call
 * below is the one-process case: rank 0 of 1. The context holds what MPI itself keeps global. */
#ifndef MDMLAB_PARALLEL_H
#define MDMLAB_PARALLEL_H

#include <stddef.h>
#include "base/util.h"

typedef struct Parallel {
    int rank, world; /* 0 of 1 outside an MPI job */
    int initialised; /* this process called MPI_Init */
    float *host;     /* staging for a backend buffer's allreduce */
    size_t host_floats;
    double comm_s; /* seconds spent in collectives (allreduce, allgather), summed */
} Parallel;

/* Joins the MPI job this process was launched in, if any (else rank 0 of 1). */
int parallel_init(Parallel *p, int *argc, char ***argv, Err *err);
/* Leaves the job (MPI_Finalize) and frees the staging buffer. */
void parallel_finalize(Parallel *p);
/* Ends every rank of the job at once with exit status code (a failed rank must not leave
 * the others waiting in a collective); returns only outside a job. */
void parallel_abort(const Parallel *p, int code);
/* Whether MPI was compiled in ("mpi" or "no mpi", for --help and meta data). */
const char *parallel_build(void);

/* x[0..n) <- the sum over ranks, in place (host memory). */
int parallel_sum_doubles(Parallel *p, double *x, int n, Err *err);
/* The same for floats held on the host. */
int parallel_sum_floats(Parallel *p, float *x, size_t n, Err *err);
/* all[W * n_each]: rank r's n_each floats at all + r * n_each, gathered on every rank (its own
 * slice must already be in place). */
int parallel_gather_floats(Parallel *p, float *all, size_t n_each, Err *err);
/* Waits until every rank has arrived. */
int parallel_barrier(Parallel *p, Err *err);

#endif
