// SPDX-License-Identifier: GPL-2.0
/* Scenario files: the built-ins parse, and a bad file says where and why. */
#include "language.h"
#include "requires.h"
#include "scenario_file.h"
#include "spte-test.h"
#include "spte_error.h"

/* spte lists scenarios/list ($SPTE_SCENARIO_LIST), in its order, and each loads. */
static void test_builtins(void)
{
	const char *list_file = g_getenv("SPTE_SCENARIO_LIST");
	g_autofree char *list = NULL;
	g_autoptr(GError) list_error = NULL;
	g_auto(GStrv) expected = NULL;
	g_auto(GStrv) names = spte_scenario_builtin_names();

	g_assert_nonnull(list_file);
	g_file_get_contents(list_file, &list, NULL, &list_error);
	g_assert_no_error(list_error);
	g_strchomp(list);
	expected = g_strsplit(list, "\n", -1);
	g_assert_cmpuint(g_strv_length(expected), >, 0);
	g_assert_true(g_strv_equal((const char *const *)names,
				   (const char *const *)expected));
	for (guint i = 0; names[i]; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(spte_scenario) sc = spte_scenario_load(names[i],
								 &error);

		g_assert_no_error(error);
		g_assert_cmpstr(sc->name, ==, names[i]);
		g_assert_nonnull(sc->summary);
		g_assert_cmpuint(sc->steps->len, >, 3);
		/* every scenario checks the guest's data and audits the mirror */
		{
			gboolean verify = FALSE, audit = FALSE;

			for (guint k = 0; k < sc->steps->len; k++) {
				const struct spte_step *s = sc->steps->pdata[k];

				verify |= spte_verb_named(s->verb, "verify");
				audit |= spte_verb_named(s->verb, "audit");
			}
			g_assert_true(verify && audit);
		}
	}
}

static const char good[] =
	"# a comment\n"
	"[scenario]\n"
	"name = mine\n"
	"summary = what it shows\n"
	"memory = 8M\n"
	"backing = memfd\n"
	"thp = hugepage\n"
	"requires = module numa=2\n"
	"sequence = invalidate_range_start:CLEAR change_pte? invalidate_range_end\n"
	"\n"
	"[steps]\n"
	"fill 0 16 0x5a\n"
	"  # indented comment\n"
	"map 0 16 write\n"
	"expect mirror 0 16 4k rw !young node=0\n"
	"expect count 0 16 clear_flush_young=1 >= 2\n"
	"expect sequence 0 16\n"
	"dump before\n"
	"expect unchanged 0 16 before\n";

static void test_good(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(spte_scenario) sc = spte_scenario_parse(good, "mine.scenario",
							  "file-name", &error);
	const struct spte_step *s;

	g_assert_no_error(error);
	g_assert_cmpstr(sc->name, ==, "mine");
	g_assert_cmpstr(sc->summary, ==, "what it shows");
	g_assert_cmpuint(sc->mem.size, ==, 8 << 20);
	g_assert_cmpint(sc->mem.backing, ==, SPTE_BACKING_MEMFD);
	g_assert_cmpint(sc->mem.thp, ==, SPTE_THP_HUGEPAGE);
	g_assert_cmpuint(sc->numa_nodes, ==, 2);
	g_assert_true(g_strv_contains((const char *const *)sc->requires,
				      "module"));
	g_assert_cmpuint(sc->steps->len, ==, 7);
	s = sc->steps->pdata[0];
	g_assert_cmpuint(s->index, ==, 12);	/* the line number */
	s = sc->steps->pdata[2];
	g_assert_true(spte_verb_named(s->verb, "expect"));
	g_assert_cmpstr(s->name, ==, "mirror");
	g_assert_cmpuint(s->pages, ==, 16);
	g_assert_cmpstr(s->words[2], ==, "!young");
	g_assert_true(s->needs_mirror);
	s = sc->steps->pdata[5];
	g_assert_cmpstr(s->name, ==, "before");
}

