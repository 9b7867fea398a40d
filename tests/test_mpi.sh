#!/bin/sh
# Data parallel training over MPI (run/parallel.h), end to end with `mpirun -np 2`:
#  - 2 ranks vs 1 process on the same config: train.csv losses equal within 1e-4 relative at
#    every logged step, for random masking and for PUMA (the gradient and loss sums are
#    ordered differently, so not bit for bit); rank 0 alone writes the run directory;
#  - resume under 2 ranks from a kept checkpoint continues the 2-rank run bit for bit;
#  - a rank killed with SIGKILL ends the job with an error instead of a hang;
#  - a batch that does not split over the ranks is refused by every rank, no hang;
#  - sweep.launcher runs each training of a sweep under mpirun.
# Skipped (77) without mpirun or without MPI in this build.
# usage: test_mpi.sh PATH/TO/mdmlab
set -u
MDMLAB=$1
command -v mpirun >/dev/null 2>&1 || { echo "no mpirun: skipped"; exit 77; }
"$MDMLAB" --version | grep -q "data parallel: mpi" || { echo "built without MPI: skipped"; exit 77; }
MPIRUN="mpirun --allow-run-as-root --oversubscribe -np"
TMP=$(mktemp -d /tmp/mdmlab_mpi_XXXXXX)
checks=0
failed=0
check() { name=$1; shift; checks=$((checks + 1)); if "$@"; then :; else failed=$((failed + 1)); echo "FAIL: $name" >&2; fi; }

cat >"$TMP/base.yaml" <<YAML
task: {name: sudoku, box: 2, layout: inplace, train_count: 2000, eval_count: 32, min_clues: 5, max_clues: 7}
model: {d: 32, layers: 2, heads: 2, ffn: 64}
train: {steps: 60, batch: 16, lr: 0.003, warmup_steps: 5, log_every: 5, eval_every: 30, ckpt_every: 20, keep_checkpoints: true}
eval: {count: 32}
backend: ref
threads: 1
YAML

# losses_close A B: same steps, |a - b| <= 1e-4 * |a| at every logged step
losses_close() {
    paste -d, "$1/train.csv" "$2/train.csv" | awk -F, 'NR > 1 {
        n++; d = $2 - $9; if (d < 0) d = -d; a = $2 < 0 ? -$2 : $2;
        if ($1 != $8 || d > 1e-4 * a) { print "step " $1 ": " $2 " vs " $9 > "/dev/stderr"; bad++ } }
        END { exit (n == 13 && !bad) ? 0 : 1 }'
}

for process in random puma; do
    "$MDMLAB" train "$TMP/base.yaml" process=$process out_dir="$TMP/$process-1" >"$TMP/$process-1.out" 2>&1
    check "$process: one process trains" [ -s "$TMP/$process-1/train.csv" ]
    $MPIRUN 2 "$MDMLAB" train "$TMP/base.yaml" process=$process out_dir="$TMP/$process-2" >"$TMP/$process-2.out" 2>&1
    rc=$?
    check "$process: 2 ranks exit 0 (rc $rc: $(tail -2 "$TMP/$process-2.out"))" [ "$rc" -eq 0 ]
    check "$process: losses of 2 ranks = 1 process within 1e-4" losses_close "$TMP/$process-1" "$TMP/$process-2"
    check "$process: rank 0 wrote the run directory once" [ "$(grep -c '^run finished' "$TMP/$process-2.out")" -eq 1 ]
    check "$process: the log records the world size" grep -q "data parallel: 2 MPI ranks" "$TMP/$process-2/log.txt"
done

# resume under 2 ranks from the step-20 checkpoint: steps 25..60 as the uninterrupted 2-rank run
$MPIRUN 2 "$MDMLAB" train "$TMP/base.yaml" process=puma out_dir="$TMP/resumed" \
    train.resume="$TMP/puma-2/step-20.bin" >"$TMP/resumed.out" 2>&1
check "resume under 2 ranks exits 0 ($(tail -1 "$TMP/resumed.out"))" [ $? -eq 0 ]
check "resumed run continues bit for bit" sh -c "[ \"\$(tail -n 8 '$TMP/resumed/train.csv' | cut -d, -f1,2)\" = \"\$(tail -n 8 '$TMP/puma-2/train.csv' | cut -d, -f1,2)\" ]"

# a rank killed mid-run ends the job with an error, no hang
$MPIRUN 2 "$MDMLAB" train "$TMP/base.yaml" train.steps=1000000 train.eval_every=0 \
    out_dir="$TMP/killed" >"$TMP/killed.out" 2>&1 &
job=$!
i=0
while [ ! -s "$TMP/killed/train.csv" ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
victim=$(pgrep -f "out_dir=$TMP/killed" | while read -r p; do [ "$p" != "$job" ] && grep -q mdmlab "/proc/$p/cmdline" 2>/dev/null && [ "$(ps -o comm= -p "$p")" = mdmlab ] && echo "$p"; done | tail -1)
check "found a rank to kill" [ -n "$victim" ]
[ -n "$victim" ] && kill -9 "$victim"
i=0
while kill -0 $job 2>/dev/null && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
if kill -0 $job 2>/dev/null; then
    check "job ended within 60 s of a rank's death" false
    pkill -9 -f "out_dir=$TMP/killed"
else
    wait $job
    rc=$?
    check "job with a killed rank exits non-zero (rc $rc)" [ "$rc" -ne 0 ]
fi

# a batch that does not split over 3 ranks: every rank refuses, one line, exit non-zero
timeout 60 $MPIRUN 3 "$MDMLAB" train "$TMP/base.yaml" out_dir="$TMP/three" >"$TMP/three.out" 2>&1
rc=$?
check "3 ranks with batch 16 exit non-zero, no hang (rc $rc)" [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]
check "the refusal names the batch" grep -q "train.batch=16 does not split over 3 MPI ranks" "$TMP/three.out"

# sweep.launcher: each training of a sweep under mpirun
{ cat "$TMP/base.yaml"; cat <<YAML
seeds: [1]
sweep: {launcher: "$MPIRUN 2", ntasks: 2}
YAML
} >"$TMP/sweep.yaml"
"$MDMLAB" sweep "$TMP/sweep.yaml" --out "$TMP/sw" --no-report >"$TMP/sw.out" 2>&1
check "sweep with a launcher exits 0 ($(tail -1 "$TMP/sw.out"))" [ $? -eq 0 ]
check "its run trained on 2 ranks" sh -c "grep -q 'data parallel: 2 MPI ranks' '$TMP'/sw/runs/*/log.txt"
check "meta.json records the launcher and ranks" sh -c "grep -q '\"ranks\": 2' '$TMP'/sw/runs/*/meta.json"
"$MDMLAB" sweep "$TMP/sweep.yaml" --out "$TMP/sw" --emit-slurm "$TMP/sw.sbatch" >/dev/null 2>&1
check "the Slurm script asks for 2 tasks" grep -q "^#SBATCH --ntasks=2" "$TMP/sw.sbatch"

echo "mpi: $checks checks, $failed failed"
[ "$failed" -eq 0 ] && rm -rf "$TMP"
[ "$failed" -eq 0 ]
