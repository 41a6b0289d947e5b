/* The registry: an immutable snapshot of assemblies and steps that events and the executor read
 * without locks, rebuilt from the store after every change and swapped in (readers keep the
 * snapshot they hold until they put it back). It does not load code (libcache.c does). */
#ifndef ASYNCD_REGISTRY_H
#define ASYNCD_REGISTRY_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

struct reg_step {
	struct step row;
	json_t *filter; /* array of attribute names, or NULL */
	json_t *images; /* array of {"type","alias","attributes"}, or NULL */
};

struct registry_snap {
	int refs;
	struct assembly *assemblies;
	size_t n_assemblies;
	struct reg_step *steps; /* ordered by rank, then id */
	size_t n_steps;
};

/* Rebuild the snapshot from the store (a reader connection) and publish it; a store error is
 * tried again a few times. Reloads are ordered: when it returns 0, the published snapshot holds
 * at least every row committed before the call. */
int registry_reload(struct store *s);
/* The current snapshot, with a reference; never NULL after the first reload. */
struct registry_snap *registry_get(void);
void registry_put(struct registry_snap *r);
/* Drop the current snapshot (shutdown). */
void registry_shutdown(void);

const struct assembly *registry_assembly(const struct registry_snap *r, int64_t id);
const struct reg_step *registry_step(const struct registry_snap *r, int64_t id);
/* The assembly that runs "ASSEMBLY.TYPE": the highest version of that name exporting the type. */
const struct assembly *registry_resolve_type(const struct registry_snap *r, const char *full_name);
/* Split "ASSEMBLY.TYPE"; 0 or AE_INVAL. */
int registry_split_type(const char *full_name, char *ret_assembly, size_t an, char *ret_type,
			size_t tn);

#endif
