/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * cim-pci: the compute-in-memory accelerator of the cim project, as a
 * QEMU PCI Express device. The register map, ring, descriptor and
 * completion formats are include/cim_hw.h; the behaviour of every command is
 * the firmware model (firmware-model/cimfw.h), which this file drives.
 * Documentation/device/qemu.rst explains how to build and use it.
 *
 * Shaped like hw/misc/edu.c: state, MMIO handlers, a worker thread,
 * realize/exit, properties.
 *
 * Threading design
 * ----------------
 * All device state except the firmware model instance is protected by the
 * big QEMU lock (BQL). MMIO handlers and reset run with the BQL held.
 *
 * The worker thread (one per device) uses the BQL as the mutex of its
 * condition variables (qemu_cond_wait_iothread), so waking it and checking
 * its work is race-free against the MMIO handlers. For each job it reads
 * the descriptor at RING_HEAD (BQL held: 64 bytes of RAM, and the seqno
 * must be known before ABORT_SEQNO can name the job), marks itself running,
 * and *drops the BQL* for the slow part: reading the command buffer and
 * running cimfw_execute(). It then retakes the BQL to write the completion
 * record, advance RING_HEAD and DONE_SEQNO, and raise MSI-X (msix_notify
 * needs the BQL).
 *
 * DMA goes to guest RAM only (cim_dma_rw): a transfer whose bus address is
 * not RAM (another device's BAR, our own BAR0, unassigned space; ROM for a
 * write) fails with CIM_ST_DMA without any access. That is safe without the
 * BQL: address_space_cache_init() takes a reference on the flat view and
 * the RAM region, and RAM is copied directly (the worker is an RCU reader,
 * see rcu_register_thread). So a job never dispatches an MMIO access: it
 * never takes the BQL, never re-enters a device model (two devices DMA-ing
 * CONTROL.RESET into each other's BAR0 deadlocked both workers before), and
 * its only work without the BQL is the model's computation and RAM copies.
 *
 * Fast path: a doorbell (RING_TAIL write, or ENABLE) with the device idle
 * runs the job at RING_HEAD on the vCPU thread, inside the MMIO write, when
 * it is "trivial": no fault armed, a valid descriptor, a command buffer of
 * at most CIM_INLINE_MAX_CMDBUF bytes of NOP and FENCE packets only. The
 * descriptor and the command buffer are fetched exactly once, into local
 * copies, and what runs is those checked bytes: a guest that rewrites them
 * after the check (from another vCPU, or by another device's DMA) changes
 * nothing, so the work is bounded (at most 32 packets, a FENCE is one 8-byte
 * write to RAM) whatever the model's geometry. Up to CIM_INLINE_MAX_JOBS
 * such jobs run per doorbell; anything else (and whatever follows it) goes
 * to the worker, which fetches the descriptor and the command buffer again,
 * once each, for itself. A fast-path job runs with the BQL held throughout
 * (s->inline_job set), through the same checks and completion code as the
 * worker's, so its results, completion record, register updates and MSI-X
 * are the same; only the thread differs. This saves a host thread wakeup
 * and a BQL handover per small job, which dominated the submit-to-
 * completion latency of a small job under TCG (Documentation/device/
 * qemu.rst, which has the measurements). To the guest it is still a device
 * that completes at some point after the doorbell: the register write may
 * return before or after the completion, and the driver relies on neither.
 * Only a doorbell from outside the device runs a job inline: one that comes
 * from a job of ours (an MSI-X message aimed at a RING_TAIL, from a worker
 * or from a fast-path job) only wakes the worker, so nothing nests.
 *
 * The firmware model instance is touched only by the worker while it runs a
 * job (or the vCPU thread, for a fast-path job), and by reset while no job
 * runs. A reset (CONTROL.RESET, device reset, FLR) never waits for the
 * model: it bumps a generation counter, clears the registers, and waits
 * only for a DMA transfer of the job that is under way (s->dma_active: a
 * RAM copy, the worker needs nothing to finish it). From the moment the
 * generation moves, the job's further DMA transfers fail without touching
 * memory (the worker reads the counter atomically, without the BQL; the
 * counter and dma_active are a Dekker pair, both sides with full barriers)
 * and the model's aborted() callback, which it calls between packets, says
 * stop. If a job is still in flight the model reset is left to the thread
 * that runs it, when the packet in flight ends; until then CONTROL.RESET
 * reads 1 and no new job starts. Otherwise cimfw_reset() runs at once.
 * The results of a job that straddled a reset are dropped: no completion
 * record, no register update, no interrupt. So a reset returns within one
 * RAM copy however long the packet computes (one AP_PROGRAM may hold
 * thousands of instructions), no thread of ours ever waits for another
 * while it runs or completes a job, and no guest action holds the main
 * loop or a vCPU. After a reset register write returns, the device does no
 * DMA. Only unrealize (hot-unplug) waits for the worker to leave, so for
 * the packet in flight.
 *
 * ABORT_SEQNO names the job in flight by the low 32 bits of its seqno. The
 * job's state (CimJob, on the stack of the thread that runs it) holds an
 * abort flag; s->cur_job points at it while a worker runs the job, under
 * the BQL, so the MMIO handler sets the flag of that job and of no other.
 * The worker's aborted() callback reads it atomically; the model then ends
 * the job at the next packet boundary with CIM_ST_ABORTED, and it completes
 * through the ring as usual. A fast-path job holds the BQL throughout, so no
 * ABORT_SEQNO write can arrive while it runs; a hung job (FAULT.HANG_NEXT)
 * is not running and cannot be aborted.
 *
 * The MMIO handlers read only the model's configuration, which never
 * changes after cimfw_create().
 *
 * Copyright (C) 2026 The cim authors
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"
#include "qemu/rcu.h"
#include "qemu/thread.h"
#include "qapi/error.h"
#include "hw/pci/msix.h"
#include "hw/pci/pci.h"
#include "hw/pci/pcie.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "qom/object.h"

#include "cimfw.h" /* also brings include/cim_hw.h */

#define TYPE_CIM_PCI "cim-pci"
OBJECT_DECLARE_SIMPLE_TYPE(CimState, CIM_PCI)

#define CIM_PCIE_CAP_OFFSET 0x80

struct CimState {
    PCIDevice pdev;
    MemoryRegion mmio;

    /* properties */
    uint64_t seed;
    uint32_t xbars;
    uint32_t xbar_rows;
    uint32_t xbar_cols;
    uint32_t levels;
    uint32_t dac_bits;
    uint32_t adc_bits;
    uint32_t aps;
    uint32_t ap_rows;
    uint32_t ap_cols;
    uint32_t ap_domains;
    uint32_t ap_group_tracks;
    char *cost_preset;
    bool noise;
    bool variation;
    bool fault_injection;

    struct cimfw *fw;
    uint8_t *cmdbuf;            /* CIM_MAX_CMDBUF bytes, the job's copy */

    /* worker, see the threading design above; all below under the BQL */
    QemuThread thread;
    QemuCond work_cond;         /* worker: there may be work, or stop */
    QemuCond idle_cond;         /* exit: the worker has left */
    bool stopping;
    bool worker_exited;
    bool running;               /* a job is in flight (worker or inline) */
    bool inline_job;            /* ... on the fast path, BQL held */
    struct CimJob *cur_job;     /* the worker's job in flight, for aborts */
    bool resetting;             /* the model reset waits for the job */
    bool fw_reset_pending;      /* ... and the job's thread does it */
    uint64_t generation;        /* bumped by every reset (atomic) */
    int dma_active;             /* job DMA transfers under way (atomic) */
    bool msix_used;

    /* registers */
    uint32_t control;           /* CIM_CONTROL_ENABLE */
    bool halted;
    bool hung;
    uint32_t halt_reason;
    uint32_t int_status;
    uint32_t int_mask;
    uint64_t ring_base;
    uint32_t ring_size;
    uint32_t ring_tail;
    uint32_t ring_head;
    uint64_t done_seqno;
    uint32_t fault;
};

/* Interrupts ------------------------------------------------------------- */

/* Send the MSI-X message of each cause in @bits (MSI-X only, no INTx). */
static void cim_notify(CimState *s, uint32_t bits)
{
    PCIDevice *pdev = &s->pdev;

    if (!msix_enabled(pdev)) {
        return;                         /* software polls INT_STATUS */
    }
    if (bits & CIM_INT_JOB_DONE) {
        msix_notify(pdev, CIM_MSIX_VEC_JOB);
    }
    if (bits & (CIM_INT_JOB_ERROR | CIM_INT_HALTED)) {
        msix_notify(pdev, CIM_MSIX_VEC_ERROR);
    }
}

/* Latch @bits in INT_STATUS and signal each unmasked one. */
static void cim_raise(CimState *s, uint32_t bits)
{
    s->int_status |= bits;
    cim_notify(s, bits & s->int_mask);
}

/* Fatal: the job in flight, if any, stays at RING_HEAD unreported. */
static void cim_halt(CimState *s, uint32_t reason)
{
    qemu_log_mask(LOG_GUEST_ERROR, "cim-pci: halted: %s\n",
                  cimfw_status_name(reason));
    s->halted = true;
    s->control &= ~CIM_CONTROL_ENABLE;
    /* the job in flight, if any, is abandoned: no more DMA for it */
    qatomic_set(&s->generation, s->generation + 1);
    s->halt_reason = reason;
    cim_raise(s, CIM_INT_HALTED);
}

/* Ring ------------------------------------------------------------------- */

static bool cim_ring_valid(CimState *s)
{
    return (s->ring_base & (CIM_RING_ALIGN - 1)) == 0 &&
           s->ring_size >= CIM_RING_MIN_ENTRIES &&
           s->ring_size <= CIM_RING_MAX_ENTRIES &&
           is_power_of_2(s->ring_size);
}

static bool cim_enabled(CimState *s)
{
    return s->control & CIM_CONTROL_ENABLE;
}

/*
 * More descriptors posted than the ring holds, or RING_TAIL pulled back over
 * the job in flight (which would make RING_HEAD pass RING_TAIL when it
 * completes): the ring is corrupt.
 */
static bool cim_check_tail(CimState *s)
{
    uint32_t posted = s->ring_tail - s->ring_head;

    if (cim_enabled(s) && !s->halted &&
        (posted > s->ring_size ||
         (posted == 0 && (s->running || s->hung)))) {
        cim_halt(s, CIM_ST_BAD_RING);
        return false;
    }
    return true;
}

static bool cim_can_run(CimState *s)
{
    return cim_enabled(s) && !s->halted && !s->hung && !s->resetting &&
           !s->running && s->ring_head != s->ring_tail;
}

static void cim_kick(CimState *s)
{
    if (cim_can_run(s)) {
        qemu_cond_signal(&s->work_cond);
    }
}

/* DMA -------------------------------------------------------------------- */

/*
 * Set on a thread while it runs or completes a job of any cim-pci device:
 * for the whole life of a worker, and on a vCPU during a fast-path job. A
 * doorbell reached from there (an MSI-X message aimed at RING_TAIL) does
 * not run a job inline, see the threading design above.
 */
static __thread bool cim_in_job;

/*
 * The device's DMA: guest RAM only, see the threading design above. With or
 * without the BQL.
 */
static MemTxResult cim_dma_rw(CimState *s, dma_addr_t addr, void *buf,
                              dma_addr_t len, bool is_write)
{
    AddressSpace *as = pci_get_address_space(&s->pdev);
    uint8_t *p = buf;

    if (len && addr + (len - 1) < addr) {
        return MEMTX_DECODE_ERROR;      /* wraps around the bus */
    }
    smp_mb();                           /* as dma_memory_rw() does */
    while (len) {
        MemoryRegionCache cache = MEMORY_REGION_CACHE_INVALID;
        int64_t l;

        l = address_space_cache_init(&cache, as, addr, len, is_write);
        if (l <= 0 || !cache.ptr) {
            /* not RAM: MMIO, unassigned, bus mastering off, ROM write */
            address_space_cache_destroy(&cache);
            return MEMTX_DECODE_ERROR;
        }
        l = MIN(l, len);
        if (is_write) {
            address_space_write_cached(&cache, 0, p, l);
            address_space_cache_invalidate(&cache, 0, l);
        } else {
            address_space_read_cached(&cache, 0, p, l);
        }
        address_space_cache_destroy(&cache);
        addr += l;
        p += l;
        len -= l;
    }
    return MEMTX_OK;
}

/*
 * A job, fetched once: its descriptor (host order), the faults armed for it,
 * and its per-job state. Lives on the stack of the thread that runs it.
 */
typedef struct CimJob {
    CimState *s;
    uint64_t generation;        /* the device's when the job started */
    bool abort;                 /* ABORT_SEQNO named it (atomic) */
    bool desc_ok;               /* the descriptor could be read */
    uint32_t fault;             /* FAULT bits armed for this job */
    struct cim_job_desc d;
} CimJob;

/*
 * The model's DMA. Once a reset has begun (the generation moved on) every
 * further transfer of the job fails without touching memory, and aborted()
 * stops the model at the next packet; a transfer already under way
 * completes before the reset returns.
 */
static bool cim_job_cancelled(CimJob *j)
{
    return qatomic_read(&j->s->generation) != j->generation;
}

/* One transfer of the job; counted, so that a reset can wait for it */
static int cim_job_dma(CimJob *j, uint64_t addr, void *buf, size_t len,
                       bool is_write)
{
    CimState *s = j->s;
    int ret = -ECANCELED;

    qatomic_inc(&s->dma_active);        /* full barrier: pairs with reset */
    if (!cim_job_cancelled(j)) {
        ret = cim_dma_rw(s, addr, buf, len, is_write) == MEMTX_OK ? 0 : -EIO;
    }
    qatomic_dec(&s->dma_active);
    return ret;
}

static int cim_job_read(void *opaque, uint64_t addr, void *dst, size_t len)
{
    return cim_job_dma(opaque, addr, dst, len, false);
}

static int cim_job_write(void *opaque, uint64_t addr, const void *src,
                         size_t len)
{
    return cim_job_dma(opaque, addr, (void *)src, len, true);
}

static bool cim_job_aborted(void *opaque)
{
    CimJob *j = opaque;

    return qatomic_read(&j->abort) || cim_job_cancelled(j);
}

/* Jobs ------------------------------------------------------------------- */

/*
 * Start the job at RING_HEAD: take the armed faults and read its
 * descriptor, once. BQL held.
 */
static void cim_job_start(CimState *s, CimJob *job)
{
    struct cim_job_desc raw;
    dma_addr_t desc_addr;
    int i;

    memset(job, 0, sizeof(*job));
    job->s = s;
    job->generation = s->generation;
    job->fault = s->fault;
    s->fault = 0;                       /* armed faults hit this job */
    if (job->fault & CIM_FAULT_HANG_NEXT) {
        return;
    }
    desc_addr = s->ring_base +
                (uint64_t)(s->ring_head & (s->ring_size - 1)) * sizeof(raw);
    if (cim_dma_rw(s, desc_addr, &raw, sizeof(raw), false) != MEMTX_OK) {
        return;
    }
    job->desc_ok = true;
    job->d.cmdbuf_addr = le64_to_cpu(raw.cmdbuf_addr);
    job->d.cmdbuf_size = le32_to_cpu(raw.cmdbuf_size);
    job->d.flags = le32_to_cpu(raw.flags);
    job->d.seqno = le64_to_cpu(raw.seqno);
    job->d.completion_addr = le64_to_cpu(raw.completion_addr);
    for (i = 0; i < ARRAY_SIZE(job->d.reserved); i++) {
        job->d.reserved[i] = le64_to_cpu(raw.reserved[i]);
    }
}

/*
 * Check a descriptor (already in host order). Returns CIM_ST_OK or the
 * status of the job, with the offending field's offset in *field.
 */
static uint32_t cim_check_desc(const struct cim_job_desc *d, uint32_t *field)
{
    int i;

    /* the order of Documentation/device/spec.rst, "Job descriptor" */
    if (d->cmdbuf_addr & 7) {
        *field = offsetof(struct cim_job_desc, cmdbuf_addr);
        return CIM_ST_BAD_ALIGN;
    }
    if (d->cmdbuf_size & 7) {
        *field = offsetof(struct cim_job_desc, cmdbuf_size);
        return CIM_ST_BAD_ALIGN;
    }
    if (d->cmdbuf_size == 0 || d->cmdbuf_size > CIM_MAX_CMDBUF) {
        *field = offsetof(struct cim_job_desc, cmdbuf_size);
        return CIM_ST_BAD_SIZE;
    }
    if (d->flags) {
        *field = offsetof(struct cim_job_desc, flags);
        return CIM_ST_BAD_FLAGS;
    }
    for (i = 0; i < ARRAY_SIZE(d->reserved); i++) {
        if (d->reserved[i]) {
            *field = offsetof(struct cim_job_desc, reserved) + 8 * i;
            return CIM_ST_RESERVED;
        }
    }
    return CIM_ST_OK;
}

/*
 * Run a started job: check its descriptor, fetch its command buffer into
 * @buf (unless @fetched: the fast path passes the bytes it fetched and
 * checked) and execute it. Fills @done. With or without the BQL. A job
 * with an unreadable descriptor or a misaligned completion address does
 * not run: cim_job_finish() halts the device.
 */
static void cim_job_run(CimState *s, CimJob *job, uint8_t *buf, bool fetched,
                        struct cim_job_completion *done)
{
    const struct cim_job_desc *d = &job->d;
    struct cimfw_dma dma = {
        .opaque = job, .read = cim_job_read, .write = cim_job_write,
        .aborted = cim_job_aborted,
    };

    memset(done, 0, sizeof(*done));
    if (!job->desc_ok || d->completion_addr & 7) {
        return;
    }
    /* job-level failures blame the descriptor: error_offset ~0 */
    done->error_offset = UINT32_MAX;
    done->status = cim_check_desc(d, &done->error_field);
    if (done->status != CIM_ST_OK) {
        return;                         /* reported as is */
    }
    if (job->fault & CIM_FAULT_DMA_NEXT ||
        (fetched ? cim_job_cancelled(job) :
         cim_job_dma(job, d->cmdbuf_addr, buf, d->cmdbuf_size, false))) {
        done->status = CIM_ST_DMA;
        done->error_field = offsetof(struct cim_job_desc, cmdbuf_addr);
        return;
    }
    if (job->fault & CIM_FAULT_ERROR_NEXT) {
        done->status = CIM_ST_INJECTED;
        done->error_field = UINT32_MAX;
        return;
    }
    cimfw_execute(s->fw, buf, d->cmdbuf_size, &dma, done);
}

/*
 * The job is no longer running (s->running already false): finish a
 * pending model reset, then report the job through the ring unless a reset
 * or a halt came first. BQL held.
 */
static void cim_job_finish(CimState *s, CimJob *job,
                           const struct cim_job_completion *done)
{
    struct cim_job_completion le;

    if (s->fw_reset_pending) {
        s->fw_reset_pending = false;
        cimfw_reset(s->fw);
        s->resetting = false;
    }
    if (job->generation != s->generation) {
        return;                         /* reset while running: abandoned */
    }
    if (s->halted) {
        return;         /* halted meanwhile (RING_TAIL overrun): unreported */
    }
    if (!job->desc_ok) {
        cim_halt(s, CIM_ST_DMA);        /* the ring itself is unreadable */
        return;
    }
    if (job->d.completion_addr & 7) {
        cim_halt(s, CIM_ST_BAD_ALIGN);  /* nowhere to report the job */
        return;
    }
    if (s->ring_tail == s->ring_head) {
        /* RING_TAIL pulled back over the job while disabled */
        cim_halt(s, CIM_ST_BAD_RING);
        return;
    }

    le.seqno = cpu_to_le64(job->d.seqno);
    le.status = cpu_to_le32(done->status);
    le.cmds_done = cpu_to_le32(done->cmds_done);
    le.error_offset = cpu_to_le32(done->error_offset);
    le.error_field = cpu_to_le32(done->error_field);
    le.energy_fj = cpu_to_le64(done->energy_fj);
    le.device_time_ps = cpu_to_le64(done->device_time_ps);
    le.reserved = 0;
    if (cim_dma_rw(s, job->d.completion_addr, &le, sizeof(le), true) !=
        MEMTX_OK) {
        cim_halt(s, CIM_ST_DMA);        /* the job ran, unreported */
        return;
    }

    /* record, then RING_HEAD and DONE_SEQNO, then the message */
    s->ring_head++;
    s->done_seqno = job->d.seqno;
    if (done->status != CIM_ST_OK) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "cim-pci: job %" PRIu64 ": %s at offset 0x%x field "
                      "0x%x\n", (uint64_t)job->d.seqno,
                      cimfw_status_name(done->status), done->error_offset,
                      done->error_field);
    }
    cim_raise(s, done->status == CIM_ST_OK ? CIM_INT_JOB_DONE
                                           : CIM_INT_JOB_ERROR);
}

