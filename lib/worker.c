/*
 * worker.c: registered workers, their pings, and what happens when one
 * dies.
 *
 * A worker (aq-run) registers under its UUID in a record 'W' uuid and
 * pings it.  Its jobs have no lease: each has an 'O' uuid id entry, and the
 * worker's liveness stands for all of them.  A worker is judged dead when
 * its last ping is older than its death interval, or at once when it ran
 * on this host, in this boot, and its pid is gone or belongs to a process
 * started at another time (so a reused pid never looks alive).  Whoever
 * judges it dead marks it so and interrupts its jobs in the same
 * transaction: the invariant is that a worker marked DEAD owns nothing.
 *
 * The record is tag-length-value, as a job's (codec.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define KEEP_STOPPED	(3600 * AQ_SEC)
#define KEEP_DEAD	(86400 * AQ_SEC)
#define REAP_MAX	64	/* dead workers handled per transaction */

enum {
	W_HOST = 1, W_BOOT, W_QUEUES, W_PID, W_PIDSTART, W_STATE, W_STARTED,
	W_PING, W_POLL, W_ENDED, W_SLOTS, W_POLLI, W_PINGI, W_DEATHI,
	W_AGENTS		/* strings, as the queues */
};

struct wrec {
	struct aq_worker w;
	const char	*queuesp;	/* NUL-separated, in the record */
	size_t		 queueslen;
	const char	*agentsp;	/* the same */
	size_t		 agentslen;
};

/* ---- who we are ---- */

static char myhost[256], myboot[40];

