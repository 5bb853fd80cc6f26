// SPDX-License-Identifier: GPL-2.0
/* Size and number parsing, and the --exec script parser. */
#include <string.h>

#include <spte/guest_abi.h>

#include "language.h"
#include "parse.h"
#include "spte-test.h"
#include "spte_error.h"

static const struct {
	const char *text;
	guint64 value;
} good_sizes[] = {
	{ "4096", 4096 }, { "0x1000", 4096 }, { "4K", 4096 }, { "4k", 4096 },
	{ "64M", 64ULL << 20 }, { "64MiB", 64ULL << 20 }, { "1G", 1ULL << 30 },
	{ "2GB", 2ULL << 30 }, { "1T", 1ULL << 40 }, { "0", 0 },
	{ "4096B", 4096 }, { "512m", 512ULL << 20 }, { "1tib", 1ULL << 40 },
};

static const struct {
	const char *text;
	const char *message;
} bad_sizes[] = {
	{ "", "missing value" },
	{ "-1", "is not a number" },
	{ " 1", "is not a number" },
	{ "M", "is not a number" },
	{ "12X", "unknown suffix" },
	{ "1Mi", "unknown suffix" },
	{ "1BB", "unknown suffix" },
	{ "99999999999999999999", "too large" },
	{ "17179869184G", "too large" },
};

static void test_sizes(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(good_sizes); i++) {
		g_autoptr(GError) error = NULL;
		guint64 v = 1;

		g_assert_true(spte_parse_size(good_sizes[i].text, "--mem", &v,
					      &error));
		g_assert_cmpuint(v, ==, good_sizes[i].value);
	}
	for (guint i = 0; i < G_N_ELEMENTS(bad_sizes); i++) {
		g_autoptr(GError) error = NULL;
		guint64 v;

		g_assert_false(spte_parse_size(bad_sizes[i].text, "--mem", &v,
					       &error));
		spte_assert_contains(error->message, "--mem");
		spte_assert_contains(error->message, bad_sizes[i].message);
	}
}

static void test_u64(void)
{
	g_autoptr(GError) error = NULL;
	guint64 v;

	g_assert_true(spte_parse_u64("0x200000", "GPA", &v, &error));
	g_assert_cmphex(v, ==, 0x200000);
	g_assert_false(spte_parse_u64("4K", "GPA", &v, &error));
	spte_assert_contains(error->message, "'4K' is not a number");
}

static void test_script(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) steps = NULL;
	const struct spte_step *s;

	steps = spte_script_parse("fill 0x200000 256 0xa5; verify 0x200000 256 0xa5\n"
				  "# a comment\n ; touch 0 4   write;checksum 0 1;"
				  "fill 0 1 0x1122334455667788", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(steps->len, ==, 5);
	s = steps->pdata[0];
	g_assert_true(spte_verb_named(s->verb, "fill"));
	g_assert_cmpuint(s->op, ==, SPTE_OP_FILL);
	g_assert_cmphex(s->gpa, ==, 0x200000);
	g_assert_cmpuint(s->pages, ==, 256);
	g_assert_cmphex(s->pattern, ==, 0xa5a5a5a5a5a5a5a5ULL);
	s = steps->pdata[1];
	g_assert_cmpuint(s->op, ==, SPTE_OP_VERIFY);
	s = steps->pdata[2];
	g_assert_cmpuint(s->op, ==, SPTE_OP_TOUCH_WRITE);
	g_assert_cmpuint(s->index, ==, 3);
	g_assert_cmpstr(s->text, ==, "touch 0 4   write");
	s = steps->pdata[3];
	g_assert_cmpuint(s->op, ==, SPTE_OP_CHECKSUM);
	s = steps->pdata[4];
	g_assert_cmphex(s->pattern, ==, 0x1122334455667788ULL);
}

