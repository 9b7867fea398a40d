/* Typed run configuration. Every key is a row (name, type, default, bounds, help) of the core
 * table (config.c) or of a module's section; the rows drive YAML loading, key=value overrides,
 * --help output, the resolved config written to run directories and the canonical form hashed
 * into run ids.
 * YAML nesting maps to dotted names: `model: {d: 64}` is the key `model.d`. */
#ifndef MDMLAB_CONFIG_H
#define MDMLAB_CONFIG_H

#include "util.h"

#include <stddef.h>
#include <yaml.h>

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

/* Keys are rows of tables: the core table in config.c (run, model, train, eval and the task
 * keys every task shares) and one section per module that has keys of its own, declared in the
 * module's file over the fields of its own parameter struct (ConfigSection). A Config holds the
 * core fields below and, in module_params, one parameter struct per section of its schema. */
#define CFG_MODULE_BYTES 4096

typedef struct ConfigSchema ConfigSchema;

typedef struct Config {
    const ConfigSchema *schema; /* the sections and named keys this config holds (config_init) */
    char name[CFG_STR];         /* run name (default: derived from the config file name) */
    char task_name[CFG_STR];    /* key "task.name": a registered task */
    char backend[CFG_STR];      /* auto or a built backend */
    int threads;                /* 0 = all cores */
    long seed;                  /* run seed: init, data order, masks */
    char process[CFG_STR];      /* forward process: a registered process */
    char out_dir[CFG_PATH];     /* run directory; "" = runs/<name>-s<seed> */

    /* The task keys every task reads; a task's own keys are in its section. */
    struct {
        char train_file[CFG_PATH]; /* "" = generate */
        char eval_file[CFG_PATH];
        long train_count;        /* generated training examples */
        long eval_count;         /* generated (or first N loaded) eval examples */
        long data_seed;          /* seed of generated data, independent of the run seed */
        char tokenizer[CFG_STR]; /* token-level tasks: byte | gpt2 */
        int seq_len;             /* token-level tasks: tokens per sequence (0 = default) */
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
        long count; /* eval examples per evaluation (0 = all) */
        int batch;
        char policy[CFG_STR];  /* topk | margin | entropy | random | l2r */
        int tokens_per_step;   /* k tokens unmasked per step */
        double threshold;      /* >0: unmask all with p>threshold (at least one per step) */
        double temperature;    /* 0 = argmax, >0 = Gumbel sampling */
        int use_ema;           /* bool */
        char extra[CFG_STR];   /* more "policy:k" pairs evaluated during training */
        int block_size;        /* decode block by block (0 = the process's decode size, or all) */
        int elbo_points;       /* text: time points of the validation ELBO estimate */
        int samples;           /* text: samples generated and written at each evaluation */
        char sampler[CFG_STR]; /* unmask | ancestral */
        int steps;             /* ancestral sampler: steps T */
        char light_checkpoint[CFG_PATH]; /* model scheduling: the light model */
        char schedule[CFG_STR];          /* model scheduling: "L4,H8,L4" ("" = all heavy) */
    } eval;

    /* The sections' parameter structs, each at config_params(cfg, section). */
    _Alignas(16) unsigned char module_params[CFG_MODULE_BYTES];
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
    const char *choices; /* string keys: the allowed values "a|b|c"; NULL = any string */
} ConfigKey;

/* Rows of a key table over the fields of struct T. Offsets are into T: the Config itself for
 * the core table, a module's parameter struct for a section. */
#define CFG_FIELD(T, f) offsetof(T, f), sizeof(((T *)0)->f)
#define CFG_INT(T, name, f, def, lo, hi, help)                                                     \
    { name, CFG_T_INT, CFG_FIELD(T, f), def, lo, hi, help, NULL }
#define CFG_LONG(T, name, f, def, lo, hi, help)                                                    \
    { name, CFG_T_LONG, CFG_FIELD(T, f), def, lo, hi, help, NULL }
#define CFG_DOUBLE(T, name, f, def, lo, hi, help)                                                  \
    { name, CFG_T_DOUBLE, CFG_FIELD(T, f), def, lo, hi, help, NULL }
#define CFG_BOOL(T, name, f, def, help)                                                            \
    { name, CFG_T_BOOL, CFG_FIELD(T, f), def, 0, 0, help, NULL }
#define CFG_SCHEDULE(T, name, f, lo, hi, help)                                                     \
    { name, CFG_T_SCHEDULE, CFG_FIELD(T, f), "[]", lo, hi, help, NULL }
#define CFG_STRING(T, name, f, def, help)                                                          \
    { name, CFG_T_STRING, CFG_FIELD(T, f), def, 0, 0, help, NULL }
#define CFG_NAMED(T, name, f, help)                                                                \
    { name, CFG_T_STRING, CFG_FIELD(T, f), NULL, 0, 0, help, NULL }
#define CFG_CHOICE(T, name, f, def, choices, help)                                                 \
    { name, CFG_T_STRING, CFG_FIELD(T, f), def, 0, 0, help, choices }

/* Inclusive bounds cannot say "> 0"; this is the smallest value a positive-only key takes. */
#define CFG_POSITIVE  1e-30
#define CFG_BELOW_ONE 0.99999999999999989 /* largest double < 1 */
#define CFG_BIG       1e15

