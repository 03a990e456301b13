// SPDX-License-Identifier: GPL-2.0
/* Small file helpers for cgroupfs, all relative to directory fds. */
#include "cg_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentcg/util.h"

int cg_read_at(int dirfd, const char *name, char *buf, size_t len)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	size_t off = 0;

	if (fd < 0)
		return -errno;
	if (len == 0)
		return -EINVAL;
	while (off < len - 1) {
		ssize_t n = read(fd, buf + off, len - 1 - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	return (int)off;
}

int cg_write_at(int dirfd, const char *name, const char *value)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(value);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int cg_write_u64_at(int dirfd, const char *name, uint64_t v)
{
	char buf[32];

	if (v == UINT64_MAX)
		return cg_write_at(dirfd, name, "max");
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cg_write_at(dirfd, name, buf);
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long x;

	while (*s == ' ')
		s++;
	if (strncmp(s, "max", 3) == 0) {
		*v = UINT64_MAX;
		return 0;
	}
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	*v = x;
	return 0;
}

int cg_read_u64_at(int dirfd, const char *name, uint64_t *v)
{
	char buf[64];
	int r = cg_read_at(dirfd, name, buf, sizeof(buf));

	if (r < 0)
		return r;
	return parse_u64(buf, v);
}

bool cg_list_has(const char *list, const char *item)
{
	size_t n = strlen(item);
	const char *p = list;

	while (p && *p) {
		if (strncmp(p, item, n) == 0 && (p[n] == ',' || p[n] == '\0' || p[n] == ' ' ||
						 p[n] == '\n'))
			return true;
		p = strpbrk(p, ", ");
		if (p)
			p++;
	}
	return false;
}

int cg_keyed_u64(const char *text, const char *key, uint64_t *v)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ')
			return parse_u64(p + klen + 1, v);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

int cg_remove_subtree(int dirfd)
{
	/* its own open file, not a dup: readdir moves the offset of dirfd's */
	_cleanup_close_ int dupfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int ret = 0;

	if (dupfd < 0)
		return -errno;
	d = fdopendir(dupfd);
	if (!d)
		return -errno;
	dupfd = -1; /* owned by d now */
	while ((de = readdir(d))) {
		int sub;

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0) {
			ret = -errno;
			continue;
		}
		int r = cg_remove_subtree(sub);
		close(sub);
		if (r < 0 && !ret)
			ret = r;
		if (unlinkat(dirfd, de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT && !ret)
			ret = -errno;
	}
	closedir(d);
	return ret;
}
