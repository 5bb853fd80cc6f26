// SPDX-License-Identifier: GPL-2.0
/*
 * expect: the checks a scenario passes or fails on.
 *
 *   expect mirror GPA PAGES PROP...     every page's mirror leaf
 *   expect primary GPA PAGES PROP...    every page's primary PTE
 *   expect sequence GPA PAGES [EVENT...] notifier calls, in this order
 *   expect count GPA PAGES EVENT >=|<=|== N
 *   expect none GPA PAGES EVENT
 *   expect changed|unchanged GPA PAGES DUMP   PFNs against a named dump
 *   expect damon GPA PAGES hot|cold     what the running kdamond saw
 *
 * A PROP may be negated with '!'.  An EVENT is
 * CALLBACK[:RANGE_EVENT][=RESULT][?], e.g. invalidate_range_start:CLEAR or
 * clear_flush_young=1 (answered "young"); a trailing '?' means "if this
 * kernel has the callback" (change_pte went away in 6.10).  Event checks look at
 * the records shown by the last 'events' step and everything since.
 */
#include <errno.h>
#include <string.h>

#include "primary.h"
#include "timeline.h"
#include "parse.h"
#include "families.h"
#include "language.h"
#include "spte_error.h"

enum subject {
	EXPECT_MIRROR, EXPECT_PRIMARY, EXPECT_SEQUENCE, EXPECT_COUNT,
	EXPECT_NONE, EXPECT_CHANGED, EXPECT_UNCHANGED, EXPECT_DAMON,
};

static const char *const subjects[] = {
	[EXPECT_MIRROR] = "mirror", [EXPECT_PRIMARY] = "primary",
	[EXPECT_SEQUENCE] = "sequence", [EXPECT_COUNT] = "count",
	[EXPECT_NONE] = "none", [EXPECT_CHANGED] = "changed",
	[EXPECT_UNCHANGED] = "unchanged", [EXPECT_DAMON] = "damon",
};

static const char *const mirror_props[] = {
	"absent", "present", "4k", "2m", "ro", "rw", "young", "old", "shared",
	"private", "primary", "node", NULL
};

static const char *const primary_props[] = {
	"present", "swapped", "thp", "ksm", "zero", "uffd-wp", "exclusive",
	"node", NULL
};

/* A property word: [!]NAME or node=N. */
struct prop {
	const char *name;
	gboolean negated;
	guint64 node;
};

struct event_item {
	guint32 callback;
	guint32 event;		/* SPTE_EV_NONE: any */
	gint64 result;		/* the callback's return value, or -1: any */
	gboolean optional;
};

static int subject_of(const struct spte_step *step)
{
	for (guint i = 0; i < G_N_ELEMENTS(subjects); i++)
		if (g_str_equal(step->name, subjects[i]))
			return i;
	g_assert_not_reached();
}

static gboolean parse_prop(const char *word, const char *const *allowed,
			   struct prop *p, GError **error)
{
	g_autofree char *name = NULL;
	const char *eq;

	*p = (struct prop){ .negated = word[0] == '!' };
	word += p->negated;
	eq = strchr(word, '=');
	name = eq ? g_strndup(word, eq - word) : g_strdup(word);
	for (guint i = 0; allowed[i]; i++) {
		if (!g_str_equal(name, allowed[i]))
			continue;
		p->name = allowed[i];
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
		g_autofree char *list = g_strjoinv(", ", (char **)allowed);

		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "unknown property '%s' (one of %s, node=N)", word,
			    list);
	}
	return FALSE;
}

