/* The reference backend: matmul written out in plain C, the readable definition of the op
 * that the other backends are tested against. The loop order is i-p-j ("axpy" form) so
 * the inner loop runs along contiguous rows of op(B) and C and vectorizes; a transposed B
 * is first copied into row-major op(B). Rows of C are split into blocks over OpenMP, and
 * the reduction dimension is walked in fixed blocks so a block of op(B) stays in cache.
 * Each element of C is summed by one thread in ascending p, whatever the thread count. */
#include "cpu_ops.h"

#include <stdlib.h>

enum {
    ROW_BLOCK = 16, /* rows of C per parallel task */
    K_BLOCK = 256   /* reduction steps per pass over a row block */
};

static int ref_create(Backend *be, Err *err) {
    (void)err;
    be->impl = NULL;
    return 0;
}

static void ref_destroy(Backend *be) {
    be->impl = NULL;
}

/* c[j] = beta * c[j], where beta == 0 overwrites (even NaN). */
static void scale_row(float *c, int n, float beta) {
    if (beta == 0.0f) {
        for (int j = 0; j < n; j++) c[j] = 0.0f;
    } else if (beta != 1.0f) {
        for (int j = 0; j < n; j++) c[j] *= beta;
    }
}

/* Element (i, p) of op(A): a[i*lda + p], or a[p*lda + i] when trans_a. */
static inline float op_a(const float *a, int lda, int trans_a, int i, int p) {
    return trans_a ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
}

/* c[i0..i1)[:] += alpha * op(A)[i, p0..p1) @ opb[p0..p1)[:], opb row-major with leading
 * dimension ldo. Four steps of p per pass over the row of C (a quarter of the loads and
 * stores of C); each step is still added in order of p. */
CPU_KERNEL
static void accumulate_rows(float *c, int ldc, const float *a, int lda, int trans_a,
                            const float *opb, long ldo, int i0, int i1, int p0, int p1, int n,
                            float alpha) {
    for (int i = i0; i < i1; i++) {
        float *restrict crow = c + (size_t)i * ldc;
        int p = p0;
        for (; p + 4 <= p1; p += 4) {
            float a0 = alpha * op_a(a, lda, trans_a, i, p);
            float a1 = alpha * op_a(a, lda, trans_a, i, p + 1);
            float a2 = alpha * op_a(a, lda, trans_a, i, p + 2);
            float a3 = alpha * op_a(a, lda, trans_a, i, p + 3);
            const float *restrict b0 = opb + (size_t)p * ldo, *restrict b1 = b0 + ldo;
            const float *restrict b2 = b1 + ldo, *restrict b3 = b2 + ldo;
            for (int j = 0; j < n; j++)
                crow[j] = (((crow[j] + a0 * b0[j]) + a1 * b1[j]) + a2 * b2[j]) + a3 * b3[j];
        }
        for (; p < p1; p++) {
            float ap = alpha * op_a(a, lda, trans_a, i, p);
            const float *restrict brow = opb + (size_t)p * ldo;
            for (int j = 0; j < n; j++) crow[j] += ap * brow[j];
        }
    }
}

/* opb (k x n, row-major, dense) = B^T for B stored n x k with leading dimension ldb. */
static void transpose_b(float *opb, const float *b, int ldb, int n, int k) {
    for (int p = 0; p < k; p++)
        for (int j = 0; j < n; j++) opb[(size_t)p * n + j] = b[(size_t)j * ldb + p];
}

static void ref_matmul(Backend *be, const MatmulArgs *g) {
    if (g->batch <= 0 || g->m <= 0 || g->n <= 0) return;
    int accumulate = g->alpha != 0.0f && g->k > 0;
    /* op(B) of every batch item as row-major k x n: B itself, or a transposed copy. */
    float *opb_copy = NULL;
    if (accumulate && g->trans_b) {
        opb_copy = cpu_scratch(be, "matmul", (size_t)g->batch * g->k * g->n * sizeof(float));
        if (!opb_copy) return;
#pragma omp parallel for num_threads(be->threads) schedule(static)
        for (int bi = 0; bi < g->batch; bi++)
            transpose_b(opb_copy + (size_t)bi * g->k * g->n, g->b + bi * g->stride_b, g->ldb, g->n,
                        g->k);
    }
    long ldo = g->trans_b ? g->n : g->ldb;
    long stride_o = g->trans_b ? (long)g->k * g->n : g->stride_b;
    const float *opb = g->trans_b ? opb_copy : g->b;

    int row_blocks = (g->m + ROW_BLOCK - 1) / ROW_BLOCK;
    long tasks = (long)g->batch * row_blocks;
#pragma omp parallel for num_threads(be->threads) schedule(static)
    for (long t = 0; t < tasks; t++) {
        int bi = (int)(t / row_blocks), i0 = (int)(t % row_blocks) * ROW_BLOCK;
        int i1 = i0 + ROW_BLOCK < g->m ? i0 + ROW_BLOCK : g->m;
        float *c = g->c + bi * g->stride_c;
        for (int i = i0; i < i1; i++) scale_row(c + (size_t)i * g->ldc, g->n, g->beta);
        if (!accumulate) continue;
        for (int p0 = 0; p0 < g->k; p0 += K_BLOCK) {
            int p1 = p0 + K_BLOCK < g->k ? p0 + K_BLOCK : g->k;
            accumulate_rows(c, g->ldc, g->a + bi * g->stride_a, g->lda, g->trans_a,
                            opb + bi * stride_o, ldo, i0, i1, p0, p1, g->n, g->alpha);
        }
    }
    free(opb_copy);
}

const BackendOps backend_ref_ops = {
    .name = "ref",
    .description = "plain C reference (readable matmul, OpenMP)",
    .create = ref_create,
    .destroy = ref_destroy,
    .matmul = ref_matmul,
    CPU_OPS_COMMON,
};
