/* Integration tests of what an anonymous or hostile HTTP client can take from the real asyncd:
 * idle connections and slowloris clients must not lock others out, a request is refused on its
 * headers before any body byte is read, bulk requests and logins are bounded. Connections are
 * raw sockets from other loopback addresses (127.0.0.2...), so that the per-address limit of the
 * attacker does not apply to the test's own client on 127.0.0.1. Each test runs its own server. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define IDLE_CONNECTIONS 600 /* more than the 512 connections the old server took in all */
#define PER_ADDRESS 256	     /* the default http_max_per_address */

static int port_of(const struct harness *h)
{
	const char *colon = strrchr(h->url, ':');
	return colon ? atoi(colon + 1) : 0;
}

/* A TCP connection from source address src to the server; -1 when refused. */
static int connect_from(const struct harness *h, const char *src)
{
	struct sockaddr_in from = {.sin_family = AF_INET}, to = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, src, &from.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	to.sin_port = htons((uint16_t)port_of(h));
	if (fd < 0 || bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0 ||
	    connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void send_text(int fd, const char *text)
{
	size_t n = strlen(text);
	assert_int_equal(send(fd, text, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Whether the server closed fd (end of stream or reset) within timeout_ms; any answer it sent
 * first goes into buf (NUL-terminated) when buf is not NULL. */
static bool closed_within(int fd, int timeout_ms, char *buf, size_t n)
{
	size_t used = 0;
	int64_t end = h_mono_ms() + timeout_ms;
	while (h_mono_ms() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		char tmp[512];
		ssize_t got = recv(fd, tmp, sizeof(tmp), 0);
		if (got <= 0)
			return true;
		if (buf && used + 1 < n) {
			size_t k = (size_t)got < n - used - 1 ? (size_t)got : n - used - 1;
			memcpy(buf + used, tmp, k);
			used += k;
			buf[used] = 0;
		}
	}
	return false;
}

/* Wait until the first bytes of an answer arrive on fd (within timeout_ms) into buf. */
static bool answer_within(int fd, int timeout_ms, char *buf, size_t n)
{
	int64_t end = h_mono_ms() + timeout_ms;
	buf[0] = 0;
	while (h_mono_ms() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t got = recv(fd, buf, n - 1, 0);
		if (got <= 0)
			return false;
		buf[got] = 0;
		return true;
	}
	return false;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static void expect_healthy(struct harness *h)
{
	long status;
	json_t *a = h_request(h, "GET", "/healthz", NULL, NULL, 0, &status);
	json_decref(a);
	if (status != 200)
		fail_msg("GET /healthz from 127.0.0.1 answered %ld: %s", status,
			 h_client_last(h->client));
}

/* Close and forget (-1) the connections of fds the server has closed; returns how many. */
static int reap_closed(int *fds, int n)
{
	struct pollfd p[IDLE_CONNECTIONS];
	int cut = 0;
	for (int i = 0; i < n; i++)
		p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
	if (poll(p, (nfds_t)n, 100) <= 0)
		return 0;
	for (int i = 0; i < n; i++) {
		char c;
		if (fds[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)) ||
		    recv(fds[i], &c, 1, MSG_DONTWAIT) > 0)
			continue;
		close(fds[i]);
		fds[i] = -1;
		cut++;
	}
	return cut;
}

/* 600 idle connections from one address: the server keeps at most 256 of them and the test's
 * own client is served. (The old server took 512 connections in all, a thread each, and refused
 * everyone else.) */
static void test_idle_connections_do_not_lock_out(void **state)
{
	struct harness *h = *state;
	int fds[IDLE_CONNECTIONS], opened = 0, cut = 0;
	raise_fd_limit();
	for (int i = 0; i < IDLE_CONNECTIONS; i++)
		if ((fds[i] = connect_from(h, "127.0.0.2")) >= 0)
			opened++;
	assert_true(opened > PER_ADDRESS);
	expect_healthy(h);
	/* the connections over the per-address limit are closed at once */
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	while (cut < opened - PER_ADDRESS && h_mono_ms() < end)
		cut += reap_closed(fds, IDLE_CONNECTIONS);
	for (int i = 0; i < IDLE_CONNECTIONS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (cut < opened - PER_ADDRESS)
		fail_msg("only %d of %d connections from one address were refused (limit %d)", cut,
			 opened, PER_ADDRESS);
	expect_healthy(h);
}

static void restart_with_config(struct harness *h, const char *text)
{
	char path[400];
	h_stop(h);
	snprintf(path, sizeof(path), "%s/asyncd.conf", h->dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	h_restart_args(h, "--config", path, NULL);
}

/* A client that sends a header line every 300 ms is never idle; it is cut at the header deadline
 * (2 s here) instead of holding its connection for ever. */
static void test_slowloris_is_cut(void **state)
{
	struct harness *h = *state;
	restart_with_config(h, "http_header_timeout = 2\n");
	int fd = connect_from(h, "127.0.0.3");
	assert_true(fd >= 0);
	send_text(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
	bool cut = false;
	int64_t end = h_mono_ms() + 20000;
	while (!cut && h_mono_ms() < end) {
		if (send(fd, "X-a: b\r\n", 8, MSG_NOSIGNAL) < 0)
			cut = true;
		else
			cut = closed_within(fd, 300, NULL, 0);
	}
	close(fd);
	if (!cut)
		fail_msg(
		    "a client sending a header line every 300 ms kept its connection for 20 s");
	expect_healthy(h);
	assert_true(h_metric(h, "asyncd_http_connections_cut_total") >= 1);
}

/* A request is refused on its headers: the 401 (no token) or 403 (wrong role) comes before any
 * byte of the announced 50 MB body is sent. */
static void refused_before_body(struct harness *h, const char *head, const char *want)
{
	char buf[1024];
	int fd = connect_from(h, "127.0.0.4");
	assert_true(fd >= 0);
	send_text(fd, head);
	bool answered = answer_within(fd, 10000, buf, sizeof(buf));
	close(fd);
	if (!answered)
		fail_msg("no answer before the body was sent to: %.60s", head);
	if (!strstr(buf, want))
		fail_msg("answer before the body: %.200s (expected %s)", buf, want);
}

static void test_refused_on_headers(void **state)
{
	struct harness *h = *state;
	char head[1024];
	refused_before_body(h,
			    "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
			    "application/x-ndjson\r\nContent-Length: 50000000\r\n\r\n",
			    " 401 ");
	json_t *u = h_call(h, "POST", "/api/v1/users",
			   json_pack("{s:s,s:[s]}", "name", "sub", "roles", "Submitter"), 201);
	json_decref(u);
	json_t *t = h_call(h, "POST", "/api/v1/tokens", json_pack("{s:s}", "user", "sub"), 201);
	snprintf(head, sizeof(head),
		 "POST /api/v1/assemblies?isolation=none HTTP/1.1\r\nHost: x\r\nAuthorization: "
		 "Bearer %s\r\nContent-Type: application/octet-stream\r\nContent-Length: "
		 "50000000\r\n\r\n",
		 json_string_value(json_object_get(t, "token")));
	json_decref(t);
	refused_before_body(h, head, " 403 ");
}

/* A bulk request holds at most 10,000 events: one more is refused (413) and nothing is stored. */
static void test_bulk_event_limit(void **state)
{
	struct harness *h = *state;
	h_register_samples(h);
	h_add_simple_step(h, "samples.noop", "Create", "account");
	size_t n = 10001, len = 0;
	char *body = malloc(n * 64);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(body + len,
				       "{\"message\":\"Create\",\"entity\":\"account\","
				       "\"entity_id\":%zu}\n",
				       i);
	long status;
	json_t *a =
	    h_request(h, "POST", "/api/v1/events", "application/x-ndjson", body, len, &status);
	free(body);
	if (status != 413)
		fail_msg("10,001 events in one request answered %ld: %s", status,
			 h_client_last(h->client));
	assert_string_equal(h_error_code(a), "too_large");
	json_decref(a);
	assert_int_equal(h_count(h, -1), 0);
}

/* Two requests with bodies over 1 MiB may be received at once; a third is answered 503 with
 * Retry-After on its headers instead of taking another 64 MiB of memory. */
static void test_large_bodies_bounded(void **state)
{
	struct harness *h = *state;
	char head[1024], buf[1024];
	int fds[3];
	snprintf(head, sizeof(head),
		 "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
		 "Content-Type: application/x-ndjson\r\nContent-Length: 30000000\r\n\r\n",
		 h->token);
	for (int i = 0; i < 3; i++) {
		fds[i] = connect_from(h, "127.0.0.5");
		assert_true(fds[i] >= 0);
		send_text(fds[i], head);
		/* the first two wait for their bodies: nothing comes back */
		if (i < 2)
			assert_false(answer_within(fds[i], 300, buf, sizeof(buf)));
	}
	bool answered = answer_within(fds[2], 10000, buf, sizeof(buf));
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	if (!answered)
		fail_msg("a third large body was not refused on its headers");
	if (!strstr(buf, " 503 ") || !strcasestr(buf, "Retry-After:"))
		fail_msg("third large body: %.300s", buf);
	expect_healthy(h);
}

static long login(struct harness *h, const char *name, const char *password, json_t **ret)
{
	long status;
	json_t *creds = json_pack("{s:s,s:s}", "name", name, "password", password);
	char *body = json_dumps(creds, JSON_COMPACT);
	json_decref(creds);
	struct harness anon = *h;
	anon.token[0] = 0;
	struct h_client *c = h_client_new(&anon);
	json_t *a = h_client_request(c, "POST", "/api/v1/login", "application/json", body,
				     strlen(body), &status);
	h_client_free(c);
	free(body);
	if (ret)
		*ret = a;
	else
		json_decref(a);
	return status;
}

/* Repeated wrong passwords are slowed down with 429 and Retry-After, per user name (known or not)
 * and per address, and the right password gets in once the delay has passed. */
static void test_login_failures_slowed_down(void **state)
{
	struct harness *h = *state;
	json_t *u = h_call(h, "POST", "/api/v1/users",
			   json_pack("{s:s,s:[s],s:s}", "name", "ann", "roles", "Reader",
				     "password", "right-password-1"),
			   201);
	json_decref(u);
	/* the unknown name first: its failures count like a known one's, and they count for the
	 * address too, so that the known name is refused at once afterwards */
	const char *names[] = {"nobody-of-that-name", "ann"};
	for (int k = 0; k < 2; k++) {
		long status = 0;
		int tries = 0;
		json_t *a = NULL;
		while (tries < 20 && (status = login(h, names[k], "wrong", &a)) == 401) {
			json_decref(a);
			a = NULL;
			tries++;
		}
		if (status != 429)
			fail_msg("login as %s: %d wrong passwords, then HTTP %ld", names[k], tries,
				 status);
		assert_string_equal(h_error_code(a), "too_many_requests");
		json_decref(a);
		assert_true(k == 1 || tries == 5);
	}
	/* after the delay (1 s for the first one past the free failures) the right one works */
	int64_t end = h_mono_ms() + H_WAIT_TIMEOUT_MS;
	long status;
	while ((status = login(h, "ann", "right-password-1", NULL)) == 429 && h_mono_ms() < end)
		h_sleep_ms(200);
	assert_int_equal(status, 200);
}

int main(void)
{
	h_filter_from_env();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_idle_connections_do_not_lock_out, h_setup,
					    h_teardown),
	    cmocka_unit_test_setup_teardown(test_slowloris_is_cut, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_refused_on_headers, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_bulk_event_limit, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_large_bodies_bounded, h_setup, h_teardown),
	    cmocka_unit_test_setup_teardown(test_login_failures_slowed_down, h_setup, h_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
