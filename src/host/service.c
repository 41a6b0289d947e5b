/* The service state machine (see service.h). Each action runs on a detached thread; the status
 * and the busy flag are guarded by the service's mutex, and `changed` is broadcast at every step
 * so that waiters (shutdown, tests) can follow it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "host/service.h"

static const char *status_names[] = {"stopped", "start_pending", "running",	    "stop_pending",
				     "paused",	"pause_pending", "continue_pending"};
static const char *startup_names[] = {"automatic", "manual", "disabled"};
static const char *action_names[] = {"start", "stop", "restart", "pause", "continue"};

const char *service_status_name(enum svc_status st)
{
	return (unsigned)st < 7 ? status_names[st] : "unknown";
}

const char *service_startup_name(enum svc_startup t)
{
	return (unsigned)t < 3 ? startup_names[t] : "unknown";
}

const char *service_action_name(enum svc_action a)
{
	return (unsigned)a < 5 ? action_names[a] : "unknown";
}

static int lookup(const char *name, const char *const *names, int n)
{
	for (int i = 0; name && i < n; i++)
		if (!strcasecmp(name, names[i]))
			return i;
	return -1;
}

int service_startup_parse(const char *name)
{
	return lookup(name, startup_names, 3);
}

int service_action_parse(const char *name)
{
	return lookup(name, action_names, 5);
}

void service_init(struct service *s, const char *name, const char *display_name,
		  const char *description, const struct service_ops *ops, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->display_name = display_name;
	s->description = description;
	s->ops = ops;
	s->ctx = ctx;
	s->status = SVC_STOPPED;
	s->startup = SVC_AUTOMATIC;
	s->since = clock_now_ms();
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->changed, &ca);
	pthread_condattr_destroy(&ca);
}

void service_done(struct service *s)
{
	service_wait_idle(s, -1);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->changed);
}

/* Called with the lock held. */
static void set_status(struct service *s, enum svc_status st)
{
	s->status = st;
	s->since = clock_now_ms();
	pthread_cond_broadcast(&s->changed);
}

enum svc_status service_status(struct service *s)
{
	pthread_mutex_lock(&s->lock);
	enum svc_status st = s->status;
	pthread_mutex_unlock(&s->lock);
	return st;
}

static void set_status_locked(struct service *s, enum svc_status st)
{
	pthread_mutex_lock(&s->lock);
	set_status(s, st);
	pthread_mutex_unlock(&s->lock);
}

static void note_error(struct service *s, const char *what, int rc)
{
	pthread_mutex_lock(&s->lock);
	snprintf(s->last_error, sizeof(s->last_error), "%s failed: %s", what, asyncd_strerror(rc));
	pthread_mutex_unlock(&s->lock);
}

/* Start, trying again after the recovery delay (at most 3 times) when it fails. */
static int do_start(struct service *s)
{
	int rc = AE_INTERNAL;
	for (int attempt = 0; attempt < 3; attempt++) {
		set_status_locked(s, SVC_START_PENDING);
		rc = s->ops->start(s->ctx);
		if (rc == 0) {
			set_status_locked(s, SVC_RUNNING);
			return 0;
		}
		note_error(s, "start", rc);
		set_status_locked(s, SVC_STOPPED);
		if (s->recovery_delay_s <= 0 || attempt == 2)
			break; /* no wait after the last try: the service would stay busy for
				  nothing */
		sleep((unsigned)s->recovery_delay_s);
	}
	return rc;
}

static int do_stop(struct service *s)
{
	set_status_locked(s, SVC_STOP_PENDING);
	int rc = s->ops->stop(s->ctx);
	if (rc < 0)
		note_error(s, "stop", rc);
	set_status_locked(s, SVC_STOPPED);
	return rc;
}

static int do_action(struct service *s, enum svc_action a)
{
	int rc = 0;
	switch (a) {
	case SVC_ACT_START:
		return do_start(s);
	case SVC_ACT_STOP:
		return do_stop(s);
	case SVC_ACT_RESTART:
		rc = do_stop(s);
		return rc < 0 ? rc : do_start(s);
	case SVC_ACT_PAUSE:
		set_status_locked(s, SVC_PAUSE_PENDING);
		rc = s->ops->pause(s->ctx);
		pthread_mutex_lock(&s->lock);
		if (s->status == SVC_PAUSE_PENDING) /* not overtaken by a stop */
			set_status(s, rc == 0 ? SVC_PAUSED : SVC_RUNNING);
		pthread_mutex_unlock(&s->lock);
		break;
	case SVC_ACT_CONTINUE:
		set_status_locked(s, SVC_CONTINUE_PENDING);
		rc = s->ops->resume(s->ctx);
		set_status_locked(s, rc == 0 ? SVC_RUNNING : SVC_PAUSED);
		break;
	}
	if (rc < 0)
		note_error(s, service_action_name(a), rc);
	return rc;
}

