// SPDX-License-Identifier: GPL-2.0-only
/*
 * cim_fuzz: a uAPI-aware fuzzer of /dev/cimN, run in the test VM.
 *
 * Several threads, each with several open files spread over every
 * /dev/cimN, run seeded random sequences of open, BO_CREATE, mmap, munmap,
 * BO_DESTROY, reserve/release, QUERY, SUBMIT (valid packets of every opcode
 * with CIM_REF references, and mutated ones), WAIT (timeout_ns 0, 1, now,
 * ~0, INT64_MAX...), poll() on sync_file fds and close (with jobs in
 * flight). Next to them: a thread that flips bytes of a command buffer
 * while another submits it, a pair that races BO_CREATE (copy-out into
 * read-only memory) against BO_DESTROY, mmap and close of the same file,
 * and a thread that interrupts the others with signals.
 *
 * It checks that
 *   - every ioctl and mmap returns 0 or an errno Documentation/uapi.rst
 *     documents for it (table errno_ok() below); WAIT with a deadline that
 *     never passes (~0, INT64_MAX) never gives ETIME;
 *   - valid jobs end with CIM_ST_OK and their cheap references hold: a
 *     FENCE's value is written, NOP and every packet counted, VMM outputs
 *     and read-back weights finite, AP rows read back as loaded, the
 *     counters' size field set, DUU reports sane;
 *   - every job ends (a fence fd polls ready, a WAIT returns) in time;
 *   - no file sees another file's data: new buffers are zero, buffers no
 *     job may write keep their pattern, outputs never hold another file's
 *     tag, and a newly reserved AP holds none of a previous owner's rows
 *     (the driver scrubs units that change hands, on a device with
 *     CIM_CAPS_SCRUB; # TODO on one without);
 *   - afterwards both devices still run a job, no job is left in flight
 *     and no file is left in debugfs bo_list.
 *
 * Output: TAP. The seed is printed. Thread k draws from seed + k; its
 * choices also follow results that other threads influence, so only
 * --seed S --threads 1 --no-race --iterations N replays a sequence
 * exactly. --log-ops prints every operation.
 *
 * usage: cim_fuzz [--seed N] [--iterations N | --time S] [--threads N]
 *                 [--files N] [--no-race] [--log-ops]
 * Environment (what /init hands on from the kernel command line; options
 * win): CIM_FUZZ_SEED (a number or "random"), CIM_FUZZ_TIME,
 * CIM_FUZZ_THREADS, CIM_FUZZ_FILES, CIM_FUZZ_ITERATIONS, CIM_FUZZ_RACE=0,
 * CIM_FUZZ_LOG_OPS=1.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cim_hw.h"
#include "uapi/misc/cim.h"

#include "cim_stress.h"

#define PAGE		4096u
#define MAX_DEVS	8
#define MAX_FILES	8
#define MAX_BOS		24
#define MAX_PENDING	48
#define CMD_SIZE	(16 * PAGE)
#define SCRATCH_SIZE	(16 * PAGE)
#define INPUT_SIZE	(8 * PAGE)
/* The tag of a file's pattern words: a NaN as binary32, never a result */
#define MAGIC		0x7fc15eedu
#define WAIT_MS		20000

/* Options ------------------------------------------------------------------ */

static uint64_t opt_seed;
static long opt_iterations;
static double opt_time = 60;
static int opt_threads = 4;
static int opt_files = 3;
static int opt_race = 1;
static int opt_log;

/* Devices ------------------------------------------------------------------ */

struct dev {
	int index;
	struct cim_device_info info;
};

static struct dev devs[MAX_DEVS];
static int ndevs;

/* Results ------------------------------------------------------------------ */

enum check {
	C_ERRNO,	/* undocumented errno */
	C_RESULT,	/* a valid job's result differs from the reference */
	C_LOST,		/* a job that did not end */
	C_ISOLATION,	/* another file's data seen */
	C_SCRUB,	/* an AP handed over with its previous owner's rows */
	C_CLOSE,	/* close with jobs in flight: fences, mappings */
	C_RACE,		/* the race threads */
	C_NCHECKS
};

static const char *check_name[C_NCHECKS] = {
	"every ioctl gives 0 or a documented errno",
	"valid jobs match their references",
	"every job ends",
	"no file sees another file's data",
	"units handed to a new owner hold none of the old owner's data",
	"closing files with jobs in flight",
	"mutate-while-submit and create/destroy/close races",
};

static atomic_long fails[C_NCHECKS];
static atomic_long n_ioctls, n_jobs, n_valid_ok, n_mutated, n_mut_accepted,
	n_enomem, n_eintr, n_closes_inflight, n_scrub_seen, n_scrub_checked;
static atomic_int stop;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

/* Per-thread state, for the messages */
struct thr;
static __thread struct thr *cur;

