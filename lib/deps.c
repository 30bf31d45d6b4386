/*
 * deps.c: jobs that wait for other jobs, zc.async's callbacks and
 * serial/parallel jobs: dependencies (--after, --after-any), children
 * (--child), and what happens when a job ends.
 *
 *   'D' dep child            job child waits for dep; value: its kind
 *                            (1: any outcome will do)
 *   'C' parent child         child is a child of parent
 *   'F' ended id             a done job, by the time it ended (retention)
 *   'A' id attempt           the history of one run of a job
 *
 * Invariants, each kept inside one transaction:
 *  - a job's waits count is the number of its 'D' entries; while it is
 *    not 0 the job has no index entry ('R', 'S' or 'Z'): it is blocked;
 *  - a job that ends (state done, any outcome) resolves its dependents in
 *    the same transaction: each 'D' entry goes; a dependent that needed
 *    an ok end and did not get one is skipped, and ends in turn; one that
 *    waits for nothing more is indexed.  So is its parent: a parent whose
 *    own run ended waits, active but held by no one, until its last
 *    child ends, and then ends itself, failed if any child did not end
 *    ok.  The cascade goes through a work list, not recursion: a chain of
 *    10,000 jobs costs 10,000 steps, and resolving costs time in
 *    proportion to the dependents, never to the queue.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DBT_INIT(d, p, n) do {				\
	memset(&(d), 0, sizeof(d));			\
	(d).data = (void *)(p);				\
	(d).size = (u_int32_t)(n);			\
} while (0)

static size_t
pair_key(unsigned char *k, int type, uint64_t a, uint64_t b)
{
	k[0] = (unsigned char)type;
	aq__be64(k + 1, a);
	aq__be64(k + 9, b);
	return 17;
}

static int
put_key(struct aq *aq, DB_TXN *txn, const unsigned char *k, size_t kn,
    const void *v, size_t vn)
{
	DBT key, data;

	DBT_INIT(key, k, kn);
	DBT_INIT(data, v, vn);
	return aq->db->put(aq->db, txn, &key, &data, 0);
}

static int
del_key(struct aq *aq, DB_TXN *txn, const unsigned char *k, size_t kn)
{
	DBT key;
	int ret;

	DBT_INIT(key, k, kn);
	ret = aq->db->del(aq->db, txn, &key, 0);
	return ret == DB_NOTFOUND ? 0 : ret;
}

/* ---- at put ---- */

/*
 * Tie new job j to its dependencies and its parent, before it is stored
 * and indexed.  A dependency that ended already is resolved at once: j
 * may then be done (skipped) before it was ever pending.  Errors:
 * AQ_ENOENT (a missing dependency or parent), AQ_EINPUT (a parent that
 * is not running, j depending on itself).
 */
int
aq__deps_put(struct aq *aq, DB_TXN *txn, struct aq_job *j, aq_time now)
{
	unsigned char k[17], kind;
	struct aq__rec r;
	size_t i;
	int ret;

	j->waits = 0;
	for (i = 0; i < j->nafter; i++) {
		if (j->after[i].id >= j->id)
			return aq__err(AQ_ENOENT, "no such job '%llu'",
			    (unsigned long long)j->after[i].id);
		if ((ret = aq__load_job(aq, txn, j->after[i].id, 1, &r)) != 0)
			return ret == 1 ? aq__err(AQ_ENOENT, "no such job "
			    "'%llu'", (unsigned long long)j->after[i].id) :
			    ret;
		r.j.id = j->after[i].id;
		r.j.depended++;
		if ((ret = aq__store_job(aq, txn, &r)) != 0)
			return ret;
		if (r.j.state == AQ_DONE) {
			if (i == 0) {
				j->after_id = r.j.id;
				j->after_status = aq_job_status(&r.j);
				j->after_outcome = r.j.outcome;
			}
			if (!j->after[i].any && r.j.outcome != AQ_OUT_OK &&
			    j->state != AQ_DONE) {
				j->state = AQ_DONE;
				j->outcome = AQ_OUT_SKIPPED;
				j->ended = now;
			}
			continue;
		}
		kind = (unsigned char)(j->after[i].any != 0);
		if ((ret = put_key(aq, txn, k, pair_key(k, K_DEP,
		    j->after[i].id, j->id), &kind, 1)) != 0)
			return ret;
		j->waits++;
	}
	if (j->parent != 0) {
		if ((ret = aq__load_job(aq, txn, j->parent, 1, &r)) != 0)
			return ret == 1 ? aq__err(AQ_ENOENT, "no such job "
			    "'%llu'", (unsigned long long)j->parent) : ret;
		if (r.j.state != AQ_ACTIVE)
			return aq__err(AQ_EINPUT, "job '%llu' is not running: "
			    "only a running job has children",
			    (unsigned long long)j->parent);
		r.j.id = j->parent;
		r.j.kids++;
		if ((ret = aq__store_job(aq, txn, &r)) != 0 ||
		    (ret = put_key(aq, txn, k, pair_key(k, K_CHILD,
		    j->parent, j->id), NULL, 0)) != 0)
			return ret;
	}
	/* Skipped at once: its own dependents come later, none yet. */
	if (j->state == AQ_DONE) {
		j->waits = 0;
		return aq__deps_drop(aq, txn, j, NULL);
	}
	return 0;
}

