/*
 * aq-claim: take a job for a script that runs it itself, and tell how it
 * ended.
 *
 * A claim is a lease: the job is this claimer's until the lease runs out,
 * after which any claimer treats it as interrupted and puts it back.  Each
 * claim gets a fresh owner UUID; --done, --release and --touch name the
 * job by id, as a script that claimed it would.
 */
#include "config.h"

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uuid.h>

#include "aq.h"

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: aq-claim [-hV] [--json] [-d dir] [-l lease] [-q queue]... "
	    "[-w seconds]\n"
	    "       aq-claim [-d dir] --done id [-x status]\n"
	    "       aq-claim [-d dir] --release id [--delay duration]\n"
	    "       aq-claim [-d dir] --touch id [-l lease]\n");
	exit(code);
}

enum { O_DELAY = 256, O_DONE, O_JSON, O_RELEASE, O_TOUCH };

static const struct option longopts[] = {
	{ "delay", required_argument, NULL, O_DELAY },
	{ "dir", required_argument, NULL, 'd' },
	{ "done", required_argument, NULL, O_DONE },
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, O_JSON },
	{ "lease", required_argument, NULL, 'l' },
	{ "queue", required_argument, NULL, 'q' },
	{ "release", required_argument, NULL, O_RELEASE },
	{ "touch", required_argument, NULL, O_TOUCH },
	{ "version", no_argument, NULL, 'V' },
	{ "wait", required_argument, NULL, 'w' },
	{ "exit", required_argument, NULL, 'x' },
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

int
main(int argc, char *argv[])
{
	struct aq_claim_opts o;
	struct aq_result res;
	struct aq_job *job;
	struct aq *aq;
	const char *dir = NULL, *errstr, **queues = NULL;
	char *out;
	int ch, rc, json = 0, verb = 0, status = -1;
	int64_t delay = 0, lease = 0, wait = 0;
	uint64_t id = 0;
	size_t nq = 0;

	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "d:hl:q:Vw:x:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			usage(0);
		case 'l':
			if (aq_parse_duration(optarg, &lease) != AQ_OK ||
			    lease == 0)
				errx(65, "bad duration '%s'", optarg);
			break;
		case 'q':
			if (!aq_valid_name(optarg))
				errx(65, "bad queue name '%s'", optarg);
			if ((queues = reallocarray(queues, nq + 1,
			    sizeof(*queues))) == NULL)
				err(75, "cannot add queue");
			queues[nq++] = optarg;
			break;
		case 'V':
			printf("aq-claim (aq) %s\n", PACKAGE_VERSION);
			return 0;
		case 'w':
			if (aq_parse_duration(optarg, &wait) != AQ_OK)
				errx(65, "bad duration '%s'", optarg);
			break;
		case 'x':
			status = (int)strtonum(optarg, 0, 255, &errstr);
			if (errstr != NULL)
				errx(65, "bad exit status '%s'", optarg);
			break;
		case O_DELAY:
			if (aq_parse_duration(optarg, &delay) != AQ_OK)
				errx(65, "bad duration '%s'", optarg);
			break;
		case O_DONE:
		case O_RELEASE:
		case O_TOUCH:
			if (verb != 0)
				usage(64);
			verb = ch;
			id = job_id(optarg);
			break;
		case O_JSON:
			json = 1;
			break;
		default:
			usage(64);
		}
	}
	argc -= optind;
	if (argc != 0 || (status != -1 && verb != O_DONE) ||
	    (delay != 0 && verb != O_RELEASE) ||
	    (verb != 0 && (nq > 0 || wait != 0 || json)) ||
	    (lease != 0 && verb != 0 && verb != O_TOUCH))
		usage(64);

	if ((rc = aq_open(&aq, dir, AQ_OPEN_CREATE)) != AQ_OK)
		errx(rc, "%s", aq_error());
	switch (verb) {
	case O_DONE:
		memset(&res, 0, sizeof(res));
		res.exit_code = status == -1 ? 0 : status;
		rc = aq_done(aq, id, NULL, &res);
		break;
	case O_RELEASE:
		rc = aq_release(aq, id, NULL, delay);
		break;
	case O_TOUCH:
		rc = aq_touch(aq, id, NULL, lease);
		break;
	default:
		o.queues = queues;
		o.nqueues = nq;
		o.lease = lease;
		uuid_generate(o.owner);
		rc = aq_claim_wait(aq, &o, wait, 0, &job);
		break;
	}
	aq_close(aq);
	if (rc == AQ_NO && verb == 0)
		return 1;
	if (rc != AQ_OK)
		errx(rc, "%s", aq_error());
	if (verb != 0)
		return 0;
	out = json ? aq_job_json(job) : aq_job_cmdline(job);
	if (out == NULL)
		err(75, "cannot format job %llu", (unsigned long long)job->id);
	if (json)
		printf("%s\n", out);
	else
		printf("%llu\t%s\n", (unsigned long long)job->id, out);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(75, "cannot write job %llu", (unsigned long long)job->id);
	free(out);
	aq_job_free(job);
	return 0;
}
