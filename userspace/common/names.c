// SPDX-License-Identifier: GPL-2.0
/* Names ([A-Za-z0-9_.-]{1,64}, not starting with '.') and operator paths
 * "/tenant/session/call". Everything is checked here, before any name
 * reaches the filesystem. */
#include <errno.h>
#include <string.h>

#include "agentcg/names.h"
#include "agentcg/util.h"

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* The first len bytes of s form a valid name. */
static bool name_valid_n(const char *s, size_t len)
{
	if (len == 0 || len > AC_NAME_MAX || s[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char_ok(s[i]))
			return false;
	return true;
}

bool ac_name_valid(const char *name)
{
	return name && name_valid_n(name, strnlen(name, AC_NAME_MAX + 1));
}

/* Parses up to `max` components of s (an optional leading '/', one
 * optional trailing '/'). */
static int path_parse_max(const char *s, struct ac_path *out, int max)
{
	struct ac_path p = { 0 };

	if (!s || !*s)
		return -EINVAL;
	if (*s == '/')
		s++;
	while (*s) {
		const char *slash = strchr(s, '/');
		size_t len = slash ? (size_t)(slash - s) : strlen(s);

		if (!name_valid_n(s, len) || p.depth >= max)
			return -EINVAL;
		if (p.depth < AC_PATH_DEPTH_MAX) {
			memcpy(p.comp[p.depth], s, len);
			p.comp[p.depth][len] = '\0';
		}
		p.depth++;
		s += len;
		if (*s == '/')
			s++; /* a trailing '/' ends the loop; "//" fails above */
	}
	*out = p;
	return 0;
}

int ac_path_parse(const char *s, struct ac_path *out)
{
	return path_parse_max(s, out, AC_PATH_DEPTH_MAX);
}

int ac_path_split_file(const char *s, struct ac_path *out, char *file, size_t file_len)
{
	const char *slash;
	struct ac_path p;
	char node[(AC_NAME_MAX + 1) * AC_PATH_DEPTH_MAX + 2];
	size_t node_len;
	int r;

	if (!s || !*s)
		return -EINVAL;
	slash = strrchr(s, '/');
	if (!slash) { /* "memory.peak": a file of the root */
		slash = s - 1;
		node_len = 0;
	} else {
		node_len = (size_t)(slash - s);
	}
	if (!name_valid_n(slash + 1, strlen(slash + 1)))
		return -EINVAL;
	if (node_len >= sizeof(node))
		return -EINVAL;
	memcpy(node, s, node_len);
	node[node_len] = '\0';
	if (node_len == 0) {
		p = (struct ac_path){ 0 };
	} else {
		/* "//f" has an empty node component; "/t//f" too (caught by the
		 * parser as "//" unless it is the trailing '/') */
		if (node[node_len - 1] == '/')
			return -EINVAL;
		r = ac_path_parse(node, &p);
		if (r < 0)
			return r;
	}
	if (ac_strlcpy(file, slash + 1, file_len) >= file_len)
		return -ENAMETOOLONG;
	*out = p;
	return 0;
}

int ac_path_format(const struct ac_path *p, char *buf, size_t len)
{
	size_t off = 0;

	if (!len)
		return -ENAMETOOLONG;
	if (p->depth < 0 || p->depth > AC_PATH_DEPTH_MAX)
		return -EINVAL;
	if (p->depth == 0)
		return ac_snprintf(buf, len, "/");
	buf[0] = '\0';
	for (int i = 0; i < p->depth; i++) {
		int n = ac_snprintf(buf + off, len - off, "/%s", p->comp[i]);

		if (n < 0)
			return n;
		off += (size_t)n;
	}
	return (int)off;
}
