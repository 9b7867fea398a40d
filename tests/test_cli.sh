#!/bin/sh
# End-to-end tests of the mdmlab binary: help, bad input (one-line errors, non-zero exit),
# data generation, a tiny training run, evaluation, corrupt checkpoints, and resuming after
# SIGINT and kill -9 to the same loss curve as an uninterrupted run.
# usage: test_cli.sh PATH/TO/mdmlab
set -u
MDMLAB=$1
TMP=$(mktemp -d /tmp/mdmlab_cli_XXXXXX)
checks=0
failed=0

ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# expect_fail NAME PATTERN CMD...: non-zero exit, exactly one stderr line, matching PATTERN
expect_fail() {
    name=$1; pattern=$2; shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    lines=$(wc -l <"$TMP/err")
    if [ "$rc" -eq 0 ]; then bad "$name: exit code 0"; return; fi
    if [ "$lines" -ne 1 ]; then bad "$name: $lines stderr lines: $(cat "$TMP/err")"; return; fi
    if grep -Eq -- "$pattern" "$TMP/err"; then ok; else bad "$name: '$(cat "$TMP/err")' !~ /$pattern/"; fi
}

expect_ok() {
    name=$1; shift
    if "$@" >"$TMP/out" 2>"$TMP/err"; then ok; else bad "$name: exit $? $(tail -3 "$TMP/err")"; fi
}

# losses FILE: "step,loss" of train.csv rows
losses() { cut -d, -f1,2 "$1" | tail -n +2; }

# --- help and usage ---
for c in "--help" "train --help" "eval --help" "bench --help" "gen sudoku --help" "help train" "keys"; do
    # shellcheck disable=SC2086
    expect_ok "mdmlab $c" "$MDMLAB" $c
done
grep -q "model.d" "$TMP/out" && ok || bad "keys does not list model.d"
grep -q "^model.init" "$TMP/out" && ok || bad "keys does not list model.init"
grep -q "^model.rope" "$TMP/out" && ok || bad "keys does not list model.rope"
expect_fail "unknown command" "unknown command 'frobnicate'" "$MDMLAB" frobnicate
# every command's help (the commands `mdmlab --help` lists): the experiments/*.yaml files it
# names exist in the source tree, and no format escape leaks into it
SRC=$(cd "$(dirname "$0")/.." && pwd)
"$MDMLAB" --help | sed -n 's/^  \([a-z]*\) \([a-z]*\).*/\1 \2/p' >"$TMP/commands"
[ "$(wc -l <"$TMP/commands")" -ge 10 ] && ok || bad "mdmlab --help lists fewer than 10 commands"
: >"$TMP/help_all"
while read -r cmd sub; do
    # shellcheck disable=SC2086
    "$MDMLAB" $cmd $sub --help >>"$TMP/help_all" 2>&1 || bad "mdmlab $cmd $sub --help failed"
done <"$TMP/commands"
grep -q 'experiments/' "$TMP/help_all" && ok || bad "no help text names an experiments/ file"
for f in $(grep -o 'experiments/[A-Za-z0-9_./-]*\.yaml' "$TMP/help_all" | sort -u); do
    [ -f "$SRC/$f" ] && ok || bad "a help text names $f, which does not exist"
done
grep -q '%%' "$TMP/help_all" && bad "a help text prints a literal %%" || ok

# --- bad configs: one line naming file, line and key ---
printf 'model:\n  d: 64\n  layers: [1, 2\n' >"$TMP/malformed.yaml"
expect_fail "malformed yaml" "malformed.yaml:[0-9]+" "$MDMLAB" train "$TMP/malformed.yaml"
printf 'seed: 3\nmodel:\n  dd: 64\n' >"$TMP/unknown.yaml"
expect_fail "unknown key" "unknown.yaml:3.*model.dd" "$MDMLAB" train "$TMP/unknown.yaml"
printf 'train:\n  steps: 10\n  lr: fast\n' >"$TMP/type.yaml"
expect_fail "wrong type" "type.yaml:3.*train.lr" "$MDMLAB" train "$TMP/type.yaml"
expect_fail "bad override" "model.d" "$MDMLAB" train model.d=abc
expect_fail "unknown init" "model.init.*expected one of small, torch; got 'big'" "$MDMLAB" train model.init=big "out_dir=$TMP/x"
expect_fail "unknown rope" "model.rope.*expected one of standard, reference" "$MDMLAB" train model.rope=yarn "out_dir=$TMP/x"
expect_fail "missing file" "nope.yaml" "$MDMLAB" train "$TMP/nope.yaml"
expect_fail "unknown backend" "backend" "$MDMLAB" train backend=cuda99 "out_dir=$TMP/x"

