// SPDX-License-Identifier: GPL-2.0-only
/*
 * Recovery in cim.ko, run in the guest with kselftest_harness.h on the
 * device with fault injection: hang recovery (the guilty file and the
 * bystander), a hang then close, the reset uevent, a PCI function reset,
 * signals during WAIT, a full ring, and the other injected faults.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>

#include <libsync.h>

#include "cim_hw.h"
#include "uapi/misc/cim.h"

#include "kselftest_harness.h"

#include "cim_util.h"

/* The reset uevent, seen as a udev "kernel" monitor sees it --------------- */

static int uevent_open(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = 1,		/* the kernel's multicast group */
	};
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
			NETLINK_KOBJECT_UEVENT);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait up to @ms for a change uevent of cim@index with CIM_EVENT=@what */
static int uevent_seen(int sock, int index, const char *what, int ms)
{
	char buf[4096], dev[32], ev[32];
	__u64 end = now_ns() + (__u64)ms * 1000000ull;

	snprintf(dev, sizeof(dev), "/cim%d", index);
	snprintf(ev, sizeof(ev), "CIM_EVENT=%s", what);
	while (now_ns() < end) {
		ssize_t n = recv(sock, buf, sizeof(buf) - 1, 0);
		bool change = false, mine = false, event = false;
		char *p;

		if (n <= 0)
			continue;
		buf[n] = 0;
		/* "change@/devices/...", then NUL-separated KEY=VALUE */
		for (p = buf; p < buf + n; p += strlen(p) + 1) {
			change |= !strcmp(p, "ACTION=change");
			mine |= !strncmp(p, "DEVPATH=", 8) &&
				strlen(p) > strlen(dev) &&
				!strcmp(p + strlen(p) - strlen(dev), dev);
			event |= !strcmp(p, ev);
		}
		if (change && mine && event)
			return 1;
	}
	return 0;
}

TEST(reset_uevent)
{
	long resets;
	int sock;

	if (access("/sys/class/misc/cim0", F_OK))
		SKIP(return, "no cim0");
	sock = uevent_open();
	ASSERT_GE(sock, 0) TH_LOG("netlink: %s", strerror(errno));
	resets = sysfs_read(0, "reset_count");
	ASSERT_EQ(0, sysfs_write(0, "reset", "1"));
	EXPECT_EQ(resets + 1, sysfs_read(0, "reset_count"));
	EXPECT_EQ(1, uevent_seen(sock, 0, "RESET", 5000));
	close(sock);
}

/* Hang recovery, on the device with fault injection ----------------------- */

FIXTURE(hang) {
	int unused;
};

FIXTURE_SETUP(hang)
{
}

FIXTURE_TEARDOWN(hang)
{
}

TEST_F_TIMEOUT(hang, recovery, 60)
{
	struct cim_ctx_state st;
	struct cim_submit sa, sb;
	struct cim_wait w;
	struct bo ca, cb;
	long resets;
	int a, b, c, index;

	a = cim_open_fault(&index);
	if (a < 0)
		SKIP(return, "no device with fault injection");
	b = cim_open_dev(index);
	ASSERT_GE(b, 0);
	ASSERT_EQ(0, sysfs_write(index, "job_timeout_ms", "500"));
	EXPECT_EQ(-ERANGE, sysfs_write(index, "job_timeout_ms", "1"));
	resets = sysfs_read(index, "reset_count");
	ASSERT_EQ(0, bo_new(a, PAGE, &ca));
	ASSERT_EQ(0, bo_new(b, PAGE, &cb));
	put_nop(ca.map);
	put_nop(cb.map);

	ASSERT_EQ(0, inject_fault(index, CIM_FAULT_HANG_NEXT));
	ASSERT_EQ(0, submit(a, &ca, 8, NULL, 0, CIM_SUBMIT_FENCE_OUT, &sa));
	ASSERT_EQ(0, submit(b, &cb, 8, NULL, 0, 0, &sb));

	/* Nothing completes before the timeout */
	EXPECT_EQ(-ETIME, wait_job(a, sa.seqno, 100, &w));
	ASSERT_EQ(0, wait_job(a, sa.seqno, 10000, &w));
	EXPECT_EQ(CIM_JOB_TIMEDOUT, w.status);
	ASSERT_EQ(0, wait_job(b, sb.seqno, 10000, &w));
	EXPECT_EQ(CIM_JOB_CANCELED, w.status);
	EXPECT_EQ(resets + 1, sysfs_read(index, "reset_count"));
	/* The sync_file is signaled too */
	EXPECT_EQ(0, sync_wait(sa.fence_fd, 0));
	close(sa.fence_fd);

	/* The guilty file is done for; the bystander lost its weights */
	EXPECT_EQ(-EBADFD, submit(a, &ca, 8, NULL, 0, 0, NULL));
	ASSERT_EQ(0, cim_ctx(a, &st, 0));
	EXPECT_TRUE(st.flags & CIM_CTX_GUILTY);
	ASSERT_EQ(0, cim_ctx(b, &st, CIM_QUERY_F_ACK_RESET));
	EXPECT_FALSE(st.flags & CIM_CTX_GUILTY);
	EXPECT_TRUE(st.flags & CIM_CTX_WEIGHTS_LOST);
	ASSERT_EQ(0, cim_ctx(b, &st, 0));
	EXPECT_FALSE(st.flags & CIM_CTX_WEIGHTS_LOST);
	ASSERT_EQ(0, submit(b, &cb, 8, NULL, 0, 0, &sb));
	ASSERT_EQ(0, wait_job(b, sb.seqno, 10000, &w));
	EXPECT_EQ(CIM_ST_OK, w.status);

	/* A new file works */
	c = cim_open_dev(index);
	ASSERT_GE(c, 0);
	close(a);
	close(b);
	close(c);
	sysfs_write(index, "job_timeout_ms", "5000");
}

