// SPDX-License-Identifier: MIT
/*
 * Associative processor on racetrack memory. Documentation/model/ap.rst
 * describes the architecture, the pass tables of the macros and the costs.
 *
 * Every row bitset (TAG, TAG2, ROWEN, one per column and domain) keeps the
 * bits beyond the last row at zero, so whole-word operations need no tail
 * masking as long as they are ANDed with ROWEN or TAG somewhere.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ap.h"
#include "hot.h"

#define ALL_ONES	(~(uint64_t)0)

static uint64_t *plane(struct cimfw_ap *ap, unsigned int col,
		       unsigned int domain)
{
	return ap->bits + ((size_t)col * ap->domains + domain) * ap->words;
}

/* Point the columns of group @g at the domains under their port. */
static void update_view(struct cimfw_ap *ap, unsigned int g)
{
	unsigned int c = g * ap->group_tracks;
	unsigned int end = c + ap->group_tracks;

	if (end > ap->cols)
		end = ap->cols;
	for (; c < end; c++)
		ap->view[c] = plane(ap, c, ap->offset[g]);
}

static unsigned int group_size(const struct cimfw_ap *ap, unsigned int g)
{
	unsigned int left = ap->cols - g * ap->group_tracks;

	return left < ap->group_tracks ? left : ap->group_tracks;
}

static uint64_t popcount_set(const uint64_t *set, unsigned int words)
{
	uint64_t n = 0;
	unsigned int w;

	for (w = 0; w < words; w++)
		n += (uint64_t)__builtin_popcountll(set[w]);
	return n;
}

/* ROWEN's population and the words that hold it */
static void rowen_changed(struct cimfw_ap *ap)
{
	unsigned int w;

	ap->nrowen = popcount_set(ap->rowen, ap->words);
	ap->wlo = ap->words;
	ap->whi = 0;
	for (w = 0; w < ap->words; w++) {
		if (!ap->rowen[w])
			continue;
		if (w < ap->wlo)
			ap->wlo = w;
		ap->whi = w + 1;
	}
	if (ap->wlo > ap->whi)
		ap->wlo = ap->whi;
}

static void set_all_rows(const struct cimfw_ap *ap, uint64_t *set)
{
	unsigned int tail = ap->rows % 64;

	memset(set, 0xff, ap->words * sizeof(*set));
	if (tail)
		set[ap->words - 1] = ((uint64_t)1 << tail) - 1;
}

int cimfw_ap_init(struct cimfw_ap *ap, const struct cimfw_config *cfg)
{
	size_t planes;

	memset(ap, 0, sizeof(*ap));
	ap->cfg = cfg;
	ap->rows = cfg->ap_rows;
	ap->cols = cfg->ap_cols;
	ap->domains = cfg->ap_domains;
	ap->group_tracks = cfg->ap_group_tracks;
	ap->words = (ap->rows + 63) / 64;
	ap->groups = (ap->cols + ap->group_tracks - 1) / ap->group_tracks;
	while ((1ull << ap->tag_levels) < ap->rows)
		ap->tag_levels++;
	planes = (size_t)ap->cols * ap->domains;
	ap->bits = calloc(planes * ap->words, sizeof(*ap->bits));
	ap->view = calloc(ap->cols, sizeof(*ap->view));
	ap->offset = calloc(ap->groups, sizeof(*ap->offset));
	ap->key = calloc(ap->cols, sizeof(*ap->key));
	ap->mask = calloc(ap->cols, sizeof(*ap->mask));
	ap->active = calloc(ap->cols, sizeof(*ap->active));
	ap->sel = calloc(ap->cols, sizeof(*ap->sel));
	ap->selx = calloc(ap->cols, sizeof(*ap->selx));
	ap->tag = calloc(3 * (size_t)ap->words, sizeof(*ap->tag));
	if (!ap->bits || !ap->view || !ap->offset || !ap->key || !ap->mask ||
	    !ap->active || !ap->sel || !ap->selx || !ap->tag) {
		cimfw_ap_fini(ap);
		return -ENOMEM;
	}
	ap->tag2 = ap->tag + ap->words;
	ap->rowen = ap->tag2 + ap->words;
	cimfw_ap_reset(ap);
	return 0;
}

void cimfw_ap_fini(struct cimfw_ap *ap)
{
	free(ap->bits);
	free(ap->view);
	free(ap->offset);
	free(ap->key);
	free(ap->mask);
	free(ap->active);
	free(ap->sel);
	free(ap->selx);
	free(ap->tag);
	memset(ap, 0, sizeof(*ap));
}

