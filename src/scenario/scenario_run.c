// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "agent_client.h"
#include "families.h"
#include "knobs.h"
#include "memcg.h"
#include "report.h"
#include "requires.h"
#include "scenario_run.h"
#include "session.h"
#include "spte_error.h"

static char *kernel_release(void)
{
	struct utsname u;

	return uname(&u) ? g_strdup("unknown") : g_strdup(u.release);
}

gboolean spte_scenario_check_requires(const struct spte_scenario *sc,
				      GError **error)
{
	g_autofree char *what = NULL;
	g_autofree char *release = NULL;
	const char *word = NULL;

	switch (spte_requires_first_lack((const char *const *)sc->requires,
					 "", &word, &what)) {
	case SPTE_REQUIRES_MET:
		return TRUE;
	case SPTE_REQUIRES_KERNEL:
		/* another machine would not help: another kernel might */
		release = kernel_release();
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_NOT_APPLICABLE,
			    "kernel %s lacks %s", release, what);
		return FALSE;
	case SPTE_REQUIRES_SETUP:
		break;
	}
	g_set_error(error, SPTE_ERROR, g_str_equal(word, "module") ?
		    SPTE_ERROR_NO_MODULE : SPTE_ERROR_UNSUPPORTED,
		    "scenario %s needs %s, which this machine lacks; the lab "
		    "VM has it all: spte scenario run --lab %s", sc->name,
		    what, sc->name);
	return FALSE;
}

GStrv spte_scenario_lab_args(const struct spte_scenario *sc)
{
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();

	if (sc->numa_nodes >= 2) {
		g_strv_builder_add(b, "--numa");
		g_strv_builder_add(b, "2");
	}
	return g_strv_builder_end(b);
}

/* How far KVM's leaves could be trusted in this run. */
static void print_kvm_self_checks(const struct spte_session *s)
{
	const struct spte_kvm_self_checks *k = &s->kvm_self;

	if (!s->kvm_leaves) {
		if (s->kvm_leaves_why)
			printf("KVM view: not tracked: %s\n", s->kvm_leaves_why);
		return;
	}
	printf("KVM view: %u self-checks against KVM's page counts: %u "
	       "matched, %u tracking errors, %u without a verdict (model "
	       "incomplete), %u unverified (no counts, or counts moving)\n",
	       k->checks, k->matched, k->mismatched, k->incomplete,
	       k->unverified);
}

static void print_verdict(struct spte_session *s, const char *name)
{
	guint failed = 0;

	for (guint i = 0; i < s->checks->len; i++)
		failed += !((struct spte_check *)s->checks->pdata[i])->passed;
	if (!s->checks->len)
		s->ok = FALSE;	/* a scenario that checks nothing proves nothing */
	if (s->ok) {
		printf("%s: PASS (%u checks)\n", name, s->checks->len);
		return;
	}
	printf("%s: FAIL (%u of %u checks failed)\n", name, failed,
	       s->checks->len);
	for (guint i = 0; i < s->checks->len; i++) {
		const struct spte_check *c = s->checks->pdata[i];

		if (!c->passed)
			printf("  line %u '%s': %s\n", c->line, c->name,
			       c->detail);
	}
}

/* A step that could not be carried out ends the run as a failed check. */
static void record_abort(struct spte_session *s, const struct spte_step *step,
			 const GError *err)
{
	g_autoptr(GString) line = g_string_new(NULL);

	spte_session_check(s, step, FALSE, line, "could not run: %s",
			   err->message);
	printf("%-30s %s\n", step->text, line->str);
}

/*
 * kcompactd's proactive compaction (vm.compaction_proactiveness, default
 * 20) migrates movable pages at its own time, every 500 ms while a node's
 * fragmentation score is over its threshold: on a host that has run for
 * a while it moves guest RAM in the middle of a step, and its CLEAR
 * invalidations look like those the steps cause (try_to_migrate_one()
 * and KSM's write_protect_page() both use MMU_NOTIFY_CLEAR).  Off for
 * the run, so only the steps (compact among them) move pages; compaction
 * that kswapd wakes for a failed high-order allocation still can.
 */
