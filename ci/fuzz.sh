#!/bin/sh
# Fuzzes the JSONL reader, the restricted Python evaluator, the sweep file loader and the
# checkpoint reader with libFuzzer (clang, ASan, UBSan). Builds the targets in build-fuzz/ (or
# $FUZZ_BUILD_DIR), runs each for FUZZ_SECONDS (default 20) seconds from its seed corpus
# tests/fuzz/corpus_<target>/ (read-only; new inputs go to build-fuzz/corpus-<target>/),
# prints one line per target, and exits non-zero when a target finds a crash, a sanitizer
# report, a leak or a hang (reproducer: build-fuzz/crash-<target>-*; replay it with
# build-fuzz/tests/fuzz/fuzz_<target> FILE).
set -u
cd "$(dirname "$0")/.."
sh ci/setup-debian.sh || exit 1
seconds=${FUZZ_SECONDS:-20}
b=${FUZZ_BUILD_DIR:-build-fuzz}
if [ ! -f "$b/build.ninja" ]; then
    CC=clang meson setup "$b" -Dfuzz=true -Dopenblas=disabled -Donednn=disabled \
        >"$b.setup.log" 2>&1 || { cat "$b.setup.log"; exit 1; }
    mv "$b.setup.log" "$b/setup.log"
fi
ninja -C "$b" tests/fuzz/fuzz_pyeval tests/fuzz/fuzz_jsonl tests/fuzz/fuzz_sweep \
    tests/fuzz/fuzz_checkpoint \
    >"$b/build.log" 2>&1 ||
    { cat "$b/build.log"; exit 1; }
status=0
for t in pyeval jsonl sweep checkpoint; do
    corpus=$b/corpus-$t
    log=$b/fuzz_$t.log
    mkdir -p "$corpus"
    if "$b"/tests/fuzz/fuzz_$t -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=8192 -dict=tests/fuzz/$t.dict -artifact_prefix="$b/crash-$t-" \
        "$corpus" tests/fuzz/corpus_$t >"$log" 2>&1; then
        runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$log")
        echo "fuzz_$t: ok (${runs:-? runs}, corpus $(ls "$corpus" | wc -l) inputs)"
    else
        echo "fuzz_$t: FAILED, see $log"
        grep -m 3 -E "ERROR|SUMMARY|Test unit written" "$log" | sed 's/^/    /'
        status=1
    fi
done
exit $status
