// SPDX-License-Identifier: GPL-2.0
/* The interpreters' dynamic uids (see uids.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agentcg/util.h"
#include "uids.h"

#define RELEASE_ROUNDS 100   /* scans for what is left of a uid, 2 ms apart */
/* Every agentcgd on the host locks the byte at offset uid of this file
 * (an OFD lock, gone with the daemon) while it holds that uid, so two
 * daemons whose ranges overlap never hand out, nor kill at release, the
 * same uid. */
#define UID_LOCK_FILE "/run/agentcg-uids.lock"

struct acd_uids {
	uint32_t first, n;
	uint32_t cursor; /* next to try: uids go round, a freed one is reused last */
	uint32_t held;
	uint64_t killed; /* processes killed at release, since start */
	unsigned char *bits; /* held uids */
	int lockfd;	     /* UID_LOCK_FILE, or -1 */
};

/* Takes (or drops) the host-wide lock of uid: 0, or -EAGAIN when another
 * daemon holds it. Without the lock file only this daemon is checked. */
static int lock_uid(const struct acd_uids *u, uid_t uid, bool on)
{
	struct flock fl = { .l_type = on ? F_WRLCK : F_UNLCK, .l_whence = SEEK_SET,
			    .l_start = (off_t)uid, .l_len = 1 };

	if (u->lockfd < 0)
		return 0;
	if (fcntl(u->lockfd, F_OFD_SETLK, &fl) == 0)
		return 0;
	return errno == EAGAIN || errno == EACCES ? -EAGAIN : 0;
}

static bool held(const struct acd_uids *u, uint32_t i)
{
	return u->bits[i / 8] & (1u << (i % 8));
}

static void set_held(struct acd_uids *u, uint32_t i, bool on)
{
	if (on)
		u->bits[i / 8] |= (unsigned char)(1u << (i % 8));
	else
		u->bits[i / 8] &= (unsigned char)~(1u << (i % 8));
}

/* A process's real, effective, saved and fs uids and gids, its state and
 * name, from /proc/PID/status (dirfd: /proc). false if it is gone. */
struct proc_ids {
	uid_t uid[4];
	gid_t gid[4];
	char state;
	char name[32];
};

static bool read_ids(int procfd, const char *pid, struct proc_ids *p)
{
	char path[48], buf[1536], *l;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%.20s/status", pid);
	fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	memset(p, 0, sizeof(*p));
	p->state = '?';
	for (l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, "Name:\t", 6))
			sscanf(l + 6, "%31[^\n]", p->name);
		else if (!strncmp(l, "State:\t", 7))
			p->state = l[7];
		else if (!strncmp(l, "Uid:\t", 5) &&
			 sscanf(l + 5, "%u %u %u %u", &p->uid[0], &p->uid[1], &p->uid[2], &p->uid[3]) != 4)
			return false;
		else if (!strncmp(l, "Gid:\t", 5)) {
			if (sscanf(l + 5, "%u %u %u %u", &p->gid[0], &p->gid[1], &p->gid[2], &p->gid[3]) != 4)
				return false;
			return true; /* Uid comes before Gid */
		}
	}
	return false;
}

static bool ids_have(const struct proc_ids *p, uid_t id)
{
	for (int i = 0; i < 4; i++)
		if (p->uid[i] == id || p->gid[i] == id)
			return true;
	return false;
}

/* Calls fn for every live (not zombie) process; stops when fn says so. */
static int each_process(bool (*fn)(int procfd, pid_t pid, const struct proc_ids *p, void *arg),
			void *arg)
{
	int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;

	if (procfd < 0)
		return -errno;
	d = fdopendir(dup(procfd));
	if (!d) {
		close(procfd);
		return -errno;
	}
	while ((de = readdir(d))) {
		struct proc_ids p;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if (!read_ids(procfd, de->d_name, &p) || p.state == 'Z' || p.state == 'X')
			continue;
		if (!fn(procfd, (pid_t)atoi(de->d_name), &p, arg))
			break;
	}
	closedir(d);
	close(procfd);
	return 0;
}

