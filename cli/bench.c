/* mdmlab bench: training-step throughput of the model on each backend and process.
 *
 * Each (backend, process) pair runs in its own child process so its peak resident memory is
 * its own (getrusage of the reaped child) and one run's allocations cannot flatter another's.
 * The step is the real one (session_step: the process's batch, forward, weighted CE,
 * backward, clip, AdamW, EMA, and the process's own work such as PUMA's chain update) on
 * generated Sudoku data, so a process's overhead is read as a ratio in one run. */
#include "forward/config_schema.h"
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run/session.h"

#define BENCH_MAX_RUNS 16

typedef struct BenchOptions {
    Config cfg; /* model, batch, threads and task shape of every run */
    int steps, warmup, json;
    char backend[64];
    char processes[256]; /* comma-separated */
} BenchOptions;

typedef struct BenchResult {
    int ok;
    long params;
    int seq;
    double step_flops;
    double step_s, step_min_s, step_max_s, gflops, sgemm_gflops;
    char error[sizeof(((Err *)0)->msg)];
} BenchResult;

static void bench_usage(FILE *f) {
    fprintf(f,
            "usage: mdmlab bench [options]\n\n"
            "Times full training steps (the process's batch, forward, loss, backward, clip,\n"
            "AdamW, EMA, and the process's own work) on each backend, each run in its own\n"
            "process. Without model options it measures the Sudoku paper model: d=256,\n"
            "ffn=768, 8 layers, 8 heads, seq 162 (81 clue cells + 81 answer cells), vocab 11,\n"
            "batch 32 (6.83M parameters), on generated 9x9 puzzles.\n\n"
            "  --backend NAME   one backend, or all (default; built: %s)\n"
            "  --process LIST   forward processes, comma-separated (default %s, the baseline;\n"
            "                   available: %s); with the baseline and others, each one's\n"
            "                   overhead over the baseline is printed\n"
            "  --threads N      threads per run (default 0 = the cores not busy)\n"
            "  --steps N        timed steps (default 5)   --warmup N  untimed steps (default 2)\n"
            "  --d N --layers N --heads N --ffn N --batch N   model and batch\n"
            "  --box 2|3 --layout prompt|inplace              Sudoku shape (seq 2*n*n or n*n)\n"
            "  --json           one JSON object per run: backend, process, step_s, tokens_per_s,\n"
            "                   gflops, peak_fraction, peak_rss_mb, ...\n\n"
            "peak_fraction = model GFLOP/s divided by the best sgemm GFLOP/s measured in the\n"
            "same process on the model's largest matmul shape (the machine's practical peak).\n",
            backend_names(), forward_at(0)->name, forward_names());
}

static int parse_int_option(const char *name, const char *value, int min, int *out, Err *err) {
    char *end;
    long v = value ? strtol(value, &end, 10) : 0;
    if (!value || *end || v < min || v > 1 << 24)
        return err_set(err, "bench: %s expects an integer >= %d", name, min);
    *out = (int)v;
    return 0;
}

/* 0 to run, 1 when --help was printed, -1 with err set on a usage error. */
static int parse_options(BenchOptions *o, int argc, char **argv, Err *err) {
    memset(o, 0, sizeof(*o));
    Config *c = &o->cfg;
    config_defaults(c);
    c->task.train_count = 512;
    c->task.eval_count = 0;
    c->train.steps = 1000000; /* the lr schedule does not change the cost of a step */
    c->train.warmup_steps = 1;
    o->steps = 5;
    o->warmup = 2;
    snprintf(o->backend, sizeof(o->backend), "all");
    snprintf(o->processes, sizeof(o->processes), "%s", forward_at(0)->name);
    struct {
        const char *name;
        int *dst, min;
    } ints[] = {{"--threads", &c->threads, 0},   {"--steps", &o->steps, 1},
                {"--warmup", &o->warmup, 0},     {"--batch", &c->train.batch, 1},
                {"--d", &c->model.d, 2},         {"--layers", &c->model.layers, 1},
                {"--heads", &c->model.heads, 1}, {"--ffn", &c->model.ffn, 1}};
    /* options that set a task's key (checked by the key's own row) */
    static const struct {
        const char *option, *key;
    } keyed[] = {{"--box", "task.box"}, {"--layout", "task.layout"}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int matched = 0;
        for (size_t j = 0; j < sizeof(ints) / sizeof(ints[0]) && !matched; j++) {
            if (strcmp(a, ints[j].name) != 0) continue;
            if (parse_int_option(a, i + 1 < argc ? argv[i + 1] : NULL, ints[j].min, ints[j].dst,
                                 err) != 0)
                return -1;
            matched = 1;
            i++;
        }
        for (size_t j = 0; j < sizeof(keyed) / sizeof(keyed[0]) && !matched; j++) {
            if (strcmp(a, keyed[j].option) != 0 || i + 1 >= argc) continue;
            char assignment[CFG_PATH];
            snprintf(assignment, sizeof assignment, "%s=%s", keyed[j].key, argv[++i]);
            if (config_apply_override(c, assignment, err) != 0) return -1;
            matched = 1;
        }
        if (matched) continue;
        if (strcmp(a, "--backend") == 0 && i + 1 < argc) {
            snprintf(o->backend, sizeof(o->backend), "%s", argv[++i]);
        } else if (strcmp(a, "--process") == 0 && i + 1 < argc) {
            snprintf(o->processes, sizeof(o->processes), "%s", argv[++i]);
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            bench_usage(stdout);
            return 1;
        } else {
            return err_set(err, "bench: unknown option '%s' (see mdmlab bench --help)", a);
        }
    }
    c->eval.batch = 1;
    return config_validate(c, err);
}

