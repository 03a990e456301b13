// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agentcg/history.h"
#include "agentcg/units.h"

#define M (1ULL << 20)

static struct ac_history *new_history(uint32_t window)
{
	struct ac_history *h = NULL;

	assert_int_equal(ac_history_create(window, &h), 0);
	assert_non_null(h);
	return h;
}

/* estimate with min_samples 1 and margin 1: the p95 itself */
static uint64_t p95_of(struct ac_history *h, const char *label)
{
	struct ac_history_estimate est = { 0 };

	assert_int_equal(ac_history_estimate(h, label, 1, 1.0, &est), 0);
	return est.p95_bytes;
}

static void test_create_bounds(void **state)
{
	struct ac_history *h = NULL;

	assert_int_equal(ac_history_create(0, &h), -EINVAL);
	assert_int_equal(ac_history_create(AC_HISTORY_WINDOW_MAX + 1, &h), -EINVAL);
	assert_int_equal(ac_history_create(32, NULL), -EINVAL);
	assert_null(h);
	h = new_history(1);
	ac_history_destroy(h);
	h = new_history(AC_HISTORY_WINDOW_MAX);
	assert_int_equal(ac_history_labels(h), 0);
	ac_history_destroy(h);
	ac_history_destroy(NULL);
}

/* Nearest rank: the ceil(0.95 n)-th smallest. */
static void test_p95_nearest_rank(void **state)
{
	struct ac_history *h = new_history(64);
	char label[16];

	/* n = 1: the one peak */
	assert_int_equal(ac_history_record(h, "one", 7 * M), 0);
	assert_int_equal(p95_of(h, "one"), 7 * M);
	/* n = 3: rank ceil(2.85) = 3, the largest, whatever the order */
	ac_history_record(h, "three", 30 * M);
	ac_history_record(h, "three", 50 * M);
	ac_history_record(h, "three", 40 * M);
	assert_int_equal(p95_of(h, "three"), 50 * M);
	/* n = 20 of 1..20 (shuffled): rank 19 -> 19 */
	for (int i = 0; i < 20; i++)
		ac_history_record(h, "twenty", (uint64_t)((i * 7) % 20 + 1) * M);
	assert_int_equal(p95_of(h, "twenty"), 19 * M);
	/* n = 21 of 1..21: rank ceil(19.95) = 20 */
	for (int i = 1; i <= 21; i++)
		ac_history_record(h, "n21", (uint64_t)(22 - i) * M);
	assert_int_equal(p95_of(h, "n21"), 20 * M);
	/* n = 40 of 1..40: rank 38; n = 64 of 1..64: rank ceil(60.8) = 61 */
	for (int i = 1; i <= 40; i++)
		ac_history_record(h, "n40", (uint64_t)i);
	assert_int_equal(p95_of(h, "n40"), 38);
	for (int i = 64; i >= 1; i--)
		ac_history_record(h, "n64", (uint64_t)i * 1000);
	assert_int_equal(p95_of(h, "n64"), 61000);
	/* one outlier in 20 is left out, two are not */
	for (int i = 0; i < 19; i++)
		ac_history_record(h, "outlier", 10 * M);
	ac_history_record(h, "outlier", 900 * M);
	assert_int_equal(p95_of(h, "outlier"), 10 * M);
	ac_history_record(h, "outlier", 900 * M);
	assert_int_equal(p95_of(h, "outlier"), 900 * M);
	/* repeated values */
	for (int i = 0; i < 5; i++)
		ac_history_record(h, "same", 3 * M);
	assert_int_equal(p95_of(h, "same"), 3 * M);
	snprintf(label, sizeof(label), "%s", "three");
	assert_int_equal(p95_of(h, label), 50 * M); /* by value, not by pointer */
	ac_history_destroy(h);
}

/* The ring keeps only the last `window` peaks. */
static void test_ring_wrap(void **state)
{
	struct ac_history *h = new_history(4);
	struct ac_history_estimate est;

	ac_history_record(h, "r", 100 * M); /* falls out below */
	ac_history_record(h, "r", 90 * M);  /* falls out below */
	for (int i = 1; i <= 4; i++)
		ac_history_record(h, "r", (uint64_t)i * M);
	assert_int_equal(ac_history_estimate(h, "r", 4, 1.0, &est), 0);
	assert_int_equal(est.samples, 4);
	assert_int_equal(est.p95_bytes, 4 * M);
	/* many more laps: still the last 4 */
	for (int i = 1; i <= 1000; i++)
		ac_history_record(h, "r", (uint64_t)i * M);
	assert_int_equal(ac_history_estimate(h, "r", 1, 1.0, &est), 0);
	assert_int_equal(est.samples, 4);
	assert_int_equal(est.p95_bytes, 1000 * M);
	ac_history_record(h, "r", 2 * M); /* overwrites 997 */
	ac_history_record(h, "r", 2 * M); /* 998 */
	ac_history_record(h, "r", 2 * M); /* 999 */
	assert_int_equal(p95_of(h, "r"), 1000 * M);
	ac_history_record(h, "r", 2 * M); /* 1000: only 2M left */
	assert_int_equal(p95_of(h, "r"), 2 * M);
	ac_history_destroy(h);

	/* window 1: the last peak alone */
	h = new_history(1);
	ac_history_record(h, "w1", 50 * M);
	ac_history_record(h, "w1", 5 * M);
	assert_int_equal(ac_history_estimate(h, "w1", 1, 1.0, &est), 0);
	assert_int_equal(est.samples, 1);
	assert_int_equal(est.p95_bytes, 5 * M);
	ac_history_destroy(h);
}

