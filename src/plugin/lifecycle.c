/* Safe deletes and the drain thread (see lifecycle.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "exec/writer.h"
#include "plugin/libcache.h"
#include "plugin/lifecycle.h"
#include "plugin/registry.h"

#define TICK_MS 500

int lifecycle_mode_parse(const char *s)
{
	if (!s || !strcmp(s, "refuse"))
		return LC_REFUSE;
	if (!strcmp(s, "drain"))
		return LC_DRAIN;
	if (!strcmp(s, "cancel"))
		return LC_CANCEL;
	return -1;
}

void lc_result_done(struct lc_result *r)
{
	json_decref(r->blocking_steps);
	free(r->interrupted);
	memset(r, 0, sizeof(*r));
}

static const char *table_of(enum lc_kind k)
{
	return k == LC_STEP ? "steps" : "assemblies";
}

static const char *column_of(enum lc_kind k)
{
	return k == LC_STEP ? "step_id" : "assembly_id";
}

/* The steps that use assembly id, as [{"id","name"}]; NULL when none. */
static int steps_of(struct store *s, int64_t id, json_t **ret)
{
	struct step *v;
	size_t n;
	int rc = store_steps_list(s, &v, &n);
	if (rc < 0)
		return rc;
	json_t *a = NULL;
	for (size_t i = 0; i < n; i++) {
		if (v[i].assembly_id != id)
			continue;
		if (!a)
			a = json_array();
		json_array_append_new(
		    a, json_pack("{s:I,s:s}", "id", (json_int_t)v[i].id, "name", v[i].name));
	}
	step_array_free(v, n);
	*ret = a;
	return 0;
}

static int remove_row(struct store *s, enum lc_kind kind, int64_t id)
{
	return kind == LC_STEP ? store_step_delete(s, id) : store_assembly_delete(s, id);
}

static bool any_unfinished(const struct job_counts *c)
{
	return c->by_state[0] || c->by_state[1] || c->by_state[2];
}

struct delete_call {
	enum lc_kind kind;
	int64_t id;
	enum lc_mode mode;
	struct lc_result *res;
};

static int cancel_jobs(struct store *s, struct delete_call *c)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "canceled: its %s %lld was deleted",
		 c->kind == LC_STEP ? "step" : "assembly", (long long)c->id);
	return store_jobs_cancel_for(s, column_of(c->kind), c->id, clock_now_ms(), "plugin_deleted",
				     msg, &c->res->interrupted, &c->res->n_interrupted);
}

static int delete_fn(struct store *s, void *arg)
{
	struct delete_call *c = arg;
	bool exists, draining;
	int rc = store_row_state(s, table_of(c->kind), c->id, &exists, &draining);
	if (rc < 0 || !exists)
		return rc < 0 ? rc : AE_NOTFOUND;
	if (c->kind == LC_ASSEMBLY &&
	    ((rc = steps_of(s, c->id, &c->res->blocking_steps)) < 0 || c->res->blocking_steps))
		return rc < 0 ? rc : AE_CONFLICT;
	rc = store_jobs_count_unfinished(s, column_of(c->kind), c->id, &c->res->counts);
	if (rc < 0)
		return rc;
	if (any_unfinished(&c->res->counts)) {
		if (c->mode == LC_REFUSE)
			return AE_CONFLICT;
		if (c->mode == LC_DRAIN) {
			c->res->draining = true;
			return draining ? 0 : store_set_draining(s, table_of(c->kind), c->id);
		}
		if ((rc = cancel_jobs(s, c)) < 0)
			return rc;
	}
	c->res->deleted = true;
	return remove_row(s, c->kind, c->id);
}

int lifecycle_delete(struct writer *w, enum lc_kind kind, int64_t id, enum lc_mode mode,
		     struct lc_result *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct delete_call c = {kind, id, mode, ret};
	int rc = writer_call(w, delete_fn, &c);
	if (rc == 0)
		lifecycle_kick();
	return rc;
}

