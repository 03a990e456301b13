// SPDX-License-Identifier: GPL-2.0
/* launch_bench: the bench's own cgroups, through libagentcg-cgroup. */
#include "cgroups.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "context.h"

static const char *const hier_name[AC_H_COUNT] = { "unified", "memory", "cpu", "pids" };

const char *lb_hier_name(int h)
{
	return h >= 0 && h < AC_H_COUNT ? hier_name[h] : "?";
}

void lb_cgroups_init(struct lb_ctx *ctx)
{
	struct lb_cgroups *cg = &ctx->cg;

	ac_cg_node_init(&cg->lib.root);
	lb_fmt(ctx, cg->tools_tag, sizeof(cg->tools_tag), "agentcg-bench-%d-tools", (int)ctx->self);
}

void lb_cgroups_open(struct lb_ctx *ctx)
{
	struct lb_cgroups *cg = &ctx->cg;
	int r = ac_cg_open(&cg->lib, cg->tools_tag, NULL);

	if (r < 0)
		lb_die(ctx, "cannot create the tools cgroup %s: %s", cg->tools_tag, strerror(-r));
	cg->open = true;
	/* memory, cpu and pids in v1 hierarchies of their own (the cgroup-tools
	 * commands and the replica address those) */
	cg->hybrid = cg->lib.n_hier > 1;
	cg->n_hier = cg->lib.n_hier;
	/* The tools dir is <mount><own>/<tools_tag>: what is mine in each
	 * hierarchy is the rest (the daemons' roots go there too). */
	for (int h = 0; h < cg->n_hier; h++) {
		const char *root = cg->lib.root_path[h];
		size_t ml = strlen(cg->lib.mount[h]), rl = strlen(root), tl = strlen(cg->tools_tag);

		if (strncmp(root, cg->lib.mount[h], ml) || rl < ml + tl + 1 ||
		    strcmp(root + rl - tl, cg->tools_tag) || root[rl - tl - 1] != '/')
			lb_die(ctx, "unexpected root path %s", root);
		lb_fmt(ctx, cg->mount[h], sizeof(cg->mount[h]), "%s", cg->lib.mount[h]);
		lb_fmt(ctx, cg->own[h], sizeof(cg->own[h]), "%.*s", (int)(rl - tl - 1 - ml), root + ml);
	}
}

void lb_cgroups_remove_tools(struct lb_ctx *ctx)
{
	if (!ctx->cg.open)
		return;
	ac_cg_close(&ctx->cg.lib);
	ctx->cg.open = false;
}

const struct ac_cg_node *lb_cgroups_tools(const struct lb_ctx *ctx)
{
	return &ctx->cg.lib.root;
}

int lb_cgroups_tools_fd(const struct lb_ctx *ctx, int h)
{
	return ctx->cg.lib.root.dirfd[h];
}

void lb_cgroups_path(struct lb_ctx *ctx, int h, const char *name, char *buf, size_t len)
{
	lb_fmt(ctx, buf, len, "%s%s/%s", ctx->cg.mount[h], ctx->cg.own[h], name);
}

int lb_rmdir_retry(int parentfd, const char *name)
{
	for (int i = 0; i < 400; i++) {
		if (unlinkat(parentfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		usleep(5000);
	}
	return -errno;
}

void lb_cgroups_leftovers(struct lb_ctx *ctx, json_t *arr)
{
	const char *names[1 + LB_DAEMONS_MAX] = { ctx->cg.tools_tag, ctx->dmn[0].tag, ctx->dmn[1].tag };

	for (int h = 0; h < ctx->cg.n_hier; h++)
		for (int i = 0; i < 1 + ctx->n_dmn; i++) {
			char p[1500];
			struct stat st;

			lb_cgroups_path(ctx, h, names[i], p, sizeof(p));
			if (stat(p, &st) == 0)
				json_array_append_new(arr, json_string(p));
		}
}
