// SPDX-License-Identifier: MIT
/*
 * cim-ternary train: a small ternary CNN (tnet.h) trained in software on
 * MNIST or Fashion-MNIST, next to the same network in fp32; then the
 * ternary network as integers, in software and on the APs of a cim device
 * through cim_ternary_compile() and cim_ternary_run(), image for image.
 * The two integer paths must agree exactly: every accumulator and every
 * prediction; the tool counts the differences and fails if there are any.
 * Documentation/ternary-cnn.rst describes it.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"
#include "tnet.h"

#define IMG_BYTES	(TNET_IMG * TNET_IMG)

struct dataset {
	unsigned int n;
	uint8_t *x;		/* n * 784 pixel bytes */
	uint8_t *y;
};

static struct {
	const char *dataset, *data_dir, *device;
	unsigned int epochs, batch, limit, test_limit, c1, c2, group;
	float lr;
	uint64_t seed;
	bool fp32, quiet;
} opt = {
	.dataset = "mnist", .batch = 32, .c1 = 16, .c2 = 32, .group = 4,
	.lr = 0.003f, .seed = 1, .fp32 = true,
};

static void usage(FILE *f)
{
	fputs("usage: cim-ternary train [options]\n"
	      "  --dataset mnist|fashion  data (default mnist)\n"
	      "  --data-dir DIR           IDX files (default $BUILD/data/<dataset>,\n"
	      "                           BUILD defaulting to build; tools/data/fetch-*.sh)\n"
	      "  --epochs N               training epochs (default 8 for mnist,\n"
	      "                           3 for fashion)\n"
	      "  --limit N                training images (default all)\n"
	      "  --test-limit N           test images (default all)\n"
	      "  --seed N                 initialisation and order (default 1)\n"
	      "  --batch N --lr X         Adam, cosine schedule (default 32, 0.003)\n"
	      "  --channels C1,C2         filters of conv1 and conv2 (default 16,32)\n"
	      "  -g, --group G            AP partial-sum group, 1..6 (default 4)\n"
	      "  --device NAME            embedded or /dev/cimN (default $CIM_DEVICE,\n"
	      "                           else embedded)\n"
	      "  --no-fp32                skip the fp32 baseline\n"
	      "  --quiet                  no progress\n", f);
}

static void load_set(const char *dir, const char *prefix, unsigned int limit,
		     struct dataset *d)
{
	struct idx_file im, lb;

	tool_load_images(dir, prefix, TNET_CLASSES,
			 strcmp(opt.dataset, "fashion") ?
			 " (tools/data/fetch-mnist.sh fetches the data)" :
			 " (tools/data/fetch-fashion-mnist.sh fetches the data)",
			 &im, &lb);
	d->n = limit && limit < im.count ? limit : (unsigned int)im.count;
	d->x = im.data;		/* keeps all; only the first n are used */
	d->y = lb.data;
}

static void shuffle(uint32_t *ord, unsigned int n, uint64_t s)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		ord[i] = i;
	for (i = n - 1; i > 0; i--) {
		unsigned int j = (unsigned int)(tnet_splitmix64(&s) % (i + 1));
		uint32_t t = ord[i];

		ord[i] = ord[j];
		ord[j] = t;
	}
}

/* Test accuracy of the fp32 forward (ternary: fake-quantized), percent */
static double evaluate(struct tnet *n, const struct dataset *d)
{
	unsigned int i, ok = 0, c;

	for (i = 0; i < d->n; i += n->batch_max) {
		unsigned int b = d->n - i < n->batch_max ? d->n - i : n->batch_max;

		tnet_forward(n, d->x + (size_t)i * IMG_BYTES, b, d->y + i, &c);
		ok += c;
	}
	return 100.0 * ok / d->n;
}

