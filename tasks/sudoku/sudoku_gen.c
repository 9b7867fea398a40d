/* Sudoku solver (bitmask backtracking), generator, singles-only rating, solve check, CSV I/O
 * and the `mdmlab gen sudoku` command. Digit d (1..n) is bit d-1 of a candidate mask. */
#include "sudoku.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUDOKU_MAX_N     9
#define SUDOKU_MAX_UNITS (3 * SUDOKU_MAX_N)
/* Retries for a wanted rating; some (clue range, rating) pairs are rare or impossible (4x4
 * grids rarely need search), so generation gives up and returns its last try. */
#define SUDOKU_RATING_ATTEMPTS 2000

typedef struct Geometry {
    int box, n, cells;
    uint16_t full; /* all n digits */
    unsigned char row[SUDOKU_MAX_CELLS], col[SUDOKU_MAX_CELLS], blk[SUDOKU_MAX_CELLS];
    unsigned char unit[SUDOKU_MAX_UNITS][SUDOKU_MAX_N]; /* rows, then columns, then boxes */
} Geometry;

static int box_supported(int box) {
    return box == 2 || box == 3;
}

static void geometry_init(Geometry *g, int box) {
    int n = box * box;
    g->box = box;
    g->n = n;
    g->cells = n * n;
    g->full = (uint16_t)((1u << n) - 1);
    for (int c = 0; c < g->cells; c++) {
        int r = c / n, k = c % n, b = (r / box) * box + k / box;
        g->row[c] = (unsigned char)r;
        g->col[c] = (unsigned char)k;
        g->blk[c] = (unsigned char)b;
        g->unit[r][k] = (unsigned char)c;
        g->unit[n + k][r] = (unsigned char)c;
        g->unit[2 * n + b][(r % box) * box + k % box] = (unsigned char)c;
    }
}

static uint16_t digit_bit(int d) {
    return (uint16_t)(1u << (d - 1));
}

static int lowest_digit(uint16_t mask) {
    return __builtin_ctz(mask) + 1;
}

/* Digits already placed in every row, column and box of a grid. */
typedef struct Board {
    const Geometry *g;
    unsigned char grid[SUDOKU_MAX_CELLS];
    uint16_t rows[SUDOKU_MAX_N], cols[SUDOKU_MAX_N], blks[SUDOKU_MAX_N];
    int filled;
} Board;

static uint16_t board_candidates(const Board *b, int c) {
    const Geometry *g = b->g;
    return (uint16_t)(g->full & ~(b->rows[g->row[c]] | b->cols[g->col[c]] | b->blks[g->blk[c]]));
}

static void board_place(Board *b, int c, int d) {
    const Geometry *g = b->g;
    uint16_t bit = digit_bit(d);
    b->grid[c] = (unsigned char)d;
    b->rows[g->row[c]] |= bit;
    b->cols[g->col[c]] |= bit;
    b->blks[g->blk[c]] |= bit;
    b->filled++;
}

static void board_clear(Board *b, int c) {
    const Geometry *g = b->g;
    uint16_t keep = (uint16_t)~digit_bit(b->grid[c]);
    b->grid[c] = 0;
    b->rows[g->row[c]] &= keep;
    b->cols[g->col[c]] &= keep;
    b->blks[g->blk[c]] &= keep;
    b->filled--;
}

/* Load a grid; -1 when a value is out of range or two givens clash. */
static int board_init(Board *b, const Geometry *g, const unsigned char *grid) {
    memset(b, 0, sizeof *b);
    b->g = g;
    for (int c = 0; c < g->cells; c++) {
        int d = grid ? grid[c] : 0;
        if (d == 0) continue;
        if (d > g->n || !(board_candidates(b, c) & digit_bit(d))) return -1;
        board_place(b, c, d);
    }
    return 0;
}

/* Backtracking search: most-constrained cell first, stops after `limit` solutions.
 * ban[c] removes digits from cell c (used to ask "is there a solution other than X?").
 * With rng set, candidates are tried in random order (random complete grids). */
typedef struct Search {
    Board board;
    uint16_t ban[SUDOKU_MAX_CELLS];
    int count, limit;
    unsigned char *first; /* receives the first solution when non-NULL */
    Rng *rng;
} Search;

