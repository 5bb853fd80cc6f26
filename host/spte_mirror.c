// SPDX-License-Identifier: GPL-2.0-only
/*
 * spte_mirror - a demonstration secondary MMU.
 *
 * Each open file mirrors "slots" (gpa, hva, size) of one mm into an
 * EPT-format shadow table (GPA -> host PFN).  The table holds no page
 * references: it is kept coherent with the primary page tables only by an
 * mmu notifier, with a KVM-style invalidate sequence (in_progress + seq,
 * checked again under the table lock before installing anything).
 *
 * Locking:
 *   m->lock      (mutex) serialises ioctls; the only path that installs
 *                leaves or allocates table pages holds it.
 *   m->mmu_lock  (spinlock) protects the table, the slots' visibility to
 *                notifiers and the invalidate sequence.  A spinlock because
 *                ->change_pte and the young callbacks run under the primary
 *                PTL, so nothing in a notifier may sleep; for the same
 *                reason invalidate_range_start never has to fail with
 *                -EAGAIN in a non-blockable context.
 *   m->ev_lock   (spinlock) protects the event ring; nests inside mmu_lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/hmm.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/swap.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/wait.h>
#include <generated/utsrelease.h>

#include <uapi/linux/spte_mirror.h>
#include <spte/ept.h>

#define CREATE_TRACE_POINTS
#include "spte_mirror_trace.h"

/*
 * The version this is built against, from <linux/version.h>'s
 * LINUX_VERSION_{MAJOR,PATCHLEVEL} (the kernel's LINUX_VERSION_CODE
 * without the sublevel): ->invalidate_range became
 * ->arch_invalidate_secondary_tlbs in 6.6, ->change_pte went in 6.10.
 */
#define SPTE_KVER KERNEL_VERSION(LINUX_VERSION_MAJOR, LINUX_VERSION_PATCHLEVEL, 0)
#if KERNEL_VERSION(6, 6, 0) > SPTE_KVER
#define SPTE_HAVE_INVALIDATE_RANGE	1
#else
#define SPTE_HAVE_ARCH_INVALIDATE_SECONDARY_TLBS	1
#endif
#if KERNEL_VERSION(6, 10, 0) > SPTE_KVER
#define SPTE_HAVE_CHANGE_PTE		1
#endif

static bool skip_invalidate;
module_param(skip_invalidate, bool, 0644);
MODULE_PARM_DESC(skip_invalidate,
		 "TEST ONLY: ignore invalidations, leaving stale leaves");

#define SPTE_MAX_SLOTS		32
#define SPTE_CHUNK_PAGES	512	/* one 2M region per hmm_range_fault */
#define SPTE_CACHE_PAGES	3	/* PDPT + PD + PT for one chunk */
#define SPTE_LOG_DEFAULT	4096
#define SPTE_LOG_MAX		(1U << 20)
#define SPTE_READ_BATCH		64
#define SPTE_DUMP_MAX		(1UL << 24)
#define SPTE_GPA_LIMIT		(1ULL << SPTE_EPT_GPA_BITS)
#define SPTE_2M_PAGES		512
#define SPTE_2M_SIZE		(SPTE_2M_PAGES * PAGE_SIZE)

static_assert(sizeof(struct spte_mirror_version) == 64);
static_assert(sizeof(struct spte_mirror_attach) == 64);
static_assert(sizeof(struct spte_mirror_slot) == 64);
static_assert(sizeof(struct spte_mirror_map) == 64);
static_assert(sizeof(struct spte_mirror_range) == 64);
static_assert(sizeof(struct spte_mirror_access) == 64);
static_assert(sizeof(struct spte_mirror_leaf) == 32);
static_assert(sizeof(struct spte_mirror_dump) == 96);
static_assert(sizeof(struct spte_mirror_log_config) == 64);
static_assert(sizeof(struct spte_mirror_counters) == 256);
static_assert(sizeof(struct spte_mirror_audit_report) == 32);
static_assert(sizeof(struct spte_mirror_audit) == 352);
static_assert(sizeof(struct spte_mirror_event) == 96);
static_assert(sizeof(u64) * SPTE_EPT_ENTRIES == PAGE_SIZE);

struct spte_mirror;

struct spte_slot {
	struct spte_mirror *m;
	struct mmu_interval_notifier notifier;
	u64 gpa;
	u64 hva;
	u64 size;
	u64 flags;
	u64 id;
	bool used;		/* visible to notifiers; under mmu_lock */
};

struct spte_mirror {
	struct mm_struct *owner_mm;	/* ioctls only from this mm */
	struct mm_struct *mm;		/* the mirrored mm */
	struct mmu_notifier mn;
	bool registered;

	struct mutex lock;
	spinlock_t mmu_lock;
	u64 *root;
	unsigned long table_pages[SPTE_EPT_LEVELS];
	unsigned long nr_leaves;
	unsigned long inv_seq;
	long inv_in_progress;
	unsigned long inv_start;
	unsigned long inv_end;
	bool released;
	struct spte_slot slots[SPTE_MAX_SLOTS];
	u64 next_slot_id;

	void *cache[SPTE_CACHE_PAGES];	/* under lock */
	int nr_cache;

	atomic64_t cb_count[SPTE_CB_NR];
	atomic64_t faults;
	atomic64_t retries;
	atomic64_t installed;
	atomic64_t zapped;

	spinlock_t ev_lock;
	struct spte_mirror_event *ev_ring;
	u64 ev_size;
	u64 ev_head;
	u64 ev_tail;
	u64 ev_seq;
	u64 ev_logged;
	u64 ev_dropped;
	u64 ev_pending;		/* dropped, not yet reported in-band */
	u64 ev_last_drop_seq;
	bool ev_slots_only;
	wait_queue_head_t ev_wait;
};

/* What a zap or a young walk saw, for counters and event records. */
struct spte_walk_stats {
	unsigned long leaves;
	u64 first_pfn;
	int young;
};

static void spte_stats_init(struct spte_walk_stats *s)
{
	s->leaves = 0;
	s->first_pfn = SPTE_MIRROR_NONE;
	s->young = 0;
}

/* ------------------------------------------------------------------ */
/* event log                                                          */

static u32 spte_event_code(enum mmu_notifier_event event)
{
	switch (event) {
	case MMU_NOTIFY_UNMAP:
		return SPTE_EV_UNMAP;
	case MMU_NOTIFY_CLEAR:
		return SPTE_EV_CLEAR;
	case MMU_NOTIFY_PROTECTION_VMA:
		return SPTE_EV_PROTECTION_VMA;
	case MMU_NOTIFY_PROTECTION_PAGE:
		return SPTE_EV_PROTECTION_PAGE;
	case MMU_NOTIFY_SOFT_DIRTY:
		return SPTE_EV_SOFT_DIRTY;
	case MMU_NOTIFY_RELEASE:
		return SPTE_EV_RELEASE;
	case MMU_NOTIFY_MIGRATE:
		return SPTE_EV_MIGRATE;
	case MMU_NOTIFY_EXCLUSIVE:
		return SPTE_EV_EXCLUSIVE;
	default:
		return SPTE_EV_NONE;
	}
}

static void spte_event_init(struct spte_mirror_event *ev, u32 cb,
			    unsigned long start, unsigned long end)
{
	memset(ev, 0, sizeof(*ev));
	ev->callback = cb;
	ev->event = SPTE_EV_NONE;
	ev->hva_start = start;
	ev->hva_end = end;
	ev->gpa_start = SPTE_MIRROR_NONE;
	ev->gpa_end = SPTE_MIRROR_NONE;
	ev->old_pfn = SPTE_MIRROR_NONE;
	ev->new_pfn = SPTE_MIRROR_NONE;
}

