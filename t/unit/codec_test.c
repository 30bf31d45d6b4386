/*
 * codec_test.c: unit tests of lib/codec.c (keys and job records) and
 * lib/text.c (names, JSON, shell quoting).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aq.h"
#include "internal.h"

/* struct aq_job has char *; the tests fill it with literals. */
#define S(s)	((char *)(s))

/* Tags of the record format (codec.c); tests build records by hand. */
enum {
	TAG_QUEUE = 1, TAG_NAME = 2, TAG_ARGV = 3, TAG_ENV = 4, TAG_CWD = 5,
	TAG_PRIO = 6, TAG_STATE = 14, TAG_OUTCOME = 15, TAG_WORKER = 20
};

static char *argv_ab[] = { S("a b"), S("c"), NULL };

static const unsigned char uuid1[AQ_UUID_LEN] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff
};

/* ---- helpers ---- */

static void
buf_free(struct aq__buf *b)
{
	aq__free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Append bytes to a hand-made record. */
static void
raw(struct aq__buf *b, const void *p, size_t n)
{
	assert_int_equal(aq__buf_put(b, p, n), 0);
}

static void
raw_field(struct aq__buf *b, int tag, const void *p, size_t n)
{
	assert_true(n < 128);
	assert_int_equal(aq__buf_u8(b, (unsigned)tag), 0);
	assert_int_equal(aq__buf_u8(b, (unsigned)n), 0);
	raw(b, p, n);
}

/* A zigzag varint field with a one-byte value. */
static void
raw_int(struct aq__buf *b, int tag, int v)
{
	unsigned char z = (unsigned char)(v >= 0 ? 2 * v : -2 * v - 1);

	assert_true(v > -64 && v < 64);
	raw_field(b, tag, &z, 1);
}

/* The smallest good record: a queue and an argv. */
static void
raw_minimal(struct aq__buf *b)
{
	raw_field(b, TAG_QUEUE, "q", 2);
	raw_field(b, TAG_ARGV, "a\0b", 4);
}

/* Field boundaries of a record: offsets after each field, in *ends. */
static size_t
field_ends(const unsigned char *p, size_t len, size_t *ends, size_t max)
{
	size_t off = 0, n = 0;

	while (off < len) {
		uint64_t flen = 0;
		int shift = 0;

		off++;			/* tag */
		for (;;) {
			unsigned char c;

			assert_true(off < len);
			c = p[off++];
			flen |= (uint64_t)(c & 0x7f) << shift;
			if (!(c & 0x80))
				break;
			shift += 7;
		}
		off += flen;
		assert_true(off <= len);
		assert_true(n < max);
		ends[n++] = off;
	}
	return n;
}

/* The job of the round trip: every field away from its zero value. */
static void
full_job(struct aq_job *j, char **argv)
{
	memset(j, 0, sizeof(*j));
	j->id = 77;
	j->queue = S("queue-1");
	j->name = S("the.name");
	j->argv = argv;
	j->cwd = S("/some/where");
	j->priority = -42;
	j->flags = AQ_JOB_SHELL | AQ_JOB_HOLD | AQ_JOB_AT_MOST_ONCE;
	j->created = (aq_time)1795219200 * AQ_SEC + 123456;
	j->begin = INT64_MAX - 1;
	j->deadline = (aq_time)253402300799LL * AQ_SEC;
	j->timeout = 3600 * AQ_SEC;
	j->retries = 7;
	j->retry_delay = 1500000;
	j->state = AQ_DONE;
	j->reason = AQ_READY;
	j->outcome = AQ_OUT_FAILED;
	j->attempt = 3;
	j->interrupts = 2;
	j->exit_code = 0;
	j->signal = 15;
	memcpy(j->worker, uuid1, AQ_UUID_LEN);
	j->started = -5 * AQ_SEC;
	j->ended = INT64_MIN;
	j->lease = INT64_MAX;
	j->utime = 1;
	j->stime = 300000;
	j->maxrss = (int64_t)1 << 40;
	j->output_size = ((int64_t)1 << 62) + 3;
}

static void
assert_same_job(const struct aq_job *a, const struct aq_job *b)
{
	assert_string_equal(a->queue, b->queue);
	if (a->name == NULL || b->name == NULL)
		assert_ptr_equal(a->name, b->name);
	else
		assert_string_equal(a->name, b->name);
	if (a->cwd == NULL || b->cwd == NULL)
		assert_ptr_equal(a->cwd, b->cwd);
	else
		assert_string_equal(a->cwd, b->cwd);
	assert_int_equal(a->priority, b->priority);
	assert_int_equal(a->flags, b->flags);
	assert_true(a->created == b->created);
	assert_true(a->begin == b->begin);
	assert_true(a->deadline == b->deadline);
	assert_true(a->timeout == b->timeout);
	assert_int_equal(a->retries, b->retries);
	assert_true(a->retry_delay == b->retry_delay);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->outcome, b->outcome);
	assert_int_equal(a->attempt, b->attempt);
	assert_int_equal(a->interrupts, b->interrupts);
	assert_int_equal(a->exit_code, b->exit_code);
	assert_int_equal(a->signal, b->signal);
	assert_memory_equal(a->worker, b->worker, AQ_UUID_LEN);
	assert_true(a->started == b->started);
	assert_true(a->ended == b->ended);
	assert_true(a->lease == b->lease);
	assert_true(a->utime == b->utime);
	assert_true(a->stime == b->stime);
	assert_true(a->maxrss == b->maxrss);
	assert_true(a->output_size == b->output_size);
}

