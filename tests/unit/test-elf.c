// SPDX-License-Identifier: GPL-2.0
/* The ELF loader against every malformed-image case it must name. */
#include <elf.h>
#include <stddef.h>
#include <string.h>

#include <spte/guest_abi.h>

#include "elf_load.h"
#include "spte-test.h"

#define IMAGE_VA	(SPTE_SYS_VA + SPTE_SYS_IMAGE)

struct image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	guint8 code[64];
};

/* A minimal valid image: one R+X segment at the start of the image area. */
static void make_image(struct image *img)
{
	memset(img, 0, sizeof(*img));
	memcpy(img->eh.e_ident, ELFMAG, SELFMAG);
	img->eh.e_ident[EI_CLASS] = ELFCLASS64;
	img->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	img->eh.e_ident[EI_VERSION] = EV_CURRENT;
	img->eh.e_type = ET_EXEC;
	img->eh.e_machine = EM_X86_64;
	img->eh.e_version = EV_CURRENT;
	img->eh.e_entry = IMAGE_VA;
	img->eh.e_phoff = offsetof(struct image, ph);
	img->eh.e_ehsize = sizeof(Elf64_Ehdr);
	img->eh.e_phentsize = sizeof(Elf64_Phdr);
	img->eh.e_phnum = 1;
	img->ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X,
				   .p_offset = offsetof(struct image, code),
				   .p_vaddr = IMAGE_VA, .p_paddr = IMAGE_VA,
				   .p_filesz = sizeof(img->code),
				   .p_memsz = 0x2000, .p_align = 0x1000 };
	memset(img->code, 0xf4, sizeof(img->code));	/* hlt */
}

struct bad_case {
	const char *name;
	void (*mutate)(struct image *img, gsize *len);
	const char *message;
};

#define MUTATOR(fn, body) \
	static void fn(struct image *img, gsize *len) { (void)img; (void)len; body; }

MUTATOR(empty_file, *len = 0)
MUTATOR(short_ident, *len = 10)
MUTATOR(short_header, *len = 40)
MUTATOR(bad_magic, img->eh.e_ident[1] = 'X')
MUTATOR(class32, img->eh.e_ident[EI_CLASS] = ELFCLASS32)
MUTATOR(big_endian, img->eh.e_ident[EI_DATA] = ELFDATA2MSB)
MUTATOR(machine_i386, img->eh.e_machine = EM_386)
MUTATOR(type_dyn, img->eh.e_type = ET_DYN)
MUTATOR(type_rel, img->eh.e_type = ET_REL)
MUTATOR(no_phdrs, img->eh.e_phnum = 0)
MUTATOR(bad_phentsize, img->eh.e_phentsize = 40)
MUTATOR(phdrs_past_end, img->eh.e_phoff = sizeof(*img) - 8)
MUTATOR(truncated_segment, *len = offsetof(struct image, code) + 8)
MUTATOR(filesz_over_memsz, img->ph[0].p_memsz = 8)
MUTATOR(in_data_ram, img->ph[0].p_vaddr = 0x400000; img->eh.e_entry = 0x400000)
MUTATOR(outside_memory, img->ph[0].p_vaddr = 0x7f0000000000ULL;
	img->eh.e_entry = img->ph[0].p_vaddr)
MUTATOR(over_page_tables, img->ph[0].p_vaddr = SPTE_SYS_VA + SPTE_SYS_PGTABLE;
	img->eh.e_entry = img->ph[0].p_vaddr)
MUTATOR(over_gdt, img->ph[0].p_vaddr = SPTE_SYS_VA; img->eh.e_entry = SPTE_SYS_VA)
MUTATOR(over_mailbox, img->ph[0].p_vaddr = SPTE_SYS_VA + SPTE_SYS_MAILBOX;
	img->eh.e_entry = img->ph[0].p_vaddr)
MUTATOR(into_stack, img->ph[0].p_vaddr = SPTE_SYS_VA + SPTE_SYS_IMAGE_END - 0x1000;
	img->eh.e_entry = img->ph[0].p_vaddr)
MUTATOR(wraps, img->ph[0].p_vaddr = 0xfffffffffffff000ULL;
	img->eh.e_entry = img->ph[0].p_vaddr)
MUTATOR(overlapping, img->eh.e_phnum = 2; img->ph[1] = img->ph[0];
	img->ph[1].p_vaddr += 0x1000)
MUTATOR(no_load, img->ph[0].p_type = PT_NOTE)
MUTATOR(entry_outside, img->eh.e_entry = IMAGE_VA + 0x4000)
MUTATOR(entry_not_exec, img->ph[0].p_flags = PF_R | PF_W)

