#include "sweep_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "report/metrics_file.h"
#include "runstore.h"

/* A stop request (Ctrl-C, SIGTERM) reaches only the sweep, since each run has its own process
 * group; the sweep forwards it so every run checkpoints and is marked interrupted. */
static volatile sig_atomic_t sweep_stop_requested;

static void request_sweep_stop(int sig) {
    (void)sig;
    sweep_stop_requested = 1;
}

/* Seconds a run gets to checkpoint after SIGTERM before it is killed. */
#define TERM_GRACE_S 30.0

typedef struct Slot {
    const SweepRun *run;
    char dir[CFG_PATH];
    pid_t pid;
    RunStatus st;
    double t0;
    double term_sent_at; /* 0 = not sent */
    int timed_out;
} Slot;

typedef struct Exec {
    const Sweep *sw;
    const SweepExecOptions *o;
    Slot *slots; /* one per running run */
    int n_running;
    int *queue; /* run indices still to start */
    int n_queue, next;
    int n_selected;
    int finished_now; /* runs that ended in this invocation */
    double done_time; /* summed elapsed of runs done in this invocation */
    int stopping;
    int to_terminal;
    double t_start;
    SweepOutcome *out;
    StrBuf failures; /* the closing list of failed runs with their log tails */
    char git[128];
    char machine[256];
} Exec;

