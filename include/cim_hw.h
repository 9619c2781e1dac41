/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * cim device ABI: BAR0 register map, submission ring, command packets,
 * completion records and counters of the "cim-pci" compute-in-memory device.
 *
 * This is the one definition of what crosses the PCIe link. The QEMU device,
 * the firmware model, the kernel driver and libcim all include it. Every
 * multi-byte field is little-endian. Fields named *_f32 hold the bits of an
 * IEEE-754 binary32 value, so that the kernel never touches floating point.
 *
 * Documentation/device/spec.rst (registers, ring, completion) and
 * commands.rst (packets, AP instructions) explain every field.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef __CIM_HW_H__
#define __CIM_HW_H__

#include <linux/types.h>

/* PCI identity */
#define CIM_PCI_VENDOR_ID		0x1234	/* QEMU's experimental range */
#define CIM_PCI_DEVICE_ID		0xc1a0
#define CIM_PCI_CLASS			0x1200	/* processing accelerator */
#define CIM_PCI_REVISION		0x01

#define CIM_BAR_REGS			0	/* 4 KiB of 32-bit registers */
#define CIM_BAR_MSIX			2	/* MSI-X table and PBA */
#define CIM_REGS_SIZE			0x1000

#define CIM_MSIX_VEC_JOB		0	/* a job completed */
#define CIM_MSIX_VEC_ERROR		1	/* a job failed or the device halted */
#define CIM_MSIX_VECTORS		2

/* ABI version: major changes break compatibility, minor ones append */
#define CIM_ABI_MAJOR			1
#define CIM_ABI_MINOR			2

/*
 * BAR0 register map. Every register is 32 bits wide and must be accessed
 * with naturally aligned 32-bit loads and stores; other sizes read as all
 * ones and are ignored on write.
 *
 * Names: a register is CIM_REG_<NAME>, its bits CIM_<NAME>_<BIT> (CAPS,
 * STATUS, CONTROL, INT_..., FAULT). Bits are (1u << n), as wide as the
 * 32-bit register or packet field they live in; 64-bit fields of the uAPI
 * use (1ull << n). Job statuses are enum cim_status (CIM_ST_*).
 */
#define CIM_REG_ID			0x000	/* RO */
#define   CIM_ID_MAGIC			0x314d4943	/* "CIM1" */
#define CIM_REG_VERSION			0x004	/* RO: major << 16 | minor */
#define CIM_REG_CAPS			0x008	/* RO */
#define   CIM_CAPS_XBAR			(1u << 0)
#define   CIM_CAPS_DUU			(1u << 1)
#define   CIM_CAPS_AP			(1u << 2)
#define   CIM_CAPS_FAULT_INJECT		(1u << 3)
#define   CIM_CAPS_ABORT		(1u << 4)	/* ABORT_SEQNO (1.1) */
#define   CIM_CAPS_SCRUB		(1u << 5)	/* CIM_OP_SCRUB (1.1) */
#define   CIM_CAPS_ANALOG		(1u << 6)	/* analog cells, IDLE (1.2) */
#define CIM_REG_STATUS			0x00c	/* RO */
#define   CIM_STATUS_ENABLED		(1u << 0)
#define   CIM_STATUS_BUSY		(1u << 1)
#define   CIM_STATUS_HALTED		(1u << 2)	/* fatal error; reset */
#define   CIM_STATUS_HUNG		(1u << 3)	/* injected hang */
#define CIM_REG_CONTROL			0x010	/* RW */
#define   CIM_CONTROL_ENABLE		(1u << 0)	/* consume the ring */
#define   CIM_CONTROL_RESET		(1u << 1)	/* WO, self-clearing */
#define   CIM_CONTROL_VALID_MASK	0x3u
#define CIM_REG_INT_STATUS		0x014	/* RW1C */
#define   CIM_INT_JOB_DONE		(1u << 0)
#define   CIM_INT_JOB_ERROR		(1u << 1)
#define   CIM_INT_HALTED		(1u << 2)
#define   CIM_INT_VALID_MASK		0x7u
#define CIM_REG_INT_MASK		0x018	/* RW: 1 enables */
#define CIM_REG_HALT_REASON		0x01c	/* RO: enum cim_status */
#define CIM_REG_RING_BASE_LO		0x020	/* RW while not enabled */
#define CIM_REG_RING_BASE_HI		0x024
#define CIM_REG_RING_SIZE		0x028	/* RW: entries, power of 2 */
#define CIM_REG_RING_TAIL		0x02c	/* RW: doorbell, free-running */
#define CIM_REG_RING_HEAD		0x030	/* RO: free-running */
#define CIM_REG_DONE_SEQNO_LO		0x034	/* RO: last completed seqno */
#define CIM_REG_DONE_SEQNO_HI		0x038
#define CIM_REG_FAULT			0x03c	/* RW if CIM_CAPS_FAULT_INJECT */
#define   CIM_FAULT_HANG_NEXT		(1u << 0)	/* next job never ends */
#define   CIM_FAULT_DMA_NEXT		(1u << 1)	/* next job's DMA fails */
#define   CIM_FAULT_ERROR_NEXT		(1u << 2)	/* next job fails */
#define   CIM_FAULT_VALID_MASK		0x7u

