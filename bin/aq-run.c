/*
 * aq-run: the worker.  It claims jobs and runs each as a child process,
 * up to its slots at once, and records how each ended.
 *
 * Two processes.  The worker holds the environment, claims jobs, copies
 * their output and records their ends.  Its launcher, forked before the
 * environment is opened, starts each job and reaps it: a process that
 * small starts a job faster than the worker could (no page tables to
 * copy), and the resident size a job is charged for is its own, not the
 * worker's share of the database cache.  They talk over socket pairs:
 * RUN (the job, its output pipe passed along) on a socket of the slot's
 * own, KILL and DROP on the main one; FAILED, ENDED (with the status and
 * rusage) and DROPPED the other way.  The launcher keeps its jobs' pids
 * in a page both share, which the worker reads only if the launcher
 * dies.  Its main thread reads the worker's main socket; each slot has a
 * thread that reads the slot's socket, sleeps in waitid(2) for the
 * slot's job and starts the slot's next one, so that no slot waits while
 * another's job is being started, and a job sent ahead wakes no one.
 *
 * The worker runs one loop around one poll(2): a signalfd for SIGTERM,
 * SIGINT, SIGHUP and SIGCHLD, the inotify watch on the home's wake file,
 * the launcher's socket, and a pipe per job whose output is copied into
 * the job's file under a cap.  No transaction is ever open while the loop
 * waits.  Invariants:
 *  - a slot is busy from its claim until the job's end is recorded, so
 *    the worker never runs more than its slots;
 *  - a job's result is written only with the claim it ran under (this
 *    worker's UUID and the job's attempt): a worker wrongly judged dead
 *    cannot overwrite the job's next run;
 *  - claims and ends commit to the operating system at once, and a thread
 *    of libaq flushes them to disk while the next job already runs
 *    (at-most-once jobs are flushed before they start);
 *  - the launcher signals a job's process group only while the job is
 *    its unreaped child, so a pid that came round again is never hit;
 *  - if the worker dies, its launcher stops the jobs (SIGTERM, SIGKILL
 *    after the grace period), so that a job does not run twice once
 *    another worker takes it over; if the launcher dies, its jobs die
 *    with it (a parent-death signal), even one it was starting.
 * Jobs are other people's code: whatever they do to themselves, their
 * output or their signals, the worker goes on.
 */
#include "config.h"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <libutil.h>
#include <uuid.h>

#include "aq.h"

extern char **environ;

#define MAX_SLOTS	1024
#define KEEP_DEFAULT	(7 * 86400 * AQ_SEC)	/* as zc.async keeps them */
#define PURGE_EVERY	(60 * AQ_SEC)
#define PURGE_BATCH	64	/* jobs a purge transaction removes */
#define OUTBUF		65536

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: aq-run [-hvV] [--drain | -n count] [-a name=slots[:glob]]... "
	    "[-d dir]\n"
	    "              [-i interval] [-j slots]"
	    " [-q queue]... [-u file]\n"
	    "              [--death duration] [--grace duration]"
	    " [--log file | --syslog]\n"
	    "              [--keep duration] [--output-cap size] "
	    "[--pidfile file]\n"
	    "              [--ping duration]\n");
	exit(code);
}

enum {
	O_DEATH = 256, O_DRAIN, O_GRACE, O_KEEP, O_LOG, O_OUTPUT_CAP,
	O_PIDFILE, O_PING, O_SYSLOG
};

static const struct option longopts[] = {
	{ "agent", required_argument, NULL, 'a' },
	{ "death", required_argument, NULL, O_DEATH },
	{ "dir", required_argument, NULL, 'd' },
	{ "drain", no_argument, NULL, O_DRAIN },
	{ "grace", required_argument, NULL, O_GRACE },
	{ "help", no_argument, NULL, 'h' },
	{ "interval", required_argument, NULL, 'i' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "keep", required_argument, NULL, O_KEEP },
	{ "log", required_argument, NULL, O_LOG },
	{ "count", required_argument, NULL, 'n' },
	{ "output-cap", required_argument, NULL, O_OUTPUT_CAP },
	{ "pidfile", required_argument, NULL, O_PIDFILE },
	{ "ping", required_argument, NULL, O_PING },
	{ "queue", required_argument, NULL, 'q' },
	{ "syslog", no_argument, NULL, O_SYSLOG },
	{ "uuid", required_argument, NULL, 'u' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/*
 * A claim policy, zc.async's agent: its own slots, and a glob that a
 * job's name must match.  -j N is one agent "main" of N slots, no glob.
 */
struct agent {
	char		*spec;		/* NAME=SLOTS[:GLOB], as registered */
	char		*name;
	char		*filter;	/* NULL: any job */
	int		 slots, busy;
	int		 dry;		/* its last claim found nothing */
	struct aq_claim_opts o;
};

/* A job running in a slot. */
struct slot {
	int		 agent;		/* whose slot it is */
	struct aq_job	*job;		/* NULL: the slot is free */
	pid_t		 pid;		/* 0: handed to the launcher; -1: not */
	int		 pipe;		/* read end; -1 once at EOF */
	int		 out;		/* the output file; -1: not yet made */
	int		 outerr;	/* it could not be made */
	int64_t		 kept, total;	/* bytes written, bytes produced */
	aq_time		 timeout_at;	/* SIGTERM then; 0: no limit */
	aq_time		 kill_at;	/* SIGKILL then; 0: not yet due */
	int		 timedout;
	int		 stopped;	/* killed by the second shutdown signal */
	int		 cancelled;	/* aq-cancel asked for it */
	aq_time		 began;		/* when it started */
	aq_time		 lastran;	/* how long the slot's last job ran */
	int		 ahead;		/* in ahead[]: not started yet */
	int		 dropping;	/* ahead, and asked back (L_DROP) */
	int		 unsent;	/* never reached the launcher */
	int		 noahead;	/* its job claimed ahead was too big */
};

/*
 * A slot whose jobs are short claims its next job while one runs and
 * hands it to the launcher, which starts it the moment the running one
 * ends: the claim is off the path from one job to the next.  A job held
 * so is given back if the running one lasts longer than AHEAD_HOLD, so
 * that an idle worker elsewhere is not kept from it for long.
 */
#define AHEAD_HOLD	(AQ_SEC / 100)

/*
 * A job claimed ahead waits whole in its slot's socket, which the
 * launcher reads only once the slot's job ends: a bigger request (a huge
 * environment, say) would fill the socket and block the worker for that
 * job's whole run.  Such a job is given back at once, and the slot
 * claims none ahead until a job of a smaller request starts.  The limit
 * is a quarter of the socket's send buffer (net.core.wmem_default, 208
 * KiB unless set otherwise), 64 KiB at most.
 */
#define AHEAD_MSG_MAX	(64 * 1024)
static size_t		 ahead_max = AHEAD_MSG_MAX;

/*
 * A job's output pipe is left out of the poll for the job's first
 * PIPE_LATE: a short job's output is read at its end, in the wake-up the
 * launcher's news brings anyway, not in one of its own.  A job that
 * writes more than a pipe holds in that time waits those milliseconds.
 */
#define PIPE_LATE	(AQ_SEC / 100)

static struct aq	*aq;
static struct aq_worker	 me;
static struct aq_claim_opts copts;	/* what the agents share */
static struct agent	*agents;
static int		 nagents;
static struct slot	*slots;
static struct slot	*ahead;		/* each slot's job claimed ahead */
static int		 nslots = 1, nbusy, nahead;
static int		 killing;	/* the second stop signal came */
static long long	 started;	/* jobs claimed */
static int		 verbose, use_syslog;
static const char	*logpath;
static FILE		*logfp;
static int64_t		 output_cap = 64 << 20, grace = 10 * AQ_SEC;
static char		 uuidstr[37];
static int		 dirty;	/* written since the last aq_sync() */
static pid_t		 lpid = -1;	/* the launcher */
static int		 lsock = -1;	/* its socket; -1: none */
static int		 ssock[MAX_SLOTS];	/* each slot's, for RUN; -1 */
static volatile pid_t	*kids;		/* its jobs by slot, shared; 0: none */
static int		 devnull = -1;	/* the launcher's, for jobs' stdin */
static struct rlimit	 nofile;	/* as aq-run found it, for jobs */
static int		 nofile_raised;	/* aq-run raised its own */
static aq_time		 hold_until;	/* no claim before, after a failure */

/* ---- logging ---- */

static void
logopen(void)
{
	FILE *f;

	if (logpath == NULL)
		return;
	if ((f = fopen(logpath, "ae")) == NULL) {
		if (logfp == NULL)
			err(73, "cannot open log '%s'", logpath);
		return;		/* keep the old one */
	}
	setvbuf(f, NULL, _IOLBF, 0);
	if (logfp != NULL && logfp != stderr)
		fclose(logfp);
	logfp = f;
}

/* An event (trace 0) or a trace line (trace 1, only with -v). */
static void __attribute__((format(printf, 2, 3)))
logmsg(int trace, const char *fmt, ...)
{
	char when[40];
	va_list ap;

	if (trace && !verbose)
		return;
	va_start(ap, fmt);
	if (use_syslog)
		vsyslog(trace ? LOG_DEBUG : LOG_INFO, fmt, ap);
	else {
		aq_format_time(aq_now(), when, sizeof(when));
		fprintf(logfp, "%s aq-run[%ld]: ", when, (long)getpid());
		vfprintf(logfp, fmt, ap);
		fputc('\n', logfp);
		fflush(logfp);
	}
	va_end(ap);
}

static void
title(int stopping)
{
	static int shown_busy = -1, shown_stopping = -1;
	const char *q = copts.queues ? copts.queues[0] : AQ_DEFAULT_QUEUE;
	const char *more = copts.nqueues > 1 ? ",..." : "";

	/* Called at every end: most leave the title as it was. */
	if (nbusy == shown_busy && stopping == shown_stopping)
		return;
	shown_busy = nbusy;
	shown_stopping = stopping;
	if (stopping)
		setproctitle("stopping, %d running", nbusy);
	else if (nbusy == 0)
		setproctitle("idle, queue %s%s", q, more);
	else
		setproctitle("%d/%d busy, queue %s%s", nbusy, nslots, q, more);
}

/* ---- options ---- */

static int64_t
duration(const char *s)
{
	int64_t d;

	if (aq_parse_duration(s, &d) != AQ_OK || d == 0)
		errx(65, "bad duration '%s'", s);
	return d;
}

/* "64M", "100k", "0": powers of 1024. */
static int64_t
size(const char *s)
{
	char *end;
	long long v;
	int shift = 0;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || errno != 0 || v < 0)
		errx(65, "bad size '%s'", s);
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: errx(65, "bad size '%s'", s);
	}
	if (*end != '\0' || v > (LLONG_MAX >> shift))
		errx(65, "bad size '%s'", s);
	return (int64_t)v << shift;
}

