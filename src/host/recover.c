/* Start-up recovery from the previous life of the host (see recover.h and docs/engine.md "A job
 * that kills its host"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/settings.h"
#include "exec/inflight.h"
#include "exec/writer.h"
#include "host/recover.h"
#include "store/store.h"

#define HOST_CRASHED "host_crashed"

/* What became of one job the journal named. */
struct crash_seen {
	int64_t crashes; /* 0: no longer Locked at that attempt, not counted */
	bool failed;
	char type[256];
};

struct recover_call {
	const struct inflight_mark *marks;
	struct crash_seen *seen;
	size_t n;
	int max_crashes;
	int64_t now;
	bool single_host;
	int64_t released;
};

static void crash_message(char *buf, size_t n, int64_t crashes)
{
	snprintf(buf, n,
		 "it may have crashed the host: it was running in-process (isolation=none) when "
		 "the host died, %lld times; it is not run again (async.max_host_crashes). Run its "
		 "assembly in the sandbox to find out what it does",
		 (long long)crashes);
}

static int count_one(struct store *s, struct recover_call *c, size_t i)
{
	const struct inflight_mark *m = &c->marks[i];
	struct crash_seen *r = &c->seen[i];
	struct job j = {0};
	char msg[400];
	int rc = store_job_count_host_crash(s, m->id, m->attempt, &r->crashes);
	if (rc == AE_NOTFOUND)
		return 0; /* finished, released or canceled meanwhile */
	if (rc < 0)
		return rc;
	if (store_job_get(s, m->id, &j) == 0 && j.plugin_type)
		snprintf(r->type, sizeof(r->type), "%s", j.plugin_type);
	job_done(&j);
	if (r->crashes < c->max_crashes)
		return 0;
	crash_message(msg, sizeof(msg), r->crashes);
	rc = store_job_fail_locked(s, m->id, m->attempt, c->now, HOST_CRASHED, msg);
	r->failed = rc == 0;
	return rc == AE_NOTFOUND ? 0 : rc;
}

/* One transaction: counting and releasing together, so that a death in between counts nothing
 * twice (a counted job is no longer Locked at that attempt). */
static int recover_fn(struct store *s, void *arg)
{
	struct recover_call *c = arg;
	for (size_t i = 0; i < c->n; i++) {
		int rc = count_one(s, c, i);
		if (rc < 0)
			return rc;
	}
	return c->single_host ? store_jobs_release_all_locked(s, c->now, &c->released) : 0;
}

static void report(const struct recover_call *c, bool unclean)
{
	if (unclean)
		log_warn("host",
			 "the last run of this host did not stop cleanly: %zu jobs were "
			 "running in-process when it ended",
			 c->n);
	for (size_t i = 0; i < c->n; i++) {
		const struct crash_seen *r = &c->seen[i];
		if (!r->crashes)
			continue;
		log_event(LOG_LVL_WARN, "host",
			  LOG_FIELDS(LOG_INT("job_id", c->marks[i].id),
				     LOG_STR("plugin_type", r->type[0] ? r->type : NULL),
				     LOG_INT("attempt", c->marks[i].attempt),
				     LOG_STR("error_code", r->failed ? HOST_CRASHED : NULL)),
			  "job %lld (%s, attempt %lld) was running in-process when the host died: "
			  "host crash %lld of %d, %s",
			  (long long)c->marks[i].id, r->type[0] ? r->type : "?",
			  (long long)c->marks[i].attempt, (long long)r->crashes, c->max_crashes,
			  r->failed ? "failed with " HOST_CRASHED : "returned to Ready");
	}
	if (c->released)
		log_info("host", "returned %lld jobs interrupted by the last %s to Ready",
			 (long long)c->released, unclean ? "unclean exit" : "stop");
}

int recover_last_life(struct writer *w, const char *state_dir, bool single_host)
{
	struct inflight_mark *marks = NULL;
	struct settings cfg;
	bool unclean = false;
	size_t n = 0;
	int rc = inflight_previous(state_dir, &unclean, &marks, &n);
	if (rc < 0) {
		log_error("host", "cannot read %s/asyncd.running: %s", state_dir,
			  asyncd_strerror(rc));
		return rc;
	}
	settings_current(&cfg);
	struct recover_call c = {.marks = marks,
				 .seen = calloc(n + 1, sizeof(*c.seen)),
				 .n = n,
				 .max_crashes = cfg.max_host_crashes,
				 .now = clock_now_ms(),
				 .single_host = single_host};
	rc = c.seen ? writer_call(w, recover_fn, &c) : AE_NOMEM;
	if (rc == 0)
		report(&c, unclean);
	else
		log_error("host", "cannot recover the jobs of the last run: %s",
			  asyncd_strerror(rc));
	free(c.seen);
	free(marks);
	if (rc == 0 && (rc = inflight_open(state_dir)) < 0)
		log_error("host", "cannot create %s/asyncd.running: %s", state_dir,
			  asyncd_strerror(rc));
	return rc;
}
