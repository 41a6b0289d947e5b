/* The benchmark's PostgreSQL side (--store URL): psql run as a child process (no libpq in the
 * driver), a fresh database per test, and the direct table fills and reads of the growth test,
 * with every asyncd host stopped. */
#ifndef BENCH_PG_H
#define BENCH_PG_H

#include <stddef.h>
#include <stdint.h>

/* Run one SQL text with psql on url (ON_ERROR_STOP); its unaligned, tuples-only output (at most
 * len - 1 bytes) goes to out when out is not NULL. Returns 0, or -1 (psql's stderr printed). */
int pg_psql(const char *url, const char *sql, char *out, size_t len);
/* url with its database (the path after the host) replaced by db; 0 or -1 when it does not fit
 * or is not a postgres:// / postgresql:// URL. */
int pg_db_url(const char *url, const char *db, char *out, size_t len);
/* Version and durability settings of the server at url, for the report's title. */
void pg_describe(const char *url, char *out, size_t len);

/* The pids of the server processes connected to database db (at most max); their number or -1.
 * The server must run on this machine (loopback) for their CPU time to be read. */
int pg_backend_pids(const char *url, const char *db, int *pids, int max);

/* Insert n rows into jobs as the server writes them for samples.noop on step (assembly asm):
 * Ready, or Completed/Succeeded an hour ago; chunks of 1M rows; then VACUUM ANALYZE and a
 * CHECKPOINT, so that neither is paid during the measurement. 0 or -1. */
int pg_populate(const char *db_url, int64_t step, int64_t assembly, int64_t n, int completed);
/* The Ready jobs: their number and smallest id. 0 or -1. */
int pg_ready(const char *db_url, int64_t *ret_n, int64_t *ret_lo);
/* Jobs with id >= lo that Succeeded after starting at or after since_ms: their number and the
 * span from the first start to the last completion in ms. 0 or -1. */
int pg_done_window(const char *db_url, int64_t lo, int64_t since_ms, int64_t *ret_n,
		   int64_t *ret_span_ms);

#endif
