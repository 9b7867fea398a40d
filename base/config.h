/* Typed run configuration. Every key lives in one table (config.c: name, type, default,
 * bounds, help) that drives YAML loading, key=value overrides, --help output, the resolved
 * config written to run directories and the canonical form hashed into run ids.
 * YAML nesting maps to dotted names: `model: {d: 64}` is the key `model.d`. */
#ifndef MDMLAB_CONFIG_H
#define MDMLAB_CONFIG_H

#include "util.h"

#define CFG_STR      128
#define CFG_PATH     512
#define SCHEDULE_MAX 16

/* A piecewise-constant schedule [[value, from_step], ...] with strictly increasing steps,
 * e.g. PUMA's K_schedule [[4, 0], [8, 5000]]. n == 0 means "not scheduled". */
typedef struct Schedule {
    int n;
    long value[SCHEDULE_MAX];
    long step[SCHEDULE_MAX];
} Schedule;

/* The value in force at `step`: the last entry whose from_step <= step, else `fallback`. */
long schedule_value_at(const Schedule *s, long step, long fallback);

typedef struct Config {
    char name[CFG_STR];      /* run name (default: derived from the config file name) */
    char task_name[CFG_STR]; /* key "task.name": sudoku */
    char backend[CFG_STR];   /* auto | ref | openblas | onednn */
    int threads;             /* 0 = all cores */
    long seed;               /* run seed: init, data order, masks */
    char process[CFG_STR];   /* forward process: random (more in forward/) */
    char out_dir[CFG_PATH];  /* run directory; "" = runs/<name>-s<seed> */

    struct {
        char layout[CFG_STR];      /* sudoku: "prompt" (162 tokens) | "inplace" (81) */
        int box;                   /* sudoku box size: 2 (4x4 grid) or 3 (9x9) */
        char train_file[CFG_PATH]; /* CSV puzzle,solution; "" = generate */
        char eval_file[CFG_PATH];
        long train_count; /* generated training puzzles */
        long eval_count;  /* generated (or first N loaded) eval puzzles */
        int min_clues, max_clues;
        long data_seed;           /* seed of generated data, independent of the run seed */
        char tokenizer[CFG_STR];  /* text and math tasks: byte | gpt2 */
        int seq_len;              /* text and math tasks: tokens per sequence (0 = default) */
        char corpus[CFG_PATH];    /* text task: files or directories, comma-separated */
        double val_fraction;      /* text task: documents held out for validation */
        int strip_docstring;      /* bool, tinygsm: drop the function's docstring */
        int min_steps, max_steps; /* tinygsm generator: operations per problem */
        long max_number;          /* tinygsm generator: largest operand */
    } task;

    struct {
        int d, layers, heads, ffn;
        int tied_head;    /* bool */
        int causal;       /* bool: causal attention (AR) */
        int shift_logits; /* bool: position j is predicted from the output at j-1 (AR, AR-init) */
        double rope_theta;
        double norm_eps;
        double init_std;
        char init[CFG_STR]; /* small | torch (ModelInit) */
        char rope[CFG_STR]; /* standard | reference */
    } model;

    struct {
        long steps;
        int batch;
        double lr, min_lr_frac; /* cosine decays lr to lr * min_lr_frac */
        long warmup_steps;
        double weight_decay, beta1, beta2, adam_eps, grad_clip;
        int ema; /* bool: keep EMA weights, decay min(0.9999, (1+n)/(10+n)) */
        long log_every, eval_every, ckpt_every;
        int keep_checkpoints;        /* bool: also keep each periodic checkpoint as step-N.bin */
        char init_from[CFG_PATH];    /* start from this checkpoint's weights (AR initialisation) */
        long attention_anneal_steps; /* anneal the attention mask causal -> full over N steps */
        char resume[CFG_PATH]; /* checkpoint to resume from ("" = fresh, "auto" = run dir's) */
        int overwrite; /* bool: a fresh run may replace the results already in its run dir */
    } train;

    struct {
        int K;               /* stages of the unmasking chain */
        Schedule K_schedule; /* [[K, step], ...]; the pool is rebuilt at each change */
        char mode[CFG_STR];  /* standard | confidence_collapse */
        double tau;          /* confidence_collapse: reveal every position with p > tau */
        long warmup_steps;   /* plain random masking for the first N steps */
    } puma;

    struct {
        int size;               /* block size S (0 = the whole answer: plain MDM) */
        Schedule size_schedule; /* [[S, step], ...] block-size curriculum */
        char inner[CFG_STR];    /* noise inside the current block: random | puma */
    } block;

    struct {
        long count; /* eval examples per evaluation (0 = all) */
        int batch;
        char policy[CFG_STR]; /* topk | margin | entropy | random */
        int tokens_per_step;  /* k tokens unmasked per step */
        double threshold;     /* >0: unmask all with p>threshold (at least one per step) */
        double temperature;   /* 0 = argmax, >0 = Gumbel sampling */
        int use_ema;          /* bool */
        char extra[CFG_STR];  /* more "policy:k" pairs evaluated during training */
        int block_size;       /* decode block by block (0 = the block process's size, or all) */
        int elbo_points;      /* text: time points of the validation ELBO estimate */
        int samples;          /* text: samples generated and written at each evaluation */
    } eval;
} Config;

