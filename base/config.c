/* Typed run configuration: one key table drives defaults, YAML loading, overrides, --help
 * and the canonical resolved YAML. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

static const ConfigKey core_keys[] = {
    CFG_STRING(Config, "name", name, "", "run name (default: the config file's name)"),
    CFG_STRING(Config, "backend", backend, "auto",
               "compute backend: auto (the fastest built) or a built backend (listed below)"),
    CFG_INT(Config, "threads", threads, "0", 0, 1024,
            "worker threads (0 = the cores not busy with other processes, at least 1)"),
    CFG_LONG(Config, "seed", seed, "1", 0, (double)LONG_MAX, "run seed: init, data order, masks"),
    CFG_NAMED(Config, "process", process, "forward process (training noise, listed below)"),
    CFG_STRING(Config, "out_dir", out_dir, "", "run directory (\"\" = runs/<name>-s<seed>)"),

    CFG_NAMED(Config, "task.name", task_name, "task (listed below)"),
    CFG_STRING(Config, "task.train_file", task.train_file, "",
               "training data file (\"\" = generate)"),
    CFG_STRING(Config, "task.eval_file", task.eval_file, "",
               "evaluation data file (\"\" = generate)"),
    CFG_LONG(Config, "task.train_count", task.train_count, "20000", 0, CFG_BIG,
             "generated training examples"),
    CFG_LONG(Config, "task.eval_count", task.eval_count, "256", 0, CFG_BIG,
             "generated (or first N loaded) eval examples"),
    CFG_LONG(Config, "task.data_seed", task.data_seed, "1234", 0, (double)LONG_MAX,
             "seed of generated data (independent of the run seed)"),
    CFG_CHOICE(Config, "task.tokenizer", task.tokenizer, "byte", "byte|gpt2",
               "token-level tasks (tinygsm, text): byte | gpt2"),
    CFG_INT(Config, "task.seq_len", task.seq_len, "0", 0, 1048576,
            "token-level tasks: tokens per sequence (0 = the task's default)"),

    CFG_INT(Config, "model.d", model.d, "256", 1, 65536, "model width"),
    CFG_INT(Config, "model.layers", model.layers, "8", 1, 1024, "transformer blocks"),
    CFG_INT(Config, "model.heads", model.heads, "8", 1, 1024,
            "attention heads (must divide model.d)"),
    CFG_INT(Config, "model.ffn", model.ffn, "768", 1, 1048576, "SwiGLU hidden width"),
    CFG_BOOL(Config, "model.tied_head", model.tied_head, "false",
             "output head shares the embedding"),
    CFG_BOOL(Config, "model.causal", model.causal, "false", "causal attention (autoregressive)"),
    CFG_BOOL(Config, "model.shift_logits", model.shift_logits, "false",
             "position j is predicted from the output at j-1 (AR and AR-initialised models)"),
    CFG_DOUBLE(Config, "model.rope_theta", model.rope_theta, "10000", 1, 1e12,
               "RoPE base frequency"),
    CFG_DOUBLE(Config, "model.norm_eps", model.norm_eps, "1e-6", CFG_POSITIVE, 1,
               "RMSNorm epsilon"),
    CFG_DOUBLE(Config, "model.init_std", model.init_std, "0.02", 0, 10,
               "std of the normal weight init (model.init=small)"),
    CFG_CHOICE(Config, "model.init", model.init, "small", "small|torch",
               "weight init: small (N(0, init_std), residual outputs / sqrt(2L), zero biases) | "
               "torch (PyTorch's defaults, as PUMA's reference model: embedding N(0,1), Linear "
               "U(+-1/sqrt(fan_in)))"),
    CFG_CHOICE(Config, "model.rope", model.rope, "standard", "standard|reference",
               "RoPE: standard (half-split rotation) | reference (PUMA's reference code: adjacent "
               "pairs, frequencies indexed by dim, not a rotation)"),

    CFG_LONG(Config, "train.steps", train.steps, "20000", 0, CFG_BIG, "optimizer steps"),
    CFG_INT(Config, "train.batch", train.batch, "32", 1, 1048576, "sequences per step"),
    CFG_DOUBLE(Config, "train.lr", train.lr, "3e-4", CFG_POSITIVE, 10,
               "peak learning rate (AdamW)"),
    CFG_DOUBLE(Config, "train.min_lr_frac", train.min_lr_frac, "0", 0, 1,
               "cosine decays the lr to lr * min_lr_frac"),
    CFG_LONG(Config, "train.warmup_steps", train.warmup_steps, "500", 0, CFG_BIG,
             "linear warmup steps"),
    CFG_DOUBLE(Config, "train.weight_decay", train.weight_decay, "0.01", 0, 10,
               "AdamW weight decay"),
    CFG_DOUBLE(Config, "train.beta1", train.beta1, "0.9", 0, CFG_BELOW_ONE, "AdamW beta1"),
    CFG_DOUBLE(Config, "train.beta2", train.beta2, "0.999", 0, CFG_BELOW_ONE, "AdamW beta2"),
    CFG_DOUBLE(Config, "train.adam_eps", train.adam_eps, "1e-8", CFG_POSITIVE, 1, "AdamW epsilon"),
    CFG_DOUBLE(Config, "train.grad_clip", train.grad_clip, "1.0", 0, 1e12,
               "clip the global gradient norm (0 = off)"),
    CFG_BOOL(Config, "train.ema", train.ema, "true",
             "keep EMA weights, decay min(0.9999, (1+n)/(10+n))"),
    CFG_LONG(Config, "train.log_every", train.log_every, "10", 1, CFG_BIG,
             "log metrics every N steps"),
    CFG_LONG(Config, "train.eval_every", train.eval_every, "500", 0, CFG_BIG,
             "evaluate every N steps (0 = off)"),
    CFG_LONG(Config, "train.ckpt_every", train.ckpt_every, "500", 0, CFG_BIG,
             "write a checkpoint every N steps (0 = only at the end)"),
    CFG_BOOL(Config, "train.keep_checkpoints", train.keep_checkpoints, "false",
             "also keep each periodic checkpoint as step-N.bin"),
    CFG_STRING(Config, "train.init_from", train.init_from, "",
               "start from this checkpoint's weights (e.g. an AR model for AR initialisation)"),
    CFG_LONG(Config, "train.attention_anneal_steps", train.attention_anneal_steps, "0", 0, CFG_BIG,
             "anneal attention from causal to full over N steps (0 = off)"),
    CFG_STRING(Config, "train.resume", train.resume, "",
               "checkpoint to resume from (\"\" = fresh, auto = the run dir's own)"),
    CFG_BOOL(
        Config, "train.overwrite", train.overwrite, "false",
        "a fresh run may replace the results already in its run directory (train --overwrite)"),

    CFG_LONG(Config, "eval.count", eval.count, "256", 0, CFG_BIG,
             "eval examples per evaluation (0 = all)"),
    CFG_INT(Config, "eval.batch", eval.batch, "64", 1, 1048576, "sequences per eval batch"),
    CFG_CHOICE(Config, "eval.policy", eval.policy, "margin", "topk|margin|entropy|random|l2r",
               "unmasking policy: topk | margin | entropy | random | l2r (left to right)"),
    CFG_INT(Config, "eval.tokens_per_step", eval.tokens_per_step, "1", 1, 1048576,
            "tokens unmasked per decoding step"),
    CFG_DOUBLE(Config, "eval.threshold", eval.threshold, "0", 0, 1,
               ">0: unmask every position with p > threshold (at least one per step)"),
    CFG_DOUBLE(Config, "eval.temperature", eval.temperature, "0", 0, 100,
               "0 = argmax, >0 = Gumbel sampling"),
    CFG_BOOL(Config, "eval.use_ema", eval.use_ema, "true", "evaluate the EMA weights"),
    CFG_STRING(Config, "eval.extra", eval.extra, "",
               "more decodings evaluated during training: policy:k pairs and ancestral:T, e.g. "
               "topk:1,margin:2,ancestral:64"),
    CFG_INT(Config, "eval.block_size", eval.block_size, "0", 0, 1048576,
            "decode block by block (0 = the process's decode block size, else all at once)"),
    CFG_INT(Config, "eval.elbo_points", eval.elbo_points, "8", 0, 4096,
            "time points of the validation ELBO (elbo.csv: the loss under random masking with "
            "the same masks for every method); 0: none (tasks with answers only)"),
    CFG_INT(Config, "eval.samples", eval.samples, "4", 0, 4096,
            "text task: samples generated and written at each evaluation"),
    CFG_CHOICE(Config, "eval.sampler", eval.sampler, "unmask", "unmask|ancestral",
               "unmask (eval.policy, k per step) | ancestral (MDLM's T-step sampler, eval.steps; "
               "reports nfe and idle_step_ratio)"),
    CFG_INT(Config, "eval.steps", eval.steps, "128", 1, 1048576,
            "ancestral sampler: steps T (each masked position is revealed at step i of T with "
            "probability 1/i, counting down); with the policy decoder, the length of "
            "eval.schedule"),
    CFG_STRING(Config, "eval.light_checkpoint", eval.light_checkpoint, "",
               "model scheduling (mdmlab eval, schedule-search): the light model's checkpoint"),
    CFG_STRING(Config, "eval.schedule", eval.schedule, "",
               "model scheduling: segments of steps from the first, L light or H heavy, e.g. "
               "L4,H8,L4 summing to eval.steps (\"\" = all heavy)"),
};

enum { N_CORE = sizeof core_keys / sizeof core_keys[0] };
enum { MAX_KEYS = 512 }; /* core and section keys together (config_init checks) */