static double unix_time(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "commit" or "commit-dirty" of the repository holding the sweep file; "unknown" without git. */
static void git_revision(const char *sweep_file, char *out, size_t n) {
    snprintf(out, n, "unknown");
    char dir[CFG_PATH];
    snprintf(dir, sizeof(dir), "%s", sweep_file);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    StrBuf cmd = {0};
    sb_printf(&cmd, "git -C '");
    for (const char *c = dir; *c; c++) sb_printf(&cmd, *c == '\'' ? "'\\''" : "%c", *c);
    sb_printf(&cmd, "' ");
    size_t prefix = cmd.len;
    sb_printf(&cmd, "rev-parse HEAD 2>/dev/null");
    FILE *p = popen(cmd.data, "r");
    char commit[64] = "";
    if (p) {
        if (!fgets(commit, sizeof(commit), p)) commit[0] = '\0';
        pclose(p);
    }
    commit[strcspn(commit, "\n")] = '\0';
    if (commit[0]) {
        cmd.len = prefix;
        sb_printf(&cmd, "status --porcelain --untracked-files=no 2>/dev/null");
        char line[8] = "";
        p = popen(cmd.data, "r");
        int dirty = p && fgets(line, sizeof(line), p) != NULL;
        if (p) pclose(p);
        snprintf(out, n, "%s%s", commit, dirty ? "-dirty" : "");
    }
    sb_free(&cmd);
}

static int write_run_files(Exec *x, Slot *s, Err *err) {
    Config cfg;
    if (sweep_run_config(x->sw, s->run, &cfg, err)) return -1;
    snprintf(cfg.out_dir, sizeof(cfg.out_dir), "%s", s->dir);
    snprintf(cfg.train.resume, sizeof(cfg.train.resume), "auto");
    /* the sweep owns its run dirs: a run not done starts over unless it has a checkpoint */
    cfg.train.overwrite = 1;
    if (cfg.threads == 0) /* a launcher's ranks share the run's cores */
        cfg.threads = x->sw->ntasks > 1 && x->o->threads / x->sw->ntasks >= 1
                          ? x->o->threads / x->sw->ntasks
                          : x->o->threads;
    StrBuf sb = {0};
    config_write_yaml(&cfg, &sb);
    char path[CFG_PATH + 64];
    snprintf(path, sizeof(path), "%s/run.yaml", s->dir);
    int rc = write_file_atomic(path, sb.data, sb.len, err);
    sb.len = 0;
    sb_printf(&sb, "{\n  \"sweep\": ");
    sb_json_string(&sb, x->sw->path);
    sb_printf(&sb, ",\n  \"sweep_command\": ");
    sb_json_string(&sb, x->o->command_line ? x->o->command_line : "");
    sb_printf(&sb, ",\n  \"run_command\": ");
    StrBuf cmd = {0};
    sb_printf(&cmd, "%s%s%s train %s/run.yaml", x->sw->launcher, x->sw->launcher[0] ? " " : "",
              x->o->exe, s->dir);
    sb_json_string(&sb, cmd.data);
    sb_free(&cmd);
    sb_printf(&sb, ",\n  \"git\": ");
    sb_json_string(&sb, x->git);
    sb_printf(&sb, ",\n  \"machine\": ");
    sb_json_string(&sb, x->machine);
    sb_printf(&sb, ",\n  \"backend\": ");
    sb_json_string(&sb, cfg.backend);
    sb_printf(&sb, ",\n  \"threads\": %d,\n  \"launcher\": ", cfg.threads);
    sb_json_string(&sb, x->sw->launcher);
    sb_printf(&sb, ",\n  \"ranks\": %d\n}\n", x->sw->ntasks > 0 ? x->sw->ntasks : 1);
    snprintf(path, sizeof(path), "%s/meta.json", s->dir);
    if (rc == 0) rc = write_file_atomic(path, sb.data, sb.len, err);
    sb_free(&sb);
    return rc;
}

static void say(Exec *x, const char *fmt, ...) MDM_PRINTF(2, 3);

static void progress_counts(const Exec *x, char *out, size_t n);

/* One line per state change; off a terminal (no live line) it carries the counts and ETA. */
static void say(Exec *x, const char *fmt, ...) {
    if (x->to_terminal) fprintf(stderr, "\r\033[K");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (!x->to_terminal) {
        char counts[256];
        progress_counts(x, counts, sizeof counts);
        fprintf(stderr, "  [%s]", counts);
    }
    fputc('\n', stderr);
}

static void format_duration(double s, char *out, size_t n) {
    if (s < 0)
        snprintf(out, n, "?");
    else if (s < 60)
        snprintf(out, n, "%.0fs", s);
    else if (s < 3600)
        snprintf(out, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(out, n, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

/* "3/10 finished: 3 done, 0 failed; 2 running, 5 queued; elapsed 1m02s, ETA 2m40s" */
static void progress_counts(const Exec *x, char *out, size_t n) {
    int finished = x->out->done + x->out->failed + x->out->interrupted;
    int left = x->n_queue - x->next + x->n_running;
    double eta = -1;
    if (x->finished_now > 0 && x->done_time > 0) {
        int jobs = x->o->jobs < 1 ? 1 : x->o->jobs;
        eta = x->done_time / x->finished_now * left / (left < jobs ? (left ? left : 1) : jobs);
    }
    char eta_s[32], el[32];
    format_duration(eta, eta_s, sizeof(eta_s));
    format_duration(now_seconds() - x->t_start, el, sizeof(el));
    snprintf(out, n,
             "%d/%d finished: %d done, %d failed; %d running, %d queued; elapsed %s, ETA %s",
             finished, x->n_selected, x->out->done, x->out->failed, x->n_running,
             x->n_queue - x->next, el, eta_s);
}

static void draw_progress(Exec *x) {
    if (!x->to_terminal) return;
    char counts[256];
    progress_counts(x, counts, sizeof counts);
    fprintf(stderr, "\r\033[K[sweep %s] %s", x->sw->name, counts);
    fflush(stderr);
}

/* Removes a run directory this launch created when the run could not start, so that a failed
 * start leaves no empty run behind (rmdir keeps a directory that holds anything else). */
static void discard_new_run_dir(const char *dir) {
    static const char *const made[] = {".lock", "run.yaml", "meta.json", "status.json"};
    char path[CFG_PATH + 64];
    for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, made[i]);
        unlink(path);
    }
    rmdir(dir);
    char parent[CFG_PATH];
    snprintf(parent, sizeof(parent), "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash) {
        *slash = '\0';
        rmdir(parent); /* SWEEP/runs, when this was its first run */
    }
}

static int launch(Exec *x, int run_index, Err *err) {
    Slot *s = &x->slots[x->n_running];
    memset(s, 0, sizeof(*s));
    s->run = &x->sw->runs[run_index];
    runstore_run_dir(x->o->sweep_dir, s->run->id, s->dir, sizeof(s->dir));
    int existed = file_exists(s->dir);
    if (make_dirs(s->dir, err)) return -1;
    int lock = runstore_lock(s->dir, err);
    if (lock == -1) {
        if (!existed) discard_new_run_dir(s->dir);
        return -1;
    }
    if (lock == -2) {
        say(x, "[sweep] skip   #%d %s seed=%ld: another process is running it", s->run->index,
            s->run->method, s->run->seed);
        x->out->skipped_busy++;
        return 0;
    }
    if (runstore_read_status(s->dir, &s->st, err) || write_run_files(x, s, err)) {
        if (!existed) discard_new_run_dir(s->dir);
        close(lock);
        return -1;
    }
    int resumed =
        s->st.state == RUN_RUNNING || s->st.state == RUN_INTERRUPTED || s->st.state == RUN_FAILED;
    s->st.state = RUN_RUNNING;
    s->st.attempts++;
    s->st.exit_code = -1;
    s->st.term_signal = 0;
    s->st.started_at = unix_time();
    s->st.finished_at = 0;
    s->st.elapsed_s = 0;
    s->st.reason[0] = '\0';
    if (runstore_write_status(s->dir, s->run, &s->st, err)) {
        if (!existed) discard_new_run_dir(s->dir);
        close(lock);
        return -1;
    }
    char yaml[CFG_PATH + 64], log[CFG_PATH + 64];
    snprintf(yaml, sizeof(yaml), "%s/run.yaml", s->dir);
    snprintf(log, sizeof(log), "%s/output.log", s->dir);
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(lock);
        return err_set(err, "cannot start a run: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        setpgid(0, 0);
        /* If the sweep dies (even by SIGKILL) its runs checkpoint and stop, so a re-run of the
         * sweep never races an orphan for the same run directory. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(130);
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int in = open("/dev/null", O_RDONLY);
        if (out < 0 || in < 0) _exit(127);
        dup2(in, 0);
        dup2(out, 1);
        dup2(out, 2);
        char *argv[40], launcher[CFG_STR];
        int argc = 0;
        snprintf(launcher, sizeof launcher, "%s", x->sw->launcher);
        char *save = NULL;
        for (char *t = strtok_r(launcher, " ", &save); t && argc < 36;
             t = strtok_r(NULL, " ", &save))
            argv[argc++] = t;
        argv[argc++] = (char *)x->o->exe;
        argv[argc++] = "train";
        argv[argc++] = yaml;
        argv[argc] = NULL;
        if (argv[0] == x->o->exe)
            execv(x->o->exe, argv);
        else
            execvp(argv[0], argv);
        _exit(127);
    }
    setpgid(pid, pid);
    close(lock); /* the run's process holds the lock now */
    s->pid = pid;
    s->t0 = now_seconds();
    x->n_running++;
    say(x, "[sweep] start  #%d %s seed=%ld (%s, attempt %d)%s", s->run->index, s->run->method,
        s->run->seed, s->run->id, s->st.attempts, resumed ? ", resuming" : "");
    return 0;
}

/* The failing line of a run's log: its last "error:" line, else its last line. */
static void failure_reason(const char *dir, char *out, size_t n) {
    StrBuf tail = {0};
    runstore_log_tail(dir, 20, &tail);
    out[0] = '\0';
    if (!tail.data) return;
    char *best = NULL;
    for (char *line = strtok(tail.data, "\n"); line; line = strtok(NULL, "\n"))
        if (!best || strstr(line, "error:")) best = line;
    if (best) snprintf(out, n, "%s", best);
    sb_free(&tail);
}

static int finish(Exec *x, int slot_index, int wstatus, Err *err) {
    Slot *s = &x->slots[slot_index];
    RunStatus *st = &s->st;
    st->finished_at = unix_time();
    st->elapsed_s = now_seconds() - s->t0;
    char why[400] = "";
    if (WIFEXITED(wstatus)) {
        st->exit_code = WEXITSTATUS(wstatus);
        if (st->exit_code == 0) {
            st->state = RUN_DONE;
        } else if (st->exit_code == 130 && !s->timed_out) {
            st->state = RUN_INTERRUPTED;
            snprintf(st->reason, sizeof(st->reason), "stopped on request; checkpoint saved");
        } else {
            st->state = RUN_FAILED;
            failure_reason(s->dir, why, sizeof(why));
            snprintf(st->reason, sizeof(st->reason), "exit code %d: %s", st->exit_code, why);
        }
    } else {
        st->term_signal = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
        st->state = RUN_FAILED;
        snprintf(st->reason, sizeof(st->reason), "killed by signal %d (%s)", st->term_signal,
                 strsignal(st->term_signal));
    }
    if (s->timed_out && st->state != RUN_DONE) {
        st->state = RUN_FAILED;
        snprintf(st->reason, sizeof(st->reason), "timed out after %.0f s (limit %.0f s)",
                 st->elapsed_s, x->o->timeout_s);
    }
    int rc = runstore_write_status(s->dir, s->run, st, err);
    char el[32];
    format_duration(st->elapsed_s, el, sizeof(el));
    x->finished_now++;
    x->n_running--; /* counted out before the lines below report the counts */
    if (st->state == RUN_DONE) {
        x->out->done++;
        x->done_time += st->elapsed_s;
        say(x, "[sweep] done   #%d %s seed=%ld in %s", s->run->index, s->run->method, s->run->seed,
            el);
    } else if (st->state == RUN_INTERRUPTED) {
        x->out->interrupted++;
        say(x, "[sweep] paused #%d %s seed=%ld after %s (checkpoint saved)", s->run->index,
            s->run->method, s->run->seed, el);
    } else {
        x->out->failed++;
        say(x, "[sweep] FAILED #%d %s seed=%ld after %s: %s", s->run->index, s->run->method,
            s->run->seed, el, st->reason);
        StrBuf tail = {0};
        runstore_log_tail(s->dir, 5, &tail);
        sb_printf(&x->failures, "  #%d %s seed=%ld (%s): %s\n", s->run->index, s->run->method,
                  s->run->seed, s->dir, st->reason);
        if (tail.data)
            for (char *line = strtok(tail.data, "\n"); line; line = strtok(NULL, "\n"))
                sb_printf(&x->failures, "      | %s\n", line);
        sb_free(&tail);
        if (x->o->fail_fast) x->stopping = 1;
    }
    x->slots[slot_index] = x->slots[x->n_running];
    return rc;
}

static void signal_runs(Exec *x, int sig) {
    for (int i = 0; i < x->n_running; i++) kill(-x->slots[i].pid, sig);
}

static void enforce_timeouts(Exec *x) {
    double now = now_seconds();
    for (int i = 0; i < x->n_running; i++) {
        Slot *s = &x->slots[i];
        if (x->o->timeout_s > 0 && !s->term_sent_at && now - s->t0 > x->o->timeout_s) {
            s->timed_out = 1;
            s->term_sent_at = now;
            kill(-s->pid, SIGTERM);
        } else if (s->term_sent_at && now - s->term_sent_at > TERM_GRACE_S) {
            kill(-s->pid, SIGKILL);
        }
    }
}

/* Which runs this invocation starts: selected by --only / --shard, not done, not failed
 * (unless retrying). */
static int build_queue(Exec *x, Err *err) {
    const Sweep *sw = x->sw;
    const SweepExecOptions *o = x->o;
    /* never more runs at a time than runs: -j 1000000 must not allocate a million slots */
    int slots = o->jobs < 1 ? 1 : o->jobs < sw->n_runs ? o->jobs : sw->n_runs;
    x->queue = calloc((size_t)sw->n_runs, sizeof(int));
    x->slots = calloc((size_t)slots, sizeof(Slot));
    if (!x->queue || !x->slots) return err_set(err, "out of memory");
    for (int i = 0; i < sw->n_runs; i++) {
        const SweepRun *r = &sw->runs[i];
        if ((o->only >= 0 && r->index != o->only) ||
            (o->shard_count > 1 && r->index % o->shard_count != o->shard_index)) {
            x->out->not_selected++;
            continue;
        }
        x->n_selected++;
        char dir[CFG_PATH];
        RunStatus st;
        runstore_run_dir(o->sweep_dir, r->id, dir, sizeof(dir));
        if (runstore_read_status(dir, &st, err)) return -1;
        if (st.state == RUN_DONE) {
            x->out->done++;
        } else if (st.state == RUN_FAILED && !o->retry_failed) {
            x->out->failed++;
            sb_printf(&x->failures,
                      "  #%d %s seed=%ld (%s): %s [failed earlier; --retry-failed "
                      "runs it again]\n",
                      r->index, r->method, r->seed, dir, st.reason);
        } else {
            x->queue[x->n_queue++] = i;
        }
    }
    return 0;
}

int sweep_execute(const Sweep *sw, const SweepExecOptions *o, SweepOutcome *out, Err *err) {
    memset(out, 0, sizeof(*out));
    Exec x = {.sw = sw, .o = o, .out = out, .to_terminal = isatty(STDERR_FILENO)};
    x.t_start = now_seconds();
    git_revision(sw->path, x.git, sizeof(x.git));
    machine_fingerprint(x.machine, sizeof(x.machine));
    int rc = build_queue(&x, err);
    if (rc == 0 && out->done + out->failed > 0)
        say(&x, "[sweep %s] %d of %d selected runs already finished (%d done, %d failed)", sw->name,
            out->done + out->failed, x.n_selected, out->done, out->failed);

    sweep_stop_requested = 0;
    StopSignals saved;
    stop_signals_catch(&saved, request_sweep_stop);
    int forwarded = 0;
    while (rc == 0 && (x.n_running > 0 || (x.next < x.n_queue && !x.stopping))) {
        if (sweep_stop_requested) x.stopping = 1;
        if (x.stopping && !forwarded) {
            signal_runs(&x, SIGTERM);
            forwarded = 1;
            say(&x, "[sweep] stopping: each running run writes a checkpoint and stops");
        }
        while (!x.stopping && x.next < x.n_queue && x.n_running < (o->jobs > 0 ? o->jobs : 1))
            if ((rc = launch(&x, x.queue[x.next++], err))) break;
        int wstatus;
        pid_t pid = waitpid(-1, &wstatus, WNOHANG);
        if (pid > 0) {
            for (int i = 0; i < x.n_running; i++)
                if (x.slots[i].pid == pid) {
                    if (finish(&x, i, wstatus, err)) rc = -1;
                    break;
                }
            draw_progress(&x);
            continue;
        }
        enforce_timeouts(&x);
        draw_progress(&x);
        struct timespec nap = {0, 100 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    if (rc != 0) { /* a harness error: stop the runs cleanly before reporting it */
        signal_runs(&x, SIGTERM);
        while (x.n_running > 0) {
            int wstatus;
            pid_t pid = waitpid(-1, &wstatus, 0);
            for (int i = 0; pid > 0 && i < x.n_running; i++)
                if (x.slots[i].pid == pid) {
                    Err ignored;
                    finish(&x, i, wstatus, &ignored);
                    break;
                }
            if (pid < 0 && errno != EINTR) break;
        }
    }
    stop_signals_restore(&saved);
    if (x.to_terminal) fprintf(stderr, "\r\033[K");
    int not_started = x.n_queue - x.next;
    char el[32];
    format_duration(now_seconds() - x.t_start, el, sizeof(el));
    fprintf(stderr,
            "[sweep %s] %d selected: %d done, %d failed, %d interrupted, %d not started%s (%s)\n",
            sw->name, x.n_selected, out->done, out->failed, out->interrupted, not_started,
            out->skipped_busy ? ", some busy elsewhere" : "", el);
    if (x.failures.len) fprintf(stderr, "failed runs:\n%s", x.failures.data);
    sb_free(&x.failures);
    free(x.queue);
    free(x.slots);
    if (rc != 0) return -1;
    if (sweep_stop_requested) return 130;
    return out->done == x.n_selected ? 0 : 1;
}

int sweep_write_slurm(const Sweep *sw, const char *sweep_file, char *const *overrides,
                      int n_overrides, const char *sweep_dir, const char *exe,
                      const char *script_path, Err *err) {
    StrBuf extra = {0};
    for (int i = 0; i < n_overrides; i++) sb_printf(&extra, " '%s'", overrides[i]);
    StrBuf sb = {0};
    sb_printf(&sb,
              "#!/bin/sh\n"
              "# Slurm array for sweep %s: task i runs plan index i (see %s/plan.tsv).\n"
              "# Submit with: sbatch %s\n"
              "#SBATCH --job-name=mdmlab-%s\n"
              "#SBATCH --array=0-%d\n"
              "#SBATCH --cpus-per-task=2\n"
              "#SBATCH --ntasks=%d\n"
              "#SBATCH --output=%s/slurm-%%A_%%a.out\n"
              "set -e\n"
              "exec '%s' sweep '%s'%s --out '%s' --only \"$SLURM_ARRAY_TASK_ID\" -j 1 "
              "--no-report\n",
              sw->name, sweep_dir, script_path, sw->name, sw->n_runs - 1,
              sw->ntasks > 0 ? sw->ntasks : 1, sweep_dir, exe, sweep_file,
              extra.data ? extra.data : "", sweep_dir);
    int rc = write_file_atomic(script_path, sb.data, sb.len, err);
    sb_free(&sb);
    sb_free(&extra);
    return rc;
}
