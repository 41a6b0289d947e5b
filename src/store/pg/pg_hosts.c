/* The PostgreSQL backend's hosts: one row per asyncd process with its heartbeat, the lease of
 * the jobs it holds, and the rescue of the Locked jobs of dead hosts (fenced by attempt: a late
 * outcome of the dead host no longer matches its row). */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "store/pg/pg_int.h"

/* What a release does to a Locked job: a pause or cancel asked meanwhile wins. */
#define PG_RELEASE_SET                                                                             \
	"state = CASE status WHEN 22 THEN 3 WHEN 21 THEN 1 ELSE 0 END,"                            \
	" status = CASE status WHEN 22 THEN 32 WHEN 21 THEN 10 ELSE 0 END,"                        \
	" completed_on = CASE status WHEN 22 THEN $1::bigint ELSE NULL END,"                       \
	" host_id = NULL, lease_expires_on = NULL, modified_on = $1"

int pg_host_put(struct store *s, const struct host_row *h, int64_t lease_until)
{
	struct pgp p = {0};
	pgp_text(&p, h->id);
	pgp_text(&p, h->address);
	pgp_text(&p, h->version);
	pgp_i64(&p, h->started_on);
	pgp_i64(&p, h->heartbeat_on);
	pgp_i64_or_null(&p, h->stopped_on);
	int rc =
	    pg_change(s,
		      "INSERT INTO hosts(id, address, version, started_on, heartbeat_on,"
		      " stopped_on) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT(id) DO UPDATE"
		      " SET address = excluded.address, version = excluded.version,"
		      " started_on = excluded.started_on, heartbeat_on = excluded.heartbeat_on,"
		      " stopped_on = excluded.stopped_on",
		      &p, NULL, "write the host row");
	if (rc < 0 || h->stopped_on)
		return rc;
	struct pgp q = {0};
	pgp_text(&q, h->id);
	pgp_i64(&q, lease_until);
	return pg_change(s,
			 "UPDATE jobs SET lease_expires_on = $2 WHERE state = 2 AND host_id = $1",
			 &q, NULL, "extend leases");
}

static void host_row(const PGresult *r, int row, void *elem)
{
	struct host_row *v = elem;
	v->id = pg_text(r, row, 0);
	v->address = pg_text(r, row, 1);
	v->version = pg_text(r, row, 2);
	v->started_on = pg_i64(r, row, 3);
	v->heartbeat_on = pg_i64(r, row, 4);
	v->stopped_on = pg_i64(r, row, 5);
}

int pg_hosts_list(struct store *s, struct host_row **ret, size_t *ret_n)
{
	return pg_rows(s,
		       "SELECT id, address, version, started_on, heartbeat_on, stopped_on"
		       " FROM hosts ORDER BY started_on, id",
		       NULL, sizeof(**ret), host_row, (void **)ret, ret_n, "list hosts");
}

int pg_jobs_rescue(struct store *s, const char *host_id, int64_t dead_before, int64_t now,
		   int64_t *ret_n)
{
	struct pgp p = {0};
	int64_t n = 0;
	int rc;
	pgp_i64(&p, now);
	if (host_id) {
		pgp_text(&p, host_id);
		rc = pg_change(
		    s, "UPDATE jobs SET " PG_RELEASE_SET " WHERE state = 2 AND host_id = $2", &p,
		    &n, "rescue the jobs of a host");
	} else {
		pgp_i64(&p, dead_before);
		rc = pg_change(s,
			       "UPDATE jobs SET " PG_RELEASE_SET " WHERE state = 2 AND host_id IN"
			       " (SELECT id FROM hosts WHERE heartbeat_on < $2"
			       " OR stopped_on IS NOT NULL)",
			       &p, &n, "rescue the jobs of dead hosts");
	}
	if (rc == 0 && n > 0)
		s->notify_jobs = true;
	if (ret_n)
		*ret_n = n;
	return rc;
}

/* Drain the notifications already read: the STORE_HEARD_* bits of their channels. */
static int drain_notifies(struct store *s)
{
	int got = 0;
	PGnotify *n;
	while ((n = PQnotifies(s->conn))) {
		got |= !strcmp(n->relname, "asyncd_settings")	? STORE_HEARD_SETTINGS
		       : !strcmp(n->relname, "asyncd_commands") ? STORE_HEARD_COMMANDS
								: STORE_HEARD_JOBS;
		PQfreemem(n);
	}
	return got;
}

