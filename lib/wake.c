/*
 * wake.c: telling idle claimers that there is something new.
 *
 * A waiting claimer watches the file "wake" in the home with inotify(7);
 * whoever puts or ends a job touches it after the commit.  Touching costs
 * one system call and nobody polls, and since each waiter has its own
 * inotify queue, no wake-up is consumed by another waiter.  A lost touch
 * (a putter killed right after its commit) costs at most one poll
 * interval.  A handle that defers its syncs (a worker) owes its touch
 * instead, and pays it with the next flush (sync.c): a busy worker ends
 * a job every few hundred microseconds, and one touch per flush wakes
 * the waiters as soon as what they wait for is on disk.  Job output
 * files live beside the wake file, in "out".
 */
#include "config.h"

#include <sys/inotify.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

void
aq__touch(const char *home)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/%s", home, AQ_WAKE_FILE);
	(void)utimensat(AT_FDCWD, path, NULL, 0);
}

void
aq__wake(struct aq *aq)
{
	if (aq->defer)
		aq->wake_due = 1;
	else
		aq__touch(aq->home);
}

void
aq__drain(int fd)
{
	char ev[4096];

	if (fd != -1)
		while (read(fd, ev, sizeof(ev)) > 0)
			;
}

void
aq__nap(int fd, aq_time until, int64_t cap)
{
	struct pollfd p;
	int64_t wait = until - aq_now();

	if (wait <= 0)
		return;
	if (wait > cap)
		wait = cap;
	if (fd == -1) {
		/* No inotify: look ten times a second. */
		usleep((useconds_t)(wait < 100000 ? wait : 100000));
		return;
	}
	p.fd = fd;
	p.events = POLLIN;
	(void)poll(&p, 1, (int)((wait + 999) / 1000));
}

int
aq_watch(struct aq *aq)
{
	char path[PATH_MAX + 16];
	int fd, e;

	snprintf(path, sizeof(path), "%s/%s", aq->home, AQ_WAKE_FILE);
	if ((fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1)
		return -1;
	if (inotify_add_watch(fd, path, IN_ATTRIB | IN_MODIFY |
	    IN_CLOSE_WRITE) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

void
aq_output_path(const struct aq *aq, uint64_t id, char *buf, size_t size)
{
	snprintf(buf, size, "%s/out/%llu", aq->home, (unsigned long long)id);
}

int
aq_output_open(struct aq *aq, uint64_t id)
{
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/out", aq->home);
	/* The directory gets the home's group sharing, if it has any. */
	if (mkdir(path, (aq->fmode & 0070) ? 0770 : 0700) == -1 &&
	    errno != EEXIST) {
		aq__err(errno == EACCES ? AQ_EPERM : AQ_EAGAIN,
		    "cannot create '%s': %s", path, strerror(errno));
		return -1;
	}
	aq_output_path(aq, id, path, sizeof(path));
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    aq->fmode)) == -1)
		aq__err(errno == EACCES ? AQ_EPERM : AQ_EAGAIN,
		    "cannot open '%s': %s", path, strerror(errno));
	return fd;
}
