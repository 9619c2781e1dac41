// SPDX-License-Identifier: GPL-2.0-only
/*
 * Isolation and lifetime in cim.ko, run in the guest with
 * kselftest_harness.h: unit reservations, what one file cannot reach of
 * another's, two devices at once, and the end of a file with jobs in
 * flight (close, SIGKILL) or of the module while a file is open.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libsync.h>

#include "cim_hw.h"
#include "uapi/misc/cim.h"

#include "kselftest_harness.h"

#include "cim_fixture.h"

/* Reservations and isolation ---------------------------------------------- */

TEST_F(cim, reserve_rules)
{
	struct cim_ctx_state st;
	struct cim_reserve r = { .mask = 1, .flags = 1 };
	int fd2;

	EXPECT_EQ(-1, ioctl(self->fd, CIM_IOCTL_XBAR_RESERVE, &r));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 0));
	if (self->info.xbar_count < 64)
		EXPECT_EQ(-EINVAL, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE,
					   1ull << self->info.xbar_count));
	EXPECT_EQ(-EINVAL, reserve(self->fd, CIM_IOCTL_XBAR_RELEASE, 1));
	ASSERT_EQ(0, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 1));
	ASSERT_EQ(0, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 1));
	ASSERT_EQ(0, cim_ctx(self->fd, &st, 0));
	EXPECT_EQ(1, st.xbar_mask);

	fd2 = cim_open_dev(0);
	ASSERT_GE(fd2, 0);
	EXPECT_EQ(-EBUSY, reserve(fd2, CIM_IOCTL_XBAR_RESERVE, 1));
	EXPECT_EQ(-EINVAL, reserve(fd2, CIM_IOCTL_XBAR_RELEASE, 1));
	EXPECT_EQ(0, reserve(self->fd, CIM_IOCTL_XBAR_RELEASE, 1));
	EXPECT_EQ(0, reserve(fd2, CIM_IOCTL_XBAR_RESERVE, 1));
	/* Closing releases */
	close(fd2);
	EXPECT_EQ(0, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 1));
	if (self->info.ap_count) {
		EXPECT_EQ(0, reserve(self->fd, CIM_IOCTL_AP_RESERVE, 1));
		EXPECT_EQ(0, reserve(self->fd, CIM_IOCTL_AP_RELEASE, 1));
	}
}

TEST_F(cim, isolation_two_files)
{
	__u32 other[1];
	struct bo cmd2, data2, extra;
	__u32 mine[1];
	int fd2;

	ASSERT_EQ(0, reserve(self->fd, CIM_IOCTL_XBAR_RESERVE, 1));
	/* handles 1, 2 exist in both files; 3 only in self->fd */
	ASSERT_EQ(0, bo_new(self->fd, PAGE, &extra));
	ASSERT_EQ(3, extra.handle);
	fd2 = cim_open_dev(0);
	ASSERT_GE(fd2, 0);
	ASSERT_EQ(0, bo_new(fd2, PAGE, &cmd2));
	ASSERT_EQ(0, bo_new(fd2, PAGE, &data2));
	/* fd2 cannot use the crossbar self->fd reserved */
	other[0] = data2.handle;
	put_vmm(cmd2.map, 0, 4, 4, 1, CIM_REF(0, 0), CIM_REF(0, 64));
	EXPECT_SUBMIT_ERR(EACCES, fd2, &cmd2, sizeof(struct cim_pkt_vmm), other,
			  1, 0, NULL);
	/* ... nor name self->fd's buffers, nor map them */
	mine[0] = extra.handle;
	put_fence(cmd2.map, CIM_REF(0, 0));
	EXPECT_SUBMIT_ERR(ENOENT, fd2, &cmd2, 24, mine, 1, 0, NULL);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd2,
				   (__u64)extra.handle << 32));
	/* ... nor wait on its jobs */
	put_nop(self->cmd.map);
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0, 0, NULL));
	{
		struct cim_wait w = { .seqno = 1 };

		EXPECT_EQ(-1, ioctl(fd2, CIM_IOCTL_WAIT, &w));
		EXPECT_EQ(EINVAL, errno);
	}
	close(fd2);
}

