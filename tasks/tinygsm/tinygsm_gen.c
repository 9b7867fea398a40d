/* TinyGSM-style problem generator: six templates, each able to write a solution with an exact
 * number of arithmetic operators. The generator tracks every value with 64-bit integers as it
 * writes the matching code, so problem->answer is what the code evaluates to. */
#include "tinygsm_gen.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tasks/lib/jsonl.h"

/* Values are kept far below 2^53, so float results of `/` stay exact. */
#define VALUE_CAP        1000000000000LL
#define PERCENT_ATTEMPTS 200

typedef struct Person {
    const char *name, *She, *she, *Her, *her, *him; /* Her, her: possessive; him: object */
} Person;

static const Person people[] = {
    {"Mia", "She", "she", "Her", "her", "her"},    {"Liam", "He", "he", "His", "his", "him"},
    {"Olivia", "She", "she", "Her", "her", "her"}, {"Noah", "He", "he", "His", "his", "him"},
    {"Ava", "She", "she", "Her", "her", "her"},    {"Ethan", "He", "he", "His", "his", "him"},
    {"Sofia", "She", "she", "Her", "her", "her"},  {"Lucas", "He", "he", "His", "his", "him"},
    {"Emma", "She", "she", "Her", "her", "her"},   {"Mateo", "He", "he", "His", "his", "him"},
    {"Priya", "She", "she", "Her", "her", "her"},  {"Kenji", "He", "he", "His", "his", "him"},
    {"Amara", "She", "she", "Her", "her", "her"},  {"Diego", "He", "he", "His", "his", "him"},
    {"Chloe", "She", "she", "Her", "her", "her"},  {"Omar", "He", "he", "His", "his", "him"},
    {"Hannah", "She", "she", "Her", "her", "her"}, {"Samuel", "He", "he", "His", "his", "him"},
    {"Zoe", "She", "she", "Her", "her", "her"},    {"Ravi", "He", "he", "His", "his", "him"},
    {"Fatima", "She", "she", "Her", "her", "her"}, {"Jack", "He", "he", "His", "his", "him"},
    {"Grace", "She", "she", "Her", "her", "her"},  {"Tomas", "He", "he", "His", "his", "him"},
};
#define N_PEOPLE ((int)(sizeof people / sizeof people[0]))

typedef struct Item {
    const char *one, *many; /* singular and plural; variable names replace spaces by '_' */
} Item;

static const Item shop_items[] = {
    {"notebook", "notebooks"},  {"pen", "pens"},       {"shirt", "shirts"},
    {"candle", "candles"},      {"mug", "mugs"},       {"toy car", "toy cars"},
    {"sandwich", "sandwiches"}, {"ticket", "tickets"}, {"cupcake", "cupcakes"},
    {"plant", "plants"},        {"scarf", "scarves"},  {"puzzle", "puzzles"},
    {"kite", "kites"},          {"basket", "baskets"}, {"book", "books"},
};
#define N_SHOP_ITEMS ((int)(sizeof shop_items / sizeof shop_items[0]))

static const char *const share_items[] = {"marbles", "stickers", "cookies", "apples",
                                          "pencils", "cards",    "candies", "seashells"};
#define N_SHARE_ITEMS ((int)(sizeof share_items / sizeof share_items[0]))

typedef struct Category {
    const char *place, *noun, *sells; /* "A farm", "animals", "sells" */
    const char *members[10];
} Category;

static const Category categories[] = {
    {"A farm",
     "animals",
     "sells",
     {"cows", "sheep", "chickens", "goats", "pigs", "ducks", "horses", "rabbits", "geese",
      "turkeys"}},
    {"A fruit stand",
     "pieces of fruit",
     "sells",
     {"apples", "oranges", "bananas", "pears", "peaches", "plums", "lemons", "mangoes", "limes",
      "kiwis"}},
    {"A library",
     "books",
     "lends out",
     {"novels", "comics", "atlases", "cookbooks", "biographies", "dictionaries", "poetry books",
      "science books", "history books", "art books"}},
    {"A garden",
     "flowers",
     "gives away",
     {"roses", "tulips", "daisies", "lilies", "sunflowers", "orchids", "violets", "daffodils",
      "peonies", "poppies"}},
    {"A toy store",
     "toys",
     "sells",
     {"dolls", "robots", "yo-yos", "puzzles", "balls", "kites", "blocks", "trains", "drums",
      "teddy bears"}},
};
#define N_CATEGORIES ((int)(sizeof categories / sizeof categories[0]))

static const char *const template_names[TINYGSM_TEMPLATES] = {"shopping", "travel",    "percent",
                                                              "sharing",  "relations", "savings"};
