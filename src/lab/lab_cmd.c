// SPDX-License-Identifier: GPL-2.0-only
/*
 * lab_cmd.c - `spte lab`: options, then kernel -> initramfs -> control
 * share -> QEMU -> exit status.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

#include "lab.h"
#include "lab_private.h"
#include "command_line.h"
#include "parse.h"

#define LAB_DEFAULT_MEM		(G_GUINT64_CONSTANT(1) << 30)
#define LAB_DEFAULT_CPUS	2
#define LAB_DEFAULT_TIMEOUT	600
/* Below this the stock kernel plus initramfs does not boot reliably. */
#define LAB_MIN_MEM		(G_GUINT64_CONSTANT(256) << 20)
#define LAB_MAX_CPUS		64
#define LAB_MAX_NUMA		8

static void lab_opts_clear(struct lab_opts *o)
{
	g_clear_pointer(&o->share, g_free);
	g_clear_pointer(&o->cmdline, g_free);
	g_clear_pointer(&o->kernel, g_free);
	g_clear_pointer(&o->files, g_ptr_array_unref);
	g_clear_pointer(&o->command, g_strfreev);
}

/* Fill @o from argv; on failure @error holds the one-line reason. */
static gboolean parse_args(int argc, char **argv, struct lab_opts *o,
			   GError **error)
{
	g_autofree char *mem = NULL;
	g_autofree char *share = NULL;
	g_autofree char *kernel = NULL;
	g_autofree char *accel = NULL;
	g_auto(GStrv) add = NULL;
	g_auto(GStrv) cmdline = NULL;
	g_auto(GStrv) rest = NULL;
	g_auto(GStrv) args = NULL;
	int cpus = LAB_DEFAULT_CPUS, numa = 0, timeout = LAB_DEFAULT_TIMEOUT;
	gboolean verbose = FALSE;
	g_autoptr(GOptionContext) ctx = NULL;
	const GOptionEntry entries[] = {
		{ "mem", 'm', 0, G_OPTION_ARG_STRING, &mem,
		  "Guest memory (default 1G)", "SIZE" },
		{ "cpus", 'c', 0, G_OPTION_ARG_INT, &cpus,
		  "vCPUs (default 2)", "N" },
		{ "numa", 0, 0, G_OPTION_ARG_INT, &numa,
		  "Split memory and vCPUs into N NUMA nodes", "N" },
		{ "timeout", 't', 0, G_OPTION_ARG_INT, &timeout,
		  "Kill the VM after SEC seconds (default $SPTE_LAB_TIMEOUT, else 600)", "SEC" },
		{ "share", 's', 0, G_OPTION_ARG_FILENAME, &share,
		  "Directory shared read-write and used as the working directory (default: .)",
		  "DIR" },
		{ "add", 'a', 0, G_OPTION_ARG_FILENAME_ARRAY, &add,
		  "Also put FILE into the VM (/opt/spte/bin, *.ko in /opt/spte/modules)",
		  "FILE" },
		{ "kernel", 'k', 0, G_OPTION_ARG_STRING, &kernel,
		  "Lab kernel: a name from lab/kernels (default $SPTE_LAB_KERNEL, else the first)",
		  "NAME" },
		{ "accel", 0, 0, G_OPTION_ARG_STRING, &accel,
		  "kvm (-cpu host, needs nested KVM on the host), tcg (-cpu max) or auto: kvm where the host allows it (default)",
		  "auto|kvm|tcg" },
		{ "cmdline", 0, 0, G_OPTION_ARG_STRING_ARRAY, &cmdline,
		  "Append ARGS to the lab kernel's command line; repeatable",
		  "ARGS" },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
		  "Show kernel messages and lab progress", NULL },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &rest,
		  NULL, "-- COMMAND [ARGS...]" },
		{ NULL }
	};
	guint64 mem_bytes = LAB_DEFAULT_MEM;

	ctx = g_option_context_new("- run a command inside the lab VM");
	g_option_context_set_summary(ctx,
		"Boots a Debian stock kernel (--kernel) under QEMU: on KVM with -cpu host\n"
		"where the host runs nested guests, else on TCG with -cpu max (--accel);\n"
		"either offers SVM or VMX with nested paging, so kvm_amd or kvm_intel\n"
		"loads inside.  Shares DIR read-write, runs COMMAND there and exits with\n"
		"its status.  2: bad options; 123: the lab kernel reported a BUG, WARNING,\n"
		"Oops, lockup or stall (its log is kept); 124: --timeout hit; 125: the VM\n"
		"died before reporting a status; 126: the lab could not be started (also\n"
		"--accel kvm on a host without nested KVM).");
	g_option_context_add_main_entries(ctx, entries, NULL);
	/* Options end at the command, so `spte lab sh -c ...` keeps its -c. */
	g_option_context_set_strict_posix(ctx, TRUE);

	args = g_new0(char *, argc + 2);
	args[0] = g_strdup("spte lab");
	for (int i = 1; i < argc; i++)
		args[i] = g_strdup(argv[i]);
	/* a slow lab kernel's tests raise the default for every boot inside */
	if (g_getenv("SPTE_LAB_TIMEOUT") && *g_getenv("SPTE_LAB_TIMEOUT")) {
		guint64 v;

		if (!spte_parse_u64(g_getenv("SPTE_LAB_TIMEOUT"),
				    "$SPTE_LAB_TIMEOUT", &v, error))
			return FALSE;
		if (v < 1 || v > G_MAXINT) {
			g_set_error(error, G_OPTION_ERROR,
				    G_OPTION_ERROR_BAD_VALUE,
				    "$SPTE_LAB_TIMEOUT %" G_GUINT64_FORMAT
				    " must be 1..%d seconds", v, G_MAXINT);
			return FALSE;
		}
		timeout = v;
	}
	if (!g_option_context_parse_strv(ctx, &args, error))
		return FALSE;

	if (!rest || !rest[0]) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
			    "no command given (usage: spte lab [OPTIONS] -- COMMAND [ARGS...])");
		return FALSE;
	}
	if (mem && !spte_parse_size(mem, "--mem", &mem_bytes, error))
		return FALSE;
	if (mem_bytes < LAB_MIN_MEM) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--mem %s is too small (at least 256M)", mem);
		return FALSE;
	}
	if (cpus < 1 || cpus > LAB_MAX_CPUS) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--cpus %d out of range 1..%d", cpus, LAB_MAX_CPUS);
		return FALSE;
	}
	if (numa < 0 || numa > LAB_MAX_NUMA || (numa > 0 &&
	    (mem_bytes >> 20) / numa < 128)) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--numa %d: need 1..%d nodes with at least 128M each",
			    numa, LAB_MAX_NUMA);
		return FALSE;
	}
	if (accel && !lab_accel_parse(accel, &o->accel, error))
		return FALSE;
	if (timeout < 1) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--timeout %d must be at least 1 second", timeout);
		return FALSE;
	}

	o->share = g_canonicalize_filename(share ? share : ".", NULL);
	{
		/* The guest mounts the share at this path; resolve symlinks. */
		g_autofree char *real = realpath(o->share, NULL);

		if (!real || !g_file_test(real, G_FILE_TEST_IS_DIR)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY,
				    "--share %s is not a directory", o->share);
			return FALSE;
		}
		g_free(o->share);
		o->share = g_steal_pointer(&real);
	}

	o->files = g_ptr_array_new_with_free_func(g_free);
	for (char **a = add; a && *a; a++) {
		if (!g_file_test(*a, G_FILE_TEST_IS_REGULAR)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    "--add %s: no such file", *a);
			return FALSE;
		}
		g_ptr_array_add(o->files, g_canonicalize_filename(*a, NULL));
	}

	o->mem_bytes = mem_bytes & ~((G_GUINT64_CONSTANT(1) << 20) - 1);
	o->cpus = cpus;
	o->numa = numa;
	o->timeout_sec = timeout;
	o->verbose = verbose;
	if (cmdline && cmdline[0]) {
		g_autofree char *joined = g_strjoinv(" ", cmdline);

		/* x86's COMMAND_LINE_SIZE is 2048; leave room for ours */
		if (strpbrk(joined, "\n\r") || strlen(joined) > 1024) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "--cmdline: kernel parameters must be one line of at most 1024 characters");
			return FALSE;
		}
		o->cmdline = g_steal_pointer(&joined);
	}
	if (!kernel && g_getenv("SPTE_LAB_KERNEL") && *g_getenv("SPTE_LAB_KERNEL"))
		kernel = g_strdup(g_getenv("SPTE_LAB_KERNEL"));
	o->kernel = g_steal_pointer(&kernel);
	o->command = g_steal_pointer(&rest);
	return TRUE;
}

