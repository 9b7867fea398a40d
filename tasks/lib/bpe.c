/* Byte-pair encoding by ranks: the .tiktoken reader, the rank table and the two merges. */
#include "bpe.h"

#include <stdlib.h>
#include <string.h>

#define NO_RANK UINT32_MAX

/* ---- rank table ------------------------------------------------------------------------- */

static size_t slot_of(const BpeRanks *r, const uint8_t *s, size_t n) {
    return (size_t)fnv1a64(s, n, FNV1A64_INIT) & r->slot_mask;
}

int bpe_rank_of(const BpeRanks *r, const uint8_t *s, size_t n) {
    for (size_t i = slot_of(r, s, n);; i = (i + 1) & r->slot_mask) {
        uint32_t v = r->slots[i];
        if (!v) return -1;
        uint32_t rank = v - 1;
        if (r->len[rank] == n && memcmp(r->bytes + r->start[rank], s, n) == 0) return (int)rank;
    }
}

/* Inserts `rank`; returns the rank that already holds the same bytes, or -1. */
static int insert_rank(BpeRanks *r, uint32_t rank) {
    const uint8_t *s = r->bytes + r->start[rank];
    size_t n = r->len[rank];
    size_t i = slot_of(r, s, n);
    for (; r->slots[i]; i = (i + 1) & r->slot_mask) {
        uint32_t other = r->slots[i] - 1;
        if (r->len[other] == n && memcmp(r->bytes + r->start[other], s, n) == 0) return (int)other;
    }
    r->slots[i] = rank + 1;
    return -1;
}

static int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Standard base64 with padding; returns the decoded length or -1. */
static long base64_decode(const char *s, size_t n, uint8_t *out) {
    if (n == 0 || n % 4) return -1;
    long w = 0;
    for (size_t i = 0; i < n; i += 4) {
        int pad = (s[i + 3] == '=') + (s[i + 2] == '=' && s[i + 3] == '=');
        if (pad && i + 4 != n) return -1;
        uint32_t v = 0;
        for (int k = 0; k < 4; k++) {
            int d = k >= 4 - pad ? 0 : base64_value(s[i + k]);
            if (d < 0) return -1;
            v = v << 6 | (uint32_t)d;
        }
        out[w++] = (uint8_t)(v >> 16);
        if (pad < 2) out[w++] = (uint8_t)(v >> 8);
        if (pad < 1) out[w++] = (uint8_t)v;
    }
    return w;
}

/* Splits text into lines without their "\n" / "\r\n"; returns the next line's offset. */
static size_t next_line(const char *text, size_t len, size_t pos, size_t *line_len) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - text) : len;
    *line_len = end - pos;
    if (*line_len && text[end - 1] == '\r') (*line_len)--;
    return nl ? end + 1 : len;
}

static int parse_lines(BpeRanks *r, const char *text, size_t len, const char *name, Err *err) {
    size_t used = 0;
    long line_no = 0;
    for (size_t pos = 0, n; pos < len;) {
        const char *line = text + pos;
        pos = next_line(text, len, pos, &n);
        line_no++;
        if (n == 0) continue;
        const char *sp = memchr(line, ' ', n);
        if (!sp)
            return err_set(err, "%s:%ld: expected '<base64 token bytes> <rank>'", name, line_no);
        size_t b64_len = (size_t)(sp - line), digits = n - b64_len - 1;
        if (digits == 0 || digits > 9)
            return err_set(err, "%s:%ld: expected a rank after the space", name, line_no);
        uint32_t rank = 0;
        for (size_t i = 0; i < digits; i++) {
            char c = sp[1 + i];
            if (c < '0' || c > '9')
                return err_set(err, "%s:%ld: rank '%.*s' is not a number", name, line_no,
                               (int)digits, sp + 1);
            rank = rank * 10 + (uint32_t)(c - '0');
        }
        if (rank >= (uint32_t)r->n)
            return err_set(err, "%s:%ld: rank %u out of range 0..%d (ranks must be dense)", name,
                           line_no, rank, r->n - 1);
        if (r->start[rank] != NO_RANK)
            return err_set(err, "%s:%ld: rank %u appears twice", name, line_no, rank);
        long got = base64_decode(line, b64_len, r->bytes + used);
        if (got < 0)
            return err_set(err, "%s:%ld: invalid base64 '%.*s'", name, line_no,
                           (int)(b64_len > 64 ? 64 : b64_len), line);
        r->start[rank] = (uint32_t)used;
        r->len[rank] = (uint32_t)got;
        used += (size_t)got;
        int other = insert_rank(r, rank);
        if (other >= 0)
            return err_set(err, "%s:%ld: rank %u has the same bytes as rank %d", name, line_no,
                           rank, other);
    }
    return 0;
}

