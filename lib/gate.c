/*
 * gate.c: joining, leaving and recovering the shared environment, when any
 * process may be killed at any instant.
 *
 * Berkeley DB 5.3 as Debian builds it cannot survive a process that dies
 * inside it: the dead process's mutexes are never released, and whoever
 * waits for them waits for ever (research/bdb.md, E4 and E5).  The only
 * cure is recovery, which needs every process out of the environment.  So
 * aq keeps its own small protocol beside Berkeley DB, in aq.lock, with
 * fcntl(2) locks, which the kernel drops when a process dies:
 *
 *  - Each process owns a slot of aq.lock (a write lock on its bytes, and
 *    its pid and state written in them) from aq_open() to aq_close().  A
 *    slot whose state says "inside" but whose lock is free belongs to a
 *    process that died with Berkeley DB handles open: recovery is due.
 *  - Byte INSIDE is read-locked by every process whose handles are live;
 *    byte DOOR is read-locked on the way in; byte RECOVER serialises
 *    recoverers.
 *  - A recoverer locks RECOVER, then DOOR (no newcomers), asks everyone
 *    inside to step out (SIGURG), waits for a write lock on INSIDE (killing,
 *    after a grace period, whoever cannot step out, such as a stopped
 *    process), runs DB_RECOVER alone, and lets everybody back in.
 *  - A process inside an operation steps out by siglongjmp(3) from the
 *    signal handler, abandoning its handles without touching them (the
 *    regions are about to be replaced), then rejoins and retries the
 *    operation; env.c makes the retry idempotent.  A process between
 *    operations just drops its INSIDE lock and rejoins on its next call.
 *  - While an operation runs, a 200 ms timer scans the slots, so a process
 *    stuck behind a dead one notices within a fraction of a second and
 *    becomes the recoverer itself.  The timer is left running between
 *    operations and stops itself after two idle ticks: a busy process
 *    does not pay two setitimer(2) calls per operation.
 *
 * Invariant: Berkeley DB handles exist in a process only while it holds
 * INSIDE, and INSIDE is write-locked only by a recoverer holding DOOR.
 * Everything the signal handlers do is async-signal-safe (pread, fcntl,
 * kill, siglongjmp), and mem.c keeps escapes out of malloc(3).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define B_DOOR		0
#define B_INSIDE	1
#define B_RECOVER	2
#define H_RECOVERIES	8	/* u64: recoveries run in this environment */
#define SLOT_BASE	4096
#define SLOT_SIZE	32
#define NSLOTS		512
#define SLOT_MAGIC	0x61717331u	/* "aqs1" */

#define TICK_MS		200
#define WAIT_TICKS	(120 * 1000 / TICK_MS)	/* give up after 2 min */
#define GRACE_MS	10000	/* then kill who cannot step out */
#define DEADMAN_TICKS	(45 * 1000 / TICK_MS)	/* rejoin or give up */

enum { S_EMPTY = 0, S_OUT = 1, S_IN = 2 };

struct slot {
	uint32_t	magic;
	uint32_t	pid;
	uint32_t	state;
	uint32_t	pad;
	uint64_t	start;
	uint64_t	spare;
};

volatile sig_atomic_t aq__in_op, aq__in_alloc, aq__pending;
static volatile sig_atomic_t g_reason, g_ticks, g_joined, g_stale;
static volatile sig_atomic_t g_maxticks = WAIT_TICKS;
static volatile sig_atomic_t g_state;	/* our slot's state */
static volatile sig_atomic_t g_rejoin, g_rticks;
static volatile sig_atomic_t g_armed, g_idle;	/* the timer runs; idle ticks */
static int g_fd = -1;
static int g_slot = -1;
static sigjmp_buf g_jmp;
static struct sigaction old_alrm, old_urg;

static int
lk(int cmd, short type, off_t start, off_t len)
{
	struct flock f;

	memset(&f, 0, sizeof(f));
	f.l_type = type;
	f.l_whence = SEEK_SET;
	f.l_start = start;
	f.l_len = len;
	return fcntl(g_fd, cmd, &f);
}

