/* A host among peers on a shared store (PostgreSQL): its row in `hosts` with a heartbeat every
 * async.keepalive_interval, the rescue of the Locked jobs of hosts whose heartbeat is older than
 * async.time_until_lock_expires (and, at start, of this state directory's previous life), and the
 * listener that wakes the engine when any host commits new work (LISTEN/NOTIFY). Not started on
 * SQLite, which serves one host. */
#ifndef ASYNCD_PEERS_H
#define ASYNCD_PEERS_H

#include <stdbool.h>

struct writer;
struct engine;

/* Whether the store at url is shared by several hosts. */
bool peers_shared_store(const char *url);
/* Write this host's row (rescuing what the previous life of state_dir held, named in
 * STATE/asyncd.host) and start the heartbeat thread. Before the engine claims. */
int peers_start(struct writer *w, const char *state_dir, const char *host_id, const char *address);
struct store;
/* Read the stored settings into this process (host.c). */
typedef void (*peers_settings_fn)(struct store *s);
/* Start the listener on a connection of its own: new work wakes e; a settings change of any host
 * calls reload with the listener's connection (and once after every reconnect). */
struct host_services;
/* ...and runs the service actions other hosts address to this one (hs) through the store. */
int peers_listen(const char *store_url, struct engine *e, peers_settings_fn reload,
		 struct host_services *hs);
/* Stop both threads and mark the host stopped (after the engine released its jobs). */
void peers_stop(void);

#endif
