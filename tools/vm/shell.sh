#!/bin/sh
# SPDX-License-Identifier: MIT
#
# "make vm-shell": the test VM (same kernel, initramfs and cim devices as
# run-tests.sh) with an interactive busybox shell on the serial console.
# The tests are in /tests and listed in /etc/cim/tests; "exit" powers the
# VM off, Ctrl-A x kills QEMU. Arguments go to run-tests.sh (--device ...,
# --accel ..., -- extra QEMU arguments).
set -eu
exec "$(dirname "$0")/run-tests.sh" --shell "$@"