/* The fast path, see the threading design above */
#define CIM_INLINE_MAX_CMDBUF   256
#define CIM_INLINE_MAX_JOBS     8

/*
 * Is the started job trivial: a valid descriptor, no fault armed, and a
 * command buffer of NOP and FENCE packets only, at most
 * CIM_INLINE_MAX_CMDBUF bytes, fetched once into @buf? Anything unusual (a
 * bad descriptor, an unreadable buffer, a malformed packet) is not
 * trivial: the worker runs and reports it as usual. BQL held.
 */
static bool cim_job_trivial(CimState *s, CimJob *job, uint8_t *buf)
{
    const struct cim_job_desc *d = &job->d;
    uint32_t field, off, psize;

    if (job->fault || !job->desc_ok || d->completion_addr & 7 ||
        cim_check_desc(d, &field) != CIM_ST_OK ||
        d->cmdbuf_size > CIM_INLINE_MAX_CMDBUF ||
        cim_dma_rw(s, d->cmdbuf_addr, buf, d->cmdbuf_size, false) !=
        MEMTX_OK) {
        return false;
    }
    for (off = 0; off < d->cmdbuf_size; off += psize) {
        struct cim_pkt_hdr h;

        memcpy(&h, buf + off, sizeof(h));
        psize = le32_to_cpu(h.size);
        if (psize < sizeof(h) || psize > d->cmdbuf_size - off) {
            return false;
        }
        switch (le16_to_cpu(h.opcode)) {
        case CIM_OP_NOP:
        case CIM_OP_FENCE:
            break;
        default:
            return false;
        }
    }
    return true;
}