/* Count, trace and (unless filtered) queue one callback invocation. */
static void spte_log(struct spte_mirror *m, struct spte_mirror_event *ev)
{
	atomic64_inc(&m->cb_count[ev->callback]);
	trace_spte_mirror_callback(ev->callback, ev->event, ev->flags,
				   ev->hva_start, ev->hva_end, ev->result,
				   ev->leaves);

	spin_lock(&m->ev_lock);
	if (m->ev_slots_only && !(ev->flags & SPTE_EVF_IN_SLOT)) {
		spin_unlock(&m->ev_lock);
		return;
	}
	ev->seq = ++m->ev_seq;
	ev->time_ns = ktime_get_ns();
	/*
	 * Once something was dropped, keep dropping until the reader has
	 * drained up to the drop point, so the in-band SPTE_CB_DROPPED record
	 * sits exactly where the loss happened.
	 */
	if (m->ev_pending || m->ev_tail - m->ev_head >= m->ev_size) {
		m->ev_pending++;
		m->ev_dropped++;
		m->ev_last_drop_seq = ev->seq;
	} else {
		m->ev_ring[m->ev_tail % m->ev_size] = *ev;
		m->ev_tail++;
		m->ev_logged++;
	}
	spin_unlock(&m->ev_lock);
	wake_up_interruptible(&m->ev_wait);
}

static bool spte_ev_ready(struct spte_mirror *m)
{
	bool ready;

	spin_lock(&m->ev_lock);
	ready = m->ev_head != m->ev_tail || m->ev_pending;
	spin_unlock(&m->ev_lock);
	return ready;
}

/* ------------------------------------------------------------------ */
/* the EPT table                                                      */

static u64 *spte_child(u64 e)
{
	return __va(e & SPTE_EPT_PFN_MASK);
}

static bool spte_table_empty(const u64 *table)
{
	return !memchr_inv(table, 0, PAGE_SIZE);
}

/*
 * A leaf going away takes its accessed bit with it.  Hand it to the page,
 * as KVM does with kvm_set_pfn_accessed(): khugepaged checks youth again
 * after its invalidation has zapped us (__collapse_huge_page_isolate), and
 * reclaim should not evict a page only the device used.
 */
static void spte_leaf_removed(struct spte_mirror *m, u64 e,
			      struct spte_walk_stats *s)
{
	unsigned long pfn = spte_ept_pfn(e);

	if ((e & SPTE_EPT_A) && pfn_valid(pfn) &&
	    !PageReserved(pfn_to_page(pfn)))
		mark_page_accessed(pfn_to_page(pfn));
	if (s->first_pfn == SPTE_MIRROR_NONE)
		s->first_pfn = spte_ept_pfn(e);
	s->leaves++;
	m->nr_leaves--;
	atomic64_inc(&m->zapped);
}

/*
 * Remove every leaf overlapping [start, end) below @table (at @level,
 * covering GPAs from @base); a large leaf partly inside goes entirely, as
 * in KVM.  Table pages left empty are freed.  Caller holds mmu_lock.
 */
static void spte_zap(struct spte_mirror *m, u64 *table, unsigned int level,
		     u64 base, u64 start, u64 end, struct spte_walk_stats *s)
{
	u64 size = SPTE_EPT_LEVEL_SIZE(level);
	unsigned int i = 0;

	if (start > base)
		i = (start - base) >> SPTE_EPT_LEVEL_SHIFT(level);
	for (; i < SPTE_EPT_ENTRIES; i++) {
		u64 lo = base + i * size;
		u64 e = table[i];
		u64 *child;

		if (lo >= end)
			break;
		if (!spte_ept_present(e))
			continue;
		if (spte_ept_is_leaf(e, level)) {
			WRITE_ONCE(table[i], 0);
			spte_leaf_removed(m, e, s);
			continue;
		}
		child = spte_child(e);
		spte_zap(m, child, level - 1, lo, max(start, lo),
			 min(end, lo + size), s);
		if (spte_table_empty(child)) {
			WRITE_ONCE(table[i], 0);
			free_page((unsigned long)child);
			m->table_pages[level - 2]--;
		}
	}
}

static void spte_zap_gpa(struct spte_mirror *m, u64 start, u64 end,
			 struct spte_walk_stats *s)
{
	lockdep_assert_held(&m->mmu_lock);
	if (start < end)
		spte_zap(m, m->root, SPTE_EPT_LEVELS, 0, start, end, s);
}

/*
 * Visit the present leaves overlapping [start, end): clear their A bit
 * (@clear) and note whether any was young.
 */
static void spte_age(u64 *table, unsigned int level, u64 base, u64 start,
		     u64 end, bool clear, struct spte_walk_stats *s)
{
	u64 size = SPTE_EPT_LEVEL_SIZE(level);
	unsigned int i = 0;

	if (start > base)
		i = (start - base) >> SPTE_EPT_LEVEL_SHIFT(level);
	for (; i < SPTE_EPT_ENTRIES; i++) {
		u64 lo = base + i * size;
		u64 e = table[i];

		if (lo >= end)
			break;
		if (!spte_ept_present(e))
			continue;
		if (!spte_ept_is_leaf(e, level)) {
			spte_age(spte_child(e), level - 1, lo, max(start, lo),
				 min(end, lo + size), clear, s);
			continue;
		}
		s->leaves++;
		if (e & SPTE_EPT_A) {
			s->young = 1;
			if (clear)
				WRITE_ONCE(table[i], e & ~SPTE_EPT_A);
		}
	}
}

/* Find the leaf mapping @gpa; returns a pointer to it or NULL. */
static u64 *spte_lookup(struct spte_mirror *m, u64 gpa, unsigned int *level)
{
	u64 *table = m->root;
	unsigned int l;

	for (l = SPTE_EPT_LEVELS; l >= 1; l--) {
		u64 *ep = &table[SPTE_EPT_INDEX(gpa, l)];

		if (!spte_ept_present(*ep))
			return NULL;
		if (spte_ept_is_leaf(*ep, l)) {
			*level = l;
			return ep;
		}
		table = spte_child(*ep);
	}
	return NULL;
}

static int spte_cache_topup(struct spte_mirror *m)
{
	lockdep_assert_held(&m->lock);
	while (m->nr_cache < SPTE_CACHE_PAGES) {
		void *p = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

		if (!p)
			return -ENOMEM;
		m->cache[m->nr_cache++] = p;
	}
	return 0;
}

/*
 * Walk to the entry for @gpa at @target level, creating tables from the
 * cache on the way and zapping a large leaf that is in the way.
 */
static u64 *spte_walk_alloc(struct spte_mirror *m, u64 gpa,
			    unsigned int target, struct spte_walk_stats *s)
{
	u64 *table = m->root;
	unsigned int l;

	for (l = SPTE_EPT_LEVELS; l > target; l--) {
		u64 *ep = &table[SPTE_EPT_INDEX(gpa, l)];

		if (spte_ept_present(*ep) && spte_ept_is_leaf(*ep, l)) {
			spte_leaf_removed(m, *ep, s);
			WRITE_ONCE(*ep, 0);
		}
		if (!spte_ept_present(*ep)) {
			void *child;

			if (WARN_ON_ONCE(!m->nr_cache))
				return NULL;
			child = m->cache[--m->nr_cache];
			m->table_pages[l - 2]++;
			WRITE_ONCE(*ep, __pa(child) | SPTE_EPT_RWX);
		}
		table = spte_child(*ep);
	}
	return &table[SPTE_EPT_INDEX(gpa, target)];
}

static void spte_set_leaf(struct spte_mirror *m, u64 *ep, u64 e,
			  unsigned int level, u64 gpa, u64 hva,
			  struct spte_walk_stats *s)
{
	u64 old = *ep;

	if (spte_ept_present(old) && !spte_ept_is_leaf(old, level)) {
		u64 *child = spte_child(old);

		spte_zap(m, child, level - 1, gpa, gpa,
			 gpa + SPTE_EPT_LEVEL_SIZE(level), s);
		free_page((unsigned long)child);
		m->table_pages[level - 2]--;
		old = 0;
	}
	if (spte_ept_present(old)) {
		/* refresh of the same translation keeps A/D */
		if (spte_ept_pfn(old) == spte_ept_pfn(e))
			e |= old & (SPTE_EPT_A | SPTE_EPT_D);
		m->nr_leaves--;
	}
	WRITE_ONCE(*ep, e);
	m->nr_leaves++;
	atomic64_inc(&m->installed);
	trace_spte_mirror_install(gpa, hva, e, level);
}

/* ------------------------------------------------------------------ */
/* slots                                                              */

static struct spte_slot *spte_find_slot(struct spte_mirror *m, u64 gpa)
{
	int i;