# --- data generation ---
expect_ok "gen sudoku" "$MDMLAB" gen sudoku --count 20 --seed 3 -o "$TMP/p1.csv"
"$MDMLAB" gen sudoku --count 20 --seed 3 >"$TMP/p2.csv" 2>/dev/null
cmp -s "$TMP/p1.csv" "$TMP/p2.csv" && ok || bad "gen sudoku is not deterministic"
[ "$(wc -l <"$TMP/p1.csv")" -eq 21 ] && ok || bad "gen sudoku: expected header + 20 rows"
expect_fail "gen bad count" "count" "$MDMLAB" gen sudoku --count -3
# numeric options are plain integers within their range, and a clue range below the fewest
# clues of a unique puzzle is refused (issue 12)
expect_fail "gen count 1e12" "--count: expected an integer from 0 to 10000000, got '1e12'" \
    "$MDMLAB" gen sudoku --count 1e12 --seed 1
expect_fail "gen count 10^12" "--count: expected an integer from 0 to 10000000" \
    "$MDMLAB" gen sudoku --count 1000000000000 --seed 1
expect_fail "gen negative seed" "--seed: expected an integer from 0 to 2\^64-1, got '-1'" \
    "$MDMLAB" gen sudoku --count 1 --seed -1
expect_fail "gen box 4" "--box: expected 2 or 3, got '4'" "$MDMLAB" gen sudoku --count 1 --seed 1 --box 4
expect_fail "gen clues 0-0" "--clues: MIN must be at least 17 for 9x9 grids" \
    "$MDMLAB" gen sudoku --count 1 --seed 1 --clues 0-0
expect_fail "gen 4x4 clues 0-0" "--clues: MIN must be at least 4 for 4x4 grids" \
    "$MDMLAB" gen sudoku --count 1 --seed 1 --box 2 --clues 0-0
expect_fail "gen clues above the grid" "MIN <= MAX <= 81" "$MDMLAB" gen sudoku --count 1 --seed 1 --clues 30-90
"$MDMLAB" gen sudoku --help >"$TMP/gen_help.txt"
grep -q '0 to 10000000' "$TMP/gen_help.txt" && grep -q 'at least 17 for 9x9 and 4 for 4x4' "$TMP/gen_help.txt" &&
    ok || bad "gen sudoku --help does not give the count and clue limits"
