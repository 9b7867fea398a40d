/* The backends compiled into this build, in order of preference for "auto": fastest first
 * on the Sudoku paper model. Measured on a 2-core AVX-512 EPYC, 2 threads, matmul
 * GFLOP/s on the linear layer 5184x768x256 (y = x W^T / dx = dy W / dW += dy^T x) and on
 * the attention batch 256 x 162x162x32: oneDNN 327/400/370 and 224, OpenBLAS 201/201/191
 * and 150, ref 99/106/97 and 92; a whole training step 0.82 s, 1.42 s and 2.61 s. */
#include "backend.h"

#include <omp.h>
#include <string.h>

static const BackendOps *const backends[] = {
#ifdef MDMLAB_HAVE_ONEDNN
    &backend_onednn_ops,
#endif
#ifdef MDMLAB_HAVE_OPENBLAS
    &backend_openblas_ops,
#endif
    &backend_ref_ops,
};

#ifdef MDMLAB_HAVE_ONEDNN
#define NAME_ONEDNN "onednn, "
#else
#define NAME_ONEDNN ""
#endif
#ifdef MDMLAB_HAVE_OPENBLAS
#define NAME_OPENBLAS "openblas, "
#else
#define NAME_OPENBLAS ""
#endif

int backend_count(void) {
    return (int)(sizeof backends / sizeof backends[0]);
}

const BackendOps *backend_at(int i) {
    return i >= 0 && i < backend_count() ? backends[i] : NULL;
}

const BackendOps *backend_find(const char *name) {
    if (!name) return NULL;
    for (int i = 0; i < backend_count(); i++)
        if (strcmp(backends[i]->name, name) == 0) return backends[i];
    return NULL;
}

const char *backend_names(void) {
    return NAME_ONEDNN NAME_OPENBLAS "ref";
}

int backend_create(Backend *be, const char *name, int threads, Err *err) {
    memset(be, 0, sizeof *be);
    const BackendOps *ops = !name || strcmp(name, "auto") == 0 ? backend_at(0) : backend_find(name);
    if (!ops) return err_set(err, "unknown backend '%s' (built: %s)", name, backend_names());
    be->ops = ops;
    be->threads = threads > 0 ? threads : omp_get_num_procs();
    if (ops->create(be, err) != 0) {
        memset(be, 0, sizeof *be);
        return -1;
    }
    return 0;
}

void backend_destroy(Backend *be) {
    if (be->ops && be->ops->destroy) be->ops->destroy(be);
    memset(be, 0, sizeof *be);
}
