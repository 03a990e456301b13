// SPDX-License-Identifier: GPL-2.0
/* cgroup backend: finding the hierarchies and this process's own cgroup in
 * each, creating and removing the root and the nodes below it. What is
 * done to a node once it exists is in cg_node.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "agentcg/cgroup.h"
#include "agentcg/names.h"
#include "agentcg/util.h"
#include "cg_backend.h"
#include "cg_io.h"

static const char *const hier_controller[AC_H_COUNT] = {
	[AC_H_UNIFIED] = "", [AC_H_MEMORY] = "memory", [AC_H_CPU] = "cpu", [AC_H_PIDS] = "pids",
};

const char *ac_cg_backend_name(const struct ac_cgroup *cg)
{
	return cg->ops ? cg->ops->name : "none";
}

bool ac_cg_has_memory_high(const struct ac_cgroup *cg)
{
	return cg->ops && cg->ops->memory_high;
}

bool ac_cg_has_memory_events(const struct ac_cgroup *cg)
{
	return cg->ops && cg->ops->memory_events;
}

bool ac_cg_has_usage_thresholds(const struct ac_cgroup *cg)
{
	return cg->ops && cg->ops->usage_thresholds;
}

bool ac_cg_has_memory_low(const struct ac_cgroup *cg)
{
	return cg->ops && cg->ops->memory_low;
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

/* Finds the cgroup2 mount and the v1 mounts of memory, cpu and pids in
 * /proc/self/mountinfo. */
static int find_mounts(struct cg_mount m[AC_H_COUNT])
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
			if (!m[h].point[0] && cg_list_has(super, hier_controller[h])) {
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
			if (cg_list_has(c1 + 1, hier_controller[h]))
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

/* The root spec as a path relative to the mount of hierarchy h. */
static int root_rel_path(const char *spec, const struct cg_mount *m, const char *own, char *out,
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

static int open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* ---- a dead daemon's leftovers ---------------------------------------- */

#define PROCS_MAX (256 * 1024)
#define LEFTOVER_WAIT_US (5 * 1000 * 1000)

static bool pid_listed(const char *procs, pid_t pid)
{
	for (const char *p = procs; *p;) {
		if ((pid_t)atoi(p) == pid)
			return true;
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	return false;
}

/* cgroup.procs of dirfd, whole lines only (a full buffer may end in part
 * of a pid); its length or <0. */
static int read_procs(int dirfd, char *buf)
{
	int n = cg_read_at(dirfd, "cgroup.procs", buf, PROCS_MAX);
	char *nl;

	if (n == PROCS_MAX - 1 && (nl = strrchr(buf, '\n'))) {
		nl[1] = '\0';
		n = (int)(nl + 1 - buf);
	}
	return n;
}

/* "comm" and the real uid of pid, for the log. */
static void describe_pid(pid_t pid, char *comm, size_t len, unsigned *uid)
{
	char path[64], status[2048], *u;
	int n;

	snprintf(comm, len, "?");
	*uid = ~0u;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	if ((n = cg_read_at(fd, "comm", comm, len)) > 0 && comm[n - 1] == '\n')
		comm[n - 1] = '\0';
	if (cg_read_at(fd, "status", status, sizeof(status)) > 0 && (u = strstr(status, "\nUid:")))
		*uid = (unsigned)strtoul(u + 5, NULL, 10);
}

/* SIGKILLs every process listed in dirfd's cgroup.procs and below it,
 * by pidfd, logging each; returns how many. A pid is signalled only if it
 * is still listed after its pidfd was taken, so the pidfd is this
 * cgroup's process and never one elsewhere that reused the pid. */
static int kill_tree(int dirfd, const char *where)
{
	_cleanup_free_ char *procs = malloc(PROCS_MAX);
	_cleanup_close_ int dupfd = -1;
	DIR *d;
	struct dirent *de;
	int n = 0;

	if (!procs)
		return 0;
	if (read_procs(dirfd, procs) > 0) {
		_cleanup_free_ char *again = malloc(PROCS_MAX);

		for (const char *p = procs; again && *p;) {
			pid_t pid = (pid_t)atoi(p);
			int pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;

			if (pidfd >= 0 && read_procs(dirfd, again) > 0 &&
			    pid_listed(again, pid)) {
				char comm[64];
				unsigned uid;

				describe_pid(pid, comm, sizeof(comm), &uid);
				if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) == 0) {
					ac_warn("killed leftover pid %d (%s, uid %u) in %s", (int)pid,
						comm, uid, where);
					n++;
				}
			}
			if (pidfd >= 0)
				close(pidfd);
			p = strchr(p, '\n');
			if (!p)
				break;
			p++;
		}
	}
	dupfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dupfd < 0 || !(d = fdopendir(dupfd)))
		return n;
	dupfd = -1; /* owned by d now (its own open file: the caller's offset stays) */
	while ((de = readdir(d))) {
		char sub[1400];

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_close_ int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", where, de->d_name);
		n += kill_tree(fd, sub);
	}
	closedir(d);
	return n;
}

