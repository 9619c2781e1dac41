#!/bin/sh
# SPDX-License-Identifier: MIT
#
# usage: test-idx.sh CIM-TRAIN
#
# Host test of cim-train's input checks: truncated, corrupt and mismatched
# IDX files and a corrupt or truncated checkpoint each give one clear error
# naming the file; a good set trains; the scheme, split, preset, transfer
# and sweep flags work on short runs. Uses build/data/mnist (fetched by
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

# the paper's scheme: DUU outer products, threshold pulses, no decay
"$bin" --data-dir "$tmp/d" --backend device --scheme paper --epochs 1 \
	--train-limit 64 --test-limit 64 --epsilon 2 --n-max 7 --quiet \
	>"$tmp/out" 2>"$tmp/err" && grep -q "scheme paper (plain SGD)" "$tmp/out"
ok $? "device training with --scheme paper, --epsilon and --n-max"
sed 's/^/# /' "$tmp/err"
"$bin" --data-dir "$tmp/d" --backend device --plain-sgd --epochs 1 \
	--train-limit 64 --test-limit 64 --quiet >"$tmp/out2" 2>&1 &&
	grep -q "scheme paper (plain SGD)" "$tmp/out2"
ok $? "--plain-sgd is --scheme paper"

# the split: validation per epoch, the test set once at the end
"$bin" --data-dir "$tmp/d" --backend software --epochs 2 --train-limit 80 \
	--test-limit 64 --quiet --csv "$tmp/split.csv" >"$tmp/out" 2>&1 &&
	grep -q "70 train / 10 validation / 64 test" "$tmp/out" &&
	[ "$(grep -c "epoch  [12]/2: .* val [0-9.]*% lr" "$tmp/out")" -eq 2 ] &&
	! grep -q "epoch.* test " "$tmp/out" &&
	[ "$(grep -c "test accuracy (once, after epoch 2)" "$tmp/out")" -eq 1 ] &&
	awk -F, 'NR == 2 && $11 != "" { exit 1 } NR == 3 && $11 == "" { exit 1 }' \
		"$tmp/split.csv"
ok $? "validation split: val per epoch, test once"
"$bin" --data-dir "$tmp/d" --backend software --epochs 1 --train-limit 64 \
	--test-limit 64 --quiet --val 0 >"$tmp/out" 2>&1 &&
	grep -q "epoch  1/1: .* train [0-9.]*% test [0-9.]*% lr" "$tmp/out"
ok $? "--val 0: no validation, test per epoch"

# device presets by name, with modifiers; the kernel device is refused
"$bin" --data-dir "$tmp/d" --backend device --epochs 1 --train-limit 64 \
	--test-limit 64 --quiet --preset bulk-rram,no-noise >/dev/null 2>"$tmp/err"
ok $? "--preset bulk-rram,no-noise"
sed 's/^/# /' "$tmp/err"

# transfer onto two chips and a two-point sweep, CSV and PNG
"$bin" --data-dir "$tmp/d" --epochs 1 --train-limit 64 --test-limit 64 \
	--quiet --transfer --transfer-chips 2 --variation-sweep \
	--sweep-scales 0,2 --sweep-csv "$tmp/sweep.csv" >"$tmp/out" 2>"$tmp/err" &&
	grep -q "device-trained (.*): seed 2 .*, seed 3 .*; mean" "$tmp/out" &&
	grep -q "fp32-trained (.*): seed 2 .*, seed 3 .*; mean" "$tmp/out" &&
	[ "$(wc -l < "$tmp/sweep.csv")" -eq 3 ] &&
	head -1 "$tmp/sweep.csv" | grep -q ",fp32_seed3$"
ok $? "--transfer --transfer-chips 2 --variation-sweep (CSV)"
sed 's/^/# /' "$tmp/err"
if command -v gnuplot >/dev/null 2>&1; then
	"$bin" --data-dir "$tmp/d" --epochs 1 --train-limit 64 --test-limit 64 \
		--quiet --variation-sweep --sweep-scales 1 --transfer-chips 1 \
		--sweep-plot "$tmp/sweep.png" >/dev/null 2>"$tmp/err" &&
		[ -s "$tmp/sweep.png" ] && [ -s "$tmp/sweep.png.csv" ]
	ok $? "--sweep-plot writes a PNG and its CSV"
else
	n=$((n + 1))
	echo "ok $n --sweep-plot # SKIP no gnuplot"
fi

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
expect_err "unknown scheme" "--scheme sgd: default or paper" "--scheme sgd" 2
expect_err "paper scheme with decay" "--scheme paper: no --weight-decay" \
	"--scheme paper --weight-decay 1e-3" 2
expect_err "unknown preset" "--preset pcm,foo: foo is neither" \
	"--preset pcm,foo" 2
expect_err "validation as large as the set" "--val 64: at most 63" "--val 64" 2
expect_err "sweep on a kernel device" "--variation-sweep: needs --device embedded" \
	"--device /dev/cim0 --variation-sweep" 2
expect_err "a preset on a kernel device" "--preset pcm: a kernel device" \
	"--device /dev/cim0 --preset pcm" 2
expect_err "a sweep beyond the model's limits" "--sweep-scales 30: the scaled" \
	"--variation-sweep --sweep-scales 1,30" 2
expect_err "too few kernel devices, before training" "--transfer-chips 16: " \
	"--device /dev/cim0 --transfer --transfer-chips 16"
CIM_DEVICE=/dev/cim-none expect_err "CIM_DEVICE is used" "/dev/cim-none: " \
	"--backend device"

echo "1..$n"
[ "$fails" -eq 0 ]
