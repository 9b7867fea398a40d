/* Pareto fronts of cost vs quality (pareto.h). */
#include "pareto.h"

#include "collect.h"
#include "labels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void pareto_add(ParetoSet *s, const char *label, double cost, double quality) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->p = realloc_or_die(s->p, (size_t)s->cap * sizeof *s->p, "pareto points");
    }
    ParetoPoint *p = &s->p[s->n++];
    snprintf(p->label, sizeof p->label, "%s", label);
    p->cost = cost;
    p->quality = quality;
    p->front = 0;
}

void pareto_free(ParetoSet *s) {
    free(s->p);
    memset(s, 0, sizeof *s);
}

/* The quality fields where lower is better. */
int pareto_lower_is_better(const char *quality) {
    return strcmp(quality, "gen_ppl") == 0 || strcmp(quality, "nll") == 0;
}

static int by_cost_then_quality(const void *x, const void *y) {
    const ParetoPoint *a = x, *b = y;
    if (a->cost != b->cost) return a->cost < b->cost ? -1 : 1;
    return (a->quality < b->quality) - (a->quality > b->quality);
}

void pareto_mark_front(ParetoSet *s) {
    /* a lower-is-better quality is marked as its negation is */
    double sign = s->lower_is_better ? -1.0 : 1.0;
    for (int i = 0; i < s->n; i++) s->p[i].quality *= sign;
    if (s->n) qsort(s->p, (size_t)s->n, sizeof *s->p, by_cost_then_quality);
    double best = -INFINITY;
    for (int i = 0; i < s->n; i++) {
        s->p[i].front = s->p[i].quality > best;
        if (s->p[i].front) best = s->p[i].quality;
        s->p[i].quality *= sign;
    }
}

void pareto_tsv(StrBuf *sb, const ParetoSet *s, const char *cost, const char *quality) {
    sb_printf(sb, "# label\t%s\t%s\tfront\tfront_rank\n", cost, quality);
    for (int i = 0, rank = 0; i < s->n; i++)
        sb_printf(sb, "%s\t%.6g\t%.6g\t%d\t%d\n", s->p[i].label, s->p[i].cost, s->p[i].quality,
                  s->p[i].front, s->p[i].front ? ++rank : 0);
}

/* Running sums of one (method, policy:k) point over seeds. */
typedef struct Acc {
    char label[700];
    double cost, quality;
    int n;
} Acc;

static void accumulate(Acc **acc, int *n, int *cap, const char *label, const LastEvalRow *row) {
    for (int i = 0; i < *n; i++)
        if (strcmp((*acc)[i].label, label) == 0) {
            (*acc)[i].cost += row->nfe;
            (*acc)[i].quality += row->accuracy;
            (*acc)[i].n++;
            return;
        }
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 32;
        *acc = realloc_or_die(*acc, (size_t)*cap * sizeof **acc, "pareto points");
    }
    Acc *a = &(*acc)[(*n)++];
    snprintf(a->label, sizeof a->label, "%.699s", label);
    a->cost = row->nfe;
    a->quality = row->accuracy;
    a->n = 1;
}

int pareto_sweep_points(const ReportSpec *spec, ParetoSet *s, Err *err) {
    Acc *acc = NULL;
    int n = 0, cap = 0, rc = 0;
    for (int i = 0; i < spec->n_runs && rc == 0; i++) {
        const ReportRun *run = &spec->runs[i];
        if (strcmp(run->state, "done") != 0) continue;
        LastEvalRow *rows = NULL;
        int n_rows = 0;
        rc = run_last_eval_rows(run->dir, &rows, &n_rows, NULL, err);
        for (int r = 0; r < n_rows && rc == 0; r++) {
            if (!isfinite(rows[r].accuracy) || !isfinite(rows[r].nfe)) continue;
            char label[700]; /* cut to ParetoPoint's label by accumulate */
            snprintf(label, sizeof label, "%s %s:%.0f", run->method, rows[r].policy, rows[r].k);
            accumulate(&acc, &n, &cap, label, &rows[r]);
        }
        free(rows);
    }
    for (int i = 0; i < n && rc == 0; i++)
        pareto_add(s, acc[i].label, acc[i].cost / acc[i].n, acc[i].quality / acc[i].n);
    free(acc);
    return rc;
}

/* Whether a label names a key outside eval.*. */
static int names_training_key(const char *label) {
    LabelItem it[LABEL_MAX_ITEMS];
    int n = label_items(label, it);
    for (int i = 0; i < n; i++)
        if (it[i].key_len < 5 || strncmp(it[i].key, "eval.", 5) != 0) return 1;
    return 0;
}

int pareto_is_decoding_sweep(const ReportSpec *spec) {
    int several = 0;
    for (int i = 0; i < spec->n_runs; i++) {
        if (names_training_key(spec->runs[i].method)) return 0;
        several |= strcmp(spec->runs[i].method, spec->runs[0].method) != 0;
    }
    return several;
}
