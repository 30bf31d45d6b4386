/*
 * internal.h: what the files of libaq share and nobody else sees.
 *
 * Internal names start with aq__ so that the shared library exports only
 * the aq_ interface of aq.h.  This is the only header that includes
 * <db.h>.  All of libaq's data lives in one btree, aq.db, under typed
 * keys (see codec.c), so a program opens exactly one database handle.
 */
#ifndef AQ_INTERNAL_H
#define AQ_INTERNAL_H

#include <sys/types.h>

#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>

#include <db.h>

#include "aq.h"

#define AQ_FORMAT	1		/* on-disk format version */
#define AQ_DB_FILE	"aq.db"
#define AQ_LOCK_FILE	"aq.lock"
#define AQ_WAKE_FILE	"wake"

/* Key prefixes of aq.db (codec.c explains each record). */
#define K_JOB		'J'
#define K_READY		'R'
#define K_SCHED		'S'
#define K_LEASE		'L'
#define K_OWNER		'O'
#define K_QUEUE		'Q'
#define K_NEXTID	'N'
#define K_ENVBLOB	'E'
#define K_TOKEN		'T'
#define K_META		'V'
#define K_WORKER	'W'
#define K_STATS		'M'
#define K_INTAKE	'I'
#define K_QUOTA		'U'
#define K_HOLDER	'H'
#define K_PARK		'Z'
#define K_DEP		'D'
#define K_CHILD		'C'
#define K_FINISHED	'F'
#define K_HISTORY	'A'
#define K_CANCEL	'X'
#define K_NOTE		'K'
#define K_ENVREFS	'G'

/* The flags of a queue record. */
#define AQ__QUEUE_PAUSED	0x01

/* Job flags of libaq's own, beside the AQ_JOB_* of aq.h. */
#define AQ__JOB_HEAD	0x100	/* interrupted: first in its queue */
#define AQ__JOB_AWAIT	0x200	/* its run ended: waits for its children */
#define AQ__JOB_CANCEL	0x400	/* active, its worker is to stop it */

/* How a run ended, in a job's history ('A'). */
enum { AQ__RUN_ENDED, AQ__RUN_INTERRUPTED, AQ__RUN_RELEASED,
	AQ__RUN_CANCELLED };

/* What an ingest moved, to cut off the intake once it is on disk. */
struct aq__cut {
	uint64_t	 gen;		/* the intake's generation then */
	off_t		 start, parsed;	/* read from, whole records to */
	off_t		 size;		/* read to */
	int		 bad;		/* a torn record at parsed */
	uint64_t	 end;		/* highest id read, plus one */
	uint64_t	 flush;		/* the background flush it waits for */
	int		 pending;
};

struct aq {
	char		 home[PATH_MAX];
	int		 flags;		/* AQ_OPEN_* */
	mode_t		 fmode;		/* mode of files we create */
	DB_ENV		*env;		/* NULL while out of the environment */
	DB		*db;
	int		 stale;		/* handles point at a replaced env */
	int		 force_recover;	/* a call said DB_RUNRECOVERY */
	unsigned	 recoveries;
	uint64_t	 res[2];	/* result of the last write op */
	aq_time		 last_ckp;
	int		 defer;		/* aq_defer_sync(): commit to the OS */
	int		 wake_due;	/* a deferred touch of the wake file */
	aq_time		 last_reap;	/* aq_claim() reaps once a second */
	struct aq__syncer *syncer;	/* sync.c's thread, once started */
	int		 intake;	/* intake.c's file; -1: none */
	int		 ingesting;
	struct aq__cut	 cut;		/* of a deferred ingest */
	int		 gated;		/* aq__gate_open() done */
	unsigned char	 purge_from[18];	/* purge.c: where to go on */
	int		 purge_resume;
};

