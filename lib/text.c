/*
 * text.c: jobs as text: state names, UUIDs, JSON and shell-quoted lines.
 *
 * The JSON field names are a published interface (aq-status(1)): a name
 * never changes meaning once released; new fields may be added.  Strings
 * are escaped per RFC 8259; bytes that are not UTF-8 pass through as they
 * are, since argv and environments are bytes, not text.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uuid.h>

#include "internal.h"

static const char *const states[] = { "pending", "active", "done" };
static const char *const reasons[] = {
	"ready", "scheduled", "blocked", "held", "quota"
};
static const char *const outcomes[] = {
	"none", "ok", "failed", "timeout", "expired", "cancelled", "lost",
	"skipped"
};

const char *
aq_state_name(enum aq_state s)
{
	return (unsigned)s < 3 ? states[s] : "?";
}

const char *
aq_reason_name(enum aq_reason r)
{
	return (unsigned)r < AQ_NREASONS ? reasons[r] : "?";
}

const char *
aq_outcome_name(enum aq_outcome o)
{
	return (unsigned)o < AQ_NOUTCOMES ? outcomes[o] : "?";
}

void
aq_uuid_format(const unsigned char *u, char *buf)
{
	uuid_unparse_lower(u, buf);
}

int
aq_uuid_is_null(const unsigned char *u)
{
	int i;

	for (i = 0; i < AQ_UUID_LEN; i++)
		if (u[i] != 0)
			return 0;
	return 1;
}

/* ---- a growing string ---- */

struct sb {
	char	*p;
	size_t	 len, cap;
	int	 err;
};

