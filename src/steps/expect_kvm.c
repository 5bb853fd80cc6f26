// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's own leaves as checks: 'expect kvm GPA PAGES PROP...' and
 * 'audit kvm'.  Both read the session's KVM leaf model
 * (inspect/kvm_leaves.h), synced and self-checked against KVM's page
 * counts just before the step (engine/session.h), and neither gives a
 * verdict on a model with a hole in it.
 */
#include <string.h>

#include "expect.h"
#include "families.h"
#include "kvm_leaf_tracker.h"
#include "kvm_leaves.h"
#include "primary.h"
#include "spte_error.h"

#define PAGE_SHIFT	12

enum kvm_prop {
	KVM_ABSENT, KVM_PRESENT, KVM_4K, KVM_2M, KVM_1G, KVM_RW, KVM_RO,
	KVM_YOUNG, KVM_AGED, KVM_PFN_PRIMARY, KVM_PFN_MIRROR,
};

static const struct {
	const char *name;
	enum kvm_prop prop;
	const char *means;	/* for the parse error's list */
} kvm_props[] = {
	{ "absent", KVM_ABSENT, "no leaf" },
	{ "present", KVM_PRESENT, "a leaf" },
	{ "4k", KVM_4K, "a 4K leaf" },
	{ "2m", KVM_2M, "inside a 2M leaf" },
	{ "1g", KVM_1G, "inside a 1G leaf" },
	{ "rw", KVM_RW, "writable" },
	{ "ro", KVM_RO, "mapped read-only" },
	{ "young", KVM_YOUNG, "A set, as last traced" },
	{ "aged", KVM_AGED, "KVM cleared A for aging since the fault" },
	{ "pfn=primary", KVM_PFN_PRIMARY, "the primary's page" },
	{ "pfn=mirror", KVM_PFN_MIRROR, "the mirror's page" },
};

/* @word, '!' stripped, as an index of kvm_props, or -1. */
static int kvm_prop_index(const char *word)
{
	for (guint i = 0; i < G_N_ELEMENTS(kvm_props); i++)
		if (g_str_equal(word, kvm_props[i].name))
			return i;
	return -1;
}

gboolean spte_expect_kvm_parse(struct spte_step *step, const char *const *w,
			       guint n, GError **error)
{
	if (!n) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "expect kvm: name at least one property");
		return FALSE;
	}
	for (guint i = 0; i < n; i++) {
		const char *name = w[i] + (w[i][0] == '!');
		int p = kvm_prop_index(name);

		if (p < 0) {
			g_autoptr(GString) list = g_string_new(NULL);

			for (guint j = 0; j < G_N_ELEMENTS(kvm_props); j++)
				g_string_append_printf(list, "%s%s (%s)",
						       j ? ", " : "",
						       kvm_props[j].name,
						       kvm_props[j].means);
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "unknown KVM property '%s': one of %s, "
				    "each negated by a leading '!'", w[i],
				    list->str);
			return FALSE;
		}
		if (kvm_props[p].prop == KVM_PFN_MIRROR)
			step->needs_mirror = TRUE;
	}
	step->needs_kvm_leaves = TRUE;
	return TRUE;
}

/* One 4K page as KVM, the primary and the mirror map it. */
struct kvm_page {
	const struct spte_kvm_leaf *leaf;	/* NULL: absent */
	guint64 pfn;				/* KVM's, for this 4K page */
	struct spte_primary_page prim;
	gboolean mirrored;
	guint64 mirror_pfn;
};

static guint64 leaf_pfn(const struct spte_kvm_leaf *l, guint64 gpa)
{
	return l->spte.pfn + ((gpa - l->gpa) >> PAGE_SHIFT);
}

/*
 * The pages of [@gpa, + @pages) as KVM's model, the primary (pagemap) and,
 * with @mirror, the mirror's dump map them.
 */
