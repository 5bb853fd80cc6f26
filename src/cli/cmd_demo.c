// SPDX-License-Identifier: GPL-2.0
/*
 * spte demo: the three scenarios that show why secondary MMUs need mmu
 * notifiers -- a KSM merge, a THP collapse and khugepaged asking the
 * mirror whether a page is young -- run in the lab VM, each followed by
 * what changed in the mirror and a PASS or FAIL; then the KSM merge once
 * more on every lab kernel, side by side (spte compare), where change_pte
 * is on one kernel and gone from the next.  Reports and pictures go to
 * --out.
 */
#include <stdio.h>

#include "cli.h"
#include "dump_json.h"
#include "dump_diff.h"
#include "lab.h"
#include "scenario_run.h"
#include "spte_error.h"

static const char *const demo_scenarios[] = {
	"ksm-merge", "thp-collapse", "khugepaged-young", NULL
};
/* What the demo ends with: it boots a lab per kernel, so from the host. */
static const char demo_compare[] = "ksm-merge";

struct demo_opts {
	gboolean here;
	char *out;
};

/* What happened to the mirror between the dumps "before" and "after". */
static void print_diff(JsonNode *report)
{
	JsonObject *dumps = json_object_get_object_member(
		json_node_get_object(report), "dumps");
	struct spte_mirror_table *before = NULL, *after = NULL;
	g_autoptr(GString) out = g_string_new(NULL);

	if (dumps && json_object_has_member(dumps, "before") &&
	    json_object_has_member(dumps, "after")) {
		before = spte_dump_from_json(json_object_get_member(dumps,
							"before"), NULL);
		after = spte_dump_from_json(json_object_get_member(dumps,
							"after"), NULL);
	}
	if (before && after) {
		g_autoptr(spte_dump_diff) d = spte_dump_diff_new(before, after);

		spte_dump_diff_format(d, out);
		printf("-- what changed in the mirror, before -> after:\n%s",
		       out->str);
	}
	spte_mirror_table_free(before);
	spte_mirror_table_free(after);
}

static gboolean run_one(const char *name, const char *out_dir,
			GError **error)
{
	struct spte_scenario_opts so = { 0 };
	g_autoptr(spte_scenario) sc = spte_scenario_load(name, error);
	g_autoptr(JsonNode) report = NULL;
	g_autofree char *base = NULL, *json = NULL, *svg = NULL;

	if (!sc)
		return FALSE;
	printf("\n");
	report = spte_scenario_run(sc, &so, error);
	if (!report)
		return FALSE;
	print_diff(report);
	base = g_build_filename(out_dir, name, NULL);
	json = g_strconcat(base, ".json", NULL);
	svg = g_strconcat(base, ".svg", NULL);
	if (!spte_report_write_json(report, json, error) ||
	    !spte_report_write_svg(report, svg, error))
		return FALSE;
	printf("-- report %s, picture %s\n", json, svg);
	printf("== %s: %s\n", name, spte_report_passed(report) ? "PASS" :
	       "FAIL");
	fflush(stdout);
	return spte_report_passed(report);
}

static int demo_here(const struct demo_opts *o, char **names)
{
	g_autoptr(GString) verdicts = g_string_new(NULL);
	gboolean all = TRUE;

	if (g_mkdir_with_parents(o->out, 0755)) {
		fprintf(stderr, "spte demo: cannot create %s: %s\n", o->out,
			g_strerror(errno));
		return 1;
	}
	for (guint i = 0; names[i]; i++) {
		g_autoptr(GError) error = NULL;
		gboolean passed = run_one(names[i], o->out, &error);

		if (error)
			fprintf(stderr, "spte demo: %s: %s\n", names[i],
				error->message);
		g_string_append_printf(verdicts, "  %-18s %s\n", names[i],
				       passed ? "PASS" : "FAIL");
		all &= passed;
	}
	printf("\nspte demo:\n%s", verdicts->str);
	return all ? 0 : 1;
}

/* The demo's last act: spte compare ksm-merge, reports in --out. */
static int demo_compare_kernels(const struct demo_opts *o)
{
	g_autofree char *json = g_strdup_printf("%s/compare-%s.json", o->out,
						demo_compare);
	char *argv[] = { (char *)"compare", (char *)demo_compare,
			 (char *)"--out", o->out, (char *)"--json", json, NULL };

	printf("\n== %s on every lab kernel, side by side (spte compare %s)\n",
	       demo_compare, demo_compare);
	fflush(stdout);
	return spte_cmd_compare(G_N_ELEMENTS(argv) - 1, argv);
}

int spte_cmd_demo(int argc, char **argv)
{
	struct demo_opts o = { 0 };
	const GOptionEntry entries[] = {
		{ "here", 0, 0, G_OPTION_ARG_NONE, &o.here,
		  "Run on this machine instead of the lab VM (needs the "
		  "spte_mirror module)", NULL },
		{ "out", 'o', 0, G_OPTION_ARG_FILENAME, &o.out,
		  "Where reports and pictures go (default: spte-demo)", "DIR" },
		{ NULL }
	};
	g_auto(GStrv) names = NULL;
	int ret = 2;

	if (!spte_cli_options("demo", &argc, &argv, entries,
		"[SCENARIO...] - KSM merge, THP collapse and khugepaged's "
		"test_young, in the lab VM",
		"Without SCENARIO, the demo then runs `spte compare ksm-merge`\n"
		"  from the host: the merge on every lab kernel, side by side.\n"))
		goto out;
	if (!o.out)
		o.out = g_strdup("spte-demo");
	names = argc > 1 ? g_strdupv(argv + 1) :
			   g_strdupv((char **)demo_scenarios);
	if (o.here) {
		ret = demo_here(&o, names);
	} else {
		g_autoptr(GStrvBuilder) b = g_strv_builder_new();
		g_auto(GStrv) lab_argv = NULL;

		g_strv_builder_add_many(b, "lab", "--", "spte", "demo",
					"--here", "--out", o.out, NULL);
		g_strv_builder_addv(b, (const char **)names);
		lab_argv = g_strv_builder_end(b);
		ret = spte_cmd_lab(g_strv_length(lab_argv), lab_argv);
		/* a lab that failed to run would fail the same way again */
		if (argc <= 1 && ret <= 1) {
			int cmp = demo_compare_kernels(&o);

			ret = ret ? ret : cmp;
		}
	}
out:
	g_free(o.out);
	return ret;
}
