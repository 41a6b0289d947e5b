/* The integration-test harness (see harness.h): process control of the real asyncd and
 * asyncctl binaries, an HTTP client over libcurl, and polling helpers. It knows the API's
 * shape (SPEC §9) but no test's expectations beyond the status it is told to want. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "harness.h"
#include "testdb.h"

extern char **environ;

#define ANSWER_MAX ((size_t)256 << 20)
#define CTL_TIMEOUT_MS 60000
#define CTL_MAX_ARGS 64
#define PAGE_LIMIT 1000
#define MAX_PAGES 1000

struct h_client {
	CURL *curl;
	char url[256];
	char auth[300];
	char *buf; /* the last answer, NUL-terminated */
	size_t len, cap;
	char err[CURL_ERROR_SIZE];
	bool failed;	  /* the last request got no answer */
	char cacert[256]; /* verifies an https server; "": the system's CAs */
};

/* ---- clocks and small tools ---- */

int64_t h_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t h_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void h_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const char *h_time(char *buf, int64_t ms_from_now)
{
	int64_t ms = h_now_ms() + ms_from_now;
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	size_t n = strftime(buf, H_TIME_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, H_TIME_LEN - n, ".%03dZ", (int)(ms % 1000));
	return buf;
}

int64_t h_parse_time(json_t *v)
{
	struct tm tm = {0};
	int ms = 0, used = 0;
	const char *s = json_string_value(v);

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
		return -1;
	if (s[used] == '.' && sscanf(s + used + 1, "%3d", &ms) != 1)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

int64_t h_int(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v)) {
		char *text = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
		fprintf(stderr, "# no integer \"%s\" in %s\n", key, text ? text : "(null)");
		free(text);
		fail_msg("no integer member \"%s\"", key);
	}
	return (int64_t)json_integer_value(v);
}

const char *h_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

const char *h_path(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return buf;
}

char *h_read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rbe");
	char *s = NULL, chunk[65536];
	size_t len = 0, n;

	if (!f)
		return NULL;
	FILE *m = open_memstream(&s, &len);
	while (m && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	if (m)
		fclose(m);
	fclose(f);
	if (s && ret_len)
		*ret_len = len;
	return s;
}

static char *read_text(const char *path)
{
	return h_read_file(path, NULL);
}

static void dir_file(const struct harness *h, char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", h->dir, name);
}

/* ---- HTTP ---- */

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct h_client *c = arg;
	size_t n = size * nmemb;

	if (c->len + n + 1 > ANSWER_MAX)
		return 0;
	if (c->len + n + 1 > c->cap) {
		size_t cap = (c->len + n + 1) * 2;
		char *b = realloc(c->buf, cap);
		if (!b)
			return 0;
		c->buf = b;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, p, n);
	c->len += n;
	c->buf[c->len] = 0;
	return n;
}

struct h_client *h_client_new(const struct harness *h)
{
	struct h_client *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->curl = curl_easy_init();
	assert_non_null(c->curl);
	snprintf(c->url, sizeof(c->url), "%s", h->url);
	snprintf(c->cacert, sizeof(c->cacert), "%s", h->cacert);
	if (h->token[0])
		snprintf(c->auth, sizeof(c->auth), "Authorization: Bearer %s", h->token);
	return c;
}

void h_client_free(struct h_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	free(c->buf);
	free(c);
}

const char *h_client_last(const struct h_client *c)
{
	if (c->failed)
		return c->err;
	return c->buf ? c->buf : "";
}

static void set_common(struct h_client *c, const char *method, const char *path)
{
	char url[1024];

	snprintf(url, sizeof(url), "%s%s", c->url, path);
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->err);
	if (c->cacert[0])
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->cacert);
}

json_t *h_client_request(struct h_client *c, const char *method, const char *path,
			 const char *content_type, const void *body, size_t len, long *ret_status)
{
	struct curl_slist *hdr = NULL;
	char ctype[128];
	long status = 0;

	set_common(c, method, path);
	if (c->auth[0])
		hdr = curl_slist_append(hdr, c->auth);
	if (content_type) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", content_type);
		hdr = curl_slist_append(hdr, ctype);
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdr);
	if (body) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	c->len = 0;
	c->err[0] = 0;
	if (c->buf)
		c->buf[0] = 0;
	CURLcode rc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdr);
	c->failed = status == 0;
	if (c->failed && !c->err[0])
		snprintf(c->err, sizeof(c->err), "%s", curl_easy_strerror(rc));
	*ret_status = status;
	return c->len ? json_loadb(c->buf, c->len, 0, NULL) : NULL;
}

