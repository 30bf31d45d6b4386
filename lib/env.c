/*
 * env.c: the environment handle, and the driver that runs every libaq
 * operation as one retried transaction.
 *
 * aq_open() checks the home directory, takes a slot in aq.lock (gate.c),
 * recovers the environment if a process died inside it, and opens the
 * Berkeley DB environment and its one database, aq.db.  Every operation
 * then goes through aq__run(), which keeps three promises:
 *
 *  - an operation is one transaction, retried with jittered back-off on
 *    DB_LOCK_DEADLOCK, then AQ_EAGAIN;
 *  - writes are committed durably (the environment's default: write and
 *    fsync at commit; never DB_TXN_NOSYNC, which loses commits on kill -9);
 *  - when gate.c makes the operation step out mid-way (a recovery), the
 *    retry neither loses nor repeats it: each write stores a token (a
 *    random nonce and the operation's result) under the process's slot in
 *    the same transaction, so after rejoining, a token found means the
 *    commit happened and its result is returned instead of doing it twice.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/*
 * Sizing, written once when the environment is created.  Berkeley DB reads
 * DB_CONFIG at every open and it overrides the API, so it is the one place
 * for tuning; the db5.3 utilities read it too.
 */
static const char db_config[] =
    "# Written by aq when this environment was created.\n"
    "set_cachesize 0 67108864 1\n"
    "set_lg_bsize 4194304\n"
    "set_lg_max 33554432\n"
    "set_lg_regionmax 1048576\n"
    "set_lk_detect DB_LOCK_YOUNGEST\n"
    "set_lk_max_locks 200000\n"
    "set_lk_max_objects 200000\n"
    "set_lk_max_lockers 20000\n"
    "set_tx_max 1000\n"
    "log_set_config DB_LOG_AUTO_REMOVE\n";

static int
mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *p;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, mode);
}

int
aq_default_home(char *buf, size_t size)
{
	const char *h;
	int n;

	if ((h = getenv("AQ_HOME")) != NULL && *h != '\0')
		n = snprintf(buf, size, "%s", h);
	else if ((h = getenv("XDG_STATE_HOME")) != NULL && *h == '/')
		n = snprintf(buf, size, "%s/aq", h);
	else if ((h = getenv("HOME")) != NULL && *h != '\0')
		n = snprintf(buf, size, "%s/.local/state/aq", h);
	else
		return aq__err(AQ_EUNAVAIL,
		    "no environment named: set AQ_HOME or HOME");
	if (n < 0 || (size_t)n >= size)
		return aq__err(AQ_EUNAVAIL, "environment path too long");
	return AQ_OK;
}

/*
 * Check the home directory, creating it if allowed.  Sets aq->home to its
 * absolute path, aq->fmode to the mode of files we create, and *fresh
 * when the environment still has to be made.
 */
static int
check_home(struct aq *aq, const char *home, int *fresh)
{
	char path[PATH_MAX + 16];
	struct stat st;
	int e;

	*fresh = 0;
	if (stat(home, &st) == -1) {
		e = errno;
		if (e != ENOENT)
			return aq__err(e == EACCES ? AQ_EPERM : AQ_EUNAVAIL,
			    "cannot use environment '%s': %s", home,
			    strerror(e));
		if (!(aq->flags & AQ_OPEN_CREATE))
			return aq__err(AQ_EUNAVAIL, "no environment at '%s'",
			    home);
		if (mkdirs(home, 0700) == -1 && errno != EEXIST) {
			e = errno;
			return aq__err(e == EACCES ? AQ_EPERM : AQ_ECREATE,
			    "cannot create environment '%s': %s", home,
			    strerror(e));
		}
		if (stat(home, &st) == -1)
			return aq__err(AQ_ECREATE, "cannot create environment "
			    "'%s': %s", home, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return aq__err((aq->flags & AQ_OPEN_CREATE) ? AQ_ECREATE :
		    AQ_EUNAVAIL, "cannot use environment '%s': Not a directory",
		    home);
	if (st.st_mode & S_IWOTH)
		return aq__err(AQ_EPERM, "refusing world-writable environment "
		    "'%s'", home);
	if ((st.st_mode & S_ISGID) && (st.st_mode & S_IWGRP))
		aq->fmode = 0660;
	else
		aq->fmode = 0600;
	if (realpath(home, aq->home) == NULL)
		return aq__err(AQ_EUNAVAIL, "cannot use environment '%s': %s",
		    home, strerror(errno));
	if (access(aq->home, R_OK | W_OK | X_OK) == -1)
		return aq__err(AQ_EPERM, "cannot use environment '%s': %s",
		    home, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", aq->home, AQ_DB_FILE);
	if (access(path, F_OK) == -1) {
		if (!(aq->flags & AQ_OPEN_CREATE))
			return aq__err(AQ_EUNAVAIL, "no environment at '%s'",
			    home);
		*fresh = 1;
	}
	return AQ_OK;
}

static int
write_file(struct aq *aq, const char *name, const char *text)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 48];
	size_t len = strlen(text);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", aq->home, name);
	if (access(path, F_OK) == 0)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    aq->fmode)) == -1)
		return -1;
	(void)fchmod(fd, aq->fmode);	/* whatever the umask */
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) == -1) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}

