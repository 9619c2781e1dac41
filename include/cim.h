/* SPDX-License-Identifier: MIT */
/*
 * libcim: the user-space runtime of the cim compute-in-memory accelerator.
 *
 * One API over two backends: the kernel driver (/dev/cimN, cim.ko) and the
 * embedded backend, which runs the firmware model in this process. The same
 * program with the same seed gives the same bits on both.
 *
 * Conventions (libuv's): every function that can fail returns 0 (or a
 * non-negative count) on success and a negative errno on failure, never -1
 * with errno; cim_strerror() and cim_err_name() describe the codes. A
 * function that fails changes nothing the caller can observe. Handles are
 * opaque and created by cim_*_open/create/alloc, which hand the caller one
 * reference that the matching close/destroy/free/release gives back.
 *
 * Threading: the calls on one struct cim_device, and on distinct buffers,
 * command buffers and jobs, may come from any threads at once. A single
 * struct cim_cmdbuf or struct cim_ap_prog is used by one thread at a time.
 *
 * Documentation/runtime/ has one page per object.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef CIM_H
#define CIM_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "cim_hw.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CIM_EXTERN __attribute__((visibility("default")))

#define CIM_VERSION_MAJOR	1
#define CIM_VERSION_MINOR	1
#define CIM_VERSION_PATCH	0

/* (major << 16) | (minor << 8) | patch of the library actually loaded */
CIM_EXTERN unsigned int cim_version(void);
CIM_EXTERN const char *cim_version_string(void);

/* Errors ----------------------------------------------------------------- */

/*
 * Every code libcim returns. -ECANCELED has a meaning of its own: the device
 * was reset, so crossbar weights and AP contents are gone and must be
 * programmed again (see cim_device_check()).
 */
#define CIM_ERRNO_MAP(XX)						\
	XX(EPERM, "operation not permitted")				\
	XX(ENOENT, "no such device or object")				\
	XX(EINTR, "interrupted")					\
	XX(EIO, "the device failed the job")				\
	XX(EBADF, "bad file descriptor")				\
	XX(ENOMEM, "out of memory")					\
	XX(EACCES, "permission denied, or unit not reserved by this handle") \
	XX(EBUSY, "unit reserved by another user")			\
	XX(ENODEV, "device removed or failed")				\
	XX(EINVAL, "invalid argument")					\
	XX(ENOSPC, "command buffer or buffer list full")		\
	XX(ERANGE, "value out of range")				\
	XX(ENOTTY, "not a cim device or unsupported request")		\
	XX(E2BIG, "argument too large")					\
	XX(ENOSYS, "not supported by this backend")			\
	XX(ETIME, "timed out waiting")					\
	XX(ETIMEDOUT, "the job ran past the device's timeout and was stopped") \
	XX(EBADFD, "a job of this handle hung the device; reopen it")	\
	XX(ECANCELED, "device reset: weights and AP contents lost")	\
	XX(EPROTO, "driver API version not supported")			\
	XX(EDQUOT, "buffer quota of this handle exhausted")		\
	XX(EOPNOTSUPP, "not supported by the device's ABI version")

enum cim_errno {
#define CIM__ERR_ENUM(name, msg) CIM_##name = -name,
	CIM_ERRNO_MAP(CIM__ERR_ENUM)
#undef CIM__ERR_ENUM
};

/* A static description of @err (a negative errno); never NULL. */
CIM_EXTERN const char *cim_strerror(int err);
/* The symbolic name of @err, "EINVAL"; "UNKNOWN" for codes not listed. */
CIM_EXTERN const char *cim_err_name(int err);

/*
 * Job status: enum cim_status of include/cim_hw.h, or the driver's
 * CIM_JOB_TIMEDOUT (0x100) / CIM_JOB_CANCELED (0x101). cim_status_errno()
 * maps it to the code cim_job_wait() returns: OK 0, malformed packets and
 * values -EINVAL, DMA and injected failures -EIO, NOMEM -ENOMEM, TIMEDOUT
 * -ETIMEDOUT, ABORTED and CANCELED -ECANCELED, anything else -EIO.
 *
 * The two driver statuses are those of uapi/misc/cim.h, repeated here
 * token for token (so that either header may come first) for users of
 * the embedded backend, who do not include the uAPI.
 */
