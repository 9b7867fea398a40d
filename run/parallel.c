/* MPI data parallel (parallel.h). */
#include "parallel.h"

#include <stdlib.h>
#include <string.h>

#ifdef MDMLAB_HAVE_MPI
#include <mpi.h>
#endif

/* Launched by mpirun/mpiexec (Open MPI, MPICH/Hydra) or srun with PMI/PMIx. */
static int launched_by_mpi(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK",
                                       "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

const char *parallel_build(void) {
#ifdef MDMLAB_HAVE_MPI
    return "mpi";
#else
    return "no mpi";
#endif
}

int parallel_init(Parallel *p, int *argc, char ***argv, Err *err) {
    memset(p, 0, sizeof *p);
    p->world = 1;
    if (!launched_by_mpi()) return 0;
#ifdef MDMLAB_HAVE_MPI
    if (MPI_Init(argc, argv) != MPI_SUCCESS) return err_set(err, "MPI_Init failed");
    p->initialised = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &p->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &p->world);
    /* errors come back as codes (this file turns them into messages), not as aborts */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    return 0;
#else
    (void)argc, (void)argv;
    return err_set(err, "launched as an MPI job (mpirun/srun), but this mdmlab was built "
                        "without MPI: install libopenmpi-dev and rebuild (meson option mpi)");
#endif
}

void parallel_finalize(Parallel *p) {
#ifdef MDMLAB_HAVE_MPI
    if (p->initialised) MPI_Finalize();
#endif
    free(p->host);
    memset(p, 0, sizeof *p);
}

void parallel_abort(const Parallel *p, int code) {
#ifdef MDMLAB_HAVE_MPI
    if (p && p->initialised && p->world > 1) MPI_Abort(MPI_COMM_WORLD, code);
#else
    (void)p, (void)code;
#endif
}

#ifdef MDMLAB_HAVE_MPI
static int mpi_check(Parallel *p, int rc, const char *what, Err *err) {
    if (rc == MPI_SUCCESS) return 0;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return err_set(err, "rank %d of %d: %s failed: %.*s (another rank may have died)", p->rank,
                   p->world, what, len, msg);
}

/* x[0..n) summed over ranks in place, in chunks (MPI counts are ints), timed into comm_s. */
static int sum_in_place(Parallel *p, void *x, size_t n, MPI_Datatype type, size_t size, Err *err) {
    if (p->world <= 1) return 0;
    double t0 = now_seconds();
    int rc = MPI_SUCCESS;
    for (size_t at = 0; at < n && rc == MPI_SUCCESS; at += 1u << 30) {
        size_t len = n - at < (1u << 30) ? n - at : (1u << 30);
        rc = MPI_Allreduce(MPI_IN_PLACE, (char *)x + at * size, (int)len, type, MPI_SUM,
                           MPI_COMM_WORLD);
    }
    p->comm_s += now_seconds() - t0;
    return mpi_check(p, rc, "MPI_Allreduce", err);
}

int parallel_sum_doubles(Parallel *p, double *x, int n, Err *err) {
    return sum_in_place(p, x, (size_t)n, MPI_DOUBLE, sizeof(double), err);
}

int parallel_sum_floats(Parallel *p, float *x, size_t n, Err *err) {
    return sum_in_place(p, x, n, MPI_FLOAT, sizeof(float), err);
}

int parallel_gather_floats(Parallel *p, float *all, size_t n_each, Err *err) {
    if (p->world <= 1) return 0;
    double t0 = now_seconds();
    int rc = MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all, (int)n_each, MPI_FLOAT,
                           MPI_COMM_WORLD);
    p->comm_s += now_seconds() - t0;
    return mpi_check(p, rc, "MPI_Allgather", err);
}

int parallel_barrier(Parallel *p, Err *err) {
    if (p->world <= 1) return 0;
    return mpi_check(p, MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier", err);
}
#else
/* Without MPI a process is always rank 0 of 1: every collective is the identity. */
int parallel_sum_doubles(Parallel *p, double *x, int n, Err *err) {
    (void)p, (void)x, (void)n, (void)err;
    return 0;
}

int parallel_sum_floats(Parallel *p, float *x, size_t n, Err *err) {
    (void)p, (void)x, (void)n, (void)err;
    return 0;
}

int parallel_gather_floats(Parallel *p, float *all, size_t n_each, Err *err) {
    (void)p, (void)all, (void)n_each, (void)err;
    return 0;
}

int parallel_barrier(Parallel *p, Err *err) {
    (void)p, (void)err;
    return 0;
}
#endif
