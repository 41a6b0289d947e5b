/* sd_notify glue and the watch thread (see notify.h). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "common/clock.h"
#include "host/notify.h"

#define NO_WATCHDOG_TICK_USEC 1000000ULL /* STATUS updates when there is no watchdog */
#define STATUS_LEN 256

/* state may be NULL (only the status), status may be NULL (only the state). */
static void notify_send(const char *state, const char *status)
{
	if (state && status)
		sd_notifyf(0, "%s\nSTATUS=%s", state, status);
	else if (status)
		sd_notifyf(0, "STATUS=%s", status);
	else if (state)
		sd_notify(0, state);
}

void notify_ready(const char *status)
{
	notify_send("READY=1", status);
}

void notify_stopping(const char *status)
{
	notify_send("STOPPING=1", status);
}

void notify_status(const char *status)
{
	notify_send(NULL, status);
}

static struct {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool running, stop, watchdog;
	uint64_t tick_usec;
	notify_check_fn check;
	void *arg;
	char last_status[STATUS_LEN];
} wd = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* One tick: ask the host, ping when it is alive, say what it does when that changed. */
static void tick(void)
{
	char status[STATUS_LEN] = "";
	bool alive = wd.check(wd.arg, status, sizeof(status));
	bool changed = status[0] && strcmp(status, wd.last_status) != 0;
	if (changed)
		snprintf(wd.last_status, sizeof(wd.last_status), "%s", status);
	notify_send(alive && wd.watchdog ? "WATCHDOG=1" : NULL, changed ? status : NULL);
}

static void *watch_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&wd.lock);
	while (!wd.stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t ns = (int64_t)ts.tv_nsec + (int64_t)wd.tick_usec * 1000;
		ts.tv_sec += ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		pthread_cond_timedwait(&wd.cond, &wd.lock, &ts);
		if (wd.stop)
			break;
		pthread_mutex_unlock(&wd.lock);
		tick();
		pthread_mutex_lock(&wd.lock);
	}
	pthread_mutex_unlock(&wd.lock);
	return NULL;
}

void notify_watch_start(notify_check_fn check, void *arg)
{
	uint64_t usec = 0;
	const char *sock = getenv("NOTIFY_SOCKET");
	if (!sock || !*sock || wd.running)
		return;
	wd.watchdog = sd_watchdog_enabled(0, &usec) > 0 && usec > 0;
	wd.tick_usec = wd.watchdog ? usec / 2 : NO_WATCHDOG_TICK_USEC;
	wd.check = check;
	wd.arg = arg;
	wd.stop = false;
	wd.last_status[0] = 0;
	wd.running = pthread_create(&wd.thread, NULL, watch_main, NULL) == 0;
}

void notify_watch_stop(void)
{
	if (!wd.running)
		return;
	pthread_mutex_lock(&wd.lock);
	wd.stop = true;
	pthread_cond_signal(&wd.cond);
	pthread_mutex_unlock(&wd.lock);
	pthread_join(wd.thread, NULL);
	wd.running = false;
}
