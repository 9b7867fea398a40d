/* JSONL reader, GSM8K answers, TinyGSM row loading and scoring. The GSM8K test split
 * (tests/data/gsm8k/test.jsonl, 1,319 rows) is found through MDMLAB_TEST_DATA_DIR, the
 * absolute path of tests/data that tests/meson.build defines. */
#include "tasks/lib/jsonl.h"
#include "tasks/tinygsm/tinygsm_data.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

static void write_text(const char *name, const char *text, char *path, size_t n) {
    snprintf(path, n, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    fwrite(text, 1, strlen(text), f);
    fclose(f);
}

static int parse(JsonRow *row, const char *text, Err *err) {
    err->msg[0] = '\0';
    return json_row_parse(row, text, strlen(text), err);
}

static int field_is(const JsonRow *row, const char *key, const char *value, size_t len) {
    const JsonField *f = json_row_find(row, key);
    return f && f->type == JSON_STRING && f->str_len == len && memcmp(f->str, value, len) == 0 &&
           f->str[len] == '\0';
}

static void test_parse_values(void) {
    JsonRow row = {0};
    Err err;
    CHECK(parse(&row,
                " {\"question\": \"a \\\"b\\\" \\\\ \\/ \\b\\f\\n\\r\\t\", \"n\": -12.5e2, "
                "\"t\": true, \"f\": false, \"z\": null, \"arr\": [1, [2, {\"x\": [\"y\"]}], {}],"
                " \"obj\": {\"k\": \"v\", \"deep\": {\"a\": []}}, \"empty\": \"\"}\r\n",
                &err) == 0);
    CHECK(row.n_fields == 8);
    CHECK(field_is(&row, "question", "a \"b\" \\ / \b\f\n\r\t", 15));
    const JsonField *n = json_row_find(&row, "n");
    CHECK(n && n->type == JSON_NUMBER && n->number == -1250.0);
    CHECK(json_row_find(&row, "t")->type == JSON_BOOL && json_row_find(&row, "t")->boolean == 1);
    CHECK(json_row_find(&row, "f")->type == JSON_BOOL && json_row_find(&row, "f")->boolean == 0);
    CHECK(json_row_find(&row, "z")->type == JSON_NULL);
    CHECK(json_row_find(&row, "arr")->type == JSON_ARRAY);
    CHECK(json_row_find(&row, "obj")->type == JSON_OBJECT);
    CHECK(json_row_find(&row, "k") == NULL); /* nested keys are not fields */
    CHECK(field_is(&row, "empty", "", 0));
    CHECK(json_row_find(&row, "missing") == NULL);

    /* \u escapes: BMP, surrogate pair, NUL inside a string; raw UTF-8 kept */
    CHECK(parse(&row,
                "{\"u\": \"caf\\u00e9 \\u20AC \\ud83d\\ude00 a\\u0000b\", \"raw\": \"caf\xc3\xa9 "
                "\xf0\x9f\x98\x80\"}",
                &err) == 0);
    CHECK(field_is(&row, "u", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 a\0b", 18));
    CHECK(field_is(&row, "raw", "caf\xc3\xa9 \xf0\x9f\x98\x80", 10));

    /* duplicate keys: the last wins (as Python's json); keys are decoded too */
    CHECK(parse(&row, "{\"a\": \"1\", \"\\u0061\": \"2\"}", &err) == 0);
    CHECK(field_is(&row, "a", "2", 1));
    CHECK(parse(&row, "{}", &err) == 0 && row.n_fields == 0);
    /* a pretty-printed object over several lines (status.json) is one row too */
    CHECK(parse(&row, "{\n  \"state\": \"done\",\n  \"attempts\": 2\n}\n", &err) == 0);
    CHECK(field_is(&row, "state", "done", 4) && json_row_find(&row, "attempts")->number == 2);

    static const struct {
        const char *text;
        double value;
    } numbers[] = {{"0", 0},
                   {"-0", -0.0},
                   {"7", 7},
                   {"1e3", 1000},
                   {"2.5E-1", 0.25},
                   {"-1.25e+2", -125},
                   {"123456789012", 123456789012.0}};
    for (size_t k = 0; k < sizeof numbers / sizeof numbers[0]; k++) {
        char text[64];
        snprintf(text, sizeof text, "{\"x\": %s}", numbers[k].text);
        CHECK_MSG(parse(&row, text, &err) == 0 &&
                      json_row_find(&row, "x")->number == numbers[k].value,
                  "%s: %s", numbers[k].text, err.msg);
    }
    json_row_free(&row);
}

static void test_parse_errors(void) {
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"{\"a\": \"abc}", "column 7: unterminated string"},
        {"{\"a\": \"abc\\", "unterminated string"},
        {"{\"a\": \"x\\qy\"}", "column 9: bad escape '\\q'"},
        {"{\"a\": \"\\u12G4\"}", "bad \\u escape"},
        {"{\"a\": \"\\ud83d\"}", "high surrogate"},
        {"{\"a\": \"\\ud83d\\u0041\"}", "high surrogate"},
        {"{\"a\": \"\\ude00\"}", "lone low surrogate"},
        {"{\"a\": \"tab\there\"}", "control character"},
        {"{\"a\": \"\xc3\"}", "invalid UTF-8"},
        {"{\"a\": \"\xc0\xaf\"}", "invalid UTF-8"},         /* overlong */
        {"{\"a\": \"\xed\xa0\x80\"}", "invalid UTF-8"},     /* encoded surrogate */
        {"{\"a\": \"\xf4\x90\x80\x80\"}", "invalid UTF-8"}, /* above U+10FFFF */
        {"{\"a\": 1} x", "column 10: trailing garbage"},
        {"{\"a\": 1}{}", "trailing garbage"},
        {"[1, 2]", "column 1: expected a JSON object"},
        {"", "expected a JSON object"},
        {"\"text\"", "expected a JSON object"},
        {"{\"a\" 1}", "expected ':'"},
        {"{\"a\": 1,}", "expected a string key"},
        {"{\"a\": [1, 2,]}", "expected a JSON value"},
        {"{\"a\": [1 2]}", "expected ',' or ']'"},
        {"{\"a\": 1 \"b\": 2}", "expected ',' or '}'"},
        {"{a: 1}", "expected a string key"},
        {"{\"a\": 01}", "expected ',' or '}'"},
        {"{\"a\": 1.}", "digit after '.'"},
        {"{\"a\": -}", "expected a digit"},
        {"{\"a\": .5}", "expected a JSON value"},
        {"{\"a\": +1}", "expected a JSON value"},
        {"{\"a\": 1e}", "exponent"},
        {"{\"a\": NaN}", "expected a JSON value"},
        {"{\"a\": tru}", "expected a JSON value"},
        {"{\"a\": 'x'}", "expected a JSON value"},
        {"{\"a\": [1, 2}", "expected ',' or ']'"},
        {"{\"a\": {\"b\": 1}", "unterminated object"},
        {"\xef\xbb\xbf{}", "expected a JSON object"}, /* a byte-order mark */
    };
    JsonRow row = {0};
    Err err;
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int rc = parse(&row, bad[k].text, &err);
        CHECK_MSG(rc == -1 && strstr(err.msg, bad[k].want) && row.n_fields == 0,
                  "<<%s>>: want '%s', got rc %d '%s'", bad[k].text, bad[k].want, rc, err.msg);
    }
    /* nesting: the row object plus 63 arrays parse, plus 64 do not, and 100,000 levels fail
     * without blowing the stack */
    static const int depths[] = {63, 64, 100000};
    for (int d = 0; d < 3; d++) {
        StrBuf sb = {0};
        sb_printf(&sb, "{\"a\": ");
        for (int i = 0; i < depths[d]; i++) sb_append(&sb, "[", 1);
        for (int i = 0; i < depths[d]; i++) sb_append(&sb, "]", 1);
        sb_append(&sb, "}", 1);
        int rc = json_row_parse(&row, sb.data, sb.len, &err);
        if (d == 0)
            CHECK_MSG(rc == 0, "depth 63: %s", err.msg);
        else
            CHECK_MSG(rc == -1 && strstr(err.msg, "nesting deeper than 64"), "depth %d: %s",
                      depths[d], err.msg);
        sb_free(&sb);
    }
    /* the length bounds the parse: no NUL terminator is needed */
    const char *text = "{\"a\": \"xyz\"}GARBAGE";
    CHECK(json_row_parse(&row, text, 12, &err) == 0 && field_is(&row, "a", "xyz", 3));
    CHECK(json_row_parse(&row, text, 11, &err) == -1);
    json_row_free(&row);
}

