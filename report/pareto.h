/* Cost-quality Pareto fronts: points (a decoding choice, its cost and its quality), the
 * non-dominated ones marked, the TSV gp_pareto_script draws; and the points of a sweep's runs
 * (each method's eval rows at its runs' last eval step, averaged over seeds). */
#ifndef MDMLAB_PARETO_H
#define MDMLAB_PARETO_H

#include "report.h"

typedef struct ParetoPoint {
    char label[160];
    double cost, quality;
    int front;
} ParetoPoint;

typedef struct ParetoSet {
    ParetoPoint *p;
    int n, cap;
    int lower_is_better; /* the quality is a cost too (generative perplexity) */
} ParetoSet;

/* Whether a quality field is better when lower (gen_ppl, nll). */
int pareto_lower_is_better(const char *quality);

/* Appends a point (the label is cut to fit). */
void pareto_add(ParetoSet *s, const char *label, double cost, double quality);
void pareto_free(ParetoSet *s);
/* Sorts by cost (ties: better first) and marks each point that beats every cheaper one
 * (s->lower_is_better: beats = lower quality). */
void pareto_mark_front(ParetoSet *s);
/* pareto.tsv: "# label, cost, quality, front, front_rank" then one row per point (after
 * marking; front_rank counts the front's points from the cheapest, 0 off the front). */
void pareto_tsv(StrBuf *sb, const ParetoSet *s, const char *cost, const char *quality);

/* Per method of spec's done runs and per (policy, k) of their eval.csv rows at each run's last
 * eval step: one point "METHOD policy:k" at the seeds' mean nfe (the cost: eval.csv holds no
 * other) and mean accuracy. Rows without an accuracy (text decoding rows) are skipped. */
int pareto_sweep_points(const ReportSpec *spec, ParetoSet *s, Err *err);
/* Whether the methods of spec differ in decoding keys (eval.*) only: a decoding sweep, whose
 * report draws the Pareto figure. */
int pareto_is_decoding_sweep(const ReportSpec *spec);

#endif