struct action_arg {
	struct service *s;
	enum svc_action a;
};

static void finish(struct service *s)
{
	pthread_mutex_lock(&s->lock);
	s->busy--;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
}

static void *action_main(void *p)
{
	struct action_arg *arg = p;
	do_action(arg->s, arg->a);
	finish(arg->s);
	free(arg);
	return NULL;
}

/* Whether a may begin now; a message in err when not. Called with the lock held. */
static int allowed(struct service *s, enum svc_action a, char *err, size_t errlen)
{
	enum svc_status st = s->status;
	const char *now = service_status_name(st);
	/* a stop may overtake a pause that waits for long runs: it has a timeout */
	bool overtake = a == SVC_ACT_STOP && st == SVC_PAUSE_PENDING;
	if (s->busy && !overtake) {
		snprintf(err, errlen, "%s is busy (%s): wait until it is done", s->name, now);
		return AE_BUSY;
	}
	if (s->startup == SVC_DISABLED && a != SVC_ACT_STOP) {
		snprintf(err, errlen,
			 "%s is disabled: set its startup type to automatic or manual first",
			 s->name);
		return AE_CONFLICT;
	}
	bool ok = (a == SVC_ACT_START && st == SVC_STOPPED) ||
		  ((a == SVC_ACT_STOP || a == SVC_ACT_RESTART) &&
		   (st == SVC_RUNNING || st == SVC_PAUSED)) ||
		  overtake || (a == SVC_ACT_PAUSE && st == SVC_RUNNING && s->ops->pause) ||
		  (a == SVC_ACT_CONTINUE && st == SVC_PAUSED);
	if (!ok) {
		snprintf(err, errlen, "cannot %s %s: it is %s%s", service_action_name(a), s->name,
			 now, a == SVC_ACT_PAUSE && !s->ops->pause ? " and cannot pause" : "");
		return AE_CONFLICT;
	}
	return 0;
}

int service_act(struct service *s, enum svc_action a, char *err, size_t errlen)
{
	pthread_t t;
	pthread_attr_t attr;
	struct action_arg *arg = malloc(sizeof(*arg));
	if (!arg)
		return AE_NOMEM;
	*arg = (struct action_arg){s, a};
	pthread_mutex_lock(&s->lock);
	int rc = allowed(s, a, err, errlen);
	if (rc == 0) {
		s->busy++;
		s->last_error[0] = 0;
		s->action_started = clock_mono_ms();
		/* show the pending status before answering, so a caller sees the action begun */
		set_status(s, a == SVC_ACT_START      ? SVC_START_PENDING
			      : a == SVC_ACT_PAUSE    ? SVC_PAUSE_PENDING
			      : a == SVC_ACT_CONTINUE ? SVC_CONTINUE_PENDING
						      : SVC_STOP_PENDING);
	}
	pthread_mutex_unlock(&s->lock);
	if (rc < 0) {
		free(arg);
		return rc;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, action_main, arg) != 0) {
		free(arg);
		finish(s);
		rc = AE_NOMEM;
	}
	pthread_attr_destroy(&attr);
	return rc;
}

void service_wait_idle(struct service *s, int64_t timeout_ms)
{
	struct timespec deadline = clock_mono_deadline(timeout_ms < 0 ? 0 : timeout_ms);
	pthread_mutex_lock(&s->lock);
	while (s->busy) {
		if (timeout_ms < 0)
			pthread_cond_wait(&s->changed, &s->lock);
		else if (pthread_cond_timedwait(&s->changed, &s->lock, &deadline) != 0)
			break;
	}
	pthread_mutex_unlock(&s->lock);
}

int service_run(struct service *s, enum svc_action a)
{
	char err[256];
	int rc = service_act(s, a, err, sizeof(err));
	if (rc == 0)
		service_wait_idle(s, -1);
	return rc;
}

json_t *service_json(struct service *s, const char *host)
{
	char since[40];
	pthread_mutex_lock(&s->lock);
	clock_format_rfc3339(s->since, since, sizeof(since));
	json_t *o =
	    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:b}", "host", host, "name", s->name,
		      "display_name", s->display_name, "description", s->description, "status",
		      service_status_name(s->status), "startup_type",
		      service_startup_name(s->startup), "since", since, "recovery_delay_s",
		      s->recovery_delay_s, "can_pause", s->ops->pause != NULL);
	if (s->last_error[0])
		json_object_set_new(o, "last_error", json_string(s->last_error));
	pthread_mutex_unlock(&s->lock);
	if (s->ops->describe)
		s->ops->describe(s->ctx, o);
	return o;
}
