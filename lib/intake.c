/*
 * intake.c: where a put drops its jobs without joining the environment.
 *
 * Joining the Berkeley DB environment costs a short-lived program more
 * than everything else it does (opening the regions, the database, the
 * gate).  So a put of a few jobs appends them, with their ids, to the
 * file "intake" of the home and flushes it: one write and one
 * fdatasync(2), as Postfix's postdrop drops mail for its pickup.  Any
 * operation that reads or changes jobs first moves what is there into
 * the database (ingest), so an id that aq_put() returned is visible to
 * every later call, in any process.
 *
 * The file: a 64-byte header (magic, format, the next id to hand out, a
 * generation bumped at each truncation, the offset up to which records
 * were moved, a hash of the boot id of the last writer, and a hash of all
 * that), then records.  A record is a header (magic, job count, first id,
 * payload length), the payload (per job: its record as codec.c encodes
 * it, then its environment), and a trailer (a hash of the rest, the
 * record's length, a second magic).  Everything is big-endian.
 *
 * Invariants:
 *  - the intake's header hands out every id, to puts through the intake
 *    and to puts straight into the database alike (aq__intake_reserve()),
 *    under an OFD lock on byte 0; the next id is the largest of the
 *    header's and the last record's end, so a putter killed between its
 *    two writes never makes an id be given twice;
 *  - the database's 'I' record holds the highest id moved from the
 *    intake; ids are appended in increasing order, so moving a record
 *    twice (two ingesters, or one killed before it truncated) stores
 *    nothing twice, and the file is truncated only after the move
 *    committed durably;
 *  - no lock of the intake is held while waiting for a Berkeley DB lock,
 *    except while repairing a header a crash broke;
 *  - a record is appended only after a valid tail: a putter killed
 *    mid-write leaves a torn tail, which the next putter leaves to the
 *    database path, whose ingest cuts it off.  After a reboot (the boot
 *    id changed), records past the tail may be torn too, so the first
 *    put goes through the database path, whose ingest checks every
 *    record's hash.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define IN_FILE		"intake"
#define IN_HDR		64
#define IN_MAGIC	0x6171696eu	/* "aqin" */
#define REC_MAGIC	0x61717231u	/* "aqr1" */
#define END_MAGIC	0x6171727au	/* "aqrz" */
#define REC_HDR		24
#define REC_END		16
#define NO_ENV		0xffffffffu

#define PUT_MAX_JOBS	256		/* more go straight to the database */
#define PUT_MAX_BYTES	(1 << 20)
#define FILE_MAX	(8 << 20)	/* beyond: puts take the database path */
#define READ_MAX	(16 << 20)	/* read per ingest round */
#define LOCK_WAIT_MS	10000

struct hdr {
	uint32_t	 format;
	uint64_t	 next, gen, consumed, boot;
};

/* ---- the header, the lock, the boot ---- */

static void
hdr_encode(const struct hdr *h, unsigned char *b)
{
	memset(b, 0, IN_HDR);
	aq__be32(b, IN_MAGIC);
	aq__be32(b + 4, h->format);
	aq__be64(b + 8, h->next);
	aq__be64(b + 16, h->gen);
	aq__be64(b + 24, h->consumed);
	aq__be64(b + 32, h->boot);
	aq__be64(b + 56, aq__hash64(b, 56));
}

/* Read the header.  Returns 0, 1 if the file has none (or a torn one). */
static int
hdr_read(int fd, struct hdr *h)
{
	unsigned char b[IN_HDR];

	if (pread(fd, b, IN_HDR, 0) != IN_HDR || aq__get32(b) != IN_MAGIC ||
	    aq__get64(b + 56) != aq__hash64(b, 56))
		return 1;
	h->format = aq__get32(b + 4);
	h->next = aq__get64(b + 8);
	h->gen = aq__get64(b + 16);
	h->consumed = aq__get64(b + 24);
	h->boot = aq__get64(b + 32);
	return 0;
}

static int
hdr_write(int fd, const struct hdr *h)
{
	unsigned char b[IN_HDR];

	hdr_encode(h, b);
	return pwrite(fd, b, IN_HDR, 0) == IN_HDR ? 0 : -1;
}

