/* Checkpoint files: see checkpoint.h for the format. */
#include "checkpoint.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_io.h"

/* Header integers are encoded byte by byte, but tensor sections are raw floats in host order,
 * and the format says little-endian. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mdmlab checkpoints store raw little-endian floats; big-endian hosts are not supported"
#endif

#define HEADER_BYTES         32
#define SECTION_HEADER_BYTES (CKPT_NAME_LEN + 8)
#define CHECKSUM_BYTES       8

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Names are printed in errors, so they hold no spaces or control characters. */
static int name_is_valid(const char *name) {
    size_t len = strnlen(name, CKPT_NAME_LEN);
    if (len == 0 || len == CKPT_NAME_LEN) return 0;
    for (size_t i = 0; i < len; i++)
        if (name[i] <= ' ' || name[i] > '~') return 0;
    return 1;
}

static int check_unique_names(const char *path, const CkptSection *sections, int n_sections,
                              Err *err) {
    for (int i = 0; i < n_sections; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(sections[j].name, sections[i].name) == 0)
                return err_set(err, "%s: duplicate section '%s'", path, sections[i].name);
    return 0;
}

static int check_sections(const char *path, const CkptSection *sections, int n_sections, Err *err) {
    if (n_sections < 0 || n_sections > CKPT_MAX_SECTIONS || (n_sections > 0 && !sections))
        return err_set(err, "%s: invalid section list (%d sections, at most %d)", path, n_sections,
                       CKPT_MAX_SECTIONS);
    for (int i = 0; i < n_sections; i++) {
        const CkptSection *s = &sections[i];
        if (!name_is_valid(s->name))
            return err_set(err, "%s: section %d: name must be 1 to %d printable characters", path,
                           i, CKPT_NAME_LEN - 1);
        if (s->bytes > 0 && !s->data)
            return err_set(err, "%s: section '%s' has %llu bytes but no data", path, s->name,
                           (unsigned long long)s->bytes);
    }
    return check_unique_names(path, sections, n_sections, err);
}

int checkpoint_write(const char *path, const char *config_yaml, int64_t step,
                     const CkptSection *sections, int n_sections, Err *err) {
    if (check_sections(path, sections, n_sections, err)) return -1;
    if (step < 0) return err_set(err, "%s: step %" PRId64 " is negative", path, step);
    if (!config_yaml) config_yaml = "";
    uint64_t config_len = strlen(config_yaml);
    if (config_len > CKPT_MAX_CONFIG_BYTES)
        return err_set(err, "%s: config of %llu bytes is over the %u-byte limit", path,
                       (unsigned long long)config_len, CKPT_MAX_CONFIG_BYTES);

    StrBuf sb = {0};
    unsigned char header[HEADER_BYTES];
    memcpy(header, CKPT_MAGIC, 8);
    put_u32(header + 8, CKPT_VERSION);
    put_u32(header + 12, (uint32_t)n_sections);
    put_u64(header + 16, (uint64_t)step);
    put_u64(header + 24, config_len);
    sb_append(&sb, header, sizeof header);
    sb_append(&sb, config_yaml, config_len);

    for (int i = 0; i < n_sections; i++) {
        unsigned char sh[SECTION_HEADER_BYTES] = {0};
        memcpy(sh, sections[i].name, strlen(sections[i].name));
        put_u64(sh + CKPT_NAME_LEN, sections[i].bytes);
        sb_append(&sb, sh, sizeof sh);
        sb_append(&sb, sections[i].data, sections[i].bytes);
    }

    unsigned char sum[CHECKSUM_BYTES];
    put_u64(sum, fnv1a64(sb.data, sb.len, FNV1A64_INIT));
    sb_append(&sb, sum, sizeof sum);

    int rc = write_file_atomic(path, sb.data, sb.len, err);
    sb_free(&sb);
    return rc;
}

/* Walks the section table of a file whose header is already checked. With `out` NULL it only
 * checks that the sizes fit; otherwise it fills out[] with pointers into data. */
static int walk_sections(const char *path, const unsigned char *data, size_t body_end, size_t pos,
                         uint32_t n_sections, CkptSection *out, Err *err) {
    for (uint32_t i = 0; i < n_sections; i++) {
        if (body_end - pos < SECTION_HEADER_BYTES)
            return err_set(err, "%s: truncated: section %u of %u header runs past the end", path,
                           i + 1, n_sections);
        uint64_t bytes = get_u64(data + pos + CKPT_NAME_LEN);
        size_t start = pos + SECTION_HEADER_BYTES;
        if (bytes > body_end - start)
            return err_set(err, "%s: truncated: section %u of %u needs %llu bytes, only %zu remain",
                           path, i + 1, n_sections, (unsigned long long)bytes, body_end - start);
        if (out) {
            memcpy(out[i].name, data + pos, CKPT_NAME_LEN);
            out[i].name[CKPT_NAME_LEN - 1] = '\0';
            out[i].data = (void *)(data + start);
            out[i].bytes = bytes;
        }
        pos = start + (size_t)bytes;
    }
    if (pos != body_end)
        return err_set(err, "%s: %zu trailing bytes after the last section", path, body_end - pos);
    return 0;
}

