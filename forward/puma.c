/* PUMA, progressive unmasking in its batch-streaming form (DESIGN.md, "Forward processes").
 *
 * A persistent pool of B sequences is the training batch. Each sequence sits at a phase
 * j in 0..K-1 of a K-stage chain; stage j targets an unmasked fraction r ~ U[j/K, (j+1)/K)
 * of L_eff (capped at L_eff - 1, so something is always left to learn). After each training
 * step the chain advances using the SAME forward pass's logits (no extra forward, no
 * gradient): every phase moves on by one and the masked positions the model is most
 * confident about (highest max log-prob, computed by the backend) are revealed with their
 * ground-truth tokens (teacher forcing), so the model trains on the masks its own
 * confidence-ordered decoding will meet. A sequence whose phase wraps to 0 is replaced by a fresh
 * one, so PUMA draws about B/K fresh sequences per step where random masking draws B.
 *
 * PUMA inside blocks (process block with block.inner=puma) runs the same chain on one block
 * of the answer at a time: a fresh sequence draws a block n uniformly, blocks before n are
 * clean, later blocks are MASK with zero loss weight (as in block.c), and the stages' targets
 * count positions of block n only. The block size follows block.size_schedule; the pool is
 * rebuilt when it changes, as when K changes.
 *
 * Randomness comes from streams keyed by (seed, step) and the pool is checkpointed, so a
 * resumed run continues the chain exactly. */
#include "puma.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { PUMA_STANDARD = 0, PUMA_CONFIDENCE_COLLAPSE = 1 };

#define PUMA_STATE_VERSION 2u

/* The process's keys. */
typedef struct PumaParams {
    int K;               /* stages of the unmasking chain */
    Schedule K_schedule; /* [[K, step], ...]; the pool is rebuilt at each change */
    char mode[CFG_STR];  /* standard | confidence_collapse */
    double tau;          /* confidence_collapse: reveal every position with p > tau */
    long warmup_steps;   /* plain random masking for the first N steps */
} PumaParams;

static const ConfigKey puma_keys[] = {
    CFG_INT(PumaParams, "puma.K", K, "8", 1, 4096,
            "PUMA: stages of the progressive unmasking chain"),
    CFG_SCHEDULE(PumaParams, "puma.K_schedule", K_schedule, 1, 4096,
                 "PUMA: [[K, step], ...] stage-count schedule; the pool is rebuilt at each change"),
    CFG_CHOICE(PumaParams, "puma.mode", mode, "standard", "standard|confidence_collapse",
               "PUMA: standard | confidence_collapse"),
    CFG_DOUBLE(PumaParams, "puma.tau", tau, "0.9", 0, 1,
               "PUMA confidence_collapse: also reveal every masked position with p > tau"),
    CFG_LONG(PumaParams, "puma.warmup_steps", warmup_steps, "0", 0, CFG_BIG,
             "PUMA: plain random masking for the first N steps"),
};

static const ConfigSection puma_config_section = CFG_SECTION("puma", puma_keys, PumaParams, NULL);

typedef struct PumaSeq {
    long example;   /* training example index */
    int phase;      /* 0..K-1 */
    int block;      /* index of the noised block (0 when not in blocks) */
    int region_len; /* positions the chain runs over: the block, or the whole answer */
} PumaSeq;

typedef struct Puma {
    int K;      /* stages in force for the current pool */
    int K_base; /* puma.K: stages when no schedule entry applies */
    int built;  /* pool exists (false during warmup) */
    int mode;
    double tau;
    long warmup_steps;
    Schedule K_schedule;
    int in_blocks;       /* PUMA inside blocks */
    Schedule S_schedule; /* block.size_schedule */
    long S_base;         /* block.size */
    int S;               /* block size of the current pool (0 = whole answer) */
    int B, T, mask_id;
    PumaSeq *seq;             /* (B) */
    unsigned char *masked;    /* (B, T) 1 = masked and trained on */
    unsigned char *hidden;    /* (B, T) 1 = MASK in later blocks, never trained on */
    int *targets;             /* (B, T) clean tokens */
    unsigned char *is_prompt; /* (B, T) */
    int *positions;           /* the framework's scratch (T), not owned */
    int *phases;              /* scratch (B) for build_pool */
} Puma;

static int count_masked(const Puma *p, int b) {
    int n = 0;
    const unsigned char *m = p->masked + (size_t)b * p->T;
    for (int t = 0; t < p->T; t++) n += m[t];
    return n;
}

static int l_eff(const Puma *p, int b) {
    return p->seq[b].region_len;
}

/* Unmasked-count target of stage `phase`: round(r * L_eff), r ~ U[phase/K, (phase+1)/K),
 * capped at L_eff - 1. */