# a range below what clue removal reaches: the puzzles, and one note counting those above MAX
if "$MDMLAB" gen sudoku --count 5 --seed 1 --clues 17-18 >"$TMP/sparse.csv" 2>"$TMP/err" &&
    [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q 'note: 5 of 5 puzzles have more than 18 clues' "$TMP/err" &&
    [ "$(wc -l <"$TMP/sparse.csv")" -eq 6 ]; then ok; else bad "gen --clues 17-18: $(cat "$TMP/err")"; fi
expect_fail "gen without a generator" "gen: task 'text' has no gen command \(tasks with one: sudoku, tinygsm\)" "$MDMLAB" gen text
expect_fail "score without scoring" "score: task 'sudoku' has no score command \(tasks with one: tinygsm\)" "$MDMLAB" score sudoku x.jsonl
expect_fail "gen without a task" "gen: expected a task" "$MDMLAB" gen
# a generated TinyGSM set carries its answers, so it scores N/N against itself
expect_ok "gen tinygsm" "$MDMLAB" gen tinygsm --count 25 --seed 4 -o "$TMP/gsm.jsonl"
expect_ok "score generated tinygsm" "$MDMLAB" score tinygsm "$TMP/gsm.jsonl"
grep -q '^25/25 correct' "$TMP/out" && ok || bad "generated rows do not score 25/25: $(cat "$TMP/out")"
expect_fail "no training examples" "task.train_count' is 0" "$MDMLAB" train task.train_count=0 \
    "out_dir=$TMP/zero"

# every registered task, process and backend is named where a user looks for it: --help,
# the keys listing, bench --help and the unknown-name errors
"$MDMLAB" keys >"$TMP/keys.txt" 2>&1
registered=$(sed -n 's/^values of the registered kinds: //p' "$TMP/keys.txt")
[ -n "$registered" ] && ok || bad "keys does not list the registered kinds"
"$MDMLAB" --help >"$TMP/help.txt" 2>&1
"$MDMLAB" bench --help >"$TMP/bench_help.txt" 2>&1
"$MDMLAB" train process=nope "out_dir=$TMP/x" >"$TMP/err_process.txt" 2>&1
"$MDMLAB" train task.name=nope "out_dir=$TMP/x" >"$TMP/err_task.txt" 2>&1
"$MDMLAB" train backend=nope "out_dir=$TMP/x" >"$TMP/err_backend.txt" 2>&1
for kind in task.name process backend; do
    names=$(echo "$registered" | tr ';' '\n' | sed -n "s/^ *$kind: //p" | tr -d ',')
    [ -n "$names" ] && ok || bad "keys lists no $kind values"
    for name in $names; do
        [ "$name" = auto ] && continue
        grep -q "\b$name\b" "$TMP/help.txt" && ok || bad "--help does not name $kind '$name'"
        case $kind in
        task.name) f=err_task ;;
        process) f=err_process; grep -q "\b$name\b" "$TMP/bench_help.txt" && ok || bad "bench --help does not name process '$name'" ;;
        backend) f=err_backend ;;
        esac
        grep -q "\b$name\b" "$TMP/$f.txt" && ok || bad "the unknown-$kind error does not list '$name'"
    done
done
# the public CSV layouts load by column name (issue 12): sudoku-extreme and Kaggle's 3 million,
# and a headerless one-row file that starts with a UTF-8 BOM
DATA=$SRC/tests/data/sudoku
TINY9="backend=ref threads=1 model.d=16 model.layers=1 model.heads=2 model.ffn=16 train.steps=2
train.batch=2 train.eval_every=0"
# shellcheck disable=SC2086
expect_ok "train on sudoku-extreme, eval on Kaggle 3M" "$MDMLAB" train $TINY9 \
    "task.train_file=$DATA/sudoku_extreme.csv" "task.eval_file=$DATA/kaggle_3m.csv" "out_dir=$TMP/layouts"
printf '\357\273\277' >"$TMP/bom.csv"
sed -n 2p "$DATA/ours.csv" >>"$TMP/bom.csv"
# shellcheck disable=SC2086
expect_ok "train on a one-row file with a BOM" "$MDMLAB" train $TINY9 "task.train_file=$TMP/bom.csv" \
    "task.eval_file=$TMP/bom.csv" "out_dir=$TMP/bom"
printf 'id,quiz,sol\n' >"$TMP/badhead.csv"
expect_fail "CSV header without a puzzle column" \
    "badhead.csv:1: the header has no puzzle column \(its columns: id, quiz, sol; a puzzle column is named puzzle, quizzes or question" \
    "$MDMLAB" train "task.train_file=$TMP/badhead.csv" "out_dir=$TMP/badhead"
head -5 "$TMP/p1.csv" >"$TMP/badrow.csv"
echo "12345,678" >>"$TMP/badrow.csv"
expect_fail "bad dataset row" "badrow.csv:6" "$MDMLAB" train task.train_file="$TMP/badrow.csv" \
    "out_dir=$TMP/badrow"

# --- a tiny training run, then evaluation ---
cat >"$TMP/tiny.yaml" <<EOF
backend: ref
threads: 2
task: {box: 2, train_count: 500, eval_count: 32, min_clues: 6, max_clues: 8}
model: {d: 32, layers: 2, heads: 2, ffn: 64}
train: {steps: 60, batch: 16, lr: 0.003, warmup_steps: 10, log_every: 5, eval_every: 30, ckpt_every: 10}
eval: {batch: 32, extra: "topk:1,margin:2"}
EOF
RUN=$TMP/run
expect_ok "train tiny" "$MDMLAB" train "$TMP/tiny.yaml" "out_dir=$RUN"
for f in config.yaml metrics.jsonl train.csv eval.csv log.txt checkpoint.bin; do
    [ -s "$RUN/$f" ] && ok || bad "run dir lacks $f"
