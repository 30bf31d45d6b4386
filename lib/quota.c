/*
 * quota.c: counted resources shared by every queue and worker, as
 * zc.async's quotas: a job that names quotas runs only while each of them
 * has room.
 *
 *   'U' name                 the quota: size, used, created
 *   'H' name NUL id          an active job holding it
 *   'Z' name NUL order       a pending job parked behind it while full;
 *                            order is the tail of its ready key (priority,
 *                            time, id), so the claim order holds across
 *                            queues; value: its ready key, then its name
 *
 * Invariants, each kept inside one transaction:
 *  - a quota's used count is the number of its 'H' entries, and it is
 *    read write-locked (DB_RMW) by whoever parks behind it or frees a
 *    slot of it, so a job is never parked behind a quota that has room;
 *  - a pending job that a full quota holds back has a 'Z' entry instead
 *    of its 'R' entry, so claims never look at it: claiming costs the
 *    same whatever waits behind full quotas.  Each time a slot frees, the
 *    first job parked behind the quota, in claim order, goes back to 'R'
 *    (growing a quota moves as many as it has room for; removing it,
 *    all).  A job moved back that cannot run after all (its queue is
 *    paused, nobody serves it) would leave room unused: a claim that
 *    finds nothing moves as many more as there is room, a bounded number
 *    each time;
 *  - a name that no longer has a quota is ignored.
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

#define QKEY_MAX	(1 + AQ_NAME_MAX + 1)
#define ORDER_LEN	20	/* the tail of a ready key */
#define PKEY_MAX	(1 + AQ_NAME_MAX + 1 + ORDER_LEN)
#define REFILL_MAX	64	/* jobs an empty claim moves back at most */

struct qrec {
	uint64_t	 size, used;
	aq_time		 created;
};

static size_t
qkey(unsigned char *k, int type, const char *name)
{
	size_t n = strlen(name);

	k[0] = (unsigned char)type;
	memcpy(k + 1, name, n + 1);
	return n + 2;
}

/* Read quota name (write-locked with rmw).  1: there is none. */
static int
qload(struct aq *aq, DB_TXN *txn, const char *name, int rmw, struct qrec *q)
{
	unsigned char k[QKEY_MAX], v[24];
	DBT key, data;
	int ret;

	DBT_INIT(key, k, qkey(k, K_QUOTA, name) - 1);
	memset(&data, 0, sizeof(data));
	data.data = v;
	data.ulen = sizeof(v);
	data.flags = DB_DBT_USERMEM;
	ret = aq->db->get(aq->db, txn, &key, &data, rmw ? DB_RMW : 0);
	if (ret == DB_NOTFOUND)
		return 1;
	if (ret != 0)
		return ret;
	if (data.size < 16)
		return aq__err(AQ_EINTERNAL, "quota '%s': corrupt record",
		    name);
	q->size = aq__get64(v);
	q->used = aq__get64(v + 8);
	q->created = data.size >= 24 ? (aq_time)aq__get64(v + 16) : 0;
	return 0;
}

static int
qstore(struct aq *aq, DB_TXN *txn, const char *name, const struct qrec *q)
{
	unsigned char k[QKEY_MAX], v[24];
	DBT key, data;

	aq__be64(v, q->size);
	aq__be64(v + 8, q->used);
	aq__be64(v + 16, (uint64_t)q->created);
	DBT_INIT(key, k, qkey(k, K_QUOTA, name) - 1);
	DBT_INIT(data, v, sizeof(v));
	return aq->db->put(aq->db, txn, &key, &data, 0);
}

static int
valid_quota(const char *name)
{
	return aq_valid_name(name);
}

/*
 * The first quota of j that is full (its name in *full), or none (*full
 * NULL).  Quotas are read write-locked: the caller parks j behind it or
 * takes a slot of each in the same transaction.
 */
int
aq__quota_full(struct aq *aq, DB_TXN *txn, const struct aq_job *j,
    const char **full)
{
	struct qrec q;
	size_t i;
	int ret;

	*full = NULL;
	for (i = 0; j->quotas != NULL && j->quotas[i] != NULL; i++) {
		if ((ret = qload(aq, txn, j->quotas[i], 1, &q)) == 1)
			continue;	/* removed: ignored */
		if (ret != 0)
			return ret;
		if (q.used >= q.size) {
			*full = j->quotas[i];
			return 0;
		}
	}
	return 0;
}