void cimfw_ap_reset(struct cimfw_ap *ap)
{
	unsigned int g;

	memset(ap->bits, 0, (size_t)ap->cols * ap->domains * ap->words *
	       sizeof(*ap->bits));
	memset(ap->offset, 0, ap->groups * sizeof(*ap->offset));
	for (g = 0; g < ap->groups; g++)
		update_view(ap, g);
	memset(ap->key, 0, ap->cols);
	memset(ap->mask, 0, ap->cols);
	ap->nactive = 0;
	memset(ap->tag, 0, 2 * ap->words * sizeof(*ap->tag));
	set_all_rows(ap, ap->rowen);
	rowen_changed(ap);
	memset(ap->regs, 0, sizeof(ap->regs));
}

/*
 * SCRUB: one write pass of 0 per domain over every row and column
 * (every port at that domain), costed as write_tagged() costs a pass:
 * the bits that flip, and a write time per pass. Then the power-on state.
 */
void cimfw_ap_scrub(struct cimfw_ap *ap, struct cimfw_meter *m)
{
	const struct cimfw_cost_params *cost = &ap->cfg->cost;
	size_t i, n = (size_t)ap->cols * ap->domains * ap->words;
	uint64_t flipped = 0;

	for (i = 0; i < n; i++)
		flipped += (uint64_t)__builtin_popcountll(ap->bits[i]);

	m->ap_writes += ap->domains;
	m->ap_bits_written += flipped;
	cimfw_meter_charge(m, CIM_UNIT_AP_WRITE,
			 cost->e_write_bit_fj * (double)flipped,
			 cost->t_write_ps * ap->domains);
	m->device_time_ps += cost->t_write_ps * ap->domains;
	cimfw_ap_reset(ap);
}

/* ---- primitives ---- */

static void km_clear(struct cimfw_ap *ap)
{
	unsigned int i;

	for (i = 0; i < ap->nactive; i++) {
		ap->key[ap->active[i]] = 0;
		ap->mask[ap->active[i]] = 0;
	}
	ap->nactive = 0;
}

/* Unmask @col with KEY bit @bit; setting a column again overrides it. */
static void km_set(struct cimfw_ap *ap, unsigned int col, unsigned int bit)
{
	if (!ap->mask[col]) {
		ap->mask[col] = 1;
		ap->active[ap->nactive++] = (uint16_t)col;
	}
	ap->key[col] = (uint8_t)bit;
}

static void charge(struct cimfw_meter *m, enum cim_unit unit, double e_fj,
		   double t_ps)
{
	cimfw_meter_charge(m, unit, e_fj, t_ps);
	m->device_time_ps += t_ps;
}

static void combine_tag2(struct cimfw_ap *ap, unsigned int mode)
{
	unsigned int w;

	for (w = 0; w < ap->words; w++) {
		switch (mode) {
		case CIM_AP_CMP_AND:
			ap->tag[w] &= ap->tag2[w];
			break;
		case CIM_AP_CMP_OR:
			ap->tag[w] |= ap->tag2[w];
			break;
		case CIM_AP_CMP_ANDN:
			ap->tag[w] &= ~ap->tag2[w];
			break;
		default:
			return;
		}
	}
}

static void compare(struct cimfw_ap *ap, unsigned int mode, struct cimfw_meter *m)
{
	const struct cimfw_cost_params *cost = &ap->cfg->cost;
	unsigned int n = ap->nactive, i, w;
	uint64_t t;

	for (i = 0; i < n; i++) {
		ap->sel[i] = ap->view[ap->active[i]];
		/* a 0 key matches where the stored bit is 0 */
		ap->selx[i] = ap->key[ap->active[i]] ? 0 : ALL_ONES;
	}
	/* rows outside ROWEN never match: only its words are compared */
	memset(ap->tag, 0, ap->wlo * sizeof(*ap->tag));
	for (w = ap->wlo; w < ap->whi; w++) {
		t = ap->rowen[w];
		for (i = 0; i < n; i++)
			t &= ap->sel[i][w] ^ ap->selx[i];
		ap->tag[w] = t;
	}
	memset(ap->tag + ap->whi, 0, (ap->words - ap->whi) * sizeof(*ap->tag));
	combine_tag2(ap, mode);
	m->ap_compares++;
	charge(m, CIM_UNIT_AP_COMPARE,
	       (cost->e_cmp_bit_fj * n + cost->e_matchline_fj) *
	       (double)ap->nrowen, cost->t_cmp_ps);
}

