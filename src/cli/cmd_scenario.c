// SPDX-License-Identifier: GPL-2.0
/*
 * spte scenario list | show NAME | run NAME|FILE: the scenario engine's
 * front end.  With --lab the run happens in the lab VM, booted with what
 * the scenario needs (two NUMA nodes for migrate).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "lab.h"
#include "scenario_run.h"
#include "spte_error.h"

static int list(void)
{
	g_auto(GStrv) names = spte_scenario_builtin_names();

	for (guint i = 0; names[i]; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(spte_scenario) sc = spte_scenario_load(names[i],
								 &error);

		if (sc)
			printf("%-18s %s\n", names[i], sc->summary);
		else
			printf("%-18s (broken: %s)\n", names[i],
			       error->message);
	}
	printf("\nRun one with 'spte scenario run NAME' (add --lab to run it "
	       "in the lab VM);\n'spte scenario show NAME' prints its file, a "
	       "starting point for your own.\n");
	return 0;
}

static int show(const char *name)
{
	g_autoptr(GBytes) bytes = spte_scenario_builtin_text(name);

	if (!bytes) {
		fprintf(stderr, "spte scenario show: no built-in scenario "
			"'%s' (see spte scenario list)\n", name);
		return 1;
	}
	fwrite(g_bytes_get_data(bytes, NULL), 1, g_bytes_get_size(bytes),
	       stdout);
	return 0;
}

struct run_opts {
	char *json;
	char *svg;
	char *backing;
	gboolean lab;
	gboolean stats;
};

/* spte lab [what the scenario needs] -- spte scenario run ... */
static int run_in_lab(const struct spte_scenario *sc, const char *arg,
		      const struct run_opts *o)
{
	g_auto(GStrv) lab_args = spte_scenario_lab_args(sc);
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	g_auto(GStrv) argv = NULL;

	g_strv_builder_add(b, "lab");
	g_strv_builder_addv(b, (const char **)lab_args);
	g_strv_builder_add_many(b, "--", "spte", "scenario", "run", arg, NULL);
	if (o->json)
		g_strv_builder_add_many(b, "--json", o->json, NULL);
	if (o->svg)
		g_strv_builder_add_many(b, "--svg", o->svg, NULL);
	if (o->backing)
		g_strv_builder_add_many(b, "--backing", o->backing, NULL);
	if (o->stats)
		g_strv_builder_add(b, "--stats");
	argv = g_strv_builder_end(b);
	return spte_cmd_lab(g_strv_length(argv), argv);
}

static int run(const char *arg, const struct run_opts *o)
{
	struct spte_scenario_opts so = { .backing = o->backing,
					 .stats = o->stats };
	g_autoptr(spte_scenario) sc = NULL;
	g_autoptr(JsonNode) report = NULL;
	g_autoptr(GError) error = NULL;

	sc = spte_scenario_load(arg, &error);
	if (!sc) {
		spte_cli_error("scenario", error);
		return 1;
	}
	if (o->lab)
		return run_in_lab(sc, arg, o);
	report = spte_scenario_run(sc, &so, &error);
	if (!report && g_error_matches(error, SPTE_ERROR,
				       SPTE_ERROR_NOT_APPLICABLE)) {
		/* an outcome, not an error: on stdout, with the verdicts */
		printf("%s: not on this kernel: %s\n", sc->name, error->message);
		return SPTE_SCENARIO_NOT_APPLICABLE;
	}
	if (!report) {
		spte_cli_error("scenario", error);
		return 1;
	}
	if (o->json && !spte_report_write_json(report, o->json, &error)) {
		spte_cli_error("scenario", error);
		return 1;
	}
	if (o->svg && !spte_report_write_svg(report, o->svg, &error)) {
		spte_cli_error("scenario", error);
		return 1;
	}
	return spte_report_passed(report) ? 0 : 1;
}

int spte_cmd_scenario(int argc, char **argv)
{
	struct run_opts o = { 0 };
	const GOptionEntry entries[] = {
		{ "json", 'j', 0, G_OPTION_ARG_FILENAME, &o.json,
		  "run: write the report (checks, events, dumps) as JSON",
		  "FILE" },
		{ "svg", 0, 0, G_OPTION_ARG_FILENAME, &o.svg,
		  "run: draw the dumps as grids of guest pages", "FILE" },
		{ "backing", 'b', 0, G_OPTION_ARG_STRING, &o.backing,
		  "run: guest RAM backing instead of the scenario's "
		  "(anon, memfd, hugetlb)", "KIND" },
		{ "lab", 'l', 0, G_OPTION_ARG_NONE, &o.lab,
		  "run: in the lab VM, booted with what the scenario needs",
		  NULL },
		{ "stats", 's', 0, G_OPTION_ARG_NONE, &o.stats,
		  "run: print how long each step took", NULL },
		{ NULL }
	};
	int ret = 2;

	if (!spte_cli_options("scenario", &argc, &argv, entries,
		"list | show NAME | run NAME|FILE - memory-management scenarios",
		"A scenario boots the guest, runs its steps (guest writes, "
		"KSM, khugepaged,\nmprotect, migration, userfaultfd, fork, "
		"reclaim...) and checks what the\nmirror, the primary page "
		"tables and the notifier sequence show.\n"
		"Scenario files: docs/scenario-format.md; the built-in ones: "
		"docs/scenarios/.\n"))
		goto out;
	if (argc == 2 && g_str_equal(argv[1], "list"))
		ret = list();
	else if (argc == 3 && g_str_equal(argv[1], "show"))
		ret = show(argv[2]);
	else if (argc == 3 && g_str_equal(argv[1], "run"))
		ret = run(argv[2], &o);
	else
		fprintf(stderr, "spte scenario: expected 'list', 'show NAME' "
			"or 'run NAME|FILE' (try spte scenario --help)\n");
out:
	g_free(o.json);
	g_free(o.svg);
	g_free(o.backing);
	return ret;
}
