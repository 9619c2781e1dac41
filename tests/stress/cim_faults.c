// SPDX-License-Identifier: GPL-2.0-only
/*
 * cim_faults: a fault matrix under load, run in the test VM.
 *
 * N worker processes per cim device submit jobs whose results are known
 * (a VMM job: program, read back, multiply, fence; a DUU job: program
 * zeros, read, update with known signs, read again, fence), a few in
 * flight each, while the parent injects one kind of fault per phase:
 *
 *   baseline     nothing
 *   dma          FAULT = DMA_NEXT through debugfs cim/N/fault
 *   error        FAULT = ERROR_NEXT
 *   hang         FAULT = HANG_NEXT (job_timeout_ms 1000)
 *   long-job     a job of 32 full-crossbar VMMs of max_batch vectors runs
 *                past job_timeout_ms: it alone ends (CIM_JOB_TIMEDOUT, by
 *                ABORT_SEQNO); no reset, no other job canceled
 *   pci-reset    /sys/bus/pci/devices/BDF/reset (an FLR)
 *   drv-reset    /sys/class/misc/cimN/reset
 *   concurrent   the two above and debugfs force_recovery at once
 *   unbind       /sys/bus/pci/drivers/cim/unbind, then bind
 *   unplug       (with CIM_UNPLUG=1) "@@CIM-UNPLUG@@" on the console asks
 *                the host for a QMP device_del of the device behind a
 *                pcie-root-port; then "@@CIM-REPLUG@@" for device_add. A
 *                file with a mapped buffer is held open across the
 *                removal and closed after it.
 *
 * Every job is classified, by the phase it was submitted in:
 *   correct     ended with CIM_ST_OK and its results match the reference
 *   docerror    ended with a documented error: status DMA, INJECTED,
 *               ABORTED, CIM_JOB_TIMEDOUT or CIM_JOB_CANCELED, or (device
 *               gone, WAIT gives -ENODEV) a fence error -EIO, -ETIMEDOUT,
 *               -ECANCELED or -ENODEV
 *   lost        never signalled within 30 s: must be 0
 *   wrong       OK with a wrong result, or an undocumented status or
 *               errno: must be 0
 *
 * Output: TAP, one result per phase and the matrix as "@@MATRIX@@" lines
 * that tools/stress/run-faults.sh turns into Documentation/fault-matrix.rst.
 *
 * usage: cim_faults [--phase-time S] [--procs N] [--phases a,b,...]
 * Environment: CIM_FAULTS_TIME, CIM_FAULTS_PROCS, CIM_FAULTS_PHASES,
 * CIM_UNPLUG=1 (the host answers the unplug markers).
 *
 * Copyright (C) 2026 The cim authors
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cim_hw.h"
#include "uapi/misc/cim.h"

#include "cim_stress.h"

#define PAGE		4096u
#define MAX_DEVS	4
#define MAX_PROCS	16
#define INFLIGHT	3
#define SLOT		(16 * PAGE)
#define R		16
#define C		8
#define B		2
#define LOST_MS		30000
#define TIMEOUT_MS	"1000"

enum phase {
	PH_BASELINE, PH_DMA, PH_ERROR, PH_HANG, PH_LONG, PH_PCI_RESET,
	PH_DRV_RESET,
	PH_CONCURRENT, PH_UNBIND, PH_UNPLUG, PH_COUNT
};

static const char *phase_name[PH_COUNT] = {
	"baseline", "dma", "error", "hang", "long-job", "pci-reset",
	"drv-reset",
	"concurrent", "unbind", "unplug",
};

static const char *phase_what[PH_COUNT] = {
	"no fault",
	"FAULT.DMA_NEXT every 300 ms (debugfs)",
	"FAULT.ERROR_NEXT every 300 ms (debugfs)",
	"FAULT.HANG_NEXT every 2.5 s, job_timeout_ms 1000",
	"a job running past job_timeout_ms (full-crossbar VMMs): aborted alone, no reset",
	"PCI function reset (sysfs device/reset) every 1 s",
	"driver reset (sysfs cimN/reset) every 1 s",
	"cimN/reset, device/reset and force_recovery at once, every 1 s",
	"driver unbind, 0.5 s, bind, every 3 s",
	"QMP device_del of the device behind a pcie-root-port, device_add",
};

enum cls { K_SUBMITTED, K_CORRECT, K_DOCERR, K_LOST, K_WRONG, K_COUNT };

/* documented errors, by kind */
enum dkind {
	D_DMA, D_INJECTED, D_ABORTED, D_TIMEDOUT, D_CANCELED, D_F_EIO,
	D_F_ETIMEDOUT, D_F_ECANCELED, D_F_ENODEV, D_COUNT
};

static const char *dkind_name[D_COUNT] = {
	"DMA", "INJECTED", "ABORTED", "TIMEDOUT", "CANCELED", "fence-EIO",
	"fence-ETIMEDOUT", "fence-ECANCELED", "fence-ENODEV",
};

/* Shared between the parent and the workers */
struct shared {
	atomic_int phase;
	atomic_int stop;
	atomic_long n[PH_COUNT][K_COUNT];
	atomic_long d[PH_COUNT][D_COUNT];
	atomic_long reopen[PH_COUNT];
	atomic_long refused[PH_COUNT];	/* SUBMIT errors, by phase */
	atomic_long refused_errno[PH_COUNT][4];	/* ENODEV EBADFD EINTR other */
	atomic_long actions[PH_COUNT], action_errors[PH_COUNT];
	atomic_int action_errno[PH_COUNT];	/* of the last failed action */
	atomic_long long_bad;	/* long-job: a reset or a canceled job */
	atomic_int unplugged;	/* unplug: the device did go */
	char msg[8][200];
	atomic_int nmsg;
};

static struct shared *sh;

struct pdev {
	char bdf[32];
	int unplug;		/* behind a root port: the unplug candidate */
};

static struct pdev pdevs[MAX_DEVS];
static int npdevs;
static int opt_procs = 2;
static double opt_time = 8;
static int opt_unplug;
static int phase_on[PH_COUNT];

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	int i = atomic_fetch_add(&sh->nmsg, 1);
	va_list ap;

	if (i >= 8)
		return;
	va_start(ap, fmt);
	vsnprintf(sh->msg[i], sizeof(sh->msg[i]), fmt, ap);
	va_end(ap);
	printf("# %s\n", sh->msg[i]);
	fflush(stdout);
}

/* sysfs ---------------------------------------------------------------------- */

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return 0;
}

