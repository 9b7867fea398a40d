/* Iterative unmasking (sample.h): the policy decoder (one model call per step for the whole
 * batch, then per sequence the best-scoring eligible masked positions receive their chosen
 * token) and MDLM's ancestral sampler with model scheduling. */
#include "sample.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const policy_names[POLICY_COUNT] = {"topk", "margin", "entropy", "random",
                                                       "l2r"};

const char *policy_name(UnmaskPolicy p) {
    return p >= 0 && p < POLICY_COUNT ? policy_names[p] : "unknown";
}

int policy_from_name(const char *name, UnmaskPolicy *out) {
    for (int i = 0; i < POLICY_COUNT; i++)
        if (strcmp(name, policy_names[i]) == 0) {
            *out = (UnmaskPolicy)i;
            return 0;
        }
    return -1;
}

/* One still-masked position: its proposed token and how confident the model is. */
typedef struct Candidate {
    int pos;
    int token;
    double score;    /* by policy; higher = unmask sooner */
    double max_prob; /* for threshold mode */
} Candidate;

/* Softmax over the vocabulary without mask_id: the two largest probabilities and the entropy. */
typedef struct Distribution {
    int argmax;
    double p1, p2, entropy;
} Distribution;

static int summarize_logits(const float *logits, int V, int mask_id, Distribution *d) {
    double hi = -INFINITY;
    int argmax = -1;
    for (int v = 0; v < V; v++) {
        if (v == mask_id) continue;
        if (isnan(logits[v])) return -1;
        if (argmax < 0 || logits[v] > hi) {
            hi = logits[v];
            argmax = v;
        }
    }
    if (!isfinite(hi)) return -1;
    double z = 0, weighted = 0, second = -INFINITY;
    for (int v = 0; v < V; v++) {
        if (v == mask_id) continue;
        double x = logits[v] - hi;
        double e = exp(x);
        z += e;
        if (e > 0) weighted += e * x;
        if (v != argmax && logits[v] > second) second = logits[v];
    }
    d->argmax = argmax;
    d->p1 = 1.0 / z;
    d->p2 = exp(second - hi) / z;
    d->entropy = log(z) - weighted / z; /* -sum p log p with p = e^x / z */
    return 0;
}

/* Gumbel-max: argmax_v (logit_v / T + G_v) is a sample from softmax(logits / T). */
static int gumbel_sample(const float *logits, int V, int mask_id, double temperature, Rng *rng) {
    int best = -1;
    double best_key = -INFINITY;
    for (int v = 0; v < V; v++) {
        if (v == mask_id) continue;
        double u = rng_uniform(rng);
        while (u <= 0.0) u = rng_uniform(rng);
        double key = logits[v] / temperature - log(-log(u));
        if (best < 0 || key > best_key) {
            best = v;
            best_key = key;
        }
    }
    return best;
}

static double policy_score(UnmaskPolicy policy, const Distribution *d, int pos, Rng *rng) {
    switch (policy) {
    case POLICY_L2R:
        return -(double)pos;
    case POLICY_MARGIN:
        return d->p1 - d->p2;
    case POLICY_ENTROPY:
        return -d->entropy;
    case POLICY_RANDOM:
        return rng_uniform(rng);
    case POLICY_TOPK:
    default:
        return d->p1;
    }
}

