// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"
#include "kvm_leaves.h"
#include "spte/ept.h"

#define BIT64(n)	((guint64)1 << (n))

/*
 * KVM's SPTE layout (arch/x86/kvm/mmu/spte.h), the same in 6.1 and 6.12.
 * Bits of both formats: */
#define KVM_SPTE_MMU_PRESENT	BIT64(11)	/* SPTE_MMU_PRESENT_MASK */
#define KVM_SPTE_PFN_MASK	((BIT64(52) - 1) & ~(guint64)0xfff)
#define KVM_SPTE_AD_MASK	(3ULL << 52)	/* SPTE_TDP_AD_MASK */
#define KVM_SPTE_AD_DISABLED	(1ULL << 52)
/* 6.1's REMOVED_SPTE; 6.12's FROZEN_SPTE is it with bit 63 */
#define KVM_SPTE_FROZEN_LOW	0x5a0ULL
/* 6.12's SHADOW_NONPRESENT_VALUE; 6.1 has 0 */
#define KVM_SPTE_NONPRESENT_612	BIT64(63)
/*
 * x86 page-table format (kvm_mmu_reset_all_pte_masks()): hardware bits,
 * then KVM's DEFAULT_SPTE_HOST_WRITABLE and DEFAULT_SPTE_MMU_WRITABLE.
 */
#define X86_P		BIT64(0)
#define X86_W		BIT64(1)
#define X86_U		BIT64(2)
#define X86_A		BIT64(5)
#define X86_D		BIT64(6)
#define X86_PS		BIT64(7)
#define X86_HOST_W	BIT64(9)
#define X86_MMU_W	BIT64(10)
#define X86_NX		BIT64(63)
/* EPT (kvm_mmu_set_ept_masks()): EPT_SPTE_HOST/MMU_WRITABLE */
#define EPT_HOST_W	BIT64(57)
#define EPT_MMU_W	BIT64(58)

const char *spte_kvm_spte_format_name(enum spte_kvm_spte_format fmt)
{
	return fmt == SPTE_KVM_SPTE_EPT ? "EPT" : "x86 (NPT)";
}

void spte_kvm_spte_decode(enum spte_kvm_spte_format fmt, guint64 raw,
			  struct spte_kvm_spte *s)
{
	*s = (struct spte_kvm_spte){ .raw = raw };
	s->present = !!(raw & KVM_SPTE_MMU_PRESENT);
	if (!s->present) {
		s->frozen = (raw & ~KVM_SPTE_NONPRESENT_612) ==
			    KVM_SPTE_FROZEN_LOW;
		s->mmio = !s->frozen && raw != 0 &&
			  raw != KVM_SPTE_NONPRESENT_612;
		return;
	}
	s->pfn = (raw & KVM_SPTE_PFN_MASK) >> 12;
	s->ad_disabled = (raw & KVM_SPTE_AD_MASK) == KVM_SPTE_AD_DISABLED;
	if (fmt == SPTE_KVM_SPTE_EPT) {
		s->large = !!(raw & SPTE_EPT_PS);
		s->readable = !!(raw & SPTE_EPT_R);
		s->writable = !!(raw & SPTE_EPT_W);
		s->executable = !!(raw & SPTE_EPT_X);
		/* without A/D, "accessed" is having R/W/X (access tracking) */
		s->accessed = s->ad_disabled ? !!(raw & SPTE_EPT_RWX) :
			      !!(raw & SPTE_EPT_A);
		s->dirty = !s->ad_disabled && (raw & SPTE_EPT_D);
		s->host_writable = !!(raw & EPT_HOST_W);
		s->mmu_writable = !!(raw & EPT_MMU_W);
		return;
	}
	s->large = !!(raw & X86_PS);
	s->readable = !!(raw & X86_P);
	s->writable = !!(raw & X86_W);
	s->executable = !(raw & X86_NX);
	s->user = !!(raw & X86_U);
	s->accessed = !!(raw & X86_A);
	s->dirty = !!(raw & X86_D);
	s->host_writable = !!(raw & X86_HOST_W);
	s->mmu_writable = !!(raw & X86_MMU_W);
}