/* The cimN index of a PCI function, or -1 (unbound or gone) */
static int misc_index(const char *bdf)
{
	char path[128];
	struct dirent *e;
	DIR *d;
	int idx = -1;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/misc", bdf);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "cim", 3))
			idx = atoi(e->d_name + 3);
	closedir(d);
	return idx;
}

static int attr_write(int idx, const char *attr, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/class/misc/cim%d/%s", idx, attr);
	return write_str(path, val);
}

static long attr_long(int idx, const char *attr)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path), "/sys/class/misc/cim%d/%s", idx, attr);
	if (read_str(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 0);
}

static int debugfs_write(int idx, const char *file, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/debug/cim/%d/%s", idx, file);
	return write_str(path, val);
}

static void find_devices(void)
{
	struct dirent *e;
	DIR *d = opendir("/sys/bus/pci/devices");
	char path[300], v[32], dv[32], link[300];

	if (!d)
		return;
	while ((e = readdir(d)) && npdevs < MAX_DEVS) {
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", e->d_name);
		if (read_str(path, v, sizeof(v)))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", e->d_name);
		if (read_str(path, dv, sizeof(dv)))
			continue;
		if (strtol(v, NULL, 0) != CIM_PCI_VENDOR_ID ||
		    strtol(dv, NULL, 0) != CIM_PCI_DEVICE_ID)
			continue;
		if (strlen(e->d_name) >= sizeof(pdevs[npdevs].bdf))
			continue;
		strcpy(pdevs[npdevs].bdf, e->d_name);
		/* behind a bridge: the link names two functions */
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = 0;
		{
			int colons = 0;

			for (char *p = link; *p; p++)
				colons += *p == ':';
			/* pci0000:00/0000:00:02.0/0000:01:00.0 has 5 */
			pdevs[npdevs].unplug = colons >= 5;
		}
		npdevs++;
	}
	closedir(d);
}

/* Workers -------------------------------------------------------------------- */

static uint32_t f32(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	return u;
}

/* Offsets inside a job's slot of the data BO */
#define O_W	0
#define O_X	1024
#define O_ONES	1536
#define O_D	1792
#define O_RD	2048
#define O_Y	3072
#define O_REP	3584
#define O_W1	4096
#define O_FENCE	5120
#define O_END	5128

struct wjob {
	uint64_t seqno;
	int fence_fd;
	int duu;
	uint64_t token;
	int slot;
	int phase;
	uint64_t t0;
};

struct worker {
	int dev;		/* index into pdevs */
	int id;
	int fd;
	uint32_t cmd_h, data_h;
	uint8_t *cmd, *data;
	int xbar;
	int adc_bits;
	struct wjob q[INFLIGHT];
	int nq, head;
	uint64_t counter;
	uint64_t rng;
};

