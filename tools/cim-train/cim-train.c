// SPDX-License-Identifier: MIT
/*
 * cim-train: LeNet-5 trained on the cim device by mixed precision
 * (forward and transposed VMMs on the crossbars, updates through the DUU),
 * or in fp32 on the host with the same data, initialisation and schedule.
 * Documentation/train.rst describes it.
 */
#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cim_hw.h"
#include "net.h"
#include "tool.h"

struct dataset {
	unsigned int n;
	float *x;		/* n * 784, [0, 1] */
	uint8_t *y;
};

static struct {
	const char *dataset, *data_dir, *device, *preset, *csv, *plot;
	const char *checkpoint, *backend, *norm, *init;
	unsigned int epochs, batch, lr_step, train_limit, test_limit, pad;
	unsigned int shift;
	float lr, momentum, wmax_scale, weight_decay;
	uint64_t seed, chip_seed, transfer_seed;
	bool resume, transfer, host_momentum, quiet;
} opt = {
	.dataset = "mnist", .device = "embedded", .preset = "default",
	.backend = "device", .epochs = 15, .batch = 32, .lr_step = 3,
	.lr = 0.05f, .momentum = 0.9f, .wmax_scale = 2.0f, .seed = 0,
	.chip_seed = 1, .transfer_seed = 0, .host_momentum = true,
	.norm = "none", .init = "he", .pad = 2, .weight_decay = 1e-3f,
	.shift = 1,
};

static void load_set(const char *dir, const char *prefix, unsigned int limit,
		     struct dataset *d)
{
	struct idx_file im, lb;
	size_t i;

	tool_load_images(dir, prefix, NET_CLASSES, NULL, &im, &lb);
	d->n = limit && limit < im.count ? limit : (unsigned int)im.count;
	d->x = malloc((size_t)d->n * 784 * sizeof(float));
	d->y = malloc(d->n);
	if (!d->x || !d->y)
		tool_die("out of memory");
	for (i = 0; i < (size_t)d->n * 784; i++)
		d->x[i] = im.data[i] / 255.0f;
	memcpy(d->y, lb.data, d->n);
	idx_free(&im);
	idx_free(&lb);
}

/*
 * Input scaling, the same for both backends and both sets: "std" to zero
 * mean and unit variance with the training set's statistics (one mean and
 * one deviation over all pixels), "sym" to [-1, 1], "none" keeps [0, 1].
 */
static void normalize(struct dataset *tr, struct dataset *te)
{
	double sum = 0.0, sq = 0.0, mean, sd;
	size_t i, n = (size_t)tr->n * 784;

	if (!strcmp(opt.norm, "none"))
		return;
	if (!strcmp(opt.norm, "sym")) {
		mean = 0.5;
		sd = 0.5;
	} else {
		for (i = 0; i < n; i++) {
			sum += tr->x[i];
			sq += (double)tr->x[i] * tr->x[i];
		}
		mean = sum / n;
		sd = sqrt(sq / n - mean * mean);
	}
	for (i = 0; i < n; i++)
		tr->x[i] = (float)((tr->x[i] - mean) / sd);
	for (i = 0; i < (size_t)te->n * 784; i++)
		te->x[i] = (float)((te->x[i] - mean) / sd);
}

/*
 * Augmentation: the training image moved by a random integer offset in
 * [-shift, shift] on each axis, the background (the corner pixel) filling
 * in. The offsets come from the seed, the epoch and the position in the
 * epoch only, so both backends and a resumed run see the same images.
 */
static void shift_image(const float *src, float *dst, uint64_t key)
{
	uint64_t z = key * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
	unsigned int span = 2 * opt.shift + 1;
	int dx, dy, y, x;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	dx = (int)(z % span) - (int)opt.shift;
	dy = (int)((z >> 32) % span) - (int)opt.shift;
	for (y = 0; y < 28; y++)
		for (x = 0; x < 28; x++) {
			int sy = y - dy, sx = x - dx;

			dst[y * 28 + x] = sy >= 0 && sy < 28 && sx >= 0 &&
					  sx < 28 ? src[sy * 28 + sx] : src[0];
		}
}

static struct cim_device *open_device(const char *name, uint64_t seed)
{
	struct cim_device *dev;
	int ret;