/*
 * The doorbell: run trivial jobs at once, on this (vCPU) thread, then hand
 * the rest to the worker. Each runs from the one copy of its descriptor and
 * command buffer that was checked. BQL held.
 */
static void cim_doorbell(CimState *s)
{
    uint8_t buf[CIM_INLINE_MAX_CMDBUF];
    struct cim_job_completion done;
    CimJob job;
    int n;

    /* not from inside a job (MSI-X aimed at RING_TAIL): no nesting */
    for (n = 0; n < CIM_INLINE_MAX_JOBS && !cim_in_job && !s->fault &&
                cim_can_run(s); n++) {
        cim_job_start(s, &job);
        if (!cim_job_trivial(s, &job, buf)) {
            /* the fault register is still 0: the worker starts it anew */
            break;
        }
        s->running = true;
        s->inline_job = true;
        cim_in_job = true;
        cim_job_run(s, &job, buf, true, &done);
        s->running = false;
        s->inline_job = false;
        cim_job_finish(s, &job, &done);
        cim_in_job = false;
    }
    cim_kick(s);
}

/* Worker ----------------------------------------------------------------- */

/* Run the job at RING_HEAD. Called and returns with the BQL held. */
static void cim_run_one(CimState *s)
{
    struct cim_job_completion done;
    CimJob job;

    cim_job_start(s, &job);
    if (job.fault & CIM_FAULT_HANG_NEXT) {
        /* the job stays at RING_HEAD, in flight, until a reset */
        s->hung = true;
        return;
    }
    s->running = true;
    s->cur_job = &job;
    qemu_mutex_unlock_iothread();

    cim_job_run(s, &job, s->cmdbuf, false, &done);

    qemu_mutex_lock_iothread();
    s->running = false;
    s->cur_job = NULL;
    cim_job_finish(s, &job, &done);
}

