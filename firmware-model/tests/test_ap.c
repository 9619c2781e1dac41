// SPDX-License-Identifier: MIT
/*
 * The associative processor: each primitive, the arithmetic macros against
 * integer references on random rows, instruction validation and costs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "ap.h"
#include "rng.h"

/* an odd row count, so the last word of every row bitset is partial */
#define ROWS		333
#define COLS		144
#define DOMAINS		16
#define TRACKS		32

#define I(op_, arg_, ...) \
	((struct cim_ap_inst){ .op = (op_), .arg = (arg_), .w = { __VA_ARGS__ } })
#define KM(col, bit)	((uint16_t)((col) | ((bit) ? CIM_AP_KM_BIT : 0)))
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static struct cimfw_config cfg;
static struct cimfw_ap ap;
static struct cimfw_meter meter;
static struct cimfw_rng rng;
static uint64_t va[ROWS], vb[ROWS], vc[ROWS], got[ROWS];

static void setup(void)
{
	unit_config_ideal(&cfg);
	cfg.ap_rows = ROWS;
	cfg.ap_cols = COLS;
	cfg.ap_domains = DOMAINS;
	cfg.ap_group_tracks = TRACKS;
	ck_assert_int_eq(cimfw_config_check(&cfg), 0);
	ck_assert_int_eq(cimfw_ap_init(&ap, &cfg), 0);
	memset(&meter, 0, sizeof(meter));
	cimfw_rng_seed(&rng, 2024, 99);
}

static void teardown(void)
{
	cimfw_ap_fini(&ap);
}

static uint64_t field_mask(unsigned int n)
{
	return n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
}

/* two's complement value of the low @n bits of @v */
static int64_t sext(uint64_t v, unsigned int n)
{
	uint64_t sign = (uint64_t)1 << (n - 1);

	v &= field_mask(n);
	return (int64_t)((v ^ sign) - sign);
}

static void random_vals(uint64_t *v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < ROWS; i++)
		v[i] = cimfw_rng_next(&rng) & field_mask(n);
}

static uint64_t popcount_rows(const uint64_t *v)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < ROWS; i++)
		n += v[i] & 1;
	return n;
}

static void load(unsigned int col, unsigned int n, const uint64_t *v)
{
	cimfw_ap_load_rows(&ap, 0, ROWS, col, n, v, &meter);
}

static void read_field(unsigned int col, unsigned int n, uint64_t *v)
{
	cimfw_ap_read_rows(&ap, 0, ROWS, col, n, v, &meter);
}

static int tag_of(unsigned int row)
{
	return ap.tag[row / 64] >> (row % 64) & 1;
}

static void run(const struct cim_ap_inst *prog, unsigned int n)
{
	unsigned int bad = 12345;

	ck_assert_int_eq(cimfw_ap_check(&ap, prog, n, &bad), CIM_ST_OK);
	ck_assert_uint_eq(bad, 12345);
	cimfw_ap_run(&ap, prog, n, &meter);
}

static void run1(struct cim_ap_inst in)
{
	run(&in, 1);
}

/* ROWEN = rows whose column @col is 1 */
static void rowen_from(unsigned int col)
{
	const struct cim_ap_inst prog[] = {
		I(CIM_AP_KM_CLEAR, 0, 0),
		I(CIM_AP_KM_SET, 1, KM(col, 1)),
		I(CIM_AP_COMPARE, CIM_AP_CMP_SET, 0),
		I(CIM_AP_TAGOP, CIM_AP_TAG_ROWEN, 0),
	};

	run(prog, NELEM(prog));
}

/* ---- primitives ---- */

START_TEST(test_ap_reset_state)
{
	unsigned int r, g;

	ck_assert_uint_eq(ap.words, (ROWS + 63) / 64);
	ck_assert_uint_eq(ap.nrowen, ROWS);
	for (r = 0; r < ROWS; r++)
		ck_assert_int_eq(ap.rowen[r / 64] >> (r % 64) & 1, 1);
	ck_assert_uint_eq(ap.rowen[ap.words - 1] >> (ROWS % 64), 0);
	for (g = 0; g < ap.groups; g++)
		ck_assert_uint_eq(ap.offset[g], 0);
	random_vals(va, 64);
	load(10, 64, va);
	ap.regs[3] = 7;
	cimfw_ap_reset(&ap);
	read_field(10, 64, got);
	for (r = 0; r < ROWS; r++)
		ck_assert_uint_eq(got[r], 0);
	ck_assert_uint_eq(ap.regs[3], 0);
}
END_TEST

START_TEST(test_ap_load_read_roundtrip)
{
	uint64_t part[5];
	unsigned int r;

	random_vals(va, 64);
	load(70, 64, va);
	read_field(70, 64, got);
	for (r = 0; r < ROWS; r++)
		ck_assert_uint_eq(got[r], va[r]);
	/* a window: neighbours keep their bits, high src bits are ignored */
	memset(part, 0xff, sizeof(part));
	cimfw_ap_load_rows(&ap, 100, 5, 72, 3, part, &meter);
	read_field(70, 64, got);
	for (r = 0; r < ROWS; r++) {
		uint64_t want = va[r];

		if (r >= 100 && r < 105)
			want |= (uint64_t)7 << 2;
		ck_assert_uint_eq(got[r], want);
	}
}
END_TEST

START_TEST(test_ap_compare_modes)
{
	static const unsigned int modes[] = {
		CIM_AP_CMP_SET, CIM_AP_CMP_AND, CIM_AP_CMP_OR, CIM_AP_CMP_ANDN,
	};
	unsigned int i, r;
	int m, t2, want;

	random_vals(va, 1);
	random_vals(vb, 1);
	load(0, 1, va);
	load(1, 1, vb);
	for (i = 0; i < NELEM(modes); i++) {
		const struct cim_ap_inst prog[] = {
			I(CIM_AP_KM_CLEAR, 0, 0),
			I(CIM_AP_KM_SET, 1, KM(1, 1)),
			I(CIM_AP_COMPARE, CIM_AP_CMP_SET, 0),
			I(CIM_AP_TAGOP, CIM_AP_TAG_SAVE, 0),
			I(CIM_AP_KM_CLEAR, 0, 0),
			I(CIM_AP_KM_SET, 1, KM(0, 1)),
			I(CIM_AP_COMPARE, (uint8_t)modes[i], 0),
		};

		run(prog, NELEM(prog));
		for (r = 0; r < ROWS; r++) {
			m = (int)va[r];
			t2 = (int)vb[r];
			want = modes[i] == CIM_AP_CMP_SET ? m :
			       modes[i] == CIM_AP_CMP_AND ? m & t2 :
			       modes[i] == CIM_AP_CMP_OR ? m | t2 : m & !t2;
			ck_assert_int_eq(tag_of(r), want);
		}
	}
}
END_TEST

START_TEST(test_ap_compare_key_zero_and_empty_mask)
{
	const struct cim_ap_inst prog[] = {
		I(CIM_AP_KM_SET, 2, KM(0, 1), KM(1, 0)),
		I(CIM_AP_COMPARE, CIM_AP_CMP_SET, 0),
	};
	unsigned int r;

	random_vals(va, 1);
	random_vals(vb, 1);
	load(0, 1, va);
	load(1, 1, vb);
	run(prog, NELEM(prog));
	for (r = 0; r < ROWS; r++)
		ck_assert_int_eq(tag_of(r), va[r] && !vb[r]);
	/* no unmasked column: every active row matches */
	run1(I(CIM_AP_KM_CLEAR, 0, 0));
	run1(I(CIM_AP_COMPARE, CIM_AP_CMP_SET, 0));
	for (r = 0; r < ROWS; r++)
		ck_assert_int_eq(tag_of(r), 1);
	ck_assert_uint_eq(ap.tag[ap.words - 1] >> (ROWS % 64), 0);
}
END_TEST

