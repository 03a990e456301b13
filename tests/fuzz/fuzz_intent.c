// SPDX-License-Identifier: GPL-2.0
/* libFuzzer harness: intents (userspace/common/intent.c).
 *
 * The input is JSON text; whatever it decodes to goes to
 * ac_intent_from_json as the "intent" of a call. An accepted intent is
 * completed with the embedded configuration's defaults, mapped to limits
 * and shown (ac_intent_to_json), as a call's verdict shows it. Checks:
 *  - a refusal names at least one field, and every message is a string;
 *  - what is shown parses back (without "assumed") to the same intent:
 *    an agent may send a verdict's intent again and get the same limits;
 *  - the limits keep memory.high at or below memory.max. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentcg/config.h"
#include "agentcg/intent.h"

static struct ac_config cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];

	ac_config_init(&cfg);
	if (ac_config_load_default(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_intent: embedded configuration: %s\n", err);
		abort();
	}
	return 0;
}

static void fail(const char *what, const json_t *shown)
{
	char *text = shown ? json_dumps(shown, JSON_COMPACT) : NULL;

	fprintf(stderr, "fuzz_intent: %s: %s\n", what, text ? text : "");
	free(text);
	abort();
}

static bool same(const struct ac_intent *a, const struct ac_intent *b)
{
	uint32_t s = a->set;

	return a->set == b->set && (!(s & AC_F_MEMORY) || a->memory == b->memory) &&
	       (!(s & AC_F_MEMORY_MAX) || a->memory_max == b->memory_max) &&
	       (!(s & AC_F_CPU) || a->cpu == b->cpu) && (!(s & AC_F_PIDS) || a->pids == b->pids) &&
	       (!(s & AC_F_TIMEOUT) || a->timeout_ns == b->timeout_ns) &&
	       (!(s & AC_F_CPU_TIME) || a->cpu_time_ns == b->cpu_time_ns) &&
	       (!(s & AC_F_FORKS) || a->forks == b->forks) &&
	       (!(s & AC_F_PRIORITY) || a->priority == b->priority) &&
	       (!(s & AC_F_ON_EXCEED) || a->on_exceed == b->on_exceed) &&
	       (!(s & AC_F_LABEL) || !strcmp(a->label, b->label)) &&
	       (!(s & AC_F_MEMORY_HINT) ||
		(a->hint_class == b->hint_class &&
		 (a->hint_class != AC_HINT_SIZE || a->memory_hint == b->memory_hint)));
}

/* Shown, then parsed back. */
static void round_trip(const struct ac_intent *in)
{
	json_t *shown = ac_intent_to_json(in);
	struct ac_intent back;
	struct ac_errors errs;

	if (!shown)
		fail("ac_intent_to_json gave nothing", NULL);
	json_object_del(shown, "assumed");
	if (ac_intent_from_json(shown, &back, &errs) < 0)
		fail("the shown intent does not parse back", shown);
	if (!same(in, &back))
		fail("the shown intent parses back to another", shown);
	json_decref(shown);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *obj = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	struct ac_intent in;
	struct ac_errors errs;
	struct ac_limits lim;
	json_t *ej;

	if (!obj)
		return 0;
	if (ac_intent_from_json(obj, &in, &errs) < 0) {
		if (errs.n < 1 || errs.n > AC_ERRORS_MAX)
			fail("a refused intent with no error named", obj);
		ej = ac_errors_to_json(&errs);
		if (!json_is_object(ej) || json_object_size(ej) < 1)
			fail("errors do not make an object", obj);
		json_decref(ej);
		json_decref(obj);
		return 0;
	}
	round_trip(&in);
	ac_intent_apply_defaults(&in, &cfg.defaults);
	{ /* defaulted fields are shown like given ones */
		struct ac_intent given = in;

		given.defaulted = 0;
		round_trip(&given);
	}
	ac_intent_to_limits(&in, &lim);
	if (lim.memory_high != AC_UNLIMITED && lim.memory_max != AC_UNLIMITED &&
	    lim.memory_high > lim.memory_max)
		fail("memory.high above memory.max", obj);
	json_decref(obj);
	return 0;
}
