/* The text task: corpus loading, the document split, tokenisation into per-split streams,
 * and windows as examples (see text.h for the rules). */
#include "text.h"
#include "tasks/lib/jsonl.h"
#include "base/config.h"

#include <dirent.h>
#include <errno.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The task's keys. */
typedef struct TextParams {
    char corpus[CFG_PATH]; /* files or directories, comma-separated */
    double val_fraction;   /* documents held out for validation */
} TextParams;

static const ConfigKey text_keys[] = {
    CFG_STRING(TextParams, "task.corpus", corpus, "",
               "text task: .txt/.jsonl files or directories, comma-separated (\"\" = the "
               "default corpus under data/text)"),
    CFG_DOUBLE(TextParams, "task.val_fraction", val_fraction, "0.05", 0, 0.5,
               "text task: fraction of documents held out for validation"),
};

static const ConfigSection text_config_section = CFG_SECTION("text", text_keys, TextParams, NULL);

/* One document: a slice of Corpus.text. */
typedef struct Document {
    size_t offset, len;
} Document;

/* Every document's bytes back to back, in corpus order. */
typedef struct Corpus {
    StrBuf text;
    Document *docs;
    long n_docs, cap_docs;
} Corpus;

typedef struct TextTask {
    Tokenizer tok;
    int *stream[2]; /* SPLIT_TRAIN, SPLIT_EVAL */
    long n_tokens[2], n_docs[2];
} TextTask;

static void corpus_free(Corpus *c) {
    sb_free(&c->text);
    free(c->docs);
    memset(c, 0, sizeof *c);
}

static int corpus_add(Corpus *c, const char *s, size_t len, Err *err) {
    if (len == 0) return 0;
    if (c->n_docs == c->cap_docs) {
        long cap = c->cap_docs ? 2 * c->cap_docs : 256;
        Document *grown = realloc(c->docs, (size_t)cap * sizeof *grown);
        if (!grown) return err_set(err, "task.corpus: out of memory for %ld documents", cap);
        c->docs = grown;
        c->cap_docs = cap;
    }
    c->docs[c->n_docs++] = (Document){.offset = c->text.len, .len = len};
    sb_append(&c->text, s, len);
    return 0;
}

static int line_is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

/* The end of the line starting at s[at] (just past its newline, or len). */
static size_t line_end(const char *s, size_t len, size_t at) {
    const char *nl = memchr(s + at, '\n', len - at);
    return nl ? (size_t)(nl - s) + 1 : len;
}

/* Paragraphs: maximal runs of non-blank lines. Counted first (add == 0) to pick the mode. */
static long split_paragraphs(Corpus *c, const char *s, size_t len, int add, Err *err) {
    long n = 0;
    size_t start = 0;
    int open = 0;
    for (size_t at = 0; at < len;) {
        size_t end = line_end(s, len, at);
        int blank = line_is_blank(s + at, end - at);
        if (blank && open) {
            if (add && corpus_add(c, s + start, at - start, err)) return -1;
            n++;
            open = 0;
        } else if (!blank && !open) {
            start = at;
            open = 1;
        }
        at = end;
    }
    if (open) {
        if (add && corpus_add(c, s + start, len - start, err)) return -1;
        n++;
    }
    return n;
}

static int split_line_chunks(Corpus *c, const char *s, size_t len, Err *err) {
    size_t start = 0;
    int lines = 0;
    for (size_t at = 0; at < len;) {
        at = line_end(s, len, at);
        if (++lines == TEXT_LINES_PER_DOCUMENT) {
            if (corpus_add(c, s + start, at - start, err)) return -1;
            start = at;
            lines = 0;
        }
    }
    return corpus_add(c, s + start, len - start, err);
}

static int add_text_file(Corpus *c, const char *path, Err *err) {
    char *data;
    size_t len;
    if (read_file_all(path, &data, &len, err) != 0) return -1;
    int rc;
    if (split_paragraphs(c, data, len, 0, err) > 1)
        rc = split_paragraphs(c, data, len, 1, err) < 0 ? -1 : 0;
    else
        rc = split_line_chunks(c, data, len, err);
    free(data);
    return rc;
}

