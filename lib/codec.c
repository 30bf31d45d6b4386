/*
 * codec.c: the keys and records of aq.db.
 *
 * Everything lives in one btree, so that a program opens one database
 * handle (each handle costs about 85 us).  Keys start with a type byte and
 * are built from big-endian integers, so the default byte order of the
 * btree is the order we want and no comparison function has to be the
 * same in every process:
 *
 *   'J' id                       job record (below)
 *   'R' queue NUL prio' begin id ready index, the claim order: prio' is
 *                                0x7fffffff - priority, biased so that
 *                                higher priorities sort first
 *   'S' begin id                 scheduled jobs; value: their 'R' key
 *   'L' lease id                 active jobs by the end of their lease
 *   'O' owner id                 active jobs by claimer (a UUID)
 *   'Q' queue                    queue record
 *   'N'                          next job id
 *   'E' hash                     an environment, stored once for all jobs
 *                                that share it
 *   'G' hash                     how many jobs use that environment
 *   'T' slot                     the token of the slot's last write
 *   'W' uuid                     a registered worker (worker.c)
 *   'M' minute                   statistics of that minute (stats.c)
 *   'V'                          format version and libdb version
 *   'I'                          the highest id moved in from the intake
 *   'U' 'H' 'Z'                  quotas, their holders, the jobs they
 *                                hold back (quota.c)
 *   'D' 'C' 'F' 'A'              dependencies, children, done jobs by
 *                                end time, run history (deps.c)
 *   'X' owner id                 active jobs aq-cancel asked to stop
 *   'K' id key                   live notes (notes.c)
 *
 * A job record is a list of fields, each a tag byte, a length and the
 * bytes: readers skip tags they do not know, so a later format can add
 * fields without breaking older records.  Integers are zigzag varints;
 * fields at their zero value are not stored at all.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum {
	T_QUEUE = 1, T_NAME, T_ARGV, T_ENV, T_CWD, T_PRIO, T_FLAGS, T_CREATED,
	T_BEGIN, T_DEADLINE, T_TIMEOUT, T_RETRIES, T_RETRYDELAY, T_STATE,
	T_OUTCOME, T_ATTEMPT, T_INTERRUPTS, T_EXIT, T_SIGNAL, T_WORKER,
	T_STARTED, T_ENDED, T_LEASE, T_UTIME, T_STIME, T_MAXRSS, T_OUTSIZE,
	T_OUTCAP, T_FAILURES,
	T_LASTINT = T_FAILURES,	/* integer tags run from T_PRIO to here */
	T_QUOTAS,		/* the quota names, each NUL-terminated */
	T_AGENT,		/* the agent that claimed it */
	T_AFTER,		/* dependencies: 8-byte id, 1-byte kind each */
	T_FIRSTINT2 = 40,	/* more integer tags, from here */
	T_WAITS = T_FIRSTINT2, T_PARENT, T_KIDS, T_KIDFAIL, T_AFTERID,
	T_AFTERST, T_AFTEROUT, T_DEPENDED, T_OWNRESULT,
	T_LASTINT2 = T_OWNRESULT
};

static int
int_tag(int tag)
{
	return (tag >= T_PRIO && tag <= T_LASTINT && tag != T_WORKER) ||
	    (tag >= T_FIRSTINT2 && tag <= T_LASTINT2);
}