char *spte_kvm_spte_flags(const struct spte_kvm_spte *s)
{
	if (!s->present)
		return g_strdup(s->frozen ? "frozen" : s->mmio ? "mmio" :
				"none");
	return g_strdup_printf("%c%c%c%s%s%s", s->readable ? 'r' : '-',
			       s->writable ? 'w' : '-',
			       s->executable ? 'x' : '-',
			       s->accessed ? " A" : "", s->dirty ? " D" : "",
			       !s->writable && s->mmu_writable ?
			       " wrprot" : "");
}

/* ---- parsing ---- */

/*
 * "SEC.USEC: EVENT: " ends the fixed part of a line whatever columns come
 * first (task-pid, TGID, CPU, irq flags); the timestamp is the word before
 * the event's name.
 */
static gboolean find_event(const char *line, const char *event,
			   const char **text, guint64 *ts_us)
{
	g_autofree char *needle = g_strdup_printf(": %s: ", event);
	const char *p = strstr(line, needle), *ts;
	guint64 sec, usec = 0;
	guint digits = 0;
	char *e;

	if (!p)
		return FALSE;
	*text = p + strlen(needle);
	for (ts = p; ts > line && ts[-1] != ' ' && ts[-1] != '\t'; ts--)
		;
	sec = g_ascii_strtoull(ts, &e, 10);
	if (e == ts || *e != '.') {
		*ts_us = 0;
		return TRUE;
	}
	for (e++; g_ascii_isdigit(*e); e++, digits++)
		if (digits < 6)
			usec = usec * 10 + (*e - '0');
	for (; digits < 6; digits++)
		usec *= 10;
	*ts_us = sec * 1000000 + usec;
	return TRUE;
}

/* "KEY VALUE" at the start of *@p, VALUE in @base; moves *@p past it. */
static gboolean take(const char **p, const char *key, guint base,
		     guint64 *out)
{
	gsize klen = strlen(key);
	char *e;

	while (**p == ' ')
		(*p)++;
	if (strncmp(*p, key, klen) || (*p)[klen] != ' ')
		return FALSE;
	*p += klen + 1;
	*out = g_ascii_strtoull(*p, &e, base);
	if (e == *p)
		return FALSE;
	*p = e;
	return TRUE;
}

/* as id %d gfn %llx level %d old_spte %llx new_spte %llx (mmutrace.h) */
static gboolean parse_spte_changed(const char *p, struct spte_kvm_line *l)
{
	guint64 as_id, level;

	if (!take(&p, "as id", 10, &as_id) || !take(&p, "gfn", 16, &l->gfn) ||
	    !take(&p, "level", 10, &level) ||
	    !take(&p, "old_spte", 16, &l->old_spte) ||
	    !take(&p, "new_spte", 16, &l->new_spte))
		return FALSE;
	/* PG_LEVEL_4K .. PT64_ROOT_MAX_LEVEL */
	if (as_id >= SPTE_KVM_NR_AS || level < 1 || level > 5 ||
	    l->gfn >= BIT64(40))
		return FALSE;
	l->as_id = as_id;
	l->level = level;
	return TRUE;
}

/*
 * vcpu %d gva %llx error_code %s sptep %p old %#llx new %llx spurious %d
 * fixed %d; on the TDP MMU "gva" is the faulting GPA.
 */
static gboolean parse_fast_pf(const char *p, struct spte_kvm_line *l)
{
	guint64 vcpu, gpa, fixed, spurious;
	const char *q = strstr(p, " old ");

	if (!take(&p, "vcpu", 10, &vcpu) || !take(&p, "gva", 16, &gpa) || !q)
		return FALSE;
	p = q;
	if (!take(&p, "old", 16, &l->old_spte) ||
	    !take(&p, "new", 16, &l->new_spte) ||
	    !take(&p, "spurious", 10, &spurious) ||
	    !take(&p, "fixed", 10, &fixed))
		return FALSE;
	l->gfn = gpa >> 12;
	l->fixed = fixed != 0;
	return TRUE;
}