/* The keys a task, process or backend owns, declared in its own file: rows whose offsets are
 * into the module's parameter struct, and the cross-key checks of that struct. A module reads
 * its parameters with config_params_of(cfg, &its_section). */
typedef struct ConfigSection {
    const char *owner; /* the module's registered name */
    const ConfigKey *keys;
    int key_count;
    size_t params_size;                            /* sizeof the parameter struct */
    int (*validate)(const void *params, Err *err); /* NULL = no cross-key checks */
} ConfigSection;

/* A section over the rows `keys` (an array) of struct T, owned by the module `owner`. */
#define CFG_SECTION(owner_name, key_rows, T, validate_fn)                                          \
    { owner_name, key_rows, (int)(sizeof key_rows / sizeof key_rows[0]), sizeof(T), validate_fn }

/* A core key whose value is the name of a registered module ("task.name", "process"): values
 * are checked against the registry when set, and the default is the first registered name. */
typedef struct ConfigNamedKey {
    const char *key;
    int (*count)(void);
    const char *(*name_at)(int i);
} ConfigNamedKey;

/* Which sections and named keys a Config holds: the registries provide them (the application's
 * schema is run/config_schema.c; a test may build a smaller one). */
struct ConfigSchema {
    int (*section_count)(void);
    const ConfigSection *(*section_at)(int i);
    const ConfigNamedKey *named_keys;
    int named_key_count;
};

/* Defaults for every key of the schema; aborts on a bad default or an oversized schema (bugs
 * the config test catches). */
void config_init(Config *cfg, const ConfigSchema *schema);
/* A section's parameter struct inside cfg; aborts when the section is not in cfg's schema. */
void *config_params(Config *cfg, const ConfigSection *section);
const void *config_params_of(const Config *cfg, const ConfigSection *section);
/* Every key of cfg's schema: the core table, then each section's rows. */
int config_key_count(const Config *cfg);
const ConfigKey *config_key_at(const Config *cfg, int i);
/* The key called name in cfg's schema, or NULL; where cfg holds its value. */
const ConfigKey *config_find_key(const Config *cfg, const char *name);
const void *config_key_field(const Config *cfg, const ConfigKey *k);
/* The core table's keys come first: keys [0, config_core_key_count()) are fields of Config. */
int config_core_key_count(void);
/* The value of `key` as the canonical YAML writes it (strings quoted), into out; -1 when cfg
 * has no such key. */
int config_format_value(const Config *cfg, const char *key, char *out, size_t n);

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

/* Load a YAML mapping (nested mappings of scalars) over the current values. Errors:
 * "FILE:LINE: key 'model.d': expected an integer, got 'x'", unknown keys, duplicate keys,
 * malformed YAML, non-scalar values. */
int config_load_yaml(Config *cfg, const char *path, Err *err);
/* Apply one "key=value" override (value parsed with the same rules as YAML scalars). */
int config_apply_override(Config *cfg, const char *assignment, Err *err);
/* Set one key from its value text, as YAML's scalar would set it. Errors: "key 'K': ..." or
 * "unknown key 'K' (did you mean ...)". */
int config_set_value(Config *cfg, const char *key, const char *value, Err *err);
/* Cross-key checks (heads divide d, even head dim, batch >= 1, ...). */
int config_validate(const Config *cfg, Err *err);
/* Canonical resolved YAML: every key in table order, grouped into nested sections, one value
 * each; used for run dirs,
 * checkpoints and hashing. Appends to sb. */
void config_write_yaml(const Config *cfg, StrBuf *sb);
/* One YAML style for every file mdmlab reads: parse the whole document (libyaml's document
 * API), then walk its nodes. config_yaml_parse refuses a syntax error (file:line:column), an
 * empty file, a top level that is not a mapping and a second document; on success the caller
 * owns *doc (yaml_document_delete). */
int config_yaml_parse(const char *text, size_t len, const char *origin, yaml_document_t *doc,
                      Err *err);
/* Loads the keys of a parsed document's top-level mapping, ignoring the top-level names in
 * `skip` (NULL-terminated, or NULL): a sweep file's own sections. */
int config_load_yaml_document(Config *cfg, yaml_document_t *doc, const char *origin,
                              const char *const *skip, Err *err);
/* Load config from YAML text held in memory (e.g. a checkpoint); `origin` names it in errors. */
int config_load_yaml_string(Config *cfg, const char *text, size_t len, const char *origin,
                            Err *err);
/* The same, ignoring the names that may belong to a module cfg's schema lacks (under task.,
 * or in a section the core table does not have): code below the layer that sees every module
 * (the checkpoint reader) reads a stored config's core keys with config_init(cfg, NULL) and
 * this. Every other name and every value is checked as always. */
int config_load_known_keys(Config *cfg, const char *text, size_t len, const char *origin, Err *err);
/* The closest of `count` names to value within a few edits, ignoring case ("PUMA" is "puma"),
 * or NULL: the did-you-mean of every name error. */
const char *config_closest_name(const char *value, const char *const *names, int count);
/* Print the key table (name, type, default, help) for --help. */
void config_print_keys(const Config *cfg, FILE *f);

#endif
