/* OpenBLAS backend: matmul is cblas_sgemm (row-major); every other op is cpu_ops.
 *
 * OpenBLAS runs single-threaded (create sets its process-wide thread count to 1) and the
 * parallelism is ours, on the same OpenMP threads as cpu_ops: a batch is spread over
 * threads item by item, a single product (batch < threads) is cut into one block of rows
 * of C per thread. Measured on a 2-core EPYC (Sudoku model shapes): the attention batches
 * run 1.5x faster than a loop of threaded sgemm calls, the linear layers as fast as
 * threaded sgemm, and a whole training step 1.35x faster than with OpenBLAS's own pthreads,
 * whose workers competed for the cores with the OpenMP workers of the other ops.
 * Every block is one sgemm call fixed by the shape and thread count, so results are
 * deterministic for a given thread count. Not safe to call from several threads at once. */
#ifdef MDMLAB_HAVE_OPENBLAS

#include "cpu_ops.h"

#include <cblas.h>

static int openblas_create(Backend *be, Err *err) {
    (void)err;
    openblas_set_num_threads(1);
    be->impl = NULL;
    return 0;
}

static void openblas_destroy(Backend *be) {
    be->impl = NULL;
}

/* Rows [i0, i1) of C for batch item bi. */
static void sgemm_rows(const MatmulArgs *g, int bi, int i0, int i1) {
    const float *a = g->a + bi * g->stride_a + (g->trans_a ? (size_t)i0 : (size_t)i0 * g->lda);
    cblas_sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans,
                g->trans_b ? CblasTrans : CblasNoTrans, i1 - i0, g->n, g->k, g->alpha, a, g->lda,
                g->b + bi * g->stride_b, g->ldb, g->beta,
                g->c + bi * g->stride_c + (size_t)i0 * g->ldc, g->ldc);
}

static void openblas_matmul(Backend *be, const MatmulArgs *g) {
    if (g->batch <= 0 || g->m <= 0 || g->n <= 0) return;
    int parts = g->batch >= be->threads ? 1 : be->threads;
    int rows = (g->m + parts - 1) / parts;
    rows = (rows + 15) / 16 * 16; /* keep blocks a multiple of the kernels' row tiles */
    long tasks = (long)g->batch * parts;
#pragma omp parallel for num_threads(be->threads) schedule(static)
    for (long t = 0; t < tasks; t++) {
        int bi = (int)(t / parts), i0 = (int)(t % parts) * rows;
        int i1 = i0 + rows < g->m ? i0 + rows : g->m;
        if (i0 < i1) sgemm_rows(g, bi, i0, i1);
    }
}

const BackendOps backend_openblas_ops = {
    .name = "openblas",
    .description = "OpenBLAS sgemm (single-threaded calls spread over OpenMP threads)",
    .create = openblas_create,
    .destroy = openblas_destroy,
    .matmul = openblas_matmul,
    CPU_OPS_COMMON,
};

#endif
