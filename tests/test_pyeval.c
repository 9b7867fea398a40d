/* pyeval: the restricted Python evaluator against CPython, its 64-bit and budget limits, and
 * malformed or out-of-subset code (always a clean error, never a crash or a hang).
 *
 * The vector tables below hold expected values produced by CPython 3.11 (/usr/bin/python3,
 * 3.11.2) on this machine while developing: each program was run with exec() and its function
 * called; each expression was eval()'d. 'e' marks programs CPython rejects too (SyntaxError,
 * ZeroDivisionError, a None or complex result, ...). Floats are exact (hex literals). */
#include "tasks/lib/pyeval.h"
#include "check.h"

#include <string.h>

typedef struct Vector {
    const char *name; /* NULL: source is an expression, run as `return EXPR` */
    const char *source;
    char kind; /* 'i' int, 'f' float, 'e' error */
    long long i;
    double f;
} Vector;

/* Programs (CPython 3.11 results). */
static const Vector program_vectors[] = {
    {"tinygsm_typical",
     "def simple_math_problem() -> int:\n"
     "    \"\"\"\n"
     "    Olivia has $23. She bought five bagels for $3 each. How much money does she have left?\n"
     "    \"\"\"\n"
     "    money_initial = 23\n"
     "    bagels = 5\n"
     "    bagel_cost = 3\n"
     "    money_spent = bagels * bagel_cost\n"
     "    money_left = money_initial - money_spent\n"
     "    result = money_left\n"
     "    return result\n",
     'i', 8LL, 0.0},
    {"single_quote_docstring",
     "def f():\n"
     "    '''It's a\n"
     "    multi-line docstring with \"quotes\".'''\n"
     "    return 7\n",
     'i', 7LL, 0.0},
    {"no_annotation",
     "def f():\n"
     "    return 1 + 2\n",
     'i', 3LL, 0.0},
    {"float_annotation",
     "def f() -> float:\n"
     "    return 1 / 4\n",
     'f', 0, 0x1.0000000000000p-2},
    {"comments_blank_lines",
     "def simple_math_problem() -> int:\n"
     "\n"
     "    # a comment\n"
     "    a = 5  # trailing\n"
     "\n"
     "        # indented comment\n"
     "    return a\n"
     "# after\n",
     'i', 5LL, 0.0},
    {"crlf",
     "def f():\r\n"
     "    a = 2\r\n"
     "    return a * 21\r\n",
     'i', 42LL, 0.0},
    {"no_final_newline",
     "def f():\n"
     "    return 9",
     'i', 9LL, 0.0},
    {"tabs",
     "def f():\n"
     "\ta = 3\n"
     "\treturn a\n",
     'i', 3LL, 0.0},
    {"leading_comment_and_blank",
     "# solution\n"
     "\n"
     "def simple_math_problem() -> int:\n"
     "    return 5\n",
     'i', 5LL, 0.0},
    {"one_line_def", "def f(): return 3 * 4\n", 'i', 12LL, 0.0},
    {"semicolons",
     "def simple_math_problem() -> int:\n"
     "    a = 1; b = 2;\n"
     "    return a + b\n",
     'i', 3LL, 0.0},
    {"chained_assign",
     "def simple_math_problem() -> int:\n"
     "    a = b = 6\n"
     "    return a * b\n",
     'i', 36LL, 0.0},
    {"aug_assign",
     "def simple_math_problem() -> int:\n"
     "    a = 10\n"
     "    a += 5\n"
     "    a -= 3\n"
     "    a *= 2\n"
     "    a /= 8\n"
     "    return a\n",
     'f', 0, 0x1.8000000000000p+1},
    {"aug_assign_floor_mod_pow",
     "def simple_math_problem() -> int:\n"
     "    a = 17\n"
     "    a //= 3\n"
     "    a **= 3\n"
     "    a %= 7\n"
     "    return a\n",
     'i', 6LL, 0.0},
    {"paren_continuation",
     "def simple_math_problem() -> int:\n"
     "    a = (1 +\n"
     "         2 +\n"
     "    3)\n"
     "    return a\n",
     'i', 6LL, 0.0},
    {"backslash_continuation",
     "def simple_math_problem() -> int:\n"
     "    a = 1 + \\\n"
     "        2\n"
     "    return a\n",
     'i', 3LL, 0.0},
    {"list_arg_multiline",
     "def simple_math_problem() -> int:\n"
     "    return sum([1,\n"
     "      2,\n"
     "      3,])\n",
     'i', 6LL, 0.0},
    {"pass_stmt",
     "def simple_math_problem() -> int:\n"
     "    pass\n"
     "    return 1\n",
     'i', 1LL, 0.0},
    {"expr_stmt",
     "def simple_math_problem() -> int:\n"
     "    a = 2\n"
     "    a * 3\n"
     "    return a\n",
     'i', 2LL, 0.0},
    {"string_stmt_later",
     "def simple_math_problem() -> int:\n"
     "    a = 2\n"
     "    \"note\"\n"
     "    return a\n",
     'i', 2LL, 0.0},
    {"code_after_return",
     "def simple_math_problem() -> int:\n"
     "    return 1\n"
     "    x = 1 / 0\n",
     'i', 1LL, 0.0},
    {"underscore_literal",
     "def simple_math_problem() -> int:\n"
     "    return 1_000_000 + 2_5.0_1\n",
     'f', 0, 0x1.e84b2051eb852p+19},
    {"float_literals",
     "def simple_math_problem() -> int:\n"
     "    return 1e3 + .5 + 5. + 1E-2 + 00 + 0.0\n",
     'f', 0, 0x1.f6c147ae147aep+9},
    {"int_div_float",
     "def simple_math_problem() -> int:\n"
     "    return 7 / 2\n",
     'f', 0, 0x1.c000000000000p+1},
    {"int_div_exact",
     "def simple_math_problem() -> int:\n"
     "    return 6 / 3\n",
     'f', 0, 0x1.0000000000000p+1},
    {"floor_div_neg",
     "def simple_math_problem() -> int:\n"
     "    return -7 // 2\n",
     'i', -4LL, 0.0},
    {"mod_neg",
     "def simple_math_problem() -> int:\n"
     "    return -7 % 3\n",
     'i', 2LL, 0.0},
    {"mod_neg_divisor",
     "def simple_math_problem() -> int:\n"
     "    return 7 % -3\n",
     'i', -2LL, 0.0},
    {"float_floor_div_neg",
     "def simple_math_problem() -> int:\n"
     "    return -7.5 // 2\n",
     'f', 0, -0x1.0000000000000p+2},
    {"float_mod_neg",
     "def simple_math_problem() -> int:\n"
     "    return -7.5 % 2\n",
     'f', 0, 0x1.0000000000000p-1},
    {"float_mod_neg_divisor",
     "def simple_math_problem() -> int:\n"
     "    return 7.5 % -2\n",
     'f', 0, -0x1.0000000000000p-1},
    {"float_mod_zero_result",
     "def simple_math_problem() -> int:\n"
     "    return -6.0 % 3\n",
     'f', 0, 0x0.0p+0},
    {"pow_right_assoc",
     "def simple_math_problem() -> int:\n"
     "    return 2 ** 3 ** 2\n",
     'i', 512LL, 0.0},
    {"neg_pow",
     "def simple_math_problem() -> int:\n"
     "    return -2 ** 2\n",
     'i', -4LL, 0.0},
    {"pow_neg_exp",
     "def simple_math_problem() -> int:\n"
     "    return 2 ** -1\n",
     'f', 0, 0x1.0000000000000p-1},
    {"pow_neg_exp_int_base",
     "def simple_math_problem() -> int:\n"
     "    return 10 ** -2\n",
     'f', 0, 0x1.47ae147ae147bp-7},
    {"pow_float",
     "def simple_math_problem() -> int:\n"
     "    return 2.5 ** 2\n",
     'f', 0, 0x1.9000000000000p+2},
    {"pow_zero_zero",
     "def simple_math_problem() -> int:\n"
     "    return 0 ** 0\n",
     'i', 1LL, 0.0},
    {"neg_base_int_exp",
     "def simple_math_problem() -> int:\n"
     "    return (-2.0) ** 3\n",
     'f', 0, -0x1.0000000000000p+3},
    {"unary_chain",
     "def simple_math_problem() -> int:\n"
     "    return - - + -5\n",
     'i', -5LL, 0.0},
    {"precedence",
     "def simple_math_problem() -> int:\n"
     "    return 2 + 3 * 4 - 10 / 4 // 1 % 3\n",
     'f', 0, 0x1.8000000000000p+3},
    {"round_half_even_2_5",
     "def simple_math_problem() -> int:\n"
     "    return round(2.5)\n",
     'i', 2LL, 0.0},
    {"round_half_even_3_5",
     "def simple_math_problem() -> int:\n"
     "    return round(3.5)\n",
     'i', 4LL, 0.0},
    {"round_neg_half",
     "def simple_math_problem() -> int:\n"
     "    return round(-0.5)\n",
     'i', 0LL, 0.0},
    {"round_neg_1_5",
     "def simple_math_problem() -> int:\n"
     "    return round(-1.5)\n",
     'i', -2LL, 0.0},
    {"round_ndigits",
     "def simple_math_problem() -> int:\n"
     "    return round(2.675, 2)\n",
     'f', 0, 0x1.55c28f5c28f5cp+1},
    {"round_ndigits_tie",
     "def simple_math_problem() -> int:\n"
     "    return round(0.125, 2)\n",
     'f', 0, 0x1.eb851eb851eb8p-4},
    {"round_ndigits_tie_up",
     "def simple_math_problem() -> int:\n"
     "    return round(0.375, 2)\n",
     'f', 0, 0x1.851eb851eb852p-2},
    {"round_ndigits_zero",
     "def simple_math_problem() -> int:\n"
     "    return round(5.5, 0)\n",
     'f', 0, 0x1.8000000000000p+2},
    {"round_ndigits_negative",
     "def simple_math_problem() -> int:\n"
     "    return round(1250.0, -2)\n",
     'f', 0, 0x1.2c00000000000p+10},
    {"round_int_ndigits",
     "def simple_math_problem() -> int:\n"
     "    return round(1250, -2)\n",
     'i', 1200LL, 0.0},
    {"round_int_ndigits_up",
     "def simple_math_problem() -> int:\n"
     "    return round(1350, -2)\n",
     'i', 1400LL, 0.0},
    {"round_int_positive_ndigits",
     "def simple_math_problem() -> int:\n"
     "    return round(7, 2)\n",
     'i', 7LL, 0.0},
    {"round_int",
     "def simple_math_problem() -> int:\n"
     "    return round(7)\n",
     'i', 7LL, 0.0},
    {"round_ndigits_large",
     "def simple_math_problem() -> int:\n"
     "    return round(1 / 3, 10)\n",
     'f', 0, 0x1.55555554c2bb5p-2},
    {"int_trunc_pos",
     "def simple_math_problem() -> int:\n"
     "    return int(7.9)\n",
     'i', 7LL, 0.0},
    {"int_trunc_neg",
     "def simple_math_problem() -> int:\n"
     "    return int(-7.9)\n",
     'i', -7LL, 0.0},
    {"int_of_int",
     "def simple_math_problem() -> int:\n"
     "    return int(5)\n",
     'i', 5LL, 0.0},
    {"float_of_int",
     "def simple_math_problem() -> int:\n"
     "    return float(5)\n",
     'f', 0, 0x1.4000000000000p+2},
    {"abs_int",
     "def simple_math_problem() -> int:\n"
     "    return abs(-5)\n",
     'i', 5LL, 0.0},
    {"abs_float",
     "def simple_math_problem() -> int:\n"
     "    return abs(-2.5)\n",
     'f', 0, 0x1.4000000000000p+1},
    {"min_args",
     "def simple_math_problem() -> int:\n"
     "    return min(3, 1.5, 2)\n",
     'f', 0, 0x1.8000000000000p+0},
    {"max_args",
     "def simple_math_problem() -> int:\n"
     "    return max(3, 7, 2)\n",
     'i', 7LL, 0.0},
    {"max_list",
     "def simple_math_problem() -> int:\n"
     "    return max([3, 7.5, 2])\n",
     'f', 0, 0x1.e000000000000p+2},
    {"min_list",
     "def simple_math_problem() -> int:\n"
     "    return min([4])\n",
     'i', 4LL, 0.0},
    {"max_tie_keeps_first",
     "def simple_math_problem() -> int:\n"
     "    return max(2, 2.0)\n",
     'i', 2LL, 0.0},
    {"max_tie_keeps_first_float",
     "def simple_math_problem() -> int:\n"
     "    return max(2.0, 2)\n",
     'f', 0, 0x1.0000000000000p+1},
    {"sum_list",
     "def simple_math_problem() -> int:\n"
     "    return sum([1, 2, 3])\n",
     'i', 6LL, 0.0},
    {"sum_mixed",
     "def simple_math_problem() -> int:\n"
     "    return sum([1, 2.5, 3])\n",
     'f', 0, 0x1.a000000000000p+2},
    {"sum_empty",
     "def simple_math_problem() -> int:\n"
     "    return sum([])\n",
     'i', 0LL, 0.0},
    {"sum_float_order",
     "def simple_math_problem() -> int:\n"
     "    return sum([0.1, 0.2, 0.3])\n",
     'f', 0, 0x1.3333333333334p-1},
    {"nested_calls",
     "def simple_math_problem() -> int:\n"
     "    a = 7\n"
     "    return round(max(a / 3, min(2, 3)) * 100) / 100\n",
     'f', 0, 0x1.2a3d70a3d70a4p+1},
    {"shadow_builtin_var",
     "def simple_math_problem() -> int:\n"
     "    sum = 5\n"
     "    return sum * 2\n",
     'i', 10LL, 0.0},
    {"trailing_comma_call",
     "def simple_math_problem() -> int:\n"
     "    return max(1, 2,)\n",
     'i', 2LL, 0.0},
    {"true_div_big_ints",
     "def simple_math_problem() -> int:\n"
     "    return 9007199254740993 / 1\n",
     'f', 0, 0x1.0000000000000p+53},
    {"true_div_big_ints2",
     "def simple_math_problem() -> int:\n"
     "    return (2 ** 62 + 1) / 3\n",
     'f', 0, 0x1.5555555555555p+60},
    /* zero over an int beyond 2^53 took the exact-rounding path with no quotient bits (found
     * by ci/fuzz.sh); CPython 3.11: 0 / -(2 ** 60) == -0.0 */
    {"true_div_zero_by_huge",
     "def simple_math_problem() -> int:\n"
     "    return 0 / -(2 ** 60)\n",
     'f', 0, -0x0.0p+0},
    {"true_div_neg_zero",
     "def simple_math_problem() -> int:\n"
     "    return 0 / -5\n",
     'f', 0, -0x0.0p+0},
    {"float_overflow_to_inf_mul",
     "def simple_math_problem() -> int:\n"
     "    return 1e308 * 10\n",
     'f', 0, INFINITY},
    {"int64_max",
     "def simple_math_problem() -> int:\n"
     "    return 9223372036854775807\n",
     'i', 9223372036854775807LL, 0.0},
    {"int64_min_expr",
     "def simple_math_problem() -> int:\n"
     "    return -9223372036854775807 - 1\n",
     'i', -9223372036854775807LL - 1, 0.0},
    {"err_div_zero",
     "def simple_math_problem() -> int:\n"
     "    return 1 / 0\n",
     'e', 0, 0.0},
    {"err_floordiv_zero",
     "def simple_math_problem() -> int:\n"
     "    return 1 // 0\n",
     'e', 0, 0.0},
    {"err_mod_zero_float",
     "def simple_math_problem() -> int:\n"
     "    return 1.5 % 0\n",
     'e', 0, 0.0},
    {"err_zero_neg_pow",
     "def simple_math_problem() -> int:\n"
     "    return 0 ** -1\n",
     'e', 0, 0.0},
    {"err_neg_frac_pow",
     "def simple_math_problem() -> int:\n"
     "    return (-8) ** 0.5\n",
     'e', 0, 0.0},
    {"err_float_pow_overflow",
     "def simple_math_problem() -> int:\n"
     "    return 10.0 ** 400\n",
     'e', 0, 0.0},
    {"err_int_of_inf",
     "def simple_math_problem() -> int:\n"
     "    return int(1e308 * 10)\n",
     'e', 0, 0.0},
    {"err_round_of_nan",
     "def simple_math_problem() -> int:\n"
     "    a = 1e308 * 10\n"
     "    return round(a - a)\n",
     'e', 0, 0.0},
    {"err_undefined",
     "def simple_math_problem() -> int:\n"
     "    return x\n",
     'e', 0, 0.0},
    {"err_use_before_assign",
     "def simple_math_problem() -> int:\n"
     "    a = b\n"
     "    b = 1\n"
     "    return a\n",
     'e', 0, 0.0},
    {"err_builtin_shadow_call",
     "def simple_math_problem() -> int:\n"
     "    x = round(2.5)\n"
     "    round = 1\n"
     "    return x\n",
     'e', 0, 0.0},
    {"err_returns_none",
     "def simple_math_problem() -> int:\n"
     "    a = 1\n",
     'e', 0, 0.0},
    {"err_bare_return",
     "def simple_math_problem() -> int:\n"
     "    return\n",
     'e', 0, 0.0},
    {"err_min_empty",
     "def simple_math_problem() -> int:\n"
     "    return min([])\n",
     'e', 0, 0.0},
    {"err_round_float_ndigits",
     "def simple_math_problem() -> int:\n"
     "    return round(2.5, 1.0)\n",
     'e', 0, 0.0},
    {"err_int_two_args",
     "def simple_math_problem() -> int:\n"
     "    return int(1, 2)\n",
     'e', 0, 0.0},
    {"err_unterminated_docstring",
     "def simple_math_problem() -> int:\n"
     "    \"\"\"never closed\n"
     "    a = 1\n"
     "    return a\n",
     'e', 0, 0.0},
    {"err_unterminated_string",
     "def simple_math_problem() -> int:\n"
     "    'abc\n"
     "    return 1\n",
     'e', 0, 0.0},
    {"err_bad_indent",
     "def simple_math_problem() -> int:\n"
     "    a = 1\n"
     "      b = 2\n"
     "    return a\n",
     'e', 0, 0.0},
    {"err_unexpected_indent",
     "def simple_math_problem() -> int:\n"
     "    a = 1\n"
     "        b = 2\n"
     "    return a\n",
     'e', 0, 0.0},
    {"err_dedent_mismatch",
     "def f():\n"
     "        a = 1\n"
     "    return a\n",
     'e', 0, 0.0},
    {"err_no_body", "def f():\n", 'e', 0, 0.0},
    {"err_no_body_dedent",
     "def f():\n"
     "return 1\n",
     'e', 0, 0.0},
    {"err_incomplete_expr",
     "def simple_math_problem() -> int:\n"
     "    return 1 +\n",
     'e', 0, 0.0},
    {"err_unbalanced_paren",
     "def simple_math_problem() -> int:\n"
     "    return (1 + 2\n",
     'e', 0, 0.0},
    {"err_extra_paren",
     "def simple_math_problem() -> int:\n"
     "    return 1 + 2)\n",
     'e', 0, 0.0},
    {"err_leading_zero",
     "def simple_math_problem() -> int:\n"
     "    return 012\n",
     'e', 0, 0.0},
    {"err_bad_literal",
     "def simple_math_problem() -> int:\n"
     "    return 1abc\n",
     'e', 0, 0.0},
    {"err_double_underscore",
     "def simple_math_problem() -> int:\n"
     "    return 1__0\n",
     'e', 0, 0.0},
    {"err_tab_space_mix",
     "def f():\n"
     "        a = 1\n"
     "\treturn a\n",
     'e', 0, 0.0},
    {"err_backslash_garbage",
     "def simple_math_problem() -> int:\n"
     "    a = 1 \\ 2\n"
     "    return a\n",
     'e', 0, 0.0},
    {"err_assign_to_literal",
     "def simple_math_problem() -> int:\n"
     "    1 = a\n"
     "    return 1\n",
     'e', 0, 0.0},
};
static const Vector expression_vectors[] = {
    {NULL, "7 / 2", 'f', 0, 0x1.c000000000000p+1},
    {NULL, "-7 // 2", 'i', -4LL, 0.0},
    {NULL, "7 // -2", 'i', -4LL, 0.0},
    {NULL, "-7 % 2", 'i', 1LL, 0.0},
    {NULL, "7 % -2", 'i', -1LL, 0.0},
    {NULL, "-7.5 // 2", 'f', 0, -0x1.0000000000000p+2},
    {NULL, "7.5 // -2", 'f', 0, -0x1.0000000000000p+2},
    {NULL, "-7.5 % 2", 'f', 0, 0x1.0000000000000p-1},
    {NULL, "7.5 % -2", 'f', 0, -0x1.0000000000000p-1},
    {NULL, "-0.0 % 5", 'f', 0, 0x0.0p+0},
    {NULL, "2 ** 62", 'i', 4611686018427387904LL, 0.0},
    {NULL, "(-2) ** 63", 'i', -9223372036854775807LL - 1, 0.0},
    {NULL, "2 ** -2", 'f', 0, 0x1.0000000000000p-2},
    {NULL, "(-2) ** -3", 'f', 0, -0x1.0000000000000p-3},
    {NULL, "0.5 ** -2", 'f', 0, 0x1.0000000000000p+2},
    {NULL, "4 ** 0.5", 'f', 0, 0x1.0000000000000p+1},
    {NULL, "(-8.0) ** 3", 'f', 0, -0x1.0000000000000p+9},
    {NULL, "10 ** 18", 'i', 1000000000000000000LL, 0.0},
    {NULL, "3 ** 39", 'i', 4052555153018976267LL, 0.0},
    {NULL, "-3 ** 2", 'i', -9LL, 0.0},
    {NULL, "(-3) ** 2", 'i', 9LL, 0.0},
    {NULL, "2 ** 3 ** 2", 'i', 512LL, 0.0},
    {NULL, "2 ** -1 ** 2", 'f', 0, 0x1.0000000000000p-1},
    {NULL, "9007199254740993 / 1", 'f', 0, 0x1.0000000000000p+53},
    {NULL, "9223372036854775807 / 3", 'f', 0, 0x1.5555555555555p+61},
    {NULL, "(-9223372036854775807 - 1) / 7", 'f', 0, -0x1.2492492492492p+60},
    {NULL, "9223372036854775807 / 9223372036854775806", 'f', 0, 0x1.0000000000000p+0},
    {NULL, "123456789012345678 / 1000", 'f', 0, 0x1.c12218377de6bp+46},
    {NULL, "1 / 3", 'f', 0, 0x1.5555555555555p-2},
    {NULL, "2 / 3", 'f', 0, 0x1.5555555555555p-1},
    {NULL, "-1 / 3", 'f', 0, -0x1.5555555555555p-2},
    {NULL, "10 / 4", 'f', 0, 0x1.4000000000000p+1},
    {NULL, "0 / 7", 'f', 0, 0x0.0p+0},
    {NULL, "0 / -7", 'f', 0, -0x0.0p+0},
    {NULL, "9007199254740993 / 9007199254740995", 'f', 0, 0x1.ffffffffffffep-1},
    {NULL, "6004799503160661 / 2", 'f', 0, 0x1.5555555555555p+51},
    {NULL, "(2 ** 53 + 3) / 2", 'f', 0, 0x1.0000000000002p+52},
    {NULL, "round(0.5)", 'i', 0LL, 0.0},
    {NULL, "round(1.5)", 'i', 2LL, 0.0},
    {NULL, "round(2.5)", 'i', 2LL, 0.0},
    {NULL, "round(-2.5)", 'i', -2LL, 0.0},
    {NULL, "round(-3.5)", 'i', -4LL, 0.0},
    {NULL, "round(2.4999999999999996)", 'i', 2LL, 0.0},
    {NULL, "round(4503599627370497.0)", 'i', 4503599627370497LL, 0.0},
    {NULL, "round(2.675, 2)", 'f', 0, 0x1.55c28f5c28f5cp+1},
    {NULL, "round(1.005, 2)", 'f', 0, 0x1.0000000000000p+0},
    {NULL, "round(0.125, 2)", 'f', 0, 0x1.eb851eb851eb8p-4},
    {NULL, "round(0.375, 2)", 'f', 0, 0x1.851eb851eb852p-2},
    {NULL, "round(-0.125, 2)", 'f', 0, -0x1.eb851eb851eb8p-4},
    {NULL, "round(1234.5678, -2)", 'f', 0, 0x1.2c00000000000p+10},
    {NULL, "round(1250.0, -2)", 'f', 0, 0x1.2c00000000000p+10},
    {NULL, "round(1350.0, -2)", 'f', 0, 0x1.5e00000000000p+10},
    {NULL, "round(5e-324, 323)", 'f', 0, 0x0.0p+0},
    {NULL, "round(1e300, -299)", 'f', 0, 0x1.7e43c8800759cp+996},
    {NULL, "round(1.7976931348623157e308, -307)", 'e', 0, 0.0},
    {NULL, "round(123.456, 1)", 'f', 0, 0x1.ee00000000000p+6},
    {NULL, "round(-123.456, 0)", 'f', 0, -0x1.ec00000000000p+6},
    {NULL, "round(0.45, 1)", 'f', 0, 0x1.0000000000000p-1},
    {NULL, "round(0.55, 1)", 'f', 0, 0x1.3333333333333p-1},
    {NULL, "round(2.5, 0)", 'f', 0, 0x1.0000000000000p+1},
    {NULL, "round(-0.4, 0)", 'f', 0, -0x0.0p+0},
    {NULL, "round(7.0, 400)", 'f', 0, 0x1.c000000000000p+2},
    {NULL, "round(7.0, -400)", 'f', 0, 0x0.0p+0},
    {NULL, "round(15, -1)", 'i', 20LL, 0.0},
    {NULL, "round(25, -1)", 'i', 20LL, 0.0},
    {NULL, "round(-25, -1)", 'i', -20LL, 0.0},
    {NULL, "round(-35, -1)", 'i', -40LL, 0.0},
    {NULL, "round(9223372036854775807, -18)", 'i', 9000000000000000000LL, 0.0},
    {NULL, "round(4999999999999999999 // 1, -19)", 'i', 0LL, 0.0},
    {NULL, "int(2.9)", 'i', 2LL, 0.0},
    {NULL, "int(-2.9)", 'i', -2LL, 0.0},
    {NULL, "int(1e18)", 'i', 1000000000000000000LL, 0.0},
    {NULL, "int(-0.5)", 'i', 0LL, 0.0},
    {NULL, "float(9007199254740993)", 'f', 0, 0x1.0000000000000p+53},
    {NULL, "abs(-9223372036854775807)", 'i', 9223372036854775807LL, 0.0},
    {NULL, "abs(-0.0)", 'f', 0, 0x0.0p+0},
    {NULL, "max(1, 2.0)", 'f', 0, 0x1.0000000000000p+1},
    {NULL, "max(2.0, 1)", 'f', 0, 0x1.0000000000000p+1},
    {NULL, "min(1, 1.0)", 'i', 1LL, 0.0},
    {NULL, "min(1.0, 1)", 'f', 0, 0x1.0000000000000p+0},
    {NULL, "max(9007199254740993, 9007199254740992.0)", 'i', 9007199254740993LL, 0.0},
    {NULL, "min(9007199254740993, 9007199254740992.0)", 'f', 0, 0x1.0000000000000p+53},
    {NULL, "max(-1, -1.5, -0.5)", 'f', 0, -0x1.0000000000000p-1},
    {NULL, "min([3, 1.5, 1.5, 2])", 'f', 0, 0x1.8000000000000p+0},
    {NULL, "max([5])", 'i', 5LL, 0.0},
    {NULL, "sum([0.1, 0.2, 0.3])", 'f', 0, 0x1.3333333333334p-1},
    {NULL, "sum([1, 2, 3.5])", 'f', 0, 0x1.a000000000000p+2},
    {NULL, "sum([2 ** 62, 2 ** 62 - 1, -(2 ** 62)])", 'i', 4611686018427387903LL, 0.0},
    {NULL, "sum([1e308, 1e308, -1e308])", 'f', 0, INFINITY},
    {NULL, "1e308 * 10 - 1e308 * 10", 'f', 0, NAN},
    {NULL, "1_000 + 1e3 + .5 + 5.", 'f', 0, 0x1.f560000000000p+10},
    {NULL, "0.1 + 0.2", 'f', 0, 0x1.3333333333334p-2},
    {NULL, "1e16 + 1", 'f', 0, 0x1.1c37937e08000p+53},
    {NULL, "1e22", 'f', 0, 0x1.0f0cf064dd592p+73},
    {NULL, "1e-5", 'f', 0, 0x1.4f8b588e368f1p-17},
    {NULL, "0.0001", 'f', 0, 0x1.a36e2eb1c432dp-14},
    {NULL, "123456789.0 * 10 ** 8", 'f', 0, 0x1.5ee2a2eac3a80p+53},
    {NULL, "-2 ** 2", 'i', -4LL, 0.0},
    {NULL, "+-+3", 'i', -3LL, 0.0},
    {NULL, "- - 4", 'i', 4LL, 0.0},
    {NULL, "2 * 3 + 4 * 5 - 6 / 3", 'f', 0, 0x1.8000000000000p+4},
    {NULL, "(1 + 2) * (3 + 4) // 5 % 4", 'i', 0LL, 0.0},
    {NULL, "17 % 5 * 3 // 2", 'i', 3LL, 0.0},
    {NULL, "100 * 15 / 100", 'f', 0, 0x1.e000000000000p+3},
    {NULL, "80 - 80 * 25 / 100", 'f', 0, 0x1.e000000000000p+5},
};

