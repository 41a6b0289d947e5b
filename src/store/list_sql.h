/* The SQL of a job listing (struct job_filter), shared by the backends: both number their
 * parameters, SQLite as ?N and PostgreSQL as $N. */
#ifndef ASYNCD_STORE_LIST_SQL_H
#define ASYNCD_STORE_LIST_SQL_H

#include "common/util.h"
#include "store/store.h"

/* "SELECT columns FROM jobs WHERE ... ORDER BY id DESC LIMIT n" into b, with the text parameters
 * numbered from 1 in this order: plugin_type, owner, error_code (each only when f names it;
 * mark is '?' or '$'). 0, or AE_TOOBIG / AE_NOMEM from the buffer. */
int store_list_sql(const struct job_filter *f, const char *columns, char mark, struct buf *b);

#endif
