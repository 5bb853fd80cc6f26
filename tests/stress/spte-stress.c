// SPDX-License-Identifier: GPL-2.0-only
/*
 * spte-stress: hostile and concurrent use of spte_mirror.ko, run inside the
 * lab VM:
 *
 *   spte lab --numa 2 --cmdline secretmem.enable=1 \
 *            --add build/tests/stress/spte-stress -- spte-stress --seconds 60
 *
 * Three mirrors are open at once.  A and B have slots over a "chaos"
 * region; C has three views (a slot, an alias and a READONLY alias) of the
 * checker's region, plus slots of its own over the chaos region.  Worker
 * threads issue random and malformed ioctls on them (several share A; C's
 * worker never changes what the checker relies on), readers drain their
 * event logs while the workers resize them, and other threads churn the
 * memory behind the slots: mprotect, madvise, MAP_FIXED, mremap, KSM, THP
 * collapse, move_pages(2), soft-dirty clearing, fork, ATTACH to children
 * that exit or exec under the ioctls.  Two checker threads each are the
 * only writer of one half of the checker's region: they keep a copy of
 * what every byte must be and compare device reads and writes through the
 * mirror with the CPU's view, across their own DONTNEED, MAP_FIXED,
 * mprotect, munmap, fork, THP, hugetlb and secretmem steps.
 *
 * Every call's result is compared with the results the ABI (docs/uapi.md)
 * or the kernel allows for that call and counted by errno.  Event records
 * and counters are judged by what SPTE_MIRROR_VERSION reports: the
 * callbacks the module registers (no change_pte from 6.10; from 6.6 the
 * secondary-TLB callback is a second subscription, logged in the same
 * ring) and the kernel it was built for.  Every few
 * seconds everything stops: a quarter of the checker's region (all of it at
 * the end) is compared through every view and every mirror is audited
 * (once nothing changes, no leaf may be stale).  At the end every event record of every fd must be accounted
 * for: each sequence number read exactly once or reported lost by a DROPPED
 * record, and the totals equal to what COUNTERS says.
 *
 * Output: "# " lines (reports as they happen, then the summary) and TAP.
 * Exit status 1 on any unexpected result, mismatch, stale leaf or lost
 * record; 77 without the module.  Kernel splats are for `spte lab` to see
 * (status 123): nothing here reads or filters the kernel log.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spte/mman.h>

#include "spte_mirror.h"

#ifndef SYS_memfd_secret
#define SYS_memfd_secret	447
#endif
#define MPOL_MF_MOVE		(1 << 1)	/* <numaif.h> */

typedef unsigned long long u64;

#define PG		4096ULL
#define SZ_2M		(2ULL << 20)
#define CHAOS_SIZE	(16ULL << 20)
#define CHK_SIZE	(8ULL << 20)
#define CHK_PAGES	(CHK_SIZE / PG)
/* two checkers, one half each; the first 2M of each half: KSM fodder */
#define NR_CHECKERS	2
#define PART_SIZE	(CHK_SIZE / NR_CHECKERS)
#define KSM_AREA	SZ_2M
#define NR_TEMPLATES	4
/*
 * GPAs of the slots A and B churn (from 0) and C's worker (from 4 GiB): a
 * worker's slots start in [base, base + GPA_SPAN) and are at most
 * SLOT_MAX long (pick_size()).
 */
#define GPA_SPAN	(48ULL << 20)
#define SLOT_MAX	(8ULL << 20)
#define G_CWORKER	(4ULL << 30)
/* C's views of the checker region: 1 GiB, alias 2 GiB, READONLY 3 GiB */
#define NR_VIEWS	3
#define RO_VIEW		2
#define G_VIEW(v)	(((u64)(v) + 1) << 30)
/*
 * The views share fd C with its worker, whose ADD_SLOT and DEL_SLOT stay
 * in its own span: that span must lie above every view, or a worker's
 * DEL_SLOT could take a view away under the checkers, and every check of
 * theirs would then fail for a fault of this program's.
 */
_Static_assert(G_VIEW(NR_VIEWS - 1) + CHK_SIZE <= G_CWORKER,
	       "fd C's worker span overlaps the checker's views");
_Static_assert(G_CWORKER + GPA_SPAN + SLOT_MAX <= (1ULL << 48),
	       "fd C's worker span beyond the 48 bits of the EPT");
#define BUF_SIZE	(64ULL << 10)
#define CELL_PAGES	(BUF_SIZE / PG)
#define DUMP_CAP	8192ULL
#define REC		sizeof(struct spte_mirror_event)
#define READ_MAX	64		/* records per read(), docs/uapi.md */
#define MAX_SLOTS	32
#define LOG_MAX		(1ULL << 20)

/* Addresses no user pointer may reach. */
#define KERNEL_TEXT	0xffffffff81000000ULL
#define DIRECT_MAP	0xffff888000000000ULL
#define USER_END	0x800000000000ULL	/* first byte past user space */
#define NON_CANONICAL	0xdead000000000000ULL

#define MODULE_PATH	"/opt/spte/modules/spte_mirror.ko"
#define KSM		"/sys/kernel/mm/ksm/"
#define THP		"/sys/kernel/mm/transparent_hugepage/"
#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"

/* ---- random numbers ---------------------------------------------- */

struct rng {
	u64 s;
};

/* xorshift64*: cheap, and one stream per thread from --seed */
static u64 rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

static u64 below(struct rng *r, u64 n)
{
	return n ? rnd(r) % n : 0;
}

static bool one_in(struct rng *r, u64 n)
{
	return below(r, n) == 0;
}

/*
 * An argument an ioctl that defines no flags must refuse with EINVAL:
 * one flag bit set, or a nonzero reserved word.
 */
static void spoil_arg(struct rng *r, __u64 *flags, __u64 *reserved,
		      unsigned int nr_reserved)
{
	if (one_in(r, 2))
		*flags = 1ULL << below(r, 64);
	else
		reserved[below(r, nr_reserved)] = rnd(r) | 1;
}

static void rng_init(struct rng *r, u64 seed, u64 stream)
{
	r->s = (seed ^ (stream * 0x9e3779b97f4a7c15ULL)) | 1;
	for (int i = 0; i < 8; i++)
		rnd(r);
}

static void fill_random(struct rng *r, uint8_t *p, u64 len)
{
	u64 i, v;

	for (i = 0; i + 8 <= len; i += 8) {
		v = rnd(r);
		memcpy(p + i, &v, 8);
	}
	if (i < len) {
		v = rnd(r);
		memcpy(p + i, &v, len - i);
	}
}

/* ---- sets of allowed results ------------------------------------- */

/* errno values (0: success) a call may end with */
#define ERR_MAX 192
typedef struct {
	u64 w[ERR_MAX / 64];
} errset;

static errset es_make(const int *e)
{
	errset s = { { 0 } };

	for (; *e >= 0; e++)
		s.w[*e / 64] |= 1ULL << (*e % 64);
	return s;
}

#define ES(...) es_make((const int[]){ __VA_ARGS__, -1 })

static const errset es_none;

static bool es_has(errset s, int e)
{
	return e >= 0 && e < ERR_MAX && ((s.w[e / 64] >> (e % 64)) & 1);
}

static errset es_or(errset a, errset b)
{
	for (int i = 0; i < ERR_MAX / 64; i++)
		a.w[i] |= b.w[i];
	return a;
}

static errset es_without(errset s, int e)
{
	s.w[e / 64] &= ~(1ULL << (e % 64));
	return s;
}

static bool es_empty(errset s)
{
	for (int i = 0; i < ERR_MAX / 64; i++)
		if (s.w[i])
			return false;
	return true;
}

static const char *errname(int e)
{
	static __thread char buf[24];
	const char *n;

	if (e == 0)
		return "ok";
	n = strerrorname_np(e);
	if (n)
		return n;
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

static void es_format(errset s, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (int e = 0; e < ERR_MAX && used < len; e++)
		if (es_has(s, e))
			used += snprintf(buf + used, len - used, "%s%s",
					 used ? "|" : "", errname(e));
}

/* ---- what is counted --------------------------------------------- */

enum cat { CAT_IOCTL, CAT_FILE, CAT_MM, CAT_CHECK };

#define KINDS(X)							\
	X(K_VERSION, CAT_IOCTL, "VERSION")				\
	X(K_VERSION_BAD, CAT_IOCTL, "VERSION, flags or reserved set")	\
	X(K_ATTACH, CAT_IOCTL, "ATTACH, on an fd that had slots")	\
	X(K_ADD_SLOT, CAT_IOCTL, "ADD_SLOT")				\
	X(K_ADD_SLOT_WILD, CAT_IOCTL, "ADD_SLOT, hva outside the region") \
	X(K_ADD_SLOT_BAD, CAT_IOCTL, "ADD_SLOT, invalid")		\
	X(K_DEL_SLOT, CAT_IOCTL, "DEL_SLOT")				\
	X(K_DEL_SLOT_BAD, CAT_IOCTL, "DEL_SLOT, flags or reserved set")	\
	X(K_MAP, CAT_IOCTL, "MAP")					\
	X(K_MAP_HUGE, CAT_IOCTL, "MAP, 128 TiB range")			\
	X(K_MAP_BAD, CAT_IOCTL, "MAP, invalid")				\
	X(K_UNMAP, CAT_IOCTL, "UNMAP")					\
	X(K_UNMAP_BAD, CAT_IOCTL, "UNMAP, invalid")			\
	X(K_ACCESS, CAT_IOCTL, "ACCESS")				\
	X(K_ACCESS_HUGE, CAT_IOCTL, "ACCESS, larger than its buffer")	\
	X(K_ACCESS_BUF, CAT_IOCTL, "ACCESS, wild buffer")		\
	X(K_ACCESS_BAD, CAT_IOCTL, "ACCESS, invalid")			\
	X(K_DUMP, CAT_IOCTL, "DUMP")					\
	X(K_DUMP_BUF, CAT_IOCTL, "DUMP, wild or short buffer")		\
	X(K_DUMP_BAD, CAT_IOCTL, "DUMP, invalid")			\
	X(K_LOG, CAT_IOCTL, "LOG_CONFIG")				\
	X(K_LOG_BAD, CAT_IOCTL, "LOG_CONFIG, invalid")			\
	X(K_COUNTERS, CAT_IOCTL, "COUNTERS")				\
	X(K_COUNTERS_BAD, CAT_IOCTL, "COUNTERS, flags or reserved set")	\
	X(K_AUDIT, CAT_IOCTL, "AUDIT")					\
	X(K_AUDIT_BAD, CAT_IOCTL, "AUDIT, flags or reserved set")	\
	X(K_BADCMD, CAT_IOCTL, "unknown or mis-sized command")		\
	X(K_WILD_ARG, CAT_IOCTL, "argument pointer wild")		\
	X(K_RO_ARG, CAT_IOCTL, "argument on a read-only page")		\
	X(K_WRONG_MM, CAT_IOCTL, "any ioctl from a forked child")	\
	X(K_SHORT_FD, CAT_IOCTL, "ioctl on a short-lived fd")		\
	X(K_ATTACHED, CAT_IOCTL, "ioctl on an fd attached to a child")	\
	X(K_CHILD_FD, CAT_IOCTL, "ioctl on a child's own fd")		\
	X(K_CHK_ACCESS, CAT_IOCTL, "ACCESS by the checker")		\
	X(K_CHK_IOCTL, CAT_IOCTL, "other ioctls of the checks")		\
	X(K_OPEN, CAT_FILE, "open")					\
	X(K_READ, CAT_FILE, "read")					\
	X(K_READ_SHORT, CAT_FILE, "read, less than one record")		\
	X(K_READ_BUF, CAT_FILE, "read, wild or short buffer")		\
	X(K_WRITE, CAT_FILE, "write")					\
	X(K_MMAP_FD, CAT_FILE, "mmap of the fd")			\
	X(K_POLL, CAT_FILE, "poll")					\
	X(K_MPROTECT, CAT_MM, "mprotect")				\
	X(K_DONTNEED, CAT_MM, "madvise DONTNEED")			\
	X(K_FREE, CAT_MM, "madvise FREE")				\
	X(K_PAGEOUT, CAT_MM, "madvise PAGEOUT")				\
	X(K_COLD, CAT_MM, "madvise COLD")				\
	X(K_COLLAPSE, CAT_MM, "madvise COLLAPSE")			\
	X(K_HUGEPAGE, CAT_MM, "madvise HUGEPAGE / NOHUGEPAGE")		\
	X(K_MERGEABLE, CAT_MM, "madvise MERGEABLE")			\
	X(K_UNMERGEABLE, CAT_MM, "madvise UNMERGEABLE")			\
	X(K_WILLNEED, CAT_MM, "madvise WILLNEED")			\
	X(K_REMOVE, CAT_MM, "madvise REMOVE")				\
	X(K_MAP_FIXED, CAT_MM, "mmap MAP_FIXED (anon, memfd, secret, hugetlb)") \
	X(K_MUNMAP, CAT_MM, "munmap")					\
	X(K_MREMAP, CAT_MM, "mremap (DONTUNMAP, or FIXED into a slot)") \
	X(K_MEMFD, CAT_MM, "memfd_create / memfd_secret / ftruncate")	\
	X(K_MOVE_PAGES, CAT_MM, "move_pages")				\
	X(K_MOVE_PAGE, CAT_MM, "move_pages, per page")			\
	X(K_FORK, CAT_MM, "fork")					\
	X(K_CLEAR_REFS, CAT_MM, "clear_refs 4 (soft-dirty)")		\
	X(K_VM_WRITE, CAT_MM, "process_vm_writev")			\
	X(K_VM_READ, CAT_MM, "process_vm_readv")			\
	X(K_PROC_MEM, CAT_MM, "write to /proc/self/mem")		\
	X(K_PTRACE, CAT_MM, "PTRACE_SEIZE")				\
	X(C_DEV_READ, CAT_CHECK, "device read = CPU bytes")		\
	X(C_CPU, CAT_CHECK, "CPU bytes kept through the churn")	\
	X(C_DEV_WRITE, CAT_CHECK, "CPU sees the device's write")	\
	X(C_RO_SLOT, CAT_CHECK, "READONLY slot refuses a write")	\
	X(C_DONTNEED, CAT_CHECK, "device sees MADV_DONTNEED's result")	\
	X(C_REMOVE, CAT_CHECK, "device sees MADV_REMOVE's zeros")	\
	X(C_REMAP, CAT_CHECK, "device sees memory MAP_FIXED put there") \
	X(C_WP, CAT_CHECK, "no device write through PROT_READ")		\
	X(C_PROT_NONE, CAT_CHECK, "no device read through PROT_NONE")	\
	X(C_MUNMAP, CAT_CHECK, "no device access after munmap")		\
	X(C_UNMAP, CAT_CHECK, "range reads back right after UNMAP")	\
	X(C_COW, CAT_CHECK, "fork: parent and child keep their bytes")	\
	X(C_HUGETLB, CAT_CHECK, "hugetlb page through the mirror")	\
	X(C_SECRET, CAT_CHECK, "secretmem refused")			\
	X(C_ATTACH, CAT_CHECK, "attached child's memory, both ways")	\
	X(C_VERIFY, CAT_CHECK, "quiescent: checker region, CPU = 3 views") \
	X(C_AUDIT_Q, CAT_CHECK, "quiescent AUDIT: no stale leaf")	\
	X(C_AUDIT_C, CAT_CHECK, "AUDIT during churn: no stale leaf")	\
	X(C_DUMP, CAT_CHECK, "DUMP leaves well-formed")			\
	X(C_OUTPUTS, CAT_CHECK, "ioctl outputs consistent")		\
	X(C_CHILD, CAT_CHECK, "forked child exited 0")			\
	X(C_EVENTS, CAT_CHECK, "event record well-formed, in order")	\
	X(C_ACCOUNT, CAT_CHECK, "event stream accounted for")

#define KIND_ENUM(id, cat, name) id,
enum kind { KINDS(KIND_ENUM) K_NR };
#define KIND_TABLE(id, c, n) [id] = { c, n },
static const struct {
	enum cat cat;
	const char *name;
} kinds[] = { KINDS(KIND_TABLE) };

/* data checks: a failure is a mismatch between device and CPU */
static bool is_data_check(enum kind k)
{
	return (k >= C_DEV_READ && k <= C_ATTACH) || k == C_VERIFY;
}

struct kind_stat {
	u64 n, bad;
	u64 by_err[ERR_MAX];
};

/*
 * In a MAP_SHARED page, so that forked children count too (with atomics
 * and nothing else: a child of a threaded process may only make system
 * calls).
 */
struct shared {
	struct kind_stat k[K_NR];
	u64 ioctls;
	u64 audit_findings;
	u64 moved_pages;
	u64 leaves_2m;		/* 2M leaves the checkers' MAPs installed */
	unsigned int nr_notes;
	struct {
		int kind, err;
	} notes[32];		/* children's unexpected results */
};
static struct shared *sh;
static bool in_child;

static void add(u64 *p, u64 v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int nr_reports;
#define MAX_REPORTS 60

static void report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void report(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&report_lock);
	if (nr_reports < MAX_REPORTS) {
		fputs("# ", stdout);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		fputc('\n', stdout);
	} else if (nr_reports == MAX_REPORTS) {
		puts("# (more reports left out; the summary counts them all)");
	}
	nr_reports++;
	fflush(stdout);
	pthread_mutex_unlock(&report_lock);
}

/* Stop at once: TAP's way of saying the run could not go on. */
static void bail_out(const char *fmt, ...) G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN;
static void bail_out(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&report_lock);
	fputs("Bail out! ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	exit(1);
}

/*
 * Taken shared around every call of ours that lets the kernel choose an
 * address (mmap(NULL), mremap MAYMOVE, large reallocations), exclusively
 * by a checker while its munmap leaves a hole in its region: the kernel
 * would put a new mapping there first, and the hole must stay a hole
 * until the checker fills it again.
 */
static pthread_rwlock_t addr_lock = PTHREAD_RWLOCK_INITIALIZER;

static void child_note(enum kind k, int err)
{
	unsigned int i = __atomic_fetch_add(&sh->nr_notes, 1, __ATOMIC_RELAXED);

	if (i < G_N_ELEMENTS(sh->notes)) {
		sh->notes[i].kind = k;
		sh->notes[i].err = err;
	}
}

/* Count one result; true if @exp allows it. */
static bool tally(enum kind k, int err, errset exp)
{
	struct kind_stat *s = &sh->k[k];
	bool ok = es_has(exp, err);

	add(&s->n, 1);
	add(&s->by_err[err >= 0 && err < ERR_MAX ? err : ERR_MAX - 1], 1);
	if (!ok)
		add(&s->bad, 1);
	if (kinds[k].cat == CAT_IOCTL)
		add(&sh->ioctls, 1);
	return ok;
}

/* Report a result @exp has not; false, for EXPECT(). */
static bool unexpected(enum kind k, int err, errset exp, const char *fmt, ...)
	G_GNUC_PRINTF(4, 5);
static bool unexpected(enum kind k, int err, errset exp, const char *fmt, ...)
{
	char what[320], allowed[160];
	va_list ap;

	if (in_child) {
		child_note(k, err);
		return false;
	}
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	es_format(exp, allowed, sizeof(allowed));
	report("UNEXPECTED %s: %s: %s, allowed %s", kinds[k].name, what,
	       errname(err), allowed);
	return false;
}

/* Count @err for kind @k; report it (naming the call) if @exp has not. */
#define EXPECT(k, err, exp, ...) ({					\
	int expect_err_ = (err);					\
	errset expect_set_ = (exp);					\
	tally((k), expect_err_, expect_set_) ||				\
		unexpected((k), expect_err_, expect_set_, __VA_ARGS__);	\
})

static bool check_pass(enum kind k)
{
	add(&sh->k[k].n, 1);
	return true;
}

/* Count and report a failed check; false, for CHECK(). */
static bool check_fail(enum kind k, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static bool check_fail(enum kind k, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	add(&sh->k[k].n, 1);
	add(&sh->k[k].bad, 1);
	if (in_child) {
		child_note(k, 0);
		return false;
	}
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	report("FAILED %s: %s", kinds[k].name, what);
	return false;
}

#define CHECK(k, cond, ...) ({						\
	(cond) ? check_pass(k) : check_fail((k), __VA_ARGS__);		\
})

/* ---- the mirrors and their event streams ------------------------- */

enum { FD_A, FD_B, FD_C, NR_FDS };

struct mfd {
	const char *name;
	int fd;
	bool filters;		/* SLOTS_ONLY may be set: seq != callbacks */
	bool checker;		/* fd C */
	pthread_mutex_t lock;	/* everything below */
	uint8_t *seen;		/* bitmap: sequence numbers accounted for */
	u64 seen_bytes;
	u64 max_seq;
	u64 records;		/* ordinary records read */
	u64 drop_records;
	u64 dropped;		/* records the DROPPED records say were lost */
	u64 dups;		/* sequence numbers accounted for twice */
	GHashTable *ids;	/* slot ids ADD_SLOT returned */
};
static struct mfd fds[NR_FDS] = {
	[FD_A] = { .name = "A", .filters = true },
	[FD_B] = { .name = "B", .filters = true },
	[FD_C] = { .name = "C", .checker = true },
};
static u64 view_ids[NR_VIEWS];

/*
 * What SPTE_MIRROR_VERSION says the module was built for, read once at
 * setup: which callbacks it registers (CHANGE_PTE only before 6.10) and
 * the kernel, whose notifier API decides what a record may look like.
 * Every record and counter is judged by these, not by one kernel's habits.
 */
static u64 mod_callbacks;
static unsigned int mod_kver;	/* KERNEL_VERSION(major, minor, 0) */
#define KV(major, minor)	(((major) << 16) + ((minor) << 8))

static bool mod_has(unsigned int cb)
{
	return cb < 64 && ((mod_callbacks >> cb) & 1);
}

/* What one reader of one fd has seen: its reads are ordered in time. */
struct reader {
	u64 last_seq, last_time;
};

