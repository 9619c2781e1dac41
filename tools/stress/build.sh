#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build the stress programs (tests/stress/*.c) as static binaries for the
# test VM: C11, -Wall -Wextra -Werror, linked statically so that the
# initramfs needs no shared library. Output: build/stress/<name>; prints
# their paths.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
out=$build/stress
CC=${CC:-gcc}

mkdir -p "$out"
for t in "$top"/tests/stress/*.c; do
	name=$(basename "$t" .c)
	if [ ! -x "$out/$name" ] || [ "$t" -nt "$out/$name" ] ||
	   [ "$top/include/uapi/misc/cim.h" -nt "$out/$name" ] ||
	   [ "$top/include/cim_hw.h" -nt "$out/$name" ]; then
		$CC -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror \
			-I"$top/include" -static -pthread -o "$out/$name.tmp" \
			"$t" -lm
		mv "$out/$name.tmp" "$out/$name"
	fi
	echo "$out/$name"
done
