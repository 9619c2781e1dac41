// SPDX-License-Identifier: MIT
/*
 * libcim on the embedded backend: errors, opening, queries, buffers and
 * their lifetime, reservations, every builder check (a refused command
 * appends nothing), VMM, DUU and AP results against the firmware model
 * driven directly, jobs, fences, reset and counters.
 */
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cim.h"
#include "cim_priv.h"
#include "testmem.h"
#include "unit.h"

static struct cimfw_config cfg;
static struct cim_device *dev;
static struct cim_cmdbuf *cb;
static struct cim_buffer *bw, *bx, *by, *bd, *bap;

/* The unit tests' small geometry with the default (noisy) physics */
static void noisy_config(struct cimfw_config *c)
{
	struct cimfw_config d;

	unit_config_ideal(c);
	cimfw_config_default(&d);
	c->gamma = d.gamma;
	c->sigma_d2d = d.sigma_d2d;
	c->sigma_c2c = d.sigma_c2c;
	c->read_noise = d.read_noise;
	c->seed = 42;
}

static void setup(void)
{
	struct cim_embedded_options o = {
		.size = sizeof(o), .config = &cfg,
	};

	noisy_config(&cfg);
	ck_assert_int_eq(cim_device_open_embedded(&dev, &o), 0);
	ck_assert_int_eq(cim_cmdbuf_create(dev, &cb), 0);
	ck_assert_int_eq(cim_buffer_alloc(dev, 64 * 48 * 4, &bw), 0);
	ck_assert_int_eq(cim_buffer_alloc(dev, 16 * 64 * 4, &bx), 0);
	ck_assert_int_eq(cim_buffer_alloc(dev, 16 * 64 * 4, &by), 0);
	ck_assert_int_eq(cim_buffer_alloc(dev, 16 * 48 * 4, &bd), 0);
	ck_assert_int_eq(cim_buffer_alloc(dev, 256 * 8, &bap), 0);
	ck_assert_int_eq(cim_xbar_reserve(dev, 3), 0);
	ck_assert_int_eq(cim_ap_reserve(dev, 3), 0);
}

static void teardown(void)
{
	cim_buffer_free(bw);
	cim_buffer_free(bx);
	cim_buffer_free(by);
	cim_buffer_free(bd);
	cim_buffer_free(bap);
	cim_cmdbuf_destroy(cb);
	cim_device_close(dev);
}

static void fill(float *v, size_t n, float scale, unsigned int salt)
{
	size_t i;

	for (i = 0; i < n; i++)
		v[i] = scale * (float)((int)((i * 37 + salt) % 101) - 50) / 50.0f;
}

START_TEST(test_errors)
{
	ck_assert_str_eq(cim_err_name(-EINVAL), "EINVAL");
	ck_assert_str_eq(cim_err_name(CIM_ECANCELED), "ECANCELED");
	ck_assert_str_eq(cim_err_name(-12345), "UNKNOWN");
	ck_assert_str_eq(cim_err_name(0), "OK");
	ck_assert_str_eq(cim_strerror(-ENODEV), "device removed or failed");
	ck_assert_str_eq(cim_strerror(-12345), "unknown error");
	ck_assert_int_eq(cim_status_errno(CIM_ST_OK), 0);
	ck_assert_int_eq(cim_status_errno(CIM_ST_BAD_VALUE), -EINVAL);
	ck_assert_int_eq(cim_status_errno(CIM_ST_DMA), -EIO);
	ck_assert_int_eq(cim_status_errno(CIM_ST_ABORTED), -ECANCELED);
	ck_assert_int_eq(cim_status_errno(CIM_JOB_TIMEDOUT), -ETIMEDOUT);
	ck_assert_int_eq(cim_status_errno(CIM_JOB_CANCELED), -ECANCELED);
	ck_assert_str_eq(cim_status_name(CIM_JOB_CANCELED), "CANCELED");
	ck_assert_uint_eq(cim_version() >> 16, CIM_VERSION_MAJOR);
	ck_assert_str_eq(cim_version_string(), "1.1.0");
}
END_TEST

START_TEST(test_open_names)
{
	struct cim_info in = { .size = sizeof(in) };
	struct cim_device *d;

	ck_assert_int_eq(cim_device_open(&d, "embedded:seed=0x10,cost=stt-tcam"),
			 0);
	ck_assert_int_eq(cim_device_query(d, &in), 0);
	ck_assert_uint_eq(in.backend, CIM_BACKEND_EMBEDDED);
	ck_assert_uint_eq(in.seed, 16);
	ck_assert_uint_eq(in.cost_preset, CIM_COST_STT_TCAM);
	ck_assert_uint_eq(in.xbar_count, 8);	/* cim-pci's defaults */
	ck_assert_uint_eq(in.max_buffers, 64);
	cim_device_close(d);
	d = NULL;
	ck_assert_int_eq(cim_device_open(&d, "embedded:seed=-1"), -EINVAL);
	ck_assert_int_eq(cim_device_open(&d, "embedded:cost=cheap"), -EINVAL);
	ck_assert_int_eq(cim_device_open(&d, "embedded:noise"), -EINVAL);
	ck_assert_int_eq(cim_device_open(&d, "relative/path"), -EINVAL);
	ck_assert_int_eq(cim_device_open(&d, "/nonexistent/cim9"), -ENOENT);
	ck_assert_int_eq(cim_device_open(&d, "/dev/null"), -ENOTTY);
	ck_assert_int_eq(cim_device_open(NULL, "embedded"), -EINVAL);
	ck_assert_ptr_null(d);
	setenv("CIM_DEVICE", "embedded:seed=7,noise=off,variation=off", 1);
	ck_assert_int_eq(cim_device_open(&d, NULL), 0);
	unsetenv("CIM_DEVICE");
	ck_assert_int_eq(cim_device_query(d, &in), 0);
	ck_assert_uint_eq(in.seed, 7);
	ck_assert_int_eq(cim_device_backend(d), CIM_BACKEND_EMBEDDED);
	cim_device_close(d);
}
END_TEST

