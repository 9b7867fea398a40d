/* Strict JSON Lines reader: a recursive-descent parser bounded by JSON_MAX_DEPTH that never
 * reads past the given length (the input need not be NUL-terminated). */
#include "jsonl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Longest number literal accepted; JSON has no limit, but no real row needs more. */
#define JSON_MAX_NUMBER_CHARS 400

typedef struct Parser {
    const char *s;
    size_t n, pos;
    JsonRow *row;
    Err *err;
} Parser;

static int fail_at(Parser *p, const char *what) {
    return err_set(p->err, "column %zu: %s", p->pos + 1, what);
}

static void skip_ws(Parser *p) {
    while (p->pos < p->n) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads the 4 hex digits of a \u escape whose 'u' is at p->pos - 1. */
static int read_hex4(Parser *p, unsigned *out) {
    if (p->n - p->pos < 4) return fail_at(p, "bad \\u escape (needs 4 hex digits)");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(p->s[p->pos + (size_t)i]);
        if (h < 0) return fail_at(p, "bad \\u escape (needs 4 hex digits)");
        v = v * 16 + (unsigned)h;
    }
    p->pos += 4;
    *out = v;
    return 0;
}

static size_t utf8_encode(unsigned cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the well-formed UTF-8 sequence at s[0..avail) (no overlongs, no surrogates, at most
 * U+10FFFF), or 0 when it is malformed. */
static size_t utf8_sequence_length(const unsigned char *s, size_t avail) {
    unsigned c = s[0];
    size_t len;
    unsigned cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (avail < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return 0; /* overlong */
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
    return len;
}

/* Parses a string literal at p->pos (on the opening quote). With store, its decoded bytes and
 * a NUL go to row->text and *off / *len describe them. */
static int parse_string(Parser *p, int store, size_t *off, size_t *len) {
    JsonRow *row = p->row;
    size_t start = row->text_len, quote = p->pos;
    p->pos++; /* opening quote */
    for (;;) {
        if (p->pos >= p->n) return err_set(p->err, "column %zu: unterminated string", quote + 1);
        unsigned char c = (unsigned char)p->s[p->pos];
        char out[4];
        size_t out_len = 0;
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c == '\\') {
            if (p->pos + 1 >= p->n)
                return err_set(p->err, "column %zu: unterminated string", quote + 1);
            char e = p->s[p->pos + 1];
            p->pos += 2;
            switch (e) {
            case '"':
                out[out_len++] = '"';
                break;
            case '\\':
                out[out_len++] = '\\';
                break;
            case '/':
                out[out_len++] = '/';
                break;
            case 'b':
                out[out_len++] = '\b';
                break;
            case 'f':
                out[out_len++] = '\f';
                break;
            case 'n':
                out[out_len++] = '\n';
                break;
            case 'r':
                out[out_len++] = '\r';
                break;
            case 't':
                out[out_len++] = '\t';
                break;
            case 'u': {
                unsigned cp;
                if (read_hex4(p, &cp) != 0) return -1;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return fail_at(p, "lone low surrogate in \\u escape");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    if (p->n - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
                        return fail_at(p, "high surrogate \\u escape not followed by a low one");
                    p->pos += 2;
                    if (read_hex4(p, &lo) != 0) return -1;
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return fail_at(p, "high surrogate \\u escape not followed by a low one");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                out_len = utf8_encode(cp, out);
                break;
            }
            default:
                p->pos -= 1;
                return err_set(p->err, "column %zu: bad escape '\\%c'", p->pos,
                               (e >= 0x20 && e < 0x7F) ? e : '?');
            }
        } else if (c < 0x20) {
            return fail_at(p, "control character in string (must be escaped)");
        } else {
            size_t k = utf8_sequence_length((const unsigned char *)p->s + p->pos, p->n - p->pos);
            if (k == 0) return fail_at(p, "invalid UTF-8 in string");
            memcpy(out, p->s + p->pos, k);
            out_len = k;
            p->pos += k;
        }
        if (store) {
            memcpy(row->text + row->text_len, out, out_len);
            row->text_len += out_len;
        }
    }
    if (store) {
        row->text[row->text_len++] = '\0';
        *off = start;
        *len = row->text_len - start - 1;
    }
    return 0;
}

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

static int parse_number(Parser *p, double *out) {
    size_t start = p->pos;
    const char *s = p->s;
    size_t n = p->n;
    if (p->pos < n && s[p->pos] == '-') p->pos++;
    if (p->pos >= n || !is_digit(s[p->pos])) return fail_at(p, "bad number (expected a digit)");
    if (s[p->pos] == '0') {
        p->pos++;
    } else {
        while (p->pos < n && is_digit(s[p->pos])) p->pos++;
    }
    if (p->pos < n && s[p->pos] == '.') {
        p->pos++;
        if (p->pos >= n || !is_digit(s[p->pos]))
            return fail_at(p, "bad number (expected a digit after '.')");
        while (p->pos < n && is_digit(s[p->pos])) p->pos++;
    }
    if (p->pos < n && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < n && (s[p->pos] == '+' || s[p->pos] == '-')) p->pos++;
        if (p->pos >= n || !is_digit(s[p->pos]))
            return fail_at(p, "bad number (expected a digit in the exponent)");
        while (p->pos < n && is_digit(s[p->pos])) p->pos++;
    }
    size_t len = p->pos - start;
    if (len > JSON_MAX_NUMBER_CHARS) return fail_at(p, "number literal too long");
    char buf[JSON_MAX_NUMBER_CHARS + 1];
    memcpy(buf, s + start, len);
    buf[len] = '\0';
    *out = strtod(buf, NULL); /* the grammar above admits only decimal forms strtod agrees on */
    return 0;
}

static int expect_word(Parser *p, const char *word) {
    size_t k = strlen(word);
    if (p->n - p->pos < k || memcmp(p->s + p->pos, word, k) != 0)
        return fail_at(p, "unexpected character (expected a JSON value)");
    p->pos += k;
    return 0;
}

static int parse_value(Parser *p, int depth, JsonField *into);

/* An array or object at p->pos; members are validated and dropped unless top (the row). */
static int parse_container(Parser *p, int depth, int top) {
    char open = p->s[p->pos], close = open == '[' ? ']' : '}';
    if (depth >= JSON_MAX_DEPTH) return fail_at(p, "nesting deeper than 64 levels");
    p->pos++;
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == close) {
        p->pos++;
        return 0;
    }
    for (;;) {
        JsonField field = {0}, *into = NULL;
        if (open == '{') {
            size_t key_off = 0, key_len = 0;
            if (p->pos >= p->n || p->s[p->pos] != '"')
                return fail_at(p, "expected a string key in object");
            if (parse_string(p, top, &key_off, &key_len) != 0) return -1;
            skip_ws(p);
            if (p->pos >= p->n || p->s[p->pos] != ':') return fail_at(p, "expected ':' after key");
            p->pos++;
            skip_ws(p);
            if (top) {
                field.key = p->row->text + key_off;
                field.key_len = key_len;
                into = &field;
            }
        }
        if (parse_value(p, depth + 1, into) != 0) return -1;
        if (into) {
            JsonRow *row = p->row;
            if (row->n_fields == row->cap_fields) {
                int cap = row->cap_fields ? 2 * row->cap_fields : 8;
                JsonField *grown = realloc(row->fields, (size_t)cap * sizeof *grown);
                if (!grown) return fail_at(p, "out of memory");
                row->fields = grown;
                row->cap_fields = cap;
            }
            row->fields[row->n_fields++] = field;
        }
        skip_ws(p);
        if (p->pos >= p->n)
            return fail_at(p, open == '[' ? "unterminated array" : "unterminated object");
        if (p->s[p->pos] == close) {
            p->pos++;
            return 0;
        }
        if (p->s[p->pos] != ',')
            return fail_at(p, open == '[' ? "expected ',' or ']'" : "expected ',' or '}'");
        p->pos++;
        skip_ws(p);
    }
}