static int add_jsonl_file(Corpus *c, const char *path, Err *err) {
    JsonlReader r;
    if (jsonl_open(&r, path, err) != 0) return -1;
    int rc;
    while ((rc = jsonl_next(&r, err)) == 1) {
        const char *s;
        size_t len;
        if (jsonl_string(&r, "text", &s, &len, err) != 0 || corpus_add(c, s, len, err) != 0) {
            rc = -1;
            break;
        }
    }
    jsonl_close(&r);
    return rc;
}

static int has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Each .txt file of dir, whole, in name order. */
static int add_directory(Corpus *c, const char *dir, Err *err) {
    DIR *d = opendir(dir);
    if (!d)
        return err_set(err, "task.corpus: cannot open directory '%s': %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        if (!has_suffix(e->d_name, ".txt")) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(names, cap * sizeof *grown);
            if (!grown) {
                rc = err_set(err, "task.corpus: '%s': out of memory", dir);
                break;
            }
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = err_set(err, "task.corpus: '%s': out of memory", dir);
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == 0 && n == 0) rc = err_set(err, "task.corpus: directory '%s' has no .txt files", dir);
    if (rc == 0) qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n && rc == 0; i++) {
        StrBuf path = {0};
        sb_printf(&path, "%s/%s", dir, names[i]);
        char *data;
        size_t len;
        rc = read_file_all(path.data, &data, &len, err);
        if (rc == 0) {
            rc = corpus_add(c, data, len, err);
            free(data);
        }
        sb_free(&path);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

static int add_source(Corpus *c, const char *path, Err *err) {
    struct stat st;
    if (stat(path, &st) != 0) return err_set(err, "task.corpus: '%s': %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return add_directory(c, path, err);
    if (has_suffix(path, ".jsonl")) return add_jsonl_file(c, path, err);
    return add_text_file(c, path, err);
}

static int load_corpus(Corpus *c, const char *spec, Err *err) {
    if (!spec[0]) {
        StrBuf path = {0};
        sb_printf(&path, "%s/%s", tokenizer_data_dir(), TEXT_DEFAULT_CORPUS);
        int rc = file_exists(path.data)
                     ? add_source(c, path.data, err)
                     : err_set(err,
                               "task.corpus: the default corpus %s is missing: run "
                               "ci/fetch-data.sh (or set task.corpus)",
                               path.data);
        sb_free(&path);
        return rc;
    }
    char list[CFG_PATH];
    snprintf(list, sizeof list, "%s", spec);
    char *save = NULL;
    for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        while (*item == ' ') item++;
        size_t n = strlen(item);
        while (n > 0 && item[n - 1] == ' ') item[--n] = '\0';
        if (n > 0 && add_source(c, item, err) != 0) return -1;
    }
    return 0;
}

double text_document_draw(long index, long data_seed) {
    unsigned char bytes[16];
    for (int i = 0; i < 8; i++) {
        bytes[i] = (unsigned char)((uint64_t)index >> (8 * i));
        bytes[8 + i] = (unsigned char)((uint64_t)data_seed >> (8 * i));
    }
    return (double)(fnv1a64(bytes, sizeof bytes, FNV1A64_INIT) >> 11) * 0x1.0p-53;
}

/* is_val[d] per document; at least one document in each split (n_docs >= 2). */
static void assign_splits(long n_docs, long data_seed, double val_fraction, unsigned char *is_val) {
    long n_val = 0, lowest = 0, highest = 0;
    double lo = 2.0, hi = -1.0;
    for (long d = 0; d < n_docs; d++) {
        double u = text_document_draw(d, data_seed);
        is_val[d] = u < val_fraction;
        n_val += is_val[d];
        if (u < lo) lo = u, lowest = d;
        if (u > hi) hi = u, highest = d;
    }
    if (n_val == 0) is_val[lowest] = 1;
    if (n_val == n_docs) is_val[highest] = 0;
}

/* Encodes every document (in parallel: documents are independent and the tokenizer is only
 * read) and appends each to its split's stream followed by EOS. */
static int build_streams(TextTask *tt, const Corpus *c, const unsigned char *is_val, int threads,
                         Err *err) {
    IntBuf *enc = calloc((size_t)c->n_docs, sizeof *enc);
    if (!enc) return err_set(err, "task.corpus: out of memory for %ld documents", c->n_docs);
    int failed = 0;
    Err first = {{0}};
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long d = 0; d < c->n_docs; d++) {
        Err e;
        const Document *doc = &c->docs[d];
        if (tokenizer_encode(&tt->tok, c->text.data + doc->offset, doc->len, &enc[d], &e) != 0) {
#pragma omp critical(text_encode_error)
            if (!failed) {
                failed = 1;
                first = e;
            }
        }
    }
    int rc = failed ? err_set(err, "task.corpus: tokenizing: %s", first.msg) : 0;
    for (long d = 0; d < c->n_docs && rc == 0; d++) {
        int s = is_val[d] ? SPLIT_EVAL : SPLIT_TRAIN;
        tt->n_tokens[s] += (long)enc[d].len + 1;
        tt->n_docs[s]++;
    }
    for (int s = 0; s < 2 && rc == 0; s++) {
        tt->stream[s] = malloc((size_t)tt->n_tokens[s] * sizeof(int));
        if (!tt->stream[s])
            rc = err_set(err, "task.corpus: out of memory for %ld tokens", tt->n_tokens[s]);
    }
    long at[2] = {0, 0};
    for (long d = 0; d < c->n_docs && rc == 0; d++) {
        int s = is_val[d] ? SPLIT_EVAL : SPLIT_TRAIN;
        if (enc[d].len) memcpy(tt->stream[s] + at[s], enc[d].data, enc[d].len * sizeof(int));
        at[s] += (long)enc[d].len;
        tt->stream[s][at[s]++] = tt->tok.eos_id;
    }
    for (long d = 0; d < c->n_docs; d++) intbuf_free(&enc[d]);
    free(enc);
    return rc;
}