/* ---- the schema: core keys, then each section's keys ------------------------------------ */

static size_t aligned_size(size_t n) {
    return (n + 15) & ~(size_t)15;
}

static int schema_section_count(const ConfigSchema *schema) {
    return schema && schema->section_count ? schema->section_count() : 0;
}

/* Key i of cfg's schema and the offset in Config of the struct its field offset is into (0 for
 * core keys, the section's place in module_params for a section's keys); NULL past the end. */
static const ConfigKey *locate_key(const Config *cfg, int i, size_t *base) {
    if (i < 0) return NULL;
    if (i < N_CORE) {
        *base = 0;
        return &core_keys[i];
    }
    i -= N_CORE;
    size_t offset = offsetof(Config, module_params);
    for (int s = 0; s < schema_section_count(cfg->schema); s++) {
        const ConfigSection *sec = cfg->schema->section_at(s);
        if (!sec) continue;
        if (i < sec->key_count) {
            *base = offset;
            return &sec->keys[i];
        }
        i -= sec->key_count;
        offset += aligned_size(sec->params_size);
    }
    return NULL;
}

/* Every key of cfg's schema in order, with where in Config the struct its offset is into
 * starts: one walk of the schema, for the code that visits every key (the canonical writer
 * runs once per sweep run). Returns the count. */
typedef struct KeyRef {
    const ConfigKey *key;
    size_t base;
} KeyRef;

static int list_keys(const Config *cfg, KeyRef refs[MAX_KEYS]) {
    int n = 0;
    for (int i = 0; i < N_CORE; i++) refs[n++] = (KeyRef){&core_keys[i], 0};
    size_t offset = offsetof(Config, module_params);
    for (int s = 0; s < schema_section_count(cfg->schema); s++) {
        const ConfigSection *sec = cfg->schema->section_at(s);
        if (!sec) continue;
        for (int j = 0; j < sec->key_count && n < MAX_KEYS; j++)
            refs[n++] = (KeyRef){&sec->keys[j], offset};
        offset += aligned_size(sec->params_size);
    }
    return n;
}

static const void *ref_field(const Config *cfg, KeyRef r) {
    return (const char *)cfg + r.base + r.key->offset;
}

int config_key_count(const Config *cfg) {
    int n = N_CORE;
    for (int s = 0; s < schema_section_count(cfg->schema); s++) {
        const ConfigSection *sec = cfg->schema->section_at(s);
        if (sec) n += sec->key_count;
    }
    return n;
}

const ConfigKey *config_key_at(const Config *cfg, int i) {
    size_t base;
    return locate_key(cfg, i, &base);
}

static void *key_field(Config *cfg, int i) {
    size_t base;
    const ConfigKey *k = locate_key(cfg, i, &base);
    return (char *)cfg + base + k->offset;
}

static const void *key_field_of(const Config *cfg, int i) {
    return key_field((Config *)cfg, i);
}

static size_t section_offset(const Config *cfg, const ConfigSection *section) {
    size_t offset = 0;
    for (int s = 0; s < schema_section_count(cfg->schema); s++) {
        const ConfigSection *sec = cfg->schema->section_at(s);
        if (sec == section) return offset;
        if (sec) offset += aligned_size(sec->params_size);
    }
    /* A module asked for a section its config's schema does not hold: a bug in the caller. */
    fprintf(stderr, "mdmlab: config section '%s' is not in this config's schema\n",
            section && section->owner ? section->owner : "?");
    abort();
}

void *config_params(Config *cfg, const ConfigSection *section) {
    return cfg->module_params + section_offset(cfg, section);
}

const void *config_params_of(const Config *cfg, const ConfigSection *section) {
    return cfg->module_params + section_offset(cfg, section);
}

/* The registry a named key's values come from, or NULL for other keys. */
static const ConfigNamedKey *named_key(const Config *cfg, const ConfigKey *k) {
    const ConfigSchema *schema = cfg->schema;
    for (int i = 0; schema && i < schema->named_key_count; i++)
        if (strcmp(schema->named_keys[i].key, k->name) == 0) return &schema->named_keys[i];
    return NULL;
}

/* The keys that do not decide what a run trains; every other key does, so a new key is part
 * of a run's identity unless it is listed here (tests/test_config.c checks each name exists). */
