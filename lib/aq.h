/*
 * aq.h: the interface of libaq, the persistent transactional job queue.
 *
 * Every program of aq is a thin shell over these calls.  libaq never prints
 * and never exits: each call returns an aq_err, which is also the exit
 * status the program should use, and aq_error() gives a one-line message
 * that names what failed and the object concerned.  Berkeley DB types never
 * appear here; only lib/ includes <db.h>.
 *
 * A process has at most one open environment at a time: the environment
 * is joined through fcntl(2) locks, which belong to the process, so a
 * second handle in the same process could not be told apart from the first.
 * libaq installs handlers for SIGALRM and SIGURG while an environment is
 * open (see libaq(3)); programs must leave those two signals to it.
 */
#ifndef AQ_H
#define AQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Error codes: each is the exit status a program reports (sysexits(3)). */
enum aq_err {
	AQ_OK = 0,
	AQ_NO = 1,		/* nothing to claim, wait timed out */
	AQ_EUSAGE = 64,		/* bad use of a program */
	AQ_EINPUT = 65,		/* bad time, duration, job spec, batch line */
	AQ_ENOENT = 66,		/* no such job, queue or quota */
	AQ_EUNAVAIL = 69,	/* environment missing, locked out, unusable */
	AQ_EINTERNAL = 70,	/* internal error, corrupt data */
	AQ_ECREATE = 73,	/* cannot create the environment */
	AQ_EAGAIN = 75,		/* busy, out of space: try again */
	AQ_EPERM = 77		/* permission denied */
};

/* Microseconds since the Unix epoch, UTC. */
typedef int64_t aq_time;
#define AQ_SEC	((int64_t)1000000)

enum aq_state { AQ_PENDING = 0, AQ_ACTIVE = 1, AQ_DONE = 2 };

/* Why a pending job waits; AQ_READY means it does not. */
enum aq_reason {
	AQ_READY = 0, AQ_SCHEDULED, AQ_BLOCKED, AQ_HELD, AQ_QUOTA,
	AQ_NREASONS
};

enum aq_outcome {
	AQ_NONE = 0, AQ_OUT_OK, AQ_OUT_FAILED, AQ_OUT_TIMEOUT, AQ_OUT_EXPIRED,
	AQ_OUT_CANCELLED, AQ_OUT_LOST, AQ_OUT_SKIPPED,
	AQ_NOUTCOMES
};

/* A dependency of a job: it waits for job id to end ok, or, with any,
 * to end at all. */
struct aq_dep {
	uint64_t	 id;
	int		 any;
};

/* Job flags. */
#define AQ_JOB_SHELL		0x01	/* argv is {"/bin/sh", "-c", text} */
#define AQ_JOB_HOLD		0x02	/* held: never claimed until released */
#define AQ_JOB_AT_MOST_ONCE	0x04	/* an interruption makes it lost */

#define AQ_UUID_LEN	16
#define AQ_NAME_MAX	255	/* queue, job and quota names, in bytes */
#define AQ_QUOTAS_MAX	16	/* quotas a job may name */

/*
 * A job as stored.  aq_put() reads the fields a caller sets (argv, envp,
 * cwd, queue, name, priority, quotas, begin, deadline, timeout, retries,
 * retry_delay, flags); libaq sets the rest.  Jobs returned by libaq are
 * allocated as one block: free them with aq_job_free().
 */
struct aq_job {
	uint64_t	 id;
	char		*queue;
	char		*name;
	char	       **argv;		/* NULL-terminated */
	char	       **envp;		/* NULL-terminated, or NULL */
	char		*cwd;
	int32_t		 priority;	/* higher first */
	unsigned	 flags;		/* AQ_JOB_* */
	aq_time		 created;
	aq_time		 begin;		/* begin after; 0: at once */
	aq_time		 deadline;	/* begin by; 0: none */
	int64_t		 timeout;	/* run time limit, usec; 0: none */
	int		 retries;
	int64_t		 retry_delay;	/* usec */

