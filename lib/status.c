/*
 * status.c: looking at jobs without getting in anyone's way.
 *
 * Walks read the job records in short read-committed transactions of at
 * most CHUNK jobs, remembering the last id, and hand the jobs to the
 * caller between transactions: a slow reader (a pager) never holds a lock
 * or pins the log, and a recovery can take place between two chunks.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define CHUNK	256

struct walk {
	const struct aq_filter *f;
	uint64_t	 start;		/* first id of this chunk */
	uint64_t	 from;		/* next id to read */
	struct aq_job	*jobs[CHUNK];
	size_t		 n;
	int		 end;
	aq_time		 now;
	struct aq_overview *ov;		/* counting instead of listing */
	struct aq_overview chunk;	/* this chunk's counts */
};

static int
accept(const struct aq_filter *f, const struct aq_job *j)
{
	if (f == NULL)
		return 1;
	if (f->queue != NULL && strcmp(f->queue, j->queue) != 0)
		return 0;
	if (f->state >= 0 && (int)j->state != f->state)
		return 0;
	return 1;
}

static void
drop(struct walk *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		aq_job_free(w->jobs[i]);
	w->n = 0;
}

static int
count(struct aq_overview *ov, const struct aq_job *j)
{
	struct aq_queue_stat *q = NULL;
	size_t i;

	for (i = 0; i < ov->nqueues; i++)
		if (strcmp(ov->queues[i].name, j->queue) == 0) {
			q = &ov->queues[i];
			break;
		}
	if (q == NULL) {
		struct aq_queue_stat *nq;

		nq = aq__realloc(ov->queues, (ov->nqueues + 1) * sizeof(*nq));
		if (nq == NULL)
			return ENOMEM;
		ov->queues = nq;
		q = &nq[ov->nqueues++];
		memset(q, 0, sizeof(*q));
		strlcpy(q->name, j->queue, sizeof(q->name));
	}
	switch (j->state) {
	case AQ_PENDING:
		q->pending[j->reason]++;
		break;
	case AQ_ACTIVE:
		q->active++;
		break;
	case AQ_DONE:
		q->done[j->outcome]++;
		break;
	}
	return 0;
}

static int
walk_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct walk *w = arg;
	unsigned char k[9];
	DBC *c;
	DBT key, data;
	int ret, r2, flag = DB_SET_RANGE;

	/* A retried attempt starts the chunk again from scratch. */
	drop(w);
	aq_overview_free(&w->chunk);
	w->from = w->start;
	w->end = 0;
	if ((ret = aq->db->cursor(aq->db, txn, &c, 0)) != 0)
		return ret;
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	aq__key_job(k, w->from);
	key.data = k;
	key.size = 9;
	key.ulen = 9;
	key.flags = DB_DBT_USERMEM;
	while (w->n < CHUNK) {
		struct aq__rec r;
		uint64_t id;

		key.size = 9;
		ret = c->get(c, &key, &data, flag);
		flag = DB_NEXT;
		if (ret == DB_BUFFER_SMALL || ret == DB_NOTFOUND ||
		    (ret == 0 && k[0] != K_JOB)) {
			w->end = 1;
			ret = 0;
			break;
		}
		if (ret != 0)
			break;
		id = aq__get64(k + 1);
		w->from = id + 1;
		if (aq__job_decode(data.data, data.size, &r) == -1) {
			ret = aq__err(AQ_EINTERNAL, "job %llu: corrupt record",
			    (unsigned long long)id);
			break;
		}
		r.j.id = id;
		r.j.reason = aq__reason(&r.j, w->now);
		if (r.j.reason == AQ_READY && r.j.quotas != NULL &&
		    aq__quota_blocked(aq, txn, &r.j))
			r.j.reason = AQ_QUOTA;
		if (w->ov != NULL) {
			if ((ret = count(&w->chunk, &r.j)) != 0)
				break;
			continue;
		}
		if (!accept(w->f, &r.j))
			continue;
		if ((w->jobs[w->n] = aq__job_pack(&r, NULL, 0)) == NULL) {
			ret = ENOMEM;
			break;
		}
		w->n++;
	}
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	return ret;
}

