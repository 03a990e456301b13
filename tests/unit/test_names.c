// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agentcg/names.h"
#include "agentcg/util.h"

static void test_name_valid(void **state)
{
	static const char *const good[] = {
		"a", "A", "0", "_", "-", "t1", "tenant-1", "sess_2", "call-42", "a.b", "a..b",
		"a.", "x-", "-x", "1.2.3", "CamelCase", "call-", "a-.-_b",
	};
	char max[AC_NAME_MAX + 1];

	for (size_t i = 0; i < AC_ARRAY_SIZE(good); i++)
		if (!ac_name_valid(good[i]))
			fail_msg("\"%s\" should be valid", good[i]);
	memset(max, 'n', AC_NAME_MAX);
	max[AC_NAME_MAX] = '\0';
	assert_true(ac_name_valid(max));
}

static void test_name_invalid(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", ".hidden", "a/b", "/", "a b", " a", "a ", "a\tb", "a\nb", "caf\xc3\xa9",
		"\xff", "a:b", "a*b", "a\\b", "a$b", "a@b", "a%b", "a+b", "a=b", "~", ".a.b",
	};
	char long_name[AC_NAME_MAX + 2];

	for (size_t i = 0; i < AC_ARRAY_SIZE(bad); i++)
		if (ac_name_valid(bad[i]))
			fail_msg("\"%s\" should be invalid", bad[i]);
	assert_false(ac_name_valid(NULL));
	memset(long_name, 'n', AC_NAME_MAX + 1);
	long_name[AC_NAME_MAX + 1] = '\0';
	assert_false(ac_name_valid(long_name)); /* 65 chars */
}

static void path_is(const char *s, int depth, const char *c0, const char *c1, const char *c2)
{
	struct ac_path p;
	int r = ac_path_parse(s, &p);

	if (r != 0)
		fail_msg("ac_path_parse(\"%s\") = %d", s, r);
	assert_int_equal(p.depth, depth);
	if (depth > 0)
		assert_string_equal(p.comp[0], c0);
	if (depth > 1)
		assert_string_equal(p.comp[1], c1);
	if (depth > 2)
		assert_string_equal(p.comp[2], c2);
}

static void test_path_parse_ok(void **state)
{
	path_is("/", 0, NULL, NULL, NULL);
	path_is("/t", 1, "t", NULL, NULL);
	path_is("/t/", 1, "t", NULL, NULL);
	path_is("t", 1, "t", NULL, NULL);
	path_is("/t/s", 2, "t", "s", NULL);
	path_is("t/s", 2, "t", "s", NULL);
	path_is("/t/s/", 2, "t", "s", NULL);
	path_is("/t/s/call-1", 3, "t", "s", "call-1");
	path_is("/t/s/call-1/", 3, "t", "s", "call-1");
	path_is("/tenant.a/sess_1/c-9", 3, "tenant.a", "sess_1", "c-9");
}

static void test_path_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",	  "//",	    "/t//s",   "//t",	  "/t//",   "/t/s//", "/a/b/c/d", "a/b/c/d/",
		"/.",	  "/..",    "/t/..",   "/t/.hidden", "/t/a b", "/t/\xc3\xa9",
		"///",	  "/t/s/c//",
	};
	char long_comp[AC_NAME_MAX + 8];
	struct ac_path p;

	for (size_t i = 0; i < AC_ARRAY_SIZE(bad); i++) {
		if (ac_path_parse(bad[i], &p) != -EINVAL)
			fail_msg("ac_path_parse(\"%s\") should fail", bad[i]);
	}
	assert_int_equal(ac_path_parse(NULL, &p), -EINVAL);
	long_comp[0] = '/';
	memset(long_comp + 1, 'x', AC_NAME_MAX + 1);
	long_comp[AC_NAME_MAX + 2] = '\0';
	assert_int_equal(ac_path_parse(long_comp, &p), -EINVAL);
	long_comp[AC_NAME_MAX + 1] = '\0'; /* exactly 64 */
	assert_int_equal(ac_path_parse(long_comp, &p), 0);
	assert_int_equal(p.depth, 1);
	assert_int_equal(strlen(p.comp[0]), AC_NAME_MAX);
}