	enum aq_state	 state;
	enum aq_reason	 reason;	/* pending jobs */
	enum aq_outcome	 outcome;	/* done jobs */
	int		 attempt;	/* claims so far */
	int		 interrupts;	/* claims ended by a lost lease */
	int		 exit_code;	/* -1: none */
	int		 signal;	/* 0: none */
	unsigned char	 worker[AQ_UUID_LEN];	/* all zero: none */
	aq_time		 started;
	aq_time		 ended;
	aq_time		 lease;		/* active jobs: lease runs out */
	int64_t		 utime, stime;	/* usec, of the last run */
	int64_t		 maxrss;	/* KiB */
	int64_t		 output_size;	/* bytes the last run wrote */
	int64_t		 output_cap;	/* bytes kept at most; 0: no cap */
	int		 failures;	/* runs that ended failed or timeout */
	char	       **quotas;	/* names, NULL-terminated; a caller may
					 * leave it NULL, a returned job's is
					 * never NULL */
	char		*agent;		/* the agent of the claim, or NULL */
	struct aq_dep	*after;		/* dependencies, nafter of them */
	size_t		 nafter;
	uint64_t	 parent;	/* the job it is a child of; 0: none */
	/* Set by libaq. */
	int		 waits;		/* dependencies not ended yet */
	int		 kids;		/* children not done yet */
	int		 kidfail;	/* a child did not end ok */
	enum aq_outcome	 own_outcome;	/* a parent's own run, children aside */
	uint64_t	 after_id;	/* its first dependency, once ended: */
	int		 after_status;	/* its status, as aq_job_status() */
	enum aq_outcome	 after_outcome;	/* and its outcome */
	int		 depended;	/* jobs that depend on it */
};

/* How a claimed job ended, for aq_done(). */
struct aq_result {
	enum aq_outcome	 outcome;	/* AQ_NONE: from exit_code/signal */
	int		 exit_code;	/* -1: none */
	int		 signal;	/* 0: none */
	int64_t		 utime, stime, maxrss, output_size, output_cap;
	int		 attempt;	/* the claim being ended; 0: any */
	aq_time		 ended;		/* when it ended; 0: now */
	aq_time		 started;	/* when it began; 0: at its claim */
};

/* What to claim, for aq_claim(). */
struct aq_claim_opts {
	const char	*const *queues;	/* NULL: the default queue; "*": all */
	size_t		 nqueues;
	unsigned char	 owner[AQ_UUID_LEN];	/* the claimer */
	int64_t		 lease;		/* usec; 0: AQ_LEASE_DEFAULT */
	int		 flags;		/* AQ_CLAIM_* */
	const char	*filter;	/* a glob on the job's name, or NULL */
	const char	*agent;		/* recorded in the job, or NULL */
};
#define AQ_CLAIM_NO_REAP	0x01	/* the caller calls aq_reap() itself */
/*
 * A claim ahead of need: the job starts a moment later, or goes back with
 * aq_unclaim().  An at-most-once job or one with a deadline must start at
 * its claim, so none is taken this way: AQ_NO while one is first in line.
 */
#define AQ_CLAIM_AHEAD		0x02
#define AQ_LEASE_DEFAULT	(300 * AQ_SEC)
/* The claimer is a registered worker: its pings stand for a lease. */
#define AQ_LEASE_WORKER		((int64_t)-1)
#define AQ_DEFAULT_QUEUE	"default"

/* Counts of one queue, for aq_overview(). */
struct aq_queue_stat {
	char		 name[AQ_NAME_MAX + 1];
	uint64_t	 pending[AQ_NREASONS];
	uint64_t	 active;
	uint64_t	 done[AQ_NOUTCOMES];
	int		 paused;
};

/* A quota, for aq_quotas() and aq_quota_show(). */
struct aq_quota {
	char		 name[AQ_NAME_MAX + 1];
	uint64_t	 size, used;
	uint64_t	 waiting;	/* pending jobs that name it */
	aq_time		 created;
};

struct aq_overview {
	struct aq_queue_stat	*queues;
	size_t			 nqueues;
};

/* Which jobs aq_list() visits. */
struct aq_filter {
	const char	*queue;		/* NULL: every queue */
	int		 state;		/* -1: every state */
};

struct aq;

/* ---- env.c: the environment ---- */

#define AQ_OPEN_CREATE	0x01	/* create the environment if missing */

/*
 * Open the environment in home (NULL: $AQ_HOME, else
 * ${XDG_STATE_HOME:-$HOME/.local/state}/aq), recovering it first if a
 * process died inside it.  With AQ_OPEN_CREATE a missing home is created,
 * 0700, with 0600 files, or 0660 files in a setgid group-writable
 * directory.  Errors:
 * AQ_EUNAVAIL (missing, newer format, other libdb, busy recovery),
 * AQ_ECREATE, AQ_EPERM (world-writable or unreadable home), AQ_EAGAIN.
 * On success *aqp is the handle; close it with aq_close().
 */
