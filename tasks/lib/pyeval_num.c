/* pyeval's numbers: CPython 3.11's int and float semantics (Objects/longobject.c,
 * Objects/floatobject.c, Python/bltinmodule.c) for int64 / double values, and repr(). */
#include "pyeval_num.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

PyValue py_int(long long i) {
    PyValue v = {0, i, 0.0};
    return v;
}

PyValue py_float(double f) {
    PyValue v = {1, 0, f};
    return v;
}

double pyeval_as_double(PyValue v) {
    return v.is_float ? v.f : (double)v.i;
}

int pyeval_matches(PyValue v, double reference) {
    double x = pyeval_as_double(v);
    return isfinite(x) && isfinite(reference) && fabs(x - reference) <= 1e-3;
}

/* Adds delta (+1 or -1) to the last of nd decimal digits; returns 0 when that leaves the
 * digit count (a carry out of 9...9 or a borrow into a leading 0 is not wanted). */
static int step_last_digit(char *d, int nd, int delta) {
    for (int i = nd - 1; i >= 0; i--) {
        if (delta > 0 && d[i] != '9') {
            d[i]++;
            return 1;
        }
        if (delta < 0 && d[i] != '0') {
            d[i]--;
            return d[0] != '0';
        }
        d[i] = delta > 0 ? '0' : '9';
    }
    return 0;
}

static double digits_value(const char *d, int nd, int exp10) {
    char text[48];
    snprintf(text, sizeof text, "%c.%.*se%d", d[0], nd - 1, d + 1, exp10);
    return strtod(text, NULL);
}

/* The shortest digit string d[0].d[1]... x 10^exp10 that reads back as x (finite, >= 0), as
 * Python's repr. The correctly rounded string of each length is tried first; next to a power of
 * two the rounding interval is lopsided, and then a neighbour one unit away may read back when
 * the nearest does not. Trailing zeros are dropped. */
static void shortest_digits(double x, char *digits, int *nd_out, int *exp_out) {
    char sci[40];
    int nd = 17, exp10 = 0;
    for (int prec = 0; prec <= 16; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec, x);
        nd = prec + 1;
        digits[0] = sci[0];
        memcpy(digits + 1, sci + 2, (size_t)prec);
        exp10 = atoi(strchr(sci, 'e') + 1);
        if (digits_value(digits, nd, exp10) == x) break;
        char up[24], down[24];
        memcpy(up, digits, (size_t)nd);
        memcpy(down, digits, (size_t)nd);
        if (step_last_digit(up, nd, 1) && digits_value(up, nd, exp10) == x) {
            memcpy(digits, up, (size_t)nd);
            break;
        }
        if (step_last_digit(down, nd, -1) && digits_value(down, nd, exp10) == x) {
            memcpy(digits, down, (size_t)nd);
            break;
        }
    }
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = '\0';
    *nd_out = nd;
    *exp_out = exp10;
}

/* float(repr) formatting: the shortest digits that read back, fixed notation for decimal
 * exponents -4..15 and scientific otherwise, as Python's float_repr. */
char *pyeval_format(PyValue v, char *buf, size_t n) {
    if (!v.is_float) {
        snprintf(buf, n, "%lld", v.i);
        return buf;
    }
    double x = v.f;
    if (isnan(x)) {
        snprintf(buf, n, "nan");
        return buf;
    }
    if (isinf(x)) {
        snprintf(buf, n, x < 0 ? "-inf" : "inf");
        return buf;
    }
    int neg = signbit(x) != 0, nd, exp10;
    char digits[24];
    shortest_digits(fabs(x), digits, &nd, &exp10);
    char out[64];
    size_t k = 0;
    if (neg) out[k++] = '-';
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            out[k++] = '0';
            out[k++] = '.';
            for (int i = 0; i < -exp10 - 1; i++) out[k++] = '0';
            for (int i = 0; i < nd; i++) out[k++] = digits[i];
        } else {
            for (int i = 0; i <= exp10; i++) out[k++] = i < nd ? digits[i] : '0';
            out[k++] = '.';
            if (nd > exp10 + 1)
                for (int i = exp10 + 1; i < nd; i++) out[k++] = digits[i];
            else
                out[k++] = '0';
        }
        out[k] = '\0';
    } else {
        out[k++] = digits[0];
        if (nd > 1) {
            out[k++] = '.';
            for (int i = 1; i < nd; i++) out[k++] = digits[i];
        }
        snprintf(out + k, sizeof out - k, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    }
    snprintf(buf, n, "%s", out);
    return buf;
}

static int bit_length(unsigned __int128 x) {
    int n = 0;
    while (x) {
        n++;
        x >>= 1;
    }
    return n;
}