/* "CPU:1 [LOST 1234 EVENTS]", printed in place of what the ring overwrote */
static gboolean parse_lost(const char *line, struct spte_kvm_line *l)
{
	const char *p = strstr(line, "CPU:");
	guint64 cpu, lost;
	char *e;

	if (!p)
		return FALSE;
	cpu = g_ascii_strtoull(p + 4, &e, 10);
	if (e == p + 4 || !g_str_has_prefix(e, " [LOST "))
		return FALSE;
	p = e + 7;
	lost = g_ascii_strtoull(p, &e, 10);
	if (e == p || !g_str_has_prefix(e, " EVENTS]"))
		return FALSE;
	l->cpu = cpu;
	l->lost = lost;
	return TRUE;
}

enum spte_kvm_line_kind spte_kvm_leaves_parse_line(const char *line,
						   struct spte_kvm_line *l)
{
	const char *text;

	*l = (struct spte_kvm_line){ .kind = SPTE_KVM_LINE_OTHER };
	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '#' || !*line)
		return l->kind;
	if (find_event(line, "kvm_tdp_mmu_spte_changed", &text, &l->ts_us))
		l->kind = parse_spte_changed(text, l) ?
			  SPTE_KVM_LINE_SPTE_CHANGED : SPTE_KVM_LINE_MALFORMED;
	else if (find_event(line, "fast_page_fault", &text, &l->ts_us))
		l->kind = parse_fast_pf(text, l) ? SPTE_KVM_LINE_FAST_PF :
			  SPTE_KVM_LINE_MALFORMED;
	else if (find_event(line, "tracing_mark_write", &text, &l->ts_us)) {
		l->kind = SPTE_KVM_LINE_MARKER;
		g_strlcpy(l->marker, text, sizeof(l->marker));
		g_strchomp(l->marker);
	} else if (parse_lost(line, l))
		l->kind = SPTE_KVM_LINE_LOST;
	return l->kind;
}

/* ---- the model ---- */

struct spte_kvm_leaves {
	enum spte_kvm_spte_format fmt;
	/* key(as_id, level, gfn) -> struct spte_kvm_leaf */
	GHashTable *leaves;
	guint64 count[SPTE_KVM_NR_AS][SPTE_KVM_LEVEL_1G + 1];
	char *incomplete;
	struct spte_kvm_leaves_stats stats;
};

static guint64 leaf_key(guint as_id, guint level, guint64 gfn)
{
	return gfn | (guint64)level << 56 | (guint64)as_id << 60;
}

static guint64 level_size(guint level)
{
	return BIT64(12 + 9 * (level - 1));
}

struct spte_kvm_leaves *spte_kvm_leaves_new(enum spte_kvm_spte_format fmt)
{
	struct spte_kvm_leaves *m = g_new0(struct spte_kvm_leaves, 1);

	m->fmt = fmt;
	m->leaves = g_hash_table_new_full(g_int64_hash, g_int64_equal,
					  g_free, g_free);
	return m;
}

void spte_kvm_leaves_free(struct spte_kvm_leaves *m)
{
	if (!m)
		return;
	g_hash_table_unref(m->leaves);
	g_free(m->incomplete);
	g_free(m);
}

enum spte_kvm_spte_format spte_kvm_leaves_spte_format(const struct spte_kvm_leaves *m)
{
	return m->fmt;
}

void spte_kvm_leaves_set_incomplete(struct spte_kvm_leaves *m,
				    const char *fmt, ...)
{
	va_list ap;

	if (m->incomplete)
		return;
	va_start(ap, fmt);
	m->incomplete = g_strdup_vprintf(fmt, ap);
	va_end(ap);
}

gboolean spte_kvm_leaves_complete(const struct spte_kvm_leaves *m,
				  const char **reason)
{
	if (reason)
		*reason = m->incomplete;
	return !m->incomplete;
}

static struct spte_kvm_leaf *find(const struct spte_kvm_leaves *m,
				  guint as_id, guint level, guint64 gfn)
{
	guint64 key = leaf_key(as_id, level, gfn);

	return g_hash_table_lookup(m->leaves, &key);
}

static void count_leaf(struct spte_kvm_leaves *m, guint as_id, guint level,
		       gint delta)
{
	if (level <= SPTE_KVM_LEVEL_1G)
		m->count[as_id][level] += delta;
}