int		 aq_open(struct aq **aqp, const char *home, int flags);

/* Leave the environment and free the handle; NULL is allowed. */
void		 aq_close(struct aq *aq);

/* The home directory of an open handle. */
const char	*aq_home(const struct aq *aq);

/*
 * Resolve the home directory as aq_open() would, into buf.  Returns
 * AQ_OK, or AQ_EUNAVAIL if no home can be named (no $HOME).
 */
int		 aq_default_home(char *buf, size_t size);

/*
 * Checkpoint the environment and remove log files no longer needed.
 * Workers call it now and then; aq_close() does it when enough log has
 * accumulated.  Errors as for any operation.
 */
int		 aq_checkpoint(struct aq *aq);

/* How many recoveries the environment has seen since it was made. */
uint64_t	 aq_recoveries(const struct aq *aq);

/*
 * With on non-zero, later writes of this handle commit to the operating
 * system only: they survive the death of any process (kill -9 included)
 * but not a power loss until aq_sync() has flushed them.  A worker uses
 * it to fsync while its next job already runs.  Off (the default), every
 * write is flushed to disk before it returns.  While on, the handle does
 * not wake those who wait (aq_watch()) at each write either: the flush
 * that aq_sync_start() starts wakes them once, when what they would see
 * is on disk.
 */
void		 aq_defer_sync(struct aq *aq, int on);

/*
 * Flush every write committed so far to disk, and wake the waiters a
 * deferring handle owes.  Errors as any operation.
 */
int		 aq_sync(struct aq *aq);

/*
 * Start flushing every write committed so far, and return at once: a
 * thread of libaq waits for the disk instead of the caller (it takes no
 * signals and never calls Berkeley DB), and wakes the waiters owed once it
 * is done (aq_defer_sync()).  Errors: AQ_EAGAIN when the
 * thread cannot be started, or when an earlier background flush failed.
 */
int		 aq_sync_start(struct aq *aq);

/*
 * An inotify descriptor that becomes readable when a job is put or ends,
 * for a poll(2) loop; read it empty before each claim.  The caller closes
 * it.  -1 with errno set when inotify is unavailable: poll instead.
 */
int		 aq_watch(struct aq *aq);

/*
 * Open the output file of job id for appending (creating it and the
 * directory "out" of the home).  Returns a descriptor (close-on-exec) or
 * -1 with the message in aq_error().  aq_output_path() names the file.
 */
int		 aq_output_open(struct aq *aq, uint64_t id);
void		 aq_output_path(const struct aq *aq, uint64_t id, char *buf,
		    size_t size);

/* ---- job.c: putting, claiming, ending jobs ---- */

/*
 * Put n jobs in one transaction: all or none.  Each job's id is set.  Up
 * to 256 jobs naming no quota, dependency or parent go to the intake file
 * (intake.c), without joining the environment.  Errors: AQ_EINPUT (empty
 * argv, a bad queue, name or quota name, a quota named twice or unknown,
 * more than AQ_QUOTAS_MAX, a dependency named twice, a parent that is not
 * running), AQ_ENOENT (a missing dependency or parent), AQ_EAGAIN.
 */
int		 aq_put(struct aq *aq, struct aq_job *jobs, size_t n);

/*
 * Claim the next job of the given queues for owner, with a lease.  Jobs
 * whose lease ran out are put back first.  Returns AQ_OK with *jobp set
 * (free with aq_job_free()), or AQ_NO when nothing is claimable; then
 * *next, if not NULL, is when a scheduled job becomes due (0: none known).
 */
int		 aq_claim(struct aq *aq, const struct aq_claim_opts *opts,
		    struct aq_job **jobp, aq_time *next);

/*
 * As aq_claim(), waiting up to timeout usec (negative: for ever) for a
 * job to be put, without polling faster than poll usec.  AQ_NO when the
 * time ran out.
 */
int		 aq_claim_wait(struct aq *aq, const struct aq_claim_opts *opts,
		    int64_t timeout, int64_t poll, struct aq_job **jobp);

