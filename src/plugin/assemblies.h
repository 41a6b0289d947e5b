/* Registering an assembly's build, decided inside one writer transaction so that it holds
 * against concurrent registrations: the same bytes again are "unchanged" (or "isolation_changed"
 * when the upload names another isolation); a higher build or revision of a registered
 * major.minor replaces it in place ("upgraded"; steps follow; the registered isolation stays
 * unless the upload names one) unless it takes away a type a step runs; a lower one is refused
 * unless allowed ("downgraded"); the same version with other bytes, and any upload for an
 * assembly that is draining, are refused; anything else is a new assembly ("registered").
 * Validating the library (in a sandbox worker) is the caller's, before. */
#ifndef ASYNCD_ASSEMBLIES_H
#define ASYNCD_ASSEMBLIES_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

enum asm_outcome {
	ASM_REGISTERED,
	ASM_UNCHANGED,
	ASM_UPGRADED,
	ASM_DOWNGRADED,
	ASM_ISOLATION_CHANGED
};

struct asm_register {
	struct assembly
	    a; /* what the worker found and sha256; a.id and a.isolation set by the op */
	const void *bytes;
	size_t n;
	int isolation;	      /* what the upload asked for (ISOLATION_*) */
	bool isolation_named; /* the upload named it; else an upgrade keeps the registered one */
	bool allow_downgrade; /* a lower build or revision may replace the registered one */
	enum asm_outcome outcome;
	char previous[64];  /* the version replaced (upgraded, downgraded), else empty */
	char conflict[512]; /* why, when refused with AE_CONFLICT */
};

/* A writer op (arg: struct asm_register), re-runnable. 0, AE_CONFLICT (conflict says why) or a
 * store error. */
int assemblies_register_fn(struct store *s, void *arg);
/* "registered", "unchanged", "upgraded", "downgraded" or "isolation_changed". */
const char *assemblies_outcome_name(enum asm_outcome o);

/* A change of a registered assembly's isolation (PATCH). */
struct asm_isolation {
	int64_t id;
	int isolation;
	bool changed; /* set by the op */
	char conflict[256];
};

/* A writer op (arg: struct asm_isolation), re-runnable: 0, AE_NOTFOUND, AE_CONFLICT (draining)
 * or a store error. */
int assemblies_set_isolation_fn(struct store *s, void *arg);

#endif
