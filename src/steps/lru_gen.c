// SPDX-License-Identifier: GPL-2.0
/*
 * lru-gen-age / lru-gen-evict: the multi-gen LRU's aging and eviction of
 * the VMM's memory cgroup, one generation at a time, through
 * /sys/kernel/debug/lru_gen (lru_gen_seq_write() -> run_cmd(), mm/vmscan.c,
 * 6.1 and 6.12 alike; Documentation/admin-guide/mm/multigen_lru.rst):
 *
 *   + MEMCG_ID NODE_ID MAX_GEN SWAPPINESS FORCE_SCAN   run_aging()
 *   - MEMCG_ID NODE_ID MIN_GEN SWAPPINESS              run_eviction()
 *
 * Aging (try_to_inc_max_seq()) walks the page tables of every mm of the
 * memcg (walk_mm() -> walk_pte_range()), moves the folios it finds young
 * to the youngest generation, then opens a new one.  Eviction
 * (evict_folios()) takes the oldest generations and asks rmap whether each
 * folio was used (folio_referenced()) before it unmaps and swaps it.
 * Whether those steps ask secondary MMUs is what changed between 6.1 and
 * 6.12 (docs/scenarios/mglru-aging.md).
 */
#include <stdio.h>
#include <string.h>

#include "knobs.h"
#include "memcg.h"
#include "families.h"
#include "spte_error.h"

#define LRU_GEN_DEBUGFS "/sys/kernel/debug/lru_gen"
#define LRU_GEN_ENABLED "/sys/kernel/mm/lru_gen/enabled"

/* include/linux/mmzone.h: eviction leaves the two youngest generations */
#define MIN_NR_GENS 2
/*
 * MAX_SWAPPINESS: anon only (isolate_folios() takes swappiness 200 as
 * "anon first"), and aging walks anon VMAs (should_skip_vma() skips them
 * when it cannot swap).  Guest RAM is anon.
 */
#define LRU_GEN_SWAPPINESS 200

struct lru_gen_gen {
	guint64 seq, age_ms, anon, file;
};

struct lru_gen_node {
	guint nid;
	GArray *gens;		/* struct lru_gen_gen, oldest first */
};

static void lru_gen_node_free(gpointer p)
{
	struct lru_gen_node *n = p;

	g_array_unref(n->gens);
	g_free(n);
}

/*
 * Our memcg in the debugfs file (lru_gen_seq_show()): a "memcg ID PATH"
 * line, then for each node " node NID" and one line per generation from
 * the oldest anon one: "SEQ AGE_MS NR_ANON NR_FILE".
 */
static GPtrArray *read_lru_gen(const char *path, guint *id, GError **error)
{
	g_autoptr(GPtrArray) nodes = g_ptr_array_new_with_free_func(
		lru_gen_node_free);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	struct lru_gen_node *node = NULL;
	gboolean ours = FALSE;

	if (!g_file_get_contents(LRU_GEN_DEBUGFS, &text, NULL, error))
		return NULL;
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		char name[4096];
		unsigned int n;
		struct lru_gen_gen g;

		if (g_str_has_prefix(lines[i], "memcg ")) {
			ours = sscanf(lines[i], "memcg %u %4095s", &n,
				      name) == 2 && g_str_equal(name, path);
			if (ours)
				*id = n;
			node = NULL;
		} else if (!ours) {
			continue;
		} else if (sscanf(lines[i], " node %u", &n) == 1) {
			node = g_new0(struct lru_gen_node, 1);
			node->nid = n;
			node->gens = g_array_new(FALSE, TRUE,
						 sizeof(struct lru_gen_gen));
			g_ptr_array_add(nodes, node);
		} else if (node && sscanf(lines[i], "%" G_GUINT64_FORMAT " %"
					  G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
					  " %" G_GUINT64_FORMAT, &g.seq,
					  &g.age_ms, &g.anon, &g.file) == 4) {
			g_array_append_val(node->gens, g);
		}
	}
	if (!nodes->len) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_FAILED,
			    LRU_GEN_DEBUGFS " lists no memcg %s (the VMM's "
			    "cgroup)", path);
		return NULL;
	}
	return g_steal_pointer(&nodes);
}

static guint64 min_seq(const struct lru_gen_node *n)
{
	return g_array_index(n->gens, struct lru_gen_gen, 0).seq;
}

static guint64 max_seq(const struct lru_gen_node *n)
{
	return g_array_index(n->gens, struct lru_gen_gen,
			     n->gens->len - 1).seq;
}

/* "gens 3-5, anon pages 0 48 16" (oldest first) */
static void describe_node(const struct lru_gen_node *n, GString *out)
{
	g_string_append_printf(out, "gens %" G_GUINT64_FORMAT "-%"
			       G_GUINT64_FORMAT ", anon pages", min_seq(n),
			       max_seq(n));
	for (guint i = 0; i < n->gens->len; i++)
		g_string_append_printf(out, " %" G_GUINT64_FORMAT,
				       g_array_index(n->gens,
						     struct lru_gen_gen, i).anon);
}

