/* See testdb.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "testdb.h"

bool testdb_is_pg(void)
{
	const char *s = getenv("ASYNCD_TEST_STORE");
	return s && !strcmp(s, "pg");
}

bool testdb_skip_without_server(void)
{
	const char *u = getenv("ASYNCD_TEST_PG_URL");
	if (!testdb_is_pg() || (u && *u))
		return false;
	printf("1..0 # SKIP no PostgreSQL server: set ASYNCD_TEST_PG_URL (scripts/pg.sh start)\n");
	return true;
}

/* url's database part replaced by db. */
static int with_db(const char *url, const char *db, char *out, size_t n)
{
	const char *scheme = strstr(url, "://");
	const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
	size_t host = slash ? (size_t)(slash - url) : strlen(url);
	const char *q = slash ? strchr(slash, '?') : NULL;
	int len = snprintf(out, n, "%.*s/%s%s", (int)host, url, db, q ? q : "");
	return len > 0 && (size_t)len < n ? 0 : -1;
}

#define CONNECT_TRIES 300 /* x 100 ms: a server restarted by an earlier test comes back */

/* A connection to url, tried again while the server is not accepting (shutting down or
 * starting: a test that restarts it in the background may have ended before it was back). */
static PGconn *connect_patiently(const char *url)
{
	PGconn *c = PQconnectdb(url);
	for (int i = 1; i < CONNECT_TRIES && PQstatus(c) != CONNECTION_OK; i++) {
		struct timespec ts = {0, 100 * 1000000L};
		PQfinish(c);
		nanosleep(&ts, NULL);
		c = PQconnectdb(url);
	}
	return c;
}

int testdb_exec(const char *url, const char *sql)
{
	PGconn *c = connect_patiently(url);
	int rc = -1;
	if (PQstatus(c) == CONNECTION_OK) {
		PGresult *r = PQexec(c, sql);
		ExecStatusType st = PQresultStatus(r);
		rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
		if (rc < 0)
			fprintf(stderr, "# %s: %s", sql, PQresultErrorMessage(r));
		PQclear(r);
	} else {
		fprintf(stderr, "# cannot connect to %s: %s", url, PQerrorMessage(c));
	}
	PQfinish(c);
	return rc;
}

int testdb_new(const char *sqlite_path, char *url, size_t n)
{
	static unsigned counter;
	char db[64], sql[128];
	const char *server = getenv("ASYNCD_TEST_PG_URL");
	if (!testdb_is_pg()) {
		int len = snprintf(url, n, "sqlite:%s", sqlite_path);
		return len > 0 && (size_t)len < n ? 0 : -1;
	}
	if (!server || !*server) {
		fprintf(stderr, "# ASYNCD_TEST_STORE=pg without ASYNCD_TEST_PG_URL\n");
		return -1;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(db, sizeof(db), "t_%d_%u_%ld", (int)getpid(), counter++,
		 (long)(ts.tv_nsec % 1000000));
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
	if (testdb_exec(server, sql) < 0)
		return -1;
	return with_db(server, db, url, n);
}

void testdb_drop(const char *url)
{
	char sql[160];
	const char *server = getenv("ASYNCD_TEST_PG_URL");
	if (!url || strncmp(url, "postgres", 8) || !server)
		return;
	const char *scheme = strstr(url, "://");
	const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
	if (!slash)
		return;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %.*s WITH (FORCE)",
		 (int)strcspn(slash + 1, "?"), slash + 1);
	testdb_exec(server, sql);
}