static void
sb_add(struct sb *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 512;
		char *q;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((q = realloc(b->p, cap)) == NULL) {
			b->err = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_str(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void
sb_fmt(struct sb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_fmt(struct sb *b, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_add(b, buf, (size_t)n < sizeof(buf) ? (size_t)n :
		    sizeof(buf) - 1);
}

static void
sb_json(struct sb *b, const char *s)
{
	const unsigned char *p;
	char esc[8];

	sb_add(b, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"': sb_add(b, "\\\"", 2); break;
		case '\\': sb_add(b, "\\\\", 2); break;
		case '\n': sb_add(b, "\\n", 2); break;
		case '\t': sb_add(b, "\\t", 2); break;
		case '\r': sb_add(b, "\\r", 2); break;
		default:
			if (*p < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04x", *p);
				sb_str(b, esc);
			} else
				sb_add(b, (const char *)p, 1);
		}
	}
	sb_add(b, "\"", 1);
}

int
aq_json_string(char **buf, size_t *len, size_t *cap, const char *s)
{
	struct sb b = { *buf, *len, *cap, 0 };

	sb_json(&b, s);
	*buf = b.p;
	*len = b.len;
	*cap = b.cap;
	return b.err ? -1 : 0;
}

static void
sb_time(struct sb *b, const char *name, aq_time t)
{
	char buf[64];

	sb_fmt(b, ",\"%s\":", name);
	if (t == 0) {
		sb_str(b, "null");
		return;
	}
	aq_format_time(t, buf, sizeof(buf));
	sb_json(b, buf);
}

static void
sb_secs(struct sb *b, const char *name, int64_t us, int nullzero)
{
	if (us == 0 && nullzero)
		sb_fmt(b, ",\"%s\":null", name);
	else
		sb_fmt(b, ",\"%s\":%lld.%06lld", name, (long long)(us /
		    AQ_SEC), (long long)(us % AQ_SEC));
}

char *
aq_job_json(const struct aq_job *j)
{
	struct sb b = { NULL, 0, 0, 0 };
	char uuid[40];
	size_t i;

	sb_fmt(&b, "{\"id\":%llu,\"queue\":", (unsigned long long)j->id);
	sb_json(&b, j->queue);
	sb_str(&b, ",\"name\":");
	sb_json(&b, j->name ? j->name : "");
	sb_str(&b, ",\"argv\":[");
	for (i = 0; j->argv[i] != NULL; i++) {
		if (i > 0)
			sb_str(&b, ",");
		sb_json(&b, j->argv[i]);
	}
	sb_fmt(&b, "],\"shell\":%s,\"state\":\"%s\",\"reason\":",
	    (j->flags & AQ_JOB_SHELL) ? "true" : "false",
	    aq_state_name(j->state));
	if (j->state == AQ_PENDING)
		sb_fmt(&b, "\"%s\"", aq_reason_name(j->reason));
	else
		sb_str(&b, "null");
	sb_str(&b, ",\"outcome\":");
	if (j->state == AQ_DONE)
		sb_fmt(&b, "\"%s\"", aq_outcome_name(j->outcome));
	else
		sb_str(&b, "null");
	if (j->exit_code >= 0)
		sb_fmt(&b, ",\"exit\":%d", j->exit_code);
	else
		sb_str(&b, ",\"exit\":null");
	if (j->signal > 0)
		sb_fmt(&b, ",\"signal\":%d", j->signal);
	else
		sb_str(&b, ",\"signal\":null");
	sb_fmt(&b, ",\"attempt\":%d,\"interrupts\":%d,\"priority\":%d,"
	    "\"quotas\":[", j->attempt, j->interrupts, (int)j->priority);
	for (i = 0; j->quotas != NULL && j->quotas[i] != NULL; i++) {
		if (i > 0)
			sb_str(&b, ",");
		sb_json(&b, j->quotas[i]);
	}
	sb_fmt(&b, "],\"held\":%s,\"at_most_once\":%s,\"worker\":",
	    (j->flags & AQ_JOB_HOLD) ? "true" : "false",
	    (j->flags & AQ_JOB_AT_MOST_ONCE) ? "true" : "false");
	if (aq_uuid_is_null(j->worker))
		sb_str(&b, "null");
	else {
		aq_uuid_format(j->worker, uuid);
		sb_json(&b, uuid);
	}
	sb_str(&b, ",\"agent\":");
	if (j->agent != NULL)
		sb_json(&b, j->agent);
	else
		sb_str(&b, "null");
	sb_str(&b, ",\"after\":[");
	for (i = 0; i < j->nafter; i++)
		sb_fmt(&b, "%s{\"id\":%llu,\"any\":%s}", i > 0 ? "," : "",
		    (unsigned long long)j->after[i].id,
		    j->after[i].any ? "true" : "false");
	sb_fmt(&b, "],\"waits\":%d,\"parent\":", j->waits);
	if (j->parent != 0)
		sb_fmt(&b, "%llu", (unsigned long long)j->parent);
	else
		sb_str(&b, "null");
	sb_fmt(&b, ",\"children_left\":%d", j->kids);
	sb_time(&b, "created", j->created);
	sb_time(&b, "begin", j->begin);
	sb_time(&b, "deadline", j->deadline);
	sb_time(&b, "started", j->started);
	sb_time(&b, "ended", j->ended);
	sb_time(&b, "lease", j->state == AQ_ACTIVE ? j->lease : 0);
	sb_secs(&b, "timeout", j->timeout, 1);
	sb_fmt(&b, ",\"retries\":%d", j->retries);
	sb_secs(&b, "retry_delay", j->retry_delay, 1);
	sb_secs(&b, "utime", j->utime, 0);
	sb_secs(&b, "stime", j->stime, 0);
	sb_fmt(&b, ",\"maxrss\":%lld,\"output_size\":%lld,"
	    "\"output_cap\":%lld,\"failures\":%d",
	    (long long)j->maxrss, (long long)j->output_size,
	    (long long)j->output_cap, j->failures);
	sb_str(&b, ",\"cwd\":");
	if (j->cwd != NULL)
		sb_json(&b, j->cwd);
	else
		sb_str(&b, "null");
	if (j->envp != NULL) {
		int first = 1;

		sb_str(&b, ",\"env\":{");
		for (i = 0; j->envp[i] != NULL; i++) {
			const char *eq = strchr(j->envp[i], '=');
			char *k;

			if (eq == NULL)
				continue;
			if ((k = strndup(j->envp[i], eq - j->envp[i])) ==
			    NULL) {
				b.err = 1;
				break;
			}
			if (!first)
				sb_str(&b, ",");
			first = 0;
			sb_json(&b, k);
			sb_str(&b, ":");
			sb_json(&b, eq + 1);
			free(k);
		}
		sb_str(&b, "}");
	}
	sb_str(&b, "}");
	if (b.err) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* Quote only what needs it, in single quotes, as sh(1) reads it back. */
static void
sb_quote(struct sb *b, const char *s)
{
	const char *p;

	if (*s != '\0' && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_") == strlen(s)) {
		sb_str(b, s);
		return;
	}
	sb_add(b, "'", 1);
	for (p = s; *p != '\0'; p++) {
		if (*p == '\'')
			sb_str(b, "'\\''");
		else
			sb_add(b, p, 1);
	}
	sb_add(b, "'", 1);
}

char *
aq_job_cmdline(const struct aq_job *j)
{
	struct sb b = { NULL, 0, 0, 0 };
	size_t i;

	for (i = 0; j->argv[i] != NULL; i++) {
		if (i > 0)
			sb_add(&b, " ", 1);
		sb_quote(&b, j->argv[i]);
	}
	if (b.p == NULL)
		sb_add(&b, "", 0);
	if (b.err) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

int
aq_job_status(const struct aq_job *j)
{
	if (j->state != AQ_DONE)
		return -1;
	switch (j->outcome) {
	case AQ_OUT_OK:
		return 0;
	case AQ_OUT_TIMEOUT:
		return 124;
	case AQ_OUT_FAILED:
		if (j->signal > 0)
			return 128 + j->signal;
		return j->exit_code > 0 ? j->exit_code : 1;
	default:
		return 1;
	}
}