static void
read_line(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static void
identity(void)
{
	if (myhost[0] != '\0')
		return;
	if (gethostname(myhost, sizeof(myhost) - 1) == -1)
		strlcpy(myhost, "localhost", sizeof(myhost));
	myhost[sizeof(myhost) - 1] = '\0';
	read_line("/proc/sys/kernel/random/boot_id", myboot, sizeof(myboot));
}

/* The start time of process pid, in clock ticks since boot; 0: none. */
static uint64_t
proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may hold anything: fields start after its ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	/* A zombie is as dead as it will get: its parent just has not looked. */
	if (p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
		return 0;
	for (i = 2; i < 22 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%llu", &v) != 1)
		return 0;
	return v;
}

static enum aq_worker_state
judge(const struct aq_worker *w, aq_time now)
{
	if (w->state != AQ_WORKER_RUNNING)
		return w->state;
	if (w->death_interval > 0 && now - w->ping > w->death_interval)
		return AQ_WORKER_DEAD;
	identity();
	if (strcmp(w->host, myhost) == 0) {
		if (myboot[0] != '\0' && strcmp(w->boot, myboot) != 0)
			return AQ_WORKER_DEAD;
		if (w->pidstart == 0 ? kill(w->pid, 0) == -1 &&
		    errno == ESRCH : proc_start(w->pid) != w->pidstart)
			return AQ_WORKER_DEAD;
	}
	return AQ_WORKER_RUNNING;
}

/* ---- records ---- */

static size_t
wkey(unsigned char *k, const unsigned char *uuid)
{
	k[0] = K_WORKER;
	memcpy(k + 1, uuid, AQ_UUID_LEN);
	return 1 + AQ_UUID_LEN;
}

static int
strings(const char *const *v, struct aq__buf *b)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		if (aq__buf_put(b, v[i], strlen(v[i]) + 1) == -1)
			return -1;
	return 0;
}

/* The record of w; its strings from r when re-storing a decoded one. */
static int
encode(const struct aq_worker *w, const struct wrec *rec, struct aq__buf *b)
{
	struct aq__buf q = { NULL, 0, 0 }, a = { NULL, 0, 0 };
	const char *queuesp, *agentsp;
	size_t queueslen, agentslen;
	int r = 0;

	if (rec != NULL) {
		queuesp = rec->queuesp;
		queueslen = rec->queueslen;
		agentsp = rec->agentsp;
		agentslen = rec->agentslen;
	} else {
		if (strings(w->queues, &q) == -1 ||
		    strings(w->agents, &a) == -1)
			r = -1;
		queuesp = (const char *)q.p;
		queueslen = q.len;
		agentsp = (const char *)a.p;
		agentslen = a.len;
	}
	if (r == -1 ||
	    (agentslen > 0 &&
	    aq__field(b, W_AGENTS, agentsp, agentslen) == -1) ||
	    aq__sfield(b, W_HOST, w->host) == -1 ||
	    aq__sfield(b, W_BOOT, w->boot) == -1 ||
	    (queueslen > 0 &&
	    aq__field(b, W_QUEUES, queuesp, queueslen) == -1) ||
	    aq__ifield(b, W_PID, w->pid) == -1 ||
	    aq__ifield(b, W_PIDSTART, (int64_t)w->pidstart) == -1 ||
	    aq__ifield(b, W_STATE, w->state) == -1 ||
	    aq__ifield(b, W_STARTED, w->started) == -1 ||
	    aq__ifield(b, W_PING, w->ping) == -1 ||
	    aq__ifield(b, W_POLL, w->poll) == -1 ||
	    aq__ifield(b, W_ENDED, w->ended) == -1 ||
	    aq__ifield(b, W_SLOTS, w->slots) == -1 ||
	    aq__ifield(b, W_POLLI, w->poll_interval) == -1 ||
	    aq__ifield(b, W_PINGI, w->ping_interval) == -1 ||
	    aq__ifield(b, W_DEATHI, w->death_interval) == -1)
		r = -1;
	aq__free(q.p);
	aq__free(a.p);
	return r;
}

static int
decode(const void *rec, size_t len, struct wrec *r)
{
	const unsigned char *p = rec, *end = p + len;
	struct aq_worker *w = &r->w;

	memset(r, 0, sizeof(*r));
	while (p < end) {
		uint64_t n, v = 0;
		int64_t iv;
		int tag = *p++;

		if (aq__get_varint(&p, end, &n) == -1 ||
		    n > (uint64_t)(end - p))
			return -1;
		if (tag >= W_PID && tag <= W_DEATHI) {
			const unsigned char *q = p;

			if (aq__get_varint(&q, p + n, &v) == -1)
				return -1;
		}
		iv = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
		switch (tag) {
		case W_HOST:
		case W_BOOT:
			if (n == 0 || p[n - 1] != '\0')
				return -1;
			strlcpy(tag == W_HOST ? w->host : w->boot,
			    (const char *)p, tag == W_HOST ?
			    sizeof(w->host) : sizeof(w->boot));
			break;
		case W_QUEUES:
			if (n == 0 || p[n - 1] != '\0')
				return -1;
			r->queuesp = (const char *)p;
			r->queueslen = n;
			break;
		case W_AGENTS:
			if (n == 0 || p[n - 1] != '\0')
				return -1;
			r->agentsp = (const char *)p;
			r->agentslen = n;
			break;
		case W_PID: w->pid = (pid_t)iv; break;
		case W_PIDSTART: w->pidstart = (uint64_t)iv; break;
		case W_STATE:
			if (iv < 0 || iv > AQ_WORKER_DEAD)
				return -1;
			w->state = (enum aq_worker_state)iv;
			break;
		case W_STARTED: w->started = iv; break;
		case W_PING: w->ping = iv; break;
		case W_POLL: w->poll = iv; break;
		case W_ENDED: w->ended = iv; break;
		case W_SLOTS: w->slots = (int)iv; break;
		case W_POLLI: w->poll_interval = iv; break;
		case W_PINGI: w->ping_interval = iv; break;
		case W_DEATHI: w->death_interval = iv; break;
		default:
			break;
		}
		p += n;
	}
	return 0;
}

static int
wload(struct aq *aq, DB_TXN *txn, const unsigned char *uuid, struct wrec *r)
{
	unsigned char k[1 + AQ_UUID_LEN];
	DBT key, data;
	int ret;

	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = k;
	key.size = (u_int32_t)wkey(k, uuid);
	if ((ret = aq->db->get(aq->db, txn, &key, &data, DB_RMW)) != 0)
		return ret == DB_NOTFOUND ? 1 : ret;
	if (decode(data.data, data.size, r) == -1)
		return aq__err(AQ_EINTERNAL, "corrupt worker record");
	memcpy(r->w.uuid, uuid, AQ_UUID_LEN);
	return 0;
}

static int
wstore(struct aq *aq, DB_TXN *txn, const struct aq_worker *w,
    const struct wrec *r)
{
	struct aq__buf b = { NULL, 0, 0 };
	unsigned char k[1 + AQ_UUID_LEN];
	DBT key, data;
	int ret;

	if (encode(w, r, &b) == -1) {
		aq__free(b.p);
		return ENOMEM;
	}
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = k;
	key.size = (u_int32_t)wkey(k, w->uuid);
	data.data = b.p;
	data.size = (u_int32_t)b.len;
	ret = aq->db->put(aq->db, txn, &key, &data, 0);
	aq__free(b.p);
	return ret;
}

/*
 * The ids of the active jobs owner holds ('O' entries), at most max of
 * them.  Returns the count, or a negative DB error.
 */
static int
owned(struct aq *aq, DB_TXN *txn, const unsigned char *owner, uint64_t *ids,
    int max)
{
	unsigned char k[1 + AQ_UUID_LEN + 8];
	DBT key, data;
	DBC *c;
	int n = 0, ret, r2;

	if ((ret = aq->db->cursor(aq->db, txn, &c, DB_READ_COMMITTED)) != 0)
		return ret;
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	k[0] = K_OWNER;
	memcpy(k + 1, owner, AQ_UUID_LEN);
	key.data = k;
	key.size = 1 + AQ_UUID_LEN;
	data.flags = DB_DBT_PARTIAL;
	for (ret = c->get(c, &key, &data, DB_SET_RANGE); ret == 0 && n < max;
	    ret = c->get(c, &key, &data, DB_NEXT)) {
		const unsigned char *p = key.data;

		if (key.size != 1 + AQ_UUID_LEN + 8 || p[0] != K_OWNER ||
		    memcmp(p + 1, owner, AQ_UUID_LEN) != 0)
			break;
		ids[n++] = aq__get64(p + 1 + AQ_UUID_LEN);
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	return ret != 0 ? (ret > 0 ? -ret : ret) : n;
}

/* Interrupt everything owner holds.  Returns 0 or a DB error; counts. */
static int
interrupt_all(struct aq *aq, DB_TXN *txn, const unsigned char *owner,
    aq_time now, size_t *count)
{
	uint64_t ids[256];
	int i, n, ret;

	for (;;) {
		if ((n = owned(aq, txn, owner, ids, 256)) < 0)
			return n;
		if (n == 0)
			return 0;
		for (i = 0; i < n; i++) {
			ret = aq__interrupt_job(aq, txn, ids[i], owner, 0, now);
			if (ret == 0)
				(*count)++;
			else if (ret == AQ_NO || ret == AQ_ENOENT) {
				/* A stray entry: drop it so the walk ends. */
				unsigned char k[1 + AQ_UUID_LEN + 8];
				DBT key;

				memset(&key, 0, sizeof(key));
				key.data = k;
				key.size = (u_int32_t)aq__key_owner(k, owner,
				    ids[i]);
				ret = aq->db->del(aq->db, txn, &key, 0);
				if (ret != 0 && ret != DB_NOTFOUND)
					return ret;
			} else
				return ret;
		}
	}
}

/* ---- start, ping, stop ---- */

struct start_arg {
	struct aq_worker *w;
	aq_time		 now;
	int		 ping;	/* 1: a ping, 2: a stop */
};

static int
start_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct start_arg *a = arg;
	struct aq_worker *w = a->w;
	struct wrec r;
	size_t taken = 0;
	int ret;

	aq->res[0] = aq->res[1] = 0;
	if ((ret = wload(aq, txn, w->uuid, &r)) < 0 || ret > 1)
		return ret;
	if (a->ping == 2) {
		if (ret == 1)
			return 0;
		r.w.state = AQ_WORKER_STOPPED;
		r.w.ended = a->now;
		r.w.ping = a->now;
		if (w->poll != 0)
			r.w.poll = w->poll;
		return wstore(aq, txn, &r.w, &r);
	}
	if (a->ping == 1) {
		if (ret == 0 && r.w.state == AQ_WORKER_RUNNING &&
		    r.w.pid == w->pid && r.w.pidstart == w->pidstart) {
			r.w.ping = a->now;
			r.w.poll = w->poll;
			return wstore(aq, txn, &r.w, &r);
		}
		/* Judged dead (or forgotten) meanwhile: come back. */
		aq->res[1] = 1;
	} else if (ret == 0 && r.w.state == AQ_WORKER_RUNNING &&
	    judge(&r.w, a->now) == AQ_WORKER_RUNNING &&
	    !(r.w.pid == w->pid && strcmp(r.w.host, w->host) == 0))
		return aq__err(AQ_EAGAIN, "a worker runs under this UUID "
		    "already (pid %ld on %s)", (long)r.w.pid, r.w.host);
	if ((ret = interrupt_all(aq, txn, w->uuid, a->now, &taken)) != 0)
		return ret;
	aq->res[0] = taken;
	if (a->ping == 0)
		w->started = a->now;
	w->state = AQ_WORKER_RUNNING;
	w->ping = a->now;
	w->ended = 0;
	return wstore(aq, txn, w, NULL);
}

int
aq_worker_start(struct aq *aq, struct aq_worker *w, size_t *taken)
{
	struct start_arg a;
	int rc;

	identity();
	strlcpy(w->host, myhost, sizeof(w->host));
	strlcpy(w->boot, myboot, sizeof(w->boot));
	w->pid = getpid();
	w->pidstart = proc_start(w->pid);
	w->poll = 0;
	a.w = w;
	a.now = aq_now();
	a.ping = 0;
	if ((rc = aq__run(aq, start_op, &a, AQ__WRITE)) != AQ_OK)
		return rc;
	if (taken != NULL)
		*taken = (size_t)aq->res[0];
	if (aq->res[0] > 0)
		aq__wake(aq);
	return AQ_OK;
}

int
aq_worker_ping(struct aq *aq, const struct aq_worker *w, aq_time lastpoll)
{
	struct aq_worker copy = *w;
	struct start_arg a;
	int rc;

	copy.poll = lastpoll;
	a.w = &copy;
	a.now = aq_now();
	a.ping = 1;
	if ((rc = aq__run(aq, start_op, &a, AQ__WRITE)) != AQ_OK)
		return rc;
	if (aq->res[1])
		return aq__err(AQ_NO, "this worker was judged dead");
	return AQ_OK;
}

int
aq_worker_stop(struct aq *aq, const struct aq_worker *w)
{
	struct aq_worker copy = *w;
	struct start_arg a;

	a.w = &copy;
	a.now = aq_now();
	a.ping = 2;
	return aq__run(aq, start_op, &a, AQ__WRITE);
}

/*
 * In a claim by worker uuid: if its record says it is not running (judged
 * dead, or stopped), it is running again from now.  A claimer that never
 * registered is left alone.
 */
int
aq__worker_alive(struct aq *aq, DB_TXN *txn, const unsigned char *uuid,
    aq_time now, int *changed)
{
	struct wrec r;
	int ret;

	if ((ret = wload(aq, txn, uuid, &r)) != 0)
		return ret == 1 ? 0 : ret;
	if (r.w.state == AQ_WORKER_RUNNING)
		return 0;
	r.w.state = AQ_WORKER_RUNNING;
	r.w.ping = now;
	r.w.ended = 0;
	*changed = 1;
	return wstore(aq, txn, &r.w, &r);
}

/* ---- reaping ---- */

int
aq__reap_due(struct aq *aq)
{
	aq_time now = aq_now();

	if (now - aq->last_reap < AQ_SEC && now >= aq->last_reap)
		return 0;
	aq->last_reap = now;
	return 1;
}

static int
reap_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	unsigned char dead[REAP_MAX][AQ_UUID_LEN], gone[REAP_MAX][AQ_UUID_LEN];
	unsigned char k[1 + AQ_UUID_LEN], first = K_WORKER;
	aq_time now = aq_now();
	size_t count = 0;
	int nd = 0, ng = 0, np = 0, ndead = 0, i, ret, r2;
	uint64_t ids[1];
	struct wrec r;
	DBT key, data;
	DBC *c;

	(void)arg;
	aq->res[0] = 0;
	if ((ret = aq->db->cursor(aq->db, txn, &c, DB_READ_COMMITTED)) != 0)
		return ret;
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = &first;
	key.size = 1;
	for (ret = c->get(c, &key, &data, DB_SET_RANGE);
	    ret == 0 && nd < REAP_MAX && ng < REAP_MAX;
	    ret = c->get(c, &key, &data, DB_NEXT)) {
		const unsigned char *p = key.data;

		if (key.size != 1 + AQ_UUID_LEN || p[0] != K_WORKER)
			break;
		if (decode(data.data, data.size, &r) == -1)
			continue;
		if (r.w.state == AQ_WORKER_RUNNING &&
		    judge(&r.w, now) == AQ_WORKER_DEAD)
			memcpy(dead[nd++], p + 1, AQ_UUID_LEN);
		else if (r.w.state != AQ_WORKER_RUNNING &&
		    owned(aq, txn, p + 1, ids, 1) > 0)
			/* Stopped, yet it holds jobs: its last writes failed. */
			memcpy(dead[nd++], p + 1, AQ_UUID_LEN);
		else if ((r.w.state == AQ_WORKER_STOPPED &&
		    now - r.w.ended > KEEP_STOPPED) ||
		    (r.w.state == AQ_WORKER_DEAD &&
		    now - r.w.ended > KEEP_DEAD))
			memcpy(gone[ng++], p + 1, AQ_UUID_LEN);
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	if (ret != 0)
		return ret;
	for (i = 0; i < nd; i++) {
		int running;

		/* Judge again under the write lock: it may have pinged. */
		if ((ret = wload(aq, txn, dead[i], &r)) != 0) {
			if (ret == 1)
				continue;
			return ret;
		}
		running = r.w.state == AQ_WORKER_RUNNING;
		if (running && judge(&r.w, now) != AQ_WORKER_DEAD)
			continue;
		if ((ret = interrupt_all(aq, txn, dead[i], now, &count)) != 0)
			return ret;
		if (!running)
			continue;
		/* The walk reused the record's memory: read it again. */
		if ((ret = wload(aq, txn, dead[i], &r)) != 0)
			return ret == 1 ? AQ_EINTERNAL : ret;
		r.w.state = AQ_WORKER_DEAD;
		r.w.ended = now;
		if ((ret = wstore(aq, txn, &r.w, &r)) != 0)
			return ret;
		ndead++;
	}
	for (i = 0; i < ng; i++) {
		memset(&key, 0, sizeof(key));
		key.data = k;
		key.size = (u_int32_t)wkey(k, gone[i]);
		if ((ret = aq->db->del(aq->db, txn, &key, 0)) != 0 &&
		    ret != DB_NOTFOUND)
			return ret;
	}
	if ((ret = aq__stats_purge(aq, txn, now, AQ__STATS_KEEP, &np)) != 0)
		return ret;
	aq->res[0] = count;
	aq->res[1] = (uint64_t)ndead;
	/* Nothing written: abort, which costs no fsync. */
	if (ndead == 0 && count == 0 && ng == 0 && np == 0)
		return AQ_NO;
	return 0;
}

int
aq_reap(struct aq *aq, size_t *dead, size_t *interrupted)
{
	int rc;

	if (dead != NULL)
		*dead = 0;
	if (interrupted != NULL)
		*interrupted = 0;
	aq->last_reap = aq_now();
	rc = aq__run(aq, reap_op, NULL, AQ__WRITE);
	if (rc == AQ_NO)
		return AQ_OK;
	if (rc != AQ_OK)
		return rc;
	if (dead != NULL)
		*dead = (size_t)aq->res[1];
	if (interrupted != NULL)
		*interrupted = (size_t)aq->res[0];
	if (aq->res[0] > 0)
		aq__wake(aq);
	return AQ_OK;
}

/* ---- listing ---- */

struct list_arg {
	struct aq_worker **list;
	size_t		 n, cap;
};

static size_t
nstrings(const char *p, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (p[i] == '\0')
			n++;
	return n;
}

/* Point v at the n strings of p, copied to *to; NULL-terminate it. */
static void
spread(const char **v, size_t n, const char *p, size_t len, char **to)
{
	size_t i;

	if (len > 0)
		memcpy(*to, p, len);
	for (i = 0; i < n; i++) {
		v[i] = *to;
		*to += strlen(*to) + 1;
	}
	v[n] = NULL;
}

static struct aq_worker *
pack(const struct wrec *r, const uint64_t *ids, int nids)
{
	size_t nq = nstrings(r->queuesp, r->queueslen);
	size_t na = nstrings(r->agentsp, r->agentslen), size;
	struct aq_worker *w;
	const char **qv, **av;
	char *p;

	size = sizeof(*w) + (nq + 1 + na + 1) * sizeof(char *) +
	    (size_t)nids * sizeof(uint64_t) + r->queueslen + r->agentslen;
	if ((w = aq__malloc(size)) == NULL)
		return NULL;
	*w = r->w;
	qv = (const char **)(w + 1);
	av = qv + nq + 1;
	w->active = (uint64_t *)(av + na + 1);
	if (nids > 0)
		memcpy(w->active, ids, (size_t)nids * sizeof(uint64_t));
	w->nactive = (size_t)nids;
	p = (char *)(w->active + nids);
	spread(qv, nq, r->queuesp, r->queueslen, &p);
	spread(av, na, r->agentsp, r->agentslen, &p);
	w->queues = nq > 0 ? qv : NULL;
	w->agents = na > 0 ? av : NULL;
	return w;
}

static int
list_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct list_arg *a = arg;
	unsigned char first = K_WORKER;
	aq_time now = aq_now();
	uint64_t ids[1024];
	struct wrec r;
	DBT key, data;
	DBC *c;
	int ret, r2, n;

	aq_workers_free(a->list, a->n);
	a->list = NULL;
	a->n = a->cap = 0;
	if ((ret = aq->db->cursor(aq->db, txn, &c, DB_READ_COMMITTED)) != 0)
		return ret;
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = &first;
	key.size = 1;
	for (ret = c->get(c, &key, &data, DB_SET_RANGE); ret == 0;
	    ret = c->get(c, &key, &data, DB_NEXT)) {
		const unsigned char *p = key.data;
		struct aq_worker *w;

		if (key.size != 1 + AQ_UUID_LEN || p[0] != K_WORKER)
			break;
		if (decode(data.data, data.size, &r) == -1)
			continue;
		memcpy(r.w.uuid, p + 1, AQ_UUID_LEN);
		r.w.state = judge(&r.w, now);
		if ((n = owned(aq, txn, r.w.uuid, ids, 1024)) < 0) {
			ret = n;
			break;
		}
		if (a->n == a->cap) {
			size_t cap = a->cap ? a->cap * 2 : 16;
			struct aq_worker **l;

			if ((l = aq__realloc(a->list, cap * sizeof(*l))) ==
			    NULL) {
				ret = ENOMEM;
				break;
			}
			a->list = l;
			a->cap = cap;
		}
		if ((w = pack(&r, ids, n)) == NULL) {
			ret = ENOMEM;
			break;
		}
		a->list[a->n++] = w;
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	return ret;
}

int
aq_workers(struct aq *aq, struct aq_worker ***list, size_t *n)
{
	struct list_arg a = { NULL, 0, 0 };
	int rc;

	*list = NULL;
	*n = 0;
	if ((rc = aq__run(aq, list_op, &a, 0)) != AQ_OK) {
		aq_workers_free(a.list, a.n);
		return rc;
	}
	*list = a.list;
	*n = a.n;
	return AQ_OK;
}

void
aq_workers_free(struct aq_worker **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		aq__free(list[i]);
	aq__free(list);
}

const char *
aq_worker_state_name(enum aq_worker_state s)
{
	switch (s) {
	case AQ_WORKER_RUNNING: return "RUNNING";
	case AQ_WORKER_STOPPED: return "STOPPED";
	case AQ_WORKER_DEAD: return "DEAD";
	}
	return "?";
}
