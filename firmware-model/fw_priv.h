/* SPDX-License-Identifier: MIT */
/*
 * The device instance, shared by fw.c (lifetime, reset, counters) and
 * cmd.c (the command processor). Private to the firmware model.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef CIM_FW_PRIV_H
#define CIM_FW_PRIV_H

#include "ap.h"
#include "cim_fw.h"
#include "meter.h"
#include "xbar.h"

/**
 * struct cim_fw - one device
 * @cfg: private copy of the configuration; the units point into it
 * @xbars: cfg.xbar_count crossbar tiles
 * @aps: cfg.ap_count associative processors
 * @meter: cumulative events, energies and times
 * @jobs: command buffers executed since the last counter reset
 * @scratch: two buffers of @scratch_len bytes each, big enough for the
 *           largest input and output a validated packet may move, so that
 *           executing a packet never allocates
 * @scratch_len: bytes of each of @scratch[0] and @scratch[1]
 */
struct cim_fw {
	struct cim_fw_config cfg;
	struct cim_xbar *xbars;
	struct cim_ap *aps;
	struct cim_meter meter;
	uint64_t jobs;
	void *scratch[2];
	size_t scratch_len;
};

#endif /* CIM_FW_PRIV_H */
