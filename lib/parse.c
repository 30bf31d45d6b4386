/*
 * parse.c: times, durations, job ids and names as people type them.
 *
 * Every parser accepts the whole string or nothing: trailing junk, empty
 * strings, negative or overflowing values are AQ_EINPUT.  Times are local
 * (as at(1) reads them) unless given as @EPOCH; all are stored in UTC
 * microseconds.
 */
#include "config.h"

#include <sys/time.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

aq_time
aq_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (aq_time)ts.tv_sec * AQ_SEC + ts.tv_nsec / 1000;
}

int
aq_parse_id(const char *s, uint64_t *id)
{
	uint64_t n = 0;
	const char *p;

	for (p = s; *p >= '0' && *p <= '9'; p++) {
		if (n > (uint64_t)(INT64_MAX - (*p - '0')) / 10)
			break;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (p == s || *p != '\0' || n == 0)
		return aq__err(AQ_EINPUT, "bad job id '%s'", s);
	*id = n;
	return AQ_OK;
}

#define DUR_MAX	((int64_t)100 * 365 * 86400 * AQ_SEC)	/* 100 years */

int
aq_parse_duration(const char *s, int64_t *usec)
{
	int64_t total = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return aq__err(AQ_EINPUT, "bad duration ''");
	while (*p != '\0') {
		const char *start = p;
		int64_t n = 0, unit;

		if (!isdigit((unsigned char)*p))
			goto bad;
		while (isdigit((unsigned char)*p)) {
			if (n > DUR_MAX / 10)
				goto bad;
			n = n * 10 + (*p++ - '0');
		}
		if (strncmp(p, "ms", 2) == 0) {
			unit = 1000;
			p += 2;
		} else if (*p == 's' || *p == '\0') {
			unit = AQ_SEC;
			p += *p == 's';
		} else if (*p == 'm') {
			unit = 60 * AQ_SEC;
			p++;
		} else if (*p == 'h') {
			unit = 3600 * AQ_SEC;
			p++;
		} else if (*p == 'd') {
			unit = 86400 * AQ_SEC;
			p++;
		} else if (*p == 'w') {
			unit = 7 * 86400 * AQ_SEC;
			p++;
		} else
			goto bad;
		if (n > DUR_MAX / unit || total > DUR_MAX - n * unit)
			goto bad;
		total += n * unit;
		/* A bare number is seconds, and only on its own. */
		if (unit == AQ_SEC && p[-1] != 's' && start != s)
			goto bad;
	}
	*usec = total;
	return AQ_OK;
bad:
	return aq__err(AQ_EINPUT, "bad duration '%s'", s);
}

static int
digits(const char *p, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		*v = *v * 10 + (p[i] - '0');
	}
	return 0;
}

/* Parse "HH:MM[:SS]" at p; returns characters used, or -1. */
static int
clock_part(const char *p, struct tm *tm)
{
	int h, m, sec = 0, n = 5;

	if (digits(p, 2, &h) == -1 || p[2] != ':' ||
	    digits(p + 3, 2, &m) == -1)
		return -1;
	if (p[5] == ':') {
		if (digits(p + 6, 2, &sec) == -1)
			return -1;
		n = 8;
	}
	if (h > 23 || m > 59 || sec > 60)
		return -1;
	tm->tm_hour = h;
	tm->tm_min = m;
	tm->tm_sec = sec;
	return n;
}

int
aq_parse_time(const char *s, aq_time now, aq_time *t)
{
	struct tm tm, chk;
	time_t tt;
	int64_t d;
	int n, y, mo, da;

	if (s == NULL || *s == '\0')
		goto bad;
	if (strcmp(s, "now") == 0) {
		*t = now;
		return AQ_OK;
	}
	if (s[0] == '+') {
		if (aq_parse_duration(s + 1, &d) != AQ_OK)
			goto bad;
		*t = now + d;
		return AQ_OK;
	}
	if (s[0] == '@') {
		const char *errstr;
		long long e;

		if (!isdigit((unsigned char)s[1]))
			goto bad;	/* strtonum would take " 5" and "+5" */
		e = strtonum(s + 1, 0, 253402300799LL, &errstr);
		if (errstr != NULL)
			goto bad;
		*t = (aq_time)e * AQ_SEC;
		return AQ_OK;
	}
	tt = (time_t)(now / AQ_SEC);
	localtime_r(&tt, &tm);
	tm.tm_isdst = -1;
	if (strlen(s) >= 10 && s[4] == '-' && s[7] == '-') {
		if (digits(s, 4, &y) == -1 || digits(s + 5, 2, &mo) == -1 ||
		    digits(s + 8, 2, &da) == -1 || mo < 1 || mo > 12 ||
		    da < 1 || da > 31 || y < 1970)
			goto bad;
		tm.tm_year = y - 1900;
		tm.tm_mon = mo - 1;
		tm.tm_mday = da;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		if (s[10] == 'T' || s[10] == ' ') {
			if ((n = clock_part(s + 11, &tm)) == -1 ||
			    s[11 + n] != '\0')
				goto bad;
		} else if (s[10] != '\0')
			goto bad;
		chk = tm;
		if ((tt = mktime(&tm)) == (time_t)-1 ||
		    tm.tm_mday != chk.tm_mday || tm.tm_mon != chk.tm_mon)
			goto bad;	/* 2026-02-30 */
		*t = (aq_time)tt * AQ_SEC;
		return AQ_OK;
	}
	if ((n = clock_part(s, &tm)) == -1 || s[n] != '\0')
		goto bad;
	if ((tt = mktime(&tm)) == (time_t)-1)
		goto bad;
	if ((aq_time)tt * AQ_SEC <= now) {
		tm.tm_mday++;		/* the next such time: tomorrow */
		tm.tm_isdst = -1;
		if ((tt = mktime(&tm)) == (time_t)-1)
			goto bad;
	}
	*t = (aq_time)tt * AQ_SEC;
	return AQ_OK;
bad:
	return aq__err(AQ_EINPUT, "bad time '%s'", s ? s : "");
}

void
aq_format_time(aq_time t, char *buf, size_t size)
{
	time_t tt = (time_t)(t / AQ_SEC - (t % AQ_SEC < 0));	/* floor */
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
aq_format_duration(int64_t us, char *buf, size_t size)
{
	int64_t s = us / AQ_SEC;

	if (us < 0)
		us = 0;
	if (us == 0)
		snprintf(buf, size, "0s");
	else if (us < AQ_SEC)
		snprintf(buf, size, "%lldms", (long long)(us / 1000));
	else if (s < 60)
		snprintf(buf, size, "%lld.%llds", (long long)s,
		    (long long)(us % AQ_SEC / 100000));
	else if (s < 3600)
		snprintf(buf, size, "%lldm%llds", (long long)(s / 60),
		    (long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, size, "%lldh%lldm", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else
		snprintf(buf, size, "%lldd%lldh", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
}

int
aq_valid_name(const char *s)
{
	size_t n = 0;

	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++, n++)
		if (*s == '/' || isspace((unsigned char)*s) ||
		    iscntrl((unsigned char)*s) || n >= AQ_NAME_MAX)
			return 0;
	return 1;
}