static void fail(enum check c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* RNG: splitmix64 seeding, xorshift64* ------------------------------------ */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* [0, n) */
static uint32_t below(uint64_t *s, uint32_t n)
{
	return n ? (uint32_t)((rnd(s) >> 11) % n) : 0;
}

/* [lo, hi] */
static uint32_t range(uint64_t *s, uint32_t lo, uint32_t hi)
{
	return lo + below(s, hi - lo + 1);
}

static int chance(uint64_t *s, unsigned int percent)
{
	return below(s, 100) < percent;
}

static float frand(uint64_t *s)
{
	return (float)((int)below(s, 2001) - 1000) / 1000.0f;
}

/* The documented errnos ----------------------------------------------------- */

enum op {
	OP_QUERY, OP_BO_CREATE, OP_BO_DESTROY, OP_RESERVE, OP_SUBMIT, OP_WAIT,
	OP_MMAP, OP_RAW, OP_COUNT
};

static const char *op_name[OP_COUNT] = {
	"QUERY", "BO_CREATE", "BO_DESTROY", "RESERVE", "SUBMIT", "WAIT",
	"mmap", "ioctl",
};

/*
 * Documentation/uapi.rst, "Rules every ioctl follows": -ENOTTY (unknown
 * number, magic or direction), -EINVAL (bad size, flag or pad), -E2BIG (a
 * newer struct's tail not zero), -EFAULT (bad pointer), -ENODEV (device
 * failed or gone). Then per ioctl, from its paragraph and the header.
 */
static int errno_ok(enum op op, int e)
{
	if (!e)
		return 1;
	if (op != OP_MMAP &&
	    (e == ENOTTY || e == EINVAL || e == E2BIG || e == EFAULT ||
	     e == ENODEV))
		return 1;
	switch (op) {
	case OP_QUERY:
		return 0;
	case OP_BO_CREATE:
		/* the file's quota; the memory cgroup's limit */
		return e == EDQUOT || e == ENOMEM;
	case OP_BO_DESTROY:
		return e == ENOENT;
	case OP_RESERVE:
		return e == EBUSY;
	case OP_SUBMIT:
		/* EBADFD: guilty file; EINTR: waits for a ring slot */
		return e == ENOENT || e == EACCES || e == EPERM ||
		       e == EBADFD || e == EINTR || e == ENOMEM;
	case OP_WAIT:
		return e == ETIME || e == EINTR || e == ENOENT;
	case OP_MMAP:
		/* private mapping, range past the end; unknown handle */
		return e == EINVAL || e == ENOENT;
	case OP_RAW:
		return e == ENOENT || e == EACCES || e == EPERM ||
		       e == EBADFD || e == EINTR || e == ENOMEM ||
		       e == ETIME || e == EBUSY || e == EDQUOT;
	default:
		return 0;
	}
}

/* Threads and files -------------------------------------------------------- */

enum bo_kind { BO_PATTERN, BO_INPUT, BO_SCRATCH, BO_CMD, BO_OTHER };

struct fbo {
	uint32_t handle;	/* 0: destroyed */
	uint64_t size;
	void *map;		/* NULL: unmapped */
	enum bo_kind kind;
	uint64_t sum;		/* BO_INPUT: checksum of its contents */
};

struct pending {
	uint64_t seqno;
	int fence_fd;
	int valid;
	uint64_t submitted_ns;
};

struct ffile {
	int fd;			/* -1: closed */
	int dev;
	uint32_t id;		/* tag in pattern words */
	uint64_t xbar_mask, ap_mask;
	struct fbo bos[MAX_BOS];
	int nbos;
	int cmd, scratch, input;	/* indices into bos */
	uint64_t seqno;		/* last seqno issued */
	struct pending pend[MAX_PENDING];
	int npend;
	uint64_t resets;	/* reset_count at open */
	uint64_t bytes;		/* of the buffers created */
};

struct thr {
	int idx;
	uint64_t rng;
	long it;
	const char *op;
	struct ffile files[MAX_FILES];
	pthread_t tid;
	long ops;
};

/* 1 is the create/destroy race file */
static atomic_uint next_file_id = 2;
static struct thr *threads;
static int nthreads_all;

static void fail(enum check c, const char *fmt, ...)
{
	long n = atomic_fetch_add(&fails[c], 1);
	va_list ap;

	if (n >= 10)
		return;
	pthread_mutex_lock(&out_lock);
	printf("# FAIL [%s] thread %d iteration %ld op %s: ",
	       check_name[c], cur ? cur->idx : -1, cur ? cur->it : -1L,
	       cur && cur->op ? cur->op : "-");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static void logop(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logop(const char *fmt, ...)
{
	va_list ap;

	if (!opt_log)
		return;
	pthread_mutex_lock(&out_lock);
	printf("# op t%d i%ld: ", cur ? cur->idx : -1, cur ? cur->it : -1L);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

/* ioctl returning 0 or errno, checked against the table */
static int xioctl(enum op op, int fd, unsigned long req, void *arg)
{
	int e = ioctl(fd, req, arg) ? errno : 0;

	atomic_fetch_add(&n_ioctls, 1);
	if (e == EINTR)
		atomic_fetch_add(&n_eintr, 1);
	if (e == ENOMEM)
		atomic_fetch_add(&n_enomem, 1);
	if (!errno_ok(op, e))
		fail(C_ERRNO, "%s (cmd %#lx) gave %s (%d)", op_name[op], req,
		     strerror(e), e);
	return e;
}

static int open_dev(int index)
{
	char path[32];

	snprintf(path, sizeof(path), "/dev/cim%d", index);
	return open(path, O_RDWR | O_CLOEXEC);
}

static long sysfs_long(int index, const char *attr)
{
	char path[128], buf[64] = "";
	long v = -1;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/misc/cim%d/%s", index, attr);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		v = strtol(buf, NULL, 0);
	close(fd);
	return v;
}

static uint64_t pattern_word(uint32_t id)
{
	return (uint64_t)MAGIC << 32 | id;
}

/*
 * Scan @len bytes for pattern words of files other than @mine (0: any
 * pattern word is foreign). Returns the first foreign id, or 0.
 */
static uint32_t foreign_tag(const void *p, size_t len, uint32_t mine)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if ((w[i] >> 32) == MAGIC && (uint32_t)w[i] != mine)
			return (uint32_t)w[i];
	return 0;
}

static uint64_t checksum(const void *p, size_t len)
{
	const uint64_t *w = p;
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < len / 8; i++)
		h = (h ^ w[i]) * 1099511628211ull;
	return h;
}

/* Buffers ------------------------------------------------------------------ */

static int bo_create(struct ffile *f, uint64_t size, enum bo_kind kind)
{
	struct cim_bo_create c = { .size = size };
	struct fbo *b;
	uint32_t other;
	size_t i;
	int e, slot;

	for (slot = 0; slot < MAX_BOS; slot++)
		if (!f->bos[slot].handle && !f->bos[slot].map)
			break;
	if (slot == MAX_BOS)
		return -1;
	e = xioctl(OP_BO_CREATE, f->fd, CIM_IOCTL_BO_CREATE, &c);
	if (e)
		return -1;
	if (!c.handle)
		fail(C_RESULT, "BO_CREATE gave handle 0");
	b = &f->bos[slot];
	memset(b, 0, sizeof(*b));
	b->handle = c.handle;
	b->size = (size + PAGE - 1) / PAGE * PAGE;
	b->kind = kind;
	f->bytes += b->size;
	b->map = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd,
		      c.mmap_offset);
	if (b->map == MAP_FAILED) {
		e = errno;
		b->map = NULL;
		if (!errno_ok(OP_MMAP, e) || e == EINVAL || e == ENOENT)
			fail(C_ERRNO, "mmap of a new %" PRIu64 "-byte BO: %s",
			     size, strerror(e));
		return slot;
	}
	/* New buffers are zero: no earlier owner's data */
	other = foreign_tag(b->map, b->size, 0);
	if (other)
		fail(C_ISOLATION, "new BO of %" PRIu64
		     " bytes holds the pattern of file %u", b->size, other);
	else
		for (i = 0; i < b->size / 8; i++)
			if (((uint64_t *)b->map)[i]) {
				fail(C_ISOLATION, "new BO not zero at %zu", i * 8);
				break;
			}
	if (kind == BO_PATTERN)
		for (i = 0; i < b->size / 8; i++)
			((uint64_t *)b->map)[i] = pattern_word(f->id);
	if (slot >= f->nbos)
		f->nbos = slot + 1;
	return slot;
}

/* A pattern buffer no job may write must hold its pattern */
static void bo_verify(struct ffile *f, struct fbo *b)
{
	const uint64_t *w = b->map;
	size_t i;

	if (!b->map)
		return;
	if (b->kind == BO_PATTERN) {
		for (i = 0; i < b->size / 8; i++)
			if (w[i] != pattern_word(f->id)) {
				if ((w[i] >> 32) == MAGIC)
					fail(C_ISOLATION, "BO %u of file %u holds file %u's pattern",
					     b->handle, f->id, (uint32_t)w[i]);
				else
					fail(C_ISOLATION, "BO %u of file %u changed at %zu: %#" PRIx64,
					     b->handle, f->id, i * 8, w[i]);
				return;
			}
	} else if (b->kind == BO_INPUT) {
		if (checksum(b->map, b->size) != b->sum)
			fail(C_ISOLATION, "input BO %u of file %u changed (jobs only read it)",
			     b->handle, f->id);
	} else {
		uint32_t other = foreign_tag(b->map, b->size, f->id);

		if (other)
			fail(C_ISOLATION, "BO %u of file %u holds file %u's pattern",
			     b->handle, f->id, other);
	}
}

static void bo_unmap(struct fbo *b)
{
	if (b->map)
		munmap(b->map, b->size);
	b->map = NULL;
}

static void bo_destroy(struct ffile *f, struct fbo *b)
{
	struct cim_bo_destroy d = { .handle = b->handle };
	int e;

	if (!b->handle)
		return;
	e = xioctl(OP_BO_DESTROY, f->fd, CIM_IOCTL_BO_DESTROY, &d);
	if (e)
		fail(C_RESULT, "BO_DESTROY of live handle %u: %s", b->handle,
		     strerror(e));
	b->handle = 0;
}

/* Jobs --------------------------------------------------------------------- */

/* What a valid job's results must satisfy */
enum expect_kind {
	X_U64,		/* the u64 at off equals val */
	X_FINITE,	/* len bytes of binary32 at off, all finite */
	X_WEIGHTS,	/* ... and within [-1, 1] */
	X_ROWS,		/* len bytes of u64 at off equal input at val, mask */
	X_COUNTERS,	/* a struct cim_counters prefix at off */
	X_DUU_REPORT,	/* a struct cim_duu_report at off, val cells */
	X_PROG_REPORT,	/* a struct cim_program_report at off, val cells */
	X_NOFOREIGN,	/* len bytes hold no other file's pattern */
};

struct expect {
	enum expect_kind kind;
	uint32_t off, len;
	uint64_t val, mask;
};

#define MAX_PKTS	8

struct job {
	uint8_t *cmd;		/* the command BO's mapping */
	uint32_t size;		/* bytes of packets */
	uint32_t npkts;
	uint32_t bos[4];
	uint32_t nbos;
	uint32_t out;		/* next free byte of the scratch BO */
	struct expect ex[MAX_PKTS * 2];
	uint32_t nex;
	const char *names[MAX_PKTS];
	int scrub;		/* has a SCRUB packet (the driver may refuse) */
};

static void job_expect(struct job *j, enum expect_kind kind, uint32_t off,
		       uint32_t len, uint64_t val, uint64_t mask)
{
	if (j->nex < MAX_PKTS * 2)
		j->ex[j->nex++] = (struct expect){ kind, off, len, val, mask };
}

/* Room in the scratch BO for @len bytes of output, 8-aligned, or ~0 */
static uint32_t job_out(struct job *j, uint32_t len)
{
	uint32_t off = (j->out + 7) & ~7u;

	if (off + len > SCRATCH_SIZE)
		return ~0u;
	j->out = off + len;
	return off;
}

static void *job_pkt(struct job *j, uint32_t size, uint16_t opcode,
		     uint16_t flags, const char *name)
{
	struct cim_pkt_hdr *h = (void *)(j->cmd + j->size);

	memset(h, 0, size);
	h->opcode = opcode;
	h->flags = flags;
	h->size = size;
	j->size += size;
	j->names[j->npkts++] = name;
	return h;
}

static int pick_unit(uint64_t *s, uint64_t mask)
{
	int n = __builtin_popcountll(mask), k;

	if (!n)
		return -1;
	k = below(s, n);
	for (int i = 0; i < 64; i++)
		if (mask >> i & 1 && !k--)
			return i;
	return -1;
}

static void random_window(uint64_t *s, const struct cim_device_info *in,
			  int xbar, struct cim_pkt_xbar_window *w)
{
	uint32_t nr = range(s, 1, in->xbar_rows < 16 ? in->xbar_rows : 16);
	uint32_t nc = range(s, 1, in->xbar_cols < 16 ? in->xbar_cols : 16);

	w->xbar = xbar;
	w->nrows = nr;
	w->ncols = nc;
	w->row = below(s, in->xbar_rows - nr + 1);
	w->col = below(s, in->xbar_cols - nc + 1);
}

/*
 * Input BO layout (binary32 unless said): [0, 4K) weights in [-1, 1];
 * [4K, 12K) vectors in [-1, 1]; [12K, 16K) DUU signals; [16K, 32K) AP row
 * words (u64).
 */
#define IN_WEIGHTS	0
#define IN_VECTORS	(1 * PAGE)
#define IN_SIGNALS	(3 * PAGE)
#define IN_ROWS		(4 * PAGE)

static void fill_input(struct ffile *f, uint64_t *s)
{
	struct fbo *b = &f->bos[f->input];
	float *fl = b->map;
	uint64_t *w = b->map;
	uint32_t i;

	for (i = 0; i < IN_ROWS / 4; i++)
		fl[i] = frand(s);
	for (i = IN_ROWS / 8; i < INPUT_SIZE / 8; i++)
		w[i] = rnd(s);
	/* No word of it may look like a pattern word */
	for (i = IN_ROWS / 8; i < INPUT_SIZE / 8; i++)
		if ((w[i] >> 32) == MAGIC)
			w[i] ^= 1ull << 63;
	b->sum = checksum(b->map, b->size);
}

/*
 * Append one valid packet, chosen at random among those the file's units
 * allow, to @j. @in_idx is the bo index of the input BO (or of the
 * scratch BO for jobs that will be mutated), @out_idx that of the scratch.
 */
static void add_valid_packet(struct thr *t, struct ffile *f, struct job *j,
			     uint32_t in_idx, uint32_t out_idx, int fill_out)
{
	const struct cim_device_info *in = &devs[f->dev].info;
	uint64_t *s = &t->rng;
	uint8_t *out = f->bos[f->scratch].map;
	int xbar = pick_unit(s, f->xbar_mask);
	int ap = pick_unit(s, f->ap_mask);
	uint32_t o, n;

	for (int tries = 0; tries < 8; tries++) {
		switch (below(s, 13)) {
		case 0: {
			job_pkt(j, 8, CIM_OP_NOP, 0, "NOP");
			return;
		}
		case 1: {
			struct cim_pkt_fence *k;
			/* top nibble 0: never a pattern word */
			uint64_t v = rnd(s) & 0x0fffffffffffffffull;

			o = job_out(j, 8);
			if (o == ~0u)
				continue;
			k = job_pkt(j, sizeof(*k), CIM_OP_FENCE, 0, "FENCE");
			k->addr = CIM_REF(out_idx, o);
			k->value = v;
			if (fill_out)
				*(uint64_t *)(out + o) = ~v;
			job_expect(j, X_U64, o, 8, v, 0);
			return;
		}
		case 2: {
			struct cim_pkt_xbar_program *k;
			uint16_t fl = chance(s, 50) ? CIM_PROGRAM_F_REPORT : 0;

			if (xbar < 0)
				continue;
			k = job_pkt(j, sizeof(*k), CIM_OP_XBAR_PROGRAM, fl,
				    "XBAR_PROGRAM");
			random_window(s, in, xbar, &k->win);
			k->max_iters = range(s, 1, 16);
			{
				float tol = 0.5f;

				memcpy(&k->tolerance_f32, &tol, 4);
			}
			k->src = CIM_REF(in_idx, IN_WEIGHTS +
					 4 * below(s, 64));
			if (fl) {
				o = job_out(j, sizeof(struct cim_program_report));
				if (o == ~0u) {
					k->hdr.flags = 0;
					return;
				}
				k->report = CIM_REF(out_idx, o);
				if (fill_out)
					memset(out + o, 0xff, 16);
				job_expect(j, X_PROG_REPORT, o, 16,
					   k->win.nrows * k->win.ncols, 0);
			}
			return;
		}
		case 3: {
			struct cim_pkt_xbar_read *k;
			uint16_t fl = chance(s, 50) ? CIM_READ_F_WEIGHTS : 0;
			struct cim_pkt_xbar_window w;

			if (xbar < 0)
				continue;
			random_window(s, in, xbar, &w);
			n = w.nrows * w.ncols * 4 * (fl ? 1 : 2);
			o = job_out(j, n);
			if (o == ~0u)
				continue;
			k = job_pkt(j, sizeof(*k), CIM_OP_XBAR_READ, fl,
				    "XBAR_READ");
			k->win = w;
			k->dst = CIM_REF(out_idx, o);
			if (fill_out)
				memset(out + o, 0xff, n);
			job_expect(j, fl ? X_WEIGHTS : X_FINITE, o, n, 0, 0);
			return;
		}
		case 4:
		case 5: {
			struct cim_pkt_vmm *k;
			struct cim_pkt_xbar_window w;
			int trans = chance(s, 50);
			uint32_t batch = range(s, 1, 4), nin, nout;

			if (xbar < 0)
				continue;
			random_window(s, in, xbar, &w);
			nin = trans ? w.ncols : w.nrows;
			nout = trans ? w.nrows : w.ncols;
			o = job_out(j, batch * nout * 4);
			if (o == ~0u)
				continue;
			k = job_pkt(j, sizeof(*k), trans ? CIM_OP_VMM_TRANS :
				    CIM_OP_VMM_FWD,
				    chance(s, 20) ? CIM_VMM_F_ADC_FIXED : 0,
				    trans ? "VMM_TRANS" : "VMM_FWD");
			k->win = w;
			k->batch = batch;
			if (k->hdr.flags) {
				float r = 4.0f;

				memcpy(&k->adc_range_f32, &r, 4);
			}
			k->x = CIM_REF(in_idx, IN_VECTORS +
				       4 * below(s, (2 * PAGE) / 4 - batch * nin));
			k->y = CIM_REF(out_idx, o);
			if (fill_out)
				memset(out + o, 0xff, batch * nout * 4);
			job_expect(j, X_FINITE, o, batch * nout * 4, 0, 0);
			return;
		}
		case 6: {
			struct cim_pkt_duu_update *k;
			uint16_t fl = below(s, 8) & CIM_DUU_VALID_FLAGS;
			struct cim_pkt_xbar_window w;
			float lr = 0.01f, eps = 0;

			if (xbar < 0)
				continue;
			random_window(s, in, xbar, &w);
			k = job_pkt(j, sizeof(*k), CIM_OP_DUU_UPDATE, fl,
				    "DUU_UPDATE");
			k->win = w;
			memcpy(&k->lr_f32, &lr, 4);
			memcpy(&k->epsilon_f32, &eps, 4);
			k->n_max = range(s, 1, 16);
			if (fl & CIM_DUU_F_X_IDENTITY) {
				k->batch = w.nrows;
				k->d = CIM_REF(in_idx, IN_SIGNALS);
			} else {
				k->batch = below(s, 5);
				if (k->batch) {
					k->x = CIM_REF(in_idx, IN_VECTORS);
					k->d = CIM_REF(in_idx, IN_SIGNALS);
				}
			}
			if (fl & CIM_DUU_F_REPORT) {
				o = job_out(j, sizeof(struct cim_duu_report));
				if (o == ~0u) {
					k->hdr.flags &= ~CIM_DUU_F_REPORT;
					return;
				}
				k->report = CIM_REF(out_idx, o);
				if (fill_out)
					memset(out + o, 0xff, 24);
				job_expect(j, X_DUU_REPORT, o, 24,
					   w.nrows * w.ncols, 0);
			}
			return;
		}
		case 7:
		case 8: {
			/* AP rows: load, then read back the same window */
			struct cim_pkt_ap_rows *ld, *rd;
			uint32_t nr, row, col, nc, src;

			if (ap < 0)
				continue;
			nr = range(s, 1, in->ap_rows < 64 ? in->ap_rows : 64);
			row = below(s, in->ap_rows - nr + 1);
			nc = range(s, 1, in->ap_cols < 64 ? in->ap_cols : 64);
			col = below(s, in->ap_cols - nc + 1);
			o = job_out(j, nr * 8);
			if (o == ~0u || j->npkts + 2 > MAX_PKTS)
				continue;
			src = IN_ROWS + 8 * below(s, (INPUT_SIZE - IN_ROWS) / 8 - nr);
			ld = job_pkt(j, sizeof(*ld), CIM_OP_AP_LOAD_ROWS, 0,
				     "AP_LOAD_ROWS");
			ld->ap = ap;
			ld->row = row;
			ld->nrows = nr;
			ld->col = col;
			ld->ncols = nc;
			ld->addr = CIM_REF(in_idx, src);
			rd = job_pkt(j, sizeof(*rd), CIM_OP_AP_READ, 0,
				     "AP_READ");
			*rd = *ld;
			rd->hdr.opcode = CIM_OP_AP_READ;
			rd->what = CIM_AP_READ_ROWS;
			rd->addr = CIM_REF(out_idx, o);
			if (fill_out)
				memset(out + o, 0xff, nr * 8);
			job_expect(j, X_ROWS, o, nr * 8, src,
				   nc == 64 ? ~0ull : (1ull << nc) - 1);
			return;
		}
		case 9: {
			struct cim_pkt_ap_rows *k;
			uint32_t what = below(s, 3), len;

			if (ap < 0)
				continue;
			k = job_pkt(j, sizeof(*k), CIM_OP_AP_READ, 0, "AP_READ");
			k->ap = ap;
			k->what = what;
			if (what == CIM_AP_READ_REGS) {
				len = CIM_AP_NREGS * 8;
			} else {
				k->nrows = range(s, 1, in->ap_rows < 256 ?
						 in->ap_rows : 256);
				k->row = below(s, in->ap_rows - k->nrows + 1);
				if (what == CIM_AP_READ_ROWS)
					k->ncols = range(s, 1,
						in->ap_cols < 64 ? in->ap_cols : 64);
				len = what == CIM_AP_READ_ROWS ? k->nrows * 8 :
				      (k->nrows + 63) / 64 * 8;
			}
			o = job_out(j, len);
			if (o == ~0u) {
				/* turn it into a NOP of the same size? no: drop */
				j->size -= sizeof(*k);
				j->npkts--;
				continue;
			}
			k->addr = CIM_REF(out_idx, o);
			job_expect(j, X_NOFOREIGN, o, len, 0, 0);
			return;
		}
		case 10: {
			struct cim_pkt_ap_program *k;
			uint32_t ni = range(s, 1, 4), i;

			if (ap < 0)
				continue;
			k = job_pkt(j, sizeof(*k) + ni * 16, CIM_OP_AP_PROGRAM,
				    0, "AP_PROGRAM");
			k->ap = ap;
			k->ninst = ni;
			for (i = 0; i < ni; i++) {
				struct cim_ap_inst *x = &k->inst[i];

				switch (below(s, 4)) {
				case 0:
					x->op = CIM_AP_TAGOP;
					x->arg = below(s, 7);
					break;
				case 1:
					x->op = CIM_AP_KM_CLEAR;
					break;
				case 2:
					x->op = CIM_AP_TAGCOUNT;
					x->w[0] = below(s, CIM_AP_NREGS);
					break;
				default:
					x->op = CIM_AP_FIRSTTAG;
					x->w[0] = below(s, CIM_AP_NREGS);
					break;
				}
			}
			return;
		}
		case 11: {
			struct cim_pkt_counters *k;
			uint32_t sz = 8 * range(s, 1, 512);
			uint32_t len = sz < sizeof(struct cim_counters) ? sz :
				       sizeof(struct cim_counters);

			o = job_out(j, len);
			if (o == ~0u)
				continue;
			k = job_pkt(j, sizeof(*k), CIM_OP_COUNTERS_READ, 0,
				    "COUNTERS_READ");
			k->size = sz;
			k->dst = CIM_REF(out_idx, o);
			if (fill_out)
				memset(out + o, 0xff, len);
			job_expect(j, X_COUNTERS, o, len, 0, 0);
			return;
		}
		default: {
			struct cim_pkt_scrub *k;

			if (!(in->hw_caps & CIM_CAPS_SCRUB))
				continue;
			k = job_pkt(j, sizeof(*k), CIM_OP_SCRUB, 0, "SCRUB");
			k->xbar_mask = f->xbar_mask & (chance(s, 50) ? ~0ull : 0);
			k->ap_mask = f->ap_mask & (chance(s, 50) ? ~0ull : 0);
			j->scrub = 1;
			return;
		}
		}
	}
	job_pkt(j, 8, CIM_OP_NOP, 0, "NOP");
}

static void check_results(struct ffile *f, struct job *j,
			  const struct cim_wait *w)
{
	const uint8_t *out = f->bos[f->scratch].map;
	const uint8_t *inb = f->bos[f->input].map;
	uint32_t i, k;

	if (w->cmds_done != j->npkts)
		fail(C_RESULT, "job of %u packets: cmds_done %u", j->npkts,
		     w->cmds_done);
	for (i = 0; i < j->nex; i++) {
		const struct expect *e = &j->ex[i];
		const uint8_t *p = out + e->off;

		switch (e->kind) {
		case X_U64:
			if (*(const uint64_t *)p != e->val)
				fail(C_RESULT, "FENCE at %u: %#" PRIx64 " not %#" PRIx64,
				     e->off, *(const uint64_t *)p, e->val);
			break;
		case X_FINITE:
		case X_WEIGHTS:
			for (k = 0; k < e->len / 4; k++) {
				float v;

				memcpy(&v, p + 4 * k, 4);
				/* a device's own range: past +-1 a little */
				if (!isfinite(v) || (e->kind == X_WEIGHTS &&
						     fabsf(v) > 2.0f)) {
					fail(C_RESULT, "%s output %u of %u at %u: %g",
					     e->kind == X_WEIGHTS ? "weight" : "binary32",
					     k, e->len / 4, e->off, v);
					break;
				}
			}
			break;
		case X_ROWS:
			for (k = 0; k < e->len / 8; k++) {
				uint64_t got = ((const uint64_t *)p)[k];
				uint64_t want = ((const uint64_t *)(inb + e->val))[k] & e->mask;

				if (got != want) {
					fail(C_RESULT, "AP row %u read %#" PRIx64 ", loaded %#" PRIx64,
					     k, got, want);
					break;
				}
			}
			break;
		case X_COUNTERS: {
			uint64_t size = *(const uint64_t *)p;

			if (size < 8 || size % 8 || size > 4096)
				fail(C_RESULT, "COUNTERS_READ size field %" PRIu64, size);
			if (e->len >= 16 && ((const uint64_t *)p)[1] > (1ull << 40))
				fail(C_RESULT, "COUNTERS_READ jobs %" PRIu64,
				     ((const uint64_t *)p)[1]);
			break;
		}
		case X_DUU_REPORT: {
			const struct cim_duu_report *r = (const void *)p;

			if (r->reserved || r->cells_pulsed > e->val ||
			    r->clamped > e->val)
				fail(C_RESULT, "DUU report: %u cells pulsed, %u clamped, reserved %u, of %" PRIu64,
				     r->cells_pulsed, r->clamped, r->reserved, e->val);
			break;
		}
		case X_PROG_REPORT: {
			const struct cim_program_report *r = (const void *)p;

			if (r->cells != e->val || r->failed > e->val)
				fail(C_RESULT, "program report: %u cells, %u failed, of %" PRIu64,
				     r->cells, r->failed, e->val);
			break;
		}
		case X_NOFOREIGN: {
			/* AP rows another file loaded: a unit not scrubbed */
			uint32_t other = foreign_tag(p, e->len, f->id);

			atomic_fetch_add(&n_scrub_checked, 1);
			if (other) {
				atomic_fetch_add(&n_scrub_seen, 1);
				if ((devs[f->dev].info.hw_caps & CIM_CAPS_SCRUB))
					fail(C_SCRUB, "AP_READ output holds file %u's rows", other);
			}
			break;
		}
		}
	}
}

static int fence_status(int fd, int ms, int32_t *status)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct fz_sync_file_info si;
	int r;

	do {
		r = poll(&pfd, 1, ms);
	} while (r < 0 && errno == EINTR);
	if (r <= 0)
		return 0;
	memset(&si, 0, sizeof(si));
	if (ioctl(fd, FZ_SYNC_IOC_FILE_INFO, &si))
		return -1;
	*status = si.status;
	return 1;
}

