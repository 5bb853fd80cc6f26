// SPDX-License-Identifier: GPL-2.0
/*
 * 'expect' about pages: every page's mirror leaf or primary PTE against
 * named properties, PFNs against a named dump, what DAMON saw.
 */
#include <string.h>

#include "expect.h"
#include "families.h"
#include "parse.h"
#include "primary.h"
#include "spte_error.h"

/* A property 'expect mirror' or 'expect primary' may name. */
struct prop_name {
	const char *name;
	guint32 flag;		/* MIRROR_*, or the primary's SPTE_PRIMARY_* */
};

enum {
	MIRROR_PRESENT, MIRROR_ABSENT, MIRROR_4K, MIRROR_2M, MIRROR_RO,
	MIRROR_RW, MIRROR_YOUNG, MIRROR_OLD, MIRROR_SHARED, MIRROR_PRIVATE,
	MIRROR_PRIMARY, MIRROR_NODE,
};

static const struct prop_name mirror_props[] = {
	{ "absent", MIRROR_ABSENT },
	{ "present", MIRROR_PRESENT },
	{ "4k", MIRROR_4K },
	{ "2m", MIRROR_2M },
	{ "ro", MIRROR_RO },
	{ "rw", MIRROR_RW },
	{ "young", MIRROR_YOUNG },
	{ "old", MIRROR_OLD },
	{ "shared", MIRROR_SHARED },	/* the range, all on one pfn */
	{ "private", MIRROR_PRIVATE },	/* the range, each on its own */
	{ "primary", MIRROR_PRIMARY },
	{ "node", MIRROR_NODE },
	{ NULL },
};

/* A flag of struct spte_primary_page each, but node=N (0). */
static const struct prop_name primary_props[] = {
	{ "present", SPTE_PRIMARY_PRESENT },
	{ "swapped", SPTE_PRIMARY_SWAPPED },
	{ "thp", SPTE_PRIMARY_THP },
	{ "ksm", SPTE_PRIMARY_KSM },
	{ "zero", SPTE_PRIMARY_ZERO },
	{ "uffd-wp", SPTE_PRIMARY_UFFD_WP },
	{ "exclusive", SPTE_PRIMARY_EXCLUSIVE },
	{ "node", 0 },
	{ NULL },
};

/* A property word: [!]NAME or node=N. */
struct prop {
	const struct prop_name *def;
	const char *name;
	gboolean negated;
	guint64 node;
};

static gboolean parse_prop(const char *word, const struct prop_name *allowed,
			   struct prop *p, GError **error)
{
	g_autofree char *name = NULL;
	const char *eq;

	*p = (struct prop){ .negated = word[0] == '!' };
	word += p->negated;
	eq = strchr(word, '=');
	name = eq ? g_strndup(word, eq - word) : g_strdup(word);
	for (const struct prop_name *a = allowed; a->name; a++) {
		if (!g_str_equal(name, a->name))
			continue;
		p->def = a;
		p->name = a->name;
		if (g_str_equal(name, "node") != !!eq)
			break;
		if (eq && !spte_parse_u64(eq + 1, "node", &p->node, error))
			return FALSE;
		return TRUE;
	}
	if (g_str_equal(name, "node"))
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "'%s': write node=N", word);
	else if (eq)
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "'%s' takes no value", name);
	else {
		g_autoptr(GString) list = g_string_new(NULL);

		for (const struct prop_name *a = allowed; a->name; a++)
			g_string_append_printf(list, "%s%s", list->len ? ", " : "",
					       a->name);
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "unknown property '%s' (one of %s, node=N)", word,
			    list->str);
	}
	return FALSE;
}

gboolean spte_expect_props_parse(struct spte_step *step,
				 const char *const *w, guint n,
				 GError **error)
{
	gboolean mirror = g_str_equal(step->name, "mirror");
	struct prop p;

	if (!n) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "expect %s: name at least one property",
			    step->name);
		return FALSE;
	}
	for (guint i = 0; i < n; i++)
		if (!parse_prop(w[i], mirror ? mirror_props : primary_props,
				&p, error))
			return FALSE;
	return TRUE;
}

struct page_view {
	const struct spte_mirror_leaf *leaf;	/* NULL: absent */
	guint64 pfn;				/* of this 4K page */
};

