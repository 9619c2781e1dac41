// SPDX-License-Identifier: MIT
/*
 * Discovery: the kernel's cim devices, read from sysfs through libudev
 * (subsystem misc, sysname cim*, the parent PCI device). Enumeration reads
 * sysfs directly, so it works without a udev daemon, as in the test VM. The
 * source is an interface so that tests can feed devices of their own.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libudev.h>

#include "cim_priv.h"

/* libudev's view of one misc device as a struct cim__node */
static int udev_node(struct udev_device *d,
		     int (*cb)(void *arg, const struct cim__node *node),
		     void *arg)
{
	static const char *const attrs[] = {
		"api_version", "device_state", "crossbar_geometry",
		"ap_geometry",
	};
	struct cim__node node = { .sysname = udev_device_get_sysname(d) };
	struct udev_device *pci;
	const char *v;
	unsigned int i;

	v = udev_device_get_devnode(d);
	node.devnode = v ? v : "";
	for (i = 0; i < CIM__ARRAY_SIZE(attrs); i++) {
		v = udev_device_get_sysattr_value(d, attrs[i]);
		if (!v)
			continue;
		node.attrs[node.nattrs][0] = attrs[i];
		node.attrs[node.nattrs++][1] = v;
	}
	/* not a reference of ours: it lives as long as @d */
	pci = udev_device_get_parent_with_subsystem_devtype(d, "pci", NULL);
	node.pci_slot = pci ? udev_device_get_sysname(pci) : "";
	v = pci ? udev_device_get_sysattr_value(pci, "vendor") : NULL;
	node.pci_vendor = v ? v : "";
	v = pci ? udev_device_get_sysattr_value(pci, "device") : NULL;
	node.pci_device = v ? v : "";
	return cb(arg, &node);
}

static int udev_scan(void *opaque,
		     int (*cb)(void *arg, const struct cim__node *node),
		     void *arg)
{
	struct udev_list_entry *le;
	struct udev_enumerate *e;
	struct udev_device *d;
	struct udev *u;
	int ret;

	(void)opaque;
	u = udev_new();
	if (!u)
		return -ENOMEM;
	e = udev_enumerate_new(u);
	if (!e) {
		ret = -ENOMEM;
		goto fail_enumerate;
	}
	ret = udev_enumerate_add_match_subsystem(e, "misc");
	if (!ret)
		ret = udev_enumerate_add_match_sysname(e, "cim*");
	if (!ret)
		ret = udev_enumerate_scan_devices(e);
	udev_list_entry_foreach(le, udev_enumerate_get_list_entry(e)) {
		if (ret)
			break;
		d = udev_device_new_from_syspath(u,
						 udev_list_entry_get_name(le));
		if (!d)
			continue;	/* gone since the scan */
		ret = udev_node(d, cb, arg);
		udev_device_unref(d);
	}
	udev_enumerate_unref(e);
fail_enumerate:
	udev_unref(u);
	return ret;
}

static const struct cim__discovery udev_source = { .scan = udev_scan };
static const struct cim__discovery *source = &udev_source;

void cim__discovery_set(const struct cim__discovery *src)
{
	source = src ? src : &udev_source;
}

struct list_ctx {
	struct cim_device_desc *list;
	int count;
};

static const char *node_attr(const struct cim__node *node, const char *name)
{
	unsigned int i;

	for (i = 0; i < node->nattrs; i++)
		if (!strcmp(node->attrs[i][0], name))
			return node->attrs[i][1];
	return "";
}

/* Fill @d from @node; -ENOENT for a node that is not a cim device */
static int node_desc(const struct cim__node *node, struct cim_device_desc *d)
{
	char *end;
	long idx;

	if (!node->sysname || strncmp(node->sysname, "cim", 3))
		return -ENOENT;
	idx = strtol(node->sysname + 3, &end, 10);
	if (end == node->sysname + 3 || *end || idx < 0 || idx > 65535)
		return -ENOENT;
	memset(d, 0, sizeof(*d));
	d->index = (int)idx;
	snprintf(d->name, sizeof(d->name), "%s", node->sysname);
	if (node->devnode && *node->devnode)
		snprintf(d->devnode, sizeof(d->devnode), "%s", node->devnode);
	else	/* no devtmpfs name known: the driver's own naming */
		snprintf(d->devnode, sizeof(d->devnode), "/dev/%s",
			 node->sysname);
	snprintf(d->pci_slot, sizeof(d->pci_slot), "%s",
		 node->pci_slot ? node->pci_slot : "");
	d->vendor = (uint32_t)strtoul(node->pci_vendor ? node->pci_vendor : "",
				      NULL, 16);
	d->device = (uint32_t)strtoul(node->pci_device ? node->pci_device : "",
				      NULL, 16);
	snprintf(d->api_version, sizeof(d->api_version), "%s",
		 node_attr(node, "api_version"));
	snprintf(d->state, sizeof(d->state), "%s",
		 node_attr(node, "device_state"));
	/* absent or malformed geometry stays 0 */
	sscanf(node_attr(node, "crossbar_geometry"), "%u %u %u", &d->xbar_count,
	       &d->xbar_rows, &d->xbar_cols);
	sscanf(node_attr(node, "ap_geometry"), "%u %u %u", &d->ap_count,
	       &d->ap_rows, &d->ap_cols);
	return 0;
}

static int list_add(void *arg, const struct cim__node *node)
{
	struct list_ctx *ctx = arg;
	struct cim_device_desc d, *list;

	if (node_desc(node, &d))
		return 0;	/* cimfoo: not ours */
	list = realloc(ctx->list, (size_t)(ctx->count + 1) * sizeof(*list));
	if (!list)
		return -ENOMEM;
	list[ctx->count++] = d;
	ctx->list = list;
	return 0;
}

static int by_index(const void *a, const void *b)
{
	const struct cim_device_desc *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

int cim_device_list(struct cim_device_desc **list, int *count)
{
	struct list_ctx ctx = { NULL, 0 };
	int ret;

	if (!list || !count)
		return -EINVAL;
	ret = source->scan(source->opaque, list_add, &ctx);
	if (ret) {
		free(ctx.list);
		return ret;
	}
	if (ctx.count)
		qsort(ctx.list, (size_t)ctx.count, sizeof(*ctx.list), by_index);
	*list = ctx.list;
	*count = ctx.count;
	return 0;
}

void cim_device_list_free(struct cim_device_desc *list, int count)
{
	(void)count;
	free(list);
}
