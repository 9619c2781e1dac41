#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build qemu-system-x86_64 7.2 from Debian's own "qemu" source package, with
# the cim-pci device (qemu/hw/) and the firmware model (firmware-model/*.c)
# compiled in.
#
#   qemu/build-qemu.sh [--refresh] [--clean]
#
#   --refresh  update the private apt lists first (a newer Debian revision of
#              the source package then rebuilds from scratch)
#   --clean    forget every stamp and build from scratch
#
# Output (printed at the end):
#   build/qemu/qemu-system-x86_64   the emulator
#   build/qemu/share/               its firmware: SeaBIOS (Debian's seabios
#                                   package) and the x86 option roms built
#                                   from the source tree; compiled in as the
#                                   firmware path, "-L build/qemu/share" also
#                                   works
#
# Everything lives under build/ (BUILD= to move it):
#   build/apt/        private apt configuration, lists and downloads; the
#                     system's apt setup is never touched
#   build/qemu-src/   the extracted tree, Debian's patches applied, plus
#                     qemu/qemu-7.2-cim.patch, and links cim/qemu,
#                     cim/firmware-model and cim/include to the project's
#                     folders of those names
#   build/qemu-build/ the meson build folder; the binary is copied to
#                     build/qemu/ after every successful build
#
# Caching: the tree and the configuration are redone only when the stamp
# key changes (this script, the patch, the Debian source version); otherwise
# the script only runs ninja, which recompiles what changed in the device or
# the model. A run with nothing changed does nothing.
#
# Needs root only to install missing Debian packages (see deps()).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
APT_DIR=$BUILD/apt
SRC_DIR=$BUILD/qemu-src
OUT_DIR=$BUILD/qemu-build
BIN_DIR=$BUILD/qemu
FW_DIR=$BIN_DIR/share
PATCH=$ROOT/qemu/qemu-7.2-cim.patch
SRC_PKG=qemu
SRC_UPSTREAM=7.2		# the upstream version this patch is for
JOBS=${JOBS:-$(nproc)}

refresh=no
for arg in "$@"; do
	case $arg in
	--refresh) refresh=yes ;;
	--clean) rm -f "$BUILD"/qemu-*.stamp ;;
	*) echo "usage: $0 [--refresh] [--clean]" >&2; exit 2 ;;
	esac
done

log() { echo "build-qemu: $*" >&2; }

# Debian packages needed to fetch, configure and build, and at run time
deps() {
	packages="dpkg-dev xz-utils python3 meson ninja-build pkg-config gcc
make binutils libc6-dev libglib2.0-dev libpixman-1-dev zlib1g-dev libfdt-dev seabios"
	missing=""
	for p in $packages; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		log "missing packages:$missing; run as root to install"
		exit 1
	fi
	log "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q || log "apt-get update failed, trying the cache"
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
}

# apt with a private configuration: its own source list (the machine's
# sources, as deb-src), lists and cache. The system's apt is left alone.
apt_private() {
	apt-get \
		-o Dir::Etc::SourceList="$APT_DIR/etc/sources.list" \
		-o Dir::Etc::SourceParts="$APT_DIR/etc/sources.list.d" \
		-o Dir::State="$APT_DIR/state" \
		-o Dir::Cache="$APT_DIR/cache" \
		-o APT::Sandbox::User=root \
		-q "$@"
}

apt_cache_private() {
	apt-cache \
		-o Dir::Etc::SourceList="$APT_DIR/etc/sources.list" \
		-o Dir::Etc::SourceParts="$APT_DIR/etc/sources.list.d" \
		-o Dir::State="$APT_DIR/state" \
		-o Dir::Cache="$APT_DIR/cache" \
		"$@"
}