static int search_pick_cell(const Search *s, uint16_t *mask_out) {
    const Board *b = &s->board;
    int best = -1, best_count = INT_MAX;
    uint16_t best_mask = 0;
    for (int c = 0; c < b->g->cells; c++) {
        if (b->grid[c]) continue;
        uint16_t m = (uint16_t)(board_candidates(b, c) & ~s->ban[c]);
        int k = __builtin_popcount(m);
        if (k < best_count) {
            best = c;
            best_count = k;
            best_mask = m;
            if (k <= 1) break;
        }
    }
    *mask_out = best_mask;
    return best;
}

static int mask_to_digits(uint16_t mask, int *digits) {
    int k = 0;
    while (mask) {
        digits[k++] = lowest_digit(mask);
        mask &= (uint16_t)(mask - 1);
    }
    return k;
}

static void search_run(Search *s) {
    Board *b = &s->board;
    if (b->filled == b->g->cells) {
        if (s->count++ == 0 && s->first) memcpy(s->first, b->grid, (size_t)b->g->cells);
        return;
    }
    uint16_t mask;
    int c = search_pick_cell(s, &mask);
    int digits[SUDOKU_MAX_N];
    int k = mask_to_digits(mask, digits);
    if (s->rng) rng_shuffle_int(s->rng, digits, k);
    for (int i = 0; i < k && s->count < s->limit; i++) {
        board_place(b, c, digits[i]);
        search_run(s);
        board_clear(b, c);
    }
}

static int search_init(Search *s, const Geometry *g, const unsigned char *grid, int limit) {
    memset(s, 0, sizeof *s);
    s->limit = limit;
    return board_init(&s->board, g, grid);
}

int sudoku_count_solutions(const unsigned char *grid, int box, int limit, unsigned char *solution) {
    if (!box_supported(box) || limit <= 0) return 0;
    Geometry g;
    geometry_init(&g, box);
    Search s;
    if (search_init(&s, &g, grid, limit) != 0) return 0;
    s.first = solution;
    search_run(&s);
    return s.count;
}

static void random_complete_grid(const Geometry *g, Rng *rng, unsigned char *out) {
    Search s;
    search_init(&s, g, NULL, 1);
    s.rng = rng;
    s.first = out;
    search_run(&s);
}

/* Removing clue c keeps the solution unique iff no solution has another digit at c. */
static int removal_keeps_unique(const Geometry *g, const unsigned char *clues, int c,
                                int solution_digit) {
    Search s;
    search_init(&s, g, clues, 1);
    s.ban[c] = digit_bit(solution_digit);
    search_run(&s);
    return s.count == 0;
}

static void generate_once(const Geometry *g, Rng *rng, int min_clues, int max_clues,
                          SudokuPuzzle *out) {
    memset(out, 0, sizeof *out);
    random_complete_grid(g, rng, out->solution);
    memcpy(out->clues, out->solution, (size_t)g->cells);

    int lo = min_clues < 0 ? 0 : min_clues > g->cells ? g->cells : min_clues;
    int hi = max_clues < lo ? lo : max_clues > g->cells ? g->cells : max_clues;
    int target = lo + (int)rng_below(rng, (uint64_t)(hi - lo + 1));
    int order[SUDOKU_MAX_CELLS];
    for (int c = 0; c < g->cells; c++) order[c] = c;
    rng_shuffle_int(rng, order, g->cells);

    int clues = g->cells;
    for (int i = 0; i < g->cells && clues > target; i++) {
        int c = order[i];
        out->clues[c] = 0;
        if (removal_keeps_unique(g, out->clues, c, out->solution[c]))
            clues--;
        else
            out->clues[c] = out->solution[c];
    }
}

int sudoku_fewest_clues(int box) {
    return box == 2 ? 4 : box == 3 ? 17 : 0;
}

void sudoku_default_clues(int box, int *min_clues, int *max_clues) {
    *min_clues = box == 3 ? 28 : 6;
    *max_clues = box == 3 ? 36 : 8;
}

void sudoku_generate(Rng *rng, int box, int min_clues, int max_clues, int want_rating,
                     SudokuPuzzle *out) {
    if (!box_supported(box)) {
        memset(out, 0, sizeof *out);
        return;
    }
    Geometry g;
    geometry_init(&g, box);
    for (int attempt = 0; attempt < SUDOKU_RATING_ATTEMPTS; attempt++) {
        generate_once(&g, rng, min_clues, max_clues, out);
        if (want_rating < 0 || sudoku_rate(out->clues, box) == want_rating) return;
    }
}

/* Place a digit that is the only candidate of its cell or the only place for it in a unit.
 * Returns 1 on progress, 0 when stuck, -1 on a contradiction. */
