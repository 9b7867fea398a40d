#!/bin/sh
# End-to-end tests of `mdmlab sweep`, `plan` and `report` on tiny 4x4 Sudoku runs:
# a full sweep with its report, resume after kill -9 of the sweep (no finished run redone,
# none lost), a diverging run and a timed-out run failing alone, --retry-failed, refusing a
# changed sweep file, shards, Slurm script, malformed sweep files, and sweep files refused at
# once (huge axes, NaN, unknown process names) without leaving a directory behind.
# usage: test_sweep_cli.sh PATH/TO/mdmlab
set -u
MDMLAB=$1
TMP=$(mktemp -d /tmp/mdmlab_sweep_cli_XXXXXX)
checks=0
failed=0
ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); failed=$((failed + 1)); echo "FAIL: $*" >&2; }
check() { name=$1; shift; if "$@"; then ok; else bad "$name"; fi; }

# state DIR ID: the run's status.json state
state() { sed -n 's/.*"state": "\([a-z]*\)".*/\1/p' "$1/runs/$2/status.json" 2>/dev/null; }
attempts() { sed -n 's/.*"attempts": \([0-9]*\).*/\1/p' "$1/runs/$2/status.json" 2>/dev/null; }
ids() { tail -n +2 "$1/plan.tsv" | cut -f2; }
count_state() { n=0; for id in $(ids "$1"); do [ "$(state "$1" "$id")" = "$2" ] && n=$((n + 1)); done; echo $n; }

base() {
    cat <<EOF
task: {box: 2, layout: inplace, train_count: 400, eval_count: 32, min_clues: 6, max_clues: 8}
model: {d: 32, layers: 2, heads: 2, ffn: 64}
train: {steps: $1, batch: 16, lr: 0.003, warmup_steps: 5, log_every: 10, eval_every: $2, ckpt_every: 10}
eval: {count: 32}
backend: ref
threads: 1
EOF
}

# --- a full sweep: 2 seeds x 2 processes, two at a time, then the report ---
{ base 60 20; cat <<EOF
seeds: [1, 2]
grid:
  process: [random, puma]
report: {metric: "margin:1", baseline: "process=random", smoothing: 0.3, bootstrap: 200}
EOF
} >"$TMP/full.yaml"
"$MDMLAB" plan "$TMP/full.yaml" >"$TMP/plan.out" 2>&1
check "plan counts 4 runs" grep -q "^4 runs" "$TMP/plan.out"
"$MDMLAB" sweep "$TMP/full.yaml" --out "$TMP/full" -j 2 >"$TMP/full.out" 2>&1
rc=$?
check "full sweep exits 0 (rc $rc: $(tail -3 "$TMP/full.out"))" [ "$rc" -eq 0 ]
check "every run done" [ "$(count_state "$TMP/full" done)" -eq 4 ]
for f in summary.md summary.json curves.tsv curves.gp speedup.gp loss.gp val_loss.tsv val_loss.gp; do
    check "report has $f" [ -s "$TMP/full/report/$f" ]
done
# the validation bound under random masking: logged by every run, drawn per method beside the
# training losses, and the sweep is still reported by accuracy and speedup
check "runs log the validation bound" [ "$(grep -c '^[0-9]' "$TMP/full/by-label/puma-s2/elbo.csv")" -ge 2 ]
check "no samples.txt in a Sudoku run" [ ! -e "$TMP/full/by-label/puma-s2/samples.txt" ]
check "val_loss.gp draws both methods" [ "$(grep -c "title 'puma\|title 'random" "$TMP/full/report/val_loss.gp")" -eq 2 ]
if command -v gnuplot >/dev/null 2>&1; then
    check "curves.png rendered" [ -s "$TMP/full/report/curves.png" ]
    check "speedup.svg rendered" [ -s "$TMP/full/report/speedup.svg" ]
    check "val_loss.png rendered" [ -s "$TMP/full/report/val_loss.png" ]
fi
first=$(ids "$TMP/full" | head -1)
for f in run.yaml meta.json status.json config.yaml train.csv eval.csv checkpoint.bin output.log; do
    check "run dir has $f" [ -s "$TMP/full/runs/$first/$f" ]
