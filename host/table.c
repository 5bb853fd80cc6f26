// SPDX-License-Identifier: GPL-2.0-only
/*
 * spte_mirror: the EPT-format table.  Its page cache, the iterator every
 * walk over it uses, and the operations on its entries: zap, age, lookup,
 * walk-and-allocate, set-leaf.  Everything but the cache top-up runs under
 * m->mmu_lock.
 */
#include <linux/build_bug.h>
#include <linux/gfp.h>
#include <linux/lockdep.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/swap.h>

#include "mirror.h"
#include "spte_mirror_trace.h"

static_assert(sizeof(u64) * SPTE_EPT_ENTRIES == PAGE_SIZE);

static bool spte_table_empty(const u64 *table)
{
	return !memchr_inv(table, 0, PAGE_SIZE);
}

/* ------------------------------------------------------------------ */
/* the iterator                                                       */

static void spte_iter_load(struct spte_iter *it)
{
	it->sptep = it->path[it->level - 1] + SPTE_EPT_INDEX(it->gpa, it->level);
	it->spte = READ_ONCE(*it->sptep);
}

/* Into the table the current entry points to, at the first GPA not done. */
static bool spte_iter_step_down(struct spte_iter *it)
{
	/* the loop body may have changed the entry: go by what is there now */
	u64 e = READ_ONCE(*it->sptep);

	if (!spte_ept_present(e) || spte_ept_is_leaf(e, it->level))
		return false;
	it->level--;
	it->path[it->level - 1] = spte_child(e);
	it->gpa = ALIGN_DOWN(it->next, SPTE_EPT_LEVEL_SIZE(it->level));
	spte_iter_load(it);
	return true;
}

/* To the next entry of the same table; everything before it is done. */
static bool spte_iter_step_side(struct spte_iter *it)
{
	if (SPTE_EPT_INDEX(it->gpa, it->level) == SPTE_EPT_ENTRIES - 1)
		return false;
	it->gpa += SPTE_EPT_LEVEL_SIZE(it->level);
	it->next = it->gpa;
	it->sptep++;
	it->spte = READ_ONCE(*it->sptep);
	return true;
}

/*
 * Back to the entry pointing to the current table.  Every table the walk
 * enters is left through here, after its last entry in range, so this is
 * where a pruning walk frees the tables it emptied: post-order, children
 * before parents, never the walk's root.
 */
static bool spte_iter_step_up(struct spte_iter *it)
{
	u64 *table = it->path[it->level - 1];

	if (it->level == it->root_level)
		return false;
	it->level++;
	it->gpa = ALIGN_DOWN(it->gpa, SPTE_EPT_LEVEL_SIZE(it->level));
	spte_iter_load(it);
	if (it->prune && spte_table_empty(table)) {
		WRITE_ONCE(*it->sptep, 0);
		free_page((unsigned long)table);
		it->m->table_pages[it->level - 2]--;
		it->spte = 0;
	}
	return true;
}

/* To the next entry in GPA order, without going down. */
static bool spte_iter_advance(struct spte_iter *it)
{
	while (!spte_iter_step_side(it))
		if (!spte_iter_step_up(it))
			return false;
	return true;
}

/* From the entry just loaded, on to the first present one in range. */
static void spte_iter_seek(struct spte_iter *it)
{
	for (;;) {
		if (it->gpa >= it->end) {
			/* climb back to the root: tables on the path get pruned */
			while (spte_iter_step_up(it))
				;
			break;
		}
		if (spte_ept_present(it->spte))
			return;
		if (!spte_iter_advance(it))
			break;
	}
	it->valid = false;
}

/*
 * Walk again from the root to @gpa and go on from there, as if everything
 * below @gpa had been visited.  For a walk whose tables may have changed
 * while mmu_lock was dropped: only the root is sure to still be there.
 */
void spte_iter_restart(struct spte_iter *it, u64 gpa)
{
	it->yielded = false;
	it->skip_below = false;
	it->yield_gpa = gpa;
	it->valid = gpa < it->end;
	if (!it->valid)
		return;
	it->next = gpa;
	it->level = it->root_level;
	it->gpa = ALIGN_DOWN(gpa, SPTE_EPT_LEVEL_SIZE(it->level));
	spte_iter_load(it);
	spte_iter_seek(it);
}