START_TEST(test_query_size)
{
	struct cim_info in;

	memset(&in, 0xa5, sizeof(in));
	in.size = 8;
	ck_assert_int_eq(cim_device_query(dev, &in), -EINVAL);
	ck_assert_uint_eq(in.backend, 0xa5a5a5a5u);	/* untouched */
	in.size = sizeof(in) + 64;	/* a newer caller: we fill ours */
	ck_assert_int_eq(cim_device_query(dev, &in), 0);
	ck_assert_uint_eq(in.size, sizeof(in));
	ck_assert_uint_eq(in.xbar_rows, 64);
	ck_assert_uint_eq(in.ap_cols, 128);
	ck_assert_str_eq(in.name, "embedded");
}
END_TEST

START_TEST(test_buffers)
{
	struct cim_buffer *b = NULL;
	struct cim_info in = { .size = sizeof(in) };
	unsigned char *p;
	size_t i;

	cim_device_query(dev, &in);
	ck_assert_int_eq(cim_buffer_alloc(dev, 0, &b), -EINVAL);
	ck_assert_int_eq(cim_buffer_alloc(dev, in.max_buffer_size + 1, &b),
			 -EINVAL);
	ck_assert_int_eq(cim_buffer_alloc(NULL, 8, &b), -EINVAL);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(cim_buffer_alloc(dev, 5000, &b), 0);
	p = cim_buffer_ptr(b);
	ck_assert_uint_eq((uintptr_t)p % 4096, 0);
	ck_assert_uint_eq(cim_buffer_size(b), 5000);
	ck_assert_ptr_eq(cim_buffer_device(b), dev);
	for (i = 0; i < 5000; i++)
		ck_assert_uint_eq(p[i], 0);
	cim_buffer_free(b);
	cim_buffer_free(NULL);
}
END_TEST

/* A command buffer keeps what it names alive; so does the device */
START_TEST(test_lifetime)
{
	struct cim_buffer *f;
	uint64_t v;
	void *p;

	ck_assert_int_eq(cim_buffer_alloc(dev, 8, &f), 0);
	p = cim_buffer_ptr(f);
	ck_assert_int_eq(cim_cmd_fence(cb, f, 0, 0x1122334455667788ull), 0);
	cim_buffer_free(f);
	cim_device_close(dev);	/* the cmdbuf and buffers still hold it */
	ck_assert_int_eq(cim_run(cb, NULL), 0);
	memcpy(&v, p, 8);
	ck_assert_uint_eq(v, 0x1122334455667788ull);
	cim_cmdbuf_destroy(cb);
	cb = NULL;
	ck_assert_int_eq(cim_device_open(&dev, "embedded"), 0);
}
END_TEST

START_TEST(test_reserve)
{
	struct cim_window w = { 0, 0, 4, 0, 4 };

	ck_assert_int_eq(cim_xbar_reserve(dev, 1ull << 2), -EINVAL);
	ck_assert_int_eq(cim_ap_reserve(dev, 0), -EINVAL);
	ck_assert_int_eq(cim_xbar_reserve(dev, 1), 0);	/* held: fine */
	ck_assert_int_eq(cim_xbar_release(dev, 1), 0);
	ck_assert_int_eq(cim_xbar_release(dev, 1), -EINVAL);
	ck_assert_int_eq(cim_cmd_vmm(cb, CIM_VMM_FWD, &w, 1, 0, bx, 0, by, 0),
			 0);
	ck_assert_int_eq(cim_submit(cb, NULL), -EACCES);
	ck_assert_int_eq(cim_xbar_reserve(dev, 1), 0);
	ck_assert_int_eq(cim_submit(cb, NULL), 0);
	ck_assert_int_eq(cim_ap_release(dev, 3), 0);
	cim_cmdbuf_reset(cb);
	ck_assert_int_eq(cim_cmd_ap_read(cb, 1, CIM_AP_READ_REGS, 0, 0, 0, 0,
					 bap, 0), 0);
	ck_assert_int_eq(cim_submit(cb, NULL), -EACCES);
}
END_TEST

#define REFUSED(call, err) do {						\
	size_t len_ = cim_cmdbuf_bytes(cb);				\
	unsigned int n_ = cim_cmdbuf_count(cb);				\
	ck_assert_int_eq((call), (err));				\
	ck_assert_uint_eq(cim_cmdbuf_bytes(cb), len_);			\
	ck_assert_uint_eq(cim_cmdbuf_count(cb), n_);			\
} while (0)

