#!/bin/sh
# SPDX-License-Identifier: MIT
#
# usage: test-idx.sh CIM-TRAIN
#
# Host test of cim-train's input checks: truncated, corrupt and mismatched
# IDX files and a corrupt or truncated checkpoint each give one clear error
# naming the file; a good set trains. Uses build/data/mnist (fetched by
# tools/data/fetch-mnist.sh). TAP on stdout.
set -u

bin=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
src=$("$top/tools/data/fetch-mnist.sh") || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0

ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; fails=$((fails + 1)); fi
}

fresh() {
	rm -rf "$tmp/d"
	mkdir -p "$tmp/d"
	cp "$src"/*-ubyte "$tmp/d/"
}

# expect_err NAME PATTERN [ARGS [STATUS]]: cim-train exits with STATUS
# (default 1, an error; 2 is a usage error) and stderr matches PATTERN
expect_err() {
	# shellcheck disable=SC2086 # ARGS are several words
	"$bin" --data-dir "$tmp/d" --backend software --epochs 1 \
		--train-limit 64 --test-limit 64 --quiet ${3:-} >/dev/null 2>"$tmp/err"
	rc=$?
	grep -q -- "$2" "$tmp/err" && [ "$rc" -eq "${4:-1}" ]
	ok $? "$1 (exit $rc)"
	sed 's/^/# /' "$tmp/err"
}

echo "TAP version 13"
fresh
"$bin" --data-dir "$tmp/d" --backend both --epochs 1 --train-limit 64 \
	--test-limit 64 --quiet --checkpoint "$tmp/ck" >/dev/null 2>&1
ok $? "a good set trains on both backends"

# plain SGD keeps weight decay: fc1's 400 unit vectors exceed the batch
"$bin" --data-dir "$tmp/d" --backend device --plain-sgd --epochs 1 \
	--train-limit 64 --test-limit 64 --quiet >/dev/null 2>"$tmp/err"
ok $? "device training with --plain-sgd and weight decay"
sed 's/^/# /' "$tmp/err"

fresh
head -c 1000 "$src/train-images-idx3-ubyte" > "$tmp/d/train-images-idx3-ubyte"
expect_err "truncated images" "train-images-idx3-ubyte: truncated"

fresh
head -c 6 "$src/t10k-labels-idx1-ubyte" > "$tmp/d/t10k-labels-idx1-ubyte"
expect_err "truncated header" "t10k-labels-idx1-ubyte: truncated"

fresh
printf '\377' | dd of="$tmp/d/train-labels-idx1-ubyte" bs=1 seek=2 conv=notrunc 2>/dev/null
expect_err "bad magic" "train-labels-idx1-ubyte: not an IDX file"

fresh
cat "$src/t10k-images-idx3-ubyte" /dev/null > "$tmp/d/t10k-images-idx3-ubyte"
printf 'xx' >> "$tmp/d/t10k-images-idx3-ubyte"
expect_err "trailing data" "t10k-images-idx3-ubyte: trailing data"

fresh
cp "$src/t10k-labels-idx1-ubyte" "$tmp/d/train-labels-idx1-ubyte"
expect_err "labels and images disagree" "train-labels-idx1-ubyte: 2000 labels for 8000"

fresh
printf '\012' | dd of="$tmp/d/t10k-labels-idx1-ubyte" bs=1 seek=8 conv=notrunc 2>/dev/null
expect_err "label out of range" "t10k-labels-idx1-ubyte: label 10"

rm -rf "$tmp/d"
expect_err "missing file" "train-images-idx3-ubyte: No such file"

# checkpoints: written by the first test (device backend: the last one)
fresh
cp "$tmp/ck" "$tmp/ck2"
printf '\001' | dd of="$tmp/ck2" bs=1 seek=200 conv=notrunc 2>/dev/null
expect_err "corrupt checkpoint" "ck2: checksum mismatch" \
	"--backend device --checkpoint $tmp/ck2 --resume --epochs 2"
head -c 300 "$tmp/ck" > "$tmp/ck3"
expect_err "truncated checkpoint" "ck3: truncated checkpoint" \
	"--backend device --checkpoint $tmp/ck3 --resume --epochs 2"
"$bin" --data-dir "$tmp/d" --backend device --epochs 2 --train-limit 64 \
	--test-limit 64 --quiet --checkpoint "$tmp/ck" --resume >"$tmp/out" 2>&1 &&
	grep -q "epoch  2/2" "$tmp/out"
ok $? "resume from a good checkpoint"
! ls "$tmp"/ck.tmp* >/dev/null 2>&1
ok $? "no temporary checkpoint left behind"
fresh
expect_err "non-numeric option" "--epochs 2x: expected an integer" "--epochs 2x" 2
expect_err "batch too large" "--batch 5000: expected an integer in 1..4096" "--batch 5000" 2
expect_err "negative seed" "--seed -1: expected an integer" "--seed -1" 2
expect_err "bad learning rate" "--lr nan: expected a number in" "--lr nan" 2
expect_err "unknown backend" "--backend gpu: device, software or both" "--backend gpu" 2
expect_err "unknown option" "unrecognized option" "--no-such-option" 2

echo "1..$n"
[ "$fails" -eq 0 ]