/* Why a record is malformed, or NULL. */
static const char *event_insane(const struct spte_mirror_event *e)
{
	bool in_slot = e->flags & SPTE_EVF_IN_SLOT;

	if (e->reserved)
		return "reserved word set";
	if (!e->seq)
		return "seq 0";
	if (e->callback == SPTE_CB_DROPPED)
		return e->leaves && e->leaves <= e->seq ? NULL :
		       "DROPPED count of lost records outside 1..seq";
	if (e->callback > SPTE_CB_RELEASE)
		return "a callback that is never logged";
	if (!mod_has(e->callback))
		return "a callback VERSION says the module does not register";
	if (e->flags & ~(u64)(SPTE_EVF_BLOCKABLE | SPTE_EVF_IN_SLOT))
		return "flags besides BLOCKABLE and IN_SLOT (skip_invalidate is off)";
	if (e->event > SPTE_EV_EXCLUSIVE && e->event != SPTE_EV_NONE)
		return "unknown range event";
	/*
	 * Before 6.6, tlb_finish_mmu() flushes everything when TLB batches
	 * of the mm nested, and reports the range as ~0..~0 (fullmm) to
	 * ->invalidate_range: the one empty range the kernel passes.  From
	 * 6.6 ->arch_invalidate_secondary_tlbs gets a flush-all as
	 * 0..TLB_FLUSH_ALL (~0) from flush_tlb_mm_range(), never empty.
	 */
	if (e->hva_start >= e->hva_end &&
	    !(mod_kver < KV(6, 6) &&
	      e->callback == SPTE_CB_INVALIDATE_SECONDARY &&
	      e->hva_start == ~0ULL && e->hva_end == ~0ULL))
		return "empty hva range";
	if (in_slot != (e->gpa_start != SPTE_MIRROR_NONE) ||
	    in_slot != (e->gpa_end != SPTE_MIRROR_NONE))
		return "IN_SLOT and the gpa range disagree";
	if (in_slot && e->gpa_start >= e->gpa_end)
		return "empty gpa range";
	if (e->leaves && !in_slot)
		return "leaves outside every slot";
	if ((e->callback == SPTE_CB_CHANGE_PTE) !=
	    (e->new_pfn != SPTE_MIRROR_NONE))
		return "new_pfn set outside change_pte, or missing in it";
	switch (e->callback) {
	case SPTE_CB_CLEAR_FLUSH_YOUNG:
	case SPTE_CB_CLEAR_YOUNG:
	case SPTE_CB_TEST_YOUNG:
		if (e->result != 0 && e->result != 1)
			return "young result not 0 or 1";
		if (e->result && !e->leaves)
			return "young without a leaf";
		if (e->old_pfn != SPTE_MIRROR_NONE)
			return "old_pfn in a young record";
		return NULL;
	case SPTE_CB_INVALIDATE_RANGE_START:
	case SPTE_CB_CHANGE_PTE:
	case SPTE_CB_RELEASE:
		if (e->result)
			return "callback failed";
		if ((e->old_pfn == SPTE_MIRROR_NONE) != !e->leaves)
			return "old_pfn and leaves disagree";
		return NULL;
	default:
		if (e->result || e->leaves || e->old_pfn != SPTE_MIRROR_NONE)
			return "end or secondary callback with leaves or a result";
		return NULL;
	}
}

/* Mark [first, last] accounted for.  Caller holds f->lock. */
static void seen_mark(struct mfd *f, u64 first, u64 last)
{
	if (last / 8 >= f->seen_bytes) {
		u64 n = MAX(f->seen_bytes * 2, last / 8 + 65536);

		pthread_rwlock_rdlock(&addr_lock);
		f->seen = g_realloc(f->seen, n);
		pthread_rwlock_unlock(&addr_lock);
		memset(f->seen + f->seen_bytes, 0, n - f->seen_bytes);
		f->seen_bytes = n;
	}
	for (u64 s = first; s <= last; s++) {
		uint8_t bit = 1 << (s % 8);

		if (f->seen[s / 8] & bit)
			f->dups++;
		f->seen[s / 8] |= bit;
	}
	f->max_seq = MAX(f->max_seq, last);
}

/* Records @buf holds (@bytes, whole records) as one read() returned them. */
static void account(struct mfd *f, struct reader *rd, const void *buf,
		    size_t bytes)
{
	struct spte_mirror_event e;

	for (size_t off = 0; off + REC <= bytes; off += REC) {
		const char *bad;

		memcpy(&e, (const uint8_t *)buf + off, REC);
		bad = event_insane(&e);
		if (!bad && e.seq <= rd->last_seq)
			bad = "seq not above the one this reader got before";
		if (!bad && e.time_ns < rd->last_time)
			bad = "time_ns went back for one reader";
		CHECK(C_EVENTS, !bad,
		      "fd %s: record seq %llu (%s, leaves %llu, hva 0x%llx-0x%llx; previous seq %llu): %s",
		      f->name, e.seq, spte_mirror_callback_name(e.callback),
		      e.leaves, e.hva_start, e.hva_end, rd->last_seq, bad);
		rd->last_seq = MAX(rd->last_seq, e.seq);
		rd->last_time = MAX(rd->last_time, e.time_ns);
		/* a bad record is reported once, not again as a lost one */
		pthread_mutex_lock(&f->lock);
		if (e.callback == SPTE_CB_DROPPED && e.leaves &&
		    e.leaves <= e.seq) {
			seen_mark(f, e.seq - e.leaves + 1, e.seq);
			f->drop_records++;
			f->dropped += e.leaves;
		} else {
			seen_mark(f, e.seq, e.seq);
			f->records++;
		}
		pthread_mutex_unlock(&f->lock);
	}
}

static void note_slot_id(struct mfd *f, u64 id)
{
	bool fresh;

	pthread_mutex_lock(&f->lock);
	fresh = g_hash_table_add(f->ids, GSIZE_TO_POINTER(id));
	pthread_mutex_unlock(&f->lock);
	CHECK(C_OUTPUTS, fresh && id && id < (1ULL << 32),
	      "fd %s: ADD_SLOT returned id %llu (%s)", f->name, id,
	      fresh ? "outside 1..2^32-1" : "returned before");
}

/* ---- memory ------------------------------------------------------ */

static uint8_t *chaos;		/* A's, B's and C's worker's slots */
static uint8_t *chk;		/* the checker's region */
static uint8_t *attach_area;	/* two pages a child fills for ATTACH */
static uint8_t *none_page;	/* PROT_NONE, after a readable page */
static u64 vvar_addr;		/* VM_PFNMAP: ADD_SLOT refuses it */
static int self_mem = -1;	/* /proc/self/mem */
static int nr_nodes = 1;
static bool have_secretmem, have_hugetlb, have_ksm;

static void die(const char *fmt, ...) G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN;
static void die(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! setup: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(1);
}

/* Write @value to a sysfs or procfs file; the errno, or 0. */
static int write_text_errno(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, value, strlen(value)) < 0)
		err = errno;
	close(fd);
	return err;
}

/*
 * @size bytes of private anonymous memory, 2M aligned, between 2M of
 * PROT_NONE on each side that nothing else can be mapped into.
 */
static uint8_t *map_region(u64 size, const char *what)
{
	uint8_t *p = mmap(NULL, size + 6 * SZ_2M, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *a;

	if (p == MAP_FAILED)
		die("reserving %llu MiB for the %s: %s", size >> 20, what,
		    g_strerror(errno));
	a = (uint8_t *)(((uintptr_t)p + 2 * SZ_2M) & ~(SZ_2M - 1));
	if (mmap(a, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != a)
		die("mapping the %s: %s", what, g_strerror(errno));
	return a;
}

/* @size bytes followed by a PROT_NONE page: overruns fault. */
static uint8_t *map_guarded(u64 size)
{
	uint8_t *p = mmap(NULL, size + PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + size, PG, PROT_NONE))
		die("mapping a %llu KiB buffer: %s", size >> 10,
		    g_strerror(errno));
	return p;
}

static u64 find_vvar(void)
{
	g_autofree char *maps = NULL;
	unsigned long lo = 0, hi = 0;
	char *line;

	if (!g_file_get_contents("/proc/self/maps", &maps, NULL, NULL))
		return 0;
	line = strstr(maps, "[vvar]");
	if (!line)
		return 0;
	while (line > maps && line[-1] != '\n')
		line--;
	return sscanf(line, "%lx-%lx", &lo, &hi) == 2 ? lo : 0;
}

static int count_nodes(void)
{
	int n = 0;

	for (int i = 0; i < 64; i++) {
		g_autofree char *p =
			g_strdup_printf("/sys/devices/system/node/node%d", i);

		if (g_file_test(p, G_FILE_TEST_IS_DIR))
			n++;
	}
	return n ? n : 1;
}

/* ---- stopping everyone: the gate --------------------------------- */

/*
 * Every thread does its work in steps between gate_enter() and
 * gate_leave(); the controller stops them all between two steps to look
 * at a quiescent mirror, and at the end.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool paused, stop;
	int active;
} gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER };

static bool gate_enter(void)
{
	bool go;

	pthread_mutex_lock(&gate.lock);
	while (gate.paused && !gate.stop)
		pthread_cond_wait(&gate.cond, &gate.lock);
	go = !gate.stop;
	if (go)
		gate.active++;
	pthread_mutex_unlock(&gate.lock);
	return go;
}

static void gate_leave(void)
{
	pthread_mutex_lock(&gate.lock);
	if (!--gate.active)
		pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);
}

static void gate_pause(bool stop)
{
	pthread_mutex_lock(&gate.lock);
	gate.paused = true;
	gate.stop = stop;
	pthread_cond_broadcast(&gate.cond);
	while (gate.active)
		pthread_cond_wait(&gate.cond, &gate.lock);
	pthread_mutex_unlock(&gate.lock);
}

static void gate_resume(void)
{
	pthread_mutex_lock(&gate.lock);
	gate.paused = false;
	pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);
}

/* ---- threads ----------------------------------------------------- */

/* Where one worker's ioctls go, and what they must leave alone. */
struct profile {
	struct mfd *f;
	u64 slot_gpa;		/* base of the GPAs its slots use */
	bool checker_fd;	/* never write the checker's views */
};
static struct profile profiles[NR_FDS];

struct thr {
	char name[24];
	struct rng rng;
	const struct profile *prof;
	uint8_t *buf;		/* BUF_SIZE, then a PROT_NONE page */
	uint8_t *rw, *ro;	/* one page, mapped read-write and read-only */
	struct spte_mirror_leaf *leaves;	/* DUMP_CAP, then PROT_NONE */
	struct reader rd[NR_FDS];
	u64 part;		/* a checker's half of the checker region */
	void *(*fn)(void *);
	pthread_t tid;
	u64 cpu_ns;		/* the thread's CPU time, once it ended */
};

static void thr_init(struct thr *t, const char *name, u64 seed, u64 stream)
{
	int fd = memfd_create("spte-stress-arg", MFD_CLOEXEC);

	memset(t, 0, sizeof(*t));
	g_strlcpy(t->name, name, sizeof(t->name));
	rng_init(&t->rng, seed, stream);
	t->buf = map_guarded(BUF_SIZE);
	t->leaves = (void *)map_guarded(DUMP_CAP * sizeof(*t->leaves));
	if (fd < 0 || ftruncate(fd, PG))
		die("memfd for an argument page: %s", g_strerror(errno));
	t->rw = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t->ro = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	if (t->rw == MAP_FAILED || t->ro == MAP_FAILED)
		die("mapping an argument page: %s", g_strerror(errno));
	close(fd);
}

static int sys_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? errno : 0;
}

/* A pointer no call may read or write through. */
static u64 wild_pointer(struct rng *r, bool straddle, const char **what)
{
	switch (below(r, straddle ? 9 : 8)) {
	case 0:
		*what = "NULL";
		return 0;
	case 1:
		*what = "below mmap_min_addr";
		return PG * (1 + below(r, 15));
	case 2:
		*what = "kernel text";
		return KERNEL_TEXT;
	case 3:
		*what = "direct map";
		return DIRECT_MAP + below(r, 1 << 18) * PG;
	case 4:
		*what = "first byte past user space";
		return USER_END;
	case 5:
		*what = "non-canonical";
		return NON_CANONICAL;
	case 6:
		*what = "all ones";
		return ~0ULL;
	case 7:
		*what = "PROT_NONE page";
		return (uintptr_t)none_page;
	default:
		*what = "16 bytes before a PROT_NONE page";
		return (uintptr_t)none_page - 16;
	}
}

/* ---- hostile ioctls ---------------------------------------------- */

/* When the module copies the argument struct back (docs/uapi.md). */
enum copy_out { OUT_ON_SUCCESS, OUT_UNLESS_EINVAL, OUT_ON_E2BIG };

/*
 * The results allowed when the struct is on a read-only page: the kernel
 * reads it fine, and every result it would copy back becomes EFAULT
 * (after the command took effect).
 */
static errset ro_expect(errset base, enum copy_out out)
{
	errset res = base;
	bool copied = false;

	switch (out) {
	case OUT_ON_SUCCESS:
		copied = es_has(base, 0);
		res = es_without(base, 0);
		break;
	case OUT_UNLESS_EINVAL:
		copied = !es_empty(es_without(base, EINVAL));
		res = es_has(base, EINVAL) ? ES(EINVAL) : es_none;
		break;
	case OUT_ON_E2BIG:
		copied = es_has(base, 0) || es_has(base, E2BIG);
		res = es_without(es_without(base, 0), E2BIG);
		break;
	}
	return copied ? es_or(res, ES(EFAULT)) : res;
}

/*
 * Issue @cmd with @arg, mostly as it is, now and then from the read-only
 * view of the thread's page.  *@normal says whether @arg now holds what
 * the kernel copied back (if it did).
 */
static int issue(struct thr *t, int fd, unsigned long cmd, void *arg,
		 size_t size, enum copy_out out, errset *exp, bool *normal)
{
	if (one_in(&t->rng, 24)) {
		memcpy(t->rw, arg, size);
		*exp = ro_expect(*exp, out);
		*normal = false;
		return sys_ioctl(fd, cmd, t->ro);
	}
	*normal = true;
	return sys_ioctl(fd, cmd, arg);
}

static bool reserved_set(const __u64 *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (w[i])
			return true;
	return false;
}

/* A GPA for @p: in its slots' span, or in the checker's views. */
static u64 pick_gpa(struct rng *r, const struct profile *p)
{
	if (p->checker_fd && one_in(r, 2))
		return G_VIEW(below(r, NR_VIEWS)) + (one_in(r, 3) ?
			below(r, CHK_SIZE / SZ_2M + 1) * SZ_2M :
			below(r, CHK_PAGES + 16) * PG);
	return p->slot_gpa + below(r, GPA_SPAN / SZ_2M) * SZ_2M +
	       (one_in(r, 3) ? below(r, 512) * PG : 0);
}

/*
 * Where a slot of @p's starts, for ADD_SLOT and DEL_SLOT alike: DEL_SLOT
 * finds a slot by its exact start, so the slots it can take are the ones
 * added in this same span (by the workers, or for them at setup), never
 * the checker's views.
 */
static u64 pick_slot_gpa(struct rng *r, const struct profile *p)
{
	return p->slot_gpa + below(r, GPA_SPAN / SZ_2M) * SZ_2M +
	       (one_in(r, 4) ? below(r, 512) * PG : 0);
}

static u64 pick_size(struct rng *r)
{
	switch (below(r, 6)) {
	case 0:
		return PG;
	case 1:
		return (1 + below(r, 16)) * PG;
	case 2:
		return SZ_2M;
	case 3:
		return (1 + below(r, 512)) * PG;
	case 4:
		return (1 + below(r, 4)) * SZ_2M;
	default:
		return (1 + below(r, 64)) * PG;
	}
}

/* A page range the ABI refuses with EINVAL (ADD_SLOT, MAP, UNMAP). */
static void bad_range(struct rng *r, __u64 *gpa, __u64 *size)
{
	switch (below(r, 6)) {
	case 0:
		*size = 0;
		break;
	case 1:
		*gpa += 1 + below(r, PG - 1);
		break;
	case 2:
		*size += 1 + below(r, PG - 1);
		break;
	case 3:		/* wraps */
		*gpa = ~0ULL - PG + 1;
		*size = 2 * PG;
		break;
	case 4:		/* beyond the 48 bits of a 4-level EPT */
		*gpa = 1ULL << 48;
		*size = PG;
		break;
	default:	/* ends beyond them */
		*gpa = (1ULL << 48) - PG;
		*size = 2 * PG;
		break;
	}
}

static bool in_views(u64 gpa, u64 size)
{
	return gpa < G_VIEW(NR_VIEWS - 1) + CHK_SIZE + SZ_2M &&
	       gpa + size > G_VIEW(0);
}

static int view_of(u64 gpa)
{
	for (int v = 0; v < NR_VIEWS; v++)
		if (gpa >= G_VIEW(v) && gpa < G_VIEW(v) + CHK_SIZE)
			return v;
	return -1;
}

static void op_version(struct thr *t, const struct profile *p)
{
	struct spte_mirror_version v = { 0 }, in;
	enum kind k = K_VERSION;
	errset exp = ES(0);
	bool normal;
	int err;

	if (one_in(&t->rng, 3)) {
		spoil_arg(&t->rng, &v.flags, v.reserved,
			  G_N_ELEMENTS(v.reserved));
		exp = ES(EINVAL);
		k = K_VERSION_BAD;
	}
	in = v;
	err = issue(t, p->f->fd, SPTE_MIRROR_VERSION, &v, sizeof(v),
		    OUT_ON_SUCCESS, &exp, &normal);
	if (!EXPECT(normal ? k : K_RO_ARG, err, exp,
		    "fd %s VERSION flags 0x%llx reserved 0x%llx 0x%llx 0x%llx 0x%llx",
		    p->f->name, in.flags, in.reserved[0], in.reserved[1],
		    in.reserved[2], in.reserved[3]) || !normal || err)
		return;
	CHECK(C_OUTPUTS, v.abi_version == SPTE_MIRROR_ABI_VERSION &&
	      v.max_slots == MAX_SLOTS && !v.flags &&
	      v.callbacks == mod_callbacks && v.kernel_version == mod_kver &&
	      !reserved_set(v.reserved, 4),
	      "fd %s VERSION: abi %u, max_slots %llu, callbacks 0x%llx (0x%llx at setup), kernel 0x%x (0x%x at setup), flags 0x%llx",
	      p->f->name, v.abi_version, v.max_slots, v.callbacks,
	      mod_callbacks, v.kernel_version, mod_kver, v.flags);
}

/* Every fd here had slots, so is registered: ATTACH is always too late. */
static void op_attach(struct thr *t, const struct profile *p)
{
	struct spte_mirror_attach a = { 0 }, in;
	errset exp = ES(EINVAL);
	bool normal;
	int err;

	switch (below(&t->rng, 6)) {
	case 0:
		break;			/* pid 0 */
	case 1:
		a.pid = 1ULL << 31;	/* > INT_MAX */
		break;
	case 2:
		a.pid = getpid();
		a.flags = 1ULL << below(&t->rng, 64);
		break;
	case 3:
		a.pid = getpid();
		a.reserved[below(&t->rng, 6)] = 1;
		break;
	case 4:
		a.pid = getpid();
		exp = ES(EBUSY);
		break;
	default:
		a.pid = 1;
		exp = ES(EBUSY);
		break;
	}
	in = a;
	err = issue(t, p->f->fd, SPTE_MIRROR_ATTACH, &a, sizeof(a),
		    OUT_ON_SUCCESS, &exp, &normal);
	EXPECT(normal ? K_ATTACH : K_RO_ARG, err, exp,
	       "fd %s ATTACH pid %llu flags 0x%llx", p->f->name, in.pid,
	       in.flags);
}

static void op_add_slot(struct thr *t, const struct profile *p)
{
	struct rng *r = &t->rng;
	struct spte_mirror_slot s = { 0 }, in;
	enum kind k = K_ADD_SLOT;
	bool normal;
	errset exp;
	u64 off;
	int err;

	s.gpa = pick_slot_gpa(r, p);
	s.size = pick_size(r);
	off = one_in(r, 2) ? below(r, CHAOS_SIZE / SZ_2M) * SZ_2M :
			     below(r, CHAOS_SIZE / PG) * PG;
	s.size = MIN(s.size, CHAOS_SIZE - off);
	s.hva = (uintptr_t)chaos + off;
	if (one_in(r, 4))
		s.flags = SPTE_SLOT_READONLY;
	/* EOPNOTSUPP: the chaos region holds secretmem now and then */
	exp = ES(0, EEXIST, ENOSPC, EOPNOTSUPP);
	if (one_in(r, 10)) {
		k = K_ADD_SLOT_BAD;
		exp = ES(EINVAL);
		switch (below(r, 5)) {
		case 0:
			s.flags |= 1ULL << (1 + below(r, 63));
			break;
		case 1:
			s.reserved[below(r, 3)] = rnd(r) | 1;
			break;
		case 2:
			s.hva += 8;
			break;
		case 3:		/* the hva range wraps */
			s.hva = ~0ULL - PG + 1;
			s.size = 2 * PG;
			break;
		default:
			bad_range(r, &s.gpa, &s.size);
			break;
		}
	} else if (one_in(r, 8)) {
		k = K_ADD_SLOT_WILD;
		s.size = PG * (1 + below(r, 4));
		switch (below(r, 5)) {
		case 0:		/* nothing is ever mapped there */
			s.hva = below(r, 12) * PG;
			exp = ES(0, EEXIST, ENOSPC);
			break;
		case 1:		/* PROT_NONE anonymous memory is memory */
			s.hva = (uintptr_t)none_page;
			s.size = PG;
			exp = ES(0, EEXIST, ENOSPC);
			break;
		case 2:
			s.hva = DIRECT_MAP;
			exp = ES(EINVAL, EEXIST, ENOSPC);
			break;
		case 3:		/* ends past the task size */
			s.hva = USER_END - PG;
			exp = ES(EINVAL, EEXIST, ENOSPC);
			break;
		default:	/* VM_IO | VM_PFNMAP */
			s.hva = vvar_addr;
			s.size = PG;
			exp = ES(EOPNOTSUPP, EEXIST, ENOSPC);
			break;
		}
	}
	in = s;
	err = issue(t, p->f->fd, SPTE_MIRROR_ADD_SLOT, &s, sizeof(s),
		    OUT_ON_SUCCESS, &exp, &normal);
	if (!EXPECT(normal ? k : K_RO_ARG, err, exp,
		    "fd %s ADD_SLOT gpa 0x%llx hva 0x%llx size 0x%llx flags 0x%llx reserved 0x%llx 0x%llx 0x%llx",
		    p->f->name, in.gpa, in.hva, in.size, in.flags,
		    in.reserved[0], in.reserved[1], in.reserved[2]) ||
	    !normal || err)
		return;
	CHECK(C_OUTPUTS, s.gpa == in.gpa && s.hva == in.hva &&
	      s.size == in.size && s.flags == in.flags,
	      "fd %s ADD_SLOT changed its inputs: gpa 0x%llx hva 0x%llx size 0x%llx flags 0x%llx",
	      p->f->name, s.gpa, s.hva, s.size, s.flags);
	note_slot_id(p->f, s.id);
}

