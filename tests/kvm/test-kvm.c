// SPDX-License-Identifier: GPL-2.0
/*
 * The VMM and agent on this machine's /dev/kvm: boot, every agent command
 * with its data checked, every backing, a crashing guest, bad images.
 * Guest work stays at a few MiB: guests here may run by emulation.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <spte/guest_abi.h>

#include "spte-test.h"

static gboolean have_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		spte_test_skip_or_fail("/dev/kvm is not usable here");
		return FALSE;
	}
	close(fd);
	return TRUE;
}

/*
 * A run of the agent: the options after "spte run", its exit status and
 * what its output says, each somewhere in stdout.
 */
struct agent_case {
	const char *name;
	const char *args[4];
	int status;
	const char *out[4];
};

static const struct agent_case agent_cases[] = {
	{ "boot", { "--stats" }, 0,
	  { "guest: spte-agent: ready, 64 MiB of guest RAM", "startup: ",
	    "to the first guest instruction" } },
	{ "fill-verify",
	  { "--exec", "fill 0x200000 256 0xa5; verify 0x200000 256 0xa5" }, 0,
	  { "256 pages filled with 0xa5a5a5a5a5a5a5a5",
	    "ok: 256 pages, all 131072 words match" } },
	/* A write touch dirties each page but must not change its data. */
	{ "touch",
	  { "--exec", "fill 0 64 0x3c; touch 0 64 read; touch 0 64 write; "
		      "verify 0 64 0x3c" }, 0,
	  { "touch 0 64 read", "ok: 64 pages touched",
	    "all 32768 words match" } },
	{ "verify-mismatch",
	  { "--exec", "fill 0x200000 4 0xa5; verify 0x200000 4 0x5a" }, 1,
	  { "FAILED: 2048 of 2048 words differ, first at gpa 0x200000: "
	    "0xa5a5a5a5a5a5a5a5, expected 0x5a5a5a5a5a5a5a5a" } },
	/* The run goes on after a refused step: the verify matches. */
	{ "bad-range",
	  { "--mem", "4M", "--exec", "fill 0x3ff000 2 1; verify 0 1 0" }, 1,
	  { "fill 0x3ff000 2 1", "FAILED: range outside guest RAM",
	    "all 512 words match" } },
};

static void test_agent(gconstpointer data)
{
	const struct agent_case *c = data;
	struct spte_test_run r;

	if (!have_kvm())
		return;
	spte_test_run(&r, "run", c->args[0], c->args[1], c->args[2],
		      c->args[3], NULL);
	g_assert_cmpint(r.status, ==, c->status);
	for (guint i = 0; i < G_N_ELEMENTS(c->out) && c->out[i]; i++)
		spte_assert_contains(r.out, c->out[i]);
	spte_test_run_clear(&r);
}

static void test_checksum(void)
{
	guint64 page[512];
	g_autofree char *expect = NULL;
	struct spte_test_run r;

	if (!have_kvm())
		return;
	for (guint i = 0; i < G_N_ELEMENTS(page); i++)
		page[i] = 0x1122334455667788ULL;
	expect = g_strdup_printf("fnv1a64 %#018" G_GINT64_MODIFIER "x over 1 "
				 "pages, host agrees",
				 spte_fnv1a64_words(page, 512));
	spte_test_run(&r, "run", "--exec",
		      "fill 0x1000 1 0x1122334455667788; checksum 0x1000 1", NULL);
	g_assert_cmpint(r.status, ==, 0);
	spte_assert_contains(r.out, expect);
	spte_test_run_clear(&r);
}

#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"

static guint64 read_hugepages(void)
{
	g_autofree char *text = NULL;

	if (!g_file_get_contents(NR_HUGEPAGES, &text, NULL, NULL))
		return 0;
	return g_ascii_strtoull(text, NULL, 10);
}

static gboolean write_hugepages(guint64 n)
{
	FILE *f = fopen(NR_HUGEPAGES, "w");

	if (!f)
		return FALSE;
	fprintf(f, "%" G_GUINT64_FORMAT "\n", n);
	return fclose(f) == 0;
}

/*
 * Reserve @want 2 MiB pages if there are fewer (root can; anyone else needs
 * an administrator).  *old gets the value to restore afterwards.
 */
static gboolean ensure_hugepages(guint64 want, guint64 *old)
{
	*old = read_hugepages();
	if (*old >= want)
		return TRUE;
	return write_hugepages(want) && read_hugepages() >= want;
}