	for (i = 0; i < SPTE_MAX_SLOTS; i++) {
		struct spte_slot *sl = &m->slots[i];

		if (sl->used && gpa >= sl->gpa && gpa - sl->gpa < sl->size)
			return sl;
	}
	return NULL;
}

/*
 * For an HVA range, zap (@zap) the leaves of every slot it intersects and
 * report the GPA span hit.  Caller holds mmu_lock.
 */
static bool spte_hva_range(struct spte_mirror *m, unsigned long start,
			   unsigned long end, bool zap,
			   struct spte_mirror_event *ev,
			   struct spte_walk_stats *s)
{
	bool hit = false;
	int i;

	for (i = 0; i < SPTE_MAX_SLOTS; i++) {
		struct spte_slot *sl = &m->slots[i];
		u64 hs, he, gs, ge;

		if (!sl->used)
			continue;
		hs = max_t(u64, start, sl->hva);
		he = min_t(u64, end, sl->hva + sl->size);
		if (hs >= he)
			continue;
		gs = sl->gpa + (hs - sl->hva);
		ge = sl->gpa + (he - sl->hva);
		if (ev) {
			if (!hit || gs < ev->gpa_start)
				ev->gpa_start = gs;
			if (!hit || ge > ev->gpa_end)
				ev->gpa_end = ge;
		}
		hit = true;
		if (zap)
			spte_zap_gpa(m, gs, ge, s);
	}
	if (hit && ev)
		ev->flags |= SPTE_EVF_IN_SLOT;
	return hit;
}

/* ------------------------------------------------------------------ */
/* mmu notifier                                                       */

static struct spte_mirror *to_mirror(struct mmu_notifier *mn)
{
	return container_of(mn, struct spte_mirror, mn);
}

static int spte_mn_invalidate_range_start(struct mmu_notifier *mn,
				const struct mmu_notifier_range *range)
{
	struct spte_mirror *m = to_mirror(mn);
	struct spte_mirror_event ev;
	struct spte_walk_stats s;
	bool zap = !READ_ONCE(skip_invalidate);

	spte_event_init(&ev, SPTE_CB_INVALIDATE_RANGE_START, range->start,
			range->end);
	ev.event = spte_event_code(range->event);
	if (mmu_notifier_range_blockable(range))
		ev.flags |= SPTE_EVF_BLOCKABLE;
	if (!zap)
		ev.flags |= SPTE_EVF_SKIPPED;
	spte_stats_init(&s);

	/* Never sleeps (see the locking comment), so never -EAGAIN. */
	spin_lock(&m->mmu_lock);
	if (!m->inv_in_progress++) {
		m->inv_start = range->start;
		m->inv_end = range->end;
	} else {
		m->inv_start = min(m->inv_start, range->start);
		m->inv_end = max(m->inv_end, range->end);
	}
	m->inv_seq++;
	spte_hva_range(m, range->start, range->end, zap, &ev, &s);
	spin_unlock(&m->mmu_lock);

	ev.old_pfn = s.first_pfn;
	ev.leaves = s.leaves;
	spte_log(m, &ev);
	return 0;
}

static void spte_mn_invalidate_range_end(struct mmu_notifier *mn,
				const struct mmu_notifier_range *range)
{
	struct spte_mirror *m = to_mirror(mn);
	struct spte_mirror_event ev;

	spte_event_init(&ev, SPTE_CB_INVALIDATE_RANGE_END, range->start,
			range->end);
	ev.event = spte_event_code(range->event);
	if (mmu_notifier_range_blockable(range))
		ev.flags |= SPTE_EVF_BLOCKABLE;

	spin_lock(&m->mmu_lock);
	m->inv_seq++;
	/*
	 * Unbalanced if the notifier was registered while this invalidation
	 * was already running; nothing was mapped then, so just clamp.
	 */
	if (m->inv_in_progress > 0)
		m->inv_in_progress--;
	spte_hva_range(m, range->start, range->end, false, &ev, NULL);
	spin_unlock(&m->mmu_lock);

	spte_log(m, &ev);
}

/*
 * ->invalidate_range (< 6.6) / ->arch_invalidate_secondary_tlbs (>= 6.6):
 * the primary PTEs are already changed.  The leaves went in _start, there
 * is no TLB to flush, so this only counts and logs.
 */
static void spte_mn_invalidate_secondary(struct mmu_notifier *mn,
					 struct mm_struct *mm,
					 unsigned long start,
					 unsigned long end)
{
	struct spte_mirror *m = to_mirror(mn);
	struct spte_mirror_event ev;

	spte_event_init(&ev, SPTE_CB_INVALIDATE_SECONDARY, start, end);
	spin_lock(&m->mmu_lock);
	spte_hva_range(m, start, end, false, &ev, NULL);
	spin_unlock(&m->mmu_lock);
	spte_log(m, &ev);
}

#ifdef SPTE_HAVE_CHANGE_PTE
/*
 * KSM (set_pte_at_notify) calls this between invalidate_range_start and
 * _end, so the leaf has normally been zapped already, as in KVM; a leaf
 * still present (skip_invalidate) is zapped rather than repointed.
 */
static void spte_mn_change_pte(struct mmu_notifier *mn, struct mm_struct *mm,
			       unsigned long address, pte_t pte)
{
	struct spte_mirror *m = to_mirror(mn);
	struct spte_mirror_event ev;
	struct spte_walk_stats s;
	bool zap = !READ_ONCE(skip_invalidate);

	spte_event_init(&ev, SPTE_CB_CHANGE_PTE, address, address + PAGE_SIZE);
	ev.new_pfn = pte_pfn(pte);
	if (!zap)
		ev.flags |= SPTE_EVF_SKIPPED;
	spte_stats_init(&s);
	spin_lock(&m->mmu_lock);
	spte_hva_range(m, address, address + PAGE_SIZE, zap, &ev, &s);
	spin_unlock(&m->mmu_lock);
	ev.old_pfn = s.first_pfn;
	ev.leaves = s.leaves;
	spte_log(m, &ev);
}
#endif

static int spte_young(struct spte_mirror *m, u32 cb, unsigned long start,
		      unsigned long end, bool clear)
{
	struct spte_mirror_event ev;
	struct spte_walk_stats s;
	int i;

	spte_event_init(&ev, cb, start, end);
	spte_stats_init(&s);
	spin_lock(&m->mmu_lock);
	if (spte_hva_range(m, start, end, false, &ev, NULL)) {
		for (i = 0; i < SPTE_MAX_SLOTS; i++) {
			struct spte_slot *sl = &m->slots[i];
			u64 hs, he;

			if (!sl->used)
				continue;
			hs = max_t(u64, start, sl->hva);
			he = min_t(u64, end, sl->hva + sl->size);
			if (hs >= he)
				continue;
			spte_age(m->root, SPTE_EPT_LEVELS, 0,
				 sl->gpa + (hs - sl->hva),
				 sl->gpa + (he - sl->hva), clear, &s);
		}
	}
	spin_unlock(&m->mmu_lock);
	ev.result = s.young;
	ev.leaves = s.leaves;
	spte_log(m, &ev);
	return s.young;
}

static int spte_mn_clear_flush_young(struct mmu_notifier *mn,
				     struct mm_struct *mm,
				     unsigned long start, unsigned long end)
{
	/* no TLB in this MMU: clearing A is the whole job */
	return spte_young(to_mirror(mn), SPTE_CB_CLEAR_FLUSH_YOUNG, start, end,
			  true);
}

static int spte_mn_clear_young(struct mmu_notifier *mn, struct mm_struct *mm,
			       unsigned long start, unsigned long end)
{
	return spte_young(to_mirror(mn), SPTE_CB_CLEAR_YOUNG, start, end,
			  true);
}

static int spte_mn_test_young(struct mmu_notifier *mn, struct mm_struct *mm,
			      unsigned long address)
{
	return spte_young(to_mirror(mn), SPTE_CB_TEST_YOUNG, address,
			  address + PAGE_SIZE, false);
}

