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

int
scratch_make(char *dir, size_t size, char *home, size_t hsize,
    const char *what)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(dir, size, "%s/aq-%s-test.XXXXXX", tmp, what) >=
	    size || (size_t)snprintf(home, hsize, "%s/home", dir) >= hsize) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdtemp(dir) == NULL)
		return -1;
	/* mkdtemp() changed the X's: name the home again. */
	snprintf(home, hsize, "%s/home", dir);
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
scratch_remove(const char *dir)
{
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
scratch_open(char *dir, size_t size, char *home, size_t hsize,
    const char *what, struct aq **aq)
{
	*aq = NULL;
	if (scratch_make(dir, size, home, hsize, what) == -1)
		return -1;
	if (aq_open(aq, home, AQ_OPEN_CREATE) != AQ_OK) {
		*aq = NULL;
		(void)scratch_remove(dir);
		return -1;
	}
	return 0;
}

int
scratch_close(const char *dir, struct aq *aq)
{
	aq_close(aq);
	return scratch_remove(dir);
}
