/* Restricted Python evaluator: a Python-style tokenizer (INDENT/DEDENT, implicit line joining
 * in brackets, backslash continuation) feeding a recursive-descent parser that evaluates as it
 * parses. The source is parsed twice: pass 1 only checks syntax and collects the names the
 * function assigns (its locals, as Python's compiler decides them), pass 2 runs it.
 * Numeric semantics follow CPython 3.11 (Objects/longobject.c, Objects/floatobject.c). */
#include "pyeval.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NUMBER_CHARS  400
#define MAX_INDENT_LEVELS 100

/* ---- values and arithmetic -------------------------------------------------------------- */

static PyValue int_value(long long i) {
    PyValue v = {0, i, 0.0};
    return v;
}

static PyValue float_value(double f) {
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

typedef enum Op {
    OP_NONE,
    OP_PLUS,
    OP_MINUS,
    OP_STAR,
    OP_SLASH,
    OP_DSLASH,
    OP_PERCENT,
    OP_POW,
    /* augmented assignments, in the order of the operators above */
    OP_AUG_PLUS,
    OP_AUG_MINUS,
    OP_AUG_STAR,
    OP_AUG_SLASH,
    OP_AUG_DSLASH,
    OP_AUG_PERCENT,
    OP_AUG_POW,
    OP_LPAR,
    OP_RPAR,
    OP_LBRACK,
    OP_RBRACK,
    OP_COMMA,
    OP_COLON,
    OP_SEMI,
    OP_ARROW,
    OP_ASSIGN
} Op;

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
static int binary_op(Op op, PyValue a, PyValue b, PyValue *out, const char **why) {
    static const char *range = "integer out of range (beyond 64 bits)";
    if (!a.is_float && !b.is_float) {
        long long x = a.i, y = b.i, r;
        switch (op) {
        case OP_PLUS:
            if (__builtin_add_overflow(x, y, &r)) break;
            *out = int_value(r);
            return 0;
        case OP_MINUS:
            if (__builtin_sub_overflow(x, y, &r)) break;
            *out = int_value(r);
            return 0;
        case OP_STAR:
            if (__builtin_mul_overflow(x, y, &r)) break;
            *out = int_value(r);
            return 0;
        case OP_SLASH:
            if (y == 0) {
                *why = "division by zero";
                return -1;
            }
            *out = float_value(int_true_divide(x, y));
            return 0;
        case OP_DSLASH:
        case OP_PERCENT:
            if (y == 0) {
                *why = "integer division or modulo by zero";
                return -1;
            }
            if (y == -1) { /* LLONG_MIN / -1 is undefined in C */
                if (op == OP_PERCENT) {
                    *out = int_value(0);
                    return 0;
                }
                if (x == LLONG_MIN) break;
                *out = int_value(-x);
                return 0;
            }
            r = op == OP_DSLASH ? x / y : x % y;
            if (x % y != 0 && ((x < 0) != (y < 0))) {
                if (op == OP_DSLASH)
                    r -= 1;
                else
                    r += y;
            }
            *out = int_value(r);
            return 0;
        case OP_POW:
            if (y < 0) break; /* float result, below */
            if (int_pow(x, y, &r) != 0) {
                *why = range;
                return -1;
            }
            *out = int_value(r);
            return 0;
        default:
            *why = "unsupported operator";
            return -1;
        }
        if (op != OP_POW) {
            *why = range;
            return -1;
        }
    }
    double x = pyeval_as_double(a), y = pyeval_as_double(b), r, m;
    switch (op) {
    case OP_PLUS:
        r = x + y;
        break;
    case OP_MINUS:
        r = x - y;
        break;
    case OP_STAR:
        r = x * y;
        break;
    case OP_SLASH:
        if (y == 0) {
            *why = "float division by zero";
            return -1;
        }
        r = x / y;
        break;
    case OP_DSLASH:
    case OP_PERCENT:
        if (y == 0) {
            *why = op == OP_DSLASH ? "float floor division by zero" : "float modulo";
            return -1;
        }
        float_divmod(x, y, &r, &m);
        if (op == OP_PERCENT) r = m;
        break;
    case OP_POW:
        if (float_pow(x, y, &r, why) != 0) return -1;
        break;
    default:
        *why = "unsupported operator";
        return -1;
    }
    *out = float_value(r);
    return 0;
}

/* Exact comparison, also between an int and a float: -1, 0, 1, or 2 when unordered (NaN). */
static int compare_values(PyValue a, PyValue b) {
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

/* ---- tokenizer -------------------------------------------------------------------------- */

typedef enum TokType {
    T_ERROR,
    T_END,
    T_NEWLINE,
    T_INDENT,
    T_DEDENT,
    T_NAME,
    T_INT,
    T_FLOAT,
    T_STRING,
    T_OP
} TokType;

typedef struct Token {
    TokType type;
    Op op;
    const char *s;
    size_t len;
    int line;
    PyValue num;
} Token;

typedef struct Lexer {
    const char *src;
    size_t n, pos;
    int line;
    int at_line_start, line_has_tokens, paren;
    int indents[MAX_INDENT_LEVELS], alt_indents[MAX_INDENT_LEVELS], n_indents;
    int pending_dedents;
    long tokens;
    int failed;
    Err *err;
} Lexer;

static void lexer_init(Lexer *L, const char *src, size_t n, Err *err) {
    memset(L, 0, sizeof *L);
    L->src = src;
    L->n = n;
    L->line = 1;
    L->at_line_start = 1;
    L->n_indents = 1;
    L->err = err;
}

static Token lex_fail(Lexer *L, const char *what) {
    Token t = {0};
    t.type = T_ERROR;
    if (!L->failed) err_set(L->err, "line %d: %s", L->line, what);
    L->failed = 1;
    return t;
}

static int is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* Consumes a newline (\n, \r\n or \r) at L->pos. */
static void skip_newline(Lexer *L) {
    if (L->src[L->pos] == '\r' && L->pos + 1 < L->n && L->src[L->pos + 1] == '\n') L->pos++;
    L->pos++;
    L->line++;
}

static int is_newline(char c) {
    return c == '\n' || c == '\r';
}

/* Python's digitpart: digits with single underscores between them, copied without them. */
static int lex_digitpart(Lexer *L, char *buf, size_t *k) {
    const char *s = L->src;
    if (L->pos >= L->n || !is_digit(s[L->pos])) return -1;
    for (;;) {
        if (*k >= MAX_NUMBER_CHARS) return -2;
        buf[(*k)++] = s[L->pos++];
        if (L->pos < L->n && is_digit(s[L->pos])) continue;
        if (L->pos + 1 < L->n && s[L->pos] == '_' && is_digit(s[L->pos + 1])) {
            L->pos++;
            continue;
        }
        return 0;
    }
}

static Token lex_number(Lexer *L, Token t) {
    const char *s = L->src;
    char buf[MAX_NUMBER_CHARS + 8];
    size_t k = 0;
    int is_float = 0, rc = 0;
    if (s[L->pos] == '0' && L->pos + 1 < L->n && strchr("xXoObB", s[L->pos + 1]))
        return lex_fail(L, "hexadecimal, octal and binary literals are outside the subset");
    if (s[L->pos] != '.') rc = lex_digitpart(L, buf, &k);
    if (rc == 0 && L->pos < L->n && s[L->pos] == '.') {
        is_float = 1;
        buf[k++] = s[L->pos++];
        if (L->pos < L->n && is_digit(s[L->pos])) rc = lex_digitpart(L, buf, &k);
    }
    if (rc == 0 && L->pos < L->n && (s[L->pos] == 'e' || s[L->pos] == 'E')) {
        size_t save = L->pos;
        L->pos++;
        char sign = 0;
        if (L->pos < L->n && (s[L->pos] == '+' || s[L->pos] == '-')) sign = s[L->pos++];
        if (L->pos < L->n && is_digit(s[L->pos])) {
            is_float = 1;
            buf[k++] = 'e';
            if (sign) buf[k++] = sign;
            rc = lex_digitpart(L, buf, &k);
        } else {
            L->pos = save; /* "1e" is "1" then a name: an invalid literal, caught below */
        }
    }
    if (rc == -2) return lex_fail(L, "numeric literal too long");
    if (L->pos < L->n && (is_name_start(s[L->pos]) || is_digit(s[L->pos]))) {
        if (s[L->pos] == 'j' || s[L->pos] == 'J')
            return lex_fail(L, "complex literals are outside the subset");
        return lex_fail(L, "invalid decimal literal");
    }
    buf[k] = '\0';
    t.len = (size_t)(s + L->pos - t.s);
    if (is_float) {
        t.type = T_FLOAT;
        t.num = float_value(strtod(buf, NULL));
        return t;
    }
    /* ints: no leading zeros unless the whole literal is zero */
    if (buf[0] == '0' && k > 1 && buf[strspn(buf, "0")] != '\0')
        return lex_fail(L, "leading zeros in decimal integer literals are not permitted");
    long long v = 0;
    for (size_t i = 0; i < k; i++)
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, buf[i] - '0', &v))
            return lex_fail(L, "integer literal out of range (beyond 64 bits)");
    t.type = T_INT;
    t.num = int_value(v);
    return t;
}

