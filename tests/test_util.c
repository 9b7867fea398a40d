/* util: RNG streams and distributions, atomic writes, make_dirs, StrBuf, FNV-1a, err_set,
 * realloc_or_die. */
#include "base/util.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];

static void path_in_tmp(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static void test_err_set(void) {
    Err err;
    CHECK(err_set(&err, "key '%s': %d", "model.d", 7) == -1);
    CHECK(strcmp(err.msg, "key 'model.d': 7") == 0);
    CHECK(err_set(NULL, "ignored %d", 1) == -1);

    char long_text[3000];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    CHECK(err_set(&err, "%s", long_text) == -1);
    CHECK(strlen(err.msg) == sizeof err.msg - 1);
}

static void test_fnv1a64(void) {
    CHECK(fnv1a64("", 0, FNV1A64_INIT) == 0xcbf29ce484222325ULL);
    CHECK(fnv1a64("a", 1, FNV1A64_INIT) == 0xaf63dc4c8601ec8cULL);
    CHECK(fnv1a64("foobar", 6, FNV1A64_INIT) == 0x85944171f73967e8ULL);
    /* Chaining over pieces equals hashing the whole. */
    uint64_t h = fnv1a64("foo", 3, FNV1A64_INIT);
    CHECK(fnv1a64("bar", 3, h) == fnv1a64("foobar", 6, FNV1A64_INIT));
}

static int draws_equal(uint64_t seed_a, uint64_t stream_a, uint64_t seed_b, uint64_t stream_b,
                       int n) {
    Rng a, b;
    rng_seed(&a, seed_a, stream_a);
    rng_seed(&b, seed_b, stream_b);
    int same = 0;
    for (int i = 0; i < n; i++) same += rng_u64(&a) == rng_u64(&b);
    return same;
}

static void test_rng_determinism_and_streams(void) {
    CHECK(draws_equal(42, 7, 42, 7, 1000) == 1000);
    CHECK(draws_equal(42, 0, 42, 1, 1000) == 0);
    CHECK(draws_equal(42, 7, 43, 7, 1000) == 0);
    CHECK(draws_equal(1, 2, 2, 1, 1000) == 0);
    CHECK(draws_equal(0, 0, 0, 1, 1000) == 0);
    CHECK(draws_equal(5, 6, 6, 5, 1000) == 0);

    /* Neighbouring streams are not shifted copies of each other. */
    Rng a, b;
    rng_seed(&a, 9, 100);
    rng_seed(&b, 9, 101);
    uint64_t xa[64], xb[64];
    for (int i = 0; i < 64; i++) xa[i] = rng_u64(&a), xb[i] = rng_u64(&b);
    int overlaps = 0;
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 64; j++) overlaps += xa[i] == xb[j];
    CHECK(overlaps == 0);

    /* Bits look balanced: about half of the 64 * 1000 bits are set. */
    rng_seed(&a, 0, 0);
    long ones = 0;
    for (int i = 0; i < 1000; i++) ones += __builtin_popcountll(rng_u64(&a));
    CHECK(ones > 31000 && ones < 33000);
}

static void test_rng_uniform(void) {
    Rng r;
    rng_seed(&r, 3, 0);
    double sum = 0, lo = 1, hi = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        double u = rng_uniform(&r);
        CHECK_MSG(u >= 0.0 && u < 1.0, "u = %.17g", u);
        sum += u;
        if (u < lo) lo = u;
        if (u > hi) hi = u;
    }
    CHECK_CLOSE(sum / n, 0.5, 0, 0.01);
    CHECK(lo < 0.001 && hi > 0.999);
}

static void test_rng_below(void) {
    Rng r;
    rng_seed(&r, 11, 2);
    for (int i = 0; i < 100; i++) CHECK(rng_below(&r, 1) == 0);

    enum { N = 7, DRAWS = 70000 };
    int counts[N] = {0};
    for (int i = 0; i < DRAWS; i++) {
        uint64_t x = rng_below(&r, N);
        CHECK(x < N);
        if (x < N) counts[x]++;
    }
    /* Chi-square with 6 degrees of freedom: 22.5 is the 0.999 quantile. */
    double chi2 = 0, expected = (double)DRAWS / N;
    for (int i = 0; i < N; i++) chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
    CHECK_MSG(chi2 < 22.5, "chi2 = %g", chi2);

    /* A bound just above 2^63 rejects almost half of the raw draws; results stay in range. */
    uint64_t big = (1ULL << 63) + 1;
    int high = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rng_below(&r, big);
        CHECK(x < big);
        high += x >= (1ULL << 62);
    }
    CHECK_MSG(high > 430 && high < 570, "high = %d", high); /* half of [0, 2^63] is >= 2^62 */
}

