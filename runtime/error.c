// SPDX-License-Identifier: MIT
/*
 * Error codes, job status names and the library version.
 *
 * Copyright (C) 2026 The cim authors
 */
#include <stdio.h>

#include "uapi/misc/cim.h"

#include "cim_priv.h"

unsigned int cim_version(void)
{
	return CIM_VERSION_MAJOR << 16 | CIM_VERSION_MINOR << 8 |
	       CIM_VERSION_PATCH;
}

#define CIM__STR(x)	#x
#define CIM__XSTR(x)	CIM__STR(x)

const char *cim_version_string(void)
{
	return CIM__XSTR(CIM_VERSION_MAJOR) "." CIM__XSTR(CIM_VERSION_MINOR)
	       "." CIM__XSTR(CIM_VERSION_PATCH);
}

const char *cim_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
#define CIM__ERR_MSG(name, msg) case CIM_##name: return msg;
	CIM_ERRNO_MAP(CIM__ERR_MSG)
#undef CIM__ERR_MSG
	default:
		return "unknown error";
	}
}

const char *cim_err_name(int err)
{
	switch (err) {
	case 0:
		return "OK";
#define CIM__ERR_NAME(name, msg) case CIM_##name: return #name;
	CIM_ERRNO_MAP(CIM__ERR_NAME)
#undef CIM__ERR_NAME
	default:
		return "UNKNOWN";
	}
}

int cim_status_errno(uint32_t status)
{
	switch (status) {
	case CIM_ST_OK:
		return 0;
	case CIM_ST_BAD_OPCODE:
	case CIM_ST_BAD_SIZE:
	case CIM_ST_TRUNCATED:
	case CIM_ST_BAD_FLAGS:
	case CIM_ST_RESERVED:
	case CIM_ST_BAD_UNIT:
	case CIM_ST_BAD_RANGE:
	case CIM_ST_BAD_BATCH:
	case CIM_ST_BAD_VALUE:
	case CIM_ST_BAD_ALIGN:
	case CIM_ST_BAD_INST:
		return -EINVAL;
	case CIM_ST_NOMEM:
		return -ENOMEM;
	case CIM_ST_ABORTED:
	case CIM_JOB_CANCELED:
		return -ECANCELED;
	case CIM_JOB_TIMEDOUT:
		return -ETIMEDOUT;
	default:	/* DMA, INJECTED, BAD_RING and codes from the future */
		return -EIO;
	}
}

const char *cim_status_name(uint32_t status)
{
	if (status == CIM_JOB_TIMEDOUT)
		return "TIMEDOUT";
	if (status == CIM_JOB_CANCELED)
		return "CANCELED";
	return cimfw_status_name((int)status);
}
