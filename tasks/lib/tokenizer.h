/* Tokenizers for text tasks: byte-level (one id per byte) and GPT-2 byte-level BPE read from a
 * .tiktoken rank file (r50k_base: ci/fetch-data.sh puts it in data/tokenizers/).
 *
 * Ids: the base vocabulary first (bytes 0..255, or the BPE ranks 0..n-1 followed by
 * <|endoftext|> = n, 50256 for GPT-2), then the special tokens a task asks for, appended in the
 * order EOS, PAD, MASK, SEP. BPE already has EOS (<|endoftext|>), so asking for it adds nothing
 * there. vocab_size counts everything: byte + {EOS, MASK} = 258, GPT-2 + {PAD, MASK} = 50259.
 *
 * Encoding never produces special ids: text that spells "<|endoftext|>" is encoded as
 * ordinary text (tiktoken's encode_ordinary). decode(encode(s)) == s for every byte string.
 *
 * GPT-2 encoding splits the text with GPT-2's regex (PCRE2 with Unicode properties; \s spelled
 * out as Unicode White_Space, as in tiktoken's Rust regex) and merges the bytes of each piece
 * by rank exactly as tiktoken does. On valid UTF-8 the ids are tiktoken's (up to differences
 * between Unicode versions in \p{L} / \p{N}); the npm gpt-tokenizer, whose JavaScript \s
 * differs, disagrees only next to U+0085 and U+FEFF. Text need not be valid UTF-8 (tiktoken
 * only takes valid text): each maximal run of bytes that start no well-formed UTF-8 sequence
 * is merged as a piece of its own, and the regex splits each valid stretch between such runs
 * as if it were the whole text (what PCRE2_MATCH_INVALID_UTF would do). */
#ifndef MDMLAB_TOKENIZER_H
#define MDMLAB_TOKENIZER_H

#include "base/util.h"

#include <stddef.h>
#include <stdint.h>

/* A growable int array; out of memory aborts, as StrBuf does. Zero-initialise. */
typedef struct IntBuf {
    int *data;
    size_t len, cap;
} IntBuf;
void intbuf_push(IntBuf *b, int v);
void intbuf_free(IntBuf *b);

typedef enum TokenizerKind { TOKENIZER_BYTE, TOKENIZER_BPE } TokenizerKind;

/* Special tokens a task may ask for (a bit set). */
enum {
    TOK_SPECIAL_EOS = 1u << 0,
    TOK_SPECIAL_PAD = 1u << 1,
    TOK_SPECIAL_MASK = 1u << 2,
    TOK_SPECIAL_SEP = 1u << 3,
};

typedef struct TokenizerBpe TokenizerBpe;

typedef struct Tokenizer {
    TokenizerKind kind;
    int n_text;     /* ids 0 .. n_text-1 stand for byte strings (256, or the BPE rank count) */
    int vocab_size; /* every id, the specials included: the model's vocabulary */
    int eos_id, pad_id, mask_id, sep_id; /* -1 where not asked for (BPE always has eos_id) */
    TokenizerBpe *bpe;                   /* NULL for byte-level */
} Tokenizer;

/* `specials` is a set of TOK_SPECIAL_* bits. */
int tokenizer_open_byte(Tokenizer *tok, unsigned specials, Err *err);
/* The .tiktoken file at path: "<base64 token bytes> <rank>" per line; errors name its line. */
int tokenizer_open_tiktoken(Tokenizer *tok, const char *path, unsigned specials, Err *err);
/* The directory ci/fetch-data.sh fills: $MDMLAB_DATA_DIR, else "data". */
const char *tokenizer_data_dir(void);
/* By name, for configs: "byte", or "gpt2" (also "r50k_base") read from
 * data_dir/tokenizers/r50k_base.tiktoken (data_dir NULL: tokenizer_data_dir()); a missing file
 * says to run ci/fetch-data.sh. */
int tokenizer_open_name(Tokenizer *tok, const char *name, const char *data_dir, unsigned specials,
                        Err *err);
void tokenizer_free(Tokenizer *tok);

/* Appends the ids of text[0..len) to out. Fails only on text over 4 GiB or a regex engine
 * error (its message). Thread-safe: the tokenizer is only read. */
int tokenizer_encode(const Tokenizer *tok, const void *text, size_t len, IntBuf *out, Err *err);

/* The pre-tokenisation alone: appends the end offset of each piece (each byte for byte-level)
 * to ends; the pieces tile the text. For tests and inspection; text up to 2 GiB. */
int tokenizer_split(const Tokenizer *tok, const void *text, size_t len, IntBuf *ends, Err *err);

/* Appends the bytes of ids[0..n) to out; a special id appends its name ("<|endoftext|>",
 * "<|pad|>", "<|mask|>", "<|sep|>"). Fails on an id outside 0 .. vocab_size-1. */
int tokenizer_decode(const Tokenizer *tok, const int *ids, size_t n, StrBuf *out, Err *err);

/* The bytes of one id (a special's name for a special id); -1 for an id out of range. */
int tokenizer_token_bytes(const Tokenizer *tok, int id, const uint8_t **bytes, size_t *len);

#endif
