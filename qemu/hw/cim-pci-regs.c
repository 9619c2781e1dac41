/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * cim-pci: the BAR0 registers (Documentation/device/spec.rst, "BAR0
 * register map"). Every handler runs with the BQL held.
 *
 * Copyright (C) 2026 The cim authors
 */

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/bitops.h"
#include "qemu/log.h"
#include "cim-pci.h"

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
        val = (cfg->xbar_count ? CIM_CAPS_XBAR | CIM_CAPS_DUU : 0) |
              (cfg->ap_count ? CIM_CAPS_AP : 0) |
              (s->fault_injection ? CIM_CAPS_FAULT_INJECT : 0) |
              CIM_CAPS_ABORT | CIM_CAPS_SCRUB | CIM_CAPS_ANALOG;
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
    case CIM_REG_DEVICE_PRESET:
        val = cfg->device;
        break;
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
const MemoryRegionOps cim_mmio_ops = {
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