done
[ "$(losses "$RUN/train.csv" | wc -l)" -eq 13 ] && ok || bad "train.csv should have 13 rows"
# two evaluations (steps 30, 60) of three policy:k pairs each
[ "$(tail -n +2 "$RUN/eval.csv" | wc -l)" -eq 6 ] && ok || bad "eval.csv should have 6 rows"
grep -q '^60,topk,1,' "$RUN/eval.csv" && grep -q '^60,margin,2,' "$RUN/eval.csv" && ok ||
    bad "eval.csv lacks the eval.extra pairs"
ls "$RUN"/*.tmp >/dev/null 2>&1 && bad "temporary files left in run dir" || ok
expect_fail "resume with another model" "checkpoint.bin: checkpoint was written for a different" \
    "$MDMLAB" train "$TMP/tiny.yaml" "out_dir=$RUN" model.d=64 train.resume=auto
[ "$(losses "$RUN/train.csv" | wc -l)" -eq 13 ] && ok || bad "a refused resume changed train.csv"
# every key that is not execution, compute or observation is part of the resume check: a
# new optimizer key is covered without a list to update
expect_fail "resume with another lr" "checkpoint.bin: checkpoint was written for a different" \
    "$MDMLAB" train "$TMP/tiny.yaml" "out_dir=$RUN" train.lr=0.5 train.resume=auto
expect_ok "resume with other evaluation settings" "$MDMLAB" train "$TMP/tiny.yaml" "out_dir=$RUN" \
    eval.count=8 train.log_every=3 threads=1 train.resume=auto
[ "$(losses "$RUN/train.csv" | wc -l)" -eq 13 ] && ok || bad "a finished run's resume changed train.csv"
# a finished run is never replaced by accident (issue 12): a second fresh train into its
# directory, or resume=auto without a checkpoint, is refused with the way out; --overwrite
# replaces it; a refused or invalid run leaves no directory behind
cp "$RUN/train.csv" "$TMP/train.csv.before"
expect_fail "train into a finished run" "/run already holds a run \(checkpoint.bin\).*train.resume=auto.*--overwrite" \
    "$MDMLAB" train "$TMP/tiny.yaml" "out_dir=$RUN"
cmp -s "$RUN/train.csv" "$TMP/train.csv.before" && ok || bad "a refused train changed train.csv"
mkdir -p "$TMP/nockpt" && cp "$RUN/train.csv" "$TMP/nockpt/"
expect_fail "resume=auto without a checkpoint" "nockpt already holds a run \(train.csv\)" \
    "$MDMLAB" train "$TMP/tiny.yaml" "out_dir=$TMP/nockpt" train.resume=auto
expect_ok "train --overwrite" "$MDMLAB" train "$TMP/tiny.yaml" "out_dir=$TMP/nockpt" --overwrite \
    train.steps=5 train.eval_every=0
[ -s "$TMP/nockpt/checkpoint.bin" ] && ok || bad "--overwrite did not train"
expect_fail "invalid run leaves no dir" "task.name.*expected one of sudoku" "$MDMLAB" train task.name=chess "out_dir=$TMP/never"
[ -e "$TMP/never" ] && bad "a refused run created its directory" || ok
expect_ok "eval run dir" "$MDMLAB" eval "$RUN" --k 1,2
[ "$(grep -cE '^(topk|margin|entropy|random|l2r) ' "$TMP/out")" -eq 10 ] && ok || bad "eval should print 10 rows"
[ -s "$RUN/eval_results.json" ] && ok || bad "eval_results.json missing"
# MDLM's ancestral sampler: one row with its T, the passes per sequence and the idle steps
expect_ok "eval ancestral" "$MDMLAB" eval "$RUN" eval.sampler=ancestral eval.steps=32
[ "$(grep -cE '^ancestral +32 ' "$TMP/out")" -eq 1 ] && ok || bad "eval ancestral: expected one row"
grep -q '"policy":"ancestral","k":32,' "$RUN/eval_results.json" &&
    grep -qE '"nfe":[0-9.]+,"idle_step_ratio":0\.[0-9]+' "$RUN/eval_results.json" && ok ||
    bad "eval_results.json lacks the ancestral row's nfe and idle_step_ratio"
# model scheduling: a light model at some of the steps; all heavy saves nothing, L4,H8,L4 a part
expect_ok "train a light model" "$MDMLAB" train "$TMP/tiny.yaml" model.d=16 model.layers=1 \
    model.heads=2 model.ffn=32 train.steps=5 train.eval_every=0 "out_dir=$TMP/light"
saved() {
    "$MDMLAB" eval "$RUN" --json eval.sampler=ancestral eval.steps=16 \
        "eval.light_checkpoint=$TMP/light/checkpoint.bin" "eval.schedule=$1" |
        sed -n 's/.*"flops":\([0-9.e+]*\),"flops_saved":\([0-9.]*\),.*/\1 \2/p'
}
set -- $(saved H16)
[ -n "${1:-}" ] && [ "$2" = "0.000000" ] && ok || bad "schedule H16: flops '${1:-}', saved '${2:-}'"
set -- $(saved L4,H8,L4)
awk -v s="${2:-0}" 'BEGIN { exit !(s > 0 && s < 0.5) }' && ok || bad "schedule L4,H8,L4 saved '${2:-}'"
# step importance of the run against the light model: 8 time points, a TSV row each
expect_ok "step-importance" "$MDMLAB" step-importance "$RUN" --light "$TMP/light/checkpoint.bin" \
    --points 8 -o "$TMP/si"
