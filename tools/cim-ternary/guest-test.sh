#!/bin/sh
# SPDX-License-Identifier: MIT
#
# In the guest: cim-ternary train for one epoch on 300 MNIST images (conv
# 8 and 16 filters, no fp32 baseline), then the integer network on 100 test
# images on the APs of /dev/cim0, then the same on the embedded backend,
# then once more with the device chosen by CIM_DEVICE. Each run must find
# 0 mismatching predictions and 0 differing accumulators against the
# software integer model (cim-ternary exits 1 otherwise), and every number
# but the guest's seconds must agree between /dev/cim0 and embedded: the
# accuracies, the modelled AP energy and device time, the predictions'
# hash. TAP on stdout.
set -u

data=${CIM_TERNARY_DATA:-/data/mnist}
args="train --epochs 1 --limit 300 --test-limit 100 --channels 8,16 --no-fp32 --quiet --data-dir $data"
n=0
fails=0

result() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		fails=$((fails + 1))
	fi
}

echo "TAP version 13"
echo "1..5"
# shellcheck disable=SC2086
cim-ternary $args --device /dev/cim0 > /tmp/kern.out 2>&1
result $? "cim-ternary train on /dev/cim0"
# shellcheck disable=SC2086
cim-ternary $args --device embedded > /tmp/emb.out 2>&1
result $? "cim-ternary train on the embedded backend"
sed 's/^/# kernel:   /' /tmp/kern.out
sed 's/^/# embedded: /' /tmp/emb.out
grep -q "^mismatches: 0 of 100 predictions" /tmp/kern.out &&
	grep -q "conv1 0 of [1-9][0-9]*, conv2 0 of [1-9][0-9]*, fc 0 of 1000$" /tmp/kern.out
result $? "/dev/cim0: 0 mismatches and 0 differing accumulators vs software"
# the seconds are the guest's; the device differs by name only
strip() {
	sed -E -e 's/[0-9]+\.[0-9]+s/Xs/g' -e 's|/dev/cim0|DEVICE|' -e 's|embedded|DEVICE|' "$1"
}
strip /tmp/kern.out > /tmp/kern.cmp
strip /tmp/emb.out > /tmp/emb.cmp
cmp -s /tmp/kern.cmp /tmp/emb.cmp && grep -q "predictions [0-9a-f]\{8\})" /tmp/kern.cmp
result $? "the same numbers and predictions on both"
# shellcheck disable=SC2086
CIM_DEVICE=/dev/cim0 cim-ternary $args > /tmp/env.out 2>&1 &&
	grep -q "^ternary, APs (/dev/cim0)" /tmp/env.out
result $? "CIM_DEVICE=/dev/cim0 selects the kernel device"
[ "$fails" -eq 0 ]
