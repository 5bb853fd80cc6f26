/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * spte_mirror - a demonstration secondary MMU: the module's private header.
 *
 * Each open file mirrors "slots" (gpa, hva, size) of one mm into an
 * EPT-format shadow table (GPA -> host PFN).  The table holds no page
 * references: it is kept coherent with the primary page tables only by an
 * mmu notifier, with a KVM-style invalidate sequence (in_progress + seq,
 * checked again under the table lock before installing anything).
 *
 * This header is the contract between the module's files: the per-file
 * state (struct spte_mirror) and what protects each part of it, the table
 * iterator, and every function one file calls in another.  Kernel-version
 * differences live in compat.h, nowhere else.
 *
 * Locking.  Three locks per open file; when more than one is held they are
 * taken in this order:  m->lock  ->  m->mmu_lock  ->  m->ev_lock.
 *
 *   m->lock      mutex.  Serialises the ioctls with each other and with
 *                file release.  It is held by the only path that installs
 *                leaves or allocates table pages (the map path and its page
 *                cache) and by every change to the slots, so a holder that
 *                does not map sees the set of leaves only shrink (DUMP sizes
 *                its buffer on that).  Holders may sleep:
 *                hmm_range_fault(), allocations, copies to and from user
 *                memory, mmu_interval_notifier_remove().  It nests outside
 *                the primary's mmap_lock (map and registration take that
 *                inside it), so notifier callbacks, which can run with
 *                mmap_lock held and are triggered by the map path's own
 *                faults, never take it.
 *
 *   m->mmu_lock  spinlock.  Protects the table (its entries, table_pages[],
 *                nr_leaves), the slots' visibility to notifiers
 *                (spte_slot.used) and the invalidate sequence (inv_*).  A
 *                spinlock because ->change_pte and the young callbacks run
 *                under the primary page-table lock, so nothing may sleep
 *                while holding it; for the same reason invalidate_range_start
 *                never has to fail with -EAGAIN in a non-blockable context.
 *                The big zaps of contexts that may sleep (file release,
 *                ->release, slot removal, UNMAP, blockable
 *                invalidate_range_start) give it up now and then through
 *                spte_iter_cond_resched() and walk again from the root; no
 *                other context ever drops it in the middle of a walk.
 *
 *   m->ev_read_lock  mutex.  One reader at a time between taking records
 *                from the ring and consuming them once copy_to_user() is
 *                done; LOG_CONFIG takes it (inside m->lock) to swap the
 *                ring.  Never taken by notifier callbacks.
 *
 *   m->ev_lock   spinlock.  Protects the event ring and its counters.  The
 *                innermost lock: events are logged after mmu_lock has been
 *                dropped, so the two are not held together today, and code
 *                that ever needs both must take ev_lock inside mmu_lock.
 *                Taken from notifier callbacks under the primary
 *                page-table lock, so never held across anything that sleeps.
 *
 * No lock is taken from interrupt context.  Counters that are only
 * statistics are atomics and need no lock.
 */
#ifndef SPTE_MIRROR_H
#define SPTE_MIRROR_H

#include <linux/atomic.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/wait.h>

#include <uapi/linux/spte_mirror.h>
#include <spte/ept.h>

#include "compat.h"

#define SPTE_MAX_SLOTS		32
#define SPTE_CHUNK_PAGES	512	/* one 2M region per hmm_range_fault */
#define SPTE_CACHE_PAGES	3	/* PDPT + PD + PT for one chunk */
#define SPTE_LOG_DEFAULT	4096
#define SPTE_LOG_MAX		(1U << 20)
#define SPTE_READ_BATCH		64
#define SPTE_GPA_LIMIT		(1ULL << SPTE_EPT_GPA_BITS)
#define SPTE_2M_PAGES		512
#define SPTE_2M_SIZE		(SPTE_2M_PAGES * PAGE_SIZE)
/* entries a zap that may sleep visits between two looks at need_resched */
#define SPTE_YIELD_BATCH	64

/* TEST ONLY (module parameter skip_invalidate): leave stale leaves */
extern bool spte_skip_invalidate;

struct spte_mirror;

struct spte_slot {
	struct spte_mirror *m;
	struct mmu_interval_notifier notifier;
	/* set under m->lock before the slot becomes visible */
	u64 gpa;
	u64 hva;
	u64 size;
	u64 flags;
	u64 id;
	bool used;		/* visible to notifiers; under mmu_lock */
};

struct spte_mirror {
	struct mm_struct *owner_mm;	/* ioctls only from this mm */
	struct mm_struct *mm;		/* the mirrored mm; under lock */
	struct mmu_notifier mn;
#ifdef SPTE_NEED_TLB_SUBSCRIPTION
	/* ->arch_invalidate_secondary_tlbs alone; lives and dies with mn */
	struct mmu_notifier tlb_mn;
#endif
	bool registered;		/* under lock */