	if (!strcmp(name, "embedded")) {
		struct cim_embedded_options eo = {
			.size = sizeof(eo), .flags = CIM_EMB_F_SEED,
			.seed = seed,
		};

		if (!strcmp(opt.preset, "ideal"))
			eo.flags |= CIM_EMB_F_NO_NOISE | CIM_EMB_F_NO_VARIATION;
		else if (!strcmp(opt.preset, "no-noise"))
			eo.flags |= CIM_EMB_F_NO_NOISE;
		else if (!strcmp(opt.preset, "no-variation"))
			eo.flags |= CIM_EMB_F_NO_VARIATION;
		else if (strcmp(opt.preset, "default"))
			tool_usage_die("--preset %s: default, ideal, no-noise or no-variation",
				       opt.preset);
		ret = cim_device_open_embedded(&dev, &eo);
	} else {
		if (strcmp(opt.preset, "default"))
			tool_usage_die("--preset %s: a kernel device's physics are set when it is created (cim-pci properties)",
				       opt.preset);
		ret = cim_device_open(&dev, name);
	}
	if (ret)
		tool_die("%s: %s", name, cim_strerror(ret));
	return dev;
}

/* The device's counters, summed over units */
struct meter {
	uint64_t pulses, vmms;
	double energy_uj, time_ms;
};

static void meter_read(struct cim_device *dev, struct meter *m)
{
	struct cim_counters c = { .size = sizeof(c) };
	int i, ret;

	memset(m, 0, sizeof(*m));
	if (!dev)
		return;
	ret = cim_device_counters(dev, &c);
	if (ret)
		tool_die("counters: %s", cim_strerror(ret));
	m->pulses = c.pulses_pos + c.pulses_neg;
	m->vmms = c.vmm_fwd + c.vmm_trans;
	for (i = 0; i < CIM_UNIT_COUNT; i++)
		m->energy_uj += c.energy_fj[i] * 1e-9;
	m->time_ms = c.device_time_ps * 1e-9;
}

static float evaluate(struct net *n, const struct dataset *d)
{
	unsigned int i, ok = 0, c, bs = n->batch_max;
	int ret;

	for (i = 0; i < d->n; i += bs) {
		unsigned int b = d->n - i < bs ? d->n - i : bs;

		ret = net_forward(n, d->x + (size_t)i * 784, b);
		if (ret)
			tool_die("forward: %s", cim_strerror(ret));
		net_loss(n, d->y + i, b, &c);
		ok += c;
	}
	return 100.0f * ok / d->n;
}

/* Checkpoints -------------------------------------------------------------- */

#define CKPT_MAGIC	"CIMTRCK1"

struct ckpt_hdr {
	char magic[8];
	uint32_t epoch;		/* epochs done */
	uint32_t nparams;	/* floats per copy (w and b of every layer) */
	uint64_t seed, chip_seed;
	uint32_t batch, device_backend;
	char dataset[16];
};

/* FNV-1a 64: catches a torn or edited file; not a MAC */
static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len--)
		h = (h ^ *b++) * 0x100000001b3ull;
	return h;
}