int
aq__buf_put(struct aq__buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		unsigned char *q;

		while (cap < b->len + n)
			cap *= 2;
		if ((q = aq__realloc(b->p, cap)) == NULL)
			return -1;
		b->p = q;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int
aq__buf_u8(struct aq__buf *b, unsigned c)
{
	unsigned char x = (unsigned char)c;

	return aq__buf_put(b, &x, 1);
}

void
aq__be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

uint64_t
aq__get64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void
aq__be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

uint32_t
aq__get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Times may in principle be negative: bias them so bytes sort right. */
static uint64_t
tbias(aq_time t)
{
	return (uint64_t)t ^ ((uint64_t)1 << 63);
}

/*
 * Cursor walks reuse one buffer for every key: d holds len bytes of buf
 * now, and BDB writes up to cap there (a longer key fails with ENOMEM,
 * which AQ__ANYKEY_MAX rules out).
 */
void
aq__dbt_buf(DBT *d, void *buf, size_t len, size_t cap)
{
	memset(d, 0, sizeof(*d));
	d->data = buf;
	d->size = (u_int32_t)len;
	d->ulen = (u_int32_t)cap;
	d->flags = DB_DBT_USERMEM;
}

/* Read at most the first cap bytes of a value into buf: none if cap is 0. */
void
aq__dbt_part(DBT *d, void *buf, size_t cap)
{
	aq__dbt_buf(d, buf, 0, cap);
	d->dlen = (u_int32_t)cap;
	d->flags |= DB_DBT_PARTIAL;
}

/* Delete every key that starts with the pn bytes of pre. */
int
aq__del_prefix(struct aq *aq, DB_TXN *txn, const unsigned char *pre,
    size_t pn)
{
	unsigned char k[AQ__ANYKEY_MAX];
	DBT key, data;
	DBC *c;
	u_int32_t flag = DB_SET_RANGE;
	int ret, r2;

	if ((ret = aq->db->cursor(aq->db, txn, &c, 0)) != 0)
		return ret;
	memcpy(k, pre, pn);
	aq__dbt_buf(&key, k, pn, sizeof(k));
	aq__dbt_part(&data, NULL, 0);
	for (;;) {
		ret = c->get(c, &key, &data, flag | DB_RMW);
		flag = DB_NEXT;
		if (ret == DB_NOTFOUND || (ret == 0 && (key.size < pn ||
		    memcmp(k, pre, pn) != 0))) {
			ret = 0;
			break;
		}
		if (ret != 0 || (ret = c->del(c, 0)) != 0)
			break;
	}
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	return ret;
}

size_t
aq__key_job(unsigned char *k, uint64_t id)
{
	k[0] = K_JOB;
	aq__be64(k + 1, id);
	return 9;
}

size_t
aq__key_ready(unsigned char *k, const char *queue, int32_t prio,
    aq_time begin, uint64_t id)
{
	size_t n = strlen(queue);

	k[0] = K_READY;
	memcpy(k + 1, queue, n + 1);
	aq__be32(k + n + 2, (uint32_t)(0x7fffffffL - (int64_t)prio));
	aq__be64(k + n + 6, tbias(begin));
	aq__be64(k + n + 14, id);
	return n + 22;
}

size_t
aq__key_sched(unsigned char *k, aq_time begin, uint64_t id)
{
	k[0] = K_SCHED;
	aq__be64(k + 1, tbias(begin));
	aq__be64(k + 9, id);
	return 17;
}

size_t
aq__key_lease(unsigned char *k, aq_time lease, uint64_t id)
{
	k[0] = K_LEASE;
	aq__be64(k + 1, tbias(lease));
	aq__be64(k + 9, id);
	return 17;
}

size_t
aq__key_owner(unsigned char *k, const unsigned char *owner, uint64_t id)
{
	k[0] = K_OWNER;
	memcpy(k + 1, owner, AQ_UUID_LEN);
	aq__be64(k + 1 + AQ_UUID_LEN, id);
	return 1 + AQ_UUID_LEN + 8;
}

/* ---- job records ---- */

int
aq__put_varint(struct aq__buf *b, uint64_t v)
{
	unsigned char x[10];
	int n = 0;

	do {
		x[n] = v & 0x7f;
		v >>= 7;
		if (v)
			x[n] |= 0x80;
		n++;
	} while (v);
	return aq__buf_put(b, x, n);
}

int
aq__get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	int shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		unsigned char c = *(*p)++;

		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
		shift += 7;
	}
	return -1;
}

int
aq__field(struct aq__buf *b, int tag, const void *p, size_t n)
{
	if (aq__buf_u8(b, tag) == -1 || aq__put_varint(b, n) == -1)
		return -1;
	return aq__buf_put(b, p, n);
}

int
aq__ifield(struct aq__buf *b, int tag, int64_t v)
{
	unsigned char x[10];
	struct aq__buf t = { x, 0, sizeof(x) };
	uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);

	if (v == 0)
		return 0;
	if (aq__put_varint(&t, z) == -1)
		return -1;
	return aq__field(b, tag, x, t.len);
}

