#!/bin/sh
# Set-up + build + the main job: the quickstart sweep (random masking vs PUMA on Sudoku,
# ten seeds each, about 5 minutes on 2 idle cores, 4 min 31 s measured) and its report: runs/quickstart/report/
# holds curves.png, loss.png, speedup.png (and .svg), summary.md and summary.json.
# Re-running skips finished runs and resumes interrupted ones from their checkpoints.
set -eu
cd "$(dirname "$0")/.."
sh ci/setup-debian.sh
sh ci/build.sh >/dev/null
./build/mdmlab sweep experiments/quickstart.yaml "$@"
echo
sed -n '1,/^## Runs not included/p' runs/quickstart/report/summary.md | sed '$d'