/* Train @n on @tr for opt.epochs; every epoch's line on stdout */
static double train(struct tnet *n, const char *tag, const struct dataset *tr,
		    const struct dataset *te)
{
	uint32_t *ord = malloc(tr->n * sizeof(*ord));
	uint8_t *xb = malloc((size_t)opt.batch * IMG_BYTES), *yb = malloc(opt.batch);
	unsigned int epoch, i, j, steps_per = (tr->n + opt.batch - 1) / opt.batch;
	double total = (double)steps_per * opt.epochs, tstart = tool_now(), acc = 0;
	bool tty = isatty(STDERR_FILENO);
	uint64_t step = 0;

	if (!ord || !xb || !yb)
		tool_die("out of memory");
	for (epoch = 0; epoch < opt.epochs; epoch++) {
		double loss = 0.0, t0 = tool_now();
		unsigned int ok = 0, seen = 0, c;
		struct tool_progress prog = {
			.tag = tag, .epoch = epoch + 1, .total = tr->n,
			.t0 = t0, .tty = tty, .quiet = opt.quiet,
		};

		/* the order depends on the seed and the epoch only */
		shuffle(ord, tr->n, opt.seed * 1000003ull + epoch);
		for (i = 0; i < tr->n; i += opt.batch) {
			unsigned int b = tr->n - i < opt.batch ? tr->n - i : opt.batch;
			/* cosine from lr to 0 over the whole run */
			float lr = (float)(opt.lr * 0.5 *
					   (1.0 + cos(M_PI * (double)step / total)));

			for (j = 0; j < b; j++) {
				memcpy(xb + (size_t)j * IMG_BYTES,
				       tr->x + (size_t)ord[i + j] * IMG_BYTES,
				       IMG_BYTES);
				yb[j] = tr->y[ord[i + j]];
			}
			loss += (double)tnet_forward(n, xb, b, yb, &c) * b;
			tnet_backward_step(n, yb, b, lr);
			ok += c;
			seen += b;
			step++;
			tool_progress(&prog, seen, loss / seen, 100.0 * ok / seen);
		}
		acc = evaluate(n, te);
		printf("%s epoch %u/%u: loss %.4f train %.2f%% test %.2f%%",
		       tag, epoch + 1, opt.epochs, loss / seen,
		       100.0 * ok / seen, acc);
		if (n->ternary)
			printf(" clips %.3f %.3f", n->clip[0], n->clip[1]);
		printf(" | %.1fs\n", tool_now() - t0);
		fflush(stdout);
	}
	printf("%s%s: %.2f%% on %u test images, trained in %.1fs\n", tag,
	       n->ternary ? " (fp32 forward, quantizers simulated)" : "", acc,
	       te->n, tool_now() - tstart);
	fflush(stdout);
	free(ord);
	free(xb);
	free(yb);
	return acc;
}

/* Integer inference ------------------------------------------------------ */

struct int_result {
	unsigned int ok_sw, ok_ap, mismatch, n;
	uint64_t acc_diff[3], acc_count[3];
	uint32_t hash_ap;		/* FNV-1a of the AP predictions */
	double t_sw, t_ap;
};

static unsigned int count_diff(const int32_t *a, const int32_t *b, size_t n)
{
	unsigned int d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d += a[i] != b[i];
	return d;
}

/*
 * The test set through both integer paths, chunk by chunk: software
 * (tnet_conv_sw) and the APs (tnet_ap_layer), each from its own
 * accumulators on; every layer's accumulators are compared.
 */
static void eval_int(const struct tnet_int *q, struct tnet_ap *ap,
		     struct cim_device *dev, const struct dataset *te,
		     struct int_result *res)
{
	unsigned int c1 = q->c1, c2 = q->c2, chunk = ap->nb[2], i, b, li;
	size_t n1 = (size_t)TNET_H1 * TNET_H1 * c1, np1 = (size_t)TNET_P1 * TNET_P1 * c1;
	size_t n2 = (size_t)TNET_H2 * TNET_H2 * c2, np2 = (size_t)TNET_P2 * TNET_P2 * c2;
	size_t nacc[3] = { n1, n2, TNET_CLASSES };
	uint8_t *x0 = malloc((size_t)chunk * IMG_BYTES);
	uint8_t *p1[2], *p2[2];
	int32_t *a[2][3];
	int r;