/* The operator counts each template can produce. */
static const int template_min_steps[TINYGSM_TEMPLATES] = {1, 1, 2, 1, 1, 2};
static const int template_max_steps[TINYGSM_TEMPLATES] = {12, 8, 12, 8, 12, 6};

typedef struct Gen {
    Rng *rng;
    long max_number;
    const Person *who;
    TinyGsmProblem *p;
    StrBuf body;
    int ops;
} Gen;

static long long draw(Gen *g, long long lo, long long hi) {
    if (hi < lo) hi = lo;
    return lo + (long long)rng_below(g->rng, (uint64_t)(hi - lo + 1));
}

static long long min_ll(long long a, long long b) {
    return a < b ? a : b;
}

/* An upper bound for a drawn number: the template's natural cap, within max_number. */
static long long cap(Gen *g, long long natural) {
    return min_ll(natural, g->max_number);
}

static void say(Gen *g, const char *fmt, ...) MDM_PRINTF(2, 3);
static void say(Gen *g, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (g->p->question.len) sb_append(&g->p->question, " ", 1);
    sb_append(&g->p->question, buf, strlen(buf));
}

/* One line of the function body; ops = the arithmetic operators it holds. */
static void line(Gen *g, int ops, const char *fmt, ...) MDM_PRINTF(3, 4);
static void line(Gen *g, int ops, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    sb_printf(&g->body, "    %s\n", buf);
    g->ops += ops;
}

/* "toy cars" -> "toy_cars", "yo-yos" -> "yo_yos" */
static const char *ident(const char *words, char *buf, size_t n) {
    size_t k = 0;
    for (; words[k] && k + 1 < n; k++)
        buf[k] = (words[k] == ' ' || words[k] == '-') ? '_' : words[k];
    buf[k] = '\0';
    return buf;
}

static void pick_distinct(Gen *g, int *out, int k, int n) {
    int idx[32];
    for (int i = 0; i < n; i++) idx[i] = i;
    for (int i = 0; i < k; i++) {
        int j = i + (int)rng_below(g->rng, (uint64_t)(n - i));
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        out[i] = idx[i];
    }
}

/* ---- shopping: k items at unit prices, optional change from a payment: 2k - 1 (+1) ops --- */
static long long tpl_shopping(Gen *g, int n) {
    int change = n % 2 == 0, k = change ? n / 2 : (n + 1) / 2;
    int items[8];
    pick_distinct(g, items, k, N_SHOP_ITEMS);
    long long total = 0;
    char sentence[512];
    size_t len = (size_t)snprintf(sentence, sizeof sentence, "%s buys", g->who->name);
    StrBuf sum = {0};
    for (int i = 0; i < k; i++) {
        const Item *it = &shop_items[items[i]];
        long long qty = draw(g, 2, cap(g, 12)), price = draw(g, 1, g->max_number);
        char one[32], many[32];
        ident(it->one, one, sizeof one);
        ident(it->many, many, sizeof many);
        len += (size_t)snprintf(sentence + len, sizeof sentence - len, "%s %lld %s for $%lld each",
                                i == 0       ? ""
                                : i == k - 1 ? " and"
                                             : ",",
                                qty, it->many, price);
        line(g, 0, "%s = %lld", many, qty);
        line(g, 0, "%s_price = %lld", one, price);
        line(g, 1, "%s_cost = %s * %s_price", one, many, one);
        sb_printf(&sum, "%s%s_cost", i ? " + " : "", one);
        total += qty * price;
    }
    say(g, "%s.", sentence);
    const char *total_var = sum.data;
    if (k > 1) {
        line(g, k - 1, "total_cost = %s", sum.data);
        total_var = "total_cost";
    }
    long long answer = total;
    if (change) {
        long long paid = (total / 10 + 1 + draw(g, 0, 3)) * 10;
        say(g, "%s pays with $%lld. How much change does %s get?", g->who->She, paid, g->who->she);
        line(g, 0, "money_paid = %lld", paid);
        line(g, 1, "change = money_paid - %s", total_var);
        answer = paid - total;
        total_var = "change";
    } else {
        say(g, "How much does %s spend%s?", g->who->she, k > 1 ? " in total" : "");
    }
    line(g, 0, "result = %s", total_var);
    sb_free(&sum);
    return answer;
}