/* Geometry and capability block, read-only */
#define CIM_REG_XBAR_COUNT		0x040
#define CIM_REG_XBAR_ROWS		0x044
#define CIM_REG_XBAR_COLS		0x048
#define CIM_REG_XBAR_LEVELS		0x04c
#define CIM_REG_DAC_BITS		0x050
#define CIM_REG_ADC_BITS		0x054
#define CIM_REG_AP_COUNT		0x058
#define CIM_REG_AP_ROWS			0x05c
#define CIM_REG_AP_COLS			0x060
#define CIM_REG_AP_DOMAINS		0x064
#define CIM_REG_AP_GROUP_TRACKS		0x068
#define CIM_REG_MAX_BATCH		0x06c
#define CIM_REG_MAX_CMDBUF		0x070	/* bytes */
#define CIM_REG_COST_PRESET		0x074	/* enum cim_cost_preset */
#define CIM_REG_SEED_LO			0x078
#define CIM_REG_SEED_HI			0x07c

/* Control registers added in ABI 1.1 */
#define CIM_REG_ABORT_SEQNO		0x080	/* WO if CIM_CAPS_ABORT */

/* Registers added in ABI 1.2 */
#define CIM_REG_DEVICE_PRESET		0x084	/* RO: enum cim_device_preset */

/*
 * Deprecated: the CAPS bits' former names, which shared
 * the CIM_CAP_ prefix with the driver's capabilities (uapi/misc/cim.h).
 * Kept so that existing code builds; new code uses CIM_CAPS_*.
 */
#define CIM_CAP_XBAR			CIM_CAPS_XBAR
#define CIM_CAP_DUU			CIM_CAPS_DUU
#define CIM_CAP_AP			CIM_CAPS_AP
#define CIM_CAP_FAULT_INJECT		CIM_CAPS_FAULT_INJECT
#define CIM_CAP_ABORT			CIM_CAPS_ABORT
#define CIM_CAP_SCRUB			CIM_CAPS_SCRUB

#define CIM_RING_ALIGN			64
#define CIM_RING_MIN_ENTRIES		2
#define CIM_RING_MAX_ENTRIES		4096

/* Architectural limits, the same on every instance */
#define CIM_MAX_XBARS			64
#define CIM_MAX_XBAR_DIM		1024
#define CIM_MIN_LEVELS			2
#define CIM_MAX_LEVELS			256
#define CIM_MIN_CONV_BITS		2	/* DAC and ADC */
#define CIM_MAX_CONV_BITS		12
#define CIM_MAX_APS			64
#define CIM_MAX_AP_ROWS			65536
#define CIM_MAX_AP_COLS			4096
#define CIM_MAX_AP_DOMAINS		256
#define CIM_MAX_BATCH			1024
#define CIM_MAX_CMDBUF			(4u << 20)
#define CIM_MAX_PULSES			255	/* n_max of one DUU transfer */
#define CIM_AP_NREGS			16

/**
 * struct cim_job_desc - one entry of the submission ring (64 bytes)
 * @cmdbuf_addr: bus address of the command buffer, 8-byte aligned
 * @cmdbuf_size: bytes, a multiple of 8, 8..MAX_CMDBUF
 * @flags: must be zero
 * @seqno: echoed in the completion record and DONE_SEQNO
 * @completion_addr: bus address of a struct cim_job_completion, 8-aligned
 * @reserved: must be zero
 */
struct cim_job_desc {
	__u64 cmdbuf_addr;
	__u32 cmdbuf_size;
	__u32 flags;
	__u64 seqno;
	__u64 completion_addr;
	__u64 reserved[4];
};

/**
 * struct cim_job_completion - written by the device when a job ends (48 bytes)
 * @seqno: the job's seqno
 * @status: enum cim_status of the job; the first failing packet's status
 * @cmds_done: packets that completed successfully, in order
 * @error_offset: byte offset of the failing packet in the command buffer
 * @error_field: byte offset, inside that packet, of the field at fault
 * @energy_fj: modelled energy of the job, femtojoules
 * @device_time_ps: modelled device time of the job, picoseconds
 * @reserved: written as zero
 */
struct cim_job_completion {
	__u64 seqno;
	__u32 status;
	__u32 cmds_done;
	__u32 error_offset;
	__u32 error_field;
	__u64 energy_fj;
	__u64 device_time_ps;
	__u64 reserved;
};

/*
 * Status codes of jobs and packets; never reordered, only appended. This is
 * the one job-status vocabulary: the driver adds CIM_JOB_TIMEDOUT (0x100)
 * and CIM_JOB_CANCELED (0x101) of uapi/misc/cim.h for jobs that never
 * completed on the device.
 */
enum cim_status {
	CIM_ST_OK = 0,
	CIM_ST_BAD_OPCODE = 1,	/* unknown opcode */
	CIM_ST_BAD_SIZE = 2,	/* packet size wrong for its opcode */
	CIM_ST_TRUNCATED = 3,	/* packet runs past the end of the buffer */
	CIM_ST_BAD_FLAGS = 4,	/* unknown flag bits set */
	CIM_ST_RESERVED = 5,	/* a must-be-zero field is not zero */
	CIM_ST_BAD_UNIT = 6,	/* crossbar or AP index out of range */
	CIM_ST_BAD_RANGE = 7,	/* row/column window outside the unit */
	CIM_ST_BAD_BATCH = 8,	/* batch 0 or above MAX_BATCH */
	CIM_ST_BAD_VALUE = 9,	/* NaN, infinity or out-of-range number */
	CIM_ST_BAD_ALIGN = 10,	/* misaligned address or size */
	CIM_ST_DMA = 11,	/* a DMA transfer failed */
	CIM_ST_BAD_INST = 12,	/* malformed AP instruction */
	CIM_ST_INJECTED = 13,	/* failure injected through CIM_REG_FAULT */
	CIM_ST_BAD_RING = 14,	/* ring misconfigured (halts the device) */
	CIM_ST_ABORTED = 15,	/* stopped by ABORT_SEQNO (1.1) */
	CIM_ST_NOMEM = 16,	/* the model could not get host memory */
	CIM_ST_COUNT
};