static int stage_target(Rng *rng, int phase, int K, int L) {
    double r = ((double)phase + rng_uniform(rng)) / (double)K;
    int target = (int)lround(r * L);
    return target < L - 1 ? target : L - 1;
}

/* Loads example `idx` into slot b with the chain's region fully masked: block `block` of
 * its answer (a random block when block < 0), or the whole answer when not in blocks.
 * Earlier blocks stay clean and later ones are hidden. */
static void load_slot(ForwardProcess *fp, Puma *p, int b, long idx, int block, Rng *rng) {
    const Task *task = fp->task;
    int T = p->T;
    unsigned char *prompt = p->is_prompt + (size_t)b * T, *m = p->masked + (size_t)b * T;
    unsigned char *h = p->hidden + (size_t)b * T;
    task->ops->example(task, SPLIT_TRAIN, idx, p->targets + (size_t)b * T, prompt);
    int n = forward_answer_positions(prompt, T, p->positions);
    int S = p->S <= 0 || p->S >= n ? n : p->S;
    int n_blocks = S > 0 ? (n + S - 1) / S : 1;
    if (block < 0) block = n_blocks > 1 ? (int)rng_below(rng, (uint64_t)n_blocks) : 0;
    if (block >= n_blocks) block = n_blocks - 1;
    int start = block * S, len = n - start < S ? n - start : S;
    memset(m, 0, (size_t)T);
    memset(h, 0, (size_t)T);
    for (int i = start; i < start + len; i++) m[p->positions[i]] = 1;
    for (int i = start + len; i < n; i++) h[p->positions[i]] = 1;
    p->seq[b].example = idx;
    p->seq[b].block = block;
    p->seq[b].region_len = len;
}

/* Reveals `count` uniformly random masked positions of slot b. */
static void reveal_random(Puma *p, int b, int count, Rng *rng) {
    int T = p->T, n = 0;
    unsigned char *m = p->masked + (size_t)b * T;
    for (int t = 0; t < T; t++)
        if (m[t]) p->positions[n++] = t;
    for (int i = 0; i < count && i < n; i++) { /* partial Fisher-Yates */
        int j = i + (int)rng_below(rng, (uint64_t)(n - i));
        int tmp = p->positions[i];
        p->positions[i] = p->positions[j];
        p->positions[j] = tmp;
        m[p->positions[i]] = 0;
    }
}

/* A fresh sequence at `phase`, revealed at random to that stage's target. */
static void start_sequence(ForwardProcess *fp, Puma *p, int b, int phase, Rng *rng) {
    long idx = (long)rng_below(rng, (uint64_t)fp->task->n_train);
    load_slot(fp, p, b, idx, p->in_blocks ? -1 : 0, rng);
    p->seq[b].phase = phase;
    int L = l_eff(p, b);
    reveal_random(p, b, stage_target(rng, phase, p->K, L), rng);
}

/* Phases balanced over the pool (slot i gets i mod K, as evenly as B allows), shuffled. */
static void build_pool(ForwardProcess *fp, Puma *p, int K, int S, long step) {
    Rng rng = forward_step_rng(fp, "puma", step); /* the pool's fresh sequences */
    p->K = K;
    p->S = S;
    for (int b = 0; b < p->B; b++) p->phases[b] = b % K;
    rng_shuffle_int(&rng, p->phases, p->B);
    for (int b = 0; b < p->B; b++) start_sequence(fp, p, b, p->phases[b], &rng);
    p->built = 1;
}

/* Input = targets with masked and hidden positions as MASK; loss weight 1/(masked * B) on
 * the masked positions only (hidden later blocks carry none). */
static void write_batch(const Puma *p, ForwardBatch *batch) {
    size_t n = (size_t)p->B * p->T;
    memcpy(batch->targets, p->targets, n * sizeof(int));
    for (size_t i = 0; i < n; i++)
        batch->tokens[i] = p->masked[i] || p->hidden[i] ? p->mask_id : p->targets[i];
    for (int b = 0; b < p->B; b++) {
        const unsigned char *m = p->masked + (size_t)b * p->T;
        float *w = batch->weights + (size_t)b * p->T;
        int masked = count_masked(p, b);
        float wm = masked ? 1.0f / ((float)masked * (float)batch->B) : 0.0f;
        for (int t = 0; t < p->T; t++) w[t] = m[t] ? wm : 0.0f;
    }
}

