#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of firmware-model/tests/fuzz/fuzz_cmd.c: valid packets of every
opcode, alone and in jobs, for the fuzzer's small model and arena (the
input layout is described at the top of fuzz_cmd.c). Deterministic: the
same files every run.

usage: gen_corpus.py DIR
"""
import hashlib
import os
import random
import struct
import sys

ARENA = 0x100000
# geometry of fuzz_cmd.c's model
XR, XC, AR, AC = 16, 12, 100, 72
# arena layout of the seeds: inputs first (carried in the seed), outputs
# in the zeroed part
W, X, D, ROWS = 0x0000, 0x0300, 0x0400, 0x0500
OUT, REP, FENCE, CNT = 0x1000, 0x3000, 0x3100, 0x3200
FAIL = 256 * 1024 - 4096        # the failing tail of the arena

OP = dict(NOP=0x00, FENCE=0x01, SCRUB=0x02, IDLE=0x03, XBAR_PROGRAM=0x10,
          XBAR_READ=0x11, VMM_FWD=0x12, VMM_TRANS=0x13, DUU_UPDATE=0x14,
          AP_LOAD_ROWS=0x20, AP_PROGRAM=0x21, AP_READ=0x22,
          COUNTERS_READ=0x30, COUNTERS_RESET=0x31)
FZ_MAP, FZ_FAIL_READ, FZ_FAIL_WRITE, FZ_NO_DMA, FZ_ABORT = 1, 2, 4, 8, 16


def f32(v):
    return struct.unpack("<I", struct.pack("<f", v))[0]


def hdr(op, flags, size):
    return struct.pack("<HHI", OP[op], flags, size)


def win(xbar=0, row=0, nrows=XR, col=0, ncols=XC):
    return struct.pack("<IHHHH", xbar, row, nrows, col, ncols)


def nop():
    return hdr("NOP", 0, 8)


def fence(value=0x1122334455667788, addr=FENCE):
    return hdr("FENCE", 0, 24) + struct.pack("<QQ", ARENA + addr, value)


def scrub(xm=3, am=3):
    return hdr("SCRUB", 0, 24) + struct.pack("<QQ", xm, am)


def idle(ns=1000000000):
    return hdr("IDLE", 0, 16) + struct.pack("<Q", ns)


def program(xbar=0, report=True, tol=0.5, iters=8, w=None, flags=None):
    """flags: 2 = tolerance in uS, 4 = residual report (with report)"""
    w = w or win(xbar)
    if flags is None:
        flags = 1 if report else 0
    return (hdr("XBAR_PROGRAM", flags, 48) + w +
            struct.pack("<IIIQQ", iters, f32(tol), 0, ARENA + W,
                        ARENA + REP if report else 0))


def xread(xbar=0, weights=True):
    return (hdr("XBAR_READ", 1 if weights else 0, 32) + win(xbar) +
            struct.pack("<IQ", 0, ARENA + OUT))


def vmm(trans=False, xbar=0, batch=3, fixed=None, w=None):
    op = "VMM_TRANS" if trans else "VMM_FWD"
    return (hdr(op, 1 if fixed else 0, 48) + (w or win(xbar)) +
            struct.pack("<IIIQQ", batch, f32(fixed) if fixed else 0, 0,
                        ARENA + X, ARENA + OUT))


def duu(xbar=0, batch=2, lr=0.1, eps=0.0, n_max=7, flags=2, identity=False,
        w=None):
    w = w or win(xbar)
    x = ARENA + X
    if identity:
        flags |= 4
        batch = struct.unpack("<IHHHH", w)[2]
        x = 0
    return (hdr("DUU_UPDATE", flags, 64) + w +
            struct.pack("<IIIHHIQQQ", batch, f32(lr), f32(eps), n_max, 0, 0,
                        x, ARENA + D, ARENA + REP if flags & 2 else 0))


def ap_rows(op, ap=0, what=0, row=0, nrows=AR, col=0, ncols=64, addr=None):
    if addr is None:
        addr = ROWS if op == "AP_LOAD_ROWS" else OUT
    return (hdr(op, 0, 40) +
            struct.pack("<IIIIHHIQ", ap, what, row, nrows, col, ncols, 0,
                        ARENA + addr))


def inst(op, arg=0, *w):
    w = list(w) + [0] * (7 - len(w))
    return struct.pack("<BB7H", op, arg, *w)


def ap_program(ap, insts):
    body = b"".join(insts)
    return hdr("AP_PROGRAM", 0, 16 + len(body)) + struct.pack(
        "<II", ap, len(insts)) + body


def counters(flags=0, size=256):
    return hdr("COUNTERS_READ", flags, 24) + struct.pack(
        "<IIQ", size, 0, ARENA + CNT)


def counters_reset():
    return hdr("COUNTERS_RESET", 0, 8)


# AP instructions (include/cim_hw.h enum cim_ap_op)
KM_CLEAR, KM_SET, COMPARE, WRITE, SHIFT, TAGOP, TAGCOUNT, FIRSTTAG = \
    1, 2, 3, 4, 5, 6, 7, 8
ADD, RELU, MAX, REQUANT, CLEAR, COPY = 0x10, 0x11, 0x12, 0x13, 0x14, 0x15

AP_PROGS = {
    "primitives": [inst(KM_CLEAR), inst(KM_SET, 2, 3, 5 | 0x8000),
                   inst(COMPARE, 0), inst(TAGOP, 4), inst(KM_SET, 1, 7),
                   inst(WRITE), inst(TAGCOUNT, 0, 1), inst(FIRSTTAG, 0, 2),
                   inst(COMPARE, 2), inst(TAGOP, 3), inst(TAGOP, 5),
                   inst(TAGOP, 6)],
    "shift": [inst(SHIFT, 0, 0, 3), inst(KM_SET, 1, 0 | 0x8000),
              inst(TAGOP, 0), inst(WRITE), inst(SHIFT, 0, 0, 0xfffd),
              inst(SHIFT, 0, 4, 7)],
    "add": [inst(ADD, 0, 0, 8, 16, 12, 40),
            inst(ADD, 1, 0, 8, 16, 12, 40),
            inst(ADD, 4, 0, 8, 16, 12, 40),
            inst(ADD, 2, 0, 8, 16, 12, 40, 41)],
    "macros": [inst(RELU, 0, 16, 12), inst(MAX, 0, 0, 8, 3),
               inst(REQUANT, 0, 16, 12, 2, 32, 4, 50),
               inst(COPY, 0, 0, 8, 56), inst(CLEAR, 0, 0, 8)],
}


def arena_data(rng):
    """The seeds' inputs: weights in [-1, 1], x, d, AP rows."""
    a = bytearray(ROWS + 8 * AR)
    for i in range(XR * XC):
        struct.pack_into("<f", a, W + 4 * i, rng.uniform(-1.0, 1.0))
    for i in range((D - X) // 4):
        struct.pack_into("<f", a, X + 4 * i, rng.uniform(-2.0, 2.0))
    for i in range((ROWS - D) // 4):
        struct.pack_into("<f", a, D + 4 * i, rng.uniform(-0.5, 0.5))
    for i in range(AR):
        struct.pack_into("<Q", a, ROWS + 8 * i, rng.getrandbits(64))
    return bytes(a)


def seed(cmd, mode=0, abort_after=0, data=b""):
    return struct.pack("<BBH", mode, abort_after, len(cmd)) + cmd + data


def seeds():
    rng = random.Random(12)
    data = arena_data(rng)
    load = ap_rows("AP_LOAD_ROWS")
    s = {}
    # every opcode alone, valid
    s["nop"] = nop()
    s["fence"] = fence()
    s["scrub"] = scrub()
    s["scrub_none"] = scrub(0, 0)
    s["program"] = program()
    s["program_noreport"] = program(1, report=False, tol=0.25, iters=64)
    s["program_residual_us"] = program(1, tol=0.3, iters=16, flags=2 | 4)
    s["idle"] = idle()
    s["idle_relax"] = program() + idle(86400 * 10**9) + xread(weights=False)
    s["read_weights"] = program() + xread()
    s["read_g"] = program(1) + xread(1, weights=False)
    s["vmm_fwd"] = program() + vmm()
    s["vmm_trans"] = program() + vmm(True, batch=4)
    s["vmm_fixed"] = program() + vmm(fixed=0.5)
    s["vmm_window"] = program() + vmm(w=win(1, 3, 5, 2, 7), batch=2)
    s["duu"] = program() + duu()
    s["duu_no_transfer"] = duu(flags=1, batch=4)
    s["duu_identity"] = program() + duu(identity=True,
                                        w=win(0, 2, 4, 1, 6))
    s["duu_transfer_only"] = duu(batch=0, eps=0.01, n_max=255)
    s["duu_huge"] = duu(lr=3.0e38, n_max=3) + duu(lr=3.0e38, n_max=3)
    s["ap_load"] = load
    s["ap_read_rows"] = load + ap_rows("AP_READ", col=4, ncols=40)
    s["ap_read_tags"] = load + ap_rows("AP_READ", what=1, ncols=0)
    s["ap_read_regs"] = ap_rows("AP_READ", what=2, nrows=0, ncols=0)
    for name, prog in AP_PROGS.items():
        s["ap_" + name] = load + ap_program(0, prog) + ap_rows(
            "AP_READ", ap=0, what=2, nrows=0, ncols=0)
    s["counters"] = program() + counters()
    s["counters_reset"] = counters(flags=1) + counters_reset() + counters()
    # jobs of several packets
    s["train_step"] = (program() + vmm() + vmm(True) + duu() + vmm() +
                       fence(1) + counters())
    s["scrub_after_work"] = (program(1) + duu(1) + load +
                             ap_program(0, AP_PROGS["add"]) + scrub() +
                             xread(1) + ap_rows("AP_READ"))
    s["all_ops"] = (nop() + fence() + scrub() + program() + xread() +
                    vmm() + vmm(True) + duu() + load +
                    ap_program(1, AP_PROGS["primitives"]) +
                    ap_rows("AP_READ", ap=1) + counters() +
                    counters_reset())
    jobs = {}
    for k, cmd in s.items():
        jobs[k] = seed(cmd, data=data)
    # DMA behaviours
    jobs["map_train_step"] = seed(s["train_step"], FZ_MAP, data=data)
    jobs["abort_after_2"] = seed(s["train_step"], FZ_ABORT, 2, data)
    jobs["abort_at_once"] = seed(s["all_ops"], FZ_ABORT | FZ_MAP, 0, data)
    jobs["no_dma"] = seed(s["all_ops"], FZ_NO_DMA, data=data)
    jobs["fail_read"] = seed(program() + vmm() + ap_rows(
        "AP_LOAD_ROWS", addr=FAIL), FZ_FAIL_READ, data=data)
    jobs["fail_write"] = seed(vmm() + fence(addr=FAIL) + counters(),
                              FZ_FAIL_WRITE | FZ_MAP, data=data)
    return jobs


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        os.unlink(os.path.join(out, name))
    for name, blob in sorted(seeds().items()):
        digest = hashlib.sha1(blob).hexdigest()[:12]
        with open(os.path.join(out, "%s-%s" % (name, digest)), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
