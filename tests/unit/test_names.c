// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests: which application names are accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "names.h"

static void test_valid(void **state)
{
	const char *ok[] = { "web1", "a", "A-b_c.d", "0", "...", ".hidden",
			     "1234567890123456789012345678901" /* 31 */ };
	const char *why = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(aid_name_check(ok[i], &why), 0);
}

static void test_invalid(void **state)
{
	const struct {
		const char *name, *why;
	} bad[] = {
		{ "", "empty" },
		{ NULL, "empty" },
		{ "12345678901234567890123456789012" /* 32 */, "longer than 31" },
		{ ".", "directories" },
		{ "..", "directories" },
		{ "a b", "only letters" },
		{ "a/b", "only letters" },
		{ "caf\xc3\xa9", "only letters" },
		{ "x\n", "only letters" },
		{ "$(id)", "only letters" },
	};
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(aid_name_check(bad[i].name, &why), -EINVAL);
		assert_non_null(why);
		assert_non_null(strstr(why, bad[i].why));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