static const struct {
    const char *name;
    ConfigRole role;
} key_roles[] = {
    {"name", CFG_ROLE_EXECUTION},
    {"out_dir", CFG_ROLE_EXECUTION},
    {"threads", CFG_ROLE_EXECUTION},
    {"train.resume", CFG_ROLE_EXECUTION},
    {"train.overwrite", CFG_ROLE_EXECUTION},
    {"backend", CFG_ROLE_COMPUTE},
    {"train.log_every", CFG_ROLE_OBSERVATION},
    {"train.eval_every", CFG_ROLE_OBSERVATION},
    {"train.ckpt_every", CFG_ROLE_OBSERVATION},
    {"train.keep_checkpoints", CFG_ROLE_OBSERVATION},
};

ConfigRole config_key_role(const ConfigKey *k) {
    if (strncmp(k->name, "eval.", 5) == 0) return CFG_ROLE_OBSERVATION;
    for (size_t i = 0; i < sizeof key_roles / sizeof key_roles[0]; i++)
        if (strcmp(k->name, key_roles[i].name) == 0) return key_roles[i].role;
    return CFG_ROLE_TRAINS;
}

int config_role_key_count(void) {
    return (int)(sizeof key_roles / sizeof key_roles[0]);
}

const char *config_role_key_name(int i) {
    return key_roles[i].name;
}

#define NAME_MAX_LEN 256 /* longest dotted key name the loader builds */
#define SHOWN_LEN    128 /* a value quoted in an error message */
#define WHY_LEN      512 /* what was wrong with a value */

/* ---- key lookup and suggestions --------------------------------------------------------- */

/* The index of the key called name, or -1. */
static int find_key(const Config *cfg, const char *name) {
    for (int i = 0; i < N_CORE; i++)
        if (strcmp(core_keys[i].name, name) == 0) return i;
    int first = N_CORE; /* index of the section's first key */
    for (int s = 0; s < schema_section_count(cfg->schema); s++) {
        const ConfigSection *sec = cfg->schema->section_at(s);
        if (!sec) continue;
        for (int j = 0; j < sec->key_count; j++)
            if (strcmp(sec->keys[j].name, name) == 0) return first + j;
        first += sec->key_count;
    }
    return -1;
}

/* The first key of a section ("model.d" for "model"), or NULL when name is no section. */
static const char *first_key_of_section(const Config *cfg, const char *name) {
    size_t n = strlen(name);
    for (int i = 0; i < config_key_count(cfg); i++) {
        const char *key = config_key_at(cfg, i)->name;
        if (strncmp(key, name, n) == 0 && key[n] == '.') return key;
    }
    return NULL;
}

/* A section is a dotted prefix of some key: "model" for "model.d". */
static int is_section(const Config *cfg, const char *name) {
    return first_key_of_section(cfg, name) != NULL;
}

/* Optimal string alignment distance: Levenshtein plus adjacent transpositions, so that
 * "modle" is one edit from "model". */
static size_t edit_distance(const char *a, size_t na, const char *b, size_t nb) {
    size_t rows[3][NAME_MAX_LEN + 1];
    if (nb > NAME_MAX_LEN) return (size_t)-1;
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= nb; j++) prev[j] = j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < best) best = prev[j] + 1;
            if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[nb];
}

static const char *leaf_of(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : name;
}

/* The closest key or section name to an unknown name, or "" when nothing is close. A typo
 * (small edit distance) wins; otherwise a key whose last component matches ("lr" ->
 * "train.lr"). */
static void suggest_name(const Config *cfg, const char *name, char *out, size_t outsz) {
    size_t n = strlen(name), best = (size_t)-1;
    size_t limit = (n + 2) / 3; /* edits allowed: about a third of the name, 1 to 3 */
    if (limit < 1) limit = 1;
    if (limit > 3) limit = 3;
    out[0] = '\0';
    for (int i = 0; i < config_key_count(cfg); i++) {
        const char *key = config_key_at(cfg, i)->name;
        /* Every dotted prefix of the key and the key itself are candidates. */
        for (const char *end = key;; end++) {
            if (*end == '.' || *end == '\0') {
                size_t d = edit_distance(name, n, key, (size_t)(end - key));
                if (d < best && d <= limit) {
                    best = d;
                    snprintf(out, outsz, "%.*s", (int)(end - key), key);
                }
            }
            if (*end == '\0') break;
        }
    }
    if (out[0]) return;
    for (int i = 0; i < config_key_count(cfg); i++) {
        const char *key = config_key_at(cfg, i)->name;
        if (strcmp(leaf_of(key), leaf_of(name)) == 0) {
            snprintf(out, outsz, "%s", key);
            return;
        }
    }
}

static int unknown_key_error(const Config *cfg, Err *err, const char *where, const char *name) {
    char hint[NAME_MAX_LEN];
    suggest_name(cfg, name, hint, sizeof hint);
    if (hint[0]) return err_set(err, "%sunknown key '%s' (did you mean '%s'?)", where, name, hint);
    return err_set(err, "%sunknown key '%s'", where, name);
}

/* ---- scalar values ---------------------------------------------------------------------- */

/* Shortest "%.Ng" that reads back as the same double; whole numbers print without an
 * exponent ("10000", not "1e+04"). */
