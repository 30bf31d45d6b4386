/*
 * purge.c: retention.  Done jobs are kept for a while, as zc.async keeps
 * completed jobs, so that people and scripts can look at their outcome
 * and output; then workers forget them, oldest first, a few at a time.
 *
 * The 'F' index ('F' ended id, deps.c) lists done jobs by the time they
 * ended, so a purge reads only what it removes.  A job goes with
 * everything that is about it: its record, its run history ('A'), its
 * notes ('K'), its place among its parent's children ('C'), its own
 * children list, its output file and its share of a stored environment
 * ('G', job.c).  Invariants:
 *  - each transaction purges at most a few dozen jobs: a purge never
 *    holds locks long enough to slow claims down;
 *  - a job that others depend on (depended > 0) stays until every one of
 *    them is purged: the last one takes it along, in its transaction, so
 *    it is not passed over on every later pass.
 * The output file goes after the commit: a kill in between leaves an
 * orphan file, never a job without its output.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define PURGE_VISITS	4	/* entries looked at per job purged, at most */

struct purge_arg {
	aq_time		 before;
	size_t		 max;
	uint64_t	*ids;		/* purged: their output files go */
	size_t		 n, cap;
	uint64_t	*work;		/* jobs to purge along (cascade) */
	size_t		 nwork, capwork;
	unsigned char	 from[18];	/* resume after this 'F' key */
	int		 resume, more;
	int		 wrote;		/* else the transaction is let go */
};

static int
push(uint64_t **v, size_t *n, size_t *cap, uint64_t id)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		uint64_t *p;

		if ((p = aq__realloc(*v, c * sizeof(*p))) == NULL)
			return ENOMEM;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = id;
	return 0;
}

static size_t
fin_key(unsigned char *k, aq_time ended, uint64_t id)
{
	k[0] = K_FINISHED;
	aq__be64(k + 1, (uint64_t)ended ^ ((uint64_t)1 << 63));
	aq__be64(k + 9, id);
	return 17;
}

static int
del_key(struct aq *aq, DB_TXN *txn, const unsigned char *k, size_t kn)
{
	DBT key;
	int ret;

	memset(&key, 0, sizeof(key));
	key.data = (void *)k;
	key.size = (u_int32_t)kn;
	ret = aq->db->del(aq->db, txn, &key, 0);
	return ret == DB_NOTFOUND ? 0 : ret;
}

/*
 * Purge done job id and, along with it, the jobs it depended on that
 * waited only for it.  Returns 0, 1 when id is not to go (yet), or an
 * error.
 */
static int
purge_one(struct aq *aq, DB_TXN *txn, uint64_t id, struct purge_arg *a)
{
	unsigned char k[17], *deps = NULL;
	struct aq__rec r;
	uint64_t envkey, parent;
	aq_time ended;
	size_t ndeps, i;
	int ret;

	if ((ret = aq__load_job(aq, txn, id, 1, &r)) != 0)
		return ret;
	if (r.j.state != AQ_DONE || r.j.depended > 0 ||
	    r.j.ended >= a->before)
		return 1;
	/* The record's memory is the handle's: keep what is needed. */
	envkey = r.envkey;
	parent = r.j.parent;
	ended = r.j.ended;
	ndeps = r.j.nafter;
	if (ndeps > 0) {
		if ((deps = aq__malloc(ndeps * 9)) == NULL)
			return ENOMEM;
		memcpy(deps, r.afterp, ndeps * 9);
	}
	if ((ret = del_key(aq, txn, k, aq__key_job(k, id))) != 0 ||
	    (ret = del_key(aq, txn, k, fin_key(k, ended, id))) != 0)
		goto out;
	k[0] = K_HISTORY;
	aq__be64(k + 1, id);
	if ((ret = aq__del_prefix(aq, txn, k, 9)) != 0)
		goto out;
	k[0] = K_NOTE;
	if ((ret = aq__del_prefix(aq, txn, k, 9)) != 0)
		goto out;
	k[0] = K_CHILD;
	if ((ret = aq__del_prefix(aq, txn, k, 9)) != 0)
		goto out;
	if (parent != 0) {
		aq__be64(k + 1, parent);
		aq__be64(k + 9, id);
		if ((ret = del_key(aq, txn, k, 17)) != 0)
			goto out;
	}
	if (envkey != 0 && (ret = aq__env_ref(aq, txn, envkey, -1, 0)) != 0)
		goto out;
	for (i = 0; i < ndeps; i++) {
		uint64_t dep = aq__get64(deps + 9 * i);

		if ((ret = aq__load_job(aq, txn, dep, 1, &r)) == 1)
			continue;
		if (ret != 0)
			goto out;
		r.j.id = dep;
		if (r.j.depended > 0)
			r.j.depended--;
		if ((ret = aq__store_job(aq, txn, &r)) != 0)
			goto out;
		if (r.j.depended == 0 && r.j.state == AQ_DONE &&
		    r.j.ended < a->before &&
		    (ret = push(&a->work, &a->nwork, &a->capwork, dep)) != 0)
			goto out;
	}
	ret = push(&a->ids, &a->n, &a->cap, id);
out:
	aq__free(deps);
	return ret;
}