static void test_append_string_round_trip(void) {
    Rng rng;
    rng_seed(&rng, 99, 0);
    JsonRow row = {0};
    Err err;
    static const char *const pieces[] = {
        "a", "\"", "\\", "\n", "\t", "\r", "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xf0\x9f\x98\x80",
        "/", "{",  "}"};
    for (int iter = 0; iter < 2000; iter++) {
        char value[256];
        size_t len = 0;
        int n = (int)rng_below(&rng, 30);
        for (int i = 0; i < n; i++) {
            const char *p = pieces[rng_below(&rng, sizeof pieces / sizeof pieces[0])];
            memcpy(value + len, p, strlen(p));
            len += strlen(p);
        }
        if (rng_below(&rng, 4) == 0) value[len++] = '\0'; /* embedded NUL */
        StrBuf sb = {0};
        sb_append(&sb, "{\"v\": ", 6);
        sb_json_string_n(&sb, value, len);
        sb_append(&sb, "}", 1);
        CHECK(memchr(sb.data, '\n', sb.len) == NULL); /* stays one line */
        CHECK(json_row_parse(&row, sb.data, sb.len, &err) == 0 && field_is(&row, "v", value, len));
        sb_free(&sb);
    }
    StrBuf sb = {0};
    sb_json_string_n(&sb, "a\"b\\c\nd\x01", 8);
    CHECK(strcmp(sb.data, "\"a\\\"b\\\\c\\nd\\u0001\"") == 0);
    sb_free(&sb);
    json_row_free(&row);
}

