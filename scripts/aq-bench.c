/*
 * aq-bench: the in-process half of scripts/bench.
 *
 *   aq-bench phases DIR N   in N fresh child processes, time aq_open(),
 *                           aq_put() of one job and aq_close(); print the
 *                           median of each, in microseconds
 *   aq-bench claim DIR K    claim and finish K jobs in this process, as a
 *                           worker does (commits to the OS, flushed in the
 *                           background); print the median and 99th
 *                           percentile of one claim
 *   aq-bench noop           do nothing (the floor of any command)
 *   aq-bench put DIR N CMD ...  put N jobs of the command CMD ... (words,
 *                           no shell, as aq-put CMD does) in one
 *                           transaction
 *   aq-bench spawn N P      fork and execv /bin/true N times, P children at
 *                           a time (the floor of a worker draining N jobs)
 *   aq-bench stamp FILE     write the CLOCK_REALTIME nanoseconds to FILE.tmp
 *                           and rename it to FILE
 *   aq-bench latency DIR N  N trials of aq-put -d DIR of "aq-bench stamp",
 *                           run by an idle worker, interleaved with N direct
 *                           runs of it; print the median and 99th
 *                           percentile of each, in microseconds
 *   aq-bench rss CMD ...    run CMD; print the max RSS of it and its
 *                           descendants, and the largest private resident
 *                           size of CMD itself, in KiB
 *   aq-bench fanout DIR FREE N  in DIR, N jobs --after one job, which is
 *                           claimed and ended ok: time that end, which
 *                           makes the N claimable; in FREE, time the put
 *                           of N independent jobs; print both, in us
 *   aq-bench chain DIR N    put N true jobs, each --after the one before
 *
 * Not installed; it links the library the programs use.
 */
#include "config.h"

#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aq.h"

extern char **environ;

static int64_t
us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int64_t
pct(int64_t *v, int n, int p)
{
	qsort(v, n, sizeof(*v), cmp);
	return v[(n - 1) * p / 100];
}

static void
phases(const char *dir, int n)
{
	int64_t *t[3], r[3];
	static char tru[] = "true";
	char *argv[] = { tru, NULL };
	int i, k, fd[2];

	for (k = 0; k < 3; k++)
		if ((t[k] = calloc(n, sizeof(int64_t))) == NULL)
			err(1, "calloc");
	for (i = 0; i < n; i++) {
		if (pipe(fd) == -1)
			err(1, "pipe");
		switch (fork()) {
		case -1:
			err(1, "fork");
		case 0: {
			struct aq_job j;
			struct aq *aq;
			int64_t a, b, c, d;

			memset(&j, 0, sizeof(j));
			j.argv = argv;
			a = us();
			if (aq_open(&aq, dir, AQ_OPEN_CREATE) != AQ_OK)
				errx(1, "%s", aq_error());
			b = us();
			if (aq_put(aq, &j, 1) != AQ_OK)
				errx(1, "%s", aq_error());
			c = us();
			aq_close(aq);
			d = us();
			r[0] = b - a;
			r[1] = c - b;
			r[2] = d - c;
			if (write(fd[1], r, sizeof(r)) != sizeof(r))
				_exit(1);
			_exit(0);
		}
		default:
			close(fd[1]);
			if (read(fd[0], r, sizeof(r)) != sizeof(r))
				errx(1, "child failed");
			close(fd[0]);
			wait(NULL);
			for (k = 0; k < 3; k++)
				t[k][i] = r[k];
		}
	}
	printf("open %lld close %lld put %lld\n", (long long)pct(t[0], n, 50),
	    (long long)pct(t[2], n, 50), (long long)pct(t[1], n, 50));
}

static void
claim(const char *dir, int k)
{
	struct aq_claim_opts o;
	struct aq_result res;
	struct aq_job *job;
	struct aq *aq;
	int64_t *t, a;
	int i;

	if ((t = calloc(k, sizeof(*t))) == NULL)
		err(1, "calloc");
	if (aq_open(&aq, dir, 0) != AQ_OK)
		errx(1, "%s", aq_error());
	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	o.owner[0] = 1;
	/* As a worker claims: the commit to the OS, the fsync aside. */
	aq_defer_sync(aq, 1);
	for (i = 0; i < k; i++) {
		a = us();
		if (aq_claim(aq, &o, &job, NULL) != AQ_OK)
			errx(1, "claim %d: %s", i, aq_error());
		t[i] = us() - a;
		if (aq_done(aq, job->id, o.owner, &res) != AQ_OK)
			errx(1, "%s", aq_error());
		aq_job_free(job);
	}
	aq_close(aq);
	printf("median %lld p99 %lld\n", (long long)pct(t, k, 50),
	    (long long)pct(t, k, 99));
}

