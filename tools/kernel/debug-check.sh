#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The debug kernel's report check (Documentation/debug-kernel.rst).
#
# In the test VM (run last by run-kselftest.sh under CIM_GUEST_KERNEL=debug,
# as the test "debug_check"): triggers a kmemleak scan, then fails (TAP "not
# ok") when kmemleak lists a suspect, when the kernel log holds any report of
# the debug kernel's checkers (KASAN, KFENCE, UBSAN, lockdep, kmemleak,
# DMA-API debug, SLUB debug, list debug, BUG, WARNING, Oops, ...) or when
# the kernel is tainted by anything but the out-of-tree module (O).
# Prints the first 40 lines of each report and the kmemleak list.
#
#   debug-check.sh              the guest check (TAP)
#   debug-check.sh --scan FILE  on the host: the same patterns over a log
#                               (the serial console); prints the first 40
#                               lines of each report, exits 1 when any
# shellcheck shell=dash
set -u

# A line that starts a report. Each checker's own words:
#   KASAN "BUG: KASAN: ...", KFENCE "BUG: KFENCE: ...", SLUB debug
#   "BUG kmalloc-64 (Tainted: ...): Poison overwritten" and "Redzone
#   overwritten", DEBUG_ATOMIC_SLEEP "BUG: sleeping function called from
#   invalid context", lockdep "WARNING: possible circular locking
#   dependency" and "INFO: trying to register non-static key", WARN()
#   "WARNING: CPU: ...", UBSAN "UBSAN: array-index-out-of-bounds in ...",
#   DEBUG_LIST "list_add corruption", DMA-API debug "DMA-API: cim
#   0000:00:02.0: device driver frees DMA memory with ...", kmemleak
#   "kmemleak: 3 new suspected memory leaks" and "unreferenced object".
REPORT='(\bBUG[: ]|WARNING:|INFO: |UBSAN:|KASAN|KFENCE|kmemleak:|unreferenced object|DMA-API:|Poison overwritten|Redzone overwritten|Padding overwritten|Object padding|Freepointer|list_add corruption|list_del corruption|list corruption|Oops|general protection fault|Kernel panic|Call Trace:|cut here|\bdouble fault|stack guard page|stack-protector|refcount_t:|sleeping function called|scheduling while atomic|bad unlock balance|held lock freed|lock held when returning|RCU used illegally|suspicious RCU usage|rcu_.*detected stalls|soft lockup|hung_task|blocked for more than)'
# The checkers' start-up lines, which are not reports
BENIGN='(kmemleak: Kernel memory leak detector initialized|kmemleak: Automatic memory scanning thread|DMA-API: preallocated [0-9]+ debug entries|DMA-API: debugging enabled by kernel config|kfence: initialized|KFENCE: initialized|Poking KASLR|KernelAddressSanitizer initialized|kasan: KernelAddressSanitizer initialized|Lock dependency validator|lockdep: |\.\.\. MAX_LOCK|\.\.\. MAX_LOCKDEP|\.\.\. CLASSHASH|\.\.\. CHAINHASH|per task-struct memory footprint|mem auto-init:|SLUB: HWalign|\*\* +.*\*\*|Kernel command line:|kernel command line)'

# The report lines of file $1 (without the benign ones), numbered
report_lines() {
	grep -naE "$REPORT" "$1" | grep -vaE "$BENIGN"
}

# The first 40 lines from each report of file $1, at most 10 reports
show_reports() {
	last=0
	n=0
	report_lines "$1" | cut -d: -f1 | while read -r ln; do
		[ "$ln" -gt "$last" ] || continue
		n=$((n + 1))
		[ "$n" -le 10 ] || { echo "(more reports follow; see the log)"; break; }
		echo "---- report $n, log line $ln ----"
		sed -n "${ln},$((ln + 39))p" "$1"
		last=$((ln + 39))
	done
}

if [ "${1:-}" = --scan ]; then
	[ -f "${2:-}" ] || { echo "debug-check: no log ${2:-}" >&2; exit 2; }
	tmp=$(mktemp)
	# Not the tests' own output, which the guest prefixes with "# "
	tr -d '\r' < "$2" | grep -av '^# ' > "$tmp"
	if [ -n "$(report_lines "$tmp")" ]; then
		show_reports "$tmp"
		rm -f "$tmp"
		exit 1
	fi
	rm -f "$tmp"
	exit 0
fi

# ---- in the guest ----
echo "1..3"
kml=/sys/kernel/debug/kmemleak
fails=0
log=/tmp/debug-check.dmesg

# kmemleak: an object is reported only when it has been unreferenced for
# 5 s and in a scan; scan twice, 6 s apart
if [ -w "$kml" ]; then
	echo scan > "$kml"
	sleep 6
	echo scan > "$kml"
	if [ -s "$kml" ]; then
		echo "# kmemleak: suspected leaks (first 80 lines):"
		head -n 80 "$kml" | sed 's/^/# /'
		echo "not ok 1 kmemleak finds no leak"
		fails=$((fails + 1))
	else
		echo "ok 1 kmemleak finds no leak"
	fi
else
	echo "not ok 1 kmemleak finds no leak # no $kml"
	fails=$((fails + 1))
fi

dmesg > "$log"
if [ -n "$(report_lines "$log")" ]; then
	echo "# kernel reports (first 40 lines of each):"
	show_reports "$log" | sed 's/^/# /'
	echo "not ok 2 kernel log free of reports"
	fails=$((fails + 1))
else
	echo "ok 2 kernel log free of reports"
fi

# Taint: only O (4096, the out-of-tree cim.ko) is expected
taint=$(cat /proc/sys/kernel/tainted)
if [ $((taint & ~4096)) -ne 0 ]; then
	echo "# /proc/sys/kernel/tainted is $taint"
	echo "not ok 3 kernel not tainted beyond O"
	fails=$((fails + 1))
else
	echo "ok 3 kernel not tainted beyond O"
fi
[ "$fails" -eq 0 ]