static void test_rng_normal(void) {
    Rng r;
    rng_seed(&r, 5, 1);
    const int n = 100000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; i++) {
        double z = rng_normal(&r);
        CHECK(isfinite(z));
        sum += z;
        sum2 += z * z;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    CHECK_CLOSE(mean, 0.0, 0, 0.02);
    CHECK_CLOSE(var, 1.0, 0, 0.03);

    /* No cached second value: one normal consumes exactly two raw draws. */
    Rng a, b;
    rng_seed(&a, 77, 3);
    rng_seed(&b, 77, 3);
    rng_normal(&a);
    rng_u64(&b);
    rng_u64(&b);
    CHECK(memcmp(&a, &b, sizeof a) == 0);
}

static void test_rng_shuffle(void) {
    Rng r;
    rng_seed(&r, 8, 8);
    enum { N = 100 };
    int a[N], seen[N] = {0};
    for (int i = 0; i < N; i++) a[i] = i;
    rng_shuffle_int(&r, a, N);
    int moved = 0;
    for (int i = 0; i < N; i++) {
        CHECK(a[i] >= 0 && a[i] < N);
        if (a[i] >= 0 && a[i] < N) seen[a[i]]++;
        moved += a[i] != i;
    }
    for (int i = 0; i < N; i++) CHECK(seen[i] == 1);
    CHECK(moved > N / 2);

    int one = 5;
    rng_shuffle_int(&r, &one, 1);
    CHECK(one == 5);
    rng_shuffle_int(&r, NULL, 0);

    /* Every position of a 3-element shuffle sees every value. */
    int first[3] = {0};
    for (int t = 0; t < 3000; t++) {
        int b[3] = {0, 1, 2};
        rng_shuffle_int(&r, b, 3);
        first[b[0]]++;
    }
    for (int i = 0; i < 3; i++) CHECK(first[i] > 800 && first[i] < 1200);
}

static void test_now_seconds(void) {
    double t0 = now_seconds();
    double x = 0;
    for (int i = 0; i < 1000000; i++) x += sqrt((double)i);
    double t1 = now_seconds();
    CHECK(x > 0);
    CHECK(t0 > 0);
    CHECK(t1 >= t0);
    CHECK(t1 - t0 < 10);
}

static void check_file_contents(const char *path, const void *want, size_t want_len) {
    Err err;
    char *data = NULL;
    size_t len = 0;
    CHECK_MSG(read_file_all(path, &data, &len, &err) == 0, "%s", err.msg);
    CHECK(len == want_len);
    if (data && len == want_len) CHECK(memcmp(data, want, len) == 0);
    if (data) CHECK(data[len] == '\0');
    free(data);
}

static void test_write_file_atomic(void) {
    Err err;
    char path[512], tmp[600];
    path_in_tmp(path, sizeof path, "out.bin");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);

    const char first[] = "hello\0world, with a NUL inside";
    CHECK_MSG(write_file_atomic(path, first, sizeof first, &err) == 0, "%s", err.msg);
    check_file_contents(path, first, sizeof first);
    CHECK(!file_exists(tmp));

    /* Replacing with shorter content leaves nothing of the old file. */
    CHECK_MSG(write_file_atomic(path, "short", 5, &err) == 0, "%s", err.msg);
    check_file_contents(path, "short", 5);
    CHECK(!file_exists(tmp));

    CHECK_MSG(write_file_atomic(path, "", 0, &err) == 0, "%s", err.msg);
    check_file_contents(path, "", 0);

    /* A large buffer (several write calls' worth). */
    size_t big_len = 5u << 20;
    char *big = malloc(big_len);
    for (size_t i = 0; i < big_len; i++) big[i] = (char)(i * 31 + 7);
    CHECK_MSG(write_file_atomic(path, big, big_len, &err) == 0, "%s", err.msg);
    check_file_contents(path, big, big_len);
    free(big);
    unlink(path);

    /* A directory that does not exist: the error names the path, no temporary is left. */
    char bad[512], bad_tmp[600];
    path_in_tmp(bad, sizeof bad, "no_such_dir/out.bin");
    snprintf(bad_tmp, sizeof bad_tmp, "%s.tmp", bad);
    err.msg[0] = '\0';
    CHECK(write_file_atomic(bad, "x", 1, &err) == -1);
    CHECK_MSG(strstr(err.msg, bad) != NULL, "%s", err.msg);
    CHECK_MSG(strstr(err.msg, "No such file") != NULL, "%s", err.msg);
    CHECK(!file_exists(bad_tmp));

    /* A read-only directory (permissions do not bind root, so only checked as a user). */
    if (geteuid() != 0) {
        char ro[512], ro_file[600];
        path_in_tmp(ro, sizeof ro, "readonly");
        CHECK(mkdir(ro, 0555) == 0);
        snprintf(ro_file, sizeof ro_file, "%s/out.bin", ro);
        CHECK(write_file_atomic(ro_file, "x", 1, &err) == -1);
        CHECK_MSG(strstr(err.msg, ro_file) != NULL, "%s", err.msg);
        CHECK_MSG(strstr(err.msg, "Permission denied") != NULL, "%s", err.msg);
        rmdir(ro);
    }
}

