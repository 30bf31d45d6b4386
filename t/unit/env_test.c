/*
 * env_test.c: unit tests of libaq on real environments: opening,
 * putting, claiming, ending, reading and counting jobs.
 *
 * Each test gets a fresh scratch directory (under $TMPDIR or /tmp) and
 * opens its environment in "home" inside it; the teardown closes the
 * handle and removes the directory, so a failed test leaves nothing open
 * for the next one (a process may hold only one environment).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aq.h"
#include "internal.h"
#include "scratch.h"

/* struct aq_job has char *; the tests fill it with literals. */
#define S(s)	((char *)(s))

struct fx {
	struct scratch	 s;	/* s.aq: open_env() opens it */
};

static char *argv_true[] = { S("true"), NULL };

static const unsigned char owner_a[AQ_UUID_LEN] = {
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0x46, 0xa7,
	0x88, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf
};
static const unsigned char owner_b[AQ_UUID_LEN] = {
	0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0x46, 0xb7,
	0x88, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf
};

/* ---- fixture ---- */

static int
setup(void **state)
{
	return scratch_setup(state, sizeof(struct fx), "env", 0);
}


/* ---- helpers ---- */

static struct aq *
open_env(struct fx *f)
{
	int rc;

	rc = aq_open(&f->s.aq, f->s.home, AQ_OPEN_CREATE);
	if (rc != AQ_OK)
		fail_msg("aq_open('%s') = %d: %s", f->s.home, rc, aq_error());
	assert_non_null(f->s.aq);
	return f->s.aq;
}

static void
job_init(struct aq_job *j, const char *queue)
{
	memset(j, 0, sizeof(*j));
	j->argv = argv_true;
	j->queue = S(queue);
	j->exit_code = -1;
}

/* Put one job; returns its id. */
static uint64_t
put_job(struct aq *aq, const char *queue, int32_t prio, aq_time begin,
    unsigned flags)
{
	struct aq_job j;
	int rc;

	job_init(&j, queue);
	j.priority = prio;
	j.begin = begin;
	j.flags = flags;
	rc = aq_put(aq, &j, 1);
	if (rc != AQ_OK)
		fail_msg("aq_put = %d: %s", rc, aq_error());
	assert_true(j.id > 0);
	return j.id;
}

static void
claim_opts(struct aq_claim_opts *o, const char *const *qs, size_t nq,
    const unsigned char *owner, int64_t lease)
{
	memset(o, 0, sizeof(*o));
	o->queues = qs;
	o->nqueues = nq;
	memcpy(o->owner, owner, AQ_UUID_LEN);
	o->lease = lease;
}

/* Claim from the default queue; returns the id, 0 for AQ_NO. */
static uint64_t
claim_id(struct aq *aq, const unsigned char *owner, int64_t lease)
{
	struct aq_claim_opts o;
	struct aq_job *j = NULL;
	uint64_t id;
	int rc;

	claim_opts(&o, NULL, 0, owner, lease);
	rc = aq_claim(aq, &o, &j, NULL);
	if (rc == AQ_NO) {
		assert_null(j);
		return 0;
	}
	if (rc != AQ_OK)
		fail_msg("aq_claim = %d: %s", rc, aq_error());
	assert_non_null(j);
	id = j->id;
	aq_job_free(j);
	return id;
}

static struct aq_job *
get_job(struct aq *aq, uint64_t id)
{
	struct aq_job *j = NULL;
	int rc;

	rc = aq_get(aq, id, &j);
	if (rc != AQ_OK)
		fail_msg("aq_get(%llu) = %d: %s", (unsigned long long)id, rc,
		    aq_error());
	assert_non_null(j);
	return j;
}

/* Sleep until aq_now() is past t: usleep may be cut short by signals. */
static void
sleep_until(aq_time t)
{
	aq_time now;

	while ((now = aq_now()) <= t)
		usleep((useconds_t)(t - now + 1000));
}

