/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * spte_mirror: a demonstration secondary MMU.  The module mirrors ranges of
 * a process's address space ("slots", like KVM memslots) into an
 * EPT-format shadow table kept coherent by an mmu notifier.
 *
 * Device: /dev/spte_mirror.  Every ioctl takes a pointer to one of the
 * structs below (_IOWR); all fields are __u64 or pairs of __u32 so that
 * there is no implicit padding, "flags" bits not defined here and all
 * "reserved" words must be zero (-EINVAL otherwise), unknown commands fail
 * with -ENOTTY.  See docs/uapi.md.
 */
#ifndef _UAPI_LINUX_SPTE_MIRROR_H
#define _UAPI_LINUX_SPTE_MIRROR_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define SPTE_MIRROR_DEVICE		"/dev/spte_mirror"
#define SPTE_MIRROR_ABI_VERSION		1
/* 0xB9 is unassigned in Documentation/userspace-api/ioctl/ioctl-number.rst */
#define SPTE_MIRROR_IOC_MAGIC		0xB9

/* ---- notifier callbacks (event records, counters, version) ---- */
#define SPTE_CB_INVALIDATE_RANGE_START	0
#define SPTE_CB_INVALIDATE_RANGE_END	1
/* ->invalidate_range before 6.6, ->arch_invalidate_secondary_tlbs after */
#define SPTE_CB_INVALIDATE_SECONDARY	2
#define SPTE_CB_CHANGE_PTE		3	/* kernels before 6.10 */
#define SPTE_CB_CLEAR_FLUSH_YOUNG	4
#define SPTE_CB_CLEAR_YOUNG		5
#define SPTE_CB_TEST_YOUNG		6
#define SPTE_CB_RELEASE			7
/* the per-slot mmu_interval_notifier used for hmm_range_fault() */
#define SPTE_CB_INTERVAL_INVALIDATE	8
/* synthetic record: "leaves" holds how many records were dropped */
#define SPTE_CB_DROPPED			15
#define SPTE_CB_NR			16

/* ---- mmu_notifier_range.event, as reported in event records ---- */
#define SPTE_EV_UNMAP			0
#define SPTE_EV_CLEAR			1
#define SPTE_EV_PROTECTION_VMA		2
#define SPTE_EV_PROTECTION_PAGE		3
#define SPTE_EV_SOFT_DIRTY		4
#define SPTE_EV_RELEASE			5
#define SPTE_EV_MIGRATE			6
#define SPTE_EV_EXCLUSIVE		7
#define SPTE_EV_NONE			0xff	/* callback has no range event */

/* "none" value of a pfn or gpa field */
#define SPTE_MIRROR_NONE		(~(__u64)0)

/* SPTE_MIRROR_VERSION: always succeeds, no input besides zeroes. */
struct spte_mirror_version {
	__u32 abi_version;	/* out: SPTE_MIRROR_ABI_VERSION */
	__u32 kernel_version;	/* out: KERNEL_VERSION(maj, min, 0) built for */
	__u64 callbacks;	/* out: bit (1 << SPTE_CB_x) per callback */
	__u64 flags;		/* in: 0 */
	__u64 max_slots;	/* out */
	__u64 reserved[4];	/* in: 0 */
};

/*
 * SPTE_MIRROR_ATTACH: mirror another process's mm instead of the opener's.
 * Needs ptrace-attach rights over it; only before the first slot is added.
 * The fd stays controlled by the opener's mm (ioctls from any other mm get
 * -EIO).
 */
struct spte_mirror_attach {
	__u64 pid;
	__u64 flags;		/* in: 0 */
	__u64 reserved[6];
};

/* SPTE_MIRROR_ADD_SLOT / SPTE_MIRROR_DEL_SLOT */
#define SPTE_SLOT_READONLY		(1ULL << 0)	/* never map W */
#define SPTE_SLOT_FLAGS			SPTE_SLOT_READONLY
struct spte_mirror_slot {
	__u64 gpa;		/* DEL_SLOT: identifies the slot */
	__u64 hva;
	__u64 size;
	__u64 flags;
	__u64 id;		/* out (ADD_SLOT) */
	__u64 reserved[3];
};