static int by_score_then_position(const void *a, const void *b) {
    const Candidate *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* The still-masked positions of one sequence that may be unmasked now, those of the first
 * block that still has any, written to cand[].pos in order; returns how many. */
static int eligible_positions(const int *tokens, const int *block_of, int T, int mask_id,
                              Candidate *cand) {
    int first = INT_MAX, m = 0;
    for (int t = 0; t < T; t++)
        if (tokens[t] == mask_id && block_of[t] < first) first = block_of[t];
    for (int t = 0; t < T; t++)
        if (tokens[t] == mask_id && block_of[t] == first) cand[m++].pos = t;
    return m;
}

/* Proposes a token and a score for each of cand[0..m) (positions already set); returns 0, or
 * -1 on bad logits (the position in *bad_pos). */
static int score_candidates(const SampleOptions *opt, const float *logits, int V, int mask_id,
                            Rng *rng, Candidate *cand, int m, int *bad_pos) {
    for (int i = 0; i < m; i++) {
        const float *row = logits + (size_t)cand[i].pos * V;
        Distribution d;
        if (summarize_logits(row, V, mask_id, &d) != 0) {
            *bad_pos = cand[i].pos;
            return -1;
        }
        cand[i].token =
            opt->temperature > 0 ? gumbel_sample(row, V, mask_id, opt->temperature, rng) : d.argmax;
        cand[i].score = policy_score(opt->policy, &d, cand[i].pos, rng);
        cand[i].max_prob = d.p1;
    }
    return 0;
}

static void swap_candidates(Candidate *a, Candidate *b) {
    Candidate t = *a;
    *a = *b;
    *b = t;
}

static void move_best_to_front(Candidate *cand, int m) {
    int best = 0;
    for (int i = 1; i < m; i++)
        if (by_score_then_position(&cand[i], &cand[best]) < 0) best = i;
    swap_candidates(&cand[0], &cand[best]);
}

/* Moves the positions to unmask to the front of cand and returns how many there are. */
static int choose_unmask_count(const SampleOptions *opt, Candidate *cand, int m) {
    if (opt->threshold > 0) {
        int above = 0;
        for (int i = 0; i < m; i++)
            if (cand[i].max_prob > opt->threshold) swap_candidates(&cand[above++], &cand[i]);
        if (above > 0) return above;
        move_best_to_front(cand, m);
        return 1;
    }
    int k = opt->tokens_per_step < m ? opt->tokens_per_step : m;
    if (k == 1)
        move_best_to_front(cand, m);
    else if (k < m)
        qsort(cand, (size_t)m, sizeof *cand, by_score_then_position);
    return k;
}

static int count_masked(const int *tokens, int n, int mask_id) {
    int m = 0;
    for (int i = 0; i < n; i++) m += tokens[i] == mask_id;
    return m;
}

static int check_options(const SampleOptions *opt, const Rng *rng, int B, int T, int V, int mask_id,
                         Err *err) {
    if (opt->policy < 0 || opt->policy >= POLICY_COUNT)
        return err_set(err, "sample: unknown unmasking policy %d", (int)opt->policy);
    if (opt->tokens_per_step < 1 && !(opt->threshold > 0))
        return err_set(err, "sample: tokens_per_step must be >= 1, got %d", opt->tokens_per_step);
    if (!(opt->temperature >= 0) || isinf(opt->temperature))
        return err_set(err, "sample: temperature must be finite and >= 0, got %g",
                       opt->temperature);
    if (isnan(opt->threshold)) return err_set(err, "sample: threshold is NaN");
    if (opt->block_size < 0)
        return err_set(err, "sample: block_size must be >= 0, got %d", opt->block_size);
    if (!rng && (opt->temperature > 0 || opt->policy == POLICY_RANDOM))
        return err_set(err, "sample: temperature > 0 and the random policy need an rng");
    if (B < 0 || T < 0 || V < 2 || mask_id < 0 || mask_id >= V)
        return err_set(err, "sample: bad shape B=%d T=%d V=%d mask_id=%d", B, T, V, mask_id);
    return 0;
}

/* Scratch of one policy decoding. */
typedef struct SampleWork {
    Candidate *cand; /* (T) candidates of one sequence */
    int *block_of;   /* (B, T) block of each position masked on entry, -1 elsewhere */
} SampleWork;

static void work_free(SampleWork *w) {
    free(w->cand);
    free(w->block_of);
}

static int work_alloc(SampleWork *w, int B, int T, Err *err) {
    size_t n = (size_t)B * T;
    w->cand = malloc((size_t)(T > 0 ? T : 1) * sizeof *w->cand);
    w->block_of = malloc((n ? n : 1) * sizeof *w->block_of);
    if (!w->cand || !w->block_of) {
        work_free(w);
        return err_set(err, "sample: out of memory");
    }
    return 0;
}

/* Numbers the positions masked on entry consecutively per sequence and groups them into
 * blocks of block_size (all in block 0 when block_size is 0). */
static void assign_blocks(const int *tokens, int B, int T, int mask_id, int block_size,
                          int *block_of) {
    for (int b = 0; b < B; b++) {
        int rank = 0;
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)b * T + t;
            block_of[i] = tokens[i] != mask_id ? -1 : block_size > 0 ? rank++ / block_size : 0;
        }
    }
}