/* ---- taking ------------------------------------------------------------- */

struct busy_scan {
	const struct acd_uids *u;
	unsigned char *busy;
};

static bool mark_busy(int procfd, pid_t pid, const struct proc_ids *p, void *arg)
{
	struct busy_scan *b = arg;

	for (int i = 0; i < 4; i++) {
		uint32_t ids[2] = { p->uid[i], p->gid[i] };

		for (int k = 0; k < 2; k++)
			if (ids[k] >= b->u->first && ids[k] - b->u->first < b->u->n)
				b->busy[(ids[k] - b->u->first) / 8] |=
					(unsigned char)(1u << ((ids[k] - b->u->first) % 8));
	}
	return true;
}

static bool has_entry(uid_t id)
{
	char buf[4096];
	struct passwd pw, *pres = NULL;
	struct group gr, *gres = NULL;

	getpwuid_r(id, &pw, buf, sizeof(buf), &pres);
	if (pres)
		return true;
	getgrgid_r((gid_t)id, &gr, buf, sizeof(buf), &gres);
	return gres != NULL;
}

int acd_uid_take(struct acd_ctx *ctx, uid_t *out)
{
	struct acd_uids *u = ctx->uids;
	struct busy_scan b = { .u = u, .busy = calloc(u->n / 8 + 1, 1) };
	int r = -EUSERS;

	if (!b.busy)
		return -ENOMEM;
	each_process(mark_busy, &b);
	for (uint32_t k = 0; k < u->n; k++) {
		uint32_t i = (u->cursor + k) % u->n;

		if (held(u, i) || (b.busy[i / 8] & (1u << (i % 8))) || has_entry(u->first + i) ||
		    lock_uid(u, u->first + i, true) < 0)
			continue;
		set_held(u, i, true);
		u->held++;
		u->cursor = (i + 1) % u->n;
		*out = u->first + i;
		r = 0;
		break;
	}
	free(b.busy);
	if (r < 0)
		ac_warn("no free interpreter uid in %u-%u (interpreters.uid_range)", u->first,
			u->first + u->n - 1);
	return r;
}

/* ---- giving back -------------------------------------------------------- */

struct kill_scan {
	uid_t uid;
	const char *what;
	int found, killed;
};

static bool kill_one(int procfd, pid_t pid, const struct proc_ids *p, void *arg)
{
	struct kill_scan *k = arg;
	struct proc_ids again;
	char name[16];
	int pidfd;

	if (!ids_have(p, k->uid))
		return true;
	k->found++;
	/* The pidfd holds the process now at that number; its status read
	 * after is its own as long as it lives, and a signal through the
	 * pidfd reaches only a live one: a pid reused meanwhile is safe. */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return true;
	snprintf(name, sizeof(name), "%d", (int)pid);
	if (read_ids(procfd, name, &again) && ids_have(&again, k->uid) &&
	    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) == 0) {
		k->killed++;
		ac_info("uid %u (%s): killed pid %d (%s)", (unsigned)k->uid, k->what, (int)pid,
			again.name);
	}
	close(pidfd);
	return true;
}

void acd_uid_release(struct acd_ctx *ctx, uid_t uid, const char *what)
{
	struct acd_uids *u = ctx->uids;
	int killed = 0, left = 0;

	if (!u || uid < u->first || uid - u->first >= u->n || !held(u, uid - u->first))
		return;
	for (int round = 0; round < RELEASE_ROUNDS; round++) {
		struct kill_scan k = { .uid = uid, .what = what };

		each_process(kill_one, &k);
		killed += k.killed;
		left = k.found;
		if (!k.found)
			break;
		usleep(2000); /* SIGKILLed: gone at their next return to user space */
	}
	u->killed += (uint64_t)killed;
	if (left)
		ac_warn("uid %u (%s): %d processes still there after SIGKILL; the uid is not "
			"handed out while they live", (unsigned)uid, what, left);
	set_held(u, uid - u->first, false);
	u->held--;
	lock_uid(u, uid, false);
}

/* ---- the private directory ---------------------------------------------- */