/* Best GFLOP/s of the backend's matmul on the model's FFN shape (B*T x ffn x d, as x W^T). */
static double measure_sgemm(Backend *be, const ModelConfig *mc, int batch) {
    int M = batch * mc->seq_len, N = mc->ffn, K = mc->d;
    float *a = be->ops->alloc(be, (size_t)M * K * sizeof(float));
    float *b = be->ops->alloc(be, (size_t)N * K * sizeof(float));
    float *c = be->ops->alloc(be, (size_t)M * N * sizeof(float));
    MatmulArgs args = {.trans_b = 1,
                       .m = M,
                       .n = N,
                       .k = K,
                       .a = a,
                       .lda = K,
                       .b = b,
                       .ldb = K,
                       .c = c,
                       .ldc = N,
                       .batch = 1,
                       .alpha = 1.0f};
    double best = 0.0; /* also when an allocation failed: no peak to compare against */
    for (int rep = 0; a && b && c && rep < 8; rep++) {
        double t0 = now_seconds();
        be->ops->matmul(be, &args);
        be->ops->sync(be);
        double dt = now_seconds() - t0;
        if (rep > 0 && 2.0 * M * N * K / dt / 1e9 > best) best = 2.0 * M * N * K / dt / 1e9;
    }
    float *bufs[] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (bufs[i]) be->ops->free(be, bufs[i]);
    return best;
}

static void run_backend(const BenchOptions *o, const char *backend, const char *process,
                        BenchResult *res) {
    Err err = {{0}};
    Session s;
    Config cfg = o->cfg;
    snprintf(cfg.backend, sizeof(cfg.backend), "%s", backend);
    snprintf(cfg.process, sizeof(cfg.process), "%s", process);
    const ForwardOps *ops = forward_find(process);
    if (ops && ops->require) ops->require(&cfg);
    if (session_open(&s, &cfg, NULL, &err) != 0) {
        snprintf(res->error, sizeof(res->error), "%s", err.msg);
        session_close(&s);
        return;
    }
    double total = 0.0, lo = 1e30, hi = 0.0, shown = now_seconds();
    for (int step = 0; step < o->warmup + o->steps; step++) {
        OptimStats st;
        double t0 = now_seconds();
        session_step(&s, step, &st);
        double dt = now_seconds() - t0; /* session_step ends with the backend's sync */
        if (t0 + dt - shown >= 2.0) {   /* a slow run is never silent for long (stderr) */
            fprintf(stderr, "bench %s/%s: step %d/%d, %.3f s/step\n", backend, process, step + 1,
                    o->warmup + o->steps, dt);
            shown = t0 + dt;
        }
        if (session_check(&s, &err) != 0) {
            snprintf(res->error, sizeof(res->error), "%s", err.msg);
            session_close(&s);
            return;
        }
        if (step < o->warmup) continue;
        total += dt;
        lo = dt < lo ? dt : lo;
        hi = dt > hi ? dt : hi;
    }
    res->step_s = total / o->steps;
    res->step_min_s = lo;
    res->step_max_s = hi;
    res->params = s.model.n_params;
    res->seq = s.task.seq_len;
    res->step_flops = model_step_flops(&s.model.cfg, cfg.train.batch);
    res->gflops = res->step_flops / res->step_s / 1e9;
    res->sgemm_gflops = measure_sgemm(&s.be, &s.model.cfg, cfg.train.batch);
    res->ok = 1;
    session_close(&s);
}

