#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Host-side smoke test of the cim-pci device, without a guest.

Runs build/qemu/qemu-system-x86_64 under QEMU's qtest accelerator (the test
plays the CPU: it writes PCI config space, guest RAM and BAR0 through the
qtest text protocol) and checks the register interface, the ring, the
completion records, MSI-X, fault injection, halts and reset against
Documentation/device/spec.rst.

    qemu/tests/qtest-smoke.py [path/to/qemu-system-x86_64]

Prints one "ok N - ..." / "not ok N - ..." line per check (TAP) and ends with
"N passed, N failed"; exits non-zero on a failure.
"""
import os
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# the firmware folder, for a QEMU run from a build folder of its own
FIRMWARE = ["-L", os.path.join(ROOT, "build/qemu/share")]

# include/cim_hw.h (the values this test relies on)
REG = dict(ID=0x000, VERSION=0x004, CAPS=0x008, STATUS=0x00c, CONTROL=0x010,
           INT_STATUS=0x014, INT_MASK=0x018, HALT_REASON=0x01c,
           RING_BASE_LO=0x020, RING_BASE_HI=0x024, RING_SIZE=0x028,
           RING_TAIL=0x02c, RING_HEAD=0x030, DONE_SEQNO_LO=0x034,
           DONE_SEQNO_HI=0x038, FAULT=0x03c, XBAR_COUNT=0x040,
           XBAR_ROWS=0x044, AP_COUNT=0x058, MAX_CMDBUF=0x070,
           SEED_LO=0x078, SEED_HI=0x07c, XBAR_LEVELS=0x04c,
           DEVICE_PRESET=0x084)
ENABLED, BUSY, HALTED, HUNG = 1, 2, 4, 8
CTL_ENABLE, CTL_RESET = 1, 2
INT_DONE, INT_ERROR, INT_HALTED = 1, 2, 4
F_HANG, F_DMA, F_ERROR = 1, 2, 4
ST = dict(OK=0, BAD_SIZE=2, BAD_FLAGS=4, RESERVED=5, BAD_ALIGN=10, DMA=11,
          INJECTED=13, BAD_RING=14)
OP_NOP, OP_XBAR_PROGRAM, OP_VMM_FWD, OP_COUNTERS_READ = 0x00, 0x10, 0x12, 0x30

RING, CMDBUF, COMPL, MSIMEM, CNTRS = 0x100000, 0x200000, 0x300000, 0x400000, 0x500000
VMM_X, VMM_Y = 0x1000000, 0x2000000


SANITIZER_REPORTS = []     # from a QEMU built with --enable-sanitizers


class QTest:
    def __init__(self, qemu, devices, extra=()):
        args = [qemu, "-M", "q35", "-accel", "qtest", "-qtest", "stdio",
                "-qtest-log", "/dev/null",
                "-nodefaults", "-display", "none", "-m", "128M"] + FIRMWARE
        for d in devices:
            args += ["-device", d]
        args += list(extra)
        self.err = tempfile.TemporaryFile(mode="w+")
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=self.err, text=True)

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        while True:
            out = self.p.stdout.readline()
            if not out:
                self.err.seek(0)
                raise RuntimeError("qemu exited: " + self.err.read())
            if out.startswith("OK") or out.startswith("FAIL") or out.startswith("ERR"):
                break
        if not out.startswith("OK"):
            raise RuntimeError("%s -> %s" % (line, out.strip()))
        parts = out.split()
        return int(parts[1], 16) if len(parts) > 1 else None

    def close(self):
        self.p.terminate()
        self.p.wait(timeout=10)
        self.err.seek(0)
        err = self.err.read()
        if "Sanitizer" in err or "runtime error:" in err:
            SANITIZER_REPORTS.append(err)

    # PCI config space through 0xcf8/0xcfc
    def cfg_read(self, dev, reg):
        self.cmd("outl 0xcf8 0x%x" % (0x80000000 | dev << 11 | (reg & ~3)))
        v = self.cmd("inl 0xcfc")
        return (v >> ((reg & 3) * 8))

    def cfg_write(self, dev, reg, val):
        self.cmd("outl 0xcf8 0x%x" % (0x80000000 | dev << 11 | reg))
        self.cmd("outl 0xcfc 0x%x" % val)

    def mem_write(self, addr, data):
        self.cmd("write 0x%x 0x%x 0x%s" % (addr, len(data), data.hex()))

    def mem_read(self, addr, size):
        self.p.stdin.write("read 0x%x 0x%x\n" % (addr, size))
        self.p.stdin.flush()
        out = self.p.stdout.readline().split()
        assert out[0] == "OK", out
        return bytes.fromhex(out[1][2:])


class Dev:
    def __init__(self, qt, slot, bar0, bar2):
        self.qt, self.slot, self.bar0, self.bar2 = qt, slot, bar0, bar2
        qt.cfg_write(slot, 0x10, bar0)
        qt.cfg_write(slot, 0x18, bar2)
        qt.cfg_write(slot, 0x04, 0x6)            # memory space, bus master

    def rd(self, name, size=4, off=0):
        addr = self.bar0 + (REG[name] if isinstance(name, str) else name) + off
        return self.qt.cmd("read%s 0x%x" % ({1: "b", 2: "w", 4: "l", 8: "q"}[size], addr))

    def wr(self, name, val, size=4):
        addr = self.bar0 + (REG[name] if isinstance(name, str) else name)
        self.qt.cmd("write%s 0x%x 0x%x" % ({1: "b", 2: "w", 4: "l", 8: "q"}[size], addr, val))

    def msix_setup(self, msimem):
        qt = self.qt
        cap = qt.cfg_read(self.slot, 0x34) & 0xff
        while cap:
            if qt.cfg_read(self.slot, cap) & 0xff == 0x11:
                break
            cap = qt.cfg_read(self.slot, cap + 1) & 0xff
        assert cap, "no MSI-X capability"
        for v in range(2):                  # vector v writes 0x1000+v to msimem+16v
            e = self.bar2 + 16 * v
            qt.cmd("writel 0x%x 0x%x" % (e, msimem + 16 * v))
            qt.cmd("writel 0x%x 0x0" % (e + 4))
            qt.cmd("writel 0x%x 0x%x" % (e + 8, 0x1000 + v))
            qt.cmd("writel 0x%x 0x0" % (e + 12))
        ctl = qt.cfg_read(self.slot, cap + 2) & 0xffff
        self.qt.cmd("outl 0xcf8 0x%x" % (0x80000000 | self.slot << 11 | cap))
        dword = self.qt.cmd("inl 0xcfc")
        self.qt.cmd("outl 0xcfc 0x%x" % ((dword & 0xffff) | (ctl | 0x8000) << 16))
        self.msimem = msimem

    def msi_count(self, v):
        """MSI-X messages of vector v since the last clear (the data word)."""
        return struct.unpack("<I", self.qt.mem_read(self.msimem + 16 * v, 4))[0]

    def msi_clear(self):
        self.qt.mem_write(self.msimem, bytes(32))


def desc(cmdbuf, size, seqno, compl, flags=0, reserved=(0, 0, 0, 0)):
    return struct.pack("<QIIQQ4Q", cmdbuf, size, flags, seqno, compl, *reserved)


def completion(qt, addr):
    seqno, status, cmds_done, eoff, efield, energy, t, res = \
        struct.unpack("<QIIIIQQQ", qt.mem_read(addr, 48))
    return dict(seqno=seqno, status=status, cmds_done=cmds_done,
                error_offset=eoff, error_field=efield, energy=energy,
                time=t, reserved=res)


class Tap:
    def __init__(self):
        self.n = self.failed = 0

    def check(self, cond, what):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, what))
        sys.stdout.flush()


def wait_head(d, head, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if d.rd("RING_HEAD") == head:
            return True
        time.sleep(0.005)
    return False


def wait_status(d, mask, want, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if d.rd("STATUS") & mask == want:
            return True
        time.sleep(0.005)
    return False


def setup_ring(d, size=4, base=RING):
    d.wr("CONTROL", CTL_RESET)
    d.wr("RING_BASE_LO", base & 0xffffffff)
    d.wr("RING_BASE_HI", base >> 32)
    d.wr("RING_SIZE", size)
    d.wr("INT_MASK", INT_DONE | INT_ERROR | INT_HALTED)
    d.wr("CONTROL", CTL_ENABLE)


class Submitter:
    def __init__(self, d, size=4, base=RING):
        self.d, self.size, self.base, self.tail, self.seqno = d, size, base, 0, 0

    def submit(self, cmdbuf, size, compl=COMPL, **kw):
        self.seqno += 1
        slot = self.tail % self.size
        self.d.qt.mem_write(compl, bytes(48))
        self.d.qt.mem_write(self.base + 64 * slot,
                            desc(cmdbuf, size, self.seqno, compl, **kw))
        self.tail += 1
        self.d.wr("RING_TAIL", self.tail)
        return self.seqno


def identical_to_host(t, qemu):
    """Program weights and run VMMs in QEMU and in build/libcimfw.a."""
    lib = os.path.join(ROOT, "build/libcimfw.a")
    replay = os.path.join(ROOT, "build/qemu/fw-replay")
    r = subprocess.run(["make", "-s", "-C", ROOT, "build/libcimfw.a"],
                       capture_output=True, text=True)
    if r.returncode == 0:
        r = subprocess.run(["cc", "-std=c11", "-O2", "-ffp-contract=off",
                            "-I" + os.path.join(ROOT, "include"),
                            "-o", replay,
                            os.path.join(ROOT, "qemu/tests/fw-replay.c"),
                            lib, "-lopenblas", "-lm"],
                           capture_output=True, text=True)
    if r.returncode != 0:
        print("ok %d - # SKIP no host model library: %s" % (t.n + 1, r.stderr.strip()[:200]))
        t.n += 1
        return
    srcs = [os.path.join(ROOT, "firmware-model", f)
            for f in os.listdir(os.path.join(ROOT, "firmware-model")) if f[-2:] in (".c", ".h")]
    if max(os.path.getmtime(f) for f in srcs) > os.path.getmtime(qemu):
        print("ok %d - # SKIP %s is older than the model sources: run "
              "qemu/build-qemu.sh" % (t.n + 1, qemu))
        t.n += 1
        return
    import random
    rnd = random.Random(5)
    W, X, Y, REP, SIZE = 0x10000, 0x20000, 0x30000, 0x40000, 0x50000
    rows, cols, batch = 64, 32, 8
    img = bytearray(SIZE)
    img[W:W + 4 * rows * cols] = struct.pack("<%df" % (rows * cols),
                                             *[rnd.uniform(-1, 1) for _ in range(rows * cols)])
    img[X:X + 4 * rows * batch] = struct.pack("<%df" % (rows * batch),
                                              *[rnd.uniform(-1, 1) for _ in range(rows * batch)])
    prog = struct.pack("<HHIIHHHHIIIQQ", OP_XBAR_PROGRAM, 1, 48, 0, 0, rows, 0, cols,
                       10, struct.unpack("<I", struct.pack("<f", 0.5))[0], 0, W, REP)
    vmm = struct.pack("<HHIIHHHHIIIQQ", OP_VMM_FWD, 0, 48, 0, 0, rows, 0, cols,
                      batch, 0, 0, X, Y)
    cmd = prog + vmm + vmm
    img_path, cmd_path, out_path = (replay + ".img", replay + ".cmd", replay + ".out")
    open(img_path, "wb").write(img)
    open(cmd_path, "wb").write(cmd)
    r = subprocess.run([replay, "7", img_path, cmd_path, out_path],
                       capture_output=True, text=True)
    host = open(out_path, "rb").read() if r.returncode == 0 else b""

    qt = QTest(qemu, ["cim-pci,addr=03.0,seed=7"])
    d = Dev(qt, 3, 0xc0000000, 0xc0001000)
    base = 0x1000000                              # the image's address 0
    qt.mem_write(base, bytes(img))
    setup_ring(d)
    s = Submitter(d)
    cmd_q = prog[:32] + struct.pack("<QQ", base + W, base + REP) + \
        (vmm[:32] + struct.pack("<QQ", base + X, base + Y)) * 2
    qt.mem_write(CMDBUF, cmd_q)
    s.submit(CMDBUF, len(cmd_q))
    wait_head(d, 1)
    c = completion(qt, COMPL)
    dev_y = qt.mem_read(base + Y, 4 * cols * batch)
    dev_rep = qt.mem_read(base + REP, 16)
    qt.close()
    hc = struct.unpack("<QIIIIQQQ", host[SIZE:SIZE + 48]) if host else None
    same = (host and c["status"] == ST["OK"] and hc[1] == 0
            and host[Y:Y + 4 * cols * batch] == dev_y
            and host[REP:REP + 16] == dev_rep
            and (hc[2], hc[5], hc[6]) == (c["cmds_done"], c["energy"], c["time"]))
    why = "" if same else " [y %s, report %s %s, completion %s %s]" % (
        host[Y:Y + 4 * cols * batch] == dev_y, struct.unpack("<4I", dev_rep),
        struct.unpack("<4I", host[REP:REP + 16]) if host else None, c, hc)
    t.check(same, "program + 2 VMMs: QEMU and the host library agree bit for bit "
            "(status %d, energy %d fJ)%s" % (c["status"], c["energy"], why))


def main():
    qemu = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/qemu/qemu-system-x86_64")
    t = Tap()

    # -- configuration errors fail realize cleanly
    for bad, what in (("levels=1", "levels below the minimum"),
                      ("xbars=65", "too many crossbars"),
                      ("cost-preset=nope", "unknown cost preset"),
                      ("device-preset=flash", "unknown device preset"),
                      ("gamma=1.5", "gamma above 1"),
                      ("relax-nu=fast", "a physics property that is no number")):
        r = subprocess.run([qemu, "-M", "q35", "-accel", "qtest", "-nodefaults",
                            "-display", "none", "-device", "cim-pci," + bad]
                           + FIRMWARE,
                           capture_output=True, text=True, timeout=30)
        t.check(r.returncode != 0 and "cim-pci" in r.stderr,
                "realize refuses %s: %s" % (what, r.stderr.strip().splitlines()[-1:]))

    qt = QTest(qemu, ["cim-pci,addr=03.0,cost-preset=destiny,noise=off,variation=off",
                      "cim-pci,addr=04.0,cost-preset=stt-tcam,seed=0x123456789,"
                      "device-preset=pcm",
                      "cim-pci,addr=05.0,device-preset=filamentary-rram,levels=64",
                      "cim-pci,addr=06.0,device-preset=pcm,relax-nu=0.1,stuck-prob=1e-3"])
    a = Dev(qt, 3, 0xc0000000, 0xc0001000)
    b = Dev(qt, 4, 0xc0010000, 0xc0011000)
    c = Dev(qt, 5, 0xc0020000, 0xc0021000)
    d = Dev(qt, 6, 0xc0030000, 0xc0031000)
    t.check(a.rd(0x74) == 2 and b.rd(0x74) == 1, "cost-preset destiny and stt-tcam")
    t.check(b.rd("SEED_LO") == 0x23456789 and b.rd("SEED_HI") == 1, "64-bit seed")
    t.check(a.rd("DEVICE_PRESET") == 0 and a.rd("XBAR_LEVELS") == 128,
            "default device preset bulk-rram, 128 levels")
    t.check(b.rd("DEVICE_PRESET") == 2 and b.rd("XBAR_LEVELS") == 23,
            "device-preset pcm and its 23 levels (%d, %d)"
            % (b.rd("DEVICE_PRESET"), b.rd("XBAR_LEVELS")))
    t.check(c.rd("DEVICE_PRESET") == 1 and c.rd("XBAR_LEVELS") == 64,
            "device-preset filamentary-rram, levels property applied after it")
    t.check(d.rd("DEVICE_PRESET") == 3 and d.rd("XBAR_LEVELS") == 23,
            "physics properties over pcm make a custom device with pcm's levels")
    qt.close()

    qt = QTest(qemu, ["cim-pci,addr=03.0,fault-injection=on",
                      "cim-pci,addr=04.0,seed=2,xbars=2,aps=0"])
    a = Dev(qt, 3, 0xc0000000, 0xc0001000)
    b = Dev(qt, 4, 0xc0010000, 0xc0011000)

    # -- identity
    t.check(qt.cfg_read(3, 0) == 0xc1a01234, "vendor/device id 1234:c1a0")
    t.check(qt.cfg_read(3, 8) >> 8 == 0x120000, "class code 0x120000")
    t.check(qt.cfg_read(3, 8) & 0xff == 0x01, "revision 1")
    t.check(qt.cfg_read(3, 0x3d) & 0xff == 0, "no INTx pin")
    t.check(a.rd("ID") == 0x314d4943, "ID reads CIM1")
    t.check(a.rd("VERSION") == 0x00010002, "VERSION 1.2")
    t.check(a.rd("CAPS") == 0x7f, "CAPS xbar|duu|ap|fault-inject|abort|scrub|analog")
    t.check(b.rd("CAPS") == 0x73, "CAPS of the second instance: no AP, no fault")
    t.check(a.rd("XBAR_COUNT") == 8 and b.rd("XBAR_COUNT") == 2,
            "geometry from the properties")
    t.check(a.rd("SEED_LO") == 1 and b.rd("SEED_LO") == 2 and b.rd("SEED_HI") == 0,
            "seeds 1 and 2")
    t.check(a.rd("MAX_CMDBUF") == 4 << 20, "MAX_CMDBUF 4 MiB")

    # -- access-size rule
    t.check(a.rd("ID", 2) == 0xffff, "16-bit read returns all ones")
    t.check(a.rd("ID", 1) == 0xff, "8-bit read returns all ones")
    t.check(a.rd("ID", 8) == 0xffffffffffffffff, "64-bit read returns all ones")
    t.check(a.rd("ID", 4, off=2) == 0xffffffff, "unaligned read returns all ones")
    t.check(a.rd(0x800) == 0, "undefined offset reads zero")
    a.wr("INT_MASK", 7, size=2)
    t.check(a.rd("INT_MASK") == 0, "16-bit write ignored")
    a.wr("ID", 0)
    t.check(a.rd("ID") == 0x314d4943, "write to a read-only register ignored")

    # -- a NOP job, completion and MSI-X
    a.msix_setup(MSIMEM)
    a.msi_clear()
    setup_ring(a)
    t.check(a.rd("STATUS") == ENABLED, "enabled, idle")
    s = Submitter(a)
    qt.mem_write(CMDBUF, struct.pack("<HHI", OP_NOP, 0, 8))
    seq = s.submit(CMDBUF, 8)
    t.check(wait_head(a, 1), "RING_HEAD advances after a NOP job")
    c = completion(qt, COMPL)
    t.check(c["seqno"] == seq and c["status"] == ST["OK"] and c["cmds_done"] == 1
            and c["error_offset"] == 0, "completion record of the NOP job: %s" % c)
    t.check(a.rd("DONE_SEQNO_LO") == seq and a.rd("DONE_SEQNO_HI") == 0, "DONE_SEQNO")
    t.check(a.rd("INT_STATUS") == INT_DONE, "INT_STATUS.JOB_DONE")
    t.check(a.msi_count(0) == 0x1000 and a.msi_count(1) == 0, "MSI-X vector JOB sent")
    a.wr("INT_STATUS", INT_DONE)
    t.check(a.rd("INT_STATUS") == 0, "INT_STATUS is RW1C")
    t.check(a.rd("STATUS") == ENABLED, "idle again")

    # -- counters read back by DMA
    qt.mem_write(CMDBUF, struct.pack("<HHIIIQ", OP_COUNTERS_READ, 0, 24, 4096, 0, CNTRS))
    s.submit(CMDBUF, 24)
    t.check(wait_head(a, 2), "COUNTERS_READ job completes")
    c = completion(qt, COMPL)
    size, jobs = struct.unpack("<QQ", qt.mem_read(CNTRS, 16))
    t.check(c["status"] == ST["OK"] and size > 16, "counters written, size %d, jobs %d" % (size, jobs))

    # -- a bad descriptor fails its job, not the device
    qt.mem_write(CMDBUF, struct.pack("<HHI", OP_NOP, 0, 8))
    a.msi_clear()
    s.submit(CMDBUF, 8, flags=1)
    t.check(wait_head(a, 3), "bad descriptor job completes")
    c = completion(qt, COMPL)
    t.check(c["status"] == ST["BAD_FLAGS"] and c["error_offset"] == 0xffffffff
            and c["error_field"] == 12, "flags != 0: BAD_FLAGS at field 12: %s" % c)
    t.check(a.rd("INT_STATUS") & INT_ERROR and a.msi_count(1) == 0x1001,
            "INT_STATUS.JOB_ERROR and MSI-X vector ERROR")
    s.submit(CMDBUF, 8, reserved=(0, 0, 1, 0))
    wait_head(a, 4)
    c = completion(qt, COMPL)
    t.check(c["status"] == ST["RESERVED"] and c["error_field"] == 48, "reserved[2] != 0: RESERVED at 48")
    s.submit(CMDBUF, 12)
    wait_head(a, 5)
    t.check(completion(qt, COMPL)["status"] == ST["BAD_ALIGN"], "size 12: BAD_ALIGN")
    s.submit(CMDBUF, (4 << 20) + 8)
    wait_head(a, 6)
    t.check(completion(qt, COMPL)["status"] == ST["BAD_SIZE"], "size above MAX_CMDBUF: BAD_SIZE")
    s.submit(0x7f0000000000, 8)
    wait_head(a, 7)
    c = completion(qt, COMPL)
    t.check(c["status"] == ST["DMA"] and c["error_field"] == 0, "unmapped command buffer: DMA")
    t.check(a.rd("STATUS") == ENABLED, "still enabled after failed jobs")

    # -- fault injection
    a.wr("FAULT", F_ERROR)
    t.check(a.rd("FAULT") == F_ERROR, "FAULT arms")
    s.submit(CMDBUF, 8)
    wait_head(a, 8)
    c = completion(qt, COMPL)
    t.check(c["status"] == ST["INJECTED"] and c["error_field"] == 0xffffffff
            and a.rd("FAULT") == 0, "ERROR_NEXT: INJECTED, FAULT consumed")
    a.wr("FAULT", F_DMA)
    s.submit(CMDBUF, 8)
    wait_head(a, 9)
    t.check(completion(qt, COMPL)["status"] == ST["DMA"], "DMA_NEXT: DMA")
    s.submit(CMDBUF, 8)
    wait_head(a, 10)
    c = completion(qt, COMPL)
    t.check(c["status"] == ST["OK"], "the next job runs normally: %s" % c)
    a.wr("FAULT", F_HANG)
    s.submit(CMDBUF, 8)
    t.check(wait_status(a, BUSY | HUNG, BUSY | HUNG), "HANG_NEXT: BUSY and HUNG")
    time.sleep(0.2)
    t.check(a.rd("RING_HEAD") == 10 and completion(qt, COMPL)["seqno"] == 0,
            "hung job never completes")
    a.wr("CONTROL", CTL_RESET)
    t.check(a.rd("CONTROL") == 0 and a.rd("STATUS") == 0 and a.rd("RING_HEAD") == 0
            and a.rd("RING_TAIL") == 0 and a.rd("INT_MASK") == 0
            and a.rd("DONE_SEQNO_LO") == 0, "CONTROL.RESET clears the hang and the registers")
    t.check(b.rd("FAULT") == 0 and b.wr("FAULT", 1) is None and b.rd("FAULT") == 0,
            "FAULT ignored without fault-injection")

    # -- halts
    a.wr("RING_SIZE", 3)
    a.wr("CONTROL", CTL_ENABLE)
    t.check(a.rd("STATUS") == HALTED and a.rd("HALT_REASON") == ST["BAD_RING"],
            "ring size 3: halted, BAD_RING")
    a.wr("CONTROL", CTL_ENABLE)
    t.check(a.rd("STATUS") == HALTED, "ENABLE while halted has no effect")
    a.wr("CONTROL", CTL_RESET)
    t.check(a.rd("STATUS") == 0 and a.rd("HALT_REASON") == 0, "reset leaves the halt")
    a.wr("RING_BASE_LO", RING + 32)
    a.wr("RING_SIZE", 4)
    a.wr("CONTROL", CTL_ENABLE)
    t.check(a.rd("HALT_REASON") == ST["BAD_RING"], "misaligned ring base: BAD_RING")

    setup_ring(a)
    a.wr("RING_SIZE", 8)
    t.check(a.rd("RING_SIZE") == 4, "ring registers ignore writes while enabled")
    a.wr("RING_TAIL", 5)
    t.check(a.rd("STATUS") & HALTED and a.rd("HALT_REASON") == ST["BAD_RING"],
            "TAIL beyond HEAD + SIZE: BAD_RING")

    setup_ring(a)
    s = Submitter(a)
    s.submit(CMDBUF, 8, compl=COMPL + 4)
    t.check(wait_status(a, HALTED, HALTED) and a.rd("HALT_REASON") == ST["BAD_ALIGN"]
            and a.rd("RING_HEAD") == 0, "misaligned completion_addr: halted, BAD_ALIGN")

    setup_ring(a)
    qt.cfg_write(3, 0x04, 0x2)                   # bus master off
    s = Submitter(a)
    s.submit(CMDBUF, 8)
    t.check(wait_status(a, HALTED, HALTED) and a.rd("HALT_REASON") == ST["DMA"],
            "descriptor fetch without bus mastering: halted, DMA")
    qt.cfg_write(3, 0x04, 0x6)

    # -- two instances are independent; FLR-free system reset via qtest
    setup_ring(b, size=2, base=0x600000)
    sb = Submitter(b, size=2, base=0x600000)
    qt.mem_write(CMDBUF, struct.pack("<HHI", OP_NOP, 0, 8))
    for i in range(5):
        sb.submit(CMDBUF, 8, compl=0x610000)
        wait_head(b, i + 1)
    t.check(b.rd("RING_HEAD") == 5 and b.rd("DONE_SEQNO_LO") == 5
            and a.rd("STATUS") & HALTED, "second instance runs 5 jobs around a 2-entry ring")

    # -- FLR: set Initiate FLR in the PCIe Device Control register
    cap = qt.cfg_read(3, 0x34) & 0xff
    while cap and qt.cfg_read(3, cap) & 0xff != 0x10:
        cap = qt.cfg_read(3, cap + 1) & 0xff
    t.check(cap != 0 and qt.cfg_read(3, cap + 4) & (1 << 28), "PCIe capability advertises FLR")
    qt.cmd("outl 0xcf8 0x%x" % (0x80000000 | 3 << 11 | (cap + 8)))
    v = qt.cmd("inl 0xcfc")
    qt.cmd("outl 0xcfc 0x%x" % (v | 0x8000))
    t.check(qt.cfg_read(3, 0x04) & 0x6 == 0, "FLR resets the config space")
    a = Dev(qt, 3, 0xc0000000, 0xc0001000)
    t.check(a.rd("STATUS") == 0 and a.rd("HALT_REASON") == 0, "FLR resets the device")

    # -- a reset while a long job runs abandons it
    setup_ring(a)
    s = Submitter(a)
    npkt, batch = 2000, 1024                     # about 4 s of work
    vmm = struct.pack("<HHIIHHHHIIIQQ", OP_VMM_FWD, 0, 48, 0, 0, 256, 0, 256,
                      batch, 0, 0, VMM_X, VMM_Y)
    qt.mem_write(CMDBUF, vmm * npkt)
    s.submit(CMDBUF, 48 * npkt)
    time.sleep(0.05)
    busy = a.rd("STATUS") & BUSY
    start = time.time()
    a.wr("CONTROL", CTL_RESET)
    took = time.time() - start
    time.sleep(0.2)
    t.check(busy and a.rd("CONTROL") == 0 and a.rd("STATUS") == 0
            and a.rd("RING_HEAD") == 0 and completion(qt, COMPL)["seqno"] == 0,
            "reset during a %d-packet VMM job: abandoned, no completion (%.2f s)"
            % (npkt, took))
    setup_ring(a)
    s = Submitter(a)
    s.submit(CMDBUF, 48 * npkt)
    time.sleep(0.05)
    busy = a.rd("STATUS") & BUSY
    a.wr("RING_TAIL", 7)                         # overruns a 4-entry ring
    status = a.rd("STATUS")
    time.sleep(0.3)
    t.check(busy and status == HALTED and a.rd("RING_HEAD") == 0
            and completion(qt, COMPL)["seqno"] == 0,
            "RING_TAIL overrun during a long job: halted, not busy, job unreported")
    setup_ring(a)
    s = Submitter(a)
    qt.mem_write(CMDBUF, vmm)
    s.submit(CMDBUF, 48)
    t.check(wait_head(a, 1) and completion(qt, COMPL)["status"] == ST["OK"],
            "the device works after a reset (one VMM packet)")
    qt.close()

    # -- the same job on a fresh device and on the host library: same bits
    identical_to_host(t, qemu)

    # -- hot-unplug: the root port's slot powered off unrealizes the device
    qt = QTest(qemu, ["pcie-root-port,id=rp1,chassis=1,addr=05.0",
                      "cim-pci,bus=rp1,id=c1"],
               ["-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"])
    rp = 5
    qt.cfg_write(rp, 0x18, 0x00010100)           # primary 0, secondary 1, sub 1
    qt.cfg_write(rp, 0x20, 0xc02fc020)           # memory window
    qt.cfg_write(rp, 0x04, 0x6)
    dev1 = 1 << 5                                # bus 1, device 0 as "slot"
    t.check(qt.cfg_read(dev1, 0) == 0xc1a01234, "cim-pci behind a root port")
    d = Dev(qt, dev1, 0xc0200000, 0xc0201000)
    setup_ring(d)
    s = Submitter(d)
    qt.mem_write(CMDBUF, vmm * npkt)
    s.submit(CMDBUF, 48 * npkt)                  # a long job in flight
    time.sleep(0.05)
    cap = qt.cfg_read(rp, 0x34) & 0xff
    while cap and qt.cfg_read(rp, cap) & 0xff != 0x10:
        cap = qt.cfg_read(rp, cap + 1) & 0xff
    sltctl = qt.cfg_read(rp, cap + 0x18) & 0xffff
    qt.cmd("outl 0xcf8 0x%x" % (0x80000000 | rp << 11 | (cap + 0x18)))
    v = qt.cmd("inl 0xcfc")
    qt.cmd("outl 0xcfc 0x%x" % ((v & 0xffff0000) | sltctl | 0x400 | 0x300))
    time.sleep(0.2)
    t.check(qt.cfg_read(dev1, 0) == 0xffffffff and qt.p.poll() is None,
            "slot power-off unplugs the device mid-job; QEMU lives on")
    qt.close()

    for rep in SANITIZER_REPORTS:
        sys.stderr.write(rep)
    t.check(not SANITIZER_REPORTS, "no sanitizer report from QEMU")
    print("%d passed, %d failed" % (t.n - t.failed, t.failed))
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
