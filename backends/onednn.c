/* oneDNN backend: matmul runs oneDNN (v2 C API) matmul primitives; every other op is
 * cpu_ops.
 *
 * A primitive is created once per distinct matmul call shape (every MatmulArgs field but
 * the pointers) and kept in a cache in be->impl; each call binds the data pointers with
 * dnnl_memory_set_data_handle and executes. Transposes, leading dimensions and batch
 * strides are memory-descriptor strides (a zero batch stride broadcasts one matrix), alpha
 * is an output scale and beta != 0 a sum post-op. A oneDNN call that fails (a primitive
 * it refuses to create, a failed execution) is recorded with the shape as the backend's
 * sticky error (backend_fail) and the call returns with C unspecified.
 *
 * Threads: Debian's libdnnl uses the OpenMP runtime, which sizes its parallel regions by
 * the calling thread's omp_get_max_threads(). There is no per-primitive thread setting,
 * so creation and execution run with that per-thread value set to be->threads and put
 * back right after (nothing outside the call sees the change).
 * A backend is used from one thread at a time (cached memory objects are rebound). */
#ifdef MDMLAB_HAVE_ONEDNN

#include "cpu_ops.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>

enum { CACHE_MAX = 128 }; /* primitives kept; the oldest is dropped beyond this */

typedef struct MatmulKey {
    int trans_a, trans_b, m, n, k, lda, ldb, ldc, batch;
    long stride_a, stride_b, stride_c;
    float alpha, beta;
} MatmulKey;

typedef struct MatmulPrim {
    MatmulKey key;
    dnnl_primitive_t prim;
    dnnl_memory_t src, weights, dst;
} MatmulPrim;

typedef struct Onednn {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    MatmulPrim *cache; /* CACHE_MAX slots, oldest first */
    int cached;
} Onednn;

/* Records the failed oneDNN call `what` of a matmul of this shape as be's sticky error. */
static void fail(Backend *be, const char *what, dnnl_status_t st, const MatmulKey *k) {
    backend_fail(be,
                 "matmul: %s failed (oneDNN status %d) for trans_a=%d trans_b=%d m=%d n=%d k=%d "
                 "lda=%d ldb=%d ldc=%d batch=%d strides=%ld,%ld,%ld alpha=%g beta=%g",
                 what, (int)st, k->trans_a, k->trans_b, k->m, k->n, k->k, k->lda, k->ldb, k->ldc,
                 k->batch, k->stride_a, k->stride_b, k->stride_c, k->alpha, k->beta);
}

static MatmulKey key_of(const MatmulArgs *g) {
    MatmulKey k = {.trans_a = g->trans_a != 0,
                   .trans_b = g->trans_b != 0,
                   .m = g->m,
                   .n = g->n,
                   .k = g->k,
                   .lda = g->lda,
                   .ldb = g->ldb,
                   .ldc = g->ldc,
                   .batch = g->batch,
                   .stride_a = g->stride_a,
                   .stride_b = g->stride_b,
                   .stride_c = g->stride_c,
                   .alpha = g->alpha,
                   .beta = g->beta};
    if (k.batch == 1) k.stride_a = k.stride_b = k.stride_c = 0; /* unused: share primitives */
    return k;
}

static int key_equal(const MatmulKey *x, const MatmulKey *y) {
    return x->trans_a == y->trans_a && x->trans_b == y->trans_b && x->m == y->m && x->n == y->n &&
           x->k == y->k && x->lda == y->lda && x->ldb == y->ldb && x->ldc == y->ldc &&
           x->batch == y->batch && x->stride_a == y->stride_a && x->stride_b == y->stride_b &&
           x->stride_c == y->stride_c && x->alpha == y->alpha && x->beta == y->beta;
}

/* A (batch, rows, cols) view of a row-major matrix stored with leading dimension ld,
 * transposed when trans (then the storage is cols x rows). A zero batch stride with
 * batch > 1 broadcasts one matrix over the batch. */
