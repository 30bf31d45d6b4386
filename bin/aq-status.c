/*
 * aq-status: look at the queues and the jobs.
 *
 * Read-only: it never creates an environment and never changes a job.
 * Listings are read in short transactions and printed between them, so a
 * slow pager holds up nobody.
 */
#include "config.h"

#include <sys/inotify.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aq.h"

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: aq-status [-hV] [--json] [-d dir]\n"
	    "       aq-status [--json] [-d dir] id ...\n"
	    "       aq-status [--json] [-d dir] -l [-q queue] [-s state]\n"
	    "       aq-status [--json] [-d dir] -W\n"
	    "       aq-status [--json] [-d dir] -S [--window duration]\n"
	    "       aq-status [-d dir] -o id [-f]\n"
	    "       aq-status [-d dir] -w [--timeout duration] id ...\n");
	exit(code);
}

enum { O_JSON = 256, O_TIMEOUT, O_WINDOW };

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "follow", no_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, O_JSON },
	{ "list", no_argument, NULL, 'l' },
	{ "output", required_argument, NULL, 'o' },
	{ "queue", required_argument, NULL, 'q' },
	{ "state", required_argument, NULL, 's' },
	{ "stats", no_argument, NULL, 'S' },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "version", no_argument, NULL, 'V' },
	{ "wait", no_argument, NULL, 'w' },
	{ "window", required_argument, NULL, O_WINDOW },
	{ "workers", no_argument, NULL, 'W' },
	{ NULL, 0, NULL, 0 }
};

struct lister {
	int	json;
	int	n;
	int	reason;		/* -s REASON: pending jobs waiting so; else -1 */
	int	outcome;	/* -s OUTCOME: done jobs that ended so; else -1 */
};

/*
 * -s WORD: a state (pending, active, done), a reason a pending job waits
 * (ready, blocked...) or an outcome of a done one (failed, skipped...).
 */
static void
state_filter(const char *word, struct aq_filter *f, struct lister *l)
{
	int k;

	for (k = 0; k < 3; k++)
		if (strcmp(word, aq_state_name((enum aq_state)k)) == 0) {
			f->state = k;
			return;
		}
	for (k = 0; k < AQ_NREASONS; k++)
		if (strcmp(word, aq_reason_name((enum aq_reason)k)) == 0) {
			f->state = AQ_PENDING;
			l->reason = k;
			return;
		}
	for (k = 1; k < AQ_NOUTCOMES; k++)
		if (strcmp(word, aq_outcome_name((enum aq_outcome)k)) == 0) {
			f->state = AQ_DONE;
			l->outcome = k;
			return;
		}
	warnx("unknown state '%s'", word);
	usage(64);
}

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

	if ((l->reason >= 0 && (int)j->reason != l->reason) ||
	    (l->outcome >= 0 && (int)j->outcome != l->outcome))
		return 0;
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

#define TAIL_LINES	5