[ "$(grep -vc '^#' "$TMP/si/step_importance.tsv")" -eq 8 ] && [ -s "$TMP/si/step_importance.gp" ] &&
    ok || bad "step-importance: expected 8 rows and a gnuplot script"
if command -v gnuplot >/dev/null; then
    [ -s "$TMP/si/step_importance.png" ] && ok || bad "step-importance: no figure"
fi
expect_fail "step-importance without --light" "--light CHECKPOINT is required" \
    "$MDMLAB" step-importance "$RUN"
# the Pareto front of rows: the cheapest point, and each point better than every cheaper one
printf '%s\n' '{"policy":"a","k":1,"nfe":1,"accuracy":0.5}' '{"policy":"b","k":1,"nfe":2,"accuracy":0.4}' \
    '{"policy":"c","k":1,"nfe":3,"accuracy":0.9}' '{"policy":"d","k":1,"nfe":3,"accuracy":0.8}' >"$TMP/rows.jsonl"
expect_ok "pareto" "$MDMLAB" pareto "$TMP/rows.jsonl" -o "$TMP/pareto"
[ "$(grep -v '^#' "$TMP/pareto/pareto.tsv" | cut -f1,4 | tr '\t\n' ':,')" = "a:1:1,b:1:0,c:1:1,d:1:0," ] &&
    ok || bad "pareto front: $(cat "$TMP/pareto/pareto.tsv")"
expect_ok "pareto --help" "$MDMLAB" pareto --help
printf '{"policy":"a","k":1,"accuracy":0.5}\n' >"$TMP/nocost.jsonl"
expect_fail "pareto row without the cost" "nocost.jsonl:1: field 'nfe' missing" "$MDMLAB" pareto "$TMP/nocost.jsonl"
# every placement of 1 light segment among 4: four schedules, a TSV row and a JSONL row each
expect_ok "schedule-search" "$MDMLAB" schedule-search "$RUN" --light "$TMP/light/checkpoint.bin" \
    --segments 4 --light-segments 1 eval.steps=8 -o "$TMP/ss"
# (after the all-heavy and all-light references)
[ "$(grep -vc '^#' "$TMP/ss/schedule_search.tsv")" -eq 6 ] && [ "$(wc -l <"$TMP/ss/rows.jsonl")" -eq 6 ] &&
    [ "$(grep -v '^#' "$TMP/ss/schedule_search.tsv" | head -2 | cut -f1 | tr '\n' ,)" = "H8,L8," ] &&
    grep -q '^L2,H6	' "$TMP/ss/schedule_search.tsv" && grep -q '^H6,L2	' "$TMP/ss/schedule_search.tsv" &&
    ok || bad "schedule-search: $(cat "$TMP/ss/schedule_search.tsv")"