START_TEST(test_builder_checks)
{
	struct cim_window ok = { 1, 4, 8, 2, 6 }, w;
	struct cim_duu_params p = { .batch = 1, .lr = 0.1f, .n_max = 1 };
	struct cim_device *other;
	struct cim_buffer *ob;
	struct cim_ap_prog *prog;

	ck_assert_int_eq(cim_cmd_nop(cb), 0);
	/* windows */
	w = ok; w.xbar = 2;
	REFUSED(cim_cmd_vmm(cb, CIM_VMM_FWD, &w, 1, 0, bx, 0, by, 0), -EINVAL);
	w = ok; w.nrows = 0;
	REFUSED(cim_cmd_vmm(cb, CIM_VMM_FWD, &w, 1, 0, bx, 0, by, 0), -EINVAL);
	w = ok; w.row = 60;
	REFUSED(cim_cmd_vmm(cb, CIM_VMM_FWD, &w, 1, 0, bx, 0, by, 0), -EINVAL);
	w = ok; w.col = 43;
	REFUSED(cim_cmd_xbar_read(cb, &w, CIM_READ_F_WEIGHTS, by, 0), -EINVAL);
	REFUSED(cim_cmd_vmm(cb, CIM_VMM_FWD, NULL, 1, 0, bx, 0, by, 0), -EINVAL);
	/* vmm values, directions, alignment, ranges */
	REFUSED(cim_cmd_vmm(cb, 2, &ok, 1, 0, bx, 0, by, 0), -EINVAL);
	REFUSED(cim_cmd_vmm(cb, CIM_VMM_FWD, &ok, 0, 0, bx, 0, by, 0), -EINVAL);
	REFUSED(cim_cmd_vmm(cb, CIM_VMM_FWD, &ok, 1025, 0, bx, 0, by, 0),
		-EINVAL);
	REFUSED(cim_cmd_vmm(cb, CIM_VMM_FWD, &ok, 1, -1.0f, bx, 0, by, 0),
		-EINVAL);
	REFUSED(cim_cmd_vmm(cb, CIM_VMM_FWD, &ok, 1, NAN, bx, 0, by, 0),
		-EINVAL);
	REFUSED(cim_cmd_vmm(cb, CIM_VMM_FWD, &ok, 1, 0, bx, 2, by, 0), -EINVAL);
	REFUSED(cim_cmd_vmm(cb, CIM_VMM_FWD, &ok, 1, 0, bx,
			    16 * 64 * 4 - 28, by, 0), -EINVAL);
	REFUSED(cim_cmd_vmm(cb, CIM_VMM_FWD, &ok, 1, 0, NULL, 0, by, 0),
		-EINVAL);
	REFUSED(cim_cmd_vmm(cb, CIM_VMM_TRANS, &ok, 129, 0, bx, 0, by, 0),
		-EINVAL);
	/* a buffer of another device */
	ck_assert_int_eq(cim_device_open(&other, "embedded"), 0);
	ck_assert_int_eq(cim_buffer_alloc(other, 4096, &ob), 0);
	REFUSED(cim_cmd_vmm(cb, CIM_VMM_FWD, &ok, 1, 0, ob, 0, by, 0), -EINVAL);
	REFUSED(cim_cmd_fence(cb, ob, 0, 1), -EINVAL);
	cim_buffer_free(ob);
	cim_device_close(other);
	/* program, read, fence */
	REFUSED(cim_cmd_xbar_program(cb, &ok, bw, 0, 0, 0.5f, NULL, 0),
		-EINVAL);
	REFUSED(cim_cmd_xbar_program(cb, &ok, bw, 0, 65, 0.5f, NULL, 0),
		-EINVAL);
	REFUSED(cim_cmd_xbar_program(cb, &ok, bw, 0, 8, 0.0f, NULL, 0),
		-EINVAL);
	REFUSED(cim_cmd_xbar_program(cb, &ok, bw, 0, 8, 9.0f, NULL, 0),
		-EINVAL);
	REFUSED(cim_cmd_xbar_program(cb, &ok, bw, 0, 8, 0.5f, bd, 4), -EINVAL);
	REFUSED(cim_cmd_xbar_read(cb, &ok, 2, by, 0), -EINVAL);
	REFUSED(cim_cmd_fence(cb, by, 4, 1), -EINVAL);
	REFUSED(cim_cmd_fence(cb, bap, 256 * 8, 1), -EINVAL);
	/* duu */
	p.lr = -1.0f;
	REFUSED(cim_cmd_duu_update(cb, &ok, &p, bx, 0, bd, 0, NULL, 0), -EINVAL);
	p.lr = INFINITY;
	REFUSED(cim_cmd_duu_update(cb, &ok, &p, bx, 0, bd, 0, NULL, 0), -EINVAL);
	p.lr = 0.1f; p.n_max = 256;
	REFUSED(cim_cmd_duu_update(cb, &ok, &p, bx, 0, bd, 0, NULL, 0), -EINVAL);
	p.n_max = 1; p.flags = CIM_DUU_F_REPORT;
	REFUSED(cim_cmd_duu_update(cb, &ok, &p, bx, 0, bd, 0, NULL, 0), -EINVAL);
	/* an identity x: one vector per window row, and no x buffer */
	p.flags = CIM_DUU_F_X_IDENTITY; p.batch = ok.nrows;
	REFUSED(cim_cmd_duu_update(cb, &ok, &p, bx, 0, bd, 0, NULL, 0), -EINVAL);
	p.batch = ok.nrows - 1;
	REFUSED(cim_cmd_duu_update(cb, &ok, &p, NULL, 0, bd, 0, NULL, 0),
		-EINVAL);
	p.flags = 0; p.batch = 0;
	REFUSED(cim_cmd_duu_update(cb, &ok, &p, bx, 0, bd, 0, NULL, 0), -EINVAL);
	REFUSED(cim_cmd_duu_update(cb, &ok, NULL, bx, 0, bd, 0, NULL, 0),
		-EINVAL);
	ck_assert_int_eq(cim_cmd_duu_update(cb, &ok, &p, NULL, 0, NULL, 0,
					    NULL, 0), 0);
	/* ap */
	REFUSED(cim_cmd_ap_load_rows(cb, 2, 0, 1, 0, 64, bap, 0), -EINVAL);
	REFUSED(cim_cmd_ap_load_rows(cb, 0, 0, 1, 0, 65, bap, 0), -EINVAL);
	REFUSED(cim_cmd_ap_load_rows(cb, 0, 250, 7, 0, 8, bap, 0), -EINVAL);
	REFUSED(cim_cmd_ap_load_rows(cb, 0, 0, 1, 100, 29, bap, 0), -EINVAL);
	REFUSED(cim_cmd_ap_load_rows(cb, 0, 0, 1, 0, 8, bap, 4), -EINVAL);
	REFUSED(cim_cmd_ap_read(cb, 0, CIM_AP_READ_TAGS, 0, 64, 0, 1, bap, 0),
		-EINVAL);
	REFUSED(cim_cmd_ap_read(cb, 0, CIM_AP_READ_REGS, 1, 0, 0, 0, bap, 0),
		-EINVAL);
	REFUSED(cim_cmd_ap_read(cb, 0, 3, 0, 1, 0, 1, bap, 0), -EINVAL);
	ck_assert_int_eq(cim_ap_prog_create(&prog), 0);
	REFUSED(cim_cmd_ap_program(cb, 0, prog), -EINVAL);	/* empty */
	ck_assert_int_eq(cim_ap_prog_write(prog), 0);
	REFUSED(cim_cmd_ap_program(cb, 2, prog), -EINVAL);
	ck_assert_int_eq(cim_cmd_ap_program(cb, 0, prog), 0);
	cim_ap_prog_destroy(prog);
	REFUSED(cim_cmd_counters_read(cb, bap, 4), -EINVAL);
	REFUSED(cim_cmd_counters_read(cb, bd, 16 * 48 * 4 - 8), -EINVAL);
	ck_assert_uint_eq(cim_cmdbuf_count(cb), 3);
	ck_assert_int_eq(cim_run(cb, NULL), 0);
	cim_cmdbuf_reset(cb);
	REFUSED(cim_submit(cb, NULL), -EINVAL);	/* empty */
}
END_TEST