/* The last lines of a job's output, indented, if it wrote any. */
static void
tail_output(struct aq *aq, uint64_t id, int lines)
{
	char path[PATH_MAX + 32], buf[4096], *p, *end;
	ssize_t n;
	off_t size;
	int fd;

	aq_output_path(aq, id, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || (n = pread(fd, buf, sizeof(buf) - 1, size >
	    (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0)) <= 0) {
		close(fd);
		return;
	}
	close(fd);
	buf[n] = '\0';
	end = buf + n;
	if (end > buf && end[-1] == '\n')
		*--end = '\0';
	/* Back up over the last lines; a cut first line is dropped. */
	for (p = end; p > buf; p--)
		if (p[-1] == '\n' && --lines == 0)
			break;
	if (p == buf && n == (ssize_t)sizeof(buf) - 1 &&
	    (p = strchr(buf, '\n')) != NULL)
		p++;
	printf("last output:\n");
	while (p != NULL && *p != '\0') {
		char *nl = strchr(p, '\n');

		if (nl != NULL)
			*nl = '\0';
		printf("  %s\n", p);
		p = nl ? nl + 1 : NULL;
	}
}

static const char *
how_name(int how)
{
	switch (how) {
	case AQ_RUN_INTERRUPTED: return "interrupted";
	case AQ_RUN_RELEASED: return "released";
	case AQ_RUN_CANCELLED: return "cancelled";
	default: return "ended";
	}
}

/* Dependencies, parent, children, the runs so far and the notes. */
static void
show_relations(struct aq *aq, const struct aq_job *j)
{
	struct aq_note *notes;
	struct aq_run *runs;
	uint64_t *kids;
	char uuid[40], a[64], b[64];
	size_t n, i;

	if (j->nafter > 0) {
		printf("%-10s", "after:");
		for (i = 0; i < j->nafter; i++)
			printf(" %llu%s", (unsigned long long)j->after[i].id,
			    j->after[i].any ? " (any)" : "");
		if (j->waits > 0)
			printf(" (waiting for %d)", j->waits);
		printf("\n");
	}
	if (j->parent != 0)
		printf("%-10s %llu\n", "parent:",
		    (unsigned long long)j->parent);
	if (aq_children(aq, j->id, &kids, &n) == AQ_OK) {
		if (n > 0) {
			printf("%-10s", "children:");
			for (i = 0; i < n; i++)
				printf(" %llu", (unsigned long long)kids[i]);
			if (j->kids > 0)
				printf(" (%d not done)", j->kids);
			printf("\n");
		}
		free(kids);
	}
	if (aq_history(aq, j->id, &runs, &n) == AQ_OK) {
		for (i = 0; i < n; i++) {
			aq_uuid_format(runs[i].worker, uuid);
			aq_format_time(runs[i].started, a, sizeof(a));
			aq_format_time(runs[i].ended, b, sizeof(b));
			printf("%-10s %d %s %s..%s by %s%s%s", "run:",
			    runs[i].attempt, how_name(runs[i].how), a, b,
			    uuid, runs[i].agent[0] ? "/" : "",
			    runs[i].agent);
			if (runs[i].how == AQ_RUN_ENDED &&
			    runs[i].outcome != AQ_NONE)
				printf(" %s", aq_outcome_name(runs[i].outcome));
			if (runs[i].exit_code >= 0)
				printf(" exit %d", runs[i].exit_code);
			if (runs[i].signal > 0)
				printf(" signal %d", runs[i].signal);
			printf("\n");
		}
		free(runs);
	}
	if (aq_notes(aq, j->id, &notes, &n) == AQ_OK) {
		for (i = 0; i < n; i++)
			printf("%-10s %s=%s\n", "note:", notes[i].key,
			    notes[i].value);
		aq_notes_free(notes, n);
	}
}

/* The same, as members to add to the job's JSON object. */
static void
json_relations(struct aq *aq, const struct aq_job *j)
{
	struct aq_note *notes;
	struct aq_run *runs;
	uint64_t *kids;
	char uuid[40], a[64], b[64], *buf = NULL;
	size_t n, i, len, cap = 0;

	printf(",\"children\":[");
	if (aq_children(aq, j->id, &kids, &n) == AQ_OK) {
		for (i = 0; i < n; i++)
			printf("%s%llu", i ? "," : "",
			    (unsigned long long)kids[i]);
		free(kids);
	}
	printf("],\"history\":[");
	if (aq_history(aq, j->id, &runs, &n) == AQ_OK) {
		for (i = 0; i < n; i++) {
			aq_uuid_format(runs[i].worker, uuid);
			aq_format_time(runs[i].started, a, sizeof(a));
			aq_format_time(runs[i].ended, b, sizeof(b));
			printf("%s{\"attempt\":%d,\"how\":\"%s\","
			    "\"worker\":\"%s\",\"agent\":", i ? "," : "",
			    runs[i].attempt, how_name(runs[i].how), uuid);
			len = 0;
			if (runs[i].agent[0] != '\0' && aq_json_string(&buf,
			    &len, &cap, runs[i].agent) == 0)
				fputs(buf, stdout);
			else
				fputs("null", stdout);
			printf(",\"started\":\"%s\",\"ended\":\"%s\","
			    "\"outcome\":", a, b);
			if (runs[i].outcome != AQ_NONE)
				printf("\"%s\"", aq_outcome_name(runs[i].outcome));
			else
				printf("null");
			if (runs[i].exit_code >= 0)
				printf(",\"exit\":%d", runs[i].exit_code);
			else
				printf(",\"exit\":null");
			if (runs[i].signal > 0)
				printf(",\"signal\":%d}", runs[i].signal);
			else
				printf(",\"signal\":null}");
		}
		free(runs);
	}
	printf("],\"notes\":{");
	if (aq_notes(aq, j->id, &notes, &n) == AQ_OK) {
		for (i = 0; i < n; i++) {
			len = 0;
			if (aq_json_string(&buf, &len, &cap, notes[i].key) == -1)
				err(75, "cannot format a note");
			printf("%s%s:", i ? "," : "", buf);
			len = 0;
			if (aq_json_string(&buf, &len, &cap, notes[i].value) ==
			    -1)
				err(75, "cannot format a note");
			fputs(buf, stdout);
		}
		aq_notes_free(notes, n);
	}
	printf("}");
	free(buf);
}

static void
show_job(struct aq *aq, const struct aq_job *j)
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
	if (j->quotas != NULL && j->quotas[0] != NULL) {
		size_t k;

		printf("%-10s", "quotas:");
		for (k = 0; j->quotas[k] != NULL; k++)
			printf(" %s", j->quotas[k]);
		printf("\n");
	}
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
	if (j->agent != NULL)
		printf("%-10s %s\n", "agent:", j->agent);
	if (j->exit_code >= 0)
		printf("%-10s %d\n", "exit:", j->exit_code);
	if (j->signal > 0)
		printf("%-10s %d\n", "signal:", j->signal);
	if (j->failures > 0)
		printf("%-10s %d\n", "failures:", j->failures);
	if (j->started != 0 && j->ended >= j->started) {
		aq_format_duration(j->ended - j->started, d, sizeof(d));
		printf("%-10s %s\n", "run time:", d);
	}
	if (j->utime + j->stime + j->maxrss > 0) {
		char u[32], s[32];

		aq_format_duration(j->utime, u, sizeof(u));
		aq_format_duration(j->stime, s, sizeof(s));
		printf("%-10s user %s, system %s, max RSS %lld KiB\n",
		    "usage:", u, s, (long long)j->maxrss);
	}
	if (j->output_size > 0 || j->output_cap > 0) {
		if (j->output_cap > 0 && j->output_size > j->output_cap)
			printf("%-10s %lld bytes, capped at %lld\n", "output:",
			    (long long)j->output_size,
			    (long long)j->output_cap);
		else
			printf("%-10s %lld bytes\n", "output:",
			    (long long)j->output_size);
	}
	show_relations(aq, j);
	tail_output(aq, j->id, TAIL_LINES);
	free(cmd);
}