typedef enum {
    CFG_T_INT,
    CFG_T_LONG,
    CFG_T_DOUBLE,
    CFG_T_BOOL,
    CFG_T_STRING,
    CFG_T_SCHEDULE /* [[value, step], ...]; min/max bound the values */
} ConfigType;

typedef struct ConfigKey {
    const char *name; /* dotted */
    ConfigType type;
    size_t offset;
    size_t size; /* strings: buffer size */
    const char *def;
    double min, max; /* numeric bounds (inclusive) */
    const char *help;
} ConfigKey;

extern const ConfigKey config_keys[];
extern const int config_key_count;

/* What a key says about a run. TRAINS (the default for every key): what the run trains; a
 * checkpoint resumes only under the same values. EXECUTION: where and how it executes (name,
 * out_dir, threads, train.resume): not part of a run's id either. COMPUTE: the backend, part
 * of a run's id (results are measured per backend) but a checkpoint may continue on another.
 * OBSERVATION: how it is logged, checkpointed and evaluated (eval.*, the train.*_every
 * cadences): a resumed run may change it. */
typedef enum {
    CFG_ROLE_TRAINS = 0,
    CFG_ROLE_EXECUTION = 1,
    CFG_ROLE_COMPUTE = 2,
    CFG_ROLE_OBSERVATION = 4
} ConfigRole;
ConfigRole config_key_role(const ConfigKey *k);
/* Sets every key whose role is in the `roles` mask back to its default: the canonical YAML of
 * the result is then a run's identity under those roles (sweep run ids, resume checks). */
void config_reset_roles(Config *cfg, unsigned roles);
/* The names the role list in config.c assigns a role to (for the test that they exist). */
int config_role_key_count(void);
const char *config_role_key_name(int i);

void config_defaults(Config *cfg);
/* Load a YAML mapping (nested mappings of scalars) over the current values. Errors:
 * "FILE:LINE: key 'model.d': expected an integer, got 'x'", unknown keys, duplicate keys,
 * malformed YAML, non-scalar values. */
int config_load_yaml(Config *cfg, const char *path, Err *err);
/* The same, ignoring the values of the top-level names in `skip` (NULL-terminated): a sweep
 * file is a config plus sections (grid, report, ...) that the sweep module reads. */
int config_load_yaml_skipping(Config *cfg, const char *path, const char *const *skip, Err *err);
/* Apply one "key=value" override (value parsed with the same rules as YAML scalars). */
int config_apply_override(Config *cfg, const char *assignment, Err *err);
/* Cross-key checks (heads divide d, even head dim, batch >= 1, ...). */
int config_validate(const Config *cfg, Err *err);
/* Canonical resolved YAML: every key in table order, grouped into nested sections, one value
 * each; used for run dirs,
 * checkpoints and hashing. Appends to sb. */
void config_write_yaml(const Config *cfg, StrBuf *sb);
/* Load config from YAML text held in memory (e.g. a checkpoint); `origin` names it in errors. */
int config_load_yaml_string(Config *cfg, const char *text, size_t len, const char *origin,
                            Err *err);
/* Print the key table (name, type, default, help) for --help. */
void config_print_keys(FILE *f);

#endif