static int run(const char *code, PyValue *v, Err *err) {
    err->msg[0] = '\0';
    return pyeval_run(code, strlen(code), v, err);
}

static void check_vector(const Vector *t, const char *code) {
    PyValue v = {0, 0, 0.0};
    Err err;
    int rc = run(code, &v, &err);
    const char *name = t->name ? t->name : t->source;
    if (t->kind == 'e') {
        CHECK_MSG(rc == -1 && err.msg[0], "%s: expected an error, got %s", name,
                  rc == 0 ? "a value" : "no message");
    } else if (t->kind == 'i') {
        CHECK_MSG(rc == 0 && !v.is_float && v.i == t->i,
                  "%s: expected int %lld, got rc %d %s %lld %.17g", name, t->i, rc,
                  rc ? err.msg : "", v.i, v.f);
    } else {
        /* the sign of zero matters; a NaN's sign is whatever the hardware made */
        int same = rc == 0 && v.is_float &&
                   ((v.f == t->f && signbit(v.f) == signbit(t->f)) || (isnan(v.f) && isnan(t->f)));
        CHECK_MSG(same, "%s: expected float %a, got rc %d %s is_float %d %a", name, t->f, rc,
                  rc ? err.msg : "", v.is_float, v.f);
    }
}

static void test_cpython_programs(void) {
    for (size_t k = 0; k < sizeof program_vectors / sizeof program_vectors[0]; k++)
        check_vector(&program_vectors[k], program_vectors[k].source);
}

