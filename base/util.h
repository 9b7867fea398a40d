/* Shared plumbing: error values, deterministic RNG, timing, atomic file writes. */
#ifndef MDMLAB_UTIL_H
#define MDMLAB_UTIL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Errors are values: a failing function returns -1 and fills an Err; only main.c prints. */
typedef struct Err {
    char msg[1024];
} Err;

#if defined(__GNUC__)
#define MDM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MDM_PRINTF(a, b)
#endif

/* Always returns -1 so callers can write `return err_set(err, ...)`. err may be NULL. */
int err_set(Err *err, const char *fmt, ...) MDM_PRINTF(2, 3);
/* Keeps err's message on one line: control characters (a newline inside a quoted YAML key or
 * value) become spaces. Returns -1, like err_set. */
int err_one_line(Err *err);

/* xoshiro256** seeded through splitmix64. A (seed, stream) pair names an independent stream,
 * so state derived from (run seed, step) makes training resumable from the step count alone. */
typedef struct Rng {
    uint64_t s[4];
} Rng;

void rng_seed(Rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_u64(Rng *r);
double rng_uniform(Rng *r);             /* [0, 1) */
uint64_t rng_below(Rng *r, uint64_t n); /* [0, n), unbiased; n > 0 */
double rng_normal(Rng *r);              /* standard normal (Box-Muller, no cached value) */
void rng_shuffle_int(Rng *r, int *a, int n);

double now_seconds(void); /* monotonic */

/* Write the whole buffer to path atomically: path.tmp, fsync, rename, fsync(dir). */
int write_file_atomic(const char *path, const void *data, size_t len, Err *err);
/* Read a whole file into a malloc'd buffer (NUL-terminated for convenience). */
int read_file_all(const char *path, char **data, size_t *len, Err *err);
/* 1 if something exists at path (file or directory). */
int file_exists(const char *path);
/* mkdir -p */
int make_dirs(const char *path, Err *err);

/* realloc for growth that has no error path (StrBuf, IntBuf, scratch buffers): out of memory
 * prints "mdmlab: out of memory: WHAT (N bytes)" and aborts. p == NULL allocates; bytes == 0
 * allocates one byte, so the result is never NULL. */
void *realloc_or_die(void *p, size_t bytes, const char *what);

/* A growable byte buffer for building files in memory before an atomic write. */
typedef struct StrBuf {
    char *data;
    size_t len, cap;
} StrBuf;
void sb_append(StrBuf *sb, const void *data, size_t n);
void sb_printf(StrBuf *sb, const char *fmt, ...) MDM_PRINTF(2, 3);
void sb_free(StrBuf *sb);
/* Appends s[0..n) as a JSON string literal (quoted; " \ and control characters escaped,
 * other bytes, UTF-8 included, copied). */
void sb_json_string_n(StrBuf *sb, const char *s, size_t n);
void sb_json_string(StrBuf *sb, const char *s); /* NUL-terminated s */

/* 64-bit FNV-1a, used as the checkpoint checksum and for run ids. */
uint64_t fnv1a64(const void *data, size_t n, uint64_t h);
#define FNV1A64_INIT 0xcbf29ce484222325ULL

/* SIGINT and SIGTERM caught by `handler` for the length of a job (a training run, a sweep),
 * then the previous handlers restored: the job stops at its next safe point. */
typedef struct StopSignals {
    struct sigaction old_int, old_term;
} StopSignals;
void stop_signals_catch(StopSignals *saved, void (*handler)(int));
void stop_signals_restore(const StopSignals *saved);

#endif
