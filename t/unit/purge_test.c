/*
 * purge_test.c: unit tests of retention (lib/purge.c).  Jobs are ended
 * with end times in the past (aq_result.ended), so no test sleeps.  What
 * is checked: only old jobs go; everything about a job goes with it (its
 * record, history, notes, children entries, output file, its share of a
 * stored environment); a job others depend on stays until they go; a
 * purge works in batches and says when more is left.
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
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aq.h"
#include "internal.h"
#include "scratch.h"

#define S(s)	((char *)(s))

struct fx {
	struct scratch	 s;
	aq_time		 now;
};

static char *argv_true[] = { S("true"), NULL };
static char *env_one[] = { S("A=1"), NULL };
static char *env_two[] = { S("B=2"), NULL };

static int
setup(void **state)
{
	struct fx *f;

	if (scratch_setup(state, sizeof(*f), "purge", 1) == -1)
		return -1;
	f = *state;
	f->now = aq_now();
	return 0;
}


/* ---- helpers ---- */

static uint64_t
put_full(struct fx *f, char **envp, uint64_t after, uint64_t parent,
    unsigned flags)
{
	struct aq_dep dep;
	struct aq_job j;
	int rc;

	memset(&j, 0, sizeof(j));
	j.argv = argv_true;
	j.envp = envp;
	if (after != 0) {
		dep.id = after;
		dep.any = 0;
		j.after = &dep;
		j.nafter = 1;
	}
	j.parent = parent;
	j.flags = flags;
	if ((rc = aq_put(f->s.aq, &j, 1)) != AQ_OK)
		fail_msg("aq_put = %d: %s", rc, aq_error());
	return j.id;
}

static uint64_t
put(struct fx *f)
{
	return put_full(f, env_one, 0, 0, 0);
}

/* Claim the next job, which must be id. */
static void
claim(struct fx *f, uint64_t id)
{
	struct aq_claim_opts o;
	struct aq_job *j;
	int rc;

	memset(&o, 0, sizeof(o));
	o.owner[0] = 1;
	if ((rc = aq_claim(f->s.aq, &o, &j, NULL)) != AQ_OK)
		fail_msg("aq_claim = %d: %s", rc, aq_error());
	assert_int_equal(j->id, id);
	aq_job_free(j);
}

/* End active job id ok, ago usec before the fixture's now. */
static void
done(struct fx *f, uint64_t id, int64_t ago)
{
	struct aq_result r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.exit_code = 0;
	r.ended = f->now - ago;
	if ((rc = aq_done(f->s.aq, id, NULL, &r)) != AQ_OK)
		fail_msg("aq_done(%llu) = %d: %s", (unsigned long long)id, rc,
		    aq_error());
}

static uint64_t
run(struct fx *f, int64_t ago)
{
	uint64_t id = put(f);

	claim(f, id);
	done(f, id, ago);
	return id;
}

static int
exists(struct fx *f, uint64_t id)
{
	struct aq_job *j;
	int rc;

	if ((rc = aq_get(f->s.aq, id, &j)) == AQ_ENOENT)
		return 0;
	if (rc != AQ_OK)
		fail_msg("aq_get = %d: %s", rc, aq_error());
	aq_job_free(j);
	return 1;
}

struct count_arg {
	unsigned char	 type;
	size_t		 n;
};

static int
count_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct count_arg *a = arg;
	unsigned char k[AQ__ANYKEY_MAX];
	DBT key, data;
	DBC *c;
	u_int32_t flag = DB_SET_RANGE;
	int ret;

	a->n = 0;
	if ((ret = aq->db->cursor(aq->db, txn, &c, 0)) != 0)
		return ret;
	k[0] = a->type;
	aq__dbt_buf(&key, k, 1, sizeof(k));
	aq__dbt_part(&data, NULL, 0);
	while ((ret = c->get(c, &key, &data, flag)) == 0 && k[0] == a->type) {
		a->n++;
		flag = DB_NEXT;
	}
	c->close(c);
	return ret == 0 || ret == DB_NOTFOUND ? 0 : ret;
}