START_TEST(test_ap_km_set_last_wins)
{
	const struct cim_ap_inst prog[] = {
		I(CIM_AP_KM_SET, 3, KM(5, 1), KM(6, 1), KM(5, 0)),
		I(CIM_AP_COMPARE, CIM_AP_CMP_SET, 0),
	};
	const struct cimfw_cost_params *c = &cfg.cost;
	unsigned int r;

	random_vals(va, 2);
	load(5, 2, va);
	run(prog, NELEM(prog));
	for (r = 0; r < ROWS; r++)
		ck_assert_int_eq(tag_of(r), va[r] == 2);
	/* column 5 counts once in the compare energy */
	ck_assert_double_eq_tol(meter.energy_fj[CIM_UNIT_AP_COMPARE],
				(2 * c->e_cmp_bit_fj + c->e_matchline_fj) *
				ROWS, 1e-9);
}
END_TEST

START_TEST(test_ap_write_counts_flips)
{
	const struct cim_ap_inst prog[] = {
		I(CIM_AP_KM_SET, 1, KM(1, 1)),
		I(CIM_AP_COMPARE, CIM_AP_CMP_SET, 0),
		I(CIM_AP_KM_CLEAR, 0, 0),
		I(CIM_AP_KM_SET, 2, KM(0, 1), KM(2, 0)),
		I(CIM_AP_WRITE, 0, 0),
	};
	uint64_t flips = 0;
	unsigned int r;

	random_vals(va, 1);
	random_vals(vb, 1);
	random_vals(vc, 1);
	load(0, 1, va);
	load(1, 1, vb);
	load(2, 1, vc);
	for (r = 0; r < ROWS; r++)
		flips += (vb[r] && !va[r]) + (vb[r] && vc[r]);
	memset(&meter, 0, sizeof(meter));
	run(prog, NELEM(prog));
	ck_assert_uint_eq(meter.ap_writes, 1);
	ck_assert_uint_eq(meter.ap_bits_written, flips);
	ck_assert_double_eq_tol(meter.energy_fj[CIM_UNIT_AP_WRITE],
				cfg.cost.e_write_bit_fj * (double)flips, 1e-6);
	read_field(0, 3, got);
	for (r = 0; r < ROWS; r++)
		ck_assert_uint_eq(got[r], vb[r] ? 3 : va[r] | vb[r] << 1 |
				  vc[r] << 2);
	/* the same write again flips nothing */
	run1(I(CIM_AP_WRITE, 0, 0));
	ck_assert_uint_eq(meter.ap_bits_written, flips);
}
END_TEST

START_TEST(test_ap_shift_moves_port)
{
	unsigned int r;

	random_vals(va, 8);
	random_vals(vb, 8);
	random_vals(vc, 8);
	load(0, 8, va);			/* group 0, domain 0 */
	load(TRACKS, 8, vc);		/* group 1, domain 0 */
	run1(I(CIM_AP_SHIFT, 0, 0, 3));
	ck_assert_uint_eq(ap.offset[0], 3);
	read_field(0, 8, got);
	for (r = 0; r < ROWS; r++)
		ck_assert_uint_eq(got[r], 0);
	read_field(TRACKS, 8, got);
	for (r = 0; r < ROWS; r++)
		ck_assert_uint_eq(got[r], vc[r]);
	load(0, 8, vb);			/* domain 3 */
	run1(I(CIM_AP_SHIFT, 0, 0, (uint16_t)-3));
	read_field(0, 8, got);
	for (r = 0; r < ROWS; r++)
		ck_assert_uint_eq(got[r], va[r]);
	/* a compare sees the port too */
	run1(I(CIM_AP_SHIFT, 0, 0, 3));
	run1(I(CIM_AP_KM_SET, 1, KM(0, 1)));
	run1(I(CIM_AP_COMPARE, 0, 0));
	for (r = 0; r < ROWS; r++)
		ck_assert_int_eq(tag_of(r), (int)(vb[r] & 1));
	/* group 1 still at domain 0 */
	read_field(TRACKS, 8, got);
	for (r = 0; r < ROWS; r++)
		ck_assert_uint_eq(got[r], vc[r]);
	ck_assert_uint_eq(ap.offset[1], 0);
}
END_TEST

START_TEST(test_ap_shift_edges_of_track)
{
	unsigned int r;

	random_vals(va, 4);
	run1(I(CIM_AP_SHIFT, 0, 4, DOMAINS - 1));
	load(4 * TRACKS, 4, va);
	run1(I(CIM_AP_SHIFT, 0, 4, (uint16_t)-(DOMAINS - 1)));
	read_field(4 * TRACKS, 4, got);
	for (r = 0; r < ROWS; r++)
		ck_assert_uint_eq(got[r], 0);
	run1(I(CIM_AP_SHIFT, 0, 4, DOMAINS - 1));
	read_field(4 * TRACKS, 4, got);
	for (r = 0; r < ROWS; r++)
		ck_assert_uint_eq(got[r], va[r]);
}
END_TEST

START_TEST(test_ap_tagops)
{
	uint64_t t[(ROWS + 63) / 64];
	unsigned int r;

	random_vals(va, 1);
	random_vals(vb, 1);
	load(0, 1, va);
	load(1, 1, vb);
	rowen_from(1);
	ck_assert_uint_eq(ap.nrowen, popcount_rows(vb));
	run1(I(CIM_AP_TAGOP, CIM_AP_TAG_SETALL, 0));
	for (r = 0; r < ROWS; r++)
		ck_assert_int_eq(tag_of(r), (int)vb[r]);
	run1(I(CIM_AP_TAGOP, CIM_AP_TAG_CLEAR, 0));
	for (r = 0; r < ROWS; r++)
		ck_assert_int_eq(tag_of(r), 0);
	/* TAG = col0 (within ROWEN), TAG2 = that, then NOT */
	run1(I(CIM_AP_KM_SET, 1, KM(0, 1)));
	run1(I(CIM_AP_COMPARE, 0, 0));
	run1(I(CIM_AP_TAGOP, CIM_AP_TAG_SAVE, 0));
	run1(I(CIM_AP_TAGOP, CIM_AP_TAG_NOT, 0));
	for (r = 0; r < ROWS; r++) {
		ck_assert_int_eq(tag_of(r), vb[r] && !va[r]);
		ck_assert_int_eq(ap.tag2[r / 64] >> (r % 64) & 1,
				 vb[r] && va[r]);
	}
	ck_assert_uint_eq(ap.tag[ap.words - 1] >> (ROWS % 64), 0);
	run1(I(CIM_AP_TAGOP, CIM_AP_TAG_SWAP, 0));
	cimfw_ap_read_tags(&ap, 0, ROWS, t);
	for (r = 0; r < ROWS; r++) {
		ck_assert_int_eq(t[r / 64] >> (r % 64) & 1, vb[r] && va[r]);
		ck_assert_int_eq(ap.tag2[r / 64] >> (r % 64) & 1,
				 vb[r] && !va[r]);
	}
	run1(I(CIM_AP_TAGOP, CIM_AP_TAG_ROWEN_ALL, 0));
	ck_assert_uint_eq(ap.nrowen, ROWS);
	run1(I(CIM_AP_TAGOP, CIM_AP_TAG_SETALL, 0));
	for (r = 0; r < ROWS; r++)
		ck_assert_int_eq(tag_of(r), 1);
}
END_TEST

START_TEST(test_ap_read_tags_window)
{
	uint64_t t[2];
	unsigned int k;

	random_vals(va, 1);
	load(0, 1, va);
	run1(I(CIM_AP_KM_SET, 1, KM(0, 1)));
	run1(I(CIM_AP_COMPARE, 0, 0));
	cimfw_ap_read_tags(&ap, 37, 70, t);
	for (k = 0; k < 70; k++)
		ck_assert_uint_eq(t[k / 64] >> (k % 64) & 1, va[37 + k]);
	ck_assert_uint_eq(t[1] >> 6, 0);
}
END_TEST