/* ABI 1.2: IDLE and XBAR_PROGRAM's tolerance in uS and residual report */
START_TEST(test_builder_abi12)
{
	struct cim_window ok = { 1, 4, 8, 2, 6 };
	struct cim_program_params p = {
		.size = sizeof(p), .flags = CIM_PROGRAM_F_TOL_US,
		.max_iters = 8, .tolerance = 1.5f,
	};
	const struct cim_pkt_xbar_program *pk;
	const struct cim_pkt_idle *idle;
	struct cim_program_params q;

	REFUSED(cim_cmd_idle(cb, 0), -EINVAL);
	REFUSED(cim_cmd_idle(cb, CIM_MAX_IDLE_NS + 1), -EINVAL);
	REFUSED(cim_cmd_idle(NULL, 1), -EINVAL);
	ck_assert_int_eq(cim_cmd_idle(cb, CIM_MAX_IDLE_NS), 0);
	idle = cim_cmdbuf_data(cb);
	ck_assert_uint_eq(idle->hdr.opcode, CIM_OP_IDLE);
	ck_assert_uint_eq(idle->hdr.size, sizeof(*idle));
	ck_assert_uint_eq(idle->ns, CIM_MAX_IDLE_NS);
	cim_cmdbuf_reset(cb);

	/* sizes, flags, ranges: in levels (0, 8], in uS (0, 100] */
	q = p; q.size = sizeof(q) - 4;
	REFUSED(cim_cmd_xbar_program2(cb, &ok, &q, bw, 0, NULL, 0), -EINVAL);
	q = p; q.flags |= CIM_PROGRAM_F_REPORT;
	REFUSED(cim_cmd_xbar_program2(cb, &ok, &q, bw, 0, bd, 0), -EINVAL);
	q = p; q.flags = 1u << 3;
	REFUSED(cim_cmd_xbar_program2(cb, &ok, &q, bw, 0, NULL, 0), -EINVAL);
	q = p; q.tolerance = CIM_PROGRAM_MAX_TOL_US * 1.01f;
	REFUSED(cim_cmd_xbar_program2(cb, &ok, &q, bw, 0, NULL, 0), -EINVAL);
	q.tolerance = NAN;
	REFUSED(cim_cmd_xbar_program2(cb, &ok, &q, bw, 0, NULL, 0), -EINVAL);
	q.tolerance = 0.0f;
	REFUSED(cim_cmd_xbar_program2(cb, &ok, &q, bw, 0, NULL, 0), -EINVAL);
	q = p; q.flags = 0; q.tolerance = 9.0f;
	REFUSED(cim_cmd_xbar_program2(cb, &ok, &q, bw, 0, NULL, 0), -EINVAL);
	q = p; q.max_iters = 65;
	REFUSED(cim_cmd_xbar_program2(cb, &ok, &q, bw, 0, NULL, 0), -EINVAL);
	REFUSED(cim_cmd_xbar_program2(cb, &ok, NULL, bw, 0, NULL, 0), -EINVAL);
	/* the residual report needs its buffer, and all of its bytes */
	q = p; q.flags |= CIM_PROGRAM_F_RESIDUAL;
	REFUSED(cim_cmd_xbar_program2(cb, &ok, &q, bw, 0, NULL, 0), -EINVAL);
	REFUSED(cim_cmd_xbar_program2(cb, &ok, &q, bw, 0, bap,
				      256 * 8 - sizeof(struct cim_program_report)),
		-EINVAL);
	ck_assert_int_eq(cim_cmd_xbar_program2(cb, &ok, &q, bw, 0, bap,
					       256 * 8 -
					       sizeof(struct cim_program_residual)),
			 0);
	pk = cim_cmdbuf_data(cb);
	ck_assert_uint_eq(pk->hdr.flags,
			  CIM_PROGRAM_F_TOL_US | CIM_PROGRAM_F_RESIDUAL);
	ck_assert_uint_eq(pk->max_iters, 8);
	/* a report buffer alone asks for the plain report */
	ck_assert_int_eq(cim_cmd_xbar_program2(cb, &ok, &p, bw, 0, bap, 0), 0);
	ck_assert_uint_eq(pk[1].hdr.flags,
			  CIM_PROGRAM_F_TOL_US | CIM_PROGRAM_F_REPORT);
	/* cim_cmd_xbar_program() is program2 without flags */
	ck_assert_int_eq(cim_cmd_xbar_program(cb, &ok, bw, 0, 8, 0.5f, bap, 0),
			 0);
	ck_assert_uint_eq(pk[2].hdr.flags, CIM_PROGRAM_F_REPORT);
	ck_assert_uint_eq(cim_cmdbuf_count(cb), 3);

	/* a device of ABI 1.1 knows none of it */
	dev->info.hw_version = 1u << 16 | 1u;
	REFUSED(cim_cmd_idle(cb, 1), -EOPNOTSUPP);
	REFUSED(cim_cmd_xbar_program2(cb, &ok, &p, bw, 0, NULL, 0),
		-EOPNOTSUPP);
	q = p; q.flags = CIM_PROGRAM_F_RESIDUAL; q.tolerance = 0.5f;
	REFUSED(cim_cmd_xbar_program2(cb, &ok, &q, bw, 0, bap, 0),
		-EOPNOTSUPP);
	q.flags = 0;
	ck_assert_int_eq(cim_cmd_xbar_program2(cb, &ok, &q, bw, 0, bap, 0), 0);
	ck_assert_str_eq(cim_err_name(-EOPNOTSUPP), "EOPNOTSUPP");
}
END_TEST

