/* SPDX-License-Identifier: ((GPL-2.0-only WITH Linux-syscall-note) OR MIT) */
/*
 * cim: user-space interface of the cim compute-in-memory accelerator driver,
 * /dev/cimN. Documentation/uapi.rst describes it in prose.
 *
 * Rules: every struct is a multiple of 8 bytes, holds only __u32/__s32/__u64
 * fields, and every flag, pad and unused field must be zero. Structs grow by
 * appending fields; the kernel accepts an older (shorter) struct and rejects
 * a newer (longer) one whose unknown tail is not zero with -E2BIG. Unknown
 * ioctls fail with -ENOTTY.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef __UAPI_MISC_CIM_H__
#define __UAPI_MISC_CIM_H__

#include <linux/ioctl.h>
#include <linux/types.h>

#define CIM_API_MAJOR		1
#define CIM_API_MINOR		1

/**
 * DOC: addresses in command buffers
 *
 * User space never hands the device a bus address. Every address field of a
 * command packet (include/cim_hw.h) holds a buffer reference instead:
 * CIM_REF(index, offset), where @index selects an entry of the SUBMIT's
 * bo_handles array and @offset is a byte offset inside that buffer. The
 * driver checks that the bytes the packet will touch lie inside the buffer
 * and replaces the reference with the bus address. An optional address
 * (a report whose flag is clear) must be zero.
 */
#define CIM_REF(index, offset)	(((__u64)(index) << 32) | (__u32)(offset))
#define CIM_REF_INDEX(ref)	((__u32)((ref) >> 32))
#define CIM_REF_OFFSET(ref)	((__u32)(ref))

/**
 * struct cim_query - read device or context information (CIM_IOCTL_QUERY)
 * @data_ptr: user pointer to the result buffer
 * @query: %CIM_QUERY_DEVICE_INFO (struct cim_device_info) or
 *         %CIM_QUERY_CTX_STATE (struct cim_ctx_state)
 * @size: in: bytes at @data_ptr; 0 asks for the size only. out: the size of
 *        the full result. The kernel writes min(in, full) bytes.
 * @flags: %CIM_QUERY_F_ACK_RESET (CTX_STATE only) clears WEIGHTS_LOST after
 *         reporting it; other bits must be zero
 * @pad: must be zero
 */
struct cim_query {
	__u64 data_ptr;
	__u32 query;
	__u32 size;
	__u32 flags;
	__u32 pad;
};

#define CIM_QUERY_DEVICE_INFO	0
#define CIM_QUERY_CTX_STATE	1

#define CIM_QUERY_F_ACK_RESET	(1u << 0)

/*
 * Driver capabilities, struct cim_device_info.caps. Bits are as wide as
 * their field: (1ull << n) in this __u64, (1u << n) in __u32 flags. The
 * device's own CAPS register bits are CIM_CAPS_* of cim_hw.h.
 */
#define CIM_DRV_CAP_FENCE_FD	(1ull << 0)	/* SUBMIT can return a sync_file */
#define CIM_DRV_CAP_RESERVE	(1ull << 1)	/* XBAR/AP_RESERVE */

/* Deprecated names of the driver capabilities; use CIM_DRV_CAP_* */
#define CIM_CAP_FENCE_FD	CIM_DRV_CAP_FENCE_FD
#define CIM_CAP_RESERVE		CIM_DRV_CAP_RESERVE

/**
 * struct cim_device_info - what CIM_QUERY_DEVICE_INFO returns
 * @api_major: CIM_API_MAJOR of the driver
 * @api_minor: CIM_API_MINOR of the driver
 * @hw_version: the device's VERSION register (major << 16 | minor)
 * @hw_caps: the device's CAPS register (CIM_CAPS_XBAR... of cim_hw.h)
 * @caps: driver capabilities, CIM_DRV_CAP_FENCE_FD...
 * @xbar_count: crossbars
 * @xbar_rows: rows of each crossbar
 * @xbar_cols: columns of each crossbar
 * @xbar_levels: conductance levels per device
 * @dac_bits: DAC resolution
 * @adc_bits: ADC resolution
 * @ap_count: associative processors
 * @ap_rows: rows of each AP
 * @ap_cols: bit-columns of each AP
 * @ap_domains: racetrack domains
 * @ap_group_tracks: tracks shifting together
 * @max_batch: largest batch of one packet
 * @max_cmdbuf: largest command buffer, bytes
 * @max_bos: most buffers one SUBMIT may reference
 * @max_inflight: jobs the device queues at once
 * @cost_preset: enum cim_cost_preset of the device
 * @job_timeout_ms: current hang timeout (sysfs job_timeout_ms)
 * @max_bo_size: largest buffer, bytes
 * @seed: the device's variation seed
 * @device_preset: enum cim_device_preset of the device's crossbar physics
 *                 (DEVICE_PRESET register); %CIM_DEVICE_PRESET_NONE for a
 *                 device before ABI 1.2 (API 1.1)
 * @pad2: zero
 *
 * The device's ABI version and what it implements are @hw_version and
 * @hw_caps: CIM_OP_IDLE and the XBAR_PROGRAM flags F_TOL_US and
 * F_RESIDUAL need 1.2, and SUBMIT refuses them on an older device.
 */
