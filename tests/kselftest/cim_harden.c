// SPDX-License-Identifier: GPL-2.0-only
/*
 * Regression tests of the driver's hardening (issue 12), run in the guest
 * with kselftest_harness.h: each test failed on the driver before its fix.
 *
 * BO_CREATE racing BO_DESTROY through a stalled copy-out, buffer quotas and
 * memory-cgroup charging, a SUBMIT of exactly max_cmdbuf bytes, WAIT with a
 * deadline of ~0, a long job aborted without a reset, units scrubbed when
 * they change hands, resets racing each other, unbind and re-bind with a
 * job in flight, and the tracepoints.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include "cim_hw.h"
#include "uapi/misc/cim.h"

#include "kselftest_harness.h"

#include "cim_util.h"

#define MIB (1ul << 20)

static int bo_create(int fd, __u64 size, __u32 *handle)
{
	struct cim_bo_create c = { .size = size };

	if (ioctl(fd, CIM_IOCTL_BO_CREATE, &c))
		return -errno;
	*handle = c.handle;
	return 0;
}

static int bo_destroy(int fd, __u32 handle)
{
	struct cim_bo_destroy d = { .handle = handle };

	return ioctl(fd, CIM_IOCTL_BO_DESTROY, &d) ? -errno : 0;
}

/* The PCI address of /dev/cim@index, e.g. "0000:00:03.0" */
static int pci_name(int index, char *name, size_t size)
{
	char path[64], link[PATH_MAX];
	ssize_t n;
	char *base;

	snprintf(path, sizeof(path), "/sys/class/misc/cim%d/device", index);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = 0;
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	if (strlen(base) >= size)
		return -ENAMETOOLONG;
	memcpy(name, base, strlen(base) + 1);
	return 0;
}

static int device_state_is(int index, const char *state)
{
	char path[64], buf[32];

	snprintf(path, sizeof(path), "/sys/class/misc/cim%d/device_state",
		 index);
	if (read_file(path, buf, sizeof(buf)))
		return 0;
	return !strncmp(buf, state, strlen(state));
}

/* A NOP job on a new file of /dev/cim@index; 0 when it completes OK */
static int nop_job_ok(int index)
{
	struct cim_submit s;
	struct cim_wait w;
	struct bo cmd;
	int fd, ret;

	fd = cim_open_dev(index);
	if (fd < 0)
		return -errno;
	ret = bo_new(fd, PAGE, &cmd);
	if (!ret) {
		put_nop(cmd.map);
		ret = submit(fd, &cmd, 8, NULL, 0, 0, &s);
	}
	if (!ret)
		ret = wait_job(fd, s.seqno, 20000, &w);
	if (!ret && w.status != CIM_ST_OK)
		ret = -EIO;
	close(fd);
	return ret;
}

/*
 * A job that runs for minutes: nearly 4 MiB of forward VMMs of the whole
 * first crossbar. Returns the number of packets.
 */
static unsigned int put_long_job(struct bo *cmd, const struct cim_device_info *info)
{
	/* Short of max_cmdbuf, which has a test (and once a bug) of its own */
	unsigned int n = (cmd->size - PAGE) / sizeof(struct cim_pkt_vmm), i;
	unsigned int batch = info->max_batch < 64 ? info->max_batch : 64;
	struct cim_pkt_vmm *v = cmd->map;

	for (i = 0; i < n; i++)
		put_vmm(&v[i], 0, info->xbar_rows, info->xbar_cols, batch,
			CIM_REF(0, 0), CIM_REF(0, 2 * MIB));
	return n;
}

