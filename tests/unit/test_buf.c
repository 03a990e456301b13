// SPDX-License-Identifier: GPL-2.0
/* The capped growable buffer: appends up to the cap and not a byte more,
 * room to read into, consuming from the front, memory given back. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agentcg/buf.h"

static void test_append_to_the_cap(void **state)
{
	struct ac_buf b = { 0 };
	char chunk[1000];

	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 10; i++)
		assert_int_equal(ac_buf_append(&b, chunk, sizeof(chunk), 10000), 0);
	assert_int_equal(b.len, 10000);
	assert_true(b.cap <= 10000);
	/* One byte over the cap is refused and nothing is appended. */
	assert_int_equal(ac_buf_append(&b, "y", 1, 10000), -ENOBUFS);
	assert_int_equal(b.len, 10000);
	assert_int_equal(ac_buf_append(&b, chunk, 0, 10000), 0);
	/* A length that would overflow size_t is refused too. */
	assert_int_equal(ac_buf_append(&b, chunk, SIZE_MAX, 10000), -ENOBUFS);
	ac_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void test_consume_keeps_order(void **state)
{
	struct ac_buf b = { 0 };

	assert_int_equal(ac_buf_append(&b, "hello\nworld\n", 12, 100), 0);
	ac_buf_consume(&b, 6);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "world\n", 6);
	ac_buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	ac_buf_free(&b);
}

static void test_room_grows_to_the_cap(void **state)
{
	struct ac_buf b = { 0 };
	long room = ac_buf_room(&b, 16, 100);

	assert_int_equal(room, 16);
	b.len = 16;
	room = ac_buf_room(&b, 16, 100);
	assert_int_equal(room, 16); /* doubled to 32 */
	b.len = 32;
	assert_int_equal(ac_buf_room(&b, 16, 100), 32);
	b.len = 64;
	assert_int_equal(ac_buf_room(&b, 16, 100), 36); /* clamped to the cap */
	b.len = 100;
	assert_int_equal(ac_buf_room(&b, 16, 100), -ENOBUFS);
	ac_buf_free(&b);
}

static void test_memory_given_back_after_a_burst(void **state)
{
	struct ac_buf b = { 0 };
	static char big[200000];

	assert_int_equal(ac_buf_append(&b, big, sizeof(big), 1 << 20), 0);
	assert_true(b.cap >= sizeof(big));
	ac_buf_consume(&b, sizeof(big));
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	/* A big buffer left mostly empty shrinks, and keeps what it holds. */
	assert_int_equal(ac_buf_append(&b, big, sizeof(big), 1 << 20), 0);
	assert_int_equal(ac_buf_append(&b, "tail", 4, 1 << 20), 0);
	ac_buf_consume(&b, sizeof(big));
	assert_int_equal(b.len, 4);
	assert_true(b.cap <= 65536);
	assert_memory_equal(b.data, "tail", 4);
	assert_int_equal(ac_buf_append(&b, big, sizeof(big), 1 << 20), 0);
	assert_memory_equal(b.data, "tail", 4);
	ac_buf_consume(&b, 4 + sizeof(big));
	assert_null(b.data);
	/* A small buffer keeps its memory. */
	assert_int_equal(ac_buf_append(&b, "abc", 3, 1 << 20), 0);
	ac_buf_consume(&b, 3);
	assert_non_null(b.data);
	ac_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_to_the_cap),
		cmocka_unit_test(test_consume_keeps_order),
		cmocka_unit_test(test_room_grows_to_the_cap),
		cmocka_unit_test(test_memory_given_back_after_a_burst),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