int
aq_list(struct aq *aq, const struct aq_filter *f,
    int (*fn)(const struct aq_job *, void *), void *arg)
{
	struct walk w;
	size_t i;
	int rc = AQ_OK;

	memset(&w, 0, sizeof(w));
	w.f = f;
	w.start = 1;
	w.now = aq_now();
	do {
		if ((rc = aq__run(aq, walk_op, &w, 0)) != AQ_OK)
			break;
		w.start = w.from;
		for (i = 0; i < w.n && rc == AQ_OK; i++)
			rc = fn(w.jobs[i], arg);
		drop(&w);
	} while (rc == AQ_OK && !w.end);
	drop(&w);
	return rc;
}

static int
merge(struct aq_overview *ov, const struct aq_overview *c)
{
	size_t i, k, q;

	for (i = 0; i < c->nqueues; i++) {
		for (q = 0; q < ov->nqueues; q++)
			if (strcmp(ov->queues[q].name, c->queues[i].name) == 0)
				break;
		if (q == ov->nqueues) {
			struct aq_queue_stat *nq;

			nq = aq__realloc(ov->queues, (q + 1) * sizeof(*nq));
			if (nq == NULL)
				return -1;
			ov->queues = nq;
			memset(&nq[q], 0, sizeof(*nq));
			strlcpy(nq[q].name, c->queues[i].name,
			    sizeof(nq[q].name));
			ov->nqueues++;
		}
		for (k = 0; k < AQ_NREASONS; k++)
			ov->queues[q].pending[k] += c->queues[i].pending[k];
		for (k = 0; k < AQ_NOUTCOMES; k++)
			ov->queues[q].done[k] += c->queues[i].done[k];
		ov->queues[q].active += c->queues[i].active;
	}
	return 0;
}

/* Every queue ever put into, whether paused: empty ones count too. */
static int
queues_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct aq_overview *ov = arg;
	unsigned char k[AQ__ANYKEY_MAX], v[12];
	DBT key, data;
	DBC *c;
	size_t i;
	int ret, r2, flag = DB_SET_RANGE;

	for (i = 0; i < ov->nqueues; i++)
		ov->queues[i].paused = 0;
	if ((ret = aq->db->cursor(aq->db, txn, &c, DB_READ_COMMITTED)) != 0)
		return ret;
	k[0] = K_QUEUE;
	aq__dbt_buf(&key, k, 1, sizeof(k));
	aq__dbt_part(&data, v, sizeof(v));
	for (;;) {
		char name[AQ_NAME_MAX + 1];

		ret = c->get(c, &key, &data, flag);
		flag = DB_NEXT;
		if (ret == DB_NOTFOUND || (ret == 0 && k[0] != K_QUEUE)) {
			ret = 0;
			break;
		}
		if (ret != 0)
			break;
		if (key.size < 2 || key.size > AQ_NAME_MAX + 1)
			continue;
		memcpy(name, k + 1, key.size - 1);
		name[key.size - 1] = '\0';
		for (i = 0; i < ov->nqueues; i++)
			if (strcmp(ov->queues[i].name, name) == 0)
				break;
		if (i == ov->nqueues) {
			struct aq_queue_stat *nq;

			nq = aq__realloc(ov->queues, (i + 1) * sizeof(*nq));
			if (nq == NULL) {
				ret = ENOMEM;
				break;
			}
			ov->queues = nq;
			memset(&nq[i], 0, sizeof(*nq));
			strlcpy(nq[i].name, name, sizeof(nq[i].name));
			ov->nqueues++;
		}
		ov->queues[i].paused = data.size >= 12 &&
		    (aq__get32(v + 8) & AQ__QUEUE_PAUSED) != 0;
	}
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	return ret;
}

static int
cmp_queue(const void *a, const void *b)
{
	return strcmp(((const struct aq_queue_stat *)a)->name,
	    ((const struct aq_queue_stat *)b)->name);
}