static void
on_event(DB_ENV *env, u_int32_t event, void *info)
{
	(void)env;
	(void)info;
	if (event == DB_EVENT_PANIC)
		aq__err(AQ_EUNAVAIL, "environment panic");
}

static int
meta_once(struct aq *aq, int create, int *again)
{
	unsigned char k = K_META, v[8 + 64];
	DBT key, data;
	DB_TXN *txn;
	int ret;

	*again = 0;
	if ((ret = aq->env->txn_begin(aq->env, NULL, &txn, 0)) != 0)
		return aq__dberr(ret, "cannot read environment '%s'", aq->home);
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = &k;
	key.size = 1;
	data.data = v;
	data.ulen = sizeof(v);
	data.flags = DB_DBT_USERMEM;
	ret = aq->db->get(aq->db, txn, &key, &data, 0);
	if (ret == DB_NOTFOUND && create) {
		memset(v, 0, sizeof(v));
		aq__be32(v, AQ_FORMAT);
		snprintf((char *)v + 8, 64, "%s", DB_VERSION_STRING);
		data.size = sizeof(v);
		ret = aq->db->put(aq->db, txn, &key, &data, 0);
		if (ret == 0)
			ret = txn->commit(txn, 0);
		else
			txn->abort(txn);
		if (ret == DB_LOCK_DEADLOCK || ret == DB_LOCK_NOTGRANTED)
			*again = 1;
		return ret == 0 ? AQ_OK : aq__dberr(ret, "cannot create "
		    "environment '%s'", aq->home);
	}
	txn->abort(txn);
	if (ret == DB_LOCK_DEADLOCK || ret == DB_LOCK_NOTGRANTED)
		*again = 1;
	if (ret == DB_NOTFOUND)
		return aq__err(AQ_EINTERNAL, "environment '%s' has no format "
		    "record", aq->home);
	if (ret != 0)
		return aq__dberr(ret, "cannot read environment '%s'", aq->home);
	if (data.size < 8 || aq__get32(v) > AQ_FORMAT)
		return aq__err(AQ_EUNAVAIL, "environment '%s' has format %u, "
		    "newer than this aq (%d)", aq->home,
		    data.size < 8 ? 0 : aq__get32(v), AQ_FORMAT);
	return AQ_OK;
}

/* Check the format record, retrying a lock conflict as every op does. */
static int
meta(struct aq *aq, int create)
{
	struct timespec ts = { 0, 0 };
	int again, rc, try;

	for (try = 0; try < 64; try++) {
		if ((rc = meta_once(aq, create, &again)) == AQ_OK || !again)
			return rc;
		ts.tv_nsec = (random() % (1000L << (try < 7 ? try : 7)) +
		    100) * 1000L;
		nanosleep(&ts, NULL);
	}
	return rc;
}

/*
 * Open the Berkeley DB environment and aq.db.  how: 0 join, 1 recover,
 * 2 create (and recover).  The caller holds INSIDE (write-locked for 1
 * and 2).
 */