/* SPTE_MIRROR_MAP: fault in / snapshot a GPA range into the table */
#define SPTE_MAP_WRITE			(1ULL << 0)	/* write fault: COW */
#define SPTE_MAP_SNAPSHOT		(1ULL << 1)	/* no fault, mirror only */
#define SPTE_MAP_NO_HUGE		(1ULL << 2)	/* 4K leaves only */
#define SPTE_MAP_FLAGS			(SPTE_MAP_WRITE | SPTE_MAP_SNAPSHOT | \
					 SPTE_MAP_NO_HUGE)
struct spte_mirror_map {
	__u64 gpa;
	__u64 size;
	__u64 flags;
	__u64 mapped_4k;	/* out: 4K leaves installed */
	__u64 mapped_2m;	/* out: 2M leaves installed */
	__u64 skipped;		/* out: snapshot: pages not mapped in primary */
	__u64 retries;		/* out: invalidate-sequence retries */
	__u64 reserved;		/* in: 0 */
};

/* SPTE_MIRROR_UNMAP: zap a GPA range from the table */
struct spte_mirror_range {
	__u64 gpa;
	__u64 size;
	__u64 flags;		/* in: 0 */
	__u64 zapped;		/* out: leaves removed */
	__u64 reserved[4];
};

/* SPTE_MIRROR_ACCESS: device read/write of guest memory via the mirror */
#define SPTE_ACCESS_WRITE		(1ULL << 0)
#define SPTE_ACCESS_NO_FAULT		(1ULL << 1)	/* miss -> -EFAULT */
#define SPTE_ACCESS_FLAGS		(SPTE_ACCESS_WRITE | SPTE_ACCESS_NO_FAULT)
struct spte_mirror_access {
	__u64 gpa;
	__u64 size;
	__u64 buf;		/* user pointer */
	__u64 flags;
	__u64 done;		/* out: bytes transferred */
	__u64 faults;		/* out: table misses that were faulted in */
	__u64 reserved[2];
};

/* SPTE_MIRROR_DUMP */
struct spte_mirror_leaf {
	__u64 gpa;
	__u64 hva;
	__u64 entry;		/* raw EPT entry, see spte/ept.h */
	__u32 level;		/* 1 = 4K, 2 = 2M */
	__u32 slot;
};

/*
 * Without SPTE_DUMP_CURSOR: all present leaves or -E2BIG (needed says how
 * many), one consistent snapshot.  With it: up to count leaves at GPAs
 * >= start, in GPA order; next is where the following call starts
 * (SPTE_MIRROR_NONE when there is no more), seq lets the caller see that
 * the table changed between calls.
 */
#define SPTE_DUMP_CURSOR		(1ULL << 0)
#define SPTE_DUMP_FLAGS			SPTE_DUMP_CURSOR
struct spte_mirror_dump {
	__u64 leaves;		/* in: user pointer to spte_mirror_leaf[] */
	__u64 count;		/* in: capacity; out: entries written */
	__u64 needed;		/* out: present leaves (-E2BIG if > count) */
	__u64 flags;		/* in: SPTE_DUMP_* */
	__u64 table_pages[4];	/* out: table pages at level 1..4 */
	__u64 seq;		/* out: invalidate sequence of the snapshot */
	__u64 start;		/* in (CURSOR): first GPA to dump */
	__u64 next;		/* out (CURSOR): GPA to continue at, or NONE */
	__u64 reserved;		/* in: 0 */
};

/* SPTE_MIRROR_LOG_CONFIG */
#define SPTE_LOG_SLOTS_ONLY		(1ULL << 0)	/* skip outside slots */
#define SPTE_LOG_FLAGS			SPTE_LOG_SLOTS_ONLY
struct spte_mirror_log_config {
	__u64 records;		/* in: new size (0: keep); out: size */
	__u64 flags;		/* in: SPTE_LOG_* */
	__u64 reserved[6];
};

/* SPTE_MIRROR_COUNTERS */
struct spte_mirror_counters {
	__u64 flags;		/* in: 0 */
	__u64 callbacks[SPTE_CB_NR];
	__u64 events_logged;
	__u64 events_dropped;
	__u64 faults;		/* hmm_range_fault calls that succeeded */
	__u64 retries;		/* map attempts redone after invalidation */
	__u64 leaves_installed;
	__u64 leaves_zapped;
	__u64 leaves_present;
	__u64 table_pages;
	__u64 invalidate_seq;
	__u64 reserved[6];
};

