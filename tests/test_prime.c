/* MDM-Prime (forward/prime.c, tasks/lib/subtoken.h, the model's sub-token input and filtered
 * output, the ancestral sampler over sub-tokens):
 *  - the sub-tokenizer is a bijection between data tokens and codes < b^ell (with and without
 *    the permutation), MASK is the all-masked state, every partial state round-trips;
 *  - subtoken_filter on every backend leaves exactly the consistent tokens;
 *  - with ell = 1 the process draws random masking's batches bit for bit, training gives the
 *    same loss curve bit for bit and the ancestral sampler the same decodings;
 *  - with ell = 2 a run learns (its loss, the NELBO estimate per token, falls; it solves
 *    puzzles), its checkpoint loads for evaluation, and at the same T its ancestral decoding
 *    has fewer idle steps than plain MDM's. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/backend.h"
#include "forward/forward.h"
#include "model/model_io.h"
#include "run/eval.h"
#include "run/session.h"
#include "run/train.h"
#include "check.h"
#include "tiny_run.h"

static void check_codes(int vocab, int mask_id, int ell, uint64_t permute) {
    SubTokenizer s;
    Err err;
    CHECK_MSG(subtok_init(&s, vocab, mask_id, ell, permute, &err) == 0, "%s", err.msg);
    long long need = 1;
    for (int j = 0; j < ell; j++) need *= s.base;
    CHECK(need >= vocab - 1 && s.n_codes == need);
    long long less = 1; /* base - 1 would not do */
    for (int j = 0; j < ell; j++) less *= s.base - 1;
    CHECK(s.base == 2 || less < vocab - 1);
    int used = 0, sequential = 1, digits[SUBTOKEN_MAX_ELL];
    for (long c = 0; c < s.n_codes; c++) used += s.token_of[c] >= 0;
    CHECK_MSG(used == vocab - 1, "vocab %d ell %d: %d codes used", vocab, ell, used);
    for (int v = 0, r = 0; v < vocab; v++) {
        subtok_digits(&s, v, digits);
        if (v == mask_id) {
            for (int j = 0; j < ell; j++) CHECK(digits[j] == s.base);
            CHECK(subtok_hidden_count(&s, v) == ell);
            continue;
        }
        long code = 0;
        for (int j = 0; j < ell; j++) {
            CHECK(digits[j] >= 0 && digits[j] < s.base);
            code = code * s.base + digits[j];
        }
        CHECK(s.token_of[code] == v);
        sequential &= code == r++;
        CHECK(subtok_state_of_digits(&s, digits) == v && subtok_hidden_count(&s, v) == 0);
        for (unsigned h = 0; h < (1u << ell); h++) { /* every partial masking of v */
            int st = subtok_state(&s, v, h), back[SUBTOKEN_MAX_ELL], n = 0;
            subtok_digits(&s, st, back);
            for (int j = 0; j < ell; j++) {
                n += h >> j & 1u;
                CHECK(back[j] == (h >> j & 1u ? s.base : digits[j]));
            }
            CHECK(subtok_hidden_count(&s, st) == n);
            CHECK(n == 0 ? st == v : n == ell ? st == mask_id : st >= vocab);
            CHECK(subtok_state_of_digits(&s, back) == st);
        }
    }
    CHECK_MSG(permute ? !sequential : sequential, "permute %llu: codes %s in token order",
              (unsigned long long)permute, sequential ? "are" : "are not");
    subtok_free(&s);
}

/* Every backend keeps exactly the tokens whose code agrees with the known digits. */
static void check_filter(void) {
    SubTokenizer s;
    Err err;
    const int V = 30, ell = 3, N = 64;
    CHECK(subtok_init(&s, V, 27, ell, 5, &err) == 0);
    int *ids = malloc(sizeof(int) * ell * N), *states = malloc(sizeof(int) * N);
    float *logits = malloc(sizeof(float) * N * V), *out = malloc(sizeof(float) * N * V);
    Rng r;
    rng_seed(&r, 3, 0);
    for (int i = 0; i < N; i++) {
        int tok = (int)rng_below(&r, V - 1);
        tok += tok >= 27;
        states[i] = subtok_state(&s, tok, (unsigned)rng_below(&r, 1u << ell));
        int dig[SUBTOKEN_MAX_ELL];
        subtok_digits(&s, states[i], dig);
        for (int j = 0; j < ell; j++) ids[j * N + i] = j * (s.base + 1) + dig[j];
    }
    for (int i = 0; i < N * V; i++) logits[i] = (float)rng_normal(&r);
    for (int bi = 0; bi < backend_count(); bi++) {
        Backend be;
        CHECK(backend_create(&be, backend_at(bi)->name, 2, &err) == 0);
        float *dl = be.ops->alloc(&be, sizeof(float) * N * V);
        int *di = be.ops->alloc(&be, sizeof(int) * ell * N);
        int *dc = be.ops->alloc(&be, sizeof(int) * V * ell);
        be.ops->upload(&be, dl, logits, sizeof(float) * N * V);
        be.ops->upload(&be, di, ids, sizeof(int) * ell * N);
        be.ops->upload(&be, dc, s.codes, sizeof(int) * V * ell);
        be.ops->subtoken_filter(&be, dl, di, dc, N, V, ell, s.base);
        be.ops->download(&be, out, dl, sizeof(float) * N * V);
        int bad = 0;
        for (int i = 0; i < N; i++) {
            int dig[SUBTOKEN_MAX_ELL];
            subtok_digits(&s, states[i], dig);
            for (int v = 0; v < V; v++) {
                int ok = 1;
                for (int j = 0; j < ell; j++)
                    ok &= dig[j] == s.base || s.codes[v * ell + j] == dig[j];
                float want = ok ? logits[i * V + v] : -INFINITY;
                bad += memcmp(&want, &out[i * V + v], sizeof want) != 0;
            }
        }
        CHECK_MSG(bad == 0, "backend %s: %d filtered logits wrong", be.ops->name, bad);
        be.ops->free(&be, dl);
        be.ops->free(&be, di);
        be.ops->free(&be, dc);
        backend_destroy(&be);
    }
    free(ids);
    free(states);
    free(logits);
    free(out);
    subtok_free(&s);
}