static const struct bad_case bad_cases[] = {
	{ "empty-file", empty_file, "bad magic" },
	{ "truncated-ident", short_ident, "truncated ELF identification" },
	{ "truncated-header", short_header, "truncated ELF header" },
	{ "bad-magic", bad_magic, "not an ELF file (bad magic)" },
	{ "class32", class32, "is not ELFCLASS64" },
	{ "big-endian", big_endian, "is not little-endian" },
	{ "machine-i386", machine_i386, "is not x86-64" },
	{ "type-dyn", type_dyn, "position-independent" },
	{ "type-rel", type_rel, "is not an executable (ET_EXEC)" },
	{ "no-program-headers", no_phdrs, "no program headers" },
	{ "bad-phentsize", bad_phentsize, "program header size 40" },
	{ "phdrs-past-end", phdrs_past_end, "program headers lie beyond" },
	{ "truncated-segment", truncated_segment, "beyond the end of the" },
	{ "filesz-over-memsz", filesz_over_memsz, "exceeds memory size" },
	{ "in-data-ram", in_data_ram, "lies in guest RAM, which is kept for data" },
	{ "outside-memory", outside_memory, "is outside guest memory" },
	{ "over-page-tables", over_page_tables, "overlaps the VMM's page tables" },
	{ "over-gdt", over_gdt, "overlaps the VMM's GDT" },
	{ "over-mailbox", over_mailbox, "overlaps the VMM's mailbox" },
	{ "into-stack", into_stack, "overlaps the agent stack" },
	{ "wraps", wraps, "wraps around" },
	{ "overlapping-segments", overlapping, "segments 0 and 1 overlap" },
	{ "no-load-segment", no_load, "no loadable (PT_LOAD) segment" },
	{ "entry-outside", entry_outside, "entry point" },
	{ "entry-not-executable", entry_not_exec, "entry point" },
};

static void test_bad(gconstpointer data)
{
	const struct bad_case *c = data;
	g_autofree guint8 *sys = g_malloc(SPTE_SYS_SIZE);
	g_autofree guint8 *before = g_malloc(SPTE_SYS_SIZE);
	g_autoptr(GError) error = NULL;
	struct spte_image out;
	struct image img;
	gsize len = sizeof(img);

	make_image(&img);
	c->mutate(&img, &len);
	memset(sys, 0x5a, SPTE_SYS_SIZE);
	memcpy(before, sys, SPTE_SYS_SIZE);

	g_assert_false(spte_elf_load((guint8 *)&img, len, sys, &out, &error));
	g_assert_nonnull(error);
	g_test_message("%s: %s", c->name, error->message);
	spte_assert_contains(error->message, c->message);
	/* One line, and nothing written before the verdict. */
	g_assert_null(strchr(error->message, '\n'));
	g_assert_cmpmem(sys, SPTE_SYS_SIZE, before, SPTE_SYS_SIZE);
}

static void test_good(void)
{
	g_autofree guint8 *sys = g_malloc0(SPTE_SYS_SIZE);
	g_autoptr(GError) error = NULL;
	struct spte_image out;
	struct image img;

	make_image(&img);
	memset(sys + SPTE_SYS_IMAGE, 0x77, 0x2000);
	g_assert_true(spte_elf_load((guint8 *)&img, sizeof(img), sys, &out,
				    &error));
	g_assert_no_error(error);
	g_assert_cmpuint(out.entry, ==, IMAGE_VA);
	g_assert_cmpuint(out.nr_loaded, ==, 1);
	g_assert_cmpmem(sys + SPTE_SYS_IMAGE, sizeof(img.code), img.code,
			sizeof(img.code));
	/* bss (memsz beyond filesz) is zeroed. */
	g_assert_cmpuint(sys[SPTE_SYS_IMAGE + sizeof(img.code)], ==, 0);
	g_assert_cmpuint(sys[SPTE_SYS_IMAGE + 0x1fff], ==, 0);
}

static void test_agent(void)
{
	const char *path = g_getenv("SPTE_AGENT");
	g_autofree guint8 *sys = g_malloc0(SPTE_SYS_SIZE);
	g_autoptr(GError) error = NULL;
	g_autofree char *data = NULL;
	struct spte_image out;
	gsize len;

	g_assert_nonnull(path);
	g_assert_true(g_file_get_contents(path, &data, &len, &error));
	g_assert_true(spte_elf_load((guint8 *)data, len, sys, &out, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(out.entry, ==, IMAGE_VA);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/elf/good/minimal", test_good);
	g_test_add_func("/elf/good/agent", test_agent);
	spte_test_add_cases("/elf/bad", bad_cases, name, test_bad);
	return g_test_run();
}
