// SPDX-License-Identifier: GPL-2.0
/*
 * spte diff: compare two mirror dumps page by page, or with --kvm KVM's
 * own leaves at two named dumps.
 *
 *   spte diff A.json B.json	two dumps (or reports: their --from/--to dump)
 *   spte diff REPORT.json	a scenario report's "before" -> "after"
 *   spte diff --kvm ...	the same dumps, KVM's leaves at them
 *
 * A dump is what 'spte run --mirror --exec "dump FILE.json"' saves; a
 * report is an object with "dumps": {name: dump, ...}, "kvm_dumps": {name:
 * KVM's leaves, ...} or "kvm_leaves": "not tracked: WHY", and optionally
 * "scenario": "name".  Nothing else of a report is read.  The comparing
 * is inspect/'s (dump_diff.h, kvm_diff.h); this file reads and prints.
 */
#include <stdio.h>

#include "cli.h"
#include "dump_json.h"
#include "dump_diff.h"
#include "json_member.h"
#include "kvm_diff.h"
#include "kvm_snapshot_json.h"
#include "svg.h"
#include "spte_error.h"

struct diff_input {
	const char *path;
	JsonParser *parser;
	gboolean report;	/* a report, not a bare dump */
	JsonObject *dumps;	/* a report's "dumps", else NULL */
	JsonObject *kvm_dumps;	/* its "kvm_dumps", else NULL */
	const char *kvm_leaves;	/* its "kvm_leaves": why not tracked */
	const char *scenario;
	guint64 ram_size;	/* its "memory": {"size"}, else 0 */
};

static void input_clear(struct diff_input *in)
{
	g_clear_object(&in->parser);
}

/* @o.@member, an object of named records, makes @in a report. */
static gboolean report_object(struct diff_input *in, JsonObject *o,
			      const char *member, JsonObject **out,
			      GError **error)
{
	JsonNode *n = json_object_get_member(o, member);

	if (!n)
		return TRUE;
	if (!JSON_NODE_HOLDS_OBJECT(n)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "%s: the report's '%s' is not an object of named "
			    "dumps", in->path, member);
		return FALSE;
	}
	in->report = TRUE;
	*out = json_node_get_object(n);
	return TRUE;
}

static gboolean input_load(struct diff_input *in, const char *path,
			   GError **error)
{
	JsonNode *root, *n;
	JsonObject *o;

	in->path = path;
	in->parser = json_parser_new();
	/* json-glib's messages name the file already */
	if (!json_parser_load_from_file(in->parser, path, error))
		return FALSE;
	root = json_parser_get_root(in->parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "%s: expected a JSON object (a spte_mirror dump or "
			    "a scenario report)", path);
		return FALSE;
	}
	o = json_node_get_object(root);
	if (json_object_has_member(o, "scenario") &&
	    JSON_NODE_HOLDS_VALUE(json_object_get_member(o, "scenario")))
		in->scenario = json_object_get_string_member_with_default(o,
							"scenario", NULL);
	in->kvm_leaves = spte_json_string_or_null(o, "kvm_leaves");
	in->report = in->kvm_leaves != NULL;
	/* the extent of KVM's grids (write_svg()) */
	n = json_object_get_member(o, "memory");
	if (n && JSON_NODE_HOLDS_OBJECT(n))
		in->ram_size = json_object_get_int_member_with_default(
			json_node_get_object(n), "size", 0);
	return report_object(in, o, "dumps", &in->dumps, error) &&
	       report_object(in, o, "kvm_dumps", &in->kvm_dumps, error);
}

/* "a, b, c" or "none": the names a report has, for errors. */
static char *member_names(JsonObject *o)
{
	g_autoptr(GList) names = o ? json_object_get_members(o) : NULL;
	GString *have = g_string_new(NULL);

	for (GList *l = names; l; l = l->next)
		g_string_append_printf(have, "%s%s", have->len ? ", " : "",
				       (const char *)l->data);
	if (!have->len)
		g_string_append(have, "none");
	return g_string_free(have, FALSE);
}