/* Read the worker's UUID from path, or make one and store it there. */
static void
uuid_file(const char *path, unsigned char *uuid)
{
	char buf[64];
	ssize_t n;
	int fd;

	for (;;) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n < 0)
				err(69, "cannot read uuid file '%s'", path);
			buf[n] = '\0';
			buf[strcspn(buf, " \t\r\n")] = '\0';
			if (uuid_parse(buf, uuid) != 0)
				errx(65, "bad uuid in '%s'", path);
			return;
		}
		if (errno != ENOENT)
			err(errno == EACCES ? 77 : 69,
			    "cannot open uuid file '%s'", path);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd == -1 && errno == EEXIST)
			continue;	/* made by another worker just now */
		if (fd == -1)
			err(errno == EACCES ? 77 : 73,
			    "cannot create uuid file '%s'", path);
		uuid_generate(uuid);
		uuid_unparse_lower(uuid, buf);
		strlcat(buf, "\n", sizeof(buf));
		if (write(fd, buf, strlen(buf)) != (ssize_t)strlen(buf) ||
		    fsync(fd) == -1 || close(fd) == -1)
			err(73, "cannot write uuid file '%s'", path);
		return;
	}
}

/* ---- starting a job ---- */

static const char *
env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/*
 * The job's environment, with aq's variables set.  The strings of envp
 * are shared; the AQ_ ones are in buf.  Free the array.
 */
static char **
job_env(const struct aq_job *j, char *buf, size_t bufsize)
{
	static const char *const ours[] = { "AQ_HOME", "AQ_QUEUE",
	    "AQ_JOB_ID", "AQ_ATTEMPT", "AQ_WORKER", "AQ_AFTER_ID",
	    "AQ_AFTER_STATUS", "AQ_AFTER_OUTCOME" };
	const size_t nours = sizeof(ours) / sizeof(ours[0]);
	char *const *src = j->envp != NULL ? j->envp : environ;
	char **env, *p = buf;
	size_t n, k, i;
	int skip;

	for (n = 0; src[n] != NULL; n++)
		;
	if ((env = reallocarray(NULL, n + nours + 1, sizeof(*env))) == NULL)
		return NULL;
	for (i = k = 0; i < n; i++) {
		size_t m;

		/* Most variables are not aq's: one look tells. */
		skip = 0;
		if (strncmp(src[i], "AQ_", 3) == 0)
			for (m = 0; m < nours && !skip; m++)
				skip = strncmp(src[i], ours[m],
				    strlen(ours[m])) == 0 &&
				    src[i][strlen(ours[m])] == '=';
		if (!skip)
			env[k++] = src[i];
	}
#define ADD(...) do {							\
	int l = snprintf(p, bufsize - (size_t)(p - buf), __VA_ARGS__);	\
	if (l < 0 || (size_t)l >= bufsize - (size_t)(p - buf)) {	\
		free(env);						\
		return NULL;						\
	}								\
	env[k++] = p;							\
	p += l + 1;							\
} while (0)
	ADD("AQ_HOME=%s", aq_home(aq));
	ADD("AQ_QUEUE=%s", j->queue);
	ADD("AQ_JOB_ID=%llu", (unsigned long long)j->id);
	ADD("AQ_ATTEMPT=%d", j->attempt);
	ADD("AQ_WORKER=%s", uuidstr);
	/* The first dependency, once it ended (--after, --after-any). */
	if (j->after_id != 0) {
		ADD("AQ_AFTER_ID=%llu", (unsigned long long)j->after_id);
		ADD("AQ_AFTER_STATUS=%d", j->after_status);
		ADD("AQ_AFTER_OUTCOME=%s", aq_outcome_name(j->after_outcome));
	}
#undef ADD
	env[k] = NULL;
	return env;
}

/*
 * Where programs were found lately, as a shell's hash table: a worker runs
 * the same few programs again and again, and a search costs a stat(2) per
 * directory of PATH.  An entry is trusted for a second; only searches
 * through absolute directories are kept (the others depend on the job's
 * directory).
 */
#define PCACHE_SIZE	64
#define PCACHE_TTL	AQ_SEC
static struct pcache {
	aq_time		 when;
	char		*key;		/* PATH NUL name NUL */
	size_t		 keylen;
	char		*found;
} pcache[PCACHE_SIZE];

static struct pcache *
pcache_slot(const char *path, const char *name, char *key, size_t *keylen)
{
	uint64_t h = 1469598103934665603ULL;
	size_t a = strlen(path), b = strlen(name), i;

	*keylen = 0;
	if (a + b + 2 > PATH_MAX * 4)
		return NULL;
	memcpy(key, path, a + 1);
	memcpy(key + a + 1, name, b + 1);
	*keylen = a + b + 2;
	for (i = 0; i < *keylen; i++)
		h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
	return &pcache[h % PCACHE_SIZE];
}

/*
 * Find the program as execvp(3) would, with the job's PATH, relative
 * names taken from the job's directory.  Returns 0 with the path in buf,
 * or an errno: ENOENT, or EACCES if only unusable files were found.
 */
static int
find_program(const struct aq_job *j, char *buf, size_t bufsize)
{
	static char key[PATH_MAX * 4];
	const char *name = j->argv[0], *path, *p, *cwd = j->cwd ? j->cwd : ".";
	struct pcache *c;
	struct stat st;
	size_t keylen;
	int seen = ENOENT, relative = 0;

	if (*name == '\0')
		return ENOENT;
	if (strchr(name, '/') != NULL) {
		if (name[0] == '/')
			strlcpy(buf, name, bufsize);
		else
			snprintf(buf, bufsize, "%s/%s", cwd, name);
		return 0;	/* exec tells what is wrong, if anything */
	}
	if ((path = env_get(j->envp, "PATH")) == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	c = pcache_slot(path, name, key, &keylen);
	if (c != NULL && c->key != NULL && c->keylen == keylen &&
	    memcmp(c->key, key, keylen) == 0 &&
	    aq_now() - c->when < PCACHE_TTL &&
	    strlcpy(buf, c->found, bufsize) < bufsize)
		return 0;
	for (p = path;; p++) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		int l;

		if (n == 0 || p[0] != '/')
			relative = 1;
		if (n == 0)
			l = snprintf(buf, bufsize, "%s/%s", cwd, name);
		else if (p[0] == '/')
			l = snprintf(buf, bufsize, "%.*s/%s", (int)n, p, name);
		else
			l = snprintf(buf, bufsize, "%s/%.*s/%s", cwd, (int)n,
			    p, name);
		if (l > 0 && (size_t)l < bufsize && stat(buf, &st) == 0) {
			if (S_ISREG(st.st_mode) && access(buf, X_OK) == 0) {
				if (c != NULL && !relative) {
					free(c->key);
					free(c->found);
					c->key = malloc(keylen);
					c->found = strdup(buf);
					if (c->key == NULL || c->found == NULL) {
						free(c->key);
						free(c->found);
						c->key = c->found = NULL;
					} else {
						memcpy(c->key, key, keylen);
						c->keylen = keylen;
						c->when = aq_now();
					}
				}
				return 0;
			}
			seen = EACCES;
		}
		if (e == NULL)
			break;
		p = e;
	}
	return seen;
}

/*
 * The job's output file, made at its first byte: most jobs write nothing,
 * and making a file is a good part of what a short job costs.
 */
static int
outfd(struct slot *s)
{
	if (s->out == -1 && !s->outerr &&
	    (s->out = aq_output_open(aq, s->job->id)) == -1) {
		s->outerr = 1;
		logmsg(0, "job %llu: %s; its output is dropped",
		    (unsigned long long)s->job->id, aq_error());
	}
	return s->out;
}

/* Say in the job's output why it could not run, as a shell would. */
static void
say(struct slot *s, const char *fmt, ...)
{
	char buf[PATH_MAX + 256];
	va_list ap;
	int n, fd;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if ((fd = outfd(s)) != -1)
		(void)write(fd, buf, (size_t)n);
}

/* ---- the launcher ---- */

/*
 * Messages between the worker and its launcher.  A slot runs one job and
 * may have one more waiting in the launcher, which the launcher starts the
 * moment it reaps the first: so the next job of a slot starts without
 * waiting for the worker.  The worker can take that one back (L_DROP)
 * until it starts; the answer (L_DROPPED, err 0: taken back; ESRCH: it
 * started or is starting, as its slot's L_ENDED or L_FAILED says) keeps
 * both sides agreed on what runs.
 *
 * Each slot has a socket of its own for its L_RUN requests, given to the
 * launcher once (L_SLOT, the socket passed along) on the main socket,
 * which carries everything else.  Only the slot's thread reads it, when
 * it has no job or its job has just been reaped: a job claimed ahead
 * waits there without waking anyone, so the launcher wakes once a job
 * (its end) rather than twice.  On a machine whose processors sleep when
 * idle, a wake-up costs far more than the few system calls it carries.
 */
enum { L_RUN = 1, L_KILL, L_DROP, L_FAILED, L_ENDED, L_DROPPED, L_SLOT };
enum { W_SETUP = 1, W_CHDIR, W_EXEC };	/* what failed, in L_FAILED */

/*
 * Worker to launcher.  L_RUN is followed by len bytes: the program's
 * path, the directory ("" for none), argc arguments and envc variables,
 * each NUL-terminated; the job's output pipe goes along (SCM_RIGHTS).
 * L_SLOT carries the slot's socket the same way.  L_KILL and L_DROP name
 * the job (L_KILL its attempt too, as a retry may run in the same slot),
 * so that neither reaches another one.
 */
struct lreq {
	uint32_t	 op;
	int32_t		 slot;
	int32_t		 sig;		/* L_KILL */
	int32_t		 attempt;	/* L_RUN, L_KILL: the job's */
	uint64_t	 id;		/* the job */
	uint32_t	 len, argc, envc;
};

/* Launcher to worker. */
struct lmsg {
	uint32_t	 op;
	int32_t		 slot;
	int32_t		 pid;
	int32_t		 err;		/* L_FAILED: the errno; L_DROPPED */
	int32_t		 what;		/* L_FAILED: W_* */
	int32_t		 status;	/* L_ENDED: the wait status */
	uint64_t	 id;		/* L_DROPPED: the job */
	int64_t		 utime, stime, maxrss;
	aq_time		 next;		/* L_ENDED: when the slot's next job
					 * started; 0: none */
};

/* A job to start, as read from its slot's socket. */
struct lnext {
	struct lreq	 rq;
	char		*buf;
	int		 out;
};

/* What the launcher's child needs: it shares the launcher's memory. */
struct launch {
	const char	*path, *cwd;
	char		**argv, **env, **shargv;
	int		 out;
	pid_t		 launcher;	/* the parent, that the job dies with */
	int		 err, what;	/* set by the child if it fails */
};

/*
 * The job's process, from clone(2) with CLONE_VM | CLONE_VFORK: the
 * launcher waits until it has exec'd or failed.  It makes only system
 * calls, and signals cannot run a handler here (the launcher has none).
 */