static void puma_make_batch(ForwardProcess *fp, long step, ForwardBatch *batch) {
    Puma *p = fp->impl;
    if (step < p->warmup_steps) {
        p->built = 0;
        forward_random_masking_batch(fp, step, batch);
        return;
    }
    int K = (int)schedule_value_at(&p->K_schedule, step, p->K_base);
    int S = p->in_blocks ? (int)schedule_value_at(&p->S_schedule, step, p->S_base) : 0;
    if (!p->built || K != p->K || S != p->S) build_pool(fp, p, K, S, step);
    write_batch(p, batch);
}

/* Reveals the `count` most confident masked positions of slot b (ties: lower position);
 * confidence is the slot's row (T) of observe's confidence. */
static void reveal_most_confident(Puma *p, int b, const float *confidence, int count) {
    int T = p->T, n = 0;
    unsigned char *m = p->masked + (size_t)b * T;
    for (int t = 0; t < T; t++)
        if (m[t]) p->positions[n++] = t;
    for (int i = 0; i < count && i < n; i++) { /* partial selection sort: count is small */
        int best = i;
        for (int j = i + 1; j < n; j++) {
            float cj = confidence[p->positions[j]], cb = confidence[p->positions[best]];
            if (cj > cb || (cj == cb && p->positions[j] < p->positions[best])) best = j;
        }
        int tmp = p->positions[i];
        p->positions[i] = p->positions[best];
        p->positions[best] = tmp;
        m[p->positions[i]] = 0;
    }
}

/* Advances slot b by one stage; confidence is the whole batch's (B, T), and only the slot's
 * masked positions are read. */
static void advance_sequence(ForwardProcess *fp, Puma *p, int b, const float *confidence,
                             Rng *rng) {
    int T = p->T, L = l_eff(p, b);
    int phase = p->seq[b].phase + 1;
    if (phase >= p->K) { /* the chain wrapped: a fresh sequence takes the slot */
        start_sequence(fp, p, b, 0, rng);
        return;
    }
    const float *conf = confidence + (size_t)b * T;
    p->seq[b].phase = phase;
    int unmasked = L - count_masked(p, b);
    int target = stage_target(rng, phase, p->K, L);
    if (target > unmasked) reveal_most_confident(p, b, conf, target - unmasked);
    if (p->mode == PUMA_CONFIDENCE_COLLAPSE) {
        float log_tau = (float)log(p->tau);
        unsigned char *mm = p->masked + (size_t)b * T;
        for (int t = 0; t < T; t++)
            if (mm[t] && conf[t] > log_tau) mm[t] = 0;
        unmasked = L - count_masked(p, b);
        if (unmasked >= L) {
            start_sequence(fp, p, b, 0, rng);
            return;
        }
        int bucket = (int)((double)unmasked / L * p->K); /* re-bucket from the fraction */
        p->seq[b].phase = bucket > phase ? (bucket < p->K ? bucket : p->K - 1) : phase;
    }
}

static void puma_observe(ForwardProcess *fp, long step, const float *confidence) {
    Puma *p = fp->impl;
    if (!p->built || step < p->warmup_steps) return;
    Rng rng = forward_step_rng(fp, "pumb", step); /* the chain's stage targets */
    for (int b = 0; b < p->B; b++) advance_sequence(fp, p, b, confidence, &rng);
}

/* sizes NULL: the chain runs over the whole answer. */
static int puma_setup(ForwardProcess *fp, const Config *cfg, const Task *task,
                      const Schedule *sizes, long size, Err *err) {
    const PumaParams *params = config_params_of(cfg, &puma_config_section);
    Puma *p = calloc(1, sizeof(*p));
    if (!p) return err_set(err, "process 'puma': out of memory");
    fp->impl = p;
    p->K_base = p->K = params->K;
    p->K_schedule = params->K_schedule;
    p->mode =
        strcmp(params->mode, "confidence_collapse") == 0 ? PUMA_CONFIDENCE_COLLAPSE : PUMA_STANDARD;
    p->tau = params->tau;
    p->warmup_steps = params->warmup_steps;
    p->in_blocks = sizes != NULL;
    if (sizes) p->S_schedule = *sizes;
    p->S_base = size;
    p->B = fp->batch;
    p->T = task->seq_len;
    p->mask_id = task->mask_id;
    size_t n = (size_t)p->B * p->T;
    p->seq = calloc((size_t)p->B, sizeof(PumaSeq));
    p->masked = calloc(n, 1);
    p->hidden = calloc(n, 1);
    p->targets = calloc(n, sizeof(int));
    p->is_prompt = calloc(n, 1);
    p->positions = fp->positions;
    p->phases = calloc((size_t)p->B, sizeof(int));
    if (!p->seq || !p->masked || !p->hidden || !p->targets || !p->is_prompt || !p->positions ||
        !p->phases)
        return err_set(err, "process 'puma': out of memory for a pool of %d x %d", p->B, p->T);
    return 0;
}

