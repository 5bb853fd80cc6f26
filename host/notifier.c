// SPDX-License-Identifier: GPL-2.0-only
/*
 * spte_mirror: what keeps the table coherent with the primary MMU.  The
 * mmu_notifier callbacks, the per-slot interval notifier hmm_range_fault()
 * needs, and their registration.
 *
 * Every callback runs in process context.  ->change_pte and the young
 * callbacks run under the primary page-table lock and must not sleep;
 * invalidate_range_start may sleep only when the range is blockable;
 * ->release may sleep.
 */
#include <linux/mmu_notifier.h>
#include <linux/moduleparam.h>
#include <linux/sched/mm.h>

#include "mirror.h"

/*
 * A fault injector for the audit's tests: invalidations leave the leaves
 * in place, marked SPTE_EPT_STALE so that nothing dereferences them.  An
 * unsafe parameter: setting it, at load or through sysfs, taints the
 * kernel (TAINT_USER), as a kernel running it is no longer coherent.
 */
bool spte_skip_invalidate;
module_param_named_unsafe(skip_invalidate, spte_skip_invalidate, bool, 0644);
MODULE_PARM_DESC(skip_invalidate,
		 "TEST ONLY, taints: ignore invalidations, leaving stale leaves");

static struct spte_mirror *to_mirror(struct mmu_notifier *mn)
{
	return container_of(mn, struct spte_mirror, mn);
}

static int spte_mn_invalidate_range_start(struct mmu_notifier *mn,
				const struct mmu_notifier_range *range)
{
	struct spte_mirror *m = to_mirror(mn);
	bool blockable = mmu_notifier_range_blockable(range);
	bool zap = !READ_ONCE(spte_skip_invalidate);
	struct spte_mirror_event ev;
	struct spte_walk_stats s;
	enum spte_hva_op op;

	spte_event_init(&ev, SPTE_CB_INVALIDATE_RANGE_START, range->start,
			range->end);
	ev.event = spte_event_code(range->event);
	if (blockable)
		ev.flags |= SPTE_EVF_BLOCKABLE;
	if (!zap)
		ev.flags |= SPTE_EVF_SKIPPED;
	spte_stats_init(&s);

	/*
	 * Sleeps only if the range is blockable, so never -EAGAIN.
	 *
	 * A blockable zap may drop mmu_lock part-way.  That is safe because
	 * the in-progress count, the widened [inv_start, inv_end) and the
	 * new inv_seq are published under the same hold of mmu_lock, before
	 * the zap starts.  The only installer is a map (under m->lock), and
	 * it rechecks them with spte_invalidate_retry() under mmu_lock right
	 * before installing: one that gets mmu_lock while the zap is yielded
	 * sees this range in progress and retries, so neither the part
	 * already zapped nor the part still to go gains a leaf before
	 * invalidate_range_end.  Maps of other ranges, zaps and slot
	 * removal may change the tables meanwhile, which is why the walk
	 * restarts from the root (spte_iter_cond_resched()).
	 */
	spin_lock(&m->mmu_lock);
	if (!m->inv_in_progress++) {
		m->inv_start = range->start;
		m->inv_end = range->end;
	} else {
		m->inv_start = min(m->inv_start, range->start);
		m->inv_end = max(m->inv_end, range->end);
	}
	m->inv_seq++;
	if (!zap)
		op = SPTE_HVA_MARK_STALE;
	else if (blockable)
		op = SPTE_HVA_ZAP_MAY_YIELD;
	else
		op = SPTE_HVA_ZAP;
	spte_hva_range(m, range->start, range->end, op, &ev, &s);
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
	 * Every _end has its _start: registration runs under mmap_write_lock
	 * and mm_take_all_locks() (mmu_notifier_register()), which exclude
	 * the invalidations in flight, so no _start can have been missed.
	 */
	if (!WARN_ON_ONCE(m->inv_in_progress <= 0))
		m->inv_in_progress--;
	spte_hva_range(m, range->start, range->end, SPTE_HVA_FIND, &ev, NULL);
	spin_unlock(&m->mmu_lock);

	spte_log(m, &ev);
}

/*
 * ->invalidate_range (< 6.6) / ->arch_invalidate_secondary_tlbs (>= 6.6):
 * the primary PTEs are already changed.  The leaves went in _start, there
 * is no TLB to flush, so this only counts and logs.  From 6.6 it is called
 * from the primary's TLB flush (x86: flush_tlb_mm_range(), and with 0..~0UL
 * from arch_tlbbatch_add_pending() for reclaim's batched unmaps), under
 * the page-table lock: it must not sleep.
 */
static void spte_invalidate_secondary(struct spte_mirror *m,
				      unsigned long start, unsigned long end)
{
	struct spte_mirror_event ev;

	spte_event_init(&ev, SPTE_CB_INVALIDATE_SECONDARY, start, end);
	spin_lock(&m->mmu_lock);
	spte_hva_range(m, start, end, SPTE_HVA_FIND, &ev, NULL);
	spin_unlock(&m->mmu_lock);
	spte_log(m, &ev);
}

#ifdef SPTE_HAVE_INVALIDATE_RANGE
static void spte_mn_invalidate_range(struct mmu_notifier *mn,
				     struct mm_struct *mm,
				     unsigned long start, unsigned long end)
{
	spte_invalidate_secondary(to_mirror(mn), start, end);
}
#else
static void spte_mn_invalidate_secondary_tlbs(struct mmu_notifier *mn,
					      struct mm_struct *mm,
					      unsigned long start,
					      unsigned long end)
{
	spte_invalidate_secondary(container_of(mn, struct spte_mirror, tlb_mn),
				  start, end);
}
#endif

