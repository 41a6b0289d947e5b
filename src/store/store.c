/* The store front: picks the backend from the URL, and the thin store_*() wrappers through which
 * core code reaches it, with the fault-injection seam for tests. Also the destructors of the
 * row structs every backend returns. */
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "store/store.h"

extern const struct store_ops sqlite_store_ops;
extern const struct store_ops pg_store_ops;

static int fault_countdown;
static int64_t down_since;
static int live_hosts = 1;

int store_live_hosts(void)
{
	return __atomic_load_n(&live_hosts, __ATOMIC_RELAXED);
}

void store_set_live_hosts(int n)
{
	__atomic_store_n(&live_hosts, n > 0 ? n : 1, __ATOMIC_RELAXED);
}

int64_t store_down_since(void)
{
	return __atomic_load_n(&down_since, __ATOMIC_RELAXED);
}

void store_note_reachable(bool reachable)
{
	int64_t was = __atomic_load_n(&down_since, __ATOMIC_RELAXED);
	if (reachable && was)
		__atomic_store_n(&down_since, 0, __ATOMIC_RELAXED);
	else if (!reachable && !was)
		__atomic_store_n(&down_since, clock_now_ms(), __ATOMIC_RELAXED);
}

static int fault_rc = AE_STORE;

void store_fault_inject(int nth)
{
	store_fault_inject_rc(nth, AE_STORE);
}

void store_fault_inject_rc(int nth, int rc)
{
	__atomic_store_n(&fault_rc, rc, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fault_countdown, nth, __ATOMIC_SEQ_CST);
}

static int fault_hit(void)
{
	int n = __atomic_load_n(&fault_countdown, __ATOMIC_RELAXED);
	if (n == 0)
		return 0;
	if (n < 0)
		return 1; /* every call, until cleared */
	return __atomic_sub_fetch(&fault_countdown, 1, __ATOMIC_SEQ_CST) == 0;
}

#define OPS(s) (((struct store_base *)(s))->ops)

/* Every slot after the name is a function pointer, and a backend must fill them all but the
 * optional ones at the end (from jobs_watch on). */
static bool ops_complete(const struct store_ops *o)
{
	typedef void (*any_fn)(void);
	size_t first = offsetof(struct store_ops, open);
	size_t n = (offsetof(struct store_ops, jobs_watch) - first) / sizeof(any_fn);
	for (size_t i = 0; i < n; i++) {
		any_fn fn;
		memcpy(&fn, (const char *)o + first + i * sizeof(fn), sizeof(fn));
		if (!fn)
			return false;
	}
	return o->name != NULL;
}

int store_open(const char *url, struct store **ret)
{
	const struct store_ops *ops = NULL;
	if (url && !strncmp(url, "sqlite:", 7))
		ops = &sqlite_store_ops;
	else if (url && (!strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13)))
		ops = &pg_store_ops;
	if (!ops)
		return AE_INVAL;
	if (!ops_complete(ops))
		return AE_INTERNAL; /* a backend built without one of its operations */
	return ops->open(url, ret);
}

void store_close(struct store *s)
{
	if (s)
		OPS(s)->close(s);
}

const char *store_last_error(struct store *s)
{
	return s ? OPS(s)->last_error(s) : "no store";
}

#define WRAP(name, params, args)                                                                   \
	int store_##name params                                                                    \
	{                                                                                          \
		if (fault_hit())                                                                   \
			return __atomic_load_n(&fault_rc, __ATOMIC_SEQ_CST);                       \
		return OPS(s)->name args;                                                          \
	}

int store_jobs_watch(struct store *s)
{
	return OPS(s)->jobs_watch ? OPS(s)->jobs_watch(s) : AE_INTERNAL;
}

#define OPTIONAL(name, params, args)                                                               \
	int store_##name params                                                                    \
	{                                                                                          \
		if (!OPS(s)->name)                                                                 \
			return AE_INVAL; /* a store of one host */                                 \
		if (fault_hit())                                                                   \
			return AE_STORE;                                                           \
		return OPS(s)->name args;                                                          \
	}

