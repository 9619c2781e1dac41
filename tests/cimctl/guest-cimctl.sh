#!/bin/sh
# SPDX-License-Identifier: MIT
#
# cimctl against the cim-pci devices of the test VM (tools/cimctl/run-guest.sh
# packs it with cim.ko and cimctl): list, the summary, info, counters, reset
# as root, and reset refused to a user without root with a clear message.
# Runs as root under busybox; TAP on stdout, exit 1 when a test failed.
# CIM_SEEDS (from run-tests.sh: "1,2") are the devices' seeds.
# shellcheck shell=dash
set -u

cimctl=${CIMCTL:-cimctl}
sys=/sys/class/misc
out=/tmp/cimctl.out
err=/tmp/cimctl.err
n=0
fails=0

ok() {
	n=$((n + 1))
	echo "ok $n $1"
}

not_ok() {
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n $1"
	sed 's/^/# out: /' "$out"
	sed 's/^/# err: /' "$err"
}

# t DESC WANT_RC CMD...: stdout to $out, stderr to $err, expect exit WANT_RC
t() {
	desc=$1 want=$2
	shift 2
	rc=0
	"$@" < /dev/null > "$out" 2> "$err" || rc=$?
	if [ "$rc" -eq "$want" ]; then
		ok "$desc"
	else
		echo "exit $rc, expected $want: $*" >> "$err"
		not_ok "$desc"
	fi
}

# has DESC FILE PATTERN
has() {
	if grep -Eq -- "$3" "$2"; then ok "$1"; else
		echo "no match for /$3/" >> "$err"
		not_ok "$1"
	fi
}

# As user nobody, without root: busybox su as root asks no password
as_nobody() {
	su -s /bin/sh nobody -c "$*"
}

echo "TAP version 13"
if [ ! -e /dev/cim0 ]; then
	echo "1..0 # SKIP no /dev/cim0"
	exit 4
fi
echo "1..38"
seed0=${CIM_SEEDS%%,*}
[ "$seed0" = "-" ] && seed0=
grep -q '^nobody:' /etc/passwd ||
	echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >> /etc/passwd
grep -q '^nogroup:' /etc/group || echo 'nogroup:x:65534:' >> /etc/group

# Listing and the summary
t "list" 0 "$cimctl" list
has "list: cim0 with its PCI address" "$out" "^cim0: /dev/cim0 \(PCI [0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] \[[0-9a-f]{4}:[0-9a-f]{4}\]\), kernel, operational, 8 crossbars"
t "summary" 0 "$cimctl"
sed 's/^/# /' "$out"
has "summary: a row per device" "$out" "^0 +/dev/cim0 +[0-9a-f:.]+ +kernel +operational +[0-9]+ +[0-9.]+ [fpnum]?J +[0-9.]+ [pnum]?s +[0-9]+ +[0-9]+$"
has "summary: driver API" "$out" "driver API 1\.[0-9]+"
t "summary --json" 0 "$cimctl" --json
has "summary JSON names the devices" "$out" '"node": "/dev/cim0".*"backend": "kernel"'

# info
t "info -d cim0" 0 "$cimctl" info -d cim0
sed 's/^/# /' "$out"
has "info: kernel backend" "$out" "^Backend: +kernel$"
has "info: PCI address" "$out" "^PCI: +[0-9a-f]{4}:"
has "info: state" "$out" "^State: +operational$"
has "info: crossbar geometry" "$out" "^Crossbars: +[0-9]+, [0-9]+ rows x [0-9]+ cols$"
if [ -n "$seed0" ]; then
	has "info: the seed of cim-pci,seed=$seed0" "$out" "^Seed: +$seed0 "
else
	ok "info: the seed # SKIP no seed given"
fi
has "info: driver ABI" "$out" "^Driver ABI: +1\.[0-9]+$"
t "info --json of /dev/cim0" 0 "$cimctl" info --json -d /dev/cim0
has "info JSON" "$out" '"backend": "kernel".*"crossbars": \{"count": [0-9]+'