static int singles_step(Board *b) {
    const Geometry *g = b->g;
    int progress = 0;
    for (int c = 0; c < g->cells; c++) {
        if (b->grid[c]) continue;
        uint16_t m = board_candidates(b, c);
        if (m == 0) return -1;
        if ((m & (m - 1)) == 0) {
            board_place(b, c, lowest_digit(m));
            progress = 1;
        }
    }
    for (int u = 0; u < 3 * g->n; u++) {
        for (int d = 1; d <= g->n; d++) {
            int where = -1, places = 0, placed = 0;
            for (int i = 0; i < g->n && !placed; i++) {
                int c = g->unit[u][i];
                if (b->grid[c] == d) placed = 1;
                if (!b->grid[c] && (board_candidates(b, c) & digit_bit(d))) {
                    where = c;
                    places++;
                }
            }
            if (placed) continue;
            if (places == 0) return -1;
            if (places == 1) {
                board_place(b, where, d);
                progress = 1;
            }
        }
    }
    return progress;
}

int sudoku_rate(const unsigned char *clues, int box) {
    if (!box_supported(box)) return SUDOKU_RATE_SEARCH;
    Geometry g;
    geometry_init(&g, box);
    Board b;
    if (board_init(&b, &g, clues) != 0) return SUDOKU_RATE_SEARCH;
    int r;
    while ((r = singles_step(&b)) > 0) {
    }
    return r == 0 && b.filled == g.cells ? SUDOKU_RATE_SINGLES : SUDOKU_RATE_SEARCH;
}

int sudoku_check(const unsigned char *clues, const unsigned char *answer, int box) {
    if (!box_supported(box)) return 0;
    Geometry g;
    geometry_init(&g, box);
    uint16_t seen[SUDOKU_MAX_UNITS] = {0};
    for (int c = 0; c < g.cells; c++) {
        int d = answer[c];
        if (d < 1 || d > g.n) return 0;
        if (clues && clues[c] && clues[c] != d) return 0;
        seen[g.row[c]] |= digit_bit(d);
        seen[g.n + g.col[c]] |= digit_bit(d);
        seen[2 * g.n + g.blk[c]] |= digit_bit(d);
    }
    for (int u = 0; u < 3 * g.n; u++)
        if (seen[u] != g.full) return 0;
    return 1;
}

/* ---- CSV ---- */

static void format_row(const SudokuPuzzle *p, int cells, char *line) {
    for (int c = 0; c < cells; c++) {
        line[c] = (char)('0' + p->clues[c]);
        line[cells + 1 + c] = (char)('0' + p->solution[c]);
    }
    line[cells] = ',';
    line[2 * cells + 1] = '\n';
}

#define CSV_HEADER  "puzzle,solution\n"
#define ROW_MAX     (2 * SUDOKU_MAX_CELLS + 2)
#define WHERE_MAX   1024 /* "FILE:LINE" prefix of CSV errors */
#define UTF8_BOM    "\xEF\xBB\xBF"
#define SHOWN_MAX   24  /* characters of a header name quoted in an error */
#define LABEL_MAX   64  /* "NAME (field K)" */
#define COLUMNS_MAX 400 /* the header's names listed in an error */

void sudoku_csv_write(FILE *f, const SudokuPuzzle *p, long count, int box) {
    int cells = box * box * box * box;
    char line[ROW_MAX];
    fputs(CSV_HEADER, f);
    for (long i = 0; i < count; i++) {
        format_row(&p[i], cells, line);
        fwrite(line, 1, (size_t)(2 * cells + 2), f);
    }
}

/* Column names of the public layouts, matched in any case: ours and Kaggle's 3 million
 * (puzzle, solution), Kaggle's 1 million (quizzes, solutions), sudoku-extreme (question,
 * answer). Other columns (id, clues, difficulty, source, rating) are ignored. */
#define COLUMN_NAMES 3
static const char *const puzzle_names[COLUMN_NAMES] = {"puzzle", "quizzes", "question"};
static const char *const solution_names[COLUMN_NAMES] = {"solution", "solutions", "answer"};

/* A field of a line without the blanks around it and one pair of enclosing quotes. */
typedef struct Field {
    const char *s;
    size_t len;
} Field;

/* Where a row's puzzle and solution are; the labels name them in errors. */
typedef struct CsvLayout {
    int fields, puzzle, solution, has_header;
    char puzzle_label[LABEL_MAX], solution_label[LABEL_MAX];
} CsvLayout;