/*
 * End active job id with result r.  owner NULL: whoever holds it, unless
 * that is a registered worker.  r->attempt, if not 0, must be the job's
 * current attempt.  A job ending failed or timeout with retries left goes
 * back to pending, due after its retry delay doubled at each failure,
 * with 10% jitter.  Errors: AQ_ENOENT (no such job), AQ_NO (not active,
 * held by another owner or in another attempt: nothing is changed).
 */
int		 aq_done(struct aq *aq, uint64_t id,
		    const unsigned char *owner, const struct aq_result *r);

/*
 * Give active job id back: pending again, claimable after delay usec.
 * The attempt is not counted as an interruption.  Errors as aq_done().
 */
int		 aq_release(struct aq *aq, uint64_t id,
		    const unsigned char *owner, int64_t delay);

/* Extend the lease of active job id to now + lease usec.  As aq_done(). */
int		 aq_touch(struct aq *aq, uint64_t id,
		    const unsigned char *owner, int64_t lease);

/*
 * Give back active job id of owner, claimed in that attempt and never
 * started: pending again, first in line, its attempt as before the
 * claim, no interruption counted.  Errors as aq_interrupt().
 */
int		 aq_unclaim(struct aq *aq, uint64_t id,
		    const unsigned char *owner, int attempt);

/* An end for aq_end_claim(). */
struct aq_end {
	uint64_t	 id;
	int		 how;		/* AQ_END_* */
	struct aq_result r;	/* AQ_END_DONE; r.attempt for all */
	int		 rc;	/* set: AQ_OK, AQ_NO, AQ_ENOENT, or an error */
};
#define AQ_END_DONE		1	/* as aq_done() */
#define AQ_END_INTERRUPT	2	/* as aq_interrupt() */
#define AQ_END_UNCLAIM		3	/* as aq_unclaim() */

/*
 * What a worker does when jobs end and a slot wants its next job, in one
 * transaction: end each of the n jobs of owner as ends[i].how says, then
 * claim with opts as aq_claim() does (opts NULL: no claim).  An end that
 * is refused (ends[i].rc AQ_NO or AQ_ENOENT, as the single call would
 * say) changes nothing and does not stop the others.  Returns as
 * aq_claim(), AQ_OK when opts is NULL; on an error of the environment
 * nothing was written, and every ends[i].rc has it.
 */
int		 aq_end_claim(struct aq *aq, const unsigned char *owner,
		    struct aq_end *ends, size_t n,
		    const struct aq_claim_opts *opts, struct aq_job **jobp,
		    aq_time *next);

/*
 * Interrupt active job id of owner (NULL: whoever holds it), in that
 * attempt (0: any), as if its claimer had died: back to the head of its
 * queue, or outcome lost for an at-most-once job or after 9
 * interruptions.  Errors as aq_done().
 */
int		 aq_interrupt(struct aq *aq, uint64_t id,
		    const unsigned char *owner, int attempt);

/*
 * Cancel job id.  A pending job ends cancelled at once, and so does one
 * whose claimer is not a worker (aq-claim), or a parent waiting for its
 * children.  A job a worker runs is marked: its worker stops it (SIGTERM
 * to its process group, SIGKILL after its grace period) within a second
 * and records it cancelled; *asked, if not NULL, is then set.  The jobs
 * that needed it to end ok are skipped.  Errors: AQ_ENOENT, AQ_NO (done
 * already: nothing is changed).
 */
int		 aq_cancel(struct aq *aq, uint64_t id, int *asked);

/*
 * The ids of the jobs of worker owner that aq_cancel() marked, at most
 * max of them, into ids; *n is their number.  A worker calls it once a
 * second while it runs jobs.
 */
int		 aq_cancels(struct aq *aq, const unsigned char *owner,
		    uint64_t *ids, size_t max, size_t *n);

/* ---- notes.c: live annotations ---- */

struct aq_note {
	char		*key;
	char		*value;
};

/*
 * Set note key of job id to value (NULL: remove it), at once for every
 * process.  A key is 1..255 printable bytes, no '=', '/' or white space,
 * not all digits; a value at most 65536 bytes.  Errors: AQ_ENOENT (no
 * such job), AQ_EINPUT (a bad key, a value too long), AQ_NO (removing a
 * note there is not).
 */
int		 aq_note_set(struct aq *aq, uint64_t id, const char *key,
		    const char *value);

/*
 * The note key of job id, malloc'd into *value (the caller frees it).
 * Errors: AQ_NO (no such note), AQ_ENOENT, AQ_EINPUT.
 */
