/* MDM-Prime's sub-tokenizer: an invertible map from a token to ell base-b digits (sub-tokens),
 * b the least base with b^ell >= the number of data tokens, optionally through a fixed random
 * permutation of the codes (the reference's BasebLayer / BasebShufflingLayer). Only data
 * tokens (every id but MASK) get codes, so a code names at most one token and no code >=
 * their count is ever produced; the permutation is over those codes.
 *
 * A position's state while some of its digits are masked (a partially masked token) is one
 * int, so batches, the sampler's state and the model's input stay (B, T) ints:
 *   - a clean token is its own id; the fully masked state is mask_id (as for plain MDM);
 *   - a partial state is vocab + sum_j s_j (b + 1)^(ell - 1 - j), digit s_j in [0, b] with b
 *     meaning "digit j masked" (the sub-mask), most significant digit first.
 * So a task never sees anything but its own ids once decoding has finished. */
#ifndef MDMLAB_SUBTOKEN_H
#define MDMLAB_SUBTOKEN_H

#include <stdint.h>
#include "base/util.h"

enum { SUBTOKEN_MAX_ELL = 8 };

typedef struct SubTokenizer {
    int ell, base;    /* digits per token and their base; a digit equal to base is masked */
    int vocab;        /* the task's vocabulary, MASK included */
    int mask_id;      /* the task's MASK: code all-masked, consistent only with that state */
    uint64_t permute; /* seed of the code permutation; 0: none (token order) */
    int *codes;       /* (vocab, ell) digits of each token, most significant first */
    int *token_of;    /* (base^ell) the token whose code it is, -1 for unused codes */
    long n_codes;     /* base^ell */
} SubTokenizer;

/* The least b >= 2 with b^ell >= data_tokens. */
int subtok_base_for(int data_tokens, int ell);
/* Codes for a vocabulary of `vocab` ids of which mask_id is MASK; ell in 1..SUBTOKEN_MAX_ELL.
 * permute: 0 keeps token order, else the seed of a fixed permutation. Errors when the
 * state ids would not fit an int. */
int subtok_init(SubTokenizer *s, int vocab, int mask_id, int ell, uint64_t permute, Err *err);
void subtok_free(SubTokenizer *s);
/* The state of `token` (a data token) with the digits in bitmask `hidden` (bit j = digit j)
 * masked: the token itself when none, mask_id when all. */
int subtok_state(const SubTokenizer *s, int token, unsigned hidden);
/* The digits of a state (ell of them, masked ones = base). */
void subtok_digits(const SubTokenizer *s, int state, int *digits);
/* The state whose digits these are (the inverse of subtok_digits for reachable states). */
int subtok_state_of_digits(const SubTokenizer *s, const int *digits);
/* Whether two sub-tokenizers (either may be NULL: plain tokens) map states alike. */
int subtok_same(const SubTokenizer *a, const SubTokenizer *b);
/* Masked digits of a state: 0 for a clean token, ell for mask_id. */
int subtok_hidden_count(const SubTokenizer *s, int state);

#endif