/* The dump @name of a report, or the file itself if it is a dump. */
static struct spte_mirror_table *input_dump(struct diff_input *in,
					    const char *name, GError **error)
{
	struct spte_mirror_table *t;
	JsonNode *node;

	if (!in->report) {
		t = spte_dump_from_json(json_parser_get_root(in->parser), error);
		if (!t)
			g_prefix_error(error, "%s: ", in->path);
		return t;
	}
	node = in->dumps ? json_object_get_member(in->dumps, name) : NULL;
	if (!node) {
		g_autofree char *have = member_names(in->dumps);

		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "%s: the report has no dump '%s' (it has: %s)",
			    in->path, name, have);
		return NULL;
	}
	t = spte_dump_from_json(node, error);
	if (!t)
		g_prefix_error(error, "%s: dumps.%s: ", in->path, name);
	return t;
}

/* KVM's leaves at the dump @name of a report, or why there are none. */
static struct spte_kvm_snapshot *input_kvm(struct diff_input *in,
					   const char *name, GError **error)
{
	struct spte_kvm_snapshot *snap;
	JsonNode *node;

	if (!in->report) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "%s is a mirror dump: it has no KVM leaves (a "
			    "scenario report keeps them, in 'kvm_dumps')",
			    in->path);
		return NULL;
	}
	if (!in->kvm_dumps) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "%s: the report has no KVM leaves: %s", in->path,
			    in->kvm_leaves ? in->kvm_leaves :
			    "no 'kvm_dumps' (made before reports kept them?)");
		return NULL;
	}
	node = json_object_get_member(in->kvm_dumps, name);
	if (!node) {
		g_autofree char *have = member_names(in->kvm_dumps);
		gboolean mirror = in->dumps &&
				  json_object_has_member(in->dumps, name);

		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "%s: the report has no KVM leaves at dump '%s'%s "
			    "(it has them at: %s)", in->path, name,
			    mirror ? ", only the mirror's" : "", have);
		return NULL;
	}
	snap = spte_kvm_snapshot_from_json(node, error);
	if (!snap)
		g_prefix_error(error, "%s: kvm_dumps.%s: ", in->path, name);
	return snap;
}

static void free_table(struct spte_mirror_table **t)
{
	if (*t)
		spte_mirror_table_free(*t);
	*t = NULL;
}

struct diff_opts {
	gboolean as_json;
	gboolean kvm;
	char *from;
	char *to;
	char *svg;
};

/* What is compared: a dump name in each input, and how to call them. */
struct diff_sides {
	struct diff_input *in[2];
	const char *name[2];
	char *label[2];
	char *title;
	gboolean same_run;	/* one report: both sides of one session */
};

static void sides_clear(struct diff_sides *s)
{
	g_free(s->label[0]);
	g_free(s->label[1]);
	g_free(s->title);
}

static gboolean pick_sides(const struct diff_opts *o, int nfiles,
			   struct diff_input *in, struct diff_sides *s,
			   GError **error)
{
	if (nfiles == 1) {
		if (!in[0].report) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "%s is a single dump, not a scenario report: "
				    "give two dumps to compare", in[0].path);
			return FALSE;
		}
		s->in[0] = s->in[1] = &in[0];
		s->name[0] = o->from ? o->from : "before";
		s->name[1] = o->to ? o->to : "after";
		s->same_run = TRUE;
		for (int i = 0; i < 2; i++)
			s->label[i] = g_strdup(s->name[i]);
	} else {
		s->in[0] = &in[0];
		s->in[1] = &in[1];
		s->name[0] = o->from ? o->from : "after";
		s->name[1] = o->to ? o->to : "after";
		for (int i = 0; i < 2; i++)
			s->label[i] = in[i].report ?
				g_strdup_printf("%s:%s", in[i].path, s->name[i]) :
				g_strdup(in[i].path);
	}
	s->title = in[0].scenario ?
		g_strdup_printf("%s: %s -> %s", in[0].scenario, s->label[0],
				s->label[1]) :
		g_strdup_printf("%s -> %s", s->label[0], s->label[1]);
	return TRUE;
}

