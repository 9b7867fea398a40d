/* The unmasking sampler against fake models with fixed logits: fill-in, unmasking order per
 * policy, tokens per step, threshold mode, argmax / Gumbel sampling, block-by-block decoding,
 * error propagation. */
#include "check.h"
#include "run/sample.h"

#include <math.h>
#include <string.h>

#define MAX_B 40000
#define MAX_T 16
#define MAX_V 8

/* A fake model: the logits of position t are row[t] for every sequence (seq_logits overrides
 * per sequence). It records at which step each position was unmasked. */
typedef struct Fake {
    int B, T, V, mask_id;
    float row[MAX_T][MAX_V];
    const float *seq_logits; /* optional B*T*V */
    int calls;
    int fail_on_call; /* 0 = never fail */
    int prev[4 * MAX_T];
    int fill_step[4 * MAX_T]; /* -1 = never seen unmasked; only tracked for B <= 4 */
} Fake;

static void fake_init(Fake *f, int B, int T, int V, int mask_id) {
    memset(f, 0, sizeof *f);
    f->B = B;
    f->T = T;
    f->V = V;
    f->mask_id = mask_id;
    for (int i = 0; i < 4 * MAX_T; i++) f->fill_step[i] = -1;
}

/* Positions that changed from MASK since the last look were filled by step `step`. */
static void fake_record(Fake *f, const int *tokens, int step) {
    if (f->B > 4) return;
    for (int i = 0; i < f->B * f->T; i++) {
        if (f->calls > 0 && f->prev[i] == f->mask_id && tokens[i] != f->mask_id)
            f->fill_step[i] = step;
        f->prev[i] = tokens[i];
    }
}

static int fake_logits(void *ctx, const int *tokens, int B, float *logits, Err *err) {
    Fake *f = ctx;
    fake_record(f, tokens, f->calls - 1);
    f->calls++;
    if (f->fail_on_call == f->calls) return err_set(err, "fake model failed on call %d", f->calls);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < f->T; t++)
            for (int v = 0; v < f->V; v++) {
                size_t i = ((size_t)b * f->T + t) * f->V + v;
                logits[i] = f->seq_logits ? f->seq_logits[i] : f->row[t][v];
            }
    return 0;
}

/* Row t gets log(p) over the non-mask tokens (in order), a large logit on MASK (which the
 * sampler must ignore) and a constant shift (softmax is shift-invariant). */
static void set_row(Fake *f, int t, const double *p) {
    int j = 0;
    for (int v = 0; v < f->V; v++)
        f->row[t][v] = v == f->mask_id ? 50.0f : (float)(log(p[j++]) + 0.5 * t);
}

/* Six distributions whose orders differ per policy (scores computed by hand):
 *           max    margin  entropy
 *   A(1)   .48     .00     .861
 *   B(2)   .46     .28     1.283
 *   C(3)   .70     .60     .940
 *   D(5)   .55     .11     .743
 *   E(6)   .30     .05     1.376
 *   F(7)   .62     .29     .846
 * positions 0 and 4 are not masked. */
enum { P_A = 1, P_B = 2, P_C = 3, P_D = 5, P_E = 6, P_F = 7, ORDER_T = 8 };

static void order_fixture(Fake *f, int *tokens) {
    static const double dist[ORDER_T][4] = {
        {0.25, 0.25, 0.25, 0.25}, {0.48, 0.48, 0.02, 0.02}, {0.18, 0.46, 0.18, 0.18},
        {0.10, 0.10, 0.10, 0.70}, {0.25, 0.25, 0.25, 0.25}, {0.005, 0.55, 0.44, 0.005},
        {0.25, 0.30, 0.25, 0.20}, {0.03, 0.02, 0.33, 0.62},
    };
    fake_init(f, 1, ORDER_T, 5, 2); /* MASK in the middle of the vocabulary */
    for (int t = 0; t < ORDER_T; t++) {
        set_row(f, t, dist[t]);
        tokens[t] = f->mask_id;
    }
    tokens[0] = 1;
    tokens[4] = 3;
}

