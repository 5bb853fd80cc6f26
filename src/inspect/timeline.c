// SPDX-License-Identifier: GPL-2.0
/*
 * Event records: JSON in both directions, and the readable timeline that
 * shows which callback ran inside which invalidate_range_start/_end.
 */
#include <string.h>

#include "flag_names.h"
#include "json_member.h"
#include "timeline.h"
#include "spte_error.h"

static const struct spte_flag_name event_flags[] = {
	{ SPTE_EVF_BLOCKABLE, "blockable" },
	{ SPTE_EVF_IN_SLOT, "in_slot" },
	{ SPTE_EVF_SKIPPED, "skipped" },
	{ 0, NULL },
};

/* Event codes that have a name, SPTE_EV_NONE aside. */
#define EV_NAMED_MAX	SPTE_EV_EXCLUSIVE

static char *names_joined(const char *(*name)(uint32_t), uint32_t end,
			  const char *sep)
{
	GString *out = g_string_new(NULL);

	for (uint32_t code = 0; code < end; code++)
		if (strcmp(name(code), "unknown"))
			g_string_append_printf(out, "%s%s", out->len ? sep : "",
					       name(code));
	return g_string_free(out, FALSE);
}

char *spte_callback_names(const char *sep)
{
	return names_joined(spte_mirror_callback_name, SPTE_CB_DROPPED, sep);
}

char *spte_event_names(const char *sep)
{
	return names_joined(spte_mirror_event_name, SPTE_EV_NONE, sep);
}

/*
 * An event record's 64-bit members, written and read from here: those
 * written before its callback, event, flags and result, and those after.
 */
struct ev_member {
	const char *name;
	gboolean nullable;	/* SPTE_MIRROR_NONE is null */
	glong offset;
};

