/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_ELF_LOAD_H
#define SPTE_ELF_LOAD_H

#include <glib.h>

/*
 * Guest images are ELF64 x86-64 executables linked for the image area of
 * the system slot (SPTE_SYS_VA + SPTE_SYS_IMAGE .. SPTE_SYS_IMAGE_END; see
 * guest/agent.ld.in).  Everything is checked before a byte is copied, so a
 * rejected image leaves the system slot untouched.
 */
struct spte_image {
	guint64 entry;		/* guest virtual */
	guint nr_loaded;	/* PT_LOAD segments with memory */
	guint64 lowest;		/* lowest and highest loaded VA */
	guint64 highest;
};

gboolean spte_elf_load(const guint8 *data, gsize len, guint8 *sys,
		       struct spte_image *image, GError **error);

#endif
