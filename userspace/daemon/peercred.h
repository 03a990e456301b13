/* SPDX-License-Identifier: GPL-2.0 */
/* peercred.c (layer 1): the uid of the process at the other end of an
 * accepted connection, for per-uid bounds where SO_PEERCRED alone does
 * not reach (a loopback TCP connection: the kernel's sock_diag says who
 * owns the client's socket). */
#ifndef AGENTCGD_PEERCRED_H
#define AGENTCGD_PEERCRED_H

#include <sys/types.h>

/* The uid that owns the peer of connected socket fd: SO_PEERCRED for a
 * unix socket; for TCP over loopback (IPv4 or IPv6), the owner of the
 * client's socket, found by its exact address pair with
 * NETLINK_SOCK_DIAG. 0 with *uid, or -errno (-ENOENT: no such socket,
 * it closed meanwhile; -EAFNOSUPPORT: another family). */
int acd_peer_uid(int fd, uid_t *uid);

#endif
