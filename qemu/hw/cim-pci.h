/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * cim-pci: the compute-in-memory accelerator of the cim project, as a
 * QEMU PCI Express device. The register map, ring, descriptor and
 * completion formats are include/cim_hw.h; the behaviour of every command is
 * the firmware model (include/cimfw.h), which the device drives.
 * Documentation/device/qemu.rst explains how to build and use it.
 *
 * The device's private header. One file per concern, as hw/nvme does:
 *   cim-pci.c        the PCI function: config space, MSI-X and the
 *                    interrupt causes, properties, realize/exit/reset
 *   cim-pci-regs.c   the BAR0 registers
 *   cim-pci-jobs.c   the ring, DMA into guest RAM, jobs run by the model,
 *                    the fast path and the worker thread, fault injection,
 *                    halts and the reset protocol
 * Every file follows the threading design below.
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

#ifndef HW_CIM_PCI_H
#define HW_CIM_PCI_H

#include "exec/memory.h"
#include "hw/pci/pci.h"
#include "qemu/thread.h"
#include "qom/object.h"

#include "cimfw.h" /* also brings include/cim_hw.h */

#define TYPE_CIM_PCI "cim-pci"
#define CIM_PHYS_PROPS 14       /* g-min-us ... stuck-prob */
OBJECT_DECLARE_SIMPLE_TYPE(CimState, CIM_PCI)

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
    char *device_preset;
    char *phys[CIM_PHYS_PROPS]; /* physics properties, cim-pci.c */
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

static inline bool cim_enabled(CimState *s)
{
    return s->control & CIM_CONTROL_ENABLE;
}

/* cim-pci.c */
void cim_notify(CimState *s, uint32_t bits);
void cim_raise(CimState *s, uint32_t bits);

/* cim-pci-regs.c */
extern const MemoryRegionOps cim_mmio_ops;

/* cim-pci-jobs.c */
void cim_halt(CimState *s, uint32_t reason);
bool cim_ring_valid(CimState *s);
bool cim_check_tail(CimState *s);
void cim_doorbell(CimState *s);
void cim_soft_reset(CimState *s);
void *cim_worker(void *opaque);

#endif /* HW_CIM_PCI_H */
