/* checkpoint: round trip, corruption and truncation detection, atomic replacement, and the
 * content checks every read applies (issue 12's damaged checkpoints: a negative step, missing
 * sections, non-finite weights, a stored config that does not describe the weights), each
 * refused with one line that names the file. */
#include "model/checkpoint.h"
#include "model/model_io.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

/* Every test checkpoint holds a tiny model: this stored config, vocabulary TINY_VOCAB. */
static const char tiny_config[] = "model:\n  d: 8\n  layers: 2\n  heads: 2\n  ffn: 8\n";
enum { TINY_VOCAB = 5 };
static const char *const state_names[MODEL_IO_STATE_SECTIONS] = {"params", "adam_m", "adam_v",
                                                                 "ema"};
enum { ALL_STATE = 0xf, ONLY_PARAMS = 0x1 };

static ModelConfig tiny_shape(void) {
    ModelConfig mc = {.vocab = TINY_VOCAB, .seq_len = 4, .d = 8, .layers = 2, .heads = 2, .ffn = 8};
    return mc;
}

/* The four parameter-shaped buffers of the tiny model, with finite values (adam_v >= 0). */
typedef struct TinyState {
    float *buf[MODEL_IO_STATE_SECTIONS];
    size_t floats, bytes;
} TinyState;

static void tiny_state_init(TinyState *t) {
    ModelConfig mc = tiny_shape();
    t->floats = (size_t)model_io_padded_params(&mc);
    t->bytes = t->floats * sizeof(float);
    for (int b = 0; b < MODEL_IO_STATE_SECTIONS; b++) {
        t->buf[b] = malloc(t->bytes);
        for (size_t i = 0; i < t->floats; i++)
            t->buf[b][i] = b == 2 ? 1.0f / (float)(i + 1) : (float)i * 0.25f - 3.0f + (float)b;
    }
}

static void tiny_state_free(TinyState *t) {
    for (int b = 0; b < MODEL_IO_STATE_SECTIONS; b++) free(t->buf[b]);
}

