// SPDX-License-Identifier: GPL-2.0
/*
 * spte run: create a VM, load the guest image, run the agent through an
 * --exec script, print each step's result.
 */
#include <stdio.h>
#include <stdlib.h>

#include "agent_client.h"
#include "cli.h"
#include "kvm_leaf_tracker.h"
#include "language.h"
#include "session.h"
#include "parse.h"
#include "spte_error.h"
#include "vcpu.h"
#include "vm.h"

struct run_opts {
	char *guest;
	char *mem;
	char *backing;
	gboolean thp;
	gboolean no_thp;
	gboolean ksm;
	gboolean mirror;
	char *exec;
	gboolean stats;
	gboolean verbose;
	gboolean kvm_leaves;
};

static gboolean mem_opts_from(const struct run_opts *o,
			      struct spte_mem_opts *m, GError **error)
{
	*m = (struct spte_mem_opts){ .size = 64ULL << 20,
				     .backing = SPTE_BACKING_ANON };
	if (o->mem && !spte_parse_size(o->mem, "--mem", &m->size, error))
		return FALSE;
	if (o->backing && !spte_backing_from_string(o->backing, &m->backing,
						    error))
		return FALSE;
	if (o->thp && o->no_thp) {
		g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
			    "--thp and --no-thp contradict each other");
		return FALSE;
	}
	m->thp = o->thp ? SPTE_THP_HUGEPAGE :
		 o->no_thp ? SPTE_THP_NOHUGEPAGE : SPTE_THP_DEFAULT;
	m->ksm = o->ksm;
	return TRUE;
}

static void print_startup(const struct spte_boot_times *s,
			  const struct spte_vcpu *vcpu)
{
	double ms = 1e-6;

	printf("startup: %.2f ms from %s to the first guest instruction "
	       "(exec->main %.2f, vm+memory %.2f, image %.2f, vcpu %.2f, "
	       "entry %.2f)\n",
	       (vcpu->boot_ns - spte_t0_ns) * ms,
	       g_getenv("SPTE_T0_NS") ? "exec" : "main()",
	       (spte_main_ns - spte_t0_ns) * ms,
	       (s->vm_ready - spte_main_ns) * ms,
	       (s->image_loaded - s->vm_ready) * ms,
	       (s->vcpu_ready - s->image_loaded) * ms,
	       (vcpu->boot_ns - s->vcpu_ready) * ms);
}

/* KVM's own leaves at the end of the script, checked against its stats. */
static void print_kvm_leaves(struct spte_session *s)
{
	g_autoptr(GString) out = g_string_new("KVM's leaves after the script:");
	const struct spte_kvm_leaves *m;

	m = spte_session_kvm_leaves(s, NULL, TRUE, out);
	g_string_append_c(out, '\n');
	for (guint as = 0; as < SPTE_KVM_NR_AS; as++) {
		if (as && !spte_kvm_leaves_count(m, as, SPTE_KVM_LEVEL_4K) &&
		    !spte_kvm_leaves_count(m, as, SPTE_KVM_LEVEL_4K + 1) &&
		    !spte_kvm_leaves_count(m, as, SPTE_KVM_LEVEL_1G))
			continue;
		g_string_append_printf(out, "KVM leaves%s (%s format):\n",
				       as ? " of SMM (as_id 1)" : "",
				       spte_kvm_spte_format_name(
					       spte_kvm_leaves_spte_format(m)));
		spte_kvm_leaves_format(m, as, 0, 0, "  ", out);
	}
	fputs(out->str, stdout);
}

