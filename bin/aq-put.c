/*
 * aq-put: put jobs in a queue.
 *
 * One invocation is one transaction: the jobs of a batch (-b) are put all
 * together or not at all, and an id is printed only once its job is
 * durably committed.  Every option is checked before the environment is
 * opened, so a bad one changes nothing.
 */
#include "config.h"

#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aq.h"

extern char **environ;

static char binsh[] = "/bin/sh", dashc[] = "-c", sh[] = "sh", job[] = "job";

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: aq-put [-hVw] [--at-most-once] [--child] [--hold] [-d dir]\n"
	    "              [--after id]... [--after-any id]... [--at time]\n"
	    "              [--deadline time] [-n name] [-p priority] [-Q quota]...\n"
	    "              [-q queue] [--retries n] [--retry-delay duration]\n"
	    "              [--timeout duration] [--] command [argument ...]\n"
	    "       aq-put [options] -c text\n"
	    "       aq-put [options] -b\n");
	exit(code);
}

enum {
	O_AFTER = 256, O_AFTER_ANY, O_AT, O_AT_MOST_ONCE, O_CHILD, O_DEADLINE,
	O_HOLD, O_RETRIES, O_RETRY_DELAY, O_TIMEOUT
};

static const struct option longopts[] = {
	{ "after", required_argument, NULL, O_AFTER },
	{ "after-any", required_argument, NULL, O_AFTER_ANY },
	{ "at", required_argument, NULL, O_AT },
	{ "at-most-once", no_argument, NULL, O_AT_MOST_ONCE },
	{ "batch", no_argument, NULL, 'b' },
	{ "child", no_argument, NULL, O_CHILD },
	{ "command", required_argument, NULL, 'c' },
	{ "deadline", required_argument, NULL, O_DEADLINE },
	{ "dir", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ "hold", no_argument, NULL, O_HOLD },
	{ "name", required_argument, NULL, 'n' },
	{ "priority", required_argument, NULL, 'p' },
	{ "queue", required_argument, NULL, 'q' },
	{ "quota", required_argument, NULL, 'Q' },
	{ "retries", required_argument, NULL, O_RETRIES },
	{ "retry-delay", required_argument, NULL, O_RETRY_DELAY },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "version", no_argument, NULL, 'V' },
	{ "wait", no_argument, NULL, 'w' },
	{ NULL, 0, NULL, 0 }
};

static uint64_t
job_id(const char *s)
{
	uint64_t id;

	if (aq_parse_id(s, &id) != AQ_OK)
		errx(65, "%s", aq_error());
	return id;
}

/*
 * Check that a line is something sh can run on its own: no unterminated
 * quote and no trailing backslash.  Returns NULL or what is wrong.
 */
static const char *
check_line(const char *s)
{
	char q = 0;

	for (; *s != '\0'; s++) {
		if (q == '\'') {
			if (*s == '\'')
				q = 0;
		} else if (*s == '\\') {
			if (*++s == '\0')
				return "trailing backslash";
		} else if (q == '"') {
			if (*s == '"')
				q = 0;
		} else if (*s == '\'' || *s == '"')
			q = *s;
	}
	return q ? "unterminated quote" : NULL;
}

/* Read the batch: one shell job per line; all checked before any put. */
static size_t
read_batch(struct aq_job *tmpl, struct aq_job **jobsp)
{
	struct aq_job *jobs = NULL;
	size_t n = 0, cap = 0, size = 0;
	char *line = NULL, **argv;
	const char *why;
	ssize_t len;
	long lineno = 0;

	while ((len = getline(&line, &size, stdin)) != -1) {
		lineno++;
		if (memchr(line, '\0', len) != NULL)
			errx(65, "line %ld: NUL byte", lineno);
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (line[strspn(line, " \t")] == '\0' ||
		    line[strspn(line, " \t")] == '#')
			continue;
		if ((why = check_line(line)) != NULL)
			errx(65, "line %ld: %s", lineno, why);
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((jobs = reallocarray(jobs, cap, sizeof(*jobs))) ==
			    NULL)
				err(75, "cannot read batch");
		}
		if ((argv = calloc(4, sizeof(*argv))) == NULL ||
		    (argv[2] = strdup(line)) == NULL)
			err(75, "cannot read batch");
		argv[0] = binsh;
		argv[1] = dashc;
		jobs[n] = *tmpl;
		jobs[n].argv = argv;
		n++;
	}
	if (ferror(stdin))
		err(65, "cannot read batch");
	free(line);
	*jobsp = jobs;
	return n;
}