/* Command packets ---------------------------------------------------------- */

/**
 * struct cim_pkt_hdr - header that starts every packet (8 bytes)
 * @opcode: enum cim_opcode
 * @flags: opcode-specific, unknown bits rejected
 * @size: bytes of the whole packet including this header, multiple of 8,
 *        8..MAX_CMDBUF; exactly the packet's struct size unless the
 *        packet says otherwise (NOP and COUNTERS_RESET are a bare header)
 *
 * A packet is checked in this order: the header (fewer than 8 bytes left:
 * TRUNCATED; size < 8 or > MAX_CMDBUF: BAD_SIZE; size not a multiple of 8:
 * BAD_ALIGN; size past the end of the buffer: TRUNCATED), the opcode, the
 * exact size, the flags, then every field in the order of its struct, then
 * the data it reads. Bus addresses of binary32 arrays must be 4-byte
 * aligned, every other bus address 8-byte aligned (BAD_ALIGN).
 */
struct cim_pkt_hdr {
	__u16 opcode;
	__u16 flags;
	__u32 size;
};

enum cim_opcode {
	CIM_OP_NOP = 0x00,
	CIM_OP_FENCE = 0x01,
	CIM_OP_SCRUB = 0x02,		/* ABI 1.1 */
	CIM_OP_IDLE = 0x03,		/* ABI 1.2 */
	CIM_OP_XBAR_PROGRAM = 0x10,
	CIM_OP_XBAR_READ = 0x11,
	CIM_OP_VMM_FWD = 0x12,
	CIM_OP_VMM_TRANS = 0x13,
	CIM_OP_DUU_UPDATE = 0x14,
	CIM_OP_AP_LOAD_ROWS = 0x20,
	CIM_OP_AP_PROGRAM = 0x21,
	CIM_OP_AP_READ = 0x22,
	CIM_OP_COUNTERS_READ = 0x30,
	CIM_OP_COUNTERS_RESET = 0x31,
};

/**
 * struct cim_pkt_fence - write @value to @addr once every earlier packet of
 * the job has completed
 * @hdr: opcode CIM_OP_FENCE, flags 0
 * @addr: bus address, 8-byte aligned
 * @value: 64-bit value written
 */
struct cim_pkt_fence {
	struct cim_pkt_hdr hdr;
	__u64 addr;
	__u64 value;
};

/**
 * struct cim_pkt_scrub - return units to their power-on state (24 bytes)
 * @hdr: opcode CIM_OP_SCRUB, flags 0
 * @xbar_mask: bit n scrubs crossbar n and its DUU accumulators; every bit
 *             must name an existing crossbar, else BAD_UNIT
 * @ap_mask: bit n scrubs AP n; every bit must name an existing AP, else
 *           BAD_UNIT
 *
 * Both masks zero is a valid no-op. The driver sends it before it hands a
 * unit to a new owner, so that no data of one user reaches the next.
 */
struct cim_pkt_scrub {
	struct cim_pkt_hdr hdr;
	__u64 xbar_mask;
	__u64 ap_mask;
};

/**
 * struct cim_pkt_idle - let device time pass (16 bytes, ABI 1.2)
 * @hdr: opcode CIM_OP_IDLE, flags 0
 * @ns: nanoseconds, 1..CIM_MAX_IDLE_NS, else BAD_VALUE
 *
 * Advances the clock the crossbars age by (their conductance relaxation)
 * as if the chip had sat powered and idle for @ns. It charges no energy
 * and no busy time, and the device does not really wait: the job
 * completes as fast as without it.
 */
struct cim_pkt_idle {
	struct cim_pkt_hdr hdr;
	__u64 ns;
};

#define CIM_MAX_IDLE_NS			(1ull << 53)	/* about 104 days */

/**
 * struct cim_pkt_xbar_window - a rectangle of cells of one crossbar
 * @xbar: crossbar index, < XBAR_COUNT
 * @row: first row
 * @nrows: rows, >= 1, row + nrows <= XBAR_ROWS
 * @col: first column
 * @ncols: columns, >= 1, col + ncols <= XBAR_COLS
 */
struct cim_pkt_xbar_window {
	__u32 xbar;
	__u16 row;
	__u16 nrows;
	__u16 col;
	__u16 ncols;
};

/* XBAR_PROGRAM flags */
#define CIM_PROGRAM_F_REPORT		(1u << 0)	/* write a report */
#define CIM_PROGRAM_F_TOL_US		(1u << 1)	/* tolerance in uS (1.2) */
#define CIM_PROGRAM_F_RESIDUAL		(1u << 2)	/* residual report (1.2) */
#define CIM_PROGRAM_VALID_FLAGS		0x7u

#define CIM_PROGRAM_MAX_TOL_US		100.0f

