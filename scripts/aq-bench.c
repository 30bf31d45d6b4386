/*
 * aq-bench: the in-process half of scripts/bench.
 *
 *   aq-bench phases DIR N   in N fresh child processes, time aq_open(),
 *                           aq_put() of one job and aq_close(); print the
 *                           median of each, in microseconds
 *   aq-bench claim DIR K    claim and finish K jobs in this process; print
 *                           the median and 99th percentile of one claim
 *   aq-bench noop           do nothing (the floor of any command)
 *
 * Not installed; it links the library the programs use.
 */
#include "config.h"

#include <sys/wait.h>

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aq.h"

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

int
main(int argc, char *argv[])
{
	if (argc == 2 && strcmp(argv[1], "noop") == 0)
		return 0;
	if (argc == 4 && strcmp(argv[1], "phases") == 0)
		phases(argv[2], atoi(argv[3]));
	else if (argc == 4 && strcmp(argv[1], "claim") == 0)
		claim(argv[2], atoi(argv[3]));
	else
		errx(64, "usage: aq-bench phases|claim DIR N | noop");
	return 0;
}