static gboolean write_svg(const struct diff_opts *o,
			  const struct diff_sides *s,
			  const struct spte_mirror_table *const tables[2],
			  const struct spte_kvm_snapshot *const kvm[2],
			  GError **error)
{
	const char *labels[] = { s->label[0], s->label[1] };
	/*
	 * KVM's grids cannot set the extent (the system slot is at 64 GiB):
	 * with them, guest RAM does; the mirror's alone keep theirs.
	 */
	guint64 ram = kvm ? MAX(s->in[0]->ram_size, s->in[1]->ram_size) : 0;
	g_autofree char *svg = spte_svg_render(s->title, ram, tables, kvm,
					       labels, 2, error);

	if (!svg || !g_file_set_contents(o->svg, svg, -1, error)) {
		g_prefix_error(error, "%s: ", o->svg);
		return FALSE;
	}
	fprintf(stderr, "spte diff: wrote %s\n", o->svg);
	return TRUE;
}

/* The diff as JSON, with what was compared. */
static void append_json(GString *out, JsonNode *node,
			const struct diff_sides *s)
{
	JsonObject *obj = json_node_get_object(node);
	g_autofree char *text = NULL;

	json_object_set_string_member(obj, "from", s->label[0]);
	json_object_set_string_member(obj, "to", s->label[1]);
	text = json_to_string(node, TRUE);
	g_string_append_printf(out, "%s\n", text);
}

/* The mirror's dumps of both sides; free_table() both either way. */
static gboolean load_tables(const struct diff_sides *s,
			    struct spte_mirror_table *t[2], GError **error)
{
	t[0] = input_dump(s->in[0], s->name[0], error);
	t[1] = t[0] ? input_dump(s->in[1], s->name[1], error) : NULL;
	return t[1] != NULL;
}

static gboolean diff_mirror(const struct diff_opts *o,
			    const struct diff_sides *s, GString *out,
			    GError **error)
{
	struct spte_mirror_table *t[2] = { NULL, NULL };
	g_autoptr(spte_dump_diff) d = NULL;
	gboolean ok = FALSE;

	if (!load_tables(s, t, error))
		goto out;
	d = spte_dump_diff_new(t[0], t[1]);
	if (o->svg && !write_svg(o, s, (const struct spte_mirror_table **)t,
				 NULL, error))
		goto out;
	if (o->as_json) {
		g_autoptr(JsonNode) node = spte_dump_diff_to_json(d);

		append_json(out, node, s);
	} else {
		g_string_append_printf(out, "%s\n", s->title);
		spte_dump_diff_format(d, out);
	}
	ok = TRUE;
out:
	free_table(&t[0]);
	free_table(&t[1]);
	return ok;
}

/* --svg --kvm: each side's mirror dump, KVM's grid beside it. */
static gboolean kvm_svg(const struct diff_opts *o, const struct diff_sides *s,
			const struct spte_kvm_snapshot *const kvm[2],
			GError **error)
{
	struct spte_mirror_table *t[2] = { NULL, NULL };
	gboolean ok = load_tables(s, t, error) &&
		      write_svg(o, s, (const struct spte_mirror_table **)t,
				kvm, error);

	if (!ok)
		g_prefix_error(error, "--svg draws the mirror's dumps, KVM's "
			       "leaves beside them: ");
	free_table(&t[0]);
	free_table(&t[1]);
	return ok;
}

static gboolean diff_kvm(const struct diff_opts *o,
			 const struct diff_sides *s, GString *out,
			 GError **error)
{
	g_autoptr(spte_kvm_snapshot) a = NULL, b = NULL;
	g_autoptr(spte_kvm_diff) d = NULL;

	a = input_kvm(s->in[0], s->name[0], error);
	b = a ? input_kvm(s->in[1], s->name[1], error) : NULL;
	if (!b)
		return FALSE;
	d = spte_kvm_diff_new(a, b, s->same_run);
	if (o->svg && !kvm_svg(o, s, (const struct spte_kvm_snapshot *[]){ a, b },
			       error))
		return FALSE;
	if (o->as_json) {
		g_autoptr(JsonNode) node = spte_kvm_diff_to_json(d);

		append_json(out, node, s);
	} else {
		g_string_append_printf(out, "%s, KVM's own leaves\n", s->title);
		spte_kvm_diff_format(d, s->label[0], s->label[1], out);
	}
	return TRUE;
}