OPTIONAL(command_put, (struct store * s, struct host_command *c), (s, c))
OPTIONAL(commands_pending,
	 (struct store * s, const char *host_id, struct host_command **ret, size_t *ret_n),
	 (s, host_id, ret, ret_n))
OPTIONAL(command_done, (struct store * s, int64_t id, int rc, const char *answer, int64_t now),
	 (s, id, rc, answer, now))
OPTIONAL(command_get, (struct store * s, int64_t id, struct host_command *ret), (s, id, ret))

void host_command_done(struct host_command *c)
{
	if (!c)
		return;
	free(c->host_id);
	free(c->service);
	free(c->action);
	free(c->payload);
	free(c->requested_by);
	free(c->answer);
	memset(c, 0, sizeof(*c));
}

void host_commands_free(struct host_command *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++)
		host_command_done(&c[i]);
	free(c);
}

int store_jobs_counts_refresh(struct store *s, bool finished)
{
	return OPS(s)->jobs_counts_refresh ? OPS(s)->jobs_counts_refresh(s, finished) : AE_INTERNAL;
}

int store_jobs_ready_heads(struct store *s, int want, struct ready_head **ret, size_t *ret_n)
{
	if (!OPS(s)->jobs_ready_heads)
		return AE_INTERNAL;
	return OPS(s)->jobs_ready_heads(s, want, ret, ret_n);
}

int store_stats_hourly_collect(struct store *s, int64_t from_ms, int64_t to_ms)
{
	if (!OPS(s)->stats_hourly_collect)
		return AE_INTERNAL;
	return fault_hit() ? AE_STORE : OPS(s)->stats_hourly_collect(s, from_ms, to_ms);
}

int store_stats_hourly_list(struct store *s, int64_t since_ms, struct stats_hour **ret,
			    size_t *ret_n)
{
	if (!OPS(s)->stats_hourly_list) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	return fault_hit() ? AE_STORE : OPS(s)->stats_hourly_list(s, since_ms, ret, ret_n);
}

WRAP(migrate, (struct store * s), (s))
WRAP(begin, (struct store * s), (s))
WRAP(commit, (struct store * s), (s))
WRAP(rollback, (struct store * s), (s))
WRAP(savepoint, (struct store * s), (s))
WRAP(release, (struct store * s), (s))
WRAP(rollback_to, (struct store * s), (s))
WRAP(jobs_insert, (struct store * s, struct job *jobs, size_t n), (s, jobs, n))
WRAP(jobs_claim,
     (struct store * s, const char *host_id, int64_t now, int limit, struct job **ret_jobs,
      size_t *ret_n),
     (s, host_id, now, limit, ret_jobs, ret_n))
WRAP(jobs_complete, (struct store * s, struct job_completion *c, size_t n), (s, c, n))
WRAP(jobs_release,
     (struct store * s, const char *host_id, const int64_t *ids, const int64_t *attempts, size_t n,
      int64_t now),
     (s, host_id, ids, attempts, n, now))
WRAP(jobs_started,
     (struct store * s, const int64_t *ids, const int64_t *attempts, const int64_t *started_on,
      size_t n),
     (s, ids, attempts, started_on, n))
WRAP(jobs_release_all_locked, (struct store * s, int64_t now, int64_t *ret_n), (s, now, ret_n))
WRAP(jobs_promote_due, (struct store * s, int64_t now, int64_t *ret_n), (s, now, ret_n))
WRAP(jobs_next_due, (struct store * s, int64_t *ret_at), (s, ret_at))
WRAP(job_get, (struct store * s, int64_t id, struct job *ret), (s, id, ret))
WRAP(job_find_idempotent, (struct store * s, const char *key, int64_t *ret_id), (s, key, ret_id))
WRAP(job_update, (struct store * s, const struct job *j), (s, j))
WRAP(job_delete, (struct store * s, int64_t id), (s, id))
WRAP(jobs_list,
     (struct store * s, const struct job_filter *f, struct job **ret_jobs, size_t *ret_n),
     (s, f, ret_jobs, ret_n))
WRAP(jobs_stats, (struct store * s, int64_t ret_by_status[33], int64_t *ret_total),
     (s, ret_by_status, ret_total))
