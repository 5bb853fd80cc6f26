/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lab-private.h - pieces of `spte lab`, one file each:
 *   lab-paths.c    where the lab scripts and the default payload are;
 *                  no module built for another kernel goes in
 *   lab-prepare.c  run fetch-kernel.sh and mkinitramfs.sh
 *   lab-ctl.c      the control share (command in, exit status out)
 *   lab-qemu.c     QEMU's command line and its supervised run
 *   lab-console.c  console stream: pass through, pick out the exit marker
 *   lab-klog.c     the kernel log: its own serial port, scanned for splats
 *   lab-cmd.c      option parsing and the whole sequence
 */
#ifndef SPTE_LAB_PRIVATE_H
#define SPTE_LAB_PRIVATE_H

#include <glib.h>

#define LAB_EXIT_MARKER "SPTE-LAB-EXIT="

struct lab_opts {
	guint64 mem_bytes;
	int cpus;
	int numa;		/* 0: no NUMA topology; N: N nodes */
	int timeout_sec;
	char *share;		/* absolute, symlinks resolved */
	GPtrArray *files;	/* char *: payload for /opt/spte */
	gboolean verbose;
	char *cmdline;		/* extra kernel parameters, NULL if none */
	char *kernel;		/* lab/kernels name, NULL: the default */
	char **command;		/* NULL-terminated, at least one word */
};

/* What fetch-kernel.sh reports (its kernel-NAME.env). */
struct lab_kernel {
	char *name;		/* the lab/kernels name */
	char *kver;
	char *vmlinuz;
	char *vmlinux;		/* PVH-bootable ELF, NULL if none */
	char *moddir;
	char *headers;
};

/* lab-paths.c */
char *lab_script_dir(GError **error);
void lab_default_files(GPtrArray *files, const char *kernel_name,
		       gboolean verbose);
gboolean lab_check_modules(GPtrArray *files, const char *kver, GError **error);

/* lab-prepare.c */
gboolean lab_kernel_fetch(const char *script_dir, const char *name,
			  struct lab_kernel *kernel, GError **error);
void lab_kernel_clear(struct lab_kernel *kernel);
gboolean lab_kernel_known(const char *script_dir, const char *name,
			  GError **error);
char *lab_initramfs_build(const char *script_dir, const char *kernel_name,
			  GPtrArray *files, GError **error);

/* lab-ctl.c */
char *lab_ctl_create(const struct lab_opts *opts, GError **error);
gboolean lab_ctl_read_status(const char *ctl_dir, int *status);
void lab_ctl_remove(const char *ctl_dir);

/* lab-klog.c */
#define LAB_KLOG_NAME "kernel.log"
extern const char lab_klog_params[];
char *lab_klog_path(const char *ctl_dir);
char *lab_klog_find_splat(const char *path, GString *excerpt);

/* lab-console.c */
typedef struct lab_console LabConsole;
struct lab_console *lab_console_new(gboolean verbose);
void lab_console_feed(struct lab_console *con, const char *buf, gsize len);
void lab_console_finish(struct lab_console *con);
gboolean lab_console_status(const struct lab_console *con, int *status);
void lab_console_free(struct lab_console *con);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LabConsole, lab_console_free)

/* lab-qemu.c */
enum lab_run_end {
	LAB_RUN_EXITED,		/* QEMU ended by itself */
	LAB_RUN_TIMEOUT,	/* we killed it after --timeout */
};
GPtrArray *lab_qemu_argv(const struct lab_opts *opts,
			 const struct lab_kernel *kernel, const char *initrd,
			 const char *ctl_dir, gboolean interactive,
			 GError **error);
gboolean lab_qemu_run(GPtrArray *argv, const struct lab_opts *opts,
		      gboolean interactive, struct lab_console *con,
		      enum lab_run_end *end, int *qemu_status, GError **error);

#endif /* SPTE_LAB_PRIVATE_H */