/* a / b for ints, correctly rounded (round half to even) like CPython's long_true_divide:
 * a 55- or 56-bit quotient from 128-bit integer division plus a sticky bit, rounded to 53. */
static double int_true_divide(long long a, long long b) {
    const long long exact = 1LL << 53;
    if (a >= -exact && a <= exact && b >= -exact && b <= exact) return (double)a / (double)b;
    int negative = (a < 0) != (b < 0);
    if (a == 0) return negative ? -0.0 : 0.0; /* no quotient bits to round (found by fuzzing) */
    unsigned long long ua = a < 0 ? 0ULL - (unsigned long long)a : (unsigned long long)a;
    unsigned long long ub = b < 0 ? 0ULL - (unsigned long long)b : (unsigned long long)b;
    int shift = 55 - (bit_length(ua) - bit_length(ub)); /* quotient in [2^54, 2^56) */
    unsigned __int128 num = ua, den = ub;
    if (shift >= 0)
        num <<= shift;
    else
        den <<= -shift;
    unsigned __int128 q = num / den;
    int sticky = num % den != 0;
    int extra = bit_length(q) - 53; /* 2 or 3 bits below the 53 kept */
    unsigned __int128 low = q & (((unsigned __int128)1 << extra) - 1);
    unsigned __int128 half = (unsigned __int128)1 << (extra - 1);
    q >>= extra;
    if (low > half || (low == half && (sticky || (q & 1)))) q++;
    double r = ldexp((double)(unsigned long long)q, extra - shift);
    return negative ? -r : r;
}

static int double_is_odd_integer(double x) {
    return fmod(fabs(x), 2.0) == 1.0;
}

/* CPython's float_pow special cases, then libm pow. */
static int float_pow(double iv, double iw, double *out, const char **why) {
    int negate = 0;
    if (iw == 0) {
        *out = 1.0;
        return 0;
    }
    if (isnan(iv)) {
        *out = iv;
        return 0;
    }
    if (isnan(iw)) {
        *out = iv == 1.0 ? 1.0 : iw;
        return 0;
    }
    if (isinf(iw)) {
        iv = fabs(iv);
        if (iv == 1.0)
            *out = 1.0;
        else if ((iw > 0.0) == (iv > 1.0))
            *out = fabs(iw);
        else
            *out = 0.0;
        return 0;
    }
    if (isinf(iv)) {
        int odd = double_is_odd_integer(iw);
        if (iw > 0.0)
            *out = odd ? iv : fabs(iv);
        else
            *out = odd ? copysign(0.0, iv) : 0.0;
        return 0;
    }
    if (iv == 0.0) {
        if (iw < 0.0) {
            *why = "0.0 cannot be raised to a negative power";
            return -1;
        }
        *out = double_is_odd_integer(iw) ? iv : 0.0;
        return 0;
    }
    if (iv < 0.0) {
        if (iw != floor(iw)) {
            *why = "negative number raised to a fractional power (complex result)";
            return -1;
        }
        iv = -iv;
        negate = double_is_odd_integer(iw);
    }
    if (iv == 1.0) {
        *out = negate ? -1.0 : 1.0;
        return 0;
    }
    double r = pow(iv, iw);
    if (isinf(r)) {
        *why = "float power overflow (numerical result out of range)";
        return -1;
    }
    *out = negate ? -r : r;
    return 0;
}

/* CPython's float_divmod (floor division and modulo for floats); wx != 0. */
static void float_divmod(double vx, double wx, double *floordiv, double *mod) {
    double m = fmod(vx, wx);
    double div = (vx - m) / wx;
    if (m) {
        if ((wx < 0) != (m < 0)) {
            m += wx;
            div -= 1.0;
        }
    } else {
        m = copysign(0.0, wx);
    }
    if (div) {
        double fd = floor(div);
        if (div - fd > 0.5) fd += 1.0;
        div = fd;
    } else {
        div = copysign(0.0, vx / wx);
    }
    *floordiv = div;
    *mod = m;
}

static int int_pow(long long base, long long e, long long *out) {
    long long r = 1;
    while (e > 0) {
        if ((e & 1) && __builtin_mul_overflow(r, base, &r)) return -1;
        e >>= 1;
        if (e > 0 && __builtin_mul_overflow(base, base, &base)) return -1;
    }
    *out = r;
    return 0;
}