static void *cim_worker(void *opaque)
{
    CimState *s = opaque;

    rcu_register_thread();
    cim_in_job = true;
    qemu_mutex_lock_iothread();
    while (!s->stopping) {
        if (cim_can_run(s)) {
            cim_run_one(s);
        } else {
            qemu_cond_wait_iothread(&s->work_cond);
        }
    }
    s->worker_exited = true;
    qemu_cond_broadcast(&s->idle_cond);
    qemu_mutex_unlock_iothread();
    rcu_unregister_thread();
    return NULL;
}

/* Reset: CONTROL.RESET, device reset and FLR. BQL held. */
static void cim_soft_reset(CimState *s)
{
    qatomic_set(&s->generation, s->generation + 1);   /* stops job DMA */
    smp_mb();                           /* before dma_active is read */
    s->control = 0;
    s->halted = false;
    s->hung = false;
    s->halt_reason = CIM_ST_OK;
    s->int_status = 0;
    s->int_mask = 0;
    s->ring_base = 0;
    s->ring_size = 0;
    s->ring_head = 0;
    s->ring_tail = 0;
    s->done_seqno = 0;
    s->fault = 0;

    if (!s->fw) {
        return;                         /* not realized */
    }
    /* a transfer under way completes first: a RAM copy, then no more DMA */
    while (qatomic_read(&s->dma_active)) {
        g_usleep(10);
    }
    if (s->running) {
        /* the job's thread resets the model when its packet ends */
        s->resetting = true;
        s->fw_reset_pending = true;
        return;
    }
    s->resetting = false;
    s->fw_reset_pending = false;
    cimfw_reset(s->fw);
    cim_kick(s);
}

