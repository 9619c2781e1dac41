/* SPDX-License-Identifier: MIT */
/*
 * Test bus memory and command buffers for the unit tests: a flat 16 MiB
 * array at bus address TESTMEM_BASE, reached through struct cimfw_dma
 * callbacks that refuse anything outside it, and can be told to fail.
 */
#ifndef CIM_TESTMEM_H
#define CIM_TESTMEM_H

#include <stddef.h>
#include <stdint.h>

#include "cimfw.h"

#define TESTMEM_BASE	0x10000000ull
#define TESTMEM_SIZE	(16u << 20)

/**
 * struct testmem - bus memory of one test
 * @bytes: TESTMEM_SIZE bytes, zeroed
 * @used: bytes handed out by testmem_alloc()
 * @reads: read callbacks so far
 * @writes: write callbacks so far
 * @fail_read: fail the read callback with this 1-based number, 0 never
 * @fail_write: fail the write callback with this 1-based number, 0 never
 * @dma: callbacks over this memory
 */
struct testmem {
	uint8_t *bytes;
	size_t used;
	unsigned int reads;
	unsigned int writes;
	unsigned int fail_read;
	unsigned int fail_write;
	struct cimfw_dma dma;
};

void testmem_init(struct testmem *m);
void testmem_fini(struct testmem *m);
/* 64-byte aligned bus memory, zeroed; *cpu (if not NULL) points at it */
uint64_t testmem_alloc(struct testmem *m, size_t len, void *cpu);
void *testmem_ptr(struct testmem *m, uint64_t addr);

/**
 * struct cmdbuf - a command buffer under construction
 * @bytes: the packets, 8-byte aligned
 * @len: bytes used
 */
struct cmdbuf {
	uint64_t words[(1u << 16) / 8];
	size_t len;
};

/* Append a zeroed packet of @size bytes with its header filled in. */
void *cmdbuf_add(struct cmdbuf *cb, uint16_t opcode, uint16_t flags,
		 uint32_t size);
int cmdbuf_run(struct cimfw *fw, struct cmdbuf *cb, struct testmem *m,
	       struct cim_job_completion *done);

uint32_t f32_bits(float f);

#endif /* CIM_TESTMEM_H */