static void test_reader(void) {
    char path[512];
    write_text("rows.jsonl",
               "{\"text\": \"one\", \"n\": 1}\n"
               "\n"
               "   \r\n"
               "{\"text\": \"two\"}\r\n"
               "{\"other\": \"x\", \"n\": 3}\n"
               "{\"text\": 5}\n"
               "{\"text\": \"last, no newline\"}",
               path, sizeof path);
    JsonlReader r;
    Err err;
    const char *s;
    size_t len;
    CHECK(jsonl_open(&r, path, &err) == 0);
    CHECK(jsonl_next(&r, &err) == 1 && r.line == 1);
    CHECK(jsonl_string(&r, "text", &s, &len, &err) == 0 && len == 3 && strcmp(s, "one") == 0);
    CHECK(jsonl_next(&r, &err) == 1 && r.line == 4); /* blank lines skipped, numbering kept */
    CHECK(jsonl_string(&r, "text", &s, NULL, &err) == 0 && strcmp(s, "two") == 0);
    CHECK(jsonl_next(&r, &err) == 1 && r.line == 5);
    char want[600];
    CHECK(jsonl_string(&r, "text", &s, &len, &err) == -1);
    snprintf(want, sizeof want, "%s:5: field 'text' missing", path);
    CHECK_MSG(strcmp(err.msg, want) == 0, "%s", err.msg);
    CHECK(jsonl_next(&r, &err) == 1 && r.line == 6);
    CHECK(jsonl_string(&r, "text", &s, &len, &err) == -1);
    snprintf(want, sizeof want, "%s:6: field 'text' is not a string", path);
    CHECK_MSG(strcmp(err.msg, want) == 0, "%s", err.msg);
    CHECK(jsonl_next(&r, &err) == 1 && r.line == 7);
    CHECK(jsonl_string(&r, "text", &s, &len, &err) == 0 && strcmp(s, "last, no newline") == 0);
    CHECK(jsonl_next(&r, &err) == 0);
    CHECK(jsonl_next(&r, &err) == 0);
    jsonl_close(&r);

    write_text("bad.jsonl", "{\"a\": \"1\"}\n{\"a\": \"2\"}\n{\"a\": \"unterminated}\n", path,
               sizeof path);
    CHECK(jsonl_open(&r, path, &err) == 0);
    CHECK(jsonl_next(&r, &err) == 1 && jsonl_next(&r, &err) == 1);
    CHECK(jsonl_next(&r, &err) == -1);
    snprintf(want, sizeof want, "%s:3: column 7: unterminated string", path);
    CHECK_MSG(strcmp(err.msg, want) == 0, "%s", err.msg);
    jsonl_close(&r);

    CHECK(jsonl_open(&r, "/nonexistent/x.jsonl", &err) == -1 &&
          strstr(err.msg, "cannot read '/nonexistent/x.jsonl'"));
}

