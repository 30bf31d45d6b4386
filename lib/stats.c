/*
 * stats.c: what happened, minute by minute, for aq-status -S.
 *
 * Each event (a claim, an end, an interruption, a retry) adds to the
 * counters of its minute under key 'M' minute, in the transaction that
 * makes the event, so the statistics always agree with the jobs: nothing
 * is ever "unknown".  A minute's value is an array of big-endian 64-bit
 * counters; a reader takes the ones it knows, so later formats may append
 * more.  Workers purge minutes older than AQ__STATS_KEEP (worker.c).
 */
#include "config.h"

#include <string.h>

#include "internal.h"

enum {
	V_STARTED, V_INTERRUPTED, V_RETRIED, V_ENDED,
	V_SHORTEST = V_ENDED + AQ_NOUTCOMES,	/* run time + 1; 0: none */
	V_SHORTEST_ID, V_LONGEST, V_LONGEST_ID,
	V_N
};

#define MINUTE	(60 * AQ_SEC)

static size_t
key(unsigned char *k, aq_time t)
{
	k[0] = K_STATS;
	aq__be64(k + 1, (uint64_t)(t / MINUTE));
	return 9;
}

int
aq__stat(struct aq *aq, DB_TXN *txn, aq_time now, int what,
    enum aq_outcome outcome, int64_t runtime, uint64_t id)
{
	unsigned char k[9], buf[V_N * 8];
	uint64_t v[V_N];
	DBT kd, data;
	int i, n, ret;

	memset(&kd, 0, sizeof(kd));
	memset(&data, 0, sizeof(data));
	kd.data = k;
	kd.size = (u_int32_t)key(k, now);
	data.data = buf;
	data.ulen = sizeof(buf);
	data.flags = DB_DBT_USERMEM;
	memset(v, 0, sizeof(v));
	ret = aq->db->get(aq->db, txn, &kd, &data, DB_RMW);
	if (ret == 0) {
		n = (int)(data.size / 8);
		for (i = 0; i < n && i < V_N; i++)
			v[i] = aq__get64(buf + 8 * i);
	} else if (ret != DB_NOTFOUND && ret != DB_BUFFER_SMALL)
		return ret;
	switch (what) {
	case AQ__ST_STARTED:
		v[V_STARTED]++;
		break;
	case AQ__ST_UNSTARTED:
		if (v[V_STARTED] > 0)
			v[V_STARTED]--;
		break;
	case AQ__ST_INTERRUPTED:
		v[V_INTERRUPTED]++;
		break;
	case AQ__ST_RETRIED:
		v[V_RETRIED]++;
		break;
	default:
		v[V_ENDED + outcome]++;
		if (runtime < 0)
			break;
		if (v[V_SHORTEST] == 0 || (uint64_t)runtime + 1 <
		    v[V_SHORTEST]) {
			v[V_SHORTEST] = (uint64_t)runtime + 1;
			v[V_SHORTEST_ID] = id;
		}
		if (v[V_LONGEST] == 0 || (uint64_t)runtime + 1 >
		    v[V_LONGEST]) {
			v[V_LONGEST] = (uint64_t)runtime + 1;
			v[V_LONGEST_ID] = id;
		}
	}
	for (i = 0; i < V_N; i++)
		aq__be64(buf + 8 * i, v[i]);
	data.size = sizeof(buf);
	data.flags = 0;
	return aq->db->put(aq->db, txn, &kd, &data, 0);
}

struct stats_arg {
	aq_time		 since;
	struct aq_stats	*st;
};

static int
stats_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct stats_arg *a = arg;
	struct aq_stats *st = a->st;
	unsigned char k[9];
	uint64_t v[V_N];
	DBT kd, data;
	DBC *c;
	int i, n, ret, r2;

	memset(st, 0, sizeof(*st));
	st->since = a->since - a->since % MINUTE;
	st->until = aq_now();
	st->shortest = st->longest = -1;
	if ((ret = aq->db->cursor(aq->db, txn, &c, DB_READ_COMMITTED)) != 0)
		return ret;
	memset(&kd, 0, sizeof(kd));
	memset(&data, 0, sizeof(data));
	kd.data = k;
	kd.size = (u_int32_t)key(k, a->since);
	for (ret = c->get(c, &kd, &data, DB_SET_RANGE); ret == 0;
	    ret = c->get(c, &kd, &data, DB_NEXT)) {
		const unsigned char *p = data.data, *kp = kd.data;

		if (kd.size != 9 || kp[0] != K_STATS)
			break;
		memset(v, 0, sizeof(v));
		n = (int)(data.size / 8);
		for (i = 0; i < n && i < V_N; i++)
			v[i] = aq__get64(p + 8 * i);
		st->started += v[V_STARTED];
		st->interrupted += v[V_INTERRUPTED];
		st->retried += v[V_RETRIED];
		for (i = 0; i < AQ_NOUTCOMES; i++)
			st->ended[i] += v[V_ENDED + i];
		if (v[V_SHORTEST] != 0 && (st->shortest < 0 ||
		    (int64_t)v[V_SHORTEST] - 1 < st->shortest)) {
			st->shortest = (int64_t)v[V_SHORTEST] - 1;
			st->shortest_id = v[V_SHORTEST_ID];
		}
		if (v[V_LONGEST] != 0 && (st->longest < 0 ||
		    (int64_t)v[V_LONGEST] - 1 > st->longest)) {
			st->longest = (int64_t)v[V_LONGEST] - 1;
			st->longest_id = v[V_LONGEST_ID];
		}
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	return ret;
}

int
aq_stats(struct aq *aq, aq_time since, struct aq_stats *st)
{
	struct stats_arg a;

	a.since = since;
	a.st = st;
	return aq__run(aq, stats_op, &a, 0);
}

/* Forget minutes older than keep usec, a bounded number per call. */
int
aq__stats_purge(struct aq *aq, DB_TXN *txn, aq_time now, aq_time keep,
    int *purged)
{
	unsigned char k[9], first = K_STATS;
	DBT kd, data;
	DBC *c;
	int n, ret, r2;

	if ((ret = aq->db->cursor(aq->db, txn, &c, 0)) != 0)
		return ret;
	memset(&kd, 0, sizeof(kd));
	memset(&data, 0, sizeof(data));
	kd.data = &first;
	kd.size = 1;
	data.flags = DB_DBT_PARTIAL;
	(void)key(k, now - keep);
	for (n = 0, ret = c->get(c, &kd, &data, DB_SET_RANGE);
	    ret == 0 && n < 100; ret = c->get(c, &kd, &data, DB_NEXT), n++) {
		if (kd.size != 9 || memcmp(kd.data, k, 9) >= 0 ||
		    ((unsigned char *)kd.data)[0] != K_STATS)
			break;
		if ((ret = c->del(c, 0)) != 0)
			break;
	}
	*purged = n;
	if (ret == DB_NOTFOUND)
		ret = 0;
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	return ret;
}
