// SPDX-License-Identifier: GPL-2.0-only
/*
 * spte_mirror: device access (SPTE_MIRROR_ACCESS).  Reads and writes guest
 * memory the way a device behind this MMU would: through the table's
 * leaves only, setting their A and D bits, faulting in on a miss.
 */
#include <linux/highmem.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "mirror.h"

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
	/* a leaf skip_invalidate left behind: its page may be anyone's now */
	if (e & SPTE_EPT_STALE)
		return -ESTALE;
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

int spte_ioc_access(struct spte_mirror *m, void *arg)
{
	struct spte_mirror_access *a = arg;
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
	if (write) {
		ret = spte_check_writable(m, ALIGN_DOWN(gpa, PAGE_SIZE),
					  PAGE_ALIGN(end) - ALIGN_DOWN(gpa, PAGE_SIZE));
		if (ret)
			return ret;
	}
	bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	while (gpa < end) {
		size_t len = min_t(u64, end - gpa,
				   PAGE_SIZE - offset_in_page(gpa));
		int tries = 0;

		/* a large access is a long loop: let others in, and let go */
		cond_resched();
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
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
