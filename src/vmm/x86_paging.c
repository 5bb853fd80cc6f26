// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include <spte/guest_abi.h>

#include "spte_error.h"
#include "x86_paging.h"

#define PTE_P		(1ULL << 0)
#define PTE_W		(1ULL << 1)
#define PTE_PS		(1ULL << 7)
#define PTE_ADDR	0x000ffffffffff000ULL

#define SZ_4K		0x1000ULL
#define SZ_2M		0x200000ULL
#define SZ_1G		0x40000000ULL

/* Table pages in the system slot, in the order they are handed out. */
struct table_alloc {
	guint8 *sys;
	guint64 next;		/* offset of the next free table page */
};

static guint64 *table_at(const guint8 *sys, guint64 gpa)
{
	return (guint64 *)(sys + (gpa - SPTE_SYS_GPA));
}

static gboolean table_new(struct table_alloc *a, guint64 *gpa, GError **error)
{
	if (a->next + SZ_4K > SPTE_SYS_PGTABLE_END) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "guest RAM too large: page tables would not fit in "
			    "the system slot");
		return FALSE;
	}
	memset(a->sys + a->next, 0, SZ_4K);
	*gpa = SPTE_SYS_GPA + a->next;
	a->next += SZ_4K;
	return TRUE;
}

/* Return the table that @entry points to, creating it if absent. */
static gboolean next_level(struct table_alloc *a, guint64 *entry,
			   guint64 **table, GError **error)
{
	guint64 gpa;

	if (!(*entry & PTE_P)) {
		if (!table_new(a, &gpa, error))
			return FALSE;
		*entry = gpa | PTE_P | PTE_W;
	}
	*table = table_at(a->sys, *entry & PTE_ADDR);
	return TRUE;
}

static guint idx(guint64 va, guint level)
{
	return (va >> (12 + 9 * level)) & 511;
}

/* Map [va, va + size) to [gpa, ...) with 2 MiB pages where both allow. */
static gboolean map_range(struct table_alloc *a, guint64 *pml4, guint64 va,
			  guint64 gpa, guint64 size, GError **error)
{
	while (size) {
		guint64 *pdpt, *pd, *pt;

		if (!next_level(a, &pml4[idx(va, 3)], &pdpt, error) ||
		    !next_level(a, &pdpt[idx(va, 2)], &pd, error))
			return FALSE;
		if (size >= SZ_2M && !(va % SZ_2M) && !(gpa % SZ_2M)) {
			pd[idx(va, 1)] = gpa | PTE_P | PTE_W | PTE_PS;
			va += SZ_2M;
			gpa += SZ_2M;
			size -= SZ_2M;
			continue;
		}
		if (!next_level(a, &pd[idx(va, 1)], &pt, error))
			return FALSE;
		pt[idx(va, 0)] = gpa | PTE_P | PTE_W;
		va += SZ_4K;
		gpa += SZ_4K;
		size -= SZ_4K;
	}
	return TRUE;
}

gboolean spte_x86_build_page_tables(guint8 *sys, guint64 ram_size,
				    GError **error)
{
	struct table_alloc a = { .sys = sys, .next = SPTE_SYS_PGTABLE };
	guint64 pml4_gpa;
	guint64 *pml4;

	if (ram_size % SZ_4K || ram_size > SPTE_RAM_MAX) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "guest RAM size %#" G_GINT64_MODIFIER "x is not a "
			    "multiple of 4 KiB up to %llu GiB", ram_size,
			    SPTE_RAM_MAX >> 30);
		return FALSE;
	}
	if (!table_new(&a, &pml4_gpa, error))
		return FALSE;
	pml4 = table_at(sys, pml4_gpa);

	return map_range(&a, pml4, 0, 0, ram_size, error) &&
	       map_range(&a, pml4, SPTE_SYS_VA, SPTE_SYS_GPA, SPTE_SYS_SIZE,
			 error);
}

gboolean spte_x86_translate(const guint8 *sys, guint64 va, guint64 *gpa,
			    guint64 *page_size)
{
	guint64 entry = (SPTE_SYS_GPA + SPTE_SYS_PGTABLE) | PTE_P;
	gint64 sva = (gint64)va;

	/* Canonical: bits 63..47 all equal. */
	if ((sva >> 47) != 0 && (sva >> 47) != -1)
		return FALSE;
	for (int level = 3; level >= 0; level--) {
		guint64 table = entry & PTE_ADDR;

		if (table < SPTE_SYS_GPA ||
		    table >= SPTE_SYS_GPA + SPTE_SYS_PGTABLE_END)
			return FALSE;
		entry = table_at(sys, table)[idx(va, level)];
		if (!(entry & PTE_P))
			return FALSE;
		if (level == 0 || (level == 1 && (entry & PTE_PS))) {
			guint64 size = level ? SZ_2M : SZ_4K;

			*gpa = (entry & PTE_ADDR & ~(size - 1)) |
			       (va & (size - 1));
			*page_size = size;
			return TRUE;
		}
		if (entry & PTE_PS)
			return FALSE;	/* 1 GiB pages: we never build them */
	}
	return FALSE;
}

void spte_x86_build_gdt(guint8 *sys)
{
	guint64 *gdt = (guint64 *)(sys + SPTE_SYS_GDT);
	guint64 tss = SPTE_SYS_VA + SPTE_SYS_GDT + SPTE_TSS_OFFSET;
	guint64 limit = 0x67;

	memset(gdt, 0, SZ_4K);
	gdt[SPTE_SEL_CODE / 8] = 0x00af9b000000ffffULL;	/* L=1, DPL 0, exec/read */
	gdt[SPTE_SEL_DATA / 8] = 0x00cf93000000ffffULL;	/* read/write, 4 GiB */
	/* 64-bit TSS (busy), 16 bytes: VMX refuses entry without a usable TR. */
	gdt[SPTE_SEL_TSS / 8] = limit | ((tss & 0xffffff) << 16) |
				(0x8bULL << 40) | (((tss >> 24) & 0xff) << 56);
	gdt[SPTE_SEL_TSS / 8 + 1] = tss >> 32;
}