[ -s "$TMP/ss/schedule_search.gp" ] && [ -s "$TMP/ss/pareto.gp" ] && ok || bad "schedule-search: no scripts"
# pareto reads the search's TSV by its header's column names, and names a bad cell's line
expect_ok "pareto of a TSV" "$MDMLAB" pareto "$TMP/ss/schedule_search.tsv" --cost flops -o "$TMP/pss"
[ "$(grep -vc '^#' "$TMP/pss/pareto.tsv")" -eq 6 ] && grep -q '^H8	' "$TMP/pss/pareto.tsv" &&
    ok || bad "pareto of a TSV: $(cat "$TMP/pss/pareto.tsv")"
printf '# schedule\tflops\taccuracy\nH8\t10\t0.5\nL8\tmany\t0.1\n' >"$TMP/bad.tsv"
expect_fail "pareto of a bad TSV" "bad.tsv:3: column 'flops': expected a number, got 'many'" \
    "$MDMLAB" pareto "$TMP/bad.tsv" --cost flops
# the policy decoder under a schedule: light for the first and last quarter of each puzzle's cells
expect_ok "eval margin scheduled" "$MDMLAB" eval "$RUN" --json --policy margin --k 1 eval.steps=4 \
    "eval.light_checkpoint=$TMP/light/checkpoint.bin" eval.schedule=L1,H2,L1
s=$(sed -n 's/.*"flops_saved":\([0-9.]*\),.*/\1/p' "$TMP/out")
awk -v s="${s:-0}" 'BEGIN { exit !(s > 0 && s < 0.5) }' && grep -q '"schedule":"L1,H2,L1"' "$TMP/out" &&
    ok || bad "margin with L1,H2,L1: $(cat "$TMP/out")"
expect_ok "schedule-search --policy" "$MDMLAB" schedule-search "$RUN" --light "$TMP/light/checkpoint.bin" \
    --policy margin --segments 4 --light-segments 2 eval.steps=4 -o "$TMP/ssp"
[ "$(grep -vc '^#' "$TMP/ssp/schedule_search.tsv")" -eq 8 ] && grep -q '"policy":"margin","k":1,"schedule":"L2,H2"' "$TMP/ssp/rows.jsonl" &&
    ok || bad "schedule-search --policy: $(cat "$TMP/ssp/rows.jsonl")"
# text: the schedule's quality is the samples' generative perplexity under an AR model
awk 'BEGIN { for (i = 0; i < 400; i++) printf "In the beginning %d was the word, and the word was %d.\n", i, i * 7 }' >"$TMP/corpus.txt"
text_run() { # OUT_DIR key=value...: a tiny text model
    out=$1; shift
    "$MDMLAB" train backend=ref threads=2 task.name=text task.tokenizer=byte task.seq_len=32 \
        "task.corpus=$TMP/corpus.txt" train.steps=4 train.batch=8 train.eval_every=0 \
        eval.batch=8 "out_dir=$out" "$@" >"$TMP/out" 2>"$TMP/err"
}
text_run "$TMP/theavy" model.d=32 model.layers=2 model.heads=2 model.ffn=64 && ok || bad "text heavy: $(cat "$TMP/err")"
text_run "$TMP/tlight" model.d=16 model.layers=1 model.heads=2 model.ffn=32 && ok || bad "text light: $(cat "$TMP/err")"
text_run "$TMP/tar" process=ar model.causal=true model.shift_logits=true model.d=16 model.layers=1 \
    model.heads=2 model.ffn=32 && ok || bad "text AR: $(cat "$TMP/err")"
expect_ok "text eval scheduled" "$MDMLAB" eval "$TMP/theavy" --json --gen-ppl "$TMP/tar/checkpoint.bin" \
    eval.sampler=ancestral eval.steps=8 eval.samples=4 "eval.light_checkpoint=$TMP/tlight/checkpoint.bin" \
    eval.schedule=L2,H4,L2
