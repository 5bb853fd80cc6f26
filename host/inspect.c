// SPDX-License-Identifier: GPL-2.0-only
/*
 * spte_mirror: looking at the mirror from outside.  DUMP copies out every
 * leaf, COUNTERS the statistics, AUDIT compares each leaf with what the
 * primary page tables map now.  None of them changes the table.
 */
#include <linux/hmm.h>
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "mirror.h"

/* Leaves written per hold of mmu_lock: 128 KiB of output. */
#define SPTE_DUMP_BATCH		4096
/*
 * Whole dumps restarted because the table changed under them, and faults
 * on the caller's buffer that made no progress, before giving up.
 */
#define SPTE_DUMP_TRIES		8

/*
 * DUMP writes each leaf straight into the caller's buffer, under mmu_lock
 * with page faults disabled: one pass over the table and no bounce buffer
 * (copying one out cost ten times the walk).  A write that would fault
 * ends the batch; the ioctl faults the buffer in without the lock and
 * goes on from the leaf that was not written.
 */
struct spte_dump_out {
	struct spte_mirror *m;
	struct spte_mirror_leaf __user *leaves;	/* the batch's first */
	struct spte_slot *sl;	/* of the last leaf: the next is likely in it */
	u64 n;
	u64 max;
};

/* Write one leaf: -ENOSPC if the batch is full, -EFAULT if it would fault. */
static int spte_dump_emit(struct spte_dump_out *o, u64 gpa, u64 e,
			  unsigned int level)
{
	struct spte_mirror_leaf __user *u = o->leaves + o->n;
	u64 hva = 0;
	u32 id = 0;

	if (o->n == o->max)
		return -ENOSPC;
	if (!o->sl || gpa - o->sl->gpa >= o->sl->size)
		o->sl = spte_find_slot(o->m, gpa);
	if (o->sl) {
		hva = spte_slot_hva(o->sl, gpa);
		id = o->sl->id;
	}
	if (!user_write_access_begin(u, sizeof(*u)))
		return -EFAULT;
	unsafe_put_user(gpa, &u->gpa, efault);
	unsafe_put_user(hva, &u->hva, efault);
	unsafe_put_user(e, &u->entry, efault);
	unsafe_put_user(level, &u->level, efault);
	unsafe_put_user(id, &u->slot, efault);
	user_write_access_end();
	o->n++;
	return 0;
efault:
	user_write_access_end();
	return -EFAULT;
}

/*
 * The 4K leaves of the page table @pt, which maps GPAs from @base, from
 * entry @first on.  Nearly all of a big mirror is in such tables, so this
 * is the loop that sets the dump's speed: when one slot covers the whole
 * table and the batch has room for all of it, the slot's offset and id
 * are hoisted out and the table is written in one user access window.
 * On -ENOSPC or -EFAULT *@cursor is the GPA of the first leaf not written.
 */
static int spte_dump_table(struct spte_dump_out *o, const u64 *pt, u64 base,
			   unsigned int first, u64 *cursor)
{
	struct spte_mirror_leaf __user *u = o->leaves + o->n;
	struct spte_slot *sl = spte_find_slot(o->m, base);
	unsigned int i, nr = SPTE_EPT_ENTRIES - first;
	u64 delta;
	u32 id;
	int ret;

	if (!sl || sl->gpa + sl->size < base + SPTE_2M_SIZE ||
	    o->max - o->n < nr) {
		/* slots start or end inside, or the batch does: leaf by leaf */
		for (i = first; i < SPTE_EPT_ENTRIES; i++) {
			u64 e = READ_ONCE(pt[i]);
			u64 gpa = base + ((u64)i << PAGE_SHIFT);

			if (!spte_ept_present(e))
				continue;
			ret = spte_dump_emit(o, gpa, e, 1);
			if (ret) {
				*cursor = gpa;
				return ret;
			}
		}
		return 0;
	}
	delta = sl->hva - sl->gpa;
	id = sl->id;
	i = first;
	if (!user_write_access_begin(u, nr * sizeof(*u)))
		goto out;
	for (; i < SPTE_EPT_ENTRIES; i++) {
		u64 e = READ_ONCE(pt[i]);
		u64 gpa = base + ((u64)i << PAGE_SHIFT);

		if (!spte_ept_present(e))
			continue;
		unsafe_put_user(gpa, &u->gpa, efault);
		unsafe_put_user(gpa + delta, &u->hva, efault);
		unsafe_put_user(e, &u->entry, efault);
		unsafe_put_user(1, &u->level, efault);
		unsafe_put_user(id, &u->slot, efault);
		u++;
	}
	user_write_access_end();
	o->n = u - o->leaves;
	o->sl = sl;
	return 0;
efault:
	user_write_access_end();
out:
	/* the leaves before u are whole; entry i is the one not written */
	o->n = u - o->leaves;
	*cursor = base + ((u64)i << PAGE_SHIFT);
	return -EFAULT;
}