const char *spte_lab_exit_text(int status)
{
	switch (status) {
	case SPTE_LAB_EXIT_USAGE:
		return "bad lab options";
	case SPTE_LAB_EXIT_KERNEL:
		return "the lab kernel reported a BUG, WARNING, Oops, lockup or stall";
	case SPTE_LAB_EXIT_TIMEOUT:
		return "the lab timed out";
	case SPTE_LAB_EXIT_NO_STATUS:
		return "the VM ended without reporting the command's status";
	case SPTE_LAB_EXIT_SETUP:
		return "the lab could not be started (kernel, initramfs or QEMU)";
	default:
		return NULL;
	}
}

char **spte_lab_kernels(gboolean on_demand, GError **error)
{
	g_autofree char *dir = lab_script_dir(error);

	return dir ? lab_kernel_names(dir, on_demand, error) : NULL;
}

/*
 * A splat in the kernel log fails the run whatever the command said: print
 * it with the backtraces that follow, and return SPTE_LAB_EXIT_KERNEL.
 */
static int check_kernel_log(const char *ctl_dir, int status)
{
	g_autofree char *path = lab_klog_path(ctl_dir);
	g_autoptr(GString) excerpt = g_string_new(NULL);
	g_autofree char *splat = lab_klog_find_splat(path, excerpt);

	if (!splat)
		return status;
	g_printerr("spte lab: the lab kernel reported: %s\n", splat);
	if (status == SPTE_LAB_EXIT_NO_STATUS)
		g_printerr("spte lab: it ended the VM before the command did; the kernel log from there:\n%s",
			   excerpt->str);
	else
		g_printerr("spte lab: command status %d overridden with %d; the kernel log from there:\n%s",
			   status, SPTE_LAB_EXIT_KERNEL, excerpt->str);
	return SPTE_LAB_EXIT_KERNEL;
}

