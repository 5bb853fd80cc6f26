// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "flag_names.h"
#include "primary.h"
#include "spte_error.h"

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)

/* Documentation/admin-guide/mm/pagemap.rst */
#define PM_PFN_MASK	((1ULL << 55) - 1)
#define PM_SOFT_DIRTY	(1ULL << 55)
#define PM_EXCLUSIVE	(1ULL << 56)
#define PM_UFFD_WP	(1ULL << 57)
#define PM_FILE		(1ULL << 61)
#define PM_SWAP		(1ULL << 62)
#define PM_PRESENT	(1ULL << 63)

/* include/uapi/linux/kernel-page-flags.h, not installed by linux-libc-dev */
#define KPF_REFERENCED	2
#define KPF_ANON	12
#define KPF_HUGE	17
#define KPF_KSM		21
#define KPF_THP		22
#define KPF_ZERO_PAGE	24
#define KPF_IDLE	25

/* The flags that come from kpageflags, i.e. describe the page frame. */
#define KPF_DERIVED	(SPTE_PRIMARY_THP | SPTE_PRIMARY_KSM | \
			 SPTE_PRIMARY_ZERO | SPTE_PRIMARY_ANON | \
			 SPTE_PRIMARY_HUGE | SPTE_PRIMARY_REFERENCED | \
			 SPTE_PRIMARY_IDLE | SPTE_PRIMARY_KPF_VALID)

static const struct spte_flag_name flag_names[] = {
	/* the order in which spte_primary_format() lists them */
	{ SPTE_PRIMARY_SWAPPED, "swap" },
	{ SPTE_PRIMARY_FILE, "file" },
	{ SPTE_PRIMARY_ANON, "anon" },
	{ SPTE_PRIMARY_HUGE, "huge" },
	{ SPTE_PRIMARY_THP, "thp" },
	{ SPTE_PRIMARY_KSM, "ksm" },
	{ SPTE_PRIMARY_ZERO, "zero" },
	{ SPTE_PRIMARY_UFFD_WP, "uffd-wp" },
	{ SPTE_PRIMARY_EXCLUSIVE, "excl" },
	{ SPTE_PRIMARY_SOFT_DIRTY, "sd" },
	{ SPTE_PRIMARY_REFERENCED, "ref" },
	{ SPTE_PRIMARY_IDLE, "idle" },
	{ 0, NULL },
};

const char *spte_primary_flag_name(guint32 flag)
{
	if (flag == SPTE_PRIMARY_PRESENT)
		return "P";
	return spte_flag_name(flag_names, flag);
}

char *spte_primary_format(const struct spte_primary_page *p)
{
	GString *s = g_string_new(NULL);

	if (p->flags & SPTE_PRIMARY_PRESENT)
		g_string_append(s, "P");
	spte_flag_names_append(flag_names, p->flags, " ", s);
	if (p->node >= 0)
		g_string_append_printf(s, "%snode%d", s->len ? " " : "",
				       p->node);
	if (!s->len)
		g_string_append_c(s, '-');
	return g_string_free(s, FALSE);
}

