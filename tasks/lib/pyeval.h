/* A restricted evaluator for the straight-line Python that TinyGSM solutions are written in:
 *
 *   def simple_math_problem() -> int:
 *       """docstring (the question)"""
 *       apples = 5          # comments, blank lines
 *       price = 1_000 * .5
 *       total = round(apples * price / 3, 2)
 *       total += max(2, 3)
 *       result = total
 *       return result
 *
 * One `def NAME():` (optional `-> NAME` annotation) whose body holds assignments (`a = b = e`,
 * `+= -= *= /= //= %= **=`), expression and string statements (docstrings), `pass` and `return
 * expr`. Expressions: int and float literals (1_000, 1e3, .5, 5.), local names, + - * / // % **,
 * unary + -, parentheses, and calls to round (1 or 2 arguments), int, float, abs (1 argument),
 * min/max (2+ arguments or one list literal) and sum (one list literal).
 *
 * Semantics are CPython 3.11's for this subset, except that ints are 64-bit: any int result
 * outside int64 is the error "integer out of range" where Python would go on with a big int.
 * `/` is true division (a correctly rounded float, also for ints beyond 2^53), `//` and `%`
 * floor, `**` with a negative int exponent gives a float, round() rounds half to even and with
 * ndigits rounds the exact decimal value (round(2.675, 2) == 2.67). Python's own exceptions
 * (ZeroDivisionError, NameError, OverflowError, a negative number to a fractional power, ...)
 * are errors too, as is anything outside the subset (import, if, for, while, strings as values,
 * attributes, lambda, ...). The whole source is parsed before anything runs, as Python compiles
 * a function before calling it. Work is bounded (the operation budget): at most PYEVAL_MAX_SOURCE
 * bytes of source, PYEVAL_MAX_TOKENS tokens per pass and PYEVAL_MAX_DEPTH nested sub-expressions or
 * indentation levels, so no input can crash or hang it. Errors read "line N: what". */
#ifndef MDMLAB_PYEVAL_H
#define MDMLAB_PYEVAL_H

#include <stddef.h>

#include "base/util.h"

#define PYEVAL_MAX_SOURCE 65536
#define PYEVAL_MAX_TOKENS 10000
#define PYEVAL_MAX_DEPTH  100
#define PYEVAL_MAX_VARS   256

typedef struct PyValue {
    int is_float;
    long long i;
    double f;
} PyValue;

/* Runs the function defined in code[0..len) and stores what it returns in *out. */
int pyeval_run(const char *code, size_t len, PyValue *out, Err *err);

/* The value as a double (an int converts with round-to-nearest, as float(x) does). */
double pyeval_as_double(PyValue v);

/* 1 when v is within 1e-3 of reference (|v - reference| <= 1e-3): an answer counts as right
 * when it equals the reference up to float noise such as 0.1 * 3 == 0.30000000000000004, and
 * GSM8K answers are integers, so the tolerance never accepts a neighbouring answer. Non-finite
 * values never match. */
int pyeval_matches(PyValue v, double reference);

/* Python's repr of the value (ints in decimal, floats in the shortest form that reads back to the
 * same double, like 0.1 or 1e+22 -> "1e+22"; inf/nan as "inf"/"nan"). Returns buf. */
char *pyeval_format(PyValue v, char *buf, size_t n);

#endif
