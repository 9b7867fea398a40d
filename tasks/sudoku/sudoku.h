/* Sudoku: generator (unique solutions, difficulty knobs), solver, rating, CSV I/O,
 * the 162-token and 81-token layouts, and the solve check. Grids are size n = box*box
 * (box 2: 4x4, box 3: 9x9), cells row-major, 0 = blank, 1..n = digits. */
#ifndef MDMLAB_SUDOKU_H
#define MDMLAB_SUDOKU_H

#include <stdio.h>
#include "base/util.h"

#define SUDOKU_MAX_CELLS 81

typedef struct SudokuPuzzle {
    unsigned char clues[SUDOKU_MAX_CELLS];    /* 0 = blank */
    unsigned char solution[SUDOKU_MAX_CELLS]; /* complete grid */
} SudokuPuzzle;

/* Rating from a logic solver: SUDOKU_RATE_SINGLES when naked/hidden singles alone solve it,
 * SUDOKU_RATE_SEARCH when search is needed. */
enum { SUDOKU_RATE_SINGLES = 0, SUDOKU_RATE_SEARCH = 1 };

/* Count solutions of grid (0 = blank), stopping at `limit`. If solution != NULL and at least
 * one exists, the first found is written there. */
int sudoku_count_solutions(const unsigned char *grid, int box, int limit, unsigned char *solution);
int sudoku_rate(const unsigned char *clues, int box);
/* The fewest clues of any puzzle with a unique solution: 17 for 9x9 (McGuire, Tugemann and
 * Civario's exhaustive search, 2012), 4 for 4x4 (tests/test_sudoku.c checks every 3-clue grid);
 * 0 for an unsupported box. */
int sudoku_fewest_clues(int box);
/* The clue range generated puzzles get unless told otherwise: 28-36 for 9x9, 6-8 for 4x4. */
void sudoku_default_clues(int box, int *min_clues, int *max_clues);
/* A random puzzle with exactly one solution and clue count in [min_clues, max_clues]
 * (removal stops at min_clues, or earlier when no clue can be removed keeping uniqueness;
 * the result then has more than max_clues only if uniqueness forces it; a min_clues below
 * sudoku_fewest_clues(box) is never met, so callers refuse it). Deterministic in rng.
 * want_rating: -1 any, else retry until the rating matches. */
void sudoku_generate(Rng *rng, int box, int min_clues, int max_clues, int want_rating,
                     SudokuPuzzle *out);
/* 1 when answer (n*n digits) is a valid complete grid AND equals clues on every clue cell. */
int sudoku_check(const unsigned char *clues, const unsigned char *answer, int box);

/* CSV with n*n-character grids, '0' or '.' for blanks in the puzzle, an optional UTF-8 BOM and
 * CRLF or LF line ends. A header names the columns: the puzzle is `puzzle`, `quizzes` or
 * `question`, the solution `solution`, `solutions` or `answer` (any case), other columns are
 * ignored; so ours, Kaggle's 1M and 3M sets and sudoku-extreme load as published. Without a
 * header (the first row starts with a digit or '.') rows are `puzzle,solution`. Fields may be
 * enclosed in double quotes, but cannot hold commas. The solution must be a valid grid that
 * agrees with the clues. Errors name file, line and field. Appends to *out (realloc'd), count
 * updated. max_rows <= 0: all. */
int sudoku_csv_load(const char *path, int box, long max_rows, SudokuPuzzle **out, long *count,
                    Err *err);
void sudoku_csv_write(FILE *f, const SudokuPuzzle *p, long count, int box);

/* `mdmlab gen sudoku ...` (argv[0] is "sudoku"), the task's gen_command: returns the exit
 * status (0, 1 for a failure, 2 for a usage error) and fills err when it fails. */
int sudoku_gen_command(int argc, char **argv, Err *err);

#endif
