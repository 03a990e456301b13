/* SPDX-License-Identifier: GPL-2.0 */
/* Reading and writing cgroup files relative to a directory fd. Internal to
 * the cgroup backend (cg_*.c). */
#ifndef AGENTCG_CG_IO_H
#define AGENTCG_CG_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads a whole (small) file into buf, NUL-terminated; returns its length
 * or a negative errno. */
int cg_read_at(int dirfd, const char *name, char *buf, size_t len);
/* Writes value in one write(2); 0 or a negative errno (the kernel's
 * answer, e.g. -EINVAL for a value it refuses, -EBUSY). */
int cg_write_at(int dirfd, const char *name, const char *value);
int cg_write_u64_at(int dirfd, const char *name, uint64_t v);
/* One number per file ("max" reads as UINT64_MAX). */
int cg_read_u64_at(int dirfd, const char *name, uint64_t *v);
/* "key value" lines (cpu.stat, memory.events, pids.events, v1 oom_control):
 * finds key and parses its number; -ENOENT if the key is absent. */
int cg_keyed_u64(const char *text, const char *key, uint64_t *v);
/* Whether item is one of the names of a list separated by commas or
 * spaces (cgroup.controllers, cgroup.subtree_control, mount options). */
bool cg_list_has(const char *list, const char *item);
/* Removes every directory below dirfd, deepest first (cgroup dirs only
 * contain files the kernel owns, which rmdir takes along). */
int cg_remove_subtree(int dirfd);

#endif