#ifndef CIM_JOB_TIMEDOUT
#define CIM_JOB_TIMEDOUT	0x100
#define CIM_JOB_CANCELED	0x101
#endif
/*
 * Deprecated: the driver statuses' former names, which clashed with
 * the STATUS register's bits (CIM_STATUS_* of cim_hw.h); use CIM_JOB_*.
 */
#define CIM_STATUS_TIMEDOUT	CIM_JOB_TIMEDOUT
#define CIM_STATUS_CANCELED	CIM_JOB_CANCELED
CIM_EXTERN int cim_status_errno(uint32_t status);
CIM_EXTERN const char *cim_status_name(uint32_t status);

/* Discovery -------------------------------------------------------------- */

/**
 * struct cim_device_desc - one kernel device found in sysfs
 * @name: sysname, "cim0"
 * @devnode: "/dev/cim0"
 * @pci_slot: the parent PCI device, "0000:00:03.0" ("" if none)
 * @vendor: its PCI vendor ID
 * @device: its PCI device ID
 * @api_version: the driver's sysfs api_version, "1.0"
 * @state: sysfs device_state: "operational", "resetting", "failed"
 * @xbar_count: crossbars (sysfs crossbar_geometry)
 * @xbar_rows: rows of each crossbar
 * @xbar_cols: columns of each crossbar
 * @ap_count: associative processors (sysfs ap_geometry)
 * @ap_rows: rows of each AP
 * @ap_cols: bit-columns of each AP
 * @index: N of /dev/cimN
 */
struct cim_device_desc {
	char name[32];
	char devnode[64];
	char pci_slot[32];
	uint32_t vendor;
	uint32_t device;
	char api_version[16];
	char state[16];
	uint32_t xbar_count;
	uint32_t xbar_rows;
	uint32_t xbar_cols;
	uint32_t ap_count;
	uint32_t ap_rows;
	uint32_t ap_cols;
	int index;
};

/*
 * List the kernel's cim devices (misc devices named cim*), sorted by index.
 * Reads sysfs through libudev; needs no udev daemon. Zero devices is not an
 * error: *@list is NULL and *@count 0. Free with cim_device_list_free().
 * Thread-safe.
 */
CIM_EXTERN int cim_device_list(struct cim_device_desc **list, int *count);
CIM_EXTERN void cim_device_list_free(struct cim_device_desc *list, int count);

/* Devices ---------------------------------------------------------------- */

struct cim_device;
struct cimfw_config;	/* include/cimfw.h: the firmware model */

enum cim_backend {
	CIM_BACKEND_KERNEL = 1,		/* /dev/cimN */
	CIM_BACKEND_EMBEDDED = 2,	/* the firmware model in process */
};

/* struct cim_embedded_options.flags */
#define CIM_EMB_F_SEED		(1u << 0)	/* use @seed */
#define CIM_EMB_F_COST_PRESET	(1u << 1)	/* use @cost_preset */
#define CIM_EMB_F_NO_NOISE	(1u << 2)	/* like cim-pci,noise=off */
#define CIM_EMB_F_NO_VARIATION	(1u << 3)	/* like cim-pci,variation=off */
#define CIM_EMB_F_DEVICE_PRESET	(1u << 4)	/* use @device_preset */
#define CIM_EMB_VALID_FLAGS	0x1fu

