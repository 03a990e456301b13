// SPDX-License-Identifier: GPL-2.0
/* cgroup backend: finding the hierarchies and this process's own cgroup in
 * each, creating and removing the root and the nodes below it. What is
 * done to a node once it exists is in cg_node.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "agentcg/cgroup.h"
#include "agentcg/names.h"
#include "agentcg/util.h"
#include "cg_io.h"

static const char *const hier_controller[AC_H_COUNT] = {
	[AC_H_UNIFIED] = "", [AC_H_MEMORY] = "memory", [AC_H_CPU] = "cpu", [AC_H_PIDS] = "pids",
};

const char *ac_cg_kind_name(enum ac_cg_kind kind)
{
	return kind == AC_CG_V2 ? "v2" : "hybrid";
}

void ac_cg_node_init(struct ac_cg_node *node)
{
	for (int h = 0; h < AC_H_COUNT; h++)
		node->dirfd[h] = -1;
	node->id = node->memcg_id = 0;
}

void ac_cg_node_close(struct ac_cg_node *node)
{
	for (int h = 0; h < AC_H_COUNT; h++) {
		if (node->dirfd[h] >= 0)
			close(node->dirfd[h]);
		node->dirfd[h] = -1;
	}
}

static bool list_has(const char *list, const char *item)
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

struct mount_info {
	char point[256];
	char root[1024];
};

/* Finds the cgroup2 mount and the v1 mounts of memory, cpu and pids in
 * /proc/self/mountinfo. */
static int find_mounts(struct mount_info m[AC_H_COUNT])
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return -errno;
	for (int h = 0; h < AC_H_COUNT; h++)
		m[h].point[0] = m[h].root[0] = '\0';
	while (getline(&line, &cap, f) > 0) {
		char root[1024], point[256], *sep, fstype[32], source[64], super[512];

		if (sscanf(line, "%*s %*s %*s %1023s %255s", root, point) != 2)
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%31s %63s %511s", fstype, source, super) != 3)
			continue;
		if (!strcmp(fstype, "cgroup2")) {
			if (!m[AC_H_UNIFIED].point[0]) {
				ac_strlcpy(m[AC_H_UNIFIED].point, point, sizeof(m[0].point));
				ac_strlcpy(m[AC_H_UNIFIED].root, root, sizeof(m[0].root));
			}
			continue;
		}
		if (strcmp(fstype, "cgroup"))
			continue;
		for (int h = AC_H_MEMORY; h < AC_H_COUNT; h++) {
			if (!m[h].point[0] && list_has(super, hier_controller[h])) {
				ac_strlcpy(m[h].point, point, sizeof(m[h].point));
				ac_strlcpy(m[h].root, root, sizeof(m[h].root));
			}
		}
	}
	free(line);
	fclose(f);
	return 0;
}

/* This process's cgroup path in each hierarchy, from /proc/self/cgroup. */
static int find_own(char own[AC_H_COUNT][1024])
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[2048];

	if (!f)
		return -errno;
	for (int h = 0; h < AC_H_COUNT; h++)
		own[h][0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2, *nl;

		if (!c1 || !(c2 = strchr(c1 + 1, ':')))
			continue;
		*c2 = '\0';
		nl = strchr(c2 + 1, '\n');
		if (nl)
			*nl = '\0';
		if (c1[1] == '\0' && !strncmp(line, "0:", 2)) {
			ac_strlcpy(own[AC_H_UNIFIED], c2 + 1, sizeof(own[0]));
			continue;
		}
		for (int h = AC_H_MEMORY; h < AC_H_COUNT; h++)
			if (list_has(c1 + 1, hier_controller[h]))
				ac_strlcpy(own[h], c2 + 1, sizeof(own[h]));
	}
	fclose(f);
	return 0;
}

