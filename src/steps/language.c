// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "language.h"
#include "parse.h"
#include "session.h"
#include "spte_error.h"

enum arg_kind {
	ARG_GPA, ARG_PAGES, ARG_PATTERN, ARG_MODE, ARG_FILE, ARG_NAME,
	ARG_COUNT, ARG_SIZE,
};

struct verb {
	const char *name;
	enum spte_step_where where;
	guint32 op;			/* agent op, or 0 for other verbs */
	enum arg_kind args[4];
	guint nargs;
	guint optional;			/* trailing args that may be left out */
	guint modes;			/* bitmask of allowed spte_step_mode */
	const char *const *names;	/* allowed words for ARG_NAME */
	spte_step_fn run;
	/* verbs with a grammar of their own parse the words after the verb */
	gboolean (*parse)(struct spte_step *step, GError **error);
	const char *usage;
	const char *help;
};

#define MODE(m) (1U << (m))

static const char *const advice_names[] = {
	"mergeable", "unmergeable", "hugepage", "nohugepage", "dontneed",
	"collapse", "pageout", "cold", "willneed", NULL
};
static const char *const prot_names[] = { "none", "ro", "rw", NULL };

static const struct verb verbs[] = {
	{ "fill", SPTE_STEP_AGENT, SPTE_OP_FILL,
	  { ARG_GPA, ARG_PAGES, ARG_PATTERN }, 3, 0, 0, NULL, spte_step_agent,
	  NULL, "fill GPA PAGES PATTERN",
	  "guest writes PATTERN to every 64-bit word (a byte is repeated)" },
	{ "touch", SPTE_STEP_AGENT, 0,
	  { ARG_GPA, ARG_PAGES, ARG_MODE }, 3, 0,
	  MODE(SPTE_MODE_READ) | MODE(SPTE_MODE_WRITE), NULL, spte_step_agent,
	  NULL, "touch GPA PAGES read|write",
	  "guest reads one word per page, or rewrites it with its own value" },
	{ "verify", SPTE_STEP_AGENT, SPTE_OP_VERIFY,
	  { ARG_GPA, ARG_PAGES, ARG_PATTERN }, 3, 0, 0, NULL, spte_step_agent,
	  NULL, "verify GPA PAGES PATTERN",
	  "check: guest compares every word with PATTERN" },
	{ "checksum", SPTE_STEP_AGENT, SPTE_OP_CHECKSUM,
	  { ARG_GPA, ARG_PAGES }, 2, 0, 0, NULL, spte_step_agent,
	  NULL, "checksum GPA PAGES",
	  "check: guest's FNV-1a over the range equals the VMM's" },
	{ "crash", SPTE_STEP_AGENT, SPTE_OP_CRASH, { 0 }, 0, 0, 0, NULL,
	  spte_step_agent, NULL, "crash",
	  "guest raises #UD with no IDT: a triple fault, for testing" },

	{ "map", SPTE_STEP_MIRROR, 0, { ARG_GPA, ARG_PAGES, ARG_MODE }, 3, 0,
	  MODE(SPTE_MODE_READ) | MODE(SPTE_MODE_WRITE) | MODE(SPTE_MODE_SNAPSHOT),
	  NULL, spte_step_map, NULL, "map GPA PAGES read|write|snapshot",
	  "mirror: fault the range in (a write fault breaks COW/KSM), or "
	  "snapshot what the primary maps" },
	{ "unmap", SPTE_STEP_MIRROR, 0, { ARG_GPA, ARG_PAGES }, 2, 0, 0, NULL,
	  spte_step_unmap, NULL, "unmap GPA PAGES",
	  "mirror: zap the range's leaves (the primary keeps its pages)" },
	{ "access", SPTE_STEP_MIRROR, 0, { ARG_GPA, ARG_PAGES, ARG_MODE }, 3, 0,
	  MODE(SPTE_MODE_READ) | MODE(SPTE_MODE_WRITE), NULL, spte_step_access,
	  NULL, "access GPA PAGES read|write",
	  "mirror: device read (checksummed) or rewrite of the range through "
	  "the shadow table" },
	{ "access-start", SPTE_STEP_MIRROR, 0,
	  { ARG_GPA, ARG_PAGES, ARG_MODE }, 3, 0,
	  MODE(SPTE_MODE_READ) | MODE(SPTE_MODE_WRITE), NULL,
	  spte_step_access_start, NULL, "access-start GPA PAGES read|write",
	  "mirror: a VMM thread repeats 'access' every millisecond until "
	  "access-stop" },
	{ "access-stop", SPTE_STEP_MIRROR, 0, { 0 }, 0, 0, 0, NULL,
	  spte_step_access_stop, NULL, "access-stop",
	  "mirror: end access-start's loop; prints its passes" },
	{ "dump", SPTE_STEP_MIRROR, 0, { ARG_FILE }, 1, 1, 0, NULL,
	  spte_step_dump, NULL, "dump [NAME|FILE.json]",
	  "mirror: print the shadow table; keep it as NAME (before, after) "
	  "for the report, or save it as JSON" },
	{ "events", SPTE_STEP_MIRROR, 0, { 0 }, 0, 0, 0, NULL, spte_step_events,
	  NULL, "events",
	  "mirror: print the notifier timeline since the last 'events'" },
	{ "audit", SPTE_STEP_MIRROR, 0, { 0 }, 0, 0, 0, NULL, spte_step_audit,
	  NULL, "audit",
	  "check: every mirror leaf agrees with the primary page tables" },
	{ "view", SPTE_STEP_HOST, 0, { ARG_GPA, ARG_PAGES }, 2, 0, 0, NULL,
	  spte_step_view, NULL, "view GPA PAGES",
	  "primary PTEs, mirror leaves and KVM's own MMU side by side" },

	{ "madvise", SPTE_STEP_HOST, 0, { ARG_GPA, ARG_PAGES, ARG_NAME }, 3, 0,
	  0, advice_names, spte_step_madvise, NULL,
	  "madvise GPA PAGES ADVICE",
	  "madvise(MADV_ADVICE) on guest RAM: mergeable, hugepage, collapse, "
	  "dontneed, pageout, ..." },
	{ "mprotect", SPTE_STEP_HOST, 0, { ARG_GPA, ARG_PAGES, ARG_NAME }, 3, 0,
	  0, prot_names, spte_step_mprotect, NULL, "mprotect GPA PAGES none|ro|rw",
	  "change the protection of guest RAM in the VMM" },
	{ "clear-refs", SPTE_STEP_HOST, 0, { 0 }, 0, 0, 0, NULL,
	  spte_step_clear_refs, NULL, "clear-refs",
	  "clear the primary's young bits (/proc/self/clear_refs), which "
	  "secondary MMUs are not told about" },
	{ "ksm-scan", SPTE_STEP_HOST, 0, { ARG_COUNT }, 1, 1, 0, NULL,
	  spte_step_ksm_scan, NULL, "ksm-scan [SCANS]",
	  "run ksmd until full_scans has grown by SCANS (default 2)" },
	{ "khugepaged-scan", SPTE_STEP_HOST, 0, { ARG_COUNT }, 1, 1, 0, NULL,
	  spte_step_khugepaged_scan, NULL, "khugepaged-scan [SCANS]",
	  "speed khugepaged up until full_scans has grown by SCANS "
	  "(default 2)" },
	{ "migrate", SPTE_STEP_HOST, 0, { ARG_GPA, ARG_PAGES, ARG_COUNT }, 3, 0,
	  0, NULL, spte_step_migrate, NULL, "migrate GPA PAGES NODE",
	  "move_pages(2) the range to NUMA node NODE" },
	{ "uffd-wp", SPTE_STEP_HOST, 0, { ARG_GPA, ARG_PAGES }, 2, 0, 0, NULL,
	  spte_step_uffd_wp, NULL, "uffd-wp GPA PAGES",
	  "userfaultfd write-protect the range, as a live snapshot does; a "
	  "VMM thread resolves the guest's write faults" },
	{ "uffd-unwp", SPTE_STEP_HOST, 0, { ARG_GPA, ARG_PAGES }, 2, 0, 0, NULL,
	  spte_step_uffd_unwp, NULL, "uffd-unwp GPA PAGES",
	  "lift the userfaultfd write protection of the range" },
	{ "fork", SPTE_STEP_HOST, 0, { 0 }, 0, 0, 0, NULL, spte_step_fork,
	  NULL, "fork",
	  "the VMM forks; the child keeps its copy of guest RAM until "
	  "fork-end" },
	{ "fork-end", SPTE_STEP_HOST, 0, { 0 }, 0, 0, 0, NULL,
	  spte_step_fork_end, NULL, "fork-end",
	  "the forked child exits and is reaped" },
	{ "reclaim", SPTE_STEP_HOST, 0, { ARG_SIZE }, 1, 0, 0, NULL,
	  spte_step_reclaim, NULL, "reclaim SIZE",
	  "reclaim SIZE from the VMM's memory cgroup, as memory pressure "
	  "would (aging, then swap-out)" },
	{ "damon-start", SPTE_STEP_HOST, 0, { ARG_GPA, ARG_PAGES }, 2, 0, 0,
	  NULL, spte_step_damon_start, NULL, "damon-start GPA PAGES",
	  "a DAMON kdamond (vaddr, this pid) watches the range, one region "
	  "per page" },
	{ "damon-wait", SPTE_STEP_HOST, 0, { ARG_COUNT }, 1, 1, 0, NULL,
	  spte_step_damon_wait, NULL, "damon-wait [AGGREGATIONS]",
	  "wait until the kdamond has aggregated AGGREGATIONS more times "
	  "(default 2)" },
	{ "damon-stop", SPTE_STEP_HOST, 0, { 0 }, 0, 0, 0, NULL,
	  spte_step_damon_stop, NULL, "damon-stop",
	  "turn the kdamond off and remove it" },
	{ "lru-gen-age", SPTE_STEP_HOST, 0, { 0 }, 0, 0, 0, NULL,
	  spte_step_lru_gen_age, NULL, "lru-gen-age",
	  "multi-gen LRU: age the VMM's memcg once (a new youngest "
	  "generation)" },
	{ "lru-gen-evict", SPTE_STEP_HOST, 0, { 0 }, 0, 0, 0, NULL,
	  spte_step_lru_gen_evict, NULL, "lru-gen-evict",
	  "multi-gen LRU: evict all but the two youngest generations of the "
	  "VMM's memcg" },
	{ "exit", SPTE_STEP_MIRROR, 0, { 0 }, 0, 0, 0, NULL, spte_step_exit,
	  NULL, "exit",
	  "a forked VMM exits without closing anything, watched by a mirror "
	  "attached to its mm" },

	{ "expect", SPTE_STEP_EXPECT, 0, { 0 }, 0, 0, 0, NULL, spte_step_expect,
	  spte_expect_parse, "expect WHAT ...",
	  "check: mirror|primary GPA PAGES PROPS, sequence|count|none GPA "
	  "PAGES EVENTS, changed|unchanged GPA PAGES DUMP, damon GPA PAGES "
	  "hot|cold (see docs)" },
};

