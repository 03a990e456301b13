/* SPDX-License-Identifier: GPL-2.0 */
/* server.c (layer 1): the unix socket, the clients (credentials, bounded
 * input and output queues, passed fds) and the epoll watches. */
#ifndef AGENTCGD_SERVER_H
#define AGENTCGD_SERVER_H

#include "daemon.h"

struct acd_call;

struct acd_client {
	struct acd_watch w;
	struct acd_client *prev, *next;
	uint64_t serial; /* for log lines */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t groups[AC_GROUPS_MAX];
	int n_groups;
	struct ac_buf in, out;
	int fds[ACD_MAX_PASSED_FDS]; /* received with SCM_RIGHTS, not yet used */
	int n_fds;
	bool want_out;	   /* EPOLLOUT registered */
	bool discarding;   /* inside an over-long line: drop until '\n' */
	bool subscribed;   /* events.c */
	/* an unfinished request line: since when (0: none), in ctx's FIFO of
	 * such clients (server.c drops one that exceeds partial_line_timeout) */
	uint64_t partial_since_ns;
	struct acd_client *partial_prev, *partial_next;
	uint64_t lines; /* request lines handled */
	struct ac_path sub_path;
	struct acd_call *calls; /* running calls owned by this client (call.c) */
};

/* Root, or in the configured operators (ctx->operators): exempt from
 * the per-uid quotas, and may take the last client slots. */
bool acd_client_is_operator(const struct acd_ctx *ctx, const struct acd_client *c);
/* The client's uid is one of uids, or its gid or a group one of gids. */
bool acd_client_in(const struct acd_client *c, const uid_t *uids, int n_uids, const gid_t *gids,
		   int n_gids);
/* Raises the soft fd limit for the clients and their passed fds, or
 * takes fewer clients (ctx->max_clients); before acd_server_listen. */
void acd_server_fd_budget(struct acd_ctx *ctx);
int acd_server_listen(struct acd_ctx *ctx);
/* A listening unix stream socket at path (non-blocking, close-on-exec),
 * as the daemon's own is made: the parent directory made if missing,
 * every directory on the path root's and writable by no one else unless
 * sticky, a stale socket replaced and a live one refused, mode in place
 * from bind (never chmod-ed), then group gid ((gid_t)-1: root's). The
 * fd, or a negative errno (logged). */
int acd_unix_listen(const char *path, mode_t mode, gid_t gid, int backlog);
void acd_server_close(struct acd_ctx *ctx);
int acd_watch_add(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events);
void acd_watch_del(struct acd_ctx *ctx, struct acd_watch *w);
/* Deletes the watch and closes its fd; fd = -1 after (a no-op then). */
void acd_watch_close(struct acd_ctx *ctx, struct acd_watch *w);
/* Queues one line (json + '\n') to a client; drops the client when its
 * unread backlog passes the limit. Steals no reference. */
void acd_client_send(struct acd_ctx *ctx, struct acd_client *c, json_t *msg);
/* Takes n passed fds (in order) from the client, or -EBADF if fewer. */
int acd_client_take_fds(struct acd_client *c, int *fds, int n);
/* Forgets the client (ctx->hooks.client_gone first); freed by
 * acd_clients_free_dead after the current epoll batch. */
void acd_client_drop(struct acd_ctx *ctx, struct acd_client *c, const char *why);
void acd_clients_free_dead(struct acd_ctx *ctx);
/* Drops the clients whose request line stayed unfinished longer than
 * partial_line_timeout; ms until the next may, or -1. */
int acd_server_tick(struct acd_ctx *ctx);

#endif
