/* TinyGSM / GSM8K rows: reference answers, data set loading, scoring one candidate. */
#include "tinygsm_data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NUMBER_MAX_CHARS 64

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* 1 when "####" occurs in s[0..n) */
static int has_marker(const char *s, size_t n) {
    for (size_t i = 0; i + 4 <= n; i++)
        if (memcmp(s + i, "####", 4) == 0) return 1;
    return 0;
}

int gsm8k_answer_number(const char *text, size_t len, double *out) {
    const char *s = text, *end = text + len;
    for (const char *p = text; p + 4 <= end; p++) /* after the last "####" */
        if (memcmp(p, "####", 4) == 0) s = p + 4;
    while (s < end && is_space(*s)) s++;
    while (end > s && is_space(end[-1])) end--;
    char buf[NUMBER_MAX_CHARS + 1];
    size_t k = 0;
    if (s < end && *s == '-') buf[k++] = *s++;
    if (s < end && *s == '$') s++;
    int digits = 0, dot = 0;
    for (; s < end; s++) {
        if (k >= NUMBER_MAX_CHARS) return -1;
        if (is_digit(*s)) {
            buf[k++] = *s;
            digits++;
        } else if (*s == ',' && digits && !dot && s + 1 < end && is_digit(s[1])) {
            continue; /* thousands separator */
        } else if (*s == '.' && digits && !dot && s + 1 < end && is_digit(s[1])) {
            buf[k++] = '.';
            dot = 1;
        } else {
            return -1;
        }
    }
    if (!digits) return -1;
    buf[k] = '\0';
    *out = strtod(buf, NULL);
    return isfinite(*out) ? 0 : -1;
}

static char *dup_text(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static const JsonField *string_field(const JsonRow *row, const char *key) {
    const JsonField *f = json_row_find(row, key);
    return f && f->type == JSON_STRING ? f : NULL;
}

/* Appends one row; -1 only for out-of-memory. */
static int push_row(TinyGsmSet *set, const JsonField *q, const JsonField *code, double reference,
                    long line) {
    if (set->count == set->cap) {
        long cap = set->cap ? 2 * set->cap : 256;
        TinyGsmRow *grown = realloc(set->rows, (size_t)cap * sizeof *grown);
        if (!grown) return -1;
        set->rows = grown;
        set->cap = cap;
    }
    TinyGsmRow *r = &set->rows[set->count];
    r->question = dup_text(q->str, q->str_len);
    r->code = code ? dup_text(code->str, code->str_len) : NULL;
    r->reference = reference;
    r->line = line;
    if (!r->question || (code && !r->code)) {
        free(r->question);
        free(r->code);
        return -1;
    }
    set->count++;
    return 0;
}

int tinygsm_load(const char *path, long max_rows, TinyGsmSet *set, Err *err) {
    JsonlReader rd;
    if (jsonl_open(&rd, path, err) != 0) return -1;
    int rc = 0;
    long taken = 0;
    while (rc == 0 && (max_rows <= 0 || taken < max_rows)) {
        int got = jsonl_next(&rd, err);
        if (got <= 0) {
            rc = got;
            break;
        }
        const char *unused;
        if (jsonl_string(&rd, "question", &unused, NULL, err) != 0) {
            rc = -1;
            break;
        }
        const JsonField *q = json_row_find(&rd.row, "question");
        const JsonField *code = string_field(&rd.row, "code");
        if (!code) code = string_field(&rd.row, "solution");
        const JsonField *answer = string_field(&rd.row, "answer");
        double reference;
        if (!code && answer) {
            if (gsm8k_answer_number(answer->str, answer->str_len, &reference) != 0) {
                if (has_marker(answer->str, answer->str_len)) {
                    rc = err_set(err, "%s:%ld: no number after '####' in 'answer'", path, rd.line);
                    break;
                }
                code = answer; /* TinyGSM rows may keep their code under "answer" */
            }
        }
        if (code) {
            PyValue v;
            Err eval_err;
            if (pyeval_run(code->str, code->str_len, &v, &eval_err) != 0 ||
                !isfinite(pyeval_as_double(v))) {
                set->dropped++;
                continue;
            }
            reference = pyeval_as_double(v);
        } else if (!answer) {
            rc = err_set(err,
                         "%s:%ld: row has no solution: expected a 'code' or 'solution' string, "
                         "or an 'answer' with '#### N'",
                         path, rd.line);
            break;
        }
        if (push_row(set, q, code, reference, rd.line) != 0) {
            rc = err_set(err, "%s: out of memory", path);
            break;
        }
        taken++;
    }
    jsonl_close(&rd);
    return rc < 0 ? -1 : 0;
}

void tinygsm_set_free(TinyGsmSet *set) {
    for (long i = 0; i < set->count; i++) {
        free(set->rows[i].question);
        free(set->rows[i].code);
    }
    free(set->rows);
    memset(set, 0, sizeof *set);
}

static int score_reference(const JsonRow *row, double *reference, Err *err) {
    const JsonField *answer = json_row_find(row, "answer");
    if (answer) {
        if (answer->type == JSON_NUMBER) {
            *reference = answer->number;
            if (!isfinite(*reference)) return err_set(err, "'answer' is not a finite number");
            return 0;
        }
        if (answer->type != JSON_STRING)
            return err_set(err, "'answer' must be a string or a number");
        if (gsm8k_answer_number(answer->str, answer->str_len, reference) != 0)
            return err_set(err, "'answer' holds no number (expected '#### N' or a bare number)");
        return 0;
    }
    const JsonField *ref = json_row_find(row, "reference_code");
    if (!ref) return err_set(err, "row has neither 'answer' nor 'reference_code'");
    if (ref->type != JSON_STRING) return err_set(err, "'reference_code' is not a string");
    PyValue v;
    Err eval_err;
    if (pyeval_run(ref->str, ref->str_len, &v, &eval_err) != 0)
        return err_set(err, "'reference_code' does not evaluate: %s", eval_err.msg);
    *reference = pyeval_as_double(v);
    if (!isfinite(*reference)) return err_set(err, "'reference_code' is not a finite number");
    return 0;
}

int tinygsm_score_row(const JsonRow *row, TinyGsmScore *out, Err *err) {
    memset(out, 0, sizeof *out);
    const JsonField *code = json_row_find(row, "code");
    if (!code) return err_set(err, "field 'code' missing");
    if (code->type != JSON_STRING && code->type != JSON_NULL)
        return err_set(err, "field 'code' is not a string");
    if (score_reference(row, &out->reference, err) != 0) return -1;
    if (code->type == JSON_NULL) {
        snprintf(out->error, sizeof out->error, "code is null");
        return 0;
    }
    Err eval_err;
    if (pyeval_run(code->str, code->str_len, &out->value, &eval_err) != 0) {
        snprintf(out->error, sizeof out->error, "%s", eval_err.msg);
        return 0;
    }
    out->evaluated = 1;
    if (!isfinite(pyeval_as_double(out->value)))
        snprintf(out->error, sizeof out->error, "the answer is not a finite number");
    out->correct = pyeval_matches(out->value, out->reference);
    return 0;
}
