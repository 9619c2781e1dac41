#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Fetch Fashion-MNIST (60,000 + 10,000, IDX) from Debian's
# dataset-fashion-mnist with `apt-get download`, unpacked with dpkg -x into
# the cache (the package is not installed), its .gz files checked against
# tools/data/fashion-mnist.sha256, then gunzipped to
#
#   build/data/fashion/{train,t10k}-{images-idx3,labels-idx1}-ubyte
#
# If the package is installed already, its files are used. Idempotent.
# Prints the data directory on stdout.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
cache=$build/data/cache
out=$build/data/fashion
sums=$top/tools/data/fashion-mnist.sha256
sysdir=/usr/share/datasets/fashion-mnist
files="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte
t10k-labels-idx1-ubyte"

die() { echo "fetch-fashion-mnist: $*" >&2; exit 1; }

if [ -f "$out/.verified" ]; then
	echo "$out"
	exit 0
fi

mkdir -p "$cache"
src=$sysdir
if ! (cd "$src" 2>/dev/null && sha256sum --quiet -c "$sums") >/dev/null 2>&1; then
	src=$cache/fashion-mnist/usr/share/datasets/fashion-mnist
	if ! (cd "$src" 2>/dev/null && sha256sum --quiet -c "$sums") >/dev/null 2>&1; then
		echo "fetch-fashion-mnist: apt-get download dataset-fashion-mnist" >&2
		rm -rf "$cache/fashion-mnist" "$cache"/dataset-fashion-mnist_*.deb
		# -o APT::Sandbox::User=root: _apt cannot write into a root-owned
		# build tree; the download is checked below anyway
		(cd "$cache" && apt-get download -q -o APT::Sandbox::User=root \
			dataset-fashion-mnist >&2) ||
			die "apt-get download dataset-fashion-mnist failed"
		dpkg -x "$cache"/dataset-fashion-mnist_*.deb "$cache/fashion-mnist" ||
			die "dpkg -x failed"
		(cd "$src" && sha256sum --quiet -c "$sums") >&2 ||
			die "$src: checksums differ from tools/data/fashion-mnist.sha256"
	fi
fi

rm -rf "$out"
mkdir -p "$out"
for f in $files; do
	gzip -dc "$src/$f.gz" > "$out/$f" || die "$src/$f.gz: cannot decompress"
done
touch "$out/.verified"
echo "$out"