/**
 * struct cim_embedded_options - how to build an embedded device
 * @size: sizeof(struct cim_embedded_options) of the caller (the struct
 *        grows by appending)
 * @flags: CIM_EMB_F_*
 * @seed: the variation and noise seed, with CIM_EMB_F_SEED
 * @cost_preset: enum cim_cost_preset, with CIM_EMB_F_COST_PRESET
 * @config: the whole firmware configuration, or NULL for the defaults of
 *          cimfw_config_default() (which are cim-pci's); @flags then
 *          override its seed, presets and physics. Copied; not kept.
 * @device_preset: enum cim_device_preset, with CIM_EMB_F_DEVICE_PRESET:
 *                 its physics replace @config's (levels included), before
 *                 CIM_EMB_F_NO_NOISE and CIM_EMB_F_NO_VARIATION apply
 * @pad2: 0
 *
 * The defaults give the same device as a cim-pci instance with default
 * properties, so "seed" is all that must match a QEMU device.
 */
struct cim_embedded_options {
	uint32_t size;
	uint32_t flags;
	uint64_t seed;
	uint32_t cost_preset;
	uint32_t pad;
	const struct cimfw_config *config;
	uint32_t device_preset;
	uint32_t pad2;
};

/*
 * Open a device by @name:
 *   "/dev/cimN" or "cimN"       the kernel device;
 *   "embedded[:k=v,...]"        an embedded device; keys seed=N (decimal or
 *                               0x hex), cost=default|stt-tcam|destiny,
 *                               noise=off, variation=off;
 *   NULL or ""                  $CIM_DEVICE if set, else the first kernel
 *                               device, else an embedded device.
 * Returns -ENOENT for a kernel device that does not exist, -EACCES without
 * permission, -ENOTTY for a file that is not a cim device, -EPROTO for a
 * driver API major version other than 1, -EINVAL for a malformed name.
 * Thread-safe.
 */
CIM_EXTERN int cim_device_open(struct cim_device **dev, const char *name);
/* An embedded device; @opts may be NULL for the defaults. */
CIM_EXTERN int cim_device_open_embedded(struct cim_device **dev,
					const struct cim_embedded_options *opts);
/*
 * An embedded device that computes what @dev computes: the geometry, seed
 * and cost preset read from @dev (a kernel device's registers, through
 * QUERY), default physics. A twin of an embedded device copies its whole
 * configuration. The twin starts from reset, as a device does after
 * cim_device_reset().
 */
CIM_EXTERN int cim_device_open_twin(struct cim_device **twin,
				    struct cim_device *dev);
/*
 * Give back the caller's reference. Objects still alive (buffers, command
 * buffers, jobs) keep the device open until they are freed; the kernel
 * file, its reservations and the model go with the last of them.
 */
CIM_EXTERN void cim_device_close(struct cim_device *dev);

/**
 * struct cim_info - what a device is (grows by appending)
 * @size: in: sizeof(struct cim_info) of the caller; out: bytes filled
 * @backend: enum cim_backend
 * @name: "/dev/cim0" or "embedded"
 * @api_major: the driver's API major (embedded: CIM_API_MAJOR it emulates)
 * @api_minor: the driver's API minor
 * @hw_version: VERSION register, major << 16 | minor
 * @hw_caps: CAPS register, CIM_CAPS_XBAR | CIM_CAPS_DUU | CIM_CAPS_AP...
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
 * @max_batch: largest batch of one command
 * @max_cmdbuf: largest command buffer, bytes
 * @max_buffers: most buffers one command buffer may reference
 * @cost_preset: enum cim_cost_preset
 * @job_timeout_ms: the driver's hang timeout (embedded: 0, never hangs)
 * @max_buffer_size: largest buffer, bytes
 * @seed: the device's variation seed
 * @device_preset: enum cim_device_preset of the crossbar physics;
 *                 CIM_DEVICE_PRESET_NONE from a device before ABI 1.2
 * @pad: zero
 *
 * Not struct cim_device_info: that name is the driver's uAPI struct.
 */