/* MMIO ------------------------------------------------------------------- */

static uint64_t cim_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    CimState *s = opaque;
    const struct cimfw_config *cfg = cimfw_config(s->fw);
    uint32_t val = 0;

    if (size != 4 || (addr & 3)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "cim-pci: %u-byte read at 0x%" HWADDR_PRIx "\n",
                      size, addr);
        return MAKE_64BIT_MASK(0, size * 8);
    }

    switch (addr) {
    case CIM_REG_ID:
        val = CIM_ID_MAGIC;
        break;
    case CIM_REG_VERSION:
        val = CIM_ABI_MAJOR << 16 | CIM_ABI_MINOR;
        break;
    case CIM_REG_CAPS:
        val = (cfg->xbar_count ? CIM_CAP_XBAR | CIM_CAP_DUU : 0) |
              (cfg->ap_count ? CIM_CAP_AP : 0) |
              (s->fault_injection ? CIM_CAP_FAULT_INJECT : 0) |
              CIM_CAP_ABORT | CIM_CAP_SCRUB;
        break;
    case CIM_REG_STATUS:
        val = (cim_enabled(s) ? CIM_STATUS_ENABLED : 0) |
              (!s->halted && (s->running || s->hung ||
                              (cim_enabled(s) &&
                               s->ring_head != s->ring_tail)) ?
               CIM_STATUS_BUSY : 0) |
              (s->halted ? CIM_STATUS_HALTED : 0) |
              (s->hung ? CIM_STATUS_HUNG : 0);
        break;
    case CIM_REG_CONTROL:
        /* RESET reads as 1 while the model reset waits for its job */
        val = s->control | (s->resetting ? CIM_CONTROL_RESET : 0);
        break;
    case CIM_REG_INT_STATUS:
        val = s->int_status;
        break;
    case CIM_REG_INT_MASK:
        val = s->int_mask;
        break;
    case CIM_REG_HALT_REASON:
        val = s->halt_reason;
        break;
    case CIM_REG_RING_BASE_LO:
        val = (uint32_t)s->ring_base;
        break;
    case CIM_REG_RING_BASE_HI:
        val = s->ring_base >> 32;
        break;
    case CIM_REG_RING_SIZE:
        val = s->ring_size;
        break;
    case CIM_REG_RING_TAIL:
        val = s->ring_tail;
        break;
    case CIM_REG_RING_HEAD:
        val = s->ring_head;
        break;
    case CIM_REG_DONE_SEQNO_LO:
        val = (uint32_t)s->done_seqno;
        break;
    case CIM_REG_DONE_SEQNO_HI:
        val = s->done_seqno >> 32;
        break;
    case CIM_REG_FAULT:
        val = s->fault;
        break;
    case CIM_REG_XBAR_COUNT:
        val = cfg->xbar_count;
        break;
    case CIM_REG_XBAR_ROWS:
        val = cfg->xbar_rows;
        break;
    case CIM_REG_XBAR_COLS:
        val = cfg->xbar_cols;
        break;
    case CIM_REG_XBAR_LEVELS:
        val = cfg->levels;
        break;
    case CIM_REG_DAC_BITS:
        val = cfg->dac_bits;
        break;
    case CIM_REG_ADC_BITS:
        val = cfg->adc_bits;
        break;
    case CIM_REG_AP_COUNT:
        val = cfg->ap_count;
        break;
    case CIM_REG_AP_ROWS:
        val = cfg->ap_rows;
        break;
    case CIM_REG_AP_COLS:
        val = cfg->ap_cols;
        break;
    case CIM_REG_AP_DOMAINS:
        val = cfg->ap_domains;
        break;
    case CIM_REG_AP_GROUP_TRACKS:
        val = cfg->ap_group_tracks;
        break;
    case CIM_REG_MAX_BATCH:
        val = CIM_MAX_BATCH;
        break;
    case CIM_REG_MAX_CMDBUF:
        val = CIM_MAX_CMDBUF;
        break;
    case CIM_REG_COST_PRESET:
        val = cfg->cost_preset;
        break;
    case CIM_REG_SEED_LO:
        val = (uint32_t)cfg->seed;
        break;
    case CIM_REG_SEED_HI:
        val = cfg->seed >> 32;
        break;
    case CIM_REG_ABORT_SEQNO:
        break;                          /* write-only, reads 0 */
    default:
        /* undefined offsets read as zero */
        qemu_log_mask(LOG_GUEST_ERROR,
                      "cim-pci: read of undefined register 0x%" HWADDR_PRIx
                      "\n", addr);
        break;
    }
    return val;
}