static void mirror_pages(const struct spte_mirror_table *t, guint64 gpa,
			 guint64 pages, struct page_view *out)
{
	for (guint64 i = 0; i < pages; i++) {
		guint64 a = gpa + (i << 12);
		const struct spte_mirror_leaf *l = spte_mirror_table_find(t, a);

		out[i].leaf = l;
		out[i].pfn = l ? spte_ept_pfn(l->entry) + ((a - l->gpa) >> 12)
			       : 0;
	}
}

static gboolean all_same_pfn(const struct page_view *v, guint64 pages)
{
	for (guint64 i = 1; i < pages; i++)
		if (!v[i].leaf || v[i].pfn != v[0].pfn)
			return FALSE;
	return v[0].leaf != NULL;
}

static gboolean all_distinct_pfns(const struct page_view *v, guint64 pages)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_int64_hash,
						      g_int64_equal);

	for (guint64 i = 0; i < pages; i++) {
		if (!v[i].leaf || g_hash_table_contains(seen, &v[i].pfn))
			return FALSE;
		g_hash_table_add(seen, (gpointer)&v[i].pfn);
	}
	return TRUE;
}

/* Does page @i have @prop?  Range-wide props are decided by the caller. */
static gboolean mirror_page_has(const struct page_view *v,
				const struct spte_primary_page *prim,
				const struct prop *p)
{
	guint64 e = v->leaf ? v->leaf->entry : 0;

	if (p->def->flag == MIRROR_ABSENT)
		return !v->leaf;
	if (!v->leaf)
		return FALSE;
	switch (p->def->flag) {
	case MIRROR_4K:
		return v->leaf->level == 1;
	case MIRROR_2M:
		return v->leaf->level == 2;
	case MIRROR_RO:
		return !(e & SPTE_EPT_W);
	case MIRROR_RW:
		return !!(e & SPTE_EPT_W);
	case MIRROR_YOUNG:
		return !!(e & SPTE_EPT_A);
	case MIRROR_OLD:
		return !(e & SPTE_EPT_A);
	case MIRROR_PRIMARY:
		return (prim->flags & SPTE_PRIMARY_PRESENT) &&
		       prim->pfn == v->pfn;
	case MIRROR_NODE:
		/* node=N: the mirror maps the primary's page, and it is on N */
		return (prim->flags & SPTE_PRIMARY_PRESENT) &&
		       prim->pfn == v->pfn && prim->node == (int)p->node;
	}
	return TRUE;	/* present */
}

static gboolean primary_page_has(const struct spte_primary_page *pg,
				 const struct prop *p)
{
	if (!p->def->flag)	/* node=N */
		return (pg->flags & SPTE_PRIMARY_PRESENT) &&
		       pg->node == (int)p->node;
	return !!(pg->flags & p->def->flag);
}

static void describe_mirror(const struct page_view *v, guint64 pages,
			    GString *out)
{
	guint64 present = 0, huge = 0, writable = 0, young = 0;

	for (guint64 i = 0; i < pages; i++) {
		if (!v[i].leaf)
			continue;
		present++;
		huge += v[i].leaf->level == 2;
		writable += !!(v[i].leaf->entry & SPTE_EPT_W);
		young += !!(v[i].leaf->entry & SPTE_EPT_A);
	}
	g_string_append_printf(out, "%" G_GUINT64_FORMAT " of %"
			       G_GUINT64_FORMAT " pages mapped", present, pages);
	if (!present)
		return;
	g_string_append_printf(out, " (%" G_GUINT64_FORMAT " in 2M leaves, %"
			       G_GUINT64_FORMAT " writable, %" G_GUINT64_FORMAT
			       " young)", huge, writable, young);
	if (all_same_pfn(v, pages) && pages > 1)
		g_string_append_printf(out, ", all on pfn %#" G_GINT64_MODIFIER
				       "x", v[0].pfn);
	else if (all_distinct_pfns(v, pages) && pages > 1)
		g_string_append(out, ", each on its own pfn");
}

static void describe_primary(const struct spte_primary_page *pg,
			     guint64 pages, GString *out)
{
	const char *sep = "";

	g_string_append_printf(out, "of %" G_GUINT64_FORMAT " pages:", pages);
	for (const struct prop_name *f = primary_props; f->name; f++) {
		guint64 n = 0;

		for (guint64 i = 0; f->flag && i < pages; i++)
			n += !!(pg[i].flags & f->flag);
		if (n) {
			g_string_append_printf(out, "%s %" G_GUINT64_FORMAT
					       " %s", sep, n, f->name);
			sep = ",";
		}
	}
	if (!*sep)
		g_string_append(out, " none present, none swapped");
	if (pages && (pg[0].flags & SPTE_PRIMARY_PRESENT) && pg[0].node >= 0)
		g_string_append_printf(out, "; first on node %d", pg[0].node);
}

