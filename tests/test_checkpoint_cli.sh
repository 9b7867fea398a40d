#!/bin/sh
# Damaged checkpoints end to end (issue 12): `eval` and resuming `train` refuse each with one
# stderr line that names the file, a non-zero exit and no signal, within a fraction of a second
# (before any data or model is built), and leave the files they refuse as they were. The damage
# is sealed with a valid checksum, as a writer with a bug would leave it.
# usage: test_checkpoint_cli.sh PATH/TO/mdmlab
set -u
MDMLAB=$1
TMP=$(mktemp -d /tmp/mdmlab_ckpt_cli_XXXXXX)
checks=0
failed=0

ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); failed=$((failed + 1)); echo "FAIL: $*" >&2; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# expect_refusal NAME PATTERN CMD...: exit 1 (not a signal), one stderr line matching PATTERN,
# within 5 s (building the default model and data took 10 to 20 s; a hang guard for loaded machines)
expect_refusal() {
    name=$1; pattern=$2; shift 2
    t0=$(now_ms)
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    ms=$(($(now_ms) - t0))
    lines=$(wc -l <"$TMP/err")
    if [ "$rc" -ne 1 ]; then bad "$name: exit code $rc: $(cat "$TMP/err")"; return; fi
    if [ "$lines" -ne 1 ]; then bad "$name: $lines stderr lines: $(cat "$TMP/err")"; return; fi
    if ! grep -Eq -- "$pattern" "$TMP/err"; then bad "$name: '$(cat "$TMP/err")' !~ /$pattern/"; return; fi
    if [ "$ms" -gt 5000 ]; then bad "$name: refused after $ms ms"; return; fi
    ok
}

# damage SRC DST EDIT: DST is SRC edited by EDIT (see below), checksum resealed
damage() {
    python3 - "$1" "$2" "$3" <<'EOF'
import math, struct, sys
src, dst, edit = sys.argv[1:]
d = open(src, 'rb').read()
n, = struct.unpack_from('<I', d, 12)
step, = struct.unpack_from('<q', d, 16)
clen, = struct.unpack_from('<Q', d, 24)
config, pos, secs = d[32:32 + clen], 32 + clen, []
for _ in range(n):
    size, = struct.unpack_from('<Q', d, pos + 32)
    secs.append([d[pos:pos + 32].rstrip(b'\0'), bytearray(d[pos + 40:pos + 40 + size])])
    pos += 40 + size
kind, _, arg = edit.partition('=')
if kind == 'step':
    step = int(arg)
elif kind == 'drop':
    secs = [s for s in secs if s[0] != arg.encode()]
elif kind == 'nan':  # a NaN at float 3 of a section
    for s in secs:
        if s[0] == arg.encode():
            s[1][12:16] = struct.pack('<f', math.nan)
elif kind == 'config':  # text replaced: "OLD->NEW", or the whole config with "->NEW"
    old, new = arg.split('->')
    config = config.replace(old.encode(), new.encode()) if old else new.encode()
out = b'MDMLCKPT' + struct.pack('<IIqQ', 1, len(secs), step, len(config)) + config
for name, body in secs:
    out += name.ljust(32, b'\0') + struct.pack('<Q', len(body)) + bytes(body)
h = 0xcbf29ce484222325
for byte in out:
    h = ((h ^ byte) * 0x100000001b3) & 0xffffffffffffffff
open(dst, 'wb').write(out + struct.pack('<Q', h))
EOF
}

if ! command -v python3 >/dev/null 2>&1; then
    echo "SKIP: python3 is needed to build the damaged checkpoints"
    exit 77
fi

cat >"$TMP/tiny.yaml" <<EOF
backend: ref
threads: 1
task: {box: 2, train_count: 200, eval_count: 16, min_clues: 6, max_clues: 8}
model: {d: 8, layers: 1, heads: 2, ffn: 8}
train: {steps: 4, batch: 4, lr: 0.003, warmup_steps: 1, log_every: 2, eval_every: 0, ckpt_every: 2}
eval: {batch: 16}
EOF
RUN=$TMP/run
"$MDMLAB" train "$TMP/tiny.yaml" "out_dir=$RUN" >/dev/null 2>&1 && ok || bad "tiny run failed"
CKPT=$RUN/checkpoint.bin