static void test_cpython_expressions(void) {
    for (size_t k = 0; k < sizeof expression_vectors / sizeof expression_vectors[0]; k++) {
        char code[512];
        snprintf(code, sizeof code, "def simple_math_problem() -> int:\n    return %s\n",
                 expression_vectors[k].source);
        check_vector(&expression_vectors[k], code);
    }
}

/* The error must contain `want` (errors read "line N: what"). */
static void check_error(const char *code, const char *want) {
    PyValue v;
    Err err;
    int rc = run(code, &v, &err);
    CHECK_MSG(rc == -1 && strstr(err.msg, want), "code <<%s>>: expected error '%s', got rc %d '%s'",
              code, want, rc, rc ? err.msg : "");
}

#define DEF "def simple_math_problem() -> int:\n"

static void test_error_messages(void) {
    check_error(DEF "    a = 1\n    b = 0\n    return a / b\n", "line 4: division by zero");
    check_error(DEF "    return 7 // 0\n", "line 2: integer division or modulo by zero");
    check_error(DEF "    return x + 1\n", "line 2: name 'x' is not defined");
    check_error(DEF "    a = b\n    b = 2\n    return a\n",
                "line 2: local variable 'b' referenced before assignment");
    check_error(DEF "    a = 1\n", "the function returns None");
    check_error(DEF "    \"\"\"never closed\n    return 1\n",
                "line 2: unterminated triple-quoted string literal");
    check_error(DEF "    return 1 +\n", "line 2: expected an expression, got end of line");
    check_error(DEF "    a = 1\n      b = 2\n    return a\n", "line 3: unexpected indent");
    check_error("def f():\n        a = 1\n    return a\n",
                "line 3: unindent does not match any outer indentation level");
    check_error("def f():\nreturn 1\n", "line 2: expected an indented block");
    check_error(DEF "    return 012\n", "leading zeros");
    check_error(DEF "    return round(1e308 * 10)\n", "cannot convert float infinity to integer");
    check_error(DEF "    return (-8) ** (1 / 3)\n", "fractional power");
}