/* Nanoseconds of CLOCK_REALTIME: comparable between processes. */
static int64_t
realns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * The modes that run commands block SIGCHLD and wait for it with
 * sigtimedwait(), so that every wait has a timeout and none misses an
 * exit.  Their children get an empty signal mask.
 */
static void
block_sigchld(posix_spawnattr_t *attr)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		err(1, "sigprocmask");
	sigemptyset(&set);
	if (posix_spawnattr_init(attr) != 0 ||
	    posix_spawnattr_setsigmask(attr, &set) != 0 ||
	    posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK) != 0)
		errx(1, "posix_spawnattr");
}

/* posix_spawnp() a command (searched in PATH unless it has a slash). */
static pid_t
start(const char *path, const posix_spawn_file_actions_t *fa,
    const posix_spawnattr_t *attr, char *argv[])
{
	pid_t pid;
	int e;

	if ((e = posix_spawnp(&pid, path, fa, attr, argv, environ)) != 0) {
		errno = e;
		err(1, "%s", path);
	}
	return pid;
}

/* Wait up to secs seconds for child pid to exit; return its status. */
static int
reap(pid_t pid, int secs, struct rusage *ru)
{
	struct timespec ts;
	sigset_t set;
	int64_t end, left;
	pid_t r;
	int status;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	end = us() + (int64_t)secs * 1000000;
	for (;;) {
		if ((r = wait4(pid, &status, WNOHANG, ru)) == -1)
			err(1, "wait4");
		if (r == pid)
			return status;
		if ((left = end - us()) <= 0) {
			kill(pid, SIGKILL);
			(void)waitpid(pid, NULL, 0);
			errx(1, "process %ld did not exit within %d s",
			    (long)pid, secs);
		}
		ts.tv_sec = left / 1000000;
		ts.tv_nsec = left % 1000000 * 1000;
		if (sigtimedwait(&set, NULL, &ts) == -1 && errno != EAGAIN &&
		    errno != EINTR)
			err(1, "sigtimedwait");
	}
}

