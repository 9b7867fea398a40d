/* `mdmlab gen tinygsm` and `mdmlab score tinygsm`. */
#include "tinygsm_cmd.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/lib/jsonl.h"
#include "tasks/lib/pyeval.h"
#include "tinygsm_data.h"
#include "tinygsm_gen.h"

/* -o builds the file in memory for one atomic write (about 600 bytes a row). */
#define GEN_MAX_COUNT 1000000L
#define GEN_CHUNK     4096L

static void gen_usage(FILE *f) {
    fprintf(f,
            "usage: mdmlab gen tinygsm --count N --seed S [--steps MIN-MAX] [--max-number N]\n"
            "                          [-o FILE]\n\n"
            "Writes N generated grade-school word problems as JSONL rows in TinyGSM's shape,\n"
            "{\"question\": ..., \"code\": \"def simple_math_problem() -> int: ...\"}, to FILE\n"
            "(atomically) or stdout. Rows depend only on (seed, row number).\n"
            "  --steps MIN-MAX   arithmetic operators per solution, 1..%d (default 2-6)\n"
            "  --max-number N    largest quantity, price, rate or duration drawn (default 100)\n"
            "templates: shopping, travel, percent, sharing, relations, savings\n",
            TINYGSM_MAX_STEPS);
}

static void score_usage(FILE *f) {
    fprintf(f,
            "usage: mdmlab score tinygsm FILE.jsonl [--verbose]\n\n"
            "Evaluates each row's candidate solution and prints correct/total and the accuracy.\n"
            "Row fields: \"code\" the candidate (Python, run by the restricted evaluator; null\n"
            "counts as wrong); the reference is \"answer\" (GSM8K text ending '#### N', a bare\n"
            "number, or a JSON number) or, without \"answer\", \"reference_code\" (code whose\n"
            "value is the reference). Correct = |value - reference| <= 1e-3. A candidate that\n"
            "fails to run is wrong; a malformed row is an error naming FILE:LINE.\n"
            "  --verbose   one JSON object per row first: {\"line\", \"correct\", \"value\",\n"
            "              \"reference\", \"error\"}\n");
}

static int is_help(const char *a) {
    return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* "MIN-MAX" or a single count */
static int parse_steps(const char *s, TinyGsmGenOptions *o) {
    long lo, hi;
    char first[32];
    const char *dash = strchr(s, '-');
    size_t k = dash ? (size_t)(dash - s) : strlen(s);
    if (k >= sizeof first) return -1;
    memcpy(first, s, k);
    first[k] = '\0';
    if (parse_long(first, 1, TINYGSM_MAX_STEPS, &lo) != 0) return -1;
    hi = lo;
    if (dash && parse_long(dash + 1, 1, TINYGSM_MAX_STEPS, &hi) != 0) return -1;
    if (lo > hi) return -1;
    o->min_steps = (int)lo;
    o->max_steps = (int)hi;
    return 0;
}

typedef struct GenArgs {
    TinyGsmGenOptions opt;
    long count;
    unsigned long long seed;
    const char *out_path;
    int have_count, have_seed, help;
} GenArgs;

static int gen_parse_args(int argc, char **argv, GenArgs *a, Err *err) {
    memset(a, 0, sizeof *a);
    tinygsm_gen_defaults(&a->opt);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (is_help(arg)) {
            a->help = 1;
            return 0;
        }
        char opt[32];
        const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
        size_t opt_len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (arg[0] != '-' || opt_len >= sizeof opt)
            return err_set(err, "gen tinygsm: unexpected argument '%s'", arg);
        memcpy(opt, arg, opt_len);
        opt[opt_len] = '\0';
        const char *val = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!val) return err_set(err, "gen tinygsm: %s needs a value", opt);
        long n;
        if (strcmp(opt, "--count") == 0) {
            if (parse_long(val, 1, GEN_MAX_COUNT, &a->count))
                return err_set(err, "gen tinygsm: --count '%s': expected 1..%ld", val,
                               GEN_MAX_COUNT);
            a->have_count = 1;
        } else if (strcmp(opt, "--seed") == 0) {
            char *end;
            errno = 0;
            a->seed = strtoull(val, &end, 10);
            if (errno || end == val || *end || val[0] == '-')
                return err_set(err, "gen tinygsm: --seed '%s': expected a non-negative integer",
                               val);
            a->have_seed = 1;
        } else if (strcmp(opt, "--steps") == 0) {
            if (parse_steps(val, &a->opt))
                return err_set(err, "gen tinygsm: --steps '%s': expected MIN-MAX within 1-%d", val,
                               TINYGSM_MAX_STEPS);
        } else if (strcmp(opt, "--max-number") == 0) {
            if (parse_long(val, TINYGSM_MIN_MAX_NUMBER, TINYGSM_MAX_MAX_NUMBER, &n))
                return err_set(err, "gen tinygsm: --max-number '%s': expected %d..%d", val,
                               TINYGSM_MIN_MAX_NUMBER, TINYGSM_MAX_MAX_NUMBER);
            a->opt.max_number = n;
        } else if (strcmp(opt, "-o") == 0 || strcmp(opt, "--out") == 0) {
            a->out_path = val;
        } else {
            return err_set(err, "gen tinygsm: unknown option '%s' (see mdmlab gen tinygsm --help)",
                           opt);
        }
    }
    if (!a->have_count) return err_set(err, "gen tinygsm: --count is required");
    if (!a->have_seed) return err_set(err, "gen tinygsm: --seed is required");
    return tinygsm_gen_validate(&a->opt, err);
}

