// SPDX-License-Identifier: MIT
/*
 * The AP instruction builder: one call per primitive and macro of
 * include/cim_hw.h, each checking what the architecture fixes.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <stdlib.h>
#include <string.h>

#include "cim_priv.h"

struct cim_ap_prog {
	struct cim_ap_inst *inst;
	unsigned int count;
	unsigned int cap;
};

int cim_ap_prog_create(struct cim_ap_prog **out)
{
	if (!out)
		return -EINVAL;
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void cim_ap_prog_destroy(struct cim_ap_prog *prog)
{
	if (!prog)
		return;
	free(prog->inst);
	free(prog);
}

void cim_ap_prog_reset(struct cim_ap_prog *prog)
{
	prog->count = 0;
}

unsigned int cim_ap_prog_count(const struct cim_ap_prog *prog)
{
	return prog->count;
}

const struct cim_ap_inst *cim_ap_prog_insts(const struct cim_ap_prog *prog)
{
	return prog->inst;
}

/* Append a zeroed instruction, or NULL when out of memory */
static struct cim_ap_inst *add(struct cim_ap_prog *prog, uint8_t op,
			       uint8_t arg)
{
	struct cim_ap_inst *in;

	if (prog->count == prog->cap) {
		unsigned int cap = prog->cap ? 2 * prog->cap : 64;

		in = realloc(prog->inst, cap * sizeof(*in));
		if (!in)
			return NULL;
		prog->inst = in;
		prog->cap = cap;
	}
	in = &prog->inst[prog->count++];
	memset(in, 0, sizeof(*in));
	in->op = op;
	in->arg = arg;
	return in;
}

static bool col_ok(unsigned int col)
{
	return col < CIM_MAX_AP_COLS;
}

static bool field_ok(unsigned int col, unsigned int n, unsigned int max)
{
	return n >= 1 && n <= max && col < CIM_MAX_AP_COLS &&
	       n <= CIM_MAX_AP_COLS - col;
}

static bool apart(unsigned int a, unsigned int na, unsigned int b,
		  unsigned int nb)
{
	return a + na <= b || b + nb <= a;
}

/* An instruction of @op with operands @w[0..n-1], if @ok */
static int add_words(struct cim_ap_prog *prog, bool ok, uint8_t op,
		     uint8_t arg, const unsigned int *w, unsigned int n)
{
	struct cim_ap_inst *in;
	unsigned int i;

	if (!prog || !ok)
		return -EINVAL;
	in = add(prog, op, arg);
	if (!in)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		in->w[i] = (uint16_t)w[i];
	return 0;
}

int cim_ap_prog_km_clear(struct cim_ap_prog *prog)
{
	return add_words(prog, true, CIM_AP_KM_CLEAR, 0, NULL, 0);
}

int cim_ap_prog_km_set(struct cim_ap_prog *prog, unsigned int col,
		       unsigned int bit)
{
	struct cim_ap_inst *last;
	uint16_t pair;

	if (!prog || !col_ok(col) || bit > 1)
		return -EINVAL;
	pair = (uint16_t)(col | (bit ? CIM_AP_KM_BIT : 0));
	last = prog->count ? &prog->inst[prog->count - 1] : NULL;
	if (last && last->op == CIM_AP_KM_SET && last->arg < 7) {
		last->w[last->arg++] = pair;
		return 0;
	}
	last = add(prog, CIM_AP_KM_SET, 1);
	if (!last)
		return -ENOMEM;
	last->w[0] = pair;
	return 0;
}

int cim_ap_prog_km_field(struct cim_ap_prog *prog, unsigned int col,
			 unsigned int n, uint64_t value)
{
	unsigned int i, count, need;

	if (!prog || !field_ok(col, n, CIM_AP_MAX_FIELD))
		return -EINVAL;
	/* Room for every pair first, so that a failure appends nothing */
	count = prog->count;
	need = (n + 6) / 7 + 1;
	if (prog->cap - count < need) {
		struct cim_ap_inst *in;
		unsigned int cap = prog->cap ? prog->cap : 64;

		while (cap - count < need)
			cap *= 2;
		in = realloc(prog->inst, cap * sizeof(*in));
		if (!in)
			return -ENOMEM;
		prog->inst = in;
		prog->cap = cap;
	}
	for (i = 0; i < n; i++)
		cim_ap_prog_km_set(prog, col + i, (value >> i) & 1);
	return 0;
}

int cim_ap_prog_compare(struct cim_ap_prog *prog, enum cim_ap_cmp cmp)
{
	return add_words(prog, cmp <= CIM_AP_CMP_ANDN, CIM_AP_COMPARE,
			 (uint8_t)cmp, NULL, 0);
}

