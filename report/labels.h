/* Method labels: a run's non-seed axis values, "key=value,key=value" ("process=puma,puma.K=4").
 * A value may hold commas (eval.extra=margin:1,topk:2): a comma-separated piece without '='
 * continues the value before it. */
#ifndef MDMLAB_LABELS_H
#define MDMLAB_LABELS_H

#include <stddef.h>

enum { LABEL_MAX_ITEMS = 32 };

typedef struct LabelItem {
    const char *key, *value; /* into the label, not terminated */
    int key_len, value_len;
} LabelItem;

/* The label's items in order; returns how many (at most LABEL_MAX_ITEMS). */
int label_items(const char *label, LabelItem *items);
/* The value label gives key, into out; 1 when it sets it, else 0 (out ""). */
int label_value(const char *label, const char *key, char *out, size_t n);
/* The label without key's item (the method's other axes), "" when nothing is left. */
void label_without(const char *label, const char *key, char *out, size_t n);
/* The label as a legend reads it: each item's last key component and value ("puma.K=4" ->
 * "K=4"), a process by its name alone, space-separated: "process=puma,puma.K=4" -> "puma K=4";
 * "baseline" for the empty label (a sweep of seeds only). */
void label_readable(const char *label, char *out, size_t n);

#endif
