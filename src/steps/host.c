// SPDX-License-Identifier: GPL-2.0
/*
 * Host steps that change guest RAM the way the kernel's own machinery or a
 * VMM would: madvise, mprotect, the primary's young bits, compaction, ksmd
 * and khugepaged.  The daemons are sped up for the step and put back after.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <spte/mman.h>

#include "knobs.h"
#include "families.h"
#include "spte_error.h"

#define KSM "/sys/kernel/mm/ksm/"
#define COMPACT_MEMORY "/proc/sys/vm/compact_memory"
#define KHUGEPAGED "/sys/kernel/mm/transparent_hugepage/khugepaged/"

/* A daemon that has not finished two passes in this long is stuck. */
#define SCAN_TIMEOUT_S 300

/* madvise's ADVICE words, the parser's and this file's alike. */
static const struct spte_step_word advices[] = {
	{ "mergeable", MADV_MERGEABLE },
	{ "unmergeable", MADV_UNMERGEABLE },
	{ "hugepage", MADV_HUGEPAGE },
	{ "nohugepage", MADV_NOHUGEPAGE },
	{ "dontneed", MADV_DONTNEED },
	{ "collapse", MADV_COLLAPSE },
	{ "pageout", MADV_PAGEOUT },
	{ "cold", MADV_COLD },
	{ "willneed", MADV_WILLNEED },
	{ NULL },
};

/* mprotect's words, and the PROT_* each is. */
static const struct spte_step_word protections[] = {
	{ "none", PROT_NONE },
	{ "ro", PROT_READ },
	{ "rw", PROT_READ | PROT_WRITE },
	{ NULL },
};

#define MPOL_F_MEMS_ALLOWED_FLAG (1 << 2)	/* <numaif.h>'s MPOL_F_MEMS_ALLOWED */
#define NODE_MASK_BITS 1024

/*
 * MADV_PAGEOUT skips a folio that is not on an LRU list, and a folio sits
 * off the LRU while it waits in some CPU's per-CPU batch (lru_add,
 * activate: the putback of the last reclaim pass, a mark_page_accessed()).
 * madvise drains only the calling CPU's batches (lru_add_drain()), so a
 * folio left in another CPU's batch survives a pageout by chance.  Drain
 * every CPU's first: migrate_pages(2) from the allowed nodes to the same
 * nodes moves nothing, but do_migrate_pages() runs under
 * lru_cache_disable(), which is lru_add_drain_all() (6.1 and 6.12 alike).
 */
gboolean spte_drain_lru_batches(GError **error)
{
	unsigned long nodes[NODE_MASK_BITS / (8 * sizeof(unsigned long))] = { 0 };
	int mode;

	if (syscall(SYS_get_mempolicy, &mode, nodes, NODE_MASK_BITS, NULL,
		    MPOL_F_MEMS_ALLOWED_FLAG)) {
		/* !CONFIG_NUMA: madvise's own drain is all there is */
		if (errno == ENOSYS)
			return TRUE;
		return spte_set_errno(error, errno,
				      "get_mempolicy(MPOL_F_MEMS_ALLOWED)");
	}
	if (syscall(SYS_migrate_pages, 0, NODE_MASK_BITS, nodes, nodes) < 0)
		return spte_set_errno(error, errno,
				      "migrate_pages(self, nodes, same nodes) "
				      "to drain the per-CPU LRU batches");
	return TRUE;
}

static gboolean step_madvise(struct spte_session *s,
			     const struct spte_step *step, GString *line,
			     GError **error)
{
	void *hva = spte_session_hva(s, step->gpa, step->pages, error);
	g_autofree char *upper = g_ascii_strup(step->name, -1);
	gint64 t = g_get_monotonic_time();

	if (!hva)
		return FALSE;
	if (step->choice == MADV_PAGEOUT && !spte_drain_lru_batches(error))
		return FALSE;
	if (madvise(hva, step->pages << 12, step->choice))
		return spte_set_errno(error, errno, "madvise(%p, %"
				      G_GUINT64_FORMAT ", MADV_%s)",
				      hva, step->pages << 12, upper);
	g_string_append_printf(line, "ok: madvise(MADV_%s) on hva %p-%p in "
			       "%.1f ms", upper, hva,
			       (char *)hva + (step->pages << 12) - 1,
			       (g_get_monotonic_time() - t) / 1e3);
	return TRUE;
}