static void add_leaf(struct spte_kvm_leaves *m, const struct spte_kvm_line *l,
		     const struct spte_kvm_spte *s)
{
	struct spte_kvm_leaf *leaf = find(m, l->as_id, l->level, l->gfn);
	guint64 *key;

	count_leaf(m, l->as_id, l->level, 1);
	m->stats.installed++;
	if (leaf) {
		/* another root's copy: the newest value is the one shown */
		leaf->copies++;
		leaf->spte = *s;
		leaf->since_us = l->ts_us;
		return;
	}
	key = g_new(guint64, 1);
	*key = leaf_key(l->as_id, l->level, l->gfn);
	leaf = g_new0(struct spte_kvm_leaf, 1);
	*leaf = (struct spte_kvm_leaf){
		.as_id = l->as_id,
		.level = l->level,
		.gpa = l->gfn << 12,
		.size = level_size(l->level),
		.spte = *s,
		.copies = 1,
		.since_us = l->ts_us,
	};
	g_hash_table_insert(m->leaves, key, leaf);
}

static const char *level_name(guint level)
{
	static const char *const names[] = { "?", "4K", "2M", "1G", "512G",
					     "256T" };

	return names[level < G_N_ELEMENTS(names) ? level : 0];
}

/* The leaf @l changes or removes must be known; if not, say so. */
static struct spte_kvm_leaf *known_leaf(struct spte_kvm_leaves *m,
					const struct spte_kvm_line *l)
{
	struct spte_kvm_leaf *leaf = find(m, l->as_id, l->level, l->gfn);

	if (!leaf)
		spte_kvm_leaves_set_incomplete(
			m, "at %" G_GUINT64_FORMAT ".%06" G_GUINT64_FORMAT
			" KVM changed a %s leaf at gpa 0x%" G_GINT64_MODIFIER
			"x (as_id %u, old_spte 0x%" G_GINT64_MODIFIER "x) that "
			"no traced event had installed", l->ts_us / 1000000,
			l->ts_us % 1000000, level_name(l->level), l->gfn << 12,
			l->as_id, l->old_spte);
	return leaf;
}

/* The A and D bits of @fmt, which the CPU sets without an event. */
static guint64 ad_bits(enum spte_kvm_spte_format fmt)
{
	return fmt == SPTE_KVM_SPTE_EPT ? SPTE_EPT_A | SPTE_EPT_D :
	       X86_A | X86_D;
}

static void change_leaf(struct spte_kvm_leaves *m,
			const struct spte_kvm_line *l,
			const struct spte_kvm_spte *old,
			const struct spte_kvm_spte *new)
{
	struct spte_kvm_leaf *leaf = known_leaf(m, l);
	guint64 a = m->fmt == SPTE_KVM_SPTE_EPT ? SPTE_EPT_A : X86_A;

	if (!leaf) {
		add_leaf(m, l, new);
		return;
	}
	/* bits the CPU set since the last event show up in old_spte */
	if (leaf->spte.raw != old->raw &&
	    ((leaf->spte.raw ^ old->raw) & ~ad_bits(m->fmt)) == 0)
		m->stats.hw_ad++;
	m->stats.changed++;
	/* aging: A cleared, nothing else changed (age_gfn_range()) */
	if (old->accessed && !new->accessed &&
	    ((old->raw ^ new->raw) & ~a) == 0) {
		leaf->age_clears++;
		leaf->age_cleared_us = l->ts_us;
		m->stats.age_clears++;
	}
	leaf->spte = *new;
}

static void remove_leaf(struct spte_kvm_leaves *m,
			const struct spte_kvm_line *l)
{
	struct spte_kvm_leaf *leaf = known_leaf(m, l);
	guint64 key = leaf_key(l->as_id, l->level, l->gfn);

	if (!leaf)
		return;
	count_leaf(m, l->as_id, l->level, -1);
	m->stats.removed++;
	if (--leaf->copies == 0)
		g_hash_table_remove(m->leaves, &key);
}

static gboolean is_leaf(const struct spte_kvm_spte *s, guint level)
{
	/* is_last_spte(): level 1, or PS above it */
	return s->present && (level == SPTE_KVM_LEVEL_4K || s->large);
}