int acd_uid_home_make(uid_t uid, char *path, size_t len)
{
	int fd, r = 0;

	if (snprintf(path, len, "/tmp/agentcg-uid%u-XXXXXX", (unsigned)uid) >= (int)len)
		return -ENAMETOOLONG;
	if (!mkdtemp(path)) /* 0700, root's; in sticky /tmp no one else can swap it */
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchown(fd, uid, (gid_t)uid) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	if (r < 0)
		rmdir(path);
	return r;
}

/* Empties directory fd (closed here), never following a symlink. */
static void remove_below(int fd, int depth)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;

	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		int sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0 || errno != EISDIR)
			continue;
		sub = depth < 64 ? openat(dirfd(d), de->d_name,
					  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
		if (sub >= 0)
			remove_below(sub, depth + 1);
		unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

void acd_uid_home_remove(const char *path)
{
	int fd;

	if (!path[0])
		return;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		remove_below(fd, 0);
	if (rmdir(path) < 0 && errno != ENOENT)
		ac_warn("cannot remove %s: %s", path, strerror(errno));
}

/* Private directories a daemon killed with SIGKILL left: for uids of the
 * range that no daemon holds and no process has, removed at start. */
struct busy_one {
	uid_t uid;
	bool busy;
};

static bool is_busy(int procfd, pid_t pid, const struct proc_ids *p, void *arg)
{
	struct busy_one *b = arg;

	b->busy = ids_have(p, b->uid);
	return !b->busy;
}

static void remove_left_homes(struct acd_uids *u)
{
	DIR *d = opendir("/tmp");
	struct dirent *de;
	int n = 0;

	if (!d)
		return;
	while ((de = readdir(d))) {
		unsigned long long id;
		char path[300];
		struct stat st;
		struct busy_one b;

		if (sscanf(de->d_name, "agentcg-uid%llu-", &id) != 1 || id < u->first ||
		    id - u->first >= u->n)
			continue;
		snprintf(path, sizeof(path), "/tmp/%s", de->d_name);
		if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != (uid_t)id ||
		    lock_uid(u, (uid_t)id, true) < 0)
			continue;
		b = (struct busy_one){ .uid = (uid_t)id };
		each_process(is_busy, &b);
		if (!b.busy) {
			acd_uid_home_remove(path);
			n++;
		}
		lock_uid(u, (uid_t)id, false);
	}
	closedir(d);
	if (n)
		ac_info("removed %d private interpreter directories left by a daemon that died", n);
}

int acd_uids_init(struct acd_ctx *ctx)
{
	struct acd_uids *u = calloc(1, sizeof(*u));

	if (!u)
		return -ENOMEM;
	u->first = ctx->cfg.interp.uid_first;
	u->n = ctx->cfg.interp.uid_last - ctx->cfg.interp.uid_first + 1;
	u->bits = calloc(u->n / 8 + 1, 1);
	if (!u->bits) {
		free(u);
		return -ENOMEM;
	}
	u->lockfd = open(UID_LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (u->lockfd < 0)
		ac_warn("%s: %s; interpreter uids are not coordinated with other agentcgd "
			"instances (give each its own interpreters.uid_range)", UID_LOCK_FILE,
			strerror(errno));
	else
		remove_left_homes(u); /* only knowing which uids others hold */
	ctx->uids = u;
	return 0;
}

void acd_uids_free(struct acd_ctx *ctx)
{
	if (!ctx->uids)
		return;
	if (ctx->uids->lockfd >= 0)
		close(ctx->uids->lockfd); /* drops every lock it holds */
	free(ctx->uids->bits);
	free(ctx->uids);
	ctx->uids = NULL;
}

json_t *acd_uids_info(struct acd_ctx *ctx)
{
	struct acd_uids *u = ctx->uids;
	char range[32];

	snprintf(range, sizeof(range), "%u-%u", u->first, u->first + u->n - 1);
	return json_pack("{s:s, s:i, s:I}", "uid_range", range, "uids_held", (int)u->held,
			 "killed_at_release", (json_int_t)u->killed);
}
