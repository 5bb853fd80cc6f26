// SPDX-License-Identifier: GPL-2.0-only
/*
 * spte_mirror: slots, the (gpa, hva, size) ranges of the mm that are
 * mirrored, and the translation between GPAs and HVAs they define.  Adding
 * and removing slots (ADD_SLOT / DEL_SLOT), finding the slot of a GPA, and
 * turning an HVA range from a notifier into the GPA ranges it hits.
 */
#include <linux/fs.h>
#include <linux/hugetlb.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/shmem_fs.h>

#include "mirror.h"

struct spte_slot *spte_find_slot(struct spte_mirror *m, u64 gpa)
{
	int i;

	for (i = 0; i < SPTE_MAX_SLOTS; i++) {
		struct spte_slot *sl = &m->slots[i];

		if (sl->used && gpa >= sl->gpa && gpa - sl->gpa < sl->size)
			return sl;
	}
	return NULL;
}

bool spte_has_slots(struct spte_mirror *m)
{
	int i;

	for (i = 0; i < SPTE_MAX_SLOTS; i++)
		if (m->slots[i].used)
			return true;
	return false;
}

/* The GPAs [*gs, *ge) that @sl maps for HVAs [start, end), if any. */
static bool spte_slot_gpas(const struct spte_slot *sl, unsigned long start,
			   unsigned long end, u64 *gs, u64 *ge)
{
	u64 hs = max_t(u64, start, sl->hva);
	u64 he = min_t(u64, end, sl->hva + sl->size);

	if (hs >= he)
		return false;
	*gs = sl->gpa + (hs - sl->hva);
	*ge = sl->gpa + (he - sl->hva);
	return true;
}

/*
 * For an HVA range, apply @op to the GPAs of every slot it intersects,
 * and report the GPA span hit in @ev.  Returns whether any slot was hit.
 * Caller holds mmu_lock; with SPTE_HVA_ZAP_MAY_YIELD the zap may drop it
 * between two slots' worth of entries (see spte_zap_gpa()).
 */
bool spte_hva_range(struct spte_mirror *m, unsigned long start,
		    unsigned long end, enum spte_hva_op op,
		    struct spte_mirror_event *ev, struct spte_walk_stats *s)
{
	bool hit = false;
	int i;

	for (i = 0; i < SPTE_MAX_SLOTS; i++) {
		struct spte_slot *sl = &m->slots[i];
		u64 gs, ge;

		if (!sl->used || !spte_slot_gpas(sl, start, end, &gs, &ge))
			continue;
		if (ev) {
			if (!hit || gs < ev->gpa_start)
				ev->gpa_start = gs;
			if (!hit || ge > ev->gpa_end)
				ev->gpa_end = ge;
		}
		hit = true;
		switch (op) {
		case SPTE_HVA_FIND:
			break;
		case SPTE_HVA_ZAP:
			spte_zap_gpa(m, gs, ge, false, s);
			break;
		case SPTE_HVA_ZAP_MAY_YIELD:
			spte_zap_gpa(m, gs, ge, true, s);
			break;
		case SPTE_HVA_TEST_YOUNG:
			spte_age_gpa(m, gs, ge, false, s);
			break;
		case SPTE_HVA_CLEAR_YOUNG:
			spte_age_gpa(m, gs, ge, true, s);
			break;
		case SPTE_HVA_MARK_STALE:
			spte_mark_stale_gpa(m, gs, ge, s);
			break;
		}
	}
	if (hit && ev)
		ev->flags |= SPTE_EVF_IN_SLOT;
	return hit;
}

/*
 * -EPERM if a READONLY slot lies under [gpa, gpa + size): a write MAP or
 * ACCESS fails before it faults anything in (a write fault would break COW
 * and KSM sharing in the primary for a device that may never write).
 */
int spte_check_writable(struct spte_mirror *m, u64 gpa, u64 size)
{
	int i;

	for (i = 0; i < SPTE_MAX_SLOTS; i++) {
		struct spte_slot *sl = &m->slots[i];

		if (sl->used && (sl->flags & SPTE_SLOT_READONLY) &&
		    gpa < sl->gpa + sl->size && sl->gpa < gpa + size)
			return -EPERM;
	}
	return 0;
}

/* Chunk length (pages) starting at @gpa within @sl and below @end. */
unsigned long spte_chunk_pages(struct spte_slot *sl, u64 gpa, u64 end)
{
	u64 stop = min(end, sl->gpa + sl->size);

	stop = min(stop, ALIGN_DOWN(gpa, SPTE_2M_SIZE) + SPTE_2M_SIZE);
	return (stop - gpa) >> PAGE_SHIFT;
}