/* ---- err.c ---- */
int	 aq__err(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	 aq__dberr(int dbret, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 aq__dbmsg(const DB_ENV *, const char *, const char *);
extern char aq__lastdb[256];

/* ---- mem.c: allocation that an escape never interrupts ---- */
void	*aq__malloc(size_t);
void	*aq__realloc(void *, size_t);
void	 aq__free(void *);
char	*aq__strdup(const char *);

/* ---- gate.c: joining, leaving and recovering the environment ---- */
extern volatile sig_atomic_t aq__in_op, aq__in_alloc, aq__pending;
int	 aq__gate_open(struct aq *);
void	 aq__gate_close(struct aq *);
int	 aq__gate_enter(struct aq *);
void	 aq__gate_leave(struct aq *, int clean);
int	 aq__gate_stale(void);
int	 aq__gate_slot(void);
uint64_t aq__gate_recoveries(void);
int	 aq__gate_dead(int cleanup);
int	 aq__recover(struct aq *, int create);
void	 aq__op_begin(void);
void	 aq__op_end(void);
void	 aq__rejoin(int on);
void	 aq__escape_now(void);
sigjmp_buf *aq__op_jmp(void);
int	 aq__escape_reason(void);
#define AQ__ESC_RECOVER	1
#define AQ__ESC_TIMEOUT	2

/* ---- env.c ---- */
#define AQ__WRITE	0x01	/* writes: durable commit and a token */
#define AQ__BULK	0x02	/* many inserts: DB_TXN_BULK */
#define AQ__NOINGEST	0x04	/* do not move the intake in first */
#define AQ__SYNC	0x08	/* durable even if the handle defers */
#define AQ__FALLBACK	(-1000)	/* intake.c: take the database path */
typedef int (*aq__op)(struct aq *, DB_TXN *, void *);
int	 aq__run(struct aq *, aq__op, void *, int flags);
int	 aq__env_open(struct aq *, int recover);
void	 aq__abandon(struct aq *);

/* ---- codec.c: keys and records ---- */
struct aq__buf {
	unsigned char	*p;
	size_t		 len, cap;
};
int	 aq__buf_put(struct aq__buf *, const void *, size_t);
int	 aq__buf_u8(struct aq__buf *, unsigned);
void	 aq__be64(unsigned char *, uint64_t);
uint64_t aq__get64(const unsigned char *);
void	 aq__be32(unsigned char *, uint32_t);
uint32_t aq__get32(const unsigned char *);

size_t	 aq__key_job(unsigned char *, uint64_t id);
size_t	 aq__key_ready(unsigned char *, const char *queue, int32_t prio,
	    aq_time begin, uint64_t id);
size_t	 aq__key_sched(unsigned char *, aq_time begin, uint64_t id);
size_t	 aq__key_lease(unsigned char *, aq_time lease, uint64_t id);
size_t	 aq__key_owner(unsigned char *, const unsigned char *owner,
	    uint64_t id);
#define AQ__KEY_MAX	(1 + AQ_NAME_MAX + 1 + 4 + 8 + 8)
/* Any key of aq.db fits: a cursor walking past its range meets others. */
#define AQ__ANYKEY_MAX	1024
void	 aq__dbt_buf(DBT *, void *buf, size_t len, size_t cap);
void	 aq__dbt_part(DBT *, void *buf, size_t cap);
int	 aq__del_prefix(struct aq *, DB_TXN *, const unsigned char *pre,
	    size_t pn);

/*
 * A decoded job record points into the record bytes; aq__job_pack()
 * turns it into one malloc'd struct aq_job.
 */
struct aq__rec {
	struct aq_job	 j;		/* j.quotas points at qv */
	const char	*argvp;	size_t argvlen;
	const char	*quotasp; size_t quotaslen;
	const unsigned char *afterp;	/* 9 bytes a dependency */
	uint64_t	 envkey;
	const char	*qv[AQ_QUOTAS_MAX + 1];
};
int	 aq__rec_encode(const struct aq__rec *, struct aq__buf *);
int	 aq__job_encode(const struct aq_job *, const char *argvp,
	    size_t argvlen, uint64_t envkey, struct aq__buf *);
int	 aq__job_decode(const void *, size_t, struct aq__rec *);
struct aq_job *aq__job_pack(const struct aq__rec *, const void *envblob,
	    size_t envlen);
int	 aq__env_encode(char *const *envp, struct aq__buf *);
/* Tag-length-value fields, as job records use them (codec.c). */
int	 aq__put_varint(struct aq__buf *, uint64_t);
int	 aq__get_varint(const unsigned char **, const unsigned char *,
	    uint64_t *);
int	 aq__field(struct aq__buf *, int tag, const void *, size_t);
int	 aq__ifield(struct aq__buf *, int tag, int64_t);
int	 aq__sfield(struct aq__buf *, int tag, const char *);
uint64_t aq__hash64(const void *, size_t);
enum aq_reason aq__reason(const struct aq_job *, aq_time now);
void	 aq__job_new(struct aq_job *);

/* ---- intake.c ---- */
int	 aq__intake_open(struct aq *, int create);
void	 aq__intake_close(struct aq *);
int	 aq__intake_put(struct aq *, struct aq_job *, size_t, aq_time now);
int	 aq__intake_reserve(struct aq *, size_t n, uint64_t *first);
int	 aq__ingest(struct aq *);
void	 aq__intake_flushed(struct aq *);
/* job.c, for it */
int	 aq__insert_jobs(struct aq *, DB_TXN *, struct aq_job **, size_t,
	    aq_time now, uint64_t *skip);
int	 aq__next_id(struct aq *, DB_TXN *, uint64_t *);
int	 aq__load_u64(struct aq *, DB_TXN *, unsigned char, int, uint64_t *);
int	 aq__store_u64(struct aq *, DB_TXN *, unsigned char, uint64_t);

/* ---- quota.c ---- */
int	 aq__quota_full(struct aq *, DB_TXN *, const struct aq_job *,
	    const char **full);
int	 aq__quota_known(struct aq *, DB_TXN *, const struct aq_job *);
int	 aq__quota_take(struct aq *, DB_TXN *, const struct aq_job *);
int	 aq__quota_park(struct aq *, DB_TXN *, const char *name,
	    const unsigned char *rk, size_t rn, const char *jobname);
int	 aq__quota_release(struct aq *, DB_TXN *, const struct aq_job *,
	    int *freed);
int	 aq__quota_blocked(struct aq *, DB_TXN *, const struct aq_job *);
int	 aq__quota_refill(struct aq *, DB_TXN *, uint64_t *moved);
size_t	 aq__job_rkey(const struct aq_job *, unsigned char *);

/* ---- deps.c ---- */
int	 aq__deps_put(struct aq *, DB_TXN *, struct aq_job *, aq_time now);
int	 aq__deps_drop(struct aq *, DB_TXN *, const struct aq_job *,
	    const unsigned char *raw);
int	 aq__job_ended(struct aq *, DB_TXN *, const struct aq_job *, aq_time now,
	    int *woke);
/* job.c, for it */
int	 aq__load_job(struct aq *, DB_TXN *, uint64_t id, int rmw,
	    struct aq__rec *);
int	 aq__store_job(struct aq *, DB_TXN *, struct aq__rec *);
int	 aq__index_pending(struct aq *, DB_TXN *, const struct aq_job *,
	    aq_time now);
int	 aq__unindex_pending(struct aq *, DB_TXN *, const struct aq_job *);
int	 aq__env_ref(struct aq *, DB_TXN *, uint64_t envkey, int64_t delta,
	    int fresh);

/* ---- sync.c ---- */
int	 aq__sync_stop(struct aq *);
uint64_t aq__sync_asked(struct aq *);
int	 aq__sync_done(struct aq *, uint64_t);

/* ---- wake.c ---- */
/* Wake the waiters on home (a deferring handle owes it to its flush). */
void	 aq__wake(struct aq *);
void	 aq__touch(const char *home);
/* Read watch descriptor fd (-1: none) empty. */
void	 aq__drain(int fd);
/*
 * Wait for news on fd until until, and no longer than cap usec (the
 * fallback poll, for a touch lost with its toucher); without fd, a tenth
 * of a second at most.
 */
void	 aq__nap(int fd, aq_time until, int64_t cap);

/* ---- worker.c ---- */
int	 aq__reap_due(struct aq *);
int	 aq__worker_alive(struct aq *, DB_TXN *, const unsigned char *uuid,
	    aq_time now, int *changed);
int	 aq__interrupt_job(struct aq *, DB_TXN *, uint64_t id,
	    const unsigned char *owner, int attempt, aq_time now);

/* ---- stats.c: per-minute counters, updated in the same transaction ---- */
enum {
	AQ__ST_STARTED, AQ__ST_INTERRUPTED, AQ__ST_RETRIED, AQ__ST_ENDED,
	AQ__ST_UNSTARTED	/* a claim given back unrun: now is its time */
};
int	 aq__stat(struct aq *, DB_TXN *, aq_time now, int what,
	    enum aq_outcome, int64_t runtime, uint64_t id);
int	 aq__stats_purge(struct aq *, DB_TXN *, aq_time now, aq_time keep,
	    int *purged);
#define AQ__STATS_KEEP	(7 * 86400 * AQ_SEC)

#endif /* AQ_INTERNAL_H */
