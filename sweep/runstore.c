#include "runstore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tasks/lib/jsonl.h"

static const char *const state_names[] = {"pending", "running", "done", "failed", "interrupted"};

const char *run_state_name(RunState s) {
    return s >= RUN_PENDING && s <= RUN_INTERRUPTED ? state_names[s] : "?";
}

void runstore_run_dir(const char *sweep_dir, const char *id, char *out, size_t n) {
    snprintf(out, n, "%s/runs/%s", sweep_dir, id);
}

int runstore_write_status(const char *run_dir, const SweepRun *run, const RunStatus *st, Err *err) {
    StrBuf sb = {0};
    sb_printf(&sb, "{\n  \"id\": ");
    sb_json_string(&sb, run->id);
    sb_printf(&sb, ",\n  \"method\": ");
    sb_json_string(&sb, run->method);
    sb_printf(&sb,
              ",\n  \"seed\": %ld,\n  \"state\": \"%s\",\n  \"attempts\": %d,\n"
              "  \"exit_code\": %d,\n  \"signal\": %d,\n  \"started_at\": %.3f,\n"
              "  \"finished_at\": %.3f,\n  \"elapsed_s\": %.3f,\n  \"reason\": ",
              run->seed, run_state_name(st->state), st->attempts, st->exit_code, st->term_signal,
              st->started_at, st->finished_at, st->elapsed_s);
    sb_json_string(&sb, st->reason);
    sb_printf(&sb, "\n}\n");
    char path[CFG_PATH + 64];
    snprintf(path, sizeof(path), "%s/status.json", run_dir);
    int rc = write_file_atomic(path, sb.data, sb.len, err);
    sb_free(&sb);
    return rc;
}

/* The number field key of status.json; names it in *bad when it is missing or not a number. */
static int status_number(const JsonRow *row, const char *key, double *out, const char **bad) {
    const JsonField *f = json_row_find(row, key);
    if (!f || f->type != JSON_NUMBER) {
        *bad = key;
        return -1;
    }
    *out = f->number;
    return 0;
}

/* The string field key of status.json, copied (truncated) into out[0..n); as status_number. */
static int status_string(const JsonRow *row, const char *key, char *out, size_t n,
                         const char **bad) {
    const JsonField *f = json_row_find(row, key);
    if (!f || f->type != JSON_STRING) {
        *bad = key;
        return -1;
    }
    snprintf(out, n, "%s", f->str);
    return 0;
}

static int state_from_name(const char *name, RunState *out) {
    for (int s = RUN_PENDING; s <= RUN_INTERRUPTED; s++)
        if (strcmp(name, state_names[s]) == 0) {
            *out = (RunState)s;
            return 0;
        }
    return -1;
}

/* Fills st from status.json's parsed fields (path names it in errors). */
static int status_from_row(const JsonRow *row, const char *path, RunStatus *st, Err *err) {
    char state[32];
    double attempts, exit_code, sig;
    const char *bad = NULL;
    if (status_string(row, "state", state, sizeof(state), &bad) ||
        status_number(row, "attempts", &attempts, &bad) ||
        status_number(row, "exit_code", &exit_code, &bad) ||
        status_number(row, "signal", &sig, &bad) ||
        status_number(row, "started_at", &st->started_at, &bad) ||
        status_number(row, "finished_at", &st->finished_at, &bad) ||
        status_number(row, "elapsed_s", &st->elapsed_s, &bad) ||
        status_string(row, "reason", st->reason, sizeof(st->reason), &bad))
        return err_set(err, "%s: not a run status file: field '%s' is missing or malformed", path,
                       bad);
    if (state_from_name(state, &st->state) != 0)
        return err_set(err, "%s: field 'state': unknown value '%s'", path, state);
    st->attempts = (int)attempts;
    st->exit_code = (int)exit_code;
    st->term_signal = (int)sig;
    return 0;
}

int runstore_read_status(const char *run_dir, RunStatus *st, Err *err) {
    memset(st, 0, sizeof(*st));
    st->exit_code = -1;
    char path[CFG_PATH + 64];
    snprintf(path, sizeof(path), "%s/status.json", run_dir);
    if (!file_exists(path)) return 0;
    char *text;
    size_t len;
    if (read_file_all(path, &text, &len, err)) return -1;
    JsonRow row = {0};
    Err perr;
    int rc = json_row_parse(&row, text, len, &perr);
    if (rc != 0)
        err_set(err, "%s: not a run status file: %s", path, perr.msg);
    else
        rc = status_from_row(&row, path, st, err);
    json_row_free(&row);
    free(text);
    return rc;
}

int runstore_lock(const char *run_dir, Err *err) {
    char path[CFG_PATH + 64];
    snprintf(path, sizeof(path), "%s/.lock", run_dir);
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0) return err_set(err, "%s: cannot open: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        close(fd);
        return busy ? -2 : err_set(err, "%s: cannot lock: %s", path, strerror(errno));
    }
    return fd;
}

