/* config: key table, defaults, YAML loading and its errors, overrides, validation, the
 * canonical YAML round trip. */
#include "forward/config_schema.h"
#include "base/config.h"
#include "check.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];
static const char *written[64]; /* names of the files in tmpdir, for cleanup */
static int n_written;

/* Writes text to tmpdir/name; returns the path (static buffer, valid until the next call). */
static const char *write_yaml(const char *name, const char *text) {
    static char path[512];
    Err err;
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    if (n_written < 64) written[n_written++] = name;
    if (write_file_atomic(path, text, strlen(text), &err)) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
    return path;
}

/* The canonical YAML of cfg, replacing whatever sb held. */
static const char *canonical(const Config *cfg, StrBuf *sb) {
    sb_free(sb);
    config_write_yaml(cfg, sb);
    return sb->data;
}

/* ---- the key table ---------------------------------------------------------------------- */

#define FIELD_OF(f)                                                                                \
    { #f, offsetof(Config, f), sizeof(((Config *)0)->f) }
static const struct {
    const char *field;
    size_t offset, size;
} every_field[] = {
    FIELD_OF(name),
    FIELD_OF(task_name),
    FIELD_OF(backend),
    FIELD_OF(threads),
    FIELD_OF(seed),
    FIELD_OF(process),
    FIELD_OF(out_dir),
    FIELD_OF(task.train_file),
    FIELD_OF(task.eval_file),
    FIELD_OF(task.train_count),
    FIELD_OF(task.eval_count),
    FIELD_OF(task.data_seed),
    FIELD_OF(task.tokenizer),
    FIELD_OF(task.seq_len),
    FIELD_OF(model.d),
    FIELD_OF(model.layers),
    FIELD_OF(model.heads),
    FIELD_OF(model.ffn),
    FIELD_OF(model.tied_head),
    FIELD_OF(model.causal),
    FIELD_OF(model.rope_theta),
    FIELD_OF(model.norm_eps),
    FIELD_OF(model.init_std),
    FIELD_OF(model.init),
    FIELD_OF(model.rope),
    FIELD_OF(train.steps),
    FIELD_OF(train.batch),
    FIELD_OF(train.lr),
    FIELD_OF(train.min_lr_frac),
    FIELD_OF(train.warmup_steps),
    FIELD_OF(train.weight_decay),
    FIELD_OF(train.beta1),
    FIELD_OF(train.beta2),
    FIELD_OF(train.adam_eps),
    FIELD_OF(train.grad_clip),
    FIELD_OF(train.ema),
    FIELD_OF(train.log_every),
    FIELD_OF(train.eval_every),
    FIELD_OF(train.ckpt_every),
    FIELD_OF(train.keep_checkpoints),
    FIELD_OF(train.resume),
    FIELD_OF(train.overwrite),
    FIELD_OF(eval.count),
    FIELD_OF(eval.batch),
    FIELD_OF(eval.policy),
    FIELD_OF(eval.tokens_per_step),
    FIELD_OF(eval.threshold),
    FIELD_OF(eval.temperature),
    FIELD_OF(eval.use_ema),
    FIELD_OF(eval.block_size),
    FIELD_OF(eval.elbo_points),
    FIELD_OF(eval.samples),
    FIELD_OF(eval.extra),
    FIELD_OF(eval.sampler),
    FIELD_OF(eval.steps),
    FIELD_OF(eval.light_checkpoint),
    FIELD_OF(eval.schedule),
    FIELD_OF(model.shift_logits),
    FIELD_OF(train.init_from),
    FIELD_OF(train.attention_anneal_steps),
};
enum { N_FIELDS = sizeof every_field / sizeof every_field[0] };

static size_t type_size(ConfigType t) {
    switch (t) {
    case CFG_T_INT:
    case CFG_T_BOOL:
        return sizeof(int);
    case CFG_T_LONG:
        return sizeof(long);
    case CFG_T_DOUBLE:
        return sizeof(double);
    case CFG_T_STRING:
        return 0;
    case CFG_T_SCHEDULE:
        return sizeof(Schedule);
    }
    return 0;
}

/* The value of key in c as the canonical YAML writes it (static buffer). */
static const char *value_of(const Config *c, const char *key) {
    static char out[CFG_PATH + 8];
    if (config_format_value(c, key, out, sizeof out)) snprintf(out, sizeof out, "<no key %s>", key);
    return out;
}

static void test_key_table(void) {
    Config cfg;
    config_defaults(&cfg);
    const int n = config_key_count(&cfg), core = config_core_key_count();
    CHECK(core == N_FIELDS && n > core);
    for (int f = 0; f < N_FIELDS; f++) {
        int found = 0;
        for (int i = 0; i < core; i++)
            found += config_key_at(&cfg, i)->offset == every_field[f].offset &&
                     config_key_at(&cfg, i)->size == every_field[f].size;
        CHECK_MSG(found == 1, "field %s is covered by %d keys", every_field[f].field, found);
    }
    for (int i = 0; i < n; i++) {
        const ConfigKey *k = config_key_at(&cfg, i);
        CHECK_MSG(k->help && strlen(k->help) > 5, "%s has no help", k->name);
        if (k->type != CFG_T_STRING) CHECK_MSG(k->size == type_size(k->type), "%s size", k->name);
        if (k->type == CFG_T_INT)
            CHECK_MSG(k->min >= INT_MIN && k->max <= INT_MAX, "%s bounds exceed int", k->name);
        if (k->type == CFG_T_INT || k->type == CFG_T_LONG || k->type == CFG_T_DOUBLE)
            CHECK_MSG(k->min <= k->max, "%s bounds", k->name);
        for (int j = 0; j < i; j++) CHECK(strcmp(config_key_at(&cfg, j)->name, k->name) != 0);
        /* Every default goes through the same parser as user values. */
        Config c;
        Err err;
        char assignment[600];
        config_defaults(&c);
        snprintf(assignment, sizeof assignment, "%s=%s", k->name, k->def ? k->def : "");
        if (k->def) CHECK_MSG(config_apply_override(&c, assignment, &err) == 0, "%s", err.msg);
    }
    /* Every module's section is in the schema, its keys after the core table's. */
    const char *module_keys[] = {"task.box",    "task.layout", "task.max_number",
                                 "task.corpus", "puma.K",      "block.size_schedule"};
    for (size_t i = 0; i < sizeof module_keys / sizeof module_keys[0]; i++) {
        int at = -1;
        for (int j = 0; j < n; j++)
            if (strcmp(config_key_at(&cfg, j)->name, module_keys[i]) == 0) at = j;
        CHECK_MSG(at >= core, "%s at %d", module_keys[i], at);
    }
}

static void test_defaults(void) {
    Config c;
    config_defaults(&c);
    CHECK(strcmp(c.name, "") == 0);
    CHECK(strcmp(c.task_name, "sudoku") == 0);
    CHECK(strcmp(c.backend, "auto") == 0);
    CHECK(c.threads == 0 && c.seed == 1);
    CHECK(strcmp(c.process, "random") == 0 && strcmp(c.out_dir, "") == 0);
    CHECK(strcmp(value_of(&c, "task.layout"), "\"prompt\"") == 0);
    CHECK(strcmp(value_of(&c, "task.box"), "3") == 0);
    CHECK(c.task.train_file[0] == '\0' && c.task.eval_file[0] == '\0');
    CHECK(c.task.train_count == 20000 && c.task.eval_count == 256);
    CHECK(strcmp(value_of(&c, "task.min_clues"), "0") == 0 && c.task.data_seed == 1234);
    CHECK(c.model.d == 256 && c.model.layers == 8 && c.model.heads == 8 && c.model.ffn == 768);
    CHECK(c.model.tied_head == 0 && c.model.causal == 0);
    CHECK(c.model.rope_theta == 10000 && c.model.norm_eps == 1e-6 && c.model.init_std == 0.02);
    CHECK(c.train.steps == 20000 && c.train.batch == 32 && c.train.lr == 3e-4);
    CHECK(c.train.min_lr_frac == 0 && c.train.warmup_steps == 500);
    CHECK(c.train.weight_decay == 0.01 && c.train.beta1 == 0.9 && c.train.beta2 == 0.999);
    CHECK(c.train.adam_eps == 1e-8 && c.train.grad_clip == 1.0 && c.train.ema == 1);
    CHECK(c.train.log_every == 10 && c.train.eval_every == 500 && c.train.ckpt_every == 500);
    CHECK(c.train.resume[0] == '\0');
    CHECK(c.eval.count == 256 && c.eval.batch == 64 && strcmp(c.eval.policy, "margin") == 0);
    CHECK(c.eval.tokens_per_step == 1 && c.eval.threshold == 0 && c.eval.temperature == 0);
    CHECK(c.eval.use_ema == 1);
    Err err;
    CHECK_MSG(config_validate(&c, &err) == 0, "%s", err.msg);
}

/* ---- loading ---------------------------------------------------------------------------- */

static void test_load_yaml(void) {
    const char *path = write_yaml("good.yaml", "# a sweep point\n"
                                               "name: quick\n"
                                               "seed: 7\n"
                                               "backend: 'ref'\n"
                                               "model:\n"
                                               "  d: 64\n"
                                               "  heads: 4   # head dim 16\n"
                                               "  tied_head: Yes\n"
                                               "train.lr: 1e-3\n"
                                               "train:\n"
                                               "  batch: 16\n"
                                               "  ema: off\n"
                                               "  resume: \"run dir/ck \\\"1\\\".bin\"\n"
                                               "task: {box: 2, min_clues: 4, max_clues: 8}\n"
                                               "eval.policy: topk\n"
                                               "eval: {threshold: 0.5, count: -0}\n");
    Config c;
    Err err;
    config_defaults(&c);
    CHECK_MSG(config_load_yaml(&c, path, &err) == 0, "%s", err.msg);
    CHECK(strcmp(c.name, "quick") == 0 && c.seed == 7 && strcmp(c.backend, "ref") == 0);
    CHECK(c.model.d == 64 && c.model.heads == 4 && c.model.tied_head == 1);
    CHECK(c.model.layers == 8); /* untouched keys keep their values */
    CHECK(c.train.lr == 1e-3 && c.train.batch == 16 && c.train.ema == 0);
    CHECK(strcmp(c.train.resume, "run dir/ck \"1\".bin") == 0);
    CHECK(strcmp(value_of(&c, "task.box"), "2") == 0);
    CHECK(strcmp(value_of(&c, "task.min_clues"), "4") == 0);
    CHECK(strcmp(value_of(&c, "task.max_clues"), "8") == 0);
    CHECK(strcmp(c.task_name, "sudoku") == 0);
    CHECK(strcmp(c.eval.policy, "topk") == 0 && c.eval.threshold == 0.5 && c.eval.count == 0);
    CHECK_MSG(config_validate(&c, &err) == 0, "%s", err.msg);

    /* The task's name is a key of its section; a dotted top-level key works too. */
    config_defaults(&c);
    CHECK(config_load_yaml_string(&c, "task:\n  name: sudoku\n  box: 2\n", 29, "t", &err) == 0);
    CHECK(strcmp(c.task_name, "sudoku") == 0 && strcmp(value_of(&c, "task.box"), "2") == 0);
    config_defaults(&c);
    CHECK(config_load_yaml_string(&c, "task.box: 2\n", 12, "t", &err) == 0);
    CHECK(strcmp(value_of(&c, "task.box"), "2") == 0);

    /* An empty section (every entry commented out) is allowed. */
    const char *empty_section = "model:\n  # d: 64\nseed: 3\n";
    config_defaults(&c);
    CHECK_MSG(config_load_yaml_string(&c, empty_section, strlen(empty_section), "e", &err) == 0,
              "%s", err.msg);
    CHECK(c.seed == 3 && c.model.d == 256);
}

/* Loads `text` from a file named `file`; the load must fail with a message that contains the
 * file name, ":line:" (line > 0) and each of the fragments. The config must be untouched. */
static void expect_load_error(const char *file, const char *text, int line, const char *frag1,
                              const char *frag2) {
    const char *path = write_yaml(file, text);
    Config c, before;
    Err err;
    config_defaults(&c);
    before = c;
    err.msg[0] = '\0';
    int rc = config_load_yaml(&c, path, &err);
    CHECK_MSG(rc == -1, "%s: loaded without error", file);
    CHECK_MSG(strstr(err.msg, path) != NULL, "%s: no file name in: %s", file, err.msg);
    if (line > 0) {
        char at[600];
        snprintf(at, sizeof at, "%s:%d: ", path, line);
        CHECK_MSG(strstr(err.msg, at) != NULL, "%s: want line %d in: %s", file, line, err.msg);
    }
    CHECK_MSG(strstr(err.msg, frag1) != NULL, "%s: want '%s' in: %s", file, frag1, err.msg);
    if (frag2)
        CHECK_MSG(strstr(err.msg, frag2) != NULL, "%s: want '%s' in: %s", file, frag2, err.msg);
    CHECK_MSG(strchr(err.msg, '\n') == NULL, "%s: message is not one line: %s", file, err.msg);
    CHECK_MSG(memcmp(&c, &before, sizeof c) == 0, "%s: failed load modified the config", file);
}

static void test_load_errors(void) {
    expect_load_error("int.yaml", "# comment\nname: x\nseed: 2\n\nmodel:\n  heads: 4\n  d: abc\n",
                      7, "key 'model.d': expected an integer, got 'abc'", NULL);
    expect_load_error("unknown.yaml", "seed: 1\nmodel:\n  dd: 64\n", 3, "unknown key 'model.dd'",
                      "(did you mean 'model.d'?)");
    expect_load_error("unknown_section.yaml", "seed: 1\n\nmodle:\n  d: 64\n", 3,
                      "unknown key 'modle'", "(did you mean 'model'?)");
    expect_load_error("leaf.yaml", "seed: 1\nlr: 0.1\n", 2, "unknown key 'lr'",
                      "(did you mean 'train.lr'?)");
    expect_load_error("far.yaml", "seed: 1\nzzzzzzzzzz: 0.1\n", 2, "unknown key 'zzzzzzzzzz'",
                      NULL);
    expect_load_error("list.yaml", "seed: 1\nmodel: {d: 64}\ntrain:\n  lr: [1, 2]\n", 4,
                      "key 'train.lr': expected a single value, got a list", NULL);
    expect_load_error("map.yaml", "seed:\n  a: 1\n", 2,
                      "key 'seed': expected a single value, got a mapping", NULL);
    expect_load_error("dup.yaml", "name: a\nseed: 1\nmodel:\n  d: 64\nseed: 2\n", 5,
                      "duplicate key 'seed'", "first set on line 2");
    expect_load_error("dup_dotted.yaml", "model:\n  d: 64\nmodel.d: 32\n", 3,
                      "duplicate key 'model.d'", NULL);
    expect_load_error("syntax.yaml", "seed: 1\nmodel:\n  d: 64\n heads: 4\n", 4,
                      "YAML syntax error: did not find expected key", "(column 2)");
    expect_load_error("syntax2.yaml", "seed: 1\nmodel:\n  d: 64\n  heads: 4: 5\n", 4,
                      "YAML syntax error: mapping values are not allowed", "(column 11)");
    expect_load_error("unclosed.yaml", "seed: 1\nname: \"abc\n", 0, "YAML syntax error: ", NULL);
    expect_load_error("empty.yaml", "", 0, "file is empty", NULL);
    expect_load_error("comments.yaml", "# nothing here\n\n", 0, "file is empty", NULL);
    expect_load_error("toplist.yaml", "- seed: 1\n", 1, "expected a mapping at the top level",
                      NULL);
    expect_load_error("topscalar.yaml", "hello\n", 1, "expected a mapping at the top level", NULL);
    expect_load_error("min.yaml", "seed: 1\nmodel.d: 0\n", 2,
                      "key 'model.d': 0 is below the minimum 1", NULL);
    expect_load_error("max.yaml", "threads: 5000\n", 1,
                      "key 'threads': 5000 is above the maximum 1024", NULL);
    expect_load_error("lr.yaml", "train:\n  lr: 0\n", 2, "key 'train.lr': 0 is below the minimum",
                      NULL);
    expect_load_error("beta.yaml", "train:\n  beta2: 1.0\n", 2,
                      "key 'train.beta2': 1 is above the maximum", NULL);
    expect_load_error("null.yaml", "seed:\nname: a\n", 1, "key 'seed': expected a value", NULL);
    expect_load_error("near.yaml", "name: a\nnane2: b\n", 2, "unknown key 'nane2'",
                      "(did you mean 'name'?)");
    expect_load_error("tilde2.yaml", "name: ~\n", 1, "key 'name': expected a value", NULL);
    expect_load_error("bool.yaml", "model:\n  causal: maybe\n", 2,
                      "key 'model.causal': expected true or false, got 'maybe'", NULL);
    expect_load_error("double.yaml", "train:\n  lr: 1e-3x\n", 2,
                      "key 'train.lr': expected a number, got '1e-3x'", NULL);
    expect_load_error("inf.yaml", "model:\n  rope_theta: inf\n", 2,
                      "key 'model.rope_theta': expected a finite number", NULL);
    expect_load_error("nan.yaml", "eval:\n  threshold: nan\n", 2,
                      "key 'eval.threshold': expected a finite number", NULL);
    expect_load_error("newline.yaml", "seed: \"1\\n2\"\n", 1,
                      "key 'seed': expected an integer, got '1\\n2'", NULL);
    expect_load_error("junk.yaml", "model:\n  d: 64abc\n", 2,
                      "key 'model.d': expected an integer, got '64abc'", NULL);
    expect_load_error("float_int.yaml", "model:\n  d: 64.0\n", 2,
                      "key 'model.d': expected an integer, got '64.0'", NULL);
    expect_load_error("overflow.yaml", "seed: 99999999999999999999\n", 1,
                      "key 'seed': expected an integer", "out of range");
    expect_load_error("int_range.yaml", "threads: 4294967297\n", 1,
                      "key 'threads': 4294967297 is above the maximum", NULL);

    char long_text[400];
    snprintf(long_text, sizeof long_text, "name: %0200d\n", 7);
    expect_load_error("long.yaml", long_text, 1, "key 'name': value is too long", NULL);

    expect_load_error("section_scalar.yaml", "seed: 1\nmodel: 64\n", 2,
                      "'model' is a section: expected a mapping", NULL);
    expect_load_error("alias.yaml", "seed: &s 3\ntask:\n  data_seed: *s\n", 3,
                      "key 'task.data_seed'", "aliases are not supported");
    expect_load_error("complex_key.yaml", "? [a, b]\n: 1\n", 1, "expected a key name", NULL);
    expect_load_error("two_docs.yaml", "seed: 1\n---\nseed: 2\n", 2,
                      "expected a single YAML document", NULL);

    Config c;
    Err err;
    config_defaults(&c);
    CHECK(config_load_yaml(&c, "/nonexistent/mdmlab/exp.yaml", &err) == -1);
    CHECK_MSG(strstr(err.msg, "/nonexistent/mdmlab/exp.yaml") != NULL, "%s", err.msg);
}

static void test_load_string_origin(void) {
    Config c;
    Err err;
    config_defaults(&c);
    const char *text = "seed: 1\nmodel: {d: x}\n";
    CHECK(config_load_yaml_string(&c, text, strlen(text), "checkpoint.bin", &err) == -1);
    CHECK_MSG(strcmp(err.msg, "checkpoint.bin:2: key 'model.d': expected an integer, got 'x'") == 0,
              "%s", err.msg);
    /* Only `len` bytes are parsed. */
    const char *longer = "seed: 5\nseed: 6\n";
    CHECK(config_load_yaml_string(&c, longer, 8, "s", &err) == 0);
    CHECK(c.seed == 5);
}

/* ---- overrides -------------------------------------------------------------------------- */

static void expect_override_error(const char *assignment, const char *want_exact,
                                  const char *want_fragment) {
    Config c, before;
    Err err;
    config_defaults(&c);
    before = c;
    err.msg[0] = '\0';
    CHECK_MSG(config_apply_override(&c, assignment, &err) == -1, "'%s' applied", assignment);
    if (want_exact) CHECK_MSG(strcmp(err.msg, want_exact) == 0, "got: %s", err.msg);
    if (want_fragment) CHECK_MSG(strstr(err.msg, want_fragment) != NULL, "got: %s", err.msg);
    CHECK_MSG(memcmp(&c, &before, sizeof c) == 0, "'%s' modified the config", assignment);
}

static void test_overrides(void) {
    Config c;
    Err err;
    config_defaults(&c);
    CHECK(config_apply_override(&c, "model.d=64", &err) == 0 && c.model.d == 64);
    CHECK(config_apply_override(&c, "seed=-0", &err) == 0 && c.seed == 0);
    CHECK(config_apply_override(&c, "train.lr=2.5e-4", &err) == 0 && c.train.lr == 2.5e-4);
    CHECK(config_apply_override(&c, "train.ema=NO", &err) == 0 && c.train.ema == 0);
    CHECK(config_apply_override(&c, "model.causal=on", &err) == 0 && c.model.causal == 1);
    CHECK(config_apply_override(&c, "name=a=b", &err) == 0 && strcmp(c.name, "a=b") == 0);
    CHECK(config_apply_override(&c, " eval.policy = entropy ", &err) == 0);
    CHECK(strcmp(c.eval.policy, "entropy") == 0);
    CHECK(config_apply_override(&c, "train.resume=", &err) == 0 && c.train.resume[0] == '\0');
    CHECK(config_apply_override(&c, "threads=+4", &err) == 0 && c.threads == 4);

    expect_override_error("model.d=abc", "override 'model.d=abc': expected an integer, got 'abc'",
                          NULL);
    expect_override_error("model.dd=64", NULL, "unknown key 'model.dd' (did you mean 'model.d'?)");
    expect_override_error("model.dd=64", NULL, "override 'model.dd=64'");
    expect_override_error("model.d", "override 'model.d': expected key=value", NULL);
    expect_override_error("model=64",
                          "override 'model=64': 'model' is a section: name one of its "
                          "keys, e.g. 'model.d'",
                          NULL);
    expect_override_error("=5", NULL, "expected key=value");
    expect_override_error("model.d=", NULL, "expected an integer, got ''");
    expect_override_error("model.d=0", "override 'model.d=0': 0 is below the minimum 1", NULL);
    expect_override_error("train.beta1=1", NULL, "above the maximum");
    expect_override_error("train.ema=2", NULL, "expected true or false, got '2'");
    expect_override_error("model.d=1 2", NULL, "expected an integer, got '1 2'");
}

/* ---- validation ------------------------------------------------------------------------- */

static void expect_invalid(const char *a1, const char *a2, const char *frag1, const char *frag2) {
    Config c;
    Err err;
    config_defaults(&c);
    CHECK_MSG(config_apply_override(&c, a1, &err) == 0, "%s", err.msg);
    if (a2) CHECK_MSG(config_apply_override(&c, a2, &err) == 0, "%s", err.msg);
    err.msg[0] = '\0';
    CHECK_MSG(config_validate(&c, &err) == -1, "%s / %s validated", a1, a2 ? a2 : "");
    CHECK_MSG(strstr(err.msg, frag1) != NULL, "want '%s' in: %s", frag1, err.msg);
    if (frag2) CHECK_MSG(strstr(err.msg, frag2) != NULL, "want '%s' in: %s", frag2, err.msg);
}

/* Choice keys and registered names are checked where they are set, with a suggestion. */
static void test_allowed_values(void) {
    expect_load_error("bad_task.yaml", "seed: 2\ntask:\n  name: sudoko\n", 3, "key 'task.name'",
                      "did you mean 'sudoku'?");
    expect_load_error("bad_process.yaml", "process: PUMA\n", 1, "key 'process'", "'PUMA'");
    expect_load_error("bad_layout.yaml", "task: {layout: inplase}\n", 1, "task.layout",
                      "did you mean 'inplace'?");
    expect_load_error("bad_inner.yaml", "block:\n  inner: bloc\n", 2, "block.inner",
                      "random, puma");
    Config c;
    Err err;
    config_defaults(&c);
    CHECK(config_apply_override(&c, "eval.policy=greedy", &err) == -1);
    CHECK_MSG(strstr(err.msg, "expected one of topk, margin") != NULL, "%s", err.msg);
    CHECK(config_apply_override(&c, "task.name=", &err) == -1);
    CHECK(config_apply_override(&c, "process=puma", &err) == 0 && !strcmp(c.process, "puma"));
    snprintf(c.model.rope, sizeof c.model.rope, "twisted"); /* set in code: validate finds it */
    CHECK(config_validate(&c, &err) == -1);
    CHECK_MSG(strstr(err.msg, "model.rope") != NULL, "%s", err.msg);
}

static void test_validate(void) {
    expect_invalid("eval.extra=topk:1,best:2", NULL, "eval.extra", NULL);
    expect_invalid("eval.extra=topk", NULL, "eval.extra", NULL);
    expect_invalid("eval.extra=margin:0", NULL, "eval.extra", NULL);
    expect_invalid("model.d=100", "model.heads=8", "model.d", "model.heads");
    expect_invalid("model.d=24", "model.heads=8", "must be even", "model.heads");
    expect_invalid("task.min_clues=40", "task.max_clues=30", "task.min_clues", "task.max_clues");

    Config c;
    Err err;
    config_defaults(&c);
    c.train.batch = 0; /* set in code, bypassing the parser */
    CHECK(config_validate(&c, &err) == -1);
    CHECK_MSG(strstr(err.msg, "train.batch") != NULL, "%s", err.msg);
    config_defaults(&c);
    c.eval.tokens_per_step = 0;
    CHECK(config_validate(&c, &err) == -1);
    CHECK_MSG(strstr(err.msg, "eval.tokens_per_step") != NULL, "%s", err.msg);
    config_defaults(&c);
    c.train.lr = -1;
    CHECK(config_validate(&c, &err) == -1);
    CHECK_MSG(strstr(err.msg, "train.lr") != NULL, "%s", err.msg);

    config_defaults(&c);
    c.model.d = 64;
    c.model.heads = 4;
    CHECK_MSG(config_validate(&c, &err) == 0, "%s", err.msg);
}

/* ---- canonical YAML --------------------------------------------------------------------- */

static void check_round_trip(const Config *c, const char *label) {
    StrBuf first = {0}, second = {0};
    config_write_yaml(c, &first);
    Config back;
    Err err;
    config_defaults(&back);
    CHECK_MSG(config_load_yaml_string(&back, first.data, first.len, label, &err) == 0, "%s: %s\n%s",
              label, err.msg, first.data);
    config_write_yaml(&back, &second);
    CHECK_MSG(first.len == second.len && strcmp(first.data, second.data) == 0,
              "%s: rewrite differs:\n%s\n---\n%s", label, first.data, second.data);
    size_t at = 0;
    while (at < sizeof back && ((const unsigned char *)c)[at] == ((unsigned char *)&back)[at]) at++;
    CHECK_MSG(at == sizeof back, "%s: values differ after reading back (byte %zu)", label, at);
    sb_free(&first);
    sb_free(&second);
}

static void test_write_read_write(void) {
    Config c;
    config_defaults(&c);
    check_round_trip(&c, "defaults");

    Err err;
    const char *edits[] = {
        "name=quote \" back\\slash \\\" both",
        "out_dir=/tmp/runs/ünïcode dir",
        "train.resume=#not a comment: [x, y] & *z",
        "train.lr=0.1",
        "eval.threshold=0.3333333333333333",
        "model.init_std=1e-300",
        "model.norm_eps=1e-20",
        "model.rope_theta=123456789.123456789",
        "train.min_lr_frac=2.2250738585072014e-308",
        "train.beta2=0.99999999999999989",
        "train.grad_clip=0",
        "seed=9223372036854775807",
        "task.data_seed=0",
        "model.tied_head=true",
        "eval.use_ema=false",
        "backend=true",
        "name=123",
        "out_dir=",
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++)
        CHECK_MSG(config_apply_override(&c, edits[i], &err) == 0, "%s", err.msg);
    strcpy(c.task.eval_file, "tab\there\nnewline\x01 ctrl");
    check_round_trip(&c, "edited");
    CHECK(c.seed == LONG_MAX);

    StrBuf sb = {0};
    const char *text = canonical(&c, &sb);
    CHECK_MSG(strstr(text, "train.lr") == NULL, "%s", text);      /* nested, not dotted */
    CHECK_MSG(strstr(text, "\ntrain:\n") != NULL, "%s", text);    /* section header */
    CHECK_MSG(strstr(text, "\n  lr: 0.1\n") != NULL, "%s", text); /* exact double text */
    CHECK_MSG(strstr(text, "\nbackend: \"true\"\n") != NULL, "%s", text);
    sb_free(&sb);
}

static void test_canonical_layout(void) {
    Config c;
    config_defaults(&c);
    StrBuf sb = {0};
    const char *text = canonical(&c, &sb);
    /* Top-level scalars come first, in table order. */
    const char *head = "name: \"\"\nbackend: \"auto\"\nthreads: 0\n";
    CHECK_MSG(strncmp(text, head, strlen(head)) == 0, "%s", text);
    CHECK(strstr(text, "\nmodel:\n  d: 256\n  layers: 8\n") != NULL);
    CHECK(strstr(text, "\n  lr: 0.0003\n") != NULL);
    CHECK(strstr(text, "\n  norm_eps: 1e-06\n") != NULL);
    CHECK(strstr(text, "\n  ema: true\n") != NULL);
    CHECK(strstr(text, "\neval:\n  count: 256\n") != NULL);
    CHECK(strstr(text, "\ntask:\n  name: \"sudoku\"\n") != NULL);
    /* One line per key plus the six section headers. */
    int lines = 0;
    for (const char *p = text; *p; p++) lines += *p == '\n';
    /* task:, model:, train:, eval:, puma:, block:, prime: */
    CHECK(lines == config_key_count(&c) + 7);
    sb_free(&sb);
}

static void test_canonical_independent_of_order(void) {
    const char *a = "seed: 3\n"
                    "model:\n  d: 128\n  heads: 4\n"
                    "train:\n  lr: 1e-3\n  steps: 100\n"
                    "name: run\n";
    const char *b = "train.steps: 100\n"
                    "name: \"run\"\n"
                    "model.heads: 4\n"
                    "train: {lr: 0.001}\n"
                    "model:\n  d: 0128\n"
                    "seed: +3\n";
    Config ca, cb;
    Err err;
    config_defaults(&ca);
    config_defaults(&cb);
    CHECK_MSG(config_load_yaml(&ca, write_yaml("order_a.yaml", a), &err) == 0, "%s", err.msg);
    CHECK_MSG(config_load_yaml(&cb, write_yaml("order_b.yaml", b), &err) == 0, "%s", err.msg);
    StrBuf sa = {0}, sb = {0};
    const char *ta = canonical(&ca, &sa), *tb = canonical(&cb, &sb);
    CHECK_MSG(strcmp(ta, tb) == 0, "\n%s\n---\n%s", ta, tb);
    sb_free(&sa);
    sb_free(&sb);
}

static void test_print_keys(void) {
    char *out = NULL;
    size_t len = 0;
    Config c;
    config_defaults(&c);
    FILE *f = open_memstream(&out, &len);
    config_print_keys(&c, f);
    fclose(f);
    for (int i = 0; i < config_key_count(&c); i++) {
        const ConfigKey *k = config_key_at(&c, i);
        CHECK_MSG(strstr(out, k->name) != NULL, "%s missing", k->name);
        CHECK_MSG(strstr(out, k->help) != NULL, "%s help missing", k->name);
    }
    int lines = 0;
    for (size_t i = 0; i < len; i++) lines += out[i] == '\n';
    CHECK(lines == config_key_count(&c) + 1); /* header + one line per key */
    /* Aligned: the type column starts at the same offset on every line. */
    const char *line = strstr(out, "\nmodel.d ");
    const char *line2 = strstr(out, "\ntrain.warmup_steps ");
    CHECK(line && line2);
    if (line && line2) {
        const char *t1 = strstr(line, " int "), *t2 = strstr(line2, " long ");
        CHECK(t1 && t2 && t1 - line == t2 - line2);
    }
    free(out);
}

static void remove_tmpdir(void) {
    char path[512];
    for (int i = 0; i < n_written; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, written[i]);
        unlink(path);
    }
    CHECK_MSG(rmdir(tmpdir) == 0, "leftover files in %s", tmpdir);
}

