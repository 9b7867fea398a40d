#!/bin/sh
# Step time of data parallel training (run/parallel.h) on the Sudoku paper model (d=256, 8
# layers, 8 heads, ffn 768, 162 tokens, batch 32, random masking, the default backend):
#   one process, 1 thread | one process, 2 threads | mpirun -np 2, 1 thread per rank
# and the share of the 2-rank step spent in collectives (the gradient allreduce of the
# model's 6.8M floats, 27 MB, plus the loss). Median over steps 6..STEPS of each run's
# per-step time (train.csv, log_every 1: batch * 162 / tokens_per_s).
# usage: sh ci/bench_mpi.sh [BUILD_DIR] [STEPS]      (run on a quiet machine)
set -eu
BUILD=${1:-build}
STEPS=${2:-40}
MDMLAB=$BUILD/mdmlab
OUT=$(mktemp -d /tmp/mdmlab_bench_mpi_XXXXXX)
cat >"$OUT/paper.yaml" <<YAML
task: {name: sudoku, layout: prompt, box: 3, train_count: 2000, eval_count: 16, min_clues: 28, max_clues: 36}
model: {d: 256, layers: 8, heads: 8, ffn: 768, init: torch, rope: reference}
train: {steps: $STEPS, batch: 32, lr: 0.0003, warmup_steps: 10, log_every: 1, eval_every: 0, ckpt_every: 0, ema: false}
eval: {count: 16, batch: 16}
YAML
median_step() { # DIR: median seconds per step over steps 6..STEPS
    awk -F, 'NR > 6 { print 32 * 162 / $5 }' "$1/train.csv" | sort -g |
        awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
"$MDMLAB" train "$OUT/paper.yaml" threads=1 out_dir="$OUT/p1t1" >/dev/null 2>&1
"$MDMLAB" train "$OUT/paper.yaml" threads=2 out_dir="$OUT/p1t2" >/dev/null 2>&1
mpirun --allow-run-as-root --oversubscribe -np 2 "$MDMLAB" train "$OUT/paper.yaml" threads=1 \
    out_dir="$OUT/p2t1" >/dev/null 2>&1
a=$(median_step "$OUT/p1t1")
b=$(median_step "$OUT/p1t2")
c=$(median_step "$OUT/p2t1")
share=$(sed -n 's/.*collectives (allreduce, allgather): \([0-9.]*\)%.*/\1/p' "$OUT/p2t1/log.txt")
echo "| configuration | s/step (median, steps 6-$STEPS) | speedup over 1 process, 1 thread |"
echo "|---|---:|---:|"
echo "| 1 process, 1 thread | $a | 1 |"
echo "| 1 process, 2 threads | $b | $(echo "$a / $b" | bc -l | cut -c1-5) |"
echo "| 2 MPI ranks, 1 thread each | $c | $(echo "$a / $c" | bc -l | cut -c1-5) |"
echo "collectives: ${share}% of the 2-rank run's training time ($OUT/p2t1/log.txt)"
