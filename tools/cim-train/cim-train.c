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
#include "cimfw.h"
#include "net.h"
#include "tool.h"

struct dataset {
	unsigned int n;
	float *x;		/* n * 784, [0, 1] */
	uint8_t *y;
};

/* --val's default: the last eighth of the training set */
#define VAL_DEFAULT	UINT_MAX
/* the most sweep scales, and the most target chips of a transfer */
#define SWEEP_MAX	16

static struct {
	const char *dataset, *data_dir, *device, *preset, *csv, *plot;
	const char *checkpoint, *backend, *norm, *init, *scheme;
	const char *sweep_csv, *sweep_plot;
	unsigned int epochs, batch, lr_step, train_limit, test_limit, pad;
	unsigned int shift, val, transfer_chips, n_max, nscales;
	float lr, momentum, wmax_scale, weight_decay, epsilon;
	float scales[SWEEP_MAX];
	uint64_t seed, chip_seed, transfer_seed;
	bool resume, transfer, host_momentum, quiet, test_every, sweep;
	bool wd_set;
	/* --preset, parsed: an embedded device's physics */
	bool dev_preset_set;
	enum cim_device_preset dev_preset;
	uint32_t emb_flags;
} opt = {
	.dataset = "mnist", .preset = "default", .scheme = "default",
	.backend = "device", .epochs = 15, .batch = 32, .lr_step = 3,
	.lr = 0.05f, .momentum = 0.9f, .wmax_scale = 2.0f, .seed = 0,
	.chip_seed = 1, .transfer_seed = 0, .host_momentum = true,
	.norm = "none", .init = "he", .pad = 2, .weight_decay = 1e-3f,
	.shift = 1, .val = VAL_DEFAULT, .transfer_chips = 3,
	.scales = { 0.0f, 0.5f, 1.0f, 2.0f, 4.0f }, .nscales = 5,
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
static void normalize(struct dataset *tr, struct dataset *va,
		      struct dataset *te)
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
	for (i = 0; i < (size_t)va->n * 784; i++)
		va->x[i] = (float)((va->x[i] - mean) / sd);
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

/*
 * --preset: a device preset by name (cimfw_device_preset_parse()) and the
 * modifiers ideal, no-noise and no-variation, comma-separated, in any
 * order; "default" alone is the embedded device's own physics.
 */
static void parse_preset(const char *arg)
{
	char buf[256], names[128] = "", *save = NULL, *tok;
	unsigned int p;

	if (strlen(arg) >= sizeof(buf))
		tool_usage_die("--preset %s: too long", arg);
	strcpy(buf, arg);
	opt.preset = arg;
	opt.emb_flags = 0;
	opt.dev_preset_set = false;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "default"))
			continue;
		if (!strcmp(tok, "ideal"))
			opt.emb_flags |= CIM_EMB_F_NO_NOISE |
					 CIM_EMB_F_NO_VARIATION;
		else if (!strcmp(tok, "no-noise"))
			opt.emb_flags |= CIM_EMB_F_NO_NOISE;
		else if (!strcmp(tok, "no-variation"))
			opt.emb_flags |= CIM_EMB_F_NO_VARIATION;
		else if (!opt.dev_preset_set &&
			 !cimfw_device_preset_parse(tok, &opt.dev_preset))
			opt.dev_preset_set = true;
		else
			break;
	}
	if (!tok)
		return;
	for (p = 0; p < CIM_DEVICE_PRESET_COUNT; p++) {
		const char *nm = cimfw_device_preset_name(p);

		if (nm && strlen(names) + strlen(nm) + 3 < sizeof(names)) {
			strcat(names, nm);
			strcat(names, ", ");
		}
	}
	tool_usage_die("--preset %s: %s is neither a device preset (%s: one) nor default, ideal, no-noise or no-variation",
		       arg, tok, names);
}

static bool is_embedded(const char *name)
{
	return !strcmp(name, "embedded");
}

/*
 * The embedded device's configuration: --preset's, with the programming
 * error and the device-to-device spread scaled by @scale (the variation
 * sweep; 1 elsewhere).
 */
static void embedded_config(struct cimfw_config *cfg, float scale)
{
	cimfw_config_default(cfg);
	if (opt.dev_preset_set && cimfw_device_preset(opt.dev_preset, cfg))
		tool_die("--preset %s: the model refuses it", opt.preset);
	cfg->prog_noise_us *= scale;
	cfg->g_read_noise_us *= scale;
	cfg->sigma_range *= scale;
	cfg->sigma_d2d *= scale;
}