static int
job_child(void *arg)
{
	struct launch *l = arg;
	sigset_t none;

	sigemptyset(&none);
	l->what = W_SETUP;
	/*
	 * Killed with the launcher: a launcher that dies while this job is
	 * being started has not yet made its pid known to the worker, which
	 * could then neither stop it nor keep it from running twice.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
	    getppid() != l->launcher)
		goto fail;
	/* The limit aq-run raised for itself: a job gets it as it was. */
	if (nofile_raised && setrlimit(RLIMIT_NOFILE, &nofile) == -1)
		goto fail;
	if (sigprocmask(SIG_SETMASK, &none, NULL) == -1 || setsid() == -1 ||
	    dup2(devnull, 0) == -1 ||
	    dup2(l->out, 1) == -1 || dup2(l->out, 2) == -1)
		goto fail;
	l->what = W_CHDIR;
	if (l->cwd != NULL && chdir(l->cwd) == -1)
		goto fail;
	l->what = W_EXEC;
	(void)close_range(3, ~0U, 0);
	execve(l->path, l->argv, l->env);
	/* No #! line: sh runs it, as execvp(3) does. */
	if (errno == ENOEXEC) {
		l->shargv[1] = (char *)l->path;
		execve("/bin/sh", l->shargv, l->env);
	}
fail:
	l->err = errno ? errno : EINVAL;
	_exit(127);
}

/*
 * Set every signal's action to the default in the launcher, so that jobs
 * start with them so (an ignored signal stays ignored across exec).
 * glibc's sigaction(2) refuses the two real-time signals it keeps for
 * itself; the system call does not.
 */
struct ksigaction {
	void		*handler;
	unsigned long	 flags;
	void		*restorer;
	unsigned long	 mask;
};

static void
default_signals(void)
{
	struct ksigaction ksa;
	int sig;

	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		memset(&ksa, 0, sizeof(ksa));
		ksa.handler = (void *)SIG_DFL;
		(void)syscall(SYS_rt_sigaction, sig, &ksa, NULL,
		    sizeof(ksa.mask));
	}
}

/* Read exactly n bytes, and a passed descriptor if fdp is not NULL. */
static int
recv_full(int sock, void *buf, size_t n, int *fdp)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *c;
	struct msghdr mh;
	struct iovec iov;
	size_t got = 0;
	ssize_t r;

	if (fdp != NULL)
		*fdp = -1;
	while (got < n) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = (char *)buf + got;
		iov.iov_len = n - got;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		if ((r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) == -1 &&
		    errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		for (c = CMSG_FIRSTHDR(&mh); c != NULL;
		    c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET ||
			    c->cmsg_type != SCM_RIGHTS)
				continue;
			if (fdp != NULL && *fdp == -1)
				memcpy(fdp, CMSG_DATA(c), sizeof(int));
			else {
				int extra;

				memcpy(&extra, CMSG_DATA(c), sizeof(int));
				close(extra);
			}
		}
		got += (size_t)r;
	}
	return 0;
}

/*
 * The launcher's messages wait here when the worker does not read them at
 * once: the launcher never blocks on a send, so it can always read the
 * worker's requests (each slot has at most two messages outstanding).
 */
static struct lmsg	*lq;
static size_t		 lqn, lqcap;
static uint64_t		 kid_ids[MAX_SLOTS];	/* the job each kid runs */
static int		 kid_atts[MAX_SLOTS];	/* in that attempt */
/*
 * A signal for a job not started yet: L_KILL comes on the main socket,
 * and may overtake the job's L_RUN in its slot's.  The job gets it as
 * it starts, in that attempt; any other start in the slot forgets it.
 */
static uint64_t		 kill_ids[MAX_SLOTS];
static int		 kill_atts[MAX_SLOTS];
static int		 kill_sigs[MAX_SLOTS];

static void
lqueue(int sock, const struct lmsg *m)
{
	ssize_t r;

	if (m != NULL) {
		if (lqn == lqcap)
			return;		/* cannot happen: see lqcap */
		lq[lqn++] = *m;
	}
	while (lqn > 0) {
		r = send(sock, lq, lqn * sizeof(*lq), MSG_DONTWAIT |
		    MSG_NOSIGNAL);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		/* A stream may take part of a message: keep the rest. */
		if ((size_t)r % sizeof(*lq) != 0) {
			size_t whole = (size_t)r / sizeof(*lq);
			size_t part = (size_t)r % sizeof(*lq);

			memmove(lq, lq + whole, (lqn - whole) * sizeof(*lq));
			lqn -= whole;
			/* Send the rest of the cut message at once. */
			while (part < sizeof(*lq)) {
				r = send(sock, (char *)lq + part,
				    sizeof(*lq) - part, MSG_NOSIGNAL);
				if (r == -1 && errno == EINTR)
					continue;
				if (r <= 0)
					return;
				part += (size_t)r;
			}
			memmove(lq, lq + 1, --lqn * sizeof(*lq));
			continue;
		}
		memmove(lq, lq + r / (ssize_t)sizeof(*lq),
		    (lqn - (size_t)r / sizeof(*lq)) * sizeof(*lq));
		lqn -= (size_t)r / sizeof(*lq);
	}
}

/*
 * Start one job: parse the request's strings and clone, the child on the
 * stack given (the caller waits until it has exec'd).  Returns its pid,
 * or -1 with the L_FAILED message to send in *m.  out is closed either
 * way.  It touches nothing shared: the caller need not hold lmu.
 */
static int
launch_one(const struct lreq *rq, char *p, int out, struct lmsg *mp,
    char *stack, size_t stacksize)
{
	struct launch l;
	struct lmsg m;
	char *end = p + rq->len, **v = NULL;
	size_t i, n = (size_t)rq->argc + 1 + (size_t)rq->envc + 1;
	pid_t pid;
	int st;

	memset(&m, 0, sizeof(m));
	m.slot = rq->slot;
	memset(&l, 0, sizeof(l));
	if (out == -1 || rq->argc == 0 || (v = reallocarray(NULL, n,
	    sizeof(*v))) == NULL) {
		m.err = out == -1 || rq->argc == 0 ? EINVAL : ENOMEM;
		goto failed;
	}
	/* path, cwd, argv..., env...: each ends with a NUL within len. */
	for (i = 0; i < 2 + rq->argc + rq->envc; i++) {
		char *z = memchr(p, '\0', (size_t)(end - p));

		if (z == NULL) {
			m.err = EINVAL;
			goto failed;
		}
		if (i == 0)
			l.path = p;
		else if (i == 1)
			l.cwd = *p != '\0' ? p : NULL;
		else if (i < 2 + rq->argc)
			v[i - 2] = p;
		else
			v[i - 1] = p;
		p = z + 1;
	}
	v[rq->argc] = NULL;
	v[n - 1] = NULL;
	l.argv = v;
	l.env = v + rq->argc + 1;
	/* For a file without #!: "sh" PATH ARGS..., PATH set by the child. */
	if ((l.shargv = reallocarray(NULL, (size_t)rq->argc + 2,
	    sizeof(*l.shargv))) == NULL) {
		m.err = ENOMEM;
		goto failed;
	}
	l.shargv[0] = (char *)"sh";
	l.shargv[1] = NULL;
	for (i = 1; i < rq->argc; i++)
		l.shargv[i + 1] = v[i];
	l.shargv[rq->argc + 1] = NULL;
	l.out = out;
	l.launcher = getpid();
	pid = clone(job_child, stack + stacksize,
	    CLONE_VM | CLONE_VFORK | SIGCHLD, &l);
	if (pid == -1) {
		m.err = errno;
		goto failed;
	}
	if (l.err != 0) {
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
		m.err = l.err;
		m.what = l.what;
		goto failed;
	}
	free(l.shargv);
	free(v);
	close(out);
	return pid;
failed:
	m.op = L_FAILED;
	if (m.what == 0)
		m.what = W_SETUP;
	*mp = m;
	free(l.shargv);
	free(v);
	if (out != -1)
		close(out);
	return -1;
}

/*
 * The launcher's state, shared by its threads under lmu: the main thread
 * reads the worker's requests but L_RUN; each slot has a thread of its
 * own that reads the slot's socket, starts its jobs, waits for each and
 * tells how it ended.  While a thread starts a job it waits, without lmu,
 * until the job has exec'd: the other slots go on meanwhile.  kids[i] is
 * -1 while slot i's job is being started.
 */
#define SLOT_STACK	(64 * 1024)	/* a slot thread's job's, to exec */
static pthread_mutex_t	 lmu = PTHREAD_MUTEX_INITIALIZER;
static char		 slot_up[MAX_SLOTS];	/* its thread runs */
static int		 nkids;		/* jobs started, not yet reaped */
static int		 nstarting;	/* jobs being started */
static int		 lsock_l = -1;	/* the launcher's end of the socket */
static int		 lwake = -1;	/* eventfd: a slot thread to the main */
static int		 leof;		/* the worker is gone */
static int		 ssock_l[MAX_SLOTS];	/* each slot's; -1: none yet */

/*
 * Take slot i's next job from its socket (lmu held).  The worker sends a
 * request whole before it sends anything else, so the rest of one begun
 * is never long in coming; but a big one may not fit in the socket, and
 * a worker may be stopped in the middle of it, so the slot's thread
 * reads the rest without lmu (unlock), lest every slot wait for it: the
 * slot is free then, and nobody else reads its socket (drop_run() only
 * does while the slot has a job).  Returns 1 with the job in *nx (the caller owns nx->buf and nx->out), 0
 * if there is none now, -1 if the worker is gone.
 */
static int
next_run(int i, struct lnext *nx, int unlock)
{
	struct pollfd p;
	int r;

	if (ssock_l[i] == -1)
		return -1;
	p.fd = ssock_l[i];
	p.events = POLLIN;
	if (poll(&p, 1, 0) <= 0)
		return 0;
	/* The worker is gone: what it left unstarted stays so. */
	if (p.revents & POLLHUP)
		return -1;
	memset(nx, 0, sizeof(*nx));
	if (recv_full(ssock_l[i], &nx->rq, sizeof(nx->rq), &nx->out) == 0) {
		if (nx->rq.op != L_RUN || nx->rq.slot != i)
			_exit(70);	/* not our worker */
		if ((nx->buf = malloc(nx->rq.len + 1)) == NULL)
			_exit(70);
		if (unlock)
			pthread_mutex_unlock(&lmu);
		r = recv_full(ssock_l[i], nx->buf, nx->rq.len, NULL);
		if (unlock)
			pthread_mutex_lock(&lmu);
		if (r == 0)
			return 1;
	}
	/* Cut short: the worker is gone. */
	if (nx->out != -1)
		close(nx->out);
	free(nx->buf);
	memset(nx, 0, sizeof(*nx));
	nx->out = -1;
	return -1;
}

/*
 * Take job id back from slot i's socket (lmu held, the slot busy), if it
 * waits there unstarted: it can only be first, as the slot's thread
 * starts each job it reads.  A peek, without the passed descriptor, leaves any other job
 * where it is.  Returns whether it was taken.
 */