struct cim_info {
	uint32_t size;
	uint32_t backend;
	char name[64];
	uint32_t api_major;
	uint32_t api_minor;
	uint32_t hw_version;
	uint32_t hw_caps;
	uint32_t xbar_count;
	uint32_t xbar_rows;
	uint32_t xbar_cols;
	uint32_t xbar_levels;
	uint32_t dac_bits;
	uint32_t adc_bits;
	uint32_t ap_count;
	uint32_t ap_rows;
	uint32_t ap_cols;
	uint32_t ap_domains;
	uint32_t ap_group_tracks;
	uint32_t max_batch;
	uint32_t max_cmdbuf;
	uint32_t max_buffers;
	uint32_t cost_preset;
	uint32_t job_timeout_ms;
	uint64_t max_buffer_size;
	uint64_t seed;
	uint32_t device_preset;
	uint32_t pad;
};

/*
 * Fill min(info->size, sizeof(struct cim_info)) bytes of @info. -EINVAL if
 * info->size is smaller than the first version (every field up to @seed).
 * Thread-safe.
 */
CIM_EXTERN int cim_device_query(struct cim_device *dev, struct cim_info *info);
CIM_EXTERN enum cim_backend cim_device_backend(const struct cim_device *dev);

/*
 * Whether the device lost its state. 0: nothing happened since the last
 * call. -ECANCELED: the device was reset since the device was opened or
 * this was last called (crossbars, DUU accumulators and APs are cleared);
 * the call acknowledges it, so cim_submit() works again. -ENODEV: the
 * device is gone or failed for good. -EBADFD: a job of this handle hung
 * the device; open a new handle. Thread-safe.
 */
CIM_EXTERN int cim_device_check(struct cim_device *dev);
/*
 * Reset the device: kernel, through sysfs "reset" (root only, -EACCES
 * otherwise); embedded, at once. Either way every user then sees
 * -ECANCELED from cim_device_check() and cim_submit() until acknowledged.
 */
CIM_EXTERN int cim_device_reset(struct cim_device *dev);

/*
 * Read the device-wide counters (include/cim_hw.h struct cim_counters) by a
 * job of one COUNTERS_READ command. Blocks until the job ends.
 */
CIM_EXTERN int cim_device_counters(struct cim_device *dev,
				   struct cim_counters *out);

/*
 * Reserve or release units by mask (bit n: crossbar or AP n). Reserving is
 * all or nothing: -EBUSY if another handle holds one, -EINVAL for a bit
 * past the last unit; reserving units held already succeeds. Releasing a
 * unit not held is -EINVAL. Commands may only name reserved units
 * (cim_submit() gives -EACCES). Thread-safe.
 */
CIM_EXTERN int cim_xbar_reserve(struct cim_device *dev, uint64_t mask);
CIM_EXTERN int cim_xbar_release(struct cim_device *dev, uint64_t mask);
CIM_EXTERN int cim_ap_reserve(struct cim_device *dev, uint64_t mask);
CIM_EXTERN int cim_ap_release(struct cim_device *dev, uint64_t mask);

/* Buffers ---------------------------------------------------------------- */

struct cim_buffer;

/*
 * Allocate @size bytes (1..max_buffer_size) of device-visible memory,
 * zeroed and mapped; cim_buffer_ptr() is its CPU address, aligned to the
 * page size. Kernel: a BO and its shared mapping; embedded: host memory.
 * Thread-safe.
 */
CIM_EXTERN int cim_buffer_alloc(struct cim_device *dev, size_t size,
				struct cim_buffer **buf);
/*
 * Give back the caller's reference. A command buffer that references @buf
 * keeps it alive until it is reset or destroyed; so does a job in flight.
 */
CIM_EXTERN void cim_buffer_free(struct cim_buffer *buf);
CIM_EXTERN void *cim_buffer_ptr(const struct cim_buffer *buf);
CIM_EXTERN size_t cim_buffer_size(const struct cim_buffer *buf);
CIM_EXTERN struct cim_device *cim_buffer_device(const struct cim_buffer *buf);

/* Command buffers -------------------------------------------------------- */

struct cim_cmdbuf;

/*
 * A command buffer: packets of include/cim_hw.h built by the cim_cmd_*
 * calls, and the list of buffers they reference. It can be submitted any
 * number of times; the packets are copied at submit.
 */