static void path_in_tmp(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static CkptSection section(const char *name, const void *data, uint64_t bytes) {
    CkptSection s;
    memset(&s, 0, sizeof s);
    snprintf(s.name, sizeof s.name, "%s", name);
    s.data = (void *)data;
    s.bytes = bytes;
    return s;
}

/* Writes the state sections whose bit is set in `present` (bit i: state_names[i]), then
 * `extra`; aborts on failure (the tests of damage start from sound files). */
static void write_tiny(const char *path, const char *config, int64_t step, const TinyState *t,
                       unsigned present, const CkptSection *extra, int n_extra) {
    CkptSection s[MODEL_IO_STATE_SECTIONS + 8];
    int n = 0;
    for (int b = 0; b < MODEL_IO_STATE_SECTIONS; b++)
        if (present & (1u << b)) s[n++] = section(state_names[b], t->buf[b], t->bytes);
    for (int i = 0; i < n_extra; i++) s[n++] = extra[i];
    Err err;
    if (checkpoint_write(path, config, step, s, n, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
}

static void read_bytes(const char *path, char **data, size_t *len) {
    Err err;
    if (read_file_all(path, data, len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
}

/* Plain (not atomic, no fsync) write: the corruption tests write thousands of files. */
static void write_bytes(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* A valid checksum over raw[0..len-8): damage that a writer could have sealed. */
static void reseal(char *raw, size_t len) {
    uint64_t sum = fnv1a64(raw, len - 8, FNV1A64_INIT);
    for (int i = 0; i < 8; i++) raw[len - 8 + i] = (char)(sum >> (8 * i));
}

/* Reading path must fail with one line that names the path and contains `want`. */
static void expect_read_error(const char *path, const char *want, const char *label, long at) {
    Checkpoint ck;
    Err err;
    err.msg[0] = '\0';
    int rc = checkpoint_read(path, &ck, &err);
    CHECK_MSG(rc == -1, "%s %ld: read succeeded", label, at);
    CHECK_MSG(strstr(err.msg, path) != NULL, "%s %ld: no path in: %s", label, at, err.msg);
    CHECK_MSG(strchr(err.msg, '\n') == NULL, "%s %ld: more than one line: %s", label, at, err.msg);
    if (want)
        CHECK_MSG(strstr(err.msg, want) != NULL, "%s %ld: want '%s' in: %s", label, at, want,
                  err.msg);
    CHECK(ck.blob == NULL && ck.sections == NULL && ck.config_yaml == NULL);
    checkpoint_free(&ck);
}

static void expect_write_error(const char *path, const char *config, int64_t step,
                               const CkptSection *s, int n, const char *want) {
    Err err;
    err.msg[0] = '\0';
    CHECK(checkpoint_write(path, config, step, s, n, &err) == -1);
    CHECK_MSG(strstr(err.msg, path) && (!want || strstr(err.msg, want)), "want '%s' in: %s",
              want ? want : "", err.msg);
    CHECK(!file_exists(path));
}

static void test_round_trip(void) {
    char path[512];
    path_in_tmp(path, sizeof path, "rt.ckpt");
    TinyState t;
    tiny_state_init(&t);
    unsigned char odd[3] = {1, 2, 255};
    CkptSection extra[2] = {section("empty", NULL, 0),
                            section("a_name_of_exactly_31_characters", odd, sizeof odd)};
    write_tiny(path, tiny_config, 123456789012345LL, &t, ALL_STATE, extra, 2);

    Checkpoint ck;
    Err err;
    CHECK_MSG(checkpoint_read(path, &ck, &err) == 0, "%s", err.msg);
    CHECK(ck.step == 123456789012345LL);
    CHECK(ck.config_len == strlen(tiny_config));
    CHECK(ck.config_yaml && strcmp(ck.config_yaml, tiny_config) == 0);
    CHECK(ck.n_sections == 6);
    for (int b = 0; b < MODEL_IO_STATE_SECTIONS; b++) {
        const CkptSection *s = checkpoint_section(&ck, state_names[b]);
        CHECK(s && s->bytes == t.bytes);
        if (s && s->bytes == t.bytes) {
            float *back = malloc(t.bytes);
            memcpy(back, s->data, t.bytes); /* section data need not be float-aligned */
            CHECK(memcmp(back, t.buf[b], t.bytes) == 0);
            free(back);
            CHECK((char *)s->data >= ck.blob); /* sections point into the blob */
        }
    }
    const CkptSection *e = checkpoint_section(&ck, "empty");
    CHECK(e && e->bytes == 0);
    const CkptSection *o = checkpoint_section(&ck, "a_name_of_exactly_31_characters");
    CHECK(o && o->bytes == 3 && memcmp(o->data, odd, 3) == 0);
    CHECK(checkpoint_section(&ck, "param") == NULL);
    /* Section order is preserved. */
    CHECK(strcmp(ck.sections[0].name, "params") == 0 &&
          strcmp(ck.sections[5].name, "a_name_of_exactly_31_characters") == 0);
    checkpoint_free(&ck);
    CHECK(ck.blob == NULL && ck.sections == NULL && ck.n_sections == 0);

    /* The documented layout, byte for byte; and the same bytes read from memory. */
    char *raw;
    size_t len;
    read_bytes(path, &raw, &len);
    size_t expected = 32 + strlen(tiny_config) + 6 * 40 + 4 * t.bytes + 3 + 8;
    CHECK(len == expected);
    CHECK(memcmp(raw, "MDMLCKPT", 8) == 0);
    CHECK(raw[8] == 1 && raw[9] == 0 && raw[10] == 0 && raw[11] == 0);
    CHECK(raw[12] == 6 && raw[13] == 0);
    CHECK(memcmp(raw + 32, tiny_config, strlen(tiny_config)) == 0);
    CHECK(strcmp(raw + 32 + strlen(tiny_config), "params") == 0);
    uint64_t sum = 0;
    for (int i = 0; i < 8; i++) sum |= (uint64_t)(unsigned char)raw[len - 8 + i] << (8 * i);
    CHECK(sum == fnv1a64(raw, len - 8, FNV1A64_INIT));
    CHECK_MSG(checkpoint_read_memory("in memory", raw, len, &ck, &err) == 0, "%s", err.msg);
    CHECK(ck.step == 123456789012345LL && ck.n_sections == 6);
    checkpoint_free(&ck);
    CHECK(checkpoint_read_memory("in memory", raw, 20, &ck, &err) == -1);
    CHECK_MSG(strstr(err.msg, "in memory: truncated") != NULL, "%s", err.msg);
    free(raw);

    /* Only the weights, at step 0. */
    write_tiny(path, tiny_config, 0, &t, ONLY_PARAMS, NULL, 0);
    CHECK_MSG(checkpoint_read(path, &ck, &err) == 0, "%s", err.msg);
    CHECK(ck.step == 0 && ck.n_sections == 1 && checkpoint_section(&ck, "ema") == NULL);
    checkpoint_free(&ck);
    unlink(path);
    tiny_state_free(&t);
}

/* A tiny checkpoint with a non-state section of each kind; returns its bytes. */
static char *small_checkpoint(const char *path, size_t *len, size_t *params_bytes) {
    TinyState t;
    tiny_state_init(&t);
    const char note[] = {9, 8, 7};
    CkptSection extra[2] = {section("empty", NULL, 0), section("note", note, 3)};
    write_tiny(path, tiny_config, 42, &t, ONLY_PARAMS, extra, 2);
    *params_bytes = t.bytes;
    tiny_state_free(&t);
    char *raw;
    read_bytes(path, &raw, len);
    return raw;
}

/* Byte ranges of the small checkpoint's size fields, where a flip changes the structure. */
static int is_size_field(size_t i, size_t params_bytes) {
    if (i >= 12 && i < 16) return 1; /* n_sections */
    if (i >= 24 && i < 32) return 1; /* config_len */
    size_t pos = 32 + strlen(tiny_config);
    const size_t bytes[3] = {params_bytes, 0, 3};
    for (int s = 0; s < 3; s++) {
        if (i >= pos + 32 && i < pos + 40) return 1;
        pos += 40 + bytes[s];
    }
    return 0;
}

static void test_every_byte_flip(void) {
    char path[512], bad[512];
    path_in_tmp(path, sizeof path, "flip_src.ckpt");
    path_in_tmp(bad, sizeof bad, "flip.ckpt");
    size_t len, params_bytes;
    char *raw = small_checkpoint(path, &len, &params_bytes);
    char *copy = malloc(len);
    for (size_t i = 0; i < len; i++) {
        memcpy(copy, raw, len);
        copy[i] ^= 0x20;
        write_bytes(bad, copy, len);
        const char *want;
        if (i < 8)
            want = "not an mdmlab checkpoint";
        else if (i < 12)
            want = "unsupported checkpoint version";
        else if (is_size_field(i, params_bytes))
            want = NULL; /* truncated or trailing bytes */
        else
            want = "checksum mismatch: file is corrupt";
        expect_read_error(bad, want, "flip at", (long)i);
    }
    free(copy);
    free(raw);
    unlink(bad);
    unlink(path);
}

static void test_every_truncation(void) {
    char path[512], bad[512];
    path_in_tmp(path, sizeof path, "trunc_src.ckpt");
    path_in_tmp(bad, sizeof bad, "trunc.ckpt");
    size_t len, params_bytes;
    char *raw = small_checkpoint(path, &len, &params_bytes);
    for (size_t cut = 0; cut < len; cut++) {
        write_bytes(bad, raw, cut);
        expect_read_error(bad, cut < 8 ? "not an mdmlab checkpoint" : "truncated", "cut at",
                          (long)cut);
    }

    /* Extra bytes after the checksum. */
    char *longer = malloc(len + 5);
    memcpy(longer, raw, len);
    memcpy(longer + len, "JUNK!", 5);
    write_bytes(bad, longer, len + 5);
    expect_read_error(bad, "trailing bytes", "appended", 5);
    free(longer);

    /* A huge section count or size must be rejected without allocating or reading past. */
    char *copy = malloc(len);
    memcpy(copy, raw, len);
    memset(copy + 12, 0xff, 4);
    write_bytes(bad, copy, len);
    expect_read_error(bad, "truncated", "n_sections", 0xffffffffL);
    memcpy(copy, raw, len);
    memset(copy + 24, 0xff, 8);
    write_bytes(bad, copy, len);
    expect_read_error(bad, "truncated", "config_len", -1);
    memcpy(copy, raw, len);
    memset(copy + 32 + strlen(tiny_config) + 32, 0xff, 8);
    write_bytes(bad, copy, len);
    expect_read_error(bad, "truncated", "section bytes", -1);
    free(copy);

    free(raw);
    unlink(bad);
    unlink(path);
}

static void test_bad_magic_and_version(void) {
    char path[512];
    path_in_tmp(path, sizeof path, "magic.ckpt");
    const char text[] = "seed: 1\nmodel:\n  d: 64\n this is a YAML file, not a checkpoint\n";
    write_bytes(path, text, sizeof text);
    expect_read_error(path, "not an mdmlab checkpoint", "yaml", 0);

    /* Version 2 with a valid checksum: the version is what is reported. */
    size_t len, params_bytes;
    char *raw = small_checkpoint(path, &len, &params_bytes);
    raw[8] = 2;
    reseal(raw, len);
    write_bytes(path, raw, len);
    expect_read_error(path, "unsupported checkpoint version 2", "version", 2);
    free(raw);

    char missing[512];
    path_in_tmp(missing, sizeof missing, "missing.ckpt");
    expect_read_error(missing, "No such file", "missing", 0);
    unlink(path);
}

static void test_atomic_replace(void) {
    char path[512], tmp[600];
    path_in_tmp(path, sizeof path, "run.ckpt");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    TinyState t;
    tiny_state_init(&t);
    char config2[256];
    snprintf(config2, sizeof config2, "seed: 2\n%s", tiny_config);
    write_tiny(path, tiny_config, 10, &t, ONLY_PARAMS, NULL, 0);
    CHECK(!file_exists(tmp));
    t.buf[0][3] = 99.0f;
    write_tiny(path, config2, 20, &t, ONLY_PARAMS, NULL, 0);
    CHECK(!file_exists(tmp));

    Checkpoint ck;
    Err err;
    CHECK_MSG(checkpoint_read(path, &ck, &err) == 0, "%s", err.msg);
    CHECK(ck.step == 20 && strcmp(ck.config_yaml, config2) == 0);
    const CkptSection *p = checkpoint_section(&ck, "params");
    CHECK(p && p->bytes == t.bytes && memcmp(p->data, t.buf[0], t.bytes) == 0);
    checkpoint_free(&ck);

    /* A failed write leaves the old checkpoint and no temporary. */
    char bad[512];
    path_in_tmp(bad, sizeof bad, "no_such_dir/run.ckpt");
    CkptSection sa = section("params", t.buf[0], t.bytes);
    CHECK(checkpoint_write(bad, "", 0, &sa, 1, &err) == -1);
    CHECK_MSG(strstr(err.msg, bad) != NULL, "%s", err.msg);
    CHECK_MSG(checkpoint_read(path, &ck, &err) == 0, "%s", err.msg);
    CHECK(ck.step == 20);
    checkpoint_free(&ck);
    unlink(path);
    tiny_state_free(&t);
}

static void test_write_rejects_bad_sections(void) {
    char path[512];
    path_in_tmp(path, sizeof path, "bad_sections.ckpt");
    float x = 1;
    CkptSection s[2] = {section("params", &x, 4), section("params", &x, 4)};
    expect_write_error(path, "", 0, s, 2, "duplicate section 'params'");
    CkptSection unnamed = section("", &x, 4);
    expect_write_error(path, "", 0, &unnamed, 1, "name must be 1 to 31 printable");
    CkptSection spaced = section("two words", &x, 4);
    expect_write_error(path, "", 0, &spaced, 1, "printable");
    CkptSection newline = section("a\nb", &x, 4);
    expect_write_error(path, "", 0, &newline, 1, "printable");
    CkptSection unterminated = section("params", &x, 4);
    memset(unterminated.name, 'x', sizeof unterminated.name);
    expect_write_error(path, "", 0, &unterminated, 1, NULL);
    CkptSection no_data = section("params", NULL, 4);
    expect_write_error(path, "", 0, &no_data, 1, "no data");
    expect_write_error(path, "", 0, NULL, -1, NULL);
    CkptSection many[CKPT_MAX_SECTIONS + 1];
    for (int i = 0; i <= CKPT_MAX_SECTIONS; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", i);
        many[i] = section(name, NULL, 0);
    }
    expect_write_error(path, "", 0, many, CKPT_MAX_SECTIONS + 1, "at most 64");
    expect_write_error(path, "", -1, &s[0], 1, "step -1 is negative");
    char *huge = malloc(CKPT_MAX_CONFIG_BYTES + 2);
    memset(huge, '#', CKPT_MAX_CONFIG_BYTES + 1);
    huge[CKPT_MAX_CONFIG_BYTES + 1] = '\0';
    expect_write_error(path, huge, 0, &s[0], 1, "over the 1048576-byte limit");
    free(huge);
}

static void test_large_section(void) {
    char path[512];
    path_in_tmp(path, sizeof path, "large.ckpt");
    TinyState t;
    tiny_state_init(&t);
    size_t n = 3u << 20;
    unsigned char *big = malloc(n);
    for (size_t i = 0; i < n; i++) big[i] = (unsigned char)(i * 2654435761u >> 24);
    CkptSection s = section("blob", big, n);
    write_tiny(path, tiny_config, 7, &t, ONLY_PARAMS, &s, 1);
    Checkpoint ck;
    Err err;
    CHECK_MSG(checkpoint_read(path, &ck, &err) == 0, "%s", err.msg);
    const CkptSection *p = checkpoint_section(&ck, "blob");
    CHECK(p && p->bytes == n && memcmp(p->data, big, n) == 0);
    checkpoint_free(&ck);
    free(big);
    unlink(path);
    tiny_state_free(&t);
}

/* Writes a sound tiny checkpoint, lets `damage` edit its bytes, reseals the checksum and
 * expects the read to fail with `want`. */
static void expect_sealed_damage(const char *label, void (*damage)(char **raw, size_t *len),
                                 const char *want) {
    char path[512];
    path_in_tmp(path, sizeof path, "sealed.ckpt");
    TinyState t;
    tiny_state_init(&t);
    write_tiny(path, tiny_config, 3, &t, ALL_STATE, NULL, 0);
    tiny_state_free(&t);
    char *raw;
    size_t len;
    read_bytes(path, &raw, &len);
    damage(&raw, &len);
    reseal(raw, len);
    write_bytes(path, raw, len);
    free(raw);
    expect_read_error(path, want, label, 0);
    unlink(path);
}

static size_t first_section_at(void) {
    return 32 + strlen(tiny_config);
}

static void negative_step(char **raw, size_t *len) {
    (void)len;
    memset(*raw + 16, 0xff, 8); /* -1 */
    (*raw)[16] = (char)0xfd;    /* -3 */
}

static void nul_in_config(char **raw, size_t *len) {
    (void)len;
    (*raw)[32 + 3] = '\0';
}

static void unprintable_name(char **raw, size_t *len) {
    (void)len;
    (*raw)[first_section_at() + 1] = '\n';
}

static void duplicate_name(char **raw, size_t *len) {
    (void)len;
    uint64_t bytes = 0;
    for (int i = 0; i < 8; i++)
        bytes |= (uint64_t)(unsigned char)(*raw)[first_section_at() + 32 + i] << (8 * i);
    memcpy(*raw + first_section_at() + 40 + bytes, "params", 6); /* "adam_m" -> "params" */
}

/* 65 sections: the 4 written plus 61 empty ones appended before the checksum. */
static void too_many_sections(char **raw, size_t *len) {
    int extra = CKPT_MAX_SECTIONS + 1 - 4;
    char *more = malloc(*len + (size_t)extra * 40);
    memcpy(more, *raw, *len - 8);
    for (int i = 0; i < extra; i++) {
        char *h = more + *len - 8 + (size_t)i * 40;
        memset(h, 0, 40);
        snprintf(h, 32, "x%d", i);
    }
    more[12] = (char)(CKPT_MAX_SECTIONS + 1);
    free(*raw);
    *raw = more;
    *len += (size_t)extra * 40;
}

static void test_damaged_header(void) {
    expect_sealed_damage("negative step", negative_step, "step -3 is negative");
    expect_sealed_damage("NUL in config", nul_in_config, "stored config holds a NUL byte");
    expect_sealed_damage("unprintable name", unprintable_name, "section 1 of 4: name is not");
    expect_sealed_damage("duplicate name", duplicate_name, "duplicate section 'params'");
    expect_sealed_damage("65 sections", too_many_sections, "65 sections, more than the 64");
}

/* Writes the tiny state (sections `present`) under `config` and expects the read to fail. */
static void expect_content_error(const char *label, const char *config, const TinyState *t,
                                 unsigned present, const char *want) {
    char path[512];
    path_in_tmp(path, sizeof path, "content.ckpt");
    write_tiny(path, config, 5, t, present, NULL, 0);
    expect_read_error(path, want, label, 0);
    unlink(path);
}

static void test_stored_config_mismatch(void) {
    TinyState t;
    tiny_state_init(&t);
    const char *fits_no_vocabulary = "stored config does not describe the stored weights";
    expect_content_error("empty config", "", &t, ALL_STATE, "stored config is empty");
    expect_content_error("blank config", "\n  \n", &t, ALL_STATE, "stored config is empty");
    expect_content_error("default model", "seed: 1\n", &t, ALL_STATE,
                         "its model (d=256 layers=8 heads=8 ffn=768 tied_head=0)");
    expect_content_error("huge model", "model:\n  d: 4096\n  layers: 2\n  heads: 2\n  ffn: 8\n", &t,
                         ALL_STATE, fits_no_vocabulary);
    expect_content_error("wider model", "model:\n  d: 16\n  layers: 2\n  heads: 2\n  ffn: 8\n", &t,
                         ALL_STATE, fits_no_vocabulary);
    expect_content_error("deeper model", "model:\n  d: 8\n  layers: 3\n  heads: 2\n  ffn: 8\n", &t,
                         ALL_STATE, fits_no_vocabulary);
    expect_content_error("odd heads", "model:\n  d: 8\n  layers: 2\n  heads: 3\n  ffn: 8\n", &t,
                         ALL_STATE, "model.d=8 does not split into model.heads=3");
    expect_content_error("bad yaml", "model: [1, 2\n", &t, ALL_STATE, NULL);
    expect_content_error("unknown key", "model:\n  dd: 8\n", &t, ALL_STATE, "model.dd");
    expect_content_error("key with a newline", "\"a\\nb\": 1\n", &t, ALL_STATE, "'a b'");
    expect_content_error("no weights", tiny_config, &t, 0xe, "no 'params' section");

    /* A moment buffer of another size than the weights. */
    char path[512];
    path_in_tmp(path, sizeof path, "sizes.ckpt");
    CkptSection short_m = section("adam_m", t.buf[1], t.bytes - 64);
    write_tiny(path, tiny_config, 5, &t, ONLY_PARAMS, &short_m, 1);
    expect_read_error(path, "section 'adam_m' holds", "short adam_m", 0);
    unlink(path);
    tiny_state_free(&t);
}

static void test_non_finite_values(void) {
    TinyState t;
    tiny_state_init(&t);
    t.buf[0][49] = NAN; /* wte is 5 x 8 floats padded to 48, then ln1 */
    expect_content_error(
        "nan weight", tiny_config, &t, ALL_STATE,
        "section 'params' holds nan at float 49 (tensor 'ln1', layer 0, element 1)");
    t.buf[0][49] = 0.5f;
    t.buf[3][t.floats - 1] = -INFINITY;
    expect_content_error("inf ema", tiny_config, &t, ALL_STATE,
                         "section 'ema' holds -inf at float");
    t.buf[3][t.floats - 1] = 0.5f;
    t.buf[1][0] = INFINITY;
    expect_content_error("inf moment", tiny_config, &t, ALL_STATE,
                         "section 'adam_m' holds inf at float 0 (tensor 'wte', element 0)");
    t.buf[1][0] = 0.0f;
    t.buf[2][5] = -1.0f;
    expect_content_error("negative second moment", tiny_config, &t, ALL_STATE,
                         "second moments are never negative");
    t.buf[2][5] = -0.0f; /* a zero, whatever its sign */
    char path[512];
    path_in_tmp(path, sizeof path, "finite.ckpt");
    write_tiny(path, tiny_config, 5, &t, ALL_STATE, NULL, 0);
    Checkpoint ck;
    Err err;
    CHECK_MSG(checkpoint_read(path, &ck, &err) == 0, "%s", err.msg);
    checkpoint_free(&ck);
    unlink(path);
    tiny_state_free(&t);
}

/* Resuming needs every piece of state; evaluation falls back from missing EMA with a note. */
static void test_missing_state(void) {
    TinyState t;
    tiny_state_init(&t);
    char path[512];
    path_in_tmp(path, sizeof path, "partial.ckpt");
    Checkpoint ck;
    Err err;
    const unsigned without[3] = {0xd, 0xb, 0x7}; /* no adam_m, no adam_v, no ema */
    for (int k = 0; k < 3; k++) {
        write_tiny(path, tiny_config, 5, &t, without[k], NULL, 0);
        CHECK_MSG(checkpoint_read(path, &ck, &err) == 0, "%s", err.msg); /* init_from, eval */
        err.msg[0] = '\0';
        CHECK(model_io_check_resumable(&ck, path, 1, &err) == -1);
        char want[64];
        snprintf(want, sizeof want, "cannot resume: no '%s' section", state_names[k + 1]);
        CHECK_MSG(strstr(err.msg, path) && strstr(err.msg, want) &&
                      strstr(err.msg, "train.init_from=") && !strchr(err.msg, '\n'),
                  "%s", err.msg);
        CHECK(model_io_check_resumable(&ck, path, 0, &err) == (k == 2 ? 0 : -1));
        checkpoint_free(&ck);
    }

    Err note;
    CHECK_MSG(checkpoint_read(path, &ck, &err) == 0, "%s", err.msg); /* no ema, train.ema on */
    CHECK(model_io_eval_uses_ema(&ck, path, 1, &note) == 0);
    CHECK_MSG(strstr(note.msg, path) && strstr(note.msg, "no 'ema' section although") &&
                  !strchr(note.msg, '\n'),
              "%s", note.msg);
    CHECK(model_io_eval_uses_ema(&ck, path, 0, &note) == 0 && note.msg[0] == '\0');
    checkpoint_free(&ck);
    char no_ema_run[256];
    snprintf(no_ema_run, sizeof no_ema_run, "%strain:\n  ema: false\n", tiny_config);
    write_tiny(path, no_ema_run, 5, &t, 0x7, NULL, 0);
    CHECK_MSG(checkpoint_read(path, &ck, &err) == 0, "%s", err.msg);
    CHECK(model_io_eval_uses_ema(&ck, path, 1, &note) == 0);
    CHECK_MSG(strstr(note.msg, "train.ema=false"), "%s", note.msg);
    CHECK(model_io_check_resumable(&ck, path, 0, &err) == 0);
    checkpoint_free(&ck);
    write_tiny(path, tiny_config, 5, &t, ALL_STATE, NULL, 0);
    CHECK_MSG(checkpoint_read(path, &ck, &err) == 0, "%s", err.msg);
    CHECK(model_io_eval_uses_ema(&ck, path, 1, &note) == 1 && note.msg[0] == '\0');
    CHECK(model_io_check_resumable(&ck, path, 1, &err) == 0);
    checkpoint_free(&ck);
    unlink(path);
    tiny_state_free(&t);
}

/* model_io checks checkpoints without building the model, from model_param_layout: the same
 * layout model_create uses, in size and in where each tensor starts. */
static void test_layout_matches_model(void) {
    Backend be = {0};
    Err err;
    CHECK_MSG(backend_create(&be, "ref", 1, &err) == 0, "%s", err.msg);
    const ModelConfig shapes[] = {
        tiny_shape(),
        {.vocab = 13, .seq_len = 4, .d = 12, .layers = 3, .heads = 3, .ffn = 20, .tied_head = 1},
        {.vocab = 300, .seq_len = 4, .d = 32, .layers = 1, .heads = 4, .ffn = 64},
        {.vocab = 7, .seq_len = 4, .d = 6, .layers = 2, .heads = 1, .ffn = 10},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        Model m;
        CHECK_MSG(model_create(&m, &shapes[i], &be, 1, 0, &err) == 0, "%s", err.msg);
        CHECK_MSG(model_io_padded_params(&shapes[i]) == m.n_params_padded, "shape %zu: %ld != %ld",
                  i, model_io_padded_params(&shapes[i]), m.n_params_padded);
        model_free(&m);
    }

    ModelConfig mc = tiny_shape();
    Model m;
    CHECK_MSG(model_create(&m, &mc, &be, 1, 0, &err) == 0, "%s", err.msg);
    TinyState t;
    tiny_state_init(&t);
    long per_layer = m.param_size[P_QKVW] / mc.layers;
    t.buf[0][m.param_offset[P_QKVW] + per_layer + 3] = NAN;
    expect_content_error("nan in layer 1", tiny_config, &t, ALL_STATE,
                         "(tensor 'qkv_w', layer 1, element 3)");
    t.buf[0][m.param_offset[P_QKVW] + per_layer + 3] = 0.0f;
    t.buf[0][m.param_offset[P_HEAD] + 2] = NAN;
    expect_content_error("nan in head", tiny_config, &t, ALL_STATE, "(tensor 'head', element 2)");
    t.buf[0][m.param_offset[P_HEAD] + 2] = 0.0f;
    t.buf[0][m.param_offset[P_LNF] + mc.d] = NAN;
    expect_content_error("nan in padding", tiny_config, &t, ALL_STATE,
                         "(padding after tensor 'lnf')");
    tiny_state_free(&t);
    model_free(&m);
    backend_destroy(&be);
}

/* On tmpfs when there is one: every fixture goes through the atomic writer, whose fsyncs take
 * seconds in all on a busy disk. */
static int make_tmpdir(void) {
    static const char *const bases[] = {"/dev/shm", "/tmp"};
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        snprintf(tmpdir, sizeof tmpdir, "%s/mdm_test_checkpoint_XXXXXX", bases[i]);
        if (mkdtemp(tmpdir)) return 0;
    }
    perror("mkdtemp");
    return -1;
}

int main(void) {
    if (make_tmpdir() != 0) return 1;
    test_round_trip();
    test_every_byte_flip();
    test_every_truncation();
    test_bad_magic_and_version();
    test_atomic_replace();
    test_write_rejects_bad_sections();
    test_large_section();
    test_damaged_header();
    test_stored_config_mismatch();
    test_non_finite_values();
    test_missing_state();
    test_layout_matches_model();
    CHECK_MSG(rmdir(tmpdir) == 0, "leftover files in %s", tmpdir);
    return check_summary("checkpoint");
}
