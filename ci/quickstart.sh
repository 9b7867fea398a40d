#!/bin/sh
# Set-up + build + the main job: train the quickstart Sudoku model, then evaluate it under
# every unmasking policy. Re-running resumes an unfinished run from its checkpoint.
set -eu
cd "$(dirname "$0")/.."
sh ci/setup-debian.sh
sh ci/build.sh >/dev/null
./build/mdmlab train experiments/sudoku_quick.yaml train.resume=auto "$@"
./build/mdmlab eval runs/sudoku_quick-s1 --policy all --k 1,2
