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
	uint64_t gen; /* registry_generation() when it was published */
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
/* Goes up by one whenever a reload publishes assemblies or steps that differ from the previous
 * snapshot (a build, an isolation, a drain, a step's fields): work prepared under an older
 * generation is prepared again before it starts. */
uint64_t registry_generation(void);
/* fn(arg) is called (on the reloading thread, no lock held) after each new generation is
 * published; one hook per process (the sandbox's: it recalls runs resolved before). */
void registry_on_change(void (*fn)(void *arg), void *arg);
/* Drop the current snapshot (shutdown). */
void registry_shutdown(void);

const struct assembly *registry_assembly(const struct registry_snap *r, int64_t id);
const struct reg_step *registry_step(const struct registry_snap *r, int64_t id);
/* A plug-in type as a step or job names it: "ASSEMBLY.TYPE", or with the assembly's major
 * ("ASSEMBLY@1.TYPE") or major.minor ("ASSEMBLY@1.2.TYPE"). */
struct reg_type_ref {
	char assembly[65];
	char type[65];
	uint32_t line[2]; /* major, minor */
	int n_line;	  /* 0: any version; 1: major given; 2: major and minor given */
};

/* Parse a type name as above; 0 or AE_INVAL. */
int registry_parse_type(const char *full_name, struct reg_type_ref *ret);
/* The assembly that runs a type name (any of the forms above): of those of that name (and
 * version, if given) exporting the type, the highest version that is not draining; only when
 * all are draining, the highest draining one (which takes no new jobs). NULL when none. */
const struct assembly *registry_resolve_type(const struct registry_snap *r, const char *full_name);
/* Split a type name into the assembly's name (without "@version") and the type; 0 or AE_INVAL. */
int registry_split_type(const char *full_name, char *ret_assembly, size_t an, char *ret_type,
			size_t tn);

#endif
