/* pyeval's tokenizer (internal to the evaluator). */
#ifndef MDMLAB_PYEVAL_LEX_H
#define MDMLAB_PYEVAL_LEX_H

#include <stddef.h>

#include "pyeval_num.h"

#define PYEVAL_MAX_INDENT_LEVELS PYEVAL_MAX_DEPTH

/* Operators and punctuation. */
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
    Op op;         /* T_OP */
    const char *s; /* the token's text in the source (NULL for layout tokens) */
    size_t len;
    int line;
    PyValue num; /* T_INT, T_FLOAT */
} Token;

typedef struct Lexer {
    const char *src;
    size_t n, pos;
    int line;
    int at_line_start, line_has_tokens, paren; /* paren: open brackets join lines */
    int indents[PYEVAL_MAX_INDENT_LEVELS], alt_indents[PYEVAL_MAX_INDENT_LEVELS], n_indents;
    int pending_dedents;
    long tokens;
    int failed;
    Err *err;
} Lexer;

void lexer_init(Lexer *L, const char *src, size_t n, Err *err);
/* The next token; T_ERROR once anything failed (L->err holds "line N: what"). Counts tokens
 * against PYEVAL_MAX_TOKENS. */
Token lex_next(Lexer *L);

#endif