static gboolean parse_event_item(const char *word, struct event_item *it,
				 GError **error)
{
	g_autofree char *text = g_strdup(word);
	char *colon, *eq;
	size_t len = strlen(text);
	guint64 result;
	int cb, ev;

	*it = (struct event_item){ .event = SPTE_EV_NONE, .result = -1 };
	if (len && text[len - 1] == '?') {
		it->optional = TRUE;
		text[len - 1] = '\0';
	}
	eq = strchr(text, '=');
	if (eq) {
		*eq++ = '\0';
		if (!spte_parse_u64(eq, "result", &result, error))
			return FALSE;
		it->result = result;
	}
	colon = strchr(text, ':');
	if (colon)
		*colon++ = '\0';
	cb = spte_callback_from_name(text);
	if (cb < 0 || cb >= SPTE_CB_DROPPED) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "unknown notifier callback '%s' (invalidate_range_"
			    "start, invalidate_range_end, change_pte, "
			    "clear_flush_young, clear_young, test_young, "
			    "release, ...)", text);
		return FALSE;
	}
	it->callback = cb;
	ev = colon ? spte_event_from_name(colon) : SPTE_EV_NONE;
	if (ev < 0) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "unknown range event '%s' (UNMAP, CLEAR, "
			    "PROTECTION_VMA, PROTECTION_PAGE, SOFT_DIRTY, "
			    "RELEASE, MIGRATE, EXCLUSIVE)", colon);
		return FALSE;
	}
	it->event = ev;
	return TRUE;
}

static gboolean parse_count(const char *const *w, guint n, guint64 *value,
			    GError **error)
{
	struct event_item it;

	if (n != 3 || (g_strcmp0(w[1], ">=") && g_strcmp0(w[1], "<=") &&
		       g_strcmp0(w[1], "=="))) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "expected 'expect count GPA PAGES EVENT >=|<=|== N'");
		return FALSE;
	}
	return parse_event_item(w[0], &it, error) &&
	       spte_parse_u64(w[2], "N", value, error);
}

static gboolean expect_parse(struct spte_step *step, GError **error)
{
	const char *const *w = (const char *const *)step->words;
	guint n = g_strv_length(step->words);
	struct event_item it;
	struct prop p;
	int subject = -1;

	for (guint i = 0; n && i < G_N_ELEMENTS(subjects); i++)
		if (g_str_equal(w[0], subjects[i]))
			subject = i;
	if (subject < 0) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "expected 'expect mirror|primary|sequence|count|"
			    "none|changed|unchanged|damon GPA PAGES ...'");
		return FALSE;
	}
	if (n < 3) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "expected 'expect %s GPA PAGES ...'", w[0]);
		return FALSE;
	}
	step->name = g_strdup(w[0]);
	step->needs_mirror = subject != EXPECT_PRIMARY &&
			     subject != EXPECT_DAMON;
	if (!spte_step_parse_range(step, w[1], w[2], error))
		return FALSE;
	w += 3;
	n -= 3;
	switch (subject) {
	case EXPECT_MIRROR:
	case EXPECT_PRIMARY:
		if (!n) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "expect %s: name at least one property",
				    step->name);
			return FALSE;
		}
		for (guint i = 0; i < n; i++)
			if (!parse_prop(w[i], subject == EXPECT_MIRROR ?
					mirror_props : primary_props, &p, error))
				return FALSE;
		break;
	case EXPECT_SEQUENCE:
		for (guint i = 0; i < n; i++)
			if (!parse_event_item(w[i], &it, error))
				return FALSE;
		break;
	case EXPECT_COUNT:
		if (!parse_count(w, n, &step->count, error))
			return FALSE;
		break;
	case EXPECT_DAMON:
		if (n != 1 || (g_strcmp0(w[0], "hot") &&
			       g_strcmp0(w[0], "cold"))) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "expected 'expect damon GPA PAGES hot|cold'");
			return FALSE;
		}
		break;
	case EXPECT_NONE:
		if (n != 1) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "expected 'expect none GPA PAGES EVENT'");
			return FALSE;
		}
		if (!parse_event_item(w[0], &it, error))
			return FALSE;
		break;
	default:
		if (n != 1) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "expected 'expect %s GPA PAGES DUMP'",
				    step->name);
			return FALSE;
		}
		break;
	}
	/* keep only what follows GPA PAGES */
	{
		GStrv rest = g_strdupv((char **)w);

		g_strfreev(step->words);
		step->words = rest;
	}
	return TRUE;
}