TEST_F_TIMEOUT(hang, then_close, 60)
{
	struct bo cmd;
	int fd, index;
	long resets;

	fd = cim_open_fault(&index);
	if (fd < 0)
		SKIP(return, "no device with fault injection");
	ASSERT_EQ(0, sysfs_write(index, "job_timeout_ms", "500"));
	resets = sysfs_read(index, "reset_count");
	ASSERT_EQ(0, bo_new(fd, PAGE, &cmd));
	put_nop(cmd.map);
	ASSERT_EQ(0, inject_fault(index, CIM_FAULT_HANG_NEXT));
	ASSERT_EQ(0, submit(fd, &cmd, 8, NULL, 0, 0, NULL));
	ASSERT_EQ(0, submit(fd, &cmd, 8, NULL, 0, 0, NULL));
	close(fd);
	/* The hang check still finds and clears the hang */
	for (int i = 0; i < 100 && sysfs_read(index, "reset_count") == resets; i++)
		usleep(100000);
	EXPECT_EQ(resets + 1, sysfs_read(index, "reset_count"));
	EXPECT_EQ(0, sysfs_read(index, "jobs_in_flight"));
	sysfs_write(index, "job_timeout_ms", "5000");
}

/*
 * A function reset by the PCI core (sysfs "reset", here an FLR) while a job
 * hangs: the driver's reset hooks end it as canceled, blame no file, report
 * lost weights and the device takes work again, without the hang check.
 */
TEST_F_TIMEOUT(hang, function_reset, 60)
{
	char path[128], methods[128] = "";
	struct cim_ctx_state st;
	struct cim_submit s;
	struct cim_wait w;
	struct bo cmd;
	long resets;
	int fd, index, sock, mfd;
	ssize_t n;

	fd = cim_open_fault(&index);
	if (fd < 0)
		SKIP(return, "no device with fault injection");
	snprintf(path, sizeof(path),
		 "/sys/class/misc/cim%d/device/reset_method", index);
	mfd = open(path, O_RDONLY);
	if (mfd >= 0) {
		n = read(mfd, methods, sizeof(methods) - 1);
		methods[n > 0 ? n : 0] = 0;
		close(mfd);
	}
	TH_LOG("reset methods: %s", methods);
	ASSERT_EQ(0, sysfs_write(index, "job_timeout_ms", "30000"));
	resets = sysfs_read(index, "reset_count");
	sock = uevent_open();
	ASSERT_GE(sock, 0);
	ASSERT_EQ(0, bo_new(fd, PAGE, &cmd));
	put_nop(cmd.map);
	ASSERT_EQ(0, inject_fault(index, CIM_FAULT_HANG_NEXT));
	ASSERT_EQ(0, submit(fd, &cmd, 8, NULL, 0, CIM_SUBMIT_FENCE_OUT, &s));
	EXPECT_EQ(-ETIME, wait_job(fd, s.seqno, 100, &w));

	ASSERT_EQ(0, sysfs_write(index, "device/reset", "1"));
	ASSERT_EQ(0, wait_job(fd, s.seqno, 5000, &w));
	EXPECT_EQ(CIM_JOB_CANCELED, w.status);
	EXPECT_EQ(0, sync_wait(s.fence_fd, 0));
	close(s.fence_fd);
	EXPECT_EQ(resets + 1, sysfs_read(index, "reset_count"));
	EXPECT_EQ(1, uevent_seen(sock, index, "RESET", 5000));
	close(sock);

	ASSERT_EQ(0, cim_ctx(fd, &st, CIM_QUERY_F_ACK_RESET));
	EXPECT_FALSE(st.flags & CIM_CTX_GUILTY);
	EXPECT_TRUE(st.flags & CIM_CTX_WEIGHTS_LOST);
	ASSERT_EQ(0, submit(fd, &cmd, 8, NULL, 0, 0, &s));
	ASSERT_EQ(0, wait_job(fd, s.seqno, 10000, &w));
	EXPECT_EQ(CIM_ST_OK, w.status);
	EXPECT_EQ(0, sysfs_read(index, "jobs_in_flight"));
	close(fd);
	sysfs_write(index, "job_timeout_ms", "5000");
}