static int parse_value(Parser *p, int depth, JsonField *into) {
    if (p->pos >= p->n) return fail_at(p, "unexpected end of line (expected a JSON value)");
    char c = p->s[p->pos];
    JsonField scratch;
    JsonField *f = into ? into : &scratch;
    switch (c) {
    case '"': {
        size_t off = 0, len = 0;
        if (parse_string(p, into != NULL, &off, &len) != 0) return -1;
        f->type = JSON_STRING;
        if (into) {
            f->str = p->row->text + off;
            f->str_len = len;
        }
        return 0;
    }
    case '[':
    case '{':
        f->type = c == '[' ? JSON_ARRAY : JSON_OBJECT;
        return parse_container(p, depth, 0);
    case 't':
        f->type = JSON_BOOL;
        f->boolean = 1;
        return expect_word(p, "true");
    case 'f':
        f->type = JSON_BOOL;
        f->boolean = 0;
        return expect_word(p, "false");
    case 'n':
        f->type = JSON_NULL;
        return expect_word(p, "null");
    default:
        if (c == '-' || is_digit(c)) {
            f->type = JSON_NUMBER;
            return parse_number(p, &f->number);
        }
        return fail_at(p, "unexpected character (expected a JSON value)");
    }
}

int json_row_parse(JsonRow *row, const char *text, size_t len, Err *err) {
    row->n_fields = 0;
    row->text_len = 0;
    if (row->text_cap < len + 1) {
        char *grown = realloc(row->text, len + 1);
        if (!grown) return err_set(err, "out of memory");
        row->text = grown;
        row->text_cap = len + 1;
    }
    Parser p = {.s = text, .n = len, .row = row, .err = err};
    skip_ws(&p);
    if (p.pos >= p.n || text[p.pos] != '{') return fail_at(&p, "expected a JSON object");
    if (parse_container(&p, 0, 1) != 0) {
        row->n_fields = 0;
        return -1;
    }
    skip_ws(&p);
    if (p.pos != p.n) {
        row->n_fields = 0;
        return fail_at(&p, "trailing garbage after the object");
    }
    return 0;
}

