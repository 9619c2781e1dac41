#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Fetch the guest kernel: Debian's linux-image-amd64, resolved to the concrete
# linux-image-<abi>-amd64 package it depends on, downloaded with apt-get
# download and unpacked with dpkg-deb -x (never installed). Cached under
# build/vm/kernel/; a second run does no network access.
#
# Output:
#   build/vm/kernel/vmlinuz            the kernel image
#   build/vm/kernel/modules/<kver>/    its modules tree
#   build/vm/kernel/kernel.env         KVER, KPKG, KPKG_VERSION, HEADERS_PKG
# Prints the kernel version (uname -r of the guest) on stdout.
#
# Environment: BUILD (default build), CIM_KERNEL_PKG to force a package
# (for example linux-image-6.1.0-56-amd64), CIM_GUEST_KERNEL: "debian" (the
# default, all of the above) or "debug", the debug kernel built from
# linux-source-6.1 by tools/kernel/build-debug-kernel.sh (cached outside the
# tree; nothing under build/vm/kernel is touched), whose version is printed.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
kdir=$build/vm/kernel
debs=$build/vm/debs

log() { echo "fetch-kernel: $*" >&2; }
die() { log "$*"; exit 1; }

case ${CIM_GUEST_KERNEL:-debian} in
debian) ;;
debug)
	dbg=$("$top/tools/kernel/build-debug-kernel.sh")
	sed -n 's/^KVER=//p' "$dbg/kernel.env"
	exit 0
	;;
*) die "CIM_GUEST_KERNEL must be debian or debug" ;;
esac

# The concrete image package behind the metapackage, unless forced
resolve_pkg() {
	if [ -n "${CIM_KERNEL_PKG:-}" ]; then
		echo "$CIM_KERNEL_PKG"
		return
	fi
	apt-cache depends --important linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' |
		head -n 1
}

candidate() {
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p'
}

pkg=$(resolve_pkg)
[ -n "$pkg" ] || die "cannot resolve linux-image-amd64; is apt's package list there (apt-get update)?"
ver=$(candidate "$pkg")
if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
	die "no candidate version for $pkg"
fi
kver=${pkg#linux-image-}
headers_pkg=linux-headers-$kver

# Already unpacked for this exact package version: nothing to do
if [ -f "$kdir/kernel.env" ] && [ -f "$kdir/vmlinuz" ] &&
	grep -qx "KPKG_VERSION=$ver" "$kdir/kernel.env" &&
	grep -qx "KPKG=$pkg" "$kdir/kernel.env"; then
	echo "$kver"
	exit 0
fi

mkdir -p "$debs"
# apt-get download names the file pkg_version_arch.deb, with ':' as %3a
deb=$(find "$debs" -maxdepth 1 -name "${pkg}_*_amd64.deb" | while read -r f; do
	v=$(dpkg-deb -f "$f" Version)
	[ "$v" = "$ver" ] && echo "$f"
done | head -n 1)
if [ -z "$deb" ]; then
	log "downloading $pkg $ver"
	(cd "$debs" && apt-get download -q "$pkg=$ver" >&2) ||
		die "apt-get download $pkg=$ver failed"
	deb=$(find "$debs" -maxdepth 1 -name "${pkg}_*_amd64.deb" | head -n 1)
fi
[ -n "$deb" ] || die "no .deb for $pkg after download"

log "unpacking $(basename "$deb")"
tmp=$kdir.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
dpkg-deb -x "$deb" "$tmp/root"
[ -f "$tmp/root/boot/vmlinuz-$kver" ] || die "no boot/vmlinuz-$kver in $deb"
mv "$tmp/root/boot/vmlinuz-$kver" "$tmp/vmlinuz"
[ -f "$tmp/root/boot/config-$kver" ] && mv "$tmp/root/boot/config-$kver" "$tmp/config"
mkdir -p "$tmp/modules"
mv "$tmp/root/lib/modules/$kver" "$tmp/modules/$kver"
rm -rf "$tmp/root"
cat > "$tmp/kernel.env" <<EOF
KVER=$kver
KPKG=$pkg
KPKG_VERSION=$ver
HEADERS_PKG=$headers_pkg
EOF
rm -rf "$kdir"
mv "$tmp" "$kdir"
log "kernel $kver ($pkg $ver) in ${kdir#"$top"/}; headers package $headers_pkg"
echo "$kver"
