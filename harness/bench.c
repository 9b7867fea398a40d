/* mdmlab bench: training-step throughput of the model on each backend.
 *
 * Each backend runs in its own child process so its peak resident memory is its own
 * (getrusage of the reaped child) and one backend's allocations cannot flatter another's.
 * The step is the real one (forward, weighted CE, backward, clip, AdamW, EMA) on synthetic
 * data shaped like the Sudoku task: random answer tokens, the first `prompt` positions
 * never masked, mask count uniform in 1..L_eff, as the PyTorch peer script does. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model.h"
#include "optim.h"

typedef struct BenchOptions {
    ModelConfig model;
    int prompt, batch, threads, steps, warmup, json;
    char backend[64];
} BenchOptions;

typedef struct BenchResult {
    int ok;
    double step_s, step_min_s, step_max_s, gflops, sgemm_gflops;
    char error[sizeof(((Err *)0)->msg)];
} BenchResult;

static void bench_usage(FILE *f) {
    fprintf(f,
            "usage: mdmlab bench [options]\n\n"
            "Times full training steps (forward, loss, backward, clip, AdamW, EMA) of one\n"
            "model on each backend, each in its own process. Without model options it\n"
            "measures the Sudoku paper model: d=256, ffn=768, 8 layers, 8 heads, seq 162\n"
            "(81 prompt), vocab 11, batch 32 (6.83M parameters).\n\n"
            "  --backend NAME   one backend, or all (default; built: %s)\n"
            "  --threads N      threads per backend (default 0 = all cores)\n"
            "  --steps N        timed steps (default 5)   --warmup N  untimed steps (default 2)\n"
            "  --d N --layers N --heads N --ffn N --seq N --prompt N --vocab N --batch N\n"
            "  --json           one JSON object per backend: backend, step_s, tokens_per_s,\n"
            "                   gflops, peak_fraction, peak_rss_mb, ...\n\n"
            "peak_fraction = model GFLOP/s divided by the best sgemm GFLOP/s measured in the\n"
            "same process on the model's largest matmul shape (the machine's practical peak).\n",
            backend_names());
}

static int parse_int_option(const char *name, const char *value, int min, int *out) {
    char *end;
    long v = value ? strtol(value, &end, 10) : 0;
    if (!value || *end || v < min || v > 1 << 24) {
        fprintf(stderr, "mdmlab bench: %s expects an integer >= %d\n", name, min);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_options(BenchOptions *o, int argc, char **argv) {
    *o = (BenchOptions){.model = {.vocab = 11,
                                  .seq_len = 162,
                                  .d = 256,
                                  .layers = 8,
                                  .heads = 8,
                                  .ffn = 768,
                                  .rope_theta = 10000.0f,
                                  .norm_eps = 1e-6f},
                        .prompt = 81,
                        .batch = 32,
                        .steps = 5,
                        .warmup = 2,
                        .backend = "all"};
    struct {
        const char *name;
        int *dst, min;
    } ints[] = {{"--threads", &o->threads, 0},   {"--steps", &o->steps, 1},
                {"--warmup", &o->warmup, 0},     {"--batch", &o->batch, 1},
                {"--d", &o->model.d, 2},         {"--layers", &o->model.layers, 1},
                {"--heads", &o->model.heads, 1}, {"--ffn", &o->model.ffn, 1},
                {"--seq", &o->model.seq_len, 2}, {"--prompt", &o->prompt, 0},
                {"--vocab", &o->model.vocab, 3}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int matched = 0;
        for (size_t j = 0; j < sizeof(ints) / sizeof(ints[0]) && !matched; j++) {
            if (strcmp(a, ints[j].name) != 0) continue;
            if (parse_int_option(a, i + 1 < argc ? argv[i + 1] : NULL, ints[j].min, ints[j].dst) !=
                0)
                return -1;
            matched = 1;
            i++;
        }
        if (matched) continue;
        if (strcmp(a, "--backend") == 0 && i + 1 < argc) {
            snprintf(o->backend, sizeof(o->backend), "%s", argv[++i]);
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            bench_usage(stdout);
            return 1;
        } else {
            fprintf(stderr, "mdmlab bench: unknown option '%s' (see mdmlab bench --help)\n", a);
            return -1;
        }
    }
    if (o->prompt >= o->model.seq_len) {
        fprintf(stderr, "mdmlab bench: --prompt must be below --seq\n");
        return -1;
    }
    if (o->model.d % o->model.heads || (o->model.d / o->model.heads) % 2) {
        fprintf(stderr, "mdmlab bench: --d must split into --heads heads of even size\n");
        return -1;
    }
    return 0;
}

/* Best GFLOP/s of the backend's matmul on the model's FFN shape (B*T x ffn x d, as x W^T). */
static double measure_sgemm(Backend *be, const BenchOptions *o) {
    int M = o->batch * o->model.seq_len, N = o->model.ffn, K = o->model.d;
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
    double best = 0.0;
    for (int rep = 0; rep < 8; rep++) {
        double t0 = now_seconds();
        be->ops->matmul(be, &args);
        be->ops->sync(be);
        double dt = now_seconds() - t0;
        if (rep > 0 && 2.0 * M * N * K / dt / 1e9 > best) best = 2.0 * M * N * K / dt / 1e9;
    }
    be->ops->free(be, a);
    be->ops->free(be, b);
    be->ops->free(be, c);
    return best;
}