static int hex_digits(const char *s, size_t avail, int count) {
    if (avail < (size_t)count) return 0;
    for (int i = 0; i < count; i++)
        if (!strchr("0123456789abcdefABCDEF", s[i]) || s[i] == '\0') return 0;
    return 1;
}

/* A string literal at L->pos (on its first quote); only statements made of strings use them
 * (docstrings), so only the extent and the escapes' validity matter, not the value. */
static Token lex_string(Lexer *L, Token t, int raw, int bytes) {
    const char *s = L->src;
    char q = s[L->pos];
    int triple = L->pos + 2 < L->n && s[L->pos + 1] == q && s[L->pos + 2] == q;
    int start_line = L->line;
    L->pos += triple ? 3 : 1;
    for (;;) {
        if (L->pos >= L->n) {
            L->line = start_line;
            return lex_fail(L, triple ? "unterminated triple-quoted string literal"
                                      : "unterminated string literal");
        }
        char c = s[L->pos];
        if (c == q) {
            if (!triple) {
                L->pos++;
                break;
            }
            if (L->pos + 2 < L->n && s[L->pos + 1] == q && s[L->pos + 2] == q) {
                L->pos += 3;
                break;
            }
            L->pos++;
        } else if (c == '\\') {
            L->pos++;
            if (L->pos >= L->n) continue; /* reported as unterminated */
            char e = s[L->pos];
            size_t avail = L->n - L->pos - 1;
            if (is_newline(e)) {
                skip_newline(L);
                continue;
            }
            if (!raw && ((e == 'x' && !hex_digits(s + L->pos + 1, avail, 2)) ||
                         (!bytes && e == 'u' && !hex_digits(s + L->pos + 1, avail, 4)) ||
                         (!bytes && e == 'U' && !hex_digits(s + L->pos + 1, avail, 8))))
                return lex_fail(L, "truncated \\x, \\u or \\U escape in string literal");
            L->pos++;
        } else if (is_newline(c)) {
            if (!triple) return lex_fail(L, "unterminated string literal");
            skip_newline(L);
        } else {
            L->pos++;
        }
    }
    t.type = T_STRING;
    t.len = (size_t)(s + L->pos - t.s);
    return t;
}