static void spte_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct spte_mirror *m = to_mirror(mn);
	struct spte_mirror_event ev;
	struct spte_walk_stats s;

	spte_event_init(&ev, SPTE_CB_RELEASE, 0, TASK_SIZE);
	ev.event = SPTE_EV_RELEASE;
	ev.flags = SPTE_EVF_BLOCKABLE;
	spte_stats_init(&s);
	spin_lock(&m->mmu_lock);
	m->released = true;
	spte_hva_range(m, 0, TASK_SIZE, false, &ev, NULL);
	/* the mm is going away: tear the whole table down */
	spte_zap_gpa(m, 0, SPTE_GPA_LIMIT, &s);
	m->inv_seq++;
	spin_unlock(&m->mmu_lock);
	ev.old_pfn = s.first_pfn;
	ev.leaves = s.leaves;
	spte_log(m, &ev);
}

static const struct mmu_notifier_ops spte_mn_ops = {
	.release = spte_mn_release,
	.clear_flush_young = spte_mn_clear_flush_young,
	.clear_young = spte_mn_clear_young,
	.test_young = spte_mn_test_young,
#ifdef SPTE_HAVE_CHANGE_PTE
	.change_pte = spte_mn_change_pte,
#endif
	.invalidate_range_start = spte_mn_invalidate_range_start,
	.invalidate_range_end = spte_mn_invalidate_range_end,
#ifdef SPTE_HAVE_INVALIDATE_RANGE
	.invalidate_range = spte_mn_invalidate_secondary,
#else
	.arch_invalidate_secondary_tlbs = spte_mn_invalidate_secondary,
#endif
};

static u64 spte_callbacks_present(void)
{
	u64 cbs = BIT_ULL(SPTE_CB_INVALIDATE_RANGE_START) |
		  BIT_ULL(SPTE_CB_INVALIDATE_RANGE_END) |
		  BIT_ULL(SPTE_CB_INVALIDATE_SECONDARY) |
		  BIT_ULL(SPTE_CB_CLEAR_FLUSH_YOUNG) |
		  BIT_ULL(SPTE_CB_CLEAR_YOUNG) |
		  BIT_ULL(SPTE_CB_TEST_YOUNG) |
		  BIT_ULL(SPTE_CB_RELEASE) |
		  BIT_ULL(SPTE_CB_INTERVAL_INVALIDATE);

#ifdef SPTE_HAVE_CHANGE_PTE
	cbs |= BIT_ULL(SPTE_CB_CHANGE_PTE);
#endif
	return cbs;
}

/*
 * The per-slot interval notifier exists because hmm_range_fault() needs
 * one: it only bumps the interval sequence under mmu_lock so that the map
 * path's mmu_interval_read_retry() sees the invalidation.
 */
static bool spte_interval_invalidate(struct mmu_interval_notifier *sub,
				     const struct mmu_notifier_range *range,
				     unsigned long cur_seq)
{
	struct spte_slot *sl = container_of(sub, struct spte_slot, notifier);
	struct spte_mirror *m = sl->m;

	spin_lock(&m->mmu_lock);
	mmu_interval_set_seq(sub, cur_seq);
	spin_unlock(&m->mmu_lock);
	atomic64_inc(&m->cb_count[SPTE_CB_INTERVAL_INVALIDATE]);
	return true;
}

static const struct mmu_interval_notifier_ops spte_interval_ops = {
	.invalidate = spte_interval_invalidate,
};

/* ------------------------------------------------------------------ */
/* map / fault-in                                                     */

/* KVM's mmu_invalidate_retry_hva(): must the caller start over? */
static bool spte_invalidate_retry(struct spte_mirror *m, unsigned long seq,
				  unsigned long start, unsigned long end)
{
	lockdep_assert_held(&m->mmu_lock);
	if (m->inv_in_progress && start < m->inv_end && end > m->inv_start)
		return true;
	return m->inv_seq != seq;
}

struct spte_map_result {
	u64 mapped_4k;
	u64 mapped_2m;
	u64 skipped;
	u64 retries;
};

static bool spte_can_map_2m(struct spte_slot *sl, u64 gpa, u64 hva,
			    unsigned long npages, const unsigned long *pfns)
{
	unsigned long pfn0 = pfns[0] & ~HMM_PFN_FLAGS;
	unsigned long i;

	if (npages != SPTE_2M_PAGES || !IS_ALIGNED(gpa, SPTE_2M_SIZE) ||
	    !IS_ALIGNED(hva, SPTE_2M_SIZE) ||
	    !IS_ALIGNED(pfn0, SPTE_2M_PAGES))
		return false;
	for (i = 0; i < npages; i++) {
		unsigned long p = pfns[i];

		if (!(p & HMM_PFN_VALID) || (p & HMM_PFN_ERROR) ||
		    hmm_pfn_to_map_order(p) < PMD_SHIFT - PAGE_SHIFT ||
		    (p & ~HMM_PFN_FLAGS) != pfn0 + i ||
		    (p & HMM_PFN_WRITE) != (pfns[0] & HMM_PFN_WRITE))
			return false;
	}
	return true;
}

static u64 spte_prot(struct spte_slot *sl, unsigned long hmm_pfn)
{
	u64 prot = SPTE_EPT_R | SPTE_EPT_X;

	if ((hmm_pfn & HMM_PFN_WRITE) && !(sl->flags & SPTE_SLOT_READONLY))
		prot |= SPTE_EPT_W;
	return prot;
}

/* Install leaves for one chunk from a hmm_range_fault() result. */
static void spte_install(struct spte_mirror *m, struct spte_slot *sl,
			 u64 gpa, unsigned long npages,
			 const unsigned long *pfns, u64 flags,
			 struct spte_map_result *res)
{
	u64 hva = sl->hva + (gpa - sl->gpa);
	struct spte_walk_stats s;
	unsigned long i;
	u64 *ep;

	spte_stats_init(&s);
	if (!(flags & SPTE_MAP_NO_HUGE) &&
	    spte_can_map_2m(sl, gpa, hva, npages, pfns)) {
		ep = spte_walk_alloc(m, gpa, 2, &s);
		if (ep) {
			spte_set_leaf(m, ep,
				      spte_ept_make_leaf(pfns[0] & ~HMM_PFN_FLAGS,
							 spte_prot(sl, pfns[0]),
							 2),
				      2, gpa, hva, &s);
			res->mapped_2m++;
		}
		return;
	}
	for (i = 0; i < npages; i++) {
		unsigned long p = pfns[i];
		u64 g = gpa + i * PAGE_SIZE;

		if (!(p & HMM_PFN_VALID) || (p & HMM_PFN_ERROR)) {
			res->skipped++;
			continue;
		}
		ep = spte_walk_alloc(m, g, 1, &s);
		if (!ep)
			return;
		spte_set_leaf(m, ep,
			      spte_ept_make_leaf(p & ~HMM_PFN_FLAGS,
						 spte_prot(sl, p), 1),
			      1, g, hva + i * PAGE_SIZE, &s);
		res->mapped_4k++;
	}
}

/*
 * Fault in (or snapshot) one chunk: at most 512 pages inside one slot and
 * one 2M-aligned GPA region.  The read_begin -> fault -> lock -> retry loop
 * of test_hmm, plus KVM's own in_progress/seq check.
 */
static int spte_map_chunk(struct spte_mirror *m, struct spte_slot *sl,
			  u64 gpa, unsigned long npages, u64 flags,
			  unsigned long *pfns, struct spte_map_result *res)
{
	unsigned long hva = sl->hva + (gpa - sl->gpa);
	struct hmm_range range = {
		.notifier = &sl->notifier,
		.start = hva,
		.end = hva + npages * PAGE_SIZE,
		.hmm_pfns = pfns,
		.dev_private_owner = m,
	};
	unsigned long seq;
	int ret;

	if (!(flags & SPTE_MAP_SNAPSHOT)) {
		range.default_flags = HMM_PFN_REQ_FAULT;
		if (flags & SPTE_MAP_WRITE)
			range.default_flags |= HMM_PFN_REQ_WRITE;
	}

	for (;;) {
		if (fatal_signal_pending(current))
			return -EINTR;
		ret = spte_cache_topup(m);
		if (ret)
			return ret;
		range.notifier_seq = mmu_interval_read_begin(range.notifier);
		seq = READ_ONCE(m->inv_seq);
		smp_rmb(); /* pairs with the unlock after inv_seq++ */

		mmap_read_lock(m->mm);
		ret = hmm_range_fault(&range);
		mmap_read_unlock(m->mm);
		if (ret == -EBUSY)
			goto retry;
		if (ret)
			return ret;
		atomic64_inc(&m->faults);

		spin_lock(&m->mmu_lock);
		if (mmu_interval_read_retry(range.notifier,
					    range.notifier_seq) ||
		    spte_invalidate_retry(m, seq, range.start, range.end)) {
			spin_unlock(&m->mmu_lock);
			goto retry;
		}
		spte_install(m, sl, gpa, npages, pfns, flags, res);
		spin_unlock(&m->mmu_lock);
		return 0;
retry:
		res->retries++;
		atomic64_inc(&m->retries);
		cond_resched();
	}
}