static void write_tagged(struct cimfw_ap *ap, struct cimfw_meter *m)
{
	const struct cimfw_cost_params *cost = &ap->cfg->cost;
	uint64_t flipped = 0, keep, d;
	unsigned int i, w;
	uint64_t *p;

	for (i = 0; i < ap->nactive; i++) {
		p = ap->view[ap->active[i]];
		/* the bits that flip are the tagged ones not equal to KEY */
		keep = ap->key[ap->active[i]] ? ALL_ONES : 0;
		for (w = ap->wlo; w < ap->whi; w++) {
			d = ap->tag[w] & ap->rowen[w] & (p[w] ^ keep);
			if (d) {
				p[w] ^= d;
				flipped += (uint64_t)__builtin_popcountll(d);
			}
		}
	}
	m->ap_writes++;
	m->ap_bits_written += flipped;
	charge(m, CIM_UNIT_AP_WRITE, cost->e_write_bit_fj * (double)flipped,
	       cost->t_write_ps);
}

static void shift(struct cimfw_ap *ap, unsigned int g, int k,
		  struct cimfw_meter *m)
{
	const struct cimfw_cost_params *cost = &ap->cfg->cost;
	uint64_t steps = (uint64_t)group_size(ap, g) * (unsigned int)abs(k);

	ap->offset[g] = (uint16_t)(ap->offset[g] + k);
	update_view(ap, g);
	m->ap_shift_steps += steps;
	charge(m, CIM_UNIT_AP_SHIFT, cost->e_shift_fj * (double)steps,
	       cost->t_shift_ps * abs(k));
}

/* Register housekeeping: no array access, so no cost. */
static void tagop(struct cimfw_ap *ap, unsigned int op)
{
	unsigned int w;
	uint64_t t;

	for (w = 0; w < ap->words; w++) {
		switch (op) {
		case CIM_AP_TAG_SETALL:
			ap->tag[w] = ap->rowen[w];
			break;
		case CIM_AP_TAG_CLEAR:
			ap->tag[w] = 0;
			break;
		case CIM_AP_TAG_NOT:
			ap->tag[w] = ~ap->tag[w] & ap->rowen[w];
			break;
		case CIM_AP_TAG_SWAP:
			t = ap->tag[w];
			ap->tag[w] = ap->tag2[w];
			ap->tag2[w] = t;
			break;
		case CIM_AP_TAG_SAVE:
			ap->tag2[w] = ap->tag[w];
			break;
		case CIM_AP_TAG_ROWEN:
			ap->rowen[w] = ap->tag[w];
			break;
		}
	}
	if (op == CIM_AP_TAG_ROWEN_ALL)
		set_all_rows(ap, ap->rowen);
	if (op == CIM_AP_TAG_ROWEN || op == CIM_AP_TAG_ROWEN_ALL)
		rowen_changed(ap);
}

/* The tag adder tree and the priority encoder cost the same. */
static void charge_tag(struct cimfw_ap *ap, struct cimfw_meter *m)
{
	const struct cimfw_cost_params *cost = &ap->cfg->cost;

	charge(m, CIM_UNIT_AP_TAG, cost->e_tag_row_fj * ap->rows,
	       cost->t_tag_level_ps * ap->tag_levels);
}

static uint64_t tagcount(struct cimfw_ap *ap, struct cimfw_meter *m)
{
	charge_tag(ap, m);
	return popcount_set(ap->tag, ap->words);
}

static uint64_t firsttag(struct cimfw_ap *ap, struct cimfw_meter *m)
{
	unsigned int w;

	charge_tag(ap, m);
	for (w = 0; w < ap->words; w++)
		if (ap->tag[w])
			return (uint64_t)w * 64 + (uint64_t)__builtin_ctzll(ap->tag[w]);
	return UINT64_MAX;
}

/* ---- pass lists: compare-and-write passes run back to back ---- */

/*
 * A LUT pass of a macro, as lut_pass() runs it: TAG = ROWEN and the
 * compared columns hold their keys (no column: TAG = ROWEN, as TAGOP
 * SETALL), then the first nout of those columns are written. ADD and COPY
 * are made only of such passes, in steps: the passes of one bit position,
 * on the same columns (struct pass_step). Every pass reads and writes only
 * its own row words, so pass_steps() runs a step word by word with the
 * columns in registers, and the meter is charged afterwards pass by pass,
 * in program order, with the same values as the primitives charge: the
 * same bits, registers and doubles (test_ap.c checks all three).
 */
