/* The "hostile clients" test of the benchmark: a normal client's single-event ack latency with no
 * attacker, then with 5,000 idle and 500 slowloris connections open, then during a maximal bulk
 * request (10,000 events, ~64 MB), whose memory cost on the server is measured too (peak resident
 * size over the body size, and what is left a moment after). Attackers connect from other loopback
 * addresses (127.0.1.x, 127.0.2.x), at most 200 from each, under the per-address limit. */
#include "bench_hostile.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_report.h"
#include "bench_stats.h"

#define T "Hostile clients"
#define IDLE 5000
#define SLOW 500
#define PER_ADDRESS 200
#define BULK_EVENTS 10000
#define BULK_PAD 6300 /* bytes of padding per event: ~64 MB a body */
#define LAT_MAX (1 << 20)

/* ---- the normal client ---- */

struct normal {
	pthread_t thread;
	const char *url, *token;
	double duration;
	atomic_bool stop; /* ends early (the bulk round) */
	double *lat;
	size_t n;
	long failed;
};

static void *normal_main(void *arg)
{
	struct normal *c = arg;
	struct http h;
	char body[160];
	if (http_init(&h, c->url, c->token) < 0)
		return NULL;
	double end = mono_s() + c->duration;
	for (long i = 0; mono_s() < end && !atomic_load(&c->stop) && c->n < LAT_MAX; i++) {
		int len = snprintf(body, sizeof(body),
				   "{\"message\":\"Create\",\"entity\":\"account\",\"entity_id\":"
				   "\"h%ld\"}",
				   i);
		double t = mono_s();
		if (http_request(&h, "POST", "/api/v1/events", HTTP_JSON, body, (size_t)len) == 0 &&
		    h.status == 201)
			c->lat[c->n++] = (mono_s() - t) * 1000;
		else
			c->failed++;
	}
	http_done(&h);
	return NULL;
}

static void normal_start(struct normal *c, struct env *e, double duration)
{
	*c = (struct normal){.url = e->srv.url, .token = e->srv.token, .duration = duration};
	c->lat = malloc(LAT_MAX * sizeof(double));
	pthread_create(&c->thread, NULL, normal_main, c);
}

/* Join c and report its p50/p99 under label. */
static void normal_report(struct normal *c, const char *label)
{
	char metric[96];
	pthread_join(c->thread, NULL);
	qsort(c->lat, c->n, sizeof(double), cmp_double);
	snprintf(metric, sizeof(metric), "%s: ack p50", label);
	report_add(T, metric, pct(c->lat, c->n, 50), "ms", "%zu requests%s", c->n,
		   c->failed ? ", SOME FAILED" : "");
	snprintf(metric, sizeof(metric), "%s: ack p99", label);
	report_add(T, metric, pct(c->lat, c->n, 99), "ms", "goal <= 50 ms");
	free(c->lat);
}

/* ---- attackers ---- */

static int port_of(const char *url)
{
	const char *colon = strrchr(url, ':');
	return colon ? atoi(colon + 1) : 0;
}