/* The pid holding a lock that conflicts with a write lock, 0 if none. */
static pid_t
holder(off_t start, off_t len)
{
	struct flock f;

	memset(&f, 0, sizeof(f));
	f.l_type = F_WRLCK;
	f.l_whence = SEEK_SET;
	f.l_start = start;
	f.l_len = len;
	if (fcntl(g_fd, F_GETLK, &f) == -1)
		return -1;
	return f.l_type == F_UNLCK ? 0 : f.l_pid;
}

static off_t
slot_off(int i)
{
	return SLOT_BASE + (off_t)i * SLOT_SIZE;
}

static void
set_state(uint32_t state)
{
	g_state = (sig_atomic_t)state;
	if (g_slot >= 0)
		(void)pwrite(g_fd, &state, sizeof(state),
		    slot_off(g_slot) + offsetof(struct slot, state));
}

static void
timer(int on)
{
	struct itimerval it;

	if (!on && g_rejoin)
		return;		/* the deadman keeps ticking */
	memset(&it, 0, sizeof(it));
	if (on) {
		it.it_value.tv_usec = TICK_MS * 1000;
		it.it_interval.tv_usec = TICK_MS * 1000;
	}
	g_ticks = 0;
	g_idle = 0;
	g_armed = on;
	setitimer(ITIMER_REAL, &it, NULL);
}

/*
 * Scan the slots.  Returns 2 if a process died inside the environment
 * (recovery is due), else 0.  With cleanup (never from a handler), slots
 * of processes that died outside are emptied.
 */
int
aq__gate_dead(int cleanup)
{
	struct slot s[NSLOTS];
	ssize_t n;
	int i, found = 0;

	if (g_fd == -1)
		return 0;
	if ((n = pread(g_fd, s, sizeof(s), SLOT_BASE)) <= 0)
		return 0;
	for (i = 0; i < n / SLOT_SIZE; i++) {
		if (i == g_slot || s[i].magic != SLOT_MAGIC ||
		    s[i].state == S_EMPTY)
			continue;
		if (holder(slot_off(i), SLOT_SIZE) != 0)
			continue;
		if (s[i].state == S_IN) {
			struct slot z;

			/*
			 * Read it again now that its lock is seen free: a
			 * process that left cleanly wrote its slot before it
			 * let go, so one still inside, the same, is dead.
			 */
			if (pread(g_fd, &z, sizeof(z), slot_off(i)) ==
			    sizeof(z) && z.magic == SLOT_MAGIC &&
			    z.state == S_IN && z.pid == s[i].pid &&
			    z.start == s[i].start)
				found = 2;
		} else if (cleanup && lk(F_SETLK, F_WRLCK, slot_off(i),
		    SLOT_SIZE) == 0) {
			struct slot z;

			if (pread(g_fd, &z, sizeof(z), slot_off(i)) ==
			    sizeof(z) && z.state == S_OUT) {
				memset(&z, 0, sizeof(z));
				(void)pwrite(g_fd, &z, sizeof(z), slot_off(i));
			}
			lk(F_SETLK, F_UNLCK, slot_off(i), SLOT_SIZE);
		}
	}
	return found;
}

/* Empty the slots of processes that died inside; only a recoverer may. */
static void
clear_dead(void)
{
	struct slot z;
	int i;

	for (i = 0; i < NSLOTS; i++) {
		if (i == g_slot || lk(F_SETLK, F_WRLCK, slot_off(i),
		    SLOT_SIZE) == -1)
			continue;
		if (pread(g_fd, &z, sizeof(z), slot_off(i)) == sizeof(z) &&
		    z.magic == SLOT_MAGIC) {
			memset(&z, 0, sizeof(z));
			(void)pwrite(g_fd, &z, sizeof(z), slot_off(i));
		}
		lk(F_SETLK, F_UNLCK, slot_off(i), SLOT_SIZE);
	}
}

static void
escape(int why)
{
	g_reason = why;
	if (aq__in_alloc)
		aq__pending = 1;
	else {
		aq__in_op = 0;
		siglongjmp(g_jmp, 1);
	}
}

void
aq__escape_now(void)
{
	aq__pending = 0;
	aq__in_op = 0;
	siglongjmp(g_jmp, 1);
}

