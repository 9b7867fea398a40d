/* pyeval's numbers (internal to the evaluator): CPython 3.11 semantics for int64 and double
 * values. Each fallible function returns -1 and points *why at a message. */
#ifndef MDMLAB_PYEVAL_NUM_H
#define MDMLAB_PYEVAL_NUM_H

#include "pyeval.h"

typedef enum PyArith { PY_ADD, PY_SUB, PY_MUL, PY_DIV, PY_FLOORDIV, PY_MOD, PY_POW } PyArith;

PyValue py_int(long long i);
PyValue py_float(double f);
/* a OP b: an int result outside int64 is an error; `/` is true division */
int py_binary(PyArith op, PyValue a, PyValue b, PyValue *out, const char **why);
int py_negate(PyValue *v, const char **why);
/* exact comparison, also int against float: -1, 0, 1, or 2 when unordered (NaN) */
int py_compare(PyValue a, PyValue b);
/* the builtins int(x), float(x), abs(x), round(x), round(x, ndigits) */
int py_builtin_int(PyValue x, PyValue *out, const char **why);
PyValue py_builtin_float(PyValue x);
int py_builtin_abs(PyValue x, PyValue *out, const char **why);
int py_builtin_round(PyValue x, PyValue *out, const char **why);
int py_builtin_round_ndigits(PyValue x, PyValue ndigits, PyValue *out, const char **why);

#endif