static int is_blank_char(char ch) {
    return ch == ' ' || ch == '\t';
}

static Field field_trim(const char *s, size_t len) {
    while (len > 0 && is_blank_char(*s)) s++, len--;
    while (len > 0 && is_blank_char(s[len - 1])) len--;
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') s++, len -= 2;
    return (Field){s, len};
}

/* The field at *cur; *cur moves past its comma, or becomes NULL after the last field. */
static Field next_field(const char **cur) {
    const char *s = *cur, *comma = strchr(s, ',');
    size_t len = comma ? (size_t)(comma - s) : strlen(s);
    *cur = comma ? comma + 1 : NULL;
    return field_trim(s, len);
}

static int is_blank_line(const char *s) {
    while (is_blank_char(*s)) s++;
    return *s == '\0';
}

/* A data row starts with a digit or '.'; a first line that does not is a header. */
static int looks_like_data(const char *line) {
    const char *cur = line;
    Field f = next_field(&cur);
    return f.len > 0 && ((f.s[0] >= '0' && f.s[0] <= '9') || f.s[0] == '.');
}

static int field_is(Field f, const char *name) {
    if (f.len != strlen(name)) return 0;
    for (size_t i = 0; i < f.len; i++) {
        char ch = f.s[i] >= 'A' && f.s[i] <= 'Z' ? (char)(f.s[i] - 'A' + 'a') : f.s[i];
        if (ch != name[i]) return 0;
    }
    return 1;
}

static int field_in(Field f, const char *const *names) {
    for (int i = 0; i < COLUMN_NAMES; i++)
        if (field_is(f, names[i])) return 1;
    return 0;
}

/* f as printable ASCII ('?' for other bytes), cut to SHOWN_MAX characters: error messages
 * stay one readable line whatever the file holds. */
static void field_show(Field f, char *out) {
    size_t n = f.len > SHOWN_MAX ? SHOWN_MAX : f.len;
    for (size_t i = 0; i < n; i++) out[i] = f.s[i] >= ' ' && f.s[i] < 127 ? f.s[i] : '?';
    strcpy(out + n, f.len > n ? "..." : "");
}

static void field_label(Field f, int index, char *out) {
    char shown[SHOWN_MAX + 4];
    field_show(f, shown);
    snprintf(out, LABEL_MAX, "%s (field %d)", shown, index + 1);
}

/* "id, puzzle, ..." of the header line, cut to fit `cap`. */
static void list_columns(const char *line, char *out, size_t cap) {
    size_t at = 0;
    out[0] = '\0';
    const char *cur = line;
    while (cur && at + SHOWN_MAX + 8 < cap) {
        char shown[SHOWN_MAX + 4];
        field_show(next_field(&cur), shown);
        at += (size_t)snprintf(out + at, cap - at, "%s%s", at ? ", " : "", shown);
    }
    if (cur) snprintf(out + at, cap - at, ", ...");
}

static int missing_column(const char *line, const char *what, const char *const *names,
                          const char *where, Err *err) {
    char columns[COLUMNS_MAX];
    list_columns(line, columns, sizeof columns);
    return err_set(err,
                   "%s: the header has no %s column (its columns: %s; a %s column is named "
                   "%s, %s or %s, in any case)",
                   where, what, columns, what, names[0], names[1], names[2]);
}

/* Finds the puzzle and solution columns by name. */
static int parse_header(const char *line, CsvLayout *lay, const char *where, Err *err) {
    memset(lay, 0, sizeof *lay);
    lay->has_header = 1;
    lay->puzzle = lay->solution = -1;
    for (const char *cur = line; cur; lay->fields++) {
        Field f = next_field(&cur);
        int is_puzzle = field_in(f, puzzle_names), is_solution = field_in(f, solution_names);
        int *index = is_puzzle ? &lay->puzzle : is_solution ? &lay->solution : NULL;
        char *label = is_puzzle ? lay->puzzle_label : lay->solution_label;
        if (!index) continue;
        char this_label[LABEL_MAX];
        field_label(f, lay->fields, this_label);
        if (*index >= 0)
            return err_set(err, "%s: the header has two %s columns: %s and %s", where,
                           is_puzzle ? "puzzle" : "solution", label, this_label);
        *index = lay->fields;
        memcpy(label, this_label, LABEL_MAX);
    }
    if (lay->puzzle < 0) return missing_column(line, "puzzle", puzzle_names, where, err);
    if (lay->solution < 0) return missing_column(line, "solution", solution_names, where, err);
    return 0;
}

