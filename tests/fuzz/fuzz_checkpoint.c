/* libFuzzer target: the checkpoint reader (format, header values, stored config, tensors) on
 * arbitrary bytes, twice: as given, and with the checksum resealed, so that mutations get past
 * it to everything behind. A refusal is one line that names the input and leaves the
 * Checkpoint empty; an acceptance holds up: step >= 0, distinct sections inside the file,
 * "params" present, and the resume and evaluation checks answer without crashing. */
#include "model/checkpoint.h"
#include "model/model_io.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NAME "fuzz.ckpt"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_refusal(int rc, const Checkpoint *ck, const Err *err) {
    if (rc != -1 || strncmp(err->msg, NAME, strlen(NAME)) != 0 || strchr(err->msg, '\n')) abort();
    if (ck->blob || ck->sections || ck->config_yaml || ck->n_sections) abort();
}

static void check_acceptance(const Checkpoint *ck, size_t size) {
    if (ck->step < 0 || ck->n_sections > CKPT_MAX_SECTIONS) abort();
    if (strlen(ck->config_yaml) != ck->config_len) abort();
    for (int i = 0; i < ck->n_sections; i++) {
        const CkptSection *s = &ck->sections[i];
        const char *p = s->data;
        if (p < ck->blob || s->bytes > size || p + s->bytes > ck->blob + size) abort();
        if (checkpoint_section(ck, s->name) != s) abort(); /* names are distinct */
    }
    if (!checkpoint_section(ck, "params")) abort();
    Err err, note;
    for (int with_ema = 0; with_ema <= 1; with_ema++) {
        err.msg[0] = '\0';
        int rc = model_io_check_resumable(ck, NAME, with_ema, &err);
        if (rc != 0 && (rc != -1 || strchr(err.msg, '\n'))) abort();
    }
    int uses_ema = model_io_eval_uses_ema(ck, NAME, 1, &note);
    if (uses_ema != (checkpoint_section(ck, "ema") != NULL)) abort();
    if (!uses_ema && (!strstr(note.msg, NAME) || strchr(note.msg, '\n'))) abort();
}

static void read_once(const uint8_t *data, size_t size) {
    Checkpoint ck;
    Err err;
    err.msg[0] = '\0';
    int rc = checkpoint_read_memory(NAME, data, size, &ck, &err);
    if (rc == 0)
        check_acceptance(&ck, size);
    else
        check_refusal(rc, &ck, &err);
    checkpoint_free(&ck);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    read_once(data, size);
    if (size < 8) return 0;
    uint8_t *sealed = malloc(size);
    if (!sealed) return 0;
    memcpy(sealed, data, size);
    uint64_t sum = fnv1a64(sealed, size - 8, FNV1A64_INIT);
    for (int i = 0; i < 8; i++) sealed[size - 8 + i] = (uint8_t)(sum >> (8 * i));
    read_once(sealed, size);
    free(sealed);
    return 0;
}
