/*
 * job.c: putting, claiming and ending jobs: the state machine.
 *
 *   put --> pending --claim--> active --done--> done
 *              ^                 |
 *              +--release, lease runs out (interrupt)
 *
 * Invariants, each kept inside one transaction:
 *  - a pending job that is neither held nor scheduled has exactly one 'R'
 *    entry; a scheduled one has one 'S' entry, moved to 'R' by the first
 *    claim after it falls due; a held one has neither;
 *  - an active job has exactly one 'L' entry (its lease) and one 'O' entry
 *    (its owner), and no 'R' or 'S' entry;
 *  - a done job has no index entry at all.
 * A claim reads only the head of each queue's 'R' range and the heads of
 * 'S' and 'L', so it costs O(log n) however many jobs wait.
 */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define MAX_INTERRUPTS	9	/* zc.async's default */
#define PROMOTE_MAX	256	/* scheduled jobs moved per claim */
#define EXPIRE_MAX	16	/* run-out leases handled per claim */
#define CLAIM_TRIES	1000	/* entries passed over (parked) per claim */
#define FILTER_SCAN	256	/* ready jobs an agent's filter looks at */

#define DBT_INIT(d, p, n) do {				\
	memset(&(d), 0, sizeof(d));			\
	(d).data = (void *)(p);				\
	(d).size = (u_int32_t)(n);			\
} while (0)

static int
dbput(struct aq *aq, DB_TXN *txn, const void *k, size_t kn, const void *v,
    size_t vn)
{
	DBT key, data;

	DBT_INIT(key, k, kn);
	DBT_INIT(data, v, vn);
	return aq->db->put(aq->db, txn, &key, &data, 0);
}

static int
dbdel(struct aq *aq, DB_TXN *txn, const void *k, size_t kn)
{
	DBT key;
	int ret;

	DBT_INIT(key, k, kn);
	ret = aq->db->del(aq->db, txn, &key, 0);
	return ret == DB_NOTFOUND ? 0 : ret;
}

/*
 * Read and decode job id (write-locked with rmw).  1: no such job.  r
 * points into the handle's buffer, which the next read overwrites; with
 * own, into memory of its own, data->data, which the caller frees (with
 * aq__free(), whatever load_into() returns).
 */
static int
load_into(struct aq *aq, DB_TXN *txn, uint64_t id, int rmw,
    struct aq__rec *r, DBT *data, int own)
{
	unsigned char k[9];
	DBT key;
	int ret;

	DBT_INIT(key, k, aq__key_job(k, id));
	memset(data, 0, sizeof(*data));
	if (own)
		data->flags = DB_DBT_MALLOC;
	ret = aq->db->get(aq->db, txn, &key, data, rmw ? DB_RMW : 0);
	if (ret == DB_NOTFOUND)
		return 1;
	if (ret != 0)
		return ret;
	if (aq__job_decode(data->data, data->size, r) == -1)
		return aq__err(AQ_EINTERNAL, "job %llu: corrupt record",
		    (unsigned long long)id);
	return 0;
}

static int
load(struct aq *aq, DB_TXN *txn, uint64_t id, int rmw, struct aq__rec *r,
    DBT *data)
{
	return load_into(aq, txn, id, rmw, r, data, 0);
}

/* As load(), for a job that must exist: AQ_ENOENT, said, when it does not. */
static int
load_known(struct aq *aq, DB_TXN *txn, uint64_t id, int rmw,
    struct aq__rec *r, DBT *data)
{
	int ret;

	if ((ret = load(aq, txn, id, rmw, r, data)) == 1)
		return aq__err(AQ_ENOENT, "no such job '%llu'",
		    (unsigned long long)id);
	return ret;
}

/* Write a job: a new one (r NULL) or a decoded record r changed in j. */
static int
store(struct aq *aq, DB_TXN *txn, const struct aq_job *j,
    const struct aq__rec *r, uint64_t envkey)
{
	struct aq__buf b = { NULL, 0, 0 };
	unsigned char k[9];
	int ret;

	if ((r != NULL ? aq__rec_encode(r, &b) :
	    aq__job_encode(j, NULL, 0, envkey, &b)) == -1) {
		aq__free(b.p);
		return ENOMEM;
	}
	ret = dbput(aq, txn, k, aq__key_job(k, j->id), b.p, b.len);
	aq__free(b.p);
	return ret;
}

/* The key of job j in the ready index: interrupted jobs come first. */
size_t
aq__job_rkey(const struct aq_job *j, unsigned char *rk)
{
	return aq__key_ready(rk, j->queue, j->priority,
	    (j->flags & AQ__JOB_HEAD) ? INT64_MIN : j->begin, j->id);
}

/*
 * The index entry that makes a pending job claimable: 'R', with the job's
 * name for the agents' filters; or 'S' while it is due later, holding its
 * 'R' key and name; or 'Z' behind a full quota; or none while held.
 */
static int
index_pending(struct aq *aq, DB_TXN *txn, const struct aq_job *j,
    aq_time now)
{
	unsigned char rk[AQ__KEY_MAX], sk[17], sv[AQ__KEY_MAX + AQ_NAME_MAX];
	const char *name = j->name ? j->name : "", *full;
	size_t rn, nn = strlen(name);
	int ret;

	if ((j->flags & AQ_JOB_HOLD) || j->waits > 0)
		return 0;
	rn = aq__job_rkey(j, rk);
	if (j->begin > now) {
		memcpy(sv, rk, rn);
		memcpy(sv + rn, name, nn);
		return dbput(aq, txn, sk, aq__key_sched(sk, j->begin, j->id),
		    sv, rn + nn);
	}
	if (j->quotas != NULL) {
		if ((ret = aq__quota_full(aq, txn, j, &full)) != 0)
			return ret;
		if (full != NULL)
			return aq__quota_park(aq, txn, full, rk, rn, name);
	}
	return dbput(aq, txn, rk, rn, name, nn);
}

/* 'X' owner id: job id, run by worker owner, is to be stopped. */
static size_t
cancel_key(unsigned char *k, const unsigned char *owner, uint64_t id)
{
	k[0] = K_CANCEL;
	memcpy(k + 1, owner, AQ_UUID_LEN);
	aq__be64(k + 1 + AQ_UUID_LEN, id);
	return 1 + AQ_UUID_LEN + 8;
}

/* An active job stops being so: its lease, its owner, its quota slots. */
static int
unindex_active(struct aq *aq, DB_TXN *txn, const struct aq_job *j)
{
	unsigned char k[1 + AQ_UUID_LEN + 8];
	int ret;

	/* A worker's jobs have no lease, and so no lease key to look for. */
	if ((j->lease != 0 && (ret = dbdel(aq, txn, k, aq__key_lease(k,
	    j->lease, j->id))) != 0) ||
	    (ret = dbdel(aq, txn, k, aq__key_owner(k, j->worker, j->id))) != 0)
		return ret;
	return aq__quota_release(aq, txn, j, NULL);
}

int
aq__index_pending(struct aq *aq, DB_TXN *txn, const struct aq_job *j,
    aq_time now)
{
	return index_pending(aq, txn, j, now);
}

/* Read job id into r (write-locked with rmw).  1: there is none. */
int
aq__load_job(struct aq *aq, DB_TXN *txn, uint64_t id, int rmw,
    struct aq__rec *r)
{
	DBT data;

	return load(aq, txn, id, rmw, r, &data);
}

int
aq__store_job(struct aq *aq, DB_TXN *txn, struct aq__rec *r)
{
	return store(aq, txn, &r->j, r, 0);
}

/*
 * Keep the history of a run of job j that just stopped: how (kind), with
 * the worker, the times and the status it had.
 */
static int
history(struct aq *aq, DB_TXN *txn, const struct aq_job *j, int kind,
    aq_time now)
{
	unsigned char k[13], v[64 + AQ_NAME_MAX];
	size_t an = j->agent != NULL ? strlen(j->agent) : 0;

	if (j->attempt <= 0)
		return 0;
	k[0] = K_HISTORY;
	aq__be64(k + 1, j->id);
	aq__be32(k + 9, (uint32_t)j->attempt);
	memcpy(v, j->worker, AQ_UUID_LEN);
	aq__be64(v + 16, (uint64_t)j->started);
	aq__be64(v + 24, (uint64_t)(j->ended ? j->ended : now));
	aq__be32(v + 32, (uint32_t)(j->exit_code + 1));
	aq__be32(v + 36, (uint32_t)j->signal);
	/* A claim leaves the outcome of the run before: only an end sets it. */
	v[40] = (unsigned char)(kind == AQ__RUN_ENDED ? j->outcome : AQ_NONE);
	v[41] = (unsigned char)kind;
	if (an > 0)
		memcpy(v + 42, j->agent, an);
	return dbput(aq, txn, k, sizeof(k), v, 42 + an);
}

/* ---- put ---- */

struct put_arg {
	struct aq_job	*jobs;
	size_t		 n;
	aq_time		 now;
};