int lifecycle_accepts_jobs(struct store *s, enum lc_kind kind, int64_t id, bool *ret)
{
	bool exists, draining;
	int rc = store_row_state(s, table_of(kind), id, &exists, &draining);
	*ret = rc == 0 && exists && !draining;
	return rc;
}

/* ---- the drain thread ---- */

static pthread_t lc_thread;
static pthread_mutex_t lc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lc_cond = PTHREAD_COND_INITIALIZER;
static bool lc_running, lc_stopping, lc_kicked;
static struct writer *lc_writer;
static char *lc_reader_url;

/* Finish the drain of one step or assembly if its jobs are done; true when it was deleted. */
static bool finish_drain(enum lc_kind kind, int64_t id)
{
	struct lc_result res;
	int rc = lifecycle_delete(lc_writer, kind, id, LC_DRAIN, &res);
	bool deleted = rc == 0 && res.deleted;
	if (deleted)
		log_info("lifecycle", "%s %lld drained and deleted",
			 kind == LC_STEP ? "step" : "assembly", (long long)id);
	lc_result_done(&res);
	return deleted;
}

static bool drain_pass(const struct registry_snap *r)
{
	bool changed = false;
	for (size_t i = 0; i < r->n_steps; i++)
		if (r->steps[i].row.draining)
			changed |= finish_drain(LC_STEP, r->steps[i].row.id);
	for (size_t i = 0; i < r->n_assemblies; i++)
		if (r->assemblies[i].draining)
			changed |= finish_drain(LC_ASSEMBLY, r->assemblies[i].id);
	return changed;
}

/* Unload libraries that no current assembly uses and no run holds. */
static void sweep_code(const struct registry_snap *r)
{
	const char **keep = calloc(r->n_assemblies + 1, sizeof(*keep));
	if (!keep)
		return;
	for (size_t i = 0; i < r->n_assemblies; i++)
		keep[i] = r->assemblies[i].sha256;
	libcache_sweep(keep, r->n_assemblies);
	free(keep);
}

static void pass(struct store *reader)
{
	if (reader)
		registry_reload(reader);
	struct registry_snap *r = registry_get();
	if (!r)
		return;
	bool changed = drain_pass(r);
	registry_put(r);
	if (changed && reader)
		registry_reload(reader);
	r = registry_get();
	sweep_code(r);
	registry_put(r);
}

static void *lifecycle_main(void *arg)
{
	struct store *reader = NULL;
	(void)arg;
	if (store_open(lc_reader_url, &reader) < 0)
		log_error("lifecycle", "cannot open a reader connection");
	pthread_mutex_lock(&lc_lock);
	while (!lc_stopping) {
		lc_kicked = false;
		pthread_mutex_unlock(&lc_lock);
		pass(reader);
		pthread_mutex_lock(&lc_lock);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += TICK_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		while (!lc_stopping && !lc_kicked &&
		       pthread_cond_timedwait(&lc_cond, &lc_lock, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&lc_lock);
	store_close(reader);
	return NULL;
}

int lifecycle_start(struct writer *w, const char *reader_url)
{
	lc_writer = w;
	lc_reader_url = strdup(reader_url);
	lc_stopping = false;
	if (!lc_reader_url || pthread_create(&lc_thread, NULL, lifecycle_main, NULL) != 0)
		return AE_NOMEM;
	lc_running = true;
	return 0;
}

void lifecycle_stop(void)
{
	if (!lc_running)
		return;
	pthread_mutex_lock(&lc_lock);
	lc_stopping = true;
	pthread_cond_signal(&lc_cond);
	pthread_mutex_unlock(&lc_lock);
	pthread_join(lc_thread, NULL);
	lc_running = false;
	free(lc_reader_url);
	lc_reader_url = NULL;
}

void lifecycle_kick(void)
{
	pthread_mutex_lock(&lc_lock);
	lc_kicked = true;
	pthread_cond_signal(&lc_cond);
	pthread_mutex_unlock(&lc_lock);
}
