// SPDX-License-Identifier: GPL-2.0
/*
 * spte lab --accel: the decision from what the host offers (a pure
 * function, fed made-up facts), the probe that reads those facts below a
 * fake root, and the QEMU arguments each accelerator gets.
 */
#include <errno.h>
#include <gio/gio.h>

#include "lab_private.h"
#include "spte-test.h"

/* --- lab_accel_choose ---------------------------------------------------- */

struct choose_case {
	const char *name;
	enum lab_accel want;
	const char *intel;	/* kvm_intel's nested, NULL: cannot be read */
	const char *amd;	/* kvm_amd's nested */
	int dev_errno;		/* opening dev/kvm */
	gboolean ok;
	enum lab_accel chosen;
	const char *said;	/* in @why, or in the error when !ok */
};

static const struct choose_case choose_cases[] = {
	{ "tcg-asked", LAB_ACCEL_TCG, "Y", NULL, 0,
	  TRUE, LAB_ACCEL_TCG, "--accel tcg" },
	{ "auto-amd-nested", LAB_ACCEL_AUTO, NULL, "1", 0, TRUE, LAB_ACCEL_KVM,
	  "--accel auto: /fake/sys/module/kvm_amd/parameters/nested is '1' and /fake/dev/kvm opens read-write" },
	{ "auto-intel-nested", LAB_ACCEL_AUTO, "Y", NULL, 0, TRUE, LAB_ACCEL_KVM,
	  "/fake/sys/module/kvm_intel/parameters/nested is 'Y'" },
	{ "auto-amd-off", LAB_ACCEL_AUTO, NULL, "0", 0, TRUE, LAB_ACCEL_TCG,
	  "--accel auto: no nested KVM on this host: /fake/sys/module/kvm_amd/parameters/nested is '0' (load kvm_amd with nested=1)" },
	{ "auto-intel-off", LAB_ACCEL_AUTO, "N", NULL, 0, TRUE, LAB_ACCEL_TCG,
	  "/fake/sys/module/kvm_intel/parameters/nested is 'N' (load kvm_intel with nested=1)" },
	{ "auto-no-module", LAB_ACCEL_AUTO, NULL, NULL, 0, TRUE, LAB_ACCEL_TCG,
	  "neither /fake/sys/module/kvm_intel/parameters/nested nor /fake/sys/module/kvm_amd/parameters/nested can be read (kvm_intel and kvm_amd are not loaded)" },
	{ "auto-no-dev", LAB_ACCEL_AUTO, NULL, "1", EACCES, TRUE, LAB_ACCEL_TCG,
	  "is '1', but /fake/dev/kvm does not open read-write: Permission denied" },
	{ "kvm-nested", LAB_ACCEL_KVM, NULL, "1", 0, TRUE, LAB_ACCEL_KVM,
	  "--accel kvm: /fake/sys/module/kvm_amd/parameters/nested is '1'" },
	{ "kvm-off", LAB_ACCEL_KVM, NULL, "0", 0, FALSE, 0,
	  "--accel kvm: the host's KVM cannot run the lab, it needs nested virtualization: /fake/sys/module/kvm_amd/parameters/nested is '0' (load kvm_amd with nested=1)" },
	{ "kvm-no-module", LAB_ACCEL_KVM, NULL, NULL, 0, FALSE, 0,
	  "(kvm_intel and kvm_amd are not loaded)" },
	{ "kvm-no-dev", LAB_ACCEL_KVM, "Y", NULL, ENOENT, FALSE, 0,
	  "/fake/dev/kvm does not open read-write: No such file or directory" },
};

static void fake_facts(struct lab_host_facts *f, const struct choose_case *c)
{
	const char *values[LAB_KVM_MODULES] = { c->intel, c->amd };
	const char *names[LAB_KVM_MODULES] = { "kvm_intel", "kvm_amd" };

	memset(f, 0, sizeof(*f));
	for (int i = 0; i < LAB_KVM_MODULES; i++) {
		f->nested[i].module = names[i];
		f->nested[i].path = g_strdup_printf("/fake/sys/module/%s/parameters/nested",
						    names[i]);
		f->nested[i].value = g_strdup(values[i]);
	}
	f->dev_kvm = g_strdup("/fake/dev/kvm");
	f->dev_kvm_errno = c->dev_errno;
}

static void test_choose(gconstpointer data)
{
	const struct choose_case *c = data;
	struct lab_host_facts f;
	g_autoptr(GError) error = NULL;
	g_autofree char *why = NULL;
	enum lab_accel chosen = LAB_ACCEL_AUTO;
	gboolean ok;

	fake_facts(&f, c);
	ok = lab_accel_choose(c->want, &f, &chosen, &why, &error);
	lab_host_facts_clear(&f);
	if (c->ok) {
		g_assert_no_error(error);
		g_assert_true(ok);
		g_assert_cmpstr(lab_accel_name(chosen), ==, lab_accel_name(c->chosen));
		g_assert_nonnull(why);
		if (!strstr(why, c->said))
			g_error("expected '%s' in '%s'", c->said, why);
	} else {
		g_assert_false(ok);
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
		g_assert_null(why);
		if (!strstr(error->message, c->said))
			g_error("expected '%s' in '%s'", c->said, error->message);
	}
}

/* --- lab_accel_parse ----------------------------------------------------- */