# --- eval refuses each damaged checkpoint before building anything ---
for case in "negative-step|step=-3|step -3 is negative" \
    "no-params|drop=params|no 'params' section" \
    "nan-weight|nan=params|section 'params' holds nan at float 3 \(tensor 'wte', element 3\)" \
    "nan-ema|nan=ema|section 'ema' holds nan" \
    "empty-config|config=->|stored config is empty" \
    "default-config|config=->seed: 1|stored config does not describe the stored weights: its model \(d=256 layers=8" \
    "huge-model|config=d: 8->d: 4096|stored config does not describe the stored weights: its model \(d=4096" \
    "wider-model|config=d: 8->d: 16|stored config does not describe the stored weights" \
    "bad-config|config=ffn: 8->ffn: many|model.ffn" \
    "newline-key|config=->\"x\ny\": 1|unknown key 'x y'"; do
    name=${case%%|*}; rest=${case#*|}; edit=${rest%%|*}; pattern=${rest#*|}
    damage "$CKPT" "$TMP/$name.bin" "$edit"
    expect_refusal "eval $name" "$TMP/$name.bin:.*$pattern" "$MDMLAB" eval "$TMP/$name.bin"
done
head -c 2000 "$CKPT" >"$TMP/truncated.bin"
expect_refusal "eval truncated" "truncated.bin: truncated" "$MDMLAB" eval "$TMP/truncated.bin"

# --- resuming needs every piece of training state; the refused run keeps its files ---
for case in "adam_m|drop=adam_m|no 'adam_m' section \(the AdamW first moments\)" \
    "adam_v|drop=adam_v|no 'adam_v' section" \
    "ema|drop=ema|no 'ema' section \(the EMA weights\)"; do
    name=${case%%|*}; rest=${case#*|}; edit=${rest%%|*}; pattern=${rest#*|}
    dir=$TMP/resume-$name
    cp -r "$RUN" "$dir"
    damage "$CKPT" "$dir/checkpoint.bin" "$edit"
    cp "$dir/checkpoint.bin" "$TMP/before.bin"
    expect_refusal "resume without $name" \
        "$dir/checkpoint.bin: cannot resume: $pattern.*train.init_from=$dir/checkpoint.bin" \
        "$MDMLAB" train "$TMP/tiny.yaml" "out_dir=$dir" train.resume=auto
    cmp -s "$dir/checkpoint.bin" "$TMP/before.bin" && ok || bad "resume without $name changed the checkpoint"
    cmp -s "$dir/train.csv" "$RUN/train.csv" && ok || bad "resume without $name changed train.csv"
done
dir=$TMP/resume-step
cp -r "$RUN" "$dir"
damage "$CKPT" "$dir/checkpoint.bin" step=-3
expect_refusal "resume from a negative step" "checkpoint.bin: step -3 is negative" \
    "$MDMLAB" train "$TMP/tiny.yaml" "out_dir=$dir" train.resume=auto

# the remedy the message names works: a fresh run from the weights alone
"$MDMLAB" train "$TMP/tiny.yaml" "out_dir=$TMP/fresh" "train.init_from=$TMP/resume-adam_m/checkpoint.bin" \
    >/dev/null 2>"$TMP/err" && ok || bad "train.init_from a checkpoint without moments: $(cat "$TMP/err")"
# evaluation needs no optimizer state, and falls back to the weights without EMA
"$MDMLAB" eval "$TMP/resume-adam_m/checkpoint.bin" --policy topk --k 1 >/dev/null 2>"$TMP/err" && ok ||
    bad "eval of a checkpoint without moments: $(cat "$TMP/err")"
"$MDMLAB" eval "$TMP/resume-ema/checkpoint.bin" --policy topk --k 1 >/dev/null 2>"$TMP/err" && ok ||
    bad "eval of a checkpoint without EMA: $(cat "$TMP/err")"

# a stateful process (PUMA's pool) cannot resume without its state either
"$MDMLAB" train "$TMP/tiny.yaml" process=puma puma.K=2 "out_dir=$TMP/puma" >/dev/null 2>&1 && ok ||
    bad "tiny PUMA run failed"
damage "$TMP/puma/checkpoint.bin" "$TMP/puma/checkpoint.bin" drop=process
expect_refusal "resume PUMA without its state" \
    "puma/checkpoint.bin: cannot resume: no 'process' section \(the state of process 'puma'\)" \
    "$MDMLAB" train "$TMP/tiny.yaml" process=puma puma.K=2 "out_dir=$TMP/puma" train.resume=auto

rm -rf "$TMP"
echo "checkpoint_cli: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