/* ---- records ---- */

static void
test_roundtrip_full(void **state)
{
	char *argv[] = { S("/bin/sh"), S("-c"), S("echo 'hi' \"there\""),
	    S(""), NULL };
	struct aq__buf b = { NULL, 0, 0 };
	struct aq__rec r;
	struct aq_job j;

	(void)state;
	full_job(&j, argv);
	assert_int_equal(aq__job_encode(&j, NULL, 0, 0x0102030405060708ULL,
	    &b), 0);
	assert_true(b.len > 0);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), 0);
	assert_same_job(&r.j, &j);
	assert_true(r.envkey == 0x0102030405060708ULL);
	/* argv is left packed: the strings back to back, each with its NUL. */
	assert_int_equal(r.argvlen, sizeof("/bin/sh") + sizeof("-c") +
	    sizeof("echo 'hi' \"there\"") + 1);
	assert_memory_equal(r.argvp, "/bin/sh\0-c\0echo 'hi' \"there\"\0",
	    r.argvlen);
	/* Strings point into the record. */
	assert_true((const unsigned char *)r.j.queue >= b.p &&
	    (const unsigned char *)r.j.queue < b.p + b.len);
	buf_free(&b);
}

static void
test_roundtrip_exit_none_and_defaults(void **state)
{
	struct aq__buf b = { NULL, 0, 0 };
	struct aq__rec r;
	struct aq_job j;

	(void)state;
	memset(&j, 0, sizeof(j));
	j.queue = S("default");
	j.argv = argv_ab;
	j.exit_code = -1;
	assert_int_equal(aq__job_encode(&j, NULL, 0, 0, &b), 0);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), 0);
	assert_same_job(&r.j, &j);
	assert_int_equal(r.j.exit_code, -1);
	assert_null(r.j.name);
	assert_null(r.j.cwd);
	assert_true(r.envkey == 0);
	assert_true(aq_uuid_is_null(r.j.worker));
	buf_free(&b);

	/* Exit status 0 is not "none". */
	j.exit_code = 0;
	assert_int_equal(aq__job_encode(&j, NULL, 0, 0, &b), 0);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), 0);
	assert_int_equal(r.j.exit_code, 0);
	buf_free(&b);

	j.exit_code = 255;
	assert_int_equal(aq__job_encode(&j, NULL, 0, 0, &b), 0);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), 0);
	assert_int_equal(r.j.exit_code, 255);
	buf_free(&b);
}

static void
test_roundtrip_extreme_ints(void **state)
{
	static const int32_t prios[] = { INT32_MIN, -1, 0, 1, 63, 64,
	    INT32_MAX };
	static const int64_t times[] = { INT64_MIN, INT64_MIN + 1, -1, 1,
	    127, 128, INT64_MAX };
	struct aq__buf b = { NULL, 0, 0 };
	struct aq__rec r;
	struct aq_job j;
	size_t i;

	(void)state;
	memset(&j, 0, sizeof(j));
	j.queue = S("q");
	j.argv = argv_ab;
	j.exit_code = -1;
	for (i = 0; i < sizeof(prios) / sizeof(prios[0]); i++) {
		j.priority = prios[i];
		j.begin = j.lease = j.created = times[i];
		j.timeout = -times[i] / 2;
		assert_int_equal(aq__job_encode(&j, NULL, 0, 0, &b), 0);
		assert_int_equal(aq__job_decode(b.p, b.len, &r), 0);
		assert_same_job(&r.j, &j);
		buf_free(&b);
	}
}

/* Re-encoding a decoded record from its packed argv gives the same bytes. */
static void
test_reencode_from_record(void **state)
{
	char *argv[] = { S("x"), S("y z"), NULL };
	struct aq__buf b = { NULL, 0, 0 }, b2 = { NULL, 0, 0 };
	struct aq__rec r;
	struct aq_job j;

	(void)state;
	full_job(&j, argv);
	assert_int_equal(aq__job_encode(&j, NULL, 0, 99, &b), 0);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), 0);
	assert_int_equal(aq__job_encode(&r.j, r.argvp, r.argvlen, r.envkey,
	    &b2), 0);
	assert_int_equal(b.len, b2.len);
	assert_memory_equal(b.p, b2.p, b.len);
	buf_free(&b);
	buf_free(&b2);
}

