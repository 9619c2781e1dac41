// SPDX-License-Identifier: GPL-2.0-only
/*
 * cim: sysfs attributes of /sys/class/misc/cimN/: geometry, state,
 * statistics, the hang timeout, and counters/, the device's own counters
 * read through a job of the driver's.
 *
 * Copyright (C) 2026 The cim authors
 */

#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/sysfs.h>

#include "cim_drv.h"

static struct cim_device *to_cim_device(struct device *dev)
{
	struct miscdevice *misc = dev_get_drvdata(dev);

	return container_of(misc, struct cim_device, misc);
}

static ssize_t api_version_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u.%u\n", CIM_API_MAJOR, CIM_API_MINOR);
}
static DEVICE_ATTR_RO(api_version);

static ssize_t hw_version_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	u32 v = to_cim_device(dev)->geo.version;

	return sysfs_emit(buf, "%u.%u\n", v >> 16, v & 0xffff);
}
static DEVICE_ATTR_RO(hw_version);

static ssize_t crossbar_geometry_show(struct device *dev,
				      struct device_attribute *attr, char *buf)
{
	const struct cim_geometry *g = &to_cim_device(dev)->geo;

	/* count rows cols levels dac_bits adc_bits */
	return sysfs_emit(buf, "%u %u %u %u %u %u\n", g->xbar_count,
			  g->xbar_rows, g->xbar_cols, g->xbar_levels,
			  g->dac_bits, g->adc_bits);
}
static DEVICE_ATTR_RO(crossbar_geometry);

static ssize_t ap_geometry_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	const struct cim_geometry *g = &to_cim_device(dev)->geo;

	/* count rows cols domains group_tracks */
	return sysfs_emit(buf, "%u %u %u %u %u\n", g->ap_count, g->ap_rows,
			  g->ap_cols, g->ap_domains, g->ap_group_tracks);
}
static DEVICE_ATTR_RO(ap_geometry);

static ssize_t device_state_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	static const char * const names[] = {
		[CIM_STATE_OPERATIONAL] = "operational",
		[CIM_STATE_RESETTING] = "resetting",
		[CIM_STATE_FAILED] = "failed",
	};

	return sysfs_emit(buf, "%s\n",
			  names[READ_ONCE(to_cim_device(dev)->state)]);
}
static DEVICE_ATTR_RO(device_state);

/* One u64 statistic of struct cim_device, read under its lock */
#define CIM_STAT_ATTR(field, expr)					\
static ssize_t field##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct cim_device *cdev = to_cim_device(dev);			\
	u64 v;								\
									\
	mutex_lock(&cdev->lock);					\
	v = (expr);							\
	mutex_unlock(&cdev->lock);					\
	return sysfs_emit(buf, "%llu\n", v);				\
}									\
static DEVICE_ATTR_RO(field)

CIM_STAT_ATTR(reset_count, cdev->reset_count);
CIM_STAT_ATTR(jobs_submitted, cdev->jobs_submitted);
CIM_STAT_ATTR(jobs_completed, cdev->jobs_completed);
CIM_STAT_ATTR(jobs_timed_out, cdev->jobs_timed_out);
CIM_STAT_ATTR(jobs_in_flight, cdev->ninflight);
CIM_STAT_ATTR(busy_time_us, div_u64(cdev->busy_ps, 1000000));
CIM_STAT_ATTR(energy_fj, cdev->energy_fj);

static ssize_t job_timeout_ms_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  READ_ONCE(to_cim_device(dev)->job_timeout_ms));
}

static ssize_t job_timeout_ms_store(struct device *dev,
				    struct device_attribute *attr,
				    const char *buf, size_t count)
{
	unsigned int v;
	int ret;

	ret = kstrtouint(buf, 0, &v);
	if (ret)
		return ret;
	if (v < 100 || v > 600000)
		return -ERANGE;
	WRITE_ONCE(to_cim_device(dev)->job_timeout_ms, v);
	return count;
}
static DEVICE_ATTR_RW(job_timeout_ms);

static ssize_t reset_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	bool v;
	int ret;

	ret = kstrtobool(buf, &v);
	if (ret)
		return ret;
	if (!v)
		return -EINVAL;
	ret = cim_reset_recover(to_cim_device(dev), false);
	return ret ? ret : count;
}
static DEVICE_ATTR_WO(reset);