/* Chunk length (pages) starting at @gpa within @sl and below @end. */
static unsigned long spte_chunk_pages(struct spte_slot *sl, u64 gpa, u64 end)
{
	u64 stop = min(end, sl->gpa + sl->size);

	stop = min(stop, ALIGN_DOWN(gpa, SPTE_2M_SIZE) + SPTE_2M_SIZE);
	return (stop - gpa) >> PAGE_SHIFT;
}

static int spte_map_range(struct spte_mirror *m, u64 gpa, u64 size,
			  u64 flags, struct spte_map_result *res)
{
	u64 end = gpa + size;
	unsigned long *pfns;
	int ret = 0;

	lockdep_assert_held(&m->lock);
	if (!mmget_not_zero(m->mm))
		return -ESRCH;
	pfns = kmalloc_array(SPTE_CHUNK_PAGES, sizeof(*pfns), GFP_KERNEL);
	if (!pfns) {
		ret = -ENOMEM;
		goto out_mmput;
	}
	while (gpa < end) {
		struct spte_slot *sl = spte_find_slot(m, gpa);
		unsigned long n;

		if (!sl) {
			ret = -ENOENT;
			break;
		}
		n = spte_chunk_pages(sl, gpa, end);
		ret = spte_map_chunk(m, sl, gpa, n, flags, pfns, res);
		if (ret)
			break;
		gpa += n << PAGE_SHIFT;
	}
	kfree(pfns);
out_mmput:
	mmput(m->mm);
	return ret;
}

/* ------------------------------------------------------------------ */
/* ioctls                                                             */

static bool spte_range_ok(u64 start, u64 size)
{
	return size && PAGE_ALIGNED(start) && PAGE_ALIGNED(size) &&
	       start + size > start && start + size <= SPTE_GPA_LIMIT;
}

#define spte_nonzero(field) (memchr_inv(&(field), 0, sizeof(field)) != NULL)

static int spte_ioc_version(struct spte_mirror_version *a)
{
	if (a->flags || spte_nonzero(a->reserved))
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	a->abi_version = SPTE_MIRROR_ABI_VERSION;
	a->kernel_version = SPTE_KVER;
	a->callbacks = spte_callbacks_present();
	a->max_slots = SPTE_MAX_SLOTS;
	return 0;
}

/*
 * ptrace_may_access(task, PTRACE_MODE_ATTACH_REALCREDS) is not exported to
 * modules, and a same-uid check without it would bypass the LSM hook (Yama's
 * ptrace_scope among others).  So attaching to another process needs
 * CAP_SYS_PTRACE in the initial namespace, which every LSM lets through
 * for ptrace as well, and the target must be dumpable as ptrace requires.
 */
static bool spte_may_attach(struct task_struct *task)
{
	struct mm_struct *mm;
	bool ok = true;

	if (same_thread_group(task, current))
		return true;
	if (!capable(CAP_SYS_PTRACE))
		return false;
	task_lock(task);
	mm = task->mm;
	if (mm && get_dumpable(mm) != SUID_DUMP_USER &&
	    !ns_capable(mm->user_ns, CAP_SYS_PTRACE))
		ok = false;
	task_unlock(task);
	return ok;
}

static bool spte_has_slots(struct spte_mirror *m)
{
	int i;

	for (i = 0; i < SPTE_MAX_SLOTS; i++)
		if (m->slots[i].used)
			return true;
	return false;
}

static int spte_ioc_attach(struct spte_mirror *m, struct spte_mirror_attach *a)
{
	struct task_struct *task;
	struct mm_struct *mm;
	struct pid *pid;

	if (a->flags || spte_nonzero(a->reserved) || !a->pid ||
	    a->pid > INT_MAX)
		return -EINVAL;
	if (m->registered || spte_has_slots(m))
		return -EBUSY;
	pid = find_get_pid((pid_t)a->pid);
	task = pid ? get_pid_task(pid, PIDTYPE_PID) : NULL;
	put_pid(pid);
	if (!task)
		return -ESRCH;
	if (!spte_may_attach(task)) {
		put_task_struct(task);
		return -EPERM;
	}
	mm = get_task_mm(task);
	put_task_struct(task);
	if (!mm)
		return -EINVAL;
	mmgrab(mm);
	mmput(mm);
	mmdrop(m->mm);
	m->mm = mm;
	return 0;
}

static int spte_register(struct spte_mirror *m)
{
	int ret;

	if (m->registered)
		return 0;
	if (!mmget_not_zero(m->mm))
		return -ESRCH;
	m->mn.ops = &spte_mn_ops;
	ret = mmu_notifier_register(&m->mn, m->mm);
	mmput(m->mm);
	if (!ret)
		m->registered = true;
	return ret;
}

static int spte_ioc_add_slot(struct spte_mirror *m, struct spte_mirror_slot *a)
{
	struct spte_slot *sl = NULL;
	int i, ret;

	if ((a->flags & ~SPTE_SLOT_FLAGS) || spte_nonzero(a->reserved))
		return -EINVAL;
	if (!spte_range_ok(a->gpa, a->size) || !PAGE_ALIGNED(a->hva) ||
	    a->hva + a->size < a->hva || a->hva + a->size > TASK_SIZE)
		return -EINVAL;
	for (i = 0; i < SPTE_MAX_SLOTS; i++) {
		struct spte_slot *o = &m->slots[i];

		if (!o->used) {
			if (!sl)
				sl = o;
			continue;
		}
		if (a->gpa < o->gpa + o->size && o->gpa < a->gpa + a->size)
			return -EEXIST;
	}
	if (!sl)
		return -ENOSPC;

	ret = spte_register(m);
	if (ret)
		return ret;
	if (!mmget_not_zero(m->mm))
		return -ESRCH;
	memset(sl, 0, sizeof(*sl));
	sl->m = m;
	sl->gpa = a->gpa;
	sl->hva = a->hva;
	sl->size = a->size;
	sl->flags = a->flags;
	sl->id = ++m->next_slot_id;
	ret = mmu_interval_notifier_insert(&sl->notifier, m->mm, sl->hva,
					   sl->size, &spte_interval_ops);
	mmput(m->mm);
	if (ret)
		return ret;
	spin_lock(&m->mmu_lock);
	sl->used = true;
	spin_unlock(&m->mmu_lock);
	a->id = sl->id;
	return 0;
}

static void spte_remove_slot(struct spte_mirror *m, struct spte_slot *sl)
{
	struct spte_walk_stats s;

	spte_stats_init(&s);
	spin_lock(&m->mmu_lock);
	spte_zap_gpa(m, sl->gpa, sl->gpa + sl->size, &s);
	sl->used = false;
	m->inv_seq++;
	spin_unlock(&m->mmu_lock);
	mmu_interval_notifier_remove(&sl->notifier);
}

static int spte_ioc_del_slot(struct spte_mirror *m, struct spte_mirror_slot *a)
{
	int i;

	if (a->flags || spte_nonzero(a->reserved))
		return -EINVAL;
	for (i = 0; i < SPTE_MAX_SLOTS; i++) {
		struct spte_slot *sl = &m->slots[i];

		if (sl->used && sl->gpa == a->gpa) {
			a->hva = sl->hva;
			a->size = sl->size;
			a->flags = sl->flags;
			a->id = sl->id;
			spte_remove_slot(m, sl);
			return 0;
		}
	}
	return -ENOENT;
}

