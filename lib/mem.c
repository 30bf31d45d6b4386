/*
 * mem.c: allocation that an escape never cuts in half.
 *
 * gate.c may leave an operation at any instant with siglongjmp(3) when
 * another process died inside the environment (see gate.c).  Jumping out
 * of malloc(3) would leave its arena locked and hang this process at the
 * next allocation, so every allocation made inside an operation, by
 * Berkeley DB (through db_env_set_func_malloc()) or by libaq, goes through
 * here: while aq__in_alloc is set an escape is only noted, and it is taken
 * right after the allocator returns.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

static inline void
enter(void)
{
	aq__in_alloc++;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void
leave(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	aq__in_alloc--;
	if (aq__pending && aq__in_alloc == 0 && aq__in_op)
		aq__escape_now();
}

void *
aq__malloc(size_t n)
{
	void *p;

	enter();
	p = malloc(n);
	leave();
	return p;
}

void *
aq__realloc(void *q, size_t n)
{
	void *p;

	enter();
	p = realloc(q, n);
	leave();
	return p;
}

void
aq__free(void *p)
{
	enter();
	free(p);
	leave();
}

char *
aq__strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if ((p = aq__malloc(n)) != NULL)
		memcpy(p, s, n);
	return p;
}
