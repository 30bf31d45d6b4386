/*
 * parse_test.c: unit tests of lib/parse.c: durations, times, names.
 *
 * Local times are checked against mktime(3) under a fixed TZ with summer
 * time (set in the group setup), so the tests mean the same on any host.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aq.h"

/* Central European time: UTC+1, UTC+2 from March to October. */
#define TEST_TZ	"CET-1CEST,M3.5.0,M10.5.0/3"

/* The local time y-mo-d h:mi:s as aq_time, as mktime(3) reads it. */
static aq_time
local(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	assert_true(t != (time_t)-1);
	return (aq_time)t * AQ_SEC;
}

/* The message of the last error names s in single quotes. */
static void
assert_error_names(const char *s)
{
	char want[512];

	snprintf(want, sizeof(want), "'%s'", s);
	if (strstr(aq_error(), want) == NULL)
		fail_msg("aq_error() \"%s\" does not name %s", aq_error(),
		    want);
}

/* ---- durations ---- */

static void
dur_ok(const char *s, int64_t want)
{
	int64_t got = -12345;
	int rc;

	rc = aq_parse_duration(s, &got);
	if (rc != AQ_OK)
		fail_msg("aq_parse_duration(\"%s\") = %d (%s), want AQ_OK",
		    s, rc, aq_error());
	if (got != want)
		fail_msg("aq_parse_duration(\"%s\") gave %lld, want %lld", s,
		    (long long)got, (long long)want);
}

static void
dur_bad(const char *s)
{
	int64_t got = -12345;
	int rc;

	rc = aq_parse_duration(s, &got);
	if (rc != AQ_EINPUT)
		fail_msg("aq_parse_duration(\"%s\") = %d (value %lld), want "
		    "AQ_EINPUT", s, rc, (long long)got);
	assert_error_names(s);
}

static void
test_duration_units(void **state)
{
	(void)state;
	dur_ok("90", 90 * AQ_SEC);
	dur_ok("90s", 90 * AQ_SEC);
	dur_ok("5m", 5 * 60 * AQ_SEC);
	dur_ok("2h", 2 * 3600 * AQ_SEC);
	dur_ok("1d", 86400 * AQ_SEC);
	dur_ok("1w", 7 * 86400 * AQ_SEC);
	dur_ok("250ms", 250000);
	dur_ok("0", 0);
	dur_ok("0s", 0);
	dur_ok("1ms", 1000);
}

static void
test_duration_compound(void **state)
{
	(void)state;
	dur_ok("1h30m", 90 * 60 * AQ_SEC);
	dur_ok("1m30s", 90 * AQ_SEC);
	dur_ok("1d2h3m4s5ms", ((((int64_t)1 * 24 + 2) * 60 + 3) * 60 + 4) *
	    AQ_SEC + 5000);
	dur_ok("5m250ms", 300 * AQ_SEC + 250000);
}

static void
test_duration_large(void **state)
{
	(void)state;
	/* Big but sane values go through. */
	dur_ok("3650d", (int64_t)3650 * 86400 * AQ_SEC);
	dur_ok("1000000s", (int64_t)1000000 * AQ_SEC);
}