START_TEST(test_ap_tagcount_firsttag)
{
	unsigned int r, first = ROWS;
	uint64_t n = 0;

	random_vals(va, 1);
	for (r = 0; r < 200; r++)
		va[r] = 0;
	load(0, 1, va);
	for (r = 0; r < ROWS; r++) {
		n += va[r];
		if (va[r] && first == ROWS)
			first = r;
	}
	run1(I(CIM_AP_KM_SET, 1, KM(0, 1)));
	run1(I(CIM_AP_COMPARE, 0, 0));
	run1(I(CIM_AP_TAGCOUNT, 0, 15));
	run1(I(CIM_AP_FIRSTTAG, 0, 3));
	ck_assert_uint_eq(ap.regs[15], n);
	ck_assert_uint_eq(ap.regs[3], first);
	run1(I(CIM_AP_TAGOP, CIM_AP_TAG_CLEAR, 0));
	run1(I(CIM_AP_TAGCOUNT, 0, 15));
	run1(I(CIM_AP_FIRSTTAG, 0, 3));
	ck_assert_uint_eq(ap.regs[15], 0);
	ck_assert_uint_eq(ap.regs[3], UINT64_MAX);
	run1(I(CIM_AP_TAGOP, CIM_AP_TAG_SETALL, 0));
	run1(I(CIM_AP_TAGCOUNT, 0, 0));
	ck_assert_uint_eq(ap.regs[0], ROWS);
}
END_TEST

START_TEST(test_ap_rowen_restricts)
{
	const struct cim_ap_inst prog[] = {
		I(CIM_AP_KM_CLEAR, 0, 0),
		I(CIM_AP_KM_SET, 1, KM(0, 1)),
		I(CIM_AP_COMPARE, CIM_AP_CMP_SET, 0),
		I(CIM_AP_KM_CLEAR, 0, 0),
		I(CIM_AP_KM_SET, 1, KM(2, 1)),
		I(CIM_AP_WRITE, 0, 0),
	};
	const struct cimfw_cost_params *c = &cfg.cost;
	uint64_t active;
	unsigned int r;

	random_vals(va, 1);
	random_vals(vb, 1);
	load(0, 1, va);
	load(1, 1, vb);
	rowen_from(1);
	active = ap.nrowen;
	memset(&meter, 0, sizeof(meter));
	run(prog, NELEM(prog));
	read_field(2, 1, got);
	for (r = 0; r < ROWS; r++) {
		ck_assert_int_eq(tag_of(r), va[r] && vb[r]);
		ck_assert_uint_eq(got[r], va[r] & vb[r]);
	}
	ck_assert_double_eq_tol(meter.energy_fj[CIM_UNIT_AP_COMPARE],
				(c->e_cmp_bit_fj + c->e_matchline_fj) *
				(double)active, 1e-9);
	/* a stale TAG outside ROWEN is not written either */
	run1(I(CIM_AP_TAGOP, CIM_AP_TAG_ROWEN_ALL, 0));
	run1(I(CIM_AP_TAGOP, CIM_AP_TAG_SETALL, 0));
	run1(I(CIM_AP_TAGOP, CIM_AP_TAG_SAVE, 0));
	rowen_from(1);
	run1(I(CIM_AP_TAGOP, CIM_AP_TAG_SWAP, 0));
	ck_assert_int_eq(tag_of(0) + tag_of(1) + tag_of(2), 3);
	run1(I(CIM_AP_KM_CLEAR, 0, 0));
	run1(I(CIM_AP_KM_SET, 1, KM(3, 1)));
	run1(I(CIM_AP_WRITE, 0, 0));
	read_field(3, 1, got);
	for (r = 0; r < ROWS; r++)
		ck_assert_uint_eq(got[r], vb[r]);
}
END_TEST

/* ---- arithmetic macros against integer references ---- */

#define A_COL		0	/* A field, up to 64 columns */
#define B_COL		64	/* B field, up to 64 columns */
#define C_COL		128	/* carry */
#define P_COL		129	/* predicate */
#define X_COL		130	/* other scratch */

/* (m, n) pairs: the corners and random ones */
static unsigned int widths(unsigned int *m, unsigned int *n, unsigned int i)
{
	static const unsigned int fixed[][2] = {
		{ 1, 1 }, { 1, 2 }, { 1, 64 }, { 4, 16 }, { 7, 16 },
		{ 8, 8 }, { 16, 16 }, { 63, 64 }, { 64, 64 }, { 32, 64 },
	};

	if (i < NELEM(fixed)) {
		*m = fixed[i][0];
		*n = fixed[i][1];
	} else {
		*n = 1 + (unsigned int)(cimfw_rng_next(&rng) % 64);
		*m = 1 + (unsigned int)(cimfw_rng_next(&rng) % *n);
	}
	return i < 30;
}

static void check_add(unsigned int flags)
{
	unsigned int i, m, n, r, pred = flags & CIM_AP_ADD_F_PRED;
	uint64_t a, want;

	for (i = 0; widths(&m, &n, i); i++) {
		random_vals(va, m);
		random_vals(vb, n);
		random_vals(vc, 1);
		load(A_COL, m, va);
		load(B_COL, n, vb);
		load(P_COL, 1, vc);
		run1(I(CIM_AP_ADD, (uint8_t)flags, A_COL, (uint16_t)m, B_COL,
		       (uint16_t)n, C_COL, pred ? P_COL : 0));
		read_field(B_COL, n, got);
		for (r = 0; r < ROWS; r++) {
			a = flags & CIM_AP_ADD_F_SIGNED ?
			    (uint64_t)sext(va[r], m) : va[r];
			want = flags & CIM_AP_ADD_F_SUB ? vb[r] - a : vb[r] + a;
			if (pred && !vc[r])
				want = vb[r];
			ck_assert_msg(got[r] == (want & field_mask(n)),
				      "flags %u m %u n %u row %u: %#llx %s %#llx -> %#llx",
				      flags, m, n, r,
				      (unsigned long long)vb[r],
				      flags & CIM_AP_ADD_F_SUB ? "-" : "+",
				      (unsigned long long)va[r],
				      (unsigned long long)got[r]);
		}
		read_field(A_COL, m, got);
		for (r = 0; r < ROWS; r++)
			ck_assert_uint_eq(got[r], va[r]);
	}
}

START_TEST(test_ap_add_unsigned)
{
	check_add(0);
}
END_TEST

START_TEST(test_ap_sub_unsigned)
{
	check_add(CIM_AP_ADD_F_SUB);
}
END_TEST

START_TEST(test_ap_add_signed)
{
	check_add(CIM_AP_ADD_F_SIGNED);
}
END_TEST

START_TEST(test_ap_sub_signed)
{
	check_add(CIM_AP_ADD_F_SUB | CIM_AP_ADD_F_SIGNED);
}
END_TEST

START_TEST(test_ap_add_predicated)
{
	check_add(CIM_AP_ADD_F_PRED);
	check_add(CIM_AP_ADD_F_PRED | CIM_AP_ADD_F_SUB | CIM_AP_ADD_F_SIGNED);
}
END_TEST

/* 4 full-adder passes per bit of A, 2 above it, and the carry clear */
START_TEST(test_ap_add_pass_count)
{
	run1(I(CIM_AP_ADD, 0, A_COL, 4, B_COL, 16, C_COL));
	ck_assert_uint_eq(meter.ap_compares, 4 * 4 + 2 * 12);
	ck_assert_uint_eq(meter.ap_writes, 4 * 4 + 2 * 12 + 1);
	memset(&meter, 0, sizeof(meter));
	run1(I(CIM_AP_ADD, CIM_AP_ADD_F_SIGNED, A_COL, 4, B_COL, 16, C_COL));
	ck_assert_uint_eq(meter.ap_compares, 4 * 16);
	ck_assert_uint_eq(meter.ap_writes, 4 * 16 + 1);
}
END_TEST

