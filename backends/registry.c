/* The backends compiled into this build, in order of preference for "auto": fastest first
 * on the Sudoku paper model. Measured on a 2-core AVX-512 EPYC, 2 threads, matmul
 * GFLOP/s on the linear layer 5184x768x256 (y = x W^T / dx = dy W / dW += dy^T x) and on
 * the attention batch 256 x 162x162x32: oneDNN 327/400/370 and 224, OpenBLAS 201/201/191
 * and 150, ref 99/106/97 and 92; a whole training step 0.82 s, 1.42 s and 2.61 s. */
#include "backend.h"

#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The registry. Adding a backend = its file, one row here (inside an #ifdef when it needs an
 * optional library) and its Meson lines. Every name list (help, errors, bench, keys) is derived
 * from this table; the tests check that each row's name is its ops' name. */
#ifdef MDMLAB_HAVE_ONEDNN
#define ONEDNN_ROW(X) X(backend_onednn_ops, "onednn")
#else
#define ONEDNN_ROW(X)
#endif
#ifdef MDMLAB_HAVE_OPENBLAS
#define OPENBLAS_ROW(X) X(backend_openblas_ops, "openblas")
#else
#define OPENBLAS_ROW(X)
#endif
#define BACKEND_TABLE(X) ONEDNN_ROW(X) OPENBLAS_ROW(X) X(backend_ref_ops, "ref")

#define BACKEND_AS_DECLARATION(ops, name) extern const BackendOps ops;
#define BACKEND_AS_ENTRY(ops, name)       &ops,
#define BACKEND_AS_LISTED_NAME(ops, name) ", " name

BACKEND_TABLE(BACKEND_AS_DECLARATION)
static const BackendOps *const backends[] = {BACKEND_TABLE(BACKEND_AS_ENTRY)};
/* ", a, b" built at compile time; backend_names() skips the leading separator. */
static const char backend_name_list[] = BACKEND_TABLE(BACKEND_AS_LISTED_NAME);

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
    return backend_name_list + 2;
}

int backend_threads_for_load(int cores, double load1, int running) {
    /* busy: the 1-minute load, but no more than the entities running now besides this one, so
     * load that a finished job left in the average and a momentary burst are both ignored */
    int busy = (int)(load1 + 0.5), now = running - 1 > 0 ? running - 1 : 0;
    if (busy > now) busy = now;
    return cores - busy >= 1 ? cores - busy : 1;
}

int backend_default_threads(void) {
    int cores = omp_get_num_procs();
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f) return cores;
    double load1 = 0.0;
    int running = 0, total = 0;
    int got = fscanf(f, "%lf %*f %*f %d/%d", &load1, &running, &total);
    fclose(f);
    return got == 3 ? backend_threads_for_load(cores, load1, running) : cores;
}

int backend_create(Backend *be, const char *name, int threads, Err *err) {
    memset(be, 0, sizeof *be);
    const BackendOps *ops = !name || strcmp(name, "auto") == 0 ? backend_at(0) : backend_find(name);
    if (!ops) return err_set(err, "unknown backend '%s' (built: %s)", name, backend_names());
    be->ops = ops;
    be->threads = threads > 0 ? threads : backend_default_threads();
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

void backend_fail(Backend *be, const char *fmt, ...) {
    if (be->status != 0) return;
    be->status = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(be->status_msg, sizeof be->status_msg, fmt, ap);
    va_end(ap);
}

int backend_check(const Backend *be, Err *err) {
    if (be->status == 0) return 0;
    return err_set(err, "backend '%s': %s", be->ops ? be->ops->name : "?", be->status_msg);
}
