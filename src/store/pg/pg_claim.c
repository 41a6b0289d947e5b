/* Claims under async.throttling caps on a shared database: a cap of N means N jobs of that type
 * Locked in the whole deployment. The capped types are claimed first, each under a transaction
 * advisory lock of its own (hosts claiming the same capped type take turns; the lock ends with
 * the claim's commit), no more than the cap minus the type's Locked jobs; then the other types
 * with what is left of the limit. Without caps the one-statement claim of pg_jobs.c runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/throttle.h"
#include "common/util.h"
#include "store/pg/pg_int.h"

/* A job's type matches a cap's name: the full ASSEMBLY.TYPE, or its last part (throttle_find). */
#define TYPE_IS(x) "(plugin_type = " x " OR substring(plugin_type from '[^.]*$') = " x ")"

#define CLAIM_HEAD                                                                                 \
	"UPDATE jobs SET state = 2, status = 0, host_id = $1, attempt = attempt + 1,"              \
	" started_on = NULL, modified_on = $2, lease_expires_on = $4"                              \
	" WHERE id = ANY(ARRAY(SELECT id FROM jobs j WHERE state = 0 AND"                          \
	" (dependency_token IS NULL OR id = (SELECT min(id) FROM jobs t"                           \
	" WHERE t.dependency_token = j.dependency_token AND t.state < 3)) AND "
#define CLAIM_TAIL                                                                                 \
	" ORDER BY priority, id LIMIT $3 FOR UPDATE SKIP LOCKED)) RETURNING " PG_JOB_COLUMNS

struct claimed {
	struct job *v;
	size_t n, cap;
};

static int take_rows(struct claimed *out, PGresult *r)
{
	size_t n = (size_t)PQntuples(r);
	if (out->n + n > out->cap) {
		size_t cap = out->n + n + 16;
		struct job *g = realloc(out->v, cap * sizeof(*g));
		if (!g)
			return AE_NOMEM;
		out->v = g;
		out->cap = cap;
	}
	for (size_t i = 0; i < n; i++)
		pg_read_job(r, (int)i, &out->v[out->n++]);
	return 0;
}

/* One claim statement with the extra condition where (using $5), at most limit rows. */
static int claim_where(struct store *s, const char *where, const char *arg, const char *host_id,
		       int64_t now, int64_t lease, int limit, struct claimed *out)
{
	char sql[2048];
	struct pgp p = {0};
	PGresult *r;
	snprintf(sql, sizeof(sql), CLAIM_HEAD "%s" CLAIM_TAIL, where);
	pgp_text(&p, host_id);
	pgp_i64(&p, now);
	pgp_i64(&p, limit);
	pgp_i64(&p, lease);
	pgp_text(&p, arg);
	int rc = pg_run(s, -1, sql, &p, &r, "claim jobs");
	if (rc == 0) {
		rc = take_rows(out, r);
		PQclear(r);
	}
	return rc;
}

/* How many more jobs of the capped type name may be Locked now, after taking its lock. */
static int room_of(struct store *s, const char *name, int cap, int *ret_room)
{
	struct pgp p = {0};
	PGresult *r;
	char key[THROTTLE_NAME_MAX + 32];
	snprintf(key, sizeof(key), "asyncd.throttle:%s", name);
	pgp_text(&p, key);
	int rc = pg_run(s, -1, "SELECT pg_advisory_xact_lock(hashtext($1))", &p, NULL,
			"lock a throttled type");
	if (rc < 0)
		return rc;
	struct pgp q = {0};
	pgp_text(&q, name);
	rc = pg_run(s, -1, "SELECT count(*) FROM jobs WHERE state = 2 AND " TYPE_IS("$1"), &q, &r,
		    "count a throttled type");
	if (rc < 0)
		return rc;
	int64_t locked = pg_i64(r, 0, 0);
	PQclear(r);
	*ret_room = locked >= cap ? 0 : (int)(cap - locked);
	return 0;
}

/* {"a","b"}: the caps' names as a text array literal (the caller frees it). */
static char *names_array(const struct throttle_table *caps)
{
	struct buf b;
	int rc = 0;
	buf_init(&b, 64 + caps->n * (2 * THROTTLE_NAME_MAX + 4));
	rc = buf_printf(&b, "{");
	for (size_t i = 0; rc == 0 && i < caps->n; i++) {
		rc = buf_printf(&b, "%s\"", i ? "," : "");
		for (const char *c = caps->t[i].name; rc == 0 && *c; c++)
			rc = buf_printf(&b, "%s%c", *c == '"' || *c == '\\' ? "\\" : "", *c);
		if (rc == 0)
			rc = buf_printf(&b, "\"");
	}
	if (rc == 0)
		rc = buf_printf(&b, "}");
	if (rc < 0) {
		buf_done(&b);
		return NULL;
	}
	return b.data;
}

int pg_claim_capped(struct store *s, const struct throttle_table *caps, const char *host_id,
		    int64_t now, int64_t lease, int limit, struct job **ret_jobs, size_t *ret_n)
{
	struct claimed out = {0};
	size_t order[THROTTLE_MAX];
	int rc = 0, left = limit;
	for (size_t i = 0; i < caps->n; i++)
		order[i] = i;
	/* by name, so that hosts take the types' locks in the same order: no deadlock */
	for (size_t i = 1; i < caps->n; i++)
		for (size_t k = i;
		     k > 0 && strcmp(caps->t[order[k - 1]].name, caps->t[order[k]].name) > 0; k--) {
			size_t t = order[k];
			order[k] = order[k - 1];
			order[k - 1] = t;
		}
	for (size_t i = 0; rc == 0 && i < caps->n && left > 0; i++) {
		const char *name = caps->t[order[i]].name;
		int room = 0;
		rc = room_of(s, name, caps->t[order[i]].cap, &room);
		if (rc == 0 && room > 0) {
			size_t before = out.n;
			rc = claim_where(s, TYPE_IS("$5"), name, host_id, now, lease,
					 room < left ? room : left, &out);
			left -= (int)(out.n - before);
		}
	}
	char *names = rc == 0 && left > 0 ? names_array(caps) : NULL;
	if (rc == 0 && left > 0)
		rc = names ? claim_where(s,
					 "NOT (plugin_type = ANY($5::text[]) OR"
					 " substring(plugin_type from '[^.]*$') = ANY($5::text[]))",
					 names, host_id, now, lease, left, &out)
			   : AE_NOMEM;
	free(names);
	if (rc < 0) {
		job_array_free(out.v, out.n);
		return rc;
	}
	if (!out.v && !(out.v = calloc(1, sizeof(*out.v))))
		return AE_NOMEM;
	qsort(out.v, out.n, sizeof(*out.v), pg_cmp_claim_order);
	*ret_jobs = out.v;
	*ret_n = out.n;
	return 0;
}
