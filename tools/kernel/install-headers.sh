#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Install what building cim.ko needs: the Debian linux-headers package that
# matches the guest kernel (the version tools/vm/fetch-kernel.sh resolves from
# linux-image-amd64), sparse, libdrm-dev (libsync.h, for the device tests)
# and gcc/make. Idempotent; installing needs root.
#
# Prints the kernel version (for /usr/src/linux-headers-<kver>) on stdout.
#
# Environment: BUILD (default build), CIM_KERNEL_PKG (as for fetch-kernel.sh).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac

log() { echo "install-headers: $*" >&2; }
die() { log "$*"; exit 1; }

# The guest kernel's version: from fetch-kernel.sh's record when it ran,
# else resolved from linux-image-amd64 the same way it does
kver=""
if [ -f "$build/vm/kernel/kernel.env" ]; then
	kver=$(sed -n 's/^KVER=//p' "$build/vm/kernel/kernel.env")
fi
if [ -z "$kver" ] && [ -n "${CIM_KERNEL_PKG:-}" ]; then
	kver=${CIM_KERNEL_PKG#linux-image-}
fi
resolve() {
	apt-cache depends --important linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*-amd64\)$/\1/p' |
		head -n 1
}
updated=0
if [ -z "$kver" ]; then
	kver=$(resolve)
	if [ -z "$kver" ] && [ "$(id -u)" -eq 0 ]; then
		apt-get update -q >&2 || log "apt-get update failed"
		updated=1
		kver=$(resolve)
	fi
fi
[ -n "$kver" ] || die "cannot resolve the guest kernel version (apt-get update?)"

packages="gcc make sparse libdrm-dev linux-headers-$kver"
missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	[ "$(id -u)" -eq 0 ] || die "missing packages:$missing; run as root"
	log "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	if [ "$updated" -eq 0 ]; then
		apt-get update -q >&2 || log "apt-get update failed, trying the cache"
	fi
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >&2 ||
		die "apt-get install$missing failed"
fi
[ -f "/usr/src/linux-headers-$kver/Makefile" ] ||
	die "/usr/src/linux-headers-$kver is incomplete"
echo "$kver"