static void w_close(struct worker *w)
{
	if (w->cmd)
		munmap(w->cmd, PAGE * 4);
	if (w->data)
		munmap(w->data, SLOT * INFLIGHT);
	w->cmd = NULL;
	w->data = NULL;
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

static int w_open(struct worker *w)
{
	struct cim_device_info info;
	struct cim_query q = {
		.data_ptr = (uintptr_t)&info,
		.query = CIM_QUERY_DEVICE_INFO,
		.size = sizeof(info),
	};
	struct cim_bo_create c1 = { .size = PAGE * 4 };
	struct cim_bo_create c2 = { .size = SLOT * INFLIGHT };
	char path[32];
	int idx = misc_index(pdevs[w->dev].bdf), i;

	if (idx < 0)
		return -1;
	snprintf(path, sizeof(path), "/dev/cim%d", idx);
	w->fd = open(path, O_RDWR | O_CLOEXEC);
	if (w->fd < 0)
		return -1;
	if (ioctl(w->fd, CIM_IOCTL_QUERY, &q) ||
	    ioctl(w->fd, CIM_IOCTL_BO_CREATE, &c1) ||
	    ioctl(w->fd, CIM_IOCTL_BO_CREATE, &c2))
		goto err;
	w->adc_bits = info.adc_bits;
	w->cmd_h = c1.handle;
	w->data_h = c2.handle;
	w->cmd = mmap(NULL, PAGE * 4, PROT_READ | PROT_WRITE, MAP_SHARED,
		      w->fd, c1.mmap_offset);
	w->data = mmap(NULL, SLOT * INFLIGHT, PROT_READ | PROT_WRITE,
		       MAP_SHARED, w->fd, c2.mmap_offset);
	if (w->cmd == MAP_FAILED || w->data == MAP_FAILED) {
		w->cmd = w->cmd == MAP_FAILED ? NULL : w->cmd;
		w->data = w->data == MAP_FAILED ? NULL : w->data;
		goto err;
	}
	/* a crossbar of its own: the worker's id first, then any */
	w->xbar = -1;
	for (i = 0; i < (int)info.xbar_count; i++) {
		int x = (w->id + i) % info.xbar_count;
		struct cim_reserve r = { .mask = 1ull << x };

		if (!ioctl(w->fd, CIM_IOCTL_XBAR_RESERVE, &r)) {
			w->xbar = x;
			break;
		}
	}
	if (w->xbar < 0)
		goto err;
	return 0;
err:
	w_close(w);
	return -1;
}

static void pkt_window(struct cim_pkt_xbar_window *win, int xbar)
{
	win->xbar = xbar;
	win->row = 0;
	win->nrows = R;
	win->col = 0;
	win->ncols = C;
}

static uint32_t put_program(uint8_t *p, int xbar, uint32_t src)
{
	struct cim_pkt_xbar_program *k = (void *)p;

	memset(k, 0, sizeof(*k));
	k->hdr.opcode = CIM_OP_XBAR_PROGRAM;
	k->hdr.size = sizeof(*k);
	pkt_window(&k->win, xbar);
	k->max_iters = 32;
	k->tolerance_f32 = f32(0.5f);
	k->src = CIM_REF(0, src);
	return sizeof(*k);
}

static uint32_t put_read(uint8_t *p, int xbar, uint32_t dst)
{
	struct cim_pkt_xbar_read *k = (void *)p;

	memset(k, 0, sizeof(*k));
	k->hdr.opcode = CIM_OP_XBAR_READ;
	k->hdr.flags = CIM_READ_F_WEIGHTS;
	k->hdr.size = sizeof(*k);
	pkt_window(&k->win, xbar);
	k->dst = CIM_REF(0, dst);
	return sizeof(*k);
}

static uint32_t put_fence(uint8_t *p, uint32_t dst, uint64_t v)
{
	struct cim_pkt_fence *k = (void *)p;

	memset(k, 0, sizeof(*k));
	k->hdr.opcode = CIM_OP_FENCE;
	k->hdr.size = sizeof(*k);
	k->addr = CIM_REF(0, dst);
	k->value = v;
	return sizeof(*k);
}

/* Build the job of @j in the command BO at @cmdoff; returns its size */
static uint32_t build_job(struct worker *w, struct wjob *j, uint32_t cmdoff)
{
	uint8_t *p = w->cmd + cmdoff, *d = w->data + j->slot * SLOT;
	uint32_t base = j->slot * SLOT, off = 0, i;
	float *wt = (float *)(d + O_W), *x = (float *)(d + O_X);

	memset(d + O_RD, 0xff, O_END - O_RD);
	if (!j->duu) {
		for (i = 0; i < R * C; i++)
			wt[i] = (float)((int)(rnd(&w->rng) % 2001) - 1000) / 1000.0f;
		for (i = 0; i < B * R; i++)
			x[i] = (float)((int)(rnd(&w->rng) % 2001) - 1000) / 1000.0f;
		off += put_program(p + off, w->xbar, base + O_W);
		off += put_read(p + off, w->xbar, base + O_RD);
		{
			struct cim_pkt_vmm *k = (void *)(p + off);

			memset(k, 0, sizeof(*k));
			k->hdr.opcode = CIM_OP_VMM_FWD;
			k->hdr.size = sizeof(*k);
			pkt_window(&k->win, w->xbar);
			k->batch = B;
			k->x = CIM_REF(0, base + O_X);
			k->y = CIM_REF(0, base + O_Y);
			off += sizeof(*k);
		}
	} else {
		float *ones = (float *)(d + O_ONES), *dv = (float *)(d + O_D);

		for (i = 0; i < R * C; i++)
			wt[i] = 0;
		for (i = 0; i < R; i++)
			ones[i] = 1;
		for (i = 0; i < C; i++)
			dv[i] = i < C / 2 ? 1 : -1;
		off += put_program(p + off, w->xbar, base + O_W);
		off += put_read(p + off, w->xbar, base + O_RD);
		{
			struct cim_pkt_duu_update *k = (void *)(p + off);

			memset(k, 0, sizeof(*k));
			k->hdr.opcode = CIM_OP_DUU_UPDATE;
			k->hdr.flags = CIM_DUU_F_REPORT;
			k->hdr.size = sizeof(*k);
			pkt_window(&k->win, w->xbar);
			k->batch = 1;
			k->lr_f32 = f32(0.2f);
			k->n_max = 16;
			k->x = CIM_REF(0, base + O_ONES);
			k->d = CIM_REF(0, base + O_D);
			k->report = CIM_REF(0, base + O_REP);
			off += sizeof(*k);
		}
		off += put_read(p + off, w->xbar, base + O_W1);
	}
	off += put_fence(p + off, base + O_FENCE, j->token);
	return off;
}

/* The reference: 1 correct, 0 wrong (with a note) */
static int check_job(struct worker *w, struct wjob *j, uint32_t cmds_done,
		     int have_cmds)
{
	uint8_t *d = w->data + j->slot * SLOT;
	const float *rd = (const float *)(d + O_RD);
	uint32_t i, k, b;

	if (have_cmds && cmds_done != (j->duu ? 5u : 4u)) {
		note("%s job: cmds_done %u", j->duu ? "DUU" : "VMM", cmds_done);
		return 0;
	}
	if (*(uint64_t *)(d + O_FENCE) != j->token) {
		note("fence %#" PRIx64 " not %#" PRIx64, *(uint64_t *)(d + O_FENCE),
		     j->token);
		return 0;
	}
	for (i = 0; i < R * C; i++)
		/* devices' own ranges carry a cell a little past +-1 */
		if (!isfinite(rd[i]) || fabsf(rd[i]) > 2.0f) {
			note("read-back weight %u: %g", i, rd[i]);
			return 0;
		}
	if (!j->duu) {
		const float *x = (const float *)(d + O_X);
		const float *y = (const float *)(d + O_Y);
		double adc = (1 << (w->adc_bits - 1)) - 1;

		for (b = 0; b < B; b++) {
			double ref[C], full = 0;

			for (k = 0; k < C; k++) {
				ref[k] = 0;
				for (i = 0; i < R; i++)
					ref[k] += (double)x[b * R + i] * rd[i * C + k];
				full = fabs(ref[k]) > full ? fabs(ref[k]) : full;
			}
			for (k = 0; k < C; k++) {
				/* ADC step, DAC, read noise: 0.25 of full scale */
				double tol = 2 * full / adc + 0.25 * full + 1e-3;

				if (!isfinite(y[b * C + k]) ||
				    fabs(y[b * C + k] - ref[k]) > tol) {
					note("VMM y[%u][%u] = %g, reference %g (tolerance %g)",
					     b, k, y[b * C + k], ref[k], tol);
					return 0;
				}
			}
		}
	} else {
		const struct cim_duu_report *rep = (const void *)(d + O_REP);
		const float *w1 = (const float *)(d + O_W1);
		double down = 0, up = 0;

		for (i = 0; i < R; i++)
			for (k = 0; k < C; k++) {
				double dw = w1[i * C + k] - rd[i * C + k];

				if (k < C / 2)
					down += dw;
				else
					up += dw;
			}
		/* chi -= lr x d: d = +1 lowers a column, -1 raises it */
		if (!(down < 0) || !(up > 0) || !rep->pulses_pos ||
		    !rep->pulses_neg || rep->cells_pulsed < R * C / 2 ||
		    rep->reserved) {
			note("DUU: dw %+.3f / %+.3f, report %u cells, +%u -%u",
			     down, up, rep->cells_pulsed, rep->pulses_pos,
			     rep->pulses_neg);
			return 0;
		}
	}
	return 1;
}

static void count(int ph, enum cls k)
{
	atomic_fetch_add(&sh->n[ph][k], 1);
}

static void docerr(int ph, enum dkind k)
{
	count(ph, K_DOCERR);
	atomic_fetch_add(&sh->d[ph][k], 1);
}

static int fence_wait(int fd, int ms, int32_t *status)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct fz_sync_file_info si;
	uint64_t end = now_ns() + (uint64_t)ms * 1000000;
	int r;

	do {
		int left = (int)((end - now_ns()) / 1000000);

		r = poll(&pfd, 1, left > 0 ? left : 0);
	} while (r < 0 && errno == EINTR && now_ns() < end);
	if (r <= 0)
		return 0;
	memset(&si, 0, sizeof(si));
	if (ioctl(fd, FZ_SYNC_IOC_FILE_INFO, &si))
		return -1;
	*status = si.status;
	return 1;
}

