/*
 * sync.c: flushing the log to disk in the background.
 *
 * A worker commits to the operating system only (aq_defer_sync()): its
 * writes survive the death of any process at once, and it wants them on
 * disk soon, but not to wait for the disk while its next job could start.
 * aq_sync_start() hands that wait to a thread of libaq, which calls
 * fdatasync(2) on the log files itself.  The thread never calls Berkeley
 * DB (the environment is not opened DB_THREAD, and gate.c's escapes
 * belong to the main thread, so the thread blocks every signal); it finds
 * the log files by name in the home, and allocates nothing.  After a
 * flush it touches the wake file if the handle owes its waiters a touch
 * (wake.c).
 *
 * Invariant: once the thread has finished generation g, every commit made
 * before the aq_sync_start() call that asked for g is on disk.  A flush
 * syncs the log file it has open and every newer one that exists (a
 * commit may fall on a log switch; a newer file exists before anything
 * is committed into it), and the directory when a file was new to it.
 * Flushes are spaced by FLUSH_GAP_NS, so that a busy worker's commits
 * share them.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/*
 * Flushes are at least this far apart: commits that come meanwhile share
 * the next one, as in a group commit.  A flush costs the disk a write and
 * a virtual machine an exit, and a busy worker commits about once a
 * job; within 10 ms, a worker running short jobs shares one among dozens.
 */
#define FLUSH_GAP_NS	(10 * 1000 * 1000L)

struct aq__syncer {
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	pthread_cond_t	 qcv;		/* quit: the gap waits on it alone */
	uint64_t	 want, done;	/* generations asked for, finished */
	int		 quit;
	int		 error;		/* errno of the last failed flush */
	int		 touch;		/* wake the waiters after the flush */
	char		 home[PATH_MAX];
	unsigned long	 cur;		/* the newest log file seen; 0: none */
	int		 fd;		/* open on it, or -1 */
	struct timespec	 last;		/* when the last flush began */
};

/* The number of the newest log file ("log.0000000042") in dir, or 0. */
static unsigned long
newest_log(int dir)
{
	char buf[4096];
	unsigned long best = 0, n;
	long got, off;
	char *end;

	while ((got = getdents64(dir, buf, sizeof(buf))) > 0) {
		for (off = 0; off < got; ) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);

			off += d->d_reclen;
			if (strncmp(d->d_name, "log.", 4) != 0)
				continue;
			n = strtoul(d->d_name + 4, &end, 10);
			if (*end == '\0' && n > best)
				best = n;
		}
	}
	return best;
}