static void test_gsm8k_answer_number(void) {
    static const struct {
        const char *text;
        double value;
    } ok[] = {{"She makes 9 * 2 = $<<9*2=18>>18.\n#### 18", 18},
              {"#### 1,234", 1234},
              {"x #### 1 #### 2,500,000", 2500000},
              {"####-10", -10},
              {"#### $5", 5},
              {"#### -$5", -5},
              {"#### 2.5 ", 2.5},
              {"42", 42},
              {"  1,000\n", 1000},
              {"-0.125", -0.125}};
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        double v = -1;
        CHECK_MSG(gsm8k_answer_number(ok[k].text, strlen(ok[k].text), &v) == 0 && v == ok[k].value,
                  "'%s' -> %g", ok[k].text, v);
    }
    static const char *const bad[] = {
        "",    "####", "#### ", "#### abc",       "#### 1,2,", "#### 1.", "1e5",
        "inf", "nan",  "0x10",  "#### 12 apples", "1 2",       ",5",      "#### 5%"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        double v;
        CHECK_MSG(gsm8k_answer_number(bad[k], strlen(bad[k]), &v) == -1, "'%s' accepted", bad[k]);
    }
}

/* The repository's copy of GSM8K's test split: every row yields a finite reference. The sum
 * and extremes were computed with CPython over the same file. */
static void test_gsm8k_test_split(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/gsm8k/test.jsonl", MDMLAB_TEST_DATA_DIR);
    if (access(path, R_OK) != 0) {
        CHECK_MSG(0, "GSM8K test split not found at %s", path);
        return;
    }
    TinyGsmSet set = {0};
    Err err;
    CHECK_MSG(tinygsm_load(path, 0, &set, &err) == 0, "%s", err.msg);
    CHECK(set.count == 1319 && set.dropped == 0);
    double sum = 0, lo = 1e300, hi = -1e300;
    long negative = 0, finite = 0;
    for (long i = 0; i < set.count; i++) {
        double v = set.rows[i].reference;
        finite += isfinite(v) != 0;
        sum += v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        negative += v < 0;
        CHECK(set.rows[i].code == NULL && set.rows[i].question[0] != '\0');
    }
    CHECK(finite == 1319);
    CHECK(sum == 9009187.0 && lo == -10.0 && hi == 2880000.0 && negative == 2);
    CHECK(set.count > 0 && set.rows[0].reference == 18 && set.rows[0].line == 1);
    CHECK(set.count == 1319 && set.rows[1318].reference == 14 && set.rows[1318].line == 1319);
    CHECK(strncmp(set.rows[0].question, "Janet\xe2\x80\x99s ducks lay 16 eggs", 26) == 0);
    tinygsm_set_free(&set);
    /* max_rows */
    CHECK(tinygsm_load(path, 10, &set, &err) == 0 && set.count == 10);
    tinygsm_set_free(&set);
}