int
aq__sfield(struct aq__buf *b, int tag, const char *s)
{
	if (s == NULL)
		return 0;
	return aq__field(b, tag, s, strlen(s) + 1);
}

/* The dependencies: 8-byte id and 1-byte kind (1: any outcome) each. */
static int
after_field(struct aq__buf *b, const struct aq_dep *d, size_t n)
{
	unsigned char buf[9 * 64], *p;
	size_t i, k;
	int r = 0;

	if (aq__buf_u8(b, T_AFTER) == -1 || aq__put_varint(b, 9 * n) == -1)
		return -1;
	for (i = 0; i < n && r == 0; i += k) {
		for (k = 0, p = buf; k < 64 && i + k < n; k++, p += 9) {
			aq__be64(p, d[i + k].id);
			p[8] = (unsigned char)(d[i + k].any != 0);
		}
		r = aq__buf_put(b, buf, 9 * k);
	}
	return r;
}

/* Strings, each NUL-terminated, one after the other. */
static int
join(char *const *v, struct aq__buf *b)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		if (aq__buf_put(b, v[i], strlen(v[i]) + 1) == -1)
			return -1;
	return 0;
}

static int
encode(const struct aq_job *j, const char *argvp, size_t argvlen,
    const char *quotasp, size_t quotaslen, const unsigned char *afterp,
    uint64_t envkey, struct aq__buf *b)
{
	unsigned char ek[8];

	aq__be64(ek, envkey);
	if (aq__sfield(b, T_QUEUE, j->queue) == -1 ||
	    aq__sfield(b, T_NAME, j->name) == -1 ||
	    aq__field(b, T_ARGV, argvp, argvlen) == -1 ||
	    (envkey != 0 && aq__field(b, T_ENV, ek, 8) == -1) ||
	    aq__sfield(b, T_CWD, j->cwd) == -1 ||
	    aq__ifield(b, T_PRIO, j->priority) == -1 ||
	    aq__ifield(b, T_FLAGS, j->flags) == -1 ||
	    aq__ifield(b, T_CREATED, j->created) == -1 ||
	    aq__ifield(b, T_BEGIN, j->begin) == -1 ||
	    aq__ifield(b, T_DEADLINE, j->deadline) == -1 ||
	    aq__ifield(b, T_TIMEOUT, j->timeout) == -1 ||
	    aq__ifield(b, T_RETRIES, j->retries) == -1 ||
	    aq__ifield(b, T_RETRYDELAY, j->retry_delay) == -1 ||
	    aq__ifield(b, T_STATE, j->state) == -1 ||
	    aq__ifield(b, T_OUTCOME, j->outcome) == -1 ||
	    aq__ifield(b, T_ATTEMPT, j->attempt) == -1 ||
	    aq__ifield(b, T_INTERRUPTS, j->interrupts) == -1 ||
	    aq__ifield(b, T_EXIT, (int64_t)j->exit_code + 1) == -1 ||
	    aq__ifield(b, T_SIGNAL, j->signal) == -1 ||
	    (!aq_uuid_is_null(j->worker) &&
	    aq__field(b, T_WORKER, j->worker, AQ_UUID_LEN) == -1) ||
	    aq__ifield(b, T_STARTED, j->started) == -1 ||
	    aq__ifield(b, T_ENDED, j->ended) == -1 ||
	    aq__ifield(b, T_LEASE, j->lease) == -1 ||
	    aq__ifield(b, T_UTIME, j->utime) == -1 ||
	    aq__ifield(b, T_STIME, j->stime) == -1 ||
	    aq__ifield(b, T_MAXRSS, j->maxrss) == -1 ||
	    aq__ifield(b, T_OUTSIZE, j->output_size) == -1 ||
	    aq__ifield(b, T_OUTCAP, j->output_cap) == -1 ||
	    aq__ifield(b, T_FAILURES, j->failures) == -1 ||
	    (quotaslen > 0 && aq__field(b, T_QUOTAS, quotasp, quotaslen) ==
	    -1) || aq__sfield(b, T_AGENT, j->agent) == -1 ||
	    (j->nafter > 0 && (afterp != NULL ?
	    aq__field(b, T_AFTER, afterp, 9 * j->nafter) :
	    after_field(b, j->after, j->nafter)) == -1) ||
	    aq__ifield(b, T_WAITS, j->waits) == -1 ||
	    aq__ifield(b, T_PARENT, (int64_t)j->parent) == -1 ||
	    aq__ifield(b, T_KIDS, j->kids) == -1 ||
	    aq__ifield(b, T_KIDFAIL, j->kidfail) == -1 ||
	    aq__ifield(b, T_AFTERID, (int64_t)j->after_id) == -1 ||
	    aq__ifield(b, T_AFTERST, (int64_t)j->after_status + 1) == -1 ||
	    aq__ifield(b, T_AFTEROUT, j->after_outcome) == -1 ||
	    aq__ifield(b, T_DEPENDED, j->depended) == -1 ||
	    aq__ifield(b, T_OWNRESULT, j->own_outcome) == -1)
		return -1;
	return 0;
}