/* kvm_tdp_mmu_spte_changed, as __handle_changed_spte() books it */
static void apply_changed(struct spte_kvm_leaves *m,
			  const struct spte_kvm_line *l)
{
	struct spte_kvm_spte old, new;
	gboolean was_leaf, now_leaf;

	spte_kvm_spte_decode(m->fmt, l->old_spte, &old);
	spte_kvm_spte_decode(m->fmt, l->new_spte, &new);
	was_leaf = is_leaf(&old, l->level);
	now_leaf = is_leaf(&new, l->level);
	m->stats.events++;
	if (new.frozen)
		m->stats.removed_children++;
	/* a page table unlinked: its children follow, one event each */
	if (old.present && !was_leaf && (now_leaf || !new.present))
		m->stats.tables_removed++;
	/*
	 * tdp_mmu_split_huge_page() (dirty logging's eager split) fills the
	 * new table's 512 children directly, with no event for any of them
	 */
	if (was_leaf && new.present && !now_leaf)
		spte_kvm_leaves_set_incomplete(
			m, "at %" G_GUINT64_FORMAT ".%06" G_GUINT64_FORMAT " KVM "
			"split the %s leaf at gpa 0x%" G_GINT64_MODIFIER "x "
			"into a page table whose leaves are not traced",
			l->ts_us / 1000000, l->ts_us % 1000000,
			level_name(l->level), l->gfn << 12);
	if (was_leaf && now_leaf)
		change_leaf(m, l, &old, &new);
	else if (was_leaf)
		remove_leaf(m, l);
	else if (now_leaf)
		add_leaf(m, l, &new);
}

/*
 * fast_page_fault that fixed: fast_pf_fix_direct_spte() made a leaf
 * writable (or restored an access-tracked one) with a cmpxchg and no
 * handle_changed_spte(); the event names the GPA, not the level.
 */
static void apply_fast_pf(struct spte_kvm_leaves *m,
			  const struct spte_kvm_line *l)
{
	struct spte_kvm_spte old, new;

	if (!l->fixed)
		return;
	spte_kvm_spte_decode(m->fmt, l->old_spte, &old);
	spte_kvm_spte_decode(m->fmt, l->new_spte, &new);
	for (guint as = 0; as < SPTE_KVM_NR_AS; as++) {
		for (guint level = SPTE_KVM_LEVEL_4K;
		     level <= SPTE_KVM_LEVEL_1G; level++) {
			guint64 gfn = l->gfn & ~((level_size(level) >> 12) - 1);
			struct spte_kvm_leaf *leaf = find(m, as, level, gfn);

			if (!leaf || leaf->spte.pfn != old.pfn)
				continue;
			leaf->spte = new;
			m->stats.fast_pf_fixed++;
			return;
		}
	}
	spte_kvm_leaves_set_incomplete(
		m, "at %" G_GUINT64_FORMAT ".%06" G_GUINT64_FORMAT " a fast "
		"page fault fixed gpa 0x%" G_GINT64_MODIFIER "x (old 0x%"
		G_GINT64_MODIFIER "x), which no traced leaf maps",
		l->ts_us / 1000000, l->ts_us % 1000000, l->gfn << 12,
		l->old_spte);
}

void spte_kvm_leaves_apply(struct spte_kvm_leaves *m,
			   const struct spte_kvm_line *l)
{
	if (l->ts_us > m->stats.last_us)
		m->stats.last_us = l->ts_us;
	switch (l->kind) {
	case SPTE_KVM_LINE_SPTE_CHANGED:
		apply_changed(m, l);
		break;
	case SPTE_KVM_LINE_FAST_PF:
		apply_fast_pf(m, l);
		break;
	case SPTE_KVM_LINE_LOST:
		spte_kvm_leaves_set_incomplete(
			m, "the trace ring of CPU %u overwrote %"
			G_GUINT64_FORMAT " events", l->cpu, l->lost);
		break;
	case SPTE_KVM_LINE_MALFORMED:
		spte_kvm_leaves_set_incomplete(
			m, "a kvmmmu event line did not parse");
		break;
	case SPTE_KVM_LINE_OTHER:
	case SPTE_KVM_LINE_MARKER:
		break;
	}
}

enum spte_kvm_line_kind spte_kvm_leaves_feed(struct spte_kvm_leaves *m,
					     const char *line)
{
	struct spte_kvm_line l;

	spte_kvm_leaves_parse_line(line, &l);
	if (l.kind == SPTE_KVM_LINE_MALFORMED)
		spte_kvm_leaves_set_incomplete(
			m, "a kvmmmu event line did not parse: '%.120s'", line);
	spte_kvm_leaves_apply(m, &l);
	return l.kind;
}