static const char *const mode_names[] = {
	[SPTE_MODE_READ] = "read",
	[SPTE_MODE_WRITE] = "write",
	[SPTE_MODE_SNAPSHOT] = "snapshot",
};

void spte_step_free(struct spte_step *step)
{
	if (!step)
		return;
	g_free(step->text);
	g_free(step->file);
	g_free(step->name);
	g_strfreev(step->words);
	g_free(step);
}

static gboolean parse_mode(const struct verb *v, const char *word,
			   enum spte_step_mode *mode, GError **error)
{
	g_autoptr(GString) allowed = g_string_new(NULL);

	for (guint m = SPTE_MODE_READ; m < G_N_ELEMENTS(mode_names); m++) {
		if (!(v->modes & MODE(m)))
			continue;
		if (g_strcmp0(word, mode_names[m]) == 0) {
			*mode = m;
			return TRUE;
		}
		g_string_append_printf(allowed, "%s%s", allowed->len ? "|" : "",
				       mode_names[m]);
	}
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
		    "'%s' is not %s", word, allowed->str);
	return FALSE;
}

static gboolean parse_name(const struct verb *v, const char *word,
			   struct spte_step *step, GError **error)
{
	g_autofree char *allowed = NULL;

	for (guint i = 0; v->names && v->names[i]; i++) {
		if (g_str_equal(word, v->names[i])) {
			step->name = g_strdup(word);
			return TRUE;
		}
	}
	allowed = g_strjoinv("|", (char **)v->names);
	g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
		    "'%s' is not %s", word, allowed);
	return FALSE;
}

