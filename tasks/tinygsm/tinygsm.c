/* TinyGSM-style math as a masked-diffusion task: the sequence is question + SEP + solution code
 * + EOS padding to a fixed length. The prompt (never masked, never predicted) is the question
 * and SEP; everything after it is the answer, the EOS padding included, so the model learns
 * where its program ends (as PUMA's reference does). A generated answer is scored by running
 * it through the restricted evaluator (tasks/pyeval) and comparing with the reference number:
 * the value the reference code returns (TinyGSM rows) or the number after "####" (GSM8K).
 *
 * Data: task.train_file / task.eval_file (JSONL, tasks/tinygsm_data.h), else the built-in
 * generator (tasks/tinygsm_gen.h) with task.data_seed (train) and task.data_seed + 1 (eval).
 * Rows that do not fit task.seq_len are dropped and counted (training rows need room for the
 * whole solution, evaluation rows for the question and SEP). */
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "tasks/task.h"
#include "tinygsm_data.h"
#include "tinygsm_gen.h"
#include "tinygsm_cmd.h"
#include "tasks/lib/tokenizer.h"

/* The task's keys: what to keep of a solution and the generator's knobs. */
typedef struct TinyGsmParams {
    int strip_docstring; /* bool: drop the function's docstring */
    int min_steps, max_steps;
    long max_number;
} TinyGsmParams;

static int tinygsm_params_validate(const void *params, Err *err) {
    const TinyGsmParams *p = params;
    if (p->min_steps > p->max_steps)
        return err_set(err,
                       "keys 'task.min_steps' and 'task.max_steps': min_steps (%d) is greater "
                       "than max_steps (%d)",
                       p->min_steps, p->max_steps);
    return 0;
}

static const ConfigKey tinygsm_keys[] = {
    CFG_BOOL(TinyGsmParams, "task.strip_docstring", strip_docstring, "false",
             "tinygsm: drop the docstring from the code"),
    CFG_INT(TinyGsmParams, "task.min_steps", min_steps, "2", 1, 64,
            "tinygsm generator: fewest operations"),
    CFG_INT(TinyGsmParams, "task.max_steps", max_steps, "6", 1, 64,
            "tinygsm generator: most operations"),
    CFG_LONG(TinyGsmParams, "task.max_number", max_number, "100", 2, 1000000000,
             "tinygsm generator: largest operand"),
};

static const ConfigSection tinygsm_config_section =
    CFG_SECTION("tinygsm", tinygsm_keys, TinyGsmParams, tinygsm_params_validate);

/* One split's examples: token ids of question and solution back to back in one pool. */
typedef struct GsmSplit {
    int *ids;          /* all rows' question ids then solution ids */
    size_t *start;     /* row r's ids begin at ids[start[r]] */
    int *n_question;   /* question ids of row r */
    int *n_code;       /* solution ids of row r (0 for GSM8K rows) */
    double *reference; /* row r's reference answer */
    long n, dropped;
} GsmSplit;

typedef struct TinyGsm {
    Tokenizer tok;
    GsmSplit split[2];
    int seq_len;
} TinyGsm;

static const GsmSplit *split_of(const Task *t, int split) {
    return &((const TinyGsm *)t->impl)->split[split == SPLIT_TRAIN ? 0 : 1];
}

/* The code without the docstring that opens the function body, when asked to. */
static void strip_docstring(const char *code, StrBuf *out) {
    const char *body = strchr(code, '\n');
    const char *p = body ? body + 1 : NULL;
    while (p && (*p == ' ' || *p == '\t')) p++;
    const char *quote = p && (strncmp(p, "\"\"\"", 3) == 0 || strncmp(p, "'''", 3) == 0) ? p : NULL;
    const char *close = quote ? strstr(quote + 3, quote[0] == '"' ? "\"\"\"" : "'''") : NULL;
    if (!close) {
        sb_printf(out, "%s", code);
        return;
    }
    const char *after = strchr(close + 3, '\n');
    sb_append(out, code, (size_t)(body + 1 - code));
    if (after) sb_printf(out, "%s", after + 1);
}