/* The sampler with the number of model calls in *steps (may be NULL). */
static int decode_steps(const SampleOptions *o, LogitsFn fn, void *ctx, int *tokens, int B, int T,
                        int V, int mask_id, Rng *rng, float *logits, int *steps, Err *err) {
    SampleStats st;
    int rc = sample_decode(o, fn, ctx, tokens, B, T, V, mask_id, rng, logits, &st, err);
    if (steps) *steps = st.model_calls;
    return rc;
}

static SampleOptions options(UnmaskPolicy policy, int k, double threshold, double temperature) {
    SampleOptions o = {
        .policy = policy, .tokens_per_step = k, .threshold = threshold, .temperature = temperature};
    return o;
}

/* Runs the sampler on a fixture and checks fill steps: expect[t] = step or -1 (never masked). */
static void check_fill_steps(const SampleOptions *o, const int *expect, int expect_calls) {
    Fake f;
    int tokens[ORDER_T];
    order_fixture(&f, tokens);
    float logits[ORDER_T * 5];
    Rng rng;
    rng_seed(&rng, 1, 0);
    int steps = -1;
    Err err = {{0}};
    CHECK_MSG(
        decode_steps(o, fake_logits, &f, tokens, 1, ORDER_T, 5, 2, &rng, logits, &steps, &err) == 0,
        "%s", err.msg);
    fake_record(&f, tokens, f.calls - 1);
    CHECK_MSG(steps == expect_calls && f.calls == expect_calls, "policy %s: %d steps, want %d",
              policy_name(o->policy), steps, expect_calls);
    for (int t = 0; t < ORDER_T; t++)
        CHECK_MSG(f.fill_step[t] == expect[t],
                  "policy %s k=%d thr=%g: position %d at step %d, "
                  "want %d",
                  policy_name(o->policy), o->tokens_per_step, o->threshold, t, f.fill_step[t],
                  expect[t]);
    CHECK(tokens[0] == 1 && tokens[4] == 3); /* unmasked positions untouched */
}

static void test_order_k1(void) {
    /*                      pos: 0   A  B  C   4  D  E  F */
    const int topk[ORDER_T] = {-1, 3, 4, 0, -1, 2, 5, 1};    /* C F D A B E */
    const int margin[ORDER_T] = {-1, 5, 2, 0, -1, 3, 4, 1};  /* C F B D E A */
    const int entropy[ORDER_T] = {-1, 2, 4, 3, -1, 0, 5, 1}; /* D F A C B E */
    SampleOptions o = options(POLICY_TOPK, 1, 0, 0);
    check_fill_steps(&o, topk, 6);
    o.policy = POLICY_MARGIN;
    check_fill_steps(&o, margin, 6);
    o.policy = POLICY_ENTROPY;
    check_fill_steps(&o, entropy, 6);
}

static void test_tokens_per_step(void) {
    const int k2[ORDER_T] = {-1, 1, 2, 0, -1, 1, 2, 0}; /* {C F} {D A} {B E} */
    const int k4[ORDER_T] = {-1, 0, 1, 0, -1, 0, 1, 0}; /* {C F D A} {B E} */
    const int k9[ORDER_T] = {-1, 0, 0, 0, -1, 0, 0, 0};
    SampleOptions o = options(POLICY_TOPK, 2, 0, 0);
    check_fill_steps(&o, k2, 3);
    o.tokens_per_step = 4;
    check_fill_steps(&o, k4, 2);
    o.tokens_per_step = 9; /* capped at the 6 remaining */
    check_fill_steps(&o, k9, 1);
}

static void test_threshold(void) {
    /* max prob > 0.5: C, D, F in the first step; then one per step by policy */
    const int topk[ORDER_T] = {-1, 1, 2, 0, -1, 0, 3, 0};   /* {C D F} A B E */
    const int margin[ORDER_T] = {-1, 3, 1, 0, -1, 0, 2, 0}; /* {C D F} B E A */
    const int none[ORDER_T] = {-1, 3, 4, 0, -1, 2, 5, 1};   /* nothing above: top-1 per step */
    SampleOptions o = options(POLICY_TOPK, 1, 0.5, 0);
    check_fill_steps(&o, topk, 4);
    o.policy = POLICY_MARGIN;
    o.tokens_per_step = 3; /* ignored in threshold mode */
    check_fill_steps(&o, margin, 4);
    o = options(POLICY_TOPK, 1, 0.95, 0);
    check_fill_steps(&o, none, 6);
}

