#include "speedup.h"

#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int curve_push(Curve *c, double step, double value, double train_s, Err *err) {
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 64;
        double *s = realloc(c->step, (size_t)cap * sizeof *s);
        if (s) c->step = s;
        double *v = s ? realloc(c->value, (size_t)cap * sizeof *v) : NULL;
        if (v) c->value = v;
        double *t = v ? realloc(c->train_s, (size_t)cap * sizeof *t) : NULL;
        if (!t) return err_set(err, "out of memory growing a curve to %d points", cap);
        c->train_s = t;
        c->cap = cap;
    }
    c->step[c->n] = step;
    c->value[c->n] = value;
    c->train_s[c->n] = train_s;
    c->n++;
    return 0;
}

void curve_free(Curve *c) {
    free(c->step);
    free(c->value);
    free(c->train_s);
    memset(c, 0, sizeof *c);
}

void speedup_ema(const double *x, int n, double a, double *out) {
    double s = 0.0;
    for (int i = 0; i < n; i++) {
        s = i == 0 ? x[0] : a * s + (1.0 - a) * x[i];
        out[i] = s;
    }
}

double speedup_steps_to_target(const double *step, const double *value, int n, double target) {
    for (int i = 0; i < n; i++) {
        if (!(value[i] >= target)) continue;
        if (i == 0) return step[0];
        /* value[i-1] < target <= value[i], so the slope is positive. */
        double frac = (target - value[i - 1]) / (value[i] - value[i - 1]);
        return step[i - 1] + frac * (step[i] - step[i - 1]);
    }
    return NAN;
}

double speedup_interp(const double *x, const double *y, int n, double xq) {
    if (n <= 0 || !(xq >= x[0]) || !(xq <= x[n - 1])) return NAN;
    int i = 1;
    while (i < n && x[i] < xq) i++;
    if (i >= n || x[i] == xq) return y[i < n ? i : n - 1];
    double frac = (xq - x[i - 1]) / (x[i] - x[i - 1]);
    return y[i - 1] + frac * (y[i] - y[i - 1]);
}

/* ---- MethodCurves --------------------------------------------------------------------- */

void method_curves_free(MethodCurves *mc) {
    free(mc->step);
    free(mc->raw);
    free(mc->smooth);
    free(mc->train_s);
    free(mc->mean_raw);
    free(mc->min_raw);
    free(mc->max_raw);
    free(mc->mean_smooth);
    memset(mc, 0, sizeof *mc);
}