static void cim_write_control(CimState *s, uint32_t val)
{
    if (val & ~CIM_CONTROL_VALID_MASK) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "cim-pci: CONTROL: unknown bits 0x%x ignored\n", val);
    }
    if (val & CIM_CONTROL_RESET) {
        cim_soft_reset(s);              /* ENABLE in the same write ignored */
        return;
    }
    if (!(val & CIM_CONTROL_ENABLE)) {
        s->control &= ~CIM_CONTROL_ENABLE;  /* the job in flight finishes */
        return;
    }
    if (cim_enabled(s) || s->halted) {
        return;
    }
    s->control |= CIM_CONTROL_ENABLE;
    if (!cim_ring_valid(s)) {
        cim_halt(s, CIM_ST_BAD_RING);
        return;
    }
    if (cim_check_tail(s)) {            /* halts if TAIL - HEAD > SIZE */
        cim_doorbell(s);
    }
}

static void cim_mmio_write(void *opaque, hwaddr addr, uint64_t val64,
                           unsigned size)
{
    CimState *s = opaque;
    uint32_t val = val64;
    uint32_t pending;

    if (size != 4 || (addr & 3)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "cim-pci: %u-byte write at 0x%" HWADDR_PRIx
                      " ignored\n", size, addr);
        return;
    }

    switch (addr) {
    case CIM_REG_CONTROL:
        cim_write_control(s, val);
        break;
    case CIM_REG_INT_STATUS:
        s->int_status &= ~(val & CIM_INT_VALID_MASK);
        break;
    case CIM_REG_INT_MASK:
        val &= CIM_INT_VALID_MASK;
        /* enabling a cause that is already pending signals it at once */
        pending = val & ~s->int_mask & s->int_status;
        s->int_mask = val;
        cim_notify(s, pending);
        break;
    case CIM_REG_RING_BASE_LO:
    case CIM_REG_RING_BASE_HI:
    case CIM_REG_RING_SIZE:
        if (cim_enabled(s)) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "cim-pci: ring register 0x%" HWADDR_PRIx
                          " written while enabled, ignored\n", addr);
        } else if (addr == CIM_REG_RING_BASE_LO) {
            s->ring_base = deposit64(s->ring_base, 0, 32, val);
        } else if (addr == CIM_REG_RING_BASE_HI) {
            s->ring_base = deposit64(s->ring_base, 32, 32, val);
        } else {
            s->ring_size = val;
        }
        break;
    case CIM_REG_RING_TAIL:
        s->ring_tail = val;
        if (cim_check_tail(s)) {
            cim_doorbell(s);
        }
        break;
    case CIM_REG_ABORT_SEQNO:
        /* the job in flight, if @val names it; see the threading design */
        if (s->cur_job && (uint32_t)s->cur_job->d.seqno == val) {
            qatomic_set(&s->cur_job->abort, true);
        }
        break;
    case CIM_REG_FAULT:
        if (s->fault_injection) {
            s->fault |= val & CIM_FAULT_VALID_MASK;     /* 1 arms a bit */
        } else {
            qemu_log_mask(LOG_GUEST_ERROR, "cim-pci: FAULT written without "
                          "fault-injection=on, ignored\n");
        }
        break;
    default:
        /* read-only and undefined registers ignore writes */
        qemu_log_mask(LOG_GUEST_ERROR,
                      "cim-pci: write to read-only or undefined register 0x%"
                      HWADDR_PRIx " ignored\n", addr);
        break;
    }
}