static void test_l2r(void) {
    /* leftmost first, whatever the model prefers */
    const int k1[ORDER_T] = {-1, 0, 1, 2, -1, 3, 4, 5};
    const int k2[ORDER_T] = {-1, 0, 0, 1, -1, 1, 2, 2};
    SampleOptions o = options(POLICY_L2R, 1, 0, 0);
    check_fill_steps(&o, k1, 6);
    o.temperature = 1.0; /* sampling changes the tokens, not the order */
    check_fill_steps(&o, k1, 6);
    o = options(POLICY_L2R, 2, 0, 0);
    check_fill_steps(&o, k2, 3);
}

static void test_blocks(void) {
    /* top-k alone starts with C (position 3); blocks force the first block to finish first.
     * Blocks are runs of the masked positions A B C D E F: prompt position 4 is skipped, so
     * with size 4 D (position 5) shares the first block with A B C. */
    const int none[ORDER_T] = {-1, 3, 4, 0, -1, 2, 5, 1};    /* C F D A B E */
    const int size2[ORDER_T] = {-1, 0, 1, 2, -1, 3, 5, 4};   /* {A B} {C D} {F E} */
    const int size4[ORDER_T] = {-1, 2, 3, 0, -1, 1, 5, 4};   /* {C D A B} {F E} */
    const int size6[ORDER_T] = {-1, 3, 4, 0, -1, 2, 5, 1};   /* one block = no blocks */
    const int size3k2[ORDER_T] = {-1, 0, 1, 0, -1, 2, 3, 2}; /* {C A} {B} {F D} {E} */
    SampleOptions o = options(POLICY_TOPK, 1, 0, 0);
    check_fill_steps(&o, none, 6);
    o.block_size = 2;
    check_fill_steps(&o, size2, 6);
    o.block_size = 4;
    check_fill_steps(&o, size4, 6);
    o.block_size = 6;
    check_fill_steps(&o, size6, 6);
    o.block_size = 100;
    check_fill_steps(&o, size6, 6);
    /* k per step never reaches past the current block */
    o = options(POLICY_TOPK, 2, 0, 0);
    o.block_size = 3;
    check_fill_steps(&o, size3k2, 4);
}

/* Blocks are formed per sequence from that sequence's own masked positions, with one model
 * call per step for the whole batch. */
static void test_blocks_batch(void) {
    enum { B = 2, T = ORDER_T, V = 5 };
    Fake f;
    int tokens[B * T];
    order_fixture(&f, tokens);
    f.B = B;
    memcpy(tokens + T, tokens, T * sizeof(int));
    tokens[T + P_A] = 1; /* sequence 1: A and B given, masked C D E F */
    tokens[T + P_B] = 3;
    float logits[B * T * V];
    int steps = 0;
    Err err = {{0}};
    SampleOptions o = options(POLICY_TOPK, 1, 0, 0);
    o.block_size = 2;
    CHECK(decode_steps(&o, fake_logits, &f, tokens, B, T, V, 2, NULL, logits, &steps, &err) == 0);
    fake_record(&f, tokens, f.calls - 1);
    CHECK(steps == 6 && f.calls == 6);
    const int seq0[T] = {-1, 0, 1, 2, -1, 3, 5, 4};   /* {A B} {C D} {F E} */
    const int seq1[T] = {-1, -1, -1, 0, -1, 1, 3, 2}; /* {C D} {F E} */
    for (int t = 0; t < T; t++) {
        CHECK_MSG(f.fill_step[t] == seq0[t], "sequence 0 position %d at step %d, want %d", t,
                  f.fill_step[t], seq0[t]);
        CHECK_MSG(f.fill_step[T + t] == seq1[t], "sequence 1 position %d at step %d, want %d", t,
                  f.fill_step[T + t], seq1[t]);
    }
    CHECK(tokens[T + P_A] == 1 && tokens[T + P_B] == 3);
}