/* The environment to store: ours, less "_", which differs every time. */
static char **
job_environ(void)
{
	char **env;
	size_t i, n = 0;

	for (i = 0; environ[i] != NULL; i++)
		;
	if ((env = calloc(i + 1, sizeof(*env))) == NULL)
		err(75, "cannot copy the environment");
	for (i = 0; environ[i] != NULL; i++)
		if (strncmp(environ[i], "_=", 2) != 0)
			env[n++] = environ[i];
	return env;
}

/*
 * Wait for the jobs to end; the worst of their statuses, as sh's wait
 * gives them (aq_job_status()).
 */
static int
wait_jobs(struct aq *aq, const struct aq_job *jobs, size_t n)
{
	struct aq_job *j;
	uint64_t *ids;
	size_t i;
	int rc, st, worst = 0;

	if ((ids = reallocarray(NULL, n, sizeof(*ids))) == NULL)
		err(75, "cannot wait");
	for (i = 0; i < n; i++)
		ids[i] = jobs[i].id;
	if ((rc = aq_wait(aq, ids, n, -1)) != AQ_OK)
		errx(rc, "%s", aq_error());
	for (i = 0; i < n; i++) {
		if ((rc = aq_get(aq, ids[i], &j)) != AQ_OK)
			errx(rc, "%s", aq_error());
		if ((st = aq_job_status(j)) > worst)
			worst = st;
		aq_job_free(j);
	}
	free(ids);
	return worst;
}

