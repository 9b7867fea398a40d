/* The text task and the ELBO: corpus loading (directories, JSONL, blank-line and 100-line
 * splitting), the deterministic document split, windows, vocabulary, rendering, errors; the
 * validation ELBO (near log V untrained, exact log V for a zero AR model, deterministic,
 * falling with training), its run-directory logs and their resume truncation, generative
 * perplexity, and the GPT-2 tokenizer path (skipped, exit 77, without
 * $MDMLAB_DATA_DIR/tokenizers/r50k_base.tiktoken). Tiny models on the ref backend, 1 thread. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_set.h"
#include "forward/config_schema.h"
#include "base/config.h"
#include "run/elbo.h"
#include "run/eval.h"
#include "run/session.h"
#include "run/train.h"
#include "tasks/text/text.h"
#include "check.h"

enum { N_DIR_DOCS = 10, N_ROWS = 6, N_DOCS = N_DIR_DOCS + N_ROWS, MAX_TEXT = 4096 };

static char tmp[64];
static char expected[N_DOCS][MAX_TEXT]; /* the corpus's documents, in corpus order */

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

/* docs/d00.txt .. d09.txt (written out of name order) and rows.jsonl: repetitive sentences,
 * so a tiny model learns them quickly. Row 2 has a \u escape (é decodes to 2 UTF-8 bytes). */
static void write_corpus(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/docs", tmp);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/docs/notes.md", tmp); /* not .txt: ignored */
    write_text(path, "ignored\n");
    for (int i = N_DIR_DOCS - 1; i >= 0; i--) {
        char *t = expected[i];
        t[0] = '\0';
        for (int r = 0; r < 4; r++)
            snprintf(t + strlen(t), MAX_TEXT - strlen(t), "file %d: the cat sat on the mat.\n", i);
        snprintf(path, sizeof path, "%s/docs/d%02d.txt", tmp, i);
        write_text(path, t);
    }
    StrBuf rows = {0};
    for (int i = 0; i < N_ROWS; i++) {
        char *t = expected[N_DIR_DOCS + i];
        t[0] = '\0';
        for (int r = 0; r < 4; r++)
            snprintf(t + strlen(t), MAX_TEXT - strlen(t), "row %d: the dog ran to the log%s.\n", i,
                     i == 2 ? " caf\xc3\xa9" : "");
        sb_printf(&rows, "{\"id\": %d, \"text\": ", i);
        if (i == 2) {
            sb_printf(&rows, "\"");
            for (int r = 0; r < 4; r++)
                sb_printf(&rows, "row %d: the dog ran to the log caf\\u00e9.\\n", i);
            sb_printf(&rows, "\"}\n");
        } else {
            sb_json_string(&rows, t);
            sb_printf(&rows, "}\n\n"); /* blank lines between rows are allowed */
        }
    }
    snprintf(path, sizeof path, "%s/rows.jsonl", tmp);
    write_text(path, rows.data);
    sb_free(&rows);
}

static void text_config(Config *c, int seq_len) {
    config_defaults(c);
    snprintf(c->task_name, sizeof c->task_name, "text");
    config_set(c, "task.corpus", "%s/docs, %s/rows.jsonl", tmp, tmp);
    snprintf(c->backend, sizeof c->backend, "ref");
    c->threads = 1;
    c->task.seq_len = seq_len;
    config_set(c, "task.val_fraction", "%g", 0.25);
    c->task.data_seed = 7;
    c->task.eval_count = 0;
    c->model.d = 32;
    c->model.layers = 2;
    c->model.heads = 2;
    c->model.ffn = 64;
    c->train.batch = 16;
    c->train.lr = 3e-3;
    c->train.warmup_steps = 20;
    c->train.log_every = 20;
    c->eval.batch = 16;
    c->eval.count = 0;
    c->eval.elbo_points = 8;
}