/* End the oldest job of @w and classify it */
static void resolve(struct worker *w)
{
	struct wjob *j = &w->q[w->head];
	uint64_t deadline = j->t0 + LOST_MS * 1000000ull;
	struct cim_wait wt;
	int e, ph = j->phase;
	int32_t st;

	do {
		memset(&wt, 0, sizeof(wt));
		wt.seqno = j->seqno;
		wt.timeout_ns = deadline;
		e = ioctl(w->fd, CIM_IOCTL_WAIT, &wt) ? errno : 0;
	} while (e == EINTR);
	if (!e) {
		switch (wt.status) {
		case CIM_ST_OK:
			if (check_job(w, j, wt.cmds_done, 1))
				count(ph, K_CORRECT);
			else
				count(ph, K_WRONG);
			break;
		case CIM_ST_DMA: docerr(ph, D_DMA); break;
		case CIM_ST_INJECTED: docerr(ph, D_INJECTED); break;
		case CIM_ST_ABORTED: docerr(ph, D_ABORTED); break;
		case CIM_JOB_TIMEDOUT: docerr(ph, D_TIMEDOUT); break;
		case CIM_JOB_CANCELED: docerr(ph, D_CANCELED); break;
		default:
			note("phase %s: status %u at packet %u field %u",
			     phase_name[ph], wt.status, wt.error_offset,
			     wt.error_field);
			count(ph, K_WRONG);
		}
	} else if (e == ETIME) {
		note("phase %s: job %" PRIu64 " not ended after %d ms",
		     phase_name[ph], j->seqno, LOST_MS);
		count(ph, K_LOST);
	} else if (e == ENODEV) {
		/* the device is gone: the fence still tells */
		int left = (int)(((int64_t)deadline - (int64_t)now_ns()) / 1000000);

		if (fence_wait(j->fence_fd, left > 0 ? left : 0, &st) <= 0) {
			note("phase %s: fence of job %" PRIu64 " never signalled",
			     phase_name[ph], j->seqno);
			count(ph, K_LOST);
		} else if (st == 1) {
			if (check_job(w, j, 0, 0))
				count(ph, K_CORRECT);
			else
				count(ph, K_WRONG);
		} else if (st == -EIO) {
			docerr(ph, D_F_EIO);
		} else if (st == -ETIMEDOUT) {
			docerr(ph, D_F_ETIMEDOUT);
		} else if (st == -ECANCELED) {
			docerr(ph, D_F_ECANCELED);
		} else if (st == -ENODEV) {
			docerr(ph, D_F_ENODEV);
		} else {
			note("phase %s: fence status %d", phase_name[ph], st);
			count(ph, K_WRONG);
		}
	} else {
		note("phase %s: WAIT gave %s", phase_name[ph], strerror(e));
		count(ph, K_WRONG);
	}
	if (j->fence_fd >= 0)
		close(j->fence_fd);
	w->head = (w->head + 1) % INFLIGHT;
	w->nq--;
}

static void drain(struct worker *w)
{
	while (w->nq)
		resolve(w);
}

static void worker_main(int dev, int id)
{
	struct worker w = { .dev = dev, .id = id, .fd = -1 };
	uint64_t last_open_fail = 0;

	w.rng = 0x9e3779b97f4a7c15ull * (uint64_t)(dev * 64 + id + 1);
	while (!atomic_load(&sh->stop)) {
		struct cim_submit sb;
		struct wjob *j;
		uint32_t size, cmdoff;
		int e, ph;

		if (w.fd < 0) {
			if (w_open(&w)) {
				if (!last_open_fail)
					last_open_fail = now_ns();
				usleep(50000);
				continue;
			}
			last_open_fail = 0;
			atomic_fetch_add(&sh->reopen[atomic_load(&sh->phase)], 1);
		}
		if (w.nq == INFLIGHT)
			resolve(&w);
		j = &w.q[(w.head + w.nq) % INFLIGHT];
		j->slot = (w.head + w.nq) % INFLIGHT;
		j->duu = (w.counter++ & 1);
		j->token = (uint64_t)getpid() << 32 | (w.counter & 0xffffffff);
		cmdoff = j->slot * 1024;
		size = build_job(&w, j, cmdoff);
		ph = atomic_load(&sh->phase);
		sb = (struct cim_submit){
			.bo_handles_ptr = (uintptr_t)&w.data_h,
			.bo_count = 1,
			.cmdbuf_handle = w.cmd_h,
			.cmdbuf_offset = cmdoff,
			.cmdbuf_size = size,
			.flags = CIM_SUBMIT_FENCE_OUT,
		};
		e = ioctl(w.fd, CIM_IOCTL_SUBMIT, &sb) ? errno : 0;
		if (e) {
			atomic_fetch_add(&sh->refused[ph], 1);
			atomic_fetch_add(&sh->refused_errno[ph]
					 [e == ENODEV ? 0 : e == EBADFD ? 1 :
					  e == EINTR ? 2 : 3], 1);
			if (e != ENODEV && e != EBADFD && e != EINTR)
				note("phase %s: SUBMIT gave %s", phase_name[ph],
				     strerror(e));
			if (e == ENODEV || e == EBADFD) {
				/* gone, or this file is guilty: a new file */
				drain(&w);
				w_close(&w);
			}
			continue;
		}
		j->seqno = sb.seqno;
		j->fence_fd = sb.fence_fd;
		j->phase = ph;
		j->t0 = now_ns();
		count(ph, K_SUBMITTED);
		w.nq++;
	}
	drain(&w);
	w_close(&w);
	_exit(0);
}

/* The parent: faults ---------------------------------------------------------- */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void act(int ph, int ret)
{
	atomic_fetch_add(&sh->actions[ph], 1);
	if (ret) {
		atomic_fetch_add(&sh->action_errors[ph], 1);
		atomic_store(&sh->action_errno[ph], ret < 0 ? -ret : ret);
	}
}

struct cargs {
	int which;	/* 0 driver reset, 1 PCI reset, 2 force_recovery */
	atomic_int *go;
};

