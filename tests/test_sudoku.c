/* Sudoku: solver, generator (uniqueness, determinism), rating, solve check, CSV I/O, the
 * `gen sudoku` command and the task (both layouts). */
#include "config_set.h"
#include "forward/config_schema.h"
#include "check.h"
#include "tasks/sudoku/sudoku.h"
#include "tasks/task.h"
#include "base/config.h"

#include <string.h>

/* Wikipedia's example puzzle: naked and hidden singles solve it. */
static const char *const EASY =
    "530070000600195000098000060800060003400803001700020006060000280000419005000080079";
static const char *const EASY_SOLUTION =
    "534678912672195348198342567859761423426853791713924856961537284287419635345286179";
/* Solved by singles only with hidden singles: naked singles alone stall. */
static const char *const HIDDEN =
    "200503900108000020004000006769000004000080601080600003005309040940001560607000000";
/* "AI Escargot" (Arto Inkala): needs far more than singles. */
static const char *const ESCARGOT =
    "100007090030020008009600500005300900010080002600004000300000010040000007007000300";
/* First puzzle of Gordon Royle's 17-clue collection. */
static const char *const SEVENTEEN =
    "000000010400000000020000000000050407008000300001090000300400200050100000000806000";

static void grid_from_string(const char *s, unsigned char *g) {
    for (int i = 0; s[i]; i++) g[i] = (unsigned char)(s[i] == '.' ? 0 : s[i] - '0');
}

static int count_clues(const unsigned char *g, int cells) {
    int k = 0;
    for (int c = 0; c < cells; c++) k += g[c] != 0;
    return k;
}

/* Every clue is needed: removing any one of them admits a second solution. */
static int is_minimal(const unsigned char *clues, int box) {
    int cells = box * box * box * box;
    unsigned char g[SUDOKU_MAX_CELLS];
    memcpy(g, clues, (size_t)cells);
    for (int c = 0; c < cells; c++) {
        if (!g[c]) continue;
        unsigned char d = g[c];
        g[c] = 0;
        int n = sudoku_count_solutions(g, box, 2, NULL);
        g[c] = d;
        if (n < 2) return 0;
    }
    return 1;
}

static void test_solver(void) {
    unsigned char g[SUDOKU_MAX_CELLS] = {0}, sol[SUDOKU_MAX_CELLS], want[SUDOKU_MAX_CELLS];
    CHECK(sudoku_count_solutions(g, 2, 1000, NULL) == 288); /* all 4x4 grids */
    CHECK(sudoku_count_solutions(g, 3, 5, NULL) == 5);      /* stops at the limit */

    grid_from_string(EASY, g);
    grid_from_string(EASY_SOLUTION, want);
    CHECK(sudoku_count_solutions(g, 3, 2, sol) == 1);
    CHECK(memcmp(sol, want, 81) == 0);

    grid_from_string(ESCARGOT, g);
    CHECK(sudoku_count_solutions(g, 3, 2, sol) == 1);
    CHECK(sudoku_check(g, sol, 3));
    grid_from_string(SEVENTEEN, g);
    CHECK(count_clues(g, 81) == 17);
    CHECK(sudoku_count_solutions(g, 3, 2, sol) == 1);
    CHECK(sudoku_check(g, sol, 3));

    grid_from_string(EASY, g);
    g[2] = 5; /* clashes with the 5 at the start of the row */
    CHECK(sudoku_count_solutions(g, 3, 2, NULL) == 0);
    g[2] = 1; /* clashes with nothing, but the unique solution has a 4 there */
    CHECK(sudoku_count_solutions(g, 3, 2, NULL) == 0);
    grid_from_string(EASY, g);
    g[0] = 0;
    g[1] = 0;
    g[4] = 0; /* fewer clues: the known solution is still one of them */
    CHECK(sudoku_count_solutions(g, 3, 2, NULL) >= 1);
}

static void check_generated(int box, int lo, int hi, uint64_t seed, int count) {
    int cells = box * box * box * box, bad_unique = 0, bad_match = 0, bad_range = 0;
    for (int i = 0; i < count; i++) {
        Rng r;
        rng_seed(&r, seed, (uint64_t)i);
        SudokuPuzzle p;
        sudoku_generate(&r, box, lo, hi, -1, &p);
        unsigned char sol[SUDOKU_MAX_CELLS];
        if (sudoku_count_solutions(p.clues, box, 2, sol) != 1) bad_unique++;
        if (memcmp(sol, p.solution, (size_t)cells) != 0 || !sudoku_check(p.clues, p.solution, box))
            bad_match++;
        int k = count_clues(p.clues, cells);
        /* above the range only when no clue can go */
        if (k < lo || (k > hi && !is_minimal(p.clues, box))) bad_range++;
    }
    CHECK_MSG(bad_unique == 0, "box %d clues %d-%d seed %llu: %d not unique", box, lo, hi,
              (unsigned long long)seed, bad_unique);
    CHECK_MSG(bad_match == 0, "box %d clues %d-%d: %d stored solutions wrong", box, lo, hi,
              bad_match);
    CHECK_MSG(bad_range == 0, "box %d clues %d-%d: %d clue counts out of range", box, lo, hi,
              bad_range);
}