/* WAIT with a deadline @ms from now, or one of the edge values */
static int wait_job(struct ffile *f, uint64_t seqno, uint64_t deadline,
		    struct cim_wait *w)
{
	memset(w, 0, sizeof(*w));
	w->seqno = seqno;
	w->timeout_ns = deadline;
	return xioctl(OP_WAIT, f->fd, CIM_IOCTL_WAIT, w);
}

/* Wait for a job that must end; classify it */
static void finish_job(struct ffile *f, struct job *j, uint64_t seqno,
		       int fence_fd, uint64_t *s)
{
	struct cim_wait w;
	uint64_t t0 = now_ns();
	int e, mode = below(s, 6);
	int32_t st;

	/* How to wait: the modes exercise WAIT's deadlines and poll() */
	if (fence_fd >= 0 && mode == 0) {
		if (fence_status(fence_fd, WAIT_MS, &st) <= 0) {
			fail(C_LOST, "fence fd of job %" PRIu64 " not ready after %d ms",
			     seqno, WAIT_MS);
			close(fence_fd);
			return;
		}
		if (j && st != 1 && !j->scrub)
			fail(C_RESULT, "fence of a valid job: status %d", st);
	}
	if (mode == 1) {
		/* ~0 never passes: must wait, never ETIME */
		e = wait_job(f, seqno, ~0ull, &w);
		if (e == ETIME)
			fail(C_RESULT, "WAIT with timeout_ns ~0 gave ETIME after %" PRIu64 " us",
			     (now_ns() - t0) / 1000);
	} else if (mode == 2) {
		e = wait_job(f, seqno, INT64_MAX, &w);
		if (e == ETIME)
			fail(C_RESULT, "WAIT with timeout_ns INT64_MAX gave ETIME");
	} else if (mode == 3) {
		/* poll with 0, 1 and an old deadline until done */
		uint64_t end = now_ns() + (uint64_t)WAIT_MS * 1000000;
		uint64_t edge[3] = { 0, 1, 0 };
		int k = 0;

		do {
			edge[2] = now_ns() - 1;
			e = wait_job(f, seqno, edge[k++ % 3], &w);
			if (e == ETIME)
				usleep(1000);
		} while ((e == ETIME || e == EINTR) && now_ns() < end);
	} else {
		do
			e = wait_job(f, seqno, now_ns() + (uint64_t)WAIT_MS * 1000000, &w);
		while (e == EINTR);
	}
	while (e == EINTR)
		e = wait_job(f, seqno, now_ns() + (uint64_t)WAIT_MS * 1000000, &w);
	if (e == ETIME) {
		fail(C_LOST, "job %" PRIu64 " of file %u not done after %d ms",
		     seqno, f->id, WAIT_MS);
	} else if (e) {
		if (e != ENODEV)
			fail(C_RESULT, "WAIT of job %" PRIu64 ": %s", seqno,
			     strerror(e));
	} else if (j) {
		if (w.status == CIM_ST_OK) {
			atomic_fetch_add(&n_valid_ok, 1);
			check_results(f, j, &w);
		} else if (w.status == CIM_JOB_CANCELED &&
			   (uint64_t)sysfs_long(devs[f->dev].index, "reset_count") != f->resets) {
			/* a reset of the device: allowed */
		} else if (!j->scrub) {
			fail(C_RESULT, "valid job (%u packets, first %s) status %u at packet offset %u field %u",
			     j->npkts, j->names[0], w.status, w.error_offset,
			     w.error_field);
		}
	} else if (w.status > CIM_JOB_CANCELED) {
		fail(C_RESULT, "status %u", w.status);
	}
	if (fence_fd >= 0) {
		if (fence_status(fence_fd, WAIT_MS, &st) <= 0)
			fail(C_LOST, "fence fd of job %" PRIu64 " not signalled", seqno);
		else if (st != 1 && st != -EIO && st != -ETIMEDOUT &&
			 st != -ECANCELED)
			fail(C_RESULT, "fence status %d undocumented", st);
		close(fence_fd);
	}
}