/* ---- travel: legs of speed x time (or distance / speed): 2k - 1 (+1) ops ---------------- */
static long long tpl_travel(Gen *g, int n) {
    static const char *const verbs[][2] = {
        {"drives", "drive"}, {"cycles", "cycle"}, {"rides", "ride"}, {"runs", "run"}};
    int extra = n % 2 == 0, k = extra ? n / 2 : (n + 1) / 2;
    int v = (int)rng_below(g->rng, 4), by_time = (int)rng_below(g->rng, 2);
    const char *unit = rng_below(g->rng, 2) ? "km" : "miles";
    long long max_speed = v == 0 ? 90 : v == 3 ? 12 : 30;
    long long total = 0;
    char sentence[512];
    size_t len = (size_t)snprintf(sentence, sizeof sentence, "%s %s", g->who->name, verbs[v][0]);
    StrBuf sum = {0};
    for (int i = 0; i < k; i++) {
        long long speed = draw(g, 2, cap(g, max_speed)), hours = draw(g, 1, cap(g, 6));
        const char *sep = i == 0 ? "" : i == k - 1 ? ", and then" : ", then";
        if (by_time) {
            long long dist = speed * hours;
            len += (size_t)snprintf(sentence + len, sizeof sentence - len,
                                    "%s %lld %s at %lld %s per hour", sep, dist, unit, speed, unit);
            line(g, 0, "distance_%d = %lld", i + 1, dist);
            line(g, 0, "speed_%d = %lld", i + 1, speed);
            line(g, 1, "hours_%d = distance_%d / speed_%d", i + 1, i + 1, i + 1);
            sb_printf(&sum, "%shours_%d", i ? " + " : "", i + 1);
            total += hours;
        } else {
            len += (size_t)snprintf(sentence + len, sizeof sentence - len,
                                    "%s at %lld %s per hour for %lld hour%s", sep, speed, unit,
                                    hours, hours == 1 ? "" : "s");
            line(g, 0, "speed_%d = %lld", i + 1, speed);
            line(g, 0, "hours_%d = %lld", i + 1, hours);
            line(g, 1, "distance_%d = speed_%d * hours_%d", i + 1, i + 1, i + 1);
            sb_printf(&sum, "%sdistance_%d", i ? " + " : "", i + 1);
            total += speed * hours;
        }
    }
    say(g, "%s.", sentence);
    const char *total_var = sum.data;
    if (k > 1) {
        line(g, k - 1, "%s = %s", by_time ? "total_hours" : "total_distance", sum.data);
        total_var = by_time ? "total_hours" : "total_distance";
    }
    long long answer = total;
    if (extra && by_time) {
        long long rest = draw(g, 1, cap(g, 4));
        say(g, "%s also rests for %lld hour%s in total. How many hours does the whole trip take?",
            g->who->She, rest, rest == 1 ? "" : "s");
        line(g, 0, "rest_hours = %lld", rest);
        line(g, 1, "trip_hours = %s + rest_hours", total_var);
        total_var = "trip_hours";
        answer = total + rest;
    } else if (extra) {
        long long trip = total + draw(g, 1, total);
        say(g, "%s whole trip is %lld %s long. How many %s does %s still have to go?", g->who->Her,
            trip, unit, unit, g->who->she);
        line(g, 0, "trip_length = %lld", trip);
        line(g, 1, "remaining = trip_length - %s", total_var);
        total_var = "remaining";
        answer = trip - total;
    } else if (by_time) {
        say(g, "How many hours does %s %s%s?", g->who->she, verbs[v][1], k > 1 ? " in total" : "");
    } else {
        say(g, "How many %s does %s %s%s?", unit, g->who->she, verbs[v][1],
            k > 1 ? " in total" : "");
    }
    line(g, 0, "result = %s", total_var);
    sb_free(&sum);
    return answer;
}

/* ---- percent: a base price, c percentage changes, optional quantity and split ----------- */
typedef struct PercentKind {
    const char *name; /* variable stem */
    int sign;         /* -1 lowers the amount, +1 raises it */
    int choices[6];
} PercentKind;

static const PercentKind store_kinds[] = {
    {"discount", -1, {10, 20, 25, 30, 40, 50}},
    {"tax", +1, {5, 8, 10, 15, 20, 25}},
    {"increase", +1, {10, 20, 25, 40, 50, 60}},
};
static const PercentKind meal_kinds[] = {
    {"coupon", -1, {10, 15, 20, 25, 30, 50}},
    {"tip", +1, {10, 15, 18, 20, 25, 30}},
    {"service", +1, {5, 10, 12, 15, 20, 25}},
};

/* "an 8%", "an 18%", "an 80%", else "a" */
static const char *article(int percent) {
    return percent == 8 || percent == 11 || percent == 18 || (percent >= 80 && percent < 90) ? "an"
                                                                                             : "a";
}

