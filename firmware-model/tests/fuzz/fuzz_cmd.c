// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the command processor: the input is a command
 * buffer, the DMA behaviour of the job and the initial bytes of a small
 * bus-memory arena; cimfw_execute() runs it on a small model, reset
 * before every input so that a crash reproduces from its input alone.
 * After each run it checks what must hold for any input:
 *
 * - the status is an enum cim_status and equals done.status;
 * - cmds_done whole packets ran: their sizes, walked from offset 0, add
 *   up to error_offset on failure (a packet boundary inside the buffer)
 *   and to the buffer's size on success; error fields are 0 on success;
 * - an abort is reported only when the callback said so, with
 *   error_field 0xffffffff;
 * - nothing was written outside the arena: guard zones on both sides
 *   keep their pattern (ASan sees writes further away);
 * - a packet rejected by validation changed nothing: a twin model that
 *   runs only the packets before it, from the same arena, ends in the
 *   same state (units, noise streams, meter). DMA failures are left out
 *   (a failing output write comes after the work), and so are aborts.
 *
 * Input layout (little-endian), firmware-model/tests/fuzz/gen_corpus.py writes seeds:
 *
 *   0  u8   mode: FZ_* bits below
 *   1  u8   abort_after: with FZ_ABORT, the callback says "abort" from
 *           its abort_after-th call on (0: at once)
 *   2  u16  cmd_len: bytes of command buffer that follow (clipped)
 *   4  ...  the command buffer, then the arena's first bytes (the rest of
 *           the arena is zero)
 *
 * The arena is ARENA_SIZE bytes at bus address ARENA_BASE; its last
 * FAIL_SIZE bytes fail reads (FZ_FAIL_READ) or writes (FZ_FAIL_WRITE);
 * every address outside it fails.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_priv.h"

#define ARENA_BASE	0x100000ull
#define ARENA_SIZE	(256u << 10)
#define FAIL_SIZE	(4u << 10)
#define GUARD		4096u
#define GUARD_BYTE	0xa5

enum {
	FZ_MAP = 1 << 0,	/* offer @map, so outputs go in place */
	FZ_FAIL_READ = 1 << 1,
	FZ_FAIL_WRITE = 1 << 2,
	FZ_NO_DMA = 1 << 3,	/* no struct cimfw_dma at all */
	FZ_ABORT = 1 << 4,	/* an @aborted callback */
};

struct fuzz_hdr {
	uint8_t mode;
	uint8_t abort_after;
	uint16_t cmd_len;
};

static struct cimfw *fw, *twin;
/* FUZZ_CMD_TRACE set: each input's completion on stderr (seed checks) */
static bool trace;
/* GUARD | arena | GUARD */
static uint8_t *mem;
static uint8_t *arena;
/* the command buffer, 8-aligned as a DMA copy would be */
static uint64_t *cmd;

static struct job {
	uint8_t mode;
	unsigned int abort_after;
	unsigned int abort_calls;
	bool abort_said;
} job;

/* The arena bytes of [addr, addr + len), or NULL: outside or failing. */
static uint8_t *range(uint64_t addr, size_t len, bool fail)
{
	uint64_t off;

	if (addr < ARENA_BASE || addr - ARENA_BASE > ARENA_SIZE ||
	    len > ARENA_SIZE - (addr - ARENA_BASE))
		return NULL;
	off = addr - ARENA_BASE;
	if (fail && off + len > ARENA_SIZE - FAIL_SIZE)
		return NULL;
	return arena + off;
}

static int fz_read(void *opaque, uint64_t addr, void *dst, size_t len)
{
	uint8_t *p = range(addr, len, job.mode & FZ_FAIL_READ);

	(void)opaque;
	if (!p)
		return -14;
	memcpy(dst, p, len);
	return 0;
}