static void
check_status(const char *what, int status)
{
	if (WIFSIGNALED(status))
		errx(1, "%s: killed by signal %d", what, WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		errx(1, "%s: exit %d", what, WEXITSTATUS(status));
}

/*
 * The floor of draining n jobs with p slots: fork and execv /bin/true n
 * times, keeping p children running.
 */
static void
spawn(int n, int p)
{
	static char tru[] = "true";
	char *argv[] = { tru, NULL };
	int started = 0, running = 0, status;

	if (n < 0 || p < 1)
		errx(64, "spawn: bad count or slots");
	while (started < n || running > 0) {
		if (started < n && running < p) {
			switch (fork()) {
			case -1:
				err(1, "fork");
			case 0:
				execv("/bin/true", argv);
				_exit(127);
			}
			started++;
			running++;
			continue;
		}
		if (waitpid(-1, &status, 0) == -1)
			err(1, "waitpid");
		check_status("/bin/true", status);
		running--;
	}
}

/* Write the time to file.tmp, then rename it to file: it appears whole. */
static void
stamp(const char *file)
{
	char tmp[PATH_MAX], buf[32];
	int64_t t;
	int fd, len;

	t = realns();
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", file) >= (int)sizeof(tmp))
		errx(1, "%s: name too long", file);
	len = snprintf(buf, sizeof(buf), "%lld\n", (long long)t);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		err(1, "%s", tmp);
	if (write(fd, buf, len) != len || close(fd) == -1)
		err(1, "%s", tmp);
	if (rename(tmp, file) == -1)
		err(1, "rename %s", tmp);
}

/* Read and remove a stamp. */
static int64_t
read_stamp(const char *file)
{
	char buf[32], *end;
	long long v;
	ssize_t n;
	int fd;

	if ((fd = open(file, O_RDONLY)) == -1)
		err(1, "%s", file);
	if ((n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		errx(1, "%s: empty", file);
	close(fd);
	buf[n] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || end == buf || *end != '\n')
		errx(1, "%s: not a stamp", file);
	if (unlink(file) == -1)
		err(1, "%s", file);
	return v;
}

#define TRIAL_SECS	10	/* for a stamp to appear, a child to exit */
#define WAKE_MS		2000	/* for the worker to record a job's end */
#define QUIET_MS	20	/* of quiet before each trial */
#define WARMUP		3	/* trials of each kind not counted */

struct lat {
	int	 ifd;		/* inotify */
	int	 wdir;		/* watch of the stamp directory */
	int	 wwake;		/* watch of the queue's wake file, or -1 */
	int	 nowake;	/* trials whose end was not seen */
};

/*
 * Wait for the stamp name to be renamed into the stamp directory; then,
 * if end, for the worker to record the job's end: whoever ends a job
 * touches the file "wake" of the home after the commit.  Events come in
 * order, so a touch seen after the stamp is that of the end (the put's
 * came before aq-put exited).  Not seeing it is not an error.
 */
static void
wait_stamp(struct lat *l, const char *name, const char *path, int end)
{
	char buf[8192]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	struct pollfd pfd;
	int64_t deadline, left;
	ssize_t n;
	char *p;
	int phase = 0;		/* 0: stamp, 1: end, 2: done */

	deadline = us() / 1000 + TRIAL_SECS * 1000;
	if (!end || l->wwake == -1)
		end = 0;
	pfd.fd = l->ifd;
	pfd.events = POLLIN;
	while (phase < (end ? 2 : 1)) {
		if ((left = deadline - us() / 1000) <= 0) {
			if (phase == 0)
				errx(1, "%s: no stamp within %d s", path,
				    TRIAL_SECS);
			l->nowake++;
			return;
		}
		if (poll(&pfd, 1, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if ((n = read(l->ifd, buf, sizeof(buf))) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			err(1, "inotify read");
		}
		for (p = buf; p < buf + n && phase < 2;
		    p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(void *)p;
			if (ev->mask & IN_Q_OVERFLOW) {
				/* Events lost: look for ourselves. */
				if (phase == 0 && access(path, F_OK) == 0)
					phase = 1;
			} else if (phase == 0 && ev->wd == l->wdir &&
			    ev->len > 0 && strcmp(ev->name, name) == 0)
				phase = 1;
			else if (phase == 1 && ev->wd == l->wwake)
				phase = 2;
			if (phase == 1 && deadline >
			    us() / 1000 + WAKE_MS)
				deadline = us() / 1000 + WAKE_MS;
		}
	}
}

static void
quiet(void)
{
	struct timespec ts = { 0, QUIET_MS * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * From aq-put returning to the job starting, with an idle worker on dir
 * already running, against starting the same command directly.
 */
static void
latency(const char *dir, int n)
{
	static char put[] = "aq-put", dopt[] = "-d", dashes[] = "--",
	    stampw[] = "stamp";
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	struct lat l;
	char self[PATH_MAX], sdir[PATH_MAX], wake[PATH_MAX];
	char file[PATH_MAX + 32], name[32];
	int64_t *ta, *td, t, v;
	ssize_t len;
	pid_t pid;
	int i, k, q;

	if (n < 1)
		errx(64, "latency: bad count");
	if ((ta = calloc(n, sizeof(*ta))) == NULL ||
	    (td = calloc(n, sizeof(*td))) == NULL)
		err(1, "calloc");
	if ((len = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1)
		err(1, "/proc/self/exe");
	self[len] = '\0';
	if (snprintf(sdir, sizeof(sdir), "%s-stamps", dir) >=
	    (int)sizeof(sdir) ||
	    snprintf(wake, sizeof(wake), "%s/wake", dir) >= (int)sizeof(wake))
		errx(1, "%s: name too long", dir);
	if (mkdir(sdir, 0700) == -1 && errno != EEXIST)
		err(1, "%s", sdir);
	if ((l.ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1)
		err(1, "inotify_init1");
	if ((l.wdir = inotify_add_watch(l.ifd, sdir, IN_MOVED_TO)) == -1)
		err(1, "inotify_add_watch %s", sdir);
	l.wwake = inotify_add_watch(l.ifd, wake, IN_ATTRIB);
	l.nowake = 0;

	block_sigchld(&attr);
	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null",
	    O_WRONLY, 0) != 0)
		errx(1, "posix_spawn_file_actions");

	for (i = -WARMUP; i < n; i++) {
		for (k = 0; k < 2; k++) {
			/* Alternate which kind goes first. */
			q = (i + WARMUP + k) % 2;
			snprintf(name, sizeof(name), "%c%d", q ? 'q' : 'd',
			    i + WARMUP);
			snprintf(file, sizeof(file), "%s/%s", sdir, name);
			quiet();
			if (q) {
				char *argv[] = { put, dopt, (char *)dir,
				    dashes, self, stampw, file, NULL };

				pid = start(put, &fa, &attr, argv);
				check_status(put,
				    reap(pid, TRIAL_SECS, NULL));
				t = realns();
				wait_stamp(&l, name, file, 1);
			} else {
				char *argv[] = { self, stampw, file, NULL };

				t = realns();
				pid = start(self, NULL, &attr, argv);
				wait_stamp(&l, name, file, 0);
				check_status("stamp",
				    reap(pid, TRIAL_SECS, NULL));
			}
			v = read_stamp(file) - t;
			if (i >= 0)
				(q ? ta : td)[i] = v;
		}
	}
	(void)rmdir(sdir);
	if (l.wwake == -1)
		warnx("no %s to watch: waited %d ms after each job only",
		    wake, QUIET_MS);
	else if (l.nowake > 0)
		warnx("%d of %d job ends not seen within %d ms", l.nowake,
		    n + WARMUP, WAKE_MS);
	printf("aq %lld %lld direct %lld %lld\n",
	    (long long)pct(ta, n, 50) / 1000, (long long)pct(ta, n, 99) / 1000,
	    (long long)pct(td, n, 50) / 1000, (long long)pct(td, n, 99) / 1000);
}

#define RSS_SECS	600	/* for the command to exit */

/* A field of /proc/PID/status, in KiB; -1 when unknown. */
static long
status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/*
 * Run a command; print the max RSS of it and its descendants, and the
 * largest private (anonymous) resident size of the command itself seen
 * every 5 ms, in KiB.
 */
static void
rss(char *argv[])
{
	posix_spawnattr_t attr;
	struct rusage ru;
	int64_t end;
	long anon = 0, a;
	pid_t pid, r;
	int status;

	block_sigchld(&attr);
	pid = start(argv[0], NULL, &attr, argv);
	end = us() + (int64_t)RSS_SECS * 1000000;
	while ((r = wait4(pid, &status, WNOHANG, &ru)) == 0) {
		if ((a = status_kib(pid, "RssAnon")) > anon)
			anon = a;
		if (us() > end) {
			kill(pid, SIGKILL);
			errx(1, "%s did not exit within %d s", argv[0],
			    RSS_SECS);
		}
		usleep(5000);
	}
	if (r == -1)
		err(1, "wait4");
	check_status(argv[0], status);
	printf("%ld %ld\n", ru.ru_maxrss, anon);
}

/* n "true" jobs in jobs[], named, in cwd, with the caller's environment. */
static struct aq_job *
true_jobs(int n)
{
	static char tru[] = "true";
	static char *argv[] = { tru, NULL };
	static char cwd[PATH_MAX];
	struct aq_job *jobs;
	int i;

	if (n < 1)
		errx(64, "bad count");
	if ((jobs = calloc((size_t)n, sizeof(*jobs))) == NULL)
		err(1, "calloc");
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		err(1, "getcwd");
	for (i = 0; i < n; i++) {
		jobs[i].argv = argv;
		jobs[i].envp = environ;
		jobs[i].cwd = cwd;
		jobs[i].name = tru;
	}
	return jobs;
}

static struct aq *
open_home(const char *dir)
{
	struct aq *aq;
	int rc;

	if ((rc = aq_open(&aq, dir, AQ_OPEN_CREATE)) != AQ_OK)
		errx(rc, "%s", aq_error());
	return aq;
}

/*
 * Resolving dependents: the end of one job that n others wait for, which
 * resolves them all in its transaction, against the put of n jobs that
 * wait for nothing, in one transaction too.
 */
static void
fanout(const char *dir, const char *free_dir, int n)
{
	struct aq_claim_opts o;
	struct aq_result r;
	struct aq_dep dep;
	struct aq_job *jobs, *j;
	struct aq *aq;
	int64_t t, resolve, put;
	int i, rc;

	jobs = true_jobs(n);
	aq = open_home(dir);
	if ((rc = aq_put(aq, jobs, 1)) != AQ_OK)
		errx(rc, "%s", aq_error());
	dep.id = jobs[0].id;
	dep.any = 0;
	for (i = 0; i < n; i++) {
		jobs[i].id = 0;
		jobs[i].after = &dep;
		jobs[i].nafter = 1;
	}
	if ((rc = aq_put(aq, jobs, (size_t)n)) != AQ_OK)
		errx(rc, "%s", aq_error());
	memset(&o, 0, sizeof(o));
	o.owner[0] = 1;
	if ((rc = aq_claim(aq, &o, &j, NULL)) != AQ_OK)
		errx(rc, "claim: %s", aq_error());
	if (j->id != dep.id)
		errx(1, "claimed job %llu, not %llu", (unsigned long long)j->id,
		    (unsigned long long)dep.id);
	aq_job_free(j);
	memset(&r, 0, sizeof(r));
	r.exit_code = 0;
	t = us();
	if ((rc = aq_done(aq, dep.id, o.owner, &r)) != AQ_OK)
		errx(rc, "done: %s", aq_error());
	resolve = us() - t;
	aq_close(aq);

	for (i = 0; i < n; i++) {
		jobs[i].id = 0;
		jobs[i].after = NULL;
		jobs[i].nafter = 0;
	}
	aq = open_home(free_dir);
	/* The same first put as above: the store is not empty either. */
	if ((rc = aq_put(aq, jobs, 1)) != AQ_OK)
		errx(rc, "%s", aq_error());
	jobs[0].id = 0;
	t = us();
	if ((rc = aq_put(aq, jobs, (size_t)n)) != AQ_OK)
		errx(rc, "%s", aq_error());
	put = us() - t;
	aq_close(aq);
	free(jobs);
	printf("resolve %lld put %lld\n", (long long)resolve, (long long)put);
}

/* Put a chain of n true jobs, each --after the one before. */
static void
chain(const char *dir, int n)
{
	struct aq_job *jobs;
	struct aq_dep dep;
	struct aq *aq;
	int i, rc;

	jobs = true_jobs(n);
	aq = open_home(dir);
	/* Each put commits to the OS; one flush at the end. */
	aq_defer_sync(aq, 1);
	for (i = 0; i < n; i++) {
		if (i > 0) {
			dep.id = jobs[i - 1].id;
			dep.any = 0;
			jobs[i].after = &dep;
			jobs[i].nafter = 1;
		}
		if ((rc = aq_put(aq, &jobs[i], 1)) != AQ_OK)
			errx(rc, "%s", aq_error());
	}
	if ((rc = aq_sync(aq)) != AQ_OK)
		errx(rc, "%s", aq_error());
	aq_close(aq);
	free(jobs);
}

/* Put n jobs of the argv job cmd in one transaction. */
static void
putn(const char *dir, int n, char **cmd)
{
	struct aq_job *jobs;
	struct aq *aq;
	char cwd[PATH_MAX];
	const char *name;
	int i, rc;

	if (n < 1)
		errx(64, "put: bad count");
	if ((jobs = calloc((size_t)n, sizeof(*jobs))) == NULL)
		err(1, "calloc");
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		err(1, "getcwd");
	name = strrchr(cmd[0], '/') ? strrchr(cmd[0], '/') + 1 : cmd[0];
	for (i = 0; i < n; i++) {
		jobs[i].argv = cmd;
		jobs[i].envp = environ;
		jobs[i].cwd = cwd;
		jobs[i].name = (char *)name;
	}
	if ((rc = aq_open(&aq, dir, AQ_OPEN_CREATE)) != AQ_OK)
		errx(rc, "%s", aq_error());
	if ((rc = aq_put(aq, jobs, (size_t)n)) != AQ_OK)
		errx(rc, "%s", aq_error());
	aq_close(aq);
	free(jobs);
}

int
main(int argc, char *argv[])
{
	if (argc == 2 && strcmp(argv[1], "noop") == 0)
		return 0;
	if (argc == 4 && strcmp(argv[1], "phases") == 0)
		phases(argv[2], atoi(argv[3]));
	else if (argc == 4 && strcmp(argv[1], "claim") == 0)
		claim(argv[2], atoi(argv[3]));
	else if (argc == 4 && strcmp(argv[1], "spawn") == 0)
		spawn(atoi(argv[2]), atoi(argv[3]));
	else if (argc == 3 && strcmp(argv[1], "stamp") == 0)
		stamp(argv[2]);
	else if (argc == 4 && strcmp(argv[1], "latency") == 0)
		latency(argv[2], atoi(argv[3]));
	else if (argc >= 3 && strcmp(argv[1], "rss") == 0)
		rss(argv + 2);
	else if (argc >= 5 && strcmp(argv[1], "put") == 0)
		putn(argv[2], atoi(argv[3]), argv + 4);
	else if (argc == 5 && strcmp(argv[1], "fanout") == 0)
		fanout(argv[2], argv[3], atoi(argv[4]));
	else if (argc == 4 && strcmp(argv[1], "chain") == 0)
		chain(argv[2], atoi(argv[3]));
	else
		errx(64, "usage: aq-bench phases|claim|latency DIR N | "
		    "put DIR N CMD ... | spawn N P | stamp FILE | rss CMD ... | "
		    "fanout DIR FREE N | chain DIR N | noop");
	return 0;
}