static void
on_alarm(int sig)
{
	int e = errno;

	(void)sig;
	g_ticks++;
	if (g_rejoin && ++g_rticks > DEADMAN_TICKS) {
		static const char m[] = "aq: cannot get back into the "
		    "environment after stepping out: giving up\n";

		(void)write(STDERR_FILENO, m, sizeof(m) - 1);
		_exit(AQ_EAGAIN);
	}
	if (aq__in_op && !aq__pending) {
		if (aq__gate_dead(0) == 2)
			escape(AQ__ESC_RECOVER);
		else if (g_ticks > g_maxticks)
			escape(AQ__ESC_TIMEOUT);
	} else if (!aq__in_op && !g_rejoin && g_armed == 2 &&
	    ++g_idle >= 2) {
		/* Left running by aq__op_end(), and idle since. */
		struct itimerval it;

		memset(&it, 0, sizeof(it));
		g_armed = 0;
		setitimer(ITIMER_REAL, &it, NULL);
	}
	errno = e;
}

/* A recoverer asks us to step out. */
static void
on_urg(int sig)
{
	int e = errno;

	(void)sig;
	if (g_joined) {
		if (aq__in_op) {
			if (!aq__pending)
				escape(AQ__ESC_RECOVER);
		} else {
			/* Between operations: nothing half done, a clean exit. */
			g_stale = 1;
			g_joined = 0;
			set_state(S_OUT);
			lk(F_SETLK, F_UNLCK, B_INSIDE, 1);
		}
	}
	errno = e;
}

/*
 * Between an escape and a successful rejoin the process runs code that
 * no escape can guard (abandoning handles, libc inside a new open).  If it
 * hangs there, for instance in an allocator lock, the deadman ends it with
 * AQ_EAGAIN rather than leave a program hanging for ever.
 */
void
aq__rejoin(int on)
{
	sigset_t ours;

	if (on) {
		/*
		 * An escape leaves by siglongjmp() from a handler, which keeps
		 * its signal blocked: sigsetjmp() does not save the mask (a
		 * system call per operation), so unblock ours here.
		 */
		sigemptyset(&ours);
		sigaddset(&ours, SIGALRM);
		sigaddset(&ours, SIGURG);
		(void)sigprocmask(SIG_UNBLOCK, &ours, NULL);
		g_rticks = 0;
		g_rejoin = 1;
		timer(1);
	} else {
		g_rejoin = 0;
		timer(0);
	}
}

sigjmp_buf *
aq__op_jmp(void)
{
	return &g_jmp;
}

int
aq__escape_reason(void)
{
	return g_reason;
}

int
aq__gate_stale(void)
{
	return g_stale;
}

uint64_t
aq__gate_recoveries(void)
{
	uint64_t n = 0;

	if (g_fd == -1 || pread(g_fd, &n, sizeof(n), H_RECOVERIES) !=
	    sizeof(n))
		return 0;
	return n;
}

int
aq__gate_slot(void)
{
	return g_slot;
}