static void test_outside_subset(void) {
    check_error("import math\n" DEF "    return 1\n",
                "line 1: 'import' is outside the supported subset");
    check_error(DEF "    return math.floor(2.5)\n", "attribute access");
    check_error(DEF "    a = 1\n    if a:\n        a = 2\n    return a\n", "'if' is outside");
    check_error(DEF "    t = 0\n    for i in range(3):\n        t += i\n    return t\n",
                "'for' is outside");
    check_error(DEF "    while True:\n        pass\n    return 1\n", "'while' is outside");
    check_error(DEF "    f = lambda: 1\n    return 1\n", "'lambda' is outside");
    check_error(DEF "    a = \"5\"\n    return 1\n", "strings are outside the subset");
    check_error(DEF "    return f\"{1}\"\n", "f-strings");
    check_error(DEF "    return 1 < 2\n", "'<' is outside");
    check_error(DEF "    return 1 == 2\n", "comparisons");
    check_error(DEF "    return True\n", "'True' is outside");
    check_error(DEF "    return 1, 2\n", "tuples");
    check_error(DEF "    a = [1, 2]\n    return 1\n", "lists are only supported");
    check_error(DEF "    return max([1, 2])[0]\n", "subscripts");
    check_error(DEF "    print(1)\n    return 1\n", "calling 'print' is outside");
    check_error(DEF "    return len([1])\n", "calling 'len'");
    check_error(DEF "    return round(2.5, ndigits=1)\n", "expected ',' or ')'");
    check_error("def f(x):\n    return x\n", "parameters");
    check_error(DEF "    return 1\n" DEF "    return 2\n", "only one function");
    check_error(DEF "    return 1\nprint(simple_math_problem())\n", "only one function");
    check_error("result = 5\n", "expected a function definition");
    check_error(DEF "    return 0x10\n", "hexadecimal");
    check_error(DEF "    return 2j\n", "complex");
    check_error(DEF "    return sum([1], 2)\n", "sum() needs exactly one list");
    check_error(DEF "    return min([1], 2)\n", "min() needs");
    check_error(DEF "    return max(3)\n", "max() needs");
    check_error(DEF "    return abs(1, 2)\n", "abs() takes exactly one argument");
    check_error(DEF "    sum = 1\n    return sum([1])\n", "'sum' is a local number");
    check_error(DEF "    x = round\n    return 1\n", "function 'round' used as a value");
    check_error(DEF "    return simple_math_problem()\n", "calling 'simple_math_problem'");
    check_error("@decorator\n" DEF "    return 1\n", "'@' is outside");
    check_error(DEF "    caf\xc3\xa9 = 1\n    return 1\n", "non-ASCII");
    check_error(DEF "    def g():\n        return 1\n    return 1\n", "nested functions");
}