static int contains_step(const Curve *c, double step) {
    int lo = 0, hi = c->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (c->step[mid] == step) return mid;
        if (c->step[mid] < step)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* Steps present in every seed, in increasing order; returns their count. */
static int common_steps(const Curve *const *seeds, int n_seeds, double *out) {
    int n = 0;
    for (int j = 0; j < seeds[0]->n; j++) {
        int everywhere = 1;
        for (int s = 1; s < n_seeds && everywhere; s++)
            everywhere = contains_step(seeds[s], seeds[0]->step[j]) >= 0;
        if (everywhere) out[n++] = seeds[0]->step[j];
    }
    return n;
}

int method_curves_build(MethodCurves *mc, const Curve *const *seeds, int n_seeds, double smoothing,
                        Err *err) {
    memset(mc, 0, sizeof *mc);
    if (n_seeds <= 0) return err_set(err, "a method needs at least one seed curve");
    if (!(smoothing >= 0.0 && smoothing < 1.0))
        return err_set(err, "smoothing %g is outside [0, 1)", smoothing);
    for (int s = 0; s < n_seeds; s++)
        for (int j = 1; j < seeds[s]->n; j++)
            if (!(seeds[s]->step[j] > seeds[s]->step[j - 1]))
                return err_set(err, "seed curve %d: step %g does not follow step %g", s,
                               seeds[s]->step[j], seeds[s]->step[j - 1]);

    size_t cap = seeds[0]->n > 0 ? (size_t)seeds[0]->n : 1;
    mc->step = malloc(cap * sizeof *mc->step);
    if (!mc->step) return err_set(err, "out of memory aligning seed curves");
    int n = common_steps(seeds, n_seeds, mc->step);
    if (n == 0) {
        method_curves_free(mc);
        return err_set(err, "the %d seed curves share no step", n_seeds);
    }
    size_t cells = (size_t)n_seeds * (size_t)n;
    mc->n_seeds = n_seeds;
    mc->n_steps = n;
    mc->raw = malloc(cells * sizeof(double));
    mc->smooth = malloc(cells * sizeof(double));
    mc->train_s = malloc(cells * sizeof(double));
    mc->mean_raw = malloc((size_t)n * sizeof(double));
    mc->min_raw = malloc((size_t)n * sizeof(double));
    mc->max_raw = malloc((size_t)n * sizeof(double));
    mc->mean_smooth = malloc((size_t)n * sizeof(double));
    if (!mc->raw || !mc->smooth || !mc->train_s || !mc->mean_raw || !mc->min_raw || !mc->max_raw ||
        !mc->mean_smooth) {
        method_curves_free(mc);
        return err_set(err, "out of memory aligning seed curves");
    }

    mc->has_train_s = 1;
    for (int s = 0; s < n_seeds; s++) {
        double *raw = mc->raw + (size_t)s * n, *ts = mc->train_s + (size_t)s * n;
        for (int j = 0; j < n; j++) {
            int k = contains_step(seeds[s], mc->step[j]);
            raw[j] = seeds[s]->value[k];
            ts[j] = seeds[s]->train_s[k];
            if (!isfinite(ts[j])) mc->has_train_s = 0;
        }
        /* Smoothing runs over the common steps only, so every seed is smoothed alike. */
        speedup_ema(raw, n, smoothing, mc->smooth + (size_t)s * n);
    }
    for (int j = 0; j < n; j++) {
        double sum = 0.0, sum_s = 0.0, lo = INFINITY, hi = -INFINITY;
        for (int s = 0; s < n_seeds; s++) {
            double v = mc->raw[(size_t)s * n + j];
            sum += v;
            sum_s += mc->smooth[(size_t)s * n + j];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        mc->mean_raw[j] = sum / n_seeds;
        mc->min_raw[j] = lo;
        mc->max_raw[j] = hi;
        mc->mean_smooth[j] = sum_s / n_seeds;
    }
    return 0;
}

double method_curves_peak(const MethodCurves *mc) {
    double peak = -INFINITY;
    for (int j = 0; j < mc->n_steps; j++)
        if (mc->mean_smooth[j] > peak) peak = mc->mean_smooth[j];
    return peak;
}

/* ---- speedup --------------------------------------------------------------------------- */

/* Mean over the seeds idx[0..k) of train_s interpolated at `step`; NAN if unknown. */
static double seconds_at(const MethodCurves *mc, const int *idx, int k, double step) {
    if (!mc->has_train_s || !isfinite(step)) return NAN;
    double sum = 0.0;
    for (int i = 0; i < k; i++) {
        int s = idx ? idx[i] : i;
        sum += speedup_interp(mc->step, mc->train_s + (size_t)s * mc->n_steps, mc->n_steps, step);
    }
    return sum / k;
}

/* Mean of the smoothed curves of seeds idx[0..k) into out[n_steps]. */
static void mean_of_seeds(const MethodCurves *mc, const int *idx, int k, double *out) {
    for (int j = 0; j < mc->n_steps; j++) {
        double sum = 0.0;
        for (int i = 0; i < k; i++) sum += mc->smooth[(size_t)idx[i] * mc->n_steps + j];
        out[j] = sum / k;
    }
}

static double ratio(double num, double den) {
    if (!isfinite(num) || !isfinite(den) || !(den > 0.0)) return NAN;
    return num / den;
}

static void side_at_target(const MethodCurves *mc, double target, SpeedupSide *side) {
    side->peak = method_curves_peak(mc);
    side->steps_to_target = speedup_steps_to_target(mc->step, mc->mean_smooth, mc->n_steps, target);
    side->seconds_to_target = seconds_at(mc, NULL, mc->n_seeds, side->steps_to_target);
    side->seeds_reached = side->seeds_censored = 0;
    for (int s = 0; s < mc->n_seeds; s++) {
        double t = speedup_steps_to_target(mc->step, mc->smooth + (size_t)s * mc->n_steps,
                                           mc->n_steps, target);
        if (isfinite(t))
            side->seeds_reached++;
        else
            side->seeds_censored++;
    }
}

/* Interval of the finite ratios: [lo, hi] = their 2.5 % and 97.5 % quantiles. */
static void interval(double *r, int n, double *lo, double *hi) {
    stats_sort(r, n);
    *lo = stats_quantile_sorted(r, n, 0.025);
    *hi = stats_quantile_sorted(r, n, 0.975);
}

typedef struct Boot {
    int *idx_b, *idx_m;
    double *mean_b, *mean_m, *steps, *walls;
} Boot;

static void boot_free(Boot *bt) {
    free(bt->idx_b);
    free(bt->idx_m);
    free(bt->mean_b);
    free(bt->mean_m);
    free(bt->steps);
    free(bt->walls);
}

static int bootstrap(const MethodCurves *base, const MethodCurves *meth, const SpeedupOptions *opt,
                     SpeedupResult *out, Err *err) {
    int B = opt->bootstrap;
    Boot bt = {
        malloc((size_t)base->n_seeds * sizeof(int)),
        malloc((size_t)meth->n_seeds * sizeof(int)),
        malloc((size_t)base->n_steps * sizeof(double)),
        malloc((size_t)meth->n_steps * sizeof(double)),
        malloc((size_t)B * sizeof(double)),
        malloc((size_t)B * sizeof(double)),
    };
    if (!bt.idx_b || !bt.idx_m || !bt.mean_b || !bt.mean_m || !bt.steps || !bt.walls) {
        boot_free(&bt);
        return err_set(err, "out of memory for %d bootstrap resamples", B);
    }
    Rng rng;
    rng_seed(&rng, opt->seed, opt->stream);
    int n_steps = 0, n_walls = 0;
    for (int b = 0; b < B; b++) {
        stats_resample(&rng, bt.idx_b, base->n_seeds);
        stats_resample(&rng, bt.idx_m, meth->n_seeds);
        mean_of_seeds(base, bt.idx_b, base->n_seeds, bt.mean_b);
        mean_of_seeds(meth, bt.idx_m, meth->n_seeds, bt.mean_m);
        double tb = speedup_steps_to_target(base->step, bt.mean_b, base->n_steps, out->target);
        double tm = speedup_steps_to_target(meth->step, bt.mean_m, meth->n_steps, out->target);
        if (!isfinite(tb) || !isfinite(tm)) {
            out->censored_resamples++;
            continue;
        }
        double r = ratio(tb, tm);
        if (isfinite(r)) bt.steps[n_steps++] = r;
        double w = ratio(seconds_at(base, bt.idx_b, base->n_seeds, tb),
                         seconds_at(meth, bt.idx_m, meth->n_seeds, tm));
        if (isfinite(w)) bt.walls[n_walls++] = w;
    }
    out->resamples = B;
    /* An interval only accompanies a point estimate: a censored speedup has none. */
    if (isfinite(out->step_speedup) && n_steps > 0)
        interval(bt.steps, n_steps, &out->step_lo, &out->step_hi);
    if (isfinite(out->wall_speedup) && n_walls > 0)
        interval(bt.walls, n_walls, &out->wall_lo, &out->wall_hi);
    boot_free(&bt);
    return 0;
}

int speedup_compute(const MethodCurves *baseline, const MethodCurves *method,
                    const SpeedupOptions *opt, SpeedupResult *out, Err *err) {
    memset(out, 0, sizeof *out);
    out->step_lo = out->step_hi = out->wall_lo = out->wall_hi = NAN;
    if (opt->bootstrap < 0) return err_set(err, "bootstrap resamples %d < 0", opt->bootstrap);
    double peak_b = method_curves_peak(baseline), peak_m = method_curves_peak(method);
    /* The lower peak, as DESIGN.md defines it; a curve that never rises above 0 cannot set a
     * target (every curve "reaches" 0 at its first point), so then the other curve's peak
     * is the target and the flat one is censored; when both are flat there is no target. */
    double lo = peak_b < peak_m ? peak_b : peak_m, hi = peak_b < peak_m ? peak_m : peak_b;
    out->target = opt->target > 0.0 ? opt->target : lo > 0.0 ? lo : hi > 0.0 ? hi : NAN;
    side_at_target(baseline, out->target, &out->baseline);
    side_at_target(method, out->target, &out->method);
    out->step_speedup = ratio(out->baseline.steps_to_target, out->method.steps_to_target);
    out->wall_speedup = ratio(out->baseline.seconds_to_target, out->method.seconds_to_target);
    if (opt->bootstrap == 0) return 0;
    return bootstrap(baseline, method, opt, out, err);
}