#define EV_MEMBER(m, nullable) \
	{ #m, nullable, G_STRUCT_OFFSET(struct spte_mirror_event, m) }
static const struct ev_member ev_head[] = {
	EV_MEMBER(seq, FALSE),
	EV_MEMBER(time_ns, FALSE),
};
static const struct ev_member ev_tail[] = {
	EV_MEMBER(hva_start, FALSE),
	EV_MEMBER(hva_end, FALSE),
	EV_MEMBER(gpa_start, TRUE),
	EV_MEMBER(gpa_end, TRUE),
	EV_MEMBER(old_pfn, TRUE),
	EV_MEMBER(new_pfn, TRUE),
	EV_MEMBER(leaves, FALSE),
};

static void add_members(JsonBuilder *b, const struct spte_mirror_event *ev,
			const struct ev_member *m, guint n)
{
	for (guint k = 0; k < n; k++) {
		guint64 v;

		/* __u64 is no guint64 to the compiler's aliasing rules */
		memcpy(&v, G_STRUCT_MEMBER_P(ev, m[k].offset), sizeof(v));
		if (m[k].nullable)
			spte_json_add_u64_or_null(b, m[k].name, v);
		else
			spte_json_add_int(b, m[k].name, v);
	}
}

static void build_event(JsonBuilder *b, const struct spte_mirror_event *ev)
{
	guint32 rest;

	json_builder_begin_object(b);
	add_members(b, ev, ev_head, G_N_ELEMENTS(ev_head));
	json_builder_set_member_name(b, "callback");
	if (spte_mirror_callback_from_name(spte_mirror_callback_name(ev->callback)) ==
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
	rest = spte_flag_names_add_json(event_flags, ev->flags, b);
	for (guint bit = 0; bit < 32; bit++) {
		if (rest & (1U << bit)) {
			g_autofree char *name = g_strdup_printf("bit%u", bit);

			json_builder_add_string_value(b, name);
		}
	}
	json_builder_end_array(b);
	spte_json_add_int(b, "result", ev->result);
	add_members(b, ev, ev_tail, G_N_ELEMENTS(ev_tail));
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

/* An integer member; with @nullable, null reads as SPTE_MIRROR_NONE. */
static gboolean get_int(JsonObject *o, guint i, const char *member,
			gboolean nullable, guint64 *out, GError **error)
{
	return spte_json_member_int(o, "events", i, member, nullable,
				    SPTE_MIRROR_NONE, out, error);
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

/* A member that holds a code by its name (or its number). */
struct coded_member {
	const char *member;
	const char *expected;	/* for a member of the wrong kind */
	const char *kind;	/* for a name that is none */
	int (*from_name)(const char *name);
	gboolean nullable;	/* null reads as SPTE_EV_NONE */
};

static const struct coded_member callback_member = {
	.member = "callback",
	.expected = "a callback name such as \"change_pte\"",
	.kind = "a callback name",
	.from_name = spte_mirror_callback_from_name,
};

static const struct coded_member event_member = {
	.member = "event",
	.expected = "an event name such as \"CLEAR\" or null",
	.kind = "an event name",
	.from_name = spte_mirror_event_from_name,
	.nullable = TRUE,
};

static gboolean get_coded(JsonObject *o, guint i,
			  const struct coded_member *c, guint32 *out,
			  GError **error)
{
	JsonNode *n = json_object_get_member(o, c->member);
	int code;

	if (n && c->nullable && JSON_NODE_HOLDS_NULL(n)) {
		*out = SPTE_EV_NONE;
		return TRUE;
	}
	if (n && spte_json_is_int(n))
		return get_u32(o, i, c->member, out, error);
	if (!n || !spte_json_is_string(n))
		return spte_json_member_error(error, "events", i, c->member,
					      c->expected, n);
	code = c->from_name(json_node_get_string(n));
	if (code < 0) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "events[%u]: '%s' \"%s\" is not %s", i, c->member,
			    json_node_get_string(n), c->kind);
		return FALSE;
	}
	*out = code;
	return TRUE;
}

static gboolean flag_from_name(const char *name, guint32 *bit)
{
	guint64 v;
	char *end;

	*bit = spte_flag_bit(event_flags, name);
	if (*bit)
		return TRUE;
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
		return spte_json_member_error(error, "events", i, "flags",
				    "an array of flag names", n);
	a = json_node_get_array(n);
	*out = 0;
	for (guint k = 0; k < json_array_get_length(a); k++) {
		JsonNode *f = json_array_get_element(a, k);
		guint32 bit;

		if (!spte_json_is_string(f) ||
		    !flag_from_name(json_node_get_string(f), &bit)) {
			g_autofree char *names =
				spte_flag_names_list(event_flags);

			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "events[%u]: 'flags'[%u] is not one of %s",
				    i, k, names);
			return FALSE;
		}
		*out |= bit;
	}
	return TRUE;
}

static gboolean get_members(JsonObject *o, guint i,
			    struct spte_mirror_event *ev,
			    const struct ev_member *m, guint n, GError **error)
{
	for (guint k = 0; k < n; k++) {
		guint64 v;

		if (!get_int(o, i, m[k].name, m[k].nullable, &v, error))
			return FALSE;
		memcpy(G_STRUCT_MEMBER_P(ev, m[k].offset), &v, sizeof(v));
	}
	return TRUE;
}

static gboolean event_from_json(JsonNode *node, guint i,
				struct spte_mirror_event *ev, GError **error)
{
	JsonObject *o = spte_json_record(node, "events", i, "an event object",
					 error);
	guint64 result;

	if (!o)
		return FALSE;
	memset(ev, 0, sizeof(*ev));
	if (!get_members(o, i, ev, ev_head, G_N_ELEMENTS(ev_head), error) ||
	    !get_members(o, i, ev, ev_tail, G_N_ELEMENTS(ev_tail), error))
		return FALSE;
	if (!get_coded(o, i, &callback_member, &ev->callback, error) ||
	    !get_coded(o, i, &event_member, &ev->event, error) ||
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
			    array ? spte_json_node_kind(array) : "nothing");
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

struct tl {
	const struct spte_mirror_event *ev;
	guint n;
	guint64 t0_ns;
	gboolean brief;		/* rows for a column of spte compare */
	int *match;		/* start <-> end, -1 if not in the log */
	guint *depth;
	guint *lost;		/* records 0..i after a gap or a DROPPED */
	guint *shown;		/* indices of the records the filter keeps */
	guint nshown;
};

/* What the blocks of a fold hold at one place of the block. */
struct tl_across {
	guint blocks;
	guint64 old_min, old_max, new_min, new_max;
	guint old_distinct, new_distinct;
	guint young;		/* records with a young result */
	double ms_min, ms_max;	/* an end: how long after its start */
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

static struct spte_fold_place event_where(const struct spte_mirror_event *e)
{
	return (struct spte_fold_place){
		.hva_start = e->hva_start, .hva_end = e->hva_end,
		.has_gpa = has_gpa(e),
		.gpa_start = e->gpa_start, .gpa_end = e->gpa_end,
	};
}

static gboolean is_young_cb(guint32 cb)
{
	return cb == SPTE_CB_CLEAR_FLUSH_YOUNG || cb == SPTE_CB_CLEAR_YOUNG ||
	       cb == SPTE_CB_TEST_YOUNG;
}

static gboolean is_named_cb(guint32 cb)
{
	return strcmp(spte_mirror_callback_name(cb), "unknown") != 0;
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

/* lost[i]: how many places in records 0..i lost records (or joined logs). */
static void tl_count_losses(struct tl *t)
{
	for (guint i = 0; i < t->n; i++) {
		const struct spte_mirror_event *e = &t->ev[i];
		gboolean loss = e->callback == SPTE_CB_DROPPED ||
			(i && (t->ev[i - 1].callback == SPTE_CB_DROPPED ||
			       e->seq != t->ev[i - 1].seq + 1));

		t->lost[i] = (i ? t->lost[i - 1] : 0) + loss;
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

/*
 * Two shown records are the same step if everything but their place and
 * what is particular to the page (its PFNs, whether it was young, the
 * time) is equal, a start still closed by the end as far after it.  The
 * place is the GPA range, the HVA range moving with it; outside guest
 * memory, the HVA range alone.
 */
static gboolean tl_same(gconstpointer data, guint a, guint b, gint64 *delta)
{
	const struct tl *t = data;
	guint ia = t->shown[a], ib = t->shown[b];
	const struct spte_mirror_event *x = &t->ev[ia], *y = &t->ev[ib];
	struct spte_fold_place px, py;

	if (x->callback == SPTE_CB_DROPPED || !is_named_cb(x->callback))
		return FALSE;
	if (x->callback != y->callback || x->event != y->event ||
	    x->flags != y->flags || x->leaves != y->leaves ||
	    t->depth[ia] != t->depth[ib])
		return FALSE;
	if (!is_young_cb(x->callback) && x->result != y->result)
		return FALSE;
	if ((x->old_pfn == SPTE_MIRROR_NONE) != (y->old_pfn == SPTE_MIRROR_NONE) ||
	    (x->new_pfn == SPTE_MIRROR_NONE) != (y->new_pfn == SPTE_MIRROR_NONE))
		return FALSE;
	if ((t->match[ia] < 0) != (t->match[ib] < 0) ||
	    (t->match[ia] >= 0 &&
	     t->match[ia] - (int)ia != t->match[ib] - (int)ib))
		return FALSE;
	px = event_where(x);
	py = event_where(y);
	return spte_fold_same_place(&px, &py, delta);
}

/* Nothing lost between shown record k - 1 and shown record k. */
static gboolean tl_joins(gconstpointer data, guint k)
{
	const struct tl *t = data;

	return t->lost[t->shown[k]] == t->lost[t->shown[k - 1]];
}

static gint64 tl_place(gconstpointer data, guint k)
{
	const struct tl *t = data;
	struct spte_fold_place p = event_where(&t->ev[t->shown[k]]);

	return spte_fold_place_addr(&p);
}

static const struct spte_fold_ops tl_fold_ops = {
	.same = tl_same,
	.joins = tl_joins,
	.addr = tl_place,
};

/*
 * A range over the whole address space: ->release, and from 6.6 the
 * secondary-TLB call of a flush that is not by range (reclaim's and
 * migration's batched flushes, arch_tlbbatch_add_pending(): 0 to ~0UL).
 * It meets every slot, which alone would make it look like one of guest
 * RAM.
 */
static gboolean whole_mm(const struct spte_mirror_event *e)
{
	return !e->hva_start && e->hva_end >= G_GUINT64_CONSTANT(1) << 47;
}

/* Guest pages a record's GPA range covers. */
static guint64 gpa_pages(const struct spte_mirror_event *e)
{
	return (e->gpa_end - e->gpa_start + 4095) >> 12;
}

static void append_range(GString *out, const struct spte_mirror_event *a,
			 const struct spte_mirror_event *b, gboolean brief)
{
	if (has_gpa(a)) {
		guint64 pages = (b->gpa_end - a->gpa_start + 4095) >> 12;

		g_string_append_printf(out, "gpa 0x%" G_GINT64_MODIFIER "x-0x%"
				       G_GINT64_MODIFIER "x",
				       (guint64)a->gpa_start,
				       (guint64)b->gpa_end - 1);
		if (!brief)
			g_string_append_printf(out, " (%" G_GUINT64_FORMAT
					       " %s%s)", pages,
					       plural(pages, "page", "pages"),
					       whole_mm(a) && a->callback !=
					       SPTE_CB_RELEASE ?
					       ": the whole address space" : "");
	} else if (brief) {
		/* an HVA means nothing on another kernel */
		g_string_append(out, "outside slots");
	} else {
		g_string_append_printf(out, "outside slots, hva 0x%"
				       G_GINT64_MODIFIER "x-0x%"
				       G_GINT64_MODIFIER "x",
				       (guint64)a->hva_start,
				       (guint64)b->hva_end - 1);
	}
}

/* A PFN, or what the blocks of a fold had in its place. */
static void append_pfn(GString *out, guint64 pfn, guint64 min, guint64 max,
		       guint distinct, gboolean brief)
{
	if (distinct > 1 && brief)
		g_string_append_printf(out, "%u pfns", distinct);
	else if (distinct > 1)
		g_string_append_printf(out, "0x%" G_GINT64_MODIFIER "x-0x%"
				       G_GINT64_MODIFIER "x (%u distinct)",
				       min, max, distinct);
	else if (pfn == SPTE_MIRROR_NONE)
		g_string_append(out, "none");
	else
		g_string_append_printf(out, "0x%" G_GINT64_MODIFIER "x", pfn);
}

/* A record's old PFN; with @x, what every block of its fold had there. */
static void append_old_pfn(GString *out, const struct spte_mirror_event *e,
			   const struct tl_across *x, gboolean brief)
{
	append_pfn(out, e->old_pfn, x ? x->old_min : 0, x ? x->old_max : 0,
		   x ? x->old_distinct : 1, brief);
}

/* A change_pte's old -> new PFN, alone or across the blocks of a fold. */
static void append_pfn_change(GString *out, const struct spte_mirror_event *e,
			      const struct tl_across *x, gboolean brief)
{
	append_old_pfn(out, e, x, brief);
	g_string_append(out, " -> ");
	append_pfn(out, e->new_pfn, x ? x->new_min : 0, x ? x->new_max : 0,
		   x ? x->new_distinct : 1, brief);
}

static double ms_between(guint64 from, guint64 to)
{
	return (double)(gint64)(to - from) / 1e6;
}

static void append_young(GString *out, const struct spte_mirror_event *e,
			 const struct tl_across *x)
{
	if (!x)
		g_string_append(out, e->result ? "young" : "old");
	else if (!x->young || x->young == x->blocks)
		g_string_append(out, x->young ? "young" : "old");
	else
		g_string_append_printf(out, "young in %u of %u", x->young,
				       x->blocks);
}

/* What a record did, after its callback name and range, as short as can be. */
static void tl_brief_detail(const struct tl *t, guint i,
			    const struct tl_across *x, GString *out)
{
	const struct spte_mirror_event *e = &t->ev[i];
	gboolean skipped = e->flags & SPTE_EVF_SKIPPED;

	switch (e->callback) {
	case SPTE_CB_INVALIDATE_RANGE_START:
		if (skipped)
			g_string_append(out, " SKIPPED");
		else if (e->leaves)
			g_string_append_printf(out, " zapped %" G_GUINT64_FORMAT,
					       (guint64)e->leaves);
		else if (has_gpa(e))
			g_string_append(out, " nothing mapped");
		break;
	case SPTE_CB_CHANGE_PTE:
		g_string_append(out, " pfn ");
		append_pfn_change(out, e, x, TRUE);
		if (skipped)
			g_string_append(out, " SKIPPED");
		break;
	case SPTE_CB_CLEAR_FLUSH_YOUNG:
	case SPTE_CB_CLEAR_YOUNG:
	case SPTE_CB_TEST_YOUNG:
		g_string_append_c(out, ' ');
		append_young(out, e, x);
		break;
	case SPTE_CB_RELEASE:
		g_string_append_printf(out, " zapped %" G_GUINT64_FORMAT,
				       (guint64)e->leaves);
		break;
	default:
		break;
	}
	if (e->result && !is_young_cb(e->callback))
		g_string_append_printf(out, " result %d", e->result);
}

/*
 * What one record did, after its callback name and range; with @x, the
 * record stands for its place in every block of a fold, and PFNs, young
 * bits and durations are said for all of them.
 */
static void tl_detail(const struct tl *t, guint i, const struct tl_across *x,
		      GString *out)
{
	const struct spte_mirror_event *e = &t->ev[i];
	gboolean skipped = e->flags & SPTE_EVF_SKIPPED;

	if (t->brief) {
		tl_brief_detail(t, i, x, out);
		return;
	}
	switch (e->callback) {
	case SPTE_CB_INVALIDATE_RANGE_START:
		if (skipped) {
			g_string_append_printf(out, "  SKIPPED (skip_invalidate=1): "
					       "%" G_GUINT64_FORMAT " %s left "
					       "mapped, stale",
					       (guint64)e->leaves,
					       plural(e->leaves, "leaf", "leaves"));
		} else if (e->leaves) {
			g_string_append_printf(out, "  zapped %" G_GUINT64_FORMAT
					       " %s, first pfn ",
					       (guint64)e->leaves,
					       plural(e->leaves, "leaf", "leaves"));
			append_old_pfn(out, e, x, FALSE);
		} else if (has_gpa(e)) {
			g_string_append(out, "  nothing mapped");
		}
		if (t->match[i] < 0)
			g_string_append(out, "  (no matching end in the log)");
		break;
	case SPTE_CB_INVALIDATE_RANGE_END:
		if (t->match[i] < 0) {
			g_string_append(out, "  (its start is not in the log)");
			break;
		}
		g_string_append_printf(out, "  closes #%" G_GUINT64_FORMAT,
				       (guint64)t->ev[t->match[i]].seq);
		if (x && x->ms_min != x->ms_max)
			g_string_append_printf(out, " after %.3f-%.3f ms",
					       x->ms_min, x->ms_max);
		else
			g_string_append_printf(out, " after %.3f ms",
					       ms_between(t->ev[t->match[i]].time_ns,
							  e->time_ns));
		break;
	case SPTE_CB_CHANGE_PTE:
		g_string_append(out, "  pfn ");
		append_pfn_change(out, e, x, FALSE);
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
		g_string_append(out, "  ");
		append_young(out, e, x);
		g_string_append_printf(out, ", %" G_GUINT64_FORMAT " %s %s",
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

static void tl_name(const struct tl *t, const struct spte_mirror_event *e,
		    GString *out)
{
	g_string_append(out, spte_mirror_callback_name(e->callback));
	if (e->event != SPTE_EV_NONE)
		g_string_append_printf(out, " %s",
				       spte_mirror_event_name(e->event));
	if (e->callback <= SPTE_CB_INVALIDATE_RANGE_END &&
	    !(e->flags & SPTE_EVF_BLOCKABLE))
		g_string_append(out, " (non-blockable)");
	g_string_append(out, t->brief ? " " : "  ");
}

static void tl_bars(const struct tl *t, guint i, GString *out)
{
	for (guint d = 0; d < t->depth[i]; d++)
		g_string_append(out, "|   ");
}

/* The step a record is, for lining up two kernels' logs. */
static char *tl_key(const struct tl *t, char kind, guint i)
{
	const struct spte_mirror_event *e = &t->ev[i];

	if (e->callback == SPTE_CB_DROPPED)
		return g_strdup("dropped");
	if (!has_gpa(e))
		return g_strdup_printf("%c %u %u %u outside", kind, t->depth[i],
				       e->callback, e->event);
	return g_strdup_printf("%c %u %u %u %" G_GINT64_MODIFIER "x-%"
			       G_GINT64_MODIFIER "x", kind, t->depth[i],
			       e->callback, e->event, (guint64)e->gpa_start,
			       (guint64)e->gpa_end);
}

static char *tl_when(const struct tl *t, guint i)
{
	return g_strdup_printf("%+10.3f ms", ms_between(t->t0_ns,
							t->ev[i].time_ns));
}

static char *tl_seq(const struct tl *t, guint first, guint last)
{
	if (first == last)
		return g_strdup_printf("#%" G_GUINT64_FORMAT,
				       (guint64)t->ev[first].seq);
	return g_strdup_printf("#%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT,
			       (guint64)t->ev[first].seq,
			       (guint64)t->ev[last].seq);
}

static void tl_add(GPtrArray *rows, enum spte_row_kind kind, char *when,
		   char *seq, GString *text, char *key)
{
	g_ptr_array_add(rows, spte_row_new(kind, when, seq,
					   g_string_free(text, FALSE), key));
	g_free(when);
	g_free(seq);
}

/* One record, not folded. */
static void tl_record(const struct tl *t, guint i, enum spte_row_kind kind,
		      const struct tl_across *x, GPtrArray *rows)
{
	const struct spte_mirror_event *e = &t->ev[i];
	GString *text = g_string_new(kind == SPTE_ROW_BLOCK ? "  " : NULL);
	char buf[256];

	tl_bars(t, i, text);
	if (e->callback == SPTE_CB_DROPPED) {
		g_string_append_printf(text, "!!!!! DROPPED %" G_GUINT64_FORMAT
				       " %s (#%" G_GUINT64_FORMAT "-%"
				       G_GUINT64_FORMAT ")", (guint64)e->leaves,
				       plural(e->leaves, "record", "records"),
				       (guint64)(e->seq - e->leaves + 1),
				       (guint64)e->seq);
		if (!t->brief)
			g_string_append(text, ": the log ring overflowed, "
					"callbacks are missing here !!!!!");
	} else if (!is_named_cb(e->callback)) {
		g_string_append(text, spte_mirror_event_format(e, buf,
							       sizeof(buf)));
	} else {
		tl_name(t, e, text);
		append_range(text, e, e, t->brief);
		tl_detail(t, i, x, text);
	}
	tl_add(rows, kind, kind == SPTE_ROW_BLOCK ? g_strdup("") : tl_when(t, i),
	       tl_seq(t, i, i), text, tl_key(t, kind == SPTE_ROW_BLOCK ? 'b' :
					     'r', i));
}

/*
 * A fold's first record's address: GPA inside guest memory, else HVA,
 * which brief rows leave out (*space NULL, 0), text and key alike: an
 * HVA means nothing next to another kernel's run.
 */
static guint64 tl_addr(const struct tl *t, const struct spte_mirror_event *e,
		       const char **space)
{
	if (has_gpa(e)) {
		*space = "gpa";
		return e->gpa_start;
	}
	*space = t->brief ? NULL : "hva";
	return t->brief ? 0 : e->hva_start;
}

/* Records that repeat one by one: one line, totals for all. */
static void tl_run(const struct tl *t, const struct spte_fold *f,
		   GPtrArray *rows)
{
	guint first = t->shown[f->first];
	guint last = t->shown[f->first + f->count - 1];
	const struct spte_mirror_event *a = &t->ev[first], *z = &t->ev[last];
	guint64 size = a->hva_end - a->hva_start;
	guint64 leaves = 0, young = 0;
	GString *text = g_string_new(NULL);
	struct spte_row *r;
	const char *space;
	guint64 addr = tl_addr(t, a, &space);

	for (guint k = f->first; k < f->first + f->count; k++) {
		leaves += t->ev[t->shown[k]].leaves;
		young += t->ev[t->shown[k]].result != 0;
	}
	tl_bars(t, first, text);
	tl_name(t, a, text);
	if (f->stride == (gint64)size && !t->brief) {
		/* the records tile a range: say which */
		g_string_append_printf(text, "\u00d7%u over ", f->count);
		append_range(text, a, z, FALSE);
	} else if (!f->stride && has_gpa(a) && !t->brief) {
		/* one range, again and again */
		g_string_append_printf(text, "\u00d7%u, each ", f->count);
		append_range(text, a, a, FALSE);
	} else {
		spte_fold_append_range(text, space, addr, f);
		if (!space)
			g_string_append(text, " outside slots");
		if (has_gpa(a) && !t->brief)
			g_string_append_printf(text, " (%" G_GUINT64_FORMAT
					       " %s each%s)", gpa_pages(a),
					       plural(gpa_pages(a), "page",
						      "pages"),
					       whole_mm(a) ?
					       ": the whole address space" : "");
	}
	if (is_young_cb(a->callback))
		g_string_append_printf(text, t->brief ? " %" G_GUINT64_FORMAT
				       " young, %" G_GUINT64_FORMAT " old" :
				       "  %" G_GUINT64_FORMAT " young, %"
				       G_GUINT64_FORMAT " old", young,
				       (guint64)f->count - young);
	if (!t->brief) {
		if (is_young_cb(a->callback))
			g_string_append_printf(text, ", %" G_GUINT64_FORMAT
					       " %s %s", leaves,
					       plural(leaves, "leaf", "leaves"),
					       a->callback == SPTE_CB_TEST_YOUNG ?
					       "tested" : "aged");
		else if (leaves)
			g_string_append_printf(text, "  %" G_GUINT64_FORMAT
					       " %s", leaves,
					       plural(leaves, "leaf", "leaves"));
		g_string_append_printf(text, "  [%.3f ms]",
				       ms_between(a->time_ns, z->time_ns));
	}
	tl_add(rows, SPTE_ROW_RUN, tl_when(t, first), tl_seq(t, first, last),
	       text, g_strdup_printf("R %u %u %u %u %" G_GINT64_MODIFIER "x %"
				     G_GINT64_MODIFIER "d %" G_GINT64_MODIFIER
				     "x", t->depth[first], a->callback,
				     a->event, f->count, addr,
				     space ? f->stride : 0, size));
	r = rows->pdata[rows->len - 1];
	r->records = f->count;
	r->count = f->count;
	r->stride = f->stride;
	r->first_addr = addr;
}

static int cmp_u64(gconstpointer a, gconstpointer b)
{
	guint64 x = *(const guint64 *)a, y = *(const guint64 *)b;

	return (x > y) - (x < y);
}

/* Sort @v (SPTE_MIRROR_NONE for none) and say its range and distinct count. */
static void pfn_set(GArray *v, guint64 *min, guint64 *max, guint *distinct)
{
	g_array_sort(v, cmp_u64);
	*min = g_array_index(v, guint64, 0);
	*max = g_array_index(v, guint64, v->len - 1);
	*distinct = 1;
	for (guint k = 1; k < v->len; k++)
		*distinct += g_array_index(v, guint64, k) !=
			     g_array_index(v, guint64, k - 1);
}

/* Place @j of every block of @f. */
static void tl_across(const struct tl *t, const struct spte_fold *f, guint j,
		      struct tl_across *x)
{
	g_autoptr(GArray) olds = g_array_new(FALSE, FALSE, sizeof(guint64));
	g_autoptr(GArray) news = g_array_new(FALSE, FALSE, sizeof(guint64));

	*x = (struct tl_across){ .blocks = f->count, .ms_min = G_MAXDOUBLE,
				 .ms_max = -G_MAXDOUBLE };
	for (guint k = 0; k < f->count; k++) {
		guint i = t->shown[f->first + k * f->period + j];
		const struct spte_mirror_event *e = &t->ev[i];

		g_array_append_val(olds, e->old_pfn);
		g_array_append_val(news, e->new_pfn);
		x->young += e->result != 0;
		if (e->callback == SPTE_CB_INVALIDATE_RANGE_END &&
		    t->match[i] >= 0) {
			double ms = ms_between(t->ev[t->match[i]].time_ns,
					       e->time_ns);

			x->ms_min = MIN(x->ms_min, ms);
			x->ms_max = MAX(x->ms_max, ms);
		}
	}
	pfn_set(olds, &x->old_min, &x->old_max, &x->old_distinct);
	pfn_set(news, &x->new_min, &x->new_max, &x->new_distinct);
}

/* A block repeated: the ×N line, then the first block's records. */
static void tl_fold(const struct tl *t, const struct spte_fold *f,
		    GPtrArray *rows)
{
	guint first = t->shown[f->first];
	guint last = t->shown[f->first + f->period * f->count - 1];
	const struct spte_mirror_event *a = &t->ev[first];
	GString *text = g_string_new(NULL);
	struct spte_row *r;
	const char *space;
	guint64 addr = tl_addr(t, a, &space);

	tl_bars(t, first, text);
	spte_fold_append_range(text, space, addr, f);
	if (!space)
		g_string_append(text, " outside slots");
	g_string_append_printf(text, ", %u %s", f->period,
			       t->brief ? "each" : "records each");
	if (!t->brief)
		g_string_append_printf(text, "  [%.3f ms]",
				       ms_between(a->time_ns,
						  t->ev[last].time_ns));
	tl_add(rows, SPTE_ROW_FOLD, tl_when(t, first), tl_seq(t, first, last),
	       text, g_strdup_printf("F %u %u %" G_GINT64_MODIFIER "x %"
				     G_GINT64_MODIFIER "d", t->depth[first],
				     f->count, addr, space ? f->stride : 0));
	r = rows->pdata[rows->len - 1];
	r->records = f->period * f->count;
	r->count = f->count;
	r->period = f->period;
	r->stride = f->stride;
	r->first_addr = addr;
	for (guint j = 0; j < f->period; j++) {
		struct tl_across x;

		tl_across(t, f, j, &x);
		tl_record(t, t->shown[f->first + j], SPTE_ROW_BLOCK, &x, rows);
	}
}

/* Records the log lost without a DROPPED record saying so. */
static void tl_gap(const struct tl *t, guint i, guint64 *expect,
		   GPtrArray *rows)
{
	const struct spte_mirror_event *e = &t->ev[i];
	guint64 first = e->seq;
	char *text = NULL;

	if (e->callback == SPTE_CB_DROPPED)
		first = e->seq - e->leaves + 1;
	if (i > 0 && first == *expect + 1)
		text = g_strdup_printf("!!!!! seq gap: #%" G_GUINT64_FORMAT
				       " (1 record) is not in this log !!!!!",
				       *expect);
	else if (i > 0 && first > *expect)
		text = g_strdup_printf("!!!!! seq gap: #%" G_GUINT64_FORMAT
				       "-%" G_GUINT64_FORMAT " (%"
				       G_GUINT64_FORMAT " records) are not in "
				       "this log !!!!!", *expect, first - 1,
				       first - *expect);
	else if (i > 0 && first < *expect)
		text = g_strdup_printf("!!!!! seq goes back from #%"
				       G_GUINT64_FORMAT " to #%"
				       G_GUINT64_FORMAT ": two logs joined? "
				       "!!!!!", *expect - 1, first);
	if (text)
		g_ptr_array_add(rows, spte_row_new(SPTE_ROW_NOTE, "", "", text,
						   g_strdup("gap")));
	*expect = (guint64)e->seq + 1;
}

GPtrArray *spte_timeline_rows(const struct spte_mirror_event *ev, guint n,
			      guint64 t0_ns,
			      const struct spte_timeline_filter *filter,
			      gboolean brief)
{
	g_autofree int *match = g_new(int, n ? n : 1);
	g_autofree guint *depth = g_new(guint, n ? n : 1);
	g_autofree guint *lost = g_new(guint, n ? n : 1);
	g_autofree guint *shown = g_new(guint, n ? n : 1);
	g_autoptr(GArray) folds = NULL;
	GPtrArray *rows = spte_rows_new();
	struct tl t = { ev, n, t0_ns, brief, match, depth, lost, shown, 0 };
	guint64 expect = 0;
	guint k = 0;

	tl_nest(&t);
	tl_count_losses(&t);
	for (guint i = 0; i < n; i++)
		if (tl_shown(&ev[i], filter))
			shown[t.nshown++] = i;
	folds = spte_fold_find(t.nshown, &tl_fold_ops, &t);
	/* gaps print where they are; no fold reaches across one */
	for (guint i = 0; i < n; i++) {
		const struct spte_fold *f;

		tl_gap(&t, i, &expect, rows);
		if (k >= folds->len)
			continue;
		f = &g_array_index(folds, struct spte_fold, k);
		if (shown[f->first] != i)
			continue;
		if (f->count == 1)
			tl_record(&t, i, SPTE_ROW_RECORD, NULL, rows);
		else if (f->period == 1)
			tl_run(&t, f, rows);
		else
			tl_fold(&t, f, rows);
		k++;
	}
	return rows;
}

guint *spte_timeline_depths(const struct spte_mirror_event *ev, guint n)
{
	g_autofree int *match = g_new(int, n ? n : 1);
	guint *depth = g_new(guint, n ? n : 1);
	struct tl t = { .ev = ev, .n = n, .match = match, .depth = depth };

	tl_nest(&t);
	return depth;
}

void spte_timeline_format_filtered(const struct spte_mirror_event *ev,
				   guint n, guint64 t0_ns,
				   const struct spte_timeline_filter *filter,
				   GString *out)
{
	g_autoptr(GPtrArray) rows = spte_timeline_rows(ev, n, t0_ns, filter,
						       FALSE);
	gboolean any = FALSE;

	for (guint i = 0; i < rows->len && !any; i++)
		any = ((struct spte_row *)rows->pdata[i])->kind != SPTE_ROW_NOTE;
	if (!any) {
		g_string_append(out, n ? "(no record matches the filter)\n" :
				"(no events)\n");
		return;
	}
	spte_rows_format(rows, "", out);
}

void spte_timeline_format(const struct spte_mirror_event *ev, guint n,
			  guint64 t0_ns, GString *out)
{
	spte_timeline_format_filtered(ev, n, t0_ns, NULL, out);
}
