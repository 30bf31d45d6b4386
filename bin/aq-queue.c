/*
 * aq-queue: list the queues, and pause or resume them.
 *
 * A queue exists from the first job put in it.  A paused queue keeps its
 * jobs, and takes new ones, but no worker or claimer takes any until it
 * is resumed; jobs already running go on.  Pausing several queues is one
 * transaction per queue, each checked first: a missing queue changes
 * nothing.
 */
#include "config.h"

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aq.h"

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: aq-queue [-hV] [--json] [-d dir]\n"
	    "       aq-queue [-d dir] pause queue ...\n"
	    "       aq-queue [-d dir] resume queue ...\n");
	exit(code);
}

enum { O_JSON = 256 };

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, O_JSON },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static uint64_t
sum(const uint64_t *v, int n)
{
	uint64_t s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += v[i];
	return s;
}

static void
list(const struct aq_overview *ov, int json)
{
	const struct aq_queue_stat *q;
	char *buf = NULL;
	size_t i, len, cap = 0;
	int w = 5;

	for (i = 0; i < ov->nqueues; i++)
		if ((int)strlen(ov->queues[i].name) > w)
			w = (int)strlen(ov->queues[i].name);
	if (json)
		fputs("{\"queues\":[", stdout);
	else if (ov->nqueues > 0)
		printf("%-*s %-7s %10s %10s %10s\n", w, "QUEUE", "STATE",
		    "PENDING", "ACTIVE", "DONE");
	for (i = 0; i < ov->nqueues; i++) {
		q = &ov->queues[i];
		if (!json) {
			printf("%-*s %-7s %10llu %10llu %10llu\n", w, q->name,
			    q->paused ? "paused" : "running",
			    (unsigned long long)sum(q->pending, AQ_NREASONS),
			    (unsigned long long)q->active,
			    (unsigned long long)sum(q->done, AQ_NOUTCOMES));
			continue;
		}
		len = 0;
		if (aq_json_string(&buf, &len, &cap, q->name) == -1)
			err(75, "cannot format queue '%s'", q->name);
		printf("%s{\"name\":%s,\"paused\":%s,\"pending\":%llu,"
		    "\"active\":%llu,\"done\":%llu}", i > 0 ? "," : "", buf,
		    q->paused ? "true" : "false",
		    (unsigned long long)sum(q->pending, AQ_NREASONS),
		    (unsigned long long)q->active,
		    (unsigned long long)sum(q->done, AQ_NOUTCOMES));
	}
	if (json)
		puts("]}");
	free(buf);
}

int
main(int argc, char *argv[])
{
	struct aq_overview ov;
	struct aq *aq;
	const char *dir = NULL;
	int ch, rc, json = 0, i, on = -1;
	size_t k;

	while ((ch = getopt_long(argc, argv, "+d:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			usage(0);
		case 'V':
			printf("aq-queue (aq) %s\n", PACKAGE_VERSION);
			return 0;
		case O_JSON:
			json = 1;
			break;
		default:
			usage(64);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0) {
		if (strcmp(argv[0], "pause") == 0)
			on = 1;
		else if (strcmp(argv[0], "resume") == 0)
			on = 0;
		if (on == -1 || argc < 2 || json)
			usage(64);
		for (i = 1; i < argc; i++)
			if (!aq_valid_name(argv[i]))
				errx(65, "bad queue name '%s'", argv[i]);
	}

	if ((rc = aq_open(&aq, dir, 0)) != AQ_OK)
		errx(rc, "%s", aq_error());
	rc = aq_overview(aq, &ov);
	if (rc == AQ_OK && on != -1) {
		/* Every queue named must exist before any is changed. */
		for (i = 1; i < argc && rc == AQ_OK; i++) {
			for (k = 0; k < ov.nqueues; k++)
				if (strcmp(ov.queues[k].name, argv[i]) == 0)
					break;
			if (k == ov.nqueues) {
				aq_close(aq);
				errx(66, "no such queue '%s'", argv[i]);
			}
		}
		for (i = 1; i < argc && rc == AQ_OK; i++)
			rc = aq_queue_pause(aq, argv[i], on);
	} else if (rc == AQ_OK)
		list(&ov, json);
	aq_overview_free(&ov);
	aq_close(aq);
	if (rc != AQ_OK)
		errx(rc, "%s", aq_error());
	if (fflush(stdout) == EOF || ferror(stdout))
		err(75, "cannot write");
	return 0;
}