/* Find or store an environment; its key goes into the job record. */
static int
env_key(struct aq *aq, DB_TXN *txn, char *const *envp, uint64_t *key,
    int *fresh)
{
	struct aq__buf b = { NULL, 0, 0 };
	unsigned char k[9];
	uint64_t h;
	DBT kd, data;
	int i, ret = 0;

	if (aq__env_encode(envp, &b) == -1) {
		aq__free(b.p);
		return ENOMEM;
	}
	h = aq__hash64(b.p, b.len);
	for (i = 0; i < 64; i++, h++) {
		if (h == 0)
			h = 1;
		k[0] = K_ENVBLOB;
		aq__be64(k + 1, h);
		DBT_INIT(kd, k, 9);
		memset(&data, 0, sizeof(data));
		ret = aq->db->get(aq->db, txn, &kd, &data, DB_RMW);
		*fresh = ret == DB_NOTFOUND;
		if (ret == DB_NOTFOUND) {
			ret = dbput(aq, txn, k, 9, b.p, b.len);
			break;
		}
		if (ret != 0)
			break;
		if (data.size == b.len && memcmp(data.data, b.p, b.len) == 0)
			break;
	}
	if (i == 64)
		ret = aq__err(AQ_EINTERNAL, "environment store is full");
	*key = h;
	aq__free(b.p);
	return ret;
}

/* A 'G' count of a blob whose users are not all counted: kept for ever. */
#define ENV_UNCOUNTED	((uint64_t)1 << 63)

/*
 * Count the jobs that use stored environment h by delta ('G' h: count);
 * fresh: the blob was stored in this transaction.  The blob goes with
 * the last of them.  One that an older aq stored, without a count, is
 * marked uncounted at its next use and never dropped: its first users
 * are unknown.
 */
int
aq__env_ref(struct aq *aq, DB_TXN *txn, uint64_t h, int64_t delta,
    int fresh)
{
	unsigned char k[9], v[8];
	uint64_t n = 0;
	DBT key, data;
	int ret;

	k[0] = K_ENVREFS;
	aq__be64(k + 1, h);
	DBT_INIT(key, k, 9);
	aq__dbt_buf(&data, v, 0, sizeof(v));
	ret = aq->db->get(aq->db, txn, &key, &data, DB_RMW);
	if (ret == 0 && data.size == 8)
		n = aq__get64(v);
	else if (ret == DB_NOTFOUND && delta < 0)
		return 0;
	else if (ret == DB_NOTFOUND && !fresh)
		n = ENV_UNCOUNTED;
	else if (ret != 0 && ret != DB_NOTFOUND)
		return ret;
	if (n & ENV_UNCOUNTED)
		delta = 0;
	if (delta >= 0 || n > (uint64_t)-delta) {
		aq__be64(v, n + (uint64_t)delta);
		return dbput(aq, txn, k, 9, v, 8);
	}
	if ((ret = aq->db->del(aq->db, txn, &key, 0)) != 0)
		return ret;
	k[0] = K_ENVBLOB;
	ret = aq->db->del(aq->db, txn, &key, 0);
	return ret == DB_NOTFOUND ? 0 : ret;
}

/* What aq__insert() remembers from one job to the next of a put. */
struct aq__ins {
	char *const	*lastenv;
	uint64_t	 envkey;
	uint64_t	 envrefs;	/* jobs stored with envkey, not counted */
	int		 envfresh;	/* envkey's blob was stored by this put */
	const char	*lastq;
};

/* Count the jobs of a put that share an environment, once for them all. */
static int
ins_flush(struct aq *aq, DB_TXN *txn, struct aq__ins *st)
{
	int ret = 0;

	if (st->envrefs > 0)
		ret = aq__env_ref(aq, txn, st->envkey, (int64_t)st->envrefs,
		    st->envfresh);
	st->envrefs = 0;
	return ret;
}

/*
 * Store new job j, its id set, in txn: its environment (once for all the
 * jobs that share it), its queue record, the job record and its index
 * entry.  st carries what the jobs of one put share; zero it first.
 */
static int
insert(struct aq *aq, DB_TXN *txn, struct aq_job *j, aq_time now,
    struct aq__ins *st)
{
	unsigned char qk[1 + AQ_NAME_MAX + 1];
	DBT key, data;
	int ret;

	if (j->envp != st->lastenv && (ret = ins_flush(aq, txn, st)) != 0)
		return ret;
	if (j->envp == NULL)
		st->envkey = 0;
	else if (j->envp != st->lastenv &&
	    (ret = env_key(aq, txn, j->envp, &st->envkey,
	    &st->envfresh)) != 0)
		return ret;
	st->lastenv = j->envp;
	if (st->lastq == NULL || strcmp(st->lastq, j->queue) != 0) {
		size_t qn = strlen(j->queue);

		qk[0] = K_QUEUE;
		memcpy(qk + 1, j->queue, qn);
		DBT_INIT(key, qk, qn + 1);
		memset(&data, 0, sizeof(data));
		data.flags = DB_DBT_PARTIAL;
		ret = aq->db->get(aq->db, txn, &key, &data, 0);
		if (ret == DB_NOTFOUND) {
			unsigned char v[12];

			aq__be64(v, (uint64_t)now);
			aq__be32(v + 8, 0);
			ret = dbput(aq, txn, qk, qn + 1, v, 12);
		}
		if (ret != 0)
			return ret;
		st->lastq = j->queue;
	}
	aq__job_new(j);
	if (j->quotas != NULL && (ret = aq__quota_known(aq, txn, j)) != 0)
		return ret;
	if ((j->nafter > 0 || j->parent != 0) &&
	    (ret = aq__deps_put(aq, txn, j, now)) != 0)
		return ret;
	if ((ret = store(aq, txn, j, NULL, st->envkey)) != 0)
		return ret;
	if (st->envkey != 0)
		st->envrefs++;
	if (j->state == AQ_DONE) {	/* a dependency ended not ok */
		if ((ret = aq__stat(aq, txn, now, AQ__ST_ENDED, j->outcome, -1,
		    j->id)) != 0)
			return ret;
		return aq__job_ended(aq, txn, j, now, NULL);
	}
	return index_pending(aq, txn, j, now);
}

/*
 * Read the one-byte key k's 64-bit value (0 if there is none), write-locked
 * with rmw.  Returns 0 or a Berkeley DB error.
 */
int
aq__load_u64(struct aq *aq, DB_TXN *txn, unsigned char k, int rmw,
    uint64_t *v)
{
	unsigned char buf[8];
	DBT key, data;
	int ret;

	DBT_INIT(key, &k, 1);
	memset(&data, 0, sizeof(data));
	data.data = buf;
	data.ulen = sizeof(buf);
	data.flags = DB_DBT_USERMEM;
	*v = 0;
	ret = aq->db->get(aq->db, txn, &key, &data, rmw ? DB_RMW : 0);
	if (ret == 0 && data.size == 8)
		*v = aq__get64(buf);
	return ret == DB_NOTFOUND ? 0 : ret;
}

int
aq__store_u64(struct aq *aq, DB_TXN *txn, unsigned char k, uint64_t v)
{
	unsigned char buf[8];

	aq__be64(buf, v);
	return dbput(aq, txn, &k, 1, buf, 8);
}

/* Raise the 'N' record, the highest id ever stored plus one, to next. */
static int
raise_next(struct aq *aq, DB_TXN *txn, uint64_t next)
{
	uint64_t v;
	int ret;

	if ((ret = aq__load_u64(aq, txn, K_NEXTID, 1, &v)) != 0 || v >= next)
		return ret;
	return aq__store_u64(aq, txn, K_NEXTID, next);
}

/* The highest id stored plus one (1 in a new environment). */
int
aq__next_id(struct aq *aq, DB_TXN *txn, uint64_t *next)
{
	int ret;

	if ((ret = aq__load_u64(aq, txn, K_NEXTID, 0, next)) == 0 &&
	    *next == 0)
		*next = 1;
	return ret;
}

/*
 * Store jobs whose ids are set (by the intake, intake.c).  With skip,
 * jobs whose id is at most *skip are left out, as stored before, and
 * *skip is raised to the highest id seen.
 */
int
aq__insert_jobs(struct aq *aq, DB_TXN *txn, struct aq_job **jobs, size_t n,
    aq_time now, uint64_t *skip)
{
	struct aq__ins st;
	uint64_t top = 0;
	size_t i;
	int ret;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < n; i++) {
		if (skip != NULL && jobs[i]->id <= *skip)
			continue;
		if ((ret = insert(aq, txn, jobs[i], now, &st)) != 0)
			return ret;
		if (jobs[i]->id > top)
			top = jobs[i]->id;
	}
	if ((ret = ins_flush(aq, txn, &st)) != 0 || top == 0)
		return ret;
	if (skip != NULL && top > *skip)
		*skip = top;
	return raise_next(aq, txn, top + 1);
}

/*
 * Every quota the jobs name exists, every job they depend on too, and a
 * parent runs: refused before an id is given.
 */