static int spte_ioc_map(struct spte_mirror *m, struct spte_mirror_map *a)
{
	struct spte_map_result res = {};
	int ret;

	if ((a->flags & ~SPTE_MAP_FLAGS) || spte_nonzero(a->reserved))
		return -EINVAL;
	if ((a->flags & SPTE_MAP_SNAPSHOT) && (a->flags & SPTE_MAP_WRITE))
		return -EINVAL;
	if (!spte_range_ok(a->gpa, a->size))
		return -EINVAL;
	ret = spte_map_range(m, a->gpa, a->size, a->flags, &res);
	a->mapped_4k = res.mapped_4k;
	a->mapped_2m = res.mapped_2m;
	a->skipped = res.skipped;
	a->retries = res.retries;
	return ret;
}

static int spte_ioc_unmap(struct spte_mirror *m, struct spte_mirror_range *a)
{
	struct spte_walk_stats s;

	if (a->flags || spte_nonzero(a->reserved))
		return -EINVAL;
	if (!spte_range_ok(a->gpa, a->size))
		return -EINVAL;
	spte_stats_init(&s);
	spin_lock(&m->mmu_lock);
	spte_zap_gpa(m, a->gpa, a->gpa + a->size, &s);
	spin_unlock(&m->mmu_lock);
	a->zapped = s.leaves;
	return 0;
}

/*
 * One page-bounded piece of a device access.  The data moves between the
 * page and @bounce under mmu_lock, so an invalidation cannot free or remap
 * the page while it is being touched.
 */
static int spte_access_piece(struct spte_mirror *m, u64 gpa, size_t len,
			     void *bounce, bool write)
{
	unsigned int level;
	unsigned long pfn;
	struct page *page;
	u64 *ep, e;
	void *va;

	lockdep_assert_held(&m->mmu_lock);
	ep = spte_lookup(m, gpa, &level);
	if (!ep)
		return -ENOENT;
	e = *ep;
	if (write && !(e & SPTE_EPT_W))
		return -ENOENT;
	pfn = spte_ept_pfn(e) +
	      ((gpa & (SPTE_EPT_LEVEL_SIZE(level) - 1)) >> PAGE_SHIFT);
	if (!pfn_valid(pfn))
		return -EFAULT;
	page = pfn_to_page(pfn);
	va = kmap_local_page(page);
	if (write)
		memcpy(va + offset_in_page(gpa), bounce, len);
	else
		memcpy(bounce, va + offset_in_page(gpa), len);
	kunmap_local(va);
	e |= SPTE_EPT_A;
	if (write) {
		e |= SPTE_EPT_D;
		/* the primary PTE stays clean: tell reclaim, as KVM does */
		if (!PageReserved(page))
			SetPageDirty(page);
	}
	WRITE_ONCE(*ep, e);
	return 0;
}

static int spte_ioc_access(struct spte_mirror *m, struct spte_mirror_access *a)
{
	bool write = a->flags & SPTE_ACCESS_WRITE;
	u64 gpa = a->gpa, end = a->gpa + a->size;
	void __user *ubuf = u64_to_user_ptr(a->buf);
	void *bounce;
	int ret = 0;

	if ((a->flags & ~SPTE_ACCESS_FLAGS) || spte_nonzero(a->reserved))
		return -EINVAL;
	a->done = 0;
	a->faults = 0;
	if (!a->size || end < gpa || end > SPTE_GPA_LIMIT)
		return -EINVAL;
	bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	while (gpa < end) {
		size_t len = min_t(u64, end - gpa,
				   PAGE_SIZE - offset_in_page(gpa));
		int tries = 0;

		if (write && copy_from_user(bounce, ubuf, len)) {
			ret = -EFAULT;
			break;
		}
		for (;;) {
			struct spte_map_result res = {};

			spin_lock(&m->mmu_lock);
			ret = spte_access_piece(m, gpa, len, bounce, write);
			spin_unlock(&m->mmu_lock);
			if (ret != -ENOENT)
				break;
			if ((a->flags & SPTE_ACCESS_NO_FAULT) || ++tries > 16) {
				ret = -EFAULT;
				break;
			}
			ret = spte_map_range(m, ALIGN_DOWN(gpa, PAGE_SIZE),
					     PAGE_SIZE,
					     write ? SPTE_MAP_WRITE : 0, &res);
			if (ret)
				break;
			a->faults++;
		}
		if (ret)
			break;
		if (!write && copy_to_user(ubuf, bounce, len)) {
			ret = -EFAULT;
			break;
		}
		gpa += len;
		ubuf += len;
		a->done += len;
	}
	kfree(bounce);
	return ret;
}

struct spte_dump_ctx {
	struct spte_mirror *m;
	struct spte_mirror_leaf *out;
	u64 cap;
	u64 n;
};

static void spte_dump_walk(struct spte_dump_ctx *c, u64 *table,
			   unsigned int level, u64 base)
{
	unsigned int i;

	for (i = 0; i < SPTE_EPT_ENTRIES; i++) {
		u64 e = table[i];
		u64 gpa = base + i * SPTE_EPT_LEVEL_SIZE(level);

		if (!spte_ept_present(e))
			continue;
		if (!spte_ept_is_leaf(e, level)) {
			spte_dump_walk(c, spte_child(e), level - 1, gpa);
			continue;
		}
		if (c->n < c->cap) {
			struct spte_mirror_leaf *l = &c->out[c->n];
			struct spte_slot *sl = spte_find_slot(c->m, gpa);

			l->gpa = gpa;
			l->entry = e;
			l->level = level;
			l->hva = sl ? sl->hva + (gpa - sl->gpa) : 0;
			l->slot = sl ? (u32)sl->id : 0;
		}
		c->n++;
	}
}

static int spte_ioc_dump(struct spte_mirror *m, struct spte_mirror_dump *a)
{
	struct spte_mirror_leaf __user *uleaves = u64_to_user_ptr(a->leaves);
	struct spte_dump_ctx c = { .m = m };
	u64 want = a->count;
	int i, ret = 0;

	if (a->flags || spte_nonzero(a->reserved))
		return -EINVAL;
	/* only this (mutex-holding) path adds leaves: the count can only drop */
	spin_lock(&m->mmu_lock);
	c.cap = min_t(u64, want, m->nr_leaves);
	spin_unlock(&m->mmu_lock);
	if (c.cap > SPTE_DUMP_MAX)
		return -E2BIG;
	if (c.cap) {
		c.out = kvcalloc(c.cap, sizeof(*c.out), GFP_KERNEL_ACCOUNT);
		if (!c.out)
			return -ENOMEM;
	}
	spin_lock(&m->mmu_lock);
	spte_dump_walk(&c, m->root, SPTE_EPT_LEVELS, 0);
	for (i = 0; i < SPTE_EPT_LEVELS; i++)
		a->table_pages[i] = m->table_pages[i];
	a->seq = m->inv_seq;
	spin_unlock(&m->mmu_lock);

	a->needed = c.n;
	a->count = 0;
	if (c.n > want) {
		ret = -E2BIG;
	} else if (c.n) {
		if (copy_to_user(uleaves, c.out, c.n * sizeof(*c.out)))
			ret = -EFAULT;
		else
			a->count = c.n;
	}
	kvfree(c.out);
	return ret;
}

static int spte_ioc_log_config(struct spte_mirror *m,
			       struct spte_mirror_log_config *a)
{
	struct spte_mirror_event *ring = NULL, *old = NULL;

	if ((a->flags & ~SPTE_LOG_FLAGS) || spte_nonzero(a->reserved))
		return -EINVAL;
	if (a->records && (a->records < 2 || a->records > SPTE_LOG_MAX))
		return -EINVAL;
	if (a->records) {
		ring = kvcalloc(a->records, sizeof(*ring), GFP_KERNEL_ACCOUNT);
		if (!ring)
			return -ENOMEM;
	}
	spin_lock(&m->ev_lock);
	if (ring) {
		/* queued records are lost: count them, never silently */
		u64 lost = m->ev_tail - m->ev_head;

		m->ev_pending += lost;
		m->ev_dropped += lost;
		m->ev_last_drop_seq = m->ev_seq;
		old = m->ev_ring;
		m->ev_ring = ring;
		m->ev_size = a->records;
		m->ev_head = 0;
		m->ev_tail = 0;
	}
	m->ev_slots_only = a->flags & SPTE_LOG_SLOTS_ONLY;
	a->records = m->ev_size;
	spin_unlock(&m->ev_lock);
	kvfree(old);
	return 0;
}

