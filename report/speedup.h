/* Speedup of a method over a baseline, as DESIGN.md "Metrics and speedup" defines it.
 *
 * Per method: every seed's eval curve is cut to the steps common to all of the method's
 * seeds, smoothed with an EMA (s_0 = x_0, s_i = a s_{i-1} + (1 - a) x_i) and averaged over
 * seeds. Target = the lower of the two mean curves' peaks, or a fixed target. Steps-to-target
 * = the first crossing of the target, linearly interpolated between the two eval steps around
 * it. Speedup = baseline steps / method steps. Wall-clock: the training seconds (train_s) of
 * each seed interpolated at the mean curve's step-to-target, averaged over seeds; wall-clock
 * speedup = baseline seconds / method seconds. The bootstrap resamples each method's seeds
 * with replacement (independently), keeps the target fixed, and takes the 2.5 % and 97.5 %
 * quantiles of the ratio over the resamples in which both mean curves reach the target; the
 * others are counted as censored resamples. NAN stands for "censored" (never reached) or,
 * for seconds, "unknown" (a seed without train_s). */
#ifndef MDMLAB_SPEEDUP_H
#define MDMLAB_SPEEDUP_H

#include "base/util.h"

/* One seed's curve: value (accuracy, loss) and training seconds at each step. Owns its arrays. */
typedef struct Curve {
    int n, cap;
    double *step; /* strictly increasing */
    double *value;
    double *train_s; /* NAN where unknown */
} Curve;

int curve_push(Curve *c, double step, double value, double train_s, Err *err);
void curve_free(Curve *c);

/* out[i] = EMA of x[0..i] with weight a on the previous smoothed value; out may alias x. */
void speedup_ema(const double *x, int n, double a, double *out);
/* First crossing of target (value >= target) by linear interpolation between the eval points
 * around it; step[0] if value[0] already reaches it; NAN if never reached. */
double speedup_steps_to_target(const double *step, const double *value, int n, double target);
/* y at xq by linear interpolation of the points (x increasing); NAN outside [x[0], x[n-1]]. */
double speedup_interp(const double *x, const double *y, int n, double xq);

/* One method's seeds aligned on their common steps. Arrays indexed [seed * n_steps + j]. */
typedef struct MethodCurves {
    int n_seeds, n_steps;
    double *step;        /* [n_steps] */
    double *raw;         /* [n_seeds * n_steps] */
    double *smooth;      /* [n_seeds * n_steps] EMA of raw over the common steps */
    double *train_s;     /* [n_seeds * n_steps] */
    int has_train_s;     /* every train_s finite: wall-clock is known */
    double *mean_raw;    /* [n_steps] mean over seeds of raw */
    double *min_raw;     /* [n_steps] */
    double *max_raw;     /* [n_steps] */
    double *mean_smooth; /* [n_steps] mean over seeds of smooth: the curve the target is met on */
} MethodCurves;

/* Fails when there are no seeds, a curve's steps do not increase, or the seeds share no step. */
int method_curves_build(MethodCurves *mc, const Curve *const *seeds, int n_seeds, double smoothing,
                        Err *err);
void method_curves_free(MethodCurves *mc);
/* Maximum of mean_smooth. */
double method_curves_peak(const MethodCurves *mc);

typedef struct SpeedupOptions {
    double target; /* > 0: fixed target; otherwise the lower of the two peaks */
    int bootstrap; /* resamples; 0: no interval */
    uint64_t seed; /* the bootstrap draws come from the RNG stream (seed, stream) */
    uint64_t stream;
} SpeedupOptions;

/* One side of a comparison, at the comparison's target. */
typedef struct SpeedupSide {
    double peak;              /* max of the mean smoothed curve */
    double steps_to_target;   /* of the mean smoothed curve; NAN: censored */
    double seconds_to_target; /* mean over seeds of train_s at steps_to_target; NAN: unknown */
    int seeds_reached;        /* seeds whose own smoothed curve reaches the target */
    int seeds_censored;
} SpeedupSide;

typedef struct SpeedupResult {
    double target;
    SpeedupSide baseline, method;
    double step_speedup, step_lo, step_hi; /* NAN: censored (lo, hi: no resample reached) */
    double wall_speedup, wall_lo, wall_hi; /* NAN: censored or wall-clock unknown */
    int resamples;                         /* bootstrap resamples drawn */
    int censored_resamples;                /* resamples where either mean curve never reached */
} SpeedupResult;

int speedup_compute(const MethodCurves *baseline, const MethodCurves *method,
                    const SpeedupOptions *opt, SpeedupResult *out, Err *err);

#endif