int
aq__env_open(struct aq *aq, int how)
{
	struct timespec nap = { 0, 0 };
	u_int32_t flags;
	mode_t old;
	int ret, rc, try;

	if (how == 2 && write_file(aq, "DB_CONFIG", db_config) == -1)
		return aq__err(AQ_ECREATE, "cannot create '%s/DB_CONFIG': %s",
		    aq->home, strerror(errno));
	if (how == 2 && write_file(aq, AQ_WAKE_FILE, "") == -1)
		return aq__err(AQ_ECREATE, "cannot create '%s/%s': %s",
		    aq->home, AQ_WAKE_FILE, strerror(errno));
	if ((ret = db_env_create(&aq->env, 0)) != 0)
		return aq__dberr(ret, "cannot open environment '%s'", aq->home);
	aq->env->set_errcall(aq->env, aq__dbmsg);
	aq->env->set_event_notify(aq->env, on_event);
	flags = DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL;
	if (how > 0)
		flags |= DB_CREATE | DB_RECOVER;
	old = umask(aq->fmode == 0660 ? 007 : 077);
	ret = aq->env->open(aq->env, aq->home, flags, aq->fmode);
	umask(old);
	if (ret != 0) {
		aq->env->close(aq->env, 0);
		aq->env = NULL;
		if (ret == ENOENT && how == 0)
			return -1;	/* regions gone: recover */
		if (ret == DB_VERSION_MISMATCH)
			return aq__err(AQ_EUNAVAIL, "environment '%s' was made "
			    "by another Berkeley DB build (this aq uses %s)",
			    aq->home, DB_VERSION_STRING);
		if (ret == DB_RUNRECOVERY && how == 0)
			return -1;
		return aq__dberr(ret, "cannot open environment '%s'%s%s",
		    aq->home, aq__lastdb[0] ? ": " : "", aq__lastdb);
	}
	for (try = 0; try < 64; try++) {
		if ((ret = db_create(&aq->db, aq->env, 0)) != 0)
			goto dberr;
		old = umask(aq->fmode == 0660 ? 007 : 077);
		ret = aq->db->open(aq->db, NULL, AQ_DB_FILE, NULL, DB_BTREE,
		    (how == 2 ? DB_CREATE : 0) | DB_AUTO_COMMIT, aq->fmode);
		umask(old);
		if (ret == 0)
			break;
		aq->db->close(aq->db, DB_NOSYNC);
		aq->db = NULL;
		if (ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED)
			goto dberr;
		nap.tv_nsec = (random() % (1000L << (try < 7 ? try : 7)) +
		    100) * 1000L;
		nanosleep(&nap, NULL);
	}
	if (ret != 0)
		goto dberr;
	if ((rc = meta(aq, how == 2)) != AQ_OK) {
		aq->db->close(aq->db, DB_NOSYNC);
		aq->env->close(aq->env, 0);
		aq->db = NULL;
		aq->env = NULL;
		return rc;
	}
	return AQ_OK;
dberr:
	rc = aq__dberr(ret, "cannot open '%s/%s'", aq->home, AQ_DB_FILE);
	aq->env->close(aq->env, 0);
	aq->env = NULL;
	if (ret == DB_RUNRECOVERY && how == 0)
		return -1;
	return rc;
}

/*
 * Drop the handles of an environment without calling Berkeley DB: its
 * regions may hold mutexes of a dead process, or be about to be replaced
 * by a recovery.  Their mappings and descriptors are found in /proc and
 * released, so a long-lived worker does not leak them at each recovery.
 */
void
aq__abandon(struct aq *aq)
{
	char line[PATH_MAX + 256], link[PATH_MAX + 32], path[64], *p;
	size_t hlen = strlen(aq->home);
	struct dirent *de;
	FILE *fp;
	DIR *d;

	aq->env = NULL;
	aq->db = NULL;
	if ((fp = fopen("/proc/self/maps", "re")) != NULL) {
		unsigned long lo, hi;

		while (fgets(line, sizeof(line), fp) != NULL) {
			if ((p = strchr(line, '/')) == NULL ||
			    strncmp(p, aq->home, hlen) != 0 ||
			    strncmp(p + hlen, "/__db.", 6) != 0)
				continue;
			if (sscanf(line, "%lx-%lx", &lo, &hi) == 2)
				munmap((void *)lo, hi - lo);
		}
		fclose(fp);
	}
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL) {
			ssize_t n;
			int fd;

			if (de->d_name[0] == '.')
				continue;
			fd = atoi(de->d_name);
			if (fd == dirfd(d))
				continue;
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			if ((n = readlink(path, link, sizeof(link) - 1)) <= 0)
				continue;
			link[n] = '\0';
			if (strncmp(link, aq->home, hlen) != 0 ||
			    link[hlen] != '/')
				continue;
			p = link + hlen + 1;
			if (strncmp(p, "__db.", 5) == 0 ||
			    strncmp(p, "log.", 4) == 0 ||
			    strncmp(p, AQ_DB_FILE, strlen(AQ_DB_FILE)) == 0)
				close(fd);
		}
		closedir(d);
	}
	aq__gate_leave(aq, 0);
}