static void test_generate(void) {
    for (uint64_t seed = 1; seed <= 3; seed++) {
        check_generated(2, 4, 8, seed, 40);
        check_generated(2, 10, 12, seed, 40);
        check_generated(3, 28, 36, seed, 40);
        check_generated(3, 45, 50, seed, 20);
        check_generated(3, 17, 22, seed, 10); /* below what removal reaches: stops minimal */
    }
    /* an exact clue count is met */
    Rng r;
    rng_seed(&r, 9, 0);
    SudokuPuzzle p;
    sudoku_generate(&r, 3, 30, 30, -1, &p);
    CHECK(count_clues(p.clues, 81) == 30);
}

static void test_generate_deterministic(void) {
    SudokuPuzzle a, b, c;
    Rng r;
    rng_seed(&r, 42, 7);
    sudoku_generate(&r, 3, 28, 36, -1, &a);
    rng_seed(&r, 42, 7);
    sudoku_generate(&r, 3, 28, 36, -1, &b);
    rng_seed(&r, 42, 8);
    sudoku_generate(&r, 3, 28, 36, -1, &c);
    CHECK(memcmp(&a, &b, sizeof a) == 0);
    CHECK(memcmp(&a, &c, sizeof a) != 0);
}

/* No 4x4 grid with 3 givens (any cells, any digits) has a unique solution; 4 can suffice. */
static void test_fewest_clues(void) {
    CHECK(sudoku_fewest_clues(3) == 17 && sudoku_fewest_clues(2) == 4);
    int unique = 0;
    for (int a = 0; a < 16; a++)
        for (int b = a + 1; b < 16; b++)
            for (int c = b + 1; c < 16; c++)
                for (int digits = 0; digits < 64; digits++) {
                    unsigned char g[16] = {0};
                    g[a] = (unsigned char)(digits % 4 + 1);
                    g[b] = (unsigned char)(digits / 4 % 4 + 1);
                    g[c] = (unsigned char)(digits / 16 + 1);
                    unique += sudoku_count_solutions(g, 2, 2, NULL) == 1;
                }
    CHECK_MSG(unique == 0, "%d 4x4 grids with 3 clues have a unique solution", unique);
    int four = 0;
    for (uint64_t i = 0; i < 20 && !four; i++) {
        Rng r;
        rng_seed(&r, 1, i);
        SudokuPuzzle p;
        sudoku_generate(&r, 2, 4, 4, -1, &p);
        four = count_clues(p.clues, 16) == 4 && sudoku_count_solutions(p.clues, 2, 2, NULL) == 1;
    }
    CHECK(four);
    unsigned char g[81];
    grid_from_string(SEVENTEEN, g);
    CHECK(count_clues(g, 81) == sudoku_fewest_clues(3));
}

static void test_rating(void) {
    unsigned char g[SUDOKU_MAX_CELLS];
    grid_from_string(EASY, g);
    CHECK(sudoku_rate(g, 3) == SUDOKU_RATE_SINGLES);
    grid_from_string(HIDDEN, g);
    CHECK(sudoku_count_solutions(g, 3, 2, NULL) == 1);
    CHECK(sudoku_rate(g, 3) == SUDOKU_RATE_SINGLES);
    grid_from_string(ESCARGOT, g);
    CHECK(sudoku_rate(g, 3) == SUDOKU_RATE_SEARCH);
    grid_from_string(EASY_SOLUTION, g);
    CHECK(sudoku_rate(g, 3) == SUDOKU_RATE_SINGLES); /* already solved */

    for (int want = SUDOKU_RATE_SINGLES; want <= SUDOKU_RATE_SEARCH; want++) {
        for (int i = 0; i < 5; i++) {
            Rng r;
            rng_seed(&r, 5, (uint64_t)i);
            SudokuPuzzle p;
            sudoku_generate(&r, 3, 22, 28, want, &p);
            CHECK_MSG(sudoku_rate(p.clues, 3) == want, "wanted rating %d", want);
            CHECK(sudoku_count_solutions(p.clues, 3, 2, NULL) == 1);
        }
    }
}

static void test_check(void) {
    unsigned char clues[81], sol[81], g[81];
    grid_from_string(EASY, clues);
    grid_from_string(EASY_SOLUTION, sol);
    CHECK(sudoku_check(clues, sol, 3));
    CHECK(sudoku_check(NULL, sol, 3));

    /* swapping digits 1 and 2 everywhere: still a valid grid, but it breaks the clues */
    for (int c = 0; c < 81; c++) g[c] = sol[c] == 1 ? 2 : sol[c] == 2 ? 1 : sol[c];
    CHECK(sudoku_check(NULL, g, 3));
    CHECK(!sudoku_check(clues, g, 3));

    memcpy(g, sol, 81);
    g[80] = g[79]; /* duplicate in the last row (and box) */
    CHECK(!sudoku_check(NULL, g, 3));

    memcpy(g, sol, 81);
    unsigned char t = g[0];
    g[0] = g[8];
    g[8] = t; /* row still a permutation; columns 1 and 9 and two boxes are not */
    CHECK(!sudoku_check(NULL, g, 3));

    for (int r = 0; r < 9; r++)
        for (int c = 0; c < 9; c++) g[r * 9 + c] = (unsigned char)((r + c) % 9 + 1);
    CHECK(!sudoku_check(NULL, g, 3)); /* rows and columns fine, boxes repeat */

    memcpy(g, sol, 81);
    g[40] = 0;
    CHECK(!sudoku_check(NULL, g, 3));
    g[40] = 10;
    CHECK(!sudoku_check(NULL, g, 3));

    unsigned char g4[16] = {1, 2, 3, 4, 3, 4, 1, 2, 2, 1, 4, 3, 4, 3, 2, 1};
    unsigned char c4[16] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    CHECK(sudoku_check(c4, g4, 2));
    c4[0] = 2;
    CHECK(!sudoku_check(c4, g4, 2));
}

