/*
 * intake_test.c: unit tests of the intake (lib/intake.c): puts that do
 * not join the environment, and what a crash can leave in the file: a
 * torn record, a header behind its last record, a broken header, a new
 * boot.  Whatever is done to the file, no id is handed out twice and no
 * whole record is lost.
 *
 * Each test gets a fresh scratch directory, as in env_test.c.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aq.h"
#include "internal.h"
#include "scratch.h"

#define S(s)	((char *)(s))
#define HDR	64

struct fx {
	struct scratch	 s;
	char		 intake[PATH_MAX + 16];
};

static char *argv_true[] = { S("true"), NULL };
static char *env_one[] = { S("A=1"), NULL };

/* A new environment, made and closed: the tests reopen it. */
static int
setup(void **state)
{
	struct fx *f;

	if (scratch_setup(state, sizeof(*f), "intake", 1) == -1)
		return -1;
	f = *state;
	snprintf(f->intake, sizeof(f->intake), "%s/intake", f->s.home);
	/* The environment is made; each test opens it as it needs. */
	aq_close(f->s.aq);
	f->s.aq = NULL;
	return 0;
}


/* ---- helpers ---- */

static struct aq *
reopen(struct fx *f)
{
	aq_close(f->s.aq);
	f->s.aq = NULL;
	if (aq_open(&f->s.aq, f->s.home, 0) != AQ_OK)
		fail_msg("aq_open: %s", aq_error());
	return f->s.aq;
}

static uint64_t
put(struct aq *aq, const char *name)
{
	struct aq_job j;
	int rc;

	memset(&j, 0, sizeof(j));
	j.argv = argv_true;
	j.envp = env_one;
	j.name = (char *)name;
	if ((rc = aq_put(aq, &j, 1)) != AQ_OK)
		fail_msg("aq_put = %d: %s", rc, aq_error());
	return j.id;
}

/* The job's name, or NULL when there is no such job. */
static char *
name_of(struct aq *aq, uint64_t id)
{
	struct aq_job *j;
	char *name;
	int rc;

	if ((rc = aq_get(aq, id, &j)) == AQ_ENOENT)
		return NULL;
	if (rc != AQ_OK)
		fail_msg("aq_get(%llu) = %d: %s", (unsigned long long)id, rc,
		    aq_error());
	name = strdup(j->name);
	assert_non_null(j->envp);
	assert_string_equal(j->envp[0], "A=1");
	aq_job_free(j);
	return name;
}

static void
assert_name(struct aq *aq, uint64_t id, const char *want)
{
	char *name = name_of(aq, id);

	if (name == NULL)
		fail_msg("no job %llu", (unsigned long long)id);
	assert_string_equal(name, want);
	free(name);
}

static off_t
size_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void
read_at(const char *path, void *buf, size_t n, off_t off)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd != -1);
	assert_int_equal(pread(fd, buf, n, off), (ssize_t)n);
	close(fd);
}

static void
write_at(const char *path, const void *buf, size_t n, off_t off)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd != -1);
	assert_int_equal(pwrite(fd, buf, n, off), (ssize_t)n);
	close(fd);
}

/* Change a field of the header, keeping its hash right. */
static void
set_header64(const char *path, int off, uint64_t v)
{
	unsigned char h[HDR];

	read_at(path, h, HDR, 0);
	aq__be64(h + off, v);
	aq__be64(h + 56, aq__hash64(h, 56));
	write_at(path, h, HDR, 0);
}

/* ---- tests ---- */

/* A put of a few jobs writes the intake and does not join. */
static void
test_put_without_joining(void **state)
{
	struct fx *f = *state;
	struct aq *aq = reopen(f);

	assert_int_equal(put(aq, "one"), 1);
	assert_int_equal(put(aq, "two"), 2);
	assert_null(aq->env);
	assert_false(aq->gated);
	assert_true(size_of(f->intake) > HDR);
	/* Any reading operation moves them in first. */
	assert_name(aq, 2, "two");
	assert_name(aq, 1, "one");
	assert_int_equal(size_of(f->intake), HDR);
	/* And another process sees them. */
	aq = reopen(f);
	assert_name(aq, 1, "one");
}

