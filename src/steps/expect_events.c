// SPDX-License-Identifier: GPL-2.0
/*
 * 'expect' about notifier events: a sequence of callbacks in order, a
 * count of one, none of one.  They look at the records shown by the last
 * 'events' step and everything since.
 */
#include <string.h>

#include "expect.h"
#include "families.h"
#include "parse.h"
#include "spte_error.h"
#include "timeline.h"

struct event_item {
	guint32 callback;
	guint32 event;		/* SPTE_EV_NONE: any */
	gint64 result;		/* the callback's return value, or -1: any */
	gboolean optional;
};

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
	cb = spte_mirror_callback_from_name(text);
	if (cb < 0 || cb >= SPTE_CB_DROPPED) {
		g_autofree char *names = spte_callback_names(", ");

		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "unknown notifier callback '%s' (%s)", text, names);
		return FALSE;
	}
	it->callback = cb;
	ev = colon ? spte_mirror_event_from_name(colon) : SPTE_EV_NONE;
	if (ev < 0) {
		g_autofree char *names = spte_event_names(", ");

		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "unknown range event '%s' (%s)", colon, names);
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

gboolean spte_expect_sequence_parse(struct spte_step *step,
				    const char *const *w, guint n,
				    GError **error)
{
	struct event_item it;

	for (guint i = 0; i < n; i++)
		if (!parse_event_item(w[i], &it, error))
			return FALSE;
	return TRUE;
}

gboolean spte_expect_count_parse(struct spte_step *step,
				 const char *const *w, guint n,
				 GError **error)
{
	return parse_count(w, n, &step->count, error);
}

gboolean spte_expect_none_parse(struct spte_step *step,
				const char *const *w, guint n, GError **error)
{
	struct event_item it;

	if (n != 1) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "expected 'expect none GPA PAGES EVENT'");
		return FALSE;
	}
	return parse_event_item(w[0], &it, error);
}

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
gboolean spte_expect_sequence(struct spte_session *s,
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

gboolean spte_expect_count(struct spte_session *s,
			   const struct spte_step *step, GString *line,
			   GError **error)
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