static Token lex_operator(Lexer *L, Token t) {
    static const struct {
        const char *text;
        Op op;
    } ops[] = {
        {"**=", OP_AUG_POW},  {"//=", OP_AUG_DSLASH}, {"**", OP_POW},       {"//", OP_DSLASH},
        {"->", OP_ARROW},     {"+=", OP_AUG_PLUS},    {"-=", OP_AUG_MINUS}, {"*=", OP_AUG_STAR},
        {"/=", OP_AUG_SLASH}, {"%=", OP_AUG_PERCENT}, {"+", OP_PLUS},       {"-", OP_MINUS},
        {"*", OP_STAR},       {"/", OP_SLASH},        {"%", OP_PERCENT},    {"(", OP_LPAR},
        {")", OP_RPAR},       {"[", OP_LBRACK},       {"]", OP_RBRACK},     {",", OP_COMMA},
        {":", OP_COLON},      {";", OP_SEMI},         {"=", OP_ASSIGN},
    };
    const char *s = L->src + L->pos;
    size_t avail = L->n - L->pos;
    if (avail >= 2 && (memcmp(s, "==", 2) == 0 || memcmp(s, ":=", 2) == 0))
        return lex_fail(L, "comparisons and ':=' are outside the subset");
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t k = strlen(ops[i].text);
        if (avail >= k && memcmp(s, ops[i].text, k) == 0) {
            L->pos += k;
            t.type = T_OP;
            t.op = ops[i].op;
            t.len = k;
            if (t.op == OP_LPAR || t.op == OP_LBRACK) L->paren++;
            if ((t.op == OP_RPAR || t.op == OP_RBRACK) && L->paren > 0) L->paren--;
            return t;
        }
    }
    char msg[80];
    unsigned char c = (unsigned char)*s;
    if (c == '.')
        snprintf(msg, sizeof msg, "attribute access ('.') is outside the subset");
    else if (c > 0x20 && c < 0x7F)
        snprintf(msg, sizeof msg, "character '%c' is outside the subset", c);
    else
        snprintf(msg, sizeof msg, "unexpected byte 0x%02x", c);
    return lex_fail(L, msg);
}

/* Indentation at the start of a logical line: INDENT, DEDENT(s), or nothing. Blank and
 * comment-only lines are skipped. Columns use tab stops of 8, and as Python (TabError) the
 * comparison must agree with tab stops of 1. Returns T_NEWLINE for "no indentation token". */
static Token lex_line_start(Lexer *L) {
    Token t = {0};
    const char *s = L->src;
    for (;;) {
        int col = 0, alt = 0;
        while (L->pos < L->n) {
            char c = s[L->pos];
            if (c == ' ') {
                col++;
                alt++;
            } else if (c == '\t') {
                col = (col / 8 + 1) * 8;
                alt++;
            } else if (c == '\f') {
                col = alt = 0;
            } else {
                break;
            }
            L->pos++;
        }
        if (L->pos < L->n && s[L->pos] == '#')
            while (L->pos < L->n && !is_newline(s[L->pos])) L->pos++;
        if (L->pos < L->n && is_newline(s[L->pos])) {
            skip_newline(L);
            continue;
        }
        L->at_line_start = 0;
        t.line = L->line;
        if (L->pos >= L->n) break;
        int top = L->indents[L->n_indents - 1], alt_top = L->alt_indents[L->n_indents - 1];
        if (col > top) {
            if (alt <= alt_top) return lex_fail(L, "inconsistent use of tabs and spaces");
            if (L->n_indents == MAX_INDENT_LEVELS)
                return lex_fail(L, "too many indentation levels");
            L->indents[L->n_indents] = col;
            L->alt_indents[L->n_indents++] = alt;
            t.type = T_INDENT;
            return t;
        }
        if (col < top) {
            int dedents = 0;
            while (L->n_indents > 1 && col < L->indents[L->n_indents - 1]) {
                L->n_indents--;
                dedents++;
            }
            if (col != L->indents[L->n_indents - 1])
                return lex_fail(L, "unindent does not match any outer indentation level");
            top = col;
            alt_top = L->alt_indents[L->n_indents - 1];
            L->pending_dedents = dedents;
        }
        if (alt != alt_top) return lex_fail(L, "inconsistent use of tabs and spaces");
        break;
    }
    t.type = T_NEWLINE;
    return t;
}