/*
 * --accel auto or kvm becomes KVM or TCG here, before anything is fetched
 * or built, so that --accel kvm on a host that cannot fails at once.
 * $SPTE_LAB_HOST_ROOT stands in for / while probing, for tests.
 */
static gboolean resolve_accel(struct lab_opts *o, char **why, GError **error)
{
	struct lab_host_facts facts;
	gboolean ok;

	lab_host_probe(g_getenv("SPTE_LAB_HOST_ROOT"), &facts);
	ok = lab_accel_choose(o->accel, &facts, &o->accel, why, error);
	lab_host_facts_clear(&facts);
	return ok;
}

/* The default files for this kernel first, then --add's; all checked. */
static gboolean lab_payload(struct lab_opts *o, const struct lab_kernel *k,
			    GError **error)
{
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);

	lab_default_files(files, k->name, o->verbose);
	for (guint i = 0; i < o->files->len; i++)
		g_ptr_array_add(files, g_strdup(o->files->pdata[i]));
	if (!lab_check_modules(files, k->kver, error))
		return FALSE;
	for (guint i = 0; o->verbose && i < files->len; i++)
		g_printerr("spte lab: payload %s\n", (char *)files->pdata[i]);
	g_ptr_array_unref(o->files);
	o->files = g_steal_pointer(&files);
	return TRUE;
}

