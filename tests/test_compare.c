/* compare: Mann-Whitney U p-values against known values and exact enumeration, metrics file
 * round trips and error messages, and the regression gate's verdicts and exit statuses. */
#include "report/compare.h"
#include "report/metrics_file.h"
#include "report/stats.h"
#include "check.h"

#include <string.h>
#include <unistd.h>

static char tmpdir[256];

static void path_in_tmp(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static int contains(const char *hay, const char *needle) {
    return hay && strstr(hay, needle) != NULL;
}

/* ---- Mann-Whitney U ---- */

/* P(U >= u) for sizes m, n by enumerating every placement of the m x-ranks among m + n. */
static double brute_force_sf(int m, int n, int u) {
    long hits = 0, total = 0;
    for (unsigned mask = 0; mask < (1u << (m + n)); mask++) {
        if (__builtin_popcount(mask) != m) continue;
        /* U of x = for each x, the number of y's below it */
        int ys_below = 0, U = 0;
        for (int pos = 0; pos < m + n; pos++) {
            if (mask & (1u << pos))
                U += ys_below;
            else
                ys_below++;
        }
        total++;
        hits += U >= u;
    }
    return (double)hits / (double)total;
}

static void test_mwu_exact_sf_matches_enumeration(void) {
    int mismatches = 0, compared = 0;
    for (int m = 1; m <= 6; m++)
        for (int n = 1; n <= 7; n++)
            for (int u = 0; u <= m * n + 1; u++) {
                compared++;
                double got = stats_mwu_exact_sf(m, n, u);
                double want = brute_force_sf(m, n, u);
                if (fabs(got - want) > 1e-12) {
                    mismatches++;
                    fprintf(stderr, "sf(%d, %d, %d) = %.15g, want %.15g\n", m, n, u, got, want);
                }
            }
    CHECK(compared == 672); /* sum of (m*n + 2) */
    CHECK(mismatches == 0);
    CHECK(stats_mwu_exact_sf(5, 5, 0) == 1.0);
    CHECK_CLOSE(stats_mwu_exact_sf(8, 8, 64), 1.0 / 12870.0, 1e-12, 0);
    /* large: symmetric, so P(U >= mn/2) is a bit over 1/2 */
    double half = stats_mwu_exact_sf(50, 50, 1250);
    CHECK(half > 0.5 && half < 0.51);
}

static void check_mwu(const double *x, int nx, const double *y, int ny, double u, double p,
                      int exact) {
    MwuResult r;
    CHECK(stats_mann_whitney(x, nx, y, ny, &r) == 0);
    CHECK_CLOSE(r.u, u, 0, 1e-9);
    CHECK_CLOSE(r.p, p, 1e-9, 0);
    CHECK(r.exact == exact);
    /* swapping the samples mirrors U and keeps the two-sided p */
    MwuResult s;
    CHECK(stats_mann_whitney(y, ny, x, nx, &s) == 0);
    CHECK_CLOSE(s.u, (double)nx * ny - u, 0, 1e-9);
    CHECK_CLOSE(s.p, r.p, 1e-12, 0);
}

/* Known values. The first is scipy.stats.mannwhitneyu's documented example
 * (statistic=17.0, pvalue=0.1111111111111111). The rest were computed with python3 (scipy
 * was not installed) by full enumeration of rank placements (exact) and by scipy's asymptotic
 * formula: z = (max(U1, U2) - n1*n2/2 - 0.5) / sqrt(n1*n2/12 * ((n+1) - sum(t^3-t)/(n(n-1)))),
 * p = erfc(z / sqrt 2); that script reproduces the documented example's asymptotic p,
 * 0.11134688653314041, to 1e-15. */
static void test_mwu_known_values(void) {
    const double males[] = {19, 22, 16, 29, 24}, females[] = {20, 11, 17, 12};
    check_mwu(males, 5, females, 4, 17.0, 0.1111111111111111, 1);

    const double a1[] = {1, 2, 3, 4, 5}, a2[] = {6, 7, 8, 9, 10};
    check_mwu(a1, 5, a2, 5, 0.0, 0.00793650793651, 1); /* 2/252 */
    const double b1[] = {1.1, 2.3, 3.5, 4.2}, b2[] = {2.0, 3.9, 5.1, 6.3, 7.7};
    check_mwu(b1, 4, b2, 5, 4.0, 0.190476190476, 1);
    const double c1[] = {10.1, 10.4, 9.8, 10.0, 10.3, 9.9, 10.2, 10.5};
    const double c2[] = {12.1, 12.3, 11.9, 12.0, 12.4, 12.2, 11.8, 12.5};
    check_mwu(c1, 8, c2, 8, 0.0, 0.0001554001554, 1); /* 2/12870 */
    const double d1[] = {3.2, 1.5, 4.8, 2.2, 5.9, 3.3};
    const double d2[] = {2.9, 4.1, 6.0, 5.5, 3.8, 4.4, 5.2};
    check_mwu(d1, 6, d2, 7, 12.0, 0.234265734266, 1);

    /* ties: normal approximation with tie and continuity corrections */
    const double t1[] = {1, 2, 2, 3, 3, 3, 4}, t2[] = {2, 3, 4, 4, 5, 5, 6, 6};
    check_mwu(t1, 7, t2, 8, 8.5, 0.0251447611734, 0);

    /* beyond STATS_MWU_EXACT_MAX: normal approximation */
    double big1[60], big2[55];
    for (int i = 0; i < 60; i++) big1[i] = i;
    for (int i = 0; i < 55; i++) big2[i] = i + 20.5;
    check_mwu(big1, 60, big2, 55, 780.0, 1.12582077968e-06, 0);

    /* all values equal: no evidence */
    const double e[] = {2, 2, 2};
    MwuResult r;
    CHECK(stats_mann_whitney(e, 3, e, 3, &r) == 0);
    CHECK(r.p == 1.0 && r.exact == 0 && r.u == 4.5);
}

/* ---- metrics files ---- */

static void write_text(const char *name, const char *text) {
    char path[512];
    path_in_tmp(path, sizeof path, name);
    Err err;
    if (write_file_atomic(path, text, strlen(text), &err) != 0)
        fprintf(stderr, "write_text: %s\n", err.msg);
}

static void remove_tmp(const char *name) {
    char path[512];
    path_in_tmp(path, sizeof path, name);
    unlink(path);
}

static MetricRow row(const char *name, int higher, int exact, int gated, double rel, double abs,
                     double value) {
    MetricRow r;
    memset(&r, 0, sizeof r);
    snprintf(r.name, sizeof r.name, "%s", name);
    r.higher_is_better = higher;
    r.exact = exact;
    r.gated = gated;
    r.rel_tol = rel;
    r.abs_tol = abs;
    r.value = value;
    return r;
}

static void test_fingerprint(void) {
    char fp[256];
    machine_fingerprint(fp, sizeof fp);
    CHECK(strncmp(fp, "cpu=", 4) == 0);
    CHECK(contains(fp, ";cores="));
    CHECK(contains(fp, ";backends=ref"));
    CHECK(strpbrk(fp, "\t\r\n") == NULL);
    char again[256];
    machine_fingerprint(again, sizeof again);
    CHECK(strcmp(fp, again) == 0);
    char tiny[8];
    machine_fingerprint(tiny, sizeof tiny);
    CHECK(strcmp(tiny, "cpu=") == 0 || strlen(tiny) == 7);
}

static void test_round_trip(void) {
    MetricsFile mf = {0};
    Err err = {{0}};
    machine_fingerprint(mf.machine, sizeof mf.machine);
    const double values[] = {1.234567, 0.1, 1.0 / 3.0, -123.456e10, 1e-300, 40593.3, 0.0, 7};
    const char *names[] = {"loss@300/process=random,seed=1", "tokens_per_s/backend=onednn"};
    for (int i = 0; i < 8; i++) {
        /* even rows: an exact gated metric whose values vary (legal: compared as sampled) */
        MetricRow r = row(names[i % 2], i % 2, i % 2 == 0, i % 2 == 0, i % 2 ? 0.1 : 0.02,
                          i % 2 ? 0 : 0.01, values[i]);
        CHECK(metrics_file_add(&mf, &r, &err) == 0);
    }
    char path[512];
    path_in_tmp(path, sizeof path, "rt.tsv");
    CHECK(metrics_file_write(&mf, path, &err) == 0);
    MetricsFile back;
    int rc = metrics_file_read(&back, path, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK(back.n == mf.n);
    CHECK(strcmp(back.machine, mf.machine) == 0);
    int same = 0;
    for (int i = 0; i < mf.n && i < back.n; i++) {
        const MetricRow *a = &mf.rows[i], *b = &back.rows[i];
        same += strcmp(a->name, b->name) == 0 && a->higher_is_better == b->higher_is_better &&
                a->exact == b->exact && a->gated == b->gated && a->rel_tol == b->rel_tol &&
                a->abs_tol == b->abs_tol && a->value == b->value;
    }
    CHECK(same == mf.n);
    metrics_file_free(&back);

    /* the exact text, for one small file */
    MetricsFile small = {0};
    snprintf(small.machine, sizeof small.machine, "cpu=X;cores=2;backends=ref");
    MetricRow r = row("loss@300", 0, 1, 1, 0.02, 0.01, 1.234567);
    CHECK(metrics_file_add(&small, &r, &err) == 0);
    r = row("tokens_per_s", 1, 0, 0, 0.1, 0, 40593.3);
    CHECK(metrics_file_add(&small, &r, &err) == 0);
    CHECK(metrics_file_write(&small, path, &err) == 0);
    char *text;
    size_t len;
    CHECK(read_file_all(path, &text, &len, &err) == 0);
    CHECK(strcmp(text, "# mdmlab metrics v1\n"
                       "# machine: cpu=X;cores=2;backends=ref\n"
                       "metric\tdirection\tkind\tgate\trel_tol\tabs_tol\tvalue\n"
                       "loss@300\tlower\texact\tgate\t0.02\t0.01\t1.234567\n"
                       "tokens_per_s\thigher\tsampled\tinfo\t0.1\t0\t40593.3\n") == 0);
    free(text);
    metrics_file_free(&small);
    CHECK(small.rows == NULL && small.n == 0);

    /* add refuses rows that would not read back */
    r = row("a\tb", 0, 1, 1, 0, 0, 1);
    CHECK(metrics_file_add(&mf, &r, &err) == -1 && contains(err.msg, "tab"));
    r = row("", 0, 1, 1, 0, 0, 1);
    CHECK(metrics_file_add(&mf, &r, &err) == -1);
    r = row("x", 0, 1, 1, -0.1, 0, 1);
    CHECK(metrics_file_add(&mf, &r, &err) == -1);
    r = row("x", 0, 1, 1, 0, 0, NAN);
    CHECK(metrics_file_add(&mf, &r, &err) == -1);
    metrics_file_free(&mf);
    unlink(path);
}

#define HEAD  "# mdmlab metrics v1\nmetric\tdirection\tkind\tgate\trel_tol\tabs_tol\tvalue\n"
#define HEADM "metric\tdirection\tkind\tgate\trel_tol\tabs_tol\tvalue\n"

/* Reads `text` as a metrics file and checks the error is exactly "PATH<suffix>". */
static void check_read_error(const char *text, const char *suffix) {
    write_text("bad.tsv", text);
    char path[512], want[1024];
    path_in_tmp(path, sizeof path, "bad.tsv");
    snprintf(want, sizeof want, "%s%s", path, suffix);
    MetricsFile mf;
    Err err = {{0}};
    CHECK(metrics_file_read(&mf, path, &err) == -1);
    CHECK_MSG(strcmp(err.msg, want) == 0, "got \"%s\", want \"%s\"", err.msg, want);
    CHECK(mf.rows == NULL && mf.n == 0);
}

static void test_read_errors(void) {
    check_read_error(HEAD "a\tdown\texact\tgate\t0\t0\t1\n",
                     ":3: column 'direction': expected lower|higher, got 'down'");
    check_read_error(HEAD "a\tlower\tx\tgate\t0\t0\t1\n",
                     ":3: column 'kind': expected exact|sampled, got 'x'");
    check_read_error(HEAD "a\tlower\texact\tgated\t0\t0\t1\n",
                     ":3: column 'gate': expected gate|info, got 'gated'");
    check_read_error(HEAD "a\tlower\texact\tgate\t0\t0\t1\n"
                          "b\tlower\texact\tgate\t0\t0\tfast\n",
                     ":4: column 'value': expected a number, got 'fast'");
    check_read_error(HEAD "a\tlower\texact\tgate\t0\t0\t1.5x\n",
                     ":3: column 'value': expected a number, got '1.5x'");
    check_read_error(HEAD "a\tlower\texact\tgate\t0\t0\tnan\n",
                     ":3: column 'value': expected a number, got 'nan'");
    check_read_error(HEAD "a\tlower\texact\tgate\t-0.1\t0\t1\n",
                     ":3: column 'rel_tol': expected a number >= 0, got '-0.1'");
    check_read_error(HEAD "a\tlower\texact\tgate\t0\t\t1\n",
                     ":3: column 'abs_tol': expected a number, got ''");
    check_read_error(HEAD "a\tlower\texact\tgate\t0\t1\n",
                     ":3: expected 7 tab-separated columns, got 6");
    check_read_error(HEAD "a lower exact gate 0 0 1\n",
                     ":3: expected 7 tab-separated columns, got 1");
    check_read_error(HEAD "a\tlower\texact\tgate\t0\t0\t1\textra\n",
                     ":3: expected 7 tab-separated columns, got 8");
    check_read_error(HEAD "\tlower\texact\tgate\t0\t0\t1\n", ":3: column 'metric': empty name");
    check_read_error(HEAD "a\tlower\tsampled\tgate\t0\t0\t1\n"
                          "\n"
                          "a\thigher\tsampled\tgate\t0\t0\t2\n",
                     ":5: metric 'a': column 'direction' differs from line 3");
    check_read_error(HEAD "a\tlower\tsampled\tgate\t0.1\t0\t1\n"
                          "a\tlower\tsampled\tgate\t0.2\t0\t2\n",
                     ":4: metric 'a': column 'rel_tol' differs from line 3");
    check_read_error("# mdmlab metrics v2\n" HEADM, ":1: unsupported metrics file version '2' "
                                                    "(expected 1)");
    check_read_error("metric direction kind gate rel_tol abs_tol value\n",
                     ":1: expected the column header 'metric<TAB>direction<TAB>kind<TAB>gate"
                     "<TAB>rel_tol<TAB>abs_tol<TAB>value'");
    check_read_error("# only a comment\n", ": no column header line (empty metrics file?)");

    MetricsFile mf;
    Err err = {{0}};
    char path[512];
    path_in_tmp(path, sizeof path, "absent.tsv");
    CHECK(metrics_file_read(&mf, path, &err) == -1 && contains(err.msg, "absent.tsv"));

    /* accepted: CRLF, blank lines, comments, header without rows, machine with spaces */
    write_text("ok.tsv", "# mdmlab metrics v1\r\n# machine:  cpu=A B;cores=4 \r\n\r\n"
                         "# a note\r\n" HEADM "a\thigher\texact\tinfo\t0\t0\t-2.5e3\r\n");
    path_in_tmp(path, sizeof path, "ok.tsv");
    CHECK(metrics_file_read(&mf, path, &err) == 0);
    CHECK(strcmp(mf.machine, "cpu=A B;cores=4") == 0);
    CHECK(mf.n == 1 && mf.rows[0].value == -2500.0 && mf.rows[0].higher_is_better == 1 &&
          mf.rows[0].exact == 1 && mf.rows[0].gated == 0);
    metrics_file_free(&mf);
    write_text("ok.tsv", HEADM);
    CHECK(metrics_file_read(&mf, path, &err) == 0 && mf.n == 0 && mf.machine[0] == '\0');
    metrics_file_free(&mf);
    remove_tmp("ok.tsv");
    remove_tmp("bad.tsv");
}

/* ---- the gate ---- */

typedef struct Run {
    int status;
    char *out; /* what compare wrote to its FILE* */
    Err err;
} Run;

static Run run_compare(const char *base_text, const char *cur_text, const CompareOptions *opt) {
    Run r = {0};
    write_text("base.tsv", base_text);
    write_text("cur.tsv", cur_text);
    char base[512], cur[512];
    path_in_tmp(base, sizeof base, "base.tsv");
    path_in_tmp(cur, sizeof cur, "cur.tsv");
    CompareOptions def;
    compare_options_default(&def);
    size_t len = 0;
    FILE *f = open_memstream(&r.out, &len);
    r.status = compare_files(base, cur, opt ? opt : &def, f, &r.err);
    fclose(f);
    return r;
}

static void run_free(Run *r) {
    free(r->out);
    r->out = NULL;
}

/* One metric's sample rows: name, direction, kind, gate, tolerances, then each value. */
static void sample_rows(StrBuf *sb, const char *spec, const double *v, int n) {
    for (int i = 0; i < n; i++) sb_printf(sb, "%s\t%.17g\n", spec, v[i]);
}

static const double base8[] = {1003, 998, 1010, 995, 1001, 1007, 990, 1005};
/* 20% slower throughput, no overlap */
static const double slow8[] = {803, 798, 810, 795, 801, 807, 790, 805};
/* the same distribution, interleaved with base8 */
static const double noise8[] = {1000, 1004, 993, 1008, 997, 1002, 1006, 999};
/* 1% slower, every value below base8's: significant but within a 5% tolerance */
static const double slight8[] = {989, 985, 984, 986, 988, 983, 982, 987};

#define TPUT "tokens_per_s\thigher\tsampled\tgate\t0.05\t0"

static void test_exact_metrics(void) {
    const char *base = HEAD "loss\tlower\texact\tgate\t0.02\t0.01\t1.0\n"
                            "acc\thigher\texact\tgate\t0.02\t0.01\t0.80\n";
    Run r = run_compare(base,
                        HEAD "loss\tlower\texact\tgate\t0.02\t0.01\t1.05\n"
                             "acc\thigher\texact\tgate\t0.02\t0.01\t0.80\n",
                        NULL);
    CHECK(r.status == COMPARE_REGRESSION);
    CHECK(contains(r.out, "| loss | lower | 1 | 1.05 | +5.00% | exact, tol 2% & 0.01 | "
                          "**REGRESSION** |"));
    CHECK(contains(r.out, "| acc | higher | 0.8 | 0.8 | +0.00% | exact, tol 2% & 0.01 | ok |"));
    CHECK(contains(r.out, "\ncompare: 2 metrics, 1 regressions, 0 improved, 0 inconclusive, "
                          "0 missing\n"));
    CHECK(contains(r.out, "| metric | direction | baseline | current | change | test | status |"));
    run_free(&r);

    /* within rel_tol; and beyond rel_tol but within abs_tol: both tolerances must be exceeded */
    r = run_compare(base,
                    HEAD "loss\tlower\texact\tgate\t0.02\t0.01\t1.015\n"
                         "acc\thigher\texact\tgate\t0.02\t0.01\t0.795\n",
                    NULL);
    CHECK(r.status == COMPARE_OK);
    CHECK(!contains(r.out, "REGRESSION") && !contains(r.out, "improved |"));
    run_free(&r);
    r = run_compare(HEAD "loss\tlower\texact\tgate\t0.02\t0.01\t0.1\n",
                    HEAD "loss\tlower\texact\tgate\t0.02\t0.01\t0.105\n", NULL);
    CHECK(r.status == COMPARE_OK && contains(r.out, "| ok |"));
    run_free(&r);

    /* higher is better: accuracy dropping is the regression */
    r = run_compare(base,
                    HEAD "loss\tlower\texact\tgate\t0.02\t0.01\t1.0\n"
                         "acc\thigher\texact\tgate\t0.02\t0.01\t0.70\n",
                    NULL);
    CHECK(r.status == COMPARE_REGRESSION && contains(r.out, "-12.50%"));
    run_free(&r);

    /* improvement beyond tolerance passes and is reported */
    r = run_compare(base,
                    HEAD "loss\tlower\texact\tgate\t0.02\t0.01\t0.9\n"
                         "acc\thigher\texact\tgate\t0.02\t0.01\t0.90\n",
                    NULL);
    CHECK(r.status == COMPARE_OK);
    CHECK(contains(r.out, "| loss | lower | 1 | 0.9 | -10.00% | exact, tol 2% & 0.01 | "
                          "improved |"));
    CHECK(contains(r.out, "compare: 2 metrics, 0 regressions, 2 improved, 0 inconclusive, "
                          "0 missing"));
    run_free(&r);

    /* repeated identical exact values are one value */
    r = run_compare(HEAD "loss\tlower\texact\tgate\t0\t0\t2\nloss\tlower\texact\tgate\t0\t0\t2\n",
                    HEAD "loss\tlower\texact\tgate\t0\t0\t2\n", NULL);
    CHECK(r.status == COMPARE_OK && contains(r.out, "| loss | lower | 2 | 2 | +0.00% | exact"));
    run_free(&r);

    /* a zero baseline: the change is absolute */
    r = run_compare(HEAD "err\tlower\texact\tgate\t0\t0.5\t0\n",
                    HEAD "err\tlower\texact\tgate\t0\t0.5\t1\n", NULL);
    CHECK(r.status == COMPARE_REGRESSION && contains(r.out, "| +1 |"));
    run_free(&r);
}

static void test_sampled_metrics(void) {
    StrBuf b = {0}, c = {0};
    sb_printf(&b, HEAD);
    sample_rows(&b, TPUT, base8, 8);

    /* clear regression: 8 vs 8, 20% slower, no overlap; exact p = 2/12870 */
    sb_printf(&c, HEAD);
    sample_rows(&c, TPUT, slow8, 8);
    Run r = run_compare(b.data, c.data, NULL);
    CHECK(r.status == COMPARE_REGRESSION);
    CHECK(contains(r.out, "| tokens_per_s | higher | 1002 (8) | 802 (8) | -19.96% | "
                          "MWU exact p=0.000155, ratio [0."));
    CHECK(contains(r.out, "**REGRESSION** |"));
    run_free(&r);

    /* the same through compare_metrics: p and the ratio interval */
    MetricsFile bf, cf;
    Err err = {{0}};
    char bp[512], cp[512];
    path_in_tmp(bp, sizeof bp, "base.tsv");
    path_in_tmp(cp, sizeof cp, "cur.tsv");
    CHECK(metrics_file_read(&bf, bp, &err) == 0 && metrics_file_read(&cf, cp, &err) == 0);
    CompareOptions opt;
    compare_options_default(&opt);
    CompareReport rep;
    CHECK(compare_metrics(&bf, &cf, &opt, &rep, &err) == 0);
    CHECK(rep.n == 1 && rep.exit_status == COMPARE_REGRESSION && rep.regressions == 1);
    const MetricCompare *mc = &rep.m[0];
    CHECK(mc->sampled && mc->n_base == 8 && mc->n_cur == 8 && mc->p_exact);
    CHECK_CLOSE(mc->p, 2.0 / 12870.0, 1e-12, 0);
    CHECK(mc->base == 1002.0 && mc->cur == 802.0);
    /* medians of resamples lie within the samples' ranges: 790..810 over 990..1010 */
    CHECK(mc->ratio_lo >= 790.0 / 1010.0 && mc->ratio_hi <= 810.0 / 990.0);
    CHECK(mc->ratio_lo < 0.8004 && mc->ratio_hi > 0.8004 && mc->ratio_lo < mc->ratio_hi);
    printf("sampled regression: p=%.6g ratio [%.4f, %.4f]\n", mc->p, mc->ratio_lo, mc->ratio_hi);
    /* deterministic: the same seed gives the same interval; another seed a different one */
    CompareReport again;
    CHECK(compare_metrics(&bf, &cf, &opt, &again, &err) == 0);
    CHECK(again.m[0].ratio_lo == mc->ratio_lo && again.m[0].ratio_hi == mc->ratio_hi);
    compare_report_free(&again);
    opt.bootstrap = 0;
    CHECK(compare_metrics(&bf, &cf, &opt, &again, &err) == 0);
    CHECK(isnan(again.m[0].ratio_lo) && again.m[0].status == CMP_REGRESSION);
    compare_report_free(&again);
    compare_report_free(&rep);
    CHECK(rep.m == NULL);
    metrics_file_free(&bf);
    metrics_file_free(&cf);

    /* noise: same distribution, overlapping */
    c.len = 0;
    sb_printf(&c, HEAD);
    sample_rows(&c, TPUT, noise8, 8);
    r = run_compare(b.data, c.data, NULL);
    CHECK(r.status == COMPARE_OK && contains(r.out, "MWU exact p=") && contains(r.out, "| ok |"));
    run_free(&r);

    /* significant (p = 2/12870) but only 1% slower, inside the 5% tolerance */
    c.len = 0;
    sb_printf(&c, HEAD);
    sample_rows(&c, TPUT, slight8, 8);
    r = run_compare(b.data, c.data, NULL);
    CHECK(r.status == COMPARE_OK && contains(r.out, "p=0.000155") && contains(r.out, "| ok |"));
    run_free(&r);

    /* significantly faster but within tolerance: ok, not improved */
    r = run_compare(c.data, b.data, NULL);
    CHECK(r.status == COMPARE_OK && contains(r.out, "| ok |"));
    run_free(&r);
    r = run_compare(
        HEAD "lat\tlower\tsampled\tgate\t0.05\t0\t10\nlat\tlower\tsampled\tgate\t0.05\t0\t11\n"
             "lat\tlower\tsampled\tgate\t0.05\t0\t12\nlat\tlower\tsampled\tgate\t0.05\t0\t13\n"
             "lat\tlower\tsampled\tgate\t0.05\t0\t14\n",
        HEAD "lat\tlower\tsampled\tgate\t0.05\t0\t5\nlat\tlower\tsampled\tgate\t0.05\t0\t6\n"
             "lat\tlower\tsampled\tgate\t0.05\t0\t7\nlat\tlower\tsampled\tgate\t0.05\t0\t8\n"
             "lat\tlower\tsampled\tgate\t0.05\t0\t9\n",
        NULL);
    /* 5 vs 5 without overlap: p = 2/252 < 0.05, median 12 -> 7 */
    CHECK(r.status == COMPARE_OK && contains(r.out, "p=0.00794") &&
          contains(r.out, "| improved |"));
    run_free(&r);

    /* too few samples: 3 vs 8 */
    c.len = 0;
    sb_printf(&c, HEAD);
    sample_rows(&c, TPUT, slow8, 3);
    r = run_compare(b.data, c.data, NULL);
    CHECK(r.status == COMPARE_INCONCLUSIVE);
    CHECK(contains(r.out, "| 1002 (8) | 803 (3) |"));
    CHECK(contains(r.out, "| inconclusive (n=8/3) |"));
    CHECK(contains(r.out, "compare: 1 metrics, 0 regressions, 0 improved, 1 inconclusive, "
                          "0 missing"));
    run_free(&r);
    /* --min-samples 3 makes it decidable (exact p = 2/165 for 8 vs 3) */
    compare_options_default(&opt);
    opt.min_samples = 3;
    r = run_compare(b.data, c.data, &opt);
    CHECK(r.status == COMPARE_REGRESSION && contains(r.out, "p=0.0121"));
    run_free(&r);

    /* exact metric whose values vary is compared as sampled */
    c.len = 0;
    sb_printf(&c, HEAD);
    sample_rows(&c, "tokens_per_s\thigher\texact\tgate\t0.05\t0", slow8, 8);
    StrBuf e = {0};
    sb_printf(&e, HEAD);
    sample_rows(&e, "tokens_per_s\thigher\texact\tgate\t0.05\t0", base8, 8);
    r = run_compare(e.data, c.data, NULL);
    CHECK(r.status == COMPARE_REGRESSION &&
          contains(r.out, "exact values vary, as sampled: MWU exact p=0.000155"));
    run_free(&r);
    sb_free(&e);
    sb_free(&b);
    sb_free(&c);
}

static void test_missing_new_info_machine(void) {
    StrBuf b = {0}, c = {0};
    sb_printf(&b, HEAD "loss\tlower\texact\tgate\t0.02\t0.01\t1.0\n");
    sample_rows(&b, TPUT, base8, 8);

    /* missing gated metric: run failure, even with a regression elsewhere (2 > 1) */
    sb_printf(&c, HEAD "loss\tlower\texact\tgate\t0.02\t0.01\t2.0\n");
    Run r = run_compare(b.data, c.data, NULL);
    CHECK(r.status == COMPARE_FAILURE);
    CHECK(contains(r.out, "| tokens_per_s | higher | 1002 (8) | - | - | "));
    CHECK(contains(r.out, "| **missing** |"));
    CHECK(contains(r.out, "compare: 2 metrics, 1 regressions, 0 improved, 0 inconclusive, "
                          "1 missing"));
    CHECK_MSG(contains(r.err.msg, "cur.tsv: metric 'tokens_per_s' is missing"), "%s", r.err.msg);
    run_free(&r);

    /* new metric: listed, passes */
    c.len = 0;
    sb_printf(&c, HEAD "loss\tlower\texact\tgate\t0.02\t0.01\t1.0\n"
                       "mem_mb\tlower\texact\tgate\t0\t0\t512\n");
    sample_rows(&c, TPUT, noise8, 8);
    r = run_compare(b.data, c.data, NULL);
    CHECK(r.status == COMPARE_OK && contains(r.out, "| mem_mb | lower | - | 512 | - | "));
    CHECK(contains(r.out, "| new |") && contains(r.out, "compare: 3 metrics, 0 regressions"));
    run_free(&r);

    /* info metrics: a regression and a missing one are reported, never fail */
    r = run_compare(HEAD "loss\tlower\texact\tinfo\t0.02\t0.01\t1.0\n"
                         "gone\tlower\texact\tinfo\t0\t0\t1\n",
                    HEAD "loss\tlower\texact\tinfo\t0.02\t0.01\t3.0\n", NULL);
    CHECK(r.status == COMPARE_OK);
    CHECK(contains(r.out, "| regression (info) |") && contains(r.out, "| missing (info) |"));
    CHECK(contains(r.out, "compare: 2 metrics, 0 regressions, 0 improved, 0 inconclusive, "
                          "1 missing"));
    run_free(&r);
    /* an info sampled metric with too few samples is not inconclusive */
    r = run_compare(HEAD "t\thigher\tsampled\tinfo\t0\t0\t1\n",
                    HEAD "t\thigher\tsampled\tinfo\t0\t0\t2\n", NULL);
    CHECK(r.status == COMPARE_OK && contains(r.out, "| inconclusive (n=1/1) (info) |"));
    run_free(&r);

    /* machines differ: sampled metrics not gated (clear regression passes), exact still are */
    b.len = c.len = 0;
    sb_printf(&b, "# machine: cpu=A;cores=2;backends=ref\n" HEADM
                  "loss\tlower\texact\tgate\t0.02\t0.01\t1.0\n");
    sample_rows(&b, TPUT, base8, 8);
    sb_printf(&c, "# machine: cpu=B;cores=16;backends=ref\n" HEADM
                  "loss\tlower\texact\tgate\t0.02\t0.01\t1.0\n");
    sample_rows(&c, TPUT, slow8, 8);
    r = run_compare(b.data, c.data, NULL);
    CHECK(r.status == COMPARE_OK);
    CHECK(contains(r.out, "**machines differ**"));
    CHECK(contains(r.out, "machine: cpu=A;cores=2;backends=ref"));
    CHECK(contains(r.out, "| not comparable: machine differs |"));
    run_free(&r);
    c.len = 0;
    sb_printf(&c, "# machine: cpu=B;cores=16;backends=ref\n" HEADM
                  "loss\tlower\texact\tgate\t0.02\t0.01\t1.5\n");
    sample_rows(&c, TPUT, slow8, 8);
    r = run_compare(b.data, c.data, NULL);
    CHECK(r.status == COMPARE_REGRESSION && contains(r.out, "not comparable: machine differs"));
    run_free(&r);
    /* same machine: the sampled regression is gated */
    c.len = 0;
    sb_printf(&c, "# machine: cpu=A;cores=2;backends=ref\n" HEADM
                  "loss\tlower\texact\tgate\t0.02\t0.01\t1.0\n");
    sample_rows(&c, TPUT, slow8, 8);
    r = run_compare(b.data, c.data, NULL);
    CHECK(r.status == COMPARE_REGRESSION && !contains(r.out, "machines differ"));
    run_free(&r);

    /* precedence: regression (1) beats inconclusive (3) */
    r = run_compare(HEAD "loss\tlower\texact\tgate\t0\t0\t1\nt\thigher\tsampled\tgate\t0\t0\t1\n",
                    HEAD "loss\tlower\texact\tgate\t0\t0\t2\nt\thigher\tsampled\tgate\t0\t0\t1\n",
                    NULL);
    CHECK(r.status == COMPARE_REGRESSION);
    run_free(&r);

    /* a metric whose direction changed cannot be compared: run failure */
    r = run_compare(HEAD "loss\tlower\texact\tgate\t0\t0\t1\n",
                    HEAD "loss\thigher\texact\tgate\t0\t0\t1\n", NULL);
    CHECK(r.status == COMPARE_FAILURE && contains(r.out, "definition differs: direction"));
    CHECK(contains(r.err.msg, "metric 'loss': direction differs"));
    run_free(&r);
    sb_free(&b);
    sb_free(&c);
}

static void test_file_errors_and_markdown(void) {
    /* a malformed file is a run failure naming file and line; nothing is written */
    Run r = run_compare(HEAD "loss\tlower\texact\tgate\t0\t0\t1\n",
                        HEAD "loss\tlower\texact\tgate\t0\t0\t1\nacc\tup\texact\tgate\t0\t0\t1\n",
                        NULL);
    CHECK(r.status == COMPARE_FAILURE);
    CHECK_MSG(contains(r.err.msg, "cur.tsv:4: column 'direction': expected lower|higher, got "
                                  "'up'"),
              "%s", r.err.msg);
    CHECK(r.out && r.out[0] == '\0');
    run_free(&r);
    r = run_compare(HEAD "loss\tlower\texact\tgate\t0\t0\tabc\n",
                    HEAD "loss\tlower\texact\tgate\t0\t0\t1\n", NULL);
    CHECK(r.status == COMPARE_FAILURE &&
          contains(r.err.msg, "base.tsv:3: column 'value': expected a number, got 'abc'"));
    run_free(&r);
    r = run_compare(HEAD "loss\tlower\texact\tgate\t0\t0\n",
                    HEAD "loss\tlower\texact\tgate\t0\t0\t1\n", NULL);
    CHECK(r.status == COMPARE_FAILURE &&
          contains(r.err.msg, "base.tsv:3: expected 7 tab-separated columns, got 6"));
    run_free(&r);

    /* --markdown: the same text, written atomically */
    char md[512];
    path_in_tmp(md, sizeof md, "out.md");
    CompareOptions opt;
    compare_options_default(&opt);
    opt.markdown_path = md;
    r = run_compare(HEAD "loss\tlower\texact\tgate\t0.02\t0.01\t1.0\n",
                    HEAD "loss\tlower\texact\tgate\t0.02\t0.01\t1.5\n", &opt);
    CHECK(r.status == COMPARE_REGRESSION);
    char *text;
    size_t len;
    Err err;
    CHECK(read_file_all(md, &text, &len, &err) == 0);
    CHECK(r.out && strcmp(text, r.out) == 0);
    free(text);
    run_free(&r);
    unlink(md);
    /* an unwritable --markdown path is a run failure */
    path_in_tmp(md, sizeof md, "no/such/dir/out.md");
    r = run_compare(HEAD "loss\tlower\texact\tgate\t0.02\t0.01\t1.0\n",
                    HEAD "loss\tlower\texact\tgate\t0.02\t0.01\t1.0\n", &opt);
    CHECK(r.status == COMPARE_FAILURE && contains(r.err.msg, "out.md"));
    run_free(&r);

    /* metric names with '|' are escaped in the table */
    r = run_compare(HEAD "a|b\tlower\texact\tgate\t0\t0\t1\n",
                    HEAD "a|b\tlower\texact\tgate\t0\t0\t1\n", NULL);
    CHECK(r.status == COMPARE_OK && contains(r.out, "| a\\|b | lower |"));
    run_free(&r);
    remove_tmp("base.tsv");
    remove_tmp("cur.tsv");
}

static void test_parse_args(void) {
    CompareOptions opt;
    const char *b, *c;
    Err err = {{0}};
    char *args[] = {"base.tsv",      "--alpha", "0.01",   "cur.tsv", "--bootstrap", "500",
                    "--min-samples", "3",       "--seed", "7",       "--markdown",  "out.md"};
    CHECK(compare_parse_args(12, args, &opt, &b, &c, &err) == 0);
    CHECK(strcmp(b, "base.tsv") == 0 && strcmp(c, "cur.tsv") == 0);
    CHECK(opt.alpha == 0.01 && opt.bootstrap == 500 && opt.min_samples == 3 && opt.seed == 7);
    CHECK(opt.markdown_path && strcmp(opt.markdown_path, "out.md") == 0);

    char *defaults[] = {"a", "b"};
    CHECK(compare_parse_args(2, defaults, &opt, &b, &c, &err) == 0);
    CHECK(opt.alpha == 0.05 && opt.bootstrap == 2000 && opt.min_samples == 5 &&
          opt.markdown_path == NULL);

    char *help[] = {"--help"};
    CHECK(compare_parse_args(1, help, &opt, &b, &c, &err) == 1);
    char *one[] = {"a"};
    CHECK(compare_parse_args(1, one, &opt, &b, &c, &err) == -1 &&
          contains(err.msg, "BASELINE.tsv and CURRENT.tsv"));
    char *three[] = {"a", "b", "c"};
    CHECK(compare_parse_args(3, three, &opt, &b, &c, &err) == -1 &&
          contains(err.msg, "unexpected argument 'c'"));
    char *bad_alpha[] = {"a", "b", "--alpha", "1.5"};
    CHECK(compare_parse_args(4, bad_alpha, &opt, &b, &c, &err) == -1 &&
          contains(err.msg, "--alpha: expected a number in (0, 1), got '1.5'"));
    char *bad_n[] = {"a", "b", "--bootstrap", "many"};
    CHECK(compare_parse_args(4, bad_n, &opt, &b, &c, &err) == -1 && contains(err.msg, "'many'"));
    char *no_value[] = {"a", "b", "--markdown"};
    CHECK(compare_parse_args(3, no_value, &opt, &b, &c, &err) == -1 &&
          contains(err.msg, "--markdown needs a value"));
    char *unknown[] = {"a", "b", "--beta", "1"};
    CHECK(compare_parse_args(4, unknown, &opt, &b, &c, &err) == -1 &&
          contains(err.msg, "unknown option '--beta'"));
    CHECK(contains(compare_usage, "usage: mdmlab compare BASELINE.tsv CURRENT.tsv"));
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mdm_test_compare_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    double t0 = now_seconds();
    test_mwu_exact_sf_matches_enumeration();
    test_mwu_known_values();
    test_fingerprint();
    test_round_trip();
    test_read_errors();
    test_exact_metrics();
    test_sampled_metrics();
    test_missing_new_info_machine();
    test_file_errors_and_markdown();
    test_parse_args();
    printf("compare: %.2f s\n", now_seconds() - t0);
    CHECK(rmdir(tmpdir) == 0);
    return check_summary("compare");
}