/* Tests that take longer than the harness's default 30 s allow */
FIXTURE(slow) {
	int unused;
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

/* BO_CREATE ---------------------------------------------------------------- */

struct create_call {
	int fd;
	void *args;
	int ret;
};

static void *create_thread(void *p)
{
	struct create_call *c = p;

	c->ret = ioctl(c->fd, CIM_IOCTL_BO_CREATE, c->args) ? -errno : 0;
	return NULL;
}

/*
 * The copy-out of BO_CREATE stalls on a write-protected page (userfaultfd);
 * meanwhile another thread destroys the handle it is about to return, then
 * the copy-out fails. The handle must not exist until the caller has it.
 */
TEST(bo_create_copyout_race)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_PAGEFAULT_FLAG_WP,
	};
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { 0 };
	struct cim_bo_create *args;
	struct create_call call;
	struct uffd_msg msg;
	struct pollfd pfd;
	pthread_t thread;
	__u32 handle = 0;
	int fd, uffd;
	char *page;

	fd = cim_open_dev(0);
	if (fd < 0)
		SKIP(return, "no /dev/cim0");
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		SKIP(return, "userfaultfd: %s", strerror(errno));
	if (ioctl(uffd, UFFDIO_API, &api))
		SKIP(return, "userfaultfd write-protect: %s", strerror(errno));
	page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	memset(page, 0, PAGE);
	args = (void *)page;
	args->size = PAGE;
	reg.range.start = (uintptr_t)page;
	reg.range.len = PAGE;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		SKIP(return, "UFFDIO_REGISTER_MODE_WP: %s", strerror(errno));
	wp.range = reg.range;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_WRITEPROTECT, &wp));

	call.fd = fd;
	call.args = args;
	ASSERT_EQ(0, pthread_create(&thread, NULL, create_thread, &call));
	pfd.fd = uffd;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, 10000)) TH_LOG("copy-out never stalled");
	ASSERT_EQ(sizeof(msg), read(uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);

	/* The first handle of a file is 1: it must not be visible yet */
	EXPECT_EQ(-ENOENT, bo_destroy(fd, 1));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd,
				   1ull << 32));

	/* Let the copy-out fail: read-only, then wake it */
	ASSERT_EQ(0, mprotect(page, PAGE, PROT_READ));
	wp.mode = 0;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_WRITEPROTECT, &wp));
	pthread_join(thread, NULL);
	EXPECT_EQ(-EFAULT, call.ret);

	/* Nothing is left behind, and the handle is free again */
	EXPECT_EQ(-ENOENT, bo_destroy(fd, 1));
	ASSERT_EQ(0, bo_create(fd, PAGE, &handle));
	EXPECT_EQ(1, handle);
	EXPECT_EQ(0, bo_destroy(fd, handle));
	close(uffd);
	munmap(page, PAGE);
	close(fd);
}

/* Quotas ------------------------------------------------------------------- */

#define QUOTA_MB	"/sys/module/cim/parameters/bo_quota_mb"
#define QUOTA_COUNT	"/sys/module/cim/parameters/bo_quota_count"

TEST(bo_quota)
{
	__u32 h[16], extra;
	struct bo mapped;
	int fd, fd2, n;

	fd = cim_open_dev(0);
	if (fd < 0)
		SKIP(return, "no /dev/cim0");
	fd2 = cim_open_dev(0);
	ASSERT_GE(fd2, 0);
	ASSERT_EQ(0, write_file(QUOTA_MB, "8"));

	for (n = 0; n < 16; n++)
		if (bo_create(fd, MIB, &h[n]))
			break;
	EXPECT_EQ(8, n);
	EXPECT_EQ(-EDQUOT, bo_create(fd, MIB, &extra));
	/* Another file has a quota of its own */
	EXPECT_EQ(0, bo_create(fd2, MIB, &extra));
	/* Destroying a buffer gives its room back... */
	EXPECT_EQ(0, bo_destroy(fd, h[--n]));
	EXPECT_EQ(0, bo_create(fd, MIB, &h[n++]));
	/* ... but not while a mapping keeps its memory alive */
	EXPECT_EQ(0, bo_destroy(fd, h[--n]));
	ASSERT_EQ(0, bo_new(fd, MIB, &mapped));
	EXPECT_EQ(0, bo_destroy(fd, mapped.handle));
	EXPECT_EQ(-EDQUOT, bo_create(fd, MIB, &extra));
	munmap(mapped.map, MIB);
	EXPECT_EQ(0, bo_create(fd, MIB, &extra));

	ASSERT_EQ(0, write_file(QUOTA_MB, "256"));
	ASSERT_EQ(0, write_file(QUOTA_COUNT, "3"));
	close(fd);
	fd = cim_open_dev(0);
	ASSERT_GE(fd, 0);
	for (n = 0; n < 16; n++)
		if (bo_create(fd, PAGE, &h[n]))
			break;
	EXPECT_EQ(3, n);
	ASSERT_EQ(0, write_file(QUOTA_COUNT, "4096"));
	close(fd);
	close(fd2);
}

