/*
 * err.c: the one place where libaq's errors become text.
 *
 * Every failing call records a one-line message here before it returns
 * its code, so a program can report it with errx(code, "%s", aq_error()).
 * Messages follow git's style: lowercase, no full stop, what failed first,
 * the object in single quotes.  Berkeley DB's own complaints (its errcall)
 * are kept aside and appended when a DB call fails, since they often name
 * the real cause.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static char lasterr[1024];
char aq__lastdb[256];

const char *
aq_error(void)
{
	return lasterr;
}

int
aq_exit_status(int code)
{
	return code;
}

int
aq__err(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(lasterr, sizeof(lasterr), fmt, ap);
	va_end(ap);
	return code;
}

/*
 * Map a Berkeley DB return to our codes: lock conflicts are temporary,
 * a full disk too; a version mismatch or a panic make the environment
 * unavailable; anything else is an internal error.
 */
int
aq__dberr(int dbret, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	int code;

	switch (dbret) {
	case DB_LOCK_DEADLOCK:
	case DB_LOCK_NOTGRANTED:
	case ENOSPC:
	case ENOMEM:
	case EAGAIN:
		code = AQ_EAGAIN;
		break;
	case DB_VERSION_MISMATCH:
	case DB_RUNRECOVERY:
		code = AQ_EUNAVAIL;
		break;
	case EACCES:
	case EPERM:
		code = AQ_EPERM;
		break;
	default:
		code = AQ_EINTERNAL;
	}
	va_start(ap, fmt);
	vsnprintf(lasterr, sizeof(lasterr), fmt, ap);
	va_end(ap);
	n = strlen(lasterr);
	snprintf(lasterr + n, sizeof(lasterr) - n, ": %s", db_strerror(dbret));
	return code;
}

/*
 * Berkeley DB's errcall: keep the last message.  It may run inside an
 * operation that an escape interrupts, so it only copies into a static
 * buffer.
 */
void
aq__dbmsg(const DB_ENV *env, const char *pfx, const char *msg)
{
	(void)env;
	(void)pfx;
	strlcpy(aq__lastdb, msg, sizeof(aq__lastdb));
}