#define MAX_STEPS	(CIM_AP_MAX_FIELD + 1)
#define MAX_PASSES	(4 * CIM_AP_MAX_FIELD + 1)

/* The passes of a step: per pass the keys and the bits written, as masks */
struct pass_tab {
	unsigned int nin, nout, npass;
	uint64_t x[4][4];	/* ALL_ONES where the key bit is 0 */
	uint64_t keep[4][2];	/* ALL_ONES where the written bit is 1 */
	uint8_t val[4][2];	/* the written bits */
};

struct pass_step {
	uint64_t *col[4];	/* compared; the first nout also written */
	const struct pass_tab *tab;
};

struct pass_list {
	unsigned int n;
	struct pass_step st[MAX_STEPS];
	uint64_t flipped[MAX_PASSES];
	unsigned int last_col[2];	/* the last step's written columns */
};

/*
 * @npass rows of @t, each @nin key bits then @nout written bits; @pred:
 * one more compared column, key 1.
 */
static void tab_init(struct pass_tab *tb, const uint8_t *t, unsigned int npass,
		     unsigned int nin, unsigned int nout, int pred)
{
	unsigned int p, i;

	tb->nin = nin + (pred >= 0);
	tb->nout = nout;
	tb->npass = npass;
	for (p = 0; p < npass; p++, t += nin + nout) {
		for (i = 0; i < nin; i++)
			tb->x[p][i] = t[i] ? 0 : ALL_ONES;
		if (pred >= 0)
			tb->x[p][nin] = 0;
		for (i = 0; i < nout; i++) {
			tb->val[p][i] = t[nin + i];
			tb->keep[p][i] = t[nin + i] ? ALL_ONES : 0;
		}
	}
}

/* A step on columns @col (@pred appended when >= 0) */
static void step_add(struct cimfw_ap *ap, struct pass_list *pl,
		     const struct pass_tab *tb, const unsigned int *col,
		     int pred)
{
	struct pass_step *st = &pl->st[pl->n++];
	unsigned int i, n = tb->nin - (pred >= 0);

	if (n < tb->nout)
		n = tb->nout;
	for (i = 0; i < n; i++)
		st->col[i] = ap->view[col[i]];
	if (pred >= 0)
		st->col[tb->nin - 1] = ap->view[pred];
	st->tab = tb;
	for (i = 0; i < tb->nout; i++)
		pl->last_col[i] = col[i];
}

typedef uint64_t v4u64 __attribute__((vector_size(32)));

/*
 * One step over words [wlo, whi), four words at a time, then the rest;
 * @nin, @nout and @npass are constants where pass_steps() inlines it.
 * Adds the bits each pass flips to @flipped[0..npass-1].
 */
static inline __attribute__((always_inline)) void
step_span(const struct pass_step *st, unsigned int nin, unsigned int nout,
	  unsigned int npass, const uint64_t *rowen, uint64_t *tag,
	  unsigned int wlo, unsigned int whi, uint64_t *flipped)
{
	const struct pass_tab *tb = st->tab;
	uint64_t f[4] = { 0 };
	unsigned int i, o, p, w = wlo;

	for (; w + 4 <= whi; w += 4) {
		v4u64 v[4], vr, vt = { 0 }, vd;

		memcpy(&vr, rowen + w, sizeof(vr));
		for (i = 0; i < nin || i < nout; i++)
			memcpy(&v[i], st->col[i] + w, sizeof(v[i]));
		for (p = 0; p < npass; p++) {
			vt = vr;
			for (i = 0; i < nin; i++)
				vt &= v[i] ^ tb->x[p][i];
			for (o = 0; o < nout; o++) {
				vd = vt & (v[o] ^ tb->keep[p][o]);
				v[o] ^= vd;
				f[p] += (uint64_t)(__builtin_popcountll(vd[0]) +
						   __builtin_popcountll(vd[1]) +
						   __builtin_popcountll(vd[2]) +
						   __builtin_popcountll(vd[3]));
			}
		}
		for (o = 0; o < nout; o++)
			memcpy(st->col[o] + w, &v[o], sizeof(v[o]));
		memcpy(tag + w, &vt, sizeof(vt));
	}
	for (; w < whi; w++) {
		uint64_t v[4], t = 0, d;

		for (i = 0; i < nin || i < nout; i++)
			v[i] = st->col[i][w];
		for (p = 0; p < npass; p++) {
			t = rowen[w];
			for (i = 0; i < nin; i++)
				t &= v[i] ^ tb->x[p][i];
			for (o = 0; o < nout; o++) {
				d = t & (v[o] ^ tb->keep[p][o]);
				v[o] ^= d;
				f[p] += (uint64_t)__builtin_popcountll(d);
			}
		}
		for (o = 0; o < nout; o++)
			st->col[o][w] = v[o];
		tag[w] = t;
	}
	for (p = 0; p < npass; p++)
		flipped[p] = f[p];
}