static void headerless_layout(CsvLayout *lay) {
    memset(lay, 0, sizeof *lay);
    lay->fields = 2;
    lay->puzzle = 0;
    lay->solution = 1;
    snprintf(lay->puzzle_label, LABEL_MAX, "puzzle (field 1)");
    snprintf(lay->solution_label, LABEL_MAX, "solution (field 2)");
}

static void strip_eol(char *line, ssize_t *len) {
    while (*len > 0 && (line[*len - 1] == '\n' || line[*len - 1] == '\r')) line[--*len] = '\0';
}

/* One grid field of exactly `cells` characters. blanks_ok: '0' and '.' allowed. */
static int parse_grid_field(Field f, const Geometry *g, int blanks_ok, const char *label,
                            unsigned char *out, const char *where, Err *err) {
    if (f.len != (size_t)g->cells)
        return err_set(err, "%s: %s has %zu characters, expected %d", where, label, f.len,
                       g->cells);
    for (int c = 0; c < g->cells; c++) {
        char ch = f.s[c];
        int d = ch == '.' ? 0 : ch >= '0' && ch <= '9' ? ch - '0' : -1;
        if (d < 0 || d > g->n || (d == 0 && !blanks_ok)) {
            char shown[8];
            snprintf(shown, sizeof shown, ch > ' ' && ch < 127 ? "'%c'" : "0x%02x",
                     (unsigned char)ch);
            return err_set(err, "%s: %s: bad character %s at position %d (expected %s1-%d)", where,
                           label, shown, c + 1, blanks_ok ? "'0', '.' or " : "", g->n);
        }
        out[c] = (unsigned char)d;
    }
    return 0;
}

static int check_puzzle(const SudokuPuzzle *p, const Geometry *g, const CsvLayout *lay,
                        const char *where, Err *err) {
    if (!sudoku_check(NULL, p->solution, g->box))
        return err_set(err, "%s: %s is not a valid %dx%d grid", where, lay->solution_label, g->n,
                       g->n);
    for (int c = 0; c < g->cells; c++)
        if (p->clues[c] && p->clues[c] != p->solution[c])
            return err_set(err, "%s: %s disagrees with the clue at row %d, column %d", where,
                           lay->solution_label, c / g->n + 1, c % g->n + 1);
    return 0;
}

static int parse_row(const char *line, const CsvLayout *lay, const Geometry *g, SudokuPuzzle *p,
                     const char *where, Err *err) {
    Field puzzle = {0}, solution = {0};
    int fields = 0;
    for (const char *cur = line; cur; fields++) {
        Field f = next_field(&cur);
        if (fields == lay->puzzle) puzzle = f;
        if (fields == lay->solution) solution = f;
    }
    if (fields != lay->fields)
        return err_set(err, "%s: %d field%s, expected %d (%s)", where, fields,
                       fields == 1 ? "" : "s", lay->fields,
                       lay->has_header ? "as in the header" : "puzzle,solution");
    memset(p, 0, sizeof *p);
    if (parse_grid_field(puzzle, g, 1, lay->puzzle_label, p->clues, where, err) ||
        parse_grid_field(solution, g, 0, lay->solution_label, p->solution, where, err))
        return -1;
    return check_puzzle(p, g, lay, where, err);
}

static int append_puzzle(SudokuPuzzle **out, long *count, long *cap, const SudokuPuzzle *p) {
    if (*count == *cap) {
        long grown = *cap < 1024 ? 1024 : *cap * 2;
        SudokuPuzzle *q = realloc(*out, (size_t)grown * sizeof *q);
        if (!q) return -1;
        *out = q;
        *cap = grown;
    }
    (*out)[(*count)++] = *p;
    return 0;
}

/* The reading state of one file: the layout is known after its first non-blank line. */
typedef struct CsvReader {
    const char *path;
    Geometry g;
    CsvLayout layout;
    int have_layout;
    long lineno;
    char where[WHERE_MAX];
} CsvReader;

/* One line: 1 when it held a puzzle (in *p), 0 when it held none (blank, header), -1 on error. */
static int read_line(CsvReader *r, char *line, SudokuPuzzle *p, Err *err) {
    if (r->lineno == 1 && strncmp(line, UTF8_BOM, strlen(UTF8_BOM)) == 0) line += strlen(UTF8_BOM);
    if (is_blank_line(line)) return 0;
    snprintf(r->where, sizeof r->where, "%s:%ld", r->path, r->lineno);
    if (!r->have_layout) {
        r->have_layout = 1;
        if (!looks_like_data(line)) return parse_header(line, &r->layout, r->where, err);
        headerless_layout(&r->layout);
    }
    return parse_row(line, &r->layout, &r->g, p, r->where, err) == 0 ? 1 : -1;
}

