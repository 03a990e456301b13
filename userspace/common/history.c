// SPDX-License-Identifier: GPL-2.0
/* Per-label memory history for adaptive intents: a fixed table of labels,
 * each a ring of its last `window` peaks, the least recently used label
 * evicted for a new one; estimates are the nearest-rank p95 times a
 * margin, in whole MiB. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agentcg/history.h"
#include "agentcg/units.h"
#include "agentcg/util.h"

#define MiB (1ULL << 20)

struct entry {
	char label[AC_LABEL_MAX + 1]; /* "" = free */
	uint64_t peaks[AC_HISTORY_WINDOW_MAX];
	uint32_t n;	  /* peaks held (<= window) */
	uint32_t next;	  /* ring slot the next peak goes to */
	uint64_t used_at; /* tick of the last record or estimate */
};

struct ac_history {
	uint32_t window;
	uint32_t n_labels;
	uint64_t tick;
	struct entry e[AC_HISTORY_LABELS_MAX];
};

int ac_history_create(uint32_t window, struct ac_history **out)
{
	struct ac_history *h;

	if (!out || window < 1 || window > AC_HISTORY_WINDOW_MAX)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->window = window;
	*out = h;
	return 0;
}

void ac_history_destroy(struct ac_history *h)
{
	free(h);
}

uint32_t ac_history_labels(const struct ac_history *h)
{
	return h ? h->n_labels : 0;
}

static int check_label(const char *label)
{
	size_t len;

	if (!label || !*label)
		return -EINVAL;
	len = strnlen(label, AC_LABEL_MAX + 1);
	return len > AC_LABEL_MAX ? -ENAMETOOLONG : 0;
}

static struct entry *find(struct ac_history *h, const char *label)
{
	for (uint32_t i = 0; i < h->n_labels; i++)
		if (strcmp(h->e[i].label, label) == 0)
			return &h->e[i];
	return NULL;
}

/* A slot for a new label: a free one, else the least recently used. */
static struct entry *take_slot(struct ac_history *h)
{
	struct entry *lru;

	if (h->n_labels < AC_HISTORY_LABELS_MAX)
		return &h->e[h->n_labels++];
	lru = &h->e[0];
	for (uint32_t i = 1; i < AC_HISTORY_LABELS_MAX; i++)
		if (h->e[i].used_at < lru->used_at)
			lru = &h->e[i];
	return lru;
}

int ac_history_record(struct ac_history *h, const char *label, uint64_t peak_bytes)
{
	struct entry *e;
	int r;

	if (!h || peak_bytes == 0)
		return -EINVAL;
	r = check_label(label);
	if (r < 0)
		return r;
	e = find(h, label);
	if (!e) {
		e = take_slot(h);
		*e = (struct entry){ .n = 0 };
		ac_strlcpy(e->label, label, sizeof(e->label));
	}
	e->peaks[e->next] = peak_bytes;
	e->next = (e->next + 1) % h->window;
	if (e->n < h->window)
		e->n++;
	e->used_at = ++h->tick;
	return 0;
}

/* Nearest rank: the smallest peak with at least 95% of them at or
 * below it, i.e. the ceil(0.95 n)-th smallest. */
static uint64_t p95(const uint64_t *peaks, uint32_t n)
{
	uint64_t v[AC_HISTORY_WINDOW_MAX];
	uint32_t rank;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t x = peaks[i];
		uint32_t j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	rank = (95 * n + 99) / 100;
	return v[rank ? rank - 1 : 0];
}

/* p95 * margin in whole MiB, rounded up; at least 1 MiB, at most the
 * largest size an intent may have. */
static uint64_t assumed(uint64_t p, double margin)
{
	double want = (double)p * margin / (double)MiB;
	uint64_t mib;

	if (want >= (double)(AC_SIZE_LIMIT / MiB))
		return AC_SIZE_LIMIT;
	mib = (uint64_t)want;
	if ((double)mib < want)
		mib++;
	return (mib ? mib : 1) * MiB;
}

int ac_history_estimate(struct ac_history *h, const char *label, uint32_t min_samples,
			double margin, struct ac_history_estimate *out)
{
	struct entry *e;
	int r;

	if (!h || !out || min_samples < 1 || min_samples > h->window ||
	    !(margin >= 1.0 && margin <= AC_HISTORY_MARGIN_MAX))
		return -EINVAL;
	r = check_label(label);
	if (r < 0)
		return r;
	e = find(h, label);
	if (!e || e->n < min_samples)
		return -ENOENT;
	e->used_at = ++h->tick;
	out->samples = e->n;
	out->p95_bytes = p95(e->peaks, e->n);
	out->assumed_bytes = assumed(out->p95_bytes, margin);
	return 0;
}