/*
 * Get into the environment with live handles: recover first when a
 * process died inside, or when Berkeley DB asked for it.
 */
static int
join1(struct aq *aq, int fresh)
{
	volatile int tries;
	int rc;

	for (tries = 0; tries < 20; tries++) {
		if (fresh || aq->force_recover || aq__gate_dead(1) == 2) {
			if ((rc = aq__recover(aq, fresh)) != AQ_OK)
				return rc;
			if (aq->env != NULL)
				return AQ_OK;
		}
		if ((rc = aq__gate_enter(aq)) != AQ_OK)
			return rc;
		if (sigsetjmp(*aq__op_jmp(), 0) != 0) {
			aq__rejoin(1);
			aq__op_end();
			aq__abandon(aq);
			if (aq__escape_reason() == AQ__ESC_TIMEOUT)
				return aq__err(AQ_EAGAIN, "environment '%s' is "
				    "busy", aq->home);
			continue;
		}
		aq__op_begin();
		rc = aq__env_open(aq, 0);
		aq__op_end();
		if (rc == AQ_OK)
			return AQ_OK;
		aq__gate_leave(aq, 1);
		if (rc != -1)
			return rc;
		aq->force_recover = 1;
	}
	return aq__err(AQ_EUNAVAIL, "cannot open environment '%s': recovery "
	    "keeps failing", aq->home);
}

static int
join(struct aq *aq, int fresh)
{
	int rc;

	/* The gate is opened at the first operation: a put to the intake
	 * never needs it. */
	if (!aq->gated) {
		if ((rc = aq__gate_open(aq)) != AQ_OK)
			return rc;
		aq->gated = 1;
	}
	rc = join1(aq, fresh);
	aq__rejoin(0);
	return rc;
}

static void *
bdb_malloc(size_t n)
{
	return aq__malloc(n);
}

static void *
bdb_realloc(void *p, size_t n)
{
	return aq__realloc(p, n);
}

static void
bdb_free(void *p)
{
	aq__free(p);
}

/* Handles open in this process: one at most (see aq.h). */
static int nopen;

int
aq_open(struct aq **aqp, const char *home, int flags)
{
	static int once;
	char def[PATH_MAX];
	struct aq *aq;
	int major, minor, patch, fresh, rc;

	*aqp = NULL;
	(void)db_version(&major, &minor, &patch);
	if (major != DB_VERSION_MAJOR || minor != DB_VERSION_MINOR ||
	    patch != DB_VERSION_PATCH)
		return aq__err(AQ_EUNAVAIL, "libdb %d.%d.%d does not match "
		    "the %d.%d.%d aq was built with", major, minor, patch,
		    DB_VERSION_MAJOR, DB_VERSION_MINOR, DB_VERSION_PATCH);
	if (!once) {
		db_env_set_func_malloc(bdb_malloc);
		db_env_set_func_realloc(bdb_realloc);
		db_env_set_func_free(bdb_free);
		once = 1;
	}
	if (nopen > 0)
		return aq__err(AQ_EINTERNAL,
		    "an environment is already open in this process");
	if (home == NULL) {
		if ((rc = aq_default_home(def, sizeof(def))) != AQ_OK)
			return rc;
		home = def;
	}
	if ((aq = calloc(1, sizeof(*aq))) == NULL)
		return aq__err(AQ_EAGAIN, "out of memory");
	aq->flags = flags;
	aq->intake = -1;
	if ((rc = check_home(aq, home, &fresh)) != AQ_OK) {
		free(aq);
		return rc;
	}
	/*
	 * A new environment is made now; an existing one is joined at the
	 * first operation that needs it, which a put to the intake does not.
	 */
	if ((fresh && (rc = join(aq, fresh)) != AQ_OK) ||
	    (rc = aq__intake_open(aq, fresh)) != AQ_OK) {
		if (aq->gated)
			aq__gate_close(aq);
		aq__intake_close(aq);
		free(aq);
		return rc;
	}
	aq->last_ckp = aq_now();
	nopen++;
	*aqp = aq;
	return AQ_OK;
}

