#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs last in the test VM: shows the kernel's cim lines and fails (TAP
# "not ok") when the kernel log has a warning, BUG or oops.
echo "1..1"
dmesg | grep -i "cim" | sed 's/^/# /'
grep -i cim /proc/interrupts | sed "s/^/# /"
if dmesg | grep -E "WARNING:|BUG:|Oops|Call Trace|UBSAN|KASAN" >/dev/null; then
	dmesg | grep -E -A 20 "WARNING:|BUG:|Oops|Call Trace" | sed 's/^/# /'
	echo "not ok 1 kernel log clean"
	exit 1
fi
echo "ok 1 kernel log clean"
