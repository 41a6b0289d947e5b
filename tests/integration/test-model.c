/* The randomized model test (issue 9, "the proof"): seeded random sequences of what an
 * administrator and a platform do to a real asyncd — register, upgrade, downgrade and re-isolate
 * the assembly "model" (tests/plugins/model.c, three builds), add, patch, enable, disable and
 * delete steps (refuse, drain, cancel), stop, start, pause and continue services, restart the
 * host, raise events, submit jobs of every type, and cancel, pause, resume, retry, postpone and
 * delete jobs — checked against a model of what must exist:
 *   - every acknowledged event has exactly the jobs of the steps that matched it;
 *   - no job is lost: the server has exactly the acknowledged jobs the test did not delete
 *     (GET /jobs/stats after every action, the whole listing at the end of a sequence);
 *   - ids are unique and never reused (after deletes and restarts);
 *   - every delete either happened (then its jobs are all Completed) or was refused with a
 *     4xx and a message; a canceled job stays canceled;
 *   - no run started on code of an assembly deleted before it, or on a build older than the one
 *     current when it started (from the build each run traced and its started_on; asserted
 *     only outside a window of MODEL_SLACK_MS around each upload, where the model is certain);
 *   - no busy loop: store commits over an idle interval (measured across two dispatcher passes
 *     after the work has settled) stay under a small bound.
 * Environment: ASYNCD_MODEL_SEED (default: from the time; printed at the start and with every
 * failure), ASYNCD_MODEL_SECONDS (run length, default 40), ASYNCD_MODEL_STEPS (actions per
 * sequence on average, default 60: from half to one and a half times that), ASYNCD_MODEL_VERBOSE=1
 * prints every action. Sequence i of a run uses seed SEED + i:
 * ASYNCD_MODEL_SEED=<the failing sequence's seed> replays it first (the answers of
 * a live server can still differ in timing). docs/testing.md describes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define MAX_JOBS 30000
#define MAX_STEPS 1024
#define MAX_INCS 256
#define MAX_CHANGES 256
#define MAX_KEYS 64
#define LOG_LINES 40
#define LOG_LEN 200

/* Around an upload, either build may run a job that starts (a run resolves its build a moment
 * before it stamps started_on; sanitized builds are 3-5 times slower). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MODEL_SLACK_MS 3000
#else
#define MODEL_SLACK_MS 1000
#endif
#define SETTLE_MS 90000		/* the work of a sequence settles within this (sanitizers) */
#define SERVICE_WAIT_MS 60000	/* a service action ends within this */
#define IDLE_MIN_MS 1000	/* an idle interval lasts at least this ... */
#define IDLE_MAX_WAIT_MS 20000	/* ... and two dispatcher passes, bounded by this */
#define IDLE_BASE_COMMITS 10	/* commits allowed in an idle interval, plus ... */
#define IDLE_COMMITS_PER_S 10	/* ... this many a second */
#define DUE_SOON_MS 5000	/* a job postponed to sooner than this is still work to settle */
#define DEADLINE_GRACE_MS 10000 /* a drain is over this long after its deadline at the latest */

#define NVERSIONS 3
#define NTYPES 5
static const char *const versions[NVERSIONS] = {"1.0.0.0", "1.0.1.0", "1.0.2.0"};
static const char *const types[NTYPES] = {"fast", "slow", "failing", "attention", "postponed"};
static const char *const messages[] = {"Create", "Update"};
static const char *const entities[] = {"account", "contact"};
static const char *const modes[] = {"refuse", "drain", "cancel"};

/* One upload that changed the running build: from t_send (the request left) or t_ack (its answer
 * came) on, version is the current build. */
struct change {
	int version;
	int64_t t_send, t_ack;
};

/* One life of the assembly "model": from a registration to its delete. */
struct inc {
	int64_t id;
	int nch;
	struct change ch[MAX_CHANGES];
	int version;
	bool sandbox;
	bool ever_sandbox; /* it was sandboxed at some time (known bug of item 3) */
	bool draining;
	bool deleted;
	int64_t t_deleted; /* when the test knew it was gone (204, or a GET's 404 after a drain) */
	int64_t deadline;  /* of its drain (test's clock, ms), 0 when none or not certain */
};

struct mstep {
	int64_t id;
	int inc;
	int type, msg, entity; /* entity -1: any */
	int filter; /* filtering attributes: 0 none, 1 ["ms"] (every event has it), 2 ["name"] */
	bool enabled, draining, deleted;
	int64_t t_deleted;
	int64_t deadline; /* of its drain (test's clock, ms), 0 when none or not certain */
};

struct mjob {
	int64_t id;
	int inc;
	int64_t step; /* 0: a direct job */
	int type;
	bool deleted;	   /* by the test */
	bool cancel_acked; /* a cancel answered 200 */
};

struct key {
	char key[32];
	int type, ms;
	int64_t id;
	int inc;
};

struct model {
	struct harness *h;
	uint64_t seed, rng;
	int seq, step;
	int ninc, live; /* live: the index of the assembly registered now, -1 when none */
	struct inc *incs;
	int nsteps;
	struct mstep *steps;
	int njobs;
	struct mjob *jobs;
	int nkeys;
	struct key keys[MAX_KEYS];
	int64_t max_id;
	char log[LOG_LINES][LOG_LEN];
	int nlog;
	bool verbose;
	/* what a run did, for its summary */
	long actions, refusals, runs_checked, known_bugs;
	long by_kind[16];
};

static struct model *g_model; /* for the failure message of a failing harness call */

/* ---- seed, randomness, log, failure ---- */

static uint64_t next_rand(struct model *m)
{
	uint64_t z = (m->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int rnd(struct model *m, int n)
{
	return (int)(next_rand(m) % (uint64_t)n);
}

static bool chance(struct model *m, int percent)
{
	return rnd(m, 100) < percent;
}

static void mlog(struct model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mlog(struct model *m, const char *fmt, ...)
{
	char *line = m->log[m->nlog++ % LOG_LINES];
	int n = snprintf(line, LOG_LEN, "[%d.%d] ", m->seq, m->step);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, (size_t)(LOG_LEN - n), fmt, ap);
	va_end(ap);
	if (m->verbose)
		fprintf(stderr, "# %s\n", line);
}

static void print_replay(const struct model *m)
{
	fprintf(stderr,
		"# model: seed %llu (sequence %d, step %d); replay with ASYNCD_MODEL_SEED=%llu\n",
		(unsigned long long)m->seed, m->seq, m->step, (unsigned long long)m->seed);
}

static void mfail(struct model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mfail(struct model *m, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "# MODEL FAILURE: %s\n# the last actions:\n", msg);
	int first = m->nlog > LOG_LINES ? m->nlog - LOG_LINES : 0;
	for (int i = first; i < m->nlog; i++)
		fprintf(stderr, "#   %s\n", m->log[i % LOG_LINES]);
	print_replay(m);
	if (m->h && m->h->pid > 0)
		h_dump_log(m->h, 30);
	fail_msg("%s (seed %llu: ASYNCD_MODEL_SEED=%llu replays it)", msg,
		 (unsigned long long)m->seed, (unsigned long long)m->seed);
}

/* A broken invariant that is a known open bug: said loudly, counted, reported, not failed. */
static void known_bug(struct model *m, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), unused));
static void known_bug(struct model *m, const char *tag, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	m->known_bugs++;
	fprintf(stderr, "# KNOWN BUG (TODO %s, not failed): %s\n", tag, msg);
	print_replay(m);
}

static int64_t env_int(const char *name, int64_t dflt)
{
	const char *v = getenv(name);
	return v && *v ? strtoll(v, NULL, 10) : dflt;
}

/* ---- requests ---- */

/* An answer, from HTTP or from asyncctl --json (then status is the HTTP status the exit and
 * output imply: 0 and JSON printed or nothing, or CLI_REFUSED for exit 1 with a reason on
 * stderr, which stands for any 4xx). */
#define CLI_REFUSED 499
struct ans {
	long status;
	json_t *json;
	int64_t t_send, t_ack;
	char *cli_err; /* asyncctl's stderr, NULL for HTTP */
};

static void ans_done(struct ans *a)
{
	json_decref(a->json);
	a->json = NULL;
	free(a->cli_err);
	a->cli_err = NULL;
}

/* Run asyncctl --json ARGS (at most 10, NULL-terminated) into a; ok_status is the status a
 * success stands for when it printed a JSON answer, empty_status when it printed nothing. */
