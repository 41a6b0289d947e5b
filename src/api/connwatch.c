/* Connection deadlines (see connwatch.h): a doubly linked list under one mutex, scanned by one
 * thread every CHECK_MS. shutdown() happens under the mutex and a connection leaves the list
 * (libmicrohttpd's "closed" notification) before its descriptor is closed, so a descriptor
 * number reused by a newer connection is never touched. */
#include "api/connwatch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "common/clock.h"
#include "common/error.h"

#define CHECK_MS 500

struct watched {
	int fd;
	int64_t deadline; /* monotonic ms; 0: none */
	struct watched *prev, *next;
};

struct connwatch {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct watched *head;
	bool stopping;
	pthread_t thread;
};

static atomic_ullong cut_total; /* every watcher of the process */

static void cut_overdue(struct connwatch *w, int64_t now)
{
	for (struct watched *c = w->head; c; c = c->next)
		if (c->deadline && c->deadline <= now && c->fd >= 0) {
			shutdown(c->fd, SHUT_RDWR);
			c->deadline = 0;
			atomic_fetch_add(&cut_total, 1);
		}
}

static void *watch(void *arg)
{
	struct connwatch *w = arg;
	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		struct timespec ts = clock_mono_deadline(CHECK_MS);
		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		cut_overdue(w, clock_mono_ms());
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int connwatch_new(struct connwatch **ret)
{
	struct connwatch *w = calloc(1, sizeof(*w));
	if (!w)
		return AE_NOMEM;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&w->thread, NULL, watch, w) != 0) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return AE_NOMEM;
	}
	*ret = w;
	return 0;
}

void connwatch_free(struct connwatch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	while (w->head) {
		struct watched *c = w->head;
		w->head = c->next;
		free(c);
	}
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static int64_t deadline_after(int64_t after_ms)
{
	return after_ms > 0 ? clock_mono_ms() + after_ms : 0;
}

struct watched *connwatch_add(struct connwatch *w, int fd, int64_t after_ms)
{
	struct watched *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = fd;
	c->deadline = deadline_after(after_ms);
	pthread_mutex_lock(&w->lock);
	c->next = w->head;
	if (w->head)
		w->head->prev = c;
	w->head = c;
	pthread_mutex_unlock(&w->lock);
	return c;
}

void connwatch_set(struct connwatch *w, struct watched *c, int64_t after_ms)
{
	if (!c)
		return;
	int64_t d = deadline_after(after_ms);
	pthread_mutex_lock(&w->lock);
	c->deadline = d;
	pthread_mutex_unlock(&w->lock);
}

void connwatch_remove(struct connwatch *w, struct watched *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&w->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&w->lock);
	free(c);
}

unsigned long long connwatch_cut_total(void)
{
	return atomic_load(&cut_total);
}