static void put(int fd, const void *p, size_t len, uint64_t *h,
		const char *path)
{
	const char *b = p;

	*h = fnv(*h, p, len);
	while (len) {
		ssize_t w = write(fd, b, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			tool_die("%s: %s", path, strerror(errno));
		b += w;
		len -= (size_t)w;
	}
}

static void ckpt_save(const char *path, struct net *n, unsigned int epoch,
		      const float *lr_now)
{
	struct ckpt_hdr h = { .epoch = epoch,
			      .nparams = (uint32_t)net_param_count(n),
			      .seed = opt.seed, .chip_seed = opt.chip_seed,
			      .batch = opt.batch,
			      .device_backend = n->dev != NULL };
	char tmp[4096], dirbuf[4096];
	uint64_t hash = 0xcbf29ce484222325ull;
	int fd, i, ret;

	memcpy(h.magic, CKPT_MAGIC, 8);
	snprintf(h.dataset, sizeof(h.dataset), "%s", opt.dataset);
	ret = net_sync_weights(n);
	if (ret)
		tool_die("export: %s", cim_strerror(ret));
	snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		tool_die("%s: %s", tmp, strerror(errno));
	put(fd, &h, sizeof(h), &hash, tmp);
	put(fd, lr_now, sizeof(*lr_now), &hash, tmp);
	for (i = 0; i < NET_LAYERS; i++) {
		struct layer *l = &n->L[i];
		size_t nw = (size_t)l->k * l->out;

		put(fd, l->w, nw * sizeof(float), &hash, tmp);
		put(fd, l->vw, nw * sizeof(float), &hash, tmp);
		put(fd, l->b, l->out * sizeof(float), &hash, tmp);
		put(fd, l->vb, l->out * sizeof(float), &hash, tmp);
	}
	{
		uint64_t hh = hash, dummy = 0;

		put(fd, &hh, sizeof(hh), &dummy, tmp);
	}
	/* data on disk before the name points at it, then the name */
	if (fsync(fd) || close(fd))
		tool_die("%s: %s", tmp, strerror(errno));
	if (rename(tmp, path))
		tool_die("%s: rename: %s", path, strerror(errno));
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	fd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static void get(FILE *fp, void *p, size_t len, uint64_t *h, const char *path)
{
	if (fread(p, 1, len, fp) != len)
		tool_die("%s: truncated checkpoint", path);
	*h = fnv(*h, p, len);
}

/* Returns the epochs done; weights and velocities into @n (host copy) */
static unsigned int ckpt_load(const char *path, struct net *n, float *lr_now)
{
	uint64_t hash = 0xcbf29ce484222325ull, stored, dummy = 0;
	struct ckpt_hdr h;
	FILE *fp;
	int i, c;

	fp = fopen(path, "rb");
	if (!fp)
		tool_die("%s: %s", path, strerror(errno));
	get(fp, &h, sizeof(h), &hash, path);
	if (memcmp(h.magic, CKPT_MAGIC, 8))
		tool_die("%s: not a cim-train checkpoint", path);
	if (h.nparams != net_param_count(n) ||
	    h.device_backend != (n->dev != NULL) || h.batch != opt.batch ||
	    strncmp(h.dataset, opt.dataset, sizeof(h.dataset)))
		tool_die("%s: written by another configuration (dataset %.16s, batch %u, %s backend)",
		    path, h.dataset, h.batch,
		    h.device_backend ? "device" : "software");
	get(fp, lr_now, sizeof(*lr_now), &hash, path);
	for (i = 0; i < NET_LAYERS; i++) {
		struct layer *l = &n->L[i];
		size_t nw = (size_t)l->k * l->out;

		get(fp, l->w, nw * sizeof(float), &hash, path);
		get(fp, l->vw, nw * sizeof(float), &hash, path);
		get(fp, l->b, l->out * sizeof(float), &hash, path);
		get(fp, l->vb, l->out * sizeof(float), &hash, path);
	}
	get(fp, &stored, sizeof(stored), &dummy, path);
	c = fgetc(fp);
	fclose(fp);
	if (c != EOF)
		tool_die("%s: trailing data after the checkpoint", path);
	if (stored != hash)
		tool_die("%s: checksum mismatch (corrupt checkpoint)", path);
	return h.epoch;
}

/* Training --------------------------------------------------------------- */

struct result {
	float test_acc, transfer_acc;
	double secs;
};

static void shuffle(uint32_t *ord, unsigned int n, uint64_t *s)
{
	unsigned int i;

	for (i = n - 1; i > 0; i--) {
		uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
		unsigned int j;
		uint32_t t;

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		j = (unsigned int)(z % (i + 1));
		t = ord[i];
		ord[i] = ord[j];
		ord[j] = t;
	}
}

static float transfer_eval(struct net *src, const struct dataset *test,
			   uint64_t *failed)
{
	struct net_opts o = src->o;
	struct cim_device *dev2;
	struct net n2;
	float acc;
	int i, ret;

	dev2 = open_device("embedded", opt.transfer_seed);
	ret = net_sync_weights(src);
	if (ret)
		tool_die("export: %s", cim_strerror(ret));
	ret = net_create(&n2, dev2, &o, opt.seed);
	if (ret)
		tool_die("second chip: %s", cim_strerror(ret));
	for (i = 0; i < NET_LAYERS; i++) {
		size_t nw = (size_t)src->L[i].k * src->L[i].out;

		memcpy(n2.L[i].w, src->L[i].w, nw * sizeof(float));
		memcpy(n2.L[i].b, src->L[i].b, src->L[i].out * sizeof(float));
		/* fp32 weights may lie beyond the crossbar's w_max: clipped */
		n2.L[i].w_max = src->L[i].w_max;
	}
	*failed = 0;
	ret = net_program(&n2, failed);
	if (ret)
		tool_die("second chip: programming: %s", cim_strerror(ret));
	acc = evaluate(&n2, test);
	net_destroy(&n2);
	cim_device_close(dev2);
	return acc;
}

static struct result train(bool on_device, const struct dataset *train_set,
			   const struct dataset *test_set, FILE *csv)
{
	const char *tag = on_device ? "device" : "fp32";
	struct net_opts no = {
		.batch_max = opt.batch < 100 ? 100 : opt.batch,
		.lr = opt.lr, .momentum = opt.momentum,
		.host_momentum = opt.host_momentum,
		.wmax_scale = opt.wmax_scale, .pad = opt.pad,
		.he_init = !strcmp(opt.init, "he"),
		.weight_decay = opt.weight_decay,
	};
	struct cim_device *dev = NULL;
	struct result r = { 0 };
	struct net n;
	uint32_t *ord;
	unsigned int epoch, first = 0, i;
	float lr = opt.lr;
	uint64_t shuf;
	double tstart = tool_now();
	bool tty = isatty(STDERR_FILENO);
	int ret;

	if (on_device)
		dev = open_device(opt.device, opt.chip_seed);
	ret = net_create(&n, dev, &no, opt.seed);
	if (ret)
		tool_die("%s: building the network: %s", tag, cim_strerror(ret));
	if (opt.resume) {
		first = ckpt_load(opt.checkpoint, &n, &lr);
		if (dev) {
			/* the DUU remainders below one level are not kept */
			ret = net_program(&n, NULL);
			if (ret)
				tool_die("programming: %s", cim_strerror(ret));
		}
		fprintf(stderr, "cim-train: resumed %s after epoch %u\n",
			opt.checkpoint, first);
	}
	ord = malloc(train_set->n * sizeof(*ord));
	if (!ord)
		tool_die("out of memory");
	printf("%s: LeNet-5, %zu parameters, %s, %u train / %u test, batch %u, lr %g momentum %g%s\n",
	       tag, net_param_count(&n), on_device ? opt.device : "host fp32",
	       train_set->n, test_set->n, opt.batch, opt.lr, opt.momentum,
	       on_device && !opt.host_momentum ? " (device: plain SGD)" : "");
	for (epoch = first; epoch < opt.epochs; epoch++) {
		struct meter m0, m1;
		double loss = 0.0, t0 = tool_now();
		unsigned int ok = 0, seen = 0, c;
		struct tool_progress prog = {
			.tag = "", .epoch = epoch + 1, .total = train_set->n,
			.t0 = t0, .tty = tty, .quiet = opt.quiet,
		};
		float test_acc;

		if (opt.lr_step)
			lr = opt.lr * powf(0.5f, (float)(epoch / opt.lr_step));
		net_set_lr(&n, lr);
		/* the order of epoch e depends on the seed and e only, so a
		 * resumed run sees the data of an uninterrupted one */
		for (i = 0; i < train_set->n; i++)
			ord[i] = i;
		shuf = opt.seed * 1000003ull + epoch;
		shuffle(ord, train_set->n, &shuf);
		meter_read(dev, &m0);
		for (i = 0; i < train_set->n; i += opt.batch) {
			unsigned int b = train_set->n - i < opt.batch ?
					 train_set->n - i : opt.batch, j;
			float *x = n.cols;	/* free until forward */

			/* gather into a[0] through forward's memcpy */
			for (j = 0; j < b; j++) {
				const float *img = train_set->x +
						   (size_t)ord[i + j] * 784;

				if (opt.shift)
					shift_image(img, x + (size_t)j * 784,
						    (opt.seed * 1000003ull +
						     epoch) * 1000003ull + i + j);
				else
					memcpy(x + (size_t)j * 784, img,
					       784 * sizeof(float));
			}
			memcpy(n.a[0], x, (size_t)b * 784 * sizeof(float));
			{
				static uint8_t yb[4096];

				for (j = 0; j < b; j++)
					yb[j] = train_set->y[ord[i + j]];
				ret = net_forward(&n, n.a[0], b);
				if (ret)
					tool_die("%s: forward: %s", tag,
					    cim_strerror(ret));
				loss += net_loss(&n, yb, b, &c) * b;
			}
			ok += c;
			seen += b;
			ret = net_backward_update(&n, b);
			if (ret)
				tool_die("%s: backward/update: %s", tag,
				    cim_strerror(ret));
			tool_progress(&prog, seen, loss / seen, 100.0 * ok / seen);
		}
		meter_read(dev, &m1);
		test_acc = evaluate(&n, test_set);
		r.test_acc = test_acc;
		printf("%s epoch %2u/%u: loss %.4f train %.2f%% test %.2f%% lr %.4g | %.1fs | pulses %llu energy %.1f uJ device time %.1f ms\n",
		       tag, epoch + 1, opt.epochs, loss / seen,
		       100.0 * ok / seen, test_acc, lr, tool_now() - t0,
		       (unsigned long long)(m1.pulses - m0.pulses),
		       m1.energy_uj - m0.energy_uj, m1.time_ms - m0.time_ms);
		fflush(stdout);
		if (csv) {
			fprintf(csv, "%s,%u,%.6f,%.4f,%.4f,%.6g,%.3f,%llu,%.3f,%.3f\n",
				tag, epoch + 1, loss / seen, 100.0 * ok / seen,
				test_acc, lr, tool_now() - t0,
				(unsigned long long)(m1.pulses - m0.pulses),
				m1.energy_uj - m0.energy_uj,
				m1.time_ms - m0.time_ms);
			fflush(csv);
		}
		if (opt.checkpoint)
			ckpt_save(opt.checkpoint, &n, epoch + 1, &lr);
	}
	if (first >= opt.epochs)
		r.test_acc = evaluate(&n, test_set);
	r.secs = tool_now() - tstart;
	if (opt.transfer) {
		uint64_t failed;

		r.transfer_acc = transfer_eval(&n, test_set, &failed);
		printf("%s transfer to a second chip (seed %llu): %.2f%% -> %.2f%% (%+.2f points; %llu cells outside tolerance)\n",
		       tag, (unsigned long long)opt.transfer_seed, r.test_acc,
		       r.transfer_acc, r.transfer_acc - r.test_acc,
		       (unsigned long long)failed);
	}
	free(ord);
	net_destroy(&n);
	if (dev)
		cim_device_close(dev);
	return r;
}

static void plot(const char *csvpath, const char *png)
{
	char cmd[8192];
	FILE *gp;

	if (system("command -v gnuplot >/dev/null 2>&1"))
		tool_die("--plot: gnuplot not found (Debian: apt-get install gnuplot-nox)");
	gp = popen("gnuplot", "w");
	if (!gp)
		tool_die("gnuplot: %s", strerror(errno));
	snprintf(cmd, sizeof(cmd),
		 "set terminal pngcairo size 900,600 noenhanced\n"
		 "set output '%s'\nset datafile separator ','\n"
		 "set key bottom right\nset xlabel 'epoch'\n"
		 "set ylabel 'test accuracy (%%)'\nset y2label 'loss'\n"
		 "set ytics nomirror\nset y2tics\nset grid\n"
		 "set title 'cim-train: LeNet-5 on %s'\n"
		 "plot '< grep ^device %s' u 2:5 w lp t 'device test', "
		 "'< grep ^fp32 %s' u 2:5 w lp t 'fp32 test', "
		 "'< grep ^device %s' u 2:3 axes x1y2 w l dt 2 t 'device loss', "
		 "'< grep ^fp32 %s' u 2:3 axes x1y2 w l dt 2 t 'fp32 loss'\n",
		 png, opt.dataset, csvpath, csvpath, csvpath, csvpath);
	fputs(cmd, gp);
	if (pclose(gp))
		tool_die("gnuplot failed to write %s", png);
}

static void usage(FILE *f)
{
	fputs("usage: cim-train [options]\n"
	      "  --dataset mnist|fashion   data (default mnist)\n"
	      "  --data-dir DIR            IDX files (default build/data/<dataset>)\n"
	      "  --backend device|software|both  (--fp32 = software)\n"
	      "  --device NAME             embedded (default) or /dev/cimN\n"
	      "  --preset P                default, ideal, no-noise, no-variation\n"
	      "  --epochs N --batch N --lr X --momentum X --lr-step N\n"
	      "  --plain-sgd               device: DUU outer products, no momentum\n"
	      "  --wmax-scale X            crossbar range, x init bound (default 2)\n"
	      "  --normalize none|std|sym  input scaling (default none: [0, 1])\n"
	      "  --init he|torch           weight initialisation (default he)\n"
	      "  --pad 2|0                 zero padding of conv1 (default 2: fc1 of 400)\n"
	      "  --weight-decay X          L2 through the gradient (default 0.001)\n"
	      "  --shift N                 augmentation: shifts up to N pixels (default 1)\n"
	      "  --seed N --chip-seed N --transfer-seed N\n"
	      "  --train-limit N --test-limit N\n"
	      "  --csv FILE --plot FILE.png\n"
	      "  --checkpoint FILE [--resume]\n"
	      "  --transfer                program onto a second chip and evaluate\n"
	      "  --quiet                   no progress\n", f);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dataset", 1, 0, 'D' }, { "data-dir", 1, 0, 'd' },
		{ "backend", 1, 0, 'B' }, { "fp32", 0, 0, 'F' },
		{ "device", 1, 0, 'v' }, { "preset", 1, 0, 'p' },
		{ "epochs", 1, 0, 'e' }, { "batch", 1, 0, 'b' },
		{ "lr", 1, 0, 'l' }, { "momentum", 1, 0, 'm' },
		{ "lr-step", 1, 0, 'S' }, { "plain-sgd", 0, 0, 'P' },
		{ "wmax-scale", 1, 0, 'W' }, { "seed", 1, 0, 's' },
		{ "chip-seed", 1, 0, 'c' }, { "transfer-seed", 1, 0, 't' },
		{ "train-limit", 1, 0, 'n' }, { "test-limit", 1, 0, 'N' },
		{ "csv", 1, 0, 'C' }, { "plot", 1, 0, 'g' },
		{ "checkpoint", 1, 0, 'k' }, { "resume", 0, 0, 'r' },
		{ "transfer", 0, 0, 'T' }, { "quiet", 0, 0, 'q' },
		{ "normalize", 1, 0, 'z' }, { "init", 1, 0, 'i' },
		{ "pad", 1, 0, 'a' }, { "shift", 1, 0, 'x' }, { "weight-decay", 1, 0, 'w' },
		{ "help", 0, 0, 'h' }, { 0, 0, 0, 0 },
	};
	struct dataset tr, te;
	struct result rs = { 0 }, rd = { 0 };
	char dir[4096], csvtmp[4096] = "";
	bool do_sw, do_dev;
	FILE *csv = NULL;
	int c;

	tool_name = "cim-train";

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'D': opt.dataset = optarg; break;
		case 'd': opt.data_dir = optarg; break;
		case 'B': opt.backend = optarg; break;
		case 'F': opt.backend = "software"; break;
		case 'v': opt.device = optarg; break;
		case 'p': opt.preset = optarg; break;
		case 'e': opt.epochs = tool_arg_uint("epochs", optarg, 1, 100000); break;
		case 'b': opt.batch = tool_arg_uint("batch", optarg, 1, 4096); break;
		case 'l': opt.lr = tool_arg_float("lr", optarg, 0.0f, 10.0f); break;
		case 'm': opt.momentum = tool_arg_float("momentum", optarg, 0.0f, 0.999f); break;
		case 'S': opt.lr_step = tool_arg_uint("lr-step", optarg, 0, 100000); break;
		case 'P': opt.host_momentum = false; break;
		case 'W': opt.wmax_scale = tool_arg_float("wmax-scale", optarg, 0.0f, 100.0f); break;
		case 's': opt.seed = tool_arg_uint("seed", optarg, 0, UINT64_MAX); break;
		case 'c': opt.chip_seed = tool_arg_uint("chip-seed", optarg, 0, UINT64_MAX); break;
		case 't': opt.transfer_seed = tool_arg_uint("transfer-seed", optarg, 0, UINT64_MAX); break;
		case 'n': opt.train_limit = tool_arg_uint("train-limit", optarg, 0, UINT_MAX); break;
		case 'N': opt.test_limit = tool_arg_uint("test-limit", optarg, 0, UINT_MAX); break;
		case 'C': opt.csv = optarg; break;
		case 'g': opt.plot = optarg; break;
		case 'k': opt.checkpoint = optarg; break;
		case 'r': opt.resume = true; break;
		case 'T': opt.transfer = true; break;
		case 'q': opt.quiet = true; break;
		case 'z': opt.norm = optarg; break;
		case 'i': opt.init = optarg; break;
		case 'x': opt.shift = tool_arg_uint("shift", optarg, 0, 4); break;
		case 'a': opt.pad = tool_arg_uint("pad", optarg, 0, 2); break;
		case 'w': opt.weight_decay = tool_arg_float("weight-decay", optarg, 0.0f, 1.0f); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return TOOL_EXIT_USAGE;
		}
	}
	if (optind < argc || !opt.batch || opt.batch > 4096 ||
	    !(opt.lr > 0.0f) || !(opt.wmax_scale > 0.0f) ||
	    !(opt.momentum >= 0.0f && opt.momentum < 1.0f) ||
	    (opt.pad != 0 && opt.pad != 2) || opt.shift > 4 || !(opt.weight_decay >= 0.0f) ||
	    (strcmp(opt.norm, "none") && strcmp(opt.norm, "std") &&
	     strcmp(opt.norm, "sym")) ||
	    (strcmp(opt.init, "torch") && strcmp(opt.init, "he"))) {
		usage(stderr);
		return TOOL_EXIT_USAGE;
	}
	do_sw = !strcmp(opt.backend, "software") || !strcmp(opt.backend, "both");
	do_dev = !strcmp(opt.backend, "device") || !strcmp(opt.backend, "both");
	if (!do_sw && !do_dev)
		tool_usage_die("--backend %s: device, software or both",
			       opt.backend);
	if (opt.resume && (!opt.checkpoint || (do_sw && do_dev)))
		tool_usage_die("--resume needs --checkpoint and one backend");
	if (strcmp(opt.dataset, "mnist") && strcmp(opt.dataset, "fashion"))
		tool_usage_die("--dataset %s: mnist or fashion",
			       opt.dataset);
	if (!opt.transfer_seed)
		opt.transfer_seed = opt.chip_seed + 1;
	if (!opt.data_dir) {
		const char *b = getenv("BUILD");

		snprintf(dir, sizeof(dir), "%s/data/%s", b && *b ? b : "build",
			 opt.dataset);
		opt.data_dir = dir;
	}
	/* small matrices on both backends: OpenBLAS threads would only spin
	 * (the device model runs a worker pool of its own) */
	openblas_set_num_threads(1);
	load_set(opt.data_dir, "train", opt.train_limit, &tr);
	load_set(opt.data_dir, "t10k", opt.test_limit, &te);
	normalize(&tr, &te);
	if (opt.plot && !opt.csv) {
		snprintf(csvtmp, sizeof(csvtmp), "%s.csv", opt.plot);
		opt.csv = csvtmp;
	}
	if (opt.csv) {
		csv = fopen(opt.csv, opt.resume ? "a" : "w");
		if (!csv)
			tool_die("%s: %s", opt.csv, strerror(errno));
		if (!opt.resume)
			fputs("backend,epoch,loss,train_acc,test_acc,lr,seconds,pulses,energy_uj,device_ms\n",
			      csv);
	}
	if (do_sw)
		rs = train(false, &tr, &te, csv);
	if (do_dev)
		rd = train(true, &tr, &te, csv);
	if (csv)
		fclose(csv);
	if (do_sw && do_dev) {
		printf("summary: fp32 %.2f%% (%.1fs), device %.2f%% (%.1fs), device - fp32 %+.2f points\n",
		       rs.test_acc, rs.secs, rd.test_acc, rd.secs,
		       rd.test_acc - rs.test_acc);
		if (opt.transfer)
			printf("transfer drop: device-trained %+.2f points, fp32-trained %+.2f points\n",
			       rd.transfer_acc - rd.test_acc,
			       rs.transfer_acc - rs.test_acc);
	}
	if (opt.plot)
		plot(opt.csv, opt.plot);
	free(tr.x);
	free(tr.y);
	free(te.x);
	free(te.y);
	return 0;
}
