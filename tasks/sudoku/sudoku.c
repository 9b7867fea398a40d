/* The Sudoku task: puzzles (generated or loaded from CSV) as token sequences.
 * Tokens 0..n are digits (0 = blank clue cell), n+1 is MASK.
 *   prompt layout:  [n*n clue cells, prompt][n*n solution cells, answer]   (162 tokens for 9x9)
 *   inplace layout: [n*n solution cells], clue cells are prompt positions   (81 tokens)
 */
#include "tasks/task.h"
#include "sudoku.h"
#include "base/config.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Generated data: puzzle i of a split comes from rng_seed(data_seed, base + i). The bases keep
 * train, eval and `mdmlab gen sudoku` (base 0) streams disjoint for the same seed. */
#define SUDOKU_STREAM_TRAIN (1ULL << 62)
#define SUDOKU_STREAM_EVAL  (2ULL << 62)

typedef enum { LAYOUT_PROMPT, LAYOUT_INPLACE } SudokuLayout;

typedef struct SudokuTask {
    int box, n, cells;
    SudokuLayout layout;
    SudokuPuzzle *split[2]; /* SPLIT_TRAIN, SPLIT_EVAL */
    long count[2];
} SudokuTask;

/* The task's keys. Clue counts 0 mean "the box size's default", so that task.box=2 alone
 * gives 4x4 puzzles with the clue counts `mdmlab gen sudoku --box 2` uses. */
typedef struct SudokuParams {
    char layout[CFG_STR]; /* prompt | inplace */
    int box;              /* 2 (4x4) or 3 (9x9) */
    int min_clues, max_clues;
} SudokuParams;

static int sudoku_params_validate(const void *params, Err *err) {
    const SudokuParams *p = params;
    if (p->min_clues && p->max_clues && p->min_clues > p->max_clues)
        return err_set(err,
                       "keys 'task.min_clues' and 'task.max_clues': min_clues (%d) is greater "
                       "than max_clues (%d)",
                       p->min_clues, p->max_clues);
    return 0;
}

static const ConfigKey sudoku_keys[] = {
    CFG_CHOICE(SudokuParams, "task.layout", layout, "prompt", "prompt|inplace",
               "sudoku layout: prompt (clues then answer) | inplace"),
    CFG_INT(SudokuParams, "task.box", box, "3", 2, 3, "sudoku box size: 2 (4x4 grid) or 3 (9x9)"),
    CFG_INT(SudokuParams, "task.min_clues", min_clues, "0", 0, 1024,
            "fewest clues of a generated sudoku (0 = 28 for 9x9, 6 for 4x4)"),
    CFG_INT(SudokuParams, "task.max_clues", max_clues, "0", 0, 1024,
            "most clues of a generated sudoku (0 = 36 for 9x9, 8 for 4x4)"),
};

static const ConfigSection sudoku_config_section =
    CFG_SECTION("sudoku", sudoku_keys, SudokuParams, sudoku_params_validate);

/* The clue range of generated puzzles: the keys, or the box size's defaults for 0. */
static void clue_range(const SudokuParams *p, int *lo, int *hi) {
    sudoku_default_clues(p->box, lo, hi);
    if (p->min_clues) *lo = p->min_clues;
    if (p->max_clues) *hi = p->max_clues;
}

static int check_task_keys(const Config *cfg, Err *err) {
    const SudokuParams *p = config_params_of(cfg, &sudoku_config_section);
    const int box = p->box, cells = box * box * box * box, fewest = sudoku_fewest_clues(box);
    int lo, hi;
    clue_range(p, &lo, &hi);
    if (lo < fewest || lo > cells)
        return err_set(err,
                       "task.min_clues: expected a value in [%d, %d] for box %d (no puzzle with "
                       "fewer than %d clues has a unique solution), got %d",
                       fewest, cells, box, fewest, lo);
    if (hi < lo || hi > cells)
        return err_set(err, "task.max_clues: expected a value in [task.min_clues = %d, %d], got %d",
                       lo, cells, hi);
    if (cfg->task.train_count < 0)
        return err_set(err, "task.train_count: expected >= 0, got %ld", cfg->task.train_count);
    if (cfg->task.eval_count < 0)
        return err_set(err, "task.eval_count: expected >= 0, got %ld", cfg->task.eval_count);
    return 0;
}