static void test_argmax_tokens(void) {
    Fake f;
    int tokens[ORDER_T];
    order_fixture(&f, tokens);
    float logits[ORDER_T * 5];
    Err err = {{0}};
    SampleOptions o = options(POLICY_MARGIN, 2, 0, 0);
    CHECK(decode_steps(&o, fake_logits, &f, tokens, 1, ORDER_T, 5, 2, NULL, logits, NULL, &err) ==
          0);
    /* tokens 0,1,3,4 carry the distribution entries 0..3; A ties 0/1 -> lowest id */
    const int want[ORDER_T] = {1, 0, 1, 4, 3, 1, 1, 4};
    for (int t = 0; t < ORDER_T; t++) CHECK_MSG(tokens[t] == want[t], "position %d", t);
}

/* Many one-token sequences sampled in one step: token frequencies match softmax(logit/T). */
static void check_gumbel_distribution(double temperature) {
    enum { B = 40000, V = 5 };
    static const double p[4] = {0.1, 0.2, 0.3, 0.4};
    Fake f;
    fake_init(&f, B, 1, V, 4);
    set_row(&f, 0, p);
    static int tokens[B];
    static float logits[B * V];
    for (int b = 0; b < B; b++) tokens[b] = 4;
    Rng rng;
    rng_seed(&rng, 7, 0);
    Err err = {{0}};
    int steps = 0;
    SampleOptions o = options(POLICY_TOPK, 1, 0, temperature);
    CHECK(decode_steps(&o, fake_logits, &f, tokens, B, 1, V, 4, &rng, logits, &steps, &err) == 0);
    CHECK(steps == 1);
    long counts[V] = {0};
    for (int b = 0; b < B; b++)
        if (tokens[b] >= 0 && tokens[b] < V) counts[tokens[b]]++;
    CHECK(counts[4] == 0);
    double q[4], z = 0, chi2 = 0;
    for (int v = 0; v < 4; v++) z += q[v] = pow(p[v], 1.0 / temperature);
    for (int v = 0; v < 4; v++) {
        double e = B * q[v] / z;
        chi2 += (counts[v] - e) * (counts[v] - e) / e;
    }
    /* 3 degrees of freedom: P(chi2 > 16.3) = 0.001 */
    CHECK_MSG(chi2 < 16.3, "temperature %g: chi2 = %.2f, counts %ld %ld %ld %ld", temperature, chi2,
              counts[0], counts[1], counts[2], counts[3]);
}

static void test_gumbel(void) {
    check_gumbel_distribution(1.0);
    check_gumbel_distribution(0.5);
    check_gumbel_distribution(2.0);
}

/* Random logits, every policy, argmax and sampling: all filled, MASK never produced,
 * deterministic for a seed. */
static void run_random_batch(const SampleOptions *o, uint64_t seed, int *tokens) {
    enum { B = 4, T = 16, V = 6, MASK = 5 };
    static float seq_logits[B * T * V];
    Rng g;
    rng_seed(&g, 123, 0);
    for (int i = 0; i < B * T * V; i++)
        seq_logits[i] = i % V == MASK ? 100.0f : (float)(3.0 * rng_normal(&g));
    Fake f;
    fake_init(&f, B, T, V, MASK);
    f.seq_logits = seq_logits;
    for (int i = 0; i < B * T; i++) tokens[i] = i >= T && i % 3 == 0 ? i % MASK : MASK;
    float logits[B * T * V];
    Rng rng;
    rng_seed(&rng, seed, 0);
    int steps = 0;
    Err err = {{0}};
    CHECK(decode_steps(o, fake_logits, &f, tokens, B, T, V, MASK, &rng, logits, &steps, &err) == 0);
    int bad = 0;
    for (int i = 0; i < B * T; i++) bad += tokens[i] < 0 || tokens[i] >= MASK;
    CHECK_MSG(bad == 0, "policy %s temperature %g: %d tokens are MASK or out of range",
              policy_name(o->policy), o->temperature, bad);
    /* sequence 0 has the most masks (all 16): ceil(16 / k) steps */
    int k = o->tokens_per_step;
    CHECK(steps == (T + k - 1) / k);
}