/* nin 0..4, nout 0..2, npass 0..4: distinct bit fields */
#define STEP_KIND(nin, nout, npass)	((nin) << 5 | (nout) << 3 | (npass))

/* TAG of the last pass over words [wlo, whi); @flipped: bits per pass */
INL void pass_steps_body(const struct pass_step *st, unsigned int n,
			 const uint64_t *rowen, uint64_t *tag,
			 unsigned int wlo, unsigned int whi,
			 uint64_t *flipped)
{
	unsigned int k;

	for (k = 0; k < n; k++) {
		const struct pass_tab *tb = st[k].tab;

		switch (STEP_KIND(tb->nin, tb->nout, tb->npass)) {
		case STEP_KIND(0, 1, 1):	/* ADD's carry clear */
			step_span(&st[k], 0, 1, 1, rowen, tag, wlo, whi,
				  flipped);
			break;
		case STEP_KIND(2, 1, 2):	/* COPY */
			step_span(&st[k], 2, 1, 2, rowen, tag, wlo, whi,
				  flipped);
			break;
		case STEP_KIND(2, 2, 2):	/* ADD, propagate */
			step_span(&st[k], 2, 2, 2, rowen, tag, wlo, whi,
				  flipped);
			break;
		case STEP_KIND(3, 2, 4):	/* ADD, full adder */
			step_span(&st[k], 3, 2, 4, rowen, tag, wlo, whi,
				  flipped);
			break;
		default:			/* the predicated ones */
			step_span(&st[k], tb->nin, tb->nout, tb->npass,
				  rowen, tag, wlo, whi, flipped);
			break;
		}
		flipped += tb->npass;
	}
}

CIMFW_HOT_PROC(pass_steps, (const struct pass_step *st, unsigned int n,
			    const uint64_t *rowen, uint64_t *tag,
			    unsigned int wlo, unsigned int whi,
			    uint64_t *flipped),
	       (st, n, rowen, tag, wlo, whi, flipped))

static void pass_list_run(struct cimfw_ap *ap, struct pass_list *pl,
			  struct cimfw_meter *m)
{
	const struct cimfw_cost_params *cost = &ap->cfg->cost;
	const struct pass_tab *last = pl->st[pl->n - 1].tab;
	double e_cmp[5], e_c, t_c, e_w, t_w, dev;
	uint64_t cmps = 0, writes = 0, bits = 0;
	unsigned int k, p, i = 0;

	pass_steps(pl->st, pl->n, ap->rowen, ap->tag, ap->wlo, ap->whi,
		   pl->flipped);
	memset(ap->tag, 0, ap->wlo * sizeof(*ap->tag));
	memset(ap->tag + ap->whi, 0, (ap->words - ap->whi) * sizeof(*ap->tag));
	/* compare()'s energy for 1..4 unmasked columns, the same expression */
	for (k = 1; k <= 4; k++)
		e_cmp[k] = (cost->e_cmp_bit_fj * k + cost->e_matchline_fj) *
			   (double)ap->nrowen;
	/* charge() pass by pass, the sums in registers, in the same order */
	e_c = m->energy_fj[CIM_UNIT_AP_COMPARE];
	t_c = m->busy_ps[CIM_UNIT_AP_COMPARE];
	e_w = m->energy_fj[CIM_UNIT_AP_WRITE];
	t_w = m->busy_ps[CIM_UNIT_AP_WRITE];
	dev = m->device_time_ps;
	for (k = 0; k < pl->n; k++) {
		const struct pass_tab *tb = pl->st[k].tab;

		for (p = 0; p < tb->npass; p++, i++) {
			if (tb->nin) {
				cmps++;
				e_c += e_cmp[tb->nin];
				t_c += cost->t_cmp_ps;
				dev += cost->t_cmp_ps;
			}
			writes++;
			bits += pl->flipped[i];
			e_w += cost->e_write_bit_fj * (double)pl->flipped[i];
			t_w += cost->t_write_ps;
			dev += cost->t_write_ps;
		}
	}
	m->energy_fj[CIM_UNIT_AP_COMPARE] = e_c;
	m->busy_ps[CIM_UNIT_AP_COMPARE] = t_c;
	m->energy_fj[CIM_UNIT_AP_WRITE] = e_w;
	m->busy_ps[CIM_UNIT_AP_WRITE] = t_w;
	m->device_time_ps = dev;
	m->ap_compares += cmps;
	m->ap_writes += writes;
	m->ap_bits_written += bits;
	/* KEY and MASK as the last pass's write left them */
	km_clear(ap);
	for (k = 0; k < last->nout; k++)
		km_set(ap, pl->last_col[k], last->val[last->npass - 1][k]);
}