/* Parallel but deterministic: each puzzle depends only on its own stream. */
static int generate_split(const Config *cfg, uint64_t stream_base, long count, SudokuPuzzle **out,
                          Err *err) {
    *out = NULL;
    if (count == 0) return 0;
    SudokuPuzzle *p = malloc((size_t)count * sizeof *p);
    if (!p) return err_set(err, "sudoku: out of memory for %ld puzzles", count);
    const SudokuParams *params = config_params_of(cfg, &sudoku_config_section);
    const int box = params->box;
    int lo, hi;
    clue_range(params, &lo, &hi);
    const uint64_t seed = (uint64_t)cfg->task.data_seed;
    const int threads = cfg->threads > 0 ? cfg->threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads)
    for (long i = 0; i < count; i++) {
        Rng r;
        rng_seed(&r, seed, stream_base + (uint64_t)i);
        sudoku_generate(&r, box, lo, hi, -1, &p[i]);
    }
    *out = p;
    return 0;
}

static int load_split(const char *key, const char *path, int box, long max_rows, SudokuPuzzle **out,
                      long *count, Err *err) {
    *out = NULL;
    *count = 0;
    if (sudoku_csv_load(path, box, max_rows, out, count, err) != 0) {
        free(*out);
        *out = NULL;
        return -1;
    }
    if (*count == 0) return err_set(err, "%s: '%s' contains no puzzles", key, path);
    return 0;
}

static int load_or_generate(const Config *cfg, SudokuTask *st, Err *err) {
    const int box = st->box;
    if (cfg->task.train_file[0]) {
        if (load_split("task.train_file", cfg->task.train_file, box, 0, &st->split[SPLIT_TRAIN],
                       &st->count[SPLIT_TRAIN], err))
            return -1;
    } else {
        st->count[SPLIT_TRAIN] = cfg->task.train_count;
        if (generate_split(cfg, SUDOKU_STREAM_TRAIN, cfg->task.train_count, &st->split[SPLIT_TRAIN],
                           err))
            return -1;
    }
    if (cfg->task.eval_file[0])
        return load_split("task.eval_file", cfg->task.eval_file, box, cfg->task.eval_count,
                          &st->split[SPLIT_EVAL], &st->count[SPLIT_EVAL], err);
    st->count[SPLIT_EVAL] = cfg->task.eval_count;
    return generate_split(cfg, SUDOKU_STREAM_EVAL, cfg->task.eval_count, &st->split[SPLIT_EVAL],
                          err);
}

static void sudoku_task_free(SudokuTask *st) {
    if (!st) return;
    free(st->split[SPLIT_TRAIN]);
    free(st->split[SPLIT_EVAL]);
    free(st);
}

static int sudoku_create(Task *task, const Config *cfg, Err *err) {
    const SudokuParams *params = config_params_of(cfg, &sudoku_config_section);
    const SudokuLayout layout =
        strcmp(params->layout, "inplace") == 0 ? LAYOUT_INPLACE : LAYOUT_PROMPT;
    if (check_task_keys(cfg, err)) return -1;
    SudokuTask *st = calloc(1, sizeof *st);
    if (!st) return err_set(err, "sudoku: out of memory");
    st->box = params->box;
    st->n = st->box * st->box;
    st->cells = st->n * st->n;
    st->layout = layout;
    if (load_or_generate(cfg, st, err) != 0) {
        sudoku_task_free(st);
        return -1;
    }
    task->impl = st;
    task->seq_len = layout == LAYOUT_PROMPT ? 2 * st->cells : st->cells;
    task->vocab_size = st->n + 2;
    task->mask_id = st->n + 1;
    task->n_train = st->count[SPLIT_TRAIN];
    task->n_eval = st->count[SPLIT_EVAL];
    return 0;
}

