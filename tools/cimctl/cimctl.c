// SPDX-License-Identifier: MIT
/*
 * cimctl: look at and manage cim accelerators, in the manner of nvidia-smi.
 *
 *   cimctl [-d DEV]            a table of the devices and their statistics
 *   cimctl list                one line per device
 *   cimctl info [-d DEV]       geometry, capabilities, limits, versions
 *   cimctl counters [-d DEV]   the device counters, once or --watch
 *   cimctl reset -d DEV        reset a device (root)
 *   cimctl characterize        device curves: pulses, levels, relaxation
 *
 * Kernel devices are listed and summarised from sysfs, so that needs no
 * access to /dev/cimN; info, counters and reset open the device through
 * libcim, which also gives "-d embedded" (the firmware model in process).
 * tools/cimctl/cimctl.1 is the manual.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cimctl.h"

#define CIMCTL_VERSION	"1.0.0"

/**
 * struct dev_stats - one row of the summary table
 * @desc: the device (for an embedded one: index -1, name "embedded")
 * @backend: enum cim_backend
 * @energy_fj: modelled energy of the jobs completed, femtojoules
 * @busy_ps: modelled device time of those jobs, picoseconds
 * @jobs: jobs completed
 * @resets: device resets
 * @have_stats: the four above are known
 */
struct dev_stats {
	struct cim_device_desc desc;
	enum cim_backend backend;
	uint64_t energy_fj;
	uint64_t busy_ps;
	uint64_t jobs;
	uint64_t resets;
	bool have_stats;
};

static const char *const unit_names[CIM_UNIT_COUNT] = {
	[CIM_UNIT_XBAR_ARRAY] = "xbar-array",
	[CIM_UNIT_DAC] = "dac",
	[CIM_UNIT_ADC] = "adc",
	[CIM_UNIT_PULSE] = "pulse",
	[CIM_UNIT_DUU] = "duu",
	[CIM_UNIT_AP_COMPARE] = "ap-compare",
	[CIM_UNIT_AP_WRITE] = "ap-write",
	[CIM_UNIT_AP_SHIFT] = "ap-shift",
	[CIM_UNIT_AP_IO] = "ap-io",
	[CIM_UNIT_AP_TAG] = "ap-tag",
};

static const char *const cost_names[CIM_COST_COUNT] = {
	[CIM_COST_DEFAULT] = "default",
	[CIM_COST_STT_TCAM] = "stt-tcam",
	[CIM_COST_DESTINY] = "destiny",
};

static const struct {
	uint32_t bit;
	const char *name;
} cap_names[] = {
	{ CIM_CAPS_XBAR, "xbar" },
	{ CIM_CAPS_DUU, "duu" },
	{ CIM_CAPS_AP, "ap" },
	{ CIM_CAPS_FAULT_INJECT, "fault-inject" },
	{ CIM_CAPS_ABORT, "abort" },
	{ CIM_CAPS_SCRUB, "scrub" },
	{ CIM_CAPS_ANALOG, "analog" },
};