/* Tokenizes the rows of set into sp, dropping rows that do not fit. */
static int fill_split(TinyGsm *g, const Config *cfg, const TinyGsmSet *set, int need_code,
                      GsmSplit *sp, Err *err) {
    const TinyGsmParams *params = config_params_of(cfg, &tinygsm_config_section);
    long n = set->count;
    sp->start = calloc((size_t)n + 1, sizeof(size_t));
    sp->n_question = calloc((size_t)n + 1, sizeof(int));
    sp->n_code = calloc((size_t)n + 1, sizeof(int));
    sp->reference = calloc((size_t)n + 1, sizeof(double));
    if (!sp->start || !sp->n_question || !sp->n_code || !sp->reference)
        return err_set(err, "out of memory");
    IntBuf pool = {0}, q = {0}, c = {0};
    StrBuf code = {0};
    int rc = 0;
    for (long r = 0; r < n && rc == 0; r++) {
        const TinyGsmRow *row = &set->rows[r];
        q.len = c.len = code.len = 0;
        rc = tokenizer_encode(&g->tok, row->question, strlen(row->question), &q, err);
        if (rc == 0 && row->code) {
            if (params->strip_docstring)
                strip_docstring(row->code, &code);
            else
                sb_printf(&code, "%s", row->code);
            rc = tokenizer_encode(&g->tok, code.data, code.len, &c, err);
        }
        /* question, SEP, solution, at least one EOS; evaluation rows keep their solution
         * only when it fits (their reference is a number either way) */
        int fits_code = row->code && q.len + c.len + 2 <= (size_t)g->seq_len;
        if (rc != 0 || q.len + 2 > (size_t)g->seq_len || (need_code && !fits_code)) {
            sp->dropped++;
            continue;
        }
        if (!fits_code) c.len = 0;
        sp->start[sp->n] = pool.len;
        sp->n_question[sp->n] = (int)q.len;
        sp->n_code[sp->n] = (int)c.len;
        sp->reference[sp->n] = row->reference;
        for (size_t i = 0; i < q.len; i++) intbuf_push(&pool, q.data[i]);
        for (size_t i = 0; i < c.len; i++) intbuf_push(&pool, c.data[i]);
        sp->n++;
    }
    sp->ids = pool.data;
    intbuf_free(&q);
    intbuf_free(&c);
    sb_free(&code);
    return rc;
}

/* Generated rows [0, count) of the data set `seed`, as tinygsm_load would read them. */
static int generate_rows(const Config *cfg, uint64_t seed, long count, TinyGsmSet *set, Err *err) {
    TinyGsmGenOptions o;
    tinygsm_gen_defaults(&o);
    const TinyGsmParams *params = config_params_of(cfg, &tinygsm_config_section);
    o.min_steps = params->min_steps;
    o.max_steps = params->max_steps;
    o.max_number = params->max_number;
    if (tinygsm_gen_validate(&o, err)) return -1;
    set->rows = calloc((size_t)(count > 0 ? count : 1), sizeof(TinyGsmRow));
    if (!set->rows) return err_set(err, "out of memory");
    TinyGsmProblem p;
    memset(&p, 0, sizeof(p));
    for (long i = 0; i < count; i++) {
        Rng rng;
        rng_seed(&rng, seed, (uint64_t)i);
        tinygsm_generate(&rng, &o, &p);
        TinyGsmRow *row = &set->rows[set->count++];
        row->question = strdup(p.question.data);
        row->code = strdup(p.code.data);
        row->reference = (double)p.answer;
        row->line = i + 1;
        if (!row->question || !row->code) {
            tinygsm_problem_free(&p);
            return err_set(err, "out of memory");
        }
    }
    tinygsm_problem_free(&p);
    return 0;
}

static int load_split(TinyGsm *g, const Config *cfg, int which, Err *err) {
    const char *file = which == 0 ? cfg->task.train_file : cfg->task.eval_file;
    long count = which == 0 ? cfg->task.train_count : cfg->task.eval_count;
    TinyGsmSet set;
    memset(&set, 0, sizeof(set));
    int rc = file[0] ? tinygsm_load(file, count, &set, err)
                     : generate_rows(cfg, (uint64_t)cfg->task.data_seed + (uint64_t)which, count,
                                     &set, err);
    if (rc == 0) rc = fill_split(g, cfg, &set, which == 0, &g->split[which], err);
    tinygsm_set_free(&set);
    if (rc == 0 && g->split[which].n == 0)
        rc = err_set(err, "%s: no %s rows fit task.seq_len=%d (%ld dropped)",
                     file[0] ? file : "generated data", which == 0 ? "training" : "evaluation",
                     g->seq_len, g->split[which].dropped);
    return rc;
}