static void synthetic_batch(Rng *rng, const BenchOptions *o, int *tokens, int *targets,
                            float *weights) {
    int T = o->model.seq_len, L_eff = T - o->prompt, mask_id = o->model.vocab - 1;
    for (int b = 0; b < o->batch; b++) {
        int *tok = tokens + (size_t)b * T, *tgt = targets + (size_t)b * T;
        float *w = weights + (size_t)b * T;
        for (int t = 0; t < T; t++) tgt[t] = tok[t] = (int)rng_below(rng, (uint64_t)mask_id);
        int masked = 1 + (int)rng_below(rng, (uint64_t)L_eff);
        for (int t = 0; t < T; t++) w[t] = 0.0f;
        for (int i = 0, left = masked; i < L_eff; i++) { /* selection sampling */
            if (rng_below(rng, (uint64_t)(L_eff - i)) < (uint64_t)left) {
                tok[o->prompt + i] = mask_id;
                w[o->prompt + i] = 1.0f / ((float)masked * (float)o->batch);
                left--;
            }
        }
    }
}

static void run_backend(const BenchOptions *o, const char *name, BenchResult *res) {
    Err err = {{0}};
    Backend be = {0};
    Model m = {0};
    Config cfg;
    config_defaults(&cfg);
    cfg.train.steps = 1000000; /* lr schedule irrelevant to timing; keep it constant-ish */
    cfg.train.warmup_steps = 1;
    if (backend_create(&be, name, o->threads, &err) != 0 ||
        model_create(&m, &o->model, &be, o->batch, 1, &err) != 0) {
        snprintf(res->error, sizeof(res->error), "%s", err.msg);
        if (be.ops) backend_destroy(&be);
        return;
    }
    model_init_params(&m, 1, 0.02f);
    size_t n = (size_t)o->batch * o->model.seq_len;
    int *tokens = malloc(n * sizeof(int)), *targets = malloc(n * sizeof(int));
    float *weights = malloc(n * sizeof(float));
    Rng rng;
    rng_seed(&rng, 7, 0);
    double total = 0.0, lo = 1e30, hi = 0.0;
    for (int s = 0; s < o->warmup + o->steps; s++) {
        synthetic_batch(&rng, o, tokens, targets, weights);
        double t0 = now_seconds();
        model_forward(&m, tokens, o->batch);
        model_loss(&m, targets, weights, 1);
        model_zero_grad(&m);
        model_backward(&m);
        optim_step(&m, &cfg, s);
        be.ops->sync(&be);
        double dt = now_seconds() - t0;
        if (s < o->warmup) continue;
        total += dt;
        lo = dt < lo ? dt : lo;
        hi = dt > hi ? dt : hi;
    }
    res->step_s = total / o->steps;
    res->step_min_s = lo;
    res->step_max_s = hi;
    res->gflops = model_step_flops(&o->model, o->batch) / res->step_s / 1e9;
    res->sgemm_gflops = measure_sgemm(&be, o);
    res->ok = 1;
    free(tokens);
    free(targets);
    free(weights);
    model_free(&m);
    backend_destroy(&be);
}

