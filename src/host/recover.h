/* What a host does at start about its previous life on the same SQLite database (one host per
 * database): the jobs the in-process run journal names count one host crash each, and end
 * Completed/Failed host_crashed after async.max_host_crashes of them; then every job still
 * Locked goes back to Ready. It logs what it found (this is the daemon's top layer). Not the
 * journal itself (exec/inflight.c). */
#ifndef ASYNCD_RECOVER_H
#define ASYNCD_RECOVER_H

#include <stdbool.h>

struct writer;

/* Recover from the previous life (single_host: whatever is Locked was this host's), then open
 * this life's run journal. A failure is logged and refuses the start. */
int recover_last_life(struct writer *w, const char *state_dir, bool single_host);

#endif