static int
known_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct put_arg *a = arg;
	struct aq__rec r;
	size_t i, d;
	int ret;

	for (i = 0; i < a->n; i++) {
		const struct aq_job *j = &a->jobs[i];

		if (j->quotas != NULL &&
		    (ret = aq__quota_known(aq, txn, j)) != 0)
			return ret;
		for (d = 0; d < j->nafter; d++)
			if ((ret = aq__load_job(aq, txn, j->after[d].id, 0,
			    &r)) != 0)
				return ret == 1 ? aq__err(AQ_ENOENT, "no such "
				    "job '%llu'", (unsigned long long)
				    j->after[d].id) : ret;
		if (j->parent != 0) {
			if ((ret = aq__load_job(aq, txn, j->parent, 0, &r)) != 0)
				return ret == 1 ? aq__err(AQ_ENOENT, "no such "
				    "job '%llu'", (unsigned long long)j->parent) :
				    ret;
			if (r.j.state != AQ_ACTIVE ||
			    (r.j.flags & AQ__JOB_AWAIT))
				return aq__err(AQ_EINPUT, "job '%llu' is not "
				    "running: only a running job has children",
				    (unsigned long long)j->parent);
		}
	}
	return 0;
}

static int
put_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct put_arg *a = arg;
	struct aq__ins st;
	size_t i;
	int ret;

	memset(&st, 0, sizeof(st));
	aq->res[0] = a->jobs[0].id;
	aq->res[1] = a->n;
	for (i = 0; i < a->n; i++) {
		a->jobs[i].created = a->now;
		if ((ret = insert(aq, txn, &a->jobs[i], a->now, &st)) != 0)
			return ret;
	}
	if ((ret = ins_flush(aq, txn, &st)) != 0)
		return ret;
	return raise_next(aq, txn, a->jobs[a->n - 1].id + 1);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A job names each dependency once: one end resolves one wait. */
static int
deps_once(const struct aq_job *j)
{
	uint64_t *ids;
	size_t i;
	int rc = AQ_OK;

	if (j->nafter < 2)
		return AQ_OK;
	if ((ids = aq__malloc(j->nafter * sizeof(*ids))) == NULL)
		return aq__err(AQ_EAGAIN, "out of memory");
	for (i = 0; i < j->nafter; i++)
		ids[i] = j->after[i].id;
	qsort(ids, j->nafter, sizeof(*ids), cmp_u64);
	for (i = 1; i < j->nafter; i++)
		if (ids[i] == ids[i - 1]) {
			rc = aq__err(AQ_EINPUT, "job '%llu' named twice as a "
			    "dependency", (unsigned long long)ids[i]);
			break;
		}
	aq__free(ids);
	return rc;
}

int
aq_put(struct aq *aq, struct aq_job *jobs, size_t n)
{
	struct put_arg a;
	uint64_t first;
	size_t i, k;
	int rc, checked = 0;

	if (n == 0)
		return AQ_OK;
	for (i = 0; i < n; i++) {
		struct aq_job *j = &jobs[i];

		if (j->argv == NULL || j->argv[0] == NULL)
			return aq__err(AQ_EINPUT, "empty command");
		if (j->queue == NULL)
			j->queue = (char *)AQ_DEFAULT_QUEUE;
		if (!aq_valid_name(j->queue) || strcmp(j->queue, "*") == 0)
			return aq__err(AQ_EINPUT, "bad queue name '%s'",
			    j->queue);
		if (j->name != NULL && !aq_valid_name(j->name))
			return aq__err(AQ_EINPUT, "bad job name '%s'", j->name);
		if (j->timeout < 0 || j->retry_delay < 0 || j->retries < 0)
			return aq__err(AQ_EINPUT, "negative timeout, retry "
			    "count or retry delay");
		for (k = 0; j->quotas != NULL && j->quotas[k] != NULL; k++) {
			size_t d;

			if (!aq_valid_name(j->quotas[k]))
				return aq__err(AQ_EINPUT, "bad quota name "
				    "'%s'", j->quotas[k]);
			if (k == AQ_QUOTAS_MAX)
				return aq__err(AQ_EINPUT, "more than %d "
				    "quotas", AQ_QUOTAS_MAX);
			for (d = 0; d < k; d++)
				if (strcmp(j->quotas[d], j->quotas[k]) == 0)
					return aq__err(AQ_EINPUT, "quota '%s' "
					    "named twice", j->quotas[k]);
		}
		if ((rc = deps_once(j)) != AQ_OK)
			return rc;
		if (k > 0 || j->nafter > 0 || j->parent != 0)
			checked = 1;
	}
	a.now = aq_now();
	/*
	 * Small puts go to the intake, without joining the environment;
	 * quotas must be known, which only the database can tell.
	 */
	if (!checked &&
	    (rc = aq__intake_put(aq, jobs, n, a.now)) != AQ__FALLBACK)
		return rc;
	/* Refused before an id is given: a bad put changes nothing. */
	a.jobs = jobs;
	a.n = n;
	if (checked && (rc = aq__run(aq, known_op, &a, 0)) != AQ_OK)
		return rc;
	if ((rc = aq__intake_reserve(aq, n, &first)) != AQ_OK)
		return rc;
	for (i = 0; i < n; i++)
		jobs[i].id = first + i;
	a.jobs = jobs;
	a.n = n;
	if ((rc = aq__run(aq, put_op, &a, AQ__WRITE |
	    (n >= 1000 ? AQ__BULK : 0))) != AQ_OK)
		return rc;
	aq__wake(aq);
	return AQ_OK;
}

/* ---- claim ---- */

static int	fetch(struct aq *, DB_TXN *, uint64_t, struct aq_job **);

struct claim_arg {
	const struct aq_claim_opts *o;
	struct aq_job	*job;		/* the claimed job, as it is now */
	aq_time		 now;
	aq_time		 next;
	int		 changed;	/* wrote something on the way */
	int		 more;		/* stopped before the end */
};

static int	peekv(struct aq *, DB_TXN *, const unsigned char *, size_t,
		    unsigned char *, size_t *, void *, size_t, size_t *);

/* First key at or after prefix k (kn bytes), read without keeping locks. */
static int
peek(struct aq *aq, DB_TXN *txn, const unsigned char *k, size_t kn,
    unsigned char *out, size_t *outn, void *val, size_t *valn)
{
	return peekv(aq, txn, k, kn, out, outn, val, AQ__KEY_MAX, valn);
}

static int
peekv(struct aq *aq, DB_TXN *txn, const unsigned char *k, size_t kn,
    unsigned char *out, size_t *outn, void *val, size_t valcap, size_t *valn)
{
	DBC *c;
	DBT key, data;
	int ret, r2;

	if ((ret = aq->db->cursor(aq->db, txn, &c, DB_READ_COMMITTED)) != 0)
		return ret;
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	memcpy(out, k, kn);
	key.data = out;
	key.size = (u_int32_t)kn;
	key.ulen = AQ__KEY_MAX;
	key.flags = DB_DBT_USERMEM;
	if (val != NULL) {
		data.data = val;
		data.ulen = (u_int32_t)valcap;
		data.flags = DB_DBT_USERMEM;
	} else
		data.flags = DB_DBT_PARTIAL;
	ret = c->get(c, &key, &data, DB_SET_RANGE);
	if (ret == 0 && (key.size < kn || memcmp(out, k, kn) != 0))
		ret = DB_NOTFOUND;
	*outn = key.size;
	if (valn != NULL)
		*valn = data.size;
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	return ret;
}

/* Move scheduled jobs that fell due into the ready index. */
static int
promote(struct aq *aq, DB_TXN *txn, aq_time now, aq_time *next,
    int *changed)
{
	unsigned char p = K_SCHED, k[AQ__KEY_MAX], v[AQ__KEY_MAX + AQ_NAME_MAX];
	size_t kn, vn, rn;
	int i, ret;

	*next = 0;
	for (i = 0; i < PROMOTE_MAX; i++) {
		ret = peekv(aq, txn, &p, 1, k, &kn, v, sizeof(v), &vn);
		if (ret == DB_NOTFOUND)
			return 0;
		if (ret != 0)
			return ret;
		if ((aq_time)(aq__get64(k + 1) ^ ((uint64_t)1 << 63)) > now) {
			*next = (aq_time)(aq__get64(k + 1) ^ ((uint64_t)1 << 63));
			return 0;
		}
		/* The value: the job's ready key, then its name. */
		rn = vn > 1 ? strnlen((char *)v + 1, vn - 1) + 22 : 0;
		if (rn > vn)
			return aq__err(AQ_EINTERNAL, "corrupt schedule entry");
		if ((ret = dbdel(aq, txn, k, kn)) != 0 ||
		    (ret = dbput(aq, txn, v, rn, v + rn, vn - rn)) != 0)
			return ret;
		*changed = 1;
	}
	return 0;
}

/*
 * A job aq_cancel() asked its worker to stop, taken back before it was:
 * it ends cancelled.  r is the job, loaded for update and unindexed.
 */
