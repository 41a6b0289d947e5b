/* The worker's main mode (`asyncd-worker --serve`): isolate itself, say HELLO on the socket the
 * host passed, then run the jobs the host sends, one at a time in the order they came (the host
 * pipelines several; a reader thread answers pings and recalls while a job runs). It exits when
 * the host closes the socket, sends QUIT, or dies (parent-death signal). Frames: docs/ipc.md. */
#ifndef ASYNCD_WORKER_SERVE_H
#define ASYNCD_WORKER_SERVE_H

#include "worker/isolate.h"

struct serve_opts {
	int sock; /* the worker's end of the socketpair */
	struct isolate_opts isolation;
};

/* Returns the process's exit status. */
int worker_serve(const struct serve_opts *o);

#endif
