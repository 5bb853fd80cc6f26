/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_REQUIRES_H
#define SPTE_REQUIRES_H

#include <glib.h>

/*
 * The words of a scenario's 'requires' line and how each is checked.  Two
 * kinds of thing can be missing: a feature of the running kernel (KSM,
 * DAMON, the multi-gen LRU), which no setup brings back, so the scenario
 * does not apply to this kernel; or a setup of this machine (the module,
 * swap, cgroup v2, NUMA nodes, debugfs), which the lab VM provides.
 */
enum spte_requires_lack {
	SPTE_REQUIRES_MET,
	SPTE_REQUIRES_SETUP,	/* this machine lacks a setup */
	SPTE_REQUIRES_KERNEL,	/* the running kernel lacks a feature */
};

/* Whether @word is a known requirement. */
gboolean spte_requires_known(const char *word);

/* The known words, ", "-separated, for messages. */
char *spte_requires_list(void);

/*
 * The first of @words this machine lacks, with every path looked up under
 * @root ("" for the real one; tests pass a directory they built).  For a
 * lack, *word is that word and *what (freed by the caller) says what is
 * missing: "an active swap area (/proc/swaps)", or for a kernel feature
 * "DAMON's sysfs interface (CONFIG_DAMON_SYSFS: /sys/kernel/mm/damon/admin
 * is missing)".
 */
enum spte_requires_lack spte_requires_first_lack(const char *const *words,
						 const char *root,
						 const char **word,
						 char **what);

#endif
