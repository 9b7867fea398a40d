#include "runlog.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/lib/jsonl.h"

/* Step of a row: the "step" field of a JSONL object, the first field in CSV; -1 if none (or
 * the row is torn). */
static long row_step(JsonRow *row, const char *line, int is_jsonl) {
    if (is_jsonl) {
        Err ignored;
        if (json_row_parse(row, line, strlen(line), &ignored) != 0) return -1;
        const JsonField *f = json_row_find(row, "step");
        return f && f->type == JSON_NUMBER ? (long)f->number : -1;
    }
    char *end;
    long v = strtol(line, &end, 10);
    return end == line ? -1 : v;
}

/* Rewrite path keeping the header (CSV) and complete rows with step <= max_step. */
static int truncate_rows(const char *path, long max_step, int is_jsonl, Err *err) {
    char *data;
    size_t len;
    Err ignored;
    if (read_file_all(path, &data, &len, &ignored) != 0) return 0; /* nothing to keep */
    StrBuf keep = {0};
    JsonRow row = {0};
    int first = 1;
    for (char *line = data; line < data + len;) {
        char *nl = memchr(line, '\n', (size_t)(data + len - line));
        if (!nl) break; /* a torn last row is dropped */
        *nl = '\0';
        long step = row_step(&row, line, is_jsonl);
        if ((first && !is_jsonl) || (step >= 0 && step <= max_step)) {
            sb_append(&keep, line, strlen(line));
            sb_append(&keep, "\n", 1);
        }
        first = 0;
        line = nl + 1;
    }
    int rc = write_file_atomic(path, keep.data ? keep.data : "", keep.len, err);
    json_row_free(&row);
    sb_free(&keep);
    free(data);
    return rc;
}

static FILE *open_table(const char *dir, const char *name, const char *header, long resume_step,
                        Err *err) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int is_jsonl = header == NULL;
    if (resume_step >= 0 && truncate_rows(path, resume_step, is_jsonl, err) != 0) return NULL;
    FILE *f = fopen(path, resume_step >= 0 ? "a" : "w");
    if (!f) {
        err_set(err, "%s: cannot open for writing", path);
        return NULL;
    }
    if (header && ftell(f) == 0) fprintf(f, "%s\n", header);
    fflush(f);
    return f;
}

int runlog_open(RunLog *rl, const char *dir, long resume_step, int tables, Err *err) {
    memset(rl, 0, sizeof(*rl));
    if (make_dirs(dir, err) != 0) return -1;
    rl->jsonl = open_table(dir, "metrics.jsonl", NULL, resume_step, err);
    rl->train_csv = rl->jsonl ? open_table(dir, "train.csv",
                                           "step,loss,lr,grad_norm,tokens_per_s,wall_s,train_s",
                                           resume_step, err)
                              : NULL;
    rl->eval_csv =
        rl->train_csv
            ? open_table(dir, "eval.csv",
                         "step,policy,tokens_per_step,accuracy,correct,total,wall_s,train_s,nfe,"
                         "idle_step_ratio",
                         resume_step, err)
            : NULL;
    int ok = rl->eval_csv != NULL;
    if (ok && (tables & RUNLOG_ELBO)) {
        rl->elbo_csv = open_table(
            dir, "elbo.csv", "step,nelbo,ppl_bound,bits_per_byte,tokens,train_s", resume_step, err);
        ok = rl->elbo_csv != NULL;
    }
    if (ok && (tables & RUNLOG_SAMPLES)) {
        rl->samples = open_table(dir, "samples.txt", "step\tindex\ttext", resume_step, err);
        ok = rl->samples != NULL;
    }
    if (ok) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/log.txt", dir);
        rl->log = fopen(path, resume_step >= 0 ? "a" : "w");
        if (!rl->log) err_set(err, "%s: cannot open for writing", path);
    }
    if (!rl->log) {
        runlog_close(rl);
        return -1;
    }
    return 0;
}