	struct mutex lock;		/* see "Locking" above */
	spinlock_t mmu_lock;		/* see "Locking" above */

	/* the table and the invalidate sequence: under mmu_lock */
	u64 *root;
	unsigned long table_pages[SPTE_EPT_LEVELS];	/* [l - 1]: level l */
	unsigned long nr_leaves;
	unsigned long inv_seq;
	long inv_in_progress;
	unsigned long inv_start;
	unsigned long inv_end;

	struct spte_slot slots[SPTE_MAX_SLOTS];
	u64 next_slot_id;		/* under lock */

	void *cache[SPTE_CACHE_PAGES];	/* under lock */
	int nr_cache;

	atomic64_t cb_count[SPTE_CB_NR];
	atomic64_t faults;
	atomic64_t retries;
	atomic64_t installed;
	atomic64_t zapped;

	/* the event ring: under ev_lock */
	spinlock_t ev_lock;
	struct mutex ev_read_lock;	/* one reader at a time, see spte_read() */		/* see "Locking" above */
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

static inline void spte_stats_init(struct spte_walk_stats *s)
{
	s->leaves = 0;
	s->first_pfn = SPTE_MIRROR_NONE;
	s->young = 0;
}

/* What one MAP did, reported back through struct spte_mirror_map. */
struct spte_map_result {
	u64 mapped_4k;
	u64 mapped_2m;
	u64 skipped;
	u64 retries;
};

/* ABI argument checks shared by the ioctl handlers. */
#define spte_nonzero(field) (memchr_inv(&(field), 0, sizeof(field)) != NULL)

static inline bool spte_range_ok(u64 start, u64 size)
{
	return size && PAGE_ALIGNED(start) && PAGE_ALIGNED(size) &&
	       start + size > start && start + size <= SPTE_GPA_LIMIT;
}

/* ---- table.c: the EPT table ---- */

/*
 * A pre-order walk over the table: visits every present entry, table
 * entries before the tables they point to, whose GPA span overlaps
 * [start, end), in GPA order.  All under mmu_lock.
 *
 * The loop body may change the entry it is at (clear a leaf, clear A):
 * the iterator looks at the entry again before stepping down into it.  A
 * walk started with @prune frees every table it leaves empty, on its way
 * back up (post-order), and unlinks it from its parent.
 */
struct spte_iter {
	struct spte_mirror *m;
	u64 *path[SPTE_EPT_LEVELS];	/* [l - 1]: the table at level l */
	u64 *sptep;		/* the current entry */
	u64 spte;		/* its value when the walk got there */
	u64 gpa;		/* first GPA the current entry maps */
	u64 next;		/* first GPA not yet done: where a restart resumes */
	u64 end;
	u64 yield_gpa;		/* next when the walk last (re)started */
	unsigned int level;	/* of the current entry */
	unsigned int root_level;
	unsigned int visits;	/* since the last look at need_resched */
	bool prune;
	bool yielded;		/* mmu_lock was dropped: restart before going on */
	bool skip_below;	/* the body did the current table entry's table */
	bool valid;
};

void spte_iter_start(struct spte_iter *it, struct spte_mirror *m, u64 *root,
		     unsigned int root_level, u64 start, u64 end, bool prune);
void spte_iter_next(struct spte_iter *it);
void spte_iter_restart(struct spte_iter *it, u64 gpa);
bool spte_iter_cond_resched(struct spte_iter *it);

static inline bool spte_iter_is_leaf(const struct spte_iter *it)
{
	return spte_ept_is_leaf(it->spte, it->level);
}

/*
 * The loop body handled the table the current (non-leaf) entry points to
 * itself, in a tighter loop than the iterator's: do not step into it.
 */
static inline void spte_iter_skip_below(struct spte_iter *it)
{
	it->skip_below = true;
}

/* The table a non-leaf entry points to. */
static inline u64 *spte_child(u64 e)
{
	return __va(e & SPTE_EPT_PFN_MASK);
}

/* The walk below @root, a table at @level, from @start up to @end. */
#define for_each_spte_in(it, m, root, level, start, end, prune)		\
	for (spte_iter_start(&(it), m, root, level, start, end, prune);	\
	     (it).valid; spte_iter_next(&(it)))

/* The walk over the whole table, from @start up to @end. */
#define for_each_spte(it, m, start, end)				\
	for_each_spte_in(it, m, (m)->root, SPTE_EPT_LEVELS, start, end, false)

/* Walk on past table entries: to the next leaf, or to the walk's end. */
static inline void spte_iter_to_leaf(struct spte_iter *it)
{
	while (it->valid && !spte_iter_is_leaf(it))
		spte_iter_next(it);
}

/*
 * The leaves of the table overlapping [@start, @end), in GPA order; the
 * body sees no table entry.  Same locking as for_each_spte().
 */
#define for_each_spte_leaf(it, m, start, end)				\
	for (spte_iter_start(&(it), m, (m)->root, SPTE_EPT_LEVELS,	\
			     start, end, false), spte_iter_to_leaf(&(it));	\
	     (it).valid; spte_iter_next(&(it)), spte_iter_to_leaf(&(it)))

int spte_table_init(struct spte_mirror *m);
void spte_table_free(struct spte_mirror *m);
int spte_cache_topup(struct spte_mirror *m);
void spte_zap_gpa(struct spte_mirror *m, u64 start, u64 end, bool may_yield,
		  struct spte_walk_stats *s);
void spte_age_gpa(struct spte_mirror *m, u64 start, u64 end, bool clear,
		  struct spte_walk_stats *s);
void spte_mark_stale_gpa(struct spte_mirror *m, u64 start, u64 end,
			 struct spte_walk_stats *s);
u64 *spte_lookup(struct spte_mirror *m, u64 gpa, unsigned int *level);
u64 *spte_walk_alloc(struct spte_mirror *m, u64 gpa, unsigned int target,
		     struct spte_walk_stats *s);
void spte_set_leaf(struct spte_mirror *m, u64 *ep, u64 e, unsigned int level,
		   u64 gpa, u64 hva, struct spte_walk_stats *s);

/* ---- slots.c: slots and GPA <-> HVA ---- */

static inline u64 spte_slot_hva(const struct spte_slot *sl, u64 gpa)
{
	return sl->hva + (gpa - sl->gpa);
}

/* What spte_hva_range() does to the GPAs behind an HVA range. */
enum spte_hva_op {
	SPTE_HVA_FIND,		/* nothing: only report what was hit */
	SPTE_HVA_ZAP,		/* zap, never dropping mmu_lock */
	SPTE_HVA_ZAP_MAY_YIELD,	/* zap; the caller may sleep */
	SPTE_HVA_TEST_YOUNG,	/* count leaves, note if any is young */
	SPTE_HVA_CLEAR_YOUNG,	/* the same, clearing A on the way */
	SPTE_HVA_MARK_STALE,	/* skip_invalidate: mark leaves, keep them */
};

struct spte_slot *spte_find_slot(struct spte_mirror *m, u64 gpa);
int spte_check_vmas(struct mm_struct *mm, unsigned long start,
		    unsigned long end);
int spte_check_writable(struct spte_mirror *m, u64 gpa, u64 size);
bool spte_has_slots(struct spte_mirror *m);
bool spte_hva_range(struct spte_mirror *m, unsigned long start,
		    unsigned long end, enum spte_hva_op op,
		    struct spte_mirror_event *ev, struct spte_walk_stats *s);
unsigned long spte_chunk_pages(struct spte_slot *sl, u64 gpa, u64 end);
void spte_remove_slot(struct spte_mirror *m, struct spte_slot *sl);
int spte_ioc_add_slot(struct spte_mirror *m, void *arg);
int spte_ioc_del_slot(struct spte_mirror *m, void *arg);

/* ---- notifier.c: mmu notifier and interval notifiers ---- */

int spte_notifier_register(struct spte_mirror *m);
void spte_notifier_unregister(struct spte_mirror *m);
int spte_interval_insert(struct spte_mirror *m, struct spte_slot *sl);
u64 spte_callbacks_present(void);

/* ---- fault.c: filling the table from the primary MMU ---- */

struct hmm_range;
unsigned long spte_chunk_range(struct hmm_range *range, struct spte_slot *sl,
			       u64 gpa, unsigned long npages,
			       unsigned long *pfns);
int spte_map_range(struct spte_mirror *m, u64 gpa, u64 size, u64 flags,
		   struct spte_map_result *res);
int spte_ioc_map(struct spte_mirror *m, void *arg);
int spte_ioc_unmap(struct spte_mirror *m, void *arg);

/* ---- access.c: device access ---- */

int spte_ioc_access(struct spte_mirror *m, void *arg);

/* ---- events.c: the event ring ---- */

int spte_events_init(struct spte_mirror *m);
void spte_events_free(struct spte_mirror *m);
u32 spte_event_code(enum mmu_notifier_event event);
void spte_event_init(struct spte_mirror_event *ev, u32 cb,
		     unsigned long start, unsigned long end);
void spte_log(struct spte_mirror *m, struct spte_mirror_event *ev);
ssize_t spte_read(struct file *file, char __user *buf, size_t count,
		  loff_t *ppos);
__poll_t spte_poll(struct file *file, poll_table *wait);
int spte_ioc_log_config(struct spte_mirror *m, void *arg);

/* ---- inspect.c: dump, counters, audit ---- */

int spte_ioc_dump(struct spte_mirror *m, void *arg);
int spte_ioc_counters(struct spte_mirror *m, void *arg);
int spte_ioc_audit(struct spte_mirror *m, void *arg);

#endif /* SPTE_MIRROR_H */
