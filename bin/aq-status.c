/*
 * aq-status: look at the queues and the jobs.
 *
 * Read-only: it never creates an environment and never changes a job.
 * Listings are read in short transactions and printed between them, so a
 * slow pager holds up nobody.
 */
#include "config.h"

#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aq.h"

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: aq-status [-hV] [--json] [-d dir]\n"
	    "       aq-status [--json] [-d dir] id ...\n"
	    "       aq-status [--json] [-d dir] -l [-q queue] [-s state]\n");
	exit(code);
}

enum { O_JSON = 256 };

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, O_JSON },
	{ "list", no_argument, NULL, 'l' },
	{ "queue", required_argument, NULL, 'q' },
	{ "state", required_argument, NULL, 's' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

struct lister {
	int	json;
	int	n;
};

static const char *
state_word(const struct aq_job *j, char *buf, size_t size)
{
	if (j->state == AQ_PENDING)
		snprintf(buf, size, "pending/%s", aq_reason_name(j->reason));
	else if (j->state == AQ_DONE)
		snprintf(buf, size, "done/%s", aq_outcome_name(j->outcome));
	else
		snprintf(buf, size, "active");
	return buf;
}

static int
list_one(const struct aq_job *j, void *arg)
{
	struct lister *l = arg;
	char st[32], *s;

	s = l->json ? aq_job_json(j) : aq_job_cmdline(j);
	if (s == NULL)
		err(75, "cannot format job %llu", (unsigned long long)j->id);
	if (l->json)
		printf("%s%s\n", l->n ? "," : "", s);
	else
		printf("%llu %s %s %d %s %s\n", (unsigned long long)j->id,
		    state_word(j, st, sizeof(st)), j->queue, (int)j->priority,
		    j->name ? j->name : "-", s);
	free(s);
	l->n++;
	return ferror(stdout) ? 75 : 0;
}

static void
show_time(const char *key, aq_time t)
{
	char buf[64];

	if (t == 0)
		return;
	aq_format_time(t, buf, sizeof(buf));
	printf("%-10s %s\n", key, buf);
}

static void
show_job(const struct aq_job *j)
{
	char st[32], uuid[40], d[32], *cmd;

	if ((cmd = aq_job_cmdline(j)) == NULL)
		err(75, "cannot format job %llu", (unsigned long long)j->id);
	printf("%-10s %llu\n", "id:", (unsigned long long)j->id);
	printf("%-10s %s\n", "state:", state_word(j, st, sizeof(st)));
	printf("%-10s %s\n", "queue:", j->queue);
	printf("%-10s %s\n", "name:", j->name ? j->name : "-");
	printf("%-10s %s\n", "command:", cmd);
	if (j->cwd != NULL)
		printf("%-10s %s\n", "directory:", j->cwd);
	printf("%-10s %d\n", "priority:", (int)j->priority);
	printf("%-10s %d\n", "attempt:", j->attempt);
	if (j->interrupts > 0)
		printf("%-10s %d\n", "interrupts:", j->interrupts);
	if (j->flags & AQ_JOB_HOLD)
		printf("%-10s yes\n", "held:");
	if (j->flags & AQ_JOB_AT_MOST_ONCE)
		printf("%-10s yes\n", "at-most-once:");
	show_time("created:", j->created);
	show_time("begin:", j->begin);
	show_time("deadline:", j->deadline);
	show_time("started:", j->started);
	show_time("ended:", j->ended);
	if (j->state == AQ_ACTIVE)
		show_time("lease:", j->lease);
	if (j->timeout > 0) {
		aq_format_duration(j->timeout, d, sizeof(d));
		printf("%-10s %s\n", "timeout:", d);
	}
	if (j->retries > 0)
		printf("%-10s %d\n", "retries:", j->retries);
	if (!aq_uuid_is_null(j->worker)) {
		aq_uuid_format(j->worker, uuid);
		printf("%-10s %s\n", "worker:", uuid);
	}
	if (j->exit_code >= 0)
		printf("%-10s %d\n", "exit:", j->exit_code);
	if (j->signal > 0)
		printf("%-10s %d\n", "signal:", j->signal);
	free(cmd);
}

static int
overview(struct aq *aq, int json)
{
	struct aq_overview ov;
	size_t i;
	int k, rc;

	if ((rc = aq_overview(aq, &ov)) != AQ_OK)
		return rc;
	if (json)
		printf("{\"queues\":{");
	for (i = 0; i < ov.nqueues; i++) {
		struct aq_queue_stat *q = &ov.queues[i];
		uint64_t pend = 0, done = 0;
		char *name = NULL;
		size_t len = 0, cap = 0;

		for (k = 0; k < AQ_NREASONS; k++)
			pend += q->pending[k];
		for (k = 0; k < AQ_NOUTCOMES; k++)
			done += q->done[k];
		if (!json) {
			printf("%s pending %llu (ready %llu scheduled %llu "
			    "held %llu) active %llu done %llu (",
			    q->name, (unsigned long long)pend,
			    (unsigned long long)q->pending[AQ_READY],
			    (unsigned long long)q->pending[AQ_SCHEDULED],
			    (unsigned long long)q->pending[AQ_HELD],
			    (unsigned long long)q->active,
			    (unsigned long long)done);
			for (k = 1; k < AQ_NOUTCOMES; k++)
				printf("%s%s %llu", k > 1 ? " " : "",
				    aq_outcome_name((enum aq_outcome)k),
				    (unsigned long long)q->done[k]);
			printf(")\n");
			continue;
		}
		if (aq_json_string(&name, &len, &cap, q->name) == -1)
			err(75, "cannot format queue");
		printf("%s%s:{\"pending\":%llu", i ? "," : "", name,
		    (unsigned long long)pend);
		free(name);
		for (k = 0; k < AQ_NREASONS; k++)
			printf(",\"%s\":%llu",
			    aq_reason_name((enum aq_reason)k),
			    (unsigned long long)q->pending[k]);
		printf(",\"active\":%llu,\"done\":%llu",
		    (unsigned long long)q->active, (unsigned long long)done);
		for (k = 1; k < AQ_NOUTCOMES; k++)
			printf(",\"%s\":%llu",
			    aq_outcome_name((enum aq_outcome)k),
			    (unsigned long long)q->done[k]);
		printf("}");
	}
	if (json)
		printf("},\"workers\":[],\"quotas\":[],\"recoveries\":%llu}\n",
		    (unsigned long long)aq_recoveries(aq));
	else if (ov.nqueues == 0)
		printf("no jobs\n");
	aq_overview_free(&ov);
	return AQ_OK;
}

int
main(int argc, char *argv[])
{
	struct aq_filter f = { NULL, -1 };
	struct lister l = { 0, 0 };
	struct aq_job *job;
	struct aq *aq;
	const char *dir = NULL, *errstr;
	int ch, i, rc, worst = 0, list = 0;
	long long id;

	while ((ch = getopt_long(argc, argv, "d:hlq:s:V", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			usage(0);
		case 'l':
			list = 1;
			break;
		case 'q':
			if (!aq_valid_name(optarg))
				errx(65, "bad queue name '%s'", optarg);
			f.queue = optarg;
			break;
		case 's':
			if (strcmp(optarg, "pending") == 0)
				f.state = AQ_PENDING;
			else if (strcmp(optarg, "active") == 0)
				f.state = AQ_ACTIVE;
			else if (strcmp(optarg, "done") == 0)
				f.state = AQ_DONE;
			else {
				warnx("unknown state '%s'", optarg);
				usage(64);
			}
			break;
		case 'V':
			printf("aq-status (aq) %s\n", PACKAGE_VERSION);
			return 0;
		case O_JSON:
			l.json = 1;
			break;
		default:
			usage(64);
		}
	}
	argc -= optind;
	argv += optind;
	if ((list && argc > 0) || (!list && (f.queue || f.state >= 0)))
		usage(64);
	for (i = 0; i < argc; i++) {
		(void)strtonum(argv[i], 1, LLONG_MAX, &errstr);
		if (errstr != NULL)
			errx(65, "bad job id '%s'", argv[i]);
	}

	if ((rc = aq_open(&aq, dir, 0)) != AQ_OK)
		errx(rc, "%s", aq_error());
	if (list) {
		if (l.json)
			printf("[");
		rc = aq_list(aq, &f, list_one, &l);
		if (l.json)
			printf("]\n");
	} else if (argc == 0)
		rc = overview(aq, l.json);
	else {
		if (l.json)
			printf("[");
		for (i = 0; i < argc; i++) {
			id = strtonum(argv[i], 1, LLONG_MAX, &errstr);
			if ((rc = aq_get(aq, (uint64_t)id, &job)) != AQ_OK) {
				warnx("%s", aq_error());
				if (worst == 0 || rc > worst)
					worst = rc;
				continue;
			}
			if (l.json)
				list_one(job, &l);
			else {
				if (l.n++ > 0)
					printf("\n");
				show_job(job);
			}
			aq_job_free(job);
		}
		if (l.json)
			printf("]\n");
		rc = worst;
	}
	aq_close(aq);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(75, "cannot write");
	/* Per-job errors were reported as they came; the others here. */
	if (rc != AQ_OK && (list || argc == 0))
		errx(rc, "%s", aq_error());
	return rc;
}
