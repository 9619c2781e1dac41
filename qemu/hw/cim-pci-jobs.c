/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * cim-pci: the ring, DMA into guest RAM and the jobs the firmware model
 * runs, on the fast path or on the worker thread; fault injection, halts,
 * and the reset that must never wait for the model. The threading design
 * in cim-pci.h says which thread touches what, and with which lock.
 *
 * Copyright (C) 2026 The cim authors
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/rcu.h"
#include "qemu/thread.h"
#include "hw/pci/pci.h"
#include "cim-pci.h"

/* Ring ------------------------------------------------------------------- */

/* Fatal: the job in flight, if any, stays at RING_HEAD unreported. */
void cim_halt(CimState *s, uint32_t reason)
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

bool cim_ring_valid(CimState *s)
{
    return (s->ring_base & (CIM_RING_ALIGN - 1)) == 0 &&
           s->ring_size >= CIM_RING_MIN_ENTRIES &&
           s->ring_size <= CIM_RING_MAX_ENTRIES &&
           is_power_of_2(s->ring_size);
}

/*
 * More descriptors posted than the ring holds, or RING_TAIL pulled back over
 * the job in flight (which would make RING_HEAD pass RING_TAIL when it
 * completes): the ring is corrupt.
 */
bool cim_check_tail(CimState *s)
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
 * not run a job inline, see the threading design in cim-pci.h.
 */
static __thread bool cim_in_job;

/*
 * The device's DMA: guest RAM only, see the threading design in cim-pci.h.
 * With or without the BQL.
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

/* The fast path, see the threading design in cim-pci.h */
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
void cim_doorbell(CimState *s)
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

void *cim_worker(void *opaque)
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

/* Reset ------------------------------------------------------------------ */

/* CONTROL.RESET, device reset and FLR. BQL held. */
void cim_soft_reset(CimState *s)
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
