/* Safe deletes (see lifecycle.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "plugin/lifecycle.h"

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

static enum store_owner owner_of(enum lc_kind k)
{
	return k == LC_STEP ? STORE_STEP : STORE_ASSEMBLY;
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

static int cancel_jobs(struct store *s, struct lc_delete *d)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "canceled: its %s %lld was deleted",
		 d->kind == LC_STEP ? "step" : "assembly", (long long)d->id);
	return store_jobs_cancel_for(s, owner_of(d->kind), d->id, clock_now_ms(), "plugin_deleted",
				     msg, &d->res.interrupted, &d->res.n_interrupted);
}

/* The decision, on a fresh result (the op may run again after a rollback). */
static int decide(struct store *s, struct lc_delete *d)
{
	bool exists, draining;
	int rc = store_row_state(s, owner_of(d->kind), d->id, &exists, &draining);
	if (rc < 0 || !exists)
		return rc < 0 ? rc : AE_NOTFOUND;
	if (d->kind == LC_ASSEMBLY &&
	    ((rc = steps_of(s, d->id, &d->res.blocking_steps)) < 0 || d->res.blocking_steps))
		return rc < 0 ? rc : AE_CONFLICT;
	rc = store_jobs_count_unfinished(s, owner_of(d->kind), d->id, &d->res.counts);
	if (rc < 0)
		return rc;
	if (any_unfinished(&d->res.counts)) {
		if (d->mode == LC_REFUSE)
			return AE_CONFLICT;
		if (d->mode == LC_DRAIN) {
			d->res.draining = true;
			/* a drain asked again sets (or keeps) its deadline */
			return draining && !d->deadline
				   ? 0
				   : store_set_draining(s, owner_of(d->kind), d->id, d->deadline);
		}
		if ((rc = cancel_jobs(s, d)) < 0)
			return rc;
	}
	d->res.deleted = true;
	return remove_row(s, d->kind, d->id);
}

int lifecycle_delete_fn(struct store *s, void *arg)
{
	struct lc_delete *d = arg;
	lc_result_done(&d->res);
	return decide(s, d);
}

int lifecycle_accepts_jobs(struct store *s, enum lc_kind kind, int64_t id, bool *ret)
{
	bool exists, draining;
	int rc = store_row_state(s, owner_of(kind), id, &exists, &draining);
	if (rc == 0)
		*ret = exists && !draining;
	return rc;
}
