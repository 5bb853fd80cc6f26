// SPDX-License-Identifier: GPL-2.0
/*
 * spte run: create a VM, load the guest image, run the agent through an
 * --exec script, print each step's result.
 */
#include <stdio.h>
#include <stdlib.h>

#include "agent_client.h"
#include "cli.h"
#include "exec_script.h"
#include "mirror_steps.h"
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
};

/* Monotonic stamps of the start-up stages, in ns. */
struct startup {
	gint64 vm_ready;
	gint64 image_loaded;
	gint64 vcpu_ready;
};

static gint64 now_ns(void)
{
	return g_get_monotonic_time() * 1000;
}

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

static void print_startup(const struct startup *s, const struct spte_vcpu *vcpu)
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

/* The VMM's view of guest RAM must hold what the guest saw. */
static gboolean check_host_checksum(struct spte_vm *vm,
				    const struct spte_step *step,
				    const struct spte_guest_result *res,
				    GString *line)
{
	const guint64 *hva = spte_vm_gpa_to_hva(vm, step->gpa,
						step->pages * 4096);
	guint64 host;

	if (!hva)
		return TRUE;	/* the agent already refused the range */
	host = spte_fnv1a64_words(hva, step->pages * 512);
	if (host == res->value) {
		g_string_append(line, ", host agrees");
		return TRUE;
	}
	g_string_append_printf(line, ", FAILED: the host's view gives %#018"
			       G_GINT64_MODIFIER "x", host);
	return FALSE;
}

static gboolean run_agent_step(struct spte_vcpu *vcpu,
			       const struct spte_step *step,
			       const struct run_opts *o, gboolean *ok,
			       GError **error)
{
	struct spte_guest_cmd cmd = { .op = step->op, .gpa = step->gpa,
				      .pages = step->pages,
				      .pattern = step->pattern };
	struct spte_guest_result res;
	g_autoptr(GString) line = g_string_new(NULL);
	gint64 t = now_ns();

	if (!spte_agent_call(vcpu, &cmd, &res, error)) {
		g_prefix_error(error, "step %u '%s': ", step->index, step->text);
		return FALSE;
	}
	if (!spte_step_describe_result(step, &res, line))
		*ok = FALSE;
	else if (step->op == SPTE_OP_CHECKSUM &&
		 !check_host_checksum(vcpu->vm, step, &res, line))
		*ok = FALSE;
	if (o->stats)
		g_string_append_printf(line, " [%.2f ms]",
				       (now_ns() - t) * 1e-6);
	printf("%s\n", line->str);
	fflush(stdout);
	return TRUE;
}

static gboolean run(const struct run_opts *o, gboolean *ok, GError **error)
{
	g_autoptr(spte_vm) vm = NULL;
	g_autoptr(spte_vcpu) vcpu = NULL;
	g_autoptr(GPtrArray) steps = NULL;
	g_autofree char *agent = NULL;
	struct spte_mirror_session mirror = { 0 };
	gboolean done = FALSE;
	struct spte_mem_opts mem;
	struct startup s;
	guint64 entry;

	if (!mem_opts_from(o, &mem, error))
		return FALSE;
	steps = spte_script_parse(o->exec ? o->exec : "", error);
	if (!steps) {
		g_prefix_error(error, "--exec: ");
		return FALSE;
	}
	for (guint i = 0; i < steps->len && !o->mirror; i++) {
		const struct spte_step *step = steps->pdata[i];

		if (step->where == SPTE_STEP_HOST) {
			g_set_error(error, SPTE_ERROR, SPTE_ERROR_INVALID,
				    "--exec: step %u '%s' acts on the mirror: "
				    "add --mirror", step->index, step->text);
			return FALSE;
		}
	}
	if (!o->guest) {
		agent = spte_find_agent(error);
		if (!agent)
			return FALSE;
	}

	if (!spte_vm_create(&vm, &mem, error))
		return FALSE;
	s.vm_ready = now_ns();
	if (!spte_vm_load_image(vm, o->guest ? o->guest : agent, &entry, error))
		return FALSE;
	s.image_loaded = now_ns();
	if (!spte_vcpu_create(vm, 0, entry, &vcpu, error))
		return FALSE;
	s.vcpu_ready = now_ns();
	if (o->verbose)
		printf("vm: %" G_GUINT64_FORMAT " MiB %s RAM at hva %p, "
		       "entry %#" G_GINT64_MODIFIER "x\n", mem.size >> 20,
		       spte_backing_name(mem.backing), vm->ram.hva, entry);

	if (!spte_agent_wait_ready(vcpu, error))
		return FALSE;
	if (o->stats || o->verbose)
		print_startup(&s, vcpu);
	if (o->mirror && !spte_mirror_session_open(&mirror, vm, error))
		return FALSE;

	for (guint i = 0; i < steps->len; i++) {
		const struct spte_step *step = steps->pdata[i];

		if (step->where == SPTE_STEP_HOST) {
			if (!spte_mirror_run_step(&mirror, step, ok, error))
				goto out;
		} else if (!run_agent_step(vcpu, step, o, ok, error)) {
			goto out;
		}
	}
	if (!spte_agent_halt(vcpu, error))
		goto out;
	if (o->stats)
		printf("exits: %" G_GUINT64_FORMAT " KVM_RUN returns\n",
		       vcpu->exits);
	done = TRUE;
out:
	spte_mirror_session_close(&mirror);
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
		{ NULL }
	};
	g_autoptr(GOptionContext) ctx =
		g_option_context_new("- run a guest and drive its agent");
	g_autoptr(GError) error = NULL;
	g_autofree char *help = spte_script_help();
	gboolean ok = TRUE;

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(ctx, help);
	if (!spte_cli_parse(ctx, "run", &argc, &argv))
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
