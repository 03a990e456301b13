// SPDX-License-Identifier: GPL-2.0
/* The cgroup v2 backend: one cgroup2 hierarchy with memory, cpu and pids
 * enabled down the tree. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentcg/util.h"
#include "cg_backend.h"
#include "cg_io.h"

static bool v2_has_controllers(const char *mount)
{
	char path[512], buf[256];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s", mount);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || cg_read_at(fd, "cgroup.controllers", buf, sizeof(buf)) < 0)
		return false;
	return cg_list_has(buf, "memory") && cg_list_has(buf, "cpu") && cg_list_has(buf, "pids");
}

static int enable_controllers(int dirfd)
{
	char buf[256];
	int r = cg_read_at(dirfd, "cgroup.subtree_control", buf, sizeof(buf));

	if (r < 0)
		return r;
	if (cg_list_has(buf, "memory") && cg_list_has(buf, "cpu") && cg_list_has(buf, "pids"))
		return 0;
	return cg_write_at(dirfd, "cgroup.subtree_control", "+memory +cpu +pids");
}

/* Whether pid is one of the processes of the cgroup at dirfd. */
static bool procs_has(int dirfd, pid_t pid)
{
	int fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "re");
	bool found = false;
	int p;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (!found && fscanf(f, "%d", &p) == 1)
		found = p == pid;
	fclose(f);
	return found;
}

/* The cgroup above the root holds this very process, as a systemd
 * service with Delegate=yes starts, so the no-internal-process rule
 * forbids enabling controllers there. Move the daemon into a leaf
 * "<root name>.daemon" next to the root (what systemd's DelegateSubgroup=
 * does); ac_cg_close moves it back. -EBUSY if it is not in there. */
static int move_self_to_leaf(struct ac_cgroup *cg, int parent)
{
	const char *base = strrchr(cg->root_path[AC_H_UNIFIED], '/');
	_cleanup_close_ int leaf = -1;
	int r;

	if (!procs_has(parent, getpid()))
		return -EBUSY;
	if (ac_snprintf(cg->own_leaf, sizeof(cg->own_leaf), "%s.daemon", base ? base + 1 : "") < 0)
		return -ENAMETOOLONG;
	if (mkdirat(parent, cg->own_leaf, 0755) < 0 && errno != EEXIST)
		return -errno;
	leaf = openat(parent, cg->own_leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = leaf < 0 ? -errno : cg_write_at(leaf, "cgroup.procs", "0");
	if (r == 0 && (cg->own_fd = fcntl(parent, F_DUPFD_CLOEXEC, 3)) < 0) {
		r = -errno;
		cg_write_at(parent, "cgroup.procs", "0");
	}
	if (r < 0) {
		unlinkat(parent, cg->own_leaf, AT_REMOVEDIR);
		return r;
	}
	ac_info("moved agentcgd into the leaf %s next to its root (no internal processes on v2)",
		cg->own_leaf);
	return 0;
}

/* Undoes move_self_to_leaf: the controllers it let the daemon enable go
 * (that cgroup held a process, so none were enabled before), the daemon
 * goes back, the leaf is removed. */
static void move_self_back(struct ac_cgroup *cg)
{
	int r;

	if (cg->own_fd < 0)
		return;
	r = cg_write_at(cg->own_fd, "cgroup.subtree_control", "-memory -cpu -pids");
	if (r == 0)
		r = cg_write_at(cg->own_fd, "cgroup.procs", "0");
	if (r == 0 && unlinkat(cg->own_fd, cg->own_leaf, AT_REMOVEDIR) < 0)
		r = -errno;
	if (r < 0)
		ac_log_errno(r, "cannot move agentcgd back out of its leaf %s", cg->own_leaf);
	close(cg->own_fd);
	cg->own_fd = -1;
}

/* ---- setup ------------------------------------------------------------ */

static int v2_probe(const struct cg_mount m[AC_H_COUNT])
{
	if (!v2_has_controllers(m[AC_H_UNIFIED].point))
		return ac_log_errno(-EOPNOTSUPP,
				    "cgroup2 at %s lacks the memory, cpu or pids controller",
				    m[AC_H_UNIFIED].point);
	return 0;
}

/* memory, cpu and pids for the root's subtree, which needs them enabled
 * in the cgroup above it too. */
static int v2_open_root(struct ac_cgroup *cg)
{
	_cleanup_close_ int parent = openat(cg->root.dirfd[AC_H_UNIFIED], "..",
					    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = parent < 0 ? -errno : enable_controllers(parent);

	if (r == -EBUSY && move_self_to_leaf(cg, parent) == 0) {
		r = enable_controllers(parent);
		if (r < 0)
			move_self_back(cg);
	}
	if (r < 0)
		return ac_log_errno(r, "cannot enable memory, cpu, pids above %s (the daemon's own "
				       "cgroup must be delegated and hold no processes but agentcgd)",
				    cg->root_path[0]);
	if ((r = enable_controllers(cg->root.dirfd[AC_H_UNIFIED])) < 0)
		return ac_log_errno(r, "cannot enable controllers in %s", cg->root_path[0]);
	cg->has_peak = faccessat(cg->root.dirfd[AC_H_UNIFIED], "memory.peak", F_OK, 0) == 0;
	return 0;
}

static void v2_close_root(struct ac_cgroup *cg)
{
	move_self_back(cg);
}

static int v2_enable_subtree(const struct ac_cg_node *node)
{
	return enable_controllers(node->dirfd[AC_H_UNIFIED]);
}

const struct ac_cg_ops cg_v2_ops = {
	.name = "v2",
	.kind = AC_CG_V2,
	.n_hier = 1,
	.memcg_hier = AC_H_UNIFIED,
	.probe = v2_probe,
	.open_root = v2_open_root,
	.close_root = v2_close_root,
	.enable_subtree = v2_enable_subtree,
};