void errmsg(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("cimctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Report a libcim error of @op on device @dev and return EXIT_ERR. The codes
 * a user can act on get an explanation of their own; the rest
 * cim_strerror().
 */
int dev_error(const char *dev, const char *op, int err)
{
	const char *why, *name = cim_err_name(err);
	char num[24];

	switch (err) {
	case -ENOENT:
		why = "no such device (see 'cimctl list'; is cim.ko loaded?)";
		break;
	case -EACCES:
	case -EPERM:
		/* cim_strerror()'s EACCES is about unit reservations */
		why = "permission denied (needs root or the group of the device node, see udev/70-cim.rules)";
		break;
	case -ENODEV:
		why = "device removed or failed (see its device_state in sysfs)";
		break;
	default:
		why = cim_strerror(err);
		break;
	}
	if (!strcmp(name, "UNKNOWN")) {
		/* a code libcim passed through from the system: EISDIR */
		why = strerror(-err);
		snprintf(num, sizeof(num), "errno %d", -err);
		name = num;
	}
	errmsg("%s: %s%s%s [%s]", dev ? dev : "default device", op ? op : "",
	      op ? ": " : "", why, name);
	return EXIT_ERR;
}

/* Energy in femtojoules as "12.345 nJ", scaled to a readable unit */
static char *fmt_energy(char *buf, size_t len, uint64_t fj)
{
	static const char *const units[] = { "fJ", "pJ", "nJ", "uJ", "mJ", "J" };
	double v = (double)fj;
	unsigned int u = 0;

	while (v >= 1000.0 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1000.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " fJ", fj);
	else
		snprintf(buf, len, "%.3f %s", v, units[u]);
	return buf;
}

/* Time in picoseconds as "1.234 ms" */
static char *fmt_time(char *buf, size_t len, uint64_t ps)
{
	static const char *const units[] = { "ps", "ns", "us", "ms", "s" };
	double v = (double)ps;
	unsigned int u = 0;

	while (v >= 1000.0 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1000.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " ps", ps);
	else
		snprintf(buf, len, "%.3f %s", v, units[u]);
	return buf;
}

static const char *backend_name(enum cim_backend b)
{
	return b == CIM_BACKEND_KERNEL ? "kernel" :
	       b == CIM_BACKEND_EMBEDDED ? "embedded" : "unknown";
}

static const char *cost_name(uint32_t preset)
{
	return preset < CIM_COST_COUNT ? cost_names[preset] : "unknown";
}

/* JSON ------------------------------------------------------------------- */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* "key": "value" and "key": number, each preceded by @sep */
static void json_kv_str(const char *sep, const char *key, const char *val)
{
	printf("%s\"%s\": ", sep, key);
	json_str(val);
}

static void json_kv_u64(const char *sep, const char *key, uint64_t val)
{
	printf("%s\"%s\": %" PRIu64, sep, key, val);
}

/* sysfs ------------------------------------------------------------------ */

/* Read the number in /sys/class/misc/@name/@attr */
static int sysfs_u64(const char *name, const char *attr, uint64_t *val)
{
	char path[256];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "/sys/class/misc/%s/%s", name, attr);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	ret = fscanf(f, "%" SCNu64, val) == 1 ? 0 : -EINVAL;
	fclose(f);
	return ret;
}

static void kernel_stats(struct dev_stats *st)
{
	const char *name = st->desc.name;
	uint64_t busy_us = 0;

	st->have_stats = !sysfs_u64(name, "energy_fj", &st->energy_fj) &&
			 !sysfs_u64(name, "busy_time_us", &busy_us) &&
			 !sysfs_u64(name, "jobs_completed", &st->jobs) &&
			 !sysfs_u64(name, "reset_count", &st->resets);
	st->busy_ps = busy_us * 1000000;
}

/* Devices ---------------------------------------------------------------- */

static bool is_embedded_name(const char *name)
{
	return !strcmp(name, "embedded") || !strncmp(name, "embedded:", 9);
}

/* The kernel device @name ("cim0", "/dev/cim0") of @list, or NULL */
static const struct cim_device_desc *
find_desc(const struct cim_device_desc *list, int count, const char *name)
{
	int i;

	for (i = 0; i < count; i++)
		if (!strcmp(name, list[i].name) ||
		    !strcmp(name, list[i].devnode))
			return &list[i];
	return NULL;
}

/*
 * Open @name (NULL: libcim's default, $CIM_DEVICE or the first device) and
 * acknowledge a reset that happened before, which is not an error here.
 */
int open_device(const char *name, struct cim_device **dev)
{
	int ret;

	ret = cim_device_open(dev, name);
	if (ret)
		return dev_error(name, "open", ret);
	ret = cim_device_check(*dev);
	if (ret && ret != -ECANCELED) {
		dev_error(name, NULL, ret);
		cim_device_close(*dev);
		return EXIT_ERR;
	}
	return EXIT_OK;
}

/* The counters of @dev; a reset between two reads is acknowledged */
static int read_counters(struct cim_device *dev, struct cim_counters *c)
{
	int ret;

	ret = cim_device_counters(dev, c);
	if (ret == -ECANCELED) {
		ret = cim_device_check(dev);
		if (!ret || ret == -ECANCELED)
			ret = cim_device_counters(dev, c);
	}
	return ret;
}

/* An embedded device's row: its name, geometry and counters */
static int embedded_stats(const char *name, struct dev_stats *st)
{
	struct cim_info info = { .size = sizeof(info) };
	struct cim_counters c;
	struct cim_device *dev;
	int ret, i;

	ret = open_device(name, &dev);
	if (ret)
		return ret;
	memset(st, 0, sizeof(*st));
	cim_device_query(dev, &info);
	st->backend = CIM_BACKEND_EMBEDDED;
	st->desc.index = -1;
	snprintf(st->desc.name, sizeof(st->desc.name), "%.31s", info.name);
	snprintf(st->desc.devnode, sizeof(st->desc.devnode), "%s", name);
	snprintf(st->desc.api_version, sizeof(st->desc.api_version), "%u.%u",
		 info.api_major, info.api_minor);
	snprintf(st->desc.state, sizeof(st->desc.state), "operational");
	st->desc.xbar_count = info.xbar_count;
	st->desc.xbar_rows = info.xbar_rows;
	st->desc.xbar_cols = info.xbar_cols;
	st->desc.ap_count = info.ap_count;
	st->desc.ap_rows = info.ap_rows;
	st->desc.ap_cols = info.ap_cols;
	ret = read_counters(dev, &c);
	if (!ret) {
		for (i = 0; i < CIM_UNIT_COUNT; i++)
			st->energy_fj += c.energy_fj[i];
		st->busy_ps = c.device_time_ps;
		/* our own COUNTERS_READ job is not yet among the counted */
		st->jobs = c.jobs;
		st->have_stats = true;
	}
	cim_device_close(dev);
	return ret ? dev_error(name, "counters", ret) : EXIT_OK;
}

/*
 * The rows of the summary: every kernel device, or only @name (which may
 * be an embedded device). *@rows is malloc'ed.
 */
static int collect(const char *name, struct dev_stats **rows, int *nrows)
{
	const struct cim_device_desc *d;
	struct cim_device_desc *list;
	int count, ret, i;

	*rows = NULL;
	*nrows = 0;
	if (name && is_embedded_name(name)) {
		*rows = calloc(1, sizeof(**rows));
		if (!*rows)
			return dev_error(name, NULL, -ENOMEM);
		ret = embedded_stats(name, *rows);
		if (ret) {
			free(*rows);
			*rows = NULL;
			return ret;
		}
		*nrows = 1;
		return EXIT_OK;
	}
	ret = cim_device_list(&list, &count);
	if (ret) {
		errmsg("listing devices: %s [%s]", cim_strerror(ret),
		      cim_err_name(ret));
		return EXIT_ERR;
	}
	if (name) {
		d = find_desc(list, count, name);
		if (!d) {
			cim_device_list_free(list, count);
			return dev_error(name, NULL, -ENOENT);
		}
	}
	*rows = calloc(count ? count : 1, sizeof(**rows));
	if (!*rows) {
		cim_device_list_free(list, count);
		return dev_error(name, NULL, -ENOMEM);
	}
	for (i = 0; i < count; i++) {
		if (name && d != &list[i])
			continue;
		(*rows)[*nrows].desc = list[i];
		(*rows)[*nrows].backend = CIM_BACKEND_KERNEL;
		kernel_stats(&(*rows)[*nrows]);
		(*nrows)++;
	}
	cim_device_list_free(list, count);
	return EXIT_OK;
}

/* Commands --------------------------------------------------------------- */

static void json_desc(const struct dev_stats *st)
{
	const struct cim_device_desc *d = &st->desc;
	char pci_id[16] = "";

	if (d->vendor || d->device)
		snprintf(pci_id, sizeof(pci_id), "%04x:%04x", d->vendor,
			 d->device);
	printf("{");
	printf("\"index\": %d", d->index);
	json_kv_str(", ", "name", d->name);
	json_kv_str(", ", "node", d->devnode);
	json_kv_str(", ", "pci_slot", d->pci_slot);
	json_kv_str(", ", "pci_id", pci_id);
	json_kv_str(", ", "backend", backend_name(st->backend));
	json_kv_str(", ", "state", d->state);
	json_kv_str(", ", "api_version", d->api_version);
	printf(", \"crossbars\": {\"count\": %u, \"rows\": %u, \"cols\": %u}",
	       d->xbar_count, d->xbar_rows, d->xbar_cols);
	printf(", \"aps\": {\"count\": %u, \"rows\": %u, \"cols\": %u}",
	       d->ap_count, d->ap_rows, d->ap_cols);
}

static int cmd_list(const struct opts *o)
{
	struct dev_stats *rows;
	int nrows, ret, i;

	ret = collect(o->device, &rows, &nrows);
	if (ret)
		return ret;
	if (o->json) {
		printf("[");
		for (i = 0; i < nrows; i++) {
			printf(i ? ",\n " : "");
			json_desc(&rows[i]);
			printf("}");
		}
		printf("]\n");
	} else if (!nrows) {
		printf("No cim devices found.\n");
	}
	for (i = 0; !o->json && i < nrows; i++) {
		const struct cim_device_desc *d = &rows[i].desc;

		printf("%s: %s", d->name, d->devnode);
		if (d->pci_slot[0])
			printf(" (PCI %s [%04x:%04x])", d->pci_slot,
			       d->vendor, d->device);
		printf(", %s, %s, %u crossbars %ux%u, %u APs %ux%u\n",
		       backend_name(rows[i].backend), d->state, d->xbar_count,
		       d->xbar_rows, d->xbar_cols, d->ap_count, d->ap_rows,
		       d->ap_cols);
	}
	free(rows);
	return EXIT_OK;
}

static int cmd_summary(const struct opts *o)
{
	char energy[32], busy[32];
	struct dev_stats *rows;
	int nrows, ret, i;

	ret = collect(o->device, &rows, &nrows);
	if (ret)
		return ret;
	if (o->json) {
		printf("{\"cimctl_version\": \"%s\", \"libcim_version\": \"%s\", \"devices\": [",
		       CIMCTL_VERSION, cim_version_string());
		for (i = 0; i < nrows; i++) {
			printf(i ? ",\n " : "");
			json_desc(&rows[i]);
			if (rows[i].have_stats) {
				json_kv_u64(", ", "energy_fj", rows[i].energy_fj);
				json_kv_u64(", ", "busy_ps", rows[i].busy_ps);
				json_kv_u64(", ", "jobs", rows[i].jobs);
				json_kv_u64(", ", "resets", rows[i].resets);
			}
			printf("}");
		}
		printf("]}\n");
		free(rows);
		return EXIT_OK;
	}
	printf("cimctl %s  libcim %s", CIMCTL_VERSION, cim_version_string());
	if (nrows && rows[0].desc.api_version[0])
		printf("  driver API %s", rows[0].desc.api_version);
	printf("\n");
	if (!nrows) {
		printf("No cim devices found (cimctl -d embedded shows the in-process model).\n");
		free(rows);
		return EXIT_OK;
	}
	printf("%-3s  %-10s  %-12s  %-8s  %-11s  %5s  %12s  %12s  %8s  %6s\n",
	       "IDX", "NODE", "PCI", "BACKEND", "STATE", "XBARS", "ENERGY",
	       "BUSY", "JOBS", "RESETS");
	for (i = 0; i < nrows; i++) {
		const struct dev_stats *st = &rows[i];
		const struct cim_device_desc *d = &st->desc;
		char idx[12] = "-";

		if (d->index >= 0)
			snprintf(idx, sizeof(idx), "%d", d->index);
		printf("%-3s  %-10s  %-12s  %-8s  %-11s  %5u  ", idx,
		       d->devnode, d->pci_slot[0] ? d->pci_slot : "-",
		       backend_name(st->backend), d->state, d->xbar_count);
		if (st->have_stats)
			printf("%12s  %12s  %8" PRIu64 "  %6" PRIu64 "\n",
			       fmt_energy(energy, sizeof(energy), st->energy_fj),
			       fmt_time(busy, sizeof(busy), st->busy_ps),
			       st->jobs, st->resets);
		else
			printf("%12s  %12s  %8s  %6s\n", "-", "-", "-", "-");
	}
	free(rows);
	return EXIT_OK;
}

static void caps_string(uint32_t caps, char *buf, size_t len)
{
	size_t n = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (caps & cap_names[i].bit)
			n += snprintf(buf + n, n < len ? len - n : 0, "%s%s",
				      n ? " " : "", cap_names[i].name);
	if (!n)
		snprintf(buf, len, "none");
}

static void info_json(const struct cim_info *in,
		      const struct cim_device_desc *d, const char *caps)
{
	printf("{");
	json_kv_str("", "name", in->name);
	json_kv_str(", ", "backend", backend_name(in->backend));
	if (d) {
		json_kv_str(", ", "pci_slot", d->pci_slot);
		json_kv_str(", ", "state", d->state);
	}
	printf(", \"api_version\": \"%u.%u\"", in->api_major, in->api_minor);
	printf(", \"hw_version\": \"%u.%u\"", in->hw_version >> 16,
	       in->hw_version & 0xffff);
	json_kv_str(", ", "libcim_version", cim_version_string());
	printf(", \"caps\": %u", in->hw_caps);
	json_kv_str(", ", "caps_names", caps);
	printf(", \"crossbars\": {\"count\": %u, \"rows\": %u, \"cols\": %u, \"levels\": %u, \"dac_bits\": %u, \"adc_bits\": %u}",
	       in->xbar_count, in->xbar_rows, in->xbar_cols, in->xbar_levels,
	       in->dac_bits, in->adc_bits);
	printf(", \"aps\": {\"count\": %u, \"rows\": %u, \"cols\": %u, \"domains\": %u, \"group_tracks\": %u}",
	       in->ap_count, in->ap_rows, in->ap_cols, in->ap_domains,
	       in->ap_group_tracks);
	json_kv_str(", ", "cost_preset", cost_name(in->cost_preset));
	json_kv_u64(", ", "seed", in->seed);
	json_kv_u64(", ", "job_timeout_ms", in->job_timeout_ms);
	json_kv_u64(", ", "max_batch", in->max_batch);
	json_kv_u64(", ", "max_cmdbuf", in->max_cmdbuf);
	json_kv_u64(", ", "max_buffers", in->max_buffers);
	json_kv_u64(", ", "max_buffer_size", in->max_buffer_size);
	printf("}\n");
}

static int cmd_info(const struct opts *o)
{
	struct cim_info in = { .size = sizeof(in) };
	const struct cim_device_desc *d = NULL;
	struct cim_device_desc *list = NULL;
	struct cim_device *dev;
	char caps[64];
	int count = 0, ret;

	ret = open_device(o->device, &dev);
	if (ret)
		return ret;
	ret = cim_device_query(dev, &in);
	cim_device_close(dev);
	if (ret)
		return dev_error(o->device, "query", ret);
	if (in.backend == CIM_BACKEND_KERNEL &&
	    !cim_device_list(&list, &count))
		d = find_desc(list, count, in.name);
	caps_string(in.hw_caps, caps, sizeof(caps));
	if (o->json) {
		info_json(&in, d, caps);
		goto out;
	}
	printf("Device:              %s\n", in.name);
	printf("Backend:             %s\n", backend_name(in.backend));
	if (d && d->pci_slot[0])
		printf("PCI:                 %s [%04x:%04x]\n", d->pci_slot,
		       d->vendor, d->device);
	if (d)
		printf("State:               %s\n", d->state);
	printf("Hardware version:    %u.%u\n", in.hw_version >> 16,
	       in.hw_version & 0xffff);
	printf("Driver ABI:          %u.%u\n", in.api_major, in.api_minor);
	printf("libcim:              %s\n", cim_version_string());
	printf("Capabilities:        %s (0x%x)\n", caps, in.hw_caps);
	printf("Crossbars:           %u, %u rows x %u cols\n", in.xbar_count,
	       in.xbar_rows, in.xbar_cols);
	printf("  Levels:            %u\n", in.xbar_levels);
	printf("  DAC/ADC bits:      %u / %u\n", in.dac_bits, in.adc_bits);
	printf("Associative procs:   %u, %u rows x %u cols x %u domains\n",
	       in.ap_count, in.ap_rows, in.ap_cols, in.ap_domains);
	printf("  Group tracks:      %u\n", in.ap_group_tracks);
	printf("Cost preset:         %s\n", cost_name(in.cost_preset));
	printf("Seed:                %" PRIu64 " (0x%" PRIx64 ")\n", in.seed,
	       in.seed);
	if (in.job_timeout_ms)
		printf("Job timeout:         %u ms\n", in.job_timeout_ms);
	else
		printf("Job timeout:         none\n");
	printf("Limits:              batch %u, command buffer %u bytes, %u buffers, buffer %" PRIu64 " bytes\n",
	       in.max_batch, in.max_cmdbuf, in.max_buffers,
	       in.max_buffer_size);
out:
	cim_device_list_free(list, count);
	return EXIT_OK;
}

/* The scalar counters, in the order of struct cim_counters */
#define CTR(field, label) { #field, label, offsetof(struct cim_counters, field) }
static const struct {
	const char *key;
	const char *label;
	size_t off;
} ctr_fields[] = {
	CTR(jobs, "Jobs"),
	CTR(vmm_fwd, "VMM forward"),
	CTR(vmm_trans, "VMM transposed"),
	CTR(dac_conversions, "DAC conversions"),
	CTR(adc_conversions, "ADC conversions"),
	CTR(adc_saturations, "ADC saturations"),
	CTR(pulses_pos, "DUU pulses up"),
	CTR(pulses_neg, "DUU pulses down"),
	CTR(duu_macs, "DUU MACs"),
	CTR(program_pulses, "Program pulses"),
	CTR(ap_compares, "AP compares"),
	CTR(ap_writes, "AP writes"),
	CTR(ap_bits_written, "AP bits written"),
	CTR(ap_shift_steps, "AP shift steps"),
	CTR(ap_io_bits, "AP I/O bits"),
};
#undef CTR

static uint64_t ctr_get(const struct cim_counters *c, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)c + off, sizeof(v));
	return v;
}

