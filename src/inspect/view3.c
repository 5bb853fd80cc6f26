// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>

#include "fold.h"
#include "kvm_leaves.h"
#include "kvm_stats.h"
#include "primary.h"
#include "view3.h"

#define PAGE_SHIFT	12
#define PAGE_SIZE	((guint64)1 << PAGE_SHIFT)
/* Lines, once folded: enough to see a pattern; the rest are only counted. */
#define MAX_TRACE_LINES	32

/* Same set as the dump view, so a row never hides a difference it shows. */
#define FOLD_BITS (SPTE_EPT_RWX | SPTE_EPT_A | SPTE_EPT_D | SPTE_EPT_PS | \
		   SPTE_EPT_MT_MASK | SPTE_EPT_IPAT)

enum relation {
	REL_NO_MODULE,
	REL_UNMAPPED,		/* the mirror has no leaf here */
	REL_SAME,
	REL_STALE_PFN,		/* both map it, to different pages */
	REL_STALE_UNMAPPED,	/* the mirror maps what the primary does not */
	REL_UNKNOWN,		/* pagemap hid the PFN: no CAP_SYS_ADMIN */
};

/* KVM's leaf against the mirror's, where both map the page. */
enum kvm_mirror {
	KVM_MIRROR_NONE,	/* no mirror, or it maps nothing here */
	KVM_MIRROR_SAME,
	KVM_MIRROR_DIFFERS,
};

struct page_view {
	struct spte_primary_page p;
	gboolean p_unknown;	/* pagemap could not be read */
	const struct spte_mirror_leaf *leaf;
	guint64 mpfn;		/* the mirror's PFN for this 4K page */
	enum relation rel;
	/* KVM's own leaf (inspect/kvm_leaves.h), as the mirror's above */
	const struct spte_kvm_leaf *kleaf;
	guint64 kpfn;
	enum relation krel;
	enum kvm_mirror kmirror;
};

#define NR_COLS 5

struct row {
	char *cols[NR_COLS];
};

static void row_clear(gpointer data)
{
	struct row *r = data;

	for (guint i = 0; i < G_N_ELEMENTS(r->cols); i++)
		g_free(r->cols[i]);
}

static gboolean same_kvm(const struct page_view *a, const struct page_view *b)
{
	const struct spte_kvm_spte *x, *y;

	if (a->krel != b->krel || a->kmirror != b->kmirror ||
	    !a->kleaf != !b->kleaf)
		return FALSE;
	if (!a->kleaf)
		return TRUE;
	x = &a->kleaf->spte;
	y = &b->kleaf->spte;
	return a->kleaf->level == b->kleaf->level &&
	       a->kleaf->copies == b->kleaf->copies &&
	       !a->kleaf->age_clears == !b->kleaf->age_clears &&
	       x->readable == y->readable && x->writable == y->writable &&
	       x->executable == y->executable && x->accessed == y->accessed &&
	       x->dirty == y->dirty && x->mmu_writable == y->mmu_writable;
}

static gboolean same_row(const struct page_view *a, const struct page_view *b)
{
	if (a->p.flags != b->p.flags || a->p.node != b->p.node ||
	    a->rel != b->rel || !a->leaf != !b->leaf || !same_kvm(a, b))
		return FALSE;
	return !a->leaf || (a->leaf->level == b->leaf->level &&
			    (a->leaf->entry & FOLD_BITS) ==
			    (b->leaf->entry & FOLD_BITS));
}

static int cmp_u64(gconstpointer a, gconstpointer b)
{
	guint64 x = *(const guint64 *)a, y = *(const guint64 *)b;

	return (x > y) - (x < y);
}