static int spte_ioc_counters(struct spte_mirror *m,
			     struct spte_mirror_counters *a)
{
	int i;

	if (a->flags || spte_nonzero(a->reserved))
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	for (i = 0; i < SPTE_CB_NR; i++)
		a->callbacks[i] = atomic64_read(&m->cb_count[i]);
	a->faults = atomic64_read(&m->faults);
	a->retries = atomic64_read(&m->retries);
	a->leaves_installed = atomic64_read(&m->installed);
	a->leaves_zapped = atomic64_read(&m->zapped);
	spin_lock(&m->ev_lock);
	a->events_logged = m->ev_logged;
	a->events_dropped = m->ev_dropped;
	spin_unlock(&m->ev_lock);
	spin_lock(&m->mmu_lock);
	a->leaves_present = m->nr_leaves;
	for (i = 0; i < SPTE_EPT_LEVELS; i++)
		a->table_pages += m->table_pages[i];
	a->invalidate_seq = m->inv_seq;
	spin_unlock(&m->mmu_lock);
	return 0;
}

static void spte_audit_report(struct spte_mirror_audit *a, u32 kind,
			      u64 gpa, u64 e, unsigned int level,
			      unsigned long hmm_pfn)
{
	struct spte_mirror_audit_report *r;

	switch (kind) {
	case SPTE_AUDIT_STALE_PFN:
		a->stale_pfn++;
		break;
	case SPTE_AUDIT_STALE_UNMAPPED:
		a->stale_unmapped++;
		break;
	case SPTE_AUDIT_WRITE:
		a->write_violations++;
		break;
	case SPTE_AUDIT_LEVEL:
		a->level_violations++;
		break;
	}
	if (a->nr_reports >= SPTE_AUDIT_MAX_REPORTS)
		return;
	r = &a->reports[a->nr_reports++];
	r->gpa = gpa;
	r->entry = e;
	r->level = level;
	r->kind = kind;
	r->primary_pfn = (hmm_pfn & HMM_PFN_VALID) && !(hmm_pfn & HMM_PFN_ERROR) ?
			 hmm_pfn & ~HMM_PFN_FLAGS : SPTE_MIRROR_NONE;
}

/* Compare one leaf with the primary's view of its pages. */
static void spte_audit_leaf(struct spte_mirror_audit *a, u64 gpa, u64 e,
			    unsigned int level, const unsigned long *pfns)
{
	unsigned long i, n = level == 2 ? SPTE_2M_PAGES : 1;
	bool stale = false, unmapped = false, ro = false, small = false;
	unsigned long bad = 0;

	a->leaves++;
	a->pages += n;
	for (i = 0; i < n; i++) {
		unsigned long p = pfns[i];

		if (!(p & HMM_PFN_VALID) || (p & HMM_PFN_ERROR)) {
			if (!unmapped && !stale)
				bad = p;
			unmapped = true;
			continue;
		}
		if ((p & ~HMM_PFN_FLAGS) != spte_ept_pfn(e) + i) {
			if (!stale && !unmapped)
				bad = p;
			stale = true;
		}
		if ((e & SPTE_EPT_W) && !(p & HMM_PFN_WRITE))
			ro = true;
		if (level == 2 && hmm_pfn_to_map_order(p) < PMD_SHIFT - PAGE_SHIFT)
			small = true;
	}
	if (unmapped)
		spte_audit_report(a, SPTE_AUDIT_STALE_UNMAPPED, gpa, e, level,
				  bad);
	else if (stale)
		spte_audit_report(a, SPTE_AUDIT_STALE_PFN, gpa, e, level, bad);
	if (ro)
		spte_audit_report(a, SPTE_AUDIT_WRITE, gpa, e, level, pfns[0]);
	if (small && !stale && !unmapped)
		spte_audit_report(a, SPTE_AUDIT_LEVEL, gpa, e, level, pfns[0]);
}

static void spte_audit_walk(struct spte_mirror_audit *a, u64 *table,
			    unsigned int level, u64 base, u64 start, u64 end,
			    const unsigned long *pfns)
{
	u64 size = SPTE_EPT_LEVEL_SIZE(level);
	unsigned int i = 0;

	if (start > base)
		i = (start - base) >> SPTE_EPT_LEVEL_SHIFT(level);
	for (; i < SPTE_EPT_ENTRIES; i++) {
		u64 lo = base + i * size;
		u64 e = table[i];

		if (lo >= end)
			break;
		if (!spte_ept_present(e))
			continue;
		if (!spte_ept_is_leaf(e, level)) {
			spte_audit_walk(a, spte_child(e), level - 1, lo,
					max(start, lo), min(end, lo + size),
					pfns);
			continue;
		}
		/* chunks are 2M-aligned and 2M leaves lie inside one */
		if (lo < start || lo + size > end)
			continue;
		spte_audit_leaf(a, lo, e, level,
				&pfns[(lo - start) >> PAGE_SHIFT]);
	}
}

static int spte_audit_chunk(struct spte_mirror *m, struct spte_slot *sl,
			    u64 gpa, unsigned long npages,
			    unsigned long *pfns, struct spte_mirror_audit *a)
{
	unsigned long hva = sl->hva + (gpa - sl->gpa);
	struct hmm_range range = {
		.notifier = &sl->notifier,
		.start = hva,
		.end = hva + npages * PAGE_SIZE,
		.hmm_pfns = pfns,
		.dev_private_owner = m,
	};
	int ret;

	for (;;) {
		if (fatal_signal_pending(current))
			return -EINTR;
		range.notifier_seq = mmu_interval_read_begin(range.notifier);
		mmap_read_lock(m->mm);
		ret = hmm_range_fault(&range);	/* snapshot: no REQ flags */
		mmap_read_unlock(m->mm);
		if (ret == -EBUSY) {
			cond_resched();
			continue;
		}
		if (ret)
			return ret;
		spin_lock(&m->mmu_lock);
		if (mmu_interval_read_retry(range.notifier,
					    range.notifier_seq)) {
			spin_unlock(&m->mmu_lock);
			cond_resched();
			continue;
		}
		spte_audit_walk(a, m->root, SPTE_EPT_LEVELS, 0, gpa,
				gpa + npages * PAGE_SIZE, pfns);
		spin_unlock(&m->mmu_lock);
		return 0;
	}
}

static int spte_ioc_audit(struct spte_mirror *m, struct spte_mirror_audit *a)
{
	unsigned long *pfns;
	int i, ret = 0;

	if (a->flags || spte_nonzero(a->reserved))
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	if (!mmget_not_zero(m->mm)) {
		/* after release the table is empty: nothing can be stale */
		return 0;
	}
	pfns = kmalloc_array(SPTE_CHUNK_PAGES, sizeof(*pfns), GFP_KERNEL);
	if (!pfns) {
		ret = -ENOMEM;
		goto out_mmput;
	}
	for (i = 0; i < SPTE_MAX_SLOTS && !ret; i++) {
		struct spte_slot *sl = &m->slots[i];
		u64 gpa, end;

		if (!sl->used)
			continue;
		end = sl->gpa + sl->size;
		for (gpa = sl->gpa; gpa < end && !ret;) {
			unsigned long n = spte_chunk_pages(sl, gpa, end);

			ret = spte_audit_chunk(m, sl, gpa, n, pfns, a);
			gpa += n << PAGE_SHIFT;
		}
	}
	kfree(pfns);
out_mmput:
	mmput(m->mm);
	return ret;
}