json_t *h_request(struct harness *h, const char *method, const char *path, const char *content_type,
		  const void *body, size_t len, long *ret_status)
{
	return h_client_request(h->client, method, path, content_type, body, len, ret_status);
}

json_t *h_call(struct harness *h, const char *method, const char *path, json_t *body, long want)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	long status;

	json_decref(body);
	json_t *answer = h_request(h, method, path, text ? "application/json" : NULL, text,
				   text ? strlen(text) : 0, &status);
	free(text);
	if (status != want) {
		fprintf(stderr, "# %s %s: HTTP %ld: %s\n", method, path, status,
			h_client_last(h->client));
		json_decref(answer);
		fail_msg("%s %s answered HTTP %ld instead of %ld", method, path, status, want);
	}
	return answer;
}

json_t *h_get(struct harness *h, const char *path, long want)
{
	return h_call(h, "GET", path, NULL, want);
}

const char *h_error_code(json_t *answer)
{
	json_t *err = json_object_get(answer, "error");
	const char *msg = h_str(err, "message");

	assert_non_null(err);
	assert_non_null(msg);
	assert_true(strlen(msg) > 0);
	return h_str(err, "code");
}

/* ---- the server process ---- */

static void spawn_actions(posix_spawn_file_actions_t *fa, const char *out, const char *err,
			  int mode)
{
	posix_spawn_file_actions_init(fa);
	posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(fa, 1, out, O_WRONLY | O_CREAT | mode, 0600);
	posix_spawn_file_actions_addopen(fa, 2, err, O_WRONLY | O_CREAT | mode, 0600);
}

static void spawn_server_args(struct harness *h, char **extra);

#define SETPRIV "/usr/bin/setpriv"
#define SETPRIV_ARGS 6

/* The start of asyncd's command line: setpriv and its arguments when it runs as h->run_uid
 * (ids must hold two buffers of 32 bytes); returns how many arguments it put in argv. */
static int setpriv_prefix(const struct harness *h, char **argv, char ids[2][32])
{
	if (!h->run_uid)
		return 0;
	snprintf(ids[0], 32, "--reuid=%u", (unsigned)h->run_uid);
	snprintf(ids[1], 32, "--regid=%u", (unsigned)h->run_uid);
	argv[0] = (char *)SETPRIV;
	argv[1] = ids[0];
	argv[2] = ids[1];
	argv[3] = (char *)"--clear-groups";
	argv[4] = (char *)"--";
	return 5;
}

static void spawn_server(struct harness *h)
{
	char *none[] = {NULL};
	spawn_server_args(h, none);
}

/* Reap pid if it has exited; true (and *ret_status) when it has. */
static bool reaped(pid_t pid, int *ret_status)
{
	int st;
	pid_t r = waitpid(pid, &st, WNOHANG);

	if (r == pid || (r < 0 && errno == ECHILD)) {
		*ret_status = r == pid ? st : -1;
		return true;
	}
	return false;
}

/* Wait until pid exits, at most timeout_ms; true (and *ret_status) when it did. */
static bool wait_exit(pid_t pid, int timeout_ms, int *ret_status)
{
	int64_t end = h_mono_ms() + timeout_ms;

	while (!reaped(pid, ret_status)) {
		if (h_mono_ms() > end)
			return false;
		h_sleep_ms(H_POLL_MS / 4);
	}
	return true;
}

static void server_died(struct harness *h, int st)
{
	h->pid = 0;
	h_dump_log(h, 40);
	fail_msg("asyncd exited while starting (wait status 0x%x)", st);
}

/* DIR/asyncd.url once it is complete (ends with a newline). */
static bool read_url(struct harness *h)
{
	char path[300];

	dir_file(h, path, sizeof(path), "asyncd.url");
	char *s = read_text(path);
	size_t n = s ? strlen(s) : 0;
	bool ok = n > 1 && n < sizeof(h->url) && s[n - 1] == '\n';
	if (ok) {
		s[n - 1] = 0;
		snprintf(h->url, sizeof(h->url), "%s", s);
	}
	free(s);
	return ok;
}