static void tiny_prime_config(Config *c, const char *dir, long steps, const char *process,
                              int ell) {
    tiny_run_config(c, dir, steps);
    config_set(c, "task.layout", "%s", "inplace");
    config_set(c, "task.min_clues", "%d", 5);
    config_set(c, "task.max_clues", "%d", 7);
    c->task.train_count = 20000;
    c->task.eval_count = 128;
    c->eval.batch = 128;
    c->train.ema = 0;
    c->eval.use_ema = 0;
    c->train.log_every = 10;
    c->train.ckpt_every = 0;
    snprintf(c->process, sizeof c->process, "%s", process);
    if (strcmp(process, "prime") == 0) config_set(c, "prime.ell", "%d", ell);
}

/* The quickstart's model, big enough to solve 4x4 puzzles in a few hundred steps. */
static void quickstart_model(Config *c) {
    snprintf(c->backend, sizeof c->backend, "auto");
    c->model.d = 64;
    c->model.layers = 4;
    c->model.heads = 4;
    c->model.ffn = 192;
    snprintf(c->model.init, sizeof c->model.init, "torch");
    snprintf(c->model.rope, sizeof c->model.rope, "reference");
}

/* The first batches of a process (session_open on cfg), into out (steps * B * T each). */
static void batches_of(const Config *c, int steps, int *tokens, float *weights) {
    Session s;
    Err err = {{0}};
    CHECK_MSG(session_open(&s, c, NULL, &err) == 0, "%s", err.msg);
    size_t n = (size_t)s.batch.B * s.batch.T;
    for (int k = 0; k < steps; k++) {
        s.fp.ops->make_batch(&s.fp, k, &s.batch);
        memcpy(tokens + k * n, s.batch.tokens, n * sizeof(int));
        memcpy(weights + k * n, s.batch.weights, n * sizeof(float));
    }
    session_close(&s);
}

/* Ancestral decoding of the eval split by the checkpoint of run dir. */
static EvalResult ancestral_eval(const Config *c, const char *dir, int steps) {
    Session s;
    Err err = {{0}};
    EvalResult res = {0};
    Config ec = *c;
    ec.train.steps = 0;
    CHECK_MSG(session_open(&s, &ec, NULL, &err) == 0, "%s", err.msg);
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.bin", dir);
    Model m;
    int rc = eval_load_model(&m, &s.be, ckpt, &s.task, 128, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc == 0) {
        SampleOptions opt = {.tokens_per_step = 1, .ancestral_steps = steps};
        rc = eval_accuracy(&m, NULL, &s.task, &opt, 128, 7, &res, &err);
        CHECK_MSG(rc == 0, "%s", err.msg);
        model_free(&m);
    }
    session_close(&s);
    return res;
}

static void train_ok(const Config *c) {
    Err err = {{0}};
    CHECK_MSG(train_run(c, 1, &err) == 0, "train_run failed: %s", err.msg);
}