/* Runs one backend in a child; returns its peak RSS in MB (or -1). */
static double run_in_child(const BenchOptions *o, const char *name, BenchResult *res) {
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
        run_backend(o, name, &r);
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

static void print_result(const BenchOptions *o, const char *name, const BenchResult *r,
                         double rss_mb, double peak_gflops) {
    double tokens = (double)o->batch * o->model.seq_len;
    long params = model_param_count(&o->model);
    if (!r->ok) {
        if (o->json)
            printf("{\"backend\":\"%s\",\"error\":\"%s\"}\n", name, r->error);
        else
            printf("%-9s error: %s\n", name, r->error);
        return;
    }
    double frac = peak_gflops > 0 ? r->gflops / peak_gflops : 0.0;
    if (o->json) {
        printf("{\"backend\":\"%s\",\"threads\":%d,\"params\":%ld,\"d\":%d,\"layers\":%d,"
               "\"heads\":%d,\"ffn\":%d,\"seq\":%d,\"batch\":%d,\"steps\":%d,\"step_s\":%.5f,"
               "\"step_min_s\":%.5f,\"step_max_s\":%.5f,\"tokens_per_s\":%.1f,\"gflops\":%.2f,"
               "\"sgemm_gflops\":%.2f,\"peak_gflops\":%.2f,\"peak_fraction\":%.4f,"
               "\"peak_rss_mb\":%.1f}\n",
               name, o->threads, params, o->model.d, o->model.layers, o->model.heads, o->model.ffn,
               o->model.seq_len, o->batch, o->steps, r->step_s, r->step_min_s, r->step_max_s,
               tokens / r->step_s, r->gflops, r->sgemm_gflops, peak_gflops, frac, rss_mb);
    } else {
        printf("%-9s %9.3f %9.3f %11.0f %8.1f %10.1f %8.3f %9.0f\n", name, r->step_s, r->step_min_s,
               tokens / r->step_s, r->gflops, r->sgemm_gflops, frac, rss_mb);
    }
    fflush(stdout);
}

int bench_main(int argc, char **argv) {
    BenchOptions o;
    int prc = parse_options(&o, argc, argv);
    if (prc != 0) return prc > 0 ? 0 : 2;
    const char *names[16];
    int n = 0;
    if (strcmp(o.backend, "all") == 0) {
        for (int i = 0; i < backend_count() && n < 16; i++) names[n++] = backend_at(i)->name;
    } else {
        if (!backend_find(o.backend) && strcmp(o.backend, "auto") != 0) {
            fprintf(stderr, "mdmlab bench: unknown backend '%s' (built: %s)\n", o.backend,
                    backend_names());
            return 2;
        }
        names[n++] = o.backend;
    }
    BenchResult res[16];
    double rss[16], peak = 0.0;
    if (!o.json)
        fprintf(stderr,
                "mdmlab bench: %ld params, d=%d layers=%d heads=%d ffn=%d seq=%d batch=%d, "
                "%.1f GFLOP/step, %d+%d steps per backend\n",
                model_param_count(&o.model), o.model.d, o.model.layers, o.model.heads, o.model.ffn,
                o.model.seq_len, o.batch, model_step_flops(&o.model, o.batch) / 1e9, o.warmup,
                o.steps);
    for (int i = 0; i < n; i++) {
        if (!o.json) fprintf(stderr, "  running %s ...\n", names[i]);
        rss[i] = run_in_child(&o, names[i], &res[i]);
        if (res[i].ok && res[i].sgemm_gflops > peak) peak = res[i].sgemm_gflops;
    }
    if (!o.json)
        printf("%-9s %9s %9s %11s %8s %10s %8s %9s\n", "backend", "step_s", "min_s", "tokens/s",
               "GFLOP/s", "sgemm_peak", "of_peak", "rss_MB");
    int failed = 0;
    for (int i = 0; i < n; i++) {
        print_result(&o, names[i], &res[i], rss[i], peak);
        failed |= !res[i].ok;
    }
    return failed ? 1 : 0;
}