/* Every key has a role, the role list names only real keys, and resetting a role touches
 * exactly its keys. */
static void test_roles(void) {
    Config c, d;
    config_defaults(&c);
    config_defaults(&d);
    for (int i = 0; i < config_role_key_count(); i++) {
        int found = 0;
        for (int k = 0; k < config_key_count(&c); k++)
            found |= strcmp(config_key_at(&c, k)->name, config_role_key_name(i)) == 0;
        CHECK_MSG(found, "role list names '%s', which is not a key", config_role_key_name(i));
    }
    const ConfigKey *steps = NULL, *out_dir = NULL, *policy = NULL, *backend = NULL;
    for (int k = 0; k < config_key_count(&c); k++) {
        const ConfigKey *key = config_key_at(&c, k);
        if (!strcmp(key->name, "train.steps")) steps = key;
        if (!strcmp(key->name, "out_dir")) out_dir = key;
        if (!strcmp(key->name, "eval.policy")) policy = key;
        if (!strcmp(key->name, "backend")) backend = key;
    }
    CHECK(steps && config_key_role(steps) == CFG_ROLE_TRAINS);
    CHECK(out_dir && config_key_role(out_dir) == CFG_ROLE_EXECUTION);
    CHECK(policy && config_key_role(policy) == CFG_ROLE_OBSERVATION);
    CHECK(backend && config_key_role(backend) == CFG_ROLE_COMPUTE);
    snprintf(c.out_dir, sizeof c.out_dir, "elsewhere");
    snprintf(c.eval.policy, sizeof c.eval.policy, "topk");
    c.train.steps = 7;
    config_reset_roles(&c, CFG_ROLE_EXECUTION);
    CHECK(strcmp(c.out_dir, d.out_dir) == 0 && strcmp(c.eval.policy, "topk") == 0);
    config_reset_roles(&c, CFG_ROLE_OBSERVATION);
    CHECK(strcmp(c.eval.policy, d.eval.policy) == 0 && c.train.steps == 7);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mdm_test_config_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_key_table();
    test_roles();
    test_defaults();
    test_load_yaml();
    test_load_errors();
    test_load_string_origin();
    test_overrides();
    test_validate();
    test_allowed_values();
    test_write_read_write();
    test_canonical_layout();
    test_canonical_independent_of_order();
    test_print_keys();
    remove_tmpdir();
    return check_summary("config");
}
