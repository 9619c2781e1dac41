// SPDX-License-Identifier: MIT
/*
 * Jobs and fences: submission, waiting, results, and fence fds that are
 * sync_files (kernel) or eventfds (embedded) behind the same calls.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libsync.h>

#include "cim_priv.h"

/* @fence: the caller may ask for the job's fence fd */
static int submit(struct cim_cmdbuf *cb, struct cim_job **out, bool fence)
{
	struct cim_job *job;
	unsigned int i;
	int ret;

	if (!cb || !cb->count)
		return -EINVAL;
	job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	if (pthread_mutex_init(&job->lock, NULL)) {
		ret = -ENOMEM;
		goto fail_lock;
	}
	job->dev = cb->dev;
	job->fence_fd = -1;
	job->no_fence = !fence;
	ret = cb->dev->ops->submit(cb->dev, cb, job);
	if (ret)
		goto fail_submit;
	/* What the job names lives until the job is released */
	for (i = 0; i < cb->nbufs; i++) {
		cim__buffer_get(cb->bufs[i]);
		job->bufs[job->nbufs++] = cb->bufs[i];
	}
	cim__device_get(job->dev);
	if (out)
		*out = job;
	else
		cim_job_release(job);
	return 0;

fail_submit:
	pthread_mutex_destroy(&job->lock);
fail_lock:
	free(job);
	return ret;
}

int cim_submit(struct cim_cmdbuf *cb, struct cim_job **out)
{
	return submit(cb, out, true);
}

void cim__job_complete(struct cim_job *job,
		       const struct cim_job_completion *done)
{
	job->res = (struct cim_job_result) {
		.error = cim_status_errno(done->status),
		.status = done->status,
		.cmds_done = done->cmds_done,
		/* the device stops at the first failing packet */
		.error_cmd = done->cmds_done,
		.error_offset = done->error_offset,
		.error_field = done->error_field,
		.energy_fj = done->energy_fj,
		.device_time_ps = done->device_time_ps,
	};
	job->done = true;
}

int cim_job_wait_until(struct cim_job *job, uint64_t deadline_ns)
{
	int ret;

	if (!job)
		return -EINVAL;
	pthread_mutex_lock(&job->lock);
	ret = job->done ? 0 : job->dev->ops->wait(job, deadline_ns);
	if (!ret)
		ret = job->res.error;
	pthread_mutex_unlock(&job->lock);
	return ret;
}

int cim_job_wait(struct cim_job *job, int64_t timeout_ns)
{
	uint64_t deadline;

	if (timeout_ns < 0)
		deadline = INT64_MAX;	/* the driver's deadline is signed */
	else if (!timeout_ns)
		deadline = 0;		/* WAIT polls */
	else
		deadline = cim__now_ns() + (uint64_t)timeout_ns;
	return cim_job_wait_until(job, deadline);
}

int cim_job_result(struct cim_job *job, struct cim_job_result *res)
{
	int ret = 0;

	if (!job || !res)
		return -EINVAL;
	pthread_mutex_lock(&job->lock);
	if (job->done)
		*res = job->res;
	else
		ret = -ETIME;
	pthread_mutex_unlock(&job->lock);
	return ret;
}

int cim_job_fence_fd(const struct cim_job *job)
{
	return job ? job->fence_fd : -EINVAL;
}

void cim_job_release(struct cim_job *job)
{
	struct cim_device *dev;
	unsigned int i;

	if (!job)
		return;
	dev = job->dev;
	for (i = 0; i < job->nbufs; i++)
		cim__buffer_put(job->bufs[i]);
	if (job->fence_fd >= 0)
		close(job->fence_fd);
	pthread_mutex_destroy(&job->lock);
	free(job);
	cim__device_put(dev);
}

int cim_run(struct cim_cmdbuf *cb, struct cim_job_result *res)
{
	struct cim_job *job;
	int ret;

	/* nobody sees this job's fence: the embedded backend makes none */
	ret = submit(cb, &job, false);
	if (ret)
		return ret;
	ret = cim_job_wait(job, -1);
	if (res)
		cim_job_result(job, res);
	cim_job_release(job);
	return ret;
}

int cim_fence_wait(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int ret;

	if (fd < 0)
		return -EINVAL;
	do {
		ret = poll(&p, 1, timeout_ms < 0 ? -1 : timeout_ms);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	if (!ret)
		return -ETIME;
	return p.revents & POLLNVAL ? -EBADF : 0;
}

static int dup_cloexec(int fd)
{
	int ret = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	return ret < 0 ? -errno : ret;
}

int cim_fence_merge(int fd1, int fd2)
{
	bool sig1, sig2;
	int ret;

	if (fd1 < 0 || fd2 < 0)
		return -EINVAL;
	ret = sync_merge("cim", fd1, fd2);
	if (ret >= 0)
		return ret;
	/* Not two sync_files (an embedded eventfd): signalled ones drop out */
	sig1 = !cim_fence_wait(fd1, 0);
	sig2 = !cim_fence_wait(fd2, 0);
	if (sig1 && sig2) {
		ret = eventfd(1, EFD_CLOEXEC);
		return ret < 0 ? -errno : ret;
	}
	if (sig1)
		return dup_cloexec(fd2);
	if (sig2)
		return dup_cloexec(fd1);
	return -EINVAL;
}