static void read_token(struct harness *h)
{
	char path[300];

	dir_file(h, path, sizeof(path), "admin.token");
	char *s = read_text(path);
	if (!s)
		fail_msg("no %s after asyncd started", path);
	s[strcspn(s, "\r\n")] = 0;
	snprintf(h->token, sizeof(h->token), "%s", s);
	free(s);
}

static bool healthy(struct harness *h)
{
	long status;

	json_decref(h_request(h, "GET", "/healthz", NULL, NULL, 0, &status));
	return status == 200;
}

static void wait_ready(struct harness *h)
{
	int64_t end = h_mono_ms() + H_START_TIMEOUT_MS;
	int st;

	while (!read_url(h)) {
		if (reaped(h->pid, &st))
			server_died(h, st);
		if (h_mono_ms() > end)
			fail_msg("asyncd wrote no %s/asyncd.url within %d ms", h->dir,
				 H_START_TIMEOUT_MS);
		h_sleep_ms(H_POLL_MS);
	}
	read_token(h);
	h_client_free(h->client);
	h->client = h_client_new(h);
	while (!healthy(h)) {
		if (reaped(h->pid, &st))
			server_died(h, st);
		if (h_mono_ms() > end)
			fail_msg("GET %s/healthz did not answer 200 within %d ms", h->url,
				 H_START_TIMEOUT_MS);
		h_sleep_ms(H_POLL_MS);
	}
}

static void launch(struct harness *h)
{
	char path[300];

	dir_file(h, path, sizeof(path), "asyncd.url");
	unlink(path);
	spawn_server(h);
	wait_ready(h);
}

static struct harness *new_harness(void)
{
	const char *build = getenv("ASYNCD_BUILD_DIR");

	if (!build)
		fail_msg("ASYNCD_BUILD_DIR is not set (run the tests with meson test)");
	struct harness *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(h->build, sizeof(h->build), "%s", build);
	snprintf(h->dir, sizeof(h->dir), "/tmp/asyncd-itest.XXXXXX");
	if (!mkdtemp(h->dir)) {
		free(h);
		fail_msg("mkdtemp: %s", strerror(errno));
	}
	return h;
}

struct harness *h_start(void)
{
	struct harness *h = new_harness();

	if (testdb_is_pg() && testdb_new("", h->store, sizeof(h->store)) < 0)
		fail_msg("cannot make a PostgreSQL database for the test (ASYNCD_TEST_PG_URL)");
	return h;
}

struct harness *h_start_peer(const struct harness *first)
{
	char from[300], to[300];
	size_t len;
	struct harness *h = new_harness();

	assert_true(first->store[0] != 0);
	snprintf(h->store, sizeof(h->store), "%s", first->store);
	h->peer = true;
	/* the administrator is the first host's: its bootstrap token works on every host */
	dir_file(first, from, sizeof(from), "admin.token");
	dir_file(h, to, sizeof(to), "admin.token");
	char *token = h_read_file(from, &len);
	int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, token, len), (ssize_t)len);
	close(fd);
	free(token);
	launch(h);
	return h;
}

void h_restart(struct harness *h)
{
	assert_int_equal(h->pid, 0);
	launch(h);
}

int64_t h_stop(struct harness *h)
{
	int64_t t0 = h_mono_ms();
	int st;

	assert_true(h->pid > 0);
	kill(h->pid, SIGTERM);
	if (!wait_exit(h->pid, H_STOP_TIMEOUT_MS, &st)) {
		h_dump_log(h, 40);
		fail_msg("asyncd did not exit within %d ms of SIGTERM", H_STOP_TIMEOUT_MS);
	}
	h->pid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		h_dump_log(h, 40);
		fail_msg("asyncd ended with wait status 0x%x after SIGTERM, not exit 0", st);
	}
	return h_mono_ms() - t0;
}

void h_kill(struct harness *h)
{
	int st;

	assert_true(h->pid > 0);
	kill(h->pid, SIGKILL);
	if (!wait_exit(h->pid, H_STOP_TIMEOUT_MS, &st))
		fail_msg("asyncd did not die of SIGKILL within %d ms", H_STOP_TIMEOUT_MS);
	h->pid = 0;
}

