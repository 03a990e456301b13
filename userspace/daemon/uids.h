/* SPDX-License-Identifier: GPL-2.0 */
/* uids.c (layer 3): the interpreters' dynamic uids (like systemd's
 * DynamicUser), one per interpreter, from interpreters.uid_range. A uid
 * is taken when an interpreter is started for a session or the warm pool
 * (a pool runner holds it until it is handed out with it), and given back
 * when the interpreter is gone and every process of that uid is killed.
 * Its gid is the same number; it has no supplementary groups. */
#ifndef AGENTCGD_UIDS_H
#define AGENTCGD_UIDS_H

#include "daemon.h"

int acd_uids_init(struct acd_ctx *ctx);
void acd_uids_free(struct acd_ctx *ctx);
/* A uid of the range that no one holds (this daemon, or another one on
 * the host: a lock in /run/agentcg-uids.lock), with no passwd or group
 * entry and no live process; -EUSERS when there is none. */
int acd_uid_take(struct acd_ctx *ctx, uid_t *out);
/* SIGKILLs every process of uid (a /proc scan; each one through a
 * pidfd, rechecked after it is opened), logs what it killed, and frees
 * the uid once none is left. what: for the log. */
void acd_uid_release(struct acd_ctx *ctx, uid_t uid, const char *what);
/* A private directory for uid (HOME, TMPDIR, cwd of its interpreter):
 * /tmp/agentcg-uidN-XXXXXX, 0700, its own. */
int acd_uid_home_make(uid_t uid, char *path, size_t len);
/* Removes it and all below (no symlink followed); after the uid's
 * processes are gone, so nothing changes it meanwhile. */
void acd_uid_home_remove(const char *path);
json_t *acd_uids_info(struct acd_ctx *ctx);

#endif