static void text_task_free(TextTask *tt) {
    if (!tt) return;
    tokenizer_free(&tt->tok);
    free(tt->stream[SPLIT_TRAIN]);
    free(tt->stream[SPLIT_EVAL]);
    free(tt);
}

static int load_and_split(TextTask *tt, const Config *cfg, Err *err) {
    Corpus c = {0};
    unsigned char *is_val = NULL;
    const TextParams *params = config_params_of(cfg, &text_config_section);
    int rc = load_corpus(&c, params->corpus, err);
    if (rc == 0 && c.n_docs < 2)
        rc = err_set(err,
                     "task.corpus: %ld document(s); the text task needs at least 2 (one held "
                     "out for validation)",
                     c.n_docs);
    if (rc == 0 && !(is_val = malloc((size_t)c.n_docs)))
        rc = err_set(err, "task.corpus: out of memory");
    if (rc == 0) {
        assign_splits(c.n_docs, cfg->task.data_seed, params->val_fraction, is_val);
        int threads = cfg->threads > 0 ? cfg->threads : omp_get_max_threads();
        rc = build_streams(tt, &c, is_val, threads, err);
    }
    free(is_val);
    corpus_free(&c);
    return rc;
}

static int check_windows(const TextTask *tt, int seq_len, Err *err) {
    static const char *const names[2] = {"training", "validation"};
    for (int s = 0; s < 2; s++)
        if (tt->n_tokens[s] < seq_len)
            return err_set(err,
                           "task.corpus: the %s split has %ld tokens (%ld documents), fewer than "
                           "one window of task.seq_len = %d (raise task.val_fraction, lower "
                           "task.seq_len or add text)",
                           names[s], tt->n_tokens[s], tt->n_docs[s], seq_len);
    return 0;
}

static int text_create(Task *task, const Config *cfg, Err *err) {
    if (cfg->task.eval_count < 0)
        return err_set(err, "task.eval_count: expected >= 0, got %ld", cfg->task.eval_count);
    TextTask *tt = calloc(1, sizeof *tt);
    if (!tt) return err_set(err, "text: out of memory");
    int rc = tokenizer_open_name(&tt->tok, cfg->task.tokenizer, tokenizer_data_dir(),
                                 TOK_SPECIAL_EOS | TOK_SPECIAL_MASK, err);
    int seq_len = cfg->task.seq_len > 0                      ? cfg->task.seq_len
                  : strcmp(cfg->task.tokenizer, "byte") == 0 ? 128
                                                             : 256;
    if (rc == 0) rc = load_and_split(tt, cfg, err);
    if (rc == 0) rc = check_windows(tt, seq_len, err);
    if (rc != 0) {
        text_task_free(tt);
        return -1;
    }
    task->impl = tt;
    task->seq_len = seq_len;
    task->vocab_size = tt->tok.vocab_size;
    task->mask_id = tt->tok.mask_id;
    task->n_train = tt->n_tokens[SPLIT_TRAIN] / seq_len;
    long eval_windows = tt->n_tokens[SPLIT_EVAL] / seq_len;
    task->n_eval = cfg->task.eval_count > 0 && cfg->task.eval_count < eval_windows
                       ? cfg->task.eval_count
                       : eval_windows;
    return 0;
}

