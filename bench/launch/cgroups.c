// SPDX-License-Identifier: GPL-2.0
/* launch_bench: the bench's own cgroups. */
#include "cgroups.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "context.h"

static const char *const hier_name[AC_H_COUNT] = { "unified", "memory", "cpu", "pids" };

const char *lb_hier_name(int h)
{
	return h >= 0 && h < AC_H_COUNT ? hier_name[h] : "?";
}

void lb_cgroups_init(struct lb_ctx *ctx)
{
	struct lb_cgroups *cg = &ctx->cg;

	for (int h = 0; h < AC_H_COUNT; h++)
		cg->tools_fd[h] = -1;
	lb_fmt(ctx, cg->tools_tag, sizeof(cg->tools_tag), "agentcg-bench-%d-tools", (int)ctx->self);
}

int lb_rmtree_at(int parentfd, const char *name)
{
	int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int dupfd, ret = 0;
	DIR *d;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	d = dupfd >= 0 ? fdopendir(dupfd) : NULL;
	if (!d) {
		if (dupfd >= 0)
			close(dupfd);
	} else {
		struct dirent *de;

		while ((de = readdir(d)))
			if (de->d_type == DT_DIR && strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				lb_rmtree_at(fd, de->d_name);
		closedir(d);
	}
	close(fd);
	for (int i = 0; i < 400; i++) {
		if (unlinkat(parentfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		ret = -errno;
		if (errno != EBUSY)
			break;
		usleep(5000);
	}
	return ret;
}

void lb_cgroups_path(struct lb_ctx *ctx, int h, const char *name, char *buf, size_t len)
{
	lb_fmt(ctx, buf, len, "%s%s/%s", ctx->cg.mount[h], ctx->cg.own[h], name);
}

void lb_cgroups_remove_tools(struct lb_ctx *ctx)
{
	struct lb_cgroups *cg = &ctx->cg;

	for (int h = 0; h < AC_H_COUNT; h++) {
		char p[1500], parent[1500];
		int pfd, r;

		if (cg->tools_fd[h] >= 0)
			close(cg->tools_fd[h]);
		cg->tools_fd[h] = -1;
		if (!cg->tools_made[h])
			continue;
		cg->tools_made[h] = false;
		lb_cgroups_path(ctx, h, cg->tools_tag, p, sizeof(p));
		lb_fmt(ctx, parent, sizeof(parent), "%s%s", cg->mount[h], cg->own[h]);
		pfd = open(parent[0] ? parent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0)
			continue;
		r = lb_rmtree_at(pfd, cg->tools_tag);
		if (r < 0)
			fprintf(stderr, "launch_bench: cannot remove %s: %s\n", p, strerror(-r));
		close(pfd);
	}
}

static bool list_has(const char *list, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; p && *p;) {
		if (!strncmp(p, item, n) && (p[n] == ',' || p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
			return true;
		p = strpbrk(p, ", ");
		if (p)
			p++;
	}
	return false;
}

static void discover(struct lb_ctx *ctx)
{
	struct lb_cgroups *cg = &ctx->cg;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, own[AC_H_COUNT][1024], mroot[AC_H_COUNT][1024];
	size_t cap = 0;

	if (!f)
		lb_die(ctx, "cannot read /proc/self/mountinfo: %s", strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		char root[1024], point[256], fstype[32], source[64], super[512], *sep;

		if (sscanf(line, "%*s %*s %*s %1023s %255s", root, point) != 2)
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%31s %63s %511s", fstype, source, super) != 3)
			continue;
		for (int h = 0; h < AC_H_COUNT; h++) {
			bool match = h == AC_H_UNIFIED ? !strcmp(fstype, "cgroup2") :
							 !strcmp(fstype, "cgroup") &&
								 list_has(super, hier_name[h]);

			if (match && !cg->present[h]) {
				cg->present[h] = true;
				lb_fmt(ctx, cg->mount[h], sizeof(cg->mount[h]), "%s", point);
				lb_fmt(ctx, mroot[h], sizeof(mroot[h]), "%s", root);
			}
		}
	}
	free(line);
	fclose(f);

	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		lb_die(ctx, "cannot read /proc/self/cgroup: %s", strerror(errno));
	for (int h = 0; h < AC_H_COUNT; h++)
		own[h][0] = '\0';
	{
		char l[2048];

		while (fgets(l, sizeof(l), f)) {
			char *c1 = strchr(l, ':'), *c2, *nl;

			if (!c1 || !(c2 = strchr(c1 + 1, ':')))
				continue;
			*c2 = '\0';
			if ((nl = strchr(c2 + 1, '\n')))
				*nl = '\0';
			if (c1[1] == '\0' && !strncmp(l, "0:", 2)) {
				lb_fmt(ctx, own[AC_H_UNIFIED], sizeof(own[0]), "%s", c2 + 1);
				continue;
			}
			for (int h = AC_H_MEMORY; h < AC_H_COUNT; h++)
				if (list_has(c1 + 1, hier_name[h]))
					lb_fmt(ctx, own[h], sizeof(own[h]), "%s", c2 + 1);
		}
	}
	fclose(f);

	for (int h = 0; h < AC_H_COUNT; h++) {
		const char *base = own[h];
		size_t rl = strlen(mroot[h]);

		if (!cg->present[h])
			continue;
		/* A mount that shows only part of the hierarchy (a container)
		 * shows our path relative to its own root. */
		if (strcmp(mroot[h], "/") && !strncmp(base, mroot[h], rl))
			base += rl;
		lb_fmt(ctx, cg->own[h], sizeof(cg->own[h]), "%s", strcmp(base, "/") ? base : "");
	}
	cg->hybrid = cg->present[AC_H_MEMORY] && cg->present[AC_H_CPU] && cg->present[AC_H_PIDS];
	if (!cg->present[AC_H_UNIFIED])
		lb_die(ctx, "no cgroup2 mount: agentcgd needs cgroup v2 or hybrid v1+v2");
	{
		struct statfs sfs;

		if (statfs(cg->mount[AC_H_UNIFIED], &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
			lb_die(ctx, "%s is not cgroup2", cg->mount[AC_H_UNIFIED]);
	}
	if (!cg->hybrid)
		for (int h = AC_H_MEMORY; h < AC_H_COUNT; h++)
			cg->present[h] = false;
}

int lb_cgroups_hiers(const struct lb_ctx *ctx, int out[AC_H_COUNT])
{
	int n = 0;

	out[n++] = AC_H_UNIFIED;
	if (ctx->cg.hybrid)
		for (int h = AC_H_MEMORY; h < AC_H_COUNT; h++)
			out[n++] = h;
	return n;
}

static void create_tools(struct lb_ctx *ctx)
{
	struct lb_cgroups *cg = &ctx->cg;
	int hs[AC_H_COUNT], n = lb_cgroups_hiers(ctx, hs);

	for (int i = 0; i < n; i++) {
		int h = hs[i];
		char p[1500];

		lb_cgroups_path(ctx, h, cg->tools_tag, p, sizeof(p));
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			lb_die(ctx, "cannot create %s: %s", p, strerror(errno));
		cg->tools_made[h] = true;
		cg->tools_fd[h] = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cg->tools_fd[h] < 0)
			lb_die(ctx, "cannot open %s: %s", p, strerror(errno));
	}
	if (!cg->hybrid) {
		/* Pure v2: controllers must be enabled down to our parent.
		 * Best effort (fails if our own cgroup holds processes). */
		char p[1500];
		int fd;

		lb_fmt(ctx, p, sizeof(p), "%s%s/cgroup.subtree_control", cg->mount[AC_H_UNIFIED],
		       cg->own[AC_H_UNIFIED]);
		if ((fd = open(p, O_WRONLY | O_CLOEXEC)) >= 0) {
			if (write(fd, "+memory +cpu +pids", 18) < 0) {
			}
			close(fd);
		}
		fd = openat(cg->tools_fd[AC_H_UNIFIED], "cgroup.subtree_control", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, "+memory +cpu +pids", 18) < 0)
				fprintf(stderr, "launch_bench: warning: cannot enable controllers in %s: %s\n",
					cg->tools_tag, strerror(errno));
			close(fd);
		}
	}
}

void lb_cgroups_open(struct lb_ctx *ctx)
{
	discover(ctx);
	create_tools(ctx);
}

void lb_cgroups_leftovers(struct lb_ctx *ctx, json_t *arr)
{
	for (int h = 0; h < AC_H_COUNT; h++) {
		const char *names[1 + LB_DAEMONS_MAX] = { ctx->cg.tools_tag, ctx->dmn[0].tag,
							   ctx->dmn[1].tag };

		if (!ctx->cg.present[h])
			continue;
		for (int i = 0; i < 1 + ctx->n_dmn; i++) {
			char p[1500];
			struct stat st;

			lb_cgroups_path(ctx, h, names[i], p, sizeof(p));
			if (stat(p, &st) == 0)
				json_array_append_new(arr, json_string(p));
		}
	}
}
