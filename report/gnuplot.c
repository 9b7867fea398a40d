#include "gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Okabe & Ito (2008), "Color Universal Design": distinguishable under the common forms of
 * colour blindness. */
static const char *const palette[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                      "#56B4E9", "#D55E00", "#F0E442", "#000000"};
#define PALETTE_N ((int)(sizeof palette / sizeof palette[0]))

const char *gp_colour(int method_index) {
    return palette[(method_index % PALETTE_N + PALETTE_N) % PALETTE_N];
}

/* A single-quoted gnuplot string: '' stands for a quote; line breaks become spaces. */
static void quoted(StrBuf *sb, const char *s) {
    sb_append(sb, "'", 1);
    for (; s && *s; s++) {
        if (*s == '\'')
            sb_append(sb, "''", 2);
        else if (*s == '\n' || *s == '\r' || *s == '\t')
            sb_append(sb, " ", 1);
        else
            sb_append(sb, s, 1);
    }
    sb_append(sb, "'", 1);
}

static void set_string(StrBuf *sb, const char *what, const char *value) {
    sb_printf(sb, "set %s ", what);
    quoted(sb, value);
    sb_append(sb, "\n", 1);
}

static void preamble(StrBuf *sb, const char *name, const char *what, const char *title,
                     const char *xlabel, const char *ylabel) {
    sb_printf(sb,
              "# %s\n"
              "# Regenerate %s.png and %s.svg: cd to this directory, then gnuplot %s.gp\n"
              "set encoding utf8\n"
              "set datafile separator \"\\t\"\n"
              "set datafile missing \"NaN\"\n",
              what, name, name, name);
    set_string(sb, "title", title);
    set_string(sb, "xlabel", xlabel);
    set_string(sb, "ylabel", ylabel);
    sb_printf(sb, "set grid lc rgb '#d8d8d8' lw 1\n"
                  "set border lw 1.2\n"
                  "set key outside below center horizontal maxcols 2 Left reverse nobox samplen 3 "
                  "spacing 1.1\n");
}

/* Draws the plot command once per terminal: PNG first, then the same plot as SVG. */
static void render(StrBuf *sb, const char *name, const StrBuf *plot) {
    sb_printf(sb,
              "set terminal pngcairo size 900,600 noenhanced font ',11'\n"
              "set output '%s.png'\n"
              "%s"
              "set terminal svg size 900,600 noenhanced font ',11' background '#ffffff'\n"
              "set output '%s.svg'\n"
              "replot\n"
              "unset output\n",
              name, plot->data, name);
}

/* Appends ", \\\n    " between plot elements. */
static void next_element(StrBuf *plot, int *count) {
    sb_printf(plot, *count ? ", \\\n     " : "plot ");
    (*count)++;
}

/* A plot with nothing to draw still produces a figure saying so. */
static void empty_plot(StrBuf *plot, const char *why) {
    sb_printf(plot, "set label 1 ");
    quoted(plot, why);
    sb_printf(plot, " at graph 0.5, 0.5 center\nplot [0:1][0:1] NaN notitle\n");
}

static void seeds_title(StrBuf *plot, const char *label, int n_seeds) {
    char t[1100];
    snprintf(t, sizeof t, "%s (%d seed%s)", label, n_seeds, n_seeds == 1 ? "" : "s");
    sb_printf(plot, " title ");
    quoted(plot, t);
}

/* The min-max band of method i (columns band_lo, band_hi of data). */
static void band(StrBuf *plot, int *count, int i, const char *data, int band_lo, int band_hi) {
    next_element(plot, count);
    sb_printf(plot,
              "'%s' using 1:%d:%d with filledcurves fs transparent solid 0.18 noborder "
              "lc rgb '%s' notitle",
              data, band_lo, band_hi, gp_colour(i));
}

/* The mean line of method i (column mean of data), titled with its seed count. */
static void mean_line(StrBuf *plot, int *count, const GpMethods *m, int i, const char *data,
                      int mean, const char *mean_style) {
    next_element(plot, count);
    sb_printf(plot, "'%s' using 1:%d with %s lc rgb '%s'", data, mean, mean_style, gp_colour(i));
    seeds_title(plot, m->label[i], m->n_seeds[i]);
}