static gboolean run(const struct run_opts *o, gboolean *ok, GError **error)
{
	g_autoptr(GPtrArray) steps = NULL;
	struct spte_session session;
	struct spte_boot_times times;
	struct spte_mem_opts mem;
	enum spte_kvm_leaves_want want;
	gboolean done = FALSE;

	if (!mem_opts_from(o, &mem, error))
		return FALSE;
	steps = spte_script_parse(o->exec ? o->exec : "", error);
	if (!steps) {
		g_prefix_error(error, "--exec: ");
		return FALSE;
	}
	for (guint i = 0; i < steps->len && !o->mirror; i++) {
		const struct spte_step *step = steps->pdata[i];

		if (step->needs_mirror) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "--exec: step %u '%s' acts on the mirror: "
				    "add --mirror", step->index, step->text);
			return FALSE;
		}
	}

	want = o->kvm_leaves ? SPTE_KVM_LEAVES_REQUIRED :
			       spte_steps_want_kvm_leaves(steps);
	if (!spte_session_boot(&session, &mem, o->guest, o->mirror, want,
			       &times, error))
		goto out;
	session.stats = o->stats;
	if (o->verbose)
		printf("vm: %" G_GUINT64_FORMAT " MiB %s RAM at hva %p\n",
		       mem.size >> 20, spte_backing_name(mem.backing),
		       session.vm->ram.hva);
	if (o->stats || o->verbose)
		print_startup(&times, session.vcpu);

	for (guint i = 0; i < steps->len; i++)
		if (!spte_session_run_step(&session, steps->pdata[i], error))
			goto out;
	if (o->kvm_leaves)
		print_kvm_leaves(&session);
	if (!spte_agent_halt(session.vcpu, error))
		goto out;
	if (o->stats)
		printf("exits: %" G_GUINT64_FORMAT " KVM_RUN returns\n",
		       session.vcpu->exits);
	done = TRUE;
out:
	if (!session.ok)
		*ok = FALSE;
	spte_session_close(&session);
	return done;
}

int spte_cmd_run(int argc, char **argv)
{
	struct run_opts o = { 0 };
	const GOptionEntry entries[] = {
		{ "guest", 'g', 0, G_OPTION_ARG_FILENAME, &o.guest,
		  "Guest ELF64 image (default: the bundled agent)", "FILE" },
		{ "mem", 'm', 0, G_OPTION_ARG_STRING, &o.mem,
		  "Guest RAM size, e.g. 64M, 1G (default 64M)", "SIZE" },
		{ "backing", 'b', 0, G_OPTION_ARG_STRING, &o.backing,
		  "Guest RAM backing: anon (default), memfd, hugetlb", "KIND" },
		{ "thp", 0, 0, G_OPTION_ARG_NONE, &o.thp,
		  "madvise(MADV_HUGEPAGE) guest RAM", NULL },
		{ "no-thp", 0, 0, G_OPTION_ARG_NONE, &o.no_thp,
		  "madvise(MADV_NOHUGEPAGE) guest RAM", NULL },
		{ "ksm", 0, 0, G_OPTION_ARG_NONE, &o.ksm,
		  "madvise(MADV_MERGEABLE) guest RAM (anon only)", NULL },
		{ "mirror", 0, 0, G_OPTION_ARG_NONE, &o.mirror,
		  "Mirror guest RAM with the spte_mirror module", NULL },
		{ "exec", 'e', 0, G_OPTION_ARG_STRING, &o.exec,
		  "Steps to run, separated by ';' (see below)", "SCRIPT" },
		{ "stats", 's', 0, G_OPTION_ARG_NONE, &o.stats,
		  "Print start-up time, per-step times and exit counts", NULL },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &o.verbose,
		  "Say what the VMM sets up", NULL },
		{ "kvm-leaves", 0, 0, G_OPTION_ARG_NONE, &o.kvm_leaves,
		  "Trace KVM's own leaves from before the VM exists; print "
		  "them after the script, checked against KVM's page counts",
		  NULL },
		{ NULL }
	};
	g_autoptr(GError) error = NULL;
	g_autofree char *help = spte_script_help();
	gboolean ok = TRUE;

	if (!spte_cli_options("run", &argc, &argv, entries,
		"- run a guest and drive its agent", help))
		return 2;
	if (argc > 1) {
		fprintf(stderr, "spte run: unexpected argument '%s'\n", argv[1]);
		return 2;
	}
	if (!run(&o, &ok, &error)) {
		spte_cli_error("run", error);
		ok = FALSE;
	}
	g_free(o.guest);
	g_free(o.mem);
	g_free(o.backing);
	g_free(o.exec);
	return ok ? 0 : 1;
}