int spte_cmd_lab(int argc, char **argv)
{
	struct lab_opts opts = { 0 };
	struct lab_kernel kernel = { 0 };
	g_autoptr(GError) error = NULL;
	g_autofree char *script_dir = NULL;
	g_autofree char *initrd = NULL;
	g_autofree char *ctl_dir = NULL;
	g_autofree char *accel_why = NULL;
	g_autofree char *qemu_cmdline = NULL;
	g_autofree char *klog_head = NULL;
	g_autoptr(GPtrArray) qemu_argv = NULL;
	g_autoptr(lab_console) con = NULL;
	enum lab_run_end end;
	gboolean interactive = isatty(STDIN_FILENO);
	gint64 t0, t_boot;
	int qemu_status = -1;
	int status = SPTE_LAB_EXIT_SETUP;

	if (!parse_args(argc, argv, &opts, &error)) {
		spte_cli_error("lab", error);
		lab_opts_clear(&opts);
		return SPTE_LAB_EXIT_USAGE;
	}

	t0 = g_get_monotonic_time();
	script_dir = lab_script_dir(&error);
	if (script_dir && opts.kernel &&
	    !lab_kernel_known(script_dir, opts.kernel, &error)) {
		spte_cli_error("lab", error);
		lab_opts_clear(&opts);
		return SPTE_LAB_EXIT_USAGE;
	}
	/* after the usage checks: a bad --kernel is 2 whatever the host */
	if (!resolve_accel(&opts, &accel_why, &error)) {
		spte_cli_error("lab", error);
		goto out;
	}
	if (opts.verbose)
		g_printerr("spte lab: accel %s (%s)\n", lab_accel_name(opts.accel),
			   accel_why);
	if (opts.verbose && script_dir)
		g_printerr("spte lab: scripts %s\n", script_dir);

	if (!script_dir ||
	    !lab_kernel_fetch(script_dir, opts.kernel, &kernel, &error) ||
	    !lab_payload(&opts, &kernel, &error) ||
	    !(initrd = lab_initramfs_build(script_dir, kernel.name, opts.files,
					   &error)) ||
	    !(ctl_dir = lab_ctl_create(&opts, &error)) ||
	    !(qemu_argv = lab_qemu_argv(&opts, &kernel, initrd, ctl_dir,
					interactive, &error))) {
		spte_cli_error("lab", error);
		goto out;
	}
	qemu_cmdline = g_strjoinv(" ", (char **)qemu_argv->pdata);
	/* A kept log must say how the lab ran: QEMU appends to these lines. */
	klog_head = g_strdup_printf("spte lab: accel %s (%s)\n"
				    "spte lab: kernel %s (%s)\n"
				    "spte lab: %s\n",
				    lab_accel_name(opts.accel), accel_why,
				    kernel.name, kernel.kver, qemu_cmdline);
	if (!lab_klog_start(ctl_dir, klog_head, &error)) {
		spte_cli_error("lab", error);
		goto out;
	}
	if (opts.verbose) {
		g_printerr("spte lab: kernel %s (%s), initramfs %s, prepared in %.2f s\n",
			   kernel.name, kernel.kver, initrd,
			   (g_get_monotonic_time() - t0) / 1e6);
		g_printerr("spte lab: %s\n", qemu_cmdline);
	}

	fflush(stdout);
	con = lab_console_new(opts.verbose);
	t_boot = g_get_monotonic_time();
	if (!lab_qemu_run(qemu_argv, &opts, interactive, con, &end,
			  &qemu_status, &error)) {
		spte_cli_error("lab", error);
		status = SPTE_LAB_EXIT_NO_STATUS;
		goto out;
	}
	if (opts.verbose)
		g_printerr("spte lab: VM ran for %.2f s\n",
			   (g_get_monotonic_time() - t_boot) / 1e6);

	if (end == LAB_RUN_TIMEOUT) {
		g_printerr("spte lab: timed out after %d s (--timeout %d); VM killed\n",
			   opts.timeout_sec, opts.timeout_sec);
		status = SPTE_LAB_EXIT_TIMEOUT;
	} else if (!lab_ctl_read_status(ctl_dir, &status) &&
		   !lab_console_status(con, &status)) {
		status = SPTE_LAB_EXIT_NO_STATUS;
	}
	status = check_kernel_log(ctl_dir, status);
	if (status == SPTE_LAB_EXIT_NO_STATUS)
		g_printerr("spte lab: the VM exited (QEMU status %d) before reporting "
			   "the command's exit status\n", qemu_status);

out:
	if (status == 0 || status == SPTE_LAB_EXIT_USAGE ||
	    status == SPTE_LAB_EXIT_SETUP)
		lab_ctl_remove(ctl_dir);
	else if (ctl_dir)
		g_printerr("spte lab: kernel log kept: %s/%s\n", ctl_dir,
			   LAB_KLOG_NAME);
	lab_kernel_clear(&kernel);
	lab_opts_clear(&opts);
	return status;
}
