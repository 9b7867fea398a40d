/* The report's tables beyond speedup (report.h): a language model's validation ELBO and the
 * ancestral sampler's decoding cost, per method over its done runs' RunExtras (collect.h). */
#ifndef MDMLAB_REPORT_EXTRAS_H
#define MDMLAB_REPORT_EXTRAS_H

#include "collect.h"

typedef struct ExtrasMethod {
    const char *label;
    int n_runs;                   /* done runs */
    const RunExtras *const *runs; /* [n_runs] */
} ExtrasMethod;

/* decode.tsv (gp_decode_script's columns) over every T any run decoded with; 0 when no run
 * has ancestral rows (nothing written to sb), else 1. */
int extras_decode_tsv(StrBuf *sb, const ExtrasMethod *m, int n);
/* Markdown: "## Likelihood" (final NELBO, perplexity bound, bits per byte: mean [min, max]
 * over seeds) when a run has ELBO rows, "## Decoding cost" (per method and T: idle-step
 * ratio, nfe and accuracy where there is one) when a run has ancestral rows. */
void extras_summary_md(StrBuf *sb, const ExtrasMethod *m, int n);
/* The same as JSON members: `,\n  "likelihood": [...],\n  "decoding": [...]`. */
void extras_summary_json(StrBuf *sb, const ExtrasMethod *m, int n);

#endif
