/*
 * scratch.h: scratch directories for the unit tests that need an
 * environment.  Each test makes its own under $TMPDIR (or /tmp) and
 * removes it whole afterwards, whatever modes the test left on it; most
 * open a new environment there at once.
 */
#ifndef AQ_SCRATCH_H
#define AQ_SCRATCH_H

#include <stddef.h>

/*
 * Make a new directory named after what ("aq-WHAT-test.XXXXXX") in dir
 * (size bytes), and name its "home" in home (hsize bytes), not made.
 * Returns 0, or -1 with errno set.
 */
int	scratch_make(char *dir, size_t size, char *home, size_t hsize,
	    const char *what);

/* Remove dir and everything in it.  Returns 0 or -1. */
int	scratch_remove(const char *dir);

struct aq;

/*
 * scratch_make(), then a new environment in the home, opened into *aq.
 * Returns 0, or -1 with nothing left behind.
 */
int	scratch_open(char *dir, size_t size, char *home, size_t hsize,
	    const char *what, struct aq **aq);

/* Close aq (NULL: none) and remove dir.  Returns 0 or -1. */
int	scratch_close(const char *dir, struct aq *aq);

#endif