/*
 * Write up to @max leaves at GPAs >= *@cursor to @out, under one hold of
 * mmu_lock.  *@cursor becomes the GPA of the first leaf not written, or
 * SPTE_MIRROR_NONE if the walk reached the end; *@seq is the invalidate
 * sequence of this hold, *@n how many were written.  0, or -EFAULT if the
 * buffer at @out + *@n must be faulted in first.
 */
static int spte_dump_batch(struct spte_mirror *m, u64 *cursor, u64 max,
			   struct spte_mirror_leaf __user *out, u64 *seq,
			   u64 *n)
{
	struct spte_dump_out o = { .m = m, .leaves = out, .max = max };
	struct spte_iter it;
	int ret = 0;

	spin_lock(&m->mmu_lock);
	*seq = m->inv_seq;
	pagefault_disable();
	for_each_spte(it, m, *cursor, SPTE_GPA_LIMIT) {
		/* a page table: its 512 entries in one tight loop */
		if (it.level == 2 && !spte_iter_is_leaf(&it)) {
			unsigned int first = 0;

			/* leaves at GPAs >= the cursor, which may be unaligned */
			if (it.gpa < *cursor)
				first = SPTE_EPT_INDEX(*cursor, 1) +
					!PAGE_ALIGNED(*cursor);
			ret = spte_dump_table(&o, spte_child(it.spte), it.gpa,
					      first, cursor);
			if (ret)
				goto out;
			spte_iter_skip_below(&it);
			continue;
		}
		/* a large leaf the cursor points into began before it */
		if (!spte_iter_is_leaf(&it) || it.gpa < *cursor)
			continue;
		ret = spte_dump_emit(&o, it.gpa, it.spte, it.level);
		if (ret) {
			*cursor = it.gpa;
			goto out;
		}
	}
	*cursor = SPTE_MIRROR_NONE;
out:
	pagefault_enable();
	spin_unlock(&m->mmu_lock);
	*n = o.n;
	return ret == -ENOSPC ? 0 : ret;
}

/*
 * DUMP walks the table in batches, so no dump holds mmu_lock (which
 * notifier callbacks wait for under the primary's page-table locks) for
 * more than SPTE_DUMP_BATCH leaves.  Without SPTE_DUMP_CURSOR the result
 * must still be one point in time: a batch that saw another invalidate
 * sequence than the first starts the dump again.
 */
int spte_ioc_dump(struct spte_mirror *m, void *arg)
{
	struct spte_mirror_dump *a = arg;
	struct spte_mirror_leaf __user *uleaves = u64_to_user_ptr(a->leaves);
	bool cursor_mode = a->flags & SPTE_DUMP_CURSOR;
	u64 want = a->count, done, cursor, seq, first_seq = 0;
	int i, tries = 0, stuck, ret = 0;

	if ((a->flags & ~SPTE_DUMP_FLAGS) || spte_nonzero(a->reserved))
		return -EINVAL;
	if (!cursor_mode && (a->start || a->next))
		return -EINVAL;
	a->count = 0;
	a->next = SPTE_MIRROR_NONE;
	/* only this (mutex-holding) path adds leaves: the count can only drop */
	spin_lock(&m->mmu_lock);
	a->needed = m->nr_leaves;
	for (i = 0; i < SPTE_EPT_LEVELS; i++)
		a->table_pages[i] = m->table_pages[i];
	a->seq = m->inv_seq;
	spin_unlock(&m->mmu_lock);
	if (!cursor_mode && a->needed > want)
		return -E2BIG;

restart:
	cursor = cursor_mode ? a->start : 0;
	done = 0;
	stuck = 0;
	while (done < want && cursor != SPTE_MIRROR_NONE) {
		u64 batch = min_t(u64, want - done, SPTE_DUMP_BATCH), n;

		ret = spte_dump_batch(m, &cursor, batch, uleaves + done, &seq,
				      &n);
		if (!done) {
			first_seq = seq;
		} else if (!cursor_mode && seq != first_seq) {
			if (++tries >= SPTE_DUMP_TRIES) {
				ret = -EAGAIN;
				goto out;
			}
			goto restart;
		}
		done += n;
		if (ret == -EFAULT) {
			size_t left = (batch - n) * sizeof(*uleaves);

			/* reclaim taking the pages back as fast as we fault */
			stuck = n ? 0 : stuck + 1;
			if (stuck >= SPTE_DUMP_TRIES) {
				ret = -EAGAIN;
				goto out;
			}
			/* not even the next leaf's bytes can be made writable */
			if (fault_in_writeable((char __user *)(uleaves + done),
					       left) > left - sizeof(*uleaves))
				goto out;
			ret = 0;
		}
		cond_resched();
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto out;
		}
	}
	a->count = done;
	if (done)
		a->seq = first_seq;
	if (cursor_mode)
		a->next = cursor;
	else
		a->needed = done;