static dnnl_status_t matrix_md(dnnl_memory_desc_t *md, int batch, long stride, int rows, int cols,
                               int ld, int trans) {
    dnnl_dims_t dims = {batch, rows, cols};
    dnnl_dims_t strides = {stride, trans ? 1 : ld, trans ? ld : 1};
    if (batch == 1 || stride == 0) {
        dims[0] = 1;
        strides[0] = (dnnl_dim_t)(trans ? cols : rows) * ld; /* any value; keep it dense */
    }
    return dnnl_memory_desc_init_by_strides(md, 3, dims, dnnl_f32, strides);
}

static void prim_destroy(MatmulPrim *p) {
    if (p->prim) dnnl_primitive_destroy(p->prim);
    if (p->src) dnnl_memory_destroy(p->src);
    if (p->weights) dnnl_memory_destroy(p->weights);
    if (p->dst) dnnl_memory_destroy(p->dst);
    p->prim = NULL;
    p->src = p->weights = p->dst = NULL;
}

static dnnl_status_t make_attr(dnnl_primitive_attr_t *attr, const MatmulKey *k) {
    dnnl_status_t st = dnnl_primitive_attr_create(attr);
    if (st != dnnl_success) return st;
    if (k->alpha != 1.0f) {
        st = dnnl_primitive_attr_set_output_scales(*attr, 1, 0, &k->alpha);
        if (st != dnnl_success) return st;
    }
    if (k->beta != 0.0f) {
        dnnl_post_ops_t po;
        st = dnnl_post_ops_create(&po);
        if (st != dnnl_success) return st;
        st = dnnl_post_ops_append_sum(po, k->beta);
        if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(*attr, po);
        dnnl_post_ops_destroy(po);
    }
    return st;
}

/* The primitive and its three memory objects of p (zeroed), no data bound yet. On failure
 * returns the status with the failed call in *what, and p holds nothing. */
static dnnl_status_t prim_create(MatmulPrim *p, const MatmulKey *k, dnnl_engine_t engine,
                                 const char **what) {
    dnnl_memory_desc_t src_md, wei_md, dst_md;
    *what = "memory descriptor";
    dnnl_status_t st = matrix_md(&src_md, k->batch, k->stride_a, k->m, k->k, k->lda, k->trans_a);
    if (st == dnnl_success)
        st = matrix_md(&wei_md, k->batch, k->stride_b, k->k, k->n, k->ldb, k->trans_b);
    if (st == dnnl_success) st = matrix_md(&dst_md, k->batch, k->stride_c, k->m, k->n, k->ldc, 0);
    if (st != dnnl_success) return st;

    dnnl_matmul_desc_t desc;
    *what = "dnnl_matmul_desc_init";
    if ((st = dnnl_matmul_desc_init(&desc, &src_md, &wei_md, NULL, &dst_md)) != dnnl_success)
        return st;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    *what = "primitive attributes";
    st = make_attr(&attr, k);
    if (st == dnnl_success) {
        *what = "dnnl_primitive_desc_create";
        st = dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL);
    }
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) return st;
    *what = "dnnl_primitive_create";
    st = dnnl_primitive_create(&p->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    if (st == dnnl_success) {
        *what = "dnnl_memory_create";
        if ((st = dnnl_memory_create(&p->src, &src_md, engine, DNNL_MEMORY_NONE)) == dnnl_success &&
            (st = dnnl_memory_create(&p->weights, &wei_md, engine, DNNL_MEMORY_NONE)) ==
                dnnl_success)
            st = dnnl_memory_create(&p->dst, &dst_md, engine, DNNL_MEMORY_NONE);
    }
    if (st != dnnl_success) {
        prim_destroy(p);
        return st;
    }
    p->key = *k;
    return dnnl_success;
}

/* The cached primitive for this key, created (and the oldest evicted) when missing; NULL
 * when creation failed (*st and *what say how). */
static MatmulPrim *prim_lookup(Onednn *o, const MatmulKey *k, dnnl_status_t *st,
                               const char **what) {
    for (int i = o->cached - 1; i >= 0; i--)
        if (key_equal(&o->cache[i].key, k)) return &o->cache[i];
    if (o->cached == CACHE_MAX) {
        prim_destroy(&o->cache[0]);
        for (int i = 1; i < CACHE_MAX; i++) o->cache[i - 1] = o->cache[i];
        o->cached--;
    }
    MatmulPrim *p = &o->cache[o->cached];
    *p = (MatmulPrim){0};
    if ((*st = prim_create(p, k, o->engine, what)) != dnnl_success) return NULL;
    o->cached++;
    return p;
}