# Derive deb-src entries from the machine's own apt sources: deb822 files
# get "Types: deb-src", one-line entries "deb-src". No host is named here.
apt_sources() {
	mkdir -p "$APT_DIR/etc/sources.list.d" "$APT_DIR/state/lists/partial" \
		"$APT_DIR/cache/archives/partial"
	tmp=$APT_DIR/etc/sources.list.d.new
	rm -rf "$tmp"
	mkdir -p "$tmp"
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		sed -e 's/^Types:.*$/Types: deb-src/' "$f" \
			>"$tmp/$(basename "$f")"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -n -e 's/^[[:space:]]*deb\(-src\)\{0,1\}[[:space:]]/deb-src /p' \
			"$f" | sort -u >"$tmp/$(basename "$f" .list).list"
	done
	: >"$tmp/../sources.list"
	if ! diff -r "$tmp" "$APT_DIR/etc/sources.list.d" >/dev/null 2>&1; then
		rm -rf "$APT_DIR/etc/sources.list.d"
		mv "$tmp" "$APT_DIR/etc/sources.list.d"
		refresh=yes
	else
		rm -rf "$tmp"
	fi
	if [ $refresh = yes ] ||
	   ! ls "$APT_DIR"/state/lists/*Sources* >/dev/null 2>&1; then
		log "updating the private apt lists (deb-src)"
		apt_private update >/dev/null
	fi
}

# The newest Debian version of the source package for upstream 7.2
src_version() {
	best=""
	for v in $(apt_cache_private showsrc --only-source "$SRC_PKG" |
		   sed -n 's/^Version: //p'); do
		case $v in *:"$SRC_UPSTREAM"+*|"$SRC_UPSTREAM"+*) ;; *) continue ;; esac
		if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then
			best=$v
		fi
	done
	[ -n "$best" ] || { log "no $SRC_PKG $SRC_UPSTREAM source package"; exit 1; }
	echo "$best"
}

# Download (cached in build/apt/src) and extract with Debian's patches
fetch_source() {
	ver=$1
	dl=$APT_DIR/src
	mkdir -p "$dl"
	dsc=$dl/${SRC_PKG}_$(echo "$ver" | sed 's/^[0-9]*://').dsc
	if [ ! -f "$dsc" ]; then
		log "downloading $SRC_PKG $ver"
		(cd "$dl" && apt_private source --download-only "$SRC_PKG=$ver" \
			>/dev/null)
	fi
	log "extracting $SRC_PKG $ver"
	rm -rf "$SRC_DIR" "$SRC_DIR.tmp" "$dl/tree"
	# extracted next to the download, where dpkg-source finds the orig
	# tarball already in place instead of copying it beside the tree
	dpkg-source --no-check -x "$dsc" "$dl/tree" >/dev/null
	mv "$dl/tree" "$SRC_DIR.tmp"
	(cd "$SRC_DIR.tmp" && patch -p1 -s --no-backup-if-mismatch <"$PATCH")
	mkdir -p "$SRC_DIR.tmp/cim"
	ln -s "$ROOT/qemu" "$SRC_DIR.tmp/cim/qemu"
	ln -s "$ROOT/firmware-model" "$SRC_DIR.tmp/cim/firmware-model"
	ln -s "$ROOT/include" "$SRC_DIR.tmp/cim/include"
	mv "$SRC_DIR.tmp" "$SRC_DIR"
}

# The model's sources, for cim/fw-sources.txt; rewritten only on change so
# that meson re-configures only then
fw_sources() {
	list=$SRC_DIR/cim/fw-sources.txt
	(cd "$ROOT/firmware-model" && ls -1 -- *.c 2>/dev/null || true) \
		>"$list.new"
	if cmp -s "$list.new" "$list"; then
		rm -f "$list.new"
	else
		mv "$list.new" "$list"
	fi
}

configure_qemu() {
	ver=$1
	log "configuring"
	rm -rf "$OUT_DIR"
	mkdir -p "$OUT_DIR"
	# Only what q35 with -nodefaults, a serial console and the cim device
	# need: no default devices (the patch adds cim-pci and the PCIe root
	# ports), no optional features, no docs, tools or guest agent, no
	# firmware blobs (the dfsg tarball has none; Debian's own patch already
	# skips pc-bios/meson.build, -Dinstall_blobs=false says it twice).
	(cd "$OUT_DIR" && "$SRC_DIR/configure" \
		--target-list=x86_64-softmmu \
		--without-default-devices \
		--without-default-features \
		--enable-tcg --enable-kvm \
		--disable-docs --disable-tools --disable-guest-agent \
		--disable-user --disable-install-blobs \
		--disable-debug-info --disable-werror \
		--with-git-submodules=ignore \
		--with-pkgversion="Debian $ver + cim" \
		--prefix="$OUT_DIR/install" \
		--firmwarepath="$FW_DIR" >configure.log 2>&1) || {
		tail -n 30 "$OUT_DIR/configure.log" >&2
		log "configure failed; see $OUT_DIR/configure.log"
		exit 1
	}
}

# bios-256k.bin from Debian's seabios package; the x86 option roms
# (linuxboot_dma.bin for -kernel, kvmvapic.bin, ...) built from the tree with
# Debian's own recipe (debian/optionrom.mak), as the qemu-system-data
# package does. QEMU's configure would need a 32-bit libc to build them.
firmware() {
	mkdir -p "$OUT_DIR/optionrom" "$FW_DIR"
	make -s -f "$SRC_DIR/debian/optionrom.mak" -C "$OUT_DIR/optionrom" \
		SRC_PATH="$SRC_DIR" all >"$OUT_DIR/optionrom/build.log" 2>&1 || {
		cat "$OUT_DIR/optionrom/build.log" >&2
		log "option roms failed"
		exit 1
	}
	for f in bios-256k.bin bios.bin; do
		ln -sf "/usr/share/seabios/$f" "$FW_DIR/$f"
	done
	for f in "$OUT_DIR"/optionrom/*.bin; do
		cmp -s "$f" "$FW_DIR/$(basename "$f")" || cp "$f" "$FW_DIR/"
	done
}

# Publish the binary in build/qemu/, replaced in one rename, so that a VM
# started from it keeps working while the next (cold) build runs in
# build/qemu-build/. (Run from its build folder, QEMU 7.2 would look for
# its firmware under qemu-bundle/ instead of the configured path.)
install_bin() {
	if [ -f "$BIN_DIR/build.ninja" ]; then
		# the first layout of this script built in build/qemu itself
		rm -rf "$BIN_DIR.old"
		mv "$BIN_DIR" "$BIN_DIR.old"
		rm -rf "$BIN_DIR.old"
	fi
	mkdir -p "$BIN_DIR"
	if ! cmp -s "$OUT_DIR/qemu-system-x86_64" "$BIN_DIR/qemu-system-x86_64"; then
		cp "$OUT_DIR/qemu-system-x86_64" "$BIN_DIR/.qemu-system-x86_64.tmp"
		mv -f "$BIN_DIR/.qemu-system-x86_64.tmp" \
			"$BIN_DIR/qemu-system-x86_64"
	else
		touch "$BIN_DIR/qemu-system-x86_64"	# built from these sources
	fi
}

deps
mkdir -p "$BUILD"
exec 9>"$BUILD/qemu.lock"
flock 9

apt_sources
ver=$(src_version)
key=$( { cat "$0" "$PATCH"; echo "$ver"; } | sha256sum | cut -c1-16)
stamp=$BUILD/qemu-$key.stamp

start=$(date +%s)
if [ ! -f "$stamp" ] || [ ! -f "$OUT_DIR/build.ninja" ]; then
	# new inputs: a fresh tree and configuration, then a cold build
	rm -f "$BUILD"/qemu-*.stamp
	fetch_source "$ver"
	fw_sources
	configure_qemu "$ver"
	touch "$stamp"
	log "building (cold, -j$JOBS)"
	cold=yes
else
	fw_sources
	cold=no
fi

# Always ninja: after a cold start, or to recompile what changed in the
# device or the model (a failed build resumes here, without re-configuring)
ninja -C "$OUT_DIR" -j "$JOBS" qemu-system-x86_64 >"$OUT_DIR/build.log" 2>&1 || {
	grep -v "WARNING: Source item" "$OUT_DIR/build.log" | tail -n 40 >&2
	log "build failed; see $OUT_DIR/build.log"
	exit 1
}
install_bin
firmware
steps=$(grep -c "^\[[0-9]*/[0-9]*\] \(Compiling\|Linking\)" "$OUT_DIR/build.log" || true)
if [ $cold = yes ]; then
	log "cold build took $(($(date +%s) - start)) s"
elif [ "$steps" -gt 0 ]; then
	log "rebuilt ($steps compile/link steps, $(($(date +%s) - start)) s)"
else
	log "up to date"
fi

echo "$BIN_DIR/qemu-system-x86_64"