/* ---- -W: workers ---- */

static void
ago(aq_time t, aq_time now, char *buf, size_t size)
{
	if (t == 0) {
		strlcpy(buf, "-", size);
		return;
	}
	aq_format_duration(now > t ? (now - t) / AQ_SEC * AQ_SEC : 0, buf,
	    size);
}

/* Print s as a JSON string. */
static void
json_str(const char *s)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (aq_json_string(&buf, &len, &cap, s) == -1)
		err(75, "cannot format '%s'", s);
	fputs(buf, stdout);
	free(buf);
}

/*
 * The agents of w as JSON: name, slots, filter and the active jobs each
 * claimed (a job records its agent).
 */
static void
agents_json(struct aq *aq, const struct aq_worker *w)
{
	const char *const *av = w->agents, *mainonly[2];
	char spec[64];
	size_t i, k;
	int first;

	if (av == NULL) {
		snprintf(spec, sizeof(spec), "main=%d", w->slots);
		mainonly[0] = spec;
		mainonly[1] = NULL;
		av = mainonly;
	}
	printf(",\"agents\":[");
	for (i = 0; av[i] != NULL; i++) {
		const char *eq = strchr(av[i], '='), *colon;
		char *name;

		if (eq == NULL)
			continue;
		colon = strchr(eq, ':');
		if ((name = strndup(av[i], (size_t)(eq - av[i]))) == NULL)
			err(75, "cannot format worker");
		printf("%s{\"name\":", i ? "," : "");
		json_str(name);
		printf(",\"slots\":%d,\"filter\":", atoi(eq + 1));
		if (colon != NULL)
			json_str(colon + 1);
		else
			printf("null");
		printf(",\"active\":[");
		for (first = 1, k = 0; k < w->nactive; k++) {
			struct aq_job *j;

			if (aq_get(aq, w->active[k], &j) != AQ_OK)
				continue;
			if ((j->agent == NULL ? strcmp(name, "main") == 0 :
			    strcmp(j->agent, name) == 0)) {
				printf("%s%llu", first ? "" : ",",
				    (unsigned long long)j->id);
				first = 0;
			}
			aq_job_free(j);
		}
		printf("]}");
		free(name);
	}
	printf("]");
}