struct cim_device_info {
	__u32 api_major;
	__u32 api_minor;
	__u32 hw_version;
	__u32 hw_caps;
	__u64 caps;
	__u32 xbar_count;
	__u32 xbar_rows;
	__u32 xbar_cols;
	__u32 xbar_levels;
	__u32 dac_bits;
	__u32 adc_bits;
	__u32 ap_count;
	__u32 ap_rows;
	__u32 ap_cols;
	__u32 ap_domains;
	__u32 ap_group_tracks;
	__u32 max_batch;
	__u32 max_cmdbuf;
	__u32 max_bos;
	__u32 max_inflight;
	__u32 cost_preset;
	__u32 job_timeout_ms;
	__u32 pad;
	__u64 max_bo_size;
	__u64 seed;
	__u32 device_preset;
	__u32 pad2;
};

/* struct cim_device_info.device_preset of a device without the register */
#define CIM_DEVICE_PRESET_NONE	0xffffffffu

#define CIM_CTX_GUILTY		(1u << 0)	/* a job of this file hung */
#define CIM_CTX_WEIGHTS_LOST	(1u << 1)	/* the device was reset */

/**
 * struct cim_ctx_state - what CIM_QUERY_CTX_STATE returns
 * @reset_count: device resets since the driver bound
 * @flags: CIM_CTX_GUILTY, CIM_CTX_WEIGHTS_LOST
 * @pad: zero
 * @submitted: jobs this file submitted (the last seqno)
 * @completed: jobs of this file that ended, in any way
 * @xbar_mask: crossbars this file reserved
 * @ap_mask: APs this file reserved
 */
struct cim_ctx_state {
	__u64 reset_count;
	__u32 flags;
	__u32 pad;
	__u64 submitted;
	__u64 completed;
	__u64 xbar_mask;
	__u64 ap_mask;
};

/**
 * struct cim_bo_create - allocate a DMA buffer (CIM_IOCTL_BO_CREATE)
 * @size: bytes, 1..max_bo_size; rounded up to pages
 * @flags: must be zero
 * @handle: out: the buffer's handle in this file, never 0
 * @mmap_offset: out: pass to mmap() on the same file
 */
struct cim_bo_create {
	__u64 size;
	__u32 flags;
	__u32 handle;
	__u64 mmap_offset;
};

/**
 * struct cim_bo_destroy - drop a buffer handle (CIM_IOCTL_BO_DESTROY)
 * @handle: from BO_CREATE
 * @pad: must be zero
 *
 * The memory lives on while a job or a mapping still uses it.
 */
struct cim_bo_destroy {
	__u32 handle;
	__u32 pad;
};

/**
 * struct cim_reserve - reserve or release crossbars or APs
 * (CIM_IOCTL_XBAR_RESERVE/RELEASE, CIM_IOCTL_AP_RESERVE/RELEASE)
 * @mask: bit n is unit n; every bit must name an existing unit
 * @flags: must be zero
 * @pad: must be zero
 *
 * Reserving is all or nothing: -EBUSY if another file holds any of the
 * units. Reserving a unit this file holds already succeeds. Releasing a unit
 * this file does not hold fails with -EINVAL. A command packet may only name
 * units its file reserved; closing the file releases them.
 */
struct cim_reserve {
	__u64 mask;
	__u32 flags;
	__u32 pad;
};

#define CIM_SUBMIT_FENCE_OUT	(1u << 0)	/* return a sync_file fd */
#define CIM_SUBMIT_VALID_FLAGS	0x1u
#define CIM_MAX_SUBMIT_BOS	64

