/*
 * notes.c: live annotations of jobs, as zc.async's: a job reports how far
 * it got, a person answers it, each with one short transaction that
 * every other process sees at once.
 *
 *   'K' id key NUL           the note key of job id; value: its text
 *
 * A note is set, read and removed whatever the job's state; it goes with
 * the job when retention purges it.  Setting one wakes whoever waits.
 */
#include "config.h"


#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define NOTE_MAX	65536	/* bytes of a note's text */

int
aq_valid_note_key(const char *s)
{
	size_t n = 0;
	int digits = 1;

	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++, n++) {
		if (*s == '=' || *s == '/' || isspace((unsigned char)*s) ||
		    iscntrl((unsigned char)*s) || n >= AQ_NAME_MAX)
			return 0;
		if (!isdigit((unsigned char)*s))
			digits = 0;
	}
	/* All digits would read as a job id on aq-note's command line. */
	return !digits;
}

static size_t
note_key(unsigned char *k, uint64_t id, const char *key)
{
	size_t n = key != NULL ? strlen(key) + 1 : 0;

	k[0] = K_NOTE;
	aq__be64(k + 1, id);
	if (n > 0)
		memcpy(k + 9, key, n);
	return 9 + n;
}

struct note_arg {
	uint64_t		 id;
	const char		*key, *value;
	char			*got;		/* note_get */
	struct aq_note		*list;		/* notes */
	size_t			 n;
};

static int
exists(struct aq *aq, DB_TXN *txn, uint64_t id)
{
	struct aq__rec r;
	int ret;

	if ((ret = aq__load_job(aq, txn, id, 0, &r)) == 1)
		return aq__err(AQ_ENOENT, "no such job '%llu'",
		    (unsigned long long)id);
	return ret;
}

static int
set_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct note_arg *a = arg;
	unsigned char k[9 + AQ_NAME_MAX + 1];
	DBT key, data;
	int ret;

	if ((ret = exists(aq, txn, a->id)) != 0)
		return ret;
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = k;
	key.size = (u_int32_t)note_key(k, a->id, a->key);
	if (a->value == NULL) {
		ret = aq->db->del(aq->db, txn, &key, 0);
		return ret == DB_NOTFOUND ? aq__err(AQ_NO, "job '%llu' has no "
		    "note '%s'", (unsigned long long)a->id, a->key) : ret;
	}
	data.data = (void *)a->value;
	data.size = (u_int32_t)strlen(a->value);
	return aq->db->put(aq->db, txn, &key, &data, 0);
}

int
aq_note_set(struct aq *aq, uint64_t id, const char *key, const char *value)
{
	struct note_arg a;
	int rc;

	if (!aq_valid_note_key(key))
		return aq__err(AQ_EINPUT, "bad note key '%s'", key);
	if (value != NULL && strlen(value) > NOTE_MAX)
		return aq__err(AQ_EINPUT, "note '%s' is longer than %d bytes",
		    key, NOTE_MAX);
	memset(&a, 0, sizeof(a));
	a.id = id;
	a.key = key;
	a.value = value;
	if ((rc = aq__run(aq, set_op, &a, AQ__WRITE)) == AQ_OK)
		aq__wake(aq);
	return rc;
}

static int
get_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct note_arg *a = arg;
	unsigned char k[9 + AQ_NAME_MAX + 1];
	DBT key, data;
	int ret;

	aq__free(a->got);
	a->got = NULL;
	if ((ret = exists(aq, txn, a->id)) != 0)
		return ret;
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = k;
	key.size = (u_int32_t)note_key(k, a->id, a->key);
	data.flags = DB_DBT_MALLOC;
	if ((ret = aq->db->get(aq->db, txn, &key, &data, 0)) == DB_NOTFOUND)
		return aq__err(AQ_NO, "job '%llu' has no note '%s'",
		    (unsigned long long)a->id, a->key);
	if (ret != 0)
		return ret;
	if ((a->got = aq__realloc(data.data, data.size + 1)) == NULL) {
		aq__free(data.data);
		return ENOMEM;
	}
	a->got[data.size] = '\0';
	return 0;
}

