// SPDX-License-Identifier: GPL-2.0
/* Moving running processes between cgroups on a worker thread (see
 * mover.h). The thread touches nothing of the daemon's but its own jobs:
 * each job owns the fds it writes (opened by the loop when it is
 * queued), so the nodes may go while it runs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agentcg/util.h"
#include "mover.h"
#include "server.h"

#define MOVER_QUEUE_MAX 256   /* past it a move is done on the loop */
#define MOVER_CHILDREN_MAX 16 /* children of one runner moved with it */
#define MOVER_FREEZE_MS 500   /* a source that does not freeze by then: children stay */

enum move_state { MOVE_QUEUED, MOVE_RUNNING, MOVE_DONE };

struct acd_move {
	struct acd_move *next;
	pid_t pid;
	struct ac_cg_placement to;
	struct ac_cg_freezer from; /* fd -1: no children */
	acd_move_fn done;
	void *arg;
	enum move_state state;
	int result;
	int children; /* moved with pid */
	uint64_t ns;  /* how long the move took */
};

struct acd_mover {
	pthread_t thread;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t work, finished;
	struct acd_move *head, *tail; /* queued */
	int queued;
	struct acd_move *done;	      /* finished, not yet delivered (newest first) */
	bool stop;
	struct acd_watch evw;
	/* stats, under mu */
	uint64_t moves, failures, inline_moves, max_ns, sum_ns;
};

/* ---- the worker ------------------------------------------------------- */

/* The direct children of pid: /proc/PID/task/TID/children of each thread. */
static int read_children(pid_t pid, pid_t *out, int max)
{
	char path[64], buf[1024];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < max) {
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/children", (int)pid, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f))
			for (char *p = buf, *end; *p && n < max; p = end) {
				long v = strtol(p, &end, 10);

				if (end == p)
					break;
				if (v > 0)
					out[n++] = (pid_t)v;
			}
		fclose(f);
	}
	closedir(d);
	return n;
}

/* Moves pid's child kid if it still is that: its parent read through a
 * pidfd taken first (a status read while the pidfd's process lives is
 * its own). pid is frozen and unreaped, so kid cannot be reaped either. */
static bool move_child(const struct acd_move *m, pid_t kid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, kid, 0);
	bool moved = false;

	if (pidfd < 0)
		return false;
	if (ac_proc_ppid(kid) == (int)m->pid && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0)
		moved = ac_cg_placement_move(&m->to, kid) == 0;
	close(pidfd);
	return moved;
}

static void do_move(struct acd_move *m)
{
	pid_t kids[MOVER_CHILDREN_MAX];
	int n_kids = 0;
	bool frozen = false;
	uint64_t t0 = ac_now_ns();

	/* pid is the daemon's unreaped child: its number stays its own. Its
	 * children are pinned only while it cannot reap them: freeze first. */
	if (m->from.fd[0] >= 0) {
		frozen = ac_cg_freezer_set(&m->from, true, MOVER_FREEZE_MS) == 0;
		if (frozen)
			n_kids = read_children(m->pid, kids, MOVER_CHILDREN_MAX);
	}
	/* children first: a moved task leaves the frozen cgroup and thaws,
	 * and pid must not run until they are out of its reach */
	for (int i = 0; i < n_kids; i++)
		m->children += move_child(m, kids[i]);
	m->result = ac_cg_placement_move(&m->to, m->pid);
	if (m->from.fd[0] >= 0) {
		ac_cg_freezer_set(&m->from, false, 0);
		if (!frozen && m->result == 0)
			m->result = -ETIMEDOUT; /* the children were left behind */
	}
	m->ns = ac_now_ns() - t0;
}

static void job_close(struct acd_move *m)
{
	ac_cg_placement_close(&m->to);
	ac_cg_freezer_close(&m->from);
}

static void finish(struct acd_mover *mv, struct acd_move *m)
{
	mv->moves++;
	mv->failures += m->result < 0;
	mv->sum_ns += m->ns;
	if (m->ns > mv->max_ns)
		mv->max_ns = m->ns;
	m->state = MOVE_DONE;
	m->next = mv->done;
	mv->done = m;
	pthread_cond_broadcast(&mv->finished);
}

static void *worker(void *arg)
{
	struct acd_mover *mv = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&mv->mu);
	for (;;) {
		struct acd_move *m;

		while (!mv->stop && !mv->head)
			pthread_cond_wait(&mv->work, &mv->mu);
		if (!mv->head)
			break; /* stopping, and nothing left */
		m = mv->head;
		mv->head = m->next;
		if (!mv->head)
			mv->tail = NULL;
		mv->queued--;
		m->state = MOVE_RUNNING;
		pthread_mutex_unlock(&mv->mu);
		do_move(m);
		job_close(m);
		pthread_mutex_lock(&mv->mu);
		finish(mv, m);
		pthread_mutex_unlock(&mv->mu);
		if (write(mv->evw.fd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow here; nothing to do */
		}
		pthread_mutex_lock(&mv->mu);
	}
	pthread_mutex_unlock(&mv->mu);
	return NULL;
}

/* ---- the loop's side --------------------------------------------------- */

static void deliver(struct acd_ctx *ctx, struct acd_move *m)
{
	if (m->result < 0 && m->result != -ECANCELED)
		ac_warn("moving pid %d to its next cgroup: %s", (int)m->pid, strerror(-m->result));
	m->done(ctx, m->arg, m->result);
	free(m);
}

/* Delivers finished jobs, oldest first, one at a time: a done function
 * may wait for another job (acd_mover_wait), which must then still be in
 * the list to be found. */