static void
worker_json(struct aq *aq, const struct aq_worker *w, aq_time now)
{
	char uuid[40], t[64], *s = NULL;
	size_t len = 0, cap = 0, i;

	aq_uuid_format(w->uuid, uuid);
	if (aq_json_string(&s, &len, &cap, w->host) == -1)
		err(75, "cannot format worker");
	printf("{\"uuid\":\"%s\",\"host\":%s,\"pid\":%ld,\"status\":\"%s\"",
	    uuid, s, (long)w->pid, aq_worker_state_name(w->state));
	free(s);
	aq_format_time(w->started, t, sizeof(t));
	printf(",\"started\":\"%s\",\"uptime\":%lld", t,
	    (long long)((w->state == AQ_WORKER_RUNNING ? now :
	    w->ended ? w->ended : w->ping) - w->started) / AQ_SEC);
	aq_format_time(w->ping, t, sizeof(t));
	printf(",\"ping\":\"%s\"", t);
	if (w->poll != 0) {
		aq_format_time(w->poll, t, sizeof(t));
		printf(",\"poll\":\"%s\"", t);
	} else
		printf(",\"poll\":null");
	if (w->ended != 0) {
		aq_format_time(w->ended, t, sizeof(t));
		printf(",\"ended\":\"%s\"", t);
	} else
		printf(",\"ended\":null");
	printf(",\"slots\":%d,\"poll_interval\":%.3f,\"ping_interval\":%.3f,"
	    "\"death_interval\":%.3f,\"queues\":[", w->slots,
	    (double)w->poll_interval / AQ_SEC,
	    (double)w->ping_interval / AQ_SEC,
	    (double)w->death_interval / AQ_SEC);
	for (i = 0; w->queues != NULL && w->queues[i] != NULL; i++) {
		s = NULL;
		len = cap = 0;
		if (aq_json_string(&s, &len, &cap, w->queues[i]) == -1)
			err(75, "cannot format worker");
		printf("%s%s", i ? "," : "", s);
		free(s);
	}
	if (w->queues == NULL)
		printf("\"%s\"", AQ_DEFAULT_QUEUE);
	printf("],\"active\":[");
	for (i = 0; i < w->nactive; i++)
		printf("%s%llu", i ? "," : "", (unsigned long long)w->active[i]);
	printf("]");
	agents_json(aq, w);
	printf("}");
}

static int
workers(struct aq *aq, int json)
{
	struct aq_worker **ws;
	aq_time now = aq_now();
	size_t n, i, k;
	int rc;

	if ((rc = aq_workers(aq, &ws, &n)) != AQ_OK)
		return rc;
	if (json)
		printf("[");
	else if (n > 0)
		printf("%-36s %-7s %-12s %7s %7s %9s %9s %5s %-12s %-12s "
		    "%s\n", "UUID", "STATUS", "HOST", "PID", "UPTIME",
		    "LAST-PING", "LAST-POLL", "SLOTS", "QUEUES", "AGENTS",
		    "ACTIVE");
	else
		printf("no workers\n");
	for (i = 0; i < n; i++) {
		const struct aq_worker *w = ws[i];
		char uuid[40], up[32], ping[32], poll[32];

		if (json) {
			if (i > 0)
				printf(",");
			worker_json(aq, w, now);
			continue;
		}
		aq_uuid_format(w->uuid, uuid);
		ago(w->started, w->state == AQ_WORKER_RUNNING ? now :
		    w->ended ? w->ended : w->ping, up, sizeof(up));
		ago(w->ping, now, ping, sizeof(ping));
		ago(w->poll, now, poll, sizeof(poll));
		printf("%-36s %-7s %-12s %7ld %7s %9s %9s %5d ", uuid,
		    aq_worker_state_name(w->state), w->host, (long)w->pid, up,
		    ping, poll, w->slots);
		for (k = 0; w->queues != NULL && w->queues[k] != NULL; k++)
			printf("%s%s", k ? "," : "", w->queues[k]);
		if (w->queues == NULL)
			printf("%s", AQ_DEFAULT_QUEUE);
		printf(" ");
		for (k = 0; w->agents != NULL && w->agents[k] != NULL; k++)
			printf("%s%s", k ? "," : "", w->agents[k]);
		if (w->agents == NULL)
			printf("main=%d", w->slots);
		printf(" ");
		for (k = 0; k < w->nactive; k++)
			printf("%s%llu", k ? "," : "",
			    (unsigned long long)w->active[k]);
		printf("%s\n", w->nactive ? "" : "-");
	}
	if (json)
		printf("]\n");
	aq_workers_free(ws, n);
	return AQ_OK;
}