static int any_data(const GpMethods *m) {
    for (int i = 0; i < m->n; i++)
        if (m->n_seeds[i] > 0) return 1;
    return 0;
}

void gp_curves_script(StrBuf *sb, const char *title, const char *ylabel, const GpMethods *m,
                      const double *target, int show_smoothed, int from_zero) {
    preamble(sb, "curves",
             "Accuracy vs training step: per method the mean over seeds (line) and"
             " the min-max band over seeds; dashed: the speedup target.",
             title, "training step", ylabel);
    /* accuracy from 0; a loss-like curve (NELBO) where its values are */
    sb_printf(sb, from_zero ? "set yrange [0:*]\n" : "set offsets 0, 0, graph 0.05, graph 0.05\n");
    StrBuf plot = {0};
    int count = 0;
    if (!any_data(m)) empty_plot(&plot, "no finished runs");
    /* every band first, then every line: no band hides another method's mean */
    for (int i = 0; i < m->n; i++)
        if (m->n_seeds[i] > 0) band(&plot, &count, i, "curves.tsv", 3 + 4 * i, 4 + 4 * i);
    for (int i = 0; i < m->n; i++) {
        if (m->n_seeds[i] <= 0) continue;
        mean_line(&plot, &count, m, i, "curves.tsv", 2 + 4 * i, "linespoints lw 2 pt 7 ps 0.7");
        if (show_smoothed) {
            next_element(&plot, &count);
            sb_printf(&plot, "'curves.tsv' using 1:%d with lines lw 1.5 dt 3 lc rgb '%s' notitle",
                      5 + 4 * i, gp_colour(i));
        }
    }
    if (count && show_smoothed) {
        next_element(&plot, &count);
        sb_printf(&plot, "keyentry with lines lw 1.5 dt 3 lc rgb '#555555' "
                         "title 'EMA-smoothed mean (dotted)'");
    }
    if (count) {
        next_element(&plot, &count);
        sb_printf(&plot, "keyentry with filledcurves fs transparent solid 0.25 noborder "
                         "lc rgb '#555555' title 'min-max over seeds'");
    }
    /* One shared target line, or one per comparison in the compared method's colour. */
    int shared = 1, first = -1;
    for (int i = 0; i < m->n; i++) {
        if (!isfinite(target[i])) continue;
        if (first < 0)
            first = i;
        else if (target[i] != target[first])
            shared = 0;
    }
    for (int i = first; count && i >= 0 && i < m->n; i++) {
        if (!isfinite(target[i])) continue;
        char t[1100];
        if (shared)
            snprintf(t, sizeof t, "target %.3g", target[i]);
        else
            snprintf(t, sizeof t, "target %.3g (%s vs baseline)", target[i], m->label[i]);
        next_element(&plot, &count);
        sb_printf(&plot, "%.6g with lines dt 2 lw 1.5 lc rgb '%s' title ", target[i],
                  shared ? "#555555" : gp_colour(i));
        quoted(&plot, t);
        if (shared) break;
    }
    if (count) sb_printf(&plot, "\n");
    render(sb, "curves", &plot);
    sb_free(&plot);
}

