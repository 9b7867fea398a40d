/* speedup: EMA, steps-to-target, seed alignment, target = lower peak, censoring, wall-clock
 * and the bootstrap interval, on synthetic curves with known answers. */
#include "report/speedup.h"
#include "check.h"

#include <string.h>

/* value = min(cap, slope * step) at steps 0, dstep, ..., last; train_s = sec_per_step * step
 * (NAN: unknown). */
static Curve line_curve(double slope, double cap, double last, double dstep, double sec_per_step) {
    Curve c;
    memset(&c, 0, sizeof c);
    for (double s = 0; s <= last; s += dstep) {
        double v = slope * s < cap ? slope * s : cap;
        if (curve_push(&c, s, v, sec_per_step * s, NULL)) abort();
    }
    return c;
}

static MethodCurves build(Curve *seeds, int n, double smoothing) {
    const Curve *p[16];
    for (int i = 0; i < n; i++) p[i] = &seeds[i];
    MethodCurves mc;
    Err err;
    if (method_curves_build(&mc, p, n, smoothing, &err)) {
        fprintf(stderr, "method_curves_build: %s\n", err.msg);
        abort();
    }
    return mc;
}

static void free_curves(Curve *c, int n) {
    for (int i = 0; i < n; i++) curve_free(&c[i]);
}

static void test_ema(void) {
    const double x[4] = {0.0, 1.0, 1.0, 0.0};
    double out[4];
    speedup_ema(x, 4, 0.5, out);
    CHECK_CLOSE(out[0], 0.0, 0, 0);
    CHECK_CLOSE(out[1], 0.5, 0, 0);
    CHECK_CLOSE(out[2], 0.75, 0, 0);
    CHECK_CLOSE(out[3], 0.375, 0, 0);
    speedup_ema(x, 4, 0.9, out);
    CHECK_CLOSE(out[1], 0.1, 1e-15, 0);
    CHECK_CLOSE(out[2], 0.19, 1e-15, 0);
    CHECK_CLOSE(out[3], 0.171, 1e-14, 0);
    /* a = 0: no smoothing; in place. */
    double y[4] = {0.3, 0.1, 0.7, 0.2};
    speedup_ema(y, 4, 0.0, y);
    CHECK(y[0] == 0.3 && y[1] == 0.1 && y[2] == 0.7 && y[3] == 0.2);
}

static void test_steps_to_target(void) {
    const double step[4] = {0, 100, 200, 300};
    const double v[4] = {0.0, 0.2, 0.4, 0.6};
    CHECK_CLOSE(speedup_steps_to_target(step, v, 4, 0.5), 250.0, 1e-12, 0);
    CHECK_CLOSE(speedup_steps_to_target(step, v, 4, 0.1), 50.0, 1e-12, 0);
    CHECK_CLOSE(speedup_steps_to_target(step, v, 4, 0.4), 200.0, 0, 0); /* exactly at a point */
    CHECK_CLOSE(speedup_steps_to_target(step, v, 4, 0.6), 300.0, 0, 0);
    CHECK(isnan(speedup_steps_to_target(step, v, 4, 0.61)));
    /* The first point already reaches: that step, no extrapolation before it. */
    const double step2[3] = {1000, 2000, 3000};
    const double v2[3] = {0.5, 0.4, 0.9};
    CHECK(speedup_steps_to_target(step2, v2, 3, 0.45) == 1000.0);
    /* The first crossing counts, not a later one after a dip. */
    const double v3[4] = {0.0, 0.6, 0.2, 0.8};
    CHECK_CLOSE(speedup_steps_to_target(step, v3, 4, 0.3), 50.0, 1e-12, 0);

    const double ts[4] = {0, 10, 30, 60};
    CHECK_CLOSE(speedup_interp(step, ts, 4, 250), 45.0, 1e-12, 0);
    CHECK_CLOSE(speedup_interp(step, ts, 4, 0), 0.0, 0, 0);
    CHECK_CLOSE(speedup_interp(step, ts, 4, 300), 60.0, 0, 0);
    CHECK(isnan(speedup_interp(step, ts, 4, 301)));
    CHECK(isnan(speedup_interp(step, ts, 4, NAN)));
}

