/*
 * aq-note: set, read and list the live notes of a job, zc.async's live
 * annotations: a job reports how far it got, a person answers it.
 *
 *   aq-note [ID] KEY=VALUE   set (an empty VALUE is a note too)
 *   aq-note [ID] KEY         print the value; -w waits for it
 *   aq-note [ID]             list KEY=VALUE lines
 *   aq-note -r [ID] KEY      remove
 *
 * Inside a job, ID is $AQ_JOB_ID.  A note key is never all digits, so a
 * first operand of digits is always the job's id.
 */
#include "config.h"

#include <ctype.h>
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
	    "usage: aq-note [-hV] [--json] [-d dir] [id]\n"
	    "       aq-note [-d dir] [-w duration] [id] key\n"
	    "       aq-note [-d dir] [id] key=value\n"
	    "       aq-note [-d dir] -r [id] key\n");
	exit(code);
}

enum { O_JSON = 256 };

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, O_JSON },
	{ "remove", no_argument, NULL, 'r' },
	{ "version", no_argument, NULL, 'V' },
	{ "wait", required_argument, NULL, 'w' },
	{ NULL, 0, NULL, 0 }
};

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static uint64_t
job_id(const char *s, const char *what)
{
	uint64_t id;

	if (aq_parse_id(s, &id) != AQ_OK)
		errx(65, "%s%s", aq_error(), what);
	return id;
}

static void
json_str(const char *s)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (aq_json_string(&buf, &len, &cap, s) == -1)
		err(75, "cannot format a note");
	fputs(buf, stdout);
	free(buf);
}

int
main(int argc, char *argv[])
{
	struct aq_note *notes;
	struct aq *aq;
	const char *dir = NULL, *env;
	char *key = NULL, *value = NULL, *got = NULL, *eq;
	int64_t wait = 0;
	uint64_t id = 0;
	size_t n, i;
	int ch, rc, json = 0, rm = 0, waiting = 0;

	while ((ch = getopt_long(argc, argv, "d:hrVw:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			usage(0);
		case 'r':
			rm = 1;
			break;
		case 'V':
			printf("aq-note (aq) %s\n", PACKAGE_VERSION);
			return 0;
		case 'w':
			if (aq_parse_duration(optarg, &wait) != AQ_OK)
				errx(65, "bad duration '%s'", optarg);
			waiting = 1;
			break;
		case O_JSON:
			json = 1;
			break;
		default:
			usage(64);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 2)
		usage(64);
	if (argc > 0 && all_digits(argv[0])) {
		id = job_id(argv[0], "");
		argc--;
		argv++;
	}
	if (argc > 1)
		usage(64);
	if (argc == 1) {
		key = argv[0];
		if ((eq = strchr(key, '=')) != NULL) {
			*eq = '\0';
			value = eq + 1;
		}
		if (!aq_valid_note_key(key))
			errx(65, "bad note key '%s'", key);
	}
	/* -w only to read a key, -r only to remove one, --json only to list. */
	if ((waiting && (key == NULL || value != NULL)) ||
	    (rm && (key == NULL || value != NULL)) || (rm && waiting) ||
	    (json && key != NULL))
		usage(64);
	if (id == 0) {
		if ((env = getenv("AQ_JOB_ID")) == NULL || *env == '\0')
			errx(64, "no job id given, and AQ_JOB_ID is not set");
		id = job_id(env, " in AQ_JOB_ID");
	}

	if ((rc = aq_open(&aq, dir, 0)) != AQ_OK)
		errx(rc, "%s", aq_error());
	if (key == NULL) {
		if ((rc = aq_notes(aq, id, &notes, &n)) == AQ_OK) {
			if (json)
				putchar('{');
			for (i = 0; i < n; i++) {
				if (json) {
					if (i > 0)
						putchar(',');
					json_str(notes[i].key);
					putchar(':');
					json_str(notes[i].value);
				} else
					printf("%s=%s\n", notes[i].key,
					    notes[i].value);
			}
			if (json)
				puts("}");
			aq_notes_free(notes, n);
		}
	} else if (value != NULL || rm)
		rc = aq_note_set(aq, id, key, value);
	else if (waiting)
		rc = aq_note_wait(aq, id, key, wait, &got);
	else
		rc = aq_note_get(aq, id, key, &got);
	aq_close(aq);
	if (rc == AQ_NO && got == NULL && !rm && value == NULL) {
		/* No such note (yet): say it, as a script tests it. */
		warnx("%s", aq_error());
		return 1;
	}
	if (rc != AQ_OK)
		errx(rc, "%s", aq_error());
	if (got != NULL) {
		printf("%s\n", got);
		free(got);
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		err(75, "cannot write");
	return 0;
}
