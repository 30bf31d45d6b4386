/*
 * aq-run: the worker.  It claims jobs and runs each as a child process,
 * up to its slots at once, and records how each ended.
 *
 * One loop, one poll(2): a signalfd for SIGTERM, SIGINT, SIGHUP and
 * SIGCHLD, the inotify watch on the home's wake file, and a pipe per job
 * whose output is copied into the job's file under a cap.  No
 * transaction is ever open while the loop waits.  Invariants:
 *  - a slot is busy from its claim until the job's end is recorded, so
 *    the worker never runs more than its slots;
 *  - a job's result is written only with the claim it ran under (this
 *    worker's UUID and the job's attempt): a worker wrongly judged dead
 *    cannot overwrite the job's next run;
 *  - claims and ends commit to the operating system at once, and their
 *    fsync runs after the next job has been started, so that it overlaps
 *    the job instead of delaying it (at-most-once jobs are synced first).
 * Jobs are other people's code: whatever they do to themselves, their
 * output or their signals, the worker goes on.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
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
#define OUTBUF		65536

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: aq-run [-hvV] [--drain | -n count] [-d dir] [-i interval] "
	    "[-j slots]\n"
	    "              [-q queue]... [-u file] [--death duration] "
	    "[--grace duration]\n"
	    "              [--log file | --syslog] [--output-cap size] "
	    "[--pidfile file]\n"
	    "              [--ping duration]\n");
	exit(code);
}

enum {
	O_DEATH = 256, O_DRAIN, O_GRACE, O_LOG, O_OUTPUT_CAP, O_PIDFILE,
	O_PING, O_SYSLOG
};

static const struct option longopts[] = {
	{ "death", required_argument, NULL, O_DEATH },
	{ "dir", required_argument, NULL, 'd' },
	{ "drain", no_argument, NULL, O_DRAIN },
	{ "grace", required_argument, NULL, O_GRACE },
	{ "help", no_argument, NULL, 'h' },
	{ "interval", required_argument, NULL, 'i' },
	{ "jobs", required_argument, NULL, 'j' },
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

/* A job running in a slot. */
struct slot {
	struct aq_job	*job;		/* NULL: the slot is free */
	pid_t		 pid;
	int		 pipe;		/* read end; -1 once at EOF */
	int		 out;		/* the output file; -1: not yet made */
	int		 outerr;	/* it could not be made */
	int64_t		 kept, total;	/* bytes written, bytes produced */
	aq_time		 timeout_at;	/* SIGTERM then; 0: no limit */
	aq_time		 kill_at;	/* SIGKILL then; 0: not yet due */
	int		 timedout;
	int		 stopped;	/* killed by the second shutdown signal */
};

static struct aq	*aq;
static struct aq_worker	 me;
static struct aq_claim_opts copts;
static struct slot	*slots;
static int		 nslots = 1, nbusy;
static int		 verbose, use_syslog;
static const char	*logpath;
static FILE		*logfp;
static int64_t		 output_cap = 64 << 20, grace = 10 * AQ_SEC;
static char		 uuidstr[37];
static int		 dirty;	/* written since the last aq_sync() */

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
	const char *q = copts.queues ? copts.queues[0] : AQ_DEFAULT_QUEUE;
	const char *more = copts.nqueues > 1 ? ",..." : "";

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
	    "AQ_JOB_ID", "AQ_ATTEMPT", "AQ_WORKER" };
	char *const *src = j->envp != NULL ? j->envp : environ;
	char **env, *p = buf;
	size_t n, k, i;
	int skip;

	for (n = 0; src[n] != NULL; n++)
		;
	if ((env = reallocarray(NULL, n + 6, sizeof(*env))) == NULL)
		return NULL;
	for (i = k = 0; i < n; i++) {
		size_t m;

		for (skip = 0, m = 0; m < 5 && !skip; m++)
			skip = strncmp(src[i], ours[m], strlen(ours[m])) == 0 &&
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
#undef ADD
	env[k] = NULL;
	return env;
}

/*
 * Find the program as execvp(3) would, with the job's PATH, relative
 * names taken from the job's directory.  Returns 0 with the path in buf,
 * or an errno: ENOENT, or EACCES if only unusable files were found.
 */
