// SPDX-License-Identifier: GPL-2.0-only
/*
 * lab_accel.c - KVM or TCG for the lab VM.
 *
 * The lab needs a virtual CPU with SVM or VMX and nested paging, so that
 * kvm_amd or kvm_intel loads inside.  TCG's -cpu max offers SVM with NPT
 * on any host, slowly.  Where the host's own KVM runs nested guests,
 * -accel kvm -cpu host passes the host CPU's SVM or VMX through and the
 * lab runs at native speed.  Whether it does is the kvm_amd or kvm_intel
 * "nested" parameter (Y or 1), and QEMU needs /dev/kvm read-write.
 *
 * Probing (lab_host_probe) and deciding (lab_accel_choose) are apart so
 * that the decision is a pure function of what was read, and the probe
 * reads below a root that tests can point at a fake host
 * ($SPTE_LAB_HOST_ROOT, see docs/lab.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

#include "knobs.h"
#include "lab_private.h"

/*
 * The host modules whose nested guests can run the lab, in the order they
 * are reported.  lab/init picks the same module inside (by the vmx/svm
 * flag) and lab/mkinitramfs.sh packs both.
 */
static const char *const kvm_modules[LAB_KVM_MODULES] = {
	"kvm_intel", "kvm_amd",
};

const char *lab_accel_name(enum lab_accel accel)
{
	switch (accel) {
	case LAB_ACCEL_AUTO:
		return "auto";
	case LAB_ACCEL_KVM:
		return "kvm";
	case LAB_ACCEL_TCG:
		return "tcg";
	}
	return "?";
}

gboolean lab_accel_parse(const char *s, enum lab_accel *accel, GError **error)
{
	static const enum lab_accel all[] = {
		LAB_ACCEL_AUTO, LAB_ACCEL_KVM, LAB_ACCEL_TCG,
	};

	for (gsize i = 0; i < G_N_ELEMENTS(all); i++) {
		if (g_str_equal(s, lab_accel_name(all[i]))) {
			*accel = all[i];
			return TRUE;
		}
	}
	g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		    "--accel '%s' is not one of auto, kvm, tcg", s);
	return FALSE;
}

void lab_host_probe(const char *root, struct lab_host_facts *f)
{
	int fd;

	if (!root || !*root)
		root = "/";
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < LAB_KVM_MODULES; i++) {
		struct lab_nested_param *p = &f->nested[i];

		p->module = kvm_modules[i];
		p->path = g_build_filename(root, "sys", "module", p->module,
					   "parameters", "nested", NULL);
		p->value = spte_knob_read(p->path, NULL);
	}
	f->dev_kvm = g_build_filename(root, "dev", "kvm", NULL);
	/* What QEMU's -accel kvm does first; a failure here is its failure. */
	fd = open(f->dev_kvm, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		f->dev_kvm_errno = errno;
	} else {
		f->dev_kvm_errno = 0;
		close(fd);
	}
}

void lab_host_facts_clear(struct lab_host_facts *f)
{
	for (int i = 0; i < LAB_KVM_MODULES; i++) {
		g_clear_pointer(&f->nested[i].path, g_free);
		g_clear_pointer(&f->nested[i].value, g_free);
	}
	g_clear_pointer(&f->dev_kvm, g_free);
}

static gboolean nested_on(const struct lab_nested_param *p)
{
	/* kvm_intel's is a bool (Y/N), kvm_amd's an int (1/0) */
	return p->value && (g_str_equal(p->value, "Y") ||
			    g_str_equal(p->value, "1"));
}

/*
 * Why the host cannot run the lab under KVM, or NULL if it can; @how gets
 * what it can, when it can.
 */
static char *kvm_unusable(const struct lab_host_facts *f, char **how)
{
	const struct lab_nested_param *on = NULL;
	g_autoptr(GString) off = g_string_new(NULL);

	for (int i = 0; i < LAB_KVM_MODULES && !on; i++) {
		const struct lab_nested_param *p = &f->nested[i];

		if (nested_on(p))
			on = p;
		else if (p->value)
			g_string_append_printf(off, "%s%s is '%s' (load %s with nested=1)",
					       off->len ? ", " : "", p->path,
					       p->value, p->module);
	}
	if (!on) {
		if (off->len)
			return g_string_free(g_steal_pointer(&off), FALSE);
		return g_strdup_printf("neither %s nor %s can be read (%s and %s are not loaded)",
				       f->nested[0].path, f->nested[1].path,
				       f->nested[0].module, f->nested[1].module);
	}
	if (f->dev_kvm_errno)
		return g_strdup_printf("%s is '%s', but %s does not open read-write: %s",
				       on->path, on->value, f->dev_kvm,
				       g_strerror(f->dev_kvm_errno));
	*how = g_strdup_printf("%s is '%s' and %s opens read-write",
			       on->path, on->value, f->dev_kvm);
	return NULL;
}

gboolean lab_accel_choose(enum lab_accel want, const struct lab_host_facts *f,
			  enum lab_accel *chosen, char **why, GError **error)
{
	g_autofree char *how = NULL;
	g_autofree char *missing = NULL;

	if (want == LAB_ACCEL_TCG) {
		*chosen = LAB_ACCEL_TCG;
		*why = g_strdup("--accel tcg");
		return TRUE;
	}
	missing = kvm_unusable(f, &how);
	if (!missing) {
		*chosen = LAB_ACCEL_KVM;
		*why = g_strdup_printf("--accel %s: %s", lab_accel_name(want), how);
		return TRUE;
	}
	if (want == LAB_ACCEL_KVM) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "--accel kvm: the host's KVM cannot run the lab, it needs nested virtualization: %s",
			    missing);
		return FALSE;
	}
	*chosen = LAB_ACCEL_TCG;
	*why = g_strdup_printf("--accel auto: no nested KVM on this host: %s",
			       missing);
	return TRUE;
}