static gboolean run_diff(const struct diff_opts *o, int nfiles, char **files,
			 GError **error)
{
	struct diff_input in[2] = { { 0 } };
	struct diff_sides sides = { 0 };
	g_autoptr(GString) out = g_string_new(NULL);
	gboolean ok = FALSE;

	for (int i = 0; i < nfiles; i++)
		if (!input_load(&in[i], files[i], error))
			goto out;
	if (!pick_sides(o, nfiles, in, &sides, error))
		goto out;
	ok = o->kvm ? diff_kvm(o, &sides, out, error) :
		      diff_mirror(o, &sides, out, error);
	if (ok)
		fputs(out->str, stdout);
out:
	sides_clear(&sides);
	input_clear(&in[0]);
	input_clear(&in[1]);
	return ok;
}

int spte_cmd_diff(int argc, char **argv)
{
	struct diff_opts o = { 0 };
	const GOptionEntry entries[] = {
		{ "json", 'j', 0, G_OPTION_ARG_NONE, &o.as_json,
		  "Print the diff as JSON", NULL },
		{ "kvm", 0, 0, G_OPTION_ARG_NONE, &o.kvm,
		  "Compare KVM's own leaves at the two dumps (the reports' "
		  "kvm_dumps) instead of the mirror's", NULL },
		{ "from", 0, 0, G_OPTION_ARG_STRING, &o.from,
		  "Dump of the first report to start from (default: before "
		  "with one report, after with two)", "NAME" },
		{ "to", 0, 0, G_OPTION_ARG_STRING, &o.to,
		  "Dump of the (last) report to compare with (default: after)",
		  "NAME" },
		{ "svg", 0, 0, G_OPTION_ARG_FILENAME, &o.svg,
		  "Also draw both dumps side by side into FILE.svg (with "
		  "--kvm, each with KVM's leaves beside it)", "FILE" },
		{ NULL }
	};
	g_autoptr(GError) error = NULL;
	int ret = 0;

	if (!spte_cli_options("diff", &argc, &argv, entries,
		"A.json [B.json] - compare two mirror dumps, or KVM's leaves "
		"at them",
		"Each file is a dump saved by the 'dump FILE.json' step of\n"
		"  spte run --mirror, or a scenario report (an object with\n"
		"  \"dumps\": {name: dump}).  With one report, its \"before\" and\n"
		"  \"after\" dumps are compared.  Pages are compared over GPAs\n"
		"  (a 2M leaf is 512 pages); runs of the same change fold into\n"
		"  one line named as a kernel engineer would: collapsed, split,\n"
		"  merged, un-shared, write-protected, zapped, faulted in...\n"
		"\nWith --kvm the same is done for KVM's own leaves at those\n"
		"  dumps, which a scenario report keeps (\"kvm_dumps\") when it\n"
		"  tracked them: leaves faulted in or zapped, moved to other\n"
		"  PFNs, collapsed or split (4K <-> 2M), W, A or D changed; a\n"
		"  snapshot whose model had a hole is said to be incomplete, and\n"
		"  a report without KVM's leaves at a dump says why.  Within one\n"
		"  report it also counts the leaves KVM aged in between.\n"
		"\nExit status: 0 compared, 1 unreadable input or no KVM leaves\n"
		"  to compare, 2 bad usage.\n")) {
		ret = 2;
		goto out;
	}
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "spte diff: expected A.json B.json or one "
			"REPORT.json (try 'spte diff --help')\n");
		ret = 2;
		goto out;
	}
	if (!run_diff(&o, argc - 1, argv + 1, &error)) {
		spte_cli_error("diff", error);
		ret = 1;
	}
out:
	g_free(o.from);
	g_free(o.to);
	g_free(o.svg);
	return ret;
}
