/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_CLI_H
#define SPTE_CLI_H

#include <glib.h>

#include "command_line.h"

/*
 * Monotonic time (ns) at which this process started, for the start-up
 * figure: the caller's exec time when it passes SPTE_T0_NS (the benchmark
 * does, as Firecracker's boot timer takes the launcher's timestamp), else
 * the first instruction of main().
 */
extern gint64 spte_t0_ns;
extern gint64 spte_main_ns;	/* when main() started */

/*
 * Parse a subcommand's options, the one way every subcommand does:
 * @params is --help's usage line after "spte CMD", @description the text
 * under the options.  --help prints them and exits 0; a bad option is
 * said as spte_cli_parse() says it ("spte CMD: ... (try 'spte CMD
 * --help')") and gives FALSE.  @argc and @argv keep the arguments left,
 * argv[0] still the subcommand's name; the options' values stay where
 * @entries point.
 */
gboolean spte_cli_options(const char *cmd, int *argc, char ***argv,
			  const GOptionEntry *entries, const char *params,
			  const char *description);

/* Subcommands: argv[0] is the subcommand's name; return the exit status. */
int spte_cmd_demo(int argc, char **argv);
int spte_cmd_scenario(int argc, char **argv);
int spte_cmd_run(int argc, char **argv);
int spte_cmd_dump(int argc, char **argv);
int spte_cmd_diff(int argc, char **argv);
int spte_cmd_events(int argc, char **argv);
int spte_cmd_compare(int argc, char **argv);

#endif