static Token lex_next(Lexer *L) {
    Token t = {0};
    const char *s = L->src;
    if (L->failed) {
        t.type = T_ERROR;
        return t;
    }
    if (++L->tokens > PYEVAL_MAX_TOKENS) return lex_fail(L, "program too long (over 10000 tokens)");
    for (;;) {
        if (L->pending_dedents > 0) {
            L->pending_dedents--;
            t.type = T_DEDENT;
            t.line = L->line;
            return t;
        }
        if (L->at_line_start && L->paren == 0) {
            Token ind = lex_line_start(L);
            if (ind.type != T_NEWLINE) return ind;
            continue; /* dedents may be pending */
        }
        while (L->pos < L->n && (s[L->pos] == ' ' || s[L->pos] == '\t' || s[L->pos] == '\f'))
            L->pos++;
        t.line = L->line;
        if (L->pos >= L->n) { /* end: NEWLINE, the DEDENTs back to column 0, then END */
            if (L->line_has_tokens) {
                L->line_has_tokens = 0;
                t.type = T_NEWLINE;
            } else if (L->n_indents > 1) {
                L->n_indents--;
                t.type = T_DEDENT;
            } else {
                t.type = T_END;
            }
            return t;
        }
        char c = s[L->pos];
        if (c == '#') {
            while (L->pos < L->n && !is_newline(s[L->pos])) L->pos++;
            continue;
        }
        if (c == '\\') {
            L->pos++;
            if (L->pos >= L->n || !is_newline(s[L->pos]))
                return lex_fail(L, "unexpected character after line continuation character");
            skip_newline(L);
            continue;
        }
        if (is_newline(c)) {
            skip_newline(L);
            if (L->paren > 0) continue; /* implicit line joining inside brackets */
            L->at_line_start = 1;
            if (!L->line_has_tokens) continue;
            L->line_has_tokens = 0;
            t.type = T_NEWLINE;
            return t;
        }
        break;
    }
    L->line_has_tokens = 1;
    t.s = s + L->pos;
    char c = s[L->pos];
    if (is_digit(c) || (c == '.' && L->pos + 1 < L->n && is_digit(s[L->pos + 1])))
        return lex_number(L, t);
    if (c == '"' || c == '\'') return lex_string(L, t, 0, 0);
    if (is_name_start(c)) {
        size_t start = L->pos;
        while (L->pos < L->n && (is_name_start(s[L->pos]) || is_digit(s[L->pos]))) L->pos++;
        size_t k = L->pos - start;
        if (L->pos < L->n && (s[L->pos] == '"' || s[L->pos] == '\'') && k <= 2) {
            char prefix[3] = {(char)(s[start] | 0x20), k == 2 ? (char)(s[start + 1] | 0x20) : 0, 0};
            if (strcmp(prefix, "f") == 0 || strcmp(prefix, "fr") == 0 || strcmp(prefix, "rf") == 0)
                return lex_fail(L, "f-strings are outside the subset");
            if (strcmp(prefix, "r") == 0 || strcmp(prefix, "u") == 0 || strcmp(prefix, "b") == 0 ||
                strcmp(prefix, "rb") == 0 || strcmp(prefix, "br") == 0)
                return lex_string(L, t, strchr(prefix, 'r') != NULL, strchr(prefix, 'b') != NULL);
        }
        t.type = T_NAME;
        t.len = k;
        return t;
    }
    if ((unsigned char)c >= 0x80)
        return lex_fail(L, "non-ASCII character outside strings and comments");
    return lex_operator(L, t);
}

/* ---- parser and evaluator --------------------------------------------------------------- */

typedef struct Var {
    const char *name;
    size_t len;
    int assigned;
    PyValue value;
} Var;

typedef struct Eval {
    Lexer lx;
    Token la[2]; /* lookahead */
    int n_la;
    int run; /* pass 2: evaluate; pass 1 only parses and collects locals */
    int returned;
    PyValue result;
    Var vars[PYEVAL_MAX_VARS];
    int n_vars;
    int depth;
    Err *err;
} Eval;

static const Token *peek(Eval *E, int k) {
    while (E->n_la <= k) E->la[E->n_la++] = lex_next(&E->lx);
    return &E->la[k];
}

static Token take(Eval *E) {
    peek(E, 0);
    Token t = E->la[0];
    E->la[0] = E->la[1];
    E->n_la--;
    return t;
}

/* Reports an error at token t, unless the lexer already did (T_ERROR). */
static int fail_tok(Eval *E, const Token *t, const char *fmt, const char *arg) {
    if (t->type == T_ERROR || E->lx.failed) return -1;
    char what[256];
    snprintf(what, sizeof what, fmt, arg);
    E->lx.failed = 1;
    return err_set(E->err, "line %d: %s", t->line, what);
}

static int is_op(const Token *t, Op op) {
    return t->type == T_OP && t->op == op;
}

static int name_is(const Token *t, const char *word) {
    return t->type == T_NAME && t->len == strlen(word) && memcmp(t->s, word, t->len) == 0;
}

static const char *const python_keywords[] = {
    "False", "None",     "True",  "and",    "as",   "assert", "async",  "await",    "break",
    "class", "continue", "def",   "del",    "elif", "else",   "except", "finally",  "for",
    "from",  "global",   "if",    "import", "in",   "is",     "lambda", "nonlocal", "not",
    "or",    "pass",     "raise", "return", "try",  "while",  "with",   "yield"};

static int is_keyword(const Token *t) {
    for (size_t i = 0; i < sizeof python_keywords / sizeof python_keywords[0]; i++)
        if (name_is(t, python_keywords[i])) return 1;
    return 0;
}