	memset(res, 0, sizeof(*res));
	res->hash_ap = 2166136261u;
	for (i = 0; i < 2; i++) {
		p1[i] = malloc(chunk * np1);
		p2[i] = malloc(chunk * np2);
		for (li = 0; li < 3; li++)
			a[i][li] = malloc(chunk * nacc[li] * sizeof(int32_t));
		if (!p1[i] || !p2[i] || !a[i][0] || !a[i][1] || !a[i][2])
			tool_die("out of memory");
	}
	if (!x0)
		tool_die("out of memory");
	for (i = 0; i < te->n; i += chunk) {
		unsigned int m = te->n - i < chunk ? te->n - i : chunk;
		double t0;

		for (b = 0; b < m; b++)
			tnet_input_codes(te->x + (size_t)(i + b) * IMG_BYTES,
					 x0 + (size_t)b * IMG_BYTES);
		/* software [0] */
		t0 = tool_now();
		for (b = 0; b < m; b++) {
			int32_t *acc1 = a[0][0] + b * n1, *acc2 = a[0][1] + b * n2;
			uint8_t *q1 = p1[0] + b * np1, *q2 = p2[0] + b * np2;

			tnet_conv_sw(x0 + (size_t)b * IMG_BYTES, TNET_IMG, 1,
				     q->t1, c1, TNET_K, acc1);
			tnet_requant_pool(acc1, TNET_H1, c1, q->m1, q->o1, q1);
			tnet_conv_sw(q1, TNET_P1, c1, q->t2, c2, TNET_K, acc2);
			tnet_requant_pool(acc2, TNET_H2, c2, q->m2, q->o2, q2);
			tnet_conv_sw(q2, 1, (unsigned int)np2, q->t3,
				     TNET_CLASSES, 1, a[0][2] + b * TNET_CLASSES);
		}
		res->t_sw += tool_now() - t0;
		/* APs [1] */
		t0 = tool_now();
		r = tnet_ap_layer(ap, dev, 0, x0, m, a[1][0]);
		for (b = 0; !r && b < m; b++)
			tnet_requant_pool(a[1][0] + b * n1, TNET_H1, c1, q->m1,
					  q->o1, p1[1] + b * np1);
		if (!r)
			r = tnet_ap_layer(ap, dev, 1, p1[1], m, a[1][1]);
		for (b = 0; !r && b < m; b++)
			tnet_requant_pool(a[1][1] + b * n2, TNET_H2, c2, q->m2,
					  q->o2, p2[1] + b * np2);
		if (!r)
			r = tnet_ap_layer(ap, dev, 2, p2[1], m, a[1][2]);
		if (r)
			tool_die("AP inference: %s", cim_strerror(r));
		res->t_ap += tool_now() - t0;
		for (li = 0; li < 3; li++) {
			res->acc_diff[li] += count_diff(a[0][li], a[1][li],
							m * nacc[li]);
			res->acc_count[li] += m * nacc[li];
		}
		for (b = 0; b < m; b++) {
			unsigned int ps = tnet_classify(a[0][2] + b * TNET_CLASSES,
							q->m3, q->o3);
			unsigned int pa = tnet_classify(a[1][2] + b * TNET_CLASSES,
							q->m3, q->o3);
			uint8_t y = te->y[i + b];

			res->ok_sw += ps == y;
			res->ok_ap += pa == y;
			res->mismatch += ps != pa;
			res->hash_ap = (res->hash_ap ^ pa) * 16777619u;
		}
		res->n += m;
		if (!opt.quiet && isatty(STDERR_FILENO))
			fprintf(stderr, "\rinteger inference %u/%u", res->n,
				te->n);
	}
	if (!opt.quiet && isatty(STDERR_FILENO))
		fputs("\r\033[K", stderr);
	for (i = 0; i < 2; i++) {
		free(p1[i]);
		free(p2[i]);
		for (li = 0; li < 3; li++)
			free(a[i][li]);
	}
	free(x0);
}

static void parse_channels(const char *s)
{
	const char *comma = strchr(s, ',');
	unsigned long long v1, v2;
	char c1[16];

	if (!comma || comma - s >= (ptrdiff_t)sizeof(c1))
		tool_usage_die("--channels %s: expected C1,C2, each in 1..64",
			       s);
	memcpy(c1, s, comma - s);
	c1[comma - s] = 0;
	if (!tool_parse_uint(c1, 1, 64, &v1) ||
	    !tool_parse_uint(comma + 1, 1, 64, &v2))
		tool_usage_die("--channels %s: expected C1,C2, each in 1..64",
			       s);
	opt.c1 = (unsigned int)v1;
	opt.c2 = (unsigned int)v2;
}

/*
 * Options into opt, the dataset's defaults filled in; -1 to go on, else
 * the exit code (--help, usage errors)
 */