static void test_int64_overflow(void) {
    static const char *const exprs[] = {
        "9223372036854775807 + 1",
        "-9223372036854775807 - 2",
        "3037000500 * 3037000500",
        "2 ** 63",
        "(-2) ** 64",
        "10 ** 19",
        "-(-9223372036854775807 - 1)",
        "abs(-9223372036854775807 - 1)",
        "(-9223372036854775807 - 1) // -1",
        "int(1e19)",
        "int(-9.3e18)",
        "round(9.3e18)",
        "round(9223372036854775807, -19)",
        "sum([9223372036854775807, 1])",
        "max(1, 2) * 9223372036854775807",
    };
    for (size_t k = 0; k < sizeof exprs / sizeof exprs[0]; k++) {
        char code[256];
        snprintf(code, sizeof code, DEF "    a = 1\n    return %s\n", exprs[k]);
        check_error(code, "line 3: integer out of range");
    }
    check_error(DEF "    return 9223372036854775808\n", "integer literal out of range");
    check_error(DEF "    a = 9223372036854775807\n    a += 1\n    return a\n",
                "line 3: integer out of range");
    /* the edges themselves are fine */
    PyValue v;
    Err err;
    CHECK(run(DEF "    return (-9223372036854775807 - 1) % -1\n", &v, &err) == 0 && v.i == 0);
    CHECK(run(DEF "    return 2 ** 62 + (2 ** 62 - 1)\n", &v, &err) == 0 &&
          v.i == 9223372036854775807LL);
}