/* How many keys of aq.db start with type. */
static size_t
keys(struct fx *f, unsigned char type)
{
	struct count_arg a;

	a.type = type;
	if (aq__run(f->s.aq, count_op, &a, 0) != AQ_OK)
		fail_msg("count: %s", aq_error());
	return a.n;
}

static size_t
purge(struct fx *f, aq_time before, size_t max, int *more)
{
	size_t n;
	int rc, m;

	if ((rc = aq_purge(f->s.aq, before, max, &n, &m)) != AQ_OK)
		fail_msg("aq_purge = %d: %s", rc, aq_error());
	if (more != NULL)
		*more = m;
	return n;
}

/* ---- tests ---- */

/* Only jobs that ended before the cut-off go; running and pending stay. */
static void
test_only_old(void **state)
{
	struct fx *f = *state;
	uint64_t old, young, active, pending;
	int more;

	old = run(f, 10 * AQ_SEC);
	young = run(f, 1 * AQ_SEC);
	active = put(f);
	claim(f, active);
	pending = put(f);
	assert_int_equal(purge(f, f->now - 5 * AQ_SEC, 64, &more), 1);
	assert_int_equal(more, 0);
	assert_false(exists(f, old));
	assert_true(exists(f, young));
	assert_true(exists(f, active));
	assert_true(exists(f, pending));
	/* Nothing more to do: a second pass finds nothing. */
	assert_int_equal(purge(f, f->now - 5 * AQ_SEC, 64, &more), 0);
	assert_int_equal(more, 0);
	assert_int_equal(purge(f, f->now + AQ_SEC, 64, &more), 1);
	assert_false(exists(f, young));
	assert_true(exists(f, active));
	assert_true(exists(f, pending));
}

/* History, notes and the output file go with the job. */
static void
test_everything_goes(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 32];
	uint64_t id, other;
	int fd;

	id = put(f);
	claim(f, id);
	assert_int_equal(aq_note_set(f->s.aq, id, "progress", "50%"), AQ_OK);
	fd = aq_output_open(f->s.aq, id);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "hello\n", 6), 6);
	close(fd);
	done(f, id, 10 * AQ_SEC);
	other = run(f, 10 * AQ_SEC);
	assert_int_equal(aq_note_set(f->s.aq, other, "k", "v"), AQ_OK);
	assert_int_equal(keys(f, K_HISTORY), 2);
	assert_int_equal(keys(f, K_NOTE), 2);
	assert_int_equal(keys(f, K_FINISHED), 2);
	aq_output_path(f->s.aq, id, path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);

	assert_int_equal(purge(f, f->now, 1, NULL), 1);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(keys(f, K_HISTORY), 1);
	assert_int_equal(keys(f, K_NOTE), 1);
	assert_int_equal(keys(f, K_FINISHED), 1);
	assert_true(exists(f, other));
	assert_int_equal(purge(f, f->now, 1, NULL), 1);
	assert_int_equal(keys(f, K_HISTORY), 0);
	assert_int_equal(keys(f, K_NOTE), 0);
	assert_int_equal(keys(f, K_FINISHED), 0);
	assert_int_equal(keys(f, K_JOB), 0);
}

/* A stored environment goes with the last job that uses it. */
static void
test_environment_shared(void **state)
{
	struct fx *f = *state;
	uint64_t a, b, c;

	a = run(f, 10 * AQ_SEC);
	b = put_full(f, env_two, 0, 0, 0);
	claim(f, b);
	done(f, b, 9 * AQ_SEC);
	c = put(f);			/* env_one again, pending */
	assert_int_equal(keys(f, K_ENVBLOB), 2);
	assert_int_equal(keys(f, K_ENVREFS), 2);
	assert_int_equal(purge(f, f->now, 64, NULL), 2);
	assert_false(exists(f, a));
	/* env_one is still c's; env_two went with b. */
	assert_int_equal(keys(f, K_ENVBLOB), 1);
	assert_int_equal(keys(f, K_ENVREFS), 1);
	claim(f, c);
	done(f, c, 0);
	assert_int_equal(purge(f, f->now + AQ_SEC, 64, NULL), 1);
	assert_int_equal(keys(f, K_ENVBLOB), 0);
	assert_int_equal(keys(f, K_ENVREFS), 0);
}