static int parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dataset", 1, 0, 'D' }, { "data-dir", 1, 0, 'd' },
		{ "epochs", 1, 0, 'e' }, { "limit", 1, 0, 'n' },
		{ "test-limit", 1, 0, 'N' }, { "seed", 1, 0, 's' },
		{ "batch", 1, 0, 'b' }, { "lr", 1, 0, 'l' },
		{ "channels", 1, 0, 'c' }, { "group", 1, 0, 'g' },
		{ "device", 1, 0, 'v' }, { "no-fp32", 0, 0, 'F' },
		{ "quiet", 0, 0, 'q' }, { "help", 0, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	static char dir[4096];
	int c;

	while ((c = getopt_long(argc, argv, "g:h", lo, NULL)) != -1) {
		switch (c) {
		case 'D': opt.dataset = optarg; break;
		case 'd': opt.data_dir = optarg; break;
		case 'e': opt.epochs = tool_arg_uint("epochs", optarg, 1, 1000); break;
		case 'n': opt.limit = tool_arg_uint("limit", optarg, 1, UINT_MAX); break;
		case 'N': opt.test_limit = tool_arg_uint("test-limit", optarg, 1, UINT_MAX); break;
		case 's': opt.seed = tool_arg_uint("seed", optarg, 0, UINT_MAX); break;
		case 'b': opt.batch = tool_arg_uint("batch", optarg, 1, 1024); break;
		case 'l':
			opt.lr = tool_arg_float("lr", optarg, 0.0f, 1.0f);
			if (!(opt.lr > 0.0f))
				tool_usage_die("--lr %s: expected a number in (0, 1]",
					       optarg);
			break;
		case 'c': parse_channels(optarg); break;
		case 'g': opt.group = tool_arg_uint("group", optarg, 1,
						 CIM_TERNARY_MAX_GROUP); break;
		case 'v': opt.device = optarg; break;
		case 'F': opt.fp32 = false; break;
		case 'q': opt.quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return TOOL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cim-ternary train: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return TOOL_EXIT_USAGE;
	}
	if (strcmp(opt.dataset, "mnist") && strcmp(opt.dataset, "fashion"))
		tool_usage_die("--dataset %s: mnist or fashion",
			       opt.dataset);
	if (!opt.epochs)	/* Fashion-MNIST has 7.5x MNIST's 8,000 */
		opt.epochs = strcmp(opt.dataset, "fashion") ? 8 : 3;
	if (!opt.data_dir) {
		const char *bd = getenv("BUILD");

		snprintf(dir, sizeof(dir), "%s/data/%s", bd && *bd ? bd : "build",
			 opt.dataset);
		opt.data_dir = dir;
	}
	return -1;
}

/* Per compiled layer: images per run, AP rows, additions per run */
static void print_ap_layers(const struct tnet_ap *ap)
{
	static const char *const name[3] = { "conv1", "conv2", "fc" };
	unsigned int li;

	for (li = 0; li < 3; li++) {
		const struct cim_ternary_stats *st = cim_ternary_stats(ap->l[li]);
		uint64_t shared = st->adds_build + st->adds_term;
		unsigned int oh, ow, valid = (ap->h[li] - ap->k[li] + 1) *
			(ap->w[li] - ap->k[li] + 1) * ap->nb[li];

		cim_ternary_out_dims(ap->l[li], &oh, &ow);
		printf("  %-5s %3u image%s per run: %u AP rows, %u of them "
		       "pixels of an image; additions %llu plain, %llu shared "
		       "(%.1f%% saved)\n", name[li], ap->nb[li],
		       ap->nb[li] > 1 ? "s" : "", oh * ow, valid,
		       (unsigned long long)st->adds_plain,
		       (unsigned long long)shared, st->adds_plain ?
		       100.0 * (1.0 - (double)shared / st->adds_plain) : 0.0);
	}
}

static void print_int_result(const struct int_result *res,
			     const struct tnet_ap *ap, const char *devname,
			     double acc_fp)
{
	double sw = 100.0 * res->ok_sw / res->n, apc = 100.0 * res->ok_ap / res->n;

	printf("ternary, integer software: %.2f%% (%u images, %.2fs)\n",
	       sw, res->n, res->t_sw);
	printf("ternary, APs (%s): %.2f%% (%u images, %.2fs; %llu jobs, "
	       "%.3f uJ and %.3f ms device time per image; predictions "
	       "%08x)\n", devname, apc, res->n, res->t_ap,
	       (unsigned long long)ap->rs.jobs,
	       ap->rs.energy_fj * 1e-9 / res->n,
	       ap->rs.device_time_ps * 1e-9 / res->n, res->hash_ap);
	printf("accumulators differing, AP vs software: conv1 %llu of %llu, "
	       "conv2 %llu of %llu, fc %llu of %llu\n",
	       (unsigned long long)res->acc_diff[0],
	       (unsigned long long)res->acc_count[0],
	       (unsigned long long)res->acc_diff[1],
	       (unsigned long long)res->acc_count[1],
	       (unsigned long long)res->acc_diff[2],
	       (unsigned long long)res->acc_count[2]);
	printf("mismatches: %u of %u predictions (AP vs software ternary)%s\n",
	       res->mismatch, res->n, res->mismatch ? "" :
	       ": the APs compute the software model exactly");
	printf("summary: %s", opt.dataset);
	if (opt.fp32)
		printf(" fp32 %.2f%%,", acc_fp);
	printf(" ternary software %.2f%%, ternary AP %.2f%%, mismatches %u\n",
	       sw, apc, res->mismatch);
}

int tnet_train_main(int argc, char **argv)
{
	struct dataset tr, te;
	struct tnet fp, tn;
	struct tnet_int q;
	struct tnet_ap ap;
	struct int_result res;
	struct cim_device *dev;
	double acc_fp = 0, t0;
	const char *devname;
	unsigned int scratch;
	int r;

	tool_name = "cim-ternary";
	r = parse_args(argc, argv);
	if (r >= 0)
		return r;
	/* evaluate() runs 100 images per forward at least: fewer sgemm calls */
	scratch = opt.batch < 100 ? 100 : opt.batch;
	devname = opt.device ? opt.device : getenv("CIM_DEVICE");
	if (!devname || !*devname)
		devname = "embedded";
	/* single-threaded: deterministic sums, and the cores are shared */
	openblas_set_num_threads(1);
	load_set(opt.data_dir, "train", opt.limit, &tr);
	load_set(opt.data_dir, "t10k", opt.test_limit, &te);
	r = cim_device_open(&dev, devname);
	if (r)
		tool_die("%s: %s", devname, cim_strerror(r));

	printf("cim-ternary train: %s, %u train / %u test images; conv 5x5 "
	       "1->%u, pool 2, conv 5x5 %u->%u, pool 2, fc %u->%u; seed %llu, "
	       "%u epochs, batch %u, Adam lr %g (cosine)\n", opt.dataset,
	       tr.n, te.n, opt.c1, opt.c1, opt.c2,
	       TNET_P2 * TNET_P2 * opt.c2, TNET_CLASSES,
	       (unsigned long long)opt.seed, opt.epochs, opt.batch, opt.lr);
	fflush(stdout);
	if (opt.fp32) {
		if (tnet_create(&fp, opt.c1, opt.c2, false, scratch, opt.seed))
			tool_die("out of memory");
		acc_fp = train(&fp, "fp32", &tr, &te);
		tnet_destroy(&fp);
	}
	if (tnet_create(&tn, opt.c1, opt.c2, true, scratch, opt.seed))
		tool_die("out of memory");
	train(&tn, "ternary", &tr, &te);
	r = tnet_export(&tn, &q);
	if (r == -ERANGE)
		tool_die("export: a trained scale or bias is not finite or too large "
		    "for the 64-bit requantization (training diverged: try a "
		    "smaller --lr)");
	if (r)
		tool_die("export: %s", strerror(-r));
	printf("ternary weights: %u of %u zero (%.1f%%); 4-bit activations, "
	       "clips %.4f %.4f\n", q.zeros, q.weights, 100.0 * q.zeros /
	       q.weights, tn.clip[0], tn.clip[1]);
	t0 = tool_now();
	r = tnet_ap_compile(&q, dev, opt.group, &ap);
	if (r)
		tool_die("%s: compiling for the APs: %s", devname, r == -E2BIG ?
		    "the layout does not fit the device's APs" :
		    cim_strerror(r));
	printf("AP (%s, %u APs x %u rows, group %u): compiled in %.2fs\n",
	       devname, ap.tgt.ap_count, ap.tgt.ap_rows, opt.group, tool_now() - t0);
	print_ap_layers(&ap);
	fflush(stdout);
	eval_int(&q, &ap, dev, &te, &res);
	print_int_result(&res, &ap, devname, acc_fp);
	tnet_ap_destroy(&ap);
	tnet_int_free(&q);
	tnet_destroy(&tn);
	cim_device_close(dev);
	free(tr.x);
	free(tr.y);
	free(te.x);
	free(te.y);
	return res.mismatch || res.acc_diff[0] || res.acc_diff[1] ||
	       res.acc_diff[2] ? 1 : 0;
}