/* ---- CSV ---- */

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

static void test_csv_round_trip(int box) {
    const char *path = "test_sudoku_roundtrip.csv";
    enum { N = 25 };
    SudokuPuzzle in[N];
    for (int i = 0; i < N; i++) {
        Rng r;
        rng_seed(&r, 3, (uint64_t)i);
        sudoku_generate(&r, box, box == 3 ? 28 : 5, box == 3 ? 36 : 8, -1, &in[i]);
    }
    FILE *f = fopen(path, "wb");
    sudoku_csv_write(f, in, N, box);
    fclose(f);

    SudokuPuzzle *out = NULL;
    long count = 0;
    Err err = {{0}};
    CHECK_MSG(sudoku_csv_load(path, box, 0, &out, &count, &err) == 0, "%s", err.msg);
    CHECK(count == N);
    CHECK(out && memcmp(in, out, sizeof in) == 0);

    /* appends; max_rows limits */
    CHECK(sudoku_csv_load(path, box, 10, &out, &count, &err) == 0);
    CHECK(count == N + 10);
    CHECK(out && memcmp(&out[N], in, 10 * sizeof *in) == 0);
    free(out);
    remove(path);
}

/* Loads `text` (written to a scratch file) as 9x9 puzzles into a fresh array. */
static int load_text(const char *text, long max_rows, SudokuPuzzle **p, long *count, Err *err) {
    const char *path = "test_sudoku_formats.csv";
    write_text(path, text);
    *p = NULL;
    *count = 0;
    int rc = sudoku_csv_load(path, 3, max_rows, p, count, err);
    remove(path);
    return rc;
}

/* `text` holds `want` rows, each Wikipedia's EASY puzzle and its solution. */
static void expect_easy_rows(const char *name, const char *text, long max_rows, long want) {
    unsigned char clues[81], sol[81];
    grid_from_string(EASY, clues);
    grid_from_string(EASY_SOLUTION, sol);
    SudokuPuzzle *p;
    long count;
    Err err = {{0}};
    CHECK_MSG(load_text(text, max_rows, &p, &count, &err) == 0, "%s: %s", name, err.msg);
    CHECK_MSG(count == want, "%s: %ld rows, expected %ld", name, count, want);
    int same = 1;
    for (long i = 0; i < count; i++)
        same &= memcmp(p[i].clues, clues, 81) == 0 && memcmp(p[i].solution, sol, 81) == 0;
    CHECK_MSG(same, "%s: rows differ from the puzzle written", name);
    free(p);
}

static void test_csv_formats(void) {
    char text[1024], dotted[82];
    for (int i = 0; i < 81; i++) dotted[i] = EASY[i] == '0' ? '.' : EASY[i];
    dotted[81] = '\0';
    const char *sol = EASY_SOLUTION;
    snprintf(text, sizeof text, "quizzes,solutions\r\n%s,%s\r\n%s,%s\r\n\r\n", dotted, sol, EASY,
             sol);
    expect_easy_rows("CRLF, '.' and '0' blanks, blank last line", text, 0, 2);
    snprintf(text, sizeof text, "%s,%s\n", EASY, sol);
    expect_easy_rows("no header", text, 0, 1);
    snprintf(text, sizeof text, "%s,%s", EASY, sol);
    expect_easy_rows("no header, no final newline", text, 0, 1);
    snprintf(text, sizeof text, "\xEF\xBB\xBF%s,%s\n", EASY, sol);
    expect_easy_rows("BOM, no header, one row", text, 0, 1);
    snprintf(text, sizeof text, "\xEF\xBB\xBF%s,%s\r\n%s,%s\r\n", dotted, sol, EASY, sol);
    expect_easy_rows("BOM, no header, CRLF", text, 0, 2);
    snprintf(text, sizeof text, "\xEF\xBB\xBFpuzzle,solution\r\n%s,%s\r\n", EASY, sol);
    expect_easy_rows("BOM and header", text, 0, 1);
    snprintf(text, sizeof text, "\"puzzle\",\"solution\"\n\"%s\",\"%s\"\n", EASY, sol);
    expect_easy_rows("quoted fields", text, 0, 1);
    snprintf(text, sizeof text, "Answer , QUESTION,Source\n %s , %s ,x\n", sol, dotted);
    expect_easy_rows("any case, blanks around fields, solution first", text, 0, 1);
    snprintf(text, sizeof text, "\n  \npuzzle,solution\n\n%s,%s\n \t\n%s,%s\n", EASY, sol, EASY,
             sol);
    expect_easy_rows("blank lines before the header and between rows", text, 0, 2);
    snprintf(text, sizeof text, "puzzle,solution\n%s,%s\n%s,%s\nnot read\n", EASY, sol, EASY, sol);
    expect_easy_rows("max_rows stops reading", text, 2, 2);
    expect_easy_rows("only a header", "id,puzzle,solution\n", 0, 0);
    expect_easy_rows("empty file", "", 0, 0);
}