/* Two devices at once ----------------------------------------------------- */

TEST(two_devices)
{
	struct cim_device_info info[2];
	struct bo cmd[2], data[2];
	struct cim_submit s[2][8];
	struct cim_wait w;
	__u32 bos[1];
	int fd[2], d, i, m;

	fd[0] = cim_open_dev(0);
	fd[1] = cim_open_dev(1);
	if (fd[0] < 0 || fd[1] < 0)
		SKIP(return, "needs /dev/cim0 and /dev/cim1");
	for (d = 0; d < 2; d++) {
		ASSERT_EQ(0, cim_info(fd[d], &info[d]));
		ASSERT_EQ(0, bo_new(fd[d], PAGE, &cmd[d]));
		ASSERT_EQ(0, bo_new(fd[d], 16 * PAGE, &data[d]));
		ASSERT_EQ(0, reserve(fd[d], CIM_IOCTL_XBAR_RESERVE, 1));
		put_vmm(cmd[d].map, 0, 8, 8, 16, CIM_REF(0, 0),
			CIM_REF(0, 8 * PAGE));
	}
	EXPECT_NE(info[0].seed, info[1].seed);
	/* Interleaved: each device runs its own ring */
	for (i = 0; i < 8; i++)
		for (d = 0; d < 2; d++) {
			bos[0] = data[d].handle;
			ASSERT_EQ(0, submit(fd[d], &cmd[d],
					    sizeof(struct cim_pkt_vmm), bos, 1,
					    CIM_SUBMIT_FENCE_OUT, &s[d][i]));
			EXPECT_EQ(i + 1, s[d][i].seqno);
		}
	/* A fence merged across the two devices */
	m = sync_merge("two", s[0][7].fence_fd, s[1][7].fence_fd);
	ASSERT_GE(m, 0);
	EXPECT_EQ(0, sync_wait(m, 20000));
	close(m);
	for (d = 0; d < 2; d++)
		for (i = 0; i < 8; i++) {
			ASSERT_EQ(0, wait_job(fd[d], s[d][i].seqno, 0, &w));
			EXPECT_EQ(CIM_ST_OK, w.status);
			close(s[d][i].fence_fd);
		}
	/* A file of one device knows nothing of the other's buffers */
	{
		struct cim_bo_destroy bd = { .handle = data[0].handle + 10 };

		EXPECT_EQ(-1, ioctl(fd[1], CIM_IOCTL_BO_DESTROY, &bd));
	}
	close(fd[0]);
	close(fd[1]);
}

/* Lifetime: close, SIGKILL, rmmod ----------------------------------------- */

TEST(close_with_jobs_in_flight)
{
	struct cim_device_info info;
	struct bo cmd, data;
	__u32 bos[1];
	unsigned int i, n = 0;
	int fd, k;

	for (k = 0; k < 3; k++) {
		fd = cim_open_dev(0);
		if (fd < 0)
			SKIP(return, "no /dev/cim0");
		ASSERT_EQ(0, cim_info(fd, &info));
		ASSERT_EQ(0, bo_new(fd, PAGE, &cmd));
		ASSERT_EQ(0, bo_new(fd, 16 * PAGE, &data));
		ASSERT_EQ(0, reserve(fd, CIM_IOCTL_XBAR_RESERVE, 1));
		bos[0] = data.handle;
		put_vmm(cmd.map, 0, 8, 8, 64, CIM_REF(0, 0), CIM_REF(0, 8 * PAGE));
		for (i = 0; i < 20; i++)
			if (!submit(fd, &cmd, sizeof(struct cim_pkt_vmm), bos, 1,
				    0, NULL))
				n++;
		/* Drop every handle and mapping while the jobs run */
		bo_free(fd, &data);
		bo_free(fd, &cmd);
		close(fd);
	}
	EXPECT_EQ(60, n);
	/* The device still works */
	fd = cim_open_dev(0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, bo_new(fd, PAGE, &cmd));
	put_nop(cmd.map);
	{
		struct cim_submit s;
		struct cim_wait w;

		ASSERT_EQ(0, submit(fd, &cmd, 8, NULL, 0, 0, &s));
		ASSERT_EQ(0, wait_job(fd, s.seqno, 20000, &w));
		EXPECT_EQ(CIM_ST_OK, w.status);
	}
	close(fd);
}