/* Runs one backend in a child; returns its peak RSS in MB (or -1). */
static double run_in_child(const BenchOptions *o, const char *backend, const char *process,
                           BenchResult *res) {
    int fds[2];
    memset(res, 0, sizeof(*res));
    if (pipe(fds) != 0) {
        snprintf(res->error, sizeof(res->error), "pipe failed");
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        BenchResult r = {0};
        run_backend(o, backend, process, &r);
        ssize_t w = write(fds[1], &r, sizeof(r));
        _exit(w == (ssize_t)sizeof(r) ? 0 : 1);
    }
    close(fds[1]);
    ssize_t got = pid > 0 ? read(fds[0], res, sizeof(*res)) : -1;
    close(fds[0]);
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof(ru));
    if (pid > 0) wait4(pid, &status, 0, &ru);
    if (got != (ssize_t)sizeof(*res)) {
        memset(res, 0, sizeof(*res));
        snprintf(res->error, sizeof(res->error), "benchmark process failed (status %d)", status);
        return -1;
    }
    return (double)ru.ru_maxrss / 1024.0;
}

typedef struct BenchRun {
    const char *backend, *process;
    BenchResult res;
    double rss_mb, overhead; /* overhead: step time over random's on the same backend - 1 */
    int has_overhead;
} BenchRun;

/* One run as a JSON object on one line: the names, then the error or the measurements. */
static void print_run_json(const BenchOptions *o, const BenchRun *run, double peak_gflops) {
    const BenchResult *r = &run->res;
    const Config *c = &o->cfg;
    StrBuf sb = {0};
    sb_printf(&sb, "{\"backend\":");
    sb_json_string(&sb, run->backend);
    sb_printf(&sb, ",\"process\":");
    sb_json_string(&sb, run->process);
    if (!r->ok) {
        sb_printf(&sb, ",\"error\":");
        sb_json_string(&sb, r->error);
    } else {
        double tokens = (double)c->train.batch * r->seq;
        sb_printf(&sb,
                  ",\"threads\":%d,\"params\":%ld,\"d\":%d,\"layers\":%d,\"heads\":%d,"
                  "\"ffn\":%d,\"seq\":%d,\"batch\":%d,\"steps\":%d,\"step_s\":%.5f,"
                  "\"step_min_s\":%.5f,\"step_max_s\":%.5f,\"tokens_per_s\":%.1f,"
                  "\"gflop_per_step\":%.3f,\"gflops\":%.2f,\"sgemm_gflops\":%.2f,"
                  "\"peak_gflops\":%.2f,\"peak_fraction\":%.4f,\"peak_rss_mb\":%.1f",
                  c->threads, r->params, c->model.d, c->model.layers, c->model.heads, c->model.ffn,
                  r->seq, c->train.batch, o->steps, r->step_s, r->step_min_s, r->step_max_s,
                  tokens / r->step_s, r->step_flops / 1e9, r->gflops, r->sgemm_gflops, peak_gflops,
                  peak_gflops > 0 ? r->gflops / peak_gflops : 0.0, run->rss_mb);
        if (run->has_overhead) sb_printf(&sb, ",\"overhead_vs_random\":%.4f", run->overhead);
    }
    sb_printf(&sb, "}\n");
    fwrite(sb.data, 1, sb.len, stdout);
    sb_free(&sb);
}

static void print_run_row(const BenchOptions *o, const BenchRun *run, double peak_gflops) {
    const BenchResult *r = &run->res;
    if (!r->ok) {
        printf("%-9s %-7s error: %s\n", run->backend, run->process, r->error);
        return;
    }
    double tokens = (double)o->cfg.train.batch * r->seq;
    char overhead[32] = "";
    if (run->has_overhead) snprintf(overhead, sizeof(overhead), "%+.1f%%", 100.0 * run->overhead);
    printf("%-9s %-7s %9.3f %9.3f %10.0f %8.1f %10.1f %8.3f %8.0f %9s\n", run->backend,
           run->process, r->step_s, r->step_min_s, tokens / r->step_s, r->gflops, r->sgemm_gflops,
           peak_gflops > 0 ? r->gflops / peak_gflops : 0.0, run->rss_mb, overhead);
}