static gboolean expect_pages(struct spte_session *s,
			     const struct spte_step *step, gboolean mirror,
			     GString *line, GError **error)
{
	g_autofree struct spte_primary_page *prim =
		g_new0(struct spte_primary_page, step->pages);
	g_autofree struct page_view *view = NULL;
	struct spte_mirror_table *t = NULL;
	g_autoptr(GString) why = g_string_new(NULL);
	void *hva = spte_session_hva(s, step->gpa, step->pages, error);
	gboolean passed = TRUE;

	if (!hva || !spte_primary_read(hva, step->pages, prim, error))
		return FALSE;
	if (mirror) {
		t = spte_session_dump(s, error);
		if (!t)
			return FALSE;
		view = g_new0(struct page_view, step->pages);
		mirror_pages(t, step->gpa, step->pages, view);
	}
	for (guint w = 0; step->words[w] && passed; w++) {
		const char *word = step->words[w];
		struct prop p;
		guint64 i;

		parse_prop(word, mirror ? mirror_props : primary_props, &p,
			   NULL);
		if (mirror && p.def->flag == MIRROR_SHARED) {
			passed = all_same_pfn(view, step->pages) != p.negated;
		} else if (mirror && p.def->flag == MIRROR_PRIVATE) {
			passed = all_distinct_pfns(view, step->pages) !=
				 p.negated;
		} else {
			/* the first page that breaks the rule */
			for (i = 0; i < step->pages; i++) {
				/* flag tests return the bit: make it 0 or 1 */
				gboolean has = !!(mirror ?
					mirror_page_has(&view[i], &prim[i], &p) :
					primary_page_has(&prim[i], &p));

				if (has == p.negated)
					break;
			}
			passed = i == step->pages;
			if (!passed)
				g_string_append_printf(why, "gpa %#"
						       G_GINT64_MODIFIER "x "
						       "breaks '%s'; ",
						       step->gpa + (i << 12),
						       word);
		}
		if (!passed && !why->len)
			g_string_append_printf(why, "not %s; ", word);
	}
	if (mirror)
		describe_mirror(view, step->pages, why);
	else
		describe_primary(prim, step->pages, why);
	if (!mirror && spte_primary_ksm_note() &&
	    (g_strv_contains((const char *const *)step->words, "ksm") ||
	     g_strv_contains((const char *const *)step->words, "!ksm")))
		g_string_append_printf(why, " (%s)", spte_primary_ksm_note());
	spte_mirror_table_free(t);
	spte_session_check(s, step, passed, line, "%s", why->str);
	return TRUE;
}

gboolean spte_expect_mirror(struct spte_session *s,
			    const struct spte_step *step, GString *line,
			    GError **error)
{
	return expect_pages(s, step, TRUE, line, error);
}

gboolean spte_expect_primary(struct spte_session *s,
			     const struct spte_step *step, GString *line,
			     GError **error)
{
	return expect_pages(s, step, FALSE, line, error);
}

gboolean spte_expect_dump_parse(struct spte_step *step,
				const char *const *w, guint n, GError **error)
{
	if (n == 1)
		return TRUE;
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
		    "expected 'expect %s GPA PAGES DUMP'", step->name);
	return FALSE;
}

/* PFNs against a named dump. */
static gboolean expect_changed(struct spte_session *s,
			       const struct spte_step *step, gboolean changed,
			       GString *line, GError **error)
{
	const struct spte_mirror_table *old = spte_session_find_dump(s,
							step->words[0]);
	g_autofree struct page_view *a = NULL, *b = NULL;
	struct spte_mirror_table *now;
	guint64 differ = 0, same = 0, missing = 0;
	gboolean passed;

	if (!old) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "no dump named '%s' yet (take one with 'dump %s')",
			    step->words[0], step->words[0]);
		return FALSE;
	}
	now = spte_session_dump(s, error);
	if (!now)
		return FALSE;
	a = g_new0(struct page_view, step->pages);
	b = g_new0(struct page_view, step->pages);
	mirror_pages(old, step->gpa, step->pages, a);
	mirror_pages(now, step->gpa, step->pages, b);
	spte_mirror_table_free(now);
	for (guint64 i = 0; i < step->pages; i++) {
		if (!a[i].leaf || !b[i].leaf)
			missing++;
		else if (a[i].pfn == b[i].pfn)
			same++;
		else
			differ++;
	}
	passed = !missing && (changed ? !same : !differ);
	spte_session_check(s, step, passed, line, "since '%s': %"
			   G_GUINT64_FORMAT " pages on a new pfn, %"
			   G_GUINT64_FORMAT " on the same, %" G_GUINT64_FORMAT
			   " not mapped in one of the two", step->words[0],
			   differ, same, missing);
	return TRUE;
}