static int do_submit(struct ffile *f, struct job *j, uint32_t flags,
		     uint32_t offset, struct cim_submit *out)
{
	struct cim_submit sb = {
		.bo_handles_ptr = j->nbos ? (uintptr_t)j->bos : 0,
		.bo_count = j->nbos,
		.cmdbuf_handle = f->bos[f->cmd].handle,
		.cmdbuf_offset = offset,
		.cmdbuf_size = j->size,
		.flags = flags,
	};
	int e = xioctl(OP_SUBMIT, f->fd, CIM_IOCTL_SUBMIT, &sb);

	*out = sb;
	if (!e) {
		atomic_fetch_add(&n_jobs, 1);
		/* raw ioctls may have submitted too: only monotonic */
		if (sb.seqno <= f->seqno)
			fail(C_RESULT, "seqno %" PRIu64 " after %" PRIu64,
			     (uint64_t)sb.seqno, f->seqno);
		f->seqno = sb.seqno;
		if ((flags & CIM_SUBMIT_FENCE_OUT) != (sb.fence_fd >= 0))
			fail(C_RESULT, "fence_fd %d with flags %#x", sb.fence_fd,
			     flags);
	}
	return e;
}

/* Setting up a file -------------------------------------------------------- */

static void file_close(struct thr *t, struct ffile *f, int check_inflight);

static int file_open(struct thr *t, struct ffile *f)
{
	uint64_t *s = &t->rng;
	const struct cim_device_info *in;
	struct cim_reserve r = { 0 };
	int i;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->dev = below(s, ndevs);
	f->fd = open_dev(devs[f->dev].index);
	if (f->fd < 0) {
		say("open /dev/cim%d: %s", devs[f->dev].index, strerror(errno));
		return -1;
	}
	in = &devs[f->dev].info;
	f->id = atomic_fetch_add(&next_file_id, 1);
	f->resets = sysfs_long(devs[f->dev].index, "reset_count");
	f->cmd = bo_create(f, CMD_SIZE, BO_CMD);
	f->scratch = bo_create(f, SCRATCH_SIZE, BO_SCRATCH);
	f->input = bo_create(f, INPUT_SIZE, BO_INPUT);
	if (f->cmd < 0 || f->scratch < 0 || f->input < 0 ||
	    !f->bos[f->cmd].map || !f->bos[f->scratch].map ||
	    !f->bos[f->input].map) {
		file_close(t, f, 0);
		return -1;
	}
	fill_input(f, s);
	/* A pattern buffer of its own */
	bo_create(f, PAGE * range(s, 1, 8), BO_PATTERN);
	/* One or two crossbars and an AP, if free */
	for (i = 0; i < 2; i++) {
		r.mask = 1ull << below(s, in->xbar_count);
		if (!xioctl(OP_RESERVE, f->fd, CIM_IOCTL_XBAR_RESERVE, &r))
			f->xbar_mask |= r.mask;
	}
	if (in->ap_count) {
		r.mask = 1ull << below(s, in->ap_count);
		if (!xioctl(OP_RESERVE, f->fd, CIM_IOCTL_AP_RESERVE, &r))
			f->ap_mask |= r.mask;
	}
	logop("open file %u on cim%d: xbars %#" PRIx64 " aps %#" PRIx64,
	      f->id, devs[f->dev].index, f->xbar_mask, f->ap_mask);
	return 0;
}

static void pending_add(struct ffile *f, uint64_t seqno, int fence_fd,
			int valid)
{
	if (f->npend == MAX_PENDING) {
		/* drop the oldest; its fence fd must still be ready later */
		if (f->pend[0].fence_fd >= 0)
			close(f->pend[0].fence_fd);
		memmove(f->pend, f->pend + 1, sizeof(f->pend[0]) * --f->npend);
	}
	f->pend[f->npend++] = (struct pending){ seqno, fence_fd, valid,
						now_ns() };
}

static void file_close(struct thr *t, struct ffile *f, int check_inflight)
{
	int fences[MAX_PENDING], nf = 0, i, keep = -1;
	int32_t st;

	(void)t;
	if (f->fd < 0)
		return;
	for (i = 0; i < f->npend; i++)
		if (f->pend[i].fence_fd >= 0)
			fences[nf++] = f->pend[i].fence_fd;
	for (i = 0; i < f->nbos; i++)
		bo_verify(f, &f->bos[i]);
	/* Keep the pattern mapping past the close: the memory must live on */
	for (i = 0; i < f->nbos; i++)
		if (f->bos[i].kind == BO_PATTERN && f->bos[i].map)
			keep = i;
	for (i = 0; i < f->nbos; i++)
		if (i != keep)
			bo_unmap(&f->bos[i]);
	if (f->npend)
		atomic_fetch_add(&n_closes_inflight, 1);
	close(f->fd);
	f->fd = -1;
	if (keep >= 0) {
		bo_verify(f, &f->bos[keep]);
		bo_unmap(&f->bos[keep]);
	}
	/* The jobs of a closed file still end, and their fences signal */
	for (i = 0; i < nf; i++) {
		if (fence_status(fences[i], WAIT_MS, &st) <= 0)
			fail(check_inflight ? C_CLOSE : C_LOST,
			     "fence fd of a closed file's job not ready after %d ms",
			     WAIT_MS);
		else if (st != 1 && st != -EIO && st != -ETIMEDOUT &&
			 st != -ECANCELED)
			fail(C_CLOSE, "fence status %d undocumented", st);
		close(fences[i]);
	}
	f->npend = 0;
	memset(f->bos, 0, sizeof(f->bos));
	f->nbos = 0;
}

/* Operations --------------------------------------------------------------- */

static struct ffile *any_file(struct thr *t)
{
	int i, n = 0, k;

	for (i = 0; i < opt_files; i++)
		n += t->files[i].fd >= 0;
	if (!n)
		return NULL;
	k = below(&t->rng, n);
	for (i = 0; i < opt_files; i++)
		if (t->files[i].fd >= 0 && !k--)
			return &t->files[i];
	return NULL;
}

static void op_valid_job(struct thr *t, struct ffile *f)
{
	uint64_t *s = &t->rng;
	struct cim_submit sb;
	struct job j;
	uint32_t np = range(s, 1, 4), flags, off = 0;
	int e;

	memset(&j, 0, sizeof(j));
	/* Somewhere in the command BO, 8-aligned */
	if (chance(s, 30))
		off = 8 * below(s, (CMD_SIZE - 2048) / 8);
	j.cmd = (uint8_t *)f->bos[f->cmd].map + off;
	j.bos[0] = f->bos[f->input].handle;
	j.bos[1] = f->bos[f->scratch].handle;
	j.nbos = 2;
	while (j.npkts < np)
		add_valid_packet(t, f, &j, 0, 1, 1);
	flags = chance(s, 50) ? CIM_SUBMIT_FENCE_OUT : 0;
	logop("valid job: %u packets (%s...), %u bytes at %u", j.npkts,
	      j.names[0], j.size, off);
	e = do_submit(f, &j, flags, off, &sb);
	if (e) {
		if (e == EINVAL && j.scrub)
			return;	/* a driver that keeps SCRUB to itself */
		if (e != EINTR && e != ENODEV && e != ENOMEM)
			fail(C_RESULT, "valid job (%u packets, first %s) refused: %s",
			     j.npkts, j.names[0], strerror(e));
		return;
	}
	/* The driver copied the packets: scribbling on them changes nothing */
	if (chance(s, 30))
		memset(j.cmd, 0xa5, j.size);
	if (chance(s, 25)) {
		/* leave it in flight; a later op or the close ends it */
		pending_add(f, sb.seqno, flags ? sb.fence_fd : -1, 1);
		return;
	}
	finish_job(f, &j, sb.seqno, flags ? sb.fence_fd : -1, s);
}