grep -qE '"gen_ppl":[0-9.e+]+,"gen_ppl_lo95":[0-9.e+]+,"gen_ppl_hi95":[0-9.e+]+,.*"entropy":[0-9.]+' "$TMP/out" &&
    grep -q '"schedule":"L2,H4,L2"' "$TMP/out" && ok || bad "text eval scheduled: $(cat "$TMP/out")"
expect_ok "text schedule-search" "$MDMLAB" schedule-search "$TMP/theavy" --light "$TMP/tlight/checkpoint.bin" \
    --gen-ppl "$TMP/tar/checkpoint.bin" --segments 4 --light-segments 1 eval.steps=8 eval.samples=4 -o "$TMP/tss"
[ "$(grep -vc '^#' "$TMP/tss/schedule_search.tsv")" -eq 6 ] && grep -q '^# schedule	flops	flops_saved	gen_ppl' "$TMP/tss/schedule_search.tsv" &&
    grep -q '"gen_ppl":' "$TMP/tss/rows.jsonl" && [ -s "$TMP/tss/pareto.tsv" ] &&
    ok || bad "text schedule-search: $(cat "$TMP/tss/schedule_search.tsv")"
expect_fail "text schedule-search without a scorer" "has no accuracy to compare by; give --gen-ppl" \
    "$MDMLAB" schedule-search "$TMP/theavy" --light "$TMP/tlight/checkpoint.bin"
# a lower-is-better quality: the front is each point lower than every cheaper one
printf '%s\n' '{"policy":"a","k":1,"nfe":1,"gen_ppl":50}' '{"policy":"b","k":1,"nfe":2,"gen_ppl":60}' \
    '{"policy":"c","k":1,"nfe":3,"gen_ppl":20}' >"$TMP/ppl.jsonl"
expect_ok "pareto gen_ppl" "$MDMLAB" pareto "$TMP/ppl.jsonl" --quality gen_ppl -o "$TMP/pppl"
[ "$(grep -v '^#' "$TMP/pppl/pareto.tsv" | cut -f1,4 | tr '\t\n' ':,')" = "a:1:1,b:1:0,c:1:1," ] &&
    ok || bad "pareto gen_ppl front: $(cat "$TMP/pppl/pareto.tsv")"
# a sweep file given to train: the error says to run it with sweep
printf 'seeds: [1, 2]\ntrain: {steps: 5}\n' >"$TMP/asweep.yaml"
expect_fail "train on a sweep file" "asweep.yaml is a sweep file \(it has 'seeds:'\): run it with mdmlab sweep" \
    "$MDMLAB" train "$TMP/asweep.yaml"
# eval builds only the split it evaluates: a run whose training file is gone still evaluates
head -21 "$TMP/p1.csv" >"$TMP/gone.csv"
expect_ok "train from a file" "$MDMLAB" train "$TMP/tiny.yaml" task.box=3 task.min_clues=0 task.max_clues=0 \
    task.train_file="$TMP/gone.csv" task.eval_count=8 \
    train.steps=2 train.eval_every=0 "out_dir=$TMP/gone"
rm -f "$TMP/gone.csv"
expect_ok "eval without the training file" "$MDMLAB" eval "$TMP/gone" --policy margin --k 1
expect_fail "schedule not summing to eval.steps" "eval.schedule.*sum to 12 steps, eval.steps is 16" \
    "$MDMLAB" eval "$RUN" eval.sampler=ancestral eval.steps=16 \
    "eval.light_checkpoint=$TMP/light/checkpoint.bin" eval.schedule=L4,H8
# a run directory whose path holds a quote and a backslash still gives valid JSON
ODD="$TMP/quo\"te\\back"
cp -r "$RUN" "$ODD"
expect_ok "eval odd path" "$MDMLAB" eval "$ODD" --policy topk --k 1
python3 -c 'import json, sys
d = json.load(open(sys.argv[1] + "/eval_results.json"))
assert d["checkpoint"] == sys.argv[1] + "/checkpoint.bin", d["checkpoint"]' "$ODD" && ok ||
    bad "eval_results.json of a path with a quote and a backslash is not valid JSON"