/* Ids go on across the intake and the database path (big batches). */
static void
test_ids_across_paths(void **state)
{
	struct fx *f = *state;
	struct aq *aq = reopen(f);
	struct aq_job *jobs;
	size_t i, n = 300;

	assert_int_equal(put(aq, "a"), 1);
	jobs = calloc(n, sizeof(*jobs));
	assert_non_null(jobs);
	for (i = 0; i < n; i++) {
		jobs[i].argv = argv_true;
		jobs[i].envp = env_one;
		jobs[i].name = S("batch");
	}
	assert_int_equal(aq_put(aq, jobs, n), AQ_OK);
	assert_int_equal(jobs[0].id, 2);
	assert_int_equal(jobs[n - 1].id, n + 1);
	free(jobs);
	assert_int_equal(put(aq, "b"), n + 2);
	aq = reopen(f);
	assert_name(aq, 1, "a");
	assert_name(aq, 2, "batch");
	assert_name(aq, n + 1, "batch");
	assert_name(aq, n + 2, "b");
}

/* A putter killed mid-write leaves half a record: it is cut off. */
static void
test_torn_tail(void **state)
{
	struct fx *f = *state;
	struct aq *aq = reopen(f);
	unsigned char rec[100];
	off_t end;

	assert_int_equal(put(aq, "one"), 1);
	assert_int_equal(put(aq, "two"), 2);
	end = size_of(f->intake);
	/* The first 100 bytes of the first record, again, at the end. */
	read_at(f->intake, rec, sizeof(rec), HDR);
	write_at(f->intake, rec, sizeof(rec), end);
	aq = reopen(f);
	assert_int_equal(put(aq, "three"), 3);
	assert_name(aq, 1, "one");
	assert_name(aq, 2, "two");
	assert_name(aq, 3, "three");
	assert_null(name_of(aq, 4));
	assert_int_equal(size_of(f->intake), HDR);
	assert_int_equal(put(aq, "four"), 4);
}

/*
 * A putter killed between its record and its header: the header still
 * hands out the record's id.  The next put, and the cut after a move,
 * go by the record.
 */
static void
test_header_behind_record(void **state)
{
	struct fx *f = *state;
	struct aq *aq = reopen(f);
	unsigned char h[HDR];

	assert_int_equal(put(aq, "one"), 1);
	read_at(f->intake, h, HDR, 0);
	assert_int_equal(put(aq, "two"), 2);
	write_at(f->intake, h, HDR, 0);		/* next id 2 again */
	assert_int_equal(put(aq, "three"), 3);
	assert_name(aq, 2, "two");
	assert_name(aq, 3, "three");

	/* The same with the records moved and cut before the next put. */
	read_at(f->intake, h, HDR, 0);
	assert_int_equal(put(aq, "four"), 4);
	write_at(f->intake, h, HDR, 0);		/* next id 4 again */
	assert_name(aq, 4, "four");		/* moved in, cut */
	assert_int_equal(size_of(f->intake), HDR);
	assert_int_equal(put(aq, "five"), 5);
	assert_name(aq, 4, "four");
	assert_name(aq, 5, "five");
}

/* A header a crash broke is made again from the database and the file. */
static void
test_broken_header(void **state)
{
	struct fx *f = *state;
	struct aq *aq = reopen(f);
	unsigned char zero[HDR];

	assert_int_equal(put(aq, "one"), 1);
	assert_name(aq, 1, "one");
	assert_int_equal(put(aq, "two"), 2);
	assert_int_equal(put(aq, "three"), 3);
	memset(zero, 0, sizeof(zero));
	write_at(f->intake, zero, HDR, 0);
	aq = reopen(f);
	assert_int_equal(put(aq, "four"), 4);
	assert_name(aq, 1, "one");
	assert_name(aq, 2, "two");
	assert_name(aq, 3, "three");
	assert_name(aq, 4, "four");
	assert_int_equal(put(aq, "five"), 5);
}