static gboolean step_mprotect(struct spte_session *s,
			      const struct spte_step *step, GString *line,
			      GError **error)
{
	void *hva = spte_session_hva(s, step->gpa, step->pages, error);
	int prot = step->choice;
	const char *name = prot == (PROT_READ | PROT_WRITE) ?
			   "PROT_READ|PROT_WRITE" :
			   prot == PROT_READ ? "PROT_READ" : "PROT_NONE";

	if (!hva)
		return FALSE;
	if (mprotect(hva, step->pages << 12, prot))
		return spte_set_errno(error, errno, "mprotect(%p, %"
				      G_GUINT64_FORMAT ", %s)", hva,
				      step->pages << 12, name);
	g_string_append_printf(line, "ok: mprotect(%s) on hva %p-%p", name, hva,
			       (char *)hva + (step->pages << 12) - 1);
	return TRUE;
}

static gboolean step_clear_refs(struct spte_session *s,
				const struct spte_step *step, GString *line,
				GError **error)
{
	/* "1": clear the accessed bits of every PTE, telling no notifier */
	if (!spte_knob_write("/proc/self/clear_refs", "1", error))
		return FALSE;
	g_string_append(line, "ok: the primary's young bits are clear; "
			"secondary MMUs keep theirs");
	return TRUE;
}

/*
 * compact: the kernel's compaction of every zone, synchronously (the write
 * returns when it is done), as proactive compaction or a failed high-order
 * allocation would run it.  Movable pages move, guest RAM among them, and
 * each move is a MIGRATE invalidation for the secondary MMUs.
 */
static gboolean step_compact(struct spte_session *s,
			     const struct spte_step *step, GString *line,
			     GError **error)
{
	guint64 moved0, moved1, failed0, failed1;
	gint64 t = g_get_monotonic_time();

	if (!g_file_test(COMPACT_MEMORY, G_FILE_TEST_EXISTS)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "this kernel has no compaction (CONFIG_COMPACTION: "
			    COMPACT_MEMORY " is missing)");
		return FALSE;
	}
	if (!spte_vmstat("pgmigrate_success", &moved0, error) ||
	    !spte_vmstat("pgmigrate_fail", &failed0, error) ||
	    !spte_knob_write(COMPACT_MEMORY, "1", error) ||
	    !spte_vmstat("pgmigrate_success", &moved1, error) ||
	    !spte_vmstat("pgmigrate_fail", &failed1, error))
		return FALSE;
	g_string_append_printf(line, "ok: compaction of every zone migrated %"
			       G_GUINT64_FORMAT " pages (%" G_GUINT64_FORMAT
			       " failed) in %.1f ms", moved1 - moved0,
			       failed1 - failed0,
			       (g_get_monotonic_time() - t) / 1e3);
	return TRUE;
}

static gboolean read_counters(const char *dir, const char *const *names,
			      guint64 *values, GError **error)
{
	for (guint i = 0; names[i]; i++) {
		g_autofree char *path = g_strconcat(dir, names[i], NULL);

		if (!spte_knob_read_u64(path, &values[i], error))
			return FALSE;
	}
	return TRUE;
}

static gboolean step_ksm_scan(struct spte_session *s,
			      const struct spte_step *step, GString *line,
			      GError **error)
{
	static const char *const stats[] = { "pages_shared", "pages_sharing",
					     NULL };
	guint64 scans = step->count ? step->count : 2;
	g_autoptr(spte_knobs) knobs = spte_knobs_new();
	guint64 before[2], after[2], start, end;
	gint64 t = g_get_monotonic_time();

	if (!g_file_test(KSM "run", G_FILE_TEST_EXISTS)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "this kernel has no KSM (" KSM "run)");
		return FALSE;
	}
	if (!read_counters(KSM, stats, before, error) ||
	    !spte_knobs_set(knobs, KSM "pages_to_scan", "10000", error) ||
	    !spte_knobs_set(knobs, KSM "sleep_millisecs", "10", error) ||
	    !spte_knobs_set(knobs, KSM "run", "1", error) ||
	    !spte_knob_wait_growth(KSM "full_scans", scans, SCAN_TIMEOUT_S,
				   &start, &end, error) ||
	    !read_counters(KSM, stats, after, error))
		return FALSE;
	/* ksm/run goes back to its old value: merged pages stay merged */
	g_string_append_printf(line, "ok: ksmd full_scans %" G_GUINT64_FORMAT
			       " -> %" G_GUINT64_FORMAT " in %.1f s; "
			       "pages_shared %" G_GUINT64_FORMAT " -> %"
			       G_GUINT64_FORMAT ", pages_sharing %"
			       G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT,
			       start, end, (g_get_monotonic_time() - t) / 1e6,
			       before[0], after[0], before[1], after[1]);
	return TRUE;
}