static gboolean parse_arg(const struct verb *v, enum arg_kind kind,
			  const char *word, struct spte_step *step,
			  GError **error)
{
	guint64 value;

	switch (kind) {
	case ARG_GPA:
		if (!spte_parse_u64(word, "GPA", &value, error))
			return FALSE;
		if (value % 4096) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "GPA %s is not 4 KiB aligned", word);
			return FALSE;
		}
		step->gpa = value;
		return TRUE;
	case ARG_PAGES:
		if (!spte_parse_u64(word, "PAGES", &value, error))
			return FALSE;
		if (value == 0 || value > (G_MAXUINT64 >> 12)) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "PAGES %s is out of range", word);
			return FALSE;
		}
		step->pages = value;
		return TRUE;
	case ARG_PATTERN:
		if (!spte_parse_u64(word, "PATTERN", &value, error))
			return FALSE;
		/* A byte pattern means every byte, as memset would. */
		step->pattern = value <= 0xff ? value * 0x0101010101010101ULL
					      : value;
		return TRUE;
	case ARG_MODE:
		return parse_mode(v, word, &step->mode, error);
	case ARG_FILE:
		/* dump NAME keeps it for the report; dump FILE.json saves it */
		if (g_str_has_suffix(word, ".json") || strchr(word, '/'))
			step->file = g_strdup(word);
		else
			step->name = g_strdup(word);
		return TRUE;
	case ARG_NAME:
		return parse_name(v, word, step, error);
	case ARG_COUNT:
		return spte_parse_u64(word, "number", &step->count, error);
	case ARG_SIZE:
		return spte_parse_size(word, "SIZE", &step->count, error);
	}
	g_assert_not_reached();
}