const char *
aq_home(const struct aq *aq)
{
	return aq->home;
}

uint64_t
aq_recoveries(const struct aq *aq)
{
	(void)aq;
	return aq__gate_recoveries();
}

static int
ckp_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	int ret;

	(void)txn;
	(void)arg;
	if ((ret = aq->env->txn_checkpoint(aq->env, 0, 0, 0)) != 0)
		return aq__dberr(ret, "cannot checkpoint '%s'", aq->home);
	return AQ_OK;
}

int
aq_checkpoint(struct aq *aq)
{
	return aq__run(aq, ckp_op, NULL, AQ__NOINGEST);
}

/*
 * Leave: a checkpoint when enough log has piled up (so recovery stays
 * short and old log files go), then close the handles.  Closing touches
 * shared mutexes, so it is an escapable operation like any other.
 */
void
aq_close(struct aq *aq)
{
	if (aq == NULL)
		return;
	/* Every flush asked for is done: what the handle moved can go. */
	if (aq__sync_stop(aq) == 0)
		aq__intake_flushed(aq);
	if (aq->wake_due)
		aq__touch(aq->home);
	aq__intake_close(aq);
	nopen--;
	if (!aq->gated) {
		free(aq);
		return;
	}
	if (aq->env != NULL && !aq__gate_stale()) {
		if (sigsetjmp(*aq__op_jmp(), 0) != 0) {
			aq__rejoin(1);
			aq__op_end();
			aq__abandon(aq);
			aq__rejoin(0);
		} else {
			aq__op_begin();
			(void)aq->env->txn_checkpoint(aq->env, 4096, 0, 0);
			aq->db->close(aq->db, DB_NOSYNC);
			aq->env->close(aq->env, 0);
			aq->db = NULL;
			aq->env = NULL;
			aq__op_end();
			aq__gate_leave(aq, 1);
		}
	} else if (aq->env != NULL)
		aq__abandon(aq);
	aq__gate_close(aq);
	free(aq);
}

void
aq_defer_sync(struct aq *aq, int on)
{
	aq->defer = on;
}

static int
sync_op(struct aq *aq, DB_TXN *txn, void *arg)
{
	int ret;

	(void)txn;
	(void)arg;
	if ((ret = aq->env->log_flush(aq->env, NULL)) != 0)
		return aq__dberr(ret, "cannot flush the log of '%s'", aq->home);
	return AQ_OK;
}

int
aq_sync(struct aq *aq)
{
	int rc;

	if ((rc = aq__run(aq, sync_op, NULL, AQ__NOINGEST)) == AQ_OK) {
		aq__intake_flushed(aq);
		if (aq->wake_due) {
			aq->wake_due = 0;
			aq__touch(aq->home);
		}
	}
	return rc;
}

static void
backoff(int try)
{
	struct timespec ts;
	long max = 1000L << (try < 7 ? try : 7);	/* usec, to 128 ms */

	ts.tv_sec = 0;
	ts.tv_nsec = (random() % max + 100) * 1000L;
	nanosleep(&ts, NULL);
}

static int
token(struct aq *aq, DB_TXN *txn, uint64_t nonce, int put)
{
	unsigned char k[3], v[24];
	DBT key, data;
	int ret, slot = aq__gate_slot();

	k[0] = K_TOKEN;
	k[1] = (unsigned char)(slot >> 8);
	k[2] = (unsigned char)slot;
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = k;
	key.size = sizeof(k);
	data.data = v;
	data.ulen = sizeof(v);
	data.flags = DB_DBT_USERMEM;
	if (put) {
		aq__be64(v, nonce);
		aq__be64(v + 8, aq->res[0]);
		aq__be64(v + 16, aq->res[1]);
		data.size = sizeof(v);
		return aq->db->put(aq->db, txn, &key, &data, 0);
	}
	if ((ret = aq->db->get(aq->db, txn, &key, &data, 0)) != 0)
		return ret == DB_NOTFOUND ? 1 : ret;
	if (data.size != sizeof(v) || aq__get64(v) != nonce)
		return 1;
	aq->res[0] = aq__get64(v + 8);
	aq->res[1] = aq__get64(v + 16);
	return 0;
}

