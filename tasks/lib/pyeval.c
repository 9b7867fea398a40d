/* Restricted Python evaluator: a Python-style tokenizer (INDENT/DEDENT, implicit line joining
 * in brackets, backslash continuation) feeding a recursive-descent parser that evaluates as it
 * parses. The source is parsed twice: pass 1 only checks syntax and collects the names the
 * function assigns (its locals, as Python's compiler decides them), pass 2 runs it.
 * Tokens come from pyeval_lex.c, the arithmetic from pyeval_num.c. */
#include "pyeval.h"

#include "pyeval_lex.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static int fail_tok(Eval *E, const Token *t, const char *what) {
    if (t->type == T_ERROR || E->lx.failed) return -1;
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
    if (t->type == T_NAME && is_keyword(t) && !name_is(t, "def") && !name_is(t, "return") &&
        !name_is(t, "pass")) {
        snprintf(what, sizeof what, "'%.*s' is outside the supported subset", (int)t->len, t->s);
        return fail_tok(E, t, what);
    }
    snprintf(what, sizeof what, "expected %s, got %s", expected, describe(t, buf, sizeof buf));
    return fail_tok(E, t, what);
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
    if (++E->depth > PYEVAL_MAX_DEPTH) return fail_tok(E, t, "expression nested too deeply");
    return 0;
}

/* The arguments of a call, folded into what the builtin needs as they are parsed. */
typedef struct CallArgs {
    int n_scalars, n_lists;
    PyValue first, second; /* the first two scalar arguments */
    PyValue best;          /* min/max so far */
    int have_best;
    PyValue sum;
} CallArgs;

static int fold_item(Eval *E, Builtin b, CallArgs *a, PyValue v, int line) {
    if (b == B_MIN || b == B_MAX) {
        int c = a->have_best ? py_compare(v, a->best) : 0;
        if (!a->have_best || (b == B_MIN ? c == -1 : c == 1)) a->best = v;
        a->have_best = 1;
    } else if (b == B_SUM) {
        const char *why = "";
        if (py_binary(PY_ADD, a->sum, v, &a->sum, &why) != 0) return fail_runtime(E, line, why);
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
            *v = py_builtin_float(a->first);
            return 0;
        }
        if ((b == B_ABS ? py_builtin_abs(a->first, v, &why) : py_builtin_int(a->first, v, &why)) !=
            0)
            return fail_runtime(E, line, why);
        return 0;
    case B_ROUND:
        if (n < 1 || n > 2) return fail_runtime(E, line, "round() takes one or two arguments");
        if ((n == 1 ? py_builtin_round(a->first, v, &why)
                    : py_builtin_round_ndigits(a->first, a->second, v, &why)) != 0)
            return fail_runtime(E, line, why);
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
    a.sum = py_int(0);
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
        *v = py_int(0);
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
        return fail_tok(E, &t, "strings are outside the subset");
    case T_NAME:
        if (is_keyword(&t)) return fail_unexpected(E, &t, "an expression");
        if (is_op(peek(E, 0), OP_LPAR)) {
            if (parse_call(E, t, v) != 0) return -1;
            break;
        }
        *v = py_int(0);
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
                return fail_tok(E, peek(E, 0), "tuples are outside the subset");
            if (expect_op(E, OP_RPAR, ")") != 0) return -1;
            break;
        }
        if (t.op == OP_LBRACK)
            return fail_tok(E, &t, "lists are only supported as min/max/sum arguments");
        return fail_unexpected(E, &t, "an expression");
    default:
        return fail_unexpected(E, &t, "an expression");
    }
    const Token *next = peek(E, 0);
    if (is_op(next, OP_LPAR) || is_op(next, OP_LBRACK))
        return fail_tok(E, next, "calls and subscripts of values are outside the subset");
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
    if (E->run && !E->returned && py_binary(PY_POW, *v, rhs, v, &why) != 0)
        return fail_runtime(E, op.line, why);
    return 0;
}

