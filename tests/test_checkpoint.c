/* checkpoint: round trip, corruption and truncation detection, atomic replacement. */
#include "model/checkpoint.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

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

static void read_bytes(const char *path, char **data, size_t *len) {
    Err err;
    if (read_file_all(path, data, len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
}

/* Plain (not atomic, no fsync) write: the corruption tests write hundreds of files. */
static void write_bytes(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* Reading path must fail with a message that names the path and contains `want`. */
static void expect_read_error(const char *path, const char *want, const char *label, long at) {
    Checkpoint ck;
    Err err;
    err.msg[0] = '\0';
    int rc = checkpoint_read(path, &ck, &err);
    CHECK_MSG(rc == -1, "%s %ld: read succeeded", label, at);
    CHECK_MSG(strstr(err.msg, path) != NULL, "%s %ld: no path in: %s", label, at, err.msg);
    if (want)
        CHECK_MSG(strstr(err.msg, want) != NULL, "%s %ld: want '%s' in: %s", label, at, want,
                  err.msg);
    CHECK(ck.blob == NULL && ck.sections == NULL && ck.config_yaml == NULL);
    checkpoint_free(&ck);
}

static void test_round_trip(void) {
    char path[512];
    path_in_tmp(path, sizeof path, "rt.ckpt");
    enum { NP = 1000 };
    float params[NP], moments[NP];
    for (int i = 0; i < NP; i++)
        params[i] = (float)i * 0.5f - 3.25f, moments[i] = 1.0f / (float)(i + 1);
    unsigned char odd[3] = {1, 2, 255};
    const char *config = "seed: 1\nmodel:\n  d: 64\n";
    CkptSection s[4] = {
        section("params", params, sizeof params),
        section("ema", NULL, 0),
        section("adam_m", moments, sizeof moments),
        section("a_name_of_exactly_31_characters", odd, sizeof odd),
    };
    Err err;
    CHECK_MSG(checkpoint_write(path, config, 123456789012345LL, s, 4, &err) == 0, "%s", err.msg);

    Checkpoint ck;
    CHECK_MSG(checkpoint_read(path, &ck, &err) == 0, "%s", err.msg);
    CHECK(ck.step == 123456789012345LL);
    CHECK(ck.config_len == strlen(config));
    CHECK(ck.config_yaml && strcmp(ck.config_yaml, config) == 0);
    CHECK(ck.n_sections == 4);

    const CkptSection *p = checkpoint_section(&ck, "params");
    CHECK(p && p->bytes == sizeof params);
    if (p && p->bytes == sizeof params) {
        float back[NP];
        memcpy(back, p->data, sizeof back); /* section data need not be float-aligned */
        CHECK(memcmp(back, params, sizeof params) == 0);
        CHECK((char *)p->data >= ck.blob); /* sections point into the blob */
    }
    const CkptSection *e = checkpoint_section(&ck, "ema");
    CHECK(e && e->bytes == 0);
    const CkptSection *m = checkpoint_section(&ck, "adam_m");
    CHECK(m && m->bytes == sizeof moments && memcmp(m->data, moments, sizeof moments) == 0);
    const CkptSection *o = checkpoint_section(&ck, "a_name_of_exactly_31_characters");
    CHECK(o && o->bytes == 3 && memcmp(o->data, odd, 3) == 0);
    CHECK(checkpoint_section(&ck, "adam_v") == NULL);
    CHECK(checkpoint_section(&ck, "param") == NULL);
    /* Section order is preserved. */
    CHECK(strcmp(ck.sections[0].name, "params") == 0 &&
          strcmp(ck.sections[3].name, "a_name_of_exactly_31_characters") == 0);
    checkpoint_free(&ck);
    CHECK(ck.blob == NULL && ck.sections == NULL && ck.n_sections == 0);

    /* The documented layout, byte for byte. */
    char *raw;
    size_t len;
    read_bytes(path, &raw, &len);
    size_t expected = 32 + strlen(config) + 4 * 40 + sizeof params + sizeof moments + 3 + 8;
    CHECK(len == expected);
    CHECK(memcmp(raw, "MDMLCKPT", 8) == 0);
    CHECK(raw[8] == 1 && raw[9] == 0 && raw[10] == 0 && raw[11] == 0);
    CHECK(raw[12] == 4 && raw[13] == 0);
    CHECK(memcmp(raw + 32, config, strlen(config)) == 0);
    CHECK(strcmp(raw + 32 + strlen(config), "params") == 0);
    uint64_t sum = 0;
    for (int i = 0; i < 8; i++) sum |= (uint64_t)(unsigned char)raw[len - 8 + i] << (8 * i);
    CHECK(sum == fnv1a64(raw, len - 8, FNV1A64_INIT));
    free(raw);

    /* No sections, empty config, negative step. */
    CHECK_MSG(checkpoint_write(path, "", -5, NULL, 0, &err) == 0, "%s", err.msg);
    CHECK_MSG(checkpoint_read(path, &ck, &err) == 0, "%s", err.msg);
    CHECK(ck.step == -5 && ck.n_sections == 0 && ck.config_len == 0 && ck.config_yaml[0] == 0);
    CHECK(checkpoint_section(&ck, "params") == NULL);
    checkpoint_free(&ck);
    unlink(path);
}

/* A small checkpoint for the exhaustive corruption tests; returns its bytes. */
static char *small_checkpoint(const char *path, size_t *len) {
    const char data_a[] = "abcdefgh", data_b[] = {9, 8, 7};
    CkptSection s[3] = {
        section("params", data_a, 8),
        section("empty", NULL, 0),
        section("adam_v", data_b, 3),
    };
    Err err;
    if (checkpoint_write(path, "seed: 1\n", 42, s, 3, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
    char *raw;
    read_bytes(path, &raw, len);
    return raw;
}

/* Byte ranges of the small checkpoint's size fields, where a flip changes the structure. */
static int is_size_field(size_t i) {
    const size_t config_len = 8;
    if (i >= 12 && i < 16) return 1; /* n_sections */
    if (i >= 24 && i < 32) return 1; /* config_len */
    size_t pos = 32 + config_len;
    const size_t bytes[3] = {8, 0, 3};
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
    size_t len;
    char *raw = small_checkpoint(path, &len);
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
        else if (is_size_field(i))
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
    size_t len;
    char *raw = small_checkpoint(path, &len);
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
    memset(copy + 32 + 8 + 32, 0xff, 8);
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
    size_t len;
    char *raw = small_checkpoint(path, &len);
    raw[8] = 2;
    uint64_t sum = fnv1a64(raw, len - 8, FNV1A64_INIT);
    for (int i = 0; i < 8; i++) raw[len - 8 + i] = (char)(sum >> (8 * i));
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
    Err err;
    float a[4] = {1, 2, 3, 4}, b[2] = {5, 6};
    CkptSection sa = section("params", a, sizeof a), sb = section("params", b, sizeof b);
    CHECK_MSG(checkpoint_write(path, "seed: 1\n", 10, &sa, 1, &err) == 0, "%s", err.msg);
    CHECK(!file_exists(tmp));
    CHECK_MSG(checkpoint_write(path, "seed: 2\n", 20, &sb, 1, &err) == 0, "%s", err.msg);
    CHECK(!file_exists(tmp));

    Checkpoint ck;
    CHECK_MSG(checkpoint_read(path, &ck, &err) == 0, "%s", err.msg);
    CHECK(ck.step == 20 && strcmp(ck.config_yaml, "seed: 2\n") == 0);
    const CkptSection *p = checkpoint_section(&ck, "params");
    CHECK(p && p->bytes == sizeof b && memcmp(p->data, b, sizeof b) == 0);
    checkpoint_free(&ck);

    /* A failed write leaves the old checkpoint and no temporary. */
    char bad[512];
    path_in_tmp(bad, sizeof bad, "no_such_dir/run.ckpt");
    CHECK(checkpoint_write(bad, "", 0, &sa, 1, &err) == -1);
    CHECK_MSG(strstr(err.msg, bad) != NULL, "%s", err.msg);
    CHECK_MSG(checkpoint_read(path, &ck, &err) == 0, "%s", err.msg);
    CHECK(ck.step == 20);
    checkpoint_free(&ck);
    unlink(path);
}

static void test_write_rejects_bad_sections(void) {
    char path[512];
    path_in_tmp(path, sizeof path, "bad_sections.ckpt");
    Err err;
    float x = 1;
    CkptSection s[2] = {section("params", &x, 4), section("params", &x, 4)};
    CHECK(checkpoint_write(path, "", 0, s, 2, &err) == -1);
    CHECK_MSG(strstr(err.msg, "duplicate section 'params'") != NULL, "%s", err.msg);

    CkptSection unnamed = section("", &x, 4);
    CHECK(checkpoint_write(path, "", 0, &unnamed, 1, &err) == -1);
    CHECK_MSG(strstr(err.msg, path) != NULL, "%s", err.msg);

    CkptSection unterminated = section("params", &x, 4);
    memset(unterminated.name, 'x', sizeof unterminated.name);
    CHECK(checkpoint_write(path, "", 0, &unterminated, 1, &err) == -1);

    CkptSection no_data = section("params", NULL, 4);
    CHECK(checkpoint_write(path, "", 0, &no_data, 1, &err) == -1);
    CHECK(checkpoint_write(path, "", 0, NULL, -1, &err) == -1);
    CHECK(!file_exists(path));
}

static void test_large_section(void) {
    char path[512];
    path_in_tmp(path, sizeof path, "large.ckpt");
    size_t n = 3u << 20;
    unsigned char *big = malloc(n);
    for (size_t i = 0; i < n; i++) big[i] = (unsigned char)(i * 2654435761u >> 24);
    CkptSection s = section("params", big, n);
    Err err;
    CHECK_MSG(checkpoint_write(path, "seed: 1\n", 7, &s, 1, &err) == 0, "%s", err.msg);
    Checkpoint ck;
    CHECK_MSG(checkpoint_read(path, &ck, &err) == 0, "%s", err.msg);
    const CkptSection *p = checkpoint_section(&ck, "params");
    CHECK(p && p->bytes == n && memcmp(p->data, big, n) == 0);
    checkpoint_free(&ck);
    free(big);
    unlink(path);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mdm_test_checkpoint_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip();
    test_every_byte_flip();
    test_every_truncation();
    test_bad_magic_and_version();
    test_atomic_replace();
    test_write_rejects_bad_sections();
    test_large_section();
    CHECK_MSG(rmdir(tmpdir) == 0, "leftover files in %s", tmpdir);
    return check_summary("checkpoint");
}