#define CGROUP		"/sys/fs/cgroup"
#define CGROUP_TEST	CGROUP "/cim-test"

/* Buffers count in the memory cgroup of the process that creates them */
TEST(bo_memcg_charge)
{
	char buf[256];
	int status, pipefd[2];
	long used[2] = { 0, 0 };
	int result[2] = { 0, 0 };
	pid_t pid;

	if (access(CGROUP "/cgroup.controllers", F_OK)) {
		mkdir(CGROUP, 0755);
		if (mount("cgroup2", CGROUP, "cgroup2", 0, NULL))
			SKIP(return, "no cgroup2: %s", strerror(errno));
	}
	if (read_file(CGROUP "/cgroup.controllers", buf, sizeof(buf)) ||
	    !strstr(buf, "memory"))
		SKIP(return, "no memory controller");
	ASSERT_EQ(0, write_file(CGROUP "/cgroup.subtree_control", "+memory"));
	rmdir(CGROUP_TEST);
	ASSERT_EQ(0, mkdir(CGROUP_TEST, 0755));
	ASSERT_EQ(0, write_file(CGROUP_TEST "/memory.max", "24M"));
	ASSERT_EQ(0, pipe(pipefd));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		long before, after;
		__u32 handle;
		int fd, n, ret = 0;

		snprintf(buf, sizeof(buf), "%d", getpid());
		if (write_file(CGROUP_TEST "/cgroup.procs", buf))
			_exit(2);
		fd = cim_open_dev(0);
		if (fd < 0)
			_exit(3);
		read_file(CGROUP_TEST "/memory.current", buf, sizeof(buf));
		before = atol(buf);
		for (n = 0; n < 4; n++)
			bo_create(fd, MIB, &handle);
		read_file(CGROUP_TEST "/memory.current", buf, sizeof(buf));
		after = atol(buf);
		/* Without a charge the quota (256 MiB) would stop it first */
		for (n = 4; n < 64; n++) {
			ret = bo_create(fd, MIB, &handle);
			if (ret)
				break;
		}
		result[0] = n;
		result[1] = ret;
		used[0] = before;
		used[1] = after;
		if (write(pipefd[1], used, sizeof(used)) < 0 ||
		    write(pipefd[1], result, sizeof(result)) < 0)
			_exit(4);
		_exit(0);
	}
	close(pipefd[1]);
	ASSERT_EQ(sizeof(used), read(pipefd[0], used, sizeof(used)));
	ASSERT_EQ(sizeof(result), read(pipefd[0], result, sizeof(result)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(pipefd[0]);
	TH_LOG("4 MiB of buffers: memory.current %ld -> %ld; %d buffers fit in 24 MiB, then %d",
	       used[0], used[1], result[0], result[1]);
	EXPECT_GE(used[1] - used[0], 4 * MIB);
	EXPECT_LT(result[0], 24);
	EXPECT_EQ(-ENOMEM, result[1]);
	rmdir(CGROUP_TEST);
}

/* SUBMIT and WAIT ---------------------------------------------------------- */

/* max_cmdbuf is valid by the spec: it runs, without a warning */
TEST(submit_max_cmdbuf)
{
	struct cim_device_info info;
	struct cim_submit s;
	struct cim_wait w;
	struct bo cmd;
	unsigned int i;
	int fd;

	fd = cim_open_dev(0);
	if (fd < 0)
		SKIP(return, "no /dev/cim0");
	ASSERT_EQ(0, cim_info(fd, &info));
	ASSERT_EQ(0, bo_new(fd, info.max_cmdbuf, &cmd));
	for (i = 0; i < info.max_cmdbuf / 8; i++)
		put_nop((char *)cmd.map + 8 * i);
	ASSERT_EQ(0, submit(fd, &cmd, info.max_cmdbuf, NULL, 0, 0, &s));
	ASSERT_EQ(0, wait_job(fd, s.seqno, 60000, &w));
	EXPECT_EQ(CIM_ST_OK, w.status);
	EXPECT_EQ(info.max_cmdbuf / 8, w.cmds_done);
	close(fd);
}

/* A deadline at or past 2^63 ns waits until the job ends */
TEST_F_TIMEOUT(slow, wait_deadline_forever, 60)
{
	struct cim_submit s;
	struct cim_wait w = { 0 };
	struct bo cmd;
	__u64 start;
	int fd, index;

	fd = cim_open_fault(&index);
	if (fd < 0)
		SKIP(return, "no device with fault injection");
	ASSERT_EQ(0, sysfs_write(index, "job_timeout_ms", "500"));
	ASSERT_EQ(0, bo_new(fd, PAGE, &cmd));
	put_nop(cmd.map);
	ASSERT_EQ(0, inject_fault(index, CIM_FAULT_HANG_NEXT));
	ASSERT_EQ(0, submit(fd, &cmd, 8, NULL, 0, 0, &s));
	start = now_ns();
	w.seqno = s.seqno;
	w.timeout_ns = ~0ull;
	EXPECT_EQ(0, ioctl(fd, CIM_IOCTL_WAIT, &w)) TH_LOG("%s",
							  strerror(errno));
	EXPECT_EQ(CIM_JOB_TIMEDOUT, w.status);
	EXPECT_GE(now_ns() - start, 400000000ull);
	sysfs_write(index, "job_timeout_ms", "5000");
	close(fd);
}

/* Abort -------------------------------------------------------------------- */

/*
 * A job that runs past the timeout is aborted at a packet boundary: its
 * owner gets CIM_JOB_TIMEDOUT, and nobody else notices (no reset, no
 * weights lost, no file guilty).
 */
TEST_F_TIMEOUT(slow, long_job_aborted_alone, 120)
{
	struct cim_device_info info;
	struct bo cmd, data, cmd2, data2;
	struct cim_ctx_state st;
	struct cim_submit s, s2;
	struct cim_wait w, w2;
	unsigned int npkt;
	long resets, timed_out;
	__u32 bos[1];
	int fd, fd2;

	fd = cim_open_dev(0);
	if (fd < 0)
		SKIP(return, "no /dev/cim0");
	ASSERT_EQ(0, cim_info(fd, &info));
	if (!(info.hw_caps & CIM_CAPS_ABORT) || info.xbar_count < 2)
		SKIP(return, "no abort, or fewer than 2 crossbars");
	fd2 = cim_open_dev(0);
	ASSERT_GE(fd2, 0);
	ASSERT_EQ(0, reserve(fd, CIM_IOCTL_XBAR_RESERVE, 1));
	ASSERT_EQ(0, reserve(fd2, CIM_IOCTL_XBAR_RESERVE, 2));
	ASSERT_EQ(0, bo_new(fd, info.max_cmdbuf, &cmd));
	ASSERT_EQ(0, bo_new(fd, 4 * MIB, &data));
	ASSERT_EQ(0, bo_new(fd2, PAGE, &cmd2));
	ASSERT_EQ(0, bo_new(fd2, PAGE, &data2));
	ASSERT_EQ(0, cim_ctx(fd2, &st, CIM_QUERY_F_ACK_RESET));
	resets = sysfs_read(0, "reset_count");
	timed_out = sysfs_read(0, "jobs_timed_out");
	ASSERT_EQ(0, sysfs_write(0, "job_timeout_ms", "300"));

	npkt = put_long_job(&cmd, &info);
	bos[0] = data.handle;
	ASSERT_EQ(0, submit(fd, &cmd, npkt * sizeof(struct cim_pkt_vmm), bos, 1,
			    0, &s));
	/* The other file's job waits behind it */
	put_nop(cmd2.map);
	ASSERT_EQ(0, submit(fd2, &cmd2, 8, NULL, 0, 0, &s2));

	ASSERT_EQ(0, wait_job(fd, s.seqno, 60000, &w));
	EXPECT_EQ(CIM_JOB_TIMEDOUT, w.status);
	EXPECT_GT(w.cmds_done, 0);
	EXPECT_LT(w.cmds_done, npkt);
	EXPECT_EQ(w.cmds_done * sizeof(struct cim_pkt_vmm), w.error_offset);
	TH_LOG("aborted after %u of %u packets", w.cmds_done, npkt);

	ASSERT_EQ(0, wait_job(fd2, s2.seqno, 10000, &w2));
	EXPECT_EQ(CIM_ST_OK, w2.status);
	EXPECT_EQ(resets, sysfs_read(0, "reset_count"));
	EXPECT_EQ(timed_out + 1, sysfs_read(0, "jobs_timed_out"));
	ASSERT_EQ(0, cim_ctx(fd2, &st, 0));
	EXPECT_EQ(0, st.flags);
	/* The owner is not guilty: it may go on */
	ASSERT_EQ(0, cim_ctx(fd, &st, 0));
	EXPECT_EQ(0, st.flags & CIM_CTX_GUILTY);
	put_nop(cmd.map);
	ASSERT_EQ(0, submit(fd, &cmd, 8, NULL, 0, 0, &s));
	ASSERT_EQ(0, wait_job(fd, s.seqno, 10000, &w));
	EXPECT_EQ(CIM_ST_OK, w.status);

	sysfs_write(0, "job_timeout_ms", "5000");
	close(fd2);
	close(fd);
}

/* Scrub -------------------------------------------------------------------- */

static void put_ap_rows(void *p, __u16 opcode, __u32 nrows, __u64 addr)
{
	struct cim_pkt_ap_rows *r = p;

	memset(r, 0, sizeof(*r));
	r->hdr.opcode = opcode;
	r->hdr.size = sizeof(*r);
	r->what = CIM_AP_READ_ROWS;
	r->nrows = nrows;
	r->ncols = 64;
	r->addr = addr;
}

/* Run @size bytes of @cmd against @data; returns the status */
static int run(int fd, struct bo *cmd, __u32 size, struct bo *data)
{
	struct cim_submit s = { 0 };
	struct cim_wait w;
	__u32 bos[1] = { data->handle };
	int ret;

	ret = submit(fd, cmd, size, bos, 1, 0, &s);
	if (!ret)
		ret = wait_job(fd, s.seqno, 30000, &w);
	return ret ? ret : (int)w.status;
}

/* Crossbars and APs another file held start clean for the next owner */
TEST(units_scrubbed_between_owners)
{
	const unsigned int R = 32, C = 32, NR = 64;
	struct cim_device_info info;
	struct bo cmd, data;
	float *w, *rd;
	__u64 *rows;
	unsigned int i, clean, kept;
	int fd;

	fd = cim_open_dev(0);
	if (fd < 0)
		SKIP(return, "no /dev/cim0");
	ASSERT_EQ(0, cim_info(fd, &info));
	ASSERT_EQ(0, bo_new(fd, PAGE, &cmd));
	ASSERT_EQ(0, bo_new(fd, 4 * PAGE, &data));
	w = data.map;
	rows = (__u64 *)((char *)data.map + 2 * PAGE);
	for (i = 0; i < R * C; i++)
		w[i] = i % 2 ? 0.5f : -0.5f;
	for (i = 0; i < NR; i++)
		rows[i] = ~0ull;
	ASSERT_EQ(0, reserve(fd, CIM_IOCTL_XBAR_RESERVE, 1));
	put_program(cmd.map, R, C, CIM_REF(0, 0));
	ASSERT_EQ(CIM_ST_OK, run(fd, &cmd, sizeof(struct cim_pkt_xbar_program),
				 &data));
	if (info.ap_count) {
		ASSERT_EQ(0, reserve(fd, CIM_IOCTL_AP_RESERVE, 1));
		put_ap_rows(cmd.map, CIM_OP_AP_LOAD_ROWS, NR,
			    CIM_REF(0, 2 * PAGE));
		((struct cim_pkt_ap_rows *)cmd.map)->what = 0;
		ASSERT_EQ(CIM_ST_OK, run(fd, &cmd,
					 sizeof(struct cim_pkt_ap_rows), &data));
	}
	/* A mapping keeps the file open: the units go with the last one */
	munmap(cmd.map, cmd.size);
	munmap(data.map, data.size);
	close(fd);

	/* The next owner reads what is left */
	fd = cim_open_dev(0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, bo_new(fd, PAGE, &cmd));
	ASSERT_EQ(0, bo_new(fd, 4 * PAGE, &data));
	ASSERT_EQ(0, reserve(fd, CIM_IOCTL_XBAR_RESERVE, 1));
	rd = data.map;
	put_read(cmd.map, R, C, CIM_REF(0, 0));
	ASSERT_EQ(CIM_ST_OK, run(fd, &cmd, sizeof(struct cim_pkt_xbar_read),
				 &data));
	/*
	 * Every device back at its own floor: a pair reads the difference of
	 * two floors, which the device-to-device spread makes a few hundredths
	 * of a weight, far below the old +-0.5
	 */
	for (i = 0, clean = 0, kept = 0; i < R * C; i++) {
		clean += fabsf(rd[i]) < 0.25f;
		kept += fabsf(rd[i] - (i % 2 ? 0.5f : -0.5f)) < 0.1f;
	}
	/* Stuck devices stay where they are stuck; all others near 0 */
	EXPECT_GE(clean, R * C * 9 / 10) TH_LOG("%u of %u cells at 0", clean,
						R * C);
	EXPECT_LE(kept, R * C / 20) TH_LOG("%u cells kept the old weight",
					   kept);
	if (info.ap_count) {
		rows = (__u64 *)((char *)data.map + 2 * PAGE);
		memset(rows, 0xa5, NR * 8);
		ASSERT_EQ(0, reserve(fd, CIM_IOCTL_AP_RESERVE, 1));
		put_ap_rows(cmd.map, CIM_OP_AP_READ, NR, CIM_REF(0, 2 * PAGE));
		ASSERT_EQ(CIM_ST_OK, run(fd, &cmd,
					 sizeof(struct cim_pkt_ap_rows), &data));
		for (i = 0; i < NR; i++)
			EXPECT_EQ(0, rows[i]) TH_LOG("AP row %u", i);
	}
	close(fd);
}

/* Resets, unbind ----------------------------------------------------------- */

struct reset_loop {
	char path[128];
	int n, ok, busy, other;
};

static void *reset_thread(void *p)
{
	struct reset_loop *r = p;
	int i, ret;

	for (i = 0; i < r->n; i++) {
		ret = write_file(r->path, "1");
		if (!ret)
			r->ok++;
		else if (ret == -EBUSY)
			r->busy++;
		else
			r->other++;
	}
	return NULL;
}

/* A PCI function reset racing the driver's own reset leaves it working */
TEST_F_TIMEOUT(slow, resets_race, 120)
{
	struct reset_loop pci = { .n = 20 }, drv = { .n = 20 };
	pthread_t t1, t2;
	char name[32];
	int fd;

	fd = cim_open_dev(0);
	if (fd < 0)
		SKIP(return, "no /dev/cim0");
	close(fd);
	ASSERT_EQ(0, pci_name(0, name, sizeof(name)));
	snprintf(pci.path, sizeof(pci.path), "/sys/bus/pci/devices/%s/reset",
		 name);
	snprintf(drv.path, sizeof(drv.path), "/sys/class/misc/cim0/reset");
	ASSERT_EQ(0, pthread_create(&t1, NULL, reset_thread, &pci));
	ASSERT_EQ(0, pthread_create(&t2, NULL, reset_thread, &drv));
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	TH_LOG("function resets %d ok %d other; driver resets %d ok, %d busy, %d other",
	       pci.ok, pci.other, drv.ok, drv.busy, drv.other);
	EXPECT_EQ(20, pci.ok);
	EXPECT_EQ(0, drv.other);
	EXPECT_TRUE(device_state_is(0, "operational"));
	EXPECT_EQ(0, nop_job_ok(0));
}

/*
 * Unbinding with a job in flight stops it, takes back the memory of the
 * buffers an open file still holds (its mappings then show a copy), and
 * the device binds again.
 */
TEST_F_TIMEOUT(slow, unbind_with_job_in_flight, 120)
{
	struct cim_device_info info;
	struct bo cmd, data;
	struct cim_submit s;
	char name[32], dev[32];
	unsigned int npkt, i;
	__u32 bos[1];
	int fd, index = 1, status;
	pid_t pid;

	fd = cim_open_dev(index);
	if (fd < 0)
		SKIP(return, "no /dev/cim1");
	ASSERT_EQ(0, pci_name(index, name, sizeof(name)));
	ASSERT_EQ(0, cim_info(fd, &info));
	ASSERT_EQ(0, reserve(fd, CIM_IOCTL_XBAR_RESERVE, 1));
	ASSERT_EQ(0, bo_new(fd, info.max_cmdbuf, &cmd));
	ASSERT_EQ(0, bo_new(fd, 4 * MIB, &data));
	npkt = put_long_job(&cmd, &info);
	bos[0] = data.handle;
	ASSERT_EQ(0, submit(fd, &cmd, npkt * sizeof(struct cim_pkt_vmm), bos, 1,
			    0, &s));
	/* A page the job does not touch (x at 0, y at 2 MiB) */
	memset((char *)data.map + MIB, 0x5a, PAGE);

	ASSERT_EQ(0, write_file("/sys/bus/pci/drivers/cim/unbind", name));
	/* The file stays open on a device that is gone */
	EXPECT_EQ(-ENODEV, nop_job_ok(index) == -ENOENT ? -ENODEV :
		  submit(fd, &cmd, 8, NULL, 0, 0, NULL));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd,
				   (__u64)data.handle << 32));
	/*
	 * Its buffers' DMA memory went back with the device: a mapping shows
	 * a copy of what was there, and the process lives on.
	 */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		volatile unsigned char *p = (unsigned char *)data.map + MIB;

		if (p[0] != 0x5a || p[PAGE - 1] != 0x5a)
			_exit(1);
		p[0] = 0xa5;
		_exit(p[0] == 0xa5 ? 0 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("status %#x", status);
	munmap(cmd.map, cmd.size);
	munmap(data.map, data.size);
	close(fd);

	ASSERT_EQ(0, write_file("/sys/bus/pci/drivers/cim/bind", name));
	snprintf(dev, sizeof(dev), "/dev/cim%d", index);
	for (i = 0; i < 100 && access(dev, F_OK); i++)
		usleep(20000);
	EXPECT_TRUE(device_state_is(index, "operational"));
	EXPECT_EQ(0, nop_job_ok(index));
}

