/*
 * wake.c: telling idle claimers that there is something new.
 *
 * A waiting claimer watches the file "wake" in the home with inotify(7);
 * whoever puts or ends a job touches it after the commit.  Touching costs
 * one system call and nobody polls, and since each waiter has its own
 * inotify queue, no wake-up is consumed by another waiter.  A lost touch
 * (a putter killed right after its commit) costs at most one poll
 * interval.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>

#include "internal.h"

void
aq__wake(struct aq *aq)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/%s", aq->home, AQ_WAKE_FILE);
	(void)utimensat(AT_FDCWD, path, NULL, 0);
}