static struct attribute *cim_attrs[] = {
	&dev_attr_api_version.attr,
	&dev_attr_hw_version.attr,
	&dev_attr_crossbar_geometry.attr,
	&dev_attr_ap_geometry.attr,
	&dev_attr_device_state.attr,
	&dev_attr_reset_count.attr,
	&dev_attr_jobs_submitted.attr,
	&dev_attr_jobs_completed.attr,
	&dev_attr_jobs_timed_out.attr,
	&dev_attr_jobs_in_flight.attr,
	&dev_attr_busy_time_us.attr,
	&dev_attr_energy_fj.attr,
	&dev_attr_job_timeout_ms.attr,
	&dev_attr_reset.attr,
	NULL
};

static const struct attribute_group cim_attr_group = {
	.attrs = cim_attrs,
};

/*
 * counters/: one file per field of struct cim_counters. Each read runs a
 * COUNTERS_READ job on the device's ring (cim_counters_read()), so it
 * counts every job queued before it. Arrays (per enum cim_unit) are
 * space-separated.
 */
struct cim_counter_attr {
	struct device_attribute attr;
	unsigned int offset;
	unsigned int n;
};

static ssize_t cim_counter_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	const struct cim_counter_attr *ca =
		container_of(attr, struct cim_counter_attr, attr);
	struct cim_counters *ctr;
	const u64 *v;
	ssize_t len = 0;
	unsigned int i;
	int ret;

	ctr = kmalloc(sizeof(*ctr), GFP_KERNEL);
	if (!ctr)
		return -ENOMEM;
	ret = cim_counters_read(to_cim_device(dev), ctr);
	if (ret) {
		kfree(ctr);
		return ret;
	}
	v = (const u64 *)((const u8 *)ctr + ca->offset);
	for (i = 0; i < ca->n; i++)
		len += sysfs_emit_at(buf, len, "%llu%c", v[i],
				     i + 1 < ca->n ? ' ' : '\n');
	kfree(ctr);
	return len;
}

#define CIM_COUNTER_ATTR(field, count)					\
static struct cim_counter_attr cim_counter_##field = {			\
	.attr = {							\
		.attr = { .name = #field, .mode = 0444 },		\
		.show = cim_counter_show,				\
	},								\
	.offset = offsetof(struct cim_counters, field),			\
	.n = (count),							\
}

CIM_COUNTER_ATTR(jobs, 1);
CIM_COUNTER_ATTR(vmm_fwd, 1);
CIM_COUNTER_ATTR(vmm_trans, 1);
CIM_COUNTER_ATTR(dac_conversions, 1);
CIM_COUNTER_ATTR(adc_conversions, 1);
CIM_COUNTER_ATTR(adc_saturations, 1);
CIM_COUNTER_ATTR(pulses_pos, 1);
CIM_COUNTER_ATTR(pulses_neg, 1);
CIM_COUNTER_ATTR(duu_macs, 1);
CIM_COUNTER_ATTR(program_pulses, 1);
CIM_COUNTER_ATTR(ap_compares, 1);
CIM_COUNTER_ATTR(ap_writes, 1);
CIM_COUNTER_ATTR(ap_bits_written, 1);
CIM_COUNTER_ATTR(ap_shift_steps, 1);
CIM_COUNTER_ATTR(ap_io_bits, 1);
CIM_COUNTER_ATTR(energy_fj, CIM_UNIT_COUNT);
CIM_COUNTER_ATTR(busy_ps, CIM_UNIT_COUNT);
CIM_COUNTER_ATTR(device_time_ps, 1);

static struct attribute *cim_counter_attrs[] = {
	&cim_counter_jobs.attr.attr,
	&cim_counter_vmm_fwd.attr.attr,
	&cim_counter_vmm_trans.attr.attr,
	&cim_counter_dac_conversions.attr.attr,
	&cim_counter_adc_conversions.attr.attr,
	&cim_counter_adc_saturations.attr.attr,
	&cim_counter_pulses_pos.attr.attr,
	&cim_counter_pulses_neg.attr.attr,
	&cim_counter_duu_macs.attr.attr,
	&cim_counter_program_pulses.attr.attr,
	&cim_counter_ap_compares.attr.attr,
	&cim_counter_ap_writes.attr.attr,
	&cim_counter_ap_bits_written.attr.attr,
	&cim_counter_ap_shift_steps.attr.attr,
	&cim_counter_ap_io_bits.attr.attr,
	&cim_counter_energy_fj.attr.attr,
	&cim_counter_busy_ps.attr.attr,
	&cim_counter_device_time_ps.attr.attr,
	NULL
};

static const struct attribute_group cim_counter_group = {
	.name = "counters",
	.attrs = cim_counter_attrs,
};

const struct attribute_group *cim_attr_groups[] = {
	&cim_attr_group,
	&cim_counter_group,
	NULL
};