static int
exists(const char *dir, const char *name)
{
	char path[PATH_MAX * 2];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

static mode_t
mode_of(const char *dir, const char *name)
{
	char path[PATH_MAX * 2];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static int
count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
assert_error_mentions(const char *s)
{
	if (strstr(aq_error(), s) == NULL)
		fail_msg("aq_error() \"%s\" does not mention \"%s\"",
		    aq_error(), s);
}

/* ---- opening ---- */

/* A record of a newer format: refused with a clear error, nothing changed. */
static void
test_open_newer_format(void **state)
{
	struct fx *f = *state;
	unsigned char k = K_META, v[72];
	struct aq_job *j;
	DBT key, data;
	DB_TXN *txn;
	struct aq *aq;

	aq = open_env(f);
	memset(v, 0, sizeof(v));
	aq__be32(v, AQ_FORMAT + 1);
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = &k;
	key.size = 1;
	data.data = v;
	data.size = sizeof(v);
	assert_int_equal(aq->env->txn_begin(aq->env, NULL, &txn, 0), 0);
	assert_int_equal(aq->db->put(aq->db, txn, &key, &data, 0), 0);
	assert_int_equal(txn->commit(txn, 0), 0);
	aq_close(aq);
	f->s.aq = NULL;
	/* An existing environment is joined at the first operation. */
	assert_int_equal(aq_open(&f->s.aq, f->s.home, AQ_OPEN_CREATE), AQ_OK);
	assert_int_equal(aq_get(f->s.aq, 1, &j), AQ_EUNAVAIL);
	assert_null(j);
	assert_non_null(strstr(aq_error(), "newer than this aq"));
	/* Refused again, not half-open. */
	assert_int_equal(aq_get(f->s.aq, 1, &j), AQ_EUNAVAIL);
	aq_close(f->s.aq);
	f->s.aq = NULL;
}

static void
test_open_creates(void **state)
{
	struct fx *f = *state;
	char real[PATH_MAX];
	struct aq *aq;

	aq = open_env(f);
	assert_true(exists(f->s.home, "aq.db"));
	assert_true(exists(f->s.home, "aq.lock"));
	assert_true(exists(f->s.home, "DB_CONFIG"));
	assert_int_equal(mode_of(f->s.dir, "home"), 0700);
	assert_int_equal(mode_of(f->s.home, "aq.db") & 077, 0);
	assert_non_null(realpath(f->s.home, real));
	assert_string_equal(aq_home(aq), real);
	aq_close(aq);
	f->s.aq = NULL;

	/* Open again, without AQ_OPEN_CREATE now that it exists. */
	assert_int_equal(aq_open(&f->s.aq, f->s.home, 0), AQ_OK);
	assert_int_equal(aq_checkpoint(f->s.aq), AQ_OK);
}

static void
test_open_creates_parents(void **state)
{
	struct fx *f = *state;

	snprintf(f->s.home, sizeof(f->s.home), "%s/a/b/c", f->s.dir);
	open_env(f);
	assert_true(exists(f->s.home, "aq.db"));
	assert_int_equal(mode_of(f->s.dir, "a/b/c"), 0700);
}

static void
test_open_missing(void **state)
{
	struct fx *f = *state;
	struct aq *aq = (struct aq *)&aq;

	assert_int_equal(aq_open(&aq, f->s.home, 0), AQ_EUNAVAIL);
	assert_null(aq);
	assert_error_mentions(f->s.home);
	assert_false(exists(f->s.dir, "home"));
}

/* An empty directory is not an environment either. */
static void
test_open_empty_dir_without_create(void **state)
{
	struct fx *f = *state;
	struct aq *aq;

	assert_int_equal(mkdir(f->s.home, 0700), 0);
	assert_int_equal(aq_open(&aq, f->s.home, 0), AQ_EUNAVAIL);
	assert_null(aq);
	assert_int_equal(count_entries(f->s.home), 0);
}

static void
test_open_regular_file(void **state)
{
	struct fx *f = *state;
	struct aq *aq;
	int fd;

	fd = open(f->s.home, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(aq_open(&aq, f->s.home, AQ_OPEN_CREATE), AQ_ECREATE);
	assert_null(aq);
	assert_int_equal(aq_open(&aq, f->s.home, 0), AQ_EUNAVAIL);
	assert_null(aq);
}

static void
test_open_world_writable(void **state)
{
	struct fx *f = *state;
	struct aq *aq;

	assert_int_equal(mkdir(f->s.home, 0700), 0);
	assert_int_equal(chmod(f->s.home, 0777), 0);
	assert_int_equal(aq_open(&aq, f->s.home, AQ_OPEN_CREATE), AQ_EPERM);
	assert_null(aq);
	assert_error_mentions(f->s.home);
	assert_int_equal(aq_open(&aq, f->s.home, 0), AQ_EPERM);
	assert_null(aq);
	assert_int_equal(count_entries(f->s.home), 0);
	assert_int_equal(mode_of(f->s.dir, "home"), 0777);
}

static void
test_open_setgid_group(void **state)
{
	struct fx *f = *state;
	struct aq *aq;

	assert_int_equal(mkdir(f->s.home, 0700), 0);
	assert_int_equal(chmod(f->s.home, 02770), 0);
	assert_int_equal(mode_of(f->s.dir, "home"), 02770);
	aq = open_env(f);
	assert_int_equal(mode_of(f->s.home, "aq.db"), 0660);
	assert_int_equal(mode_of(f->s.home, "aq.lock"), 0660);
	assert_true(put_job(aq, "default", 0, 0, 0) == 1);
}

static void
test_open_twice(void **state)
{
	struct fx *f = *state;
	struct aq *aq, *aq2 = (struct aq *)&aq2;
	struct aq_job *j;

	aq = open_env(f);
	assert_int_equal(aq_open(&aq2, f->s.home, AQ_OPEN_CREATE),
	    AQ_EINTERNAL);
	assert_null(aq2);
	assert_int_equal(aq_open(&aq2, f->s.home, 0), AQ_EINTERNAL);
	assert_null(aq2);
	/* The first handle is untouched. */
	assert_true(put_job(aq, "default", 0, 0, 0) == 1);
	j = get_job(aq, 1);
	assert_int_equal(j->state, AQ_PENDING);
	aq_job_free(j);
	assert_true(claim_id(aq, owner_a, 0) == 1);
	/* Once it is closed, another open works. */
	aq_close(aq);
	f->s.aq = NULL;
	assert_int_equal(aq_open(&f->s.aq, f->s.home, 0), AQ_OK);
	j = get_job(f->s.aq, 1);
	assert_int_equal(j->state, AQ_ACTIVE);
	aq_job_free(j);
}

static void
test_open_default_home(void **state)
{
	struct fx *f = *state;
	char buf[PATH_MAX], real[PATH_MAX];

	assert_int_equal(setenv("AQ_HOME", f->s.home, 1), 0);
	assert_int_equal(aq_default_home(buf, sizeof(buf)), AQ_OK);
	assert_string_equal(buf, f->s.home);
	assert_int_equal(aq_open(&f->s.aq, NULL, AQ_OPEN_CREATE), AQ_OK);
	unsetenv("AQ_HOME");
	assert_non_null(realpath(f->s.home, real));
	assert_string_equal(aq_home(f->s.aq), real);
}

/* Set or unset an environment variable for aq_default_home(). */
static void
setvar(const char *name, const char *value)
{
	if (value == NULL)
		assert_int_equal(unsetenv(name), 0);
	else
		assert_int_equal(setenv(name, value, 1), 0);
}

static void
test_default_home(void **state)
{
	static const char *const names[] = { "AQ_HOME", "XDG_STATE_HOME",
	    "HOME" };
	char *saved[3], buf[PATH_MAX], small[8];
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		const char *v = getenv(names[i]);

		saved[i] = v ? strdup(v) : NULL;
	}
	setvar("AQ_HOME", "/a/q");
	setvar("XDG_STATE_HOME", "/x");
	setvar("HOME", "/h");
	assert_int_equal(aq_default_home(buf, sizeof(buf)), AQ_OK);
	assert_string_equal(buf, "/a/q");
	setvar("AQ_HOME", "");
	assert_int_equal(aq_default_home(buf, sizeof(buf)), AQ_OK);
	assert_string_equal(buf, "/x/aq");
	setvar("AQ_HOME", NULL);
	assert_int_equal(aq_default_home(buf, sizeof(buf)), AQ_OK);
	assert_string_equal(buf, "/x/aq");
	setvar("XDG_STATE_HOME", "relative");	/* not absolute: ignored */
	assert_int_equal(aq_default_home(buf, sizeof(buf)), AQ_OK);
	assert_string_equal(buf, "/h/.local/state/aq");
	setvar("XDG_STATE_HOME", NULL);
	assert_int_equal(aq_default_home(buf, sizeof(buf)), AQ_OK);
	assert_string_equal(buf, "/h/.local/state/aq");
	assert_int_equal(aq_default_home(small, sizeof(small)), AQ_EUNAVAIL);
	setvar("HOME", NULL);
	assert_int_equal(aq_default_home(buf, sizeof(buf)), AQ_EUNAVAIL);
	for (i = 0; i < 3; i++) {
		setvar(names[i], saved[i]);
		free(saved[i]);
	}
}

static void
test_close_null(void **state)
{
	(void)state;
	aq_close(NULL);
}

/* ---- putting ---- */

static void
test_put_ids(void **state)
{
	struct fx *f = *state;
	struct aq_job jobs[3], *j;
	aq_time before = aq_now(), after;
	struct aq *aq;
	size_t i;

	aq = open_env(f);
	for (i = 0; i < 3; i++)
		job_init(&jobs[i], "default");
	assert_int_equal(aq_put(aq, jobs, 3), AQ_OK);
	after = aq_now();
	assert_true(jobs[0].id == 1);
	assert_true(jobs[1].id == 2);
	assert_true(jobs[2].id == 3);
	for (i = 1; i <= 3; i++) {
		j = get_job(aq, i);
		assert_true(j->id == i);
		assert_string_equal(j->queue, "default");
		assert_string_equal(j->argv[0], "true");
		assert_null(j->argv[1]);
		assert_int_equal(j->state, AQ_PENDING);
		assert_int_equal(j->reason, AQ_READY);
		assert_int_equal(j->attempt, 0);
		assert_int_equal(j->interrupts, 0);
		assert_int_equal(j->exit_code, -1);
		assert_true(aq_uuid_is_null(j->worker));
		assert_true(j->created >= before && j->created <= after);
		aq_job_free(j);
	}
	/* The next put goes on from there. */
	assert_true(put_job(aq, "default", 0, 0, 0) == 4);
}

static void
test_put_default_queue(void **state)
{
	struct fx *f = *state;
	struct aq_job j, *g;
	struct aq *aq;

	aq = open_env(f);
	job_init(&j, "x");
	j.queue = NULL;
	assert_int_equal(aq_put(aq, &j, 1), AQ_OK);
	g = get_job(aq, j.id);
	assert_string_equal(g->queue, AQ_DEFAULT_QUEUE);
	aq_job_free(g);
}

static void
test_put_empty_argv(void **state)
{
	char *none[] = { NULL };
	struct fx *f = *state;
	struct aq_job jobs[2], *g;
	struct aq *aq;

	aq = open_env(f);
	job_init(&jobs[0], "default");
	jobs[0].argv = none;
	assert_int_equal(aq_put(aq, jobs, 1), AQ_EINPUT);
	jobs[0].argv = NULL;
	assert_int_equal(aq_put(aq, jobs, 1), AQ_EINPUT);
	/* All or none: a good job before a bad one is not put either. */
	job_init(&jobs[0], "default");
	job_init(&jobs[1], "default");
	jobs[1].argv = none;
	assert_int_equal(aq_put(aq, jobs, 2), AQ_EINPUT);
	assert_int_equal(aq_get(aq, 1, &g), AQ_ENOENT);
	assert_null(g);
	/* Nothing was put: the next id is still 1. */
	assert_true(put_job(aq, "default", 0, 0, 0) == 1);
}

static void
test_put_bad_names(void **state)
{
	static const char *const bad[] = { "", "a b", "a/b", "\t", "a\nb" };
	struct fx *f = *state;
	struct aq_job j;
	struct aq *aq;
	size_t i;

	aq = open_env(f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		job_init(&j, bad[i]);
		assert_int_equal(aq_put(aq, &j, 1), AQ_EINPUT);
		job_init(&j, "default");
		j.name = S(bad[i]);
		assert_int_equal(aq_put(aq, &j, 1), AQ_EINPUT);
	}
	job_init(&j, "a b");
	assert_int_equal(aq_put(aq, &j, 1), AQ_EINPUT);
	assert_error_mentions("'a b'");
	assert_true(put_job(aq, "default", 0, 0, 0) == 1);
}

static void
test_put_zero_jobs(void **state)
{
	struct fx *f = *state;
	struct aq_job j;
	struct aq *aq;

	aq = open_env(f);
	assert_int_equal(aq_put(aq, &j, 0), AQ_OK);
	assert_true(put_job(aq, "default", 0, 0, 0) == 1);
}

/* ---- claiming ---- */

static void
test_claim_order(void **state)
{
	static const char *const qs[] = { "q1", "q2" };
	struct fx *f = *state;
	struct aq_claim_opts o;
	struct aq_job *j;
	aq_time now = aq_now(), next;
	uint64_t want[] = { 3, 5, 4, 1, 2, 6 };
	struct aq *aq;
	size_t i;

	aq = open_env(f);
	assert_true(put_job(aq, "q1", 0, 0, 0) == 1);
	assert_true(put_job(aq, "q2", 0, 0, 0) == 2);
	assert_true(put_job(aq, "q1", 5, 0, 0) == 3);
	assert_true(put_job(aq, "q2", 5, now - 2 * AQ_SEC, 0) == 4);
	assert_true(put_job(aq, "q2", 5, now - 3 * AQ_SEC, 0) == 5);
	assert_true(put_job(aq, "q1", -3, 0, 0) == 6);
	assert_true(put_job(aq, "q3", 100, 0, 0) == 7);	/* not asked */
	assert_true(put_job(aq, "default", 100, 0, 0) == 8);
	claim_opts(&o, qs, 2, owner_a, 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int rc = aq_claim(aq, &o, &j, NULL);

		if (rc != AQ_OK)
			fail_msg("claim %zu = %d: %s", i, rc, aq_error());
		if (j->id != want[i])
			fail_msg("claim %zu gave job %llu, want %llu", i,
			    (unsigned long long)j->id,
			    (unsigned long long)want[i]);
		assert_int_equal(j->state, AQ_ACTIVE);
		assert_int_equal(j->attempt, 1);
		assert_memory_equal(j->worker, owner_a, AQ_UUID_LEN);
		aq_job_free(j);
	}
	next = -1;
	assert_int_equal(aq_claim(aq, &o, &j, &next), AQ_NO);
	assert_null(j);
	assert_true(next == 0);
	/* No queues given: the default queue. */
	assert_true(claim_id(aq, owner_a, 0) == 8);
	assert_true(claim_id(aq, owner_a, 0) == 0);
}

static void
test_claim_sets_lease(void **state)
{
	struct fx *f = *state;
	struct aq_claim_opts o;
	struct aq_job *j, *g;
	aq_time before, after;
	struct aq *aq;

	aq = open_env(f);
	put_job(aq, "default", 0, 0, 0);
	put_job(aq, "default", 0, 0, 0);
	claim_opts(&o, NULL, 0, owner_a, 0);
	before = aq_now();
	assert_int_equal(aq_claim(aq, &o, &j, NULL), AQ_OK);
	after = aq_now();
	assert_true(j->lease >= before + AQ_LEASE_DEFAULT &&
	    j->lease <= after + AQ_LEASE_DEFAULT);
	assert_true(j->started >= before && j->started <= after);
	g = get_job(aq, j->id);
	assert_true(g->lease == j->lease);
	aq_job_free(g);
	aq_job_free(j);
	claim_opts(&o, NULL, 0, owner_a, 7 * AQ_SEC);
	before = aq_now();
	assert_int_equal(aq_claim(aq, &o, &j, NULL), AQ_OK);
	after = aq_now();
	assert_true(j->lease >= before + 7 * AQ_SEC &&
	    j->lease <= after + 7 * AQ_SEC);
	aq_job_free(j);
}

static void
test_claim_empty(void **state)
{
	static const char *const qs[] = { "nosuch" };
	struct fx *f = *state;
	struct aq_claim_opts o;
	struct aq_job *j = (struct aq_job *)&j;
	aq_time next = 99;
	struct aq *aq;

	aq = open_env(f);
	claim_opts(&o, NULL, 0, owner_a, 0);
	assert_int_equal(aq_claim(aq, &o, &j, &next), AQ_NO);
	assert_null(j);
	assert_true(next == 0);
	put_job(aq, "other", 0, 0, 0);
	claim_opts(&o, qs, 1, owner_a, 0);
	assert_int_equal(aq_claim(aq, &o, &j, &next), AQ_NO);
	claim_opts(&o, NULL, 0, owner_a, 0);
	assert_int_equal(aq_claim(aq, &o, &j, NULL), AQ_NO);
}

static void
test_claim_bad_queue(void **state)
{
	static const char *const qs[] = { "ok", "a/b" };
	struct fx *f = *state;
	struct aq_claim_opts o;
	struct aq_job *j;
	struct aq *aq;

	aq = open_env(f);
	claim_opts(&o, qs, 2, owner_a, 0);
	assert_int_equal(aq_claim(aq, &o, &j, NULL), AQ_EINPUT);
	assert_null(j);
}

static void
test_claim_skips_held(void **state)
{
	struct fx *f = *state;
	struct aq_job *j;
	struct aq *aq;

	aq = open_env(f);
	put_job(aq, "default", 50, 0, AQ_JOB_HOLD);
	put_job(aq, "default", 0, 0, 0);
	assert_true(claim_id(aq, owner_a, 0) == 2);
	assert_true(claim_id(aq, owner_a, 0) == 0);
	j = get_job(aq, 1);
	assert_int_equal(j->state, AQ_PENDING);
	assert_int_equal(j->reason, AQ_HELD);
	aq_job_free(j);
}

static void
test_claim_wait(void **state)
{
	struct fx *f = *state;
	struct aq_claim_opts o;
	struct aq_job *j;
	aq_time t0;
	struct aq *aq;

	aq = open_env(f);
	claim_opts(&o, NULL, 0, owner_a, 0);
	t0 = aq_now();
	assert_int_equal(aq_claim_wait(aq, &o, 50000, 10000, &j), AQ_NO);
	assert_null(j);
	assert_true(aq_now() - t0 >= 50000);
	assert_true(aq_now() - t0 < 5 * AQ_SEC);
	put_job(aq, "default", 0, 0, 0);
	assert_int_equal(aq_claim_wait(aq, &o, 0, 0, &j), AQ_OK);
	assert_true(j->id == 1);
	aq_job_free(j);
}

/* Read watch descriptor fd empty; returns whether there was anything. */
static int
woken(int fd)
{
	char buf[4096];
	int any = 0;

	while (read(fd, buf, sizeof(buf)) > 0)
		any = 1;
	return any;
}

/*
 * A handle that defers its syncs wakes the waiters with its flush, once,
 * not at each write: with aq_sync() at once, with aq_sync_start() when the
 * background flush is done.
 */
static void
test_deferred_wake(void **state)
{
	struct fx *f = *state;
	struct aq_result r;
	struct pollfd p;
	struct aq *aq;
	int fd;

	aq = open_env(f);
	assert_true((fd = aq_watch(aq)) != -1);
	put_job(aq, "default", 0, 0, 0);
	put_job(aq, "default", 0, 0, 0);
	assert_true(woken(fd));
	assert_true(claim_id(aq, owner_a, 0) == 1);
	assert_true(claim_id(aq, owner_a, 0) == 2);
	(void)woken(fd);
	aq_defer_sync(aq, 1);
	memset(&r, 0, sizeof(r));
	assert_int_equal(aq_done(aq, 1, owner_a, &r), AQ_OK);
	assert_false(woken(fd));
	assert_int_equal(aq_sync_start(aq), AQ_OK);
	p.fd = fd;
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, 30000), 1);
	assert_true(woken(fd));
	assert_int_equal(aq_done(aq, 2, owner_a, &r), AQ_OK);
	assert_false(woken(fd));
	assert_int_equal(aq_sync(aq), AQ_OK);
	assert_true(woken(fd));
	/* Nothing owed: a flush wakes nobody. */
	assert_int_equal(aq_sync(aq), AQ_OK);
	assert_false(woken(fd));
	close(fd);
}

