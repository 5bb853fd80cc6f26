// SPDX-License-Identifier: GPL-2.0
/*
 * Host memory behind guest RAM.  Every backing is mapped at a 2 MiB aligned
 * host address: a PMD-sized THP (or hugetlb page) can only back a 2 MiB
 * aligned range of the host mapping, and KVM (and the mirror) can only use a
 * 2 MiB leaf where the HVA and the GPA are aligned alike.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_mem.h"
#include "spte_error.h"

#define SZ_2M (2ULL << 20)

static const char *const backing_names[] = {
	[SPTE_BACKING_ANON] = "anon",
	[SPTE_BACKING_MEMFD] = "memfd",
	[SPTE_BACKING_HUGETLB] = "hugetlb",
};

const char *spte_backing_name(enum spte_backing backing)
{
	return backing_names[backing];
}

gboolean spte_backing_from_string(const char *name, enum spte_backing *out,
				  GError **error)
{
	for (guint i = 0; i < G_N_ELEMENTS(backing_names); i++) {
		if (g_strcmp0(name, backing_names[i]) == 0) {
			*out = i;
			return TRUE;
		}
	}
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
		    "--backing: '%s' is not one of anon, memfd, hugetlb", name);
	return FALSE;
}

/* Reserve size + 2 MiB of address space and return its 2 MiB aligned part. */
static void *reserve_aligned(guint64 size, GError **error)
{
	guint64 len = size + SZ_2M;
	guint8 *base, *aligned;

	base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		spte_set_errno(error, errno, "reserving %" G_GUINT64_FORMAT
			       " MiB of address space for guest RAM",
			       size >> 20);
		return NULL;
	}
	aligned = (guint8 *)(((guintptr)base + SZ_2M - 1) & ~(SZ_2M - 1));
	if (aligned > base)
		munmap(base, aligned - base);
	if (base + len > aligned + size)
		munmap(aligned + size, base + len - (aligned + size));
	return aligned;
}

static int create_memfd(const struct spte_mem_opts *opts, GError **error)
{
	unsigned int flags = MFD_CLOEXEC;
	int fd;

	if (opts->backing == SPTE_BACKING_HUGETLB)
		flags |= MFD_HUGETLB | MFD_HUGE_2MB;
	fd = memfd_create("spte-guest-ram", flags);
	if (fd < 0) {
		spte_set_errno(error, errno, "memfd_create(%s)",
			       spte_backing_name(opts->backing));
		return -1;
	}
	if (ftruncate(fd, opts->size) < 0) {
		int err = errno;

		close(fd);
		if (opts->backing == SPTE_BACKING_HUGETLB)
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_FAILED,
				    "sizing the hugetlb memfd to %" G_GUINT64_FORMAT
				    " MiB: %s", opts->size >> 20, g_strerror(err));
		else
			spte_set_errno(error, err, "ftruncate(memfd)");
		return -1;
	}
	return fd;
}

static gboolean advise(struct spte_region *region,
		       const struct spte_mem_opts *opts, GError **error)
{
	int thp_advice = opts->thp == SPTE_THP_HUGEPAGE ? MADV_HUGEPAGE :
			 opts->thp == SPTE_THP_NOHUGEPAGE ? MADV_NOHUGEPAGE : 0;

	if (thp_advice && opts->backing != SPTE_BACKING_HUGETLB &&
	    madvise(region->hva, region->size, thp_advice) < 0)
		return spte_set_errno(error, errno, "madvise(%s)",
				      thp_advice == MADV_HUGEPAGE ?
				      "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE");
	if (opts->ksm && madvise(region->hva, region->size, MADV_MERGEABLE) < 0)
		return spte_set_errno(error, errno,
				      "madvise(MADV_MERGEABLE) (is CONFIG_KSM set?)");
	return TRUE;
}

gboolean spte_region_map(struct spte_region *region, guint64 gpa,
			 const struct spte_mem_opts *opts, GError **error)
{
	int flags = MAP_FIXED;
	void *hva;

	*region = (struct spte_region){ .gpa = gpa, .size = opts->size,
					.fd = -1, .backing = opts->backing };

	if (opts->ksm && opts->backing != SPTE_BACKING_ANON) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "--ksm: KSM merges only private anonymous memory; "
			    "use --backing anon");
		return FALSE;
	}
	if (opts->backing == SPTE_BACKING_HUGETLB && opts->size % SZ_2M) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "--mem: hugetlb backing needs a multiple of 2 MiB, not %"
			    G_GUINT64_FORMAT " bytes", opts->size);
		return FALSE;
	}

	hva = reserve_aligned(opts->size, error);
	if (!hva)
		return FALSE;

	if (opts->backing == SPTE_BACKING_ANON) {
		flags |= MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	} else {
		region->fd = create_memfd(opts, error);
		if (region->fd < 0)
			goto err_unreserve;
		flags |= MAP_SHARED;
	}
	if (mmap(hva, opts->size, PROT_READ | PROT_WRITE, flags, region->fd, 0)
	    == MAP_FAILED) {
		if (opts->backing == SPTE_BACKING_HUGETLB)
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_FAILED,
				    "mapping hugetlb guest RAM: %s (free 2 MiB "
				    "pages: see /proc/sys/vm/nr_hugepages)",
				    g_strerror(errno));
		else
			spte_set_errno(error, errno, "mapping %s guest RAM",
				       spte_backing_name(opts->backing));
		goto err_close;
	}
	region->hva = hva;
	if (!advise(region, opts, error))
		goto err_close;
	return TRUE;

err_close:
	if (region->fd >= 0)
		close(region->fd);
	region->fd = -1;
	region->hva = NULL;
err_unreserve:
	munmap(hva, opts->size);
	return FALSE;
}

void spte_region_unmap(struct spte_region *region)
{
	if (region->hva)
		munmap(region->hva, region->size);
	if (region->fd >= 0)
		close(region->fd);
	region->hva = NULL;
	region->fd = -1;
}