START_TEST(test_builder_limits)
{
	struct cim_buffer *b[65];
	unsigned int i;

	for (i = 0; i < 65; i++)
		ck_assert_int_eq(cim_buffer_alloc(dev, 8, &b[i]), 0);
	for (i = 0; i < 64; i++)
		ck_assert_int_eq(cim_cmd_fence(cb, b[i], 0, i), 0);
	ck_assert_int_eq(cim_cmd_fence(cb, b[3], 0, 3), 0);	/* listed */
	REFUSED(cim_cmd_fence(cb, b[64], 0, 64), -ENOSPC);
	for (i = 0; i < 65; i++)
		cim_buffer_free(b[i]);
	ck_assert_int_eq(cim_run(cb, NULL), 0);
	cim_cmdbuf_reset(cb);
	while (cim_cmdbuf_bytes(cb) < CIM_MAX_CMDBUF)
		ck_assert_int_eq(cim_cmd_nop(cb), 0);
	REFUSED(cim_cmd_nop(cb), -ENOSPC);
}
END_TEST

START_TEST(test_ap_prog_checks)
{
	struct cim_ap_prog *p;
	const struct cim_ap_inst *in;

	ck_assert_int_eq(cim_ap_prog_create(&p), 0);
	ck_assert_int_eq(cim_ap_prog_km_set(p, 4096, 0), -EINVAL);
	ck_assert_int_eq(cim_ap_prog_km_set(p, 0, 2), -EINVAL);
	ck_assert_int_eq(cim_ap_prog_compare(p, 4), -EINVAL);
	ck_assert_int_eq(cim_ap_prog_tagop(p, 7), -EINVAL);
	ck_assert_int_eq(cim_ap_prog_tagcount(p, 16), -EINVAL);
	ck_assert_int_eq(cim_ap_prog_firsttag(p, 16), -EINVAL);
	ck_assert_int_eq(cim_ap_prog_add(p, 0, 9, 8, 8, 20, 0, 0), -EINVAL);
	ck_assert_int_eq(cim_ap_prog_add(p, 0, 8, 4, 8, 20, 0, 0), -EINVAL);
	ck_assert_int_eq(cim_ap_prog_add(p, 0, 8, 8, 8, 20, 3, 0), -EINVAL);
	ck_assert_int_eq(cim_ap_prog_add(p, 0, 8, 8, 8, 20, 0, 8), -EINVAL);
	ck_assert_int_eq(cim_ap_prog_relu(p, 0, 65), -EINVAL);
	ck_assert_int_eq(cim_ap_prog_max(p, 0, 8, 16), -EINVAL);
	ck_assert_int_eq(cim_ap_prog_requant(p, 0, 8, 8, 8, 4, 12), -EINVAL);
	ck_assert_int_eq(cim_ap_prog_requant(p, 0, 8, 2, 8, 17, 30), -EINVAL);
	ck_assert_int_eq(cim_ap_prog_copy(p, 0, 8, 4), -EINVAL);
	ck_assert_int_eq(cim_ap_prog_clear(p, 4090, 8), -EINVAL);
	ck_assert_int_eq(cim_ap_prog_shift(p, 0, 300), -EINVAL);
	ck_assert_int_eq(cim_ap_prog_km_field(p, 0, 0, 0), -EINVAL);
	ck_assert_uint_eq(cim_ap_prog_count(p), 0);
	/* 10 pairs: a full KM_SET and one of 3 */
	ck_assert_int_eq(cim_ap_prog_km_clear(p), 0);
	ck_assert_int_eq(cim_ap_prog_km_field(p, 100, 10, 0x2a5), 0);
	ck_assert_uint_eq(cim_ap_prog_count(p), 3);
	in = cim_ap_prog_insts(p);
	ck_assert_uint_eq(in[1].op, CIM_AP_KM_SET);
	ck_assert_uint_eq(in[1].arg, 7);
	ck_assert_uint_eq(in[1].w[0], 100 | CIM_AP_KM_BIT);
	ck_assert_uint_eq(in[1].w[1], 101);
	ck_assert_uint_eq(in[2].arg, 3);
	ck_assert_uint_eq(in[2].w[2], 109 | CIM_AP_KM_BIT);
	ck_assert_int_eq(cim_ap_prog_shift(p, 1, -3), 0);
	ck_assert_uint_eq(cim_ap_prog_insts(p)[3].w[1], 0xfffd);
	cim_ap_prog_reset(p);
	ck_assert_uint_eq(cim_ap_prog_count(p), 0);
	cim_ap_prog_destroy(p);
}
END_TEST