static int
find_program(const struct aq_job *j, char *buf, size_t bufsize)
{
	const char *name = j->argv[0], *path, *p, *cwd = j->cwd ? j->cwd : ".";
	struct stat st;
	int seen = ENOENT;

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
	for (p = path;; p++) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		int l;

		if (n == 0)
			l = snprintf(buf, bufsize, "%s/%s", cwd, name);
		else if (p[0] == '/')
			l = snprintf(buf, bufsize, "%.*s/%s", (int)n, p, name);
		else
			l = snprintf(buf, bufsize, "%s/%.*s/%s", cwd, (int)n,
			    p, name);
		if (l > 0 && (size_t)l < bufsize && stat(buf, &st) == 0) {
			if (S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
				return 0;
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

/*
 * Set sig to its default action, in the child before its exec.  glibc's
 * sigaction(2) refuses the two real-time signals it keeps for itself, so
 * an ignored one, inherited from whoever started the worker, would stay
 * ignored in the job: the system call itself does not refuse them.
 */
struct ksigaction {
	void		*handler;
	unsigned long	 flags;
	void		*restorer;
	unsigned long	 mask;
};

/* The signals whose action is not the default here: the child resets them. */
static int	nondefault[NSIG], nnondefault;

static void
find_nondefault(void)
{
	struct ksigaction ksa;
	int sig;

	nnondefault = 0;
	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		memset(&ksa, 0, sizeof(ksa));
		if (syscall(SYS_rt_sigaction, sig, NULL, &ksa,
		    sizeof(ksa.mask)) == 0 && ksa.handler != (void *)SIG_DFL)
			nondefault[nnondefault++] = sig;
	}
}

static void
default_signal(int sig)
{
	struct ksigaction ksa;

	memset(&ksa, 0, sizeof(ksa));
	ksa.handler = (void *)SIG_DFL;
	(void)syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask));
}

/*
 * Start the job's process: fork, not posix_spawn(3), because a child that
 * shares the worker's memory until its exec would be charged the worker's
 * resident size in its rusage.  The child reports a failed exec through a
 * close-on-exec pipe.  Returns 0, or the errno of what failed.
 */
static int
spawn(struct slot *s, const char *path, char *const *argv, char *const *env,
    int wfd)
{
	char **shargv;
	sigset_t none;
	ssize_t n;
	size_t k;
	int ep[2], e, sig, fd;

	for (k = 0; argv[k] != NULL; k++)
		;
	/* Made before the fork: the child only execs or exits. */
	if ((shargv = reallocarray(NULL, k + 2, sizeof(*shargv))) == NULL)
		return ENOMEM;
	shargv[0] = (char *)"sh";
	shargv[1] = (char *)path;
	memcpy(shargv + 2, argv + 1, k * sizeof(*shargv));
	if (pipe2(ep, O_CLOEXEC) == -1) {
		e = errno;
		free(shargv);
		return e;
	}
	switch (s->pid = fork()) {
	case -1:
		e = errno;
		close(ep[0]);
		close(ep[1]);
		free(shargv);
		return e;
	case 0:
		sigemptyset(&none);
		for (sig = 0; sig < nnondefault; sig++)
			default_signal(nondefault[sig]);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		(void)setsid();
		e = 0;
		if ((fd = open("/dev/null", O_RDONLY)) == -1 ||
		    (fd != 0 && (dup2(fd, 0) == -1 || close(fd) == -1)) ||
		    dup2(wfd, 1) == -1 || dup2(wfd, 2) == -1 ||
		    (s->job->cwd != NULL && chdir(s->job->cwd) == -1))
			e = errno;
		if (e == 0) {
			/* Everything else goes, but the report pipe at exec. */
			if (ep[1] > 3)
				(void)close_range(3, (unsigned)ep[1] - 1, 0);
			(void)close_range((unsigned)ep[1] + 1, ~0U, 0);
			execve(path, argv, env);
			/* No #! line: sh runs it, as execvp(3) does. */
			if ((e = errno) == ENOEXEC) {
				execve("/bin/sh", shargv, env);
				e = errno;
			}
		}
		(void)write(ep[1], &e, sizeof(e));
		_exit(127);
	}
	close(ep[1]);
	free(shargv);
	while ((n = read(ep[0], &e, sizeof(e))) == -1 && errno == EINTR)
		;
	close(ep[0]);
	if (n != sizeof(e))
		return 0;	/* the exec closed the pipe: it ran */
	while (waitpid(s->pid, NULL, 0) == -1 && errno == EINTR)
		;
	s->pid = -1;
	return e;
}

static void finish(struct slot *, int status, const struct rusage *);

