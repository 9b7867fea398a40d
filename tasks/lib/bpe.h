/* Byte-pair encoding by ranks, as tiktoken does it: a table from byte strings to ranks (read
 * from a .tiktoken file) and the merge that turns one pre-tokenised piece into token ids.
 * The tokenizer (tokenizer.h) splits text into pieces; this module never sees the regex. */
#ifndef MDMLAB_BPE_H
#define MDMLAB_BPE_H

#include "tokenizer.h"

#include <stdint.h>

/* Token r's bytes are bytes[start[r] .. start[r] + len[r]); ids equal ranks (0 .. n-1). */
typedef struct BpeRanks {
    int n;
    uint8_t *bytes;
    uint32_t *start, *len;
    uint32_t *slots; /* open addressing by FNV-1a of the bytes: rank + 1, 0 = empty */
    size_t slot_mask;
} BpeRanks;

/* Parses "<base64 token bytes> <rank>" lines (empty lines skipped, CRLF accepted). Ranks must
 * be 0 .. n-1 with none repeated, no byte string may repeat, and every single byte must have a
 * rank (the merge starts from single bytes). `name` labels errors: "name:LINE: ...". */
int bpe_ranks_parse(BpeRanks *r, const char *text, size_t len, const char *name, Err *err);
int bpe_ranks_load(BpeRanks *r, const char *path, Err *err);
void bpe_ranks_free(BpeRanks *r);

/* The rank of the byte string s[0..n), or -1 if it has none. */
int bpe_rank_of(const BpeRanks *r, const uint8_t *s, size_t n);

/* Work arrays reused across pieces; zero-initialise, free with bpe_scratch_free. */
typedef struct BpeScratch {
    uint64_t *u64;
    uint32_t *u32;
    size_t cap_u64, cap_u32;
} BpeScratch;
void bpe_scratch_free(BpeScratch *s);

/* Both algorithms give the same ids: repeatedly merge the adjacent pair whose concatenation
 * has the lowest rank, the leftmost one on ties. SCAN is tiktoken's _byte_pair_merge (a linear
 * search per merge, O(n^2), fastest on the short pieces regex splitting produces); HEAP keeps
 * the pairs in a heap, O(n log n), for long pieces such as a run of a million spaces. */
typedef enum BpeMerge { BPE_MERGE_AUTO, BPE_MERGE_SCAN, BPE_MERGE_HEAP } BpeMerge;

/* Appends the ids of piece[0..n) (n >= 1) to out. Like tiktoken, a piece that is itself a
 * token is emitted whole without merging. */
void bpe_encode_piece(const BpeRanks *r, const uint8_t *piece, size_t n, BpeMerge algo,
                      BpeScratch *s, IntBuf *out);

#endif