/* A hash of this boot's id: a change means the machine went down. */
static uint64_t
boot_hash(void)
{
	static uint64_t h;
	char buf[64];
	ssize_t n;
	int fd;

	if (h != 0)
		return h;
	if ((fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY |
	    O_CLOEXEC)) == -1)
		return h = 1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return h = n > 0 ? aq__hash64(buf, (size_t)n) : 1;
}

/*
 * Lock byte 0 of the intake, with an OFD lock (threads and processes
 * alike), waiting at most LOCK_WAIT_MS: every holder does a few system
 * calls, but one may be stopped.  Returns 0 or an aq_err.
 */
static int
lock(struct aq *aq, int on)
{
	struct timespec nap = { 0, 0 };
	struct flock f;
	aq_time until = 0;

	for (;;) {
		memset(&f, 0, sizeof(f));
		f.l_type = on ? F_WRLCK : F_UNLCK;
		f.l_whence = SEEK_SET;
		f.l_len = 1;
		if (fcntl(aq->intake, F_OFD_SETLK, &f) == 0)
			return 0;
		if (!on || (errno != EAGAIN && errno != EACCES &&
		    errno != EINTR))
			return aq__err(AQ_EAGAIN, "cannot lock '%s/%s': %s",
			    aq->home, IN_FILE, strerror(errno));
		if (until == 0)
			until = aq_now() + LOCK_WAIT_MS * 1000LL;
		else if (aq_now() > until)
			return aq__err(AQ_EAGAIN, "'%s/%s' is busy: gave up "
			    "waiting", aq->home, IN_FILE);
		nap.tv_nsec = (random() % 1000 + 50) * 1000L;
		nanosleep(&nap, NULL);
	}
}

#define unlock(aq)	((void)lock((aq), 0))

/* Unlock and report that the intake could not be written (errno e). */
static int
werr(struct aq *aq, int e)
{
	unlock(aq);
	return aq__err(AQ_EAGAIN, "cannot write '%s/%s': %s", aq->home,
	    IN_FILE, strerror(e));
}

/*
 * The end of the ids in the record that ends at size (its first id plus
 * its job count), or 0 when the tail is not a whole record (a putter was
 * killed mid-write).  Only the trailer and the header are checked here;
 * an ingest checks the hash.
 */
static uint64_t
tail_end(int fd, off_t size)
{
	unsigned char t[REC_END], h[REC_HDR];
	uint32_t total;

	if (size <= IN_HDR)
		return 1;	/* no record: nothing to add */
	if (size < IN_HDR + REC_HDR + REC_END ||
	    pread(fd, t, REC_END, size - REC_END) != REC_END ||
	    aq__get32(t + 12) != END_MAGIC)
		return 0;
	total = aq__get32(t + 8);
	if (total < REC_HDR + REC_END || total > size - IN_HDR ||
	    pread(fd, h, REC_HDR, size - total) != REC_HDR ||
	    aq__get32(h) != REC_MAGIC ||
	    aq__get32(h + 16) != total - REC_HDR - REC_END)
		return 0;
	return aq__get64(h + 8) + aq__get32(h + 4);
}

int
aq__intake_open(struct aq *aq, int create)
{
	char path[PATH_MAX + 16];
	struct hdr h;

	aq->intake = -1;
	snprintf(path, sizeof(path), "%s/%s", aq->home, IN_FILE);
	if ((aq->intake = open(path, O_RDWR | O_CLOEXEC |
	    (create ? O_CREAT : 0), aq->fmode)) == -1) {
		if (errno == ENOENT)
			return AQ_OK;	/* made by the first database put */
		return aq__err(errno == EACCES ? AQ_EPERM : AQ_EUNAVAIL,
		    "cannot open '%s': %s", path, strerror(errno));
	}
	if (create) {
		(void)fchmod(aq->intake, aq->fmode);
		/* A new environment: ids start at 1. */
		if (lock(aq, 1) != AQ_OK)
			return AQ_OK;	/* the database path will see */
		if (hdr_read(aq->intake, &h) != 0 &&
		    lseek(aq->intake, 0, SEEK_END) == 0) {
			memset(&h, 0, sizeof(h));
			h.format = AQ_FORMAT;
			h.next = 1;
			h.consumed = IN_HDR;
			h.boot = boot_hash();
			if (hdr_write(aq->intake, &h) == -1 ||
			    fdatasync(aq->intake) == -1) {
				unlock(aq);
				return aq__err(AQ_ECREATE, "cannot create "
				    "'%s': %s", path, strerror(errno));
			}
		}
		unlock(aq);
	}
	return AQ_OK;
}