/* a OP b with Python semantics. On failure *why says what went wrong. */
int py_binary(PyArith op, PyValue a, PyValue b, PyValue *out, const char **why) {
    static const char *range = "integer out of range (beyond 64 bits)";
    if (!a.is_float && !b.is_float) {
        long long x = a.i, y = b.i, r;
        switch (op) {
        case PY_ADD:
            if (__builtin_add_overflow(x, y, &r)) break;
            *out = py_int(r);
            return 0;
        case PY_SUB:
            if (__builtin_sub_overflow(x, y, &r)) break;
            *out = py_int(r);
            return 0;
        case PY_MUL:
            if (__builtin_mul_overflow(x, y, &r)) break;
            *out = py_int(r);
            return 0;
        case PY_DIV:
            if (y == 0) {
                *why = "division by zero";
                return -1;
            }
            *out = py_float(int_true_divide(x, y));
            return 0;
        case PY_FLOORDIV:
        case PY_MOD:
            if (y == 0) {
                *why = "integer division or modulo by zero";
                return -1;
            }
            if (y == -1) { /* LLONG_MIN / -1 is undefined in C */
                if (op == PY_MOD) {
                    *out = py_int(0);
                    return 0;
                }
                if (x == LLONG_MIN) break;
                *out = py_int(-x);
                return 0;
            }
            r = op == PY_FLOORDIV ? x / y : x % y;
            if (x % y != 0 && ((x < 0) != (y < 0))) {
                if (op == PY_FLOORDIV)
                    r -= 1;
                else
                    r += y;
            }
            *out = py_int(r);
            return 0;
        case PY_POW:
            if (y < 0) break; /* float result, below */
            if (int_pow(x, y, &r) != 0) {
                *why = range;
                return -1;
            }
            *out = py_int(r);
            return 0;
        default:
            *why = "unsupported operator";
            return -1;
        }
        if (op != PY_POW) {
            *why = range;
            return -1;
        }
    }
    double x = pyeval_as_double(a), y = pyeval_as_double(b), r, m;
    switch (op) {
    case PY_ADD:
        r = x + y;
        break;
    case PY_SUB:
        r = x - y;
        break;
    case PY_MUL:
        r = x * y;
        break;
    case PY_DIV:
        if (y == 0) {
            *why = "float division by zero";
            return -1;
        }
        r = x / y;
        break;
    case PY_FLOORDIV:
    case PY_MOD:
        if (y == 0) {
            *why = op == PY_FLOORDIV ? "float floor division by zero" : "float modulo";
            return -1;
        }
        float_divmod(x, y, &r, &m);
        if (op == PY_MOD) r = m;
        break;
    case PY_POW:
        if (float_pow(x, y, &r, why) != 0) return -1;
        break;
    default:
        *why = "unsupported operator";
        return -1;
    }
    *out = py_float(r);
    return 0;
}

/* Exact comparison, also between an int and a float: -1, 0, 1, or 2 when unordered (NaN). */
int py_compare(PyValue a, PyValue b) {
    if (!a.is_float && !b.is_float) return (a.i > b.i) - (a.i < b.i);
    if (a.is_float && b.is_float) {
        if (isnan(a.f) || isnan(b.f)) return 2;
        return (a.f > b.f) - (a.f < b.f);
    }
    int flip = a.is_float; /* compare int i with float f, then flip the sign if swapped */
    long long i = flip ? b.i : a.i;
    double f = flip ? a.f : b.f;
    int c;
    if (isnan(f)) return 2;
    if (f >= 9223372036854775808.0) {
        c = -1;
    } else if (f < -9223372036854775808.0) {
        c = 1;
    } else {
        double t = trunc(f);
        long long ti = (long long)t;
        if (i != ti)
            c = i < ti ? -1 : 1;
        else
            c = f > t ? -1 : f < t ? 1 : 0;
    }
    return flip ? -c : c;
}

/* float -> int for int() and round(): the value must be finite and inside int64. */
static int float_to_int(double x, long long *out, const char **why) {
    if (isnan(x)) {
        *why = "cannot convert float NaN to integer";
        return -1;
    }
    if (isinf(x)) {
        *why = "cannot convert float infinity to integer";
        return -1;
    }
    if (x >= 9223372036854775808.0 || x < -9223372036854775808.0) {
        *why = "integer out of range (beyond 64 bits)";
        return -1;
    }
    *out = (long long)x;
    return 0;
}

/* round(x) for a float: half to even, as float___round___impl without ndigits. */
static int float_round_to_int(double x, long long *out, const char **why) {
    double r = round(x);
    if (fabs(x - r) == 0.5) r = 2.0 * round(x / 2.0);
    return float_to_int(r, out, why);
}