static void counters_json(const char *name, const struct cim_counters *c,
			  double t)
{
	unsigned int i;

	printf("{");
	json_kv_str("", "device", name);
	if (t >= 0)
		printf(", \"time\": %.3f", t);
	for (i = 0; i < ARRAY_SIZE(ctr_fields); i++)
		json_kv_u64(", ", ctr_fields[i].key,
			    ctr_get(c, ctr_fields[i].off));
	json_kv_u64(", ", "device_time_ps", c->device_time_ps);
	printf(", \"units\": {");
	for (i = 0; i < CIM_UNIT_COUNT; i++) {
		printf("%s\"%s\": {", i ? ", " : "", unit_names[i]);
		json_kv_u64("", "energy_fj", c->energy_fj[i]);
		json_kv_u64(", ", "busy_ps", c->busy_ps[i]);
		printf("}");
	}
	printf("}}\n");
}

static uint64_t total_energy(const struct cim_counters *c)
{
	uint64_t e = 0;
	int i;

	for (i = 0; i < CIM_UNIT_COUNT; i++)
		e += c->energy_fj[i];
	return e;
}

/* The full block of counters of one sample */
static void counters_text(const char *name, const struct cim_counters *c)
{
	char e[32], b[32];
	unsigned int i;

	printf("%s\n", name);
	for (i = 0; i < ARRAY_SIZE(ctr_fields); i++)
		printf("  %-18s %" PRIu64 "\n", ctr_fields[i].label,
		       ctr_get(c, ctr_fields[i].off));
	printf("  %-18s %s\n", "Device time",
	       fmt_time(b, sizeof(b), c->device_time_ps));
	printf("  %-12s %14s %14s\n", "UNIT", "ENERGY", "BUSY");
	for (i = 0; i < CIM_UNIT_COUNT; i++)
		printf("  %-12s %14s %14s\n", unit_names[i],
		       fmt_energy(e, sizeof(e), c->energy_fj[i]),
		       fmt_time(b, sizeof(b), c->busy_ps[i]));
	printf("  %-12s %14s\n", "total", fmt_energy(e, sizeof(e),
						      total_energy(c)));
}