static int
end_cancelled(struct aq *aq, DB_TXN *txn, struct aq__rec *r, aq_time now)
{
	unsigned char k[1 + AQ_UUID_LEN + 8];
	int ret;

	r->j.flags &= ~(unsigned)AQ__JOB_CANCEL;
	r->j.state = AQ_DONE;
	r->j.outcome = AQ_OUT_CANCELLED;
	r->j.ended = now;
	if ((ret = dbdel(aq, txn, k, cancel_key(k, r->j.worker,
	    r->j.id))) != 0 ||
	    (ret = aq__stat(aq, txn, now, AQ__ST_ENDED, AQ_OUT_CANCELLED, -1,
	    r->j.id)) != 0 ||
	    (ret = store(aq, txn, &r->j, r, 0)) != 0)
		return ret;
	return aq__job_ended(aq, txn, &r->j, now, NULL);
}

/*
 * A job whose run was cut short by no fault of its own: back to the head
 * of its queue, or lost.  r is the job, loaded for update and unindexed.
 */
static int
requeue(struct aq *aq, DB_TXN *txn, struct aq__rec *r, aq_time now)
{
	int ret;

	r->j.interrupts++;
	r->j.lease = 0;
	if ((ret = aq__stat(aq, txn, now, AQ__ST_INTERRUPTED, AQ_NONE, 0,
	    r->j.id)) != 0 ||
	    (ret = history(aq, txn, &r->j, AQ__RUN_INTERRUPTED, now)) != 0)
		return ret;
	/* Cancelled meanwhile: it is not run again. */
	if (r->j.flags & AQ__JOB_CANCEL)
		return end_cancelled(aq, txn, r, now);
	if ((r->j.flags & AQ_JOB_AT_MOST_ONCE) ||
	    r->j.interrupts > MAX_INTERRUPTS) {
		r->j.state = AQ_DONE;
		r->j.outcome = AQ_OUT_LOST;
		r->j.ended = now;
		if ((ret = aq__stat(aq, txn, now, AQ__ST_ENDED, AQ_OUT_LOST,
		    -1, r->j.id)) != 0 ||
		    (ret = store(aq, txn, &r->j, r, 0)) != 0)
			return ret;
		return aq__job_ended(aq, txn, &r->j, now, NULL);
	}
	r->j.state = AQ_PENDING;
	/* Drop the hold and schedule: it was running already. */
	r->j.flags &= ~(unsigned)AQ_JOB_HOLD;
	if (r->j.begin > now)
		r->j.begin = 0;
	/* First in line again; kept, so that its ready key can be found. */
	r->j.flags |= AQ__JOB_HEAD;
	if ((ret = store(aq, txn, &r->j, r, 0)) != 0)
		return ret;
	return index_pending(aq, txn, &r->j, now);
}

/* A claimer's lease ran out. */
static int
interrupt(struct aq *aq, DB_TXN *txn, uint64_t id, aq_time lease,
    aq_time now)
{
	unsigned char lk[17];
	struct aq__rec r;
	DBT data;
	int ret;

	if ((ret = load(aq, txn, id, 1, &r, &data)) < 0 || ret > 1)
		return ret;
	if (ret == 1 || r.j.state != AQ_ACTIVE || r.j.lease != lease)
		return dbdel(aq, txn, lk, aq__key_lease(lk, lease, id));
	r.j.id = id;
	if ((ret = unindex_active(aq, txn, &r.j)) != 0)
		return ret;
	return requeue(aq, txn, &r, now);
}

/*
 * A job of a worker judged dead, or stopped by its own worker: interrupt
 * it if owner still holds it (in that attempt, unless attempt is 0).
 * Returns 0, AQ_NO when it does not, AQ_ENOENT, or a DB error.
 */
int
aq__interrupt_job(struct aq *aq, DB_TXN *txn, uint64_t id,
    const unsigned char *owner, int attempt, aq_time now)
{
	unsigned char k[AQ__KEY_MAX];
	struct aq__rec r;
	DBT data;
	int ret;

	if ((ret = load(aq, txn, id, 1, &r, &data)) < 0 || ret > 1)
		return ret;
	if (ret == 1) {
		if (owner != NULL)
			(void)dbdel(aq, txn, k, aq__key_owner(k, owner, id));
		return AQ_ENOENT;
	}
	if (r.j.state != AQ_ACTIVE || (owner != NULL &&
	    memcmp(r.j.worker, owner, AQ_UUID_LEN) != 0) ||
	    (attempt != 0 && r.j.attempt != attempt))
		return AQ_NO;
	r.j.id = id;
	if ((ret = unindex_active(aq, txn, &r.j)) != 0)
		return ret;
	return requeue(aq, txn, &r, now);
}

static int
expire(struct aq *aq, DB_TXN *txn, aq_time now, int *changed)
{
	unsigned char p = K_LEASE, k[AQ__KEY_MAX];
	size_t kn;
	aq_time t;
	int i, ret;

	for (i = 0; i < EXPIRE_MAX; i++) {
		ret = peek(aq, txn, &p, 1, k, &kn, NULL, NULL);
		if (ret == DB_NOTFOUND)
			return 0;
		if (ret != 0)
			return ret;
		t = (aq_time)(aq__get64(k + 1) ^ ((uint64_t)1 << 63));
		if (t > now)
			return 0;
		if ((ret = interrupt(aq, txn, aq__get64(k + 9), t, now)) != 0)
			return ret;
		*changed = 1;
	}
	return 0;
}

/* Whether queue q is paused. */
static int
paused(struct aq *aq, DB_TXN *txn, const char *q)
{
	unsigned char k[1 + AQ_NAME_MAX + 1], v[12];
	size_t qn = strlen(q);
	DBT key, data;

	k[0] = K_QUEUE;
	memcpy(k + 1, q, qn);
	DBT_INIT(key, k, qn + 1);
	memset(&data, 0, sizeof(data));
	data.data = v;
	data.ulen = sizeof(v);
	data.flags = DB_DBT_USERMEM;
	if (aq->db->get(aq->db, txn, &key, &data, 0) != 0 || data.size < 12)
		return 0;
	return (aq__get32(v + 8) & AQ__QUEUE_PAUSED) != 0;
}

/*
 * The first ready key of queue q that the filter accepts (NULL: any),
 * into out.  A filter looks at FILTER_SCAN jobs at most: further jobs
 * wait until those ahead of them have gone.  DB_NOTFOUND if none.
 */
static int
head(struct aq *aq, DB_TXN *txn, const char *q, const char *filter,
    unsigned char *out, size_t *outn)
{
	unsigned char pre[1 + AQ_NAME_MAX + 1], k[AQ__ANYKEY_MAX];
	char name[AQ_NAME_MAX + 1];
	size_t qn = strlen(q);
	DBT key, data;
	DBC *c;
	int ret, r2, i, flag = DB_SET_RANGE;

	pre[0] = K_READY;
	memcpy(pre + 1, q, qn + 1);
	if (filter == NULL)
		return peek(aq, txn, pre, qn + 2, out, outn, NULL, NULL);
	if ((ret = aq->db->cursor(aq->db, txn, &c, DB_READ_COMMITTED)) != 0)
		return ret;
	memcpy(k, pre, qn + 2);
	aq__dbt_buf(&key, k, qn + 2, sizeof(k));
	aq__dbt_part(&data, name, sizeof(name) - 1);
	for (i = 0, ret = DB_NOTFOUND; i < FILTER_SCAN; i++) {
		if ((ret = c->get(c, &key, &data, flag)) != 0)
			break;
		flag = DB_NEXT;
		if (key.size < qn + 2 || key.size > AQ__KEY_MAX ||
		    memcmp(k, pre, qn + 2) != 0) {
			ret = DB_NOTFOUND;
			break;
		}
		name[data.size] = '\0';
		if (fnmatch(filter, name, 0) == 0) {
			memcpy(out, k, key.size);
			*outn = key.size;
			break;
		}
		ret = DB_NOTFOUND;
	}
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	return ret;
}

/* Keep the best of the heads: same tail layout after the queue name. */
static void
best_of(const unsigned char *k, size_t kn, size_t qn, unsigned char *best,
    size_t *bn, size_t *bq)
{
	if (*bn == 0 || memcmp(k + qn + 2, best + *bq, 20) < 0) {
		memcpy(best, k, kn);
		*bn = kn;
		*bq = qn + 2;
	}
}

/* The best head of every queue ("*") that is not paused. */
static int
head_all(struct aq *aq, DB_TXN *txn, const char *filter, unsigned char *best,
    size_t *bn, size_t *bq)
{
	unsigned char k[AQ__KEY_MAX], qk[AQ__ANYKEY_MAX], v[12];
	char q[AQ_NAME_MAX + 1];
	DBT key, data;
	DBC *c;
	size_t kn;
	int ret, r2, flag = DB_SET_RANGE;

	if ((ret = aq->db->cursor(aq->db, txn, &c, DB_READ_COMMITTED)) != 0)
		return ret;
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	qk[0] = K_QUEUE;
	key.data = qk;
	key.size = 1;
	key.ulen = sizeof(qk);
	key.flags = DB_DBT_USERMEM;
	data.data = v;
	data.ulen = sizeof(v);
	data.dlen = sizeof(v);
	data.flags = DB_DBT_USERMEM | DB_DBT_PARTIAL;
	for (;;) {
		ret = c->get(c, &key, &data, flag);
		flag = DB_NEXT;
		if (ret == DB_NOTFOUND || (ret == 0 && qk[0] != K_QUEUE)) {
			ret = 0;
			break;
		}
		if (ret != 0)
			break;
		if (key.size < 2 || key.size > AQ_NAME_MAX + 1)
			continue;
		if (data.size >= 12 && (aq__get32(v + 8) & AQ__QUEUE_PAUSED))
			continue;
		memcpy(q, qk + 1, key.size - 1);
		q[key.size - 1] = '\0';
		if ((ret = head(aq, txn, q, filter, k, &kn)) == DB_NOTFOUND)
			continue;
		if (ret != 0)
			break;
		best_of(k, kn, key.size - 1, best, bn, bq);
	}
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	return ret;
}