/**
 * struct cim_pkt_xbar_program - program weights with write-verify (48 bytes)
 * @hdr: opcode CIM_OP_XBAR_PROGRAM
 * @win: target cells
 * @max_iters: verify iterations per cell, 1..64
 * @tolerance_f32: accepted error of each device's conductance as the
 *                 verify read sees it: in levels, (0, 8]; with
 *                 CIM_PROGRAM_F_TOL_US in microsiemens,
 *                 (0, CIM_PROGRAM_MAX_TOL_US]
 * @pad: must be zero
 * @src: nrows * ncols binary32 weights, row-major, each in [-1, 1]
 * @report: bus address of a struct cim_program_report if
 *          CIM_PROGRAM_F_REPORT, of a struct cim_program_residual if
 *          CIM_PROGRAM_F_RESIDUAL (not both: BAD_FLAGS), else must be zero
 *
 * max_iters and tolerance outside their ranges, or a weight that is NaN,
 * infinite or outside [-1, 1], fail the packet with BAD_VALUE.
 */
struct cim_pkt_xbar_program {
	struct cim_pkt_hdr hdr;
	struct cim_pkt_xbar_window win;
	__u32 max_iters;
	__u32 tolerance_f32;
	__u32 pad;
	__u64 src;
	__u64 report;
};

/**
 * struct cim_program_report - outcome of a write-verify programming
 * @cells: cells programmed
 * @failed: cells still outside the tolerance after max_iters
 * @pulses: programming pulses applied
 * @iterations: verify iterations summed over cells
 */
struct cim_program_report {
	__u32 cells;
	__u32 failed;
	__u32 pulses;
	__u32 iterations;
};

#define CIM_PROGRAM_HIST_BINS		16

/**
 * struct cim_program_residual - a programming report with the residual
 * error of every cell (ABI 1.2)
 * @rep: as struct cim_program_report
 * @mean_f32: mean of e, microsiemens, where e is a cell's true G+ - G-
 *            after programming minus its target w * (G_MAX - G_MIN)
 * @rms_f32: root mean square of e, microsiemens
 * @max_f32: largest |e|, microsiemens
 * @bin_f32: the histogram's bin width, microsiemens: the tolerance / 4
 * @hist: cells by e: bin i counts e in [(i - 8) bin, (i - 7) bin), the
 *        first and the last bins also everything below and above
 */
struct cim_program_residual {
	struct cim_program_report rep;
	__u32 mean_f32;
	__u32 rms_f32;
	__u32 max_f32;
	__u32 bin_f32;
	__u32 hist[CIM_PROGRAM_HIST_BINS];
};

/* XBAR_READ flags */
#define CIM_READ_F_WEIGHTS		(1u << 0)	/* weights, not G pairs */
#define CIM_READ_VALID_FLAGS		0x1u

/**
 * struct cim_pkt_xbar_read - read back conductances (32 bytes)
 * @hdr: opcode CIM_OP_XBAR_READ
 * @win: cells to read
 * @pad: must be zero
 * @dst: with CIM_READ_F_WEIGHTS, nrows * ncols binary32 weights,
 *       (G+ - G-) / (G_MAX - G_MIN): in [-1, 1] nominally, a little beyond
 *       where a device's own range exceeds the nominal one (ABI 1.2);
 *       otherwise nrows * ncols pairs (G+, G-) of binary32 microsiemens
 */
struct cim_pkt_xbar_read {
	struct cim_pkt_hdr hdr;
	struct cim_pkt_xbar_window win;
	__u32 pad;
	__u64 dst;
};

/* VMM flags */
#define CIM_VMM_F_ADC_FIXED		(1u << 0)	/* fixed ADC range */
#define CIM_VMM_VALID_FLAGS		0x1u

/**
 * struct cim_pkt_vmm - batched analog vector-matrix multiply (48 bytes)
 * @hdr: opcode CIM_OP_VMM_FWD (inputs on rows, outputs on columns) or
 *       CIM_OP_VMM_TRANS (inputs on columns, outputs on rows)
 * @win: cells taking part
 * @batch: vectors, 1..MAX_BATCH
 * @adc_range_f32: with CIM_VMM_F_ADC_FIXED, the ADC full scale in output
 *                 units, finite and > 0; otherwise must be zero
 * @pad: must be zero
 * @x: batch input vectors of binary32, packed, each of the input length
 * @y: batch output vectors of binary32, packed, each of the output length
 */
struct cim_pkt_vmm {
	struct cim_pkt_hdr hdr;
	struct cim_pkt_xbar_window win;
	__u32 batch;
	__u32 adc_range_f32;
	__u32 pad;
	__u64 x;
	__u64 y;
};

/* DUU_UPDATE flags */
#define CIM_DUU_F_NO_TRANSFER		(1u << 0)	/* accumulate only */
#define CIM_DUU_F_REPORT		(1u << 1)	/* write a report */
#define CIM_DUU_F_X_IDENTITY		(1u << 2)	/* x = I, not read */
#define CIM_DUU_VALID_FLAGS		0x7u

/**
 * struct cim_pkt_duu_update - mixed-precision weight update (64 bytes)
 * @hdr: opcode CIM_OP_DUU_UPDATE
 * @win: cells updated; rows take x, columns take d
 * @batch: 0..MAX_BATCH; 0 runs only the threshold transfer, and then
 *         @x and @d are not read
 * @lr_f32: learning rate, finite and >= 0
 * @epsilon_f32: transfer threshold in weight units, finite and >= 0;
 *               0 selects one conductance level, 1 / (LEVELS - 1)
 * @n_max: pulses per cell and transfer, 1..CIM_MAX_PULSES
 * @reserved: must be zero
 * @pad: must be zero
 * @x: batch * nrows binary32 (layer inputs); with CIM_DUU_F_X_IDENTITY
 *     must be zero (x is the identity: batch must equal nrows)
 * @d: batch * ncols binary32 (error signals); with CIM_DUU_F_X_IDENTITY
 *     the nrows x ncols update itself, one product per cell
 * @report: bus address of a struct cim_duu_report with CIM_DUU_F_REPORT,
 *          else must be zero
 *
 * chi[i][j] -= lr * sum_b x[b][i] * d[b][j], with x and d taken as 16-bit
 * codes times one scale per operand and packet (max |v| / 32767), so the
 * sum is exact; then, unless CIM_DUU_F_NO_TRANSFER, every cell with
 * |chi| >= epsilon is pulsed trunc(chi / epsilon) times (clamped to n_max)
 * and keeps the remainder.
 */
