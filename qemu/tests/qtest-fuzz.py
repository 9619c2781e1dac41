#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A seeded qtest fuzzer for the cim-pci device, without a guest.

Starts build/qemu/qemu-system-x86_64 under the qtest accelerator with
several cim-pci devices (random geometry, fault injection on or off) and
plays a hostile CPU: random MMIO reads and writes of every BAR0 register
(bad sizes and offsets included), ring programming, descriptors and command
buffers whose addresses point into guest RAM, into the devices' own and
each other's BARs and into unmapped space, MSI-X vectors aimed at RAM, at
the interrupt controller and at the devices' registers, BAR moves, bus
mastering off, FAULT, ABORT_SEQNO, CONTROL.RESET and FLR in the middle of
jobs. It checks that

  - QEMU never exits by itself (no crash, no assertion, no sanitizer
    report when built with sanitizers);
  - QEMU never stalls: every qtest command is answered within --deadline
    seconds (under qtest the register accesses run in the main loop);
  - the registers stay within the specification: ID, VERSION, CAPS and the
    geometry block constant, reserved bits and undefined offsets read 0,
    ABORT_SEQNO reads 0, HALT_REASON one of the halt codes and set exactly
    when STATUS.HALTED, HALTED never with ENABLED, and RING_HEAD never
    passes RING_TAIL while the device is enabled;
  - every session ends on SIGTERM within 5 seconds.

    qemu/tests/qtest-fuzz.py [--seed N] [--time SECONDS | --sessions N]
                             [--ops N] [--deadline S] [--qemu PATH] [-v]