static void gsm_destroy(Task *t) {
    TinyGsm *g = t->impl;
    if (!g) return;
    for (int s = 0; s < 2; s++) {
        free(g->split[s].ids);
        free(g->split[s].start);
        free(g->split[s].n_question);
        free(g->split[s].n_code);
        free(g->split[s].reference);
    }
    tokenizer_free(&g->tok);
    free(g);
    t->impl = NULL;
}

static int gsm_create(Task *t, const Config *cfg, Err *err) {
    TinyGsm *g = calloc(1, sizeof(*g));
    if (!g) return err_set(err, "out of memory");
    t->impl = g;
    unsigned specials = TOK_SPECIAL_EOS | TOK_SPECIAL_MASK | TOK_SPECIAL_SEP;
    if (tokenizer_open_name(&g->tok, cfg->task.tokenizer, NULL, specials, err)) return -1;
    g->seq_len = cfg->task.seq_len > 0           ? cfg->task.seq_len
                 : g->tok.kind == TOKENIZER_BYTE ? 768
                                                 : 256;
    if (load_split(g, cfg, 0, err) || load_split(g, cfg, 1, err)) return -1;
    t->seq_len = g->seq_len;
    t->vocab_size = g->tok.vocab_size;
    t->mask_id = g->tok.mask_id;
    t->n_train = g->split[0].n;
    t->n_eval = g->split[1].n;
    return 0;
}

static void gsm_example(const Task *t, int split, long index, int *tokens,
                        unsigned char *is_prompt) {
    const TinyGsm *g = t->impl;
    const GsmSplit *sp = split_of(t, split);
    long r = index % sp->n;
    const int *ids = sp->ids + sp->start[r];
    int nq = sp->n_question[r], nc = sp->n_code[r], T = g->seq_len, pos = 0;
    for (int i = 0; i < nq; i++) tokens[pos++] = ids[i];
    tokens[pos++] = g->tok.sep_id;
    for (int i = 0; i < nc; i++) tokens[pos++] = ids[nq + i];
    while (pos < T) tokens[pos++] = g->tok.eos_id;
    for (int i = 0; i < T; i++) is_prompt[i] = i <= nq;
}

/* The answer's code: the tokens after SEP up to the first EOS. */
static int answer_code(const TinyGsm *g, const int *tokens, int from, StrBuf *code) {
    int end = from;
    while (end < g->seq_len && tokens[end] != g->tok.eos_id) end++;
    Err ignored;
    return tokenizer_decode(&g->tok, tokens + from, (size_t)(end - from), code, &ignored);
}

static int gsm_score(const Task *t, int split, long index, const int *tokens) {
    const TinyGsm *g = t->impl;
    const GsmSplit *sp = split_of(t, split);
    long r = index % sp->n;
    StrBuf code = {0};
    PyValue v;
    Err ignored;
    int ok = answer_code(g, tokens, sp->n_question[r] + 1, &code) == 0 && code.data &&
             pyeval_run(code.data, code.len, &v, &ignored) == 0 &&
             pyeval_matches(v, sp->reference[r]);
    sb_free(&code);
    return ok;
}

static void gsm_render(const Task *t, const int *tokens, char *out, size_t n) {
    const TinyGsm *g = t->impl;
    StrBuf text = {0};
    Err ignored;
    int end = g->seq_len;
    while (end > 0 && tokens[end - 1] == g->tok.eos_id) end--;
    if (tokenizer_decode(&g->tok, tokens, (size_t)end, &text, &ignored) != 0 || !text.data)
        snprintf(out, n, "<undecodable>");
    else
        snprintf(out, n, "%s", text.data);
    sb_free(&text);
}

const TaskOps task_tinygsm_ops = {
    .name = "tinygsm",
    .description = "TinyGSM-style math: question -> Python solution, scored by evaluating it",
    .config = &tinygsm_config_section,
    .create = gsm_create,
    .destroy = gsm_destroy,
    .example = gsm_example,
    .score = gsm_score,
    .render = gsm_render,
    .gen_command = tinygsm_gen_command,
    .score_command = tinygsm_score_command,
};