static void print_run(const BenchOptions *o, const BenchRun *run, double peak_gflops) {
    if (o->json)
        print_run_json(o, run, peak_gflops);
    else
        print_run_row(o, run, peak_gflops);
    fflush(stdout);
}

/* Splits a comma-separated list in place into at most max entries. */
static int split_list(char *list, const char **out, int max) {
    int n = 0;
    for (char *tok = strtok(list, ","); tok && n < max; tok = strtok(NULL, ",")) out[n++] = tok;
    return n;
}

int cmd_bench(int argc, char **argv, Err *err) {
    BenchOptions o;
    int prc = parse_options(&o, argc, argv, err);
    if (prc != 0) return prc > 0 ? 0 : 2;
    const char *backends[BENCH_MAX_RUNS], *processes[BENCH_MAX_RUNS];
    int nb = 0, np = split_list(o.processes, processes, BENCH_MAX_RUNS);
    if (strcmp(o.backend, "all") == 0) {
        for (int i = 0; i < backend_count() && nb < BENCH_MAX_RUNS; i++)
            backends[nb++] = backend_at(i)->name;
    } else if (backend_find(o.backend) || strcmp(o.backend, "auto") == 0) {
        backends[nb++] = o.backend;
    } else {
        err_set(err, "bench: unknown backend '%s' (built: %s)", o.backend, backend_names());
        return 2;
    }
    for (int p = 0; p < np; p++)
        if (!forward_find(processes[p])) {
            err_set(err, "bench: unknown process '%s' (available: %s)", processes[p],
                    forward_names());
            return 2;
        }
    BenchRun *runs = calloc((size_t)nb * (size_t)(np > 0 ? np : 1), sizeof(*runs));
    if (!runs) {
        err_set(err, "bench: out of memory");
        return 1;
    }
    int n = 0;
    double peak = 0.0;
    if (!o.json)
        fprintf(stderr,
                "mdmlab bench: d=%d layers=%d heads=%d ffn=%d batch=%d, task %s, %d+%d steps "
                "per run\n",
                o.cfg.model.d, o.cfg.model.layers, o.cfg.model.heads, o.cfg.model.ffn,
                o.cfg.train.batch, o.cfg.task_name, o.warmup, o.steps);
    for (int b = 0; b < nb; b++)
        for (int p = 0; p < np; p++, n++) {
            runs[n].backend = backends[b];
            runs[n].process = processes[p];
            if (!o.json) fprintf(stderr, "  running %s / %s ...\n", backends[b], processes[p]);
            runs[n].rss_mb = run_in_child(&o, backends[b], processes[p], &runs[n].res);
            if (runs[n].res.ok && runs[n].res.sgemm_gflops > peak) peak = runs[n].res.sgemm_gflops;
        }
    const char *baseline = forward_at(0)->name; /* the registry's first: random masking */
    for (int i = 0; i < n; i++) {               /* overhead over the nearest earlier baseline run */
        int base = -1;
        for (int j = 0; j < n; j++)
            if (runs[j].res.ok && strcmp(runs[j].process, baseline) == 0 &&
                strcmp(runs[j].backend, runs[i].backend) == 0 && (base < 0 || j < i))
                base = j;
        if (base >= 0 && runs[i].res.ok && strcmp(runs[i].process, baseline) != 0) {
            runs[i].overhead = runs[i].res.step_s / runs[base].res.step_s - 1.0;
            runs[i].has_overhead = 1;
        }
    }
    if (!o.json) {
        if (n > 0 && runs[0].res.ok)
            fprintf(stderr, "  %ld parameters, %.1f GFLOP per step\n", runs[0].res.params,
                    runs[0].res.step_flops / 1e9);
        printf("%-9s %-7s %9s %9s %10s %8s %10s %8s %8s %9s\n", "backend", "process", "step_s",
               "min_s", "tokens/s", "GFLOP/s", "sgemm_peak", "of_peak", "rss_MB", "vs_random");
    }
    int failed = 0;
    for (int i = 0; i < n; i++) {
        print_run(&o, &runs[i], peak);
        failed |= !runs[i].res.ok;
    }
    free(runs);
    return failed ? 1 : 0;
}