void spte_kvm_leaves_feed_text(struct spte_kvm_leaves *m, const char *text)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	for (guint i = 0; lines[i]; i++)
		spte_kvm_leaves_feed(m, lines[i]);
}

/* ---- queries ---- */

const struct spte_kvm_leaf *spte_kvm_leaves_lookup(const struct spte_kvm_leaves *m,
						  guint as_id, guint64 gpa)
{
	if (as_id >= SPTE_KVM_NR_AS)
		return NULL;
	for (guint level = SPTE_KVM_LEVEL_4K; level <= SPTE_KVM_LEVEL_1G;
	     level++) {
		guint64 gfn = (gpa & ~(level_size(level) - 1)) >> 12;
		const struct spte_kvm_leaf *leaf = find(m, as_id, level, gfn);

		if (leaf)
			return leaf;
	}
	return NULL;
}

static gint leaf_cmp(gconstpointer a, gconstpointer b)
{
	const struct spte_kvm_leaf *x = a, *y = b;

	if (x->gpa != y->gpa)
		return x->gpa < y->gpa ? -1 : 1;
	return (gint)x->level - (gint)y->level;
}

GArray *spte_kvm_leaves_range(const struct spte_kvm_leaves *m, guint as_id,
			      guint64 gpa, guint64 len)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(struct spte_kvm_leaf));
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, m->leaves);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const struct spte_kvm_leaf *leaf = value;

		if (leaf->as_id != as_id)
			continue;
		if (len && (leaf->gpa + leaf->size <= gpa ||
			    leaf->gpa >= gpa + len))
			continue;
		g_array_append_val(out, *leaf);
	}
	g_array_sort(out, leaf_cmp);
	return out;
}

guint64 spte_kvm_leaves_count(const struct spte_kvm_leaves *m, guint as_id,
			      guint level)
{
	guint64 n = 0;

	if (level < SPTE_KVM_LEVEL_4K || level > SPTE_KVM_LEVEL_1G)
		return 0;
	for (guint as = 0; as < SPTE_KVM_NR_AS; as++)
		if (as_id == G_MAXUINT || as == as_id)
			n += m->count[as][level];
	return n;
}

enum spte_kvm_young spte_kvm_leaves_young(const struct spte_kvm_leaves *m,
					  guint as_id, guint64 gpa)
{
	const struct spte_kvm_leaf *leaf = spte_kvm_leaves_lookup(m, as_id,
								  gpa);

	if (!leaf)
		return SPTE_KVM_YOUNG_ABSENT;
	return leaf->spte.accessed ? SPTE_KVM_YOUNG_YES :
	       SPTE_KVM_YOUNG_UNKNOWN;
}

void spte_kvm_leaves_get_stats(const struct spte_kvm_leaves *m,
			       struct spte_kvm_leaves_stats *out)
{
	*out = m->stats;
}

struct spte_kvm_snapshot *spte_kvm_leaves_snapshot(const struct spte_kvm_leaves *m)
{
	struct spte_kvm_snapshot *snap = g_new0(struct spte_kvm_snapshot, 1);

	snap->format = m->fmt;
	snap->incomplete = g_strdup(m->incomplete);
	snap->leaves = spte_kvm_leaves_range(m, SPTE_KVM_AS_NORMAL, 0, 0);
	return snap;
}

void spte_kvm_snapshot_free(struct spte_kvm_snapshot *snap)
{
	if (!snap)
		return;
	g_free(snap->incomplete);
	g_array_unref(snap->leaves);
	g_free(snap);
}

/* ---- folded text ---- */

/*
 * The same step: the same size, flags and copies, each leaf right after
 * the last; the PFNs are described per fold, afterwards.
 */