static void
test_decode_skips_unknown_tags(void **state)
{
	unsigned char big[200];
	struct aq__buf b = { NULL, 0, 0 }, x = { NULL, 0, 0 };
	struct aq__rec r;
	struct aq_job j;
	unsigned char hdr[3];

	(void)state;
	full_job(&j, argv_ab);
	assert_int_equal(aq__job_encode(&j, NULL, 0, 5, &b), 0);
	/* A field of a later format, appended. */
	raw_field(&b, 0x7e, "xyz", 3);
	/* One with a two-byte length and bytes that look like fields. */
	memset(big, TAG_STATE, sizeof(big));
	hdr[0] = 0x7f;
	hdr[1] = 0x80 | (sizeof(big) & 0x7f);
	hdr[2] = sizeof(big) >> 7;
	raw(&b, hdr, 3);
	raw(&b, big, sizeof(big));
	/* And an empty one. */
	raw_field(&b, 200, "", 0);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), 0);
	assert_same_job(&r.j, &j);
	assert_true(r.envkey == 5);

	/* Unknown tags first, known fields after them. */
	raw_field(&x, 99, "\x01\x02", 2);
	raw_minimal(&x);
	raw_int(&x, TAG_PRIO, -3);
	assert_int_equal(aq__job_decode(x.p, x.len, &r), 0);
	assert_string_equal(r.j.queue, "q");
	assert_int_equal(r.j.priority, -3);
	buf_free(&b);
	buf_free(&x);
}

static void
test_decode_minimal(void **state)
{
	struct aq__buf b = { NULL, 0, 0 };
	struct aq__rec r;

	(void)state;
	raw_minimal(&b);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), 0);
	assert_string_equal(r.j.queue, "q");
	assert_int_equal(r.argvlen, 4);
	assert_int_equal(r.j.exit_code, -1);
	assert_int_equal(r.j.state, AQ_PENDING);
	assert_int_equal(r.j.outcome, AQ_NONE);
	assert_null(r.j.name);
	buf_free(&b);
}

static void
test_decode_empty(void **state)
{
	struct aq__rec r;
	unsigned char z = 0;

	(void)state;
	assert_int_equal(aq__job_decode(&z, 0, &r), -1);
}

/* Every cut inside a field is caught, so is every cut before argv. */
static void
test_decode_truncated(void **state)
{
	struct aq__buf b = { NULL, 0, 0 };
	struct aq__rec r;
	struct aq_job j;
	size_t ends[64], nends, cut, k, argv_end = 0;

	(void)state;
	full_job(&j, argv_ab);
	assert_int_equal(aq__job_encode(&j, NULL, 0, 0x1234, &b), 0);
	nends = field_ends(b.p, b.len, ends, 64);
	assert_true(nends >= 20);
	/* queue, name, argv come first. */
	argv_end = ends[2];
	assert_int_equal(b.p[ends[1]], TAG_ARGV);
	for (cut = 0; cut < b.len; cut++) {
		int boundary = 0;

		for (k = 0; k < nends; k++)
			if (ends[k] == cut)
				boundary = 1;
		if (!boundary || cut < argv_end) {
			if (aq__job_decode(b.p, cut, &r) != -1)
				fail_msg("record cut at %zu of %zu decoded",
				    cut, b.len);
		}
	}
	/* Losing only the last byte (inside the last field) is corrupt. */
	assert_int_equal(aq__job_decode(b.p, b.len - 1, &r), -1);
	buf_free(&b);
}

static void
test_decode_string_without_nul(void **state)
{
	struct aq__buf b = { NULL, 0, 0 };
	struct aq__rec r;

	(void)state;
	raw_field(&b, TAG_QUEUE, "abc", 3);
	raw_field(&b, TAG_ARGV, "a", 2);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), -1);
	buf_free(&b);

	raw_minimal(&b);
	raw_field(&b, TAG_NAME, "name", 4);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), -1);
	buf_free(&b);

	raw_minimal(&b);
	raw_field(&b, TAG_CWD, "/tmp", 4);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), -1);
	buf_free(&b);

	/* An argv whose last string is not ended. */
	raw_field(&b, TAG_QUEUE, "q", 2);
	raw_field(&b, TAG_ARGV, "a\0b", 3);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), -1);
	buf_free(&b);

	/* Empty strings: a queue must at least have its NUL. */
	raw_field(&b, TAG_QUEUE, "", 0);
	raw_field(&b, TAG_ARGV, "a", 2);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), -1);
	buf_free(&b);

	raw_field(&b, TAG_QUEUE, "q", 2);
	raw_field(&b, TAG_ARGV, "", 0);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), -1);
	buf_free(&b);
}