/* The split the rule in text.h gives: draw < fraction, else the lowest draw; never all. */
static void expected_split(long n, long seed, double fraction, int *is_val) {
    long n_val = 0, lo = 0, hi = 0;
    for (long d = 0; d < n; d++) {
        double u = text_document_draw(d, seed);
        is_val[d] = u < fraction;
        n_val += is_val[d];
        if (u < text_document_draw(lo, seed)) lo = d;
        if (u > text_document_draw(hi, seed)) hi = d;
    }
    if (n_val == 0) is_val[lo] = 1;
    if (n_val == n) is_val[hi] = 0;
}

/* Decodes a split's stream and checks it is exactly the expected documents of that split, in
 * corpus order, each followed by EOS. */
static void check_split_documents(const Task *task, int split, const int *is_val) {
    long n;
    const int *s = text_task_stream(task, split, &n);
    const Tokenizer *tok = text_task_tokenizer(task);
    long at = 0, docs = 0;
    int ok = 1;
    for (int d = 0; d < N_DOCS; d++) {
        if (is_val[d] != (split == SPLIT_EVAL)) continue;
        long end = at;
        while (end < n && s[end] != tok->eos_id) end++;
        StrBuf text = {0};
        Err err;
        ok &= end < n && tokenizer_decode(tok, s + at, (size_t)(end - at), &text, &err) == 0 &&
              text.len == strlen(expected[d]) && memcmp(text.data, expected[d], text.len) == 0;
        sb_free(&text);
        at = end + 1;
        docs++;
    }
    CHECK_MSG(ok && at == n, "split %d holds exactly its documents followed by EOS", split);
    CHECK(text_task_documents(task, split) == docs);
}

static void test_split_and_windows(void) {
    Config c;
    text_config(&c, 32);
    Task a, b;
    Err err;
    if (task_create(&a, &c, &err) != 0) {
        CHECK_MSG(0, "%s", err.msg);
        return;
    }
    CHECK(task_create(&b, &c, &err) == 0);
    CHECK(a.vocab_size == 258 && a.mask_id == 257 && text_task_tokenizer(&a)->eos_id == 256);
    CHECK(a.seq_len == 32);
    CHECK(a.ops->score == NULL && a.ops->token_bytes != NULL);

    int is_val[N_DOCS];
    expected_split(N_DOCS, 7, 0.25, is_val);
    int n_val = 0;
    for (int d = 0; d < N_DOCS; d++) n_val += is_val[d];
    CHECK(n_val >= 1 && n_val < N_DOCS);
    check_split_documents(&a, SPLIT_TRAIN, is_val);
    check_split_documents(&a, SPLIT_EVAL, is_val);

    /* deterministic: a second load gives the same streams */
    for (int s = 0; s < 2; s++) {
        long na, nb;
        const int *sa = text_task_stream(&a, s, &na), *sb = text_task_stream(&b, s, &nb);
        CHECK(na == nb && memcmp(sa, sb, (size_t)na * sizeof(int)) == 0);
    }

    /* windows: consecutive slices of the stream, no prompt, the remainder dropped */
    long n_train, n_eval;
    const int *train = text_task_stream(&a, SPLIT_TRAIN, &n_train);
    const int *val = text_task_stream(&a, SPLIT_EVAL, &n_eval);
    CHECK(a.n_train == n_train / 32 && a.n_eval == n_eval / 32 && a.n_eval >= 1);
    int tokens[32], windows_ok = 1;
    unsigned char is_prompt[32];
    for (long w = 0; w < a.n_train; w++) {
        memset(is_prompt, 1, sizeof is_prompt);
        a.ops->example(&a, SPLIT_TRAIN, w, tokens, is_prompt);
        windows_ok &= memcmp(tokens, train + w * 32, sizeof tokens) == 0;
        for (int t = 0; t < 32; t++) windows_ok &= is_prompt[t] == 0;
    }
    a.ops->example(&a, SPLIT_EVAL, a.n_eval - 1, tokens, is_prompt);
    windows_ok &= memcmp(tokens, val + (a.n_eval - 1) * 32, sizeof tokens) == 0;
    CHECK_MSG(windows_ok, "examples are the stream's consecutive windows");
    task_destroy(&a);
    task_destroy(&b);

    /* task.eval_count caps the validation windows; the default length is 128 for bytes */
    c.task.eval_count = 2;
    c.task.seq_len = 0;
    config_set(&c, "task.val_fraction", "%g", 0.5);
    CHECK(task_create(&a, &c, &err) == 0);
    CHECK(a.seq_len == 128 && a.n_eval == 2);
    task_destroy(&a);

    /* another data seed gives another split */
    int differs = 0, other[N_DOCS];
    for (long seed = 1; seed <= 4; seed++) {
        expected_split(N_DOCS, seed, 0.25, other);
        differs |= memcmp(other, is_val, sizeof other) != 0;
    }
    CHECK(differs);
    /* the draw is close to uniform */
    long below = 0;
    for (long i = 0; i < 20000; i++) below += text_document_draw(i, 1234) < 0.1;
    CHECK_MSG(below > 1800 && below < 2200, "%ld of 20000 draws below 0.1", below);
}