static void ctl(struct model *m, struct ans *a, long ok_status, long empty_status,
		const char *const *args)
{
	const char *v[11] = {"--json"};
	for (int i = 0; i < 10 && args[i]; i++)
		v[i + 1] = args[i];
	struct h_cmd c;
	a->t_send = h_now_ms();
	h_ctl(m->h, &c, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], NULL);
	a->t_ack = h_now_ms();
	a->json = c.out && *c.out ? json_loads(c.out, JSON_DECODE_ANY, NULL) : NULL;
	a->cli_err = strdup(c.err ? c.err : "");
	if (c.status == 0)
		a->status = a->json ? ok_status : empty_status;
	else if (c.status == 1)
		a->status = CLI_REFUSED;
	else
		mfail(m, "asyncctl %s %s exited %d: %s", v[1], v[2], c.status, c.err);
	h_cmd_done(&c);
}

static void req(struct model *m, struct ans *a, const char *method, const char *path, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	a->cli_err = NULL;
	a->t_send = h_now_ms();
	a->json = h_request(m->h, method, path, text ? "application/json" : NULL, text,
			    text ? strlen(text) : 0, &a->status);
	a->t_ack = h_now_ms();
	free(text);
	if (a->status == 0)
		mfail(m, "%s %s: no answer (%s)", method, path, h_client_last(m->h->client));
	if (a->status >= 500)
		mfail(m, "%s %s: HTTP %ld: %s", method, path, a->status,
		      h_client_last(m->h->client));
}

/* A refusal carries a code and a message a person can act on. */
static void expect_reason(struct model *m, struct ans *a, const char *what)
{
	if (a->cli_err) {
		if (strlen(a->cli_err) < 8)
			mfail(m, "%s: asyncctl refused without a reason on stderr", what);
		m->refusals++;
		return;
	}
	json_t *e = json_object_get(a->json, "error");
	const char *msg = h_str(e, "message");
	if (!h_str(e, "code") || !msg || strlen(msg) < 8)
		mfail(m, "%s: HTTP %ld without a code and message: %s", what, a->status,
		      h_client_last(m->h->client));
	m->refusals++;
}

static void expect_status(struct model *m, struct ans *a, const char *what, int n, ...)
{
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		int want = va_arg(ap, int);
		if (want == a->status || (a->cli_err && want >= 400 && a->status == CLI_REFUSED)) {
			va_end(ap);
			if (a->status >= 400)
				expect_reason(m, a, what);
			return;
		}
	}
	va_end(ap);
	mfail(m, "%s: unexpected HTTP %ld: %s", what, a->status,
	      a->cli_err ? a->cli_err : h_client_last(m->h->client));
}

/* A refusal's reason (the answer's message, or asyncctl's stderr) names want. */
static void expect_in_reason(struct model *m, struct ans *a, const char *want, const char *what)
{
	const char *msg =
	    a->cli_err ? a->cli_err : h_str(json_object_get(a->json, "error"), "message");
	if (!msg || !strstr(msg, want))
		mfail(m, "%s: the refusal does not say \"%s\": %s", what, want,
		      msg ? msg : "(none)");
}

static int64_t ans_id(struct model *m, struct ans *a, const char *what)
{
	json_t *v = json_object_get(a->json, "id");
	if (!json_is_integer(v))
		mfail(m, "%s: no id in %s", what, h_client_last(m->h->client));
	return json_integer_value(v);
}

/* ---- the model's bookkeeping ---- */

static void new_job_id(struct model *m, int64_t id, int inc, int64_t step, int type)
{
	if (id <= 0)
		mfail(m, "job id %lld is not positive", (long long)id);
	if (id <= m->max_id)
		for (int i = 0; i < m->njobs; i++)
			if (m->jobs[i].id == id)
				mfail(m, "job id %lld given again (first given in this sequence%s)",
				      (long long)id, m->jobs[i].deleted ? ", deleted since" : "");
	if (m->njobs >= MAX_JOBS)
		mfail(m, "more than %d jobs in one sequence", MAX_JOBS);
	m->jobs[m->njobs++] = (struct mjob){.id = id, .inc = inc, .step = step, .type = type};
	if (id > m->max_id)
		m->max_id = id;
}

static struct mjob *find_job(struct model *m, int64_t id)
{
	for (int i = 0; i < m->njobs; i++)
		if (m->jobs[i].id == id)
			return &m->jobs[i];
	return NULL;
}

static int live_jobs(const struct model *m)
{
	int n = 0;
	for (int i = 0; i < m->njobs; i++)
		n += !m->jobs[i].deleted;
	return n;
}

static json_t *get_job(struct model *m, int64_t id, long *status)
{
	char p[64];
	return h_request(m->h, "GET", h_path(p, sizeof(p), "/api/v1/jobs/%lld", (long long)id),
			 NULL, NULL, 0, status);
}

/* Every job the test did not delete, of step (or of assembly inc when step is 0), is Completed
 * (or, right after a cancel, Locked/Canceling on its way there). */
static void expect_jobs_done(struct model *m, int64_t step, int inc, bool canceling_ok,
			     const char *why)
{
	for (int i = 0; i < m->njobs; i++) {
		struct mjob *j = &m->jobs[i];
		if (j->deleted || (step ? j->step != step : j->inc != inc))
			continue;
		long st;
		json_t *o = get_job(m, j->id, &st);
		if (st != 200)
			mfail(m,
			      "job %lld (%s) is gone (HTTP %ld) though the test never deleted it",
			      (long long)j->id, why, st);
		int64_t state = h_int(o, "state"), status = h_int(o, "status");
		json_decref(o);
		if (state != 3 && !(canceling_ok && status == 22))
			mfail(m, "job %lld is %lld/%lld after %s", (long long)j->id,
			      (long long)state, (long long)status, why);
	}
}

static void step_gone(struct mstep *s, int64_t t)
{
	s->deleted = true;
	s->draining = false;
	s->t_deleted = t;
}

static void inc_gone(struct model *m, int64_t t)
{
	struct inc *in = &m->incs[m->live];
	in->deleted = true;
	in->draining = false;
	in->t_deleted = t;
	m->live = -1;
}

/* A drain with a deadline is over soon after it. */
static void check_deadline(struct model *m, const char *what, int64_t id, int64_t deadline)
{
	int64_t late = h_now_ms() - deadline;
	if (deadline && late > DEADLINE_GRACE_MS)
		mfail(m, "%s %lld still drains %lld ms after its drain's deadline", what,
		      (long long)id, (long long)late);
}

/* The deadline a drain asks for: none, ?timeout=S (1-3 s) or ?deadline=RFC3339 (in 1-3 s); its
 * query string goes to query, its time (ms) to *ret (0: none). */
static void drain_deadline(struct model *m, char *query, size_t n, int64_t *ret)
{
	char t[H_TIME_LEN];
	int r = rnd(m, 10), ms = 1000 + rnd(m, 2000);
	*ret = 0;
	query[0] = 0;
	if (r < 3) {
		snprintf(query, n, "&timeout=%d", ms / 1000);
		*ret = h_now_ms() + ms / 1000 * 1000;
	} else if (r < 5) {
		snprintf(query, n, "&deadline=%s", h_time(t, ms));
		*ret = h_now_ms() + ms;
	}
}

/* A draining step or assembly the server has deleted since: every job of it is done. */
static void poll_drains(struct model *m)
{
	char p[64];
	for (int i = 0; i < m->nsteps; i++) {
		struct mstep *s = &m->steps[i];
		if (!s->draining)
			continue;
		struct ans a;
		req(m, &a, "GET", h_path(p, sizeof(p), "/api/v1/steps/%lld", (long long)s->id),
		    NULL);
		if (a.status == 200 && !json_is_true(json_object_get(a.json, "draining")))
			mfail(m, "step %lld was drained (202) and does not say it drains",
			      (long long)s->id);
		if (a.status == 200)
			check_deadline(m, "step", s->id, s->deadline);
		ans_done(&a);
		if (a.status == 404) {
			mlog(m, "step %lld drained and gone", (long long)s->id);
			step_gone(s, a.t_ack);
			expect_jobs_done(m, s->id, -1, false, "its step drained");
		} else if (a.status != 200) {
			mfail(m, "GET draining step %lld: HTTP %ld", (long long)s->id, a.status);
		}
	}
	if (m->live >= 0 && m->incs[m->live].draining) {
		struct ans a;
		req(m, &a, "GET",
		    h_path(p, sizeof(p), "/api/v1/assemblies/%lld", (long long)m->incs[m->live].id),
		    NULL);
		ans_done(&a);
		if (a.status == 200)
			check_deadline(m, "assembly", m->incs[m->live].id,
				       m->incs[m->live].deadline);
		if (a.status == 404) {
			int inc = m->live;
			mlog(m, "assembly %lld drained and gone", (long long)m->incs[inc].id);
			inc_gone(m, a.t_ack);
			expect_jobs_done(m, 0, inc, false, "its assembly drained");
		}
	}
}

