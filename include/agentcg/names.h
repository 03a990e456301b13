/* SPDX-License-Identifier: GPL-2.0 */
/* Names of tenants, sessions and calls, and operator paths
 * "/tenant/session/call" that mirror the cgroup tree. */
#ifndef AGENTCG_NAMES_H
#define AGENTCG_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define AC_NAME_MAX 64
#define AC_PATH_DEPTH_MAX 3 /* tenant, session, call */

enum ac_level { AC_LEVEL_ROOT = 0, AC_LEVEL_TENANT, AC_LEVEL_SESSION, AC_LEVEL_CALL };

/* [A-Za-z0-9_.-]{1,64}, not starting with '.'. */
bool ac_name_valid(const char *name);

struct ac_path {
	int depth; /* 0 = root "/", 1 = tenant, 2 = session, 3 = call */
	char comp[AC_PATH_DEPTH_MAX][AC_NAME_MAX + 1];
};

/* Parses "/", "/t", "/t/s", "/t/s/c". A missing leading '/' is accepted
 * ("t/s"), a single trailing '/' too. Empty components ("//"), invalid
 * names, or more than 3 components: -EINVAL. */
int ac_path_parse(const char *s, struct ac_path *out);

/* Splits "/t/s/memory.peak" into the node path "/t/s" and the file name
 * "memory.peak" (the last component). The file name must itself satisfy
 * ac_name_valid. -EINVAL otherwise. */
int ac_path_split_file(const char *s, struct ac_path *out, char *file, size_t file_len);

/* "/t/s/c" into buf; -ENAMETOOLONG if it does not fit. */
int ac_path_format(const struct ac_path *p, char *buf, size_t len);

#endif
