#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build cim.ko against the guest kernel's Debian headers. The sources
# (Kbuild, driver/, include/) are mirrored into build/kernel/module/ first,
# so that Kbuild's objects never land in the work tree.
#
#   tools/kernel/build-module.sh            build with W=1, warnings fatal
#   tools/kernel/build-module.sh check      also sparse (C=1) and checkpatch
#
# Output: build/kernel/module/driver/cim.ko. Environment: BUILD, KDIR,
# CIM_GUEST_KERNEL=debug: build against the debug kernel's tree
# (tools/kernel/build-debug-kernel.sh, built first when not cached) in
# build/kernel/module-debug/ instead, so that the two builds never mix.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
mod=$build/kernel/module

log() { echo "build-module: $*" >&2; }
die() { log "$*"; exit 1; }

case ${CIM_GUEST_KERNEL:-debian} in
debian)
	kver=$("$top/tools/kernel/install-headers.sh")
	kdir=${KDIR:-/usr/src/linux-headers-$kver}
	;;
debug)
	kdir=${KDIR:-$("$top/tools/kernel/build-debug-kernel.sh")/obj}
	mod=$build/kernel/module-debug
	;;
*) die "CIM_GUEST_KERNEL must be debian or debug" ;;
esac

mkdir -p "$mod/driver" "$mod/include/uapi/misc"
cp "$top/Kbuild" "$mod/Kbuild"
# Only sources are mirrored; stale copies of deleted files are removed
for f in "$mod"/driver/*.[ch] "$mod"/driver/Kbuild; do
	[ -e "$f" ] || continue
	[ -e "$top/driver/$(basename "$f")" ] || rm -f "$f"
done
for f in "$top"/driver/*.[ch] "$top"/driver/Kbuild; do
	cmp -s "$f" "$mod/driver/$(basename "$f")" || cp "$f" "$mod/driver/"
done
for f in include/cim_hw.h include/uapi/misc/cim.h; do
	cmp -s "$top/$f" "$mod/$f" || cp "$top/$f" "$mod/$f"
done

check=0
[ "${1:-}" = check ] && check=1
log "building against $kdir"
out=$mod/build.log
if [ "$check" -eq 1 ]; then
	# Rebuild everything so that sparse sees every file
	make -C "$kdir" M="$mod" clean >/dev/null
	make -C "$kdir" M="$mod" W=1 C=1 2>&1 | tee "$out" >&2
else
	make -C "$kdir" M="$mod" W=1 2>&1 | tee "$out" >&2
fi
[ -f "$mod/driver/cim.ko" ] || die "no cim.ko"
# W=1 and sparse warnings fail the build; BTF's notice does not
if grep -E "warning:|error:" "$out" >/dev/null; then
	die "compiler or sparse warnings (see above)"
fi
if [ "$check" -eq 1 ]; then
	src=$("$top/tools/kernel/fetch-ksft.sh")
	log "checkpatch --strict"
	(cd "$top" && perl "$src/scripts/checkpatch.pl" --no-tree --strict \
		--terse --show-types --ignore FILE_PATH_CHANGES \
		-f driver/*.c driver/*.h include/uapi/misc/cim.h) >&2 ||
		die "checkpatch found problems"
	# The device ABI is shared with user space, where BIT() does not exist
	(cd "$top" && perl "$src/scripts/checkpatch.pl" --no-tree --strict \
		--terse --show-types --ignore FILE_PATH_CHANGES,BIT_MACRO \
		-f include/cim_hw.h) >&2 ||
		die "checkpatch found problems in include/cim_hw.h"
fi
echo "$mod/driver/cim.ko"