static int
purge_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct purge_arg *a = arg;
	unsigned char k[AQ__ANYKEY_MAX];
	DBT key, data;
	DBC *c;
	size_t visits = 0, w;
	int ret;

	/* A retried transaction starts again from the same place. */
	a->n = a->nwork = 0;
	a->more = a->wrote = 0;
	a->resume = aq->purge_resume;
	memcpy(a->from, aq->purge_from, sizeof(a->from));
	for (;;) {
		if (a->n >= a->max || visits >= a->max * PURGE_VISITS) {
			a->more = 1;
			break;
		}
		if ((ret = aq->db->cursor(aq->db, txn, &c, 0)) != 0)
			return ret;
		/* Strictly after the last key looked at: it and a NUL. */
		if (a->resume) {
			memcpy(k, a->from, 18);
			aq__dbt_buf(&key, k, 18, sizeof(k));
		} else {
			k[0] = K_FINISHED;
			aq__dbt_buf(&key, k, 1, sizeof(k));
		}
		aq__dbt_part(&data, NULL, 0);
		ret = c->get(c, &key, &data, DB_SET_RANGE);
		c->close(c);
		if (ret == DB_NOTFOUND || (ret == 0 && (key.size != 17 ||
		    k[0] != K_FINISHED || (aq_time)(aq__get64(k + 1) ^
		    ((uint64_t)1 << 63)) >= a->before))) {
			/* All done to the cut-off: next time from the start. */
			a->resume = 0;
			break;
		}
		if (ret != 0)
			return ret;
		visits++;
		memcpy(a->from, k, 17);
		a->from[17] = '\0';
		a->resume = 1;
		if ((ret = purge_one(aq, txn, aq__get64(k + 9), a)) == 1) {
			/* Gone already (a stale entry), or kept for now. */
			struct aq__rec r;

			if ((ret = aq__load_job(aq, txn, aq__get64(k + 9), 0,
			    &r)) == 1 || (ret == 0 && r.j.state != AQ_DONE)) {
				ret = del_key(aq, txn, k, 17);
				a->wrote = 1;
			}
			if (ret != 0)
				return ret;
			continue;
		}
		if (ret != 0)
			return ret;
		a->wrote = 1;
		/* The jobs it held back go along: they are older still. */
		for (w = 0; w < a->nwork; w++)
			if ((ret = purge_one(aq, txn, a->work[w], a)) < 0 ||
			    ret > 1)
				return ret;
		a->nwork = 0;
	}
	/* Nothing old enough: no commit, no log record, no token. */
	return a->wrote ? 0 : AQ_NO;
}

int
aq_purge(struct aq *aq, aq_time before, size_t max, size_t *n, int *more)
{
	struct purge_arg a;
	char path[PATH_MAX + 32];
	size_t i;
	int rc;

	*n = 0;
	*more = 0;
	memset(&a, 0, sizeof(a));
	a.before = before;
	a.max = max > 0 ? max : 1;
	if ((rc = aq__run(aq, purge_op, &a, AQ__WRITE)) == AQ_NO)
		rc = AQ_OK;
	if (rc == AQ_OK) {
		aq->purge_resume = a.resume;
		memcpy(aq->purge_from, a.from, sizeof(aq->purge_from));
		*n = a.n;
		*more = a.more;
		for (i = 0; i < a.n; i++) {
			aq_output_path(aq, a.ids[i], path, sizeof(path));
			if (unlink(path) == -1 && errno != ENOENT &&
			    rc == AQ_OK)
				rc = aq__err(errno == EACCES ? AQ_EPERM :
				    AQ_EAGAIN, "cannot remove '%s': %s", path,
				    strerror(errno));
		}
	}
	aq__free(a.ids);
	aq__free(a.work);
	return rc;
}