static gboolean leaf_same(gconstpointer data, guint a, guint b, gint64 *delta)
{
	const GArray *v = data;
	const struct spte_kvm_leaf *x = &g_array_index(v, struct spte_kvm_leaf, a);
	const struct spte_kvm_leaf *y = &g_array_index(v, struct spte_kvm_leaf, b);
	guint64 mask = ~(KVM_SPTE_PFN_MASK | ad_bits(SPTE_KVM_SPTE_X86) |
			 ad_bits(SPTE_KVM_SPTE_EPT));

	if (x->level != y->level || x->copies != y->copies ||
	    x->spte.accessed != y->spte.accessed ||
	    x->spte.dirty != y->spte.dirty ||
	    ((x->spte.raw ^ y->spte.raw) & mask))
		return FALSE;
	*delta = (gint64)(y->gpa - x->gpa);
	return TRUE;
}

/* A fold may not jump a hole: the next leaf must start where one ends. */
static gboolean leaf_joins(gconstpointer data, guint i)
{
	const GArray *v = data;
	const struct spte_kvm_leaf *x = &g_array_index(v, struct spte_kvm_leaf,
						       i - 1);

	return g_array_index(v, struct spte_kvm_leaf, i).gpa ==
	       x->gpa + x->size;
}

static gint64 leaf_addr(gconstpointer data, guint i)
{
	return (gint64)g_array_index((const GArray *)data,
				     struct spte_kvm_leaf, i).gpa;
}

static const struct spte_fold_ops leaf_fold_ops = {
	.same = leaf_same,
	.joins = leaf_joins,
	.addr = leaf_addr,
};

static void append_pfns(GString *out, const GArray *v, guint first, guint n)
{
	const struct spte_kvm_leaf *a = &g_array_index(v, struct spte_kvm_leaf,
						       first);
	gboolean contiguous = TRUE, shared = TRUE;

	for (guint i = 1; i < n; i++) {
		const struct spte_kvm_leaf *b =
			&g_array_index(v, struct spte_kvm_leaf, first + i);

		if (b->spte.pfn != a->spte.pfn + i * (a->size >> 12))
			contiguous = FALSE;
		if (b->spte.pfn != a->spte.pfn)
			shared = FALSE;
	}
	if (n == 1)
		g_string_append_printf(out, "pfn 0x%" G_GINT64_MODIFIER "x",
				       a->spte.pfn);
	else if (contiguous)
		g_string_append_printf(
			out, "pfn 0x%" G_GINT64_MODIFIER "x-0x%"
			G_GINT64_MODIFIER "x", a->spte.pfn,
			a->spte.pfn + n * (a->size >> 12) - 1);
	else if (shared)
		g_string_append_printf(out, "pfn 0x%" G_GINT64_MODIFIER
				       "x (one page for all)", a->spte.pfn);
	else
		g_string_append_printf(out, "pfns scattered from 0x%"
				       G_GINT64_MODIFIER "x", a->spte.pfn);
}

static void append_leaf_props(GString *out, const struct spte_kvm_leaf *l)
{
	g_autofree char *flags = spte_kvm_spte_flags(&l->spte);

	g_string_append_printf(out, " %s %s", level_name(l->level), flags);
	if (l->copies > 1)
		g_string_append_printf(out, " (%u roots)", l->copies);
}

void spte_kvm_leaves_format(const struct spte_kvm_leaves *m, guint as_id,
			    guint64 gpa, guint64 len, const char *indent,
			    GString *out)
{
	g_autoptr(GArray) v = spte_kvm_leaves_range(m, as_id, gpa, len);
	g_autoptr(GArray) folds = spte_fold_find(v->len, &leaf_fold_ops, v);

	for (guint k = 0; k < folds->len; k++) {
		const struct spte_fold *f = &g_array_index(folds,
							   struct spte_fold, k);
		guint n = f->period * f->count;

		for (guint j = 0; j < (f->period == 1 ? 1 : n); j++) {
			const struct spte_kvm_leaf *l = &g_array_index(
				v, struct spte_kvm_leaf, f->first + j);

			g_string_append(out, indent);
			if (f->period == 1 && f->count > 1)
				spte_fold_append_range(out, "gpa", l->gpa, f);
			else
				g_string_append_printf(
					out, "gpa 0x%" G_GINT64_MODIFIER "x",
					l->gpa);
			append_leaf_props(out, l);
			g_string_append_c(out, ' ');
			append_pfns(out, v, f->first + j,
				    f->period == 1 ? f->count : 1);
			g_string_append_c(out, '\n');
		}
	}
}