static void
test_decode_other_corruption(void **state)
{
	unsigned char bad[16], lenonly[2] = { TAG_QUEUE, 0x80 };
	struct aq__buf b = { NULL, 0, 0 };
	struct aq__rec r;

	(void)state;
	memset(bad, 0xff, sizeof(bad));

	/* No queue, or no argv. */
	raw_field(&b, TAG_ARGV, "a", 2);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), -1);
	buf_free(&b);
	raw_field(&b, TAG_QUEUE, "q", 2);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), -1);
	buf_free(&b);

	/* A length that runs past the end, or never ends. */
	assert_int_equal(aq__job_decode(lenonly, 2, &r), -1);
	raw_minimal(&b);
	raw(&b, "\x01\x7f", 2);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), -1);
	buf_free(&b);
	raw_minimal(&b);
	raw(&b, "\x01", 1);
	raw(&b, bad, sizeof(bad));
	assert_int_equal(aq__job_decode(b.p, b.len, &r), -1);
	buf_free(&b);

	/* Fixed-size fields of the wrong size. */
	raw_minimal(&b);
	raw_field(&b, TAG_WORKER, uuid1, AQ_UUID_LEN - 1);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), -1);
	buf_free(&b);
	raw_minimal(&b);
	raw_field(&b, TAG_ENV, "1234567", 7);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), -1);
	buf_free(&b);

	/* An integer field whose varint does not end inside it. */
	raw_minimal(&b);
	raw_field(&b, TAG_PRIO, "\x80\x80", 2);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), -1);
	buf_free(&b);

	/* A state or outcome out of range. */
	raw_minimal(&b);
	raw_int(&b, TAG_STATE, 3);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), -1);
	buf_free(&b);
	raw_minimal(&b);
	raw_int(&b, TAG_STATE, -1);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), -1);
	buf_free(&b);
	raw_minimal(&b);
	raw_int(&b, TAG_OUTCOME, AQ_NOUTCOMES);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), -1);
	buf_free(&b);
}

static void
test_pack(void **state)
{
	static const char envblob[] = "A=1\0B=two words\0EMPTY=";
	char *argv[] = { S("prog"), S(""), S("last arg"), NULL };
	struct aq__buf b = { NULL, 0, 0 };
	struct aq__rec r;
	struct aq_job j, *p;

	(void)state;
	full_job(&j, argv);
	assert_int_equal(aq__job_encode(&j, NULL, 0, 1, &b), 0);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), 0);
	r.j.id = 77;
	p = aq__job_pack(&r, envblob, sizeof(envblob));
	/* The record may go now: the job is a copy. */
	memset(b.p, 0, b.len);
	buf_free(&b);
	assert_non_null(p);
	assert_int_equal(p->id, 77);
	assert_string_equal(p->argv[0], "prog");
	assert_string_equal(p->argv[1], "");
	assert_string_equal(p->argv[2], "last arg");
	assert_null(p->argv[3]);
	assert_non_null(p->envp);
	assert_string_equal(p->envp[0], "A=1");
	assert_string_equal(p->envp[1], "B=two words");
	assert_string_equal(p->envp[2], "EMPTY=");
	assert_null(p->envp[3]);
	assert_same_job(p, &j);
	aq_job_free(p);
}

static void
test_pack_without_env(void **state)
{
	struct aq__buf b = { NULL, 0, 0 };
	struct aq__rec r;
	struct aq_job j, *p;

	(void)state;
	memset(&j, 0, sizeof(j));
	j.queue = S("default");
	j.argv = argv_ab;
	j.exit_code = -1;
	assert_int_equal(aq__job_encode(&j, NULL, 0, 0, &b), 0);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), 0);
	p = aq__job_pack(&r, NULL, 0);
	buf_free(&b);
	assert_non_null(p);
	assert_null(p->envp);
	assert_null(p->name);
	assert_null(p->cwd);
	assert_string_equal(p->queue, "default");
	assert_string_equal(p->argv[0], "a b");
	assert_string_equal(p->argv[1], "c");
	assert_null(p->argv[2]);
	aq_job_free(p);
	aq_job_free(NULL);
}

/* An empty environment is an empty array, not "no environment". */
static void
test_pack_empty_env(void **state)
{
	struct aq__buf b = { NULL, 0, 0 };
	struct aq__rec r;
	struct aq_job j, *p;

	(void)state;
	memset(&j, 0, sizeof(j));
	j.queue = S("q");
	j.argv = argv_ab;
	assert_int_equal(aq__job_encode(&j, NULL, 0, 3, &b), 0);
	assert_int_equal(aq__job_decode(b.p, b.len, &r), 0);
	p = aq__job_pack(&r, "", 0);
	buf_free(&b);
	assert_non_null(p);
	assert_non_null(p->envp);
	assert_null(p->envp[0]);
	aq_job_free(p);
}