static int
drop_run(int i, uint64_t id)
{
	struct lnext nx;
	struct lreq rq;

	if (ssock_l[i] == -1 || recv(ssock_l[i], &rq, sizeof(rq),
	    MSG_PEEK | MSG_DONTWAIT) != (ssize_t)sizeof(rq) ||
	    rq.op != L_RUN || rq.id != id || next_run(i, &nx, 0) != 1)
		return 0;
	if (nx.out != -1)
		close(nx.out);
	free(nx.buf);
	return 1;
}

/* Tell the main thread (lmu held): messages to flush, or all done. */
static void
poke_main(void)
{
	uint64_t one = 1;

	if (lqn > 0 || (leof && nkids == 0 && nstarting == 0))
		(void)write(lwake, &one, sizeof(one));
}

/*
 * Start job rq of slot i from a thread that holds lmu and keeps it
 * across the call but not the clone.  Returns 0, or -1 with L_FAILED in
 * *m.  buf is the caller's to free.
 */
static int
start_kid(const struct lreq *rq, char *buf, int out, struct lmsg *m,
    char *stack, size_t stacksize)
{
	int i = rq->slot;
	pid_t pid;

	kids[i] = -1;
	nstarting++;
	pthread_mutex_unlock(&lmu);
	pid = launch_one(rq, buf, out, m, stack, stacksize);
	pthread_mutex_lock(&lmu);
	nstarting--;
	if (pid == -1) {
		kids[i] = 0;
		kill_sigs[i] = 0;
		return -1;
	}
	kids[i] = pid;
	kid_ids[i] = rq->id;
	kid_atts[i] = rq->attempt;
	nkids++;
	if (kill_sigs[i] != 0 && kill_ids[i] == rq->id &&
	    kill_atts[i] == rq->attempt)
		(void)kill(-pid, kill_sigs[i]);
	kill_sigs[i] = 0;
	/* The worker went while it started: it stops as the others did. */
	if (leof)
		(void)kill(-pid, SIGTERM);
	return 0;
}

/*
 * Slot i's thread.  Without a job, it sleeps in poll(2) on the slot's
 * socket.  With one, it sleeps in waitid(2) for it, as a shell waiting
 * for its child does (rather than in poll(2) on a signal, which wakes a
 * process wherever it ran last, where it may wait behind another job for
 * the whole of that job's run while the freed processor idles), and
 * starts the job waiting in the socket, if any, before it tells the end.
 * It looks without reaping (WNOWAIT) and reaps under lmu, so that the
 * main thread signals a job's group only while the job is an unreaped
 * child.  It leaves when the worker is gone and its job reaped.
 */
static void *
slot_thread(void *arg)
{
	char stack[SLOT_STACK] __attribute__((aligned(16)));
	struct rusage ru;
	struct lmsg m, nextfail;
	struct lnext nx;
	struct pollfd p;
	siginfo_t si;
	aq_time now;
	pid_t pid;
	int i = (int)(intptr_t)arg, st, r;

	pthread_mutex_lock(&lmu);
	for (;;) {
		if (kids[i] <= 0) {
			if (leof)
				break;
			if ((r = next_run(i, &nx, 1)) == -1)
				break;
			if (r == 0) {
				p.fd = ssock_l[i];
				p.events = POLLIN;
				pthread_mutex_unlock(&lmu);
				(void)poll(&p, 1, -1);
				pthread_mutex_lock(&lmu);
				continue;
			}
			if (start_kid(&nx.rq, nx.buf, nx.out, &m, stack,
			    sizeof(stack)) == -1)
				lqueue(lsock_l, &m);
			free(nx.buf);
			poke_main();
			continue;
		}
		pid = kids[i];
		pthread_mutex_unlock(&lmu);
		memset(&si, 0, sizeof(si));
		while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) ==
		    -1)
			if (errno != EINTR)
				_exit(70);
		pthread_mutex_lock(&lmu);
		if (wait4(pid, &st, 0, &ru) != pid)
			_exit(70);
		kids[i] = 0;
		nkids--;
		if (leof) {
			poke_main();
			continue;
		}
		/* The slot's next job first: it waits. */
		nextfail.op = 0;
		now = 0;
		if (next_run(i, &nx, 1) == 1) {
			now = aq_now();
			(void)start_kid(&nx.rq, nx.buf, nx.out, &nextfail,
			    stack, sizeof(stack));
			free(nx.buf);
			if (leof) {
				poke_main();
				continue;
			}
		}
		memset(&m, 0, sizeof(m));
		m.next = now;
		m.op = L_ENDED;
		m.slot = i;
		m.pid = pid;
		m.status = st;
		m.utime = (int64_t)ru.ru_utime.tv_sec * AQ_SEC +
		    ru.ru_utime.tv_usec;
		m.stime = (int64_t)ru.ru_stime.tv_sec * AQ_SEC +
		    ru.ru_stime.tv_usec;
		m.maxrss = ru.ru_maxrss;
		lqueue(lsock_l, &m);
		/* Its failure, if it failed, after this end. */
		if (nextfail.op != 0)
			lqueue(lsock_l, &nextfail);
		poke_main();
	}
	pthread_mutex_unlock(&lmu);
	return NULL;
}

/* Slot i's thread, started when the slot's socket comes (lmu held). */
static void
slot_thread_start(int i)
{
	pthread_attr_t a;
	pthread_t tid;

	if (slot_up[i])
		return;
	if (pthread_attr_init(&a) != 0 ||
	    pthread_attr_setstacksize(&a, SLOT_STACK + 64 * 1024) != 0 ||
	    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED) != 0 ||
	    pthread_create(&tid, &a, slot_thread, (void *)(intptr_t)i) != 0)
		_exit(70);
	pthread_attr_destroy(&a);
	slot_up[i] = 1;
}

/*
 * The worker is gone (lmu held): stop its jobs now, kill them after the
 * grace, and start nothing more.
 */
static aq_time
worker_gone(int64_t grace_us)
{
	int i;

	leof = 1;
	lqn = 0;
	for (i = 0; i < MAX_SLOTS; i++) {
		if (kids[i] > 0)
			(void)kill(-kids[i], SIGTERM);
	}
	return aq_now() + grace_us;
}

/*
 * The launcher's life: start the jobs the worker asks for, signal them,
 * and say how they ended (the slot threads do that).  When the worker
 * goes (its end of the socket closes), stop the jobs still running and
 * leave.
 */
static void __attribute__((noreturn))
launcher(int sock, int64_t grace_us)
{
	struct pollfd pfd[2];
	struct lreq rq;
	struct lmsg m;
	sigset_t all;
	aq_time kill_at = 0, now;
	uint64_t ev;
	int i, out, killed = 0;

	setproctitle("launcher");
	/* Keep the socket, drop whatever else the worker had open. */
	if (sock != 3) {
		if (dup2(sock, 3) == -1)
			_exit(70);
		sock = 3;
	}
	(void)close_range(4, ~0U, 0);
	/* Every job's stdin, opened once (above 2: it is close-on-exec). */
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1 ||
	    (devnull < 3 && (devnull = fcntl(devnull, F_DUPFD_CLOEXEC,
	    4)) == -1))
		_exit(70);
	default_signals();
	/* Signals wait, blocked, in both threads: jobs get them unblocked. */
	sigfillset(&all);
	if (sigprocmask(SIG_SETMASK, &all, NULL) == -1 ||
	    (lwake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		_exit(70);
	lsock_l = sock;
	/* Each slot: an end, a failed start, an answer to a drop. */
	lqcap = 4 * MAX_SLOTS + 16;
	if ((lq = calloc(lqcap, sizeof(*lq))) == NULL)
		_exit(70);
	for (i = 0; i < MAX_SLOTS; i++)
		ssock_l[i] = -1;
	for (;;) {
		int ms = -1;

		pthread_mutex_lock(&lmu);
		if (leof && nkids == 0 && nstarting == 0)
			_exit(0);
		if (leof && !killed) {
			now = aq_now();
			if (now >= kill_at) {
				for (i = 0; i < MAX_SLOTS; i++)
					if (kids[i] > 0)
						(void)kill(-kids[i], SIGKILL);
				killed = 1;
			} else
				ms = (int)((kill_at - now + 999) / 1000);
		}
		/* A gone worker's socket would report its hangup forever. */
		pfd[0].fd = leof ? -1 : sock;
		pfd[0].events = POLLIN | (lqn > 0 ? POLLOUT : 0);
		pthread_mutex_unlock(&lmu);
		pfd[1].fd = lwake;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, ms) == -1 && errno != EINTR)
			_exit(70);
		if (pfd[1].revents & POLLIN)
			(void)read(lwake, &ev, sizeof(ev));
		if (!leof && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (recv_full(sock, &rq, sizeof(rq), &out) == -1) {
				pthread_mutex_lock(&lmu);
				kill_at = worker_gone(grace_us);
				pthread_mutex_unlock(&lmu);
				continue;
			}
			if (rq.slot < 0 || rq.slot >= MAX_SLOTS) {
				if (out != -1)
					close(out);
				_exit(70);	/* not our worker */
			}
			pthread_mutex_lock(&lmu);
			if (rq.op == L_KILL) {
				if (kids[rq.slot] > 0 &&
				    kid_ids[rq.slot] == rq.id &&
				    kid_atts[rq.slot] == rq.attempt)
					(void)kill(-kids[rq.slot], rq.sig);
				else {
					kill_ids[rq.slot] = rq.id;
					kill_atts[rq.slot] = rq.attempt;
					kill_sigs[rq.slot] = rq.sig;
				}
				if (out != -1)
					close(out);
			} else if (rq.op == L_DROP) {
				memset(&m, 0, sizeof(m));
				m.op = L_DROPPED;
				m.slot = rq.slot;
				m.id = rq.id;
				m.err = ESRCH;
				/*
				 * A free slot has told its end, with no next
				 * job: the worker counts the one it sent ahead
				 * as started, and it is about to be.
				 */
				if (kids[rq.slot] != 0 &&
				    drop_run(rq.slot, rq.id))
					m.err = 0;
				lqueue(sock, &m);
				if (out != -1)
					close(out);
			} else if (rq.op == L_SLOT && out != -1 &&
			    ssock_l[rq.slot] == -1) {
				ssock_l[rq.slot] = out;
				slot_thread_start(rq.slot);
			} else
				_exit(70);
			pthread_mutex_unlock(&lmu);
		}
		pthread_mutex_lock(&lmu);
		if (!leof && lqn > 0)
			lqueue(sock, NULL);
		pthread_mutex_unlock(&lmu);
	}
}

/*
 * Each slot may hold, in the worker, two jobs' pipes and output files and
 * its socket to the launcher: raise the soft limit on descriptors to
 * that, as far as the hard limit allows.  Jobs get the limit as it was,
 * so that one using select(2) is not handed descriptors it cannot take.
 */
static void
raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)nslots * 5 + 64;

	if (getrlimit(RLIMIT_NOFILE, &nofile) == -1 || nofile.rlim_cur >= want)
		return;
	rl = nofile;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		nofile_raised = 1;
	else
		rl = nofile;
	if (rl.rlim_cur < want)
		logmsg(0, "%d slots may need %llu open files, the limit is "
		    "%llu: jobs may wait for descriptors", nslots,
		    (unsigned long long)want, (unsigned long long)rl.rlim_cur);
}