/* What a token is, for messages: its text (cut short) or its kind. */
static const char *describe(const Token *t, char *buf, size_t n) {
    switch (t->type) {
    case T_END:
        return "end of input";
    case T_NEWLINE:
        return "end of line";
    case T_INDENT:
        return "indent";
    case T_DEDENT:
        return "dedent";
    case T_STRING:
        return "a string";
    default:
        snprintf(buf, n, "'%.*s'", (int)(t->len < 40 ? t->len : 40), t->s);
        return buf;
    }
}

static int fail_unexpected(Eval *E, const Token *t, const char *expected) {
    char buf[64], what[160];
    if (t->type == T_ERROR || E->lx.failed) return -1;
    if (t->type == T_NAME && is_keyword(t)) {
        snprintf(what, sizeof what, "'%.*s' is outside the supported subset", (int)t->len, t->s);
        return fail_tok(E, t, "%s", what);
    }
    snprintf(what, sizeof what, "expected %s, got %s", expected, describe(t, buf, sizeof buf));
    return fail_tok(E, t, "%s", what);
}

static int expect_op(Eval *E, Op op, const char *text) {
    const Token *t = peek(E, 0);
    if (!is_op(t, op)) {
        char expected[16];
        snprintf(expected, sizeof expected, "'%s'", text);
        return fail_unexpected(E, t, expected);
    }
    take(E);
    return 0;
}

static Var *find_var(Eval *E, const Token *name) {
    for (int i = 0; i < E->n_vars; i++)
        if (E->vars[i].len == name->len && memcmp(E->vars[i].name, name->s, name->len) == 0)
            return &E->vars[i];
    return NULL;
}

static int fail_runtime(Eval *E, int line, const char *why) {
    E->lx.failed = 1;
    return err_set(E->err, "line %d: %s", line, why);
}

typedef enum Builtin { B_NONE, B_ROUND, B_INT, B_FLOAT, B_ABS, B_MIN, B_MAX, B_SUM } Builtin;

static Builtin builtin_of(const Token *t) {
    static const char *const names[] = {"", "round", "int", "float", "abs", "min", "max", "sum"};
    for (int b = B_ROUND; b <= B_SUM; b++)
        if (name_is(t, names[b])) return (Builtin)b;
    return B_NONE;
}

static int parse_expr(Eval *E, PyValue *v);

static int enter(Eval *E, const Token *t) {
    if (++E->depth > PYEVAL_MAX_DEPTH) return fail_tok(E, t, "%s", "expression nested too deeply");
    return 0;
}

/* The arguments of a call, folded into what the builtin needs as they are parsed. */
typedef struct CallArgs {
    int n_scalars, n_lists, list_len;
    PyValue first, second; /* the first two scalar arguments */
    PyValue best;          /* min/max so far */
    int have_best;
    PyValue sum;
} CallArgs;

static int fold_item(Eval *E, Builtin b, CallArgs *a, PyValue v, int line) {
    if (b == B_MIN || b == B_MAX) {
        int c = a->have_best ? compare_values(v, a->best) : 0;
        if (!a->have_best || (b == B_MIN ? c == -1 : c == 1)) a->best = v;
        a->have_best = 1;
    } else if (b == B_SUM) {
        const char *why = "";
        if (binary_op(OP_PLUS, a->sum, v, &a->sum, &why) != 0) return fail_runtime(E, line, why);
    }
    return 0;
}

/* '[' item, ... ']' as a call argument. */
static int parse_list_arg(Eval *E, Builtin b, CallArgs *a) {
    take(E); /* '[' */
    a->n_lists++;
    while (!is_op(peek(E, 0), OP_RBRACK)) {
        int line = peek(E, 0)->line;
        PyValue v;
        if (parse_expr(E, &v) != 0) return -1;
        a->list_len++;
        if (E->run && !E->returned && fold_item(E, b, a, v, line) != 0) return -1;
        if (is_op(peek(E, 0), OP_COMMA))
            take(E);
        else if (!is_op(peek(E, 0), OP_RBRACK))
            return fail_unexpected(E, peek(E, 0), "',' or ']'");
    }
    take(E);
    return 0;
}

