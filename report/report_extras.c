/* Likelihood and decoding-cost tables of a report (report_extras.h). */
#include "report_extras.h"

#include <math.h>
#include <stdlib.h>

/* Mean, min and max of the finite values added; NANs while there is none. */
typedef struct Spread {
    double mean, lo, hi;
    int n;
} Spread;

static void spread_add(Spread *s, double x) {
    if (!isfinite(x)) return;
    if (s->n == 0) {
        *s = (Spread){x, x, x, 1};
        return;
    }
    s->lo = x < s->lo ? x : s->lo;
    s->hi = x > s->hi ? x : s->hi;
    s->mean = (s->mean * s->n + x) / (s->n + 1);
    s->n++;
}

static Spread spread_none(void) {
    return (Spread){NAN, NAN, NAN, 0};
}

/* Which value of a run's extras: of its last ELBO row, or of its decode row at some T. */
typedef enum { F_NELBO, F_PPL, F_BPB, F_IDLE, F_NFE, F_ACC } Field;

static double elbo_field(const RunExtras *x, Field f) {
    if (!x->has_elbo) return NAN;
    return f == F_NELBO ? x->nelbo : f == F_PPL ? x->ppl_bound : x->bits_per_byte;
}

static const DecodeRow *decode_at(const RunExtras *x, double steps) {
    for (int d = 0; d < x->n_decode; d++)
        if (x->decode[d].steps == steps) return &x->decode[d];
    return NULL;
}

static double decode_field(const DecodeRow *d, Field f) {
    if (!d) return NAN;
    return f == F_IDLE ? d->idle_step_ratio : f == F_NFE ? d->nfe : d->accuracy;
}

static Spread method_elbo(const ExtrasMethod *m, Field f) {
    Spread s = spread_none();
    for (int r = 0; r < m->n_runs; r++) spread_add(&s, elbo_field(m->runs[r], f));
    return s;
}

