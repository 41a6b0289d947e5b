/* GET /metrics: the Prometheus text format 0.0.4, every family with # HELP and # TYPE (the list
 * and the meaning of each is docs/metrics.md). It reads counters kept in memory where things
 * happen (common/metrics.h, api/httpstats.h, the engine, writer and services); the only store
 * reads are one index seek per plug-in type with Ready jobs, for the oldest one's age. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/connwatch.h"
#include "api/handlers.h"
#include "api/httpstats.h"
#include "api/router.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "exec/engine.h"
#include "exec/writer.h"
#include "host/services.h"
#include "job/job.h"
#include "store/store.h"

#ifndef ASYNCD_VERSION
#define ASYNCD_VERSION "unknown"
#endif

/* Why a sandbox worker was killed, by sandbox/sandbox_int.h enum sb_kill (0 is "alive"). */
static const char *const kill_reasons[METRICS_KILL_REASONS] = {
    NULL, "timeout", "memory", "unresponsive", "abort", "protocol", "stop", "crash"};
static const char *const outcome_names[METRICS_OUTCOMES] = {"succeeded", "failed", "retried",
							    "canceled"};

/* The families asked for with ?name=A,B (NULL: all), for the request this thread renders. */
static __thread const char *only;

static bool wanted(const char *name)
{
	size_t n = strlen(name);
	if (!only)
		return true;
	for (const char *p = only; *p; p += strcspn(p, ","), p += *p == ',')
		if (!strncmp(p, name, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/* HELP and TYPE of a family; false (and nothing written) when it was not asked for. */
static bool family(struct buf *b, const char *name, const char *type, const char *help)
{
	if (!wanted(name))
		return false;
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	return true;
}

/* A label value with \, " and newlines escaped, into out (cut to n). */
static const char *esc(const char *v, char *out, size_t n)
{
	size_t o = 0;
	for (; v && *v && o + 3 < n; v++) {
		if (*v == '\\' || *v == '"')
			out[o++] = '\\', out[o++] = *v;
		else if (*v == '\n')
			out[o++] = '\\', out[o++] = 'n';
		else
			out[o++] = *v;
	}
	out[o] = 0;
	return out;
}

static uint64_t hist_count(const struct metrics_hist *h)
{
	uint64_t n = 0;
	for (int i = 0; i <= METRICS_BUCKETS_MAX; i++)
		n += metrics_get(&h->n[i]);
	return n;
}

/* One histogram's series; labels is "" or 'k="v",' pairs ending with a comma. */
static void hist(struct buf *b, const char *name, const char *labels, const struct metrics_hist *h,
		 const struct metrics_buckets *bk)
{
	uint64_t cum = 0;
	for (int i = 0; i < bk->n; i++) {
		cum += metrics_get(&h->n[i]);
		buf_printf(b, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels,
			   (double)bk->le[i] * bk->scale, (unsigned long long)cum);
	}
	for (int i = bk->n; i <= METRICS_BUCKETS_MAX; i++)
		cum += metrics_get(&h->n[i]);
	size_t n = strlen(labels);
	buf_printf(b, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels, (unsigned long long)cum);
	if (n) /* the labels without their last comma, in braces */
		buf_printf(b, "%s_sum{%.*s} %.6f\n%s_count{%.*s} %llu\n", name, (int)n - 1, labels,
			   (double)metrics_get(&h->sum) * bk->scale, name, (int)n - 1, labels,
			   (unsigned long long)cum);
	else
		buf_printf(b, "%s_sum %.6f\n%s_count %llu\n", name,
			   (double)metrics_get(&h->sum) * bk->scale, name, (unsigned long long)cum);
}

static void counter(struct buf *b, const char *name, const char *help, unsigned long long v)
{
	if (family(b, name, "counter", help))
		buf_printf(b, "%s %llu\n", name, v);
}

static void gauge(struct buf *b, const char *name, const char *help, long long v)
{
	if (family(b, name, "gauge", help))
		buf_printf(b, "%s %lld\n", name, v);
}

/* The plug-in type indexes that have a series: those interned, and "_other" once used. */
static int types_end(void)
{
	return metrics_types_n();
}

static void build_info(struct buf *b, struct api_req *r)
{
	char host[256], store[32];
	const char *url = r->api->store_url ? r->api->store_url : "";
	size_t n = strcspn(url, ":");
	snprintf(store, sizeof(store), "%.*s", (int)(n < 31 ? n : 31), url);
	if (family(
		b, "asyncd_build_info", "gauge",
		"Always 1; the labels say which asyncd this is: version, store backend, host id."))
		buf_printf(b, "asyncd_build_info{version=\"%s\",store=\"%s\",host=\"%s\"} 1\n",
			   ASYNCD_VERSION, store, esc(r->api->host_id, host, sizeof(host)));
	gauge(b, "asyncd_uptime_seconds", "Seconds since this asyncd process started.",
	      (long long)((clock_now_ms() - r->api->started_on) / 1000));
	if (family(b, "asyncd_start_time_seconds", "gauge",
		   "When this asyncd process started, seconds since the Unix epoch."))
		buf_printf(b, "asyncd_start_time_seconds %.3f\n",
			   (double)r->api->started_on / 1000);
}

static int64_t jobs_of(int t, int slot)
{
	return metrics_gauge(&asyncd_metrics.jobs[t][slot]);
}

#define COUNTS_EVERY_MS 1000	/* a shared store's unfinished jobs are read at most this often */
#define FINISHED_EVERY_MS 30000 /* and its finished ones (an index of millions of rows) */

/* On a shared store (PostgreSQL) every host changes the table: its counts are read from it
 * (store_jobs_counts_refresh), at most once a second, and only when a scrape shows them. */
static void refresh_counts(struct api_req *r)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static int64_t counted_at = -1, finished_at = -1;
	if (!wanted("asyncd_jobs") && !wanted("asyncd_jobs_backlog") &&
	    !wanted("asyncd_jobs_oldest_ready_age_seconds"))
		return;
	if (!strncmp(r->api->store_url, "sqlite:", 7))
		return; /* the writer keeps them */
	pthread_mutex_lock(&lock);
	int64_t now = clock_mono_ms();
	if (counted_at < 0 || now - counted_at >= COUNTS_EVERY_MS) {
		bool finished = finished_at < 0 || now - finished_at >= FINISHED_EVERY_MS;
		struct store *s = api_reader(r);
		if (s && store_jobs_counts_refresh(s, finished) == 0) {
			counted_at = now;
			if (finished)
				finished_at = now;
		}
		if (s)
			api_reader_put(s);
	}
	pthread_mutex_unlock(&lock);
}

static void job_counts(struct buf *b)
{
	if (!__atomic_load_n(&asyncd_metrics.jobs_live, __ATOMIC_ACQUIRE) ||
	    !family(b, "asyncd_jobs", "gauge",
		    "Jobs in the store by state and status (SQLite: kept in memory from the "
		    "writer's commits; PostgreSQL: read from the table at most once a second, "
		    "finished ones every 30 s)."))
		return;
	for (int k = 0; k < METRICS_STATUSES; k++) {
		int64_t n = 0;
		for (int t = 0; t <= METRICS_TYPES_MAX; t++)
			n += jobs_of(t, k);
		int st = metrics_slot_status(k);
		buf_printf(b, "asyncd_jobs{state=\"%s\",status=\"%s\"} %lld\n",
			   job_state_name(job_status_state(st)), job_status_name(st), (long long)n);
	}
}

/* The oldest Ready job of each type, read at most once a second (scrapes more often than that,
 * like the benchmark's 2 ms polls, share it); a copy for the caller to free, NULL on failure. */
static struct ready_head *ready_heads(struct api_req *r, int want, size_t *ret_n)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct ready_head *cache;
	static size_t cached_n;
	static int64_t cached_at = -1, cached_want = -1;
	pthread_mutex_lock(&lock);
	int64_t now = clock_mono_ms();
	if (cached_at < 0 || now - cached_at >= 1000 || want != cached_want) {
		struct ready_head *v = NULL;
		size_t n = 0;
		struct store *s = api_reader(r);
		if (s && store_jobs_ready_heads(s, want, &v, &n) == 0) {
			free(cache);
			cache = v;
			cached_n = n;
			cached_at = now;
			cached_want = want;
		}
		if (s)
			api_reader_put(s);
	}
	struct ready_head *copy = cached_n ? malloc(cached_n * sizeof(*copy)) : NULL;
	if (copy)
		memcpy(copy, cache, cached_n * sizeof(*copy));
	*ret_n = copy ? cached_n : 0;
	pthread_mutex_unlock(&lock);
	return copy;
}

/* Backlog (Ready jobs) and the age of the first Ready job, per plug-in type. */
static void backlog(struct buf *b, struct api_req *r)
{
	char name[512];
	int end = types_end();
	int ready = metrics_status_slot(JOB_ST_WAITING_FOR_RESOURCES);
	if (!__atomic_load_n(&asyncd_metrics.jobs_live, __ATOMIC_ACQUIRE))
		return;
	if (family(b, "asyncd_jobs_backlog", "gauge",
		   "Ready jobs (waiting for a runner) per plug-in type.")) {
		for (int t = 0; t < end; t++)
			buf_printf(b, "asyncd_jobs_backlog{plugin_type=\"%s\"} %lld\n",
				   esc(metrics_type_name(t), name, sizeof(name)),
				   (long long)jobs_of(t, ready));
		buf_printf(b, "asyncd_jobs_backlog{plugin_type=\"_other\"} %lld\n",
			   (long long)jobs_of(METRICS_TYPE_OTHER, ready));
	}
	if (!family(
		b, "asyncd_jobs_oldest_ready_age_seconds", "gauge",
		"Seconds since the first-submitted Ready job of the plug-in type was created (0: "
		"none Ready; a lower bound behind more than 2000 Ready jobs of a priority; read at "
		"most once a second)."))
		return;
	int want = 0;
	for (int t = 0; t <= METRICS_TYPES_MAX; t++)
		want += jobs_of(t, ready) > 0;
	size_t n = 0;
	struct ready_head *heads = ready_heads(r, want, &n);
	int64_t now = clock_now_ms();
	for (int t = 0; t < end; t++) {
		int64_t created = 0;
		for (size_t i = 0; jobs_of(t, ready) > 0 && i < n; i++)
			if (!strcmp(heads[i].plugin_type, metrics_type_name(t)))
				created = heads[i].created_on;
		buf_printf(b, "asyncd_jobs_oldest_ready_age_seconds{plugin_type=\"%s\"} %.3f\n",
			   esc(metrics_type_name(t), name, sizeof(name)),
			   created && created < now ? (double)(now - created) / 1000 : 0.0);
	}
	free(heads);
}

static void engine_part(struct buf *b, struct api_req *r)
{
	struct engine_stats es = {0};
	if (r->api->engine)
		engine_stats(r->api->engine, &es);
	counter(b, "asyncd_jobs_processed_total",
		"Runs whose outcome was committed, since the process started.",
		metrics_get(&asyncd_metrics.processed));
	counter(b, "asyncd_jobs_claimed_total", "Jobs claimed to run, since the process started.",
		metrics_get(&asyncd_metrics.claimed));
	gauge(b, "asyncd_jobs_held", "Jobs claimed and waiting in memory for a runner.", es.held);
	gauge(b, "asyncd_jobs_running", "Jobs running now.", es.running);
	gauge(b, "asyncd_outcomes_pending",
	      "Runs that ended whose outcome is not committed yet (kept while the database cannot "
	      "be reached).",
	      es.outcomes_pending);
}

static void outcomes(struct buf *b)
{
	char name[512], code[512];
	if (!family(
		b, "asyncd_job_outcomes_total", "counter",
		"Runs by plug-in type, outcome (succeeded, failed, retried, canceled) and error "
		"code (none for a success)."))
		return;
	for (int t = 0; t <= METRICS_TYPES_MAX; t++)
		for (int o = 0; o < METRICS_OUTCOMES; o++)
			for (int c = 0; c <= METRICS_CODES_MAX; c++) {
				uint64_t v = metrics_get(&asyncd_metrics.outcomes[t][o][c]);
				if (!v)
					continue;
				buf_printf(b,
					   "asyncd_job_outcomes_total{plugin_type=\"%s\",outcome="
					   "\"%s\",error_code=\"%s\"} %llu\n",
					   esc(metrics_type_name(t), name, sizeof(name)),
					   outcome_names[o],
					   esc(metrics_code_name(c), code, sizeof(code)),
					   (unsigned long long)v);
			}
}

static void type_hists(struct buf *b, const char *metric, const char *help,
		       const struct metrics_hist *h)
{
	char name[512], labels[600];
	if (!family(b, metric, "histogram", help))
		return;
	for (int t = 0; t <= METRICS_TYPES_MAX; t++) {
		if (!hist_count(&h[t]))
			continue;
		snprintf(labels, sizeof(labels), "plugin_type=\"%s\",",
			 esc(metrics_type_name(t), name, sizeof(name)));
		hist(b, metric, labels, &h[t], &metrics_seconds);
	}
}

static void ingest_and_sandbox(struct buf *b)
{
	counter(b, "asyncd_events_received_total", "Events accepted by the API.",
		metrics_get(&asyncd_metrics.events));
	counter(b, "asyncd_event_jobs_created_total", "Jobs made from events accepted by the API.",
		metrics_get(&asyncd_metrics.event_jobs));
	gauge(b, "asyncd_sandbox_workers", "Sandbox worker processes alive.",
	      metrics_gauge(&asyncd_metrics.sb_alive));
	gauge(b, "asyncd_sandbox_workers_resident_memory_bytes",
	      "Resident memory of the sandbox workers together (sampled every second).",
	      metrics_gauge(&asyncd_metrics.sb_rss));
	counter(b, "asyncd_sandbox_workers_spawned_total", "Sandbox workers started.",
		metrics_get(&asyncd_metrics.sb_spawned));
	if (!family(b, "asyncd_sandbox_workers_killed_total", "counter",
		    "Sandbox workers that ended other than by a quit, by reason (crash: not killed "
		    "by asyncd)."))
		return;
	for (int i = 1; i < METRICS_KILL_REASONS; i++)
		buf_printf(b, "asyncd_sandbox_workers_killed_total{reason=\"%s\"} %llu\n",
			   kill_reasons[i],
			   (unsigned long long)metrics_get(&asyncd_metrics.sb_killed[i]));
}

static void writer_part(struct buf *b, struct api_req *r)
{
	unsigned long long groups = 0, ops = 0;
	writer_stats(r->api->w, &groups, &ops);
	counter(b, "asyncd_store_commits_total", "Transactions the writer committed.", groups);
	counter(b, "asyncd_store_writes_total", "Write operations committed (in those commits).",
		ops);
	counter(b, "asyncd_store_commit_failures_total",
		"Transactions lost to a failed begin or commit (disk full, I/O error).",
		metrics_get(&asyncd_metrics.commit_failures));
	if (family(b, "asyncd_store_commit_ops", "histogram",
		   "Write operations per committed transaction (the group commit's batch)."))
		hist(b, "asyncd_store_commit_ops", "", &asyncd_metrics.commit_batch,
		     &metrics_sizes);
	if (family(b, "asyncd_store_commit_duration_seconds", "histogram",
		   "Time of a committed transaction, begin to durable commit."))
		hist(b, "asyncd_store_commit_duration_seconds", "", &asyncd_metrics.commit_time,
		     &metrics_seconds);
}

static void route_label(int i, char *labels, size_t n)
{
	const char *method = "", *pattern = "unmatched";
	if (i < HTTPSTATS_UNMATCHED)
		router_describe(i, &method, &pattern);
	snprintf(labels, n, "method=\"%s\",route=\"%s\",", method, pattern);
}

static void http_part(struct buf *b)
{
	char labels[256];
	int n = router_count() < HTTPSTATS_ROUTES ? router_count() : HTTPSTATS_ROUTES;
	bool want = family(b, "asyncd_http_requests_total", "counter",
			   "HTTP requests answered, by method, route pattern and status class.");
	for (int i = 0; want && i <= HTTPSTATS_ROUTES; i++) {
		if (i >= n && i != HTTPSTATS_UNMATCHED)
			continue;
		route_label(i, labels, sizeof(labels));
		for (int k = 0; k < HTTPSTATS_CLASSES; k++) {
			uint64_t v = metrics_get(&httpstats.requests[i][k]);
			if (v)
				buf_printf(b, "asyncd_http_requests_total{%scode=\"%dxx\"} %llu\n",
					   labels, k + 1, (unsigned long long)v);
		}
	}
	want = family(b, "asyncd_http_request_duration_seconds", "histogram",
		      "Time from a request's headers to its answer, by method and route pattern.");
	for (int i = 0; want && i <= HTTPSTATS_ROUTES; i++) {
		if ((i >= n && i != HTTPSTATS_UNMATCHED) || !hist_count(&httpstats.latency[i]))
			continue;
		route_label(i, labels, sizeof(labels));
		hist(b, "asyncd_http_request_duration_seconds", labels, &httpstats.latency[i],
		     &metrics_seconds);
	}
	counter(b, "asyncd_http_connections_cut_total",
		"Connections closed for being idle or too slow (body or headers timeout).",
		connwatch_cut_total());
	counter(b, "asyncd_audit_dropped_total",
		"Audit records of refused requests dropped because too many were in flight.",
		api_audit_dropped());
}

static void services_part(struct buf *b, struct api_req *r)
{
	char host[256];
	struct host_services *hs = r->api->services;
	if (!family(b, "asyncd_service_status", "gauge",
		    "1 for the status each service of this host is in, 0 for the others.") ||
	    !hs)
		return;
	esc(r->api->host_id, host, sizeof(host));
	for (int i = 0; i < SVC_COUNT; i++) {
		enum svc_status now = service_status(&hs->svc[i]);
		for (int st = SVC_STOPPED; st <= SVC_CONTINUE_PENDING; st++)
			buf_printf(
			    b,
			    "asyncd_service_status{host=\"%s\",service=\"%s\",status=\"%s\"} "
			    "%d\n",
			    host, hs->svc[i].name, service_status_name(st), st == (int)now);
	}
}

int h_metrics(struct api_req *r)
{
	struct buf b;
	only = api_query(r, "name"); /* e.g. ?name=asyncd_jobs_processed_total: scripts' polls */
	buf_init(&b, 64u << 20);
	build_info(&b, r);
	refresh_counts(r);
	job_counts(&b);
	backlog(&b, r);
	engine_part(&b, r);
	outcomes(&b);
	type_hists(&b, "asyncd_job_run_seconds",
		   "Run time of jobs (start to outcome) by plug-in type.", asyncd_metrics.run);
	type_hists(&b, "asyncd_job_queue_wait_seconds",
		   "Time from a job's creation to the start of its first run, by plug-in type.",
		   asyncd_metrics.wait);
	ingest_and_sandbox(&b);
	writer_part(&b, r);
	http_part(&b);
	services_part(&b, r);
	only = NULL;
	r->status = 200;
	r->text = buf_steal(&b);
	r->text_type = "text/plain; version=0.0.4; charset=utf-8";
	return 0;
}