static void test_fill_all(void) {
    enum { N = 64 };
    for (int p = 0; p < POLICY_COUNT; p++) {
        for (int temp = 0; temp < 2; temp++) {
            SampleOptions o = options((UnmaskPolicy)p, 3, 0, temp ? 1.0 : 0.0);
            int a[N], b[N], c[N];
            run_random_batch(&o, 5, a);
            run_random_batch(&o, 5, b);
            CHECK(memcmp(a, b, sizeof a) == 0);
            if (temp) {
                run_random_batch(&o, 6, c);
                CHECK_MSG(memcmp(a, c, sizeof a) != 0, "policy %s: seed has no effect",
                          policy_name(o.policy));
            }
        }
    }
}

static void test_random_order(void) {
    /* random policy: the order is a seeded permutation */
    int orders[3][ORDER_T];
    for (int s = 0; s < 3; s++) {
        Fake f;
        int tokens[ORDER_T];
        order_fixture(&f, tokens);
        float logits[ORDER_T * 5];
        Rng rng;
        rng_seed(&rng, s < 2 ? 11 : 12, 0);
        SampleOptions o = options(POLICY_RANDOM, 1, 0, 0);
        Err err = {{0}};
        CHECK(decode_steps(&o, fake_logits, &f, tokens, 1, ORDER_T, 5, 2, &rng, logits, NULL,
                           &err) == 0);
        fake_record(&f, tokens, f.calls - 1);
        memcpy(orders[s], f.fill_step, sizeof orders[s]);
        int seen = 0;
        for (int t = 0; t < ORDER_T; t++)
            if (orders[s][t] >= 0) seen |= 1 << orders[s][t];
        CHECK(seen == 0x3f); /* steps 0..5 each used once */
    }
    CHECK(memcmp(orders[0], orders[1], sizeof orders[0]) == 0);
    CHECK(memcmp(orders[0], orders[2], sizeof orders[0]) != 0);
}

static void test_batch_steps(void) {
    /* sequences with 6, 2 and 0 masks, k = 2: 3 calls; each call covers the whole batch */
    enum { B = 3, T = ORDER_T, V = 5 };
    Fake f;
    int one[T];
    order_fixture(&f, one);
    f.B = B;
    int tokens[B * T];
    memcpy(tokens, one, sizeof one);
    for (int t = 0; t < T; t++) tokens[T + t] = t == P_B || t == P_E ? 2 : 4;
    for (int t = 0; t < T; t++) tokens[2 * T + t] = 1;
    float logits[B * T * V];
    int steps = 0;
    Err err = {{0}};
    SampleOptions o = options(POLICY_TOPK, 2, 0, 0);
    CHECK(decode_steps(&o, fake_logits, &f, tokens, B, T, V, 2, NULL, logits, &steps, &err) == 0);
    fake_record(&f, tokens, f.calls - 1);
    CHECK(steps == 3 && f.calls == 3);
    CHECK(f.fill_step[T + P_B] == 0 && f.fill_step[T + P_E] == 0);
    CHECK(tokens[T + P_B] == 1 && tokens[T + P_E] == 1);
    for (int t = 0; t < T; t++) CHECK(tokens[2 * T + t] == 1);
}

static void test_ties_lowest_position(void) {
    enum { T = 4, V = 3 };
    Fake f;
    fake_init(&f, 1, T, V, 2);
    static const double p[2] = {0.6, 0.4};
    int tokens[T];
    for (int t = 0; t < T; t++) {
        int j = 0;
        for (int v = 0; v < V; v++) f.row[t][v] = v == 2 ? 9.0f : (float)log(p[j++]);
        tokens[t] = 2;
    }
    float logits[T * V];
    Err err = {{0}};
    SampleOptions o = options(POLICY_MARGIN, 1, 0, 0);
    CHECK(decode_steps(&o, fake_logits, &f, tokens, 1, T, V, 2, NULL, logits, NULL, &err) == 0);
    fake_record(&f, tokens, f.calls - 1);
    for (int t = 0; t < T; t++) CHECK(f.fill_step[t] == t && tokens[t] == 0);
}