WRAP(jobs_count_unfinished,
     (struct store * s, enum store_owner owner, int64_t id, struct job_counts *ret),
     (s, owner, id, ret))
WRAP(assembly_insert, (struct store * s, struct assembly *a, const void *bytes, size_t n),
     (s, a, bytes, n))
WRAP(assembly_get, (struct store * s, int64_t id, struct assembly *ret), (s, id, ret))
WRAP(assembly_find_sha, (struct store * s, const char *sha256, struct assembly *ret),
     (s, sha256, ret))
WRAP(assembly_bytes, (struct store * s, const char *sha256, void **ret_bytes, size_t *ret_n),
     (s, sha256, ret_bytes, ret_n))
WRAP(assemblies_list, (struct store * s, struct assembly **ret, size_t *ret_n), (s, ret, ret_n))
WRAP(step_insert, (struct store * s, struct step *st), (s, st))
WRAP(step_set_enabled, (struct store * s, int64_t id, bool enabled, int64_t now),
     (s, id, enabled, now))
WRAP(step_update, (struct store * s, const struct step *st), (s, st))
WRAP(step_delete, (struct store * s, int64_t id), (s, id))
WRAP(steps_list, (struct store * s, struct step **ret, size_t *ret_n), (s, ret, ret_n))
WRAP(settings_list, (struct store * s, struct setting_row **ret, size_t *ret_n), (s, ret, ret_n))
WRAP(setting_put, (struct store * s, const char *key, const char *value), (s, key, value))
WRAP(user_insert, (struct store * s, struct user *u), (s, u))
WRAP(user_find, (struct store * s, const char *name, struct user *ret), (s, name, ret))
WRAP(user_get, (struct store * s, int64_t id, struct user *ret), (s, id, ret))
WRAP(token_insert, (struct store * s, struct token *t), (s, t))
WRAP(token_find, (struct store * s, const char *hash, struct token *ret), (s, hash, ret))
WRAP(token_revoke, (struct store * s, int64_t id, int64_t now), (s, id, now))
WRAP(audit_insert, (struct store * s, struct audit_entry *e), (s, e))
WRAP(audit_list,
     (struct store * s, int64_t before_id, int limit, struct audit_entry **ret, size_t *ret_n),
     (s, before_id, limit, ret, ret_n))
WRAP(set_synchronous, (struct store * s, bool full), (s, full))
WRAP(service_configs,
     (struct store * s, const char *host_id, struct service_config **ret, size_t *ret_n),
     (s, host_id, ret, ret_n))
WRAP(service_config_put, (struct store * s, const char *host_id, const struct service_config *c),
     (s, host_id, c))
WRAP(users_list, (struct store * s, struct user **ret, size_t *ret_n), (s, ret, ret_n))
WRAP(user_delete, (struct store * s, int64_t id), (s, id))
WRAP(tokens_list, (struct store * s, struct token **ret, size_t *ret_n), (s, ret, ret_n))
WRAP(session_insert, (struct store * s, const struct session *se), (s, se))
WRAP(session_find, (struct store * s, const char *hash, int64_t now, struct session *ret),
     (s, hash, now, ret))
WRAP(session_delete, (struct store * s, const char *hash), (s, hash))
WRAP(jobs_cleanup, (struct store * s, int status, int64_t before_ms, int limit, int64_t *ret_n),
     (s, status, before_ms, limit, ret_n))
WRAP(set_draining, (struct store * s, enum store_owner owner, int64_t id, int64_t deadline),
     (s, owner, id, deadline))
WRAP(row_state,
     (struct store * s, enum store_owner owner, int64_t id, bool *ret_exists, bool *ret_draining),
     (s, owner, id, ret_exists, ret_draining))
WRAP(assembly_delete, (struct store * s, int64_t id), (s, id))
WRAP(assembly_set_isolation, (struct store * s, int64_t id, int isolation, int64_t now),
     (s, id, isolation, now))
WRAP(jobs_cancel_for,
     (struct store * s, enum store_owner owner, int64_t id, int64_t now, const char *error_code,
      const char *message, int64_t **ret_locked, size_t *ret_n_locked),
     (s, owner, id, now, error_code, message, ret_locked, ret_n_locked))
