/* The store a test runs on: SQLite in the test's own directory, or, when $ASYNCD_TEST_STORE is
 * "pg", a fresh database per test case on the PostgreSQL server $ASYNCD_TEST_PG_URL names
 * (scripts/test.sh starts one: scripts/pg.sh). Shared by the unit tests and the integration
 * harness. */
#ifndef ASYNCD_TESTS_TESTDB_H
#define ASYNCD_TESTS_TESTDB_H

#include <stdbool.h>
#include <stddef.h>

/* Whether this run is the PostgreSQL variant ($ASYNCD_TEST_STORE=pg). */
bool testdb_is_pg(void);
/* The PostgreSQL variant without a server to run on: prints a TAP plan that skips everything and
 * returns true (main then returns 0). */
bool testdb_skip_without_server(void);
/* The URL of a new store: "sqlite:" + sqlite_path, or a new empty PostgreSQL database. Returns
 * 0, or -1 (with a line on stderr). */
int testdb_new(const char *sqlite_path, char *url, size_t n);
/* Drop the PostgreSQL database testdb_new made (forcing its connections off); nothing for
 * SQLite. */
void testdb_drop(const char *url);
/* Run one SQL text on url's PostgreSQL database; returns 0 or -1. */
int testdb_exec(const char *url, const char *sql);

#endif