/* Every quota j names must exist.  AQ_EINPUT otherwise. */
int
aq__quota_known(struct aq *aq, DB_TXN *txn, const struct aq_job *j)
{
	struct qrec q;
	size_t i;
	int ret;

	for (i = 0; j->quotas != NULL && j->quotas[i] != NULL; i++)
		if ((ret = qload(aq, txn, j->quotas[i], 0, &q)) != 0)
			return ret == 1 ? aq__err(AQ_EINPUT, "unknown quota "
			    "'%s'", j->quotas[i]) : ret;
	return 0;
}

/* Take a slot of each quota j names (aq__quota_full() said there is). */
int
aq__quota_take(struct aq *aq, DB_TXN *txn, const struct aq_job *j)
{
	unsigned char k[PKEY_MAX];
	struct qrec q;
	size_t i, n;
	DBT key, data;
	int ret;

	for (i = 0; j->quotas != NULL && j->quotas[i] != NULL; i++) {
		if ((ret = qload(aq, txn, j->quotas[i], 1, &q)) == 1)
			continue;
		if (ret != 0)
			return ret;
		q.used++;
		n = qkey(k, K_HOLDER, j->quotas[i]);
		aq__be64(k + n, j->id);
		DBT_INIT(key, k, n + 8);
		DBT_INIT(data, NULL, 0);
		if ((ret = aq->db->put(aq->db, txn, &key, &data, 0)) != 0 ||
		    (ret = qstore(aq, txn, j->quotas[i], &q)) != 0)
			return ret;
	}
	return 0;
}

/* Park the pending job of ready key rk behind full quota name. */
int
aq__quota_park(struct aq *aq, DB_TXN *txn, const char *name,
    const unsigned char *rk, size_t rn, const char *jobname)
{
	unsigned char k[PKEY_MAX], v[AQ__KEY_MAX + AQ_NAME_MAX];
	size_t n = qkey(k, K_PARK, name), jn;
	DBT key, data;

	if (rn < ORDER_LEN + 2 || rn > AQ__KEY_MAX)
		return aq__err(AQ_EINTERNAL, "bad ready key");
	jn = jobname != NULL ? strlen(jobname) : 0;
	memcpy(k + n, rk + rn - ORDER_LEN, ORDER_LEN);
	memcpy(v, rk, rn);
	memcpy(v + rn, jobname, jn);
	DBT_INIT(key, k, n + ORDER_LEN);
	DBT_INIT(data, v, rn + jn);
	return aq->db->put(aq->db, txn, &key, &data, 0);
}

/*
 * Move up to max jobs parked behind quota name back to the ready index,
 * first parked first (they keep their order).  *moved counts them.
 */
static int
unpark(struct aq *aq, DB_TXN *txn, const char *name, uint64_t max,
    uint64_t *moved)
{
	unsigned char pre[QKEY_MAX], k[AQ__ANYKEY_MAX];
	unsigned char v[AQ__KEY_MAX + AQ_NAME_MAX];
	size_t pn = qkey(pre, K_PARK, name), rn;
	DBT key, data;
	DBC *c;
	int ret, r2;

	*moved = 0;
	if (max == 0)
		return 0;
	if ((ret = aq->db->cursor(aq->db, txn, &c, 0)) != 0)
		return ret;
	for (;;) {
		memcpy(k, pre, pn);
		aq__dbt_buf(&key, k, pn, sizeof(k));
		aq__dbt_part(&data, v, sizeof(v));
		ret = c->get(c, &key, &data, DB_SET_RANGE | DB_RMW);
		if (ret == DB_NOTFOUND || (ret == 0 && (key.size <= pn ||
		    memcmp(k, pre, pn) != 0))) {
			ret = 0;
			break;
		}
		if (ret != 0)
			break;
		/* The value: the ready key ('R' queue NUL order), the name. */
		rn = data.size > 1 ? strnlen((char *)v + 1, data.size - 1) +
		    2 + ORDER_LEN : 0;
		if (rn < ORDER_LEN + 2 || rn > data.size) {
			ret = aq__err(AQ_EINTERNAL, "quota '%s': corrupt "
			    "parked job", name);
			break;
		}
		if ((ret = c->del(c, 0)) != 0)
			break;
		{
			DBT rk, rv;

			DBT_INIT(rk, v, rn);
			DBT_INIT(rv, v + rn, data.size - rn);
			if ((ret = aq->db->put(aq->db, txn, &rk, &rv, 0)) != 0)
				break;
		}
		if (++*moved >= max)
			break;
	}
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	return ret;
}

/*
 * Give back the slots active job j holds (it ended, went back, or was
 * interrupted): for each, the first job parked behind goes back to the
 * ready index.  *freed, if not NULL, counts the slots.
 */