/* Dependency i of j: from its array, or from its record's bytes. */
static uint64_t
dep_id(const struct aq_job *j, const unsigned char *raw, size_t i)
{
	return j->after != NULL ? j->after[i].id : aq__get64(raw + 9 * i);
}

/*
 * Forget the 'D' entries of job j (it ended without waiting for them);
 * raw: its record's dependencies when j->after is not filled in.
 */
int
aq__deps_drop(struct aq *aq, DB_TXN *txn, const struct aq_job *j,
    const unsigned char *raw)
{
	unsigned char k[17];
	size_t i;
	int ret;

	for (i = 0; i < j->nafter; i++)
		if ((ret = del_key(aq, txn, k, pair_key(k, K_DEP,
		    dep_id(j, raw, i), j->id))) != 0)
			return ret;
	return 0;
}

/* ---- when a job ends ---- */

struct work {
	uint64_t	*ids;
	size_t		 n, cap;
	int		 woke;		/* a job became claimable */
};

static int
push(struct work *w, uint64_t id)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		uint64_t *v;

		if ((v = aq__realloc(w->ids, cap * sizeof(*v))) == NULL)
			return ENOMEM;
		w->ids = v;
		w->cap = cap;
	}
	w->ids[w->n++] = id;
	return 0;
}

/*
 * Take the dependents of ended job id ('D' id child) into d, their
 * entries deleted, in one walk of one cursor: the low bit of each is set
 * when any outcome will do.
 */
static int
take_dependents(struct aq *aq, DB_TXN *txn, uint64_t id, struct work *d)
{
	unsigned char k[AQ__ANYKEY_MAX], pre[9], v[1];
	u_int32_t flag = DB_SET_RANGE;
	DBT key, data;
	DBC *c;
	int ret, r2;

	pre[0] = K_DEP;
	aq__be64(pre + 1, id);
	if ((ret = aq->db->cursor(aq->db, txn, &c, 0)) != 0)
		return ret;
	memcpy(k, pre, 9);
	aq__dbt_buf(&key, k, 9, sizeof(k));
	aq__dbt_part(&data, v, sizeof(v));
	for (;;) {
		ret = c->get(c, &key, &data, flag | DB_RMW);
		flag = DB_NEXT;
		if (ret == DB_NOTFOUND || (ret == 0 && (key.size != 17 ||
		    memcmp(k, pre, 9) != 0))) {
			ret = 0;
			break;
		}
		if (ret != 0 || (ret = push(d, aq__get64(k + 9) << 1 |
		    (data.size > 0 && v[0] != 0))) != 0 ||
		    (ret = c->del(c, 0)) != 0)
			break;
	}
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	return ret;
}

/* Make r done with outcome o now, and queue it for its own ending. */
static int
end_now(struct aq *aq, DB_TXN *txn, struct aq__rec *r, enum aq_outcome o,
    aq_time now, struct work *w)
{
	int ret;

	r->j.state = AQ_DONE;
	r->j.outcome = o;
	r->j.ended = now;
	r->j.flags &= ~(unsigned)AQ__JOB_AWAIT;
	if ((ret = aq__stat(aq, txn, now, AQ__ST_ENDED, o, -1, r->j.id)) != 0 ||
	    (ret = aq__store_job(aq, txn, r)) != 0)
		return ret;
	return push(w, r->j.id);
}

/*
 * Tell the dependents d of ended job j: each waits for one job less; one
 * that needed j to end ok and did not get it is skipped (and queued in w
 * to end in turn); one that waits for nothing more is indexed.
 */