int sudoku_csv_load(const char *path, int box, long max_rows, SudokuPuzzle **out, long *count,
                    Err *err) {
    if (!box_supported(box))
        return err_set(err, "%s: sudoku box must be 2 or 3, got %d", path, box);
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(err, "%s: cannot open: %s", path, strerror(errno));
    CsvReader r = {.path = path};
    geometry_init(&r.g, box);
    long start = *count, cap = *count, rows = 0;
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t len;
    int rc = 0;
    while ((max_rows <= 0 || rows < max_rows) && (len = getline(&line, &line_cap, f)) >= 0) {
        r.lineno++;
        strip_eol(line, &len);
        SudokuPuzzle p;
        int got = read_line(&r, line, &p, err);
        if (got < 0) {
            rc = -1;
            break;
        }
        if (got == 0) continue;
        if (append_puzzle(out, count, &cap, &p) != 0) {
            rc = err_set(err, "%s: out of memory after %ld rows", path, rows);
            break;
        }
        rows++;
    }
    if (rc == 0 && ferror(f)) rc = err_set(err, "%s: read error: %s", path, strerror(errno));
    if (rc != 0) *count = start;
    free(line);
    fclose(f);
    return rc;
}

/* ---- `mdmlab gen sudoku` ---- */

#define GEN_CHUNK        4096   /* puzzles generated between progress updates / writes */
#define GEN_PROGRESS_MIN 10000L /* counts below this finish too fast to need progress */
/* About an hour on 2 cores; with -o the rows are held in memory until the write (1.6 GB). */
#define GEN_COUNT_MAX 10000000L

typedef struct GenArgs {
    long count;
    uint64_t seed;
    int box, min_clues, max_clues, rating;
    int have_count, have_seed, help;
    const char *out_path;
} GenArgs;

static const char *const rating_names[] = {"any", "singles", "search"};

static void gen_usage(FILE *f) {
    fputs("usage: mdmlab gen sudoku --count N --seed S [--box 2|3] [--clues MIN[-MAX]]\n"
          "                         [--rating any|singles|search] [-o FILE]\n"
          "\n"
          "Generate Sudoku puzzles with exactly one solution and write them as CSV\n"
          "(header 'puzzle,solution', then one row per puzzle, '0' for blanks).\n"
          "Puzzle i depends only on (seed, i): output is identical for any thread count.\n"
          "\n"
          "  --count N          number of puzzles, an integer from 0 to 10000000 (required)\n"
          "  --seed S           generator seed, an integer from 0 to 2^64-1 (required)\n"
          "  --box B            box size: 3 = 9x9 grids (default), 2 = 4x4 grids\n"
          "  --clues MIN[-MAX]  clue count drawn uniformly in [MIN, MAX] (default 28-36 for\n"
          "                     9x9, 6-8 for 4x4). MIN is at least 17 for 9x9 and 4 for 4x4:\n"
          "                     no puzzle with fewer clues has a unique solution. Clues are\n"
          "                     removed while the solution stays unique, so removal stops\n"
          "                     early when no clue can go (9x9 puzzles at 22-28 clues, 4x4 at\n"
          "                     4-6); a note on stderr counts the puzzles left above MAX\n"
          "  --rating R         any (default); singles = solvable by naked and hidden singles\n"
          "                     alone; search = needs more than singles (rare above ~30 clues)\n"
          "  -o, --output FILE  write to FILE atomically instead of stdout (the rows are held\n"
          "                     in memory until then: about 165 bytes a 9x9 puzzle)\n"
          "  -h, --help         show this help\n",
          f);
}

/* The decimal digits at *s (no sign, no blanks), moving *s past them; -1 when there are none
 * or their value exceeds max. */
static int read_decimal(const char **s, uint64_t max, uint64_t *out) {
    const char *p = *s;
    uint64_t v = 0;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (d > max || v > (max - d) / 10) return -1;
        v = v * 10 + d;
    }
    *s = p;
    *out = v;
    return 0;
}

