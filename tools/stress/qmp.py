#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Send one QMP command to a QEMU monitor socket and print the reply.
#
# usage: qmp.py SOCKET COMMAND [JSON-ARGUMENTS]
#   qmp.py build/stress-faults/qmp.sock device_del '{"id": "cimhp"}'
import json
import socket
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: qmp.py SOCKET COMMAND [JSON-ARGUMENTS]")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(sys.argv[1])
    f = sock.makefile("rw")
    f.readline()  # greeting
    f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n")
    f.flush()
    f.readline()
    cmd = {"execute": sys.argv[2]}
    if len(sys.argv) > 3:
        cmd["arguments"] = json.loads(sys.argv[3])
    f.write(json.dumps(cmd) + "\n")
    f.flush()
    # events may come first; wait for the return or the error
    while True:
        line = f.readline()
        if not line:
            sys.exit("qmp: connection closed")
        reply = json.loads(line)
        if "return" in reply or "error" in reply:
            print(json.dumps(reply))
            sys.exit(1 if "error" in reply else 0)


main()