/* tests/data/sudoku/NAME, found next to this source file (meson compiles it by a path
 * relative to the build directory, one level below the tests' working directory). */
static void fixture_path(const char *name, char *path, size_t cap) {
    const char *src = __FILE__;
    const char *slash = strrchr(src, '/');
    int dir_len = slash ? (int)(slash - src) : 0;
    snprintf(path, cap, "%s%.*s%sdata/sudoku/%s", src[0] == '/' ? "" : "../", dir_len, src,
             slash ? "/" : "", name);
}

/* The same four generated puzzles written in each public layout (tests/data/sudoku/
 * make_fixtures.sh) load to the same puzzles, each valid with a unique solution. */
static void test_csv_public_layouts(void) {
    static const char *const files[] = {"ours.csv", "kaggle_1m.csv", "kaggle_3m.csv",
                                        "sudoku_extreme.csv"};
    enum { ROWS = 4 };
    SudokuPuzzle ours[ROWS];
    for (int f = 0; f < 4; f++) {
        char path[1024];
        fixture_path(files[f], path, sizeof path);
        SudokuPuzzle *p = NULL;
        long count = 0;
        Err err = {{0}};
        CHECK_MSG(sudoku_csv_load(path, 3, 0, &p, &count, &err) == 0, "%s", err.msg);
        CHECK_MSG(count == ROWS, "%s: %ld rows", files[f], count);
        if (count != ROWS) {
            free(p);
            continue;
        }
        if (f == 0) memcpy(ours, p, sizeof ours);
        CHECK_MSG(memcmp(ours, p, sizeof ours) == 0, "%s: puzzles differ from ours.csv", files[f]);
        for (int i = 0; i < ROWS; i++) {
            CHECK(sudoku_check(p[i].clues, p[i].solution, 3));
            CHECK(sudoku_count_solutions(p[i].clues, 3, 2, NULL) == 1);
            int k = count_clues(p[i].clues, 81);
            CHECK_MSG(k >= 24 && k <= 32, "%s row %d: %d clues", files[f], i + 1, k);
        }
        free(p);
    }
}

/* Loading `text` fails naming test_sudoku_bad.csv:LINE: and `what`, and leaves the array
 * as it was. */
static void check_bad_file(const char *text, int line, const char *what) {
    const char *path = "test_sudoku_bad.csv";
    write_text(path, text);
    long count = 3;
    SudokuPuzzle *p = calloc(3, sizeof *p);
    Err err = {{0}};
    char where[64];
    snprintf(where, sizeof where, "%s:%d: ", path, line);
    CHECK_MSG(sudoku_csv_load(path, 3, 0, &p, &count, &err) == -1, "accepted: %s", what);
    CHECK_MSG(strstr(err.msg, where) == err.msg, "expected '%s' first in: %s", where, err.msg);
    CHECK_MSG(strstr(err.msg, what) != NULL, "expected '%s' in: %s", what, err.msg);
    CHECK_MSG(strchr(err.msg, '\n') == NULL && strlen(err.msg) < 400, "not one short line: %s",
              err.msg);
    CHECK(count == 3);
    free(p);
    remove(path);
}

/* A file with `header`, the row `good`, then `bad` on line 3. */
static void check_bad_row_in(const char *header, const char *good, const char *bad,
                             const char *what) {
    char text[1024];
    snprintf(text, sizeof text, "%s\n%s\n%s\n", header, good, bad);
    check_bad_file(text, 3, what);
}

static void check_bad_row(const char *bad, const char *what) {
    char good[256];
    snprintf(good, sizeof good, "%s,%s", EASY, EASY_SOLUTION);
    check_bad_row_in("puzzle,solution", good, bad, what);
}

/* EASY_SOLUTION with digits 1 and 2 swapped: a valid grid that disagrees with EASY's first
 * 1 or 2 clue (row 2, column 4). */
static void relabeled_solution(char *out) {
    for (int i = 0; i < 81; i++)
        out[i] = EASY_SOLUTION[i] == '1' ? '2' : EASY_SOLUTION[i] == '2' ? '1' : EASY_SOLUTION[i];
    out[81] = '\0';
}

