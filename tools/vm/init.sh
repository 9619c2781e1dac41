#!/bin/sh
# SPDX-License-Identifier: MIT
#
# /init of the cim test VM (busybox ash). mkinitramfs.sh copies it into the
# initramfs. It mounts the pseudo file systems, loads the modules listed in
# /etc/cim/modules, then, depending on cim.mode= on the kernel command line:
#
#   test  (default) runs every program listed in /etc/cim/tests and prints
#         kselftest-style TAP between the @@CIM-TAP-BEGIN@@ and
#         @@CIM-TAP-END@@ markers: one top-level result per module and per
#         test program, each program's own TAP nested with a "# " prefix;
#   shell an interactive shell on the serial console;
#   probe prints @@CIM-PROBE-OK@@ (run-tests.sh's KVM probe);
#
# and powers the machine off. Other parameters: cim.timeout=SECONDS (per
# test program, default 120), cim.filter=WORD (run only tests whose name
# contains WORD), cim.kmemleak=clear (debug kernel: before the modules are
# loaded, scan for leaks and mark what boot left as already reported, so
# that a later scan shows only what the tests leaked).
# shellcheck shell=dash
set -u
PATH=/bin:/sbin:/usr/bin:/usr/sbin
HOME=/root
export PATH HOME

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
hostname cim-vm
ip link set lo up 2>/dev/null

mode="test"
timeout=120
filter=
read -r cmdline < /proc/cmdline
for arg in $cmdline; do
	case $arg in
	cim.mode=*) mode=${arg#cim.mode=} ;;
	cim.timeout=*) timeout=${arg#cim.timeout=} ;;
	cim.filter=*) filter=${arg#cim.filter=} ;;
	cim.kmemleak=clear)
		if [ -w /sys/kernel/debug/kmemleak ]; then
			echo scan > /sys/kernel/debug/kmemleak
			echo clear > /sys/kernel/debug/kmemleak
		fi
		;;
	esac
done

off() {
	sync
	poweroff -f
	sleep 10
}

if [ "$mode" = probe ]; then
	echo "@@CIM-PROBE-OK@@"
	off
fi

uptime_s() { cut -d' ' -f1 /proc/uptime; }

# Every non-empty, non-comment line of a list file
entries() {
	[ -f "$1" ] || return 0
	grep -v -e '^#' -e '^[[:space:]]*$' "$1" || true
}

modules=$(entries /etc/cim/modules)
tests=$(entries /etc/cim/tests)
if [ -n "$filter" ]; then
	tests=$(echo "$tests" | grep -F -e "$filter" || true)
fi

if [ "$mode" = shell ]; then
	for m in $modules; do
		insmod "$m" || echo "init: insmod $m failed"
	done
	echo "cim VM shell: tests listed in /etc/cim/tests; exit to power off"
	setsid cttyhack sh -l
	off
fi

n=0
for _ in $modules $tests; do n=$((n + 1)); done

echo "@@CIM-TAP-BEGIN@@ uptime=$(uptime_s)"
echo "TAP version 13"
echo "1..$n"
i=0
fails=0

# One top-level result; $1 exit code or "timeout", $2 description
result() {
	i=$((i + 1))
	case $1 in
	0) echo "ok $i $2" ;;
	4) echo "ok $i $2 # SKIP" ;;
	timeout) echo "not ok $i $2 # TIMEOUT ${timeout}s"; fails=$((fails + 1)) ;;
	*) echo "not ok $i $2 # exit=$1"; fails=$((fails + 1)) ;;
	esac
}

# Run test $1 in a session of its own, its output prefixed with "# ";
# after $timeout seconds kill the whole session. Sets rc.
run_test() {
	rm -f /tmp/.out
	mkfifo /tmp/.out
	sed 's/^/# /' < /tmp/.out &
	sedpid=$!
	# Not a group leader, so setsid execs the test without forking:
	# its pid is the session and process group id
	(cd /tmp && exec setsid "$1") > /tmp/.out 2>&1 &
	tpid=$!
	ticks=0
	rc=
	while kill -0 "$tpid" 2>/dev/null; do
		if [ "$ticks" -ge $((timeout * 10)) ]; then
			kill -TERM -- "-$tpid" 2>/dev/null
			sleep 1
			rc=timeout
			break
		fi
		sleep 0.1
		ticks=$((ticks + 1))
	done
	if wait "$tpid"; then code=0; else code=$?; fi
	rc=${rc:-$code}
	# Whatever the test left behind would keep the output open
	kill -KILL -- "-$tpid" 2>/dev/null
	wait "$sedpid"
	rm -f /tmp/.out
}

for m in $modules; do
	echo "# insmod $m"
	insmod "$m" 2>&1 | sed 's/^/# /'
	rc=0
	grep -q "^$(basename "$m" .ko | tr - _) " /proc/modules || rc=1
	result "$rc" "insmod: $(basename "$m")"
done

for t in $tests; do
	name=$(basename "$t")
	echo "# selftests: cim: $name"
	run_test "$t"
	result "$rc" "selftests: cim: $name"
done

echo "@@CIM-TAP-END@@ uptime=$(uptime_s) fails=$fails"
off