static void test_alignment(void) {
    /* Seed 0 evaluates every 100 steps to 400; seed 1 to 300 and at 350: common 0..300. */
    Curve c[2];
    c[0] = line_curve(0.001, 1, 400, 100, 1.0);
    c[1] = line_curve(0.002, 1, 300, 100, 1.0);
    if (curve_push(&c[1], 350, 0.7, 350, NULL)) abort();
    MethodCurves mc = build(c, 2, 0.5);
    CHECK(mc.n_seeds == 2 && mc.n_steps == 4);
    CHECK(mc.step[0] == 0 && mc.step[3] == 300);
    CHECK(mc.has_train_s);
    CHECK_CLOSE(mc.mean_raw[2], 0.3, 1e-12, 0);
    CHECK_CLOSE(mc.min_raw[2], 0.2, 1e-12, 0);
    CHECK_CLOSE(mc.max_raw[2], 0.4, 1e-12, 0);
    /* Seed 1 smoothed over 0, .2, .4, .6 with a = .5: 0, .1, .25, .425; seed 0: half that. */
    CHECK_CLOSE(mc.smooth[1 * 4 + 3], 0.425, 1e-12, 0);
    CHECK_CLOSE(mc.mean_smooth[3], (0.425 + 0.2125) / 2, 1e-12, 0);
    CHECK_CLOSE(method_curves_peak(&mc), (0.425 + 0.2125) / 2, 1e-12, 0);
    method_curves_free(&mc);

    /* A NAN train_s anywhere makes the method's wall-clock unknown. */
    c[0].train_s[1] = NAN;
    mc = build(c, 2, 0.0);
    CHECK(!mc.has_train_s);
    method_curves_free(&mc);

    Err err;
    const Curve *p[2] = {&c[0], &c[1]};
    CHECK(method_curves_build(&mc, p, 0, 0.0, &err) == -1);
    CHECK(method_curves_build(&mc, p, 2, 1.0, &err) == -1 && strstr(err.msg, "smoothing"));
    Curve late;
    memset(&late, 0, sizeof late);
    curve_push(&late, 5000, 0.1, 1, NULL);
    const Curve *q[2] = {&c[0], &late};
    CHECK(method_curves_build(&mc, q, 2, 0.0, &err) == -1 && strstr(err.msg, "share no step"));
    curve_push(&late, 4000, 0.1, 1, NULL);
    CHECK(method_curves_build(&mc, q, 2, 0.0, &err) == -1 && strstr(err.msg, "does not follow"));
    curve_free(&late);
    free_curves(c, 2);
}

static SpeedupResult compare(MethodCurves *b, MethodCurves *m, double target, int boot,
                             uint64_t seed) {
    SpeedupOptions opt = {target, boot, seed, 0};
    SpeedupResult r;
    Err err;
    if (speedup_compute(b, m, &opt, &r, &err)) {
        fprintf(stderr, "speedup_compute: %s\n", err.msg);
        abort();
    }
    return r;
}

static void test_lower_peak_and_wall_clock(void) {
    /* Baseline: accuracy step/1000, peak 1.0, 0.1 s per step. Method: 2 step/1000 capped at
     * 0.8, 0.3 s per step. Target = 0.8; baseline reaches it at 800, the method at 400. */
    Curve b = line_curve(0.001, 1.0, 1000, 100, 0.1);
    Curve m = line_curve(0.002, 0.8, 1000, 100, 0.3);
    MethodCurves mb = build(&b, 1, 0.0), mm = build(&m, 1, 0.0);
    SpeedupResult r = compare(&mb, &mm, 0.0, 0, 1);
    CHECK_CLOSE(r.target, 0.8, 1e-12, 0);
    CHECK_CLOSE(r.baseline.peak, 1.0, 1e-12, 0);
    CHECK_CLOSE(r.method.peak, 0.8, 1e-12, 0);
    CHECK_CLOSE(r.baseline.steps_to_target, 800, 1e-9, 0);
    CHECK_CLOSE(r.method.steps_to_target, 400, 1e-9, 0);
    CHECK_CLOSE(r.step_speedup, 2.0, 1e-9, 0);
    CHECK_CLOSE(r.baseline.seconds_to_target, 80, 1e-9, 0);
    CHECK_CLOSE(r.method.seconds_to_target, 120, 1e-9, 0);
    CHECK_CLOSE(r.wall_speedup, 80.0 / 120.0, 1e-9, 0);
    CHECK(r.baseline.seeds_reached == 1 && r.method.seeds_reached == 1);
    CHECK(r.resamples == 0 && isnan(r.step_lo) && isnan(r.wall_hi));

    /* Symmetric: swapping the roles inverts the speedup at the same target. */
    SpeedupResult s = compare(&mm, &mb, 0.0, 0, 1);
    CHECK_CLOSE(s.target, 0.8, 1e-12, 0);
    CHECK_CLOSE(s.step_speedup, 0.5, 1e-9, 0);

    /* A fixed target overrides the peaks: 0.5 is met at 500 and 250. */
    s = compare(&mb, &mm, 0.5, 0, 1);
    CHECK_CLOSE(s.baseline.steps_to_target, 500, 1e-9, 0);
    CHECK_CLOSE(s.method.steps_to_target, 250, 1e-9, 0);

    /* With smoothing the target is the lower of the smoothed peaks. */
    MethodCurves sb = build(&b, 1, 0.5), sm = build(&m, 1, 0.5);
    s = compare(&sb, &sm, 0.0, 0, 1);
    CHECK_CLOSE(s.target, method_curves_peak(&sm), 0, 0);
    CHECK(method_curves_peak(&sm) < 0.8 && method_curves_peak(&sb) < 1.0);
    method_curves_free(&sb);
    method_curves_free(&sm);

    /* Unknown train_s: step speedup as before, wall-clock n/a. */
    for (int i = 0; i < m.n; i++) m.train_s[i] = NAN;
    method_curves_free(&mm);
    mm = build(&m, 1, 0.0);
    s = compare(&mb, &mm, 0.0, 100, 1);
    CHECK_CLOSE(s.step_speedup, 2.0, 1e-9, 0);
    CHECK(isnan(s.method.seconds_to_target) && isnan(s.wall_speedup));
    CHECK(isnan(s.wall_lo) && isnan(s.wall_hi));
    method_curves_free(&mb);
    method_curves_free(&mm);
    curve_free(&b);
    curve_free(&m);
}