/* subject: what the first discount applies to ("It is", "The total is") */
static void percent_sentence(Gen *g, const PercentKind *k, int first, int p, const char *subject) {
    const Person *w = g->who;
    if (strcmp(k->name, "discount") == 0 && first)
        say(g, "%s on sale for %d%% off.", subject, p);
    else if (strcmp(k->name, "discount") == 0)
        say(g, "Then the price drops by another %d%%.", p);
    else if (strcmp(k->name, "tax") == 0)
        say(g, "Then %s %d%% sales tax is added to that price.", article(p), p);
    else if (strcmp(k->name, "increase") == 0)
        say(g, "Then the price goes up by %d%%.", p);
    else if (strcmp(k->name, "coupon") == 0)
        say(g, "%s uses a coupon for %d%% off%s.", w->She, p, first ? "" : " that amount");
    else if (strcmp(k->name, "tip") == 0)
        say(g, "%s adds %s %d%% tip on that amount.", w->She, article(p), p);
    else
        say(g, "%s %d%% service charge is added to that amount.", article(p)[1] ? "An" : "A", p);
}

static long long tpl_percent(Gen *g, int n) {
    /* n = 3c - last_amount + quantity + split: pick one decomposition uniformly */
    int options[64][4], n_opt = 0;
    for (int c = 1; c <= 4; c++)
        for (int a = 0; a <= 1; a++)
            for (int q = 0; q <= 1; q++)
                for (int s = 0; s <= 1; s++)
                    if (3 * c - a + q + s == n) {
                        options[n_opt][0] = c;
                        options[n_opt][1] = a;
                        options[n_opt][2] = q;
                        options[n_opt++][3] = s;
                    }
    const int *o = options[rng_below(g->rng, (uint64_t)n_opt)];
    int c = o[0], last_amount = o[1], quantity = o[2], split = o[3];
    int meal = !quantity && rng_below(g->rng, 2);
    const PercentKind *kinds = meal ? meal_kinds : store_kinds;
    /* draw base, kinds and percentages until every step is a whole number of dollars */
    int kind[4], pct[4];
    long long base = 0, unit = 0, qty = 0, people_n = 0;
    int found = 0;
    for (int attempt = 0; attempt < PERCENT_ATTEMPTS && !found; attempt++) {
        qty = quantity ? draw(g, 2, cap(g, 6)) : 1;
        long long step = g->max_number >= 100 ? 20 : 2;
        unit = step * draw(g, 1, g->max_number / step);
        base = qty * unit;
        long long cur = base, amount = 0;
        found = 1;
        for (int i = 0; i < c && found; i++) {
            kind[i] = i == 0 ? 0 : (int)rng_below(g->rng, 3); /* the first change: a discount */
            int ok[6], n_ok = 0;
            for (int j = 0; j < 6; j++)
                if (cur * kinds[kind[i]].choices[j] % 100 == 0) ok[n_ok++] = j;
            if (!n_ok) {
                found = 0;
                break;
            }
            pct[i] = kinds[kind[i]].choices[ok[rng_below(g->rng, (uint64_t)n_ok)]];
            amount = cur * pct[i] / 100;
            cur += kinds[kind[i]].sign * amount;
        }
        long long final = last_amount ? amount : cur;
        if (found && split) {
            int ok[8], n_ok = 0;
            for (int m = 2; m <= 6; m++)
                if (final % m == 0) ok[n_ok++] = m;
            if (!n_ok || final == 0)
                found = 0;
            else
                people_n = ok[rng_below(g->rng, (uint64_t)n_ok)];
        }
    }
    if (!found) { /* rare: halve a price divisible by 2^(c+1) c times, then split in two */
        qty = quantity ? 2 : 1;
        unit = (long long)1 << (c + 1);
        base = qty * unit;
        for (int i = 0; i < c; i++) {
            kind[i] = 0;
            pct[i] = 50;
        }
        people_n = 2;
    }
    const Person *w = g->who;
    const char *cur_var = "price";
    if (quantity) {
        say(g, "%s buys %lld shirts that cost $%lld each.", w->name, qty, unit);
        line(g, 0, "shirts = %lld", qty);
        line(g, 0, "shirt_price = %lld", unit);
        line(g, 1, "price = shirts * shirt_price");
    } else if (meal) {
        say(g, "%s's dinner bill is $%lld.", w->name, base);
        line(g, 0, "bill = %lld", base);
        cur_var = "bill";
    } else {
        say(g, "%s picks a jacket that costs $%lld.", w->name, base);
        line(g, 0, "price = %lld", base);
    }
    long long cur = base, amount = 0;
    char prev[48], amount_var[48];
    snprintf(prev, sizeof prev, "%s", cur_var);
    for (int i = 0; i < c; i++) {
        const PercentKind *k = &kinds[kind[i]];
        percent_sentence(g, k, i == 0, pct[i], quantity ? "The total is" : "It is");
        char pv[48], next[48];
        snprintf(pv, sizeof pv, "%s_percent_%d", k->name, i + 1);
        snprintf(amount_var, sizeof amount_var, "%s_%d", k->name, i + 1);
        snprintf(next, sizeof next, "amount_after_%s_%d", k->name, i + 1);
        line(g, 0, "%s = %d", pv, pct[i]);
        line(g, 2, "%s = %s * %s / 100", amount_var, prev, pv);
        amount = cur * pct[i] / 100;
        if (i == c - 1 && last_amount) break;
        line(g, 1, "%s = %s %c %s", next, prev, k->sign < 0 ? '-' : '+', amount_var);
        cur += k->sign * amount;
        snprintf(prev, sizeof prev, "%s", next);
    }
    long long answer = last_amount ? amount : cur;
    const char *answer_var = last_amount ? amount_var : prev;
    const char *what = last_amount ? (strcmp(kinds[kind[c - 1]].name, "tax") == 0   ? "the tax"
                                      : strcmp(kinds[kind[c - 1]].name, "tip") == 0 ? "the tip"
                                      : kinds[kind[c - 1]].sign < 0 ? "the amount taken off"
                                                                    : "the amount added")
                                   : NULL;
    if (split) {
        say(g, "%s splits %s equally among %lld people.", w->She,
            last_amount ? what : "the final cost", people_n);
        say(g, "How many dollars does each person pay?");
        line(g, 0, "people = %lld", people_n);
        line(g, 1, "per_person = %s / people", answer_var);
        answer_var = "per_person";
        answer /= people_n;
    } else if (last_amount) {
        say(g, c == 1 ? "How many dollars is %s?" : "How many dollars is %s in the last step?",
            what);
    } else {
        say(g, "How much does %s pay in the end?", w->she);
    }
    line(g, 0, "result = %s", answer_var);
    return answer;
}