static void check_ell1_is_mdm(const char *tmp) {
    char a[300], b[300];
    snprintf(a, sizeof a, "%s/random", tmp);
    snprintf(b, sizeof b, "%s/prime1", tmp);
    Config ca, cb;
    tiny_prime_config(&ca, a, 60, "random", 1);
    tiny_prime_config(&cb, b, 60, "prime", 1);
    enum { K = 5 };
    size_t n = (size_t)K * ca.train.batch * 16;
    int *ta = malloc(n * sizeof(int)), *tb = malloc(n * sizeof(int));
    float *wa = malloc(n * sizeof(float)), *wb = malloc(n * sizeof(float));
    batches_of(&ca, K, ta, wa);
    batches_of(&cb, K, tb, wb);
    CHECK_MSG(memcmp(ta, tb, n * sizeof(int)) == 0 && memcmp(wa, wb, n * sizeof(float)) == 0,
              "prime.ell=1 batches differ from random masking's");
    free(ta), free(tb), free(wa), free(wb);
    train_ok(&ca);
    train_ok(&cb);
    double la[16], lb[16];
    int na = tiny_run_losses(a, NULL, la, 16), nb = tiny_run_losses(b, NULL, lb, 16);
    CHECK(na >= 6 && nb == na);
    CHECK_MSG(na == nb && memcmp(la, lb, sizeof(double) * (na > 0 ? na : 0)) == 0,
              "prime.ell=1 loss curve differs from random masking's");
    EvalResult ra = ancestral_eval(&ca, a, 16), rb = ancestral_eval(&cb, b, 16);
    CHECK_MSG(ra.correct == rb.correct && ra.cost.nfe == rb.cost.nfe &&
                  ra.cost.idle_step_ratio == rb.cost.idle_step_ratio,
              "ancestral decoding differs: %ld/%g/%g vs %ld/%g/%g", ra.correct, ra.cost.nfe,
              ra.cost.idle_step_ratio, rb.correct, rb.cost.nfe, rb.cost.idle_step_ratio);
}

static void check_prime_learns(const char *tmp) {
    char a[300], b[300];
    snprintf(a, sizeof a, "%s/mdm", tmp);
    snprintf(b, sizeof b, "%s/prime2", tmp);
    Config ca, cb;
    tiny_prime_config(&ca, a, 600, "random", 1);
    tiny_prime_config(&cb, b, 600, "prime", 2);
    quickstart_model(&ca);
    quickstart_model(&cb);
    train_ok(&ca);
    train_ok(&cb);
    double l[256];
    int n = tiny_run_losses(b, NULL, l, 256);
    CHECK(n >= 60);
    double first = l[0], last = 0.0;
    for (int i = n - 5; i < n; i++) last += l[i] / 5.0;
    printf("prime ell=2: loss %.4f at step 1, %.4f over the last 50 steps\n", first, last);
    CHECK_MSG(n >= 60 && last < 0.6 * first, "prime loss did not fall: %g -> %g", first, last);
    EvalResult mdm = ancestral_eval(&ca, a, 16), prime = ancestral_eval(&cb, b, 16);
    printf("ancestral T=16: MDM accuracy %.3f idle %.3f nfe %.2f; Prime accuracy %.3f idle %.3f "
           "nfe %.2f\n",
           mdm.accuracy, mdm.cost.idle_step_ratio, mdm.cost.nfe, prime.accuracy,
           prime.cost.idle_step_ratio, prime.cost.nfe);
    CHECK_MSG(prime.accuracy > 0.05, "prime solved %ld of %ld", prime.correct, prime.total);
    CHECK_MSG(prime.cost.idle_step_ratio < mdm.cost.idle_step_ratio, "idle steps: prime %g, mdm %g",
              prime.cost.idle_step_ratio, mdm.cost.idle_step_ratio);
    /* the checkpoint says how it reads tokens: loading it into a plain model is refused */
    Session s;
    Err err = {{0}};
    ca.train.steps = 0;
    CHECK(session_open(&s, &ca, NULL, &err) == 0);
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.bin", b);
    Checkpoint ck;
    CHECK_MSG(checkpoint_read(ckpt, &ck, &err) == 0, "%s", err.msg);
    CHECK(checkpoint_section(&ck, "sub_tokens") != NULL);
    ModelConfig plain = session_model_config(&ca, &s.task);
    Model m;
    CHECK(model_create(&m, &plain, &s.be, 8, 0, &err) == 0);
    CHECK(model_io_restore(&m, &ck, ckpt, 0, &err) != 0);
    CHECK_MSG(strstr(err.msg, "sub-tokens") != NULL, "%s", err.msg);
    model_free(&m);
    checkpoint_free(&ck);
    session_close(&s);
}

int main(void) {
    check_codes(6, 5, 2, 0);     /* 4x4 Sudoku: 5 data tokens, base 3 */
    check_codes(11, 10, 2, 0);   /* 9x9 Sudoku */
    check_codes(258, 257, 4, 0); /* bytes + EOS, MASK */
    check_codes(258, 257, 2, 9);
    check_codes(258, 256, 3, 1); /* MASK not last */
    check_codes(6, 5, 1, 0);
    check_filter();
    char tmp[] = "/tmp/mdmlab_prime_XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    check_ell1_is_mdm(tmp);
    check_prime_learns(tmp);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK(system(cmd) == 0);
    return check_summary("prime");
}
