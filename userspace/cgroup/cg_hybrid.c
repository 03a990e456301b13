// SPDX-License-Identifier: GPL-2.0
/* The hybrid backend: memory, cpu and pids on cgroup v1 mounts, plus the
 * cgroup2 tree (usually /sys/fs/cgroup/unified) with no controllers, used
 * for identity, CPU usage, cgroup.kill, cgroup.freeze, cgroup.events and
 * placement. The v1 files are translated to their v2 form so an operator
 * sees the same names on both backends. */
#include <errno.h>

#include "agentcg/util.h"
#include "cg_backend.h"

/* ---- setup ------------------------------------------------------------ */

static int hybrid_probe(const struct cg_mount m[AC_H_COUNT])
{
	if (!m[AC_H_MEMORY].point[0] || !m[AC_H_CPU].point[0] || !m[AC_H_PIDS].point[0])
		return ac_log_errno(-EOPNOTSUPP, "hybrid backend needs v1 memory, cpu and pids mounts");
	return 0;
}

/* v1 controllers are on wherever their hierarchy is mounted. */
static int hybrid_open_root(struct ac_cgroup *cg)
{
	return 0;
}

static void hybrid_close_root(struct ac_cgroup *cg)
{
}

static int hybrid_enable_subtree(const struct ac_cg_node *node)
{
	return 0;
}

const struct ac_cg_ops cg_hybrid_ops = {
	.name = "hybrid",
	.kind = AC_CG_HYBRID,
	.n_hier = AC_H_COUNT,
	.memcg_hier = AC_H_MEMORY,
	.probe = hybrid_probe,
	.open_root = hybrid_open_root,
	.close_root = hybrid_close_root,
	.enable_subtree = hybrid_enable_subtree,
};
