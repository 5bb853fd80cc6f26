/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_INSPECT_DUMP_DIFF_H
#define SPTE_INSPECT_DUMP_DIFF_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "spte_mirror.h"

/*
 * A dump seen page by page: one entry per 4K guest page a leaf maps (a 2M
 * leaf gives 512), sorted by GPA.  pfn is the host page behind that 4K
 * page; sharers counts the GPAs of the same dump whose page is that pfn
 * (1: private; more: KSM, the zero page).
 */
struct spte_page {
	guint64 gfn;
	guint64 pfn;
	guint64 entry;		/* the covering leaf */
	guint32 level;		/* 1 = 4K, 2 = 2M */
	guint32 sharers;
	guint64 leaf;		/* index of the leaf in the dump */
};

/* GArray of struct spte_page; a page covered twice keeps its first leaf. */
GArray *spte_dump_pages(const struct spte_mirror_table *t);

/* What changed for one page (a mask). */
enum spte_diff_change {
	SPTE_DIFF_ADDED = 1 << 0,	/* absent -> present */
	SPTE_DIFF_REMOVED = 1 << 1,	/* present -> absent */
	SPTE_DIFF_PFN = 1 << 2,		/* another host page */
	SPTE_DIFF_PERM = 1 << 3,	/* R, W or X */
	SPTE_DIFF_LEVEL = 1 << 4,	/* 4K <-> 2M */
	SPTE_DIFF_AD = 1 << 5,		/* accessed / dirty */
};

/* How a kernel engineer would name a run of changes. */
enum spte_diff_pattern {
	SPTE_PATTERN_FAULTED_IN,	/* absent -> present */
	SPTE_PATTERN_ZAPPED,		/* present -> absent */
	SPTE_PATTERN_COLLAPSED,		/* 4K leaves -> 2M (khugepaged) */
	SPTE_PATTERN_SPLIT,		/* 2M -> 4K leaves */
	SPTE_PATTERN_MERGED,		/* private pages -> shared PFN (KSM) */
	SPTE_PATTERN_UNSHARED,		/* shared PFN -> private (COW) */
	SPTE_PATTERN_MOVED,		/* new PFNs (migration, compaction) */
	SPTE_PATTERN_WRITE_PROTECTED,	/* W dropped */
	SPTE_PATTERN_MADE_WRITABLE,	/* W gained */
	SPTE_PATTERN_PERMISSIONS,	/* other R/X change */
	SPTE_PATTERN_AGED,		/* A cleared */
	SPTE_PATTERN_ACCESSED,		/* A set */
	SPTE_PATTERN_DIRTIED,		/* D set */
	SPTE_PATTERN_CLEANED,		/* D cleared */
	SPTE_PATTERN_AD_CHANGED,	/* A and D both moved */
};

const char *spte_diff_pattern_name(enum spte_diff_pattern p);

/* One side of a run of changed pages. */
struct spte_diff_side {
	gboolean present;
	guint32 level;		/* of every page in the run */
	guint64 prot;		/* RWX bits, the same for every page */
	guint64 leaves;		/* distinct leaves covering the run */
	guint64 pfn_first;	/* host page of the run's first GPA page */
	guint64 pfn_last;	/* ... and of its last */
	guint64 distinct_pfns;
	gboolean contiguous;	/* pfn_first + i for page i */
	guint64 shared;		/* pages whose pfn other GPAs map too */
	guint64 accessed;	/* pages with A */
	guint64 dirty;		/* pages with D */
};

/* Consecutive GPA pages with the same kind of change. */
struct spte_diff_run {
	guint64 gpa;		/* first page */
	guint64 pages;
	guint32 changes;	/* enum spte_diff_change mask */
	enum spte_diff_pattern pattern;
	struct spte_diff_side before, after;
};

struct spte_dump_diff {
	guint64 pages_before;	/* 4K pages mapped in each dump */
	guint64 pages_after;
	/*
	 * Page counts.  A page present in both dumps counts once in each of
	 * pfn/perm/level/ad_changed that applies (they overlap), and in
	 * changed once; added + removed + changed + unchanged covers every
	 * page mapped in either dump.
	 */
	guint64 added;
	guint64 removed;
	guint64 changed;
	guint64 pfn_changed;
	guint64 perm_changed;
	guint64 level_changed;
	guint64 ad_changed;
	guint64 unchanged;
	GArray *runs;		/* struct spte_diff_run, by GPA */
};

struct spte_dump_diff *spte_dump_diff_new(const struct spte_mirror_table *before,
					  const struct spte_mirror_table *after);
void spte_dump_diff_free(struct spte_dump_diff *d);
typedef struct spte_dump_diff spte_dump_diff;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(spte_dump_diff, spte_dump_diff_free)

/*
 * One line per run, e.g.
 *   gpa 0x000000-0x01ffff  32 x 4K RWX: 32 PFNs scattered -> 1 shared PFN
 *   0x1234, W dropped (merged)
 * then a summary line of the counts ("no change" if nothing changed).
 */
void spte_dump_diff_format(const struct spte_dump_diff *d, GString *out);
/* The line of one run, without the newline. */
void spte_diff_run_format(const struct spte_diff_run *r, int gpa_digits,
			  GString *out);

/*
 * {"pages_before", "pages_after", "counts": {added, removed, changed,
 *  pfn_changed, perm_changed, level_changed, ad_changed, unchanged},
 *  "runs": [{gpa_start, gpa_end (inclusive), pages, changes: [...],
 *  pattern, before: {...} | null, after: {...} | null, text}]}
 */
JsonNode *spte_dump_diff_to_json(const struct spte_dump_diff *d);

#endif