/*
 * Memory a device may reach through the mirror: anonymous memory, shmem
 * (memfd, shared anonymous, tmpfs) and hugetlbfs, whose pages are in the
 * direct map and are ordinary LRU or hugetlb pages.  Not memfd_secret
 * (taken out of the direct map: kmap_local_page() of one faults), not
 * VM_IO / VM_PFNMAP / VM_MIXEDMAP (no struct page to speak of), not DAX,
 * not other files' page cache.
 */
static bool spte_vma_reachable(struct vm_area_struct *vma)
{
	if (vma->vm_flags & (VM_IO | VM_PFNMAP | VM_MIXEDMAP))
		return false;
	if (vma_is_dax(vma))
		return false;
	return vma_is_anonymous(vma) || is_vm_hugetlb_page(vma) ||
	       shmem_file(vma->vm_file);
}

/*
 * -EOPNOTSUPP if any VMA in [start, end) holds memory a device may not
 * reach; holes are left to the fault path.  Caller holds the mmap_lock.
 */
int spte_check_vmas(struct mm_struct *mm, unsigned long start,
		    unsigned long end)
{
	struct vm_area_struct *vma;

	/*
	 * Not mmap_assert_locked(): its VM_BUG_ON_MM() calls dump_mm(), which
	 * 6.1 does not export, so with CONFIG_DEBUG_VM the module would not
	 * link there (6.12 exports it).  Lockdep checks the same.
	 */
	lockdep_assert_held(&mm->mmap_lock);
	for (vma = find_vma(mm, start); vma && vma->vm_start < end;
	     vma = find_vma(mm, vma->vm_end)) {
		if (!spte_vma_reachable(vma))
			return -EOPNOTSUPP;
	}
	return 0;
}

int spte_ioc_add_slot(struct spte_mirror *m, void *arg)
{
	struct spte_mirror_slot *a = arg;
	struct spte_slot *sl = NULL;
	int i, ret;

	if ((a->flags & ~SPTE_SLOT_FLAGS) || spte_nonzero(a->reserved))
		return -EINVAL;
	if (!spte_range_ok(a->gpa, a->size) || !PAGE_ALIGNED(a->hva) ||
	    a->hva + a->size < a->hva)
		return -EINVAL;
	/* DUMP reports a leaf's slot id in 32 bits */
	if (m->next_slot_id >= U32_MAX)
		return -ENOSPC;
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

	if (!mmget_not_zero(m->mm))
		return -ESRCH;
	/* the mirrored mm's limit, which ATTACH may have made another's */
	if (a->hva + a->size > m->mm->task_size) {
		ret = -EINVAL;
		goto out_mmput;
	}
	mmap_read_lock(m->mm);
	ret = spte_check_vmas(m->mm, a->hva, a->hva + a->size);
	mmap_read_unlock(m->mm);
	if (ret)
		goto out_mmput;
	ret = spte_notifier_register(m);
	if (ret)
		goto out_mmput;
	memset(sl, 0, sizeof(*sl));
	sl->m = m;
	sl->gpa = a->gpa;
	sl->hva = a->hva;
	sl->size = a->size;
	sl->flags = a->flags;
	sl->id = ++m->next_slot_id;
	ret = spte_interval_insert(m, sl);
out_mmput:
	mmput(m->mm);
	if (ret)
		return ret;
	spin_lock(&m->mmu_lock);
	sl->used = true;
	spin_unlock(&m->mmu_lock);
	a->id = sl->id;
	return 0;
}

/*
 * Zap the slot's GPAs and hide it from notifiers, then drop its interval
 * notifier.  mmu_interval_notifier_remove() waits while an invalidation
 * that hit any slot is still running, so a slot is not reused under an
 * invalidate_range_start that yielded in the middle of its zap.  Caller
 * holds m->lock, or is file release.
 */
void spte_remove_slot(struct spte_mirror *m, struct spte_slot *sl)
{
	struct spte_walk_stats s;

	spte_stats_init(&s);
	spin_lock(&m->mmu_lock);
	/* no map can run: it would need m->lock */
	spte_zap_gpa(m, sl->gpa, sl->gpa + sl->size, true, &s);
	sl->used = false;
	m->inv_seq++;
	spin_unlock(&m->mmu_lock);
	mmu_interval_notifier_remove(&sl->notifier);
}

int spte_ioc_del_slot(struct spte_mirror *m, void *arg)
{
	struct spte_mirror_slot *a = arg;
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
