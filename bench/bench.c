/* asyncd-bench: the benchmark driver (`make bench`, docs/performance.md). It starts the real asyncd
 * (durable defaults: SQLite WAL, synchronous=FULL) in private state directories on 127.0.0.1 and
 * measures bulk burn-down, single-event API throughput, event -> handler latency, the processing
 * rate as the table grows, and in-process vs sandboxed runs; then prints a table and writes CSV
 * and SVG. Sizes follow --scale (BENCH_SCALE). Every wait is bounded; every server is stopped. */
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_env.h"
#include "bench_hostile.h"
#include "bench_pg.h"
#include "bench_report.h"
#include "bench_stats.h"

#define BATCH_EVENTS 10000
#define API_CLIENTS_MAX 16
#define LATENCIES_MAX (1 << 18) /* ack latencies kept per client */
#define LATENCY_RATE 200	/* events/s */
#define GROWTH_START_TIMEOUT_S 600
#define GROWTH_REPEAT 5
#define SANDBOX_PILOT 1000
#define SANDBOX_BUDGET_S 60

struct opts {
	double scale;
	int64_t n; /* burn-down jobs */
	const char *only;
	const char *csv, *svg;
	struct env_paths paths;
	char on[40]; /* appended to the test names: "" on SQLite, " (PostgreSQL 3 hosts)" */
};

/* The report's name of a test: base, told apart from SQLite's on PostgreSQL. */
static const char *tname(const struct opts *o, const char *base, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", base, o->on);
	return buf;
}

static int64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t scaled(double scale, double base, int64_t min)
{
	int64_t v = (int64_t)llround(base * scale);
	return v < min ? min : v;
}