struct backing_case {
	const char *name;
	const char *args[4];
};

static const struct backing_case backings[] = {
	{ "anon", { "--backing", "anon" } },
	{ "anon-thp", { "--backing", "anon", "--thp" } },
	{ "anon-no-thp", { "--no-thp" } },
	{ "anon-ksm", { "--ksm" } },
	{ "memfd", { "--backing", "memfd" } },
	{ "memfd-thp", { "--backing", "memfd", "--thp" } },
	{ "hugetlb", { "--backing", "hugetlb" } },
};

static void test_backing(gconstpointer data)
{
	const struct backing_case *c = data;
	gboolean hugetlb = g_str_equal(c->name, "hugetlb");
	guint64 old_hugepages = 0;
	struct spte_test_run r;

	if (!have_kvm())
		return;
	if (hugetlb && !ensure_hugepages(4, &old_hugepages)) {
		spte_test_skip_or_fail("cannot reserve 2 MiB hugetlb pages");
		return;
	}
	spte_test_run(&r, "run", "--mem", "8M", "--exec",
		      "fill 0 1024 0x77; verify 0 1024 0x77; checksum 0x200000 512",
		      c->args[0] ? c->args[0] : "--verbose",
		      c->args[1] ? c->args[1] : "--verbose",
		      c->args[2] ? c->args[2] : "--verbose", NULL);
	if (hugetlb)
		write_hugepages(old_hugepages);
	g_assert_cmpint(r.status, ==, 0);
	spte_assert_contains(r.out, "all 524288 words match");
	spte_assert_contains(r.out, "host agrees");
	spte_test_run_clear(&r);
}

static void test_triple_fault(void)
{
	struct spte_test_run r;

	if (!have_kvm())
		return;
	spte_test_run(&r, "run", "--exec", "fill 0 1 1; crash; fill 0 1 2", NULL);
	g_assert_cmpint(r.status, !=, 0);
	spte_assert_contains(r.err, "step 2 'crash': vCPU 0 stopped: "
			     "KVM_EXIT_SHUTDOWN (triple fault)");
	spte_assert_contains(r.err, "rip ffffffff8008");
	spte_assert_contains(r.err, "cr3 0000001000002000");
	spte_assert_contains(r.err, "code at rip");
	/* ud2 is what the agent executed. */
	spte_assert_contains(r.err, ": 0f 0b");
	g_assert_null(strstr(r.out, "fill 0 1 2"));
	spte_test_run_clear(&r);
}

/* A bad image on the command line: one line on stderr, status 1. */
static void run_bad_image(const char *contents, gsize len, const char *message)
{
	g_autofree char *path = NULL;
	g_autoptr(GError) error = NULL;
	struct spte_test_run r;
	int fd;

	fd = g_file_open_tmp("spte-image-XXXXXX", &path, &error);
	g_assert_no_error(error);
	close(fd);
	g_assert_true(g_file_set_contents(path, contents, len, &error));
	spte_test_run(&r, "run", "--guest", path, NULL);
	g_assert_cmpint(r.status, ==, 1);
	spte_assert_contains(r.err, message);
	g_assert_cmpuint(strlen(r.err), ==, strchr(r.err, '\n') - r.err + 1);
	g_assert_cmpstr(r.out, ==, "");
	spte_test_run_clear(&r);
	unlink(path);
}

/* Where the agent's first segment's bytes start, to cut the file there. */
static gsize first_segment_offset(const char *elf)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(elf + eh->e_phoff);

	for (guint i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_filesz)
			return ph[i].p_offset;
	g_error("the agent has no loadable segment");
}

static void test_bad_images(void)
{
	g_autofree char *agent = NULL;
	gsize len;

	if (!have_kvm())
		return;
	g_assert_true(g_file_get_contents(g_getenv("SPTE_AGENT"), &agent, &len,
					  NULL));
	run_bad_image("#!/bin/sh\necho not an image\n", 28, "bad magic");
	run_bad_image(agent, 100, "program headers lie beyond the end");
	run_bad_image(agent, first_segment_offset(agent) + 16,
		      "beyond the end of the");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	spte_test_add_cases("/kvm/agent", agent_cases, name, test_agent);
	g_test_add_func("/kvm/agent/checksum", test_checksum);
	spte_test_add_cases("/kvm/backing", backings, name, test_backing);
	g_test_add_func("/kvm/crash/triple-fault", test_triple_fault);
	g_test_add_func("/kvm/image/malformed", test_bad_images);
	return g_test_run();
}