void
aq__intake_close(struct aq *aq)
{
	if (aq->intake != -1)
		close(aq->intake);
	aq->intake = -1;
}

/* ---- putting ---- */

static int
put32(struct aq__buf *b, uint32_t v)
{
	unsigned char x[4];

	aq__be32(x, v);
	return aq__buf_put(b, x, 4);
}

/* The record of jobs, its ids from first on, into b. */
static int
encode(struct aq_job *jobs, size_t n, uint64_t first, aq_time now,
    struct aq__buf *b)
{
	struct aq__buf jb = { NULL, 0, 0 }, eb = { NULL, 0, 0 };
	unsigned char h[REC_HDR], t[REC_END];
	size_t i;
	int r = 0;

	memset(h, 0, sizeof(h));
	if (aq__buf_put(b, h, REC_HDR) == -1)
		return -1;
	for (i = 0; i < n && r == 0; i++) {
		struct aq_job *j = &jobs[i];

		j->id = first + i;
		j->created = now;
		aq__job_new(j);
		jb.len = eb.len = 0;
		if (aq__job_encode(j, NULL, 0, 0, &jb) == -1 ||
		    (j->envp != NULL && aq__env_encode(j->envp, &eb) == -1) ||
		    put32(b, (uint32_t)jb.len) == -1 ||
		    aq__buf_put(b, jb.p, jb.len) == -1 ||
		    put32(b, j->envp != NULL ? (uint32_t)eb.len : NO_ENV) ==
		    -1 || aq__buf_put(b, eb.p, eb.len) == -1)
			r = -1;
	}
	aq__free(jb.p);
	aq__free(eb.p);
	if (r == -1 || b->len - REC_HDR > UINT32_MAX / 2)
		return -1;
	aq__be32(b->p, REC_MAGIC);
	aq__be32(b->p + 4, (uint32_t)n);
	aq__be64(b->p + 8, first);
	aq__be32(b->p + 16, (uint32_t)(b->len - REC_HDR));
	aq__be64(t, aq__hash64(b->p, b->len));
	aq__be32(t + 8, (uint32_t)(b->len + REC_END));
	aq__be32(t + 12, END_MAGIC);
	return aq__buf_put(b, t, REC_END);
}

int
aq__intake_put(struct aq *aq, struct aq_job *jobs, size_t n, aq_time now)
{
	struct aq__buf b = { NULL, 0, 0 };
	struct stat st;
	struct hdr h;
	uint64_t next = 0, end;
	size_t i;
	int rc, e;

	if (aq->intake == -1 || n > PUT_MAX_JOBS)
		return AQ__FALLBACK;
	/* Encoded before the lock, with ids made up; fixed under it. */
	if (encode(jobs, n, 0, now, &b) == -1) {
		aq__free(b.p);
		return aq__err(AQ_EAGAIN, "out of memory");
	}
	if (b.len > PUT_MAX_BYTES) {
		aq__free(b.p);
		return AQ__FALLBACK;
	}
	if ((rc = lock(aq, 1)) != AQ_OK) {
		aq__free(b.p);
		return rc;
	}
	rc = AQ__FALLBACK;
	if (hdr_read(aq->intake, &h) != 0 || fstat(aq->intake, &st) == -1 ||
	    st.st_size < IN_HDR || st.st_size > FILE_MAX ||
	    (end = tail_end(aq->intake, st.st_size)) == 0)
		goto out;
	/*
	 * Written in another boot: the crash may have torn records past the
	 * tail, or lost the last header; the database path checks.
	 */
	if (h.boot != boot_hash())
		goto out;
	if (h.format > AQ_FORMAT) {
		rc = aq__err(AQ_EUNAVAIL, "environment '%s' has format %u, "
		    "newer than this aq (%d)", aq->home, h.format, AQ_FORMAT);
		goto out;
	}
	next = h.next > end ? h.next : end;
	aq__be64(b.p + 8, next);
	aq__be64(b.p + b.len - REC_END, aq__hash64(b.p, b.len - REC_END));
	if (pwrite(aq->intake, b.p, b.len, st.st_size) != (ssize_t)b.len) {
		e = errno ? errno : ENOSPC;
		(void)ftruncate(aq->intake, st.st_size);
		rc = aq__err(e == ENOSPC || e == EDQUOT ? AQ_EAGAIN :
		    AQ_EUNAVAIL, "cannot write '%s/%s': %s", aq->home,
		    IN_FILE, strerror(e));
		goto out;
	}
	h.next = next + n;
	if (hdr_write(aq->intake, &h) == -1) {
		rc = aq__err(AQ_EAGAIN, "cannot write '%s/%s': %s", aq->home,
		    IN_FILE, strerror(errno));
		goto out;
	}
	rc = AQ_OK;
out:
	unlock(aq);
	aq__free(b.p);
	if (rc != AQ_OK)
		return rc;
	/* Outside the lock: putters that come meanwhile share the flush. */
	if (fdatasync(aq->intake) == -1)
		return aq__err(AQ_EAGAIN, "cannot flush '%s/%s': %s",
		    aq->home, IN_FILE, strerror(errno));
	for (i = 0; i < n; i++)
		jobs[i].id = next + i;
	aq__wake(aq);
	return AQ_OK;
}