/* Signals, a full ring, injected faults ----------------------------------- */

static volatile sig_atomic_t cim_signals;

static void on_alarm(int sig)
{
	cim_signals++;
}

/* SIGALRM every @us without SA_RESTART, so that ioctls see EINTR */
static void alarm_every(long us)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = {
		.it_interval = { .tv_usec = us },
		.it_value = { .tv_usec = us },
	};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

static void alarm_off(void)
{
	struct itimerval it = { 0 };

	setitimer(ITIMER_REAL, &it, NULL);
	signal(SIGALRM, SIG_DFL);
}

/* drmIoctl(): repeat on EINTR and EAGAIN; counts the repeats */
static int drm_ioctl(int fd, unsigned long req, void *arg, int *eintr,
		     int *eagain)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
		if (r == -1 && errno == EINTR)
			(*eintr)++;
		if (r == -1 && errno == EAGAIN)
			(*eagain)++;
	} while (r == -1 && (errno == EINTR || errno == EAGAIN));
	return r;
}

FIXTURE(fault) {
	int fd, index;
	struct bo cmd;
};

FIXTURE_SETUP(fault)
{
	self->fd = cim_open_fault(&self->index);
	if (self->fd < 0)
		SKIP(return, "no device with fault injection");
	ASSERT_EQ(0, bo_new(self->fd, PAGE, &self->cmd));
	put_nop(self->cmd.map);
	ASSERT_EQ(0, sysfs_write(self->index, "job_timeout_ms", "1000"));
}

FIXTURE_TEARDOWN(fault)
{
	if (self->fd < 0)
		return;
	alarm_off();
	close(self->fd);
	sysfs_write(self->index, "job_timeout_ms", "5000");
}

TEST_F_TIMEOUT(fault, wait_signal_restart, 60)
{
	struct cim_submit s;
	struct cim_wait w = { 0 };
	int eintr = 0, eagain = 0, r;
	__u64 t0;

	ASSERT_EQ(0, inject_fault(self->index, CIM_FAULT_HANG_NEXT));
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0, 0, &s));
	alarm_every(50000);
	/* An absolute deadline survives the restarts: -ETIME on time */
	t0 = now_ns();
	w.seqno = s.seqno;
	w.timeout_ns = t0 + 300000000ull;
	r = drm_ioctl(self->fd, CIM_IOCTL_WAIT, &w, &eintr, &eagain);
	EXPECT_EQ(-1, r);
	EXPECT_EQ(ETIME, errno);
	EXPECT_GE(now_ns() - t0, 300000000ull);
	EXPECT_LT(now_ns() - t0, 900000000ull);
	/* Then until the hang check resets the device */
	w.timeout_ns = now_ns() + 10000000000ull;
	r = drm_ioctl(self->fd, CIM_IOCTL_WAIT, &w, &eintr, &eagain);
	alarm_off();
	EXPECT_EQ(0, r);
	EXPECT_EQ(CIM_JOB_TIMEDOUT, w.status);
	EXPECT_GT(eintr, 2);
	EXPECT_EQ(0, eagain);
	TH_LOG("%d EINTR, %d signals", eintr, (int)cim_signals);
}

