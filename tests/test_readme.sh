#!/bin/sh
# The README's examples run on a fresh checkout: every line of its fenced code blocks that runs
# ./build/mdmlab (or mpirun ... ./build/mdmlab), in order, in a scratch copy of the work tree,
# shrunk to tiny sizes (training commands get 6 steps and little data, eval 8 examples, bench
# one step of a small model); and every experiments/*.yaml file parses (mdmlab plan).
# usage: test_readme.sh SOURCE_DIR PATH/TO/mdmlab
set -u
SRC=$(cd "$1" && pwd)
MDMLAB=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
TMP=$(mktemp -d /tmp/mdmlab_readme_XXXXXX)
checks=0
failed=0
ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# what a fresh clone has that the examples read, and the built binary where the README says
mkdir -p "$TMP/build"
ln -s "$MDMLAB" "$TMP/build/mdmlab"
for d in experiments data ci; do ln -s "$SRC/$d" "$TMP/$d"; done
cd "$TMP" || exit 1

TINY="train.steps=6 train.eval_every=3 train.ckpt_every=3 train.log_every=3 task.train_count=64"
TINY="$TINY eval.count=8 threads=1"
awk '/^```/ { inblock = !inblock; next } inblock' "$SRC/README.md" |
    grep -E '^(mpirun -np [0-9]+ )?\./build/mdmlab ' | sed 's/ *#.*$//' >"$TMP/examples"
[ "$(wc -l <"$TMP/examples")" -ge 10 ] && ok || bad "expected at least 10 examples in README.md"
while read -r example; do
    cmd=$example
    case "$cmd" in
    *" train "* | *" sweep "*) cmd="$cmd $TINY" ;;
    *" eval "*) cmd="$cmd eval.count=8" ;;
    *" bench "*) cmd="$cmd --steps 1 --warmup 0 --d 32 --layers 1 --heads 2 --ffn 64 --batch 4" ;;
    esac
    case "$cmd" in
    mpirun*)
        if ! command -v mpirun >/dev/null 2>&1 || ! "$MDMLAB" --version | grep -q "data parallel: mpi"; then
            echo "skipped (no MPI): $example"
            continue
        fi
        cmd="mpirun --allow-run-as-root --oversubscribe ${cmd#mpirun }"
        ;;
    esac
    if sh -c "$cmd" >"$TMP/out" 2>&1 </dev/null; then
        ok
        echo "ok: $example"
    else
        bad "README example failed: $example (run as: $cmd): $(tail -3 "$TMP/out")"
    fi
done <"$TMP/examples"

for f in "$SRC"/experiments/*.yaml; do
    if "$MDMLAB" plan "$f" >"$TMP/out" 2>&1; then ok; else bad "$f: $(tail -1 "$TMP/out")"; fi
done

cd / && rm -rf "$TMP"
echo "readme: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
