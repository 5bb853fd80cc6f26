// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's leaves at two dumps compared: the pages through the mirror's diff
 * (KVM's leaves read as a mirror dump), KVM's own facts around them; see
 * kvm_diff.h.
 */
#include "kvm_diff.h"
#include "kvm_snapshot_as_dump.h"

static const char *const level_names[] = {
	[SPTE_KVM_LEVEL_4K] = "4K", [2] = "2M", [SPTE_KVM_LEVEL_1G] = "1G",
};

static const struct spte_kvm_leaf *leaf_at(const struct spte_kvm_snapshot *s,
					   guint i)
{
	return i < s->leaves->len ?
	       &g_array_index(s->leaves, struct spte_kvm_leaf, i) : NULL;
}

/* -1, 0, 1 as @a sorts before, with, after @b: by GPA, then level. */
static int leaf_order(const struct spte_kvm_leaf *a,
		      const struct spte_kvm_leaf *b)
{
	if (a->gpa != b->gpa)
		return a->gpa < b->gpa ? -1 : 1;
	return (a->level > b->level) - (a->level < b->level);
}

/* Both snapshots are in that order: one merge walk pairs their leaves. */
static guint64 count_aged(const struct spte_kvm_snapshot *a,
			  const struct spte_kvm_snapshot *b)
{
	guint64 aged = 0;
	guint ia = 0, ib = 0;

	while (ia < a->leaves->len && ib < b->leaves->len) {
		const struct spte_kvm_leaf *x = leaf_at(a, ia), *y = leaf_at(b, ib);
		int c = leaf_order(x, y);

		ia += c <= 0;
		ib += c >= 0;
		aged += !c && y->age_clears > x->age_clears;
	}
	return aged;
}

struct spte_kvm_diff *spte_kvm_diff_new(const struct spte_kvm_snapshot *before,
					const struct spte_kvm_snapshot *after,
					gboolean same_run)
{
	const struct spte_kvm_snapshot *side[2] = { before, after };
	struct spte_kvm_diff *d = g_new0(struct spte_kvm_diff, 1);
	struct spte_mirror_table *t[2];

	for (int s = 0; s < 2; s++) {
		d->format[s] = side[s]->format;
		d->incomplete[s] = g_strdup(side[s]->incomplete);
		for (guint i = 0; i < side[s]->leaves->len; i++) {
			const struct spte_kvm_leaf *l = leaf_at(side[s], i);

			d->leaves[s][l->level] += l->copies;
		}
		t[s] = spte_kvm_snapshot_as_dump(side[s]);
	}
	d->pages = spte_dump_diff_new(t[0], t[1]);
	d->aged = same_run ? count_aged(before, after) : G_MAXUINT64;
	spte_mirror_table_free(t[0]);
	spte_mirror_table_free(t[1]);
	return d;
}

void spte_kvm_diff_free(struct spte_kvm_diff *d)
{
	if (!d)
		return;
	g_free(d->incomplete[0]);
	g_free(d->incomplete[1]);
	spte_dump_diff_free(d->pages);
	g_free(d);
}

/* "14 4K, 1 2M": 1G only when there are some, "none" for no leaf. */
static void append_counts(GString *out, const guint64 *count)
{
	gsize start = out->len;

	for (guint level = SPTE_KVM_LEVEL_4K; level <= SPTE_KVM_LEVEL_1G;
	     level++) {
		if (level == SPTE_KVM_LEVEL_1G && !count[level])
			continue;
		g_string_append_printf(out, "%s%" G_GUINT64_FORMAT " %s",
				       out->len > start ? ", " : "",
				       count[level], level_names[level]);
	}
}

void spte_kvm_diff_format(const struct spte_kvm_diff *d, const char *la,
			  const char *lb, GString *out)
{
	const char *label[2] = { la, lb };
	gboolean one_format = d->format[0] == d->format[1];

	g_string_append(out, "KVM's leaves");
	if (one_format)
		g_string_append_printf(out, " (%s)",
				       spte_kvm_spte_format_name(d->format[0]));
	g_string_append(out, ": ");
	for (int s = 0; s < 2; s++) {
		if (s)
			g_string_append(out, " -> ");
		if (!one_format)
			g_string_append_printf(out, "%s ",
				spte_kvm_spte_format_name(d->format[s]));
		append_counts(out, d->leaves[s]);
	}
	g_string_append_c(out, '\n');
	for (int s = 0; s < 2; s++)
		if (d->incomplete[s])
			g_string_append_printf(out, "!!! KVM view at %s "
					       "incomplete: %s: leaves may be "
					       "missing or stale there, and so "
					       "may the changes below\n",
					       label[s], d->incomplete[s]);
	spte_dump_diff_format(d->pages, out);
	if (d->aged && d->aged != G_MAXUINT64)
		g_string_append_printf(out, "aged by KVM in between: %"
				       G_GUINT64_FORMAT " leaves (KVM answered "
				       "young to clear_young / clear_flush_young "
				       "and cleared A; the guest may have set it "
				       "again since)\n", d->aged);
}

JsonNode *spte_kvm_diff_to_json(const struct spte_kvm_diff *d)
{
	JsonNode *node = spte_dump_diff_to_json(d->pages);
	JsonObject *o = json_node_get_object(node);
	JsonArray *format = json_array_new(), *incomplete = json_array_new();
	JsonArray *leaves = json_array_new();

	for (int s = 0; s < 2; s++) {
		JsonObject *count = json_object_new();

		json_array_add_string_element(format,
			spte_kvm_spte_format_name(d->format[s]));
		if (d->incomplete[s])
			json_array_add_string_element(incomplete,
						      d->incomplete[s]);
		else
			json_array_add_null_element(incomplete);
		for (guint level = SPTE_KVM_LEVEL_4K;
		     level <= SPTE_KVM_LEVEL_1G; level++)
			json_object_set_int_member(count, level_names[level],
						   d->leaves[s][level]);
		json_array_add_object_element(leaves, count);
	}
	json_object_set_array_member(o, "format", format);
	json_object_set_array_member(o, "incomplete", incomplete);
	json_object_set_array_member(o, "leaves", leaves);
	if (d->aged == G_MAXUINT64)
		json_object_set_null_member(o, "aged");
	else
		json_object_set_int_member(o, "aged", d->aged);
	return node;
}
