/* See peers.h. One heartbeat thread (its writes go through the writer) and one listener thread
 * with a store connection of its own, which reconnects with a growing pause when the connection
 * drops and then wakes the engine once (a notification lost meanwhile costs nothing more). */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/settings.h"
#include "exec/engine.h"
#include "exec/writer.h"
#include "host/peers.h"
#include "host/service.h"
#include "host/services.h"
#include "store/store.h"

#define LISTEN_WAIT_MS 500
#define RECONNECT_MAX_MS 5000

static struct {
	struct writer *w;
	struct host_row row;
	char state_dir[4096];
	pthread_t beat, listen;
	bool beating, listening, stopping;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int64_t last_beat;
	char store_url[4200];
	struct engine *engine;
	peers_settings_fn reload;
	struct host_services *services;
	bool beat_failed; /* the last heartbeat could not be written */
	int64_t back_on;  /* when a heartbeat was written again after failing ones; 0: never */
	bool wake_ready;
} P = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The waits use monotonic deadlines (clock_mono_deadline): the condition must count in them. */
static void init_wake(void)
{
	pthread_condattr_t ca;
	if (P.wake_ready)
		return;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&P.wake, &ca);
	pthread_condattr_destroy(&ca);
	P.wake_ready = true;
}

bool peers_shared_store(const char *url)
{
	return url && strncmp(url, "sqlite:", 7) != 0;
}

struct beat_call {
	const struct host_row *row;
	const char *rescue_host; /* the previous life's id, or NULL: every dead host */
	bool no_rescue;
	int live; /* out: the hosts sharing the store, this one included (see PRESENT_EXPIRIES) */
	int64_t now, expires_ms, rescued;
};

/* A host counts as sharing the store (global throttles, claims of what it can start) until its
 * heartbeat is this many expiries old, not one: heartbeats a starved machine delayed past one
 * expiry made a host count itself alone and claim under its own caps only (three hosts then held
 * a global cap of 2 each). Counting a dead host a little longer only keeps the shared rules on. */
#define PRESENT_EXPIRIES 3

static int beat_fn(struct store *s, void *arg)
{
	struct beat_call *c = arg;
	int rc = store_host_put(s, c->row, c->now + c->expires_ms);
	if (rc == 0 && !c->no_rescue)
		rc = store_jobs_rescue(s, c->rescue_host, c->now - c->expires_ms, c->now,
				       &c->rescued);
	struct host_row *v = NULL;
	size_t n = 0;
	if (rc == 0 && store_hosts_list(s, &v, &n) == 0) {
		c->live = 0;
		for (size_t i = 0; i < n; i++)
			c->live += !v[i].stopped_on &&
				   v[i].heartbeat_on >= c->now - PRESENT_EXPIRIES * c->expires_ms;
		host_rows_free(v, n);
	}
	return rc;
}

/* Within async.time_until_lock_expires of this host's first heartbeat after an outage. */
static bool in_grace(const struct settings *cfg)
{
	return P.back_on && clock_now_ms() - P.back_on < cfg->time_until_lock_expires_ms;
}

static int beat(const char *rescue_host)
{
	struct settings cfg;
	settings_current(&cfg);
	struct beat_call c = {.row = &P.row,
			      .rescue_host = rescue_host,
			      .now = clock_now_ms(),
			      .expires_ms = cfg.time_until_lock_expires_ms,
			      /* back from a database outage: every host's heartbeat is as old as
			       * ours; give them a whole expiry to beat again (their writers may be
			       * in a pause) before taking their jobs */
			      .no_rescue = !rescue_host && (P.beat_failed || in_grace(&cfg))};
	if (P.last_beat && c.now - P.last_beat > c.expires_ms)
		log_warn(
		    "peers",
		    "this host gave no heartbeat for %lld ms (it was paused or starved, or the "
		    "database was away): other "
		    "hosts may have declared it dead and taken its jobs; the outcomes of its runs "
		    "of those jobs are refused (fencing)",
		    (long long)(c.now - P.last_beat));
	P.row.heartbeat_on = c.now;
	int rc = writer_call(P.w, beat_fn, &c);
	if (rc < 0) {
		if (!P.beat_failed)
			log_warn("peers", "heartbeat failed: %s", asyncd_strerror(rc));
		P.beat_failed = true;
		return rc;
	}
	if (P.beat_failed) {
		log_info("peers",
			 "heartbeat written again: no rescue of other hosts' jobs for %lld "
			 "ms (async.time_until_lock_expires), so that they beat again first",
			 (long long)c.expires_ms);
		P.back_on = c.now;
	}
	P.beat_failed = false;
	if (c.live && c.live != store_live_hosts())
		log_info("peers", "%d hosts share the store", c.live);
	if (c.live)
		store_set_live_hosts(c.live);
	P.last_beat = c.now;
	if (c.rescued)
		log_info("peers", "returned %lld Locked jobs of %s to Ready", (long long)c.rescued,
			 rescue_host ? "this host's previous life" : "dead hosts");
	return 0;
}

