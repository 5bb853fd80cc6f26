// SPDX-License-Identifier: GPL-2.0
/*
 * Event records: JSON in both directions, and the readable timeline that
 * shows which callback ran inside which invalidate_range_start/_end.
 */
#include <string.h>

#include "inspect/timeline.h"
#include "spte_error.h"

static const struct {
	guint32 bit;
	const char *name;
} event_flags[] = {
	{ SPTE_EVF_BLOCKABLE, "blockable" },
	{ SPTE_EVF_IN_SLOT, "in_slot" },
	{ SPTE_EVF_SKIPPED, "skipped" },
};

/* Event codes that have a name, SPTE_EV_NONE aside. */
#define EV_NAMED_MAX	SPTE_EV_EXCLUSIVE

int spte_callback_from_name(const char *name)
{
	for (guint cb = 0; cb < SPTE_CB_NR; cb++) {
		const char *n = spte_mirror_callback_name(cb);

		if (strcmp(n, "unknown") && !strcmp(n, name))
			return cb;
	}
	return -1;
}

int spte_event_from_name(const char *name)
{
	for (guint ev = 0; ev <= EV_NAMED_MAX; ev++)
		if (!strcmp(spte_mirror_event_name(ev), name))
			return ev;
	return -1;
}

static void add_u64(JsonBuilder *b, const char *name, guint64 v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, (gint64)v);
}

static void add_u64_or_null(JsonBuilder *b, const char *name, guint64 v)
{
	json_builder_set_member_name(b, name);
	if (v == SPTE_MIRROR_NONE)
		json_builder_add_null_value(b);
	else
		json_builder_add_int_value(b, (gint64)v);
}

static void build_event(JsonBuilder *b, const struct spte_mirror_event *ev)
{
	guint32 rest = ev->flags;

	json_builder_begin_object(b);
	add_u64(b, "seq", ev->seq);
	add_u64(b, "time_ns", ev->time_ns);
	json_builder_set_member_name(b, "callback");
	if (spte_callback_from_name(spte_mirror_callback_name(ev->callback)) ==
	    (int)ev->callback)
		json_builder_add_string_value(b,
				spte_mirror_callback_name(ev->callback));
	else
		json_builder_add_int_value(b, ev->callback);
	json_builder_set_member_name(b, "event");
	if (ev->event == SPTE_EV_NONE)
		json_builder_add_null_value(b);
	else if (ev->event <= EV_NAMED_MAX)
		json_builder_add_string_value(b,
				spte_mirror_event_name(ev->event));
	else
		json_builder_add_int_value(b, ev->event);
	json_builder_set_member_name(b, "flags");
	json_builder_begin_array(b);
	for (guint i = 0; i < G_N_ELEMENTS(event_flags); i++) {
		if (ev->flags & event_flags[i].bit) {
			json_builder_add_string_value(b, event_flags[i].name);
			rest &= ~event_flags[i].bit;
		}
	}
	for (guint bit = 0; bit < 32; bit++) {
		if (rest & (1U << bit)) {
			g_autofree char *name = g_strdup_printf("bit%u", bit);

			json_builder_add_string_value(b, name);
		}
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "result");
	json_builder_add_int_value(b, ev->result);
	add_u64(b, "hva_start", ev->hva_start);
	add_u64(b, "hva_end", ev->hva_end);
	add_u64_or_null(b, "gpa_start", ev->gpa_start);
	add_u64_or_null(b, "gpa_end", ev->gpa_end);
	add_u64_or_null(b, "old_pfn", ev->old_pfn);
	add_u64_or_null(b, "new_pfn", ev->new_pfn);
	add_u64(b, "leaves", ev->leaves);
	json_builder_end_object(b);
}

JsonNode *spte_event_to_json(const struct spte_mirror_event *ev)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	build_event(b, ev);
	return json_builder_get_root(b);
}

JsonNode *spte_events_to_json(const struct spte_mirror_event *ev, guint n)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_array(b);
	for (guint i = 0; i < n; i++)
		build_event(b, &ev[i]);
	json_builder_end_array(b);
	return json_builder_get_root(b);
}