static void text_destroy(Task *task) {
    text_task_free(task->impl);
    task->impl = NULL;
}

static void text_example(const Task *task, int split, long index, int *tokens,
                         unsigned char *is_prompt) {
    const TextTask *tt = task->impl;
    const int *src = tt->stream[split == SPLIT_EVAL ? SPLIT_EVAL : SPLIT_TRAIN];
    memcpy(tokens, src + (size_t)index * task->seq_len, (size_t)task->seq_len * sizeof(int));
    memset(is_prompt, 0, (size_t)task->seq_len);
}

static int text_token_bytes(const Task *task, int token) {
    const TextTask *tt = task->impl;
    const uint8_t *bytes;
    size_t len;
    if (token < 0 || token >= tt->tok.n_text) return 0;
    return tokenizer_token_bytes(&tt->tok, token, &bytes, &len) == 0 ? (int)len : 0;
}

/* Length of the well-formed UTF-8 sequence at s[0..n) (no overlongs or surrogates), or 0. */
static size_t utf8_length(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t len = c < 0x80                 ? 1
                 : c >= 0xC2 && c <= 0xDF ? 2
                 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4
                                          : 0;
    if (len == 0 || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] > 0x8F))
        return 0;
    return len;
}

/* Printable ASCII and well-formed UTF-8 as is; \\ \n \t \r and every other byte escaped, so
 * one rendering is one line. */
static void escape_text(const unsigned char *s, size_t n, StrBuf *out) {
    for (size_t i = 0; i < n;) {
        size_t k = utf8_length(s + i, n - i);
        if (k > 1) {
            sb_append(out, s + i, k);
            i += k;
            continue;
        }
        unsigned char ch = s[i++];
        if (ch == '\\')
            sb_append(out, "\\\\", 2);
        else if (ch == '\n')
            sb_append(out, "\\n", 2);
        else if (ch == '\t')
            sb_append(out, "\\t", 2);
        else if (ch == '\r')
            sb_append(out, "\\r", 2);
        else if (ch >= 0x20 && ch < 0x7F)
            sb_append(out, &ch, 1);
        else
            sb_printf(out, "\\x%02x", ch);
    }
}

/* Decoded text with specials by name (<|endoftext|>, <|mask|>), escaped to one line. */
static void text_render(const Task *task, const int *tokens, char *out, size_t n) {
    const TextTask *tt = task->impl;
    StrBuf text = {0}, escaped = {0};
    Err err;
    if (tokenizer_decode(&tt->tok, tokens, (size_t)task->seq_len, &text, &err) != 0)
        sb_printf(&escaped, "<undecodable: %s>", err.msg);
    else
        escape_text((const unsigned char *)text.data, text.len, &escaped);
    if (n > 0) snprintf(out, n, "%.*s", (int)escaped.len, escaped.data ? escaped.data : "");
    sb_free(&text);
    sb_free(&escaped);
}

const Tokenizer *text_task_tokenizer(const Task *task) {
    return &((const TextTask *)task->impl)->tok;
}

const int *text_task_stream(const Task *task, int split, long *n_tokens) {
    const TextTask *tt = task->impl;
    int s = split == SPLIT_EVAL ? SPLIT_EVAL : SPLIT_TRAIN;
    *n_tokens = tt->n_tokens[s];
    return tt->stream[s];
}

long text_task_documents(const Task *task, int split) {
    return ((const TextTask *)task->impl)->n_docs[split == SPLIT_EVAL ? SPLIT_EVAL : SPLIT_TRAIN];
}

const TaskOps task_text_ops = {
    .name = "text",
    .description = "language modelling on a text corpus (validation ELBO, samples)",
    .config = &text_config_section,
    .create = text_create,
    .destroy = text_destroy,
    .example = text_example,
    .score = NULL, /* no answers: evaluated by the ELBO */
    .render = text_render,
    .token_bytes = text_token_bytes,
};
