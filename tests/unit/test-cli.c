// SPDX-License-Identifier: GPL-2.0
/* The command line: help, unknown commands and options, option errors. */
#include "spte-test.h"

struct cli_case {
	const char *name;
	const char *args[6];
	int status;
	const char *out;	/* expected in stdout, or NULL */
	const char *err;	/* expected in stderr, or NULL */
};

static const struct cli_case cases[] = {
	{ "no-args", { NULL }, 2, NULL, "Usage: spte COMMAND" },
	{ "help", { "--help" }, 0, "run ", NULL },
	{ "version", { "--version" }, 0, "spte ", NULL },
	{ "unknown-command", { "frob" }, 2, NULL, "unknown command 'frob'" },
	{ "run-help", { "run", "--help" }, 0, "fill GPA PAGES PATTERN", NULL },
	{ "run-unknown-option", { "run", "--frob" }, 2, NULL,
	  "Unknown option --frob" },
	{ "run-extra-arg", { "run", "stray" }, 2, NULL,
	  "unexpected argument 'stray'" },
	{ "run-bad-size", { "run", "--mem", "12X" }, 1, NULL,
	  "--mem: '12X' has an unknown suffix" },
	{ "run-bad-backing", { "run", "--backing", "floppy" }, 1, NULL,
	  "'floppy' is not one of anon, memfd, hugetlb" },
	{ "run-thp-conflict", { "run", "--thp", "--no-thp" }, 1, NULL,
	  "--thp and --no-thp contradict" },
	{ "run-ksm-memfd", { "run", "--ksm", "--backing", "memfd" }, 1, NULL,
	  "KSM merges only private anonymous memory" },
	{ "run-bad-script", { "run", "--exec", "fill 0 1" }, 1, NULL,
	  "--exec: step 1 'fill 0 1': expected 'fill GPA PAGES PATTERN'" },
	{ "run-missing-image", { "run", "--guest", "/nonexistent/guest.elf" }, 1,
	  NULL, "guest image" },
};

static void test_cli(gconstpointer data)
{
	const struct cli_case *c = data;
	struct spte_test_run r;

	spte_test_run(&r, c->args[0], c->args[1], c->args[2], c->args[3],
		      c->args[4], NULL);
	g_assert_cmpint(r.status, ==, c->status);
	if (c->out)
		spte_assert_contains(r.out, c->out);
	if (c->err)
		spte_assert_contains(r.err, c->err);
	spte_test_run_clear(&r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	spte_test_add_cases("/cli", cases, name, test_cli);
	return g_test_run();
}
