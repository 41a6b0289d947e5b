/* PostgreSQL array literals ("{1,NULL,"a\"b"}") built one element at a time: a batch of rows is
 * sent as one array per column and read back with unnest(), so that a group's inserts, claims'
 * marks or outcomes are one statement (one round trip, one plan) instead of one per row. */
#ifndef ASYNCD_PG_ARRAY_H
#define ASYNCD_PG_ARRAY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"

struct pga {
	struct buf b;
	int rc; /* the first error; later calls do nothing */
	bool first;
};

void pga_init(struct pga *a);
/* A text element (NULL: SQL NULL), quoted with " and \ escaped. */
void pga_text(struct pga *a, const char *v);
void pga_int(struct pga *a, int64_t v);
/* SQL NULL when null. */
void pga_int_or_null(struct pga *a, int64_t v, bool null);
/* Close the literal: its text (owned by a), or NULL when memory ran out (pga_rc says why). */
const char *pga_end(struct pga *a);
int pga_rc(const struct pga *a);
void pga_done(struct pga *a);
struct pgp;
/* Close each of the n columns and add it to p as a text parameter, in order; 0, or the first
 * column's error (memory). */
int pga_bind(struct pga *cols, int n, struct pgp *p);
void pga_done_all(struct pga *cols, int n);
/* The n integers v as one literal (the caller frees it), or NULL. */
char *pga_ints(const int64_t *v, size_t n);

#endif
