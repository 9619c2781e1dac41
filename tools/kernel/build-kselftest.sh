#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build the device tests (tests/kselftest/*.c) with the kselftest harness of
# Debian's linux-source-6.1 (tools/kernel/fetch-ksft.sh) and libdrm's
# libsync.h. Output: build/kernel/kselftest/<name>; prints their paths.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
out=$build/kernel/kselftest
CC=${CC:-gcc}

"$top/tools/kernel/install-headers.sh" >/dev/null
src=$("$top/tools/kernel/fetch-ksft.sh")
mkdir -p "$out"
for t in "$top"/tests/kselftest/*.c; do
	name=$(basename "$t" .c)
	# -Wall as the kernel's selftests build; the harness itself is not
	# -Wextra clean, so -Wextra is not used
	$CC -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Werror \
		-Wno-misleading-indentation \
		-I"$top/include" -I"$src/ksft" -o "$out/$name" "$t" -lm
	echo "$out/$name"
done