/* One line of a --watch that does not go to a terminal */
static void counters_line(const char *name, const struct cim_counters *c,
			  double t, bool header)
{
	uint64_t pulses = ctr_get(c, offsetof(struct cim_counters, pulses_pos)) +
			  ctr_get(c, offsetof(struct cim_counters, pulses_neg)) +
			  ctr_get(c, offsetof(struct cim_counters, program_pulses));

	if (header)
		printf("%-14s %-10s %10s %14s %12s %12s %14s %14s\n", "TIME",
		       "DEVICE", "JOBS", "ENERGY_NJ", "PULSES", "ADC_CONV",
		       "AP_COMPARES", "DEV_TIME_US");
	printf("%-14.3f %-10s %10" PRIu64 " %14.3f %12" PRIu64 " %12" PRIu64 " %14" PRIu64 " %14.3f\n",
	       t, name, ctr_get(c, offsetof(struct cim_counters, jobs)),
	       (double)total_energy(c) / 1e6, pulses,
	       ctr_get(c, offsetof(struct cim_counters, adc_conversions)),
	       ctr_get(c, offsetof(struct cim_counters, ap_compares)),
	       (double)c->device_time_ps / 1e6);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = {
		.tv_sec = (time_t)s,
		.tv_nsec = (long)((s - floor(s)) * 1e9),
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int cmd_counters(const struct opts *o)
{
	struct cim_info in = { .size = sizeof(in) };
	bool tty = isatty(STDOUT_FILENO);
	struct cim_counters c;
	struct cim_device *dev;
	unsigned long n;
	int ret;

	ret = open_device(o->device, &dev);
	if (ret)
		return ret;
	cim_device_query(dev, &in);
	for (n = 0; !o->count || n < o->count; n++) {
		if (n)
			sleep_s(o->interval);
		ret = read_counters(dev, &c);
		if (ret)
			break;
		if (o->json)
			counters_json(in.name, &c, o->watch ? now_s() : -1);
		else if (!o->watch)
			counters_text(in.name, &c);
		else if (tty) {
			/* home, clear to the end: refresh in place */
			printf("\033[H\033[J");
			printf("Every %.1fs: cimctl counters (Ctrl-C to stop)\n\n",
			       o->interval);
			counters_text(in.name, &c);
		} else {
			counters_line(in.name, &c, now_s(), !n);
		}
		fflush(stdout);
		if (!o->watch)
			break;
	}
	cim_device_close(dev);
	return ret ? dev_error(in.name, "counters", ret) : EXIT_OK;
}

static int cmd_reset(const struct opts *o)
{
	struct cim_device *dev;
	uint64_t resets;
	int ret;

	if (!o->device) {
		errmsg("reset needs a device: cimctl reset -d DEV");
		return EXIT_USAGE;
	}
	ret = cim_device_open(&dev, o->device);
	if (ret == -EACCES || ret == -EPERM) {
		errmsg("reset needs root (or CAP_SYS_ADMIN)");
		return EXIT_ERR;
	}
	if (ret)
		return dev_error(o->device, "open", ret);
	ret = cim_device_reset(dev);
	if (ret == -EACCES || ret == -EPERM) {
		cim_device_close(dev);
		errmsg("reset needs root (or CAP_SYS_ADMIN)");
		return EXIT_ERR;
	}
	if (ret) {
		cim_device_close(dev);
		return dev_error(o->device, "reset", ret);
	}
	/* our handle saw the reset too */
	cim_device_check(dev);
	cim_device_close(dev);
	if (o->json) {
		printf("{");
		json_kv_str("", "device", o->device);
		printf(", \"reset\": true}\n");
	} else {
		printf("%s: reset", o->device);
		if (!is_embedded_name(o->device) && o->device[0] &&
		    !sysfs_u64(strrchr(o->device, '/') ?
			       strrchr(o->device, '/') + 1 : o->device,
			       "reset_count", &resets))
			printf(" (reset count %" PRIu64 ")", resets);
		printf("\n");
	}
	return EXIT_OK;
}

/* Command line ----------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cimctl [OPTIONS] [COMMAND]\n"
		"\n"
		"Commands:\n"
		"  (none)      summary table of the devices\n"
		"  list        one line per device\n"
		"  info        geometry, capabilities, limits and versions\n"
		"  counters    device counters: energy, pulses, ADC conversions, busy time\n"
		"  reset       reset the device given with -d (root)\n"
		"  characterize  conductance against pulses, per level after\n"
		"              write-verify, and over time: CSVs (and PNGs)\n"
		"\n"
		"Options:\n"
		"  -d, --device DEV      cimN, /dev/cimN or embedded[:seed=N,cost=P,...]\n"
		"                        (default: $CIM_DEVICE, else the first device)\n"
		"  -j, --json            JSON output\n"
		"  -w, --watch[=SECS]    counters: sample every SECS seconds (default 1)\n"
		"  -n, --count N         counters: stop after N samples\n"
		"  -o, --output DIR      characterize: where the files go (default characterize)\n"
		"      --plot            characterize: PNGs through gnuplot too\n"
		"      --only EXP        characterize: pulse, levels or relax only\n"
		"      --pulses N        characterize: pulses per direction (default 200)\n"
		"      --levels K        characterize: weight levels (default 8)\n"
		"      --tol-us X        characterize: write-verify tolerance, uS (default 1)\n"
		"  -h, --help            this help\n"
		"  -V, --version         the version of cimctl and libcim\n"
		"\n"
		"Exit status: 0 ok, 1 error, 2 usage error. See cimctl(1).\n");
}

/* characterize's long options without a short one */
enum {
	OPT_PLOT = 0x100,
	OPT_ONLY,
	OPT_PULSES,
	OPT_LEVELS,
	OPT_TOL_US,
};

/* An unsigned in @lo..@hi, or a usage error naming --@name */
static int parse_uint(const char *name, const char *arg, unsigned int lo,
		      unsigned int hi, unsigned int *val)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < lo || v > hi) {
		errmsg("--%s: '%s' is not a number in %u..%u", name, arg, lo,
		       hi);
		return EXIT_USAGE;
	}
	*val = (unsigned int)v;
	return EXIT_OK;
}