static int call_builtin(Eval *E, const Token *name, Builtin b, const CallArgs *a, PyValue *v) {
    const char *why = NULL;
    int line = name->line, n = a->n_scalars + a->n_lists;
    char msg[160];
    if (a->n_lists && (b != B_MIN && b != B_MAX && b != B_SUM)) {
        snprintf(msg, sizeof msg, "%.*s() of a list is outside the subset", (int)name->len,
                 name->s);
        return fail_runtime(E, line, msg);
    }
    switch (b) {
    case B_INT:
    case B_FLOAT:
    case B_ABS:
        if (n != 1) {
            snprintf(msg, sizeof msg, "%.*s() takes exactly one argument (%d given)",
                     (int)name->len, name->s, n);
            return fail_runtime(E, line, msg);
        }
        if (b == B_FLOAT) {
            *v = float_value(pyeval_as_double(a->first));
        } else if (b == B_ABS) {
            if (a->first.is_float)
                *v = float_value(fabs(a->first.f));
            else if (a->first.i == LLONG_MIN)
                return fail_runtime(E, line, "integer out of range (beyond 64 bits)");
            else
                *v = int_value(a->first.i < 0 ? -a->first.i : a->first.i);
        } else if (!a->first.is_float) {
            *v = a->first;
        } else {
            long long i;
            if (float_to_int(trunc(a->first.f), &i, &why) != 0) return fail_runtime(E, line, why);
            *v = int_value(i);
        }
        return 0;
    case B_ROUND:
        if (n < 1 || n > 2) return fail_runtime(E, line, "round() takes one or two arguments");
        if (n == 1) {
            long long i = a->first.i;
            if (a->first.is_float && float_round_to_int(a->first.f, &i, &why) != 0)
                return fail_runtime(E, line, why);
            *v = int_value(i);
            return 0;
        }
        if (a->second.is_float)
            return fail_runtime(E, line, "'float' object cannot be interpreted as an integer");
        if (a->first.is_float) {
            double r;
            if (float_round_ndigits(a->first.f, a->second.i, &r, &why) != 0)
                return fail_runtime(E, line, why);
            *v = float_value(r);
        } else {
            long long r;
            if (int_round(a->first.i, a->second.i, &r, &why) != 0)
                return fail_runtime(E, line, why);
            *v = int_value(r);
        }
        return 0;
    case B_MIN:
    case B_MAX:
        if (a->n_lists ? n != 1 : n < 2) {
            snprintf(msg, sizeof msg, "%.*s() needs two or more numbers or one list",
                     (int)name->len, name->s);
            return fail_runtime(E, line, msg);
        }
        if (!a->have_best) {
            snprintf(msg, sizeof msg, "%.*s() arg is an empty sequence", (int)name->len, name->s);
            return fail_runtime(E, line, msg);
        }
        *v = a->best;
        return 0;
    case B_SUM:
        if (a->n_lists != 1 || n != 1)
            return fail_runtime(E, line, "sum() needs exactly one list argument");
        *v = a->sum;
        return 0;
    default:
        return fail_runtime(E, line, "unsupported call");
    }
}

static int parse_call(Eval *E, Token name, PyValue *v) {
    take(E); /* '(' */
    int live = E->run && !E->returned;
    Builtin b = builtin_of(&name);
    char msg[160];
    if (live) { /* checked before the arguments; Python would look the name up first too */
        Var *var = find_var(E, &name);
        if (var) {
            snprintf(msg, sizeof msg, "'%.*s' is a local number, not a function", (int)name.len,
                     name.s);
            return fail_runtime(E, name.line, msg);
        }
        if (b == B_NONE) {
            snprintf(msg, sizeof msg, "calling '%.*s' is outside the supported subset",
                     (int)name.len, name.s);
            return fail_runtime(E, name.line, msg);
        }
    }
    CallArgs a = {0};
    a.sum = int_value(0);
    while (!is_op(peek(E, 0), OP_RPAR)) {
        if (is_op(peek(E, 0), OP_LBRACK)) {
            if (parse_list_arg(E, b, &a) != 0) return -1;
        } else {
            int line = peek(E, 0)->line;
            PyValue x;
            if (parse_expr(E, &x) != 0) return -1;
            if (a.n_scalars == 0) a.first = x;
            if (a.n_scalars == 1) a.second = x;
            a.n_scalars++;
            if (live && (b == B_MIN || b == B_MAX) && fold_item(E, b, &a, x, line) != 0) return -1;
        }
        if (is_op(peek(E, 0), OP_COMMA))
            take(E);
        else if (!is_op(peek(E, 0), OP_RPAR))
            return fail_unexpected(E, peek(E, 0), "',' or ')'");
    }
    take(E);
    if (!live) {
        *v = int_value(0);
        return 0;
    }
    return call_builtin(E, &name, b, &a, v);
}

static int parse_atom(Eval *E, PyValue *v) {
    Token t = take(E);
    char msg[160];
    switch (t.type) {
    case T_INT:
    case T_FLOAT:
        *v = t.num;
        break;
    case T_STRING:
        return fail_tok(E, &t, "%s", "strings are outside the subset");
    case T_NAME:
        if (is_keyword(&t)) return fail_unexpected(E, &t, "an expression");
        if (is_op(peek(E, 0), OP_LPAR)) {
            if (parse_call(E, t, v) != 0) return -1;
            break;
        }
        *v = int_value(0);
        if (E->run && !E->returned) {
            Var *var = find_var(E, &t);
            if (var && var->assigned) {
                *v = var->value;
            } else {
                snprintf(msg, sizeof msg,
                         var ? "local variable '%.*s' referenced before assignment"
                         : builtin_of(&t) != B_NONE ? "function '%.*s' used as a value"
                                                    : "name '%.*s' is not defined",
                         (int)t.len, t.s);
                return fail_runtime(E, t.line, msg);
            }
        }
        break;
    case T_OP:
        if (t.op == OP_LPAR) {
            if (parse_expr(E, v) != 0) return -1;
            if (is_op(peek(E, 0), OP_COMMA))
                return fail_tok(E, peek(E, 0), "%s", "tuples are outside the subset");
            if (expect_op(E, OP_RPAR, ")") != 0) return -1;
            break;
        }
        if (t.op == OP_LBRACK)
            return fail_tok(E, &t, "%s", "lists are only supported as min/max/sum arguments");
        return fail_unexpected(E, &t, "an expression");
    default:
        return fail_unexpected(E, &t, "an expression");
    }
    const Token *next = peek(E, 0);
    if (is_op(next, OP_LPAR) || is_op(next, OP_LBRACK))
        return fail_tok(E, next, "%s", "calls and subscripts of values are outside the subset");
    return 0;
}

