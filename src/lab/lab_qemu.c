// SPDX-License-Identifier: GPL-2.0-only
/*
 * lab_qemu.c - QEMU's command line and a supervised run of it.
 *
 * The machine is the plainest that does the job: TCG with -cpu max (whose
 * SVM+NPT is what lets kvm_amd load inside), or where the host runs nested
 * guests KVM with -cpu host (its SVM or VMX, for kvm_amd or kvm_intel; see
 * lab_accel.c); the default "pc" machine with -nodefaults so no
 * VGA/NIC/IDE is probed, the kernel and initramfs passed directly, two 9p
 * shares, the first serial port (the command) on our stdout and the second
 * (the kernel log) in the control directory.
 *
 * TCG runs single-threaded, all vCPUs on one host thread.  With QEMU 7.2's
 * default multi-threaded TCG, a lab kernel patching its own text
 * (text_poke_bp(), as enabling a tracepoint does) while a nested KVM guest
 * runs on the other vCPU can wait forever for the sync IPI: the lab
 * soft-locks within seconds of tracepoint toggling.  Single-threaded TCG
 * costs about 10 % of boot-to-exit time on two vCPUs; see docs/lab.md.
 */
#include <signal.h>
#include <stdio.h>
#include <gio/gio.h>

#include "lab_private.h"

/* QEMU's option syntax doubles commas inside a value. */
static char *qemu_escape(const char *s)
{
	g_auto(GStrv) parts = g_strsplit(s, ",", -1);

	return g_strjoinv(",,", parts);
}

static void add(GPtrArray *argv, const char *s)
{
	g_ptr_array_add(argv, g_strdup(s));
}