/*
 * One attempt.  An op returns AQ_OK, a positive aq_err (the transaction
 * is aborted and the code returned), or a negative Berkeley DB code.
 */
static int
attempt(struct aq *aq, aq__op fn, void *arg, int flags, uint64_t nonce,
    int check)
{
	DB_TXN *txn;
	int ret;

	ret = aq->env->txn_begin(aq->env, NULL, &txn,
	    ((flags & AQ__WRITE) ? 0 : DB_READ_COMMITTED) |
	    ((flags & AQ__BULK) ? DB_TXN_BULK : 0));
	if (ret > 0)
		return aq__dberr(ret, "cannot begin in '%s'", aq->home);
	if (ret != 0)
		return ret;
	if (check) {
		if ((ret = token(aq, txn, nonce, 0)) <= 0) {
			/* Done before the step-out (0), or a DB error. */
			if (ret == 0)
				ret = txn->commit(txn, 0);
			else
				txn->abort(txn);
			return ret;
		}
	}
	ret = fn(aq, txn, arg);
	if (ret == 0 && (flags & AQ__WRITE))
		ret = token(aq, txn, nonce, 1);
	if (ret == 0) {
		if ((ret = txn->commit(txn, aq->defer &&
		    !(flags & AQ__SYNC) ? DB_TXN_WRITE_NOSYNC : 0)) > 0)
			return aq__dberr(ret, "cannot commit in '%s'",
			    aq->home);
		return ret;
	}
	txn->abort(txn);
	if (ret > 0 && ret != AQ_NO && (ret < 64 || ret > 78))
		return aq__dberr(ret, "cannot write in '%s'", aq->home);
	return ret;
}

int
aq__run(struct aq *aq, aq__op fn, void *arg, int flags)
{
	volatile int check = 0, try;
	uint64_t nonce;
	int ret, rc;

	nonce = ((uint64_t)random() << 33) ^ ((uint64_t)random() << 2) ^
	    (uint64_t)aq_now();
	/* What was put through the intake is seen by every operation. */
	if (!(flags & AQ__NOINGEST) && (rc = aq__ingest(aq)) != AQ_OK)
		return rc;
	for (try = 0; try < 64; try++) {
		if (aq__gate_stale() || aq->env == NULL) {
			if (aq->env != NULL)
				aq__abandon(aq);
			if ((rc = join(aq, 0)) != AQ_OK)
				return rc;
		}
		if (sigsetjmp(*aq__op_jmp(), 0) != 0) {
			aq__rejoin(1);
			aq__op_end();
			aq__abandon(aq);
			if (aq__escape_reason() == AQ__ESC_TIMEOUT) {
				aq__rejoin(0);
				return aq__err(AQ_EAGAIN, "environment '%s' is "
				    "busy: gave up waiting", aq->home);
			}
			if (flags & AQ__WRITE)
				check = 1;
			continue;
		}
		aq__op_begin();
		ret = attempt(aq, fn, arg, flags, nonce, check);
		aq__op_end();
		if (ret == DB_LOCK_DEADLOCK || ret == DB_LOCK_NOTGRANTED) {
			backoff(try);
			continue;
		}
		if (ret == DB_RUNRECOVERY) {
			aq__rejoin(1);
			aq__abandon(aq);
			aq->force_recover = 1;
			if (flags & AQ__WRITE)
				check = 1;
			continue;
		}
		if (ret < 0 || ret > 255)
			return aq__dberr(ret, "cannot use environment '%s'%s%s",
			    aq->home, aq__lastdb[0] ? ": " : "", aq__lastdb);
		return ret;
	}
	aq__rejoin(0);
	return aq__err(AQ_EAGAIN, "environment '%s' is busy: too many "
	    "conflicts", aq->home);
}