int bpe_ranks_parse(BpeRanks *r, const char *text, size_t len, const char *name, Err *err) {
    memset(r, 0, sizeof *r);
    long lines = 0;
    for (size_t pos = 0, n; pos < len;) {
        pos = next_line(text, len, pos, &n);
        lines += n > 0;
    }
    if (lines == 0) return err_set(err, "%s: no ranks", name);
    if (lines > INT32_MAX / 4) return err_set(err, "%s: too many ranks (%ld)", name, lines);
    r->n = (int)lines;
    size_t slots = 1;
    while (slots < 2 * (size_t)lines) slots *= 2;
    r->slot_mask = slots - 1;
    r->slots = calloc(slots, sizeof *r->slots);
    r->bytes = malloc(len); /* decoded bytes never outnumber the base64 characters */
    r->start = malloc((size_t)lines * sizeof *r->start);
    r->len = malloc((size_t)lines * sizeof *r->len);
    if (!r->slots || !r->bytes || !r->start || !r->len) {
        bpe_ranks_free(r);
        return err_set(err, "%s: out of memory for %ld ranks", name, lines);
    }
    memset(r->start, 0xff, (size_t)lines * sizeof *r->start);
    if (parse_lines(r, text, len, name, err) < 0) {
        bpe_ranks_free(r);
        return -1;
    }
    for (int b = 0; b < 256; b++) {
        uint8_t byte = (uint8_t)b;
        if (bpe_rank_of(r, &byte, 1) < 0) {
            bpe_ranks_free(r);
            return err_set(err, "%s: byte 0x%02x has no rank (every single byte needs one)", name,
                           b);
        }
    }
    return 0;
}

int bpe_ranks_load(BpeRanks *r, const char *path, Err *err) {
    char *text;
    size_t len;
    memset(r, 0, sizeof *r);
    if (read_file_all(path, &text, &len, err) < 0) return -1;
    int rc = bpe_ranks_parse(r, text, len, path, err);
    free(text);
    return rc;
}

void bpe_ranks_free(BpeRanks *r) {
    free(r->bytes);
    free(r->start);
    free(r->len);
    free(r->slots);
    memset(r, 0, sizeof *r);
}

/* ---- merges ----------------------------------------------------------------------------- */

void bpe_scratch_free(BpeScratch *s) {
    free(s->u64);
    free(s->u32);
    memset(s, 0, sizeof *s);
}

static void scratch_reserve(BpeScratch *s, size_t n_u64, size_t n_u32) {
    if (n_u64 > s->cap_u64) {
        s->u64 = realloc_or_die(s->u64, n_u64 * sizeof *s->u64, "BPE merge scratch");
        s->cap_u64 = n_u64;
    }
    if (n_u32 > s->cap_u32) {
        s->u32 = realloc_or_die(s->u32, n_u32 * sizeof *s->u32, "BPE merge scratch");
        s->cap_u32 = n_u32;
    }
}

static uint32_t rank_or_none(const BpeRanks *r, const uint8_t *s, size_t n) {
    int rank = bpe_rank_of(r, s, n);
    return rank < 0 ? NO_RANK : (uint32_t)rank;
}

/* A part is (start << 32 | rank of the part joined with the next one), as in tiktoken. */
static inline uint32_t part_start(uint64_t p) {
    return (uint32_t)(p >> 32);
}
static inline uint32_t part_rank(uint64_t p) {
    return (uint32_t)p;
}
static inline uint64_t make_part(uint32_t start, uint32_t rank) {
    return (uint64_t)start << 32 | rank;
}

/* tiktoken's _byte_pair_merge: parts[0..m) with two sentinels at the end. */
static void merge_scan(const BpeRanks *r, const uint8_t *piece, size_t n, BpeScratch *s,
                       IntBuf *out) {
    scratch_reserve(s, n + 1, 0);
    uint64_t *parts = s->u64;
    for (size_t i = 0; i + 1 < n; i++)
        parts[i] = make_part((uint32_t)i, rank_or_none(r, piece + i, 2));
    parts[n - 1] = make_part((uint32_t)(n - 1), NO_RANK);
    parts[n] = make_part((uint32_t)n, NO_RANK);
    size_t m = n + 1;
    for (;;) {
        uint32_t min_rank = NO_RANK;
        size_t i = 0;
        for (size_t k = 0; k + 1 < m; k++)
            if (part_rank(parts[k]) < min_rank) min_rank = part_rank(parts[k]), i = k;
        if (min_rank == NO_RANK) break;
            /* The rank of part k joined with part k + 1 once parts i and i + 1 are one: part
             * i + 1 is still in the array, hence k + 3. */
#define JOINED_RANK(k)                                                                             \
    ((k) + 3 < m ? rank_or_none(r, piece + part_start(parts[k]),                                   \
                                part_start(parts[(k) + 3]) - part_start(parts[k]))                 \
                 : NO_RANK)
        if (i > 0) parts[i - 1] = make_part(part_start(parts[i - 1]), JOINED_RANK(i - 1));
        parts[i] = make_part(part_start(parts[i]), JOINED_RANK(i));
#undef JOINED_RANK
        memmove(parts + i + 1, parts + i + 2, (m - i - 2) * sizeof *parts);
        m--;
    }
    for (size_t k = 0; k + 1 < m; k++) {
        uint32_t a = part_start(parts[k]), b = part_start(parts[k + 1]);
        intbuf_push(out, bpe_rank_of(r, piece + a, b - a));
    }
}