struct cim_pkt_duu_update {
	struct cim_pkt_hdr hdr;
	struct cim_pkt_xbar_window win;
	__u32 batch;
	__u32 lr_f32;
	__u32 epsilon_f32;
	__u16 n_max;
	__u16 reserved;
	__u32 pad;
	__u64 x;
	__u64 d;
	__u64 report;
};

/**
 * struct cim_duu_report - outcome of one DUU transfer
 * @cells_pulsed: cells that received at least one pulse
 * @pulses_pos: pulses that raised a weight
 * @pulses_neg: pulses that lowered a weight
 * @clamped: cells whose pulse count was clamped to n_max
 * @saturated: pulses redirected because a device sat at its bound
 * @reserved: written as zero
 */
struct cim_duu_report {
	__u32 cells_pulsed;
	__u32 pulses_pos;
	__u32 pulses_neg;
	__u32 clamped;
	__u32 saturated;
	__u32 reserved;
};

/**
 * struct cim_pkt_ap_rows - AP row transfer, for AP_LOAD_ROWS and AP_READ
 * (40 bytes)
 * @hdr: opcode CIM_OP_AP_LOAD_ROWS or CIM_OP_AP_READ
 * @ap: AP index, < AP_COUNT
 * @what: for AP_READ, enum cim_ap_read (others: BAD_VALUE); for
 *        AP_LOAD_ROWS, must be zero
 * @row: first row
 * @nrows: rows, >= 1, row + nrows <= AP_ROWS (ignored with REGS: must be 0)
 * @col: first bit-column (ROWS only, else must be zero)
 * @ncols: bit-columns, 1..64 (ROWS only, else must be zero)
 * @reserved: must be zero
 * @addr: 8-byte aligned. ROWS: nrows little-endian __u64 words, bit k of
 *        a word is column col + k (bits from ncols up are ignored on load,
 *        zero on read); TAGS: ceil(nrows / 64) __u64 words, bit k of word w
 *        is row + 64 w + k; REGS: CIM_AP_NREGS __u64 words
 */
struct cim_pkt_ap_rows {
	struct cim_pkt_hdr hdr;
	__u32 ap;
	__u32 what;
	__u32 row;
	__u32 nrows;
	__u16 col;
	__u16 ncols;
	__u32 reserved;
	__u64 addr;
};

enum cim_ap_read {
	CIM_AP_READ_ROWS = 0,
	CIM_AP_READ_TAGS = 1,
	CIM_AP_READ_REGS = 2,
};

/**
 * struct cim_ap_inst - one AP instruction (16 bytes)
 * @op: enum cim_ap_op
 * @arg: small operand (mode, tag op, flags), per @op
 * @w: operands, per @op
 */
struct cim_ap_inst {
	__u8 op;
	__u8 arg;
	__u16 w[7];
};

/*
 * AP instruction set. Columns are bit-columns; a field is a run of columns,
 * least significant bit first, two's complement where signed.
 */
enum cim_ap_op {
	/* MASK excludes every column; KEY = 0. Operands must be zero. */
	CIM_AP_KM_CLEAR = 0x01,
	/*
	 * arg = n (1..7) pairs in w[0..n-1]: column | (bit << 15); unmasks
	 * each column and sets its KEY bit.
	 */
	CIM_AP_KM_SET = 0x02,
	/*
	 * TAG = match(KEY, MASK) combined per arg (enum cim_ap_cmp) with
	 * TAG2, over active rows (ROWEN).
	 */
	CIM_AP_COMPARE = 0x03,
	/* Tagged rows get the KEY bits of unmasked columns. */
	CIM_AP_WRITE = 0x04,
	/* Shift column group w[0] by the signed domain count (__s16) w[1]. */
	CIM_AP_SHIFT = 0x05,
	/* Tag housekeeping, arg = enum cim_ap_tagop. */
	CIM_AP_TAGOP = 0x06,
	/* R[w[0]] = popcount(TAG). */
	CIM_AP_TAGCOUNT = 0x07,
	/* R[w[0]] = first tagged row, or all ones if none. */
	CIM_AP_FIRSTTAG = 0x08,
	/* Macros, charged as the primitives they expand to: */
	/*
	 * B(w[2], n = w[3]) += A(w[0], m = w[1]), m <= n, modulo 2^n;
	 * carry column w[4]; arg: CIM_AP_ADD_F_* (SUB subtracts, PRED acts
	 * only on rows whose column w[5] is 1, SIGNED sign-extends A).
	 */
	CIM_AP_ADD = 0x10,
	/* field (w[0], n = w[1]) = max(field, 0), signed */
	CIM_AP_RELU = 0x11,
	/*
	 * R[w[2]] = max of the unsigned field (w[0], n = w[1]) over active
	 * rows; TAG marks the rows holding it
	 */
	CIM_AP_MAX = 0x12,
	/*
	 * dst (w[3], k = w[4]) = clamp(src (w[0], n = w[1]) >> w[2], 0,
	 * 2^k - 1), signed src, 1 <= k <= 16; needs a scratch column w[5]
	 */
	CIM_AP_REQUANT = 0x13,
	/* field (w[0], n = w[1]) = 0 in active rows */
	CIM_AP_CLEAR = 0x14,
	/* dst (w[2], n = w[1]) = src (w[0], n = w[1]) in active rows */
	CIM_AP_COPY = 0x15,
};

