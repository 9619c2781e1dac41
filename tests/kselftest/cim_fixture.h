/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fixture of the device tests that need one device and nothing else:
 * /dev/cim0 open, its info, a one-page command BO and a 16-page data BO.
 * Include after kselftest_harness.h.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef __CIM_FIXTURE_H__
#define __CIM_FIXTURE_H__

#include "cim_util.h"

FIXTURE(cim) {
	int fd;
	struct cim_device_info info;
	struct bo cmd, data;
};

FIXTURE_SETUP(cim)
{
	self->fd = cim_open_dev(0);
	if (self->fd < 0)
		SKIP(return, "no /dev/cim0: %s", strerror(errno));
	ASSERT_EQ(0, cim_info(self->fd, &self->info));
	ASSERT_EQ(0, bo_new(self->fd, PAGE, &self->cmd));
	ASSERT_EQ(0, bo_new(self->fd, 16 * PAGE, &self->data));
}

FIXTURE_TEARDOWN(cim)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* submit() (cim_util.h) must give -@err, 0 for "accepted" */
#define EXPECT_SUBMIT_ERR(err, ...) do {				\
	int __r = submit(__VA_ARGS__);					\
	EXPECT_EQ(-(err), __r) TH_LOG("submit gave %s", strerror(-__r)); \
} while (0)

#endif /* __CIM_FIXTURE_H__ */