static void op_del_slot(struct thr *t, const struct profile *p)
{
	struct rng *r = &t->rng;
	struct spte_mirror_slot s = { 0 }, in;
	enum kind k = K_DEL_SLOT;
	errset exp = ES(0, ENOENT);
	bool normal;
	int err;

	s.gpa = pick_slot_gpa(r, p);
	/* what the _Static_assert at the top promises, should it be bypassed */
	if (p->f->checker && view_of(s.gpa) >= 0)
		bail_out("fd %s DEL_SLOT gpa 0x%llx: a checker view, outside the worker's span",
			 p->f->name, s.gpa);
	if (one_in(r, 8)) {
		k = K_DEL_SLOT_BAD;
		exp = ES(EINVAL);
		spoil_arg(r, &s.flags, s.reserved,
			  G_N_ELEMENTS(s.reserved));
	}
	in = s;
	err = issue(t, p->f->fd, SPTE_MIRROR_DEL_SLOT, &s, sizeof(s),
		    OUT_ON_SUCCESS, &exp, &normal);
	if (!EXPECT(normal ? k : K_RO_ARG, err, exp,
		    "fd %s DEL_SLOT gpa 0x%llx flags 0x%llx reserved 0x%llx 0x%llx 0x%llx",
		    p->f->name, in.gpa, in.flags, in.reserved[0],
		    in.reserved[1], in.reserved[2]) || !normal || err)
		return;
	CHECK(C_OUTPUTS, s.gpa == in.gpa && s.size && !(s.size % PG) &&
	      !(s.hva % PG) && !(s.flags & ~SPTE_SLOT_FLAGS) && s.id &&
	      s.id < (1ULL << 32),
	      "fd %s DEL_SLOT gpa 0x%llx returned hva 0x%llx size 0x%llx flags 0x%llx id %llu",
	      p->f->name, in.gpa, s.hva, s.size, s.flags, s.id);
	/* the slot found by that gpa, not a view: else the checks would fail */
	if (p->f->checker)
		for (int v = 0; v < NR_VIEWS; v++)
			if (s.id == view_ids[v])
				bail_out("fd %s DEL_SLOT gpa 0x%llx removed view %d (slot %llu at gpa 0x%llx)",
					 p->f->name, in.gpa, v, s.id, G_VIEW(v));
}

static errset map_expect(u64 flags)
{
	/*
	 * ENOENT: a page outside every slot; EFAULT: a hole, PROT_NONE or
	 * a failed fault; EPERM: a write on a READONLY slot or a read-only
	 * VMA; EOPNOTSUPP: secretmem; EBUSY: invalidations kept racing.
	 * A snapshot never faults, so never fails the way faults do.
	 */
	if (flags & SPTE_MAP_SNAPSHOT)
		return ES(0, ENOENT, EOPNOTSUPP, EBUSY);
	if (flags & SPTE_MAP_WRITE)
		return ES(0, ENOENT, EFAULT, EPERM, EOPNOTSUPP, EBUSY);
	return ES(0, ENOENT, EFAULT, EOPNOTSUPP, EBUSY);
}

static void map_outputs(const struct mfd *f, const struct spte_mirror_map *in,
			const struct spte_mirror_map *m, int err)
{
	u64 pages = in->size / PG;
	u64 done = m->mapped_4k + 512 * m->mapped_2m + m->skipped;

	CHECK(C_OUTPUTS, m->gpa == in->gpa && m->size == in->size &&
	      m->flags == in->flags &&
	      (err ? done <= pages : done == pages) &&
	      (!m->skipped || (in->flags & SPTE_MAP_SNAPSHOT)) &&
	      (!m->mapped_2m || !(in->flags & SPTE_MAP_NO_HUGE)),
	      "fd %s MAP gpa 0x%llx size 0x%llx flags 0x%llx (%s): mapped_4k %llu mapped_2m %llu skipped %llu, echoed gpa 0x%llx size 0x%llx flags 0x%llx",
	      f->name, in->gpa, in->size, in->flags, errname(err),
	      m->mapped_4k, m->mapped_2m, m->skipped, m->gpa, m->size,
	      m->flags);
}

static void op_map(struct thr *t, const struct profile *p)
{
	static const u64 flag_sets[] = {
		0, SPTE_MAP_WRITE, SPTE_MAP_SNAPSHOT, SPTE_MAP_NO_HUGE,
		SPTE_MAP_WRITE | SPTE_MAP_NO_HUGE,
		SPTE_MAP_SNAPSHOT | SPTE_MAP_NO_HUGE,
	};
	struct rng *r = &t->rng;
	struct spte_mirror_map m = { 0 }, in;
	enum kind k = K_MAP;
	bool normal;
	errset exp;
	int err;

	/* a write fault changes no byte: fine on the checker's views too */
	m.gpa = pick_gpa(r, p);
	m.size = pick_size(r);
	m.flags = flag_sets[below(r, G_N_ELEMENTS(flag_sets))];
	exp = map_expect(m.flags);
	if (one_in(r, 16)) {
		/* every slot on the way, then ENOENT at the first gap */
		k = K_MAP_HUGE;
		m.gpa = p->slot_gpa;
		m.size = 1ULL << 47;
		exp = es_without(exp, 0);
	} else if (one_in(r, 8)) {
		k = K_MAP_BAD;
		exp = ES(EINVAL);
		switch (below(r, 4)) {
		case 0:
			m.flags |= 1ULL << (3 + below(r, 61));
			break;
		case 1:
			m.flags = SPTE_MAP_SNAPSHOT | SPTE_MAP_WRITE;
			break;
		case 2:
			m.reserved = rnd(r) | 1;
			break;
		default:
			bad_range(r, &m.gpa, &m.size);
			break;
		}
	}
	in = m;
	err = issue(t, p->f->fd, SPTE_MIRROR_MAP, &m, sizeof(m),
		    OUT_UNLESS_EINVAL, &exp, &normal);
	if (!EXPECT(normal ? k : K_RO_ARG, err, exp,
		    "fd %s MAP gpa 0x%llx size 0x%llx flags 0x%llx reserved 0x%llx",
		    p->f->name, in.gpa, in.size, in.flags, in.reserved))
		return;
	if (normal && err != EINVAL)
		map_outputs(p->f, &in, &m, err);
}

static void op_unmap(struct thr *t, const struct profile *p)
{
	struct rng *r = &t->rng;
	struct spte_mirror_range u = { 0 }, in;
	enum kind k = K_UNMAP;
	errset exp = ES(0);
	bool normal;
	int err;

	u.gpa = pick_gpa(r, p);
	u.size = pick_size(r);
	if (one_in(r, 16)) {
		u.gpa = 0;
		u.size = 1ULL << 48;
	} else if (one_in(r, 8)) {
		k = K_UNMAP_BAD;
		exp = ES(EINVAL);
		switch (below(r, 3)) {
		case 0:
			u.flags = 1ULL << below(r, 64);
			break;
		case 1:
			u.reserved[below(r, 4)] = rnd(r) | 1;
			break;
		default:
			bad_range(r, &u.gpa, &u.size);
			break;
		}
	}
	in = u;
	err = issue(t, p->f->fd, SPTE_MIRROR_UNMAP, &u, sizeof(u),
		    OUT_ON_SUCCESS, &exp, &normal);
	if (!EXPECT(normal ? k : K_RO_ARG, err, exp,
		    "fd %s UNMAP gpa 0x%llx size 0x%llx flags 0x%llx reserved 0x%llx",
		    p->f->name, in.gpa, in.size, in.flags, in.reserved[0]) ||
	    !normal || err)
		return;
	CHECK(C_OUTPUTS, u.gpa == in.gpa && u.size == in.size &&
	      u.zapped <= (u.size / PG),
	      "fd %s UNMAP gpa 0x%llx size 0x%llx: zapped %llu", p->f->name,
	      in.gpa, in.size, u.zapped);
}

static errset access_expect(u64 flags)
{
	/*
	 * ENOENT: no slot; EFAULT: a fault failed, or a miss with NO_FAULT;
	 * EPERM: a write to a READONLY slot or a read-only VMA; EOPNOTSUPP:
	 * secretmem; EBUSY: invalidations kept racing.  Never ESTALE: only
	 * skip_invalidate leaves stale leaves.
	 */
	if (flags & SPTE_ACCESS_WRITE)
		return ES(0, ENOENT, EFAULT, EPERM, EOPNOTSUPP, EBUSY);
	return ES(0, ENOENT, EFAULT, EOPNOTSUPP, EBUSY);
}

static void op_access(struct thr *t, const struct profile *p)
{
	struct rng *r = &t->rng;
	struct spte_mirror_access a = { 0 }, in;
	enum kind k = K_ACCESS;
	const char *what = "buffer";
	bool normal;
	errset exp;
	int err;

	a.gpa = pick_gpa(r, p) + below(r, PG);
	a.size = 1 + below(r, one_in(r, 4) ? BUF_SIZE : 512);
	a.flags = below(r, 4);	/* WRITE and NO_FAULT */
	/* the checker's bytes are the checker's */
	if (p->checker_fd && in_views(a.gpa, a.size))
		a.flags &= ~SPTE_ACCESS_WRITE;
	a.buf = (uintptr_t)t->buf + below(r, BUF_SIZE - a.size + 1);
	exp = access_expect(a.flags);
	if (one_in(r, 10)) {
		k = K_ACCESS_BAD;
		exp = ES(EINVAL);
		switch (below(r, 5)) {
		case 0:
			a.flags |= 1ULL << (2 + below(r, 62));
			break;
		case 1:
			a.reserved[below(r, 2)] = rnd(r) | 1;
			break;
		case 2:
			a.size = 0;
			break;
		case 3:		/* wraps */
			a.gpa = ~0ULL - below(r, PG);
			a.size = 2 * PG;
			break;
		default:	/* ends beyond 48 bits */
			a.gpa = (1ULL << 48) - 1;
			a.size = 2;
			break;
		}
	} else if (one_in(r, 8)) {
		k = K_ACCESS_BUF;
		switch (below(r, 4)) {
		case 0:
		case 1:
			a.buf = wild_pointer(r, false, &what);
			exp = es_without(exp, 0);
			break;
		case 2:		/* readable, not writable */
			a.buf = (uintptr_t)t->ro;
			a.size = MIN(a.size, PG);
			what = "read-only page";
			if (!(a.flags & SPTE_ACCESS_WRITE))
				exp = es_without(exp, 0);
			break;
		default:	/* memory the other threads churn */
			a.buf = (uintptr_t)chaos +
				below(r, CHAOS_SIZE - a.size + 1);
			what = "chaos region";
			break;
		}
	} else if (one_in(r, 20)) {
		/* longer than the buffer before the guard page */
		k = K_ACCESS_HUGE;
		a.size = 1ULL << (20 + below(r, 20));
		a.buf = (uintptr_t)t->buf;
		exp = es_without(exp, 0);
	}
	in = a;
	err = issue(t, p->f->fd, SPTE_MIRROR_ACCESS, &a, sizeof(a),
		    OUT_UNLESS_EINVAL, &exp, &normal);
	if (!EXPECT(normal ? k : K_RO_ARG, err, exp,
		    "fd %s ACCESS gpa 0x%llx size 0x%llx flags 0x%llx buf 0x%llx (%s) reserved 0x%llx 0x%llx",
		    p->f->name, in.gpa, in.size, in.flags, in.buf, what,
		    in.reserved[0], in.reserved[1]) || !normal || err == EINVAL)
		return;
	CHECK(C_OUTPUTS, a.gpa == in.gpa && a.size == in.size &&
	      a.buf == in.buf && a.flags == in.flags &&
	      (err ? a.done < a.size : a.done == a.size),
	      "fd %s ACCESS gpa 0x%llx size 0x%llx flags 0x%llx (%s): done 0x%llx",
	      p->f->name, in.gpa, in.size, in.flags, errname(err), a.done);
}

/* The leaves one DUMP call returned, against the ABI's promises. */
static void dump_leaves_check(const struct mfd *f,
			      const struct spte_mirror_dump *in,
			      const struct spte_mirror_dump *d,
			      const struct spte_mirror_leaf *l, u64 *leaves_2m)
{
	bool cursor = in->flags & SPTE_DUMP_CURSOR;
	const char *bad = NULL;
	u64 i = 0, prev_end = 0;

	if (d->count > in->count)
		bad = "more leaves than asked for";
	else if (!cursor && d->needed != d->count)
		bad = "needed != count without a cursor";
	else if (cursor && d->count < in->count &&
		 d->next != SPTE_MIRROR_NONE)
		bad = "a short batch, but next is not NONE";
	else if (d->table_pages[SPTE_EPT_LEVELS - 1] != 1)
		bad = "not exactly one PML4 page";
	for (; !bad && i < d->count; i++) {
		u64 size = SPTE_EPT_LEVEL_SIZE(l[i].level);
		int v = f->checker ? view_of(l[i].gpa) : -1;

		if (l[i].level != 1 && l[i].level != 2)
			bad = "level not 1 or 2";
		else if (l[i].gpa & (size - 1))
			bad = "gpa not aligned to the leaf's size";
		else if (!(l[i].entry & SPTE_EPT_R))
			bad = "leaf without R";
		else if (l[i].entry & SPTE_EPT_STALE)
			bad = "stale leaf (skip_invalidate is off)";
		else if ((l[i].level == 2) != !!(l[i].entry & SPTE_EPT_PS))
			bad = "PS bit and level disagree";
		else if (!l[i].slot)
			bad = "leaf outside every slot";
		else if (i && l[i].gpa < prev_end)
			bad = "leaves out of GPA order, or overlapping";
		else if (cursor && l[i].gpa < in->start)
			bad = "leaf below the cursor";
		else if (v >= 0 && l[i].slot != view_ids[v])
			bad = "leaf of a checker view in another slot";
		else if (v >= 0 && l[i].hva != (uintptr_t)chk +
			 (l[i].gpa - G_VIEW(v)))
			bad = "hva of a checker view's leaf is wrong";
		else if (v == RO_VIEW && (l[i].entry & SPTE_EPT_W))
			bad = "writable leaf in the READONLY slot";
		prev_end = l[i].gpa + size;
		if (l[i].level == 2 && leaves_2m)
			(*leaves_2m)++;
	}
	if (!bad && cursor && d->count && d->next != SPTE_MIRROR_NONE &&
	    d->next < prev_end)
		bad = "next inside the last leaf";
	if (i)
		i--;
	CHECK(C_DUMP, !bad,
	      "fd %s DUMP start 0x%llx count %llu flags 0x%llx: %llu leaves, next 0x%llx; leaf %llu gpa 0x%llx entry 0x%llx level %u slot %u: %s",
	      f->name, in->start, in->count, in->flags, d->count, d->next, i,
	      d->count ? l[i].gpa : 0, d->count ? l[i].entry : 0,
	      d->count ? l[i].level : 0, d->count ? l[i].slot : 0, bad);
}

static void op_dump(struct thr *t, const struct profile *p)
{
	struct rng *r = &t->rng;
	struct spte_mirror_dump d = { 0 }, in;
	bool cursor = !one_in(r, 3), wild = false;
	const char *what = "buffer";
	enum kind k = K_DUMP;
	bool normal;
	errset exp;
	int err;

	d.leaves = (uintptr_t)t->leaves;
	d.count = below(r, DUMP_CAP + 1);
	if (cursor) {
		d.flags = SPTE_DUMP_CURSOR;
		d.start = one_in(r, 2) ? 0 : pick_gpa(r, p) + below(r, PG);
	}
	/* EAGAIN: invalidations kept changing the table under a whole dump */
	exp = cursor ? ES(0) : ES(0, E2BIG, EAGAIN);
	if (one_in(r, 10)) {
		k = K_DUMP_BAD;
		exp = ES(EINVAL);
		switch (below(r, 3)) {
		case 0:
			d.flags |= 1ULL << (1 + below(r, 63));
			break;
		case 1:
			d.reserved = rnd(r) | 1;
			break;
		default:	/* a cursor's fields without the cursor */
			d.flags = 0;
			if (one_in(r, 2))
				d.start = 1 + below(r, 1ULL << 40);
			else
				d.next = 1 + below(r, 1ULL << 40);
			break;
		}
	} else if (one_in(r, 8)) {
		k = K_DUMP_BUF;
		wild = true;
		switch (below(r, 4)) {
		case 0:
		case 1:
			d.leaves = wild_pointer(r, true, &what);
			break;
		case 2:
			d.leaves = (uintptr_t)t->ro;
			what = "read-only page";
			break;
		default:
			d.count = 1ULL << (14 + below(r, 30));
			what = "count beyond the buffer";
			break;
		}
		/* success: only if there was nothing to copy (or room) */
		exp = es_or(exp, ES(EFAULT));
	}
	in = d;
	err = issue(t, p->f->fd, SPTE_MIRROR_DUMP, &d, sizeof(d), OUT_ON_E2BIG,
		    &exp, &normal);
	if (!EXPECT(normal ? k : K_RO_ARG, err, exp,
		    "fd %s DUMP leaves 0x%llx (%s) count %llu flags 0x%llx start 0x%llx next 0x%llx reserved 0x%llx",
		    p->f->name, in.leaves, what, in.count, in.flags, in.start,
		    in.next, in.reserved) || !normal)
		return;
	if (err == E2BIG) {
		CHECK(C_OUTPUTS, d.needed > in.count && !d.count,
		      "fd %s DUMP count %llu: E2BIG with needed %llu, count %llu",
		      p->f->name, in.count, d.needed, d.count);
	} else if (!err && wild && d.leaves != (uintptr_t)t->leaves) {
		CHECK(C_OUTPUTS, !d.count,
		      "fd %s DUMP into %s 0x%llx succeeded with %llu leaves",
		      p->f->name, what, in.leaves, d.count);
	} else if (!err && (!wild || d.count <= DUMP_CAP)) {
		dump_leaves_check(p->f, &in, &d, t->leaves, NULL);
	} else if (!err) {
		CHECK(C_OUTPUTS, false,
		      "fd %s DUMP count %llu into %llu leaves of buffer: %llu leaves, past the guard page",
		      p->f->name, in.count, DUMP_CAP, d.count);
	}
}

static void op_log(struct thr *t, const struct profile *p)
{
	static const u64 sizes[] = { 2, 3, 7, 16, 64, 256, 1024, 4096 };
	static const u64 large[] = { 16384, 65536 };
	struct rng *r = &t->rng;
	struct spte_mirror_log_config c = { 0 }, in;
	enum kind k = K_LOG;
	bool normal;
	errset exp;
	int err;

	/*
	 * Mostly small rings, which overflow.  A new ring is zeroed, which
	 * under TCG takes milliseconds per MiB, all of it taken from the
	 * other ioctls: rings of MiBs come one time in 32, and on B one in
	 * 1000 is 24 to 96 MiB.
	 */
	if (one_in(r, 3))
		c.records = 0;
	else if (one_in(r, 32))
		c.records = large[below(r, G_N_ELEMENTS(large))];
	else
		c.records = sizes[below(r, G_N_ELEMENTS(sizes))];
	if (p->f == &fds[FD_B] && one_in(r, 1000))
		c.records = 1ULL << (18 + below(r, 3));
	/* C's callback counts must equal its sequence numbers: no filter */
	if (p->f->filters && one_in(r, 2))
		c.flags = SPTE_LOG_SLOTS_ONLY;
	exp = c.records >= (1ULL << 18) ? ES(0, ENOMEM) : ES(0);
	if (one_in(r, 6)) {
		static const u64 bad_sizes[] = {
			1, LOG_MAX + 1, 1ULL << 40, ~0ULL,
		};

		k = K_LOG_BAD;
		exp = ES(EINVAL);
		switch (below(r, 3)) {
		case 0:
			c.records = bad_sizes[below(r, 4)];
			break;
		case 1:
			c.flags |= 1ULL << (1 + below(r, 63));
			break;
		default:
			c.reserved[below(r, 6)] = rnd(r) | 1;
			break;
		}
	}
	in = c;
	err = issue(t, p->f->fd, SPTE_MIRROR_LOG_CONFIG, &c, sizeof(c),
		    OUT_ON_SUCCESS, &exp, &normal);
	if (!EXPECT(normal ? k : K_RO_ARG, err, exp,
		    "fd %s LOG_CONFIG records %llu flags 0x%llx reserved 0x%llx",
		    p->f->name, in.records, in.flags, in.reserved[0]) ||
	    !normal || err)
		return;
	CHECK(C_OUTPUTS, c.flags == in.flags && c.records >= 2 &&
	      c.records <= LOG_MAX && (!in.records || c.records == in.records),
	      "fd %s LOG_CONFIG records %llu flags 0x%llx returned records %llu flags 0x%llx",
	      p->f->name, in.records, in.flags, c.records, c.flags);
}

/* A callback counted that VERSION says is not registered, or -1. */
static int counters_foreign(const struct spte_mirror_counters *c)
{
	for (int i = 0; i < SPTE_CB_NR; i++)
		if (c->callbacks[i] && !mod_has(i))
			return i;
	return -1;
}

static void counters_outputs(const struct mfd *f,
			     const struct spte_mirror_counters *c)
{
	int foreign = counters_foreign(c);

	CHECK(C_OUTPUTS, foreign < 0,
	      "fd %s COUNTERS: %llu calls of %s, which VERSION says the module does not register",
	      f->name, foreign < 0 ? 0 : c->callbacks[foreign],
	      spte_mirror_callback_name(foreign));
	CHECK(C_OUTPUTS, c->table_pages >= 1 &&
	      c->leaves_present <= c->leaves_installed - c->leaves_zapped &&
	      c->leaves_zapped <= c->leaves_installed &&
	      !c->callbacks[SPTE_CB_DROPPED] && !reserved_set(c->reserved, 6),
	      "fd %s COUNTERS: table_pages %llu, leaves present %llu installed %llu zapped %llu",
	      f->name, c->table_pages, c->leaves_present, c->leaves_installed,
	      c->leaves_zapped);
}

static void op_counters(struct thr *t, const struct profile *p)
{
	struct spte_mirror_counters c = { 0 }, in;
	enum kind k = K_COUNTERS;
	errset exp = ES(0);
	bool normal;
	int err;

	if (one_in(&t->rng, 4)) {
		k = K_COUNTERS_BAD;
		exp = ES(EINVAL);
		spoil_arg(&t->rng, &c.flags, c.reserved,
			  G_N_ELEMENTS(c.reserved));
	}
	in = c;
	err = issue(t, p->f->fd, SPTE_MIRROR_COUNTERS, &c, sizeof(c),
		    OUT_ON_SUCCESS, &exp, &normal);
	if (EXPECT(normal ? k : K_RO_ARG, err, exp,
		   "fd %s COUNTERS flags 0x%llx reserved[0] 0x%llx",
		   p->f->name, in.flags, in.reserved[0]) && normal && !err)
		counters_outputs(p->f, &c);
}

static u64 audit_findings(const struct spte_mirror_audit *a)
{
	return a->stale_pfn + a->stale_unmapped + a->write_violations +
	       a->level_violations;
}

/* "3 stale_pfn ..., first: gpa 0x.. kind .. entry .. primary pfn .." */
static void audit_describe(const struct spte_mirror_audit *a, char *buf,
			   size_t len)
{
	const struct spte_mirror_audit_report *r = &a->reports[0];

	snprintf(buf, len,
		 "%llu leaves: stale_pfn %llu stale_unmapped %llu write %llu level %llu; first: gpa 0x%llx %s level %u entry 0x%llx primary pfn 0x%llx",
		 a->leaves, a->stale_pfn, a->stale_unmapped,
		 a->write_violations, a->level_violations,
		 a->nr_reports ? r->gpa : 0,
		 a->nr_reports ? spte_mirror_audit_kind_name(r->kind) : "-",
		 a->nr_reports ? r->level : 0, a->nr_reports ? r->entry : 0,
		 a->nr_reports ? r->primary_pfn : 0);
}

/* below, with the checker's state */
static void audit_context(const struct spte_mirror_audit_report *r,
			  char *buf, size_t len);

