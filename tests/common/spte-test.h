/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SPTE_TEST_H
#define SPTE_TEST_H

#include <glib.h>
#include <string.h>

/*
 * Shared by the test programs.  A missing /dev/kvm, QEMU or module may skip
 * a test on a developer's laptop; under CI (CI or SPTE_NO_SKIP set) the
 * same condition fails the test, since every CI machine has them.
 */
void spte_test_skip_or_fail(const char *reason);

/* The spte binary under test (SPTE_BIN, set by meson). */
const char *spte_test_bin(void);

struct spte_test_run {
	int status;		/* exit status, or 128 + signal */
	char *out;
	char *err;
};

/* Run `spte ARGS...` (NULL-terminated) and capture everything. */
void spte_test_run(struct spte_test_run *r, const char *arg, ...)
	G_GNUC_NULL_TERMINATED;
void spte_test_run_clear(struct spte_test_run *r);

/*
 * Add test @fn once per element of the array @cases, as @prefix/NAME with
 * NAME the element's string member @field, the element its data.
 */
#define spte_test_add_cases(prefix, cases, field, fn)			\
	spte_test_add_table(prefix, cases, G_N_ELEMENTS(cases),		\
			    sizeof((cases)[0]),				\
			    G_STRUCT_OFFSET(__typeof__((cases)[0]), field), fn)
void spte_test_add_table(const char *prefix, const void *cases, gsize n,
			 gsize size, gsize name_offset, GTestDataFunc fn);

/*
 * Write @text to the file @name below @dir, making the directories on the
 * way; returns the file's path (g_free it).
 */
char *spte_test_file(const char *dir, const char *name, const char *text);

/* The first of @lines (NULL-terminated) that contains @needle; none fails. */
const char *spte_test_line(char **lines, const char *needle);

/* Remove @path and, where it is a directory, all below it (no link followed). */
void spte_test_remove_tree(const char *path);

/* Assert that @haystack contains @needle, printing both if not. */
#define spte_assert_contains(haystack, needle)				\
	do {								\
		const char *h_ = (haystack), *n_ = (needle);		\
		if (!h_ || !strstr(h_, n_))				\
			g_error("expected '%s' in:\n%s", n_,		\
				h_ ? h_ : "(null)");			\
	} while (0)

/*
 * One kvmmmu:kvm_tdp_mmu_spte_changed line of address space 0, as tracefs
 * prints it, for feeding KVM's leaf model (inspect/kvm_leaves.h):
 * SPTE_TEST_KVM_EV("1.000001", "gfn 5 level 1 old_spte 0 new_spte N").
 */
#define SPTE_TEST_KVM_EV(ts, rest) "   spte-1 [000] ...1. " ts \
	": kvm_tdp_mmu_spte_changed: as id 0 " rest "\n"

#endif