int		 aq_note_get(struct aq *aq, uint64_t id, const char *key,
		    char **value);

/*
 * As aq_note_get(), waiting up to timeout usec (negative: for ever) for
 * the note to be set; AQ_NO when the time ran out.
 */
int		 aq_note_wait(struct aq *aq, uint64_t id, const char *key,
		    int64_t timeout, char **value);

/* Every note of job id, by key.  Free with aq_notes_free(). */
int		 aq_notes(struct aq *aq, uint64_t id, struct aq_note **list,
		    size_t *n);
void		 aq_notes_free(struct aq_note *list, size_t n);

/* Whether s may be a note's key. */
int		 aq_valid_note_key(const char *s);

/* What aq_change() does to pending jobs. */
struct aq_change {
	int		 what;		/* AQ_CHANGE_* */
	int32_t		 priority;	/* AQ_CHANGE_PRIORITY */
	char	       **quotas;	/* AQ_CHANGE_QUOTAS: NULL-terminated;
					 * NULL or empty: none */
};
#define AQ_CHANGE_HOLD		0x01
#define AQ_CHANGE_RELEASE	0x02
#define AQ_CHANGE_PRIORITY	0x04
#define AQ_CHANGE_QUOTAS	0x08

/*
 * Change the n pending jobs ids, all in one transaction: hold them (never
 * claimed until released), release them, set their priority, or set the
 * quotas they name (each must exist).  Errors: AQ_ENOENT (no such job),
 * AQ_NO (a job is not pending), AQ_EINPUT (both hold and release, a bad or
 * unknown quota): nothing is changed.
 */
int		 aq_change(struct aq *aq, const uint64_t *ids, size_t n,
		    const struct aq_change *c);

/* ---- worker.c: registered workers, pings, deaths ---- */

enum aq_worker_state {
	AQ_WORKER_RUNNING = 0, AQ_WORKER_STOPPED, AQ_WORKER_DEAD
};

/*
 * A worker as registered.  aq_worker_start() reads uuid, slots, queues
 * and the intervals and fills in the rest.  Workers returned by
 * aq_workers() come in one block each, freed by aq_workers_free().
 */
struct aq_worker {
	unsigned char	 uuid[AQ_UUID_LEN];
	char		 host[256];
	char		 boot[40];	/* the host's boot id */
	pid_t		 pid;
	uint64_t	 pidstart;	/* of the process, in ticks since boot */
	enum aq_worker_state state;	/* read: DEAD when judged dead */
	aq_time		 started, ping, poll, ended;
	int		 slots;
	int64_t		 poll_interval, ping_interval, death_interval;
	const char	*const *queues;	/* NULL-terminated; NULL: default */
	/* Its claim policies, as aq-run's -a takes them: "NAME=SLOTS[:GLOB]",
	 * NULL-terminated; NULL: one agent "main" of all the slots. */
	const char	*const *agents;
	uint64_t	*active;	/* ids of its active jobs (read only) */
	size_t		 nactive;
};

/*
 * Register worker w (its uuid, slots, queues, agents and intervals) and
 * take over the jobs an earlier run under the same UUID left active
 * (they are interrupted, so they head their queues again); *taken, if
 * not NULL, is set to their number.  Errors: AQ_EAGAIN when a live
 * process already runs under that UUID, others as any write.
 */
int		 aq_worker_start(struct aq *aq, struct aq_worker *w,
		    size_t *taken);

/*
 * Write the ping of worker w (as aq_worker_start() filled it in), with
 * the time of its last poll.  Returns AQ_NO if others had judged it dead
 * (it is registered again; its jobs of that time were interrupted), else
 * AQ_OK or an error as any write.
 */
int		 aq_worker_ping(struct aq *aq, const struct aq_worker *w,
		    aq_time lastpoll);

/* Mark the worker stopped.  Errors as any write. */
int		 aq_worker_stop(struct aq *aq, const struct aq_worker *w);

/*
 * Find workers judged dead (no ping within their death interval, or their
 * process gone from this host) and interrupt their active jobs.  Also
 * forgets workers stopped over an hour ago or dead over a day ago.
 * *dead and *interrupted, if not NULL, count the workers found dead and
 * the jobs interrupted.  aq_claim() calls it once a second unless told
 * not to (AQ_CLAIM_NO_REAP).
 */
int		 aq_reap(struct aq *aq, size_t *dead, size_t *interrupted);