static struct kvm_page *kvm_pages(struct spte_session *s,
				  const struct spte_kvm_leaves *m,
				  const struct spte_mirror_table *mirror,
				  guint64 gpa, guint64 pages, GError **error)
{
	g_autofree struct spte_primary_page *prim =
		g_new0(struct spte_primary_page, pages);
	g_autofree struct kvm_page *v = g_new0(struct kvm_page, pages);
	void *hva = spte_vm_gpa_to_hva(s->vm, gpa, pages << PAGE_SHIFT);

	if (!hva) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "gpa %#" G_GINT64_MODIFIER "x + %" G_GUINT64_FORMAT
			    " pages is not inside one memslot (guest RAM: %"
			    G_GUINT64_FORMAT " MiB at gpa 0)", gpa, pages,
			    s->vm->ram.size >> 20);
		return NULL;
	}
	if (!spte_primary_read(hva, pages, prim, error))
		return NULL;
	for (guint64 i = 0; i < pages; i++) {
		guint64 a = gpa + (i << PAGE_SHIFT);
		const struct spte_mirror_leaf *ml = mirror ?
			spte_mirror_table_find(mirror, a) : NULL;

		v[i].leaf = spte_kvm_leaves_lookup(m, SPTE_KVM_AS_NORMAL, a);
		v[i].pfn = v[i].leaf ? leaf_pfn(v[i].leaf, a) : 0;
		v[i].prim = prim[i];
		v[i].mirrored = ml != NULL;
		v[i].mirror_pfn = ml ? spte_ept_pfn(ml->entry) +
				       ((a - ml->gpa) >> PAGE_SHIFT) : 0;
	}
	return g_steal_pointer(&v);
}

