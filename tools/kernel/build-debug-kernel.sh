#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build the debug guest kernel: Linux from Debian's linux-source-6.1 (the
# .deb tools/kernel/fetch-ksft.sh downloads, reused from build/kernel/debs),
# configured as "make tinyconfig" plus tools/kernel/debug.config (KASAN,
# KFENCE, lockdep, kmemleak, DMA-API debug, UBSAN, SLUB debug, list debug),
# built with -j2. Documentation/debug-kernel.rst has the details.
#
# The result is cached outside the work tree, so that clones share it and
# "make clean" keeps it:
#
#   ${CIM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cim}/debug-kernel/<key>/
#     src/          the extracted kernel tree
#     obj/          the O= build tree: .config, Module.symvers, the
#                   modules_prepare output; KDIR for external modules
#     bzImage       the kernel image
#     kernel.env    KVER, SRC_VERSION, CONFIG_HASH, KDIR, BUILD_SECONDS
#
# <key> is the source package's version and a hash of the config fragment,
# this script's build recipe version and the compiler's version line (the
# module must be built with the kernel's compiler). A finished key is
# never rebuilt; an interrupted build resumes. Concurrent runs for one key
# wait for each other (flock).
#
# usage: build-debug-kernel.sh [--key]
#   --key   print the cache directory without building
# Prints the cache directory on stdout. Environment: BUILD, CIM_CACHE,
# CIM_DEBUG_JOBS (default 2).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
debs=$build/kernel/debs
pkg=linux-source-6.1
frag=$top/tools/kernel/debug.config
jobs=${CIM_DEBUG_JOBS:-2}
# Bump when the steps below change what ends up in the cache
recipe=1

log() { echo "build-debug-kernel: $*" >&2; }
die() { log "$*"; exit 1; }

cache=${CIM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cim}
case $cache in /*) ;; *) die "CIM_CACHE must be an absolute path" ;; esac

# The source package, as fetch-ksft.sh caches it
find_deb() {
	find "$debs" -maxdepth 1 -name "${pkg}_*_all.deb" 2>/dev/null | sort | tail -n 1
}
deb=$(find_deb)
if [ -z "$deb" ]; then
	mkdir -p "$debs"
	log "downloading $pkg"
	if ! (cd "$debs" && apt-get download -q "$pkg" >&2); then
		[ "$(id -u)" -eq 0 ] || die "apt-get download $pkg failed"
		apt-get update -q >&2 || true
		(cd "$debs" && apt-get download -q "$pkg" >&2) ||
			die "apt-get download $pkg failed"
	fi
	deb=$(find_deb)
	[ -n "$deb" ] || die "no .deb for $pkg"
fi
srcver=$(dpkg-deb -f "$deb" Version)
cc=${CC:-gcc}
hash=$({
	echo "recipe $recipe"
	"$cc" --version | head -n 1
	cat "$frag"
} | sha256sum | cut -c1-12)
key=$srcver-$hash
dir=$cache/debug-kernel/$key
if [ "${1:-}" = --key ]; then
	echo "$dir"
	exit 0
fi
if [ -f "$dir/kernel.env" ] && [ -f "$dir/bzImage" ]; then
	echo "$dir"
	exit 0
fi

for t in bc flex bison perl xz gzip make "$cc"; do
	command -v "$t" >/dev/null 2>&1 ||
		die "$t missing: run tools/install-deps.sh as root"
done
for h in libelf.h openssl/ssl.h; do
	[ -f "/usr/include/$h" ] ||
		die "no $h (libelf-dev, libssl-dev): run tools/install-deps.sh as root"
done

mkdir -p "$dir"
exec 9> "$dir.lock"
if ! flock -n 9; then
	log "waiting for another build of $key"
	flock 9
fi
if [ -f "$dir/kernel.env" ] && [ -f "$dir/bzImage" ]; then
	echo "$dir"
	exit 0
fi

start=$(date +%s)
src=$dir/src
obj=$dir/obj
if [ ! -f "$src/.extracted" ]; then
	log "extracting $(basename "$deb") into $src"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xOf - ./usr/src/linux-source-6.1.tar.xz |
		tar -xJf - -C "$src.tmp"
	mv "$src.tmp/linux-source-6.1" "$src"
	rmdir "$src.tmp"
	touch "$src/.extracted"
fi

kmake() {
	make -C "$src" O="$obj" ARCH=x86_64 CC="$cc" "$@"
}

mkdir -p "$obj"
if [ ! -f "$obj/.config.merged" ]; then
	log "configuring: tinyconfig + $(basename "$frag")"
	kmake -s tinyconfig >"$obj/config.log" 2>&1 ||
		{ cat "$obj/config.log" >&2; die "make tinyconfig failed"; }
	ARCH=x86_64 "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" \
		"$obj/.config" "$frag" >"$obj/merge.log" 2>&1 ||
		{ cat "$obj/merge.log" >&2; die "merge_config.sh failed"; }
	kmake -s olddefconfig >>"$obj/config.log" 2>&1 ||
		{ cat "$obj/config.log" >&2; die "make olddefconfig failed"; }
	# Every line of the fragment must have survived olddefconfig
	bad=""
	while read -r line; do
		case $line in
		"# CONFIG_"*" is not set")
			opt=${line#"# "}
			opt=${opt%% *}
			grep -q "^$opt=" "$obj/.config" && bad="$bad $opt"
			;;
		CONFIG_*)
			grep -qxF "$line" "$obj/.config" || bad="$bad ${line%%=*}"
			;;
		esac
	done < "$frag"
	[ -z "$bad" ] || die "not in the final .config (a dependency is missing):$bad"
	cp "$frag" "$obj/.config.merged"
fi

log "building (make -j$jobs; about 22 min of CPU time, 12 min on 2 idle cores)"
kmake -j"$jobs" bzImage modules_prepare >"$dir/build.log" 2>&1 || {
	tail -n 40 "$dir/build.log" >&2
	die "kernel build failed (log: $dir/build.log)"
}
# vmlinux's exports, for modpost when building cim.ko
kmake -j"$jobs" modules >>"$dir/build.log" 2>&1 || {
	tail -n 40 "$dir/build.log" >&2
	die "make modules failed (log: $dir/build.log)"
}
[ -f "$obj/Module.symvers" ] || die "no Module.symvers in $obj"
cp "$obj/arch/x86/boot/bzImage" "$dir/bzImage"
kver=$(kmake -s kernelrelease)
secs=$(($(date +%s) - start))
cat > "$dir/kernel.env.tmp" <<EOF
KVER=$kver
SRC_VERSION=$srcver
CONFIG_HASH=$hash
KDIR=$obj
BUILD_SECONDS=$secs
EOF
mv "$dir/kernel.env.tmp" "$dir/kernel.env"
log "kernel $kver built in ${secs}s: $dir"
echo "$dir"