void spte_iter_start(struct spte_iter *it, struct spte_mirror *m, u64 *root,
		     unsigned int root_level, u64 start, u64 end, bool prune)
{
	u64 span = SPTE_EPT_ENTRIES * SPTE_EPT_LEVEL_SIZE(root_level);

	lockdep_assert_held(&m->mmu_lock);
	it->m = m;
	it->root_level = root_level;
	it->path[root_level - 1] = root;
	it->end = min(end, ALIGN_DOWN(start, span) + span);
	it->prune = prune;
	it->visits = 0;
	spte_iter_restart(it, start);
}

void spte_iter_next(struct spte_iter *it)
{
	if (it->yielded) {
		spte_iter_restart(it, it->next);
		return;
	}
	bool down = !it->skip_below && spte_iter_step_down(it);

	it->skip_below = false;
	if (down || spte_iter_advance(it))
		spte_iter_seek(it);
	else
		it->valid = false;
}

/*
 * For the top of the loop body of a walk over the whole table in a context
 * that may sleep.  Every SPTE_YIELD_BATCH entries, let a waiter for the
 * CPU or for mmu_lock in.  Returns true if mmu_lock was dropped: the body
 * must then leave the entry alone and "continue"; the walk resumes from
 * the root at the first GPA it had not finished, so the current entry is
 * visited again, as it is then.  Never twice at the same GPA: the walk
 * back down to it must not be all a walk ever does.
 */
bool spte_iter_cond_resched(struct spte_iter *it)
{
	lockdep_assert_held(&it->m->mmu_lock);
	if (++it->visits < SPTE_YIELD_BATCH || it->next == it->yield_gpa)
		return false;
	it->visits = 0;
	if (!cond_resched_lock(&it->m->mmu_lock))
		return false;
	it->yielded = true;
	return true;
}

/* ------------------------------------------------------------------ */
/* the table                                                          */

int spte_table_init(struct spte_mirror *m)
{
	m->root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!m->root)
		return -ENOMEM;
	m->table_pages[SPTE_EPT_LEVELS - 1] = 1;
	return 0;
}

/* With nothing else left to reach the table: file release, failed open. */
void spte_table_free(struct spte_mirror *m)
{
	struct spte_walk_stats s;

	spte_stats_init(&s);
	spin_lock(&m->mmu_lock);
	spte_zap_gpa(m, 0, SPTE_GPA_LIMIT, true, &s);
	spin_unlock(&m->mmu_lock);
	WARN_ON_ONCE(m->nr_leaves);
	free_page((unsigned long)m->root);
	while (m->nr_cache)
		free_page((unsigned long)m->cache[--m->nr_cache]);
}

int spte_cache_topup(struct spte_mirror *m)
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
 * A leaf going away takes its accessed bit with it.  Hand it to the page,
 * as KVM does with kvm_set_pfn_accessed(): khugepaged checks youth again
 * after its invalidation has zapped us (__collapse_huge_page_isolate), and
 * reclaim should not evict a page only the device used.
 */
static void spte_leaf_removed(struct spte_mirror *m, u64 e,
			      struct spte_walk_stats *s)
{
	unsigned long pfn = spte_ept_pfn(e);

	/*
	 * Not for a stale leaf (skip_invalidate): its page may have been
	 * freed and reused since the invalidation it outlived.
	 */
	if ((e & SPTE_EPT_A) && !(e & SPTE_EPT_STALE) && pfn_valid(pfn) &&
	    !PageReserved(pfn_to_page(pfn)))
		mark_page_accessed(pfn_to_page(pfn));
	if (s->first_pfn == SPTE_MIRROR_NONE)
		s->first_pfn = spte_ept_pfn(e);
	s->leaves++;
	m->nr_leaves--;
	atomic64_inc(&m->zapped);
}

/*
 * Remove every leaf overlapping [start, end) below @root (a table at
 * @level); a large leaf partly inside goes entirely, as in KVM.  Tables
 * left empty are freed, @root itself excepted.
 */