/* Decodes every document of a task (both splits), sorted, into one string with '|' between
 * them. */
static void all_documents(const Task *task, StrBuf *out) {
    const Tokenizer *tok = text_task_tokenizer(task);
    char *docs[64];
    int n = 0;
    for (int s = 0; s < 2; s++) {
        long len;
        const int *ids = text_task_stream(task, s, &len);
        for (long at = 0, end; at < len && n < 64; at = end + 1) {
            for (end = at; end < len && ids[end] != tok->eos_id;) end++;
            StrBuf t = {0};
            Err err;
            tokenizer_decode(tok, ids + at, (size_t)(end - at), &t, &err);
            sb_append(&t, "", 1);
            docs[n++] = t.data;
        }
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(docs[j], docs[i]) < 0) {
                char *x = docs[i];
                docs[i] = docs[j];
                docs[j] = x;
            }
    for (int i = 0; i < n; i++) {
        sb_printf(out, "%s%s", i ? "|" : "", docs[i]);
        free(docs[i]);
    }
}

static void test_text_file_documents(void) {
    Config c;
    text_config(&c, 2);
    Err err;
    Task t;
    /* no blank line: 250 lines -> documents of 100, 100 and 50 lines */
    char path[512];
    snprintf(path, sizeof path, "%s/verses.txt", tmp);
    StrBuf file = {0}, want = {0};
    for (int i = 0; i < 250; i++) {
        if (i == 100 || i == 200) sb_printf(&want, "|");
        sb_printf(&file, "v%d\n", i);
        sb_printf(&want, "v%d\n", i);
    }
    write_text(path, file.data);
    config_set(&c, "task.corpus", "%s", path);
    if (task_create(&t, &c, &err) != 0) {
        CHECK_MSG(0, "%s", err.msg);
    } else {
        StrBuf got = {0};
        all_documents(&t, &got);
        CHECK(text_task_documents(&t, SPLIT_TRAIN) + text_task_documents(&t, SPLIT_EVAL) == 3);
        CHECK_MSG(got.len == want.len && memcmp(got.data, want.data, got.len) == 0,
                  "100-line documents");
        sb_free(&got);
        task_destroy(&t);
    }
    sb_free(&file);
    sb_free(&want);

    /* blank lines (also whitespace-only, CRLF) separate paragraphs */
    write_text(path, "\n\nb one\nb two\n\n \r\nc\n\t\na\r\n");
    if (task_create(&t, &c, &err) != 0) {
        CHECK_MSG(0, "%s", err.msg);
        return;
    }
    StrBuf got = {0};
    all_documents(&t, &got);
    CHECK_MSG(strcmp(got.data, "a\r\n|b one\nb two\n|c\n") == 0, "paragraphs: '%s'", got.data);
    sb_free(&got);
    task_destroy(&t);
}

