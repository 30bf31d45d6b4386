/*
 * aq-job: change pending jobs: hold them, release them, set their
 * priority or the quotas they name.
 *
 * Every job named changes in one transaction, or none does: a job that is
 * not pending, a missing job or an unknown quota leaves them all as they
 * were.
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
	    "usage: aq-job [-hV] [-d dir] [--hold | --release] [-p priority] "
	    "[-Q quota]... [--no-quotas]\n"
	    "              id ...\n");
	exit(code);
}

enum { O_HOLD = 256, O_NOQUOTAS, O_RELEASE };

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ "hold", no_argument, NULL, O_HOLD },
	{ "no-quotas", no_argument, NULL, O_NOQUOTAS },
	{ "priority", required_argument, NULL, 'p' },
	{ "quota", required_argument, NULL, 'Q' },
	{ "release", no_argument, NULL, O_RELEASE },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

int
main(int argc, char *argv[])
{
	struct aq_change c;
	struct aq *aq;
	char *quotas[AQ_QUOTAS_MAX + 1];
	const char *dir = NULL, *errstr;
	uint64_t *ids;
	size_t nquotas = 0, k;
	int ch, rc, noquotas = 0, i;

	memset(&c, 0, sizeof(c));
	memset(quotas, 0, sizeof(quotas));
	while ((ch = getopt_long(argc, argv, "d:hp:Q:V", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			usage(0);
		case 'p':
			c.priority = (int32_t)strtonum(optarg, -1000000,
			    1000000, &errstr);
			if (errstr != NULL)
				errx(65, "bad priority '%s'", optarg);
			c.what |= AQ_CHANGE_PRIORITY;
			break;
		case 'Q':
			if (!aq_valid_name(optarg))
				errx(65, "bad quota name '%s'", optarg);
			if (nquotas == AQ_QUOTAS_MAX)
				errx(65, "more than %d quotas", AQ_QUOTAS_MAX);
			quotas[nquotas++] = optarg;
			c.what |= AQ_CHANGE_QUOTAS;
			break;
		case 'V':
			printf("aq-job (aq) %s\n", PACKAGE_VERSION);
			return 0;
		case O_HOLD:
			c.what |= AQ_CHANGE_HOLD;
			break;
		case O_NOQUOTAS:
			noquotas = 1;
			c.what |= AQ_CHANGE_QUOTAS;
			break;
		case O_RELEASE:
			c.what |= AQ_CHANGE_RELEASE;
			break;
		default:
			usage(64);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 || c.what == 0 || (noquotas && nquotas > 0) ||
	    ((c.what & AQ_CHANGE_HOLD) && (c.what & AQ_CHANGE_RELEASE)))
		usage(64);
	c.quotas = quotas;
	if ((ids = calloc((size_t)argc, sizeof(*ids))) == NULL)
		err(75, "cannot list jobs");
	for (i = 0; i < argc; i++)
		if (aq_parse_id(argv[i], &ids[i]) != AQ_OK)
			errx(65, "%s", aq_error());
	/* The same job twice would be changed twice over: once is enough. */
	for (i = 0, k = 0; i < argc; i++) {
		size_t d;

		for (d = 0; d < k && ids[d] != ids[i]; d++)
			;
		if (d == k)
			ids[k++] = ids[i];
	}

	if ((rc = aq_open(&aq, dir, 0)) != AQ_OK)
		errx(rc, "%s", aq_error());
	rc = aq_change(aq, ids, k, &c);
	aq_close(aq);
	free(ids);
	if (rc != AQ_OK)
		errx(rc, "%s", aq_error());
	return 0;
}