static gboolean check_enabled(GError **error)
{
	guint64 caps;

	if (!g_file_test(LRU_GEN_ENABLED, G_FILE_TEST_EXISTS)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "this kernel has no multi-gen LRU (CONFIG_LRU_GEN: "
			    LRU_GEN_ENABLED " is missing)");
		return FALSE;
	}
	if (!spte_knob_read_u64(LRU_GEN_ENABLED, &caps, error))
		return FALSE;
	/* BIT(LRU_GEN_CORE): without it, folios are on the classic lists */
	if (!(caps & 1)) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_UNSUPPORTED,
			    "the multi-gen LRU is off (" LRU_GEN_ENABLED " = 0x%04"
			    G_GINT64_MODIFIER "x; 'requires = lru_gen' turns it "
			    "on for a scenario)", caps);
		return FALSE;
	}
	return TRUE;
}

/* One command per node of our memcg: aging, or eviction. */
static gboolean run_cmds(const char *path, guint id, const GPtrArray *nodes,
			 gboolean age, GString *done, GError **error)
{
	for (guint i = 0; i < nodes->len; i++) {
		const struct lru_gen_node *n = nodes->pdata[i];
		g_autofree char *cmd = NULL;

		if (age) {
			/* FORCE_SCAN 1: every PMD, not only the Bloom filter's */
			cmd = g_strdup_printf("+ %u %u %" G_GUINT64_FORMAT
					      " %d 1", id, n->nid, max_seq(n),
					      LRU_GEN_SWAPPINESS);
		} else {
			/* run_eviction() refuses seq + MIN_NR_GENS > max_seq */
			if (max_seq(n) < min_seq(n) + MIN_NR_GENS) {
				g_set_error(error, SPTE_ERROR,
					    SPTE_ERROR_INVALID,
					    "memcg %s node %u has generations %"
					    G_GUINT64_FORMAT "-%"
					    G_GUINT64_FORMAT " only: eviction "
					    "keeps the %d youngest (lru-gen-age "
					    "first)", path, n->nid, min_seq(n),
					    max_seq(n), MIN_NR_GENS);
				return FALSE;
			}
			cmd = g_strdup_printf("- %u %u %" G_GUINT64_FORMAT
					      " %d", id, n->nid,
					      max_seq(n) - MIN_NR_GENS,
					      LRU_GEN_SWAPPINESS);
		}
		if (!spte_knob_write(LRU_GEN_DEBUGFS, cmd, error))
			return FALSE;
		g_string_append_printf(done, "%s'%s'", i ? ", " : "", cmd);
	}
	return TRUE;
}

static gboolean lru_gen_step(gboolean age, GString *line, GError **error)
{
	g_autofree char *path = NULL;
	g_autoptr(GPtrArray) before = NULL;
	g_autoptr(GPtrArray) after = NULL;
	g_autoptr(GString) cmds = g_string_new(NULL);
	guint id = 0, id2 = 0;
	guint64 out0 = 0, out1 = 0;
	gint64 t = g_get_monotonic_time();

	if (!check_enabled(error))
		return FALSE;
	path = spte_memcg_path(error);
	if (!path)
		return FALSE;
	/*
	 * A folio still in a CPU's lru_add batch is on no list: eviction
	 * cannot take it, and it joins whichever generation is youngest when
	 * the batch drains, not the one aging would have left it in.
	 */
	if (!spte_drain_lru_batches(error) ||
	    (!age && !spte_vmstat("pswpout", &out0, error)))
		return FALSE;
	before = read_lru_gen(path, &id, error);
	if (!before || !run_cmds(path, id, before, age, cmds, error))
		return FALSE;
	after = read_lru_gen(path, &id2, error);
	if (!after || (!age && !spte_vmstat("pswpout", &out1, error)))
		return FALSE;
	g_string_append_printf(line, "ok: %s in %.1f ms; memcg %u (%s)",
			       cmds->str, (g_get_monotonic_time() - t) / 1e3,
			       id, path);
	for (guint i = 0; i < before->len && i < after->len; i++) {
		g_string_append_printf(line, "; node %u: ",
				       ((struct lru_gen_node *)before->pdata[i])->nid);
		describe_node(before->pdata[i], line);
		g_string_append(line, " -> ");
		describe_node(after->pdata[i], line);
	}
	if (!age)
		g_string_append_printf(line, "; %" G_GUINT64_FORMAT " pages "
				       "swapped out", out1 - out0);
	return TRUE;
}

static gboolean step_lru_gen_age(struct spte_session *s,
				 const struct spte_step *step, GString *line,
				 GError **error)
{
	return lru_gen_step(TRUE, line, error);
}

static gboolean step_lru_gen_evict(struct spte_session *s,
				   const struct spte_step *step, GString *line,
				   GError **error)
{
	return lru_gen_step(FALSE, line, error);
}

static const struct spte_verb verbs[] = {
	{ .usage = "lru-gen-age", .run = step_lru_gen_age,
	  .help = "multi-gen LRU: age the VMM's memcg once (a new youngest generation)" },
	{ .usage = "lru-gen-evict", .run = step_lru_gen_evict,
	  .help = "multi-gen LRU: evict all but the two youngest generations of the VMM's memcg" },
};

const struct spte_step_family spte_lru_gen_steps =
	SPTE_STEP_FAMILY("lru-gen", SPTE_STEP_HOST, verbs);