int
aq_note_get(struct aq *aq, uint64_t id, const char *key, char **value)
{
	struct note_arg a;
	int rc;

	*value = NULL;
	if (!aq_valid_note_key(key))
		return aq__err(AQ_EINPUT, "bad note key '%s'", key);
	memset(&a, 0, sizeof(a));
	a.id = id;
	a.key = key;
	if ((rc = aq__run(aq, get_op, &a, 0)) != AQ_OK) {
		aq__free(a.got);
		return rc;
	}
	*value = a.got;
	return AQ_OK;
}

void
aq_notes_free(struct aq_note *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		aq__free(list[i].key);
		aq__free(list[i].value);
	}
	aq__free(list);
}

static int
list_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	struct note_arg *a = arg;
	unsigned char pre[9], k[AQ__ANYKEY_MAX];
	DBT key, data;
	DBC *c;
	int ret, r2, flag = DB_SET_RANGE;

	aq_notes_free(a->list, a->n);
	a->list = NULL;
	a->n = 0;
	if ((ret = exists(aq, txn, a->id)) != 0)
		return ret;
	note_key(pre, a->id, NULL);
	if ((ret = aq->db->cursor(aq->db, txn, &c, DB_READ_COMMITTED)) != 0)
		return ret;
	memcpy(k, pre, 9);
	aq__dbt_buf(&key, k, 9, sizeof(k));
	for (;;) {
		struct aq_note *l;

		memset(&data, 0, sizeof(data));
		data.flags = DB_DBT_MALLOC;
		ret = c->get(c, &key, &data, flag);
		flag = DB_NEXT;
		if (ret == DB_NOTFOUND || (ret == 0 && (key.size < 11 ||
		    memcmp(k, pre, 9) != 0 || k[key.size - 1] != '\0'))) {
			if (ret == 0)
				aq__free(data.data);
			ret = 0;
			break;
		}
		if (ret != 0)
			break;
		if ((l = aq__realloc(a->list, (a->n + 1) * sizeof(*l))) ==
		    NULL) {
			aq__free(data.data);
			ret = ENOMEM;
			break;
		}
		a->list = l;
		l = &a->list[a->n];
		l->key = aq__strdup((char *)k + 9);
		l->value = aq__realloc(data.data, data.size + 1);
		if (l->key == NULL || l->value == NULL) {
			aq__free(l->key);
			aq__free(l->value != NULL ? l->value : data.data);
			ret = ENOMEM;
			break;
		}
		l->value[data.size] = '\0';
		a->n++;
	}
	if ((r2 = c->close(c)) != 0 && ret == 0)
		ret = r2;
	return ret;
}

int
aq_notes(struct aq *aq, uint64_t id, struct aq_note **list, size_t *n)
{
	struct note_arg a;
	int rc;

	*list = NULL;
	*n = 0;
	memset(&a, 0, sizeof(a));
	a.id = id;
	if ((rc = aq__run(aq, list_op, &a, 0)) != AQ_OK) {
		aq_notes_free(a.list, a.n);
		return rc;
	}
	*list = a.list;
	*n = a.n;
	return AQ_OK;
}

int
aq_note_wait(struct aq *aq, uint64_t id, const char *key, int64_t timeout,
    char **value)
{
	aq_time deadline;
	int fd, rc;

	deadline = timeout < 0 ? INT64_MAX : aq_now() + timeout;
	/* Watch before looking, so a note set after the look is not missed. */
	fd = aq_watch(aq);
	for (;;) {
		aq__drain(fd);
		if ((rc = aq_note_get(aq, id, key, value)) != AQ_NO ||
		    aq_now() >= deadline)
			break;
		aq__nap(fd, deadline, 5 * AQ_SEC);
	}
	if (fd != -1)
		close(fd);
	return rc;
}
