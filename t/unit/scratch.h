/*
 * scratch.h: scratch directories for the unit tests that need an
 * environment.  Each test makes its own under $TMPDIR (or /tmp) and
 * removes it whole afterwards, whatever modes the test left on it; most
 * open a new environment there at once.
 */
#ifndef AQ_SCRATCH_H
#define AQ_SCRATCH_H

#include <limits.h>
#include <stddef.h>

struct aq;

/* What a test's fixture begins with. */
struct scratch {
	char		 dir[PATH_MAX - 64];	/* the scratch directory */
	char		 home[PATH_MAX];	/* dir/home, not made */
	struct aq	*aq;			/* open on home, or NULL */
};

/*
 * A cmocka setup: set *state to a zeroed block of size bytes (a fixture
 * that begins with a struct scratch), make its directory, named after
 * what ("aq-WHAT-test.XXXXXX"), and open a new environment in its home if
 * open is not 0.  Returns 0, or -1 with nothing left behind.
 */
int	scratch_setup(void **state, size_t size, const char *what, int open);

/*
 * The cmocka teardown of scratch_setup(): close the environment (if
 * any), remove the directory, free the fixture.  Returns 0 or -1.
 */
int	scratch_teardown(void **state);

#endif