static void
test_env_encode(void **state)
{
	char *envp[] = { S("A=1"), S("B="), S("C=x y"), NULL };
	char *none[] = { NULL };
	struct aq__buf b = { NULL, 0, 0 };

	(void)state;
	assert_int_equal(aq__env_encode(envp, &b), 0);
	assert_int_equal(b.len, sizeof("A=1\0B=\0C=x y"));
	assert_memory_equal(b.p, "A=1\0B=\0C=x y", b.len);
	buf_free(&b);
	assert_int_equal(aq__env_encode(none, &b), 0);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
test_buf_growth(void **state)
{
	struct aq__buf b = { NULL, 0, 0 };
	unsigned char chunk[100];
	int i, k;

	(void)state;
	for (i = 0; i < 50; i++) {
		memset(chunk, i, sizeof(chunk));
		assert_int_equal(aq__buf_put(&b, chunk, sizeof(chunk)), 0);
		assert_int_equal(aq__buf_u8(&b, 0x100 + i), 0);
	}
	assert_int_equal(b.len, 50 * 101);
	assert_true(b.cap >= b.len);
	for (i = 0; i < 50; i++) {
		for (k = 0; k < 100; k++)
			assert_int_equal(b.p[i * 101 + k], i);
		assert_int_equal(b.p[i * 101 + 100], i);	/* low byte */
	}
	assert_int_equal(aq__buf_put(&b, NULL, 0), 0);
	assert_int_equal(b.len, 50 * 101);
	buf_free(&b);
}

/* ---- integers and keys ---- */

static void
test_be64_be32(void **state)
{
	static const uint64_t v64[] = { 0, 1, 0xff, 0x100,
	    0x0102030405060708ULL, 0x8000000000000000ULL, UINT64_MAX };
	static const uint32_t v32[] = { 0, 1, 0x01020304, 0x80000000u,
	    UINT32_MAX };
	unsigned char p[8];
	size_t i;

	(void)state;
	aq__be64(p, 0x0102030405060708ULL);
	assert_memory_equal(p, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	aq__be32(p, 0x0a0b0c0d);
	assert_memory_equal(p, "\x0a\x0b\x0c\x0d", 4);
	for (i = 0; i < sizeof(v64) / sizeof(v64[0]); i++) {
		aq__be64(p, v64[i]);
		assert_true(aq__get64(p) == v64[i]);
	}
	for (i = 0; i < sizeof(v32) / sizeof(v32[0]); i++) {
		aq__be32(p, v32[i]);
		assert_true(aq__get32(p) == v32[i]);
	}
	/* Big-endian bytes sort as the numbers do. */
	{
		unsigned char a[8], c[8];

		aq__be64(a, 0x00000000000000ffULL);
		aq__be64(c, 0x0000000000000100ULL);
		assert_true(memcmp(a, c, 8) < 0);
	}
}

/* Byte order as the btree compares keys: shorter first on a tie. */
static int
keycmp(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn;
}

struct key {
	unsigned char	k[AQ__KEY_MAX];
	size_t		n;
};

static void
assert_sorted(const struct key *keys, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++)
		for (k = i + 1; k < n; k++)
			if (keycmp(keys[i].k, keys[i].n, keys[k].k,
			    keys[k].n) >= 0)
				fail_msg("key %zu does not sort before key %zu",
				    i, k);
}

static void
test_key_ready_order(void **state)
{
	static const struct {
		int32_t prio;
		aq_time begin;
		uint64_t id;
	} want[] = {
		{ INT32_MAX, 0, 1 },
		{ 5, INT64_MIN, 40 },
		{ 5, -1, 9 },
		{ 5, 0, 1 },
		{ 5, 0, 2 },
		{ 5, 0, 255 },
		{ 5, 0, 256 },
		{ 5, 1000, 1 },
		{ 5, (aq_time)1795219200 * AQ_SEC, 3 },
		{ 5, INT64_MAX, 1 },
		{ 1, 0, 1 },
		{ 0, -(aq_time)AQ_SEC, 8 },
		{ 0, 0, 1 },
		{ 0, 0, UINT64_MAX },
		{ -1, 0, 1 },
		{ -1000, 0, 1 },
		{ INT32_MIN, 0, 1 },
	};
	struct key keys[sizeof(want) / sizeof(want[0])];
	size_t i, n = sizeof(want) / sizeof(want[0]);

	(void)state;
	for (i = 0; i < n; i++) {
		keys[i].n = aq__key_ready(keys[i].k, "queue", want[i].prio,
		    want[i].begin, want[i].id);
		assert_int_equal(keys[i].n, 1 + sizeof("queue") + 4 + 8 + 8);
		assert_int_equal(keys[i].k[0], K_READY);
		assert_memory_equal(keys[i].k + 1, "queue", sizeof("queue"));
		/* The id is the last 8 bytes (job.c reads it there). */
		assert_true(aq__get64(keys[i].k + keys[i].n - 8) ==
		    want[i].id);
	}
	assert_sorted(keys, n);
}

static void
test_key_ready_long_queue(void **state)
{
	char q[AQ_NAME_MAX + 1];
	unsigned char k[AQ__KEY_MAX + 8];
	size_t n;

	(void)state;
	memset(q, 'q', AQ_NAME_MAX);
	q[AQ_NAME_MAX] = '\0';
	memset(k, 0xee, sizeof(k));
	n = aq__key_ready(k, q, 0, 0, 1);
	assert_int_equal(n, AQ__KEY_MAX);
	assert_int_equal(k[AQ__KEY_MAX], 0xee);
	assert_true(aq__get64(k + n - 8) == 1);
}

static void
time_keys_sorted(size_t (*fn)(unsigned char *, aq_time, uint64_t), int tag)
{
	static const struct {
		aq_time t;
		uint64_t id;
	} want[] = {
		{ INT64_MIN, 1 },
		{ -(aq_time)86400 * AQ_SEC, 5 },
		{ -1, 1 },
		{ -1, 2 },
		{ 0, 1 },
		{ 1, 0 },
		{ 255, 1 },
		{ 256, 1 },
		{ (aq_time)1795219200 * AQ_SEC, 1 },
		{ (aq_time)1795219200 * AQ_SEC, 2 },
		{ INT64_MAX, UINT64_MAX },
	};
	struct key keys[sizeof(want) / sizeof(want[0])];
	size_t i, n = sizeof(want) / sizeof(want[0]);

	for (i = 0; i < n; i++) {
		keys[i].n = fn(keys[i].k, want[i].t, want[i].id);
		assert_int_equal(keys[i].n, 17);
		assert_int_equal(keys[i].k[0], tag);
		assert_true(aq__get64(keys[i].k + 9) == want[i].id);
	}
	assert_sorted(keys, n);
}

static void
test_key_sched_order(void **state)
{
	(void)state;
	time_keys_sorted(aq__key_sched, K_SCHED);
}

static void
test_key_lease_order(void **state)
{
	(void)state;
	time_keys_sorted(aq__key_lease, K_LEASE);
}

static void
test_key_job_owner(void **state)
{
	unsigned char o2[AQ_UUID_LEN];
	struct key keys[4];

	(void)state;
	keys[0].n = aq__key_job(keys[0].k, 1);
	keys[1].n = aq__key_job(keys[1].k, 256);
	assert_int_equal(keys[0].n, 9);
	assert_int_equal(keys[0].k[0], K_JOB);
	assert_true(aq__get64(keys[1].k + 1) == 256);
	assert_sorted(keys, 2);

	memcpy(o2, uuid1, AQ_UUID_LEN);
	o2[0]++;
	keys[0].n = aq__key_owner(keys[0].k, uuid1, 2);
	keys[1].n = aq__key_owner(keys[1].k, uuid1, 300);
	keys[2].n = aq__key_owner(keys[2].k, o2, 1);
	assert_int_equal(keys[0].n, 1 + AQ_UUID_LEN + 8);
	assert_int_equal(keys[0].k[0], K_OWNER);
	assert_memory_equal(keys[0].k + 1, uuid1, AQ_UUID_LEN);
	assert_true(aq__get64(keys[1].k + 1 + AQ_UUID_LEN) == 300);
	assert_sorted(keys, 3);
}

static void
test_hash64(void **state)
{
	static const char *const in[] = { "", "a", "foobar", "A=1",
	    "A=1\0B=2", "HOME=/root" };
	uint64_t h[sizeof(in) / sizeof(in[0])];
	size_t i, k;

	(void)state;
	/* FNV-1a 64, as published. */
	assert_true(aq__hash64("", 0) == 0xcbf29ce484222325ULL);
	assert_true(aq__hash64("a", 1) == 0xaf63dc4c8601ec8cULL);
	assert_true(aq__hash64("foobar", 6) == 0x85944171f73967e8ULL);
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		size_t n = strlen(in[i]);

		if (i == 4)
			n = 7;
		h[i] = aq__hash64(in[i], n);
		assert_true(h[i] != 0);
		assert_true(aq__hash64(in[i], n) == h[i]);
	}
	for (i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		for (k = i + 1; k < sizeof(h) / sizeof(h[0]); k++)
			assert_true(h[i] != h[k]);
	/* The NUL between strings counts. */
	assert_true(aq__hash64("A=1\0B=2", 7) != aq__hash64("A=1B=2", 6));
}

static void
test_reason(void **state)
{
	struct aq_job j;

	(void)state;
	memset(&j, 0, sizeof(j));
	j.state = AQ_PENDING;
	assert_int_equal(aq__reason(&j, 1000), AQ_READY);
	j.begin = 1000;
	assert_int_equal(aq__reason(&j, 1000), AQ_READY);
	assert_int_equal(aq__reason(&j, 999), AQ_SCHEDULED);
	j.flags = AQ_JOB_HOLD;
	assert_int_equal(aq__reason(&j, 999), AQ_HELD);
	j.state = AQ_ACTIVE;
	assert_int_equal(aq__reason(&j, 999), AQ_READY);
}

/* ---- text ---- */

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(aq_state_name(AQ_PENDING), "pending");
	assert_string_equal(aq_state_name(AQ_ACTIVE), "active");
	assert_string_equal(aq_state_name(AQ_DONE), "done");
	assert_string_equal(aq_reason_name(AQ_READY), "ready");
	assert_string_equal(aq_reason_name(AQ_SCHEDULED), "scheduled");
	assert_string_equal(aq_reason_name(AQ_BLOCKED), "blocked");
	assert_string_equal(aq_reason_name(AQ_HELD), "held");
	assert_string_equal(aq_reason_name(AQ_QUOTA), "quota");
	assert_string_equal(aq_outcome_name(AQ_NONE), "none");
	assert_string_equal(aq_outcome_name(AQ_OUT_OK), "ok");
	assert_string_equal(aq_outcome_name(AQ_OUT_FAILED), "failed");
	assert_string_equal(aq_outcome_name(AQ_OUT_TIMEOUT), "timeout");
	assert_string_equal(aq_outcome_name(AQ_OUT_EXPIRED), "expired");
	assert_string_equal(aq_outcome_name(AQ_OUT_CANCELLED), "cancelled");
	assert_string_equal(aq_outcome_name(AQ_OUT_LOST), "lost");
	assert_string_equal(aq_outcome_name(AQ_OUT_SKIPPED), "skipped");
	assert_string_equal(aq_outcome_name(AQ_NOUTCOMES), "?");
	assert_string_equal(aq_state_name((enum aq_state)7), "?");
}

