/* CSV files by column name (the run directories' train.csv, eval.csv, elbo.csv) and the
 * reports' TSVs: the header's names, then one row at a time, each field cut in place. Errors
 * name the file and line. */
#ifndef MDMLAB_CSV_H
#define MDMLAB_CSV_H

#include "base/util.h"

#define CSV_MAX_COLS 64

/* A CSV file split in place: the header's names, then one row at a time. Fields hold no
 * commas or quotes (the trainer writes plain numbers and policy names). */
typedef struct Csv {
    char path[1100];
    char *text;
    char *cursor;
    char sep; /* ',' or '\t' */
    int line; /* line number of the current row */
    int n_cols;
    char *cols[CSV_MAX_COLS];
    char *field[CSV_MAX_COLS];
} Csv;

/* Reads DIR/NAME and its header. */
int csv_open(Csv *c, const char *dir, const char *name, Err *err);
/* Reads PATH, fields separated by sep, and its header; a header written as a comment ("# a\tb",
 * as the reports' TSVs are) names the columns without its "# ". */
int csv_open_file(Csv *c, const char *path, char sep, Err *err);
void csv_close(Csv *c);
/* Index of a column; -1 if absent (an error when required). */
int csv_col(Csv *c, const char *name, int required, Err *err);
/* 1: a row is in c->field; 0: end of file; -1: a row with the wrong number of fields. */
int csv_next(Csv *c, Err *err);
/* The number in column col of the current row; col < 0 (optional column absent) gives NAN. */
int csv_num(Csv *c, int col, double *out, Err *err);

#endif
