/*
 * test_util.c: tickets, addresses, buffers.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journey/buf.h"
#include "journey/util.h"

START_TEST(test_ticket)
{
	char	a[JM_TICKET_LEN + 1], b[JM_TICKET_LEN + 1];
	size_t	i;

	jm_ticket("<abc@example.com>", a);
	jm_ticket("  abc@example.com ", b);
	ck_assert_str_eq(a, b);
	ck_assert_uint_eq(strlen(a), JM_TICKET_LEN);
	ck_assert(strncmp(a, "JM-", 3) == 0);
	for (i = 3; i < JM_TICKET_LEN; i++)
		ck_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", a[i]) != NULL);
	jm_ticket("<abd@example.com>", b);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(jm_ticket("<abd@example.com>", b), 0);
	ck_assert_int_eq(jm_ticket(NULL, b), -1);
	ck_assert_uint_eq(strlen(b), JM_TICKET_LEN);
	ck_assert_int_eq(jm_ticket(" <> ", b), -1);
}
END_TEST

/* Messages without a Message-ID: one ticket each, stable, apart. */
START_TEST(test_ticket_bytes)
{
	static const char m1[] = "From: a@example.com\r\n\r\nhello\r\n";
	static const char m2[] = "From: a@example.com\r\n\r\nhello!\r\n";
	char	a[JM_TICKET_LEN + 1], b[JM_TICKET_LEN + 1];
	char	c[JM_TICKET_LEN + 1], e[JM_TICKET_LEN + 1];
	size_t	i;

	jm_ticket_bytes(m1, sizeof(m1) - 1, a);
	jm_ticket_bytes(m1, sizeof(m1) - 1, b);
	ck_assert_str_eq(a, b);
	jm_ticket_bytes(m2, sizeof(m2) - 1, c);
	ck_assert_str_ne(a, c);
	ck_assert_uint_eq(strlen(a), JM_TICKET_LEN);
	for (i = 3; i < JM_TICKET_LEN; i++)
		ck_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", a[i]) != NULL);
	(void)jm_ticket(NULL, e);
	ck_assert_str_ne(a, e);
	jm_ticket_bytes(NULL, 0, b);
	ck_assert_str_ne(b, e);
}
END_TEST

static const struct {
	const char	*in, *want;
} addr_cases[] = {
	{ "<Ali@Example.COM>", "ali@example.com" },
	{ "Ali Veli <ali@example.com>", "ali@example.com" },
	{ "  bob@example.org ", "bob@example.org" },
	{ "<>", "" },
	{ "<unterminated@example.com", "unterminated@example.com" },
};

START_TEST(test_addr)
{
	char	*s = jm_addr_normalize(addr_cases[_i].in);

	ck_assert_str_eq(s, addr_cases[_i].want);
	free(s);
}
END_TEST

START_TEST(test_buf_cap)
{
	struct jm_buf	b;

	jm_buf_init(&b, 8);
	ck_assert_int_eq(jm_buf_puts(&b, "hello"), 0);
	ck_assert_int_eq(b.truncated, 0);
	ck_assert_int_eq(jm_buf_puts(&b, " world"), 0);
	ck_assert_int_eq(b.truncated, 1);
	ck_assert_uint_eq(b.len, 8);
	ck_assert_str_eq(jm_buf_cstr(&b), "hello wo");
	ck_assert_int_eq(jm_buf_printf(&b, "%d", 42), 0);
	ck_assert_uint_eq(b.len, 8);
	jm_buf_reset(&b);
	ck_assert_str_eq(jm_buf_cstr(&b), "");
	jm_buf_free(&b);
	jm_buf_free(NULL);
}
END_TEST

/* jm_grow(): room for one more, doubling from FIRST; an overflow refused. */
START_TEST(test_grow)
{
	int	*v = NULL;
	size_t	 cap = 0, n;

	for (n = 0; n < 40; n++) {
		ck_assert_int_eq(jm_grow(&v, &cap, n, sizeof(*v), 4), 0);
		ck_assert_uint_gt(cap, n);
		v[n] = (int)n;
	}
	ck_assert_uint_eq(cap, 64);
	for (n = 0; n < 40; n++)
		ck_assert_int_eq(v[n], (int)n);
	/* Not full: nothing moves. */
	ck_assert_int_eq(jm_grow(&v, &cap, 40, sizeof(*v), 4), 0);
	ck_assert_uint_eq(cap, 64);
	/* Full, and twice the capacity would not fit in size_t. */
	ck_assert_int_eq(jm_grow(&v, &cap, 64, SIZE_MAX / 64, 4), -1);
	ck_assert_uint_eq(cap, 64);
	ck_assert_int_eq(v[39], 39);
	free(v);
}
END_TEST

START_TEST(test_strcase)
{
	ck_assert(jm_strcaseeq("X-Journey-Category", "x-journey-category"));
	ck_assert(!jm_strcaseeq("X-Journey", "X-Journey-"));
	ck_assert(jm_strcaseprefix("X-JOURNEY-Stage", "x-journey-"));
	ck_assert(!jm_strcaseprefix("X-J", "x-journey-"));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("util");
	TCase	*tc = tcase_create("util");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_ticket);
	tcase_add_test(tc, test_ticket_bytes);
	tcase_add_loop_test(tc, test_addr, 0,
	    sizeof(addr_cases) / sizeof(addr_cases[0]));
	tcase_add_test(tc, test_buf_cap);
	tcase_add_test(tc, test_strcase);
	tcase_add_test(tc, test_grow);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