static void format_double(double v, char *buf, size_t n) {
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, n, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

/* Quote a value for a one-line error message: shortened when long, control characters
 * escaped. */
static void quote_for_message(const char *text, size_t len, char *out, size_t outsz) {
    const size_t max_shown = 60;
    size_t o = 0, i;
    out[o++] = '\'';
    for (i = 0; i < len && i < max_shown && o + 8 < outsz; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n')
            out[o++] = '\\', out[o++] = 'n';
        else if (c == '\t')
            out[o++] = '\\', out[o++] = 't';
        else if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    if (i < len) out[o++] = '.', out[o++] = '.', out[o++] = '.';
    out[o++] = '\'';
    out[o] = '\0';
}

static int check_bounds(const ConfigKey *k, double v, const char *shown, char *why, size_t wsz) {
    char bound[32];
    if (v < k->min) {
        format_double(k->min, bound, sizeof bound);
        snprintf(why, wsz, "%s is below the minimum %s", shown, bound);
        return -1;
    }
    if (v > k->max) {
        format_double(k->max, bound, sizeof bound);
        snprintf(why, wsz, "%s is above the maximum %s", shown, bound);
        return -1;
    }
    return 0;
}

static int parse_integer(const ConfigKey *k, const char *text, size_t len, long *out, char *why,
                         size_t wsz) {
    char shown[SHOWN_LEN];
    quote_for_message(text, len, shown, sizeof shown);
    if (len == 0 || !(text[0] == '-' || text[0] == '+' || (text[0] >= '0' && text[0] <= '9'))) {
        snprintf(why, wsz, "expected an integer, got %s", shown);
        return -1;
    }
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end != text + len || end == text) {
        snprintf(why, wsz, "expected an integer, got %s", shown);
        return -1;
    }
    if (errno == ERANGE) {
        snprintf(why, wsz, "expected an integer, got %s (out of range)", shown);
        return -1;
    }
    char num[32];
    snprintf(num, sizeof num, "%ld", v);
    if (check_bounds(k, (double)v, num, why, wsz)) return -1;
    *out = v;
    return 0;
}

static int parse_double(const ConfigKey *k, const char *text, size_t len, double *out, char *why,
                        size_t wsz) {
    char shown[SHOWN_LEN];
    quote_for_message(text, len, shown, sizeof shown);
    if (len == 0 || text[0] == ' ' || text[0] == '\t' || text[0] == '\n') {
        snprintf(why, wsz, "expected a number, got %s", shown);
        return -1;
    }
    char *end;
    double v = strtod(text, &end);
    if (end != text + len || end == text) {
        snprintf(why, wsz, "expected a number, got %s", shown);
        return -1;
    }
    if (!isfinite(v)) {
        snprintf(why, wsz, "expected a finite number, got %s", shown);
        return -1;
    }
    char num[32];
    format_double(v, num, sizeof num);
    if (check_bounds(k, v, num, why, wsz)) return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *text, size_t len, int *out, char *why, size_t wsz) {
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    for (int i = 0; i < 3; i++) {
        if (strlen(yes[i]) == len && strncasecmp(text, yes[i], len) == 0) return *out = 1, 0;
        if (strlen(no[i]) == len && strncasecmp(text, no[i], len) == 0) return *out = 0, 0;
    }
    char shown[SHOWN_LEN];
    quote_for_message(text, len, shown, sizeof shown);
    snprintf(why, wsz, "expected true or false, got %s", shown);
    return -1;
}

static int parse_string(const ConfigKey *k, const char *text, size_t len, char *out, char *why,
                        size_t wsz) {
    if (len >= k->size) {
        snprintf(why, wsz, "value is too long (%zu characters, at most %zu)", len, k->size - 1);
        return -1;
    }
    if (memchr(text, '\0', len)) {
        snprintf(why, wsz, "value contains a NUL character");
        return -1;
    }
    memcpy(out, text, len);
    out[len] = '\0';
    return 0;
}

/* Parse a scalar (text of len bytes, NUL-terminated) by the key's type and store it in cfg.
 * On failure nothing is stored and `why` says what was wrong (without the key name). */
long schedule_value_at(const Schedule *s, long step, long fallback) {
    long v = fallback;
    for (int i = 0; i < s->n && s->step[i] <= step; i++) v = s->value[i];
    return v;
}

/* Skips spaces; then, if the next character is c, consumes it. */
static int accept_char(const char **p, const char *end, char c) {
    while (*p < end && (**p == ' ' || **p == '\t')) (*p)++;
    if (*p < end && **p == c) {
        (*p)++;
        return 1;
    }
    return 0;
}

static int accept_long(const char **p, const char *end, long *out) {
    while (*p < end && (**p == ' ' || **p == '\t')) (*p)++;
    char buf[32];
    size_t n = 0;
    while (*p + n < end && n + 1 < sizeof buf && strchr("+-0123456789", (*p)[n])) n++;
    if (n == 0) return 0;
    memcpy(buf, *p, n);
    buf[n] = '\0';
    char *stop;
    errno = 0;
    *out = strtol(buf, &stop, 10);
    if (*stop || errno) return 0;
    *p += n;
    return 1;
}

/* "[[value, step], ...]" (flow YAML); steps strictly increasing from >= 0. */
static int parse_schedule(const ConfigKey *k, const char *text, size_t len, Schedule *out,
                          char *why, size_t wsz) {
    const char *p = text, *end = text + len;
    Schedule s = {0};
    char shown[SHOWN_LEN];
    quote_for_message(text, len, shown, sizeof shown);
    if (!accept_char(&p, end, '[')) goto bad;
    if (!accept_char(&p, end, ']')) {
        do {
            long v, step;
            if (s.n == SCHEDULE_MAX) {
                snprintf(why, wsz, "at most %d schedule entries, got more in %s", SCHEDULE_MAX,
                         shown);
                return -1;
            }
            if (!accept_char(&p, end, '[') || !accept_long(&p, end, &v) ||
                !accept_char(&p, end, ',') || !accept_long(&p, end, &step) ||
                !accept_char(&p, end, ']'))
                goto bad;
            if (v < k->min || v > k->max) {
                snprintf(why, wsz, "schedule value %ld is outside [%.0f, %.0f]", v, k->min, k->max);
                return -1;
            }
            if (step < 0 || (s.n > 0 && step <= s.step[s.n - 1])) {
                snprintf(why, wsz, "schedule steps must be >= 0 and strictly increasing, got %s",
                         shown);
                return -1;
            }
            s.value[s.n] = v;
            s.step[s.n] = step;
            s.n++;
        } while (accept_char(&p, end, ','));
        if (!accept_char(&p, end, ']')) goto bad;
    }
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if (p != end) goto bad;
    *out = s;
    return 0;
bad:
    snprintf(why, wsz, "expected a schedule [[value, step], ...], got %s", shown);
    return -1;
}

static void lowercase_copy(const char *s, char *out, size_t n) {
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++) out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

/* The closest of `count` names to value within a few edits, ignoring case ("PUMA" is "puma"),
 * or NULL. */
const char *config_closest_name(const char *value, const char *const *names, int count) {
    char v[NAME_MAX_LEN], name[NAME_MAX_LEN];
    lowercase_copy(value, v, sizeof v);
    size_t n = strlen(v), limit = n < 3 ? 1 : n < 9 ? 2 : 3, best = (size_t)-1;
    const char *found = NULL;
    for (int i = 0; i < count; i++) {
        lowercase_copy(names[i], name, sizeof name);
        size_t d = edit_distance(v, n, name, strlen(name));
        if (d <= limit && d < best) best = d, found = names[i];
    }
    return found;
}

enum { MAX_CHOICES = 64 };

/* The allowed values of a choice or named key, into names[]; returns their count. `storage`
 * holds the split choice list. */
static int allowed_values(const Config *cfg, const ConfigKey *k, const char **names, char *storage,
                          size_t storage_size) {
    const ConfigNamedKey *named = named_key(cfg, k);
    int n = 0;
    if (named) {
        for (int i = 0; i < named->count() && n < MAX_CHOICES; i++) names[n++] = named->name_at(i);
        return n;
    }
    snprintf(storage, storage_size, "%s", k->choices);
    char *save = NULL;
    for (char *c = strtok_r(storage, "|", &save); c && n < MAX_CHOICES;
         c = strtok_r(NULL, "|", &save))
        names[n++] = c;
    return n;
}

/* A choice key's value is one of its choices, a named key's one of the registered names. */
static int check_allowed_value(const Config *cfg, const ConfigKey *k, const char *value, char *why,
                               size_t wsz) {
    if (!k->choices && !named_key(cfg, k)) return 0;
    const char *names[MAX_CHOICES];
    char storage[CFG_PATH];
    int n = allowed_values(cfg, k, names, storage, sizeof storage);
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], value) == 0) return 0;
    char shown[SHOWN_LEN], list[CFG_PATH] = "";
    quote_for_message(value, strlen(value), shown, sizeof shown);
    for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
    const char *hint = config_closest_name(value, names, n);
    snprintf(why, wsz, "expected one of %s; got %s%s%s%s", list, shown,
             hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    return -1;
}

