/*
 * aq-quota: list, make, resize and remove quotas, counted resources that
 * every queue and worker share: a job that names quotas runs only while
 * each has room.
 *
 * With no verb it lists them; the verbs are add, set, rm and show, each
 * on one quota.  The rules are zc.async's (see aq-quota(1)); the
 * library keeps them.
 */
#include "config.h"

#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aq.h"

#define SIZE_MAX_Q	1000000000LL

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: aq-quota [-hV] [--json] [-d dir]\n"
	    "       aq-quota [-d dir] add name [size]\n"
	    "       aq-quota [-d dir] set name size\n"
	    "       aq-quota [-d dir] rm name\n"
	    "       aq-quota [--json] [-d dir] show name\n");
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
size_arg(const char *s)
{
	const char *errstr;
	long long n;

	n = strtonum(s, 0, SIZE_MAX_Q, &errstr);
	if (errstr != NULL)
		errx(65, "bad quota size '%s'", s);
	return (uint64_t)n;
}

static void
json_name(const char *name)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (aq_json_string(&buf, &len, &cap, name) == -1)
		err(75, "cannot format quota '%s'", name);
	fputs(buf, stdout);
	free(buf);
}

static void
json_quota(const struct aq_quota *q)
{
	char when[40];

	fputs("{\"name\":", stdout);
	json_name(q->name);
	aq_format_time(q->created, when, sizeof(when));
	printf(",\"size\":%llu,\"used\":%llu,\"waiting\":%llu,"
	    "\"created\":\"%s\"", (unsigned long long)q->size,
	    (unsigned long long)q->used, (unsigned long long)q->waiting, when);
}

static void
ids(const char *label, const uint64_t *v, size_t n, int json)
{
	size_t i;

	if (json)
		printf(",\"%s\":[", label);
	else
		printf("%s:", label);
	for (i = 0; i < n; i++)
		printf("%s%llu", json ? (i > 0 ? "," : "") : " ",
		    (unsigned long long)v[i]);
	printf(json ? "]" : "\n");
}

static int
list(struct aq *aq, int json)
{
	struct aq_quota *q;
	size_t n, i;
	int rc, w = 5;

	if ((rc = aq_quotas(aq, &q, &n)) != AQ_OK)
		return rc;
	for (i = 0; i < n; i++)
		if ((int)strlen(q[i].name) > w)
			w = (int)strlen(q[i].name);
	if (json) {
		fputs("{\"quotas\":[", stdout);
		for (i = 0; i < n; i++) {
			if (i > 0)
				putchar(',');
			json_quota(&q[i]);
			putchar('}');
		}
		puts("]}");
	} else {
		if (n > 0)
			printf("%-*s %10s %10s %10s\n", w, "QUOTA", "SIZE",
			    "USED", "WAITING");
		for (i = 0; i < n; i++)
			printf("%-*s %10llu %10llu %10llu\n", w, q[i].name,
			    (unsigned long long)q[i].size,
			    (unsigned long long)q[i].used,
			    (unsigned long long)q[i].waiting);
	}
	free(q);
	return AQ_OK;
}

static int
show(struct aq *aq, const char *name, int json)
{
	struct aq_quota q;
	uint64_t *held, *waiting;
	size_t nheld, nwaiting;
	int rc;

	if ((rc = aq_quota_show(aq, name, &q, &held, &nheld, &waiting,
	    &nwaiting)) != AQ_OK)
		return rc;
	if (json) {
		json_quota(&q);
		ids("held_by", held, nheld, 1);
		ids("waiting_jobs", waiting, nwaiting, 1);
		puts("}");
	} else {
		printf("quota %s: size %llu, used %llu, waiting %llu\n",
		    q.name, (unsigned long long)q.size,
		    (unsigned long long)q.used,
		    (unsigned long long)q.waiting);
		ids("held by", held, nheld, 0);
		ids("waiting", waiting, nwaiting, 0);
	}
	free(held);
	free(waiting);
	return AQ_OK;
}

int
main(int argc, char *argv[])
{
	struct aq *aq;
	const char *dir = NULL, *verb, *name = NULL;
	uint64_t size = 1;
	int ch, rc, json = 0;

	while ((ch = getopt_long(argc, argv, "+d:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			usage(0);
		case 'V':
			printf("aq-quota (aq) %s\n", PACKAGE_VERSION);
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
	verb = argc > 0 ? argv[0] : NULL;
	if (verb == NULL) {
		/* the list */
	} else if (strcmp(verb, "add") == 0 && (argc == 2 || argc == 3) &&
	    !json) {
		if (argc == 3)
			size = size_arg(argv[2]);
	} else if (strcmp(verb, "set") == 0 && argc == 3 && !json)
		size = size_arg(argv[2]);
	else if (strcmp(verb, "rm") == 0 && argc == 2 && !json)
		;
	else if (strcmp(verb, "show") == 0 && argc == 2)
		;
	else
		usage(64);
	if (verb != NULL) {
		name = argv[1];
		if (!aq_valid_name(name))
			errx(65, "bad quota name '%s'", name);
	}

	/* Only add makes an environment: the others need a quota there. */
	if ((rc = aq_open(&aq, dir, verb != NULL && strcmp(verb, "add") == 0 ?
	    AQ_OPEN_CREATE : 0)) != AQ_OK)
		errx(rc, "%s", aq_error());
	if (verb == NULL)
		rc = list(aq, json);
	else if (strcmp(verb, "add") == 0)
		rc = aq_quota_add(aq, name, size);
	else if (strcmp(verb, "set") == 0)
		rc = aq_quota_set(aq, name, size);
	else if (strcmp(verb, "rm") == 0)
		rc = aq_quota_rm(aq, name);
	else
		rc = show(aq, name, json);
	aq_close(aq);
	if (rc != AQ_OK)
		errx(rc, "%s", aq_error());
	if (fflush(stdout) == EOF || ferror(stdout))
		err(75, "cannot write");
	return 0;
}