static int
claim_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	static const char *const defq[] = { AQ_DEFAULT_QUEUE };
	struct claim_arg *a = arg;
	const struct aq_claim_opts *o = a->o;
	const char *const *qs = o->queues ? o->queues : defq;
	size_t nq = o->queues ? o->nqueues : 1;
	unsigned char best[AQ__KEY_MAX], k[AQ__KEY_MAX];
	char jname[AQ_NAME_MAX + 1];
	size_t bn = 0, bq = 0, kn, i;
	int tries, all = 0, refilled = 0, ret;

	/*
	 * Nothing claimed still commits: promotions, interruptions,
	 * expiries and parkings made on the way must stay.  res[0] 0 says
	 * "none".
	 */
	aq->res[0] = aq->res[1] = 0;
	a->changed = 0;
	a->more = 0;
	if ((ret = promote(aq, txn, a->now, &a->next, &a->changed)) != 0 ||
	    (ret = expire(aq, txn, a->now, &a->changed)) != 0)
		return ret;
	/*
	 * A worker judged dead meanwhile (stopped too long, say) owns nothing
	 * now; what it claims from here on must not be taken away again by
	 * the same judgement, so it comes back to life first.
	 */
	if (o->lease == AQ_LEASE_WORKER &&
	    (ret = aq__worker_alive(aq, txn, o->owner, a->now,
	    &a->changed)) != 0)
		return ret;
	for (i = 0; i < nq; i++)
		if (strcmp(qs[i], "*") == 0)
			all = 1;
	for (tries = 0; tries < CLAIM_TRIES; tries++) {
		const char *full;
		struct aq__rec r;
		DBT key, data;
		uint64_t id;

		bn = 0;
		if (all && (ret = head_all(aq, txn, o->filter, best, &bn,
		    &bq)) != 0)
			return ret;
		for (i = 0; !all && i < nq; i++) {
			size_t qn = strlen(qs[i]);

			if (paused(aq, txn, qs[i]))
				continue;
			ret = head(aq, txn, qs[i], o->filter, k, &kn);
			if (ret == DB_NOTFOUND)
				continue;
			if (ret != 0)
				return ret;
			best_of(k, kn, qn, best, &bn, &bq);
		}
		if (bn == 0) {
			uint64_t moved = 0;

			/* Jobs parked behind quotas with room: once a claim. */
			if (!refilled &&
			    (ret = aq__quota_refill(aq, txn, &moved)) != 0)
				return ret;
			refilled = 1;
			if (moved > 0) {
				a->changed = 1;
				continue;
			}
			/* abort (no fsync) unless we wrote */
			return a->changed ? AQ_OK : AQ_NO;
		}
		DBT_INIT(key, best, bn);
		memset(&data, 0, sizeof(data));
		data.data = jname;
		data.ulen = sizeof(jname) - 1;
		data.flags = DB_DBT_USERMEM;
		ret = aq->db->get(aq->db, txn, &key, &data, DB_RMW);
		if (ret == DB_NOTFOUND)
			continue;	/* another claimer took it */
		if (ret != 0)
			return ret;
		jname[data.size] = '\0';
		id = aq__get64(best + bn - 8);
		if ((ret = load(aq, txn, id, 1, &r, &data)) < 0 || ret > 1)
			return ret;
		/* Ahead of need: not a job that must start at its claim. */
		if ((o->flags & AQ_CLAIM_AHEAD) && ret == 0 &&
		    r.j.state == AQ_PENDING &&
		    ((r.j.flags & AQ_JOB_AT_MOST_ONCE) || r.j.deadline != 0))
			return a->changed ? AQ_OK : AQ_NO;
		a->changed = 1;
		if (ret == 1 || r.j.state != AQ_PENDING) {
			/* a stray entry: gone now */
			if ((ret = dbdel(aq, txn, best, bn)) != 0)
				return ret;
			continue;
		}
		if ((ret = dbdel(aq, txn, best, bn)) != 0)
			return ret;
		r.j.id = id;
		/* A deadline is a time to begin by: a job that ran has begun. */
		if (r.j.deadline != 0 && r.j.deadline < a->now &&
		    r.j.attempt == 0) {
			r.j.state = AQ_DONE;
			r.j.outcome = AQ_OUT_EXPIRED;
			r.j.ended = a->now;
			if ((ret = store(aq, txn, &r.j, &r, 0)) != 0 ||
			    (ret = aq__stat(aq, txn, a->now, AQ__ST_ENDED,
			    AQ_OUT_EXPIRED, -1, id)) != 0 ||
			    (ret = aq__job_ended(aq, txn, &r.j, a->now,
			    NULL)) != 0)
				return ret;
			continue;
		}
		/* A quota full now: wait behind it, out of the way. */
		if (r.j.quotas != NULL) {
			if ((ret = aq__quota_full(aq, txn, &r.j, &full)) != 0)
				return ret;
			if (full != NULL) {
				if ((ret = aq__quota_park(aq, txn, full, best,
				    bn, jname)) != 0)
					return ret;
				continue;
			}
		}
		r.j.state = AQ_ACTIVE;
		r.j.attempt++;
		r.j.flags &= ~(unsigned)AQ__JOB_HEAD;
		memcpy(r.j.worker, o->owner, AQ_UUID_LEN);
		r.j.agent = (char *)o->agent;
		/* A worker's jobs have no lease: its pings stand for it. */
		r.j.lease = o->lease == AQ_LEASE_WORKER ? 0 : a->now +
		    (o->lease > 0 ? o->lease : AQ_LEASE_DEFAULT);
		r.j.started = a->now;
		r.j.ended = 0;
		r.j.exit_code = -1;
		r.j.signal = 0;
		r.j.utime = r.j.stime = r.j.maxrss = 0;
		r.j.output_size = r.j.output_cap = 0;
		if ((ret = store(aq, txn, &r.j, &r, 0)) != 0 ||
		    (r.j.lease != 0 && (ret = dbput(aq, txn, k,
		    aq__key_lease(k, r.j.lease, id), NULL, 0)) != 0) ||
		    (ret = dbput(aq, txn, k, aq__key_owner(k, o->owner, id),
		    NULL, 0)) != 0 ||
		    (ret = aq__quota_take(aq, txn, &r.j)) != 0 ||
		    (ret = aq__stat(aq, txn, a->now, AQ__ST_STARTED, AQ_NONE,
		    0, id)) != 0)
			return ret;
		aq->res[0] = id;
		/* The claimer gets the job from this transaction: no second. */
		aq_job_free(a->job);
		return fetch(aq, txn, id, &a->job);
	}
	a->more = 1;	/* parked many: the caller goes on */
	return AQ_OK;
}

static int	claim_rest(struct aq *, struct claim_arg *, int,
		    struct aq_job **, aq_time *);

/* The claimer's queues must be names: checked before any transaction. */
static int
claim_check(const struct aq_claim_opts *o)
{
	size_t i;

	for (i = 0; o->queues != NULL && i < o->nqueues; i++)
		if (!aq_valid_name(o->queues[i]))
			return aq__err(AQ_EINPUT, "bad queue name '%s'",
			    o->queues[i]);
	return AQ_OK;
}

int
aq_claim(struct aq *aq, const struct aq_claim_opts *o, struct aq_job **jobp,
    aq_time *next)
{
	struct claim_arg a;
	int rc;

	*jobp = NULL;
	if (next != NULL)
		*next = 0;
	if ((rc = claim_check(o)) != AQ_OK)
		return rc;
	/* Claimers are how dead workers get noticed; once a second will do. */
	if (!(o->flags & AQ_CLAIM_NO_REAP) && aq__reap_due(aq))
		(void)aq_reap(aq, NULL, NULL);
	a.o = o;
	a.job = NULL;
	a.next = 0;
	a.more = 1;	/* to claim at all */
	aq->res[0] = 0;
	return claim_rest(aq, &a, AQ_OK, jobp, next);
}

/*
 * Claim on while the last claim parked jobs and took none (a->more), then
 * hand over the job, as aq_claim() says.  rc: how the last claim went.
 */
