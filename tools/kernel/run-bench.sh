#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest benchmark of cim.ko's job path: build the module and
# bench/guest/bench_submit.c, pack them into an initramfs
# (build/kernel/bench.cpio.gz) and boot the test VM with
# tools/vm/run-tests.sh. Prints the benchmark's "bench submit: ..." lines;
# the last is "bench submit: <ratio>x of a bare ioctl (target <= 10x)".
# Extra arguments go to run-tests.sh (--accel, --device, ...).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
CC=${CC:-gcc}

"$top/tools/vm/fetch-kernel.sh" >/dev/null
ko=$("$top/tools/kernel/build-module.sh" 2>/dev/null)
mkdir -p "$build/kernel/bench"
bin=$build/kernel/bench/bench_submit
$CC -std=gnu11 -O2 -g -Wall -Wextra -Werror -I"$top/include" \
	-o "$bin" "$top/bench/guest/bench_submit.c"
"$top/tools/vm/mkinitramfs.sh" -o "$build/kernel/bench.cpio.gz" \
	"module:$ko" "test:$bin:bench_submit" >&2
out=$build/kernel/bench/run.log
rc=0
"$top/tools/vm/run-tests.sh" --initrd "$build/kernel/bench.cpio.gz" \
	--log "$build/kernel/bench/console.log" "$@" > "$out" 2>&1 || rc=$?
if [ $rc -ne 0 ]; then
	cat "$out" >&2
	echo "run-bench: the guest run failed ($rc)" >&2
	exit $rc
fi
tr -d '\r' < "$out" | grep -a '^# bench submit: ' | sed 's/^# //' |
	grep -v 'x of a bare'
tr -d '\r' < "$out" | grep -a '^# bench submit: .*x of a bare ioctl' |
	sed 's/^# //' | tail -n 1