#define CIM_AP_ADD_F_SUB		(1u << 0)
#define CIM_AP_ADD_F_PRED		(1u << 1)
#define CIM_AP_ADD_F_SIGNED		(1u << 2)
#define CIM_AP_ADD_VALID_FLAGS		0x7u
#define CIM_AP_KM_COL_MASK		0x7fffu
#define CIM_AP_KM_BIT			0x8000u
#define CIM_AP_MAX_FIELD		64	/* bits of one field */

enum cim_ap_cmp {
	CIM_AP_CMP_SET = 0,	/* TAG = match */
	CIM_AP_CMP_AND = 1,	/* TAG = match & TAG2 */
	CIM_AP_CMP_OR = 2,	/* TAG = match | TAG2 */
	CIM_AP_CMP_ANDN = 3,	/* TAG = match & ~TAG2 */
};

enum cim_ap_tagop {
	CIM_AP_TAG_SETALL = 0,	/* TAG = ROWEN */
	CIM_AP_TAG_CLEAR = 1,	/* TAG = 0 */
	CIM_AP_TAG_NOT = 2,	/* TAG = ~TAG & ROWEN */
	CIM_AP_TAG_SWAP = 3,	/* swap TAG and TAG2 */
	CIM_AP_TAG_SAVE = 4,	/* TAG2 = TAG */
	CIM_AP_TAG_ROWEN = 5,	/* ROWEN = TAG */
	CIM_AP_TAG_ROWEN_ALL = 6,	/* ROWEN = all rows */
};

/**
 * struct cim_pkt_ap_program - run AP instructions (16 + 16 n bytes)
 * @hdr: opcode CIM_OP_AP_PROGRAM; size = 16 + 16 * ninst, else BAD_SIZE
 * @ap: AP index
 * @ninst: instructions that follow, >= 1 (0: BAD_SIZE)
 * @inst: the instructions, run in order; the first malformed one fails
 *        the packet before any instruction runs
 */
struct cim_pkt_ap_program {
	struct cim_pkt_hdr hdr;
	__u32 ap;
	__u32 ninst;
	struct cim_ap_inst inst[];
};

/* COUNTERS_READ flags */
#define CIM_COUNTERS_F_RESET		(1u << 0)	/* then reset them */
#define CIM_COUNTERS_VALID_FLAGS	0x1u

/**
 * struct cim_pkt_counters - read the counters (24 bytes)
 * @hdr: opcode CIM_OP_COUNTERS_READ
 * @size: bytes the caller accepts, a multiple of 8 (else BAD_ALIGN),
 *        8..4096 (else BAD_VALUE); the device writes
 *        min(size, sizeof(struct cim_counters)) bytes
 * @reserved: must be zero
 * @dst: bus address of the struct cim_counters
 */
struct cim_pkt_counters {
	struct cim_pkt_hdr hdr;
	__u32 size;
	__u32 reserved;
	__u64 dst;
};

/* Units whose energy and busy time are counted separately */
enum cim_unit {
	CIM_UNIT_XBAR_ARRAY = 0,	/* analog read of the cells */
	CIM_UNIT_DAC = 1,
	CIM_UNIT_ADC = 2,
	CIM_UNIT_PULSE = 3,		/* device programming pulses */
	CIM_UNIT_DUU = 4,		/* digital accumulation */
	CIM_UNIT_AP_COMPARE = 5,
	CIM_UNIT_AP_WRITE = 6,
	CIM_UNIT_AP_SHIFT = 7,
	CIM_UNIT_AP_IO = 8,		/* row loads and reads */
	CIM_UNIT_AP_TAG = 9,		/* tag count and priority encoder */
	CIM_UNIT_COUNT = 10
};

/**
 * struct cim_counters - cumulative device counters, grows by appending
 * @size: sizeof(struct cim_counters) of the device
 * @jobs: jobs completed
 * @vmm_fwd: forward vectors multiplied
 * @vmm_trans: transposed vectors multiplied
 * @dac_conversions: DAC conversions
 * @adc_conversions: ADC conversions
 * @adc_saturations: ADC conversions clipped at full scale
 * @pulses_pos: DUU pulses that raised a weight
 * @pulses_neg: DUU pulses that lowered a weight
 * @duu_macs: multiply-accumulates in the DUU
 * @program_pulses: write-verify pulses
 * @ap_compares: AP compare passes
 * @ap_writes: AP write passes
 * @ap_bits_written: bits that flipped in AP writes
 * @ap_shift_steps: track-steps of racetrack shifts
 * @ap_io_bits: bits moved by AP row loads and reads
 * @energy_fj: energy per enum cim_unit, femtojoules
 * @busy_ps: modelled busy time per enum cim_unit, picoseconds
 * @device_time_ps: modelled device time, units overlapping where they may
 */