/* round(x, nd) for an int: half to even at 10^-nd (nd < 0), as _PyLong_DivmodNear. */
static int int_round(long long x, long long nd, long long *out, const char **why) {
    if (nd >= 0) {
        *out = x;
        return 0;
    }
    if (nd < -19) { /* |x| < 9.3e18 is under half of 10^20: rounds to 0 */
        *out = 0;
        return 0;
    }
    __int128 p = 1;
    for (long long k = 0; k < -nd; k++) p *= 10;
    __int128 q = x / p, r = x % p;
    if (r < 0) { /* floor division */
        q -= 1;
        r += p;
    }
    if (2 * r > p || (2 * r == p && (q & 1))) q += 1;
    __int128 v = q * p;
    if (v > LLONG_MAX || v < LLONG_MIN) {
        *why = "integer out of range (beyond 64 bits)";
        return -1;
    }
    *out = (long long)v;
    return 0;
}

/* round(x, nd) for a float: the exact decimal value of x rounded half to even at 10^-nd and read
 * back, as CPython's double_round (dtoa mode 3). glibc's printf prints the exact expansion of a
 * double (at most 767 significant digits), so the rounding is done on that string. */
static int float_round_ndigits(double x, long long nd, double *out, const char **why) {
    enum { SIG = 767 };
    if (!isfinite(x) || nd > 323) {
        *out = x;
        return 0;
    }
    if (nd < -308) {
        *out = 0.0 * x;
        return 0;
    }
    char text[SIG + 40];
    snprintf(text, sizeof text, "%.*e", SIG - 1, fabs(x));
    char digits[SIG + 2];
    digits[0] = text[0];
    memcpy(digits + 1, text + 2, SIG - 1);
    int exp10 = atoi(text + SIG + 2); /* after "d." + SIG-1 digits + 'e' */
    /* value = 0.digits * 10^(exp10 + 1); keep the digits before the 10^-nd place */
    long long keep = exp10 + 1 + nd;
    if (keep >= SIG) {
        *out = x;
        return 0;
    }
    char num[SIG + 16];
    size_t k = 0;
    if (signbit(x)) num[k++] = '-';
    if (keep < 0) {
        num[k++] = '0';
    } else {
        int rest_nonzero = 0;
        for (long long i = keep + 1; i < SIG; i++) rest_nonzero |= digits[i] != '0';
        char rd = digits[keep];
        int last_odd = keep > 0 && ((digits[keep - 1] - '0') & 1);
        int up = rd > '5' || (rd == '5' && (rest_nonzero || last_odd));
        char kept[SIG + 2];
        memcpy(kept + 1, digits, (size_t)keep);
        kept[0] = '0';
        for (long long i = keep; up && i >= 0; i--) { /* add one ulp at the last kept digit */
            if (kept[i] == '9') {
                kept[i] = '0';
            } else {
                kept[i]++;
                up = 0;
            }
        }
        memcpy(num + k, kept, (size_t)keep + 1);
        k += (size_t)keep + 1;
    }
    snprintf(num + k, sizeof num - k, "e%lld", keep < 0 ? 0 : (long long)exp10 + 1 - keep);
    double r = strtod(num, NULL);
    if (isinf(r)) {
        *why = "rounded value too large to represent";
        return -1;
    }
    *out = r;
    return 0;
}

int py_negate(PyValue *v, const char **why) {
    if (v->is_float) {
        v->f = -v->f;
    } else if (v->i == LLONG_MIN) {
        *why = "integer out of range (beyond 64 bits)";
        return -1;
    } else {
        v->i = -v->i;
    }
    return 0;
}

int py_builtin_int(PyValue x, PyValue *out, const char **why) {
    long long i = x.i;
    if (x.is_float && float_to_int(trunc(x.f), &i, why) != 0) return -1;
    *out = py_int(i);
    return 0;
}

PyValue py_builtin_float(PyValue x) {
    return py_float(pyeval_as_double(x));
}

int py_builtin_abs(PyValue x, PyValue *out, const char **why) {
    if (x.is_float)
        x.f = fabs(x.f);
    else if (x.i < 0 && py_negate(&x, why) != 0)
        return -1;
    *out = x;
    return 0;
}

int py_builtin_round(PyValue x, PyValue *out, const char **why) {
    long long i = x.i;
    if (x.is_float && float_round_to_int(x.f, &i, why) != 0) return -1;
    *out = py_int(i);
    return 0;
}

int py_builtin_round_ndigits(PyValue x, PyValue ndigits, PyValue *out, const char **why) {
    if (ndigits.is_float) {
        *why = "'float' object cannot be interpreted as an integer";
        return -1;
    }
    if (x.is_float) {
        double r;
        if (float_round_ndigits(x.f, ndigits.i, &r, why) != 0) return -1;
        *out = py_float(r);
        return 0;
    }
    long long r;
    if (int_round(x.i, ndigits.i, &r, why) != 0) return -1;
    *out = py_int(r);
    return 0;
}
