/* MDM-Prime's sub-tokenizer (see subtoken.h). */
#include "subtoken.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

int subtok_base_for(int data_tokens, int ell) {
    int b = 2;
    for (;; b++) {
        long long p = 1;
        for (int j = 0; j < ell && p < data_tokens; j++) p *= b;
        if (p >= data_tokens) return b;
    }
}

static long long int_pow(long long b, int e) {
    long long p = 1;
    while (e-- > 0) p *= b;
    return p;
}

int subtok_init(SubTokenizer *s, int vocab, int mask_id, int ell, uint64_t permute, Err *err) {
    memset(s, 0, sizeof *s);
    if (ell < 1 || ell > SUBTOKEN_MAX_ELL)
        return err_set(err, "sub-tokens: ell must be 1..%d, got %d", SUBTOKEN_MAX_ELL, ell);
    if (vocab < 2 || mask_id < 0 || mask_id >= vocab)
        return err_set(err, "sub-tokens: vocabulary %d with MASK %d", vocab, mask_id);
    int data = vocab - 1, b = subtok_base_for(data, ell);
    long long states = int_pow(b + 1, ell);
    if (states > INT_MAX - (long long)vocab)
        return err_set(err, "sub-tokens: %d digits of base %d give %lld states: too many", ell, b,
                       states);
    s->ell = ell;
    s->base = b;
    s->vocab = vocab;
    s->mask_id = mask_id;
    s->permute = permute;
    s->n_codes = (long)int_pow(b, ell);
    s->codes = malloc((size_t)vocab * ell * sizeof(int));
    s->token_of = malloc((size_t)s->n_codes * sizeof(int));
    int *code_of_rank = malloc((size_t)data * sizeof(int));
    if (!s->codes || !s->token_of || !code_of_rank) {
        free(code_of_rank);
        subtok_free(s);
        return err_set(err, "sub-tokens: out of memory");
    }
    for (int r = 0; r < data; r++) code_of_rank[r] = r;
    if (permute) {
        Rng rng;
        rng_seed(&rng, permute, 0x7072696d65ULL); /* "prime" */
        rng_shuffle_int(&rng, code_of_rank, data);
    }
    for (long c = 0; c < s->n_codes; c++) s->token_of[c] = -1;
    for (int v = 0, r = 0; v < vocab; v++) {
        int *dig = s->codes + (size_t)v * ell;
        if (v == mask_id) {
            for (int j = 0; j < ell; j++) dig[j] = b;
            continue;
        }
        int code = code_of_rank[r++];
        s->token_of[code] = v;
        for (int j = ell - 1; j >= 0; j--, code /= b) dig[j] = code % b;
    }
    free(code_of_rank);
    return 0;
}

void subtok_free(SubTokenizer *s) {
    free(s->codes);
    free(s->token_of);
    memset(s, 0, sizeof *s);
}

void subtok_digits(const SubTokenizer *s, int state, int *digits) {
    if (state < s->vocab) {
        memcpy(digits, s->codes + (size_t)state * s->ell, (size_t)s->ell * sizeof(int));
        return;
    }
    int rest = state - s->vocab;
    for (int j = s->ell - 1; j >= 0; j--, rest /= s->base + 1) digits[j] = rest % (s->base + 1);
}

int subtok_state_of_digits(const SubTokenizer *s, const int *digits) {
    int hidden = 0;
    long code = 0, partial = 0;
    for (int j = 0; j < s->ell; j++) {
        hidden += digits[j] == s->base;
        code = code * s->base + (digits[j] == s->base ? 0 : digits[j]);
        partial = partial * (s->base + 1) + digits[j];
    }
    if (hidden == s->ell) return s->mask_id;
    if (hidden == 0) return s->token_of[code];
    return s->vocab + (int)partial;
}

int subtok_state(const SubTokenizer *s, int token, unsigned hidden) {
    int digits[SUBTOKEN_MAX_ELL];
    subtok_digits(s, token, digits);
    for (int j = 0; j < s->ell; j++)
        if (hidden >> j & 1u) digits[j] = s->base;
    return subtok_state_of_digits(s, digits);
}

int subtok_hidden_count(const SubTokenizer *s, int state) {
    if (state == s->mask_id) return s->ell;
    if (state < s->vocab) return 0;
    int digits[SUBTOKEN_MAX_ELL], n = 0;
    subtok_digits(s, state, digits);
    for (int j = 0; j < s->ell; j++) n += digits[j] == s->base;
    return n;
}

int subtok_same(const SubTokenizer *a, const SubTokenizer *b) {
    if (!a || !b) return a == b;
    return a->ell == b->ell && a->base == b->base && a->vocab == b->vocab &&
           a->mask_id == b->mask_id &&
           memcmp(a->codes, b->codes, (size_t)a->vocab * a->ell * sizeof(int)) == 0;
}