int cim_ap_prog_write(struct cim_ap_prog *prog)
{
	return add_words(prog, true, CIM_AP_WRITE, 0, NULL, 0);
}

int cim_ap_prog_shift(struct cim_ap_prog *prog, unsigned int group, int steps)
{
	unsigned int w[2] = { group, (uint16_t)(int16_t)steps };

	return add_words(prog, group < CIM_MAX_AP_COLS &&
			 steps > -CIM_MAX_AP_DOMAINS &&
			 steps < CIM_MAX_AP_DOMAINS, CIM_AP_SHIFT, 0, w, 2);
}

int cim_ap_prog_tagop(struct cim_ap_prog *prog, enum cim_ap_tagop op)
{
	return add_words(prog, op <= CIM_AP_TAG_ROWEN_ALL, CIM_AP_TAGOP,
			 (uint8_t)op, NULL, 0);
}

int cim_ap_prog_tagcount(struct cim_ap_prog *prog, unsigned int reg)
{
	return add_words(prog, reg < CIM_AP_NREGS, CIM_AP_TAGCOUNT, 0, &reg,
			 1);
}

int cim_ap_prog_firsttag(struct cim_ap_prog *prog, unsigned int reg)
{
	return add_words(prog, reg < CIM_AP_NREGS, CIM_AP_FIRSTTAG, 0, &reg,
			 1);
}

int cim_ap_prog_add(struct cim_ap_prog *prog, unsigned int a, unsigned int m,
		    unsigned int b, unsigned int n, unsigned int carry,
		    unsigned int pred, unsigned int flags)
{
	unsigned int w[6] = { a, m, b, n, carry, pred };
	bool ok;

	ok = !(flags & ~CIM_AP_ADD_VALID_FLAGS) &&
	     field_ok(a, m, CIM_AP_MAX_FIELD) &&
	     field_ok(b, n, CIM_AP_MAX_FIELD) && m <= n && col_ok(carry) &&
	     apart(a, m, b, n) && apart(a, m, carry, 1) &&
	     apart(b, n, carry, 1);
	if (flags & CIM_AP_ADD_F_PRED)
		ok = ok && col_ok(pred) && pred != carry &&
		     apart(a, m, pred, 1) && apart(b, n, pred, 1);
	else
		ok = ok && !pred;
	return add_words(prog, ok, CIM_AP_ADD, (uint8_t)flags, w, 6);
}

int cim_ap_prog_relu(struct cim_ap_prog *prog, unsigned int col,
		     unsigned int n)
{
	unsigned int w[2] = { col, n };

	return add_words(prog, field_ok(col, n, CIM_AP_MAX_FIELD),
			 CIM_AP_RELU, 0, w, 2);
}

int cim_ap_prog_max(struct cim_ap_prog *prog, unsigned int col,
		    unsigned int n, unsigned int reg)
{
	unsigned int w[3] = { col, n, reg };

	return add_words(prog, field_ok(col, n, CIM_AP_MAX_FIELD) &&
			 reg < CIM_AP_NREGS, CIM_AP_MAX, 0, w, 3);
}

int cim_ap_prog_requant(struct cim_ap_prog *prog, unsigned int src,
			unsigned int n, unsigned int shift, unsigned int dst,
			unsigned int k, unsigned int scratch)
{
	unsigned int w[6] = { src, n, shift, dst, k, scratch };
	bool ok;

	ok = field_ok(src, n, CIM_AP_MAX_FIELD) && shift < n &&
	     field_ok(dst, k, 16) && col_ok(scratch) &&
	     apart(src, n, dst, k) && apart(src, n, scratch, 1) &&
	     apart(dst, k, scratch, 1);
	return add_words(prog, ok, CIM_AP_REQUANT, 0, w, 6);
}

int cim_ap_prog_clear(struct cim_ap_prog *prog, unsigned int col,
		      unsigned int n)
{
	unsigned int w[2] = { col, n };

	return add_words(prog, field_ok(col, n, CIM_AP_MAX_FIELD),
			 CIM_AP_CLEAR, 0, w, 2);
}

int cim_ap_prog_copy(struct cim_ap_prog *prog, unsigned int src,
		     unsigned int n, unsigned int dst)
{
	unsigned int w[3] = { src, n, dst };

	return add_words(prog, field_ok(src, n, CIM_AP_MAX_FIELD) &&
			 field_ok(dst, n, CIM_AP_MAX_FIELD) &&
			 apart(src, n, dst, n), CIM_AP_COPY, 0, w, 3);
}