/* One 4K PFN per page: how do they relate? */
static void describe_pfns(const guint64 *pfn, guint64 n, GString *out)
{
	gboolean contiguous = TRUE, same = TRUE;
	g_autofree guint64 *sorted = NULL;
	guint64 distinct = 1;

	for (guint64 i = 1; i < n; i++) {
		contiguous &= pfn[i] == pfn[0] + i;
		same &= pfn[i] == pfn[0];
	}
	if (n == 1) {
		g_string_append_printf(out, "pfn 0x%" G_GINT64_MODIFIER "x",
				       pfn[0]);
	} else if (contiguous) {
		g_string_append_printf(out, "pfn 0x%" G_GINT64_MODIFIER "x-0x%"
				       G_GINT64_MODIFIER "x contiguous",
				       pfn[0], pfn[0] + n - 1);
	} else if (same) {
		g_string_append_printf(out, "pfn 0x%" G_GINT64_MODIFIER "x "
				       "shared by all %" G_GUINT64_FORMAT,
				       pfn[0], n);
	} else {
		sorted = g_new(guint64, n);
		memcpy(sorted, pfn, n * sizeof(*pfn));
		qsort(sorted, n, sizeof(*sorted), cmp_u64);
		for (guint64 i = 1; i < n; i++)
			distinct += sorted[i] != sorted[i - 1];
		g_string_append_printf(out, "pfns scattered: %" G_GUINT64_FORMAT
				       " distinct, first 0x%" G_GINT64_MODIFIER
				       "x", distinct, pfn[0]);
	}
}

static char *primary_col(const struct page_view *v, guint64 n)
{
	g_autofree char *flags = spte_primary_format(&v->p);
	g_autofree guint64 *pfn = NULL;
	GString *s = g_string_new(NULL);

	if (!(v->p.flags & SPTE_PRIMARY_PRESENT)) {
		g_string_append(s, "not present");
		if (strcmp(flags, "-"))
			g_string_append_printf(s, ", %s", flags);
		return g_string_free(s, FALSE);
	}
	if (!v->p.pfn) {
		g_string_append(s, "pfn hidden");
	} else {
		pfn = g_new(guint64, n);
		for (guint64 i = 0; i < n; i++)
			pfn[i] = v[i].p.pfn;
		describe_pfns(pfn, n, s);
	}
	g_string_append_printf(s, ", %s", flags);
	return g_string_free(s, FALSE);
}

static const char *relation_text(enum relation rel)
{
	switch (rel) {
	case REL_SAME:
		return "same PFN as primary";
	case REL_STALE_PFN:
		return "STALE: primary maps another PFN";
	case REL_STALE_UNMAPPED:
		return "STALE: primary not present";
	case REL_UNKNOWN:
		return "primary PFN unknown";
	default:
		return "";
	}
}

static char *mirror_col(const struct page_view *v, guint64 n)
{
	const struct spte_mirror_leaf *l = v->leaf;
	g_autofree guint64 *pfn = NULL;
	guint64 leaves = 1;
	GString *s;
	char flags[8];

	if (v->rel == REL_NO_MODULE)
		return g_strdup("no mirror (spte run --mirror)");
	if (!l)
		return g_strdup("not mapped");
	pfn = g_new(guint64, n);
	for (guint64 i = 0; i < n; i++) {
		pfn[i] = v[i].mpfn;
		leaves += i && v[i].leaf != v[i - 1].leaf;
	}
	s = g_string_new(NULL);
	g_string_append_printf(s, "%s x%" G_GUINT64_FORMAT " ",
			       l->level == 1 ? "4K" : "2M", leaves);
	describe_pfns(pfn, n, s);
	g_string_append_printf(s, ", %s %s, %s",
			       spte_ept_flags_str(l->entry, flags),
			       spte_ept_memtype_name(spte_ept_memtype(l->entry)),
			       relation_text(v->rel));
	return g_string_free(s, FALSE);
}

static const char *const level_names[] = { "?", "4K", "2M", "1G" };