static int count_files(int index)
{
	char path[64], line[256];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/sys/kernel/debug/cim/%d/bo_list", index);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += !strncmp(line, "file ", 5);
	fclose(f);
	return n;
}

TEST(sigkill_with_jobs_in_flight)
{
	int pipefd[2], files, i;
	pid_t pid;
	int status;
	char ok;

	if (access("/dev/cim0", F_OK))
		SKIP(return, "no cim0");
	files = count_files(0);
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct bo cmd, data;
		__u32 bos[1];
		struct cim_submit s;
		struct cim_wait w = { 0 };
		int fd = cim_open_dev(0);

		if (fd < 0 || bo_new(fd, PAGE, &cmd) ||
		    bo_new(fd, 16 * PAGE, &data) ||
		    reserve(fd, CIM_IOCTL_XBAR_RESERVE, 1))
			_exit(1);
		bos[0] = data.handle;
		/* 64 x 64 weights, 16 vectors: long enough to be in flight */
		put_vmm(cmd.map, 0, 64, 64, 16, CIM_REF(0, 0),
			CIM_REF(0, 8 * PAGE));
		for (i = 0; i < 40; i++)
			if (submit(fd, &cmd, sizeof(struct cim_pkt_vmm), bos,
				   1, CIM_SUBMIT_FENCE_OUT, &s))
				_exit(2);
		if (write(pipefd[1], "k", 1) != 1)
			_exit(3);
		/* Killed in here */
		w.seqno = s.seqno;
		w.timeout_ns = now_ns() + 60000000000ull;
		ioctl(fd, CIM_IOCTL_WAIT, &w);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	ASSERT_EQ(1, read(pipefd[0], &ok, 1));
	kill(pid, SIGKILL);
	TH_LOG("%ld jobs in flight after the kill",
	       sysfs_read(0, "jobs_in_flight"));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	close(pipefd[0]);
	/* The jobs drain, the file goes, the crossbar is free again */
	for (i = 0; i < 200 && sysfs_read(0, "jobs_in_flight"); i++)
		usleep(50000);
	EXPECT_EQ(0, sysfs_read(0, "jobs_in_flight"));
	if (files >= 0)
		EXPECT_EQ(files, count_files(0));
	{
		int fd = cim_open_dev(0);

		ASSERT_GE(fd, 0);
		EXPECT_EQ(0, reserve(fd, CIM_IOCTL_XBAR_RESERVE, 1));
		close(fd);
	}
}

TEST(rmmod_while_open)
{
	struct bo cmd;
	struct cim_submit s;
	int fd, r;

	fd = cim_open_dev(0);
	if (fd < 0)
		SKIP(return, "no cim0");
	ASSERT_EQ(0, bo_new(fd, PAGE, &cmd));
	put_nop(cmd.map);
	ASSERT_EQ(0, submit(fd, &cmd, 8, NULL, 0, CIM_SUBMIT_FENCE_OUT, &s));
	/* The open file holds the module: delete_module refuses */
	r = syscall(SYS_delete_module, "cim", O_NONBLOCK);
	EXPECT_EQ(-1, r);
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY)
		TH_LOG("delete_module: %s", strerror(errno));
	EXPECT_EQ(0, sync_wait(s.fence_fd, 5000));
	close(s.fence_fd);
	bo_free(fd, &cmd);
	close(fd);
	EXPECT_EQ(0, access("/dev/cim0", F_OK));
}

TEST_HARNESS_MAIN
