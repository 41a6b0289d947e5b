/* Unit tests of the router (src/api/router.c) and authentication (src/api/auth.c).
 *
 * Without a server: route matching (parameters, 404 against 405, a trailing slash, the query
 * string, bounds), token hashing and the role names.
 *
 * With the real server (server_start on 127.0.0.1:0, a temporary store, the real writer and
 * reader pools) talked to with libcurl: roles are checked on the headers, so every route is
 * tried with every role it does not accept. The routes are read from router.c's own table
 * ($ASYNCD_SOURCE_DIR/src/api/router.c), so that a route added later is checked too: each must
 * answer 401 without a token and 403 naming the role it needs to every other role, before its
 * handler runs. Token revocation through DELETE /api/v1/tokens/ID takes effect at once (the token
 * cache is cleared). Handlers that need the engine or the services are never reached. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "api/api.h"
#include "api/auth.h"
#include "api/router.h"
#include "api/server.h"
#include "common/clock.h"
#include "common/error.h"
#include "exec/writer.h"
#include "store/store.h"

/* ---- matching, without a server ---- */

struct match_case {
	const char *method, *url;
	int outcome; /* 200: a route, 404, 405 */
	const char *p0, *p1, *p2;
};

static const struct match_case match_cases[] = {
    {"GET", "/healthz", 200, NULL, NULL, NULL},
    {"GET", "/api/v1/jobs", 200, NULL, NULL, NULL},
    {"GET", "/api/v1/jobs/", 200, NULL, NULL, NULL}, /* a trailing slash is ignored */
    {"GET", "/api/v1/jobs?state=0&limit=5", 200, NULL, NULL, NULL},
    {"GET", "/api/v1/jobs/stats", 200, NULL, NULL, NULL}, /* the literal before the "*" */
    {"GET", "/api/v1/jobs/42", 200, "42", NULL, NULL},
    {"GET", "/api/v1/jobs/42/", 200, "42", NULL, NULL},
    {"POST", "/api/v1/jobs/42/cancel", 200, "42", "cancel", NULL},
    {"POST", "/api/v1/hosts/local/services/async/stop?x=1", 200, "local", "async", "stop"},
    {"PATCH", "/api/v1/hosts/h1/services/sandbox", 200, "h1", "sandbox", NULL},
    {"DELETE", "/api/v1/jobs", 405, NULL, NULL, NULL}, /* the path exists with GET and POST */
    {"PUT", "/api/v1/jobs/42", 405, NULL, NULL, NULL},
    {"GET", "/api/v1/jobs/42/cancel", 405, NULL, NULL, NULL},
    {"POST", "/healthz", 405, NULL, NULL, NULL},
    {"GET", "/api/v1/nothing", 404, NULL, NULL, NULL},
    {"GET", "/api/v1/jobs/42/cancel/more", 404, NULL, NULL, NULL},
    {"POST", "/api/v1/jobs//cancel", 404, NULL, NULL, NULL}, /* an empty parameter */
    {"GET", "/api/v1/jobs//", 404, NULL, NULL, NULL},
    {"GET", "/api/v1", 404, NULL, NULL, NULL},
    {"GET", "", 404, NULL, NULL, NULL},
    {"GET", "/", 200, NULL, NULL, NULL}, /* the console's page */
    {"GET", "/console/app.js", 200, "app.js", NULL, NULL},
    {"GET", "/console", 404, NULL, NULL, NULL},
    {"GET", "/API/V1/JOBS", 404, NULL, NULL, NULL}, /* paths are case-sensitive */
};

static void test_match(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];
		struct api_req r = {.method = c->method, .url = c->url};
		bool known = true;
		const struct route *rt = router_match(&r, &known);
		int got = rt ? 200 : known ? 405 : 404;
		if (got != c->outcome)
			fail_msg("%s %s: %d, not %d", c->method, c->url, got, c->outcome);
		const char *want[] = {c->p0, c->p1, c->p2};
		for (int k = 0; rt && k < 3; k++) {
			if (!want[k])
				continue;
			if (!r.params[k] || strcmp(r.params[k], want[k]))
				fail_msg("%s %s: parameter %d is %s, not %s", c->method, c->url, k,
					 r.params[k] ? r.params[k] : "(none)", want[k]);
		}
	}
}