static void test_read_file_all_missing(void) {
    Err err;
    char path[512];
    path_in_tmp(path, sizeof path, "missing.txt");
    char *data = (char *)1;
    size_t len = 99;
    CHECK(read_file_all(path, &data, &len, &err) == -1);
    CHECK(data == NULL && len == 0);
    CHECK_MSG(strstr(err.msg, path) != NULL, "%s", err.msg);
}

static void test_make_dirs(void) {
    Err err;
    char nested[512], mid[512], top[512], trailing[600];
    path_in_tmp(top, sizeof top, "a");
    path_in_tmp(mid, sizeof mid, "a/b");
    path_in_tmp(nested, sizeof nested, "a/b/c");
    CHECK_MSG(make_dirs(nested, &err) == 0, "%s", err.msg);
    struct stat st;
    CHECK(stat(nested, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK_MSG(make_dirs(nested, &err) == 0, "existing: %s", err.msg);
    snprintf(trailing, sizeof trailing, "%s/d/", nested);
    CHECK_MSG(make_dirs(trailing, &err) == 0, "trailing slash: %s", err.msg);
    CHECK(stat(trailing, &st) == 0 && S_ISDIR(st.st_mode));

    /* A regular file in the way. */
    char file[512], through[600];
    path_in_tmp(file, sizeof file, "a/plain");
    CHECK(write_file_atomic(file, "x", 1, &err) == 0);
    snprintf(through, sizeof through, "%s/sub", file);
    CHECK(make_dirs(through, &err) == -1);
    CHECK_MSG(strstr(err.msg, through) != NULL, "%s", err.msg);
    CHECK(make_dirs(file, &err) == -1);
    CHECK_MSG(strstr(err.msg, file) != NULL, "%s", err.msg);
    CHECK(make_dirs("", &err) == -1);

    unlink(file);
    rmdir(trailing);
    rmdir(nested);
    rmdir(mid);
    rmdir(top);
}

static void test_strbuf(void) {
    StrBuf sb = {0};
    sb_printf(&sb, "%s", "");
    CHECK(sb.len == 0);
    for (int i = 0; i < 1000; i++) sb_printf(&sb, "%d,", i);
    CHECK(sb.len < sb.cap);
    CHECK(sb.data[sb.len] == '\0');
    CHECK(strncmp(sb.data, "0,1,2,3,", 8) == 0);
    CHECK(strcmp(sb.data + sb.len - 4, "999,") == 0);
    size_t expected = 10 * 2 + 90 * 3 + 900 * 4;
    CHECK(sb.len == expected);

    /* One printf much larger than the free space. */
    char chunk[5000];
    memset(chunk, 'z', sizeof chunk - 1);
    chunk[sizeof chunk - 1] = '\0';
    size_t before = sb.len;
    sb_printf(&sb, "[%s]", chunk);
    CHECK(sb.len == before + sizeof chunk + 1);
    CHECK(sb.data[before] == '[' && sb.data[sb.len - 1] == ']' && sb.data[sb.len] == '\0');

    sb_append(&sb, "a\0b", 3);
    CHECK(memcmp(sb.data + sb.len - 3, "a\0b", 3) == 0);
    CHECK(sb.data[sb.len] == '\0');
    sb_free(&sb);
    CHECK(sb.data == NULL && sb.len == 0 && sb.cap == 0);

    sb_append(&sb, "xy", 2);
    CHECK(sb.len == 2 && strcmp(sb.data, "xy") == 0);
    sb_free(&sb);
}

static void test_realloc_or_die(void) {
    char *p = realloc_or_die(NULL, 0, "nothing");
    CHECK(p != NULL);
    p = realloc_or_die(p, 3, "three bytes");
    memcpy(p, "ab", 3);
    p = realloc_or_die(p, 1 << 20, "a megabyte");
    CHECK(strcmp(p, "ab") == 0);
    free(p);

    /* out of memory: one line naming what was allocated on stderr, then abort */
    char log[512];
    path_in_tmp(log, sizeof log, "oom.log");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0}); /* no core file from the abort */
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 2) < 0) _exit(1);
        realloc_or_die(NULL, SIZE_MAX, "an impossible buffer");
        _exit(0);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    char *text = NULL;
    size_t len = 0;
    Err err;
    CHECK(read_file_all(log, &text, &len, &err) == 0);
    char want[128];
    snprintf(want, sizeof want, "mdmlab: out of memory: an impossible buffer (%zu bytes)\n",
             (size_t)SIZE_MAX);
    CHECK_MSG(text && strcmp(text, want) == 0, "%s", text ? text : "");
    free(text);
    unlink(log);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mdm_test_util_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_err_set();
    test_fnv1a64();
    test_rng_determinism_and_streams();
    test_rng_uniform();
    test_rng_below();
    test_rng_normal();
    test_rng_shuffle();
    test_now_seconds();
    test_write_file_atomic();
    test_read_file_all_missing();
    test_make_dirs();
    test_strbuf();
    test_realloc_or_die();
    CHECK(rmdir(tmpdir) == 0);
    return check_summary("util");
}