void gp_loss_script(StrBuf *sb, const char *title, const GpMethods *m, int validation, double ylo,
                    double yhi) {
    const char *name = validation ? "val_loss" : "loss";
    char tsv[32];
    snprintf(tsv, sizeof tsv, "%s.tsv", name);
    preamble(sb, name,
             validation
                 ? "Validation loss vs step: the NELBO bound (random masking at fixed time points,"
                   " the same masks for every method and step) on the eval examples; per method"
                   " the mean over seeds (line) and the min-max band. Unlike the training losses,"
                   " these levels compare across methods."
                 : "Training loss vs step: per method the mean over seeds (line) and the"
                   " min-max band over seeds. Methods that mask differently optimise different"
                   " losses, so their levels are not comparable.",
             title, "training step",
             validation ? "validation NELBO (nats/token, random masking)"
                        : "training loss (its own masking)");
    /* the setting, then what is drawn: one line would not fit. Each method's training loss
     * is under its own masking distribution, not one quantity; the validation bound masks the
     * same eval examples the same way for every method. */
    sb_printf(sb, "set title ");
    quoted(sb, title);
    sb_printf(sb, " . \"%s\" . ", *title ? "\\n" : "");
    quoted(sb, validation ? "validation loss under random masking (the same masks for every method)"
                          : "training loss under each method's own masking distribution");
    sb_append(sb, "\n", 1);
    /* Cross-entropy falls by orders of magnitude; a log axis keeps the late differences (a
     * range under 5x reads better on a linear axis, with gnuplot's own tics). */
    if (any_data(m) && ylo > 0 && yhi / ylo >= 5)
        sb_printf(
            sb, "set logscale y\n"
                "set autoscale yfix\n"
                "set offsets 0, 0, graph 0.03, graph 0.03\n"
                "set ytics add (0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 2, 3, 5, 7, "
                "20, 50)\n"
                "set mytics 10\n");
    StrBuf plot = {0};
    int count = 0;
    if (!any_data(m)) empty_plot(&plot, "no finished runs");
    for (int i = 0; i < m->n; i++)
        if (m->n_seeds[i] > 0) band(&plot, &count, i, tsv, 3 + 3 * i, 4 + 3 * i);
    for (int i = 0; i < m->n; i++)
        if (m->n_seeds[i] > 0) mean_line(&plot, &count, m, i, tsv, 2 + 3 * i, "lines lw 1.5");
    if (count) {
        next_element(&plot, &count);
        sb_printf(&plot, "keyentry with filledcurves fs transparent solid 0.25 noborder "
                         "lc rgb '#555555' title 'min-max over seeds'\n");
    }
    render(sb, name, &plot);
    sb_free(&plot);
}

void gp_axis_script(StrBuf *sb, const char *title, const char *key, const char *ylabel,
                    char groups[][512], int n_groups, int log_x) {
    char name[256], what[400];
    snprintf(name, sizeof name, "axis_%s", key);
    snprintf(what, sizeof what,
             "The metric against %s: per group of the other axes, the final value (points, "
             "min-max over seeds) and the best (dashed), means over seeds.",
             key);
    preamble(sb, name, what, title, key, ylabel);
    if (log_x) sb_printf(sb, "set logscale x\nset format x '%%g'\n");
    sb_printf(sb, "set autoscale xfix\n"); /* the values, not the next round tic */
    sb_printf(sb, "set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05\n");
    if (strstr(ylabel, "accuracy")) sb_printf(sb, "set yrange [0:*]\n");
    StrBuf plot = {0};
    int count = 0;
    for (int g = 0; g < n_groups; g++) {
        char t[600];
        snprintf(t, sizeof t, "%s%sfinal", groups[g], groups[g][0] ? ": " : "");
        next_element(&plot, &count);
        /* the first group's values label the x axis (a log axis has few tics of its own) */
        sb_printf(&plot,
                  "'axis_%s.tsv' index %d using 1:2:3:4%s with yerrorlines lw 2 pt 7 ps 0.9 "
                  "lc rgb '%s' title ",
                  key, g, g == 0 ? ":xtic(sprintf('%g', $1))" : "", gp_colour(g));
        quoted(&plot, t);
        snprintf(t, sizeof t, "%s%sbest", groups[g], groups[g][0] ? ": " : "");
        next_element(&plot, &count);
        sb_printf(&plot,
                  "'' index %d using 1:5 with linespoints dt 2 lw 1.5 pt 6 lc rgb '%s' title ", g,
                  gp_colour(g));
        quoted(&plot, t);
    }
    if (!count) empty_plot(&plot, "no finished runs");
    if (count) sb_printf(&plot, "\n");
    render(sb, name, &plot);
    sb_free(&plot);
}

void gp_decode_script(StrBuf *sb, const char *title, const GpMethods *m) {
    preamble(sb, "decode",
             "Idle steps of the ancestral sampler: per method the fraction of its T steps that "
             "reveal nothing, at the last evaluation (mean over seeds, min-max bars).",
             title, "ancestral sampler steps T", "idle-step ratio (steps revealing nothing / T)");
    sb_printf(sb, "set logscale x 2\n"
                  "set offsets graph 0.04, graph 0.04, graph 0.05, graph 0.05\n"
                  "set yrange [0:*]\n");
    StrBuf plot = {0};
    int count = 0;
    if (!any_data(m)) empty_plot(&plot, "no ancestral-sampler rows in eval.csv");
    for (int i = 0; i < m->n; i++) {
        if (m->n_seeds[i] <= 0) continue;
        next_element(&plot, &count);
        sb_printf(&plot,
                  "'decode.tsv' using 1:%d:%d:%d with yerrorlines lw 1.5 pt 7 ps 0.9 "
                  "lc rgb '%s'",
                  2 + 3 * i, 3 + 3 * i, 4 + 3 * i, gp_colour(i));
        seeds_title(&plot, m->label[i], m->n_seeds[i]);
    }
    if (count) sb_printf(&plot, "\n");
    render(sb, "decode", &plot);
    sb_free(&plot);
}