/* Checks magic, version, sizes and checksum, in that order. */
static int check_file(const char *path, const unsigned char *data, size_t len, Err *err) {
    if (len < 8 || memcmp(data, CKPT_MAGIC, 8) != 0)
        return err_set(err, "%s: not an mdmlab checkpoint (bad magic)", path);
    if (len < HEADER_BYTES + CHECKSUM_BYTES)
        return err_set(err, "%s: truncated: %zu bytes is shorter than the header", path, len);
    uint32_t version = get_u32(data + 8);
    if (version != CKPT_VERSION)
        return err_set(err, "%s: unsupported checkpoint version %u (this build reads version %d)",
                       path, version, CKPT_VERSION);
    size_t body_end = len - CHECKSUM_BYTES;
    uint64_t config_len = get_u64(data + 24);
    if (config_len > body_end - HEADER_BYTES)
        return err_set(err, "%s: truncated: config needs %llu bytes, only %zu remain", path,
                       (unsigned long long)config_len, body_end - HEADER_BYTES);
    size_t pos = HEADER_BYTES + (size_t)config_len;
    if (walk_sections(path, data, body_end, pos, get_u32(data + 12), NULL, err)) return -1;
    if (fnv1a64(data, body_end, FNV1A64_INIT) != get_u64(data + body_end))
        return err_set(err, "%s: checksum mismatch: file is corrupt", path);
    return 0;
}

static int check_section_names(const char *path, const unsigned char *data, size_t pos,
                               uint32_t n_sections, Err *err) {
    for (uint32_t i = 0; i < n_sections; i++) {
        char name[CKPT_NAME_LEN];
        memcpy(name, data + pos, CKPT_NAME_LEN);
        if (!name_is_valid(name))
            return err_set(err, "%s: section %u of %u: name is not 1 to %d printable characters",
                           path, i + 1, n_sections, CKPT_NAME_LEN - 1);
        pos += SECTION_HEADER_BYTES + (size_t)get_u64(data + pos + CKPT_NAME_LEN);
    }
    return 0;
}

/* The header's values and the section names, once the structure is known to be sound: what
 * mdmlab never writes is damage, refused before the config is parsed. */
static int check_header_values(const char *path, const unsigned char *data, Err *err) {
    int64_t step = (int64_t)get_u64(data + 16);
    if (step < 0)
        return err_set(err, "%s: step %" PRId64 " is negative: the header is damaged", path, step);
    uint32_t n_sections = get_u32(data + 12);
    if (n_sections > CKPT_MAX_SECTIONS)
        return err_set(err, "%s: %u sections, more than the %d a checkpoint can hold", path,
                       n_sections, CKPT_MAX_SECTIONS);
    uint64_t config_len = get_u64(data + 24);
    if (config_len > CKPT_MAX_CONFIG_BYTES)
        return err_set(err, "%s: stored config of %llu bytes is over the %u-byte limit", path,
                       (unsigned long long)config_len, CKPT_MAX_CONFIG_BYTES);
    if (memchr(data + HEADER_BYTES, '\0', (size_t)config_len))
        return err_set(err, "%s: stored config holds a NUL byte", path);
    return check_section_names(path, data, HEADER_BYTES + (size_t)config_len, n_sections, err);
}

/* Points ck into blob, a checked checkpoint file of len bytes, and takes blob over. */
static int fill_checkpoint(const char *path, char *blob, size_t len, Checkpoint *ck, Err *err) {
    const unsigned char *data = (const unsigned char *)blob;
    uint32_t n_sections = get_u32(data + 12);
    uint64_t config_len = get_u64(data + 24);
    ck->blob = blob;
    ck->step = (int64_t)get_u64(data + 16);
    ck->config_len = config_len;
    ck->config_yaml = malloc((size_t)config_len + 1);
    ck->sections = calloc(n_sections ? n_sections : 1, sizeof *ck->sections);
    if (!ck->config_yaml || !ck->sections) return err_set(err, "%s: out of memory", path);
    memcpy(ck->config_yaml, data + HEADER_BYTES, (size_t)config_len);
    ck->config_yaml[config_len] = '\0';
    ck->n_sections = (int)n_sections;
    return walk_sections(path, data, len - CHECKSUM_BYTES, HEADER_BYTES + (size_t)config_len,
                         n_sections, ck->sections, err);
}

/* Checks blob, a whole checkpoint file of len bytes, and fills ck from it, which takes it over;
 * on error ck is left empty and blob freed. */
static int read_blob(const char *path, char *blob, size_t len, Checkpoint *ck, Err *err) {
    const unsigned char *data = (const unsigned char *)blob;
    if (check_file(path, data, len, err) || check_header_values(path, data, err)) {
        free(blob);
        return -1;
    }
    if (fill_checkpoint(path, blob, len, ck, err) ||
        check_unique_names(path, ck->sections, ck->n_sections, err) ||
        model_io_check(ck, path, err)) {
        checkpoint_free(ck);
        return -1;
    }
    return 0;
}

int checkpoint_read(const char *path, Checkpoint *ck, Err *err) {
    memset(ck, 0, sizeof *ck);
    char *blob;
    size_t len;
    if (read_file_all(path, &blob, &len, err)) return -1;
    return read_blob(path, blob, len, ck, err);
}

int checkpoint_read_memory(const char *name, const void *data, size_t len, Checkpoint *ck,
                           Err *err) {
    memset(ck, 0, sizeof *ck);
    char *blob = malloc(len ? len : 1);
    if (!blob) return err_set(err, "%s: out of memory for %zu bytes", name, len);
    if (len) memcpy(blob, data, len);
    return read_blob(name, blob, len, ck, err);
}

const CkptSection *checkpoint_section(const Checkpoint *ck, const char *name) {
    for (int i = 0; i < ck->n_sections; i++)
        if (strcmp(ck->sections[i].name, name) == 0) return &ck->sections[i];
    return NULL;
}

void checkpoint_free(Checkpoint *ck) {
    free(ck->config_yaml);
    free(ck->sections);
    free(ck->blob);
    memset(ck, 0, sizeof *ck);
}