out:
	return ret;
}

int spte_ioc_counters(struct spte_mirror *m, void *arg)
{
	struct spte_mirror_counters *a = arg;
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

/*
 * An audited chunk is 2M-aligned and a 2M leaf lies inside one: a leaf
 * only overlapping [@start, @end) belongs to the chunk next door.
 */
static bool spte_leaf_inside(const struct spte_iter *it, u64 start, u64 end)
{
	return it->gpa >= start &&
	       it->gpa + SPTE_EPT_LEVEL_SIZE(it->level) <= end;
}

/* The leaves inside [start, end), whose primary pfns are @pfns. */
static void spte_audit_range(struct spte_mirror *m,
			     struct spte_mirror_audit *a, u64 start, u64 end,
			     const unsigned long *pfns)
{
	struct spte_iter it;

	for_each_spte_leaf(it, m, start, end) {
		if (!spte_leaf_inside(&it, start, end))
			continue;
		spte_audit_leaf(a, it.gpa, it.spte, it.level,
				&pfns[(it.gpa - start) >> PAGE_SHIFT]);
	}
}

/*
 * Is a leaf of [@start, @end) over a page the snapshot found no VMA for
 * (HMM_PFN_ERROR)?  Caller holds mmu_lock.
 */
static bool spte_audit_leaf_in_hole(struct spte_mirror *m, u64 start,
				    u64 end, const unsigned long *pfns)
{
	struct spte_iter it;
	unsigned long i, n;

	for_each_spte_leaf(it, m, start, end) {
		if (!spte_leaf_inside(&it, start, end))
			continue;
		n = it.level == 2 ? SPTE_2M_PAGES : 1;
		for (i = 0; i < n; i++)
			if (pfns[((it.gpa - start) >> PAGE_SHIFT) + i] &
			    HMM_PFN_ERROR)
				return true;
	}
	return false;
}

static int spte_audit_chunk(struct spte_mirror *m, struct spte_slot *sl,
			    u64 gpa, unsigned long npages,
			    unsigned long *pfns, struct spte_mirror_audit *a)
{
	struct hmm_range range;
	unsigned long timeout = spte_chunk_range(&range, sl, gpa, npages, pfns);
	bool settled = false;
	int ret;

	for (;;) {
		if (fatal_signal_pending(current))
			return -EINTR;
		if (time_after(jiffies, timeout))
			return -EBUSY;
		range.notifier_seq = mmu_interval_read_begin(range.notifier);
		if (mmap_read_lock_killable(m->mm))
			return -EINTR;
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
		/*
		 * munmap(2) detaches the VMAs under the write lock, downgrades
		 * it and only then zaps the page tables and calls the
		 * notifiers (do_mas_align_munmap() on 6.1,
		 * vms_complete_munmap_vmas() on 6.12): a snapshot in between
		 * finds no VMA over leaves that are about to go, with the
		 * interval sequence not moved yet.  Such a leaf is not stale,
		 * only early: wait for every munmap in flight to finish (it
		 * holds the read lock to the end, so the write lock waits for
		 * it) and look again.  A leaf still over a hole is stale.
		 */
		if (!settled && spte_audit_leaf_in_hole(m, gpa,
					gpa + npages * PAGE_SIZE, pfns)) {
			spin_unlock(&m->mmu_lock);
			if (mmap_write_lock_killable(m->mm))
				return -EINTR;
			mmap_write_unlock(m->mm);
			settled = true;
			continue;
		}
		spte_audit_range(m, a, gpa, gpa + npages * PAGE_SIZE, pfns);
		spin_unlock(&m->mmu_lock);
		return 0;
	}
}

int spte_ioc_audit(struct spte_mirror *m, void *arg)
{
	struct spte_mirror_audit *a = arg;
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