/* Tracepoints -------------------------------------------------------------- */

#define TRACEFS "/sys/kernel/tracing"

TEST(tracepoints)
{
	static char trace[1 << 16];
	struct cim_submit s;
	struct cim_wait w;
	struct bo cmd;
	char want[64];
	int fd, tfd;
	ssize_t n, len = 0;

	if (access(TRACEFS "/events", F_OK) &&
	    mount("tracefs", TRACEFS, "tracefs", 0, NULL))
		SKIP(return, "no tracefs: %s", strerror(errno));
	ASSERT_EQ(0, access(TRACEFS "/events/cim", F_OK));
	fd = cim_open_dev(0);
	if (fd < 0)
		SKIP(return, "no /dev/cim0");
	ASSERT_EQ(0, write_file(TRACEFS "/trace", ""));
	ASSERT_EQ(0, write_file(TRACEFS "/events/cim/enable", "1"));
	ASSERT_EQ(0, bo_new(fd, PAGE, &cmd));
	put_nop(cmd.map);
	ASSERT_EQ(0, submit(fd, &cmd, 8, NULL, 0, 0, &s));
	ASSERT_EQ(0, wait_job(fd, s.seqno, 10000, &w));
	ASSERT_EQ(0, write_file(TRACEFS "/events/cim/enable", "0"));
	close(fd);

	tfd = open(TRACEFS "/trace", O_RDONLY);
	ASSERT_GE(tfd, 0);
	while ((n = read(tfd, trace + len, sizeof(trace) - 1 - len)) > 0)
		len += n;
	trace[len] = 0;
	close(tfd);
	snprintf(want, sizeof(want), "seqno=%llu ", (unsigned long long)s.seqno);
	EXPECT_NE(NULL, strstr(trace, "cim_job_submit:")) TH_LOG("%s", trace);
	EXPECT_NE(NULL, strstr(trace, want));
	EXPECT_NE(NULL, strstr(trace, "cim_job_start:"));
	EXPECT_NE(NULL, strstr(trace, "cim_job_complete:"));
	EXPECT_NE(NULL, strstr(trace, "status=0x0 error=0"));
}

TEST_HARNESS_MAIN
