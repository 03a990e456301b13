// SPDX-License-Identifier: GPL-2.0
/* libFuzzer harness: sizes and durations (userspace/common/units.c).
 *
 * The input, as a string, goes to both parsers. What they accept must be
 * within the limits, and its human form must parse back to the same value
 * or a little less (the forms round down: at most a tenth for an
 * approximate size, less than 1 ms for a duration). The first 8 bytes,
 * as a number, are formatted too, so values no text gives are covered. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentcg/units.h"

#define HUMAN 32 /* the daemon's buffers for these forms (HUMAN_MAX) */

static void fail(const char *what, const char *in, uint64_t v, const char *shown, uint64_t back)
{
	fprintf(stderr, "fuzz_units: %s: input \"%s\" value %llu shown \"%s\" back %llu\n", what,
		in ? in : "(number)", (unsigned long long)v, shown, (unsigned long long)back);
	abort();
}

static void check_size(uint64_t v, const char *in)
{
	char buf[HUMAN];
	uint64_t back = 0;

	ac_format_size(v, buf, sizeof(buf));
	if (strlen(buf) >= sizeof(buf) - 1)
		fail("size form fills its buffer", in, v, buf, 0);
	if (v == UINT64_MAX) {
		if (strcmp(buf, "max"))
			fail("UINT64_MAX is not \"max\"", in, v, buf, 0);
		return;
	}
	if (v > AC_SIZE_LIMIT)
		return; /* shown, but no parser takes it back */
	if (ac_parse_size(buf, &back) < 0)
		fail("size form does not parse", in, v, buf, 0);
	if (back > v || v - back > v / 10)
		fail("size form is not the value", in, v, buf, back);
}

static void check_duration(uint64_t v, const char *in)
{
	char buf[HUMAN];
	uint64_t back = 0;

	ac_format_duration(v, buf, sizeof(buf));
	if (strlen(buf) >= sizeof(buf) - 1)
		fail("duration form fills its buffer", in, v, buf, 0);
	if (v == UINT64_MAX) {
		if (strcmp(buf, "max"))
			fail("UINT64_MAX is not \"max\"", in, v, buf, 0);
		return;
	}
	if (v > AC_DURATION_LIMIT_NS)
		return;
	if (ac_parse_duration(buf, &back) < 0)
		fail("duration form does not parse", in, v, buf, 0);
	if (back > v || v - back >= 1000000)
		fail("duration form is not the value", in, v, buf, back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	uint64_t v = 0;
	int r;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	r = ac_parse_size(s, &v);
	if (r == 0) {
		if (v > AC_SIZE_LIMIT)
			fail("size above the limit accepted", s, v, "", 0);
		check_size(v, s);
	} else if (r != -EINVAL && r != -ERANGE) {
		fail("size: an error that is not EINVAL or ERANGE", s, (uint64_t)-r, "", 0);
	}
	r = ac_parse_duration(s, &v);
	if (r == 0) {
		if (v > AC_DURATION_LIMIT_NS)
			fail("duration above the limit accepted", s, v, "", 0);
		check_duration(v, s);
	} else if (r != -EINVAL && r != -ERANGE) {
		fail("duration: an error that is not EINVAL or ERANGE", s, (uint64_t)-r, "", 0);
	}
	if (size >= sizeof(v)) {
		memcpy(&v, data, sizeof(v));
		check_size(v, NULL);
		check_duration(v, NULL);
		check_size(v % (AC_SIZE_LIMIT + 1), NULL);
		check_duration(v % (AC_DURATION_LIMIT_NS + 1), NULL);
	}
	free(s);
	return 0;
}