/* Bounds: a path longer than the matcher's buffer, and parameters that do not fit theirs, match
 * nothing (no overflow; the server answers 404). */
static void test_match_bounds(void **state)
{
	char url[2048], id[300];
	bool known;
	(void)state;
	memset(id, '7', sizeof(id) - 1);
	id[sizeof(id) - 1] = 0;
	snprintf(url, sizeof(url), "/api/v1/jobs/%s", id);
	struct api_req r = {.method = "GET", .url = url};
	assert_null(router_match(&r, &known)); /* 300 bytes: more than param_buf holds */
	snprintf(url, sizeof(url), "/api/v1/jobs/%.200s", id);
	r = (struct api_req){.method = "GET", .url = url};
	assert_non_null(router_match(&r, &known));
	assert_int_equal(strlen(r.params[0]), 200);
	memset(url, 'a', sizeof(url) - 1);
	url[0] = '/';
	url[sizeof(url) - 1] = 0;
	r = (struct api_req){.method = "GET", .url = url};
	assert_null(router_match(&r, &known));
	assert_false(known);
}

/* ---- tokens and roles, without a server ---- */

static void test_token_hash(void **state)
{
	char hash[65], token[72], again[65];
	(void)state;
	auth_hash_token("abc", hash); /* SHA-256 test vector (FIPS 180-2) */
	assert_string_equal(hash,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	auth_new_token(token, hash);
	assert_int_equal(strlen(token), 7 + 64);
	assert_memory_equal(token, "asyncd_", 7);
	assert_int_equal(strspn(token + 7, "0123456789abcdef"), 64);
	auth_hash_token(token, again);
	assert_string_equal(hash, again); /* what is stored is the hash of what is shown */
	char other[72], other_hash[65];
	auth_new_token(other, other_hash);
	assert_string_not_equal(token, other);
}

static void test_role_names(void **state)
{
	char buf[128];
	(void)state;
	assert_string_equal(auth_role_name(ROLE_SYSADMIN), "System Administrator");
	assert_string_equal(auth_role_name(ROLE_READER), "Reader");
	assert_string_equal(auth_role_name(3), "unknown");
	assert_int_equal(auth_role_bit("operator"), ROLE_OPERATOR);
	assert_int_equal(auth_role_bit("Submitter"), ROLE_SUBMITTER);
	assert_int_equal(auth_role_bit("root"), 0);
	assert_int_equal(auth_role_bit(NULL), 0);
	auth_roles_text(ROLE_SYSADMIN | ROLE_OPERATOR, buf, sizeof(buf));
	assert_string_equal(buf, "System Administrator or Operator");
	auth_roles_text(0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	auth_roles_text(ROLE_ANY, buf, 10); /* truncated, terminated */
	assert_int_equal(strlen(buf), 9);
}

/* ---- the live server ---- */

#define N_ROLES 4
static const unsigned role_bits[N_ROLES] = {ROLE_SYSADMIN, ROLE_OPERATOR, ROLE_SUBMITTER,
					    ROLE_READER};
static const char *const role_users[N_ROLES] = {"admin", "operator", "submitter", "reader"};

struct fixture {
	char dir[64];
	char url[128];
	struct writer *w;
	struct server *srv;
	struct api_ctx api;
	int port;
	char tokens[N_ROLES][72];
	int64_t token_ids[N_ROLES];
};

struct user_call {
	const char *name;
	unsigned roles;
	char token[72];
	int64_t token_id;
};

static int user_fn(struct store *s, void *arg)
{
	struct user_call *c = arg;
	char hash[65];
	struct user u = {.name = (char *)c->name, .roles = c->roles, .created_on = clock_now_ms()};
	int rc = store_user_insert(s, &u);
	if (rc < 0)
		return rc;
	auth_new_token(c->token, hash);
	struct token t = {
	    .user_id = u.id, .name = "unit", .hash = hash, .created_on = clock_now_ms()};
	rc = store_token_insert(s, &t);
	c->token_id = t.id;
	return rc;
}

static int server_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct store *s;
	char err[256];
	snprintf(f->dir, sizeof(f->dir), "/tmp/asyncd-router-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->url, sizeof(f->url), "sqlite:%s/asyncd.db", f->dir);
	if (store_open(f->url, &s) < 0 || store_migrate(s) < 0)
		return -1;
	store_close(s);
	if (writer_start(f->url, &f->w) < 0)
		return -1;
	for (int i = 0; i < N_ROLES; i++) {
		struct user_call c = {.name = role_users[i], .roles = role_bits[i]};
		if (writer_call(f->w, user_fn, &c) < 0)
			return -1;
		memcpy(f->tokens[i], c.token, sizeof(c.token));
		f->token_ids[i] = c.token_id;
	}
	f->api = (struct api_ctx){.w = f->w,
				  .store_url = f->url,
				  .state_dir = f->dir,
				  .host_id = "unit-host",
				  .started_on = clock_now_ms()};
	struct server_limits lim = {.io_threads = 2, .workers = 4};
	if (api_readers_init(f->url, 2, 2) < 0 ||
	    server_start(&f->api, "127.0.0.1:0", &lim, &f->srv, &f->port, err, sizeof(err)) < 0) {
		fprintf(stderr, "cannot start the server: %s\n", err);
		return -1;
	}
	auth_forget_tokens();
	*state = f;
	return 0;
}

static int server_teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	server_stop(f->srv);
	api_readers_done();
	writer_stop(f->w);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

struct answer {
	long status;
	char body[8192];
	size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t k = size * n;
	size_t room = sizeof(a->body) - 1 - a->len;
	memcpy(a->body + a->len, p, k < room ? k : room);
	a->len += k < room ? k : room;
	a->body[a->len] = 0;
	return k;
}

/* One request; token NULL: none. */
static struct answer request(struct fixture *f, const char *method, const char *path,
			     const char *token)
{
	struct answer a = {0};
	char url[1200], auth[128];
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	assert_non_null(c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", f->port, path);
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (strcmp(method, "GET") && strcmp(method, "DELETE")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 2L);
	}
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return a;
}

/* One line of router.c's table. */
struct table_route {
	char method[8];
	char path[256]; /* the pattern with each "*" replaced by "1" */
	unsigned roles; /* 0: open */
};

static unsigned roles_of(const char *word)
{
	if (!strcmp(word, "ADMIN"))
		return ROLE_SYSADMIN;
	if (!strcmp(word, "OPS"))
		return ROLE_SYSADMIN | ROLE_OPERATOR;
	if (!strcmp(word, "SUBMIT"))
		return ROLE_SYSADMIN | ROLE_SUBMITTER;
	if (!strcmp(word, "READ"))
		return ROLE_SYSADMIN | ROLE_OPERATOR | ROLE_READER;
	if (!strcmp(word, "OWN") || !strcmp(word, "ROLE_ANY"))
		return ROLE_ANY;
	if (!strcmp(word, "0"))
		return 0;
	fail_msg("router.c: unknown roles %s", word);
	return 0;
}

/* The route table as router.c writes it: {"METHOD", "/pattern", ROLES, ...}. */
static size_t read_routes(struct table_route *out, size_t max)
{
	char path[4096], line[512];
	const char *src = getenv("ASYNCD_SOURCE_DIR");
	snprintf(path, sizeof(path), "%s/src/api/router.c", src ? src : ".");
	FILE *fp = fopen(path, "r");
	if (!fp)
		fail_msg("cannot read %s (set ASYNCD_SOURCE_DIR)", path);
	size_t n = 0;
	bool in_table = false;
	while (fgets(line, sizeof(line), fp)) {
		if (strstr(line, "static const struct route routes[]"))
			in_table = true;
		else if (in_table && !strncmp(line, "};", 2))
			break;
		char m[8], pat[256], roles[16];
		if (!in_table ||
		    sscanf(line, " {\"%7[A-Z]\", \"%255[^\"]\", %15[A-Z0-9_]", m, pat, roles) != 3)
			continue;
		assert_true(n < max);
		snprintf(out[n].method, sizeof(out[n].method), "%s", m);
		size_t k = 0;
		for (const char *p = pat; *p && k + 2 < sizeof(out[n].path); p++)
			out[n].path[k++] = *p == '*' ? '1' : *p;
		out[n].path[k] = 0;
		out[n].roles = roles_of(roles);
		n++;
	}
	fclose(fp);
	return n;
}

/* Every route of the table, read from router.c: it is matched by router_match (the test reads
 * the table right); without a token, one that needs a role answers 401; every role it does not
 * accept gets 403 naming the roles it needs, before the handler runs. */
static void test_every_route_refuses_other_roles(void **state)
{
	struct fixture *f = *state;
	struct table_route rt[128];
	size_t n = read_routes(rt, 128);
	int refusals = 0, admin_only = 0;
	assert_true(n >= 30);
	for (size_t i = 0; i < n; i++) {
		struct api_req r = {.method = rt[i].method, .url = rt[i].path};
		bool known;
		if (!router_match(&r, &known))
			fail_msg("%s %s, from router.c's table, matches no route", rt[i].method,
				 rt[i].path);
		if (!rt[i].roles)
			continue;
		admin_only += rt[i].roles == ROLE_SYSADMIN;
		struct answer a = request(f, rt[i].method, rt[i].path, NULL);
		if (a.status != 401)
			fail_msg("%s %s without a token: %ld, not 401: %s", rt[i].method,
				 rt[i].path, a.status, a.body);
		for (int k = 0; k < N_ROLES; k++) {
			if (rt[i].roles & role_bits[k])
				continue;
			a = request(f, rt[i].method, rt[i].path, f->tokens[k]);
			if (a.status != 403 || !strstr(a.body, "needs the role") ||
			    !strstr(a.body, "System Administrator") ||
			    !strstr(a.body, role_users[k]))
				fail_msg("%s %s as %s: %ld, not 403 naming the role: %s",
					 rt[i].method, rt[i].path, auth_role_name(role_bits[k]),
					 a.status, a.body);
			refusals++;
		}
	}
	assert_true(admin_only >= 15); /* the table was read: services, settings, users... */
	assert_true(refusals >= admin_only * 3);
}

/* The server's answers for unknown paths and methods, and a route open to every role. */
static void test_statuses_and_whoami(void **state)
{
	struct fixture *f = *state;
	struct answer a = request(f, "GET", "/api/v1/nothing", f->tokens[0]);
	assert_int_equal(a.status, 404);
	a = request(f, "DELETE", "/api/v1/jobs", f->tokens[0]);
	assert_int_equal(a.status, 405);
	assert_non_null(strstr(a.body, "method_not_allowed"));
	a = request(f, "GET", "/healthz", NULL);
	assert_int_equal(a.status, 200);
	for (int k = 0; k < N_ROLES; k++) {
		a = request(f, "GET", "/api/v1/whoami/", f->tokens[k]);
		assert_int_equal(a.status, 200);
		json_t *o = json_loads(a.body, 0, NULL);
		assert_non_null(o);
		assert_string_equal(json_string_value(json_object_get(o, "name")), role_users[k]);
		json_t *roles = json_object_get(o, "roles");
		assert_int_equal(json_array_size(roles), 1);
		assert_string_equal(json_string_value(json_array_get(roles, 0)),
				    auth_role_name(role_bits[k]));
		json_decref(o);
	}
	a = request(f, "GET", "/api/v1/whoami", "asyncd_0000");
	assert_int_equal(a.status, 401);
}

/* A token that was just used (so it is in the cache) is refused at once after its revocation. */
static void test_revoked_token_refused_at_once(void **state)
{
	struct fixture *f = *state;
	char path[64];
	struct answer a = request(f, "GET", "/api/v1/whoami", f->tokens[3]);
	assert_int_equal(a.status, 200);
	a = request(f, "GET", "/api/v1/whoami", f->tokens[3]); /* served from the cache */
	assert_int_equal(a.status, 200);
	snprintf(path, sizeof(path), "/api/v1/tokens/%lld", (long long)f->token_ids[3]);
	a = request(f, "DELETE", path, f->tokens[0]);
	assert_int_equal(a.status, 204);
	a = request(f, "GET", "/api/v1/whoami", f->tokens[3]);
	assert_int_equal(a.status, 401);
	a = request(f, "GET", "/api/v1/whoami", f->tokens[2]); /* the others still work */
	assert_int_equal(a.status, 200);
	a = request(f, "DELETE", path, f->tokens[0]); /* once */
	assert_int_equal(a.status, 404);
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	return fwrite(p, size, n, arg);
}

/* One GET with a request header; the answer's headers go to hdrs. */
static long get_with_headers(struct fixture *f, const char *path, const char *header, char *hdrs,
			     size_t n, struct answer *a)
{
	char url[1200];
	FILE *hf = fmemopen(hdrs, n, "w");
	struct curl_slist *h = header ? curl_slist_append(NULL, header) : NULL;
	CURL *c = curl_easy_init();
	assert_non_null(c);
	assert_non_null(hf);
	memset(hdrs, 0, n);
	*a = (struct answer){0};
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", f->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, hf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (curl_easy_perform(c) != CURLE_OK)
		fail_msg("GET %s failed", path);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
	fclose(hf);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return a->status;
}

static void expect_header(const char *hdrs, const char *want)
{
	if (!strcasestr(hdrs, want))
		fail_msg("no '%s' among the headers:\n%s", want, hdrs);
}

/* The console (issue 12): its page at / and its files at /console/NAME, embedded at build time,
 * open without a token, with their Content-Type, a strict Content-Security-Policy (no inline
 * script or style, nothing from elsewhere), nosniff, and an ETag that a revalidation matches (304).
 * Chart.js is among them; an unknown file is 404. */
static void test_console_files(void **state)
{
	struct fixture *f = *state;
	struct answer a;
	char hdrs[4096], etag[80] = "", inm[128];
	assert_int_equal(get_with_headers(f, "/", NULL, hdrs, sizeof(hdrs), &a), 200);
	assert_non_null(strstr(a.body, "<!DOCTYPE html>"));
	expect_header(hdrs, "Content-Type: text/html; charset=utf-8");
	expect_header(hdrs, "Content-Security-Policy: default-src 'self'; script-src 'self'; "
			    "style-src 'self';");
	expect_header(hdrs, "frame-ancestors 'none'");
	expect_header(hdrs, "X-Content-Type-Options: nosniff");
	expect_header(hdrs, "Cache-Control: no-cache");
	assert_null(strcasestr(hdrs, "unsafe-inline"));
	const char *e = strcasestr(hdrs, "ETag: ");
	assert_non_null(e);
	sscanf(e + 6, "%79[^\r\n]", etag);
	snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
	assert_int_equal(get_with_headers(f, "/", inm, hdrs, sizeof(hdrs), &a), 304);
	assert_int_equal(a.len, 0);
	assert_int_equal(get_with_headers(f, "/", "If-None-Match: \"0\"", hdrs, sizeof(hdrs), &a),
			 200);
	assert_int_equal(get_with_headers(f, "/console/app.js", NULL, hdrs, sizeof(hdrs), &a), 200);
	expect_header(hdrs, "Content-Type: text/javascript");
	expect_header(hdrs, "Content-Security-Policy: default-src 'self'");
	assert_int_equal(get_with_headers(f, "/console/console.css", NULL, hdrs, sizeof(hdrs), &a),
			 200);
	expect_header(hdrs, "Content-Type: text/css");
	assert_int_equal(get_with_headers(f, "/console/chart.min.js", NULL, hdrs, sizeof(hdrs), &a),
			 200);
	assert_non_null(strstr(a.body, "Chart.js v"));
	assert_int_equal(get_with_headers(f, "/console/nothing.js", NULL, hdrs, sizeof(hdrs), &a),
			 404);
	assert_non_null(strstr(a.body, "no file named nothing.js"));
	assert_int_equal(get_with_headers(f, "/console/..%2fapi.h", NULL, hdrs, sizeof(hdrs), &a),
			 404);
	/* the API's answers keep theirs: no-store, no page policy */
	assert_int_equal(get_with_headers(f, "/healthz", NULL, hdrs, sizeof(hdrs), &a), 200);
	expect_header(hdrs, "Cache-Control: no-store");
	assert_null(strcasestr(hdrs, "Content-Security-Policy"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_match_bounds),
	    cmocka_unit_test(test_token_hash),
	    cmocka_unit_test(test_role_names),
	    cmocka_unit_test_setup_teardown(test_every_route_refuses_other_roles, server_setup,
					    server_teardown),
	    cmocka_unit_test_setup_teardown(test_statuses_and_whoami, server_setup,
					    server_teardown),
	    cmocka_unit_test_setup_teardown(test_revoked_token_refused_at_once, server_setup,
					    server_teardown),
	    cmocka_unit_test_setup_teardown(test_console_files, server_setup, server_teardown),
	};
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
