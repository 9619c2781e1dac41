#!/bin/sh
# SPDX-License-Identifier: MIT
#
# In the guest: one epoch of LeNet-5 on 1,000 MNIST images through
# /dev/cim0, then the same on an embedded device of the same seed (cim-pci's
# default seed is 1, cim-train's --chip-seed default too). Every number
# the tool prints but the host's wall-clock seconds must agree: loss and
# accuracies, pulses, energy and modelled device time. TAP on stdout.
set -u

data=${CIM_TRAIN_DATA:-/data/mnist}
args="--epochs 1 --train-limit 1000 --test-limit 500 --quiet --data-dir $data"
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
echo "1..3"
# shellcheck disable=SC2086
cim-train --device /dev/cim0 $args > /tmp/kern.out 2>&1
result $? "cim-train on /dev/cim0"
# shellcheck disable=SC2086
cim-train --device embedded $args > /tmp/emb.out 2>&1
result $? "cim-train on the embedded backend"
sed 's/^/# kernel:   /' /tmp/kern.out
sed 's/^/# embedded: /' /tmp/emb.out
# the seconds are the guest's; the device column differs by name only
strip() {
	sed -e 's/| [0-9.]*s |/| |/' -e 's|/dev/cim0|DEVICE|' -e 's|embedded|DEVICE|' "$1"
}
strip /tmp/kern.out > /tmp/kern.cmp
strip /tmp/emb.out > /tmp/emb.cmp
cmp -s /tmp/kern.cmp /tmp/emb.cmp && grep -q "epoch  1/1" /tmp/kern.cmp
result $? "the same numbers on both"
[ "$fails" -eq 0 ]