expect_fail "eval bad policy" "policy" "$MDMLAB" eval "$RUN" --policy best

# --- corrupt and truncated checkpoints ---
cp "$RUN/checkpoint.bin" "$TMP/corrupt.bin"
printf '\377' | dd of="$TMP/corrupt.bin" bs=1 seek=5000 conv=notrunc 2>/dev/null
expect_fail "corrupt checkpoint" "corrupt.bin.*(checksum|corrupt)" "$MDMLAB" eval "$TMP/corrupt.bin"
head -c 3000 "$RUN/checkpoint.bin" >"$TMP/trunc.bin"
expect_fail "truncated checkpoint" "trunc.bin" "$MDMLAB" eval "$TMP/trunc.bin"
echo "hello" >"$TMP/notckpt.bin"
expect_fail "not a checkpoint" "notckpt.bin" "$MDMLAB" eval "$TMP/notckpt.bin"

# --- interruption: SIGINT and kill -9, then resume to the identical loss curve ---
LONG="$TMP/tiny.yaml train.steps=400 train.eval_every=0 train.ckpt_every=25 train.log_every=1"
# shellcheck disable=SC2086
"$MDMLAB" train $LONG "out_dir=$TMP/full" >/dev/null 2>&1 && ok || bad "uninterrupted run failed"

interrupt_and_resume() { # SIGNAL DIR
    sig=$1; dir=$2
    # shellcheck disable=SC2086
    "$MDMLAB" train $LONG "out_dir=$dir" >/dev/null 2>"$TMP/int.err" &
    pid=$!
    n=0
    while [ ! -f "$dir/checkpoint.bin" ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
    sleep 0.3
    kill "-$sig" "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    if [ "$sig" = INT ]; then
        [ "$rc" -eq 130 ] && ok || bad "SIGINT: exit $rc, expected 130 (finished too early?)"
    else
        [ "$rc" -ne 0 ] && ok || bad "kill -9: run finished before it was killed"
    fi
    # shellcheck disable=SC2086
    "$MDMLAB" train $LONG "out_dir=$dir" train.resume=auto >/dev/null 2>&1 && ok ||
        bad "resume after $sig failed"
    if [ "$(losses "$dir/train.csv")" = "$(losses "$TMP/full/train.csv")" ]; then ok; else
        bad "loss curve after $sig + resume differs from the uninterrupted run"
    fi
}
interrupt_and_resume INT "$TMP/sigint"
interrupt_and_resume KILL "$TMP/sigkill"

# --- benchmark JSON ---
expect_ok "bench json" "$MDMLAB" bench --box 2 --d 32 --layers 1 --heads 2 --ffn 64 --batch 4 \
    --steps 2 --warmup 1 --process random,puma --json
nb=$(grep -c '"backend"' "$TMP/out")
[ "$nb" -ge 2 ] && ok || bad "bench printed fewer than 2 JSON rows"
[ "$(grep -c '"overhead_vs_random"' "$TMP/out")" -eq $((nb / 2)) ] && ok || bad "bench: no PUMA overhead"
python3 -c 'import json, sys
[json.loads(line) for line in open(sys.argv[1])]' "$TMP/out" && ok || bad "bench --json rows are not JSON"
for key in backend process step_s tokens_per_s gflops peak_fraction peak_rss_mb; do
    [ "$(grep -c "\"$key\":" "$TMP/out")" -eq "$nb" ] && ok || bad "bench JSON lacks $key"
done
expect_fail "bench bad process" "unknown process 'nope'" "$MDMLAB" bench --process nope
# bench configures the model each process needs (AR: causal, shifted): every process runs
expect_ok "bench every process" "$MDMLAB" bench --backend ref --process random,puma,block,ar \
    --d 16 --layers 1 --heads 2 --ffn 16 --box 2 --layout inplace --steps 1 --warmup 0 --threads 1
[ "$(grep -cE '^ref +(random|puma|block|ar) ' "$TMP/out")" -eq 4 ] && ok ||
    bad "bench did not time all four processes: $(cat "$TMP/out")"

echo "cli: $checks checks, $failed failed"
[ "$failed" -eq 0 ] && rm -rf "$TMP"
[ "$failed" -eq 0 ]
