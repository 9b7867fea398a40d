/* Sweep files: grid expansion (products, zips, excludes, generators) against hand-written
 * expectations, run ids stable across key order (and equal to the written config's hash for
 * every run), the run store's status round trip, malformed sweep files giving errors that name
 * file, line and key, unknown names and a process's needs refused before anything runs, and
 * the limits: huge or non-finite axes refused at once, large grids expanded in linear time. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sweep/runstore.h"
#include "sweep/sweep.h"
#include "check.h"

static char tmpdir[] = "/tmp/mdmlab_sweep_XXXXXX";

static const char *write_yaml(const char *name, const char *text) {
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

/* Loads text as a sweep file; returns 0 and fills sw, or -1 with err. */
static int load(Sweep *sw, const char *text, Err *err) {
    return sweep_load(sw, write_yaml("s.yaml", text), NULL, 0, err);
}

/* Run i's resolved config (runs hold none; sweep_run_config rebuilds it). */
static Config run_cfg(const Sweep *sw, int i) {
    Config cfg;
    Err err = {{0}};
    memset(&cfg, 0, sizeof(cfg));
    CHECK_MSG(sweep_run_config(sw, &sw->runs[i], &cfg, &err) == 0, "%s", err.msg);
    return cfg;
}

static void test_product_order(void) {
    Sweep sw;
    Err err = {{0}};
    int rc = load(&sw,
                  "train: {steps: 10}\n"
                  "seeds: [1, 2]\n"
                  "grid:\n"
                  "  process: [random, puma]\n",
                  &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK(sw.n_runs == 4);
    /* seeds are the slowest axis, so a cut-off sweep has every method for the first seed */
    const char *want_method[] = {"process=random", "process=puma", "process=random",
                                 "process=puma"};
    long want_seed[] = {1, 1, 2, 2};
    for (int i = 0; i < 4 && rc == 0; i++) {
        CHECK(sw.runs[i].index == i);
        CHECK_MSG(strcmp(sw.runs[i].method, want_method[i]) == 0, "run %d: %s", i,
                  sw.runs[i].method);
        CHECK(sw.runs[i].seed == want_seed[i]);
        CHECK(run_cfg(&sw, i).seed == want_seed[i]);
        CHECK(run_cfg(&sw, i).train.steps == 10);
        CHECK(strlen(sw.runs[i].id) == 16);
        for (int j = 0; j < i; j++) CHECK(strcmp(sw.runs[i].id, sw.runs[j].id) != 0);
    }
    CHECK(strcmp(run_cfg(&sw, 1).process, "puma") == 0);
    sweep_free(&sw);
}

static void test_generators(void) {
    Sweep sw;
    Err err = {{0}};
    int rc = load(&sw,
                  "grid:\n"
                  "  train.steps: range(10, 40, 10)\n"
                  "  train.lr: logspace(-4, -2, 3)\n"
                  "  train.weight_decay: linspace(0, 0.5, 2)\n",
                  &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK(sw.n_runs == 3 * 3 * 2);
    long steps[] = {10, 20, 30};
    double lr[] = {1e-4, 1e-3, 1e-2}, wd[] = {0.0, 0.5};
    for (int i = 0; i < sw.n_runs && rc == 0; i++) {
        CHECK(run_cfg(&sw, i).train.steps == steps[i / 6]);
        CHECK_CLOSE(run_cfg(&sw, i).train.lr, lr[(i / 2) % 3], 1e-12, 0);
        CHECK_CLOSE(run_cfg(&sw, i).train.weight_decay, wd[i % 2], 0, 1e-15);
    }
    CHECK(strcmp(sw.runs[0].method, "train.steps=10,train.lr=0.0001,train.weight_decay=0") == 0);
    sweep_free(&sw);
    /* a descending range, and nesting a section in the grid */
    rc = load(&sw, "grid:\n  model: {d: [32, 64]}\n  train.batch: range(8, 0, -4)\n", &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK(sw.n_runs == 4);
    if (rc == 0) {
        CHECK(run_cfg(&sw, 0).model.d == 32 && run_cfg(&sw, 0).train.batch == 8);
        CHECK(run_cfg(&sw, 1).model.d == 32 && run_cfg(&sw, 1).train.batch == 4);
        CHECK(run_cfg(&sw, 3).model.d == 64 && run_cfg(&sw, 3).train.batch == 4);
    }
    sweep_free(&sw);
}

static void test_zip_exclude(void) {
    Sweep sw;
    Err err = {{0}};
    int rc = load(&sw,
                  "seeds: [1, 2]\n"
                  "grid: {process: [random, puma]}\n"
                  "zip:\n"
                  "  - {model.d: [32, 64], model.heads: [2, 4]}\n"
                  "exclude:\n"
                  "  - {process: random, model.d: 64}\n"
                  "  - {seed: 2, process: [puma]}\n",
                  &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    /* 2 seeds x 2 processes x 2 zipped pairs = 8, minus random with d=64 (2 runs) and puma
     * with seed 2 (2 runs) = 4 */
    CHECK_MSG(sw.n_runs == 4, "%d runs", sw.n_runs);
    CHECK(sw.n_excluded == 4);
    for (int i = 0; i < sw.n_runs && rc == 0; i++) {
        Config cfg = run_cfg(&sw, i);
        const Config *c = &cfg;
        CHECK(c->model.heads == c->model.d / 16); /* zipped, never crossed */
        CHECK(!(strcmp(c->process, "random") == 0 && c->model.d == 64));
        CHECK(!(c->seed == 2 && strcmp(c->process, "puma") == 0));
        CHECK(sw.runs[i].index == i);
    }
    if (rc == 0) CHECK(strcmp(sw.runs[1].method, "process=puma,model.d=32,model.heads=2") == 0);
    sweep_free(&sw);
    /* exclusion compares parsed values: 1e-3 matches 0.001 */
    rc = load(&sw, "grid: {train.lr: [0.001, 0.002]}\nexclude: [{train.lr: 1e-3}]\n", &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK(sw.n_runs == 1 && run_cfg(&sw, 0).train.lr == 0.002);
    sweep_free(&sw);
    /* a schedule-valued axis: a list of schedules */
    rc = load(&sw, "grid:\n  puma.K_schedule: [[[4, 0]], [[2, 0], [4, 100]]]\n", &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK(sw.n_runs == 2);
    if (rc == 0) {
        char schedule[64];
        Config second = run_cfg(&sw, 1);
        CHECK(config_format_value(&second, "puma.K_schedule", schedule, sizeof schedule) == 0 &&
              strcmp(schedule, "[[2, 0], [4, 100]]") == 0);
        CHECK(strcmp(sw.runs[1].method, "puma.K_schedule=[[2,0],[4,100]]") == 0);
    }
    sweep_free(&sw);
}

static void test_ids_stable(void) {
    Sweep a, b;
    Err err = {{0}};
    int rc = load(&a,
                  "model: {d: 32, heads: 2}\ntrain: {steps: 5, lr: 0.001}\n"
                  "grid: {process: [random, puma], seed: [3]}\n",
                  &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    rc |= load(&b,
               "train: {lr: 1e-3, steps: 5}\nmodel: {heads: 2, d: 32}\n"
               "grid: {seed: [3], process: [random, puma]}\n",
               &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc == 0) {
        CHECK(a.n_runs == 2 && b.n_runs == 2);
        /* same configs (order within the file and spelling of numbers aside) → same ids */
        int matched = 0;
        for (int i = 0; i < a.n_runs; i++)
            for (int j = 0; j < b.n_runs; j++) matched += strcmp(a.runs[i].id, b.runs[j].id) == 0;
        CHECK(matched == 2);
        /* where and how a run executes does not change its id; what it trains does */
        Config c = run_cfg(&a, 0);
        char id[SWEEP_ID_LEN];
        snprintf(c.out_dir, sizeof(c.out_dir), "/elsewhere");
        c.threads = 7;
        sweep_run_id(&c, id);
        CHECK(strcmp(id, a.runs[0].id) == 0);
        c.train.steps = 6;
        sweep_run_id(&c, id);
        CHECK(strcmp(id, a.runs[0].id) != 0);
    }
    sweep_free(&a);
    sweep_free(&b);
    /* command-line overrides reach every run and change ids */
    char *ov[] = {"train.steps=7"};
    rc = sweep_load(&a, write_yaml("o.yaml", "grid: {seed: [1, 2]}\n"), ov, 1, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK(rc == 0 && run_cfg(&a, 0).train.steps == 7 && run_cfg(&a, 1).train.steps == 7);
    sweep_free(&a);
}

/* A malformed sweep file fails with one message naming the file, the line and the key. */
static void expect_error(const char *text, const char *want1, const char *want2) {
    Sweep sw;
    Err err = {{0}};
    int rc = load(&sw, text, &err);
    CHECK_MSG(rc != 0, "accepted: %s", text);
    CHECK_MSG(strstr(err.msg, want1) && strstr(err.msg, want2), "'%s' lacks '%s' / '%s'", err.msg,
              want1, want2);
    CHECK(strchr(err.msg, '\n') == NULL);
    sweep_free(&sw);
}

static void test_errors(void) {
    expect_error("grid:\n  model.dd: [1, 2]\n", "s.yaml:2", "model.dd");
    expect_error("grid:\n  model.d: [32, big]\n", "s.yaml:2", "model.d");
    expect_error("grid:\n  train.lr: logspace(-4, -2)\n", "s.yaml:2", "logspace");
    expect_error("grid:\n  train.steps: range(1, 5, 0)\n", "s.yaml:2", "range step");
    expect_error("grid:\n  train.steps: []\n", "s.yaml:2", "empty list");
    expect_error("zip:\n  - {model.d: [32, 64], model.heads: [2]}\n", "s.yaml:2", "equal lengths");
    expect_error("seeds: [1]\ngrid:\n  seed: [2, 3]\n", "s.yaml:3", "already an axis");
    expect_error("grid:\n  process: [random\n", "s.yaml", "YAML syntax error");
    expect_error("report:\n  metirc: margin:1\n", "s.yaml:2", "report.metirc");
    expect_error("report:\n  metric: margin\n", "s.yaml", "report.metric");
    expect_error("sweep:\n  jobs: two\n", "s.yaml:2", "sweep.jobs");
    expect_error("grid: {process: [random]}\nexclude: [{process: random}]\n", "s.yaml",
                 "every run is excluded");
    expect_error("grid: {model.d: [30]}\n", "s.yaml", "model.d=30"); /* fails validation */
    expect_error("trian: {steps: 3}\ngrid: {seed: [1]}\n", "s.yaml:1", "trian");
}

/* Like expect_error with any number of wanted parts (NULL-terminated); returns how long the
 * refusal took, in seconds. */
static double expect_error_parts(const char *text, ...) {
    Sweep sw;
    Err err = {{0}};
    double t0 = now_seconds();
    int rc = load(&sw, text, &err);
    double elapsed = now_seconds() - t0;
    CHECK_MSG(rc != 0, "accepted: %s", text);
    CHECK_MSG(strchr(err.msg, '\n') == NULL, "not one line: %s", err.msg);
    va_list ap;
    va_start(ap, text);
    for (const char *want = va_arg(ap, const char *); want; want = va_arg(ap, const char *))
        CHECK_MSG(strstr(err.msg, want), "'%s' lacks '%s'", err.msg, want);
    va_end(ap);
    sweep_free(&sw);
    return elapsed;
}

/* An axis or a grid larger than the run limit is refused by counting, before any value or run
 * is made: at once, naming the key. */
static void test_limits(void) {
    double t = expect_error_parts("seeds: range(0, 1e9)\n", "s.yaml:1", "key 'seed'",
                                  "1000000000 values", NULL);
    CHECK_MSG(t < 10.0, "refusing seeds: range(0, 1e9) took %.2f s", t);
    t = expect_error_parts("grid:\n  train.lr: range(0, 1e12)\n", "s.yaml:2", "key 'train.lr'",
                           "more than the 100000 runs", NULL);
    CHECK_MSG(t < 10.0, "refusing range(0, 1e12) took %.2f s", t);
    expect_error_parts("grid:\n  train.lr: linspace(0.1, 1, 1e7)\n", "s.yaml:2", "train.lr",
                       "10000000 values", NULL);
    expect_error_parts("seeds: range(0, 100001)\n", "s.yaml:1", "seed", "100001 values", NULL);
    t = expect_error_parts("seeds: range(0, 1000)\ngrid:\n  train.steps: range(1, 1001)\n",
                           "s.yaml", "more than 100000 runs", "seed[1000] x train.steps[1000]",
                           NULL);
    CHECK_MSG(t < 10.0, "refusing a 10^6-run grid took %.2f s", t);
    /* four axes of 100000 values: their product, 10^20, would overflow a 64-bit count */
    t = expect_error_parts("seeds: range(0, 100000)\ngrid:\n  train.steps: range(1, 100001)\n"
                           "  train.log_every: range(1, 100001)\n"
                           "  train.eval_every: range(1, 100001)\n",
                           "s.yaml", "more than 100000 runs", "seed[100000] x train.steps[100000]",
                           NULL);
    CHECK_MSG(t < 10.0, "refusing a 10^20-run grid took %.2f s", t);
}

/* NaN, infinite and out-of-range numbers are errors, never converted. */
static void test_non_finite(void) {
    expect_error_parts("grid:\n  train.steps: range(nan, 1, 1)\n", "s.yaml:2", "train.steps",
                       "finite", NULL);
    expect_error_parts("grid:\n  train.steps: range(0, inf)\n", "s.yaml:2", "finite", NULL);
    expect_error_parts("grid:\n  train.lr: linspace(0.1, 1, nan)\n", "s.yaml:2", "finite", NULL);
    expect_error_parts("grid:\n  train.lr: logspace(0, 400, 2)\n", "s.yaml:2", "train.lr",
                       "not a finite number", NULL);
    expect_error_parts("grid:\n  seed: range(9007199254740993, 9007199254740999)\n", "s.yaml:2",
                       "2^53", NULL);
    expect_error_parts("grid: {seed: [1]}\nreport: {bootstrap: 1e12}\n", "s.yaml:2",
                       "report.bootstrap", "1e12", NULL);
    expect_error_parts("grid: {seed: [1]}\nreport: {bootstrap: nan}\n", "s.yaml:2",
                       "report.bootstrap", NULL);
    expect_error_parts("report:\n  metric: margin:99999999999\n", "s.yaml", "report.metric", NULL);
    expect_error_parts("report:\n  metric: margin:1x\n", "s.yaml", "report.metric", NULL);
    expect_error_parts("sweep: {jobs: 1e10}\n", "s.yaml:1", "sweep.jobs", NULL);
    expect_error_parts("sweep: {timeout: inf}\n", "s.yaml:1", "sweep.timeout", NULL);
    SweepReportOptions o;
    Err err = {{0}};
    const char *text = "report: {bootstrap: 3e9}\n";
    CHECK(sweep_report_options(text, strlen(text), "r.yaml", &o, &err) != 0);
    CHECK_MSG(strstr(err.msg, "r.yaml:1") && strstr(err.msg, "report.bootstrap"), "%s", err.msg);
}

/* Names of registered kinds and a process's needs are checked for every run before any runs,
 * with the file, the line, the key and the value (and the name meant, when it is close). */
static void test_names_checked_first(void) {
    expect_error_parts("grid: {process: [random, PUMA]}\n", "s.yaml:1", "key 'process'", "'PUMA'",
                       "did you mean 'puma'", NULL);
    expect_error_parts("seeds: [1, 2]\ngrid:\n  task.name: [sudoku, sudok]\n", "s.yaml:3",
                       "key 'task.name'", "'sudok'", "did you mean 'sudoku'", NULL);
    expect_error_parts("zip:\n  - {backend: [ref, gpu9], seed: [1, 2]}\n", "s.yaml:2",
                       "key 'backend'", "'gpu9'", "known: auto", NULL);
    expect_error_parts("train: {steps: 5}\ntask: {name: txt}\nseeds: [1]\n", "s.yaml:2",
                       "key 'task.name'", "'txt'", "did you mean 'text'", NULL);
    expect_error_parts("exclude: [{process: rnadom}]\n", "s.yaml:1", "'rnadom'",
                       "did you mean 'random'", NULL);
    Sweep sw;
    Err err = {{0}};
    char *ov[] = {"process=blok"};
    CHECK(sweep_load(&sw, write_yaml("o.yaml", "seeds: [1]\n"), ov, 1, &err) != 0);
    CHECK_MSG(strstr(err.msg, "o.yaml") && strstr(err.msg, "override 'process=blok'") &&
                  strstr(err.msg, "did you mean 'block'"),
              "%s", err.msg);
    sweep_free(&sw);
    /* AR needs causal attention and shifted logits: refused before run 0 trains */
    expect_error_parts("model: {causal: false}\nseeds: [1]\ngrid:\n  process: [random, ar]\n",
                       "s.yaml:4", "run process=ar seed=1", "'model.causal'", "needs", NULL);
    expect_error_parts("grid:\n  process: [random, ar]\n  model.causal: [false]\n", "s.yaml:2",
                       "'model.causal'", NULL);
    /* ... unless the combination is excluded: excluded runs are never checked */
    int rc = load(&sw,
                  "grid:\n  process: [random, ar]\n  model.causal: [false, true]\n"
                  "  model.shift_logits: [false, true]\n"
                  "exclude:\n  - {process: ar, model.causal: false}\n"
                  "  - {process: ar, model.shift_logits: false}\n",
                  &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_MSG(sw.n_runs == 5 && sw.n_excluded == 3, "%d runs, %d excluded", sw.n_runs,
              sw.n_excluded);
    sweep_free(&sw);
}

/* A 20,000-run grid and a 20,000-value exclusion expand in linear time; each run's id is the
 * hash of its written config. The time limits are hang guards
 * for a loaded machine (a quadratic expansion took 4-10 s at 20,000 runs, 55 s at 100,000;
 * the linear one takes well under a second), not speed claims: those are in the README. */
static void test_scale_and_ids(void) {
    Sweep sw;
    Err err = {{0}};
    double t0 = now_seconds();
    int rc = load(&sw, "seeds: range(0, 200)\ngrid:\n  train.lr: logspace(-4, -2, 100)\n", &err);
    double t = now_seconds() - t0;
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK(sw.n_runs == 20000);
    CHECK_MSG(t < 20.0, "a 20000-run grid took %.2f s to expand", t);
    for (int i = 0; i < sw.n_runs && rc == 0; i += 997) {
        Config c = run_cfg(&sw, i);
        char id[SWEEP_ID_LEN];
        sweep_run_id(&c, id);
        CHECK_MSG(strcmp(id, sw.runs[i].id) == 0, "run %d: %s != %s", i, sw.runs[i].id, id);
        CHECK(c.seed == i / 100 && sw.runs[i].index == i);
    }
    sweep_free(&sw);
    t0 = now_seconds();
    rc = load(&sw, "seeds: range(0, 20000)\nexclude:\n  - seed: range(5, 20000)\n", &err);
    t = now_seconds() - t0;
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK(sw.n_runs == 5 && sw.n_excluded == 19995);
    CHECK_MSG(t < 20.0, "a 20000-value exclusion took %.2f s", t);
    sweep_free(&sw);
    /* every kind of value in one grid: each run's id is its written config's hash */
    rc = load(&sw,
              "model: {d: 32, heads: 2}\nseeds: [1, 2, 3]\n"
              "grid:\n  process: [random, puma, block]\n  train.lr: logspace(-4, -2, 3)\n"
              "  model.tied_head: [true, false]\n"
              "  puma.K_schedule: [[[4, 0]], [[2, 0], [4, 100]]]\n  threads: [3]\n"
              "zip:\n  - {task.layout: [prompt, inplace], train.warmup_steps: [0, 5]}\n"
              "exclude:\n  - {process: random, train.lr: [1e-3, 0.01]}\n",
              &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_MSG(sw.n_runs == 3 * 2 * 2 * 2 * (1 + 3 + 3), "%d runs", sw.n_runs);
    for (int i = 0; i < sw.n_runs && rc == 0; i++) {
        Config c = run_cfg(&sw, i);
        char id[SWEEP_ID_LEN];
        sweep_run_id(&c, id);
        CHECK_MSG(strcmp(id, sw.runs[i].id) == 0, "run %d (%s): %s != %s", i, sw.runs[i].method,
                  sw.runs[i].id, id);
    }
    sweep_free(&sw);
    /* two runs with one config are still found, among many */
    expect_error_parts("seeds: range(0, 5000)\ngrid:\n  train.lr: [0.001, 1e-3]\n", "s.yaml",
                       "runs 0 (train.lr=0.001 seed=0) and 1 (train.lr=1e-3 seed=0)", "same config",
                       NULL);
}

/* Values nested past any schedule, or aliases that refer to themselves, are refused. */
static void test_nesting(void) {
    expect_error_parts("grid:\n  puma.K_schedule: [[[[[[[[[[[[1]]]]]]]]]]]]\n", "s.yaml:2",
                       "nested", NULL);
    expect_error_parts("grid:\n  puma.K_schedule: &a [*a]\n", "s.yaml", NULL);
}

/* A status.json holding text fails to read, with an error naming the file and `what`. */
static void expect_status_error(const char *dir, const char *text, const char *what) {
    char path[700];
    snprintf(path, sizeof(path), "%s/status.json", dir);
    Err err = {{0}};
    RunStatus st;
    CHECK(write_file_atomic(path, text, strlen(text), &err) == 0);
    int rc = runstore_read_status(dir, &st, &err);
    CHECK_MSG(rc != 0 && strstr(err.msg, "status.json") && strstr(err.msg, what), "%s: '%s'", text,
              rc ? err.msg : "read");
}

static void test_status_round_trip(void) {
    Sweep sw;
    Err err = {{0}};
    int rc = load(&sw, "grid: {seed: [5]}\n", &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc) return;
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/run", tmpdir);
    CHECK(make_dirs(dir, &err) == 0);
    RunStatus st, back;
    CHECK(runstore_read_status(dir, &st, &err) == 0 && st.state == RUN_PENDING);
    memset(&st, 0, sizeof(st));
    st.state = RUN_FAILED;
    st.attempts = 3;
    st.exit_code = 1;
    st.term_signal = 9;
    st.elapsed_s = 12.5;
    snprintf(st.reason, sizeof(st.reason), "exit code 1: \"quoted\" \\ and\ttab, \001 \xc3\xa9");
    CHECK(runstore_write_status(dir, &sw.runs[0], &st, &err) == 0);
    CHECK_MSG(runstore_read_status(dir, &back, &err) == 0, "%s", err.msg);
    CHECK(back.state == RUN_FAILED && back.attempts == 3 && back.exit_code == 1);
    CHECK(back.term_signal == 9 && back.elapsed_s == 12.5);
    CHECK_MSG(strcmp(back.reason, st.reason) == 0, "%s", back.reason);
    /* a lock is exclusive while held */
    int fd = runstore_lock(dir, &err);
    CHECK(fd >= 0);
    CHECK(runstore_lock(dir, &err) == -2);
    close(fd);
    fd = runstore_lock(dir, &err);
    CHECK(fd >= 0);
    close(fd);
    /* a corrupt status file is an error naming it, not "pending" */
    expect_status_error(dir, "{\"state\": \"exploded\"", "unterminated object");
    expect_status_error(dir, "{\"state\": \"done\", \"attempts\": 1}", "'exit_code'");
    expect_status_error(dir, "{\"state\": 2}", "'state'");
    snprintf(st.reason, sizeof(st.reason), "ok");
    CHECK(runstore_write_status(dir, &sw.runs[0], &st, &err) == 0);
    char path[700], *text;
    size_t len;
    snprintf(path, sizeof(path), "%s/status.json", dir);
    CHECK(read_file_all(path, &text, &len, &err) == 0);
    char *state = strstr(text, "\"failed\"");
    CHECK(state != NULL);
    if (state) {
        memcpy(state, "\"zapped\"", 8); /* as long as "failed" */
        expect_status_error(dir, text, "unknown value 'zapped'");
    }
    free(text);
    sweep_free(&sw);
}

int main(void) {
    if (!mkdtemp(tmpdir)) return 1;
    test_product_order();
    test_generators();
    test_zip_exclude();
    test_ids_stable();
    test_errors();
    test_limits();
    test_non_finite();
    test_names_checked_first();
    test_scale_and_ids();
    test_nesting();
    test_status_round_trip();
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    return check_summary("sweep");
}