void json_row_free(JsonRow *row) {
    free(row->fields);
    free(row->text);
    memset(row, 0, sizeof *row);
}

const JsonField *json_row_find(const JsonRow *row, const char *key) {
    size_t k = strlen(key);
    for (int i = row->n_fields - 1; i >= 0; i--) {
        const JsonField *f = &row->fields[i];
        if (f->key_len == k && memcmp(f->key, key, k) == 0) return f;
    }
    return NULL;
}

int jsonl_open(JsonlReader *r, const char *path, Err *err) {
    memset(r, 0, sizeof *r);
    r->f = fopen(path, "rb");
    if (!r->f) return err_set(err, "cannot read '%s': %s", path, strerror(errno));
    r->path = strdup(path);
    if (!r->path) {
        fclose(r->f);
        r->f = NULL;
        return err_set(err, "%s: out of memory", path);
    }
    return 0;
}

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

int jsonl_next(JsonlReader *r, Err *err) {
    for (;;) {
        errno = 0;
        ssize_t n = getline(&r->buf, &r->buf_cap, r->f);
        if (n < 0) {
            if (ferror(r->f)) return err_set(err, "cannot read '%s': %s", r->path, strerror(errno));
            return 0;
        }
        r->line++;
        if (n > 0 && r->buf[n - 1] == '\n') n--; /* else an open string would end at it */
        if (is_blank(r->buf, (size_t)n)) continue;
        Err perr;
        if (json_row_parse(&r->row, r->buf, (size_t)n, &perr) != 0)
            return err_set(err, "%s:%ld: %s", r->path, r->line, perr.msg);
        return 1;
    }
}

void jsonl_close(JsonlReader *r) {
    if (r->f) fclose(r->f);
    free(r->path);
    free(r->buf);
    json_row_free(&r->row);
    memset(r, 0, sizeof *r);
}

int jsonl_string(const JsonlReader *r, const char *key, const char **s, size_t *len, Err *err) {
    const JsonField *f = json_row_find(&r->row, key);
    if (!f) return err_set(err, "%s:%ld: field '%s' missing", r->path, r->line, key);
    if (f->type != JSON_STRING)
        return err_set(err, "%s:%ld: field '%s' is not a string", r->path, r->line, key);
    *s = f->str;
    if (len) *len = f->str_len;
    return 0;
}
