/* The TinyGSM task: sequence layout (question + SEP prompt, solution + EOS padding answer),
 * scoring through the restricted evaluator (the reference solution scores 1, a changed one 0,
 * with and without docstrings), GSM8K evaluation rows (reference = the number after ####),
 * rows that do not fit dropped, and bad data files reported with file and line. */
#include <stdlib.h>
#include <string.h>

#include "config_set.h"
#include "forward/config_schema.h"
#include "base/config.h"
#include "run/session.h"
#include "tasks/task.h"
#include "check.h"

static void base_config(Config *cfg) {
    config_defaults(cfg);
    snprintf(cfg->task_name, sizeof cfg->task_name, "tinygsm");
    cfg->task.train_count = 200;
    cfg->task.eval_count = 40;
    config_set(cfg, "task.max_steps", "%d", 4);
}

/* Index of SEP in an example: the last prompt position. */
static int sep_at(const unsigned char *is_prompt, int T) {
    int s = 0;
    while (s < T && is_prompt[s]) s++;
    return s - 1;
}

static void test_layout_and_score(int strip) {
    Config cfg;
    base_config(&cfg);
    config_set(&cfg, "task.strip_docstring", "%s", strip ? "true" : "false");
    Task t;
    Err err = {{0}};
    int rc = task_create(&t, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc) return;
    CHECK(t.seq_len == 768 && t.vocab_size == 259 && t.mask_id >= 256);
    CHECK(t.n_train > 150 && t.n_eval > 30); /* a few long rows may not fit */
    int T = t.seq_len, *tok = malloc(sizeof(int) * T);
    unsigned char *pr = malloc((size_t)T);
    int all_correct = 1, any_docstring = 0, without_code = 0;
    for (long i = 0; i < t.n_eval; i++) {
        t.ops->example(&t, SPLIT_EVAL, i, tok, pr);
        int sep = sep_at(pr, T);
        CHECK(sep > 10 && tok[sep] > 256 && tok[sep] != t.mask_id); /* SEP is a special */
        for (int j = 0; j < sep; j++) CHECK(tok[j] < 256);          /* question bytes */
        CHECK(tok[T - 1] == 256);                                   /* EOS padding */
        char code[800];
        int n = 0;
        for (int j = sep + 1; j < T && tok[j] < 256; j++) code[n++] = (char)tok[j];
        code[n] = '\0';
        if (n == 0) { /* an evaluation row whose solution does not fit keeps only its number */
            without_code++;
            continue;
        }
        CHECK(strncmp(code, "def simple_math_problem()", 25) == 0);
        any_docstring |= strstr(code, "\"\"\"") != NULL;
        all_correct &= t.ops->score(&t, SPLIT_EVAL, i, tok);
        /* an answer that does not parse is simply wrong */
        tok[sep + 1] = 'x';
        CHECK(!t.ops->score(&t, SPLIT_EVAL, i, tok));
    }
    CHECK_MSG(all_correct, "a reference solution did not score");
    CHECK(any_docstring == !strip);
    CHECK_MSG(without_code * 4 < t.n_eval, "%d of %ld evaluation rows lost their code",
              without_code, t.n_eval);
    free(tok);
    free(pr);
    task_destroy(&t);
}