/* ---- ending ---- */

static void
test_done(void **state)
{
	struct fx *f = *state;
	struct aq_result r;
	struct aq_job *j;
	aq_time before;
	struct aq *aq;

	aq = open_env(f);
	memset(&r, 0, sizeof(r));
	r.exit_code = 0;
	assert_int_equal(aq_done(aq, 42, owner_a, &r), AQ_ENOENT);
	assert_error_mentions("42");
	put_job(aq, "default", 0, 0, 0);
	assert_int_equal(aq_done(aq, 1, owner_a, &r), AQ_NO);
	assert_int_equal(aq_done(aq, 1, NULL, &r), AQ_NO);
	assert_true(claim_id(aq, owner_a, 0) == 1);
	r.utime = 1500;
	r.stime = 2500;
	r.maxrss = 1024;
	r.output_size = 77;
	before = aq_now();
	assert_int_equal(aq_done(aq, 1, owner_a, &r), AQ_OK);
	j = get_job(aq, 1);
	assert_int_equal(j->state, AQ_DONE);
	assert_int_equal(j->outcome, AQ_OUT_OK);
	assert_int_equal(j->exit_code, 0);
	assert_int_equal(j->signal, 0);
	assert_true(j->utime == 1500 && j->stime == 2500);
	assert_true(j->maxrss == 1024 && j->output_size == 77);
	assert_true(j->ended >= before);
	aq_job_free(j);
	/* Done is final. */
	assert_int_equal(aq_done(aq, 1, owner_a, &r), AQ_NO);
	assert_int_equal(aq_release(aq, 1, owner_a, 0), AQ_NO);
	assert_int_equal(aq_touch(aq, 1, owner_a, 0), AQ_NO);
	assert_true(claim_id(aq, owner_a, 0) == 0);
}

static void
test_done_outcomes(void **state)
{
	struct fx *f = *state;
	struct aq_result r;
	struct aq_job *j;
	struct aq *aq;
	int i;

	aq = open_env(f);
	for (i = 0; i < 4; i++)
		put_job(aq, "default", 0, 0, 0);
	for (i = 1; i <= 4; i++)
		assert_true(claim_id(aq, owner_a, 0) == (uint64_t)i);
	memset(&r, 0, sizeof(r));
	r.exit_code = 3;
	assert_int_equal(aq_done(aq, 1, owner_a, &r), AQ_OK);
	r.exit_code = -1;
	r.signal = 9;
	assert_int_equal(aq_done(aq, 2, owner_a, &r), AQ_OK);
	r.signal = 0;
	r.outcome = AQ_OUT_TIMEOUT;
	assert_int_equal(aq_done(aq, 3, owner_a, &r), AQ_OK);
	/* owner NULL: whoever holds it. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(aq_done(aq, 4, NULL, &r), AQ_OK);

	j = get_job(aq, 1);
	assert_int_equal(j->outcome, AQ_OUT_FAILED);
	assert_int_equal(j->exit_code, 3);
	aq_job_free(j);
	j = get_job(aq, 2);
	assert_int_equal(j->outcome, AQ_OUT_FAILED);
	assert_int_equal(j->exit_code, -1);
	assert_int_equal(j->signal, 9);
	aq_job_free(j);
	j = get_job(aq, 3);
	assert_int_equal(j->outcome, AQ_OUT_TIMEOUT);
	aq_job_free(j);
	j = get_job(aq, 4);
	assert_int_equal(j->outcome, AQ_OUT_OK);
	aq_job_free(j);
}

static void
test_done_other_owner(void **state)
{
	struct fx *f = *state;
	struct aq_result r;
	struct aq_job *a, *b;
	struct aq *aq;

	aq = open_env(f);
	put_job(aq, "default", 0, 0, 0);
	assert_true(claim_id(aq, owner_a, 0) == 1);
	a = get_job(aq, 1);
	memset(&r, 0, sizeof(r));
	assert_int_equal(aq_done(aq, 1, owner_b, &r), AQ_NO);
	assert_int_equal(aq_release(aq, 1, owner_b, 0), AQ_NO);
	assert_int_equal(aq_touch(aq, 1, owner_b, 600 * AQ_SEC), AQ_NO);
	b = get_job(aq, 1);
	assert_int_equal(b->state, AQ_ACTIVE);
	assert_int_equal(b->outcome, AQ_NONE);
	assert_int_equal(b->attempt, a->attempt);
	assert_int_equal(b->exit_code, -1);
	assert_true(b->lease == a->lease);
	assert_true(b->ended == 0);
	assert_memory_equal(b->worker, owner_a, AQ_UUID_LEN);
	aq_job_free(a);
	aq_job_free(b);
	/* The rightful owner still can. */
	assert_int_equal(aq_done(aq, 1, owner_a, &r), AQ_OK);
}

