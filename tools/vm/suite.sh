# SPDX-License-Identifier: MIT
# shellcheck shell=sh
#
# Sourced by the guest suites (tools/*/run-guest.sh), the steps they share.
# Sets $top (the tree) and $build (absolute), then:
#
#   guest_prepare        the guest kernel fetched, cim.ko built into $ko
#   guest_initrd NAME    prints $build/NAME/initramfs.cpio.gz, the directory
#                        made
#   guest_boot NAME ARG...
#                        boots the test VM (tools/vm/run-tests.sh) on that
#                        initramfs, console log $build/NAME/console.log,
#                        ARGs passed on; does not return
#
# Between guest_prepare and guest_boot the suite builds its programs and
# packs them with tools/vm/mkinitramfs.sh.
#
# With CIM_GUEST_KERNEL=debug (the debug kernel, see run-tests.sh) cim.ko is
# built against that kernel and a suite's files live under
# $build/debug/NAME/ instead of $build/NAME/.

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
suites=$build
if [ "${CIM_GUEST_KERNEL:-debian}" = debug ]; then
	suites=$build/debug
fi

guest_prepare() {
	"$top/tools/vm/fetch-kernel.sh" >/dev/null
	# shellcheck disable=SC2034 # used by the suite that sources this
	ko=$("$top/tools/kernel/build-module.sh")
}

guest_initrd() {
	mkdir -p "$suites/$1"
	echo "$suites/$1/initramfs.cpio.gz"
}

guest_boot() {
	suite=$1
	shift
	exec "$top/tools/vm/run-tests.sh" \
		--initrd "$suites/$suite/initramfs.cpio.gz" \
		--log "$suites/$suite/console.log" "$@"
}