static struct cim_device *open_device(const char *name, uint64_t seed,
				      float scale)
{
	struct cim_device *dev;
	int ret;

	if (is_embedded(name)) {
		struct cimfw_config cfg;
		struct cim_embedded_options eo = {
			.size = sizeof(eo),
			.flags = CIM_EMB_F_SEED | opt.emb_flags,
			.seed = seed, .config = &cfg,
		};

		embedded_config(&cfg, scale);
		ret = cim_device_open_embedded(&dev, &eo);
	} else {
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

/* 2: the validation split in the header */
#define CKPT_MAGIC	"CIMTRCK2"

struct ckpt_hdr {
	char magic[8];
	uint32_t epoch;		/* epochs done */
	uint32_t nparams;	/* floats per copy (w and b of every layer) */
	uint64_t seed, chip_seed;
	uint32_t batch, device_backend;
	char dataset[16];
	uint32_t train_n, val_n;	/* the split: first train_n, then val_n */
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
		      const float *lr_now, unsigned int train_n,
		      unsigned int val_n)
{
	struct ckpt_hdr h = { .epoch = epoch, .train_n = train_n,
			      .val_n = val_n,
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
static unsigned int ckpt_load(const char *path, struct net *n, float *lr_now,
			      unsigned int train_n, unsigned int val_n)
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
	    strncmp(h.dataset, opt.dataset, sizeof(h.dataset)) ||
	    h.train_n != train_n || h.val_n != val_n)
		tool_die("%s: written by another configuration (dataset %.16s, %u train / %u validation, batch %u, %s backend)",
		    path, h.dataset, h.train_n, h.val_n, h.batch,
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

/* What a training run hands to the transfer: its weights and accuracy */
struct trained {
	float *w[NET_LAYERS], *b[NET_LAYERS];
	float test_acc;
	double secs;
	bool done;
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

static struct net_opts net_options(void)
{
	bool paper = !strcmp(opt.scheme, "paper");

	return (struct net_opts){
		.batch_max = opt.batch < 100 ? 100 : opt.batch,
		.lr = opt.lr,
		/* the paper's scheme is plain SGD, the fp32 baseline too */
		.momentum = paper ? 0.0f : opt.momentum,
		.host_momentum = !paper,
		.wmax_scale = opt.wmax_scale, .pad = opt.pad,
		.he_init = !strcmp(opt.init, "he"),
		.weight_decay = opt.weight_decay,
		.epsilon_levels = opt.epsilon, .n_max = opt.n_max,
	};
}

static void keep_weights(struct net *n, struct trained *t)
{
	int i, ret;

	ret = net_sync_weights(n);
	if (ret)
		tool_die("export: %s", cim_strerror(ret));
	for (i = 0; i < NET_LAYERS; i++) {
		size_t nw = (size_t)n->L[i].k * n->L[i].out;

		t->w[i] = malloc(nw * sizeof(float));
		t->b[i] = malloc(n->L[i].out * sizeof(float));
		if (!t->w[i] || !t->b[i])
			tool_die("out of memory");
		memcpy(t->w[i], n->L[i].w, nw * sizeof(float));
		memcpy(t->b[i], n->L[i].b, n->L[i].out * sizeof(float));
	}
	t->done = true;
}

static void free_weights(struct trained *t)
{
	int i;

	for (i = 0; i < NET_LAYERS; i++) {
		free(t->w[i]);
		free(t->b[i]);
	}
}

static void train(bool on_device, const struct dataset *train_set,
		  const struct dataset *val_set, const struct dataset *test_set,
		  FILE *csv, struct trained *out)
{
	const char *tag = on_device ? "device" : "fp32";
	struct net_opts no = net_options();
	struct cim_device *dev = NULL;
	struct net n;
	uint32_t *ord;
	unsigned int epoch, first = 0, i;
	float lr = opt.lr;
	uint64_t shuf;
	double tstart = tool_now();
	bool tty = isatty(STDERR_FILENO);
	int ret;

	if (on_device)
		dev = open_device(opt.device, opt.chip_seed, 1.0f);
	ret = net_create(&n, dev, &no, opt.seed);
	if (ret)
		tool_die("%s: building the network: %s", tag, cim_strerror(ret));
	if (opt.resume) {
		first = ckpt_load(opt.checkpoint, &n, &lr, train_set->n,
				  val_set->n);
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
	printf("%s: LeNet-5, %zu parameters, %s, %u train / %u validation / %u test, batch %u, lr %g, scheme %s%s\n",
	       tag, net_param_count(&n), on_device ? opt.device : "host fp32",
	       train_set->n, val_set->n, test_set->n, opt.batch, opt.lr,
	       opt.scheme, no.host_momentum ? "" : " (plain SGD)");
	for (epoch = first; epoch < opt.epochs; epoch++) {
		struct meter m0, m1;
		double loss = 0.0, t0 = tool_now();
		unsigned int ok = 0, seen = 0, c;
		struct tool_progress prog = {
			.tag = "", .epoch = epoch + 1, .total = train_set->n,
			.t0 = t0, .tty = tty, .quiet = opt.quiet,
		};
		bool last = epoch + 1 == opt.epochs;
		float val_acc = NAN, test_acc = NAN;
		char vs[32] = "", ts[32] = "";

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
		/* validation every epoch; the test set once, at the end */
		if (val_set->n) {
			val_acc = evaluate(&n, val_set);
			snprintf(vs, sizeof(vs), " val %.2f%%", val_acc);
		}
		if (opt.test_every || last) {
			test_acc = evaluate(&n, test_set);
			out->test_acc = test_acc;
			if (opt.test_every)
				snprintf(ts, sizeof(ts), " test %.2f%%",
					 test_acc);
		}
		meter_read(dev, &m1);
		printf("%s epoch %2u/%u: loss %.4f train %.2f%%%s%s lr %.4g | %.1fs | pulses %llu energy %.1f uJ device time %.1f ms\n",
		       tag, epoch + 1, opt.epochs, loss / seen,
		       100.0 * ok / seen, vs, ts, lr, tool_now() - t0,
		       (unsigned long long)(m1.pulses - m0.pulses),
		       m1.energy_uj - m0.energy_uj, m1.time_ms - m0.time_ms);
		fflush(stdout);
		if (csv) {
			fprintf(csv, "%s,%u,%.6f,%.4f,", tag, epoch + 1,
				loss / seen, 100.0 * ok / seen);
			if (val_set->n)
				fprintf(csv, "%.4f", val_acc);
			fprintf(csv, ",%.6g,%.3f,%llu,%.3f,%.3f,", lr,
				tool_now() - t0,
				(unsigned long long)(m1.pulses - m0.pulses),
				m1.energy_uj - m0.energy_uj,
				m1.time_ms - m0.time_ms);
			if (!isnan(test_acc))
				fprintf(csv, "%.4f", test_acc);
			fputc('\n', csv);
			fflush(csv);
		}
		if (opt.checkpoint)
			ckpt_save(opt.checkpoint, &n, epoch + 1, &lr,
				  train_set->n, val_set->n);
	}
	if (first >= opt.epochs)
		out->test_acc = evaluate(&n, test_set);
	out->secs = tool_now() - tstart;
	printf("%s test accuracy (once, after epoch %u): %.2f%%\n", tag,
	       opt.epochs, out->test_acc);
	keep_weights(&n, out);
	free(ord);
	net_destroy(&n);
	if (dev)
		cim_device_close(dev);
}

/* Transfer ---------------------------------------------------------------- */

/*
 * The target chips of --transfer: embedded devices of seeds transfer_seed,
 * +1, ...; or, training on a kernel device, the other /dev/cim devices.
 */
struct chips {
	unsigned int n;
	char node[SWEEP_MAX][64];
	uint64_t seed[SWEEP_MAX];
};

/* "cim0" or "/dev/cim0" as cim_device_list() spells it */
static void dev_node(const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s%s", strncmp(name, "/dev/", 5) ? "/dev/" : "",
		 name);
}

static void find_chips(struct chips *ch)
{
	struct cim_device_desc *list;
	char mine[80];
	unsigned int i;
	int count, j, ret;

	memset(ch, 0, sizeof(*ch));
	if (is_embedded(opt.device)) {
		for (i = 0; i < opt.transfer_chips; i++)
			ch->seed[i] = opt.transfer_seed + i;
		ch->n = opt.transfer_chips;
		return;
	}
	ret = cim_device_list(&list, &count);
	if (ret)
		tool_die("--transfer: listing the devices: %s",
			 cim_strerror(ret));
	dev_node(opt.device, mine, sizeof(mine));
	for (j = 0; j < count && ch->n < opt.transfer_chips; j++)
		if (strcmp(list[j].devnode, mine))
			snprintf(ch->node[ch->n++], sizeof(ch->node[0]), "%s",
				 list[j].devnode);
	cim_device_list_free(list, count);
	if (!ch->n)
		tool_die("--transfer-chips %u: no kernel device besides %s (a target chip is another cim-pci device)",
			 opt.transfer_chips, mine);
	if (ch->n < opt.transfer_chips)
		tool_die("--transfer-chips %u: only %u kernel device(s) besides %s (use --transfer-chips %u, or more cim-pci devices)",
			 opt.transfer_chips, ch->n, mine, ch->n);
}

static void chip_name(const struct chips *ch, unsigned int i, char *buf,
		      size_t len)
{
	if (ch->node[i][0])
		snprintf(buf, len, "%s", ch->node[i]);
	else
		snprintf(buf, len, "seed %llu",
			 (unsigned long long)ch->seed[i]);
}

/* Program @t onto @dev by write-verify and evaluate it, no retraining */
static float chip_eval(const struct trained *t, struct cim_device *dev,
		       const struct dataset *test, uint64_t *failed)
{
	struct net_opts o = net_options();
	struct net n2;
	float acc;
	int i, ret;

	ret = net_create(&n2, dev, &o, opt.seed);
	if (ret)
		tool_die("target chip: %s", cim_strerror(ret));
	for (i = 0; i < NET_LAYERS; i++) {
		size_t nw = (size_t)n2.L[i].k * n2.L[i].out;

		/* fp32 weights may lie beyond the crossbar's w_max: clipped */
		memcpy(n2.L[i].w, t->w[i], nw * sizeof(float));
		memcpy(n2.L[i].b, t->b[i], n2.L[i].out * sizeof(float));
	}
	ret = net_program(&n2, failed);
	if (ret)
		tool_die("target chip: programming: %s", cim_strerror(ret));
	acc = evaluate(&n2, test);
	net_destroy(&n2);
	return acc;
}

/* Both kinds of weights onto every chip at @scale: acc[kind][chip] */
static void run_chips(const struct chips *ch, float scale,
		      const struct trained *t[2], const struct dataset *test,
		      float acc[2][SWEEP_MAX], uint64_t failed[2])
{
	unsigned int i, k;

	failed[0] = failed[1] = 0;
	for (i = 0; i < ch->n; i++) {
		struct cim_device *dev = ch->node[i][0] ?
			open_device(ch->node[i], 0, 1.0f) :
			open_device("embedded", ch->seed[i], scale);

		for (k = 0; k < 2; k++)
			acc[k][i] = chip_eval(t[k], dev, test, &failed[k]);
		cim_device_close(dev);
	}
}

static void mean_sd(const float *v, unsigned int n, double *mean, double *sd)
{
	double s = 0.0, q = 0.0;
	unsigned int i;

	for (i = 0; i < n; i++)
		s += v[i];
	*mean = s / n;
	for (i = 0; i < n; i++)
		q += (v[i] - *mean) * (v[i] - *mean);
	*sd = n > 1 ? sqrt(q / (n - 1)) : 0.0;
}

static const char *const kind_name[2] = { "device-trained", "fp32-trained" };

static void transfer(const struct chips *ch, const struct trained *t[2],
		     const struct dataset *test)
{
	const char *src[2] = { "on its own chip", "in fp32" };
	float acc[2][SWEEP_MAX];
	uint64_t failed[2];
	unsigned int i, k;
	char nm[80];

	run_chips(ch, 1.0f, t, test, acc, failed);
	printf("transfer: the trained weights programmed (write-verify) onto %u other chip(s), no retraining\n",
	       ch->n);
	for (k = 0; k < 2; k++) {
		double mean, sd, drop;

		mean_sd(acc[k], ch->n, &mean, &sd);
		/* no "-0.00" for a mean equal to the source */
		drop = mean - t[k]->test_acc;
		if (fabs(drop) < 0.005)
			drop = 0.0;
		printf("  %s (%.2f%% %s):", kind_name[k], t[k]->test_acc,
		       src[k]);
		for (i = 0; i < ch->n; i++) {
			chip_name(ch, i, nm, sizeof(nm));
			printf(" %s %.2f%%%s", nm, acc[k][i],
			       i + 1 < ch->n ? "," : ";");
		}
		printf(" mean %.2f%% sd %.2f, drop %+.2f points; %llu cells outside tolerance\n",
		       mean, sd, drop,
		       (unsigned long long)failed[k]);
	}
}

static void sweep_plot(const char *csvpath, const char *png,
		       const struct trained *t[2])
{
	FILE *gp;

	gp = popen("gnuplot", "w");
	if (!gp)
		tool_die("gnuplot: %s", strerror(errno));
	/* columns: 1 scale, 6-7 device mean and sd, 8-9 fp32 */
	fprintf(gp,
		 "set terminal pngcairo size 900,600 noenhanced\n"
		 "set output '%s'\nset datafile separator ','\n"
		 "set key bottom left\nset grid\n"
		 "set offsets graph 0.03, graph 0.03, 0, 0\n"
		 "set xlabel 'programming error and device-to-device spread (x preset %s)'\n"
		 "set ylabel 'test accuracy after transfer (%%)'\n"
		 "set title 'cim-train: LeNet-5 on %s, mean and sd over %u chips'\n"
		 "plot '%s' u 1:6:7 skip 1 w yerrorlines t 'device-trained', "
		 "'%s' u 1:8:9 skip 1 w yerrorlines t 'fp32-trained', "
		 "%g w l dt 2 t 'device-trained, own chip', "
		 "%g w l dt 3 t 'fp32-trained, fp32'\n",
		 png, opt.preset, opt.dataset, opt.transfer_chips, csvpath,
		 csvpath, t[0]->test_acc, t[1]->test_acc);
	if (pclose(gp))
		tool_die("gnuplot failed to write %s", png);
}

/*
 * The variation sweep: programming error (prog_noise_us, g_read_noise_us)
 * and device-to-device spread (sigma_range, sigma_d2d) of the target
 * chips scaled by each of --sweep-scales; the trained weights of both
 * kinds transferred onto the same chips at each scale.
 */
static void sweep(const struct chips *ch, const struct trained *t[2],
		  const struct dataset *test)
{
	char tmp[4096];
	const char *path = opt.sweep_csv;
	float acc[2][SWEEP_MAX];
	uint64_t failed[2];
	unsigned int s, i, k;
	FILE *f = NULL;

	if (opt.sweep_plot && !path) {
		snprintf(tmp, sizeof(tmp), "%s.csv", opt.sweep_plot);
		path = tmp;
	}
	if (path) {
		f = fopen(path, "w");
		if (!f)
			tool_die("%s: %s", path, strerror(errno));
		fputs("scale,prog_noise_us,g_read_noise_us,sigma_range,sigma_d2d,device_mean,device_sd,fp32_mean,fp32_sd",
		      f);
		for (k = 0; k < 2; k++)
			for (i = 0; i < ch->n; i++)
				fprintf(f, ",%s_seed%llu",
					k ? "fp32" : "device",
					(unsigned long long)ch->seed[i]);
		fputc('\n', f);
	}
	printf("variation sweep: programming error and device spread x scale, chip seeds %llu..%llu (test accuracy, mean +- sd)\n",
	       (unsigned long long)ch->seed[0],
	       (unsigned long long)ch->seed[ch->n - 1]);
	printf("%6s %10s %10s %11s %9s  %-16s %-16s\n", "scale", "prog_uS",
	       "gread_uS", "sigma_range", "sigma_d2d", kind_name[0],
	       kind_name[1]);
	for (s = 0; s < opt.nscales; s++) {
		struct cimfw_config cfg;
		double m[2], sd[2];

		embedded_config(&cfg, opt.scales[s]);
		run_chips(ch, opt.scales[s], t, test, acc, failed);
		for (k = 0; k < 2; k++)
			mean_sd(acc[k], ch->n, &m[k], &sd[k]);
		printf("%6.2f %10.4g %10.4g %11.4g %9.4g  %6.2f +- %-6.2f %6.2f +- %-6.2f\n",
		       opt.scales[s], cfg.prog_noise_us, cfg.g_read_noise_us,
		       cfg.sigma_range, cfg.sigma_d2d, m[0], sd[0], m[1],
		       sd[1]);
		fflush(stdout);
		if (!f)
			continue;
		fprintf(f, "%g,%g,%g,%g,%g,%.4f,%.4f,%.4f,%.4f",
			opt.scales[s], cfg.prog_noise_us, cfg.g_read_noise_us,
			cfg.sigma_range, cfg.sigma_d2d, m[0], sd[0], m[1],
			sd[1]);
		for (k = 0; k < 2; k++)
			for (i = 0; i < ch->n; i++)
				fprintf(f, ",%.4f", acc[k][i]);
		fputc('\n', f);
	}
	if (f && fclose(f))
		tool_die("%s: %s", path, strerror(errno));
	if (opt.sweep_plot)
		sweep_plot(path, opt.sweep_plot, t);
}

static void plot(const char *csvpath, const char *png, bool val)
{
	char cmd[8192];
	FILE *gp;

	gp = popen("gnuplot", "w");
	if (!gp)
		tool_die("gnuplot: %s", strerror(errno));
	/* validation (column 5) per epoch; without it, test (column 11) */
	snprintf(cmd, sizeof(cmd),
		 "set terminal pngcairo size 900,600 noenhanced\n"
		 "set output '%s'\nset datafile separator ','\n"
		 "set key bottom right\nset xlabel 'epoch'\n"
		 "set ylabel '%s accuracy (%%)'\nset y2label 'loss'\n"
		 "set ytics nomirror\nset y2tics\nset grid\n"
		 "set title 'cim-train: LeNet-5 on %s'\n"
		 "plot '< grep ^device %s' u 2:%d w lp t 'device %s', "
		 "'< grep ^fp32 %s' u 2:%d w lp t 'fp32 %s', "
		 "'< grep ^device %s' u 2:3 axes x1y2 w l dt 2 t 'device loss', "
		 "'< grep ^fp32 %s' u 2:3 axes x1y2 w l dt 2 t 'fp32 loss'\n",
		 png, val ? "validation" : "test", opt.dataset, csvpath,
		 val ? 5 : 11, val ? "validation" : "test", csvpath,
		 val ? 5 : 11, val ? "validation" : "test", csvpath, csvpath);
	fputs(cmd, gp);
	if (pclose(gp))
		tool_die("gnuplot failed to write %s", png);
}

static void need_gnuplot(const char *flag)
{
	if (system("command -v gnuplot >/dev/null 2>&1"))
		tool_usage_die("%s: gnuplot not found (Debian: apt-get install gnuplot-nox)",
			       flag);
}

static void parse_scales(const char *arg)
{
	char buf[256], *save = NULL, *tok;

	if (strlen(arg) >= sizeof(buf))
		tool_usage_die("--sweep-scales %s: too long", arg);
	strcpy(buf, arg);
	opt.nscales = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (opt.nscales == SWEEP_MAX)
			tool_usage_die("--sweep-scales %s: at most %d scales",
				       arg, SWEEP_MAX);
		opt.scales[opt.nscales++] = tool_arg_float("sweep-scales",
							   tok, 0.0f, 100.0f);
	}
	if (!opt.nscales)
		tool_usage_die("--sweep-scales %s: no scale", arg);
}

static void usage(FILE *f)
{
	fputs("usage: cim-train [options]\n"
	      "  --dataset mnist|fashion   data (default mnist)\n"
	      "  --data-dir DIR            IDX files (default build/data/<dataset>)\n"
	      "  --backend device|software|both  (--fp32 = software)\n"
	      "  --device NAME             embedded or /dev/cimN (default $CIM_DEVICE,\n"
	      "                            else embedded)\n"
	      "  --preset P[,M...]         embedded physics: a device preset (bulk-rram,\n"
	      "                            filamentary-rram, pcm; default: the model's)\n"
	      "                            and/or the modifiers ideal, no-noise,\n"
	      "                            no-variation, e.g. pcm,no-noise\n"
	      "  --scheme default|paper    device update: default = host momentum sent\n"
	      "                            through the DUU; paper = DUU outer products,\n"
	      "                            threshold pulses, plain SGD (--plain-sgd)\n"
	      "  --epochs N --batch N --lr X --momentum X --lr-step N\n"
	      "  --epsilon L               DUU threshold in conductance levels (default 1)\n"
	      "  --n-max N                 most pulses per cell and transfer (default 31)\n"
	      "  --wmax-scale X            crossbar range, x init bound (default 2)\n"
	      "  --normalize none|std|sym  input scaling (default none: [0, 1])\n"
	      "  --init he|torch           weight initialisation (default he)\n"
	      "  --pad 2|0                 zero padding of conv1 (default 2: fc1 of 400)\n"
	      "  --weight-decay X          L2 through the gradient (default 0.001;\n"
	      "                            0 and refused with --scheme paper)\n"
	      "  --shift N                 augmentation: shifts up to N pixels (default 1)\n"
	      "  --seed N --chip-seed N --transfer-seed N\n"
	      "  --train-limit N --test-limit N\n"
	      "  --val N                   validation: the last N training images\n"
	      "                            (default an eighth; 0: none, test per epoch)\n"
	      "  --test-every-epoch        test accuracy per epoch, not only at the end\n"
	      "  --csv FILE --plot FILE.png\n"
	      "  --checkpoint FILE [--resume]\n"
	      "  --transfer                device- and fp32-trained weights onto other\n"
	      "                            chips (trains both backends)\n"
	      "  --transfer-chips N        how many (default 3; seeds transfer-seed..)\n"
	      "  --variation-sweep         transfer with the target chips' programming\n"
	      "                            error and device spread scaled\n"
	      "  --sweep-scales LIST       the scales (default 0,0.5,1,2,4)\n"
	      "  --sweep-csv FILE --sweep-plot FILE.png\n"
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
		{ "scheme", 1, 0, 'H' }, { "epsilon", 1, 0, 'E' },
		{ "n-max", 1, 0, 'M' },
		{ "wmax-scale", 1, 0, 'W' }, { "seed", 1, 0, 's' },
		{ "chip-seed", 1, 0, 'c' }, { "transfer-seed", 1, 0, 't' },
		{ "train-limit", 1, 0, 'n' }, { "test-limit", 1, 0, 'N' },
		{ "val", 1, 0, 'V' }, { "test-every-epoch", 0, 0, 'R' },
		{ "csv", 1, 0, 'C' }, { "plot", 1, 0, 'g' },
		{ "checkpoint", 1, 0, 'k' }, { "resume", 0, 0, 'r' },
		{ "transfer", 0, 0, 'T' }, { "transfer-chips", 1, 0, 'X' },
		{ "variation-sweep", 0, 0, 'Y' },
		{ "sweep-scales", 1, 0, 'L' }, { "sweep-csv", 1, 0, 'u' },
		{ "sweep-plot", 1, 0, 'U' }, { "quiet", 0, 0, 'q' },
		{ "normalize", 1, 0, 'z' }, { "init", 1, 0, 'i' },
		{ "pad", 1, 0, 'a' }, { "shift", 1, 0, 'x' }, { "weight-decay", 1, 0, 'w' },
		{ "help", 0, 0, 'h' }, { 0, 0, 0, 0 },
	};
	struct dataset all, tr, va, te;
	struct trained rs = { 0 }, rd = { 0 };
	struct chips chips;
	const struct trained *pair[2] = { &rd, &rs };
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
		case 'p': parse_preset(optarg); break;
		case 'e': opt.epochs = tool_arg_uint("epochs", optarg, 1, 100000); break;
		case 'b': opt.batch = tool_arg_uint("batch", optarg, 1, 4096); break;
		case 'l': opt.lr = tool_arg_float("lr", optarg, 0.0f, 10.0f); break;
		case 'm': opt.momentum = tool_arg_float("momentum", optarg, 0.0f, 0.999f); break;
		case 'S': opt.lr_step = tool_arg_uint("lr-step", optarg, 0, 100000); break;
		case 'P': opt.scheme = "paper"; break;
		case 'H': opt.scheme = optarg; break;
		case 'E': opt.epsilon = tool_arg_float("epsilon", optarg, 0.0f, 64.0f); break;
		case 'M': opt.n_max = tool_arg_uint("n-max", optarg, 1, CIM_MAX_PULSES); break;
		case 'W': opt.wmax_scale = tool_arg_float("wmax-scale", optarg, 0.0f, 100.0f); break;
		case 's': opt.seed = tool_arg_uint("seed", optarg, 0, UINT64_MAX); break;
		case 'c': opt.chip_seed = tool_arg_uint("chip-seed", optarg, 0, UINT64_MAX); break;
		case 't': opt.transfer_seed = tool_arg_uint("transfer-seed", optarg, 0, UINT64_MAX); break;
		case 'n': opt.train_limit = tool_arg_uint("train-limit", optarg, 0, UINT_MAX); break;
		case 'N': opt.test_limit = tool_arg_uint("test-limit", optarg, 0, UINT_MAX); break;
		case 'V': opt.val = tool_arg_uint("val", optarg, 0, UINT_MAX - 1); break;
		case 'R': opt.test_every = true; break;
		case 'C': opt.csv = optarg; break;
		case 'g': opt.plot = optarg; break;
		case 'k': opt.checkpoint = optarg; break;
		case 'r': opt.resume = true; break;
		case 'T': opt.transfer = true; break;
		case 'X': opt.transfer_chips = tool_arg_uint("transfer-chips", optarg, 1, SWEEP_MAX); break;
		case 'Y': opt.sweep = true; break;
		case 'L': parse_scales(optarg); break;
		case 'u': opt.sweep_csv = optarg; break;
		case 'U': opt.sweep_plot = optarg; break;
		case 'q': opt.quiet = true; break;
		case 'z': opt.norm = optarg; break;
		case 'i': opt.init = optarg; break;
		case 'x': opt.shift = tool_arg_uint("shift", optarg, 0, 4); break;
		case 'a': opt.pad = tool_arg_uint("pad", optarg, 0, 2); break;
		case 'w':
			opt.weight_decay = tool_arg_float("weight-decay", optarg, 0.0f, 1.0f);
			opt.wd_set = true;
			break;
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
	if (!opt.device) {
		opt.device = getenv("CIM_DEVICE");
		if (!opt.device || !*opt.device)
			opt.device = "embedded";
	}
	if (strcmp(opt.scheme, "default") && strcmp(opt.scheme, "paper"))
		tool_usage_die("--scheme %s: default or paper", opt.scheme);
	if (!strcmp(opt.scheme, "paper")) {
		/* the paper's SoC reads no weights back for a decay */
		if (opt.wd_set && opt.weight_decay > 0.0f)
			tool_usage_die("--scheme paper: no --weight-decay (the scheme sends only the outer products)");
		opt.weight_decay = 0.0f;
	}
	do_sw = !strcmp(opt.backend, "software") || !strcmp(opt.backend, "both");
	do_dev = !strcmp(opt.backend, "device") || !strcmp(opt.backend, "both");
	if (!do_sw && !do_dev)
		tool_usage_die("--backend %s: device, software or both",
			       opt.backend);
	/* the transfer compares device- with fp32-trained weights */
	if (opt.transfer || opt.sweep)
		do_sw = do_dev = true;
	if (opt.resume && (!opt.checkpoint || (do_sw && do_dev)))
		tool_usage_die("--resume needs --checkpoint and one backend (not --transfer)");
	if (strcmp(opt.dataset, "mnist") && strcmp(opt.dataset, "fashion"))
		tool_usage_die("--dataset %s: mnist or fashion",
			       opt.dataset);
	if (!is_embedded(opt.device) && strcmp(opt.preset, "default"))
		tool_usage_die("--preset %s: a kernel device's physics are set when it is created (cim-pci properties)",
			       opt.preset);
	if (!is_embedded(opt.device) && (opt.transfer || opt.sweep) &&
	    !strncmp(opt.device, "embedded", 8))
		tool_usage_die("--transfer: --device %s: give embedded (with --preset) or /dev/cimN",
			       opt.device);
	if (opt.sweep && !is_embedded(opt.device))
		tool_usage_die("--variation-sweep: needs --device embedded (a kernel device's physics are fixed when it is created)");
	if ((opt.sweep_csv || opt.sweep_plot) && !opt.sweep)
		tool_usage_die("--sweep-csv and --sweep-plot need --variation-sweep");
	for (c = 0; opt.sweep && c < (int)opt.nscales; c++) {
		struct cimfw_config cfg;

		embedded_config(&cfg, opt.scales[c]);
		if (cimfw_config_check(&cfg))
			tool_usage_die("--sweep-scales %g: the scaled device is outside the model's limits (sigma_d2d %g and sigma_range %g <= 1, prog_noise_us %g and g_read_noise_us %g <= g_max_us %g)",
				       opt.scales[c], cfg.sigma_d2d,
				       cfg.sigma_range, cfg.prog_noise_us,
				       cfg.g_read_noise_us, cfg.g_max_us);
	}
	if (opt.plot)
		need_gnuplot("--plot");
	if (opt.sweep_plot)
		need_gnuplot("--sweep-plot");
	if (!opt.transfer_seed)
		opt.transfer_seed = opt.chip_seed + 1;
	/* the target chips before training: a missing one fails fast */
	if (opt.transfer || opt.sweep)
		find_chips(&chips);
	if (!opt.data_dir) {
		const char *b = getenv("BUILD");

		snprintf(dir, sizeof(dir), "%s/data/%s", b && *b ? b : "build",
			 opt.dataset);
		opt.data_dir = dir;
	}
	/* small matrices on both backends: OpenBLAS threads would only spin
	 * (the device model runs a worker pool of its own) */
	openblas_set_num_threads(1);
	load_set(opt.data_dir, "train", opt.train_limit, &all);
	load_set(opt.data_dir, "t10k", opt.test_limit, &te);
	/* the split: the first images train, the last validate */
	if (opt.val == VAL_DEFAULT)
		opt.val = all.n / 8;
	if (opt.val >= all.n)
		tool_usage_die("--val %u: at most %u (of %u training images)",
			       opt.val, all.n - 1, all.n);
	if (!opt.val)
		opt.test_every = true;
	tr = (struct dataset){ .n = all.n - opt.val, .x = all.x, .y = all.y };
	va = (struct dataset){ .n = opt.val,
			       .x = all.x + (size_t)tr.n * 784,
			       .y = all.y + tr.n };
	normalize(&tr, &va, &te);
	if (opt.plot && !opt.csv) {
		snprintf(csvtmp, sizeof(csvtmp), "%s.csv", opt.plot);
		opt.csv = csvtmp;
	}
	if (opt.csv) {
		csv = fopen(opt.csv, opt.resume ? "a" : "w");
		if (!csv)
			tool_die("%s: %s", opt.csv, strerror(errno));
		if (!opt.resume)
			fputs("backend,epoch,loss,train_acc,val_acc,lr,seconds,pulses,energy_uj,device_ms,test_acc\n",
			      csv);
	}
	if (do_sw)
		train(false, &tr, &va, &te, csv, &rs);
	if (do_dev)
		train(true, &tr, &va, &te, csv, &rd);
	if (csv)
		fclose(csv);
	if (do_sw && do_dev)
		printf("summary: fp32 %.2f%% (%.1fs), device %.2f%% (%.1fs), device - fp32 %+.2f points (test)\n",
		       rs.test_acc, rs.secs, rd.test_acc, rd.secs,
		       rd.test_acc - rs.test_acc);
	if (opt.transfer)
		transfer(&chips, pair, &te);
	if (opt.sweep)
		sweep(&chips, pair, &te);
	if (opt.plot)
		plot(opt.csv, opt.plot, va.n > 0);
	free_weights(&rs);
	free_weights(&rd);
	free(all.x);
	free(all.y);
	free(te.x);
	free(te.y);
	return 0;
}