static void test_csv_errors(void) {
    char row[512];
    snprintf(row, sizeof row, "%.80s,%s", EASY, EASY_SOLUTION);
    check_bad_row(row, "puzzle (field 1) has 80 characters, expected 81");
    snprintf(row, sizeof row, "%s%s", EASY, EASY_SOLUTION);
    check_bad_row(row, "1 field, expected 2 (as in the header)");
    snprintf(row, sizeof row, "%s,%s,x", EASY, EASY_SOLUTION);
    check_bad_row(row, "3 fields, expected 2 (as in the header)");
    snprintf(row, sizeof row, "x%.80s,%s", EASY + 1, EASY_SOLUTION);
    check_bad_row(row, "puzzle (field 1): bad character 'x' at position 1");
    snprintf(row, sizeof row, "%s,0%s", EASY, EASY_SOLUTION + 1);
    check_bad_row(row, "solution (field 2): bad character '0' at position 1");
    char broken[82];
    memcpy(broken, EASY_SOLUTION, 82);
    broken[80] = broken[79];
    snprintf(row, sizeof row, "%s,%s", EASY, broken);
    check_bad_row(row, "solution (field 2) is not a valid 9x9 grid");
    char relabeled[82];
    relabeled_solution(relabeled);
    snprintf(row, sizeof row, "%s,%s", EASY, relabeled);
    check_bad_row(row, "solution (field 2) disagrees with the clue at row 2, column 4");

    SudokuPuzzle *p = NULL;
    long count = 0;
    Err err = {{0}};
    CHECK(sudoku_csv_load("no_such_dir/none.csv", 3, 0, &p, &count, &err) == -1);
    CHECK(strstr(err.msg, "no_such_dir/none.csv") != NULL);
}

/* Bad rows in the public layouts name the field as the header does. */
static void test_csv_layout_errors(void) {
    char dotted[82], good[512], bad[512], relabeled[82], text[1024];
    for (int i = 0; i < 81; i++) dotted[i] = EASY[i] == '0' ? '.' : EASY[i];
    dotted[81] = '\0';
    relabeled_solution(relabeled);
    const char *kaggle3m = "id,puzzle,solution,clues,difficulty";
    snprintf(good, sizeof good, "0,%s,%s,30,1.5", dotted, EASY_SOLUTION);
    snprintf(bad, sizeof bad, "1,%.80s,%s,30,1.5", dotted, EASY_SOLUTION);
    check_bad_row_in(kaggle3m, good, bad, "puzzle (field 2) has 80 characters, expected 81");
    snprintf(bad, sizeof bad, "1,%s,%s,30", dotted, EASY_SOLUTION);
    check_bad_row_in(kaggle3m, good, bad, "4 fields, expected 5 (as in the header)");
    snprintf(bad, sizeof bad, "1,%s,%s,30,1.5", dotted, relabeled);
    check_bad_row_in(kaggle3m, good, bad,
                     "solution (field 3) disagrees with the clue at row 2, column 4");

    const char *extreme = "source,question,answer,rating";
    snprintf(good, sizeof good, "puzzles0_kaggle,%s,%s,0", dotted, EASY_SOLUTION);
    snprintf(bad, sizeof bad, "puzzles0_kaggle,%s,.%s,0", dotted, EASY_SOLUTION + 1);
    check_bad_row_in(extreme, good, bad, "answer (field 3): bad character '.' at position 1");
    snprintf(bad, sizeof bad, "puzzles0_kaggle,%s?,%s,0", dotted, EASY_SOLUTION);
    check_bad_row_in(extreme, good, bad, "question (field 2) has 82 characters, expected 81");
    snprintf(bad, sizeof bad, "puzzles0_kaggle,%.40s#%s,%s,0", dotted, dotted + 41, EASY_SOLUTION);
    check_bad_row_in(extreme, good, bad, "question (field 2): bad character '#' at position 41");

    snprintf(text, sizeof text, "quizzes,solutions\r\n%s,%s\r\n%s,%s\r\n", EASY, EASY_SOLUTION,
             EASY, relabeled);
    check_bad_file(text, 3, "solutions (field 2) disagrees with the clue");
    snprintf(text, sizeof text, "\xEF\xBB\xBF%s,%s\n%.80s,%s\n", EASY, EASY_SOLUTION, EASY,
             EASY_SOLUTION);
    check_bad_file(text, 2, "puzzle (field 1) has 80 characters");
}

static void test_csv_header_errors(void) {
    check_bad_file("id,quiz,sol\n", 1,
                   "the header has no puzzle column (its columns: id, quiz, sol; a puzzle column "
                   "is named puzzle, quizzes or question, in any case)");
    check_bad_file("\xEF\xBB\xBFQuestion,sol\r\n", 1,
                   "no solution column (its columns: Question, sol; a solution column is named "
                   "solution, solutions or answer");
    check_bad_file("Solution,puzzle,ANSWER\n", 1,
                   "two solution columns: Solution (field 1) and ANSWER (field 3)");
    check_bad_file("puzzle,question,solution\n", 1,
                   "two puzzle columns: puzzle (field 1) and question (field 2)");
    char text[512];
    memset(text, 'x', 300);
    snprintf(text + 300, sizeof text - 300, ",\x01y\n");
    check_bad_file(text, 1, "columns: xxxxxxxxxxxxxxxxxxxxxxxx..., ?y;");
}

/* ---- gen CLI ---- */

static int run_gen(int argc, const char **argv) {
    Err err = {{0}};
    int status = sudoku_gen_command(argc, (char **)argv, &err);
    CHECK(status == 0 ? err.msg[0] == '\0' : err.msg[0] != '\0'); /* failures say why */
    return status;
}

/* gen sudoku ARGS... fails with a usage error whose message contains `what`. */
static void check_gen_usage_error(int argc, const char **argv, const char *what) {
    Err err = {{0}};
    CHECK_MSG(sudoku_gen_command(argc, (char **)argv, &err) == 2, "accepted: %s", what);
    CHECK_MSG(strstr(err.msg, what) != NULL, "expected '%s' in: %s", what, err.msg);
}