static int
open_log(const struct aq__syncer *s, unsigned long n)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/log.%010lu", s->home, n);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Flush what is in the log now.  Returns 0 or an errno. */
static int
flush(struct aq__syncer *s)
{
	unsigned long newest;
	int dir = -1, fd, e = 0, moved = 0;

	if (s->fd == -1) {
		/* The first time: the newest file, and the one before. */
		if ((dir = open(s->home, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			return errno;
		if ((newest = newest_log(dir)) == 0) {
			close(dir);
			return 0;
		}
		if (newest > 1 && (fd = open_log(s, newest - 1)) != -1) {
			if (fdatasync(fd) == -1)
				e = errno;
			close(fd);
		}
		if ((s->fd = open_log(s, newest)) == -1) {
			e = errno;
			close(dir);
			return e;
		}
		s->cur = newest;
		moved = 1;
	}
	if (e == 0 && fdatasync(s->fd) == -1)
		e = errno;
	/* A commit may have fallen on a log switch: the new files too. */
	while (e == 0 && (fd = open_log(s, s->cur + 1)) != -1) {
		close(s->fd);
		s->fd = fd;
		s->cur++;
		moved = 1;
		if (fdatasync(fd) == -1)
			e = errno;
	}
	if (e == 0 && moved) {
		if (dir == -1 && (dir = open(s->home, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			e = errno;
		else if (fsync(dir) == -1)
			e = errno;
	}
	if (dir != -1)
		close(dir);
	return e;
}

/*
 * Sleep until FLUSH_GAP_NS after the last flush began, or until told to
 * quit: the last flush then goes at once.  Called with s->mu held.
 */
static void
gap(struct aq__syncer *s)
{
	struct timespec now, until;
	long ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (now.tv_sec - s->last.tv_sec) * 1000000000L +
	    (now.tv_nsec - s->last.tv_nsec);
	if (ns >= 0 && ns < FLUSH_GAP_NS) {
		until = s->last;
		until.tv_nsec += FLUSH_GAP_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!s->quit && pthread_cond_timedwait(&s->qcv, &s->mu,
		    &until) != ETIMEDOUT)
			;
		clock_gettime(CLOCK_MONOTONIC, &now);
	}
	s->last = now;
}

static void *
run(void *arg)
{
	struct aq__syncer *s = arg;
	uint64_t g;
	int e, touch;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->quit && s->want == s->done)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->want == s->done)
			break;		/* quit, with nothing left to do */
		gap(s);
		g = s->want;	/* what came during the gap goes along */
		touch = s->touch;
		s->touch = 0;
		pthread_mutex_unlock(&s->mu);
		e = flush(s);
		/* The waiters the handle owes look once it is on disk. */
		if (touch)
			aq__touch(s->home);
		pthread_mutex_lock(&s->mu);
		s->error = e;
		s->done = g;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int
aq_sync_start(struct aq *aq)
{
	struct aq__syncer *s = aq->syncer;
	pthread_condattr_t ca;
	sigset_t all, old;
	int e;

	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return aq__err(AQ_EAGAIN, "out of memory");
		pthread_mutex_init(&s->mu, NULL);
		/* The gap is timed on the clock that never jumps. */
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->cv, NULL);
		pthread_cond_init(&s->qcv, &ca);
		pthread_condattr_destroy(&ca);
		s->fd = -1;
		strlcpy(s->home, aq->home, sizeof(s->home));
		/* The thread takes no signal: they are the main thread's. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		e = pthread_create(&s->thread, NULL, run, s);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (e != 0) {
			pthread_cond_destroy(&s->qcv);
			pthread_cond_destroy(&s->cv);
			pthread_mutex_destroy(&s->mu);
			free(s);
			return aq__err(AQ_EAGAIN, "cannot start the log "
			    "flusher: %s", strerror(e));
		}
		aq->syncer = s;
	}
	pthread_mutex_lock(&s->mu);
	s->want++;
	s->touch |= aq->wake_due;
	aq->wake_due = 0;
	e = s->error;
	s->error = 0;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (e != 0)
		return aq__err(AQ_EAGAIN, "cannot flush the log of '%s': %s",
		    aq->home, strerror(e));
	return AQ_OK;
}

/* The generation of the last flush asked for. */
uint64_t
aq__sync_asked(struct aq *aq)
{
	struct aq__syncer *s = aq->syncer;
	uint64_t g;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	g = s->want;
	pthread_mutex_unlock(&s->mu);
	return g;
}

/* Whether flush g is finished, without error. */
int
aq__sync_done(struct aq *aq, uint64_t g)
{
	struct aq__syncer *s = aq->syncer;
	int done;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	done = s->done >= g && s->error == 0;
	pthread_mutex_unlock(&s->mu);
	return done;
}

/*
 * Finish what was asked, stop the thread and free it (aq_close()).
 * Returns 0, or the errno of the last flush.
 */
int
aq__sync_stop(struct aq *aq)
{
	struct aq__syncer *s = aq->syncer;
	int e;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	s->quit = 1;
	pthread_cond_signal(&s->cv);
	pthread_cond_signal(&s->qcv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	e = s->error;
	if (s->fd != -1)
		close(s->fd);
	pthread_cond_destroy(&s->qcv);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
	aq->syncer = NULL;
	return e;
}
