// SPDX-License-Identifier: MIT
/*
 * Shared by the command-line tools; see tool.h.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tool.h"

const char *tool_name = "cim";

static void message(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", tool_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void tool_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message(fmt, ap);
	va_end(ap);
	exit(1);
}

void tool_usage_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message(fmt, ap);
	va_end(ap);
	exit(TOOL_EXIT_USAGE);
}

double tool_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

bool tool_parse_uint(const char *s, unsigned long long lo,
		     unsigned long long hi, unsigned long long *v)
{
	char *end;

	/* decimal only: "010" is ten, not eight; " 5" and "-1" are refused */
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && *s >= '0' && *s <= '9' && !*end && *v >= lo &&
	       *v <= hi;
}

unsigned long long tool_arg_uint(const char *name, const char *s,
				 unsigned long long lo, unsigned long long hi)
{
	unsigned long long v;

	if (!tool_parse_uint(s, lo, hi, &v))
		tool_usage_die("--%s %s: expected an integer in %llu..%llu",
			       name, s,
			 lo, hi);
	return v;
}

float tool_arg_float(const char *name, const char *s, float lo, float hi)
{
	char *end;
	float v;

	errno = 0;
	v = strtof(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
		tool_usage_die("--%s %s: expected a number in [%g, %g]", name,
			       s, (double)lo, (double)hi);
	return v;
}

void tool_progress(struct tool_progress *p, unsigned int done,
		   double mean_loss, double accuracy)
{
	if (p->quiet || !p->total)
		return;
	if (p->tty) {
		char bar[31];
		unsigned int i, fill = (unsigned int)(30ull * done / p->total);

		for (i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[30] = 0;
		fprintf(stderr, "\r%sepoch %2u [%s] %5u/%u loss %.4f acc %.2f%% %.1fs",
			p->tag, p->epoch, bar, done, p->total, mean_loss,
			accuracy, tool_now() - p->t0);
		if (done == p->total)
			fputs("\r\033[K", stderr);
		fflush(stderr);
	} else if (done * 4ull / p->total > p->last_quarter) {
		p->last_quarter = (unsigned int)(done * 4ull / p->total);
		if (done < p->total)
			fprintf(stderr, "%sepoch %u: %u/%u loss %.4f acc %.2f%% %.1fs\n",
				p->tag, p->epoch, done, p->total, mean_loss,
				accuracy, tool_now() - p->t0);
	}
}

void tool_load_images(const char *dir, const char *prefix,
		      unsigned int classes, const char *hint,
		      struct idx_file *images, struct idx_file *labels)
{
	char path[4096], err[4200];
	size_t i;

	snprintf(path, sizeof(path), "%s/%s-images-idx3-ubyte", dir, prefix);
	if (idx_load(path, 3, images, err, sizeof(err)))
		tool_die("%s%s", err, hint ? hint : "");
	if (images->dims[1] != 28 || images->dims[2] != 28)
		tool_die("%s: images of %ux%u, expected 28x28", path,
			 images->dims[1], images->dims[2]);
	snprintf(path, sizeof(path), "%s/%s-labels-idx1-ubyte", dir, prefix);
	if (idx_load(path, 1, labels, err, sizeof(err)))
		tool_die("%s%s", err, hint ? hint : "");
	if (labels->count != images->count)
		tool_die("%s: %zu labels for %zu images", path, labels->count,
			 images->count);
	for (i = 0; i < labels->count; i++)
		if (labels->data[i] >= classes)
			tool_die("%s: label %u at %zu is not a class", path,
				 labels->data[i], i);
}