/* Callbacks the mirror has had so far, or 0 without a mirror. */
static guint64 mirror_callbacks(struct spte_session *s)
{
	struct spte_mirror_counters c;
	guint64 n = 0;

	if (!s->mirror || spte_mirror_counters(s->mirror, &c))
		return 0;
	for (guint i = 0; i < SPTE_CB_NR; i++)
		n += c.callbacks[i];
	return n;
}

/*
 * full_scans alone is not enough: a pass that began before our mm was
 * queued, or that found mmap_lock contended, counts as full without
 * having looked at guest RAM.  With a mirror, only passes that reached it
 * (it got callbacks: test_young, a collapse) count; a mirror that hears
 * nothing for many passes has nothing khugepaged wants.
 */
#define IDLE_PASSES 50
static gboolean step_khugepaged_scan(struct spte_session *s,
				     const struct spte_step *step, GString *line,
				     GError **error)
{
	static const char *const stats[] = { "pages_collapsed", NULL };
	guint64 scans = step->count ? step->count : 2;
	g_autoptr(spte_knobs) knobs = spte_knobs_new();
	guint64 before, after, first = 0, start, end, passes = 0, busy = 0;
	gint64 t = g_get_monotonic_time();
	guint64 seen = mirror_callbacks(s), now;

	if (!g_file_test(KHUGEPAGED "full_scans", G_FILE_TEST_EXISTS)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "this kernel has no khugepaged (" KHUGEPAGED
			    "full_scans)");
		return FALSE;
	}
	if (!read_counters(KHUGEPAGED, stats, &before, error) ||
	    !spte_knobs_set(knobs, KHUGEPAGED "scan_sleep_millisecs", "10",
			    error) ||
	    !spte_knobs_set(knobs, KHUGEPAGED "alloc_sleep_millisecs", "10",
			    error) ||
	    !spte_knobs_set(knobs, KHUGEPAGED "pages_to_scan", "4096", error))
		return FALSE;
	do {
		if (!spte_knob_wait_growth(KHUGEPAGED "full_scans", 1,
					   SCAN_TIMEOUT_S, &start, &end, error))
			return FALSE;
		if (!passes)
			first = start;
		passes++;
		now = mirror_callbacks(s);
		busy += now != seen || !s->mirror;
		seen = now;
		if (busy >= scans || (passes >= IDLE_PASSES && !busy))
			break;
	} while (g_get_monotonic_time() - t < SCAN_TIMEOUT_S * G_USEC_PER_SEC);
	if (!read_counters(KHUGEPAGED, stats, &after, error))
		return FALSE;
	g_string_append_printf(line, "ok: khugepaged full_scans %"
			       G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT
			       " in %.1f s; pages_collapsed %" G_GUINT64_FORMAT
			       " -> %" G_GUINT64_FORMAT, first, end,
			       (g_get_monotonic_time() - t) / 1e6, before,
			       after);
	return TRUE;
}

static const struct spte_verb verbs[] = {
	{ .usage = "madvise GPA PAGES ADVICE", .run = step_madvise,
	  .words = advices,
	  .help = "madvise(MADV_ADVICE) on guest RAM: mergeable, hugepage, collapse, dontneed, pageout, ..." },
	{ .usage = "mprotect GPA PAGES none|ro|rw", .run = step_mprotect,
	  .words = protections,
	  .help = "change the protection of guest RAM in the VMM" },
	{ .usage = "clear-refs", .run = step_clear_refs,
	  .help = "clear the primary's young bits (/proc/self/clear_refs), which secondary MMUs are not told about" },
	{ .usage = "compact", .run = step_compact,
	  .help = "compact every zone (/proc/sys/vm/compact_memory): movable pages, guest RAM too, migrate" },
	{ .usage = "ksm-scan [SCANS]", .run = step_ksm_scan,
	  .help = "run ksmd until full_scans has grown by SCANS (default 2)" },
	{ .usage = "khugepaged-scan [SCANS]", .run = step_khugepaged_scan,
	  .help = "speed khugepaged up until full_scans has grown by SCANS (default 2)" },
};

const struct spte_step_family spte_host_steps =
	SPTE_STEP_FAMILY("host", SPTE_STEP_HOST, verbs);