int
aq__quota_release(struct aq *aq, DB_TXN *txn, const struct aq_job *j,
    int *freed)
{
	unsigned char k[PKEY_MAX];
	struct qrec q;
	uint64_t moved;
	size_t i, n;
	DBT key;
	int ret;

	for (i = 0; j->quotas != NULL && j->quotas[i] != NULL; i++) {
		n = qkey(k, K_HOLDER, j->quotas[i]);
		aq__be64(k + n, j->id);
		DBT_INIT(key, k, n + 8);
		ret = aq->db->del(aq->db, txn, &key, 0);
		if (ret == DB_NOTFOUND)
			continue;	/* not held: the quota came later */
		if (ret != 0)
			return ret;
		if ((ret = qload(aq, txn, j->quotas[i], 1, &q)) == 1)
			continue;	/* removed since */
		if (ret != 0)
			return ret;
		if (q.used > 0)
			q.used--;
		if ((ret = qstore(aq, txn, j->quotas[i], &q)) != 0)
			return ret;
		if (q.used < q.size &&
		    (ret = unpark(aq, txn, j->quotas[i], 1, &moved)) != 0)
			return ret;
		if (freed != NULL)
			(*freed)++;
	}
	return 0;
}

/*
 * Forget who holds quota name (it is being removed): a quota made again
 * under that name starts empty, and the jobs that held the old one give
 * nothing back to the new one when they end.
 */
static int
drop_holders(struct aq *aq, DB_TXN *txn, const char *name)
{
	unsigned char pre[QKEY_MAX];

	return aq__del_prefix(aq, txn, pre, qkey(pre, K_HOLDER, name));
}

/*
 * Move jobs parked behind quotas that have room back to the ready index:
 * a freed slot moves one, and if that one cannot run after all (its queue
 * is paused, it names another full quota, no claimer serves its queue),
 * the others would stay parked with room free.  A claim that finds
 * nothing calls this; *moved counts the jobs moved.
 */
int
aq__quota_refill(struct aq *aq, DB_TXN *txn, uint64_t *moved)
{
	unsigned char k[AQ__ANYKEY_MAX], v[24];
	char names[16][AQ_NAME_MAX + 1];
	uint64_t room[16], m, left = REFILL_MAX;
	DBT key, data;
	DBC *c;
	int ret, r2, n = 0, i, flag = DB_SET_RANGE;

	*moved = 0;
	if ((ret = aq->db->cursor(aq->db, txn, &c, DB_READ_COMMITTED)) != 0)
		return ret;
	k[0] = K_QUOTA;
	aq__dbt_buf(&key, k, 1, sizeof(k));
	aq__dbt_part(&data, v, sizeof(v));
	/* At most 16 quotas with room a claim: the next do the others. */
	while (n < 16) {
		ret = c->get(c, &key, &data, flag);
		flag = DB_NEXT;
		if (ret == DB_NOTFOUND || (ret == 0 && k[0] != K_QUOTA)) {
			ret = 0;
			break;
		}
		if (ret != 0)
			break;
		if (data.size < 16 || key.size < 2 ||
		    key.size > AQ_NAME_MAX + 1 ||
		    aq__get64(v + 8) >= aq__get64(v))
			continue;
		memcpy(names[n], k + 1, key.size - 1);
		names[n][key.size - 1] = '\0';
		room[n++] = aq__get64(v) - aq__get64(v + 8);
	}
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	for (i = 0; i < n && ret == 0 && left > 0; i++) {
		ret = unpark(aq, txn, names[i], room[i] < left ? room[i] : left,
		    &m);
		*moved += m;
		left -= m;
	}
	return ret;
}

/* ---- the interface ---- */

struct qop {
	const char	*name;
	uint64_t	 size;
	int		 what;
	aq_time		 now;
	uint64_t	 moved;
};
enum { Q_ADD, Q_SET, Q_RM };