static void test_path_format(void **state)
{
	struct ac_path p;
	char buf[256], small[5];

	assert_int_equal(ac_path_parse("/", &p), 0);
	assert_int_equal(ac_path_format(&p, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "/");

	assert_int_equal(ac_path_parse("t/s/", &p), 0);
	assert_int_equal(ac_path_format(&p, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "/t/s");

	assert_int_equal(ac_path_parse("/tenant/session/call-1", &p), 0);
	assert_int_equal(ac_path_format(&p, buf, sizeof(buf)), (int)strlen("/tenant/session/call-1"));
	assert_string_equal(buf, "/tenant/session/call-1");

	assert_int_equal(ac_path_format(&p, small, sizeof(small)), -ENAMETOOLONG);
	assert_int_equal(ac_path_format(&p, small, 0), -ENAMETOOLONG);
	assert_int_equal(ac_path_parse("/abc", &p), 0);
	assert_int_equal(ac_path_format(&p, small, sizeof(small)), 4); /* exactly fits */
	assert_string_equal(small, "/abc");
	assert_int_equal(ac_path_parse("/abcd", &p), 0);
	assert_int_equal(ac_path_format(&p, small, sizeof(small)), -ENAMETOOLONG);
}

static void test_path_round_trip(void **state)
{
	static const char *const paths[] = { "/", "/a", "/a/b", "/a/b/c", "/x.y/z_1/call-123" };

	for (size_t i = 0; i < AC_ARRAY_SIZE(paths); i++) {
		struct ac_path p;
		char buf[256];

		assert_int_equal(ac_path_parse(paths[i], &p), 0);
		assert_true(ac_path_format(&p, buf, sizeof(buf)) > 0);
		assert_string_equal(buf, paths[i]);
	}
}

static void split_is(const char *s, const char *node, const char *file)
{
	struct ac_path p;
	char f[AC_NAME_MAX + 1], buf[256];
	int r = ac_path_split_file(s, &p, f, sizeof(f));

	if (r != 0)
		fail_msg("ac_path_split_file(\"%s\") = %d", s, r);
	assert_true(ac_path_format(&p, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, node);
	assert_string_equal(f, file);
}

static void test_split_file(void **state)
{
	split_is("/t/s/memory.peak", "/t/s", "memory.peak");
	split_is("t/s/memory.peak", "/t/s", "memory.peak");
	split_is("/t/s/c/cgroup.procs", "/t/s/c", "cgroup.procs");
	split_is("/t/memory.max", "/t", "memory.max");
	split_is("/memory.stat", "/", "memory.stat");
	split_is("memory.stat", "/", "memory.stat");
	split_is("/t/s/mem/ory", "/t/s/mem", "ory"); /* the last component is the file */
}

static void test_split_file_bad(void **state)
{
	static const char *const bad[] = {
		"", "/", "/t/s/", "/t/s/.x", "/t/s/..", "/t/s/a b", "/a/b/c/d/memory.peak",
		"//memory.peak", "/t//memory.peak", "/.t/memory.peak", "/t/s/c/d/e", "/t/s/memory peak",
	};
	struct ac_path p;
	char f[AC_NAME_MAX + 1], tiny[4];

	for (size_t i = 0; i < AC_ARRAY_SIZE(bad); i++) {
		int r = ac_path_split_file(bad[i], &p, f, sizeof(f));

		if (r != -EINVAL)
			fail_msg("ac_path_split_file(\"%s\") = %d; want -EINVAL", bad[i], r);
	}
	assert_int_equal(ac_path_split_file(NULL, &p, f, sizeof(f)), -EINVAL);
	assert_int_equal(ac_path_split_file("/t/memory.peak", &p, tiny, sizeof(tiny)), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_valid),     cmocka_unit_test(test_name_invalid),
		cmocka_unit_test(test_path_parse_ok),  cmocka_unit_test(test_path_parse_bad),
		cmocka_unit_test(test_path_format),    cmocka_unit_test(test_path_round_trip),
		cmocka_unit_test(test_split_file),     cmocka_unit_test(test_split_file_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