static bool selected(const struct opts *o, const char *test)
{
	if (!o->only || !*o->only)
		return true;
	size_t n = strlen(test);
	for (const char *p = o->only; (p = strstr(p, test)); p += n)
		if ((p == o->only || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
			return true;
	return false;
}

/* ---- burn-down ---- */

struct burn {
	double ingest, e2e,
	    drain; /* events/s, jobs/s, jobs/s (drain < 0: none left after ingest) */
	double commits, writes;
	double cpu_s;	 /* asyncd's user + system CPU time over the run */
	double db_cpu_s; /* PostgreSQL's backends for asyncd's connections (< 0: SQLite) */
	char split[128]; /* "; jobs per host: a / b / c" with more than one host, else "" */
};

/* The jobs each host has processed so far, as "; jobs per host: a / b / c" (one host: ""). */
static void host_split(struct env *e, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = 0;
	for (int i = 0; e->hosts > 1 && i < e->hosts && off < len; i++) {
		struct http *h = i ? &e->more_h[i - 1] : &e->h;
		off += (size_t)snprintf(
		    buf + off, len - off, "%s%.0f",
		    i ? " / " : "; jobs per host: ", http_metric(h, "asyncd_jobs_processed_total"));
	}
}

/* NDJSON bodies of n events "message entity", BATCH_EVENTS a body. */
static char **make_batches(const char *message, const char *entity, int64_t n, size_t *ret_k,
			   size_t **ret_len)
{
	size_t k = (size_t)((n + BATCH_EVENTS - 1) / BATCH_EVENTS);
	char **b = calloc(k, sizeof(*b));
	size_t *len = calloc(k, sizeof(*len));
	for (size_t i = 0; b && len && i < k; i++) {
		int64_t first = (int64_t)i * BATCH_EVENTS;
		int64_t m = n - first < BATCH_EVENTS ? n - first : BATCH_EVENTS;
		size_t cap = (size_t)m * 128, off = 0;
		if (!(b[i] = malloc(cap)))
			break;
		for (int64_t j = first; j < first + m; j++)
			off +=
			    (size_t)snprintf(b[i] + off, cap - off,
					     "{\"message\":\"%s\",\"entity\":\"%s\",\"entity_id\":"
					     "\"%" PRId64 "\",\"target\":{\"i\":%" PRId64 "}}\n",
					     message, entity, j, j);
		len[i] = off;
	}
	*ret_k = k;
	*ret_len = len;
	return b;
}

static void free_batches(char **b, size_t k, size_t *len)
{
	for (size_t i = 0; b && i < k; i++)
		free(b[i]);
	free(b);
	free(len);
}

static int post_batches(struct env *e, char **b, size_t k, const size_t *len, int64_t n)
{
	int64_t jobs = 0;
	for (size_t i = 0; i < k; i++) {
		if (!b[i])
			return -1;
		json_t *v = http_json(&e->h, "bulk events", "POST", "/api/v1/events", HTTP_NDJSON,
				      b[i], len[i], 201);
		if (!v)
			return -1;
		jobs += json_integer_value(json_object_get(v, "jobs"));
		json_decref(v);
	}
	if (jobs != n) {
		fprintf(stderr, "bench: %" PRId64 " events made %" PRId64 " jobs, not one each\n",
			n, jobs);
		return -1;
	}
	return 0;
}

/* n events of message/entity (each matching one no-op step) in bulk, then wait for all to end. */
static int burn_down(struct env *e, const char *message, const char *entity, int64_t n,
		     struct burn *ret)
{
	size_t k, *len;
	double base = env_metric(e, "asyncd_jobs_processed_total");
	double commits0 = env_metric(e, "asyncd_store_commits_total");
	double writes0 = env_metric(e, "asyncd_store_writes_total");
	double p1, p2;
	int64_t ok, unfinished;
	char **b = make_batches(message, entity, n, &k, &len);
	env_db_note(e);
	double cpu0 = env_cpu_s(e), db0 = env_db_cpu_s(e);
	double t0 = mono_s();
	int rc = b ? post_batches(e, b, k, len, n) : -1;
	double t1 = mono_s();
	free_batches(b, k, len);
	if (rc < 0 || base < 0)
		return -1;
	p1 = env_metric(e, "asyncd_jobs_processed_total") - base;
	double timeout = 60 + (double)n / 1000;
	if (env_wait_processed(e, base + (double)n, timeout, 2, &p2) < 0) {
		fprintf(stderr, "bench: only %.0f of %" PRId64 " jobs ended within %.0f s\n",
			p2 - base, n, timeout);
		return -1;
	}
	double t2 = mono_s();
	ret->cpu_s = env_cpu_s(e) - cpu0;
	host_split(e, ret->split, sizeof(ret->split));
	ret->db_cpu_s = db0 < 0 ? -1 : env_db_cpu_s(e) - db0;
	if (env_stats(e, 30, &ok, &unfinished) < 0)
		return -1;
	if (ok < n || unfinished) {
		fprintf(stderr,
			"bench: %" PRId64 " Succeeded and %" PRId64 " unfinished, wanted %" PRId64
			" Succeeded\n",
			ok, unfinished, n);
		return -1;
	}
	ret->ingest = (double)n / (t1 - t0);
	ret->e2e = (double)n / (t2 - t0);
	ret->drain = (double)n - p1 >= (double)n / 20 ? ((double)n - p1) / (t2 - t1) : -1;
	ret->commits = env_metric(e, "asyncd_store_commits_total") - commits0;
	ret->writes = env_metric(e, "asyncd_store_writes_total") - writes0;
	return 0;
}

static void test_burndown(const struct opts *o)
{
	struct env e;
	struct burn r;
	char name[64];
	const char *t = tname(o, "burn-down", name, sizeof(name));
	fprintf(stderr, "bench: %s of %" PRId64 " no-op jobs\n", t, o->n);
	if (env_up(&e, &o->paths, 0) < 0 || burn_down(&e, "Create", "account", o->n, &r) < 0) {
		report_na(t, "ingest (bulk NDJSON)", "events/s", "failed: see above");
		env_down(&e, &o->paths);
		return;
	}
	report_add(t, "ingest (bulk NDJSON)", r.ingest, "events/s", "N=%" PRId64 ", %d a request",
		   o->n, BATCH_EVENTS);
	report_add(t, "processed (ingest start to done)", r.e2e, "jobs/s", "N=%" PRId64 "%s", o->n,
		   r.split);
	if (r.drain > 0)
		report_add(t, "processed (drain after ingest)", r.drain, "jobs/s", NULL);
	else
		report_na(t, "processed (drain after ingest)", "jobs/s",
			  "almost all done during ingest");
	report_add(t, "asyncd CPU per job", r.cpu_s * 1e6 / (double)o->n, "us",
		   "user + system, all threads%s: steadier than the rates on a busy machine",
		   e.hosts > 1 ? " of all hosts" : "");
	if (r.db_cpu_s >= 0)
		report_add(t, "PostgreSQL CPU per job", r.db_cpu_s * 1e6 / (double)o->n, "us",
			   "the server processes of asyncd's %d connections (not WAL writer, "
			   "checkpointer)",
			   e.n_db_pids);
	report_add(t, "store writes per commit", r.writes / (r.commits > 0 ? r.commits : 1), "x",
		   "%.0f writes (requests, claims, outcomes) in %.0f commits", r.writes, r.commits);
	report_add(t, "asyncd RSS after", (double)server_mem_kb(&e.srv, "VmRSS") / 1024, "MiB",
		   "peak %.0f MiB%s", (double)server_mem_kb(&e.srv, "VmHWM") / 1024,
		   e.hosts > 1 ? " (host 1)" : "");
	env_down(&e, &o->paths);
}

/* ---- API: concurrent single-event clients ---- */

struct client {
	pthread_t thread;
	const char *url, *token;
	pthread_barrier_t *start;
	double duration;
	int idx;
	long ok, failed;
	double *lat; /* ack latency of each request, ms */
	size_t n_lat, cap_lat;
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct http h;
	char body[256];
	int ready = http_init(&h, c->url, c->token);
	pthread_barrier_wait(c->start);
	if (ready < 0)
		return NULL;
	double end = mono_s() + c->duration;
	for (long i = 0; mono_s() < end; i++) {
		int len = snprintf(body, sizeof(body),
				   "{\"message\":\"Create\",\"entity\":\"account\",\"entity_id\":"
				   "\"c%d-%ld\"}",
				   c->idx, i);
		double t = mono_s();
		if (http_request(&h, "POST", "/api/v1/events", HTTP_JSON, body, (size_t)len) == 0 &&
		    h.status == 201) {
			c->ok++;
			if (c->n_lat < c->cap_lat)
				c->lat[c->n_lat++] = (mono_s() - t) * 1000;
		} else {
			c->failed++;
		}
	}
	http_done(&h);
	return NULL;
}

static void api_round(const struct opts *o, struct env *e, int n_clients, double duration)
{
	struct client c[API_CLIENTS_MAX];
	pthread_barrier_t start;
	char metric[64];
	long ok = 0, failed = 0;
	size_t n_lat = 0;
	pthread_barrier_init(&start, NULL, (unsigned)n_clients + 1);
	memset(c, 0, sizeof(c));
	for (int i = 0; i < n_clients; i++) {
		c[i] = (struct client){.url = e->srv.url,
				       .token = e->srv.token,
				       .start = &start,
				       .duration = duration,
				       .idx = i,
				       .cap_lat = 1 << 20};
		c[i].lat = malloc(c[i].cap_lat * sizeof(double));
		pthread_create(&c[i].thread, NULL, client_main, &c[i]);
	}
	pthread_barrier_wait(&start);
	double t0 = mono_s();
	for (int i = 0; i < n_clients; i++)
		pthread_join(c[i].thread, NULL);
	double t1 = mono_s();
	for (int i = 0; i < n_clients; i++)
		n_lat += c[i].n_lat;
	double *all = malloc((n_lat ? n_lat : 1) * sizeof(double));
	n_lat = 0;
	for (int i = 0; i < n_clients; i++) {
		ok += c[i].ok;
		failed += c[i].failed;
		if (all && c[i].lat)
			memcpy(all + n_lat, c[i].lat, c[i].n_lat * sizeof(double));
		n_lat += all ? c[i].n_lat : 0;
		free(c[i].lat);
	}
	pthread_barrier_destroy(&start);
	qsort(all, n_lat, sizeof(double), cmp_double);
	snprintf(metric, sizeof(metric), "%d client%s: acknowledged", n_clients,
		 n_clients > 1 ? "s" : "");
	report_add("API single events", metric, (double)ok / (t1 - t0), "events/s",
		   "%.0f s, keep-alive%s", duration, failed ? ", SOME FAILED" : "");
	snprintf(metric, sizeof(metric), "%d client%s: ack p50", n_clients,
		 n_clients > 1 ? "s" : "");
	report_add("API single events", metric, pct(all, n_lat, 50), "ms", "durable commit");
	snprintf(metric, sizeof(metric), "%d client%s: ack p99", n_clients,
		 n_clients > 1 ? "s" : "");
	report_add("API single events", metric, pct(all, n_lat, 99), "ms", NULL);
	if (failed)
		fprintf(stderr, "bench: %ld single events were refused or failed\n", failed);
	free(all);
	(void)o;
}

static void test_api(const struct opts *o)
{
	struct env e;
	double duration = o->scale >= 1 ? 5 : 1;
	fprintf(stderr, "bench: API, 1 and %d clients, %.0f s each\n", API_CLIENTS_MAX, duration);
	if (env_up(&e, &o->paths, 0) < 0) {
		report_na("API single events", "acknowledged", "events/s", "failed: see above");
		env_down(&e, &o->paths);
		return;
	}
	api_round(o, &e, 1, duration);
	api_round(o, &e, API_CLIENTS_MAX, duration);
	env_down(&e, &o->paths);
}

/* ---- latency: event raised -> handler started ---- */

/* Send n "Stamp bench" events at LATENCY_RATE, each with its send time; ack latencies in ms. */
static int send_stamped(struct env *e, int n, double *ack, double *ret_rate)
{
	char body[256];
	struct timespec next;
	long step_ns = 1000000000L / LATENCY_RATE;
	clock_gettime(CLOCK_MONOTONIC, &next);
	double t0 = mono_s();
	for (int i = 0; i < n; i++) {
		next.tv_nsec += step_ns;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		double t = mono_s();
		int len =
		    snprintf(body, sizeof(body),
			     "{\"message\":\"Stamp\",\"entity\":\"bench\",\"entity_id\":\"%d\","
			     "\"target\":{\"sent\":%" PRId64 "}}",
			     i, real_ns());
		if (http_request(&e->h, "POST", "/api/v1/events", HTTP_JSON, body, (size_t)len) <
			0 ||
		    e->h.status != 201) {
			fprintf(stderr, "bench: latency event %d: %s %.200s\n", i, e->h.error,
				e->h.resp ? e->h.resp : "");
			return -1;
		}
		ack[i] = (mono_s() - t) * 1000;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	*ret_rate = n / (mono_s() - t0);
	return 0;
}

/* Page through the bench.stamp jobs; deltas (handler start - send) in ms into d. */
static int collect_stamps(struct env *e, double *d, int n, int *ret_n)
{
	char path[256];
	int got = 0;
	json_int_t cursor = 0;
	for (int page = 0; page < n / 1000 + 5; page++) {
		int len =
		    snprintf(path, sizeof(path), "/api/v1/jobs?plugin_type=bench.stamp&limit=1000");
		if (cursor)
			snprintf(path + len, sizeof(path) - (size_t)len, "&cursor=%lld",
				 (long long)cursor);
		json_t *v = http_json(&e->h, "listing jobs", "GET", path, HTTP_NONE, NULL, 0, 200);
		if (!v)
			return -1;
		size_t i;
		json_t *j;
		json_array_foreach(json_object_get(v, "jobs"), i, j)
		{
			json_t *sent = json_object_get(
			    json_object_get(json_object_get(j, "data"), "target"), "sent");
			json_t *t = json_object_get(json_object_get(j, "output"), "t");
			if (json_is_integer(sent) && json_is_integer(t) && got < n)
				d[got++] =
				    (double)(json_integer_value(t) - json_integer_value(sent)) /
				    1e6;
		}
		cursor = json_integer_value(json_object_get(v, "next_cursor"));
		json_decref(v);
		if (!cursor)
			break;
	}
	*ret_n = got;
	return 0;
}

static void test_latency(const struct opts *o)
{
	struct env e = {0};
	char name[64];
	const char *t = tname(o, "latency", name, sizeof(name));
	int n = (int)scaled(o->scale, 1000, 100);
	int got = 0;
	double rate = 0, seen;
	double *ack = calloc((size_t)n, sizeof(double)), *d = calloc((size_t)n, sizeof(double));
	fprintf(stderr, "bench: latency, %d events at %d/s\n", n, LATENCY_RATE);
	/* counted from what ran before (the maintenance jobs run at the start too) */
	double base = 0;
	if (!ack || !d || env_up(&e, &o->paths, 1) < 0 ||
	    (base = http_metric(&e.h, "asyncd_jobs_processed_total")) < 0 ||
	    send_stamped(&e, n, ack, &rate) < 0 ||
	    env_wait_processed(&e, base + n, 60, 5, &seen) < 0 ||
	    collect_stamps(&e, d, n, &got) < 0 || got != n) {
		fprintf(stderr, "bench: latency: %d of %d stamps read\n", got, n);
		report_na(t, "event -> handler start", "ms", "failed: see above");
		goto out;
	}
	qsort(d, (size_t)n, sizeof(double), cmp_double);
	qsort(ack, (size_t)n, sizeof(double), cmp_double);
	report_add(t, "event -> handler start p50", pct(d, (size_t)n, 50), "ms",
		   "%d events at %.0f/s", n, rate);
	report_add(t, "event -> handler start p90", pct(d, (size_t)n, 90), "ms", NULL);
	report_add(t, "event -> handler start p99", pct(d, (size_t)n, 99), "ms", "max %.2f ms",
		   d[n - 1]);
	report_add(t, "event ack (HTTP) p50", pct(ack, (size_t)n, 50), "ms", "durable commit");
	report_add(t, "event ack (HTTP) p99", pct(ack, (size_t)n, 99), "ms", NULL);
out:
	env_down(&e, &o->paths);
	free(ack);
	free(d);
}

/* ---- growth: the processing rate as the table grows ---- */

static int growth_fill(struct env *e, int64_t n, int completed, int quiet)
{
	double t0 = mono_s();
	if (!quiet)
		fprintf(stderr, "bench: growth: inserting %" PRId64 " %s rows\n", n,
			completed ? "Completed" : "Ready");
	int rc = env_populate(e, n, completed);
	if (rc == 0 && !quiet)
		fprintf(stderr, "bench: growth: %" PRId64 " rows in %.1f s\n", n, mono_s() - t0);
	return rc;
}

struct growth_run {
	double rate; /* jobs/s */
	long rss_kb, hwm_kb;
	double start_s; /* until /healthz answered */
};

/* Start the stopped server, let it process m of its Ready jobs (topped up to m first if fewer are
 * left), stop it; the rate comes from the jobs' own start and completion times. */
static int growth_once(struct env *e, int64_t m, struct growth_run *ret)
{
	int64_t ready, lo, n, span;
	double seen;
	if (env_ready(e, &ready, &lo) < 0 || (ready < m && growth_fill(e, m - ready, 0, 1) < 0) ||
	    (ready < m && env_ready(e, &ready, &lo) < 0))
		return -1;
	int64_t since = real_ns() / 1000000;
	double t0 = mono_s();
	if (env_restart(e, GROWTH_START_TIMEOUT_S) < 0)
		return -1;
	ret->start_s = mono_s() - t0;
	int rc = env_wait_processed(e, (double)m, 60 + (double)m / 1000, 5, &seen);
	ret->rss_kb = server_mem_kb(&e->srv, "VmRSS");
	ret->hwm_kb = server_mem_kb(&e->srv, "VmHWM");
	if (env_stop(e) < 0 || rc < 0 || env_done_window(e, lo, since, &n, &span) < 0) {
		fprintf(stderr, "bench: growth: %.0f of %" PRId64 " processed\n", seen, m);
		return -1;
	}
	ret->rate = span > 0 ? (double)n * 1000 / (double)span : 0;
	return 0;
}

/* GROWTH_REPEAT runs of growth_once; the median rate. */
static int growth_case(struct env *e, const char *t, const char *label, int64_t m)
{
	struct growth_run r[GROWTH_REPEAT];
	double rates[GROWTH_REPEAT];
	for (int i = 0; i < GROWTH_REPEAT; i++) {
		if (growth_once(e, m, &r[i]) < 0)
			return -1;
		rates[i] = r[i].rate;
	}
	qsort(rates, GROWTH_REPEAT, sizeof(double), cmp_double);
	report_add(t, label, rates[GROWTH_REPEAT / 2], "jobs/s",
		   "median of %d runs of %" PRId64 " jobs (%.0f..%.0f); start %.1f s",
		   GROWTH_REPEAT, m, rates[0], rates[GROWTH_REPEAT - 1],
		   r[GROWTH_REPEAT - 1].start_s);
	report_add(t, label, (double)r[GROWTH_REPEAT - 1].rss_kb / 1024, "MiB",
		   "RSS; peak %.0f MiB", (double)r[GROWTH_REPEAT - 1].hwm_kb / 1024);
	return 0;
}

/* 10000 -> "10k", 1000000 -> "1M"; other numbers as they are */
static const char *human(int64_t n, char *buf, size_t len)
{
	if (n >= 1000000 && n % 1000000 == 0)
		snprintf(buf, len, "%" PRId64 "M", n / 1000000);
	else if (n >= 1000 && n % 1000 == 0)
		snprintf(buf, len, "%" PRId64 "k", n / 1000);
	else
		snprintf(buf, len, "%" PRId64, n);
	return buf;
}

static void test_growth(const struct opts *o)
{
	struct env e;
	char small[64], big[64], done[128], name[64];
	const char *t = tname(o, "growth", name, sizeof(name));
	int64_t q_small = scaled(o->scale, 10000, 10000);
	int64_t q_big = scaled(o->scale, 1000000, 100000);
	int64_t n_done = scaled(o->scale, 10000000, 200000);
	char a[24], b[24], c[24];
	snprintf(small, sizeof(small), "%s queued", human(q_small, a, sizeof(a)));
	snprintf(big, sizeof(big), "%s queued", human(q_big, b, sizeof(b)));
	snprintf(done, sizeof(done), "~%s queued + %s completed", b, human(n_done, c, sizeof(c)));
	fprintf(stderr, "bench: growth: rate over %" PRId64 " jobs with %s, %s, %s\n", q_small,
		small, big, done);
	if (env_up(&e, &o->paths, 0) < 0 || env_stop(&e) < 0 ||
	    growth_case(&e, t, small, q_small) < 0)
		report_na(t, small, "jobs/s", "failed: see above");
	env_down(&e, &o->paths);
	if (env_up(&e, &o->paths, 0) < 0 || env_stop(&e) < 0 || growth_fill(&e, q_big, 0, 0) < 0 ||
	    growth_case(&e, t, big, q_small) < 0) {
		report_na(t, big, "jobs/s", "failed: see above");
		env_down(&e, &o->paths);
		return;
	}
	/* the same table (q_big - q_small still Ready) with n_done finished rows added */
	if (growth_fill(&e, n_done, 1, 0) < 0 || growth_case(&e, t, done, q_small) < 0)
		report_na(t, done, "jobs/s", "failed: see above");
	env_down(&e, &o->paths);
}

/* ---- metrics: the cost of one scrape of /metrics on a big table ---- */

#define SCRAPES 21

/* GET path n times; the times in ms go to t (sorted). 0 or -1. */
static int time_gets(struct env *e, const char *path, double *t, int n, size_t *ret_bytes)
{
	for (int i = 0; i < n; i++) {
		double t0 = mono_s();
		if (http_request(&e->h, "GET", path, HTTP_NONE, NULL, 0) < 0 ||
		    e->h.status != 200) {
			fprintf(stderr, "bench: metrics: GET %s failed (HTTP %ld)\n", path,
				e->h.status);
			return -1;
		}
		t[i] = (mono_s() - t0) * 1000;
		*ret_bytes = e->h.resp_len;
	}
	qsort(t, (size_t)n, sizeof(double), cmp_double);
	return 0;
}

/* q Ready + d Completed rows put straight into SQLite, asyncd started on them (its start-up
 * includes the count of the indexes that seeds the job gauges), the async service stopped so that
 * the rows stay as they are, then SCRAPES scrapes of /metrics timed; GET /api/v1/jobs/stats (a
 * count over the table) is timed too, for comparison. Not in the default run: name it. */
static void test_metrics(const struct opts *o)
{
	struct env e;
	char label[128], a[24], b[24];
	double t[SCRAPES], st[5];
	size_t bytes = 0, sbytes = 0;
	int64_t q = scaled(o->scale, 1000000, 10000), d = scaled(o->scale, 10000000, 100000);
	snprintf(label, sizeof(label), "%s queued + %s completed", human(q, a, sizeof(a)),
		 human(d, b, sizeof(b)));
	fprintf(stderr, "bench: metrics: /metrics with %s\n", label);
	if (env_up(&e, &o->paths, 0) < 0 || env_stop(&e) < 0 || growth_fill(&e, d, 1, 0) < 0 ||
	    growth_fill(&e, q, 0, 0) < 0) {
		report_na("metrics", label, "ms", "failed: see above");
		env_down(&e, &o->paths);
		return;
	}
	double t0 = mono_s();
	if (env_restart(&e, GROWTH_START_TIMEOUT_S) < 0 ||
	    http_request(&e.h, "POST", "/api/v1/hosts/local/services/async/stop", HTTP_NONE, NULL,
			 0) < 0) {
		report_na("metrics", label, "ms", "failed: see above");
		env_down(&e, &o->paths);
		return;
	}
	double start_s = mono_s() - t0;
	double backlog = http_metric(&e.h, "asyncd_jobs_backlog{plugin_type=\"samples.noop\"}");
	if (time_gets(&e, "/metrics", t, SCRAPES, &bytes) == 0 &&
	    time_gets(&e, "/api/v1/jobs/stats", st, 5, &sbytes) == 0) {
		report_add("metrics", label, pct(t, SCRAPES, 50), "ms",
			   "one scrape, p50 of %d (max %.2f ms), %zu bytes; backlog gauge %.0f",
			   SCRAPES, t[SCRAPES - 1], bytes, backlog);
		report_add("metrics", "start-up (includes the count of the indexes)", start_s, "s",
			   NULL);
		report_add("metrics", "GET /api/v1/jobs/stats (for comparison)", pct(st, 5, 50),
			   "ms", "a count over the table");
	} else {
		report_na("metrics", label, "ms", "failed: see above");
	}
	env_down(&e, &o->paths);
}

/* ---- isolation: in-process vs sandbox ---- */

/* Raise one "Sandbox bench" event and wait (bounded) for its job: 1 when it Succeeded, 0 when it
 * could not run in a sandbox (why in why), -1 on error. */
static int sandbox_probe(struct env *e, char *why, size_t len)
{
	const char *ev = "{\"message\":\"Sandbox\",\"entity\":\"bench\"}";
	char path[64];
	json_t *v = http_json(&e->h, "sandbox probe", "POST", "/api/v1/events", HTTP_JSON, ev,
			      strlen(ev), 201);
	json_int_t id = json_integer_value(
	    json_object_get(json_array_get(json_object_get(v, "jobs"), 0), "id"));
	json_decref(v);
	if (id <= 0)
		return -1;
	snprintf(path, sizeof(path), "/api/v1/jobs/%lld", (long long)id);
	for (double end = mono_s() + 15; mono_s() < end; usleep(20000)) {
		if (!(v = http_json(&e->h, "sandbox probe", "GET", path, HTTP_NONE, NULL, 0, 200)))
			return -1;
		json_int_t status = json_integer_value(json_object_get(v, "status"));
		const char *code = json_string_value(json_object_get(v, "error_code"));
		snprintf(why, len, "%s", code ? code : "");
		json_decref(v);
		if (status == 30)
			return 1;
		if (status >= 10 && status != 20)
			return 0;
	}
	snprintf(why, len, "the probe job did not end within 15 s");
	return 0;
}

/* A pilot burn-down of at most SANDBOX_PILOT jobs, then the full n unless that would take more
 * than SANDBOX_BUDGET_S at the pilot's rate; *ret_n gets the number measured. */
static int sandbox_burn(struct env *e, int64_t n, struct burn *ret, int64_t *ret_n)
{
	int64_t pilot = n < SANDBOX_PILOT ? n : SANDBOX_PILOT;
	if (burn_down(e, "Sandbox", "bench", pilot, ret) < 0)
		return -1;
	*ret_n = pilot;
	if (pilot == n || (double)n / ret->e2e > SANDBOX_BUDGET_S)
		return 0;
	*ret_n = n;
	return burn_down(e, "Sandbox", "bench", n, ret);
}

static void test_isolation(const struct opts *o)
{
	struct env e;
	struct burn r;
	int64_t id, step, n;
	char why[128] = "";
	const char *t = "isolation";
	double in_process = report_get("burn-down", "processed (drain after ingest)");
	fprintf(stderr, "bench: isolation: in-process vs sandbox\n");
	if (in_process > 0)
		report_add(t, "in-process no-op", in_process, "jobs/s", "= burn-down drain");
	if (env_up(&e, &o->paths, 0) < 0) {
		report_na(t, "sandboxed no-op", "jobs/s", "failed: see above");
		goto out;
	}
	int rc = env_register(&e, o->paths.stamp_sb, "sandbox", &id);
	if (rc == 0)
		rc = env_add_step(&e, "benchsb.noop", "Sandbox", "bench", &step);
	if (rc == 0)
		rc = sandbox_probe(&e, why, sizeof(why));
	if (rc == 1 && sandbox_burn(&e, o->n, &r, &n) == 0) {
		double rate = r.drain > 0 ? r.drain : r.e2e;
		report_add(t, "sandboxed no-op", rate, "jobs/s",
			   "N=%" PRId64 "%s; %.1f%% of in-process", n,
			   n < o->n ? " (a pilot: the full N would take too long)" : "",
			   in_process > 0 ? 100 * rate / in_process : 0);
	} else if (rc == 0 || rc > 0) {
		report_na(t, "sandboxed no-op", "jobs/s", "n/a (sandbox not built yet)");
		fprintf(stderr, "bench: isolation: the sandbox did not run the probe (%s)\n",
			rc > 0 ? "registration refused" : why);
	} else {
		report_na(t, "sandboxed no-op", "jobs/s", "failed: see above");
	}
out:
	env_down(&e, &o->paths);
}

/* ---- main ---- */

static void on_signal(int sig)
{
	server_kill_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: asyncd-bench [--scale X] [--n N] [--only LIST] [--csv FILE] [--svg FILE]\n"
	    "                    [--asyncd PATH] [--samples SO] [--stamp SO] [--stamp-sandbox SO]\n"
	    "                    [--tmpdir DIR] [--keep] [--store URL [--hosts K]]\n"
	    "  --scale X   sizes x X (default $BENCH_SCALE or 1); 0.01 is a quick run\n"
	    "  --n N       burn-down jobs (default 100000 x scale)\n"
	    "  --only LIST comma-separated: burndown,api,latency,growth,isolation,hostile,\n"
	    "              metrics (the cost of a scrape on 1M + 10M rows; only when named)\n"
	    "  --store URL asyncd on PostgreSQL: URL of a server with a superuser role\n"
	    "              (postgres://USER@HOST:PORT/DB); each test makes a fresh database on it\n"
	    "              and drops it; tests: burndown, latency, growth\n"
	    "  --hosts K   with --store: K asyncd hosts share the database (1..8, default 1);\n"
	    "              events go to host 1, the counts and CPU are summed over all\n"
	    "  paths default to the build tree around this executable\n");
}

/* dir/rel next to this executable */
static const char *beside_exe(const char *rel)
{
	char exe[PATH_MAX], *out;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return rel;
	exe[n] = 0;
	if (asprintf(&out, "%s/%s", dirname(exe), rel) < 0)
		return rel;
	return out; /* lives as long as the process */
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"scale", 1, NULL, 's'},   {"n", 1, NULL, 'n'},	{"only", 1, NULL, 'o'},
	    {"csv", 1, NULL, 'c'},     {"svg", 1, NULL, 'g'},	{"asyncd", 1, NULL, 'a'},
	    {"samples", 1, NULL, 'S'}, {"stamp", 1, NULL, 'T'}, {"stamp-sandbox", 1, NULL, 'X'},
	    {"tmpdir", 1, NULL, 'd'},  {"keep", 0, NULL, 'k'},	{"help", 0, NULL, 'h'},
	    {"store", 1, NULL, 'P'},   {"hosts", 1, NULL, 'K'}, {NULL, 0, NULL, 0},
	};
	const char *env = getenv("BENCH_SCALE");
	int c;
	o->scale = env && *env ? strtod(env, NULL) : 1.0;
	o->paths.asyncd = beside_exe("../src/bin/asyncd");
	o->paths.samples = beside_exe("../plugins/samples/samples.so");
	o->paths.stamp = beside_exe("stamp.so");
	o->paths.stamp_sb = beside_exe("stamp-sandbox.so");
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			o->scale = strtod(optarg, NULL);
			break;
		case 'n':
			o->n = strtoll(optarg, NULL, 10);
			break;
		case 'o':
			o->only = optarg;
			break;
		case 'c':
			o->csv = optarg;
			break;
		case 'g':
			o->svg = optarg;
			break;
		case 'a':
			o->paths.asyncd = optarg;
			break;
		case 'S':
			o->paths.samples = optarg;
			break;
		case 'T':
			o->paths.stamp = optarg;
			break;
		case 'X':
			o->paths.stamp_sb = optarg;
			break;
		case 'd':
			o->paths.tmpdir = optarg;
			break;
		case 'k':
			o->paths.keep = 1;
			break;
		case 'P':
			o->paths.pg_url = optarg;
			break;
		case 'K':
			o->paths.hosts = (int)strtol(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (!(o->scale > 0) || o->scale > 100 || optind != argc) {
		usage(stderr);
		return -1;
	}
	if (!o->paths.hosts)
		o->paths.hosts = 1;
	if (o->paths.hosts < 1 || o->paths.hosts > ENV_HOSTS_MAX ||
	    (o->paths.hosts > 1 && !o->paths.pg_url)) {
		fprintf(stderr,
			"asyncd-bench: --hosts takes 1 to %d, and more than 1 only with "
			"--store postgres://...\n",
			ENV_HOSTS_MAX);
		return -1;
	}
	if (o->paths.pg_url) {
		char probe[512];
		if (pg_db_url(o->paths.pg_url, "x", probe, sizeof(probe)) < 0) {
			fprintf(stderr, "asyncd-bench: --store %s: not a postgres:// URL\n",
				o->paths.pg_url);
			return -1;
		}
		snprintf(o->on, sizeof(o->on), " (PostgreSQL %d host%s)", o->paths.hosts,
			 o->paths.hosts > 1 ? "s" : "");
	}
	if (o->n <= 0)
		o->n = scaled(o->scale, 100000, 1000);
	return 0;
}

static double load_average(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "re");
	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

static void title(const struct opts *o, double load, char *buf, size_t len)
{
	char date[32], store[160] = "SQLite WAL synchronous=FULL";
	time_t now = time(NULL);
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M", localtime(&now));
	if (o->paths.pg_url) {
		char pg[128];
		pg_describe(o->paths.pg_url, pg, sizeof(pg));
		snprintf(store, sizeof(store), "%s, %d asyncd host%s", pg, o->paths.hosts,
			 o->paths.hosts > 1 ? "s" : "");
	}
	snprintf(buf, len,
		 "asyncd benchmark, %s: scale %g, %ld CPUs, %.1f GiB RAM, load %.2f at start, %s",
		 date, o->scale, sysconf(_SC_NPROCESSORS_ONLN),
		 (double)pages * (double)page / (1024.0 * 1024 * 1024), load, store);
}

static void test_hostile(const struct opts *o)
{
	bench_hostile(&o->paths, o->scale);
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	char head[512];
	static const struct {
		const char *name;
		void (*run)(const struct opts *o);
		bool pg; /* runs on PostgreSQL too (--store) */
	} tests[] = {
	    {"burndown", test_burndown, true},	  {"api", test_api, false},
	    {"latency", test_latency, true},	  {"growth", test_growth, true},
	    {"isolation", test_isolation, false}, {"hostile", test_hostile, false},
	    {"metrics", test_metrics, false},
	};
	if (parse_args(argc, argv, &o) < 0)
		return 2;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	atexit(server_kill_all);
	if (http_global_init() < 0)
		return 1;
	double load = load_average();
	if (load > 0.5)
		fprintf(
		    stderr,
		    "bench: warning: the machine is busy (load average %.2f): the figures will be "
		    "low and noisy\n",
		    load);
	double t0 = mono_s();
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		bool named = o.only && *o.only && selected(&o, tests[i].name);
		if (!selected(&o, tests[i].name) || (!strcmp(tests[i].name, "metrics") && !named))
			continue; /* metrics only when named: it fills 11M rows */
		if (o.paths.pg_url && !tests[i].pg) {
			if (named)
				report_na(tests[i].name, "-", "",
					  "n/a: SQLite only (not with --store)");
			continue;
		}
		tests[i].run(&o);
	}
	title(&o, load, head, sizeof(head));
	report_print(stdout, head);
	printf("\n(%.0f s)\n", mono_s() - t0);
	if (o.csv && report_csv(o.csv) < 0)
		fprintf(stderr, "bench: cannot write %s\n", o.csv);
	if (o.svg && report_svg(o.svg, head) < 0)
		fprintf(stderr, "bench: cannot write %s\n", o.svg);
	int failed = report_failures();
	report_free();
	curl_global_cleanup();
	return failed ? 1 : 0;
}
