// SPDX-License-Identifier: MIT
/*
 * libcim discovery with a fake source in place of libudev: parsing of the
 * sysfs attributes, sorting, foreign names, errors of the source, and
 * cim_device_open(NULL) falling back to the embedded backend.
 */
#include <stdlib.h>
#include <string.h>

#include "cim_priv.h"
#include "unit.h"

static const struct cim__node fake_nodes[] = {
	{
		.sysname = "cim1", .devnode = "/nonexistent/cim1",
		.attrs = { { "api_version", "1.0" },
			   { "device_state", "operational" },
			   { "crossbar_geometry", "8 256 256 128 8 8" },
			   { "ap_geometry", "4 1024 256 64 32" } },
		.nattrs = 4,
		.pci_slot = "0000:00:04.0", .pci_vendor = "0x1234",
		.pci_device = "0xc1a0",
	},
	{ .sysname = "cimctl" },	/* not a cim device node */
	{
		.sysname = "cim0", .devnode = "",
		.attrs = { { "device_state", "failed" },
			   { "crossbar_geometry", "garbage" } },
		.nattrs = 2,
		.pci_slot = "", .pci_vendor = "", .pci_device = "",
	},
};

struct fake {
	unsigned int n;
	int fail;	/* returned after the first node */
};

static int fake_scan(void *opaque,
		     int (*cb)(void *arg, const struct cim__node *node),
		     void *arg)
{
	struct fake *f = opaque;
	unsigned int i;
	int ret;

	for (i = 0; i < f->n; i++) {
		ret = cb(arg, &fake_nodes[i]);
		if (ret)
			return ret;
		if (f->fail)
			return f->fail;
	}
	return 0;
}

static struct fake fake;
static const struct cim__discovery fake_src = {
	.scan = fake_scan, .opaque = &fake,
};

static void setup(void)
{
	fake = (struct fake) { .n = CIM__ARRAY_SIZE(fake_nodes) };
	cim__discovery_set(&fake_src);
}

static void teardown(void)
{
	cim__discovery_set(NULL);
}

START_TEST(test_list)
{
	struct cim_device_desc *l;
	int n;

	ck_assert_int_eq(cim_device_list(&l, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(l[0].name, "cim0");
	ck_assert_int_eq(l[0].index, 0);
	ck_assert_str_eq(l[0].devnode, "/dev/cim0");	/* no node known */
	ck_assert_str_eq(l[0].state, "failed");
	ck_assert_uint_eq(l[0].xbar_count, 0);
	ck_assert_str_eq(l[0].pci_slot, "");
	ck_assert_str_eq(l[1].name, "cim1");
	ck_assert_str_eq(l[1].devnode, "/nonexistent/cim1");
	ck_assert_str_eq(l[1].pci_slot, "0000:00:04.0");
	ck_assert_uint_eq(l[1].vendor, CIM_PCI_VENDOR_ID);
	ck_assert_uint_eq(l[1].device, CIM_PCI_DEVICE_ID);
	ck_assert_str_eq(l[1].api_version, "1.0");
	ck_assert_uint_eq(l[1].xbar_count, 8);
	ck_assert_uint_eq(l[1].xbar_cols, 256);
	ck_assert_uint_eq(l[1].ap_rows, 1024);
	cim_device_list_free(l, n);
	ck_assert_int_eq(cim_device_list(NULL, &n), -EINVAL);
}
END_TEST

START_TEST(test_empty_and_errors)
{
	struct cim_device_desc *l = (void *)1;
	int n = -1;

	fake.n = 0;
	ck_assert_int_eq(cim_device_list(&l, &n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_ptr_null(l);
	cim_device_list_free(l, n);
	fake.n = 1;
	fake.fail = -EIO;
	l = (void *)1;
	ck_assert_int_eq(cim_device_list(&l, &n), -EIO);
	ck_assert_ptr_eq(l, (void *)1);	/* untouched, nothing leaked */
}
END_TEST

/* No usable kernel device: NULL opens the embedded backend */
START_TEST(test_default_open)
{
	struct cim_device *d;

	unsetenv("CIM_DEVICE");
	ck_assert_int_eq(cim_device_open(&d, NULL), 0);
	ck_assert_int_eq(cim_device_backend(d), CIM_BACKEND_EMBEDDED);
	cim_device_close(d);
	fake.n = 0;
	ck_assert_int_eq(cim_device_open(&d, ""), 0);
	ck_assert_int_eq(cim_device_backend(d), CIM_BACKEND_EMBEDDED);
	cim_device_close(d);
	fake.n = 1;
	fake.fail = -ENOMEM;
	ck_assert_int_eq(cim_device_open(&d, NULL), -ENOMEM);
}
END_TEST

Suite *runtime_discovery_suite(void)
{
	Suite *s = suite_create("runtime_discovery");
	TCase *tc = tcase_create("fake");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_empty_and_errors);
	tcase_add_test(tc, test_default_open);
	suite_add_tcase(s, tc);
	return s;
}