/* Every numeric option is a plain decimal integer within its range (issue 12: a count of 1e12
 * or 10^12 was taken, a clue range no puzzle can have silently gave other counts). */
static void test_gen_numeric_options(void) {
    static const char *const bad_counts[] = {"1e12", "1000000000000", "10000001", "-3",  "+3", " 3",
                                             "3 ",   "0x10",          "",         "many"};
    for (size_t i = 0; i < sizeof bad_counts / sizeof *bad_counts; i++) {
        const char *argv[] = {"sudoku", "--count", bad_counts[i], "--seed", "1"};
        check_gen_usage_error(5, argv, "--count: expected an integer from 0 to 10000000, got");
    }
    static const char *const bad_seeds[] = {"-1", "1.5", "18446744073709551616", "1e3", "seed"};
    for (size_t i = 0; i < sizeof bad_seeds / sizeof *bad_seeds; i++) {
        const char *argv[] = {"sudoku", "--count", "1", "--seed", bad_seeds[i]};
        check_gen_usage_error(5, argv, "--seed: expected an integer from 0 to 2^64-1, got");
    }
    static const char *const bad_boxes[] = {"4", "1", "+3", "3.0", "03x"};
    for (size_t i = 0; i < sizeof bad_boxes / sizeof *bad_boxes; i++) {
        const char *argv[] = {"sudoku", "--count", "1", "--seed", "1", "--box", bad_boxes[i]};
        check_gen_usage_error(7, argv, "--box: expected 2 or 3, got");
    }
    static const char *const bad_clues[] = {"30-20", "82", "20-+30", "20-", "-20", "2e1", "x"};
    for (size_t i = 0; i < sizeof bad_clues / sizeof *bad_clues; i++) {
        const char *argv[] = {"sudoku", "--count", "1", "--seed", "1", "--clues", bad_clues[i]};
        check_gen_usage_error(7, argv,
                              "--clues: expected MIN or MIN-MAX with 17 <= MIN <= MAX <= 81");
    }
    const char *zero[] = {"sudoku", "--count", "1", "--seed", "1", "--clues", "0-0"};
    check_gen_usage_error(7, zero, "--clues: MIN must be at least 17 for 9x9 grids");
    const char *sixteen[] = {"sudoku", "--count", "1", "--seed", "1", "--clues", "16-30"};
    check_gen_usage_error(7, sixteen, "at least 17 for 9x9 grids");
    const char *small[] = {"sudoku", "--count", "1", "--seed", "1", "--box", "2", "--clues", "3"};
    check_gen_usage_error(9, small, "--clues: MIN must be at least 4 for 4x4 grids");
    const char *wide[] = {"sudoku", "--count", "1", "--seed", "1", "--box=2", "--clues=4-17"};
    check_gen_usage_error(7, wide, "4 <= MIN <= MAX <= 16 for 4x4 grids");

    const char *path = "test_sudoku_gen_edges.csv";
    const char *edges[] = {"sudoku", "--count", "0",       "--seed", "18446744073709551615",
                           "--box",  "2",       "--clues", "4-16",   "-o",
                           path};
    CHECK(run_gen(11, edges) == 0);
    const char *fewest[] = {"sudoku",  "--count", "2",  "--seed", "0",
                            "--clues", "17-81",   "-o", path};
    CHECK(run_gen(9, fewest) == 0);
    remove(path);
}

static void test_gen_cli(void) {
    const char *path = "test_sudoku_gen.csv";
    const char *ok[] = {"sudoku", "--count", "30",  "--seed=11", "--box",
                        "2",      "--clues", "5-7", "-o",        path};
    CHECK(run_gen(10, ok) == 0);
    SudokuPuzzle *p = NULL;
    long count = 0;
    Err err = {{0}};
    CHECK_MSG(sudoku_csv_load(path, 2, 0, &p, &count, &err) == 0, "%s", err.msg);
    CHECK(count == 30);
    int same = 1;
    for (long i = 0; i < count && p; i++) { /* puzzle i comes from stream i of the seed */
        Rng r;
        rng_seed(&r, 11, (uint64_t)i);
        SudokuPuzzle want;
        sudoku_generate(&r, 2, 5, 7, -1, &want);
        same &= memcmp(&want, &p[i], sizeof want) == 0;
    }
    CHECK(same);
    free(p);
    remove(path);

    const char *rated[] = {"sudoku", "--count", "3",     "--seed", "1", "--rating",
                           "search", "--clues", "22-26", "-o",     path};
    CHECK(run_gen(11, rated) == 0);
    p = NULL;
    count = 0;
    CHECK(sudoku_csv_load(path, 3, 0, &p, &count, &err) == 0 && count == 3);
    for (long i = 0; i < count; i++) CHECK(sudoku_rate(p[i].clues, 3) == SUDOKU_RATE_SEARCH);
    free(p);
    remove(path);

    const char *bad_opt[] = {"sudoku", "--count", "3", "--seed", "1", "--frobnicate"};
    CHECK(run_gen(6, bad_opt) == 2);
    const char *bad_box[] = {"sudoku", "--count", "3", "--seed", "1", "--box", "4"};
    CHECK(run_gen(7, bad_box) == 2);
    const char *bad_clues[] = {"sudoku", "--count", "3", "--seed", "1", "--clues", "40-30"};
    CHECK(run_gen(7, bad_clues) == 2);
    const char *bad_count[] = {"sudoku", "--count", "many", "--seed", "1"};
    CHECK(run_gen(5, bad_count) == 2);
    const char *no_seed[] = {"sudoku", "--count", "3"};
    CHECK(run_gen(3, no_seed) == 2);
    const char *no_value[] = {"sudoku", "--seed", "1", "--count"};
    CHECK(run_gen(4, no_value) == 2);
    const char *bad_rating[] = {"sudoku", "--count", "3", "--seed", "1", "--rating", "hard"};
    CHECK(run_gen(7, bad_rating) == 2);
}