static void op_audit(struct thr *t, const struct profile *p)
{
	struct spte_mirror_audit a = { 0 }, in;
	enum kind k = K_AUDIT;
	/* EBUSY: invalidations kept racing one chunk for a second */
	errset exp = ES(0, EBUSY);
	char what[320];
	bool normal;
	int err;

	if (one_in(&t->rng, 4)) {
		k = K_AUDIT_BAD;
		exp = ES(EINVAL);
		spoil_arg(&t->rng, &a.flags, a.reserved,
			  G_N_ELEMENTS(a.reserved));
	}
	in = a;
	err = issue(t, p->f->fd, SPTE_MIRROR_AUDIT, &a, sizeof(a),
		    OUT_ON_SUCCESS, &exp, &normal);
	if (!EXPECT(normal ? k : K_RO_ARG, err, exp,
		    "fd %s AUDIT flags 0x%llx reserved[0] 0x%llx", p->f->name,
		    in.flags, in.reserved[0]) || !normal || err)
		return;
	/*
	 * No leaf is stale even while the memory churns: a leaf goes in
	 * invalidate_range_start, before the primary changes, and none is
	 * installed while an invalidation of its range is in progress.
	 */
	add(&sh->audit_findings, audit_findings(&a));
	audit_describe(&a, what, sizeof(what));
	if (audit_findings(&a) && a.nr_reports)
		audit_context(&a.reports[0], what + strlen(what),
			      sizeof(what) - strlen(what));
	CHECK(C_AUDIT_C, !audit_findings(&a) && a.nr_reports == 0,
	      "fd %s: %s", p->f->name, what);
}

/* The commands the ABI defines, and the size each one's struct has. */
static const unsigned long real_cmds[] = {
	SPTE_MIRROR_VERSION, SPTE_MIRROR_ATTACH, SPTE_MIRROR_ADD_SLOT,
	SPTE_MIRROR_DEL_SLOT, SPTE_MIRROR_MAP, SPTE_MIRROR_UNMAP,
	SPTE_MIRROR_ACCESS, SPTE_MIRROR_DUMP, SPTE_MIRROR_LOG_CONFIG,
	SPTE_MIRROR_COUNTERS, SPTE_MIRROR_AUDIT,
};

static bool is_real_cmd(unsigned long cmd)
{
	for (size_t i = 0; i < G_N_ELEMENTS(real_cmds); i++)
		if (real_cmds[i] == cmd)
			return true;
	return false;
}

/*
 * A command word the module does not know: a known number with another
 * size or direction, an unknown number, our number under a neighbouring
 * magic.  Never another magic than those: the VFS handles some generic
 * commands itself before the driver sees them (FIONBIO, FIGETBSZ,
 * FS_IOC_GETFLAGS ...), and those would succeed.
 */
static unsigned long bad_cmd(struct rng *r)
{
	static const unsigned int dirs[] = {
		_IOC_NONE, _IOC_READ, _IOC_WRITE, _IOC_READ | _IOC_WRITE,
	};
	unsigned long cmd, known;

	do {
		known = real_cmds[below(r, G_N_ELEMENTS(real_cmds))];
		switch (below(r, 4)) {
		case 0:		/* another size */
			cmd = _IOC(_IOC_READ | _IOC_WRITE, SPTE_MIRROR_IOC_MAGIC,
				   _IOC_NR(known), below(r, 1 << _IOC_SIZEBITS));
			break;
		case 1:		/* another direction */
			cmd = _IOC(dirs[below(r, 3)], SPTE_MIRROR_IOC_MAGIC,
				   _IOC_NR(known), _IOC_SIZE(known));
			break;
		case 2:		/* an unknown number */
			cmd = _IOC(dirs[below(r, 4)], SPTE_MIRROR_IOC_MAGIC,
				   G_N_ELEMENTS(real_cmds) +
				   below(r, 256 - G_N_ELEMENTS(real_cmds)),
				   below(r, 1 << _IOC_SIZEBITS));
			break;
		default:	/* the magic next door */
			cmd = _IOC(_IOC_READ | _IOC_WRITE,
				   SPTE_MIRROR_IOC_MAGIC + (one_in(r, 2) ? 1 : -1),
				   _IOC_NR(known), _IOC_SIZE(known));
			break;
		}
	} while (is_real_cmd(cmd));
	return cmd;
}

static void op_badcmd(struct thr *t, const struct profile *p)
{
	unsigned long cmd = bad_cmd(&t->rng);
	const char *what = "buffer";
	u64 arg = (uintptr_t)t->buf;
	int err;

	if (one_in(&t->rng, 3))
		arg = wild_pointer(&t->rng, true, &what);
	memset(t->buf, 0, 512);
	err = sys_ioctl(p->f->fd, cmd, (void *)(uintptr_t)arg);
	EXPECT(K_BADCMD, err, ES(ENOTTY),
	       "fd %s ioctl 0x%lx (dir %u type 0x%x nr 0x%x size %u) arg 0x%llx (%s)",
	       p->f->name, cmd, (unsigned int)_IOC_DIR(cmd),
	       (unsigned int)_IOC_TYPE(cmd), (unsigned int)_IOC_NR(cmd),
	       (unsigned int)_IOC_SIZE(cmd), arg, what);
}

/* A known command whose struct pointer points nowhere it may. */
static void op_wild_arg(struct thr *t, const struct profile *p)
{
	unsigned long cmd = real_cmds[below(&t->rng, G_N_ELEMENTS(real_cmds))];
	const char *what;
	u64 arg = wild_pointer(&t->rng, true, &what);
	int err = sys_ioctl(p->f->fd, cmd, (void *)(uintptr_t)arg);

	EXPECT(K_WILD_ARG, err, ES(EFAULT), "fd %s ioctl nr %u arg 0x%llx (%s)",
	       p->f->name, (unsigned int)_IOC_NR(cmd), arg, what);
}

/* What access_ok() accepts: below TASK_SIZE_MAX, without wrapping. */
static bool user_range(u64 p, u64 n)
{
	return p + n >= p && p + n <= USER_END - PG;
}

static int fd_index(const struct mfd *f)
{
	return (int)(f - fds);
}

static void op_read(struct thr *t, const struct profile *p)
{
	static const size_t sizes[] = {
		0, 1, REC - 1, REC, REC + 1, 2 * REC - 1, 2 * REC,
		10 * REC + 17, READ_MAX * REC, (READ_MAX + 1) * REC, 1 << 20,
		SIZE_MAX,
	};
	struct rng *r = &t->rng;
	size_t size = sizes[below(r, G_N_ELEMENTS(sizes))], room = BUF_SIZE;
	const char *what = "buffer";
	uint8_t *buf = t->buf + below(r, 64);
	enum kind k = K_READ;
	unsigned int how = below(r, 4);
	errset exp = ES(0, EAGAIN);
	ssize_t n;
	int err;

	if (how == 2) {
		k = K_READ_BUF;
		if (one_in(r, 3)) {
			buf = t->ro;
			what = "read-only page";
		} else {
			buf = (uint8_t *)(uintptr_t)wild_pointer(r, true, &what);
		}
		exp = ES(EFAULT, EAGAIN);
	} else if (how == 3) {
		/* room for a few records only, then the guard page */
		k = K_READ_BUF;
		room = (1 + below(r, 8)) * REC + below(r, REC);
		buf = t->buf + BUF_SIZE - room;
		what = "short buffer";
		exp = ES(0, EFAULT, EAGAIN);
	}
	if (size < REC) {
		k = K_READ_SHORT;
		exp = ES(EINVAL);
	}
	/* vfs_read() refuses a range outside user space before the driver */
	if (!user_range((uintptr_t)buf, size))
		exp = ES(EFAULT);
	n = read(p->f->fd, buf, size);
	err = n < 0 ? errno : 0;
	if (!EXPECT(k, err, exp, "fd %s read(%p (%s), %zu)", p->f->name, buf,
		    what, size) || n < 0)
		return;
	if (!CHECK(C_EVENTS, n > 0 && n % REC == 0 &&
		   (size_t)n <= MIN(size, READ_MAX * REC) && (size_t)n <= room,
		   "fd %s read(%p (%s), %zu) returned %zd", p->f->name, buf,
		   what, size, n))
		return;
	account(p->f, &t->rd[fd_index(p->f)], buf, n);
}

static void op_misc_fd(struct thr *t, const struct profile *p)
{
	struct pollfd pfd = { .fd = p->f->fd, .events = POLLIN | POLLOUT };
	void *m;
	int n;

	switch (below(&t->rng, 3)) {
	case 0:		/* no write method */
		n = write(p->f->fd, t->buf, REC);
		EXPECT(K_WRITE, n < 0 ? errno : 0, ES(EINVAL),
		       "fd %s write(%zu)", p->f->name, REC);
		break;
	case 1:		/* no mmap method */
		pthread_rwlock_rdlock(&addr_lock);
		m = mmap(NULL, PG, PROT_READ, MAP_SHARED, p->f->fd, 0);
		pthread_rwlock_unlock(&addr_lock);
		EXPECT(K_MMAP_FD, m == MAP_FAILED ? errno : 0, ES(ENODEV),
		       "fd %s mmap", p->f->name);
		if (m != MAP_FAILED)
			munmap(m, PG);
		break;
	default:
		n = poll(&pfd, 1, 0);
		if (EXPECT(K_POLL, n < 0 ? errno : 0, ES(0), "fd %s poll",
			   p->f->name))
			CHECK(C_OUTPUTS, !(pfd.revents & (POLLERR | POLLNVAL |
							  POLLOUT)),
			      "fd %s poll revents 0x%x", p->f->name,
			      pfd.revents);
		break;
	}
}

/*
 * Read a short-lived fd's log until EAGAIN: a new fd's sequence numbers
 * start at 1 and every one is either read or counted in a DROPPED record,
 * so what comes back is contiguous.
 */
static void drain_short_fd(int fd, uint8_t *buf, u64 *next_seq)
{
	struct spte_mirror_event e;
	ssize_t n;

	for (int i = 0; i < 8; i++) {
		n = read(fd, buf, READ_MAX * REC);
		if (!EXPECT(K_READ, n < 0 ? errno : 0, ES(0, EAGAIN),
			    "short-lived fd: read") || n <= 0)
			return;
		for (ssize_t off = 0; off + (ssize_t)REC <= n; off += REC) {
			const char *bad;
			u64 first;

			memcpy(&e, buf + off, REC);
			bad = event_insane(&e);
			first = e.callback == SPTE_CB_DROPPED && !bad ?
				e.seq - e.leaves + 1 : e.seq;
			if (!bad && first != *next_seq)
				bad = "a gap in the sequence numbers";
			if (!CHECK(C_EVENTS, !bad,
				   "short-lived fd: record seq %llu (%s, leaves %llu) where %llu was next: %s",
				   e.seq, spte_mirror_callback_name(e.callback),
				   e.leaves, *next_seq, bad))
				return;
			*next_seq = e.seq + 1;
		}
	}
}

