// SPDX-License-Identifier: GPL-2.0
/* Intent options (--mem, --cpu-time, ...), shared by `agentcg run` and
 * `agentcg session exec`. */
#include <string.h>

#include "agentcg/intent.h"
#include "agentcg/units.h"
#include "cli.h"

int cli_intent_opt(struct cli *c, json_t *intent, int id, const char *arg)
{
	static const char *const keys[] = {
		[RUN_MEM] = "memory",	  [RUN_MEM_MAX] = "memory_max", [RUN_CPU] = "cpu",
		[RUN_PIDS] = "pids",	  [RUN_TIMEOUT] = "timeout",	[RUN_CPU_TIME] = "cpu_time",
		[RUN_LABEL] = "label",	  [RUN_PRIORITY] = "priority",	[RUN_ON_EXCEED] = "on_exceed",
		[RUN_FORKS] = "forks",	  [RUN_RETRY] = "retry",	[RUN_MEM_HINT] = "memory_hint",
	};
	static const char *const flags[] = {
		[RUN_MEM] = "--mem",	    [RUN_MEM_MAX] = "--mem-max", [RUN_CPU] = "--cpu",
		[RUN_PIDS] = "--pids",	    [RUN_TIMEOUT] = "--timeout", [RUN_CPU_TIME] = "--cpu-time",
		[RUN_LABEL] = "--label",    [RUN_PRIORITY] = "--priority",
		[RUN_ON_EXCEED] = "--on-exceed", [RUN_FORKS] = "--forks",
		[RUN_RETRY] = "--retry",    [RUN_MEM_HINT] = "--mem-hint",
	};
	const char *flag = flags[id];
	json_t *v = NULL;
	double cores;
	json_int_t n;
	enum ac_priority prio;
	enum ac_on_exceed act;
	enum ac_hint_class hint;
	uint64_t bytes;
	int e = 0;

	switch (id) {
	case RUN_MEM:
	case RUN_MEM_MAX:
		e = cli_check_size(c, flag, arg);
		break;
	case RUN_TIMEOUT:
	case RUN_CPU_TIME:
		e = cli_check_duration(c, flag, arg);
		break;
	case RUN_CPU:
		e = cli_parse_cores(c, flag, arg, false, &cores);
		v = e ? NULL : json_real(cores);
		break;
	case RUN_PIDS:
	case RUN_FORKS:
		e = cli_parse_count(c, flag, arg, &n);
		v = e ? NULL : json_integer(n);
		break;
	case RUN_LABEL:
		if (!*arg || strlen(arg) > AC_LABEL_MAX)
			e = cli_usage_error(c, "invalid label for --label: '%s' (1..%d characters)",
					    arg, AC_LABEL_MAX);
		break;
	case RUN_PRIORITY:
		if (ac_priority_parse(arg, &prio) < 0)
			e = cli_usage_error(c, "invalid --priority '%s' (low, normal or high)", arg);
		break;
	case RUN_RETRY:
		if (strlen(arg) != 1 || arg[0] < '0' || arg[0] > '0' + (int)AC_RETRY_MAX)
			e = cli_usage_error(c, "invalid --retry '%s' (0 to %u runs again)", arg,
					    AC_RETRY_MAX);
		v = e ? NULL : json_integer(arg[0] - '0');
		break;
	case RUN_MEM_HINT:
		if (ac_hint_class_parse(arg, &hint) < 0 && ac_parse_size(arg, &bytes) < 0)
			e = cli_usage_error(c, "invalid --mem-hint '%s' (a size, or low, medium or "
					    "high)", arg);
		break;
	case RUN_ON_EXCEED:
		if (ac_on_exceed_parse(arg, &act) < 0)
			e = cli_usage_error(c, "invalid --on-exceed '%s' (kill, freeze or report)",
					    arg);
		break;
	}
	if (e)
		return e;
	if (!v)
		v = json_string(arg);
	if (!v)
		return cli_usage_error(c, "%s: value is not valid UTF-8", flag);
	json_object_set_new(intent, keys[id], v);
	return 0;
}