void
aq__op_begin(void)
{
	sig_atomic_t lazy = 2;

	aq__pending = 0;
	g_reason = 0;
	/*
	 * Take the running timer back from the handler in one instruction:
	 * a tick either came before (and stopped it: start it again) or
	 * comes after (and leaves it alone).
	 */
	if (__atomic_compare_exchange_n(&g_armed, &lazy, 1, 0,
	    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		g_ticks = 0;
	else
		timer(1);
	aq__in_op = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* The timer keeps running; the handler stops it once idle (g_armed 2). */
void
aq__op_end(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	aq__in_op = 0;
	aq__pending = 0;
	g_idle = 0;
	if (g_armed)
		g_armed = 2;
}

/* Stop the timer now (before its handler goes). */
static void
timer_stop(void)
{
	if (g_armed)
		timer(0);
}

/*
 * Take byte b (DOOR, INSIDE or RECOVER) in mode type, waiting at most
 * about two minutes.  The timer's ticks interrupt F_SETLKW.
 */
static int
wait_lock(short type, off_t b)
{
	int r;

	for (;;) {
		if ((r = lk(F_SETLKW, type, b, 1)) == 0)
			return 0;
		if (errno != EINTR && errno != EDEADLK)
			return -1;
		if (g_ticks > WAIT_TICKS) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

int
aq__gate_open(struct aq *aq)
{
	char path[PATH_MAX];
	struct sigaction sa;
	struct slot s;
	int i, k, start;

	if (g_fd != -1)
		return aq__err(AQ_EINTERNAL,
		    "an environment is already open in this process");
	if (snprintf(path, sizeof(path), "%s/%s", aq->home, AQ_LOCK_FILE) >=
	    (int)sizeof(path))
		return aq__err(AQ_EUNAVAIL, "path too long '%s'", aq->home);
	if ((g_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, aq->fmode)) ==
	    -1) {
		int e = errno;

		return aq__err(e == EACCES ? AQ_EPERM : AQ_EUNAVAIL,
		    "cannot open '%s': %s", path, strerror(e));
	}
	(void)fchmod(g_fd, aq->fmode);	/* a shared home: 0660, whatever the umask */
	start = (int)(getpid() % NSLOTS);
	for (k = 0; k < NSLOTS; k++) {
		i = (start + k) % NSLOTS;
		if (lk(F_SETLK, F_WRLCK, slot_off(i), SLOT_SIZE) == -1)
			continue;
		memset(&s, 0, sizeof(s));
		if (pread(g_fd, &s, sizeof(s), slot_off(i)) == sizeof(s) &&
		    s.magic == SLOT_MAGIC && s.state == S_IN) {
			/* A dead process's: leave it for the recoverer. */
			lk(F_SETLK, F_UNLCK, slot_off(i), SLOT_SIZE);
			continue;
		}
		memset(&s, 0, sizeof(s));
		s.magic = SLOT_MAGIC;
		s.pid = (uint32_t)getpid();
		s.state = S_OUT;
		s.start = (uint64_t)aq_now();
		if (pwrite(g_fd, &s, sizeof(s), slot_off(i)) != sizeof(s)) {
			lk(F_SETLK, F_UNLCK, slot_off(i), SLOT_SIZE);
			break;
		}
		g_slot = i;
		break;
	}
	if (g_slot == -1) {
		close(g_fd);
		g_fd = -1;
		return aq__err(AQ_EAGAIN, "no free slot in '%s': %d processes "
		    "use the environment", path, NSLOTS);
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, &old_alrm);
	sa.sa_handler = on_urg;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGURG, &sa, &old_urg);
	g_stale = 0;
	return AQ_OK;
}

/*
 * Give the slot back.  A process that left an operation half done (it gave
 * up waiting, or Berkeley DB asked for recovery) keeps its slot marked
 * inside, so that the next process recovers the environment.
 */
void
aq__gate_close(struct aq *aq)
{
	struct slot z;

	(void)aq;
	if (g_fd == -1)
		return;
	if (g_joined) {
		g_joined = 0;
		lk(F_SETLK, F_UNLCK, B_INSIDE, 1);
	}
	if (g_state != S_IN) {
		memset(&z, 0, sizeof(z));
		(void)pwrite(g_fd, &z, sizeof(z), slot_off(g_slot));
	}
	timer_stop();
	sigaction(SIGALRM, &old_alrm, NULL);
	sigaction(SIGURG, &old_urg, NULL);
	close(g_fd);		/* drops every lock */
	g_fd = -1;
	g_slot = -1;
}

int
aq__gate_enter(struct aq *aq)
{
	int e;

	timer(1);
	if (wait_lock(F_RDLCK, B_DOOR) == -1)
		goto fail;
	if (wait_lock(F_RDLCK, B_INSIDE) == -1) {
		e = errno;
		lk(F_SETLK, F_UNLCK, B_DOOR, 1);
		errno = e;
		goto fail;
	}
	set_state(S_IN);
	g_stale = 0;
	g_joined = 1;
	lk(F_SETLK, F_UNLCK, B_DOOR, 1);
	timer(0);
	return AQ_OK;
fail:
	e = errno;
	timer(0);
	return aq__err(AQ_EAGAIN, "cannot enter environment '%s': %s",
	    aq->home, e == ETIMEDOUT ? "a recovery takes too long" :
	    strerror(e));
}

/*
 * Step out.  clean: the handles were closed by Berkeley DB itself;
 * otherwise they were abandoned and the slot stays marked inside until a
 * recovery or a clean rejoin-and-close.
 */
void
aq__gate_leave(struct aq *aq, int clean)
{
	(void)aq;
	if (clean)
		set_state(S_OUT);
	if (g_joined) {
		g_joined = 0;
		lk(F_SETLK, F_UNLCK, B_INSIDE, 1);
	}
}

/* Ask every live process in the environment to step out. */
static void
evict(int hard)
{
	struct slot s[NSLOTS];
	ssize_t n;
	pid_t pid;
	int i;

	if (hard) {
		if ((pid = holder(B_INSIDE, 1)) > 0 && pid != getpid())
			kill(pid, SIGKILL);
		return;
	}
	if ((n = pread(g_fd, s, sizeof(s), SLOT_BASE)) <= 0)
		return;
	for (i = 0; i < n / SLOT_SIZE; i++) {
		if (i == g_slot || s[i].magic != SLOT_MAGIC ||
		    s[i].state != S_IN)
			continue;
		if ((pid = holder(slot_off(i), SLOT_SIZE)) > 0)
			kill(pid, SIGURG);
	}
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Recover the environment (or create it), alone.  The caller is out of
 * the environment.  On success the caller is inside with fresh handles,
 * or, when another process recovered first, out and ready to rejoin
 * (aq->env is then NULL).
 */
int
aq__recover(struct aq *aq, int create)
{
	struct timespec nap = { 0, 5 * 1000 * 1000 };
	int64_t t0, lastsig = 0;
	int rc, e;

	timer(1);
	if (wait_lock(F_WRLCK, B_RECOVER) == -1) {
		e = errno;
		timer(0);
		return aq__err(AQ_EAGAIN, "cannot recover environment '%s': %s",
		    aq->home, e == ETIMEDOUT ? "another recovery takes too "
		    "long" : strerror(e));
	}
	if (create) {
		char path[PATH_MAX + 16];

		/* Another process may have made it while we waited. */
		snprintf(path, sizeof(path), "%s/%s", aq->home, AQ_DB_FILE);
		if (access(path, F_OK) == 0)
			create = 0;
	}
	if (!create && !aq->force_recover && aq__gate_dead(1) != 2) {
		lk(F_SETLK, F_UNLCK, B_RECOVER, 1);
		timer(0);
		return AQ_OK;
	}
	if (wait_lock(F_WRLCK, B_DOOR) == -1) {
		e = errno;
		lk(F_SETLK, F_UNLCK, B_RECOVER, 1);
		timer(0);
		return aq__err(AQ_EAGAIN, "cannot recover environment '%s': %s",
		    aq->home, strerror(e));
	}
	timer(0);
	set_state(S_IN);
	t0 = mono_ms();
	while (lk(F_SETLK, F_WRLCK, B_INSIDE, 1) == -1) {
		int64_t now = mono_ms();

		if (now - lastsig >= 1000) {
			evict(0);
			lastsig = now;
		}
		if (now - t0 > GRACE_MS)
			evict(1);
		nanosleep(&nap, NULL);
	}
	g_joined = 1;
	rc = aq__env_open(aq, create ? 2 : 1);
	if (rc == AQ_OK) {
		uint64_t n = 0;

		clear_dead();
		if (!create) {	/* making the environment is no recovery */
			if (pread(g_fd, &n, sizeof(n), H_RECOVERIES) !=
			    sizeof(n))
				n = 0;
			n++;
			(void)pwrite(g_fd, &n, sizeof(n), H_RECOVERIES);
			aq->recoveries++;
		}
		aq->force_recover = 0;
		lk(F_SETLK, F_RDLCK, B_INSIDE, 1);
		g_stale = 0;
	} else {
		g_joined = 0;
		set_state(S_OUT);
		lk(F_SETLK, F_UNLCK, B_INSIDE, 1);
	}
	lk(F_SETLK, F_UNLCK, B_DOOR, 1);
	lk(F_SETLK, F_UNLCK, B_RECOVER, 1);
	return rc;
}