/* Verbs whose words stand for values, and verbs of no arguments. */
static const struct {
	const char *text;
	const char *verb;
	const char *name;	/* the word, or NULL */
	int choice;		/* what it stands for */
} good_steps[] = {
	{ "madvise 0 1 pageout", "madvise", "pageout", 21 /* MADV_PAGEOUT */ },
	{ "madvise 0 1 dontneed", "madvise", "dontneed", 4 /* MADV_DONTNEED */ },
	{ "mprotect 0 1 ro", "mprotect", "ro", 1 /* PROT_READ */ },
	{ "mprotect 0 1 rw", "mprotect", "rw", 3 /* PROT_READ|PROT_WRITE */ },
	{ "compact", "compact", NULL, 0 },
	{ "clear-refs", "clear-refs", NULL, 0 },
};

static void test_steps(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(good_steps); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(spte_step) s = spte_step_parse(good_steps[i].text, 1,
							 &error);

		g_assert_no_error(error);
		g_assert_true(spte_verb_named(s->verb, good_steps[i].verb));
		g_assert_cmpstr(s->name, ==, good_steps[i].name);
		g_assert_cmpint(s->choice, ==, good_steps[i].choice);
		g_assert_nonnull(s->verb->run);
	}
}

/* --help lists every verb once, from the families' tables. */
static void test_help(void)
{
	g_autofree char *help = spte_script_help();

	for (guint i = 0; i < G_N_ELEMENTS(good_steps); i++) {
		g_autofree char *usage = g_strdup_printf("\n  %s ",
							 good_steps[i].verb);

		spte_assert_contains(help, usage);
		g_assert_null(strstr(strstr(help, usage) + 1, usage));
	}
	spte_assert_contains(help, "compact every zone");
}

static const struct {
	const char *script;
	const char *message;
} bad_scripts[] = {
	{ "frobnicate 1 2", "step 1 'frobnicate 1 2': unknown step 'frobnicate'" },
	{ "fill 0 1", "expected 'fill GPA PAGES PATTERN'" },
	{ "fill 0 1 2 3", "expected 'fill GPA PAGES PATTERN'" },
	{ "fill 0x1001 1 0", "GPA 0x1001 is not 4 KiB aligned" },
	{ "fill 0 0 1", "PAGES 0 is out of range" },
	{ "checksum 0 lots", "PAGES: 'lots' is not a number" },
	{ "touch 0 1 sideways", "'sideways' is not read|write" },
	{ "fill 0 1 1; verify 0 1 z", "step 2 'verify 0 1 z'" },
	{ "since 6.9 fill 0 1 1", "expected 'since MAJOR.MINOR: STEP'" },
	{ "before 6:", "expected 'before MAJOR.MINOR: STEP'" },
	{ "since 6.9:", "expected 'since MAJOR.MINOR: STEP'" },
	{ "since 6.9: since 6.10: fill 0 1 1", "'since' given twice" },
	{ "since 6.9: before 6.9: fill 0 1 1", "'since 6.9' and 'before 6.9' leave no kernel" },
	{ "before 6.9: frob", "unknown step 'frob'" },
	{ "compact 1", "expected 'compact'" },
	{ "madvise 0 1 sideways", "'sideways' is not mergeable|unmergeable|" },
	{ "mprotect 0 1 rx", "'rx' is not none|ro|rw" },
};