static void test_budget_and_limits(void) {
    PyValue v;
    Err err;
    StrBuf sb = {0};
    /* tokens: 6,000 additions is 12,000 tokens, past the budget */
    sb_printf(&sb, DEF "    a = 1");
    for (int i = 0; i < 6000; i++) sb_printf(&sb, " + 1");
    sb_printf(&sb, "\n    return a\n");
    CHECK(pyeval_run(sb.data, sb.len, &v, &err) == -1 && strstr(err.msg, "program too long"));
    /* 4,000 additions fit the budget */
    sb.len = 0;
    sb_printf(&sb, DEF "    a = 1");
    for (int i = 0; i < 4000; i++) sb_printf(&sb, " + 1");
    sb_printf(&sb, "\n    return a\n");
    CHECK(pyeval_run(sb.data, sb.len, &v, &err) == 0 && v.i == 4001);
    /* nesting: parentheses, unary minus, calls, right-associative ** */
    static const char *const opens[] = {"(", "-", "abs(", "1 ** "};
    static const char *const closes[] = {")", "", ")", ""};
    for (int k = 0; k < 4; k++) {
        for (int depth = 50; depth <= 3000; depth += 2950) {
            sb.len = 0;
            sb_printf(&sb, DEF "    return ");
            for (int i = 0; i < depth; i++) sb_printf(&sb, "%s", opens[k]);
            sb_printf(&sb, "1");
            for (int i = 0; i < depth; i++) sb_printf(&sb, "%s", closes[k]);
            sb_printf(&sb, "\n");
            int rc = pyeval_run(sb.data, sb.len, &v, &err);
            if (depth == 50)
                CHECK_MSG(rc == 0 && v.i == 1, "depth 50 of '%s': %s", opens[k], err.msg);
            else
                CHECK_MSG(rc == -1 && strstr(err.msg, "nested too deeply"), "depth %d of '%s': %s",
                          depth, opens[k], rc ? err.msg : "no error");
        }
    }
    /* source length */
    sb.len = 0;
    sb_printf(&sb, DEF "    return 1\n");
    while (sb.len <= PYEVAL_MAX_SOURCE) sb_printf(&sb, "# padding padding padding\n");
    CHECK(pyeval_run(sb.data, sb.len, &v, &err) == -1 && strstr(err.msg, "source longer"));
    /* variables */
    sb.len = 0;
    sb_printf(&sb, DEF);
    for (int i = 0; i < PYEVAL_MAX_VARS + 1; i++) sb_printf(&sb, "    v%d = %d\n", i, i);
    sb_printf(&sb, "    return v0\n");
    CHECK(pyeval_run(sb.data, sb.len, &v, &err) == -1 && strstr(err.msg, "too many variables"));
    /* indentation levels never nest deeper than the budget allows */
    sb.len = 0;
    sb_printf(&sb, DEF "    return 1\n");
    for (int i = 0; i < 200; i++) sb_printf(&sb, "%*sx = 1\n", i + 5, "");
    CHECK(pyeval_run(sb.data, sb.len, &v, &err) == -1);
    /* a NUL byte */
    static const char nul[] = DEF "    return 1\0\n";
    CHECK(pyeval_run(nul, sizeof nul - 1, &v, &err) == -1 && strstr(err.msg, "null bytes"));
    /* the length is respected: no terminating NUL is needed or read */
    static const char cut[] = DEF "    return 12345";
    CHECK(pyeval_run(cut, sizeof cut - 3, &v, &err) == 0 && v.i == 123);
    sb_free(&sb);
}