static int parse_factor(Eval *E, PyValue *v);

/* power: atom ['**' factor]; right associative, and binds tighter than a unary minus on its left
 * (-2**2 == -4) but not on its right (2**-1 == 0.5). */
static int parse_power(Eval *E, PyValue *v) {
    if (parse_atom(E, v) != 0) return -1;
    if (!is_op(peek(E, 0), OP_POW)) return 0;
    Token op = take(E);
    PyValue rhs;
    if (enter(E, &op) != 0 || parse_factor(E, &rhs) != 0) return -1;
    E->depth--;
    const char *why = "";
    if (E->run && !E->returned && binary_op(OP_POW, *v, rhs, v, &why) != 0)
        return fail_runtime(E, op.line, why);
    return 0;
}

static int parse_factor(Eval *E, PyValue *v) {
    const Token *t = peek(E, 0);
    if (!is_op(t, OP_MINUS) && !is_op(t, OP_PLUS)) return parse_power(E, v);
    Token op = take(E);
    if (enter(E, &op) != 0 || parse_factor(E, v) != 0) return -1;
    E->depth--;
    if (op.op == OP_MINUS && E->run && !E->returned) {
        if (v->is_float)
            v->f = -v->f;
        else if (v->i == LLONG_MIN)
            return fail_runtime(E, op.line, "integer out of range (beyond 64 bits)");
        else
            v->i = -v->i;
    }
    return 0;
}

static int is_term_op(const Token *t) {
    return is_op(t, OP_STAR) || is_op(t, OP_SLASH) || is_op(t, OP_DSLASH) || is_op(t, OP_PERCENT);
}

static int is_arith_op(const Token *t) {
    return is_op(t, OP_PLUS) || is_op(t, OP_MINUS);
}

/* term: factor (('*' | '/' | '//' | '%') factor)*    arith: term (('+' | '-') term)*
 * Both left associative, so they loop instead of recursing. */
static int parse_left_assoc(Eval *E, PyValue *v, int arith) {
    if ((arith ? parse_left_assoc(E, v, 0) : parse_factor(E, v)) != 0) return -1;
    while (arith ? is_arith_op(peek(E, 0)) : is_term_op(peek(E, 0))) {
        Token op = take(E);
        PyValue rhs;
        if ((arith ? parse_left_assoc(E, &rhs, 0) : parse_factor(E, &rhs)) != 0) return -1;
        const char *why = "";
        if (E->run && !E->returned && binary_op(op.op, *v, rhs, v, &why) != 0)
            return fail_runtime(E, op.line, why);
    }
    return 0;
}

/* Every nesting (parentheses, call arguments, unary operators, '**') passes through enter(),
 * so the recursion depth is bounded whatever the input. */
static int parse_expr(Eval *E, PyValue *v) {
    if (enter(E, peek(E, 0)) != 0 || parse_left_assoc(E, v, 1) != 0) return -1;
    E->depth--;
    return 0;
}

static int end_of_simple_statement(const Token *t) {
    return t->type == T_NEWLINE || is_op(t, OP_SEMI) || t->type == T_END;
}

/* Pass 1 records every assigned name as a local; pass 2 stores values. */
static int assign(Eval *E, const Token *name, PyValue v) {
    Var *var = find_var(E, name);
    if (!E->run) {
        if (var) return 0;
        if (E->n_vars == PYEVAL_MAX_VARS) return fail_tok(E, name, "%s", "too many variables");
        var = &E->vars[E->n_vars++];
        var->name = name->s;
        var->len = name->len;
        return 0;
    }
    if (!E->returned) {
        var->value = v;
        var->assigned = 1;
    }
    return 0;
}