/* Parse a scalar by the type of key ki and store it in cfg. On failure nothing is stored and
 * `why` says what was wrong (without the key name). */
static int set_scalar(Config *cfg, int ki, const char *text, size_t len, char *why, size_t wsz) {
    const ConfigKey *k = config_key_at(cfg, ki);
    void *dst = key_field(cfg, ki);
    switch (k->type) {
    case CFG_T_INT:
    case CFG_T_LONG: {
        long v;
        if (parse_integer(k, text, len, &v, why, wsz)) return -1;
        if (k->type == CFG_T_INT)
            *(int *)dst = (int)v; /* bounds keep ints in range */
        else
            *(long *)dst = v;
        return 0;
    }
    case CFG_T_DOUBLE:
        return parse_double(k, text, len, (double *)dst, why, wsz);
    case CFG_T_BOOL:
        return parse_bool(text, len, (int *)dst, why, wsz);
    case CFG_T_STRING: {
        char value[CFG_PATH];
        if (parse_string(k, text, len, value, why, wsz) ||
            check_allowed_value(cfg, k, value, why, wsz))
            return -1;
        memset(dst, 0, k->size); /* nothing of an earlier value stays behind the NUL */
        memcpy(dst, value, len + 1);
        return 0;
    }
    case CFG_T_SCHEDULE:
        return parse_schedule(k, text, len, (Schedule *)dst, why, wsz);
    }
    snprintf(why, wsz, "internal error: unhandled key type %d", (int)k->type);
    return -1;
}

/* A key's default: its row's, or for a named key without one the first registered name. */
static const char *default_value(const Config *cfg, const ConfigKey *k) {
    const ConfigNamedKey *named = named_key(cfg, k);
    if (!k->def && named && named->count() > 0) return named->name_at(0);
    return k->def ? k->def : "";
}

static int set_default(Config *cfg, int ki, char *why, size_t wsz) {
    const char *def = default_value(cfg, config_key_at(cfg, ki));
    return set_scalar(cfg, ki, def, strlen(def), why, wsz);
}

/* The schema's bugs, caught by test_config and test_registry: too many keys, parameters that
 * do not fit, a key name used twice, a default that its own row refuses. */
static void check_schema(const Config *cfg) {
    size_t params = 0;
    for (int s = 0; s < schema_section_count(cfg->schema); s++) {
        const ConfigSection *sec = cfg->schema->section_at(s);
        if (sec) params += aligned_size(sec->params_size);
    }
    const char *bug = NULL, *key = "";
    int n = config_key_count(cfg);
    if (n > MAX_KEYS) bug = "more keys than MAX_KEYS";
    if (params > CFG_MODULE_BYTES) bug = "the sections' parameters exceed CFG_MODULE_BYTES";
    for (int i = 0; i < n && !bug; i++)
        if (find_key(cfg, config_key_at(cfg, i)->name) != i)
            bug = "a key name declared twice", key = config_key_at(cfg, i)->name;
    if (!bug) return;
    fprintf(stderr, "mdmlab: bad config schema: %s %s\n", bug, key);
    abort();
}

void config_init(Config *cfg, const ConfigSchema *schema) {
    memset(cfg, 0, sizeof *cfg);
    cfg->schema = schema;
    check_schema(cfg);
    for (int i = 0; i < config_key_count(cfg); i++) {
        char why[WHY_LEN];
        if (set_default(cfg, i, why, sizeof why)) {
            fprintf(stderr, "mdmlab: bad default for config key '%s': %s\n",
                    config_key_at(cfg, i)->name, why);
            abort();
        }
    }
}

void config_reset_roles(Config *cfg, unsigned roles) {
    KeyRef refs[MAX_KEYS];
    int n = list_keys(cfg, refs);
    for (int i = 0; i < n; i++) {
        if (!(config_key_role(refs[i].key) & roles)) continue;
        char why[WHY_LEN];
        set_default(cfg, i, why, sizeof why); /* checked by config_init */
    }
}

/* ---- YAML loading ------------------------------------------------------------------------ */

typedef struct Loader {
    yaml_document_t *doc;
    const char *origin;
    Config *cfg;
    Err *err;
    const char *const *skip;     /* top-level names whose values another module reads, or NULL */
    size_t first_line[MAX_KEYS]; /* line where each key was set (0 = not yet) */
    unsigned char *seen;         /* per node: already read (an alias reads a node again) */
    int skip_unknown;            /* ignore names the schema does not know */
} Loader;

static size_t node_line(const yaml_node_t *n) {
    return n->start_mark.line + 1;
}

static const char *node_kind(const yaml_node_t *n) {
    switch (n->type) {
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "a value";
    }
}

static const char *node_text(const yaml_node_t *n) {
    return (const char *)n->data.scalar.value;
}

/* `key:`, `key: ~` and `key: null` (unquoted) are YAML's null, never a config value. */
static int is_null_node(const yaml_node_t *n) {
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *s = node_text(n);
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* The node at `index`, marked read; NULL when it was read before: YAML aliases (one node
 * under two names) are refused, which also bounds the work of a hostile file by its size. */
static yaml_node_t *take_node(Loader *ld, int index) {
    yaml_node_t *n = yaml_document_get_node(ld->doc, index);
    if (!n || ld->seen[index]) return NULL;
    ld->seen[index] = 1;
    return n;
}

static int alias_error(Loader *ld, size_t line, const char *name) {
    return err_set(ld->err, "%s:%zu: key '%s': YAML aliases are not supported", ld->origin, line,
                   name);
}

static int load_mapping(Loader *ld, const yaml_node_t *map, const char *prefix);

static int load_scalar_value(Loader *ld, int ki, const yaml_node_t *n) {
    const ConfigKey *k = config_key_at(ld->cfg, ki);
    if (is_null_node(n))
        return err_set(ld->err, "%s:%zu: key '%s': expected a value", ld->origin, node_line(n),
                       k->name);
    char why[WHY_LEN];
    if (set_scalar(ld->cfg, ki, node_text(n), n->data.scalar.length, why, sizeof why))
        return err_set(ld->err, "%s:%zu: key '%s': %s", ld->origin, node_line(n), k->name, why);
    return 0;
}

/* Spells a nested YAML sequence as flow text ("[[4, 0], [8, 100]]"). */
static int spell_sequence(Loader *ld, const ConfigKey *k, const yaml_node_t *seq, StrBuf *text) {
    sb_append(text, "[", 1);
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        yaml_node_t *n = take_node(ld, *it);
        if (!n) return alias_error(ld, node_line(seq), k->name);
        if (it > seq->data.sequence.items.start) sb_append(text, ",", 1);
        if (n->type == YAML_SEQUENCE_NODE) {
            if (spell_sequence(ld, k, n, text)) return -1;
        } else if (n->type == YAML_SCALAR_NODE) {
            sb_append(text, node_text(n), n->data.scalar.length);
        } else {
            return err_set(ld->err,
                           "%s:%zu: key '%s': expected a list [[value, step], ...], got %s",
                           ld->origin, node_line(n), k->name, node_kind(n));
        }
    }
    sb_append(text, "]", 1);
    return 0;
}

