#!/bin/sh
# AddressSanitizer + UndefinedBehaviorSanitizer run of the fast part of the test suite. Builds
# (once, then incrementally) a debugoptimized tree in build-asan/ (or $SANITIZE_BUILD_DIR) with
# -Db_sanitize=address,undefined, runs each test of $SANITIZE_TESTS (default below) through
# meson test, prints one line per test and exits non-zero when a test fails, times out, or a
# sanitizer reports an error or a leak (the test's log is $b/sanitize-NAME.log). About 3 min on
# 2 idle cores plus about 1 min for the first build (cli alone 75 s; 5-7x all that on cores
# shared with other work). SANITIZE_TESTS="NAME ..." runs other tests of the suite. Left out of
# the default list, each for its time or a false alarm:
#   train ar puma text tinygsm_task: the learning tests, minutes even at full speed (suite 'slow')
#   sweep_cli: 56 s instrumented (sweep expansion and the run store run in the sweep unit test)
#   ops_grad: passes clean of sanitizer reports, but fails one tolerance: ASan and UBSan stop GCC
#     from vectorizing the softmax row sum (backends/cpu_ops.c softmax_row_max_shift), and the
#     scalar float sum over 1500 scores misses test_ops_grad.c's "softmax long rows" 3e-6
#     relative tolerance by a hair (3.02e-6)
#   torch_parity, layers: no C code of ours under test, or python3-torch
set -u
cd "$(dirname "$0")/.." || exit 1
b=${SANITIZE_BUILD_DIR:-build-asan}
tests=${SANITIZE_TESTS:-"util config checkpoint sudoku jsonl pyeval tokenizer tinygsm_gen compare speedup report registry sweep sample block model_grad backend_parity checkpoint_cli cli"}
if [ ! -f "$b/build.ninja" ]; then
    mkdir -p "$b"
    # werror=false: GCC warns falsely under -fsanitize (its manual advises against combining
    # -Werror with sanitizers: -Warray-bounds at test_checkpoint.c's memset of a malloc'ed copy);
    # the release build (ci/build.sh) keeps -Werror
    meson setup "$b" --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false \
        -Dwerror=false \
        >"$b/setup.log" 2>&1 || { cat "$b/setup.log"; exit 1; }
fi
# only what the chosen tests run: their binaries, and mdmlab for the shell tests
targets=mdmlab
for t in $tests; do
    case $t in
        cli | *_cli | layers) ;; # shell tests of the mdmlab binary
        *) targets="$targets tests/test_$t" ;;
    esac
done
# shellcheck disable=SC2086
ninja -C "$b" $targets >"$b/build.log" 2>&1 || { tail -40 "$b/build.log"; exit 1; }
# Halt at the first report, with a stack; leaks fail at exit. ASan writes its reports to
# $b/asan/NAME.PID (log_path), not to stderr, so that the tests that check a program's exact
# stderr (test_util's out-of-memory message, test_cli.sh's one-line errors) still pass; any file
# there holding an ERROR (ASan, LeakSanitizer) fails the test, from whichever process, even one
# the test expected to fail. UBSan (GCC's runtime ignores its log_path) reports on stderr, which
# meson keeps in meson-logs/testlog.txt: a "runtime error" there fails the test too.
# allocator_may_return_null: an impossible allocation returns NULL as in libc (test_util checks
# realloc_or_die(SIZE_MAX)); ASan's warning about it is no error.
asan_base=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0:allocator_may_return_null=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}
ubsan_base=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
reports=$(cd "$b" && pwd)/asan
status=0
start=$(date +%s)
for t in $tests; do
    log=$b/sanitize-$t.log
    rm -f "$reports/$t".*
    mkdir -p "$reports"
    t0=$(date +%s)
    # sanitized code runs 2-4 times slower than a release build: 4x the meson timeouts
    ASAN_OPTIONS="$asan_base:log_path=$reports/$t" UBSAN_OPTIONS="$ubsan_base" \
        meson test -C "$b" --no-rebuild --print-errorlogs --timeout-multiplier 4 "$t" \
        >"$log" 2>&1
    rc=$?
    found=$(grep -l "ERROR: " "$reports/$t".* 2>/dev/null | tr '\n' ' ')
    grep -Eq ":[0-9]+:[0-9]+: runtime error: " "$b/meson-logs/testlog.txt" &&
        found="$found$b/meson-logs/testlog.txt"
    if [ "$rc" -eq 0 ] && [ -z "$found" ]; then
        echo "sanitize $t: ok ($(( $(date +%s) - t0 )) s)"
    else
        echo "sanitize $t: FAILED ($(( $(date +%s) - t0 )) s), see $log${found:+ and $found}"
        # shellcheck disable=SC2086
        grep -h -m 6 -E "ERROR: |runtime error|SUMMARY|CHECK failed|TIMEOUT|FAIL|^ +#[0-9] " \
            "$log" $found | head -12 | sed 's/^/    /'
        status=1
    fi
done
echo "sanitize: $(echo "$tests" | wc -w) tests in $(( $(date +%s) - start )) s"
exit $status