gboolean spte_expect_changed(struct spte_session *s,
			     const struct spte_step *step, GString *line,
			     GError **error)
{
	return expect_changed(s, step, TRUE, line, error);
}

gboolean spte_expect_unchanged(struct spte_session *s,
			       const struct spte_step *step, GString *line,
			       GError **error)
{
	return expect_changed(s, step, FALSE, line, error);
}

/* What DAMON saw. */
gboolean spte_expect_damon_parse(struct spte_step *step,
				 const char *const *w, guint n,
				 GError **error)
{
	if (n == 1 && (g_str_equal(w[0], "hot") || g_str_equal(w[0], "cold")))
		return TRUE;
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
		    "expected 'expect damon GPA PAGES hot|cold'");
	return FALSE;
}

/*
 * hot: every DAMON region over the range counted the page accessed in at
 * least one sample of its window; cold: in none.  The count is DAMON's
 * own (nr_accesses_bp / 10000, a moving sum over the last aggregation's
 * samples), as tried_regions shows it.
 */
gboolean spte_expect_damon(struct spte_session *s,
			   const struct spte_step *step, GString *line,
			   GError **error)
{
	gboolean hot = g_str_equal(step->words[0], "hot");
	g_autoptr(GArray) regions = NULL;
	g_autoptr(GString) bad = g_string_new(NULL);
	guint64 start, end, covered = 0, lo = G_MAXUINT64, hi = 0, n = 0;
	guint64 age_lo = G_MAXUINT64, age_hi = 0;

	if (!spte_damon_covers(s, step->gpa, step->pages, error))
		return FALSE;
	regions = spte_damon_regions(s, error);
	if (!regions)
		return FALSE;
	start = spte_damon_hva(s, step->gpa);
	end = start + (step->pages << 12);
	for (guint i = 0; i < regions->len; i++) {
		const struct spte_damon_region *r =
			&g_array_index(regions, struct spte_damon_region, i);
		guint64 a = MAX(r->start, start), b = MIN(r->end, end);

		if (a >= b)
			continue;
		n++;
		covered += b - a;
		lo = MIN(lo, r->nr_accesses);
		hi = MAX(hi, r->nr_accesses);
		age_lo = MIN(age_lo, r->age);
		age_hi = MAX(age_hi, r->age);
		if (!bad->len && (hot ? !r->nr_accesses : r->nr_accesses))
			g_string_append_printf(bad, "gpa %#" G_GINT64_MODIFIER
					       "x (hva %#" G_GINT64_MODIFIER
					       "x) has nr_accesses %"
					       G_GUINT64_FORMAT ", not %s; ",
					       step->gpa + (a - start), a,
					       r->nr_accesses,
					       hot ? "hot" : "cold");
	}
	if (!n) {
		spte_session_check(s, step, FALSE, line, "DAMON reported no "
				   "region over gpa %#" G_GINT64_MODIFIER "x-%#"
				   G_GINT64_MODIFIER "x (%u regions in all)",
				   step->gpa, step->gpa + (step->pages << 12) - 1,
				   regions->len);
		return TRUE;
	}
	if (covered < end - start)
		g_string_append_printf(bad, "DAMON's regions cover %"
				       G_GUINT64_FORMAT " of the %"
				       G_GUINT64_FORMAT " bytes; ", covered,
				       end - start);
	spte_session_check(s, step, !bad->len, line, "%s%" G_GUINT64_FORMAT
			   " regions over gpa %#" G_GINT64_MODIFIER "x-%#"
			   G_GINT64_MODIFIER "x: nr_accesses %" G_GUINT64_FORMAT
			   "-%" G_GUINT64_FORMAT " of %u samples an aggregation, "
			   "age %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
			   " aggregations", bad->str, n, step->gpa,
			   step->gpa + (step->pages << 12) - 1, lo, hi,
			   spte_damon_max_accesses(), age_lo, age_hi);
	return TRUE;
}
