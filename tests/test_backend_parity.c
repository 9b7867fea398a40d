/* Every built backend against the reference backend, and the registry.
 *  - matmul on the Sudoku model's shapes (full size: the linear layer 5184x768x256 in the
 *    three transpose patterns of forward and backward, and the batched attention products
 *    256 x (162x162x32, 162x32x162) with the model's strides and alpha) and on small odd
 *    shapes covering all four transpose cases, padded leading dimensions, batch strides,
 *    a broadcast (zero-stride) operand, alpha, beta, beta = 0 over NaN, k = 0, alpha = 0:
 *    norm-wise relative error to ref <= 1e-5 (entries outside C's m x n never written);
 *  - a second identical call gives bit-identical results;
 *  - every op of every backend is present; create/destroy work; "auto" is the first
 *    backend; threads <= 0 means all cores; unknown names fail with a message that names
 *    the built backends. */
#include "backends/backend.h"
#include "check.h"

#include <omp.h>
#include <string.h>

typedef struct Shape {
    const char *name;
    int ta, tb, m, n, k, batch;
    int pad;       /* extra columns in every leading dimension */
    long gap;      /* extra elements between batch items */
    int broadcast; /* stride_b = 0: one B for the whole batch */
    float alpha, beta;
    int nan_c; /* C starts as NaN (only with beta = 0) */
} Shape;

static const Shape shapes[] = {
    /* the model, full size */
    {"linear y = x W^T", 0, 1, 5184, 768, 256, 1, 0, 0, 0, 1.0f, 0.0f, 1},
    {"linear dx = dy W", 0, 0, 5184, 256, 768, 1, 0, 0, 0, 1.0f, 0.0f, 0},
    {"linear dW += dy^T x", 1, 0, 768, 256, 5184, 1, 0, 0, 0, 1.0f, 1.0f, 0},
    {"head y = x W^T", 0, 1, 5184, 11, 256, 1, 0, 0, 0, 1.0f, 0.0f, 0},
    {"scores = q k^T / sqrt(hd)", 0, 1, 162, 162, 32, 256, 0, 0, 0, 0.1767766953f, 0.0f, 0},
    {"y = att v", 0, 0, 162, 32, 162, 256, 0, 0, 0, 1.0f, 0.0f, 0},
    {"datt = dy v^T", 0, 1, 162, 162, 32, 256, 0, 0, 0, 1.0f, 0.0f, 0},
    {"dv = att^T dy", 1, 0, 162, 32, 162, 256, 0, 0, 0, 1.0f, 0.0f, 0},
    {"dq = dscores k", 0, 0, 162, 32, 162, 64, 0, 0, 0, 0.1767766953f, 0.0f, 0},
    {"dk = dscores^T q", 1, 0, 162, 32, 162, 64, 0, 0, 0, 0.1767766953f, 0.0f, 0},
    /* odd shapes, all transpose cases */
    {"NN odd", 0, 0, 37, 29, 45, 3, 3, 11, 0, 0.5f, -1.5f, 0},
    {"NT odd", 0, 1, 37, 29, 45, 3, 3, 11, 0, 0.5f, 0.0f, 1},
    {"TN odd", 1, 0, 37, 29, 45, 3, 3, 11, 0, -2.0f, 1.0f, 0},
    {"TT odd", 1, 1, 37, 29, 45, 3, 3, 11, 0, 1.0f, 0.25f, 0},
    {"TT beta 0", 1, 1, 33, 70, 300, 2, 1, 0, 0, 1.0f, 0.0f, 1},
    {"NT broadcast B", 0, 1, 20, 24, 16, 5, 2, 3, 1, 1.0f, 0.0f, 0},
    {"NN broadcast B", 0, 0, 20, 24, 16, 5, 0, 0, 1, 1.0f, 1.0f, 0},
    {"single row", 0, 1, 1, 300, 64, 2, 0, 0, 0, 1.0f, 0.0f, 0},
    {"k = 0", 0, 0, 8, 9, 0, 2, 1, 0, 0, 1.0f, 0.5f, 0},
    {"alpha = 0", 1, 0, 8, 9, 10, 2, 1, 0, 0, 0.0f, 0.0f, 1},
};

/* A matmul problem in host memory: operands, the starting C and the call arguments. */
typedef struct Problem {
    MatmulArgs args; /* pointers filled per backend */
    long na, nb, nc;
    float *a, *b, *c0;
} Problem;

