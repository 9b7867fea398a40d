/* JSON Lines: one JSON object per line, read strictly (RFC 8259). The reader keeps each row's
 * top-level fields; strings are decoded to UTF-8 (all escapes, \uXXXX surrogate pairs), numbers
 * parsed to double, nested arrays and objects validated and skipped. The one JSON reader of
 * mdmlab: the TinyGSM and text tasks read {"question": ..., "code": ...} and {"text": ...}
 * corpora with it, and the sweep's run store its status.json files (json_row_parse takes a
 * whole pretty-printed object as well as a line). */
#ifndef MDMLAB_JSONL_H
#define MDMLAB_JSONL_H

#include <stddef.h>
#include <stdio.h>

#include "base/util.h"

/* Arrays and objects nested deeper than this are refused (bounded parser recursion). */
#define JSON_MAX_DEPTH 64

typedef enum JsonType {
    JSON_NULL,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
} JsonType;

typedef struct JsonField {
    const char *key; /* decoded, NUL-terminated (may contain earlier NULs from \u0000) */
    size_t key_len;
    JsonType type;
    const char *str; /* JSON_STRING: decoded UTF-8, NUL-terminated; else NULL */
    size_t str_len;
    double number; /* JSON_NUMBER */
    int boolean;   /* JSON_BOOL */
} JsonField;

/* The top-level fields of one parsed object. Pointers stay valid until the next parse into the
 * same row or json_row_free. A key given twice resolves to its last value (as Python's json). */
typedef struct JsonRow {
    JsonField *fields;
    int n_fields, cap_fields;
    /* Decoded keys and strings, each NUL-terminated. Sized to the line before parsing (decoding
     * never grows a literal: quotes and escapes are longer than what they decode to), so field
     * pointers into it never move during a parse. */
    char *text;
    size_t text_len, text_cap;
} JsonRow;

/* Parses text holding exactly one JSON object (whitespace, newlines included, allowed around
 * and inside it). On error err reads "column C: what" (C: 1-based byte offset in text, the
 * column when text is one line). */
int json_row_parse(JsonRow *row, const char *text, size_t len, Err *err);
void json_row_free(JsonRow *row);
/* The field named key, or NULL. */
const JsonField *json_row_find(const JsonRow *row, const char *key);

typedef struct JsonlReader {
    FILE *f;
    char *path;
    long line; /* 1-based number of the current row's line */
    char *buf; /* getline buffer */
    size_t buf_cap;
    JsonRow row;
} JsonlReader;

int jsonl_open(JsonlReader *r, const char *path, Err *err);
/* Reads the next non-blank line into r->row. Returns 1 for a row, 0 at end of file, -1 on
 * error ("FILE:LINE: column C: what", or a read error naming the file). */
int jsonl_next(JsonlReader *r, Err *err);
void jsonl_close(JsonlReader *r);

/* The current row's string field. Fails with "FILE:LINE: field 'KEY' missing" or
 * "FILE:LINE: field 'KEY' is not a string". len may be NULL. */
int jsonl_string(const JsonlReader *r, const char *key, const char **s, size_t *len, Err *err);

#endif