/* Creating the task fails with a message containing `want`. */
static void check_create_fails(const Config *c, const char *want) {
    Task t;
    Err err = {{0}};
    int rc = task_create(&t, c, &err);
    CHECK_MSG(rc != 0 && strstr(err.msg, want), "want '%s', got rc %d '%s'", want, rc, err.msg);
    if (rc == 0) task_destroy(&t);
}

static void test_errors(void) {
    Config c;
    text_config(&c, 32);
    char path[512], want[600];
    snprintf(path, sizeof path, "%s/bad.jsonl", tmp);
    write_text(path, "{\"text\": \"fine\"}\n{\"text\": \"fine too\"}\n{\"text\": \"torn\n");
    config_set(&c, "task.corpus", "%s", path);
    snprintf(want, sizeof want, "%s:3: column", path);
    check_create_fails(&c, want);

    write_text(path, "{\"text\": \"fine\"}\n{\"body\": \"no text\"}\n");
    snprintf(want, sizeof want, "%s:2: field 'text' missing", path);
    check_create_fails(&c, want);

    config_set(&c, "task.corpus", "%s/absent.txt", tmp);
    check_create_fails(&c, "absent.txt");

    snprintf(path, sizeof path, "%s/empty", tmp);
    mkdir(path, 0755);
    config_set(&c, "task.corpus", "%s", path);
    check_create_fails(&c, "has no .txt files");

    snprintf(path, sizeof path, "%s/one.txt", tmp);
    write_text(path, "just one line\n");
    config_set(&c, "task.corpus", "%s", path);
    check_create_fails(&c, "at least 2");

    config_set(&c, "task.corpus", "%s/docs", tmp);
    c.task.seq_len = 4096;
    check_create_fails(&c, "fewer than one window of task.seq_len = 4096");

    /* the default corpus is found through MDMLAB_DATA_DIR */
    const char *old = getenv("MDMLAB_DATA_DIR");
    char saved[1024] = "";
    if (old) snprintf(saved, sizeof saved, "%s", old);
    setenv("MDMLAB_DATA_DIR", tmp, 1);
    config_set(&c, "task.corpus", "");
    snprintf(want, sizeof want, "%s/text/kjv/kjv.txt is missing: run ci/fetch-data.sh", tmp);
    check_create_fails(&c, want);
    if (old)
        setenv("MDMLAB_DATA_DIR", saved, 1);
    else
        unsetenv("MDMLAB_DATA_DIR");
}

static void test_render(void) {
    Config c;
    text_config(&c, 12);
    Task t;
    Err err;
    if (task_create(&t, &c, &err) != 0) {
        CHECK_MSG(0, "%s", err.msg);
        return;
    }
    int ids[12] = {'a', '\n', 'b', '\\', 0xC3, 0xA9, 0xFF, '\t', 256, 257, 'z', 0x01};
    char out[256];
    t.ops->render(&t, ids, out, sizeof out);
    CHECK_MSG(strcmp(out, "a\\nb\\\\\xc3\xa9\\xff\\t<|endoftext|><|mask|>z\\x01") == 0, "'%s'",
              out);
    t.ops->render(&t, ids, out, 5); /* truncated, still terminated */
    CHECK(strcmp(out, "a\\nb") == 0);
    CHECK(t.ops->token_bytes(&t, 'a') == 1 && t.ops->token_bytes(&t, 256) == 0 &&
          t.ops->token_bytes(&t, 257) == 0);
    task_destroy(&t);
}

static int open_session(Session *s, const Config *c) {
    Err err;
    if (session_open(s, c, NULL, &err) != 0) {
        CHECK_MSG(0, "session: %s", err.msg);
        return -1;
    }
    return 0;
}

static ElboOptions elbo_options(const Config *c) {
    ElboOptions o = {.points = c->eval.elbo_points,
                     .count = c->eval.count,
                     .batch = c->eval.batch,
                     .seed = (uint64_t)c->task.data_seed};
    return o;
}