#define CODE(body) "\"def simple_math_problem() -> int:\\n" body "\""

static void test_tinygsm_load(void) {
    char path[512];
    write_text(
        "tinygsm.jsonl",
        "{\"question\": \"q1\", \"code\": " CODE(
            "    a = 5\\n    return a * 3\\n") "}\n"
                                               "{\"question\": \"q2\", \"solution\": " CODE(
                                                   "    return 7 / 2\\n") "}\n"
                                                                          "{\"question\": "
                                                                          "\"q3\", "
                                                                          "\"answer\":"
                                                                          " " CODE(
                                                                              "    return "
                                                                              "round(2.5)"
                                                                              "\\n") "}\n"
                                                                                     "{\"que"
                                                                                     "stion"
                                                                                     "\": "
                                                                                     "\"q4\""
                                                                                     ", "
                                                                                     "\"code"
                                                                                     "\":"
                                                                                     " " CODE(
                                                                                         "  "
                                                                                         "  "
                                                                                         "re"
                                                                                         "tu"
                                                                                         "rn"
                                                                                         " 1"
                                                                                         " /"
                                                                                         " 0"
                                                                                         "\\"
                                                                                         "n") "}\n"
                                                                                              "{\"q"
                                                                                              "uest"
                                                                                              "ion"
                                                                                              "\": "
                                                                                              "\"q5"
                                                                                              "\", "
                                                                                              "\"an"
                                                                                              "swer"
                                                                                              "\": "
                                                                                              "\"so"
                                                                                              " 3 "
                                                                                              "+ 4 "
                                                                                              "= "
                                                                                              "7\\n"
                                                                                              "####"
                                                                                              " 7\""
                                                                                              "}\n"
                                                                                              "{\"q"
                                                                                              "uest"
                                                                                              "ion"
                                                                                              "\": "
                                                                                              "\"q6"
                                                                                              "\", "
                                                                                              "\"an"
                                                                                              "swer"
                                                                                              "\": "
                                                                                              "\"12"
                                                                                              "\"}"
                                                                                              "\n",
        path, sizeof path);
    TinyGsmSet set = {0};
    Err err;
    CHECK_MSG(tinygsm_load(path, 0, &set, &err) == 0, "%s", err.msg);
    CHECK(set.count == 5 && set.dropped == 1);
    if (set.count == 5) {
        CHECK(strcmp(set.rows[0].question, "q1") == 0 && set.rows[0].reference == 15);
        CHECK(strstr(set.rows[0].code, "return a * 3") != NULL);
        CHECK(set.rows[1].reference == 3.5 && set.rows[1].code != NULL);
        CHECK(set.rows[2].reference == 2 && set.rows[2].code != NULL);
        CHECK(set.rows[3].reference == 7 && set.rows[3].code == NULL && set.rows[3].line == 5);
        CHECK(set.rows[4].reference == 12 && set.rows[4].code == NULL);
    }
    tinygsm_set_free(&set);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"{\"code\": \"x\"}\n", ":1: field 'question' missing"},
        {"{\"question\": 3}\n", ":1: field 'question' is not a string"},
        {"{\"question\": \"q\"}\n", ":1: row has no solution"},
        {"{\"question\": \"q\", \"answer\": \"#### many\"}\n", ":1: no number after '####'"},
        {"{\"question\": \"q\", \"answer\": \"1\"}\n{\"question\": \"q\", \"answer\": \"1\"\n",
         ":2: column 32: unterminated object"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        write_text("bad_tinygsm.jsonl", bad[k].text, path, sizeof path);
        int rc = tinygsm_load(path, 0, &set, &err);
        CHECK_MSG(rc == -1 && strstr(err.msg, bad[k].want) && strstr(err.msg, path),
                  "want '%s', got rc %d '%s'", bad[k].want, rc, err.msg);
        tinygsm_set_free(&set);
    }
}