/* compares and writes of the other macros, as Documentation/model/ap.rst */
START_TEST(test_ap_macro_pass_counts)
{
	static const struct {
		struct cim_ap_inst in;
		uint64_t compares, writes;
	} cases[] = {
		{ I(CIM_AP_RELU, 0, 5, 8), 1, 1 },
		{ I(CIM_AP_MAX, 0, 5, 8, 0), 8, 0 },
		{ I(CIM_AP_CLEAR, 0, 5, 8), 0, 1 },
		{ I(CIM_AP_COPY, 0, 5, 8, 20), 16, 16 },
		/* h = 16 - 1 - 4 - 4 = 7 high bits, c = 4 copied bits */
		{ I(CIM_AP_REQUANT, 0, A_COL, 16, 4, B_COL, 4, X_COL),
		  1 + 7 + 8 + 2, 2 + 8 + 2 },
		/* h = 0, c = 3, k - c = 13 cleared bits */
		{ I(CIM_AP_REQUANT, 0, A_COL, 4, 0, B_COL, 16, X_COL),
		  1 + 6 + 13 + 2, 2 + 6 + 13 + 2 },
	};
	unsigned int i;

	for (i = 0; i < NELEM(cases); i++) {
		memset(&meter, 0, sizeof(meter));
		run1(cases[i].in);
		ck_assert_uint_eq(meter.ap_compares, cases[i].compares);
		ck_assert_uint_eq(meter.ap_writes, cases[i].writes);
	}
	/* MAX: one tag count per bit */
	memset(&meter, 0, sizeof(meter));
	run1(I(CIM_AP_MAX, 0, 5, 8, 0));
	ck_assert_double_eq_tol(meter.energy_fj[CIM_UNIT_AP_TAG],
				8 * cfg.cost.e_tag_row_fj * ROWS, 1e-6);
}
END_TEST

START_TEST(test_ap_add_respects_rowen)
{
	uint64_t rowen[(ROWS + 63) / 64];
	unsigned int r;

	random_vals(va, 8);
	random_vals(vb, 16);
	random_vals(vc, 1);
	load(A_COL, 8, va);
	load(B_COL, 16, vb);
	load(X_COL, 1, vc);
	rowen_from(X_COL);
	memcpy(rowen, ap.rowen, sizeof(rowen));
	run1(I(CIM_AP_ADD, CIM_AP_ADD_F_SUB, A_COL, 8, B_COL, 16, C_COL));
	ck_assert_mem_eq(rowen, ap.rowen, sizeof(rowen));
	read_field(B_COL, 16, got);
	for (r = 0; r < ROWS; r++)
		ck_assert_uint_eq(got[r], vc[r] ? (vb[r] - va[r]) & 0xffff :
				  vb[r]);
}
END_TEST

START_TEST(test_ap_relu)
{
	static const unsigned int ns[] = { 1, 2, 5, 16, 33, 64 };
	unsigned int i, r, n;

	for (i = 0; i < NELEM(ns); i++) {
		n = ns[i];
		random_vals(va, n);
		random_vals(vb, 8);
		load(20, n, va);
		load(20 + n, 8, vb);	/* a neighbour that must survive */
		run1(I(CIM_AP_RELU, 0, 20, (uint16_t)n));
		read_field(20, n, got);
		for (r = 0; r < ROWS; r++)
			ck_assert_uint_eq(got[r], sext(va[r], n) < 0 ? 0 :
					  va[r]);
		read_field(20 + n, 8, got);
		for (r = 0; r < ROWS; r++)
			ck_assert_uint_eq(got[r], vb[r]);
	}
}
END_TEST

static void check_max(unsigned int n, int restrict_rows)
{
	uint64_t max = 0;
	unsigned int r;
	int active;

	random_vals(va, n);
	random_vals(vc, 1);
	/* duplicate a row's value so the maximum is often held twice */
	va[ROWS - 1] = va[17];
	load(A_COL, n, va);
	load(X_COL, 1, vc);
	if (restrict_rows)
		rowen_from(X_COL);
	for (r = 0; r < ROWS; r++)
		if ((!restrict_rows || vc[r]) && va[r] > max)
			max = va[r];
	run1(I(CIM_AP_MAX, 0, A_COL, (uint16_t)n, 9));
	ck_assert_uint_eq(ap.regs[9], max);
	for (r = 0; r < ROWS; r++) {
		active = !restrict_rows || vc[r];
		ck_assert_int_eq(tag_of(r), active && va[r] == max);
	}
	run1(I(CIM_AP_TAGOP, CIM_AP_TAG_ROWEN_ALL, 0));
}

START_TEST(test_ap_max)
{
	static const unsigned int ns[] = { 1, 3, 4, 8, 16, 40, 64 };
	unsigned int i;

	for (i = 0; i < NELEM(ns); i++) {
		check_max(ns[i], 0);
		check_max(ns[i], 1);
	}
	/* narrow values: many rows hold the maximum */
	check_max(2, 0);
}
END_TEST

START_TEST(test_ap_max_no_active_rows)
{
	random_vals(va, 8);
	load(A_COL, 8, va);
	run1(I(CIM_AP_TAGOP, CIM_AP_TAG_CLEAR, 0));
	run1(I(CIM_AP_TAGOP, CIM_AP_TAG_ROWEN, 0));
	ck_assert_uint_eq(ap.nrowen, 0);
	ap.regs[4] = 99;
	run1(I(CIM_AP_MAX, 0, A_COL, 8, 4));
	ck_assert_uint_eq(ap.regs[4], 0);
	run1(I(CIM_AP_TAGCOUNT, 0, 5));
	ck_assert_uint_eq(ap.regs[5], 0);
}
END_TEST

static uint64_t requant_ref(uint64_t src, unsigned int n, unsigned int sh,
			    unsigned int k)
{
	int64_t v = sext(src, n);

	/* floor division by 2^sh, without relying on >> of negatives */
	v = v >= 0 ? v >> sh : -(int64_t)((((uint64_t)-(v + 1)) >> sh) + 1);
	if (v < 0)
		return 0;
	return (uint64_t)v > field_mask(k) ? field_mask(k) : (uint64_t)v;
}

START_TEST(test_ap_requant)
{
	static const unsigned int cases[][3] = {	/* n, shift, k */
		{ 16, 0, 4 }, { 16, 4, 4 }, { 16, 12, 4 }, { 16, 15, 4 },
		{ 8, 0, 8 }, { 4, 0, 16 }, { 20, 3, 16 }, { 64, 30, 16 },
		{ 64, 0, 1 }, { 1, 0, 1 }, { 12, 5, 7 }, { 32, 31, 2 },
	};
	unsigned int i, r, n, sh, k, lim;

	for (i = 0; i < NELEM(cases); i++) {
		n = cases[i][0];
		sh = cases[i][1];
		k = cases[i][2];
		random_vals(va, n);
		/* small values so that not every row saturates */
		lim = sh + k + 1 < n ? sh + k + 1 : n;
		for (r = 0; r < ROWS / 2; r++)
			va[r] = (uint64_t)sext(va[r], lim) & field_mask(n);
		random_vals(vb, k);	/* stale destination */
		load(A_COL, n, va);
		load(B_COL, k, vb);
		run1(I(CIM_AP_REQUANT, 0, A_COL, (uint16_t)n, (uint16_t)sh,
		       B_COL, (uint16_t)k, X_COL));
		read_field(B_COL, k, got);
		for (r = 0; r < ROWS; r++)
			ck_assert_msg(got[r] == requant_ref(va[r], n, sh, k),
				      "n %u sh %u k %u src %#llx: %llu", n, sh,
				      k, (unsigned long long)va[r],
				      (unsigned long long)got[r]);
		read_field(A_COL, n, got);
		for (r = 0; r < ROWS; r++)
			ck_assert_uint_eq(got[r], va[r]);
	}
}
END_TEST

