/* TinyGSM generator: 10,000 rows parse as JSON, their code evaluates to the generator's answer,
 * the step count is exact, rows are deterministic per seed, differ across seeds, and every
 * template appears; then the `gen tinygsm` and `score tinygsm` commands end to end. */
#include "tasks/tinygsm/tinygsm_cmd.h"
#include "tasks/lib/jsonl.h"
#include "tasks/lib/pyeval.h"
#include "tasks/tinygsm/tinygsm_gen.h"
#include "check.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

#define HEADER "def simple_math_problem() -> int:\n    \"\"\"\n    "

/* Arithmetic operators in the body's assignments (after the docstring), counted from the text. */
static int count_operators(const char *code) {
    const char *body = strstr(code + strlen(HEADER), "\"\"\"\n");
    int n = 0;
    for (const char *line = body ? body + 4 : code; *line;) {
        const char *end = strchr(line, '\n');
        const char *eq = strstr(line, " = ");
        for (const char *c = eq && eq < end ? eq + 3 : end; c < end; c++) {
            if ((c[0] == '/' && c[1] == '/') || (c[0] == '*' && c[1] == '*')) {
                n++;
                c++;
            } else if (strchr("+-*/%", *c)) {
                n++;
            }
        }
        line = end + 1;
    }
    return n;
}

static void check_rows(const TinyGsmGenOptions *o, uint64_t seed, long count, int *template_seen) {
    TinyGsmProblem p = {0};
    JsonRow row = {0};
    StrBuf jsonl = {0};
    int failures = 0;
    for (long i = 0; i < count && failures < 5; i++) {
        Rng rng;
        rng_seed(&rng, seed, (uint64_t)i);
        tinygsm_generate(&rng, o, &p);
        template_seen[p.template_id]++;
        PyValue v;
        Err err;
        int rc = pyeval_run(p.code.data, p.code.len, &v, &err);
        int ok = rc == 0 && isfinite(pyeval_as_double(v)) &&
                 pyeval_as_double(v) == (double)p.answer && p.answer >= 0 &&
                 p.steps >= o->min_steps && p.steps <= o->max_steps &&
                 count_operators(p.code.data) == p.steps &&
                 strncmp(p.code.data, HEADER, strlen(HEADER)) == 0 &&
                 strstr(p.code.data, p.question.data) != NULL && p.code.len > 30 &&
                 strcmp(p.code.data + p.code.len - 18, "    return result\n") == 0;
        /* the JSONL row of the same index holds exactly this question, code and answer */
        jsonl.len = 0;
        tinygsm_gen_jsonl(o, seed, i, 1, &jsonl);
        Err jerr;
        const JsonField *q = NULL, *c = NULL, *a = NULL;
        if (json_row_parse(&row, jsonl.data, jsonl.len, &jerr) == 0) {
            q = json_row_find(&row, "question");
            c = json_row_find(&row, "code");
            a = json_row_find(&row, "answer");
        }
        ok = ok && row.n_fields == 3 && q && c && q->type == JSON_STRING &&
             c->type == JSON_STRING && a && a->type == JSON_NUMBER &&
             a->number == (double)p.answer && strcmp(q->str, p.question.data) == 0 &&
             strcmp(c->str, p.code.data) == 0 && jsonl.data[jsonl.len - 1] == '\n' &&
             memchr(jsonl.data, '\n', jsonl.len - 1) == NULL;
        if (!ok) {
            failures++;
            fprintf(stderr,
                    "row %ld (%s, steps %d, counted %d, answer %lld): rc %d %s value %.17g\n%s\n",
                    i, tinygsm_template_name(p.template_id), p.steps, count_operators(p.code.data),
                    p.answer, rc, rc ? err.msg : "", rc ? 0.0 : pyeval_as_double(v), p.code.data);
        }
        CHECK(ok);
    }
    tinygsm_problem_free(&p);
    json_row_free(&row);
    sb_free(&jsonl);
}

