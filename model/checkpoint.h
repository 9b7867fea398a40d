/* Checkpoint file format (version 1), all integers little-endian:
 *
 *   offset  size  field
 *   0       8     magic "MDMLCKPT"
 *   8       4     u32 version (1)
 *   12      4     u32 n_sections
 *   16      8     i64 step (optimizer steps completed)
 *   24      8     u64 config_len
 *   32      ...   config: the run's resolved YAML (config_write_yaml), config_len bytes
 *   then n_sections times:
 *           32    section name, NUL-padded ("params", "adam_m", "adam_v", "ema", ...)
 *           8     u64 byte count
 *           ...   the bytes (float32 tensors are raw little-endian floats)
 *   last    8     u64 FNV-1a 64 of every byte before it
 *
 * Writes are atomic (temporary file, fsync, rename, fsync of the directory): a crash
 * leaves either the old checkpoint or the new one, never a torn file. Reads check magic,
 * version, sizes against the file length and the checksum, then the header's values (step >= 0,
 * at most CKPT_MAX_SECTIONS sections with distinct printable names, a config of at most
 * CKPT_MAX_CONFIG_BYTES), then the content (model_io_check: the stored config describes the
 * stored weights, which are finite), and say which failed. All of that happens before a caller
 * builds data or a model, so a damaged file is refused in a fraction of a second. */
#ifndef MDMLAB_CHECKPOINT_H
#define MDMLAB_CHECKPOINT_H

#include <stdint.h>
#include "base/util.h"

#define CKPT_MAGIC    "MDMLCKPT"
#define CKPT_VERSION  1
#define CKPT_NAME_LEN 32
/* Far above what mdmlab writes (6 sections, a resolved config of a few KB): a larger value is
 * damage, refused before it costs quadratic name checks or a long YAML parse. */
#define CKPT_MAX_SECTIONS     64
#define CKPT_MAX_CONFIG_BYTES (1u << 20)

typedef struct CkptSection {
    char name[CKPT_NAME_LEN];
    void *data; /* owned by the Checkpoint when read (points into blob at any offset, so
                   possibly unaligned: memcpy out, never cast to float *); borrowed when writing */
    uint64_t bytes;
} CkptSection;

typedef struct Checkpoint {
    char *config_yaml; /* NUL-terminated */
    uint64_t config_len;
    int64_t step;
    int n_sections;
    CkptSection *sections;
    char *blob; /* the whole file; sections point into it */
} Checkpoint;

int checkpoint_write(const char *path, const char *config_yaml, int64_t step,
                     const CkptSection *sections, int n_sections, Err *err);
/* Reads and checks path (format, then content, see above); on error ck is left empty. */
int checkpoint_read(const char *path, Checkpoint *ck, Err *err);
/* The same checks on a checkpoint held in memory (copied); `name` stands for the path in
 * errors. For the fuzz target and for tests. */
int checkpoint_read_memory(const char *name, const void *data, size_t len, Checkpoint *ck,
                           Err *err);
/* NULL when absent. */
const CkptSection *checkpoint_section(const Checkpoint *ck, const char *name);
void checkpoint_free(Checkpoint *ck);

#endif