static void
test_release(void **state)
{
	struct fx *f = *state;
	struct aq_claim_opts o;
	struct aq_job *j;
	struct aq *aq;

	aq = open_env(f);
	put_job(aq, "default", 0, 0, 0);
	assert_int_equal(aq_release(aq, 1, owner_a, 0), AQ_NO);
	assert_int_equal(aq_release(aq, 2, owner_a, 0), AQ_ENOENT);
	assert_true(claim_id(aq, owner_a, 0) == 1);
	assert_int_equal(aq_release(aq, 1, owner_a, -1), AQ_EINPUT);
	assert_int_equal(aq_release(aq, 1, owner_a, 0), AQ_OK);
	j = get_job(aq, 1);
	assert_int_equal(j->state, AQ_PENDING);
	assert_int_equal(j->reason, AQ_READY);
	assert_int_equal(j->attempt, 1);
	assert_int_equal(j->interrupts, 0);
	aq_job_free(j);
	claim_opts(&o, NULL, 0, owner_b, 0);
	assert_int_equal(aq_claim(aq, &o, &j, NULL), AQ_OK);
	assert_true(j->id == 1);
	assert_int_equal(j->attempt, 2);
	assert_int_equal(j->interrupts, 0);
	assert_memory_equal(j->worker, owner_b, AQ_UUID_LEN);
	aq_job_free(j);
}

static void
test_release_with_delay(void **state)
{
	struct fx *f = *state;
	struct aq_claim_opts o;
	struct aq_job *j;
	aq_time before, next;
	struct aq *aq;

	aq = open_env(f);
	put_job(aq, "default", 0, 0, 0);
	assert_true(claim_id(aq, owner_a, 0) == 1);
	before = aq_now();
	assert_int_equal(aq_release(aq, 1, NULL, 3600 * AQ_SEC), AQ_OK);
	j = get_job(aq, 1);
	assert_int_equal(j->state, AQ_PENDING);
	assert_int_equal(j->reason, AQ_SCHEDULED);
	assert_true(j->begin >= before + 3600 * AQ_SEC);
	aq_job_free(j);
	claim_opts(&o, NULL, 0, owner_a, 0);
	assert_int_equal(aq_claim(aq, &o, &j, &next), AQ_NO);
	assert_true(next >= before + 3600 * AQ_SEC);
}

static void
test_touch(void **state)
{
	struct fx *f = *state;
	struct aq_claim_opts o;
	struct aq_job *j, *g;
	aq_time before;
	struct aq *aq;

	aq = open_env(f);
	put_job(aq, "default", 0, 0, 0);
	assert_int_equal(aq_touch(aq, 1, owner_a, AQ_SEC), AQ_NO);
	assert_int_equal(aq_touch(aq, 9, owner_a, AQ_SEC), AQ_ENOENT);
	claim_opts(&o, NULL, 0, owner_a, AQ_SEC);
	assert_int_equal(aq_claim(aq, &o, &j, NULL), AQ_OK);
	before = aq_now();
	assert_int_equal(aq_touch(aq, 1, owner_a, 100 * AQ_SEC), AQ_OK);
	g = get_job(aq, 1);
	assert_true(g->lease > j->lease);
	assert_true(g->lease >= before + 100 * AQ_SEC);
	assert_int_equal(g->state, AQ_ACTIVE);
	assert_int_equal(g->attempt, 1);
	aq_job_free(g);
	/* lease 0: the default lease. */
	before = aq_now();
	assert_int_equal(aq_touch(aq, 1, NULL, 0), AQ_OK);
	g = get_job(aq, 1);
	assert_true(g->lease >= before + AQ_LEASE_DEFAULT);
	aq_job_free(g);
	aq_job_free(j);
}

/* A touched lease is the one that counts when leases run out. */
static void
test_touch_keeps_job(void **state)
{
	struct fx *f = *state;
	struct aq *aq;

	aq = open_env(f);
	put_job(aq, "default", 0, 0, 0);
	assert_true(claim_id(aq, owner_a, 1000) == 1);
	assert_int_equal(aq_touch(aq, 1, owner_a, 600 * AQ_SEC), AQ_OK);
	sleep_until(aq_now() + 20000);
	assert_true(claim_id(aq, owner_b, 0) == 0);
	assert_int_equal(aq_done(aq, 1, owner_a, &(struct aq_result){
	    .outcome = AQ_NONE }), AQ_OK);
}