/* The cheap check after every action: the server holds as many jobs as the model. */
static void check_cheap(struct model *m)
{
	struct ans a;
	req(m, &a, "GET", "/api/v1/jobs/stats", NULL);
	if (a.status != 200)
		mfail(m, "GET /jobs/stats: HTTP %ld", a.status);
	int64_t total = h_int(a.json, "total");
	ans_done(&a);
	if (total != live_jobs(m))
		mfail(m, "the server has %lld jobs, the model %d (acknowledged and not deleted)",
		      (long long)total, live_jobs(m));
	poll_drains(m);
}

/* ---- actions: the assembly ---- */

static void path_of(struct model *m, char *buf, size_t n, int v)
{
	snprintf(buf, n, "%s/tests/plugins/model-%s.so", m->h->build, versions[v]);
}

static void act_upload(struct model *m)
{
	int v = rnd(m, NVERSIONS), iso = rnd(m, 3); /* 0: not named, 1: none, 2: sandbox */
	bool allow = chance(m, 25);
	char file[1200], url[160];
	size_t len;
	snprintf(url, sizeof(url), "/api/v1/assemblies%s%s%s",
		 iso == 1   ? "?isolation=none"
		 : iso == 2 ? "?isolation=sandbox"
			    : "",
		 !allow ? ""
		 : iso	? "&"
			: "?",
		 allow ? "allow_downgrade=true" : "");
	path_of(m, file, sizeof(file), v);
	char *bytes = h_read_file(file, &len);
	if (!bytes)
		mfail(m, "cannot read %s", file);
	struct ans a = {0};
	if (chance(m, 30)) { /* asyncctl assembly register */
		free(bytes);
		const char *args[8] = {"assembly", "register", file};
		int n = 3;
		if (iso) {
			args[n++] = "--isolation";
			args[n++] = iso == 1 ? "none" : "sandbox";
		}
		if (allow)
			args[n++] = "--allow-downgrade";
		ctl(m, &a, 201, 201, args);
		const char *out = h_str(a.json, "outcome");
		if (a.status == 201 && out && !strcmp(out, "unchanged"))
			a.status = 200;
		mlog(m, "asyncctl assembly register %s%s%s -> %ld", versions[v],
		     iso == 1	? " --isolation none"
		     : iso == 2 ? " --isolation sandbox"
				: "",
		     allow ? " --allow-downgrade" : "", a.status);
	} else {
		a.t_send = h_now_ms();
		a.json =
		    h_request(m->h, "POST", url, "application/octet-stream", bytes, len, &a.status);
		a.t_ack = h_now_ms();
		free(bytes);
		mlog(m, "upload %s %s -> %ld", versions[v], url, a.status);
		if (a.status == 0 || a.status >= 500)
			mfail(m, "upload %s: HTTP %ld: %s", versions[v], a.status,
			      h_client_last(m->h->client));
	}
	const char *what = "upload";
	if (m->live < 0) {
		expect_status(m, &a, what, 1, 201);
		if (m->ninc >= MAX_INCS)
			mfail(m, "too many registrations");
		struct inc *in = &m->incs[m->ninc];
		*in = (struct inc){.id = ans_id(m, &a, what),
				   .version = v,
				   .sandbox = iso != 1,
				   .ever_sandbox = iso != 1};
		in->ch[in->nch++] = (struct change){v, a.t_send, a.t_ack};
		for (int i = 0; i < m->ninc; i++)
			if (m->incs[i].id == in->id)
				mfail(m, "assembly id %lld given again", (long long)in->id);
		m->live = m->ninc++;
		if (strcmp(h_str(a.json, "outcome") ? h_str(a.json, "outcome") : "", "registered"))
			mfail(m, "a first upload's outcome is %s", h_str(a.json, "outcome"));
	} else {
		struct inc *in = &m->incs[m->live];
		const char *want = NULL;
		bool want_sandbox = iso == 0 ? in->sandbox : iso == 2;
		if (in->draining) {
			expect_status(m, &a, what, 1, 409);
			expect_in_reason(m, &a, "mode=cancel", "upload while draining");
		} else if (v == in->version) {
			want = want_sandbox == in->sandbox ? "unchanged" : "isolation_changed";
			expect_status(m, &a, what, 1, want_sandbox == in->sandbox ? 200 : 201);
		} else if (v > in->version || allow) {
			want = v > in->version ? "upgraded" : "downgraded";
			expect_status(m, &a, what, 1, 201);
		} else {
			expect_status(m, &a, what, 1, 409);
			expect_in_reason(m, &a, "allow_downgrade", "downgrade");
		}
		if (want) {
			const char *out = h_str(a.json, "outcome");
			if (!out || strcmp(out, want))
				mfail(m, "upload %s over %s: outcome %s, the model wants %s",
				      versions[v], versions[in->version], out ? out : "(none)",
				      want);
			if (ans_id(m, &a, what) != in->id)
				mfail(m, "upload in place answered another id");
			const char *isol = h_str(a.json, "isolation");
			if (!isol || strcmp(isol, want_sandbox ? "sandbox" : "none"))
				mfail(m, "after upload the isolation is %s, the model wants %s",
				      isol ? isol : "(none)", want_sandbox ? "sandbox" : "none");
			in->sandbox = want_sandbox;
			in->ever_sandbox |= want_sandbox;
			if (v != in->version) {
				if (in->nch >= MAX_CHANGES)
					mfail(m, "too many uploads");
				in->ch[in->nch++] = (struct change){v, a.t_send, a.t_ack};
				in->version = v;
			}
		}
	}
	ans_done(&a);
}

static void act_isolation(struct model *m)
{
	char p[64];
	bool none = chance(m, 50);
	int64_t id = m->live >= 0 ? m->incs[m->live].id
		     : m->ninc	  ? m->incs[rnd(m, m->ninc)].id
				  : 999999;
	struct ans a;
	req(m, &a, "PATCH", h_path(p, sizeof(p), "/api/v1/assemblies/%lld", (long long)id),
	    json_pack("{s:s}", "isolation", none ? "none" : "sandbox"));
	mlog(m, "isolation of %lld -> %s: %ld", (long long)id, none ? "none" : "sandbox", a.status);
	if (m->live < 0) {
		expect_status(m, &a, "isolation of a deleted assembly", 1, 404);
	} else if (m->incs[m->live].draining) {
		expect_status(m, &a, "isolation while draining", 1, 409);
	} else {
		expect_status(m, &a, "isolation", 1, 200);
		const char *isol = h_str(a.json, "isolation");
		if (!isol || strcmp(isol, none ? "none" : "sandbox"))
			mfail(m, "PATCH isolation answered %s", isol ? isol : "(none)");
		m->incs[m->live].sandbox = !none;
		m->incs[m->live].ever_sandbox |= !none;
	}
	ans_done(&a);
}

static int steps_of_live(const struct model *m)
{
	int n = 0;
	for (int i = 0; i < m->nsteps; i++)
		n += m->steps[i].inc == m->live && !m->steps[i].deleted;
	return n;
}

static void act_assembly_delete(struct model *m)
{
	char p[160], dl[80] = "";
	int mode = rnd(m, 3);
	int64_t deadline = 0;
	if (mode == 1)
		drain_deadline(m, dl, sizeof(dl), &deadline);
	poll_drains(m); /* what has drained since is gone */
	int64_t id = m->live >= 0 ? m->incs[m->live].id
		     : m->ninc	  ? m->incs[rnd(m, m->ninc)].id
				  : 999999;
	struct ans a;
	req(m, &a, "DELETE",
	    h_path(p, sizeof(p), "/api/v1/assemblies/%lld?mode=%s%s", (long long)id, modes[mode],
		   dl),
	    NULL);
	mlog(m, "delete assembly %lld mode=%s%s -> %ld", (long long)id, modes[mode], dl, a.status);
	if (m->live < 0) {
		expect_status(m, &a, "delete of a deleted assembly", 1, 404);
		ans_done(&a);
		return;
	}
	int inc = m->live;
	int nsteps = steps_of_live(m);
	bool only_draining = true;
	for (int i = 0; i < m->nsteps; i++)
		if (m->steps[i].inc == inc && !m->steps[i].deleted && !m->steps[i].draining)
			only_draining = false;
	if (nsteps && !only_draining) {
		expect_status(m, &a, "delete of an assembly with steps", 1, 409);
		if (!json_array_size(json_object_get(json_object_get(a.json, "error"), "steps")))
			mfail(m, "refused delete of an assembly with steps names no step");
		ans_done(&a);
		return;
	}
	if (nsteps && a.status == 409 &&
	    json_array_size(json_object_get(json_object_get(a.json, "error"), "steps"))) {
		expect_reason(m, &a, "delete of an assembly with draining steps");
		ans_done(&a);
		return;
	}
	if (nsteps) /* its draining steps have ended meanwhile */
		for (int i = 0; i < m->nsteps; i++)
			if (m->steps[i].inc == inc && !m->steps[i].deleted)
				step_gone(&m->steps[i], a.t_ack);
	if (mode == 0) {
		expect_status(m, &a, "delete mode=refuse", 2, 204, 409);
	} else if (mode == 1) {
		expect_status(m, &a, "delete mode=drain", 2, 202, 204);
	} else {
		expect_status(m, &a, "delete mode=cancel", 1, 204);
	}
	if (a.status == 204) {
		inc_gone(m, a.t_ack);
		expect_jobs_done(m, 0, inc, mode == 2, "its assembly was deleted");
	} else if (a.status == 202) {
		m->incs[inc].draining = true;
		m->incs[inc].deadline = deadline;
		if (deadline && json_is_null(json_object_get(a.json, "drain_deadline")))
			mfail(m, "a drain asked with a deadline answered none: %s",
			      h_client_last(m->h->client));
	}
	ans_done(&a);
}