/* A job others depend on stays until they go, then goes along. */
static void
test_dependents_first(void **state)
{
	struct fx *f = *state;
	struct aq_change c;
	uint64_t a, b, other;
	int more;

	a = run(f, 10 * AQ_SEC);
	/* Resolved at once, and held: pending while the others run. */
	b = put_full(f, env_one, a, 0, AQ_JOB_HOLD);
	other = run(f, 8 * AQ_SEC);
	assert_int_equal(purge(f, f->now, 64, &more), 1);
	assert_true(exists(f, a));
	assert_false(exists(f, other));
	assert_true(exists(f, b));
	memset(&c, 0, sizeof(c));
	c.what = AQ_CHANGE_RELEASE;
	assert_int_equal(aq_change(f->s.aq, &b, 1, &c), AQ_OK);
	claim(f, b);
	done(f, b, 5 * AQ_SEC);
	/* b is old enough, and a goes with it. */
	assert_int_equal(purge(f, f->now - 2 * AQ_SEC, 64, &more), 2);
	assert_int_equal(more, 0);
	assert_false(exists(f, a));
	assert_false(exists(f, b));
	assert_int_equal(keys(f, K_FINISHED), 0);
}

/* Children go with their entries in the parent's list. */
static void
test_children(void **state)
{
	struct fx *f = *state;
	uint64_t parent, child, *kids;
	size_t n;

	parent = put(f);
	claim(f, parent);
	child = put_full(f, env_one, 0, parent, 0);
	done(f, parent, 10 * AQ_SEC);	/* waits for its child */
	claim(f, child);
	done(f, child, 10 * AQ_SEC);
	assert_int_equal(keys(f, K_CHILD), 1);
	assert_int_equal(aq_children(f->s.aq, parent, &kids, &n), AQ_OK);
	assert_int_equal(n, 1);
	free(kids);
	/* The child ended first (by its record's time): it goes alone. */
	assert_int_equal(purge(f, f->now, 1, NULL), 1);
	assert_false(exists(f, child));
	assert_true(exists(f, parent));
	assert_int_equal(keys(f, K_CHILD), 0);
	/* The parent ended when its child did, now. */
	assert_int_equal(purge(f, aq_now() + AQ_SEC, 1, NULL), 1);
	assert_false(exists(f, parent));
}

/* Many old jobs go in batches of max; *more says when to go on. */
static void
test_batches(void **state)
{
	struct fx *f = *state;
	size_t total = 0, n, calls = 0;
	int more, i;

	for (i = 0; i < 150; i++)
		run(f, 10 * AQ_SEC);
	do {
		n = purge(f, f->now, 64, &more);
		assert_true(n <= 64);
		total += n;
		calls++;
	} while (more && calls < 10);
	assert_int_equal(total, 150);
	assert_int_equal(calls, 3);
	assert_int_equal(keys(f, K_JOB), 0);
	assert_int_equal(keys(f, K_FINISHED), 0);
}

/* A job kept back is not what stops a pass: the ones behind it go. */
static void
test_kept_is_passed(void **state)
{
	struct fx *f = *state;
	uint64_t a, b;
	size_t total = 0, calls = 0;
	int more, i;

	a = run(f, 20 * AQ_SEC);
	b = put_full(f, env_one, a, 0, AQ_JOB_HOLD);
	(void)b;
	for (i = 0; i < 100; i++)
		run(f, 10 * AQ_SEC);
	do {
		total += purge(f, f->now, 16, &more);
		calls++;
	} while (more && calls < 20);
	assert_int_equal(total, 100);
	assert_true(exists(f, a));
	assert_int_equal(keys(f, K_JOB), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_only_old, setup,
		    scratch_teardown),
		cmocka_unit_test_setup_teardown(test_everything_goes, setup,
		    scratch_teardown),
		cmocka_unit_test_setup_teardown(test_environment_shared,
		    setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_dependents_first, setup,
		    scratch_teardown),
		cmocka_unit_test_setup_teardown(test_children, setup,
		    scratch_teardown),
		cmocka_unit_test_setup_teardown(test_batches, setup,
		    scratch_teardown),
		cmocka_unit_test_setup_teardown(test_kept_is_passed, setup,
		    scratch_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
