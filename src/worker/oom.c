/* malloc interposition of the worker (see oom.h). Only these allocation entry points are
 * replaced; free() and malloc_usable_size() stay glibc's, which own the memory either way. */
#include "worker/oom.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "worker/sanitizer.h"

static unsigned long refusals; /* atomic: allocations refused since the worker started */
static unsigned long mark;     /* refusals when the run started (the executor's thread) */

void oom_reset(void)
{
	mark = __atomic_load_n(&refusals, __ATOMIC_RELAXED);
}

bool oom_seen(void)
{
	return __atomic_load_n(&refusals, __ATOMIC_RELAXED) != mark;
}

#ifndef WORKER_ASAN
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void *__libc_valloc(size_t n);
extern void *__libc_pvalloc(size_t n);

static void *noted(void *p, size_t n)
{
	if (!p && n)
		__atomic_add_fetch(&refusals, 1, __ATOMIC_RELAXED);
	return p;
}

void *malloc(size_t n)
{
	return noted(__libc_malloc(n), n);
}

void *calloc(size_t n, size_t size)
{
	return noted(__libc_calloc(n, size), n && size ? n : 0);
}

void *realloc(void *p, size_t n)
{
	return noted(__libc_realloc(p, n), n);
}

void *memalign(size_t align, size_t n)
{
	return noted(__libc_memalign(align, n), n);
}

void *aligned_alloc(size_t align, size_t n)
{
	return noted(__libc_memalign(align, n), n);
}

void *valloc(size_t n)
{
	return noted(__libc_valloc(n), n);
}

void *pvalloc(size_t n)
{
	return noted(__libc_pvalloc(n), n);
}

int posix_memalign(void **ret, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	void *p = noted(__libc_memalign(align, n), n);
	if (!p && n)
		return ENOMEM;
	*ret = p;
	return 0;
}
#endif