void gp_footnote(StrBuf *sb, const char *text) {
    int lines = 0;
    for (const char *p = text; p && *p; p++) lines += *p == '\n';
    if (!lines) return;
    /* under the title, above the plot (the key owns the bottom), one label per line */
    sb_printf(sb, "set tmargin %d\n", 3 + (3 * lines + 1) / 2);
    int i = 0;
    for (const char *line = text; *line; i++) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        sb_printf(sb, "set label %d \"warning: ", 90 + i);
        for (size_t k = 0; k < len; k++) { /* a gnuplot double-quoted string */
            if (line[k] == '"' || line[k] == '\\') sb_append(sb, "\\", 1);
            sb_append(sb, line + k, 1);
        }
        sb_printf(sb, "\" at screen 0.01, screen %.3f left font ',9' tc rgb '#b00000'\n",
                  0.925 - 0.032 * i);
        line += len + (nl != NULL);
    }
}

/* One speedup series (value column v, interval v+1 and v+2, status column st) at x = row +
 * dx: the point with its interval, its value beside it, and the status where it has none. */
static void speedup_series(StrBuf *plot, int *count, int v, int st, double dx, int pt,
                           const char *what) {
    next_element(plot, count);
    sb_printf(plot,
              "'speedup.tsv' using ($1%+.2f):%d:(valid(%d) ? $%d : $%d):(valid(%d) ? $%d : $%d):"
              "(C[int($2)+1]) with yerrorbars pt %d ps 1.6 lw 1.5 lc rgb variable notitle",
              dx, v, v + 1, v + 1, v, v + 2, v + 2, v, pt);
    next_element(plot, count);
    sb_printf(plot,
              "'' using ($1%+.2f):%d:(valid(%d) ? sprintf('%%.3g [%%.3g, %%.3g]', $%d, $%d, $%d) "
              ": sprintf('%%.3g', $%d)) with labels left offset 1.2, 0 font ',9' notitle",
              dx, v, v + 1, v, v + 1, v + 2, v);
    next_element(plot, count);
    sb_printf(plot,
              "'' using ($1%+.2f):(1):(strcol(%d) eq 'ok' ? '' : '%s ' . strcol(%d)) "
              "with labels left offset 1.2, 0.8 font ',9' notitle",
              dx, st, what, st);
}