static const struct {
	const char *text;
	const char *message;
} bad_files[] = {
	{ "[scenario]\nsummary = s\n[steps]\nfill 0 1 1\nfrobnicate 1\n",
	  "f.scenario:5: unknown step 'frobnicate'" },
	{ "[scenario]\nsummary = s\n[steps]\nfill 0 lots 1\n",
	  "f.scenario:4: PAGES: 'lots' is not a number" },
	{ "[scenario]\nsummary = s\n[steps]\nfill 0x1001 1 1\n",
	  "f.scenario:4: GPA 0x1001 is not 4 KiB aligned" },
	{ "[scenario]\nsummary = s\n[steps]\nmap 0 1\n",
	  "f.scenario:4: expected 'map GPA PAGES read|write|snapshot'" },
	{ "[scenario]\nmemory = 4M\n[steps]\nfill 0 1 1\n",
	  "f.scenario:1: [scenario] needs a 'summary" },
	{ "[scenario]\nsummary = s\n",
	  "f.scenario: no steps" },
	{ "[scenario]\nsummary = s\ncolour = blue\n[steps]\nfill 0 1 1\n",
	  "f.scenario:3: unknown key 'colour'" },
	{ "[scenario]\nsummary = s\nsummary = t\n[steps]\nfill 0 1 1\n",
	  "f.scenario:3: 'summary' given twice (first on line 2)" },
	{ "[scenario]\nsummary = s\nmemory = lots\n[steps]\nfill 0 1 1\n",
	  "f.scenario:3: memory: 'lots' is not a number" },
	{ "[scenario]\nsummary = s\nmemory = 3M\n[steps]\nfill 0 1 1\n",
	  "f.scenario:3: memory = 3M is not a multiple of 2M" },
	{ "[scenario]\nsummary = s\nthp = always\n[steps]\nfill 0 1 1\n",
	  "f.scenario:3: thp = always: expected default, hugepage or nohugepage" },
	{ "[scenario]\nsummary = s\nbacking = floppy\n[steps]\nfill 0 1 1\n",
	  "f.scenario:3: " },
	{ "[scenario]\nsummary = s\nrequires = module gpu\n[steps]\nfill 0 1 1\n",
	  "f.scenario:3: requires: unknown 'gpu'" },
	{ "[scenario]\nsummary = s\nsequence = invalidate_range_start:NOPE\n"
	  "[steps]\nfill 0 1 1\n",
	  "f.scenario:3: sequence: unknown range event 'NOPE'" },
	{ "fill 0 1 1\n[scenario]\nsummary = s\n",
	  "f.scenario:1: 'fill 0 1 1' before the [scenario] group" },
	{ "[scenario]\nsummary = s\n[stepz]\n",
	  "f.scenario:3: unexpected group [stepz]" },
	{ "[scenario]\nsummary = s\njust words\n[steps]\nfill 0 1 1\n",
	  "f.scenario:3: expected 'key = value' in [scenario]" },
	{ "[scenario]\nsummary = s\n[steps]\nexpect mirror 0 1 purple\n",
	  "f.scenario:4: unknown property 'purple'" },
	{ "[scenario]\nsummary = s\n[steps]\nexpect mirror 0 1\n",
	  "f.scenario:4: expect mirror: name at least one property" },
	{ "[scenario]\nsummary = s\n[steps]\nexpect primary 0 1 node=x\n",
	  "f.scenario:4: node: 'x' is not a number" },
	{ "[scenario]\nsummary = s\n[steps]\nexpect sequence 0 1 change_ptx\n",
	  "f.scenario:4: unknown notifier callback 'change_ptx'" },
	{ "[scenario]\nsummary = s\n[steps]\nexpect count 0 1 release > 1\n",
	  "f.scenario:4: expected 'expect count GPA PAGES EVENT >=|<=|== N'" },
	{ "[scenario]\nsummary = s\n[steps]\nexpect weather 0 1\n",
	  "f.scenario:4: expected 'expect mirror|primary|kvm|sequence" },
	{ "[scenario]\nsummary = s\n[steps]\nmadvise 0 1 forget\n",
	  "f.scenario:4: 'forget' is not mergeable|unmergeable" },
	{ "[scenario]\nsummary = s\n[steps]\nksm-scan many\n",
	  "f.scenario:4: number: 'many' is not a number" },
	{ "[scenario]\nsummary = s\n[steps]\nfill 0 1 1\nmap 0 1 read\n",
	  "f.scenario:5: 'map 0 1 read' acts on the mirror: add 'module' to requires" },
	{ "[scenario]\nname = a b\nsummary = s\n[steps]\nfill 0 1 1\n",
	  "f.scenario:2: name 'a b': use letters, digits" },
};

static void test_bad(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(bad_files); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(spte_scenario) sc = spte_scenario_parse(
			bad_files[i].text, "f.scenario", "f", &error);

		g_assert_null(sc);
		g_assert_error(error, SPTE_ERROR, SPTE_ERROR_INVALID);
		spte_assert_contains(error->message, bad_files[i].message);
	}
}