done
check "meta.json records git and machine" grep -q '"machine": "cpu=' "$TMP/full/runs/$first/meta.json"
check "by-label aliases link the runs" [ -f "$TMP/full/by-label/puma-s2/train.csv" ]
"$MDMLAB" eval "$TMP/full" >"$TMP/evaldir.out" 2>&1
check "eval on a sweep directory lists its runs" sh -c "grep -q 'is a sweep directory' '$TMP/evaldir.out' && grep -q 'process=puma seed=2' '$TMP/evaldir.out'"
# re-running a finished sweep starts nothing
"$MDMLAB" sweep "$TMP/full.yaml" --out "$TMP/full" -j 2 >"$TMP/again.out" 2>&1
check "re-run exits 0" [ $? -eq 0 ]
check "re-run starts nothing" sh -c "! grep -q 'start ' '$TMP/again.out'"
check "attempts stay 1" [ "$(attempts "$TMP/full" "$first")" = 1 ]
# the report can be regenerated with other options
"$MDMLAB" report "$TMP/full" --smoothing 0 --target 0.01 --out "$TMP/rep2" --no-gnuplot >/dev/null 2>&1
check "report --metric --out" [ -s "$TMP/rep2/summary.json" ]
# pareto over a sweep directory: a point per method and policy:k (nfe vs accuracy)
"$MDMLAB" pareto "$TMP/full" -o "$TMP/par" >"$TMP/par.out" 2>&1
check "pareto SWEEP_DIR exits 0 ($(tail -1 "$TMP/par.out"))" [ -s "$TMP/par/pareto.tsv" ]
check "pareto has both methods" sh -c "grep -q '^process=random margin:1	' '$TMP/par/pareto.tsv' && grep -q '^process=puma margin:1	' '$TMP/par/pareto.tsv'"
check "pareto refuses other costs on a sweep" sh -c "! '$MDMLAB' pareto '$TMP/full' --cost flops -o '$TMP/par2' 2>/dev/null"
check "a training sweep's report has no pareto figure" [ ! -e "$TMP/full/report/pareto.tsv" ]
# a sweep over decoding only: its report draws the Pareto figure
{ base 40 20; cat <<EOF
seeds: [1]
grid:
  eval.tokens_per_step: [1, 4]
EOF
} >"$TMP/decode.yaml"
"$MDMLAB" sweep "$TMP/decode.yaml" --out "$TMP/decode" -j 2 >"$TMP/decode.out" 2>&1
rc=$?
check "decoding sweep exits 0 ($(tail -1 "$TMP/decode.out"))" [ "$rc" -eq 0 ]
check "decoding sweep report has pareto.tsv" grep -q '^eval.tokens_per_step=4 margin:4	' "$TMP/decode/report/pareto.tsv"

# --- export: a 2-value x 2-seed learning-rate sweep as one long table, and wide ---
{ base 20 10; cat <<EOF
seeds: [1, 2]
grid:
  train.lr: [0.001, 0.003]
report:
  labels: {train.lr=0.001: "slow lr"}
EOF
} >"$TMP/lr.yaml"
"$MDMLAB" sweep "$TMP/lr.yaml" --out "$TMP/lr" -j 2 --no-report >/dev/null 2>&1
"$MDMLAB" export "$TMP/lr" -o "$TMP/all.csv" >/dev/null 2>&1
check "export header" sh -c "head -1 '$TMP/all.csv' | grep -qx 'run_id,method,seed,train.lr,step,metric,value,train_s'"
check "export has every run" [ "$(tail -n +2 "$TMP/all.csv" | cut -d, -f1 | sort -u | wc -l)" -eq 4 ]
check "export rows carry the axis value" grep -q '^[0-9a-f]*,train.lr=0.003,2,0.003,20,loss,' "$TMP/all.csv"
check "export has eval metrics" grep -q ',accuracy/margin:1,' "$TMP/all.csv"
"$MDMLAB" export "$TMP/lr" --wide -o "$TMP/wide.csv" >/dev/null 2>&1
check "export --wide: a column per metric" sh -c "head -1 '$TMP/wide.csv' | grep -q ',step,train_s,loss,lr,grad_norm,tokens_per_s,accuracy/margin:1,'"
"$MDMLAB" export "$TMP/lr" -o "$TMP/all.jsonl" >/dev/null 2>&1
check "export .jsonl" grep -q '"train.lr": "0.001"' "$TMP/all.jsonl"
check "export refuses a directory that is no run" sh -c "! '$MDMLAB' export '$TMP' 2>/dev/null"
# its report: the metric against the learning rate, and warnings (2 seeds a method)
"$MDMLAB" report "$TMP/lr" >"$TMP/lr_report.out" 2>&1
check "report has axis_train.lr.tsv" grep -q '^0.003	' "$TMP/lr/report/axis_train.lr.tsv"
if command -v gnuplot >/dev/null 2>&1; then
    check "axis_train.lr.png rendered" [ -s "$TMP/lr/report/axis_train.lr.png" ]
