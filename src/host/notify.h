/* Telling the system's service manager how the host is doing (sd_notify: READY, STOPPING,
 * STATUS, and the watchdog). Does nothing when asyncd does not run under systemd (no
 * NOTIFY_SOCKET). */
#ifndef ASYNCD_NOTIFY_H
#define ASYNCD_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

void notify_ready(const char *status);
void notify_stopping(const char *status);
void notify_status(const char *status);

/* Asked at every tick of the watch: true when the host is alive (the watchdog may be pinged);
 * writes what the host is doing into status (n bytes), sent as STATUS= when it changed. */
typedef bool (*notify_check_fn)(void *arg, char *status, size_t n);

/* Start the watch thread when a service manager listens: it ticks at half of WATCHDOG_USEC (every
 * second when systemd asked for no watchdog), calls check, and sends WATCHDOG=1 only when check
 * said the host is alive. Nothing starts without NOTIFY_SOCKET. */
void notify_watch_start(notify_check_fn check, void *arg);
/* Stop and join the watch thread (no more checks after it returns). Safe when not started. */
void notify_watch_stop(void);

#endif