int
main(int argc, char *argv[])
{
	struct aq_job tmpl, *jobs = NULL;
	struct aq_dep *after = NULL;
	char *quotas[AQ_QUOTAS_MAX + 1];
	size_t nquotas = 0, nafter = 0;
	int child = 0, wait = 0;
	struct aq *aq;
	const char *dir = NULL, *shell = NULL, *errstr;
	char cwd[PATH_MAX], *argv_c[4];
	int batch = 0, ch, rc, delay_set = 0;
	aq_time now = aq_now();
	size_t i, n;

	memset(&tmpl, 0, sizeof(tmpl));
	memset(quotas, 0, sizeof(quotas));
	while ((ch = getopt_long(argc, argv, "+bc:d:hn:p:Q:q:Vw", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case O_AFTER:
		case O_AFTER_ANY:
			if ((after = reallocarray(after, nafter + 1,
			    sizeof(*after))) == NULL)
				err(75, "cannot add a dependency");
			after[nafter].id = job_id(optarg);
			after[nafter++].any = ch == O_AFTER_ANY;
			tmpl.after = after;
			tmpl.nafter = nafter;
			break;
		case O_CHILD:
			child = 1;
			break;
		case 'w':
			wait = 1;
			break;
		case 'b':
			batch = 1;
			break;
		case 'c':
			shell = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			usage(0);
		case 'n':
			if (!aq_valid_name(optarg))
				errx(65, "bad job name '%s'", optarg);
			tmpl.name = optarg;
			break;
		case 'p':
			tmpl.priority = (int32_t)strtonum(optarg, -1000000,
			    1000000, &errstr);
			if (errstr != NULL)
				errx(65, "bad priority '%s'", optarg);
			break;
		case 'Q':
			if (!aq_valid_name(optarg))
				errx(65, "bad quota name '%s'", optarg);
			if (nquotas == AQ_QUOTAS_MAX)
				errx(65, "more than %d quotas", AQ_QUOTAS_MAX);
			quotas[nquotas++] = optarg;
			tmpl.quotas = quotas;
			break;
		case 'q':
			if (!aq_valid_name(optarg))
				errx(65, "bad queue name '%s'", optarg);
			tmpl.queue = optarg;
			break;
		case 'V':
			printf("aq-put (aq) %s\n", PACKAGE_VERSION);
			return 0;
		case O_AT:
			if (aq_parse_time(optarg, now, &tmpl.begin) != AQ_OK)
				errx(65, "bad time '%s'", optarg);
			break;
		case O_AT_MOST_ONCE:
			tmpl.flags |= AQ_JOB_AT_MOST_ONCE;
			break;
		case O_DEADLINE:
			if (aq_parse_time(optarg, now, &tmpl.deadline) !=
			    AQ_OK) {
				int64_t d;

				if (aq_parse_duration(optarg, &d) != AQ_OK)
					errx(65, "bad time '%s'", optarg);
				tmpl.deadline = now + d;
			}
			break;
		case O_HOLD:
			tmpl.flags |= AQ_JOB_HOLD;
			break;
		case O_RETRIES:
			tmpl.retries = (int)strtonum(optarg, 0, 1000, &errstr);
			if (errstr != NULL)
				errx(65, "bad retry count '%s'", optarg);
			break;
		case O_RETRY_DELAY:
			if (aq_parse_duration(optarg, &tmpl.retry_delay) !=
			    AQ_OK)
				errx(65, "bad duration '%s'", optarg);
			delay_set = 1;
			break;
		case O_TIMEOUT:
			if (aq_parse_duration(optarg, &tmpl.timeout) != AQ_OK ||
			    tmpl.timeout == 0)
				errx(65, "bad duration '%s'", optarg);
			break;
		default:
			usage(64);
		}
	}
	argc -= optind;
	argv += optind;
	if (batch + (shell != NULL) + (argc > 0) != 1)
		usage(64);
	if (tmpl.retries > 0 && !delay_set)
		tmpl.retry_delay = 10 * AQ_SEC;
	if (child) {
		const char *p = getenv("AQ_JOB_ID");

		if (p == NULL || *p == '\0')
			errx(64, "--child: AQ_JOB_ID is not set: only a job that "
			    "runs has children");
		tmpl.parent = job_id(p);
	}

	if (getcwd(cwd, sizeof(cwd)) == NULL)
		err(65, "cannot get the working directory");
	tmpl.cwd = cwd;
	tmpl.envp = job_environ();
	if (batch) {
		tmpl.flags |= AQ_JOB_SHELL;
		if (tmpl.name == NULL)
			tmpl.name = sh;
		if ((n = read_batch(&tmpl, &jobs)) == 0)
			return 0;
	} else {
		n = 1;
		jobs = &tmpl;
		if (shell != NULL) {
			argv_c[0] = binsh;
			argv_c[1] = dashc;
			argv_c[2] = (char *)shell;
			argv_c[3] = NULL;
			tmpl.argv = argv_c;
			tmpl.flags |= AQ_JOB_SHELL;
			if (tmpl.name == NULL)
				tmpl.name = sh;
		} else {
			tmpl.argv = argv;
			if (tmpl.name == NULL)
				tmpl.name = strrchr(argv[0], '/') ?
				    strrchr(argv[0], '/') + 1 : argv[0];
			if (!aq_valid_name(tmpl.name))
				tmpl.name = job;
		}
	}

	if ((rc = aq_open(&aq, dir, AQ_OPEN_CREATE)) != AQ_OK)
		errx(rc, "%s", aq_error());
	if ((rc = aq_put(aq, jobs, n)) != AQ_OK) {
		aq_close(aq);
		errx(rc, "%s", aq_error());
	}
	for (i = 0; i < n; i++)
		printf("%llu\n", (unsigned long long)jobs[i].id);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		aq_close(aq);
		err(75, "cannot write job ids");
	}
	rc = wait ? wait_jobs(aq, jobs, n) : 0;
	aq_close(aq);
	if (jobs != &tmpl) {
		/* A batch: each line's argv is {sh, -c, its copy}. */
		for (i = 0; i < n; i++) {
			free(jobs[i].argv[2]);
			free(jobs[i].argv);
		}
		free(jobs);
	}
	free(tmpl.envp);
	free(after);
	return rc;
}
