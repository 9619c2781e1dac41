#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Host-side tests of the cim-pci device's hardening (issue 12), no guest.

Like qemu/tests/qtest-smoke.py (whose helpers it uses), it runs
build/qemu/qemu-system-x86_64 under the qtest accelerator and plays the CPU.
Under qtest every MMIO access the test makes runs in QEMU's main loop, so a
register write that stalls stalls the main loop: each qtest command here has
a deadline, and QEMU must end on SIGTERM within seconds.

    qemu/tests/qtest-hardening.py [path/to/qemu-system-x86_64]

Checks (Documentation/device/qemu.rst, "Hardening tests"):
  - a long job submitted by RING_TAIL: the write returns at once, the job
    completes later;
  - the fast path runs exactly the bytes it checked: a descriptor or a
    command buffer rewritten by another device's DMA between the check and
    the run cannot make a long job run inside the RING_TAIL write;
  - DMA into MMIO (own BAR0, the other device's BAR0) fails with CIM_ST_DMA
    and touches nothing; two devices DMA-ing CONTROL.RESET into each other
    do not deadlock: QEMU answers, FLR returns, SIGTERM ends it;
  - a reset reached from a job (an MSI-X message aimed at the other
    device's CONTROL) does not wait for that device's long job;
  - ABORT_SEQNO stops a long job at a packet boundary with CIM_ST_ABORTED
    and the next job runs; a wrong seqno, no job, a hung job: nothing;
  - RING_TAIL pulled back over the job in flight halts (BAD_RING) instead of
    letting RING_HEAD pass RING_TAIL;
  - CONTROL.RESET and FLR during one packet that computes for seconds
    return at once (the model reset follows when the packet ends);
  - VERSION 1.2, CAPS.ABORT and CAPS.SCRUB, and a SCRUB packet.

Prints TAP lines and "N passed, N failed"; exits non-zero on a failure.
"""
import importlib.util
import os
import queue
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("qtest_smoke", os.path.join(HERE, "qtest-smoke.py"))
smoke = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(smoke)

ROOT, FIRMWARE = smoke.ROOT, smoke.FIRMWARE
REG = dict(smoke.REG, ABORT_SEQNO=0x080, XBAR_COLS=0x048)
ENABLED, BUSY, HALTED, HUNG = smoke.ENABLED, smoke.BUSY, smoke.HALTED, smoke.HUNG
CTL_ENABLE, CTL_RESET = smoke.CTL_ENABLE, smoke.CTL_RESET
INT_ALL = 7
ST = dict(smoke.ST, BAD_UNIT=6, ABORTED=15)
CAP_ABORT, CAP_SCRUB = 1 << 4, 1 << 5
OP_NOP, OP_FENCE, OP_SCRUB = 0x00, 0x01, 0x02
OP_XBAR_PROGRAM, OP_XBAR_READ, OP_VMM_FWD = 0x10, 0x11, 0x12
OP_AP_PROGRAM, OP_AP_ADD = 0x21, 0x10

BAR0_A, BAR2_A, BAR0_B, BAR2_B = 0xc0000000, 0xc0001000, 0xc0010000, 0xc0011000
RING_A, RING_B = 0x100000, 0x110000
COMPL_A, COMPL_B = 0x120000, 0x130000
MSI_A, MSI_B = 0x140000, 0x150000
CMD_A, CMD_B = 0x400000, 0x800000          # 4 MiB each
DATA = 0x1000000                           # VMM inputs and outputs, 12 MiB
# a big AP, for long jobs that do no DMA: one 64-instruction AP_PROGRAM of
# 64-bit ADDs over 65536 rows is about 60 ms of host time
AP_OPTS = ",aps=1,ap-rows=65536,ap-cols=256,ap-domains=1"
CMD_TIMEOUT = 10.0                         # seconds per qtest command


def nop():
    return struct.pack("<HHI", OP_NOP, 0, 8)


def fence(addr, value):
    return struct.pack("<HHIQQ", OP_FENCE, 0, 24, addr, value)


def ap_add(n=64):
    """An AP_PROGRAM of @n 64-bit ADDs over every row (no DMA)."""
    ins = struct.pack("<BB7H", OP_AP_ADD, 0, 0, 64, 64, 64, 128, 0, 0)
    return struct.pack("<HHIII", OP_AP_PROGRAM, 0, 16 + 16 * n, 0, n) + ins * n


def vmm(rows, cols, batch, x, y):
    return struct.pack("<HHIIHHHHIIIQQ", OP_VMM_FWD, 0, 48, 0, 0, rows, 0, cols,
                       batch, 0, 0, x, y)


class Stalled(Exception):
    pass


class QTest(smoke.QTest):
    """smoke.QTest with a deadline on every command (a reader thread)."""

    def __init__(self, qemu, devices, extra=()):
        super().__init__(qemu, devices, extra)
        self.lines = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.timeout = CMD_TIMEOUT

    def _read(self):
        for line in self.p.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def reply(self, line):
        end = time.time() + self.timeout
        while True:
            try:
                out = self.lines.get(timeout=max(0.0, end - time.time()))
            except queue.Empty:
                raise Stalled("no answer to '%s' within %.0f s" % (line[:60], self.timeout))
            if out is None:
                self.err.seek(0)
                raise RuntimeError("qemu exited: " + self.err.read())
            if out.startswith("OK") or out.startswith("FAIL") or out.startswith("ERR"):
                return out

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = self.reply(line)
        if not out.startswith("OK"):
            raise RuntimeError("%s -> %s" % (line, out.strip()))
        parts = out.split()
        return int(parts[1], 16) if len(parts) > 1 else None

    def mem_read(self, addr, size):
        line = "read 0x%x 0x%x" % (addr, size)
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = self.reply(line).split()
        assert out[0] == "OK", out
        return bytes.fromhex(out[1][2:])

    def timed(self, line):
        start = time.time()
        self.cmd(line)
        return time.time() - start

    def sigterm(self, wait=5.0):
        """SIGTERM; True if QEMU exited within @wait s (else it is killed)."""
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=wait)
            ok = True
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            ok = False
        self.err.seek(0)
        err = self.err.read()
        if "Sanitizer" in err or "runtime error:" in err:
            smoke.SANITIZER_REPORTS.append(err)
        return ok

    def close(self):
        if self.p.poll() is None:
            self.sigterm()


class Dev(smoke.Dev):
    def rd(self, name, size=4, off=0):
        return super().rd(REG[name] if isinstance(name, str) else name, size, off)

    def wr(self, name, val, size=4):
        super().wr(REG[name] if isinstance(name, str) else name, val, size)

    def doorbell(self, tail):
        """Write RING_TAIL; returns how long the write took (s)."""
        return self.qt.timed("writel 0x%x 0x%x" % (self.bar0 + REG["RING_TAIL"], tail))


class Ring:
    """A ring with explicit seqnos and one completion record per slot."""

    def __init__(self, d, base, compl, size=8):
        self.d, self.base, self.compl, self.size = d, base, compl, size
        self.tail = 0
        d.wr("CONTROL", CTL_RESET)
        d.wr("RING_BASE_LO", base)
        d.wr("RING_BASE_HI", 0)
        d.wr("RING_SIZE", size)
        d.wr("INT_MASK", INT_ALL)
        d.wr("CONTROL", CTL_ENABLE)

    def post(self, cmdbuf, size, seqno, **kw):
        """Write the next descriptor (not the doorbell); returns its slot."""
        slot = self.tail % self.size
        self.d.qt.mem_write(self.compl + 64 * slot, bytes(48))
        self.d.qt.mem_write(self.base + 64 * slot,
                            smoke.desc(cmdbuf, size, seqno, self.compl + 64 * slot, **kw))
        self.tail += 1
        return slot

    def submit(self, cmdbuf, size, seqno, **kw):
        slot = self.post(cmdbuf, size, seqno, **kw)
        took = self.d.doorbell(self.tail)
        return slot, took

    def record(self, slot):
        return smoke.completion(self.d.qt, self.compl + 64 * slot)

    def wait(self, timeout=20.0):
        return smoke.wait_head(self.d, self.tail & 0xffffffff, timeout)


def two_devices(qemu, a_opts="", b_opts="", extra=()):
    qt = QTest(qemu, ["cim-pci,addr=03.0" + AP_OPTS + a_opts,
                      "cim-pci,addr=04.0,seed=2" + AP_OPTS + b_opts], extra)
    return qt, Dev(qt, 3, BAR0_A, BAR2_A), Dev(qt, 4, BAR0_B, BAR2_B)


# -- tests --------------------------------------------------------------------


def test_version_caps(t, qemu):
    qt, a, b = two_devices(qemu, ",fault-injection=on", ",aps=0")
    try:
        t.check(a.rd("VERSION") == 0x00010002, "VERSION 1.2 (0x%08x)" % a.rd("VERSION"))
        caps = a.rd("CAPS")
        t.check(caps & (CAP_ABORT | CAP_SCRUB) == CAP_ABORT | CAP_SCRUB and
                b.rd("CAPS") & (CAP_ABORT | CAP_SCRUB) == CAP_ABORT | CAP_SCRUB,
                "CAPS.ABORT and CAPS.SCRUB set (0x%x)" % caps)
        a.wr("ABORT_SEQNO", 0x1234)
        t.check(a.rd("ABORT_SEQNO") == 0, "ABORT_SEQNO reads 0")
    finally:
        qt.close()


def test_long_job_doorbell(t, qemu):
    """A 4 MiB NOP job: the RING_TAIL write returns at once."""
    qt, a, b = two_devices(qemu)
    try:
        n = (4 << 20) // 8
        qt.mem_write(CMD_A, nop() * n)
        r = Ring(a, RING_A, COMPL_A)
        start = time.time()
        slot, took = r.submit(CMD_A, 8 * n, 77)
        busy = a.rd("STATUS") & BUSY
        done = r.wait(60)
        total = time.time() - start
        c = r.record(slot)
        t.check(took < 0.05 and busy and done and c["status"] == ST["OK"] and
                c["cmds_done"] == n,
                "%d-packet job: RING_TAIL write took %.1f ms, the job %.2f s, "
                "then completed (%s)" % (n, took * 1e3, total, c["status"]))
    finally:
        qt.close()


def race(t, qemu, what, a_opts, setup, budget=6.0, threshold=0.3):
    """
    Device B's job rewrites A's descriptor or command buffer by DMA (FENCE)
    as fast as it can while the test rings A's doorbell again and again
    with a job that is trivial when checked. A heavy job that runs inside
    the RING_TAIL write shows as a completion record already there, with
    energy or more than 32 packets, when the test reads it right after the
    write (the worker takes far longer than that for such a job), or as a
    write that takes more than @threshold s.
    """
    qt, a, b = two_devices(qemu, a_opts)
    try:
        qt.timeout = 30.0
        victims, flip_to, flip_back, a_cmdbuf, a_size = setup(qt, a)
        # B: flip every victim, flip them back, NOP x 8; over 4 MiB
        unit = b"".join(fence(v, flip_to) for v in victims) + \
            b"".join(fence(v, flip_back) for v in victims) + nop() * 8
        reps = (4 << 20) // len(unit)
        qt.mem_write(CMD_B, unit * reps)
        rb = Ring(b, RING_B, COMPL_B, size=2)
        ra = Ring(a, RING_A, COMPL_A, size=2)
        bseq, aseq, worst, attempts, on_worker, inline = 0, 0, 0.0, 0, 0, 0
        end = time.time() + budget
        while time.time() < end:
            if b.rd("RING_HEAD") == rb.tail & 0xffffffff:
                bseq += 1
                rb.submit(CMD_B, len(unit) * reps, bseq)
            aseq += 1
            for v in victims:
                qt.mem_write(v, struct.pack("<Q", flip_back))
            slot = ra.post(a_cmdbuf, a_size, aseq)
            start = time.time()
            took = a.doorbell(ra.tail)
            c = ra.record(slot)
            soon = time.time() - start < 0.03
            attempts += 1
            worst = max(worst, took)
            if c["seqno"] == aseq and soon and (c["energy"] or c["cmds_done"] > 32):
                inline += 1
                break
            if took > threshold:
                break
            if c["seqno"] != aseq:
                on_worker += 1          # a heavy job on the worker: stop it
                a.wr("ABORT_SEQNO", aseq)
            if not ra.wait(30):
                break
        t.check(worst <= threshold and not inline,
                "%s rewritten by DMA between check and run: %d heavy job(s) ran "
                "inside RING_TAIL; slowest write %.1f ms over %d doorbells (%d went "
                "to the worker)" % (what, inline, worst * 1e3, attempts, on_worker))
    finally:
        qt.close()


def setup_desc_race(qt, a):
    """
    A's command buffer: 32 NOPs, then 60 AP packets (about 0.5 s); its
    descriptor's cmdbuf_size 256 (the NOPs) or the whole buffer.
    """
    big = nop() * 32 + ap_add(8) * 60
    qt.mem_write(CMD_A, big)
    # the descriptor's cmdbuf_size and flags, as one little-endian u64, in
    # both slots of A's 2-entry ring
    return [RING_A + 8, RING_A + 64 + 8], len(big), 256, CMD_A, 256


def setup_cmdbuf_race(qt, a):
    """A's command buffer: 5 NOPs of size 48, or 5 heavy VMMs (70 ms each)."""
    rows = cols = 1024
    body = vmm(rows, cols, 1024, DATA, DATA + (8 << 20))
    qt.cmd("memset 0x%x 0x%x 0x3f" % (DATA, 4 * rows * 1024))    # x = 0.747
    nop48 = struct.pack("<HHI", OP_NOP, 0, 48)
    cmd = (nop48 + body[8:]) * 5               # 5 NOPs (of the wrong size)
    qt.mem_write(CMD_A, cmd)
    hdr_vmm = struct.unpack("<Q", body[:8])[0]
    hdr_nop = struct.unpack("<Q", nop48)[0]
    return [CMD_A + 48 * i for i in range(5)], hdr_vmm, hdr_nop, CMD_A, len(cmd)


def test_dma_into_mmio(t, qemu):
    qt, a, b = two_devices(qemu)
    try:
        ra = Ring(a, RING_A, COMPL_A)
        rb = Ring(b, RING_B, COMPL_B)
        b.wr("INT_MASK", 3)
        # FENCE into the other device's INT_MASK and into our own FAULT
        qt.mem_write(CMD_A, fence(BAR0_B + REG["INT_MASK"], 0))
        slot, _ = ra.submit(CMD_A, 24, 1)
        ra.wait()
        c = ra.record(slot)
        t.check(c["status"] == ST["DMA"] and c["error_field"] == 8 and
                b.rd("INT_MASK") == 3,
                "FENCE into the other device's BAR0: CIM_ST_DMA at field 8, "
                "register untouched (%s)" % c)
        qt.mem_write(CMD_A, fence(BAR0_A + REG["CONTROL"], CTL_RESET))
        slot, _ = ra.submit(CMD_A, 24, 2)
        ra.wait()
        c = ra.record(slot)
        t.check(c["status"] == ST["DMA"] and a.rd("STATUS") == ENABLED,
                "FENCE of CONTROL.RESET into its own BAR0: CIM_ST_DMA, still enabled")
        # a completion record and a descriptor in MMIO
        qt.mem_write(CMD_A, nop())
        qt.mem_write(RING_A + 64 * (ra.tail % ra.size),
                     smoke.desc(CMD_A, 8, 3, BAR0_B + 0x100))
        ra.tail += 1
        a.doorbell(ra.tail)
        t.check(smoke.wait_status(a, HALTED, HALTED) and a.rd("HALT_REASON") == ST["DMA"],
                "completion record aimed at a BAR: halted, DMA")
    finally:
        qt.close()


def xbar_program(rows, cols, src, report, flags=1):
    return struct.pack("<HHIIHHHHIIIQQ", OP_XBAR_PROGRAM, flags, 48, 0, 0, rows, 0, cols,
                       20, struct.unpack("<I", struct.pack("<f", 0.5))[0], 0, src, report)


def xbar_read(rows, cols, dst, flags=1):
    return struct.pack("<HHIIHHHHIQ", OP_XBAR_READ, flags, 32, 0, 0, rows, 0, cols, 0, dst)


def test_mutual_reset(t, qemu):
    """
    A and B each run a job that ends with a 4-byte DMA write of a value with
    the RESET bit into the other's CONTROL: an XBAR_READ of one weight
    programmed to 1 with 4 levels (0x3f7fff8e: its fixed-point conductances
    miss 1 by 2^-17, and bit 1 is set). Before, both workers could wait for
    each other forever, then an FLR blocked the main loop and SIGTERM was
    ignored.
    """
    opts = ",xbars=1,levels=4,noise=off,variation=off"
    qt, a, b = two_devices(qemu, opts, opts)
    try:
        ra = Ring(a, RING_A, COMPL_A)
        rb = Ring(b, RING_B, COMPL_B)
        qt.mem_write(DATA, struct.pack("<f", 1.0))
        qt.mem_write(CMD_A, xbar_program(1, 1, DATA, DATA + 0x100) +
                     xbar_read(1, 1, DATA + 0x200))
        for r in (ra, rb):
            s, _ = r.submit(CMD_A, 80, 1)
            r.wait()
        w = qt.mem_read(DATA + 0x200, 4)
        # each job: 2 AP packets (about 0.1 s), then the XBAR_READ
        k, pre = 2, ap_add()
        qt.mem_write(CMD_A, pre * k + xbar_read(1, 1, BAR0_B + REG["CONTROL"]))
        qt.mem_write(CMD_B, pre * k + xbar_read(1, 1, BAR0_A + REG["CONTROL"]))
        size = k * len(pre) + 32
        sa, _ = ra.submit(CMD_A, size, 2)
        sb, _ = rb.submit(CMD_B, size, 2)
        time.sleep(0.02)
        # Hold the BQL (a long qtest command) while both reach the write,
        # so that both transfers are issued before either reset runs.
        qt.mem_read(DATA, 16 << 20)
        done = ra.wait(10) and rb.wait(10)
        ca, cb = ra.record(sa), rb.record(sb)
        t.check(struct.unpack("<I", w)[0] & 3 == 2 and done and
                ca["status"] == cb["status"] == ST["DMA"] and
                ca["error_offset"] == cb["error_offset"] == k * len(pre) and
                ca["error_field"] == 24,
                "two devices DMA CONTROL.RESET into each other: both jobs fail "
                "with CIM_ST_DMA at the write, no deadlock (weight %s, %s, %s)"
                % (w.hex(), ca["status"], cb["status"]))
        answered = True
        try:
            cap = qt.cfg_read(3, 0x34) & 0xff
            while cap and qt.cfg_read(3, cap) & 0xff != 0x10:
                cap = qt.cfg_read(3, cap + 1) & 0xff
            qt.cmd("outl 0xcf8 0x%x" % (0x80000000 | 3 << 11 | (cap + 8)))
            v = qt.cmd("inl 0xcfc")
            qt.timeout = 5.0
            qt.cmd("outl 0xcfc 0x%x" % (v | 0x8000))        # FLR of A
            a.rd("ID")
        except Stalled:
            answered = False
        t.check(answered, "QEMU answers and an FLR returns afterwards")
        start = time.time()
        t.check(qt.sigterm(5.0), "SIGTERM ends QEMU (%.2f s)" % (time.time() - start))
    except Stalled as e:
        t.check(False, "two devices resetting each other by DMA: %s" % e)
        t.check(qt.sigterm(5.0), "SIGTERM ends QEMU")
    finally:
        qt.close()


def test_reset_from_job(t, qemu):
    """
    A's job-done MSI-X message is aimed at B's CONTROL with RESET as data,
    while B runs a long NOP job. A's doorbell (whose fast-path job sends the
    message) must not wait for B's job.
    """
    qt, a, b = two_devices(qemu)
    try:
        a.msix_setup(MSI_A)
        e = a.bar2                                   # vector 0 -> B's CONTROL
        qt.cmd("writel 0x%x 0x%x" % (e, BAR0_B + REG["CONTROL"]))
        qt.cmd("writel 0x%x 0x0" % (e + 4))
        qt.cmd("writel 0x%x 0x%x" % (e + 8, CTL_RESET))
        job = ap_add() * 50                           # about 3 s, no DMA
        qt.mem_write(CMD_B, job)
        rb = Ring(b, RING_B, COMPL_B)
        sb, _ = rb.submit(CMD_B, len(job), 1)
        time.sleep(0.05)
        busy = b.rd("STATUS") & BUSY
        qt.mem_write(CMD_A, nop())
        ra = Ring(a, RING_A, COMPL_A)
        sa, took = ra.submit(CMD_A, 8, 1)
        ok_a = ra.wait(5) and ra.record(sa)["status"] == ST["OK"]
        reset = smoke.wait_status(b, ENABLED | BUSY, 0, 10.0)
        time.sleep(0.1)
        t.check(busy and ok_a and took < 0.1 and reset and b.rd("CONTROL") == 0 and
                b.rd("RING_HEAD") == 0 and rb.record(sb)["seqno"] == 0,
                "MSI-X message resets the other device mid-job: the doorbell "
                "took %.1f ms, the other job abandoned" % (took * 1e3))
        rb = Ring(b, RING_B, COMPL_B)
        qt.mem_write(CMD_B, nop())
        sb, _ = rb.submit(CMD_B, 8, 2)
        t.check(rb.wait(5) and rb.record(sb)["status"] == ST["OK"],
                "the reset device runs the next job")
    except Stalled as e:
        t.check(False, "reset from a job: %s" % e)
    finally:
        qt.close()


def test_abort(t, qemu):
    qt, a, b = two_devices(qemu, ",fault-injection=on")
    try:
        pkt = ap_add()
        n = 50                                        # about 3 s
        qt.mem_write(CMD_A, pkt * n)
        r = Ring(a, RING_A, COMPL_A)
        # seqno above 2^32: only the low 32 bits are compared
        seq = 0x100000000 + 0x55
        slot, _ = r.submit(CMD_A, len(pkt) * n, seq)
        time.sleep(0.1)
        running = a.rd("STATUS") & BUSY
        a.wr("ABORT_SEQNO", 0x55 + 1)                # wrong seqno
        a.wr("ABORT_SEQNO", 0x55)
        done = r.wait(5)
        c = r.record(slot)
        t.check(running and done and c["seqno"] == seq and c["status"] == ST["ABORTED"] and
                0 < c["cmds_done"] < n and c["error_offset"] == len(pkt) * c["cmds_done"] and
                c["error_field"] == 0xffffffff,
                "ABORT_SEQNO stops a %d-packet job at a packet boundary: ABORTED "
                "after %d packets (%s)" % (n, c["cmds_done"], c))
        t.check(a.rd("STATUS") == ENABLED and a.rd("INT_STATUS") & 2 and
                a.rd("DONE_SEQNO_LO") == 0x55 and a.rd("DONE_SEQNO_HI") == 1,
                "the device stays enabled; JOB_ERROR, DONE_SEQNO = the aborted job")
        qt.mem_write(CMD_B, nop() * 4)
        slot, _ = r.submit(CMD_B, 32, seq + 1)
        t.check(r.wait(5) and r.record(slot)["status"] == ST["OK"], "the next job runs")

        slot, _ = r.submit(CMD_A, len(pkt) * 5, 0x77)  # 5 packets
        time.sleep(0.02)
        a.wr("ABORT_SEQNO", 0x78)
        a.wr("ABORT_SEQNO", 0x76)
        r.wait(30)
        c = r.record(slot)
        t.check(c["status"] == ST["OK"] and c["cmds_done"] == 5,
                "a wrong seqno does nothing: the job completes (%s)" % c["status"])
        a.wr("ABORT_SEQNO", 0x77)                     # completed meanwhile
        qt.mem_write(CMD_B, nop())
        slot, _ = r.submit(CMD_B, 8, 0x77)
        t.check(r.wait(5) and r.record(slot)["status"] == ST["OK"],
                "an ABORT_SEQNO with no job in flight does not hit the next job")

        a.wr("FAULT", 1)                              # HANG_NEXT
        slot, _ = r.submit(CMD_B, 8, 0x99)
        hung = smoke.wait_status(a, HUNG, HUNG)
        a.wr("ABORT_SEQNO", 0x99)
        time.sleep(0.1)
        t.check(hung and a.rd("STATUS") & HUNG and r.record(slot)["seqno"] == 0,
                "a hung job is not abortable")
    except Stalled as e:
        t.check(False, "abort: %s" % e)
    finally:
        qt.close()


def test_tail_retract(t, qemu):
    qt, a, b = two_devices(qemu)
    try:
        job = ap_add() * 10                           # about 0.6 s
        qt.mem_write(CMD_A, job)
        r = Ring(a, RING_A, COMPL_A)
        slot, _ = r.submit(CMD_A, len(job), 1)
        time.sleep(0.02)
        busy = a.rd("STATUS") & BUSY
        a.wr("RING_TAIL", 0)                          # over the job in flight
        halted = a.rd("STATUS") & HALTED and a.rd("HALT_REASON") == ST["BAD_RING"]
        time.sleep(0.2)
        t.check(busy and halted and a.rd("RING_HEAD") == 0,
                "RING_TAIL pulled back over the job in flight: halted, BAD_RING, "
                "RING_HEAD stays")
        r = Ring(a, RING_A, COMPL_A)
        slot, _ = r.submit(CMD_A, len(job), 2)
        time.sleep(0.02)
        a.wr("CONTROL", 0)                            # disable, then retract
        a.wr("RING_TAIL", 0)
        smoke.wait_status(a, BUSY, 0, 20.0)
        head, tail = a.rd("RING_HEAD"), a.rd("RING_TAIL")
        t.check((tail - head) & 0xffffffff <= r.size and a.rd("STATUS") & HALTED,
                "the same while disabled: the job ends unreported, RING_HEAD %d "
                "does not pass RING_TAIL %d" % (head, tail))
    finally:
        qt.close()


def flr(qt, slot):
    """Initiate FLR in the PCIe Device Control register of @slot."""
    cap = qt.cfg_read(slot, 0x34) & 0xff
    while cap and qt.cfg_read(slot, cap) & 0xff != 0x10:
        cap = qt.cfg_read(slot, cap + 1) & 0xff
    qt.cmd("outl 0xcf8 0x%x" % (0x80000000 | slot << 11 | (cap + 8)))
    v = qt.cmd("inl 0xcfc")
    return qt.timed("outl 0xcfc 0x%x" % (v | 0x8000))


def test_reset_giant_packet(t, qemu):
    """
    One AP_PROGRAM packet of 3000 64-bit ADDs over 65536 rows (seconds of
    host time in a single packet, no DMA). CONTROL.RESET and FLR must not
    wait for it: before, each write waited for the packet to end, with the
    main loop held (qtest) or a vCPU.
    """
    qt, a, b = two_devices(qemu)
    try:
        qt.timeout = 60.0
        pkt = ap_add(3000)
        qt.mem_write(CMD_A, pkt)
        for how in ("CONTROL.RESET", "FLR"):
            r = Ring(a, RING_A, COMPL_A)
            slot, _ = r.submit(CMD_A, len(pkt), 1)
            time.sleep(0.1)
            busy = a.rd("STATUS") & BUSY
            if how == "FLR":
                took = flr(qt, 3)
                a = Dev(qt, 3, BAR0_A, BAR2_A)
            else:
                took = qt.timed("writel 0x%x 0x%x" % (a.bar0 + REG["CONTROL"], CTL_RESET))
            pending = a.rd("CONTROL") & CTL_RESET
            end = time.time() + 60
            while a.rd("CONTROL") & CTL_RESET and time.time() < end:
                time.sleep(0.01)
            done = time.time() + took
            t.check(busy and took < 0.1 and a.rd("CONTROL") == 0 and a.rd("STATUS") == 0
                    and r.record(slot)["seqno"] == 0,
                    "%s during a %d-instruction AP packet returns in %.1f ms "
                    "(RESET read %d until the packet ended)" % (how, 3000, took * 1e3,
                                                                 pending >> 1))
        r = Ring(a, RING_A, COMPL_A)
        qt.mem_write(CMD_B, nop())
        slot, _ = r.submit(CMD_B, 8, 2)
        t.check(r.wait(5) and r.record(slot)["status"] == ST["OK"],
                "the device runs the next job")
        slot, _ = r.submit(CMD_A, len(pkt), 3)
        time.sleep(0.1)
        start = time.time()
        t.check(qt.sigterm(5.0), "SIGTERM during the packet ends QEMU (%.2f s)"
                % (time.time() - start))
    except Stalled as e:
        t.check(False, "reset during a giant packet: %s" % e)
    finally:
        qt.close()


def test_scrub(t, qemu):
    qt, a, b = two_devices(qemu, ",noise=off,variation=off,xbars=2,aps=1")
    try:
        r = Ring(a, RING_A, COMPL_A)
        rows, cols = 8, 8
        w = DATA
        qt.mem_write(w, struct.pack("<%df" % (rows * cols), *([0.5] * (rows * cols))))
        prog = struct.pack("<HHIIHHHHIIIQQ", OP_XBAR_PROGRAM, 1, 48, 0, 0, rows, 0, cols,
                           10, struct.unpack("<I", struct.pack("<f", 0.5))[0], 0, w,
                           DATA + 0x10000)
        read = struct.pack("<HHIIHHHHIQ", OP_XBAR_READ, 1, 32, 0, 0, rows, 0, cols, 0,
                           DATA + 0x20000)
        scrub = struct.pack("<HHIQQ", OP_SCRUB, 0, 24, 1, 1)
        qt.mem_write(CMD_A, prog + read)
        slot, _ = r.submit(CMD_A, 80, 1)
        r.wait()
        before = struct.unpack("<%df" % (rows * cols), qt.mem_read(DATA + 0x20000, 4 * rows * cols))
        qt.mem_write(CMD_A, scrub + read)
        slot, _ = r.submit(CMD_A, 56, 2)
        r.wait()
        c = r.record(slot)
        after = struct.unpack("<%df" % (rows * cols), qt.mem_read(DATA + 0x20000, 4 * rows * cols))
        t.check(c["status"] == ST["OK"] and c["cmds_done"] == 2 and max(before) > 0.3 and
                not any(after),
                "SCRUB returns a programmed crossbar to 0 (weights %.2f -> %.2f; %s)"
                % (max(before), max(after) if after else -1, c["status"]))
        qt.mem_write(CMD_A, struct.pack("<HHIQQ", OP_SCRUB, 0, 24, 4, 0))
        slot, _ = r.submit(CMD_A, 24, 3)
        r.wait()
        c = r.record(slot)
        t.check(c["status"] == ST["BAD_UNIT"] and c["error_field"] == 8,
                "SCRUB of crossbar 2 of 2: BAD_UNIT at field 8 (%s)" % c["status"])
    finally:
        qt.close()


def main():
    qemu = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/qemu/qemu-system-x86_64")
    t = smoke.Tap()
    test_version_caps(t, qemu)
    test_long_job_doorbell(t, qemu)
    race(t, qemu, "descriptor (cmdbuf_size 256 <-> 4 MiB)", "", setup_desc_race)
    race(t, qemu, "command buffer (NOP <-> batch-1024 VMM)",
         ",xbars=1,xbar-rows=1024,xbar-cols=1024,noise=off", setup_cmdbuf_race)
    test_dma_into_mmio(t, qemu)
    test_mutual_reset(t, qemu)
    test_reset_from_job(t, qemu)
    test_abort(t, qemu)
    test_tail_retract(t, qemu)
    test_reset_giant_packet(t, qemu)
    test_scrub(t, qemu)
    for rep in smoke.SANITIZER_REPORTS:
        sys.stderr.write(rep)
    t.check(not smoke.SANITIZER_REPORTS, "no sanitizer report from QEMU")
    print("%d passed, %d failed" % (t.n - t.failed, t.failed))
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