static int
claim_rest(struct aq *aq, struct claim_arg *a, int rc, struct aq_job **jobp,
    aq_time *next)
{
	while (rc == AQ_OK && aq->res[0] == 0 && a->more) {
		a->now = aq_now();
		rc = aq__run(aq, claim_op, a, AQ__WRITE);
	}
	if (rc == AQ_NO || (rc == AQ_OK && aq->res[0] == 0)) {
		aq_job_free(a->job);
		if (next != NULL)
			*next = a->next;
		return aq__err(AQ_NO, "nothing to claim");
	}
	if (rc != AQ_OK) {
		aq_job_free(a->job);
		return rc;
	}
	/*
	 * A retry after a step-out finds the claim's token and skips the op:
	 * then the job is read on its own.
	 */
	if (a->job == NULL || a->job->id != aq->res[0]) {
		aq_job_free(a->job);
		return aq_get(aq, aq->res[0], jobp);
	}
	*jobp = a->job;
	return AQ_OK;
}

/* ---- done, release, touch ---- */

static int64_t	retry_delay(int64_t, int);

struct end_arg {
	uint64_t		 id;
	const unsigned char	*owner;
	const struct aq_result	*r;
	int64_t			 delta;	/* release delay, touch lease */
	int			 what;
	int			 attempt;
	aq_time			 now;
};
enum { E_DONE, E_RELEASE, E_TOUCH };

static int
end_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct end_arg *a = arg;
	unsigned char k[AQ__KEY_MAX];
	struct aq__rec r;
	DBT data;
	int ret;

	if ((ret = load_known(aq, txn, a->id, 1, &r, &data)) != 0)
		return ret;
	if (r.j.state != AQ_ACTIVE)
		return aq__err(AQ_NO, "job '%llu' is not active",
		    (unsigned long long)a->id);
	if (a->owner != NULL && memcmp(a->owner, r.j.worker, AQ_UUID_LEN))
		return aq__err(AQ_NO, "job '%llu' is held by another claimer",
		    (unsigned long long)a->id);
	if (a->owner == NULL && r.j.lease == 0)
		return aq__err(AQ_NO, "job '%llu' is run by a worker",
		    (unsigned long long)a->id);
	if (a->attempt != 0 && a->attempt != r.j.attempt)
		return aq__err(AQ_NO, "job '%llu' is in another attempt",
		    (unsigned long long)a->id);
	r.j.id = a->id;
	if (a->what == E_TOUCH) {
		if ((ret = dbdel(aq, txn, k, aq__key_lease(k, r.j.lease,
		    a->id))) != 0)
			return ret;
		r.j.lease = a->now + a->delta;
		if ((ret = dbput(aq, txn, k, aq__key_lease(k, r.j.lease,
		    a->id), NULL, 0)) != 0)
			return ret;
		return store(aq, txn, &r.j, &r, 0);
	}
	if ((ret = unindex_active(aq, txn, &r.j)) != 0)
		return ret;
	r.j.lease = 0;
	if (a->what == E_RELEASE) {
		if ((ret = history(aq, txn, &r.j, AQ__RUN_RELEASED, a->now)) != 0)
			return ret;
		r.j.state = AQ_PENDING;
		if (a->delta > 0)
			r.j.begin = a->now + a->delta;
		if ((ret = store(aq, txn, &r.j, &r, 0)) != 0)
			return ret;
		return index_pending(aq, txn, &r.j, a->now);
	}
	/* Claimed ahead of need: the run began later than the claim. */
	if (a->r->started > r.j.started)
		r.j.started = a->r->started;
	r.j.ended = a->r->ended > 0 ? a->r->ended : a->now;
	r.j.exit_code = a->r->exit_code;
	r.j.signal = a->r->signal;
	r.j.utime = a->r->utime;
	r.j.stime = a->r->stime;
	r.j.maxrss = a->r->maxrss;
	r.j.output_size = a->r->output_size;
	r.j.output_cap = a->r->output_cap;
	if (a->r->outcome != AQ_NONE)
		r.j.outcome = a->r->outcome;
	else if (a->r->signal == 0 && a->r->exit_code == 0)
		r.j.outcome = AQ_OUT_OK;
	else
		r.j.outcome = AQ_OUT_FAILED;
	/*
	 * Cancelled, and it ended before its worker could stop it: an ok
	 * end stands; any other is the cancel's, and is not retried.
	 */
	if (r.j.flags & AQ__JOB_CANCEL) {
		if (r.j.outcome != AQ_OUT_OK)
			r.j.outcome = AQ_OUT_CANCELLED;
		if ((ret = dbdel(aq, txn, k, cancel_key(k, r.j.worker,
		    a->id))) != 0)
			return ret;
		r.j.flags &= ~(unsigned)AQ__JOB_CANCEL;
	}
	if ((ret = aq__stat(aq, txn, a->now, AQ__ST_ENDED, r.j.outcome,
	    r.j.ended - r.j.started, a->id)) != 0 ||
	    (ret = history(aq, txn, &r.j, AQ__RUN_ENDED, a->now)) != 0)
		return ret;
	if (r.j.outcome == AQ_OUT_FAILED || r.j.outcome == AQ_OUT_TIMEOUT)
		r.j.failures++;
	if ((r.j.outcome == AQ_OUT_FAILED || r.j.outcome == AQ_OUT_TIMEOUT) &&
	    r.j.failures <= r.j.retries) {
		/* The outcome stays as a record of the run that failed. */
		r.j.state = AQ_PENDING;
		r.j.begin = a->now + retry_delay(r.j.retry_delay,
		    r.j.failures);
		if ((ret = aq__stat(aq, txn, a->now, AQ__ST_RETRIED, AQ_NONE,
		    0, a->id)) != 0 ||
		    (ret = store(aq, txn, &r.j, &r, 0)) != 0)
			return ret;
		return index_pending(aq, txn, &r.j, a->now);
	}
	/* Its run ended, its children have not: it waits for them. */
	if (r.j.kids > 0 && r.j.outcome != AQ_OUT_CANCELLED) {
		r.j.flags |= AQ__JOB_AWAIT;
		r.j.own_outcome = r.j.outcome;
		r.j.outcome = AQ_NONE;
		return store(aq, txn, &r.j, &r, 0);
	}
	/* Its children ended before it did: one that failed fails it. */
	if (r.j.kidfail && r.j.outcome == AQ_OUT_OK)
		r.j.outcome = AQ_OUT_FAILED;
	r.j.state = AQ_DONE;
	if ((ret = store(aq, txn, &r.j, &r, 0)) != 0)
		return ret;
	return aq__job_ended(aq, txn, &r.j, a->now, NULL);
}

/* The delay before retry number n (from 1): doubled each time, +-10%. */
static int64_t
retry_delay(int64_t base, int n)
{
	int64_t d = base;
	int i;

	for (i = 1; i < n && d < 365 * 86400 * AQ_SEC; i++)
		d *= 2;
	if (d / 5 > 0)
		d += (int64_t)(random() % (d / 5 + 1)) - d / 10;
	return d;
}

static int
end(struct aq *aq, uint64_t id, const unsigned char *owner,
    const struct aq_result *r, int what, int64_t delta)
{
	struct end_arg a;
	int rc;

	a.id = id;
	a.owner = owner;
	a.r = r;
	a.attempt = r != NULL ? r->attempt : 0;
	a.what = what;
	a.delta = delta;
	a.now = aq_now();
	rc = aq__run(aq, end_op, &a, AQ__WRITE);
	if (rc == AQ_OK && what != E_TOUCH)
		aq__wake(aq);
	return rc;
}

int
aq_done(struct aq *aq, uint64_t id, const unsigned char *owner,
    const struct aq_result *r)
{
	return end(aq, id, owner, r, E_DONE, 0);
}

int
aq_release(struct aq *aq, uint64_t id, const unsigned char *owner,
    int64_t delay)
{
	if (delay < 0)
		return aq__err(AQ_EINPUT, "negative delay");
	return end(aq, id, owner, NULL, E_RELEASE, delay);
}

int
aq_touch(struct aq *aq, uint64_t id, const unsigned char *owner,
    int64_t lease)
{
	if (lease <= 0)
		lease = AQ_LEASE_DEFAULT;
	return end(aq, id, owner, NULL, E_TOUCH, lease);
}

struct intr_arg {
	uint64_t		 id;
	const unsigned char	*owner;
	int			 attempt;
};

static int
intr_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct intr_arg *a = arg;
	int ret;

	ret = aq__interrupt_job(aq, txn, a->id, a->owner, a->attempt,
	    aq_now());
	if (ret == AQ_ENOENT)
		return aq__err(AQ_ENOENT, "no such job '%llu'",
		    (unsigned long long)a->id);
	if (ret == AQ_NO)
		return aq__err(AQ_NO, "job '%llu' is no longer this worker's",
		    (unsigned long long)a->id);
	return ret;
}

/* Run op (intr_op or unclaim_op) on the job; a waiting claimer may
 * take it now. */
static int
give_back(struct aq *aq, uint64_t id, const unsigned char *owner,
    int attempt, aq__op op)
{
	struct intr_arg a;
	int rc;

	a.id = id;
	a.owner = owner;
	a.attempt = attempt;
	if ((rc = aq__run(aq, op, &a, AQ__WRITE)) == AQ_OK)
		aq__wake(aq);
	return rc;
}