/* List the registered workers.  Free with aq_workers_free(). */
int		 aq_workers(struct aq *aq, struct aq_worker ***list, size_t *n);
void		 aq_workers_free(struct aq_worker **list, size_t n);
const char	*aq_worker_state_name(enum aq_worker_state);

/* ---- quota.c: counted resources ---- */

/*
 * Make quota name of the given size.  Errors: AQ_EINPUT (a bad name, or
 * one that exists), as any write.
 */
int		 aq_quota_add(struct aq *aq, const char *name, uint64_t size);

/*
 * Resize quota name.  Running jobs are never stopped; growing it lets as
 * many waiting jobs run.  Errors: AQ_ENOENT, AQ_EINPUT, as any write.
 */
int		 aq_quota_set(struct aq *aq, const char *name, uint64_t size);

/*
 * Remove quota name: jobs that name it ignore it from now on.  Errors:
 * AQ_ENOENT, AQ_EINPUT, as any write.
 */
int		 aq_quota_rm(struct aq *aq, const char *name);

/*
 * Every quota, by name, with the pending jobs that name each.  Free the
 * list with free(3).
 */
int		 aq_quotas(struct aq *aq, struct aq_quota **list, size_t *n);

/*
 * Quota name, the ids of the active jobs that hold it and of the pending
 * jobs that name it, in id order; free both with free(3).  Errors:
 * AQ_ENOENT, AQ_EINPUT.
 */
int		 aq_quota_show(struct aq *aq, const char *name,
		    struct aq_quota *q, uint64_t **held, size_t *nheld,
		    uint64_t **waiting, size_t *nwaiting);

/* ---- queues ---- */

/*
 * Pause queue name (on non-zero) or resume it: a paused queue's jobs are
 * not claimed; running ones go on.  Errors: AQ_ENOENT (no job was ever
 * put in it), AQ_EINPUT, as any write.
 */
int		 aq_queue_pause(struct aq *aq, const char *name, int on);

/* ---- statistics ---- */

/* What happened in a window of time, for aq_stats(). */
struct aq_stats {
	aq_time		 since, until;
	uint64_t	 started, interrupted, retried;
	uint64_t	 ended[AQ_NOUTCOMES];
	int64_t		 shortest, longest;	/* run time, usec; -1: none */
	uint64_t	 shortest_id, longest_id;
};

/*
 * Sum the statistics from since to now, minute by minute (the first
 * minute counts whole).  Kept for 7 days.
 */
int		 aq_stats(struct aq *aq, aq_time since, struct aq_stats *st);

/* Read job id.  AQ_ENOENT if there is none.  Free with aq_job_free(). */
int		 aq_get(struct aq *aq, uint64_t id, struct aq_job **jobp);

/* Free a job returned by libaq; NULL is allowed. */
void		 aq_job_free(struct aq_job *job);

/* ---- status.c: looking ---- */

/*
 * Call fn for each job the filter accepts, in id order.  The jobs are read
 * in short transactions of a few hundred and fn runs outside them, so fn
 * may block (a pipe to a pager) without holding up anyone.  A non-zero
 * return from fn stops the walk and is returned.  The job passed to fn is
 * freed after fn returns.
 */
int		 aq_list(struct aq *aq, const struct aq_filter *f,
		    int (*fn)(const struct aq_job *, void *), void *arg);

/*
 * Wait until each of the n jobs is done, or timeout usec have passed
 * (negative: for ever).  Woken by the same inotify watch as workers,
 * with a poll every 5 s as the fallback.  Returns AQ_OK, AQ_NO when the
 * time ran out, AQ_ENOENT when a job does not exist.
 */
int		 aq_wait(struct aq *aq, const uint64_t *ids, size_t n,
		    int64_t timeout);

/*
 * Count jobs per queue, by state, reason and outcome, for every queue
 * that ever had a job (empty ones too), in name order, with whether it
 * is paused.  Free with aq_overview_free().
 */
int		 aq_overview(struct aq *aq, struct aq_overview *ov);
void		 aq_overview_free(struct aq_overview *ov);