/* ---- macros: microcode over the primitives above ---- */

/*
 * One LUT pass: tag the rows whose columns @col[0..nin-1] hold @in (and,
 * if @pred is a column, hold 1 there), then write @out into the first
 * @nout of those columns.
 */
static void lut_pass(struct cimfw_ap *ap, struct cimfw_meter *m,
		     const unsigned int *col, const uint8_t *in,
		     unsigned int nin, const uint8_t *out, unsigned int nout,
		     int pred)
{
	unsigned int i;

	km_clear(ap);
	for (i = 0; i < nin; i++)
		km_set(ap, col[i], in[i]);
	if (pred >= 0)
		km_set(ap, (unsigned int)pred, 1);
	compare(ap, CIM_AP_CMP_SET, m);
	km_clear(ap);
	for (i = 0; i < nout; i++)
		km_set(ap, col[i], out[i]);
	write_tagged(ap, m);
}

/* Write @bit into columns [@col, @col + @n) of the tagged rows. */
static void write_field(struct cimfw_ap *ap, struct cimfw_meter *m,
			unsigned int col, unsigned int n, unsigned int bit)
{
	unsigned int i;

	km_clear(ap);
	for (i = 0; i < n; i++)
		km_set(ap, col + i, bit);
	write_tagged(ap, m);
}

/*
 * Full-adder and propagate passes, (carry, B, A) -> (carry, B), in the
 * order that keeps a rewritten row from matching a later pass of the same
 * bit (research note seed2, section 2).
 */
static const uint8_t add_full[4][5] = {
	{ 0, 1, 1,  1, 0 }, { 0, 0, 1,  0, 1 },
	{ 1, 0, 0,  0, 1 }, { 1, 1, 0,  1, 0 },
};
static const uint8_t add_prop[2][4] = { { 1, 0,  0, 1 }, { 1, 1,  1, 0 } };
static const uint8_t sub_full[4][5] = {
	{ 0, 0, 1,  1, 1 }, { 0, 1, 1,  0, 0 },
	{ 1, 1, 0,  0, 0 }, { 1, 0, 0,  1, 1 },
};
static const uint8_t sub_prop[2][4] = { { 1, 1,  0, 0 }, { 1, 0,  1, 1 } };

static void macro_add(struct cimfw_ap *ap, const struct cim_ap_inst *in,
		      struct cimfw_meter *m)
{
	static const uint8_t zero = 0;
	unsigned int a = in->w[0], am = in->w[1], b = in->w[2], bn = in->w[3];
	int sub = in->arg & CIM_AP_ADD_F_SUB;
	int sext = in->arg & CIM_AP_ADD_F_SIGNED;
	int pred = in->arg & CIM_AP_ADD_F_PRED ? in->w[5] : -1;
	unsigned int col[3] = { in->w[4] }, i;
	struct pass_tab clr, full, prop;
	struct pass_list pl;

	tab_init(&clr, &zero, 1, 0, 1, -1);
	tab_init(&full, sub ? sub_full[0] : add_full[0], 4, 3, 2, pred);
	tab_init(&prop, sub ? sub_prop[0] : add_prop[0], 2, 2, 2, pred);
	/* carry (borrow) = 0 in every active row: a write after SETALL */
	pl.n = 0;
	step_add(ap, &pl, &clr, col, -1);
	for (i = 0; i < bn; i++) {
		col[1] = b + i;
		if (i < am || sext) {
			col[2] = a + (i < am ? i : am - 1);
			step_add(ap, &pl, &full, col, pred);
		} else {
			step_add(ap, &pl, &prop, col, pred);
		}
	}
	pass_list_run(ap, &pl, m);
}