/* ---- sharing: a count changed by a few events, shared equally (quotient or remainder) --- */
static long long tpl_sharing(Gen *g, int n) {
    const Person *w = g->who;
    const char *item = share_items[rng_below(g->rng, N_SHARE_ITEMS)];
    const Person *friend_ = &people[rng_below(g->rng, N_PEOPLE)];
    if (friend_ == w) friend_ = &people[(friend_ - people + 1) % N_PEOPLE];
    int remainder = (int)rng_below(g->rng, 2);
    int post = !remainder && n >= 2 && rng_below(g->rng, 2);
    int pre_ops = n - 1 - post;
    /* events: 0 = buys more, 1 = gets from a friend, 2 = gives away, 3 = buys packs (2 ops) */
    int events[16], n_events = 0, left = pre_ops;
    long long amount[16], packs[16];
    while (left > 0) {
        int e = (int)rng_below(g->rng, left >= 2 ? 4 : 3);
        events[n_events++] = e;
        left -= e == 3 ? 2 : 1;
    }
    long long start = draw(g, 10, g->max_number), total = start;
    for (int i = 0; i < n_events; i++) {
        if (events[i] == 2) {
            if (total < 4) events[i] = 0; /* too few left to give any away */
            amount[i] = events[i] == 2 ? draw(g, 1, min_ll(total / 2, g->max_number))
                                       : draw(g, 1, g->max_number);
        } else if (events[i] == 3) {
            packs[i] = draw(g, 2, cap(g, 6));
            amount[i] = draw(g, 2, cap(g, 12));
        } else {
            amount[i] = draw(g, 1, g->max_number);
        }
        total += events[i] == 2 ? -amount[i] : events[i] == 3 ? packs[i] * amount[i] : amount[i];
    }
    long long k = draw(g, 2, cap(g, 9));
    /* adjust the starting count (adding only, so no step goes negative) for the division */
    long long fix = remainder ? (total % k == 0 ? draw(g, 1, k - 1) : 0) : (k - total % k) % k;
    start += fix;
    total += fix;
    say(g, "%s has %lld %s.", w->name, start, item);
    line(g, 0, "%s = %lld", item, start);
    for (int i = 0; i < n_events; i++) {
        switch (events[i]) {
        case 0:
            say(g, "%s buys %lld more.", w->She, amount[i]);
            line(g, 0, "bought_%d = %lld", i + 1, amount[i]);
            line(g, 1, "%s = %s + bought_%d", item, item, i + 1);
            break;
        case 1:
            say(g, "%s gives %s %lld more.", friend_->name, w->him, amount[i]);
            line(g, 0, "received_%d = %lld", i + 1, amount[i]);
            line(g, 1, "%s = %s + received_%d", item, item, i + 1);
            break;
        case 2:
            say(g, "%s gives %lld to %s.", w->She, amount[i], friend_->name);
            line(g, 0, "given_%d = %lld", i + 1, amount[i]);
            line(g, 1, "%s = %s - given_%d", item, item, i + 1);
            break;
        default:
            say(g, "%s buys %lld packs with %lld %s in each.", w->She, packs[i], amount[i], item);
            line(g, 0, "packs_%d = %lld", i + 1, packs[i]);
            line(g, 0, "per_pack_%d = %lld", i + 1, amount[i]);
            line(g, 2, "%s = %s + packs_%d * per_pack_%d", item, item, i + 1, i + 1);
        }
    }
    long long answer;
    if (remainder) {
        say(g, "%s puts as many as possible into bags of %lld. How many %s are left over?", w->She,
            k, item);
        line(g, 0, "bag_size = %lld", k);
        line(g, 1, "left_over = %s %% bag_size", item);
        line(g, 0, "result = left_over");
        answer = total % k;
    } else {
        say(g, "%s shares them equally among %lld friends.", w->She, k);
        line(g, 0, "friends = %lld", k);
        line(g, 1, "each_friend = %s %s friends", item, rng_below(g->rng, 2) ? "//" : "/");
        answer = total / k;
        if (post) {
            long long eaten = answer > 1 ? draw(g, 1, answer - 1) : 0;
            say(g, "Each friend then uses %lld of them. How many %s does each friend have left?",
                eaten, item);
            line(g, 0, "used = %lld", eaten);
            line(g, 1, "each_left = each_friend - used");
            line(g, 0, "result = each_left");
            answer -= eaten;
        } else {
            say(g, "How many %s does each friend get?", item);
            line(g, 0, "result = each_friend");
        }
    }
    return answer;
}