/* One run of a job, for aq_history(). */
struct aq_run {
	int		 attempt;
	unsigned char	 worker[AQ_UUID_LEN];	/* or claimer */
	char		 agent[AQ_NAME_MAX + 1];	/* "": none */
	aq_time		 started, ended;
	int		 exit_code;	/* -1: none */
	int		 signal;	/* 0: none */
	enum aq_outcome	 outcome;	/* of the run; AQ_NONE if it had none */
	int		 how;		/* AQ_RUN_* */
};
#define AQ_RUN_ENDED		0	/* its process ended */
#define AQ_RUN_INTERRUPTED	1	/* its worker died, its lease ran out */
#define AQ_RUN_RELEASED		2	/* given back (aq-claim --release) */
#define AQ_RUN_CANCELLED	3	/* cancelled under an aq-claim claim */

/*
 * Every run job id had so far, by attempt.  Free the array with free(3).
 * Errors: AQ_ENOENT.
 */
int		 aq_history(struct aq *aq, uint64_t id, struct aq_run **runs,
		    size_t *n);

/*
 * The ids of the children of job id (aq-put --child), in id order.  Free
 * with free(3).  Errors: AQ_ENOENT.
 */
int		 aq_children(struct aq *aq, uint64_t id, uint64_t **ids,
		    size_t *n);

/*
 * Retention: forget done jobs that ended before `before`, oldest first,
 * with their history, notes, children lists and output files; a job that
 * others depend on stays until they are purged.  At most about max jobs
 * go in one short transaction: *n says how many went, *more whether
 * older ones may be left (call again).  The handle remembers where it
 * stopped, so jobs kept back are not looked at again on every call.
 * Errors: AQ_EAGAIN (busy, or an output file that could not be removed
 * after the jobs went), AQ_EPERM.
 */
int		 aq_purge(struct aq *aq, aq_time before, size_t max,
		    size_t *n, int *more);

/* ---- parse.c: times, durations, names ---- */

aq_time		 aq_now(void);

/*
 * Parse a job id: decimal digits only, from 1 to 2^63-1.  Returns AQ_OK,
 * or AQ_EINPUT with aq_error() saying "bad job id 'S'".
 */
int		 aq_parse_id(const char *s, uint64_t *id);

/*
 * Parse a duration: "90", "90s", "5m", "2h", "1d", "1h30m", "250ms".
 * Returns AQ_OK, or AQ_EINPUT for anything else, a negative or an
 * overflowing value.
 */
int		 aq_parse_duration(const char *s, int64_t *usec);

/*
 * Parse a time: "@EPOCH", "YYYY-MM-DD[THH:MM[:SS]]" (local time),
 * "HH:MM[:SS]" (the next such time from now), "+DURATION", or "now".
 * Returns AQ_OK or AQ_EINPUT.
 */
int		 aq_parse_time(const char *s, aq_time now, aq_time *t);

/* Format t as RFC 3339 UTC with seconds ("2026-11-21T10:00:00Z"). */
void		 aq_format_time(aq_time t, char *buf, size_t size);

/* Format a duration compactly ("1h30m", "250ms", "0s"). */
void		 aq_format_duration(int64_t usec, char *buf, size_t size);

/* Check a queue or job name: 1..AQ_NAME_MAX printable bytes, no '/'. */
int		 aq_valid_name(const char *s);

/* ---- text.c: names of things, JSON, shell quoting ---- */

const char	*aq_state_name(enum aq_state);
const char	*aq_reason_name(enum aq_reason);
const char	*aq_outcome_name(enum aq_outcome);

/* The UUID as 36 characters plus NUL. */
void		 aq_uuid_format(const unsigned char *uuid, char *buf);
int		 aq_uuid_is_null(const unsigned char *uuid);

/*
 * The job as one JSON object (fields in aq-status(1)), or its argv as one
 * shell-quoted line.  Return malloc'd strings the caller frees, or NULL
 * when out of memory.
 */
char		*aq_job_json(const struct aq_job *job);

/*
 * The status a waiter exits with for a done job, as sh's wait: its exit
 * code, 128 + signal, 124 for a timeout, 1 for an outcome without a
 * status (lost, expired, cancelled, skipped).  -1 if it is not done.
 */
int		 aq_job_status(const struct aq_job *job);
char		*aq_job_cmdline(const struct aq_job *job);

/* Append s to *buf as a JSON string literal; returns -1 on ENOMEM. */
int		 aq_json_string(char **buf, size_t *len, size_t *cap,
		    const char *s);

/* ---- err.c ---- */

/* The message of the last error in this process ("" if none). */
const char	*aq_error(void);

/* The exit status that goes with code (code itself; kept for clarity). */
int		 aq_exit_status(int code);

#endif /* AQ_H */
