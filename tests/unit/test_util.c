// SPDX-License-Identifier: GPL-2.0
/* The small shared helpers: signal names and the ns -> ms round-up that
 * every timer of the daemon uses. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agentcg/util.h"

static void test_signal_names(void **state)
{
	char buf[32], want[32];

	ac_signal_name(SIGKILL, buf, sizeof(buf));
	assert_string_equal(buf, "SIGKILL");
	ac_signal_name(SIGINT, buf, sizeof(buf));
	assert_string_equal(buf, "SIGINT");
	ac_signal_name(SIGRTMIN, buf, sizeof(buf));
	assert_string_equal(buf, "SIGRTMIN");
	ac_signal_name(SIGRTMIN + 3, buf, sizeof(buf));
	assert_string_equal(buf, "SIGRTMIN+3");
	ac_signal_name(SIGRTMAX, buf, sizeof(buf));
	snprintf(want, sizeof(want), "SIGRTMIN+%d", SIGRTMAX - SIGRTMIN);
	assert_string_equal(buf, want);
	ac_signal_name(0, buf, sizeof(buf));
	assert_string_equal(buf, "SIG0");
	ac_signal_name(SIGRTMAX + 5, buf, sizeof(buf));
	snprintf(want, sizeof(want), "SIG%d", SIGRTMAX + 5);
	assert_string_equal(buf, want);
}

static void test_signal_name_small_buffer(void **state)
{
	char buf[5];

	ac_signal_name(SIGKILL, buf, sizeof(buf));
	assert_string_equal(buf, "SIGK");
}

static void test_ns_to_ms_ceil(void **state)
{
	assert_int_equal(ac_ns_to_ms_ceil(0), 0);
	assert_int_equal(ac_ns_to_ms_ceil(1), 1);
	assert_int_equal(ac_ns_to_ms_ceil(999999), 1);
	assert_int_equal(ac_ns_to_ms_ceil(1000000), 1);
	assert_int_equal(ac_ns_to_ms_ceil(1000001), 2);
	assert_int_equal(ac_ns_to_ms_ceil(2500000000ULL), 2500);
	assert_int_equal(ac_ns_to_ms_ceil(UINT64_MAX), INT32_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signal_names),
		cmocka_unit_test(test_signal_name_small_buffer),
		cmocka_unit_test(test_ns_to_ms_ceil),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
