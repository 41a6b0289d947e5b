/* The request pool: a fixed set of threads that run API handlers, which may wait (a group
 * commit, a store read, a password hash). The HTTP I/O threads never wait: they suspend the
 * connection, queue its request here and go on serving other connections. It knows nothing of
 * HTTP; a task is a function and its argument. */
#ifndef ASYNCD_REQPOOL_H
#define ASYNCD_REQPOOL_H

/* A queued piece of work, embedded in the caller's own struct (no malloc per request). */
struct reqpool_task {
	void (*fn)(struct reqpool_task *t);
	struct reqpool_task *next;
};

struct reqpool;

/* Start threads threads (1..1024). */
int reqpool_new(int threads, struct reqpool **ret);
/* Queue t; it runs on one of the pool's threads. Never blocks. AE_SHUTDOWN once stopping. */
int reqpool_push(struct reqpool *p, struct reqpool_task *t);
/* Run what is queued and join the threads; later pushes fail with AE_SHUTDOWN. */
void reqpool_stop(struct reqpool *p);
/* reqpool_stop, then free the pool. Accepts NULL. */
void reqpool_free(struct reqpool *p);

#endif
