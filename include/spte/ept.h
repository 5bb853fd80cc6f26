/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * EPT (Intel VMX extended page table) entry layout as used by the
 * spte_mirror shadow table, plus small decode helpers.
 *
 * Shared by the kernel module (host/) and userspace (src/): it only needs
 * <linux/types.h>, which both sides have.  Bit positions follow the Intel
 * SDM, Vol. 3C, "EPT Translation Mechanism" (4-level EPT, A/D enabled).
 */
#ifndef SPTE_EPT_H
#define SPTE_EPT_H

#include <linux/types.h>

#define SPTE_EPT_BIT(n)		((__u64)1 << (n))

#define SPTE_EPT_R		SPTE_EPT_BIT(0)	/* read */
#define SPTE_EPT_W		SPTE_EPT_BIT(1)	/* write */
#define SPTE_EPT_X		SPTE_EPT_BIT(2)	/* execute (supervisor) */
#define SPTE_EPT_MT_SHIFT	3		/* leaf memory type, 3 bits */
#define SPTE_EPT_MT_MASK	((__u64)7 << SPTE_EPT_MT_SHIFT)
#define SPTE_EPT_IPAT		SPTE_EPT_BIT(6)	/* ignore guest PAT */
#define SPTE_EPT_PS		SPTE_EPT_BIT(7)	/* leaf at level 2 or 3 */
#define SPTE_EPT_A		SPTE_EPT_BIT(8)	/* accessed */
#define SPTE_EPT_D		SPTE_EPT_BIT(9)	/* dirty (leaf only) */
#define SPTE_EPT_XU		SPTE_EPT_BIT(10)	/* user execute (MBEC) */
#define SPTE_EPT_SVE		SPTE_EPT_BIT(63)	/* suppress #VE */
/*
 * Software bit (52-62 are ignored by the CPU): the leaf outlived an
 * invalidation that spte_mirror's skip_invalidate fault injector skipped.
 * Its PFN may be free or reused; nothing reaches memory through it.
 */
#define SPTE_EPT_STALE		SPTE_EPT_BIT(62)

#define SPTE_EPT_PFN_SHIFT	12
/* Physical-address bits 51:12. */
#define SPTE_EPT_PFN_MASK	(((SPTE_EPT_BIT(52)) - 1) & \
				 ~(SPTE_EPT_BIT(SPTE_EPT_PFN_SHIFT) - 1))
#define SPTE_EPT_RWX		(SPTE_EPT_R | SPTE_EPT_W | SPTE_EPT_X)

/* Memory types (SDM "Memory Type Range Registers"). */
#define SPTE_EPT_MT_UC		0
#define SPTE_EPT_MT_WC		1
#define SPTE_EPT_MT_WT		4
#define SPTE_EPT_MT_WP		5
#define SPTE_EPT_MT_WB		6

/* Levels: 1 = PT (4K leaf), 2 = PD (2M), 3 = PDPT (1G), 4 = PML4. */
#define SPTE_EPT_LEVELS		4
#define SPTE_EPT_ENTRIES	512
#define SPTE_EPT_LEVEL_SHIFT(l)	(12 + 9 * ((l) - 1))
#define SPTE_EPT_LEVEL_SIZE(l)	((__u64)1 << SPTE_EPT_LEVEL_SHIFT(l))
#define SPTE_EPT_INDEX(gpa, l)	\
	((unsigned int)(((gpa) >> SPTE_EPT_LEVEL_SHIFT(l)) & 511))
/* Guest-physical address width covered by a 4-level table. */
#define SPTE_EPT_GPA_BITS	48

static inline int spte_ept_present(__u64 e)
{
	return (e & SPTE_EPT_RWX) != 0;
}

static inline int spte_ept_is_leaf(__u64 e, unsigned int level)
{
	return level == 1 || (e & SPTE_EPT_PS) != 0;
}

static inline __u64 spte_ept_pfn(__u64 e)
{
	return (e & SPTE_EPT_PFN_MASK) >> SPTE_EPT_PFN_SHIFT;
}

static inline unsigned int spte_ept_memtype(__u64 e)
{
	return (unsigned int)((e & SPTE_EPT_MT_MASK) >> SPTE_EPT_MT_SHIFT);
}

static inline __u64 spte_ept_make_leaf(__u64 pfn, __u64 prot,
				       unsigned int level)
{
	__u64 e = (pfn << SPTE_EPT_PFN_SHIFT) & SPTE_EPT_PFN_MASK;

	e |= prot & (SPTE_EPT_RWX | SPTE_EPT_A | SPTE_EPT_D);
	e |= (__u64)SPTE_EPT_MT_WB << SPTE_EPT_MT_SHIFT;
	if (level > 1)
		e |= SPTE_EPT_PS;
	return e;
}

static inline const char *spte_ept_memtype_name(unsigned int mt)
{
	switch (mt) {
	case SPTE_EPT_MT_UC:
		return "UC";
	case SPTE_EPT_MT_WC:
		return "WC";
	case SPTE_EPT_MT_WT:
		return "WT";
	case SPTE_EPT_MT_WP:
		return "WP";
	case SPTE_EPT_MT_WB:
		return "WB";
	default:
		return "??";
	}
}

/*
 * Flag letters of an entry, "RWXAD" with '-' for clear bits, plus 'H' for a
 * large (PS) leaf, and a seventh, 'S', only for a stale leaf.  buf must
 * hold at least 8 bytes.
 */
static inline char *spte_ept_flags_str(__u64 e, char *buf)
{
	buf[0] = (e & SPTE_EPT_R) ? 'R' : '-';
	buf[1] = (e & SPTE_EPT_W) ? 'W' : '-';
	buf[2] = (e & SPTE_EPT_X) ? 'X' : '-';
	buf[3] = (e & SPTE_EPT_A) ? 'A' : '-';
	buf[4] = (e & SPTE_EPT_D) ? 'D' : '-';
	buf[5] = (e & SPTE_EPT_PS) ? 'H' : '-';
	buf[6] = (e & SPTE_EPT_STALE) ? 'S' : '\0';
	buf[7] = '\0';
	return buf;
}

#endif /* SPTE_EPT_H */