/*
 * Every size and alignment reaches the handlers, which accept only aligned
 * 32-bit accesses: others read as all ones and are ignored on write.
 */
static const MemoryRegionOps cim_mmio_ops = {
    .read = cim_mmio_read,
    .write = cim_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 1,
        .max_access_size = 8,
        .unaligned = true,
    },
    .impl = {
        .min_access_size = 1,
        .max_access_size = 8,
        .unaligned = true,
    },
};

/* PCI glue --------------------------------------------------------------- */

static void cim_write_config(PCIDevice *pdev, uint32_t addr, uint32_t val,
                             int len)
{
    CimState *s = CIM_PCI(pdev);
    int v;

    pci_default_write_config(pdev, addr, val, len);
    pcie_cap_flr_write_config(pdev, addr, val, len);
    /* msix_reset() forgets the vectors in use: take them when enabled */
    if (msix_enabled(pdev) && !s->msix_used) {
        for (v = 0; v < CIM_MSIX_VECTORS; v++) {
            msix_vector_use(pdev, v);
        }
        s->msix_used = true;
    }
}

static const char *const cim_cost_presets[CIM_COST_COUNT] = {
    [CIM_COST_DEFAULT] = "default",
    [CIM_COST_STT_TCAM] = "stt-tcam",
    [CIM_COST_DESTINY] = "destiny",
};

static bool cim_build_config(CimState *s, struct cimfw_config *cfg,
                             Error **errp)
{
    int p;

    cimfw_config_default(cfg);
    cfg->seed = s->seed;
    cfg->xbar_count = s->xbars;
    cfg->xbar_rows = s->xbar_rows;
    cfg->xbar_cols = s->xbar_cols;
    cfg->levels = s->levels;
    cfg->dac_bits = s->dac_bits;
    cfg->adc_bits = s->adc_bits;
    cfg->ap_count = s->aps;
    cfg->ap_rows = s->ap_rows;
    cfg->ap_cols = s->ap_cols;
    cfg->ap_domains = s->ap_domains;
    cfg->ap_group_tracks = s->ap_group_tracks;
    if (!s->noise) {
        cfg->read_noise = 0;
        cfg->sigma_c2c = 0;
    }
    if (!s->variation) {
        cfg->sigma_d2d = 0;
        cfg->stuck_prob = 0;
    }
    if (s->cost_preset) {
        for (p = 0; p < CIM_COST_COUNT; p++) {
            if (!strcmp(s->cost_preset, cim_cost_presets[p])) {
                break;
            }
        }
        if (p == CIM_COST_COUNT) {
            error_setg(errp, "cim-pci: cost-preset '%s' is not one of "
                       "default, stt-tcam, destiny", s->cost_preset);
            return false;
        }
        cfg->cost_preset = p;
        if (cimfw_cost_preset(p, &cfg->cost)) {
            error_setg(errp, "cim-pci: cost-preset '%s' unavailable",
                       s->cost_preset);
            return false;
        }
    }
    if (cimfw_config_check(cfg)) {
        error_setg(errp, "cim-pci: configuration outside the device's "
                   "limits (xbars <= %d, xbar-rows/cols 1..%d, levels "
                   "%d..%d, dac/adc-bits %d..%d, aps <= %d, ap-rows <= %d, "
                   "ap-cols <= %d, ap-domains <= %d)",
                   CIM_MAX_XBARS, CIM_MAX_XBAR_DIM, CIM_MIN_LEVELS,
                   CIM_MAX_LEVELS, CIM_MIN_CONV_BITS, CIM_MAX_CONV_BITS,
                   CIM_MAX_APS, CIM_MAX_AP_ROWS, CIM_MAX_AP_COLS,
                   CIM_MAX_AP_DOMAINS);
        return false;
    }
    return true;
}

static void cim_realize(PCIDevice *pdev, Error **errp)
{
    CimState *s = CIM_PCI(pdev);
    struct cimfw_config cfg;
    int ret;

    if (!cim_build_config(s, &cfg, errp)) {
        return;
    }
    ret = cimfw_create(&cfg, &s->fw);
    if (ret) {
        error_setg_errno(errp, -ret, "cim-pci: cannot create the model");
        s->fw = NULL;
        return;
    }

    ret = pcie_endpoint_cap_init(pdev, CIM_PCIE_CAP_OFFSET);
    if (ret < 0) {
        error_setg(errp, "cim-pci: cannot add the PCIe capability");
        goto err_fw;
    }
    pcie_cap_flr_init(pdev);

    memory_region_init_io(&s->mmio, OBJECT(s), &cim_mmio_ops, s,
                          "cim-regs", CIM_REGS_SIZE);
    pci_register_bar(pdev, CIM_BAR_REGS, PCI_BASE_ADDRESS_SPACE_MEMORY,
                     &s->mmio);
    if (msix_init_exclusive_bar(pdev, CIM_MSIX_VECTORS, CIM_BAR_MSIX,
                                errp)) {
        goto err_pcie;
    }

    s->cmdbuf = g_malloc(CIM_MAX_CMDBUF);
    qemu_cond_init(&s->work_cond);
    qemu_cond_init(&s->idle_cond);
    s->stopping = false;
    s->worker_exited = false;
    qemu_thread_create(&s->thread, "cim-pci", cim_worker, s,
                       QEMU_THREAD_JOINABLE);
    return;

err_pcie:
    pcie_cap_exit(pdev);
err_fw:
    cimfw_destroy(s->fw);
    s->fw = NULL;
}