/* ---- actions: steps ---- */

static struct mstep *pick_step(struct model *m, bool any)
{
	int cand[MAX_STEPS], n = 0;
	for (int i = 0; i < m->nsteps; i++)
		if (any || !m->steps[i].deleted)
			cand[n++] = i;
	return n ? &m->steps[cand[rnd(m, n)]] : NULL;
}

static json_t *filter_json(int filter)
{
	return filter == 1   ? json_pack("[s]", "ms")
	       : filter == 2 ? json_pack("[s]", "name")
			     : json_null();
}

static void act_step_add(struct model *m)
{
	int type = rnd(m, NTYPES), msg = rnd(m, 2), entity = rnd(m, 3) - 1;
	bool enabled = !chance(m, 15);
	char t[64];
	snprintf(t, sizeof(t), "model.%s", types[type]);
	json_t *body = json_pack("{s:s,s:s,s:b}", "plugin_type", t, "message", messages[msg],
				 "enabled", enabled);
	if (entity >= 0)
		json_object_set_new(body, "entity", json_string(entities[entity]));
	int filter = chance(m, 30) ? 1 + rnd(m, 2) : 0;
	if (filter)
		json_object_set_new(body, "filtering_attributes", filter_json(filter));
	struct ans a;
	req(m, &a, "POST", "/api/v1/steps", body);
	mlog(m, "step add %s %s %s%s -> %ld", t, messages[msg],
	     entity >= 0 ? entities[entity] : "*", enabled ? "" : " disabled", a.status);
	if (m->live < 0) {
		expect_status(m, &a, "step add without an assembly", 1, 404);
	} else if (m->incs[m->live].draining) {
		expect_status(m, &a, "step add while the assembly drains", 1, 409);
	} else {
		expect_status(m, &a, "step add", 1, 201);
		if (m->nsteps >= MAX_STEPS)
			mfail(m, "too many steps");
		int64_t bound = h_int(json_object_get(a.json, "assembly"), "id");
		if (bound != m->incs[m->live].id)
			mfail(m, "step bound assembly %lld, the model's is %lld", (long long)bound,
			      (long long)m->incs[m->live].id);
		m->steps[m->nsteps++] = (struct mstep){.id = ans_id(m, &a, "step add"),
						       .inc = m->live,
						       .type = type,
						       .msg = msg,
						       .entity = entity,
						       .filter = filter,
						       .enabled = enabled};
	}
	ans_done(&a);
}

/* PATCH some of enabled, message, entity, filtering_attributes, rank, configuration. */
static void act_step_patch(struct model *m)
{
	struct mstep *s = pick_step(m, chance(m, 10));
	if (!s)
		return;
	struct mstep want = *s;
	json_t *body = json_object();
	char what[160] = "";
	if (chance(m, 60)) {
		want.enabled = chance(m, 50);
		json_object_set_new(body, "enabled", json_boolean(want.enabled));
		strcat(what, want.enabled ? " enabled" : " disabled");
	}
	if (chance(m, 25)) {
		want.msg = rnd(m, 2);
		json_object_set_new(body, "message", json_string(messages[want.msg]));
		strcat(what, want.msg ? " Update" : " Create");
	}
	if (chance(m, 25)) {
		want.entity = rnd(m, 3) - 1;
		json_object_set_new(body, "entity",
				    want.entity < 0 ? json_null()
						    : json_string(entities[want.entity]));
		strcat(what, want.entity < 0 ? " any-entity"
			     : want.entity   ? " contact"
					     : " account");
	}
	if (chance(m, 25)) {
		want.filter = rnd(m, 3);
		json_object_set_new(body, "filtering_attributes", filter_json(want.filter));
		strcat(what, want.filter == 0	? " no-filter"
			     : want.filter == 1 ? " filter-ms"
						: " filter-name");
	}
	if (chance(m, 20)) {
		json_object_set_new(body, "rank", json_integer(1 + rnd(m, 5)));
		strcat(what, " rank");
	}
	if (chance(m, 20) || !json_object_size(body)) {
		json_object_set_new(body, "configuration", json_pack("{s:i}", "n", m->step));
		strcat(what, " configuration");
	}
	char p[64];
	struct ans a;
	req(m, &a, "PATCH", h_path(p, sizeof(p), "/api/v1/steps/%lld", (long long)s->id), body);
	mlog(m, "step %lld patch%s -> %ld", (long long)s->id, what, a.status);
	if (s->deleted)
		expect_status(m, &a, "patch of a deleted step", 1, 404);
	else if (s->draining) /* it may have ended meanwhile */
		expect_status(m, &a, "patch of a draining step", 2, 404, 409);
	else
		expect_status(m, &a, "step patch", 1, 200);
	if (a.status == 200) {
		*s = want;
		if (h_int(a.json, "id") != s->id)
			mfail(m, "PATCH of step %lld answered another step", (long long)s->id);
	} else if (a.status == 404 && !s->deleted) {
		step_gone(s, a.t_ack);
		expect_jobs_done(m, s->id, -1, false, "its step drained");
	}
	ans_done(&a);
}

static void act_step_delete(struct model *m)
{
	struct mstep *s = pick_step(m, chance(m, 10));
	if (!s)
		return;
	int mode = rnd(m, 3);
	char p[160], dl[80] = "", secs[80] = "";
	int64_t deadline = 0;
	if (mode == 1)
		drain_deadline(m, dl, sizeof(dl), &deadline);
	struct ans a = {0};
	if (chance(m, 30)) { /* asyncctl step delete (--json: it does not follow a drain) */
		h_path(p, sizeof(p), "%lld", (long long)s->id);
		const char *args[8] = {"step", "delete", p, "--mode", modes[mode]};
		if (!strncmp(dl, "&timeout=", 9)) {
			snprintf(secs, sizeof(secs), "%s", dl + 9);
			args[5] = "--timeout";
			args[6] = secs;
		} else {
			deadline = 0;
			dl[0] = 0;
		}
		ctl(m, &a, 202, 204, args);
		mlog(m, "asyncctl step delete %lld --mode %s%s%s -> %ld", (long long)s->id,
		     modes[mode], secs[0] ? " --timeout " : "", secs, a.status);
	} else {
		req(m, &a, "DELETE",
		    h_path(p, sizeof(p), "/api/v1/steps/%lld?mode=%s%s", (long long)s->id,
			   modes[mode], dl),
		    NULL);
		mlog(m, "delete step %lld mode=%s%s -> %ld", (long long)s->id, modes[mode], dl,
		     a.status);
	}
	if (s->deleted) {
		expect_status(m, &a, "delete of a deleted step", 1, 404);
		ans_done(&a);
		return;
	}
	if (s->draining && (a.status == 404 || a.status == CLI_REFUSED)) {
		/* its drain ended meanwhile (asyncctl's refusal: it must be gone) */
		long st;
		char q[64];
		json_decref(h_request(m->h, "GET",
				      h_path(q, sizeof(q), "/api/v1/steps/%lld", (long long)s->id),
				      NULL, NULL, 0, &st));
		if (st == 404) {
			step_gone(s, a.t_ack);
			expect_jobs_done(m, s->id, -1, false, "its step drained");
			ans_done(&a);
			return;
		}
		if (a.status == 404)
			mfail(m, "deleting draining step %lld answered 404, and it is still there",
			      (long long)s->id);
	}
	if (mode == 0)
		expect_status(m, &a, "step delete mode=refuse", 2, 204, 409);
	else if (mode == 1)
		expect_status(m, &a, "step delete mode=drain", 2, 202, 204);
	else
		expect_status(m, &a, "step delete mode=cancel", 1, 204);
	if (a.status == 409 && !a.cli_err) {
		json_t *c = json_object_get(json_object_get(a.json, "error"), "counts");
		if (json_integer_value(json_object_get(c, "ready")) +
			json_integer_value(json_object_get(c, "suspended")) +
			json_integer_value(json_object_get(c, "locked")) <=
		    0)
			mfail(m, "a refused step delete names no unfinished job: %s",
			      h_client_last(m->h->client));
	}
	if (a.status == 204) {
		step_gone(s, a.t_ack);
		expect_jobs_done(m, s->id, -1, mode == 2, "its step was deleted");
	} else if (a.status == 202) {
		s->draining = true;
		s->deadline = deadline; /* a drain asked again sets a new deadline, or none */
		if (deadline && json_is_null(json_object_get(a.json, "drain_deadline")))
			mfail(m, "a drain asked with a deadline answered none: %s",
			      a.cli_err ? a.cli_err : h_client_last(m->h->client));
	}
	ans_done(&a);
}