/*
 * Fork the launcher.  The first one is made before the environment is
 * opened, so that it is small; one made later, after the first died, has
 * the worker's mappings but never touches them.
 */
static int
launcher_start(void)
{
	int sv[2], i;

	if (kids == NULL && (kids = mmap(NULL, MAX_SLOTS * sizeof(*kids),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)) ==
	    MAP_FAILED) {
		kids = NULL;
		return -1;
	}
	for (i = 0; i < MAX_SLOTS; i++)
		kids[i] = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	switch (lpid = fork()) {
	case -1:
		close(sv[0]);
		close(sv[1]);
		return -1;
	case 0:
		close(sv[0]);
		launcher(sv[1], grace);
	}
	close(sv[1]);
	lsock = sv[0];
	(void)fcntl(lsock, F_SETFL, O_NONBLOCK);
	for (i = 0; i < MAX_SLOTS; i++)
		ssock[i] = -1;
	return 0;
}

/* Send a request whole, waiting for room as long as it takes. */
static int
send_full(int sock, const struct iovec *iov0, int iovcnt, int fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov[3];
	struct msghdr mh;
	struct pollfd p;
	ssize_t r;
	int i;

	memcpy(iov, iov0, (size_t)iovcnt * sizeof(*iov));
	while (iovcnt > 0) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)iovcnt;
		if (fd != -1) {
			memset(&cm, 0, sizeof(cm));
			mh.msg_control = cm.buf;
			mh.msg_controllen = sizeof(cm.buf);
			cm.hdr.cmsg_level = SOL_SOCKET;
			cm.hdr.cmsg_type = SCM_RIGHTS;
			cm.hdr.cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(&cm.hdr), &fd, sizeof(int));
		}
		r = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN) {
			p.fd = sock;
			p.events = POLLOUT;
			(void)poll(&p, 1, 1000);
			continue;
		}
		if (r == -1)
			return -1;
		fd = -1;	/* it went with the first bytes */
		while (iovcnt > 0 && (size_t)r >= iov[0].iov_len) {
			r -= (ssize_t)iov[0].iov_len;
			for (i = 1; i < iovcnt; i++)
				iov[i - 1] = iov[i];
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov[0].iov_base = (char *)iov[0].iov_base + r;
			iov[0].iov_len -= (size_t)r;
		}
	}
	return 0;
}

/* Ask the launcher to signal the job of slot i. */
static void
kill_slot(int i, int sig)
{
	struct lreq rq;
	struct iovec iov;

	memset(&rq, 0, sizeof(rq));
	rq.op = L_KILL;
	rq.slot = i;
	rq.sig = sig;
	rq.id = slots[i].job->id;
	rq.attempt = slots[i].job->attempt;
	iov.iov_base = &rq;
	iov.iov_len = sizeof(rq);
	if (lsock != -1)
		(void)send_full(lsock, &iov, 1, -1);
}

/* Ask the launcher for slot i's job claimed ahead back: L_DROPPED says. */
static void
drop_ahead(int i)
{
	struct lreq rq;
	struct iovec iov;

	memset(&rq, 0, sizeof(rq));
	rq.op = L_DROP;
	rq.slot = i;
	rq.id = ahead[i].job->id;
	iov.iov_base = &rq;
	iov.iov_len = sizeof(rq);
	ahead[i].dropping = 1;
	if (lsock != -1)
		(void)send_full(lsock, &iov, 1, -1);
}

/*
 * Give slot i a socket of its own for its RUN requests, read by the
 * slot's thread in the launcher only when it has a job to start: a job
 * claimed ahead wakes nobody.  Returns 0 or an errno.
 */
static int
slot_socket(int i)
{
	struct lreq rq;
	struct iovec iov;
	socklen_t optlen = sizeof(int);
	int sv[2], e = 0, sndbuf;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return errno;
	if (getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &optlen) == 0 &&
	    sndbuf > 0 && (size_t)sndbuf / 4 < ahead_max)
		ahead_max = (size_t)sndbuf / 4;
	memset(&rq, 0, sizeof(rq));
	rq.op = L_SLOT;
	rq.slot = i;
	iov.iov_base = &rq;
	iov.iov_len = sizeof(rq);
	if (send_full(lsock, &iov, 1, sv[1]) == -1) {
		e = errno;
		close(sv[0]);
	} else {
		ssock[i] = sv[0];
		(void)fcntl(ssock[i], F_SETFL, O_NONBLOCK);
	}
	close(sv[1]);
	return e;
}

/*
 * Ask the launcher to run the job of slot i, at once or when the slot's
 * job ends (early): the strings go in one buffer after the header.
 * Returns 0, or an errno: EMSGSIZE for a job ahead too big to wait whole
 * in the slot's socket, which nobody reads until the slot's job ends.
 * The request's size goes in *sizep.
 */
static int
run_slot(int i, int early, const char *path, const struct aq_job *j,
    char **env, int out, size_t *sizep)
{
	struct lreq rq;
	struct iovec iov[2];
	char *buf, *p;
	size_t len = 0, k, n;
	int e = 0;

	len += strlen(path) + 1;
	len += (j->cwd ? strlen(j->cwd) : 0) + 1;
	for (k = 0; j->argv[k] != NULL; k++)
		len += strlen(j->argv[k]) + 1;
	memset(&rq, 0, sizeof(rq));
	rq.argc = (uint32_t)k;
	for (k = 0; env[k] != NULL; k++)
		len += strlen(env[k]) + 1;
	rq.envc = (uint32_t)k;
	if (len > UINT32_MAX / 2)
		return E2BIG;
	*sizep = sizeof(rq) + len;
	if (early && *sizep > ahead_max)
		return EMSGSIZE;
	if ((buf = malloc(len)) == NULL)
		return ENOMEM;
#define PUT(str) do {						\
	n = strlen(str) + 1;					\
	memcpy(p, (str), n);					\
	p += n;							\
} while (0)
	p = buf;
	PUT(path);
	PUT(j->cwd ? j->cwd : "");
	for (k = 0; j->argv[k] != NULL; k++)
		PUT(j->argv[k]);
	for (k = 0; env[k] != NULL; k++)
		PUT(env[k]);
#undef PUT
	rq.op = L_RUN;
	rq.slot = i;
	rq.id = j->id;
	rq.attempt = j->attempt;
	rq.len = (uint32_t)len;
	iov[0].iov_base = &rq;
	iov[0].iov_len = sizeof(rq);
	iov[1].iov_base = buf;
	iov[1].iov_len = len;
	if (lsock == -1)
		e = EPIPE;
	else if (ssock[i] == -1)
		e = slot_socket(i);
	if (e == 0 && send_full(ssock[i], iov, 2, out) == -1)
		e = errno;
	free(buf);
	return e;
}

static void finish(struct slot *, int status, const struct rusage *);

static void
log_start(const struct aq_job *j)
{
	char *cmd;

	if (!verbose)
		return;
	cmd = aq_job_cmdline(j);
	logmsg(1, "job %llu started (attempt %d): %s",
	    (unsigned long long)j->id, j->attempt, cmd ? cmd : j->argv[0]);
	free(cmd);
}

/*
 * Run claimed job j in slot i: s is slots + i, or ahead + i for a job
 * that is to start once the slot's job ends.
 */
static void
start(struct slot *s, int i, struct aq_job *j)
{
	char path[PATH_MAX + 1], envbuf[PATH_MAX + 512];
	char **env = NULL;
	int p[2] = { -1, -1 }, e, status, k;
	size_t size = 0;
	aq_time lastran;

	k = s->agent;
	lastran = s->lastran;
	memset(s, 0, sizeof(*s));
	s->agent = k;
	s->lastran = lastran;
	s->job = j;
	s->pipe = -1;
	s->pid = -1;
	s->began = aq_now();
	if (s == &ahead[i]) {
		s->ahead = 1;
		nahead++;
	} else {
		nbusy++;
		log_start(j);
	}
	s->out = -1;
	status = -1;
	/* A directory that cannot be entered is the launcher's to tell. */
	if ((e = find_program(j, path, sizeof(path))) != 0) {
		say(s, "aq-run: %s: %s", j->argv[0],
		    e == ENOENT ? "command not found" : strerror(e));
		status = e == ENOENT ? 127 : 126;
	} else if ((env = job_env(j, envbuf, sizeof(envbuf))) == NULL) {
		say(s, "aq-run: cannot build the environment: %s",
		    strerror(ENOMEM));
		status = 126;
	} else if (pipe2(p, O_CLOEXEC) == -1 ||
	    (e = run_slot(i, s->ahead, path, j, env, p[1], &size)) != 0) {
		/*
		 * Not the job's fault, and it did not start: it goes back
		 * to the queue as it was.  Too big to wait ahead, it waits
		 * there for a free slot; otherwise (out of descriptors,
		 * say) this worker claims nothing for a second.
		 */
		s->stopped = s->unsent = 1;
		status = 126;
		if (e == EMSGSIZE)
			slots[i].noahead = 1;
		else {
			logmsg(0, "job %llu: cannot %s: %s; given back",
			    (unsigned long long)j->id, p[0] == -1 ?
			    "make a pipe" : "reach the launcher",
			    strerror(p[0] == -1 ? errno : e));
			hold_until = aq_now() + AQ_SEC;
		}
	} else {
		s->pid = 0;	/* until the launcher says STARTED */
		/* Its like would be too big to claim ahead: likely next. */
		if (!s->ahead)
			s->noahead = size > ahead_max;
	}
	free(env);
	if (p[1] != -1)
		close(p[1]);
	if (status != -1) {
		if (p[0] != -1)
			close(p[0]);
		finish(s, status << 8, NULL);
		return;
	}
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	s->pipe = p[0];
	if (j->timeout > 0 && !s->ahead)
		s->timeout_at = s->began + j->timeout;
}

/*
 * Slot i's job ended, and the launcher started the job claimed ahead in
 * its place at time began (0: now), or tried to: an L_FAILED follows.
 */
static void
promote(int i, aq_time began)
{
	struct slot *s = &slots[i], *a = &ahead[i];
	aq_time lastran = s->lastran;
	int k = s->agent;

	*s = *a;
	s->agent = k;
	s->lastran = lastran;
	s->ahead = s->dropping = 0;
	s->pid = 0;
	s->began = began != 0 ? began : aq_now();
	if (s->job->timeout > 0)
		s->timeout_at = s->began + s->job->timeout;
	memset(a, 0, sizeof(*a));
	a->agent = k;
	a->pipe = a->out = -1;
	nahead--;
	nbusy++;
	log_start(s->job);
	/* Stopped or cancelled while it waited: it ran all the same. */
	if (killing || s->cancelled) {
		s->stopped = killing;
		kill_slot(i, SIGTERM);
		s->kill_at = s->began + grace;
	}
}

/* ---- output ---- */