static void macro_relu(struct cimfw_ap *ap, const struct cim_ap_inst *in,
		       struct cimfw_meter *m)
{
	km_clear(ap);
	km_set(ap, in->w[0] + in->w[1] - 1u, 1);
	compare(ap, CIM_AP_CMP_SET, m);
	write_field(ap, m, in->w[0], in->w[1], 0);
}

/* Falkoff: keep the candidates with a 1 at each bit, MSB first, if any. */
static void macro_max(struct cimfw_ap *ap, const struct cim_ap_inst *in,
		      struct cimfw_meter *m)
{
	unsigned int col = in->w[0], i = in->w[1];
	uint64_t max = 0;

	tagop(ap, CIM_AP_TAG_SETALL);
	while (i--) {
		tagop(ap, CIM_AP_TAG_SAVE);
		km_clear(ap);
		km_set(ap, col + i, 1);
		compare(ap, CIM_AP_CMP_AND, m);
		if (tagcount(ap, m))
			max |= (uint64_t)1 << i;
		else
			tagop(ap, CIM_AP_TAG_SWAP);
	}
	ap->regs[in->w[2]] = max;
}

/* dst = src in active rows, two passes per bit so only differing bits flip */
static void copy_bits(struct cimfw_ap *ap, struct cimfw_meter *m,
		      unsigned int src, unsigned int dst, unsigned int n)
{
	/* (dst, src) -> dst */
	static const uint8_t pass[2][3] = { { 0, 1,  1 }, { 1, 0,  0 } };
	unsigned int col[2], i;
	struct pass_tab tb;
	struct pass_list pl;

	tab_init(&tb, pass[0], 2, 2, 1, -1);
	pl.n = 0;
	for (i = 0; i < n; i++) {
		col[0] = dst + i;
		col[1] = src + i;
		step_add(ap, &pl, &tb, col, -1);
	}
	pass_list_run(ap, &pl, m);
}

/*
 * dst = clamp(src >> shift, 0, 2^k - 1). The scratch column x first marks
 * the rows that clamp (negative, or a 1 above the k kept bits); the other
 * rows copy src[shift..] with x = 0 as an extra key bit, then the clamped
 * rows get all zeros or all ones. Every dst bit flips at most once.
 */
static void macro_requant(struct cimfw_ap *ap, const struct cim_ap_inst *in,
			  struct cimfw_meter *m)
{
	/* (dst, src, x) -> dst; (dst, x) -> dst */
	static const uint8_t copy[2][4] = { { 0, 1, 0,  1 }, { 1, 0, 0,  0 } };
	static const uint8_t low[3] = { 1, 0,  0 };
	unsigned int src = in->w[0], n = in->w[1], sh = in->w[2];
	unsigned int dst = in->w[3], k = in->w[4], x = in->w[5];
	unsigned int sign = src + n - 1, col[3], j, p;

	km_clear(ap);
	km_set(ap, sign, 1);
	compare(ap, CIM_AP_CMP_SET, m);
	for (p = sh + k; p + 1 < n; p++) {
		tagop(ap, CIM_AP_TAG_SAVE);
		km_clear(ap);
		km_set(ap, src + p, 1);
		compare(ap, CIM_AP_CMP_OR, m);
	}
	write_field(ap, m, x, 1, 1);
	tagop(ap, CIM_AP_TAG_NOT);
	write_field(ap, m, x, 1, 0);
	for (j = 0; j < k; j++) {
		p = sh + j;
		col[0] = dst + j;
		if (p + 1 < n) {
			col[1] = src + p;
			col[2] = x;
			lut_pass(ap, m, col, copy[0], 3, copy[0] + 3, 1, -1);
			lut_pass(ap, m, col, copy[1], 3, copy[1] + 3, 1, -1);
		} else {
			/* from the sign up, src is 0 in unclamped rows */
			col[1] = x;
			lut_pass(ap, m, col, low, 2, low + 2, 1, -1);
		}
	}
	km_clear(ap);
	km_set(ap, sign, 1);
	compare(ap, CIM_AP_CMP_SET, m);
	write_field(ap, m, dst, k, 0);
	km_clear(ap);
	km_set(ap, sign, 0);
	km_set(ap, x, 1);
	compare(ap, CIM_AP_CMP_SET, m);
	write_field(ap, m, dst, k, 1);
}