#ifdef SPTE_HAVE_CHANGE_PTE
/*
 * Every caller of set_pte_at_notify() (KSM, COW, migrate_vma) does it
 * between invalidate_range_start and _end, so the leaf has normally been
 * zapped in _start already, as in KVM, and nothing can have been mapped
 * since; whatever is still there is zapped rather than repointed.
 * skip_invalidate=1 skips this zap as well as _start's: the leaf, marked
 * stale in _start, stays on the old page.
 */
static void spte_mn_change_pte(struct mmu_notifier *mn, struct mm_struct *mm,
			       unsigned long address, pte_t pte)
{
	struct spte_mirror *m = to_mirror(mn);
	bool zap = !READ_ONCE(spte_skip_invalidate);
	struct spte_mirror_event ev;
	struct spte_walk_stats s;

	spte_event_init(&ev, SPTE_CB_CHANGE_PTE, address, address + PAGE_SIZE);
	ev.new_pfn = pte_pfn(pte);
	if (!zap)
		ev.flags |= SPTE_EVF_SKIPPED;
	spte_stats_init(&s);
	spin_lock(&m->mmu_lock);
	spte_hva_range(m, address, address + PAGE_SIZE,
		       zap ? SPTE_HVA_ZAP : SPTE_HVA_MARK_STALE, &ev, &s);
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

	spte_event_init(&ev, cb, start, end);
	spte_stats_init(&s);
	spin_lock(&m->mmu_lock);
	spte_hva_range(m, start, end,
		       clear ? SPTE_HVA_CLEAR_YOUNG : SPTE_HVA_TEST_YOUNG,
		       &ev, &s);
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

/*
 * ->test_young asks about one address, which need not be page aligned:
 * DAMON's damon_va_young() passes its random sampling address.  Only the
 * page holding it is tested, as KVM does (kvm_mmu_notifier_test_young()
 * looks at [address, address + 1)).
 */
static int spte_mn_test_young(struct mmu_notifier *mn, struct mm_struct *mm,
			      unsigned long address)
{
	unsigned long page = address & PAGE_MASK;

	return spte_young(to_mirror(mn), SPTE_CB_TEST_YOUNG, page,
			  page + PAGE_SIZE, false);
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
	spte_hva_range(m, 0, TASK_SIZE, SPTE_HVA_FIND, &ev, NULL);
	/*
	 * The mm is going away: tear the whole table down.  This may yield:
	 * no map runs concurrently, since a map holds an mm_users reference
	 * for its whole length and exit_mmap() runs after the last one is
	 * gone, and mmu_notifier_unregister() calls this from file release.
	 */
	spte_zap_gpa(m, 0, SPTE_GPA_LIMIT, true, &s);
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
	.invalidate_range = spte_mn_invalidate_range,
#endif
};

#ifdef SPTE_NEED_TLB_SUBSCRIPTION
static const struct mmu_notifier_ops spte_tlb_ops = {
	.arch_invalidate_secondary_tlbs = spte_mn_invalidate_secondary_tlbs,
};
#endif

/* The SPTE_CB_* bits SPTE_MIRROR_VERSION reports for this kernel. */
u64 spte_callbacks_present(void)
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

/*
 * Once per file, with the first slot.  Caller holds m->lock.  From 6.6 the
 * secondary-TLB callback is a second subscription on the same mm; it goes
 * in first so that no TLB flush after the first invalidation is missed,
 * and it has no ->release, so mn's ->release still tears the table down.
 */
int spte_notifier_register(struct spte_mirror *m)
{
	int ret;

	if (m->registered)
		return 0;
	if (!mmget_not_zero(m->mm))
		return -ESRCH;
#ifdef SPTE_NEED_TLB_SUBSCRIPTION
	m->tlb_mn.ops = &spte_tlb_ops;
	ret = mmu_notifier_register(&m->tlb_mn, m->mm);
	if (ret)
		goto out;
#endif
	m->mn.ops = &spte_mn_ops;
	ret = mmu_notifier_register(&m->mn, m->mm);
#ifdef SPTE_NEED_TLB_SUBSCRIPTION
	if (ret)
		mmu_notifier_unregister(&m->tlb_mn, m->mm);
out:
#endif
	mmput(m->mm);
	if (!ret)
		m->registered = true;
	return ret;
}

/*
 * Calls ->release if the mm is still alive; no callback of either
 * subscription runs after it (mmu_notifier_unregister() waits for SRCU).
 */
void spte_notifier_unregister(struct spte_mirror *m)
{
	if (!m->registered)
		return;
	mmu_notifier_unregister(&m->mn, m->mm);
#ifdef SPTE_NEED_TLB_SUBSCRIPTION
	mmu_notifier_unregister(&m->tlb_mn, m->mm);
#endif
}

/* Watch the slot's HVAs.  Caller holds m->lock and an mm_users reference. */
int spte_interval_insert(struct spte_mirror *m, struct spte_slot *sl)
{
	return mmu_interval_notifier_insert(&sl->notifier, m->mm, sl->hva,
					    sl->size, &spte_interval_ops);
}