/* Copy what the job wrote, up to the cap; the rest is read and dropped. */
static void
copy_output(struct slot *s, int all)
{
	static char buf[OUTBUF];
	ssize_t n, w;
	int rounds;

	for (rounds = 0; s->pipe != -1 && (all || rounds < 16); rounds++) {
		n = read(s->pipe, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(s->pipe);
			s->pipe = -1;
			return;
		}
		s->total += n;
		w = n;
		if (output_cap > 0 && s->kept + w > output_cap)
			w = output_cap - s->kept;
		if (w > 0 && outfd(s) == -1)
			w = 0;
		if (w > 0 && write(s->out, buf, (size_t)w) != w) {
			/* A full disk must not stop the job: drop, say why. */
			logmsg(0, "job %llu: cannot write output: %s",
			    (unsigned long long)s->job->id, strerror(errno));
			s->kept = output_cap > 0 ? output_cap : s->kept;
			continue;
		}
		s->kept += w;
	}
}

/* ---- ending a job ---- */

/*
 * A job that ended, its result not yet written: the worker starts the
 * next job first and writes this while it runs (with the claim of the
 * next one, when it can).
 */
struct ended {
	struct aq_job	*job;
	struct aq_result r;
	int		 stopped, timedout, cancelled;
	int		 unrun;		/* given back unstarted */
	aq_time		 ran;		/* run time, for the log */
};
static struct ended	*ends;
static struct aq_end	*endv;	/* what aq_end_claim() is given */
static int		 nends;	/* of nslots * 2: written when full */

static int	record_ends(const struct aq_claim_opts *, struct aq_job **,
		    aq_time *);

static void
finish(struct slot *s, int status, const struct rusage *ru)
{
	struct ended *e;
	struct aq_result *r;

	if (s->pipe != -1) {
		copy_output(s, 1);
		if (s->pipe != -1) {
			close(s->pipe);	/* left to whatever still holds it */
			s->pipe = -1;
		}
	}
	if (output_cap > 0 && s->total > output_cap)
		say(s, "aq-run: output capped at %lld bytes; the rest "
		    "(%lld bytes) was dropped", (long long)output_cap,
		    (long long)(s->total - output_cap));
	if (s->out != -1)
		close(s->out);

	/*
	 * Ends pile up between two passes of the loop: a slot's job, its
	 * job claimed ahead (given back, or unable to start), a job that
	 * cannot start at its claim.  When the room is used up, they are
	 * written at once rather than overrun.
	 */
	if (nends == nslots * 2)
		(void)record_ends(NULL, NULL, NULL);
	e = &ends[nends++];
	r = &e->r;
	memset(e, 0, sizeof(*e));
	e->job = s->job;
	e->stopped = s->stopped;
	e->timedout = s->timedout;
	e->cancelled = s->cancelled;
	e->unrun = (s->ahead && s->stopped) || s->unsent;
	if (e->unrun)
		started--;	/* given back: -n counts it no more */
	r->ended = aq_now();
	r->started = s->began;
	e->ran = r->ended - s->began;
	if (!s->ahead)
		s->lastran = e->ran;
	r->attempt = s->job->attempt;
	r->exit_code = -1;
	if (WIFEXITED(status))
		r->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		r->signal = WTERMSIG(status);
	if (s->timedout)
		r->outcome = AQ_OUT_TIMEOUT;
	if (s->cancelled)
		r->outcome = AQ_OUT_CANCELLED;
	if (ru != NULL) {
		r->utime = (int64_t)ru->ru_utime.tv_sec * AQ_SEC +
		    ru->ru_utime.tv_usec;
		r->stime = (int64_t)ru->ru_stime.tv_sec * AQ_SEC +
		    ru->ru_stime.tv_usec;
		r->maxrss = ru->ru_maxrss;
	}
	r->output_size = s->total;
	r->output_cap = output_cap;
	s->job = NULL;
	s->pid = -1;
	if (s->ahead)
		nahead--;
	else
		nbusy--;
	s->ahead = s->dropping = 0;
}

/*
 * Write the results of the jobs that ended, and claim with o (NULL: no
 * claim) in the same transaction: one commit for a job's end and the
 * next job of its slot.  Returns as aq_end_claim().
 */
static int
record_ends(const struct aq_claim_opts *o, struct aq_job **jobp, aq_time *due)
{
	struct ended *e;
	char d[32] = "";
	int rc, tries, k;

	if (nends == 0 && o == NULL)
		return AQ_OK;
	for (k = 0; k < nends; k++) {
		e = &ends[k];
		memset(&endv[k], 0, sizeof(endv[k]));
		endv[k].id = e->job->id;
		endv[k].how = e->unrun ? AQ_END_UNCLAIM : e->stopped ?
		    AQ_END_INTERRUPT : AQ_END_DONE;
		endv[k].r = e->r;
	}
	if (nends > 0)
		dirty = 1;
	/* Nothing written while the environment is busy: try again. */
	for (tries = 0;; tries++) {
		rc = aq_end_claim(aq, me.uuid, endv, (size_t)nends, o, jobp,
		    due);
		if (nends == 0 || endv[0].rc == AQ_OK || endv[0].rc == AQ_NO ||
		    endv[0].rc == AQ_ENOENT || tries == 4)
			break;
		usleep(200000U << tries);
	}
	for (k = 0; k < nends; k++) {
		e = &ends[k];
		/* Only a stop or a trace line says how long it ran. */
		if (verbose || e->stopped)
			aq_format_duration(e->ran, d, sizeof(d));
		if (endv[k].rc == AQ_NO || endv[k].rc == AQ_ENOENT)
			logmsg(0, "job %llu: lost the claim, result not "
			    "written: %s", (unsigned long long)e->job->id,
			    endv[k].rc == AQ_NO ? "no longer this worker's" :
			    "no such job");
		else if (endv[k].rc != AQ_OK)
			logmsg(0, "job %llu: cannot record its end: %s",
			    (unsigned long long)e->job->id, aq_error());
		else if (e->unrun && e->cancelled)
			logmsg(0, "job %llu cancelled before it started",
			    (unsigned long long)e->job->id);
		else if (e->unrun)
			logmsg(1, "job %llu given back unstarted",
			    (unsigned long long)e->job->id);
		else if (e->stopped)
			logmsg(0, "job %llu stopped and interrupted after %s",
			    (unsigned long long)e->job->id, d);
		else {
			const char *out = e->cancelled ? "cancelled" :
			    e->timedout ? "timeout" : e->r.signal == 0 &&
			    e->r.exit_code == 0 ? "ok" : "failed";

			if (e->r.signal != 0)
				logmsg(1, "job %llu ended %s (signal %d) in %s",
				    (unsigned long long)e->job->id, out,
				    e->r.signal, d);
			else
				logmsg(1, "job %llu ended %s (exit %d) in %s",
				    (unsigned long long)e->job->id, out,
				    e->r.exit_code, d);
		}
		aq_job_free(e->job);
	}
	nends = 0;
	return rc;
}

/* Whether claims wait, after a job could not be handed over. */
static int
held(void)
{
	return hold_until != 0 && aq_now() < hold_until;
}

/* The earlier of two times, 0 meaning none. */
static aq_time
earliest(aq_time a, aq_time b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

/*
 * Claim a job for agent a (with the AQ_CLAIM_* flags more), writing the
 * ends that wait in the same transaction.  AQ_NO: nothing for a now, it
 * is dry, and *next_due is when a scheduled job falls due, if sooner.
 * Any other error is logged.
 */
static int
claim(struct agent *a, int more, struct aq_job **jp, aq_time *next_due)
{
	struct aq_claim_opts o = a->o;
	aq_time due;
	int rc;

	o.flags |= more;
	rc = record_ends(&o, jp, &due);
	if (rc == AQ_NO) {
		a->dry = 1;
		*next_due = earliest(*next_due, due);
	} else if (rc != AQ_OK)
		logmsg(0, "cannot claim: %s", aq_error());
	return rc;
}

/* The launcher died: its jobs' ends cannot be known, so they are stopped
 * and go back to the queue, and a new launcher takes its place. */
static void
launcher_died(void)
{
	int st = 0, i, n = 0;

	close(lsock);
	lsock = -1;
	for (i = 0; i < MAX_SLOTS; i++)
		if (ssock[i] != -1) {
			close(ssock[i]);
			ssock[i] = -1;
		}
	while (waitpid(lpid, &st, 0) == -1 && errno == EINTR)
		;
	for (i = 0; i < nslots; i++) {
		struct slot *s = &slots[i];

		if (s->job == NULL)
			continue;
		/* Orphans now, in their own groups: nobody else stops them. */
		if (s->pid != -1 && kids[i] > 0)
			(void)kill(-kids[i], SIGKILL);
		s->stopped = 1;
		finish(s, SIGKILL, NULL);
		n++;
		/* It may have started: nobody can tell now. */
		if (ahead[i].job != NULL) {
			ahead[i].stopped = 1;
			ahead[i].ahead = 0;	/* interrupted, not unclaimed */
			nahead--;
			nbusy++;	/* finish() counts it as running */
			finish(&ahead[i], SIGKILL, NULL);
			n++;
		}
	}
	if (WIFSIGNALED(st))
		logmsg(0, "the launcher was killed by signal %d; %d job%s "
		    "interrupted", WTERMSIG(st), n, n == 1 ? "" : "s");
	else
		logmsg(0, "the launcher exited with %d; %d job%s interrupted",
		    WEXITSTATUS(st), n, n == 1 ? "" : "s");
	if (launcher_start() == -1)
		logmsg(0, "cannot start a launcher: %s", strerror(errno));
}

/* Read what the launcher says: jobs started, failed to start, ended. */
static void
launcher_read(void)
{
	static char buf[64 * sizeof(struct lmsg)];
	static size_t have;
	struct lmsg m;
	struct rusage ru;
	struct slot *s;
	ssize_t n;
	size_t off, room;

	for (;;) {
		room = sizeof(buf) - have;
		n = read(lsock, buf + have, room);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			have = 0;
			launcher_died();
			return;
		}
		have += (size_t)n;
		for (off = 0; have - off >= sizeof(m); off += sizeof(m)) {
			memcpy(&m, buf + off, sizeof(m));
			if (m.slot < 0 || m.slot >= nslots)
				continue;
			s = &ahead[m.slot];
			if (m.op == L_DROPPED) {
				/* ESRCH: started; the slot's end came first. */
				if (m.err == 0 && s->job != NULL &&
				    s->job->id == m.id) {
					s->stopped = 1;
					finish(s, 0, NULL);
				}
				continue;
			}
			s = &slots[m.slot];
			if (s->job == NULL)
				continue;
			switch (m.op) {
			case L_FAILED:
				if (m.what == W_CHDIR) {
					say(s, "aq-run: cannot change to "
					    "directory '%s': %s", s->job->cwd,
					    strerror(m.err));
					finish(s, 1 << 8, NULL);
				} else {
					say(s, "aq-run: %s: %s",
					    s->job->argv[0], strerror(m.err));
					finish(s, (m.err == ENOENT ? 127 :
					    126) << 8, NULL);
				}
				if (ahead[m.slot].job != NULL)
					promote(m.slot, 0);
				break;
			case L_ENDED:
				memset(&ru, 0, sizeof(ru));
				ru.ru_utime.tv_sec = m.utime / AQ_SEC;
				ru.ru_utime.tv_usec = m.utime % AQ_SEC;
				ru.ru_stime.tv_sec = m.stime / AQ_SEC;
				ru.ru_stime.tv_usec = m.stime % AQ_SEC;
				ru.ru_maxrss = m.maxrss;
				finish(s, m.status, &ru);
				if (ahead[m.slot].job != NULL)
					promote(m.slot, m.next);
				break;
			}
		}
		memmove(buf, buf + off, have - off);
		have -= off;
		/* Less than there was room for: nothing more for now. */
		if ((size_t)n < room)
			return;
	}
}

