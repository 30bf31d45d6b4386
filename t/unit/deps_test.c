/*
 * deps_test.c: unit tests of how jobs end together (lib/deps.c and the
 * end of a run in lib/job.c), in the orders a worker's timing makes rare:
 * a child that fails before its parent's process exits, and a job that
 * fails on its own after a cancel was asked and before its worker acted.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aq.h"
#include "scratch.h"

#define S(s)	((char *)(s))

struct fx {
	struct scratch	 s;
	struct aq_worker w;
};

static char *argv_true[] = { S("true"), NULL };

static int
setup(void **state)
{
	struct fx *f;
	size_t taken;

	if (scratch_setup(state, sizeof(*f), "deps", 1) == -1)
		return -1;
	f = *state;
	/* A registered worker: its claims have no lease, as aq-run's. */
	f->w.uuid[0] = 0x42;
	f->w.uuid[6] = 0x40;
	f->w.uuid[8] = 0x80;
	f->w.slots = 2;
	f->w.poll_interval = 5 * AQ_SEC;
	f->w.ping_interval = 30 * AQ_SEC;
	f->w.death_interval = 60 * AQ_SEC;
	if (aq_worker_start(f->s.aq, &f->w, &taken) != AQ_OK) {
		(void)scratch_teardown(state);
		return -1;
	}
	return 0;
}


static uint64_t
put(struct fx *f, uint64_t parent, int retries)
{
	struct aq_job j;
	int rc;

	memset(&j, 0, sizeof(j));
	j.argv = argv_true;
	j.parent = parent;
	j.retries = retries;
	j.retry_delay = AQ_SEC;
	if ((rc = aq_put(f->s.aq, &j, 1)) != AQ_OK)
		fail_msg("aq_put = %d: %s", rc, aq_error());
	return j.id;
}

static void
claim(struct fx *f, uint64_t id)
{
	struct aq_claim_opts o;
	struct aq_job *j;
	int rc;

	memset(&o, 0, sizeof(o));
	memcpy(o.owner, f->w.uuid, AQ_UUID_LEN);
	o.lease = AQ_LEASE_WORKER;
	if ((rc = aq_claim(f->s.aq, &o, &j, NULL)) != AQ_OK)
		fail_msg("aq_claim = %d: %s", rc, aq_error());
	assert_int_equal(j->id, id);
	aq_job_free(j);
}

static void
done(struct fx *f, uint64_t id, int status)
{
	struct aq_result r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.exit_code = status;
	if ((rc = aq_done(f->s.aq, id, f->w.uuid, &r)) != AQ_OK)
		fail_msg("aq_done = %d: %s", rc, aq_error());
}

static void
assert_outcome(struct fx *f, uint64_t id, enum aq_state state,
    enum aq_outcome o)
{
	struct aq_job *j;

	assert_int_equal(aq_get(f->s.aq, id, &j), AQ_OK);
	assert_int_equal(j->state, state);
	if (state == AQ_DONE)
		assert_string_equal(aq_outcome_name(j->outcome),
		    aq_outcome_name(o));
	aq_job_free(j);
}

/* A running parent with a running child; returns the parent. */
static uint64_t
family(struct fx *f, uint64_t *child)
{
	uint64_t parent;

	parent = put(f, 0, 0);
	claim(f, parent);
	*child = put(f, parent, 0);
	claim(f, *child);
	return parent;
}

/* A running job with retries, cancelled: its worker is asked to stop it. */
static uint64_t
cancelled_running(struct fx *f, int retries)
{
	uint64_t id;
	int asked = 0;

	id = put(f, 0, retries);
	claim(f, id);
	assert_int_equal(aq_cancel(f->s.aq, id, &asked), AQ_OK);
	assert_true(asked);
	return id;
}

/* A child that failed before its parent's process exited fails it. */
static void
test_child_failed_first(void **state)
{
	struct fx *f = *state;
	uint64_t parent, child;

	parent = family(f, &child);
	done(f, child, 3);
	assert_outcome(f, parent, AQ_ACTIVE, AQ_NONE);
	done(f, parent, 0);
	assert_outcome(f, child, AQ_DONE, AQ_OUT_FAILED);
	assert_outcome(f, parent, AQ_DONE, AQ_OUT_FAILED);
}

/* Children that ended ok before their parent leave it ok. */
static void
test_children_ok_first(void **state)
{
	struct fx *f = *state;
	uint64_t parent, child;

	parent = family(f, &child);
	done(f, child, 0);
	done(f, parent, 0);
	assert_outcome(f, parent, AQ_DONE, AQ_OUT_OK);
}

/*
 * Cancelled while it runs, then failed on its own before its worker
 * stopped it: cancelled, and not retried, whatever its retries.
 */
static void
test_cancel_then_fail(void **state)
{
	struct fx *f = *state;
	uint64_t id;

	id = cancelled_running(f, 3);
	done(f, id, 1);
	assert_outcome(f, id, AQ_DONE, AQ_OUT_CANCELLED);
}

/* Cancelled while it runs, then ended ok before its worker acted: ok. */
static void
test_cancel_then_ok(void **state)
{
	struct fx *f = *state;
	uint64_t id;
	int asked = 0;

	id = cancelled_running(f, 0);
	done(f, id, 0);
	assert_outcome(f, id, AQ_DONE, AQ_OUT_OK);
	/* Done now: a cancel says so and changes nothing. */
	assert_int_equal(aq_cancel(f->s.aq, id, &asked), AQ_NO);
	assert_outcome(f, id, AQ_DONE, AQ_OUT_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_child_failed_first,
		    setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_children_ok_first,
		    setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_cancel_then_fail, setup,
		    scratch_teardown),
		cmocka_unit_test_setup_teardown(test_cancel_then_ok, setup,
		    scratch_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