static void test_censoring(void) {
    /* Fixed target 0.5. Baseline: 3 seeds at slope 1/1000. Method: two seeds at 1/1000 and
     * one flat at 0: the mean (2/3 step/1000) crosses at 750; one seed is censored. */
    Curve b[3], m[3];
    for (int i = 0; i < 3; i++) b[i] = line_curve(0.001, 1, 1000, 50, 1);
    m[0] = line_curve(0.001, 1, 1000, 50, 1);
    m[1] = line_curve(0.001, 1, 1000, 50, 1);
    m[2] = line_curve(0.0, 1, 1000, 50, 1);
    MethodCurves mb = build(b, 3, 0.0), mm = build(m, 3, 0.0);
    SpeedupResult r = compare(&mb, &mm, 0.5, 0, 1);
    CHECK_CLOSE(r.method.steps_to_target, 750, 1e-9, 0);
    CHECK_CLOSE(r.step_speedup, 500.0 / 750.0, 1e-9, 0);
    CHECK(r.method.seeds_reached == 2 && r.method.seeds_censored == 1);
    CHECK(r.baseline.seeds_reached == 3 && r.baseline.seeds_censored == 0);
    method_curves_free(&mm);

    /* Only one of three seeds reaches 0.5: the mean peaks at 1/3 and never reaches, so the
     * speedup is censored. Resamples with that seed drawn twice or more do reach. */
    curve_free(&m[1]);
    m[1] = line_curve(0.0, 1, 1000, 50, 1);
    mm = build(m, 3, 0.0);
    r = compare(&mb, &mm, 0.5, 2000, 7);
    CHECK(isnan(r.method.steps_to_target) && isnan(r.step_speedup) && isnan(r.wall_speedup));
    CHECK(r.method.seeds_reached == 1 && r.method.seeds_censored == 2);
    CHECK(isnan(r.step_lo) && isnan(r.step_hi));
    /* P(seed 0 drawn < 2 times in 3) = 20/27: about 1481 of 2000 resamples are censored. */
    CHECK_MSG(r.censored_resamples > 1350 && r.censored_resamples < 1610, "%d",
              r.censored_resamples);
    CHECK(r.resamples == 2000);

    /* A fixed target above every curve: both sides censored, every resample censored. */
    r = compare(&mb, &mm, 1.5, 100, 7);
    CHECK(isnan(r.baseline.steps_to_target) && r.baseline.seeds_censored == 3);
    CHECK(r.censored_resamples == 100);
    method_curves_free(&mb);
    method_curves_free(&mm);
    free_curves(b, 3);
    free_curves(m, 3);
}

