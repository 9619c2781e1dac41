// SPDX-License-Identifier: MIT
/*
 * fw-replay: run one command buffer through the host build of the firmware
 * model (build/libcimfw.a), against a flat memory image, and write the image
 * back. qemu/tests/qtest-smoke.py runs the same buffer through QEMU's
 * cim-pci and compares the bits: the device and the library must agree.
 *
 *   fw-replay SEED IMAGE CMDBUF OUT
 *
 * IMAGE is bus memory from address 0; CMDBUF the command buffer; OUT gets
 * the image after the job, then the 48-byte completion record. The device
 * has the default configuration with the given seed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cimfw.h"

struct image {
	unsigned char *mem;
	size_t size;
};

static int img_read(void *opaque, uint64_t addr, void *dst, size_t len)
{
	struct image *im = opaque;

	if (addr > im->size || len > im->size - addr)
		return -EIO;
	memcpy(dst, im->mem + addr, len);
	return 0;
}

static int img_write(void *opaque, uint64_t addr, const void *src, size_t len)
{
	struct image *im = opaque;

	if (addr > im->size || len > im->size - addr)
		return -EIO;
	memcpy(im->mem + addr, src, len);
	return 0;
}

static unsigned char *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET))
		return NULL;
	buf = malloc(n ? n : 1);
	if (!buf || fread(buf, 1, n, f) != (size_t)n)
		return NULL;
	fclose(f);
	*size = n;
	return buf;
}

int main(int argc, char **argv)
{
	struct cimfw_config cfg;
	struct cim_job_completion done;
	struct image im;
	struct cimfw_dma dma = {
		.opaque = &im, .read = img_read, .write = img_write,
	};
	struct cimfw *fw;
	unsigned char *cmd;
	size_t cmdsize;
	FILE *out;

	if (argc != 5) {
		fprintf(stderr, "usage: fw-replay SEED IMAGE CMDBUF OUT\n");
		return 2;
	}
	cimfw_config_default(&cfg);
	cfg.seed = strtoull(argv[1], NULL, 0);
	im.mem = slurp(argv[2], &im.size);
	cmd = slurp(argv[3], &cmdsize);
	if (!im.mem || !cmd || cimfw_create(&cfg, &fw)) {
		fprintf(stderr, "fw-replay: cannot load inputs or create model\n");
		return 1;
	}
	memset(&done, 0, sizeof(done));
	cimfw_execute(fw, cmd, cmdsize, &dma, &done);
	out = fopen(argv[4], "wb");
	if (!out || fwrite(im.mem, 1, im.size, out) != im.size ||
	    fwrite(&done, 1, sizeof(done), out) != sizeof(done) || fclose(out))
		return 1;
	cimfw_destroy(fw);
	free(cmd);
	free(im.mem);
	return 0;
}
