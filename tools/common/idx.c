// SPDX-License-Identifier: MIT
/*
 * IDX reader. Every check names the file: a truncated download or a
 * corrupt cache must say which file to delete, not crash later or train on
 * garbage.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "idx.h"

/* Sanity bound on one file: Fashion-MNIST's largest is 47 MB */
#define IDX_MAX_BYTES	(1ull << 30)

static int fail(char *err, size_t errlen, const char *path,
		const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(err, errlen, "%s: ", path);
	if (n < 0 || (size_t)n >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int idx_load(const char *path, unsigned int ndims, struct idx_file *out,
	     char *err, size_t errlen)
{
	uint8_t hdr[4 + 4 * IDX_MAX_DIMS];
	struct idx_file f = { 0 };
	unsigned long long bytes = 1;
	size_t hlen;
	struct stat st;
	FILE *fp;
	uint32_t magic;
	unsigned int i;

	if (ndims < 1 || ndims > IDX_MAX_DIMS)
		return fail(err, errlen, path, "bad expected rank %u", ndims);
	fp = fopen(path, "rb");
	if (!fp)
		return fail(err, errlen, path, "%s", strerror(errno));
	if (fstat(fileno(fp), &st)) {
		fclose(fp);
		return fail(err, errlen, path, "%s", strerror(errno));
	}
	hlen = 4 + 4 * (size_t)ndims;
	if (fread(hdr, 1, hlen, fp) != hlen) {
		fclose(fp);
		return fail(err, errlen, path,
			    "truncated: %lld bytes, shorter than an IDX header",
			    (long long)st.st_size);
	}
	magic = be32(hdr);
	if (magic >> 16 || (magic >> 8 & 0xff) != 0x08) {
		fclose(fp);
		return fail(err, errlen, path,
			    "not an IDX file of unsigned bytes (magic 0x%08x)",
			    magic);
	}
	if ((magic & 0xff) != ndims) {
		fclose(fp);
		return fail(err, errlen, path,
			    "%u dimensions, expected %u (magic 0x%08x)",
			    magic & 0xff, ndims, magic);
	}
	f.ndims = ndims;
	for (i = 0; i < ndims; i++) {
		f.dims[i] = be32(hdr + 4 + 4 * i);
		if (!f.dims[i]) {
			fclose(fp);
			return fail(err, errlen, path, "dimension %u is 0", i);
		}
		bytes *= f.dims[i];
		if (bytes > IDX_MAX_BYTES) {
			fclose(fp);
			return fail(err, errlen, path,
				    "dimensions too large");
		}
	}
	if ((unsigned long long)st.st_size != hlen + bytes) {
		fclose(fp);
		return fail(err, errlen, path,
			    "%s: %lld bytes, the header says %llu",
			    (unsigned long long)st.st_size < hlen + bytes ?
			    "truncated" : "trailing data",
			    (long long)st.st_size, hlen + bytes);
	}
	f.count = f.dims[0];
	f.item = bytes / f.count;
	f.data = malloc(bytes);
	if (!f.data) {
		fclose(fp);
		return fail(err, errlen, path, "out of memory");
	}
	if (fread(f.data, 1, bytes, fp) != bytes) {
		free(f.data);
		fclose(fp);
		return fail(err, errlen, path, "read error");
	}
	fclose(fp);
	*out = f;
	return 0;
}

void idx_free(struct idx_file *f)
{
	free(f->data);
	f->data = NULL;
}
