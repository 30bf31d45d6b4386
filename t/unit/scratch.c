/*
 * scratch.c: scratch directories for the unit tests (scratch.h).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "aq.h"
#include "scratch.h"

static int
make(struct scratch *s, const char *what)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(s->dir, sizeof(s->dir), "%s/aq-%s-test.XXXXXX",
	    tmp, what) >= sizeof(s->dir) ||
	    (size_t)snprintf(s->home, sizeof(s->home), "%s/home", s->dir) >=
	    sizeof(s->home)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdtemp(s->dir) == NULL)
		return -1;
	/* mkdtemp() changed the X's: name the home again. */
	snprintf(s->home, sizeof(s->home), "%s/home", s->dir);
	return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	/* A test may have taken the rights away: give them back first. */
	if (type == FTW_DP)
		chmod(path, 0700);
	return remove(path) == -1 && errno != ENOENT ? -1 : 0;
}

int
scratch_setup(void **state, size_t size, const char *what, int open)
{
	struct scratch *s;

	if (size < sizeof(*s) || (s = calloc(1, size)) == NULL)
		return -1;
	if (make(s, what) == -1) {
		free(s);
		return -1;
	}
	if (open && aq_open(&s->aq, s->home, AQ_OPEN_CREATE) != AQ_OK) {
		(void)nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		free(s);
		return -1;
	}
	*state = s;
	return 0;
}

int
scratch_teardown(void **state)
{
	struct scratch *s = *state;
	int rc;

	aq_close(s->aq);
	rc = nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(s);
	*state = NULL;
	return rc == 0 ? 0 : -1;
}