/* ---- actions: services and the host ---- */

static const char *service_status(struct model *m, const char *name)
{
	static char buf[32];
	json_t *s = h_service(m->h, name);
	snprintf(buf, sizeof(buf), "%s", h_str(s, "status") ? h_str(s, "status") : "");
	json_decref(s);
	return buf;
}

static void wait_service_settled(struct model *m, const char *name)
{
	int64_t end = h_mono_ms() + SERVICE_WAIT_MS;
	while (strstr(service_status(m, name), "pending")) {
		if (h_mono_ms() > end)
			mfail(m, "service %s still %s after %d ms", name, service_status(m, name),
			      SERVICE_WAIT_MS);
		h_sleep_ms(H_POLL_MS * 5);
	}
}

static void act_service(struct model *m)
{
	static const char *const async_acts[] = {"stop", "start", "pause", "continue", "restart"};
	static const char *const sandbox_acts[] = {"stop", "start"};
	bool sandbox = chance(m, 30);
	const char *name = sandbox ? "sandbox" : "async";
	const char *act = sandbox ? sandbox_acts[rnd(m, 2)] : async_acts[rnd(m, 5)];
	char p[128];
	struct ans a;
	req(m, &a, "POST", h_path(p, sizeof(p), "/api/v1/hosts/local/services/%s/%s", name, act),
	    NULL);
	mlog(m, "service %s %s -> %ld", name, act, a.status);
	expect_status(m, &a, "service action", 2, 200, 409);
	ans_done(&a);
	wait_service_settled(m, name);
}

static void act_restart(struct model *m)
{
	if (chance(m, 30)) {
		mlog(m, "kill -9 the host and start it again");
		h_kill(m->h);
	} else {
		mlog(m, "restart the host");
		h_stop(m->h); /* fails the test unless it exits 0 in time */
	}
	h_restart(m->h);
}

/* ---- actions: events and jobs ---- */

static bool step_matches(const struct model *m, const struct mstep *s, int msg, int entity)
{
	return !s->deleted && !s->draining && s->enabled && s->msg == msg &&
	       (s->entity < 0 || s->entity == entity) && !m->incs[s->inc].draining &&
	       !(msg == 1 && s->filter == 2); /* an Update needs a filtering attribute it has */
}

static void act_event(struct model *m)
{
	int msg = rnd(m, 2), entity = rnd(m, 2);
	struct ans a;
	req(m, &a, "POST", "/api/v1/events",
	    json_pack("{s:s,s:s,s:s,s:{s:i}}", "message", messages[msg], "entity", entities[entity],
		      "entity_id", "42", "target", "ms", 50 + rnd(m, 1200)));
	json_t *jobs = json_object_get(a.json, "jobs");
	mlog(m, "event %s %s -> %ld, %zu jobs", messages[msg], entities[entity], a.status,
	     json_array_size(jobs));
	expect_status(m, &a, "event", 1, 201);
	int want = 0;
	for (int i = 0; i < m->nsteps; i++)
		want += step_matches(m, &m->steps[i], msg, entity);
	if ((int)json_array_size(jobs) != want)
		mfail(m, "event %s %s made %zu jobs, the model wants %d", messages[msg],
		      entities[entity], json_array_size(jobs), want);
	size_t i;
	json_t *o;
	json_array_foreach(jobs, i, o)
	{
		int64_t sid = h_int(o, "step_id");
		struct mstep *s = NULL;
		for (int k = 0; k < m->nsteps; k++)
			if (m->steps[k].id == sid)
				s = &m->steps[k];
		if (!s || !step_matches(m, s, msg, entity))
			mfail(m, "event %s %s made a job of step %lld, which does not match",
			      messages[msg], entities[entity], (long long)sid);
		new_job_id(m, h_int(o, "id"), s->inc, sid, s->type);
	}
	ans_done(&a);
}

/* 1-8 events in one NDJSON request: the answer counts the jobs; the newest jobs listed are
 * them, one per matching step and event. */
static void act_bulk(struct model *m)
{
	int n = 1 + rnd(m, 8), want = 0, per_step[MAX_STEPS] = {0};
	size_t len = 0;
	char body[8 * 160];
	for (int e = 0; e < n; e++) {
		int msg = rnd(m, 2), entity = rnd(m, 2);
		len +=
		    (size_t)snprintf(body + len, sizeof(body) - len,
				     "{\"message\":\"%s\",\"entity\":\"%s\",\"entity_id\":\"%d\","
				     "\"target\":{\"ms\":%d}}\n",
				     messages[msg], entities[entity], e, 50 + rnd(m, 800));
		for (int i = 0; i < m->nsteps; i++)
			if (step_matches(m, &m->steps[i], msg, entity)) {
				per_step[i]++;
				want++;
			}
	}
	struct ans a = {0};
	a.json =
	    h_request(m->h, "POST", "/api/v1/events", "application/x-ndjson", body, len, &a.status);
	mlog(m, "%d events as NDJSON -> %ld, %lld jobs", n, a.status,
	     (long long)json_integer_value(json_object_get(a.json, "jobs")));
	expect_status(m, &a, "NDJSON events", 1, 201);
	if (json_integer_value(json_object_get(a.json, "jobs")) != want ||
	    json_integer_value(json_object_get(a.json, "events")) != n)
		mfail(m, "%d NDJSON events: %s, the model wants %d jobs", n,
		      h_client_last(m->h->client), want);
	ans_done(&a);
	if (!want)
		return;
	char p[64];
	json_t *list = h_get(m->h, h_path(p, sizeof(p), "/api/v1/jobs?limit=%d", want), 200), *o;
	size_t i;
	int64_t before = m->max_id;
	json_array_foreach(json_object_get(list, "jobs"), i, o)
	{
		int64_t id = h_int(o, "id"), sid = h_int(o, "step_id");
		int k = 0;
		while (k < m->nsteps && m->steps[k].id != sid)
			k++;
		if (id <= before || k == m->nsteps || per_step[k]-- <= 0)
			mfail(m,
			      "job %lld of step %lld is not one of the %d the NDJSON events made",
			      (long long)id, (long long)sid, want);
		new_job_id(m, id, m->steps[k].inc, sid, m->steps[k].type);
	}
	json_decref(list);
}

/* 5-30 jobs of one type at once, so that jobs queue for the pool and the sandbox's workers. */
static void act_burst(struct model *m)
{
	int type = rnd(m, NTYPES), n = 5 + rnd(m, 26), made = 0;
	char t[64];
	snprintf(t, sizeof(t), "model.%s", types[type]);
	for (int i = 0; i < n; i++) {
		struct ans a;
		req(m, &a, "POST", "/api/v1/jobs",
		    json_pack("{s:s,s:{s:i}}", "plugin_type", t, "data", "ms", 20 + rnd(m, 400)));
		if (m->live < 0)
			expect_status(m, &a, "submit without an assembly", 1, 404);
		else if (m->incs[m->live].draining)
			expect_status(m, &a, "submit while the assembly drains", 1, 409);
		else
			expect_status(m, &a, "submit", 1, 201);
		if (a.status == 201) {
			new_job_id(m, ans_id(m, &a, "submit"), m->live, 0, type);
			made++;
		}
		ans_done(&a);
	}
	mlog(m, "burst of %d %s jobs: %d made", n, t, made);
}

