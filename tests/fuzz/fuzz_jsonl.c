/* libFuzzer target: one JSONL line through the strict JSON parser. When it parses, every string
 * field must survive a round trip (sb_json_string_n, then parse again, same bytes), and the
 * row goes through TinyGSM scoring (reference answers, the evaluator on its "code" fields). */
#include "tasks/lib/jsonl.h"
#include "tasks/tinygsm/tinygsm_data.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    JsonRow row = {0}, again = {0};
    Err err;
    err.msg[0] = '\0';
    int rc = json_row_parse(&row, (const char *)data, size, &err);
    if (rc != 0 && (rc != -1 || !err.msg[0])) abort();
    double number;
    (void)gsm8k_answer_number((const char *)data, size, &number);
    if (rc == 0) {
        for (int i = 0; i < row.n_fields; i++) {
            const JsonField *f = &row.fields[i];
            if (f->type != JSON_STRING) continue;
            StrBuf sb = {0};
            sb_append(&sb, "{\"k\": ", 6);
            sb_json_string_n(&sb, f->str, f->str_len);
            sb_append(&sb, "}", 1);
            if (json_row_parse(&again, sb.data, sb.len, &err) != 0) abort();
            const JsonField *g = json_row_find(&again, "k");
            if (!g || g->type != JSON_STRING || g->str_len != f->str_len ||
                memcmp(g->str, f->str, f->str_len) != 0)
                abort();
            sb_free(&sb);
        }
        TinyGsmScore score;
        if (tinygsm_score_row(&row, &score, &err) == 0 && score.correct && !score.evaluated)
            abort();
    }
    json_row_free(&row);
    json_row_free(&again);
    return 0;
}
