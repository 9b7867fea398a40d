/* Method labels (labels.h). */
#include "labels.h"

#include <stdio.h>
#include <string.h>

int label_items(const char *label, LabelItem *items) {
    int n = 0;
    for (const char *piece = label; piece && *piece;) {
        const char *comma = strchr(piece, ',');
        int len = comma ? (int)(comma - piece) : (int)strlen(piece);
        const char *eq = memchr(piece, '=', (size_t)len);
        if (eq && n < LABEL_MAX_ITEMS) {
            items[n++] = (LabelItem){piece, eq + 1, (int)(eq - piece), len - (int)(eq + 1 - piece)};
        } else if (n > 0) { /* a comma inside the previous value */
            items[n - 1].value_len = (int)(piece + len - items[n - 1].value);
        }
        piece = comma ? comma + 1 : NULL;
    }
    return n;
}

int label_value(const char *label, const char *key, char *out, size_t n) {
    LabelItem it[LABEL_MAX_ITEMS];
    int count = label_items(label, it);
    out[0] = '\0';
    for (int i = 0; i < count; i++)
        if ((size_t)it[i].key_len == strlen(key) && strncmp(it[i].key, key, strlen(key)) == 0) {
            snprintf(out, n, "%.*s", it[i].value_len, it[i].value);
            return 1;
        }
    return 0;
}

void label_without(const char *label, const char *key, char *out, size_t n) {
    LabelItem it[LABEL_MAX_ITEMS];
    int count = label_items(label, it);
    size_t at = 0;
    out[0] = '\0';
    for (int i = 0; i < count && at < n; i++) {
        if ((size_t)it[i].key_len == strlen(key) && strncmp(it[i].key, key, strlen(key)) == 0)
            continue;
        int w = snprintf(out + at, n - at, "%s%.*s=%.*s", at ? "," : "", it[i].key_len, it[i].key,
                         it[i].value_len, it[i].value);
        at += w > 0 ? (size_t)w : 0;
    }
}

void label_readable(const char *label, char *out, size_t n) {
    LabelItem it[LABEL_MAX_ITEMS];
    int count = label_items(label, it);
    size_t at = 0;
    snprintf(out, n, "%s", count ? "" : label[0] ? label : "baseline");
    for (int i = 0; i < count && at < n; i++) {
        const char *key = it[i].key, *dot;
        while ((dot = memchr(key, '.', (size_t)(it[i].key + it[i].key_len - key)))) key = dot + 1;
        int key_len = (int)(it[i].key + it[i].key_len - key);
        int process = it[i].key_len == 7 && strncmp(it[i].key, "process", 7) == 0;
        int w = process ? snprintf(out + at, n - at, "%s%.*s", at ? " " : "", it[i].value_len,
                                   it[i].value)
                        : snprintf(out + at, n - at, "%s%.*s=%.*s", at ? " " : "", key_len, key,
                                   it[i].value_len, it[i].value);
        at += w > 0 ? (size_t)w : 0;
    }
}