CIM_EXTERN int cim_cmdbuf_create(struct cim_device *dev,
				 struct cim_cmdbuf **cb);
CIM_EXTERN void cim_cmdbuf_destroy(struct cim_cmdbuf *cb);
/* Remove every command and drop the buffer references. */
CIM_EXTERN void cim_cmdbuf_reset(struct cim_cmdbuf *cb);
/* Commands appended so far, and their bytes. */
CIM_EXTERN unsigned int cim_cmdbuf_count(const struct cim_cmdbuf *cb);
CIM_EXTERN size_t cim_cmdbuf_bytes(const struct cim_cmdbuf *cb);
/* The packets, read-only, as the device will see them (addresses aside). */
CIM_EXTERN const void *cim_cmdbuf_data(const struct cim_cmdbuf *cb);

/**
 * struct cim_window - a rectangle of cells of one crossbar
 * @xbar: crossbar index
 * @row: first row
 * @nrows: rows, >= 1
 * @col: first column
 * @ncols: columns, >= 1
 */
struct cim_window {
	unsigned int xbar;
	unsigned int row;
	unsigned int nrows;
	unsigned int col;
	unsigned int ncols;
};

/*
 * Every cim_cmd_* call checks its arguments against the device's geometry
 * and limits and the referenced byte ranges against the buffers (offsets
 * of float arrays 4-aligned, other addresses 8-aligned), and appends one
 * packet. On error nothing is appended: -EINVAL for a bad argument
 * (including a buffer of another device), -ENOSPC when the command buffer
 * would pass max_cmdbuf or reference more than max_buffers buffers.
 * A NULL optional buffer (a report) means "none".
 */
CIM_EXTERN int cim_cmd_nop(struct cim_cmdbuf *cb);
/* Write @value (8 bytes) at (@buf, @off) after every earlier command. */
CIM_EXTERN int cim_cmd_fence(struct cim_cmdbuf *cb, struct cim_buffer *buf,
			     size_t off, uint64_t value);
/*
 * Program weights in [-1, 1] (nrows * ncols floats, row-major, at (@src,
 * @src_off)) by write-verify: @max_iters 1..64 iterations per cell until
 * within @tolerance levels, (0, 8]. @report: a struct cim_program_report.
 */
CIM_EXTERN int cim_cmd_xbar_program(struct cim_cmdbuf *cb,
				    const struct cim_window *win,
				    struct cim_buffer *src, size_t src_off,
				    unsigned int max_iters, float tolerance,
				    struct cim_buffer *report,
				    size_t report_off);

/**
 * struct cim_program_params - how cim_cmd_xbar_program2() programs
 * @size: sizeof(struct cim_program_params) of the caller (the struct grows
 *        by appending; a smaller size is -EINVAL)
 * @flags: CIM_PROGRAM_F_TOL_US: @tolerance is in microsiemens;
 *         CIM_PROGRAM_F_RESIDUAL: the report is a struct
 *         cim_program_residual (needs a report buffer). Both need a device
 *         of ABI 1.2 (else -EOPNOTSUPP). CIM_PROGRAM_F_REPORT is set by a
 *         report buffer without F_RESIDUAL, never here.
 * @max_iters: write-verify iterations per device, 1..64
 * @tolerance: accepted error of each device's conductance as the verify
 *             read sees it: levels, (0, 8]; with CIM_PROGRAM_F_TOL_US
 *             microsiemens, (0, CIM_PROGRAM_MAX_TOL_US]
 */
struct cim_program_params {
	uint32_t size;
	uint32_t flags;
	uint32_t max_iters;
	float tolerance;
};

/*
 * cim_cmd_xbar_program() with @p: a tolerance in microsiemens, and the
 * residual report (its mean, rms, largest error and histogram). @report:
 * a struct cim_program_report, or with CIM_PROGRAM_F_RESIDUAL a struct
 * cim_program_residual; NULL for none. @p is read during the call only.
 */