G_GNUC_PRINTF(2, 3)
static void addf(GPtrArray *argv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(argv, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

/*
 * -numa: memory split evenly in MiB (remainder to the last node), vCPUs in
 * contiguous ranges; a node may end up with memory but no CPU, which Linux
 * handles and some scenarios want.
 */
static void add_numa(GPtrArray *argv, guint64 mem_mib, int cpus, int nodes)
{
	guint64 per = mem_mib / nodes;
	int cpu = 0;

	for (int n = 0; n < nodes; n++) {
		guint64 size = n == nodes - 1 ? mem_mib - per * (nodes - 1) : per;
		int ncpu = cpus / nodes + (n < cpus % nodes ? 1 : 0);

		add(argv, "-object");
		addf(argv, "memory-backend-ram,id=lab-mem%d,size=%" G_GUINT64_FORMAT "M",
		     n, size);
		add(argv, "-numa");
		if (ncpu > 0)
			addf(argv, "node,nodeid=%d,cpus=%d-%d,memdev=lab-mem%d",
			     n, cpu, cpu + ncpu - 1, n);
		else
			addf(argv, "node,nodeid=%d,memdev=lab-mem%d", n, n);
		cpu += ncpu;
	}
}

GPtrArray *lab_qemu_argv(const struct lab_opts *opts,
			 const struct lab_kernel *kernel, const char *initrd,
			 const char *ctl_dir, gboolean interactive,
			 GError **error)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	const char *qemu = g_getenv("SPTE_LAB_QEMU");
	g_autofree char *qemu_path = NULL;
	g_autofree char *ctl_esc = qemu_escape(ctl_dir);
	g_autofree char *share_esc = qemu_escape(opts->share);
	g_autofree char *klog = lab_klog_path(ctl_dir);
	g_autofree char *klog_esc = qemu_escape(klog);
	guint64 mem_mib = opts->mem_bytes >> 20;
	const char *kimage = kernel->vmlinux ? kernel->vmlinux : kernel->vmlinuz;

	qemu_path = g_find_program_in_path(qemu && *qemu ? qemu : "qemu-system-x86_64");
	if (!qemu_path) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "%s not found; install qemu-system-x86",
			    qemu && *qemu ? qemu : "qemu-system-x86_64");
		return NULL;
	}

	add(argv, qemu_path);
	switch (opts->accel) {
	case LAB_ACCEL_KVM:
		add(argv, "-accel");
		add(argv, "kvm");
		add(argv, "-cpu");
		add(argv, "host");
		break;
	case LAB_ACCEL_TCG:
		add(argv, "-accel");
		add(argv, "tcg,thread=single");
		add(argv, "-cpu");
		add(argv, "max");
		break;
	case LAB_ACCEL_AUTO:
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "QEMU's command line needs --accel auto decided first (lab_accel_choose)");
		return NULL;
	}
	add(argv, "-M");
	add(argv, "pc");
	add(argv, "-smp");
	/*
	 * With NUMA, one socket per vCPU: vCPUs of one socket share an LLC,
	 * and LLC siblings on different nodes make the kernel WARN at boot
	 * (topology_sane(), "llc-sibling CPU is not on the same node").
	 */
	if (opts->numa > 0)
		addf(argv, "%d,sockets=%d,cores=1,threads=1", opts->cpus,
		     opts->cpus);
	else
		addf(argv, "%d", opts->cpus);
	add(argv, "-m");
	addf(argv, "%" G_GUINT64_FORMAT "M", mem_mib);
	if (opts->numa > 0)
		add_numa(argv, mem_mib, opts->cpus, opts->numa);
	add(argv, "-nodefaults");
	add(argv, "-no-user-config");
	add(argv, "-display");
	add(argv, "none");
	/* A guest panic reboots (panic=-1); make that end QEMU instead. */
	add(argv, "-no-reboot");

	add(argv, "-kernel");
	add(argv, kimage);
	add(argv, "-initrd");
	add(argv, initrd);
	/*
	 * The kernel log goes to ttyS1 only, unless --verbose puts it on the
	 * console too; the last console= is /dev/console, which lab/init does
	 * not use (it writes to ttyS0 itself).
	 */
	add(argv, "-append");
	addf(argv, "console=ttyS1 %s%s%s%s%s%s", lab_klog_params,
	     opts->verbose ? " console=ttyS0 spte.verbose=1" : "",
	     kernel->cmdline ? " " : "", kernel->cmdline ? kernel->cmdline : "",
	     opts->cmdline ? " " : "", opts->cmdline ? opts->cmdline : "");

	if (interactive) {
		/*
		 * A terminal: ^C goes to the command inside (it owns ttyS0),
		 * ^A x leaves QEMU, as with -nographic.
		 */
		add(argv, "-chardev");
		add(argv, "stdio,id=lab-con,mux=on,signal=off");
		add(argv, "-serial");
		add(argv, "chardev:lab-con");
		add(argv, "-mon");
		add(argv, "chardev=lab-con,mode=readline");
	} else {
		add(argv, "-serial");
		add(argv, "stdio");
	}
	/* appended to: the log starts with spte lab's own lines (lab_cmd.c) */
	add(argv, "-chardev");
	addf(argv, "file,id=lab-klog,path=%s,append=on", klog_esc);
	add(argv, "-serial");
	add(argv, "chardev:lab-klog");

	add(argv, "-virtfs");
	addf(argv, "local,path=%s,mount_tag=spte_ctl,security_model=none,id=lab-ctl",
	     ctl_esc);
	add(argv, "-virtfs");
	addf(argv, "local,path=%s,mount_tag=spte_work,security_model=none,id=lab-work",
	     share_esc);

	g_ptr_array_add(argv, NULL);
	return g_steal_pointer(&argv);
}

/* --- the run ------------------------------------------------------------- */

struct run {
	GMainLoop *loop;
	GSubprocess *proc;
	GInputStream *out;
	struct lab_console *con;
	gboolean out_done;
	gboolean proc_done;
	gboolean timed_out;
	GSource *kill;		/* SIGKILL fallback after the timeout */
	GError *error;
};

static void maybe_quit(struct run *r)
{
	if (r->out_done && r->proc_done)
		g_main_loop_quit(r->loop);
}

static void on_read(GObject *src, GAsyncResult *res, gpointer data);