/* Random edits of valid programs: every run returns 0 or -1 with a message (no crash, no hang;
 * the libFuzzer target tests/fuzz/fuzz_pyeval.c explores much further). */
static void test_mutations(void) {
    static const char *const seeds[] = {
        DEF "    \"\"\"\n    Olivia has $23. How much is left?\n    \"\"\"\n    money = 23\n"
            "    cost = 5 * 3  # bagels\n    left = round(money - cost / 2, 2)\n"
            "    left += max([1, 2.5])\n    result = left\n    return result\n",
        "def f():\n\ta = (1 +\n\t     2) ** -1\n\treturn a // 0.3 % 7\n"};
    static const char *const inserts[] = {
        "(",  ")",  "[", "]", "\"\"\"", "'", "\n", "\t", " ",       "    ", "\\",       "#",
        "**", "//", "=", ",", "1e",     "_", ".",  "-",  "return ", "def ", "\xc3\xa9", "\r"};
    Rng rng;
    rng_seed(&rng, 1234, 0);
    char buf[1024];
    int ok = 0, errors = 0;
    for (int iter = 0; iter < 20000; iter++) {
        const char *seed = seeds[iter % 2];
        size_t len = strlen(seed);
        memcpy(buf, seed, len);
        int edits = 1 + (int)rng_below(&rng, 4);
        for (int e = 0; e < edits; e++) {
            size_t pos = (size_t)rng_below(&rng, len + 1);
            int kind = (int)rng_below(&rng, 3);
            if (kind == 0 && len > 0 && pos < len) { /* delete a span */
                size_t n = 1 + (size_t)rng_below(&rng, 8);
                if (pos + n > len) n = len - pos;
                memmove(buf + pos, buf + pos + n, len - pos - n);
                len -= n;
            } else if (kind == 1) { /* insert a token */
                const char *ins = inserts[rng_below(&rng, sizeof inserts / sizeof inserts[0])];
                size_t n = strlen(ins);
                if (len + n >= sizeof buf) continue;
                memmove(buf + pos + n, buf + pos, len - pos);
                memcpy(buf + pos, ins, n);
                len += n;
            } else if (pos < len) { /* overwrite a byte */
                buf[pos] = (char)(1 + rng_below(&rng, 255));
            }
        }
        PyValue v;
        Err err;
        err.msg[0] = '\0';
        int rc = pyeval_run(buf, len, &v, &err);
        if (rc == 0)
            ok++;
        else if (rc == -1 && err.msg[0])
            errors++;
    }
    CHECK_MSG(ok + errors == 20000, "%d ok + %d errors", ok, errors);
    CHECK(ok > 100 && errors > 1000); /* both outcomes happen */
}