int pg_listen_wait(struct store *s, int timeout_ms)
{
	if (!s->listening) {
		int rc = pg_run(s, -1, "LISTEN asyncd_jobs", NULL, NULL, "listen");
		if (rc == 0)
			rc = pg_run(s, -1, "LISTEN asyncd_settings", NULL, NULL, "listen");
		if (rc == 0)
			rc = pg_run(s, -1, "LISTEN asyncd_commands", NULL, NULL, "listen");
		if (rc < 0)
			return rc;
		s->listening = true;
	}
	if (PQconsumeInput(s->conn) == 0 || PQstatus(s->conn) != CONNECTION_OK)
		return pg_fail(s, NULL, "read notifications");
	int got = drain_notifies(s);
	if (got)
		return got;
	struct pollfd fd = {.fd = PQsocket(s->conn), .events = POLLIN};
	if (fd.fd < 0)
		return pg_fail(s, NULL, "read notifications");
	if (poll(&fd, 1, timeout_ms) <= 0)
		return 0;
	if (PQconsumeInput(s->conn) == 0)
		return pg_fail(s, NULL, "read notifications");
	return drain_notifies(s);
}

/* ---- commands to other hosts ---- */

#define CMD_COLUMNS                                                                                \
	"id, host_id, service, action, requested_by, requested_on, done_on, rc, answer, payload"

static void read_command(const PGresult *r, int row, struct host_command *c)
{
	memset(c, 0, sizeof(*c));
	c->id = pg_i64(r, row, 0);
	c->host_id = pg_text(r, row, 1);
	c->service = pg_text(r, row, 2);
	c->action = pg_text(r, row, 3);
	c->requested_by = pg_text(r, row, 4);
	c->requested_on = pg_i64(r, row, 5);
	c->done_on = pg_i64(r, row, 6);
	c->rc = (int)pg_i64(r, row, 7);
	c->answer = pg_text(r, row, 8);
	c->payload = pg_text(r, row, 9);
}

int pg_command_put(struct store *s, struct host_command *c)
{
	struct pgp p = {0};
	PGresult *r;
	pgp_text(&p, c->host_id);
	pgp_text(&p, c->service);
	pgp_text(&p, c->action);
	pgp_text(&p, c->requested_by);
	pgp_i64(&p, c->requested_on);
	pgp_text(&p, c->payload);
	int rc = pg_run(s, -1,
			"INSERT INTO host_commands(host_id, service, action, requested_by,"
			" requested_on, payload) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
			&p, &r, "store a command");
	if (rc < 0)
		return rc;
	c->id = pg_i64(r, 0, 0);
	PQclear(r);
	s->notify_commands = true;
	return 0;
}

static void command_row(const PGresult *r, int row, void *elem)
{
	read_command(r, row, elem);
}

int pg_commands_pending(struct store *s, const char *host_id, struct host_command **ret,
			size_t *ret_n)
{
	struct pgp p = {0};
	pgp_text(&p, host_id);
	return pg_rows(s,
		       "SELECT " CMD_COLUMNS " FROM host_commands WHERE host_id = $1"
		       " AND done_on IS NULL ORDER BY id LIMIT 100",
		       &p, sizeof(**ret), command_row, (void **)ret, ret_n, "read commands");
}

int pg_command_done(struct store *s, int64_t id, int rc_of, const char *answer, int64_t now)
{
	struct pgp p = {0};
	pgp_i64(&p, id);
	pgp_i64(&p, rc_of);
	pgp_text(&p, answer);
	pgp_i64(&p, now);
	return pg_change(s,
			 "UPDATE host_commands SET rc = $2, answer = $3, done_on = $4"
			 " WHERE id = $1 AND done_on IS NULL",
			 &p, NULL, "answer a command");
}

int pg_command_get(struct store *s, int64_t id, struct host_command *ret)
{
	struct pgp p = {0};
	PGresult *r;
	pgp_i64(&p, id);
	int rc = pg_run(s, -1, "SELECT " CMD_COLUMNS " FROM host_commands WHERE id = $1", &p, &r,
			"read a command");
	if (rc < 0)
		return rc;
	bool found = PQntuples(r) > 0;
	if (found)
		read_command(r, 0, ret);
	PQclear(r);
	return found ? 0 : AE_NOTFOUND;
}