/* A connection from 127.0.BLOCK.(1 + i / PER_ADDRESS); -1 when refused. */
static int attacker(int port, int block, int i)
{
	char src[32];
	struct sockaddr_in from = {.sin_family = AF_INET}, to = {.sin_family = AF_INET};
	snprintf(src, sizeof(src), "127.0.%d.%d", block, 1 + i / PER_ADDRESS);
	inet_pton(AF_INET, src, &from.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	to.sin_port = htons((uint16_t)port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&from, sizeof(from)) == 0 &&
	    connect(fd, (struct sockaddr *)&to, sizeof(to)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

struct slowloris {
	pthread_t thread;
	int port;
	int fds[SLOW];
	atomic_bool stop;
	long reconnects;
};

/* One header line a second on each connection; a connection the server cut is opened again. */
static void *slowloris_main(void *arg)
{
	struct slowloris *s = arg;
	static const char start[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
	while (!atomic_load(&s->stop)) {
		for (int i = 0; i < SLOW && !atomic_load(&s->stop); i++) {
			if (s->fds[i] >= 0 && send(s->fds[i], "X-a: b\r\n", 8, MSG_NOSIGNAL) > 0)
				continue;
			if (s->fds[i] >= 0)
				close(s->fds[i]);
			s->fds[i] = attacker(s->port, 2, i);
			if (s->fds[i] >= 0)
				send(s->fds[i], start, sizeof(start) - 1, MSG_NOSIGNAL);
			s->reconnects++;
		}
		for (int k = 0; k < 10 && !atomic_load(&s->stop); k++)
			usleep(100000);
	}
	for (int i = 0; i < SLOW; i++)
		if (s->fds[i] >= 0)
			close(s->fds[i]);
	return NULL;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static void attacked_round(struct env *e, double duration)
{
	int port = port_of(e->srv.url), opened = 0;
	static int idle[IDLE];
	struct slowloris *s = calloc(1, sizeof(*s));
	raise_fd_limit();
	for (int i = 0; i < IDLE; i++)
		opened += (idle[i] = attacker(port, 1, i)) >= 0;
	s->port = port;
	for (int i = 0; i < SLOW; i++)
		s->fds[i] = -1;
	pthread_create(&s->thread, NULL, slowloris_main, s);
	usleep(500000); /* let the slowloris connections open */
	struct normal c;
	normal_start(&c, e, duration);
	normal_report(&c, "5,000 idle + 500 slowloris");
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	report_add(T, "idle connections opened", opened, "connections", "of %d asked", IDLE);
	report_add(T, "slowloris (re)connections", (double)s->reconnects, "connections",
		   "cut at the 10 s header deadline and opened again");
	for (int i = 0; i < IDLE; i++)
		if (idle[i] >= 0)
			close(idle[i]);
	free(s);
}

/* ---- the maximal bulk request ---- */

static char *bulk_body(size_t *ret_len)
{
	size_t cap = (size_t)BULK_EVENTS * (BULK_PAD + 128), len = 0;
	char *body = malloc(cap), *pad = malloc(BULK_PAD + 1);
	if (!body || !pad) {
		free(body);
		free(pad);
		return NULL;
	}
	memset(pad, 'x', BULK_PAD);
	pad[BULK_PAD] = 0;
	for (int i = 0; i < BULK_EVENTS; i++)
		len += (size_t)snprintf(body + len, cap - len,
					"{\"message\":\"Create\",\"entity\":\"account\","
					"\"entity_id\":\"b%d\",\"target\":{\"note\":\"%s\"}}\n",
					i, pad);
	free(pad);
	*ret_len = len;
	return body;
}

struct rss_watch {
	pthread_t thread;
	const struct server *srv;
	atomic_bool stop;
	long peak_kb;
};

static void *rss_main(void *arg)
{
	struct rss_watch *w = arg;
	while (!atomic_load(&w->stop)) {
		long kb = server_mem_kb(w->srv, "VmRSS");
		if (kb > w->peak_kb)
			w->peak_kb = kb;
		usleep(10000);
	}
	return NULL;
}

static void bulk_round(struct env *e)
{
	size_t len;
	char *body = bulk_body(&len);
	if (!body)
		return;
	long before = server_mem_kb(&e->srv, "VmRSS");
	struct rss_watch w = {.srv = &e->srv, .peak_kb = before};
	struct normal c;
	pthread_create(&w.thread, NULL, rss_main, &w);
	normal_start(&c, e, 60);
	usleep(300000);
	double t0 = mono_s();
	int rc = http_request(&e->h, "POST", "/api/v1/events", HTTP_NDJSON, body, len);
	double took = mono_s() - t0;
	usleep(300000);
	atomic_store(&c.stop, true);
	normal_report(&c, "during a 64 MB bulk request");
	atomic_store(&w.stop, true);
	pthread_join(w.thread, NULL);
	free(body);
	usleep(1000000);
	long after = server_mem_kb(&e->srv, "VmRSS");
	if (rc < 0 || e->h.status != 201)
		fprintf(stderr, "bench: the bulk request answered %ld: %.200s\n", e->h.status,
			e->h.resp ? e->h.resp : e->h.error);
	report_add(T, "bulk request: body", (double)len / 1e6, "MB",
		   "%d events, answered %ld in %.2f s", BULK_EVENTS, e->h.status, took);
	report_add(T, "bulk request: peak RSS growth / body",
		   (double)(w.peak_kb - before) * 1024 / (double)len, "x",
		   "RSS %ld -> peak %ld MiB; goal <= 3", before / 1024, w.peak_kb / 1024);
	report_add(T, "bulk request: RSS 1 s after", (double)after / 1024, "MiB", "before: %ld MiB",
		   before / 1024);
}

void bench_hostile(const struct env_paths *paths, double scale)
{
	struct env e;
	double duration = scale >= 1 ? 5 : 2;
	fprintf(stderr, "bench: hostile clients, %.0f s a round\n", duration);
	if (env_up(&e, paths, 0) < 0) {
		report_na(T, "normal client", "ms", "failed: see above");
		env_down(&e, paths);
		return;
	}
	struct normal c;
	normal_start(&c, &e, duration);
	normal_report(&c, "no attacker");
	attacked_round(&e, duration);
	bulk_round(&e);
	env_down(&e, paths);
}