static void test_rows_evaluate(void) {
    TinyGsmGenOptions o;
    tinygsm_gen_defaults(&o);
    CHECK(o.min_steps == 2 && o.max_steps == 6 && o.max_number == 100);
    int seen[TINYGSM_TEMPLATES] = {0};
    check_rows(&o, 1, 10000, seen);
    for (int t = 0; t < TINYGSM_TEMPLATES; t++)
        CHECK_MSG(seen[t] > 1000, "template %s: %d rows of 10000", tinygsm_template_name(t),
                  seen[t]);
    /* the knobs' extremes */
    static const int ranges[][2] = {{1, 1}, {12, 12}, {1, 12}, {7, 9}};
    static const long numbers[] = {10, 1000000};
    for (int r = 0; r < 4; r++) {
        for (int k = 0; k < 2; k++) {
            o.min_steps = ranges[r][0];
            o.max_steps = ranges[r][1];
            o.max_number = numbers[k];
            int seen_r[TINYGSM_TEMPLATES] = {0};
            check_rows(&o, 2, 1000, seen_r);
        }
    }
}

/* Numbers in the code's assignments `name = 123`: the max-number knob bounds those drawn. */
static void test_max_number(void) {
    TinyGsmGenOptions o;
    tinygsm_gen_defaults(&o);
    for (int k = 0; k < 2; k++) {
        o.max_number = k == 0 ? 10 : 1000000;
        TinyGsmProblem p = {0};
        long small = 0, total = 0, huge = 0;
        for (long i = 0; i < 2000; i++) {
            Rng rng;
            rng_seed(&rng, 5, (uint64_t)i);
            tinygsm_generate(&rng, &o, &p);
            for (const char *c = strstr(p.code.data, " = "); c; c = strstr(c + 1, " = ")) {
                char *end;
                long v = strtol(c + 3, &end, 10);
                if (end == c + 3 || *end != '\n') continue; /* not a literal */
                total++;
                small += v <= 10 || v == 100; /* 100: a percentage */
                huge += v > 10000;
            }
        }
        if (k == 0)
            CHECK_MSG(small > total * 8 / 10, "max 10: %ld of %ld literals <= 10", small, total);
        else
            CHECK_MSG(huge > total / 4, "max 1e6: %ld of %ld literals > 10000", huge, total);
        tinygsm_problem_free(&p);
    }
}

static void test_determinism(void) {
    TinyGsmGenOptions o;
    tinygsm_gen_defaults(&o);
    StrBuf a = {0}, b = {0}, c = {0}, slice = {0};
    tinygsm_gen_jsonl(&o, 42, 0, 500, &a);
    tinygsm_gen_jsonl(&o, 42, 0, 500, &b);
    tinygsm_gen_jsonl(&o, 43, 0, 500, &c);
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    /* rows are independent of what came before them: row 200.. alone equals the slice */
    tinygsm_gen_jsonl(&o, 42, 200, 10, &slice);
    const char *start = a.data;
    for (int i = 0; i < 200; i++) start = strchr(start, '\n') + 1;
    CHECK(strncmp(start, slice.data, slice.len) == 0);
    /* another seed: nearly every row differs */
    int same = 0;
    const char *pa = a.data, *pc = c.data;
    for (int i = 0; i < 500; i++) {
        const char *ea = strchr(pa, '\n'), *ec = strchr(pc, '\n');
        same += ea - pa == ec - pc && memcmp(pa, pc, (size_t)(ea - pa)) == 0;
        pa = ea + 1;
        pc = ec + 1;
    }
    CHECK_MSG(same < 5, "%d of 500 rows equal across seeds", same);
    sb_free(&a);
    sb_free(&b);
    sb_free(&c);
    sb_free(&slice);
}

static void test_validate(void) {
    Err err;
    TinyGsmGenOptions o;
    tinygsm_gen_defaults(&o);
    CHECK(tinygsm_gen_validate(&o, &err) == 0);
    static const int bad_steps[][2] = {{0, 3}, {2, 13}, {5, 4}};
    for (int k = 0; k < 3; k++) {
        tinygsm_gen_defaults(&o);
        o.min_steps = bad_steps[k][0];
        o.max_steps = bad_steps[k][1];
        CHECK(tinygsm_gen_validate(&o, &err) == -1 && strstr(err.msg, "steps"));
    }
    tinygsm_gen_defaults(&o);
    o.max_number = 9;
    CHECK(tinygsm_gen_validate(&o, &err) == -1 && strstr(err.msg, "max number 9"));
    CHECK(strcmp(tinygsm_template_name(0), "shopping") == 0 &&
          strcmp(tinygsm_template_name(5), "savings") == 0);
}