static void
test_duration_bad(void **state)
{
	static const char *const bad[] = {
		"", "x", "-5", "5x", "1.5s", "5 m", " 5", "5 ", "m5", "s",
		"ms", "5mm", "+5", "99999999999999999d",
		"99999999999999999999999999", "9223372036854775807",
		"9999999999w", "18446744073709551616ms",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		dur_bad(bad[i]);
}

/* aq-put(1) and libaq(3): "A number without a unit ... is allowed only
 * alone: 1h30 is refused." */
/* Job ids: digits only, 1 to 2^63-1; anything else says what it was. */
static void
test_id(void **state)
{
	static const char *const bad[] = {
		"", "0", "-1", "+1", " 1", "1 ", "1x", "x", "0x10", "1.0",
		"9223372036854775808", "99999999999999999999999",
	};
	char want[64];
	uint64_t id = 42;
	size_t i;

	(void)state;
	assert_int_equal(aq_parse_id("1", &id), AQ_OK);
	assert_true(id == 1);
	assert_int_equal(aq_parse_id("007", &id), AQ_OK);
	assert_true(id == 7);
	assert_int_equal(aq_parse_id("9223372036854775807", &id), AQ_OK);
	assert_true(id == 9223372036854775807ULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		id = 42;
		assert_int_equal(aq_parse_id(bad[i], &id), AQ_EINPUT);
		assert_true(id == 42);
		snprintf(want, sizeof(want), "bad job id '%s'", bad[i]);
		assert_string_equal(aq_error(), want);
	}
}

static void
test_duration_bare_number_only_alone(void **state)
{
	(void)state;
	dur_bad("1h30");
	dur_bad("5m1");
	dur_bad("5s5");
	dur_bad("1d0");
}

static void
test_duration_null(void **state)
{
	int64_t got;

	(void)state;
	assert_int_equal(aq_parse_duration(NULL, &got), AQ_EINPUT);
}

/* ---- times ---- */

static void
time_ok(const char *s, aq_time now, aq_time want)
{
	aq_time got = -12345;
	int rc;

	rc = aq_parse_time(s, now, &got);
	if (rc != AQ_OK)
		fail_msg("aq_parse_time(\"%s\") = %d (%s), want AQ_OK", s, rc,
		    aq_error());
	if (got != want)
		fail_msg("aq_parse_time(\"%s\") gave %lld, want %lld (diff "
		    "%lld us)", s, (long long)got, (long long)want,
		    (long long)(got - want));
}

static void
time_bad(const char *s, aq_time now)
{
	aq_time got = -12345;
	int rc;

	rc = aq_parse_time(s, now, &got);
	if (rc != AQ_EINPUT)
		fail_msg("aq_parse_time(\"%s\") = %d (value %lld), want "
		    "AQ_EINPUT", s, rc, (long long)got);
	assert_error_names(s);
}

static void
test_time_epoch(void **state)
{
	aq_time now = local(2026, 11, 21, 10, 30, 0);

	(void)state;
	time_ok("@0", now, 0);
	time_ok("@1700000000", now, (aq_time)1700000000 * AQ_SEC);
	time_ok("@1795219200", now, (aq_time)1795219200 * AQ_SEC);
}

static void
test_time_relative(void **state)
{
	aq_time now = local(2026, 11, 21, 10, 30, 0) + 123456;

	(void)state;
	time_ok("now", now, now);
	time_ok("+0", now, now);
	time_ok("+5m", now, now + 300 * AQ_SEC);
	time_ok("+1h30m", now, now + 5400 * AQ_SEC);
	time_ok("+250ms", now, now + 250000);
	time_ok("+90", now, now + 90 * AQ_SEC);
}

static void
test_time_date(void **state)
{
	aq_time now = local(2026, 6, 1, 12, 0, 0);

	(void)state;
	time_ok("2026-11-21", now, local(2026, 11, 21, 0, 0, 0));
	time_ok("2026-11-21T10:30", now, local(2026, 11, 21, 10, 30, 0));
	time_ok("2026-11-21T10:30:15", now, local(2026, 11, 21, 10, 30, 15));
	/* Summer time: the date is read in its own offset, not now's. */
	time_ok("2026-07-01T08:00", now, local(2026, 7, 1, 8, 0, 0));
	time_ok("2027-01-01", now, local(2027, 1, 1, 0, 0, 0));
	time_ok("2028-02-29", now, local(2028, 2, 29, 0, 0, 0));
	/* A date in the past is still that date. */
	time_ok("2020-01-01T00:00", now, local(2020, 1, 1, 0, 0, 0));
}

/* The same moments as absolute numbers, so local time really is local. */
static void
test_time_date_is_local(void **state)
{
	aq_time now = local(2026, 6, 1, 12, 0, 0);

	(void)state;
	/* 2026-11-21T00:00:00Z is 1795219200; CET is UTC+1. */
	time_ok("2026-11-21", now, (aq_time)(1795219200 - 3600) * AQ_SEC);
	time_ok("2026-11-21T10:30:15", now, (aq_time)1795253415 * AQ_SEC);
}

static void
test_time_clock_later_today(void **state)
{
	aq_time now = local(2026, 11, 21, 10, 30, 0);

	(void)state;
	time_ok("11:00", now, local(2026, 11, 21, 11, 0, 0));
	time_ok("10:31", now, local(2026, 11, 21, 10, 31, 0));
	time_ok("10:30:01", now, local(2026, 11, 21, 10, 30, 1));
	time_ok("23:59:59", now, local(2026, 11, 21, 23, 59, 59));
}

static void
test_time_clock_tomorrow(void **state)
{
	aq_time now = local(2026, 11, 21, 10, 30, 0);

	(void)state;
	time_ok("10:00", now, local(2026, 11, 22, 10, 0, 0));
	time_ok("00:00", now, local(2026, 11, 22, 0, 0, 0));
	/* Strictly after now: the present minute is tomorrow's. */
	time_ok("10:30", now, local(2026, 11, 22, 10, 30, 0));
	time_ok("10:30", now + 500000, local(2026, 11, 22, 10, 30, 0));
	time_ok("10:29:59", now, local(2026, 11, 22, 10, 29, 59));
}

static void
test_time_clock_month_end(void **state)
{
	aq_time now = local(2026, 12, 31, 23, 0, 0);

	(void)state;
	time_ok("22:00", now, local(2027, 1, 1, 22, 0, 0));
	time_ok("23:30", now, local(2026, 12, 31, 23, 30, 0));
}

/* Tomorrow across the spring change is 23 hours of 24 away. */
static void
test_time_clock_across_dst(void **state)
{
	aq_time now = local(2026, 3, 28, 10, 30, 0);

	(void)state;
	assert_int_equal(now, (aq_time)1774690200 * AQ_SEC);
	time_ok("10:00", now, (aq_time)1774771200 * AQ_SEC);
	time_ok("10:00", now, local(2026, 3, 29, 10, 0, 0));
}

static void
test_time_bad(void **state)
{
	static const char *const bad[] = {
		"", "@", "@x", "@-5", "@1x", "@1.5", "@253402300800",
		"2026-13-01", "2026-00-10", "2026-02-30", "2026-04-31",
		"2027-02-29", "2026-11-00", "2026-11-32", "1969-12-31",
		"26-11-21", "2026-1-21", "25:00", "24:00", "10:60",
		"2026-11-21T", "2026-11-21T25:00", "2026-11-21T10:30x",
		"2026-11-21x", "2026-11-21T10", "tomorrow", "+", "+x",
		"+-5m", "+5x", "10", "10:3", "1:30", "10:30:", "10:30:5",
		"10:30x", "now ", "NOW", "yesterday",
	};
	aq_time now = local(2026, 11, 21, 10, 30, 0);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		time_bad(bad[i], now);
}

static void
test_time_null(void **state)
{
	aq_time t;

	(void)state;
	assert_int_equal(aq_parse_time(NULL, 0, &t), AQ_EINPUT);
}

static void
test_now(void **state)
{
	struct timespec ts;
	aq_time a, b;

	(void)state;
	clock_gettime(CLOCK_REALTIME, &ts);
	a = (aq_time)ts.tv_sec * AQ_SEC + ts.tv_nsec / 1000;
	b = aq_now();
	assert_true(b >= a);
	assert_true(b - a < 5 * AQ_SEC);
}

/* ---- formatting ---- */

static void
fmt_time(aq_time t, const char *want)
{
	char buf[64];

	memset(buf, 'x', sizeof(buf));
	aq_format_time(t, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void
test_format_time(void **state)
{
	(void)state;
	fmt_time(0, "1970-01-01T00:00:00Z");
	fmt_time((aq_time)1700000000 * AQ_SEC, "2023-11-14T22:13:20Z");
	fmt_time((aq_time)1700000000 * AQ_SEC + 999999,
	    "2023-11-14T22:13:20Z");
	fmt_time((aq_time)1795219200 * AQ_SEC, "2026-11-21T00:00:00Z");
	fmt_time((aq_time)253402300799LL * AQ_SEC, "9999-12-31T23:59:59Z");
}

/* The format is UTC whatever TZ says; 21 bytes with the NUL suffice. */
static void
test_format_time_utc_and_size(void **state)
{
	char buf[21];

	(void)state;
	aq_format_time(local(2026, 7, 1, 12, 0, 0), buf, sizeof(buf));
	assert_string_equal(buf, "2026-07-01T10:00:00Z");
}

static void
test_format_parse_roundtrip(void **state)
{
	char buf[64], in[64];
	aq_time t;

	(void)state;
	snprintf(in, sizeof(in), "@%lld", 1795253415LL);
	assert_int_equal(aq_parse_time(in, 0, &t), AQ_OK);
	aq_format_time(t, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-21T09:30:15Z");
}

static void
fmt_dur(int64_t us, const char *want)
{
	char buf[64];

	memset(buf, 'x', sizeof(buf));
	aq_format_duration(us, buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fail_msg("aq_format_duration(%lld) = \"%s\", want \"%s\"",
		    (long long)us, buf, want);
}

static void
test_format_duration(void **state)
{
	(void)state;
	fmt_dur(250000, "250ms");
	fmt_dur(1000, "1ms");
	fmt_dur(90 * AQ_SEC, "1m30s");
	fmt_dur(5400 * AQ_SEC, "1h30m");
	fmt_dur(60 * AQ_SEC, "1m0s");
	fmt_dur(3600 * AQ_SEC, "1h0m");
	fmt_dur(26 * 3600 * AQ_SEC, "1d2h");
	/* Rounded (down) to the two largest units. */
	fmt_dur(5459 * AQ_SEC + 999999, "1h30m");
	fmt_dur(90 * AQ_SEC + 999999, "1m30s");
}

/* aq.h gives "0s" as what a zero duration looks like. */
static void
test_format_duration_zero(void **state)
{
	(void)state;
	fmt_dur(0, "0s");
}

static void
test_format_duration_truncates(void **state)
{
	char buf[4];

	(void)state;
	aq_format_duration(5400 * AQ_SEC, buf, sizeof(buf));
	assert_string_equal(buf, "1h3");
}

/* ---- names ---- */

static void
test_valid_name_ok(void **state)
{
	char name[AQ_NAME_MAX + 1];

	(void)state;
	assert_int_equal(aq_valid_name("default"), 1);
	assert_int_equal(aq_valid_name("a-b.c_1"), 1);
	assert_int_equal(aq_valid_name("x"), 1);
	assert_int_equal(aq_valid_name("Q:1@host+2"), 1);
	memset(name, 'n', AQ_NAME_MAX);
	name[AQ_NAME_MAX] = '\0';
	assert_int_equal(strlen(name), 255);
	assert_int_equal(aq_valid_name(name), 1);
}

static void
test_valid_name_bad(void **state)
{
	static const char *const bad[] = {
		"", "a b", "a/b", "/", "\t", "a\tb", "a\nb", " a", "a ",
		"\x01", "a\x7f", "a\rb",
	};
	char name[AQ_NAME_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (aq_valid_name(bad[i]) != 0)
			fail_msg("aq_valid_name(\"%s\") accepted it", bad[i]);
	assert_int_equal(aq_valid_name(NULL), 0);
	memset(name, 'n', AQ_NAME_MAX + 1);
	name[AQ_NAME_MAX + 1] = '\0';
	assert_int_equal(strlen(name), 256);
	assert_int_equal(aq_valid_name(name), 0);
}

static int
group_setup(void **state)
{
	(void)state;
	if (setenv("TZ", TEST_TZ, 1) == -1)
		return -1;
	tzset();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_units),
		cmocka_unit_test(test_duration_compound),
		cmocka_unit_test(test_duration_large),
		cmocka_unit_test(test_duration_bad),
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_duration_bare_number_only_alone),
		cmocka_unit_test(test_duration_null),
		cmocka_unit_test(test_time_epoch),
		cmocka_unit_test(test_time_relative),
		cmocka_unit_test(test_time_date),
		cmocka_unit_test(test_time_date_is_local),
		cmocka_unit_test(test_time_clock_later_today),
		cmocka_unit_test(test_time_clock_tomorrow),
		cmocka_unit_test(test_time_clock_month_end),
		cmocka_unit_test(test_time_clock_across_dst),
		cmocka_unit_test(test_time_bad),
		cmocka_unit_test(test_time_null),
		cmocka_unit_test(test_now),
		cmocka_unit_test(test_format_time),
		cmocka_unit_test(test_format_time_utc_and_size),
		cmocka_unit_test(test_format_parse_roundtrip),
		cmocka_unit_test(test_format_duration),
		cmocka_unit_test(test_format_duration_zero),
		cmocka_unit_test(test_format_duration_truncates),
		cmocka_unit_test(test_valid_name_ok),
		cmocka_unit_test(test_valid_name_bad),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