void h_dump_log(const struct harness *h, int lines)
{
	char path[300];

	dir_file(h, path, sizeof(path), "asyncd.log");
	char *s = read_text(path);
	if (!s)
		return;
	char *p = s + strlen(s);
	for (int n = 0; p > s && n <= lines; p--)
		if (p[-1] == '\n')
			n++;
	fprintf(stderr, "# --- the end of %s ---\n", path);
	for (char *line = strtok(p, "\n"); line; line = strtok(NULL, "\n"))
		fprintf(stderr, "# %s\n", line);
	free(s);
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* A server still running at the end means the test stopped early: show why, then end it. */
static void end_leftover(struct harness *h)
{
	int st;

	h_dump_log(h, 30);
	kill(h->pid, SIGTERM);
	if (!wait_exit(h->pid, H_STOP_TIMEOUT_MS, &st)) {
		kill(h->pid, SIGKILL);
		wait_exit(h->pid, H_STOP_TIMEOUT_MS, &st);
	}
	h->pid = 0;
}

void h_free(struct harness *h)
{
	if (!h)
		return;
	if (h->pid > 0)
		end_leftover(h);
	h_client_free(h->client);
	if (getenv("ASYNCD_TEST_KEEP"))
		fprintf(stderr, "# kept %s\n", h->dir);
	else if (h->dir[0])
		nftw(h->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	if (h->store[0] && !h->peer && !getenv("ASYNCD_TEST_KEEP"))
		testdb_drop(h->store);
	free(h);
}

void h_filter_from_env(void)
{
	const char *f = getenv("ASYNCD_TEST_FILTER");

	if (testdb_skip_without_server())
		exit(0);
	if (f && *f)
		cmocka_set_test_filter(f);
}

int h_setup(void **state)
{
	struct harness *h = h_start();

	*state = h;
	launch(h);
	return 0;
}

int h_setup_unprivileged(void **state)
{
	struct harness *h = h_start();

	*state = h;
	if (getuid() == 0) {
		h->run_uid = H_UNPRIVILEGED_UID;
		if (chown(h->dir, h->run_uid, h->run_uid) < 0)
			fail_msg("chown %s: %s", h->dir, strerror(errno));
	}
	launch(h);
	return 0;
}

int h_teardown(void **state)
{
	h_free(*state);
	*state = NULL;
	return 0;
}

/* ---- the API ---- */

json_t *h_upload_query(struct harness *h, const char *relpath, const char *query, long want)
{
	char path[1200], url[160];
	size_t len;
	long status;

	snprintf(path, sizeof(path), "%s/%s", h->build, relpath);
	snprintf(url, sizeof(url), "/api/v1/assemblies%s", query);
	char *bytes = h_read_file(path, &len);
	if (!bytes)
		fail_msg("cannot read %s", path);
	json_t *a = h_request(h, "POST", url, "application/octet-stream", bytes, len, &status);
	free(bytes);
	if (status != want)
		fail_msg("uploading %s%s: HTTP %ld instead of %ld: %s", relpath, query, status,
			 want, h_client_last(h->client));
	return a;
}

json_t *h_upload(struct harness *h, const char *relpath, const char *isolation, long want)
{
	char query[64];
	snprintf(query, sizeof(query), "?isolation=%s", isolation);
	return h_upload_query(h, relpath, query, want);
}

size_t h_register_samples(struct harness *h)
{
	json_t *a = h_upload(h, "plugins/samples/samples.so", "none", 201);
	size_t types = json_array_size(json_object_get(a, "types"));
	json_decref(a);
	return types;
}

int64_t h_add_step(struct harness *h, json_t *spec)
{
	json_t *a = h_call(h, "POST", "/api/v1/steps", spec, 201);
	int64_t id = h_int(a, "id");

	json_decref(a);
	return id;
}

int64_t h_add_simple_step(struct harness *h, const char *type, const char *message,
			  const char *entity)
{
	json_t *spec = json_pack("{s:s,s:s}", "plugin_type", type, "message", message);

	if (entity)
		json_object_set_new(spec, "entity", json_string(entity));
	return h_add_step(h, spec);
}

void h_set_settings(struct harness *h, json_t *values)
{
	json_decref(h_call(h, "PATCH", "/api/v1/settings", values, 200));
}

int64_t h_submit(struct harness *h, json_t *spec)
{
	json_t *a = h_call(h, "POST", "/api/v1/jobs", spec, 201);
	int64_t id = h_int(a, "id");

	json_decref(a);
	return id;
}

json_t *h_raise(struct harness *h, json_t *ev)
{
	json_t *a = h_call(h, "POST", "/api/v1/events", ev, 201);
	json_t *jobs = json_incref(json_object_get(a, "jobs"));

	json_decref(a);
	assert_true(json_is_array(jobs));
	return jobs;
}

json_t *h_job(struct harness *h, int64_t id)
{
	char path[64];

	return h_get(h, h_path(path, sizeof(path), "/api/v1/jobs/%lld", (long long)id), 200);
}

json_t *h_wait_state(struct harness *h, int64_t id, int state, int timeout_ms)
{
	int64_t end = h_mono_ms() + timeout_ms;

	for (;;) {
		json_t *j = h_job(h, id);
		int want = state == H_RUNNING ? 2 : state;
		if (h_int(j, "state") == want && (state != H_RUNNING || h_int(j, "status") != 0))
			return j;
		if (h_mono_ms() > end) {
			fprintf(stderr, "# job %lld: state %lld status %lld message %s\n",
				(long long)id, (long long)h_int(j, "state"),
				(long long)h_int(j, "status"), h_str(j, "message"));
			json_decref(j);
			fail_msg("job %lld did not reach state %d within %d ms", (long long)id,
				 state, timeout_ms);
		}
		json_decref(j);
		h_sleep_ms(H_POLL_MS);
	}
}

json_t *h_wait_running(struct harness *h, int64_t id, int timeout_ms)
{
	return h_wait_state(h, id, H_RUNNING, timeout_ms);
}

json_t *h_wait_job(struct harness *h, int64_t id, int timeout_ms)
{
	return h_wait_state(h, id, 3, timeout_ms);
}

static int64_t unfinished(json_t *stats)
{
	json_t *by = json_object_get(stats, "by_status");

	return h_int(stats, "total") - h_int(by, "30") - h_int(by, "31") - h_int(by, "32");
}

void h_wait_all(struct harness *h, int timeout_ms, json_t **ret_stats)
{
	int64_t end = h_mono_ms() + timeout_ms;

	for (;;) {
		json_t *s = h_get(h, "/api/v1/jobs/stats", 200);
		if (unfinished(s) == 0) {
			if (ret_stats)
				*ret_stats = s;
			else
				json_decref(s);
			return;
		}
		if (h_mono_ms() > end) {
			char *text = json_dumps(s, JSON_COMPACT);
			fprintf(stderr, "# stats: %s\n", text);
			free(text);
			json_decref(s);
			fail_msg("jobs still unfinished after %d ms", timeout_ms);
		}
		json_decref(s);
		h_sleep_ms(H_POLL_MS);
	}
}

int64_t h_count(struct harness *h, int status)
{
	json_t *s = h_get(h, "/api/v1/jobs/stats", 200);
	char key[16];
	int64_t n;

	snprintf(key, sizeof(key), "%d", status);
	n = status < 0 ? h_int(s, "total") : h_int(json_object_get(s, "by_status"), key);
	json_decref(s);
	return n;
}

int64_t h_count_all(struct harness *h, int status)
{
	int64_t n = h_count(h, status);
	json_t *a = h_get(h, "/api/v1/jobs?limit=1000", 200), *j;
	size_t i;
	json_array_foreach(json_object_get(a, "jobs"), i, j)
	{
		/* a claimed job that has not started is counted as In Progress */
		int64_t st =
		    h_int(j, "state") == 2 && h_int(j, "status") == 0 ? 20 : h_int(j, "status");
		if (h_is_maintenance_job(j) && (status < 0 || st == status))
			n++;
	}
	json_decref(a);
	return n;
}

/* The next_cursor of a page into buf ("" at the end). */
static void next_cursor(json_t *page, char *buf, size_t n)
{
	const char *c = h_str(page, "next_cursor");

	snprintf(buf, n, "%s", c ? c : "");
}

bool h_is_maintenance_job(json_t *job)
{
	const char *owner = h_str(job, "owner");
	return owner && !strcmp(owner, "system") && h_str(job, "recurrence_pattern");
}

json_t *h_all_jobs(struct harness *h)
{
	json_t *all = json_array();
	char path[128], cursor[32] = "";

	for (int page = 0; page < MAX_PAGES; page++) {
		h_path(path, sizeof(path), "/api/v1/jobs?limit=%d%s%s", PAGE_LIMIT,
		       cursor[0] ? "&cursor=" : "", cursor);
		json_t *a = h_get(h, path, 200), *j;
		size_t i;
		json_array_foreach(json_object_get(a, "jobs"), i, j)
		{
			if (!h_is_maintenance_job(j))
				json_array_append(all, j);
		}
		next_cursor(a, cursor, sizeof(cursor));
		json_decref(a);
		if (!cursor[0])
			return all;
	}
	fail_msg("more than %d pages of jobs", MAX_PAGES);
	return all;
}

/* ---- asyncctl ---- */

static void run_ctl(struct harness *h, struct h_cmd *ret, char **argv)
{
	char out[300], err[300];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st;

	dir_file(h, out, sizeof(out), "asyncctl.out");
	dir_file(h, err, sizeof(err), "asyncctl.err");
	spawn_actions(&fa, out, err, O_TRUNC);
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		fail_msg("cannot start %s: %s", argv[0], strerror(rc));
	if (!wait_exit(pid, CTL_TIMEOUT_MS, &st)) {
		kill(pid, SIGKILL);
		wait_exit(pid, CTL_TIMEOUT_MS, &st);
		fail_msg("asyncctl did not exit within %d ms", CTL_TIMEOUT_MS);
	}
	ret->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	ret->out = read_text(out);
	ret->err = read_text(err);
	assert_non_null(ret->out);
	assert_non_null(ret->err);
}

static void ctl_va(struct harness *h, struct h_cmd *ret, bool with_dir, va_list ap)
{
	char bin[1200];
	char *argv[CTL_MAX_ARGS + 4];
	int n = 0;
	const char *a;

	snprintf(bin, sizeof(bin), "%s/src/bin/asyncctl", h->build);
	argv[n++] = bin;
	if (with_dir) {
		argv[n++] = (char *)"--state-dir";
		argv[n++] = h->dir;
	}
	while ((a = va_arg(ap, const char *)) && n < CTL_MAX_ARGS)
		argv[n++] = (char *)a;
	argv[n] = NULL;
	memset(ret, 0, sizeof(*ret));
	run_ctl(h, ret, argv);
}

void h_ctl(struct harness *h, struct h_cmd *ret, ...)
{
	va_list ap;

	va_start(ap, ret);
	ctl_va(h, ret, true, ap);
	va_end(ap);
}

void h_ctl_bare(struct harness *h, struct h_cmd *ret, ...)
{
	va_list ap;

	va_start(ap, ret);
	ctl_va(h, ret, false, ap);
	va_end(ap);
}

void h_cmd_done(struct h_cmd *c)
{
	free(c->out);
	free(c->err);
	memset(c, 0, sizeof(*c));
}

/* ---- requests with other credentials, services, more servers ---- */

#define EXTRA_ARGS 16

struct h_client *h_client_token(const struct harness *h, const char *token)
{
	struct harness copy = *h;

	snprintf(copy.token, sizeof(copy.token), "%s", token ? token : "");
	return h_client_new(&copy);
}

static size_t to_stream(char *p, size_t size, size_t nmemb, void *arg)
{
	return fwrite(p, size, nmemb, arg) * size;
}

/* The header list of req (the caller frees it). */
static struct curl_slist *req_headers(const struct harness *h, const struct h_req *req)
{
	struct curl_slist *hdr = NULL;
	char auth[300];

	if (!req->no_token && h->token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", h->token);
		hdr = curl_slist_append(hdr, auth);
	}
	if (req->body)
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
	for (size_t i = 0; req->headers && req->headers[i]; i++)
		hdr = curl_slist_append(hdr, req->headers[i]);
	return hdr;
}

static void req_target(CURL *c, const struct harness *h, const struct h_req *req)
{
	char url[1024], sock[300];

	if (req->unix_socket) {
		dir_file(h, sock, sizeof(sock), "asyncd.sock");
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
		snprintf(url, sizeof(url), "http://localhost%s", req->path);
	} else {
		snprintf(url, sizeof(url), "%s%s", h->url, req->path);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
}

void h_request_ex(struct harness *h, const struct h_req *req, struct h_answer *ret)
{
	size_t blen = 0, hlen = 0;
	char err[CURL_ERROR_SIZE] = "";
	CURL *c = curl_easy_init();

	memset(ret, 0, sizeof(*ret));
	assert_non_null(c);
	FILE *body = open_memstream(&ret->text, &blen),
	     *head = open_memstream(&ret->headers, &hlen);
	assert_non_null(body);
	assert_non_null(head);
	struct curl_slist *hdr = req_headers(h, req);
	req_target(c, h, req);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_stream);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, to_stream);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, head);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	if (req->body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ret->status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	if (ret->status == 0)
		fprintf(body, "%s", err[0] ? err : curl_easy_strerror(rc));
	fclose(body);
	fclose(head);
	if (ret->status && blen)
		ret->json = json_loadb(ret->text, blen, 0, NULL);
}

void h_answer_done(struct h_answer *a)
{
	json_decref(a->json);
	free(a->text);
	free(a->headers);
	memset(a, 0, sizeof(*a));
}

int64_t h_add_user_token(struct harness *h, const char *name, const char *role,
			 const char *password, char *ret_token)
{
	json_t *user = json_pack("{s:s,s:[s]}", "name", name, "roles", role);

	if (password)
		json_object_set_new(user, "password", json_string(password));
	json_decref(h_call(h, "POST", "/api/v1/users", user, 201));
	json_t *a = h_call(h, "POST", "/api/v1/tokens", json_pack("{s:s}", "user", name), 201);
	const char *token = h_str(a, "token");
	assert_non_null(token);
	snprintf(ret_token, 128, "%s", token);
	int64_t id = h_int(a, "id");
	json_decref(a);
	return id;
}

json_t *h_service(struct harness *h, const char *name)
{
	json_t *a = h_get(h, "/api/v1/services", 200), *s, *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(a, "services"), i, s)
	{
		const char *n = h_str(s, "name");
		if (!found && n && !strcmp(n, name))
			found = json_incref(s);
	}
	json_decref(a);
	if (!found)
		fail_msg("GET /api/v1/services does not list %s", name);
	return found;
}