static int parse_char_opt(int c, struct opts *o)
{
	char *end;

	switch (c) {
	case 'o':
		o->outdir = optarg;
		if (!optarg[0]) {
			errmsg("-o needs a directory");
			return EXIT_USAGE;
		}
		return EXIT_OK;
	case OPT_PLOT:
		o->plot = true;
		return EXIT_OK;
	case OPT_ONLY:
		if (!strcmp(optarg, "pulse"))
			o->only = CHAR_PULSE;
		else if (!strcmp(optarg, "levels"))
			o->only = CHAR_LEVELS;
		else if (!strcmp(optarg, "relax"))
			o->only = CHAR_RELAX;
		else {
			errmsg("--only: '%s' is not pulse, levels or relax",
			       optarg);
			return EXIT_USAGE;
		}
		return EXIT_OK;
	case OPT_PULSES:
		return parse_uint("pulses", optarg, 10, 1000, &o->pulses);
	case OPT_LEVELS:
		return parse_uint("levels", optarg, 2, 64, &o->levels);
	default:
		errno = 0;
		o->tol_us = strtod(optarg, &end);
		if (errno || end == optarg || *end ||
		    !(o->tol_us > 0 && o->tol_us <= CIM_PROGRAM_MAX_TOL_US)) {
			errmsg("--tol-us: '%s' is not a number of microsiemens in (0, %g]",
			       optarg, (double)CIM_PROGRAM_MAX_TOL_US);
			return EXIT_USAGE;
		}
		return EXIT_OK;
	}
}

