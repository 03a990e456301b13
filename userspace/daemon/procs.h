/* SPDX-License-Identifier: GPL-2.0 */
/* procs.c (layer 3): the processes a call ran, from the BPF lifecycle
 * records. */
#ifndef AGENTCGD_PROCS_H
#define AGENTCGD_PROCS_H

#include "daemon.h"

struct acd_proc {
	int pid, ppid;
	char comm[16];
	char exe[128];	   /* file name given to execve; "" if it never exec'd */
	bool exited;
	int wstatus;	   /* as wait(2) encodes it */
	uint64_t peak_rss; /* bytes (the kernel's maxrss) */
};

#define ACD_PROCS_MAX 256 /* listed per call; later ones are only counted */
struct acd_procs {
	struct acd_proc *v;
	uint32_t n, cap;
	uint64_t total;	   /* processes seen (forked or exec'd) */
	uint64_t omitted;  /* seen but not listed */
};

void acd_procs_record(struct acd_procs *p, const struct acb_event *e);
json_t *acd_procs_json(const struct acd_procs *p);
void acd_procs_free(struct acd_procs *p);
/* {"code": N} or {"signal": N, "signal_name": "SIGKILL"} */
json_t *acd_wstatus_json(int wstatus);

#endif
