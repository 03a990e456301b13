/* SPDX-License-Identifier: GPL-2.0 */
/* Per-label history of calls' memory peaks, for adaptive intents: a call
 * that leaves `memory` out but has a `label` gets the p95 (nearest rank)
 * of that label's recent peaks times a margin. Pure logic, no I/O, no
 * globals: a bounded table of at most AC_HISTORY_LABELS_MAX labels (the
 * least recently used one is evicted for a new one), each a ring of its
 * last `window` peaks. */
#ifndef AGENTCG_HISTORY_H
#define AGENTCG_HISTORY_H

#include <stdint.h>

#include "agentcg/intent.h"

#define AC_HISTORY_LABELS_MAX 256
#define AC_HISTORY_WINDOW_MAX 64
#define AC_HISTORY_MARGIN_MAX 100.0

struct ac_history;

struct ac_history_estimate {
	uint32_t samples;	/* peaks the estimate is made of (<= window) */
	uint64_t p95_bytes;	/* nearest-rank p95 of those peaks */
	uint64_t assumed_bytes; /* p95 * margin, rounded up to a whole MiB, >= 1 MiB */
};

/* A table keeping the last `window` (1..AC_HISTORY_WINDOW_MAX) peaks per
 * label. 0, -EINVAL (window out of range, out NULL) or -ENOMEM. */
int ac_history_create(uint32_t window, struct ac_history **out);
void ac_history_destroy(struct ac_history *h); /* NULL is fine */

/* Adds one peak (bytes, > 0) under label (1..AC_LABEL_MAX bytes). A new
 * label takes a free slot, else the least recently used label's.
 * 0, -EINVAL (NULL, empty label, peak 0) or -ENAMETOOLONG. */
int ac_history_record(struct ac_history *h, const char *label, uint64_t peak_bytes);

/* The estimate for label when it has at least min_samples (1..window)
 * peaks; margin is 1..AC_HISTORY_MARGIN_MAX. A hit counts as a use of the
 * label (for eviction). 0, -ENOENT (unknown label, or fewer peaks than
 * min_samples), -EINVAL (bad arguments) or -ENAMETOOLONG. */
int ac_history_estimate(struct ac_history *h, const char *label, uint32_t min_samples,
			double margin, struct ac_history_estimate *out);

/* Labels held now (<= AC_HISTORY_LABELS_MAX). */
uint32_t ac_history_labels(const struct ac_history *h);

#endif
