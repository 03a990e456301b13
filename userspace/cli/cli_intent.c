// SPDX-License-Identifier: GPL-2.0
/* Intent options (--mem, --cpu-time, ...), shared by `agentcg run` and
 * `agentcg session exec`; the table of intent fields, which `agentcg mcp`
 * also builds its tools' input schemas from. */
#include <string.h>

#include "agentcg/intent.h"
#include "agentcg/units.h"
#include "cli.h"

static const struct cli_intent_field fields[] = {
	[RUN_MEM] = { "memory", "--mem", CLI_IK_SIZE },
	[RUN_MEM_MAX] = { "memory_max", "--mem-max", CLI_IK_SIZE },
	[RUN_CPU] = { "cpu", "--cpu", CLI_IK_CORES },
	[RUN_PIDS] = { "pids", "--pids", CLI_IK_COUNT },
	[RUN_TIMEOUT] = { "timeout", "--timeout", CLI_IK_DURATION },
	[RUN_CPU_TIME] = { "cpu_time", "--cpu-time", CLI_IK_DURATION },
	[RUN_FORKS] = { "forks", "--forks", CLI_IK_COUNT },
	[RUN_LABEL] = { "label", "--label", CLI_IK_LABEL },
	[RUN_PRIORITY] = { "priority", "--priority", CLI_IK_PRIORITY },
	[RUN_ON_EXCEED] = { "on_exceed", "--on-exceed", CLI_IK_ON_EXCEED },
	[RUN_RETRY] = { "retry", "--retry", CLI_IK_RETRY },
	[RUN_MEM_HINT] = { "memory_hint", "--mem-hint", CLI_IK_HINT },
};

const struct cli_intent_field *cli_intent_field(int id)
{
	if (id < RUN_MEM || id > CLI_INTENT_OPT_LAST)
		return NULL;
	return &fields[id];
}

int cli_intent_opt(struct cli *c, json_t *intent, int id, const char *arg)
{
	const struct cli_intent_field *f = cli_intent_field(id);
	const char *flag = f ? f->flag : "?";
	json_t *v = NULL;
	double cores;
	json_int_t n;
	enum ac_priority prio;
	enum ac_on_exceed act;
	enum ac_hint_class hint;
	uint64_t bytes;
	int e = 0;

	if (!f)
		return cli_usage_error(c, "unknown intent option");
	switch (f->kind) {
	case CLI_IK_SIZE:
		e = cli_check_size(c, flag, arg);
		break;
	case CLI_IK_DURATION:
		e = cli_check_duration(c, flag, arg);
		break;
	case CLI_IK_CORES:
		e = cli_parse_cores(c, flag, arg, false, &cores);
		v = e ? NULL : json_real(cores);
		break;
	case CLI_IK_COUNT:
		e = cli_parse_count(c, flag, arg, &n);
		v = e ? NULL : json_integer(n);
		break;
	case CLI_IK_LABEL:
		if (!*arg || strlen(arg) > AC_LABEL_MAX)
			e = cli_usage_error(c, "invalid label for --label: '%s' (1..%d characters)",
					    arg, AC_LABEL_MAX);
		break;
	case CLI_IK_PRIORITY:
		if (ac_priority_parse(arg, &prio) < 0)
			e = cli_usage_error(c, "invalid --priority '%s' (low, normal or high)", arg);
		break;
	case CLI_IK_RETRY:
		if (strlen(arg) != 1 || arg[0] < '0' || arg[0] > '0' + (int)AC_RETRY_MAX)
			e = cli_usage_error(c, "invalid --retry '%s' (0 to %u runs again)", arg,
					    AC_RETRY_MAX);
		v = e ? NULL : json_integer(arg[0] - '0');
		break;
	case CLI_IK_HINT:
		if (ac_hint_class_parse(arg, &hint) < 0 && ac_parse_size(arg, &bytes) < 0)
			e = cli_usage_error(c, "invalid --mem-hint '%s' (a size, or low, medium or "
					    "high)", arg);
		break;
	case CLI_IK_ON_EXCEED:
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
	json_object_set_new(intent, f->key, v);
	return 0;
}