/* Run claimed job j in slot s. */
static void
start(struct slot *s, struct aq_job *j)
{
	char path[PATH_MAX + 1], envbuf[PATH_MAX + 512], *cmd;
	char **env = NULL;
	struct stat st;
	int p[2] = { -1, -1 }, e, status;

	memset(s, 0, sizeof(*s));
	s->job = j;
	s->pipe = -1;
	s->pid = -1;
	nbusy++;
	if (verbose) {
		cmd = aq_job_cmdline(j);
		logmsg(1, "job %llu started (attempt %d): %s",
		    (unsigned long long)j->id, j->attempt,
		    cmd ? cmd : j->argv[0]);
		free(cmd);
	}
	s->out = -1;
	status = -1;
	if (j->cwd != NULL && (stat(j->cwd, &st) == -1 ||
	    !S_ISDIR(st.st_mode) || access(j->cwd, X_OK) == -1)) {
		say(s, "aq-run: cannot change to directory '%s': %s",
		    j->cwd, strerror(errno ? errno : ENOTDIR));
		status = 1;
	} else if ((e = find_program(j, path, sizeof(path))) != 0) {
		say(s, "aq-run: %s: %s", j->argv[0],
		    e == ENOENT ? "command not found" : strerror(e));
		status = e == ENOENT ? 127 : 126;
	} else if ((env = job_env(j, envbuf, sizeof(envbuf))) == NULL) {
		say(s, "aq-run: cannot build the environment: %s",
		    strerror(ENOMEM));
		status = 126;
	} else if (pipe2(p, O_CLOEXEC) == -1) {
		logmsg(0, "job %llu: cannot make a pipe: %s",
		    (unsigned long long)j->id, strerror(errno));
		status = 126;
	} else {
		e = spawn(s, path, j->argv, env, p[1]);
		if (e != 0) {
			say(s, "aq-run: %s: %s", j->argv[0], strerror(e));
			status = e == ENOENT ? 127 : 126;
		}
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
	if (j->timeout > 0)
		s->timeout_at = aq_now() + j->timeout;
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
 * next job first and writes this while it runs.
 */
struct ended {
	struct aq_job	*job;
	struct aq_result r;
	int		 stopped, timedout;
	aq_time		 ran;		/* run time, for the log */
};
static struct ended	*ends;
static int		 nends;

static void
finish(struct slot *s, int status, const struct rusage *ru)
{
	struct ended *e = &ends[nends++];
	struct aq_result *r = &e->r;

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

	memset(e, 0, sizeof(*e));
	e->job = s->job;
	e->stopped = s->stopped;
	e->timedout = s->timedout;
	r->ended = aq_now();
	e->ran = r->ended - s->job->started;
	r->attempt = s->job->attempt;
	r->exit_code = -1;
	if (WIFEXITED(status))
		r->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		r->signal = WTERMSIG(status);
	if (s->timedout)
		r->outcome = AQ_OUT_TIMEOUT;
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
	nbusy--;
}

/* Write the results of the jobs that ended. */
static void
record_ends(void)
{
	struct ended *e;
	char d[32];
	int rc, tries, k;

	for (k = 0; k < nends; k++) {
		e = &ends[k];
		dirty = 1;
		for (tries = 0;; tries++) {
			if (e->stopped)
				rc = aq_interrupt(aq, e->job->id, me.uuid,
				    e->job->attempt);
			else
				rc = aq_done(aq, e->job->id, me.uuid, &e->r);
			if (rc == AQ_OK || rc == AQ_NO || rc == AQ_ENOENT ||
			    tries == 4)
				break;
			usleep(200000U << tries);
		}
		aq_format_duration(e->ran, d, sizeof(d));
		if (rc == AQ_NO || rc == AQ_ENOENT)
			logmsg(0, "job %llu: lost the claim, result not "
			    "written: %s", (unsigned long long)e->job->id,
			    aq_error());
		else if (rc != AQ_OK)
			logmsg(0, "job %llu: cannot record its end: %s",
			    (unsigned long long)e->job->id, aq_error());
		else if (e->stopped)
			logmsg(0, "job %llu stopped and interrupted after %s",
			    (unsigned long long)e->job->id, d);
		else if (e->r.signal != 0)
			logmsg(1, "job %llu ended %s (signal %d) in %s",
			    (unsigned long long)e->job->id, e->timedout ?
			    "timeout" : "failed", e->r.signal, d);
		else
			logmsg(1, "job %llu ended %s (exit %d) in %s",
			    (unsigned long long)e->job->id, e->timedout ?
			    "timeout" : e->r.exit_code == 0 ? "ok" : "failed",
			    e->r.exit_code, d);
		aq_job_free(e->job);
	}
	nends = 0;
}

static void
reap_children(void)
{
	struct rusage ru;
	pid_t pid;
	int st, i;

	while ((pid = wait4(-1, &st, WNOHANG, &ru)) > 0)
		for (i = 0; i < nslots; i++)
			if (slots[i].job != NULL && slots[i].pid == pid) {
				finish(&slots[i], st, &ru);
				break;
			}
}

static void
signal_jobs(int sig, aq_time kill_at, int stopping)
{
	int i;

	for (i = 0; i < nslots; i++) {
		struct slot *s = &slots[i];

		if (s->job == NULL || s->pid <= 0)
			continue;
		(void)kill(-s->pid, sig);
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

static aq_time
earliest(aq_time a, aq_time b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
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
	long long count = 0;
	int ch, rc, sfd, wfd, drain = 0, stopping = 0, killing = 0;
	int want = 1, idle = 0, i, nfd;
	size_t nq = 0, taken, n;
	aq_time now, next_poll, next_ping, next_due = 0, last_poll = 0;
	aq_time last_reap = 0;
	long long started = 0;
	pid_t otherpid;

	setproctitle_init(argc, argv, environ);
	while ((ch = getopt_long(argc, argv, "d:hi:j:n:q:u:vV", longopts,
	    NULL)) != -1) {
		switch (ch) {
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
			break;
		case 'n':
			count = strtonum(optarg, 1, LLONG_MAX, &errstr);
			if (errstr != NULL)
				errx(64, "bad job count '%s'", optarg);
			break;
		case 'q':
			if (!aq_valid_name(optarg))
				errx(65, "bad queue name '%s'", optarg);
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
	/* After aq_open(): libaq's own handlers are among them. */
	find_nondefault();
	copts.queues = queues;
	copts.nqueues = nq;
	copts.lease = AQ_LEASE_WORKER;
	copts.flags = AQ_CLAIM_NO_REAP;
	memcpy(copts.owner, me.uuid, AQ_UUID_LEN);
	if ((slots = calloc((size_t)nslots, sizeof(*slots))) == NULL ||
	    (ends = calloc((size_t)nslots, sizeof(*ends))) == NULL ||
	    (pfd = calloc((size_t)nslots + 2, sizeof(*pfd))) == NULL)
		err(75, "cannot allocate slots");
	wfd = aq_watch(aq);
	now = aq_now();
	next_poll = now + poll_i;
	next_ping = now + ping_i;
	title(0);

	for (;;) {
		int synced = 0;

		/* Claim while there is room and a reason to. */
		if (!stopping && want && nbusy < nslots &&
		    (count == 0 || started < count)) {
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
			for (i = 0; i < nslots && nbusy < nslots &&
			    (count == 0 || started < count); i++) {
				struct aq_job *j;

				if (slots[i].job != NULL)
					continue;
				rc = aq_claim(aq, &copts, &j, &next_due);
				if (rc == AQ_NO) {
					idle = 1;
					break;
				}
				if (rc != AQ_OK) {
					logmsg(0, "cannot claim: %s",
					    aq_error());
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
				start(&slots[i], j);
			}
			title(0);
		}
		record_ends();
		/* The fsync of what was written overlaps the new jobs. */
		if (dirty && !synced && (rc = aq_sync(aq)) != AQ_OK)
			logmsg(0, "cannot sync: %s", aq_error());
		dirty = 0;
		if (nbusy == 0 && (stopping || (drain && idle) ||
		    (count > 0 && started >= count)))
			break;

		/* Wait for something to do. */
		now = aq_now();
		{
			aq_time until = earliest(next_poll, next_ping);
			int64_t ms;

			if (!stopping)
				until = earliest(until, next_due);
			for (i = 0; i < nslots; i++)
				if (slots[i].job != NULL)
					until = earliest(until, earliest(
					    slots[i].timeout_at,
					    slots[i].kill_at));
			ms = until > now ? (until - now + 999) / 1000 : 0;
			if (ms > 60000)
				ms = 60000;
			nfd = 0;
			pfd[nfd].fd = sfd;
			pfd[nfd++].events = POLLIN;
			pfd[nfd].fd = stopping ? -1 : wfd;
			pfd[nfd++].events = POLLIN;
			for (i = 0; i < nslots; i++) {
				pfd[nfd].fd = slots[i].job ? slots[i].pipe : -1;
				pfd[nfd++].events = POLLIN;
			}
			if (poll(pfd, (nfds_t)nfd, (int)ms) == -1 &&
			    errno != EINTR)
				err(70, "poll");
		}
		for (i = 0; i < nslots; i++)
			if (pfd[2 + i].fd != -1 && pfd[2 + i].revents != 0 &&
			    slots[i].job != NULL)
				copy_output(&slots[i], 0);
		if (pfd[1].fd != -1 && pfd[1].revents != 0)
			want = 1;
		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
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
		reap_children();
		if ((size_t)nbusy < n) {
			want = 1;
			title(stopping);
		}

		/* Timers. */
		now = aq_now();
		for (i = 0; i < nslots; i++) {
			struct slot *s = &slots[i];

			if (s->job == NULL || s->pid <= 0)
				continue;
			if (s->timeout_at != 0 && now >= s->timeout_at) {
				logmsg(0, "job %llu: timed out",
				    (unsigned long long)s->job->id);
				(void)kill(-s->pid, SIGTERM);
				s->timedout = 1;
				s->timeout_at = 0;
				s->kill_at = now + grace;
			}
			if (s->kill_at != 0 && now >= s->kill_at) {
				(void)kill(-s->pid, SIGKILL);
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
	if (pfh != NULL)
		pidfile_remove(pfh);
	return 0;
}