/* ---- the mirror and the primary, page by page ------------------------ */

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

	if (g_str_equal(p->name, "absent"))
		return !v->leaf;
	if (!v->leaf)
		return FALSE;
	if (g_str_equal(p->name, "present"))
		return TRUE;
	if (g_str_equal(p->name, "4k"))
		return v->leaf->level == 1;
	if (g_str_equal(p->name, "2m"))
		return v->leaf->level == 2;
	if (g_str_equal(p->name, "ro"))
		return !(e & SPTE_EPT_W);
	if (g_str_equal(p->name, "rw"))
		return !!(e & SPTE_EPT_W);
	if (g_str_equal(p->name, "young"))
		return !!(e & SPTE_EPT_A);
	if (g_str_equal(p->name, "old"))
		return !(e & SPTE_EPT_A);
	if (g_str_equal(p->name, "primary"))
		return (prim->flags & SPTE_PRIMARY_PRESENT) &&
		       prim->pfn == v->pfn;
	/* node=N: the mirror maps the primary's page, and it is on N */
	return (prim->flags & SPTE_PRIMARY_PRESENT) && prim->pfn == v->pfn &&
	       prim->node == (int)p->node;
}

/* The primary's properties, as 'expect primary' names them. */
static const struct {
	const char *name;
	guint32 flag;
} primary_flags[] = {
	{ "present", SPTE_PRIMARY_PRESENT },
	{ "swapped", SPTE_PRIMARY_SWAPPED },
	{ "thp", SPTE_PRIMARY_THP },
	{ "ksm", SPTE_PRIMARY_KSM },
	{ "zero", SPTE_PRIMARY_ZERO },
	{ "uffd-wp", SPTE_PRIMARY_UFFD_WP },
	{ "exclusive", SPTE_PRIMARY_EXCLUSIVE },
};

