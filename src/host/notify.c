/* sd_notify glue (see notify.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/clock.h"
#include "host/notify.h"

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

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

static pthread_t wd_thread;
static pthread_mutex_t wd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cond = PTHREAD_COND_INITIALIZER;
static bool wd_running, wd_stop;
static uint64_t wd_usec;

static void *watchdog_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&wd_lock);
	while (!wd_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t ns = (int64_t)ts.tv_nsec + (int64_t)(wd_usec / 2) * 1000;
		ts.tv_sec += ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		pthread_cond_timedwait(&wd_cond, &wd_lock, &ts);
		if (!wd_stop)
			sd_notify(0, "WATCHDOG=1");
	}
	pthread_mutex_unlock(&wd_lock);
	return NULL;
}

void notify_watchdog_start(void)
{
	if (sd_watchdog_enabled(0, &wd_usec) <= 0 || wd_usec == 0)
		return;
	wd_running = pthread_create(&wd_thread, NULL, watchdog_main, NULL) == 0;
}

void notify_watchdog_stop(void)
{
	if (!wd_running)
		return;
	pthread_mutex_lock(&wd_lock);
	wd_stop = true;
	pthread_cond_signal(&wd_cond);
	pthread_mutex_unlock(&wd_lock);
	pthread_join(wd_thread, NULL);
	wd_running = false;
}
#else
static void notify_send(const char *state, const char *status)
{
	(void)state;
	(void)status;
}

void notify_watchdog_start(void)
{
}

void notify_watchdog_stop(void)
{
}
#endif

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
