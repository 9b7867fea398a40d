/* The text task ("task.name: text"): language modelling on a corpus of documents, as
 * consecutive fixed-length token windows. No prompt and no answers: the harness evaluates it
 * by the validation ELBO (run/elbo.h) and samples.
 *
 * Corpus (task.corpus, comma-separated; "" = data/text/kjv/kjv.txt under $MDMLAB_DATA_DIR or
 * data/): a directory gives one document per .txt file (sorted by name), a .jsonl file one per
 * {"text": ...} row, any other file is read as text and split at blank lines, or, when that
 * gives a single document, into documents of 100 lines (KJV: one verse per line). Documents
 * keep their newlines; empty documents are dropped.
 *
 * Split: document i (counted over the whole corpus in order) is validation when
 * text_document_draw(i, task.data_seed) < task.val_fraction; when that picks none, the one
 * with the lowest draw is (and when it picks all, the one with the highest is not). Each
 * split is its documents' tokens, each followed by EOS, concatenated; example `index` of a
 * split is its window [index * seq_len, (index + 1) * seq_len); the remainder is dropped.
 * Vocabulary: the tokenizer's (task.tokenizer: byte | gpt2) + EOS + MASK. */
#ifndef MDMLAB_TEXT_H
#define MDMLAB_TEXT_H

#include "tasks/task.h"
#include "tasks/lib/tokenizer.h"

#define TEXT_LINES_PER_DOCUMENT 100
#define TEXT_DEFAULT_CORPUS     "text/kjv/kjv.txt" /* under the data directory */

extern const TaskOps task_text_ops;

/* A number in [0, 1) from FNV-1a 64 over (index, data_seed) as 8-byte little-endian each. */
double text_document_draw(long index, long data_seed);

/* For tests and tools; task must be a text task. */
const Tokenizer *text_task_tokenizer(const Task *task);
/* The token stream of a split (its windows are consecutive slices of it). */
const int *text_task_stream(const Task *task, int split, long *n_tokens);
/* Documents in a split. */
long text_task_documents(const Task *task, int split);

#endif
