/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * cim-pci: the compute-in-memory accelerator of the cim project, as a
 * QEMU PCI Express device. This file is the PCI function: config space,
 * MSI-X and the interrupt causes, the properties that configure the
 * firmware model, realize, unplug and reset, and the QOM type. cim-pci.h
 * lists the other files and has the threading design.
 *
 * Copyright (C) 2026 The cim authors
 */

#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"
#include "qemu/thread.h"
#include "qapi/error.h"
#include "hw/pci/msix.h"
#include "hw/pci/pci.h"
#include "hw/pci/pcie.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "cim-pci.h"

#define CIM_PCIE_CAP_OFFSET 0x80

/* Interrupts ------------------------------------------------------------- */

/* Send the MSI-X message of each cause in @bits (MSI-X only, no INTx). */
void cim_notify(CimState *s, uint32_t bits)
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
void cim_raise(CimState *s, uint32_t bits)
{
    s->int_status |= bits;
    cim_notify(s, bits & s->int_mask);
}

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

/*
 * The crossbar physics fields as properties (strings: qdev has no double
 * type), in the order of CimState.phys. Any of them makes the device a
 * "custom" one; "levels" does not, its register shows it.
 */
static const struct {
    const char *name;
    size_t offset;
} cim_phys[CIM_PHYS_PROPS] = {
#define CIM_PHYS(n, f) { n, offsetof(struct cimfw_config, f) }
    CIM_PHYS("g-min-us", g_min_us),
    CIM_PHYS("g-max-us", g_max_us),
    CIM_PHYS("gamma", gamma),
    CIM_PHYS("sigma-d2d", sigma_d2d),
    CIM_PHYS("sigma-c2c", sigma_c2c),
    CIM_PHYS("sigma-range", sigma_range),
    CIM_PHYS("prog-noise-us", prog_noise_us),
    CIM_PHYS("g-read-noise-us", g_read_noise_us),
    CIM_PHYS("read-noise", read_noise),
    CIM_PHYS("relax-nu", relax_nu),
    CIM_PHYS("relax-nu-sigma", relax_nu_sigma),
    CIM_PHYS("relax-sigma-us", relax_sigma_us),
    CIM_PHYS("relax-t0-s", relax_t0_s),
    CIM_PHYS("stuck-prob", stuck_prob),
#undef CIM_PHYS
};

static bool cim_set_phys(CimState *s, struct cimfw_config *cfg, Error **errp)
{
    double v;
    int i;

    for (i = 0; i < CIM_PHYS_PROPS; i++) {
        if (!s->phys[i]) {
            continue;
        }
        if (qemu_strtod_finite(s->phys[i], NULL, &v)) {
            error_setg(errp, "cim-pci: %s '%s' is not a number",
                       cim_phys[i].name, s->phys[i]);
            return false;
        }
        *(double *)((char *)cfg + cim_phys[i].offset) = v;
        cfg->device = CIM_DEVICE_CUSTOM;
    }
    return true;
}

static bool cim_build_config(CimState *s, struct cimfw_config *cfg,
                             Error **errp)
{
    enum cim_device_preset dev;
    int p;

    cimfw_config_default(cfg);
    /* the preset first: levels, noise and variation change its values */
    if (s->device_preset) {
        if (cimfw_device_preset_parse(s->device_preset, &dev) ||
            cimfw_device_preset(dev, cfg)) {
            error_setg(errp, "cim-pci: device-preset '%s' is not one of "
                       "bulk-rram, filamentary-rram, pcm, custom",
                       s->device_preset);
            return false;
        }
    }
    cfg->seed = s->seed;
    cfg->xbar_count = s->xbars;
    cfg->xbar_rows = s->xbar_rows;
    cfg->xbar_cols = s->xbar_cols;
    if (s->levels) {
        cfg->levels = s->levels;
    }
    cfg->dac_bits = s->dac_bits;
    cfg->adc_bits = s->adc_bits;
    cfg->ap_count = s->aps;
    cfg->ap_rows = s->ap_rows;
    cfg->ap_cols = s->ap_cols;
    cfg->ap_domains = s->ap_domains;
    cfg->ap_group_tracks = s->ap_group_tracks;
    if (!cim_set_phys(s, cfg, errp)) {
        return false;
    }
    if (!s->noise) {
        cimfw_config_no_noise(cfg);
    }
    if (!s->variation) {
        cimfw_config_no_variation(cfg);
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
                   "ap-cols <= %d, ap-domains <= %d; physics as "
                   "cimfw_config_check() takes it)",
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
 * show them. "levels" stays 0, the device preset's own (bulk-rram unless
 * device-preset says otherwise).
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
    DEFINE_PROP_STRING("device-preset", CimState, device_preset),
    /* names as in cim_phys[] */
    DEFINE_PROP_STRING("g-min-us", CimState, phys[0]),
    DEFINE_PROP_STRING("g-max-us", CimState, phys[1]),
    DEFINE_PROP_STRING("gamma", CimState, phys[2]),
    DEFINE_PROP_STRING("sigma-d2d", CimState, phys[3]),
    DEFINE_PROP_STRING("sigma-c2c", CimState, phys[4]),
    DEFINE_PROP_STRING("sigma-range", CimState, phys[5]),
    DEFINE_PROP_STRING("prog-noise-us", CimState, phys[6]),
    DEFINE_PROP_STRING("g-read-noise-us", CimState, phys[7]),
    DEFINE_PROP_STRING("read-noise", CimState, phys[8]),
    DEFINE_PROP_STRING("relax-nu", CimState, phys[9]),
    DEFINE_PROP_STRING("relax-nu-sigma", CimState, phys[10]),
    DEFINE_PROP_STRING("relax-sigma-us", CimState, phys[11]),
    DEFINE_PROP_STRING("relax-t0-s", CimState, phys[12]),
    DEFINE_PROP_STRING("stuck-prob", CimState, phys[13]),
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