static void macro_clear(struct cimfw_ap *ap, const struct cim_ap_inst *in,
			struct cimfw_meter *m)
{
	tagop(ap, CIM_AP_TAG_SETALL);
	write_field(ap, m, in->w[0], in->w[1], 0);
}

/* ---- execution ---- */

static void run_one(struct cimfw_ap *ap, const struct cim_ap_inst *in,
		    struct cimfw_meter *m)
{
	unsigned int i;

	switch (in->op) {
	case CIM_AP_KM_CLEAR:
		km_clear(ap);
		break;
	case CIM_AP_KM_SET:
		for (i = 0; i < in->arg; i++)
			km_set(ap, in->w[i] & CIM_AP_KM_COL_MASK,
			       !!(in->w[i] & CIM_AP_KM_BIT));
		break;
	case CIM_AP_COMPARE:
		compare(ap, in->arg, m);
		break;
	case CIM_AP_WRITE:
		write_tagged(ap, m);
		break;
	case CIM_AP_SHIFT:
		shift(ap, in->w[0], (int16_t)in->w[1], m);
		break;
	case CIM_AP_TAGOP:
		tagop(ap, in->arg);
		break;
	case CIM_AP_TAGCOUNT:
		ap->regs[in->w[0]] = tagcount(ap, m);
		break;
	case CIM_AP_FIRSTTAG:
		ap->regs[in->w[0]] = firsttag(ap, m);
		break;
	case CIM_AP_ADD:
		macro_add(ap, in, m);
		break;
	case CIM_AP_RELU:
		macro_relu(ap, in, m);
		break;
	case CIM_AP_MAX:
		macro_max(ap, in, m);
		break;
	case CIM_AP_REQUANT:
		macro_requant(ap, in, m);
		break;
	case CIM_AP_CLEAR:
		macro_clear(ap, in, m);
		break;
	case CIM_AP_COPY:
		copy_bits(ap, m, in->w[0], in->w[2], in->w[1]);
		break;
	}
}

void cimfw_ap_run(struct cimfw_ap *ap, const struct cim_ap_inst *inst,
		unsigned int n, struct cimfw_meter *m)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		run_one(ap, &inst[i], m);
}

/* ---- row I/O at the ports ---- */

void cimfw_ap_load_rows(struct cimfw_ap *ap, unsigned int row, unsigned int nrows,
		      unsigned int col, unsigned int ncols,
		      const uint64_t *src, struct cimfw_meter *m)
{
	const struct cimfw_cost_params *cost = &ap->cfg->cost;
	unsigned int i, j, r;
	uint64_t bit, *p;

	for (j = 0; j < ncols; j++) {
		p = ap->view[col + j];
		for (i = 0; i < nrows; i++) {
			r = row + i;
			bit = (uint64_t)1 << (r % 64);
			if (src[i] >> j & 1)
				p[r / 64] |= bit;
			else
				p[r / 64] &= ~bit;
		}
	}
	m->ap_io_bits += (uint64_t)nrows * ncols;
	charge(m, CIM_UNIT_AP_IO,
	       cost->e_io_write_bit_fj * nrows * ncols,
	       cost->t_io_write_ps * nrows);
}

void cimfw_ap_read_rows(struct cimfw_ap *ap, unsigned int row, unsigned int nrows,
		      unsigned int col, unsigned int ncols, uint64_t *dst,
		      struct cimfw_meter *m)
{
	const struct cimfw_cost_params *cost = &ap->cfg->cost;
	unsigned int i, j, r;
	const uint64_t *p;

	memset(dst, 0, nrows * sizeof(*dst));
	for (j = 0; j < ncols; j++) {
		p = ap->view[col + j];
		for (i = 0; i < nrows; i++) {
			r = row + i;
			dst[i] |= (p[r / 64] >> (r % 64) & 1) << j;
		}
	}
	m->ap_io_bits += (uint64_t)nrows * ncols;
	charge(m, CIM_UNIT_AP_IO,
	       cost->e_io_read_bit_fj * nrows * ncols,
	       cost->t_io_read_ps * nrows);
}

void cimfw_ap_read_tags(const struct cimfw_ap *ap, unsigned int row,
		      unsigned int nrows, uint64_t *dst)
{
	unsigned int i, r;

	memset(dst, 0, (nrows + 63) / 64 * sizeof(*dst));
	for (i = 0; i < nrows; i++) {
		r = row + i;
		dst[i / 64] |= (ap->tag[r / 64] >> (r % 64) & 1) << (i % 64);
	}
}