/*
 * Encode job j.  Its argv comes from argvp (argvlen bytes, as a decoded
 * record has it) or, when argvp is NULL, from j->argv; its quotas from
 * j->quotas.
 */
int
aq__job_encode(const struct aq_job *j, const char *argvp, size_t argvlen,
    uint64_t envkey, struct aq__buf *b)
{
	struct aq__buf av = { NULL, 0, 0 }, qv = { NULL, 0, 0 };
	int r = 0;

	if (argvp == NULL) {
		r = join(j->argv, &av);
		argvp = (const char *)av.p;
		argvlen = av.len;
	}
	if (r == -1 || join(j->quotas, &qv) == -1 ||
	    encode(j, argvp, argvlen, (const char *)qv.p, qv.len, NULL, envkey,
	    b) == -1)
		r = -1;
	aq__free(av.p);
	aq__free(qv.p);
	return r;
}

/* Encode a decoded record r, with the changes made to r->j. */
int
aq__rec_encode(const struct aq__rec *r, struct aq__buf *b)
{
	return encode(&r->j, r->argvp, r->argvlen, r->quotasp, r->quotaslen,
	    r->j.after != NULL ? NULL : r->afterp, r->envkey, b);
}

/* A string field must end in its NUL: a record is never trusted. */
static const char *
sval(const unsigned char *p, uint64_t n)
{
	if (n == 0 || p[n - 1] != '\0')
		return NULL;
	return (const char *)p;
}

/*
 * Decode a record into r; strings point into the record.  Returns 0, or
 * -1 for a corrupt record.  argv and envp are left to aq__job_pack().
 */
