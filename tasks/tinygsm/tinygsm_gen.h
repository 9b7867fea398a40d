/* A seeded generator of GSM-style word problems in TinyGSM's row shape: a question and a
 * `def simple_math_problem() -> int:` solution whose docstring is the question, whose body is
 * straight-line named assignments, and which ends `result = ...` / `return result`.
 *
 * Six templates: shopping (unit prices, optional change), travel (speed x time, or distance /
 * speed), percent (discounts, tax, tips, optional split of the bill), sharing (equal shares with
 * an exact quotient, or the remainder), relations (more / fewer / times / a fraction as many,
 * then one of them, a difference or a total), savings (weeks to reach a goal). Numbers are
 * built so that every answer is a whole number and every division a question calls whole is
 * exact (the code may still use `/`, so the value can be a float such as 60.0).
 *
 * Knobs: steps = the number of arithmetic operators in the solution code (each problem draws a
 * count in [min_steps, max_steps] and a template that can produce exactly that many), and
 * max_number = the largest quantity, price, rate or duration drawn. Percentages, the constant
 * 100, and numbers derived to make a problem consistent (a bill larger than the total, a total
 * made divisible) are not drawn and may exceed it. */
#ifndef MDMLAB_TINYGSM_GEN_H
#define MDMLAB_TINYGSM_GEN_H

#include <stdint.h>

#include "base/util.h"

#define TINYGSM_TEMPLATES      6
#define TINYGSM_MAX_STEPS      12
#define TINYGSM_MIN_MAX_NUMBER 10
#define TINYGSM_MAX_MAX_NUMBER 1000000

typedef struct TinyGsmGenOptions {
    int min_steps, max_steps; /* 1 <= min <= max <= TINYGSM_MAX_STEPS; default 2-6 */
    long max_number;          /* TINYGSM_MIN_MAX_NUMBER..TINYGSM_MAX_MAX_NUMBER; default 100 */
} TinyGsmGenOptions;

typedef struct TinyGsmProblem {
    StrBuf question, code; /* NUL-terminated text */
    int template_id;       /* 0..TINYGSM_TEMPLATES-1 */
    int steps;             /* arithmetic operators in code */
    long long answer;      /* what the code returns (as a number) */
} TinyGsmProblem;

void tinygsm_gen_defaults(TinyGsmGenOptions *o);
int tinygsm_gen_validate(const TinyGsmGenOptions *o, Err *err);
const char *tinygsm_template_name(int template_id);

/* One problem drawn from rng (deterministic in it); out's buffers are reused. */
void tinygsm_generate(Rng *rng, const TinyGsmGenOptions *o, TinyGsmProblem *out);
void tinygsm_problem_free(TinyGsmProblem *p);

/* Rows [first, first + count) of the data set named by seed, appended to out as JSONL lines
 * {"question": ..., "code": ...}. Row i is drawn from stream i, so a row does not depend on
 * how many were generated before it. */
void tinygsm_gen_jsonl(const TinyGsmGenOptions *o, uint64_t seed, long first, long count,
                       StrBuf *out);

#endif