START_TEST(test_ap_requant_saturates)
{
	static const uint64_t src[] = { 0xffff, 0x8000, 0x7fff, 0x0100,
					0x00f0, 0x00ff, 0x0010, 0x0000 };
	static const uint64_t want[] = { 0, 0, 15, 15, 15, 15, 1, 0 };
	unsigned int r;

	for (r = 0; r < ROWS; r++)
		va[r] = src[r % NELEM(src)];
	load(A_COL, 16, va);
	run1(I(CIM_AP_REQUANT, 0, A_COL, 16, 4, B_COL, 4, X_COL));
	read_field(B_COL, 4, got);
	for (r = 0; r < ROWS; r++)
		ck_assert_uint_eq(got[r], want[r % NELEM(src)]);
}
END_TEST

START_TEST(test_ap_copy_clear)
{
	uint64_t flips = 0;
	unsigned int r;

	random_vals(va, 40);
	random_vals(vb, 48);
	load(A_COL, 40, va);
	load(B_COL, 48, vb);
	for (r = 0; r < ROWS; r++)
		flips += (uint64_t)__builtin_popcountll((va[r] ^ vb[r]) &
							field_mask(40));
	run1(I(CIM_AP_COPY, 0, A_COL, 40, B_COL));
	/* only the differing bits flip */
	ck_assert_uint_eq(meter.ap_bits_written, flips);
	read_field(B_COL, 48, got);
	for (r = 0; r < ROWS; r++)
		ck_assert_uint_eq(got[r], va[r] | (vb[r] >> 40) << 40);
	run1(I(CIM_AP_CLEAR, 0, B_COL + 1, 38));
	read_field(B_COL, 48, got);
	for (r = 0; r < ROWS; r++)
		ck_assert_uint_eq(got[r], (va[r] | (vb[r] >> 40) << 40) &
				  ~(field_mask(38) << 1));
	read_field(A_COL, 40, got);
	for (r = 0; r < ROWS; r++)
		ck_assert_uint_eq(got[r], va[r]);
}
END_TEST

/*
 * ADD and COPY run their passes back to back (ap.c's pass lists). They
 * must leave exactly what their microcode, run as single primitive
 * instructions, leaves: every bit, the registers, and the meter to the
 * last bit of its doubles; under ROWEN restricted to a few middle words,
 * all rows and none.
 */
static const uint8_t mc_full[2][4][5] = {
	{ { 0, 1, 1,  1, 0 }, { 0, 0, 1,  0, 1 },	/* add */
	  { 1, 0, 0,  0, 1 }, { 1, 1, 0,  1, 0 } },
	{ { 0, 0, 1,  1, 1 }, { 0, 1, 1,  0, 0 },	/* sub */
	  { 1, 1, 0,  0, 0 }, { 1, 0, 0,  1, 1 } },
};
static const uint8_t mc_prop[2][2][4] = {
	{ { 1, 0,  0, 1 }, { 1, 1,  1, 0 } },
	{ { 1, 1,  0, 0 }, { 1, 0,  1, 1 } },
};

struct mc {
	struct cim_ap_inst *in;
	unsigned int n;
};

static void mc_put(struct mc *p, struct cim_ap_inst in)
{
	p->in[p->n++] = in;
}

/* KM_CLEAR, KM_SET of @n columns (at most 7 per instruction) */
static void mc_keys(struct mc *p, const unsigned int *col, const uint8_t *bit,
		    unsigned int n)
{
	struct cim_ap_inst in = I(CIM_AP_KM_SET, (uint8_t)n, 0);
	unsigned int i;

	mc_put(p, I(CIM_AP_KM_CLEAR, 0, 0));
	for (i = 0; i < n; i++)
		in.w[i] = KM(col[i], bit[i]);
	mc_put(p, in);
}

static void mc_lut(struct mc *p, const unsigned int *col, const uint8_t *t,
		   unsigned int nin, unsigned int nout, int pred)
{
	unsigned int c[4];
	uint8_t b[4];
	unsigned int i;

	for (i = 0; i < nin; i++) {
		c[i] = col[i];
		b[i] = t[i];
	}
	if (pred >= 0) {
		c[i] = (unsigned int)pred;
		b[i++] = 1;
	}
	mc_keys(p, c, b, i);
	mc_put(p, I(CIM_AP_COMPARE, CIM_AP_CMP_SET, 0));
	mc_keys(p, col, t + nin, nout);
	mc_put(p, I(CIM_AP_WRITE, 0, 0));
}

/* The primitives of ADD a:m to b:n, carry c (ap.rst's pass tables) */
static void mc_add(struct mc *p, unsigned int flags, unsigned int a,
		   unsigned int m, unsigned int b, unsigned int n,
		   unsigned int c, int pred)
{
	unsigned int sub = !!(flags & CIM_AP_ADD_F_SUB), col[3] = { c }, i, k;
	static const uint8_t zero;

	mc_keys(p, col, &zero, 1);
	mc_put(p, I(CIM_AP_TAGOP, CIM_AP_TAG_SETALL, 0));
	mc_put(p, I(CIM_AP_WRITE, 0, 0));
	for (i = 0; i < n; i++) {
		col[1] = b + i;
		if (i < m || flags & CIM_AP_ADD_F_SIGNED) {
			col[2] = a + (i < m ? i : m - 1);
			for (k = 0; k < 4; k++)
				mc_lut(p, col, mc_full[sub][k], 3, 2, pred);
		} else {
			for (k = 0; k < 2; k++)
				mc_lut(p, col, mc_prop[sub][k], 2, 2, pred);
		}
	}
}

static void mc_copy(struct mc *p, unsigned int src, unsigned int n,
		    unsigned int dst)
{
	static const uint8_t t[2][3] = { { 0, 1,  1 }, { 1, 0,  0 } };
	unsigned int col[2], i, k;

	for (i = 0; i < n; i++) {
		col[0] = dst + i;
		col[1] = src + i;
		for (k = 0; k < 2; k++)
			mc_lut(p, col, t[k], 2, 1, -1);
	}
}

static void ap_state_eq(const struct cimfw_ap *x, const struct cimfw_ap *y,
			const char *what)
{
	size_t planes = (size_t)x->cols * x->domains * x->words;
	unsigned int i;

	ck_assert_msg(!memcmp(x->bits, y->bits, planes * sizeof(*x->bits)),
		      "%s: array bits differ", what);
	ck_assert_msg(!memcmp(x->tag, y->tag, 3 * x->words * sizeof(*x->tag)),
		      "%s: TAG, TAG2 or ROWEN differ", what);
	ck_assert_msg(!memcmp(x->key, y->key, x->cols) &&
		      !memcmp(x->mask, y->mask, x->cols), "%s: KEY/MASK differ",
		      what);
	ck_assert_uint_eq(x->nactive, y->nactive);
	for (i = 0; i < x->nactive; i++)
		ck_assert_uint_eq(x->active[i], y->active[i]);
	ck_assert_uint_eq(x->nrowen, y->nrowen);
}