static Problem problem_make(const Shape *s, Rng *r) {
    Problem p = {0};
    int rows_a = s->ta ? s->k : s->m, cols_a = s->ta ? s->m : s->k;
    int rows_b = s->tb ? s->n : s->k, cols_b = s->tb ? s->k : s->n;
    MatmulArgs *g = &p.args;
    *g = (MatmulArgs){.trans_a = s->ta,
                      .trans_b = s->tb,
                      .m = s->m,
                      .n = s->n,
                      .k = s->k,
                      .lda = cols_a + s->pad,
                      .ldb = cols_b + s->pad,
                      .ldc = s->n + s->pad,
                      .batch = s->batch,
                      .alpha = s->alpha,
                      .beta = s->beta};
    g->stride_a = (long)rows_a * g->lda + s->gap;
    g->stride_b = s->broadcast ? 0 : (long)rows_b * g->ldb + s->gap;
    g->stride_c = (long)s->m * g->ldc + s->gap;
    p.na = g->stride_a * s->batch;
    p.nb = s->broadcast ? (long)rows_b * g->ldb : g->stride_b * s->batch;
    p.nc = g->stride_c * s->batch;
    p.a = malloc((size_t)p.na * sizeof(float));
    p.b = malloc((size_t)p.nb * sizeof(float));
    p.c0 = malloc((size_t)p.nc * sizeof(float));
    for (long i = 0; i < p.na; i++) p.a[i] = (float)(2.0 * rng_uniform(r) - 1.0);
    for (long i = 0; i < p.nb; i++) p.b[i] = (float)(2.0 * rng_uniform(r) - 1.0);
    for (long i = 0; i < p.nc; i++) p.c0[i] = s->nan_c ? NAN : (float)(2.0 * rng_uniform(r) - 1.0);
    return p;
}

static void problem_free(Problem *p) {
    free(p->a), free(p->b), free(p->c0);
}

/* Run the problem on a backend; returns C (all nc entries, padding included). */
static float *problem_run(Backend *be, const Problem *p, int times) {
    float *a = be->ops->alloc(be, (size_t)p->na * sizeof(float));
    float *b = be->ops->alloc(be, (size_t)p->nb * sizeof(float));
    float *c = be->ops->alloc(be, (size_t)p->nc * sizeof(float));
    float *out = malloc((size_t)p->nc * sizeof(float));
    if (!a || !b || !c || !out) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    be->ops->upload(be, a, p->a, (size_t)p->na * sizeof(float));
    be->ops->upload(be, b, p->b, (size_t)p->nb * sizeof(float));
    MatmulArgs g = p->args;
    g.a = a, g.b = b, g.c = c;
    for (int t = 0; t < times; t++) {
        be->ops->upload(be, c, p->c0, (size_t)p->nc * sizeof(float));
        be->ops->matmul(be, &g);
    }
    be->ops->sync(be);
    be->ops->download(be, out, c, (size_t)p->nc * sizeof(float));
    be->ops->free(be, a), be->ops->free(be, b), be->ops->free(be, c);
    return out;
}

static int in_result(const MatmulArgs *g, long e) {
    long i = e % g->stride_c / g->ldc, j = e % g->stride_c % g->ldc;
    return i < g->m && j < g->n;
}

/* ||got - want|| / ||want|| over C's m x n entries; padding must be untouched. */
static void compare(const char *backend, const Shape *s, const Problem *p, const float *got,
                    const float *want) {
    double diff = 0.0, norm = 0.0;
    int finite = 1, untouched = 1;
    for (long e = 0; e < p->nc; e++) {
        if (!in_result(&p->args, e)) {
            untouched &= memcmp(&got[e], &p->c0[e], sizeof(float)) == 0;
            continue;
        }
        finite &= isfinite(got[e]);
        diff += ((double)got[e] - want[e]) * ((double)got[e] - want[e]);
        norm += (double)want[e] * want[e];
    }
    double rel = norm > 0 ? sqrt(diff / norm) : sqrt(diff);
    CHECK_MSG(finite, "%s %s: non-finite entries", backend, s->name);
    CHECK_MSG(rel <= 1e-5, "%s %s: relative error to ref %.3g", backend, s->name, rel);
    CHECK_MSG(untouched, "%s %s: wrote outside C's m x n entries", backend, s->name);
}