/* Mutations of a valid job ------------------------------------------------- */

static const uint64_t edges[] = {
	0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff,
	0x10000, 0x7fffffff, 0x80000000, 0xfffffff8, 0xffffffff,
	0x100000000ull, 0x7fffffffffffffffull, 0xffffffffffffffffull,
	1024, 1025, 4096, 4097, 256, 257, 65536,
};

static void mutate_bytes(uint64_t *s, uint8_t *p, uint32_t len)
{
	uint32_t at, w;
	uint64_t v;

	if (!len)
		return;
	switch (below(s, 5)) {
	case 0:		/* bit flip */
		at = below(s, len);
		p[at] ^= 1u << below(s, 8);
		break;
	case 1:		/* random byte */
		p[below(s, len)] = rnd(s);
		break;
	default:	/* an edge value in an aligned field of 2, 4 or 8 */
		w = 1u << range(s, 1, 3);
		if (len < w)
			return;
		at = below(s, len / w) * w;
		v = edges[below(s, sizeof(edges) / sizeof(edges[0]))];
		if (chance(s, 20))
			v = ~v;
		memcpy(p + at, &v, w);
		break;
	}
}

static void op_mutated_job(struct thr *t, struct ffile *f)
{
	uint64_t *s = &t->rng;
	struct cim_submit sb;
	struct job j;
	uint32_t np = range(s, 1, 3), flags = 0, off = 0, nm, i, built;
	uint32_t live[MAX_BOS], nlive = 0;
	int e, how;

	memset(&j, 0, sizeof(j));
	j.cmd = f->bos[f->cmd].map;
	/* Only the scratch BO: no job may write the file's other buffers */
	j.bos[0] = f->bos[f->scratch].handle;
	j.nbos = 1;
	while (j.npkts < np)
		add_valid_packet(t, f, &j, 0, 0, 0);
	built = j.size;
	for (i = 0; i < (uint32_t)f->nbos; i++)
		if (f->bos[i].handle)
			live[nlive++] = f->bos[i].handle;
	nm = range(s, 1, 3);
	for (i = 0; i < nm; i++) {
		how = below(s, 12);
		switch (how) {
		case 0: case 1: case 2: case 3:
			mutate_bytes(s, j.cmd, built);
			break;
		case 4: {	/* a header size */
			struct cim_pkt_hdr *h = (void *)j.cmd;

			h->size = edges[below(s, sizeof(edges) / sizeof(edges[0]))] +
				  (chance(s, 50) ? 8 : 0);
			break;
		}
		case 5:		/* the submit's size */
			j.size = chance(s, 50) ? j.size - 8 * below(s, j.size / 8 + 1) :
				 j.size + 8 * range(s, 1, 64);
			if (chance(s, 10))
				j.size = devs[f->dev].info.max_cmdbuf +
					 8 * below(s, 2);
			if (chance(s, 10))
				j.size = rnd(s);
			break;
		case 6:		/* the offset */
			off = chance(s, 50) ? 8 * below(s, CMD_SIZE / 8 + 8) :
			      (uint32_t)edges[below(s, sizeof(edges) / sizeof(edges[0]))];
			break;
		case 7: {	/* a handle that is not a live buffer of this file */
			uint32_t h;

			do {
				h = chance(s, 50) ? below(s, 64) :
				    (uint32_t)edges[below(s, sizeof(edges) / sizeof(edges[0]))];
				for (e = 0; e < (int)nlive; e++)
					if (live[e] == h)
						break;
			} while (e < (int)nlive);
			if (chance(s, 50) || j.nbos >= 4)
				j.bos[j.nbos ? below(s, j.nbos < 4 ? j.nbos : 4) : 0] = h;
			else
				j.bos[j.nbos++] = h;
			break;
		}
		case 8:		/* the flags */
			flags = rnd(s) & (chance(s, 50) ? 0x3 : ~0u);
			break;
		case 9: {	/* a reference past the end or a bad index */
			struct cim_pkt_fence *k = (void *)j.cmd;

			if (k->hdr.opcode == CIM_OP_FENCE)
				k->addr = CIM_REF(below(s, 3), chance(s, 50) ?
						  SCRATCH_SIZE - 8 + 4 * below(s, 3) :
						  rnd(s));
			else
				mutate_bytes(s, j.cmd, built);
			break;
		}
		case 10:	/* the bo count, huge or the pointer without it */
			j.nbos = chance(s, 50) ? 0 : CIM_MAX_SUBMIT_BOS + below(s, 3);
			break;
		default: {	/* opcode of one packet swapped */
			struct cim_pkt_hdr *h = (void *)j.cmd;

			h->opcode = below(s, 0x40);
			break;
		}
		}
	}
	if (j.nbos > 4 && j.nbos <= CIM_MAX_SUBMIT_BOS + 2) {
		/* the array must be readable: use a bigger one */
		static __thread uint32_t many[CIM_MAX_SUBMIT_BOS + 4];

		for (i = 0; i < j.nbos; i++)
			many[i] = j.bos[0];
		atomic_fetch_add(&n_mutated, 1);
		{
			struct cim_submit x = {
				.bo_handles_ptr = (uintptr_t)many,
				.bo_count = j.nbos,
				.cmdbuf_handle = f->bos[f->cmd].handle,
				.cmdbuf_size = j.size,
			};

			e = xioctl(OP_SUBMIT, f->fd, CIM_IOCTL_SUBMIT, &x);
			if (!e) {
				if (j.nbos > CIM_MAX_SUBMIT_BOS)
					fail(C_RESULT, "SUBMIT with %u buffers accepted", j.nbos);
				f->seqno = x.seqno;
				finish_job(f, NULL, x.seqno, -1, s);
			}
		}
		return;
	}
	if (j.nbos > 4)
		j.nbos = 4;
	logop("mutated job: %u bytes at %u, %u bos, flags %#x", j.size, off,
	      j.nbos, flags);
	atomic_fetch_add(&n_mutated, 1);
	e = do_submit(f, &j, flags, off, &sb);
	if (e)
		return;
	atomic_fetch_add(&n_mut_accepted, 1);
	if (chance(s, 30)) {
		pending_add(f, sb.seqno, (flags & CIM_SUBMIT_FENCE_OUT) ?
			    sb.fence_fd : -1, 0);
		return;
	}
	finish_job(f, NULL, sb.seqno,
		   (flags & CIM_SUBMIT_FENCE_OUT) ? sb.fence_fd : -1, s);
}

/* A command buffer of exactly max_cmdbuf bytes of NOPs, or one more packet */
static void op_max_cmdbuf(struct thr *t, struct ffile *f)
{
	uint32_t max = devs[f->dev].info.max_cmdbuf;
	struct cim_submit sb;
	struct job j;
	int slot, e;
	uint32_t i;

	if (max > devs[f->dev].info.max_bo_size || max > (8u << 20))
		return;
	slot = bo_create(f, max, BO_OTHER);
	if (slot < 0)
		return;
	if (!f->bos[slot].map) {
		bo_destroy(f, &f->bos[slot]);
		return;
	}
	for (i = 0; i < max / 8; i++)
		((uint64_t *)f->bos[slot].map)[i] =
			(uint64_t)sizeof(struct cim_pkt_hdr) << 32;
	memset(&j, 0, sizeof(j));
	j.size = max;
	j.npkts = max / 8;
	j.names[0] = "NOP";
	{
		int old = f->cmd;

		f->cmd = slot;
		logop("SUBMIT of exactly max_cmdbuf = %u bytes", max);
		e = do_submit(f, &j, CIM_SUBMIT_FENCE_OUT, 0, &sb);
		if (!e)
			finish_job(f, &j, sb.seqno, sb.fence_fd, &t->rng);
		else if (e != EINTR && e != ENOMEM && e != ENODEV)
			fail(C_RESULT, "SUBMIT of exactly max_cmdbuf (%u) NOPs: %s",
			     max, strerror(e));
		/* one byte more does not fit: EINVAL */
		j.size = max + 8;
		e = do_submit(f, &j, 0, 0, &sb);
		if (e != EINVAL)
			fail(C_RESULT, "SUBMIT of max_cmdbuf + 8: %s", strerror(e));
		f->cmd = old;
	}
	bo_unmap(&f->bos[slot]);
	bo_destroy(f, &f->bos[slot]);
}

static void op_bo(struct thr *t, struct ffile *f)
{
	uint64_t *s = &t->rng;
	struct cim_bo_create c = { 0 };
	int slot, i, e;

	switch (below(s, 8)) {
	case 0:
	case 1: {	/* a valid buffer, pattern or scratch-like */
		uint64_t size = chance(s, 90) || f->bytes > (16u << 20) ?
				range(s, 1, 16 * PAGE) :
				range(s, 1, devs[f->dev].info.max_bo_size);

		slot = bo_create(f, size, chance(s, 50) ? BO_PATTERN : BO_OTHER);
		logop("BO_CREATE %" PRIu64 " -> slot %d", size, slot);
		break;
	}
	case 2:		/* invalid creates */
		switch (below(s, 5)) {
		case 0: c.size = 0; break;
		case 1: c.size = devs[f->dev].info.max_bo_size + range(s, 1, PAGE); break;
		case 2: c.size = ~0ull - below(s, PAGE); break;
		case 3: c.size = PAGE; c.flags = 1u << below(s, 32); break;
		default: c.size = PAGE; c.handle = range(s, 1, ~0u); break;
		}
		e = xioctl(OP_BO_CREATE, f->fd, CIM_IOCTL_BO_CREATE, &c);
		if (e != EINVAL)
			fail(C_RESULT, "invalid BO_CREATE (size %#" PRIx64 " flags %#x handle %u): %s",
			     (uint64_t)c.size, c.flags, c.handle, strerror(e));
		if (!e) {
			struct cim_bo_destroy d = { .handle = c.handle };

			xioctl(OP_BO_DESTROY, f->fd, CIM_IOCTL_BO_DESTROY, &d);
		}
		break;
	case 3:		/* unmap a buffer, keep its handle */
		i = below(s, f->nbos);
		if (i == f->cmd || i == f->scratch || i == f->input)
			break;
		bo_verify(f, &f->bos[i]);
		bo_unmap(&f->bos[i]);
		break;
	case 4:		/* destroy a handle, keep the mapping */
		i = below(s, f->nbos);
		if (i == f->cmd || i == f->scratch || i == f->input)
			break;
		bo_destroy(f, &f->bos[i]);
		bo_verify(f, &f->bos[i]);
		break;
	case 5: {	/* destroy an unknown handle, or with pad */
		struct cim_bo_destroy d = { .handle = range(s, 1000, 2000000) };

		if (chance(s, 30)) {
			d.handle = f->bos[f->cmd].handle;
			d.pad = range(s, 1, ~0u);
		}
		e = xioctl(OP_BO_DESTROY, f->fd, CIM_IOCTL_BO_DESTROY, &d);
		if (e != (d.pad ? EINVAL : ENOENT))
			fail(C_RESULT, "BO_DESTROY of handle %u pad %u: %s",
			     d.handle, d.pad, strerror(e));
		break;
	}
	case 6: {	/* mmap variants */
		struct fbo *b = &f->bos[below(s, f->nbos)];
		uint64_t offs;
		size_t len = PAGE * range(s, 1, 20);
		int flags = chance(s, 15) ? MAP_PRIVATE : MAP_SHARED;
		void *p;

		if (!b->handle)
			break;
		offs = (uint64_t)b->handle << 32 | (uint64_t)PAGE * below(s, 20);
		if (chance(s, 10))
			offs = (uint64_t)range(s, 1, 1u << 21) << 32;
		p = mmap(NULL, len, PROT_READ, flags, f->fd, offs);
		if (p == MAP_FAILED) {
			e = errno;
			if (!errno_ok(OP_MMAP, e))
				fail(C_ERRNO, "mmap %zu bytes at %#" PRIx64 ": %s",
				     len, offs, strerror(e));
			break;
		}
		if (flags == MAP_PRIVATE)
			fail(C_RESULT, "a private mapping was allowed");
		{
			uint32_t other = foreign_tag(p, len, f->id);

			if (other)
				fail(C_ISOLATION, "mapping of handle %" PRIu64 " shows file %u's pattern",
				     offs >> 32, other);
		}
		munmap(p, len);
		break;
	}
	default:	/* reserve and release */
	{
		const struct cim_device_info *in = &devs[f->dev].info;
		struct cim_reserve r = { 0 };
		int xb = chance(s, 60);
		uint32_t cnt = xb ? in->xbar_count : in->ap_count;
		unsigned long req;

		if (!cnt)
			break;
		r.mask = chance(s, 80) ? 1ull << below(s, cnt) :
			 edges[below(s, sizeof(edges) / sizeof(edges[0]))];
		if (chance(s, 5))
			r.flags = 1;
		if (chance(s, 5))
			r.pad = 1;
		switch (below(s, 3)) {
		case 0:		/* release what we hold */
			req = xb ? CIM_IOCTL_XBAR_RELEASE : CIM_IOCTL_AP_RELEASE;
			e = xioctl(OP_RESERVE, f->fd, req, &r);
			if (!e)
				*(xb ? &f->xbar_mask : &f->ap_mask) &= ~r.mask;
			break;
		default:
			req = xb ? CIM_IOCTL_XBAR_RESERVE : CIM_IOCTL_AP_RESERVE;
			e = xioctl(OP_RESERVE, f->fd, req, &r);
			if (!e)
				*(xb ? &f->xbar_mask : &f->ap_mask) |= r.mask;
			break;
		}
		if (!e && (r.flags || r.pad))
			fail(C_RESULT, "reserve with flags %u pad %u accepted",
			     r.flags, r.pad);
		break;
	}
	}
}