/* EOS tokens in the first n windows of the eval split (they decode to no bytes). */
static long eval_eos_count(const Task *task, long n) {
    long len, eos = 0;
    const int *s = text_task_stream(task, SPLIT_EVAL, &len);
    for (long i = 0; i < n * task->seq_len; i++) eos += s[i] == text_task_tokenizer(task)->eos_id;
    return eos;
}

static void test_elbo_untrained(void) {
    Config c;
    text_config(&c, 32);
    Session s;
    if (open_session(&s, &c) != 0) return;
    ElboOptions o = elbo_options(&c);
    ElboResult r, again;
    Err err;
    CHECK(eval_elbo(&s.model, &s.task, &o, &r, &err) == 0);
    const double logV = log(258.0);
    CHECK(r.autoregressive == 0 && r.windows == s.task.n_eval);
    CHECK(r.tokens == s.task.n_eval * 32);
    CHECK(r.bytes == r.tokens - eval_eos_count(&s.task, s.task.n_eval));
    CHECK_CLOSE(r.nelbo, logV, 0.10, 0);
    CHECK_CLOSE(r.ppl_bound, exp(r.nelbo), 1e-12, 0);
    CHECK_CLOSE(r.bits_per_byte, log2(258.0), 0.10, 0);
    CHECK_CLOSE(r.bits_per_byte * log(2.0) * (double)r.bytes, r.nelbo * (double)r.tokens, 1e-9, 0);
    printf("untrained: nelbo %.4f (log V %.4f), %.4f bits/byte, %ld tokens\n", r.nelbo, logV,
           r.bits_per_byte, r.tokens);

    /* deterministic, and independent of the batch size up to summation order */
    CHECK(eval_elbo(&s.model, &s.task, &o, &again, &err) == 0);
    CHECK(again.nelbo == r.nelbo && again.tokens == r.tokens);
    o.batch = 3;
    CHECK(eval_elbo(&s.model, &s.task, &o, &again, &err) == 0);
    CHECK_CLOSE(again.nelbo, r.nelbo, 1e-6, 0);
    /* count limits the windows */
    o.count = 1;
    CHECK(eval_elbo(&s.model, &s.task, &o, &again, &err) == 0);
    CHECK(again.windows == 1 && again.tokens == 32);
    o.points = 0;
    CHECK(eval_elbo(&s.model, &s.task, &o, &again, &err) != 0 && strstr(err.msg, "elbo_points"));
    session_close(&s);
}

/* A model with all-zero weights has all-zero logits: every position costs exactly log V,
 * so an AR model's NLL is log V per token and the masked bound is log V times the ratio of
 * the (1/t)-weighted masked count to the token count (near 1). */
static void test_elbo_zero_model(void) {
    Config c;
    text_config(&c, 32);
    snprintf(c.process, sizeof c.process, "ar");
    c.model.causal = 1;
    c.model.shift_logits = 1;
    Session s;
    if (open_session(&s, &c) != 0) return;
    model_init_params(&s.model, 1, MODEL_INIT_SMALL, 0.0f);
    ElboOptions o = elbo_options(&c);
    ElboResult r;
    Err err;
    CHECK(eval_elbo(&s.model, &s.task, &o, &r, &err) == 0);
    CHECK(r.autoregressive == 1 && r.tokens == s.task.n_eval * 31);
    CHECK_CLOSE(r.nelbo, log(258.0), 1e-6, 0);

    /* elbo_ar_nll scores the same positions of the same windows */
    int *windows = malloc((size_t)s.task.n_eval * 32 * sizeof(int));
    unsigned char is_prompt[32];
    for (long w = 0; w < s.task.n_eval; w++)
        s.task.ops->example(&s.task, SPLIT_EVAL, w, windows + w * 32, is_prompt);
    double nll;
    long scored;
    CHECK(elbo_ar_nll(&s.model, windows, s.task.n_eval, &nll, &scored, &err) == 0);
    CHECK(scored == r.tokens);
    CHECK_CLOSE(nll, r.nelbo * (double)r.tokens, 1e-9, 0);
    free(windows);
    session_close(&s);

    /* a causal model must shift its outputs to be scored */
    c.model.shift_logits = 0;
    snprintf(c.process, sizeof c.process, "random");
    if (open_session(&s, &c) != 0) return;
    CHECK(eval_elbo(&s.model, &s.task, &o, &r, &err) != 0 && strstr(err.msg, "shift_logits"));
    session_close(&s);

    c.model.causal = 0;
    if (open_session(&s, &c) != 0) return;
    model_init_params(&s.model, 1, MODEL_INIT_SMALL, 0.0f);
    CHECK(eval_elbo(&s.model, &s.task, &o, &r, &err) == 0);
    CHECK(r.autoregressive == 0);
    CHECK_CLOSE(r.nelbo, log(258.0), 0.10, 0);
    session_close(&s);
}