/* An intake deleted: the database path makes it again, ids go on. */
static void
test_missing_intake(void **state)
{
	struct fx *f = *state;
	struct aq *aq = reopen(f);

	assert_int_equal(put(aq, "one"), 1);
	assert_name(aq, 1, "one");
	aq_close(aq);
	f->s.aq = NULL;
	assert_int_equal(unlink(f->intake), 0);
	aq = reopen(f);
	assert_int_equal(put(aq, "two"), 2);
	assert_true(size_of(f->intake) >= HDR);
	assert_int_equal(put(aq, "three"), 3);
	assert_name(aq, 2, "two");
	assert_name(aq, 3, "three");
}

/*
 * After a reboot the header may have lost its last writes: the first put
 * takes the database path, which asks the database for the next id.
 */
static void
test_new_boot(void **state)
{
	struct fx *f = *state;
	struct aq *aq = reopen(f);
	unsigned char h[HDR], h2[HDR];

	assert_int_equal(put(aq, "one"), 1);
	assert_name(aq, 1, "one");
	read_at(f->intake, h, HDR, 0);
	/* A header of another boot that lost the move of job 1. */
	set_header64(f->intake, 8, 1);
	set_header64(f->intake, 32, 12345);
	aq = reopen(f);
	assert_int_equal(put(aq, "two"), 2);
	assert_name(aq, 1, "one");
	assert_name(aq, 2, "two");
	/* The header is this boot's again: the next put goes by intake. */
	read_at(f->intake, h2, HDR, 0);
	assert_memory_equal(h + 32, h2 + 32, 8);
	aq = reopen(f);
	assert_int_equal(put(aq, "three"), 3);
	assert_null(aq->env);
}

/* A handle that defers syncs cuts the intake after its flush. */
static void
test_deferred_cut(void **state)
{
	struct fx *f = *state;
	struct aq *aq = reopen(f);

	aq_defer_sync(aq, 1);
	assert_int_equal(put(aq, "one"), 1);
	assert_name(aq, 1, "one");
	assert_true(size_of(f->intake) > HDR);
	assert_int_equal(aq_sync(aq), AQ_OK);
	assert_int_equal(size_of(f->intake), HDR);
	/* A second move, cut at the close. */
	assert_int_equal(put(aq, "two"), 2);
	assert_name(aq, 2, "two");
	aq_close(aq);
	f->s.aq = NULL;
	assert_int_equal(size_of(f->intake), HDR);
	aq = reopen(f);
	assert_name(aq, 2, "two");
	assert_int_equal(put(aq, "three"), 3);
}

/* An intake of a newer format is refused, and nothing is put. */
static void
test_newer_format(void **state)
{
	struct fx *f = *state;
	struct aq *aq = reopen(f);
	unsigned char h[HDR];
	struct aq_job j;

	read_at(f->intake, h, HDR, 0);
	aq__be32(h + 4, AQ_FORMAT + 1);
	aq__be64(h + 56, aq__hash64(h, 56));
	write_at(f->intake, h, HDR, 0);
	memset(&j, 0, sizeof(j));
	j.argv = argv_true;
	assert_int_equal(aq_put(aq, &j, 1), AQ_EUNAVAIL);
	assert_non_null(strstr(aq_error(), "newer than this aq"));
	assert_int_equal(size_of(f->intake), HDR);
}

/* Jobs put without an environment get none, not an empty one. */
static void
test_no_environment(void **state)
{
	struct fx *f = *state;
	struct aq *aq = reopen(f);
	struct aq_job j, *g;

	memset(&j, 0, sizeof(j));
	j.argv = argv_true;
	assert_int_equal(aq_put(aq, &j, 1), AQ_OK);
	assert_int_equal(aq_get(aq, j.id, &g), AQ_OK);
	assert_null(g->envp);
	assert_string_equal(g->argv[0], "true");
	aq_job_free(g);
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, scratch_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_put_without_joining),
		T(test_ids_across_paths),
		T(test_torn_tail),
		T(test_header_behind_record),
		T(test_broken_header),
		T(test_missing_intake),
		T(test_new_boot),
		T(test_deferred_cut),
		T(test_newer_format),
		T(test_no_environment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
