/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_AGENT_PATH_H
#define SPTE_AGENT_PATH_H

#include <glib.h>

/*
 * The bundled guest agent's path: $SPTE_AGENT, else beside the running
 * binary (the installed libexec layout, the lab's /opt/spte/bin), else the
 * build tree.  The error says how to name one.
 */
char *spte_find_agent(GError **error);

#endif