static void test_bootstrap(void) {
    /* Baseline: one seed at slope 1/1000 (300 steps to 0.3). Method seeds at slopes 1/1000 and
     * 2/1000: resamples {a,a}, {a,b}, {b,b} (p = 1/4, 1/2, 1/4) give speedups 1, 1.5, 2; the
     * point estimate (mean slope 1.5/1000) is 1.5 and the 95 % interval is [1, 2]. Training
     * runs 2 s per step for the method, 1 for the baseline: wall-clock is half of that. */
    Curve b = line_curve(0.001, 1, 1000, 50, 1.0);
    Curve m[2] = {line_curve(0.001, 1, 1000, 50, 2.0), line_curve(0.002, 1, 1000, 50, 2.0)};
    MethodCurves mb = build(&b, 1, 0.0), mm = build(m, 2, 0.0);
    SpeedupResult r = compare(&mb, &mm, 0.3, 2000, 42);
    CHECK_CLOSE(r.step_speedup, 1.5, 1e-9, 0);
    CHECK_CLOSE(r.step_lo, 1.0, 1e-9, 0);
    CHECK_CLOSE(r.step_hi, 2.0, 1e-9, 0);
    CHECK_CLOSE(r.wall_speedup, 0.75, 1e-9, 0);
    CHECK_CLOSE(r.wall_lo, 0.5, 1e-9, 0);
    CHECK_CLOSE(r.wall_hi, 1.0, 1e-9, 0);
    CHECK(r.step_lo <= r.step_speedup && r.step_speedup <= r.step_hi);
    CHECK(r.censored_resamples == 0 && r.resamples == 2000);

    /* Deterministic for a fixed RNG seed; another seed draws other resamples. Five distinct
     * seeds a side give enough distinct resample means that the quantiles move. */
    Curve v[10];
    for (int i = 0; i < 10; i++) v[i] = line_curve(0.001 * (1.0 + 0.17 * i), 1, 1000, 50, 1.0);
    MethodCurves vb = build(v, 5, 0.3), vm = build(v + 5, 5, 0.3);
    SpeedupResult x = compare(&vb, &vm, 0.3, 500, 9), y = compare(&vb, &vm, 0.3, 500, 9);
    CHECK(memcmp(&x, &y, sizeof x) == 0);
    CHECK(x.step_lo < x.step_speedup && x.step_speedup < x.step_hi);
    CHECK(x.wall_lo < x.wall_speedup && x.wall_speedup < x.wall_hi);
    SpeedupResult z = compare(&vb, &vm, 0.3, 500, 10);
    CHECK(z.step_speedup == x.step_speedup);
    CHECK(z.step_lo != x.step_lo && z.step_hi != x.step_hi);
    method_curves_free(&vb);
    method_curves_free(&vm);
    free_curves(v, 10);

    /* Identical seeds: every resample is the point estimate, the interval is degenerate. */
    Curve same[4];
    for (int i = 0; i < 4; i++) same[i] = line_curve(0.0025, 1, 1000, 50, 1.0);
    MethodCurves ms = build(same, 4, 0.2);
    MethodCurves mb_s = build(&b, 1, 0.2);
    r = compare(&mb_s, &ms, 0.0, 300, 3);
    CHECK(isfinite(r.step_speedup));
    CHECK(r.step_lo == r.step_speedup && r.step_hi == r.step_speedup);
    CHECK(r.wall_lo == r.wall_speedup && r.wall_hi == r.wall_speedup);
    method_curves_free(&ms);
    method_curves_free(&mb_s);
    free_curves(same, 4);

    method_curves_free(&mb);
    method_curves_free(&mm);
    curve_free(&b);
    free_curves(m, 2);
}

/* A curve that never rises above 0 cannot set the target: the other curve's peak does and
 * the flat one is censored; with both flat there is no target at all. */
static void test_flat_curves(void) {
    Curve flat[2] = {line_curve(0, 0, 1000, 100, 1), line_curve(0, 0, 1000, 100, 1)};
    Curve rising[2] = {line_curve(0.001, 0.5, 1000, 100, 1), line_curve(0.001, 0.5, 1000, 100, 1)};
    MethodCurves f = build(flat, 2, 0), r = build(rising, 2, 0);
    SpeedupResult res = compare(&f, &r, 0, 0, 1);
    CHECK_CLOSE(res.target, 0.5, 0, 1e-12);
    CHECK(isnan(res.baseline.steps_to_target) && res.baseline.seeds_censored == 2);
    CHECK_CLOSE(res.method.steps_to_target, 500, 0, 1e-9);
    CHECK(isnan(res.step_speedup));
    res = compare(&f, &f, 0, 0, 1);
    CHECK(isnan(res.target) && isnan(res.step_speedup));
    method_curves_free(&f);
    method_curves_free(&r);
    free_curves(flat, 2);
    free_curves(rising, 2);
}

int main(void) {
    test_ema();
    test_flat_curves();
    test_steps_to_target();
    test_alignment();
    test_lower_peak_and_wall_clock();
    test_censoring();
    test_bootstrap();
    return check_summary("speedup");
}
