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
	# a second each: always rebuilt, so new headers are never missed
	$CC -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror \
		-I"$top/include" -static -pthread -o "$out/$name.tmp" "$t" -lm
	mv "$out/$name.tmp" "$out/$name"
	echo "$out/$name"
done
