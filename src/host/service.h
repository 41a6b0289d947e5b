/* A service of a host (SPEC §3): a state machine (stopped, start_pending, running, stop_pending,
 * paused, pause_pending, continue_pending), a startup type, a recovery action, counters, and the
 * actions start, stop, restart, pause and continue. An action that takes time runs on its own
 * thread while the status shows it pending; what starting or stopping means is given by the
 * service's ops. Who may act is the API's business, not this module's. */
#ifndef ASYNCD_SERVICE_H
#define ASYNCD_SERVICE_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum svc_status {
	SVC_STOPPED,
	SVC_START_PENDING,
	SVC_RUNNING,
	SVC_STOP_PENDING,
	SVC_PAUSED,
	SVC_PAUSE_PENDING,
	SVC_CONTINUE_PENDING,
};

enum svc_startup {
	SVC_AUTOMATIC,
	SVC_MANUAL,
	SVC_DISABLED,
};

enum svc_action {
	SVC_ACT_START,
	SVC_ACT_STOP,
	SVC_ACT_RESTART,
	SVC_ACT_PAUSE,
	SVC_ACT_CONTINUE,
};

/* What a service does; every op runs on the action's thread and may block. 0 or AE_*. */
struct service_ops {
	int (*start)(void *ctx);
	int (*stop)(void *ctx);	  /* drains: returns once stopped */
	int (*pause)(void *ctx);  /* NULL: the service cannot pause */
	int (*resume)(void *ctx); /* continue */
	/* Extra properties for the API (jobs running, held, processed...); may be NULL. */
	void (*describe)(void *ctx, json_t *props);
};

struct service {
	const char *name;
	const char *display_name;
	const char *description;
	const struct service_ops *ops;
	void *ctx;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	enum svc_status status;
	enum svc_startup startup;
	int recovery_delay_s; /* restart this long after a failure; 0: no recovery */
	int64_t since;	      /* when the status last changed (ms) */
	char last_error[256];
	int busy;		/* action threads running (a stop may overtake a pending pause) */
	int64_t action_started; /* monotonic ms */
};

void service_init(struct service *s, const char *name, const char *display_name,
		  const char *description, const struct service_ops *ops, void *ctx);
void service_done(struct service *s);

/* Begin action a. Returns 0 once it is under way (the status shows it pending), AE_CONFLICT with
 * a message when it is not allowed now (e.g. start of a running service, any action of a
 * Disabled one but stop), AE_BUSY while another action runs. */
int service_act(struct service *s, enum svc_action a, char *err, size_t errlen);
/* Wait until no action is running, at most timeout_ms (<0: for ever). */
void service_wait_idle(struct service *s, int64_t timeout_ms);
/* The status now (read under the service's lock). */
enum svc_status service_status(struct service *s);
/* Run action a and wait for it (host start-up and shutdown). */
int service_run(struct service *s, enum svc_action a);

json_t *service_json(struct service *s, const char *host);

const char *service_status_name(enum svc_status st);
const char *service_startup_name(enum svc_startup t);
/* -1 when unknown. */
int service_startup_parse(const char *name);
int service_action_parse(const char *name);
const char *service_action_name(enum svc_action a);

#endif