/* ---- ingesting ---- */

/* The jobs of one ingest round. */
struct batch {
	struct aq_job	**jobs;
	size_t		  n, cap;
	uint64_t	  top;		/* highest id moved ('I') */
	uint64_t	  end;		/* highest id read, plus one */
	aq_time		  now;
};

static void
batch_free(struct batch *bt)
{
	size_t i;

	for (i = 0; i < bt->n; i++)
		aq_job_free(bt->jobs[i]);
	free(bt->jobs);
	memset(bt, 0, sizeof(*bt));
}

/*
 * Decode the record at p (len bytes available) into bt.  Returns its
 * length, 0 if it is not whole yet, -1 if it is not a record (torn, or
 * garbage after a crash).
 */
static ssize_t
decode(const unsigned char *p, size_t len, struct batch *bt)
{
	const unsigned char *q, *end;
	uint32_t njobs, plen, jlen, elen, k;
	uint64_t first;
	size_t total;

	if (len < REC_HDR)
		return 0;
	if (aq__get32(p) != REC_MAGIC)
		return -1;
	njobs = aq__get32(p + 4);
	first = aq__get64(p + 8);
	plen = aq__get32(p + 16);
	total = (size_t)REC_HDR + plen + REC_END;
	if (plen > UINT32_MAX / 2 || njobs == 0)
		return -1;
	if (len < total)
		return 0;
	if (aq__get32(p + total - 4) != END_MAGIC ||
	    aq__get32(p + total - 8) != total ||
	    aq__get64(p + total - 16) != aq__hash64(p, total - REC_END))
		return -1;
	q = p + REC_HDR;
	end = q + plen;
	for (k = 0; k < njobs; k++) {
		struct aq__rec r;
		struct aq_job *j;
		const unsigned char *env;

		if (end - q < 4 || (jlen = aq__get32(q)) > (size_t)(end - q - 4))
			return -1;
		if (aq__job_decode(q + 4, jlen, &r) == -1)
			return -1;
		q += 4 + jlen;
		if (end - q < 4)
			return -1;
		elen = aq__get32(q);
		q += 4;
		env = NULL;
		if (elen != NO_ENV) {
			if (elen > (size_t)(end - q))
				return -1;
			env = q;
			q += elen;
		}
		if (bt->n == bt->cap) {
			size_t cap = bt->cap ? bt->cap * 2 : 64;
			struct aq_job **v = reallocarray(bt->jobs, cap,
			    sizeof(*v));

			if (v == NULL)
				return -2;
			bt->jobs = v;
			bt->cap = cap;
		}
		/* An empty environment still counts as one. */
		if ((j = aq__job_pack(&r, env != NULL ? (const void *)env :
		    (const void *)"", env != NULL ? elen : 0)) == NULL)
			return -2;
		if (env == NULL)
			j->envp = NULL;
		j->id = first + k;
		bt->jobs[bt->n++] = j;
	}
	if (first + njobs > bt->end)
		bt->end = first + njobs;
	return (ssize_t)total;
}