static void *beat_main(void *arg)
{
	(void)arg;
	struct settings cfg;
	pthread_mutex_lock(&P.lock);
	while (!P.stopping) {
		settings_current(&cfg);
		struct timespec ts = clock_mono_deadline(cfg.keepalive_interval_ms);
		pthread_cond_timedwait(&P.wake, &P.lock, &ts);
		if (P.stopping)
			break;
		pthread_mutex_unlock(&P.lock);
		beat(NULL);
		pthread_mutex_lock(&P.lock);
	}
	pthread_mutex_unlock(&P.lock);
	return NULL;
}

/* STATE/asyncd.host: the id of the host that last ran on this state directory. */
static void previous_id(char *out, size_t n)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/asyncd.host", P.state_dir);
	FILE *f = fopen(path, "r");
	out[0] = 0;
	if (f) {
		if (!fgets(out, (int)n, f))
			out[0] = 0;
		fclose(f);
	}
	out[strcspn(out, "\n")] = 0;
}

static void remember_id(void)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/asyncd.host", P.state_dir);
	FILE *f = fopen(path, "w");
	if (f) {
		fprintf(f, "%s\n", P.row.id);
		fclose(f);
	}
}

int peers_start(struct writer *w, const char *state_dir, const char *host_id, const char *address)
{
	char prev[256];
	init_wake();
	P.w = w;
	snprintf(P.state_dir, sizeof(P.state_dir), "%s", state_dir);
	P.row.id = strdup(host_id);
	P.row.address = strdup(address);
	P.row.version = strdup(ASYNCD_VERSION);
	P.row.started_on = clock_now_ms();
	if (!P.row.id || !P.row.address || !P.row.version)
		return AE_NOMEM;
	previous_id(prev, sizeof(prev));
	/* what this state directory's previous life held, at once: it is not running any more */
	int rc = beat(prev[0] ? prev : NULL);
	if (rc < 0)
		return rc;
	remember_id();
	if (pthread_create(&P.beat, NULL, beat_main, NULL) != 0)
		return AE_NOMEM;
	P.beating = true;
	return 0;
}

static bool stopping(void)
{
	pthread_mutex_lock(&P.lock);
	bool s = P.stopping;
	pthread_mutex_unlock(&P.lock);
	return s;
}

/* Open the listener's connection, retrying with a growing pause until it works or we stop. */
static struct store *connect_listener(void)
{
	struct store *s = NULL;
	int64_t pause = 100;
	bool warned = false;
	while (!stopping()) {
		if (store_open(P.store_url, &s) == 0 && store_listen_wait(s, 0) >= 0)
			return s;
		store_close(s);
		s = NULL;
		if (!warned)
			log_warn("peers", "the listener cannot reach the store; trying again");
		warned = true;
		pthread_mutex_lock(&P.lock);
		struct timespec ts = clock_mono_deadline(pause);
		if (!P.stopping)
			pthread_cond_timedwait(&P.wake, &P.lock, &ts);
		pthread_mutex_unlock(&P.lock);
		pause = pause * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : pause * 2;
	}
	return NULL;
}

#define COMMAND_WAIT_MS 1000

struct done_call {
	int64_t id;
	int rc;
	const char *answer;
};

static int command_done_fn(struct store *s, void *arg)
{
	struct done_call *d = arg;
	return store_command_done(s, d->id, d->rc, d->answer, clock_now_ms());
}

/* A configuration sent by another host's PATCH (checked there): {"startup_type": NAME,
 * "recovery_delay_s": N}, either may be missing. */
