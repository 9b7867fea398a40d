#!/bin/sh
# The folders are layers (docs/DESIGN.md): a file may include headers of its own folder and of
# lower layers only, so the folder graph has no cycle and no arrow back up. Folders of one
# rank do not include each other.
#   base(0) <- backends, tasks, report (1) <- model, forward (2) <- run, sweep (3) <- cli (4)
# usage: test_layers.sh SOURCE_ROOT
set -u
cd "$1" || exit 1
rank() {
    case $1 in
    base) echo 0 ;;
    backends | tasks | report) echo 1 ;;
    model | forward) echo 2 ;;
    run | sweep) echo 3 ;;
    cli) echo 4 ;;
    *) echo "" ;;
    esac
}
checks=0
failed=0
for dir in base backends tasks report model forward run sweep cli; do
    from=$(rank "$dir")
    for f in $(find "$dir" -name '*.[ch]' | sort); do
        for target in $(sed -n 's/^#include "\([a-z_]*\)\/.*"/\1/p' "$f" | sort -u); do
            [ "$target" = "$dir" ] && continue
            checks=$((checks + 1))
            to=$(rank "$target")
            if [ -z "$to" ] || [ "$to" -ge "$from" ]; then
                failed=$((failed + 1))
                echo "FAIL: $f includes $target/ (layer ${to:-?}) from $dir/ (layer $from)"
            fi
        done
    done
done
[ "$checks" -gt 20 ] || { echo "FAIL: only $checks cross-folder includes found"; failed=$((failed + 1)); }
echo "layers: $checks cross-folder includes checked, $failed failed"
[ "$failed" -eq 0 ]
