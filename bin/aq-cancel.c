/*
 * aq-cancel: cancel jobs.
 *
 * A pending job ends cancelled at once; a running one is stopped by its
 * worker within a second and ends cancelled; the jobs that needed it to
 * end ok are skipped.  A job that is done already is told and left alone.
 * Each job is cancelled on its own: one that is missing or done does not
 * keep the others from being cancelled.
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
	    "usage: aq-cancel [-hVw] [-d dir] id ...\n");
	exit(code);
}

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "wait", no_argument, NULL, 'w' },
	{ NULL, 0, NULL, 0 }
};

int
main(int argc, char *argv[])
{
	struct aq *aq;
	const char *dir = NULL;
	uint64_t *ids;
	size_t nasked = 0;
	int ch, rc, i, worst = 0, wait = 0, asked;

	while ((ch = getopt_long(argc, argv, "d:hVw", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			usage(0);
		case 'V':
			printf("aq-cancel (aq) %s\n", PACKAGE_VERSION);
			return 0;
		case 'w':
			wait = 1;
			break;
		default:
			usage(64);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage(64);
	if ((ids = calloc((size_t)argc, sizeof(*ids))) == NULL)
		err(75, "cannot list jobs");
	for (i = 0; i < argc; i++)
		if (aq_parse_id(argv[i], &ids[i]) != AQ_OK)
			errx(65, "%s", aq_error());

	if ((rc = aq_open(&aq, dir, 0)) != AQ_OK)
		errx(rc, "%s", aq_error());
	for (i = 0; i < argc; i++) {
		if ((rc = aq_cancel(aq, ids[i], &asked)) != AQ_OK) {
			warnx("%s", aq_error());
			if (rc > worst)
				worst = rc;
			ids[i] = 0;
			continue;
		}
		if (asked)
			ids[nasked++] = ids[i];
	}
	/* With -w: until the workers have stopped the running ones. */
	if (wait && nasked > 0 && (rc = aq_wait(aq, ids, nasked, -1)) !=
	    AQ_OK) {
		warnx("%s", aq_error());
		if (rc > worst)
			worst = rc;
	}
	aq_close(aq);
	free(ids);
	return worst;
}