/* The 257th label evicts the least recently used one. */
static void test_lru_eviction(void **state)
{
	struct ac_history *h = new_history(8);
	struct ac_history_estimate est;
	char label[32];

	for (int i = 0; i < AC_HISTORY_LABELS_MAX; i++) {
		snprintf(label, sizeof(label), "l%d", i);
		assert_int_equal(ac_history_record(h, label, (uint64_t)(i + 1) * M), 0);
	}
	assert_int_equal(ac_history_labels(h), AC_HISTORY_LABELS_MAX);
	/* l0 is used again (an estimate counts), so l1 is now the oldest */
	assert_int_equal(ac_history_estimate(h, "l0", 1, 1.0, &est), 0);
	assert_int_equal(ac_history_record(h, "new", 9 * M), 0);
	assert_int_equal(ac_history_labels(h), AC_HISTORY_LABELS_MAX);
	assert_int_equal(ac_history_estimate(h, "l1", 1, 1.0, &est), -ENOENT);
	assert_int_equal(p95_of(h, "l0"), 1 * M);
	assert_int_equal(p95_of(h, "l2"), 3 * M);
	assert_int_equal(p95_of(h, "l255"), 256 * M);
	assert_int_equal(p95_of(h, "new"), 9 * M);
	/* a recorded peak counts as a use too: l3 survives, l4 goes; a
	 * failed estimate (l1, gone) touched nothing */
	ac_history_record(h, "l3", 4 * M);
	ac_history_record(h, "newer", 1 * M);
	assert_int_equal(ac_history_estimate(h, "l4", 1, 1.0, &est), -ENOENT);
	assert_int_equal(ac_history_estimate(h, "l3", 2, 1.0, &est), 0);
	assert_int_equal(est.samples, 2);
	/* an evicted label comes back with an empty history */
	ac_history_record(h, "l1", 77 * M);
	assert_int_equal(ac_history_estimate(h, "l1", 1, 1.0, &est), 0);
	assert_int_equal(est.samples, 1);
	assert_int_equal(est.p95_bytes, 77 * M);
	assert_int_equal(ac_history_labels(h), AC_HISTORY_LABELS_MAX);
	ac_history_destroy(h);
}

static void test_min_samples(void **state)
{
	struct ac_history *h = new_history(32);
	struct ac_history_estimate est = { .samples = 99 };

	ac_history_record(h, "a", 10 * M);
	ac_history_record(h, "a", 20 * M);
	assert_int_equal(ac_history_estimate(h, "a", 3, 1.25, &est), -ENOENT);
	assert_int_equal(est.samples, 99); /* untouched */
	ac_history_record(h, "a", 30 * M);
	assert_int_equal(ac_history_estimate(h, "a", 3, 1.25, &est), 0);
	assert_int_equal(est.samples, 3);
	assert_int_equal(est.p95_bytes, 30 * M);
	assert_int_equal(ac_history_estimate(h, "a", 4, 1.25, &est), -ENOENT);
	assert_int_equal(ac_history_estimate(h, "a", 32, 1.25, &est), -ENOENT);
	/* more than the window can ever hold */
	assert_int_equal(ac_history_estimate(h, "a", 33, 1.25, &est), -EINVAL);
	assert_int_equal(ac_history_estimate(h, "a", 0, 1.25, &est), -EINVAL);
	ac_history_destroy(h);
}