WRAP(job_count_host_crash, (struct store * s, int64_t id, int64_t attempt, int64_t *ret_crashes),
     (s, id, attempt, ret_crashes))
WRAP(job_fail_locked,
     (struct store * s, int64_t id, int64_t attempt, int64_t now, const char *error_code,
      const char *message),
     (s, id, attempt, now, error_code, message))
WRAP(audit_cleanup, (struct store * s, int64_t before_ms, int limit, int64_t *ret_n),
     (s, before_ms, limit, ret_n))
WRAP(job_attempts, (struct store * s, int64_t id, struct job_attempt **ret, size_t *ret_n),
     (s, id, ret, ret_n))
WRAP(job_progress, (struct store * s, int64_t id, int64_t attempt, const char *output),
     (s, id, attempt, output))
WRAP(job_set_recurrence, (struct store * s, const struct job *j, int64_t now), (s, j, now))
WRAP(attempts_cleanup, (struct store * s, int64_t before_ms, int limit, int64_t *ret_n),
     (s, before_ms, limit, ret_n))

WRAP(host_put, (struct store * s, const struct host_row *h, int64_t lease_until),
     (s, h, lease_until))
WRAP(hosts_list, (struct store * s, struct host_row **ret, size_t *ret_n), (s, ret, ret_n))
WRAP(jobs_rescue,
     (struct store * s, const char *host_id, int64_t dead_before, int64_t now, int64_t *ret_n),
     (s, host_id, dead_before, now, ret_n))
WRAP(listen_wait, (struct store * s, int timeout_ms), (s, timeout_ms))

void host_rows_free(struct host_row *h, size_t n)
{
	for (size_t i = 0; h && i < n; i++) {
		free(h[i].id);
		free(h[i].address);
		free(h[i].version);
	}
	free(h);
}

void job_attempts_free(struct job_attempt *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++) {
		free(a[i].host_id);
		free(a[i].outcome);
		free(a[i].error_code);
		free(a[i].message);
		free(a[i].trace);
	}
	free(a);
}

void service_configs_free(struct service_config *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++)
		free(c[i].name);
	free(c);
}

void users_free(struct user *u, size_t n)
{
	for (size_t i = 0; u && i < n; i++)
		user_done(&u[i]);
	free(u);
}

void tokens_free(struct token *t, size_t n)
{
	for (size_t i = 0; t && i < n; i++)
		token_done(&t[i]);
	free(t);
}

void session_done(struct session *se)
{
	if (!se)
		return;
	free(se->hash);
	free(se->csrf);
	memset(se, 0, sizeof(*se));
}

void assembly_done(struct assembly *a)
{
	if (!a)
		return;
	free(a->name);
	free(a->version);
	free(a->description);
	free(a->sha256);
	for (size_t i = 0; i < a->n_types; i++)
		free(a->types[i]);
	free(a->types);
	memset(a, 0, sizeof(*a));
}

void assembly_array_free(struct assembly *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++)
		assembly_done(&a[i]);
	free(a);
}

void step_done(struct step *st)
{
	if (!st)
		return;
	free(st->name);
	free(st->plugin_type);
	free(st->message);
	free(st->entity);
	free(st->filtering_attributes);
	free(st->configuration);
	free(st->secure_configuration);
	free(st->impersonating_user);
	free(st->images);
	memset(st, 0, sizeof(*st));
}

void step_array_free(struct step *st, size_t n)
{
	for (size_t i = 0; st && i < n; i++)
		step_done(&st[i]);
	free(st);
}

void setting_rows_free(struct setting_row *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].key);
		free(r[i].value);
	}
	free(r);
}

void user_done(struct user *u)
{
	if (!u)
		return;
	free(u->name);
	free(u->password_hash);
	memset(u, 0, sizeof(*u));
}

void token_done(struct token *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->hash);
	memset(t, 0, sizeof(*t));
}

void audit_array_free(struct audit_entry *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++) {
		free(e[i].user);
		free(e[i].remote);
		free(e[i].action);
		free(e[i].target);
		free(e[i].result);
		free(e[i].detail);
	}
	free(e);
}