fi
check "summary.json warns of 2 seeds" grep -q '"train.lr=0.001: 2 seeds: an interval over seeds needs at least 3"' "$TMP/lr/report/summary.json"
check "report prints its warnings" grep -q 'report: warning: train.lr=0.003: 2 seeds' "$TMP/lr_report.out"
check "report.labels names a method in the legends" grep -q "title 'slow lr (2 seeds)'" "$TMP/lr/report/curves.gp"
check "report.labels names its runs' aliases" [ -f "$TMP/lr/by-label/slow_lr-s2/train.csv" ]
check "other methods get short legends" grep -q "title 'lr=0.003 (2 seeds)'" "$TMP/lr/report/curves.gp"
printf 'seeds: [1]\nreport:\n  labels: [a, b]\n' >"$TMP/badlabels.yaml"
"$MDMLAB" plan "$TMP/badlabels.yaml" >"$TMP/badlabels.out" 2>&1
check "report.labels must be a mapping" grep -q "badlabels.yaml:3: key 'report.labels': expected a mapping" "$TMP/badlabels.out"

# --- a changed sweep file is refused unless forced ---
sed 's/seeds: \[1, 2\]/seeds: [1, 2, 3]/' "$TMP/full.yaml" >"$TMP/changed.yaml"
"$MDMLAB" sweep "$TMP/changed.yaml" --out "$TMP/full" --no-report >"$TMP/changed.out" 2>&1
rc=$?
check "changed sweep refused" [ "$rc" -eq 2 ]
check "changed sweep message" grep -q "holds a different sweep" "$TMP/changed.out"
check "refusal is one line" [ "$(wc -l <"$TMP/changed.out")" -eq 1 ]

# --- kill -9 of the sweep mid-run: nothing finished is redone, nothing is lost ---
{ base 400 400; cat <<EOF
seeds: [1, 2, 3]
EOF
} >"$TMP/kill.yaml"
"$MDMLAB" sweep "$TMP/kill.yaml" --out "$TMP/kill" -j 1 --no-report >"$TMP/kill1.out" 2>&1 &
pid=$!
# wait until the first run is done and the second has written a checkpoint
i=0
while [ $i -lt 600 ]; do
    n_done=$(count_state "$TMP/kill" done 2>/dev/null)
    second=$(ids "$TMP/kill" 2>/dev/null | sed -n 2p)
    if [ "${n_done:-0}" -ge 1 ] && [ -n "$second" ] && [ -f "$TMP/kill/runs/$second/checkpoint.bin" ]; then break; fi
    sleep 0.2
    i=$((i + 1))