TEST_F_TIMEOUT(fault, queue_full, 60)
{
	struct cim_device_info info;
	struct cim_submit s;
	struct cim_wait w;
	__u64 seqno = 0;
	int i, r, eintr = 0, other;
	struct bo ocmd;
	pid_t pid;
	int status;

	ASSERT_EQ(0, cim_info(self->fd, &info));
	ASSERT_EQ(0, inject_fault(self->index, CIM_FAULT_HANG_NEXT));
	/* The hung job holds the ring: max_inflight jobs fit, then SUBMIT blocks */
	for (i = 0; i < (int)info.max_inflight; i++) {
		ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0, 0, &s));
		EXPECT_EQ(seqno + 1, s.seqno);
		seqno = s.seqno;
	}
	EXPECT_EQ(info.max_inflight, sysfs_read(self->index, "jobs_in_flight"));
	alarm_every(100000);
	r = submit(self->fd, &self->cmd, 8, NULL, 0, 0, NULL);
	alarm_off();
	EXPECT_EQ(-EINTR, r);	/* blocked, never -EAGAIN */

	/* A bystander's submit blocks until the reset frees the ring */
	other = cim_open_dev(self->index);
	ASSERT_GE(other, 0);
	ASSERT_EQ(0, bo_new(other, PAGE, &ocmd));
	put_nop(ocmd.map);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct cim_submit cs;

		r = drm_ioctl(other, CIM_IOCTL_SUBMIT, &(struct cim_submit){
			.cmdbuf_handle = ocmd.handle, .cmdbuf_size = 8 },
			&eintr, &eintr);
		if (submit(other, &ocmd, 8, NULL, 0, 0, &cs))
			_exit(3);
		_exit(r ? 1 : cs.seqno == 2 ? 0 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* Every job ended, in order: the first hung, the others cancelled */
	ASSERT_EQ(0, wait_job(self->fd, 1, 0, &w));
	EXPECT_EQ(CIM_JOB_TIMEDOUT, w.status);
	for (i = 2; i <= (int)seqno; i++) {
		ASSERT_EQ(0, wait_job(self->fd, i, 0, &w));
		EXPECT_EQ(CIM_JOB_CANCELED, w.status);
	}
	EXPECT_EQ(-EBADFD, submit(self->fd, &self->cmd, 8, NULL, 0, 0, NULL));
	close(other);
}

/*
 * linux/sync_file.h's SYNC_IOC_FILE_INFO; libsync.h defines a clashing
 * struct sync_merge_data, so the header cannot be included next to it
 */
struct cim_sync_file_info {
	char name[32];
	__s32 status;
	__u32 flags;
	__u32 num_fences;
	__u32 pad;
	__u64 sync_fence_info;
};

#define CIM_SYNC_IOC_FILE_INFO	_IOWR('>', 4, struct cim_sync_file_info)

TEST_F(fault, dma_next)
{
	long resets = sysfs_read(self->index, "reset_count");
	struct cim_submit s;
	struct cim_wait w;

	ASSERT_EQ(0, inject_fault(self->index, CIM_FAULT_DMA_NEXT));
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0,
			    CIM_SUBMIT_FENCE_OUT, &s));
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 5000, &w));
	EXPECT_EQ(CIM_ST_DMA, w.status);
	/* The fence carries the error */
	EXPECT_EQ(0, sync_wait(s.fence_fd, 0));
	{
		struct cim_sync_file_info si = { 0 };

		ASSERT_EQ(0, ioctl(s.fence_fd, CIM_SYNC_IOC_FILE_INFO, &si));
		EXPECT_EQ(-EIO, si.status);
	}
	close(s.fence_fd);
	/* One job only; no reset */
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0, 0, &s));
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 5000, &w));
	EXPECT_EQ(CIM_ST_OK, w.status);
	EXPECT_EQ(resets, sysfs_read(self->index, "reset_count"));
}

TEST_F(fault, error_next)
{
	long resets = sysfs_read(self->index, "reset_count");
	struct cim_submit s;
	struct cim_wait w;

	ASSERT_EQ(0, inject_fault(self->index, CIM_FAULT_ERROR_NEXT));
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0, 0, &s));
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 5000, &w));
	EXPECT_EQ(CIM_ST_INJECTED, w.status);
	EXPECT_EQ(0, w.cmds_done);
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0, 0, &s));
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 5000, &w));
	EXPECT_EQ(CIM_ST_OK, w.status);
	EXPECT_EQ(resets, sysfs_read(self->index, "reset_count"));
	/* Bits outside the register are refused */
	EXPECT_EQ(-EINVAL, inject_fault(self->index, 0x80));
}

TEST_F_TIMEOUT(fault, counters_during_hang, 60)
{
	struct cim_wait w;
	struct cim_submit s;
	long jobs;

	/* A sysfs counters read queues behind a hung job and ends with it */
	ASSERT_EQ(0, inject_fault(self->index, CIM_FAULT_HANG_NEXT));
	ASSERT_EQ(0, submit(self->fd, &self->cmd, 8, NULL, 0, 0, &s));
	{
		char path[96], buf[64];
		int fd;

		snprintf(path, sizeof(path),
			 "/sys/class/misc/cim%d/counters/jobs", self->index);
		fd = open(path, O_RDONLY);
		ASSERT_GE(fd, 0);
		/* Cancelled by the reset that ends the hang */
		EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
		EXPECT_EQ(EIO, errno);
		close(fd);
	}
	ASSERT_EQ(0, wait_job(self->fd, s.seqno, 10000, &w));
	EXPECT_EQ(CIM_JOB_TIMEDOUT, w.status);
	/* The reset cleared the device's counters; they count again */
	jobs = counter_read(self->index, "jobs");
	EXPECT_GE(jobs, 0);
	EXPECT_GT(counter_read(self->index, "jobs"), jobs);
}

TEST_HARNESS_MAIN