/* One unmasking step for sequence b given the logits of the whole batch. */
static int unmask_sequence(const SampleOptions *opt, int *tokens, const int *block_of,
                           const float *logits, int b, int T, int V, int mask_id, Rng *rng,
                           Candidate *cand, Err *err) {
    int bad_pos = 0;
    int m = eligible_positions(tokens, block_of, T, mask_id, cand);
    if (score_candidates(opt, logits, V, mask_id, rng, cand, m, &bad_pos) != 0)
        return err_set(err, "sample: logits of sequence %d position %d are NaN, +inf or all -inf",
                       b, bad_pos);
    int k = m ? choose_unmask_count(opt, cand, m) : 0;
    for (int i = 0; i < k; i++) tokens[cand[i].pos] = cand[i].token;
    return 0;
}

/* The model schedule of opt over `steps` steps into a new light[steps] (1 = light, first step
 * first); light steps need a light model. Free *light also on failure. */
static int load_schedule(const SampleOptions *opt, int steps, unsigned char **light, Err *err) {
    *light = malloc(steps > 0 ? (size_t)steps : 1);
    if (!*light) return err_set(err, "sample: out of memory");
    if (sample_parse_schedule(opt->schedule, steps, *light, err)) return -1;
    for (int i = 0; i < steps; i++)
        if ((*light)[i] && !opt->light_fn)
            return err_set(err, "key 'eval.schedule': names light steps, but there is no light "
                                "model (eval.light_checkpoint)");
    return 0;
}

/* A policy-decoded sequence that has revealed `revealed` of the `masked` positions it began
 * with is at schedule step floor(revealed * steps / masked): its steps vary with its masked
 * count, so the schedule is read as a share of the decoding. */
static int schedule_step_of(int revealed, int masked, int steps) {
    int j = masked > 0 ? (int)((long)revealed * steps / masked) : 0;
    return j < steps ? j : steps - 1;
}

/* The policy decoder; every step of a sequence that still has masks reveals at least one, so
 * its passes are its steps. With a schedule, each sequence takes its logits from the model of
 * its schedule step; a step whose sequences need both models calls both. */
static int policy_decode(const SampleOptions *opt, LogitsFn fn, void *ctx, int *tokens, int B,
                         int T, int V, int mask_id, Rng *rng, float *logits_buf, SampleStats *st,
                         Err *err) {
    SampleWork w;
    if (work_alloc(&w, B, T, err) != 0) return -1;
    assign_blocks(tokens, B, T, mask_id, opt->block_size, w.block_of);
    const int scheduled = opt->schedule && opt->schedule[0], steps = opt->schedule_steps;
    size_t nb = B > 0 ? (size_t)B : 1;
    unsigned char *light = NULL, *uses_light = calloc(nb, 1);
    int *masked = malloc(nb * sizeof *masked); /* per sequence, on entry */
    int *left = malloc(nb * sizeof *left);     /* per sequence, before this step */
    float *light_logits = NULL;                /* when a step needs both models */
    int rc = uses_light && masked && left ? 0 : err_set(err, "sample: out of memory");
    if (rc == 0 && scheduled && steps < 1)
        rc = err_set(err, "key 'eval.schedule': the policy decoder needs eval.steps, the "
                          "schedule's length");
    if (rc == 0 && scheduled) rc = load_schedule(opt, steps, &light, err);
    for (int b = 0; b < B && rc == 0; b++)
        masked[b] = count_masked(tokens + (size_t)b * T, T, mask_id);
    long seq_passes = 0, light_passes = 0;
    while (rc == 0) {
        int need[2] = {0, 0};
        for (int b = 0; b < B; b++) {
            left[b] = count_masked(tokens + (size_t)b * T, T, mask_id);
            uses_light[b] = scheduled && left[b] &&
                            light[schedule_step_of(masked[b] - left[b], masked[b], steps)];
            need[uses_light[b]] |= left[b] > 0;
        }
        if (!need[0] && !need[1]) break; /* every sequence is decoded */
        if (need[0] && need[1] && !light_logits &&
            !(light_logits = malloc((size_t)B * T * V * sizeof *light_logits))) {
            rc = err_set(err, "sample: out of memory");
            break;
        }
        float *light_out = need[0] ? light_logits : logits_buf;
        st->model_calls += need[0] + need[1];
        st->light_calls += need[1];
        if ((need[0] && fn(ctx, tokens, B, logits_buf, err) != 0) ||
            (need[1] && opt->light_fn(opt->light_ctx, tokens, B, light_out, err) != 0)) {
            rc = -1;
            break;
        }
        for (int b = 0; b < B && rc == 0; b++) {
            size_t row = (size_t)b * T;
            seq_passes += left[b] > 0;
            light_passes += left[b] > 0 && uses_light[b];
            rc = unmask_sequence(opt, tokens + row, w.block_of + row,
                                 (uses_light[b] ? light_out : logits_buf) + row * V, b, T, V,
                                 mask_id, rng, w.cand, err);
        }
    }
    work_free(&w);
    free(light);
    free(uses_light);
    free(masked);
    free(left);
    free(light_logits);
    st->nfe = B ? (double)seq_passes / B : 0.0;
    st->light_nfe = B ? (double)light_passes / B : 0.0;
    return rc;
}

