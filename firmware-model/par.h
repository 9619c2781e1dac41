/* SPDX-License-Identifier: MIT */
/*
 * The model's worker pool (par.c). Its interface is public, in
 * include/cimfw.h, because libcim's layers share the pool; this header
 * stays for the model's sources, which name the pool by it.
 *
 * Determinism: every value the model computes is the same whichever part
 * computes it (integer sums in the VMM and the DUU are exact; random
 * numbers are drawn before the loop, in one order), so the model's results
 * do not depend on the number of threads.
 *
 * Copyright (C) 2026 The cim authors
 */
#ifndef CIMFW_PAR_H
#define CIMFW_PAR_H

#include "cimfw.h"

#endif /* CIMFW_PAR_H */