done
kill -9 $pid
wait $pid 2>/dev/null
sleep 1 # the orphaned run gets SIGTERM (parent-death signal), checkpoints and exits
first=$(ids "$TMP/kill" | sed -n 1p)
check "first run done before the kill" [ "$(state "$TMP/kill" "$first")" = done ]
check "second run left running" [ "$(state "$TMP/kill" "$second")" = running ]
check "no orphan keeps running" sh -c "! pgrep -f '$TMP/kill/[r]uns' >/dev/null"
first_csv=$(cksum <"$TMP/kill/runs/$first/train.csv")
"$MDMLAB" sweep "$TMP/kill.yaml" --out "$TMP/kill" -j 1 --no-report >"$TMP/kill2.out" 2>&1
check "resumed sweep exits 0 ($(tail -2 "$TMP/kill2.out"))" [ $? -eq 0 ]
check "all three done" [ "$(count_state "$TMP/kill" done)" -eq 3 ]
check "finished run not redone" [ "$(attempts "$TMP/kill" "$first")" = 1 ]
check "finished run untouched" [ "$(cksum <"$TMP/kill/runs/$first/train.csv")" = "$first_csv" ]
check "second run resumed, not restarted" grep -q "resumed from" "$TMP/kill/runs/$second/log.txt"
check "second run has two attempts" [ "$(attempts "$TMP/kill" "$second")" = 2 ]
last=$(tail -1 "$TMP/kill/runs/$second/train.csv" | cut -d, -f1)
check "second run reached step 400" [ "$last" = 400 ]

# --- a diverging run and a timed-out run fail alone; the others finish ---
# the second zipped config overflows to NaN within a few steps (huge init, lr, no eps)
{ base 40 40; cat <<EOF
zip:
  - {model.init_std: [0.02, 10], train.lr: [0.003, 10], train.adam_eps: [1e-8, 1e-30], train.beta2: [0.999, 0], train.grad_clip: [1, 0]}
EOF
} >"$TMP/nan.yaml"
"$MDMLAB" sweep "$TMP/nan.yaml" --out "$TMP/nan" -j 2 --no-report >"$TMP/nan.out" 2>&1
rc=$?
check "failing sweep exits 1" [ "$rc" -eq 1 ]
check "one done, one failed" [ "$(count_state "$TMP/nan" done)$(count_state "$TMP/nan" failed)" = 11 ]
check "failure summary names the cause" grep -q "diverged" "$TMP/nan.out"
check "failure summary lists the run" grep -q "failed runs:" "$TMP/nan.out"
"$MDMLAB" sweep "$TMP/nan.yaml" --out "$TMP/nan" --no-report >"$TMP/nan2.out" 2>&1
check "failed run not retried by default" sh -c "! grep -q 'start ' '$TMP/nan2.out'"
"$MDMLAB" sweep "$TMP/nan.yaml" --out "$TMP/nan" --retry-failed --no-report >"$TMP/nan3.out" 2>&1
check "--retry-failed runs it again" grep -q "attempt 2" "$TMP/nan3.out"

{ base 100000 0; echo "grid: {seed: [1]}"; } >"$TMP/slow.yaml"
"$MDMLAB" sweep "$TMP/slow.yaml" --out "$TMP/slow" --timeout 2 --no-report >"$TMP/slow.out" 2>&1
check "timed-out sweep exits 1" [ $? -eq 1 ]
check "timeout recorded" grep -q "timed out" "$TMP/slow/runs/$(ids "$TMP/slow")/status.json"

# --- shards partition the plan; Slurm script maps task ids to plan indices ---
{ base 10 10; echo "seeds: [1, 2, 3]"; } >"$TMP/shard.yaml"
"$MDMLAB" sweep "$TMP/shard.yaml" --out "$TMP/shard" --shard 1/2 --no-report >/dev/null 2>&1
check "shard 1/2 runs only index 1" [ "$(count_state "$TMP/shard" done)$(state "$TMP/shard" "$(ids "$TMP/shard" | sed -n 2p)")" = 1done ]
"$MDMLAB" sweep "$TMP/shard.yaml" --out "$TMP/shard" --shard 0/2 --no-report >/dev/null 2>&1
check "shards 0/2 + 1/2 cover the plan" [ "$(count_state "$TMP/shard" done)" -eq 3 ]
"$MDMLAB" sweep "$TMP/shard.yaml" --out "$TMP/shard" --emit-slurm "$TMP/job.sh" >/dev/null 2>&1
check "slurm array 0-2" grep -q "^#SBATCH --array=0-2" "$TMP/job.sh"
check "slurm task runs --only" grep -q -- '--only "$SLURM_ARRAY_TASK_ID"' "$TMP/job.sh"