static void
test_lease_runs_out(void **state)
{
	struct fx *f = *state;
	struct aq_claim_opts o;
	struct aq_result r;
	struct aq_job *j;
	struct aq *aq;

	aq = open_env(f);
	put_job(aq, "default", 0, 0, 0);
	assert_true(claim_id(aq, owner_a, 1000) == 1);
	sleep_until(aq_now() + 20000);
	claim_opts(&o, NULL, 0, owner_b, 0);
	assert_int_equal(aq_claim(aq, &o, &j, NULL), AQ_OK);
	assert_true(j->id == 1);
	assert_int_equal(j->state, AQ_ACTIVE);
	assert_int_equal(j->attempt, 2);
	assert_int_equal(j->interrupts, 1);
	assert_memory_equal(j->worker, owner_b, AQ_UUID_LEN);
	aq_job_free(j);
	/* The first claimer lost it. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(aq_done(aq, 1, owner_a, &r), AQ_NO);
	assert_int_equal(aq_done(aq, 1, owner_b, &r), AQ_OK);
}

/* A job put back after its lease ran out goes ahead of the queue. */
static void
test_lease_runs_out_goes_first(void **state)
{
	struct fx *f = *state;
	struct aq *aq;

	aq = open_env(f);
	put_job(aq, "default", 0, 0, 0);
	assert_true(claim_id(aq, owner_a, 1000) == 1);
	put_job(aq, "default", 0, 0, 0);
	sleep_until(aq_now() + 20000);
	assert_true(claim_id(aq, owner_b, 0) == 1);
	assert_true(claim_id(aq, owner_b, 0) == 2);
}

static void
check_lost(struct aq *aq, uint64_t id)
{
	struct aq_job *j = get_job(aq, id);

	if (j->state != AQ_DONE || j->outcome != AQ_OUT_LOST)
		fail_msg("job %llu is %s/%s, want done/lost",
		    (unsigned long long)id, aq_state_name(j->state),
		    aq_outcome_name(j->outcome));
	assert_int_equal(j->interrupts, 1);
	assert_int_equal(j->attempt, 1);
	assert_true(j->ended != 0);
	aq_job_free(j);
}

/* The claim that finds the run-out lease finds nothing else to claim. */
static void
test_at_most_once_lost(void **state)
{
	struct fx *f = *state;
	struct aq_overview ov;
	struct aq *aq;

	aq = open_env(f);
	put_job(aq, "default", 0, 0, AQ_JOB_AT_MOST_ONCE);
	assert_true(claim_id(aq, owner_a, 1000) == 1);
	sleep_until(aq_now() + 20000);
	assert_true(claim_id(aq, owner_b, 0) == 0);
	check_lost(aq, 1);
	assert_int_equal(aq_overview(aq, &ov), AQ_OK);
	assert_int_equal(ov.nqueues, 1);
	assert_true(ov.queues[0].active == 0);
	assert_true(ov.queues[0].done[AQ_OUT_LOST] == 1);
	aq_overview_free(&ov);
}

/* The same, with another job that the claim does return. */
static void
test_at_most_once_lost_with_other_job(void **state)
{
	struct fx *f = *state;
	struct aq *aq;

	aq = open_env(f);
	put_job(aq, "default", 0, 0, AQ_JOB_AT_MOST_ONCE);
	assert_true(claim_id(aq, owner_a, 1000) == 1);
	put_job(aq, "default", 0, 0, 0);
	sleep_until(aq_now() + 20000);
	assert_true(claim_id(aq, owner_b, 0) == 2);
	check_lost(aq, 1);
	assert_true(claim_id(aq, owner_b, 0) == 0);
}

static void
check_expired(struct aq *aq, uint64_t id)
{
	struct aq_job *j = get_job(aq, id);

	if (j->state != AQ_DONE || j->outcome != AQ_OUT_EXPIRED)
		fail_msg("job %llu is %s/%s, want done/expired",
		    (unsigned long long)id, aq_state_name(j->state),
		    aq_outcome_name(j->outcome));
	assert_int_equal(j->attempt, 0);
	assert_true(j->ended != 0);
	aq_job_free(j);
}

static void
put_with_deadline(struct aq *aq, aq_time deadline)
{
	struct aq_job j;

	job_init(&j, "default");
	j.deadline = deadline;
	assert_int_equal(aq_put(aq, &j, 1), AQ_OK);
}

/*
 * A claim ahead of need takes ordinary jobs only, and what it took can be
 * given back unrun: first in line, its attempt as before, the "started"
 * count undone; a later start time given at the end is the run's.
 */
static void
test_claim_ahead(void **state)
{
	struct fx *f = *state;
	struct aq_claim_opts o;
	struct aq_result r;
	struct aq_stats st;
	struct aq_job *j = NULL;
	aq_time later;
	struct aq *aq;

	aq = open_env(f);
	claim_opts(&o, NULL, 0, owner_a, 0);
	o.flags = AQ_CLAIM_AHEAD;
	put_job(aq, "default", 0, 0, AQ_JOB_AT_MOST_ONCE);
	put_job(aq, "default", 0, 0, 0);
	/* An at-most-once job first in line: nothing, and it stays first. */
	assert_int_equal(aq_claim(aq, &o, &j, NULL), AQ_NO);
	assert_null(j);
	assert_true(claim_id(aq, owner_a, 0) == 1);
	put_with_deadline(aq, aq_now() + 3600 * AQ_SEC);
	/* Job 2 is first now, then job 3 with its deadline. */
	assert_int_equal(aq_claim(aq, &o, &j, NULL), AQ_OK);
	assert_true(j->id == 2 && j->attempt == 1);
	aq_job_free(j);
	j = NULL;
	assert_int_equal(aq_claim(aq, &o, &j, NULL), AQ_NO);
	assert_null(j);
	assert_int_equal(aq_stats(aq, aq_now() - 60 * AQ_SEC, &st), AQ_OK);
	assert_true(st.started == 2);

	/* Given back: only by its owner, in its attempt. */
	assert_int_equal(aq_unclaim(aq, 2, owner_b, 1), AQ_NO);
	assert_int_equal(aq_unclaim(aq, 2, owner_a, 2), AQ_NO);
	assert_int_equal(aq_unclaim(aq, 42, owner_a, 1), AQ_ENOENT);
	assert_int_equal(aq_unclaim(aq, 2, NULL, 1), AQ_EINPUT);
	assert_int_equal(aq_unclaim(aq, 2, owner_a, 1), AQ_OK);
	assert_int_equal(aq_unclaim(aq, 2, owner_a, 1), AQ_NO);
	j = get_job(aq, 2);
	assert_int_equal(j->state, AQ_PENDING);
	assert_int_equal(j->attempt, 0);
	assert_int_equal(j->interrupts, 0);
	aq_job_free(j);
	assert_int_equal(aq_stats(aq, aq_now() - 60 * AQ_SEC, &st), AQ_OK);
	assert_true(st.started == 1 && st.interrupted == 0);
	/* Still ahead of job 3, which came after it. */
	assert_true(claim_id(aq, owner_a, 0) == 2);
	j = get_job(aq, 2);
	assert_int_equal(j->attempt, 1);
	later = j->started + 5 * AQ_SEC;
	aq_job_free(j);
	memset(&r, 0, sizeof(r));
	r.started = later;
	r.ended = later + AQ_SEC;
	assert_int_equal(aq_done(aq, 2, owner_a, &r), AQ_OK);
	j = get_job(aq, 2);
	assert_true(j->started == later && j->ended == later + AQ_SEC);
	aq_job_free(j);

	/* Cancelled while claimed ahead: given back, it ends cancelled. */
	assert_true(claim_id(aq, owner_a, AQ_LEASE_WORKER) == 3);
	{
		int asked = 0;

		assert_int_equal(aq_cancel(aq, 3, &asked), AQ_OK);
		assert_true(asked);
	}
	assert_int_equal(aq_unclaim(aq, 3, owner_a, 1), AQ_OK);
	j = get_job(aq, 3);
	assert_int_equal(j->state, AQ_DONE);
	assert_int_equal(j->outcome, AQ_OUT_CANCELLED);
	aq_job_free(j);
	assert_true(claim_id(aq, owner_a, 0) == 0);
}

/*
 * Ends and the next claim in one transaction: a refused end changes
 * nothing and stops nothing; nothing to claim still records the ends.
 */
static void
test_end_claim(void **state)
{
	struct fx *f = *state;
	struct aq_claim_opts o;
	struct aq_end e[3];
	struct aq_job *j = NULL;
	struct aq *aq;
	aq_time next = -1;

	aq = open_env(f);
	put_job(aq, "default", 0, 0, 0);
	put_job(aq, "default", 0, 0, 0);
	put_job(aq, "default", 0, 0, 0);
	put_job(aq, "default", 0, 0, 0);
	assert_true(claim_id(aq, owner_a, 0) == 1);
	assert_true(claim_id(aq, owner_a, 0) == 2);
	claim_opts(&o, NULL, 0, owner_a, 0);
	memset(e, 0, sizeof(e));
	e[0].id = 1;
	e[0].how = AQ_END_DONE;
	e[0].r.exit_code = 3;
	e[1].id = 42;			/* no such job */
	e[1].how = AQ_END_DONE;
	e[2].id = 2;
	e[2].how = AQ_END_UNCLAIM;
	e[2].r.attempt = 1;
	assert_int_equal(aq_end_claim(aq, owner_a, e, 3, &o, &j, &next),
	    AQ_OK);
	assert_int_equal(e[0].rc, AQ_OK);
	assert_int_equal(e[1].rc, AQ_ENOENT);
	assert_int_equal(e[2].rc, AQ_OK);
	/* Job 2 went back first in line, and is the one claimed. */
	assert_non_null(j);
	assert_true(j->id == 2 && j->attempt == 1);
	aq_job_free(j);
	j = get_job(aq, 1);
	assert_int_equal(j->outcome, AQ_OUT_FAILED);
	assert_int_equal(j->exit_code, 3);
	aq_job_free(j);

	/* Another owner's job: refused, the claim goes on. */
	memset(e, 0, sizeof(e));
	e[0].id = 2;
	e[0].how = AQ_END_INTERRUPT;
	assert_int_equal(aq_end_claim(aq, owner_b, e, 1, &o, &j, NULL), AQ_OK);
	assert_int_equal(e[0].rc, AQ_NO);
	assert_true(j != NULL && j->id == 3);
	aq_job_free(j);
	j = get_job(aq, 2);
	assert_int_equal(j->state, AQ_ACTIVE);
	aq_job_free(j);

	/* Without a claim; then an end with nothing left to claim. */
	e[0].id = 2;
	e[0].how = AQ_END_DONE;
	assert_int_equal(aq_end_claim(aq, owner_a, e, 1, NULL, NULL, NULL),
	    AQ_OK);
	assert_int_equal(e[0].rc, AQ_OK);
	assert_true(claim_id(aq, owner_a, 0) == 4);
	e[0].id = 4;
	assert_int_equal(aq_end_claim(aq, owner_a, e, 1, &o, &j, &next),
	    AQ_NO);
	assert_null(j);
	assert_int_equal(e[0].rc, AQ_OK);
	j = get_job(aq, 4);
	assert_int_equal(j->state, AQ_DONE);
	assert_int_equal(j->outcome, AQ_OUT_OK);
	aq_job_free(j);
	/* A bad queue name: nothing is written. */
	{
		static const char *const bad[] = { "no such" };

		claim_opts(&o, bad, 1, owner_a, 0);
		e[0].id = 3;
		assert_int_equal(aq_end_claim(aq, owner_a, e, 1, &o, &j,
		    NULL), AQ_EINPUT);
		assert_int_equal(e[0].rc, AQ_EINPUT);
		assert_int_equal(aq_end_claim(aq, NULL, e, 1, NULL, NULL,
		    NULL), AQ_EINPUT);
		assert_int_equal(e[0].rc, AQ_EINPUT);
		/* A claim with nowhere to put the job. */
		claim_opts(&o, NULL, 0, owner_a, 0);
		assert_int_equal(aq_end_claim(aq, owner_a, e, 1, &o, NULL,
		    NULL), AQ_EINPUT);
		assert_int_equal(e[0].rc, AQ_EINPUT);
		assert_error_mentions("no place");
		j = get_job(aq, 3);
		assert_int_equal(j->state, AQ_ACTIVE);
		aq_job_free(j);
	}
}

/* The only job has a deadline in the past: nothing is claimed. */
static void
test_deadline_expired(void **state)
{
	struct fx *f = *state;
	struct aq *aq;

	aq = open_env(f);
	put_with_deadline(aq, aq_now() - AQ_SEC);
	assert_true(claim_id(aq, owner_a, 0) == 0);
	check_expired(aq, 1);
}

static void
test_deadline_expired_with_other_job(void **state)
{
	struct fx *f = *state;
	struct aq *aq;

	aq = open_env(f);
	put_with_deadline(aq, aq_now() - AQ_SEC);
	put_with_deadline(aq, aq_now() + 3600 * AQ_SEC);
	assert_true(claim_id(aq, owner_a, 0) == 2);
	check_expired(aq, 1);
	assert_true(claim_id(aq, owner_a, 0) == 0);
}

static void
test_begin_in_future(void **state)
{
	struct fx *f = *state;
	struct aq_claim_opts o;
	struct aq_job *j;
	aq_time begin, next = 0;
	struct aq *aq;

	aq = open_env(f);
	begin = aq_now() + 100000;
	put_job(aq, "default", 0, begin, 0);
	j = get_job(aq, 1);
	assert_true(j->begin == begin);
	claim_opts(&o, NULL, 0, owner_a, 0);
	if (aq_now() >= begin)
		skip();		/* too slow a machine to tell */
	assert_int_equal(j->reason, AQ_SCHEDULED);
	aq_job_free(j);
	assert_int_equal(aq_claim(aq, &o, &j, &next), AQ_NO);
	assert_null(j);
	assert_true(next == begin);
	sleep_until(begin);
	assert_int_equal(aq_claim(aq, &o, &j, &next), AQ_OK);
	assert_true(j->id == 1);
	aq_job_free(j);
}

/* ---- reading ---- */

static void
test_get_env_cwd(void **state)
{
	char *env1[] = { S("A=1"), S("B=two words"), S("EMPTY="), NULL };
	char *env2[] = { S("OTHER=x"), NULL };
	char *argv[] = { S("sh"), S("-c"), S("echo \"$A\""), S(""), NULL };
	struct fx *f = *state;
	struct aq_job jobs[4], *j;
	struct aq *aq;
	size_t i;

	aq = open_env(f);
	for (i = 0; i < 4; i++)
		job_init(&jobs[i], "default");
	jobs[0].envp = env1;
	jobs[0].cwd = S("/tmp/some dir");
	jobs[0].name = S("first");
	jobs[0].argv = argv;
	jobs[0].timeout = 90 * AQ_SEC;
	jobs[0].retries = 3;
	jobs[0].retry_delay = 5 * AQ_SEC;
	jobs[0].priority = 7;
	jobs[1].envp = env1;		/* shares the first's environment */
	jobs[2].envp = env2;
	assert_int_equal(aq_put(aq, jobs, 4), AQ_OK);

	j = get_job(aq, 1);
	assert_non_null(j->envp);
	assert_string_equal(j->envp[0], "A=1");
	assert_string_equal(j->envp[1], "B=two words");
	assert_string_equal(j->envp[2], "EMPTY=");
	assert_null(j->envp[3]);
	assert_non_null(j->cwd);
	assert_string_equal(j->cwd, "/tmp/some dir");
	assert_string_equal(j->name, "first");
	assert_string_equal(j->argv[0], "sh");
	assert_string_equal(j->argv[2], "echo \"$A\"");
	assert_string_equal(j->argv[3], "");
	assert_null(j->argv[4]);
	assert_true(j->timeout == 90 * AQ_SEC);
	assert_int_equal(j->retries, 3);
	assert_true(j->retry_delay == 5 * AQ_SEC);
	assert_int_equal(j->priority, 7);
	aq_job_free(j);

	j = get_job(aq, 2);
	assert_non_null(j->envp);
	assert_string_equal(j->envp[1], "B=two words");
	assert_null(j->envp[3]);
	assert_null(j->cwd);
	assert_null(j->name);
	aq_job_free(j);

	j = get_job(aq, 3);
	assert_non_null(j->envp);
	assert_string_equal(j->envp[0], "OTHER=x");
	assert_null(j->envp[1]);
	aq_job_free(j);

	j = get_job(aq, 4);
	assert_null(j->envp);
	aq_job_free(j);

	/* A claim returns the environment too. */
	assert_int_equal(aq_claim(aq, &(struct aq_claim_opts){
	    .owner = { 1 } }, &j, NULL), AQ_OK);
	assert_true(j->id == 1);
	assert_non_null(j->envp);
	assert_string_equal(j->envp[0], "A=1");
	assert_string_equal(j->cwd, "/tmp/some dir");
	aq_job_free(j);
}

/*
 * A record bigger than the buffer a read starts with (4 KiB) comes back
 * whole with its environment, by aq_get() and by a claim.
 */
static void
test_get_big_record(void **state)
{
	char *env[] = { S("A=1"), S("B=2"), NULL };
	char *argv[] = { S("echo"), NULL, S("end"), NULL };
	struct fx *f = *state;
	struct aq_job jb, *j;
	struct aq *aq;
	char *big;
	int pass;

	aq = open_env(f);
	assert_non_null(big = malloc(20000));
	memset(big, 'x', 19999);
	big[19999] = '\0';
	argv[1] = big;
	job_init(&jb, "default");
	jb.argv = argv;
	jb.envp = env;
	assert_int_equal(aq_put(aq, &jb, 1), AQ_OK);
	for (pass = 0; pass < 2; pass++) {
		if (pass == 0)
			j = get_job(aq, 1);
		else
			assert_int_equal(aq_claim(aq, &(struct aq_claim_opts){
			    .owner = { 1 } }, &j, NULL), AQ_OK);
		assert_true(j->id == 1);
		assert_string_equal(j->argv[0], "echo");
		assert_string_equal(j->argv[1], big);
		assert_string_equal(j->argv[2], "end");
		assert_null(j->argv[3]);
		assert_non_null(j->envp);
		assert_string_equal(j->envp[0], "A=1");
		assert_string_equal(j->envp[1], "B=2");
		assert_null(j->envp[2]);
		aq_job_free(j);
	}
	free(big);
}

/* An empty environment comes back empty, not as "none" (NULL). */
static void
test_get_empty_env(void **state)
{
	char *none[] = { NULL };
	struct fx *f = *state;
	struct aq_job jb, *j;
	struct aq *aq;

	aq = open_env(f);
	job_init(&jb, "default");
	jb.envp = none;
	assert_int_equal(aq_put(aq, &jb, 1), AQ_OK);
	j = get_job(aq, 1);
	assert_non_null(j->envp);
	assert_null(j->envp[0]);
	aq_job_free(j);
}

static void
test_get_missing(void **state)
{
	struct fx *f = *state;
	struct aq_job *j = (struct aq_job *)&j;
	struct aq *aq;

	aq = open_env(f);
	assert_int_equal(aq_get(aq, 1, &j), AQ_ENOENT);
	assert_null(j);
	assert_error_mentions("'1'");
	put_job(aq, "default", 0, 0, 0);
	assert_int_equal(aq_get(aq, 0, &j), AQ_ENOENT);
	assert_int_equal(aq_get(aq, 2, &j), AQ_ENOENT);
	assert_int_equal(aq_get(aq, UINT64_MAX, &j), AQ_ENOENT);
}

struct seen {
	uint64_t	 ids[64];
	size_t		 n;
	size_t		 stop_at;	/* 0: never */
	int		 ret;
};

static int
collect(const struct aq_job *j, void *arg)
{
	struct seen *s = arg;

	if (s->n < 64)
		s->ids[s->n] = j->id;
	s->n++;
	if (s->stop_at != 0 && s->n == s->stop_at)
		return s->ret;
	return 0;
}

static void
assert_seen(const struct seen *s, const uint64_t *want, size_t n)
{
	size_t i;

	if (s->n != n)
		fail_msg("aq_list visited %zu jobs, want %zu", s->n, n);
	for (i = 0; i < n; i++)
		if (s->ids[i] != want[i])
			fail_msg("aq_list job %zu is %llu, want %llu", i,
			    (unsigned long long)s->ids[i],
			    (unsigned long long)want[i]);
}

static void
test_list(void **state)
{
	static const uint64_t all[] = { 1, 2, 3, 4, 5, 6 };
	static const uint64_t q1[] = { 1, 3, 5 };
	static const uint64_t pending[] = { 2, 4, 5, 6 };
	static const uint64_t q1pending[] = { 5 };
	static const uint64_t active[] = { 3 };
	static const uint64_t done[] = { 1 };
	struct fx *f = *state;
	struct aq_filter flt;
	struct aq_result r;
	struct seen s;
	struct aq *aq;

	aq = open_env(f);
	put_job(aq, "q1", 0, 0, 0);				/* 1: done */
	put_job(aq, "q2", 0, 0, 0);				/* 2 */
	put_job(aq, "q1", 0, 0, 0);				/* 3: active */
	put_job(aq, "q2", 0, 0, 0);				/* 4 */
	put_job(aq, "q1", 0, 0, AQ_JOB_HOLD);			/* 5 */
	put_job(aq, "q3", 0, aq_now() + 3600 * AQ_SEC, 0);	/* 6 */
	{
		static const char *const qs[] = { "q1" };
		struct aq_claim_opts o;
		struct aq_job *j;

		claim_opts(&o, qs, 1, owner_a, 0);
		assert_int_equal(aq_claim(aq, &o, &j, NULL), AQ_OK);
		assert_true(j->id == 1);
		aq_job_free(j);
		assert_int_equal(aq_claim(aq, &o, &j, NULL), AQ_OK);
		assert_true(j->id == 3);
		aq_job_free(j);
	}
	memset(&r, 0, sizeof(r));
	assert_int_equal(aq_done(aq, 1, owner_a, &r), AQ_OK);

	memset(&s, 0, sizeof(s));
	assert_int_equal(aq_list(aq, NULL, collect, &s), AQ_OK);
	assert_seen(&s, all, 6);

	flt.queue = NULL;
	flt.state = -1;
	memset(&s, 0, sizeof(s));
	assert_int_equal(aq_list(aq, &flt, collect, &s), AQ_OK);
	assert_seen(&s, all, 6);

	flt.queue = "q1";
	memset(&s, 0, sizeof(s));
	assert_int_equal(aq_list(aq, &flt, collect, &s), AQ_OK);
	assert_seen(&s, q1, 3);

	flt.queue = NULL;
	flt.state = AQ_PENDING;
	memset(&s, 0, sizeof(s));
	assert_int_equal(aq_list(aq, &flt, collect, &s), AQ_OK);
	assert_seen(&s, pending, 4);

	flt.state = AQ_ACTIVE;
	memset(&s, 0, sizeof(s));
	assert_int_equal(aq_list(aq, &flt, collect, &s), AQ_OK);
	assert_seen(&s, active, 1);

	flt.state = AQ_DONE;
	memset(&s, 0, sizeof(s));
	assert_int_equal(aq_list(aq, &flt, collect, &s), AQ_OK);
	assert_seen(&s, done, 1);

	flt.queue = "q1";
	flt.state = AQ_PENDING;
	memset(&s, 0, sizeof(s));
	assert_int_equal(aq_list(aq, &flt, collect, &s), AQ_OK);
	assert_seen(&s, q1pending, 1);

	flt.queue = "nosuch";
	flt.state = -1;
	memset(&s, 0, sizeof(s));
	assert_int_equal(aq_list(aq, &flt, collect, &s), AQ_OK);
	assert_seen(&s, NULL, 0);

	/* A non-zero return stops the walk and is returned. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 3;
	s.ret = 42;
	assert_int_equal(aq_list(aq, NULL, collect, &s), 42);
	assert_seen(&s, all, 3);
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	s.ret = -1;
	assert_int_equal(aq_list(aq, NULL, collect, &s), -1);
	assert_seen(&s, all, 1);
}

static int
check_listed_job(const struct aq_job *j, void *arg)
{
	(void)arg;
	if (j->id == 2) {
		assert_string_equal(j->queue, "q2");
		assert_string_equal(j->argv[0], "true");
		assert_null(j->argv[1]);
		assert_int_equal(j->state, AQ_PENDING);
		assert_int_equal(j->reason, AQ_HELD);
	}
	if (j->id == 3)
		assert_int_equal(j->reason, AQ_SCHEDULED);
	return 0;
}

static void
test_list_job_fields(void **state)
{
	struct fx *f = *state;
	struct aq *aq;

	aq = open_env(f);
	assert_int_equal(aq_list(aq, NULL, check_listed_job, NULL), AQ_OK);
	put_job(aq, "q1", 0, 0, 0);
	put_job(aq, "q2", 0, 0, AQ_JOB_HOLD);
	put_job(aq, "q2", 0, aq_now() + 3600 * AQ_SEC, 0);
	assert_int_equal(aq_list(aq, NULL, check_listed_job, NULL), AQ_OK);
}

static const struct aq_queue_stat *
find_queue(const struct aq_overview *ov, const char *name)
{
	size_t i;

	for (i = 0; i < ov->nqueues; i++)
		if (strcmp(ov->queues[i].name, name) == 0)
			return &ov->queues[i];
	fail_msg("queue '%s' not in the overview", name);
	return NULL;
}

static void
test_overview(void **state)
{
	static const char *const qs[] = { "q2" };
	struct fx *f = *state;
	const struct aq_queue_stat *q;
	struct aq_claim_opts o;
	struct aq_overview ov;
	struct aq_result r;
	struct aq_job *j;
	struct aq *aq;
	size_t k;

	aq = open_env(f);
	assert_int_equal(aq_overview(aq, &ov), AQ_OK);
	assert_int_equal(ov.nqueues, 0);
	aq_overview_free(&ov);

	put_job(aq, "q1", 0, 0, 0);				/* 1 ready */
	put_job(aq, "q1", 0, 0, 0);				/* 2 ready */
	put_job(aq, "q1", 0, 0, AQ_JOB_HOLD);			/* 3 held */
	put_job(aq, "q1", 0, aq_now() + 3600 * AQ_SEC, 0);	/* 4 sched */
	put_job(aq, "q2", 0, 0, 0);				/* 5 active */
	put_job(aq, "q2", 0, 0, 0);				/* 6 ok */
	put_job(aq, "q2", 0, 0, 0);				/* 7 failed */
	claim_opts(&o, qs, 1, owner_a, 0);
	for (k = 5; k <= 7; k++) {
		assert_int_equal(aq_claim(aq, &o, &j, NULL), AQ_OK);
		assert_true(j->id == k);
		aq_job_free(j);
	}
	memset(&r, 0, sizeof(r));
	assert_int_equal(aq_done(aq, 6, NULL, &r), AQ_OK);
	r.exit_code = 1;
	assert_int_equal(aq_done(aq, 7, NULL, &r), AQ_OK);

	assert_int_equal(aq_overview(aq, &ov), AQ_OK);
	assert_int_equal(ov.nqueues, 2);
	q = find_queue(&ov, "q1");
	assert_true(q->pending[AQ_READY] == 2);
	assert_true(q->pending[AQ_HELD] == 1);
	assert_true(q->pending[AQ_SCHEDULED] == 1);
	assert_true(q->pending[AQ_BLOCKED] == 0);
	assert_true(q->pending[AQ_QUOTA] == 0);
	assert_true(q->active == 0);
	for (k = 0; k < AQ_NOUTCOMES; k++)
		assert_true(q->done[k] == 0);
	q = find_queue(&ov, "q2");
	for (k = 0; k < AQ_NREASONS; k++)
		assert_true(q->pending[k] == 0);
	assert_true(q->active == 1);
	assert_true(q->done[AQ_OUT_OK] == 1);
	assert_true(q->done[AQ_OUT_FAILED] == 1);
	assert_true(q->done[AQ_OUT_LOST] == 0);
	aq_overview_free(&ov);
	assert_null(ov.queues);
	assert_int_equal(ov.nqueues, 0);
}

static int
count_in_order(const struct aq_job *j, void *arg)
{
	uint64_t *n = arg;

	if (j->id != *n + 1)
		return 1000;
	(*n)++;
	return 0;
}

static int
count_odd(const struct aq_job *j, void *arg)
{
	uint64_t *n = arg;

	if (j->id % 2 != 0 || strcmp(j->queue, "odd") != 0)
		return 1000;
	(*n)++;
	return 0;
}

static void
test_put_1000(void **state)
{
	struct fx *f = *state;
	const struct aq_queue_stat *q;
	struct aq_overview ov;
	struct aq_job *jobs;
	struct aq_filter flt;
	uint64_t n = 0;
	struct aq *aq;
	size_t i;

	aq = open_env(f);
	jobs = calloc(1000, sizeof(*jobs));
	assert_non_null(jobs);
	for (i = 0; i < 1000; i++) {
		job_init(&jobs[i], i % 2 ? "odd" : "even");
		jobs[i].priority = (int32_t)(i % 7);
	}
	assert_int_equal(aq_put(aq, jobs, 1000), AQ_OK);
	for (i = 0; i < 1000; i++)
		assert_true(jobs[i].id == i + 1);
	free(jobs);

	assert_int_equal(aq_overview(aq, &ov), AQ_OK);
	assert_int_equal(ov.nqueues, 2);
	q = find_queue(&ov, "even");
	assert_true(q->pending[AQ_READY] == 500);
	q = find_queue(&ov, "odd");
	assert_true(q->pending[AQ_READY] == 500);
	aq_overview_free(&ov);

	/* Listed in id order across the walk's chunks. */
	assert_int_equal(aq_list(aq, NULL, count_in_order, &n), AQ_OK);
	assert_true(n == 1000);
	flt.queue = "odd";
	flt.state = AQ_PENDING;
	n = 0;
	assert_int_equal(aq_list(aq, &flt, count_odd, &n), AQ_OK);
	assert_true(n == 500);
}

/* ---- workers, retries, statistics (aq-run's part of libaq) ---- */

static void
worker_init(struct aq_worker *w, const unsigned char *uuid,
    const char *const *queues, int64_t death)
{
	memset(w, 0, sizeof(*w));
	memcpy(w->uuid, uuid, AQ_UUID_LEN);
	w->slots = 2;
	w->queues = queues;
	w->poll_interval = 5 * AQ_SEC;
	w->ping_interval = 30 * AQ_SEC;
	w->death_interval = death;
}

static uint64_t
worker_claim(struct aq *aq, const unsigned char *owner)
{
	return claim_id(aq, owner, AQ_LEASE_WORKER);
}

static void
test_worker_start_list(void **state)
{
	static const char *const qs[] = { "q1", "q2", NULL };
	struct aq *aq = open_env(*state);
	struct aq_worker w, **ws;
	size_t n, taken = 99;

	worker_init(&w, owner_a, qs, 60 * AQ_SEC);
	assert_int_equal(aq_worker_start(aq, &w, &taken), AQ_OK);
	assert_true(taken == 0);
	assert_true(w.pid == getpid());
	assert_true(w.pidstart > 0);
	put_job(aq, "default", 0, 0, 0);
	assert_true(worker_claim(aq, owner_a) == 1);
	assert_int_equal(aq_workers(aq, &ws, &n), AQ_OK);
	assert_true(n == 1);
	assert_memory_equal(ws[0]->uuid, owner_a, AQ_UUID_LEN);
	assert_int_equal(ws[0]->state, AQ_WORKER_RUNNING);
	assert_int_equal(ws[0]->slots, 2);
	assert_string_equal(ws[0]->queues[0], "q1");
	assert_string_equal(ws[0]->queues[1], "q2");
	assert_null(ws[0]->queues[2]);
	assert_true(ws[0]->nactive == 1 && ws[0]->active[0] == 1);
	assert_string_equal(ws[0]->host, w.host);
	aq_workers_free(ws, n);
	assert_int_equal(aq_worker_stop(aq, &w), AQ_OK);
	assert_int_equal(aq_workers(aq, &ws, &n), AQ_OK);
	assert_int_equal(ws[0]->state, AQ_WORKER_STOPPED);
	assert_true(ws[0]->ended > 0);
	aq_workers_free(ws, n);
	assert_string_equal(aq_worker_state_name(AQ_WORKER_DEAD), "DEAD");
}

static void
test_worker_restart_takes_over(void **state)
{
	struct aq *aq = open_env(*state);
	struct aq_worker w;
	struct aq_job *j;
	size_t taken = 0;

	worker_init(&w, owner_a, NULL, 60 * AQ_SEC);
	assert_int_equal(aq_worker_start(aq, &w, NULL), AQ_OK);
	put_job(aq, "default", 0, 0, 0);
	assert_true(worker_claim(aq, owner_a) == 1);
	/* The same UUID starting again takes its job back at once. */
	assert_int_equal(aq_worker_start(aq, &w, &taken), AQ_OK);
	assert_true(taken == 1);
	j = get_job(aq, 1);
	assert_int_equal(j->state, AQ_PENDING);
	assert_int_equal(j->interrupts, 1);
	aq_job_free(j);
	assert_true(worker_claim(aq, owner_a) == 1);
}

static void
test_worker_death_by_ping_age(void **state)
{
	struct aq *aq = open_env(*state);
	struct aq_worker w, **ws;
	size_t n, dead = 0, jobs = 0;
	struct aq_job *j;

	/* A death interval of 1 us: dead as soon as time moves. */
	worker_init(&w, owner_a, NULL, 1);
	assert_int_equal(aq_worker_start(aq, &w, NULL), AQ_OK);
	put_job(aq, "default", 0, 0, 0);
	put_job(aq, "default", 0, 0, AQ_JOB_AT_MOST_ONCE);
	assert_true(worker_claim(aq, owner_a) == 1);
	assert_true(worker_claim(aq, owner_a) == 2);
	sleep_until(aq_now() + 2000);
	assert_int_equal(aq_reap(aq, &dead, &jobs), AQ_OK);
	assert_true(dead == 1 && jobs == 2);
	j = get_job(aq, 1);
	assert_int_equal(j->state, AQ_PENDING);
	aq_job_free(j);
	j = get_job(aq, 2);
	assert_int_equal(j->outcome, AQ_OUT_LOST);
	aq_job_free(j);
	assert_int_equal(aq_workers(aq, &ws, &n), AQ_OK);
	assert_int_equal(ws[0]->state, AQ_WORKER_DEAD);
	assert_true(ws[0]->nactive == 0);
	aq_workers_free(ws, n);
	/* Nothing left to reap: no write. */
	assert_int_equal(aq_reap(aq, &dead, &jobs), AQ_OK);
	assert_true(dead == 0 && jobs == 0);
	/* It pings: it learns it was judged dead and is registered again. */
	assert_int_equal(aq_worker_ping(aq, &w, aq_now()), AQ_NO);
	assert_int_equal(aq_workers(aq, &ws, &n), AQ_OK);
	assert_int_equal(ws[0]->state, AQ_WORKER_DEAD);	/* judged again */
	aq_workers_free(ws, n);
}

static void
test_done_needs_the_claim(void **state)
{
	struct aq *aq = open_env(*state);
	struct aq_result r;
	struct aq_job *j;

	put_job(aq, "default", 0, 0, 0);
	assert_true(worker_claim(aq, owner_a) == 1);
	memset(&r, 0, sizeof(r));
	/* A worker's job: not by anyone, not in another attempt. */
	assert_int_equal(aq_done(aq, 1, NULL, &r), AQ_NO);
	r.attempt = 2;
	assert_int_equal(aq_done(aq, 1, owner_a, &r), AQ_NO);
	assert_int_equal(aq_done(aq, 1, owner_b, &r), AQ_NO);
	r.attempt = 1;
	r.ended = aq_now() - AQ_SEC;
	assert_int_equal(aq_done(aq, 1, owner_a, &r), AQ_OK);
	j = get_job(aq, 1);
	assert_int_equal(j->outcome, AQ_OUT_OK);
	assert_true(j->ended == r.ended);
	assert_true(j->lease == 0);
	aq_job_free(j);
}

static void
test_interrupt(void **state)
{
	struct aq *aq = open_env(*state);
	struct aq_job *j;

	put_job(aq, "default", 0, 0, 0);
	assert_true(worker_claim(aq, owner_a) == 1);
	assert_int_equal(aq_interrupt(aq, 1, owner_b, 0), AQ_NO);
	assert_int_equal(aq_interrupt(aq, 1, owner_a, 2), AQ_NO);
	assert_int_equal(aq_interrupt(aq, 1, owner_a, 1), AQ_OK);
	j = get_job(aq, 1);
	assert_int_equal(j->state, AQ_PENDING);
	assert_int_equal(j->interrupts, 1);
	aq_job_free(j);
	assert_int_equal(aq_interrupt(aq, 1, owner_a, 0), AQ_NO);
	assert_int_equal(aq_interrupt(aq, 9, owner_a, 0), AQ_ENOENT);
	assert_true(worker_claim(aq, owner_b) == 1);
	assert_int_equal(aq_interrupt(aq, 1, NULL, 0), AQ_OK);
}

static void
test_retries(void **state)
{
	struct aq *aq = open_env(*state);
	struct aq_result r;
	struct aq_job j0, *j;
	aq_time t;
	int k;

	job_init(&j0, "default");
	j0.retries = 2;
	j0.retry_delay = 1000;	/* 1 ms, then 2 ms */
	assert_int_equal(aq_put(aq, &j0, 1), AQ_OK);
	memset(&r, 0, sizeof(r));
	r.exit_code = 3;
	for (k = 1; k <= 3; k++) {
		t = aq_now();
		while (worker_claim(aq, owner_a) != 1) {
			assert_true(aq_now() - t < 5 * AQ_SEC);
			sleep_until(aq_now() + 500);
		}
		r.attempt = k;
		assert_int_equal(aq_done(aq, 1, owner_a, &r), AQ_OK);
		j = get_job(aq, 1);
		assert_int_equal(j->failures, k);
		assert_int_equal(j->attempt, k);
		assert_int_equal(j->state, k < 3 ? AQ_PENDING : AQ_DONE);
		if (k < 3)
			assert_int_equal(j->reason, j->begin > aq_now() ?
			    AQ_SCHEDULED : AQ_READY);
		assert_int_equal(j->outcome, AQ_OUT_FAILED);
		aq_job_free(j);
	}
}

static void
test_stats(void **state)
{
	struct aq *aq = open_env(*state);
	struct aq_result r;
	struct aq_stats st;

	put_job(aq, "default", 0, 0, 0);
	put_job(aq, "default", 0, 0, 0);
	put_job(aq, "default", 0, 0, AQ_JOB_AT_MOST_ONCE);
	memset(&r, 0, sizeof(r));
	/*
	 * The run times are the worker's to give, as aq-run gives them: left
	 * to the commits' times, a slow fsync of the first claim (a loaded
	 * disk) made job 1 the longest.
	 */
	assert_true(worker_claim(aq, owner_a) == 1);
	r.started = aq_now();
	r.ended = r.started + 1;
	assert_int_equal(aq_done(aq, 1, owner_a, &r), AQ_OK);
	assert_true(worker_claim(aq, owner_a) == 2);
	r.started = aq_now();
	sleep_until(r.started + 3000);
	r.ended = aq_now();
	r.signal = 9;
	assert_int_equal(aq_done(aq, 2, owner_a, &r), AQ_OK);
	assert_true(worker_claim(aq, owner_a) == 3);
	assert_int_equal(aq_interrupt(aq, 3, owner_a, 0), AQ_OK);
	assert_int_equal(aq_stats(aq, aq_now() - 60 * AQ_SEC, &st), AQ_OK);
	assert_true(st.started == 3);
	assert_true(st.ended[AQ_OUT_OK] == 1);
	assert_true(st.ended[AQ_OUT_FAILED] == 1);
	assert_true(st.ended[AQ_OUT_LOST] == 1);
	assert_true(st.interrupted == 1);
	assert_true(st.shortest_id == 1 && st.longest_id == 2);
	assert_true(st.shortest == 1 && st.longest >= 3000);
	/* A window that starts later sees nothing. */
	assert_int_equal(aq_stats(aq, aq_now() + 120 * AQ_SEC, &st), AQ_OK);
	assert_true(st.started == 0 && st.shortest == -1);
}

static void
test_wait_and_status(void **state)
{
	struct aq *aq = open_env(*state);
	struct aq_result r;
	uint64_t ids[2] = { 1, 2 };
	struct aq_job j;

	put_job(aq, "default", 0, 0, 0);
	put_job(aq, "default", 0, 0, 0);
	assert_int_equal(aq_wait(aq, ids, 2, 10000), AQ_NO);
	ids[1] = 7;
	assert_int_equal(aq_wait(aq, ids, 2, -1), AQ_ENOENT);
	memset(&r, 0, sizeof(r));
	assert_true(worker_claim(aq, owner_a) == 1);
	assert_int_equal(aq_done(aq, 1, owner_a, &r), AQ_OK);
	assert_int_equal(aq_wait(aq, ids, 1, 0), AQ_OK);

	memset(&j, 0, sizeof(j));
	assert_int_equal(aq_job_status(&j), -1);
	j.state = AQ_DONE;
	j.outcome = AQ_OUT_OK;
	assert_int_equal(aq_job_status(&j), 0);
	j.outcome = AQ_OUT_FAILED;
	j.exit_code = 3;
	assert_int_equal(aq_job_status(&j), 3);
	j.signal = 9;
	assert_int_equal(aq_job_status(&j), 137);
	j.outcome = AQ_OUT_TIMEOUT;
	assert_int_equal(aq_job_status(&j), 124);
	j.outcome = AQ_OUT_LOST;
	assert_int_equal(aq_job_status(&j), 1);
}

int
main(void)
{
#define T(t)	cmocka_unit_test_setup_teardown(t, setup, scratch_teardown)
	const struct CMUnitTest tests[] = {
		T(test_open_newer_format),
		T(test_open_creates),
		T(test_open_creates_parents),
		T(test_open_missing),
		T(test_open_empty_dir_without_create),
		T(test_open_regular_file),
		T(test_open_world_writable),
		T(test_open_setgid_group),
		T(test_open_twice),
		T(test_open_default_home),
		cmocka_unit_test(test_default_home),
		cmocka_unit_test(test_close_null),
		T(test_put_ids),
		T(test_put_default_queue),
		T(test_put_empty_argv),
		T(test_put_bad_names),
		T(test_put_zero_jobs),
		T(test_claim_order),
		T(test_claim_sets_lease),
		T(test_claim_empty),
		T(test_claim_bad_queue),
		T(test_claim_skips_held),
		T(test_claim_wait),
		T(test_deferred_wake),
		T(test_done),
		T(test_claim_ahead),
		T(test_end_claim),
		T(test_done_outcomes),
		T(test_done_other_owner),
		T(test_release),
		T(test_release_with_delay),
		T(test_touch),
		T(test_touch_keeps_job),
		T(test_lease_runs_out),
		T(test_lease_runs_out_goes_first),
		T(test_at_most_once_lost),
		T(test_at_most_once_lost_with_other_job),
		T(test_deadline_expired),
		T(test_deadline_expired_with_other_job),
		T(test_begin_in_future),
		T(test_get_env_cwd),
		T(test_get_big_record),
		T(test_get_empty_env),
		T(test_get_missing),
		T(test_list),
		T(test_list_job_fields),
		T(test_overview),
		T(test_put_1000),
		T(test_worker_start_list),
		T(test_worker_restart_takes_over),
		T(test_worker_death_by_ping_age),
		T(test_done_needs_the_claim),
		T(test_interrupt),
		T(test_retries),
		T(test_stats),
		T(test_wait_and_status),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