static gboolean pread_full(int fd, void *buf, gsize len, guint64 off,
			   gsize *done)
{
	*done = 0;
	while (*done < len) {
		ssize_t r = pread(fd, (char *)buf + *done, len - *done,
				  off + *done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return FALSE;
		if (r == 0)
			break;
		*done += r;
	}
	return TRUE;
}

/* The /proc/kpageflags bits a page's flags are derived from. */
static const struct {
	guint kpf;
	guint32 flag;
} kpf_flags[] = {
	{ KPF_THP, SPTE_PRIMARY_THP },
	{ KPF_KSM, SPTE_PRIMARY_KSM },
	{ KPF_ZERO_PAGE, SPTE_PRIMARY_ZERO },
	{ KPF_ANON, SPTE_PRIMARY_ANON },
	{ KPF_HUGE, SPTE_PRIMARY_HUGE },
	{ KPF_REFERENCED, SPTE_PRIMARY_REFERENCED },
	{ KPF_IDLE, SPTE_PRIMARY_IDLE },
};

static guint32 kpf_to_flags(guint64 kpf)
{
	guint32 f = SPTE_PRIMARY_KPF_VALID;

	for (guint i = 0; i < G_N_ELEMENTS(kpf_flags); i++)
		if (kpf & (1ULL << kpf_flags[i].kpf))
			f |= kpf_flags[i].flag;
	return f;
}

/*
 * Whether KPF_KSM can be believed.  Debian's 6.12 (stable_page_flags() in
 * fs/proc/page.c, as converted to folios) tests `mapping &
 * PAGE_MAPPING_KSM`, which every anonymous page passes, since
 * PAGE_MAPPING_KSM is PAGE_MAPPING_ANON | PAGE_MAPPING_MOVABLE.  Asked once:
 * a private page of our own, never offered to KSM, must not be KSM.
 */
/* Read one u64 at @index of /proc/@file; FALSE if it cannot be read. */
static gboolean read_u64_at(const char *file, guint64 index, guint64 *v)
{
	gsize got = 0;
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	gboolean ok;

	if (fd < 0)
		return FALSE;
	ok = pread_full(fd, v, sizeof(*v), index * sizeof(*v), &got) &&
	     got == sizeof(*v);
	close(fd);
	return ok;
}

static gboolean kpf_ksm_is_reliable(void)
{
	static int reliable = -1;
	guint64 pm, kpf;
	volatile char *page;

	if (reliable >= 0)
		return reliable;
	reliable = 1;
	page = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return reliable;
	page[0] = 1;
	if (read_u64_at("/proc/self/pagemap", (guintptr)page >> PAGE_SHIFT,
			&pm) && (pm & PM_PRESENT) && (pm & PM_PFN_MASK) &&
	    read_u64_at("/proc/kpageflags", pm & PM_PFN_MASK, &kpf) &&
	    (kpf & (1ULL << KPF_ANON)) && (kpf & (1ULL << KPF_KSM)))
		reliable = 0;
	munmap((void *)page, PAGE_SIZE);
	return reliable;
}

const char *spte_primary_ksm_note(void)
{
	return kpf_ksm_is_reliable() ? NULL :
		"this kernel's kpageflags sets KPF_KSM on every anonymous "
		"page; ksm here means KPF_KSM and not exclusive";
}

/*
 * One pread per run of consecutive PFNs: a THP or a freshly faulted range
 * is usually physically contiguous, and the KSM or zero page repeats.
 */
static void read_kpageflags(struct spte_primary_page *out, guint64 pages)
{
	g_autofree guint64 *kpf = NULL;
	guint64 cap = 0;
	int fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	for (guint64 i = 0; i < pages;) {
		guint64 pfn = out[i].pfn, n = 1;
		gsize got;

		if (!(out[i].flags & SPTE_PRIMARY_PRESENT) || !pfn) {
			i++;
			continue;
		}
		if (i > 0 && (out[i - 1].flags & SPTE_PRIMARY_KPF_VALID) &&
		    out[i - 1].pfn == pfn) {
			out[i].flags |= out[i - 1].flags & KPF_DERIVED;
			i++;
			continue;
		}
		while (i + n < pages &&
		       (out[i + n].flags & SPTE_PRIMARY_PRESENT) &&
		       out[i + n].pfn == pfn + n)
			n++;
		if (n > cap) {
			cap = n;
			g_free(kpf);
			kpf = g_new(guint64, cap);
		}
		if (pread_full(fd, kpf, n * sizeof(*kpf),
			       pfn * sizeof(*kpf), &got)) {
			for (guint64 k = 0; k < got / sizeof(*kpf); k++)
				out[i + k].flags |= kpf_to_flags(kpf[k]);
		}
		i += n;
	}
	close(fd);
}

static void read_nodes(const void *hva, struct spte_primary_page *out,
		       guint64 pages)
{
	g_autofree void **addrs = g_new(void *, pages);
	g_autofree int *status = g_new(int, pages);

	for (guint64 i = 0; i < pages; i++)
		addrs[i] = (char *)hva + i * PAGE_SIZE;
	/* nodes == NULL: only report where each page is, move nothing */
	if (syscall(SYS_move_pages, 0, (unsigned long)pages, addrs, NULL,
		    status, 0) < 0)
		return;
	for (guint64 i = 0; i < pages; i++) {
		if ((out[i].flags & SPTE_PRIMARY_PRESENT) && status[i] >= 0)
			out[i].node = status[i];
	}
}

gboolean spte_primary_read(const void *hva, guint64 pages,
			   struct spte_primary_page *out, GError **error)
{
	g_autofree guint64 *pm = NULL;
	guint64 vpn = (guintptr)hva >> PAGE_SHIFT;
	gsize got;
	int fd, err;

	if ((guintptr)hva & (PAGE_SIZE - 1)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "primary: address %p is not page aligned", hva);
		return FALSE;
	}
	if (!pages)
		return TRUE;
	if (pages > G_MAXSIZE / sizeof(*pm) / 2) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "primary: %" G_GUINT64_FORMAT " pages is too many",
			    pages);
		return FALSE;
	}
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return spte_set_errno(error, errno, "open /proc/self/pagemap");
	pm = g_new(guint64, pages);
	if (!pread_full(fd, pm, pages * sizeof(*pm), vpn * sizeof(*pm),
			&got)) {
		err = errno;
		close(fd);
		return spte_set_errno(error, err, "read /proc/self/pagemap");
	}
	close(fd);
	if (got != pages * sizeof(*pm)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_FAILED,
			    "read /proc/self/pagemap: short read at %p "
			    "(%" G_GSIZE_FORMAT " of %" G_GUINT64_FORMAT
			    " entries)", hva, got / sizeof(*pm), pages);
		return FALSE;
	}

	for (guint64 i = 0; i < pages; i++) {
		guint64 e = pm[i];
		struct spte_primary_page *p = &out[i];

		*p = (struct spte_primary_page){ .node = -1 };
		if (e & PM_PRESENT) {
			p->flags |= SPTE_PRIMARY_PRESENT;
			p->pfn = e & PM_PFN_MASK;
		} else if (e & PM_SWAP) {
			/* bits 0-54 hold the swap type and offset, no PFN */
			p->flags |= SPTE_PRIMARY_SWAPPED;
		}
		if (e & PM_FILE)
			p->flags |= SPTE_PRIMARY_FILE;
		if (e & PM_UFFD_WP)
			p->flags |= SPTE_PRIMARY_UFFD_WP;
		if (e & PM_EXCLUSIVE)
			p->flags |= SPTE_PRIMARY_EXCLUSIVE;
		if (e & PM_SOFT_DIRTY)
			p->flags |= SPTE_PRIMARY_SOFT_DIRTY;
	}
	read_kpageflags(out, pages);
	/*
	 * A merged KSM page is mapped by each page that shares it, so never
	 * exclusive; what is exclusive cannot be KSM, whatever KPF_KSM says.
	 */
	if (!kpf_ksm_is_reliable())
		for (guint64 i = 0; i < pages; i++)
			if (out[i].flags & SPTE_PRIMARY_EXCLUSIVE)
				out[i].flags &= ~SPTE_PRIMARY_KSM;
	read_nodes(hva, out, pages);
	return TRUE;
}