/* ---- relations: a chain "more / fewer / times / a fraction as many", then a question ---- */
static long long tpl_relations(Gen *g, int n) {
    /* forms: 0 = the last one (r = n), 1 = last minus first (r = n - 1), 2 = total (r = n / 2),
     * 3 = total minus some sold (r = (n - 1) / 2); r relations need r + 1 <= 10 members */
    int forms[4], n_forms = 0;
    if (n <= 9) forms[n_forms++] = 0;
    if (n >= 2 && n - 1 <= 9) forms[n_forms++] = 1;
    if (n % 2 == 0) forms[n_forms++] = 2;
    if (n % 2 == 1 && n >= 3) forms[n_forms++] = 3;
    int form = forms[rng_below(g->rng, (uint64_t)n_forms)];
    int r = form == 0 ? n : form == 1 ? n - 1 : form == 2 ? n / 2 : (n - 1) / 2;
    const Category *cat = &categories[rng_below(g->rng, N_CATEGORIES)];
    int idx[10];
    pick_distinct(g, idx, r + 1, 10);
    long long value[11];
    value[0] = draw(g, 2, g->max_number);
    char a[32], b[32];
    say(g, "%s has %lld %s.", cat->place, value[0], cat->members[idx[0]]);
    line(g, 0, "%s = %lld", ident(cat->members[idx[0]], a, sizeof a), value[0]);
    for (int i = 1; i <= r; i++) {
        long long cur = value[i - 1];
        const char *from = cat->members[idx[i - 1]], *to = cat->members[idx[i]];
        ident(from, a, sizeof a);
        ident(to, b, sizeof b);
        int kinds[4], n_kinds = 0;
        kinds[n_kinds++] = 0; /* more */
        if (cur > 2) kinds[n_kinds++] = 1;
        if (cur * 5 <= VALUE_CAP / 1000) kinds[n_kinds++] = 2;
        if (cur % 2 == 0 || cur % 3 == 0 || cur % 4 == 0) kinds[n_kinds++] = 3;
        int kind = kinds[rng_below(g->rng, (uint64_t)n_kinds)];
        if (kind == 0) {
            long long y = draw(g, 1, g->max_number);
            say(g, "It has %lld more %s than %s.", y, to, from);
            line(g, 1, "%s = %s + %lld", b, a, y);
            value[i] = cur + y;
        } else if (kind == 1) {
            long long y = draw(g, 1, cur - 1);
            say(g, "It has %lld fewer %s than %s.", y, to, from);
            line(g, 1, "%s = %s - %lld", b, a, y);
            value[i] = cur - y;
        } else if (kind == 2) {
            long long t = draw(g, 2, 5);
            if (t == 2)
                say(g, "It has twice as many %s as %s.", to, from);
            else
                say(g, "It has %lld times as many %s as %s.", t, to, from);
            line(g, 1, "%s = %s * %lld", b, a, t);
            value[i] = cur * t;
        } else {
            static const char *const frac[] = {"", "", "half", "a third", "a quarter"};
            int divs[3], n_divs = 0;
            for (int d = 2; d <= 4; d++)
                if (cur % d == 0) divs[n_divs++] = d;
            int d = divs[rng_below(g->rng, (uint64_t)n_divs)];
            say(g, "It has %s as many %s as %s.", frac[d], to, from);
            line(g, 1, "%s = %s %s %d", b, a, rng_below(g->rng, 2) ? "//" : "/", d);
            value[i] = cur / d;
        }
    }
    ident(cat->members[idx[r]], b, sizeof b);
    long long answer;
    if (form == 0) {
        say(g, "How many %s does it have?", cat->members[idx[r]]);
        line(g, 0, "result = %s", b);
        return value[r];
    }
    if (form == 1) {
        ident(cat->members[idx[0]], a, sizeof a);
        int more = value[r] >= value[0];
        say(g, "How many %s %s than %s does it have?", more ? "more" : "fewer",
            cat->members[idx[r]], cat->members[idx[0]]);
        line(g, 1, "difference = %s - %s", more ? b : a, more ? a : b);
        line(g, 0, "result = difference");
        return more ? value[r] - value[0] : value[0] - value[r];
    }
    StrBuf sum = {0};
    answer = 0;
    for (int i = 0; i <= r; i++) {
        sb_printf(&sum, "%s%s", i ? " + " : "", ident(cat->members[idx[i]], a, sizeof a));
        answer += value[i];
    }
    line(g, r, "total = %s", sum.data);
    sb_free(&sum);
    if (form == 2) {
        say(g, "How many %s does it have in total?", cat->noun);
        line(g, 0, "result = total");
        return answer;
    }
    long long gone = draw(g, 1, answer - 1);
    say(g, "It %s %lld of them. How many %s are left?", cat->sells, gone, cat->noun);
    line(g, 0, "gone = %lld", gone);
    line(g, 1, "left = total - gone");
    line(g, 0, "result = left");
    return answer - gone;
}