static int parse_simple_statement(Eval *E) {
    const Token *t = peek(E, 0);
    int live = E->run && !E->returned;
    if (name_is(t, "pass")) {
        take(E);
        return 0;
    }
    if (name_is(t, "return")) {
        Token ret = take(E);
        if (end_of_simple_statement(peek(E, 0))) {
            if (live) return fail_runtime(E, ret.line, "the function returns None");
            return 0;
        }
        PyValue v;
        if (parse_expr(E, &v) != 0) return -1;
        if (is_op(peek(E, 0), OP_COMMA))
            return fail_tok(E, peek(E, 0), "%s", "tuples are outside the subset");
        if (live) {
            E->result = v;
            E->returned = 1;
        }
        return 0;
    }
    if (t->type == T_STRING) { /* docstring, or any statement made only of strings */
        while (peek(E, 0)->type == T_STRING) take(E);
        if (!end_of_simple_statement(peek(E, 0)))
            return fail_tok(E, peek(E, 0), "%s", "strings are outside the subset");
        return 0;
    }
    if (t->type == T_NAME && !is_keyword(t)) {
        const Token *next = peek(E, 1);
        if (is_op(next, OP_ASSIGN)) { /* a = b = expr */
            Token targets[16];
            int n = 0;
            while (peek(E, 0)->type == T_NAME && is_op(peek(E, 1), OP_ASSIGN)) {
                if (is_keyword(peek(E, 0))) return fail_unexpected(E, peek(E, 0), "a name");
                if (n == 16) return fail_tok(E, peek(E, 0), "%s", "too many chained assignments");
                targets[n++] = take(E);
                take(E);
            }
            PyValue v;
            if (parse_expr(E, &v) != 0) return -1;
            if (is_op(peek(E, 0), OP_ASSIGN))
                return fail_tok(E, peek(E, 0), "%s", "cannot assign to an expression");
            if (is_op(peek(E, 0), OP_COMMA))
                return fail_tok(E, peek(E, 0), "%s", "tuples are outside the subset");
            for (int i = 0; i < n; i++)
                if (assign(E, &targets[i], v) != 0) return -1;
            return 0;
        }
        if (next->type == T_OP && next->op >= OP_AUG_PLUS && next->op <= OP_AUG_POW) {
            Token name = take(E);
            Token op = take(E);
            PyValue rhs;
            if (parse_expr(E, &rhs) != 0) return -1;
            PyValue v = rhs;
            if (live) {
                Var *var = find_var(E, &name);
                if (!var->assigned) {
                    char msg[160];
                    snprintf(msg, sizeof msg, "local variable '%.*s' referenced before assignment",
                             (int)name.len, name.s);
                    return fail_runtime(E, name.line, msg);
                }
                const char *why = "";
                Op base = (Op)(op.op - OP_AUG_PLUS + OP_PLUS);
                if (binary_op(base, var->value, rhs, &v, &why) != 0)
                    return fail_runtime(E, op.line, why);
            }
            return assign(E, &name, v);
        }
    }
    if (t->type == T_NAME && is_keyword(t)) return fail_unexpected(E, t, "a statement");
    PyValue ignored; /* an expression statement */
    if (parse_expr(E, &ignored) != 0) return -1;
    if (is_op(peek(E, 0), OP_ASSIGN))
        return fail_tok(E, peek(E, 0), "%s", "only names can be assigned to");
    return 0;
}

/* simple_statement (';' simple_statement)* [';'] NEWLINE */
static int parse_statement_line(Eval *E) {
    for (;;) {
        if (parse_simple_statement(E) != 0) return -1;
        if (!is_op(peek(E, 0), OP_SEMI)) break;
        take(E);
        if (peek(E, 0)->type == T_NEWLINE) break;
    }
    const Token *t = peek(E, 0);
    if (t->type != T_NEWLINE && t->type != T_END) return fail_unexpected(E, t, "end of line");
    if (t->type == T_NEWLINE) take(E);
    return 0;
}

static int parse_function(Eval *E) {
    const Token *t = peek(E, 0);
    if (t->type == T_INDENT) return fail_tok(E, t, "%s", "unexpected indent");
    if (!name_is(t, "def")) {
        if (t->type == T_NAME && is_keyword(t)) return fail_unexpected(E, t, "'def'");
        return fail_unexpected(E, t, "a function definition 'def NAME():'");
    }
    take(E);
    t = peek(E, 0);
    if (t->type != T_NAME || is_keyword(t)) return fail_unexpected(E, t, "a function name");
    take(E);
    if (expect_op(E, OP_LPAR, "(") != 0) return -1;
    if (!is_op(peek(E, 0), OP_RPAR))
        return fail_tok(E, peek(E, 0), "%s", "function parameters are outside the subset");
    take(E);
    if (is_op(peek(E, 0), OP_ARROW)) {
        take(E);
        t = peek(E, 0);
        if (t->type != T_NAME || is_keyword(t))
            return fail_unexpected(E, t, "a return annotation name");
        take(E);
    }
    if (expect_op(E, OP_COLON, ":") != 0) return -1;
    if (peek(E, 0)->type != T_NEWLINE) return parse_statement_line(E); /* def f(): return 1 */
    take(E);
    if (peek(E, 0)->type != T_INDENT) return fail_unexpected(E, peek(E, 0), "an indented block");
    take(E);
    while (peek(E, 0)->type != T_DEDENT) {
        t = peek(E, 0);
        if (t->type == T_INDENT) return fail_tok(E, t, "%s", "unexpected indent");
        if (t->type == T_ERROR || t->type == T_END) return fail_unexpected(E, t, "a statement");
        if (parse_statement_line(E) != 0) return -1;
    }
    take(E);
    return 0;
}

static int run_pass(Eval *E, const char *code, size_t len) {
    lexer_init(&E->lx, code, len, E->err);
    E->n_la = 0;
    E->depth = 0;
    E->returned = 0;
    if (parse_function(E) != 0) return -1;
    const Token *t = peek(E, 0);
    if (t->type != T_END) {
        if (t->type == T_ERROR) return -1;
        return fail_unexpected(E, t, "the end after the function (only one function is supported)");
    }
    return 0;
}

int pyeval_run(const char *code, size_t len, PyValue *out, Err *err) {
    if (len > PYEVAL_MAX_SOURCE)
        return err_set(err, "source longer than %d bytes", PYEVAL_MAX_SOURCE);
    if (memchr(code, '\0', len)) return err_set(err, "source code cannot contain null bytes");
    Eval *E = calloc(1, sizeof *E);
    if (!E) return err_set(err, "out of memory");
    E->err = err;
    int rc = run_pass(E, code, len);
    if (rc == 0) {
        E->run = 1;
        rc = run_pass(E, code, len);
    }
    if (rc == 0 && !E->returned) rc = err_set(err, "the function returns None");
    if (rc == 0) *out = E->result;
    free(E);
    return rc;
}