/*
 * A newly reserved AP must not show a previous owner's rows. Load tagged
 * rows, release, and let the next reserver (any file) read them.
 */
static void op_ap_scrub(struct thr *t, struct ffile *f)
{
	uint64_t *s = &t->rng;
	const struct cim_device_info *in = &devs[f->dev].info;
	struct cim_reserve r = { 0 };
	struct cim_pkt_ap_rows *k;
	struct cim_submit sb;
	struct cim_wait w;
	struct job j;
	uint64_t *out = f->bos[f->scratch].map;
	uint32_t n = in->ap_rows < 64 ? in->ap_rows : 64, i, other;
	int ap, e;

	if (!in->ap_count || in->ap_cols < 64)
		return;
	ap = below(s, in->ap_count);
	r.mask = 1ull << ap;
	if (f->ap_mask & r.mask)
		return;
	if (xioctl(OP_RESERVE, f->fd, CIM_IOCTL_AP_RESERVE, &r))
		return;
	/* Read what the AP holds now, before this file wrote anything */
	memset(&j, 0, sizeof(j));
	j.cmd = f->bos[f->cmd].map;
	j.bos[0] = f->bos[f->scratch].handle;
	j.nbos = 1;
	k = job_pkt(&j, sizeof(*k), CIM_OP_AP_READ, 0, "AP_READ");
	k->ap = ap;
	k->nrows = n;
	k->ncols = 64;
	k->addr = CIM_REF(0, 0);
	memset(out, 0, n * 8);
	e = do_submit(f, &j, 0, 0, &sb);
	if (!e && !wait_job(f, sb.seqno, now_ns() + WAIT_MS * 1000000ull, &w) &&
	    w.status == CIM_ST_OK) {
		atomic_fetch_add(&n_scrub_checked, 1);
		other = foreign_tag(out, n * 8, f->id);
		if (other) {
			atomic_fetch_add(&n_scrub_seen, 1);
			if ((devs[f->dev].info.hw_caps & CIM_CAPS_SCRUB))
				fail(C_SCRUB, "AP %d reserved by file %u still holds file %u's rows",
				     ap, f->id, other);
		}
	}
	/* Now leave tagged rows in it for the next owner */
	for (i = 0; i < n; i++)
		out[i] = pattern_word(f->id);
	memset(&j, 0, sizeof(j));
	j.cmd = f->bos[f->cmd].map;
	j.bos[0] = f->bos[f->scratch].handle;
	j.nbos = 1;
	k = job_pkt(&j, sizeof(*k), CIM_OP_AP_LOAD_ROWS, 0, "AP_LOAD_ROWS");
	k->ap = ap;
	k->nrows = n;
	k->ncols = 64;
	k->addr = CIM_REF(0, 0);
	e = do_submit(f, &j, 0, 0, &sb);
	if (!e)
		wait_job(f, sb.seqno, now_ns() + WAIT_MS * 1000000ull, &w);
	/* The output area is scratch again: no pattern words may stay */
	memset(out, 0, n * 8);
	xioctl(OP_RESERVE, f->fd, CIM_IOCTL_AP_RELEASE, &r);
}

static void op_wait_misc(struct thr *t, struct ffile *f)
{
	uint64_t *s = &t->rng;
	struct cim_wait w;
	int e, i;

	switch (below(s, 5)) {
	case 0:		/* never issued */
		e = wait_job(f, f->seqno + range(s, 1, 1000), 0, &w);
		if (e != EINVAL)
			fail(C_RESULT, "WAIT for seqno never issued: %s", strerror(e));
		break;
	case 1:		/* seqno 0 */
		e = wait_job(f, 0, now_ns(), &w);
		if (e != EINVAL)
			fail(C_RESULT, "WAIT for seqno 0: %s", strerror(e));
		break;
	case 2:		/* flags and pad */
		memset(&w, 0, sizeof(w));
		w.seqno = f->seqno ? f->seqno : 1;
		if (chance(s, 50))
			w.flags = 1u << below(s, 32);
		else
			w.pad = range(s, 1, ~0u);
		e = xioctl(OP_WAIT, f->fd, CIM_IOCTL_WAIT, &w);
		if (e != EINVAL)
			fail(C_RESULT, "WAIT with flags %#x pad %#x: %s", w.flags,
			     w.pad, strerror(e));
		break;
	default:	/* end the jobs left in flight, by WAIT or by their fence */
		for (i = 0; i < f->npend; i++) {
			struct pending *p = &f->pend[i];

			if (f->seqno - p->seqno >= 1024)
				e = wait_job(f, p->seqno, 0, &w);
			else
				do
					e = wait_job(f, p->seqno, below(s, 2) ? ~0ull :
						     now_ns() + WAIT_MS * 1000000ull, &w);
				while (e == EINTR);
			if (e == ETIME && w.timeout_ns == ~0ull)
				fail(C_RESULT, "WAIT with timeout_ns ~0 gave ETIME");
			else if (e == ETIME)
				fail(C_LOST, "job %" PRIu64 " left in flight did not end",
				     p->seqno);
			if (!e && p->valid && w.status != CIM_ST_OK &&
			    w.status != CIM_JOB_CANCELED)
				fail(C_RESULT, "valid job left in flight: status %u", w.status);
			if (e == ENOENT && f->seqno - p->seqno < 1024)
				fail(C_RESULT, "WAIT of seqno %" PRIu64 " (last %" PRIu64 "): ENOENT",
				     p->seqno, f->seqno);
			if (p->fence_fd >= 0) {
				int32_t st;

				if (fence_status(p->fence_fd, WAIT_MS, &st) <= 0)
					fail(C_LOST, "fence of job %" PRIu64 " not ready", p->seqno);
				close(p->fence_fd);
			}
		}
		f->npend = 0;
		break;
	}
}

static void op_query(struct thr *t, struct ffile *f)
{
	uint64_t *s = &t->rng;
	uint8_t buf[256];
	struct cim_query q = { .data_ptr = (uintptr_t)buf };
	int e;

	q.query = chance(s, 80) ? below(s, 2) : rnd(s);
	q.size = chance(s, 80) ? below(s, sizeof(buf) + 1) : 0;
	if (chance(s, 10))
		q.flags = chance(s, 50) ? CIM_QUERY_F_ACK_RESET : rnd(s);
	if (chance(s, 5))
		q.pad = 1;
	if (chance(s, 5))
		q.data_ptr = chance(s, 50) ? 8 : 0xffff880000000000ull;
	e = xioctl(OP_QUERY, f->fd, CIM_IOCTL_QUERY, &q);
	if (!e && q.query > 1)
		fail(C_RESULT, "QUERY %u accepted", q.query);
}

/* An ioctl of random number, direction and size on random bytes */
static void op_raw(struct thr *t, struct ffile *f)
{
	uint64_t *s = &t->rng;
	static __thread uint64_t buf[64];
	uint32_t nr = chance(s, 80) ? below(s, 12) : below(s, 256);
	uint32_t size = chance(s, 70) ? 8 * below(s, 9) : below(s, 512);
	uint32_t dir = below(s, 4), i;
	unsigned long req;

	/* mostly zeroes, so that the structs pass their pad checks */
	for (i = 0; i < 64; i++)
		buf[i] = chance(s, 70) ? 0 : chance(s, 50) ? rnd(s) :
			 edges[below(s, sizeof(edges) / sizeof(edges[0]))];
	/* BO_CREATE sizes within reason, so the guest keeps its memory */
	if (nr == 1)
		buf[0] &= 0xffff;
	/* no SUBMIT of random fence flags into the file's fd table */
	if (nr == 7)
		buf[3] = 0;
	/* releases and destroys of what the file's own ops rely on */
	if (nr == 4 || nr == 6)
		buf[0] = 0;
	if (nr == 2)
		buf[0] |= 1u << 20;
	req = _IOC(dir, chance(s, 95) ? CIM_IOCTL_BASE : below(s, 256), nr,
		   size > 511 ? 511 : size);
	if (nr == 8)
		buf[1] = 0;
	logop("raw ioctl %#lx", req);
	xioctl(OP_RAW, f->fd, req, buf);
}

/* The fuzz threads --------------------------------------------------------- */

/*
 * Signals go only while every fuzz thread runs: a thread leaves the count
 * under sig_lock before it ends, so no signal targets an ended thread.
 */
static pthread_mutex_t sig_lock = PTHREAD_MUTEX_INITIALIZER;
static int sig_running;