int
aq__job_decode(const void *rec, size_t len, struct aq__rec *r)
{
	const unsigned char *p = rec, *end = p + len;
	struct aq_job *j = &r->j;

	memset(r, 0, sizeof(*r));
	j->exit_code = -1;
	j->after_status = -1;
	while (p < end) {
		uint64_t n, v = 0;
		int64_t iv;
		int tag = *p++;

		if (aq__get_varint(&p, end, &n) == -1 || n > (uint64_t)(end - p))
			return -1;
		if (int_tag(tag)) {
			const unsigned char *q = p;

			if (aq__get_varint(&q, p + n, &v) == -1)
				return -1;
		}
		iv = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
		switch (tag) {
		case T_QUEUE:
			if ((j->queue = (char *)sval(p, n)) == NULL)
				return -1;
			break;
		case T_NAME:
			if ((j->name = (char *)sval(p, n)) == NULL)
				return -1;
			break;
		case T_ARGV:
			if (n == 0 || p[n - 1] != '\0')
				return -1;
			r->argvp = (const char *)p;
			r->argvlen = n;
			break;
		case T_ENV:
			if (n != 8)
				return -1;
			r->envkey = aq__get64(p);
			break;
		case T_CWD:
			if ((j->cwd = (char *)sval(p, n)) == NULL)
				return -1;
			break;
		case T_QUOTAS: {
			const char *q = (const char *)p;
			size_t k = 0;

			if (n == 0 || p[n - 1] != '\0')
				return -1;
			r->quotasp = q;
			r->quotaslen = n;
			while (q < (const char *)p + n) {
				if (k == AQ_QUOTAS_MAX)
					return -1;
				r->qv[k++] = q;
				q += strlen(q) + 1;
			}
			r->qv[k] = NULL;
			j->quotas = (char **)r->qv;
			break;
		}
		case T_AGENT:
			if ((j->agent = (char *)sval(p, n)) == NULL)
				return -1;
			break;
		case T_AFTER:
			if (n == 0 || n % 9 != 0)
				return -1;
			r->afterp = p;
			j->nafter = n / 9;
			break;
		case T_WAITS: j->waits = (int)iv; break;
		case T_PARENT: j->parent = (uint64_t)iv; break;
		case T_KIDS: j->kids = (int)iv; break;
		case T_KIDFAIL: j->kidfail = (int)iv; break;
		case T_AFTERID: j->after_id = (uint64_t)iv; break;
		case T_AFTERST: j->after_status = (int)iv - 1; break;
		case T_AFTEROUT:
			if (iv < 0 || iv >= AQ_NOUTCOMES)
				return -1;
			j->after_outcome = (enum aq_outcome)iv;
			break;
		case T_DEPENDED: j->depended = (int)iv; break;
		case T_OWNRESULT:
			if (iv < 0 || iv >= AQ_NOUTCOMES)
				return -1;
			j->own_outcome = (enum aq_outcome)iv;
			break;
		case T_PRIO: j->priority = (int32_t)iv; break;
		case T_FLAGS: j->flags = (unsigned)iv; break;
		case T_CREATED: j->created = iv; break;
		case T_BEGIN: j->begin = iv; break;
		case T_DEADLINE: j->deadline = iv; break;
		case T_TIMEOUT: j->timeout = iv; break;
		case T_RETRIES: j->retries = (int)iv; break;
		case T_RETRYDELAY: j->retry_delay = iv; break;
		case T_STATE:
			if (iv < 0 || iv > AQ_DONE)
				return -1;
			j->state = (enum aq_state)iv;
			break;
		case T_OUTCOME:
			if (iv < 0 || iv >= AQ_NOUTCOMES)
				return -1;
			j->outcome = (enum aq_outcome)iv;
			break;
		case T_ATTEMPT: j->attempt = (int)iv; break;
		case T_INTERRUPTS: j->interrupts = (int)iv; break;
		case T_EXIT: j->exit_code = (int)iv - 1; break;
		case T_SIGNAL: j->signal = (int)iv; break;
		case T_WORKER:
			if (n != AQ_UUID_LEN)
				return -1;
			memcpy(j->worker, p, AQ_UUID_LEN);
			break;
		case T_STARTED: j->started = iv; break;
		case T_ENDED: j->ended = iv; break;
		case T_LEASE: j->lease = iv; break;
		case T_UTIME: j->utime = iv; break;
		case T_STIME: j->stime = iv; break;
		case T_MAXRSS: j->maxrss = iv; break;
		case T_OUTSIZE: j->output_size = iv; break;
		case T_OUTCAP: j->output_cap = iv; break;
		case T_FAILURES: j->failures = (int)iv; break;
		default:
			break;	/* a field of a later format */
		}
		p += n;
	}
	if (j->queue == NULL || r->argvp == NULL ||
	    j->state > AQ_DONE || j->outcome >= AQ_NOUTCOMES)
		return -1;
	return 0;
}

static size_t
count_strings(const char *p, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (p[i] == '\0')
			n++;
	return n;
}