static void test_errors(void) {
    Fake f;
    int tokens[ORDER_T];
    order_fixture(&f, tokens);
    f.fail_on_call = 2;
    float logits[ORDER_T * 5];
    int steps = 0;
    Err err = {{0}};
    SampleOptions o = options(POLICY_TOPK, 1, 0, 0);
    CHECK(decode_steps(&o, fake_logits, &f, tokens, 1, ORDER_T, 5, 2, NULL, logits, &steps, &err) ==
          -1);
    CHECK_MSG(strcmp(err.msg, "fake model failed on call 2") == 0, "%s", err.msg);
    CHECK(steps == 2 && f.calls == 2);

    order_fixture(&f, tokens);
    f.row[P_D][3] = NAN;
    CHECK(decode_steps(&o, fake_logits, &f, tokens, 1, ORDER_T, 5, 2, NULL, logits, NULL, &err) ==
          -1);
    CHECK_MSG(strstr(err.msg, "position 5") != NULL, "%s", err.msg);

    order_fixture(&f, tokens);
    o.tokens_per_step = 0;
    CHECK(decode_steps(&o, fake_logits, &f, tokens, 1, ORDER_T, 5, 2, NULL, logits, NULL, &err) ==
          -1);
    CHECK(strstr(err.msg, "tokens_per_step") != NULL);
    CHECK(f.calls == 0);
    o = options(POLICY_RANDOM, 1, 0, 0);
    CHECK(decode_steps(&o, fake_logits, &f, tokens, 1, ORDER_T, 5, 2, NULL, logits, NULL, &err) ==
          -1);
    CHECK(strstr(err.msg, "rng") != NULL);
    o = options(POLICY_TOPK, 1, 0, 0);
    o.block_size = -1;
    CHECK(decode_steps(&o, fake_logits, &f, tokens, 1, ORDER_T, 5, 2, NULL, logits, NULL, &err) ==
          -1);
    CHECK_MSG(strstr(err.msg, "block_size") != NULL, "%s", err.msg);
}

static void test_policy_names(void) {
    for (int p = 0; p < POLICY_COUNT; p++) {
        UnmaskPolicy q = POLICY_COUNT;
        CHECK(policy_from_name(policy_name((UnmaskPolicy)p), &q) == 0 && q == (UnmaskPolicy)p);
    }
    UnmaskPolicy q;
    CHECK(strcmp(policy_name(POLICY_MARGIN), "margin") == 0);
    CHECK(policy_from_name("entropy", &q) == 0 && q == POLICY_ENTROPY);
    CHECK(policy_from_name("confidence", &q) == -1);
    CHECK(policy_from_name("l2r", &q) == 0 && q == POLICY_L2R);
    /* existing values are stored in results and configs: they must not move */
    CHECK(POLICY_TOPK == 0 && POLICY_MARGIN == 1 && POLICY_ENTROPY == 2 && POLICY_RANDOM == 3);
    CHECK(POLICY_L2R == 4 && POLICY_COUNT == 5);
}

/* The ancestral sampler with T = 1 reveals every masked position in its single step, each with
 * its argmax token (the same tokens the policy decoder picks at temperature 0). */
static void test_ancestral_one_step(void) {
    Fake f;
    int want[ORDER_T], got[ORDER_T];
    order_fixture(&f, want);
    SampleOptions o = options(POLICY_TOPK, ORDER_T, 0, 0);
    float logits[ORDER_T * 5];
    Err err;
    Rng rng;
    rng_seed(&rng, 7, 0);
    CHECK(decode_steps(&o, fake_logits, &f, want, 1, ORDER_T, 5, 2, &rng, logits, NULL, &err) == 0);
    order_fixture(&f, got);
    o.ancestral_steps = 1;
    SampleStats st;
    CHECK_MSG(sample_decode(&o, fake_logits, &f, got, 1, ORDER_T, 5, 2, &rng, logits, &st, &err) ==
                  0,
              "%s", err.msg);
    CHECK(memcmp(got, want, sizeof got) == 0);
    CHECK(st.model_calls == 1 && st.nfe == 1.0 && st.idle_step_ratio == 0.0);
    /* the ancestral sampler draws its reveals: it needs an rng */
    order_fixture(&f, got);
    CHECK(sample_decode(&o, fake_logits, &f, got, 1, ORDER_T, 5, 2, NULL, logits, &st, &err) == -1);
}

/* Each masked position is revealed at a step uniform over the T steps, independently: with two
 * masked positions both land on one step with probability 1/T, so a sequence has 2 - 1/T
 * revealing steps and needs as many model passes on average, and a single masked position
 * needs exactly one pass and leaves T - 1 idle steps. The model is not called while nothing
 * that still has masks changed. */