/*
 * The same work through libcim and through cimfw_execute() with packets
 * built by hand: program, forward and transposed VMM, a DUU update, then
 * an AP load, add and read. Every output bit and the energy must agree.
 */
START_TEST(test_vs_model)
{
	const struct cim_window win = { 1, 0, 64, 0, 48 };
	struct cim_duu_params dp = { .batch = 4, .lr = 0.5f, .n_max = 8 };
	struct cim_job_result res;
	struct cim_pkt_xbar_program *pp;
	struct cim_pkt_vmm *pv;
	struct cim_pkt_xbar_read *prd;
	struct cim_pkt_duu_update *pu;
	struct cim_pkt_ap_rows *pr;
	struct cim_pkt_ap_program *pa;
	struct cim_job_completion done;
	struct cim_ap_prog *prog;
	struct testmem mem;
	struct cmdbuf *hb;
	struct cimfw *fw;
	uint64_t m_w, m_x, m_y, m_y2, m_d, m_ap, m_out;
	float *w, *x, *d, *mx;
	uint64_t *rows;
	unsigned int i;

	w = cim_buffer_ptr(bw);
	x = cim_buffer_ptr(bx);
	d = cim_buffer_ptr(bd);
	rows = cim_buffer_ptr(bap);
	fill(w, 64 * 48, 0.9f, 0);
	fill(x, 4 * 64, 1.0f, 3);
	fill(d, 4 * 48, 0.2f, 7);
	for (i = 0; i < 64; i++)
		rows[i] = (uint64_t)i * 0x01010101u;

	/* libcim: outputs in bw after the weights, bx after x, bap 64.. */
	ck_assert_int_eq(cim_cmd_xbar_program(cb, &win, bw, 0, 16, 0.5f, NULL,
					      0), 0);
	ck_assert_int_eq(cim_cmd_vmm(cb, CIM_VMM_FWD, &win, 4, 0, bx, 0, by,
				     0), 0);
	ck_assert_int_eq(cim_cmd_vmm(cb, CIM_VMM_TRANS, &win, 2, 3.0f, bd, 0,
				     bx, 4 * 64 * 4), 0);
	ck_assert_int_eq(cim_cmd_duu_update(cb, &win, &dp, bx, 0, bd, 0, NULL,
					    0), 0);
	ck_assert_int_eq(cim_cmd_xbar_read(cb, &win, CIM_READ_F_WEIGHTS, bw, 0),
			 0);
	ck_assert_int_eq(cim_cmd_ap_load_rows(cb, 0, 0, 64, 0, 32, bap, 0), 0);
	ck_assert_int_eq(cim_ap_prog_create(&prog), 0);
	ck_assert_int_eq(cim_ap_prog_tagop(prog, CIM_AP_TAG_SETALL), 0);
	ck_assert_int_eq(cim_ap_prog_add(prog, 0, 8, 8, 8, 40, 0, 0), 0);
	ck_assert_int_eq(cim_ap_prog_relu(prog, 8, 8), 0);
	ck_assert_int_eq(cim_ap_prog_max(prog, 8, 8, 3), 0);
	ck_assert_int_eq(cim_cmd_ap_program(cb, 0, prog), 0);
	ck_assert_int_eq(cim_cmd_ap_read(cb, 0, CIM_AP_READ_ROWS, 0, 64, 0, 32,
					 bap, 64 * 8), 0);
	ck_assert_int_eq(cim_cmd_ap_read(cb, 0, CIM_AP_READ_REGS, 0, 0, 0, 0,
					 bap, 128 * 8), 0);

	/* the model, by hand, in the same order */
	ck_assert_int_eq(cimfw_create(&cfg, &fw), 0);
	testmem_init(&mem);
	hb = calloc(1, sizeof(*hb));
	m_w = testmem_alloc(&mem, 64 * 48 * 4, NULL);
	m_x = testmem_alloc(&mem, 16 * 64 * 4, NULL);
	m_y = testmem_alloc(&mem, 16 * 64 * 4, NULL);
	m_d = testmem_alloc(&mem, 16 * 48 * 4, NULL);
	m_ap = testmem_alloc(&mem, 256 * 8, NULL);
	m_y2 = m_x + 4 * 64 * 4;
	m_out = m_ap + 64 * 8;
	memcpy(testmem_ptr(&mem, m_w), w, 64 * 48 * 4);
	memcpy(testmem_ptr(&mem, m_x), x, 16 * 64 * 4);
	memcpy(testmem_ptr(&mem, m_d), d, 16 * 48 * 4);
	memcpy(testmem_ptr(&mem, m_ap), rows, 256 * 8);
	pp = cmdbuf_add(hb, CIM_OP_XBAR_PROGRAM, 0, sizeof(*pp));
	pp->win = (struct cim_pkt_xbar_window) { 1, 0, 64, 0, 48 };
	pp->max_iters = 16;
	pp->tolerance_f32 = f32_bits(0.5f);
	pp->src = m_w;
	pv = cmdbuf_add(hb, CIM_OP_VMM_FWD, 0, sizeof(*pv));
	pv->win = pp->win;
	pv->batch = 4;
	pv->x = m_x;
	pv->y = m_y;
	pv = cmdbuf_add(hb, CIM_OP_VMM_TRANS, CIM_VMM_F_ADC_FIXED, sizeof(*pv));
	pv->win = pp->win;
	pv->batch = 2;
	pv->adc_range_f32 = f32_bits(3.0f);
	pv->x = m_d;
	pv->y = m_y2;
	pu = cmdbuf_add(hb, CIM_OP_DUU_UPDATE, 0, sizeof(*pu));
	pu->win = pp->win;
	pu->batch = 4;
	pu->lr_f32 = f32_bits(0.5f);
	pu->n_max = 8;
	pu->x = m_x;
	pu->d = m_d;
	prd = cmdbuf_add(hb, CIM_OP_XBAR_READ, CIM_READ_F_WEIGHTS,
			 sizeof(*prd));
	prd->win = pp->win;
	prd->dst = m_w;
	pr = cmdbuf_add(hb, CIM_OP_AP_LOAD_ROWS, 0, sizeof(*pr));
	pr->nrows = 64;
	pr->ncols = 32;
	pr->addr = m_ap;
	pa = cmdbuf_add(hb, CIM_OP_AP_PROGRAM, 0, 16 + 16 * 4);
	pa->ninst = 4;
	memcpy(pa->inst, cim_ap_prog_insts(prog), 4 * 16);
	pr = cmdbuf_add(hb, CIM_OP_AP_READ, 0, sizeof(*pr));
	pr->nrows = 64;
	pr->ncols = 32;
	pr->addr = m_out;
	pr = cmdbuf_add(hb, CIM_OP_AP_READ, 0, sizeof(*pr));
	pr->what = CIM_AP_READ_REGS;
	pr->addr = m_ap + 128 * 8;
	ck_assert_int_eq(cmdbuf_run(fw, hb, &mem, &done), CIM_ST_OK);

	ck_assert_int_eq(cim_run(cb, &res), 0);
	ck_assert_uint_eq(res.status, CIM_ST_OK);
	ck_assert_uint_eq(res.cmds_done, 9);
	ck_assert_uint_eq(res.cmds_done, done.cmds_done);
	ck_assert_uint_eq(res.energy_fj, done.energy_fj);
	ck_assert_uint_eq(res.device_time_ps, done.device_time_ps);
	ck_assert_uint_gt(res.energy_fj, 0);
	ck_assert_mem_eq(cim_buffer_ptr(by), testmem_ptr(&mem, m_y), 4 * 48 * 4);
	mx = cim_buffer_ptr(bx);
	ck_assert_mem_eq(mx + 4 * 64, testmem_ptr(&mem, m_y2), 2 * 64 * 4);
	ck_assert_mem_eq(w, testmem_ptr(&mem, m_w), 64 * 48 * 4);
	ck_assert_mem_eq(rows, testmem_ptr(&mem, m_ap), 256 * 8);
	/* not a vacuous comparison: the outputs moved */
	ck_assert(((float *)cim_buffer_ptr(by))[0] != 0.0f);
	ck_assert_uint_ne(rows[64 + 5], rows[5]);
	cim_ap_prog_destroy(prog);
	free(hb);
	testmem_fini(&mem);
	cimfw_destroy(fw);
}
END_TEST