static void sudoku_destroy(Task *task) {
    sudoku_task_free(task->impl);
    task->impl = NULL;
}

static const SudokuPuzzle *puzzle_at(const SudokuTask *st, int split, long index) {
    return &st->split[split == SPLIT_EVAL ? SPLIT_EVAL : SPLIT_TRAIN][index];
}

static void sudoku_example(const Task *task, int split, long index, int *tokens,
                           unsigned char *is_prompt) {
    const SudokuTask *st = task->impl;
    const SudokuPuzzle *p = puzzle_at(st, split, index);
    const int cells = st->cells;
    if (st->layout == LAYOUT_PROMPT) {
        for (int c = 0; c < cells; c++) {
            tokens[c] = p->clues[c];
            is_prompt[c] = 1;
            tokens[cells + c] = p->solution[c];
            is_prompt[cells + c] = 0;
        }
    } else {
        for (int c = 0; c < cells; c++) {
            tokens[c] = p->solution[c];
            is_prompt[c] = p->clues[c] != 0;
        }
    }
}

/* The answer grid of a sequence; 0 on any cell that is not a digit (MASK, blank, garbage). */
static void answer_grid(const SudokuTask *st, const int *tokens, unsigned char *grid) {
    const int *answer = st->layout == LAYOUT_PROMPT ? tokens + st->cells : tokens;
    for (int c = 0; c < st->cells; c++)
        grid[c] = answer[c] >= 1 && answer[c] <= st->n ? (unsigned char)answer[c] : 0;
}

static int sudoku_score(const Task *task, int split, long index, const int *tokens) {
    const SudokuTask *st = task->impl;
    unsigned char grid[SUDOKU_MAX_CELLS];
    answer_grid(st, tokens, grid);
    return sudoku_check(puzzle_at(st, split, index)->clues, grid, st->box);
}

static char cell_char(int token, int n) {
    if (token == 0) return '.';
    if (token >= 1 && token <= n) return (char)('0' + token);
    return token == n + 1 ? '_' : '?';
}

/* 9 rows of "ddd ddd ddd | ddd ddd ddd\n" fit easily. */
#define RENDER_MAX 512

static size_t render_row(const SudokuTask *st, const int *grid, int r, char *buf, size_t at) {
    for (int k = 0; k < st->n; k++) {
        if (k && k % st->box == 0) buf[at++] = ' ';
        buf[at++] = cell_char(grid[r * st->n + k], st->n);
    }
    return at;
}

/* One grid row per line, boxes separated by spaces; the prompt layout shows the clues left
 * of the answer. Blank '.', MASK '_', anything out of range '?'. */
static void sudoku_render(const Task *task, const int *tokens, char *out, size_t n) {
    const SudokuTask *st = task->impl;
    char buf[RENDER_MAX];
    size_t at = 0;
    for (int r = 0; r < st->n; r++) {
        if (st->layout == LAYOUT_PROMPT) {
            at = render_row(st, tokens, r, buf, at);
            memcpy(buf + at, " | ", 3);
            at += 3;
            at = render_row(st, tokens + st->cells, r, buf, at);
        } else {
            at = render_row(st, tokens, r, buf, at);
        }
        if (r + 1 < st->n) buf[at++] = '\n';
    }
    buf[at] = '\0';
    if (n > 0) snprintf(out, n, "%s", buf);
}

const TaskOps task_sudoku_ops = {
    .name = "sudoku",
    .description = "Sudoku (4x4 or 9x9): solve a puzzle with a unique solution",
    .config = &sudoku_config_section,
    .create = sudoku_create,
    .destroy = sudoku_destroy,
    .example = sudoku_example,
    .score = sudoku_score,
    .render = sudoku_render,
    .gen_command = sudoku_gen_command,
};
