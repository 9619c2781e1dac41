// SPDX-License-Identifier: GPL-2.0-only
/*
 * cim: the tracepoints' definitions (cim_trace.h)
 *
 * Copyright (C) 2026 The cim authors
 */

#define CREATE_TRACE_POINTS
#include "cim_trace.h"