static int parse_args(int argc, char **argv, struct opts *o,
		      const char **cmd)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "watch", optional_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "plot", no_argument, NULL, OPT_PLOT },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "pulses", required_argument, NULL, OPT_PULSES },
		{ "levels", required_argument, NULL, OPT_LEVELS },
		{ "tol-us", required_argument, NULL, OPT_TOL_US },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	*o = (struct opts) {
		.interval = 1.0, .outdir = "characterize", .pulses = 200,
		.levels = 8, .tol_us = 1.0, .only = CHAR_ALL,
	};
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:jw::n:o:hV", longopts,
				NULL)) != -1) {
		if (c == 'o' || c >= OPT_PLOT) {
			o->char_opts = true;
			if (parse_char_opt(c, o))
				return EXIT_USAGE;
			continue;
		}
		switch (c) {
		case 'd':
			o->device = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'w':
			o->watch = true;
			if (!optarg)
				break;
			errno = 0;
			o->interval = strtod(optarg, &end);
			if (errno || end == optarg || *end ||
			    !(o->interval >= 0.1 && o->interval <= 86400)) {
				errmsg("--watch: '%s' is not a number of seconds in 0.1..86400",
				      optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			errno = 0;
			o->count = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || !o->count ||
			    optarg[0] == '-') {
				errmsg("--count: '%s' is not a positive number",
				      optarg);
				return EXIT_USAGE;
			}
			o->watch = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		case 'V':
			printf("cimctl %s (libcim %s)\n", CIMCTL_VERSION,
			       cim_version_string());
			exit(EXIT_OK);
		case ':':
			if (optopt)
				errmsg("option -%c needs an argument", optopt);
			else
				errmsg("option %s needs an argument",
				      argv[optind - 1]);
			return EXIT_USAGE;
		default:
			if (optopt)
				errmsg("unknown option -%c (cimctl --help)",
				      optopt);
			else
				errmsg("unknown option %s (cimctl --help)",
				      argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	*cmd = optind < argc ? argv[optind++] : NULL;
	if (optind < argc) {
		errmsg("unexpected argument '%s' (cimctl --help)", argv[optind]);
		return EXIT_USAGE;
	}
	if (o->device && !o->device[0]) {
		errmsg("-d needs a device name");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const struct opts *o);
	} cmds[] = {
		{ "list", cmd_list },
		{ "info", cmd_info },
		{ "counters", cmd_counters },
		{ "reset", cmd_reset },
		{ "characterize", cmd_characterize },
	};
	const char *cmd;
	struct opts o;
	unsigned int i;
	int ret;

	ret = parse_args(argc, argv, &o, &cmd);
	if (ret)
		return ret;
	if (o.watch && (!cmd || strcmp(cmd, "counters"))) {
		errmsg("--watch and --count go with the counters command");
		return EXIT_USAGE;
	}
	if (o.json && cmd && !strcmp(cmd, "characterize")) {
		errmsg("characterize writes CSV files, not JSON");
		return EXIT_USAGE;
	}
	if (o.char_opts && (!cmd || strcmp(cmd, "characterize"))) {
		errmsg("-o, --plot, --only, --pulses, --levels and --tol-us go with the characterize command");
		return EXIT_USAGE;
	}
	if (!cmd)
		return cmd_summary(&o);
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(cmd, cmds[i].name))
			return cmds[i].fn(&o);
	errmsg("unknown command '%s' (cimctl --help)", cmd);
	return EXIT_USAGE;
}