/* "since X.Y:" and "before X.Y:" bound the kernels a step runs on. */
static void test_kernel_bounds(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) steps = NULL;
	g_autoptr(GString) why = g_string_new(NULL);
	const struct spte_step *s;

	steps = spte_script_parse("since 6.9: fill 0 1 1; before 6.10: fill 0 1 2;"
				  "before 6.12: since 6.6: fill 0 1 3; fill 0 1 4",
				  &error);
	g_assert_no_error(error);
	g_assert_cmpuint(steps->len, ==, 4);
	s = steps->pdata[0];
	g_assert_true(spte_verb_named(s->verb, "fill"));
	g_assert_cmpstr(s->text, ==, "since 6.9: fill 0 1 1");
	g_assert_cmphex(s->pattern, ==, 0x0101010101010101ULL);
	g_assert_true(spte_step_runs_on(s, SPTE_KMAJMIN(6, 9), why));
	g_assert_true(spte_step_runs_on(s, SPTE_KMAJMIN(6, 12), why));
	g_assert_false(spte_step_runs_on(s, SPTE_KMAJMIN(6, 1), why));
	g_assert_cmpstr(why->str, ==, "kernel 6.1 is before 6.9");
	s = steps->pdata[1];
	g_assert_true(spte_step_runs_on(s, SPTE_KMAJMIN(6, 1), why));
	g_string_truncate(why, 0);
	g_assert_false(spte_step_runs_on(s, SPTE_KMAJMIN(6, 10), why));
	g_assert_cmpstr(why->str, ==, "kernel 6.10 is not before 6.10");
	s = steps->pdata[2];
	g_assert_false(spte_step_runs_on(s, SPTE_KMAJMIN(6, 1), why));
	g_assert_true(spte_step_runs_on(s, SPTE_KMAJMIN(6, 6), why));
	g_assert_false(spte_step_runs_on(s, SPTE_KMAJMIN(6, 12), why));
	s = steps->pdata[3];
	g_assert_true(spte_step_runs_on(s, SPTE_KMAJMIN(5, 4), why));
	g_assert_true(spte_step_runs_on(s, SPTE_KMAJMIN(7, 0), why));
	/* the version order is numeric: 6.10 comes after 6.9 */
	g_assert_cmpuint(SPTE_KMAJMIN(6, 10), >, SPTE_KMAJMIN(6, 9));
}

static void test_bad_scripts(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(bad_scripts); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) steps = spte_script_parse(bad_scripts[i].script,
							       &error);

		g_assert_null(steps);
		g_assert_error(error, SPTE_ERROR, SPTE_ERROR_INVALID);
		spte_assert_contains(error->message, bad_scripts[i].message);
	}
}

/* Every family's usage lines read as grammars; bad ones say why. */
static void test_verb_usage(void)
{
	static const struct spte_step_word colours[] = {
		{ "red", 1 }, { "blue", 2 }, { NULL, 0 },
	};
	static const struct {
		struct spte_verb verb;
		const char *message;	/* NULL: it reads */
	} usages[] = {
		{ { .usage = "paint GPA PAGES red|blue", .words = colours }, NULL },
		{ { .usage = "paint GPA PAGES COLOUR", .words = colours }, NULL },
		{ { .usage = "wait [ROUNDS]" }, NULL },
		{ { .usage = "peek GPA PAGES read|snapshot" }, NULL },
		{ { .usage = "paint GPA blue|red", .words = colours },
		  "verb usage 'paint GPA blue|red': 'blue|red' is not its words, red|blue" },
		{ { .usage = "peek GPA read|sideways" },
		  "'sideways' is no argument kind nor mode" },
		{ { .usage = "wait [ROUNDS] GPA" },
		  "'GPA' follows an optional argument" },
		{ { .usage = "many GPA PAGES PATTERN SIZE GPA" },
		  "'GPA' is one too many" },
		{ { .usage = "lower gpa" }, "'gpa' is no argument kind" },
	};
	g_autoptr(GError) error = NULL;

	g_assert_true(spte_verbs_check(&error));
	g_assert_no_error(error);
	for (guint i = 0; i < G_N_ELEMENTS(usages); i++) {
		gboolean ok = spte_verb_usage_check(&usages[i].verb, &error);

		if (!usages[i].message) {
			g_assert_no_error(error);
			g_assert_true(ok);
			continue;
		}
		g_assert_false(ok);
		g_assert_error(error, SPTE_ERROR, SPTE_ERROR_INVALID);
		spte_assert_contains(error->message, usages[i].message);
		g_clear_error(&error);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/parse/size", test_sizes);
	g_test_add_func("/parse/u64", test_u64);
	g_test_add_func("/parse/script/good", test_script);
	g_test_add_func("/parse/script/steps", test_steps);
	g_test_add_func("/parse/script/help", test_help);
	g_test_add_func("/parse/script/bad", test_bad_scripts);
	g_test_add_func("/parse/script/kernel-bounds", test_kernel_bounds);
	g_test_add_func("/parse/script/verb-usage", test_verb_usage);
	return g_test_run();
}
