/* The request pool (see reqpool.h): a FIFO under one mutex and a condition variable; the
 * threads take tasks in order until the pool stops and the queue is empty. */
#include "api/reqpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/error.h"

struct reqpool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct reqpool_task *head, *tail;
	bool stopping;
	int n;
	pthread_t threads[];
};

static struct reqpool_task *take(struct reqpool *p)
{
	pthread_mutex_lock(&p->lock);
	while (!p->head && !p->stopping)
		pthread_cond_wait(&p->cond, &p->lock);
	struct reqpool_task *t = p->head;
	if (t) {
		p->head = t->next;
		if (!p->head)
			p->tail = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	return t;
}

static void *run(void *arg)
{
	struct reqpool *p = arg;
	struct reqpool_task *t;
	while ((t = take(p)))
		t->fn(t);
	return NULL;
}

int reqpool_push(struct reqpool *p, struct reqpool_task *t)
{
	int rc = 0;
	t->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->stopping) {
		rc = AE_SHUTDOWN;
	} else {
		if (p->tail)
			p->tail->next = t;
		else
			p->head = t;
		p->tail = t;
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void reqpool_stop(struct reqpool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	p->n = 0;
}

int reqpool_new(int threads, struct reqpool **ret)
{
	if (threads < 1 || threads > 1024)
		return AE_INVAL;
	struct reqpool *p = calloc(1, sizeof(*p) + (size_t)threads * sizeof(pthread_t));
	if (!p)
		return AE_NOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	for (; p->n < threads; p->n++)
		if (pthread_create(&p->threads[p->n], NULL, run, p) != 0) {
			reqpool_free(p);
			return AE_NOMEM;
		}
	*ret = p;
	return 0;
}

void reqpool_free(struct reqpool *p)
{
	if (!p)
		return;
	reqpool_stop(p);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