static void
signal_jobs(int sig, aq_time kill_at, int stopping)
{
	int i;

	for (i = 0; i < nslots; i++) {
		struct slot *s = &slots[i];

		if (s->job == NULL || s->pid == -1)
			continue;
		kill_slot(i, sig);
		if (stopping)
			s->stopped = 1;
		if (kill_at != 0 && s->kill_at == 0)
			s->kill_at = kill_at;
	}
}

/* ---- the loop ---- */

/* Interrupt the jobs of dead workers, and say so.  Returns the time. */
static aq_time
reap(void)
{
	size_t dead, jobs;

	dirty = 1;
	if (aq_reap(aq, &dead, &jobs) != AQ_OK)
		logmsg(0, "cannot look for dead workers: %s", aq_error());
	else if (dead > 0)
		logmsg(0, "found %zu dead worker%s; interrupted %zu job%s",
		    dead, dead == 1 ? "" : "s", jobs, jobs == 1 ? "" : "s");
	return aq_now();
}

/* Stop the jobs aq-cancel asked this worker to stop. */
static void
cancels(aq_time now)
{
	uint64_t ids[64];
	size_t n, k;
	int i;

	if (aq_cancels(aq, me.uuid, ids, 64, &n) != AQ_OK) {
		logmsg(0, "cannot look for cancelled jobs: %s", aq_error());
		return;
	}
	for (k = 0; k < n; k++)
		for (i = 0; i < nslots; i++) {
			struct slot *s = &slots[i], *a = &ahead[i];

			/* Not started: taken back, it ends cancelled. */
			if (a->job != NULL && a->job->id == ids[k] &&
			    !a->cancelled) {
				a->cancelled = 1;
				if (!a->dropping)
					drop_ahead(i);
				continue;
			}
			if (s->job == NULL || s->job->id != ids[k] ||
			    s->cancelled || s->pid == -1)
				continue;
			logmsg(0, "job %llu: cancelled",
			    (unsigned long long)ids[k]);
			s->cancelled = 1;
			s->timeout_at = 0;
			kill_slot(i, SIGTERM);
			if (s->kill_at == 0)
				s->kill_at = now + grace;
		}
}

/*
 * Retention: forget one batch of the jobs that ended more than keep ago.
 * Returns when to go on: at once while old jobs are left (a batch is
 * short, jobs are claimed and started between two), else a minute on.
 */
static aq_time
purge(aq_time now, int64_t keep, size_t *total)
{
	char when[40];
	size_t n;
	int more, rc;

	rc = aq_purge(aq, now - keep, PURGE_BATCH, &n, &more);
	*total += n;
	if (rc != AQ_OK) {
		logmsg(0, "cannot purge old jobs: %s", aq_error());
		more = 0;
	}
	if (more)
		return now;
	if (*total > 0) {
		aq_format_time(now - keep, when, sizeof(when));
		logmsg(0, "purged %zu job%s that ended before %s", *total,
		    *total == 1 ? "" : "s", when);
	}
	*total = 0;
	return now + PURGE_EVERY;
}

/* Add the agent of "NAME=SLOTS[:GLOB]" (-a), or "main" of -j's slots. */
static void
agent_add(const char *spec)
{
	struct agent *a;
	const char *eq = strchr(spec, '='), *errstr;
	char *colon, *n;
	int i;

	if (eq == NULL || eq == spec)
		errx(64, "bad agent '%s': NAME=SLOTS[:GLOB]", spec);
	if ((agents = reallocarray(agents, (size_t)nagents + 1,
	    sizeof(*agents))) == NULL)
		err(75, "cannot add agent");
	a = &agents[nagents];
	memset(a, 0, sizeof(*a));
	if ((a->spec = strdup(spec)) == NULL ||
	    (a->name = strndup(spec, (size_t)(eq - spec))) == NULL ||
	    (n = strdup(eq + 1)) == NULL)
		err(75, "cannot add agent");
	if ((colon = strchr(n, ':')) != NULL) {
		*colon = '\0';
		if (colon[1] == '\0')
			errx(64, "bad agent '%s': an empty glob", spec);
		if ((a->filter = strdup(colon + 1)) == NULL)
			err(75, "cannot add agent");
	}
	if (!aq_valid_name(a->name))
		errx(64, "bad agent name '%s'", a->name);
	for (i = 0; i < nagents; i++)
		if (strcmp(agents[i].name, a->name) == 0)
			errx(64, "agent '%s' given twice", a->name);
	a->slots = (int)strtonum(n, 1, MAX_SLOTS, &errstr);
	if (errstr != NULL)
		errx(64, "bad slot count '%s' of agent '%s'", n, a->name);
	free(n);
	nagents++;
}