static void
test_uuid(void **state)
{
	unsigned char zero[AQ_UUID_LEN];
	char buf[40];

	(void)state;
	memset(zero, 0, sizeof(zero));
	assert_true(aq_uuid_is_null(zero));
	assert_false(aq_uuid_is_null(uuid1));
	zero[AQ_UUID_LEN - 1] = 1;
	assert_false(aq_uuid_is_null(zero));
	aq_uuid_format(uuid1, buf);
	assert_string_equal(buf, "00112233-4455-6677-8899-aabbccddeeff");
}

static void
assert_contains(const char *s, const char *part)
{
	if (strstr(s, part) == NULL)
		fail_msg("\"%s\" not found in %s", part, s);
}

static void
assert_lacks(const char *s, const char *part)
{
	if (strstr(s, part) != NULL)
		fail_msg("\"%s\" found in %s", part, s);
}

static void
pending_job(struct aq_job *j)
{
	memset(j, 0, sizeof(*j));
	j->id = 5;
	j->queue = S("default");
	j->argv = argv_ab;
	j->state = AQ_PENDING;
	j->reason = AQ_READY;
	j->exit_code = -1;
}

static void
test_json_pending(void **state)
{
	struct aq_job j;
	char *s;

	(void)state;
	pending_job(&j);
	j.created = (aq_time)1700000000 * AQ_SEC;
	s = aq_job_json(&j);
	assert_non_null(s);
	assert_int_equal(s[0], '{');
	assert_int_equal(s[strlen(s) - 1], '}');
	assert_contains(s, "\"id\":5");
	assert_contains(s, "\"queue\":\"default\"");
	assert_contains(s, "\"argv\":[\"a b\",\"c\"]");
	assert_contains(s, "\"state\":\"pending\"");
	assert_contains(s, "\"reason\":\"ready\"");
	assert_contains(s, "\"outcome\":null");
	assert_contains(s, "\"exit\":null");
	assert_contains(s, "\"signal\":null");
	assert_contains(s, "\"worker\":null");
	assert_contains(s, "\"shell\":false");
	assert_contains(s, "\"held\":false");
	assert_contains(s, "\"at_most_once\":false");
	assert_contains(s, "\"created\":\"2023-11-14T22:13:20Z\"");
	assert_contains(s, "\"begin\":null");
	assert_contains(s, "\"lease\":null");
	assert_contains(s, "\"timeout\":null");
	assert_contains(s, "\"cwd\":null");
	assert_lacks(s, "\"env\"");
	free(s);
}