/* ---- the task ---- */

static void tiny_config(Config *cfg, const char *layout, int box) {
    config_defaults(cfg);
    config_set(cfg, "task.name", "sudoku");
    config_set(cfg, "task.layout", "%s", layout);
    config_set(cfg, "task.box", "%d", box);
    cfg->task.train_count = 12;
    cfg->task.eval_count = 5;
    config_set(cfg, "task.min_clues", "%d", box == 3 ? 30 : 6);
    config_set(cfg, "task.max_clues", "%d", box == 3 ? 34 : 8);
    cfg->task.data_seed = 17;
    cfg->threads = 2;
}

static void check_example(const Task *t, int split, long index, int box, int prompt_layout) {
    int n = box * box, cells = n * n;
    int tokens[2 * SUDOKU_MAX_CELLS];
    unsigned char is_prompt[2 * SUDOKU_MAX_CELLS];
    t->ops->example(t, split, index, tokens, is_prompt);
    unsigned char clues[SUDOKU_MAX_CELLS], answer[SUDOKU_MAX_CELLS];
    int flags_ok = 1;
    for (int c = 0; c < cells; c++) {
        if (prompt_layout) {
            clues[c] = (unsigned char)tokens[c];
            answer[c] = (unsigned char)tokens[cells + c];
            flags_ok &= is_prompt[c] == 1 && is_prompt[cells + c] == 0;
        } else {
            answer[c] = (unsigned char)tokens[c];
            clues[c] = is_prompt[c] ? answer[c] : 0;
        }
    }
    CHECK(flags_ok);
    CHECK(sudoku_check(clues, answer, box));
    CHECK(sudoku_count_solutions(clues, box, 2, NULL) == 1); /* prompt flags mark real clues */
    CHECK(t->ops->score(t, split, index, tokens) == 1);

    int *ans = prompt_layout ? tokens + cells : tokens;
    int free_cells[SUDOKU_MAX_CELLS], nf = 0;
    for (int c = 0; c < cells; c++)
        if (!clues[c]) free_cells[nf++] = c;
    CHECK(nf >= 2);
    int a = free_cells[0], b = free_cells[1];
    for (int i = 2; i < nf && ans[b] == ans[a]; i++) b = free_cells[i];
    int ta = ans[a], tb = ans[b];
    CHECK(ta != tb);
    ans[a] = tb;
    ans[b] = ta; /* two different answer digits swapped: never a valid grid */
    CHECK(t->ops->score(t, split, index, tokens) == 0);
    ans[a] = ta;
    ans[b] = t->mask_id;
    CHECK(t->ops->score(t, split, index, tokens) == 0);
    ans[b] = 0;
    CHECK(t->ops->score(t, split, index, tokens) == 0);
    ans[b] = n + 7;
    CHECK(t->ops->score(t, split, index, tokens) == 0);
    ans[b] = tb;
    CHECK(t->ops->score(t, split, index, tokens) == 1);

    char text[512];
    t->ops->render(t, tokens, text, sizeof text);
    CHECK((int)strlen(text) > cells);
    char small[8];
    t->ops->render(t, tokens, small, sizeof small);
    CHECK(strlen(small) == sizeof small - 1);
}

static void test_task_layout(const char *layout, int box) {
    Config cfg;
    tiny_config(&cfg, layout, box);
    Task t;
    Err err = {{0}};
    CHECK_MSG(task_create(&t, &cfg, &err) == 0, "%s", err.msg);
    if (!t.ops) return;
    int n = box * box, prompt = strcmp(layout, "prompt") == 0;
    CHECK(t.seq_len == (prompt ? 2 : 1) * n * n);
    CHECK(t.vocab_size == n + 2);
    CHECK(t.mask_id == n + 1);
    CHECK(t.n_train == 12 && t.n_eval == 5);
    for (long i = 0; i < t.n_train; i++) check_example(&t, SPLIT_TRAIN, i, box, prompt);
    for (long i = 0; i < t.n_eval; i++) check_example(&t, SPLIT_EVAL, i, box, prompt);

    /* deterministic; train and eval come from different streams */
    Task u;
    CHECK(task_create(&u, &cfg, &err) == 0);
    int a[162], b[162], c[162];
    unsigned char pa[162], pb[162], pc[162];
    t.ops->example(&t, SPLIT_TRAIN, 3, a, pa);
    u.ops->example(&u, SPLIT_TRAIN, 3, b, pb);
    t.ops->example(&t, SPLIT_EVAL, 3, c, pc);
    CHECK(memcmp(a, b, (size_t)t.seq_len * sizeof *a) == 0);
    CHECK(memcmp(pa, pb, (size_t)t.seq_len) == 0);
    if (box == 3) CHECK(memcmp(a, c, (size_t)t.seq_len * sizeof *a) != 0);
    task_destroy(&u);
    task_destroy(&t);
    CHECK(t.ops == NULL && t.impl == NULL);
}