# --- malformed sweep files: one line naming file, line and key; exit 2 ---
expect_bad() {
    name=$1; pattern=$2; file=$3
    "$MDMLAB" plan "$file" >"$TMP/bad.out" 2>&1
    rc=$?
    if [ "$rc" -ne 2 ]; then bad "$name: exit $rc"; return; fi
    if [ "$(wc -l <"$TMP/bad.out")" -ne 1 ]; then bad "$name: $(cat "$TMP/bad.out")"; return; fi
    if grep -Eq -- "$pattern" "$TMP/bad.out"; then ok; else bad "$name: $(cat "$TMP/bad.out")"; fi
}
printf 'grid:\n  model.d: [32, 64\n' >"$TMP/b1.yaml"
expect_bad "malformed yaml" "b1.yaml:[0-9]+: YAML syntax error" "$TMP/b1.yaml"
printf 'grid:\n  model.dd: [32]\n' >"$TMP/b2.yaml"
expect_bad "unknown grid key" "b2.yaml:2: unknown key 'model.dd' \(did you mean 'model.d'\?\)" "$TMP/b2.yaml"
printf 'train: {steps: 5}\ngrid:\n  train.lr: [fast]\n' >"$TMP/b3.yaml"
expect_bad "wrong type" "b3.yaml:3: key 'train.lr'" "$TMP/b3.yaml"
printf 'model: {dd: 3}\ngrid: {seed: [1]}\n' >"$TMP/b4.yaml"
expect_bad "unknown config key" "b4.yaml:1.*model.dd" "$TMP/b4.yaml"

# --- refused before anything runs: huge axes at once, non-finite numbers, unknown names ---
ms() { echo $(( $(date +%s%N) / 1000000 )); }
printf 'seeds: range(0, 1e9)\n' >"$TMP/b5.yaml"
t0=$(ms)
expect_bad "huge seed axis" "b5.yaml:1: key 'seed'.*1000000000 values" "$TMP/b5.yaml"
check "huge seed axis refused at once ($(( $(ms) - t0 )) ms)" [ $(( $(ms) - t0 )) -lt 10000 ]
printf 'grid:\n  train.lr: range(0, 1e12)\n' >"$TMP/b6.yaml"
t0=$(ms)
expect_bad "huge range axis" "b6.yaml:2: key 'train.lr'.*more than the 100000 runs" "$TMP/b6.yaml"
check "huge range axis refused at once ($(( $(ms) - t0 )) ms)" [ $(( $(ms) - t0 )) -lt 10000 ]
printf 'grid:\n  train.steps: range(nan, 1, 1)\n' >"$TMP/b7.yaml"
expect_bad "nan range" "b7.yaml:2: key 'train.steps'.*finite" "$TMP/b7.yaml"
printf 'seeds: [1]\nreport: {bootstrap: 1e12}\n' >"$TMP/b8.yaml"
expect_bad "huge bootstrap" "b8.yaml:2: key 'report.bootstrap'" "$TMP/b8.yaml"
{ base 10 10; echo "grid: {process: [random, PUMA]}"; } >"$TMP/b9.yaml"
"$MDMLAB" sweep "$TMP/b9.yaml" --out "$TMP/b9" >"$TMP/b9.out" 2>&1
rc=$?
check "unknown process in the grid: exit 2 (rc $rc)" [ "$rc" -eq 2 ]
check "unknown process: one line naming file, line, key, value ($(cat "$TMP/b9.out"))" \
    grep -q "b9.yaml:7: key 'process': expected one of random, puma, block, ar, prime; got 'PUMA' (did you mean 'puma'?)" "$TMP/b9.out"
check "unknown process: one line" [ "$(wc -l <"$TMP/b9.out")" -eq 1 ]
check "unknown process: no sweep or run directory made" [ ! -e "$TMP/b9" ]
check "sweep --help" "$MDMLAB" sweep --help >/dev/null
check "report --help" "$MDMLAB" report --help >/dev/null

rm -rf "$TMP"
echo "sweep cli: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