Without --time it is the short run of "make check-qemu": seed 1, a fixed
number of sessions and operations (under a minute). With --time it runs
sessions until the time is up, from a random seed unless --seed is given.
The seed is printed first; each session's seed is printed too, and
"--session-seed S --ops N" replays one session (the operations are drawn
from the seed alone, never from values read back, so a replay makes the
same accesses; the device's timing against them may differ).
"""
import argparse
import base64
import importlib.util
import os
import random
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("qtest_hardening",
                                               os.path.join(HERE, "qtest-hardening.py"))
hard = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hard)
smoke = hard.smoke

ROOT = smoke.ROOT
ID_MAGIC, VERSION = 0x314d4943, 0x00010002
R = dict(ID=0x000, VERSION=0x004, CAPS=0x008, STATUS=0x00c, CONTROL=0x010,
         INT_STATUS=0x014, INT_MASK=0x018, HALT_REASON=0x01c,
         RING_BASE_LO=0x020, RING_BASE_HI=0x024, RING_SIZE=0x028,
         RING_TAIL=0x02c, RING_HEAD=0x030, DONE_SEQNO_LO=0x034,
         DONE_SEQNO_HI=0x038, FAULT=0x03c, ABORT_SEQNO=0x080,
         DEVICE_PRESET=0x084)
GEOMETRY = range(0x040, 0x080, 4)
PRESETS = ("bulk-rram", "filamentary-rram", "pcm", "custom")     # DEVICE_PRESET
ENABLED, BUSY, HALTED, HUNG = 1, 2, 4, 8
HALT_CODES = (0, 10, 11, 14)                 # OK, BAD_ALIGN, DMA, BAD_RING

MEM = 64 << 20                               # guest RAM
RING_AREA = 0x100000                         # per device: 256 KiB
CMD_AREA = 0x400000                          # per device: 4 MiB + slack
DATA_AREA = 0x2000000                        # shared data, 16 MiB
MSI_AREA = 0x3f00000
UNMAPPED = (0x7f0000000000, 0xfffffffffffff000, 0x80000000, MEM + 0x1000)
BAR0_BASE, BAR_STRIDE = 0xc0000000, 0x10000

# packet sizes by opcode (AP_PROGRAM is 16 + 16 n)
PKT = {0x00: 8, 0x01: 24, 0x02: 24, 0x10: 48, 0x11: 32, 0x12: 48, 0x13: 48,
       0x14: 64, 0x20: 40, 0x21: None, 0x22: 40, 0x30: 24, 0x31: 8}


class Failure(Exception):
    pass


class FDev:
    """One cim-pci function as the fuzzer sees it (no state read back)."""

    def __init__(self, idx, props):
        self.idx, self.props = idx, props
        self.slot = 3 + idx
        self.bar0 = BAR0_BASE + idx * BAR_STRIDE
        self.bar2 = self.bar0 + 0x1000
        self.ring = RING_AREA + idx * 0x40000
        self.cmd = CMD_AREA + idx * (5 << 20)
        self.compl = self.ring + 0x30000
        self.ring_size = 4
        self.tail = 0
        self.seqno = 0
        self.mapped = True               # BAR0 at self.bar0, memory space on
        self.msix_at_tail = False        # some MSI-X vector aims at our tail


class Fuzzer:
    def __init__(self, qemu, seed, ops, deadline, verbose):
        self.qemu, self.seed, self.nops = qemu, seed, ops
        self.deadline, self.verbose = deadline, verbose
        self.rnd = random.Random(seed)
        self.stats = dict(mmio=0, jobs=0, resets=0, flrs=0, checks=0)

    # -- setup --------------------------------------------------------------

    def device_props(self, i):
        r = self.rnd
        p = ["addr=%02x.0" % (3 + i), "seed=%d" % r.randrange(1 << 32)]
        p.append("xbars=%d" % r.choice((0, 1, 2, 4)))
        p.append("xbar-rows=%d" % r.choice((8, 32, 128, 256)))
        p.append("xbar-cols=%d" % r.choice((8, 32, 128, 256)))
        p.append("aps=%d" % r.choice((0, 1, 2)))
        p.append("ap-rows=%d" % r.choice((16, 256, 1024)))
        p.append("ap-cols=%d" % r.choice((32, 64, 256)))
        p.append("ap-domains=%d" % r.choice((1, 8, 64)))
        if r.random() < 0.6:
            p.append("fault-injection=on")
        if r.random() < 0.3:
            p.append("noise=off")
        if r.random() < 0.5:
            p.append("device-preset=%s" % r.choice(PRESETS))
        return ",".join(p)

    def start(self):
        r = self.rnd
        n = r.choice((2, 2, 3))
        props = [self.device_props(i) for i in range(n)]
        self.devs = [FDev(i, p) for i, p in enumerate(props)]
        self.qt = hard.QTest(self.qemu, ["cim-pci," + p for p in props],
                             ["-m", "%dM" % (MEM >> 20)])
        self.qt.timeout = self.deadline
        for d in self.devs:
            self.cmd("outl 0xcf8 0x%x" % (0x80000000 | d.slot << 11 | 0x10))
            self.cmd("outl 0xcfc 0x%x" % d.bar0)
            self.cmd("outl 0xcf8 0x%x" % (0x80000000 | d.slot << 11 | 0x18))
            self.cmd("outl 0xcfc 0x%x" % d.bar2)
            self.cfg_cmd(d, 0x6)
            self.constants(d)
            self.msix(d)

    def cmd(self, line):
        try:
            return self.qt.cmd(line)
        except hard.Stalled as e:
            raise Failure("stall: %s" % e)
        except RuntimeError as e:
            raise Failure("QEMU: %s" % e)

    def cfg_cmd(self, d, command):
        self.cmd("outl 0xcf8 0x%x" % (0x80000000 | d.slot << 11 | 0x04))
        self.cmd("outl 0xcfc 0x%x" % command)
        d.mapped = bool(command & 2)

    def constants(self, d):
        """Read the constant registers once, to check them later."""
        d.const = {}
        for off in [R["ID"], R["VERSION"], R["CAPS"], R["DEVICE_PRESET"]] + list(GEOMETRY):
            d.const[off] = self.cmd("readl 0x%x" % (d.bar0 + off))
        d.fault_inj = "fault-injection=on" in d.props
        self.expect(d, d.const[R["ID"]] == ID_MAGIC, "ID 0x%x" % d.const[R["ID"]])
        self.expect(d, d.const[R["VERSION"]] == VERSION,
                    "VERSION 0x%x" % d.const[R["VERSION"]])
        self.expect(d, d.const[R["CAPS"]] & ~0x7f == 0, "CAPS 0x%x" % d.const[R["CAPS"]])
        preset = [v for k, v in (x.split("=") for x in d.props.split(","))
                  if k == "device-preset"]
        self.expect(d, d.const[R["DEVICE_PRESET"]] == PRESETS.index(
            preset[0] if preset else "bulk-rram"),
            "DEVICE_PRESET %d" % d.const[R["DEVICE_PRESET"]])
        self.expect(d, bool(d.const[R["CAPS"]] & 8) == d.fault_inj, "CAPS.FAULT_INJECT")

    def msix(self, d):
        """Point the two MSI-X vectors somewhere and enable MSI-X."""
        r = self.rnd
        cap = 0
        c = self.cmd_cfg_read(d, 0x34) & 0xff
        while c:
            if self.cmd_cfg_read(d, c) & 0xff == 0x11:
                cap = c
                break
            c = self.cmd_cfg_read(d, c + 1) & 0xff
        d.msix_cap = cap
        for v in range(2):
            kind = r.random()
            if kind < 0.5:
                addr, data = MSI_AREA + 64 * d.idx + 16 * v, 0x1000 + v
            elif kind < 0.65:
                addr, data = 0xfee00000, 0x30 + v
            else:
                t = r.choice(self.devs)
                reg = r.choice(("CONTROL", "RING_TAIL", "ABORT_SEQNO", "FAULT",
                                "INT_STATUS", "INT_MASK"))
                addr = t.bar0 + R[reg]
                data = r.choice((1, 2, 3, 7, r.randrange(1 << 32)))
                if reg == "RING_TAIL":
                    t.msix_at_tail = True
            e = d.bar2 + 16 * v
            self.cmd("writel 0x%x 0x%x" % (e, addr & 0xffffffff))
            self.cmd("writel 0x%x 0x%x" % (e + 4, addr >> 32))
            self.cmd("writel 0x%x 0x%x" % (e + 8, data))
            self.cmd("writel 0x%x 0x0" % (e + 12))
        self.msix_enable(d, r.random() < 0.85)

    def msix_enable(self, d, on):
        if not d.msix_cap:
            return
        self.cmd("outl 0xcf8 0x%x" % (0x80000000 | d.slot << 11 | d.msix_cap))
        dword = self.cmd("inl 0xcfc")
        ctl = (dword >> 16) & ~0xc000 | (0x8000 if on else 0)
        self.cmd("outl 0xcfc 0x%x" % ((dword & 0xffff) | ctl << 16))

    def cmd_cfg_read(self, d, reg):
        self.cmd("outl 0xcf8 0x%x" % (0x80000000 | d.slot << 11 | (reg & ~3)))
        return self.cmd("inl 0xcfc") >> ((reg & 3) * 8)

    # -- checks -------------------------------------------------------------

    def expect(self, d, cond, what):
        self.stats["checks"] += 1
        if not cond:
            raise Failure("device %d: %s" % (d.idx, what))

    def rd(self, d, off):
        self.stats["mmio"] += 1
        return self.cmd("readl 0x%x" % (d.bar0 + off))

    def check_regs(self, d):
        """Read the registers and check them against the specification."""
        if not d.mapped:
            return
        st1 = self.rd(d, R["STATUS"])
        head = self.rd(d, R["RING_HEAD"])
        tail = self.rd(d, R["RING_TAIL"])
        size = self.rd(d, R["RING_SIZE"])
        ctl = self.rd(d, R["CONTROL"])
        hr = self.rd(d, R["HALT_REASON"])
        st2 = self.rd(d, R["STATUS"])
        self.expect(d, st1 & ~0xf == 0 and st2 & ~0xf == 0, "STATUS reserved bits 0x%x" % st1)
        self.expect(d, not (st2 & HALTED and st2 & ENABLED), "HALTED with ENABLED")
        self.expect(d, ctl & ~3 == 0, "CONTROL reserved bits 0x%x" % ctl)
        self.expect(d, hr in HALT_CODES, "HALT_REASON %d" % hr)
        if st1 == st2 and not st2 & HALTED:
            # a halt may come between the two reads; with none, no reason
            self.expect(d, hr == 0 or self.rd(d, R["STATUS"]) & HALTED,
                        "HALT_REASON %d while not halted" % hr)
        if st1 & ENABLED and st2 & ENABLED and not (st1 | st2) & HALTED:
            gap = (tail - head) & 0xffffffff
            self.expect(d, gap <= 0x7fffffff,
                        "RING_HEAD %d passed RING_TAIL %d" % (head, tail))
            if not d.msix_at_tail:
                self.expect(d, gap <= size,
                            "RING_TAIL - RING_HEAD %d > RING_SIZE %d" % (gap, size))
        for off, name in ((R["INT_STATUS"], "INT_STATUS"), (R["INT_MASK"], "INT_MASK")):
            v = self.rd(d, off)
            self.expect(d, v & ~7 == 0, "%s reserved bits 0x%x" % (name, v))
        f = self.rd(d, R["FAULT"])
        self.expect(d, f & ~7 == 0 and (d.fault_inj or f == 0), "FAULT 0x%x" % f)
        self.expect(d, self.rd(d, R["ABORT_SEQNO"]) == 0, "ABORT_SEQNO reads 0")
        for off in self.rnd.sample(range(0x88, 0x1000, 4), 2):
            self.expect(d, self.rd(d, off) == 0, "undefined offset 0x%x reads 0" % off)
        off = self.rnd.choice(list(d.const))
        v = self.rd(d, off)
        self.expect(d, v == d.const[off], "constant 0x%x changed: 0x%x" % (off, v))

    # -- addresses and command buffers --------------------------------------

    def addr(self, d, align=8, ram_bias=0.8):
        r = self.rnd
        x = r.random()
        if x < ram_bias:
            a = DATA_AREA + r.randrange(0, 16 << 20, align)
        elif x < ram_bias + 0.08:
            t = r.choice(self.devs)
            a = t.bar0 + r.randrange(0, 0x100, 4)
        elif x < ram_bias + 0.12:
            a = r.choice(self.devs).bar2 + r.randrange(0, 0x40, 4)
        elif x < ram_bias + 0.16:
            a = r.choice(UNMAPPED)
        else:
            a = r.choice((d.ring, d.cmd, d.compl, 0, MEM - 8))
        if r.random() < 0.03:
            a += r.choice((1, 2, 4))
        return a

    def packet(self, d):
        r = self.rnd
        op = r.choice(list(PKT) + [0x00, 0x01, 0x12, 0x12, 0x13, 0x10, 0x21, 0x02])
        if r.random() < 0.02:
            op = r.randrange(0x40)
        size = PKT.get(op)
        if op == 0x21:
            n = r.randrange(0, 6)
            size = 16 + 16 * n
        if size is None:
            size = 8 * r.randrange(1, 8)
        flags = 0 if r.random() < 0.8 else r.choice((1, 2, 3, r.randrange(1 << 16)))
        if r.random() < 0.03:
            size = r.choice((0, 4, size + 8, size - 8 if size > 8 else 16, 1 << 20))
        body = bytearray()
        u = lambda n: r.choice((0, 1, 2, 3, n, r.randrange(max(n, 1) + 4)))
        if op in (0x10, 0x11, 0x12, 0x13, 0x14):            # crossbar window
            body += struct.pack("<IHHHH", u(4), u(8), r.choice((1, 2, 8, 32, 128)),
                                u(8), r.choice((1, 2, 8, 32, 128)))
            if op == 0x10:
                body += struct.pack("<IfI", r.choice((0, 1, 5, 20)),
                                    r.choice((0.5, 1.0, 0.0, float("nan"))), 0)
                body += struct.pack("<QQ", self.addr(d, 4), self.addr(d, 8))
            elif op == 0x11:
                body += struct.pack("<IQ", 0, self.addr(d, 4))
            elif op in (0x12, 0x13):
                body += struct.pack("<IfI", r.choice((1, 2, 16, 64, 1024)),
                                    r.choice((0.0, 1.0, 4.0)), 0)
                body += struct.pack("<QQ", self.addr(d, 4), self.addr(d, 4))
            else:
                body += struct.pack("<IffHHI", r.choice((1, 4, 16)), 0.01, 0.01,
                                    r.choice((0, 1, 15)), 0, 0)
                body += struct.pack("<QQQ", self.addr(d, 4), self.addr(d, 4),
                                    self.addr(d, 8))
        elif op == 0x01:
            body += struct.pack("<QQ", self.addr(d, 8, 0.6), r.randrange(1 << 64))
        elif op == 0x02:
            body += struct.pack("<QQ", r.choice((0, 1, 3, r.randrange(1 << 64))),
                                r.choice((0, 1, 3, r.randrange(1 << 64))))
        elif op in (0x20, 0x22):
            body += struct.pack("<IIIIHHIQ", u(2), r.choice((0, 1, 2, 3)), u(16),
                                r.choice((1, 4, 16, 256)), u(8), r.choice((1, 8, 32)),
                                0, self.addr(d, 8))
        elif op == 0x21:
            n = max((size - 16) // 16, 0)
            body += struct.pack("<II", u(2), n if r.random() < 0.9 else u(n))
            for _ in range(max(n, 0)):
                body += struct.pack("<BB7H", r.choice((1, 2, 3, 4, 5, 6, 7, 8, 0x10, 0x11,
                                                       0x12, 0x13, 0x14, 0x15, r.randrange(256))),
                                    r.randrange(8), *[u(32) for _ in range(7)])
        elif op == 0x30:
            body += struct.pack("<IIQ", r.choice((4096, 64, 0)), 0, self.addr(d, 8))
        else:
            body += bytes(r.randrange(256) for _ in range(max(size - 8, 0)))
        body = bytes(body[:max(size - 8, 0)]).ljust(max(size - 8, 0), b"\0")
        return struct.pack("<HHI", op, flags, size) + body

    def cmdbuf(self, d):
        """A command buffer in d's command area; returns (addr, size)."""
        r = self.rnd
        x = r.random()
        if x < 0.12 and "aps=0" not in d.props:
            # a long job without DMA: AP_PROGRAMs of 64-bit ADDs
            ins = struct.pack("<BB7H", 0x10, 0, 0, 64, 64, 64, 128, 0, 0)
            n = r.choice((4, 16, 64))
            pkt = struct.pack("<HHIII", 0x21, 0, 16 + 16 * n, 0, n) + ins * n
            data = pkt * r.choice((1, 5, 20))
            self.cmd("b64write 0x%x 0x%x %s" % (d.cmd, len(data),
                                                 base64.b64encode(data).decode()))
            return d.cmd, len(data)
        if x < 0.27:                    # long NOP and FENCE runs (long jobs)
            n = r.choice((1000, 20000, 200000))
            unit = struct.pack("<HHI", 0, 0, 8) * 7 + struct.pack(
                "<HHIQQ", 1, 0, 24, self.addr(d, 8, 0.7), r.randrange(1 << 32))
            data = unit * (n // 8)
            self.cmd("b64write 0x%x 0x%x %s" % (d.cmd, len(data),
                                                 base64.b64encode(data).decode()))
            return d.cmd, len(data)
        data = b"".join(self.packet(d) for _ in range(r.choice((1, 1, 2, 4, 12))))
        if r.random() < 0.05:
            data = data[:r.randrange(len(data) + 1)]
        self.cmd("write 0x%x 0x%x 0x%s" % (d.cmd, max(len(data), 1),
                                            (data or b"\0").hex()))
        return d.cmd, len(data)

    # -- operations ---------------------------------------------------------

    def op_ring(self, d):
        r = self.rnd
        self.mmio_write(d, R["CONTROL"], 2 if r.random() < 0.9 else 3)
        size = r.choice((2, 4, 8, 4096)) if r.random() < 0.9 else r.choice((0, 3, 8192, 1))
        base = d.ring if r.random() < 0.9 else self.addr(d, 64, 0.5)
        d.ring_size, d.tail = max(size, 1), 0
        self.mmio_write(d, R["RING_BASE_LO"], base & 0xffffffff)
        self.mmio_write(d, R["RING_BASE_HI"], base >> 32)
        self.mmio_write(d, R["RING_SIZE"], size)
        self.mmio_write(d, R["INT_MASK"], r.randrange(8))
        if r.random() < 0.95:
            self.mmio_write(d, R["CONTROL"], 1)
        self.stats["resets"] += 1

    def op_submit(self, d):
        r = self.rnd
        njobs = r.choice((1, 1, 2, 3))
        for _ in range(njobs):
            cmd, size = self.cmdbuf(d) if r.random() < 0.8 else (self.addr(d, 8, 0.5),
                                                                   r.randrange(0, 1 << 12, 8))
            d.seqno += 1
            seqno = d.seqno if r.random() < 0.9 else r.randrange(1 << 64)
            flags = 0 if r.random() < 0.95 else r.randrange(1 << 32)
            res = (0, 0, 0, 0) if r.random() < 0.95 else tuple(r.randrange(3) for _ in range(4))
            compl = d.compl + 64 * (d.tail % 64) if r.random() < 0.9 else self.addr(d, 8, 0.5)
            if r.random() < 0.05:
                size = r.choice((12, 0, (4 << 20) + 8))
            desc = smoke.desc(cmd, size, seqno, compl, flags, res)
            slot = d.tail % max(d.ring_size, 1)
            ring = d.ring + 64 * (slot % 4096)
            self.cmd("write 0x%x 0x40 0x%s" % (ring, desc.hex()))
            d.tail += 1
            self.stats["jobs"] += 1
        tail = d.tail if r.random() < 0.95 else r.choice((d.tail - 1, d.tail + 5, 0,
                                                          r.randrange(1 << 32)))
        self.mmio_write(d, R["RING_TAIL"], tail & 0xffffffff)
        if r.random() < 0.3:
            time.sleep(r.choice((0.002, 0.01, 0.03)))   # let it run

    def op_tail(self, d):
        """RING_TAIL around the count posted, while jobs run."""
        r = self.rnd
        k = r.choice((-2, -1, -1, 0, 1, d.ring_size, d.ring_size + 1))
        if r.random() < 0.3:
            self.mmio_write(d, R["CONTROL"], 0)          # disabled: any value
        self.mmio_write(d, R["RING_TAIL"], (d.tail + k) & 0xffffffff)
        if r.random() < 0.5:
            self.check_regs(d)

    def mmio_write(self, d, off, val, size=4):
        self.stats["mmio"] += 1
        sfx = {1: "b", 2: "w", 4: "l", 8: "q"}[size]
        self.cmd("write%s 0x%x 0x%x" % (sfx, d.bar0 + off, val & ((1 << 8 * size) - 1)))

    def op_mmio(self, d):
        r = self.rnd
        if r.random() < 0.85:
            off = r.choice(list(R.values()) + list(GEOMETRY) + [0x88, 0xffc])
        else:
            off = r.randrange(0x1000)
        size = 4 if r.random() < 0.8 else r.choice((1, 2, 8))
        if off + size > 0x1000:
            off = 0x1000 - size
        if r.random() < 0.5:
            self.stats["mmio"] += 1
            sfx = {1: "b", 2: "w", 4: "l", 8: "q"}[size]
            v = self.cmd("read%s 0x%x" % (sfx, d.bar0 + off))
            if d.mapped and (size != 4 or off & 3):
                self.expect(d, v == (1 << 8 * size) - 1,
                            "%d-byte read at 0x%x gave 0x%x, not all ones" % (size, off, v))
            return
        val = r.choice((0, 1, 2, 3, 4, 7, 0xffffffff, r.randrange(1 << 32),
                        d.seqno & 0xffffffff))
        self.mmio_write(d, off, val, size)

    def op_control(self, d):
        r = self.rnd
        x = r.random()
        if x < 0.35:
            self.mmio_write(d, R["CONTROL"], 2)              # reset mid-job
            self.stats["resets"] += 1
        elif x < 0.55:
            self.mmio_write(d, R["ABORT_SEQNO"], (d.seqno - r.randrange(3)) & 0xffffffff)
        elif x < 0.7:
            self.mmio_write(d, R["FAULT"], r.choice((1, 2, 4, 7)))
        elif x < 0.8:
            self.mmio_write(d, R["CONTROL"], r.choice((0, 1)))
        else:
            self.flr(d)

    def flr(self, d):
        c = self.cmd_cfg_read(d, 0x34) & 0xff
        while c and self.cmd_cfg_read(d, c) & 0xff != 0x10:
            c = self.cmd_cfg_read(d, c + 1) & 0xff
        self.cmd("outl 0xcf8 0x%x" % (0x80000000 | d.slot << 11 | (c + 8)))
        v = self.cmd("inl 0xcfc")
        self.cmd("outl 0xcfc 0x%x" % (v | 0x8000))
        self.stats["flrs"] += 1
        # FLR cleared the BARs, the command register and MSI-X: redo them
        self.cmd("outl 0xcf8 0x%x" % (0x80000000 | d.slot << 11 | 0x10))
        self.cmd("outl 0xcfc 0x%x" % d.bar0)
        self.cmd("outl 0xcf8 0x%x" % (0x80000000 | d.slot << 11 | 0x18))
        self.cmd("outl 0xcfc 0x%x" % d.bar2)
        self.cfg_cmd(d, 0x6)
        self.msix(d)
        d.tail = 0

    def op_config(self, d):
        r = self.rnd
        x = r.random()
        if x < 0.4:
            self.cfg_cmd(d, r.choice((0x2, 0x4, 0x0, 0x6)))    # bus master / memory off
        elif x < 0.6:
            self.cfg_cmd(d, 0x6)
        elif x < 0.8:
            # move BAR0 to another device's place, or away and back
            other = r.choice(self.devs)
            self.cmd("outl 0xcf8 0x%x" % (0x80000000 | d.slot << 11 | 0x10))
            self.cmd("outl 0xcfc 0x%x" % (other.bar0 + 0x8000))
            self.cmd("outl 0xcf8 0x%x" % (0x80000000 | d.slot << 11 | 0x10))
            self.cmd("outl 0xcfc 0x%x" % d.bar0)
        else:
            self.msix_enable(d, r.random() < 0.7)

    def op_ram(self, d):
        """Scribble over a descriptor, a command buffer or a ring."""
        r = self.rnd
        a = r.choice((d.ring + 64 * r.randrange(8), d.cmd + 8 * r.randrange(64),
                      r.choice(self.devs).cmd))
        data = bytes(r.randrange(256) for _ in range(r.choice((8, 16, 64))))
        self.cmd("write 0x%x 0x%x 0x%s" % (a, len(data), data.hex()))

    def run(self):
        r = self.rnd
        self.start()
        ops = ((0.22, self.op_submit), (0.2, self.op_mmio), (0.08, self.op_ring),
               (0.1, self.op_control), (0.05, self.op_config), (0.05, self.op_ram),
               (0.05, self.op_tail), (0.25, None))
        for d in self.devs:
            self.op_ring(d)
        for i in range(self.nops):
            d = r.choice(self.devs)
            x, acc = r.random(), 0.0
            for p, fn in ops:
                acc += p
                if x < acc:
                    break
            if fn is None:
                self.check_regs(d)
            else:
                fn(d)
            if r.random() < 0.05:
                time.sleep(r.choice((0.001, 0.01, 0.05)))
            if self.qt.p.poll() is not None:
                raise Failure("QEMU exited with %d" % self.qt.p.returncode)
        for d in self.devs:
            if d.mapped:
                self.check_regs(d)
        start = time.time()
        if not self.qt.sigterm(5.0):
            raise Failure("QEMU ignored SIGTERM for 5 s")
        if self.qt.p.returncode not in (0, -15, 143):
            raise Failure("QEMU exited with %d on SIGTERM" % self.qt.p.returncode)
        return time.time() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, help="master seed (default 1, or random with --time)")
    ap.add_argument("--session-seed", type=int, help="replay one session")
    ap.add_argument("--time", type=float, help="run sessions for this many seconds")
    ap.add_argument("--sessions", type=int, default=6, help="sessions of the short run")
    ap.add_argument("--ops", type=int, default=400, help="operations per session")
    ap.add_argument("--deadline", type=float, default=10.0,
                    help="seconds QEMU may take to answer one qtest command")
    ap.add_argument("--qemu", default=os.path.join(ROOT, "build/qemu/qemu-system-x86_64"))
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    seed = args.seed
    if seed is None:
        seed = random.SystemRandom().randrange(1 << 32) if args.time else 1
    print("qtest-fuzz: seed %d" % seed)
    sys.stdout.flush()
    master = random.Random(seed)
    start = time.time()
    totals = dict(sessions=0, ops=0, mmio=0, jobs=0, resets=0, flrs=0, checks=0)
    n = 0
    while True:
        if args.session_seed is not None:
            if n:
                break
            sseed = args.session_seed
        elif args.time is not None:
            if time.time() - start >= args.time:
                break
            sseed = master.randrange(1 << 32)
        else:
            if n >= args.sessions:
                break
            sseed = master.randrange(1 << 32)
        n += 1
        f = Fuzzer(args.qemu, sseed, args.ops, args.deadline, args.verbose)
        t0 = time.time()
        try:
            quit_s = f.run()
        except Failure as e:
            print("not ok - session %d seed %d: %s" % (n, sseed, e))
            print("qtest-fuzz: FAILED; replay with: %s --session-seed %d --ops %d"
                  % (sys.argv[0], sseed, args.ops))
            if hasattr(f, "qt"):
                try:
                    f.qt.p.kill()
                except OSError:
                    pass
                f.qt.err.seek(0)
                sys.stdout.write(f.qt.err.read()[-3000:])
            return 1
        except BaseException:
            if hasattr(f, "qt") and f.qt.p.poll() is None:
                f.qt.p.kill()           # a bug of the fuzzer: leave no QEMU
            raise
        totals["sessions"] += 1
        totals["ops"] += args.ops
        for k in ("mmio", "jobs", "resets", "flrs", "checks"):
            totals[k] += f.stats[k]
        if args.verbose or args.time is None:
            print("ok - session %d seed %d: %d devices, %d MMIO, %d jobs, %d resets, "
                  "%d FLRs, %.1f s, SIGTERM %.2f s"
                  % (n, sseed, len(f.devs), f.stats["mmio"], f.stats["jobs"],
                     f.stats["resets"], f.stats["flrs"], time.time() - t0, quit_s))
            sys.stdout.flush()
    if smoke.SANITIZER_REPORTS:
        for rep in smoke.SANITIZER_REPORTS:
            sys.stderr.write(rep)
        print("qtest-fuzz: FAILED: sanitizer report")
        return 1
    print("qtest-fuzz: seed %d: %d sessions, %d operations, %d MMIO accesses, %d jobs, "
          "%d resets, %d FLRs, %d checks in %.0f s, no failure"
          % (seed, totals["sessions"], totals["ops"], totals["mmio"], totals["jobs"],
             totals["resets"], totals["flrs"], totals["checks"], time.time() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