int
aq_overview(struct aq *aq, struct aq_overview *ov)
{
	struct walk w;
	int rc;

	memset(ov, 0, sizeof(*ov));
	memset(&w, 0, sizeof(w));
	w.start = 1;
	w.now = aq_now();
	w.ov = ov;
	do {
		if ((rc = aq__run(aq, walk_op, &w, 0)) != AQ_OK)
			break;
		w.start = w.from;
		if (merge(ov, &w.chunk) == -1)
			rc = aq__err(AQ_EAGAIN, "out of memory");
	} while (rc == AQ_OK && !w.end);
	aq_overview_free(&w.chunk);
	if (rc == AQ_OK)
		rc = aq__run(aq, queues_op, ov, AQ__NOINGEST);
	if (rc != AQ_OK)
		aq_overview_free(ov);
	else if (ov->nqueues > 1)
		qsort(ov->queues, ov->nqueues, sizeof(*ov->queues),
		    cmp_queue);
	return rc;
}

struct pause_arg {
	const char	*name;
	int		 on;
};

static int
pause_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct pause_arg *p = arg;
	unsigned char k[1 + AQ_NAME_MAX + 1], v[12];
	size_t qn = strlen(p->name);
	DBT key, data;
	uint32_t f;
	int ret;

	k[0] = K_QUEUE;
	memcpy(k + 1, p->name, qn);
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = k;
	key.size = (u_int32_t)(qn + 1);
	data.data = v;
	data.ulen = sizeof(v);
	data.flags = DB_DBT_USERMEM;
	memset(v, 0, sizeof(v));
	if ((ret = aq->db->get(aq->db, txn, &key, &data, DB_RMW)) ==
	    DB_NOTFOUND)
		return aq__err(AQ_ENOENT, "no such queue '%s'", p->name);
	if (ret != 0)
		return ret;
	f = data.size >= 12 ? aq__get32(v + 8) : 0;
	f = p->on ? (f | AQ__QUEUE_PAUSED) : (f & ~(uint32_t)AQ__QUEUE_PAUSED);
	aq__be32(v + 8, f);
	data.size = 12;
	return aq->db->put(aq->db, txn, &key, &data, 0);
}

int
aq_queue_pause(struct aq *aq, const char *name, int on)
{
	struct pause_arg p;
	int rc;

	if (!aq_valid_name(name))
		return aq__err(AQ_EINPUT, "bad queue name '%s'", name);
	p.name = name;
	p.on = on;
	if ((rc = aq__run(aq, pause_op, &p, AQ__WRITE)) == AQ_OK && !on)
		aq__wake(aq);
	return rc;
}

void
aq_overview_free(struct aq_overview *ov)
{
	aq__free(ov->queues);
	ov->queues = NULL;
	ov->nqueues = 0;
}

int
aq_wait(struct aq *aq, const uint64_t *ids, size_t n, int64_t timeout)
{
	aq_time deadline;
	struct aq_job *j;
	size_t i = 0;
	int fd, rc;

	/* A missing job is an error at once, not after the others. */
	for (i = 0; i < n; i++) {
		if ((rc = aq_get(aq, ids[i], &j)) != AQ_OK)
			return rc;
		aq_job_free(j);
	}
	i = 0;
	deadline = timeout < 0 ? INT64_MAX : aq_now() + timeout;
	fd = aq_watch(aq);
	for (;;) {
		aq__drain(fd);
		/* Jobs seen done stay done: go on from the first that was not. */
		for (; i < n; i++) {
			if ((rc = aq_get(aq, ids[i], &j)) != AQ_OK)
				goto out;
			rc = j->state == AQ_DONE;
			aq_job_free(j);
			if (!rc)
				break;
		}
		if (i == n) {
			rc = AQ_OK;
			break;
		}
		if (aq_now() >= deadline) {
			rc = aq__err(AQ_NO, "job '%llu' is not done",
			    (unsigned long long)ids[i]);
			break;
		}
		aq__nap(fd, deadline, 5 * AQ_SEC);
	}
out:
	if (fd != -1)
		close(fd);
	return rc;
}

