#!/bin/sh
# Parity with PyTorch: make_parity.py writes the reference cases, test_torch_parity checks
# mdmlab against them. Skips (exit 77) where python3-torch is missing.
# Usage: test_torch_parity.sh MAKE_PARITY_PY TEST_BINARY
set -eu
script=$1
binary=$2
if ! /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then
    echo "SKIP torch_parity: python3-torch is not installed (apt-get install python3-torch)"
    exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 "$script" "$dir"
"$binary" "$dir"
