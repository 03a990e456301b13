// SPDX-License-Identifier: GPL-2.0
/* The processes a call ran, built from the BPF lifecycle records: one
 * entry per process (forked or exec'd inside the call's cgroup), bounded
 * at ACD_PROCS_MAX entries; later ones are only counted. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "agentcg/bpf_abi.h"
#include "agentcg/util.h"
#include "procs.h"

static struct acd_proc *find(struct acd_procs *p, int pid)
{
	/* newest first: records usually concern recent processes */
	for (uint32_t i = p->n; i-- > 0;)
		if (p->v[i].pid == pid && !p->v[i].exited)
			return &p->v[i];
	return NULL;
}

static struct acd_proc *add(struct acd_procs *p, const struct acb_event *e)
{
	struct acd_proc *pr;

	p->total++;
	if (p->n == ACD_PROCS_MAX) {
		p->omitted++;
		return NULL;
	}
	if (p->n == p->cap) {
		uint32_t cap = p->cap ? p->cap * 2 : 8;
		struct acd_proc *v = realloc(p->v, cap * sizeof(*v));

		if (!v) {
			p->omitted++;
			return NULL;
		}
		p->v = v;
		p->cap = cap;
	}
	pr = &p->v[p->n++];
	memset(pr, 0, sizeof(*pr));
	pr->pid = (int)e->pid;
	pr->ppid = (int)e->ppid;
	memcpy(pr->comm, e->comm, sizeof(pr->comm));
	pr->comm[sizeof(pr->comm) - 1] = 0;
	return pr;
}

void acd_procs_record(struct acd_procs *p, const struct acb_event *e)
{
	struct acd_proc *pr = find(p, (int)e->pid);

	switch (e->type) {
	case ACB_EV_FORK:
		add(p, e);
		break;
	case ACB_EV_EXEC:
		/* The call's first process was forked before the call began;
		 * every other one came with a fork record (and may just not be
		 * listed). */
		if (!pr && p->total == 0)
			pr = add(p, e);
		if (pr) {
			memcpy(pr->comm, e->comm, sizeof(pr->comm));
			pr->comm[sizeof(pr->comm) - 1] = 0;
			ac_strlcpy(pr->exe, e->exe, sizeof(pr->exe) < sizeof(e->exe) ?
							    sizeof(pr->exe) : sizeof(e->exe));
		}
		break;
	case ACB_EV_EXIT:
		if (pr) {
			pr->exited = true;
			pr->wstatus = (int)e->value;
			pr->peak_rss = e->rss_bytes;
		}
		break;
	default:
		break;
	}
}

json_t *acd_wstatus_json(int wstatus)
{
	char name[32];
	int sig;

	if (WIFEXITED(wstatus))
		return json_pack("{s:i}", "code", WEXITSTATUS(wstatus));
	sig = WTERMSIG(wstatus);
	ac_signal_name(sig, name, sizeof(name));
	return json_pack("{s:i, s:s}", "signal", sig, "signal_name", name);
}

json_t *acd_procs_json(const struct acd_procs *p)
{
	json_t *arr = json_array();

	for (uint32_t i = 0; arr && i < p->n; i++) {
		const struct acd_proc *pr = &p->v[i];
		json_t *o = json_pack("{s:i, s:i, s:s, s:s}", "pid", pr->pid, "ppid", pr->ppid,
				      "command", pr->exe[0] ? pr->exe : pr->comm, "comm", pr->comm);

		if (!o)
			continue;
		if (pr->exited) {
			json_object_set_new(o, "exit", acd_wstatus_json(pr->wstatus));
			json_object_set_new(o, "peak_rss", json_integer((json_int_t)pr->peak_rss));
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

void acd_procs_free(struct acd_procs *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}