/* ---- from JSON ---- */

static const char *node_kind(JsonNode *n)
{
	switch (json_node_get_node_type(n)) {
	case JSON_NODE_OBJECT:
		return "an object";
	case JSON_NODE_ARRAY:
		return "an array";
	case JSON_NODE_NULL:
		return "null";
	case JSON_NODE_VALUE:
		break;
	}
	switch (json_node_get_value_type(n)) {
	case G_TYPE_INT64:
		return "an integer";
	case G_TYPE_DOUBLE:
		return "a fractional number";
	case G_TYPE_BOOLEAN:
		return "a boolean";
	case G_TYPE_STRING:
		return "a string";
	default:
		return "an unexpected value";
	}
}

static gboolean is_int(JsonNode *n)
{
	return JSON_NODE_HOLDS_VALUE(n) &&
	       json_node_get_value_type(n) == G_TYPE_INT64;
}

static gboolean is_string(JsonNode *n)
{
	return JSON_NODE_HOLDS_VALUE(n) &&
	       json_node_get_value_type(n) == G_TYPE_STRING;
}

static gboolean member_error(GError **error, guint i, const char *member,
			     const char *what, JsonNode *n)
{
	if (n)
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "events[%u]: '%s' must be %s, not %s", i, member,
			    what, node_kind(n));
	else
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "events[%u]: '%s' is missing (expected %s)", i,
			    member, what);
	return FALSE;
}

/* An integer member; with @nullable, null reads as SPTE_MIRROR_NONE. */
static gboolean get_int(JsonObject *o, guint i, const char *member,
			gboolean nullable, guint64 *out, GError **error)
{
	JsonNode *n = json_object_get_member(o, member);

	if (n && nullable && JSON_NODE_HOLDS_NULL(n)) {
		*out = SPTE_MIRROR_NONE;
		return TRUE;
	}
	if (!n || !is_int(n))
		return member_error(error, i, member, nullable ?
				    "an integer or null" : "an integer", n);
	*out = (guint64)json_node_get_int(n);
	return TRUE;
}

static gboolean get_u32(JsonObject *o, guint i, const char *member,
			guint32 *out, GError **error)
{
	guint64 v;

	if (!get_int(o, i, member, FALSE, &v, error))
		return FALSE;
	if (v > G_MAXUINT32) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "events[%u]: '%s' is %" G_GINT64_FORMAT
			    ", out of range", i, member, (gint64)v);
		return FALSE;
	}
	*out = (guint32)v;
	return TRUE;
}

static gboolean get_callback(JsonObject *o, guint i, guint32 *out,
			     GError **error)
{
	JsonNode *n = json_object_get_member(o, "callback");
	int cb;

	if (n && is_int(n))
		return get_u32(o, i, "callback", out, error);
	if (!n || !is_string(n))
		return member_error(error, i, "callback",
				    "a callback name such as \"change_pte\"", n);
	cb = spte_callback_from_name(json_node_get_string(n));
	if (cb < 0) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "events[%u]: 'callback' \"%s\" is not a callback "
			    "name", i, json_node_get_string(n));
		return FALSE;
	}
	*out = cb;
	return TRUE;
}

static gboolean get_event(JsonObject *o, guint i, guint32 *out,
			  GError **error)
{
	JsonNode *n = json_object_get_member(o, "event");
	int ev;

	if (n && JSON_NODE_HOLDS_NULL(n)) {
		*out = SPTE_EV_NONE;
		return TRUE;
	}
	if (n && is_int(n))
		return get_u32(o, i, "event", out, error);
	if (!n || !is_string(n))
		return member_error(error, i, "event",
				    "an event name such as \"CLEAR\" or null", n);
	ev = spte_event_from_name(json_node_get_string(n));
	if (ev < 0) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "events[%u]: 'event' \"%s\" is not an event name",
			    i, json_node_get_string(n));
		return FALSE;
	}
	*out = ev;
	return TRUE;
}