int
aq_interrupt(struct aq *aq, uint64_t id, const unsigned char *owner,
    int attempt)
{
	return give_back(aq, id, owner, attempt, intr_op);
}

static int
unclaim_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct intr_arg *a = arg;
	struct aq__rec r;
	DBT data;
	aq_time now = aq_now();
	int ret;

	if ((ret = load_known(aq, txn, a->id, 1, &r, &data)) != 0)
		return ret;
	if (r.j.state != AQ_ACTIVE || memcmp(r.j.worker, a->owner,
	    AQ_UUID_LEN) != 0 || (a->attempt != 0 && r.j.attempt != a->attempt))
		return aq__err(AQ_NO, "job '%llu' is no longer this worker's",
		    (unsigned long long)a->id);
	r.j.id = a->id;
	if ((ret = unindex_active(aq, txn, &r.j)) != 0 ||
	    (ret = aq__stat(aq, txn, r.j.started, AQ__ST_UNSTARTED, AQ_NONE,
	    0, a->id)) != 0)
		return ret;
	/* Cancelled before it ran: it never will. */
	if (r.j.flags & AQ__JOB_CANCEL)
		return end_cancelled(aq, txn, &r, now);
	r.j.state = AQ_PENDING;
	r.j.attempt--;
	r.j.lease = 0;
	r.j.started = 0;
	r.j.flags |= AQ__JOB_HEAD;	/* where it was */
	if ((ret = store(aq, txn, &r.j, &r, 0)) != 0)
		return ret;
	return index_pending(aq, txn, &r.j, now);
}

int
aq_unclaim(struct aq *aq, uint64_t id, const unsigned char *owner,
    int attempt)
{
	/* Only the claimer knows that the job never started. */
	if (owner == NULL)
		return aq__err(AQ_EINPUT, "no owner for job '%llu'",
		    (unsigned long long)id);
	return give_back(aq, id, owner, attempt, unclaim_op);
}

/* ---- ends and the next claim, at once ---- */

struct end_claim_arg {
	const unsigned char	*owner;
	struct aq_end		*ends;
	size_t			 n;
	struct claim_arg	*claim;		/* NULL: no claim */
	int			 ended;		/* ends written */
};

static int
end_claim_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct end_claim_arg *a = arg;
	struct end_arg ea;
	struct intr_arg ia;
	struct aq_end *e;
	size_t i;
	int ret;

	a->ended = 0;
	for (i = 0; i < a->n; i++) {
		e = &a->ends[i];
		if (e->how == AQ_END_DONE) {
			memset(&ea, 0, sizeof(ea));
			ea.id = e->id;
			ea.owner = a->owner;
			ea.r = &e->r;
			ea.attempt = e->r.attempt;
			ea.what = E_DONE;
			ea.now = aq_now();
			ret = end_op(aq, txn, &ea);
		} else {
			ia.id = e->id;
			ia.owner = a->owner;
			ia.attempt = e->r.attempt;
			ret = (e->how == AQ_END_UNCLAIM ? unclaim_op :
			    intr_op)(aq, txn, &ia);
		}
		/* Refused before it wrote anything: the others go on. */
		e->rc = ret;
		if (ret == AQ_NO || ret == AQ_ENOENT)
			continue;
		if (ret != 0)
			return ret;
		a->ended++;
	}
	if (a->claim == NULL)
		return a->ended > 0 ? 0 : AQ_NO;
	a->claim->now = aq_now();
	ret = claim_op(aq, txn, a->claim);
	/* Nothing claimed, nothing else written: the ends still are. */
	if (ret == AQ_NO && a->ended > 0)
		return 0;
	return ret;
}

int
aq_end_claim(struct aq *aq, const unsigned char *owner, struct aq_end *ends,
    size_t n, const struct aq_claim_opts *o, struct aq_job **jobp,
    aq_time *next)
{
	struct end_claim_arg a;
	struct claim_arg c;
	size_t i;
	int rc;

	if (jobp != NULL)
		*jobp = NULL;
	if (next != NULL)
		*next = 0;
	rc = AQ_OK;
	if (owner == NULL && n > 0)
		rc = aq__err(AQ_EINPUT, "no owner for the ends");
	else if (o != NULL && jobp == NULL)
		rc = aq__err(AQ_EINPUT, "no place for the job claimed");
	else if (o != NULL)
		rc = claim_check(o);
	for (i = 0; i < n; i++)
		ends[i].rc = rc == AQ_OK ? AQ_NO : rc;
	if (rc != AQ_OK)
		return rc;
	if (o != NULL && !(o->flags & AQ_CLAIM_NO_REAP) && aq__reap_due(aq))
		(void)aq_reap(aq, NULL, NULL);
	a.owner = owner;
	a.ends = ends;
	a.n = n;
	a.claim = NULL;
	if (o != NULL) {
		c.o = o;
		c.job = NULL;
		c.next = 0;
		a.claim = &c;
	}
	aq->res[0] = 0;
	rc = aq__run(aq, end_claim_op, &a, AQ__WRITE);
	if (rc == AQ_OK && a.ended > 0)
		aq__wake(aq);
	/* Nothing written: each end says so. */
	if (rc != AQ_OK && rc != AQ_NO)
		for (i = 0; i < n; i++)
			ends[i].rc = rc;
	if (o == NULL)
		return rc == AQ_NO ? AQ_OK : rc;
	return claim_rest(aq, &c, rc, jobp, next);
}

/* ---- cancelling ---- */

struct cancel_arg {
	uint64_t	 id;
	aq_time		 now;
	int		 asked;		/* its worker is to stop it */
};

static int
cancel_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct cancel_arg *a = arg;
	unsigned char k[AQ__KEY_MAX];
	struct aq__rec r;
	DBT data;
	int ret;

	a->asked = 0;
	if ((ret = load_known(aq, txn, a->id, 1, &r, &data)) != 0)
		return ret;
	r.j.id = a->id;
	if (r.j.state == AQ_DONE)
		return aq__err(AQ_NO, "job '%llu' is done already (%s)",
		    (unsigned long long)a->id, aq_outcome_name(r.j.outcome));
	if (r.j.state == AQ_PENDING) {
		if ((ret = aq__unindex_pending(aq, txn, &r.j)) != 0 ||
		    (ret = aq__deps_drop(aq, txn, &r.j, r.afterp)) != 0)
			return ret;
		r.j.waits = 0;
	} else if (!(r.j.flags & AQ__JOB_AWAIT) && r.j.lease == 0) {
		/* A worker runs it: it stops the job and records the end. */
		a->asked = 1;
		if (r.j.flags & AQ__JOB_CANCEL)
			return 0;	/* asked before: -w waits all the same */
		r.j.flags |= AQ__JOB_CANCEL;
		if ((ret = dbput(aq, txn, k, cancel_key(k, r.j.worker, a->id),
		    NULL, 0)) != 0)
			return ret;
		return store(aq, txn, &r.j, &r, 0);
	} else if (!(r.j.flags & AQ__JOB_AWAIT)) {
		/* Claimed by aq-claim: nobody here can stop it; it is over. */
		if ((ret = unindex_active(aq, txn, &r.j)) != 0 ||
		    (ret = history(aq, txn, &r.j, AQ__RUN_CANCELLED,
		    a->now)) != 0)
			return ret;
		r.j.lease = 0;
	}
	r.j.state = AQ_DONE;
	r.j.outcome = AQ_OUT_CANCELLED;
	r.j.ended = a->now;
	r.j.flags &= ~(unsigned)(AQ__JOB_AWAIT | AQ__JOB_CANCEL);
	if ((ret = aq__stat(aq, txn, a->now, AQ__ST_ENDED, AQ_OUT_CANCELLED,
	    -1, a->id)) != 0 ||
	    (ret = store(aq, txn, &r.j, &r, 0)) != 0)
		return ret;
	return aq__job_ended(aq, txn, &r.j, a->now, NULL);
}

int
aq_cancel(struct aq *aq, uint64_t id, int *asked)
{
	struct cancel_arg a;
	int rc;

	a.id = id;
	a.now = aq_now();
	a.asked = 0;
	if ((rc = aq__run(aq, cancel_op, &a, AQ__WRITE)) == AQ_OK)
		aq__wake(aq);
	if (asked != NULL)
		*asked = a.asked;
	return rc;
}

struct asked_arg {
	const unsigned char	*owner;
	uint64_t		*ids;
	size_t			 max, n;
};

static int
asked_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct asked_arg *a = arg;
	unsigned char pre[1 + AQ_UUID_LEN], k[AQ__ANYKEY_MAX];
	DBT key, data;
	DBC *c;
	int ret, r2, flag = DB_SET_RANGE;

	a->n = 0;
	pre[0] = K_CANCEL;
	memcpy(pre + 1, a->owner, AQ_UUID_LEN);
	if ((ret = aq->db->cursor(aq->db, txn, &c, DB_READ_COMMITTED)) != 0)
		return ret;
	memcpy(k, pre, sizeof(pre));
	aq__dbt_buf(&key, k, sizeof(pre), sizeof(k));
	aq__dbt_part(&data, NULL, 0);
	while (a->n < a->max) {
		ret = c->get(c, &key, &data, flag);
		flag = DB_NEXT;
		if (ret == DB_NOTFOUND || (ret == 0 &&
		    (key.size != sizeof(pre) + 8 ||
		    memcmp(k, pre, sizeof(pre)) != 0))) {
			ret = 0;
			break;
		}
		if (ret != 0)
			break;
		a->ids[a->n++] = aq__get64(k + sizeof(pre));
	}
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	return ret;
}