static void test_matches_and_format(void) {
    PyValue i18 = {0, 18, 0.0}, f18 = {1, 0, 18.0}, near = {1, 0, 18.0009}, far = {1, 0, 18.002};
    PyValue inf = {1, 0, INFINITY}, nan_v = {1, 0, NAN};
    CHECK(pyeval_matches(i18, 18.0) && pyeval_matches(f18, 18.0) && pyeval_matches(near, 18.0));
    CHECK(!pyeval_matches(far, 18.0) && !pyeval_matches(i18, 19.0));
    CHECK(!pyeval_matches(inf, INFINITY) && !pyeval_matches(nan_v, 0.0));
    PyValue noise = {1, 0, 0.1 * 3};
    CHECK(pyeval_matches(noise, 0.3));
    char buf[64];
    static const struct {
        double x;
        const char *repr; /* CPython 3.11 repr() */
    } reprs[] = {{0.1, "0.1"},
                 {0.1 + 0.2, "0.30000000000000004"},
                 {18.0, "18.0"},
                 {-0.0, "-0.0"},
                 {1e16, "1e+16"},
                 {1e15, "1000000000000000.0"},
                 {123456789.125, "123456789.125"},
                 {1e-5, "1e-05"},
                 {0.0001, "0.0001"},
                 {1.5e-7, "1.5e-07"},
                 {12345678901234567.0, "1.2345678901234568e+16"},
                 {0x1p-24, "5.960464477539063e-08"},
                 {5e-324, "5e-324"},
                 {1.7976931348623157e308, "1.7976931348623157e+308"},
                 {2.5, "2.5"},
                 {INFINITY, "inf"}};
    for (size_t k = 0; k < sizeof reprs / sizeof reprs[0]; k++) {
        PyValue v = {1, 0, reprs[k].x};
        pyeval_format(v, buf, sizeof buf);
        CHECK_MSG(strcmp(buf, reprs[k].repr) == 0, "%a: '%s' != '%s'", reprs[k].x, buf,
                  reprs[k].repr);
    }
    PyValue big = {0, -9223372036854775807LL - 1, 0.0};
    CHECK(strcmp(pyeval_format(big, buf, sizeof buf), "-9223372036854775808") == 0);
}

int main(void) {
    test_cpython_programs();
    test_cpython_expressions();
    test_error_messages();
    test_outside_subset();
    test_int64_overflow();
    test_budget_and_limits();
    test_mutations();
    test_matches_and_format();
    return check_summary("pyeval");
}
