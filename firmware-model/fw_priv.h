/* SPDX-License-Identifier: MIT */
/*
 * The device instance, shared by fw.c (lifetime, reset, counters) and
 * cmd.c (the command processor). Private to the firmware model.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef CIMFW_PRIV_H
#define CIMFW_PRIV_H

#include "ap.h"
#include "cimfw.h"
#include "meter.h"
#include "xbar.h"

/**
 * struct cimfw - one device
 * @cfg: private copy of the configuration; the units point into it
 * @xbars: cfg.xbar_count crossbar tiles
 * @aps: cfg.ap_count associative processors
 * @meter: cumulative events, energies and times
 * @jobs: command buffers executed since the last counter reset
 * @clock_ns: device time since power-on or reset: the packets' time and
 *            IDLE's; the crossbars relax by it
 * @clock_frac_ps: the part of a nanosecond not yet on @clock_ns
 * @scratch: two buffers of @scratch_len bytes each, big enough for the
 *           largest input and output a validated packet may move, so that
 *           executing a packet never allocates
 * @scratch_len: bytes of each of @scratch[0] and @scratch[1]
 */
struct cimfw {
	struct cimfw_config cfg;
	struct cimfw_xbar *xbars;
	struct cimfw_ap *aps;
	struct cimfw_meter meter;
	uint64_t jobs;
	uint64_t clock_ns;
	double clock_frac_ps;
	void *scratch[2];
	size_t scratch_len;
};

#endif /* CIMFW_PRIV_H */