/**
 * struct cim_submit - queue a command buffer (CIM_IOCTL_SUBMIT)
 * @bo_handles_ptr: user pointer to __u32[bo_count], the buffers that the
 *                  packets' CIM_REF references index
 * @bo_count: 0..CIM_MAX_SUBMIT_BOS (nonzero if @bo_handles_ptr is)
 * @cmdbuf_handle: the buffer holding the packets
 * @cmdbuf_offset: byte offset of the first packet, 8-aligned
 * @cmdbuf_size: bytes of packets, a multiple of 8, 8..max_cmdbuf
 * @flags: CIM_SUBMIT_FENCE_OUT
 * @fence_fd: out: a sync_file fd with CIM_SUBMIT_FENCE_OUT, else -1
 * @seqno: out: the job's number in this file, for CIM_IOCTL_WAIT
 *
 * The driver copies the packets, so the buffer may be reused at once.
 * Errors: -EINVAL for a malformed submit or packet, -ENOENT for an unknown
 * handle, -EACCES for a unit this file did not reserve, -EBADFD once a job of
 * this file hung the device, -ENODEV if the device failed or is gone.
 */
struct cim_submit {
	__u64 bo_handles_ptr;
	__u32 bo_count;
	__u32 cmdbuf_handle;
	__u32 cmdbuf_offset;
	__u32 cmdbuf_size;
	__u32 flags;
	__s32 fence_fd;
	__u64 seqno;
};

/* Job status beyond enum cim_status of include/cim_hw.h */
#define CIM_JOB_TIMEDOUT	0x100	/* hung, killed by a device reset */
#define CIM_JOB_CANCELED	0x101	/* lost in another job's reset */

/**
 * struct cim_wait - wait for a job (CIM_IOCTL_WAIT)
 * @seqno: from SUBMIT on this file
 * @timeout_ns: absolute CLOCK_MONOTONIC deadline; 0 only polls
 * @flags: must be zero
 * @status: out: enum cim_status from the completion record, or
 *          CIM_JOB_TIMEDOUT / CIM_JOB_CANCELED
 * @cmds_done: out: packets that completed
 * @error_offset: out: byte offset of the failing packet
 * @error_field: out: byte offset of the failing field in that packet
 * @pad: must be zero
 * @energy_fj: out: modelled energy of the job
 * @device_time_ps: out: modelled device time of the job
 *
 * Returns 0 once the job ended (see @status), -ETIME if the deadline passed,
 * -EINTR/-ERESTARTSYS on a signal, -EINVAL for a seqno never issued,
 * -ENOENT for one older than the last 1024 jobs of the file.
 */
struct cim_wait {
	__u64 seqno;
	__u64 timeout_ns;
	__u32 flags;
	__u32 status;
	__u32 cmds_done;
	__u32 error_offset;
	__u32 error_field;
	__u32 pad;
	__u64 energy_fj;
	__u64 device_time_ps;
};

#define CIM_IOCTL_BASE		0xB8
#define CIM_IOCTL_QUERY		_IOWR(CIM_IOCTL_BASE, 0x00, struct cim_query)
#define CIM_IOCTL_BO_CREATE	_IOWR(CIM_IOCTL_BASE, 0x01, struct cim_bo_create)
#define CIM_IOCTL_BO_DESTROY	_IOW(CIM_IOCTL_BASE, 0x02, struct cim_bo_destroy)
#define CIM_IOCTL_XBAR_RESERVE	_IOW(CIM_IOCTL_BASE, 0x03, struct cim_reserve)
#define CIM_IOCTL_XBAR_RELEASE	_IOW(CIM_IOCTL_BASE, 0x04, struct cim_reserve)
#define CIM_IOCTL_AP_RESERVE	_IOW(CIM_IOCTL_BASE, 0x05, struct cim_reserve)
#define CIM_IOCTL_AP_RELEASE	_IOW(CIM_IOCTL_BASE, 0x06, struct cim_reserve)
#define CIM_IOCTL_SUBMIT	_IOWR(CIM_IOCTL_BASE, 0x07, struct cim_submit)
#define CIM_IOCTL_WAIT		_IOWR(CIM_IOCTL_BASE, 0x08, struct cim_wait)

#endif /* __UAPI_MISC_CIM_H__ */