/* KVM's column: level, PFNs and flags, and how it stands to the others. */
static char *kvm_col(const struct page_view *v, guint64 n)
{
	const struct spte_kvm_leaf *l = v->kleaf;
	g_autofree guint64 *pfn = NULL;
	g_autofree char *flags = NULL;
	guint64 leaves = 1;
	GString *s;

	if (!l)
		return g_strdup("absent");
	pfn = g_new(guint64, n);
	for (guint64 i = 0; i < n; i++) {
		pfn[i] = v[i].kpfn;
		leaves += i && v[i].kleaf != v[i - 1].kleaf;
	}
	s = g_string_new(NULL);
	g_string_append_printf(s, "%s x%" G_GUINT64_FORMAT " ",
			       level_names[MIN(l->level, 3)], leaves);
	describe_pfns(pfn, n, s);
	flags = spte_kvm_spte_flags(&l->spte);
	g_string_append_printf(s, ", %s", flags);
	if (l->copies > 1)
		g_string_append_printf(s, ", %u copies (roots)", l->copies);
	/* each time, KVM answered "young" to an aging notifier */
	if (l->age_clears)
		g_string_append(s, ", aged (KVM said young)");
	if (v->krel == REL_SAME && v->kmirror == KVM_MIRROR_SAME)
		g_string_append(s, ", same PFN as primary and mirror");
	else if (v->krel != REL_UNMAPPED)
		g_string_append_printf(s, ", %s", relation_text(v->krel));
	if (v->kmirror == KVM_MIRROR_DIFFERS)
		g_string_append(s, ", NOT the mirror's PFN");
	else if (v->kmirror == KVM_MIRROR_SAME && v->krel != REL_SAME)
		g_string_append(s, ", same as mirror");
	return g_string_free(s, FALSE);
}

/* The primary against a secondary MMU's PFN for one page. */
static enum relation relate(const struct page_view *v, gboolean mapped,
			    guint64 pfn)
{
	const struct spte_primary_page *p = &v->p;

	if (!mapped)
		return REL_UNMAPPED;
	if (v->p_unknown)
		return REL_UNKNOWN;
	if (!(p->flags & SPTE_PRIMARY_PRESENT))
		return REL_STALE_UNMAPPED;
	if (!p->pfn)
		return REL_UNKNOWN;
	return p->pfn == pfn ? REL_SAME : REL_STALE_PFN;
}

static void attach_kvm(struct page_view *v, guint64 gpa, guint64 pages,
		       const struct spte_kvm_leaves *kvm)
{
	for (guint64 i = 0; i < pages; i++) {
		struct page_view *p = &v[i];
		guint64 a = gpa + i * PAGE_SIZE;

		p->kleaf = spte_kvm_leaves_lookup(kvm, SPTE_KVM_AS_NORMAL, a);
		p->kpfn = p->kleaf ? p->kleaf->spte.pfn +
				     ((a - p->kleaf->gpa) >> PAGE_SHIFT) : 0;
		p->krel = relate(p, p->kleaf != NULL, p->kpfn);
		if (p->kleaf && p->leaf)
			p->kmirror = p->kpfn == p->mpfn ? KVM_MIRROR_SAME :
							  KVM_MIRROR_DIFFERS;
	}
}

static void attach_mirror(struct page_view *v, guint64 gpa, guint64 pages,
			  const struct spte_mirror_table *mirror)
{
	guint64 end = gpa + pages * PAGE_SIZE;

	for (guint64 i = 0; i < mirror->nr_leaves; i++) {
		const struct spte_mirror_leaf *l = &mirror->leaves[i];
		guint64 lo = MAX(l->gpa, gpa);
		guint64 hi = MIN(l->gpa + spte_mirror_leaf_size(l), end);

		for (guint64 a = lo; a < hi; a += PAGE_SIZE) {
			struct page_view *p = &v[(a - gpa) >> PAGE_SHIFT];

			p->leaf = l;
			p->mpfn = spte_ept_pfn(l->entry) +
				  ((a - l->gpa) >> PAGE_SHIFT);
		}
	}
	for (guint64 i = 0; i < pages; i++)
		v[i].rel = relate(&v[i], v[i].leaf != NULL, v[i].mpfn);
}