static gboolean flag_from_name(const char *name, guint32 *bit)
{
	guint64 v;
	char *end;

	for (guint k = 0; k < G_N_ELEMENTS(event_flags); k++) {
		if (!strcmp(name, event_flags[k].name)) {
			*bit = event_flags[k].bit;
			return TRUE;
		}
	}
	if (!g_str_has_prefix(name, "bit") || !g_ascii_isdigit(name[3]))
		return FALSE;
	v = g_ascii_strtoull(name + 3, &end, 10);
	if (*end || v >= 32)
		return FALSE;
	*bit = 1U << v;
	return TRUE;
}

static gboolean get_flags(JsonObject *o, guint i, guint32 *out,
			  GError **error)
{
	JsonNode *n = json_object_get_member(o, "flags");
	JsonArray *a;

	if (!n || !JSON_NODE_HOLDS_ARRAY(n))
		return member_error(error, i, "flags",
				    "an array of flag names", n);
	a = json_node_get_array(n);
	*out = 0;
	for (guint k = 0; k < json_array_get_length(a); k++) {
		JsonNode *f = json_array_get_element(a, k);
		guint32 bit;

		if (!is_string(f) ||
		    !flag_from_name(json_node_get_string(f), &bit)) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "events[%u]: 'flags'[%u] is not one of "
				    "\"blockable\", \"in_slot\", \"skipped\"",
				    i, k);
			return FALSE;
		}
		*out |= bit;
	}
	return TRUE;
}

#define EV_MEMBER(m, nullable) \
	{ #m, nullable, G_STRUCT_OFFSET(struct spte_mirror_event, m) }
static const struct {
	const char *name;
	gboolean nullable;
	glong offset;
} u64_members[] = {
	EV_MEMBER(seq, FALSE),
	EV_MEMBER(time_ns, FALSE),
	EV_MEMBER(hva_start, FALSE),
	EV_MEMBER(hva_end, FALSE),
	EV_MEMBER(gpa_start, TRUE),
	EV_MEMBER(gpa_end, TRUE),
	EV_MEMBER(old_pfn, TRUE),
	EV_MEMBER(new_pfn, TRUE),
	EV_MEMBER(leaves, FALSE),
};

static gboolean event_from_json(JsonNode *node, guint i,
				struct spte_mirror_event *ev, GError **error)
{
	JsonObject *o;
	guint64 result;

	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "events[%u]: expected an event object, not %s", i,
			    node_kind(node));
		return FALSE;
	}
	o = json_node_get_object(node);
	memset(ev, 0, sizeof(*ev));
	for (guint k = 0; k < G_N_ELEMENTS(u64_members); k++) {
		guint64 v;

		if (!get_int(o, i, u64_members[k].name, u64_members[k].nullable,
			     &v, error))
			return FALSE;
		memcpy(G_STRUCT_MEMBER_P(ev, u64_members[k].offset), &v,
		       sizeof(v));
	}
	if (!get_callback(o, i, &ev->callback, error) ||
	    !get_event(o, i, &ev->event, error) ||
	    !get_flags(o, i, &ev->flags, error) ||
	    !get_int(o, i, "result", FALSE, &result, error))
		return FALSE;
	if ((gint64)result < G_MININT32 || (gint64)result > G_MAXINT32) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "events[%u]: 'result' %" G_GINT64_FORMAT
			    " does not fit a 32-bit int", i, (gint64)result);
		return FALSE;
	}
	ev->result = (gint32)result;
	return TRUE;
}

