// SPDX-License-Identifier: MIT
/* Test bus memory and command buffers; see testmem.h. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testmem.h"

static uint8_t *range(struct testmem *m, uint64_t addr, size_t len)
{
	if (addr < TESTMEM_BASE || addr - TESTMEM_BASE > TESTMEM_SIZE ||
	    len > TESTMEM_SIZE - (addr - TESTMEM_BASE))
		return NULL;
	return m->bytes + (addr - TESTMEM_BASE);
}

static int mem_read(void *opaque, uint64_t addr, void *dst, size_t len)
{
	struct testmem *m = opaque;
	uint8_t *p = range(m, addr, len);

	if (++m->reads == m->fail_read || !p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

static int mem_write(void *opaque, uint64_t addr, const void *src,
		     size_t len)
{
	struct testmem *m = opaque;
	uint8_t *p = range(m, addr, len);

	if (++m->writes == m->fail_write || !p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

void testmem_init(struct testmem *m)
{
	memset(m, 0, sizeof(*m));
	m->bytes = calloc(1, TESTMEM_SIZE);
	ck_assert_ptr_nonnull(m->bytes);
	m->dma = (struct cimfw_dma) {
		.opaque = m, .read = mem_read, .write = mem_write,
	};
}

void testmem_fini(struct testmem *m)
{
	free(m->bytes);
	m->bytes = NULL;
}

uint64_t testmem_alloc(struct testmem *m, size_t len, void *cpu)
{
	size_t off = (m->used + 63) & ~(size_t)63;

	ck_assert_uint_le(len, TESTMEM_SIZE - off);
	m->used = off + len;
	if (cpu)
		*(void **)cpu = m->bytes + off;
	return TESTMEM_BASE + off;
}

void *testmem_ptr(struct testmem *m, uint64_t addr)
{
	return range(m, addr, 1);
}

void *cmdbuf_add(struct cmdbuf *cb, uint16_t opcode, uint16_t flags,
		 uint32_t size)
{
	uint8_t *p = (uint8_t *)cb->words + cb->len;
	struct cim_pkt_hdr *h = (struct cim_pkt_hdr *)p;

	ck_assert_uint_le(size, sizeof(cb->words) - cb->len);
	memset(p, 0, size);
	if (size >= sizeof(*h)) {
		h->opcode = opcode;
		h->flags = flags;
		h->size = size;
	}
	cb->len += size;
	return p;
}

int cmdbuf_run(struct cimfw *fw, struct cmdbuf *cb, struct testmem *m,
	       struct cim_job_completion *done)
{
	return cimfw_execute(fw, cb->words, cb->len, &m->dma, done);
}

uint32_t f32_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}
