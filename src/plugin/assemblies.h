/* Registering an assembly's build, decided inside one writer transaction so that it holds
 * against concurrent registrations: the same bytes again are "unchanged"; a new build or revision
 * of a registered major.minor replaces it in place ("upgraded"; steps follow) unless it takes away
 * a type a step runs; the same version with other bytes is refused; anything else is a new
 * assembly ("registered"). Validating the library (in a sandbox worker) is the caller's, before. */
#ifndef ASYNCD_ASSEMBLIES_H
#define ASYNCD_ASSEMBLIES_H

#include <stddef.h>

#include "store/store.h"

enum asm_outcome { ASM_REGISTERED, ASM_UNCHANGED, ASM_UPGRADED };

struct asm_register {
	struct assembly a; /* what the worker found, isolation and sha256; a.id set on success */
	const void *bytes;
	size_t n;
	enum asm_outcome outcome;
	char conflict[512]; /* why, when refused with AE_CONFLICT */
};

/* A writer op (arg: struct asm_register). 0, AE_CONFLICT (conflict says why) or a store error. */
int assemblies_register_fn(struct store *s, void *arg);
/* "registered", "unchanged" or "upgraded". */
const char *assemblies_outcome_name(enum asm_outcome o);

#endif