static void on_event(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	struct acd_mover *mv = ctx->mover;
	uint64_t cnt;

	if (read(w->fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return;
	for (;;) {
		struct acd_move **pp, *m;

		pthread_mutex_lock(&mv->mu);
		for (pp = &mv->done; *pp && (*pp)->next; pp = &(*pp)->next)
			;
		m = *pp;
		if (m)
			*pp = NULL;
		pthread_mutex_unlock(&mv->mu);
		if (!m)
			break;
		deliver(ctx, m);
	}
}

int acd_mover_submit(struct acd_ctx *ctx, const struct acd_move_req *req, struct acd_move **out)
{
	struct acd_mover *mv = ctx->mover;
	struct acd_move *m = calloc(1, sizeof(*m));
	uint64_t one = 1;
	int r;

	if (!m)
		return -ENOMEM;
	m->pid = req->pid;
	m->done = req->done;
	m->arg = req->arg;
	m->from.fd[0] = m->from.fd[1] = -1;
	r = ac_cg_placement_open_move(&ctx->cg, req->to, &m->to);
	if (r == 0 && req->from)
		r = ac_cg_freezer_open(&ctx->cg, req->from, &m->from);
	if (r < 0) {
		if (m->to.v2_procs >= 0)
			ac_cg_placement_close(&m->to);
		free(m);
		return r;
	}
	pthread_mutex_lock(&mv->mu);
	if (!mv->running || mv->queued >= MOVER_QUEUE_MAX) {
		/* no thread, or a backlog: correct, only slower */
		pthread_mutex_unlock(&mv->mu);
		m->state = MOVE_RUNNING;
		do_move(m);
		job_close(m);
		pthread_mutex_lock(&mv->mu);
		mv->inline_moves++;
		finish(mv, m);
		pthread_mutex_unlock(&mv->mu);
		if (write(mv->evw.fd, &one, sizeof(one)) < 0) {
			/* cannot overflow */
		}
	} else {
		if (mv->tail)
			mv->tail->next = m;
		else
			mv->head = m;
		mv->tail = m;
		mv->queued++;
		pthread_cond_signal(&mv->work);
		pthread_mutex_unlock(&mv->mu);
	}
	*out = m;
	return 0;
}

void acd_mover_wait(struct acd_ctx *ctx, struct acd_move *m)
{
	struct acd_mover *mv = ctx->mover;

	pthread_mutex_lock(&mv->mu);
	if (m->state == MOVE_QUEUED) {
		struct acd_move **pp = &mv->head, *prev = NULL;

		for (; *pp && *pp != m; pp = &(*pp)->next)
			prev = *pp;
		if (*pp) {
			*pp = m->next;
			if (mv->tail == m)
				mv->tail = prev;
			mv->queued--;
		}
		job_close(m);
		m->result = -ECANCELED;
	} else {
		while (m->state != MOVE_DONE)
			pthread_cond_wait(&mv->finished, &mv->mu);
		for (struct acd_move **pp = &mv->done; *pp; pp = &(*pp)->next)
			if (*pp == m) {
				*pp = m->next;
				break;
			}
	}
	pthread_mutex_unlock(&mv->mu);
	deliver(ctx, m);
}

int acd_mover_init(struct acd_ctx *ctx)
{
	struct acd_mover *mv = calloc(1, sizeof(*mv));
	int r;

	if (!mv)
		return -ENOMEM;
	ctx->mover = mv;
	pthread_mutex_init(&mv->mu, NULL);
	pthread_cond_init(&mv->work, NULL);
	pthread_cond_init(&mv->finished, NULL);
	mv->evw = (struct acd_watch){ .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), .fn = on_event };
	if (mv->evw.fd < 0 || acd_watch_add(ctx, &mv->evw, EPOLLIN) < 0)
		return ac_log_errno(-errno, "mover: eventfd");
	/* The loop blocks its signals (signalfd): the thread inherits the mask. */
	r = pthread_create(&mv->thread, NULL, worker, mv);
	if (r)
		return ac_log_errno(-r, "mover: cannot start its thread");
	mv->running = true;
	return 0;
}

void acd_mover_shutdown(struct acd_ctx *ctx)
{
	struct acd_mover *mv = ctx->mover;

	if (!mv)
		return;
	if (mv->running) {
		pthread_mutex_lock(&mv->mu);
		/* what is queued is cancelled, not run */
		while (mv->head) {
			struct acd_move *m = mv->head;

			mv->head = m->next;
			job_close(m);
			m->result = -ECANCELED;
			m->state = MOVE_DONE;
			m->next = mv->done;
			mv->done = m;
		}
		mv->tail = NULL;
		mv->queued = 0;
		mv->stop = true;
		pthread_cond_signal(&mv->work);
		pthread_mutex_unlock(&mv->mu);
		pthread_join(mv->thread, NULL);
		mv->running = false;
	}
	if (mv->evw.fd >= 0)
		on_event(ctx, &mv->evw, EPOLLIN);
	acd_watch_close(ctx, &mv->evw);
	pthread_mutex_destroy(&mv->mu);
	pthread_cond_destroy(&mv->work);
	pthread_cond_destroy(&mv->finished);
	free(mv);
	ctx->mover = NULL;
}

json_t *acd_mover_info(struct acd_ctx *ctx)
{
	struct acd_mover *mv = ctx->mover;
	json_t *o;

	pthread_mutex_lock(&mv->mu);
	o = json_pack("{s:I, s:I, s:I, s:i, s:f, s:f}", "moves", (json_int_t)mv->moves, "failures",
		      (json_int_t)mv->failures, "inline", (json_int_t)mv->inline_moves, "queued",
		      mv->queued, "mean_ms", mv->moves ? (double)mv->sum_ns / (double)mv->moves / 1e6 : 0.0,
		      "max_ms", (double)mv->max_ns / 1e6);
	pthread_mutex_unlock(&mv->mu);
	return o;
}