static bool is_cgroup2(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

static bool v2_has_controllers(const char *mount)
{
	char path[512], buf[256];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s", mount);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || cg_read_at(fd, "cgroup.controllers", buf, sizeof(buf)) < 0)
		return false;
	return list_has(buf, "memory") && list_has(buf, "cpu") && list_has(buf, "pids");
}

/* The root spec as a path relative to the mount of hierarchy h. */
static int root_rel_path(const char *spec, const struct mount_info *m, const char *own, char *out,
			 size_t len)
{
	const char *base = own;
	size_t rl = strlen(m->root);

	if (!strcmp(spec, "auto"))
		spec = "agentcg";
	/* A mount that does not show the whole hierarchy (inside a container)
	 * shows own cgroup paths relative to its root. */
	if (strcmp(m->root, "/") && !strncmp(own, m->root, rl))
		base = own + rl;
	if (spec[0] == '/')
		return ac_snprintf(out, len, "%s", spec);
	return ac_snprintf(out, len, "%s/%s", strcmp(base, "/") ? base : "", spec);
}

/* Every component of a root spec must be a plain name. */
static int validate_root_spec(const char *spec)
{
	char copy[1024], *save = NULL, *tok;
	int n = 0;

	if (!strcmp(spec, "auto"))
		return 0;
	if (ac_strlcpy(copy, spec, sizeof(copy)) >= sizeof(copy))
		return -ENAMETOOLONG;
	for (tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save), n++)
		if (!ac_name_valid(tok))
			return -EINVAL;
	return n > 0 ? 0 : -EINVAL;
}

static int enable_controllers(int dirfd)
{
	char buf[256];
	int r = cg_read_at(dirfd, "cgroup.subtree_control", buf, sizeof(buf));

	if (r < 0)
		return r;
	if (list_has(buf, "memory") && list_has(buf, "cpu") && list_has(buf, "pids"))
		return 0;
	return cg_write_at(dirfd, "cgroup.subtree_control", "+memory +cpu +pids");
}

static int open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
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

/* v2: the cgroup above the root holds this very process, as a systemd
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

/* A leftover root of a daemon that died: remove it if nothing runs there. */
static int clear_stale_root(struct ac_cgroup *cg, int h)
{
	_cleanup_close_ int fd = open_dir(cg->root_path[h]);
	char buf[256];
	uint64_t populated = 0;
	int r;

	if (fd < 0)
		return fd;
	if (h == AC_H_UNIFIED && cg_read_at(fd, "cgroup.events", buf, sizeof(buf)) > 0 &&
	    cg_keyed_u64(buf, "populated", &populated) == 0 && populated)
		return ac_log_errno(-EBUSY, "root %s exists and still holds processes",
				    cg->root_path[h]);
	r = cg_remove_subtree(fd);
	if (r < 0)
		return ac_log_errno(r, "cannot clear leftover root %s", cg->root_path[h]);
	if (rmdir(cg->root_path[h]) < 0)
		return ac_log_errno(-errno, "cannot remove leftover root %s", cg->root_path[h]);
	ac_warn("removed leftover root %s", cg->root_path[h]);
	return 0;
}

static int probe_kind(struct ac_cgroup *cg, const struct mount_info m[AC_H_COUNT], const char *force)
{
	bool v1_all = m[AC_H_MEMORY].point[0] && m[AC_H_CPU].point[0] && m[AC_H_PIDS].point[0];
	bool v2_ok = m[AC_H_UNIFIED].point[0] && is_cgroup2(m[AC_H_UNIFIED].point);

	if (!v2_ok)
		return ac_log_errno(-EOPNOTSUPP, "no cgroup2 mount found (need cgroup v2, or hybrid v1+v2)");
	if (force && strcmp(force, "v2") && strcmp(force, "hybrid"))
		return ac_log_errno(-EINVAL, "unknown backend '%s' (v2 or hybrid)", force);
	if ((force && !strcmp(force, "hybrid")) || (!force && v1_all)) {
		if (!v1_all)
			return ac_log_errno(-EOPNOTSUPP,
					    "hybrid backend needs v1 memory, cpu and pids mounts");
		cg->kind = AC_CG_HYBRID;
		cg->n_hier = AC_H_COUNT;
		return 0;
	}
	if (!v2_has_controllers(m[AC_H_UNIFIED].point))
		return ac_log_errno(-EOPNOTSUPP,
				    "cgroup2 at %s lacks the memory, cpu or pids controller",
				    m[AC_H_UNIFIED].point);
	cg->kind = AC_CG_V2;
	cg->n_hier = 1;
	return 0;
}

