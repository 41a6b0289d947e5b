/* Telling the system's service manager how the host is doing (sd_notify: READY, STOPPING,
 * STATUS, and the watchdog). Does nothing when asyncd was built without libsystemd or does not
 * run under systemd. */
#ifndef ASYNCD_NOTIFY_H
#define ASYNCD_NOTIFY_H

void notify_ready(const char *status);
void notify_stopping(const char *status);
void notify_status(const char *status);
/* Start pinging the watchdog at half its interval when systemd asks for it. */
void notify_watchdog_start(void);
void notify_watchdog_stop(void);

#endif