static int configure(struct service *svc, const char *payload, char *err, size_t len)
{
	json_t *j = payload ? json_loads(payload, 0, NULL) : NULL;
	json_t *st = json_object_get(j, "startup_type"),
	       *d = json_object_get(j, "recovery_delay_s");
	int startup = st ? service_startup_parse(json_string_value(st)) : -1;
	int delay = json_is_integer(d) ? (int)json_integer_value(d) : -1;
	int rc = AE_INVAL;
	if (!j || (st && startup < 0) || (d && delay < 0) || (!st && !d))
		snprintf(err, len, "the configuration sent is not one: %s", payload ? payload : "");
	else if ((rc = services_configure(P.services, svc, startup, delay)) < 0)
		snprintf(err, len, "cannot store the service's configuration: %s",
			 asyncd_strerror(rc));
	json_decref(j);
	return rc;
}

/* Act on one command for this host as its own API would, and write the answer: the service's
 * new status, or the error. */
static void act_on(const struct host_command *c)
{
	char err[256] = "";
	char *answer = NULL;
	int rc = AE_NOTFOUND;
	struct service *svc = services_find(P.services, c->service);
	int a = service_action_parse(c->action);
	if (!svc)
		snprintf(err, sizeof(err),
			 "no service '%s': use async, async-maintenance or sandbox", c->service);
	else if (!strcmp(c->action, "configure"))
		rc = configure(svc, c->payload, err, sizeof(err));
	else if (a < 0)
		snprintf(err, sizeof(err),
			 "no service action '%s': use start, stop, pause, continue or restart",
			 c->action);
	else if ((rc = service_act(svc, (enum svc_action)a, err, sizeof(err))) == 0)
		service_wait_idle(svc, COMMAND_WAIT_MS);
	if (rc == 0) {
		json_t *j = service_json(svc, P.row.id);
		answer = json_dumps(j, JSON_COMPACT);
		json_decref(j);
	}
	log_info("peers", "%s asked from another host: service %s %s: %s",
		 c->requested_by ? c->requested_by : "?", c->service, c->action,
		 rc == 0 ? "done" : err);
	struct done_call d = {.id = c->id, .rc = rc, .answer = answer ? answer : err};
	if (writer_call(P.w, command_done_fn, &d) < 0)
		log_warn("peers", "cannot answer command %lld", (long long)c->id);
	free(answer);
}

static void run_commands(struct store *s)
{
	struct host_command *v = NULL;
	size_t n = 0;
	if (!P.services || store_commands_pending(s, P.row.id, &v, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		act_on(&v[i]);
	host_commands_free(v, n);
}

static void *listen_main(void *arg)
{
	(void)arg;
	struct store *s = NULL;
	while (!stopping()) {
		if (!s) {
			if (!(s = connect_listener()))
				break;
			/* whatever was announced while we were away */
			P.reload(s);
			run_commands(s);
			engine_notify(P.engine);
		}
		int rc = store_listen_wait(s, LISTEN_WAIT_MS);
		if (rc > 0 && (rc & STORE_HEARD_SETTINGS))
			P.reload(s);
		if (rc > 0 && (rc & STORE_HEARD_COMMANDS))
			run_commands(s);
		if (rc > 0 && (rc & STORE_HEARD_JOBS))
			engine_notify(P.engine);
		if (rc < 0) {
			log_warn("peers", "the listener lost the store: %s", store_last_error(s));
			store_close(s);
			s = NULL;
		}
	}
	store_close(s);
	return NULL;
}

int peers_listen(const char *store_url, struct engine *e, peers_settings_fn reload,
		 struct host_services *hs)
{
	P.reload = reload;
	P.services = hs;
	init_wake();
	snprintf(P.store_url, sizeof(P.store_url), "%s", store_url);
	P.engine = e;
	if (pthread_create(&P.listen, NULL, listen_main, NULL) != 0)
		return AE_NOMEM;
	P.listening = true;
	return 0;
}

void peers_stop(void)
{
	if (!P.wake_ready)
		return; /* never started (SQLite) */
	pthread_mutex_lock(&P.lock);
	P.stopping = true;
	pthread_cond_broadcast(&P.wake);
	pthread_mutex_unlock(&P.lock);
	if (P.listening)
		pthread_join(P.listen, NULL);
	if (P.beating) {
		pthread_join(P.beat, NULL);
		/* stopped: other hosts may take whatever it still held at once */
		P.row.stopped_on = clock_now_ms();
		beat(P.row.id);
	}
	P.listening = P.beating = false;
	free(P.row.id);
	free(P.row.address);
	free(P.row.version);
	memset(&P.row, 0, sizeof(P.row));
}