static void read_next(struct run *r)
{
	g_input_stream_read_bytes_async(r->out, 4096, G_PRIORITY_DEFAULT, NULL,
					on_read, r);
}

static void on_read(GObject *src, GAsyncResult *res, gpointer data)
{
	struct run *r = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) bytes = NULL;
	gsize len = 0;
	const char *buf;

	bytes = g_input_stream_read_bytes_finish(G_INPUT_STREAM(src), res, &error);
	if (!bytes) {
		if (!r->error)
			r->error = g_steal_pointer(&error);
		r->out_done = TRUE;
		maybe_quit(r);
		return;
	}
	buf = g_bytes_get_data(bytes, &len);
	if (len == 0) {
		r->out_done = TRUE;
		maybe_quit(r);
		return;
	}
	lab_console_feed(r->con, buf, len);
	read_next(r);
}

static void on_qemu_exit(GObject *src, GAsyncResult *res, gpointer data)
{
	struct run *r = data;

	g_subprocess_wait_finish(G_SUBPROCESS(src), res, NULL);
	r->proc_done = TRUE;
	maybe_quit(r);
}

static gboolean on_kill(gpointer data)
{
	struct run *r = data;

	/* SIGTERM was not enough; QEMU may be wedged in a 9p request. */
	g_subprocess_force_exit(r->proc);
	return G_SOURCE_REMOVE;
}

static gboolean on_timeout(gpointer data)
{
	struct run *r = data;

	r->timed_out = TRUE;
	/* SIGTERM first so QEMU restores the terminal it put into raw mode. */
	g_subprocess_send_signal(r->proc, SIGTERM);
	r->kill = g_timeout_source_new_seconds(5);
	g_source_set_callback(r->kill, on_kill, r, NULL);
	g_source_attach(r->kill, g_main_context_get_thread_default());
	return G_SOURCE_REMOVE;
}

gboolean lab_qemu_run(GPtrArray *argv, const struct lab_opts *opts,
		      gboolean interactive, struct lab_console *con,
		      enum lab_run_end *end, int *qemu_status, GError **error)
{
	/* A private context: the caller may be running its own main loop. */
	g_autoptr(GMainContext) ctx = g_main_context_new();
	g_autoptr(GMainLoop) loop = NULL;
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GSource) timeout = NULL;
	GSubprocessFlags flags = G_SUBPROCESS_FLAGS_STDOUT_PIPE;
	struct run r = { 0 };

	if (interactive)
		flags |= G_SUBPROCESS_FLAGS_STDIN_INHERIT;

	g_main_context_push_thread_default(ctx);
	launcher = g_subprocess_launcher_new(flags);
	proc = g_subprocess_launcher_spawnv(launcher,
					    (const char *const *)argv->pdata, error);
	if (!proc) {
		g_main_context_pop_thread_default(ctx);
		return FALSE;
	}

	loop = g_main_loop_new(ctx, FALSE);
	r.loop = loop;
	r.proc = proc;
	r.out = g_subprocess_get_stdout_pipe(proc);
	r.con = con;

	g_subprocess_wait_async(proc, NULL, on_qemu_exit, &r);
	read_next(&r);
	timeout = g_timeout_source_new_seconds(opts->timeout_sec);
	g_source_set_callback(timeout, on_timeout, &r, NULL);
	g_source_attach(timeout, ctx);

	g_main_loop_run(loop);

	g_source_destroy(timeout);
	if (r.kill) {
		g_source_destroy(r.kill);
		g_source_unref(r.kill);
	}
	/* Let the cancelled sources run their finalizers in this context. */
	while (g_main_context_iteration(ctx, FALSE))
		;
	g_main_context_pop_thread_default(ctx);

	lab_console_finish(con);
	*end = r.timed_out ? LAB_RUN_TIMEOUT : LAB_RUN_EXITED;
	*qemu_status = g_subprocess_get_if_exited(proc)
		       ? g_subprocess_get_exit_status(proc) : -1;
	if (r.error) {
		g_propagate_prefixed_error(error, r.error, "reading the VM console: ");
		return FALSE;
	}
	return TRUE;
}