/* Processes below dirfd: 1 some, 0 none (the unified tree's populated,
 * else a walk of cgroup.procs). */
static int tree_populated(int dirfd, bool unified)
{
	char buf[256];
	uint64_t populated = 0;
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (unified)
		return cg_read_at(dirfd, "cgroup.events", buf, sizeof(buf)) > 0 &&
		       cg_keyed_u64(buf, "populated", &populated) == 0 && populated;
	if (cg_read_at(dirfd, "cgroup.procs", buf, sizeof(buf)) > 0)
		return 1;
	_cleanup_close_ int dupfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dupfd < 0 || !(d = fdopendir(dupfd)))
		return 0;
	dupfd = -1;
	while (!r && (de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_close_ int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0)
			r = tree_populated(fd, false);
	}
	closedir(d);
	return r;
}

static bool wait_empty(int dirfd, bool unified)
{
	for (int waited = 0; tree_populated(dirfd, unified); waited += 10000) {
		if (waited >= LEFTOVER_WAIT_US)
			return false;
		usleep(10000);
	}
	return true;
}

/* A leftover root of a daemon that died (its lock is gone with it): what
 * still runs there, its calls' grandchildren, which outlive it, is killed
 * and logged, then the tree is removed. Only processes below the root
 * are ever signalled. */
static int clear_stale_root(struct ac_cgroup *cg, int h)
{
	_cleanup_close_ int fd = open_dir(cg->root_path[h]);
	bool unified = h == AC_H_UNIFIED;
	int r;

	if (fd < 0)
		return fd;
	/* (v1: what the unified tree's kill took is on its way out) */
	if (unified ? tree_populated(fd, true) : !wait_empty(fd, false)) {
		/* frozen, nothing forks while the pids are read and signalled */
		if (unified)
			cg_write_at(fd, "cgroup.freeze", "1");
		r = kill_tree(fd, cg->root_path[h]);
		if (unified && faccessat(fd, "cgroup.kill", F_OK, 0) == 0)
			cg_write_at(fd, "cgroup.kill", "1");
		if (unified)
			cg_write_at(fd, "cgroup.freeze", "0");
		if (r > 0)
			ac_warn("killed %d leftover processes in %s", r, cg->root_path[h]);
		if (!wait_empty(fd, unified))
			return ac_log_errno(-EBUSY, "root %s still holds processes after killing %d",
					    cg->root_path[h], r);
	}
	r = cg_remove_subtree(fd);
	if (r < 0)
		return ac_log_errno(r, "cannot clear leftover root %s", cg->root_path[h]);
	if (rmdir(cg->root_path[h]) < 0)
		return ac_log_errno(-errno, "cannot remove leftover root %s", cg->root_path[h]);
	ac_warn("removed leftover root %s", cg->root_path[h]);
	return 0;
}

/* The daemon holds a lock on its unified root for as long as it lives:
 * a root still locked is a live daemon's, never cleared. */
static int lock_root(const char *path, int fd)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		return ac_log_errno(-EBUSY, "root %s is in use by a running agentcgd", path);
	return ac_log_errno(-errno, "cannot lock root %s", path);
}

/* Picks the backend (forced, else hybrid where the v1 memory, cpu and
 * pids mounts are there) and checks that the mounts can carry it. */
static int select_backend(struct ac_cgroup *cg, const struct cg_mount m[AC_H_COUNT],
			  const char *force)
{
	bool v1_all = m[AC_H_MEMORY].point[0] && m[AC_H_CPU].point[0] && m[AC_H_PIDS].point[0];
	bool v2_ok = m[AC_H_UNIFIED].point[0] && is_cgroup2(m[AC_H_UNIFIED].point);
	const struct ac_cg_ops *ops;
	int r;

	if (!v2_ok)
		return ac_log_errno(-EOPNOTSUPP, "no cgroup2 mount found (need cgroup v2, or hybrid v1+v2)");
	if (force && strcmp(force, "v2") && strcmp(force, "hybrid"))
		return ac_log_errno(-EINVAL, "unknown backend '%s' (v2 or hybrid)", force);
	if ((force && !strcmp(force, "hybrid")) || (!force && v1_all))
		ops = &cg_hybrid_ops;
	else
		ops = &cg_v2_ops;
	if ((r = ops->probe(m)) < 0)
		return r;
	cg->ops = ops;
	cg->n_hier = ops->n_hier;
	return 0;
}

