/* libFuzzer target: the restricted Python evaluator on arbitrary bytes. Any input must give a
 * value or an error with a message, never a crash, a sanitizer report, a leak or a hang. The
 * input buffer is exactly `size` bytes (no NUL), so reads past the length are caught. */
#include "tasks/lib/pyeval.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    PyValue v;
    Err err;
    err.msg[0] = '\0';
    int rc = pyeval_run((const char *)data, size, &v, &err);
    if (rc != 0 && (rc != -1 || !err.msg[0])) abort();
    if (rc == 0) {
        char buf[64];
        pyeval_format(v, buf, sizeof buf);
        (void)pyeval_matches(v, 1.0);
    }
    return 0;
}
