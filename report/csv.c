/* CSV by column name (csv.h). */
#include "csv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void csv_close(Csv *c) {
    free(c->text);
    c->text = NULL;
}

/* Cuts the next line out of the text; NULL at the end. */
static char *next_line(Csv *c) {
    while (c->cursor && *c->cursor) {
        char *line = c->cursor;
        char *nl = strchr(line, '\n');
        if (nl) {
            *nl = '\0';
            c->cursor = nl + 1;
        } else {
            c->cursor = NULL;
        }
        c->line++;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r') line[len - 1] = '\0';
        if (*line) return line;
    }
    return NULL;
}

static int split(char *line, char sep, char **out) {
    int n = 0;
    for (;;) {
        if (n == CSV_MAX_COLS) return n + 1;
        out[n++] = line;
        char *comma = strchr(line, sep);
        if (!comma) return n;
        *comma = '\0';
        line = comma + 1;
    }
}

int csv_open_file(Csv *c, const char *path, char sep, Err *err) {
    memset(c, 0, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s", path);
    c->sep = sep;
    size_t len;
    if (read_file_all(c->path, &c->text, &len, err)) return -1;
    c->cursor = c->text;
    char *header = next_line(c);
    if (!header) {
        csv_close(c);
        return err_set(err, "%s: empty file, expected a header line", c->path);
    }
    if (strncmp(header, "# ", 2) == 0) header += 2;
    c->n_cols = split(header, sep, c->cols);
    if (c->n_cols > CSV_MAX_COLS) {
        csv_close(c);
        return err_set(err, "%s:%d: more than %d columns", c->path, c->line, CSV_MAX_COLS);
    }
    return 0;
}

int csv_open(Csv *c, const char *dir, const char *name, Err *err) {
    char path[sizeof c->path];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return csv_open_file(c, path, ',', err);
}

/* Index of a column; -1 if absent (an error when required). */
int csv_col(Csv *c, const char *name, int required, Err *err) {
    for (int i = 0; i < c->n_cols; i++)
        if (strcmp(c->cols[i], name) == 0) return i;
    if (required) err_set(err, "%s:1: missing column '%s'", c->path, name);
    return -1;
}

/* 1: a row is in c->field; 0: end of file; -1: a row with the wrong number of fields. */
int csv_next(Csv *c, Err *err) {
    char *line = next_line(c);
    if (!line) return 0;
    int n = split(line, c->sep, c->field);
    if (n != c->n_cols)
        return err_set(err, "%s:%d: expected %d fields, got %d", c->path, c->line, c->n_cols, n);
    return 1;
}

/* The number in column col of the current row; col < 0 (optional column absent) gives NAN. */
int csv_num(Csv *c, int col, double *out, Err *err) {
    if (col < 0) {
        *out = NAN;
        return 0;
    }
    const char *s = c->field[col];
    char *end;
    *out = strtod(s, &end);
    if (end == s || *end != '\0')
        return err_set(err, "%s:%d: column '%s': expected a number, got '%s'", c->path, c->line,
                       c->cols[col], s);
    return 0;
}
