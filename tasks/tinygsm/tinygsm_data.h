/* TinyGSM and GSM8K rows: loading JSONL data sets, reading reference answers, scoring candidate
 * solutions.
 *
 * Row schemas (JSON Lines, one object per line; other fields are ignored):
 *   TinyGSM  {"question": "...", "code": "def simple_math_problem() -> int: ..."}
 *            the solution may instead be in "solution", or in "answer" when that holds code;
 *            its reference answer is what the code evaluates to (tasks/pyeval).
 *   GSM8K    {"question": "...", "answer": "worked solution ... #### 1,234"}
 *            the reference is the number after the last "####", commas removed.
 *
 * Scoring rows (`mdmlab score tinygsm`):
 *   "code"            the candidate solution (string, required): evaluated with pyeval;
 *   "answer"          the reference: GSM8K text with "#### N", a bare number as text
 *                     ("1,234", "$5", "-2.5"), or a JSON number; or, when "answer" is absent,
 *   "reference_code"  code whose value is the reference.
 * A candidate is correct when it evaluates and pyeval_matches(value, reference). */
#ifndef MDMLAB_TINYGSM_DATA_H
#define MDMLAB_TINYGSM_DATA_H

#include <stddef.h>

#include "base/util.h"
#include "tasks/lib/jsonl.h"
#include "tasks/lib/pyeval.h"

/* The reference number in a GSM8K answer (text after the last "####") or, without "####", the
 * whole text as a bare number. Accepts commas as thousands separators, a leading '$', and
 * surrounding whitespace; the value must be finite. Returns 0, or -1 when there is no number. */
int gsm8k_answer_number(const char *text, size_t len, double *out);

typedef struct TinyGsmRow {
    char *question;
    char *code;       /* the solution code; NULL for GSM8K rows */
    double reference; /* the reference answer */
    long line;        /* line in the source file */
} TinyGsmRow;

typedef struct TinyGsmSet {
    TinyGsmRow *rows;
    long count, cap;
    long dropped; /* TinyGSM rows whose code does not evaluate to a finite number */
} TinyGsmSet;

/* Appends up to max_rows rows (<= 0: all) of path to set. Rows whose solution code fails to
 * evaluate are dropped and counted; a malformed line, a missing question, or a row with neither
 * code nor a "####" answer is an error "FILE:LINE: ...". */
int tinygsm_load(const char *path, long max_rows, TinyGsmSet *set, Err *err);
void tinygsm_set_free(TinyGsmSet *set);

typedef struct TinyGsmScore {
    int correct;
    int evaluated; /* the candidate ran and returned a number */
    PyValue value; /* when evaluated */
    double reference;
    char error[1024]; /* why the candidate is wrong, when it did not evaluate */
} TinyGsmScore;

/* Scores one row of the scoring schema above. Returns -1 (err without FILE:LINE) when the row
 * itself is unusable: no "code" string, no reference, or a reference that is not a number /
 * does not evaluate. A candidate that fails is a wrong answer, not an error. */
int tinygsm_score_row(const JsonRow *row, TinyGsmScore *out, Err *err);

#endif