gboolean spte_events_from_json(JsonNode *array, GArray **out, GError **error)
{
	g_autoptr(GArray) evs = NULL;
	JsonArray *a;
	guint n;

	if (!array || !JSON_NODE_HOLDS_ARRAY(array)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "events: expected an array of event objects, not %s",
			    array ? node_kind(array) : "nothing");
		return FALSE;
	}
	a = json_node_get_array(array);
	n = json_array_get_length(a);
	evs = g_array_sized_new(FALSE, TRUE, sizeof(struct spte_mirror_event),
				n);
	g_array_set_size(evs, n);
	for (guint i = 0; i < n; i++)
		if (!event_from_json(json_array_get_element(a, i), i,
				     &g_array_index(evs, struct spte_mirror_event,
						    i), error))
			return FALSE;
	*out = g_steal_pointer(&evs);
	return TRUE;
}

/* ---- the timeline ---- */

/* One output line: a record, or a fold of records first..last. */
struct tl_line {
	guint first, last;
};

struct tl {
	const struct spte_mirror_event *ev;
	guint n;
	guint64 t0_ns;
	int *match;		/* start <-> end, -1 if not in the log */
	guint *depth;
};

static const char *plural(guint64 n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static gboolean has_gpa(const struct spte_mirror_event *e)
{
	return e->gpa_start != SPTE_MIRROR_NONE &&
	       e->gpa_end != SPTE_MIRROR_NONE && e->gpa_end > e->gpa_start;
}

static gboolean is_young_cb(guint32 cb)
{
	return cb == SPTE_CB_CLEAR_FLUSH_YOUNG || cb == SPTE_CB_CLEAR_YOUNG ||
	       cb == SPTE_CB_TEST_YOUNG;
}

/*
 * Pair each invalidate_range_end with the latest open _start of the same
 * HVA range, and give every record its depth: one more than the innermost
 * start still open.
 */
static void tl_nest(struct tl *t)
{
	g_autoptr(GArray) open = g_array_new(FALSE, FALSE, sizeof(guint));

	for (guint i = 0; i < t->n; i++) {
		const struct spte_mirror_event *e = &t->ev[i];
		guint inner = open->len ?
			t->depth[g_array_index(open, guint, open->len - 1)] + 1 : 0;

		t->match[i] = -1;
		t->depth[i] = inner;
		if (e->callback == SPTE_CB_DROPPED) {
			t->depth[i] = 0;
		} else if (e->callback == SPTE_CB_INVALIDATE_RANGE_START) {
			g_array_append_val(open, i);
		} else if (e->callback == SPTE_CB_INVALIDATE_RANGE_END) {
			t->depth[i] = 0;	/* its start predates the log */
			for (guint k = open->len; k-- > 0;) {
				guint s = g_array_index(open, guint, k);

				if (t->ev[s].hva_start != e->hva_start ||
				    t->ev[s].hva_end != e->hva_end)
					continue;
				t->match[i] = s;
				t->match[s] = i;
				t->depth[i] = t->depth[s];
				g_array_remove_index(open, k);
				break;
			}
		}
	}
}

static gboolean tl_shown(const struct spte_mirror_event *e,
			 const struct spte_timeline_filter *f)
{
	if (!f || e->callback == SPTE_CB_DROPPED)
		return TRUE;
	if (f->callbacks && (e->callback >= 64 ||
			     !(f->callbacks & (G_GUINT64_CONSTANT(1) << e->callback))))
		return FALSE;
	if (f->gpa_start != f->gpa_end)
		return has_gpa(e) && e->gpa_start < f->gpa_end &&
		       e->gpa_end > f->gpa_start;
	return TRUE;
}

/* May record j extend a fold that ends with record k? */
static gboolean tl_folds(const struct tl *t, guint k, guint j)
{
	const struct spte_mirror_event *a = &t->ev[k], *b = &t->ev[j];

	if (a->callback == SPTE_CB_INVALIDATE_RANGE_START ||
	    a->callback == SPTE_CB_INVALIDATE_RANGE_END ||
	    a->callback == SPTE_CB_DROPPED)
		return FALSE;
	if (b->callback != a->callback || b->event != a->event ||
	    b->flags != a->flags || t->depth[j] != t->depth[k] ||
	    b->seq != a->seq + 1 || b->hva_start != a->hva_end)
		return FALSE;
	if (has_gpa(a) != has_gpa(b))
		return FALSE;
	return !has_gpa(a) || b->gpa_start == a->gpa_end;
}

static void append_range(GString *out, const struct spte_mirror_event *a,
			 const struct spte_mirror_event *b)
{
	if (has_gpa(a)) {
		guint64 pages = (b->gpa_end - a->gpa_start + 4095) >> 12;

		g_string_append_printf(out, "gpa 0x%" G_GINT64_MODIFIER "x-0x%"
				       G_GINT64_MODIFIER "x (%" G_GUINT64_FORMAT
				       " %s)", (guint64)a->gpa_start,
				       (guint64)b->gpa_end - 1, pages,
				       plural(pages, "page", "pages"));
	} else {
		g_string_append_printf(out, "outside slots, hva 0x%"
				       G_GINT64_MODIFIER "x-0x%"
				       G_GINT64_MODIFIER "x",
				       (guint64)a->hva_start,
				       (guint64)b->hva_end - 1);
	}
}

static void append_pfn(GString *out, guint64 pfn)
{
	if (pfn == SPTE_MIRROR_NONE)
		g_string_append(out, "none");
	else
		g_string_append_printf(out, "0x%" G_GINT64_MODIFIER "x", pfn);
}

static double ms_between(guint64 from, guint64 to)
{
	return (double)(gint64)(to - from) / 1e6;
}

/* What one record did, after its callback name and range. */
static void tl_detail(const struct tl *t, guint i, GString *out)
{
	const struct spte_mirror_event *e = &t->ev[i];
	gboolean skipped = e->flags & SPTE_EVF_SKIPPED;

	switch (e->callback) {
	case SPTE_CB_INVALIDATE_RANGE_START:
		if (skipped)
			g_string_append_printf(out, "  SKIPPED (skip_invalidate=1): "
					       "%" G_GUINT64_FORMAT " %s left "
					       "mapped, stale",
					       (guint64)e->leaves,
					       plural(e->leaves, "leaf", "leaves"));
		else if (e->leaves)
			g_string_append_printf(out, "  zapped %" G_GUINT64_FORMAT
					       " %s, first pfn 0x%"
					       G_GINT64_MODIFIER "x",
					       (guint64)e->leaves,
					       plural(e->leaves, "leaf", "leaves"),
					       (guint64)e->old_pfn);
		else if (has_gpa(e))
			g_string_append(out, "  nothing mapped");
		if (t->match[i] < 0)
			g_string_append(out, "  (no matching end in the log)");
		break;
	case SPTE_CB_INVALIDATE_RANGE_END:
		if (t->match[i] >= 0)
			g_string_append_printf(out, "  closes #%" G_GUINT64_FORMAT
					       " after %.3f ms",
					       (guint64)t->ev[t->match[i]].seq,
					       ms_between(t->ev[t->match[i]].time_ns,
							  e->time_ns));
		else
			g_string_append(out, "  (its start is not in the log)");
		break;
	case SPTE_CB_CHANGE_PTE:
		g_string_append(out, "  pfn ");
		append_pfn(out, e->old_pfn);
		g_string_append(out, " -> ");
		append_pfn(out, e->new_pfn);
		if (skipped)
			g_string_append(out, "  SKIPPED (skip_invalidate=1): leaf "
					"kept");
		else if (e->old_pfn == SPTE_MIRROR_NONE && has_gpa(e))
			g_string_append(out, "  (leaf already zapped by the "
					"start)");
		else if (e->leaves)
			g_string_append_printf(out, "  zapped %" G_GUINT64_FORMAT
					       " %s", (guint64)e->leaves,
					       plural(e->leaves, "leaf", "leaves"));
		break;
	case SPTE_CB_CLEAR_FLUSH_YOUNG:
	case SPTE_CB_CLEAR_YOUNG:
	case SPTE_CB_TEST_YOUNG:
		g_string_append_printf(out, "  %s, %" G_GUINT64_FORMAT " %s %s",
				       e->result ? "young" : "old",
				       (guint64)e->leaves,
				       plural(e->leaves, "leaf", "leaves"),
				       e->callback == SPTE_CB_TEST_YOUNG ?
				       "tested" : "aged");
		break;
	case SPTE_CB_RELEASE:
		g_string_append_printf(out, "  mm exit: zapped %" G_GUINT64_FORMAT
				       " %s", (guint64)e->leaves,
				       plural(e->leaves, "leaf", "leaves"));
		break;
	default:
		break;
	}
	if (e->result && !is_young_cb(e->callback))
		g_string_append_printf(out, "  result %d", e->result);
}

static void tl_name(const struct spte_mirror_event *e, GString *out)
{
	g_string_append(out, spte_mirror_callback_name(e->callback));
	if (e->event != SPTE_EV_NONE)
		g_string_append_printf(out, " %s",
				       spte_mirror_event_name(e->event));
	if (e->callback <= SPTE_CB_INVALIDATE_RANGE_END &&
	    !(e->flags & SPTE_EVF_BLOCKABLE))
		g_string_append(out, " (non-blockable)");
	g_string_append(out, "  ");
}

static void tl_fold_detail(const struct tl *t, const struct tl_line *l,
			   GString *out)
{
	const struct spte_mirror_event *a = &t->ev[l->first];
	guint64 leaves = 0, young = 0, changed = 0;

	for (guint i = l->first; i <= l->last; i++) {
		leaves += t->ev[i].leaves;
		young += t->ev[i].result != 0;
		changed += t->ev[i].old_pfn != SPTE_MIRROR_NONE;
	}
	if (is_young_cb(a->callback))
		g_string_append_printf(out, "  %" G_GUINT64_FORMAT " young, %"
				       G_GUINT64_FORMAT " old, %" G_GUINT64_FORMAT
				       " %s %s", young,
				       (guint64)(l->last - l->first + 1) - young,
				       leaves, plural(leaves, "leaf", "leaves"),
				       a->callback == SPTE_CB_TEST_YOUNG ?
				       "tested" : "aged");
	else if (a->callback == SPTE_CB_CHANGE_PTE)
		g_string_append_printf(out, "  %" G_GUINT64_FORMAT " %s still "
				       "mapped, %" G_GUINT64_FORMAT " zapped",
				       changed, plural(changed, "leaf", "leaves"),
				       leaves);
	else if (leaves)
		g_string_append_printf(out, "  %" G_GUINT64_FORMAT " %s",
				       leaves, plural(leaves, "leaf", "leaves"));
	g_string_append_printf(out, "  [%.3f ms]",
			       ms_between(a->time_ns, t->ev[l->last].time_ns));
}

static char *tl_seq_text(const struct tl *t, const struct tl_line *l)
{
	if (l->first == l->last)
		return g_strdup_printf("#%" G_GUINT64_FORMAT,
				       (guint64)t->ev[l->first].seq);
	return g_strdup_printf("#%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT,
			       (guint64)t->ev[l->first].seq,
			       (guint64)t->ev[l->last].seq);
}

static void tl_print(const struct tl *t, const struct tl_line *l,
		     int seq_width, GString *out)
{
	const struct spte_mirror_event *a = &t->ev[l->first];
	g_autofree char *seq = tl_seq_text(t, l);
	char buf[256];

	g_string_append_printf(out, "%+10.3f ms  %-*s ",
			       ms_between(t->t0_ns, a->time_ns), seq_width, seq);
	for (guint d = 0; d < t->depth[l->first]; d++)
		g_string_append(out, "|   ");
	if (a->callback == SPTE_CB_DROPPED) {
		g_string_append_printf(out, "!!!!! DROPPED %" G_GUINT64_FORMAT
				       " %s (#%" G_GUINT64_FORMAT "-%"
				       G_GUINT64_FORMAT "): the log ring "
				       "overflowed, callbacks are missing here "
				       "!!!!!\n", (guint64)a->leaves,
				       plural(a->leaves, "record", "records"),
				       (guint64)(a->seq - a->leaves + 1),
				       (guint64)a->seq);
		return;
	}
	if (!strcmp(spte_mirror_callback_name(a->callback), "unknown")) {
		g_string_append_printf(out, "%s\n",
				       spte_mirror_event_format(a, buf,
								sizeof(buf)));
		return;
	}
	tl_name(a, out);
	if (l->first != l->last)
		g_string_append_printf(out, "\u00d7%u over ",
				       l->last - l->first + 1);
	append_range(out, a, &t->ev[l->last]);
	if (l->first != l->last)
		tl_fold_detail(t, l, out);
	else
		tl_detail(t, l->first, out);
	g_string_append_c(out, '\n');
}

/* Records the log lost without a DROPPED record saying so. */
static void tl_gap(const struct tl *t, guint i, guint64 *expect, GString *out)
{
	const struct spte_mirror_event *e = &t->ev[i];
	guint64 first = e->seq;

	if (e->callback == SPTE_CB_DROPPED)
		first = e->seq - e->leaves + 1;
	if (i > 0 && first == *expect + 1)
		g_string_append_printf(out, "%14s  !!!!! seq gap: #%"
				       G_GUINT64_FORMAT " (1 record) is not in "
				       "this log !!!!!\n", "", *expect);
	else if (i > 0 && first > *expect)
		g_string_append_printf(out, "%14s  !!!!! seq gap: #%"
				       G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
				       " (%" G_GUINT64_FORMAT " records) are not "
				       "in this log !!!!!\n", "", *expect,
				       first - 1, first - *expect);
	else if (i > 0 && first < *expect)
		g_string_append_printf(out, "%14s  !!!!! seq goes back from #%"
				       G_GUINT64_FORMAT " to #%" G_GUINT64_FORMAT
				       ": two logs joined? !!!!!\n", "",
				       *expect - 1, first);
	*expect = (guint64)e->seq + 1;
}

void spte_timeline_format_filtered(const struct spte_mirror_event *ev,
				   guint n, guint64 t0_ns,
				   const struct spte_timeline_filter *filter,
				   GString *out)
{
	g_autofree int *match = g_new(int, n ? n : 1);
	g_autofree guint *depth = g_new(guint, n ? n : 1);
	g_autoptr(GArray) lines = g_array_new(FALSE, FALSE,
					      sizeof(struct tl_line));
	struct tl t = { ev, n, t0_ns, match, depth };
	guint64 expect = 0;
	int seq_width = 0;
	guint shown = 0;

	tl_nest(&t);
	for (guint i = 0; i < n;) {
		struct tl_line l = { i, i };

		if (!tl_shown(&ev[i], filter)) {
			i++;
			continue;
		}
		while (l.last + 1 < n && tl_shown(&ev[l.last + 1], filter) &&
		       tl_folds(&t, l.last, l.last + 1))
			l.last++;
		g_array_append_val(lines, l);
		i = l.last + 1;
	}
	for (guint k = 0; k < lines->len; k++) {
		g_autofree char *seq =
			tl_seq_text(&t, &g_array_index(lines, struct tl_line, k));

		seq_width = MAX(seq_width, (int)strlen(seq));
	}
	for (guint i = 0, k = 0; i < n; i++) {
		const struct tl_line *l;

		tl_gap(&t, i, &expect, out);
		if (k >= lines->len)
			continue;
		l = &g_array_index(lines, struct tl_line, k);
		if (l->first != i)
			continue;
		tl_print(&t, l, seq_width, out);
		shown += l->last - l->first + 1;
		/* gaps inside a fold are impossible: it needs seq + 1 */
		for (; i < l->last; i++)
			expect++;
		k++;
	}
	if (!shown)
		g_string_append(out, n ? "(no record matches the filter)\n" :
				"(no events)\n");
}

void spte_timeline_format(const struct spte_mirror_event *ev, guint n,
			  guint64 t0_ns, GString *out)
{
	spte_timeline_format_filtered(ev, n, t0_ns, NULL, out);
}
