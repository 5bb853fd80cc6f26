// SPDX-License-Identifier: GPL-2.0-only
/*
 * spte_mirror: filling the table from the primary MMU.  MAP faults in (or
 * snapshots) a GPA range with hmm_range_fault() and installs the leaves
 * under the invalidate sequence; UNMAP zaps a GPA range.
 */
#include <linux/hmm.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "mirror.h"

/* KVM's mmu_invalidate_retry_hva(): must the caller start over? */
static bool spte_invalidate_retry(struct spte_mirror *m, unsigned long seq,
				  unsigned long start, unsigned long end)
{
	lockdep_assert_held(&m->mmu_lock);
	if (m->inv_in_progress && start < m->inv_end && end > m->inv_start)
		return true;
	return m->inv_seq != seq;
}

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

/*
 * Install leaves for one chunk from a hmm_range_fault() result.  -ENOMEM
 * if the table page cache ran dry part-way (@res counts what went in).
 */
static int spte_install(struct spte_mirror *m, struct spte_slot *sl,
			u64 gpa, unsigned long npages,
			const unsigned long *pfns, u64 flags,
			struct spte_map_result *res)
{
	u64 hva = spte_slot_hva(sl, gpa);
	struct spte_walk_stats s;
	unsigned long i;
	u64 *ep;

	spte_stats_init(&s);
	if (!(flags & SPTE_MAP_NO_HUGE) &&
	    spte_can_map_2m(sl, gpa, hva, npages, pfns)) {
		ep = spte_walk_alloc(m, gpa, 2, &s);
		if (!ep)
			return -ENOMEM;
		spte_set_leaf(m, ep,
			      spte_ept_make_leaf(pfns[0] & ~HMM_PFN_FLAGS,
						 spte_prot(sl, pfns[0]), 2),
			      2, gpa, hva, &s);
		res->mapped_2m++;
		return 0;
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
			return -ENOMEM;
		spte_set_leaf(m, ep,
			      spte_ept_make_leaf(p & ~HMM_PFN_FLAGS,
						 spte_prot(sl, p), 1),
			      1, g, hva + i * PAGE_SIZE, &s);
		res->mapped_4k++;
	}
	return 0;
}

/*
 * The hmm_range of a chunk, [@gpa, @gpa + @npages pages) of @sl, its pfns
 * into @pfns; returns the deadline of the chunk's retry loop: as in
 * test_hmm, invalidations racing one chunk for this long is a bug.
 *
 * No dev_private_owner: the mirror owns no device-private pages, so
 * hmm_range_fault() handles any it meets as another driver's: a fault
 * migrates them back to system RAM, a snapshot sees a hole.
 */
unsigned long spte_chunk_range(struct hmm_range *range, struct spte_slot *sl,
			       u64 gpa, unsigned long npages,
			       unsigned long *pfns)
{
	unsigned long hva = spte_slot_hva(sl, gpa);

	*range = (struct hmm_range) {
		.notifier = &sl->notifier,
		.start = hva,
		.end = hva + npages * PAGE_SIZE,
		.hmm_pfns = pfns,
	};
	return jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
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
	struct hmm_range range;
	unsigned long timeout = spte_chunk_range(&range, sl, gpa, npages, pfns);
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
		if (time_after(jiffies, timeout))
			return -EBUSY;
		ret = spte_cache_topup(m);
		if (ret)
			return ret;
		range.notifier_seq = mmu_interval_read_begin(range.notifier);
		seq = READ_ONCE(m->inv_seq);
		smp_rmb(); /* pairs with the unlock after inv_seq++ */

		/*
		 * The slot's memory may have been replaced since ADD_SLOT
		 * (mmap MAP_FIXED): check what is there now, under the same
		 * mmap_lock the fault runs under, so it cannot change again
		 * before hmm_range_fault() has looked.
		 */
		if (mmap_read_lock_killable(m->mm))
			return -EINTR;
		ret = spte_check_vmas(m->mm, range.start, range.end);
		if (!ret)
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
		ret = spte_install(m, sl, gpa, npages, pfns, flags, res);
		spin_unlock(&m->mmu_lock);
		return ret;
retry:
		res->retries++;
		atomic64_inc(&m->retries);
		cond_resched();
	}
}

/* Map [gpa, gpa + size), chunk by chunk.  Caller holds m->lock. */
int spte_map_range(struct spte_mirror *m, u64 gpa, u64 size, u64 flags,
		   struct spte_map_result *res)
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

int spte_ioc_map(struct spte_mirror *m, void *arg)
{
	struct spte_mirror_map *a = arg;
	struct spte_map_result res = {};
	int ret;

	if ((a->flags & ~SPTE_MAP_FLAGS) || spte_nonzero(a->reserved))
		return -EINVAL;
	if ((a->flags & SPTE_MAP_SNAPSHOT) && (a->flags & SPTE_MAP_WRITE))
		return -EINVAL;
	if (!spte_range_ok(a->gpa, a->size))
		return -EINVAL;
	if (a->flags & SPTE_MAP_WRITE) {
		ret = spte_check_writable(m, a->gpa, a->size);
		if (ret)
			return ret;
	}
	ret = spte_map_range(m, a->gpa, a->size, a->flags, &res);
	a->mapped_4k = res.mapped_4k;
	a->mapped_2m = res.mapped_2m;
	a->skipped = res.skipped;
	a->retries = res.retries;
	return ret;
}

int spte_ioc_unmap(struct spte_mirror *m, void *arg)
{
	struct spte_mirror_range *a = arg;
	struct spte_walk_stats s;

	if (a->flags || spte_nonzero(a->reserved))
		return -EINVAL;
	if (!spte_range_ok(a->gpa, a->size))
		return -EINVAL;
	spte_stats_init(&s);
	spin_lock(&m->mmu_lock);
	/* may yield: no map can run, it would need m->lock */
	spte_zap_gpa(m, a->gpa, a->gpa + a->size, true, &s);
	spin_unlock(&m->mmu_lock);
	a->zapped = s.leaves;
	return 0;
}