START_TEST(test_ap_macros_equal_microcode)
{
	static const unsigned int flags[] = {
		0, CIM_AP_ADD_F_SUB, CIM_AP_ADD_F_SIGNED,
		CIM_AP_ADD_F_SUB | CIM_AP_ADD_F_SIGNED,
		CIM_AP_ADD_F_PRED | CIM_AP_ADD_F_SUB,
	};
	static const unsigned int mn[][2] = {
		{ 1, 1 }, { 4, 13 }, { 7, 7 }, { 5, 64 }, { 64, 64 },
	};
	struct cim_ap_inst *prog = malloc(40000 * sizeof(*prog));
	struct cimfw_meter m2;
	struct cimfw_ap ap2;
	struct mc mc = { .in = prog };
	unsigned int mode, f, i, r, w;
	char what[64];

	ck_assert_ptr_nonnull(prog);
	ck_assert_int_eq(cimfw_ap_init(&ap2, &cfg), 0);
	for (mode = 0; mode < 3; mode++) {
		/* ROWEN: rows 70..199 at random (words 1..3), all, none */
		random_vals(vc, 1);
		for (r = 0; r < ROWS; r++)
			vc[r] = mode == 1 || (!mode && r >= 70 && r < 200 &&
					      vc[r]);
		load(X_COL, 1, vc);
		run1(I(CIM_AP_TAGOP, CIM_AP_TAG_ROWEN_ALL, 0));
		rowen_from(X_COL);
		for (w = 0; w < ap.words; w++)
			ck_assert_uint_eq(ap.rowen[w] != 0,
					  (mode == 1 || (!mode && w >= 1 &&
							 w <= 3)));
		for (f = 0; f < NELEM(flags); f++)
			for (i = 0; i < NELEM(mn); i++) {
				unsigned int m = mn[i][0], n = mn[i][1];
				int pred = flags[f] & CIM_AP_ADD_F_PRED ?
					   P_COL : -1;

				random_vals(va, m);
				random_vals(vb, n);
				random_vals(vc, 1);
				load(A_COL, m, va);
				load(B_COL, n, vb);
				load(P_COL, 1, vc);
				mc.n = 0;
				if (i % 2)
					mc_copy(&mc, A_COL, m, B_COL);
				mc_add(&mc, flags[f], A_COL, m, B_COL, n,
				       C_COL, pred);
				/* the twin: the same state, the microcode */
				cimfw_ap_fini(&ap2);
				ck_assert_int_eq(cimfw_ap_init(&ap2, &cfg), 0);
				memcpy(ap2.bits, ap.bits,
				       (size_t)ap.cols * ap.domains *
				       ap.words * sizeof(*ap.bits));
				memcpy(ap2.tag, ap.tag,
				       3 * ap.words * sizeof(*ap.tag));
				ap2.nrowen = ap.nrowen;
				ap2.wlo = ap.wlo;
				ap2.whi = ap.whi;
				m2 = meter;
				if (i % 2)
					run1(I(CIM_AP_COPY, 0, A_COL,
					       (uint16_t)m, B_COL));
				run1(I(CIM_AP_ADD, (uint8_t)flags[f], A_COL,
				       (uint16_t)m, B_COL, (uint16_t)n, C_COL,
				       pred >= 0 ? P_COL : 0));
				ck_assert_uint_le(mc.n, 40000);
				ck_assert_int_eq(cimfw_ap_check(&ap2, mc.in,
							      mc.n, &w),
						 CIM_ST_OK);
				cimfw_ap_run(&ap2, mc.in, mc.n, &m2);
				snprintf(what, sizeof(what),
					 "rowen %u flags %u m %u n %u", mode,
					 flags[f], m, n);
				ap_state_eq(&ap, &ap2, what);
				ck_assert_msg(!memcmp(&meter, &m2,
						      sizeof(meter)),
					      "%s: meters differ", what);
			}
	}
	cimfw_ap_fini(&ap2);
	free(prog);
}
END_TEST

/* ---- validation ---- */

#define G	(COLS / TRACKS + 1)	/* groups: 144 / 32 rounds up to 5 */

static const struct bad_inst {
	const char *what;
	struct cim_ap_inst in;
} bad_insts[] = {
	{ "opcode 0", I(0, 0, 0) },
	{ "opcode 0x09", I(0x09, 0, 0) },
	{ "opcode 0x16", I(0x16, 0, 0) },
	{ "opcode 0xff", I(0xff, 0, 0) },
	{ "KM_CLEAR arg", I(CIM_AP_KM_CLEAR, 1, 0) },
	{ "KM_CLEAR operand", I(CIM_AP_KM_CLEAR, 0, 0, 0, 0, 0, 0, 0, 1) },
	{ "KM_SET n = 0", I(CIM_AP_KM_SET, 0, 0) },
	{ "KM_SET n = 8", I(CIM_AP_KM_SET, 8, 1, 2, 3, 4, 5, 6, 7) },
	{ "KM_SET col = C", I(CIM_AP_KM_SET, 2, 3, KM(COLS, 1)) },
	{ "KM_SET col 0x7fff", I(CIM_AP_KM_SET, 1, 0x7fff) },
	{ "KM_SET unused operand", I(CIM_AP_KM_SET, 2, 1, 2, KM(0, 1)) },
	{ "COMPARE mode 4", I(CIM_AP_COMPARE, 4, 0) },
	{ "COMPARE operand", I(CIM_AP_COMPARE, 0, 1) },
	{ "WRITE arg", I(CIM_AP_WRITE, 1, 0) },
	{ "WRITE operand", I(CIM_AP_WRITE, 0, 0, 1) },
	{ "SHIFT group = groups", I(CIM_AP_SHIFT, 0, G, 1) },
	{ "SHIFT past the end", I(CIM_AP_SHIFT, 0, 0, DOMAINS) },
	{ "SHIFT below 0", I(CIM_AP_SHIFT, 0, 1, (uint16_t)-1) },
	{ "SHIFT -32768", I(CIM_AP_SHIFT, 0, 1, 0x8000) },
	{ "SHIFT arg", I(CIM_AP_SHIFT, 1, 0, 1) },
	{ "SHIFT operand", I(CIM_AP_SHIFT, 0, 0, 1, 1) },
	{ "TAGOP 7", I(CIM_AP_TAGOP, 7, 0) },
	{ "TAGOP operand", I(CIM_AP_TAGOP, 0, 1) },
	{ "TAGCOUNT reg 16", I(CIM_AP_TAGCOUNT, 0, 16) },
	{ "TAGCOUNT operand", I(CIM_AP_TAGCOUNT, 0, 1, 1) },
	{ "TAGCOUNT arg", I(CIM_AP_TAGCOUNT, 1, 1) },
	{ "FIRSTTAG reg 16", I(CIM_AP_FIRSTTAG, 0, 16) },
	{ "ADD flag 8", I(CIM_AP_ADD, 8, A_COL, 4, B_COL, 8, C_COL) },
	{ "ADD m > n", I(CIM_AP_ADD, 0, A_COL, 9, B_COL, 8, C_COL) },
	{ "ADD m = 0", I(CIM_AP_ADD, 0, A_COL, 0, B_COL, 8, C_COL) },
	{ "ADD n > 64", I(CIM_AP_ADD, 0, A_COL, 4, 70, 65, C_COL + 10) },
	{ "ADD B beyond C", I(CIM_AP_ADD, 0, A_COL, 4, 100, 45, C_COL) },
	{ "ADD A overlaps B", I(CIM_AP_ADD, 0, 10, 8, 17, 8, C_COL) },
	{ "ADD carry in A", I(CIM_AP_ADD, 0, A_COL, 4, B_COL, 8, 3) },
	{ "ADD carry in B", I(CIM_AP_ADD, 0, A_COL, 4, B_COL, 8, B_COL + 7) },
	{ "ADD carry = C", I(CIM_AP_ADD, 0, A_COL, 4, B_COL, 8, COLS) },
	{ "ADD pred = carry", I(CIM_AP_ADD, CIM_AP_ADD_F_PRED, A_COL, 4,
				B_COL, 8, C_COL, C_COL) },
	{ "ADD pred in A", I(CIM_AP_ADD, CIM_AP_ADD_F_PRED, A_COL, 4,
			     B_COL, 8, C_COL, A_COL + 3) },
	{ "ADD pred in B", I(CIM_AP_ADD, CIM_AP_ADD_F_PRED, A_COL, 4,
			     B_COL, 8, C_COL, B_COL) },
	{ "ADD pred = C", I(CIM_AP_ADD, CIM_AP_ADD_F_PRED, A_COL, 4,
			    B_COL, 8, C_COL, COLS) },
	{ "ADD pred without flag", I(CIM_AP_ADD, 0, A_COL, 4, B_COL, 8,
				     C_COL, P_COL) },
	{ "ADD w6", I(CIM_AP_ADD, 0, A_COL, 4, B_COL, 8, C_COL, 0, 1) },
	{ "RELU n = 0", I(CIM_AP_RELU, 0, 5, 0) },
	{ "RELU n = 65", I(CIM_AP_RELU, 0, 5, 65) },
	{ "RELU beyond C", I(CIM_AP_RELU, 0, COLS - 3, 4) },
	{ "RELU arg", I(CIM_AP_RELU, 1, 5, 4) },
	{ "RELU operand", I(CIM_AP_RELU, 0, 5, 4, 1) },
	{ "MAX reg 16", I(CIM_AP_MAX, 0, 5, 4, 16) },
	{ "MAX operand", I(CIM_AP_MAX, 0, 5, 4, 1, 1) },
	{ "MAX n = 0", I(CIM_AP_MAX, 0, 5, 0, 1) },
	{ "REQUANT k = 0", I(CIM_AP_REQUANT, 0, A_COL, 16, 4, B_COL, 0, X_COL) },
	{ "REQUANT k = 17", I(CIM_AP_REQUANT, 0, A_COL, 32, 4, B_COL, 17,
			      X_COL) },
	{ "REQUANT shift = n", I(CIM_AP_REQUANT, 0, A_COL, 16, 16, B_COL, 4,
				 X_COL) },
	{ "REQUANT n = 65", I(CIM_AP_REQUANT, 0, A_COL, 65, 4, 70, 4, X_COL) },
	{ "REQUANT dst in src", I(CIM_AP_REQUANT, 0, A_COL, 16, 4, 12, 4,
				  X_COL) },
	{ "REQUANT scratch in src", I(CIM_AP_REQUANT, 0, A_COL, 16, 4, B_COL,
				      4, 15) },
	{ "REQUANT scratch in dst", I(CIM_AP_REQUANT, 0, A_COL, 16, 4, B_COL,
				      4, B_COL + 3) },
	{ "REQUANT scratch = C", I(CIM_AP_REQUANT, 0, A_COL, 16, 4, B_COL, 4,
				   COLS) },
	{ "REQUANT arg", I(CIM_AP_REQUANT, 1, A_COL, 16, 4, B_COL, 4, X_COL) },
	{ "REQUANT w6", I(CIM_AP_REQUANT, 0, A_COL, 16, 4, B_COL, 4, X_COL,
			  1) },
	{ "CLEAR n = 0", I(CIM_AP_CLEAR, 0, 5, 0) },
	{ "CLEAR operand", I(CIM_AP_CLEAR, 0, 5, 4, 1) },
	{ "COPY overlap", I(CIM_AP_COPY, 0, 10, 8, 17) },
	{ "COPY dst beyond C", I(CIM_AP_COPY, 0, 10, 8, COLS - 7) },
	{ "COPY n = 65", I(CIM_AP_COPY, 0, 0, 65, 70) },
	{ "COPY operand", I(CIM_AP_COPY, 0, 10, 8, 30, 1) },
};