static int
quota_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct qop *o = arg;
	unsigned char k[QKEY_MAX];
	struct qrec q;
	DBT key;
	int ret;

	o->moved = 0;
	ret = qload(aq, txn, o->name, 1, &q);
	if (ret != 0 && ret != 1)
		return ret;
	switch (o->what) {
	case Q_ADD:
		if (ret == 0)
			return aq__err(AQ_EINPUT, "quota '%s' exists",
			    o->name);
		q.size = o->size;
		q.used = 0;
		q.created = o->now;
		return qstore(aq, txn, o->name, &q);
	case Q_SET:
		if (ret == 1)
			return aq__err(AQ_ENOENT, "no such quota '%s'",
			    o->name);
		q.size = o->size;
		if ((ret = qstore(aq, txn, o->name, &q)) != 0)
			return ret;
		/* Room made: that many parked jobs may run. */
		if (q.used < q.size)
			return unpark(aq, txn, o->name, q.size - q.used,
			    &o->moved);
		return 0;
	default:
		if (ret == 1)
			return aq__err(AQ_ENOENT, "no such quota '%s'",
			    o->name);
		DBT_INIT(key, k, qkey(k, K_QUOTA, o->name) - 1);
		if ((ret = aq->db->del(aq->db, txn, &key, 0)) != 0 ||
		    (ret = drop_holders(aq, txn, o->name)) != 0)
			return ret;
		/* The jobs that named it ignore it from now on. */
		return unpark(aq, txn, o->name, UINT64_MAX, &o->moved);
	}
}

static int
quota_do(struct aq *aq, const char *name, uint64_t size, int what)
{
	struct qop o;
	int rc;

	if (!valid_quota(name))
		return aq__err(AQ_EINPUT, "bad quota name '%s'", name);
	o.name = name;
	o.size = size;
	o.what = what;
	o.now = aq_now();
	if ((rc = aq__run(aq, quota_op, &o, AQ__WRITE |
	    (what == Q_RM ? AQ__BULK : 0))) == AQ_OK && what != Q_ADD)
		aq__wake(aq);
	return rc;
}

int
aq_quota_add(struct aq *aq, const char *name, uint64_t size)
{
	return quota_do(aq, name, size, Q_ADD);
}

int
aq_quota_set(struct aq *aq, const char *name, uint64_t size)
{
	return quota_do(aq, name, size, Q_SET);
}

int
aq_quota_rm(struct aq *aq, const char *name)
{
	return quota_do(aq, name, 0, Q_RM);
}

/* ---- looking ---- */

struct qlist {
	const char	*only;		/* one quota, or every one */
	struct aq_quota	*q;
	size_t		 n;
	uint64_t	*holders;
	size_t		 nholders;
};

static void
qlist_clear(struct qlist *l)
{
	aq__free(l->q);
	aq__free(l->holders);
	l->q = NULL;
	l->holders = NULL;
	l->n = l->nholders = 0;
}

static int
holders(struct aq *aq, DB_TXN *txn, struct qlist *l)
{
	unsigned char pre[QKEY_MAX], k[AQ__ANYKEY_MAX];
	size_t pn = qkey(pre, K_HOLDER, l->only);
	DBT key, data;
	DBC *c;
	int ret, r2, flag = DB_SET_RANGE;

	if ((ret = aq->db->cursor(aq->db, txn, &c, DB_READ_COMMITTED)) != 0)
		return ret;
	memcpy(k, pre, pn);
	aq__dbt_buf(&key, k, pn, sizeof(k));
	aq__dbt_part(&data, NULL, 0);
	for (;;) {
		uint64_t *h;

		ret = c->get(c, &key, &data, flag);
		flag = DB_NEXT;
		if (ret == DB_NOTFOUND || (ret == 0 && (key.size != pn + 8 ||
		    memcmp(k, pre, pn) != 0))) {
			ret = 0;
			break;
		}
		if (ret != 0)
			break;
		if ((h = aq__realloc(l->holders, (l->nholders + 1) *
		    sizeof(*h))) == NULL) {
			ret = ENOMEM;
			break;
		}
		l->holders = h;
		h[l->nholders++] = aq__get64(k + pn);
	}
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	return ret;
}

static int
list_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct qlist *l = arg;
	unsigned char k[AQ__ANYKEY_MAX], v[24];
	DBT key, data;
	DBC *c;
	int ret, r2, flag = DB_SET_RANGE;

	qlist_clear(l);
	if ((ret = aq->db->cursor(aq->db, txn, &c, DB_READ_COMMITTED)) != 0)
		return ret;
	k[0] = K_QUOTA;
	aq__dbt_buf(&key, k, l->only ? qkey(k, K_QUOTA, l->only) - 1 : 1,
	    sizeof(k));
	aq__dbt_part(&data, v, sizeof(v));
	for (;;) {
		struct aq_quota *q;

		ret = c->get(c, &key, &data, flag);
		flag = DB_NEXT;
		if (ret == DB_NOTFOUND || (ret == 0 && k[0] != K_QUOTA)) {
			ret = 0;
			break;
		}
		if (ret != 0 || data.size < 16 || key.size < 2 ||
		    key.size > AQ_NAME_MAX + 1) {
			if (ret == 0)
				ret = aq__err(AQ_EINTERNAL, "corrupt quota");
			break;
		}
		if (l->only != NULL && (key.size - 1 != strlen(l->only) ||
		    memcmp(k + 1, l->only, key.size - 1) != 0))
			break;
		if ((q = aq__realloc(l->q, (l->n + 1) * sizeof(*q))) ==
		    NULL) {
			ret = ENOMEM;
			break;
		}
		l->q = q;
		q = &l->q[l->n++];
		memset(q, 0, sizeof(*q));
		memcpy(q->name, k + 1, key.size - 1);
		q->size = aq__get64(v);
		q->used = aq__get64(v + 8);
		q->created = data.size >= 24 ? (aq_time)aq__get64(v + 16) : 0;
		if (l->only != NULL)
			break;
	}
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	if (ret == 0 && l->only != NULL && l->n == 1)
		ret = holders(aq, txn, l);
	return ret;
}

