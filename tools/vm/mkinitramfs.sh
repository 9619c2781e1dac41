#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build the test VM's initramfs: busybox (Debian's busybox-static, unpacked
# from its package, not installed), tools/vm/init.sh as /init, and the files
# named by manifests and arguments, each dynamically linked ELF executable
# with the shared libraries ldd finds for it on the host.
#
# usage: mkinitramfs.sh [-o OUT] [-m MANIFEST]... [ENTRY]...
#
# An ENTRY, on the command line or as one line of a MANIFEST ("#" starts a
# comment), is one of
#   test SRC [NAME]     run by /init in test mode, installed as /tests/NAME
#   module SRC          kernel module, installed in /lib/modules/cim/ and
#                       loaded by /init before the tests
#   file SRC [DEST]     a file, installed at DEST (default /SRC's basename)
#   dir SRC [DEST]      a directory tree, installed at DEST
# On the command line the words of an ENTRY are joined with ':'
# (test:build/bringup/cim-bringup). Relative SRC paths are taken from the
# top of the tree. Tests run in the order given.
#
# Output: OUT (default build/vm/initramfs.cpio.gz) and OUT's name with
# .tests instead of .cpio.gz, listing the top-level results /init will
# print (run-tests.sh expects each). The archive is reproducible: fixed owner, mtimes
# (SOURCE_DATE_EPOCH, default 0), inode numbers and order.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
out=$build/vm/initramfs.cpio.gz
manifests=""
entries=""
nl='
'

log() { echo "mkinitramfs: $*" >&2; }
die() { log "$*"; exit 1; }

while [ $# -gt 0 ]; do
	case $1 in
	-o) [ $# -ge 2 ] || die "-o needs a file"; out=$2; shift 2 ;;
	-m) [ $# -ge 2 ] || die "-m needs a file"; manifests="$manifests$nl$2"; shift 2 ;;
	-h | --help) sed -n '4,25p' "$0"; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) entries="$entries$nl$(echo "$1" | tr ':' ' ')"; shift ;;
	esac
done
case $out in /*) ;; *) out=$(pwd)/$out ;; esac

for m in $manifests; do
	[ -f "$m" ] || die "no manifest $m"
	entries="$entries$nl$(sed -e 's/#.*//' "$m")"
done

# busybox-static, cached under build/vm/debs and build/vm/busybox
debs=$build/vm/debs
bbdir=$build/vm/busybox
if [ ! -x "$bbdir/bin/busybox" ]; then
	mkdir -p "$debs"
	deb=$(find "$debs" -maxdepth 1 -name 'busybox-static_*_amd64.deb' | head -n 1)
	if [ -z "$deb" ]; then
		log "downloading busybox-static"
		(cd "$debs" && apt-get download -q busybox-static >&2) ||
			die "apt-get download busybox-static failed"
		deb=$(find "$debs" -maxdepth 1 -name 'busybox-static_*_amd64.deb' | head -n 1)
	fi
	rm -rf "$bbdir"
	dpkg-deb -x "$deb" "$bbdir"
fi
bb=$bbdir/bin/busybox

# Next to the archive, so that suites packing at the same time do not meet
# (build/vm/initramfs.d for the default archive)
stage=${out%.cpio.gz}.d
rm -rf "$stage"
mkdir -p "$stage"
for d in bin sbin usr/bin usr/sbin etc/cim proc sys dev tmp run root tests \
	lib/modules/cim; do
	mkdir -p "$stage/$d"
done
cp "$bb" "$stage/bin/busybox"
for applet in $("$bb" --list); do
	[ -e "$stage/bin/$applet" ] || ln -s busybox "$stage/bin/$applet"
done
cp "$top/tools/vm/init.sh" "$stage/init"
chmod 755 "$stage/init"
: > "$stage/etc/cim/tests"
: > "$stage/etc/cim/modules"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$stage/etc/passwd"
printf 'root:x:0:\n' > "$stage/etc/group"
printf 'export PS1="cim-vm:\\w# "\n' > "$stage/etc/profile"

abspath() {
	case $1 in /*) echo "$1" ;; *) echo "$top/$1" ;; esac
}

is_elf() {
	[ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]
}

# The shared libraries of a dynamic ELF file and its ld.so, at their paths
add_libs() {
	is_elf "$1" || return 0
	ldd "$1" >/dev/null 2>&1 || return 0	# static, or not an executable
	ldd "$1" | while read -r a b c _; do
		case $b in
		'=>') lib=$c ;;
		*) lib=$a ;;
		esac
		case $lib in /*) ;; *) continue ;; esac
		[ -e "$stage$lib" ] && continue
		mkdir -p "$stage$(dirname "$lib")"
		cp -L "$lib" "$stage$lib"
	done
}

add_file() {
	[ -f "$1" ] || die "no file $1"
	mkdir -p "$stage$(dirname "$2")"
	cp -L "$1" "$stage$2"
	add_libs "$1"
}

ntests=0
tests_list=""
while read -r kind src arg3 extra; do
	[ -n "$kind" ] || continue
	[ -n "$src" ] || die "entry '$kind' needs a source"
	[ -z "$extra" ] || die "entry '$kind $src $arg3' has extra words: $extra"
	src=$(abspath "$src")
	case $kind in
	test)
		name=${arg3:-$(basename "$src")}
		add_file "$src" "/tests/$name"
		chmod 755 "$stage/tests/$name"
		echo "/tests/$name" >> "$stage/etc/cim/tests"
		tests_list="${tests_list}selftests: cim: $name$nl"
		ntests=$((ntests + 1))
		;;
	module)
		add_file "$src" "/lib/modules/cim/$(basename "$src")"
		echo "/lib/modules/cim/$(basename "$src")" >> "$stage/etc/cim/modules"
		tests_list="${tests_list}insmod: $(basename "$src")$nl"
		;;
	file)
		add_file "$src" "${arg3:-/$(basename "$src")}"
		;;
	dir)
		[ -d "$src" ] || die "no directory $src"
		dest=${arg3:-/$(basename "$src")}
		mkdir -p "$stage$dest"
		cp -RL "$src/." "$stage$dest/"
		find "$src" -type f -perm -u+x | while read -r f; do add_libs "$f"; done
		;;
	*) die "unknown entry kind '$kind'" ;;
	esac
done <<EOF
$entries
EOF

# Reproducible archive: fixed mtimes, owner and inode numbers, sorted names
epoch=${SOURCE_DATE_EPOCH:-0}
find "$stage" -exec touch -h -d "@$epoch" {} +
mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
	"$bb" cpio -o -H newc -R 0:0 --ignore-devno --renumber-inodes 2>/dev/null) |
	gzip -n -6 > "$out.tmp"
mv "$out.tmp" "$out"
printf '%s' "$tests_list" > "${out%.cpio.gz}.tests"
log "${out#"$top"/}: $ntests tests, $(du -k "$out" | cut -f1) KiB"
