#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Extract, from Debian's linux-source-6.1 package (downloaded with apt-get
# download, never installed), only what the project uses from the kernel
# tree: scripts/checkpatch.pl with spelling.txt and const_structs.checkpatch,
# and the kselftest harness headers. Cached under build/kernel/src/; a second
# run does no network access.
#
# Output: build/kernel/src/scripts/{checkpatch.pl,spelling.txt,
#         const_structs.checkpatch}, build/kernel/src/ksft/{kselftest.h,
#         kselftest_harness.h}. Prints build/kernel/src on stdout.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
out=$build/kernel/src
debs=$build/kernel/debs
pkg=linux-source-6.1

log() { echo "fetch-ksft: $*" >&2; }
die() { log "$*"; exit 1; }

files="scripts/checkpatch.pl scripts/spelling.txt scripts/const_structs.checkpatch
tools/testing/selftests/kselftest.h tools/testing/selftests/kselftest_harness.h"

if [ -f "$out/.done" ]; then
	echo "$out"
	exit 0
fi

mkdir -p "$debs"
deb=$(find "$debs" -maxdepth 1 -name "${pkg}_*_all.deb" | head -n 1)
if [ -z "$deb" ]; then
	log "downloading $pkg"
	if ! (cd "$debs" && apt-get download -q "$pkg" >&2); then
		[ "$(id -u)" -eq 0 ] || die "apt-get download $pkg failed"
		apt-get update -q >&2 || true
		(cd "$debs" && apt-get download -q "$pkg" >&2) ||
			die "apt-get download $pkg failed"
	fi
	deb=$(find "$debs" -maxdepth 1 -name "${pkg}_*_all.deb" | head -n 1)
fi
[ -n "$deb" ] || die "no .deb for $pkg"

tmp=$out.tmp
rm -rf "$tmp"
mkdir -p "$tmp/scripts" "$tmp/ksft"
log "extracting from $(basename "$deb")"
# The package holds usr/src/linux-source-6.1.tar.xz; take only our files
dpkg-deb --fsys-tarfile "$deb" |
	tar -xOf - ./usr/src/linux-source-6.1.tar.xz > "$tmp/src.tar.xz"
members=""
for f in $files; do
	members="$members linux-source-6.1/$f"
done
# shellcheck disable=SC2086
tar -xJf "$tmp/src.tar.xz" -C "$tmp" $members
rm -f "$tmp/src.tar.xz"
for f in checkpatch.pl spelling.txt const_structs.checkpatch; do
	mv "$tmp/linux-source-6.1/scripts/$f" "$tmp/scripts/$f"
done
for f in kselftest.h kselftest_harness.h; do
	mv "$tmp/linux-source-6.1/tools/testing/selftests/$f" "$tmp/ksft/$f"
done
rm -rf "$tmp/linux-source-6.1"
touch "$tmp/.done"
rm -rf "$out"
mv "$tmp" "$out"
echo "$out"