int
aq_cancels(struct aq *aq, const unsigned char *owner, uint64_t *ids,
    size_t max, size_t *n)
{
	struct asked_arg a;
	int rc;

	a.owner = owner;
	a.ids = ids;
	a.max = max;
	a.n = 0;
	rc = aq__run(aq, asked_op, &a, AQ__NOINGEST);
	*n = rc == AQ_OK ? a.n : 0;
	return rc;
}

/* ---- changing pending jobs ---- */

/* Take a pending job out of whichever index holds it. */
int
aq__unindex_pending(struct aq *aq, DB_TXN *txn, const struct aq_job *j)
{
	unsigned char k[AQ__ANYKEY_MAX], rk[AQ__KEY_MAX];
	size_t rn, i, n;
	int ret;

	rn = aq__job_rkey(j, rk);
	if ((ret = dbdel(aq, txn, rk, rn)) != 0 ||
	    (ret = dbdel(aq, txn, k, aq__key_sched(k, j->begin, j->id))) != 0)
		return ret;
	for (i = 0; j->quotas != NULL && j->quotas[i] != NULL; i++) {
		n = strlen(j->quotas[i]);
		k[0] = K_PARK;
		memcpy(k + 1, j->quotas[i], n + 1);
		memcpy(k + n + 2, rk + rn - 20, 20);
		if ((ret = dbdel(aq, txn, k, n + 22)) != 0)
			return ret;
	}
	return 0;
}

struct change_arg {
	const uint64_t		*ids;
	size_t			 n;
	const struct aq_change	*c;
	const char		*qp;	/* the new quotas, joined */
	size_t			 qlen;
	aq_time			 now;
};

static int
change_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct change_arg *a = arg;
	const struct aq_change *c = a->c;
	struct aq__rec r;
	DBT data;
	size_t i, k;
	int ret;

	for (i = 0; i < a->n; i++) {
		if ((ret = load_known(aq, txn, a->ids[i], 1, &r, &data)) != 0)
			return ret;
		if (r.j.state != AQ_PENDING)
			return aq__err(AQ_NO, "job '%llu' is not pending",
			    (unsigned long long)a->ids[i]);
		r.j.id = a->ids[i];
		if ((ret = aq__unindex_pending(aq, txn, &r.j)) != 0)
			return ret;
		if (c->what & AQ_CHANGE_HOLD)
			r.j.flags |= AQ_JOB_HOLD;
		if (c->what & AQ_CHANGE_RELEASE)
			r.j.flags &= ~(unsigned)AQ_JOB_HOLD;
		if (c->what & AQ_CHANGE_PRIORITY)
			r.j.priority = c->priority;
		if (c->what & AQ_CHANGE_QUOTAS) {
			r.quotasp = a->qp;
			r.quotaslen = a->qlen;
			for (k = 0; c->quotas != NULL && c->quotas[k] != NULL;
			    k++)
				r.qv[k] = c->quotas[k];
			r.qv[k] = NULL;
			r.j.quotas = k > 0 ? (char **)r.qv : NULL;
			if ((ret = aq__quota_known(aq, txn, &r.j)) != 0)
				return ret;
		}
		if ((ret = store(aq, txn, &r.j, &r, 0)) != 0 ||
		    (ret = index_pending(aq, txn, &r.j, a->now)) != 0)
			return ret;
	}
	return 0;
}

int
aq_change(struct aq *aq, const uint64_t *ids, size_t n,
    const struct aq_change *c)
{
	struct change_arg a;
	char *qp = NULL;
	size_t i, k, len = 0;
	int rc;

	if ((c->what & AQ_CHANGE_HOLD) && (c->what & AQ_CHANGE_RELEASE))
		return aq__err(AQ_EINPUT, "both hold and release");
	if ((c->what & AQ_CHANGE_PRIORITY) && (c->priority < -1000000 ||
	    c->priority > 1000000))
		return aq__err(AQ_EINPUT, "bad priority '%d'",
		    (int)c->priority);
	for (k = 0; (c->what & AQ_CHANGE_QUOTAS) && c->quotas != NULL &&
	    c->quotas[k] != NULL; k++) {
		if (!aq_valid_name(c->quotas[k]))
			return aq__err(AQ_EINPUT, "bad quota name '%s'",
			    c->quotas[k]);
		if (k == AQ_QUOTAS_MAX)
			return aq__err(AQ_EINPUT, "more than %d quotas",
			    AQ_QUOTAS_MAX);
		for (i = 0; i < k; i++)
			if (strcmp(c->quotas[i], c->quotas[k]) == 0)
				return aq__err(AQ_EINPUT, "quota '%s' named "
				    "twice", c->quotas[k]);
		len += strlen(c->quotas[k]) + 1;
	}
	if (len > 0) {
		char *p;

		if ((qp = malloc(len)) == NULL)
			return aq__err(AQ_EAGAIN, "out of memory");
		for (p = qp, i = 0; i < k; i++) {
			memcpy(p, c->quotas[i], strlen(c->quotas[i]) + 1);
			p += strlen(c->quotas[i]) + 1;
		}
	}
	a.ids = ids;
	a.n = n;
	a.c = c;
	a.qp = qp;
	a.qlen = len;
	a.now = aq_now();
	if ((rc = aq__run(aq, change_op, &a, AQ__WRITE)) == AQ_OK)
		aq__wake(aq);
	free(qp);
	return rc;
}

/* ---- get ---- */

struct get_arg {
	uint64_t	 id;
	struct aq_job	*job;
};

/* Read job id with its environment into one malloc'd block, in txn. */
static int
fetch(struct aq *aq, DB_TXN *txn, uint64_t id, struct aq_job **jobp)
{
	struct aq__rec r;
	DBT data, key, env;
	unsigned char k[9];
	int ret;

	*jobp = NULL;
	memset(&env, 0, sizeof(env));
	/*
	 * The record in memory of its own, so that reading the environment
	 * next cannot overwrite it: one read each (a worker fetches every
	 * job it claims).
	 */
	ret = load_into(aq, txn, id, 0, &r, &data, 1);
	if (ret == 1)
		ret = aq__err(AQ_ENOENT, "no such job '%llu'",
		    (unsigned long long)id);
	if (ret == 0 && r.envkey != 0) {
		k[0] = K_ENVBLOB;
		aq__be64(k + 1, r.envkey);
		DBT_INIT(key, k, 9);
		env.flags = DB_DBT_MALLOC;
		if ((ret = aq->db->get(aq->db, txn, &key, &env, 0)) ==
		    DB_NOTFOUND)
			ret = 0;
	}
	if (ret == 0) {
		r.j.id = id;
		r.j.reason = aq__reason(&r.j, aq_now());
		if (r.j.reason == AQ_READY && r.j.quotas != NULL &&
		    aq__quota_blocked(aq, txn, &r.j))
			r.j.reason = AQ_QUOTA;
		if ((*jobp = aq__job_pack(&r, env.data, env.size)) == NULL)
			ret = ENOMEM;
	}
	aq__free(env.data);
	aq__free(data.data);
	return ret;
}

static int
get_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct get_arg *a = arg;

	aq_job_free(a->job);
	return fetch(aq, txn, a->id, &a->job);
}

int
aq_get(struct aq *aq, uint64_t id, struct aq_job **jobp)
{
	struct get_arg a;
	int rc;

	a.id = id;
	a.job = NULL;
	*jobp = NULL;
	if ((rc = aq__run(aq, get_op, &a, 0)) != AQ_OK) {
		aq_job_free(a.job);
		return rc;
	}
	*jobp = a.job;
	return AQ_OK;
}

/* ---- waiting ---- */

int
aq_claim_wait(struct aq *aq, const struct aq_claim_opts *o, int64_t timeout,
    int64_t pollus, struct aq_job **jobp)
{
	aq_time deadline, next;
	int fd, rc;

	deadline = timeout < 0 ? INT64_MAX : aq_now() + timeout;
	/* Watch before trying, so a put after the try is never missed. */
	fd = aq_watch(aq);
	if (pollus <= 0)
		pollus = 5 * AQ_SEC;
	for (;;) {
		aq__drain(fd);
		if ((rc = aq_claim(aq, o, jobp, &next)) != AQ_NO ||
		    aq_now() >= deadline)
			break;
		/* A scheduled job falls due: claim it then, not at the poll. */
		aq__nap(fd, next > 0 && next < deadline ? next : deadline,
		    pollus);
	}
	if (fd != -1)
		close(fd);
	if (rc == AQ_NO)
		return aq__err(AQ_NO, "nothing to claim");
	return rc;
}