static void quiet_compaction(spte_knobs *knobs)
{
	static const char knob[] = "/proc/sys/vm/compaction_proactiveness";
	g_autoptr(GError) err = NULL;

	if (g_file_test(knob, G_FILE_TEST_EXISTS) &&
	    !spte_knobs_set(knobs, knob, "0", &err))
		fprintf(stderr, "spte scenario: proactive compaction stays on, "
			"and may move guest RAM during steps: %s\n",
			err->message);
}

JsonNode *spte_scenario_run(const struct spte_scenario *sc,
			    const struct spte_scenario_opts *o, GError **error)
{
	g_autofree char *kernel = kernel_release();
	/* knobs the requirements turn, restored after the session closes */
	g_autoptr(spte_knobs) knobs = spte_knobs_new();
	struct spte_mem_opts mem = sc->mem;
	struct spte_boot_times times;
	struct spte_session s;
	JsonNode *report;

	if (o->backing &&
	    !spte_backing_from_string(o->backing, &mem.backing, error))
		return NULL;
	if (!spte_scenario_check_requires(sc, error))
		return NULL;
	if (g_strv_contains((const char *const *)sc->requires, "memcg") &&
	    !spte_memcg_enter(error))
		return NULL;
	/*
	 * On before guest RAM exists, so its folios are on the multi-gen
	 * LRU's lists from their first fault; the old value is back when
	 * the run ends (6.1 builds it but leaves it off).
	 */
	if (g_strv_contains((const char *const *)sc->requires, "lru_gen") &&
	    !spte_knobs_set(knobs, "/sys/kernel/mm/lru_gen/enabled", "y",
			    error))
		return NULL;
	quiet_compaction(knobs);
	if (!spte_session_boot(&s, &mem, NULL, g_strv_contains(
			(const char *const *)sc->requires, "module"),
			       spte_steps_want_kvm_leaves(sc->steps), &times,
			       error)) {
		spte_session_close(&s);
		return NULL;
	}
	s.sequence = sc->sequence;
	s.stats = o->stats;
	/* trace KVM only for a step that shows it (view) */
	for (guint i = 0; i < sc->steps->len; i++) {
		const struct spte_step *step = sc->steps->pdata[i];

		if (step->verb->traces_kvm)
			spte_session_trace_kvm(&s);
	}

	printf("== %s: %s\n", sc->name, sc->summary);
	printf("   kernel %s, %" G_GUINT64_FORMAT " MiB of %s guest RAM%s\n",
	       kernel, mem.size >> 20, spte_backing_name(mem.backing),
	       mem.thp == SPTE_THP_HUGEPAGE ? " (MADV_HUGEPAGE)" :
	       mem.thp == SPTE_THP_NOHUGEPAGE ? " (MADV_NOHUGEPAGE)" : "");
	if (sc->sequence) {
		g_autofree char *seq = spte_expect_sequence_describe(sc->sequence,
							       s.callbacks);

		printf("   expected notifier sequence: %s\n", seq);
	}
	fflush(stdout);

	for (guint i = 0; i < sc->steps->len; i++) {
		const struct spte_step *step = sc->steps->pdata[i];
		g_autoptr(GError) err = NULL;

		if (!spte_session_run_step(&s, step, &err)) {
			record_abort(&s, step, err);
			break;
		}
	}
	if (s.ok) {
		g_autoptr(GError) err = NULL;

		if (!spte_agent_halt(s.vcpu, &err))
			printf("halting the guest: %s\n", err->message);
	}
	spte_session_drain_events(&s, NULL);
	print_kvm_self_checks(&s);
	print_verdict(&s, sc->name);
	report = spte_report_build(sc, &s, kernel);
	spte_session_close(&s);
	return report;
}