json_t *h_service_act(struct harness *h, const char *name, const char *action, long want)
{
	char path[256];

	h_path(path, sizeof(path), "/api/v1/hosts/local/services/%s/%s", name, action);
	return h_call(h, "POST", path, NULL, want);
}

json_t *h_wait_service(struct harness *h, const char *name, const char *status, int timeout_ms)
{
	int64_t end = h_mono_ms() + timeout_ms;

	for (;;) {
		json_t *s = h_service(h, name);
		const char *now = h_str(s, "status");
		if (now && !strcmp(now, status))
			return s;
		if (h_mono_ms() > end) {
			char *text = json_dumps(s, JSON_COMPACT);
			fprintf(stderr, "# service: %s\n", text);
			free(text);
			json_decref(s);
			fail_msg("service %s is not %s after %d ms", name, status, timeout_ms);
		}
		json_decref(s);
		h_sleep_ms(H_POLL_MS);
	}
}

json_t *h_register_file(struct harness *h, const char *relpath, long want)
{
	return h_upload(h, relpath, "none", want);
}

static void spawn_server_args(struct harness *h, char **extra)
{
	char bin[1200], worker[1200], log[300], ids[2][32];
	char *argv[SETPRIV_ARGS + 8 + EXTRA_ARGS + 2 + 1];
	posix_spawn_file_actions_t fa;
	int n = setpriv_prefix(h, argv, ids);

	snprintf(bin, sizeof(bin), "%s/src/bin/asyncd", h->build);
	snprintf(worker, sizeof(worker), "%s/src/bin/asyncd-worker", h->build);
	dir_file(h, log, sizeof(log), "asyncd.log");
	char *base[] = {bin, "--state-dir", h->dir, "--listen", "127.0.0.1:0", "--worker", worker};
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		argv[n++] = base[i];
	for (int i = 0; extra[i] && i < EXTRA_ARGS; i++)
		argv[n++] = extra[i];
	if (h->store[0]) {
		argv[n++] = (char *)"--store";
		argv[n++] = h->store;
	}
	argv[n] = NULL;
	spawn_actions(&fa, log, log, O_APPEND);
	int rc = posix_spawn(&h->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		h->pid = 0;
		fail_msg("cannot start %s: %s", argv[0], strerror(rc));
	}
	h->starts++;
}