/* ---- -S: statistics ---- */

static int
stats(struct aq *aq, int json, int64_t window)
{
	struct aq_stats st;
	char since[64], d[32];
	int k, rc;

	if ((rc = aq_stats(aq, aq_now() - window, &st)) != AQ_OK)
		return rc;
	aq_format_time(st.since, since, sizeof(since));
	if (json) {
		printf("{\"since\":\"%s\",\"started\":%llu,"
		    "\"interrupted\":%llu,\"retried\":%llu", since,
		    (unsigned long long)st.started,
		    (unsigned long long)st.interrupted,
		    (unsigned long long)st.retried);
		for (k = 1; k < AQ_NOUTCOMES; k++)
			printf(",\"%s\":%llu", aq_outcome_name((enum aq_outcome)k),
			    (unsigned long long)st.ended[k]);
		if (st.shortest >= 0)
			printf(",\"shortest\":{\"id\":%llu,\"seconds\":%.6f},"
			    "\"longest\":{\"id\":%llu,\"seconds\":%.6f}}\n",
			    (unsigned long long)st.shortest_id,
			    (double)st.shortest / AQ_SEC,
			    (unsigned long long)st.longest_id,
			    (double)st.longest / AQ_SEC);
		else
			printf(",\"shortest\":null,\"longest\":null}\n");
		return AQ_OK;
	}
	aq_format_duration(window, d, sizeof(d));
	printf("since %s (%s)\n", since, d);
	printf("started %llu interrupted %llu retried %llu\n",
	    (unsigned long long)st.started,
	    (unsigned long long)st.interrupted,
	    (unsigned long long)st.retried);
	printf("ended");
	for (k = 1; k < AQ_NOUTCOMES; k++)
		printf(" %s %llu", aq_outcome_name((enum aq_outcome)k),
		    (unsigned long long)st.ended[k]);
	printf("\n");
	if (st.shortest >= 0) {
		aq_format_duration(st.shortest, d, sizeof(d));
		printf("shortest %s (job %llu)", d,
		    (unsigned long long)st.shortest_id);
		aq_format_duration(st.longest, d, sizeof(d));
		printf(" longest %s (job %llu)\n", d,
		    (unsigned long long)st.longest_id);
	}
	return AQ_OK;
}

/* ---- -o: output ---- */

/* Copy fd from where it is to its end.  -1 on a write error. */
static int
cat(int fd)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return -1;
	return fflush(stdout) == EOF ? -1 : 0;
}

