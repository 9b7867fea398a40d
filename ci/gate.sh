#!/bin/sh
# The regression gate. Runs the fixed benchmark sweep ci/bench.yaml (28 s on an idle 2-core
# machine), compares its deterministic metrics with the stored baseline ci/baselines/bench.tsv
# (`mdmlab compare`: loss and solve accuracy per run on the plain-C backend fail the gate
# when worse beyond tolerance; throughput is listed as info) and prints per-backend step
# timings and PUMA's overhead, which are never gated: CI machines are shared and noisy.
#   sh ci/gate.sh                    # exit status of compare: 0 ok, 1 regression,
#                                    # 2 run failure, 3 inconclusive
#   sh ci/gate.sh --update-baseline  # after an intended change: rewrite the baseline
set -u
cd "$(dirname "$0")/.."
MDMLAB=./build/mdmlab
OUT=build/ci-bench
rm -rf "$OUT"
if ! "$MDMLAB" sweep ci/bench.yaml --out "$OUT" -j 2 >"$OUT.log" 2>&1; then
    cat "$OUT.log"
    echo "gate: the benchmark sweep failed"
    exit 2
fi
tail -2 "$OUT.log"
if [ "${1:-}" = "--update-baseline" ]; then
    cp "$OUT/report/metrics.tsv" ci/baselines/bench.tsv
    echo "gate: baseline rewritten: ci/baselines/bench.tsv"
    exit 0
fi
"$MDMLAB" compare ci/baselines/bench.tsv "$OUT/report/metrics.tsv" --markdown "$OUT/compare.md"
status=$?
echo
echo "step timings (not gated): a d=128, 4-layer model on 9x9 Sudoku, batch 32"
"$MDMLAB" bench --backend all --process random,puma --d 128 --layers 4 --heads 4 --ffn 384 \
    --box 3 --layout inplace --steps 5 --warmup 2 2>&1 | grep -v "^  running"
exit $status