void h_restart_args(struct harness *h, ...)
{
	char *extra[EXTRA_ARGS + 1], path[300];
	int n = 0;
	va_list ap;

	assert_int_equal(h->pid, 0);
	va_start(ap, h);
	for (char *a; n < EXTRA_ARGS && (a = va_arg(ap, char *));)
		extra[n++] = a;
	va_end(ap);
	extra[n] = NULL;
	dir_file(h, path, sizeof(path), "asyncd.url");
	unlink(path);
	spawn_server_args(h, extra);
	wait_ready(h);
}

/* ---- start-up refusals and deaths (issue 14) ---- */

#define ONCE_TIMEOUT_MS 10000

void h_asyncd_once(struct harness *h, struct h_cmd *ret)
{
	char bin[1200], worker[1200], out[300], err[300];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st;

	snprintf(bin, sizeof(bin), "%s/src/bin/asyncd", h->build);
	snprintf(worker, sizeof(worker), "%s/src/bin/asyncd-worker", h->build);
	char *argv[] = {bin,	    "--state-dir", h->dir, "--listen", "127.0.0.1:0",
			"--worker", worker,	   NULL,   NULL,       NULL};
	if (h->store[0]) {
		argv[7] = (char *)"--store";
		argv[8] = h->store;
	}
	snprintf(out, sizeof(out), "%s.once.out", h->dir);
	snprintf(err, sizeof(err), "%s.once.err", h->dir);
	memset(ret, 0, sizeof(*ret));
	spawn_actions(&fa, out, err, O_TRUNC);
	int rc = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		fail_msg("cannot start %s: %s", bin, strerror(rc));
	bool exited = wait_exit(pid, ONCE_TIMEOUT_MS, &st);
	if (!exited) {
		kill(pid, SIGTERM);
		wait_exit(pid, H_STOP_TIMEOUT_MS, &st);
	}
	ret->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	ret->out = read_text(out);
	ret->err = read_text(err);
	unlink(out);
	unlink(err);
	if (!exited)
		fail_msg(
		    "a second asyncd on %s kept running for %d ms instead of refusing to start",
		    h->dir, ONCE_TIMEOUT_MS);
	assert_non_null(ret->out);
	assert_non_null(ret->err);
}

