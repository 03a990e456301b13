// SPDX-License-Identifier: GPL-2.0
/* Who is at the other end of a connection (peercred.h). */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agentcg/util.h"
#include "peercred.h"

/* The client's socket is the one whose local address is our peer's and
 * whose remote address is ours: one exact lookup, not a dump. */
static int tcp_owner(const struct sockaddr_storage *ours, const struct sockaddr_storage *peer,
		     uid_t *uid)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1 },
		.r = { .sdiag_family = (uint8_t)peer->ss_family, .sdiag_protocol = IPPROTO_TCP,
		       .idiag_states = ~0U,
		       .id = { .idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } } },
	};
	union {
		struct nlmsghdr nh;
		char buf[1024];
	} resp;
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	_cleanup_close_ int s = -1;
	ssize_t n;

	if (peer->ss_family == AF_INET) {
		const struct sockaddr_in *p = (const void *)peer, *o = (const void *)ours;

		req.r.id.idiag_sport = p->sin_port;
		req.r.id.idiag_dport = o->sin_port;
		memcpy(req.r.id.idiag_src, &p->sin_addr, sizeof(p->sin_addr));
		memcpy(req.r.id.idiag_dst, &o->sin_addr, sizeof(o->sin_addr));
	} else {
		const struct sockaddr_in6 *p = (const void *)peer, *o = (const void *)ours;

		req.r.id.idiag_sport = p->sin6_port;
		req.r.id.idiag_dport = o->sin6_port;
		memcpy(req.r.id.idiag_src, &p->sin6_addr, sizeof(p->sin6_addr));
		memcpy(req.r.id.idiag_dst, &o->sin6_addr, sizeof(o->sin6_addr));
	}
	s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (s < 0)
		return -errno;
	if (sendto(s, &req, sizeof(req), 0, (struct sockaddr *)&nl, sizeof(nl)) < 0)
		return -errno;
	/* the kernel answers at once, within this call's own socket */
	n = recv(s, &resp, sizeof(resp), 0);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(struct nlmsghdr) || resp.nh.nlmsg_len > (size_t)n)
		return -EPROTO;
	if (resp.nh.nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(&resp.nh);

		return resp.nh.nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error ? e->error : -EPROTO;
	}
	if (resp.nh.nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    resp.nh.nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
		return -EPROTO;
	/* Only a socket a process still holds names its owner: a TIME_WAIT
	 * or orphaned one (no inode) reports uid 0, which is no one's. Any
	 * state of a held socket counts: a client that half-closed before
	 * the accept (FIN_WAIT2) is still its owner's. */
	{
		const struct inet_diag_msg *m = NLMSG_DATA(&resp.nh);

		if (!m->idiag_inode)
			return -ENOENT;
		*uid = m->idiag_uid;
	}
	return 0;
}

int acd_peer_uid(int fd, uid_t *uid)
{
	struct sockaddr_storage ours, peer;
	socklen_t ol = sizeof(ours), pl = sizeof(peer);

	if (getsockname(fd, (struct sockaddr *)&ours, &ol) < 0)
		return -errno;
	if (ours.ss_family == AF_UNIX) {
		struct ucred cr;
		socklen_t len = sizeof(cr);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
			return -errno;
		*uid = cr.uid;
		return 0;
	}
	if (ours.ss_family != AF_INET && ours.ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	if (getpeername(fd, (struct sockaddr *)&peer, &pl) < 0)
		return -errno;
	if (peer.ss_family != ours.ss_family)
		return -EAFNOSUPPORT;
	return tcp_owner(&ours, &peer, uid);
}