void gp_speedup_script(StrBuf *sb, const char *title, const char *baseline, int n_rows,
                       int has_step, int has_wall) {
    char ylabel[1100];
    snprintf(ylabel, sizeof ylabel, "speedup over %s (log scale)", baseline);
    preamble(sb, "speedup",
             "Speedup over the baseline per method: points = estimates, bars = 95% bootstrap "
             "intervals over seeds, on a log axis around the 1x line; under each method its "
             "target and the share of bootstrap resamples censored.",
             title, "", ylabel);
    sb_printf(sb, "array C[%d] = [", PALETTE_N);
    for (int i = 0; i < PALETTE_N; i++) sb_printf(sb, "%s0x%s", i ? ", " : "", palette[i] + 1);
    sb_printf(sb,
              "]\n"
              "set grid noxtics ytics mytics\n"
              "set xtics scale 0 font ',9'\n"
              "set logscale y 2\n"
              "set ytics (0.125, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 8, 16)\n"
              "set format y '%%gx'\n"
              "set offsets 0, 0, graph 0.15, graph 0.15\n"
              "set xrange [-0.6:%d.9]\n"
              "set bmargin 8\n",
              n_rows - 1 > 0 ? n_rows - 1 : 0);
    StrBuf plot = {0};
    int count = 0;
    if (n_rows == 0) {
        empty_plot(&plot, "no method to compare with the baseline");
    } else {
        if (!has_step && !has_wall)
            sb_printf(&plot, "set label 1 'every speedup is censored or unknown' "
                             "at graph 0.5, 0.5 center\n");
        /* x tics: the method, its target and its censored resamples, from an invisible series */
        next_element(&plot, &count);
        sb_printf(&plot,
                  "'speedup.tsv' using 1:(1):('') :xtic(sprintf(\"%%s\\ntarget %%.3g, "
                  "%%.0f%%%% of resamples censored\", strcol(3), $12, $13 > 0 ? 100.0 * $14 / $13 "
                  ": 0)) with labels notitle");
        next_element(&plot, &count);
        sb_printf(&plot, "1 with lines dt 2 lw 1.5 lc rgb 'black' title 'no speedup (1x)'");
        if (has_step) speedup_series(&plot, &count, 4, 10, has_wall ? -0.18 : 0.0, 7, "steps:");
        if (has_wall) speedup_series(&plot, &count, 7, 11, has_step ? 0.18 : 0.0, 5, "seconds:");
        if (has_step) {
            next_element(&plot, &count);
            sb_printf(&plot, "keyentry with points pt 7 ps 1.4 lc rgb '#555555' "
                             "title 'training steps to target'");
        }
        if (has_wall) {
            next_element(&plot, &count);
            sb_printf(&plot, "keyentry with points pt 5 ps 1.4 lc rgb '#555555' "
                             "title 'training seconds to target (wall-clock)'");
        }
        sb_printf(&plot, "\n");
    }
    render(sb, "speedup", &plot);
    sb_free(&plot);
}

/* ---- running gnuplot ------------------------------------------------------------------- */

int gnuplot_find(char *out, size_t n) {
    const char *path = getenv("PATH");
    out[0] = '\0';
    if (!path) return 0;
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        /* An empty PATH entry means the current directory. */
        const char *entry = len ? path : ".";
        int entry_len = len ? (int)len : 1;
        char found[4096];
        /* Absolute, because gnuplot_run executes it after changing directory. */
        if ((size_t)snprintf(found, sizeof found, "%.*s/gnuplot", entry_len, entry) <
                sizeof found &&
            access(found, X_OK) == 0) {
            char abs[PATH_MAX];
            if (found[0] != '/' && realpath(found, abs)) snprintf(found, sizeof found, "%s", abs);
            if ((size_t)snprintf(out, n, "%s", found) < n) return 1;
        }
        path += len + (colon ? 1 : 0);
    }
    out[0] = '\0';
    return 0;
}

/* First line of what gnuplot said on stderr, for the error message. */
static void first_line(const char *text, char *out, size_t n) {
    while (*text == '\n' || *text == ' ') text++;
    size_t len = strcspn(text, "\n");
    snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), text);
}