int tinygsm_gen_command(int argc, char **argv, Err *err) {
    GenArgs a;
    if (gen_parse_args(argc, argv, &a, err) != 0) return 2;
    if (a.help) {
        gen_usage(stdout);
        return 0;
    }
    StrBuf sb = {0};
    int rc = 0;
    for (long first = 0; rc == 0 && first < a.count; first += GEN_CHUNK) {
        long n = a.count - first < GEN_CHUNK ? a.count - first : GEN_CHUNK;
        tinygsm_gen_jsonl(&a.opt, a.seed, first, n, &sb);
        if (!a.out_path) {
            if (fwrite(sb.data, 1, sb.len, stdout) != sb.len)
                rc = err_set(err, "writing stdout: %s", strerror(errno));
            sb.len = 0;
        }
    }
    if (rc == 0 && !a.out_path && fflush(stdout) != 0)
        rc = err_set(err, "writing stdout: %s", strerror(errno));
    if (rc == 0 && a.out_path) rc = write_file_atomic(a.out_path, sb.data, sb.len, err);
    sb_free(&sb);
    return rc == 0 ? 0 : 1;
}

/* A JSON number for a double: integers without a fraction, others in Python's repr. */
static void append_number(StrBuf *sb, double x) {
    if (!isfinite(x)) {
        sb_append(sb, "null", 4);
    } else if (x == trunc(x) && fabs(x) < 9007199254740992.0) {
        sb_printf(sb, "%.0f", x);
    } else {
        char buf[64];
        PyValue v = {1, 0, x};
        sb_printf(sb, "%s", pyeval_format(v, buf, sizeof buf));
    }
}

static void append_verbose_row(StrBuf *sb, long line, const TinyGsmScore *s) {
    sb_printf(sb, "{\"line\":%ld,\"correct\":%s,\"value\":", line, s->correct ? "true" : "false");
    char buf[64];
    if (s->evaluated && isfinite(pyeval_as_double(s->value)))
        sb_printf(sb, "%s", pyeval_format(s->value, buf, sizeof buf));
    else
        sb_append(sb, "null", 4);
    sb_append(sb, ",\"reference\":", 13);
    append_number(sb, s->reference);
    sb_append(sb, ",\"error\":", 9);
    if (s->error[0])
        sb_json_string(sb, s->error);
    else
        sb_append(sb, "null", 4);
    sb_append(sb, "}\n", 2);
}

int tinygsm_score_command(int argc, char **argv, Err *err) {
    const char *path = NULL;
    int verbose = 0;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            score_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0)
            verbose = 1;
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            err_set(err, "score: unexpected argument '%s' (see mdmlab score --help)", argv[i]);
            return 2;
        }
    }
    if (!path) {
        score_usage(stderr);
        return 2;
    }
    JsonlReader rd;
    if (jsonl_open(&rd, path, err) != 0) return 1;
    long correct = 0, total = 0;
    int rc;
    StrBuf out = {0};
    while ((rc = jsonl_next(&rd, err)) == 1) {
        TinyGsmScore s;
        Err row_err;
        if (tinygsm_score_row(&rd.row, &s, &row_err) != 0) {
            rc = err_set(err, "%s:%ld: %s", path, rd.line, row_err.msg);
            break;
        }
        total++;
        correct += s.correct;
        if (verbose) {
            out.len = 0;
            append_verbose_row(&out, rd.line, &s);
            fwrite(out.data, 1, out.len, stdout);
        }
    }
    jsonl_close(&rd);
    sb_free(&out);
    if (rc != 0) return 1;
    if (total == 0) {
        err_set(err, "%s: no rows to score", path);
        return 1;
    }
    printf("%ld/%ld correct (accuracy %.4f)\n", correct, total, (double)correct / (double)total);
    if (fflush(stdout) != 0) {
        err_set(err, "writing stdout: %s", strerror(errno));
        return 1;
    }
    return 0;
}