CIM_EXTERN int cim_cmd_xbar_program2(struct cim_cmdbuf *cb,
				     const struct cim_window *win,
				     const struct cim_program_params *p,
				     struct cim_buffer *src, size_t src_off,
				     struct cim_buffer *report,
				     size_t report_off);
/* Read weights (CIM_READ_F_WEIGHTS: nrows * ncols floats) or conductance
 * pairs (flags 0: nrows * ncols * 2 floats, microsiemens). */
CIM_EXTERN int cim_cmd_xbar_read(struct cim_cmdbuf *cb,
				 const struct cim_window *win,
				 unsigned int flags, struct cim_buffer *dst,
				 size_t dst_off);

enum cim_vmm_dir {
	CIM_VMM_FWD = 0,	/* y[ncols] = x[nrows] W */
	CIM_VMM_TRANS = 1,	/* y[nrows] = W x[ncols] */
};

/*
 * @batch (1..max_batch) analog VMMs; @adc_range 0 lets the device pick the
 * ADC range, > 0 fixes it (finite). x and y are packed float vectors.
 */
CIM_EXTERN int cim_cmd_vmm(struct cim_cmdbuf *cb, enum cim_vmm_dir dir,
			   const struct cim_window *win, unsigned int batch,
			   float adc_range, struct cim_buffer *x, size_t x_off,
			   struct cim_buffer *y, size_t y_off);

/**
 * struct cim_duu_params - one mixed-precision update
 * @batch: 0..max_batch; 0 only runs the threshold transfer (x, d unused)
 * @lr: learning rate, finite, >= 0
 * @epsilon: transfer threshold in weight units, finite, >= 0 (0: one level)
 * @n_max: pulses per cell and transfer, 1..CIM_MAX_PULSES
 * @flags: CIM_DUU_F_NO_TRANSFER, CIM_DUU_F_X_IDENTITY (x is the identity:
 *         @batch must be the window's rows, x NULL, d the nrows x ncols
 *         update); CIM_DUU_F_REPORT is set by a report buffer
 */
struct cim_duu_params {
	unsigned int batch;
	float lr;
	float epsilon;
	unsigned int n_max;
	unsigned int flags;
};

/* chi -= lr * sum_b x[b] (x) d[b], then transfer; x: batch * nrows floats
 * (NULL with CIM_DUU_F_X_IDENTITY), d: batch * ncols floats; @report: a
 * struct cim_duu_report or NULL. */
CIM_EXTERN int cim_cmd_duu_update(struct cim_cmdbuf *cb,
				  const struct cim_window *win,
				  const struct cim_duu_params *p,
				  struct cim_buffer *x, size_t x_off,
				  struct cim_buffer *d, size_t d_off,
				  struct cim_buffer *report, size_t report_off);

/*
 * Let @ns nanoseconds (1..CIM_MAX_IDLE_NS) of device time pass: the
 * crossbars' conductances relax as if the chip sat idle that long. No
 * energy, no busy time, no real wait. -EOPNOTSUPP on a device before
 * ABI 1.2.
 */
CIM_EXTERN int cim_cmd_idle(struct cim_cmdbuf *cb, uint64_t ns);

/* Load @nrows rows of bit-columns col..col+ncols-1 (ncols 1..64) of AP
 * @ap from nrows little-endian uint64_t words at (@src, @off). */
CIM_EXTERN int cim_cmd_ap_load_rows(struct cim_cmdbuf *cb, unsigned int ap,
				    unsigned int row, unsigned int nrows,
				    unsigned int col, unsigned int ncols,
				    struct cim_buffer *src, size_t off);
/*
 * Read AP state: CIM_AP_READ_ROWS (as ap_load_rows), CIM_AP_READ_TAGS
 * (ceil(nrows / 64) words; col and ncols 0), CIM_AP_READ_REGS
 * (CIM_AP_NREGS words; row, nrows, col, ncols 0).
 */