/* 200 steps of random masking lower the validation ELBO well below log V. */
static void test_training_lowers_elbo(void) {
    Config c;
    text_config(&c, 32);
    c.train.steps = 200;
    Session s;
    if (open_session(&s, &c) != 0) return;
    ElboOptions o = elbo_options(&c);
    ElboResult before, after;
    Err err;
    CHECK(eval_elbo(&s.model, &s.task, &o, &before, &err) == 0);
    double t0 = now_seconds();
    for (long step = 0; step < c.train.steps; step++) {
        OptimStats st;
        session_step(&s, step, &st);
    }
    double train_s = now_seconds() - t0;
    CHECK(eval_elbo(&s.model, &s.task, &o, &after, &err) == 0);
    printf("200 steps (%.1f s): nelbo %.4f -> %.4f, %.3f -> %.3f bits/byte\n", train_s,
           before.nelbo, after.nelbo, before.bits_per_byte, after.bits_per_byte);
    CHECK_MSG(after.nelbo < 0.6 * before.nelbo, "nelbo %.4f -> %.4f", before.nelbo, after.nelbo);
    session_close(&s);
}

/* The rows of dir/name after its header, each cut to its first `fields` fields. */
static int read_rows(const char *dir, const char *name, char sep, int fields, StrBuf *out) {
    char path[600], line[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int n = 0;
    for (int header = 1; fgets(line, sizeof line, f); header = 0) {
        if (header) continue;
        line[strcspn(line, "\n")] = '\0';
        char *end = line;
        for (int k = 0; k < fields && end; k++) {
            end = strchr(end, sep);
            if (end && k + 1 < fields) end++;
        }
        sb_printf(out, "%.*s\n", end ? (int)(end - line) : (int)strlen(line), line);
        n++;
    }
    fclose(f);
    return n;
}

static int file_contains(const char *dir, const char *name, const char *needle) {
    char path[600], *data;
    size_t len;
    Err err;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (read_file_all(path, &data, &len, &err) != 0) return 0;
    int found = strstr(data, needle) != NULL;
    free(data);
    return found;
}

/* train_run writes elbo.csv, samples.txt, metrics rows and log lines; resuming from an earlier
 * checkpoint cuts both files back and reproduces them. */
static void test_run_logs_and_resume(void) {
    Config c;
    text_config(&c, 32);
    snprintf(c.out_dir, sizeof c.out_dir, "%s/run", tmp);
    c.train.steps = 90;
    c.train.eval_every = 30;
    c.train.ckpt_every = 30;
    c.train.keep_checkpoints = 1;
    c.eval.samples = 2;
    c.eval.temperature = 1.0;
    Err err;
    if (train_run(&c, 1, &err) != 0) {
        CHECK_MSG(0, "train: %s", err.msg);
        return;
    }
    StrBuf elbo = {0}, samples = {0}, elbo2 = {0}, samples2 = {0};
    CHECK(read_rows(c.out_dir, "elbo.csv", ',', 5, &elbo) == 3);
    CHECK(read_rows(c.out_dir, "samples.txt", '\t', 3, &samples) == 6);
    CHECK(strncmp(elbo.data, "30,", 3) == 0 && strstr(elbo.data, "\n90,"));
    CHECK(strncmp(samples.data, "30\t0\t", 5) == 0 && strstr(samples.data, "\n90\t1\t"));
    CHECK(
        file_contains(c.out_dir, "elbo.csv", "step,nelbo,ppl_bound,bits_per_byte,tokens,train_s"));
    CHECK(file_contains(c.out_dir, "metrics.jsonl", "{\"type\":\"elbo\",\"step\":60,"));
    CHECK(file_contains(c.out_dir, "log.txt", "eval step 90: nelbo "));
    double first = strtod(strchr(elbo.data, ',') + 1, NULL);
    double last = strtod(strchr(strstr(elbo.data, "\n90,") + 1, ',') + 1, NULL);
    CHECK_MSG(last < first, "nelbo falls during training: %g -> %g", first, last);

    /* resume from step 30: rows after 30 are cut, then rewritten identically */
    snprintf(c.train.resume, sizeof c.train.resume, "%s/run/step-30.bin", tmp);
    if (train_run(&c, 1, &err) != 0) {
        CHECK_MSG(0, "resume: %s", err.msg);
    } else {
        CHECK(read_rows(c.out_dir, "elbo.csv", ',', 5, &elbo2) == 3);
        CHECK(read_rows(c.out_dir, "samples.txt", '\t', 3, &samples2) == 6);
        CHECK_MSG(elbo.len == elbo2.len && memcmp(elbo.data, elbo2.data, elbo.len) == 0,
                  "elbo.csv after resume:\n%s\nvs\n%s", elbo2.data, elbo.data);
        CHECK(samples.len == samples2.len && memcmp(samples.data, samples2.data, samples.len) == 0);
    }
    sb_free(&elbo);
    sb_free(&samples);
    sb_free(&elbo2);
    sb_free(&samples2);
}

/* Samples of the MDM scored by an AR checkpoint: the same number as generating and scoring
 * by hand; a non-AR checkpoint is refused. */
static void test_gen_perplexity(void) {
    Config ar_cfg, c;
    text_config(&ar_cfg, 32);
    snprintf(ar_cfg.out_dir, sizeof ar_cfg.out_dir, "%s/ar", tmp);
    snprintf(ar_cfg.process, sizeof ar_cfg.process, "ar");
    ar_cfg.model.causal = 1;
    ar_cfg.model.shift_logits = 1;
    ar_cfg.train.steps = 60;
    ar_cfg.train.eval_every = 0;
    ar_cfg.eval.samples = 0;
    Err err;
    if (train_run(&ar_cfg, 1, &err) != 0) {
        CHECK_MSG(0, "AR train: %s", err.msg);
        return;
    }
    CHECK(file_contains(ar_cfg.out_dir, "log.txt", "eval step 60: nll "));
    text_config(&c, 32);
    Session s;
    if (open_session(&s, &c) != 0) return;
    char path[600];
    snprintf(path, sizeof path, "%s/checkpoint.bin", ar_cfg.out_dir);
    Model ar;
    if (elbo_load_ar_model(&ar, &s.be, path, &s.task, 4, &err) != 0) {
        CHECK_MSG(0, "load AR: %s", err.msg);
        session_close(&s);
        return;
    }
    SampleOptions opt = {.policy = POLICY_TOPK, .tokens_per_step = 4, .temperature = 1.0};
    GenPplResult g;
    CHECK(eval_gen_perplexity(&s.model, NULL, &ar, &s.task, &opt, 6, 99, &g, &err) == 0);
    CHECK(g.samples == 6 && g.tokens == 6 * 31 && g.cost.model_calls == 8.0 && g.cost.nfe == 8.0);
    CHECK(isfinite(g.gen_ppl) && g.gen_ppl > 258.0); /* random bytes: worse than uniform */
    int samples[6 * 32];
    double nll;
    long scored;
    CHECK(eval_generate(&s.model, NULL, &s.task, &opt, 6, 99, samples, NULL, &err) == 0);
    CHECK(elbo_ar_nll(&ar, samples, 6, &nll, &scored, &err) == 0);
    CHECK_CLOSE(g.gen_ppl, exp(nll / (double)scored), 1e-9, 0);
    int no_mask = 1;
    for (int i = 0; i < 6 * 32; i++) no_mask &= samples[i] >= 0 && samples[i] < 257;
    CHECK(no_mask);
    printf("gen. perplexity of untrained (random) MDM samples, 60-step AR model: %.2f\n",
           g.gen_ppl);
    model_free(&ar);

    Config mdm = c;
    snprintf(mdm.out_dir, sizeof mdm.out_dir, "%s/mdm", tmp);
    mdm.train.steps = 1;
    mdm.eval.samples = 0;
    CHECK(train_run(&mdm, 1, &err) == 0);
    snprintf(path, sizeof path, "%s/checkpoint.bin", mdm.out_dir);
    CHECK(elbo_load_ar_model(&ar, &s.be, path, &s.task, 4, &err) != 0 &&
          strstr(err.msg, "not an autoregressive model"));
    session_close(&s);
}

/* GPT-2 BPE: vocabulary layout, documents round-trip, and bytes per token add up. */
static void test_gpt2(void) {
    Config c;
    text_config(&c, 16);
    snprintf(c.task.tokenizer, sizeof c.task.tokenizer, "gpt2");
    Task t;
    Err err;
    if (task_create(&t, &c, &err) != 0) {
        CHECK_MSG(0, "%s", err.msg);
        return;
    }
    CHECK(t.vocab_size == 50258 && t.mask_id == 50257 && text_task_tokenizer(&t)->eos_id == 50256);
    int is_val[N_DOCS];
    expected_split(N_DOCS, 7, 0.25, is_val);
    check_split_documents(&t, SPLIT_TRAIN, is_val);
    check_split_documents(&t, SPLIT_EVAL, is_val);
    long n, bytes = 0;
    const int *s = text_task_stream(&t, SPLIT_TRAIN, &n);
    for (long i = 0; i < n; i++) bytes += t.ops->token_bytes(&t, s[i]);
    long want = 0;
    for (int d = 0; d < N_DOCS; d++)
        if (!is_val[d]) want += (long)strlen(expected[d]);
    CHECK_MSG(bytes == want, "token bytes %ld, document bytes %ld", bytes, want);
    CHECK(n < want / 2); /* BPE merges: far fewer tokens than bytes */
    task_destroy(&t);
    c.task.seq_len = 0;
    config_set(&c, "task.val_fraction", "%g", 0.5);
    if (task_create(&t, &c, &err) == 0) {
        CHECK(t.seq_len == 256);
        task_destroy(&t);
    } else {
        CHECK(strstr(err.msg, "task.seq_len = 256")); /* the tiny corpus is shorter */
    }
}

int main(void) {
    snprintf(tmp, sizeof tmp, "/tmp/mdm_text_XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    write_corpus();
    test_split_and_windows();
    test_text_file_documents();
    test_errors();
    test_render();
    test_elbo_untrained();
    test_elbo_zero_model();
    test_training_lowers_elbo();
    test_run_logs_and_resume();
    test_gen_perplexity();

    const char *data = getenv("MDMLAB_DATA_DIR");
    char ranks[1024];
    snprintf(ranks, sizeof ranks, "%s/tokenizers/r50k_base.tiktoken", data ? data : "data");
    int skip = !file_exists(ranks);
    if (skip)
        printf("skip: the GPT-2 checks need %s: run ci/fetch-data.sh\n", ranks);
    else
        test_gpt2();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    int rc = check_summary("text");
    return rc ? rc : skip ? 77 : 0;
}