/* ---- a job's history and children ---- */

struct hist_arg {
	uint64_t	 id;
	int		 what;		/* 0: history, 1: children */
	struct aq_run	*runs;
	uint64_t	*kids;
	size_t		 n;
};

static int
hist_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct hist_arg *a = arg;
	unsigned char pre[9], k[AQ__ANYKEY_MAX], v[64 + AQ_NAME_MAX];
	struct aq__rec r;
	DBT key, data;
	DBC *c;
	int ret, r2, flag = DB_SET_RANGE;

	aq__free(a->runs);
	aq__free(a->kids);
	a->runs = NULL;
	a->kids = NULL;
	a->n = 0;
	if ((ret = aq__load_job(aq, txn, a->id, 0, &r)) == 1)
		return aq__err(AQ_ENOENT, "no such job '%llu'",
		    (unsigned long long)a->id);
	if (ret != 0)
		return ret;
	pre[0] = a->what ? K_CHILD : K_HISTORY;
	aq__be64(pre + 1, a->id);
	if ((ret = aq->db->cursor(aq->db, txn, &c, DB_READ_COMMITTED)) != 0)
		return ret;
	memcpy(k, pre, 9);
	aq__dbt_buf(&key, k, 9, sizeof(k));
	aq__dbt_part(&data, v, sizeof(v));
	for (;;) {
		ret = c->get(c, &key, &data, flag);
		flag = DB_NEXT;
		if (ret == DB_NOTFOUND || (ret == 0 && (key.size !=
		    (a->what ? 17u : 13u) || memcmp(k, pre, 9) != 0))) {
			ret = 0;
			break;
		}
		if (ret != 0)
			break;
		if (a->what) {
			uint64_t *nk;

			if ((nk = aq__realloc(a->kids, (a->n + 1) *
			    sizeof(*nk))) == NULL) {
				ret = ENOMEM;
				break;
			}
			a->kids = nk;
			a->kids[a->n++] = aq__get64(k + 9);
		} else {
			struct aq_run *nr, *run;

			if (data.size < 42)
				continue;
			if ((nr = aq__realloc(a->runs, (a->n + 1) *
			    sizeof(*nr))) == NULL) {
				ret = ENOMEM;
				break;
			}
			a->runs = nr;
			run = &a->runs[a->n++];
			memset(run, 0, sizeof(*run));
			run->attempt = (int)aq__get32(k + 9);
			memcpy(run->worker, v, AQ_UUID_LEN);
			run->started = (aq_time)aq__get64(v + 16);
			run->ended = (aq_time)aq__get64(v + 24);
			run->exit_code = (int)aq__get32(v + 32) - 1;
			run->signal = (int)aq__get32(v + 36);
			run->outcome = v[40] < AQ_NOUTCOMES ?
			    (enum aq_outcome)v[40] : AQ_NONE;
			run->how = v[41];
			if (data.size > 42)
				memcpy(run->agent, v + 42, data.size - 42 <
				    AQ_NAME_MAX ? data.size - 42 : AQ_NAME_MAX);
		}
	}
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	return ret;
}

int
aq_history(struct aq *aq, uint64_t id, struct aq_run **runs, size_t *n)
{
	struct hist_arg a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.id = id;
	*runs = NULL;
	*n = 0;
	if ((rc = aq__run(aq, hist_op, &a, 0)) != AQ_OK) {
		aq__free(a.runs);
		return rc;
	}
	*runs = a.runs;
	*n = a.n;
	return AQ_OK;
}

int
aq_children(struct aq *aq, uint64_t id, uint64_t **ids, size_t *n)
{
	struct hist_arg a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.id = id;
	a.what = 1;
	*ids = NULL;
	*n = 0;
	if ((rc = aq__run(aq, hist_op, &a, 0)) != AQ_OK) {
		aq__free(a.kids);
		return rc;
	}
	*ids = a.kids;
	*n = a.n;
	return AQ_OK;
}
