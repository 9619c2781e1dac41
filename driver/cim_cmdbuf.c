// SPDX-License-Identifier: GPL-2.0-only
/*
 * cim: the command buffer validator. SUBMIT hands it a copy of the user's
 * commands in kernel-owned memory; it checks each packet's header, the
 * fields the driver enforces (reservations, batch and row ranges, flags),
 * and relocates every buffer reference to a bus address after a bounds
 * check against its BO. Which fields are references, and how many bytes
 * each covers, comes from cim_pkt_refs() of the device ABI (cim_hw.h), the
 * description the runtime and the device use too.
 *
 * Copyright (C) 2026 The cim authors
 */

#include "cim_drv.h"

/**
 * struct cim_patch - state of one command buffer's validation
 * @cdev: the device
 * @file: the submitting file, whose reservations apply
 * @job: the job, whose @bos the references index
 * @pkt: the packet under validation
 * @off: its byte offset in the command buffer
 */
struct cim_patch {
	struct cim_device *cdev;
	struct cim_file *file;
	struct cim_job *job;
	void *pkt;
	u32 off;
};

/*
 * Turn the reference in @field into a bus address, after checking that the
 * @len bytes from it lie in the buffer and that it is @align-aligned.
 */
static int cim_patch_ref(struct cim_patch *p, u64 *field, u64 len, u32 align)
{
	u64 ref = *field;
	u32 index = CIM_REF_INDEX(ref), offset = CIM_REF_OFFSET(ref);
	struct cim_bo *bo;

	if (index >= p->job->nbos) {
		cim_dbg(p->cdev, "packet at %u: buffer index %u of %u\n",
			p->off, index, p->job->nbos);
		return -EINVAL;
	}
	bo = p->job->bos[index];
	if (offset % align || len > bo->size || offset > bo->size - len) {
		cim_dbg(p->cdev, "packet at %u: %llu bytes at %u of a %zu-byte buffer\n",
			p->off, len, offset, bo->size);
		return -EINVAL;
	}
	*field = bo->dma + offset;
	return 0;
}

/* Relocate every address field the packet's reference description lists. */
static int cim_patch_refs(struct cim_patch *p)
{
	struct cim_pkt_ref refs[CIM_PKT_MAX_REFS];
	unsigned int i, n;
	int ret;

	n = cim_pkt_refs(p->pkt, refs);
	for (i = 0; i < n; i++) {
		u64 *field = p->pkt + refs[i].field;

		switch (refs[i].use) {
		case CIM_REF_READ:
		case CIM_REF_WRITE:
			ret = cim_patch_ref(p, field, refs[i].len,
					    refs[i].align);
			if (ret)
				return ret;
			break;
		case CIM_REF_ZERO:
			if (*field)
				return -EINVAL;
			break;
		default:
			/* Not read by the device: no address of the caller's stays */
			*field = 0;
			break;
		}
	}
	return 0;
}

static int cim_check_xbar(struct cim_patch *p,
			  const struct cim_pkt_xbar_window *w)
{
	const struct cim_geometry *g = &p->cdev->geo;

	if (w->xbar >= g->xbar_count)
		return -EINVAL;
	if (p->cdev->xbar_owner[w->xbar] != p->file) {
		cim_dbg(p->cdev, "packet at %u: crossbar %u not reserved\n",
			p->off, w->xbar);
		return -EACCES;
	}
	if (!w->nrows || !w->ncols || w->row + w->nrows > g->xbar_rows ||
	    w->col + w->ncols > g->xbar_cols)
		return -EINVAL;
	return 0;
}

static int cim_check_ap(struct cim_patch *p, u32 ap)
{
	if (ap >= p->cdev->geo.ap_count)
		return -EINVAL;
	if (p->cdev->ap_owner[ap] != p->file) {
		cim_dbg(p->cdev, "packet at %u: AP %u not reserved\n",
			p->off, ap);
		return -EACCES;
	}
	return 0;
}

static int cim_check_no_flags(struct cim_patch *p)
{
	struct cim_pkt_hdr *h = p->pkt;

	return h->flags ? -EINVAL : 0;
}

/* Whether the device speaks ABI 1.@minor or later (its major is ours) */
static bool cim_abi_since(struct cim_patch *p, u32 minor)
{
	return (p->cdev->geo.version & 0xffff) >= minor;
}

/*
 * IDLE (ABI 1.2) references nothing. Its range is checked here as the
 * device checks it (BAD_VALUE), so that a job never fails for a value the
 * driver could have refused; a device before 1.2 does not know the opcode.
 */
static int cim_check_idle(struct cim_patch *p)
{
	struct cim_pkt_idle *k = p->pkt;

	if (!cim_abi_since(p, 2))
		return -EINVAL;
	if (k->hdr.flags || !k->ns || k->ns > CIM_MAX_IDLE_NS)
		return -EINVAL;
	return 0;
}

static int cim_check_xbar_program(struct cim_patch *p)
{
	struct cim_pkt_xbar_program *k = p->pkt;
	u32 valid = cim_abi_since(p, 2) ? CIM_PROGRAM_VALID_FLAGS :
		    CIM_PROGRAM_F_REPORT;

	if (k->hdr.flags & ~valid)
		return -EINVAL;
	/* one report or the other: the device fails both with BAD_FLAGS */
	if ((k->hdr.flags & CIM_PROGRAM_F_REPORT) &&
	    (k->hdr.flags & CIM_PROGRAM_F_RESIDUAL))
		return -EINVAL;
	return cim_check_xbar(p, &k->win);
}

