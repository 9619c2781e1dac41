/* SPDX-License-Identifier: MIT */
/*
 * cimctl: what its commands share (cimctl.c: the command line, the device
 * and error helpers; characterize.c: cimctl characterize).
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef CIMCTL_H
#define CIMCTL_H

#include <stdbool.h>

#include "cim.h"

/* Exit codes (cimctl.1, EXIT STATUS) */
#define EXIT_OK		0
#define EXIT_ERR	1
#define EXIT_USAGE	2

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* characterize's experiments, struct opts.only */
#define CHAR_PULSE	(1u << 0)
#define CHAR_LEVELS	(1u << 1)
#define CHAR_RELAX	(1u << 2)
#define CHAR_ALL	(CHAR_PULSE | CHAR_LEVELS | CHAR_RELAX)

/**
 * struct opts - the command line
 * @device: -d, or NULL
 * @json: --json
 * @watch: --watch or --count given
 * @interval: seconds between --watch samples
 * @count: samples to take, 0 for no limit
 * @outdir: characterize: -o, where the CSVs and PNGs go
 * @plot: characterize: --plot, PNGs through gnuplot
 * @pulses: characterize: --pulses, per direction
 * @levels: characterize: --levels, weight levels programmed
 * @tol_us: characterize: --tol-us, write-verify tolerance (ABI 1.2)
 * @only: characterize: CHAR_* experiments to run
 * @char_opts: a characterize option was given
 */
struct opts {
	const char *device;
	bool json;
	bool watch;
	double interval;
	unsigned long count;
	const char *outdir;
	bool plot;
	unsigned int pulses;
	unsigned int levels;
	double tol_us;
	unsigned int only;
	bool char_opts;
};

void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report a libcim error of @op on device @dev; returns EXIT_ERR */
int dev_error(const char *dev, const char *op, int err);
/* Open @name and acknowledge an earlier reset; EXIT_OK or EXIT_ERR */
int open_device(const char *name, struct cim_device **dev);

int cmd_characterize(const struct opts *o);

#endif /* CIMCTL_H */
