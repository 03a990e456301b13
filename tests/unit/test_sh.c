// SPDX-License-Identifier: GPL-2.0
/* agentcg-sh's pure parts: the shell's command line (its mode and
 * command), a label from the command, and the intent from the
 * environment. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../userspace/shell/sh.h"

#define ARGS(...) ((char *const[]){ __VA_ARGS__, NULL })
#define NARGS(...) (int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *))

static void mode_of(int argc, char *const *argv, enum sh_mode mode, const char *command)
{
	struct sh_args a;

	sh_args_parse(argc, argv, &a);
	assert_int_equal(a.mode, mode);
	if (command)
		assert_string_equal(a.command, command);
	else
		assert_null(a.command);
}

#define MODE(mode, command, ...) mode_of(NARGS(__VA_ARGS__), ARGS(__VA_ARGS__), mode, command)

static void test_args(void **state)
{
	MODE(SH_COMMAND, "ls", "bash", "-c", "ls");
	MODE(SH_COMMAND, "ls", "bash", "-c", "ls", "zero", "one");
	MODE(SH_COMMAND, "ls", "bash", "-lc", "ls");
	MODE(SH_COMMAND, "ls", "bash", "-c", "-l", "ls"); /* Claude Code's order */
	MODE(SH_COMMAND, "ls", "bash", "-e", "-o", "pipefail", "-c", "ls");
	MODE(SH_COMMAND, "ls", "bash", "-eo", "pipefail", "-c", "ls");
	MODE(SH_COMMAND, "ls", "bash", "+O", "extglob", "-c", "ls");
	MODE(SH_COMMAND, "ls", "bash", "--norc", "--rcfile", "-c", "-c", "ls");
	MODE(SH_COMMAND, "-x", "bash", "-c", "--", "-x");
	MODE(SH_COMMAND, NULL, "bash", "-c");
	MODE(SH_SCRIPT, "s.sh", "bash", "s.sh", "a");
	MODE(SH_SCRIPT, "s.sh", "bash", "-x", "s.sh");
	MODE(SH_SCRIPT, "-c", "bash", "--", "-c"); /* a script named -c */
	MODE(SH_STDIN, NULL, "bash");
	MODE(SH_STDIN, NULL, "bash", "-s", "a", "b");
	MODE(SH_STDIN, NULL, "bash", "-i");
	MODE(SH_STDIN, NULL, "sh", "-");
	MODE(SH_STDIN, NULL, "bash", "-o", "pipefail"); /* the word is the option's */
}

static void label_is(const char *cmd, const char *want)
{
	char buf[65];

	memset(buf, 'x', sizeof(buf));
	sh_label_of(cmd, buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fail_msg("label of \"%s\": \"%s\", want \"%s\"", cmd, buf, want);
}

static void test_label(void **state)
{
	char tiny[4];

	label_is("pytest -x tests/", "pytest");
	label_is("  /usr/bin/git status", "git");
	label_is("cd /repo && python3 -m pytest -q", "pytest");
	label_is("cd /repo; cd sub && make -j4", "make");
	label_is("FOO=1 BAR=a/b exec env ls", "ls");
	label_is("time nohup ./build.sh", "build.sh");
	label_is("python3.11 script.py", "python3.11");
	label_is("python -m", "python");
	label_is("npm|cat", "npm");
	label_is("ls>out", "ls");
	label_is("g++ -o x x.cc", "g");
	label_is("\"quoted\" cmd", "");
	label_is("$CMD arg", "");
	label_is("ls$X", "");
	label_is("cd 'my dir' && ls", "");
	label_is("cd /x", "");
	label_is("", "");
	label_is(NULL, "");
	label_is("./.hidden", "hidden");
	sh_label_of("abcdefgh", tiny, sizeof(tiny));
	assert_string_equal(tiny, "abc");
}

static json_t *intent_ok(const char *intent, const char *hint, const char *want_warn)
{
	char err[256] = "", warn[256];
	json_t *o = NULL;

	if (sh_intent_from_env(intent, hint, &o, err, sizeof(err), warn, sizeof(warn)) < 0)
		fail_msg("intent \"%s\": %s", intent ? intent : "(null)", err);
	if (want_warn ? !strstr(warn, want_warn) : *warn != '\0')
		fail_msg("warning \"%s\", want \"%s\"", warn, want_warn ? want_warn : "");
	return o;
}

static void intent_bad(const char *intent, const char *want)
{
	char err[256] = "", warn[256];
	json_t *o = NULL;

	assert_int_equal(sh_intent_from_env(intent, NULL, &o, err, sizeof(err), warn, sizeof(warn)),
			 -EINVAL);
	assert_null(o);
	if (!strstr(err, want))
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void test_intent(void **state)
{
	json_t *o = intent_ok("memory=1G, timeout=30s,cpu=1.5,pids=64,label=x,retry=1", NULL, NULL);
	char big[5000];

	assert_string_equal(json_string_value(json_object_get(o, "memory")), "1G");
	assert_string_equal(json_string_value(json_object_get(o, "timeout")), "30s");
	assert_true(json_is_real(json_object_get(o, "cpu")));
	assert_int_equal(json_integer_value(json_object_get(o, "pids")), 64);
	assert_int_equal(json_integer_value(json_object_get(o, "retry")), 1);
	json_decref(o);
	/* not a number: passed as is, for the daemon to refuse by name */
	o = intent_ok("pids=many,cpu=", NULL, NULL);
	assert_string_equal(json_string_value(json_object_get(o, "pids")), "many");
	json_decref(o);
	o = intent_ok(" {\"memory\": \"2G\", \"priority\": \"low\"}", "memory:high", NULL);
	assert_string_equal(json_string_value(json_object_get(o, "priority")), "low");
	assert_string_equal(json_string_value(json_object_get(o, "memory_hint")), "high");
	json_decref(o);
	o = intent_ok(NULL, NULL, NULL);
	assert_int_equal(json_object_size(o), 0);
	json_decref(o);
	o = intent_ok("  ", "", NULL);
	assert_int_equal(json_object_size(o), 0);
	json_decref(o);

	intent_bad("memory", "'memory' is not key=value");
	intent_bad("=1G", "has no key");
	intent_bad("{\"memory\": ", "not a JSON object");
	intent_bad("[1]", "'[1]' is not key=value");
	intent_bad("{\"a\": 1, \"a\": 2}", "not a JSON object");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	intent_bad(big, "longer than");
}

static void test_hint(void **state)
{
	json_t *o = intent_ok(NULL, "memory:2g", NULL);

	assert_string_equal(json_string_value(json_object_get(o, "memory_hint")), "2g");
	json_decref(o);
	/* the intent's own memory_hint wins */
	o = intent_ok("memory_hint=low", "memory:high", NULL);
	assert_string_equal(json_string_value(json_object_get(o, "memory_hint")), "low");
	json_decref(o);
	o = intent_ok(NULL, "memory:medium,cpu:2", "'cpu' left out");
	assert_string_equal(json_string_value(json_object_get(o, "memory_hint")), "medium");
	json_decref(o);
	o = intent_ok(NULL, "memory:huge", "memory 'huge' left out");
	assert_null(json_object_get(o, "memory_hint"));
	json_decref(o);
	o = intent_ok(NULL, "high", "'high' left out");
	assert_int_equal(json_object_size(o), 0);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_label),
		cmocka_unit_test(test_intent),
		cmocka_unit_test(test_hint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