/* ---- savings: weeks to reach a goal; weekly income from up to four parts ---------------- */
static long long tpl_savings(Gen *g, int n) {
    static const char *const goals[] = {"bike",      "video game", "skateboard",
                                        "telescope", "guitar",     "tablet"};
    const Person *w = g->who;
    /* parts: 0 = paid hourly (h * H), 1 = allowance, 2 = weekly spending, 3 = spent savings */
    int parts[4] = {0, 0, 0, 0}, order[4];
    pick_distinct(g, order, n - 2, 4);
    for (int i = 0; i < n - 2; i++) parts[order[i]] = 1;
    long long earn = 0, hours = 0, allowance = 0, spend = 0, spent = 0;
    if (parts[0]) {
        earn = draw(g, 2, cap(g, 20));
        hours = draw(g, 2, cap(g, 10));
    } else {
        earn = draw(g, 5, g->max_number);
    }
    long long weekly = parts[0] ? earn * hours : earn;
    if (parts[1]) allowance = draw(g, 1, cap(g, 20));
    weekly += allowance;
    if (parts[2]) spend = draw(g, 1, weekly > 1 ? weekly - 1 : 1);
    weekly -= spend;
    long long saved = draw(g, 10, g->max_number);
    if (parts[3]) spent = draw(g, 1, saved - 1);
    long long weeks = draw(g, 2, cap(g, 20));
    long long cost = saved - spent + weeks * weekly;
    const char *goal = goals[rng_below(g->rng, 6)];
    say(g, "%s is saving for a %s that costs $%lld.", w->name, goal, cost);
    say(g, "%s has $%lld saved.", w->She, saved);
    line(g, 0, "goal_cost = %lld", cost);
    line(g, 0, "savings = %lld", saved);
    if (parts[3]) {
        say(g, "%s spends $%lld of it on a gift for %s mother.", w->She, spent, w->her);
        line(g, 0, "gift = %lld", spent);
        line(g, 1, "savings = savings - gift");
    }
    if (parts[0]) {
        say(g, "%s earns $%lld per hour and works %lld hours each week.", w->She, earn, hours);
        line(g, 0, "hourly_pay = %lld", earn);
        line(g, 0, "hours_per_week = %lld", hours);
        line(g, 1, "weekly_income = hourly_pay * hours_per_week");
    } else {
        say(g, "%s earns $%lld each week walking dogs.", w->She, earn);
        line(g, 0, "weekly_income = %lld", earn);
    }
    if (parts[1]) {
        say(g, "%s also gets $%lld allowance every week.", w->She, allowance);
        line(g, 0, "allowance = %lld", allowance);
        line(g, 1, "weekly_income = weekly_income + allowance");
    }
    if (parts[2]) {
        say(g, "Every week %s spends $%lld on snacks.", w->she, spend);
        line(g, 0, "snacks = %lld", spend);
        line(g, 1, "weekly_income = weekly_income - snacks");
    }
    say(g, "How many weeks will it take %s to have enough money?", w->him);
    line(g, 1, "money_needed = goal_cost - savings");
    line(g, 1, "weeks = money_needed %s weekly_income", rng_below(g->rng, 2) ? "//" : "/");
    line(g, 0, "result = weeks");
    return weeks;
}