static int
output(struct aq *aq, uint64_t id, int follow)
{
	char path[PATH_MAX + 32];
	struct aq_job *j;
	struct pollfd p[2];
	int fd = -1, wfd = -1, ifd = -1, rc, done;

	if ((rc = aq_get(aq, id, &j)) != AQ_OK)
		return rc;
	done = j->state == AQ_DONE;
	aq_job_free(j);
	aq_output_path(aq, id, path, sizeof(path));
	if (follow) {
		wfd = aq_watch(aq);
		ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	}
	for (;;) {
		char ev[4096];

		if (fd == -1 && (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 &&
		    errno != ENOENT)
			err(errno == EACCES ? 77 : 69, "cannot open '%s'", path);
		if (fd != -1 && cat(fd) == -1)
			err(75, "cannot write");
		if (!follow || done)
			break;
		if (fd != -1 && ifd != -1)
			(void)inotify_add_watch(ifd, path, IN_MODIFY);
		p[0].fd = wfd;
		p[0].events = POLLIN;
		p[1].fd = ifd;
		p[1].events = POLLIN;
		(void)poll(p, 2, 1000);
		if (wfd != -1)
			while (read(wfd, ev, sizeof(ev)) > 0)
				;
		if (ifd != -1)
			while (read(ifd, ev, sizeof(ev)) > 0)
				;
		/* Once it is done, one more read takes the last of it. */
		if ((rc = aq_get(aq, id, &j)) != AQ_OK)
			return rc;
		done = j->state == AQ_DONE;
		aq_job_free(j);
	}
	if (fd != -1)
		close(fd);
	if (wfd != -1)
		close(wfd);
	if (ifd != -1)
		close(ifd);
	return AQ_OK;
}

/* ---- -w: wait ---- */

static int
wait_jobs(struct aq *aq, const uint64_t *ids, int n, int64_t timeout)
{
	struct aq_job *j;
	int i, rc, st, worst = 0;

	rc = aq_wait(aq, ids, (size_t)n, timeout);
	if (rc == AQ_NO)
		return AQ_NO;
	if (rc != AQ_OK)
		errx(rc, "%s", aq_error());
	for (i = 0; i < n; i++) {
		if ((rc = aq_get(aq, ids[i], &j)) != AQ_OK)
			errx(rc, "%s", aq_error());
		if ((st = aq_job_status(j)) > worst)
			worst = st;
		aq_job_free(j);
	}
	return worst;
}

static int
overview(struct aq *aq, int json)
{
	struct aq_overview ov;
	struct aq_worker **ws;
	struct aq_quota *quotas;
	size_t i, nw, nq, nquotas;
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
			printf("%s pending %llu (", q->name,
			    (unsigned long long)pend);
			for (k = 0; k < AQ_NREASONS; k++)
				printf("%s%s %llu", k > 0 ? " " : "",
				    aq_reason_name((enum aq_reason)k),
				    (unsigned long long)q->pending[k]);
			printf(") active %llu done %llu (",
			    (unsigned long long)q->active,
			    (unsigned long long)done);
			for (k = 1; k < AQ_NOUTCOMES; k++)
				printf("%s%s %llu", k > 1 ? " " : "",
				    aq_outcome_name((enum aq_outcome)k),
				    (unsigned long long)q->done[k]);
			printf(")%s\n", q->paused ? " paused" : "");
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
		printf(",\"paused\":%s}", q->paused ? "true" : "false");
	}
	nq = ov.nqueues;
	aq_overview_free(&ov);
	if ((rc = aq_workers(aq, &ws, &nw)) != AQ_OK)
		return rc;
	if ((rc = aq_quotas(aq, &quotas, &nquotas)) != AQ_OK) {
		aq_workers_free(ws, nw);
		return rc;
	}
	if (json) {
		printf("},\"workers\":[");
		for (i = 0; i < nw; i++) {
			if (i > 0)
				printf(",");
			worker_json(aq, ws[i], aq_now());
		}
		printf("],\"quotas\":[");
		for (i = 0; i < nquotas; i++) {
			printf("%s{\"name\":", i ? "," : "");
			json_str(quotas[i].name);
			printf(",\"size\":%llu,\"used\":%llu,"
			    "\"waiting\":%llu}",
			    (unsigned long long)quotas[i].size,
			    (unsigned long long)quotas[i].used,
			    (unsigned long long)quotas[i].waiting);
		}
		printf("],\"recoveries\":%llu}\n",
		    (unsigned long long)aq_recoveries(aq));
	} else {
		size_t by[3] = { 0, 0, 0 };

		if (nq == 0)
			printf("no jobs\n");
		for (i = 0; i < nquotas; i++)
			printf("quota %s size %llu used %llu waiting %llu\n",
			    quotas[i].name,
			    (unsigned long long)quotas[i].size,
			    (unsigned long long)quotas[i].used,
			    (unsigned long long)quotas[i].waiting);
		for (i = 0; i < nw; i++)
			by[ws[i]->state]++;
		if (nw > 0)
			printf("workers: %zu running, %zu stopped, %zu dead\n",
			    by[AQ_WORKER_RUNNING], by[AQ_WORKER_STOPPED],
			    by[AQ_WORKER_DEAD]);
	}
	aq_workers_free(ws, nw);
	free(quotas);
	return AQ_OK;
}