static void *fuzz_thread(void *arg)
{
	struct thr *t = arg;
	uint64_t end = now_ns() + (uint64_t)(opt_time * 1e9);
	int i;

	cur = t;
	for (i = 0; i < MAX_FILES; i++)
		t->files[i].fd = -1;
	for (t->it = 0; !atomic_load(&stop); t->it++) {
		struct ffile *f;
		uint32_t r;

		if (opt_iterations ? t->it >= opt_iterations : now_ns() >= end)
			break;
		/* open files as needed */
		for (i = 0; i < opt_files; i++)
			if (t->files[i].fd < 0 && chance(&t->rng, 50)) {
				t->op = "open";
				file_open(t, &t->files[i]);
			}
		f = any_file(t);
		if (!f)
			continue;
		r = below(&t->rng, 100);
		if (r < 30) {
			t->op = "valid job";
			op_valid_job(t, f);
		} else if (r < 55) {
			t->op = "mutated job";
			op_mutated_job(t, f);
		} else if (r < 70) {
			t->op = "buffers";
			op_bo(t, f);
		} else if (r < 78) {
			t->op = "wait";
			op_wait_misc(t, f);
		} else if (r < 83) {
			t->op = "query";
			op_query(t, f);
		} else if (r < 90) {
			t->op = "raw ioctl";
			op_raw(t, f);
		} else if (r < 93) {
			t->op = "AP scrub";
			op_ap_scrub(t, f);
		} else if (r < 94) {
			t->op = "max_cmdbuf";
			op_max_cmdbuf(t, f);
		} else {
			/* close, often with jobs in flight */
			t->op = "close";
			if (chance(&t->rng, 70)) {
				struct job j;
				struct cim_submit sb;
				uint32_t k, n = range(&t->rng, 1, 20);

				for (k = 0; k < n; k++) {
					memset(&j, 0, sizeof(j));
					j.cmd = f->bos[f->cmd].map;
					j.bos[0] = f->bos[f->input].handle;
					j.bos[1] = f->bos[f->scratch].handle;
					j.nbos = 2;
					add_valid_packet(t, f, &j, 0, 1, 0);
					if (!do_submit(f, &j, CIM_SUBMIT_FENCE_OUT, 0, &sb))
						pending_add(f, sb.seqno, sb.fence_fd, 1);
				}
			}
			logop("close file %u with %d jobs pending", f->id, f->npend);
			file_close(t, f, 1);
		}
		t->ops++;
	}
	pthread_mutex_lock(&sig_lock);
	sig_running--;
	pthread_mutex_unlock(&sig_lock);
	t->op = "final close";
	for (i = 0; i < opt_files; i++)
		file_close(t, &t->files[i], 1);
	return NULL;
}

/* Race: one thread flips bytes of a command buffer another submits -------- */

struct race {
	int dev;
	int fd;
	uint32_t cmd_handle, data_handle;
	uint8_t *cmd;
	atomic_int done;
	uint64_t seed;
};

static void *race_mutator(void *arg)
{
	struct race *r = arg;
	uint64_t s = r->seed;
	struct thr self = { .idx = 100 };

	cur = &self;
	for (long n = 0; !atomic_load(&r->done); n++) {
		uint32_t at = below(&s, 256);

		if (!(n % 256))
			sched_yield();

		if (chance(&s, 50))
			r->cmd[at] ^= 1u << below(&s, 8);
		else
			r->cmd[at & ~7u] = chance(&s, 50) ? 0 : CIM_OP_FENCE;
	}
	return NULL;
}

static void *race_submitter(void *arg)
{
	struct race *r = arg;
	uint64_t s = r->seed ^ 0x5555;
	struct thr self = { .idx = 101 };
	uint32_t bos[1] = { r->data_handle };
	struct cim_wait w;
	uint64_t last = 0;
	long n = 0;
	int e;

	cur = &self;
	self.op = "mutate-while-submit";
	while (!atomic_load(&stop)) {
		struct cim_submit sb = {
			.bo_handles_ptr = (uintptr_t)bos,
			.bo_count = 1,
			.cmdbuf_handle = r->cmd_handle,
			.cmdbuf_size = 8 * range(&s, 1, 32),
			.flags = chance(&s, 20) ? CIM_SUBMIT_FENCE_OUT : 0,
		};

		self.it = n++;
		/* Reset a sane start now and then: a FENCE into the data BO */
		if (chance(&s, 10)) {
			struct cim_pkt_fence *k = (void *)r->cmd;

			k->hdr.opcode = CIM_OP_FENCE;
			k->hdr.flags = 0;
			k->hdr.size = sizeof(*k);
			k->addr = CIM_REF(0, 8 * below(&s, 512));
			k->value = 1;
		}
		e = xioctl(OP_SUBMIT, r->fd, CIM_IOCTL_SUBMIT, &sb);
		if (e)
			continue;
		last = sb.seqno;
		if (sb.fence_fd >= 0)
			close(sb.fence_fd);
		if (chance(&s, 30)) {
			do
				e = wait_job(&(struct ffile){ .fd = r->fd }, last,
					     now_ns() + WAIT_MS * 1000000ull, &w);
			while (e == EINTR);
			if (e == ETIME)
				fail(C_LOST, "mutate-while-submit job %" PRIu64 " did not end", last);
			else if (e)
				fail(C_RACE, "WAIT: %s", strerror(e));
		}
	}
	atomic_store(&r->done, 1);
	if (last) {
		do
			e = wait_job(&(struct ffile){ .fd = r->fd }, last,
				     now_ns() + WAIT_MS * 1000000ull, &w);
		while (e == EINTR);
		if (e == ETIME)
			fail(C_LOST, "mutate-while-submit: last job did not end");
	}
	say("mutate-while-submit: %ld submits", n);
	return NULL;
}

/*
 * Race: on one file, a creator (BO_CREATE whose copy-out fails into
 * read-only memory, SUBMIT) against a destroyer (BO_DESTROY and mmap of
 * guessed handles), and the file replaced under both by dup2().
 */
struct cdrace {
	int dev;
	atomic_int fd;
	pthread_rwlock_t swap;
	void *ro;	/* a read-only page holding a valid BO_CREATE */
	long creates, efaults, destroys;
};

static void *cd_creator(void *arg)
{
	struct cdrace *r = arg;
	struct thr self = { .idx = 102, .rng = opt_seed ^ 0x1234 };
	uint64_t *s = &self.rng;
	int e;

	cur = &self;
	self.op = "create vs destroy";
	while (!atomic_load(&stop)) {
		int fd;

		self.it++;
		pthread_rwlock_rdlock(&r->swap);
		fd = atomic_load(&r->fd);
		if (chance(s, 50)) {
			/* copy in works, copy out faults */
			e = ioctl(fd, CIM_IOCTL_BO_CREATE, r->ro) ? errno : 0;
			atomic_fetch_add(&n_ioctls, 1);
			if (e != EFAULT && e != ENODEV && e != ENOTTY)
				fail(C_RACE, "BO_CREATE into read-only memory: %s",
				     strerror(e));
			r->efaults += e == EFAULT;
		} else {
			struct cim_bo_create c = { .size = PAGE * range(s, 1, 4) };

			e = ioctl(fd, CIM_IOCTL_BO_CREATE, &c) ? errno : 0;
			atomic_fetch_add(&n_ioctls, 1);
			if (e && e != ENODEV && e != ENOTTY && e != ENOMEM)
				fail(C_RACE, "BO_CREATE: %s", strerror(e));
			if (!e) {
				void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
					       MAP_SHARED, fd, c.mmap_offset);

				if (p != MAP_FAILED) {
					if (*(uint64_t *)p)
						fail(C_ISOLATION, "new BO not zero");
					*(uint64_t *)p = pattern_word(1);
					munmap(p, PAGE);
				}
			}
			r->creates++;
		}
		pthread_rwlock_unlock(&r->swap);
	}
	return NULL;
}

static void *cd_destroyer(void *arg)
{
	struct cdrace *r = arg;
	struct thr self = { .idx = 103, .rng = opt_seed ^ 0x4321 };
	uint64_t *s = &self.rng;
	int e, devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	cur = &self;
	self.op = "create vs destroy";
	while (!atomic_load(&stop)) {
		int fd;

		self.it++;
		if (chance(s, 1)) {
			/* replace the file under the creator: close races ioctls */
			int nfd = open_dev(devs[r->dev].index), old;

			if (nfd < 0)
				continue;
			/*
			 * dup2 drops the file while a creator may be inside an
			 * ioctl on it; the fd number stays taken by /dev/null
			 * until every creator that loaded it is done
			 */
			old = atomic_exchange(&r->fd, nfd);
			dup2(devnull, old);
			pthread_rwlock_wrlock(&r->swap);
			close(old);
			pthread_rwlock_unlock(&r->swap);
			continue;
		}
		pthread_rwlock_rdlock(&r->swap);
		fd = atomic_load(&r->fd);
		if (chance(s, 70)) {
			struct cim_bo_destroy d = { .handle = range(s, 1, 64) };

			e = ioctl(fd, CIM_IOCTL_BO_DESTROY, &d) ? errno : 0;
			atomic_fetch_add(&n_ioctls, 1);
			if (e && e != ENOENT && e != ENODEV && e != ENOTTY)
				fail(C_RACE, "BO_DESTROY: %s", strerror(e));
			r->destroys += !e;
		} else {
			void *p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd,
				       (uint64_t)range(s, 1, 64) << 32);

			if (p != MAP_FAILED) {
				uint64_t v = *(uint64_t *)p;

				if (v && v != pattern_word(1))
					fail(C_ISOLATION, "racing mmap shows %#" PRIx64, v);
				munmap(p, PAGE);
			} else if (errno != ENOENT && errno != EINVAL &&
				   errno != ENODEV) {
				fail(C_RACE, "racing mmap: %s", strerror(errno));
			}
		}
		pthread_rwlock_unlock(&r->swap);
	}
	close(devnull);
	return NULL;
}

/* Signals: interrupt the fuzz threads now and then ------------------------ */

static void on_signal(int sig)
{
	(void)sig;
}

static void *signaller(void *arg)
{
	uint64_t s = opt_seed ^ 0x9999;

	(void)arg;
	while (!atomic_load(&stop)) {
		usleep(range(&s, 2000, 20000));
		pthread_mutex_lock(&sig_lock);
		if (sig_running == opt_threads)
			pthread_kill(threads[below(&s, opt_threads)].tid, SIGUSR1);
		pthread_mutex_unlock(&sig_lock);
	}
	return NULL;
}

/* Setup and the end -------------------------------------------------------- */

static int count_bo_list_files(int index)
{
	char path[64], line[256];
	FILE *fp;
	int n = 0;

	snprintf(path, sizeof(path), "/sys/kernel/debug/cim/%d/bo_list", index);
	fp = fopen(path, "r");
	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		n += !strncmp(line, "file ", 5);
	fclose(fp);
	return n;
}

