/* SPDX-License-Identifier: MIT */
/*
 * What the command-line tools (cim-train, cim-ternary train) share: fatal
 * errors prefixed with the tool's name, strict option values, a progress
 * line, and labelled 28x28 image sets read from IDX files.
 */
#ifndef CIM_TOOLS_TOOL_H
#define CIM_TOOLS_TOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "idx.h"

/* Prefix of every message of tool_die(); set by main() */
extern const char *tool_name;

/* Exit status: 1 for errors, 2 for usage (an unknown option, a bad value) */
#define TOOL_EXIT_USAGE	2

__attribute__((noreturn, format(printf, 1, 2)))
void tool_die(const char *fmt, ...);
/* tool_die() for a usage error: exits with TOOL_EXIT_USAGE */
__attribute__((noreturn, format(printf, 1, 2)))
void tool_usage_die(const char *fmt, ...);

/* Monotonic seconds */
double tool_now(void);

/*
 * All of @s as a decimal integer (no sign, no base prefix, no blanks) in
 * @lo..@hi, into *@v; false if it is not one.
 */
bool tool_parse_uint(const char *s, unsigned long long lo,
		     unsigned long long hi, unsigned long long *v);

/*
 * The value of option --@name: all of @s, decimal (no sign, no base
 * prefix, no blanks), in @lo..@hi; anything else is a usage error
 * naming the option.
 */
unsigned long long tool_arg_uint(const char *name, const char *s,
				 unsigned long long lo, unsigned long long hi);
/* All of @s, a finite number in @lo..@hi; anything else is a usage error */
float tool_arg_float(const char *name, const char *s, float lo, float hi);

/*
 * Progress of one epoch on stderr: a bar redrawn in place on a terminal,
 * otherwise a plain line at each quarter (logs stay short). The caller
 * fills the fields, then calls tool_progress() after every batch.
 */
struct tool_progress {
	const char *tag;	/* "fp32 ", "device " or "" */
	unsigned int epoch, total;
	double t0;
	bool tty, quiet;
	unsigned int last_quarter;
};

void tool_progress(struct tool_progress *p, unsigned int done,
		   double mean_loss, double accuracy);

/*
 * A labelled image set: @dir/@prefix-images-idx3-ubyte (28x28 bytes) and
 * @dir/@prefix-labels-idx1-ubyte (one label below @classes per image). Any
 * problem is fatal, naming the file; @hint follows a missing or unreadable
 * file's message (where the data comes from). idx_free() both when done.
 */
void tool_load_images(const char *dir, const char *prefix,
		      unsigned int classes, const char *hint,
		      struct idx_file *images, struct idx_file *labels);

#endif