static int parse_factor(Eval *E, PyValue *v) {
    const Token *t = peek(E, 0);
    if (!is_op(t, OP_MINUS) && !is_op(t, OP_PLUS)) return parse_power(E, v);
    Token op = take(E);
    if (enter(E, &op) != 0 || parse_factor(E, v) != 0) return -1;
    E->depth--;
    const char *why = "";
    if (op.op == OP_MINUS && E->run && !E->returned && py_negate(v, &why) != 0)
        return fail_runtime(E, op.line, why);
    return 0;
}

/* The arithmetic of an operator token or augmented assignment (`+` or `+=` is PY_ADD). */
static PyArith arith_of(Op op) {
    switch (op) {
    case OP_PLUS:
    case OP_AUG_PLUS:
        return PY_ADD;
    case OP_MINUS:
    case OP_AUG_MINUS:
        return PY_SUB;
    case OP_STAR:
    case OP_AUG_STAR:
        return PY_MUL;
    case OP_SLASH:
    case OP_AUG_SLASH:
        return PY_DIV;
    case OP_DSLASH:
    case OP_AUG_DSLASH:
        return PY_FLOORDIV;
    case OP_PERCENT:
    case OP_AUG_PERCENT:
        return PY_MOD;
    default:
        return PY_POW;
    }
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
        if (E->run && !E->returned && py_binary(arith_of(op.op), *v, rhs, v, &why) != 0)
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
        if (E->n_vars == PYEVAL_MAX_VARS) return fail_tok(E, name, "too many variables");
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
            return fail_tok(E, peek(E, 0), "tuples are outside the subset");
        if (live) {
            E->result = v;
            E->returned = 1;
        }
        return 0;
    }
    if (t->type == T_STRING) { /* docstring, or any statement made only of strings */
        while (peek(E, 0)->type == T_STRING) take(E);
        if (!end_of_simple_statement(peek(E, 0)))
            return fail_tok(E, peek(E, 0), "strings are outside the subset");
        return 0;
    }
    if (t->type == T_NAME && !is_keyword(t)) {
        const Token *next = peek(E, 1);
        if (is_op(next, OP_ASSIGN)) { /* a = b = expr */
            Token targets[16];
            int n = 0;
            while (peek(E, 0)->type == T_NAME && is_op(peek(E, 1), OP_ASSIGN)) {
                if (is_keyword(peek(E, 0))) return fail_unexpected(E, peek(E, 0), "a name");
                if (n == 16) return fail_tok(E, peek(E, 0), "too many chained assignments");
                targets[n++] = take(E);
                take(E);
            }
            PyValue v;
            if (parse_expr(E, &v) != 0) return -1;
            if (is_op(peek(E, 0), OP_ASSIGN))
                return fail_tok(E, peek(E, 0), "cannot assign to an expression");
            if (is_op(peek(E, 0), OP_COMMA))
                return fail_tok(E, peek(E, 0), "tuples are outside the subset");
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
                if (py_binary(arith_of(op.op), var->value, rhs, &v, &why) != 0)
                    return fail_runtime(E, op.line, why);
            }
            return assign(E, &name, v);
        }
    }
    if (name_is(t, "def")) return fail_tok(E, t, "nested functions are outside the subset");
    PyValue ignored; /* an expression statement */
    if (parse_expr(E, &ignored) != 0) return -1;
    if (is_op(peek(E, 0), OP_ASSIGN))
        return fail_tok(E, peek(E, 0), "only names can be assigned to");
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
    if (t->type == T_INDENT) return fail_tok(E, t, "unexpected indent");
    if (!name_is(t, "def")) return fail_unexpected(E, t, "a function definition 'def NAME():'");
    take(E);
    t = peek(E, 0);
    if (t->type != T_NAME || is_keyword(t)) return fail_unexpected(E, t, "a function name");
    take(E);
    if (expect_op(E, OP_LPAR, "(") != 0) return -1;
    if (!is_op(peek(E, 0), OP_RPAR))
        return fail_tok(E, peek(E, 0), "function parameters are outside the subset");
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
        if (t->type == T_INDENT) return fail_tok(E, t, "unexpected indent");
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
