#!/bin/sh
# SPDX-License-Identifier: MIT
#
# In the guest: one epoch of LeNet-5 on 1,000 MNIST images through
# /dev/cim0, then the same on an embedded device of the same seed (cim-pci's
# default seed is 1, cim-train's --chip-seed default too). Every number
# the tool prints but the host's wall-clock seconds must agree: loss and
# accuracies, pulses, energy and modelled device time. Then --transfer
# from /dev/cim0 onto the other kernel device, /dev/cim1 (cim-pci,seed=2),
# against the embedded transfer onto seed 2: the same numbers too.
# TAP on stdout.
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
echo "1..6"
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
	sed -e 's/| [0-9.]*s |/| |/' -e 's/ ([0-9.]*s)//g' \
		-e 's|/dev/cim0|DEVICE|' -e 's|embedded|DEVICE|' \
		-e 's|/dev/cim1 |CHIP |' -e 's|seed 2 |CHIP |' "$1"
}
strip /tmp/kern.out > /tmp/kern.cmp
strip /tmp/emb.out > /tmp/emb.cmp
cmp -s /tmp/kern.cmp /tmp/emb.cmp && grep -q "epoch  1/1" /tmp/kern.cmp
result $? "the same numbers on both"

targs="--epochs 1 --train-limit 300 --test-limit 200 --quiet --data-dir $data"
targs="$targs --transfer --transfer-chips 1"
# shellcheck disable=SC2086
cim-train --device /dev/cim0 $targs > /tmp/kern-t.out 2>&1
result $? "--transfer from /dev/cim0 onto /dev/cim1"
# shellcheck disable=SC2086
cim-train --device embedded $targs > /tmp/emb-t.out 2>&1
result $? "--transfer on the embedded backend, onto seed 2"
sed 's/^/# kernel:   /' /tmp/kern-t.out
sed 's/^/# embedded: /' /tmp/emb-t.out
strip /tmp/kern-t.out > /tmp/kern-t.cmp
strip /tmp/emb-t.out > /tmp/emb-t.cmp
cmp -s /tmp/kern-t.cmp /tmp/emb-t.cmp && grep -q "fp32-trained.*CHIP" /tmp/kern-t.cmp
result $? "the same transfer numbers on both"
[ "$fails" -eq 0 ]
