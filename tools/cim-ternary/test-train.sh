#!/bin/sh
# SPDX-License-Identifier: MIT
#
# usage: test-train.sh CIM-TERNARY [SAN-CIM-TERNARY]
#
# Host test of cim-ternary train: a short run (1 epoch on 500 MNIST
# images, 200 test images) on the embedded backend must find 0 mismatching
# predictions and 0 differing accumulators between the APs and the software
# integer model, with the default partial-sum group and with group 1; the
# same run twice gives the same numbers; bad options and bad or missing
# data give one clear error each. With SAN-CIM-TERNARY (the tool built with
# ASan and UBSan), the short run once more under the sanitizers. Uses
# build/data/mnist (fetched by tools/data/fetch-mnist.sh). TAP on stdout.
set -u

bin=$1
san=${2:-}
top=$(cd "$(dirname "$0")/../.." && pwd)
data=$("$top/tools/data/fetch-mnist.sh") || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
short="--data-dir $data --limit 500 --test-limit 200 --epochs 1 --channels 8,16 --quiet"
n=0
fails=0

ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; fails=$((fails + 1)); fi
}

# the host's seconds are the only numbers allowed to differ between runs
strip() {
	sed -E 's/[0-9]+\.[0-9]+s/Xs/g' "$1"
}

# expect_err NAME STATUS PATTERN ARGS...: cim-ternary exits with STATUS
# (1: an error, 2: a usage error) and stderr matches PATTERN
expect_err() {
	name=$1
	want=$2
	pat=$3
	shift 3
	"$bin" "$@" >/dev/null 2>"$tmp/err"
	rc=$?
	grep -q -- "$pat" "$tmp/err" && [ "$rc" -eq "$want" ]
	ok $? "$name (exit $rc)"
	sed 's/^/# /' "$tmp/err"
}

echo "TAP version 13"
# shellcheck disable=SC2086
CIM_DEVICE='' "$bin" train $short > "$tmp/a" 2>&1
ok $? "a short run trains and runs on the APs (exit 0)"
sed 's/^/# /' "$tmp/a"
grep -q "^mismatches: 0 of 200 predictions" "$tmp/a"
ok $? "0 mismatching predictions, AP vs software"
grep -q "conv1 0 of [1-9][0-9]*, conv2 0 of [1-9][0-9]*, fc 0 of 2000$" "$tmp/a"
ok $? "0 differing accumulators in every layer"
grep -q "^ternary, APs (embedded)" "$tmp/a"
ok $? "the embedded backend by default"

# shellcheck disable=SC2086
"$bin" train $short --device embedded > "$tmp/b" 2>&1
strip "$tmp/a" > "$tmp/a.cmp"
strip "$tmp/b" > "$tmp/b.cmp"
cmp -s "$tmp/a.cmp" "$tmp/b.cmp"
ok $? "the same run twice: the same numbers"

# shellcheck disable=SC2086
"$bin" train $short --no-fp32 -g 1 > "$tmp/c" 2>&1 &&
	grep -q "^mismatches: 0 of 200 predictions" "$tmp/c" &&
	! grep -q "^fp32" "$tmp/c"
ok $? "group 1 (plain lowering), --no-fp32: 0 mismatches"
grep "^summary" "$tmp/c" | sed 's/^/# /'
# the AP predictions' hash: the same network, so the same predictions
hash() {
	sed -n 's/.*predictions \([0-9a-f]\{8\}\)).*/\1/p' "$1"
}
[ -n "$(hash "$tmp/a")" ] && [ "$(hash "$tmp/a")" = "$(hash "$tmp/c")" ]
ok $? "group 1 and group 4: the same predictions"
# shellcheck disable=SC2086
CIM_DEVICE=embedded:seed=5 "$bin" train $short --no-fp32 > "$tmp/d" 2>&1 &&
	grep -q "^ternary, APs (embedded:seed=5)" "$tmp/d" &&
	[ -n "$(hash "$tmp/d")" ] && [ "$(hash "$tmp/a")" = "$(hash "$tmp/d")" ]
ok $? "CIM_DEVICE selects the device (embedded:seed=5): the same predictions"
if [ -n "$san" ]; then
	# shellcheck disable=SC2086
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$san" train $short --no-fp32 -g 3 > "$tmp/s" 2>&1 &&
		grep -q "^mismatches: 0 of 200 predictions" "$tmp/s" &&
		[ "$(hash "$tmp/a")" = "$(hash "$tmp/s")" ]
	ok $? "under ASan and UBSan, group 3: exit 0, the same predictions"
	grep -v "^ " "$tmp/s" | sed 's/^/# /'
fi

expect_err "--epochs 0" 2 "--epochs 0: expected an integer" train --epochs 0
expect_err "--epochs 2x" 2 "--epochs 2x: expected an integer" train --epochs 2x
expect_err "--seed -1" 2 "--seed -1: expected an integer" train --seed -1
expect_err "--lr 0" 2 "--lr 0: expected a number" train --lr 0
expect_err "--channels 8" 2 "--channels 8: expected C1,C2" train --channels 8
expect_err "--channels 8,16,4" 2 "--channels 8,16,4: expected C1,C2" train --channels 8,16,4
expect_err "--limit 0x10" 2 "--limit 0x10: expected an integer" train --limit 0x10
expect_err "--group 7" 2 "--group 7: expected an integer in 1..6" train --group 7
expect_err "--dataset" 2 "--dataset cifar: mnist or fashion" train --dataset cifar
expect_err "stray argument" 2 "unexpected argument 'extra'" train extra
expect_err "unknown option" 2 "cim-ternary train: unrecognized option '--bogus'" train --bogus
expect_err "unknown command" 2 "unknown command 'trian'" trian
expect_err "resnet -g 0" 2 "-g 0: expected 1..6" -g 0
expect_err "resnet -p" 2 "-p foo: expected default, stt-tcam or destiny" -p foo
expect_err "resnet -s" 2 "-s abc: expected 0..4294967295" -s abc
expect_err "resnet -s 0x10" 2 "-s 0x10: expected 0..4294967295" -s 0x10
expect_err "resnet stray argument" 2 "unexpected argument 'extra'" resnet extra
expect_err "missing dataset" 1 "$tmp/none/train-images-idx3-ubyte: .*fetch-mnist.sh" \
	train --data-dir "$tmp/none"
# the t10k labels next to the train images: 2,000 labels for 8,000 images
mkdir "$tmp/bad"
cp "$data/train-images-idx3-ubyte" "$tmp/bad/"
cp "$data/t10k-labels-idx1-ubyte" "$tmp/bad/train-labels-idx1-ubyte"
expect_err "labels that do not match the images" 1 \
	"$tmp/bad/train-labels-idx1-ubyte: 2000 labels for 8000 images" \
	train --data-dir "$tmp/bad"
expect_err "bad device" 1 "/dev/cim-nonexistent: " \
	train --data-dir "$data" --limit 10 --device /dev/cim-nonexistent

"$bin" train --help > "$tmp/h" 2>&1 && grep -q -- "--dataset mnist|fashion" "$tmp/h"
ok $? "train --help"
"$bin" --help > "$tmp/h" 2>&1 && grep -q "cim-ternary train" "$tmp/h"
ok $? "--help names the train command"

echo "1..$n"
[ "$fails" -eq 0 ]