/* A list value (a schedule) parses like the same list written in one line. */
static int load_sequence_value(Loader *ld, int ki, const yaml_node_t *seq) {
    const ConfigKey *k = config_key_at(ld->cfg, ki);
    StrBuf text = {0};
    int rc = spell_sequence(ld, k, seq, &text);
    char why[WHY_LEN];
    if (rc == 0 && set_scalar(ld->cfg, ki, text.data, text.len, why, sizeof why))
        rc = err_set(ld->err, "%s:%zu: key '%s': %s", ld->origin, node_line(seq), k->name, why);
    sb_free(&text);
    return rc;
}

static int load_value(Loader *ld, int ki, const yaml_node_t *n) {
    const ConfigKey *k = config_key_at(ld->cfg, ki);
    if (n->type == YAML_SCALAR_NODE) return load_scalar_value(ld, ki, n);
    if (k->type == CFG_T_SCHEDULE && n->type == YAML_SEQUENCE_NODE)
        return load_sequence_value(ld, ki, n);
    if (k->type == CFG_T_SCHEDULE)
        return err_set(ld->err, "%s:%zu: key '%s': expected a list [[value, step], ...], got %s",
                       ld->origin, node_line(n), k->name, node_kind(n));
    return err_set(ld->err, "%s:%zu: key '%s': expected a single value, got %s", ld->origin,
                   node_line(n), k->name, node_kind(n));
}

/* A name that is a section ("model"), not a key: its value must be a mapping of its keys. */
static int load_section(Loader *ld, const char *name, const yaml_node_t *n) {
    if (n->type == YAML_MAPPING_NODE) return load_mapping(ld, n, name);
    if (is_null_node(n)) return 0; /* `model:` with every entry commented out */
    return err_set(ld->err, "%s:%zu: '%s' is a section: expected a mapping of its keys, got %s",
                   ld->origin, node_line(n), name, node_kind(n));
}

/* In known-keys mode, whether an unknown name may be a module's key, left for the loader with
 * the full schema: a name under task. (which core and modules share) or in a section the core
 * table does not have. A top-level scalar is always a core key; model.dd never is a key. */
static int may_be_module_key(const char *name, const yaml_node_t *n) {
    const char *dot = strchr(name, '.');
    size_t len = dot ? (size_t)(dot - name) : strlen(name);
    if (!dot && n->type != YAML_MAPPING_NODE) return 0;
    if (len == 4 && strncmp(name, "task", 4) == 0) return 1;
    for (int i = 0; i < N_CORE; i++)
        if (strncmp(core_keys[i].name, name, len) == 0 && core_keys[i].name[len] == '.') return 0;
    return 1;
}

static int load_entry(Loader *ld, const char *name, size_t key_line, const yaml_node_t *n) {
    int ki = find_key(ld->cfg, name);
    if (ki < 0 && is_section(ld->cfg, name)) return load_section(ld, name, n);
    if (ki < 0 && ld->skip_unknown && may_be_module_key(name, n)) return 0;
    if (ki < 0) {
        char where[CFG_PATH + 32];
        snprintf(where, sizeof where, "%s:%zu: ", ld->origin, key_line);
        return unknown_key_error(ld->cfg, ld->err, where, name);
    }
    if (ld->first_line[ki])
        return err_set(ld->err, "%s:%zu: duplicate key '%s' (first set on line %zu)", ld->origin,
                       key_line, name, ld->first_line[ki]);
    ld->first_line[ki] = key_line;
    return load_value(ld, ki, n);
}

static int is_skipped(const Loader *ld, const char *name) {
    for (const char *const *s = ld->skip; s && *s; s++)
        if (strcmp(*s, name) == 0) return 1;
    return 0;
}

/* Every key/value pair of the mapping; nested names are prefix.key. */
static int load_mapping(Loader *ld, const yaml_node_t *map, const char *prefix) {
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *key = take_node(ld, pr->key);
        if (!key) return alias_error(ld, node_line(map), prefix);
        size_t key_line = node_line(key);
        if (key->type != YAML_SCALAR_NODE)
            return err_set(ld->err, "%s:%zu: expected a key name, got %s", ld->origin, key_line,
                           node_kind(key));
        char name[NAME_MAX_LEN];
        int n = snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "." : "", node_text(key));
        if (n < 0 || (size_t)n >= sizeof name)
            return err_set(ld->err, "%s:%zu: unknown key '%.64s...' (name too long)", ld->origin,
                           key_line, name);
        if (!prefix[0] && is_skipped(ld, name)) continue; /* another module reads it */
        yaml_node_t *value = take_node(ld, pr->value);
        if (!value) return alias_error(ld, key_line, name);
        if (load_entry(ld, name, key_line, value)) return -1;
    }
    return 0;
}

static int syntax_error(const yaml_parser_t *p, const char *origin, Err *err) {
    const char *problem = p->problem ? p->problem : "unknown error";
    if (p->error == YAML_MEMORY_ERROR) return err_set(err, "%s: out of memory", origin);
    if (p->error == YAML_READER_ERROR)
        return err_set(err, "%s: YAML syntax error: %s (byte %zu)", origin, problem,
                       p->problem_offset);
    return err_set(err, "%s:%zu: YAML syntax error: %s (column %zu)", origin,
                   p->problem_mark.line + 1, problem, p->problem_mark.column + 1);
}

/* Whether the parser holds a further document after the first. */
static int more_documents(yaml_parser_t *parser, size_t *line) {
    yaml_document_t next;
    if (!yaml_parser_load(parser, &next)) return 1; /* a syntax error after the first */
    yaml_node_t *root = yaml_document_get_root_node(&next);
    int more = root != NULL;
    if (root) *line = next.start_mark.line + 1; /* where the second document starts */
    yaml_document_delete(&next);
    return more;
}

int config_yaml_parse(const char *text, size_t len, const char *origin, yaml_document_t *doc,
                      Err *err) {
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return err_set(err, "%s: cannot initialise the YAML parser", origin);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int rc = 0;
    size_t line = 0;
    if (!yaml_parser_load(&parser, doc)) {
        rc = syntax_error(&parser, origin, err);
        yaml_parser_delete(&parser);
        return rc;
    }
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root || is_null_node(root))
        rc = err_set(err, "%s: file is empty", origin);
    else if (root->type != YAML_MAPPING_NODE)
        rc = err_set(err, "%s:%zu: expected a mapping at the top level, got %s", origin,
                     node_line(root), node_kind(root));
    else if (more_documents(&parser, &line))
        rc = parser.error ? syntax_error(&parser, origin, err)
                          : err_set(err, "%s:%zu: expected a single YAML document", origin, line);
    yaml_parser_delete(&parser);
    if (rc) yaml_document_delete(doc);
    return rc;
}

