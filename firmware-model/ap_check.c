// SPDX-License-Identifier: MIT
/*
 * Associative processor: a program checked against the array's geometry
 * before it runs (cimfw_ap_check()). The interpreter in ap.c relies on it:
 * every field inside the array, operands apart, every shift keeping the
 * ports on the track. Documentation/model/ap.rst has the instruction set.
 */
#include <string.h>

#include "ap.h"

static int zero_from(const struct cim_ap_inst *in, unsigned int first)
{
	unsigned int i;

	for (i = first; i < 7; i++)
		if (in->w[i])
			return 0;
	return 1;
}

/* a field of 1..@max columns starting at @col, inside the array */
static int field_ok(const struct cimfw_ap *ap, unsigned int col,
		    unsigned int n, unsigned int max)
{
	return n >= 1 && n <= max && col + n <= ap->cols;
}

static int apart(unsigned int a, unsigned int na, unsigned int b,
		 unsigned int nb)
{
	return a + na <= b || b + nb <= a;
}

static int km_set_ok(const struct cimfw_ap *ap, const struct cim_ap_inst *in)
{
	unsigned int i;

	if (in->arg < 1 || in->arg > 7 || !zero_from(in, in->arg))
		return 0;
	for (i = 0; i < in->arg; i++)
		if ((in->w[i] & CIM_AP_KM_COL_MASK) >= ap->cols)
			return 0;
	return 1;
}

/* @off: the port offsets as the program has moved them so far */
static int shift_ok(const struct cimfw_ap *ap, const struct cim_ap_inst *in,
		    uint16_t *off)
{
	int k = (int16_t)in->w[1], to;

	if (in->arg || in->w[0] >= ap->groups || !zero_from(in, 2))
		return 0;
	to = off[in->w[0]] + k;
	if (to < 0 || to >= (int)ap->domains)
		return 0;
	off[in->w[0]] = (uint16_t)to;
	return 1;
}

static int add_ok(const struct cimfw_ap *ap, const struct cim_ap_inst *in)
{
	unsigned int a = in->w[0], am = in->w[1], b = in->w[2], bn = in->w[3];
	unsigned int c = in->w[4], p = in->w[5];

	if (in->arg & ~CIM_AP_ADD_VALID_FLAGS || in->w[6])
		return 0;
	if (!field_ok(ap, a, am, CIM_AP_MAX_FIELD) ||
	    !field_ok(ap, b, bn, CIM_AP_MAX_FIELD) || am > bn ||
	    c >= ap->cols || !apart(a, am, b, bn) || !apart(a, am, c, 1) ||
	    !apart(b, bn, c, 1))
		return 0;
	if (!(in->arg & CIM_AP_ADD_F_PRED))
		return p == 0;
	return p < ap->cols && p != c && apart(a, am, p, 1) &&
	       apart(b, bn, p, 1);
}

static int requant_ok(const struct cimfw_ap *ap, const struct cim_ap_inst *in)
{
	unsigned int src = in->w[0], n = in->w[1], sh = in->w[2];
	unsigned int dst = in->w[3], k = in->w[4], x = in->w[5];

	return !in->arg && !in->w[6] &&
	       field_ok(ap, src, n, CIM_AP_MAX_FIELD) && sh < n &&
	       field_ok(ap, dst, k, 16) && x < ap->cols &&
	       apart(src, n, dst, k) && apart(src, n, x, 1) &&
	       apart(dst, k, x, 1);
}

static int inst_ok(const struct cimfw_ap *ap, const struct cim_ap_inst *in,
		   uint16_t *off)
{
	switch (in->op) {
	case CIM_AP_KM_CLEAR:
	case CIM_AP_WRITE:
		return !in->arg && zero_from(in, 0);
	case CIM_AP_KM_SET:
		return km_set_ok(ap, in);
	case CIM_AP_COMPARE:
		return in->arg <= CIM_AP_CMP_ANDN && zero_from(in, 0);
	case CIM_AP_SHIFT:
		return shift_ok(ap, in, off);
	case CIM_AP_TAGOP:
		return in->arg <= CIM_AP_TAG_ROWEN_ALL && zero_from(in, 0);
	case CIM_AP_TAGCOUNT:
	case CIM_AP_FIRSTTAG:
		return !in->arg && in->w[0] < CIM_AP_NREGS && zero_from(in, 1);
	case CIM_AP_ADD:
		return add_ok(ap, in);
	case CIM_AP_RELU:
	case CIM_AP_CLEAR:
		return !in->arg && zero_from(in, 2) &&
		       field_ok(ap, in->w[0], in->w[1], CIM_AP_MAX_FIELD);
	case CIM_AP_MAX:
		return !in->arg && zero_from(in, 3) &&
		       field_ok(ap, in->w[0], in->w[1], CIM_AP_MAX_FIELD) &&
		       in->w[2] < CIM_AP_NREGS;
	case CIM_AP_REQUANT:
		return requant_ok(ap, in);
	case CIM_AP_COPY:
		return !in->arg && zero_from(in, 3) &&
		       field_ok(ap, in->w[0], in->w[1], CIM_AP_MAX_FIELD) &&
		       field_ok(ap, in->w[2], in->w[1], CIM_AP_MAX_FIELD) &&
		       apart(in->w[0], in->w[1], in->w[2], in->w[1]);
	default:
		return 0;
	}
}

int cimfw_ap_check(const struct cimfw_ap *ap, const struct cim_ap_inst *inst,
		 unsigned int n, unsigned int *bad)
{
	uint16_t off[CIM_MAX_AP_COLS];
	unsigned int i;

	memcpy(off, ap->offset, ap->groups * sizeof(*off));
	for (i = 0; i < n; i++) {
		if (!inst_ok(ap, &inst[i], off)) {
			*bad = i;
			return CIM_ST_BAD_INST;
		}
	}
	return CIM_ST_OK;
}