static void act_submit(struct model *m)
{
	int type = rnd(m, NTYPES), ms = 50 + rnd(m, 1200);
	char t[64], when[H_TIME_LEN];
	struct key *reuse = m->nkeys && chance(m, 10) ? &m->keys[rnd(m, m->nkeys)] : NULL;
	bool same = reuse && chance(m, 50);
	if (reuse) {
		type = same ? reuse->type : (reuse->type + 1) % NTYPES;
		ms = reuse->ms;
	}
	snprintf(t, sizeof(t), "model.%s", types[type]);
	json_t *body = json_pack("{s:s,s:{s:i}}", "plugin_type", t, "data", "ms", ms);
	int r = rnd(m, 10);
	if (!reuse && r < 2)
		json_object_set_new(body, "postpone_until",
				    json_string(h_time(when, 500 + rnd(m, 2500))));
	else if (!reuse && r < 3)
		json_object_set_new(body, "postpone_until", json_string(h_time(when, 3600 * 1000)));
	char key[32] = "";
	if (reuse)
		snprintf(key, sizeof(key), "%s", reuse->key);
	else if (chance(m, 15))
		snprintf(key, sizeof(key), "k-%d-%d", m->seq, m->step);
	if (key[0])
		json_object_set_new(body, "idempotency_key", json_string(key));
	struct ans a;
	req(m, &a, "POST", "/api/v1/jobs", body);
	mlog(m, "submit %s ms=%d%s%s%s -> %ld", t, ms, r < 3 && !reuse ? " postponed" : "",
	     key[0] ? " key=" : "", key, a.status);
	if (reuse) {
		struct mjob *j = find_job(m, reuse->id);
		bool gone = !j || j->deleted;
		if (same && !gone) { /* an identical resubmission is a no-op */
			expect_status(m, &a, "identical resubmission", 1, 200);
			if (ans_id(m, &a, "resubmission") != reuse->id)
				mfail(m, "an identical resubmission answered job %lld, not %lld",
				      (long long)ans_id(m, &a, "resubmission"),
				      (long long)reuse->id);
		} else if (!gone) {
			expect_status(m, &a, "key reused with other content", 1, 409);
		} else { /* the keyed job was deleted: whatever the server answers, it is counted */
			expect_status(m, &a, "key of a deleted job", 5, 200, 201, 404, 409, 422);
			if (a.status == 201) { /* the key is the new job's now */
				new_job_id(m, ans_id(m, &a, "submit"), m->live, 0, type);
				reuse->id = ans_id(m, &a, "submit");
				reuse->type = type;
				reuse->inc = m->live;
			} else if (a.status == 200)
				mfail(m, "a key of a deleted job answered job %lld as existing",
				      (long long)ans_id(m, &a, "submit"));
		}
		ans_done(&a);
		return;
	}
	if (m->live < 0) {
		expect_status(m, &a, "submit without an assembly", 1, 404);
	} else if (m->incs[m->live].draining) {
		expect_status(m, &a, "submit while the assembly drains", 1, 409);
	} else {
		expect_status(m, &a, "submit", 1, 201);
		int64_t id = ans_id(m, &a, "submit");
		new_job_id(m, id, m->live, 0, type);
		if (key[0] && m->nkeys < MAX_KEYS) {
			struct key *k = &m->keys[m->nkeys++];
			snprintf(k->key, sizeof(k->key), "%s", key);
			k->type = type;
			k->ms = ms;
			k->id = id;
			k->inc = m->live;
		}
	}
	ans_done(&a);
}

static void act_job_action(struct model *m)
{
	static const char *const acts[] = {"cancel", "pause",	 "resume",
					   "retry",  "postpone", "delete"};
	if (!m->njobs)
		return;
	struct mjob *j = &m->jobs[rnd(m, m->njobs)];
	if (j->deleted && !chance(m, 20)) /* mostly act on jobs that exist */
		for (int i = 0; i < 8 && j->deleted; i++)
			j = &m->jobs[rnd(m, m->njobs)];
	int k = rnd(m, 6);
	char p[96], when[H_TIME_LEN];
	struct ans a = {0};
	if (chance(m, 25)) { /* asyncctl job ACTION ID */
		h_path(p, sizeof(p), "%lld", (long long)j->id);
		const char *args[] = {"job", acts[k], p, k == 4 ? "--until" : NULL, "+2s", NULL};
		ctl(m, &a, k == 5 ? 204 : 200, 204, args);
		mlog(m, "asyncctl job %s %lld -> %ld", acts[k], (long long)j->id, a.status);
	} else {
		if (k == 5)
			req(m, &a, "DELETE",
			    h_path(p, sizeof(p), "/api/v1/jobs/%lld", (long long)j->id), NULL);
		else
			req(m, &a, "POST",
			    h_path(p, sizeof(p), "/api/v1/jobs/%lld/%s", (long long)j->id, acts[k]),
			    k == 4 ? json_pack("{s:s}", "until", h_time(when, 300 + rnd(m, 2000)))
				   : NULL);
		mlog(m, "job %lld %s -> %ld", (long long)j->id, acts[k], a.status);
	}
	if (j->deleted) {
		expect_status(m, &a, "action on a deleted job", 1, 404);
	} else if (k == 5) {
		expect_status(m, &a, "job delete", 1, 204);
		j->deleted = true;
		long st;
		json_decref(get_job(m, j->id, &st));
		if (st != 404)
			mfail(m, "deleted job %lld still answers HTTP %ld", (long long)j->id, st);
	} else {
		expect_status(m, &a, acts[k], 2, 200, 409);
		if (a.status == 200 && k == 0)
			j->cancel_acked = true;
		if (a.status == 200 && j->cancel_acked && k != 0)
			mfail(m, "job %lld was canceled, yet %s answered 200", (long long)j->id,
			      acts[k]);
	}
	ans_done(&a);
}

/* Let work go on: until nothing is Ready or In Progress, or a little while (not for correctness).
 */
static void act_wait(struct model *m)
{
	int64_t end = h_mono_ms() + 200 + rnd(m, 1200);
	mlog(m, "let work go on");
	while (h_mono_ms() < end) {
		struct ans a;
		req(m, &a, "GET", "/api/v1/jobs/stats", NULL);
		json_t *by = json_object_get(a.json, "by_status");
		int64_t busy = json_integer_value(json_object_get(by, "0")) +
			       json_integer_value(json_object_get(by, "20"));
		ans_done(&a);
		if (!busy)
			break;
		h_sleep_ms(H_POLL_MS * 2);
	}
}

/* ---- the thorough check at the end of a sequence ---- */

static void ensure_running(struct model *m)
{
	const char *st = service_status(m, "async");
	if (!strcmp(st, "paused"))
		json_decref(h_service_act(m->h, "async", "continue", 200));
	else if (strcmp(st, "running"))
		json_decref(h_service_act(m->h, "async", "start", 200));
	if (strcmp(service_status(m, "sandbox"), "running"))
		json_decref(h_service_act(m->h, "sandbox", "start", 200));
	wait_service_settled(m, "async");
	wait_service_settled(m, "sandbox");
}

/* Whether work is still to happen soon: jobs Ready or Locked, or postponed to within
 * DUE_SOON_MS. */
static bool busy(struct model *m, json_t *all)
{
	size_t i;
	json_t *o;
	int64_t soon = h_now_ms() + DUE_SOON_MS;
	json_array_foreach(all, i, o)
	{
		int64_t state = h_int(o, "state");
		int64_t due = h_parse_time(json_object_get(o, "postpone_until"));
		if (state == 0 || state == 2 || (state == 1 && due > 0 && due < soon))
			return true;
	}
	(void)m;
	return false;
}

/* A drain with a deadline that has not ended yet. */
static bool deadline_pending(const struct model *m)
{
	for (int i = 0; i < m->nsteps; i++)
		if (m->steps[i].draining && m->steps[i].deadline)
			return true;
	return m->live >= 0 && m->incs[m->live].draining && m->incs[m->live].deadline;
}

/* A job is In Progress only once its run started: Locked/In Progress has started_on, Locked/
 * Waiting For Resources not yet. */
static void check_statuses(struct model *m, json_t *all)
{
	size_t i;
	json_t *o;
	json_array_foreach(all, i, o)
	{
		if (h_int(o, "state") != 2)
			continue;
		int64_t status = h_int(o, "status");
		bool started = !json_is_null(json_object_get(o, "started_on"));
		if ((status == 20 && !started) || (status == 0 && started))
			mfail(m, "job %lld is Locked/%s with started_on %s",
			      (long long)h_int(o, "id"),
			      status ? "In Progress" : "Waiting For Resources",
			      started ? "set" : "null");
	}
}

static json_t *settle(struct model *m)
{
	int64_t end = h_mono_ms() + SETTLE_MS;
	for (;;) {
		json_t *all = h_all_jobs(m->h);
		check_statuses(m, all);
		if (!busy(m, all) && !deadline_pending(m))
			return all;
		if (h_mono_ms() > end) {
			size_t i;
			json_t *o;
			json_array_foreach(all, i,
					   o) if (h_int(o, "state") != 3 && h_int(o, "state") != 1)
			    fprintf(stderr, "# job %lld %s %lld/%lld %s\n",
				    (long long)h_int(o, "id"), h_str(o, "plugin_type"),
				    (long long)h_int(o, "state"), (long long)h_int(o, "status"),
				    h_str(o, "message"));
			json_decref(all);
			mfail(m, "the work did not settle within %d ms", SETTLE_MS);
		}
		json_decref(all);
		poll_drains(m);
		h_sleep_ms(H_POLL_MS * 10);
	}
}

/* The build a run traced, as an index into versions[], or -1. */
static int traced_build(const char *trace)
{
	const char *at = trace ? strstr(trace, "model build ") : NULL;
	if (!at)
		return -1;
	at += strlen("model build ");
	for (int v = 0; v < NVERSIONS; v++)
		if (!strncmp(at, versions[v], strlen(versions[v])))
			return v;
	return -2;
}

