/* SPDX-License-Identifier: MIT */
/*
 * Associative processor on racetrack memory: rows x bit-columns, every
 * column a racetrack of D domains seen through one access port whose
 * position (the port offset) is shared by a group of tracks. KEY, MASK,
 * TAG, TAG2 and ROWEN registers; compare, write, shift and tag primitives;
 * and macros (add/subtract, ReLU, max, requantize) built only from them.
 *
 * Storage is bit-sliced: for every (column, domain) a bitset over rows, so
 * a compare or write is word-parallel over 64 rows at a time.
 */
#ifndef CIMFW_AP_H
#define CIMFW_AP_H

#include <stdint.h>

#include "cimfw.h"
#include "meter.h"

struct cimfw_ap {
	const struct cimfw_config *cfg;
	unsigned int rows;
	unsigned int cols;
	unsigned int domains;
	unsigned int group_tracks;
	unsigned int words;		/* 64-bit words per row bitset */
	unsigned int groups;		/* column groups (port offsets) */
	unsigned int tag_levels;	/* ceil(log2(rows)), tag adder tree */
	/* bits[(col * domains + domain) * words + w] */
	uint64_t *bits;
	uint64_t **view;		/* per column: the domain at its port */
	uint16_t *offset;		/* port offset per column group */
	uint8_t *key;			/* per column, 0 or 1 */
	uint8_t *mask;			/* per column, 1 = compared/written */
	uint16_t *active;		/* unmasked columns, in order set */
	unsigned int nactive;
	const uint64_t **sel;		/* compare scratch, one per column */
	uint64_t *selx;
	uint64_t *tag;
	uint64_t *tag2;
	uint64_t *rowen;
	uint64_t nrowen;		/* popcount(ROWEN) */
	unsigned int wlo, whi;		/* ROWEN is 0 outside words [wlo, whi) */
	uint64_t regs[CIM_AP_NREGS];
};

int cimfw_ap_init(struct cimfw_ap *ap, const struct cimfw_config *cfg);
void cimfw_ap_fini(struct cimfw_ap *ap);
/* all domains zero, ports at 0, ROWEN all, other registers cleared */
void cimfw_ap_reset(struct cimfw_ap *ap);
/* cimfw_ap_reset() after a write pass per domain charged to @m (SCRUB) */
void cimfw_ap_scrub(struct cimfw_ap *ap, struct cimfw_meter *m);

/*
 * Check a program against the geometry without running it (ap_check.c).
 * Returns CIM_ST_OK, or CIM_ST_BAD_INST with *bad set to the instruction
 * index.
 */
int cimfw_ap_check(const struct cimfw_ap *ap, const struct cim_ap_inst *inst,
		 unsigned int n, unsigned int *bad);
/* Run a program that cimfw_ap_check() accepted. */
void cimfw_ap_run(struct cimfw_ap *ap, const struct cim_ap_inst *inst,
		unsigned int n, struct cimfw_meter *m);

/* Row I/O at the ports; fields of 1..64 bits, windows already validated */
void cimfw_ap_load_rows(struct cimfw_ap *ap, unsigned int row, unsigned int nrows,
		      unsigned int col, unsigned int ncols,
		      const uint64_t *src, struct cimfw_meter *m);
void cimfw_ap_read_rows(struct cimfw_ap *ap, unsigned int row, unsigned int nrows,
		      unsigned int col, unsigned int ncols, uint64_t *dst,
		      struct cimfw_meter *m);
void cimfw_ap_read_tags(const struct cimfw_ap *ap, unsigned int row,
		      unsigned int nrows, uint64_t *dst);

#endif /* CIMFW_AP_H */