/* Min-heap of (rank << 32 | start): the lowest rank first, the leftmost start on ties, which is
 * the pair the scan picks. */
static void heap_push(uint64_t *heap, size_t *len, uint64_t v) {
    size_t i = (*len)++;
    while (i > 0 && heap[(i - 1) / 2] > v) {
        heap[i] = heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap[i] = v;
}

static uint64_t heap_pop(uint64_t *heap, size_t *len) {
    uint64_t top = heap[0], v = heap[--(*len)];
    size_t i = 0, n = *len;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap[c + 1] < heap[c]) c++;
        if (heap[c] >= v) break;
        heap[i] = heap[c];
        i = c;
    }
    if (n) heap[i] = v;
    return top;
}

/* Parts are named by their start byte, which never changes: a merge keeps the left start.
 * next[p] / prev[p] link the live parts; rank[p] is the rank of part p joined with the next,
 * NO_RANK for the last part and for merged-away parts, so their heap entries go stale. */
static void merge_heap(const BpeRanks *r, const uint8_t *piece, size_t n, BpeScratch *s,
                       IntBuf *out) {
    /* each merge pops one entry and pushes at most two: the heap never exceeds 2n */
    scratch_reserve(s, 2 * n, 3 * (n + 1));
    uint64_t *heap = s->u64;
    uint32_t *next = s->u32, *prev = next + n + 1, *rank = prev + n + 1;
    size_t heap_len = 0;
    for (size_t i = 0; i < n; i++) {
        next[i] = (uint32_t)(i + 1);
        prev[i] = (uint32_t)i - 1; /* wraps for part 0, never read */
        rank[i] = i + 1 < n ? rank_or_none(r, piece + i, 2) : NO_RANK;
        if (rank[i] != NO_RANK) heap_push(heap, &heap_len, (uint64_t)rank[i] << 32 | i);
    }
    while (heap_len) {
        uint64_t top = heap_pop(heap, &heap_len);
        uint32_t p = (uint32_t)top, top_rank = (uint32_t)(top >> 32);
        if (rank[p] != top_rank) continue; /* stale */
        uint32_t q = next[p];
        rank[q] = NO_RANK;
        next[p] = next[q];
        if (next[p] < n) prev[next[p]] = p;
        rank[p] = next[p] < n ? rank_or_none(r, piece + p, next[next[p]] - p) : NO_RANK;
        if (rank[p] != NO_RANK) heap_push(heap, &heap_len, (uint64_t)rank[p] << 32 | p);
        if (p > 0) {
            uint32_t o = prev[p];
            rank[o] = rank_or_none(r, piece + o, next[p] - o);
            if (rank[o] != NO_RANK) heap_push(heap, &heap_len, (uint64_t)rank[o] << 32 | o);
        }
    }
    for (uint32_t p = 0; p < n; p = next[p])
        intbuf_push(out, bpe_rank_of(r, piece + p, next[p] - p));
}

/* Above this length the scan's quadratic search costs more than the heap's bookkeeping. */
#define SCAN_MAX_LEN 128

void bpe_encode_piece(const BpeRanks *r, const uint8_t *piece, size_t n, BpeMerge algo,
                      BpeScratch *s, IntBuf *out) {
    int whole = bpe_rank_of(r, piece, n);
    if (whole >= 0) {
        intbuf_push(out, whole);
        return;
    }
    if (algo == BPE_MERGE_AUTO) algo = n <= SCAN_MAX_LEN ? BPE_MERGE_SCAN : BPE_MERGE_HEAP;
    if (algo == BPE_MERGE_SCAN)
        merge_scan(r, piece, n, s, out);
    else
        merge_heap(r, piece, n, s, out);
}