static void test_ancestral_statistics(void) {
    enum { B = 20000, T = 2, V = 3, STEPS = 8 };
    static int tokens[B * T];
    static float logits[B * T * V];
    Fake f;
    fake_init(&f, B, T, V, 2);
    const double p[2] = {0.7, 0.3};
    set_row(&f, 0, p);
    set_row(&f, 1, p);
    SampleOptions o = options(POLICY_TOPK, 1, 0, 0);
    o.ancestral_steps = STEPS;
    Rng rng;
    rng_seed(&rng, 11, 0);
    Err err;
    SampleStats st;
    for (int i = 0; i < B * T; i++) tokens[i] = f.mask_id;
    CHECK_MSG(sample_decode(&o, fake_logits, &f, tokens, B, T, V, 2, &rng, logits, &st, &err) == 0,
              "%s", err.msg);
    int left = 0;
    for (int i = 0; i < B * T; i++) left += tokens[i] != 0;
    CHECK_MSG(left == 0, "%d positions not revealed with their argmax token", left);
    double want_revealing = 2.0 - 1.0 / STEPS, want_idle = (STEPS - want_revealing) / STEPS;
    CHECK_MSG(fabs(st.nfe - want_revealing) < 0.01, "nfe %.4f, expected %.4f", st.nfe,
              want_revealing);
    CHECK_MSG(fabs(st.idle_step_ratio - want_idle) < 0.003, "idle %.4f, expected %.4f",
              st.idle_step_ratio, want_idle);
    CHECK(st.model_calls >= 2 && st.model_calls <= STEPS);

    for (int b = 0; b < B; b++) tokens[b * T] = 1, tokens[b * T + 1] = f.mask_id;
    f.calls = 0;
    CHECK(sample_decode(&o, fake_logits, &f, tokens, B, T, V, 2, &rng, logits, &st, &err) == 0);
    CHECK(st.nfe == 1.0 && st.idle_step_ratio == (double)(STEPS - 1) / STEPS);
    CHECK_MSG(st.model_calls == 1 && f.calls == 1, "%d calls", st.model_calls);
}

/* Model scheduling: each step's model is the one its schedule segment names; the light and
 * heavy fakes count their calls, which must match the stats; a change of model forces a call. */
static void test_ancestral_schedule(void) {
    enum { T = 8, V = 3, STEPS = 16 };
    Fake heavy, light;
    int tokens[T];
    float logits[T * V];
    const double p[2] = {0.6, 0.4};
    fake_init(&heavy, 1, T, V, 2);
    fake_init(&light, 1, T, V, 2);
    for (int t = 0; t < T; t++) set_row(&heavy, t, p), set_row(&light, t, p);
    SampleOptions o = options(POLICY_TOPK, 1, 0, 0);
    o.ancestral_steps = STEPS;
    o.light_fn = fake_logits;
    o.light_ctx = &light;
    Rng rng;
    rng_seed(&rng, 5, 0);
    Err err;
    SampleStats st;
    static const char *const schedules[] = {"H16", "L4,H8,L4", "L16", ""};
    for (int i = 0; i < 4; i++) {
        for (int t = 0; t < T; t++) tokens[t] = 2;
        heavy.calls = light.calls = 0;
        o.schedule = schedules[i];
        CHECK_MSG(sample_decode(&o, fake_logits, &heavy, tokens, 1, T, V, 2, &rng, logits, &st,
                                &err) == 0,
                  "%s: %s", schedules[i], err.msg);
        CHECK_MSG(light.calls == st.light_calls && heavy.calls == st.model_calls - st.light_calls,
                  "%s: %d light, %d heavy calls; stats %d of %d", schedules[i], light.calls,
                  heavy.calls, st.light_calls, st.model_calls);
        CHECK(st.model_calls >= 1 && st.nfe == st.model_calls); /* one sequence: its own passes */
        CHECK(st.light_nfe == st.light_calls);
    }
    /* all light and all heavy: nothing of the other model */
    o.schedule = "L16";
    for (int t = 0; t < T; t++) tokens[t] = 2;
    CHECK(sample_decode(&o, fake_logits, &heavy, tokens, 1, T, V, 2, &rng, logits, &st, &err) == 0);
    CHECK(st.light_calls == st.model_calls);
    static const char *const bad[] = {"L4,H8", "L4,H8,L5", "X16", "L4;H12", "L0,H16", "H16,"};
    for (int i = 0; i < 6; i++) {
        o.schedule = bad[i];
        for (int t = 0; t < T; t++) tokens[t] = 2;
        CHECK_MSG(sample_decode(&o, fake_logits, &heavy, tokens, 1, T, V, 2, &rng, logits, &st,
                                &err) == -1 &&
                      strstr(err.msg, "eval.schedule"),
                  "schedule '%s' accepted (%s)", bad[i], err.msg);
    }
    o.schedule = "L4,H12";
    o.light_fn = NULL;
    CHECK(sample_decode(&o, fake_logits, &heavy, tokens, 1, T, V, 2, &rng, logits, &st, &err) ==
          -1);
    CHECK_MSG(strstr(err.msg, "no light model"), "%s", err.msg);
}

