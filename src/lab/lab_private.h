/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lab_private.h - pieces of `spte lab`, one file each:
 *   lab_accel.c    KVM where the host runs nested guests, else TCG
 *   lab_paths.c    where the lab scripts and the default payload are;
 *                  no module built for another kernel goes in
 *   lab_prepare.c  run fetch-kernel.sh and mkinitramfs.sh
 *   lab_ctl.c      the control share (command in, exit status out)
 *   lab_qemu.c     QEMU's command line and its supervised run
 *   lab_console.c  console stream: pass through, pick out the exit marker
 *   lab_klog.c     the kernel log: its own serial port, scanned for splats
 *   lab_cmd.c      option parsing and the whole sequence
 */
#ifndef SPTE_LAB_PRIVATE_H
#define SPTE_LAB_PRIVATE_H

#include <glib.h>

#define LAB_EXIT_MARKER "SPTE-LAB-EXIT="

enum lab_accel {
	LAB_ACCEL_AUTO,		/* KVM if the host runs nested guests, else TCG */
	LAB_ACCEL_KVM,		/* -accel kvm -cpu host */
	LAB_ACCEL_TCG,		/* -accel tcg,thread=single -cpu max */
};

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
	enum lab_accel accel;	/* --accel; after lab_accel_choose() KVM or TCG */
	char **command;		/* NULL-terminated, at least one word */
};

/* What fetch-kernel.sh reports (its kernel-NAME.env). */
struct lab_kernel {
	char *name;		/* the lab/kernels name */
	char *kver;
	char *vmlinuz;
	char *vmlinux;		/* PVH-bootable ELF, NULL if none */
	char *cmdline;		/* what the kernel itself needs, or NULL */
	char *moddir;
	char *headers;
};

/* lab_accel.c: what the host offers, read by lab_host_probe() */
#define LAB_KVM_MODULES 2
struct lab_nested_param {
	const char *module;	/* kvm_intel or kvm_amd */
	char *path;		/* its parameters/nested under the root */
	char *value;		/* stripped; NULL if it cannot be read */
};
struct lab_host_facts {
	struct lab_nested_param nested[LAB_KVM_MODULES];
	char *dev_kvm;		/* dev/kvm under the root */
	int dev_kvm_errno;	/* 0: it opens read-write */
};
const char *lab_accel_name(enum lab_accel accel);
gboolean lab_accel_parse(const char *s, enum lab_accel *accel, GError **error);
/* @root stands in for /: NULL or "" is the real host. */
void lab_host_probe(const char *root, struct lab_host_facts *f);
void lab_host_facts_clear(struct lab_host_facts *f);
/*
 * Pure: the accelerator for @want on a host with @f, KVM or TCG, and in
 * @why the grounds, paths and values included.  FALSE only for
 * LAB_ACCEL_KVM on a host that cannot, @error naming what is missing.
 */
gboolean lab_accel_choose(enum lab_accel want, const struct lab_host_facts *f,
			  enum lab_accel *chosen, char **why, GError **error);

/* lab_paths.c */
char *lab_script_dir(GError **error);
void lab_default_files(GPtrArray *files, const char *kernel_name,
		       gboolean verbose);
gboolean lab_check_modules(GPtrArray *files, const char *kver, GError **error);

/* lab_prepare.c */
gboolean lab_kernel_fetch(const char *script_dir, const char *name,
			  struct lab_kernel *kernel, GError **error);
void lab_kernel_clear(struct lab_kernel *kernel);
char **lab_kernel_names(const char *script_dir, gboolean on_demand,
			GError **error);
gboolean lab_kernel_known(const char *script_dir, const char *name,
			  GError **error);
char *lab_initramfs_build(const char *script_dir, const char *kernel_name,
			  GPtrArray *files, GError **error);

/* lab_ctl.c */
char *lab_ctl_create(const struct lab_opts *opts, GError **error);
gboolean lab_ctl_read_status(const char *ctl_dir, int *status);
void lab_ctl_remove(const char *ctl_dir);

/* lab_klog.c */
#define LAB_KLOG_NAME "kernel.log"
extern const char lab_klog_params[];
char *lab_klog_path(const char *ctl_dir);
/* Start the log with @text; QEMU appends the kernel's. */
gboolean lab_klog_start(const char *ctl_dir, const char *text, GError **error);
char *lab_klog_find_splat(const char *path, GString *excerpt);

/* lab_console.c */
typedef struct lab_console lab_console;
struct lab_console *lab_console_new(gboolean verbose);
void lab_console_feed(struct lab_console *con, const char *buf, gsize len);
void lab_console_finish(struct lab_console *con);
gboolean lab_console_status(const struct lab_console *con, int *status);
void lab_console_free(struct lab_console *con);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(lab_console, lab_console_free)

/* lab_qemu.c */
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