static gboolean primary_page_has(const struct spte_primary_page *pg,
				 const struct prop *p)
{
	if (g_str_equal(p->name, "node"))
		return (pg->flags & SPTE_PRIMARY_PRESENT) &&
		       pg->node == (int)p->node;
	for (guint i = 0; i < G_N_ELEMENTS(primary_flags); i++)
		if (g_str_equal(p->name, primary_flags[i].name))
			return !!(pg->flags & primary_flags[i].flag);
	g_assert_not_reached();
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
	for (guint f = 0; f < G_N_ELEMENTS(primary_flags); f++) {
		guint64 n = 0;

		for (guint64 i = 0; i < pages; i++)
			n += !!(pg[i].flags & primary_flags[f].flag);
		if (n) {
			g_string_append_printf(out, "%s %" G_GUINT64_FORMAT
					       " %s", sep, n,
					       primary_flags[f].name);
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
		if (mirror && g_str_equal(p.name, "shared")) {
			passed = all_same_pfn(view, step->pages) != p.negated;
		} else if (mirror && g_str_equal(p.name, "private")) {
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

/* ---- notifier events ------------------------------------------------- */

static gboolean overlaps(const struct spte_mirror_event *e, guint64 gpa,
			 guint64 end)
{
	return e->gpa_start != SPTE_MIRROR_NONE && e->gpa_start < end &&
	       e->gpa_end > gpa;
}

static gboolean matches(const struct spte_mirror_event *e,
			const struct event_item *it)
{
	return e->callback == it->callback &&
	       (it->event == SPTE_EV_NONE || e->event == it->event) &&
	       (it->result < 0 || e->result == it->result);
}

static void item_name(const struct event_item *it, GString *out)
{
	g_string_append(out, spte_mirror_callback_name(it->callback));
	if (it->event != SPTE_EV_NONE)
		g_string_append_printf(out, "(%s)",
				       spte_mirror_event_name(it->event));
	if (it->result >= 0)
		g_string_append_printf(out, "=%" G_GINT64_FORMAT, it->result);
}

static void items_join(const GArray *items, GString *out)
{
	for (guint i = 0; i < items->len; i++) {
		if (i)
			g_string_append(out, " -> ");
		item_name(&g_array_index(items, struct event_item, i), out);
	}
}

/* Items this kernel can produce: an optional one it lacks is dropped. */
static GArray *event_items(struct spte_session *s, char **words,
			   GString *skipped)
{
	GArray *items = g_array_new(FALSE, FALSE, sizeof(struct event_item));

	for (guint i = 0; words[i]; i++) {
		struct event_item it;

		parse_event_item(words[i], &it, NULL);
		if (it.optional && !(s->callbacks & (1ULL << it.callback))) {
			g_string_append_printf(skipped, "; no %s on this "
					       "kernel", spte_mirror_callback_name(
					       it.callback));
			continue;
		}
		g_array_append_val(items, it);
	}
	return items;
}

/* The words of a scenario's "sequence = ..." */
static GStrv sequence_words(const char *sequence)
{
	g_auto(GStrv) words = g_strsplit_set(sequence, " \t", -1);
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();

	for (guint i = 0; words[i]; i++)
		if (*words[i])
			g_strv_builder_add(b, words[i]);
	return g_strv_builder_end(b);
}

char *spte_expect_sequence_describe(const char *sequence, guint64 callbacks)
{
	struct spte_session s = { .callbacks = callbacks };
	g_auto(GStrv) words = sequence_words(sequence);
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(GString) skipped = g_string_new(NULL);
	g_autoptr(GArray) items = event_items(&s, words, skipped);

	items_join(items, out);
	g_string_append(out, skipped->str);
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/*
 * Find the items in order, each one after the last and each touching the
 * GPAs of the first: "change_pte inside invalidate_range_start/end" means
 * for the same page, not anywhere in the window.
 */
static gboolean expect_sequence(struct spte_session *s,
				const struct spte_step *step, GString *line,
				GError **error)
{
	g_auto(GStrv) from_header = NULL;
	char **words = step->words;
	g_autoptr(GString) skipped = g_string_new(NULL);
	g_autoptr(GString) seen = g_string_new(NULL);
	g_autoptr(GArray) items = NULL;
	const struct spte_mirror_event *ev;
	guint64 end = step->gpa + (step->pages << 12);
	guint64 lo = step->gpa, hi = end;
	guint n = s->events->len, first = s->window, k = 0;

	if (!words[0]) {
		if (!s->sequence) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "no events named and the scenario states "
				    "no sequence");
			return FALSE;
		}
		from_header = sequence_words(s->sequence);
		words = from_header;
	}
	items = event_items(s, words, skipped);
	ev = &g_array_index(s->events, struct spte_mirror_event, 0);
	/* retry from each occurrence of the first item */
	for (guint start = first; start < n && k < items->len; start++) {
		const struct event_item *it0 = &g_array_index(items,
						struct event_item, 0);

		if (!matches(&ev[start], it0) ||
		    !overlaps(&ev[start], step->gpa, end))
			continue;
		lo = MAX(ev[start].gpa_start, step->gpa);
		hi = MIN(ev[start].gpa_end, end);
		g_string_truncate(seen, 0);
		g_string_append_printf(seen, "#%llu ", ev[start].seq);
		item_name(it0, seen);
		k = 1;
		for (guint i = start + 1; i < n && k < items->len; i++) {
			const struct event_item *it = &g_array_index(items,
						struct event_item, k);

			if (!matches(&ev[i], it) || !overlaps(&ev[i], lo, hi))
				continue;
			g_string_append_printf(seen, " -> #%llu ", ev[i].seq);
			item_name(it, seen);
			k++;
		}
	}
	if (!items->len) {
		spte_session_check(s, step, TRUE, line, "nothing to look for "
				   "on this kernel%s", skipped->str);
		return TRUE;
	}
	if (k == items->len) {
		spte_session_check(s, step, TRUE, line, "%s at gpa %#"
				   G_GINT64_MODIFIER "x-%#" G_GINT64_MODIFIER
				   "x%s", seen->str, lo, hi - 1, skipped->str);
		return TRUE;
	}
	g_string_truncate(seen, 0);
	items_join(items, seen);
	spte_session_check(s, step, FALSE, line, "%s not seen in order in "
			   "the %u events since the last 'events'%s", seen->str,
			   n - first, skipped->str);
	return TRUE;
}

static gboolean expect_count(struct spte_session *s,
			     const struct spte_step *step, GString *line)
{
	g_autoptr(GString) what = g_string_new(NULL);
	guint64 end = step->gpa + (step->pages << 12), n = 0, want = step->count;
	const char *op = g_str_equal(step->name, "none") ? "==" :
			 step->words[1];
	struct event_item it;
	gboolean passed;

	if (g_str_equal(step->name, "none"))
		want = 0;
	parse_event_item(step->words[0], &it, NULL);
	for (guint i = s->window; i < s->events->len; i++) {
		const struct spte_mirror_event *e =
			&g_array_index(s->events, struct spte_mirror_event, i);

		n += matches(e, &it) && overlaps(e, step->gpa, end);
	}
	passed = op[0] == '>' ? n >= want : op[0] == '<' ? n <= want :
				n == want;
	item_name(&it, what);
	spte_session_check(s, step, passed, line, "%" G_GUINT64_FORMAT " %s "
			   "over gpa %#" G_GINT64_MODIFIER "x-%#"
			   G_GINT64_MODIFIER "x (expected %s %" G_GUINT64_FORMAT
			   ")", n, what->str, step->gpa, end - 1, op, want);
	return TRUE;
}

/* ---- PFNs against a named dump --------------------------------------- */

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

/* ---- what DAMON saw --------------------------------------------------- */

/*
 * hot: every DAMON region over the range counted the page accessed in at
 * least one sample of its window; cold: in none.  The count is DAMON's
 * own (nr_accesses_bp / 10000, a moving sum over the last aggregation's
 * samples), as tried_regions shows it.
 */
static gboolean expect_damon(struct spte_session *s,
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

static gboolean step_expect(struct spte_session *s,
			    const struct spte_step *step, GString *line,
			    GError **error)
{
	if (!spte_session_drain_events(s, error))
		return FALSE;
	switch (subject_of(step)) {
	case EXPECT_MIRROR:
		return expect_pages(s, step, TRUE, line, error);
	case EXPECT_PRIMARY:
		return expect_pages(s, step, FALSE, line, error);
	case EXPECT_SEQUENCE:
		return expect_sequence(s, step, line, error);
	case EXPECT_COUNT:
	case EXPECT_NONE:
		return expect_count(s, step, line);
	case EXPECT_CHANGED:
		return expect_changed(s, step, TRUE, line, error);
	case EXPECT_DAMON:
		return expect_damon(s, step, line, error);
	default:
		return expect_changed(s, step, FALSE, line, error);
	}
}

static const struct spte_verb verbs[] = {
	{
		.name = "expect",
		.where = SPTE_STEP_EXPECT,
		.run = step_expect,
		.parse = expect_parse,
		.usage = "expect WHAT ...",
		.help = "check: mirror|primary GPA PAGES PROPS, "
			"sequence|count|none GPA PAGES EVENTS, "
			"changed|unchanged GPA PAGES DUMP, damon GPA PAGES "
			"hot|cold (see docs)",
	},
};

const struct spte_step_family spte_expect_steps =
	SPTE_STEP_FAMILY("expect", verbs);