static void *concurrent_reset(void *arg)
{
	struct cargs *a = arg;
	char path[256];
	int d, idx, ret = 0;

	for (d = 0; d < npdevs; d++) {
		idx = misc_index(pdevs[d].bdf);
		switch (a->which) {
		case 0:
			ret = idx < 0 ? -ENODEV : attr_write(idx, "reset", "1");
			break;
		case 1:
			snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/reset",
				 pdevs[d].bdf);
			ret = write_str(path, "1");
			break;
		default:
			ret = idx < 0 ? -ENODEV : debugfs_write(idx, "force_recovery", "1");
			break;
		}
		act(PH_CONCURRENT, ret);
	}
	return NULL;
}

/*
 * A line for the host, which watches the serial console: straight to the
 * console, since /init's sed prefixes and buffers the test's output
 */
static void marker(const char *what, const char *bdf)
{
	char line[128];
	int fd;

	snprintf(line, sizeof(line), "%s %s\n", what, bdf);
	printf("%s", line);
	fflush(stdout);
	fd = open("/dev/ttyS0", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, line, strlen(line)) < 0)
			printf("# console: %s\n", strerror(errno));
		close(fd);
	}
}

static int wait_for(const char *path, int present, int ms)
{
	struct stat stt;
	uint64_t end = now_ns() + (uint64_t)ms * 1000000;

	do {
		if ((stat(path, &stt) == 0) == present)
			return 0;
		sleep_ms(50);
	} while (now_ns() < end);
	return -ETIMEDOUT;
}

/* Submit @size bytes at @off of the command BO and wait; returns -errno or status */
static long run_cmds(int fd, uint32_t cmd_h, uint32_t data_h, uint32_t off,
		     uint32_t size, double *secs, struct cim_wait *wt)
{
	struct cim_submit sb = {
		.bo_handles_ptr = (uintptr_t)&data_h,
		.bo_count = 1,
		.cmdbuf_handle = cmd_h,
		.cmdbuf_offset = off,
		.cmdbuf_size = size,
	};
	uint64_t t0 = now_ns();
	int e;

	if (ioctl(fd, CIM_IOCTL_SUBMIT, &sb))
		return -errno;
	memset(wt, 0, sizeof(*wt));
	wt->seqno = sb.seqno;
	wt->timeout_ns = now_ns() + LOST_MS * 1000000ull;
	do
		e = ioctl(fd, CIM_IOCTL_WAIT, wt) ? errno : 0;
	while (e == EINTR);
	*secs = (now_ns() - t0) / 1e9;
	return e ? -e : (long)wt->status;
}

/*
 * The long job: on the first device, a crossbar no worker holds, VMMs of
 * the whole crossbar with max_batch vectors, as many as take about 5 s
 * (timed with 16 first). Returns its WAIT status, or -errno.
 */
#define LONG_MAX_PKTS	1300

static long long_job(void)
{
	struct cim_device_info info;
	struct cim_query q = {
		.data_ptr = (uintptr_t)&info,
		.query = CIM_QUERY_DEVICE_INFO,
		.size = sizeof(info),
	};
	const uint32_t cmd_size = 16 * PAGE;
	struct cim_bo_create c1 = { .size = cmd_size }, c2 = { 0 };
	int idx = misc_index(pdevs[0].bdf), fd, i, n;
	uint32_t nin, bytes, batch, wbytes, vo;
	struct cim_wait wt;
	uint8_t *cmd, *data;
	double t, t16;
	char path[32];
	long ret;

	if (idx < 0)
		return -ENODEV;
	snprintf(path, sizeof(path), "/dev/cim%d", idx);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, CIM_IOCTL_QUERY, &q)) {
		ret = -errno;
		goto out;
	}
	nin = info.xbar_rows > info.xbar_cols ? info.xbar_rows : info.xbar_cols;
	batch = info.max_batch;
	wbytes = info.xbar_rows * info.xbar_cols * 4;
	/* x and y of batch vectors and the weights, within one buffer */
	while (batch > 1 && 2ull * batch * nin * 4 + wbytes > info.max_bo_size)
		batch /= 2;
	bytes = batch * nin * 4;
	c2.size = 2ull * bytes + wbytes;
	{
		struct cim_reserve r = { .mask = 1ull << (info.xbar_count - 1) };

		if (ioctl(fd, CIM_IOCTL_BO_CREATE, &c1) ||
		    ioctl(fd, CIM_IOCTL_BO_CREATE, &c2) ||
		    ioctl(fd, CIM_IOCTL_XBAR_RESERVE, &r)) {
			ret = -errno;
			goto out;
		}
	}
	cmd = mmap(NULL, cmd_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   c1.mmap_offset);
	if (cmd == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	/* Inputs and weights that are not zero: no fast path in the model */
	data = mmap(NULL, c2.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    c2.mmap_offset);
	if (data == MAP_FAILED) {
		ret = -errno;
		goto out_unmap;
	}
	for (i = 0; i < (int)(bytes / 4); i++)
		((float *)data)[i] = (i % 7) / 7.0f - 0.4f;
	for (i = 0; i < (int)(wbytes / 4); i++)
		((float *)(data + 2 * bytes))[i] = (i % 5) / 5.0f - 0.4f;
	munmap(data, c2.size);
	{
		struct cim_pkt_xbar_program *k = (void *)cmd;

		memset(k, 0, sizeof(*k));
		k->hdr.opcode = CIM_OP_XBAR_PROGRAM;
		k->hdr.size = sizeof(*k);
		k->win.xbar = info.xbar_count - 1;
		k->win.nrows = info.xbar_rows;
		k->win.ncols = info.xbar_cols;
		k->max_iters = 4;
		k->tolerance_f32 = f32(0.5f);
		k->src = CIM_REF(0, 2 * bytes);
	}
	vo = sizeof(struct cim_pkt_xbar_program);
	for (i = 0; i < LONG_MAX_PKTS; i++) {
		struct cim_pkt_vmm *k = (void *)(cmd + vo + i * sizeof(*k));

		memset(k, 0, sizeof(*k));
		k->hdr.opcode = CIM_OP_VMM_FWD;
		k->hdr.size = sizeof(*k);
		k->win.xbar = info.xbar_count - 1;
		k->win.nrows = info.xbar_rows;
		k->win.ncols = info.xbar_cols;
		k->batch = batch;
		k->x = CIM_REF(0, 0);
		k->y = CIM_REF(0, bytes);
	}
	/* Program, then time 16 VMMs */
	ret = run_cmds(fd, c1.handle, c2.handle, 0, vo, &t, &wt);
	if (!ret)
		ret = run_cmds(fd, c1.handle, c2.handle, vo,
			       16 * sizeof(struct cim_pkt_vmm), &t, &wt);
	if (ret) {
		printf("# long job: the timing jobs gave %ld\n", ret);
		goto out_unmap;
	}
	t16 = t;
	n = t > 0 ? (int)(5.0 / (t / 16)) : LONG_MAX_PKTS;
	n = n < 16 ? 16 : n > LONG_MAX_PKTS ? LONG_MAX_PKTS : n;
	ret = run_cmds(fd, c1.handle, c2.handle, vo,
		       n * sizeof(struct cim_pkt_vmm), &t, &wt);
	printf("# long job: %d VMMs of %ux%u x %u vectors (16 took %.2f s): %s %ld, %u packets done, %.2f s\n",
	       n, info.xbar_rows, info.xbar_cols, batch, t16,
	       ret < 0 ? "WAIT" : "status", ret, wt.cmds_done, t);
out_unmap:
	munmap(cmd, cmd_size);
out:
	close(fd);
	return ret;
}