static void test_matmul_parity(Backend *ref, Backend *be) {
    Rng r;
    rng_seed(&r, 2024, 0);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const Shape *s = &shapes[i];
        Problem p = problem_make(s, &r);
        float *want = problem_run(ref, &p, 1);
        float *got = problem_run(be, &p, 1);
        compare(be->ops->name, s, &p, got, want);
        if (i < 10) { /* the model's shapes: a second call (cached primitive) is identical */
            float *again = problem_run(be, &p, 2);
            CHECK_MSG(memcmp(got, again, (size_t)p.nc * sizeof(float)) == 0,
                      "%s %s: repeated call is not bit-identical", be->ops->name, s->name);
            free(again);
        }
        free(want), free(got);
        problem_free(&p);
    }
}

static void test_ops_present(const BackendOps *o) {
    int all = o->name && o->description && o->create && o->destroy && o->alloc && o->free &&
              o->upload && o->download && o->copy && o->zero && o->sync && o->matmul &&
              o->embedding_forward && o->embedding_backward && o->rmsnorm_forward &&
              o->rmsnorm_backward && o->bias_forward && o->bias_backward &&
              o->qkv_split_rope_forward && o->qkv_split_rope_backward && o->heads_merge_forward &&
              o->heads_merge_backward && o->softmax_forward && o->softmax_backward &&
              o->swiglu_forward && o->swiglu_backward && o->add && o->xent_forward_backward &&
              o->sumsq && o->scale && o->adamw && o->ema_update;
    CHECK_MSG(all, "backend %s fills every op", o->name ? o->name : "?");
}

static void test_registry(void) {
    int n = backend_count();
    CHECK(n >= 1);
    CHECK_MSG(strcmp(backend_at(n - 1)->name, "ref") == 0, "ref is the last resort");
    CHECK(backend_at(-1) == NULL && backend_at(n) == NULL);
    for (int i = 0; i < n; i++) {
        const BackendOps *o = backend_at(i);
        CHECK_MSG(backend_find(o->name) == o, "backend_find(%s)", o->name);
        CHECK_MSG(strstr(backend_names(), o->name) != NULL, "backend_names lists %s", o->name);
    }
    CHECK(backend_find("nope") == NULL);
    CHECK(backend_find("") == NULL);
    CHECK(backend_find(NULL) == NULL);

    Backend be;
    Err err = {{0}};
    CHECK(backend_create(&be, "nope", 1, &err) != 0);
    CHECK_MSG(strstr(err.msg, "nope") != NULL, "message names the request: %s", err.msg);
    for (int i = 0; i < n; i++)
        CHECK_MSG(strstr(err.msg, backend_at(i)->name) != NULL, "message lists %s: %s",
                  backend_at(i)->name, err.msg);
    CHECK(be.ops == NULL && be.impl == NULL);

    CHECK(backend_create(&be, "auto", 0, &err) == 0);
    CHECK(be.ops == backend_at(0));
    CHECK_MSG(be.threads == omp_get_num_procs(), "threads 0 -> %d cores, got %d",
              omp_get_num_procs(), be.threads);
    backend_destroy(&be);
    CHECK(be.ops == NULL && be.impl == NULL);

    for (int i = 0; i < n; i++) { /* create, use, destroy, twice */
        for (int round = 0; round < 2; round++) {
            CHECK(backend_create(&be, backend_at(i)->name, 1, &err) == 0);
            CHECK(be.threads == 1);
            float *p = be.ops->alloc(&be, 64);
            CHECK(p != NULL);
            be.ops->free(&be, p);
            backend_destroy(&be);
        }
    }
}

int main(void) {
    test_registry();
    Backend ref;
    Err err;
    if (backend_create(&ref, "ref", 2, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (int i = 0; i < backend_count(); i++) {
        const BackendOps *o = backend_at(i);
        test_ops_present(o);
        Backend be;
        if (backend_create(&be, o->name, 2, &err) != 0) {
            CHECK_MSG(0, "backend_create(%s): %s", o->name, err.msg);
            continue;
        }
        double t0 = omp_get_wtime();
        test_matmul_parity(&ref, &be);
        printf("%s: matmul parity checked in %.2f s\n", o->name, omp_get_wtime() - t0);
        backend_destroy(&be);
    }
    backend_destroy(&ref);
    return check_summary("backend_parity");
}