static void cim_exit(PCIDevice *pdev)
{
    CimState *s = CIM_PCI(pdev);

    /* abandon the job in flight; the worker needs the BQL to leave */
    qatomic_set(&s->generation, s->generation + 1);
    s->stopping = true;
    qemu_cond_broadcast(&s->work_cond);
    while (!s->worker_exited) {
        qemu_cond_wait_iothread(&s->idle_cond);
    }
    qemu_thread_join(&s->thread);
    qemu_cond_destroy(&s->work_cond);
    qemu_cond_destroy(&s->idle_cond);

    if (s->msix_used) {
        msix_unuse_all_vectors(pdev);
        s->msix_used = false;
    }
    msix_uninit_exclusive_bar(pdev);
    pcie_cap_exit(pdev);
    g_free(s->cmdbuf);
    s->cmdbuf = NULL;
    cimfw_destroy(s->fw);
    s->fw = NULL;
}

static void cim_reset(DeviceState *dev)
{
    CimState *s = CIM_PCI(dev);

    cim_soft_reset(s);
    /* pci_do_device_reset() follows and clears the MSI-X vectors */
    s->msix_used = false;
}

/* Properties ------------------------------------------------------------- */

/*
 * Geometry defaults are the model's (cimfw_config_default), filled into
 * this table by class_init so that "-device cim-pci,help" and "info qtree"
 * show them.
 */
static Property cim_properties[] = {
    DEFINE_PROP_UINT64("seed", CimState, seed, 0),
    DEFINE_PROP_UINT32("xbars", CimState, xbars, 0),
    DEFINE_PROP_UINT32("xbar-rows", CimState, xbar_rows, 0),
    DEFINE_PROP_UINT32("xbar-cols", CimState, xbar_cols, 0),
    DEFINE_PROP_UINT32("levels", CimState, levels, 0),
    DEFINE_PROP_UINT32("dac-bits", CimState, dac_bits, 0),
    DEFINE_PROP_UINT32("adc-bits", CimState, adc_bits, 0),
    DEFINE_PROP_UINT32("aps", CimState, aps, 0),
    DEFINE_PROP_UINT32("ap-rows", CimState, ap_rows, 0),
    DEFINE_PROP_UINT32("ap-cols", CimState, ap_cols, 0),
    DEFINE_PROP_UINT32("ap-domains", CimState, ap_domains, 0),
    DEFINE_PROP_UINT32("ap-group-tracks", CimState, ap_group_tracks, 0),
    DEFINE_PROP_STRING("cost-preset", CimState, cost_preset),
    DEFINE_PROP_BOOL("noise", CimState, noise, true),
    DEFINE_PROP_BOOL("variation", CimState, variation, true),
    DEFINE_PROP_BOOL("fault-injection", CimState, fault_injection, false),
    DEFINE_PROP_END_OF_LIST(),
};

static void cim_set_prop_defaults(void)
{
    struct cimfw_config cfg;
    Property *p;

    cimfw_config_default(&cfg);
    for (p = cim_properties; p->name; p++) {
        if (!strcmp(p->name, "seed")) {
            p->defval.u = cfg.seed;
        } else if (!strcmp(p->name, "xbars")) {
            p->defval.u = cfg.xbar_count;
        } else if (!strcmp(p->name, "xbar-rows")) {
            p->defval.u = cfg.xbar_rows;
        } else if (!strcmp(p->name, "xbar-cols")) {
            p->defval.u = cfg.xbar_cols;
        } else if (!strcmp(p->name, "levels")) {
            p->defval.u = cfg.levels;
        } else if (!strcmp(p->name, "dac-bits")) {
            p->defval.u = cfg.dac_bits;
        } else if (!strcmp(p->name, "adc-bits")) {
            p->defval.u = cfg.adc_bits;
        } else if (!strcmp(p->name, "aps")) {
            p->defval.u = cfg.ap_count;
        } else if (!strcmp(p->name, "ap-rows")) {
            p->defval.u = cfg.ap_rows;
        } else if (!strcmp(p->name, "ap-cols")) {
            p->defval.u = cfg.ap_cols;
        } else if (!strcmp(p->name, "ap-domains")) {
            p->defval.u = cfg.ap_domains;
        } else if (!strcmp(p->name, "ap-group-tracks")) {
            p->defval.u = cfg.ap_group_tracks;
        }
    }
}

/* The model's state is not described for migration: refuse it. */
static const VMStateDescription vmstate_cim = {
    .name = TYPE_CIM_PCI,
    .unmigratable = 1,
};

static void cim_class_init(ObjectClass *oc, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(oc);

    k->realize = cim_realize;
    k->exit = cim_exit;
    k->config_write = cim_write_config;
    k->vendor_id = CIM_PCI_VENDOR_ID;
    k->device_id = CIM_PCI_DEVICE_ID;
    k->revision = CIM_PCI_REVISION;
    k->class_id = CIM_PCI_CLASS;
    dc->desc = "cim compute-in-memory accelerator";
    dc->reset = cim_reset;
    dc->vmsd = &vmstate_cim;
    cim_set_prop_defaults();
    device_class_set_props(dc, cim_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo cim_types[] = {
    {
        .name = TYPE_CIM_PCI,
        .parent = TYPE_PCI_DEVICE,
        .instance_size = sizeof(CimState),
        .class_init = cim_class_init,
        .interfaces = (InterfaceInfo[]) {
            { INTERFACE_PCIE_DEVICE },
            { },
        },
    },
};

DEFINE_TYPES(cim_types)