/* A mirror opened, used for a moment and closed, with its slots. */
static void op_short_fd(struct thr *t)
{
	struct rng *r = &t->rng;
	struct spte_mirror_attach at = { 0 };
	struct spte_mirror_log_config lc = { 0 };
	struct spte_mirror_access a = { 0 };
	struct spte_mirror_map m = { 0 };
	errset exp;
	u64 next_seq = 1, nslots = 1 + below(r, 3);
	int fd, err;

	fd = open(SPTE_MIRROR_DEVICE, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (!EXPECT(K_OPEN, fd < 0 ? errno : 0, ES(0), "open %s",
		    SPTE_MIRROR_DEVICE))
		return;
	lc.records = 2 + below(r, 64);
	lc.flags = below(r, 2);
	err = sys_ioctl(fd, SPTE_MIRROR_LOG_CONFIG, &lc);
	EXPECT(K_SHORT_FD, err, ES(0), "short-lived fd: LOG_CONFIG records %llu",
	       lc.records);
	switch (below(r, 4)) {
	case 0:		/* our own thread group: allowed, changes nothing */
		at.pid = getpid();
		exp = ES(0);
		break;
	case 1:		/* init: we are not its tracer */
		at.pid = 1;
		exp = ES(EPERM);
		break;
	case 2:		/* above pid_max */
		at.pid = 4194304 + below(r, 1000);
		exp = ES(ESRCH);
		break;
	default:
		at.pid = 0;
		exp = ES(EINVAL);
		break;
	}
	err = sys_ioctl(fd, SPTE_MIRROR_ATTACH, &at);
	EXPECT(K_SHORT_FD, err, exp, "short-lived fd: ATTACH pid %llu", at.pid);
	for (u64 i = 0; i < nslots; i++) {
		struct spte_mirror_slot s = {
			.gpa = i * SZ_2M,
			.hva = (uintptr_t)chaos +
			       below(r, CHAOS_SIZE / SZ_2M) * SZ_2M,
			.size = SZ_2M,
		};

		err = sys_ioctl(fd, SPTE_MIRROR_ADD_SLOT, &s);
		EXPECT(K_SHORT_FD, err, ES(0, EOPNOTSUPP),
		       "short-lived fd: ADD_SLOT gpa 0x%llx hva 0x%llx",
		       s.gpa, s.hva);
	}
	m.gpa = below(r, nslots * 512) * PG;
	m.size = (1 + below(r, 64)) * PG;
	m.flags = below(r, 2) ? SPTE_MAP_WRITE : 0;
	err = sys_ioctl(fd, SPTE_MIRROR_MAP, &m);
	EXPECT(K_SHORT_FD, err, map_expect(m.flags),
	       "short-lived fd: MAP gpa 0x%llx size 0x%llx flags 0x%llx",
	       m.gpa, m.size, m.flags);
	a.gpa = below(r, nslots * SZ_2M);
	a.size = 1 + below(r, BUF_SIZE);
	a.buf = (uintptr_t)t->buf;
	err = sys_ioctl(fd, SPTE_MIRROR_ACCESS, &a);
	EXPECT(K_SHORT_FD, err, access_expect(0),
	       "short-lived fd: ACCESS gpa 0x%llx size 0x%llx", a.gpa, a.size);
	drain_short_fd(fd, t->buf, &next_seq);
	close(fd);
}

static void hostile_op(struct thr *t)
{
	const struct profile *p = t->prof;
	unsigned int w = below(&t->rng, 200);

	/* now and then another fd: C's rules still hold on C */
	if (one_in(&t->rng, 10))
		p = &profiles[below(&t->rng, NR_FDS)];
	if (w < 20)
		op_map(t, p);
	else if (w < 36)
		op_unmap(t, p);
	else if (w < 64)
		op_access(t, p);
	else if (w < 80)
		op_add_slot(t, p);
	else if (w < 96)
		op_del_slot(t, p);
	else if (w < 108)
		op_dump(t, p);
	else if (w < 116)
		op_log(t, p);
	else if (w < 124)
		op_counters(t, p);
	else if (w < 127)
		op_audit(t, p);
	else if (w < 134)
		op_version(t, p);
	else if (w < 138)
		op_attach(t, p);
	else if (w < 154)
		op_badcmd(t, p);
	else if (w < 170)
		op_wild_arg(t, p);
	else if (w < 192)
		op_read(t, p);
	else if (w < 199)
		op_misc_fd(t, p);
	else
		op_short_fd(t);
}

static void *worker_main(void *arg)
{
	struct thr *t = arg;

	while (gate_enter()) {
		for (int i = 0; i < 8; i++)
			hostile_op(t);
		gate_leave();
	}
	return NULL;
}

/* One per fd: drains the log as a consumer would, at uneven speed. */
static void *reader_main(void *arg)
{
	static const size_t sizes[] = {
		REC, 3 * REC, 10 * REC + 50, READ_MAX * REC,
		(READ_MAX + 1) * REC, 1 << 20,
	};
	struct thr *t = arg;
	struct mfd *f = t->prof->f;

	while (gate_enter()) {
		struct pollfd pfd = { .fd = f->fd, .events = POLLIN };
		int n = poll(&pfd, 1, 20);

		EXPECT(K_POLL, n < 0 ? errno : 0, ES(0), "fd %s poll", f->name);
		if (n > 0) {
			size_t size = sizes[below(&t->rng, G_N_ELEMENTS(sizes))];
			ssize_t got = read(f->fd, t->buf, size);

			/* EAGAIN: a worker's read took the records first */
			if (EXPECT(K_READ, got < 0 ? errno : 0, ES(0, EAGAIN),
				   "fd %s read(%zu)", f->name, size) &&
			    got > 0 &&
			    CHECK(C_EVENTS, got % REC == 0 &&
				  (size_t)got <= MIN(size, READ_MAX * REC),
				  "fd %s read(%zu) returned %zd", f->name,
				  size, got))
				account(f, &t->rd[fd_index(f)], t->buf, got);
		}
		gate_leave();
		/*
		 * A slow reader lets small rings overflow: DROPPED records.
		 * And draining every record of three busy mirrors took a
		 * tenth of the lab's CPU.
		 */
		if (one_in(&t->rng, 4))
			g_usleep(below(&t->rng, 60000));
	}
	return NULL;
}

/* ---- memory churn ------------------------------------------------ */

/* A page-aligned range of up to 2M in a region of @size bytes. */
static void pick_range(struct rng *r, u64 size, u64 *off, u64 *len)
{
	*len = one_in(r, 4) ? SZ_2M : (1 + below(r, 64)) * PG;
	*off = below(r, (size - *len) / PG + 1) * PG;
}

static void madv(enum kind k, uint8_t *base, const char *region, u64 off,
		 u64 len, int advice, const char *name, errset exp)
{
	int rc = madvise(base + off, len, advice);

	EXPECT(k, rc ? errno : 0, exp, "madvise(%s+0x%llx, 0x%llx, MADV_%s)",
	       region, off, len, name);
}

/*
 * Migrate up to 64 random pages of the region to random nodes.  Per page:
 * EFAULT (zero page, PROT_NONE, no page), ENOENT (not present), EACCES
 * (shared with a child), EBUSY (could not be isolated: pinned, being
 * freed, unmovable secretmem), ENOMEM.
 */
static void move_some(struct thr *t, uint8_t *base, u64 size,
		      const char *region)
{
	struct rng *r = &t->rng;
	int nodes[64], before[64], status[64];
	unsigned long n = 1 + below(r, 64);
	void *pages[64];
	long rc;

	for (unsigned long i = 0; i < n; i++) {
		pages[i] = base + below(r, size / PG) * PG;
		nodes[i] = below(r, nr_nodes);
		before[i] = status[i] = INT_MIN;
	}
	/* where they are now (no nodes: only query) */
	rc = syscall(SYS_move_pages, 0, n, pages, NULL, before, 0);
	EXPECT(K_MOVE_PAGES, rc < 0 ? errno : 0, ES(0),
	       "move_pages(%lu pages of the %s, query)", n, region);
	rc = syscall(SYS_move_pages, 0, n, pages, nodes, status, MPOL_MF_MOVE);
	if (!EXPECT(K_MOVE_PAGES, rc < 0 ? errno : 0, ES(0),
		    "move_pages(%lu pages of the %s)", n, region))
		return;
	for (unsigned long i = 0; i < n; i++) {
		/* a positive result: pages left behind, their status unset */
		if (status[i] == INT_MIN)
			continue;
		if (status[i] >= 0) {
			tally(K_MOVE_PAGE, 0, ES(0));
			if (status[i] == nodes[i] && before[i] >= 0 &&
			    before[i] != nodes[i])
				add(&sh->moved_pages, 1);
			continue;
		}
		EXPECT(K_MOVE_PAGE, -status[i],
		       ES(EFAULT, ENOENT, EACCES, EBUSY, ENOMEM),
		       "move_pages: %s+0x%llx to node %d", region,
		       (u64)((uint8_t *)pages[i] - base), nodes[i]);
	}
}

static const char *const chaos_types[] = {
	"anonymous", "anonymous PROT_NONE", "shared memfd", "private memfd",
	"secretmem", "hugetlb",
};

/* PROT_NONE over a hole a failed call may have left in the region. */
static u64 read_u64(const char *path);

/*
 * What limits a mapping call: the mappings against vm.max_map_count, the
 * address space, locked and committed memory.  For the report of a call
 * that failed with ENOMEM.
 */
static void mm_limits(char *buf, size_t len)
{
	g_autofree char *maps = NULL, *status = NULL, *meminfo = NULL;
	const char *vmsize, *locked, *avail, *committed;
	u64 lines = 0;

	if (g_file_get_contents("/proc/self/maps", &maps, NULL, NULL))
		for (const char *c = maps; *c; c++)
			lines += *c == '\n';
	g_file_get_contents("/proc/self/status", &status, NULL, NULL);
	g_file_get_contents("/proc/meminfo", &meminfo, NULL, NULL);
	vmsize = status ? strstr(status, "VmSize:") : NULL;
	locked = status ? strstr(status, "VmLck:") : NULL;
	avail = meminfo ? strstr(meminfo, "MemAvailable:") : NULL;
	committed = meminfo ? strstr(meminfo, "Committed_AS:") : NULL;
	snprintf(buf, len,
		 "%llu mappings (vm.max_map_count %llu), VmSize %llu kB, VmLck %llu kB, MemAvailable %llu kB, Committed_AS %llu kB",
		 lines, read_u64("/proc/sys/vm/max_map_count"),
		 vmsize ? (u64)g_ascii_strtoull(vmsize + 7, NULL, 10) : 0,
		 locked ? (u64)g_ascii_strtoull(locked + 6, NULL, 10) : 0,
		 avail ? (u64)g_ascii_strtoull(avail + 13, NULL, 10) : 0,
		 committed ? (u64)g_ascii_strtoull(committed + 13, NULL, 10) : 0);
}

static void chaos_fill_hole(u64 off, u64 len)
{
	void *got = mmap(chaos + off, len, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	int err = errno;
	char limits[256];

	if (got == chaos + off)
		return;
	mm_limits(limits, sizeof(limits));
	bail_out("cannot fill chaos+0x%llx+0x%llx again: %s; %s", off, len,
		 g_strerror(err), limits);
}

/* mmap MAP_FIXED something new over part of the chaos region. */
static void chaos_replace(struct thr *t, u64 off, u64 len)
{
	struct rng *r = &t->rng;
	unsigned int type = below(r, have_secretmem ? 5 : 4);
	int prot, flags;
	void *want = chaos + off, *got;
	/*
	 * EINVAL: the range cuts a hugetlb page, and nothing is unmapped.
	 * Before 6.12, mmap_region() reports every failure to unmap the
	 * old range as ENOMEM, that one too (6.12 returns the EINVAL of the
	 * split); for hugetlb memory also ENOMEM: no free huge page.
	 */
	errset exp = mod_kver < KV(6, 12) ? ES(0, EINVAL, ENOMEM) : ES(0, EINVAL);
	int fd = -1, err;

	/* a whole aligned 2M now and then: the slots over it start mid-page */
	if (have_hugetlb && !(off % SZ_2M) && len == SZ_2M && one_in(r, 4)) {
		type = 5;
		exp = ES(0, EINVAL, ENOMEM);
	}
	prot = type == 1 ? PROT_NONE : PROT_READ | PROT_WRITE;
	flags = MAP_FIXED | (type == 2 || type == 4 ? MAP_SHARED : MAP_PRIVATE);
	if (type <= 1 || type == 5) {
		flags |= MAP_ANONYMOUS | (type == 5 ? MAP_HUGETLB : 0);
	} else {
		fd = type == 4 ? syscall(SYS_memfd_secret, O_CLOEXEC) :
				 memfd_create("spte-stress", MFD_CLOEXEC);
		if (!EXPECT(K_MEMFD, fd < 0 ? errno : 0, ES(0), "%s",
			    chaos_types[type]))
			return;
		if (!EXPECT(K_MEMFD, ftruncate(fd, len) ? errno : 0, ES(0),
			    "ftruncate(%s, 0x%llx)", chaos_types[type], len)) {
			close(fd);
			return;
		}
	}
	got = mmap(want, len, prot, flags, fd, 0);
	err = got == MAP_FAILED ? errno : 0;
	EXPECT(K_MAP_FIXED, err, exp, "mmap(chaos+0x%llx, 0x%llx, %s, MAP_FIXED)",
	       off, len, chaos_types[type]);
	/*
	 * A failed MAP_FIXED may have unmapped the range already: no hole
	 * may stay.  One that cut a hugetlb page unmapped nothing, and
	 * filling it would cut the page again: msync() says ENOMEM only
	 * when part of the range is not mapped.
	 */
	if (err && msync(want, len, MS_ASYNC))
		chaos_fill_hole(off, len);
	if (fd >= 0)
		close(fd);
}

/*
 * Move the pages elsewhere and drop them there: the source range stays
 * mapped, empty (MREMAP_DONTUNMAP).  The kernel picks the destination,
 * so no mapping of ours is replaced, and a failure leaves no hole.
 * EFAULT: the range spans VMAs; EINVAL: a mapping mremap cannot move
 * this way (shared, secretmem).
 */
static void chaos_mremap(u64 off, u64 len)
{
	void *got;

	pthread_rwlock_rdlock(&addr_lock);
	got = mremap(chaos + off, len, len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
		     NULL);
	pthread_rwlock_unlock(&addr_lock);

	if (EXPECT(K_MREMAP, got == MAP_FAILED ? errno : 0,
		   ES(0, EFAULT, EINVAL, ENOMEM),
		   "mremap(chaos+0x%llx, 0x%llx, MAYMOVE | DONTUNMAP)", off,
		   len) && got != MAP_FAILED)
		munmap(got, len);
}

/*
 * Fresh pages moved into the range by mremap: the pages there are unmapped
 * first, then the new ones' page tables moved in.  The source is ours, the
 * kernel picked it; should the move fail after the unmap, the hole is
 * filled at once.
 */
static void chaos_mremap_in(struct thr *t, u64 off, u64 len)
{
	uint8_t *src;
	void *got;

	pthread_rwlock_rdlock(&addr_lock);
	src = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pthread_rwlock_unlock(&addr_lock);
	if (src == MAP_FAILED)
		return;
	memset(src, (int)rnd(&t->rng), len);
	got = mremap(src, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, chaos + off);
	/* EINVAL: the destination cuts a huge page */
	if (!EXPECT(K_MREMAP, got == MAP_FAILED ? errno : 0, ES(0, EINVAL),
		    "mremap(fresh pages, 0x%llx, MAYMOVE | FIXED, chaos+0x%llx)",
		    len, off)) {
		munmap(src, len);
		chaos_fill_hole(off, len);
	} else if (got == MAP_FAILED) {
		munmap(src, len);
	}
}

static void chaos_touch(struct thr *t, u64 off, u64 len)
{
	struct iovec local = { t->buf, MIN(len, BUF_SIZE) };
	struct iovec remote = { chaos + off, MIN(len, BUF_SIZE) };
	ssize_t n;

	switch (below(&t->rng, 3)) {
	case 0:
		fill_random(&t->rng, t->buf, local.iov_len);
		n = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
		/* EFAULT: PROT_NONE, read-only or secretmem at the start */
		EXPECT(K_VM_WRITE, n < 0 ? errno : 0, ES(0, EFAULT),
		       "process_vm_writev(chaos+0x%llx, 0x%zx)", off,
		       local.iov_len);
		break;
	case 1:
		n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
		EXPECT(K_VM_READ, n < 0 ? errno : 0, ES(0, EFAULT),
		       "process_vm_readv(chaos+0x%llx, 0x%zx)", off,
		       local.iov_len);
		break;
	default:
		/*
		 * FOLL_FORCE writes through PROT_READ and PROT_NONE private
		 * mappings too, breaking COW; EIO when nothing could be
		 * written (shared read-only, secretmem).
		 */
		fill_random(&t->rng, t->buf, local.iov_len);
		n = pwrite(self_mem, t->buf, local.iov_len,
			   (off_t)(uintptr_t)remote.iov_base);
		EXPECT(K_PROC_MEM, n < 0 ? errno : 0, ES(0, EIO, EFAULT),
		       "pwrite(/proc/self/mem, chaos+0x%llx, 0x%zx)", off,
		       local.iov_len);
		break;
	}
}

/*
 * Anything goes in the chaos region: its bytes are nobody's.  EINVAL: a
 * range that cuts a hugetlb page (mprotect, madvise); from madvise also
 * secretmem (VM_LOCKED) or hugetlb parts for DONTNEED, PAGEOUT, COLD and
 * COLLAPSE, shared or file parts for FREE.
 */
static void chaos_op(struct thr *t)
{
	static const int prots[] = {
		PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE,
		PROT_READ | PROT_WRITE,
	};
	struct rng *r = &t->rng;
	u64 off, len;
	int rc, prot;

	pick_range(r, CHAOS_SIZE, &off, &len);
	switch (below(r, 40)) {
	case 0 ... 5:
		prot = prots[below(r, 4)];
		rc = mprotect(chaos + off, len, prot);
		EXPECT(K_MPROTECT, rc ? errno : 0, ES(0, EINVAL),
		       "mprotect(chaos+0x%llx, 0x%llx, %d)", off, len, prot);
		break;
	case 6 ... 8:
		madv(K_DONTNEED, chaos, "chaos", off, len, MADV_DONTNEED,
		     "DONTNEED", ES(0, EINVAL));
		break;
	case 9 ... 10:
		madv(K_FREE, chaos, "chaos", off, len, MADV_FREE, "FREE",
		     ES(0, EINVAL));
		break;
	case 11 ... 13:
		madv(K_PAGEOUT, chaos, "chaos", off, len, MADV_PAGEOUT,
		     "PAGEOUT", ES(0, EINVAL));
		break;
	case 14:
		madv(K_COLD, chaos, "chaos", off, len, MADV_COLD, "COLD",
		     ES(0, EINVAL));
		break;
	case 15 ... 16:
		/* EAGAIN, ENOMEM: pages busy or no huge page to be had */
		off &= ~(SZ_2M - 1);
		madv(K_COLLAPSE, chaos, "chaos", off, SZ_2M, MADV_COLLAPSE,
		     "COLLAPSE", ES(0, EAGAIN, EINVAL, ENOMEM));
		break;
	case 17:
		if (one_in(r, 6))
			madv(K_HUGEPAGE, chaos, "chaos", off, len,
			     MADV_NOHUGEPAGE, "NOHUGEPAGE", ES(0, EINVAL));
		else
			madv(K_HUGEPAGE, chaos, "chaos", off, len,
			     MADV_HUGEPAGE, "HUGEPAGE", ES(0, EINVAL));
		break;
	case 18:
		if (one_in(r, 4))
			madv(K_UNMERGEABLE, chaos, "chaos", off, len,
			     MADV_UNMERGEABLE, "UNMERGEABLE", ES(0, EINVAL));
		else
			madv(K_MERGEABLE, chaos, "chaos", off, len,
			     MADV_MERGEABLE, "MERGEABLE", ES(0, EINVAL));
		break;
	case 19 ... 22:
		chaos_replace(t, off, len);
		break;
	case 23:
		chaos_mremap(off, len);
		break;
	case 24:
		chaos_mremap_in(t, off, len);
		break;
	case 25 ... 27:
		if (nr_nodes > 1) {
			move_some(t, chaos, CHAOS_SIZE, "chaos region");
			break;
		}
		/* fall through */
	default:
		chaos_touch(t, off, len);
		break;
	}
}

static void *chaos_main(void *arg)
{
	struct thr *t = arg;

	while (gate_enter()) {
		for (int i = 0; i < 2; i++)
			chaos_op(t);
		gate_leave();
		/*
		 * The lab is one TCG CPU: leave most of it to the ioctls
		 * (four operations and 2 ms here, and the churn took more of
		 * it than they did).
		 */
		g_usleep(6000);
	}
	return NULL;
}

/*
 * Churn that changes no byte, mostly on the checker's region: its data
 * must come through every one of these unchanged.  ENOMEM: a hole the
 * checker's munmap step leaves for a moment; EINVAL: its secretmem or
 * hugetlb step for PAGEOUT, COLD, COLLAPSE.
 */
static void preserve_op(struct thr *t)
{
	struct rng *r = &t->rng;
	bool in_chk = !one_in(r, 4);
	uint8_t *base = in_chk ? chk : chaos;
	u64 size = in_chk ? CHK_SIZE : CHAOS_SIZE, off, len;
	const char *region = in_chk ? "checker" : "chaos";
	struct iovec local = { t->buf, BUF_SIZE }, remote;
	ssize_t n;

	pick_range(r, size, &off, &len);
	switch (below(r, 32)) {
	case 0 ... 5:
		madv(K_PAGEOUT, base, region, off, len, MADV_PAGEOUT, "PAGEOUT",
		     ES(0, EINVAL, ENOMEM));
		break;
	case 6 ... 7:
		madv(K_COLD, base, region, off, len, MADV_COLD, "COLD",
		     ES(0, EINVAL, ENOMEM));
		break;
	case 8 ... 11:
		off &= ~(SZ_2M - 1);
		madv(K_COLLAPSE, base, region, off, SZ_2M, MADV_COLLAPSE,
		     "COLLAPSE", ES(0, EAGAIN, EINVAL, ENOMEM));
		break;
	case 12:
		if (one_in(r, 6))
			madv(K_HUGEPAGE, base, region, off, len,
			     MADV_NOHUGEPAGE, "NOHUGEPAGE", ES(0, EINVAL, ENOMEM));
		else
			madv(K_HUGEPAGE, base, region, 0, size, MADV_HUGEPAGE,
			     "HUGEPAGE", ES(0, EINVAL, ENOMEM));
		break;
	case 13 ... 14:
		madv(K_MERGEABLE, base, region, 0, size, MADV_MERGEABLE,
		     "MERGEABLE", ES(0, ENOMEM));
		break;
	case 15:
		/* breaks KSM sharing: a write fault in each merged page */
		madv(K_UNMERGEABLE, base, region, off, len, MADV_UNMERGEABLE,
		     "UNMERGEABLE", ES(0, ENOMEM));
		break;
	case 16:
		madv(K_WILLNEED, base, region, off, len, MADV_WILLNEED,
		     "WILLNEED", ES(0, ENOMEM, EBADF, EINVAL));
		break;
	case 17 ... 24:
		if (nr_nodes > 1) {
			move_some(t, base, size, in_chk ? "checker region" :
							  "chaos region");
			break;
		}
		/* fall through */
	case 25:
		/* every writable PTE of the process write-protected */
		if (one_in(r, 4)) {
			int err = write_text_errno("/proc/self/clear_refs", "4");

			EXPECT(K_CLEAR_REFS, err, ES(0), "clear_refs 4");
			break;
		}
		/* fall through */
	default:
		remote.iov_base = base + off;
		remote.iov_len = MIN(len, BUF_SIZE);
		local.iov_len = remote.iov_len;
		n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
		EXPECT(K_VM_READ, n < 0 ? errno : 0, ES(0, EFAULT),
		       "process_vm_readv(%s+0x%llx, 0x%zx)", region, off,
		       local.iov_len);
		break;
	}
}

static void *preserve_main(void *arg)
{
	struct thr *t = arg;

	while (gate_enter()) {
		preserve_op(t);
		gate_leave();
		g_usleep(below(&t->rng, 16000));
	}
	return NULL;
}

/* ---- the checker ------------------------------------------------- */

/* What backs a page of the checker's region. */
enum backing { BK_ANON, BK_SHARED, BK_PRIVATE };
static const char *const backing_names[] = {
	"anonymous", "shared memfd", "private memfd",
};
static const char *const view_names[] = {
	"device, slot", "device, alias slot", "device, READONLY alias",
};

/*
 * Only the checker thread writes the region and these (the controller
 * reads them while everything is stopped).  Its own forked children get
 * copies.
 */
static struct {
	int fd;			/* fd C */
	uint8_t *shadow;	/* what every byte of chk must be */
	uint8_t *file;		/* private memfd pages: the file's bytes */
	uint8_t backing[CHK_PAGES];
	uint8_t tmpl[NR_TEMPLATES][PG];
} ck;

/*
 * What each checker is doing, for the report of an AUDIT that finds a
 * stale leaf in its half while everything runs.
 */
static const char *volatile chk_doing[NR_CHECKERS];

/*
 * For a report in a checker view: the page's offset and backing, what its
 * checker is doing, and the CPU's page table entry for it right now
 * (/proc/self/pagemap: present, swapped, pfn): was the primary really
 * unmapped, and by which step?
 */
static void audit_context(const struct spte_mirror_audit_report *r,
			  char *buf, size_t len)
{
	int v = view_of(r->gpa);
	u64 off, pm = 0;
	int fd;

	if (v < 0 || len < 2)
		return;
	off = r->gpa - G_VIEW(v);
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (pread(fd, &pm, sizeof(pm),
			  ((uintptr_t)chk + off) / PG * sizeof(pm)) != sizeof(pm))
			pm = 0;
		close(fd);
	}
	snprintf(buf, len,
		 "; view %d, checker region +0x%llx (%s), checker %llu doing %s, pagemap now 0x%llx (present %d, swapped %d, pfn 0x%llx)",
		 v, off, backing_names[ck.backing[off / PG]], off / PART_SIZE,
		 chk_doing[off / PART_SIZE] ? chk_doing[off / PART_SIZE] : "-",
		 pm, (int)(pm >> 63), (int)((pm >> 62) & 1),
		 pm & ((1ULL << 55) - 1));
}

/* After a mismatch, the CPU's bytes are the truth: no cascade. */
static void chk_resync(u64 off, u64 len)
{
	memcpy(ck.shadow + off, chk + off, len);
}

/*
 * ACCESS through view @v of [off, off + len) of the region.  EBUSY
 * (invalidations raced one page for a second) is retried from where it
 * stopped, a few times.  Returns the errno.
 */
static int chk_access(u64 off, int v, void *buf, u64 len, u64 flags,
		      errset exp, const char *step)
{
	struct spte_mirror_access a;
	int err;

	for (int tries = 0;; tries++) {
		a = (struct spte_mirror_access){
			.gpa = G_VIEW(v) + off,
			.size = len,
			.buf = (uintptr_t)buf,
			.flags = flags,
		};
		err = sys_ioctl(ck.fd, SPTE_MIRROR_ACCESS, &a);
		EXPECT(K_CHK_ACCESS, err, es_or(exp, ES(EBUSY)),
		       "%s: ACCESS (%s) gpa 0x%llx size 0x%llx flags 0x%llx",
		       step, view_names[v], a.gpa, len, flags);
		if (err != EBUSY || tries == 3 || a.done >= len)
			return err;
		off += a.done;
		buf = (uint8_t *)buf + a.done;
		len -= a.done;
	}
}

static bool chk_compare(enum kind k, const char *step, const char *view,
			const uint8_t *got, u64 off, u64 len)
{
	const uint8_t *want = ck.shadow + off;
	u64 i = 0;

	if (!memcmp(got, want, len))
		return check_pass(k);
	while (got[i] == want[i])
		i++;
	check_fail(k, "%s: %s: byte 0x%llx of the checker region (page %llu, %s) is 0x%02x, should be 0x%02x (range 0x%llx+0x%llx)",
		   step, view, off + i, (off + i) / PG,
		   backing_names[ck.backing[(off + i) / PG]], got[i], want[i],
		   off, len);
	return false;
}

static void chk_cpu_compare(enum kind k, const char *step, u64 off, u64 len)
{
	if (!chk_compare(k, step, "CPU", chk + off, off, len))
		chk_resync(off, len);
}

/* A device read through view @v, compared with what the bytes must be. */
static void chk_read(struct thr *t, enum kind k, const char *step, int v,
		     u64 off, u64 len, bool no_fault)
{
	int err;

	memset(t->buf, 0xa5, len);
	/* NO_FAULT: only leaves already there, so EFAULT on a miss */
	err = chk_access(off, v, t->buf, len,
			 no_fault ? SPTE_ACCESS_NO_FAULT : 0,
			 no_fault ? ES(0, EFAULT) : ES(0), step);
	if (!err)
		chk_compare(k, step, view_names[v], t->buf, off, len);
}

/* An access that must fail with @want, and counts as check @k. */
static void chk_refused(struct thr *t, enum kind k, const char *step, int v,
			u64 off, u64 len, u64 flags, int want)
{
	int err = chk_access(off, v, t->buf, len, flags, ES(want), step);

	CHECK(k, err == want, "%s: ACCESS (%s) of 0x%llx+0x%llx flags 0x%llx: %s, should be %s",
	      step, view_names[v], off, len, flags, errname(err),
	      errname(want));
}

static void chk_map_refused(enum kind k, const char *step, u64 off, u64 len,
			    u64 flags, int want)
{
	struct spte_mirror_map m = {
		.gpa = G_VIEW(0) + off, .size = len, .flags = flags,
	};
	int err = sys_ioctl(ck.fd, SPTE_MIRROR_MAP, &m);

	EXPECT(K_CHK_IOCTL, err, ES(want, EBUSY), "%s: MAP gpa 0x%llx size 0x%llx flags 0x%llx",
	       step, m.gpa, len, flags);
	CHECK(k, err == want || err == EBUSY, "%s: MAP of 0x%llx+0x%llx flags 0x%llx: %s, should be %s",
	      step, off, len, flags, errname(err), errname(want));
}

/* 1..16 whole pages of the checker's half */
static void chk_pick_pages(struct thr *t, u64 *off, u64 *len)
{
	u64 n = 1 + below(&t->rng, CELL_PAGES);

	*off = t->part + below(&t->rng, PART_SIZE / PG - n + 1) * PG;
	*len = n * PG;
}

/* 1 byte to 64 KiB, anywhere in the checker's half */
static void chk_pick_bytes(struct thr *t, u64 *off, u64 *len)
{
	*len = 1 + below(&t->rng, one_in(&t->rng, 2) ? BUF_SIZE : 2 * PG);
	*off = t->part + below(&t->rng, PART_SIZE - *len + 1);
}

/* a 2M-aligned 2M of the checker's half */
static u64 chk_pick_2m(struct thr *t)
{
	return t->part + below(&t->rng, PART_SIZE / SZ_2M) * SZ_2M;
}

static bool in_ksm_area(u64 off)
{
	return off % PART_SIZE < KSM_AREA;
}

static bool chk_no_shared(u64 off, u64 len)
{
	for (u64 pg = off / PG; pg < (off + len + PG - 1) / PG; pg++)
		if (ck.backing[pg] == BK_SHARED)
			return false;
	return true;
}

/*
 * New bytes for [off, off + len): copies of the templates (whole pages
 * the same as others: KSM merges them), one value, or random.
 */
static void chk_content(struct rng *r, uint8_t *dst, u64 off, u64 len)
{
	u64 i = 0, o, n;

	switch (below(r, in_ksm_area(off) ? 2 : 5)) {
	case 0:
	case 1:
		while (i < len) {
			o = off + i;
			n = MIN(PG - o % PG, len - i);
			memcpy(dst + i, ck.tmpl[below(r, NR_TEMPLATES)] + o % PG,
			       n);
			i += n;
		}
		break;
	case 2:
		memset(dst, (int)rnd(r), len);
		break;
	default:
		fill_random(r, dst, len);
		break;
	}
}

static void chk_cpu_write(struct thr *t)
{
	struct rng *r = &t->rng;
	u64 off, len;

	chk_pick_bytes(t, &off, &len);
	chk_content(r, t->buf, off, len);
	memcpy(chk + off, t->buf, len);
	memcpy(ck.shadow + off, t->buf, len);
	chk_read(t, C_DEV_READ, "after a CPU write", below(r, NR_VIEWS), off,
		 len, one_in(r, 4));
}

static void chk_dev_write(struct thr *t)
{
	struct rng *r = &t->rng;
	int v = below(r, 2), err;
	u64 off, len;

	chk_pick_bytes(t, &off, &len);
	chk_content(r, t->buf, off, len);
	err = chk_access(off, v, t->buf, len, SPTE_ACCESS_WRITE, ES(0),
			 "device write");
	if (err) {
		chk_resync(off, len);
		return;
	}
	memcpy(ck.shadow + off, t->buf, len);
	chk_cpu_compare(C_DEV_WRITE, "after a device write", off, len);
	chk_read(t, C_DEV_READ, "after a device write", RO_VIEW, off, len,
		 false);
	if (one_in(r, 4)) {
		/* refused before any byte is written */
		fill_random(r, t->buf, len);
		chk_refused(t, C_RO_SLOT, "write through the READONLY slot",
			    RO_VIEW, off, len, SPTE_ACCESS_WRITE, EPERM);
		chk_cpu_compare(C_RO_SLOT, "after a refused write", off, len);
	}
}

static void chk_verify(struct thr *t)
{
	struct rng *r = &t->rng;
	u64 off, len;

	chk_pick_bytes(t, &off, &len);
	chk_cpu_compare(C_CPU, "verify", off, len);
	for (int v = 0; v < NR_VIEWS; v++)
		chk_read(t, C_DEV_READ, "verify", v, off, len, one_in(r, 4));
}

/* MAP a 2M of a view (2M leaves over a THP), then read through it. */
static void chk_map(struct thr *t)
{
	struct rng *r = &t->rng;
	int v = below(r, NR_VIEWS), err;
	struct spte_mirror_map m = {
		.size = SZ_2M,
		.flags = (one_in(r, 3) ? SPTE_MAP_NO_HUGE : 0) |
			 (v != RO_VIEW && one_in(r, 4) ? SPTE_MAP_WRITE : 0),
	};
	u64 off = chk_pick_2m(t);

	m.gpa = G_VIEW(v) + off;
	err = sys_ioctl(ck.fd, SPTE_MIRROR_MAP, &m);
	if (!EXPECT(K_CHK_IOCTL, err, ES(0, EBUSY),
		    "MAP gpa 0x%llx size 2M flags 0x%llx", m.gpa, m.flags) ||
	    err)
		return;
	add(&sh->leaves_2m, m.mapped_2m);
	CHECK(C_OUTPUTS, m.mapped_4k + 512 * m.mapped_2m == 512 && !m.skipped &&
	      (!m.mapped_2m || !(m.flags & SPTE_MAP_NO_HUGE)),
	      "MAP gpa 0x%llx size 2M flags 0x%llx: mapped_4k %llu mapped_2m %llu skipped %llu",
	      m.gpa, m.flags, m.mapped_4k, m.mapped_2m, m.skipped);
	off += below(r, SZ_2M - BUF_SIZE + 1);
	chk_read(t, C_DEV_READ, m.mapped_2m ? "through a 2M leaf" : "after MAP",
		 v, off, BUF_SIZE, one_in(r, 2));
}

/* Fresh anonymous memory over [off, off + len): zeroes. */
static void chk_anon(u64 off, u64 len)
{
	if (mmap(chk + off, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != chk + off)
		bail_out("cannot map the checker region back at 0x%llx: %s",
			 off, g_strerror(errno));
	memset(ck.shadow + off, 0, len);
	memset(ck.backing + off / PG, BK_ANON, len / PG);
}

/*
 * A fresh 2M cell with THP advice, filled by the CPU: the first write
 * faults in a huge page (or MADV_COLLAPSE makes one), so MAP installs a
 * 2M leaf, which every later split of that page must take away.
 */
static void chk_thp(struct thr *t)
{
	struct rng *r = &t->rng;
	u64 off = chk_pick_2m(t);
	int v = below(r, NR_VIEWS), err;
	struct spte_mirror_map m = { .gpa = G_VIEW(v) + off, .size = SZ_2M };

	chk_anon(off, SZ_2M);
	madv(K_HUGEPAGE, chk, "checker", off, SZ_2M, MADV_HUGEPAGE, "HUGEPAGE",
	     ES(0));
	chk_content(r, ck.shadow + off, off, SZ_2M);
	memcpy(chk + off, ck.shadow + off, SZ_2M);
	for (int tries = 0; tries < 2; tries++) {
		err = sys_ioctl(ck.fd, SPTE_MIRROR_MAP, &m);
		if (!EXPECT(K_CHK_IOCTL, err, ES(0, EBUSY),
			    "MAP gpa 0x%llx size 2M (THP cell)", m.gpa) || err)
			return;
		add(&sh->leaves_2m, m.mapped_2m);
		if (m.mapped_2m)
			break;
		/* EINVAL, EAGAIN, ENOMEM: no huge page to be had just now */
		madv(K_COLLAPSE, chk, "checker", off, SZ_2M, MADV_COLLAPSE,
		     "COLLAPSE", ES(0, EAGAIN, EINVAL, ENOMEM));
	}
	for (int i = 0; i < 3; i++)
		chk_read(t, C_DEV_READ, m.mapped_2m ? "a THP cell, 2M leaf" :
			 "a THP cell", below(r, NR_VIEWS),
			 off + below(r, SZ_2M - BUF_SIZE + 1), BUF_SIZE,
			 one_in(r, 2));
}

static void chk_dontneed(struct thr *t)
{
	struct rng *r = &t->rng;
	u64 off, len;
	int rc;

	chk_pick_pages(t, &off, &len);
	rc = madvise(chk + off, len, MADV_DONTNEED);
	if (!EXPECT(K_DONTNEED, rc ? errno : 0, ES(0),
		    "madvise(checker+0x%llx, 0x%llx, MADV_DONTNEED)", off, len))
		return;
	/* anonymous: zeroes; shared memfd: unchanged; private: the file */
	for (u64 pg = off / PG; pg < (off + len) / PG; pg++) {
		if (ck.backing[pg] == BK_ANON)
			memset(ck.shadow + pg * PG, 0, PG);
		else if (ck.backing[pg] == BK_PRIVATE)
			memcpy(ck.shadow + pg * PG, ck.file + pg * PG, PG);
	}
	chk_read(t, C_DONTNEED, "after MADV_DONTNEED", below(r, NR_VIEWS), off,
		 len, true);
	chk_read(t, C_DONTNEED, "after MADV_DONTNEED", below(r, NR_VIEWS), off,
		 len, false);
	chk_cpu_compare(C_DONTNEED, "after MADV_DONTNEED", off, len);
}

/* Punch a hole in shared memfd pages: zeroes.  False if none there. */
static bool chk_remove(struct thr *t)
{
	struct rng *r = &t->rng;
	u64 first = (t->part + below(r, PART_SIZE)) / PG, n = 0, off, len;
	int rc;

	while (n < CELL_PAGES && first + n < (t->part + PART_SIZE) / PG &&
	       ck.backing[first + n] == BK_SHARED)
		n++;
	if (!n)
		return false;
	off = first * PG;
	len = n * PG;
	rc = madvise(chk + off, len, MADV_REMOVE);
	if (!EXPECT(K_REMOVE, rc ? errno : 0, ES(0),
		    "madvise(checker+0x%llx, 0x%llx, MADV_REMOVE)", off, len))
		return true;
	memset(ck.shadow + off, 0, len);
	chk_read(t, C_REMOVE, "after MADV_REMOVE", below(r, NR_VIEWS), off,
		 len, true);
	chk_read(t, C_REMOVE, "after MADV_REMOVE", below(r, NR_VIEWS), off,
		 len, false);
	chk_cpu_compare(C_REMOVE, "after MADV_REMOVE", off, len);
	return true;
}

/* New memory over [off, off + len): anonymous, shared or private memfd. */
static void chk_remap(struct thr *t)
{
	struct rng *r = &t->rng;
	unsigned int type = below(r, 3);
	u64 off, len;
	void *got;
	int fd = -1;

	chk_pick_pages(t, &off, &len);
	if (type == BK_ANON) {
		got = mmap(chk + off, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		memset(t->buf, 0, len);
	} else {
		fd = memfd_create("spte-stress", MFD_CLOEXEC);
		if (!EXPECT(K_MEMFD, fd < 0 ? errno : 0, ES(0), "memfd_create"))
			return;
		chk_content(r, t->buf, off, len);
		if (!EXPECT(K_MEMFD, pwrite(fd, t->buf, len, 0) == (ssize_t)len ?
			    0 : errno ? errno : EIO, ES(0),
			    "pwrite(memfd, 0x%llx)", len)) {
			close(fd);
			return;
		}
		got = mmap(chk + off, len, PROT_READ | PROT_WRITE,
			   MAP_FIXED | (type == BK_SHARED ? MAP_SHARED :
							    MAP_PRIVATE),
			   fd, 0);
		close(fd);
	}
	if (!EXPECT(K_MAP_FIXED, got == MAP_FAILED ? errno : 0, ES(0),
		    "mmap(checker+0x%llx, 0x%llx, %s, MAP_FIXED)", off, len,
		    backing_names[type])) {
		chk_anon(off, len);
		return;
	}
	memcpy(ck.shadow + off, t->buf, len);
	if (type == BK_PRIVATE)
		memcpy(ck.file + off, t->buf, len);
	memset(ck.backing + off / PG, type, len / PG);
	/* no leaf of the memory that was there may be left */
	chk_read(t, C_REMAP, "after MAP_FIXED", below(r, NR_VIEWS), off, len,
		 true);
	chk_read(t, C_REMAP, "after MAP_FIXED", below(r, NR_VIEWS), off, len,
		 false);
	chk_cpu_compare(C_REMAP, "after MAP_FIXED", off, len);
}

static void chk_mprotect(struct thr *t)
{
	struct rng *r = &t->rng;
	int v = below(r, NR_VIEWS);
	u64 off, len;

	chk_pick_pages(t, &off, &len);
	if (!EXPECT(K_MPROTECT, mprotect(chk + off, len, PROT_READ) ? errno : 0,
		    ES(0), "mprotect(checker+0x%llx, 0x%llx, PROT_READ)", off,
		    len))
		return;
	/* a write fault on a VMA without VM_WRITE: EPERM, nothing written */
	fill_random(r, t->buf, len);
	chk_refused(t, C_WP, "device write to PROT_READ memory", below(r, 2),
		    off, len, SPTE_ACCESS_WRITE, EPERM);
	chk_read(t, C_WP, "PROT_READ memory", v, off, len, false);
	chk_cpu_compare(C_WP, "PROT_READ memory", off, len);
	if (EXPECT(K_MPROTECT, mprotect(chk + off, len, PROT_NONE) ? errno : 0,
		   ES(0), "mprotect(checker+0x%llx, 0x%llx, PROT_NONE)", off,
		   len)) {
		chk_refused(t, C_PROT_NONE, "device read of PROT_NONE memory", v,
			    off, len, 0, EFAULT);
		/* the mprotect zapped every leaf: a miss, even without fault */
		chk_refused(t, C_PROT_NONE, "device read of PROT_NONE memory", v,
			    off, len, SPTE_ACCESS_NO_FAULT, EFAULT);
		chk_map_refused(C_PROT_NONE, "MAP of PROT_NONE memory", off,
				len, 0, EFAULT);
	}
	if (!EXPECT(K_MPROTECT, mprotect(chk + off, len, PROT_READ | PROT_WRITE) ?
		    errno : 0, ES(0),
		    "mprotect(checker+0x%llx, 0x%llx, PROT_READ | PROT_WRITE)",
		    off, len))
		bail_out("the checker region stays protected");
}

/*
 * A real hole for a moment: the device must not reach what was there.
 * The hole is filled again with MAP_FIXED_NOREPLACE, so should another
 * thread's mmap have taken it meanwhile, that is found, not overwritten.
 */
static void chk_munmap(struct thr *t)
{
	struct rng *r = &t->rng;
	int v = below(r, NR_VIEWS);
	u64 off, len;
	void *got;

	chk_pick_pages(t, &off, &len);
	pthread_rwlock_wrlock(&addr_lock);
	if (!EXPECT(K_MUNMAP, munmap(chk + off, len) ? errno : 0, ES(0),
		    "munmap(checker+0x%llx, 0x%llx)", off, len)) {
		pthread_rwlock_unlock(&addr_lock);
		return;
	}
	chk_refused(t, C_MUNMAP, "device read after munmap", v, off, len, 0,
		    EFAULT);
	chk_refused(t, C_MUNMAP, "device read after munmap", v, off, len,
		    SPTE_ACCESS_NO_FAULT, EFAULT);
	chk_map_refused(C_MUNMAP, "MAP after munmap", off, len,
			SPTE_MAP_WRITE, EFAULT);
	got = mmap(chk + off, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	pthread_rwlock_unlock(&addr_lock);
	if (got != chk + off)
		bail_out("the checker region's hole at 0x%llx+0x%llx could not be filled again (%s)",
			 off, len, got == MAP_FAILED ? g_strerror(errno) :
			 "mapped elsewhere");
	memset(ck.shadow + off, 0, len);
	memset(ck.backing + off / PG, BK_ANON, len / PG);
	chk_read(t, C_MUNMAP, "after munmap and a new mapping", v, off, len,
		 false);
}

static void chk_unmap(struct thr *t)
{
	struct rng *r = &t->rng;
	int v = below(r, NR_VIEWS), err;
	struct spte_mirror_range u = { 0 };
	u64 off, len;

	chk_pick_pages(t, &off, &len);
	u.gpa = G_VIEW(v) + off;
	u.size = len;
	err = sys_ioctl(ck.fd, SPTE_MIRROR_UNMAP, &u);
	if (!EXPECT(K_CHK_IOCTL, err, ES(0), "UNMAP gpa 0x%llx size 0x%llx",
		    u.gpa, len))
		return;
	chk_read(t, C_UNMAP, "after UNMAP", v, off, len, true);
	chk_read(t, C_UNMAP, "after UNMAP", v, off, len, false);
}

/* Whole pages from the templates, written by the CPU or the device. */
static void chk_ksm(struct thr *t)
{
	struct rng *r = &t->rng;
	u64 n = 1 + below(r, CELL_PAGES);
	u64 off = t->part + below(r, KSM_AREA / PG - n + 1) * PG, len = n * PG;
	int err;

	for (u64 i = 0; i < n; i++)
		memcpy(t->buf + i * PG, ck.tmpl[below(r, NR_TEMPLATES)], PG);
	if (one_in(r, 2)) {
		memcpy(chk + off, t->buf, len);
		memcpy(ck.shadow + off, t->buf, len);
	} else {
		/* a merged page: the write faults in its own copy first */
		err = chk_access(off, below(r, 2), t->buf, len,
				 SPTE_ACCESS_WRITE, ES(0), "device write, KSM area");
		if (err) {
			chk_resync(off, len);
			return;
		}
		memcpy(ck.shadow + off, t->buf, len);
		chk_cpu_compare(C_DEV_WRITE, "after a device write, KSM area",
				off, len);
	}
	chk_read(t, C_DEV_READ, "KSM area", below(r, NR_VIEWS), off, len,
		 false);
}

static const char *status_text(int st)
{
	static __thread char buf[48];

	if (WIFEXITED(st))
		snprintf(buf, sizeof(buf), "exited %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, sizeof(buf), "killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, sizeof(buf), "status 0x%x", st);
	return buf;
}

static int wait_for(pid_t pid)
{
	int st = 0;
	pid_t w;

	do {
		w = waitpid(pid, &st, 0);
	} while (w < 0 && errno == EINTR);
	return w == pid ? st : -1;
}

/*
 * fork, then a device write in the parent: the child keeps the bytes it
 * had (its copy of the shadow says which), and what the child writes into
 * its copy stays out of the parent's.  Shared memfd pages are shared by
 * design, so both ranges avoid them.
 */
static void chk_fork_cow(struct thr *t)
{
	struct rng *r = &t->rng;
	u64 off1 = 0, len1 = 0, off2 = 0, len2 = 0;
	int go[2], st, err, tries;
	char c = 'g';
	pid_t pid;

	for (tries = 0; tries < 8; tries++) {
		chk_pick_pages(t, &off1, &len1);
		chk_pick_pages(t, &off2, &len2);
		if (chk_no_shared(off1, len1) && chk_no_shared(off2, len2))
			break;
	}
	if (tries == 8 || pipe2(go, O_CLOEXEC))
		return;
	pid = fork();
	if (pid == 0) {
		in_child = true;
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		if (memcmp(chk + off1, ck.shadow + off1, len1))
			_exit(3);
		memset(chk + off2, 0xc3, len2);
		_exit(0);
	}
	close(go[0]);
	if (!EXPECT(K_FORK, pid < 0 ? errno : 0, ES(0), "fork (COW check)")) {
		close(go[1]);
		return;
	}
	chk_content(r, t->buf, off1, len1);
	err = chk_access(off1, below(r, 2), t->buf, len1, SPTE_ACCESS_WRITE,
			 ES(0), "device write after fork");
	if (!err)
		memcpy(ck.shadow + off1, t->buf, len1);
	else
		chk_resync(off1, len1);
	if (write(go[1], &c, 1) != 1)
		report("telling the COW child to go: %s", g_strerror(errno));
	close(go[1]);
	st = wait_for(pid);
	CHECK(C_COW, st >= 0 && WIFEXITED(st) && !WEXITSTATUS(st),
	      "the child, after the parent's device write of 0x%llx+0x%llx: %s (3: it saw the write)",
	      off1, len1, st < 0 ? "lost" : status_text(st));
	chk_read(t, C_COW, "after the child wrote its copy", below(r, NR_VIEWS),
		 off2, len2, false);
	chk_cpu_compare(C_COW, "after the child wrote its copy", off2, len2);
}

/* A 2M hugetlb page for a while: 2M leaves of another kind of memory. */
static void chk_hugetlb(struct thr *t)
{
	struct rng *r = &t->rng;
	u64 off = chk_pick_2m(t), sub;
	void *got;
	int err;

	got = mmap(chk + off, SZ_2M, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED, -1, 0);
	/* ENOMEM: no free huge page just now */
	if (!EXPECT(K_MAP_FIXED, got == MAP_FAILED ? errno : 0, ES(0, ENOMEM),
		    "mmap(checker+0x%llx, 2M, MAP_HUGETLB | MAP_FIXED)", off) ||
	    got == MAP_FAILED) {
		chk_anon(off, SZ_2M);
		return;
	}
	fill_random(r, ck.shadow + off, SZ_2M);
	memcpy(chk + off, ck.shadow + off, SZ_2M);
	memset(ck.backing + off / PG, BK_ANON, SZ_2M / PG);
	for (int i = 0; i < 3; i++) {
		sub = off + below(r, SZ_2M - BUF_SIZE + 1);
		chk_read(t, C_HUGETLB, "hugetlb page", below(r, NR_VIEWS), sub,
			 BUF_SIZE, false);
	}
	sub = off + below(r, SZ_2M - BUF_SIZE + 1);
	fill_random(r, t->buf, BUF_SIZE);
	err = chk_access(sub, below(r, 2), t->buf, BUF_SIZE, SPTE_ACCESS_WRITE,
			 ES(0), "device write, hugetlb page");
	if (!err) {
		memcpy(ck.shadow + sub, t->buf, BUF_SIZE);
		chk_cpu_compare(C_HUGETLB, "after a device write, hugetlb page",
				sub, BUF_SIZE);
	} else {
		chk_resync(sub, BUF_SIZE);
	}
	/* small pages again: no leaf may keep the huge page */
	chk_anon(off, SZ_2M);
	sub = off + below(r, SZ_2M - BUF_SIZE + 1);
	chk_read(t, C_HUGETLB, "after replacing a hugetlb page",
		 below(r, NR_VIEWS), sub, BUF_SIZE, true);
	chk_read(t, C_HUGETLB, "after replacing a hugetlb page",
		 below(r, NR_VIEWS), sub, BUF_SIZE, false);
}

/* secretmem is outside the direct map: the mirror must not touch it. */
static void chk_secret(struct thr *t)
{
	struct rng *r = &t->rng;
	int v = below(r, NR_VIEWS), fd;
	u64 off, len;
	void *got;

	chk_pick_pages(t, &off, &len);
	fd = syscall(SYS_memfd_secret, O_CLOEXEC);
	if (!EXPECT(K_MEMFD, fd < 0 ? errno : 0, ES(0), "memfd_secret"))
		return;
	if (!EXPECT(K_MEMFD, ftruncate(fd, len) ? errno : 0, ES(0),
		    "ftruncate(secretmem, 0x%llx)", len)) {
		close(fd);
		return;
	}
	got = mmap(chk + off, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		   fd, 0);
	close(fd);
	if (!EXPECT(K_MAP_FIXED, got == MAP_FAILED ? errno : 0, ES(0),
		    "mmap(checker+0x%llx, 0x%llx, secretmem, MAP_FIXED)", off,
		    len)) {
		chk_anon(off, len);
		return;
	}
	memset(chk + off, 0x77, len);
	chk_refused(t, C_SECRET, "device read of secretmem", v, off, len, 0,
		    EOPNOTSUPP);
	chk_refused(t, C_SECRET, "device read of secretmem", v, off, len,
		    SPTE_ACCESS_NO_FAULT, EFAULT);
	chk_map_refused(C_SECRET, "MAP of secretmem", off, len,
			SPTE_MAP_SNAPSHOT, EOPNOTSUPP);
	chk_anon(off, len);
	chk_read(t, C_SECRET, "after replacing secretmem", v, off, len, false);
}

#define CHK_STEP(t, what) (chk_doing[(t)->part / PART_SIZE] = (what))

static void *checker_main(void *arg)
{
	struct thr *t = arg;
	unsigned int w;

	while (gate_enter()) {
		w = below(&t->rng, 100);
		if (w < 18)
			CHK_STEP(t, "CPU write"), chk_cpu_write(t);
		else if (w < 36)
			CHK_STEP(t, "device write"), chk_dev_write(t);
		else if (w < 42)
			CHK_STEP(t, "verify"), chk_verify(t);
		else if (w < 46)
			CHK_STEP(t, "MAP"), chk_map(t);
		else if (w < 48)
			CHK_STEP(t, "THP cell"), chk_thp(t);
		else if (w < 56)
			CHK_STEP(t, "DONTNEED"), chk_dontneed(t);
		else if (w < 64)
			CHK_STEP(t, "MAP_FIXED"), chk_remap(t);
		else if (w < 72)
			CHK_STEP(t, "KSM area"), chk_ksm(t);
		else if (w < 78)
			CHK_STEP(t, "UNMAP"), chk_unmap(t);
		else if (w < 85)
			CHK_STEP(t, "mprotect"), chk_mprotect(t);
		else if (w < 89)
			CHK_STEP(t, "munmap"), chk_munmap(t);
		else if (w < 93 && (CHK_STEP(t, "REMOVE"), chk_remove(t)))
			;
		else if (w >= 93 && w < 96)
			CHK_STEP(t, "fork"), chk_fork_cow(t);
		else if (w >= 96 && w < 98 && have_secretmem)
			CHK_STEP(t, "secretmem"), chk_secret(t);
		else if (w >= 98 && have_hugetlb)
			CHK_STEP(t, "hugetlb"), chk_hugetlb(t);
		else
			CHK_STEP(t, "verify"), chk_verify(t);
		CHK_STEP(t, "between steps");
		gate_leave();
	}
	return NULL;
}

/*
 * [start, start + len) of the region, by the CPU and through every view,
 * view 0 mapped by MAP first (2M leaves where the CPU has THPs).
 * Quiescent only.
 */
static void chk_verify_all(struct thr *t, u64 start, u64 len)
{
	struct spte_mirror_map m = { .gpa = G_VIEW(0) + start, .size = len };
	int err = sys_ioctl(ck.fd, SPTE_MIRROR_MAP, &m);

	EXPECT(K_CHK_IOCTL, err, ES(0, EBUSY),
	       "MAP gpa 0x%llx size 0x%llx (quiescent)", m.gpa, len);
	for (u64 off = start; off < start + len; off += BUF_SIZE) {
		if (!chk_compare(C_VERIFY, "quiescent", "CPU", chk + off, off,
				 BUF_SIZE))
			chk_resync(off, BUF_SIZE);
		for (int v = 0; v < NR_VIEWS; v++)
			chk_read(t, C_VERIFY, "quiescent", v, off, BUF_SIZE,
				 false);
	}
}

/* ---- fork, ATTACH, short-lived fds -------------------------------- */

/* A child of a threaded process: system calls and atomics only. */
static void child_touch(struct rng *r)
{
	uint8_t bytes[256];
	struct iovec local = { bytes, sizeof(bytes) }, remote;
	ssize_t n;

	memset(bytes, 0x3c, sizeof(bytes));
	remote.iov_len = sizeof(bytes);
	for (int i = 0; i < 16; i++) {
		if (one_in(r, 2)) {
			remote.iov_base = chaos + below(r, CHAOS_SIZE / 256) * 256;
			n = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
			EXPECT(K_VM_WRITE, n < 0 ? errno : 0, ES(0, EFAULT),
			       "child: process_vm_writev");
		} else {
			/* EFAULT: the checker's munmap or PROT_NONE step */
			remote.iov_base = chk + below(r, CHK_SIZE / 256) * 256;
			n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
			EXPECT(K_VM_READ, n < 0 ? errno : 0, ES(0, EFAULT),
			       "child: process_vm_readv");
		}
	}
}

/* The child's own mirror of its own memory, left open at exit or not. */
static void child_own_fd(struct rng *r)
{
	uint8_t bytes[256];
	struct spte_mirror_slot s = {
		.hva = (uintptr_t)chaos + below(r, CHAOS_SIZE / SZ_2M) * SZ_2M,
		.size = SZ_2M,
	};
	struct spte_mirror_map m = {
		.gpa = below(r, 512) * PG, .size = (1 + below(r, 16)) * PG,
	};
	struct spte_mirror_access a = {
		.gpa = below(r, SZ_2M - sizeof(bytes)), .size = sizeof(bytes),
		.buf = (uintptr_t)bytes, .flags = below(r, 2),
	};
	int fd = open(SPTE_MIRROR_DEVICE, O_RDWR | O_CLOEXEC), err;

	if (!EXPECT(K_OPEN, fd < 0 ? errno : 0, ES(0), "child: open"))
		return;
	err = sys_ioctl(fd, SPTE_MIRROR_ADD_SLOT, &s);
	if (EXPECT(K_CHILD_FD, err, ES(0, EOPNOTSUPP), "child: ADD_SLOT") &&
	    !err) {
		err = sys_ioctl(fd, SPTE_MIRROR_MAP, &m);
		EXPECT(K_CHILD_FD, err, map_expect(0), "child: MAP");
		err = sys_ioctl(fd, SPTE_MIRROR_ACCESS, &a);
		EXPECT(K_CHILD_FD, err, access_expect(a.flags), "child: ACCESS");
	}
	/* left open, the mm's teardown (->release) comes before the close */
	if (one_in(r, 2))
		close(fd);
}

static void G_GNUC_NORETURN child_main(struct rng *r)
{
	uint8_t arg[512] = { 0 };
	ssize_t n;

	in_child = true;
	/* an fd belongs to the mm that opened it: EIO before anything */
	for (int i = 0; i < 4; i++) {
		struct mfd *f = &fds[below(r, NR_FDS)];
		unsigned long cmd = one_in(r, 4) ? bad_cmd(r) :
				    real_cmds[below(r, G_N_ELEMENTS(real_cmds))];

		EXPECT(K_WRONG_MM, sys_ioctl(f->fd, cmd, arg), ES(EIO),
		       "child: ioctl");
	}
	/* read() works from anywhere; one this short consumes nothing */
	n = read(fds[below(r, NR_FDS)].fd, arg, REC - 1);
	EXPECT(K_READ_SHORT, n < 0 ? errno : 0, ES(EINVAL), "child: read");
	child_touch(r);
	if (one_in(r, 2))
		child_own_fd(r);
	_exit(0);
}

static void wait_child(pid_t pid, const char *what)
{
	int st = wait_for(pid);

	CHECK(C_CHILD, st >= 0 && WIFEXITED(st) && !WEXITSTATUS(st),
	      "%s (pid %d): %s", what, pid, st < 0 ? "lost" : status_text(st));
}

/*
 * fork() of the whole process: every private mapping goes COW.  Up to
 * three children into @pids; returns how many were tried.
 */
static int fork_children(struct thr *t, pid_t pids[3])
{
	int n = 1 + below(&t->rng, 3);

	for (int i = 0; i < n; i++) {
		struct rng cr;

		rng_init(&cr, rnd(&t->rng), i);
		pids[i] = fork();
		if (pids[i] == 0)
			child_main(&cr);
		EXPECT(K_FORK, pids[i] < 0 ? errno : 0, ES(0), "fork");
	}
	return n;
}

static void attach_pattern(uint8_t *p, u64 len, pid_t pid, int gen)
{
	for (u64 i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + (u64)pid * 7 + gen * 101);
}

/*
 * A mirror of a child's memory: read what it wrote, write what it must
 * then see.  The child then exits or execs while MAP and ACCESS keep
 * going (0 while its mm lives, ESRCH after), or the mirror is closed
 * under the live child; once the mm is gone nothing can be mapped and
 * nothing is left.
 */
static void attach_round(struct thr *t)
{
	enum { PLAIN, RACE_EXIT, RACE_EXEC, CLOSE_FIRST } how =
		below(&t->rng, 4);
	struct spte_mirror_slot s = {
		.hva = (uintptr_t)attach_area, .size = 2 * PG,
	};
	struct spte_mirror_attach at = { 0 };
	struct spte_mirror_audit au = { 0 };
	struct spte_mirror_access a = { .size = 2 * PG, .buf = (uintptr_t)t->buf };
	struct spte_mirror_map m = { .size = PG };
	int ready[2], go[2], fd = -1, err = -1, st;
	uint8_t *want = t->buf + 2 * PG;
	bool seized;
	char c = 0;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC))
		return;
	if (pipe2(go, O_CLOEXEC)) {
		close(ready[0]);
		close(ready[1]);
		return;
	}
	/*
	 * Only the fork changes this process's memory (its PTEs go COW), so
	 * only the fork waits for the gate: the rest is the child's mm and
	 * a mirror of its own, which the quiescent checks need not wait for.
	 */
	if (!gate_enter()) {
		close(ready[0]);
		close(ready[1]);
		close(go[0]);
		close(go[1]);
		return;
	}
	pid = fork();
	if (pid)
		gate_leave();
	if (pid == 0) {
		in_child = true;
		attach_pattern(attach_area, 2 * PG, getpid(), 1);
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		/* a new mm: the mirrored one is released under the ioctls */
		if (how == RACE_EXEC)
			execl("/bin/true", "true", (char *)NULL);
		attach_pattern(want, 2 * PG, getpid(), 2);
		_exit(how != RACE_EXEC && memcmp(attach_area, want, 2 * PG) ?
		      3 : 0);
	}
	close(ready[1]);
	close(go[0]);
	if (!EXPECT(K_FORK, pid < 0 ? errno : 0, ES(0), "fork (ATTACH)"))
		goto out;
	if (read(ready[0], &c, 1) != 1)
		goto go;
	seized = EXPECT(K_PTRACE, ptrace(PTRACE_SEIZE, pid, 0, 0) ? errno : 0,
			ES(0), "PTRACE_SEIZE %d", pid);
	fd = open(SPTE_MIRROR_DEVICE, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (!EXPECT(K_OPEN, fd < 0 ? errno : 0, ES(0), "open for ATTACH"))
		goto go;
	/* only the tracer may: ptrace's rules */
	at.pid = pid;
	err = sys_ioctl(fd, SPTE_MIRROR_ATTACH, &at);
	if (!EXPECT(K_ATTACHED, err, seized ? ES(0) : ES(EPERM),
		    "ATTACH pid %d", pid) || err)
		goto go;
	err = sys_ioctl(fd, SPTE_MIRROR_ADD_SLOT, &s);
	if (!EXPECT(K_ATTACHED, err, ES(0), "ADD_SLOT over the child's pages"))
		goto go;
	err = sys_ioctl(fd, SPTE_MIRROR_ACCESS, &a);
	attach_pattern(want, 2 * PG, pid, 1);
	if (EXPECT(K_ATTACHED, err, ES(0), "ACCESS read of the child's pages"))
		CHECK(C_ATTACH, !memcmp(t->buf, want, 2 * PG),
		      "a device read of child %d's pages: not what it wrote",
		      pid);
	attach_pattern(t->buf, 2 * PG, pid, 2);
	a.flags = SPTE_ACCESS_WRITE;
	err = sys_ioctl(fd, SPTE_MIRROR_ACCESS, &a);
	EXPECT(K_ATTACHED, err, ES(0), "ACCESS write of the child's pages");
	if (how == CLOSE_FIRST) {
		/* ->release runs now, from the close, on a live mm */
		close(fd);
		fd = -1;
	}
go:
	if (write(go[1], &c, 1) != 1)
		report("telling the ATTACH child to go: %s", g_strerror(errno));
	if (fd >= 0 && !err && (how == RACE_EXIT || how == RACE_EXEC)) {
		for (int i = 0; i < 200 && err != ESRCH; i++) {
			switch (i % 3) {
			case 0:
				err = sys_ioctl(fd, SPTE_MIRROR_MAP, &m);
				EXPECT(K_ATTACHED, err, ES(0, ESRCH),
				       "MAP while the child exits");
				break;
			case 1:
				a.flags = 0;
				err = sys_ioctl(fd, SPTE_MIRROR_ACCESS, &a);
				EXPECT(K_ATTACHED, err, ES(0, ESRCH),
				       "ACCESS while the child exits");
				break;
			default:
				memset(&au, 0, sizeof(au));
				err = sys_ioctl(fd, SPTE_MIRROR_AUDIT, &au);
				if (EXPECT(K_ATTACHED, err, ES(0, EBUSY),
					   "AUDIT while the child exits") && !err)
					CHECK(C_AUDIT_C, !audit_findings(&au),
					      "AUDIT of an exiting child: %llu findings",
					      audit_findings(&au));
				break;
			}
		}
		err = 0;
	}
	st = wait_for(pid);
	CHECK(C_ATTACH, st >= 0 && WIFEXITED(st) && !WEXITSTATUS(st),
	      "child %d, after the device wrote its pages: %s (3: not seen)",
	      pid, st < 0 ? "lost" : status_text(st));
	if (fd >= 0 && !err) {
		/* its mm is gone */
		err = sys_ioctl(fd, SPTE_MIRROR_MAP, &m);
		EXPECT(K_ATTACHED, err, ES(ESRCH), "MAP after the child exited");
		a.flags = 0;
		err = sys_ioctl(fd, SPTE_MIRROR_ACCESS, &a);
		EXPECT(K_ATTACHED, err, ES(ESRCH),
		       "ACCESS after the child exited");
		memset(&au, 0, sizeof(au));
		err = sys_ioctl(fd, SPTE_MIRROR_AUDIT, &au);
		if (EXPECT(K_ATTACHED, err, ES(0), "AUDIT after the child exited"))
			CHECK(C_ATTACH, !au.leaves,
			      "AUDIT after child %d exited: %llu leaves left",
			      pid, au.leaves);
		/* slots of a dead mm go like any other */
		if (one_in(&t->rng, 2))
			EXPECT(K_ATTACHED,
			       sys_ioctl(fd, SPTE_MIRROR_DEL_SLOT, &s), ES(0),
			       "DEL_SLOT after the child exited");
	}
out:
	if (fd >= 0)
		close(fd);
	close(ready[0]);
	close(go[1]);
}

static void *forker_main(void *arg)
{
	struct thr *t = arg;
	unsigned int w;

	while (gate_enter()) {
		pid_t pids[3];
		int n = 0;

		w = below(&t->rng, 10);
		if (w < 6)
			n = fork_children(t, pids);
		else if (w >= 8)
			op_short_fd(t);
		gate_leave();
		/*
		 * The children touch nothing but their own mm, so the
		 * quiescent checks need not wait for them to finish.
		 */
		for (int i = 0; i < n; i++)
			if (pids[i] > 0)
				wait_child(pids[i], "a child touching memory");
		if (w == 6 || w == 7)
			attach_round(t);
		/*
		 * Every fork makes each private page of this process COW:
		 * the writes of every thread fault and copy, with a TLB
		 * shootdown each, until the children are gone, and the fork
		 * and the children's exits copy and tear down page tables
		 * of the whole process.  Under TCG that was a fifth of the
		 * CPU at ten forks a second; two are plenty for the mirrors.
		 */
		g_usleep(300000 + below(&t->rng, 400000));
	}
	return NULL;
}

/* ---- quiescent checks -------------------------------------------- */

static u64 audits_leaves;	/* leaves the quiescent audits checked */
static u64 max_2m_leaves;	/* most 2M leaves one dump of C had */

static void quiescent_audit(struct mfd *f)
{
	struct spte_mirror_audit a;
	char what[320];
	int err = 0;

	for (int tries = 0; tries < 5; tries++) {
		memset(&a, 0, sizeof(a));
		err = sys_ioctl(f->fd, SPTE_MIRROR_AUDIT, &a);
		EXPECT(K_CHK_IOCTL, err, ES(0, EBUSY), "fd %s AUDIT (quiescent)",
		       f->name);
		if (err != EBUSY)
			break;
	}
	if (!CHECK(C_AUDIT_Q, !err, "fd %s: no quiescent AUDIT: %s", f->name,
		   errname(err)))
		return;
	add(&sh->audit_findings, audit_findings(&a));
	audits_leaves += a.leaves;
	audit_describe(&a, what, sizeof(what));
	CHECK(C_AUDIT_Q, !audit_findings(&a), "fd %s: %s", f->name, what);
}

static void quiescent_dump(struct thr *t, struct mfd *f)
{
	struct spte_mirror_dump d, in;
	u64 start = 0, leaves_2m = 0;
	int err;

	do {
		d = (struct spte_mirror_dump){
			.leaves = (uintptr_t)t->leaves,
			.count = DUMP_CAP,
			.flags = SPTE_DUMP_CURSOR,
			.start = start,
		};
		in = d;
		err = sys_ioctl(f->fd, SPTE_MIRROR_DUMP, &d);
		if (!EXPECT(K_CHK_IOCTL, err, ES(0),
			    "fd %s DUMP start 0x%llx (quiescent)", f->name, start))
			return;
		dump_leaves_check(f, &in, &d, t->leaves, &leaves_2m);
		start = d.next;
	} while (start != SPTE_MIRROR_NONE);
	if (f->checker)
		max_2m_leaves = MAX(max_2m_leaves, leaves_2m);
}

static u64 read_u64(const char *path)
{
	g_autofree char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	return g_ascii_strtoull(text, NULL, 10);
}

static u64 max_ksm_sharing, max_anon_huge_kb, ksm_scans_start;

static void sample_mm(void)
{
	g_autofree char *text = NULL;
	const char *p;

	max_ksm_sharing = MAX(max_ksm_sharing, read_u64(KSM "pages_sharing"));
	if (g_file_get_contents("/proc/self/smaps_rollup", &text, NULL, NULL) &&
	    (p = strstr(text, "AnonHugePages:")))
		max_anon_huge_kb = MAX(max_anon_huge_kb,
				       g_ascii_strtoull(p + 14, NULL, 10));
}

/*
 * Everything stopped: the mirrors must be exactly the primary's view.
 * One quarter of the checker's region each time (all of it at the end):
 * reading 8 MiB three times under TCG takes seconds.
 */
static void quiescent_checks(struct thr *t, int epoch, bool all)
{
	if (all)
		chk_verify_all(t, 0, CHK_SIZE);
	else
		chk_verify_all(t, (epoch % 4) * (CHK_SIZE / 4), CHK_SIZE / 4);
	for (int i = 0; i < NR_FDS; i++) {
		quiescent_audit(&fds[i]);
		quiescent_dump(t, &fds[i]);
	}
	sample_mm();
}

/* ---- the end: every event record accounted for ---------------------- */

static struct spte_mirror_counters final_counters[NR_FDS];
static bool final_stable[NR_FDS];

static void drain_fd(struct thr *t, struct mfd *f)
{
	ssize_t n;

	do {
		n = read(f->fd, t->buf, READ_MAX * REC);
		if (!EXPECT(K_READ, n < 0 ? errno : 0, ES(0, EAGAIN),
			    "fd %s read (draining)", f->name))
			return;
		if (n > 0)
			account(f, &t->rd[fd_index(f)], t->buf, n);
	} while (n > 0);
}

static bool counters_read(struct mfd *f, struct spte_mirror_counters *c)
{
	memset(c, 0, sizeof(*c));
	return EXPECT(K_CHK_IOCTL, sys_ioctl(f->fd, SPTE_MIRROR_COUNTERS, c),
		      ES(0), "fd %s COUNTERS", f->name);
}

/* Callbacks that get a sequence number when not filtered out. */
static u64 logged_callbacks(const struct spte_mirror_counters *c)
{
	u64 n = 0;

	for (int i = 0; i < SPTE_CB_NR; i++)
		if (i != SPTE_CB_INTERVAL_INVALIDATE)
			n += c->callbacks[i];
	return n;
}

static bool counters_same(const struct spte_mirror_counters *a,
			  const struct spte_mirror_counters *b)
{
	return a->events_logged == b->events_logged &&
	       a->events_dropped == b->events_dropped &&
	       logged_callbacks(a) == logged_callbacks(b);
}

static void account_final(struct thr *t, struct mfd *f)
{
	struct spte_mirror_counters c1, c2, prev = { 0 };
	bool stable = false, prev_stable = false;
	u64 covered = 0;
	int i = fd_index(f);

	/*
	 * Drain between two COUNTERS that agree, twice in a row 20 ms
	 * apart: then nothing was being logged (a callback is counted a
	 * moment before its record gets a sequence number).
	 */
	for (int tries = 0; tries < 100 && !stable; tries++) {
		if (!counters_read(f, &c1))
			return;
		drain_fd(t, f);
		if (!counters_read(f, &c2))
			return;
		stable = counters_same(&c1, &c2) && prev_stable &&
			 counters_same(&prev, &c2);
		prev_stable = counters_same(&c1, &c2);
		prev = c2;
		if (!stable)
			g_usleep(20000);
	}
	final_counters[i] = c2;
	final_stable[i] = stable;
	counters_outputs(f, &c2);
	pthread_mutex_lock(&f->lock);
	for (u64 s = 1; s <= f->max_seq; s++)
		covered += (f->seen[s / 8] >> (s % 8)) & 1;
	pthread_mutex_unlock(&f->lock);
	CHECK(C_ACCOUNT, stable,
	      "fd %s: the log kept growing after everything stopped (%llu logged)",
	      f->name, c2.events_logged);
	CHECK(C_ACCOUNT, covered == f->max_seq && !f->dups,
	      "fd %s: of sequence numbers 1..%llu, %llu read or reported lost, %llu twice",
	      f->name, f->max_seq, covered, f->dups);
	CHECK(C_ACCOUNT, f->dropped == c2.events_dropped,
	      "fd %s: DROPPED records report %llu lost, COUNTERS events_dropped %llu",
	      f->name, f->dropped, c2.events_dropped);
	/* logged counts records a resize discarded too: never fewer */
	CHECK(C_ACCOUNT, f->records <= c2.events_logged &&
	      f->records + f->dropped == f->max_seq,
	      "fd %s: %llu records read and %llu lost, %llu sequence numbers, COUNTERS events_logged %llu",
	      f->name, f->records, f->dropped, f->max_seq, c2.events_logged);
	if (!f->filters)
		CHECK(C_ACCOUNT, logged_callbacks(&c2) == f->max_seq,
		      "fd %s: COUNTERS counts %llu logged callbacks, the sequence numbers reach %llu",
		      f->name, logged_callbacks(&c2), f->max_seq);
}

/* ---- kernel knobs, put back at the end ----------------------------- */

struct knob {
	char *path, *old;
};
static GArray *knobs;

/* The value to write back: "[madvise]"-style files show the choice so. */
static char *knob_value(char *text)
{
	char *l = strchr(text, '['), *r = l ? strchr(l, ']') : NULL;

	if (l && r) {
		*r = 0;
		return g_strdup(l + 1);
	}
	return g_strdup(g_strstrip(text));
}

static bool knob_set(const char *path, const char *value)
{
	g_autofree char *text = NULL;
	struct knob k;
	int err;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return false;
	k.path = g_strdup(path);
	k.old = knob_value(text);
	err = write_text_errno(path, value);
	if (err) {
		report("writing %s to %s: %s", value, path, g_strerror(err));
		g_free(k.path);
		g_free(k.old);
		return false;
	}
	g_array_append_val(knobs, k);
	return true;
}

/* Put back @path (NULL: every knob), newest first. */
static void knobs_restore(const char *path)
{
	for (guint i = knobs->len; i-- > 0;) {
		struct knob *k = &g_array_index(knobs, struct knob, i);
		int err;

		if (path && strcmp(path, k->path))
			continue;
		err = write_text_errno(k->path, k->old);
		if (err)
			report("putting %s back to %s: %s", k->path, k->old,
			       g_strerror(err));
		g_free(k->path);
		g_free(k->old);
		g_array_remove_index(knobs, i);
	}
}

/* ---- where the CPU went ------------------------------------------- */

/*
 * Everything here competes for the lab's CPUs (one host thread under
 * TCG), so the rate of ioctls says little without this: the guest's
 * user/system/idle split and who used it.
 */
struct cpu_sample {
	u64 stat[4];		/* /proc/stat: user+nice, system+irq+softirq, idle+iowait, all */
	u64 ksmd, khugepaged;	/* their utime + stime, ticks */
	u64 controller_ns;	/* the main thread: the quiescent checks */
};

static u64 thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* utime + stime of the first task named @comm, in ticks */
static u64 task_ticks(const char *comm)
{
	g_autoptr(GDir) d = g_dir_open("/proc", 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *path = g_strdup_printf("/proc/%s/stat", name);
		g_autofree char *text = NULL;
		unsigned long long ut, st;
		const char *c;

		if (!g_ascii_isdigit(name[0]) ||
		    !g_file_get_contents(path, &text, NULL, NULL))
			continue;
		c = strchr(text, '(');
		if (!c || strncmp(c + 1, comm, strlen(comm)) ||
		    c[1 + strlen(comm)] != ')')
			continue;
		/* after "(comm) ": state, then 10 fields, then utime stime */
		if (sscanf(strrchr(text, ')') + 2,
			   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			   &ut, &st) == 2)
			return ut + st;
	}
	return 0;
}

static void cpu_sample(struct cpu_sample *c)
{
	g_autofree char *text = NULL;
	u64 v[8] = { 0 };

	memset(c, 0, sizeof(*c));
	if (g_file_get_contents("/proc/stat", &text, NULL, NULL))
		sscanf(text, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
		       &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	c->stat[0] = v[0] + v[1];
	c->stat[1] = v[2] + v[5] + v[6] + v[7];
	c->stat[2] = v[3] + v[4];
	c->stat[3] = c->stat[0] + c->stat[1] + c->stat[2];
	c->ksmd = task_ticks("ksmd");
	c->khugepaged = task_ticks("khugepaged");
	c->controller_ns = thread_cpu_ns();
}

static void *thread_start(void *arg)
{
	struct thr *t = arg;
	void *ret = t->fn(t);

	t->cpu_ns = thread_cpu_ns();
	return ret;
}

static void print_cpu(const struct cpu_sample *a, const struct cpu_sample *b,
		      GPtrArray *all)
{
	static const struct {
		void *(*fn)(void *);
		const char *name;
	} roles[] = {
		{ worker_main, "workers" }, { checker_main, "checkers" },
		{ chaos_main, "churn" }, { preserve_main, "churn" },
		{ forker_main, "fork" }, { reader_main, "readers" },
	};
	double tick = sysconf(_SC_CLK_TCK), by_role[G_N_ELEMENTS(roles)] = { 0 };
	double all_ticks = MAX(b->stat[3] - a->stat[3], 1);
	struct rusage ru;
	GString *line = g_string_new(NULL);

	for (guint i = 0; i < all->len; i++) {
		const struct thr *t = all->pdata[i];

		for (size_t r = 0; r < G_N_ELEMENTS(roles); r++)
			if (t->fn == roles[r].fn) {
				/* the first entry of a name holds its sum */
				for (size_t f = 0; f <= r; f++)
					if (!strcmp(roles[f].name, roles[r].name)) {
						by_role[f] += t->cpu_ns / 1e9;
						break;
					}
				break;
			}
	}
	for (size_t r = 0; r < G_N_ELEMENTS(roles); r++)
		if (by_role[r] > 0)
			g_string_append_printf(line, "%s %.1f s, ", roles[r].name,
					       by_role[r]);
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("# cpu: %.0f CPU-s: user %.0f%%, system %.0f%%, idle %.0f%%; %sforked children %.1f s, quiescent checks %.1f s, ksmd %.1f s, khugepaged %.1f s\n",
	       all_ticks / tick,
	       100 * (b->stat[0] - a->stat[0]) / all_ticks,
	       100 * (b->stat[1] - a->stat[1]) / all_ticks,
	       100 * (b->stat[2] - a->stat[2]) / all_ticks, line->str,
	       ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
	       (b->controller_ns - a->controller_ns) / 1e9,
	       (b->ksmd - a->ksmd) / tick,
	       (b->khugepaged - a->khugepaged) / tick);
	g_string_free(line, TRUE);
}

/* ---- the summary --------------------------------------------------- */

static u64 kind_sum(enum cat cat, bool bad)
{
	u64 n = 0;

	for (int k = 0; k < K_NR; k++)
		if (kinds[k].cat == cat)
			n += bad ? sh->k[k].bad : sh->k[k].n;
	return n;
}

static void print_results(enum kind k)
{
	const struct kind_stat *s = &sh->k[k];
	GString *line = g_string_new(NULL);

	for (int e = 0; e < ERR_MAX; e++)
		if (s->by_err[e])
			g_string_append_printf(line, "%s%s %llu",
					       line->len ? ", " : "",
					       errname(e), s->by_err[e]);
	printf("#   %-46s %9llu  %s", kinds[k].name, s->n, line->str);
	if (s->bad)
		printf("  (%llu UNEXPECTED)", s->bad);
	putchar('\n');
	g_string_free(line, TRUE);
}

/* errno totals over the ioctls and the fd's other calls */
static void print_errno_totals(void)
{
	u64 by_err[ERR_MAX] = { 0 };
	GString *line = g_string_new(NULL);

	for (int k = 0; k < K_NR; k++)
		if (kinds[k].cat == CAT_IOCTL || kinds[k].cat == CAT_FILE)
			for (int e = 1; e < ERR_MAX; e++)
				by_err[e] += sh->k[k].by_err[e];
	for (;;) {
		int best = 0;

		for (int e = 1; e < ERR_MAX; e++)
			if (by_err[e] > by_err[best])
				best = e;
		if (!best || !by_err[best])
			break;
		g_string_append_printf(line, "%s%s %llu", line->len ? ", " : "",
				       errname(best), by_err[best]);
		by_err[best] = 0;
	}
	printf("# errors by errno (ioctl, read, write, mmap, poll): %s\n",
	       line->str);
	g_string_free(line, TRUE);
}

static u64 failed_checks(bool (*which)(enum kind))
{
	u64 n = 0;

	for (int k = 0; k < K_NR; k++)
		if (kinds[k].cat == CAT_CHECK && which(k))
			n += sh->k[k].bad;
	return n;
}

static bool is_stale_check(enum kind k)
{
	return k == C_AUDIT_Q || k == C_AUDIT_C;
}

static bool is_event_check(enum kind k)
{
	return k == C_EVENTS || k == C_ACCOUNT;
}

static bool is_other_check(enum kind k)
{
	return !is_data_check(k) && !is_stale_check(k) && !is_event_check(k);
}

/* Returns whether everything passed. */
static bool summary(double secs, u64 seed, int threads, int epochs,
		    const struct cpu_sample *cpu0,
		    const struct cpu_sample *cpu1, GPtrArray *all)
{
	u64 ioctls = sh->ioctls;
	u64 unexpected_results = kind_sum(CAT_IOCTL, true) +
				 kind_sum(CAT_FILE, true) +
				 kind_sum(CAT_MM, true) +
				 failed_checks(is_other_check);
	u64 mismatches = failed_checks(is_data_check);
	u64 stale = failed_checks(is_stale_check);
	u64 unaccounted = failed_checks(is_event_check);
	u64 checks = 0, data_checks = 0, records = 0, dropped = 0;
	static const char *const cat_names[] = {
		[CAT_IOCTL] = "ioctls", [CAT_FILE] = "other calls on the fds",
		[CAT_MM] = "memory churn",
	};

	for (int k = 0; k < K_NR; k++)
		if (kinds[k].cat == CAT_CHECK) {
			checks += sh->k[k].n;
			if (is_data_check(k))
				data_checks += sh->k[k].n;
		}
	printf("# ---- summary: %.1f s, seed %llu, %d workers, %d quiescent checks\n",
	       secs, seed, threads, epochs);
	for (int c = CAT_IOCTL; c <= CAT_MM; c++) {
		printf("# %s: %llu\n", cat_names[c], kind_sum(c, false));
		for (int k = 0; k < K_NR; k++)
			if (kinds[k].cat == (enum cat)c && sh->k[k].n)
				print_results(k);
	}
	print_errno_totals();
	printf("# coherence and consistency checks: %llu done, %llu failed\n",
	       checks, kind_sum(CAT_CHECK, true));
	for (int k = 0; k < K_NR; k++)
		if (kinds[k].cat == CAT_CHECK && sh->k[k].n)
			printf("#   %-46s %9llu done, %llu failed\n",
			       kinds[k].name, sh->k[k].n, sh->k[k].bad);
	printf("# audits: %llu quiescent, %llu leaves checked by them, %llu stale or violating leaves found by any audit\n",
	       sh->k[C_AUDIT_Q].n, audits_leaves, sh->audit_findings);
	for (int i = 0; i < NR_FDS; i++) {
		struct mfd *f = &fds[i];
		struct spte_mirror_counters *c = &final_counters[i];

		records += f->records;
		dropped += f->dropped;
		printf("# events, fd %s: seq 1..%llu: %llu records read, %llu lost in %llu DROPPED records; COUNTERS logged %llu dropped %llu%s\n",
		       f->name, f->max_seq, f->records, f->dropped,
		       f->drop_records, c->events_logged, c->events_dropped,
		       final_stable[i] ? "" : " (never quiescent)");
	}
	for (int i = 0; i < NR_FDS; i++) {
		GString *line = g_string_new(NULL);

		for (int cb = 0; cb < SPTE_CB_NR; cb++)
			if (mod_has(cb) || final_counters[i].callbacks[cb])
				g_string_append_printf(line, "%s%s %llu",
						       line->len ? ", " : "",
						       spte_mirror_callback_name(cb),
						       final_counters[i].callbacks[cb]);
		printf("# callbacks, fd %s: %s\n", fds[i].name, line->str);
		g_string_free(line, TRUE);
	}
	printf("# memory: KSM pages_sharing up to %llu (%llu full scans), AnonHugePages up to %llu kB; the checkers' MAPs installed %llu 2M leaves, up to %llu in one dump of C\n",
	       max_ksm_sharing, read_u64(KSM "full_scans") - ksm_scans_start,
	       max_anon_huge_kb, sh->leaves_2m, max_2m_leaves);
	if (nr_nodes > 1)
		printf("# migration: %llu pages moved to another of %d NUMA nodes\n",
		       sh->moved_pages, nr_nodes);
	else
		printf("# migration: skipped, 1 NUMA node (the lab needs --numa 2)\n");
	if (!have_secretmem)
		printf("# secretmem: skipped, memfd_secret unavailable (boot with secretmem.enable=1)\n");
	if (!have_hugetlb)
		printf("# hugetlb: skipped, no 2M huge page could be reserved\n");
	print_cpu(cpu0, cpu1, all);
	for (unsigned int i = 0; i < MIN(sh->nr_notes, G_N_ELEMENTS(sh->notes)); i++)
		printf("# in a forked child: UNEXPECTED %s: %s\n",
		       kinds[sh->notes[i].kind].name, errname(sh->notes[i].err));
	printf("# totals: seconds %.0f ioctls %llu ioctls_per_s %.0f unexpected %llu checks %llu data_checks %llu mismatches %llu audits %llu stale %llu records %llu dropped %llu unaccounted %llu moved_pages %llu\n",
	       secs, ioctls, ioctls / secs, unexpected_results, checks,
	       data_checks, mismatches, sh->k[C_AUDIT_Q].n,
	       stale + sh->audit_findings, records, dropped, unaccounted,
	       sh->moved_pages);
	printf("%s 1 - every result was one the ABI or the kernel allows (%llu ioctls, %llu other calls)\n",
	       unexpected_results ? "not ok" : "ok", ioctls,
	       kind_sum(CAT_FILE, false) + kind_sum(CAT_MM, false));
	printf("%s 2 - device and CPU agree (%llu data checks)\n",
	       mismatches ? "not ok" : "ok", data_checks);
	printf("%s 3 - no stale leaf (%llu quiescent audits)\n",
	       stale || sh->audit_findings ? "not ok" : "ok",
	       sh->k[C_AUDIT_Q].n);
	printf("%s 4 - every event record accounted for (%llu read, %llu reported lost)\n",
	       unaccounted ? "not ok" : "ok", records, dropped);
	return !unexpected_results && !mismatches && !stale &&
	       !sh->audit_findings && !unaccounted;
}

/* ---- setup and the controller -------------------------------------- */

static int open_mirror(void)
{
	int fd = open(SPTE_MIRROR_DEVICE, O_RDWR | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		die("opening %s: %s", SPTE_MIRROR_DEVICE, g_strerror(errno));
	return fd;
}

static u64 add_slot_or_die(struct mfd *f, u64 gpa, void *hva, u64 size,
			   u64 flags)
{
	struct spte_mirror_slot s = {
		.gpa = gpa, .hva = (uintptr_t)hva, .size = size, .flags = flags,
	};
	int err = sys_ioctl(f->fd, SPTE_MIRROR_ADD_SLOT, &s);

	if (err)
		die("fd %s ADD_SLOT gpa 0x%llx hva %p size 0x%llx: %s", f->name,
		    gpa, hva, size, g_strerror(err));
	note_slot_id(f, s.id);
	return s.id;
}

static void setup_memory(struct rng *r)
{
	uint8_t *p;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mapping the counters: %s", g_strerror(errno));
	p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + PG, PG, PROT_NONE))
		die("mapping a PROT_NONE page: %s", g_strerror(errno));
	none_page = p + PG;
	attach_area = map_guarded(2 * PG);

	chaos = map_region(CHAOS_SIZE, "chaos region");
	fill_random(r, chaos, CHAOS_SIZE);
	madvise(chaos, CHAOS_SIZE, MADV_HUGEPAGE);
	madvise(chaos, CHAOS_SIZE, MADV_MERGEABLE);

	chk = map_region(CHK_SIZE, "checker region");
	ck.shadow = g_malloc(CHK_SIZE);
	ck.file = g_malloc0(CHK_SIZE);
	for (int i = 0; i < NR_TEMPLATES; i++)
		fill_random(r, ck.tmpl[i], PG);
	for (u64 pg = 0; pg < CHK_PAGES; pg++)
		if (in_ksm_area(pg * PG))
			memcpy(ck.shadow + pg * PG,
			       ck.tmpl[below(r, NR_TEMPLATES)], PG);
		else
			fill_random(r, ck.shadow + pg * PG, PG);
	memcpy(chk, ck.shadow, CHK_SIZE);
	madvise(chk, CHK_SIZE, MADV_HUGEPAGE);
	madvise(chk, CHK_SIZE, MADV_MERGEABLE);
}

/*
 * The module's VERSION: what every record and counter is judged by.  It
 * must be built for the running kernel (major.minor), and say what
 * docs/uapi.md does: every callback but CHANGE_PTE always, CHANGE_PTE
 * exactly when built for a kernel before 6.10.
 */
static void setup_version(int fd)
{
	const u64 always = (1ULL << SPTE_CB_INVALIDATE_RANGE_START) |
			   (1ULL << SPTE_CB_INVALIDATE_RANGE_END) |
			   (1ULL << SPTE_CB_INVALIDATE_SECONDARY) |
			   (1ULL << SPTE_CB_CLEAR_FLUSH_YOUNG) |
			   (1ULL << SPTE_CB_CLEAR_YOUNG) |
			   (1ULL << SPTE_CB_TEST_YOUNG) |
			   (1ULL << SPTE_CB_RELEASE) |
			   (1ULL << SPTE_CB_INTERVAL_INVALIDATE);
	struct spte_mirror_version v = { 0 };
	unsigned int major = 0, minor = 0;
	struct utsname u;
	u64 want;
	int err = sys_ioctl(fd, SPTE_MIRROR_VERSION, &v);

	if (err)
		die("VERSION: %s", g_strerror(err));
	mod_callbacks = v.callbacks;
	mod_kver = v.kernel_version;
	uname(&u);
	sscanf(u.release, "%u.%u", &major, &minor);
	if (mod_kver != KV(major, minor))
		die("VERSION: the module was built for %u.%u, this is %s",
		    mod_kver >> 16, (mod_kver >> 8) & 0xff, u.release);
	want = always | (mod_kver < KV(6, 10) ? 1ULL << SPTE_CB_CHANGE_PTE : 0);
	CHECK(C_OUTPUTS, v.callbacks == want,
	      "VERSION on %u.%u: callbacks 0x%llx, docs/uapi.md says 0x%llx",
	      major, minor, v.callbacks, want);
}

static void setup_mirrors(void)
{
	for (int i = 0; i < NR_FDS; i++) {
		fds[i].fd = open_mirror();
		pthread_mutex_init(&fds[i].lock, NULL);
		fds[i].ids = g_hash_table_new(g_direct_hash, g_direct_equal);
		/* 32M sequence numbers: no reallocation in a 10-minute run */
		fds[i].seen_bytes = 4 << 20;
		fds[i].seen = g_malloc0(fds[i].seen_bytes);
	}
	setup_version(fds[FD_A].fd);
	ck.fd = fds[FD_C].fd;
	for (int v = 0; v < NR_VIEWS; v++)
		view_ids[v] = add_slot_or_die(&fds[FD_C], G_VIEW(v), chk,
					      CHK_SIZE, v == RO_VIEW ?
					      SPTE_SLOT_READONLY : 0);
	for (u64 i = 0; i < 8; i++)
		add_slot_or_die(&fds[FD_A], i * SZ_2M, chaos + i * SZ_2M, SZ_2M,
				0);
	add_slot_or_die(&fds[FD_B], 0, chaos, CHAOS_SIZE, 0);
	add_slot_or_die(&fds[FD_C], G_CWORKER, chaos, CHAOS_SIZE, 0);
	profiles[FD_A] = (struct profile){ &fds[FD_A], 0, false };
	profiles[FD_B] = (struct profile){ &fds[FD_B], 0, false };
	profiles[FD_C] = (struct profile){ &fds[FD_C], G_CWORKER, true };
}

/* Kernel knobs that make the background churn (ksmd, khugepaged) busy. */
static void setup_knobs(void)
{
	int fd;

	knobs = g_array_new(FALSE, TRUE, sizeof(struct knob));
	have_ksm = g_file_test(KSM "run", G_FILE_TEST_EXISTS);
	if (have_ksm) {
		ksm_scans_start = read_u64(KSM "full_scans");
		/*
		 * A full scan of the two regions (6144 pages) every few
		 * seconds: under TCG, 10,000 pages a second took a tenth
		 * of the CPU.
		 */
		knob_set(KSM "pages_to_scan", "100");
		knob_set(KSM "sleep_millisecs", "80");
		have_ksm = knob_set(KSM "run", "1");
	}
	if (g_file_test(THP "enabled", G_FILE_TEST_EXISTS)) {
		g_autofree char *text = NULL;

		if (g_file_get_contents(THP "enabled", &text, NULL, NULL) &&
		    strstr(text, "[never]"))
			knob_set(THP "enabled", "madvise");
		knob_set(THP "khugepaged/scan_sleep_millisecs", "1000");
		knob_set(THP "khugepaged/alloc_sleep_millisecs", "1000");
		knob_set(THP "khugepaged/pages_to_scan", "4096");
	}
	if (knob_set(NR_HUGEPAGES, "8")) {
		void *p = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

		have_hugetlb = p != MAP_FAILED;
		if (have_hugetlb)
			munmap(p, SZ_2M);
	}
	fd = syscall(SYS_memfd_secret, O_CLOEXEC);
	have_secretmem = fd >= 0;
	if (fd >= 0)
		close(fd);
}

static bool ensure_module(void)
{
	if (access(SPTE_MIRROR_DEVICE, F_OK) && !access(MODULE_PATH, R_OK) &&
	    system("insmod " MODULE_PATH) != 0)
		printf("# insmod %s failed\n", MODULE_PATH);
	return !access(SPTE_MIRROR_DEVICE, F_OK);
}

/*
 * Six workers: B, C and four on A.  Under TCG every thread that can run
 * takes its share; with four, the workers had a fifth of the CPU and the
 * vCPUs were idle a quarter of the time, waiting on the mmap lock.
 */
static gint opt_seconds = 60, opt_threads = 6, opt_epoch = 5;
static gchar *opt_seed;

static const GOptionEntry options[] = {
	{ "seconds", 0, 0, G_OPTION_ARG_INT, &opt_seconds,
	  "Run for N seconds (default 60)", "N" },
	{ "threads", 0, 0, G_OPTION_ARG_INT, &opt_threads,
	  "T threads issuing hostile ioctls (default 6)", "T" },
	{ "seed", 0, 0, G_OPTION_ARG_STRING, &opt_seed,
	  "Seed of the random choices (default: from the clock)", "S" },
	{ "epoch", 0, 0, G_OPTION_ARG_INT, &opt_epoch,
	  "Stop everything and audit every N seconds (default 5)", "N" },
	{ NULL },
};

static struct thr *spawn(GPtrArray *all, const char *name,
			 const struct profile *prof, void *(*fn)(void *),
			 u64 seed)
{
	struct thr *t = g_new0(struct thr, 1);

	thr_init(t, name, seed, all->len + 1);
	t->prof = prof;
	t->fn = fn;
	g_ptr_array_add(all, t);
	return t;
}

int main(int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx =
		g_option_context_new("- hostile, concurrent use of spte_mirror.ko");
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) all = g_ptr_array_new();
	struct thr ctl;
	struct utsname u;
	struct rng r;
	gint64 t0, end, next;
	u64 seed;
	int epochs = 0, rc;
	struct cpu_sample cpu0, cpu1;
	bool ok;

	g_option_context_add_main_entries(ctx, options, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "spte-stress: %s\n", error->message);
		return 2;
	}
	if (opt_seconds < 1 || opt_threads < 1 || opt_threads > 64 ||
	    opt_epoch < 1) {
		fprintf(stderr, "spte-stress: --seconds, --threads (1..64) and --epoch must be positive\n");
		return 2;
	}
	seed = opt_seed ? g_ascii_strtoull(opt_seed, NULL, 0) :
			  (u64)g_get_real_time();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ensure_module()) {
		printf("1..0 # SKIP no spte_mirror module (%s)\n",
		       SPTE_MIRROR_DEVICE);
		return 77;
	}
	rng_init(&r, seed, 0);
	setup_memory(&r);
	vvar_addr = find_vvar();
	nr_nodes = count_nodes();
	self_mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	if (self_mem < 0 || !vvar_addr)
		die("/proc/self/mem or [vvar]: %s", g_strerror(errno));
	setup_knobs();
	setup_mirrors();

	/* workers: B, then C (the checker's rules), then A, which they share */
	for (int i = 0; i < opt_threads; i++) {
		int f = opt_threads == 1 ? FD_A : i == 0 ? FD_B :
			i == 1 && opt_threads > 2 ? FD_C : FD_A;
		g_autofree char *name = g_strdup_printf("worker %d (%s)", i,
							fds[f].name);

		spawn(all, name, &profiles[f], worker_main, seed);
	}
	for (int i = 0; i < NR_CHECKERS; i++) {
		g_autofree char *name = g_strdup_printf("checker %d", i);

		spawn(all, name, &profiles[FD_C], checker_main, seed)->part =
			i * PART_SIZE;
	}
	spawn(all, "chaos churn", &profiles[FD_A], chaos_main, seed);
	spawn(all, "preserving churn", &profiles[FD_C], preserve_main, seed);
	spawn(all, "fork", &profiles[FD_A], forker_main, seed);
	for (int i = 0; i < NR_FDS; i++) {
		g_autofree char *name = g_strdup_printf("reader %s",
							fds[i].name);

		spawn(all, name, &profiles[i], reader_main, seed);
	}
	thr_init(&ctl, "controller", seed, 1000);

	uname(&u);
	printf("# spte-stress: %d s, seed %llu, %d workers over fds A, B, C (%u threads in all), kernel %s (module built for %u.%u, callbacks 0x%llx), %d NUMA node%s, KSM %s, hugetlb %s, secretmem %s\n",
	       opt_seconds, seed, opt_threads, all->len, u.release,
	       mod_kver >> 16, (mod_kver >> 8) & 0xff, mod_callbacks, nr_nodes,
	       nr_nodes > 1 ? "s" : "", have_ksm ? "on" : "absent",
	       have_hugetlb ? "yes" : "no", have_secretmem ? "yes" : "no");
	printf("1..4\n");

	for (guint i = 0; i < all->len; i++) {
		struct thr *t = all->pdata[i];

		rc = pthread_create(&t->tid, NULL, thread_start, t);
		if (rc)
			die("starting thread %s: %s", t->name, g_strerror(rc));
	}
	cpu_sample(&cpu0);
	t0 = g_get_monotonic_time();
	end = t0 + (gint64)opt_seconds * G_USEC_PER_SEC;
	for (;;) {
		gint64 now = g_get_monotonic_time();

		next = MIN(end, now + (gint64)MIN(opt_epoch, MAX(opt_seconds / 2, 1)) *
			   G_USEC_PER_SEC);
		if (now < next)
			g_usleep(next - now);
		if (next >= end)
			break;
		gate_pause(false);
		quiescent_checks(&ctl, epochs, false);
		epochs++;
		printf("# %.1f s: %llu ioctls, %llu unexpected, %llu checks failed, KSM sharing %llu\n",
		       (g_get_monotonic_time() - t0) / 1e6, sh->ioctls,
		       kind_sum(CAT_IOCTL, true) + kind_sum(CAT_FILE, true) +
		       kind_sum(CAT_MM, true), kind_sum(CAT_CHECK, true),
		       read_u64(KSM "pages_sharing"));
		gate_resume();
	}
	gate_pause(true);
	for (guint i = 0; i < all->len; i++)
		pthread_join(((struct thr *)all->pdata[i])->tid, NULL);

	/* ksmd and khugepaged back as they were, then the last look */
	knobs_restore(THP "khugepaged/scan_sleep_millisecs");
	knobs_restore(KSM "run");
	quiescent_checks(&ctl, epochs, true);
	epochs++;
	cpu_sample(&cpu1);
	for (int i = 0; i < NR_FDS; i++)
		account_final(&ctl, &fds[i]);
	for (int i = 0; i < NR_FDS; i++)
		close(fds[i].fd);
	/* the huge pages are free again: the pool can shrink */
	knobs_restore(NULL);
	ok = summary((g_get_monotonic_time() - t0) / 1e6, seed, opt_threads,
		     epochs, &cpu0, &cpu1, all);
	return ok ? 0 : 1;
}