static void onednn_destroy(Backend *be) {
    Onednn *o = be->impl;
    if (!o) return;
    for (int i = 0; i < o->cached; i++) prim_destroy(&o->cache[i]);
    free(o->cache);
    if (o->stream) dnnl_stream_destroy(o->stream);
    if (o->engine) dnnl_engine_destroy(o->engine);
    free(o);
    be->impl = NULL;
}

static int onednn_create(Backend *be, Err *err) {
    Onednn *o = calloc(1, sizeof *o);
    be->impl = o;
    if (!o || !(o->cache = calloc(CACHE_MAX, sizeof *o->cache))) {
        onednn_destroy(be);
        return err_set(err, "onednn: out of memory");
    }
    dnnl_status_t st = dnnl_engine_create(&o->engine, dnnl_cpu, 0);
    if (st == dnnl_success)
        st = dnnl_stream_create(&o->stream, o->engine, dnnl_stream_default_flags);
    if (st != dnnl_success) {
        onednn_destroy(be);
        return err_set(err, "onednn: cannot create a CPU engine and stream (status %d)", (int)st);
    }
    return 0;
}

/* C = beta * C over the batch (beta == 0 overwrites), for calls with nothing to multiply. */
static void scale_c(const MatmulArgs *g) {
    for (int bi = 0; bi < g->batch; bi++)
        for (int i = 0; i < g->m; i++) {
            float *row = g->c + bi * g->stride_c + (size_t)i * g->ldc;
            for (int j = 0; j < g->n; j++) row[j] = g->beta == 0.0f ? 0.0f : g->beta * row[j];
        }
}

/* Binds g's pointers to p and runs it to completion; on failure *what names the call. */
static dnnl_status_t prim_execute(Onednn *o, MatmulPrim *p, const MatmulArgs *g,
                                  const char **what) {
    dnnl_status_t st;
    *what = "dnnl_memory_set_data_handle";
    if ((st = dnnl_memory_set_data_handle(p->src, (void *)g->a)) != dnnl_success ||
        (st = dnnl_memory_set_data_handle(p->weights, (void *)g->b)) != dnnl_success ||
        (st = dnnl_memory_set_data_handle(p->dst, g->c)) != dnnl_success)
        return st;
    dnnl_exec_arg_t args[3] = {
        {DNNL_ARG_SRC, p->src}, {DNNL_ARG_WEIGHTS, p->weights}, {DNNL_ARG_DST, p->dst}};
    *what = "dnnl_primitive_execute";
    if ((st = dnnl_primitive_execute(p->prim, o->stream, 3, args)) != dnnl_success) return st;
    *what = "dnnl_stream_wait";
    return dnnl_stream_wait(o->stream);
}

static void onednn_matmul(Backend *be, const MatmulArgs *g) {
    if (g->batch <= 0 || g->m <= 0 || g->n <= 0) return;
    if (g->k <= 0 || g->alpha == 0.0f) {
        scale_c(g);
        return;
    }
    Onednn *o = be->impl;
    int saved_threads = omp_get_max_threads();
    if (saved_threads != be->threads) omp_set_num_threads(be->threads);

    MatmulKey key = key_of(g);
    const char *what = NULL;
    dnnl_status_t st;
    MatmulPrim *p = prim_lookup(o, &key, &st, &what);
    if (p) st = prim_execute(o, p, g, &what);
    if (st != dnnl_success) fail(be, what, st, &key);

    if (saved_threads != be->threads) omp_set_num_threads(saved_threads);
}

const BackendOps backend_onednn_ops = {
    .name = "onednn",
    .description = "oneDNN matmul primitives (cached per shape), shared OpenMP ops",
    .create = onednn_create,
    .destroy = onednn_destroy,
    .matmul = onednn_matmul,
    CPU_OPS_COMMON,
};

#endif
