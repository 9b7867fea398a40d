/* pyeval's tokenizer: Python's tokens for the subset, with INDENT / DEDENT from indentation
 * (tab stops of 8, checked against tab stops of 1 as Python's TabError), implicit line joining
 * inside brackets and backslash continuation. It never reads past the given length. */
#include "pyeval_lex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NUMBER_CHARS 400

void lexer_init(Lexer *L, const char *src, size_t n, Err *err) {
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
        t.num = py_float(strtod(buf, NULL));
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
    t.num = py_int(v);
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
            if (L->n_indents == PYEVAL_MAX_INDENT_LEVELS)
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

Token lex_next(Lexer *L) {
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
