// SPDX-License-Identifier: GPL-2.0
/*
 * A scenario report's KVM members (scenario/report.h): KVM's leaves at
 * each named dump that has them, the self-checks, or why KVM's leaves were
 * not tracked; and its SVG drawing KVM's grid beside those dumps.
 */
#include <glib/gstdio.h>
#include <stdlib.h>

#include "kvm_leaves.h"
#include "kvm_snapshot_json.h"
#include "report.h"
#include "spte-test.h"

static void add_dump(struct spte_session *s, const char *name,
		     const struct spte_kvm_leaves *kvm)
{
	struct spte_named_dump *d = g_new0(struct spte_named_dump, 1);

	d->name = g_strdup(name);
	/* an empty mirror table: the KVM members are under test */
	d->table = calloc(1, sizeof(*d->table));
	d->kvm = kvm ? spte_kvm_leaves_snapshot(kvm) : NULL;
	g_ptr_array_add(s->dumps, d);
}

static void session_init(struct spte_session *s)
{
	*s = (struct spte_session){
		.events = g_array_new(FALSE, TRUE,
				      sizeof(struct spte_mirror_event)),
		.dumps = g_ptr_array_new_with_free_func(spte_named_dump_free),
		.checks = g_ptr_array_new(),
		.ok = TRUE,
	};
}

static void session_clear(struct spte_session *s)
{
	g_array_unref(s->events);
	g_ptr_array_unref(s->dumps);
	g_ptr_array_unref(s->checks);
	g_free(s->kvm_leaves_why);
}

static const struct spte_scenario scenario = {
	.name = "kvm-report", .summary = "KVM's leaves in a report",
};

static void test_tracked(void)
{
	g_autoptr(spte_kvm_leaves) m = spte_kvm_leaves_new(SPTE_KVM_SPTE_X86);
	g_autoptr(spte_kvm_snapshot) back = NULL;
	g_autoptr(JsonNode) report = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL, *dir = NULL, *path = NULL;
	g_autofree char *svg = NULL;
	struct spte_session s;
	JsonObject *o, *kvm_dumps, *self;

	session_init(&s);
	/* the report asks only whether there is a tracker, not what it has */
	s.kvm_leaves = (struct spte_kvm_leaf_tracker *)&s;
	s.kvm_self = (struct spte_kvm_self_checks){ 5, 4, 0, 1 };
	spte_kvm_leaves_feed_text(m, SPTE_TEST_KVM_EV("1.000001", "gfn 0 "
		"level 1 old_spte 0 new_spte 3f9e9e67"));
	add_dump(&s, "before", m);
	spte_kvm_leaves_feed_text(m, SPTE_TEST_KVM_EV("1.000002", "gfn 1 "
		"level 1 old_spte 0 new_spte 3f9eae67"));
	add_dump(&s, "after", m);
	/* a dump taken while KVM's leaves were not kept has none */
	add_dump(&s, "mirror-only", NULL);
	report = spte_report_build(&scenario, &s, "6.1.0-test");
	text = json_to_string(report, TRUE);
	g_test_message("%s", text);
	o = json_node_get_object(report);
	g_assert_false(json_object_has_member(o, "kvm_leaves"));
	self = json_object_get_object_member(o, "kvm_self_checks");
	g_assert_cmpint(json_object_get_int_member(self, "checks"), ==, 5);
	g_assert_cmpint(json_object_get_int_member(self, "matched"), ==, 4);
	g_assert_cmpint(json_object_get_int_member(self, "mismatched"), ==, 0);
	g_assert_cmpint(json_object_get_int_member(self, "incomplete"), ==, 1);
	kvm_dumps = json_object_get_object_member(o, "kvm_dumps");
	g_assert_cmpuint(json_object_get_size(kvm_dumps), ==, 2);
	g_assert_false(json_object_has_member(kvm_dumps, "mirror-only"));
	back = spte_kvm_snapshot_from_json(
		json_object_get_member(kvm_dumps, "after"), &error);
	g_assert_no_error(error);
	g_assert_cmpuint(back->leaves->len, ==, 2);
	g_assert_cmphex(g_array_index(back->leaves, struct spte_kvm_leaf,
				      1).spte.pfn, ==, 0x3f9ea);

	dir = g_dir_make_tmp("spte-report-XXXXXX", &error);
	g_assert_no_error(error);
	path = g_build_filename(dir, "r.svg", NULL);
	g_assert_true(spte_report_write_svg(report, path, &error));
	g_assert_no_error(error);
	g_assert_true(g_file_get_contents(path, &svg, NULL, NULL));
	spte_assert_contains(svg, ">KVM at before<");
	spte_assert_contains(svg, ">KVM at after<");
	g_assert_null(strstr(svg, "KVM at mirror-only"));
	g_unlink(path);
	g_rmdir(dir);
	session_clear(&s);
}

static void test_not_tracked(void)
{
	const char *why[] = { "no kvmmmu events in tracefs", NULL };

	for (guint i = 0; i < G_N_ELEMENTS(why); i++) {
		g_autoptr(JsonNode) report = NULL;
		struct spte_session s;
		JsonObject *o;

		session_init(&s);
		s.kvm_leaves_why = g_strdup(why[i]);
		add_dump(&s, "after", NULL);
		report = spte_report_build(&scenario, &s, "6.12-test");
		o = json_node_get_object(report);
		g_assert_false(json_object_has_member(o, "kvm_dumps"));
		g_assert_false(json_object_has_member(o, "kvm_self_checks"));
		g_assert_cmpstr(json_object_get_string_member(o, "kvm_leaves"),
				==, why[i] ? "not tracked: no kvmmmu events in "
				"tracefs" : "not tracked: no step asked for "
				"them");
		session_clear(&s);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/report/kvm-tracked", test_tracked);
	g_test_add_func("/report/kvm-not-tracked", test_not_tracked);
	return g_test_run();
}
