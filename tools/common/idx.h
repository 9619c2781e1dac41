/* SPDX-License-Identifier: MIT */
/*
 * IDX files (the MNIST format): a big-endian header of magic 0x0000TTNN
 * (TT the element type, 0x08 unsigned bytes here; NN the number of
 * dimensions) and NN big-endian 32-bit sizes, then the data.
 */
#ifndef CIM_TOOLS_IDX_H
#define CIM_TOOLS_IDX_H

#include <stddef.h>
#include <stdint.h>

#define IDX_MAX_DIMS	4

struct idx_file {
	unsigned int ndims;
	uint32_t dims[IDX_MAX_DIMS];
	size_t count;		/* dims[0] */
	size_t item;		/* bytes per item: product of dims[1..] */
	uint8_t *data;		/* count * item bytes */
};

/*
 * Load @path, an IDX file of unsigned bytes with @ndims dimensions. On
 * failure returns -1 with a message naming the file and what is wrong in
 * @err (@errlen bytes), and @f untouched.
 */
int idx_load(const char *path, unsigned int ndims, struct idx_file *f,
	     char *err, size_t errlen);
void idx_free(struct idx_file *f);

#endif