/* Columns padded to their widest; @ncols of them (no KVM: one fewer). */
static void print_rows(GArray *rows, guint ncols, GString *out)
{
	guint w[NR_COLS] = { 0 };

	for (guint r = 0; r < rows->len; r++) {
		const struct row *row = &g_array_index(rows, struct row, r);

		for (guint c = 0; c < ncols; c++)
			w[c] = MAX(w[c], strlen(row->cols[c]));
	}
	for (guint r = 0; r < rows->len; r++) {
		const struct row *row = &g_array_index(rows, struct row, r);

		g_string_append(out, " ");
		for (guint c = 0; c < ncols; c++) {
			gboolean last = c == ncols - 1;

			/* the page count is a number: right-aligned */
			g_string_append_printf(out, c == 1 ? " %*s" : " %-*s",
					       last ? 0 : (int)w[c],
					       row->cols[c]);
			g_string_append(out, last ? "\n" : " |");
		}
	}
}

static void format_stats(struct spte_vm *vm, GString *out)
{
	static const char *const names[] = {
		"pages_4k", "pages_2m", "pages_1g", "remote_tlb_flush",
	};
	g_autoptr(spte_kvm_stats) s = NULL;
	g_autoptr(GError) error = NULL;
	const char *sep = " ";

	if (!spte_kvm_stats_open(vm->vm_fd, &s, &error)) {
		g_string_append_printf(out, "kvm stats: %s\n", error->message);
		return;
	}
	g_string_append(out, "kvm (whole VM):");
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		guint64 v;

		if (!spte_kvm_stats_has(s, names[i]))
			continue;
		if (spte_kvm_stats_get(s, names[i], &v, NULL))
			g_string_append_printf(out, "%s%s %" G_GUINT64_FORMAT,
					       sep, names[i], v);
		else
			g_string_append_printf(out, "%s%s ?", sep, names[i]);
		sep = ", ";
	}
	g_string_append_c(out, '\n');
}

static void format_trace(struct spte_kvm_trace *trace, guint64 gpa,
			 guint64 hva, guint64 len, GString *out)
{
	g_autoptr(GPtrArray) recs = NULL;
	g_autoptr(GPtrArray) hits = g_ptr_array_new();
	g_autoptr(GPtrArray) rows = NULL;
	g_autoptr(GPtrArray) shown = NULL;
	guint64 said = 0;

	if (!trace) {
		g_string_append(out, "kvm tracepoints: not traced\n");
		return;
	}
	recs = spte_kvm_trace_collect(trace);
	for (guint i = 0; i < recs->len; i++) {
		struct spte_kvm_trace_rec *r = recs->pdata[i];

		spte_kvm_trace_set_gpa(r, hva, len, gpa);
		if (r->gpa_start != SPTE_KVM_TRACE_NO_GPA)
			g_ptr_array_add(hits, r);
	}
	if (hits->len)
		g_string_append_printf(out, "kvm tracepoints over hva "
				       "0x%" G_GINT64_MODIFIER "x-0x%"
				       G_GINT64_MODIFIER "x:\n", hva,
				       hva + len - 1);
	/* folded first, so the limit cuts lines, not a pattern's repeats */
	rows = spte_kvm_trace_rows(hits, FALSE);
	shown = g_ptr_array_new();
	for (guint i = 0; i < rows->len && i < MAX_TRACE_LINES; i++) {
		g_ptr_array_add(shown, rows->pdata[i]);
		said += ((struct spte_row *)rows->pdata[i])->records;
	}
	spte_rows_format(shown, "  ", out);
	if (rows->len > MAX_TRACE_LINES)
		g_string_append_printf(out, "  ... and %" G_GUINT64_FORMAT
				       " more\n", hits->len - said);
	g_string_append_printf(out, "kvm tracepoints: %u of %u records since "
			       "start overlap this range (%s)\n", hits->len,
			       recs->len, spte_kvm_trace_dir(trace));
}