static int
resolve(struct aq *aq, DB_TXN *txn, const struct aq_job *j,
    const struct work *d, aq_time now, struct work *w)
{
	struct aq__rec r;
	uint64_t child;
	size_t at;
	int any, ret;

	for (at = 0; at < d->n; at++) {
		child = d->ids[at] >> 1;
		any = (int)(d->ids[at] & 1);
		if ((ret = aq__load_job(aq, txn, child, 1, &r)) == 1)
			continue;	/* purged meanwhile */
		if (ret != 0)
			return ret;
		r.j.id = child;
		if (r.j.state != AQ_PENDING)
			continue;
		if (r.j.nafter > 0 && aq__get64(r.afterp) == j->id) {
			r.j.after_id = j->id;
			r.j.after_status = aq_job_status(j);
			r.j.after_outcome = j->outcome;
		}
		if (r.j.waits > 0)
			r.j.waits--;
		if (!any && j->outcome != AQ_OUT_OK) {
			/* Not waited for any more, whatever else it waited on. */
			if ((ret = aq__deps_drop(aq, txn, &r.j, r.afterp)) != 0)
				return ret;
			r.j.waits = 0;
			if ((ret = aq__unindex_pending(aq, txn, &r.j)) != 0 ||
			    (ret = end_now(aq, txn, &r, AQ_OUT_SKIPPED, now,
			    w)) != 0)
				return ret;
			continue;
		}
		if ((ret = aq__store_job(aq, txn, &r)) != 0)
			return ret;
		if (r.j.waits == 0 &&
		    (ret = aq__index_pending(aq, txn, &r.j, now)) != 0)
			return ret;
		w->woke = 1;
	}
	return 0;
}

/* Job j (done, stored) ended: tell its dependents and its parent. */
static int
ended_one(struct aq *aq, DB_TXN *txn, const struct aq_job *j, aq_time now,
    struct work *w)
{
	unsigned char k[17];
	struct aq__rec r;
	struct work d;
	int ret;

	if ((ret = put_key(aq, txn, k, pair_key(k, K_FINISHED,
	    (uint64_t)j->ended ^ ((uint64_t)1 << 63), j->id), NULL, 0)) != 0)
		return ret;
	memset(&d, 0, sizeof(d));
	/* No job ever named it: no 'D' entry to look for (most jobs). */
	if (j->depended > 0 &&
	    (ret = take_dependents(aq, txn, j->id, &d)) != 0) {
		aq__free(d.ids);
		return ret;
	}
	ret = resolve(aq, txn, j, &d, now, w);
	aq__free(d.ids);
	if (ret != 0)
		return ret;
	if (j->parent == 0)
		return 0;
	if ((ret = aq__load_job(aq, txn, j->parent, 1, &r)) == 1)
		return 0;
	if (ret != 0)
		return ret;
	r.j.id = j->parent;
	if (r.j.kids > 0)
		r.j.kids--;
	if (j->outcome != AQ_OUT_OK)
		r.j.kidfail = 1;
	if (r.j.state == AQ_ACTIVE && (r.j.flags & AQ__JOB_AWAIT) &&
	    r.j.kids == 0)
		/* Its own run's outcome first: a timeout stays a timeout. */
		return end_now(aq, txn, &r, r.j.own_outcome != AQ_OUT_OK ?
		    r.j.own_outcome : r.j.kidfail ? AQ_OUT_FAILED : AQ_OUT_OK,
		    now, w);
	return aq__store_job(aq, txn, &r);
}

/*
 * Job j has just been stored done: resolve everything that waited for
 * it, and what waited for those, in this transaction.  *woke, if not
 * NULL, is set when a job became claimable.
 */
int
aq__job_ended(struct aq *aq, DB_TXN *txn, const struct aq_job *j,
    aq_time now, int *woke)
{
	struct work w;
	struct aq__rec r;
	size_t at = 0;
	int ret;

	memset(&w, 0, sizeof(w));
	ret = ended_one(aq, txn, j, now, &w);
	while (ret == 0 && at < w.n) {
		uint64_t id = w.ids[at++];

		if ((ret = aq__load_job(aq, txn, id, 0, &r)) == 1) {
			ret = 0;
			continue;
		}
		if (ret != 0)
			break;
		r.j.id = id;
		{
			/* The record's memory is the handle's: copy out. */
			struct aq_job *copy = aq__job_pack(&r, NULL, 0);

			if (copy == NULL) {
				ret = ENOMEM;
				break;
			}
			ret = ended_one(aq, txn, copy, now, &w);
			aq_job_free(copy);
		}
	}
	if (woke != NULL && w.woke)
		*woke = 1;
	aq__free(w.ids);
	return ret;
}