struct cim_counters {
	__u64 size;
	__u64 jobs;
	__u64 vmm_fwd;
	__u64 vmm_trans;
	__u64 dac_conversions;
	__u64 adc_conversions;
	__u64 adc_saturations;
	__u64 pulses_pos;
	__u64 pulses_neg;
	__u64 duu_macs;
	__u64 program_pulses;
	__u64 ap_compares;
	__u64 ap_writes;
	__u64 ap_bits_written;
	__u64 ap_shift_steps;
	__u64 ap_io_bits;
	__u64 energy_fj[CIM_UNIT_COUNT];
	__u64 busy_ps[CIM_UNIT_COUNT];
	__u64 device_time_ps;
};

/* Packet sizes and buffer references ------------------------------------ */

/**
 * cim_pkt_base_size() - the size of @opcode's packet struct
 * @opcode: enum cim_opcode
 *
 * Return: sizeof the packet's struct; 0 for an unknown opcode. Every packet
 * is exactly this size but AP_PROGRAM, which is followed by its
 * instructions (cim_pkt_size()).
 */
static inline __u32 cim_pkt_base_size(__u32 opcode)
{
	switch (opcode) {
	case CIM_OP_NOP:
	case CIM_OP_COUNTERS_RESET:
		return sizeof(struct cim_pkt_hdr);
	case CIM_OP_FENCE:
		return sizeof(struct cim_pkt_fence);
	case CIM_OP_SCRUB:
		return sizeof(struct cim_pkt_scrub);
	case CIM_OP_IDLE:
		return sizeof(struct cim_pkt_idle);
	case CIM_OP_XBAR_PROGRAM:
		return sizeof(struct cim_pkt_xbar_program);
	case CIM_OP_XBAR_READ:
		return sizeof(struct cim_pkt_xbar_read);
	case CIM_OP_VMM_FWD:
	case CIM_OP_VMM_TRANS:
		return sizeof(struct cim_pkt_vmm);
	case CIM_OP_DUU_UPDATE:
		return sizeof(struct cim_pkt_duu_update);
	case CIM_OP_AP_LOAD_ROWS:
	case CIM_OP_AP_READ:
		return sizeof(struct cim_pkt_ap_rows);
	case CIM_OP_AP_PROGRAM:
		return sizeof(struct cim_pkt_ap_program);
	case CIM_OP_COUNTERS_READ:
		return sizeof(struct cim_pkt_counters);
	}
	return 0;
}

/**
 * cim_pkt_size() - the size hdr.size must hold
 * @pkt: a packet of a known opcode, at least cim_pkt_base_size() bytes
 *
 * Return: the exact packet size, computed from ninst for AP_PROGRAM (whose
 * ninst must also be >= 1).
 */
static inline __u64 cim_pkt_size(const struct cim_pkt_hdr *pkt)
{
	const struct cim_pkt_ap_program *prog;

	if (pkt->opcode != CIM_OP_AP_PROGRAM)
		return cim_pkt_base_size(pkt->opcode);
	prog = (const struct cim_pkt_ap_program *)pkt;
	return sizeof(*prog) + (__u64)prog->ninst * sizeof(struct cim_ap_inst);
}

/* How a packet uses one of its address fields */
enum cim_ref_use {
	CIM_REF_READ = 1,	/* the device reads @len bytes there */
	CIM_REF_WRITE = 2,	/* the device writes @len bytes there */
	CIM_REF_ZERO = 3,	/* not an address here; must be zero (RESERVED) */
	CIM_REF_IGNORED = 4,	/* not an address here; the device ignores it */
};

#define CIM_PKT_MAX_REFS		3

/**
 * struct cim_pkt_ref - one address field of a packet
 * @field: byte offset of the __u64 address field inside the packet
 * @use: enum cim_ref_use
 * @align: the alignment the address must have: 4 for binary32 arrays,
 *         else 8 (BAD_ALIGN)
 * @len: bytes the device reads or writes from the address; 0 unless
 *       @use is READ or WRITE
 */
struct cim_pkt_ref {
	__u16 field;
	__u8 use;
	__u8 align;
	__u32 pad;
	__u64 len;
};

static inline struct cim_pkt_ref cim_pkt_ref_make(__u32 field, __u32 use,
						  __u32 align, __u64 len)
{
	struct cim_pkt_ref ref = {
		.field = (__u16)field,
		.use = (__u8)use,
		.align = (__u8)align,
		.len = use == CIM_REF_READ || use == CIM_REF_WRITE ? len : 0,
	};

	return ref;
}

#define CIM_PKT_REF(type, member, use, align, len) \
	cim_pkt_ref_make(__builtin_offsetof(type, member), (use), (align), (len))

/**
 * cim_pkt_refs() - the buffers a packet references
 * @pkt: a packet of cim_pkt_size() bytes
 * @refs: CIM_PKT_MAX_REFS entries, filled with every address field of the
 *        packet in the order of its struct
 *
 * This is the one description of the packets' buffer references: the
 * runtime turns buffers into addresses with it, the driver relocates and
 * bounds-checks them with it, the device reads and writes what it says.
 * The lengths are computed from the packet's other fields; they are
 * meaningful once those fields have passed the packet's checks (a window
 * inside its unit, a batch in range, a known AP_READ @what). A packet
 * whose opcode adds no address has none.
 *
 * Return: the number of entries filled.
 */
static inline unsigned int cim_pkt_refs(const struct cim_pkt_hdr *pkt,
					struct cim_pkt_ref *refs)
{
	const struct cim_pkt_xbar_program *prog;
	const struct cim_pkt_xbar_read *rd;
	const struct cim_pkt_vmm *vmm;
	const struct cim_pkt_duu_update *duu;
	const struct cim_pkt_ap_rows *ap;
	const struct cim_pkt_counters *cnt;
	__u64 cells, len;
	__u32 use;

