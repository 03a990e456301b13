/* SPDX-License-Identifier: GPL-2.0 */
/* hooks.c (layer 6): the one table of upcalls, filled with the higher
 * layers' functions; main.c puts it in ctx->hooks. */
#ifndef AGENTCGD_HOOKS_H
#define AGENTCGD_HOOKS_H

#include "daemon.h"

extern const struct acd_hooks acd_daemon_hooks;

#endif