static void run_phase(int ph)
{
	uint64_t end = now_ns() + (uint64_t)(opt_time * 1e9);
	char path[256];
	int d, idx, tick = 0;

	atomic_store(&sh->phase, ph);
	printf("# phase %s: %s\n", phase_name[ph], phase_what[ph]);
	fflush(stdout);
	/*
	 * A fault hits the next job the device starts: first let the jobs of
	 * the previous phase end, so that each is counted where it belongs
	 */
	if (ph != PH_BASELINE)
		sleep_ms(1000);
	if (ph == PH_LONG) {
		long before[MAX_DEVS], st, lost0;
		int k;

		for (d = 0; d < npdevs; d++)
			before[d] = attr_long(misc_index(pdevs[d].bdf), "reset_count");
		lost0 = atomic_load(&sh->d[ph][D_CANCELED]);
		for (k = 0; k < 2 && now_ns() < end; k++) {
			st = long_job();
			/* EPROTO: it ended otherwise than aborted */
			act(ph, st == CIM_JOB_TIMEDOUT ? 0 : st < 0 ? (int)st : -EPROTO);
			if (st < 0)
				continue;	/* not submitted */
			count(ph, K_SUBMITTED);
			if (st == CIM_JOB_TIMEDOUT) {
				docerr(ph, D_TIMEDOUT);
			} else {
				/* ran to its end: too short to tell */
				note("long job ended with %ld, not CIM_JOB_TIMEDOUT", st);
				count(ph, st == CIM_ST_OK ? K_CORRECT : K_WRONG);
			}
		}
		sleep_ms(1500);
		for (d = 0; d < npdevs; d++) {
			long now = attr_long(misc_index(pdevs[d].bdf), "reset_count");

			if (now != before[d]) {
				note("long job: %s reset (%ld -> %ld)", pdevs[d].bdf,
				     before[d], now);
				atomic_fetch_add(&sh->long_bad, 1);
			}
		}
		if (atomic_load(&sh->d[ph][D_CANCELED]) != lost0)
			atomic_fetch_add(&sh->long_bad, 1);
		return;
	}
	if (ph == PH_UNPLUG) {
		void *hold_map = NULL;
		int u = -1, hold_fd = -1;
		uint64_t t0;

		for (d = 0; d < npdevs; d++)
			if (pdevs[d].unplug)
				u = d;
		if (u < 0) {
			printf("# no device behind a root port\n");
			return;
		}
		sleep_ms((long)(opt_time * 300));
		/*
		 * A file with a mapped buffer, held across the removal and
		 * let go only once the device is gone: its last close is the
		 * driver's last reference
		 */
		{
			char dev[32];
			struct cim_bo_create c = { .size = PAGE };
			int idx = misc_index(pdevs[u].bdf);

			snprintf(dev, sizeof(dev), "/dev/cim%d", idx);
			hold_fd = idx < 0 ? -1 : open(dev, O_RDWR | O_CLOEXEC);
			if (hold_fd >= 0 && !ioctl(hold_fd, CIM_IOCTL_BO_CREATE, &c)) {
				hold_map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
						MAP_SHARED, hold_fd, c.mmap_offset);
				if (hold_map == MAP_FAILED)
					hold_map = NULL;
			}
		}
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", pdevs[u].bdf);
		/*
		 * The bus's link goes before the device's own directory (the
		 * driver's remove runs in between): wait for the directory
		 */
		{
			char *real = realpath(path, NULL);

			if (real) {
				snprintf(path, sizeof(path), "%s", real);
				free(real);
			}
		}
		/* the host watches the console for this line */
		marker("@@CIM-UNPLUG@@", pdevs[u].bdf);
		t0 = now_ns();
		act(ph, wait_for(path, 0, 60000));
		atomic_store(&sh->unplugged, access(path, F_OK) != 0);
		printf("# %s %s after %.1f s\n", pdevs[u].bdf,
		       access(path, F_OK) ? "removed" : "still present",
		       (now_ns() - t0) / 1e9);
		fflush(stdout);
		/* what the kernel said about the slot, when it stayed */
		if (hold_map) {
			/* the memory of a removed device's buffer is still there */
			((volatile uint8_t *)hold_map)[0] = 1;
			munmap(hold_map, PAGE);
		}
		if (hold_fd >= 0)
			close(hold_fd);
		printf("# closed a file of the removed device\n");
		if (!access(path, F_OK) && system("dmesg | grep -iE 'pciehp|acpiphp|hotplug|01:00|pcieport' | tail -n 12 | sed 's/^/# /'"))
			printf("# no dmesg\n");
		sleep_ms((long)(opt_time * 300));
		marker("@@CIM-REPLUG@@", pdevs[u].bdf);
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/misc", pdevs[u].bdf);
		t0 = now_ns();
		act(ph, wait_for(path, 1, 60000));
		printf("# %s %s after %.1f s\n", pdevs[u].bdf,
		       access(path, F_OK) ? "not back" : "back, cim.ko bound",
		       (now_ns() - t0) / 1e9);
		sleep_ms((long)(opt_time * 400));
		return;
	}
	while (now_ns() < end) {
		for (d = 0; d < npdevs; d++) {
			idx = misc_index(pdevs[d].bdf);
			switch (ph) {
			case PH_DMA:
				if (idx >= 0)
					act(ph, debugfs_write(idx, "fault", "2"));
				break;
			case PH_ERROR:
				if (idx >= 0)
					act(ph, debugfs_write(idx, "fault", "4"));
				break;
			case PH_HANG:
				if (idx >= 0 && tick % 8 == 0)
					act(ph, debugfs_write(idx, "fault", "1"));
				break;
			case PH_PCI_RESET:
				if (tick % 3 == d) {
					snprintf(path, sizeof(path),
						 "/sys/bus/pci/devices/%s/reset",
						 pdevs[d].bdf);
					act(ph, write_str(path, "1"));
				}
				break;
			case PH_DRV_RESET:
				if (idx >= 0 && tick % 3 == d)
					act(ph, attr_write(idx, "reset", "1"));
				break;
			case PH_UNBIND:
				if (tick % 10 == 3 * d) {
					act(ph, write_str("/sys/bus/pci/drivers/cim/unbind",
							  pdevs[d].bdf));
					sleep_ms(500);
					act(ph, write_str("/sys/bus/pci/drivers/cim/bind",
							  pdevs[d].bdf));
					idx = misc_index(pdevs[d].bdf);
					if (idx >= 0)
						attr_write(idx, "job_timeout_ms",
							   TIMEOUT_MS);
				}
				break;
			default:
				break;
			}
		}
		if (ph == PH_CONCURRENT && tick % 3 == 0) {
			pthread_t t[3];
			struct cargs a[3];
			int i;

			for (i = 0; i < 3; i++) {
				a[i].which = i;
				pthread_create(&t[i], NULL, concurrent_reset, &a[i]);
			}
			for (i = 0; i < 3; i++)
				pthread_join(t[i], NULL);
		}
		tick++;
		sleep_ms(300);
	}
	/* let the phase's faults take effect before the next one */
	sleep_ms(1500);
}