gboolean spte_step_parse_range(struct spte_step *step, const char *gpa,
			       const char *pages, GError **error)
{
	return parse_arg(NULL, ARG_GPA, gpa, step, error) &&
	       parse_arg(NULL, ARG_PAGES, pages, step, error);
}

static const struct verb *find_verb(const char *name)
{
	for (guint i = 0; i < G_N_ELEMENTS(verbs); i++)
		if (g_strcmp0(name, verbs[i].name) == 0)
			return &verbs[i];
	return NULL;
}

guint32 spte_kernel_majmin(void)
{
	struct utsname u;
	unsigned int major, minor;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return 0;
	return SPTE_KMAJMIN(major, minor);
}

gboolean spte_step_runs_on(const struct spte_step *step, guint32 majmin,
			   GString *why)
{
	guint32 bound;
	const char *rel;

	if (step->since && majmin < step->since) {
		bound = step->since;
		rel = "before";
	} else if (step->before && majmin >= step->before) {
		bound = step->before;
		rel = "not before";
	} else {
		return TRUE;
	}
	g_string_append_printf(why, "kernel %u.%u is %s %u.%u", majmin >> 16,
			       majmin & 0xffff, rel, bound >> 16, bound & 0xffff);
	return FALSE;
}

/*
 * "since X.Y:" or "before X.Y:" at the start of @argv: set the bound and
 * return how many words it took (0 if there is none).
 */
static int parse_kernel_bound(char **argv, struct spte_step *step,
			      GError **error)
{
	unsigned int major, minor;
	char colon, extra;
	guint32 *bound;

	if (g_strcmp0(argv[0], "since") == 0)
		bound = &step->since;
	else if (g_strcmp0(argv[0], "before") == 0)
		bound = &step->before;
	else
		return 0;
	if (!argv[1] || sscanf(argv[1], "%u.%u%c%c", &major, &minor, &colon,
			       &extra) != 3 || colon != ':' || !argv[2]) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "expected '%s MAJOR.MINOR: STEP', e.g. '%s 6.9: expect ...'",
			    argv[0], argv[0]);
		return -1;
	}
	if (*bound) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "'%s' given twice", argv[0]);
		return -1;
	}
	*bound = SPTE_KMAJMIN(major, minor);
	return 2;
}

struct spte_step *spte_step_parse(const char *text, guint index,
				  GError **error)
{
	g_auto(GStrv) words = g_strsplit_set(text, " \t", -1);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(spte_step) step = g_new0(struct spte_step, 1);
	const struct verb *v;
	int n;

	for (guint i = 0; words[i]; i++)
		if (words[i][0])
			g_ptr_array_add(argv, words[i]);
	g_ptr_array_add(argv, NULL);

	/* at most one of each, in either order */
	for (int i = 0; i < 2; i++) {
		n = parse_kernel_bound((char **)argv->pdata, step, error);
		if (n < 0)
			return NULL;
		g_ptr_array_remove_range(argv, 0, n);
	}
	if (step->since && step->before && step->since >= step->before) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "'since %u.%u' and 'before %u.%u' leave no kernel",
			    step->since >> 16, step->since & 0xffff,
			    step->before >> 16, step->before & 0xffff);
		return NULL;
	}

	v = find_verb(argv->pdata[0]);
	if (!v) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "unknown step '%s' (see spte run --help)",
			    (char *)argv->pdata[0]);
		return NULL;
	}
	step->verb = v->name;
	step->where = v->where;
	step->needs_mirror = v->where == SPTE_STEP_MIRROR;
	step->index = index;
	step->text = g_strdup(text);
	step->op = v->op;
	if (v->parse) {
		step->words = g_strdupv((char **)argv->pdata + 1);
		if (!v->parse(step, error))
			return NULL;
		return g_steal_pointer(&step);
	}
	if (argv->len - 2 > v->nargs || argv->len - 2 < v->nargs - v->optional) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "expected '%s'", v->usage);
		return NULL;
	}
	for (guint i = 0; i < argv->len - 2; i++)
		if (!parse_arg(v, v->args[i], argv->pdata[i + 1], step, error))
			return NULL;
	if (g_strcmp0(v->name, "touch") == 0)
		step->op = step->mode == SPTE_MODE_WRITE ? SPTE_OP_TOUCH_WRITE
							 : SPTE_OP_TOUCH_READ;
	return g_steal_pointer(&step);
}

