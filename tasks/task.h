/* The task contract: a task turns its data into fixed-length token sequences, says which
 * positions are prompt (never masked, never predicted) and scores model answers.
 * Tasks never see the backend or the model. docs/EXTENDING.md: adding a task. */
#ifndef MDMLAB_TASK_H
#define MDMLAB_TASK_H

#include "base/util.h"

typedef struct Config Config;
typedef struct ConfigSection ConfigSection;
typedef struct Task Task;

enum { SPLIT_TRAIN = 0, SPLIT_EVAL = 1 };

typedef struct TaskOps {
    const char *name;
    const char *description;
    /* The task's own keys (base/config.h), or NULL; every task also reads the shared task.*
     * keys in cfg->task. */
    const ConfigSection *config;
    /* Read the keys, generate or load data (errors name the file and line), and fill
     * task->seq_len, vocab_size, mask_id, n_train, n_eval. */
    int (*create)(Task *task, const Config *cfg, Err *err);
    void (*destroy)(Task *task);
    /* Example `index` of a split: tokens[seq_len] is the clean sequence (prompt positions
     * hold the prompt, the rest the reference answer); is_prompt[seq_len] is 1 on prompt
     * positions. */
    void (*example)(const Task *task, int split, long index, int *tokens, unsigned char *is_prompt);
    /* 1 if `tokens` (a full sequence whose non-prompt positions hold the model's answer,
     * no MASK left) solves example `index` of `split`, else 0. */
    int (*score)(const Task *task, int split, long index, const int *tokens);
    /* Optional. score NULL: no answers (text); the harness evaluates the validation ELBO.
     * token_bytes: the UTF-8 bytes a token decodes to, 0 for specials (bits per byte). */
    int (*token_bytes)(const Task *task, int token);
    /* Human-readable rendering of a sequence (for logs and samples); writes at most n bytes. */
    void (*render)(const Task *task, const int *tokens, char *out, size_t n);
    /* Optional commands: `mdmlab gen NAME ...` writes generated data, `mdmlab score NAME ...`
     * checks answers against references. argv[0] is the task's name; each returns the exit
     * status (0, 1 for a failure, 2 for a usage error) and fills err when it fails. */
    int (*gen_command)(int argc, char **argv, Err *err);
    int (*score_command)(int argc, char **argv, Err *err);
} TaskOps;

struct Task {
    const TaskOps *ops;
    void *impl;
    int seq_len;    /* tokens per sequence */
    int vocab_size; /* including the MASK token */
    int mask_id;
    long n_train, n_eval;
};

/* Registry: the tasks built in. */
int task_count(void);
const TaskOps *task_at(int i);
const TaskOps *task_find(const char *name); /* NULL if unknown */
/* Comma-separated names, for --help and error messages. */
const char *task_names(void);
int task_create(Task *task, const Config *cfg, Err *err);
void task_destroy(Task *task);

#endif
