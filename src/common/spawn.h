/* Attributes for spawning a helper process (the sandbox worker, the inspect worker) from the
 * threaded host with posix_spawn: its own process group, an empty signal mask, and the signals
 * the host ignores or handles back at their defaults. */
#ifndef ASYNCD_SPAWN_H
#define ASYNCD_SPAWN_H

#include <spawn.h>

/* Initialise attr; 0, or AE_NOMEM (attr is then destroyed). */
int spawn_attrs_init(posix_spawnattr_t *attr);

#endif