/* every rejected instruction, behind a valid one, is reported by index */
START_TEST(test_ap_check_rejects)
{
	const struct bad_inst *b = &bad_insts[_i];
	struct cim_ap_inst prog[2] = { I(CIM_AP_KM_CLEAR, 0, 0), b->in };
	unsigned int bad = 99;

	ck_assert_msg(cimfw_ap_check(&ap, prog, 2, &bad) == CIM_ST_BAD_INST,
		      "accepted: %s", b->what);
	ck_assert_msg(bad == 1, "%s: index %u", b->what, bad);
}
END_TEST

/* the edges of every rejected field are accepted */
START_TEST(test_ap_check_accepts_edges)
{
	const struct cim_ap_inst prog[] = {
		I(CIM_AP_KM_SET, 7, 0, 1, 2, 3, 4, 5, KM(COLS - 1, 1)),
		I(CIM_AP_COMPARE, CIM_AP_CMP_ANDN, 0),
		I(CIM_AP_TAGOP, CIM_AP_TAG_ROWEN_ALL, 0),
		I(CIM_AP_SHIFT, 0, G - 1, DOMAINS - 1),
		I(CIM_AP_TAGCOUNT, 0, 15),
		I(CIM_AP_ADD, CIM_AP_ADD_VALID_FLAGS, A_COL, 64, B_COL, 64,
		  C_COL, COLS - 1),
		I(CIM_AP_RELU, 0, COLS - 64, 64),
		I(CIM_AP_MAX, 0, 0, 64, 15),
		I(CIM_AP_REQUANT, 0, A_COL, 64, 63, B_COL, 16, COLS - 1),
		I(CIM_AP_COPY, 0, 0, 64, 64),
		I(CIM_AP_CLEAR, 0, 0, 64),
	};
	unsigned int bad = 99;

	ck_assert_int_eq(cimfw_ap_check(&ap, prog, NELEM(prog), &bad),
			 CIM_ST_OK);
}
END_TEST

START_TEST(test_ap_check_simulates_shifts)
{
	const struct cim_ap_inst ok[] = {
		I(CIM_AP_SHIFT, 0, 2, 10),
		I(CIM_AP_SHIFT, 0, 2, 5),
		I(CIM_AP_SHIFT, 0, 3, 15),	/* another group */
		I(CIM_AP_SHIFT, 0, 2, (uint16_t)-15),
	};
	const struct cim_ap_inst bad_prog[] = {
		I(CIM_AP_SHIFT, 0, 2, 10),
		I(CIM_AP_SHIFT, 0, 3, 5),
		I(CIM_AP_SHIFT, 0, 2, 6),
	};
	unsigned int bad = 99;

	ck_assert_int_eq(cimfw_ap_check(&ap, ok, NELEM(ok), &bad), CIM_ST_OK);
	ck_assert_int_eq(cimfw_ap_check(&ap, bad_prog, NELEM(bad_prog), &bad),
			 CIM_ST_BAD_INST);
	ck_assert_uint_eq(bad, 2);
	/* from the AP's current offsets */
	run1(I(CIM_AP_SHIFT, 0, 2, DOMAINS - 1));
	ck_assert_int_eq(cimfw_ap_check(&ap, ok, 1, &bad), CIM_ST_BAD_INST);
	ck_assert_uint_eq(bad, 0);
	ck_assert_int_eq(cimfw_ap_check(&ap, &ok[3], 1, &bad), CIM_ST_OK);
}
END_TEST

START_TEST(test_ap_rejected_program_changes_nothing)
{
	const struct cim_ap_inst prog[] = {
		I(CIM_AP_SHIFT, 0, 0, 3),
		I(CIM_AP_KM_SET, 1, KM(0, 1)),
		I(CIM_AP_TAGOP, CIM_AP_TAG_SETALL, 0),
		I(CIM_AP_WRITE, 0, 0),
		I(CIM_AP_ADD, 0, A_COL, 8, B_COL, 8, C_COL),
		I(CIM_AP_TAGCOUNT, 0, 1),
		I(CIM_AP_ADD, 0, A_COL, 9, B_COL, 8, C_COL),
	};
	size_t size = (size_t)COLS * DOMAINS * ap.words * sizeof(uint64_t);
	struct cimfw_meter before;
	uint64_t *bits = malloc(size);
	struct cimfw_ap copy;
	unsigned int bad = 99;

	ck_assert_ptr_nonnull(bits);
	random_vals(va, 64);
	load(A_COL, 64, va);
	run1(I(CIM_AP_KM_SET, 1, KM(3, 1)));
	run1(I(CIM_AP_COMPARE, 0, 0));
	memcpy(bits, ap.bits, size);
	copy = ap;
	before = meter;
	ck_assert_int_eq(cimfw_ap_check(&ap, prog, NELEM(prog), &bad),
			 CIM_ST_BAD_INST);
	ck_assert_uint_eq(bad, NELEM(prog) - 1);
	ck_assert_mem_eq(bits, ap.bits, size);
	ck_assert_mem_eq(&copy, &ap, sizeof(ap));
	ck_assert_uint_eq(ap.offset[0], 0);
	ck_assert_uint_eq(ap.nactive, 1);
	ck_assert_mem_eq(&before, &meter, sizeof(meter));
	free(bits);
}
END_TEST

/* ---- costs ---- */