/* A device error: the job's result names the packet and field */
START_TEST(test_job_error)
{
	struct cim_window win = { 0, 0, 4, 0, 4 };
	struct cim_job_result res;
	struct cim_job *job;
	float *x = cim_buffer_ptr(bx);

	ck_assert_int_eq(cim_cmd_nop(cb), 0);
	ck_assert_int_eq(cim_cmd_xbar_program(cb, &win, bx, 0, 8, 0.5f, NULL,
					      0), 0);
	x[5] = 2.0f;	/* outside [-1, 1]: the device refuses it */
	ck_assert_int_eq(cim_submit(cb, &job), 0);
	ck_assert_int_eq(cim_job_wait(job, 0), -EINVAL);
	ck_assert_int_eq(cim_job_result(job, &res), 0);
	ck_assert_uint_eq(res.status, CIM_ST_BAD_VALUE);
	ck_assert_int_eq(res.error, -EINVAL);
	ck_assert_uint_eq(res.cmds_done, 1);
	ck_assert_uint_eq(res.error_cmd, 1);
	ck_assert_uint_eq(res.error_offset, 8);
	cim_job_release(job);
}
END_TEST

START_TEST(test_fences)
{
	struct cim_job *a, *b;
	struct pollfd p;
	int fa, fb, m, m2, pfd[2];
	uint64_t *v;

	ck_assert_int_eq(cim_cmd_fence(cb, bap, 8, 77), 0);
	ck_assert_int_eq(cim_submit(cb, &a), 0);
	ck_assert_int_eq(cim_submit(cb, &b), 0);
	fa = cim_job_fence_fd(a);
	fb = cim_job_fence_fd(b);
	ck_assert_int_ge(fa, 0);
	p = (struct pollfd) { .fd = fa, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, 0), 1);
	ck_assert_int_eq(cim_fence_wait(fa, 0), 0);
	ck_assert_int_eq(cim_fence_wait(-1, 0), -EINVAL);
	m = cim_fence_merge(fa, fb);
	ck_assert_int_ge(m, 0);
	ck_assert_int_eq(cim_fence_wait(m, 100), 0);
	ck_assert_int_eq(cim_fence_merge(fa, -1), -EINVAL);
	ck_assert_int_eq(cim_job_wait(a, -1), 0);
	ck_assert_int_eq(cim_job_wait_until(b, 0), 0);
	v = cim_buffer_ptr(bap);
	ck_assert_uint_eq(v[1], 77);
	/* a pending fd merged with a signalled one is the pending one */
	ck_assert_int_eq(pipe(pfd), 0);
	m2 = cim_fence_merge(pfd[0], m);
	ck_assert_int_ge(m2, 0);
	ck_assert_int_eq(cim_fence_wait(m2, 0), -ETIME);
	close(m2);
	close(pfd[0]);
	close(pfd[1]);
	close(m);
	cim_job_release(a);
	cim_job_release(b);
	ck_assert_int_eq(cim_job_fence_fd(NULL), -EINVAL);
	ck_assert_int_eq(cim_job_wait(NULL, 0), -EINVAL);
}
END_TEST

