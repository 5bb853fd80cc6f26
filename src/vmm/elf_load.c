// SPDX-License-Identifier: GPL-2.0
#include <elf.h>
#include <string.h>

#include <spte/guest_abi.h>

#include "elf_load.h"
#include "spte_error.h"

#define IMAGE_START	(SPTE_SYS_VA + SPTE_SYS_IMAGE)
#define IMAGE_END	(SPTE_SYS_VA + SPTE_SYS_IMAGE_END)

#define invalid(error, ...) \
	(g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID, __VA_ARGS__), FALSE)

static gboolean check_header(const guint8 *data, gsize len, GError **error)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)data;

	if (len < SELFMAG || memcmp(data, ELFMAG, SELFMAG))
		return invalid(error, "not an ELF file (bad magic)");
	if (len < EI_NIDENT)
		return invalid(error, "truncated ELF identification");
	if (data[EI_CLASS] != ELFCLASS64)
		return invalid(error, "ELF class %u is not ELFCLASS64 "
			       "(32-bit images are not supported)",
			       data[EI_CLASS]);
	if (data[EI_DATA] != ELFDATA2LSB)
		return invalid(error, "ELF data encoding %u is not little-endian",
			       data[EI_DATA]);
	if (len < sizeof(*eh))
		return invalid(error, "truncated ELF header (%zu of %zu bytes)",
			       len, sizeof(*eh));
	if (eh->e_machine != EM_X86_64)
		return invalid(error, "ELF machine %u is not x86-64 (%u)",
			       eh->e_machine, EM_X86_64);
	if (eh->e_type != ET_EXEC)
		return invalid(error, "ELF type %u is not an executable (ET_EXEC)%s",
			       eh->e_type, eh->e_type == ET_DYN ?
			       ": position-independent images are not supported" : "");
	if (eh->e_phnum == 0)
		return invalid(error, "no program headers");
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return invalid(error, "program header size %u, expected %zu",
			       eh->e_phentsize, sizeof(Elf64_Phdr));
	if (eh->e_phoff > len ||
	    (guint64)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
		return invalid(error, "program headers lie beyond the end of the "
			       "file (truncated image?)");
	return TRUE;
}

/* Name what a stray segment would overwrite, for a useful message. */
static const char *sys_area_name(guint64 offset)
{
	if (offset < SPTE_SYS_MAILBOX)
		return "the VMM's GDT";
	if (offset < SPTE_SYS_PGTABLE)
		return "the VMM's mailbox";
	if (offset < SPTE_SYS_PGTABLE_END)
		return "the VMM's page tables";
	if (offset >= SPTE_SYS_IMAGE_END && offset < SPTE_SYS_SIZE)
		return "the agent stack";
	return NULL;
}

static gboolean check_segment(const Elf64_Phdr *ph, guint i, gsize len,
			      GError **error)
{
	guint64 end;
	const char *area;

	if (ph->p_filesz > ph->p_memsz)
		return invalid(error, "segment %u: file size %#lx exceeds memory "
			       "size %#lx", i, ph->p_filesz, ph->p_memsz);
	if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset)
		return invalid(error, "segment %u: data at offset %#lx+%#lx lies "
			       "beyond the end of the %zu-byte file (truncated "
			       "image?)", i, ph->p_offset, ph->p_filesz, len);
	if (__builtin_add_overflow(ph->p_vaddr, ph->p_memsz, &end))
		return invalid(error, "segment %u: address %#lx + size %#lx "
			       "wraps around", i, ph->p_vaddr, ph->p_memsz);
	if (ph->p_vaddr >= IMAGE_START && end <= IMAGE_END)
		return TRUE;

	if (ph->p_vaddr >= SPTE_SYS_VA && end <= SPTE_SYS_VA + SPTE_SYS_SIZE) {
		area = sys_area_name(ph->p_vaddr < IMAGE_START ?
				     ph->p_vaddr - SPTE_SYS_VA :
				     IMAGE_END - SPTE_SYS_VA);
		return invalid(error, "segment %u at %#lx-%#lx overlaps %s "
			       "(images load at %#llx-%#llx)", i, ph->p_vaddr,
			       end, area, IMAGE_START, IMAGE_END);
	}
	if (end <= SPTE_RAM_MAX)
		return invalid(error, "segment %u at %#lx-%#lx lies in guest RAM, "
			       "which is kept for data (images load at "
			       "%#llx-%#llx)", i, ph->p_vaddr, end,
			       IMAGE_START, IMAGE_END);
	return invalid(error, "segment %u at %#lx-%#lx is outside guest memory "
		       "(images load at %#llx-%#llx)", i, ph->p_vaddr, end,
		       IMAGE_START, IMAGE_END);
}

gboolean spte_elf_load(const guint8 *data, gsize len, guint8 *sys,
		       struct spte_image *image, GError **error)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)data;
	const Elf64_Phdr *ph;
	gboolean entry_ok = FALSE;

	if (!check_header(data, len, error))
		return FALSE;
	ph = (const Elf64_Phdr *)(data + eh->e_phoff);

	*image = (struct spte_image){ .entry = eh->e_entry,
				      .lowest = G_MAXUINT64 };
	for (guint i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		if (!check_segment(&ph[i], i, len, error))
			return FALSE;
		for (guint j = 0; j < i; j++) {
			if (ph[j].p_type != PT_LOAD || ph[j].p_memsz == 0)
				continue;
			if (ph[i].p_vaddr < ph[j].p_vaddr + ph[j].p_memsz &&
			    ph[j].p_vaddr < ph[i].p_vaddr + ph[i].p_memsz)
				return invalid(error, "segments %u and %u overlap "
					       "(%#lx and %#lx)", j, i,
					       ph[j].p_vaddr, ph[i].p_vaddr);
		}
		if ((ph[i].p_flags & PF_X) && eh->e_entry >= ph[i].p_vaddr &&
		    eh->e_entry < ph[i].p_vaddr + ph[i].p_memsz)
			entry_ok = TRUE;
		image->nr_loaded++;
		image->lowest = MIN(image->lowest, ph[i].p_vaddr);
		image->highest = MAX(image->highest,
				     ph[i].p_vaddr + ph[i].p_memsz);
	}
	if (!image->nr_loaded)
		return invalid(error, "no loadable (PT_LOAD) segment");
	if (!entry_ok)
		return invalid(error, "entry point %#lx is outside the loaded "
			       "executable code", eh->e_entry);

	/* All checked: copy, and zero what the file does not hold (bss). */
	for (guint i = 0; i < eh->e_phnum; i++) {
		guint8 *dst;

		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		dst = sys + (ph[i].p_vaddr - SPTE_SYS_VA);
		memcpy(dst, data + ph[i].p_offset, ph[i].p_filesz);
		memset(dst + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
	}
	return TRUE;
}
