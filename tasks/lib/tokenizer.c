/* Byte-level and GPT-2 BPE tokenizers: special ids, GPT-2 pre-tokenisation with PCRE2, decode. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer.h"
#include "bpe.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

/* GPT-2's split: contractions, an optional space + letters / digits / other symbols, spaces
 * not followed by a non-space (so " word" keeps its space), then remaining spaces. Written
 * with \s spelled out as Unicode White_Space, which is what \s means in tiktoken's Rust regex;
 * PCRE2's \s also matches U+180E. */
#define WS                                                                                         \
    "\\t-\\r "                                                                                     \
    "\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"
static const char gpt2_pattern[] = "'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^" WS
                                   "\\p{L}\\p{N}]+|[" WS "]+(?![^" WS "])|[" WS "]+";
#undef WS

struct TokenizerBpe {
    BpeRanks ranks;
    pcre2_code *re;
};

void intbuf_push(IntBuf *b, int v) {
    if (b->len == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        b->data = realloc_or_die(b->data, cap * sizeof *b->data, "growing a token buffer");
        b->cap = cap;
    }
    b->data[b->len++] = v;
}

void intbuf_free(IntBuf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* Specials follow the base vocabulary in a fixed order; next_id is the first free id. */
static void assign_specials(Tokenizer *tok, unsigned specials, int next_id) {
    tok->pad_id = tok->mask_id = tok->sep_id = -1;
    if ((specials & TOK_SPECIAL_EOS) && tok->eos_id < 0) tok->eos_id = next_id++;
    if (specials & TOK_SPECIAL_PAD) tok->pad_id = next_id++;
    if (specials & TOK_SPECIAL_MASK) tok->mask_id = next_id++;
    if (specials & TOK_SPECIAL_SEP) tok->sep_id = next_id++;
    tok->vocab_size = next_id;
}

int tokenizer_open_byte(Tokenizer *tok, unsigned specials, Err *err) {
    (void)err;
    memset(tok, 0, sizeof *tok);
    tok->kind = TOKENIZER_BYTE;
    tok->n_text = 256;
    tok->eos_id = -1;
    assign_specials(tok, specials, 256);
    return 0;
}

int tokenizer_open_tiktoken(Tokenizer *tok, const char *path, unsigned specials, Err *err) {
    memset(tok, 0, sizeof *tok);
    TokenizerBpe *bpe = calloc(1, sizeof *bpe);
    if (!bpe) return err_set(err, "out of memory");
    if (bpe_ranks_load(&bpe->ranks, path, err) < 0) {
        free(bpe);
        return -1;
    }
    int code;
    PCRE2_SIZE offset;
    bpe->re = pcre2_compile((PCRE2_SPTR)gpt2_pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                            &code, &offset, NULL);
    if (!bpe->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        bpe_ranks_free(&bpe->ranks);
        free(bpe);
        return err_set(err, "GPT-2 split regex: %s at offset %zu", (const char *)msg,
                       (size_t)offset);
    }
    /* JIT about doubles the speed; where it is unsupported the interpreter runs. */
    pcre2_jit_compile(bpe->re, PCRE2_JIT_COMPLETE);
    tok->kind = TOKENIZER_BPE;
    tok->bpe = bpe;
    tok->n_text = bpe->ranks.n;
    tok->eos_id = bpe->ranks.n; /* <|endoftext|> follows the ranks */
    assign_specials(tok, specials, bpe->ranks.n + 1);
    return 0;
}

const char *tokenizer_data_dir(void) {
    const char *d = getenv("MDMLAB_DATA_DIR");
    return d && d[0] ? d : "data";
}

int tokenizer_open_name(Tokenizer *tok, const char *name, const char *data_dir, unsigned specials,
                        Err *err) {
    memset(tok, 0, sizeof *tok);
    if (strcmp(name, "byte") == 0) return tokenizer_open_byte(tok, specials, err);
    if (strcmp(name, "gpt2") == 0 || strcmp(name, "r50k_base") == 0) {
        char path[4096];
        if (!data_dir) data_dir = tokenizer_data_dir();
        int n = snprintf(path, sizeof path, "%s/tokenizers/r50k_base.tiktoken", data_dir);
        if (n < 0 || (size_t)n >= sizeof path)
            return err_set(err, "data directory path too long: '%s'", data_dir);
        if (!file_exists(path))
            return err_set(err, "tokenizer '%s' needs %s: run ci/fetch-data.sh", name, path);
        return tokenizer_open_tiktoken(tok, path, specials, err);
    }
    return err_set(err, "unknown tokenizer '%s' (expected byte, gpt2 or r50k_base)", name);
}

void tokenizer_free(Tokenizer *tok) {
    if (tok->bpe) {
        pcre2_code_free(tok->bpe->re);
        bpe_ranks_free(&tok->bpe->ranks);
        free(tok->bpe);
    }
    memset(tok, 0, sizeof *tok);
}

typedef void (*PieceFn)(void *ctx, const uint8_t *piece, size_t n);

/* The length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0 if the bytes there start none. */
static size_t utf8_seq_len(const uint8_t *s, size_t n) {
    uint8_t c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    uint8_t lo = 0x80, hi = 0xbf; /* the allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return len;
}

/* Calls fn on each piece of GPT-2's split of s[0..len), in order; the pieces tile the text.
 * Each maximal run of bytes that start no UTF-8 sequence is one piece; the regex runs on each
 * valid stretch between such runs, as if it were the whole text. That is what
 * PCRE2_MATCH_INVALID_UTF does, but its interpreter re-checks the rest of the subject at every
 * call (quadratic without JIT); checking once here lets every call pass PCRE2_NO_UTF_CHECK. */
static int split_gpt2(const pcre2_code *re, const uint8_t *s, size_t len, PieceFn fn, void *ctx,
                      Err *err) {
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) return err_set(err, "out of memory");
    int rc = 0;
    for (size_t pos = 0; pos < len && rc == 0;) {
        size_t bad = pos, valid_end;
        while (bad < len && utf8_seq_len(s + bad, len - bad) == 0) bad++;
        if (bad > pos) fn(ctx, s + pos, bad - pos);
        for (valid_end = bad; valid_end < len;) {
            size_t k = utf8_seq_len(s + valid_end, len - valid_end);
            if (k == 0) break;
            valid_end += k;
        }
        for (pos = bad; pos < valid_end;) {
            int got = pcre2_match(re, s, valid_end, pos, PCRE2_NO_UTF_CHECK, md, NULL);
            size_t start = valid_end, end = valid_end;
            if (got >= 0) {
                PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
                start = ov[0];
                end = ov[1];
            } else if (got != PCRE2_ERROR_NOMATCH) {
                PCRE2_UCHAR msg[256];
                pcre2_get_error_message(got, msg, sizeof msg);
                rc = err_set(err, "GPT-2 split regex at byte %zu: %s", pos, (const char *)msg);
                break;
            }
            /* Every character matches some alternative, none of them empty; this keeps the
             * tiling (and the loop moving) even if that were not so. */
            if (end <= start) end = start = valid_end;
            if (start > pos) fn(ctx, s + pos, start - pos);
            if (end > start) fn(ctx, s + start, end - start);
            pos = end;
        }
    }
    pcre2_match_data_free(md);
    return rc;
}

typedef struct MergeCtx {
    const BpeRanks *ranks;
    BpeScratch scratch;
    IntBuf *out;
} MergeCtx;

static void merge_piece(void *ctx, const uint8_t *piece, size_t n) {
    MergeCtx *m = ctx;
    bpe_encode_piece(m->ranks, piece, n, BPE_MERGE_AUTO, &m->scratch, m->out);
}

typedef struct EndsCtx {
    const uint8_t *text;
    IntBuf *ends;
} EndsCtx;

static void push_end(void *ctx, const uint8_t *piece, size_t n) {
    EndsCtx *e = ctx;
    intbuf_push(e->ends, (int)(piece + n - e->text));
}

int tokenizer_split(const Tokenizer *tok, const void *text, size_t len, IntBuf *ends, Err *err) {
    if (len > INT32_MAX) return err_set(err, "text of %zu bytes is too long to split", len);
    EndsCtx ctx = {text, ends};
    if (tok->kind == TOKENIZER_BYTE) {
        for (size_t i = 0; i < len; i++) push_end(&ctx, ctx.text + i, 1);
        return 0;
    }
    return split_gpt2(tok->bpe->re, text, len, push_end, &ctx, err);
}

int tokenizer_encode(const Tokenizer *tok, const void *text, size_t len, IntBuf *out, Err *err) {
    const uint8_t *s = text;
    /* merge positions are 32-bit */
    if (len >= UINT32_MAX) return err_set(err, "text of %zu bytes is too long to encode", len);
    if (tok->kind == TOKENIZER_BYTE) {
        for (size_t i = 0; i < len; i++) intbuf_push(out, s[i]);
        return 0;
    }
    MergeCtx ctx = {&tok->bpe->ranks, {0}, out};
    int rc = split_gpt2(tok->bpe->re, s, len, merge_piece, &ctx, err);
    bpe_scratch_free(&ctx.scratch);
    return rc;
}

#define BYTES4(i)   (i), (i) + 1, (i) + 2, (i) + 3
#define BYTES16(i)  BYTES4(i), BYTES4((i) + 4), BYTES4((i) + 8), BYTES4((i) + 12)
#define BYTES64(i)  BYTES16(i), BYTES16((i) + 16), BYTES16((i) + 32), BYTES16((i) + 48)
#define BYTES256(i) BYTES64(i), BYTES64((i) + 64), BYTES64((i) + 128), BYTES64((i) + 192)
static const uint8_t every_byte[256] = {BYTES256(0)};

int tokenizer_token_bytes(const Tokenizer *tok, int id, const uint8_t **bytes, size_t *len) {
    if (id < 0 || id >= tok->vocab_size) return -1;
    if (id < tok->n_text) {
        if (tok->kind == TOKENIZER_BYTE) {
            *bytes = every_byte + id;
            *len = 1;
        } else {
            *bytes = tok->bpe->ranks.bytes + tok->bpe->ranks.start[id];
            *len = tok->bpe->ranks.len[id];
        }
        return 0;
    }
    const char *name = id == tok->eos_id    ? "<|endoftext|>"
                       : id == tok->pad_id  ? "<|pad|>"
                       : id == tok->mask_id ? "<|mask|>"
                                            : "<|sep|>";
    *bytes = (const uint8_t *)name;
    *len = strlen(name);
    return 0;
}

int tokenizer_decode(const Tokenizer *tok, const int *ids, size_t n, StrBuf *out, Err *err) {
    for (size_t i = 0; i < n; i++) {
        const uint8_t *bytes;
        size_t len;
        if (tokenizer_token_bytes(tok, ids[i], &bytes, &len) < 0)
            return err_set(err, "token id %d at position %zu is outside the vocabulary 0..%d",
                           ids[i], i, tok->vocab_size - 1);
        sb_append(out, bytes, len);
    }
    return 0;
}