static int fz_write(void *opaque, uint64_t addr, const void *src, size_t len)
{
	uint8_t *p = range(addr, len, job.mode & FZ_FAIL_WRITE);

	(void)opaque;
	if (!p)
		return -14;
	memcpy(p, src, len);
	return 0;
}

/* In place only where both reads and writes would succeed. */
static void *fz_map(void *opaque, uint64_t addr, size_t len)
{
	(void)opaque;
	return range(addr, len, job.mode & (FZ_FAIL_READ | FZ_FAIL_WRITE));
}

static bool fz_aborted(void *opaque)
{
	(void)opaque;
	if (job.abort_calls++ < job.abort_after)
		return false;
	job.abort_said = true;
	return true;
}

static uint64_t hash(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* Everything a packet may change, in one FNV-1a hash. */
static uint64_t state_hash(const struct cimfw *f)
{
	uint64_t h = hash(0xcbf29ce484222325ull, &f->meter, sizeof(f->meter));
	unsigned int i;

	h = hash(h, &f->clock_ns, sizeof(f->clock_ns));
	for (i = 0; i < f->cfg.xbar_count; i++) {
		const struct cimfw_xbar *xb = &f->xbars[i];
		size_t n = (size_t)xb->rows * xb->cols;

		h = hash(h, xb->g, 2 * n * sizeof(*xb->g));
		h = hash(h, xb->chi, n * sizeof(*xb->chi));
		h = hash(h, &xb->c2c, sizeof(xb->c2c));
		h = hash(h, &xb->read, sizeof(xb->read));
		h = hash(h, &xb->verify, sizeof(xb->verify));
	}
	for (i = 0; i < f->cfg.ap_count; i++) {
		const struct cimfw_ap *ap = &f->aps[i];
		size_t w = ap->words * sizeof(uint64_t);

		h = hash(h, ap->bits, (size_t)ap->cols * ap->domains * w);
		h = hash(h, ap->offset, ap->groups * sizeof(*ap->offset));
		h = hash(h, ap->key, ap->cols);
		h = hash(h, ap->mask, ap->cols);
		h = hash(h, ap->tag, 3 * w);
		h = hash(h, ap->regs, sizeof(ap->regs));
	}
	return h;
}

static void die(const char *what, const struct cim_job_completion *d,
		size_t size)
{
	fprintf(stderr, "fuzz_cmd: %s: status %u cmds_done %u error_offset %u "
		"error_field %u, buffer %zu bytes\n", what, d->status,
		d->cmds_done, d->error_offset, d->error_field, size);
	abort();
}

/* cmds_done packets from offset 0: the offset after them, or -1. */
static long walk(const uint8_t *buf, size_t size, uint32_t n)
{
	struct cim_pkt_hdr h;
	size_t off = 0;

	while (n--) {
		if (size - off < sizeof(h))
			return -1;
		memcpy(&h, buf + off, sizeof(h));
		if (h.size < sizeof(h) || h.size % 8 || h.size > size - off)
			return -1;
		off += h.size;
	}
	return (long)off;
}

static void check(int st, const struct cim_job_completion *d, size_t size)
{
	long end = walk((const uint8_t *)cmd, size, d->cmds_done);
	size_t i;

	if (st < 0 || st >= CIM_ST_COUNT || d->status != (uint32_t)st)
		die("status", d, size);
	if (end < 0)
		die("cmds_done packets do not fit the buffer", d, size);
	if (st == CIM_ST_OK) {
		if ((size_t)end != size || d->error_offset || d->error_field)
			die("success that did not run the whole buffer", d,
			    size);
	} else if ((size_t)end != d->error_offset ||
		   d->error_offset >= size) {
		die("error_offset is not the failing packet's", d, size);
	}
	if ((st == CIM_ST_ABORTED) != job.abort_said)
		die("abort status without an abort, or the reverse", d, size);
	if (st == CIM_ST_ABORTED && d->error_field != 0xffffffffu)
		die("abort with an error field", d, size);
	if (d->seqno || d->reserved)
		die("seqno or reserved set by the model", d, size);
	for (i = 0; i < GUARD; i++)
		if (mem[i] != GUARD_BYTE ||
		    mem[GUARD + ARENA_SIZE + i] != GUARD_BYTE)
			die("write outside the arena", d, size);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cimfw_config cfg;

	(void)argc;
	(void)argv;
	/* one thread: the same bits and no pool to race with the fuzzer */
	setenv("CIM_FW_THREADS", "1", 1);
	trace = getenv("FUZZ_CMD_TRACE") != NULL;
	cimfw_config_default(&cfg);
	/* small, with every non-ideality on */
	cfg.xbar_count = 2;
	cfg.xbar_rows = 16;
	cfg.xbar_cols = 12;
	cfg.levels = 16;
	cfg.ap_count = 2;
	cfg.ap_rows = 100;
	cfg.ap_cols = 72;
	cfg.ap_domains = 8;
	cfg.ap_group_tracks = 16;
	cfg.stuck_prob = 0.05;
	/* relaxation that moves between packets */
	cfg.relax_nu = 0.05;
	cfg.relax_nu_sigma = 0.02;
	cfg.relax_sigma_us = 0.1;
	cfg.relax_t0_s = 1e-6;
	if (cimfw_create(&cfg, &fw) || cimfw_create(&cfg, &twin))
		abort();
	mem = malloc(ARENA_SIZE + 2 * GUARD);
	cmd = malloc(1u << 16);
	if (!mem || !cmd)
		abort();
	arena = mem + GUARD;
	memset(mem, GUARD_BYTE, GUARD);
	memset(arena + ARENA_SIZE, GUARD_BYTE, GUARD);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cimfw_dma dma = {
		.read = fz_read, .write = fz_write,
	};
	struct cim_job_completion done, prefix;
	struct fuzz_hdr h;
	size_t len, rest;
	int st;

	if (size < sizeof(h))
		return -1;
	memcpy(&h, data, sizeof(h));
	data += sizeof(h);
	size -= sizeof(h);
	len = h.cmd_len < size ? h.cmd_len : size;
	memcpy(cmd, data, len);
	rest = size - len < ARENA_SIZE ? size - len : ARENA_SIZE;
	memcpy(arena, data + len, rest);
	memset(arena + rest, 0, ARENA_SIZE - rest);

	job = (struct job){ .mode = h.mode, .abort_after = h.abort_after };
	if (h.mode & FZ_MAP)
		dma.map = fz_map;
	if (h.mode & FZ_ABORT)
		dma.aborted = fz_aborted;
	cimfw_reset(fw);
	st = cimfw_execute(fw, cmd, len, h.mode & FZ_NO_DMA ? NULL : &dma,
			    &done);
	if (trace)
		fprintf(stderr, "fuzz_cmd: %zu bytes: %s, %u packets, offset %u "
			"field %u\n", len, cimfw_status_name(st),
			done.cmds_done, done.error_offset, done.error_field);
	check(st, &done, len);
	if (st == CIM_ST_OK || st == CIM_ST_DMA || st == CIM_ST_ABORTED ||
	    st == CIM_ST_NOMEM)
		return 0;

	/* the packets before the rejected one, from the same arena */
	memcpy(arena, data + len, rest);
	memset(arena + rest, 0, ARENA_SIZE - rest);
	job = (struct job){ .mode = h.mode, .abort_after = h.abort_after };
	cimfw_reset(twin);
	if (cimfw_execute(twin, cmd, done.error_offset,
			   h.mode & FZ_NO_DMA ? NULL : &dma, &prefix) ||
	    prefix.cmds_done != done.cmds_done)
		die("the packets before the rejected one fail alone", &done,
		    len);
	if (state_hash(twin) != state_hash(fw))
		die("a rejected packet changed the device", &done, len);
	return 0;
}