/* Runs a command function with stdout sent to a file; returns its status. */
static int run_captured(int (*fn)(int, char **, Err *), char **argv, const char *out_path,
                        Err *err) {
    int argc = 0;
    while (argv[argc]) argc++;
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    err->msg[0] = '\0';
    int rc = fn(argc, argv, err);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    return rc;
}

static char *slurp(const char *path, size_t *len) {
    char *data = NULL;
    Err err;
    if (read_file_all(path, &data, len, &err) != 0) return NULL;
    return data;
}

static void path_in_tmp(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static void test_gen_command(void) {
    char out_file[512], stdout_file[512];
    path_in_tmp(out_file, sizeof out_file, "gen.jsonl");
    path_in_tmp(stdout_file, sizeof stdout_file, "stdout.txt");
    Err err;
    char *argv_file[] = {"tinygsm", "--count",         "300", "--seed", "7", "--steps",
                         "3-5",     "--max-number=50", "-o",  out_file, NULL};
    CHECK(run_captured(tinygsm_gen_command, argv_file, stdout_file, &err) == 0);
    char *argv_stdout[] = {"tinygsm", "--count=300",  "--seed", "7", "--steps",
                           "3-5",     "--max-number", "50",     NULL};
    CHECK(run_captured(tinygsm_gen_command, argv_stdout, stdout_file, &err) == 0);
    TinyGsmGenOptions o = {3, 5, 50};
    StrBuf want = {0};
    tinygsm_gen_jsonl(&o, 7, 0, 300, &want);
    size_t n1 = 0, n2 = 0;
    char *f1 = slurp(out_file, &n1), *f2 = slurp(stdout_file, &n2);
    CHECK(f1 && n1 == want.len && memcmp(f1, want.data, n1) == 0);
    CHECK(f2 && n2 == want.len && memcmp(f2, want.data, n2) == 0);
    free(f1);
    free(f2);
    sb_free(&want);

    static const struct {
        const char *args[6];
        const char *want;
    } bad[] = {
        {{"--seed", "1"}, "--count is required"},
        {{"--count", "5"}, "--seed is required"},
        {{"--count", "0", "--seed", "1"}, "--count '0'"},
        {{"--count", "5", "--seed", "-1"}, "--seed '-1'"},
        {{"--count", "5", "--seed", "1", "--steps", "4-2"}, "--steps '4-2'"},
        {{"--count", "5", "--seed", "1", "--steps", "0-13"}, "--steps '0-13'"},
        {{"--count", "5", "--seed", "1", "--max-number", "5"}, "--max-number '5'"},
        {{"--count", "5", "--seed", "1", "--bogus", "1"}, "unknown option '--bogus'"},
        {{"--count"}, "--count needs a value"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char *argv[8] = {"tinygsm"};
        for (int i = 0; i < 6 && bad[k].args[i]; i++) argv[i + 1] = (char *)bad[k].args[i];
        int rc = run_captured(tinygsm_gen_command, argv, stdout_file, &err);
        CHECK_MSG(rc == 2 && strstr(err.msg, bad[k].want), "want '%s', got %d '%s'", bad[k].want,
                  rc, err.msg);
    }
    char *help[] = {"tinygsm", "--help", NULL};
    CHECK(run_captured(tinygsm_gen_command, help, stdout_file, &err) == 0);
    size_t n = 0;
    char *text = slurp(stdout_file, &n);
    CHECK(text && strstr(text, "usage: mdmlab gen tinygsm"));
    free(text);
}

static void test_score_command(void) {
    char rows_file[512], stdout_file[512];
    path_in_tmp(rows_file, sizeof rows_file, "score.jsonl");
    path_in_tmp(stdout_file, sizeof stdout_file, "score_out.txt");
    /* 40 generated problems: even rows answered right, every third reference shifted by 1, one
     * candidate that crashes */
    TinyGsmGenOptions o;
    tinygsm_gen_defaults(&o);
    TinyGsmProblem p = {0};
    StrBuf sb = {0};
    long expect_correct = 0;
    for (int i = 0; i < 40; i++) {
        Rng rng;
        rng_seed(&rng, 11, (uint64_t)i);
        tinygsm_generate(&rng, &o, &p);
        int shifted = i % 3 == 0;
        sb_append(&sb, "{\"code\": ", 9);
        if (i == 7)
            sb_json_string_n(&sb, "def f():\n    return 1 / 0\n", 26);
        else
            sb_json_string_n(&sb, p.code.data, p.code.len);
        if (i % 2)
            sb_printf(&sb, ", \"answer\": \"work...\\n#### %lld\"}\n", p.answer + shifted);
        else
            sb_printf(&sb, ", \"answer\": %lld}\n", p.answer + shifted);
        if (i % 4 == 1) sb_append(&sb, "\n", 1); /* blank lines are skipped */
        expect_correct += !shifted && i != 7;
    }
    Err err;
    CHECK(write_file_atomic(rows_file, sb.data, sb.len, &err) == 0);
    char *argv[] = {"tinygsm", rows_file, NULL};
    CHECK(run_captured(tinygsm_score_command, argv, stdout_file, &err) == 0);
    size_t n = 0;
    char *text = slurp(stdout_file, &n);
    char want[700];
    snprintf(want, sizeof want, "%ld/40 correct (accuracy %.4f)\n", expect_correct,
             (double)expect_correct / 40.0);
    CHECK_MSG(text && strcmp(text, want) == 0, "got '%s', want '%s'", text ? text : "", want);
    free(text);

    /* --verbose: one JSON object per row, then the summary */
    char *argv_v[] = {"tinygsm", rows_file, "--verbose", NULL};
    CHECK(run_captured(tinygsm_score_command, argv_v, stdout_file, &err) == 0);
    text = slurp(stdout_file, &n);
    JsonRow row = {0};
    int rows = 0, correct = 0, errors = 0;
    for (char *line = text; line && *line;) {
        char *end = strchr(line, '\n');
        if (!end) break;
        if (line[0] == '{') {
            CHECK_MSG(json_row_parse(&row, line, (size_t)(end - line), &err) == 0, "%s", err.msg);
            const JsonField *ok = json_row_find(&row, "correct");
            const JsonField *line_no = json_row_find(&row, "line");
            const JsonField *e = json_row_find(&row, "error");
            CHECK(ok && ok->type == JSON_BOOL && line_no && line_no->type == JSON_NUMBER);
            CHECK(json_row_find(&row, "value") && json_row_find(&row, "reference") && e);
            correct += ok && ok->boolean;
            if (e && e->type == JSON_STRING) {
                errors++;
                CHECK(strstr(e->str, "division by zero") != NULL);
                CHECK(json_row_find(&row, "value")->type == JSON_NULL);
            }
            rows++;
        } else {
            CHECK(strcmp(line, want) == 0);
        }
        line = end + 1;
    }
    CHECK(rows == 40 && correct == expect_correct && errors == 1);
    json_row_free(&row);
    free(text);

    /* a malformed row names FILE:LINE and fails */
    sb.len = 0;
    sb_printf(&sb, "{\"code\": \"def f():\\n    return 1\\n\", \"answer\": 1}\n\n{\"code\": 1,");
    CHECK(write_file_atomic(rows_file, sb.data, sb.len, &err) == 0);
    int rc = run_captured(tinygsm_score_command, argv, stdout_file, &err);
    snprintf(want, sizeof want, "%s:3: column", rows_file);
    CHECK_MSG(rc == 1 && strstr(err.msg, want), "rc %d '%s'", rc, err.msg);
    sb.len = 0;
    sb_printf(&sb, "{\"code\": \"def f():\\n    return 1\\n\"}\n");
    CHECK(write_file_atomic(rows_file, sb.data, sb.len, &err) == 0);
    rc = run_captured(tinygsm_score_command, argv, stdout_file, &err);
    snprintf(want, sizeof want, "%s:1: row has neither 'answer' nor 'reference_code'", rows_file);
    CHECK_MSG(rc == 1 && strcmp(err.msg, want) == 0, "rc %d '%s'", rc, err.msg);
    char *argv_missing[] = {"tinygsm", "/nonexistent.jsonl", NULL};
    CHECK(run_captured(tinygsm_score_command, argv_missing, stdout_file, &err) == 1 &&
          strstr(err.msg, "cannot read '/nonexistent.jsonl'"));
    sb_free(&sb);
    tinygsm_problem_free(&p);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mdmlab_test_tinygsm_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_rows_evaluate();
    test_max_number();
    test_determinism();
    test_validate();
    test_gen_command();
    test_score_command();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_summary("tinygsm_gen");
}
