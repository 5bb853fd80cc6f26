/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_COMMAND_LINE_H
#define SPTE_COMMAND_LINE_H

#include <glib.h>

/*
 * How every subcommand, `spte lab` and the standalone spte-lab too, talks
 * on the command line: options parsed one way, errors said one way,
 * "spte CMD: message".
 */

/* Parse options; on error print "spte CMD: message" and return FALSE. */
gboolean spte_cli_parse(GOptionContext *ctx, const char *cmd, int *argc,
			char ***argv);

/* Print "spte CMD: message" for @error on stderr. */
void spte_cli_error(const char *cmd, const GError *error);

#endif
