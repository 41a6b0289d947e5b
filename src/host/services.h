/* The services one host runs (SPEC §3): async (the engine), async-maintenance (cleanup) and
 * sandbox (the worker pool), their startup types and recovery delays kept in the store, the
 * start of the Automatic ones and the stop of all at shutdown. */
#ifndef ASYNCD_SERVICES_H
#define ASYNCD_SERVICES_H

#include <stddef.h>

#include "host/service.h"

struct engine;
struct writer;
struct store;
struct maintenance;
struct sandbox;

enum { SVC_ASYNC, SVC_MAINTENANCE, SVC_SANDBOX, SVC_COUNT };

struct async_ctx {
	struct engine *engine;
	pthread_mutex_t lock;
	int64_t stop_deadline; /* monotonic ms while stopping, 0 otherwise */
	int64_t stop_timeout_ms;
};

struct host_services {
	const char *host_id;
	struct writer *w;
	struct service svc[SVC_COUNT];
	struct async_ctx async;
	struct maintenance *maint;
	struct sandbox *sandbox;
	const char *worker_path; /* asyncd-worker, set by the host before the services start */
	const char *state_dir;	 /* kept out of the workers' reach, set with worker_path */
};

int services_init(struct host_services *hs, const char *host_id, struct writer *w, struct engine *e,
		  struct store *reader);
/* Start every service whose startup type is Automatic, and wait for them. */
void services_start_automatic(struct host_services *hs);
/* Stop every service (async first: its running jobs get service.stop_timeout). */
void services_stop_all(struct host_services *hs);
void services_done(struct host_services *hs);
struct service *services_find(struct host_services *hs, const char *name);
/* Change and store a service's startup type (-1: keep) and recovery delay (-1: keep). */
int services_configure(struct host_services *hs, struct service *s, int startup,
		       int recovery_delay_s);

#endif