static Spread method_decode(const ExtrasMethod *m, double steps, Field f) {
    Spread s = spread_none();
    for (int r = 0; r < m->n_runs; r++)
        spread_add(&s, decode_field(decode_at(m->runs[r], steps), f));
    return s;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The distinct T values of every run's decode rows, ascending; returns how many (out has
 * room for n methods' runs * RUN_DECODE_MAX). */
static int decode_steps(const ExtrasMethod *m, int n, double **out) {
    int total = 0;
    for (int i = 0; i < n; i++)
        for (int r = 0; r < m[i].n_runs; r++) total += m[i].runs[r]->n_decode;
    double *t = malloc((size_t)(total ? total : 1) * sizeof *t);
    *out = t;
    if (!t) return 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        for (int r = 0; r < m[i].n_runs; r++)
            for (int d = 0; d < m[i].runs[r]->n_decode; d++) t[k++] = m[i].runs[r]->decode[d].steps;
    qsort(t, (size_t)k, sizeof *t, cmp_double);
    int u = 0;
    for (int j = 0; j < k; j++)
        if (u == 0 || t[j] != t[u - 1]) t[u++] = t[j];
    return u;
}

static void num(StrBuf *sb, double x, const char *none) {
    if (!isfinite(x))
        sb_printf(sb, "%s", none);
    else
        sb_printf(sb, "%.6g", x);
}

int extras_decode_tsv(StrBuf *sb, const ExtrasMethod *m, int n) {
    double *steps;
    int k = decode_steps(m, n, &steps);
    if (k == 0) {
        free(steps);
        return 0;
    }
    sb_printf(sb, "# T");
    for (int i = 0; i < n; i++)
        sb_printf(sb, "\t%s idle mean\t%s idle min\t%s idle max", m[i].label, m[i].label,
                  m[i].label);
    sb_printf(sb, "\n");
    for (int j = 0; j < k; j++) {
        num(sb, steps[j], "NaN");
        for (int i = 0; i < n; i++) {
            Spread s = method_decode(&m[i], steps[j], F_IDLE);
            double v[3] = {s.mean, s.lo, s.hi};
            for (int c = 0; c < 3; c++) {
                sb_printf(sb, "\t");
                num(sb, v[c], "NaN");
            }
        }
        sb_printf(sb, "\n");
    }
    free(steps);
    return 1;
}

/* "mean [min, max]" */
static void md_spread(StrBuf *sb, Spread s) {
    num(sb, s.mean, "—");
    if (s.n > 1) {
        sb_printf(sb, " [");
        num(sb, s.lo, "");
        sb_printf(sb, ", ");
        num(sb, s.hi, "");
        sb_printf(sb, "]");
    }
}

static int any_elbo(const ExtrasMethod *m, int n) {
    for (int i = 0; i < n; i++)
        for (int r = 0; r < m[i].n_runs; r++)
            if (m[i].runs[r]->has_elbo) return 1;
    return 0;
}

void extras_summary_md(StrBuf *sb, const ExtrasMethod *m, int n) {
    if (any_elbo(m, n)) {
        sb_printf(
            sb, "\n## Likelihood\n\nThe validation bound at each run's last evaluation "
                "(elbo.csv: random masking with the same masks for every method), mean [min, max] "
                "over seeds.\n\n"
                "| method | seeds | NELBO (nats/token) | perplexity bound | bits per byte |\n"
                "|---|---|---|---|---|\n");
        for (int i = 0; i < n; i++) {
            sb_printf(sb, "| %s | %d | ", m[i].label, m[i].n_runs);
            md_spread(sb, method_elbo(&m[i], F_NELBO));
            sb_printf(sb, " | ");
            md_spread(sb, method_elbo(&m[i], F_PPL));
            sb_printf(sb, " | ");
            md_spread(sb, method_elbo(&m[i], F_BPB));
            sb_printf(sb, " |\n");
        }
    }
    double *steps;
    int k = decode_steps(m, n, &steps);
    if (k > 0) {
        sb_printf(sb, "\n## Decoding cost (ancestral sampler)\n\nAt each run's last evaluation "
                      "(eval.csv rows `ancestral`, k = T): the fraction of the T steps that "
                      "reveal nothing, the model calls per sequence (nfe) and the solve "
                      "accuracy where the task has one; mean [min, max] over seeds. Figure: "
                      "decode.png.\n\n"
                      "| method | T | idle-step ratio | nfe | accuracy |\n|---|---|---|---|---|\n");
        for (int i = 0; i < n; i++)
            for (int j = 0; j < k; j++) {
                Spread idle = method_decode(&m[i], steps[j], F_IDLE);
                if (!idle.n) continue;
                sb_printf(sb, "| %s | %.0f | ", m[i].label, steps[j]);
                md_spread(sb, idle);
                sb_printf(sb, " | ");
                md_spread(sb, method_decode(&m[i], steps[j], F_NFE));
                sb_printf(sb, " | ");
                md_spread(sb, method_decode(&m[i], steps[j], F_ACC));
                sb_printf(sb, " |\n");
            }
    }
    free(steps);
}

static void json_spread(StrBuf *sb, const char *key, Spread s) {
    sb_printf(sb, ", \"%s\": {\"mean\": ", key);
    num(sb, s.mean, "null");
    sb_printf(sb, ", \"min\": ");
    num(sb, s.lo, "null");
    sb_printf(sb, ", \"max\": ");
    num(sb, s.hi, "null");
    sb_printf(sb, ", \"n\": %d}", s.n);
}

void extras_summary_json(StrBuf *sb, const ExtrasMethod *m, int n) {
    sb_printf(sb, ",\n  \"likelihood\": [");
    int first = 1;
    for (int i = 0; i < n && any_elbo(m, n); i++) {
        sb_printf(sb, "%s\n    {\"method\": ", first ? "" : ",");
        sb_json_string(sb, m[i].label);
        json_spread(sb, "nelbo", method_elbo(&m[i], F_NELBO));
        json_spread(sb, "ppl_bound", method_elbo(&m[i], F_PPL));
        json_spread(sb, "bits_per_byte", method_elbo(&m[i], F_BPB));
        sb_printf(sb, "}");
        first = 0;
    }
    sb_printf(sb, "%s],\n  \"decoding\": [", first ? "" : "\n  ");
    double *steps;
    int k = decode_steps(m, n, &steps);
    first = 1;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            Spread idle = method_decode(&m[i], steps[j], F_IDLE);
            if (!idle.n) continue;
            sb_printf(sb, "%s\n    {\"method\": ", first ? "" : ",");
            sb_json_string(sb, m[i].label);
            sb_printf(sb, ", \"steps\": %.0f", steps[j]);
            json_spread(sb, "idle_step_ratio", idle);
            json_spread(sb, "nfe", method_decode(&m[i], steps[j], F_NFE));
            json_spread(sb, "accuracy", method_decode(&m[i], steps[j], F_ACC));
            sb_printf(sb, "}");
            first = 0;
        }
    free(steps);
    sb_printf(sb, "%s]", first ? "" : "\n  ");
}