static int load_document_keys(Config *cfg, yaml_document_t *doc, const char *origin,
                              const char *const *skip, int skip_unknown, Err *err) {
    /* Load into a copy so that a failed load leaves cfg untouched. */
    Config work = *cfg;
    Loader ld;
    memset(&ld, 0, sizeof ld);
    ld.doc = doc;
    ld.origin = origin ? origin : "<config>";
    ld.cfg = &work;
    ld.err = err;
    ld.skip = skip;
    ld.skip_unknown = skip_unknown;
    size_t nodes = (size_t)(doc->nodes.top - doc->nodes.start);
    ld.seen = calloc(nodes + 1, 1); /* node indices run from 1 */
    if (!ld.seen) return err_set(err, "%s: out of memory", ld.origin);
    int root = 1;
    ld.seen[root] = 1;
    int rc = load_mapping(&ld, yaml_document_get_node(doc, root), "");
    free(ld.seen);
    if (rc == 0) *cfg = work;
    return rc;
}

int config_load_yaml_document(Config *cfg, yaml_document_t *doc, const char *origin,
                              const char *const *skip, Err *err) {
    return load_document_keys(cfg, doc, origin, skip, 0, err);
}

static int load_yaml_text(Config *cfg, const char *text, size_t len, const char *origin,
                          int skip_unknown, Err *err) {
    yaml_document_t doc;
    if (!origin) origin = "<config>";
    if (config_yaml_parse(text, len, origin, &doc, err)) return -1;
    int rc = load_document_keys(cfg, &doc, origin, NULL, skip_unknown, err);
    yaml_document_delete(&doc);
    return rc;
}

int config_load_yaml_string(Config *cfg, const char *text, size_t len, const char *origin,
                            Err *err) {
    return load_yaml_text(cfg, text, len, origin, 0, err);
}

int config_load_yaml(Config *cfg, const char *path, Err *err) {
    char *text;
    size_t len;
    if (read_file_all(path, &text, &len, err)) return -1;
    int rc = load_yaml_text(cfg, text, len, path, 0, err);
    free(text);
    return rc;
}

/* ---- overrides -------------------------------------------------------------------------- */

static void trim(const char **s, size_t *len) {
    while (*len && (**s == ' ' || **s == '\t')) (*s)++, (*len)--;
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t')) (*len)--;
}

/* Sets key `name` from value text; errors start with `where` (which names the key), or name
 * the key when `where` is empty. */
static int set_by_name(Config *cfg, const char *name, const char *value, size_t value_len,
                       const char *where, Err *err) {
    int ki = find_key(cfg, name);
    if (ki < 0 && is_section(cfg, name))
        return err_set(err, "%s'%s' is a section: name one of its keys, e.g. '%s'", where, name,
                       first_key_of_section(cfg, name));
    if (ki < 0) return unknown_key_error(cfg, err, where, name);
    char *text = strndup(value, value_len); /* the scalar parsers want a terminated string */
    if (!text) return err_set(err, "%sout of memory", where);
    char why[WHY_LEN];
    int rc = set_scalar(cfg, ki, text, value_len, why, sizeof why);
    free(text);
    if (rc && where[0]) return err_set(err, "%s%s", where, why); /* where names the key */
    if (rc) return err_set(err, "key '%s': %s", name, why);
    return 0;
}

int config_set_value(Config *cfg, const char *key, const char *value, Err *err) {
    return set_by_name(cfg, key, value, strlen(value), "", err);
}

int config_apply_override(Config *cfg, const char *assignment, Err *err) {
    const char *eq = strchr(assignment, '=');
    if (!eq) return err_set(err, "override '%s': expected key=value", assignment);
    const char *key = assignment, *value = eq + 1;
    size_t key_len = (size_t)(eq - assignment), value_len = strlen(value);
    trim(&key, &key_len);
    trim(&value, &value_len);
    if (key_len == 0) return err_set(err, "override '%s': expected key=value", assignment);
    char name[NAME_MAX_LEN];
    if (key_len >= sizeof name)
        return err_set(err, "override '%.64s...': unknown key (name too long)", assignment);
    memcpy(name, key, key_len);
    name[key_len] = '\0';
    char where[NAME_MAX_LEN + 32];
    snprintf(where, sizeof where, "override '%.200s': ", assignment);
    return set_by_name(cfg, name, value, value_len, where, err);
}

/* ---- validation ------------------------------------------------------------------------- */

static double numeric_value(const ConfigKey *k, const void *p) {
    switch (k->type) {
    case CFG_T_INT:
        return *(const int *)p;
    case CFG_T_LONG:
        return (double)*(const long *)p;
    case CFG_T_DOUBLE:
        return *(const double *)p;
    default:
        return 0;
    }
}

/* Values set directly in code bypass the parsers: re-check every key's bounds and choices. */
static int validate_values(const Config *cfg, Err *err) {
    KeyRef refs[MAX_KEYS];
    int n = list_keys(cfg, refs);
    for (int i = 0; i < n; i++) {
        const ConfigKey *k = refs[i].key;
        const void *field = ref_field(cfg, refs[i]);
        char shown[32], why[WHY_LEN];
        if (k->type == CFG_T_STRING && check_allowed_value(cfg, k, field, why, sizeof why))
            return err_set(err, "key '%s': %s", k->name, why);
        if (k->type != CFG_T_INT && k->type != CFG_T_LONG && k->type != CFG_T_DOUBLE) continue;
        double v = numeric_value(k, field);
        if (isfinite(v) && v >= k->min && v <= k->max) continue;
        format_double(v, shown, sizeof shown); /* only a value in error is spelled */
        if (!isfinite(v))
            return err_set(err, "key '%s': expected a finite number, got %s", k->name, shown);
        if (check_bounds(k, v, shown, why, sizeof why))
            return err_set(err, "key '%s': %s", k->name, why);
    }
    return 0;
}

/* eval.extra: comma-separated "policy:k" with a policy eval.policy allows and k >= 1, or
 * "ancestral:T" (the ancestral sampler with T steps). */
static int validate_eval_extra(const Config *cfg, Err *err) {
    const ConfigKey *policy = config_key_at(cfg, find_key(cfg, "eval.policy"));
    char buf[CFG_STR], why[WHY_LEN];
    snprintf(buf, sizeof buf, "%s", cfg->eval.extra);
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(item, ':'), *end = NULL;
        long k = colon ? strtol(colon + 1, &end, 10) : 0;
        if (colon) *colon = '\0';
        if (!colon || *end || k < 1 || k > 1048576 ||
            (strcmp(item, "ancestral") != 0 &&
             check_allowed_value(cfg, policy, item, why, sizeof why)))
            return err_set(err,
                           "key 'eval.extra': expected policy:k pairs such as topk:1,margin:2 "
                           "(policies %s) or ancestral:T, got '%s'",
                           policy->choices, cfg->eval.extra);
    }
    return 0;
}

