/* stdout/stderr capture of the worker (see capture.h). One mutex guards the buffer; both the
 * draining thread and capture_take() read the pipe under it, so nothing written before
 * capture_take() flushed stdio can be missed. */
#include "worker/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STACK_SIZE (256 * 1024)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int rfd = -1;
static char *kept;
static size_t kept_len, dropped;

/* Read what the pipe holds now. Called with the lock held. */
static void drain_locked(void)
{
	char chunk[4096];
	ssize_t n;
	while ((n = read(rfd, chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR)) {
		if (n < 0)
			continue;
		size_t room = CAPTURE_MAX_BYTES - kept_len,
		       take = (size_t)n < room ? (size_t)n : room;
		if (take && (kept || (kept = malloc(CAPTURE_MAX_BYTES)))) {
			memcpy(kept + kept_len, chunk, take);
			kept_len += take;
		} else {
			take = 0;
		}
		dropped += (size_t)n - take;
	}
}

static void *drain_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p = {rfd, POLLIN, 0};
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return NULL;
		pthread_mutex_lock(&lock);
		drain_locked();
		pthread_mutex_unlock(&lock);
		if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
			return NULL;
	}
}

static int start_thread(void)
{
	pthread_attr_t a;
	pthread_t t;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, STACK_SIZE);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	int e = pthread_create(&t, &a, drain_main, NULL);
	pthread_attr_destroy(&a);
	return e == 0 ? 0 : -1;
}

int capture_start(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	if (dup2(p[1], STDOUT_FILENO) < 0 || dup2(p[1], STDERR_FILENO) < 0 ||
	    fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	close(p[1]);
	rfd = p[0];
	setvbuf(stderr, NULL, _IONBF, 0);
	return start_thread();
}

void capture_take(char **ret, size_t *ret_len, size_t *ret_dropped)
{
	fflush(stdout);
	fflush(stderr);
	pthread_mutex_lock(&lock);
	if (rfd >= 0)
		drain_locked();
	*ret = kept_len ? kept : NULL;
	*ret_len = kept_len;
	*ret_dropped = dropped;
	if (kept_len)
		kept = NULL;
	kept_len = dropped = 0;
	pthread_mutex_unlock(&lock);
}
