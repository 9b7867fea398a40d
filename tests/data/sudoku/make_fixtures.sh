#!/bin/sh
# Writes the CSV fixtures of tests/test_sudoku.c: the same four generated 9x9 puzzles in each
# public layout the loader accepts. Columns other than the puzzle and the solution carry
# placeholder values (the loader ignores them).
# usage: tests/data/sudoku/make_fixtures.sh PATH/TO/mdmlab
set -eu
MDMLAB=$1
DIR=$(dirname "$0")
"$MDMLAB" gen sudoku --count 4 --seed 2026 --clues 24-32 -o "$DIR/ours.csv"
# layout HEADER AWK-ROW: the rows of ours.csv as $1 = puzzle ('.' blanks in $3), $2 = solution
layout() {
    echo "$1"
    tail -n +2 "$DIR/ours.csv" | awk -F, "{ dotted = \$1; gsub(/0/, \".\", dotted);
        clues = 81 - gsub(/0/, \"0\", \$1); $2 }"
}
layout "quizzes,solutions" 'print $1 "," $2' >"$DIR/kaggle_1m.csv"
layout "id,puzzle,solution,clues,difficulty" \
    'print NR - 1 "," dotted "," $2 "," clues ",0.0"' >"$DIR/kaggle_3m.csv"
layout "source,question,answer,rating" \
    'print "mdmlab_gen_seed_2026," dotted "," $2 ",0"' >"$DIR/sudoku_extreme.csv"