static void test_parse(void)
{
	static const char *const names[] = { "auto", "kvm", "tcg" };
	g_autoptr(GError) error = NULL;
	enum lab_accel a;

	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		g_assert_true(lab_accel_parse(names[i], &a, &error));
		g_assert_no_error(error);
		g_assert_cmpstr(lab_accel_name(a), ==, names[i]);
	}
	a = LAB_ACCEL_TCG;
	g_assert_false(lab_accel_parse("hvf", &a, &error));
	g_assert_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
	g_assert_cmpstr(error->message, ==, "--accel 'hvf' is not one of auto, kvm, tcg");
	g_assert_cmpint(a, ==, LAB_ACCEL_TCG);
}

/* --- lab_host_probe under a fake root ------------------------------------ */

/* A file below the fake root, with its directories. */
static void put(const char *root, const char *rel, const char *text)
{
	g_free(spte_test_file(root, rel, text));
}

static void test_probe(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *root = g_dir_make_tmp("spte-accel-XXXXXX", &error);
	g_autofree char *amd = NULL, *dev = NULL;
	struct lab_host_facts f;

	g_assert_no_error(error);

	/* nothing there: no module, no device */
	lab_host_probe(root, &f);
	g_assert_cmpstr(f.nested[0].module, ==, "kvm_intel");
	g_assert_cmpstr(f.nested[1].module, ==, "kvm_amd");
	g_assert_null(f.nested[0].value);
	g_assert_null(f.nested[1].value);
	g_assert_cmpint(f.dev_kvm_errno, ==, ENOENT);
	lab_host_facts_clear(&f);

	/* kvm_amd with nested=1, as sysfs prints it, and a /dev/kvm that opens */
	put(root, "sys/module/kvm_amd/parameters/nested", "1\n");
	put(root, "dev/kvm", "");
	lab_host_probe(root, &f);
	amd = g_build_filename(root, "sys/module/kvm_amd/parameters/nested", NULL);
	dev = g_build_filename(root, "dev/kvm", NULL);
	g_assert_cmpstr(f.nested[1].path, ==, amd);
	g_assert_cmpstr(f.nested[1].value, ==, "1");
	g_assert_null(f.nested[0].value);
	g_assert_cmpstr(f.dev_kvm, ==, dev);
	g_assert_cmpint(f.dev_kvm_errno, ==, 0);
	lab_host_facts_clear(&f);

	/* no root is the real host: its paths, whatever they hold */
	lab_host_probe(NULL, &f);
	g_assert_cmpstr(f.nested[0].path, ==, "/sys/module/kvm_intel/parameters/nested");
	g_assert_cmpstr(f.dev_kvm, ==, "/dev/kvm");
	lab_host_facts_clear(&f);

	spte_test_remove_tree(root);
}

/* --- the QEMU arguments -------------------------------------------------- */

/* The index of @a followed by @b in @argv, or -1. */
static int find_pair(GPtrArray *argv, const char *a, const char *b)
{
	for (guint i = 0; i + 1 < argv->len && argv->pdata[i + 1]; i++)
		if (g_str_equal(argv->pdata[i], a) &&
		    g_str_equal(argv->pdata[i + 1], b))
			return (int)i;
	return -1;
}

static GPtrArray *qemu_argv_for(enum lab_accel accel, GError **error)
{
	struct lab_opts o = { 0 };
	struct lab_kernel k = { 0 };
	char *command[] = { (char *)"true", NULL };

	o.mem_bytes = G_GUINT64_CONSTANT(1) << 30;
	o.cpus = 2;
	o.timeout_sec = 60;
	o.share = (char *)"/srv/share";
	o.accel = accel;
	o.command = command;
	k.name = (char *)"6.1";
	k.kver = (char *)"6.1.0-1-amd64";
	k.vmlinuz = (char *)"/cache/vmlinuz";
	return lab_qemu_argv(&o, &k, "/cache/initrd", "/tmp/ctl", FALSE, error);
}

static void test_qemu_argv(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) kvm = NULL;
	g_autoptr(GPtrArray) tcg = NULL;
	g_autoptr(GPtrArray) none = NULL;

	/* any program will do: the command line is built, not run */
	g_setenv("SPTE_LAB_QEMU", "true", TRUE);

	kvm = qemu_argv_for(LAB_ACCEL_KVM, &error);
	g_assert_no_error(error);
	g_assert_cmpint(find_pair(kvm, "-accel", "kvm"), ==, 1);
	g_assert_cmpint(find_pair(kvm, "-cpu", "host"), ==, 3);
	g_assert_cmpint(find_pair(kvm, "-accel", "tcg,thread=single"), ==, -1);

	/* single-threaded TCG: docs/lab.md, "Why TCG runs single-threaded" */
	tcg = qemu_argv_for(LAB_ACCEL_TCG, &error);
	g_assert_no_error(error);
	g_assert_cmpint(find_pair(tcg, "-accel", "tcg,thread=single"), ==, 1);
	g_assert_cmpint(find_pair(tcg, "-cpu", "max"), ==, 3);
	g_assert_cmpint(find_pair(tcg, "-accel", "kvm"), ==, -1);

	/* the kernel log chardev appends to the lines spte lab wrote first */
	g_assert_cmpint(find_pair(tcg, "-chardev",
				  "file,id=lab-klog,path=/tmp/ctl/kernel.log,append=on"), >, 0);

	none = qemu_argv_for(LAB_ACCEL_AUTO, &error);
	g_assert_null(none);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	spte_test_add_cases("/lab-accel/choose", choose_cases, name,
			    test_choose);
	g_test_add_func("/lab-accel/parse", test_parse);
	g_test_add_func("/lab-accel/probe", test_probe);
	g_test_add_func("/lab-accel/qemu-argv", test_qemu_argv);
	return g_test_run();
}
