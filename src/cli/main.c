// SPDX-License-Identifier: GPL-2.0
/*
 * spte: the command-line front end.  A {name, fn, help} table as in kvmtool's
 * builtin commands; each subcommand parses its own options with
 * GOptionContext, so `spte CMD --help` describes it fully.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lab.h"

gint64 spte_t0_ns;
gint64 spte_main_ns;

struct spte_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct spte_command commands[] = {
	{ "demo", spte_cmd_demo,
	  "KSM merge, THP collapse, khugepaged's test_young; ksm-merge per kernel" },
	{ "scenario", spte_cmd_scenario,
	  "list, show or run memory-management scenarios against a guest" },
	{ "run", spte_cmd_run,
	  "run a guest (the bundled agent by default) and drive it with --exec" },
	{ "dump", spte_cmd_dump,
	  "show a mirror dump saved by 'spte run --mirror --exec \"dump FILE\"'" },
	{ "diff", spte_cmd_diff,
	  "compare two mirror dumps (or a report's before/after) page by page" },
	{ "events", spte_cmd_events,
	  "show a scenario report's notifier events as a timeline" },
	{ "compare", spte_cmd_compare,
	  "run a scenario on each lab kernel, the callbacks side by side" },
	{ "lab", spte_cmd_lab,
	  "run a command inside the lab VM (Debian 6.1 kernel, nested KVM)" },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: spte COMMAND [OPTIONS]\n\n"
		"spte-lab: watch a secondary MMU follow the primary one.\n\n"
		"Commands:\n");
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\nRun 'spte COMMAND --help' for a command's options.\n");
}

static void set_start_time(void)
{
	const char *t0 = getenv("SPTE_T0_NS");

	spte_main_ns = spte_t0_ns = g_get_monotonic_time() * 1000;
	if (t0) {
		gint64 v = g_ascii_strtoll(t0, NULL, 10);

		if (v > 0 && v <= spte_t0_ns)
			spte_t0_ns = v;
	}
}

int main(int argc, char **argv)
{
	set_start_time();
	setlocale(LC_ALL, "");

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("spte %s\n", SPTE_VERSION);
		return 0;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);

	fprintf(stderr, "spte: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