int runlog_open_discard(RunLog *rl, Err *err) {
    memset(rl, 0, sizeof(*rl));
    FILE **files[] = {&rl->jsonl,    &rl->train_csv, &rl->eval_csv,
                      &rl->elbo_csv, &rl->samples,   &rl->log};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (!(*files[i] = fopen("/dev/null", "w"))) {
            runlog_close(rl);
            return err_set(err, "/dev/null: cannot open for writing");
        }
    return 0;
}

void runlog_train(RunLog *rl, const TrainRow *r) {
    fprintf(rl->jsonl,
            "{\"type\":\"train\",\"step\":%ld,\"loss\":%.17g,\"lr\":%.9g,\"grad_norm\":%.9g,"
            "\"tokens_per_s\":%.1f,\"wall_s\":%.3f,\"train_s\":%.3f}\n",
            r->step, r->loss, r->lr, r->grad_norm, r->tokens_per_s, r->wall_s, r->train_s);
    fprintf(rl->train_csv, "%ld,%.17g,%.9g,%.9g,%.1f,%.3f,%.3f\n", r->step, r->loss, r->lr,
            r->grad_norm, r->tokens_per_s, r->wall_s, r->train_s);
    fflush(rl->jsonl);
    fflush(rl->train_csv);
}

void runlog_eval(RunLog *rl, const EvalRow *r) {
    char acc[32] = "null"; /* JSON has no NaN (a text task's decoding row has no accuracy) */
    if (isfinite(r->accuracy)) snprintf(acc, sizeof acc, "%.6f", r->accuracy);
    fprintf(rl->jsonl,
            "{\"type\":\"eval\",\"step\":%ld,\"policy\":\"%s\",\"tokens_per_step\":%d,"
            "\"accuracy\":%s,\"correct\":%ld,\"total\":%ld,\"wall_s\":%.3f,\"train_s\":%.3f,"
            "\"nfe\":%.3f,\"idle_step_ratio\":%.6f}\n",
            r->step, r->policy, r->tokens_per_step, acc, r->correct, r->total, r->wall_s,
            r->train_s, r->nfe, r->idle_step_ratio);
    fprintf(rl->eval_csv, "%ld,%s,%d,%.6f,%ld,%ld,%.3f,%.3f,%.3f,%.6f\n", r->step, r->policy,
            r->tokens_per_step, r->accuracy, r->correct, r->total, r->wall_s, r->train_s, r->nfe,
            r->idle_step_ratio);
    fflush(rl->jsonl);
    fflush(rl->eval_csv);
}

void runlog_elbo(RunLog *rl, const ElboRow *r) {
    char bpb[32] = "null"; /* JSON has no NaN (a task whose tokens decode to no bytes) */
    if (isfinite(r->bits_per_byte)) snprintf(bpb, sizeof bpb, "%.9g", r->bits_per_byte);
    fprintf(rl->jsonl,
            "{\"type\":\"elbo\",\"step\":%ld,\"nelbo\":%.9g,\"ppl_bound\":%.9g,"
            "\"bits_per_byte\":%s,\"tokens\":%ld,\"train_s\":%.3f}\n",
            r->step, r->nelbo, r->ppl_bound, bpb, r->tokens, r->train_s);
    fprintf(rl->elbo_csv, "%ld,%.9g,%.9g,%.9g,%ld,%.3f\n", r->step, r->nelbo, r->ppl_bound,
            r->bits_per_byte, r->tokens, r->train_s);
    fflush(rl->jsonl);
    fflush(rl->elbo_csv);
}

void runlog_sample(RunLog *rl, long step, int index, const char *text) {
    fprintf(rl->samples, "%ld\t%d\t%s\n", step, index, text);
    fflush(rl->samples);
}

void runlog_line(RunLog *rl, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(rl->log, fmt, ap);
    va_end(ap);
    fputc('\n', rl->log);
    fflush(rl->log);
}

void runlog_close(RunLog *rl) {
    FILE *files[] = {rl->jsonl, rl->train_csv, rl->eval_csv, rl->elbo_csv, rl->samples, rl->log};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (files[i]) fclose(files[i]);
    memset(rl, 0, sizeof(*rl));
}