static int
next_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	return aq__next_id(aq, txn, arg);
}

static int
ingest_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct batch *bt = arg;
	uint64_t top;
	int ret;

	if ((ret = aq__load_u64(aq, txn, K_INTAKE, 1, &top)) != 0 ||
	    (ret = aq__insert_jobs(aq, txn, bt->jobs, bt->n, bt->now,
	    &top)) != 0)
		return ret;
	bt->top = top;
	/*
	 * Written even when nothing was new: the ingester cuts the intake
	 * after this commits durably, and a durable commit flushes the log
	 * up to it, so the moves of others it relies on are on disk too.
	 */
	return aq__store_u64(aq, txn, K_INTAKE, top);
}

/*
 * Read what is in the intake from off on, up to READ_MAX, into *bufp.
 * Returns the bytes read, or -1.
 */
static ssize_t
slurp(int fd, off_t off, off_t size, unsigned char **bufp)
{
	size_t want = (size_t)(size - off), got = 0;
	unsigned char *buf;
	ssize_t r;

	if (want > READ_MAX)
		want = READ_MAX;
	if ((buf = malloc(want ? want : 1)) == NULL)
		return -1;
	while (got < want) {
		r = pread(fd, buf + got, want - got, off + (off_t)got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	*bufp = buf;
	return (ssize_t)got;
}

/*
 * Cut off what an ingest moved, once that is on disk: all of it when
 * nothing came after it (the header first, with the next id past what was
 * read), else just move the header's mark.  *more is set when records
 * are left to read.
 */
static int
apply_cut(struct aq *aq, const struct aq__cut *c, int *more)
{
	struct stat st;
	struct hdr h;
	int rc;

	*more = 0;
	if ((rc = lock(aq, 1)) != AQ_OK)
		return rc;
	if (hdr_read(aq->intake, &h) != 0 || h.gen != c->gen) {
		unlock(aq);
		return AQ_OK;	/* cut by another ingester meanwhile */
	}
	if (fstat(aq->intake, &st) == -1) {
		rc = errno;
		unlock(aq);
		return aq__err(AQ_EUNAVAIL, "cannot read '%s/%s': %s",
		    aq->home, IN_FILE, strerror(rc));
	}
	if (st.st_size <= c->parsed || (c->bad && st.st_size == c->size)) {
		/*
		 * All moved; or the rest is a torn record (a putter killed
		 * mid-write) with nothing after it: cut it off.  A putter
		 * killed between its record and its header left the header
		 * behind its record: with the record gone, the header alone
		 * must keep its ids from being given again, so it is written
		 * first.
		 */
		if (h.next < c->end)
			h.next = c->end;
		h.gen++;
		h.consumed = IN_HDR;
		if (hdr_write(aq->intake, &h) == -1 ||
		    ftruncate(aq->intake, IN_HDR) == -1)
			return werr(aq, errno);
	} else if (h.consumed < (uint64_t)c->parsed) {
		h.consumed = (uint64_t)c->parsed;
		*more = !c->bad;
		if (hdr_write(aq->intake, &h) == -1)
			return werr(aq, errno);
	}
	unlock(aq);
	return AQ_OK;
}

/*
 * One round: read, decode, move into the database, then cut off what was
 * moved.  A handle that defers its syncs (a worker) moves with a commit
 * to the operating system only, and cuts after its next background
 * flush: a put then starts no fsync on the way to its job.  *more is set
 * when the intake still holds records.  With repair, the header is
 * broken: every record is read, and the header is made again, all under
 * the lock.
 */
static int
ingest_round(struct aq *aq, int repair, int *more)
{
	struct aq__cut c;
	struct batch bt;
	struct stat st;
	struct hdr h;
	unsigned char *buf = NULL;
	ssize_t got, n;
	size_t off = 0;
	int rc, bad = 0, locked, deferred;

	*more = 0;
	memset(&bt, 0, sizeof(bt));
	memset(&c, 0, sizeof(c));
	deferred = aq->defer && !repair;
	if ((rc = lock(aq, 1)) != AQ_OK)
		return rc;
	locked = 1;
	if (fstat(aq->intake, &st) == -1) {
		rc = aq__err(AQ_EUNAVAIL, "cannot read '%s/%s': %s", aq->home,
		    IN_FILE, strerror(errno));
		goto out;
	}
	if (!repair && hdr_read(aq->intake, &h) != 0)
		repair = 1;
	if (repair) {
		deferred = 0;
		memset(&h, 0, sizeof(h));
		h.format = AQ_FORMAT;
		h.gen = (uint64_t)aq_now();
		h.consumed = IN_HDR;
	}
	c.start = (off_t)h.consumed;
	if (c.start < IN_HDR || c.start > st.st_size)
		c.start = IN_HDR;
	/* What this handle moved already, waiting for its cut. */
	if (!repair && aq->cut.pending && aq->cut.gen == h.gen &&
	    aq->cut.parsed > c.start && aq->cut.parsed <= st.st_size)
		c.start = aq->cut.parsed;
	c.gen = h.gen;
	if (st.st_size <= c.start && !repair) {
		rc = AQ_OK;
		goto out;
	}
	got = 0;
	if (st.st_size > c.start &&
	    (got = slurp(aq->intake, c.start, st.st_size, &buf)) == -1) {
		rc = aq__err(AQ_EAGAIN, "out of memory");
		goto out;
	}
	c.size = c.start + got;
	if (!repair) {
		unlock(aq);
		locked = 0;
	}
	while (off < (size_t)got) {
		n = decode(buf + off, (size_t)got - off, &bt);
		if (n == -2) {
			rc = aq__err(AQ_EAGAIN, "out of memory");
			goto out;
		}
		if (n <= 0) {
			/* Not whole though the file ends there: torn. */
			bad = n == -1 || c.size == st.st_size;
			break;
		}
		off += (size_t)n;
	}
	c.parsed = c.start + (off_t)off;
	c.bad = bad;
	c.end = bt.end;
	free(buf);
	buf = NULL;
	bt.now = aq_now();
	if (bt.n > 0 && (rc = aq__run(aq, ingest_op, &bt, AQ__WRITE |
	    AQ__NOINGEST | (deferred ? 0 : AQ__SYNC))) != AQ_OK)
		goto out;
	if (deferred) {
		/* Cut after the flush; a later round reads on from here. */
		if (aq->cut.pending && aq->cut.gen == c.gen &&
		    aq->cut.end > c.end)
			c.end = aq->cut.end;
		if ((rc = aq_sync_start(aq)) != AQ_OK)
			goto out;
		c.flush = aq__sync_asked(aq);
		c.pending = 1;
		aq->cut = c;
		rc = AQ_OK;
		goto out;
	}
	if (!repair) {
		rc = apply_cut(aq, &c, more);
		goto out;
	}
	{
		uint64_t next;

		if ((rc = aq__run(aq, next_op, &next, AQ__NOINGEST)) != AQ_OK)
			goto out;
		h.next = next;
		if (h.next <= bt.top)
			h.next = bt.top + 1;
		if (h.next < bt.end)
			h.next = bt.end;
	}
	h.gen++;
	h.consumed = IN_HDR;
	if (hdr_write(aq->intake, &h) == -1 || fdatasync(aq->intake) == -1 ||
	    ftruncate(aq->intake, IN_HDR) == -1) {
		rc = aq__err(AQ_EAGAIN, "cannot write '%s/%s': %s", aq->home,
		    IN_FILE, strerror(errno));
		goto out;
	}
	rc = AQ_OK;
out:
	if (locked)
		unlock(aq);
	free(buf);
	batch_free(&bt);
	return rc;
}

/* The log is on disk up to now: a pending cut may go. */
void
aq__intake_flushed(struct aq *aq)
{
	struct aq__cut c;
	int more;

	if (!aq->cut.pending)
		return;
	c = aq->cut;
	aq->cut.pending = 0;
	(void)apply_cut(aq, &c, &more);
}

int
aq__ingest(struct aq *aq)
{
	struct stat st;
	int more = 1, rc, rounds;

	if (aq->intake == -1 || aq->ingesting)
		return AQ_OK;
	if (aq->cut.pending && aq__sync_done(aq, aq->cut.flush))
		aq__intake_flushed(aq);
	if (fstat(aq->intake, &st) == -1 || st.st_size <= IN_HDR)
		return AQ_OK;
	/* Nothing came since this handle's own move. */
	if (aq->cut.pending && st.st_size == aq->cut.parsed)
		return AQ_OK;
	aq->ingesting = 1;
	for (rc = AQ_OK, rounds = 0; rc == AQ_OK && more && rounds < 64;
	    rounds++)
		rc = ingest_round(aq, 0, &more);
	aq->ingesting = 0;
	return rc;
}

/*
 * Hand out n ids for a put straight into the database, flushed before the
 * put commits: once the put is durable, no later put can get its ids.
 * Makes the intake, or its header, again if it is missing or broken.
 */
int
aq__intake_reserve(struct aq *aq, size_t n, uint64_t *first)
{
	char path[PATH_MAX + 16];
	struct stat st;
	struct hdr h;
	uint64_t end;
	int rc, more, tries;

	if (aq->intake == -1) {
		snprintf(path, sizeof(path), "%s/%s", aq->home, IN_FILE);
		if ((aq->intake = open(path, O_RDWR | O_CREAT | O_CLOEXEC,
		    aq->fmode)) == -1)
			return aq__err(errno == EACCES ? AQ_EPERM :
			    AQ_EUNAVAIL, "cannot open '%s': %s", path,
			    strerror(errno));
		(void)fchmod(aq->intake, aq->fmode);
	}
	for (tries = 0;; tries++) {
		if ((rc = lock(aq, 1)) != AQ_OK)
			return rc;
		end = 1;
		if (hdr_read(aq->intake, &h) != 0 ||
		    fstat(aq->intake, &st) == -1 ||
		    (end = tail_end(aq->intake, st.st_size)) != 0 || tries == 2)
			break;
		/*
		 * A torn tail (a putter killed mid-write): the ids of the
		 * whole records before it are known only by reading them, so
		 * move them in and cut the tail off first.
		 */
		unlock(aq);
		aq->ingesting = 1;
		rc = ingest_round(aq, 0, &more);
		aq->ingesting = 0;
		if (rc != AQ_OK)
			return rc;
	}
	if (end == 0) {
		unlock(aq);
		return aq__err(AQ_EAGAIN, "cannot cut the torn end of "
		    "'%s/%s'", aq->home, IN_FILE);
	}
	if (hdr_read(aq->intake, &h) != 0) {
		unlock(aq);
		/* Made again from the database and what the file holds. */
		aq->ingesting = 1;
		rc = ingest_round(aq, 1, &more);
		aq->ingesting = 0;
		if (rc != AQ_OK)
			return rc;
		if ((rc = lock(aq, 1)) != AQ_OK)
			return rc;
		if (hdr_read(aq->intake, &h) != 0) {
			unlock(aq);
			return aq__err(AQ_EINTERNAL, "cannot repair '%s/%s'",
			    aq->home, IN_FILE);
		}
	}
	if (h.format > AQ_FORMAT) {
		unlock(aq);
		return aq__err(AQ_EUNAVAIL, "environment '%s' has format %u, "
		    "newer than this aq (%d)", aq->home, h.format, AQ_FORMAT);
	}
	if (h.boot != boot_hash()) {
		uint64_t next;

		/*
		 * The first put of a new boot.  A crash may have lost the
		 * header's last writes, but not the database's durable
		 * commits: every id stored is below its 'N' record.  Records
		 * still in the intake are counted by the tail.
		 */
		if ((rc = aq__run(aq, next_op, &next, AQ__NOINGEST)) != AQ_OK) {
			unlock(aq);
			return rc;
		}
		if (h.next < next)
			h.next = next;
		h.boot = boot_hash();
	}
	if (fstat(aq->intake, &st) == -1 ||
	    (end = tail_end(aq->intake, st.st_size)) == 0) {
		unlock(aq);
		return aq__err(AQ_EAGAIN, "cannot read '%s/%s'", aq->home,
		    IN_FILE);
	}
	*first = h.next > end ? h.next : end;
	h.next = *first + n;
	if (hdr_write(aq->intake, &h) == -1 || fdatasync(aq->intake) == -1)
		return werr(aq, errno);
	unlock(aq);
	return AQ_OK;
}