/* PFN comparisons need pagemap's PFNs, which only CAP_SYS_ADMIN sees. */
static gboolean pfns_visible(const struct kvm_page *v, guint64 pages,
			     GError **error)
{
	for (guint64 i = 0; i < pages; i++) {
		if ((v[i].prim.flags & SPTE_PRIMARY_PRESENT) && !v[i].prim.pfn) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
				    "pagemap hides PFNs (CAP_SYS_ADMIN is "
				    "needed to compare them)");
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean page_has(const struct kvm_page *v, enum kvm_prop prop)
{
	const struct spte_kvm_leaf *l = v->leaf;

	if (prop == KVM_ABSENT)
		return !l;
	if (!l)
		return FALSE;
	switch (prop) {
	case KVM_4K:
		return l->level == SPTE_KVM_LEVEL_4K;
	case KVM_2M:
		return l->level == SPTE_KVM_LEVEL_4K + 1;
	case KVM_1G:
		return l->level == SPTE_KVM_LEVEL_1G;
	case KVM_RW:
		return l->spte.writable;
	case KVM_RO:
		return !l->spte.writable;
	case KVM_YOUNG:
		return l->spte.accessed;
	case KVM_AGED:
		return l->age_clears > 0;
	case KVM_PFN_PRIMARY:
		return (v->prim.flags & SPTE_PRIMARY_PRESENT) &&
		       v->prim.pfn == v->pfn;
	case KVM_PFN_MIRROR:
		return v->mirrored && v->mirror_pfn == v->pfn;
	default:
		return TRUE;	/* present */
	}
}

/* "5 of 8 pages mapped by KVM (2 in 2M leaves, 5 writable, ...)" */
static void describe_kvm(const struct kvm_page *v, guint64 pages,
			 gboolean mirror, GString *out)
{
	guint64 present = 0, huge = 0, rw = 0, young = 0, aged = 0;
	guint64 on_primary = 0, on_mirror = 0;

	for (guint64 i = 0; i < pages; i++) {
		if (!v[i].leaf)
			continue;
		present++;
		huge += v[i].leaf->level > SPTE_KVM_LEVEL_4K;
		rw += v[i].leaf->spte.writable;
		young += v[i].leaf->spte.accessed;
		aged += v[i].leaf->age_clears > 0;
		on_primary += page_has(&v[i], KVM_PFN_PRIMARY);
		on_mirror += page_has(&v[i], KVM_PFN_MIRROR);
	}
	g_string_append_printf(out, "%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
			       " pages mapped by KVM", present, pages);
	if (!present)
		return;
	g_string_append_printf(out, " (%" G_GUINT64_FORMAT " in huge leaves, %"
			       G_GUINT64_FORMAT " writable, %" G_GUINT64_FORMAT
			       " young and %" G_GUINT64_FORMAT " aged as last "
			       "traced), %" G_GUINT64_FORMAT " on the primary's "
			       "PFN", huge, rw, young, aged, on_primary);
	if (mirror)
		g_string_append_printf(out, ", %" G_GUINT64_FORMAT " on the "
				       "mirror's", on_mirror);
}

gboolean spte_expect_kvm(struct spte_session *s, const struct spte_step *step,
			 GString *line, GError **error)
{
	const struct spte_kvm_leaves *m;
	struct spte_mirror_table *t = NULL;
	g_autofree struct kvm_page *v = NULL;
	g_autoptr(GString) why = g_string_new(NULL);
	gboolean passed = TRUE;

	if (!spte_session_kvm_leaves_for_check(s, step, line, &m, error))
		return FALSE;
	if (!m)
		return TRUE;	/* no verdict, already said */
	if (s->mirror) {
		t = spte_session_dump(s, error);
		if (!t)
			return FALSE;
	}
	v = kvm_pages(s, m, t, step->gpa, step->pages, error);
	if (!v) {
		spte_mirror_table_free(t);
		return FALSE;
	}
	if ((g_strv_contains((const char *const *)step->words, "pfn=primary") ||
	     g_strv_contains((const char *const *)step->words, "!pfn=primary")) &&
	    !pfns_visible(v, step->pages, error)) {
		spte_mirror_table_free(t);
		return FALSE;
	}
	for (guint w = 0; step->words[w] && passed; w++) {
		const char *word = step->words[w];
		gboolean negated = word[0] == '!';
		enum kvm_prop prop = kvm_props[kvm_prop_index(word + negated)].prop;
		guint64 i;

		for (i = 0; i < step->pages; i++)
			if (page_has(&v[i], prop) == negated)
				break;
		passed = i == step->pages;
		if (!passed)
			g_string_append_printf(why, "gpa %#" G_GINT64_MODIFIER
					       "x breaks '%s'; ",
					       step->gpa + (i << PAGE_SHIFT),
					       word);
	}
	describe_kvm(v, step->pages, t != NULL, why);
	spte_mirror_table_free(t);
	spte_session_check(s, step, passed, line, "%s", why->str);
	return TRUE;
}

/* ---- audit kvm ---- */

enum kvm_audit_kind {
	AUDIT_STALE_PFN,	/* the primary maps another page there */
	AUDIT_STALE_UNMAPPED,	/* the primary maps nothing there */
	AUDIT_WRITABLE,		/* writable over a page the primary shares */
	AUDIT_LEVEL,		/* a huge leaf over small primary pages */
	AUDIT_MIRROR,		/* the mirror maps another page there */
	AUDIT_OUTSIDE,		/* a leaf outside every memslot */
	AUDIT_NR_KINDS,
};

static const char *const audit_kind_names[AUDIT_NR_KINDS] = {
	[AUDIT_STALE_PFN] = "stale PFN",
	[AUDIT_STALE_UNMAPPED] = "mapped where the primary is not",
	[AUDIT_WRITABLE] = "writable over a KSM or zero page",
	[AUDIT_LEVEL] = "huge over pages not all of THPs or hugetlb, or misaligned",
	[AUDIT_MIRROR] = "on another PFN than the mirror's",
	[AUDIT_OUTSIDE] = "outside every memslot",
};

#define AUDIT_MAX_REPORTS	8

struct kvm_audit {
	guint64 leaves, pages, with_mirror;
	guint64 bad[AUDIT_NR_KINDS];
	GString *reports;
	guint nr_reports;
};

static void audit_report(struct kvm_audit *a, enum kvm_audit_kind kind,
			 guint64 gpa, const struct spte_kvm_leaf *l,
			 const struct kvm_page *v)
{
	a->bad[kind]++;
	if (a->nr_reports++ >= AUDIT_MAX_REPORTS)
		return;
	g_string_append_printf(a->reports, "\n  gpa %#" G_GINT64_MODIFIER "x %s:"
			       " KVM spte %#018" G_GINT64_MODIFIER "x", gpa,
			       audit_kind_names[kind], l->spte.raw);
	if (v && (v->prim.flags & SPTE_PRIMARY_PRESENT))
		g_string_append_printf(a->reports, ", primary pfn %#"
				       G_GINT64_MODIFIER "x", v->prim.pfn);
	if (v && v->mirrored)
		g_string_append_printf(a->reports, ", mirror pfn %#"
				       G_GINT64_MODIFIER "x", v->mirror_pfn);
}

/* One leaf's pages, @v[0] its first, all inside one memslot. */
static void audit_leaf(struct kvm_audit *a, const struct spte_kvm_leaf *l,
		       const struct kvm_page *v, guint64 pages)
{
	gboolean one_huge_page = TRUE;

	a->leaves++;
	for (guint64 i = 0; i < pages; i++) {
		guint64 gpa = l->gpa + (i << PAGE_SHIFT);
		guint32 f = v[i].prim.flags;

		a->pages++;
		if (!(f & SPTE_PRIMARY_PRESENT))
			audit_report(a, AUDIT_STALE_UNMAPPED, gpa, l, &v[i]);
		else if (v[i].prim.pfn != v[i].pfn)
			audit_report(a, AUDIT_STALE_PFN, gpa, l, &v[i]);
		else if (l->spte.writable &&
			 (f & (SPTE_PRIMARY_KSM | SPTE_PRIMARY_ZERO)))
			audit_report(a, AUDIT_WRITABLE, gpa, l, &v[i]);
		if (v[i].mirrored) {
			a->with_mirror++;
			if (v[i].mirror_pfn != v[i].pfn)
				audit_report(a, AUDIT_MIRROR, gpa, l, &v[i]);
		}
		one_huge_page &= !!(f & (SPTE_PRIMARY_THP | SPTE_PRIMARY_HUGE));
	}
	/*
	 * A stale PFN says it already; this is a leaf larger than the page.
	 * kpageflags cannot tell a PMD-mapped THP from a PTE-mapped one, so
	 * what is checked is that the pages belong to THPs or hugetlb pages
	 * and that the first is aligned to the leaf's size.
	 */
	if (l->level > SPTE_KVM_LEVEL_4K &&
	    (!one_huge_page || (v[0].prim.pfn & ((l->size >> PAGE_SHIFT) - 1))))
		audit_report(a, AUDIT_LEVEL, l->gpa, l, &v[0]);
}

gboolean spte_audit_kvm(struct spte_session *s, const struct spte_step *step,
			GString *line, GError **error)
{
	const struct spte_region *slots[] = { &s->vm->ram, &s->vm->sys };
	struct kvm_page *v[G_N_ELEMENTS(slots)] = { NULL };
	const struct spte_kvm_leaves *m;
	struct spte_mirror_table *t = NULL;
	g_autoptr(GArray) leaves = NULL;
	g_autoptr(GString) reports = g_string_new(NULL);
	g_autoptr(GString) detail = g_string_new(NULL);
	struct kvm_audit a = { .reports = reports };
	gboolean done = FALSE;
	guint64 bad = 0;

	if (!spte_session_kvm_leaves_for_check(s, step, line, &m, error))
		return FALSE;
	if (!m)
		return TRUE;
	if (s->mirror) {
		t = spte_session_dump(s, error);
		if (!t)
			return FALSE;
	}
	/* every memslot KVM can map: guest RAM and the agent's own slot */
	for (guint k = 0; k < G_N_ELEMENTS(slots); k++) {
		v[k] = kvm_pages(s, m, t, slots[k]->gpa,
				 slots[k]->size >> PAGE_SHIFT, error);
		if (!v[k] || !pfns_visible(v[k], slots[k]->size >> PAGE_SHIFT,
					   error))
			goto out;
	}
	leaves = spte_kvm_leaves_range(m, SPTE_KVM_AS_NORMAL, 0, 0);
	for (guint i = 0; i < leaves->len; i++) {
		const struct spte_kvm_leaf *l =
			&g_array_index(leaves, struct spte_kvm_leaf, i);
		guint k;

		for (k = 0; k < G_N_ELEMENTS(slots); k++)
			if (l->gpa >= slots[k]->gpa &&
			    l->gpa + l->size <= slots[k]->gpa + slots[k]->size)
				break;
		if (k == G_N_ELEMENTS(slots)) {
			a.leaves++;
			audit_report(&a, AUDIT_OUTSIDE, l->gpa, l, NULL);
			continue;
		}
		audit_leaf(&a, l, &v[k][(l->gpa - slots[k]->gpa) >> PAGE_SHIFT],
			   l->size >> PAGE_SHIFT);
	}
	for (guint k = 0; k < AUDIT_NR_KINDS; k++)
		bad += a.bad[k];
	if (!bad) {
		g_string_append_printf(detail, "%" G_GUINT64_FORMAT " KVM "
				       "leaves (%" G_GUINT64_FORMAT " pages) "
				       "agree with the primary page tables",
				       a.leaves, a.pages);
		if (s->mirror)
			g_string_append_printf(detail, " and, on the %"
					       G_GUINT64_FORMAT " pages both "
					       "map, with the mirror",
					       a.with_mirror);
	} else {
		g_string_append_printf(detail, "of %" G_GUINT64_FORMAT " KVM "
				       "leaves:", a.leaves);
		for (guint k = 0; k < AUDIT_NR_KINDS; k++)
			if (a.bad[k])
				g_string_append_printf(detail, " %"
						       G_GUINT64_FORMAT " %s;",
						       a.bad[k],
						       audit_kind_names[k]);
	}
	spte_session_check(s, step, !bad, line, "%s", detail->str);
	g_string_append(line, reports->str);
	if (a.nr_reports > AUDIT_MAX_REPORTS)
		g_string_append_printf(line, "\n  ... and %u more",
				       a.nr_reports - AUDIT_MAX_REPORTS);
	done = TRUE;
out:
	spte_mirror_table_free(t);
	for (guint k = 0; k < G_N_ELEMENTS(slots); k++)
		g_free(v[k]);
	return done;
}

/* ---- KVM's answers to the aging notifiers, for 'events' ---- */

/* What the last 'events' saw: leaf GPA -> struct age_seen. */
struct age_seen {
	guint64 since_us;	/* which leaf: a refaulted one starts again */
	guint64 age_clears;
};

static void age_seen_free(void *state)
{
	g_hash_table_unref(state);
}

static const struct spte_session_key age_seen_key = {
	.name = "KVM's aging counts at the last 'events'",
	.free = age_seen_free,
};

enum kvm_answer {
	ANSWER_YOUNG,		/* KVM cleared A: it said young */
	ANSWER_OLD,		/* a leaf, A left alone: it said old */
	ANSWER_NO_LEAF,		/* nothing mapped: old */
	ANSWER_NOT_ASKED,	/* test_young: the mirror said young first */
	ANSWER_UNTRACED,	/* test_young: KVM's reading is not traced */
	ANSWER_NR,
};

static const char *const answer_names[ANSWER_NR] = {
	[ANSWER_YOUNG] = "young",
	[ANSWER_OLD] = "old",
	[ANSWER_NO_LEAF] = "no leaf (old)",
	[ANSWER_NOT_ASKED] = "not asked (the mirror said young first)",
	[ANSWER_UNTRACED] = "not traced (test_young only reads)",
};

/* How often the leaf had been aged at the last 'events' (0: new since). */
static guint64 age_clears_before(GHashTable *seen,
				 const struct spte_kvm_leaf *l)
{
	const struct age_seen *a = g_hash_table_lookup(seen, &l->gpa);

	return a && a->since_us == l->since_us ? a->age_clears : 0;
}

/*
 * How far apart the two clocks may be after the conversion (a sync
 * marker's write latency): KVM answers inside the same notifier call the
 * mirror's record is made in, microseconds later.
 */
#define CLOCK_SLACK_US	1000

/*
 * With the model's times on the events' clock (@t), a leaf installed
 * after the call was not there to answer it, and an A bit cleared before
 * it (the page's first call of the window) answered an earlier one.
 */
static enum kvm_answer kvm_answer(struct spte_kvm_leaf_tracker *t,
				  const struct spte_kvm_leaves *m,
				  GHashTable *seen,
				  const struct spte_mirror_event *ev,
				  guint64 gpa)
{
	const struct spte_kvm_leaf *l = spte_kvm_leaves_lookup(
		m, SPTE_KVM_AS_NORMAL, gpa);
	gint64 at_us = ev->time_ns / 1000, since_us, cleared_us;
	gboolean mono = l && spte_kvm_leaf_tracker_to_mono(t, l->since_us,
							   &since_us);

	if (mono && since_us > at_us + CLOCK_SLACK_US)
		l = NULL;

	/*
	 * __mmu_notifier_test_young() stops at the first subscriber that
	 * says young, and the mirror registers after KVM, so it is asked
	 * first.
	 */
	if (ev->callback == SPTE_CB_TEST_YOUNG)
		return ev->result ? ANSWER_NOT_ASKED : l ? ANSWER_UNTRACED
							 : ANSWER_NO_LEAF;
	if (!l)
		return ANSWER_NO_LEAF;
	if (l->age_clears <= age_clears_before(seen, l))
		return ANSWER_OLD;
	if (mono && spte_kvm_leaf_tracker_to_mono(t, l->age_cleared_us,
						  &cleared_us) &&
	    cleared_us + CLOCK_SLACK_US < at_us)
		return ANSWER_OLD;
	return ANSWER_YOUNG;
}

/* "0x0-0x1ffff, 0x40000-0x40fff" for a set of pages, a few ranges. */
static void append_ranges(GString *out, GArray *pages)
{
	guint ranges = 0;

	for (guint i = 0; i < pages->len;) {
		guint64 lo = g_array_index(pages, guint64, i), hi = lo;

		while (++i < pages->len &&
		       g_array_index(pages, guint64, i) == hi + 4096)
			hi += 4096;
		if (++ranges > 4) {
			g_string_append(out, ", ...");
			return;
		}
		g_string_append_printf(out, "%s%#" G_GINT64_MODIFIER "x-%#"
				       G_GINT64_MODIFIER "x", ranges > 1 ?
				       ", " : "", lo, hi + 4095);
	}
}

static gint cmp_gpa(gconstpointer a, gconstpointer b)
{
	guint64 x = *(const guint64 *)a, y = *(const guint64 *)b;

	return (x > y) - (x < y);
}

static void append_answers(GString *line, guint32 callback, guint64 total,
			   GArray *const *by)
{
	g_string_append_printf(line, "\n  KVM's answers to %s over %"
			       G_GUINT64_FORMAT " pages (its leaf model):",
			       spte_mirror_callback_name(callback), total);
	for (guint a = 0; a < ANSWER_NR; a++) {
		if (!by[a]->len)
			continue;
		g_array_sort(by[a], cmp_gpa);
		g_string_append_printf(line, " %s %u (", answer_names[a],
				       by[a]->len);
		append_ranges(line, by[a]);
		g_string_append(line, ");");
	}
	g_string_truncate(line, line->len - 1);
}

/* What the next 'events' compares with. */
static void remember_ages(const struct spte_kvm_leaves *m, GHashTable *seen)
{
	g_autoptr(GArray) leaves = spte_kvm_leaves_range(m, SPTE_KVM_AS_NORMAL,
							 0, 0);

	g_hash_table_remove_all(seen);
	for (guint i = 0; i < leaves->len; i++) {
		const struct spte_kvm_leaf *l =
			&g_array_index(leaves, struct spte_kvm_leaf, i);
		struct age_seen a = { l->since_us, l->age_clears };

		g_hash_table_insert(seen, g_memdup2(&l->gpa, sizeof(l->gpa)),
				    g_memdup2(&a, sizeof(a)));
	}
}

void spte_kvm_answers_format(struct spte_session *s,
			     const struct spte_mirror_event *ev, guint n,
			     GString *line)
{
	static const guint32 aging[] = { SPTE_CB_CLEAR_FLUSH_YOUNG,
					 SPTE_CB_CLEAR_YOUNG,
					 SPTE_CB_TEST_YOUNG };
	const struct spte_kvm_leaves *m = spte_session_kvm_model(s);
	GHashTable *seen = spte_session_kept(s, &age_seen_key);

	if (!m)
		return;
	/* the calls just drained: KVM's answers to them are traced by now */
	spte_kvm_leaf_tracker_sync(s->kvm_leaves);
	if (!spte_kvm_leaves_complete(m, NULL))
		return;
	if (!seen) {
		seen = g_hash_table_new_full(g_int64_hash, g_int64_equal,
					     g_free, g_free);
		spte_session_keep(s, &age_seen_key, seen);
	}
	for (guint c = 0; c < G_N_ELEMENTS(aging); c++) {
		/*
		 * page -> its first call of this kind in the window: "young"
		 * is KVM saying so to one of them, from then on
		 */
		g_autoptr(GHashTable) first = g_hash_table_new_full(
			g_int64_hash, g_int64_equal, g_free, NULL);
		GArray *by[ANSWER_NR];
		GHashTableIter it;
		gpointer key, value;
		guint64 total = 0;

		for (guint i = 0; i < n; i++) {
			if (ev[i].callback != aging[c] ||
			    ev[i].gpa_start == SPTE_MIRROR_NONE)
				continue;
			for (guint64 g = ev[i].gpa_start & ~4095ULL;
			     g < ev[i].gpa_end; g += 4096)
				if (!g_hash_table_contains(first, &g))
					g_hash_table_insert(first,
							    g_memdup2(&g, sizeof(g)),
							    (gpointer)&ev[i]);
		}
		for (guint a = 0; a < ANSWER_NR; a++)
			by[a] = g_array_new(FALSE, FALSE, sizeof(guint64));
		g_hash_table_iter_init(&it, first);
		while (g_hash_table_iter_next(&it, &key, &value)) {
			guint64 g = *(guint64 *)key;

			g_array_append_val(by[kvm_answer(s->kvm_leaves, m, seen,
							 value, g)], g);
			total++;
		}
		if (total)
			append_answers(line, aging[c], total, by);
		for (guint a = 0; a < ANSWER_NR; a++)
			g_array_unref(by[a]);
	}
	remember_ages(m, seen);
}