static void test_task_files(void) {
    const char *path = "test_sudoku_task.csv";
    SudokuPuzzle ps[6];
    for (int i = 0; i < 6; i++) {
        Rng r;
        rng_seed(&r, 99, (uint64_t)i);
        sudoku_generate(&r, 3, 30, 34, -1, &ps[i]);
    }
    FILE *f = fopen(path, "wb");
    sudoku_csv_write(f, ps, 6, 3);
    fclose(f);

    Config cfg;
    tiny_config(&cfg, "prompt", 3);
    snprintf(cfg.task.train_file, sizeof cfg.task.train_file, "%s", path);
    snprintf(cfg.task.eval_file, sizeof cfg.task.eval_file, "%s", path);
    cfg.task.eval_count = 4; /* first 4 rows */
    Task t;
    Err err = {{0}};
    CHECK_MSG(task_create(&t, &cfg, &err) == 0, "%s", err.msg);
    CHECK(t.n_train == 6 && t.n_eval == 4);
    int tokens[162];
    unsigned char is_prompt[162];
    t.ops->example(&t, SPLIT_EVAL, 3, tokens, is_prompt);
    int same = 1;
    for (int c = 0; c < 81; c++)
        same &= tokens[c] == ps[3].clues[c] && tokens[81 + c] == ps[3].solution[c];
    CHECK(same);
    task_destroy(&t);
    remove(path);

    snprintf(cfg.task.train_file, sizeof cfg.task.train_file, "missing_train.csv");
    CHECK(task_create(&t, &cfg, &err) == -1);
    CHECK_MSG(strstr(err.msg, "missing_train.csv") != NULL, "%s", err.msg);
    CHECK(t.ops == NULL && t.impl == NULL);
}

static void test_task_errors(void) {
    Config cfg;
    Task t;
    Err err = {{0}};
    /* the task's own keys refuse bad values where they are set */
    tiny_config(&cfg, "prompt", 3);
    CHECK(config_apply_override(&cfg, "task.layout=x", &err) == -1);
    CHECK_MSG(strstr(err.msg, "task.layout") && strstr(err.msg, "expected one of prompt, inplace"),
              "%s", err.msg);
    CHECK(config_apply_override(&cfg, "task.box=4", &err) == -1);
    CHECK_MSG(strstr(err.msg, "task.box") != NULL, "%s", err.msg);
    tiny_config(&cfg, "prompt", 3);
    config_set(&cfg, "task.max_clues", "%d", 20); /* below min_clues */
    CHECK(task_create(&t, &cfg, &err) == -1);
    CHECK_MSG(strstr(err.msg, "task.max_clues") != NULL, "%s", err.msg);
    tiny_config(&cfg, "prompt", 3);
    config_set(&cfg, "task.min_clues", "16"); /* no 9x9 puzzle this sparse has one solution */
    CHECK(task_create(&t, &cfg, &err) == -1);
    CHECK_MSG(strstr(err.msg, "task.min_clues: expected a value in [17, 81] for box 3") != NULL,
              "%s", err.msg);
    tiny_config(&cfg, "inplace", 2);
    config_set(&cfg, "task.min_clues", "3");
    config_set(&cfg, "task.max_clues", "8");
    CHECK(task_create(&t, &cfg, &err) == -1);
    CHECK_MSG(strstr(err.msg, "task.min_clues: expected a value in [4, 16] for box 2") != NULL,
              "%s", err.msg);
    tiny_config(&cfg, "prompt", 3);
    snprintf(cfg.task_name, sizeof cfg.task_name, "chess");
    CHECK(task_create(&t, &cfg, &err) == -1);
    CHECK_MSG(strncmp(err.msg, "unknown task 'chess' (available: sudoku", 39) == 0, "%s", err.msg);

    CHECK(task_find("sudoku") && strcmp(task_find("sudoku")->name, "sudoku") == 0);
    CHECK(task_find("chess") == NULL);
    CHECK(strncmp(task_names(), "sudoku", 6) == 0); /* registry order: sudoku first */
}

int main(void) {
    test_solver();
    test_generate();
    test_generate_deterministic();
    test_fewest_clues();
    test_rating();
    test_check();
    test_csv_round_trip(3);
    test_csv_round_trip(2);
    test_csv_formats();
    test_csv_public_layouts();
    test_csv_errors();
    test_csv_layout_errors();
    test_csv_header_errors();
    test_gen_cli();
    test_gen_numeric_options();
    test_task_layout("prompt", 3);
    test_task_layout("inplace", 3);
    test_task_layout("prompt", 2);
    test_task_layout("inplace", 2);
    test_task_files();
    test_task_errors();
    return check_summary("sudoku");
}