static void spte_zap_below(struct spte_mirror *m, u64 *root,
			   unsigned int level, u64 start, u64 end,
			   bool may_yield, struct spte_walk_stats *s)
{
	struct spte_iter it;

	for_each_spte_in(it, m, root, level, start, end, true) {
		if (may_yield && spte_iter_cond_resched(&it))
			continue;
		if (!spte_iter_is_leaf(&it))
			continue;
		WRITE_ONCE(*it.sptep, 0);
		spte_leaf_removed(m, it.spte, s);
	}
}

/*
 * Zap [start, end) of the table.  With @may_yield the caller may sleep and
 * the zap drops mmu_lock from time to time, so the caller must be sure
 * that nothing can map into the range meanwhile.
 */
void spte_zap_gpa(struct spte_mirror *m, u64 start, u64 end, bool may_yield,
		  struct spte_walk_stats *s)
{
	lockdep_assert_held(&m->mmu_lock);
	if (start < end)
		spte_zap_below(m, m->root, SPTE_EPT_LEVELS, start, end,
			       may_yield, s);
}

/*
 * skip_invalidate=1: instead of zapping the leaves overlapping [start,
 * end), mark them stale, so that the fault injection leaves the audit
 * something to find but nothing that reaches memory through them.
 */
void spte_mark_stale_gpa(struct spte_mirror *m, u64 start, u64 end,
			 struct spte_walk_stats *s)
{
	struct spte_iter it;

	for_each_spte_leaf(it, m, start, end) {
		s->leaves++;
		if (s->first_pfn == SPTE_MIRROR_NONE)
			s->first_pfn = spte_ept_pfn(it.spte);
		WRITE_ONCE(*it.sptep, it.spte | SPTE_EPT_STALE);
	}
}

/*
 * Count the present leaves overlapping [start, end), note whether any was
 * young and, with @clear, clear their A bit.  Runs under the primary's
 * page-table lock: never yields.
 */
void spte_age_gpa(struct spte_mirror *m, u64 start, u64 end, bool clear,
		  struct spte_walk_stats *s)
{
	struct spte_iter it;

	for_each_spte_leaf(it, m, start, end) {
		s->leaves++;
		if (!(it.spte & SPTE_EPT_A))
			continue;
		s->young = 1;
		if (clear)
			WRITE_ONCE(*it.sptep, it.spte & ~SPTE_EPT_A);
	}
}

/* Find the leaf mapping @gpa; returns a pointer to it or NULL. */
u64 *spte_lookup(struct spte_mirror *m, u64 gpa, unsigned int *level)
{
	u64 *table = m->root;
	unsigned int l;

	lockdep_assert_held(&m->mmu_lock);
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

/*
 * Walk to the entry for @gpa at @target level, creating tables from the
 * cache on the way and zapping a large leaf that is in the way.  NULL if
 * the cache ran dry, which the top-up before each chunk rules out.
 */
u64 *spte_walk_alloc(struct spte_mirror *m, u64 gpa, unsigned int target,
		     struct spte_walk_stats *s)
{
	u64 *table = m->root;
	unsigned int l;

	lockdep_assert_held(&m->mmu_lock);
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

/*
 * Make *@ep, at @level for @gpa, the leaf @e.  A table there (smaller
 * leaves, now replaced by a large one) is emptied and freed first.
 */
void spte_set_leaf(struct spte_mirror *m, u64 *ep, u64 e, unsigned int level,
		   u64 gpa, u64 hva, struct spte_walk_stats *s)
{
	u64 old = *ep;

	if (spte_ept_present(old) && !spte_ept_is_leaf(old, level)) {
		u64 *child = spte_child(old);

		spte_zap_below(m, child, level - 1, gpa,
			       gpa + SPTE_EPT_LEVEL_SIZE(level), false, s);
		free_page((unsigned long)child);
		m->table_pages[level - 2]--;
		old = 0;
	}
	if (spte_ept_present(old)) {
		/* refresh of the same translation keeps A/D */
		if (spte_ept_pfn(old) == spte_ept_pfn(e) &&
		    !(old & SPTE_EPT_STALE))
			e |= old & (SPTE_EPT_A | SPTE_EPT_D);
		m->nr_leaves--;
	}
	WRITE_ONCE(*ep, e);
	m->nr_leaves++;
	atomic64_inc(&m->installed);
	trace_spte_mirror_install(gpa, hva, e, level);
}