/* A run of job j that started at started (server time) and traced build v. */
static void check_run(struct model *m, const struct mjob *j, int64_t started, int v, int attempt)
{
	const struct inc *in = &m->incs[j->inc];
	m->runs_checked++;
	if (v == -2)
		mfail(m, "job %lld attempt %d traced a build the model does not know",
		      (long long)j->id, attempt);
	if (in->deleted && started > in->t_deleted + MODEL_SLACK_MS)
		mfail(m,
		      "job %lld attempt %d started at %lld, %lld ms after its assembly %lld was "
		      "deleted",
		      (long long)j->id, attempt, (long long)started,
		      (long long)(started - in->t_deleted), (long long)in->id);
	for (int i = 0; i < in->nch; i++) {
		int64_t from = in->ch[i].t_send - 5;
		int64_t to = i + 1 < in->nch ? in->ch[i + 1].t_ack + MODEL_SLACK_MS : INT64_MAX;
		if (in->ch[i].version == v && started >= from && started <= to)
			return;
	}
	int cur = -1;
	for (int i = 0; i < in->nch; i++)
		if (in->ch[i].t_ack <= started)
			cur = i;
	char msg[512];
	snprintf(msg, sizeof(msg),
		 "job %lld (%s, assembly %lld) attempt %d started at %lld on build %s, but build "
		 "%s was current since %lld (%lld ms before)",
		 (long long)j->id, types[j->type], (long long)in->id, attempt, (long long)started,
		 versions[v], cur >= 0 ? versions[in->ch[cur].version] : "(none)",
		 cur >= 0 ? (long long)in->ch[cur].t_ack : 0LL,
		 cur >= 0 ? (long long)(started - in->ch[cur].t_ack) : 0LL);
	mfail(m, "%s", msg);
}

static void check_runs(struct model *m, const struct mjob *j)
{
	long st;
	json_t *o = get_job(m, j->id, &st);
	if (st != 200)
		mfail(m, "job %lld: HTTP %ld", (long long)j->id, st);
	json_t *att = json_object_get(o, "attempts"), *a;
	size_t i;
	bool last_listed = false; /* the job's own run is also its last attempt */
	json_array_foreach(att, i, a)
	{
		last_listed |= h_parse_time(json_object_get(a, "started_on")) ==
			       h_parse_time(json_object_get(o, "started_on"));
		int v = traced_build(h_str(a, "trace"));
		int64_t started = h_parse_time(json_object_get(a, "started_on"));
		if (v != -1 && started > 0)
			check_run(m, j, started, v, (int)h_int(a, "attempt"));
	}
	int v = traced_build(h_str(o, "trace"));
	int64_t started = h_parse_time(json_object_get(o, "started_on"));
	if (v != -1 && started > 0 && !last_listed)
		check_run(m, j, started, v, (int)h_int(o, "attempt"));
	json_decref(o);
}

static void check_all(struct model *m, json_t *all, bool final)
{
	size_t i;
	json_t *o;
	int seen = 0;
	json_array_foreach(all, i, o)
	{
		int64_t id = h_int(o, "id");
		for (size_t k = 0; k < i; k++)
			if (h_int(json_array_get(all, k), "id") == id)
				mfail(m, "job %lld is listed twice", (long long)id);
		struct mjob *j = find_job(m, id);
		if (!j)
			mfail(m, "job %lld exists, the model never saw it acknowledged",
			      (long long)id);
		if (j->deleted)
			mfail(m, "job %lld was deleted and is back", (long long)id);
		seen++;
		int64_t state = h_int(o, "state"), status = h_int(o, "status");
		if (j->cancel_acked && status != 32 && status != 22)
			mfail(m, "job %lld was canceled (200) and is %lld/%lld", (long long)id,
			      (long long)state, (long long)status);
		if (final && state != 3)
			mfail(m,
			      "job %lld is %lld/%lld after every step and assembly was deleted "
			      "with mode=cancel",
			      (long long)id, (long long)state, (long long)status);
		const char *code = h_str(o, "error_code");
		if (code && (!strcmp(code, "plugin_missing") || !strcmp(code, "type_missing") ||
			     !strcmp(code, "plugin_load_failed")))
			mfail(m, "job %lld ended %s: its code disappeared under it (%s)",
			      (long long)id, code, h_str(o, "message"));
		if (h_int(o, "attempt") > 0)
			check_runs(m, j);
	}
	if (seen != live_jobs(m))
		for (int k = 0; k < m->njobs; k++) {
			bool listed = false;
			json_array_foreach(all, i, o) listed |= h_int(o, "id") == m->jobs[k].id;
			if (!m->jobs[k].deleted && !listed)
				mfail(m, "job %lld was acknowledged and is lost",
				      (long long)m->jobs[k].id);
		}
}

/* No busy loop: after the work settled, the store commits only a little across two dispatcher
 * passes (and at least IDLE_MIN_MS). */
static void check_idle(struct model *m, const char *when)
{
	json_t *svc = h_service(m->h, "async");
	int64_t p0 = h_int(svc, "dispatch_passes");
	json_decref(svc);
	long long c0 = h_metric(m->h, "asyncd_store_commits_total");
	int64_t t0 = h_mono_ms(), p = p0;
	while (h_mono_ms() < t0 + IDLE_MIN_MS || p < p0 + 2) {
		if (h_mono_ms() > t0 + IDLE_MAX_WAIT_MS)
			mfail(m, "the dispatcher made %lld passes in %d ms", (long long)(p - p0),
			      IDLE_MAX_WAIT_MS);
		h_sleep_ms(H_POLL_MS * 5);
		svc = h_service(m->h, "async");
		p = h_int(svc, "dispatch_passes");
		json_decref(svc);
	}
	long long n = h_metric(m->h, "asyncd_store_commits_total") - c0;
	int64_t dt = h_mono_ms() - t0;
	long long max = IDLE_BASE_COMMITS + IDLE_COMMITS_PER_S * dt / 1000;
	mlog(m, "idle %s: %lld commits in %lld ms", when, n, (long long)dt);
	if (n > max)
		mfail(m, "busy loop %s: %lld store commits in %lld ms of idle time (at most %lld)",
		      when, n, (long long)dt, max);
}

static void cleanup(struct model *m)
{
	char p[96];
	for (int i = 0; i < m->nsteps; i++) {
		struct mstep *s = &m->steps[i];
		if (s->deleted)
			continue;
		struct ans a;
		req(m, &a, "DELETE",
		    h_path(p, sizeof(p), "/api/v1/steps/%lld?mode=cancel", (long long)s->id), NULL);
		expect_status(m, &a, "final step delete", s->draining ? 2 : 1, 204, 404);
		step_gone(s, a.t_ack);
		ans_done(&a);
	}
	if (m->live >= 0) {
		struct ans a;
		req(m, &a, "DELETE",
		    h_path(p, sizeof(p), "/api/v1/assemblies/%lld?mode=cancel",
			   (long long)m->incs[m->live].id),
		    NULL);
		expect_status(m, &a, "final assembly delete", m->incs[m->live].draining ? 2 : 1,
			      204, 404);
		inc_gone(m, a.t_ack);
		ans_done(&a);
	}
	mlog(m, "deleted every step and the assembly with mode=cancel");
}

static const struct mstep *model_step(const struct model *m, int64_t id)
{
	for (int i = 0; i < m->nsteps; i++)
		if (m->steps[i].id == id)
			return &m->steps[i];
	return NULL;
}

static int filter_of(json_t *f)
{
	const char *first = json_string_value(json_array_get(f, 0));
	return !first ? 0 : !strcmp(first, "ms") ? 1 : 2;
}

static bool step_as_modelled(const struct model *m, const struct mstep *s, json_t *o)
{
	const char *ent = h_str(o, "entity"), *msg = h_str(o, "message");
	return json_is_true(json_object_get(o, "enabled")) == s->enabled && msg &&
	       !strcmp(msg, messages[s->msg]) &&
	       (s->entity < 0 ? ent == NULL : ent && !strcmp(ent, entities[s->entity])) &&
	       filter_of(json_object_get(o, "filtering_attributes")) == s->filter &&
	       h_int(o, "assembly_id") == m->incs[s->inc].id;
}