int
main(int argc, char *argv[])
{
	struct aq_filter f = { NULL, -1 };
	struct lister l = { 0, 0, -1, -1 };
	struct aq_job *job;
	struct aq *aq;
	const char *dir = NULL;
	int ch, i, rc, worst = 0, list = 0, follow = 0, wstats = 0;
	int wworkers = 0, wait = 0, timeout_set = 0, window_set = 0;
	int64_t timeout = -1, window = 600 * AQ_SEC;
	uint64_t out = 0, *ids;

	while ((ch = getopt_long(argc, argv, "d:fhlo:q:Ss:VwW", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'f':
			follow = 1;
			break;
		case 'h':
			usage(0);
		case 'o':
			if (aq_parse_id(optarg, &out) != AQ_OK)
				errx(65, "%s", aq_error());
			break;
		case 'S':
			wstats = 1;
			break;
		case 'w':
			wait = 1;
			break;
		case 'W':
			wworkers = 1;
			break;
		case O_TIMEOUT:
			if (aq_parse_duration(optarg, &timeout) != AQ_OK)
				errx(65, "bad duration '%s'", optarg);
			timeout_set = 1;
			break;
		case O_WINDOW:
			if (aq_parse_duration(optarg, &window) != AQ_OK ||
			    window == 0)
				errx(65, "bad duration '%s'", optarg);
			window_set = 1;
			break;
		case 'l':
			list = 1;
			break;
		case 'q':
			if (!aq_valid_name(optarg))
				errx(65, "bad queue name '%s'", optarg);
			f.queue = optarg;
			break;
		case 's':
			state_filter(optarg, &f, &l);
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
	if (list + wstats + wworkers + wait + (out != 0) > 1 ||
	    (list && argc > 0) || (!list && (f.queue || f.state >= 0)) ||
	    ((wstats || wworkers || out) && argc > 0) ||
	    (follow && out == 0) || (timeout_set && !wait) ||
	    (window_set && !wstats) || (wait && argc == 0) ||
	    (l.json && (out || wait)))
		usage(64);
	if ((ids = reallocarray(NULL, (size_t)argc + 1, sizeof(*ids))) == NULL)
		err(75, "cannot list jobs");
	for (i = 0; i < argc; i++)
		if (aq_parse_id(argv[i], &ids[i]) != AQ_OK)
			errx(65, "%s", aq_error());

	if ((rc = aq_open(&aq, dir, 0)) != AQ_OK)
		errx(rc, "%s", aq_error());
	if (wait) {
		rc = wait_jobs(aq, ids, argc, timeout);
		free(ids);
		aq_close(aq);
		return rc;
	}
	if (out != 0)
		rc = output(aq, out, follow);
	else if (wworkers)
		rc = workers(aq, l.json);
	else if (wstats)
		rc = stats(aq, l.json, window);
	else if (list) {
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
			if ((rc = aq_get(aq, ids[i], &job)) != AQ_OK) {
				warnx("%s", aq_error());
				if (worst == 0 || rc > worst)
					worst = rc;
				continue;
			}
			if (l.json) {
				char *s = aq_job_json(job);
				size_t sl;

				if (s == NULL || (sl = strlen(s)) == 0)
					err(75, "cannot format job %llu",
					    (unsigned long long)ids[i]);
				/* Its members, then those only one job has. */
				s[sl - 1] = '\0';
				printf("%s%s", l.n++ ? "," : "", s);
				json_relations(aq, job);
				printf("}\n");
				free(s);
			} else {
				if (l.n++ > 0)
					printf("\n");
				show_job(aq, job);
			}
			aq_job_free(job);
		}
		if (l.json)
			printf("]\n");
		rc = worst;
	}
	free(ids);
	aq_close(aq);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(75, "cannot write");
	/* Per-job errors were reported as they came; the others here. */
	if (rc != AQ_OK && (list || argc == 0 || out))
		errx(rc, "%s", aq_error());
	return rc;
}