	switch (pkt->opcode) {
	case CIM_OP_FENCE:
		refs[0] = CIM_PKT_REF(struct cim_pkt_fence, addr, CIM_REF_WRITE,
				      8, sizeof(__u64));
		return 1;
	case CIM_OP_XBAR_PROGRAM:
		prog = (const struct cim_pkt_xbar_program *)pkt;
		cells = (__u64)prog->win.nrows * prog->win.ncols;
		refs[0] = CIM_PKT_REF(struct cim_pkt_xbar_program, src,
				      CIM_REF_READ, 4, cells * 4);
		use = pkt->flags & (CIM_PROGRAM_F_REPORT |
				    CIM_PROGRAM_F_RESIDUAL) ? CIM_REF_WRITE :
			CIM_REF_ZERO;
		len = pkt->flags & CIM_PROGRAM_F_RESIDUAL ?
			sizeof(struct cim_program_residual) :
			sizeof(struct cim_program_report);
		refs[1] = CIM_PKT_REF(struct cim_pkt_xbar_program, report, use,
				      8, len);
		return 2;
	case CIM_OP_XBAR_READ:
		rd = (const struct cim_pkt_xbar_read *)pkt;
		cells = (__u64)rd->win.nrows * rd->win.ncols;
		/* weights, or (G+, G-) pairs */
		len = pkt->flags & CIM_READ_F_WEIGHTS ? cells * 4 : cells * 8;
		refs[0] = CIM_PKT_REF(struct cim_pkt_xbar_read, dst,
				      CIM_REF_WRITE, 4, len);
		return 1;
	case CIM_OP_VMM_FWD:
	case CIM_OP_VMM_TRANS:
		vmm = (const struct cim_pkt_vmm *)pkt;
		len = (__u64)vmm->batch * 4;
		refs[0] = CIM_PKT_REF(struct cim_pkt_vmm, x, CIM_REF_READ, 4,
				      len * (pkt->opcode == CIM_OP_VMM_FWD ?
					     vmm->win.nrows : vmm->win.ncols));
		refs[1] = CIM_PKT_REF(struct cim_pkt_vmm, y, CIM_REF_WRITE, 4,
				      len * (pkt->opcode == CIM_OP_VMM_FWD ?
					     vmm->win.ncols : vmm->win.nrows));
		return 2;
	case CIM_OP_DUU_UPDATE:
		duu = (const struct cim_pkt_duu_update *)pkt;
		len = (__u64)duu->batch * 4;
		/* batch 0 reads neither; an identity x is not read */
		if (!duu->batch)
			use = CIM_REF_IGNORED;
		else if (pkt->flags & CIM_DUU_F_X_IDENTITY)
			use = CIM_REF_ZERO;
		else
			use = CIM_REF_READ;
		refs[0] = CIM_PKT_REF(struct cim_pkt_duu_update, x, use, 4,
				      len * duu->win.nrows);
		refs[1] = CIM_PKT_REF(struct cim_pkt_duu_update, d,
				      duu->batch ? CIM_REF_READ :
						   CIM_REF_IGNORED,
				      4, len * duu->win.ncols);
		use = pkt->flags & CIM_DUU_F_REPORT ? CIM_REF_WRITE :
			CIM_REF_ZERO;
		refs[2] = CIM_PKT_REF(struct cim_pkt_duu_update, report, use,
				      8, sizeof(struct cim_duu_report));
		return 3;
	case CIM_OP_AP_LOAD_ROWS:
	case CIM_OP_AP_READ:
		ap = (const struct cim_pkt_ap_rows *)pkt;
		if (ap->what == CIM_AP_READ_TAGS)
			len = ((__u64)ap->nrows + 63) / 64 * 8;
		else if (ap->what == CIM_AP_READ_REGS)
			len = CIM_AP_NREGS * 8;
		else
			len = (__u64)ap->nrows * 8;
		refs[0] = CIM_PKT_REF(struct cim_pkt_ap_rows, addr,
				      pkt->opcode == CIM_OP_AP_READ ?
				      CIM_REF_WRITE : CIM_REF_READ, 8, len);
		return 1;
	case CIM_OP_COUNTERS_READ:
		cnt = (const struct cim_pkt_counters *)pkt;
		len = cnt->size < sizeof(struct cim_counters) ? cnt->size :
			sizeof(struct cim_counters);
		refs[0] = CIM_PKT_REF(struct cim_pkt_counters, dst,
				      CIM_REF_WRITE, 8, len);
		return 1;
	}
	return 0;
}

enum cim_cost_preset {
	CIM_COST_DEFAULT = 0,	/* device-level AP costs (scenario A) */
	CIM_COST_STT_TCAM = 1,	/* STT-TCAM AP costs (scenario B) */
	CIM_COST_DESTINY = 2,	/* RTSim/DESTINY array costs (scenario C) */
	CIM_COST_COUNT
};

/*
 * The device family whose published figures set a device's crossbar
 * physics (Documentation/model/devices.rst); CIM_REG_DEVICE_PRESET.
 */
enum cim_device_preset {
	CIM_DEVICE_BULK_RRAM = 0,	/* the mixed-precision paper's b-ReRAM */
	CIM_DEVICE_FILAMENTARY_RRAM = 1,
	CIM_DEVICE_PCM = 2,
	CIM_DEVICE_CUSTOM = 3,		/* set property by property */
	CIM_DEVICE_PRESET_COUNT
};

#endif /* __CIM_HW_H__ */