void runstore_log_tail(const char *run_dir, int lines, StrBuf *out) {
    char path[CFG_PATH + 64];
    snprintf(path, sizeof(path), "%s/output.log", run_dir);
    char *text;
    size_t len;
    Err ignored;
    if (read_file_all(path, &text, &len, &ignored)) return;
    size_t start = len;
    /* Progress lines end in \r on a terminal; the log is not one, so newlines suffice. */
    while (start > 0 && len > 0 && text[len - 1] == '\n') len--;
    start = len;
    for (int seen = 0; start > 0; start--)
        if (text[start - 1] == '\n' && ++seen == lines) break;
    sb_append(out, text + start, len - start);
    free(text);
}

void runstore_label_alias(const Sweep *sw, const SweepRun *run, char *out, size_t n) {
    StrBuf sb = {0};
    const char *item = run->method;
    for (int i = 0; i < sw->report.n_labels; i++) /* the sweep file's own name of the method */
        if (strcmp(sw->report.label_method[i], run->method) == 0) {
            sb_printf(&sb, "%s", sw->report.label_text[i]);
            item = "";
        }
    while (*item) { /* "puma.K=4": "K4"; "process=puma": "puma" */
        size_t len = strcspn(item, ",");
        const char *eq = memchr(item, '=', len);
        if (eq) {
            const char *key = item, *dot;
            while ((dot = memchr(key, '.', (size_t)(eq - key)))) key = dot + 1;
            if (sb.len) sb_append(&sb, "_", 1);
            if (strncmp(item, "process=", 8) != 0) sb_append(&sb, key, (size_t)(eq - key));
            sb_append(&sb, eq + 1, len - (size_t)(eq + 1 - item));
        }
        item += len + (item[len] == ',');
    }
    snprintf(out, n, "%s-s%ld", sb.len ? sb.data : "run", run->seed);
    for (char *c = out; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '-' || *c == '_'))
            *c = '_';
    sb_free(&sb);
}

/* SWEEP/by-label/<alias> -> ../runs/<id> for every run (a link resolves once its run has
 * started); an alias two runs share gets the second run's plan index appended. */
static void link_labels(const char *sweep_dir, const Sweep *sw) {
    char dir[CFG_PATH + 32];
    snprintf(dir, sizeof dir, "%s/by-label", sweep_dir);
    mkdir(dir, 0755);
    for (int i = 0; i < sw->n_runs; i++) {
        char alias[SWEEP_LABEL_LEN + 32], link[CFG_PATH + SWEEP_LABEL_LEN + 96],
            target[SWEEP_ID_LEN + 16], old[SWEEP_ID_LEN + 16];
        runstore_label_alias(sw, &sw->runs[i], alias, sizeof alias);
        snprintf(target, sizeof target, "../runs/%s", sw->runs[i].id);
        snprintf(link, sizeof link, "%s/%s", dir, alias);
        ssize_t got = readlink(link, old, sizeof old - 1);
        if (got >= 0) old[got] = '\0';
        if (got >= 0 && strcmp(old, target) == 0) continue;
        for (int j = 0; j < i; j++) { /* taken by an earlier run of this plan */
            char other[SWEEP_LABEL_LEN + 32];
            runstore_label_alias(sw, &sw->runs[j], other, sizeof other);
            if (strcmp(other, alias) == 0) {
                snprintf(link, sizeof link, "%s/%s-%d", dir, alias, sw->runs[i].index);
                break;
            }
        }
        unlink(link);                             /* a link of an earlier plan (--force) */
        if (symlink(target, link) != 0) continue; /* aliases are a convenience */
    }
}

int runstore_write_plan(const char *sweep_dir, const Sweep *sw, Err *err) {
    StrBuf sb = {0};
    sb_printf(&sb, "index\tid\tseed\tmethod\n");
    for (int i = 0; i < sw->n_runs; i++)
        sb_printf(&sb, "%d\t%s\t%ld\t%s\n", sw->runs[i].index, sw->runs[i].id, sw->runs[i].seed,
                  sw->runs[i].method);
    char path[CFG_PATH + 64];
    snprintf(path, sizeof(path), "%s/plan.tsv", sweep_dir);
    int rc = write_file_atomic(path, sb.data, sb.len, err);
    sb_free(&sb);
    if (rc == 0) link_labels(sweep_dir, sw);
    return rc;
}

int runstore_plan_differs(const char *sweep_dir, const Sweep *sw, char *why, size_t n) {
    char path[CFG_PATH + 64];
    snprintf(path, sizeof(path), "%s/plan.tsv", sweep_dir);
    char *text;
    size_t len;
    Err ignored;
    if (!file_exists(path) || read_file_all(path, &text, &len, &ignored)) return 0;
    int old_runs = 0, missing = 0;
    for (char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        char *id = strchr(line + 1, '\t');
        if (!id) continue;
        old_runs++;
        int found = 0;
        for (int i = 0; i < sw->n_runs && !found; i++)
            found =
                strncmp(id + 1, sw->runs[i].id, SWEEP_ID_LEN - 1) == 0 && id[SWEEP_ID_LEN] == '\t';
        missing += !found;
    }
    free(text);
    int added = sw->n_runs - (old_runs - missing);
    if (missing == 0 && added == 0) return 0;
    snprintf(why, n, "its plan has %d runs, this sweep %d (%d not in this sweep, %d new)", old_runs,
             sw->n_runs, missing, added);
    return 1;
}
