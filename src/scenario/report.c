// SPDX-License-Identifier: GPL-2.0
/*
 * The report of a scenario run (docs/dump-format.md): built once from the
 * session at the end of the run, written as JSON or drawn as SVG.
 */
#include "dump_json.h"
#include "json_member.h"
#include "kvm_leaves.h"
#include "kvm_snapshot_json.h"
#include "kvm_trace.h"
#include "report.h"
#include "spte_error.h"
#include "svg.h"
#include "timeline.h"

/*
 * KVM's own leaves: at each named dump, and how far the model could be
 * trusted over the run; or why they were not tracked, so a reader of the
 * report does not take their absence for no leaves.
 */
static void add_kvm_leaves(JsonBuilder *b, const struct spte_session *s)
{
	const struct spte_kvm_self_checks *k = &s->kvm_self;

	if (!s->kvm_leaves) {
		g_autofree char *why = g_strdup_printf("not tracked: %s",
			s->kvm_leaves_why ? s->kvm_leaves_why :
			"no step asked for them");

		spte_json_add_string(b, "kvm_leaves", why);
		return;
	}
	spte_json_add_counts(b, "kvm_self_checks",
			     (const struct spte_json_count[]){
		{ "checks", k->checks },
		{ "matched", k->matched },
		{ "mismatched", k->mismatched },
		{ "incomplete", k->incomplete },
		{ "unverified", k->unverified },
		{ NULL },
	});
	json_builder_set_member_name(b, "kvm_dumps");
	json_builder_begin_object(b);
	for (guint i = 0; i < s->dumps->len; i++) {
		const struct spte_named_dump *d = s->dumps->pdata[i];

		if (!d->kvm)
			continue;
		json_builder_set_member_name(b, d->name);
		json_builder_add_value(b, spte_kvm_snapshot_to_json(d->kvm));
	}
	json_builder_end_object(b);
}

JsonNode *spte_report_build(const struct spte_scenario *sc,
			    struct spte_session *s, const char *kernel)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	spte_json_add_string(b, "scenario", sc->name);
	spte_json_add_string(b, "summary", sc->summary);
	spte_json_add_string(b, "kernel", kernel);
	spte_json_add_bool(b, "passed", s->ok);
	json_builder_set_member_name(b, "memory");
	json_builder_begin_object(b);
	spte_json_add_int(b, "size", s->vm ? (gint64)s->vm->ram.size : 0);
	spte_json_add_string(b, "backing", s->vm ?
			     spte_backing_name(s->vm->ram.backing) : "none");
	json_builder_end_object(b);
	json_builder_set_member_name(b, "callbacks");
	json_builder_begin_array(b);
	for (guint cb = 0; cb < SPTE_CB_DROPPED; cb++)
		if (s->callbacks & (1ULL << cb))
			json_builder_add_string_value(b,
				spte_mirror_callback_name(cb));
	json_builder_end_array(b);
	if (sc->sequence)
		spte_json_add_string(b, "sequence", sc->sequence);
	json_builder_set_member_name(b, "checks");
	json_builder_begin_array(b);
	for (guint i = 0; i < s->checks->len; i++) {
		const struct spte_check *c = s->checks->pdata[i];

		json_builder_begin_object(b);
		spte_json_add_string(b, "name", c->name);
		spte_json_add_int(b, "line", c->line);
		spte_json_add_bool(b, "passed", c->passed);
		spte_json_add_string(b, "detail", c->detail);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "events");
	json_builder_add_value(b, spte_events_to_json(
		(const struct spte_mirror_event *)s->events->data,
		s->events->len));
	if (s->kvm_trace && s->vm) {
		g_autoptr(GPtrArray) recs = spte_kvm_trace_collect(s->kvm_trace);

		/* GPAs: the HVAs of another run, or kernel, mean nothing */
		for (guint i = 0; i < recs->len; i++)
			spte_kvm_trace_set_gpa(recs->pdata[i],
					       (guintptr)s->vm->ram.hva,
					       s->vm->ram.size, s->vm->ram.gpa);
		json_builder_set_member_name(b, "kvm_trace");
		json_builder_add_value(b, spte_kvm_trace_to_json(recs));
	}
	json_builder_set_member_name(b, "dumps");
	json_builder_begin_object(b);
	for (guint i = 0; i < s->dumps->len; i++) {
		const struct spte_named_dump *d = s->dumps->pdata[i];

		json_builder_set_member_name(b, d->name);
		json_builder_add_value(b, spte_dump_to_json(d->table));
	}
	json_builder_end_object(b);
	add_kvm_leaves(b, s);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

gboolean spte_report_passed(JsonNode *report)
{
	JsonObject *o = json_node_get_object(report);

	return json_object_get_boolean_member_with_default(o, "passed", FALSE);
}

gboolean spte_report_write_svg(JsonNode *report, const char *path,
			       GError **error)
{
	JsonObject *o = json_node_get_object(report);
	JsonObject *dumps = json_object_get_object_member(o, "dumps");
	JsonObject *kvm_dumps = json_object_has_member(o, "kvm_dumps") ?
		json_object_get_object_member(o, "kvm_dumps") : NULL;
	const char *name = json_object_get_string_member(o, "scenario");
	JsonObject *mem = json_object_get_object_member(o, "memory");
	g_autoptr(GList) names = json_object_get_members(dumps);
	g_autoptr(GPtrArray) tables = g_ptr_array_new_with_free_func(
		(GDestroyNotify)spte_mirror_table_free);
	g_autoptr(GPtrArray) kvm = g_ptr_array_new_with_free_func(
		(GDestroyNotify)spte_kvm_snapshot_free);
	g_autoptr(GPtrArray) labels = g_ptr_array_new();
	g_autofree char *svg = NULL;

	for (GList *l = names; l; l = l->next) {
		struct spte_mirror_table *t = spte_dump_from_json(
			json_object_get_member(dumps, l->data), error);
		JsonNode *k = kvm_dumps ?
			json_object_get_member(kvm_dumps, l->data) : NULL;
		struct spte_kvm_snapshot *snap = NULL;

		if (!t)
			return FALSE;
		g_ptr_array_add(tables, t);
		if (k && !(snap = spte_kvm_snapshot_from_json(k, error))) {
			g_prefix_error(error, "kvm_dumps.%s: ",
				       (const char *)l->data);
			return FALSE;
		}
		/* NULL too: KVM's grid is drawn beside the dumps that have it */
		g_ptr_array_add(kvm, snap);
		g_ptr_array_add(labels, l->data);
	}
	if (!tables->len) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "scenario %s kept no dumps to draw", name);
		return FALSE;
	}
	svg = spte_svg_render(name, json_object_get_int_member(mem, "size"),
			      (const struct spte_mirror_table *const *)
			      tables->pdata,
			      (const struct spte_kvm_snapshot *const *)
			      kvm->pdata,
			      (const char *const *)labels->pdata, tables->len,
			      error);
	return svg && g_file_set_contents(path, svg, -1, error);
}

gboolean spte_report_write_json(JsonNode *report, const char *path,
				GError **error)
{
	g_autofree char *text = json_to_string(report, TRUE);

	return g_file_set_contents(path, text, -1, error);
}
