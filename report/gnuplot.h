/* gnuplot scripts for the report's figures, and running gnuplot on them.
 * Every script reads its data and writes its figures by relative names, so `cd OUT_DIR &&
 * gnuplot curves.gp` regenerates curves.png (pngcairo, 900x600) and curves.svg. Method i
 * is drawn in Okabe-Ito colour i (colour-blind safe) in every figure. */
#ifndef MDMLAB_GNUPLOT_H
#define MDMLAB_GNUPLOT_H

#include "base/util.h"

/* "#RRGGBB" of method index i (cycles after 8). */
const char *gp_colour(int method_index);

/* What the figures show about each method, by method index. */
typedef struct GpMethods {
    int n;
    const char *const *label;
    const int *n_seeds; /* 0: the method has no data and is left out of the plots */
} GpMethods;

/* curves.gp over curves.tsv: column 1 step; per method i, columns 2+4i .. 5+4i = mean, min,
 * max of the raw accuracy over seeds, mean of the smoothed curves. target[i] (NAN: none) is
 * the accuracy method i is timed at; equal targets share one dashed line. show_smoothed also
 * draws the smoothed means (pointless without smoothing). from_zero: the y axis starts at 0
 * (accuracy); else it spans the data (a NELBO). */
void gp_curves_script(StrBuf *sb, const char *title, const char *ylabel, const GpMethods *m,
                      const double *target, int show_smoothed, int from_zero);
/* loss.gp over loss.tsv: column 1 step; per method i, columns 2+3i .. 4+3i = mean, min, max;
 * with validation, val_loss.gp over val_loss.tsv (the validation bound), the same columns.
 * [ylo, yhi]: the data's range (a log axis when it spans 5x or more). */
void gp_loss_script(StrBuf *sb, const char *title, const GpMethods *m, int validation, double ylo,
                    double yhi);
/* speedup.gp over speedup.tsv: one row per compared method: 1 row index, 2 method index,
 * 3 label, 4-6 step speedup and its interval, 7-9 wall-clock speedup and its interval.
 * has_step / has_wall: whether any row has that speedup (a series with no value is left out). */
void gp_speedup_script(StrBuf *sb, const char *title, const char *baseline, int n_rows,
                       int has_step, int has_wall);

/* axis_KEY.gp over axis_KEY.tsv (axis.h): per group g (gnuplot index g), the final metric
 * (points with min-max bars, solid) and the best (dashed) against the key's value; groups[g]
 * labels them ("" when the sweep has no other axis); log_x for values spanning > 10x. */
void gp_axis_script(StrBuf *sb, const char *title, const char *key, const char *ylabel,
                    char groups[][512], int n_groups, int log_x);

/* decode.gp over decode.tsv: column 1 the ancestral sampler's T; per method i, columns
 * 2+3i .. 4+3i = mean, min, max over seeds of the idle-step ratio (NaN where the method has no
 * row at that T). */
void gp_decode_script(StrBuf *sb, const char *title, const GpMethods *m);

/* step_importance.gp over step_importance.tsv: 1 t, 2 heavy loss, 3 light loss, 4 KL. */
void gp_step_importance_script(StrBuf *sb, const char *title);
/* schedule_search.gp over schedule_search.tsv: 1 schedule, 4 the quality, 5-6 its interval
 * (`interval` says which, for the caption). */
void gp_schedule_search_script(StrBuf *sb, const char *title, const char *quality,
                               const char *interval);
/* pareto.gp over pareto.tsv (sorted by cost): 1 label, 2 cost, 3 quality, 4 on the front (0/1);
 * cost and quality are the axis labels. */
void gp_pareto_script(StrBuf *sb, const char *title, const char *cost, const char *quality);

/* Lines to put before a script: the warnings (one per line of text) in red under the title,
 * the top margin grown to hold them. Nothing when text is empty. */
void gp_footnote(StrBuf *sb, const char *text);

/* Absolute path of the first executable "gnuplot" on PATH into out; 0 if there is none. */
int gnuplot_find(char *out, size_t n);
/* Runs `gnuplot SCRIPT` in directory dir. A non-zero exit is an error naming the script and
 * quoting gnuplot's first line on stderr. */
int gnuplot_run(const char *gnuplot, const char *dir, const char *script, Err *err);

#endif
