// SPDX-License-Identifier: GPL-2.0
/*
 * What step families keep in a session between steps: kept under a key of
 * their own, taken back by the step that ends it, and whatever is still
 * kept at close freed newest first.
 */
#include "session.h"
#include "spte-test.h"

static GString *freed;

static void note_free(void *state)
{
	g_string_append_printf(freed, "%s ", (const char *)state);
}

static const struct spte_session_key keys[] = {
	{ .name = "the first", .free = note_free },
	{ .name = "the second", .free = note_free },
	{ .name = "the third", .free = note_free },
};

static const struct kept_case {
	const char *what;
	gboolean take_second;	/* as a fork-end or damon-stop would */
	const char *freed;	/* at close */
} cases[] = {
	{ "all-kept", FALSE, "c b a " },
	{ "one-taken", TRUE, "c a " },
};

static void test_kept(gconstpointer data)
{
	const struct kept_case *c = data;
	struct spte_session s = { .kept = g_ptr_array_new() };
	char a[] = "a", b[] = "b", third[] = "c";

	freed = g_string_new(NULL);
	spte_session_keep(&s, &keys[0], a);
	spte_session_keep(&s, &keys[1], b);
	spte_session_keep(&s, &keys[2], third);
	g_assert_true(spte_session_kept(&s, &keys[1]) == b);
	if (c->take_second) {
		g_assert_true(spte_session_take(&s, &keys[1]) == b);
		g_assert_null(spte_session_kept(&s, &keys[1]));
		g_assert_null(spte_session_take(&s, &keys[1]));
	}
	spte_session_close(&s);
	g_assert_cmpstr(freed->str, ==, c->freed);
	g_assert_null(s.kept);
	g_string_free(freed, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	spte_test_add_cases("/session/kept", cases, what, test_kept);
	return g_test_run();
}