/* Model scheduling in the policy decoder: a sequence's schedule step is its share of revealed
 * positions, so two sequences with 4 and 8 masked positions change model at different calls;
 * a call where they disagree runs both models, and each takes its tokens from its own. */
static void test_policy_schedule(void) {
    enum { T = 8, V = 3, MASK = 2 };
    Fake heavy, light;
    int tokens[2 * T];
    float logits[2 * T * V];
    const double heavy_p[2] = {0.9, 0.1}, light_p[2] = {0.1, 0.9}; /* argmax 0 vs 1 */
    fake_init(&heavy, 2, T, V, MASK);
    fake_init(&light, 2, T, V, MASK);
    for (int t = 0; t < T; t++) set_row(&heavy, t, heavy_p), set_row(&light, t, light_p);
    SampleOptions o = options(POLICY_L2R, 1, 0, 0);
    o.light_fn = fake_logits;
    o.light_ctx = &light;
    o.schedule = "L1,H1";
    o.schedule_steps = 2;
    for (int t = 0; t < T; t++) tokens[t] = t < 4 ? 0 : MASK, tokens[T + t] = MASK;
    Err err;
    SampleStats st;
    CHECK_MSG(
        sample_decode(&o, fake_logits, &heavy, tokens, 2, T, V, MASK, NULL, logits, &st, &err) == 0,
        "%s", err.msg);
    static const int want[2 * T] = {0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0};
    for (int i = 0; i < 2 * T; i++)
        CHECK_MSG(tokens[i] == want[i],
                  "sequence %d position %d: token %d, expected %d (from the "
                  "%s model)",
                  i / T, i % T, tokens[i], want[i], want[i] ? "light" : "heavy");
    /* calls 1-2 light only, 3-4 both (sequence 0 is half done, 1 is not), 5-8 heavy only */
    CHECK_MSG(light.calls == 4 && heavy.calls == 6 && st.model_calls == 10 && st.light_calls == 4,
              "%d light and %d heavy calls; stats %d of %d", light.calls, heavy.calls,
              st.light_calls, st.model_calls);
    CHECK_MSG(st.nfe == 6.0 && st.light_nfe == 3.0, "nfe %g, light %g", st.nfe, st.light_nfe);
    /* without the schedule's length the policy decoder cannot place its steps */
    o.schedule_steps = 0;
    for (int i = 0; i < 2 * T; i++) tokens[i] = MASK;
    CHECK(sample_decode(&o, fake_logits, &heavy, tokens, 2, T, V, MASK, NULL, logits, &st, &err) ==
          -1);
    CHECK_MSG(strstr(err.msg, "eval.schedule") && strstr(err.msg, "eval.steps"), "%s", err.msg);
}

int main(void) {
    test_order_k1();
    test_tokens_per_step();
    test_threshold();
    test_l2r();
    test_blocks();
    test_blocks_batch();
    test_argmax_tokens();
    test_gumbel();
    test_fill_all();
    test_random_order();
    test_batch_steps();
    test_ties_lowest_position();
    test_errors();
    test_policy_names();
    test_ancestral_one_step();
    test_ancestral_statistics();
    test_ancestral_schedule();
    test_policy_schedule();
    return check_summary("sample");
}