CIM_EXTERN int cim_cmd_ap_read(struct cim_cmdbuf *cb, unsigned int ap,
			       enum cim_ap_read what, unsigned int row,
			       unsigned int nrows, unsigned int col,
			       unsigned int ncols, struct cim_buffer *dst,
			       size_t off);

struct cim_ap_prog;

/* Run the instructions of @prog (copied; >= 1) on AP @ap. */
CIM_EXTERN int cim_cmd_ap_program(struct cim_cmdbuf *cb, unsigned int ap,
				  const struct cim_ap_prog *prog);
/* sizeof(struct cim_counters) bytes at (@dst, @off), 8-aligned. */
CIM_EXTERN int cim_cmd_counters_read(struct cim_cmdbuf *cb,
				     struct cim_buffer *dst, size_t off);

/* AP programs ------------------------------------------------------------ */

/*
 * A growable list of struct cim_ap_inst, device-independent. Each call
 * checks what the architecture fixes (columns < CIM_MAX_AP_COLS, fields of
 * 1..64 bits that do not overlap, registers < CIM_AP_NREGS) and appends one
 * instruction, or nothing with -EINVAL / -ENOMEM. Columns past the AP's
 * width and shifts past the racetrack are the device's to refuse
 * (CIM_ST_BAD_INST, no instruction runs).
 */
CIM_EXTERN int cim_ap_prog_create(struct cim_ap_prog **prog);
CIM_EXTERN void cim_ap_prog_destroy(struct cim_ap_prog *prog);
CIM_EXTERN void cim_ap_prog_reset(struct cim_ap_prog *prog);
CIM_EXTERN unsigned int cim_ap_prog_count(const struct cim_ap_prog *prog);
CIM_EXTERN const struct cim_ap_inst *
cim_ap_prog_insts(const struct cim_ap_prog *prog);

/* Primitives */
CIM_EXTERN int cim_ap_prog_km_clear(struct cim_ap_prog *prog);
/* Unmask @col and set its KEY bit to @bit; joins the previous KM_SET
 * instruction while it has room (7 columns). */
CIM_EXTERN int cim_ap_prog_km_set(struct cim_ap_prog *prog, unsigned int col,
				  unsigned int bit);
/* km_set of the @n (1..64) bits of @value at columns col.., LSB first. */
CIM_EXTERN int cim_ap_prog_km_field(struct cim_ap_prog *prog,
				    unsigned int col, unsigned int n,
				    uint64_t value);
CIM_EXTERN int cim_ap_prog_compare(struct cim_ap_prog *prog,
				   enum cim_ap_cmp cmp);
CIM_EXTERN int cim_ap_prog_write(struct cim_ap_prog *prog);
CIM_EXTERN int cim_ap_prog_shift(struct cim_ap_prog *prog, unsigned int group,
				 int steps);
CIM_EXTERN int cim_ap_prog_tagop(struct cim_ap_prog *prog,
				 enum cim_ap_tagop op);
CIM_EXTERN int cim_ap_prog_tagcount(struct cim_ap_prog *prog,
				    unsigned int reg);
CIM_EXTERN int cim_ap_prog_firsttag(struct cim_ap_prog *prog,
				    unsigned int reg);
/* Macros */
/* B(@b, @n) += A(@a, @m) (CIM_AP_ADD_F_SUB: -=), m <= n, carry column
 * @carry; with CIM_AP_ADD_F_PRED only rows whose column @pred is 1 (else
 * @pred must be 0); CIM_AP_ADD_F_SIGNED sign-extends A. */
CIM_EXTERN int cim_ap_prog_add(struct cim_ap_prog *prog, unsigned int a,
			       unsigned int m, unsigned int b, unsigned int n,
			       unsigned int carry, unsigned int pred,
			       unsigned int flags);
CIM_EXTERN int cim_ap_prog_relu(struct cim_ap_prog *prog, unsigned int col,
				unsigned int n);
CIM_EXTERN int cim_ap_prog_max(struct cim_ap_prog *prog, unsigned int col,
			       unsigned int n, unsigned int reg);