/* The whole of s as an integer in [lo, hi]; `expected` describes that range in the error. */
static int parse_integer(const char *opt, const char *s, uint64_t lo, uint64_t hi,
                         const char *expected, uint64_t *out, Err *err) {
    const char *end = s;
    uint64_t v;
    if (read_decimal(&end, hi, &v) != 0 || *end != '\0' || v < lo)
        return err_set(err, "%s: expected %s, got '%s'", opt, expected, s);
    *out = v;
    return 0;
}

/* MIN or MIN-MAX, each at most the cell count, MIN at least the fewest clues of a puzzle with
 * a unique solution (below it the generator would silently return more clues than asked). */
static int parse_clues(const char *s, int box, int *lo, int *hi, Err *err) {
    const int n = box * box, cells = n * n, fewest = sudoku_fewest_clues(box);
    const char *end = s;
    uint64_t a, b;
    int ok = read_decimal(&end, (uint64_t)cells, &a) == 0;
    b = a;
    if (ok && *end == '-') {
        end++;
        ok = read_decimal(&end, (uint64_t)cells, &b) == 0;
    }
    if (!ok || *end != '\0' || b < a)
        return err_set(err,
                       "--clues: expected MIN or MIN-MAX with %d <= MIN <= MAX <= %d for %dx%d "
                       "grids, got '%s'",
                       fewest, cells, n, n, s);
    if (a < (uint64_t)fewest)
        return err_set(err,
                       "--clues: MIN must be at least %d for %dx%d grids (no puzzle with fewer "
                       "clues has a unique solution), got '%s'",
                       fewest, n, n, s);
    *lo = (int)a;
    *hi = (int)b;
    return 0;
}

static int parse_rating(const char *s, int *out, Err *err) {
    for (int i = 0; i < 3; i++)
        if (strcmp(s, rating_names[i]) == 0) {
            *out = i - 1; /* any = -1, singles = 0, search = 1 */
            return 0;
        }
    return err_set(err, "--rating: expected any, singles or search, got '%s'", s);
}

/* Accepts "--opt value" and "--opt=value". */
static int gen_apply_option(GenArgs *a, const char *opt, const char *val, const char **clues,
                            Err *err) {
    uint64_t v = 0;
    if (strcmp(opt, "--count") == 0) {
        a->have_count = 1;
        if (parse_integer(opt, val, 0, GEN_COUNT_MAX, "an integer from 0 to 10000000", &v, err))
            return -1;
        a->count = (long)v;
        return 0;
    }
    if (strcmp(opt, "--seed") == 0) {
        a->have_seed = 1;
        return parse_integer(opt, val, 0, UINT64_MAX, "an integer from 0 to 2^64-1", &a->seed, err);
    }
    if (strcmp(opt, "--box") == 0) {
        if (parse_integer(opt, val, 2, 3, "2 or 3", &v, err)) return -1;
        a->box = (int)v;
        return 0;
    }
    if (strcmp(opt, "--clues") == 0) {
        *clues = val; /* checked once the box size is known */
        return 0;
    }
    if (strcmp(opt, "--rating") == 0) return parse_rating(val, &a->rating, err);
    if (strcmp(opt, "-o") == 0 || strcmp(opt, "--output") == 0) {
        a->out_path = val;
        return 0;
    }
    return err_set(err, "unknown option '%s' (see 'mdmlab gen sudoku --help')", opt);
}

static int option_takes_value(const char *opt) {
    static const char *const valued[] = {"--count",  "--seed", "--box",   "--clues",
                                         "--rating", "-o",     "--output"};
    for (size_t i = 0; i < sizeof valued / sizeof *valued; i++)
        if (strcmp(opt, valued[i]) == 0) return 1;
    return 0;
}

static int gen_parse_args(int argc, char **argv, GenArgs *a, Err *err) {
    memset(a, 0, sizeof *a);
    a->box = 3;
    a->rating = -1;
    const char *clues = NULL;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            a->help = 1;
            return 0;
        }
        char opt[32];
        const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
        size_t opt_len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (opt_len >= sizeof opt) opt_len = sizeof opt - 1;
        memcpy(opt, arg, opt_len);
        opt[opt_len] = '\0';
        if (arg[0] != '-') return err_set(err, "unexpected argument '%s'", arg);
        if (!option_takes_value(opt)) return gen_apply_option(a, arg, "", &clues, err);
        const char *val = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!val) return err_set(err, "%s needs a value", opt);
        if (gen_apply_option(a, opt, val, &clues, err)) return -1;
    }
    if (!a->have_count) return err_set(err, "--count is required");
    if (!a->have_seed) return err_set(err, "--seed is required");
    sudoku_default_clues(a->box, &a->min_clues, &a->max_clues);
    return clues ? parse_clues(clues, a->box, &a->min_clues, &a->max_clues, err) : 0;
}

