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

/* Subcommands: argv[0] is the subcommand's name; return the exit status. */
int spte_cmd_demo(int argc, char **argv);
int spte_cmd_scenario(int argc, char **argv);
int spte_cmd_run(int argc, char **argv);
int spte_cmd_dump(int argc, char **argv);
int spte_cmd_diff(int argc, char **argv);
int spte_cmd_events(int argc, char **argv);
int spte_cmd_compare(int argc, char **argv);

#endif