typedef long long (*TemplateFn)(Gen *, int);
static const TemplateFn templates[TINYGSM_TEMPLATES] = {tpl_shopping, tpl_travel,    tpl_percent,
                                                        tpl_sharing,  tpl_relations, tpl_savings};

void tinygsm_gen_defaults(TinyGsmGenOptions *o) {
    o->min_steps = 2;
    o->max_steps = 6;
    o->max_number = 100;
}

int tinygsm_gen_validate(const TinyGsmGenOptions *o, Err *err) {
    if (o->min_steps < 1 || o->max_steps > TINYGSM_MAX_STEPS || o->min_steps > o->max_steps)
        return err_set(err, "steps %d-%d: expected MIN-MAX with 1 <= MIN <= MAX <= %d",
                       o->min_steps, o->max_steps, TINYGSM_MAX_STEPS);
    if (o->max_number < TINYGSM_MIN_MAX_NUMBER || o->max_number > TINYGSM_MAX_MAX_NUMBER)
        return err_set(err, "max number %ld: expected %d..%d", o->max_number,
                       TINYGSM_MIN_MAX_NUMBER, TINYGSM_MAX_MAX_NUMBER);
    return 0;
}

const char *tinygsm_template_name(int template_id) {
    return template_id >= 0 && template_id < TINYGSM_TEMPLATES ? template_names[template_id] : "?";
}

void tinygsm_generate(Rng *rng, const TinyGsmGenOptions *o, TinyGsmProblem *out) {
    int steps = o->min_steps + (int)rng_below(rng, (uint64_t)(o->max_steps - o->min_steps + 1));
    int eligible[TINYGSM_TEMPLATES], n = 0;
    for (int t = 0; t < TINYGSM_TEMPLATES; t++)
        if (steps >= template_min_steps[t] && steps <= template_max_steps[t]) eligible[n++] = t;
    int t = eligible[rng_below(rng, (uint64_t)n)]; /* shopping covers 1..12 */
    Gen g = {.rng = rng, .max_number = o->max_number, .p = out};
    g.who = &people[rng_below(rng, N_PEOPLE)];
    out->question.len = 0;
    out->code.len = 0;
    sb_append(&out->question, "", 0);
    out->answer = templates[t](&g, steps);
    out->template_id = t;
    out->steps = g.ops;
    sb_printf(&out->code,
              "def simple_math_problem() -> int:\n    \"\"\"\n    %s\n    \"\"\"\n%s    return "
              "result\n",
              out->question.data, g.body.data);
    sb_free(&g.body);
}

void tinygsm_problem_free(TinyGsmProblem *p) {
    sb_free(&p->question);
    sb_free(&p->code);
}

void tinygsm_gen_jsonl(const TinyGsmGenOptions *o, uint64_t seed, long first, long count,
                       StrBuf *out) {
    TinyGsmProblem p = {0};
    for (long i = first; i < first + count; i++) {
        Rng rng;
        rng_seed(&rng, seed, (uint64_t)i);
        tinygsm_generate(&rng, o, &p);
        sb_append(out, "{\"question\": ", 13);
        sb_json_string_n(out, p.question.data, p.question.len);
        sb_append(out, ", \"code\": ", 10);
        sb_json_string_n(out, p.code.data, p.code.len);
        /* the value the code evaluates to: a generated set is its own answer key */
        sb_printf(out, ", \"answer\": %lld}\n", p.answer);
    }
    tinygsm_problem_free(&p);
}