static void generate_range(const GenArgs *a, long first, long n, SudokuPuzzle *out) {
#pragma omp parallel for schedule(dynamic, 8)
    for (long i = 0; i < n; i++) {
        Rng r;
        rng_seed(&r, a->seed, (uint64_t)(first + i));
        sudoku_generate(&r, a->box, a->min_clues, a->max_clues, a->rating, &out[i]);
    }
}

static long first_wrong_rating(const GenArgs *a, const SudokuPuzzle *p, long n) {
    if (a->rating < 0) return -1;
    for (long i = 0; i < n; i++)
        if (sudoku_rate(p[i].clues, a->box) != a->rating) return i;
    return -1;
}

static long count_above_max(const GenArgs *a, const SudokuPuzzle *p, long n) {
    int cells = a->box * a->box * a->box * a->box;
    long above = 0;
    for (long i = 0; i < n; i++) {
        int clues = 0;
        for (int c = 0; c < cells; c++) clues += p[i].clues[c] != 0;
        above += clues > a->max_clues;
    }
    return above;
}

static void append_rows(StrBuf *sb, const SudokuPuzzle *p, long n, int cells) {
    char line[ROW_MAX];
    for (long i = 0; i < n; i++) {
        format_row(&p[i], cells, line);
        sb_append(sb, line, (size_t)(2 * cells + 2));
    }
}

/* Generates chunk by chunk; rows go to stdout per chunk, or build up for one atomic write. */
static int gen_run(const GenArgs *a, Err *err) {
    int cells = a->box * a->box * a->box * a->box;
    int progress = isatty(STDERR_FILENO) && a->count >= GEN_PROGRESS_MIN;
    SudokuPuzzle *chunk = malloc(GEN_CHUNK * sizeof *chunk);
    StrBuf sb = {0};
    int rc = chunk ? 0 : err_set(err, "out of memory");
    long above_max = 0;
    sb_append(&sb, CSV_HEADER, strlen(CSV_HEADER));
    for (long first = 0; rc == 0 && first < a->count; first += GEN_CHUNK) {
        long n = a->count - first < GEN_CHUNK ? a->count - first : GEN_CHUNK;
        generate_range(a, first, n, chunk);
        long bad = first_wrong_rating(a, chunk, n);
        if (bad >= 0) {
            rc = err_set(err,
                         "puzzle %ld: no puzzle rated '%s' found in %d tries with %d-%d clues "
                         "(try a wider --clues range)",
                         first + bad, rating_names[a->rating + 1], SUDOKU_RATING_ATTEMPTS,
                         a->min_clues, a->max_clues);
            break;
        }
        above_max += count_above_max(a, chunk, n);
        append_rows(&sb, chunk, n, cells);
        if (!a->out_path) {
            if (fwrite(sb.data, 1, sb.len, stdout) != sb.len)
                rc = err_set(err, "writing stdout: %s", strerror(errno));
            sb.len = 0;
        }
        if (progress) fprintf(stderr, "\rgen sudoku: %ld/%ld puzzles", first + n, a->count);
    }
    if (progress) fputc('\n', stderr);
    if (rc == 0 && !a->out_path && (sb.len && fwrite(sb.data, 1, sb.len, stdout) != sb.len))
        rc = err_set(err, "writing stdout: %s", strerror(errno));
    if (rc == 0 && !a->out_path && fflush(stdout) != 0)
        rc = err_set(err, "writing stdout: %s", strerror(errno));
    if (rc == 0 && a->out_path) rc = write_file_atomic(a->out_path, sb.data, sb.len, err);
    if (rc == 0 && above_max > 0)
        fprintf(stderr,
                "mdmlab: note: %ld of %ld puzzles have more than %d clues (removal stopped where "
                "no clue could go keeping the solution unique; see --help)\n",
                above_max, a->count, a->max_clues);
    sb_free(&sb);
    free(chunk);
    return rc;
}

int sudoku_gen_command(int argc, char **argv, Err *err) {
    GenArgs a;
    if (gen_parse_args(argc, argv, &a, err) != 0) return 2;
    if (a.help) {
        gen_usage(stdout);
        return 0;
    }
    return gen_run(&a, err) != 0 ? 1 : 0;
}