int
main(int argc, char *argv[])
{
	struct pollfd *pfd;
	struct signalfd_siginfo si;
	struct pidfh *pfh = NULL;
	sigset_t mask;
	const char *dir = NULL, *uuidpath = NULL, *pidpath = NULL, *errstr;
	const char **queues = NULL;
	int64_t poll_i = 5 * AQ_SEC, ping_i = 30 * AQ_SEC, death_i = 60 * AQ_SEC;
	int64_t keep = KEEP_DEFAULT;
	long long count = 0;
	int ch, rc, sfd, wfd, drain = 0, stopping = 0, jset = 0;
	int want = 1, idle = 0, i, nah, nfd;
	size_t nq = 0, taken, n;
	aq_time now, next_poll, next_ping, next_due = 0, last_poll = 0;
	aq_time last_reap = 0, next_cancels = 0, next_purge;
	size_t purged = 0;
	pid_t otherpid;

	setproctitle_init(argc, argv, environ);
	while ((ch = getopt_long(argc, argv, "a:d:hi:j:n:q:u:vV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			agent_add(optarg);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			usage(0);
		case 'i':
			poll_i = duration(optarg);
			break;
		case 'j':
			nslots = (int)strtonum(optarg, 1, MAX_SLOTS, &errstr);
			if (errstr != NULL)
				errx(64, "bad slot count '%s'", optarg);
			jset = 1;
			break;
		case 'n':
			count = strtonum(optarg, 1, LLONG_MAX, &errstr);
			if (errstr != NULL)
				errx(64, "bad job count '%s'", optarg);
			break;
		case 'q':
			if (!aq_valid_name(optarg))
				errx(65, "bad queue name '%s'", optarg);
			/* "*": every queue, and then nothing else. */
			if (nq > 0 && (strcmp(optarg, "*") == 0 ||
			    strcmp(queues[0], "*") == 0))
				errx(64, "'*' serves every queue: no other "
				    "with it");
			if ((queues = reallocarray(queues, nq + 2,
			    sizeof(*queues))) == NULL)
				err(75, "cannot add queue");
			queues[nq++] = optarg;
			queues[nq] = NULL;
			break;
		case 'u':
			uuidpath = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("aq-run (aq) %s\n", PACKAGE_VERSION);
			return 0;
		case O_DEATH:
			death_i = duration(optarg);
			break;
		case O_DRAIN:
			drain = 1;
			break;
		case O_GRACE:
			grace = duration(optarg);
			break;
		case O_KEEP:
			if (aq_parse_duration(optarg, &keep) != AQ_OK)
				errx(65, "bad duration '%s'", optarg);
			break;
		case O_LOG:
			logpath = optarg;
			break;
		case O_OUTPUT_CAP:
			output_cap = size(optarg);
			break;
		case O_PIDFILE:
			pidpath = optarg;
			break;
		case O_PING:
			ping_i = duration(optarg);
			break;
		case O_SYSLOG:
			use_syslog = 1;
			break;
		default:
			usage(64);
		}
	}
	if (optind != argc || (drain && count > 0) ||
	    (logpath != NULL && use_syslog))
		usage(64);
	if (death_i <= ping_i)
		errx(64, "the death interval must exceed the ping interval");
	if (jset && nagents > 0)
		errx(64, "-j and -a exclude each other: -j N is -a main=N");
	if (nagents == 0) {
		char spec[32];

		snprintf(spec, sizeof(spec), "main=%d", nslots);
		agent_add(spec);
	}
	for (nslots = 0, i = 0; i < nagents; i++)
		nslots += agents[i].slots;
	if (nslots > MAX_SLOTS)
		errx(64, "more than %d slots", MAX_SLOTS);

	/* Who we are. */
	if (uuidpath == NULL && (uuidpath = getenv("AQ_UUID")) != NULL &&
	    *uuidpath == '\0')
		uuidpath = NULL;
	if (pidpath != NULL &&
	    (pfh = pidfile_open(pidpath, 0644, &otherpid)) == NULL) {
		if (errno == EEXIST)
			errx(75, "already running with pid file '%s' (pid %ld)",
			    pidpath, (long)otherpid);
		err(73, "cannot open pid file '%s'", pidpath);
	}
	logfp = stderr;
	logopen();
	if (use_syslog)
		openlog("aq-run", LOG_PID, LOG_DAEMON);

	/* Signals come through a descriptor; jobs get them reset. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		err(70, "cannot take signals");

	raise_nofile();
	/* Before the open: the launcher stays small. */
	if (launcher_start() == -1)
		err(75, "cannot start the launcher");
	if ((rc = aq_open(&aq, dir, AQ_OPEN_CREATE)) != AQ_OK)
		errx(rc, "%s", aq_error());
	/* After the open: the UUID file may live in a home made just now. */
	if (uuidpath != NULL)
		uuid_file(uuidpath, me.uuid);
	else
		uuid_generate(me.uuid);
	aq_uuid_format(me.uuid, uuidstr);
	me.slots = nslots;
	me.queues = queues;
	{
		const char **specs;

		if ((specs = reallocarray(NULL, (size_t)nagents + 1,
		    sizeof(*specs))) == NULL)
			err(75, "cannot list agents");
		for (i = 0; i < nagents; i++)
			specs[i] = agents[i].spec;
		specs[nagents] = NULL;
		me.agents = specs;
	}
	me.poll_interval = poll_i;
	me.ping_interval = ping_i;
	me.death_interval = death_i;
	if ((rc = aq_worker_start(aq, &me, &taken)) != AQ_OK) {
		aq_close(aq);
		if (pfh != NULL)
			pidfile_remove(pfh);
		errx(rc, "%s", aq_error());
	}
	if (pfh != NULL)
		pidfile_write(pfh);
	logmsg(0, "worker %s started: %d slot%s, home %s", uuidstr, nslots,
	    nslots == 1 ? "" : "s", aq_home(aq));
	if (taken > 0)
		logmsg(0, "took over %zu job%s of an earlier run", taken,
		    taken == 1 ? "" : "s");
	aq_defer_sync(aq, 1);
	copts.queues = queues;
	copts.nqueues = nq;
	copts.lease = AQ_LEASE_WORKER;
	copts.flags = AQ_CLAIM_NO_REAP;
	memcpy(copts.owner, me.uuid, AQ_UUID_LEN);
	for (i = 0; i < nagents; i++) {
		agents[i].o = copts;
		agents[i].o.filter = agents[i].filter;
		agents[i].o.agent = agents[i].name;
	}
	if ((slots = calloc((size_t)nslots, sizeof(*slots))) == NULL ||
	    (ahead = calloc((size_t)nslots, sizeof(*ahead))) == NULL ||
	    (ends = calloc((size_t)nslots * 2, sizeof(*ends))) == NULL ||
	    (endv = calloc((size_t)nslots * 2, sizeof(*endv))) == NULL ||
	    (pfd = calloc((size_t)nslots + 3, sizeof(*pfd))) == NULL)
		err(75, "cannot allocate slots");
	for (n = 0, i = 0; i < nagents; i++) {
		int k;

		for (k = 0; k < agents[i].slots; k++) {
			ahead[n].agent = i;
			ahead[n].pipe = ahead[n].out = -1;
			slots[n++].agent = i;
		}
	}
	wfd = aq_watch(aq);
	now = aq_now();
	next_poll = now + poll_i;
	next_ping = now + ping_i;
	next_purge = now;	/* a first pass, even for --drain */
	title(0);

	for (;;) {
		int synced = 0;

		/* Claim while there is room and a reason to. */
		if (!stopping && want && (count == 0 || started < count) &&
		    !held()) {
			char buf[4096];

			/* Dead workers' jobs come first: look once a second. */
			if (aq_now() - last_reap >= AQ_SEC)
				last_reap = reap();

			if (wfd != -1)
				while (read(wfd, buf, sizeof(buf)) > 0)
					;
			want = 0;
			idle = 0;
			dirty = 1;
			last_poll = aq_now();
			for (i = 0; i < nagents; i++)
				agents[i].dry = 0;
			next_due = 0;
			for (i = 0; i < nslots && nbusy < nslots &&
			    (count == 0 || started < count) && !held(); i++) {
				struct agent *a = &agents[slots[i].agent];
				struct aq_job *j;

				if (slots[i].job != NULL || a->dry)
					continue;
				if ((rc = claim(a, 0, &j, &next_due)) == AQ_NO)
					continue;
				if (rc != AQ_OK) {
					next_poll = aq_now() + AQ_SEC;
					break;
				}
				if ((j->flags & AQ_JOB_AT_MOST_ONCE) &&
				    (rc = aq_sync(aq)) != AQ_OK) {
					logmsg(0, "cannot sync: %s",
					    aq_error());
					synced = 1;
				}
				started++;
				start(&slots[i], i, j);
			}
			/* The next job of each slot whose jobs are short. */
			now = aq_now();
			for (i = 0; i < nslots &&
			    (count == 0 || started < count) && !held(); i++) {
				struct agent *a = &agents[slots[i].agent];
				struct aq_job *j;

				if (slots[i].job == NULL ||
				    ahead[i].job != NULL || a->dry ||
				    slots[i].noahead ||
				    slots[i].lastran >= AHEAD_HOLD ||
				    now - slots[i].began >= AHEAD_HOLD)
					continue;
				if ((rc = claim(a, AQ_CLAIM_AHEAD, &j,
				    &next_due)) == AQ_NO)
					continue;
				if (rc != AQ_OK) {
					next_poll = aq_now() + AQ_SEC;
					break;
				}
				started++;
				start(&ahead[i], i, j);
			}
			/* Idle: nothing claimable for any agent with room. */
			for (idle = 1, i = 0; i < nslots; i++)
				if (slots[i].job == NULL &&
				    !agents[slots[i].agent].dry)
					idle = 0;
			title(0);
		}
		/*
		 * A slot that freed meanwhile is filled before the ends are
		 * written: the launcher may have news already.
		 */
		if (nends > 0 && nbusy < nslots && !stopping && !idle &&
		    (count == 0 || started < count)) {
			n = (size_t)nbusy;
			launcher_read();
			if ((size_t)nbusy < n) {
				want = 1;
				continue;
			}
		}
		/*
		 * An end may make other jobs claimable (dependents, a
		 * parent's end, a retry): look again before going idle.
		 */
		if (nends > 0) {
			idle = 0;
			want = 1;
		}
		(void)record_ends(NULL, NULL, NULL);
		/* The fsync of what was written overlaps the new jobs. */
		if (dirty && !synced && (rc = aq_sync_start(aq)) != AQ_OK)
			logmsg(0, "cannot sync: %s", aq_error());
		dirty = 0;
		if (nbusy == 0 && nahead == 0 && (stopping || (drain && idle &&
		    next_purge > aq_now()) || (count > 0 && started >= count)))
			break;

		/* Wait for something to do. */
		now = aq_now();
		{
			aq_time until = earliest(next_poll, next_ping);
			int64_t ms;

			if (!stopping)
				until = earliest(earliest(until, next_due),
				    next_purge);
			if (want && hold_until > now)
				until = earliest(until, hold_until);
			/* Running jobs: a look for cancels once a second. */
			if (nbusy > 0)
				until = earliest(until, next_cancels);
			for (i = 0; i < nslots; i++) {
				if (slots[i].job != NULL)
					until = earliest(until, earliest(
					    slots[i].timeout_at,
					    slots[i].kill_at));
				if (ahead[i].job != NULL && !ahead[i].dropping)
					until = earliest(until,
					    slots[i].began + AHEAD_HOLD);
				if (slots[i].job != NULL &&
				    slots[i].pipe != -1 &&
				    now - slots[i].began < PIPE_LATE)
					until = earliest(until,
					    slots[i].began + PIPE_LATE);
			}
			ms = until > now ? (until - now + 999) / 1000 : 0;
			if (ms > 60000)
				ms = 60000;
			nfd = 0;
			pfd[nfd].fd = sfd;
			pfd[nfd++].events = POLLIN;
			/* A put is news only to a worker with a free slot. */
			pfd[nfd].fd = stopping || nbusy == nslots ? -1 : wfd;
			pfd[nfd++].events = POLLIN;
			pfd[nfd].fd = lsock;
			pfd[nfd++].events = POLLIN;
			for (i = 0; i < nslots; i++) {
				pfd[nfd].fd = slots[i].job != NULL &&
				    now - slots[i].began >= PIPE_LATE ?
				    slots[i].pipe : -1;
				pfd[nfd++].events = POLLIN;
			}
			if (poll(pfd, (nfds_t)nfd, (int)ms) == -1 &&
			    errno != EINTR)
				err(70, "poll");
		}
		for (i = 0; i < nslots; i++)
			if (pfd[3 + i].fd != -1 && pfd[3 + i].revents != 0 &&
			    slots[i].job != NULL)
				copy_output(&slots[i], 0);
		if (pfd[1].fd != -1 && pfd[1].revents != 0) {
			char buf[4096];

			while (read(wfd, buf, sizeof(buf)) > 0)
				;
			want = 1;
		}
		while (pfd[0].revents != 0 &&
		    read(sfd, &si, sizeof(si)) == sizeof(si)) {
			switch (si.ssi_signo) {
			case SIGCHLD:
				break;
			case SIGHUP:
				logopen();
				break;
			default:
				if (!stopping) {
					stopping = 1;
					logmsg(0, "stopping: %d job%s running",
					    nbusy, nbusy == 1 ? "" : "s");
					for (i = 0; i < nslots; i++)
						if (ahead[i].job != NULL &&
						    !ahead[i].dropping)
							drop_ahead(i);
				} else if (!killing) {
					killing = 1;
					logmsg(0, "stopping now: killing %d "
					    "job%s", nbusy,
					    nbusy == 1 ? "" : "s");
					signal_jobs(SIGTERM, aq_now() + grace,
					    1);
				}
				title(1);
			}
		}
		n = (size_t)nbusy;
		nah = nahead;
		if (pfd[2].fd != -1 && pfd[2].revents != 0)
			launcher_read();
		if ((size_t)nbusy < n) {
			want = 1;
			title(stopping);
		}
		/* A job claimed ahead started: claim the next. */
		if (nahead < nah)
			want = 1;

		/* Timers. */
		now = aq_now();
		if (nbusy > 0 && now >= next_cancels) {
			next_cancels = now + AQ_SEC;
			cancels(now);
		}
		for (i = 0; i < nslots; i++) {
			struct slot *s = &slots[i];

			/* Held ahead too long: an idle worker may want it. */
			if (ahead[i].job != NULL && !ahead[i].dropping &&
			    now - s->began >= AHEAD_HOLD)
				drop_ahead(i);
			if (s->job == NULL || s->pid == -1)
				continue;
			if (s->timeout_at != 0 && now >= s->timeout_at) {
				logmsg(0, "job %llu: timed out",
				    (unsigned long long)s->job->id);
				kill_slot(i, SIGTERM);
				s->timedout = 1;
				s->timeout_at = 0;
				s->kill_at = now + grace;
			}
			if (s->kill_at != 0 && now >= s->kill_at) {
				kill_slot(i, SIGKILL);
				s->kill_at = 0;
			}
		}
		if (now >= next_poll) {
			want = 1;
			next_poll = now + poll_i;
		}
		if (next_due != 0 && now >= next_due) {
			want = 1;
			next_due = 0;
		}
		if (now >= next_purge && !stopping)
			next_purge = purge(now, keep, &purged);
		if (now >= next_ping) {
			next_ping = now + ping_i;
			dirty = 1;
			rc = aq_worker_ping(aq, &me, last_poll);
			if (rc == AQ_NO)
				logmsg(0, "this worker was judged dead by "
				    "others; registered again");
			else if (rc != AQ_OK)
				logmsg(0, "cannot ping: %s", aq_error());
			reap();
			if ((rc = aq_checkpoint(aq)) != AQ_OK)
				logmsg(0, "cannot checkpoint: %s", aq_error());
		}
	}

	aq_defer_sync(aq, 0);
	me.poll = last_poll;
	if ((rc = aq_sync(aq)) != AQ_OK ||
	    (rc = aq_worker_stop(aq, &me)) != AQ_OK)
		logmsg(0, "cannot deregister: %s", aq_error());
	logmsg(0, "worker %s stopped after %lld job%s", uuidstr, started,
	    started == 1 ? "" : "s");
	aq_close(aq);
	/* Nothing runs: the launcher leaves when its socket closes. */
	close(lsock);
	while (waitpid(lpid, NULL, 0) == -1 && errno == EINTR)
		;
	if (pfh != NULL)
		pidfile_remove(pfh);
	return 0;
}
