/* A report's warnings (warnings.h). */
#include "warnings.h"

#include <math.h>

/* Whether a mean curve first reaches target between its last two evaluations. */
static int reached_at_last(const MethodCurves *mc, double steps_to_target) {
    return mc && mc->n_steps >= 2 && isfinite(steps_to_target) &&
           steps_to_target > mc->step[mc->n_steps - 2];
}

int report_warnings(StrBuf *sb, const WarnMethod *m, int n, int baseline, double range_top) {
    int count = 0;
    for (int i = 0; i < n; i++)
        if (m[i].curves && m[i].n_seeds < 3) {
            sb_printf(sb, "%s: %d seed%s: an interval over seeds needs at least 3\n", m[i].label,
                      m[i].n_seeds, m[i].n_seeds == 1 ? "" : "s");
            count++;
        }
    for (int i = 0; i < n; i++) {
        const SpeedupResult *sp = m[i].sp;
        if (!sp) continue;
        if (isfinite(sp->target) && range_top > 0 && sp->target < 0.05 * range_top) {
            sb_printf(sb, "%s: target %.3g is below 5%% of the metric's range (0 to %.3g)\n",
                      m[i].label, sp->target, range_top);
            count++;
        }
        if (reached_at_last(m[i].curves, sp->method.steps_to_target)) {
            sb_printf(sb, "%s: reaches the target %.3g only at its last evaluation\n", m[i].label,
                      sp->target);
            count++;
        }
        if (baseline >= 0 && baseline < n &&
            reached_at_last(m[baseline].curves, sp->baseline.steps_to_target)) {
            sb_printf(sb,
                      "%s (baseline): reaches the target %.3g of %s only at its last "
                      "evaluation\n",
                      m[baseline].label, sp->target, m[i].label);
            count++;
        }
        if (sp->resamples > 0 && sp->censored_resamples > 0.25 * sp->resamples) {
            sb_printf(sb, "%s: %d of %d bootstrap resamples (%.0f%%) are censored\n", m[i].label,
                      sp->censored_resamples, sp->resamples,
                      100.0 * sp->censored_resamples / sp->resamples);
            count++;
        }
        if (isfinite(sp->step_lo) && isfinite(sp->step_hi) && sp->step_lo <= 1.0 &&
            sp->step_hi >= 1.0) {
            sb_printf(sb, "%s: step speedup interval [%.3g, %.3g] contains 1\n", m[i].label,
                      sp->step_lo, sp->step_hi);
            count++;
        }
    }
    return count;
}
