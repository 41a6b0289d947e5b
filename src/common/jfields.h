/* The shape of a JSON request body, checked from one table per body: which members it may have,
 * the JSON type(s) each may take and which are required. Unknown members are refused, so that a
 * misspelt "priorty" is not silently ignored. It checks types and presence only; ranges and
 * meaning are the caller's. */
#ifndef ASYNCD_JFIELDS_H
#define ASYNCD_JFIELDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* JSON types a member may take, or'ed together. */
enum jf_type {
	JF_STR = 1u << 0,
	JF_INT = 1u << 1,
	JF_REAL = 1u << 2,
	JF_BOOL = 1u << 3,
	JF_OBJ = 1u << 4,
	JF_ARR = 1u << 5,
	JF_NULL = 1u << 6, /* null means "not given" */
	JF_ANY = 0x7f,
};

struct jfield {
	const char *name;
	unsigned types; /* enum jf_type bits */
	bool required;
};

/* Check obj against the n members of spec. On failure returns AE_INVAL and writes a message
 * naming the member and the type expected into err. */
int jfields_check(json_t *obj, const struct jfield *spec, size_t n, char *err, size_t errlen);

/* "a string or an integer" for a set of types, into buf. */
const char *jfields_types_text(unsigned types, char *buf, size_t n);

#endif