/* Masked units (tokens, or sub-tokens with opt->sub) of tokens[0..n). */
static int count_hidden_units(const SampleOptions *opt, const int *tokens, int n, int mask_id) {
    if (!opt->sub) return count_masked(tokens, n, mask_id);
    int h = 0;
    for (int i = 0; i < n; i++) h += subtok_hidden_count(opt->sub, tokens[i]);
    return h;
}

/* Whether a masked unit is revealed at step i of T (counting down): probability 1/i. */
static int reveal_now(int i, Rng *rng) {
    return i == 1 || rng_uniform(rng) * i < 1.0;
}

/* The token a revealing position takes from its logits row; -1 on bad logits. */
static int draw_token(const SampleOptions *opt, const float *row, int V, int mask_id, Rng *rng) {
    Distribution d;
    if (summarize_logits(row, V, mask_id, &d) != 0) return -1;
    return opt->temperature > 0 ? gumbel_sample(row, V, mask_id, opt->temperature, rng) : d.argmax;
}

/* MDM-Prime's step at one position: each masked digit revealed with probability 1/i, all of
 * them from one drawn token. Returns the digits revealed, or -1 on bad logits. */
static int reveal_digits(const SampleOptions *opt, int *state, const float *row, int V, int mask_id,
                         int i, Rng *rng) {
    const SubTokenizer *sub = opt->sub;
    int digits[SUBTOKEN_MAX_ELL], now[SUBTOKEN_MAX_ELL], n = 0;
    subtok_digits(sub, *state, digits);
    for (int j = 0; j < sub->ell; j++) {
        now[j] = digits[j] == sub->base && reveal_now(i, rng);
        n += now[j];
    }
    if (n == 0) return 0;
    int token = draw_token(opt, row, V, mask_id, rng);
    if (token < 0) return -1;
    const int *code = sub->codes + (size_t)token * sub->ell;
    for (int j = 0; j < sub->ell; j++)
        if (now[j]) digits[j] = code[j];
    *state = subtok_state_of_digits(sub, digits);
    return n;
}

/* Reveals the masked units of one sequence, each with probability 1/i (step i of T, counting
 * down); returns how many it revealed, or -1 on bad logits (the position in *bad_pos). */
static int ancestral_reveal(const SampleOptions *opt, int *tokens, const float *logits, int T,
                            int V, int mask_id, int i, Rng *rng, int *bad_pos) {
    int revealed = 0;
    for (int t = 0; t < T; t++) {
        const float *row = logits + (size_t)t * V;
        int n;
        if (opt->sub) { /* a clean position has no masked digit: it draws nothing, returns 0 */
            n = reveal_digits(opt, tokens + t, row, V, mask_id, i, rng);
        } else {
            if (tokens[t] != mask_id || !reveal_now(i, rng)) continue;
            int token = draw_token(opt, row, V, mask_id, rng);
            n = token < 0 ? -1 : 1;
            if (token >= 0) tokens[t] = token;
        }
        if (n < 0) {
            *bad_pos = t;
            return -1;
        }
        revealed += n;
    }
    return revealed;
}