static void
test_json_done(void **state)
{
	char *envp[] = { S("A=1"), S("Q=say \"hi\""), NULL };
	struct aq_job j;
	char *s;

	(void)state;
	pending_job(&j);
	j.id = 18446744073709551615ULL;
	j.state = AQ_DONE;
	j.outcome = AQ_OUT_FAILED;
	j.exit_code = 0;
	j.signal = 9;
	j.priority = -3;
	j.attempt = 2;
	j.interrupts = 1;
	j.flags = AQ_JOB_SHELL | AQ_JOB_HOLD | AQ_JOB_AT_MOST_ONCE;
	memcpy(j.worker, uuid1, AQ_UUID_LEN);
	j.lease = (aq_time)1700000000 * AQ_SEC;	/* not shown: not active */
	j.timeout = 1500000;
	j.utime = 2 * AQ_SEC + 5;
	j.cwd = S("/w");
	j.envp = envp;
	s = aq_job_json(&j);
	assert_non_null(s);
	assert_contains(s, "\"id\":18446744073709551615");
	assert_contains(s, "\"state\":\"done\"");
	assert_contains(s, "\"reason\":null");
	assert_contains(s, "\"outcome\":\"failed\"");
	assert_contains(s, "\"exit\":0");
	assert_contains(s, "\"signal\":9");
	assert_contains(s, "\"attempt\":2");
	assert_contains(s, "\"interrupts\":1");
	assert_contains(s, "\"priority\":-3");
	assert_contains(s, "\"shell\":true");
	assert_contains(s, "\"held\":true");
	assert_contains(s, "\"at_most_once\":true");
	assert_contains(s,
	    "\"worker\":\"00112233-4455-6677-8899-aabbccddeeff\"");
	assert_contains(s, "\"lease\":null");
	assert_contains(s, "\"timeout\":1.500000");
	assert_contains(s, "\"utime\":2.000005");
	assert_contains(s, "\"cwd\":\"/w\"");
	assert_contains(s, "\"env\":{\"A\":\"1\",\"Q\":\"say \\\"hi\\\"\"}");
	free(s);
}

static void
test_json_active_lease(void **state)
{
	struct aq_job j;
	char *s;

	(void)state;
	pending_job(&j);
	j.state = AQ_ACTIVE;
	j.lease = (aq_time)1700000000 * AQ_SEC;
	s = aq_job_json(&j);
	assert_non_null(s);
	assert_contains(s, "\"state\":\"active\"");
	assert_contains(s, "\"reason\":null");
	assert_contains(s, "\"outcome\":null");
	assert_contains(s, "\"lease\":\"2023-11-14T22:13:20Z\"");
	free(s);
}