static int kernel_reports(void)
{
	FILE *p = popen("dmesg 2>/dev/null | grep -c -E 'WARNING:|BUG:|Oops|Call Trace|UBSAN|KASAN'", "r");
	int n = -1;

	if (!p)
		return -1;
	if (fscanf(p, "%d", &n) != 1)
		n = -1;
	pclose(p);
	return n;
}

static int nop_works(int idx)
{
	char path[32];
	struct cim_bo_create c = { .size = PAGE };
	struct cim_submit sb = { 0 };
	struct cim_wait w = { 0 };
	int fd, ok = 0;
	void *p;

	snprintf(path, sizeof(path), "/dev/cim%d", idx);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (!ioctl(fd, CIM_IOCTL_BO_CREATE, &c)) {
		p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 c.mmap_offset);
		if (p != MAP_FAILED) {
			((struct cim_pkt_hdr *)p)->opcode = CIM_OP_NOP;
			((struct cim_pkt_hdr *)p)->size = 8;
			sb.cmdbuf_handle = c.handle;
			sb.cmdbuf_size = 8;
			if (!ioctl(fd, CIM_IOCTL_SUBMIT, &sb)) {
				w.seqno = sb.seqno;
				w.timeout_ns = now_ns() + 10000000000ull;
				ok = !ioctl(fd, CIM_IOCTL_WAIT, &w) &&
				     w.status == CIM_ST_OK;
			}
			munmap(p, PAGE);
		}
	}
	close(fd);
	return ok;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "phase-time", required_argument, NULL, 't' },
		{ "procs", required_argument, NULL, 'p' },
		{ "phases", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	const char *phases = getenv("CIM_FAULTS_PHASES");
	pid_t pids[MAX_DEVS * MAX_PROCS];
	int npids = 0, c, d, i, ph, ntap = 0, bad = 0, reports, unbound = 0;
	long resets0[MAX_DEVS], tot[K_COUNT] = { 0 };
	char *env;

	if ((env = getenv("CIM_FAULTS_TIME")) && *env)
		opt_time = strtod(env, NULL);
	if ((env = getenv("CIM_FAULTS_PROCS")) && *env)
		opt_procs = atoi(env);
	opt_unplug = (env = getenv("CIM_UNPLUG")) && !strcmp(env, "1");
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 't': opt_time = strtod(optarg, NULL); break;
		case 'p': opt_procs = atoi(optarg); break;
		case 'P': phases = optarg; break;
		default:
			fprintf(stderr, "usage: %s [--phase-time S] [--procs N] [--phases a,b]\n",
				argv[0]);
			return 2;
		}
	}
	if (opt_procs < 1 || opt_procs > MAX_PROCS)
		opt_procs = 2;
	for (ph = 0; ph < PH_COUNT; ph++) {
		char buf[256], *tok, *save;

		if (!phases || !*phases) {
			phase_on[ph] = ph != PH_UNPLUG || opt_unplug;
			continue;
		}
		snprintf(buf, sizeof(buf), "%s", phases);
		for (tok = strtok_r(buf, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save))
			if (!strcmp(tok, phase_name[ph]))
				phase_on[ph] = 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	memset(sh, 0, sizeof(*sh));
	find_devices();
	printf("TAP version 13\n");
	for (ph = 0, i = 0; ph < PH_COUNT; ph++)
		i += phase_on[ph];
	printf("1..%d\n", i + 3);
	if (!npdevs) {
		for (c = 1; c <= i + 3; c++)
			printf("ok %d # SKIP no cim device\n", c);
		return 4;
	}
	for (d = 0; d < npdevs; d++) {
		int idx = misc_index(pdevs[d].bdf);
		long caps = 0;

		resets0[d] = attr_long(idx, "reset_count");
		attr_write(idx, "job_timeout_ms", TIMEOUT_MS);
		{
			char path[128];

			snprintf(path, sizeof(path), "/sys/kernel/debug/cim/%d/fault", idx);
			caps = access(path, W_OK) == 0;
		}
		printf("# %s: cim%d%s%s\n", pdevs[d].bdf, idx,
		       caps ? ", debugfs fault" : "",
		       pdevs[d].unplug ? ", behind a root port" : "");
	}
	printf("# %d workers per device, %g s per phase, %d jobs in flight each\n",
	       opt_procs, opt_time, INFLIGHT);
	fflush(stdout);
	signal(SIGPIPE, SIG_IGN);

	for (d = 0; d < npdevs; d++)
		for (i = 0; i < opt_procs; i++) {
			pid_t pid = fork();

			if (!pid)
				worker_main(d, i);
			if (pid > 0)
				pids[npids++] = pid;
		}
	for (ph = 0; ph < PH_COUNT; ph++)
		if (phase_on[ph])
			run_phase(ph);
	atomic_store(&sh->stop, 1);
	for (i = 0; i < npids; i++) {
		int status;

		waitpid(pids[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			printf("# worker %d ended with status %#x\n", pids[i], status);
			bad = 1;
		}
	}

	/* The matrix */
	printf("# %-11s %9s %8s %9s %5s %6s  %s\n", "phase", "submitted",
	       "correct", "docerror", "lost", "wrong", "documented errors; reopens; refused submits; actions");
	for (ph = 0; ph < PH_COUNT; ph++) {
		char det[512] = "";
		size_t o = 0;
		int k;

		if (!phase_on[ph])
			continue;
		for (k = 0; k < D_COUNT; k++)
			if (atomic_load(&sh->d[ph][k]))
				o += snprintf(det + o, sizeof(det) - o, "%s%s %ld",
					      o ? ", " : "", dkind_name[k],
					      atomic_load(&sh->d[ph][k]));
		o += snprintf(det + o, sizeof(det) - o,
			      "%s%ld reopens; %ld refused (ENODEV %ld, EBADFD %ld, EINTR %ld, other %ld); %ld actions, %ld failed%s%s",
			      o ? "; " : "", atomic_load(&sh->reopen[ph]),
			      atomic_load(&sh->refused[ph]),
			      atomic_load(&sh->refused_errno[ph][0]),
			      atomic_load(&sh->refused_errno[ph][1]),
			      atomic_load(&sh->refused_errno[ph][2]),
			      atomic_load(&sh->refused_errno[ph][3]),
			      atomic_load(&sh->actions[ph]),
			      atomic_load(&sh->action_errors[ph]),
			      atomic_load(&sh->action_errors[ph]) ? ", the last with " : "",
			      atomic_load(&sh->action_errors[ph]) ?
			      strerrorname_np(atomic_load(&sh->action_errno[ph])) : "");
		printf("# %-11s %9ld %8ld %9ld %5ld %6ld  %s\n", phase_name[ph],
		       atomic_load(&sh->n[ph][K_SUBMITTED]),
		       atomic_load(&sh->n[ph][K_CORRECT]),
		       atomic_load(&sh->n[ph][K_DOCERR]),
		       atomic_load(&sh->n[ph][K_LOST]),
		       atomic_load(&sh->n[ph][K_WRONG]), det);
		printf("@@MATRIX@@|%s|%s|%ld|%ld|%ld|%ld|%ld|%s\n", phase_name[ph],
		       phase_what[ph], atomic_load(&sh->n[ph][K_SUBMITTED]),
		       atomic_load(&sh->n[ph][K_CORRECT]),
		       atomic_load(&sh->n[ph][K_DOCERR]),
		       atomic_load(&sh->n[ph][K_LOST]),
		       atomic_load(&sh->n[ph][K_WRONG]), det);
		for (k = 0; k < K_COUNT; k++)
			tot[k] += atomic_load(&sh->n[ph][k]);
	}
	for (ph = 0; ph < PH_COUNT; ph++) {
		long lost, wrong, sub, ok, de;
		int pass;

		if (!phase_on[ph])
			continue;
		sub = atomic_load(&sh->n[ph][K_SUBMITTED]);
		ok = atomic_load(&sh->n[ph][K_CORRECT]);
		de = atomic_load(&sh->n[ph][K_DOCERR]);
		lost = atomic_load(&sh->n[ph][K_LOST]);
		wrong = atomic_load(&sh->n[ph][K_WRONG]);
		/* every job accounted for, none lost or wrong, some work done */
		pass = !lost && !wrong && sub == ok + de && ok > 0 &&
		       (ph != PH_BASELINE || !de) &&
		       (ph != PH_LONG || (!atomic_load(&sh->long_bad) &&
					  !atomic_load(&sh->action_errors[ph])));
		printf("%s %d phase %s: %ld submitted, %ld correct, %ld documented errors, %ld lost, %ld wrong%s\n",
		       pass ? "ok" : "not ok", ++ntap, phase_name[ph], sub, ok,
		       de, lost, wrong,
		       ph == PH_UNPLUG && !atomic_load(&sh->unplugged) ?
		       " # SKIP the device was not removed (PCI hotplug in the guest kernel?)" : "");
		bad |= !pass;
	}

	/* Afterwards every device is operational and runs a job */
	for (d = 0; d < npdevs; d++) {
		int idx = -1;
		char st[32] = "", path[128];

		for (i = 0; i < 100 && (idx = misc_index(pdevs[d].bdf)) < 0; i++)
			sleep_ms(100);
		if (idx < 0) {
			printf("# %s: no cimN (unbound or removed)\n", pdevs[d].bdf);
			unbound++;
			continue;
		}
		snprintf(path, sizeof(path), "/sys/class/misc/cim%d/device_state", idx);
		read_str(path, st, sizeof(st));
		printf("# %s: cim%d %s, reset_count %ld (+%ld), jobs in flight %ld\n",
		       pdevs[d].bdf, idx, st, attr_long(idx, "reset_count"),
		       attr_long(idx, "reset_count") - resets0[d],
		       attr_long(idx, "jobs_in_flight"));
		if (strcmp(st, "operational") || !nop_works(idx)) {
			printf("# %s: not operational\n", pdevs[d].bdf);
			unbound++;
		}
		attr_write(idx, "job_timeout_ms", "5000");
	}
	printf("%s %d every device operational afterwards\n",
	       unbound ? "not ok" : "ok", ++ntap);
	bad |= !!unbound;

	reports = kernel_reports();
	printf("# kernel reports (WARNING/BUG/Oops/Call Trace lines): %d\n", reports);
	printf("@@MATRIX@@|total|all phases|%ld|%ld|%ld|%ld|%ld|kernel reports %d; kmemleak %s\n",
	       tot[K_SUBMITTED], tot[K_CORRECT], tot[K_DOCERR], tot[K_LOST],
	       tot[K_WRONG], reports,
	       access("/sys/kernel/debug/kmemleak", F_OK) ? "not available (CONFIG_DEBUG_KMEMLEAK off)" : "present");
	printf("%s %d kernel log has no warning\n", reports ? "not ok" : "ok",
	       ++ntap);
	bad |= reports != 0;
	printf("%s %d %ld jobs: %ld correct, %ld documented errors, %ld lost, %ld wrong\n",
	       !tot[K_LOST] && !tot[K_WRONG] ? "ok" : "not ok", ++ntap,
	       tot[K_SUBMITTED], tot[K_CORRECT], tot[K_DOCERR], tot[K_LOST],
	       tot[K_WRONG]);
	return bad ? 1 : 0;
}
