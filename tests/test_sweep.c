/* Sweep files: grid expansion (products, zips, excludes, generators) against hand-written
 * expectations, run ids stable across key order, the run store's status round trip, and
 * malformed sweep files giving errors that name file, line and key. */
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
        CHECK(sw.runs[i].cfg.seed == want_seed[i]);
        CHECK(sw.runs[i].cfg.train.steps == 10);
        CHECK(strlen(sw.runs[i].id) == 16);
        for (int j = 0; j < i; j++) CHECK(strcmp(sw.runs[i].id, sw.runs[j].id) != 0);
    }
    CHECK(strcmp(sw.runs[1].cfg.process, "puma") == 0);
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
        CHECK(sw.runs[i].cfg.train.steps == steps[i / 6]);
        CHECK_CLOSE(sw.runs[i].cfg.train.lr, lr[(i / 2) % 3], 1e-12, 0);
        CHECK_CLOSE(sw.runs[i].cfg.train.weight_decay, wd[i % 2], 0, 1e-15);
    }
    CHECK(strcmp(sw.runs[0].method, "train.steps=10,train.lr=0.0001,train.weight_decay=0") == 0);
    sweep_free(&sw);
    /* a descending range, and nesting a section in the grid */
    rc = load(&sw, "grid:\n  model: {d: [32, 64]}\n  train.batch: range(8, 0, -4)\n", &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK(sw.n_runs == 4);
    if (rc == 0) {
        CHECK(sw.runs[0].cfg.model.d == 32 && sw.runs[0].cfg.train.batch == 8);
        CHECK(sw.runs[1].cfg.model.d == 32 && sw.runs[1].cfg.train.batch == 4);
        CHECK(sw.runs[3].cfg.model.d == 64 && sw.runs[3].cfg.train.batch == 4);
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
        const Config *c = &sw.runs[i].cfg;
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
    CHECK(sw.n_runs == 1 && sw.runs[0].cfg.train.lr == 0.002);
    sweep_free(&sw);
    /* a schedule-valued axis: a list of schedules */
    rc = load(&sw, "grid:\n  puma.K_schedule: [[[4, 0]], [[2, 0], [4, 100]]]\n", &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK(sw.n_runs == 2);
    if (rc == 0) {
        char schedule[64];
        CHECK(config_format_value(&sw.runs[1].cfg, "puma.K_schedule", schedule, sizeof schedule) ==
                  0 &&
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
        Config c = a.runs[0].cfg;
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
    CHECK(rc == 0 && a.runs[0].cfg.train.steps == 7 && a.runs[1].cfg.train.steps == 7);
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
    test_status_round_trip();
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    return check_summary("sweep");
}