/* Count the pending jobs naming each quota of l (a walk of all jobs). */
static int
count_waiting(const struct aq_job *j, void *arg)
{
	struct qlist *l = arg;
	size_t i, k;

	if (j->state != AQ_PENDING || j->quotas == NULL)
		return 0;
	for (i = 0; j->quotas[i] != NULL; i++)
		for (k = 0; k < l->n; k++)
			if (strcmp(l->q[k].name, j->quotas[i]) == 0)
				l->q[k].waiting++;
	return 0;
}

int
aq_quotas(struct aq *aq, struct aq_quota **list, size_t *n)
{
	struct aq_filter f = { NULL, AQ_PENDING };
	struct qlist l;
	int rc;

	*list = NULL;
	*n = 0;
	memset(&l, 0, sizeof(l));
	if ((rc = aq__run(aq, list_op, &l, 0)) != AQ_OK ||
	    (l.n > 0 && (rc = aq_list(aq, &f, count_waiting, &l)) != AQ_OK)) {
		qlist_clear(&l);
		return rc;
	}
	*list = l.q;
	*n = l.n;
	return AQ_OK;
}

/* The pending jobs naming one quota, in id order. */
struct waiters {
	const char	*name;
	uint64_t	*ids;
	size_t		 n;
	int		 err;
};

static int
collect_waiting(const struct aq_job *j, void *arg)
{
	struct waiters *w = arg;
	uint64_t *v;
	size_t i;

	if (j->state != AQ_PENDING || j->quotas == NULL)
		return 0;
	for (i = 0; j->quotas[i] != NULL; i++)
		if (strcmp(j->quotas[i], w->name) == 0) {
			if ((v = aq__realloc(w->ids, (w->n + 1) *
			    sizeof(*v))) == NULL)
				return aq__err(AQ_EAGAIN, "out of memory");
			w->ids = v;
			v[w->n++] = j->id;
			break;
		}
	return 0;
}

int
aq_quota_show(struct aq *aq, const char *name, struct aq_quota *q,
    uint64_t **held, size_t *nheld, uint64_t **waiting, size_t *nwaiting)
{
	struct aq_filter f = { NULL, AQ_PENDING };
	struct waiters w;
	struct qlist l;
	int rc;

	*held = *waiting = NULL;
	*nheld = *nwaiting = 0;
	if (!valid_quota(name))
		return aq__err(AQ_EINPUT, "bad quota name '%s'", name);
	memset(&l, 0, sizeof(l));
	l.only = name;
	if ((rc = aq__run(aq, list_op, &l, 0)) != AQ_OK)
		goto fail;
	if (l.n == 0) {
		rc = aq__err(AQ_ENOENT, "no such quota '%s'", name);
		goto fail;
	}
	memset(&w, 0, sizeof(w));
	w.name = name;
	if ((rc = aq_list(aq, &f, collect_waiting, &w)) != AQ_OK) {
		aq__free(w.ids);
		goto fail;
	}
	*q = l.q[0];
	q->waiting = w.n;
	*held = l.holders;
	*nheld = l.nholders;
	*waiting = w.ids;
	*nwaiting = w.n;
	aq__free(l.q);
	return AQ_OK;
fail:
	qlist_clear(&l);
	return rc;
}

/* ---- for status: is a quota of a pending job full? ---- */

/* Whether a quota j names is full now (reason AQ_QUOTA). */
int
aq__quota_blocked(struct aq *aq, DB_TXN *txn, const struct aq_job *j)
{
	struct qrec q;
	size_t i;

	for (i = 0; j->quotas != NULL && j->quotas[i] != NULL; i++)
		if (qload(aq, txn, j->quotas[i], 0, &q) == 0 &&
		    q.used >= q.size)
			return 1;
	return 0;
}