/* SPTE_MIRROR_AUDIT */
#define SPTE_AUDIT_STALE_PFN		1	/* leaf PFN != primary PFN */
#define SPTE_AUDIT_STALE_UNMAPPED	2	/* leaf present, primary not */
#define SPTE_AUDIT_WRITE		3	/* W, primary read-only */
#define SPTE_AUDIT_LEVEL		4	/* 2M leaf, primary not PMD */
#define SPTE_AUDIT_MAX_REPORTS		8
struct spte_mirror_audit_report {
	__u64 gpa;
	__u64 entry;		/* the mirror's leaf */
	__u64 primary_pfn;	/* SPTE_MIRROR_NONE if not mapped */
	__u32 kind;		/* SPTE_AUDIT_* */
	__u32 level;
};

struct spte_mirror_audit {
	__u64 flags;		/* in: 0 */
	__u64 leaves;		/* out: leaves checked */
	__u64 pages;		/* out: 4K pages checked */
	__u64 stale_pfn;
	__u64 stale_unmapped;
	__u64 write_violations;
	__u64 level_violations;
	__u64 nr_reports;	/* out: valid entries in reports[] */
	struct spte_mirror_audit_report reports[SPTE_AUDIT_MAX_REPORTS];
	__u64 reserved[4];
};

/*
 * Event records, read() from the fd (whole records only; poll() for
 * POLLIN).  seq increases by one per event, dropped ones included, so a
 * gap is visible even without the SPTE_CB_DROPPED record.
 */
#define SPTE_EVF_BLOCKABLE		(1U << 0)	/* range was blockable */
#define SPTE_EVF_IN_SLOT		(1U << 1)	/* range hit a slot */
#define SPTE_EVF_SKIPPED		(1U << 2)	/* skip_invalidate=1 */
struct spte_mirror_event {
	__u64 seq;
	__u64 time_ns;		/* ktime_get_ns() */
	__u32 callback;		/* SPTE_CB_* */
	__u32 event;		/* SPTE_EV_* */
	__u32 flags;		/* SPTE_EVF_* */
	__s32 result;		/* callback's return value */
	__u64 hva_start;
	__u64 hva_end;		/* exclusive */
	__u64 gpa_start;	/* lowest GPA hit, or SPTE_MIRROR_NONE */
	__u64 gpa_end;		/* exclusive, or SPTE_MIRROR_NONE */
	__u64 old_pfn;		/* first leaf removed/changed, or NONE */
	__u64 new_pfn;		/* change_pte's new PFN, or NONE */
	__u64 leaves;		/* leaves affected (DROPPED: records lost) */
	__u64 reserved;
};

#define SPTE_MIRROR_VERSION	_IOWR(SPTE_MIRROR_IOC_MAGIC, 0x00, \
				      struct spte_mirror_version)
#define SPTE_MIRROR_ATTACH	_IOWR(SPTE_MIRROR_IOC_MAGIC, 0x01, \
				      struct spte_mirror_attach)
#define SPTE_MIRROR_ADD_SLOT	_IOWR(SPTE_MIRROR_IOC_MAGIC, 0x02, \
				      struct spte_mirror_slot)
#define SPTE_MIRROR_DEL_SLOT	_IOWR(SPTE_MIRROR_IOC_MAGIC, 0x03, \
				      struct spte_mirror_slot)
#define SPTE_MIRROR_MAP		_IOWR(SPTE_MIRROR_IOC_MAGIC, 0x04, \
				      struct spte_mirror_map)
#define SPTE_MIRROR_UNMAP	_IOWR(SPTE_MIRROR_IOC_MAGIC, 0x05, \
				      struct spte_mirror_range)
#define SPTE_MIRROR_ACCESS	_IOWR(SPTE_MIRROR_IOC_MAGIC, 0x06, \
				      struct spte_mirror_access)
#define SPTE_MIRROR_DUMP	_IOWR(SPTE_MIRROR_IOC_MAGIC, 0x07, \
				      struct spte_mirror_dump)
#define SPTE_MIRROR_LOG_CONFIG	_IOWR(SPTE_MIRROR_IOC_MAGIC, 0x08, \
				      struct spte_mirror_log_config)
#define SPTE_MIRROR_COUNTERS	_IOWR(SPTE_MIRROR_IOC_MAGIC, 0x09, \
				      struct spte_mirror_counters)
#define SPTE_MIRROR_AUDIT	_IOWR(SPTE_MIRROR_IOC_MAGIC, 0x0a, \
				      struct spte_mirror_audit)

#endif /* _UAPI_LINUX_SPTE_MIRROR_H */