int ac_cg_open(struct ac_cgroup *cg, const char *root_spec, const char *force)
{
	struct mount_info m[AC_H_COUNT];
	char own[AC_H_COUNT][1024];
	int r;

	memset(cg, 0, sizeof(*cg));
	ac_cg_node_init(&cg->root);
	cg->own_fd = -1;
	if (validate_root_spec(root_spec) < 0)
		return ac_log_errno(-EINVAL, "bad root '%s': components must be names", root_spec);
	if ((r = find_mounts(m)) < 0 || (r = find_own(own)) < 0)
		return ac_log_errno(r, "cannot read this process's cgroups");
	if ((r = probe_kind(cg, m, force)) < 0)
		return r;

	for (int h = 0; h < cg->n_hier; h++) {
		char rel[1024];

		ac_strlcpy(cg->mount[h], m[h].point, sizeof(cg->mount[h]));
		r = root_rel_path(root_spec, &m[h], own[h], rel, sizeof(rel));
		if (r < 0 || ac_snprintf(cg->root_path[h], sizeof(cg->root_path[h]), "%s%s",
					 m[h].point, rel) < 0)
			return ac_log_errno(-ENAMETOOLONG, "root path too long");
		if (mkdir(cg->root_path[h], 0755) < 0) {
			if (errno != EEXIST)
				goto fail_errno;
			if ((r = clear_stale_root(cg, h)) < 0)
				goto fail;
			if (mkdir(cg->root_path[h], 0755) < 0)
				goto fail_errno;
		}
		cg->root.dirfd[h] = open_dir(cg->root_path[h]);
		if (cg->root.dirfd[h] < 0) {
			r = cg->root.dirfd[h];
			goto fail;
		}
	}

	if (cg->kind == AC_CG_V2) {
		_cleanup_close_ int parent = openat(cg->root.dirfd[AC_H_UNIFIED], "..",
						    O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		r = parent < 0 ? -errno : enable_controllers(parent);
		if (r == -EBUSY && move_self_to_leaf(cg, parent) == 0) {
			r = enable_controllers(parent);
			if (r < 0)
				move_self_back(cg);
		}
		if (r < 0) {
			ac_log_errno(r, "cannot enable memory, cpu, pids above %s (the daemon's own "
					"cgroup must be delegated and hold no processes but agentcgd)",
				     cg->root_path[0]);
			goto fail;
		}
		if ((r = enable_controllers(cg->root.dirfd[AC_H_UNIFIED])) < 0) {
			ac_log_errno(r, "cannot enable controllers in %s", cg->root_path[0]);
			goto fail;
		}
	}
	{
		struct stat st;

		if (fstat(cg->root.dirfd[AC_H_UNIFIED], &st) == 0)
			cg->root.id = st.st_ino;
	}
	cg->has_kill = faccessat(cg->root.dirfd[AC_H_UNIFIED], "cgroup.kill", F_OK, 0) == 0;
	cg->has_peak = cg->kind == AC_CG_V2 &&
		       faccessat(cg->root.dirfd[AC_H_UNIFIED], "memory.peak", F_OK, 0) == 0;
	cg->has_clone_into_cgroup = true; /* until a stub start learns otherwise */
	ac_info("cgroup backend %s, root %s", ac_cg_kind_name(cg->kind), cg->root_path[0]);
	return 0;

fail_errno:
	r = -errno;
	ac_log_errno(r, "cannot create root %s", cg->root_path[0]);
fail:
	ac_cg_close(cg);
	return r;
}

void ac_cg_close(struct ac_cgroup *cg)
{
	if (cg->root.dirfd[AC_H_UNIFIED] >= 0 && ac_cg_populated(cg, &cg->root) > 0) {
		ac_cg_kill(cg, &cg->root);
		/* Give the kernel a moment to take the killed tasks away. */
		for (int i = 0; i < 200 && ac_cg_populated(cg, &cg->root) > 0; i++)
			usleep(10000);
	}
	for (int h = 0; h < AC_H_COUNT; h++) {
		if (cg->root.dirfd[h] < 0)
			continue;
		cg_remove_subtree(cg->root.dirfd[h]);
		if (rmdir(cg->root_path[h]) < 0 && errno != ENOENT)
			ac_log_errno(-errno, "cannot remove %s", cg->root_path[h]);
	}
	ac_cg_node_close(&cg->root);
	move_self_back(cg);
}

int ac_cg_mkdir(struct ac_cgroup *cg, const struct ac_cg_node *parent, const char *name, bool leaf,
		struct ac_cg_node *out)
{
	int h, r;
	struct stat st;

	if (!ac_name_valid(name) && strcmp(name, AC_CG_INTERP_POOL))
		return -EINVAL;
	ac_cg_node_init(out);
	for (h = 0; h < cg->n_hier; h++) {
		if (mkdirat(parent->dirfd[h], name, 0755) < 0) {
			r = -errno;
			goto rollback;
		}
		out->dirfd[h] = openat(parent->dirfd[h], name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (out->dirfd[h] < 0) {
			r = -errno;
			unlinkat(parent->dirfd[h], name, AT_REMOVEDIR);
			goto rollback;
		}
	}
	if (fstat(out->dirfd[AC_H_UNIFIED], &st) == 0)
		out->id = st.st_ino;
	out->memcg_id = out->id;
	if (cg->kind == AC_CG_HYBRID && fstat(out->dirfd[AC_H_MEMORY], &st) == 0)
		out->memcg_id = st.st_ino;
	if (!leaf && cg->kind == AC_CG_V2 && (r = enable_controllers(out->dirfd[AC_H_UNIFIED])) < 0) {
		h = cg->n_hier;
		goto rollback;
	}
	return 0;

rollback:
	while (--h >= 0) {
		if (out->dirfd[h] >= 0)
			close(out->dirfd[h]);
		out->dirfd[h] = -1;
		unlinkat(parent->dirfd[h], name, AT_REMOVEDIR);
	}
	return r;
}

int ac_cg_rmdir(struct ac_cgroup *cg, const struct ac_cg_node *parent, const char *name,
		struct ac_cg_node *node)
{
	int r;

	while ((r = ac_cg_rmdir_step(cg, parent, name, node)) > 0)
		;
	return r;
}

int ac_cg_rmdir_step(struct ac_cgroup *cg, const struct ac_cg_node *parent, const char *name,
		     struct ac_cg_node *node)
{
	/* The unified dir goes last: it is what says "populated". */
	for (int h = cg->n_hier - 1; h >= 0; h--) {
		if (node->dirfd[h] < 0)
			continue;
		if (unlinkat(parent->dirfd[h], name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return -errno;
		close(node->dirfd[h]);
		node->dirfd[h] = -1;
		return h > 0 ? 1 : 0;
	}
	return 0;
}

int ac_cg_mkdir_one(struct ac_cgroup *cg, const struct ac_cg_node *parent, const char *name,
		    int h, struct ac_cg_node *out)
{
	struct stat st;

	if (!ac_name_valid(name) || h < 0 || h >= cg->n_hier)
		return -EINVAL;
	if (mkdirat(parent->dirfd[h], name, 0755) < 0)
		return -errno;
	out->dirfd[h] = openat(parent->dirfd[h], name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (out->dirfd[h] < 0) {
		int r = -errno;

		unlinkat(parent->dirfd[h], name, AT_REMOVEDIR);
		return r;
	}
	if ((h == AC_H_UNIFIED || h == AC_H_MEMORY) && fstat(out->dirfd[h], &st) == 0) {
		if (h == AC_H_UNIFIED)
			out->id = st.st_ino;
		if (h == AC_H_MEMORY || cg->kind == AC_CG_V2)
			out->memcg_id = st.st_ino;
	}
	return 0;
}