START_TEST(test_ap_cost_small_program)
{
	const struct cim_ap_inst prog[] = {
		I(CIM_AP_KM_SET, 1, KM(0, 1)),
		I(CIM_AP_COMPARE, CIM_AP_CMP_SET, 0),
		I(CIM_AP_KM_CLEAR, 0, 0),
		I(CIM_AP_KM_SET, 2, KM(1, 1), KM(2, 1)),
		I(CIM_AP_WRITE, 0, 0),
		I(CIM_AP_SHIFT, 0, 4, 3),	/* the last group: 16 tracks */
		I(CIM_AP_SHIFT, 0, 1, 5),
		I(CIM_AP_SHIFT, 0, 1, (uint16_t)-2),
		I(CIM_AP_TAGOP, CIM_AP_TAG_NOT, 0),
		I(CIM_AP_TAGCOUNT, 0, 0),
		I(CIM_AP_FIRSTTAG, 0, 1),
	};
	const struct cimfw_cost_params *c = &cfg.cost;
	double e_cmp, e_wr, e_sh, e_tag, e_io, t;
	unsigned int r;

	/* rows 0..99 match; 50 of them already hold a 1 in column 2 */
	for (r = 0; r < ROWS; r++) {
		va[r] = r < 100;
		vb[r] = r < 50 ? 4 : 0;
	}
	load(0, 1, va);
	load(0, 3, vb);
	load(0, 1, va);
	e_io = c->e_io_write_bit_fj * ROWS * 5;
	ck_assert_uint_eq(meter.ap_io_bits, ROWS * 5);
	ck_assert_double_eq_tol(meter.energy_fj[CIM_UNIT_AP_IO], e_io,
				1e-6 * e_io);
	ck_assert_double_eq_tol(meter.busy_ps[CIM_UNIT_AP_IO],
				3 * ROWS * c->t_io_write_ps, 1e-3);
	memset(&meter, 0, sizeof(meter));
	run(prog, NELEM(prog));
	ck_assert_uint_eq(meter.ap_compares, 1);
	ck_assert_uint_eq(meter.ap_writes, 1);
	ck_assert_uint_eq(meter.ap_bits_written, 100 + 50);
	ck_assert_uint_eq(meter.ap_shift_steps, 16 * 3 + 32 * 5 + 32 * 2);
	ck_assert_uint_eq(meter.ap_io_bits, 0);
	ck_assert_uint_eq(ap.regs[0], ROWS - 100);
	ck_assert_uint_eq(ap.regs[1], 100);
	e_cmp = (c->e_cmp_bit_fj + c->e_matchline_fj) * ROWS;
	e_wr = c->e_write_bit_fj * 150;
	e_sh = c->e_shift_fj * (16 * 3 + 32 * 5 + 32 * 2);
	e_tag = 2 * c->e_tag_row_fj * ROWS;
	ck_assert_double_eq_tol(meter.energy_fj[CIM_UNIT_AP_COMPARE], e_cmp,
				1e-9 * e_cmp);
	ck_assert_double_eq_tol(meter.energy_fj[CIM_UNIT_AP_WRITE], e_wr,
				1e-9 * e_wr);
	ck_assert_double_eq_tol(meter.energy_fj[CIM_UNIT_AP_SHIFT], e_sh,
				1e-9 * e_sh);
	ck_assert_double_eq_tol(meter.energy_fj[CIM_UNIT_AP_TAG], e_tag,
				1e-9 * e_tag);
	ck_assert_double_eq_tol(meter.busy_ps[CIM_UNIT_AP_COMPARE],
				c->t_cmp_ps, 1e-6);
	ck_assert_double_eq_tol(meter.busy_ps[CIM_UNIT_AP_WRITE],
				c->t_write_ps, 1e-6);
	ck_assert_double_eq_tol(meter.busy_ps[CIM_UNIT_AP_SHIFT],
				10 * c->t_shift_ps, 1e-6);
	/* 333 rows: a 9-level adder tree, twice */
	ck_assert_double_eq_tol(meter.busy_ps[CIM_UNIT_AP_TAG],
				18 * c->t_tag_level_ps, 1e-6);
	t = c->t_cmp_ps + c->t_write_ps + 10 * c->t_shift_ps +
	    18 * c->t_tag_level_ps;
	ck_assert_double_eq_tol(meter.device_time_ps, t, 1e-6);
	ck_assert_double_eq(meter.energy_fj[CIM_UNIT_AP_IO], 0);
}
END_TEST

/* the read side of the I/O, and its cost per bit and per row */
START_TEST(test_ap_cost_io_read)
{
	const struct cimfw_cost_params *c = &cfg.cost;
	uint64_t out[10];

	cimfw_ap_read_rows(&ap, 7, 10, 3, 5, out, &meter);
	ck_assert_uint_eq(meter.ap_io_bits, 50);
	ck_assert_double_eq_tol(meter.energy_fj[CIM_UNIT_AP_IO],
				50 * c->e_io_read_bit_fj, 1e-6);
	ck_assert_double_eq_tol(meter.busy_ps[CIM_UNIT_AP_IO],
				10 * c->t_io_read_ps, 1e-6);
	ck_assert_double_eq_tol(meter.device_time_ps, 10 * c->t_io_read_ps,
				1e-6);
}
END_TEST

Suite *ap_suite(void)
{
	Suite *s = suite_create("ap");
	TCase *prim = tcase_create("primitives");
	TCase *arith = tcase_create("macros");
	TCase *check = tcase_create("validation");
	TCase *cost = tcase_create("cost");

	tcase_add_checked_fixture(prim, setup, teardown);
	tcase_add_test(prim, test_ap_reset_state);
	tcase_add_test(prim, test_ap_load_read_roundtrip);
	tcase_add_test(prim, test_ap_compare_modes);
	tcase_add_test(prim, test_ap_compare_key_zero_and_empty_mask);
	tcase_add_test(prim, test_ap_km_set_last_wins);
	tcase_add_test(prim, test_ap_write_counts_flips);
	tcase_add_test(prim, test_ap_shift_moves_port);
	tcase_add_test(prim, test_ap_shift_edges_of_track);
	tcase_add_test(prim, test_ap_tagops);
	tcase_add_test(prim, test_ap_read_tags_window);
	tcase_add_test(prim, test_ap_tagcount_firsttag);
	tcase_add_test(prim, test_ap_rowen_restricts);
	suite_add_tcase(s, prim);

	tcase_add_checked_fixture(arith, setup, teardown);
	tcase_add_test(arith, test_ap_add_unsigned);
	tcase_add_test(arith, test_ap_sub_unsigned);
	tcase_add_test(arith, test_ap_add_signed);
	tcase_add_test(arith, test_ap_sub_signed);
	tcase_add_test(arith, test_ap_add_predicated);
	tcase_add_test(arith, test_ap_add_pass_count);
	tcase_add_test(arith, test_ap_macro_pass_counts);
	tcase_add_test(arith, test_ap_add_respects_rowen);
	tcase_add_test(arith, test_ap_relu);
	tcase_add_test(arith, test_ap_max);
	tcase_add_test(arith, test_ap_max_no_active_rows);
	tcase_add_test(arith, test_ap_requant);
	tcase_add_test(arith, test_ap_requant_saturates);
	tcase_add_test(arith, test_ap_copy_clear);
	tcase_add_test(arith, test_ap_macros_equal_microcode);
	suite_add_tcase(s, arith);

	tcase_add_checked_fixture(check, setup, teardown);
	tcase_add_loop_test(check, test_ap_check_rejects, 0,
			    (int)NELEM(bad_insts));
	tcase_add_test(check, test_ap_check_accepts_edges);
	tcase_add_test(check, test_ap_check_simulates_shifts);
	tcase_add_test(check, test_ap_rejected_program_changes_nothing);
	suite_add_tcase(s, check);

	tcase_add_checked_fixture(cost, setup, teardown);
	tcase_add_test(cost, test_ap_cost_small_program);
	tcase_add_test(cost, test_ap_cost_io_read);
	suite_add_tcase(s, cost);
	return s;
}