int ac_cg_open(struct ac_cgroup *cg, const char *root_spec, const char *force)
{
	struct cg_mount m[AC_H_COUNT];
	char own[AC_H_COUNT][1024];
	int r;

	memset(cg, 0, sizeof(*cg));
	ac_cg_node_init(&cg->root);
	cg->own_fd = -1;
	if (validate_root_spec(root_spec) < 0)
		return ac_log_errno(-EINVAL, "bad root '%s': components must be names", root_spec);
	if ((r = find_mounts(m)) < 0 || (r = find_own(own)) < 0)
		return ac_log_errno(r, "cannot read this process's cgroups");
	if ((r = select_backend(cg, m, force)) < 0)
		return r;

	for (int h = 0; h < cg->n_hier; h++) {
		char rel[1024];

		ac_strlcpy(cg->mount[h], m[h].point, sizeof(cg->mount[h]));
		r = root_rel_path(root_spec, &m[h], own[h], rel, sizeof(rel));
		if (r < 0 || ac_snprintf(cg->root_path[h], sizeof(cg->root_path[h]), "%s%s",
					 m[h].point, rel) < 0)
			return ac_log_errno(-ENAMETOOLONG, "root path too long");
		if (mkdir(cg->root_path[h], AC_CG_DIR_MODE) < 0) {
			if (errno != EEXIST)
				goto fail_errno;
			if (h == AC_H_UNIFIED) {
				_cleanup_close_ int old = open_dir(cg->root_path[h]);

				if (old >= 0 && (r = lock_root(cg->root_path[h], old)) < 0)
					goto fail;
			}
			if ((r = clear_stale_root(cg, h)) < 0)
				goto fail;
			if (mkdir(cg->root_path[h], AC_CG_DIR_MODE) < 0)
				goto fail_errno;
		}
		cg->root.dirfd[h] = open_dir(cg->root_path[h]);
		if (cg->root.dirfd[h] < 0) {
			r = cg->root.dirfd[h];
			goto fail;
		}
		if (h == AC_H_UNIFIED && (r = lock_root(cg->root_path[h], cg->root.dirfd[h])) < 0) {
			close(cg->root.dirfd[h]); /* another daemon's: ac_cg_close leaves it */
			cg->root.dirfd[h] = -1;
			goto fail;
		}
	}

	if ((r = cg->ops->open_root(cg)) < 0)
		goto fail;
	{
		struct stat st;

		if (fstat(cg->root.dirfd[AC_H_UNIFIED], &st) == 0)
			cg->root.id = st.st_ino;
	}
	cg->has_kill = faccessat(cg->root.dirfd[AC_H_UNIFIED], "cgroup.kill", F_OK, 0) == 0;
	cg->has_clone_into_cgroup = true; /* until a stub start learns otherwise */
	ac_info("cgroup backend %s, root %s", cg->ops->name, cg->root_path[0]);
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
	if (!cg->ops) /* never opened */
		return;
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
	cg->ops->close_root(cg);
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
		if (mkdirat(parent->dirfd[h], name, AC_CG_DIR_MODE) < 0) {
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
	if (cg->ops->memcg_hier != AC_H_UNIFIED &&
	    fstat(out->dirfd[cg->ops->memcg_hier], &st) == 0)
		out->memcg_id = st.st_ino;
	if (!leaf && (r = cg->ops->enable_subtree(out)) < 0) {
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
	int memcg_h = (int)cg->ops->memcg_hier;
	struct stat st;

	if (!ac_name_valid(name) || h < 0 || h >= cg->n_hier)
		return -EINVAL;
	if (mkdirat(parent->dirfd[h], name, AC_CG_DIR_MODE) < 0)
		return -errno;
	out->dirfd[h] = openat(parent->dirfd[h], name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (out->dirfd[h] < 0) {
		int r = -errno;

		unlinkat(parent->dirfd[h], name, AT_REMOVEDIR);
		return r;
	}
	if ((h == AC_H_UNIFIED || h == memcg_h) && fstat(out->dirfd[h], &st) == 0) {
		if (h == AC_H_UNIFIED)
			out->id = st.st_ino;
		if (h == memcg_h)
			out->memcg_id = st.st_ino;
	}
	return 0;
}