START_TEST(test_reset)
{
	struct cim_window win = { 0, 0, 4, 0, 4 };
	struct cim_counters c;
	float *y = cim_buffer_ptr(by);

	ck_assert_int_eq(cim_device_check(dev), 0);
	fill(cim_buffer_ptr(bw), 16, 0.8f, 1);
	fill(cim_buffer_ptr(bx), 4, 1.0f, 2);
	ck_assert_int_eq(cim_cmd_xbar_program(cb, &win, bw, 0, 8, 0.5f, NULL,
					      0), 0);
	ck_assert_int_eq(cim_cmd_vmm(cb, CIM_VMM_FWD, &win, 1, 0, bx, 0, by,
				     0), 0);
	ck_assert_int_eq(cim_run(cb, NULL), 0);
	ck_assert_int_eq(cim_device_counters(dev, &c), 0);
	ck_assert_uint_eq(c.vmm_fwd, 1);
	/* the run, after the SCRUB jobs of the fixture's two reservations */
	ck_assert_uint_eq(c.jobs, 3);
	ck_assert(y[0] != 0.0f);
	ck_assert_int_eq(cim_device_reset(dev), 0);
	ck_assert_int_eq(cim_submit(cb, NULL), -ECANCELED);
	ck_assert_int_eq(cim_device_counters(dev, &c), -ECANCELED);
	ck_assert_int_eq(cim_device_check(dev), -ECANCELED);
	ck_assert_int_eq(cim_device_check(dev), 0);
	ck_assert_int_eq(cim_device_counters(dev, &c), 0);
	ck_assert_uint_eq(c.vmm_fwd, 0);
	ck_assert_uint_eq(c.size, sizeof(c));
}
END_TEST

/* A twin computes the same bits, from the same seed */
START_TEST(test_twin)
{
	const struct cim_window win = { 0, 0, 64, 0, 48 };
	struct cim_device *t;
	struct cim_buffer *tw, *tx, *ty;
	struct cim_cmdbuf *tcb;

	fill(cim_buffer_ptr(bw), 64 * 48, 0.7f, 5);
	fill(cim_buffer_ptr(bx), 8 * 64, 1.0f, 9);
	ck_assert_int_eq(cim_device_open_twin(&t, dev), 0);
	ck_assert_int_eq(cim_xbar_reserve(t, 1), 0);
	ck_assert_int_eq(cim_cmdbuf_create(t, &tcb), 0);
	ck_assert_int_eq(cim_buffer_alloc(t, 64 * 48 * 4, &tw), 0);
	ck_assert_int_eq(cim_buffer_alloc(t, 8 * 64 * 4, &tx), 0);
	ck_assert_int_eq(cim_buffer_alloc(t, 8 * 48 * 4, &ty), 0);
	memcpy(cim_buffer_ptr(tw), cim_buffer_ptr(bw), 64 * 48 * 4);
	memcpy(cim_buffer_ptr(tx), cim_buffer_ptr(bx), 8 * 64 * 4);
	ck_assert_int_eq(cim_cmd_xbar_program(cb, &win, bw, 0, 8, 0.5f, NULL,
					      0), 0);
	ck_assert_int_eq(cim_cmd_vmm(cb, CIM_VMM_FWD, &win, 8, 0, bx, 0, by,
				     0), 0);
	ck_assert_int_eq(cim_cmd_xbar_program(tcb, &win, tw, 0, 8, 0.5f, NULL,
					      0), 0);
	ck_assert_int_eq(cim_cmd_vmm(tcb, CIM_VMM_FWD, &win, 8, 0, tx, 0, ty,
				     0), 0);
	ck_assert_int_eq(cim_run(cb, NULL), 0);
	ck_assert_int_eq(cim_run(tcb, NULL), 0);
	ck_assert_mem_eq(cim_buffer_ptr(by), cim_buffer_ptr(ty), 8 * 48 * 4);
	cim_buffer_free(tw);
	cim_buffer_free(tx);
	cim_buffer_free(ty);
	cim_cmdbuf_destroy(tcb);
	cim_device_close(t);
}
END_TEST

Suite *runtime_suite(void)
{
	Suite *s = suite_create("runtime");
	TCase *plain = tcase_create("plain");
	TCase *tc = tcase_create("embedded");

	tcase_add_test(plain, test_errors);
	tcase_add_test(plain, test_open_names);
	tcase_add_test(plain, test_ap_prog_checks);
	suite_add_tcase(s, plain);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_query_size);
	tcase_add_test(tc, test_buffers);
	tcase_add_test(tc, test_lifetime);
	tcase_add_test(tc, test_reserve);
	tcase_add_test(tc, test_builder_checks);
	tcase_add_test(tc, test_builder_abi12);
	tcase_add_test(tc, test_builder_limits);
	tcase_add_test(tc, test_vs_model);
	tcase_add_test(tc, test_job_error);
	tcase_add_test(tc, test_fences);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_twin);
	suite_add_tcase(s, tc);
	return s;
}
