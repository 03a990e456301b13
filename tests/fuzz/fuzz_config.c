// SPDX-License-Identifier: GPL-2.0
/* libFuzzer harness: the configuration (userspace/common/config.c).
 *
 * The input is a configuration file's text, parsed over the built-in
 * values as agentcgd --config does. Checks: a refusal has a message and
 * leaves the configuration as it was (byte for byte); an accepted one
 * keeps the bounds the README gives (call pool, tenants and their names,
 * the adaptive window, paths that end). The harness
 * names no key: keys added to the parser are fuzzed as they are. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentcg/config.h"
#include "agentcg/names.h"

static struct ac_config fresh, cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ac_config_init(&fresh);
	return 0;
}

static void fail(const char *what, const uint8_t *data, size_t size)
{
	fprintf(stderr, "fuzz_config: %s: %.*s\n", what, (int)(size > 2000 ? 2000 : size),
		(const char *)data);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	int r;

	memcpy(&cfg, &fresh, sizeof(cfg));
	err[0] = '\0';
	r = ac_config_parse(&cfg, (const char *)data, size, err, sizeof(err));
	if (r < 0) {
		if (r != -EINVAL)
			fail("a refusal that is not -EINVAL", data, size);
		if (!err[0] || !memchr(err, '\0', sizeof(err)))
			fail("a refusal without a message", data, size);
		if (memcmp(&cfg, &fresh, sizeof(cfg)))
			fail("a refused configuration changed the values", data, size);
		return 0;
	}
	if (cfg.call_pool < 0 || cfg.call_pool > AC_CALL_POOL_MAX)
		fail("call_pool out of bounds", data, size);
	if (cfg.n_tenants < 0 || cfg.n_tenants > AC_TENANTS_MAX)
		fail("tenants out of bounds", data, size);
	for (int i = 0; i < cfg.n_tenants; i++)
		if (!ac_name_valid(cfg.tenants[i].name))
			fail("a tenant with an invalid name", data, size);
	if (cfg.adaptive.window < 1 || cfg.adaptive.window > 64 || cfg.adaptive.min_samples < 1 ||
	    cfg.adaptive.min_samples > cfg.adaptive.window || cfg.adaptive.margin < 1 ||
	    cfg.adaptive.margin > 100)
		fail("adaptive out of bounds", data, size);
	if (!memchr(cfg.socket_path, '\0', sizeof(cfg.socket_path)) ||
	    !memchr(cfg.root, '\0', sizeof(cfg.root)))
		fail("a path without its end", data, size);
	return 0;
}