int h_wait_death(struct harness *h, int timeout_ms)
{
	int st;

	assert_true(h->pid > 0);
	if (!wait_exit(h->pid, timeout_ms, &st)) {
		h_dump_log(h, 40);
		fail_msg("asyncd (pid %d) is still running after %d ms", (int)h->pid, timeout_ms);
	}
	h->pid = 0;
	return st;
}

void h_launch_only(struct harness *h)
{
	char path[300];

	assert_int_equal(h->pid, 0);
	dir_file(h, path, sizeof(path), "asyncd.url");
	unlink(path);
	spawn_server(h);
}

void h_expect_text(const char *text, const char *want, const char *what)
{
	if (!text || !strstr(text, want))
		fail_msg("%s: \"%s\" not in: %s", what, want, text ? text : "(null)");
}

void h_expect_no_text(const char *text, const char *unwanted, const char *what)
{
	if (text && strstr(text, unwanted))
		fail_msg("%s: \"%s\" found in: %s", what, unwanted, text);
}

long long h_metric(struct harness *h, const char *name)
{
	char key[512];
	long status;
	json_decref(h_request(h, "GET", "/metrics", NULL, NULL, 0, &status));
	snprintf(key, sizeof(key), "\n%s ", name);
	const char *at = status == 200 ? strstr(h_client_last(h->client), key) : NULL;
	if (!at)
		fail_msg("/metrics has no %s (HTTP %ld)", name, status);
	return atoll(at + strlen(key));
}