static int cim_check_xbar_read(struct cim_patch *p)
{
	struct cim_pkt_xbar_read *k = p->pkt;

	if (k->hdr.flags & ~CIM_READ_VALID_FLAGS)
		return -EINVAL;
	return cim_check_xbar(p, &k->win);
}

static int cim_check_vmm(struct cim_patch *p)
{
	struct cim_pkt_vmm *k = p->pkt;
	int ret;

	if (k->hdr.flags & ~CIM_VMM_VALID_FLAGS)
		return -EINVAL;
	ret = cim_check_xbar(p, &k->win);
	if (ret)
		return ret;
	if (!k->batch || k->batch > p->cdev->geo.max_batch)
		return -EINVAL;
	return 0;
}

static int cim_check_duu_update(struct cim_patch *p)
{
	struct cim_pkt_duu_update *k = p->pkt;
	int ret;

	if (k->hdr.flags & ~CIM_DUU_VALID_FLAGS)
		return -EINVAL;
	ret = cim_check_xbar(p, &k->win);
	if (ret)
		return ret;
	if (k->batch > p->cdev->geo.max_batch)
		return -EINVAL;
	return 0;
}

static int cim_check_ap_rows(struct cim_patch *p)
{
	struct cim_pkt_ap_rows *k = p->pkt;
	u32 ap_rows = p->cdev->geo.ap_rows;
	int ret;

	if (k->hdr.flags)
		return -EINVAL;
	ret = cim_check_ap(p, k->ap);
	if (ret)
		return ret;
	if (k->hdr.opcode == CIM_OP_AP_LOAD_ROWS && k->what)
		return -EINVAL;
	switch (k->what) {
	case CIM_AP_READ_ROWS:
	case CIM_AP_READ_TAGS:
		if (!k->nrows || k->row > ap_rows || k->nrows > ap_rows - k->row)
			return -EINVAL;
		return 0;
	case CIM_AP_READ_REGS:
		return 0;
	default:
		return -EINVAL;
	}
}

static int cim_check_ap_program(struct cim_patch *p)
{
	struct cim_pkt_ap_program *k = p->pkt;

	if (k->hdr.flags || !k->ninst)
		return -EINVAL;
	return cim_check_ap(p, k->ap);
}

static int cim_check_counters(struct cim_patch *p)
{
	struct cim_pkt_counters *k = p->pkt;

	/* Counters are device-wide: sysfs reads them, no file resets them */
	if (k->hdr.flags & CIM_COUNTERS_F_RESET)
		return -EPERM;
	if (k->hdr.flags || k->size % 8 || k->size < 8 || k->size > 4096)
		return -EINVAL;
	return 0;
}

/*
 * The checks the driver adds to the device's, per opcode a user may send;
 * the buffer references of every packet are then relocated alike.
 */
static int (*const cim_pkt_checks[])(struct cim_patch *p) = {
	[CIM_OP_NOP] = cim_check_no_flags,
	[CIM_OP_FENCE] = cim_check_no_flags,
	[CIM_OP_IDLE] = cim_check_idle,
	[CIM_OP_XBAR_PROGRAM] = cim_check_xbar_program,
	[CIM_OP_XBAR_READ] = cim_check_xbar_read,
	[CIM_OP_VMM_FWD] = cim_check_vmm,
	[CIM_OP_VMM_TRANS] = cim_check_vmm,
	[CIM_OP_DUU_UPDATE] = cim_check_duu_update,
	[CIM_OP_AP_LOAD_ROWS] = cim_check_ap_rows,
	[CIM_OP_AP_PROGRAM] = cim_check_ap_program,
	[CIM_OP_AP_READ] = cim_check_ap_rows,
	[CIM_OP_COUNTERS_READ] = cim_check_counters,
};

/**
 * cim_cmdbuf_patch_locked() - validate a copied command buffer, patch its
 * references
 * @file: the submitting file
 * @job: the job, with its buffers looked up and its commands copied
 *
 * Context: cdev->lock held, so that reservations cannot change under it.
 * Return: 0, -EINVAL for a malformed packet, -EACCES for a unit the file
 * did not reserve, -EPERM for a packet only the driver may send.
 */
int cim_cmdbuf_patch_locked(struct cim_file *file, struct cim_job *job)
{
	struct cim_device *cdev = file->cdev;
	u8 *cmds = job->cmds;
	struct cim_patch p = { .cdev = cdev, .file = file, .job = job };
	u32 off = 0;
	int ret;

	lockdep_assert_held(&cdev->lock);

	while (off < job->cmd_size) {
		struct cim_pkt_hdr *h = (struct cim_pkt_hdr *)(cmds + off);

		p.pkt = h;
		p.off = off;
		if (job->cmd_size - off < sizeof(*h) || h->size < sizeof(*h) ||
		    h->size % 8 || h->size > job->cmd_size - off) {
			cim_dbg(cdev, "packet at %u: bad size\n", off);
			return -EINVAL;
		}
		if (h->opcode == CIM_OP_COUNTERS_RESET)
			return -EPERM;
		if (h->opcode >= ARRAY_SIZE(cim_pkt_checks) ||
		    !cim_pkt_checks[h->opcode]) {
			cim_dbg(cdev, "packet at %u: opcode %#x\n", off,
				h->opcode);
			return -EINVAL;
		}
		if (h->size < cim_pkt_base_size(h->opcode) ||
		    h->size != cim_pkt_size(h)) {
			cim_dbg(cdev, "packet at %u: size %u\n", off, h->size);
			return -EINVAL;
		}
		ret = cim_pkt_checks[h->opcode](&p);
		if (!ret)
			ret = cim_patch_refs(&p);
		if (ret)
			return ret;
		off += h->size;
	}
	return 0;
}