/* dst(@dst, @k <= 16) = clamp(src(@src, @n) >> @shift, 0, 2^k - 1),
 * @shift < n, scratch column @scratch */
CIM_EXTERN int cim_ap_prog_requant(struct cim_ap_prog *prog, unsigned int src,
				   unsigned int n, unsigned int shift,
				   unsigned int dst, unsigned int k,
				   unsigned int scratch);
CIM_EXTERN int cim_ap_prog_clear(struct cim_ap_prog *prog, unsigned int col,
				 unsigned int n);
CIM_EXTERN int cim_ap_prog_copy(struct cim_ap_prog *prog, unsigned int src,
				unsigned int n, unsigned int dst);

/* Jobs and fences -------------------------------------------------------- */

struct cim_job;

/**
 * struct cim_job_result - how a job ended
 * @error: cim_status_errno(@status)
 * @status: raw status: enum cim_status, CIM_JOB_TIMEDOUT or _CANCELED
 * @cmds_done: commands that completed, in order
 * @error_cmd: index of the failing command (== @cmds_done when failed)
 * @error_offset: byte offset of the failing packet in the command buffer
 * @error_field: byte offset of the field at fault inside that packet
 * @energy_fj: modelled energy of the job, femtojoules
 * @device_time_ps: modelled device time of the job, picoseconds
 */
struct cim_job_result {
	int error;
	uint32_t status;
	uint32_t cmds_done;
	uint32_t error_cmd;
	uint32_t error_offset;
	uint32_t error_field;
	uint64_t energy_fj;
	uint64_t device_time_ps;
};

/*
 * Queue the commands of @cb (>= 1 command). *@job receives the job (pass
 * NULL to fire and forget). Kernel: validated and queued, returns at once;
 * embedded: executed before the call returns. Errors: -EINVAL for an empty
 * command buffer, -EACCES for a unit not reserved, -ECANCELED after a
 * reset not yet acknowledged by cim_device_check(), -EBADFD, -ENODEV.
 * @cb may be changed or resubmitted at once. Thread-safe for distinct @cb.
 */
CIM_EXTERN int cim_submit(struct cim_cmdbuf *cb, struct cim_job **job);
/*
 * Wait for @job until @timeout_ns nanoseconds from now (< 0: forever; 0:
 * poll). Returns -ETIME if it is still running, else the job's outcome:
 * 0 or result.error (cim_job_result() has the details).
 */
CIM_EXTERN int cim_job_wait(struct cim_job *job, int64_t timeout_ns);
/* The same, until the absolute CLOCK_MONOTONIC time @deadline_ns. */
CIM_EXTERN int cim_job_wait_until(struct cim_job *job, uint64_t deadline_ns);
/* The result of an ended job; -ETIME (and @res untouched) while running. */
CIM_EXTERN int cim_job_result(struct cim_job *job, struct cim_job_result *res);
/*
 * The job's fence: a file descriptor that polls readable (POLLIN) once the
 * job ended, a sync_file on the kernel backend, an eventfd on the embedded
 * one. Owned by the job: dup() it to keep it past cim_job_release().
 */
CIM_EXTERN int cim_job_fence_fd(const struct cim_job *job);
CIM_EXTERN void cim_job_release(struct cim_job *job);

/* Submit, wait forever, fill @res (may be NULL), release; returns the job's
 * outcome like cim_job_wait(). */
CIM_EXTERN int cim_run(struct cim_cmdbuf *cb, struct cim_job_result *res);

/*
 * Fences as plain fds. cim_fence_wait() waits up to @timeout_ms (< 0:
 * forever) for @fd to signal: 0, or -ETIME. cim_fence_merge() returns a new
 * fd (O_CLOEXEC, the caller closes it) that signals when both have: a
 * sync_file merge for two sync_files; an fd already signalled drops out.
 */
CIM_EXTERN int cim_fence_wait(int fd, int timeout_ms);
CIM_EXTERN int cim_fence_merge(int fd1, int fd2);

#ifdef __cplusplus
}
#endif

#endif /* CIM_H */