static long spte_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct spte_mirror *m = file->private_data;
	void __user *uarg = (void __user *)arg;
	union {
		struct spte_mirror_version version;
		struct spte_mirror_attach attach;
		struct spte_mirror_slot slot;
		struct spte_mirror_map map;
		struct spte_mirror_range range;
		struct spte_mirror_access access;
		struct spte_mirror_dump dump;
		struct spte_mirror_log_config log;
		struct spte_mirror_counters counters;
		struct spte_mirror_audit audit;
	} *u;
	size_t size = _IOC_SIZE(cmd);
	bool copy_out_on_error = false;
	long ret;

	/* an fd belongs to the mm that opened it, as in KVM */
	if (current->mm != m->owner_mm)
		return -EIO;

	switch (cmd) {
	case SPTE_MIRROR_VERSION:
	case SPTE_MIRROR_ATTACH:
	case SPTE_MIRROR_ADD_SLOT:
	case SPTE_MIRROR_DEL_SLOT:
	case SPTE_MIRROR_MAP:
	case SPTE_MIRROR_UNMAP:
	case SPTE_MIRROR_ACCESS:
	case SPTE_MIRROR_DUMP:
	case SPTE_MIRROR_LOG_CONFIG:
	case SPTE_MIRROR_COUNTERS:
	case SPTE_MIRROR_AUDIT:
		break;
	default:
		return -ENOTTY;
	}
	if (WARN_ON_ONCE(size > sizeof(*u)))
		return -ENOTTY;
	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		return -ENOMEM;
	if (copy_from_user(u, uarg, size)) {
		ret = -EFAULT;
		goto out_free;
	}

	mutex_lock(&m->lock);
	switch (cmd) {
	case SPTE_MIRROR_VERSION:
		ret = spte_ioc_version(&u->version);
		break;
	case SPTE_MIRROR_ATTACH:
		ret = spte_ioc_attach(m, &u->attach);
		break;
	case SPTE_MIRROR_ADD_SLOT:
		ret = spte_ioc_add_slot(m, &u->slot);
		break;
	case SPTE_MIRROR_DEL_SLOT:
		ret = spte_ioc_del_slot(m, &u->slot);
		break;
	case SPTE_MIRROR_MAP:
		ret = spte_ioc_map(m, &u->map);
		copy_out_on_error = ret != -EINVAL;
		break;
	case SPTE_MIRROR_UNMAP:
		ret = spte_ioc_unmap(m, &u->range);
		break;
	case SPTE_MIRROR_ACCESS:
		ret = spte_ioc_access(m, &u->access);
		copy_out_on_error = ret != -EINVAL;
		break;
	case SPTE_MIRROR_DUMP:
		ret = spte_ioc_dump(m, &u->dump);
		copy_out_on_error = ret == -E2BIG;
		break;
	case SPTE_MIRROR_LOG_CONFIG:
		ret = spte_ioc_log_config(m, &u->log);
		break;
	case SPTE_MIRROR_COUNTERS:
		ret = spte_ioc_counters(m, &u->counters);
		break;
	case SPTE_MIRROR_AUDIT:
		ret = spte_ioc_audit(m, &u->audit);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	mutex_unlock(&m->lock);

	if ((!ret || copy_out_on_error) && copy_to_user(uarg, u, size))
		ret = -EFAULT;
out_free:
	kfree(u);
	return ret;
}

/* ------------------------------------------------------------------ */
/* file operations                                                    */

static ssize_t spte_read(struct file *file, char __user *buf, size_t count,
			 loff_t *ppos)
{
	struct spte_mirror *m = file->private_data;
	struct spte_mirror_event *kbuf;
	size_t n = min_t(size_t, count / sizeof(*kbuf), SPTE_READ_BATCH);
	size_t got = 0;
	ssize_t ret;

	if (!n)
		return -EINVAL;
	kbuf = kmalloc_array(n, sizeof(*kbuf), GFP_KERNEL);
	if (!kbuf)
		return -ENOMEM;
	for (;;) {
		spin_lock(&m->ev_lock);
		while (got < n) {
			if (m->ev_head != m->ev_tail) {
				kbuf[got++] = m->ev_ring[m->ev_head %
							 m->ev_size];
				m->ev_head++;
				continue;
			}
			if (m->ev_pending) {
				struct spte_mirror_event *d = &kbuf[got++];

				spte_event_init(d, SPTE_CB_DROPPED, 0, 0);
				d->seq = m->ev_last_drop_seq;
				d->time_ns = ktime_get_ns();
				d->leaves = m->ev_pending;
				m->ev_pending = 0;
			}
			break;
		}
		spin_unlock(&m->ev_lock);
		if (got)
			break;
		if (file->f_flags & O_NONBLOCK) {
			ret = -EAGAIN;
			goto out;
		}
		ret = wait_event_interruptible(m->ev_wait, spte_ev_ready(m));
		if (ret)
			goto out;
	}
	ret = got * sizeof(*kbuf);
	if (copy_to_user(buf, kbuf, ret))
		ret = -EFAULT;
out:
	kfree(kbuf);
	return ret;
}

static __poll_t spte_poll(struct file *file, poll_table *wait)
{
	struct spte_mirror *m = file->private_data;

	poll_wait(file, &m->ev_wait, wait);
	return spte_ev_ready(m) ? EPOLLIN | EPOLLRDNORM : 0;
}

static int spte_open(struct inode *inode, struct file *file)
{
	struct spte_mirror *m;
	int i;

	if (!current->mm)
		return -EINVAL;
	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return -ENOMEM;
	m->root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	m->ev_ring = kvcalloc(SPTE_LOG_DEFAULT, sizeof(*m->ev_ring),
			      GFP_KERNEL_ACCOUNT);
	if (!m->root || !m->ev_ring) {
		free_page((unsigned long)m->root);
		kvfree(m->ev_ring);
		kfree(m);
		return -ENOMEM;
	}
	m->table_pages[SPTE_EPT_LEVELS - 1] = 1;
	m->ev_size = SPTE_LOG_DEFAULT;
	mutex_init(&m->lock);
	spin_lock_init(&m->mmu_lock);
	spin_lock_init(&m->ev_lock);
	init_waitqueue_head(&m->ev_wait);
	for (i = 0; i < SPTE_CB_NR; i++)
		atomic64_set(&m->cb_count[i], 0);

	m->owner_mm = current->mm;
	mmgrab(m->owner_mm);
	m->mm = current->mm;
	mmgrab(m->mm);
	file->private_data = m;
	return 0;
}

static int spte_release_file(struct inode *inode, struct file *file)
{
	struct spte_mirror *m = file->private_data;
	struct spte_walk_stats s;
	int i;

	for (i = 0; i < SPTE_MAX_SLOTS; i++)
		if (m->slots[i].used)
			spte_remove_slot(m, &m->slots[i]);
	/* calls ->release if the mm is still alive; no callbacks after */
	if (m->registered)
		mmu_notifier_unregister(&m->mn, m->mm);

	spte_stats_init(&s);
	spin_lock(&m->mmu_lock);
	spte_zap_gpa(m, 0, SPTE_GPA_LIMIT, &s);
	spin_unlock(&m->mmu_lock);
	WARN_ON_ONCE(m->nr_leaves);
	free_page((unsigned long)m->root);
	while (m->nr_cache)
		free_page((unsigned long)m->cache[--m->nr_cache]);
	kvfree(m->ev_ring);
	mmdrop(m->mm);
	mmdrop(m->owner_mm);
	mutex_destroy(&m->lock);
	kfree(m);
	return 0;
}

static const struct file_operations spte_fops = {
	.owner = THIS_MODULE,
	.open = spte_open,
	.release = spte_release_file,
	.read = spte_read,
	.poll = spte_poll,
	.unlocked_ioctl = spte_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice spte_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "spte_mirror",
	.fops = &spte_fops,
	.mode = 0600,
};

static int __init spte_init(void)
{
	int ret = misc_register(&spte_misc);

	if (ret)
		return ret;
	pr_info("abi %d built for %s: callbacks invalidate_range_start invalidate_range_end %s%s clear_flush_young clear_young test_young release%s\n",
		SPTE_MIRROR_ABI_VERSION, UTS_RELEASE,
#ifdef SPTE_HAVE_INVALIDATE_RANGE
		"invalidate_range",
#else
		"arch_invalidate_secondary_tlbs",
#endif
#ifdef SPTE_HAVE_CHANGE_PTE
		" change_pte",
#else
		"",
#endif
		skip_invalidate ? " (skip_invalidate=1: TEST ONLY)" : "");
	return 0;
}

static void __exit spte_exit(void)
{
	misc_deregister(&spte_misc);
}

module_init(spte_init);
module_exit(spte_exit);

MODULE_DESCRIPTION("EPT-format secondary MMU mirror for mmu notifier studies");
MODULE_AUTHOR("spte-lab");
MODULE_LICENSE("GPL");