static int device_works(int index)
{
	struct cim_bo_create c = { .size = PAGE };
	struct cim_submit sb = { 0 };
	struct cim_wait w = { 0 };
	int fd = open_dev(index), ok = 0;
	void *p;

	if (fd < 0)
		return 0;
	if (!ioctl(fd, CIM_IOCTL_BO_CREATE, &c)) {
		p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 c.mmap_offset);
		if (p != MAP_FAILED) {
			((struct cim_pkt_hdr *)p)->opcode = CIM_OP_NOP;
			((struct cim_pkt_hdr *)p)->size = 8;
			sb.cmdbuf_handle = c.handle;
			sb.cmdbuf_size = 8;
			if (!ioctl(fd, CIM_IOCTL_SUBMIT, &sb)) {
				w.seqno = sb.seqno;
				w.timeout_ns = now_ns() + 10000000000ull;
				ok = !ioctl(fd, CIM_IOCTL_WAIT, &w) &&
				     w.status == CIM_ST_OK;
			}
			munmap(p, PAGE);
		}
	}
	close(fd);
	return ok;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--seed N] [--iterations N | --time S] [--threads N]\n"
		"          [--files N] [--no-race] [--log-ops]\n", argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "iterations", required_argument, NULL, 'i' },
		{ "time", required_argument, NULL, 't' },
		{ "threads", required_argument, NULL, 'j' },
		{ "files", required_argument, NULL, 'f' },
		{ "no-race", no_argument, NULL, 'n' },
		{ "log-ops", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	pthread_t extra[8];
	int nextra = 0, i, c, seeded = 0, files0[MAX_DEVS], ntests = 0;
	struct race race = { 0 };
	struct cdrace cd = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	long total_ops = 0;
	int bad = 0;
	uint64_t t0;
	char *env;

	/*
	 * The suite passes its settings through the kernel command line
	 * (/init's environment); options given here win
	 */
	env = getenv("CIM_FUZZ_SEED");
	if (!seeded && env && *env && strcmp(env, "random")) {
		opt_seed = strtoull(env, NULL, 0);
		seeded = 1;
	}
	env = getenv("CIM_FUZZ_TIME");
	if (env && *env)
		opt_time = strtod(env, NULL);
	env = getenv("CIM_FUZZ_THREADS");
	if (env && *env)
		opt_threads = atoi(env);
	env = getenv("CIM_FUZZ_FILES");
	if (env && *env)
		opt_files = atoi(env);
	env = getenv("CIM_FUZZ_ITERATIONS");
	if (env && *env)
		opt_iterations = strtol(env, NULL, 0);
	env = getenv("CIM_FUZZ_RACE");
	if (env && !strcmp(env, "0"))
		opt_race = 0;
	env = getenv("CIM_FUZZ_LOG_OPS");
	if (env && !strcmp(env, "1"))
		opt_log = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': opt_seed = strtoull(optarg, NULL, 0); seeded = 1; break;
		case 'i': opt_iterations = strtol(optarg, NULL, 0); break;
		case 't': opt_time = strtod(optarg, NULL); break;
		case 'j': opt_threads = atoi(optarg); break;
		case 'f': opt_files = atoi(optarg); break;
		case 'n': opt_race = 0; break;
		case 'l': opt_log = 1; break;
		default: usage(argv[0]);
		}
	}
	if (!seeded) {
		uint64_t x = now_ns() ^ ((uint64_t)getpid() << 32);

		opt_seed = splitmix(&x);
	}
	if (opt_threads < 1 || opt_threads > 64 || opt_files < 1 ||
	    opt_files > MAX_FILES)
		usage(argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	printf("1..%d\n", C_NCHECKS + 2);
	if (opt_iterations)
		say("seed %" PRIu64 " (replay: cim_fuzz --seed %" PRIu64 " --threads %d --files %d --iterations %ld%s)",
		    opt_seed, opt_seed, opt_threads, opt_files, opt_iterations,
		    opt_race ? "" : " --no-race");
	else
		say("seed %" PRIu64 " (replay: cim_fuzz --seed %" PRIu64 " --threads %d --files %d --time %g%s)",
		    opt_seed, opt_seed, opt_threads, opt_files, opt_time,
		    opt_race ? "" : " --no-race");

	for (i = 0; i < MAX_DEVS; i++) {
		int fd = open_dev(i);
		struct cim_query q = {
			.query = CIM_QUERY_DEVICE_INFO,
			.size = sizeof(struct cim_device_info),
		};

		if (fd < 0)
			continue;
		q.data_ptr = (uintptr_t)&devs[ndevs].info;
		if (!ioctl(fd, CIM_IOCTL_QUERY, &q)) {
			devs[ndevs].index = i;
			say("cim%d: %u crossbars %ux%u, %u APs %ux%u, caps %#x, api %u.%u, max_cmdbuf %u",
			    i, devs[ndevs].info.xbar_count,
			    devs[ndevs].info.xbar_rows, devs[ndevs].info.xbar_cols,
			    devs[ndevs].info.ap_count, devs[ndevs].info.ap_rows,
			    devs[ndevs].info.ap_cols, devs[ndevs].info.hw_caps,
			    devs[ndevs].info.api_major, devs[ndevs].info.api_minor,
			    devs[ndevs].info.max_cmdbuf);
			ndevs++;
		}
		close(fd);
		if (ndevs && devs[ndevs - 1].index == i)
			files0[ndevs - 1] = count_bo_list_files(i);
	}
	if (!ndevs) {
		printf("ok 1 # SKIP no /dev/cimN\n");
		for (i = 2; i <= C_NCHECKS + 2; i++)
			printf("ok %d # SKIP no device\n", i);
		return 4;
	}

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART: EINTR */
	signal(SIGPIPE, SIG_IGN);

	threads = calloc(opt_threads, sizeof(*threads));
	nthreads_all = opt_threads;
	race.fd = -1;
	atomic_store(&cd.fd, -1);
	t0 = now_ns();
	sig_running = opt_threads;
	for (i = 0; i < opt_threads; i++) {
		uint64_t x = opt_seed + i;

		threads[i].idx = i;
		threads[i].rng = splitmix(&x) | 1;
		pthread_create(&threads[i].tid, NULL, fuzz_thread, &threads[i]);
	}
	if (opt_race) {
		struct cim_bo_create cc = { .size = PAGE };

		/* mutate-while-submit on the last device */
		race.dev = ndevs - 1;
		race.seed = opt_seed ^ 0xabcdef;
		race.fd = open_dev(devs[race.dev].index);
		if (race.fd >= 0 && !ioctl(race.fd, CIM_IOCTL_BO_CREATE, &cc)) {
			race.cmd_handle = cc.handle;
			race.cmd = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
					MAP_SHARED, race.fd, cc.mmap_offset);
			cc = (struct cim_bo_create){ .size = PAGE };
			if (race.cmd != MAP_FAILED &&
			    !ioctl(race.fd, CIM_IOCTL_BO_CREATE, &cc)) {
				race.data_handle = cc.handle;
				pthread_create(&extra[nextra++], NULL, race_mutator, &race);
				pthread_create(&extra[nextra++], NULL, race_submitter, &race);
			}
		}
		/* create/destroy/close on the first device */
		cd.dev = 0;
		atomic_store(&cd.fd, open_dev(devs[0].index));
		pthread_rwlock_init(&cd.swap, NULL);
		cd.ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (atomic_load(&cd.fd) >= 0 && cd.ro != MAP_FAILED) {
			((struct cim_bo_create *)cd.ro)->size = PAGE;
			mprotect(cd.ro, PAGE, PROT_READ);
			pthread_create(&extra[nextra++], NULL, cd_creator, &cd);
			pthread_create(&extra[nextra++], NULL, cd_destroyer, &cd);
		}
		pthread_create(&extra[nextra++], NULL, signaller, NULL);
	}

	/* progress every 10 s until the fuzz threads end */
	for (i = 0; i < opt_threads; i++) {
		struct timespec ts;

		for (;;) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 10;
			if (!pthread_timedjoin_np(threads[i].tid, NULL, &ts))
				break;
			say("%.0f s: %ld ioctls, %ld jobs (%ld valid ok, %ld mutated of which %ld accepted), %ld failures",
			    (now_ns() - t0) / 1e9, atomic_load(&n_ioctls),
			    atomic_load(&n_jobs), atomic_load(&n_valid_ok),
			    atomic_load(&n_mutated), atomic_load(&n_mut_accepted),
			    atomic_load(&fails[C_ERRNO]) + atomic_load(&fails[C_RESULT]) +
			    atomic_load(&fails[C_LOST]) + atomic_load(&fails[C_ISOLATION]));
		}
	}
	atomic_store(&stop, 1);
	for (i = 0; i < nextra; i++)
		pthread_join(extra[i], NULL);
	/* a mapping holds its file: unmap, or the file stays in bo_list */
	if (race.cmd && race.cmd != MAP_FAILED)
		munmap(race.cmd, PAGE);
	if (race.fd >= 0)
		close(race.fd);
	if (atomic_load(&cd.fd) >= 0)
		close(atomic_load(&cd.fd));
	for (i = 0; i < opt_threads; i++)
		total_ops += threads[i].ops;
	say("%ld iterations over %d threads in %.1f s: %ld ioctls, %ld jobs, %ld valid jobs checked, %ld mutated submits (%ld accepted), %ld closes with jobs in flight, %ld EINTR, %ld ENOMEM",
	    total_ops, opt_threads, (now_ns() - t0) / 1e9, atomic_load(&n_ioctls),
	    atomic_load(&n_jobs), atomic_load(&n_valid_ok),
	    atomic_load(&n_mutated), atomic_load(&n_mut_accepted),
	    atomic_load(&n_closes_inflight), atomic_load(&n_eintr),
	    atomic_load(&n_enomem));
	say("AP reads after a reservation: %ld, %ld with an old owner's rows",
	    atomic_load(&n_scrub_checked), atomic_load(&n_scrub_seen));
	if (opt_race)
		say("create/destroy race: %ld creates, %ld EFAULT copy-outs, %ld destroys",
		    cd.creates, cd.efaults, cd.destroys);

	for (c = 0; c < C_NCHECKS; c++) {
		long n = atomic_load(&fails[c]);

		ntests++;
		if (c == C_SCRUB && !(devs[0].info.hw_caps & CIM_CAPS_SCRUB))
			printf("%s %d %s # TODO device cannot scrub: %ld of %ld reads saw an old owner's rows\n",
			       atomic_load(&n_scrub_seen) ? "not ok" : "ok", ntests,
			       check_name[c], atomic_load(&n_scrub_seen),
			       atomic_load(&n_scrub_checked));
		else
			printf("%s %d %s\n", n ? "not ok" : "ok", ntests,
			       check_name[c]);
		if (n)
			say("%ld failures of '%s' (first 10 above); seed %" PRIu64,
			    n, check_name[c], opt_seed);
	}

	/* Afterwards: every device works, nothing in flight, no file left */
	{
		for (i = 0; i < ndevs; i++) {
			long inflight;
			int k;

			if (!device_works(devs[i].index)) {
				say("cim%d does not run a NOP any more", devs[i].index);
				bad = 1;
			}
			for (k = 0; k < 100 && (inflight = sysfs_long(devs[i].index,
					"jobs_in_flight")) > 0; k++)
				usleep(100000);
			if (inflight) {
				say("cim%d: %ld jobs in flight 10 s after the end",
				    devs[i].index, inflight);
				bad = 1;
			}
			if (files0[i] >= 0 &&
			    count_bo_list_files(devs[i].index) != files0[i]) {
				say("cim%d: %d files in bo_list, %d before",
				    devs[i].index, count_bo_list_files(devs[i].index),
				    files0[i]);
				bad = 1;
			}
			say("cim%d: reset_count %ld, jobs_submitted %ld, jobs_completed %ld",
			    devs[i].index, sysfs_long(devs[i].index, "reset_count"),
			    sysfs_long(devs[i].index, "jobs_submitted"),
			    sysfs_long(devs[i].index, "jobs_completed"));
		}
		printf("%s %d devices work afterwards, no job in flight, no file left\n",
		       bad ? "not ok" : "ok", ++ntests);
	}
	{
		long total = 0;

		for (c = 0; c < C_NCHECKS; c++)
			if (c != C_SCRUB || (devs[0].info.hw_caps & CIM_CAPS_SCRUB))
				total += atomic_load(&fails[c]);
		printf("%s %d fuzzed %ld ioctls, %ld jobs, seed %" PRIu64 "\n",
		       total ? "not ok" : "ok", ++ntests, atomic_load(&n_ioctls),
		       atomic_load(&n_jobs), opt_seed);
		return total || bad ? 1 : 0;
	}
}