static void
test_json_escapes(void **state)
{
	char *argv[] = { S("q\"b\\s\nn\tt\rr\x01" "a\x1f" "b\x7f" "c"),
	    S("\xc3\xa9"), NULL };
	struct aq_job j;
	char *s;

	(void)state;
	pending_job(&j);
	j.argv = argv;
	j.queue = S("q\"ueue");
	j.name = S("back\\slash");
	s = aq_job_json(&j);
	assert_non_null(s);
	assert_contains(s, "\"argv\":[\"q\\\"b\\\\s\\nn\\tt\\rr\\u0001a"
	    "\\u001fb\x7f" "c\",\"\xc3\xa9\"]");
	assert_contains(s, "\"queue\":\"q\\\"ueue\"");
	assert_contains(s, "\"name\":\"back\\\\slash\"");
	/* No raw control character is left anywhere. */
	{
		const char *p;

		for (p = s; *p != '\0'; p++)
			assert_true((unsigned char)*p >= 0x20);
	}
	free(s);
}

/* An environment entry without '=' must not break the object. */
static void
test_json_env_entry_without_equals(void **state)
{
	char *envp[] = { S("NOEQUALS"), S("B=2"), S("ALSO"), S("C=3"), NULL };
	struct aq_job j;
	char *s;

	(void)state;
	pending_job(&j);
	j.envp = envp;
	s = aq_job_json(&j);
	assert_non_null(s);
	assert_lacks(s, "{,");
	assert_lacks(s, ",,");
	assert_contains(s, "\"env\":{\"B\":\"2\",\"C\":\"3\"}");
	free(s);
}

static void
test_json_string(void **state)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;

	(void)state;
	assert_int_equal(aq_json_string(&buf, &len, &cap, "a\"b"), 0);
	assert_int_equal(aq_json_string(&buf, &len, &cap, "\\\n\x02"), 0);
	assert_int_equal(aq_json_string(&buf, &len, &cap, ""), 0);
	assert_non_null(buf);
	assert_string_equal(buf, "\"a\\\"b\"\"\\\\\\n\\u0002\"\"\"");
	assert_int_equal(len, strlen(buf));
	assert_true(cap > len);
	free(buf);
}

static void
cmdline_is(char **argv, const char *want)
{
	struct aq_job j;
	char *s;

	pending_job(&j);
	j.argv = argv;
	s = aq_job_cmdline(&j);
	assert_non_null(s);
	if (strcmp(s, want) != 0)
		fail_msg("aq_job_cmdline gave <%s>, want <%s>", s, want);
	free(s);
}

static void
test_cmdline(void **state)
{
	char *a1[] = { S("echo"), S("a b"), NULL };
	char *a2[] = { S("echo"), S("it's"), NULL };
	char *a3[] = { S("echo"), S(""), NULL };
	char *a4[] = { S("cp"), S("-r"), S("./a/b_c.d"), S("x=y:z@h,%+"),
	    NULL };
	char *a5[] = { S("sh"), S("-c"), S("echo $HOME; ls *"), NULL };
	char *a6[] = { S("''"), S("a\nb"), S("\"q\""), S("~"), S("#"), NULL };
	char *a7[] = { NULL };

	(void)state;
	cmdline_is(a1, "echo 'a b'");
	cmdline_is(a2, "echo 'it'\\''s'");
	cmdline_is(a3, "echo ''");
	cmdline_is(a4, "cp -r ./a/b_c.d x=y:z@h,%+");
	cmdline_is(a5, "sh -c 'echo $HOME; ls *'");
	cmdline_is(a6, "''\\'''\\''' 'a\nb' '\"q\"' '~' '#'");
	cmdline_is(a7, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_full),
		cmocka_unit_test(test_roundtrip_exit_none_and_defaults),
		cmocka_unit_test(test_roundtrip_extreme_ints),
		cmocka_unit_test(test_reencode_from_record),
		cmocka_unit_test(test_decode_skips_unknown_tags),
		cmocka_unit_test(test_decode_minimal),
		cmocka_unit_test(test_decode_empty),
		cmocka_unit_test(test_decode_truncated),
		cmocka_unit_test(test_decode_string_without_nul),
		cmocka_unit_test(test_decode_other_corruption),
		cmocka_unit_test(test_pack),
		cmocka_unit_test(test_pack_without_env),
		cmocka_unit_test(test_pack_empty_env),
		cmocka_unit_test(test_env_encode),
		cmocka_unit_test(test_buf_growth),
		cmocka_unit_test(test_be64_be32),
		cmocka_unit_test(test_key_ready_order),
		cmocka_unit_test(test_key_ready_long_queue),
		cmocka_unit_test(test_key_sched_order),
		cmocka_unit_test(test_key_lease_order),
		cmocka_unit_test(test_key_job_owner),
		cmocka_unit_test(test_hash64),
		cmocka_unit_test(test_reason),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_json_pending),
		cmocka_unit_test(test_json_done),
		cmocka_unit_test(test_json_active_lease),
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_json_env_entry_without_equals),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_cmdline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