/* A file at @root + @path, with its directories. */
static void plant(const char *root, const char *path, const char *text)
{
	g_free(spte_test_file(root, path, text));
}

static enum spte_requires_lack lack(const char *root, const char *words,
				    const char **word, char **what)
{
	g_auto(GStrv) w = g_strsplit(words, " ", -1);

	g_clear_pointer(what, g_free);
	*word = NULL;
	return spte_requires_first_lack((const char *const *)w, root, word,
					what);
}

/*
 * What the kernel lacks is told apart from what this machine lacks, and
 * says which option and which file.
 */
static void test_requires(void)
{
	g_autofree char *root = g_dir_make_tmp("spte-requires-XXXXXX", NULL);
	g_autofree char *what = NULL;
	g_autofree char *list = spte_requires_list();
	const char *word;

	g_assert_nonnull(root);
	spte_assert_contains(list, "damon");
	spte_assert_contains(list, "lru_gen");
	g_assert_true(spte_requires_known("numa=2"));
	g_assert_false(spte_requires_known("gpu"));

	g_assert_cmpint(lack(root, "module damon", &word, &what), ==,
			SPTE_REQUIRES_SETUP);
	g_assert_cmpstr(word, ==, "module");
	g_assert_cmpstr(what, ==, "the spte_mirror module (/dev/spte_mirror)");

	plant(root, "/dev/spte_mirror", "");
	g_assert_cmpint(lack(root, "module damon", &word, &what), ==,
			SPTE_REQUIRES_KERNEL);
	g_assert_cmpstr(word, ==, "damon");
	g_assert_cmpstr(what, ==, "DAMON's sysfs interface (CONFIG_DAMON_SYSFS: "
			"/sys/kernel/mm/damon/admin is missing)");
	plant(root, "/sys/kernel/mm/damon/admin/kdamonds/nr_kdamonds", "0\n");
	g_assert_cmpint(lack(root, "module damon", &word, &what), ==,
			SPTE_REQUIRES_MET);

	/* the kernel has the multi-gen LRU, this machine has no debugfs */
	plant(root, "/sys/kernel/mm/lru_gen/enabled", "0x0000\n");
	g_assert_cmpint(lack(root, "lru_gen", &word, &what), ==,
			SPTE_REQUIRES_SETUP);
	spte_assert_contains(what, "debugfs at /sys/kernel/debug");
	plant(root, "/sys/kernel/debug/lru_gen", "");
	g_assert_cmpint(lack(root, "lru_gen", &word, &what), ==,
			SPTE_REQUIRES_MET);

	/* /proc/swaps with its header only: no active area */
	plant(root, "/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n");
	g_assert_cmpint(lack(root, "swap", &word, &what), ==,
			SPTE_REQUIRES_SETUP);
	plant(root, "/proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n"
	      "/dev/zram0\tpartition\t524284\t0\t100\n");
	g_assert_cmpint(lack(root, "swap", &word, &what), ==,
			SPTE_REQUIRES_MET);

	g_assert_cmpint(lack(root, "ksm", &word, &what), ==,
			SPTE_REQUIRES_KERNEL);
	g_assert_cmpstr(what, ==, "KSM (CONFIG_KSM: /sys/kernel/mm/ksm/run is "
			"missing)");

	spte_test_remove_tree(root);
}

static void test_cli(void)
{
	struct spte_test_run r;

	spte_test_run(&r, "scenario", "list", NULL);
	g_assert_cmpint(r.status, ==, 0);
	spte_assert_contains(r.out, "ksm-merge ");
	spte_assert_contains(r.out, "reclaim-swap ");
	spte_test_run_clear(&r);

	spte_test_run(&r, "scenario", "show", "thp-collapse", NULL);
	g_assert_cmpint(r.status, ==, 0);
	spte_assert_contains(r.out, "madvise 0 512 collapse");
	spte_test_run_clear(&r);

	spte_test_run(&r, "scenario", "run", "no-such-thing", NULL);
	g_assert_cmpint(r.status, ==, 1);
	spte_assert_contains(r.err, "no scenario 'no-such-thing'");
	spte_test_run_clear(&r);

	spte_test_run(&r, "scenario", "frob", NULL);
	g_assert_cmpint(r.status, ==, 2);
	spte_test_run_clear(&r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/scenario/builtins", test_builtins);
	g_test_add_func("/scenario/good", test_good);
	g_test_add_func("/scenario/bad", test_bad);
	g_test_add_func("/scenario/cli", test_cli);
	g_test_add_func("/scenario/requires", test_requires);
	return g_test_run();
}