static size_t
align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* Copy a decoded record (and its environment) into one malloc'd block. */
struct aq_job *
aq__job_pack(const struct aq__rec *r, const void *envblob, size_t envlen)
{
	const struct aq_job *s = &r->j;
	size_t nargv = count_strings(r->argvp, r->argvlen);
	size_t nenv = envblob ? count_strings(envblob, envlen) : 0;
	size_t nquotas = count_strings(r->quotasp, r->quotaslen);
	size_t lq = strlen(s->queue) + 1;
	size_t ln = s->name ? strlen(s->name) + 1 : 0;
	size_t lc = s->cwd ? strlen(s->cwd) + 1 : 0;
	size_t la = s->agent ? strlen(s->agent) + 1 : 0;
	size_t size, i;
	struct aq_job *j;
	char *p, **v;

	size = align8(sizeof(*j)) + s->nafter * sizeof(struct aq_dep) +
	    (nargv + 1) * sizeof(char *) +
	    (envblob ? (nenv + 1) * sizeof(char *) : 0) +
	    (nquotas + 1) * sizeof(char *) +
	    lq + ln + lc + la + r->argvlen + r->quotaslen + envlen;
	if ((j = aq__malloc(size)) == NULL)
		return NULL;
	*j = *s;
	j->after = NULL;
	if (s->nafter > 0) {
		j->after = (struct aq_dep *)((char *)j + align8(sizeof(*j)));
		for (i = 0; i < s->nafter; i++) {
			j->after[i].id = s->after != NULL ? s->after[i].id :
			    aq__get64(r->afterp + 9 * i);
			j->after[i].any = s->after != NULL ? s->after[i].any :
			    r->afterp[9 * i + 8];
		}
	}
	v = (char **)((char *)j + align8(sizeof(*j)) +
	    s->nafter * sizeof(struct aq_dep));
	j->argv = v;
	v += nargv + 1;
	j->envp = NULL;
	if (envblob) {
		j->envp = v;
		v += nenv + 1;
	}
	j->quotas = v;
	v += nquotas + 1;
	p = (char *)v;
	if (la) {
		j->agent = memcpy(p, s->agent, la);
		p += la;
	}
	if (r->quotaslen > 0)
		memcpy(p, r->quotasp, r->quotaslen);
	for (i = 0; i < nquotas; i++) {
		j->quotas[i] = p;
		p += strlen(p) + 1;
	}
	j->quotas[nquotas] = NULL;
	j->queue = memcpy(p, s->queue, lq);
	p += lq;
	if (ln) {
		j->name = memcpy(p, s->name, ln);
		p += ln;
	}
	if (lc) {
		j->cwd = memcpy(p, s->cwd, lc);
		p += lc;
	}
	memcpy(p, r->argvp, r->argvlen);
	for (i = 0; i < nargv; i++) {
		j->argv[i] = p;
		p += strlen(p) + 1;
	}
	j->argv[nargv] = NULL;
	if (envblob) {
		memcpy(p, envblob, envlen);
		for (i = 0; i < nenv; i++) {
			j->envp[i] = p;
			p += strlen(p) + 1;
		}
		j->envp[nenv] = NULL;
	}
	return j;
}

void
aq_job_free(struct aq_job *job)
{
	aq__free(job);
}

int
aq__env_encode(char *const *envp, struct aq__buf *b)
{
	size_t i;

	for (i = 0; envp[i] != NULL; i++)
		if (aq__buf_put(b, envp[i], strlen(envp[i]) + 1) == -1)
			return -1;
	return 0;
}

/* FNV-1a: only a bucket for an environment; contents are compared. */
uint64_t
aq__hash64(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h ? h : 1;
}

/* Make j a new pending job: no run, no outcome, no worker. */
void
aq__job_new(struct aq_job *j)
{
	j->state = AQ_PENDING;
	j->outcome = AQ_NONE;
	j->attempt = j->interrupts = j->signal = j->failures = 0;
	j->exit_code = -1;
	j->started = j->ended = j->lease = 0;
	j->utime = j->stime = j->maxrss = j->output_size = j->output_cap = 0;
	memset(j->worker, 0, AQ_UUID_LEN);
	j->waits = j->kids = j->kidfail = j->depended = 0;
	j->after_id = 0;
	j->after_status = -1;
	j->after_outcome = j->own_outcome = AQ_NONE;
}

enum aq_reason
aq__reason(const struct aq_job *j, aq_time now)
{
	if (j->state != AQ_PENDING)
		return AQ_READY;
	if (j->flags & AQ_JOB_HOLD)
		return AQ_HELD;
	if (j->waits > 0)
		return AQ_BLOCKED;
	if (j->begin > now)
		return AQ_SCHEDULED;
	return AQ_READY;
}