int sample_parse_schedule(const char *spec, int steps, unsigned char *light, Err *err) {
    int at = 0;
    const char *p = spec ? spec : "";
    memset(light, 0, (size_t)steps);
    while (*p) {
        char kind = *p++;
        char *end;
        long n = strtol(p, &end, 10);
        if ((kind != 'L' && kind != 'H') || end == p || n < 1 || n > steps - at ||
            (*end != '\0' && (*end != ',' || end[1] == '\0')))
            return err_set(err,
                           "key 'eval.schedule': expected segments such as L4,H8,L4 (L light, H "
                           "heavy, step counts summing to eval.steps = %d), got '%s'",
                           steps, spec);
        memset(light + at, kind == 'L', (size_t)n);
        at += (int)n;
        p = *end ? end + 1 : end;
    }
    if (at != steps && at != 0)
        return err_set(err, "key 'eval.schedule': its segments sum to %d steps, eval.steps is %d",
                       at, steps);
    return 0;
}

/* The sequences that still have masks and need the step's model: changed since the last pass,
 * or the last pass was by the other model. */
static long sequences_needing_pass(const int *left, const unsigned char *stale, int model_changed,
                                   int B) {
    long n = 0;
    for (int b = 0; b < B; b++) n += left[b] > 0 && (stale[b] || model_changed);
    return n;
}

static int ancestral_decode(const SampleOptions *opt, LogitsFn fn, void *ctx, int *tokens, int B,
                            int T, int V, int mask_id, Rng *rng, float *logits_buf, SampleStats *st,
                            Err *err) {
    const int steps = opt->ancestral_steps;
    size_t nb = B > 0 ? (size_t)B : 1;
    unsigned char *stale = malloc(nb);     /* changed since the model saw it */
    int *left = malloc(nb * sizeof *left); /* masked positions per sequence */
    unsigned char *light = NULL;           /* the schedule, first step first */
    int rc = stale && left ? 0 : err_set(err, "sample: out of memory");
    if (rc == 0) rc = load_schedule(opt, steps, &light, err);
    for (int b = 0; b < B && rc == 0; b++) {
        stale[b] = 1;
        left[b] = count_hidden_units(opt, tokens + (size_t)b * T, T, mask_id);
    }
    long seq_passes = 0, light_passes = 0, idle = 0;
    int cached = -1; /* the model whose logits logits_buf holds: 0 heavy, 1 light */
    for (int i = steps; i >= 1 && rc == 0; i--) {
        int model = light[steps - i];
        long needing = sequences_needing_pass(left, stale, model != cached, B);
        if (needing) {
            seq_passes += needing;
            light_passes += model ? needing : 0;
            st->model_calls++;
            st->light_calls += model;
            if ((model ? opt->light_fn(opt->light_ctx, tokens, B, logits_buf, err)
                       : fn(ctx, tokens, B, logits_buf, err)) != 0) {
                rc = -1;
                break;
            }
            memset(stale, 0, nb);
            cached = model;
        }
        for (int b = 0; b < B && rc == 0; b++) {
            size_t row = (size_t)b * T;
            int bad_pos = 0;
            int n = left[b] ? ancestral_reveal(opt, tokens + row, logits_buf + row * V, T, V,
                                               mask_id, i, rng, &bad_pos)
                            : 0;
            if (n < 0)
                rc = err_set(err,
                             "sample: logits of sequence %d position %d are NaN, +inf or "
                             "all -inf",
                             b, bad_pos);
            left[b] -= n > 0 ? n : 0;
            stale[b] |= n > 0;
            idle += n == 0;
        }
    }
    free(stale);
    free(left);
    free(light);
    st->nfe = B ? (double)seq_passes / B : 0.0;
    st->light_nfe = B ? (double)light_passes / B : 0.0;
    st->idle_step_ratio = B && steps ? (double)idle / ((double)B * steps) : 0.0;
    return rc;
}

int sample_decode(const SampleOptions *opt, LogitsFn fn, void *ctx, int *tokens, int B, int T,
                  int V, int mask_id, Rng *rng, float *logits_buf, SampleStats *stats, Err *err) {
    SampleStats st = {0};
    if (stats) *stats = st;
    if (check_options(opt, rng, B, T, V, mask_id, err) != 0) return -1;
    if (opt->ancestral_steps > 0 && !rng)
        return err_set(err, "sample: the ancestral sampler needs an rng");
    int rc =
        opt->ancestral_steps > 0
            ? ancestral_decode(opt, fn, ctx, tokens, B, T, V, mask_id, rng, logits_buf, &st, err)
            : policy_decode(opt, fn, ctx, tokens, B, T, V, mask_id, rng, logits_buf, &st, err);
    if (stats) *stats = st;
    return rc;
}