int config_validate(const Config *cfg, Err *err) {
    if (validate_values(cfg, err)) return -1;
    if (cfg->model.d % cfg->model.heads != 0)
        return err_set(err,
                       "keys 'model.d' and 'model.heads': model.d (%d) must be divisible by "
                       "model.heads (%d)",
                       cfg->model.d, cfg->model.heads);
    if ((cfg->model.d / cfg->model.heads) % 2 != 0)
        return err_set(err,
                       "keys 'model.d' and 'model.heads': the head dimension model.d / "
                       "model.heads = %d must be even (RoPE rotates pairs)",
                       cfg->model.d / cfg->model.heads);
    if (cfg->train.batch < 1)
        return err_set(err, "key 'train.batch': must be at least 1, got %d", cfg->train.batch);
    if (cfg->eval.batch < 1)
        return err_set(err, "key 'eval.batch': must be at least 1, got %d", cfg->eval.batch);
    if (cfg->eval.tokens_per_step < 1)
        return err_set(err, "key 'eval.tokens_per_step': must be at least 1, got %d",
                       cfg->eval.tokens_per_step);
    if (validate_eval_extra(cfg, err) != 0) return -1;
    if (!cfg->backend[0]) return err_set(err, "key 'backend': must not be empty");
    for (int s = 0; s < schema_section_count(cfg->schema); s++) {
        const ConfigSection *sec = cfg->schema->section_at(s);
        if (sec && sec->validate && sec->validate(config_params_of(cfg, sec), err)) return -1;
    }
    return 0;
}

/* ---- canonical YAML --------------------------------------------------------------------- */

static void write_quoted(StrBuf *sb, const char *s) {
    sb_append(sb, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            sb_append(sb, "\\\"", 2);
            break;
        case '\\':
            sb_append(sb, "\\\\", 2);
            break;
        case '\n':
            sb_append(sb, "\\n", 2);
            break;
        case '\t':
            sb_append(sb, "\\t", 2);
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                sb_printf(sb, "\\x%02x", *p);
            else
                sb_append(sb, p, 1);
        }
    }
    sb_append(sb, "\"", 1);
}

static void write_value(StrBuf *sb, const ConfigKey *k, const void *p) {
    char num[32];
    switch (k->type) {
    case CFG_T_INT:
        sb_printf(sb, "%d", *(const int *)p);
        break;
    case CFG_T_LONG:
        sb_printf(sb, "%ld", *(const long *)p);
        break;
    case CFG_T_DOUBLE:
        format_double(*(const double *)p, num, sizeof num);
        sb_printf(sb, "%s", num);
        break;
    case CFG_T_BOOL:
        sb_printf(sb, "%s", *(const int *)p ? "true" : "false");
        break;
    case CFG_T_STRING:
        write_quoted(sb, (const char *)p);
        break;
    case CFG_T_SCHEDULE: {
        const Schedule *sc = p;
        sb_append(sb, "[", 1);
        for (int i = 0; i < sc->n; i++)
            sb_printf(sb, "%s[%ld, %ld]", i ? ", " : "", sc->value[i], sc->step[i]);
        sb_append(sb, "]", 1);
        break;
    }
    }
}

const ConfigKey *config_find_key(const Config *cfg, const char *name) {
    return config_key_at(cfg, find_key(cfg, name));
}

const void *config_key_field(const Config *cfg, const ConfigKey *k) {
    KeyRef refs[MAX_KEYS];
    int n = list_keys(cfg, refs);
    for (int i = 0; i < n; i++)
        if (refs[i].key == k) return ref_field(cfg, refs[i]);
    return NULL;
}

int config_load_known_keys(Config *cfg, const char *text, size_t len, const char *origin,
                           Err *err) {
    return load_yaml_text(cfg, text, len, origin, 1, err);
}

int config_core_key_count(void) {
    return N_CORE;
}

int config_format_value(const Config *cfg, const char *key, char *out, size_t n) {
    int ki = find_key(cfg, key);
    if (ki < 0) return -1;
    StrBuf sb = {0};
    write_value(&sb, config_key_at(cfg, ki), key_field_of(cfg, ki));
    snprintf(out, n, "%s", sb.data ? sb.data : "");
    sb_free(&sb);
    return 0;
}

/* Length of the section part of a dotted name ("model" of "model.d"), 0 for top-level keys. */
static size_t section_len(const char *name) {
    const char *dot = strchr(name, '.');
    return dot ? (size_t)(dot - name) : 0;
}

/* Top-level keys, then each section once (in order of its first key) with all of its keys,
 * whether core or a module's: a section is one YAML mapping. */
void config_write_yaml(const Config *cfg, StrBuf *sb) {
    KeyRef refs[MAX_KEYS];
    int n = list_keys(cfg, refs);
    unsigned char written[MAX_KEYS] = {0};
    for (int i = 0; i < n; i++) {
        if (section_len(refs[i].key->name)) continue;
        sb_printf(sb, "%s: ", refs[i].key->name);
        write_value(sb, refs[i].key, ref_field(cfg, refs[i]));
        sb_append(sb, "\n", 1);
    }
    for (int i = 0; i < n; i++) {
        const char *name = refs[i].key->name;
        size_t len = section_len(name);
        if (!len || written[i]) continue;
        sb_printf(sb, "%.*s:\n", (int)len, name);
        for (int j = i; j < n; j++) {
            const char *key = refs[j].key->name;
            if (section_len(key) != len || strncmp(key, name, len) != 0) continue;
            sb_printf(sb, "  %s: ", key + len + 1);
            write_value(sb, refs[j].key, ref_field(cfg, refs[j]));
            sb_append(sb, "\n", 1);
            written[j] = 1;
        }
    }
}

/* ---- --help ----------------------------------------------------------------------------- */

static const char *type_name(ConfigType t) {
    switch (t) {
    case CFG_T_INT:
        return "int";
    case CFG_T_LONG:
        return "long";
    case CFG_T_DOUBLE:
        return "double";
    case CFG_T_BOOL:
        return "bool";
    case CFG_T_STRING:
        return "string";
    case CFG_T_SCHEDULE:
        return "schedule";
    }
    return "?";
}

static const char *shown_default(const Config *cfg, const ConfigKey *k) {
    const char *def = default_value(cfg, k);
    return (k->type == CFG_T_STRING && !def[0]) ? "\"\"" : def;
}

void config_print_keys(const Config *cfg, FILE *f) {
    int wname = 3, wtype = 4, wdef = 7;
    for (int i = 0; i < config_key_count(cfg); i++) {
        const ConfigKey *k = config_key_at(cfg, i);
        int n = (int)strlen(k->name);
        int t = (int)strlen(type_name(k->type));
        int d = (int)strlen(shown_default(cfg, k));
        if (n > wname) wname = n;
        if (t > wtype) wtype = t;
        if (d > wdef) wdef = d;
    }
    fprintf(f, "%-*s  %-*s  %-*s  %s\n", wname, "key", wtype, "type", wdef, "default",
            "description");
    for (int i = 0; i < config_key_count(cfg); i++) {
        const ConfigKey *k = config_key_at(cfg, i);
        fprintf(f, "%-*s  %-*s  %-*s  %s\n", wname, k->name, wtype, type_name(k->type), wdef,
                shown_default(cfg, k), k->help);
    }
}
