// SPDX-License-Identifier: GPL-2.0-only
/*
 * spte_lab_main.c - `spte-lab`, the lab subcommand on its own, so the lab
 * and its tests work without the full spte CLI.  Equivalent to `spte lab`.
 */
#include "lab.h"

int main(int argc, char **argv)
{
	return spte_cmd_lab(argc, argv);
}