static void test_score_row(void) {
    static const struct {
        const char *text;
        int correct, evaluated;
        double reference;
        const char *error; /* substring of the candidate's error, or NULL */
    } rows[] = {
        {"{\"code\": " CODE("    return 18\\n") ", \"answer\": \"x\\n#### 18\"}", 1, 1, 18, NULL},
        {"{\"code\": " CODE("    return 36 / 2\\n") ", \"answer\": 18}", 1, 1, 18, NULL},
        {"{\"code\": " CODE("    return 0.1 * 3\\n") ", \"answer\": \"0.3\"}", 1, 1, 0.3, NULL},
        {"{\"code\": " CODE("    return 1234.0005\\n") ", \"answer\": \"#### 1,234\"}", 1, 1, 1234,
         NULL},
        {"{\"code\": " CODE("    return 1234.002\\n") ", \"answer\": \"#### 1,234\"}", 0, 1, 1234,
         NULL},
        {"{\"code\": " CODE("    return 17\\n") ", \"answer\": \"18\"}", 0, 1, 18, NULL},
        {"{\"code\": " CODE("    return 1 / 0\\n") ", \"answer\": 1}", 0, 0, 1,
         "line 2: division by zero"},
        {"{\"code\": \"print(18)\", \"answer\": 18}", 0, 0, 18, "expected a function definition"},
        {"{\"code\": null, \"answer\": 18}", 0, 0, 18, "code is null"},
        {"{\"code\": " CODE("    return 1e308 * 10\\n") ", \"answer\": 1}", 0, 1, 1,
         "not a finite number"},
        {"{\"code\": " CODE("    return 6\\n") ", \"reference_code\": " CODE(
             "    return 2 * 3\\n") "}",
         1, 1, 6, NULL},
    };
    JsonRow row = {0};
    Err err;
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        TinyGsmScore s;
        CHECK_MSG(parse(&row, rows[k].text, &err) == 0, "%s", err.msg);
        int rc = tinygsm_score_row(&row, &s, &err);
        CHECK_MSG(rc == 0 && s.correct == rows[k].correct && s.evaluated == rows[k].evaluated &&
                      s.reference == rows[k].reference,
                  "row %zu: rc %d correct %d evaluated %d reference %g %s", k, rc, s.correct,
                  s.evaluated, s.reference, rc ? err.msg : s.error);
        if (rows[k].error)
            CHECK_MSG(strstr(s.error, rows[k].error) != NULL, "row %zu: error '%s'", k, s.error);
        else
            CHECK(s.error[0] == '\0');
    }
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"{\"answer\": 1}", "field 'code' missing"},
        {"{\"code\": 5, \"answer\": 1}", "field 'code' is not a string"},
        {"{\"code\": \"x\"}", "neither 'answer' nor 'reference_code'"},
        {"{\"code\": \"x\", \"answer\": \"many\"}", "'answer' holds no number"},
        {"{\"code\": \"x\", \"answer\": [1]}", "'answer' must be a string or a number"},
        {"{\"code\": \"x\", \"reference_code\": \"oops\"}", "'reference_code' does not evaluate"},
        {"{\"code\": \"x\", \"reference_code\": 3}", "'reference_code' is not a string"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        TinyGsmScore s;
        CHECK(parse(&row, bad[k].text, &err) == 0);
        int rc = tinygsm_score_row(&row, &s, &err);
        CHECK_MSG(rc == -1 && strstr(err.msg, bad[k].want), "%s: rc %d '%s'", bad[k].text, rc,
                  err.msg);
    }
    json_row_free(&row);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mdmlab_test_jsonl_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_parse_values();
    test_parse_errors();
    test_append_string_round_trip();
    test_reader();
    test_gsm8k_answer_number();
    test_gsm8k_test_split();
    test_tinygsm_load();
    test_score_row();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_summary("jsonl");
}