static int puma_create(ForwardProcess *fp, const Config *cfg, const Task *task, Err *err) {
    return puma_setup(fp, cfg, task, NULL, 0, err);
}

int puma_create_in_blocks(ForwardProcess *fp, const Config *cfg, const Task *task,
                          const Schedule *sizes, long size, Err *err) {
    return puma_setup(fp, cfg, task, sizes, size, err);
}

static void puma_destroy(ForwardProcess *fp) {
    Puma *p = fp->impl;
    if (!p) return;
    free(p->seq);
    free(p->masked);
    free(p->hidden);
    free(p->targets);
    free(p->is_prompt);
    free(p->phases);
    free(p);
}

/* Checkpoint state: u32 version, K, B, T, built, S; then per slot i64 example, i32 phase,
 * i32 block and T mask bytes. Targets, prompt flags and hidden blocks are re-derived from
 * the task by example index and block. */
typedef struct PumaStateHeader {
    uint32_t version, K, B, T, built, S;
} PumaStateHeader;

enum { SLOT_HEAD = sizeof(int64_t) + 2 * sizeof(int32_t) };

static size_t slot_bytes(const Puma *p) {
    return SLOT_HEAD + (size_t)p->T;
}

static size_t puma_state_bytes(const ForwardProcess *fp) {
    const Puma *p = fp->impl;
    return sizeof(PumaStateHeader) + (size_t)p->B * slot_bytes(p);
}

static void puma_state_save(const ForwardProcess *fp, void *out) {
    const Puma *p = fp->impl;
    PumaStateHeader h = {PUMA_STATE_VERSION, (uint32_t)p->K,     (uint32_t)p->B,
                         (uint32_t)p->T,     (uint32_t)p->built, (uint32_t)p->S};
    unsigned char *o = out;
    memcpy(o, &h, sizeof(h));
    o += sizeof(h);
    for (int b = 0; b < p->B; b++) {
        int64_t ex = p->seq[b].example;
        int32_t ph = p->seq[b].phase, blk = p->seq[b].block;
        memcpy(o, &ex, sizeof(ex));
        memcpy(o + sizeof(ex), &ph, sizeof(ph));
        memcpy(o + sizeof(ex) + sizeof(ph), &blk, sizeof(blk));
        memcpy(o + SLOT_HEAD, p->masked + (size_t)b * p->T, (size_t)p->T);
        o += slot_bytes(p);
    }
}

static int puma_state_load(ForwardProcess *fp, const void *in, size_t bytes, Err *err) {
    Puma *p = fp->impl;
    PumaStateHeader h;
    if (bytes < sizeof(h)) return err_set(err, "PUMA state: truncated");
    memcpy(&h, in, sizeof(h));
    if (h.version != PUMA_STATE_VERSION || h.B != (uint32_t)p->B || h.T != (uint32_t)p->T ||
        bytes != puma_state_bytes(fp) || h.K < 1)
        return err_set(err,
                       "PUMA state: pool of %u x %u (version %u) does not fit this run's "
                       "%d x %d",
                       h.B, h.T, h.version, p->B, p->T);
    p->K = (int)h.K;
    p->built = (int)h.built;
    p->S = (int)h.S;
    const unsigned char *i = (const unsigned char *)in + sizeof(h);
    for (int b = 0; b < p->B; b++) {
        int64_t ex;
        int32_t ph, blk;
        memcpy(&ex, i, sizeof(ex));
        memcpy(&ph, i + sizeof(ex), sizeof(ph));
        memcpy(&blk, i + sizeof(ex) + sizeof(ph), sizeof(blk));
        if (ex < 0 || ex >= fp->task->n_train || ph < 0 || ph >= (int32_t)h.K)
            return err_set(err, "PUMA state: slot %d holds example %lld phase %d, out of range", b,
                           (long long)ex, (int)ph);
        if (blk < 0) return err_set(err, "PUMA state: slot %d has block %d", b, (int)blk);
        if (p->built) load_slot(fp, p, b, (long)ex, (int)blk, NULL);
        p->seq[b].phase = ph;
        memcpy(p->masked + (size_t)b * p->T, i + SLOT_HEAD, (size_t)p->T);
        i += slot_bytes(p);
    }
    return 0;
}

const ForwardOps forward_puma_ops = {
    .name = "puma",
    .description = "PUMA progressive unmasking: a pool of teacher-forced K-stage chains",
    .config = &puma_config_section,
    .create = puma_create,
    .destroy = puma_destroy,
    .make_batch = puma_make_batch,
    .observe = puma_observe,
    .state_bytes = puma_state_bytes,
    .state_save = puma_state_save,
    .state_load = puma_state_load,
};