# counters
t "counters -d cim0" 0 "$cimctl" counters -d cim0
sed 's/^/# /' "$out"
has "counters: energy per unit" "$out" "^  xbar-array +[0-9.]+ [fpnum]?J +[0-9.]+ [pnum]?s$"
t "counters --watch, 2 samples, not a terminal" 0 "$cimctl" counters -d cim0 -w0.2 -n 2
[ "$(wc -l < "$out")" -eq 3 ] && ok "--watch: a header and a line per sample" ||
	not_ok "--watch: a header and a line per sample"

# characterize: /dev/cim0 gives the files an embedded device of its seed
# gives, both from a reset (relaxation runs on the device's clock, which
# every job moves and only a reset sets back)
if [ -n "$seed0" ]; then
	t "reset -d cim0 before characterize" 0 "$cimctl" reset -d cim0
	t "characterize -d cim0" 0 "$cimctl" characterize -d cim0 --pulses 20 -o /tmp/chk-cim0
	sed 's/^/# /' "$out"
	cp "$out" /tmp/chk-cim0.out
	t "characterize -d embedded:seed=$seed0" 0 "$cimctl" characterize -d "embedded:seed=$seed0" --pulses 20 -o /tmp/chk-emb
	same=yes
	for f in pulse levels residual relax; do
		cmp /tmp/chk-cim0/$f.csv /tmp/chk-emb/$f.csv >> "$err" 2>&1 || same=no
	done
	[ $same = yes ] && ok "characterize: the same CSVs on cim0 and embedded" ||
		not_ok "characterize: the same CSVs on cim0 and embedded"
	# the summaries differ in the device's name only
	tail -n +2 /tmp/chk-cim0.out > /tmp/chk-cim0.sum
	tail -n +2 "$out" > /tmp/chk-emb.sum
	if cmp -s /tmp/chk-cim0.sum /tmp/chk-emb.sum; then
		ok "characterize: the same summary"
	else
		diff /tmp/chk-cim0.sum /tmp/chk-emb.sum > "$err"
		not_ok "characterize: the same summary"
	fi
else
	for d in "reset before characterize" "characterize -d cim0" \
		 "characterize -d embedded" \
		 "characterize: the same CSVs" "characterize: the same summary"; do
		ok "$d # SKIP no seed given"
	done
fi

# reset as root
before=$(cat $sys/cim0/reset_count)
t "reset -d cim0 as root" 0 "$cimctl" reset -d cim0
has "reset reports the new count" "$out" "^cim0: reset \(reset count $((before + 1))\)$"
has "the device is operational again" $sys/cim0/device_state "^operational$"
t "counters after the reset" 0 "$cimctl" counters -d cim0

# reset without root: refused, with the message, and nothing happens
before=$(cat $sys/cim0/reset_count)
t "reset as nobody is refused" 1 as_nobody "$cimctl reset -d cim0"
has "the refusal says why" "$err" "^cimctl: reset needs root \(or CAP_SYS_ADMIN\)$"
# Even with the node open to everyone, the sysfs reset stays root's
chmod 0666 /dev/cim0
t "reset as nobody with /dev/cim0 open to all is refused" 1 as_nobody "$cimctl reset -d cim0"
chmod 0660 /dev/cim0
has "the refusal says why (sysfs)" "$err" "^cimctl: reset needs root \(or CAP_SYS_ADMIN\)$"
[ "$(cat $sys/cim0/reset_count)" -eq "$before" ] && ok "no reset happened" ||
	not_ok "no reset happened"

# Other errors
t "info as nobody: permission denied" 1 as_nobody "$cimctl info -d cim0"
has "EACCES is told apart" "$err" "^cimctl: cim0: open: permission denied .*\[EACCES\]$"
t "a device that does not exist" 1 "$cimctl" info -d cim9
has "ENOENT is told apart" "$err" "^cimctl: cim9: open: no such device .*\[ENOENT\]$"

[ $fails -eq 0 ] || { echo "# $fails of $n failed"; exit 1; }