/* GSM8K rows as the evaluation split: the model's code is checked against "#### N". */
static void test_gsm8k_eval(void) {
    Config cfg;
    base_config(&cfg);
    /* tests/data by absolute path (tests/meson.build): any build directory finds it */
    snprintf(cfg.task.eval_file, sizeof cfg.task.eval_file, "%s/gsm8k/test.jsonl",
             MDMLAB_TEST_DATA_DIR);
    cfg.task.eval_count = 0;
    cfg.task.seq_len = 1024;
    Task t;
    Err err = {{0}};
    int rc = task_create(&t, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc) return;
    CHECK_MSG(t.n_eval > 1200 && t.n_eval <= 1319, "%ld eval rows", t.n_eval);
    int T = t.seq_len, *tok = malloc(sizeof(int) * T);
    unsigned char *pr = malloc((size_t)T);
    t.ops->example(&t, SPLIT_EVAL, 0, tok, pr); /* Janet's ducks: #### 18 */
    int sep = sep_at(pr, T);
    CHECK(memcmp((char[]){(char)tok[0], (char)tok[1], (char)tok[2], (char)tok[3], (char)tok[4]},
                 "Janet", 5) == 0);
    CHECK(!t.ops->score(&t, SPLIT_EVAL, 0, tok)); /* all EOS: no code */
    const char *right = "def f():\n    eggs = 16 - 3 - 4\n    return eggs * 2\n";
    const char *wrong = "def f():\n    return 16 * 2\n";
    for (int pass = 0; pass < 2; pass++) {
        const char *code = pass ? wrong : right;
        int j = sep + 1;
        for (const char *c = code; *c; c++) tok[j++] = (unsigned char)*c;
        while (j < T) tok[j++] = 256;
        CHECK(t.ops->score(&t, SPLIT_EVAL, 0, tok) == !pass);
    }
    free(tok);
    free(pr);
    task_destroy(&t);
}

static void test_bad_input(void) {
    Config cfg;
    base_config(&cfg);
    char path[] = "/tmp/mdmlab_gsm_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(
        "{\"question\": \"q\", \"code\": \"def f():\\n    return 1\\n\"}\n{\"question\": \"q2\"\n",
        f);
    fclose(f);
    snprintf(cfg.task.train_file, sizeof cfg.task.train_file, "%s", path);
    Task t;
    Err err = {{0}};
    CHECK(task_create(&t, &cfg, &err) != 0);
    char want[64];
    snprintf(want, sizeof want, "%s:2", path);
    CHECK_MSG(strstr(err.msg, want) != NULL, "%s", err.msg);
    remove(path);
    /* nothing fits a tiny sequence */
    base_config(&cfg);
    cfg.task.seq_len = 16;
    CHECK(task_create(&t, &cfg, &err) != 0 && strstr(err.msg, "fit task.seq_len=16"));
}

/* Learning: a small model's loss on generated problems falls well below the untrained level
 * (log of the vocabulary, 5.56 nats; below 60% of the first steps' loss) within 300 steps, with
 * random masking and with PUMA.
 * Solving problems takes far longer training than a unit test can afford. */
static void test_loss_falls(const char *process) {
    Config cfg;
    base_config(&cfg);
    snprintf(cfg.backend, sizeof cfg.backend, "ref");
    snprintf(cfg.process, sizeof cfg.process, "%s", process);
    cfg.threads = 1;
    config_set(&cfg, "task.strip_docstring", "true");
    cfg.task.seq_len = 320;
    config_set(&cfg, "task.max_steps", "%d", 2);
    config_set(&cfg, "task.max_number", "%ld", (long)20);
    cfg.task.train_count = 2000;
    cfg.model.d = 48;
    cfg.model.layers = 2;
    cfg.model.heads = 2;
    cfg.model.ffn = 96;
    cfg.train.batch = 8;
    cfg.train.lr = 3e-3;
    cfg.train.warmup_steps = 20;
    config_set(&cfg, "puma.K", "%d", 4);
    Session s;
    Err err = {{0}};
    int rc = session_open(&s, &cfg, NULL, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc) return;
    double first = 0, last = 0;
    const int steps = 300;
    for (long step = 0; step < steps; step++) {
        OptimStats st;
        double loss = session_step(&s, step, &st);
        if (step < 10) first += loss / 10;
        if (step >= steps - 20) last += loss / 20;
    }
    CHECK_MSG(first > 4.5 && last < 0.6 * first, "%s: loss %.3f -> %.3f", process, first, last);
    fprintf(stderr, "tinygsm %s: loss %.3f (first 10 steps) -> %.3f (last 20)\n", process, first,
            last);
    session_close(&s);
}

int main(void) {
    test_layout_and_score(0);
    test_layout_and_score(1);
    test_gsm8k_eval();
    test_bad_input();
    test_loss_falls("random");
    test_loss_falls("puma");
    return check_summary("tinygsm_task");
}