spte_step_fn spte_step_runner(const struct spte_step *step)
{
	const struct verb *v = find_verb(step->verb);

	g_assert(v);	/* steps only come from spte_step_parse() */
	return v->run;
}

GPtrArray *spte_script_parse(const char *script, GError **error)
{
	g_autoptr(GPtrArray) steps =
		g_ptr_array_new_with_free_func((GDestroyNotify)spte_step_free);
	g_auto(GStrv) parts = g_strsplit_set(script, ";\n", -1);
	guint index = 0;

	for (guint i = 0; parts[i]; i++) {
		char *text = g_strstrip(parts[i]);
		struct spte_step *step;

		if (!text[0] || text[0] == '#')
			continue;
		step = spte_step_parse(text, ++index, error);
		if (!step) {
			g_prefix_error(error, "step %u '%s': ", index, text);
			return NULL;
		}
		g_ptr_array_add(steps, step);
	}
	return g_steal_pointer(&steps);
}

char *spte_script_help(void)
{
	static const char *const titles[] = {
		[SPTE_STEP_AGENT] = "In the guest",
		[SPTE_STEP_MIRROR] = "On the mirror (needs --mirror)",
		[SPTE_STEP_HOST] = "On the host side of guest RAM",
		[SPTE_STEP_EXPECT] = "Checks",
	};
	GString *out = g_string_new("Script steps, separated by ';':\n");

	for (guint w = 0; w < G_N_ELEMENTS(titles); w++) {
		g_string_append_printf(out, " %s:\n", titles[w]);
		for (guint i = 0; i < G_N_ELEMENTS(verbs); i++)
			if (verbs[i].where == w)
				g_string_append_printf(out, "  %-34s %s\n",
						       verbs[i].usage,
						       verbs[i].help);
	}
	g_string_append(out, "GPA and PATTERN take decimal or 0x-hex; a "
			"PATTERN up to 0xff fills every byte.\n"
			"Mirror steps need --mirror and the spte_mirror module "
			"(in the lab VM: spte lab -- spte run --mirror ...).\n");
	return g_string_free(out, FALSE);
}

gboolean spte_step_describe_result(const struct spte_step *step,
				   const struct spte_guest_result *res,
				   GString *out)
{
	switch (res->status) {
	case SPTE_STATUS_OK:
		break;
	case SPTE_STATUS_BAD_RANGE:
		g_string_append(out, "FAILED: range outside guest RAM");
		return FALSE;
	case SPTE_STATUS_MISMATCH:
		g_string_append_printf(out, "FAILED: %" G_GUINT64_FORMAT
			" of %" G_GUINT64_FORMAT " words differ, first at gpa "
			"%#" G_GINT64_MODIFIER "x: %#018" G_GINT64_MODIFIER "x, "
			"expected %#018" G_GINT64_MODIFIER "x",
			res->bad_words, step->pages * 512, res->first_bad_gpa,
			res->first_bad_value, step->pattern);
		return FALSE;
	default:
		g_string_append_printf(out, "FAILED: agent status %u",
				       res->status);
		return FALSE;
	}
	switch (step->op) {
	case SPTE_OP_FILL:
		g_string_append_printf(out, "ok: %" G_GUINT64_FORMAT " pages "
				       "filled with %#018" G_GINT64_MODIFIER "x",
				       res->pages, step->pattern);
		break;
	case SPTE_OP_VERIFY:
		g_string_append_printf(out, "ok: %" G_GUINT64_FORMAT " pages, "
				       "all %" G_GUINT64_FORMAT " words match",
				       res->pages, res->pages * 512);
		break;
	case SPTE_OP_CHECKSUM:
		g_string_append_printf(out, "ok: fnv1a64 %#018"
				       G_GINT64_MODIFIER "x over %"
				       G_GUINT64_FORMAT " pages",
				       res->value, res->pages);
		break;
	default:
		g_string_append_printf(out, "ok: %" G_GUINT64_FORMAT " pages "
				       "touched", res->pages);
		break;
	}
	return TRUE;
}