int gnuplot_run(const char *gnuplot, const char *dir, const char *script, Err *err) {
    int fds[2];
    if (pipe(fds) != 0)
        return err_set(err, "gnuplot %s: cannot create a pipe: %s", script, strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return err_set(err, "gnuplot %s: cannot fork: %s", script, strerror(e));
    }
    if (pid == 0) {
        /* Child: only async-signal-safe calls until exec. */
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        dup2(fds[1], 2);
        close(fds[0]);
        if (chdir(dir) != 0) _exit(126);
        char *const argv[] = {(char *)"gnuplot", (char *)script, NULL};
        execv(gnuplot, argv);
        _exit(127);
    }
    close(fds[1]);
    char said[2048];
    size_t n = 0;
    for (;;) {
        char chunk[512];
        ssize_t got = read(fds[0], chunk, sizeof chunk);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        size_t keep = (size_t)got < sizeof said - 1 - n ? (size_t)got : sizeof said - 1 - n;
        memcpy(said + n, chunk, keep);
        n += keep;
    }
    said[n] = '\0';
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return err_set(err, "gnuplot %s: %s", script, strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    char line[512];
    first_line(said, line, sizeof line);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
        return err_set(err, "gnuplot %s: cannot enter directory '%s'", script, dir);
    if (WIFEXITED(status))
        return err_set(err, "gnuplot %s (in '%s') failed with exit status %d%s%s", script, dir,
                       WEXITSTATUS(status), *line ? ": " : "", line);
    return err_set(err, "gnuplot %s (in '%s') was killed by signal %d", script, dir,
                   WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

void gp_step_importance_script(StrBuf *sb, const char *title) {
    preamble(sb, "step_importance",
             "Step importance: at each masked fraction t, the masked-token loss of the heavy and "
             "the light model (left axis) and KL(heavy || light) (right axis).",
             title, "t (fraction of positions masked)", "masked-token loss (nats)");
    sb_printf(sb, "set ytics nomirror\nset y2tics\nset y2label 'KL(heavy || light) (nats)'\n");
    StrBuf plot = {0};
    int count = 0;
    static const char *const series[3] = {"heavy model", "light model", "KL(heavy || light)"};
    for (int i = 0; i < 3; i++) {
        next_element(&plot, &count);
        sb_printf(&plot,
                  "'step_importance.tsv' using 1:%d%s with linespoints lw 1.5 pt 7 "
                  "ps 0.7 lc rgb '%s' title ",
                  2 + i, i == 2 ? " axes x1y2" : "", gp_colour(i));
        quoted(&plot, series[i]);
    }
    sb_printf(&plot, "\n");
    render(sb, "step_importance", &plot);
    sb_free(&plot);
}

void gp_pareto_script(StrBuf *sb, const char *title, const char *cost, const char *quality) {
    preamble(sb, "pareto",
             "Cost vs quality: every point (grey), the non-dominated ones (no other point is "
             "cheaper and at least as good) joined and labelled.",
             title, cost, quality);
    sb_printf(sb, "set offsets graph 0.03, graph 0.12, graph 0.06, graph 0.03\n" /* labels */
                  "set format x '%%.3g'\n"
                  "set rmargin 7\n");
    StrBuf plot = {0};
    int count = 0;
    next_element(&plot, &count);
    sb_printf(&plot, "'pareto.tsv' using 2:3 with points pt 7 ps 0.8 lc rgb '#999999' "
                     "title 'all points'");
    next_element(&plot, &count);
    sb_printf(&plot,
              "'pareto.tsv' using 2:($4 > 0 ? $3 : NaN) with linespoints lw 1.5 pt 7 "
              "ps 1 lc rgb '%s' title 'Pareto front'",
              gp_colour(0));
    next_element(&plot, &count);
    /* neighbours on the front take turns above and below their point, so close points'
     * labels do not print over each other */
    sb_printf(&plot, "'pareto.tsv' using 2:($5 > 0 && int($5) %% 2 ? $3 : NaN):1 with labels "
                     "offset 0.8,0.8 left font ',9' notitle");
    next_element(&plot, &count);
    sb_printf(&plot, "'pareto.tsv' using 2:($5 > 0 && int($5) %% 2 == 0 ? $3 : NaN):1 with labels "
                     "offset 0.8,-0.9 left font ',9' notitle\n");
    render(sb, "pareto", &plot);
    sb_free(&plot);
}

void gp_schedule_search_script(StrBuf *sb, const char *title, const char *quality,
                               const char *interval) {
    char what[256];
    snprintf(what, sizeof what,
             "Model scheduling: %s of every schedule searched, with its 95%% %s (the FLOPs "
             "saved are in the TSV).",
             quality, interval);
    preamble(sb, "schedule_search", what, title,
             "schedule (H heavy, L light steps, first step first)",
             strcmp(quality, "gen_ppl") == 0 ? "generative perplexity (AR scorer; lower is better)"
                                             : quality);
    int accuracy = strcmp(quality, "accuracy") == 0; /* its axis starts at 0, not below */
    sb_printf(sb,
              "set key inside top right opaque box\n"
              "set xtics rotate by 45 right font ',8'\n"
              "set bmargin 9\n"
              "set offsets 0.5, 0.5, graph 0.05, %s\n",
              accuracy ? "0\nset yrange [0:*]" : "graph 0.05");
    StrBuf plot = {0};
    sb_printf(&plot,
              "plot 'schedule_search.tsv' using 0:4:5:6:xtic(1) with yerrorbars pt 7 "
              "ps 0.8 lc rgb '%s' title '%s, 95%% interval'\n",
              gp_colour(0), quality);
    render(sb, "schedule_search", &plot);
    sb_free(&plot);
}