static void test_margin_rounding(void **state)
{
	struct ac_history *h = new_history(8);
	struct ac_history_estimate est;

	/* 24M * 1.25 = 30M exactly: no rounding up */
	ac_history_record(h, "exact", 24 * M);
	assert_int_equal(ac_history_estimate(h, "exact", 1, 1.25, &est), 0);
	assert_int_equal(est.assumed_bytes, 30 * M);
	/* one byte more rounds up to the next MiB */
	ac_history_record(h, "up", 24 * M + 1);
	assert_int_equal(ac_history_estimate(h, "up", 1, 1.25, &est), 0);
	assert_int_equal(est.p95_bytes, 24 * M + 1);
	assert_int_equal(est.assumed_bytes, 31 * M);
	/* margin 1: the p95 rounded up to a MiB */
	ac_history_record(h, "m1", 33554433); /* 32M + 1 */
	assert_int_equal(ac_history_estimate(h, "m1", 1, 1.0, &est), 0);
	assert_int_equal(est.assumed_bytes, 33 * M);
	/* 10M * 1.1 = 11M (+ float noise) -> 12M at most, 11M at least */
	ac_history_record(h, "odd", 10 * M + 12345);
	assert_int_equal(ac_history_estimate(h, "odd", 1, 1.1, &est), 0);
	assert_int_equal(est.assumed_bytes, 12 * M);
	/* tiny peaks: at least 1 MiB */
	ac_history_record(h, "tiny", 4096);
	assert_int_equal(ac_history_estimate(h, "tiny", 1, 1.25, &est), 0);
	assert_int_equal(est.p95_bytes, 4096);
	assert_int_equal(est.assumed_bytes, 1 * M);
	ac_history_record(h, "onebyte", 1);
	assert_int_equal(ac_history_estimate(h, "onebyte", 1, 1.0, &est), 0);
	assert_int_equal(est.assumed_bytes, 1 * M);
	/* a huge peak is capped at the largest intent size */
	ac_history_record(h, "huge", AC_SIZE_LIMIT);
	assert_int_equal(ac_history_estimate(h, "huge", 1, 2.0, &est), 0);
	assert_int_equal(est.assumed_bytes, AC_SIZE_LIMIT);
	/* margins outside 1..max */
	assert_int_equal(ac_history_estimate(h, "exact", 1, 0.99, &est), -EINVAL);
	assert_int_equal(ac_history_estimate(h, "exact", 1, AC_HISTORY_MARGIN_MAX + 1, &est),
			 -EINVAL);
	assert_int_equal(ac_history_estimate(h, "exact", 1, NAN, &est), -EINVAL);
	ac_history_destroy(h);
}

static void test_unknown_and_bad_labels(void **state)
{
	struct ac_history *h = new_history(8);
	struct ac_history_estimate est;
	char long_label[AC_LABEL_MAX + 2];

	assert_int_equal(ac_history_estimate(h, "nope", 1, 1.25, &est), -ENOENT);
	ac_history_record(h, "a", 5 * M);
	assert_int_equal(ac_history_estimate(h, "A", 1, 1.25, &est), -ENOENT); /* case matters */
	assert_int_equal(ac_history_estimate(h, "a ", 1, 1.25, &est), -ENOENT);
	assert_int_equal(ac_history_estimate(h, "", 1, 1.25, &est), -EINVAL);
	assert_int_equal(ac_history_estimate(h, NULL, 1, 1.25, &est), -EINVAL);
	assert_int_equal(ac_history_estimate(NULL, "a", 1, 1.25, &est), -EINVAL);
	assert_int_equal(ac_history_estimate(h, "a", 1, 1.25, NULL), -EINVAL);
	assert_int_equal(ac_history_record(h, "", 5 * M), -EINVAL);
	assert_int_equal(ac_history_record(h, NULL, 5 * M), -EINVAL);
	assert_int_equal(ac_history_record(NULL, "a", 5 * M), -EINVAL);
	assert_int_equal(ac_history_record(h, "a", 0), -EINVAL); /* unknown peak */
	memset(long_label, 'x', sizeof(long_label) - 1);
	long_label[sizeof(long_label) - 1] = 0;
	assert_int_equal(ac_history_record(h, long_label, 5 * M), -ENAMETOOLONG);
	assert_int_equal(ac_history_estimate(h, long_label, 1, 1.25, &est), -ENAMETOOLONG);
	long_label[AC_LABEL_MAX] = 0; /* exactly the longest label */
	assert_int_equal(ac_history_record(h, long_label, 5 * M), 0);
	assert_int_equal(p95_of(h, long_label), 5 * M);
	assert_int_equal(ac_history_labels(h), 2);
	/* the refused records left "a" as it was */
	assert_int_equal(ac_history_estimate(h, "a", 1, 1.0, &est), 0);
	assert_int_equal(est.samples, 1);
	ac_history_destroy(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_bounds),
		cmocka_unit_test(test_p95_nearest_rank),
		cmocka_unit_test(test_ring_wrap),
		cmocka_unit_test(test_lru_eviction),
		cmocka_unit_test(test_min_samples),
		cmocka_unit_test(test_margin_rounding),
		cmocka_unit_test(test_unknown_and_bad_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
