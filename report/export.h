/* `mdmlab export`: every run's metrics as one table that pandas or any CSV reader takes whole.
 *
 * Long ("tidy") form, one row per (run, step, metric):
 *   run_id, method, seed, <one column per grid axis, named by its key>, step, metric, value,
 *   train_s
 * from each run's train.csv (loss, lr, grad_norm, tokens_per_s), eval.csv (accuracy, nfe,
 * idle_step_ratio per decoding: metric "accuracy/margin:1") and elbo.csv (nelbo, ppl_bound,
 * bits_per_byte); values that are not numbers (a text task's decoding rows have no accuracy)
 * are left out. Wide form: one row per (run, step), one column per metric. Written as CSV
 * (RFC 4180 quoting: method labels hold commas) or, for a .jsonl path, one JSON object per
 * row. */
#ifndef MDMLAB_EXPORT_H
#define MDMLAB_EXPORT_H

#include "report.h"

/* runs[i].dir, .method, .seed (the id is the directory's name); state is not read. Writes
 * out_path atomically (NULL: standard output, as CSV); *rows_out (may be NULL) gets the rows
 * written. */
int export_runs(const ReportRun *runs, int n, const char *out_path, int wide, long *rows_out,
                Err *err);

#endif