/* The steps and the assembly are what the model says: nothing changed silently. */
static void check_registry(struct model *m)
{
	json_t *list = h_get(m->h, "/api/v1/steps", 200), *o;
	size_t i;
	int listed = 0, want = 0;
	json_array_foreach(json_object_get(list, "steps"), i, o)
	{
		int64_t id = h_int(o, "id");
		const struct mstep *s = model_step(m, id);
		if (!s || s->deleted)
			mfail(m, "step %lld is listed, the model %s", (long long)id,
			      s ? "saw it deleted" : "never added it");
		if (!step_as_modelled(m, s, o))
			mfail(m, "step %lld is not as the model has it: %s", (long long)id,
			      json_dumps(o, JSON_COMPACT));
		listed++;
	}
	json_decref(list);
	for (int k = 0; k < m->nsteps; k++)
		want += !m->steps[k].deleted;
	if (listed != want) { /* only a drain that ended meanwhile may explain it */
		poll_drains(m);
		want = 0;
		for (int k = 0; k < m->nsteps; k++)
			want += !m->steps[k].deleted;
		if (listed != want)
			mfail(m, "%d steps are listed, the model has %d", listed, want);
	}
	if (m->live < 0)
		return;
	char p[64];
	const struct inc *in = &m->incs[m->live];
	json_t *a =
	    h_get(m->h, h_path(p, sizeof(p), "/api/v1/assemblies/%lld", (long long)in->id), 200);
	const char *v = h_str(a, "version"), *iso = h_str(a, "isolation");
	if (!v || strcmp(v, versions[in->version]) || !iso ||
	    strcmp(iso, in->sandbox ? "sandbox" : "none") ||
	    json_is_true(json_object_get(a, "draining")) != in->draining)
		mfail(m, "assembly %lld is not as the model has it (%s, %s%s): %s",
		      (long long)in->id, versions[in->version], in->sandbox ? "sandbox" : "none",
		      in->draining ? ", draining" : "", json_dumps(a, JSON_COMPACT));
	json_decref(a);
}

static void end_of_sequence(struct model *m)
{
	m->step = -1;
	ensure_running(m);
	json_t *all = settle(m);
	check_registry(m);
	check_all(m, all, false);
	json_decref(all);
	check_idle(m, "with the work settled");
	cleanup(m);
	all = settle(m);
	check_all(m, all, true);
	json_decref(all);
	check_idle(m, "after the cleanup");
}

/* ---- a sequence ---- */

static void setup_server(struct model *m)
{
	m->h = h_start();
	h_restart(m->h);
	h_set_settings(m->h, json_pack("{s:f,s:f,s:f,s:i}", "service.stop_timeout", 1.0,
				       "async.time_between_retries", 1.0, "async.select_interval",
				       0.5, "sandbox.workers", 2));
}

typedef void (*action_fn)(struct model *);
struct action {
	const char *name;
	int weight;
	action_fn fn;
};

static const struct action actions[] = {
    {"upload", 8, act_upload},
    {"isolation", 2, act_isolation},
    {"assembly-delete", 2, act_assembly_delete},
    {"step-add", 8, act_step_add},
    {"step-patch", 4, act_step_patch},
    {"step-delete", 5, act_step_delete},
    {"service", 4, act_service},
    {"restart", 1, act_restart},
    {"event", 17, act_event},
    {"ndjson", 4, act_bulk},
    {"burst", 3, act_burst},
    {"submit", 18, act_submit},
    {"job-action", 16, act_job_action},
    {"wait", 6, act_wait},
};
#define NACTIONS (sizeof(actions) / sizeof(actions[0]))

static void one_step(struct model *m)
{
	int total = 0;
	for (size_t i = 0; i < NACTIONS; i++)
		total += actions[i].weight;
	int r = rnd(m, total);
	size_t i = 0;
	while (r >= actions[i].weight)
		r -= actions[i++].weight;
	/* an empty server gets its assembly and steps sooner */
	if (m->live < 0 && chance(m, 40))
		i = 0;
	else if (m->live >= 0 && !steps_of_live(m) && chance(m, 30))
		i = 3;
	m->by_kind[i]++;
	m->actions++;
	actions[i].fn(m);
	check_cheap(m);
}

static void run_sequence(struct model *m, uint64_t seed, int steps)
{
	m->seed = m->rng = seed;
	steps = steps / 2 + rnd(m, steps + 1); /* from half to one and a half times as long */
	m->ninc = m->nsteps = m->njobs = m->nkeys = m->nlog = 0;
	m->live = -1;
	m->max_id = 0;
	m->step = 0;
	fprintf(stderr, "# model: sequence %d, seed %llu, %d steps\n", m->seq,
		(unsigned long long)seed, steps);
	setup_server(m);
	for (m->step = 1; m->step <= steps; m->step++)
		one_step(m);
	end_of_sequence(m);
	h_stop(m->h);
	h_free(m->h);
	m->h = NULL;
}

static void test_model(void **state)
{
	(void)state;
	struct model *m = calloc(1, sizeof(*m));
	assert_non_null(m);
	m->incs = calloc(MAX_INCS, sizeof(*m->incs));
	m->steps = calloc(MAX_STEPS, sizeof(*m->steps));
	m->jobs = calloc(MAX_JOBS, sizeof(*m->jobs));
	assert_true(m->incs && m->steps && m->jobs);
	g_model = m;
	uint64_t seed = (uint64_t)env_int("ASYNCD_MODEL_SEED", h_now_ms());
	int64_t seconds = env_int("ASYNCD_MODEL_SECONDS", 40);
	int steps = (int)env_int("ASYNCD_MODEL_STEPS", 60);
	m->verbose = env_int("ASYNCD_MODEL_VERBOSE", 0) != 0;
	fprintf(stderr,
		"# model: seed %llu, %lld s, %d steps a sequence (ASYNCD_MODEL_SEED=%llu "
		"replays it)\n",
		(unsigned long long)seed, (long long)seconds, steps, (unsigned long long)seed);
	int64_t end = h_mono_ms() + seconds * 1000;
	for (m->seq = 0; m->seq == 0 || h_mono_ms() < end; m->seq++)
		run_sequence(m, seed + (uint64_t)m->seq, steps);
	fprintf(stderr,
		"# model: %d sequences, %ld actions, %ld refusals, %ld runs checked, %ld known "
		"bugs seen; seed %llu\n",
		m->seq, m->actions, m->refusals, m->runs_checked, m->known_bugs,
		(unsigned long long)seed);
	for (size_t i = 0; i < NACTIONS; i++)
		fprintf(stderr, "#   %-16s %ld\n", actions[i].name, m->by_kind[i]);
	g_model = NULL;
	free(m->incs);
	free(m->steps);
	free(m->jobs);
	free(m);
}

/* A failure inside a harness helper (h_stop, h_service...) says which seed to replay. */
static int print_seed_on_failure(void **state)
{
	(void)state;
	if (g_model) {
		print_replay(g_model);
		h_free(g_model->h);
		g_model->h = NULL;
	}
	return 0;
}

/* Found by the model test: a job claimed again after a run showed Locked/Waiting For Resources
 * with the earlier run's started_on. Here: a sleep job paused during its run (so it has a
 * started_on), then resumed while another sleep job holds the only slot of its type
 * (async.throttling), so that it is claimed and waits. */
static void test_claimed_again_not_started(void **state)
{
	struct harness *h = *state;
	char p[80];
	h_register_samples(h);
	h_set_settings(h, json_pack("{s:s,s:f}", "async.throttling", "samples.sleep=1",
				    "service.stop_timeout", 0.5));
	int64_t x = h_submit(
	    h, json_pack("{s:s,s:{s:i}}", "plugin_type", "samples.sleep", "data", "ms", 60000));
	json_decref(h_wait_state(h, x, 2, H_WAIT_TIMEOUT_MS));
	json_t *j = h_job(h, x);
	for (int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS; h_int(j, "status") != 20;) {
		json_decref(j);
		if (h_mono_ms() > end)
			fail_msg("job %lld did not start", (long long)x);
		h_sleep_ms(H_POLL_MS);
		j = h_job(h, x);
	}
	json_decref(j);
	json_decref(h_call(h, "POST", h_path(p, sizeof(p), "/api/v1/jobs/%lld/pause", (long long)x),
			   NULL, 200));
	j = h_wait_state(h, x, 1, H_WAIT_TIMEOUT_MS);
	assert_false(json_is_null(json_object_get(j, "started_on"))); /* it ran */
	json_decref(j);
	int64_t y = h_submit(
	    h, json_pack("{s:s,s:{s:i}}", "plugin_type", "samples.sleep", "data", "ms", 60000));
	json_decref(h_wait_state(h, y, 2, H_WAIT_TIMEOUT_MS));
	json_decref(h_call(
	    h, "POST", h_path(p, sizeof(p), "/api/v1/jobs/%lld/resume", (long long)x), NULL, 200));
	j = h_wait_state(h, x, 2, H_WAIT_TIMEOUT_MS); /* claimed, held back by the throttle */
	assert_int_equal(h_int(j, "status"), 0);
	if (!json_is_null(json_object_get(j, "started_on")))
		fail_msg("job %lld is Locked/Waiting For Resources with started_on %s",
			 (long long)x, h_str(j, "started_on"));
	json_decref(j);
	h_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_claimed_again_not_started, h_setup, h_teardown),
	    cmocka_unit_test_teardown(test_model, print_seed_on_failure),
	};
	h_filter_from_env();
	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