void spte_view3_format(struct spte_vm *vm,
		       const struct spte_mirror_table *mirror,
		       const struct spte_kvm_leaves *kvm, const char *kvm_why,
		       struct spte_kvm_trace *trace, guint64 gpa,
		       guint64 pages, GString *out)
{
	const char *incomplete = NULL;
	g_autofree struct spte_primary_page *prim = NULL;
	g_autofree struct page_view *v = NULL;
	g_autoptr(GArray) rows = NULL;
	g_autoptr(GError) error = NULL;
	guint64 len = pages * PAGE_SIZE;
	const guint8 *hva;

	if ((gpa & (PAGE_SIZE - 1)) || !pages || len / PAGE_SIZE != pages) {
		g_string_append_printf(out, "three-way view: gpa 0x%"
				       G_GINT64_MODIFIER "x + %" G_GUINT64_FORMAT
				       " pages is not a page-aligned range\n",
				       gpa, pages);
		return;
	}
	hva = spte_vm_gpa_to_hva(vm, gpa, len);
	if (!hva) {
		g_string_append_printf(out, "three-way view: gpa 0x%"
				       G_GINT64_MODIFIER "x-0x%"
				       G_GINT64_MODIFIER "x is not inside one "
				       "memslot of guest memory\n", gpa,
				       gpa + len - 1);
		return;
	}
	g_string_append_printf(out, "three-way view: gpa 0x%" G_GINT64_MODIFIER
			       "x-0x%" G_GINT64_MODIFIER "x (%" G_GUINT64_FORMAT
			       " pages) at hva %p-%p", gpa, gpa + len - 1,
			       pages, hva, hva + len - 1);
	if (mirror)
		g_string_append_printf(out, ", mirror dump seq %"
				       G_GUINT64_FORMAT, (guint64)mirror->seq);
	g_string_append_c(out, '\n');

	prim = g_new0(struct spte_primary_page, pages);
	if (!spte_primary_read(hva, pages, prim, &error))
		g_string_append_printf(out, "primary: %s (shown as not "
				       "present)\n", error->message);
	v = g_new0(struct page_view, pages);
	for (guint64 i = 0; i < pages; i++) {
		v[i].p = prim[i];
		if (error) {
			v[i].p = (struct spte_primary_page){ .node = -1 };
			v[i].p_unknown = TRUE;
		}
		v[i].rel = REL_NO_MODULE;
	}
	if (mirror)
		attach_mirror(v, gpa, pages, mirror);
	if (kvm)
		attach_kvm(v, gpa, pages, kvm);

	rows = g_array_new(FALSE, TRUE, sizeof(struct row));
	g_array_set_clear_func(rows, row_clear);
	g_array_append_val(rows, ((struct row){ .cols = {
		g_strdup("gpa range"), g_strdup("pages"),
		g_strdup("primary: pfn, flags, node"),
		g_strdup("mirror: level, pfn, flags, memtype"),
		kvm ? g_strdup_printf("KVM (%s): level, pfn, flags",
				      spte_kvm_spte_format_name(
					      spte_kvm_leaves_spte_format(kvm)))
		    : NULL } }));
	for (guint64 i = 0; i < pages;) {
		guint64 n = 1;

		while (i + n < pages && same_row(&v[i], &v[i + n]))
			n++;
		g_array_append_val(rows, ((struct row){ .cols = {
			g_strdup_printf("0x%012" G_GINT64_MODIFIER "x-0x%012"
					G_GINT64_MODIFIER "x",
					gpa + i * PAGE_SIZE,
					gpa + (i + n) * PAGE_SIZE - 1),
			g_strdup_printf("%" G_GUINT64_FORMAT, n),
			primary_col(&v[i], n),
			mirror_col(&v[i], n),
			kvm ? kvm_col(&v[i], n) : NULL } }));
		i += n;
	}
	print_rows(rows, kvm ? NR_COLS : NR_COLS - 1, out);
	if (!kvm)
		g_string_append_printf(out, "  KVM's leaves: not tracked%s%s\n",
				       kvm_why ? ": " : "",
				       kvm_why ? kvm_why : "");
	else if (!spte_kvm_leaves_complete(kvm, &incomplete))
		g_string_append_printf(out, "  KVM's leaves: INCOMPLETE, not "
				       "to be trusted: %s\n", incomplete);
	for (guint64 i = 0; i < pages; i++) {
		if ((v[i].p.flags & SPTE_PRIMARY_KSM) && spte_primary_ksm_note()) {
			g_string_append_printf(out, "  note: %s\n",
					       spte_primary_ksm_note());
			break;
		}
	}
	format_stats(vm, out);
	format_trace(trace, gpa, (guintptr)hva, len, out);
}
